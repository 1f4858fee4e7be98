/* SPDX-License-Identifier: MIT */
/*
 * The IOMMU layer (drivers/iommu/iommu.c): IOMMU groups, domains, and DMA
 * ownership.
 *
 * A group is the unit of isolation and of ownership.  Kernel drivers bound
 * to its devices hold "default-domain users"; a user-space owner (VFIO
 * group, iommufd device binding) claims DMA ownership with an owner cookie
 * and may do so only when no kernel driver is a default-domain user
 * (-EPERM).  While user-owned, the group sits in a blocking domain (no DMA)
 * until a paging domain is attached.  While user-owned, binding a kernel
 * driver (one without driver_managed_dma) fails with -EBUSY.
 *
 * A paging domain translates through an io page table (struct io_pagetable),
 * shared with the front end that owns the mappings.  Attaching a paging
 * domain makes the table a pin user (lazy pinning): -ENOMEM from there
 * passes through.
 *
 * Locking: group->lock protects ownership and the attached domain.  Lock
 * order: vfio container/group locks -> iommu group->lock ->
 * group->dma_lock -> domain->lock -> iopt->lock.  DMA from models takes
 * only group->dma_lock for reading, for the duration of the access: a
 * domain change takes it for writing, so once iommu_detach_group() returns
 * no DMA is still using the old domain (and its io page table may go).
 *
 * Lifetime: iommu_group_new()/iommu_group_alloc() return a reference for
 * the caller (the host keeps it until host_free); the host's group list
 * holds none, the last iommu_group_put() unlinks the group and removes its
 * sysfs directory.  Each member device holds a reference.
 *
 * DMA errors (struct uvf_dma_fault.error): -EPERM when the group has no
 * translating domain (blocked while user-owned, the kernel default domain,
 * no group at all): the device's access is refused as a whole; -EFAULT
 * when a paging domain does not map the IOVA or lacks the permission.
 */
#ifndef UVF_IOMMU_H
#define UVF_IOMMU_H

#include <stdint.h>
#include <stdbool.h>
#include "../base/refcount.h"
#include "../base/lock.h"
#include "../base/list.h"

struct uvf_host;
struct uvf_device;
struct io_pagetable;
struct sysfs_node;

enum iommu_domain_type {
	IOMMU_DOMAIN_BLOCKED,	/* every DMA faults */
	IOMMU_DOMAIN_IDENTITY,	/* the kernel's default domain; unreachable for users */
	IOMMU_DOMAIN_PAGING,	/* translates through an io page table */
};

struct iommu_domain {
	struct uvf_ref ref;
	enum iommu_domain_type type;
	struct io_pagetable *iopt;	/* PAGING: not owned */
	uint64_t pgsize_bitmap;		/* supported page sizes */
	uint64_t aperture_start, aperture_end;	/* inclusive */
	bool enforce_cache_coherency;
	bool dirty_tracking;		/* dirty tracking enabled on this domain */
	unsigned int attached;		/* groups/devices attached (under lock) */
	struct uvf_mutex lock;		/* 'attached' and the pin-user transition */
};

struct iommu_domain *iommu_domain_alloc_paging(struct io_pagetable *iopt,
					       uint64_t pgsize_bitmap,
					       uint64_t aperture_start,
					       uint64_t aperture_end,
					       bool enforce_cc);
void iommu_domain_get(struct iommu_domain *d);
void iommu_domain_put(struct iommu_domain *d);

/* A reserved IOVA region of a group (the kernel's iommu_resv_region). */
struct iommu_resv_region {
	uint64_t start, last;
	bool relaxable;
};

struct iommu_group {
	struct uvf_ref ref;
	struct uvf_host *host;
	unsigned int id;
	struct uvf_mutex lock;
	struct list_head link;		/* in the host's group list */
	struct list_head devices;	/* struct uvf_device.group_link */
	unsigned int ndevices;
	/* ownership */
	void *owner;			/* user owner cookie, or NULL */
	unsigned int owner_cnt;		/* user claims (per device on the cdev path) */
	unsigned int kernel_users;	/* bound drivers without driver_managed_dma */
	struct iommu_domain *domain;	/* attached domain (never NULL once set up) */
	struct iommu_domain *default_domain;	/* IDENTITY: the kernel DMA API's */
	struct iommu_domain *blocking_domain;
	struct uvf_rwlock dma_lock;	/* read: DMA in flight; write: domain change */
	char name[32];			/* the 'name' attribute ("vfio-noiommu"), or "" */
	/* properties from the topology */
	bool cache_coherent;		/* IOMMU_CAP_CACHE_COHERENCY */
	bool msi_isolated;
	uint64_t pgsize_bitmap;
	uint64_t aperture_start, aperture_end;
	struct iommu_resv_region resv[4];
	unsigned int nresv;
	struct sysfs_node *sysfs_dir;	/* /sys/kernel/iommu_groups/<id> */
};

/* Groups belong to the host: created from the topology, found by id. */
struct iommu_group *iommu_group_new(struct uvf_host *h, unsigned int id);
/* A group with the lowest free id (the kernel's iommu_group_alloc), as VFIO
 * makes for emulated and no-IOMMU devices. */
struct iommu_group *iommu_group_alloc(struct uvf_host *h);
/* The group with this id, or NULL.  Not referenced: host groups live until
 * host_free; take iommu_group_get() to keep one beyond that. */
struct iommu_group *iommu_group_find(struct uvf_host *h, unsigned int id);
/* Creates the group's 'name' attribute. */
int iommu_group_set_name(struct iommu_group *g, const char *name);
void iommu_group_get(struct iommu_group *g);
void iommu_group_put(struct iommu_group *g);
int iommu_group_add_device(struct iommu_group *g, struct uvf_device *dev);
void iommu_group_remove_device(struct uvf_device *dev);

/*
 * What the IOMMU in front of a device can do (device_iommu_capable).
 * CACHE_COHERENCY: it can make DMA snoop the CPU caches (IOMMU_CACHE), the
 * group's topology property, which VFIO and iommufd require.
 * ENFORCE_CACHE_COHERENCY: it can also block PCIe No-Snoop, so that DMA is
 * coherent whatever the device asks; a device without it ("coherent":
 * false in the topology) makes KVM honour the guest's WBINVD.
 */
enum iommu_cap {
	IOMMU_CAP_CACHE_COHERENCY,
	IOMMU_CAP_ENFORCE_CACHE_COHERENCY,
};

bool device_iommu_capable(const struct uvf_device *dev, enum iommu_cap cap);
/* A domain attached to g can enforce coherency: every member's IOMMU can
 * (the kernel's domain op enforce_cache_coherency after attaching g). */
bool iommu_group_enforce_cache_coherency(struct iommu_group *g);

/* Ownership (iommu_group_claim_dma_owner & co). */
int iommu_group_claim_dma_owner(struct iommu_group *g, void *owner);
void iommu_group_release_dma_owner(struct iommu_group *g);
/* Any owner at all: a user claim or a kernel driver's default-domain use. */
bool iommu_group_dma_owner_claimed(struct iommu_group *g);
/* cdev path: per device, same owner for all claims of a group. */
int iommu_device_claim_dma_owner(struct uvf_device *dev, void *owner);
void iommu_device_release_dma_owner(struct uvf_device *dev);
/* Driver binding: a kernel (non-managed) driver takes a default-domain user. */
int iommu_device_use_default_domain(struct uvf_device *dev);
void iommu_device_unuse_default_domain(struct uvf_device *dev);

/* Attach a domain to a user-owned group (replaces the blocking domain);
 * detach returns it to blocking. */
int iommu_attach_group(struct iommu_domain *d, struct iommu_group *g);
void iommu_detach_group(struct iommu_domain *d, struct iommu_group *g);

/* ---- the DMA API for device models ------------------------------------- */

/* What a model learns when a DMA access faults. */
struct uvf_dma_fault {
	uint64_t iova;		/* first address that faulted */
	bool write;
	int error;		/* -EFAULT: not mapped / no permission; -EPERM: blocked */
};

/*
 * Device DMA through the domain attached to the device's group.
 * Return 0 or -errno (never crash); 'fault' (may be NULL) describes it.
 */
int dma_read(struct uvf_device *dev, uint64_t iova, void *buf, size_t len,
	     struct uvf_dma_fault *fault);
int dma_write(struct uvf_device *dev, uint64_t iova, const void *buf, size_t len,
	      struct uvf_dma_fault *fault);

/*
 * Direct access for fast models: a mapping of [iova, iova+len) held until
 * dma_unmap_direct().  Only when the whole range is contiguous in one
 * host-addressable memory object; otherwise -EFAULT (not mapped) or
 * -EOPNOTSUPP (use dma_read/dma_write).  A write mapping marks pages dirty.
 * The memory stays valid until dma_unmap_direct even if the IOVA is
 * unmapped meanwhile, as pinned pages do for a device mid-transfer.
 */
struct uvf_dma_map {
	void *ptr;
	uint64_t iova, len;
	bool write;
	struct uvf_memobj *obj;		/* referenced: the bytes stay valid (pinned) */
};
int dma_map_direct(struct uvf_device *dev, uint64_t iova, size_t len, bool write,
		   struct uvf_dma_map *map, struct uvf_dma_fault *fault);
void dma_unmap_direct(struct uvf_dma_map *map);

#endif
