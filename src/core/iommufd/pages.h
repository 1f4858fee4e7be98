/* SPDX-License-Identifier: MIT */
/*
 * iopt_pages: the memory behind iommufd mappings (the kernel's
 * drivers/iommu/iommufd/pages.c).  One IOAS_MAP makes one pages object for
 * the user range [uaddr, uaddr + length) of the mapping process; areas of
 * any number of IOASes map slices of it (IOAS_COPY shares it, never
 * re-pins it).
 *
 * Lazy pinning.  A pages object made from a process's memory
 * (iopt_pages_new_user) holds that process's mm and touches nothing at
 * map time.  Its pages are pinned only while some user needs them: an
 * area of an IOAS that has a domain ("fill", the whole slice) or an access
 * pin (a page range).  Users are page-index ranges in an interval tree; a
 * page is pinned while at least one covers it, and pinned once however
 * many do.  The first pin resolves the whole range through the mm -- the
 * kernel's get_user_pages, -EFAULT if part of it is not mapped or the
 * process is gone -- and the last unpin lets the memory go again, so a
 * later pin sees the process's memory as it is then.  A pages object made
 * from given memory (iopt_pages_new_mem, IOAS_MAP_FILE) is resolved for
 * life and only its accounting is lazy.
 *
 * Accounting.  Each page newly pinned is charged to 'account' against
 * 'limit_pages' (unless ipc_lock) and uncharged when its last user goes:
 * the kernel's user mode (a per-user account, the mapper's RLIMIT_MEMLOCK),
 * mm mode (the mapper's mm) or none (CAP_IPC_LOCK), chosen by the caller
 * at map time -- the owner is recorded then, so a fork's mappings keep
 * charging the process that made them.
 *
 * The pin registry (optional) lists pages objects so that a page's pin
 * count can be asked for, as the kernel counts FOLL_PIN references of a
 * struct page (IOMMU_TEST_OP_MD_CHECK_REFS): the count of an identity
 * (memory object, page offset) is the number of pages objects that have it
 * pinned right now.
 *
 * Lock order: the io page table's lock -> registry->lock -> pages->lock ->
 * account locks.  The mm's resolve runs under pages->lock.
 */
#ifndef UVF_IOMMUFD_PAGES_H
#define UVF_IOMMUFD_PAGES_H

#include <stdint.h>
#include <stdbool.h>
#include "../base/itree.h"
#include "../base/list.h"
#include "../base/lock.h"
#include "../base/refcount.h"
#include "../mm/mm.h"

struct iopt_pages_registry {
	struct uvf_mutex lock;
	struct list_head list;		/* struct iopt_pages.registry_link */
};

struct iopt_pages {
	struct uvf_ref ref;
	struct uvf_mutex lock;		/* everything below but the constants */
	struct iopt_pages_registry *registry;
	struct list_head registry_link;
	/* constant after creation */
	uint64_t uaddr;			/* user address of byte 0 */
	uint64_t length;
	uint64_t npages;		/* pages the range spans */
	bool writable;
	struct uvf_mm *mm;		/* pin source; NULL: memory given for life */
	/* the memory, while resolved: segments covering [0, length) */
	struct uvf_mem_seg *segs;
	uint32_t nsegs;
	/* users: struct itree_node page-index ranges (area fills, access pins) */
	struct itree_root users;
	uint64_t npinned;		/* pages charged now */
	/* who pays */
	struct uvf_account *account;	/* referenced; NULL: nobody */
	uint64_t limit_pages;
	bool ipc_lock;			/* the limit does not apply */
};

void iopt_pages_registry_init(struct iopt_pages_registry *r);
void iopt_pages_registry_destroy(struct iopt_pages_registry *r);

/*
 * A pages object over [uaddr, uaddr + length) of mm (referenced), listed in
 * registry (may be NULL).  -EINVAL length 0, -EOVERFLOW if the range wraps,
 * -ENOMEM.
 */
int iopt_pages_new_user(struct uvf_mm *mm, uint64_t uaddr, uint64_t length, bool writable,
			struct iopt_pages_registry *registry, struct iopt_pages **out);
/* A pages object over given memory: takes over the segment references on
 * success (the array is copied); uaddr only places it for IOVA allocation. */
int iopt_pages_new_mem(const struct uvf_mem_seg *segs, uint32_t nsegs, uint64_t uaddr,
		       bool writable, struct iopt_pages_registry *registry,
		       struct iopt_pages **out);
/* Who pays for the pins; set before the first pin. */
void iopt_pages_set_account(struct iopt_pages *pages, struct uvf_account *account,
			    uint64_t limit_pages, bool ipc_lock);
static inline void iopt_pages_get(struct iopt_pages *pages) { uvf_ref_get(&pages->ref); }
void iopt_pages_put(struct iopt_pages *pages);

/* The page index of byte 'off' of the range. */
static inline uint64_t iopt_pages_index(const struct iopt_pages *pages, uint64_t off)
{
	return ((pages->uaddr & (UVF_PAGE_SIZE - 1)) + off) >> UVF_PAGE_SHIFT;
}

/*
 * Add the user 'node' (start/last set to page indexes, not in any tree):
 * pins what no other user covers.  -EFAULT (the range cannot be resolved),
 * -ENOMEM (over the limit, or a fault-injection site); nothing changes on
 * failure.  Remove it with iopt_pages_unpin.
 */
int iopt_pages_pin(struct iopt_pages *pages, struct itree_node *node);
void iopt_pages_unpin(struct iopt_pages *pages, struct itree_node *node);

/* Access pins: a counted user per exact page range [first, last]. */
int iopt_pages_pin_access(struct iopt_pages *pages, uint64_t first, uint64_t last);
void iopt_pages_unpin_access(struct iopt_pages *pages, uint64_t first, uint64_t last);

/* Translate [off, off + len) (pages->lock not needed while the caller
 * keeps a user covering it).  -EFAULT when not resolved. */
int iopt_pages_xlate(struct iopt_pages *pages, uint64_t off, uint64_t len,
		     struct uvf_memobj **obj, uint64_t *obj_off, uint64_t *contig);

/*
 * CPU access to [off, off + len): through the pinned memory when resolved,
 * else through the source process's memory.  -EPERM writing a read-only
 * range, -EFAULT when the memory cannot be reached.
 */
int iopt_pages_rw(struct iopt_pages *pages, uint64_t off, void *buf, uint64_t len, bool write);

/* How many registered pages objects have the page at (obj, off) pinned. */
unsigned int iopt_pages_registry_refs(struct iopt_pages_registry *r,
				      const struct uvf_memobj *obj, uint64_t off);

#endif
