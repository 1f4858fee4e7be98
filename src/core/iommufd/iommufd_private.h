/* SPDX-License-Identifier: MIT */
/*
 * iommufd internals (drivers/iommu/iommufd/iommufd_private.h): the per-host
 * core, the context, the object table and every object type.
 *
 * Objects.  Every object has an id in its context's table (from 1, the
 * lowest free) and two counts: 'users', the long-term references (1 for
 * the table while published, one per object that points at it, one per
 * driver that holds it), and 'shortterm', lookups in flight.  IOMMU_DESTROY
 * succeeds only when the table's reference is the only one (-EBUSY
 * otherwise); closing the iommufd destroys every object, leaves first.  An
 * object is created unpublished (its id reserved, lookups do not see it)
 * and published by iommufd_object_finalize() once nothing can fail.
 *
 * Object graph (who holds 'users' on whom): HWPT_PAGING -> its IOAS; HWPT
 * NESTED -> its parent HWPT; a HWPT with a fault queue -> the FAULT; an
 * attached DEVICE -> its HWPT (per attached device); an attached ACCESS ->
 * its IOAS; the compat IOAS is a plain user object.
 *
 * Lock order (outermost first):
 *   vfio locks (group_lock -> dev_set->lock) -> ioas->mutex ->
 *   igroup->lock -> iommu group->lock -> iopt->lock -> pages locks ->
 *   account locks;  access->ioas_lock -> iopt->lock;
 *   ictx->lock (object table, counts, vfio_ioas) is a leaf taken alone;
 *   core->lock (accounts, mock ids) is a leaf.
 * No lock is held across an access's unmap callback.
 */
#ifndef UVF_IOMMUFD_PRIVATE_H
#define UVF_IOMMUFD_PRIVATE_H

#include <stdint.h>
#include <stdbool.h>
#include <pthread.h>
#include "iommufd.h"
#include "io_pagetable.h"
#include "pages.h"
#include "fail_nth.h"
#include "uapi/linux/iommufd.h"
#include "../base/idtable.h"
#include "../base/list.h"
#include "../base/lock.h"
#include "../host/devnode.h"
#include "../mm/caller.h"

struct iommu_domain;
struct iommu_group;
struct iommufd_hw_pagetable;
struct iommufd_hwpt_paging;
struct iommufd_device;

#define IOMMUFD_MISC_MINOR	122	/* /dev/iommu as stat shows it (dynamic in Linux) */

/* ---- the host's iommufd --------------------------------------------------- */

struct iommufd_core {
	struct uvf_host *host;
	struct uvf_devnode devnode;		/* /dev/iommu */
	struct iopt_pages_registry pins;	/* every pages object, for pin counts */
	struct fail_nth_table *fail_nth;
	struct uvf_mutex lock;			/* users, mock ids */
	struct list_head users;			/* struct iommufd_user accounts */
	struct uvf_idtable mock_ids;		/* the N of iommufd_mockN */
	uint32_t test_memory_limit;		/* IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT */
};

/* ---- the context ---------------------------------------------------------- */

enum iopt_account_mode {
	IOPT_PAGES_ACCOUNT_NONE,
	IOPT_PAGES_ACCOUNT_USER,
	IOPT_PAGES_ACCOUNT_MM,
};

struct iommufd_ctx {
	struct iommufd_core *core;
	struct uvf_file *file;			/* not referenced: the file owns ictx */
	struct uvf_mutex lock;			/* below, and every object's counts */
	pthread_cond_t destroy_wait;		/* a shortterm count dropped */
	struct uvf_idtable objects;
	enum iopt_account_mode account_mode;
	struct iommufd_ioas *vfio_ioas;		/* the VFIO compat IOAS */
	bool no_iommu_mode;
	struct uvf_mutex groups_lock;		/* groups */
	struct list_head groups;		/* struct iommufd_group */
};

/* ---- objects ---------------------------------------------------------------- */

enum iommufd_object_type {
	IOMMUFD_OBJ_NONE,
	IOMMUFD_OBJ_ANY = IOMMUFD_OBJ_NONE,
	IOMMUFD_OBJ_DEVICE,
	IOMMUFD_OBJ_HWPT_PAGING,
	IOMMUFD_OBJ_HWPT_NESTED,
	IOMMUFD_OBJ_IOAS,
	IOMMUFD_OBJ_ACCESS,
	IOMMUFD_OBJ_FAULT,
	IOMMUFD_OBJ_SELFTEST,
	IOMMUFD_OBJ_MAX,
};

struct iommufd_object {
	enum iommufd_object_type type;
	uint32_t id;
	unsigned int users;		/* under ictx->lock */
	unsigned int shortterm;		/* under ictx->lock */
	bool finalized;			/* visible to lookups */
};

/* main.c: the table. */
void *iommufd_object_alloc(struct iommufd_ctx *ictx, size_t size,
			   enum iommufd_object_type type, int *err);
void iommufd_object_finalize(struct iommufd_ctx *ictx, struct iommufd_object *obj);
void iommufd_object_abort(struct iommufd_ctx *ictx, struct iommufd_object *obj);
void iommufd_object_abort_and_destroy(struct iommufd_ctx *ictx, struct iommufd_object *obj);
/* A published object of 'type' (ANY: any) with a shortterm reference:
 * -ENOENT when there is none (or a fault-injection site says so). */
int iommufd_get_object(struct iommufd_ctx *ictx, uint32_t id, enum iommufd_object_type type,
		       struct iommufd_object **out);
void iommufd_put_object(struct iommufd_ctx *ictx, struct iommufd_object *obj);
/* Long-term users (object graph edges, drivers). */
void iommufd_object_get_user(struct iommufd_ctx *ictx, struct iommufd_object *obj);
void iommufd_object_put_user(struct iommufd_ctx *ictx, struct iommufd_object *obj);
/* Take a shortterm reference on an object known to be alive; false once
 * it is being destroyed. */
bool iommufd_lock_obj(struct iommufd_ctx *ictx, struct iommufd_object *obj);
/*
 * Remove and destroy an object the caller (a driver) holds a user on: its
 * user and the table's go, and in-flight lookups are waited for.
 */
void iommufd_object_destroy_user(struct iommufd_ctx *ictx, struct iommufd_object *obj);
/* Drop a user and destroy the object if only the table holds it now
 * (automatic HWPTs). */
void iommufd_object_put_and_try_destroy(struct iommufd_ctx *ictx, struct iommufd_object *obj);
/* The object types' destroy (main.c's table of them). */
void iommufd_ioas_destroy(struct iommufd_object *obj);
void iommufd_hwpt_paging_destroy(struct iommufd_object *obj);
void iommufd_hwpt_nested_destroy(struct iommufd_object *obj);
void iommufd_device_destroy(struct iommufd_object *obj);
void iommufd_access_destroy_object(struct iommufd_object *obj);
void iommufd_fault_destroy(struct iommufd_object *obj);
void iommufd_selftest_destroy(struct iommufd_object *obj);

/* One ioctl: the kernel's struct iommufd_ucmd. */
struct iommufd_ucmd {
	struct iommufd_ctx *ictx;
	struct uvf_caller *caller;
	uint64_t ubuffer;
	uint32_t user_size;
	void *cmd;
};

/* Copy the command back, at most the size the user gave. */
int iommufd_ucmd_respond(struct iommufd_ucmd *ucmd, size_t cmd_len);

/* ---- IOAS ------------------------------------------------------------------- */

struct iommufd_ioas {
	struct iommufd_object obj;
	struct io_pagetable iopt;
	struct iommufd_ctx *ictx;
	struct uvf_mutex mutex;		/* hwpt_list, access_list, dirty users */
	struct list_head hwpt_list;	/* struct iommufd_hwpt_paging.hwpt_item */
	struct list_head access_list;	/* struct iommufd_access_link */
	unsigned int dirty_users;	/* HWPTs with dirty tracking on */
};

int iommufd_ioas_alloc(struct iommufd_ctx *ictx, struct iommufd_ioas **out);
int iommufd_get_ioas(struct iommufd_ctx *ictx, uint32_t id, struct iommufd_ioas **out);
/* The table's alignment from its domains, accesses and large-page mode;
 * ioas->mutex held. */
int iommufd_ioas_update_alignment(struct iommufd_ioas *ioas);
/* A domain joins/leaves the table (iopt_table_add/remove_domain). */
int iommufd_ioas_add_domain(struct iommufd_ioas *ioas, struct iommufd_hwpt_paging *hwpt);
void iommufd_ioas_remove_domain(struct iommufd_ioas *ioas, struct iommufd_hwpt_paging *hwpt);
/* Map user memory (IOAS_MAP and the VFIO compat MAP_DMA). */
int iommufd_ioas_map_user(struct iommufd_ucmd *ucmd, struct iommufd_ioas *ioas,
			  uint64_t *iova, uint64_t uaddr, uint64_t length, int prot,
			  unsigned int flags);
int iommufd_ioas_disable_large_pages(struct iommufd_ioas *ioas);
void iommufd_ioas_enable_large_pages(struct iommufd_ioas *ioas);

int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd);
int iommufd_ioas_iova_ranges(struct iommufd_ucmd *ucmd);
int iommufd_ioas_allow_iovas(struct iommufd_ucmd *ucmd);
int iommufd_ioas_map(struct iommufd_ucmd *ucmd);
int iommufd_ioas_map_file(struct iommufd_ucmd *ucmd);
int iommufd_ioas_copy(struct iommufd_ucmd *ucmd);
int iommufd_ioas_unmap(struct iommufd_ucmd *ucmd);
int iommufd_option(struct iommufd_ucmd *ucmd);
int iommufd_vfio_ioas(struct iommufd_ucmd *ucmd);

/* ---- the IOMMU driver of a device ------------------------------------------- */

/* A dirty IOVA range reported by a driver into the user's bitmap. */
struct iommufd_dirty_bitmap;
void iommufd_dirty_record(struct iommufd_dirty_bitmap *dirty, uint64_t iova, uint64_t length);

/* Data for a nested HWPT or an invalidation (iommu_user_data[_array]). */
struct iommufd_user_data {
	uint32_t type;
	uint64_t uptr;
	uint32_t len;
};

struct iommufd_user_data_array {
	uint32_t type;
	uint64_t uptr;
	uint32_t entry_len;
	uint32_t entry_num;		/* in: entries; out: entries handled */
};

/* iommu_copy_struct_from_user[_array]: len in [min_len, size], else -EINVAL. */
int iommufd_copy_user_data(struct uvf_caller *c, void *dst, size_t size, size_t min_len,
			   uint32_t type, const struct iommufd_user_data *src);
int iommufd_copy_user_data_array(struct uvf_caller *c, void *dst, size_t size,
				 size_t min_len, uint32_t type,
				 const struct iommufd_user_data_array *src, uint32_t index);

/*
 * What iommufd needs from the IOMMU driver behind a device (the kernel's
 * iommu_ops and domain ops).  The generic driver serves the host's real
 * devices from their IOMMU group's properties; the mock driver (selftest.c)
 * serves IOMMU_TEST_CMD's mock devices.
 */
struct iommufd_driver_ops {
	const char *name;
	/* hw_info: malloc'd data of *len bytes and its type; in_type is
	 * IOMMU_HW_INFO_TYPE_DEFAULT or a type asked for (-EOPNOTSUPP) */
	int (*hw_info)(struct iommufd_device *idev, uint32_t in_type, void **data,
		       uint32_t *len, uint32_t *type);
	bool (*dirty_capable)(struct iommufd_device *idev);
	uint8_t (*max_pasid_log2)(struct iommufd_device *idev);
	/* A paging domain for flags/data (user data: -EOPNOTSUPP unless the
	 * driver has some); fills hwpt's driver state */
	int (*alloc_paging)(struct iommufd_device *idev, struct iommufd_hwpt_paging *hwpt,
			    uint32_t flags, const struct iommufd_user_data *data);
	/* A nested domain over parent */
	int (*alloc_nested)(struct iommufd_device *idev, struct iommufd_hw_pagetable *hwpt,
			    struct iommufd_hwpt_paging *parent, uint32_t flags,
			    const struct iommufd_user_data *data, struct uvf_caller *c);
	/* May idev attach to hwpt?  -EINVAL: not compatible */
	int (*attach_check)(struct iommufd_device *idev, struct iommufd_hw_pagetable *hwpt);
	/* Dirty tracking of a paging HWPT allocated with it */
	int (*set_dirty_tracking)(struct iommufd_hwpt_paging *hwpt, bool enable);
	int (*read_and_clear_dirty)(struct iommufd_hwpt_paging *hwpt, uint64_t iova,
				    uint64_t length, bool no_clear,
				    struct iommufd_dirty_bitmap *dirty);
	int (*cache_invalidate_user)(struct iommufd_hw_pagetable *hwpt, struct uvf_caller *c,
				     struct iommufd_user_data_array *array);
	void (*hwpt_free)(struct iommufd_hw_pagetable *hwpt);
	void (*report_fault)(struct iommufd_device *idev);
};

extern const struct iommufd_driver_ops iommufd_generic_driver;

/* ---- HWPT -------------------------------------------------------------------- */

struct iommufd_hw_pagetable {
	struct iommufd_object obj;
	struct iommu_domain *domain;	/* what an attached group translates with */
	const struct iommufd_driver_ops *ops;	/* the driver that made it */
	struct iommufd_fault *fault;	/* referenced (users) */
	void *drv;			/* the driver's state */
};

struct iommufd_hwpt_paging {
	struct iommufd_hw_pagetable common;
	struct iommufd_ioas *ioas;	/* referenced (users) */
	struct list_head hwpt_item;	/* in ioas->hwpt_list while added */
	bool auto_domain;
	bool nest_parent;
	bool enforce_cache_coherency;
	bool dirty_ops;			/* allocated with DIRTY_TRACKING */
	bool dirty_tracking;		/* enabled */
	unsigned int dirty_pgshift;	/* the driver's IOPTE granularity */
};

struct iommufd_hwpt_nested {
	struct iommufd_hw_pagetable common;
	struct iommufd_hwpt_paging *parent;	/* referenced (users) */
};

static inline struct iommufd_hwpt_paging *to_hwpt_paging(struct iommufd_hw_pagetable *hwpt)
{
	return hwpt && hwpt->obj.type == IOMMUFD_OBJ_HWPT_PAGING ?
		container_of(hwpt, struct iommufd_hwpt_paging, common) : NULL;
}

/* The paging HWPT a HWPT translates with (itself, or a nested's parent). */
struct iommufd_hwpt_paging *find_hwpt_paging(struct iommufd_hw_pagetable *hwpt);

int iommufd_hwpt_paging_alloc(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			      struct iommufd_device *idev, uint32_t flags,
			      bool immediate_attach, const struct iommufd_user_data *data,
			      struct iommufd_hwpt_paging **out);
int iommufd_get_hwpt_paging(struct iommufd_ctx *ictx, uint32_t id,
			    struct iommufd_hwpt_paging **out);
void iommufd_hw_pagetable_put(struct iommufd_ctx *ictx, struct iommufd_hw_pagetable *hwpt);

int iommufd_hwpt_alloc(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_set_dirty_tracking(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_get_dirty_bitmap(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_invalidate(struct iommufd_ucmd *ucmd);

/* ---- devices ------------------------------------------------------------------ */

/* The devices of one IOMMU group bound to one context. */
struct iommufd_group {
	struct list_head link;		/* in ictx->groups */
	unsigned int refs;		/* under ictx->groups_lock */
	struct iommufd_ctx *ictx;
	struct iommu_group *group;	/* referenced */
	struct uvf_mutex lock;		/* hwpt, device_list */
	struct iommufd_hw_pagetable *hwpt;	/* attached, or NULL */
	struct list_head device_list;	/* attached struct iommufd_device */
};

struct iommufd_device {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct iommufd_group *igroup;
	struct list_head group_item;	/* in igroup->device_list while attached */
	struct uvf_device *dev;
	const struct iommufd_driver_ops *ops;
	void *drv;			/* the driver's per-device state */
	bool enforce_cache_coherency;
	bool holds_ctx;			/* a file reference on the context */
	unsigned int iopf_enabled;
};

/* Bind with a given driver (the mock's); iommufd_device_bind uses the
 * generic one and takes a context reference. */
int __iommufd_device_bind(struct iommufd_ctx *ictx, struct uvf_device *dev,
			  const struct iommufd_driver_ops *ops, void *drv, bool hold_ctx,
			  uint32_t *id, struct iommufd_device **out);
int iommufd_get_device(struct iommufd_ctx *ictx, uint32_t id, struct iommufd_device **out);
int iommufd_get_hw_info(struct iommufd_ucmd *ucmd);
/* The HWPT the device's group is attached to (igroup->lock taken). */
struct iommufd_hw_pagetable *iommufd_device_hwpt(struct iommufd_device *idev);
/* Attach idev to hwpt / detach it, returning the HWPT to put. */
int iommufd_hw_pagetable_attach(struct iommufd_hw_pagetable *hwpt, struct iommufd_device *idev);
struct iommufd_hw_pagetable *iommufd_hw_pagetable_detach(struct iommufd_device *idev);

/* ---- accesses ------------------------------------------------------------------ */

struct iommufd_access {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct iommufd_ioas *ioas;		/* NULL while detached */
	struct iommufd_ioas *ioas_unpin;	/* where unpins go during a change */
	struct uvf_mutex ioas_lock;
	const struct iommufd_access_ops *ops;
	void *data;
	uint64_t iova_alignment;
};

/* An access in an IOAS's list: while its IOAS changes an access is in
 * two lists at once. */
struct iommufd_access_link {
	struct list_head link;		/* in ioas->access_list */
	struct iommufd_access *access;
};

/* The access unmap callbacks of an IOAS: notify_unmap of its table. */
void iommufd_access_notify_unmap(struct io_pagetable *iopt, uint64_t iova, uint64_t length);

/* ---- fault queues ------------------------------------------------------------- */

struct iommufd_fault {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct uvf_file *file;			/* the fault fd's file (not referenced) */
	struct uvf_mutex mutex;
	struct list_head deliver;		/* struct iommufd_fault_group, to read */
	struct uvf_idtable response;		/* read, awaiting a response (cookie) */
};

/* A page request from a device to the fault queue of its HWPT; dropped
 * (answered INVALID) when the device's HWPT has none. */
int iommufd_fault_report(struct iommufd_device *idev, uint32_t flags, uint32_t pasid,
			 uint32_t grpid, uint32_t perm, uint64_t addr);
/* Answer INVALID every fault of idev still pending on hwpt's queue. */
void iommufd_fault_auto_response(struct iommufd_hw_pagetable *hwpt,
				 struct iommufd_device *idev);
int iommufd_get_fault(struct iommufd_ctx *ictx, uint32_t id, struct iommufd_fault **out);
int iommufd_fault_alloc(struct iommufd_ucmd *ucmd);

/* ---- VFIO compat and options --------------------------------------------------- */

long iommufd_vfio_ioctl(struct iommufd_ctx *ictx, struct uvf_caller *c, unsigned int cmd,
			uint64_t arg);
int iommufd_get_compat_ioas(struct iommufd_ctx *ictx, struct iommufd_ioas **out);

/* account.c: who pays for pins of a new pages object made by caller c. */
int iommufd_pages_account(struct iommufd_ctx *ictx, struct uvf_caller *c,
			  struct iopt_pages *pages);
void iommufd_users_release(struct iommufd_core *core);

/* ---- the test interface ------------------------------------------------------- */

bool iommufd_test_enabled(struct iommufd_ctx *ictx);
int iommufd_test(struct iommufd_ucmd *ucmd);

#endif
