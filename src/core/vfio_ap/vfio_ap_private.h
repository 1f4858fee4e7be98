/* SPDX-License-Identifier: MIT */
/*
 * Inside vfio_ap (drivers/s390/crypto/vfio_ap_private.h): the matrix
 * device, the matrix of an mdev, the mdev and the queues bound to the
 * driver, and what the files of this folder call in each other:
 *   vfio_ap_drv.c     the root and matrix devices, registration, the host's hooks
 *   vfio_ap_matrix.c  matrix masks: show, parse, validate, filter into the shadow
 *   vfio_ap_queue.c   queues: probe/remove, reset, interruptions (AQIC), 'status'
 *   vfio_ap_ops.c     the mdev: attributes, hot plug, the VFIO device, the KVM,
 *                     the AP bus callbacks (in_use, config changed, scan complete)
 *
 * Lock order (outermost first), one for the whole driver, inside the AP
 * bus's (src/core/ap/ap_bus.h) and VFIO's:
 *   ap_perms_mutex (the AP bus: assign_adapter, assign_domain and ap_config
 *       take it first; in_use is called with it held)
 *   -> matrix_dev->guests_lock: the mdev list, and using an mdev's ->kvm to
 *       plug or unplug
 *   -> kvm->lock: changing a VM's APCB
 *   -> kvm->arch.crypto.pqap_hook_rwsem (write: installing the hook; the
 *       hook itself runs with it held for read)
 *   -> matrix_dev->mdevs_lock: every field of every mdev and queue, the
 *       queue list, matrix_dev->info (written under both guests_lock and
 *       mdevs_lock)
 *   -> the AP bus's queues_lock (ap_get_qdev), VFIO's container/iommufd
 *       locks (pinning the NIB), the KVM GISA locks, the machine's locks.
 * Nothing here takes the AP bus's scan_mutex, bus->lock or perms_mutex
 * after any of these, and mask stores reach these locks only through
 * in_use with perms_mutex held, so an assignment and an apmask store cannot
 * deadlock (the 2021 ABBA between ap_perms_mutex and the matrix lock).
 * Callers outside: queue probe/remove run under bus->lock, the config
 * callbacks under scan_mutex, open/close_device under VFIO's dev_set->lock;
 * all of those come before ap_perms_mutex's chain, so taking guests_lock
 * there is in order.  A queue's 'status' attribute is removed before its
 * remove takes any lock (removal waits for a running show).
 */
#ifndef UVF_VFIO_AP_PRIVATE_H
#define UVF_VFIO_AP_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/vfio.h>
#include "uapi/linux/uvfio_s390_ap.h"
#include "vfio_ap.h"
#include "../ap/ap.h"
#include "../ap/ap_bus.h"
#include "../base/list.h"
#include "../base/lock.h"
#include "../host/device.h"
#include "../kvm/kvm.h"
#include "../mdev/mdev.h"
#include "../vfio/vfio.h"

#define VFIO_AP_ROOT_NAME "vfio_ap"
#define VFIO_AP_DEV_NAME "matrix"
#define VFIO_AP_DRV_NAME "vfio_ap"
#define VFIO_AP_MDEV_DRV_NAME "vfio_ap_mdev"
#define VFIO_AP_MDEV_TYPE_HWVIRT "passthrough"
#define VFIO_AP_MDEV_NAME_HWVIRT "VFIO AP Passthrough Device"
/* MAX_ZDEV_ENTRIES_EXT: one mdev per APQN at most. */
#define VFIO_AP_MAX_INSTANCES (256 * 256)

/* An adapter/domain/control-domain matrix (struct ap_matrix). */
struct ap_matrix {
	unsigned long apm_max;
	unsigned long apm[AP_MASK_LONGS];
	unsigned long aqm_max;
	unsigned long aqm[AP_MASK_LONGS];
	unsigned long adm_max;
	unsigned long adm[AP_MASK_LONGS];
};

/* The matrix device: one per host. */
struct ap_matrix_dev {
	struct uvf_host *host;
	struct ap_bus *bus;
	struct uvf_device device;		/* "matrix" on bus "matrix" */
	struct uvf_driver matrix_driver;	/* "vfio_ap" on bus "matrix" */
	struct ap_config_info info;		/* the host's QCI as last seen */
	struct list_head mdev_list;		/* struct ap_matrix_mdev.node */
	struct list_head queues;		/* every struct vfio_ap_queue.node */
	struct uvf_mutex mdevs_lock;
	struct uvf_mutex guests_lock;
	struct ap_driver vfio_ap_drv;		/* the AP queue driver */
	struct mdev_driver mdev_driver;
	struct mdev_parent parent;
	struct mdev_type mdev_type;
	struct mdev_type *mdev_types[1];
	bool ap_drv_registered, mdev_drv_registered, parent_registered;
	struct sysfs_node *root_dir;		/* /sys/devices/vfio_ap */
	struct sysfs_node *bus_dir;		/* /sys/bus/matrix */
	struct sysfs_node *drv_dir;		/* /sys/bus/matrix/drivers/vfio_ap */
};

/* An mdev (struct ap_matrix_mdev); every field under mdevs_lock. */
struct ap_matrix_mdev {
	struct vfio_device vdev;
	struct ap_matrix_dev *matrix_dev;
	struct list_head node;			/* in mdev_list: guests_lock to change */
	struct ap_matrix matrix;		/* assigned */
	struct ap_matrix shadow_apcb;		/* what the guest gets */
	struct kvm *kvm;			/* the guest, referenced while attached */
	crypto_hook pqap_hook;			/* the VM's pqap_hook points here */
	struct mdev_device *mdev;
	struct list_head qtable;		/* linked queues: struct vfio_ap_queue.mdev_qnode */
	int req_trigger;			/* REQ eventfd, -1 none */
	int cfg_chg_trigger;			/* CFG_CHG eventfd, -1 none */
	/* added to the host's configuration, waiting for on_scan_complete */
	unsigned long apm_add[AP_MASK_LONGS];
	unsigned long aqm_add[AP_MASK_LONGS];
	unsigned long adm_add[AP_MASK_LONGS];
};

#define VFIO_AP_ISC_INVALID 0xff

/* A queue bound to vfio_ap (struct vfio_ap_queue); fields under mdevs_lock. */
struct vfio_ap_queue {
	struct ap_matrix_dev *matrix_dev;
	struct ap_matrix_mdev *matrix_mdev;	/* set while assigned */
	uint64_t saved_iova;			/* the guest NIB, pinned; 0: none */
	int apqn;
	uint8_t saved_isc;			/* the guest ISC registered; or INVALID */
	struct list_head node;			/* in matrix_dev->queues */
	struct list_head mdev_qnode;		/* in matrix_mdev->qtable, or empty */
	struct list_head reset_qnode;		/* on a list of queues to reset */
	struct ap_queue_status reset_status;	/* of the last reset */
	bool reset_wait;			/* issued, to be verified */
	struct sysfs_node *status_attr;		/* <queue>/status */
};

static inline struct ap_matrix_mdev *to_matrix_mdev(struct vfio_device *vdev)
{
	return container_of(vdev, struct ap_matrix_mdev, vdev);
}

static inline struct ap_machine *matrix_mach(struct ap_matrix_dev *matrix_dev)
{
	return ap_bus_machine(matrix_dev->bus);
}

/* The next set bit of an AP mask at or after start (find_next_bit_inv);
 * nbits if none. */
unsigned long find_next_bit_inv(const unsigned long *mask, unsigned long nbits,
				unsigned long start);

#define for_each_set_bit_inv(bit, mask, nbits)                              \
	for ((bit) = find_next_bit_inv((mask), (nbits), 0); (bit) < (nbits);  \
	     (bit) = find_next_bit_inv((mask), (nbits), (bit) + 1))

/* ---- vfio_ap_drv.c -------------------------------------------------------------- */
struct ap_matrix_dev *vfio_ap_matrix_dev(struct uvf_host *h);

/* ---- vfio_ap_matrix.c: masks of AP_MASK_LONGS words ------------------------------ */
void vfio_ap_mask_zero(unsigned long *m);
bool vfio_ap_mask_empty(const unsigned long *m);
bool vfio_ap_mask_equal(const unsigned long *a, const unsigned long *b);
bool vfio_ap_mask_intersects(const unsigned long *a, const unsigned long *b);
/* out = a & b / a & ~b; whether any bit is left. */
bool vfio_ap_mask_and(unsigned long *out, const unsigned long *a, const unsigned long *b);
bool vfio_ap_mask_andnot(unsigned long *out, const unsigned long *a, const unsigned long *b);
/* AP bit order -> the set_bit() order of KVM's masks, and back. */
void vfio_ap_mask_to_kvm(const unsigned long *ap, unsigned long *kvm_mask);
void vfio_ap_mask_from_kvm(const unsigned long *kvm_mask, unsigned long *ap);

void vfio_ap_matrix_init(const struct ap_config_info *info, struct ap_matrix *matrix);
void ap_matrix_copy(struct ap_matrix *dst, const struct ap_matrix *src);
ssize_t vfio_ap_mdev_matrix_show(const struct ap_matrix *matrix, char *buf);
ssize_t vfio_ap_control_domains_show(const struct ap_matrix *matrix, char *buf);
ssize_t vfio_ap_ap_config_show(const struct ap_matrix *matrix, char *buf);
/* "0x<apm>,0x<aqm>,0x<adm>": -EINVAL unless three hex masks. */
int vfio_ap_parse_ap_config(const char *buf, size_t len, struct ap_matrix *m);
int ap_matrix_overflow_check(const struct ap_matrix *m);
/* -EADDRNOTAVAIL / -EADDRINUSE / 0 (perms_mutex, guests_lock, mdevs_lock). */
int vfio_ap_mdev_verify_no_sharing(struct ap_matrix_dev *matrix_dev,
				   struct ap_matrix_mdev *assignee, const unsigned long *apm,
				   const unsigned long *aqm);
int vfio_ap_mdev_validate_masks(struct ap_matrix_mdev *matrix_mdev);
/* The shadow from the matrix (vfio_ap_mdev_filter_matrix / _cdoms); whether
 * it changed.  apm_filtered gets the plugged APIDs now filtered out. */
bool vfio_ap_mdev_filter_matrix(struct ap_matrix_mdev *matrix_mdev, unsigned long *apm_filtered);
bool vfio_ap_mdev_filter_cdoms(struct ap_matrix_mdev *matrix_mdev);

/* ---- vfio_ap_queue.c ----------------------------------------------------------- */
struct vfio_ap_queue *vfio_ap_find_queue(struct ap_matrix_dev *matrix_dev, int apqn);
struct vfio_ap_queue *vfio_ap_mdev_get_queue(struct ap_matrix_mdev *matrix_mdev, int apqn);
void vfio_ap_mdev_link_queue(struct ap_matrix_mdev *matrix_mdev, struct vfio_ap_queue *q);
void vfio_ap_mdev_link_apqn(struct ap_matrix_mdev *matrix_mdev, int apqn);
void vfio_ap_unlink_queue_fr_mdev(struct vfio_ap_queue *q);
bool vfio_ap_queue_passable(const struct vfio_ap_queue *q);
/* Reset + zeroize (ZAPQ) and wait for the reset to end; -EIO if a queue
 * ended with a non-zero response code. */
void vfio_ap_mdev_reset_queue(struct vfio_ap_queue *q);
int vfio_ap_mdev_reset_qlist(struct list_head *qlist);
int vfio_ap_mdev_reset_queues(struct ap_matrix_mdev *matrix_mdev);
void vfio_ap_free_aqic_resources(struct vfio_ap_queue *q);
struct ap_queue_status vfio_ap_irq_enable(struct vfio_ap_queue *q, uint8_t isc, uint64_t nib);
struct ap_queue_status vfio_ap_irq_disable(struct vfio_ap_queue *q);
int vfio_ap_mdev_probe_queue(struct ap_device *apdev);
void vfio_ap_mdev_remove_queue(struct ap_device *apdev);
/* Lock helpers (the kernel's get/release_update_locks_*). */
void get_update_locks_for_mdev(struct ap_matrix_dev *matrix_dev,
			       struct ap_matrix_mdev *matrix_mdev);
void release_update_locks_for_mdev(struct ap_matrix_dev *matrix_dev,
				   struct ap_matrix_mdev *matrix_mdev);

/* ---- vfio_ap_ops.c ----------------------------------------------------------- */
int vfio_ap_mdev_register(struct ap_matrix_dev *matrix_dev);
void vfio_ap_mdev_unregister(struct ap_matrix_dev *matrix_dev);
void vfio_ap_mdev_update_guest_apcb(struct ap_matrix_mdev *matrix_mdev);
int reset_queues_for_apids(struct ap_matrix_mdev *matrix_mdev, const unsigned long *apm_reset);
void reset_queues_for_apid(struct ap_matrix_mdev *matrix_mdev, unsigned long apid);
int vfio_ap_mdev_resource_in_use(struct ap_driver *drv, unsigned long *apm, unsigned long *aqm);
void vfio_ap_on_cfg_changed(struct ap_driver *drv, struct ap_config_info *new_info,
			    struct ap_config_info *old_info);
void vfio_ap_on_scan_complete(struct ap_driver *drv, struct ap_config_info *new_info,
			      struct ap_config_info *old_info);

#endif
