/* SPDX-License-Identifier: MIT */
/*
 * The io page table: IOVA -> (memory object, offset), designed once for both
 * front ends that map user memory for devices: the VFIO type1 container and
 * iommufd's IOAS (the kernel's drivers/iommu/iommufd/io_pagetable.c plays the
 * same part for both since CONFIG_IOMMUFD_VFIO_CONTAINER).
 *
 * An area is one user mapping, [iova, last] in an interval tree, made of one
 * or more segments of memory objects.  Areas never overlap; the tree gives
 * O(log n) lookup, insert and removal.  The front ends own the uAPI rules
 * (type1 v1/v2 split semantics, iommufd's no-split rule, limits); the table
 * owns the mechanism: overlap detection, IOVA allocation, pinning and its
 * accounting, translation for DMA, dirty bits.
 *
 * Pinning is lazy, as iommufd's: an area's pages are charged to its owner's
 * account (struct uvf_account) only while the table has at least one user
 * that needs pinned memory (an attached domain, a pinning access).
 * iopt_add_pin_user() charges every area and fails with -ENOMEM, charging
 * nothing, if the owners' limits do not allow it.
 *
 * Locking: iopt->lock (rwlock).  Readers: translation and DMA; writers:
 * map, unmap, pin-user changes, dirty-tracking changes.  Dirty bits are set
 * atomically under the read lock.  The table calls nothing outside itself
 * with its lock held except memobj_put() and account ops (leaf locks).
 */
#ifndef UVF_IOMMUFD_IO_PAGETABLE_H
#define UVF_IOMMUFD_IO_PAGETABLE_H

#include <stdint.h>
#include <stdbool.h>
#include "../base/itree.h"
#include "../base/lock.h"
#include "../mm/mm.h"

#define IOPT_READ	(1 << 0)
#define IOPT_WRITE	(1 << 1)

struct io_pagetable;

struct iopt_area {
	struct itree_node node;		/* node.start = iova, node.last = iova+len-1 */
	struct io_pagetable *iopt;
	int prot;			/* IOPT_READ | IOPT_WRITE */
	uint64_t uaddr;			/* user address given at map time */
	bool uaddr_invalid;		/* type1 VADDR: host address withdrawn */
	uint32_t nsegs;
	struct uvf_mem_seg *segs;	/* owned; their obj references are owned */
	struct uvf_account *account;	/* who pays for the pins; referenced */
	bool ipc_lock;			/* the mapper had CAP_IPC_LOCK */
	uint64_t pinned_pages;		/* currently charged to account */
	unsigned long *dirty;		/* 1 bit per dirty page, while tracking */
	void *front_data;		/* owned by the front end */
};

static inline uint64_t iopt_area_iova(const struct iopt_area *a) { return a->node.start; }
static inline uint64_t iopt_area_last(const struct iopt_area *a) { return a->node.last; }
static inline uint64_t iopt_area_length(const struct iopt_area *a)
{
	return a->node.last - a->node.start + 1;
}

struct io_pagetable {
	struct uvf_rwlock lock;
	struct itree_root area_itree;
	struct itree_root reserved_itree;	/* ranges that may never be mapped */
	uint64_t iova_alignment;		/* minimum page size, power of two */
	unsigned int pin_users;			/* domains + pinning accesses */
	bool dirty_tracking;
	unsigned int dirty_pgshift;		/* dirty bit granularity */
	/* Optional: frees an area's front_data when the area goes (lock held). */
	void (*release_front_data)(struct iopt_area *area);
};

void iopt_init(struct io_pagetable *iopt, uint64_t iova_alignment);
/* Unmaps everything (releasing pins and objects) and frees internal state. */
void iopt_destroy(struct io_pagetable *iopt);

/* Flags for iopt_map. */
#define IOPT_MAP_FIXED	(1 << 0)	/* *iova is the address; else allocate one */

/*
 * Map 'nsegs' segments (their total length is the mapping length) at *iova.
 * Takes over the segment object references on success only; the segs array
 * is copied.  Errors, in the order checked: -EINVAL (no segments, a segment
 * of length 0 or beyond its object, unknown prot/flags bits, unaligned
 * length or iova), -EOVERFLOW (iova + length wraps), -EEXIST (overlaps an
 * area), -EADDRINUSE (overlaps a reserved range), -ENOSPC (no free IOVA
 * hole for an allocated map), -ENOMEM (pin accounting while pinned: nothing
 * is charged).  Returns the new area in *out when non-NULL.
 *
 * An allocated IOVA (no IOPT_MAP_FIXED) is the lowest free one in
 * [4 KiB, U64_MAX - 4 KiB] aligned to the table's alignment and, like
 * iommufd, to min(length rounded up to a power of two, the natural
 * alignment of uaddr, 2 MiB); below a page it keeps uaddr's page offset.
 */
int iopt_map(struct io_pagetable *iopt, uint64_t *iova, struct uvf_mem_seg *segs,
	     uint32_t nsegs, int prot, unsigned int flags, struct uvf_account *account,
	     bool ipc_lock, uint64_t uaddr, struct iopt_area **out);

/*
 * Unmap every area that lies entirely inside [iova, iova+length-1].
 * Under IOPT_UNMAP_STRICT an area that the range only partly covers makes
 * the whole call fail with -EINVAL and unmap nothing (type1 v2, iommufd);
 * under IOPT_UNMAP_TYPE1_V1 an area whose first IOVA lies in the range is
 * removed whole, and if the lowest area the range touches starts before the
 * range the call succeeds having unmapped nothing at all (type1 v1 stops its
 * walk there).  Nothing mapped in the range: 0 with *unmapped = 0.
 * -EINVAL for length 0, -EOVERFLOW if the range wraps.
 * *unmapped (may be NULL) receives the bytes unmapped.
 */
enum iopt_unmap_mode { IOPT_UNMAP_STRICT, IOPT_UNMAP_TYPE1_V1 };
int iopt_unmap(struct io_pagetable *iopt, uint64_t iova, uint64_t length,
	       enum iopt_unmap_mode mode, uint64_t *unmapped);
int iopt_unmap_all(struct io_pagetable *iopt, uint64_t *unmapped);

/* Reserved ranges (MSI windows, holes outside apertures): -EADDRINUSE if mapped. */
int iopt_reserve(struct io_pagetable *iopt, uint64_t start, uint64_t last);
void iopt_unreserve_all(struct io_pagetable *iopt);

/* Pin users: see the header comment. */
int iopt_add_pin_user(struct io_pagetable *iopt);
void iopt_del_pin_user(struct io_pagetable *iopt);

/* Number of areas; the area at iova (containing it), or NULL.  Caller holds
 * the lock (read) for the lifetime of the returned pointer. */
size_t iopt_area_count(struct io_pagetable *iopt);
struct iopt_area *iopt_area_find(struct io_pagetable *iopt, uint64_t iova);
/* Areas overlapping [start, last] in IOVA order (caller holds the lock). */
struct iopt_area *iopt_area_first(struct io_pagetable *iopt, uint64_t start, uint64_t last);
struct iopt_area *iopt_area_next(struct iopt_area *a, uint64_t start, uint64_t last);

/* Result of a translation: the bytes at iova live at obj[off], contiguous
 * for 'len' bytes (at most what was asked). */
struct iopt_xlate {
	struct uvf_memobj *obj;		/* not referenced: valid under the read lock */
	uint64_t off;
	uint64_t len;
};

/*
 * Translate one contiguous piece starting at iova, needing 'prot'.
 * -EFAULT if iova is not mapped, the mapping lacks 'prot', or a write meets
 * a read-only memory object; -EINVAL for len 0.  O(log n) in the number of
 * areas plus O(segments of the area).  Caller holds the read lock while
 * using the result.
 */
int iopt_translate(struct io_pagetable *iopt, uint64_t iova, uint64_t len, int prot,
		   struct iopt_xlate *out);

/*
 * Copy between host memory and IOVA space (takes the read lock).  A write
 * marks the pages dirty when tracking.  On -EFAULT, *fault_iova (may be
 * NULL) receives the first IOVA that could not be reached (the start of the
 * piece when the memory object itself failed; 'iova' when the range would
 * run past the top of IOVA space).  Bytes before the fault were copied.
 */
int iopt_rw(struct io_pagetable *iopt, uint64_t iova, void *buf, size_t len,
	    bool write, uint64_t *fault_iova);

/* Mark [iova, iova+len) dirty (a device wrote it through a direct pointer). */
void iopt_mark_dirty(struct io_pagetable *iopt, uint64_t iova, uint64_t len);

/*
 * Dirty tracking at page size 1 << pgshift.  Enabling allocates a clear
 * bitmap per area; disabling frees them.  iopt_read_dirty() ORs the dirty
 * bits of [iova, iova+length) into 'bitmap' (bit i = page iova + i*pgsize)
 * and clears them unless 'no_clear'.  -EINVAL if tracking is off, length
 * is 0 or the range is unaligned to the dirty page size; -EOVERFLOW if it
 * wraps.  Enabling while enabled keeps the bits (0) if pgshift is the same,
 * else -EINVAL; areas mapped while tracking start clean.
 */
int iopt_set_dirty_tracking(struct io_pagetable *iopt, bool enable, unsigned int pgshift);
int iopt_read_dirty(struct io_pagetable *iopt, uint64_t iova, uint64_t length,
		    unsigned long *bitmap, bool no_clear);

#endif
