/* SPDX-License-Identifier: MIT */
/*
 * The VFIO core as bus drivers see it (include/linux/vfio.h): a vfio_device
 * with its ops, registration, and the helpers drivers share (capability
 * chains, SET_IRQS validation).  The container, group and device-file
 * internals live in vfio_priv.h.
 */
#ifndef UVF_VFIO_H
#define UVF_VFIO_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <sys/types.h>
#include <linux/vfio.h>
#include "../base/refcount.h"
#include "../base/lock.h"
#include "../base/list.h"
#include "../host/file.h"
#include "../host/devnode.h"

struct uvf_host;
struct uvf_device;
struct vfio_device;
struct vfio_group;
struct sysfs_node;
struct iommufd_device;
struct iommufd_access;
struct kvm;

struct vfio_device_ops {
	const char *name;
	/* First open of the device (any path) / last close. */
	int (*open_device)(struct vfio_device *vdev);
	void (*close_device)(struct vfio_device *vdev);
	ssize_t (*read)(struct vfio_device *vdev, struct uvf_caller *c, uint64_t ubuf,
			size_t count, uint64_t pos);
	ssize_t (*write)(struct vfio_device *vdev, struct uvf_caller *c, uint64_t ubuf,
			 size_t count, uint64_t pos);
	long (*ioctl)(struct vfio_device *vdev, struct uvf_caller *c, unsigned int cmd,
		      uint64_t arg);
	int (*mmap)(struct vfio_device *vdev, struct uvf_caller *c, uint64_t pos,
		    uint64_t len, int prot, bool shared, struct uvf_mmap_desc *out);
	/* Unregistration is waiting for users to close; count-th request. */
	void (*request)(struct vfio_device *vdev, unsigned int count);
	/* GET_DEVICE_FD name match; NULL: compare with dev_name. 1 = match. */
	int (*match)(struct vfio_device *vdev, const char *buf);
	/* DEVICE_FEATURE for features the core does not handle. */
	int (*device_feature)(struct vfio_device *vdev, struct uvf_caller *c,
			      uint32_t flags, uint64_t arg, size_t argsz);
	/* [iova, iova + length) is being unmapped: drop every vfio_pin_pages
	 * pin inside it (called with no VFIO or iommufd lock held). */
	void (*dma_unmap)(struct vfio_device *vdev, uint64_t iova, uint64_t length);
};

/* Devices reset together share a set (vfio_device_set). */
struct vfio_device_set {
	struct uvf_mutex lock;
	struct list_head device_list;
	unsigned int device_count;
	void *set_id;
};

struct vfio_device {
	struct uvf_device *dev;
	const struct vfio_device_ops *ops;
	struct vfio_group *group;
	struct vfio_device_set *dev_set;
	struct list_head dev_set_list;
	struct list_head group_next;	/* in group->device_list */
	unsigned int index;		/* N of vfioN */
	unsigned int open_count;	/* protected by dev_set->lock */
	struct uvf_ref refcount;	/* registration + each open file */
	bool emulated_iommu;		/* mdev-style: never raw DMA */
	struct sysfs_node *sysfs_dev;	/* <device>/vfio-dev/vfioN, which
					 * /sys/class/vfio-dev/vfioN links to */
	struct sysfs_node *sysfs_class_link;
	/* The VM its group or cdev file was registered with (KVM-VFIO) when it
	 * was first opened / bound, referenced until the last close; NULL if
	 * none.  open_device sees it: drivers that need a VM check it there. */
	struct kvm *kvm;
	void *priv;			/* the driver's */
	/* unregistration waits here for the last file to close */
	pthread_cond_t comp;
	/* iommufd (vfio/iommufd.c, device_cdev.c); under dev_set->lock */
	struct iommufd_device *iommufd_device;	/* bound: a device that DMAs */
	struct iommufd_access *iommufd_access;	/* bound: an emulated device */
	bool iommufd_attached;
	bool cdev_opened;			/* bound through its cdev */
	struct uvf_devnode cdev_node;		/* /dev/vfio/devices/vfioN */
};

/* The VFIO layer of a host (host->vfio): host_new()/host_free() call these. */
int vfio_core_init(struct uvf_host *h);
void vfio_core_exit(struct uvf_host *h);

/* Initialise, register, unregister (which blocks until all users close,
 * calling ops->request meanwhile).  dev must be in an IOMMU group. */
void vfio_init_device(struct vfio_device *vdev, struct uvf_device *dev,
		      const struct vfio_device_ops *ops);
int vfio_register_group_dev(struct vfio_device *vdev);
int vfio_register_emulated_iommu_dev(struct vfio_device *vdev);
void vfio_unregister_group_dev(struct vfio_device *vdev);
/* Join (or create) the device set identified by set_id. */
int vfio_assign_device_set(struct vfio_device *vdev, void *set_id);
/* Open count of every device of the set (dev_set->lock held). */
unsigned int vfio_device_set_open_count(struct vfio_device_set *dev_set);

/*
 * CPU access to IOVA space on behalf of an open emulated (mdev-style)
 * device, through its container (vfio_dma_rw): -EINVAL if the device is not
 * open or its group has no container, -ENOTTY if the backend cannot do it,
 * -EBUSY while a vaddr is invalidated (type1 VADDR), -EINVAL for an
 * unmapped IOVA, -EPERM for a mapping without the needed permission,
 * -EFAULT for unreachable memory; bytes copied before an error stay copied.
 * Writes mark pages dirty.
 */
int vfio_dma_rw(struct vfio_device *vdev, uint64_t iova, void *data, size_t len,
		bool write);

/*
 * Pin npage pages from the page holding iova, for an open emulated device
 * with a dma_unmap op (vfio_pin_pages; prot IOMMU_READ/IOMMU_WRITE):
 * npage, or -EINVAL (not open, no dma_unmap, npage < 1), or the backend's
 * error for a range that is not mapped.  Through an iommufd access it is
 * an access pin; in a type1 container a counted pin of the page (v2 only:
 * -EACCES; -EPERM for a mapping without prot).  Either way an unmap of the
 * range asks the pins back through dma_unmap first.
 */
#ifndef IOMMU_READ
#define IOMMU_READ	(1 << 0)
#define IOMMU_WRITE	(1 << 1)
#endif
int vfio_pin_pages(struct vfio_device *vdev, uint64_t iova, int npage, int prot);
void vfio_unpin_pages(struct vfio_device *vdev, uint64_t iova, int npage);

/* ---- what KVM asks of VFIO files (KVM-VFIO device) ---------------------- */

/* A VFIO group file or device file (GET_DEVICE_FD or cdev). */
bool vfio_file_is_valid(struct uvf_file *f);
bool vfio_file_is_group(struct uvf_file *f);
/*
 * DMA through the file is always CPU-cache coherent: every device of the
 * group (or the device) sits behind an IOMMU that can block No-Snoop
 * (IOMMU_CAP_ENFORCE_CACHE_COHERENCY).  false means the user may need
 * WBINVD.  true for a file that is not a VFIO file.
 */
bool vfio_file_enforced_coherent(struct uvf_file *f);
/* Record the VM (or NULL) on the file; a device opened (group path) or
 * bound (cdev) afterwards takes it into vfio_device.kvm. */
void vfio_file_set_kvm(struct uvf_file *f, struct kvm *kvm);
/* "group NAME" or "device vfioN DEVNAME" for listings; -EINVAL if not VFIO. */
int vfio_file_describe(struct uvf_file *f, char *buf, size_t size);
/* "uvfio vms": a "user VMID device vfioN DEVNAME" line per registered device
 * holding kvm (it took the VM at first open / bind).  No KVM lock held. */
struct kvm_show_buf;
void vfio_show_kvm_users(struct uvf_host *h, struct kvm *kvm, unsigned int vm_id,
			 struct kvm_show_buf *sb);

/* ---- capability chains (VFIO_*_INFO) ----------------------------------- */

struct vfio_info_cap {
	uint8_t *buf;		/* the chain, built from offset 0 */
	size_t size;
	int error;		/* -ENOMEM once an add failed */
};

/* Append a capability of 'size' bytes (header included); returns it
 * zeroed with id/version set and the previous cap's 'next' linked, or
 * NULL on allocation failure (caps->error set). */
struct vfio_info_cap_header *vfio_info_cap_add(struct vfio_info_cap *caps, size_t size,
					      uint16_t id, uint16_t version);
int vfio_info_add_capability(struct vfio_info_cap *caps,
			     const struct vfio_info_cap_header *cap, size_t size);
/* Shift every 'next' by 'offset' (the size of the info struct). */
void vfio_info_cap_shift(struct vfio_info_cap *caps, size_t offset);
void vfio_info_cap_free(struct vfio_info_cap *caps);
/*
 * The grow-and-retry protocol in one place: given the user's argsz and the
 * info struct size 'minsz', either copy the shifted chain after the struct
 * at uaddr + minsz and set *cap_offset = minsz, or (buffer too small) set
 * *argsz_out to the size needed and *cap_offset = 0.  Sets the *_CAPS flag
 * bit 'caps_flag' in *flags either way when there are caps.
 */
int vfio_info_copy_caps(struct uvf_caller *c, struct vfio_info_cap *caps, uint64_t uaddr,
			size_t minsz, uint32_t argsz, uint32_t *argsz_out,
			uint32_t *flags, uint32_t caps_flag, uint32_t *cap_offset);

/*
 * SET_IRQS validation (vfio_set_irqs_validate_and_prepare): checks 'hdr'
 * against num_irqs for its index and max_irq_type, and returns in
 * *data_size the number of payload bytes to read after the header.
 */
int vfio_set_irqs_validate_and_prepare(struct vfio_irq_set *hdr, unsigned int num_irqs,
				       unsigned int max_irq_type, size_t *data_size);

/*
 * The info ioctls of a driver without capabilities (mdev drivers):
 * VFIO_DEVICE_GET_INFO answering flags/num_regions/num_irqs, and
 * VFIO_DEVICE_GET_IRQ_INFO for num_irqs indexes of one eventfd each.
 * -EFAULT, -EINVAL (argsz below the minimum, index out of range), or 0.
 */
long vfio_device_get_info_simple(struct uvf_caller *c, uint64_t arg, uint32_t flags,
				 uint32_t num_regions, uint32_t num_irqs);
long vfio_device_get_irq_info_eventfd(struct uvf_caller *c, uint64_t arg, uint32_t num_irqs);

/* DEVICE_FEATURE flag check (vfio_check_feature): 1 = proceed with the
 * GET/SET, 0 = probe answered, <0 = error. */
int vfio_check_feature(uint32_t flags, size_t argsz, uint32_t supported_ops,
		       size_t minsz);

#endif
