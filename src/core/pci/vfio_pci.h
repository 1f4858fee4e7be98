/* SPDX-License-Identifier: MIT */
/*
 * vfio-pci internals (drivers/vfio/pci/vfio_pci_priv.h): the driver's
 * per-device state shared by vfio_pci.c (driver, ioctls, resets),
 * vfio_pci_config.c (config virtualisation), vfio_pci_rdwr.c (region
 * read/write and mmap) and intrs.c (SET_IRQS and the interrupt handlers).
 *
 * Lock order (outermost first), see also pci.h:
 *   dev_set->lock (open/close, hot reset) -> pm_lock (runtime PM) ->
 *   config_lock (vconfig) -> memory_lock (write: resets, COMMAND writes,
 *   power states) -> igate (interrupt setup) -> pdev->sink_lock ->
 *   irqlock (triggers and the INTx mask, as the handlers read them) ->
 *   pdev->lock
 * Region accesses hold memory_lock for read, so a reset never runs in the
 * middle of one.  Nothing here is called by a model with a lock held.
 */
#ifndef UVF_VFIO_PCI_H
#define UVF_VFIO_PCI_H

#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>
#include <linux/vfio.h>
#include "pci.h"
#include "../vfio/vfio.h"

/* The kernel-internal region offset encoding of vfio-pci. */
#define VFIO_PCI_OFFSET_SHIFT		40
#define VFIO_PCI_OFFSET_TO_INDEX(off)	((off) >> VFIO_PCI_OFFSET_SHIFT)
#define VFIO_PCI_INDEX_TO_OFFSET(index)	((uint64_t)(index) << VFIO_PCI_OFFSET_SHIFT)
#define VFIO_PCI_OFFSET_MASK		((1ULL << VFIO_PCI_OFFSET_SHIFT) - 1)

/* vconfig map values besides capability ids (vfio_pci_config.c) */
#define PCI_CAP_ID_BASIC	0
#define PCI_CAP_ID_INVALID	0xff

struct virqfd;

struct vfio_pci_irq_ctx {
	int trigger;			/* host eventfd, -1: none */
	bool active;			/* this vector is set up */
	bool masked;			/* INTx: masked by the handler or the user */
	struct virqfd *unmask;		/* INTx: unmask eventfd */
};

struct vfio_pci_device {
	struct vfio_device vdev;
	struct pci_dev *pdev;

	/* while open */
	struct uvf_rwlock memory_lock;
	struct uvf_mutex config_lock;
	uint8_t *vconfig;		/* the user's view of config space */
	uint8_t *config_map;		/* capability id of each config byte */
	struct perm_bits *msi_perm;
	bool bardirty;
	uint8_t msi_qmax;
	unsigned int msi_nvec;		/* vectors SET_IRQS enabled (nvec_used) */
	bool virq_disabled;		/* virtual DisINTx */
	bool reset_works;
	bool needs_reset;
	struct pci_saved_state *saved_state;
	int msix_bar;			/* -1: no MSI-X */
	uint64_t msix_offset, msix_size;

	/* interrupts */
	struct uvf_mutex igate;
	struct uvf_mutex irqlock;
	int irq_type;			/* VFIO_PCI_*_IRQ_INDEX, or VFIO_PCI_NUM_IRQS: none */
	unsigned int num_ctx;
	struct vfio_pci_irq_ctx *ctx;
	int err_trigger, req_trigger;	/* host eventfds, -1: none */

	/* runtime PM (the LOW_POWER features), vfio_pci.c */
	struct uvf_mutex pm_lock;	/* the PM core's: usage, suspended */
	unsigned int pm_usage;		/* driver calls in flight */
	bool pm_suspended;		/* in low power (D3hot) now */
	bool pm_intx_masked;		/* INTx masked by the suspend */
	bool pm_runtime_engaged;	/* under memory_lock: low power allowed */
	int pm_wake_eventfd;		/* under memory_lock: -1: none */
};

static inline struct vfio_pci_device *to_vfio_pci(struct vfio_device *vdev)
{
	return (struct vfio_pci_device *)((char *)vdev - offsetof(struct vfio_pci_device, vdev));
}

extern const struct uvf_driver vfio_pci_driver;

/* ---- vfio_pci_config.c ---------------------------------------------------- */
int vfio_config_init(struct vfio_pci_device *v);
void vfio_config_free(struct vfio_pci_device *v);
ssize_t vfio_pci_config_rw(struct vfio_pci_device *v, struct uvf_caller *c, uint64_t ubuf,
			   size_t count, uint64_t pos, bool iswrite);
bool vfio_pci_memory_enabled(struct vfio_pci_device *v);
/* vfio_lock_and_set_power_state: the power state under memory_lock. */
void vfio_pci_lock_and_set_power_state(struct vfio_pci_device *v, unsigned int state);

/* ---- vfio_pci_rdwr.c ------------------------------------------------------ */
ssize_t vfio_pci_bar_rw(struct vfio_pci_device *v, struct uvf_caller *c, uint64_t ubuf,
			size_t count, uint64_t pos, bool iswrite);
bool vfio_pci_bar_mmap_supported(const struct vfio_pci_device *v, unsigned int bar);
int vfio_pci_core_mmap(struct vfio_device *vdev, struct uvf_caller *c, uint64_t pos,
		       uint64_t len, int prot, bool shared, struct uvf_mmap_desc *out);

/* ---- intrs.c -------------------------------------------------------------- */
int vfio_pci_irq_init(struct vfio_pci_device *v);
void vfio_pci_irq_free(struct vfio_pci_device *v);
extern const struct pci_irq_sink vfio_pci_irq_sink;
int vfio_pci_set_irqs_ioctl(struct vfio_pci_device *v, struct uvf_caller *c, uint32_t flags,
			    unsigned int index, unsigned int start, unsigned int count,
			    void *data);
/* Mask INTx if it is in use (true if this masked it) / unmask it unless
 * the user's virtual DisINTx holds it (a pending interrupt is re-sent). */
bool vfio_pci_intx_mask(struct vfio_pci_device *v);
void vfio_pci_intx_unmask(struct vfio_pci_device *v);
/* The user's virtual DisINTx: masks when set, unmasks when cleared. */
void vfio_pci_intx_set_virq_disabled(struct vfio_pci_device *v, bool disabled);
/* eventfd_ctx_fdget/signal/put on host eventfds we own. */
int vfio_pci_eventfd_get(struct uvf_caller *c, int fd);
void vfio_pci_eventfd_signal(int fd);
void vfio_pci_eventfd_put(int fd);
/*
 * The one s32 eventfd of a SET_IRQS DATA_EVENTFD|ACTION_TRIGGER with
 * count 1 (at arg, after the header) into *trigger, replacing the old one:
 * fd -1 clears, fd < -1 -EINVAL, else vfio_pci_eventfd_get's errors.
 */
int vfio_irq_set_eventfd_trigger(struct uvf_caller *c, uint64_t arg, int *trigger);
/* Drop the ERR and REQ eventfds and the virtual DisINTx (close_device). */
void vfio_pci_release_ctx_triggers(struct vfio_pci_device *v);
void vfio_pci_signal_req(struct vfio_pci_device *v);

#endif
