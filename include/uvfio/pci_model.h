/* SPDX-License-Identifier: MIT */
/*
 * The PCI device-model API: what an emulated PCI function declares and what
 * it may call.  A model is the hardware behind a uvf PCI function; the core
 * plays the bus, the config-space logic every function shares (header,
 * capabilities, BAR decoding, INTx/MSI/MSI-X delivery, resets) and the
 * host-side drivers (vfio-pci).
 *
 * Life of a model instance:
 *   init(params)   validate the JSON parameters, fill the descriptor
 *                  (identity, capabilities, BARs), allocate state;
 *   realize()      config space and BAR storage exist: start threads;
 *   bar_read/bar_write, reset, config_write  while it lives;
 *   destroy()      stop threads, free state.
 * The core calls model callbacks with none of the locks the functions
 * below take (a driver may hold its own, such as vfio-pci's lock that keeps
 * resets out of a region access), so a callback may block (reset waits for
 * in-flight work) and may call every function below.  Callbacks of one
 * instance may run concurrently on different threads (a client thread, a
 * reset from another client): the model locks its own state, and may hold
 * that lock while calling pci_irq_raise() or the DMA functions.
 *
 * Storage of BARs:
 *   - a BAR with PCI_MODEL_BAR_MMAP is shared memory (a memfd) that clients
 *     mmap; accesses to it never reach the model except inside its 'traps':
 *     page-aligned sub-ranges kept out of mmap (the SPARSE_MMAP capability)
 *     and routed to bar_read/bar_write.  pci_bar_mem() gives the model the
 *     same bytes the clients see;
 *   - any other BAR is entirely trapped (a register file).
 * The MSI-X table and PBA are the core's: they must lie inside a trapped
 * range (or a non-mmap BAR) and never reach the model.
 *
 * Interrupts: pci_irq_raise() sends the vector as the function is
 * configured (MSI-X, MSI, else the INTx pin); INTx is a level, held until
 * pci_irq_lower().  DMA goes through the function's IOMMU group with
 * pci_dma_read/pci_dma_write, refused while Bus Master Enable is off.
 */
#ifndef UVFIO_PCI_MODEL_H
#define UVFIO_PCI_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pci_dev;
struct json_object;
struct uvf_device;
struct uvf_dma_fault;

#define PCI_MODEL_NUM_BARS	6
#define PCI_MODEL_MAX_TRAPS	4
#define PCI_MODEL_MAX_CFG_REGS	8

/* BAR flags */
#define PCI_MODEL_BAR_MEM64	(1u << 0)	/* 64-bit BAR: takes this and the next slot */
#define PCI_MODEL_BAR_PREFETCH	(1u << 1)
#define PCI_MODEL_BAR_MMAP	(1u << 2)	/* shared storage clients may mmap */

struct pci_model_range {
	uint64_t offset;
	uint64_t size;
};

struct pci_model_bar {
	uint64_t size;		/* power of two >= 16 (>= 4096 with MMAP); 0 = none */
	uint32_t flags;		/* PCI_MODEL_BAR_* */
	/* MMAP BARs: page-aligned ranges routed to bar_read/bar_write */
	struct pci_model_range traps[PCI_MODEL_MAX_TRAPS];
	unsigned int ntraps;
};

/*
 * A device-specific config register outside every capability: the
 * hardware's own error logs and controls (e.g. in PCIe extended space).
 * vfio-pci passes such bytes through raw, as the kernel does with config
 * space no capability claims.
 */
struct pci_model_cfg_reg {
	uint16_t offset;	/* naturally aligned, after the capabilities */
	uint8_t size;		/* 1, 2 or 4 */
	uint32_t value;		/* power-on value */
	uint32_t wmask;		/* bits a write sets */
	uint32_t w1cmask;	/* bits a write of 1 clears */
};

struct pci_model_desc {
	/* identity */
	uint16_t vendor, device;
	uint16_t subsystem_vendor, subsystem_device;
	uint32_t class_code;		/* base class << 16 | subclass << 8 | prog-if */
	uint8_t revision;
	uint8_t interrupt_pin;		/* 0 = no INTx, 1 = INTA# ... 4 = INTD# */
	struct pci_model_bar bars[PCI_MODEL_NUM_BARS];
	/* capabilities */
	bool pm;			/* PCI power management (D0/D3hot) */
	unsigned int msi_vectors;	/* 0 = no MSI; 1, 2, 4, 8, 16 or 32 */
	bool msi_64bit;
	bool msi_maskable;		/* per-vector mask and pending bits */
	unsigned int msix_vectors;	/* 0 = no MSI-X; up to 2048 */
	uint8_t msix_table_bar, msix_pba_bar;
	uint32_t msix_table_offset, msix_pba_offset;	/* 8-byte aligned */
	bool pcie;			/* PCI Express: 4 KiB config space */
	bool flr;			/* PCIe Function Level Reset (needs pcie) */
	bool aer;			/* AER extended capability (needs pcie) */
	uint64_t serial;		/* non-zero: Device Serial Number ext. cap (needs pcie) */
	struct pci_model_cfg_reg cfg_regs[PCI_MODEL_MAX_CFG_REGS];
	unsigned int ncfg_regs;
};

struct pci_model {
	const char *name;		/* the topology's "model" */
	const char *description;
	/*
	 * Validate 'params' (a JSON object, or NULL for none) and fill 'desc'
	 * (zeroed on entry).  On error return -errno with a message in 'err'
	 * naming the parameter ("params.vectors: must be ...").  State set
	 * with pci_set_model_data() is freed by destroy, which runs even when
	 * init fails.
	 */
	int (*init)(struct pci_dev *pdev, struct json_object *params,
		    struct pci_model_desc *desc, char *err, size_t errlen);
	/* Config space and BAR storage exist; start threads.  Optional. */
	int (*realize)(struct pci_dev *pdev);
	/*
	 * A trapped access: one naturally aligned access of 1, 2, 4 or 8
	 * bytes (little endian in buf).  Reads of a model without bar_read
	 * return all ones; writes without bar_write are dropped.
	 */
	void (*bar_read)(struct pci_dev *pdev, unsigned int bar, uint64_t off,
			 void *buf, size_t len);
	void (*bar_write)(struct pci_dev *pdev, unsigned int bar, uint64_t off,
			  const void *buf, size_t len);
	/*
	 * Function reset (FLR, hot reset, reset at release): return the
	 * device registers to their power-on values and stop in-flight work
	 * before returning.  The core resets config space itself.
	 */
	void (*reset)(struct pci_dev *pdev);
	/* A config write took effect at [off, off+len) (e.g. COMMAND). */
	void (*config_write)(struct pci_dev *pdev, unsigned int off, unsigned int len);
	/* Stop threads, free state.  Also called after a failed init/realize. */
	void (*destroy)(struct pci_dev *pdev);
};

/* Registry: built-in models are known without registration. */
int pci_model_register(const struct pci_model *m);
const struct pci_model *pci_model_find(const char *name);

/* ---- what a model may call ---------------------------------------------- */

void pci_set_model_data(struct pci_dev *pdev, void *data);
void *pci_model_data(const struct pci_dev *pdev);
const char *pci_name(const struct pci_dev *pdev);		/* "0000:00:03.0" */
struct uvf_device *pci_to_dev(struct pci_dev *pdev);		/* for iommu.h's dma_* */

/* Host address of an MMAP BAR's storage (the bytes clients map), or NULL. */
void *pci_bar_mem(struct pci_dev *pdev, unsigned int bar);
uint64_t pci_bar_size(const struct pci_dev *pdev, unsigned int bar);

/* COMMAND bits as the function sees them. */
bool pci_bus_master_enabled(struct pci_dev *pdev);
bool pci_memory_enabled(struct pci_dev *pdev);
/* Read the function's config space (1, 2 or 4 bytes, little endian). */
uint32_t pci_config_read(struct pci_dev *pdev, unsigned int off, unsigned int len);
/*
 * Set 'bits' in one of the model's own config registers (cfg_regs), as the
 * hardware latches status there (an error log).  -EINVAL unless
 * [off, off+len) lies inside a declared register.
 */
int pci_config_set_bits(struct pci_dev *pdev, unsigned int off, unsigned int len,
			uint32_t bits);

/*
 * Signal 'vector'.  Returns 0 when sent or latched (MSI/MSI-X pending bit,
 * INTx asserted), -EINVAL for a vector the configuration does not have.
 */
int pci_irq_raise(struct pci_dev *pdev, unsigned int vector);
/* Deassert INTx (the cause was acknowledged); no effect in MSI modes. */
void pci_irq_lower(struct pci_dev *pdev);
/* Record an uncorrectable error (AER status bits) and tell the host. */
void pci_report_error(struct pci_dev *pdev, uint32_t aer_uncor_status, bool fatal);

/*
 * DMA as the function: through the IOMMU domain of its group.  -EPERM (and
 * fault->error -EPERM) while Bus Master Enable is clear; otherwise the
 * result of dma_read/dma_write.
 */
int pci_dma_read(struct pci_dev *pdev, uint64_t iova, void *buf, size_t len,
		 struct uvf_dma_fault *fault);
int pci_dma_write(struct pci_dev *pdev, uint64_t iova, const void *buf, size_t len,
		  struct uvf_dma_fault *fault);

#endif
