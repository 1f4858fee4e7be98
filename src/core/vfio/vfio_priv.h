/* SPDX-License-Identifier: MIT */
/*
 * VFIO core internals (drivers/vfio/vfio.h): the per-host core state, the
 * group, the container with its IOMMU backends, and the device file.
 *
 * Objects and their references:
 *  - vfio_core: one per host (host->vfio), from vfio_core_init to
 *    vfio_core_exit.  Holds the group list, the group minors, the vfioN
 *    indexes and the device sets.
 *  - vfio_group: one per IOMMU group that has a registered VFIO device.
 *    'drivers' counts registered devices; 'ref' keeps the memory (held by
 *    the registrations as a whole and by each open group file).
 *  - vfio_container: one per open of /dev/vfio/vfio; referenced by its file
 *    and by each attached group.
 *  - vfio_device_file: one per device fd; holds a registration reference on
 *    the device and, while the device is open through a container, the
 *    group file is pinned (container_users).  A device opened on an
 *    iommufd (group SET_CONTAINER with an iommufd, or its cdev after
 *    BIND_IOMMUFD) holds the iommufd context instead.
 *
 * Lock order (outermost first):
 *   core->lock (group list, minors, indexes, device sets)
 *   group->group_lock -> dev_set->lock -> container->group_lock ->
 *   backend lock (type1 iommu->lock) -> iommu group->lock -> iopt->lock
 *   group->group_lock -> dev_set->lock -> the iommufd's locks (binding,
 *   attaching: iommufd_private.h); a cdev bind takes and drops group_lock
 *   (vfio_device_block_group) before dev_set->lock
 *   group->device_lock (device list; leaf)
 *   core->comp_lock (registration completion; leaf)
 *   core->kvm_ref_lock (group->kvm, df->kvm; leaf: taken under the KVM-VFIO
 *   device's lock and under dev_set->lock)
 */
#ifndef UVF_VFIO_PRIV_H
#define UVF_VFIO_PRIV_H

#include <stdint.h>
#include <stdbool.h>
#include "vfio.h"
#include "../base/idtable.h"
#include "../host/devnode.h"

struct uvf_host;
struct iommu_group;
struct sysfs_node;
struct vfio_container;
struct iommufd_ctx;

/* Device nodes as stat() reports them. */
#define VFIO_MISC_MAJOR		10
#define VFIO_MINOR		196
#define VFIO_GROUP_MAJOR	241
#define VFIO_DEVICE_MAJOR	240	/* the vfio-dev region: device cdevs */
#define VFIO_MINORMASK		((1u << 20) - 1)
/* How often unregistration asks the driver to get its device back. */
#define VFIO_REQUEST_PERIOD_MS	10000

enum vfio_group_type {
	VFIO_IOMMU,		/* a real IOMMU group */
	VFIO_EMULATED_IOMMU,	/* mdev-style: the device never DMAs by itself */
	VFIO_NO_IOMMU,		/* unsafe no-IOMMU mode */
};

struct vfio_core {
	struct uvf_host *host;
	struct uvf_mutex lock;
	struct list_head group_list;		/* struct vfio_group.vfio_next */
	struct uvf_idtable group_minors;
	struct uvf_idtable device_indexes;	/* the N of vfioN */
	struct list_head dev_sets;		/* struct vfio_dev_set_entry */
	struct uvf_devnode container_node;	/* /dev/vfio/vfio */
	unsigned int request_period_ms;		/* tests shorten it */
	struct uvf_mutex comp_lock;		/* with vfio_device.comp */
	struct sysfs_node *class_vfio;		/* /sys/class/vfio */
	struct sysfs_node *class_vfio_dev;	/* /sys/class/vfio-dev */
	struct sysfs_node *virtual_vfio;	/* /sys/devices/virtual/vfio */
	struct uvf_mutex kvm_ref_lock;		/* group->kvm, df->kvm (kvm_ref_lock) */
};

struct vfio_group {
	struct uvf_ref ref;
	struct vfio_core *core;
	unsigned int drivers;			/* registered devices, under core->lock */
	enum vfio_group_type type;
	unsigned int minor;
	char name[32];				/* "3", "noiommu-0" */
	struct list_head vfio_next;		/* in core->group_list */
	struct uvf_devnode devnode;		/* /dev/vfio/<name> */
	struct sysfs_node *sysfs_dir;		/* /sys/devices/virtual/vfio/<name> */
	struct sysfs_node *sysfs_class_link;	/* /sys/class/vfio/<name> */

	struct uvf_mutex group_lock;
	struct iommu_group *iommu_group;	/* NULL once the group is going away */
	struct vfio_container *container;
	struct list_head container_next;	/* in container->group_list */
	unsigned int container_users;		/* 1 for the attach + 1 per open device */
	struct uvf_file *opened_file;		/* the one open group file */
	unsigned int cdev_device_open_cnt;	/* devices bound through their cdev */
	struct iommufd_ctx *iommufd;		/* SET_CONTAINER with an iommufd (referenced) */
	struct kvm *kvm;			/* KVM-VFIO's; core->kvm_ref_lock */

	struct uvf_mutex device_lock;
	struct list_head device_list;		/* struct vfio_device.group_next */
};

/* An IOMMU backend of the container (vfio_iommu_driver_ops). */
struct vfio_iommu_driver_ops {
	const char *name;
	/* Is extension 'arg' supported?  data is NULL before SET_IOMMU. */
	long (*check_extension)(struct vfio_core *core, void *data, unsigned long arg);
	int (*open)(struct vfio_core *core, struct uvf_caller *c, unsigned long arg,
		    void **data);
	void (*release)(void *data);
	long (*ioctl)(void *data, struct uvf_caller *c, unsigned int cmd, uint64_t arg);
	int (*attach_group)(void *data, struct iommu_group *g, enum vfio_group_type type);
	void (*detach_group)(void *data, struct iommu_group *g);
	/* CPU access on behalf of an emulated device (vfio_dma_rw). */
	int (*dma_rw)(void *data, uint64_t iova, void *buf, size_t len, bool write);
	/* vfio_pin_pages / vfio_unpin_pages of an emulated device: npage or -errno. */
	int (*pin_pages)(void *data, struct vfio_device *vdev, uint64_t iova, int npage,
			 int prot);
	void (*unpin_pages)(void *data, struct vfio_device *vdev, uint64_t iova, int npage);
	/* The device's last close: drop what it left pinned (a driver bug). */
	void (*unpin_device)(void *data, struct vfio_device *vdev);
};

extern const struct vfio_iommu_driver_ops vfio_type1_ops;
extern const struct vfio_iommu_driver_ops vfio_noiommu_ops;

struct vfio_container {
	struct uvf_ref ref;
	struct vfio_core *core;
	struct uvf_rwlock group_lock;		/* groups and the backend */
	struct list_head group_list;
	const struct vfio_iommu_driver_ops *iommu_driver;
	void *iommu_data;
	bool noiommu;
};

/* One open device fd. */
struct vfio_device_file {
	struct vfio_device *device;
	struct vfio_group *group;		/* group path; NULL for a cdev open */
	bool access_granted;
	struct kvm *kvm;			/* KVM-VFIO's (cdev bind); core->kvm_ref_lock */
	struct iommufd_ctx *iommufd;		/* bound on an iommufd (cdev: referenced) */
	uint32_t devid;				/* the iommufd DEVICE/ACCESS id */
};

/* ---- group.c ------------------------------------------------------------ */
int vfio_group_init(struct vfio_core *core);
void vfio_group_exit(struct vfio_core *core);
int vfio_device_set_group(struct vfio_device *vdev, enum vfio_group_type type);
void vfio_device_remove_group(struct vfio_device *vdev);
void vfio_device_group_register(struct vfio_device *vdev);
void vfio_device_group_unregister(struct vfio_device *vdev);
/* First open / last close of a device through its group (group_lock held).
 * unuse returns the group file to put once every lock is dropped. */
int vfio_device_group_use_iommu(struct vfio_device *vdev, struct uvf_caller *c);
struct uvf_file *vfio_device_group_unuse_iommu(struct vfio_device *vdev);
/* The cdev path excludes the group path (-EBUSY while the group is open). */
int vfio_device_block_group(struct vfio_device *vdev);
void vfio_device_unblock_group(struct vfio_device *vdev);
struct vfio_group *vfio_group_from_file(struct uvf_file *f);
/* Close a group-path device file; returns the group file to put once no
 * lock is held (NULL if none). */
struct uvf_file *vfio_df_group_close(struct vfio_device_file *df);
/* KVM-VFIO: whether every device of the group can enforce coherency; the
 * group's VM (group->kvm, taken at first open). */
bool vfio_group_enforced_coherent(struct vfio_group *group);
void vfio_group_set_kvm(struct vfio_group *group, struct kvm *kvm);
void vfio_group_get(struct vfio_group *group);
void vfio_group_put(struct vfio_group *group);

/* ---- container.c -------------------------------------------------------- */
int vfio_container_init(struct vfio_core *core);
void vfio_container_exit(struct vfio_core *core);
struct vfio_container *vfio_container_from_file(struct uvf_file *f);
int vfio_container_attach_group(struct vfio_container *container, struct vfio_group *group,
				struct uvf_caller *c);
void vfio_group_detach_container(struct vfio_group *group);
int vfio_group_use_container(struct vfio_group *group, struct uvf_caller *c);
struct uvf_file *vfio_group_unuse_container(struct vfio_group *group);
int vfio_device_container_pin_pages(struct vfio_device *vdev, uint64_t iova, int npage,
				    int prot);
void vfio_device_container_unpin_pages(struct vfio_device *vdev, uint64_t iova, int npage);
int vfio_device_container_dma_rw(struct vfio_device *vdev, uint64_t iova, void *buf,
				 size_t len, bool write);

/* ---- iommufd.c, device_cdev.c (dev_set->lock held unless noted) ---------- */
int vfio_df_iommufd_bind(struct vfio_device_file *df);
void vfio_df_iommufd_unbind(struct vfio_device_file *df);
int vfio_iommufd_attach(struct vfio_device *vdev, uint32_t *pt_id);
void vfio_iommufd_detach(struct vfio_device *vdev);
bool vfio_iommufd_device_has_compat_ioas(struct vfio_device *vdev, struct iommufd_ctx *ictx);
int vfio_iommufd_compat_attach_ioas(struct vfio_device *vdev, struct iommufd_ctx *ictx);
/* CPU access for an emulated device bound to an iommufd (any lock). */
int vfio_iommufd_dma_rw(struct vfio_device *vdev, uint64_t iova, void *buf, size_t len,
			bool write);
/* The cdev node, after the registration reference exists / before it goes. */
int vfio_device_cdev_add(struct vfio_device *vdev);
void vfio_device_cdev_del(struct vfio_device *vdev);
/* The cdev ioctls (no lock held). */
long vfio_df_ioctl_bind_iommufd(struct vfio_device_file *df, struct uvf_caller *c,
				uint64_t arg);
void vfio_df_unbind_iommufd(struct vfio_device_file *df);
long vfio_df_ioctl_attach_pt(struct vfio_device_file *df, struct uvf_caller *c, uint64_t arg);
long vfio_df_ioctl_detach_pt(struct vfio_device_file *df, struct uvf_caller *c, uint64_t arg);

/* ---- vfio_main.c -------------------------------------------------------- */
static inline bool vfio_device_is_noiommu(const struct vfio_device *vdev)
{
	return vdev->group && vdev->group->type == VFIO_NO_IOMMU;
}

/* vdev->kvm at first open / bind and last close (dev_set->lock held):
 * a reference on kvm unless it is NULL or being destroyed. */
void vfio_device_get_kvm_safe(struct vfio_device *vdev, struct kvm *kvm);
void vfio_device_put_kvm(struct vfio_device *vdev);

bool vfio_device_try_get_registration(struct vfio_device *vdev);
void vfio_device_put_registration(struct vfio_device *vdev);
struct vfio_device_file *vfio_allocate_device_file(struct vfio_device *vdev);
/* Open/close with dev_set->lock held; open runs open_device the first time. */
int vfio_df_open(struct vfio_device_file *df, struct uvf_caller *c);
struct uvf_file *vfio_df_close(struct vfio_device_file *df);
extern const struct uvf_file_ops vfio_device_fops;

#endif
