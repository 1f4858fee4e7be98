/* SPDX-License-Identifier: MIT */
/*
 * The PCI layer: emulated PCI functions (drivers/pci, reduced to what an
 * emulated function needs), their models, and the vfio-pci driver
 * (drivers/vfio/pci).
 *
 * Two views of config space, as in the kernel:
 *  - the function's own ("physical") config space, config.c: what the
 *    hardware does with a config write (read-only bits, RW1C bits, BAR
 *    sizing, MSI/MSI-X enables, FLR).  The host side writes it with
 *    pci_cfg_write() as the kernel does with pci_write_config_*().
 *  - vfio-pci's virtualised view (vfio_pci_config.c): the permission
 *    tables that decide which bits a user reads from the hardware, which
 *    from the virtual copy, and which writes pass through.
 *
 * Interrupts leave a function through its 'sink', the host interrupt
 * handlers of the bound driver (vfio-pci's intrs.c): sink->intx when the
 * INTx line becomes active, sink->msi for a message.  Sinks are called with
 * no PCI lock held.
 *
 * Lock order (outermost first):
 *   the driver's locks (vfio-pci: vfio_pci.h), a model's own lock
 *   pdev->sink_lock (read, around sink calls) -> the driver's irqlock
 *   pdev->lock (config space, interrupt state)
 *   host->lock (list walks only; innermost)
 * Functions that may deliver an interrupt (pci_cfg_write, pci_intx(true),
 * pci_msi/msix_mask_vector(false), pci_irq_raise, restores and resets)
 * take sink_lock and so must not be called with the driver's irqlock or
 * pdev->lock held; masking (pci_intx(false), the check_and_ helpers) never
 * delivers.  Model callbacks run with none of these held.
 */
#ifndef UVF_PCI_H
#define UVF_PCI_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <linux/pci_regs.h>
#include "uvfio/pci_model.h"
#include "../base/lock.h"
#include "../host/device.h"

struct uvf_host;
struct uvf_topo_pci;
struct uvf_memobj;
struct sysfs_node;

#define PCI_DEVFN(slot, func)	((((slot) & 0x1f) << 3) | ((func) & 0x07))
#define PCI_SLOT(devfn)		(((devfn) >> 3) & 0x1f)
#define PCI_FUNC(devfn)		((devfn) & 0x07)

/* Power states as the PM control register encodes them. */
#define PCI_D0		0
#define PCI_D3hot	3

/* A bus of a host: the unit of a secondary bus reset.  Bus 0 of a domain
 * is the root bus (no bus reset); any other bus number is a secondary bus
 * behind an implicit root port that can reset it. */
struct pci_bus {
	struct uvf_host *host;
	unsigned int refs;		/* devices on it, under host->lock */
	uint16_t domain;
	uint8_t number;
};

struct pci_bar_state {
	uint64_t size;			/* 0: unimplemented */
	uint64_t addr;			/* firmware-assigned address */
	uint32_t flags;			/* PCI_MODEL_BAR_* */
	struct uvf_memobj *mem;		/* MMAP BARs: the shared storage */
};

struct msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl;
};

/* The host driver's interrupt handlers (a bound driver installs them). */
struct pci_irq_sink {
	void (*intx)(void *priv);
	void (*msi)(void *priv, unsigned int vector);
	void (*error)(void *priv);
};

struct pci_saved_state;

struct pci_dev {
	struct uvf_device dev;		/* dev.bus_data == this */
	struct pci_bus *bus;
	uint16_t domain;
	uint8_t busnr, devfn;
	unsigned int irq;		/* legacy IRQ number (sysfs 'irq', INTERRUPT_LINE) */
	const struct pci_model *model;
	void *model_data;
	struct pci_model_desc desc;
	bool realized;

	/* config space: under lock */
	struct uvf_mutex lock;
	unsigned int cfg_size;		/* 256, or 4096 for PCIe */
	uint8_t cfg[PCI_CFG_SPACE_EXP_SIZE];
	uint8_t wmask[PCI_CFG_SPACE_EXP_SIZE];	/* writable bits */
	uint8_t w1cmask[PCI_CFG_SPACE_EXP_SIZE];	/* write-1-to-clear bits */
	uint8_t cfg_reset[PCI_CFG_SPACE_EXP_SIZE];	/* the power-on image */
	uint8_t pm_cap, msi_cap, msix_cap, exp_cap;	/* 0: absent */
	uint16_t aer_cap, dsn_cap;
	struct pci_bar_state bars[PCI_STD_NUM_BARS];

	/* interrupt state: under lock */
	unsigned int in_reset;		/* pci_dev_reset_hw in progress: raises drop */
	bool intx_level;		/* the model asserts INTx */
	bool intx_active;		/* asserted and not disabled: the host was told */
	struct msix_entry *msix_table;
	unsigned long *msix_pba;

	/* the bound driver's handlers */
	struct uvf_rwlock sink_lock;
	const struct pci_irq_sink *sink;
	void *sink_priv;

	/* sysfs */
	struct sysfs_node *bus_link;		/* /sys/bus/pci/devices/<bdf> */
	struct sysfs_node *driver_link;		/* <devdir>/driver */
	struct sysfs_node *driver_dev_link;	/* /sys/bus/pci/drivers/<drv>/<bdf> */
};

static inline struct pci_dev *to_pci_dev(struct uvf_device *dev)
{
	return dev->bus_data;
}

static inline bool pci_is_pcie(const struct pci_dev *pdev)
{
	return pdev->exp_cap != 0;
}

static inline bool pci_is_root_bus(const struct pci_bus *bus)
{
	return bus->number == 0;
}

/* ---- pci_driver.c: the drivers' bind/unbind/new_id/remove_id files -------- */

struct uvf_driver;
int pci_driver_core_init(struct uvf_host *h);
void pci_driver_core_exit(struct uvf_host *h);
/* /sys/bus/pci/drivers/<drv>/{bind,unbind,new_id,remove_id} (once per driver). */
int pci_driver_files_add(struct uvf_host *h, const struct uvf_driver *drv);
/* A placeholder kernel driver's id table: drv matches pdev by itself. */
int pci_driver_add_static_id(struct uvf_host *h, const struct uvf_driver *drv,
			     const struct pci_dev *pdev);

/* ---- pci_dev.c: the bus, devices, models, sysfs ------------------------- */

int pci_host_init(struct uvf_host *h);
int pci_create_device(struct uvf_host *h, const struct uvf_topo_pci *desc,
		      char *err, size_t errlen);
void pci_destroy_device(struct uvf_device *dev);
/* The 'driver' link of the device and /sys/bus/pci/drivers/<drv>/<bdf>. */
int pci_sysfs_link_driver(struct uvf_device *dev, const char *drvname);
void pci_sysfs_unlink_driver(struct uvf_device *dev);
/* Call fn for every function on 'bus' (under host->lock: fn must not
 * block or take locks); a non-zero return stops the walk. */
int pci_bus_for_each_dev(struct pci_bus *bus,
			 int (*fn)(struct pci_dev *pdev, void *arg), void *arg);
unsigned int pci_bus_count_devs(struct pci_bus *bus);

/* ---- config.c: the function's config space ------------------------------ */

int pci_config_build(struct pci_dev *pdev, char *err, size_t errlen);
void pci_config_free(struct pci_dev *pdev);
/* 1, 2 or 4 naturally aligned bytes inside cfg_size; others read ~0. */
uint32_t pci_cfg_read(struct pci_dev *pdev, unsigned int off, unsigned int len);
/* A config write as the hardware takes it (read-only, RW1C, FLR...). */
void pci_cfg_write(struct pci_dev *pdev, unsigned int off, unsigned int len, uint32_t val);
uint32_t pci_cfg_read_locked(const struct pci_dev *pdev, unsigned int off, unsigned int len);
/* Capability lookup in the function's list; 0 if absent. */
unsigned int pci_find_capability(struct pci_dev *pdev, uint8_t id);
unsigned int pci_find_ext_capability(struct pci_dev *pdev, uint16_t id);
/* The low (flag) bits a memory BAR reports. */
uint32_t pci_bar_flag_bits(const struct pci_bar_state *b);

/* pci_save_state/pci_restore_state: writable config state and the MSI-X
 * table, as the kernel saves them around a reset. */
struct pci_saved_state *pci_save_state(struct pci_dev *pdev);
void pci_restore_state(struct pci_dev *pdev, const struct pci_saved_state *s);
void pci_free_saved_state(struct pci_saved_state *s);

/* Host-side COMMAND helpers (pci_enable_device & co). */
void pci_enable_device(struct pci_dev *pdev);
void pci_disable_device(struct pci_dev *pdev);
void pci_set_master(struct pci_dev *pdev, bool enable);
/* DisINTx masking (PCI 2.3): mask if our interrupt is pending / unmask
 * unless one is pending.  Return whether the mask changed.  Never deliver. */
bool pci_check_and_mask_intx(struct pci_dev *pdev);
bool pci_check_and_unmask_intx(struct pci_dev *pdev);
void pci_set_power_state(struct pci_dev *pdev, unsigned int state);
/* PCI_D0..PCI_D3hot as PMCSR shows it; D0 for a function without PM. */
unsigned int pci_get_power_state(struct pci_dev *pdev);

/* Resets.  _hw is the function's own reset (config to power-on values,
 * model reset); the others save and restore state around it as the
 * kernel's pci_reset_function() and pci_reset_bus() do. */
void pci_dev_reset_hw(struct pci_dev *pdev);
bool pci_has_flr(const struct pci_dev *pdev);
int pci_try_reset_function(struct pci_dev *pdev);
bool pci_probe_reset_bus(const struct pci_bus *bus);
/* 'may_reset' is called for each function of the bus under host->lock (it
 * must not block): 0 if the caller keeps that function alive across the
 * reset, else an error that fails the reset before anything is reset. */
int pci_reset_bus(struct pci_bus *bus, int (*may_reset)(struct pci_dev *pdev, void *arg),
		  void *arg);

/* ---- irq.c: interrupt delivery ------------------------------------------ */

int pci_irq_init(struct pci_dev *pdev);
void pci_irq_free(struct pci_dev *pdev);
void pci_irq_set_sink(struct pci_dev *pdev, const struct pci_irq_sink *sink, void *priv);
void pci_irq_clear_sink(struct pci_dev *pdev);
/* Re-evaluate after a state change: deliver INTx that became active and
 * pending MSI/MSI-X messages that became deliverable. */
void pci_irq_update(struct pci_dev *pdev);
/* Reset values of the interrupt state (lock held). */
void pci_irq_reset_locked(struct pci_dev *pdev);
/* DisINTx as the host sets it; enabling may deliver INTx (irq.c). */
void pci_intx(struct pci_dev *pdev, bool enable);
/* The MSI per-vector mask bit (no effect without per-vector masking). */
int pci_msi_mask_vector(struct pci_dev *pdev, unsigned int vector, bool masked);
/* The MSI-X vector-control mask bit, as the host's MSI layer sets it. */
int pci_msix_mask_vector(struct pci_dev *pdev, unsigned int vector, bool masked);
bool pci_msix_vector_masked(struct pci_dev *pdev, unsigned int vector);
bool pci_msix_pending(struct pci_dev *pdev, unsigned int vector);
unsigned int pci_msix_table_size(const struct pci_dev *pdev);
/* MSI-X table/PBA as a BAR access sees them (the core traps them). */
bool pci_msix_bar_read(struct pci_dev *pdev, unsigned int bar, uint64_t off, void *buf,
		       size_t len);
bool pci_msix_bar_write(struct pci_dev *pdev, unsigned int bar, uint64_t off,
			const void *buf, size_t len);

#endif
