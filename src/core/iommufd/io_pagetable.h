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
 * Two kinds of area.  iopt_map() areas (the type1 container) carry their
 * own resolved segments and are charged whole.  iopt_map_pages() areas
 * (iommufd) map a slice of a shared struct iopt_pages (pages.h): the memory
 * is resolved and pinned lazily there, per page, shared by every area and
 * access pin that uses it; an area "fills" (pins its slice) while the
 * table has pin users.  iommufd tables also have an allowed-IOVA list,
 * reserved ranges with owners (domains, devices), an alignment that
 * follows their domains and accesses, access pins on ranges (with an
 * unmap notification that asks their owners to let go first), COPY
 * (sharing pages between tables) and area splitting for type1 v1 compat.
 *
 * Locking: iopt->lock (rwlock).  Readers: translation and DMA, access pins
 * and CPU access; writers: map, unmap, pin-user changes, dirty-tracking
 * changes, reservations, alignment.  Dirty bits are set atomically under
 * the read lock.  The table calls nothing outside itself with its lock
 * held except memobj_put(), account ops and pages ops (pages->lock nests
 * inside iopt->lock); notify_unmap runs with no lock held.
 */
#ifndef UVF_IOMMUFD_IO_PAGETABLE_H
#define UVF_IOMMUFD_IO_PAGETABLE_H

#include <stdint.h>
#include <stdbool.h>
#include "../base/itree.h"
#include "../base/lock.h"
#include "../mm/mm.h"
#include "pages.h"

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
	/*
	 * iommufd areas (iopt_map_pages): a slice of a shared pages object;
	 * segs is NULL and account unused, the pins are counted in pages.
	 */
	struct iopt_pages *pages;	/* referenced */
	uint64_t pages_off;		/* byte of pages at the area's first IOVA */
	struct itree_node fill;		/* in pages->users while filled */
	bool filled;			/* the slice is pinned for the table's domains */
	unsigned int num_accesses;	/* access pins inside the area (atomic) */
	bool prevent_access;		/* being unmapped: no new access pins */
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
	/* iommufd: allocation happens inside these ranges only (if any) */
	struct itree_root allowed_itree;
	bool disable_large_pages;		/* HUGE_PAGES=0, type1 v1 compat */
	/*
	 * iommufd: called with no lock held before [iova, iova+length) is
	 * unmapped while access pins are inside it; must drop them.
	 */
	void (*notify_unmap)(struct io_pagetable *iopt, uint64_t iova, uint64_t length);
};

/* An inclusive IOVA range. */
struct iopt_range {
	uint64_t start, last;
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
 *
 * IOPT_UNMAP_IOMMUFD is iommufd's walk (iopt_unmap_iova_range): areas go in
 * IOVA order; one that the range only partly covers stops the walk with
 * -ENOENT (those before it are gone); an area with access pins is first
 * marked prevent_access and notify_unmap asked to drop them, then retried
 * (-EDEADLK after 100 tries).  iopt_unmap_all notifies the same way.
 */
enum iopt_unmap_mode { IOPT_UNMAP_STRICT, IOPT_UNMAP_TYPE1_V1, IOPT_UNMAP_IOMMUFD };
int iopt_unmap(struct io_pagetable *iopt, uint64_t iova, uint64_t length,
	       enum iopt_unmap_mode mode, uint64_t *unmapped);
int iopt_unmap_all(struct io_pagetable *iopt, uint64_t *unmapped);

/* Reserved ranges (MSI windows, holes outside apertures): -EADDRINUSE if
 * mapped or allowed. */
int iopt_reserve(struct io_pagetable *iopt, uint64_t start, uint64_t last);
void iopt_unreserve_all(struct io_pagetable *iopt);
/* ... with an owner (a domain's aperture, a device's regions), removed
 * together by iopt_unreserve_owner (NULL owner: iopt_reserve's). */
int iopt_reserve_owner(struct io_pagetable *iopt, uint64_t start, uint64_t last,
		       const void *owner);
void iopt_unreserve_owner(struct io_pagetable *iopt, const void *owner);
/* Replace the allowed list (disjoint, start < last): -EADDRINUSE if one
 * meets a reserved range, and then nothing changes. */
int iopt_set_allow_iova(struct io_pagetable *iopt, const struct iopt_range *ranges, size_t n);
/* The usable IOVA ranges, the holes between reserved ranges, in order: fills
 * up to max of them and returns how many there are. */
size_t iopt_iova_ranges(struct io_pagetable *iopt, struct iopt_range *out, size_t max);
/* Change the alignment; raising it fails with -EADDRINUSE if an area's
 * IOVA, length or page offset is not aligned to it. */
int iopt_set_alignment(struct io_pagetable *iopt, uint64_t align);

/* ---- iommufd areas over shared pages ------------------------------------- */

struct iopt_pages_slice {
	struct iopt_pages *pages;	/* referenced by the holder */
	uint64_t start;			/* first byte of pages */
	uint64_t length;
};

/*
 * Map the slices back to back at *iova (allocated unless IOPT_MAP_FIXED),
 * one area each; takes its own pages references.  Errors, in the order
 * checked: -EINVAL (flags, total length 0 or unaligned, allocation
 * alignment below the table's), placement errors as iopt_map, -EPERM
 * (writable prot on read-only pages), -EINVAL (a slice's page offset not
 * aligned to the table), then pinning errors when the table pins (-EFAULT,
 * -ENOMEM).  Nothing is mapped on failure.
 */
int iopt_map_pages(struct io_pagetable *iopt, uint64_t *iova,
		   const struct iopt_pages_slice *slices, size_t n, int prot,
		   unsigned int flags);
/* The slices [iova, iova+length) maps, for IOAS_COPY: -ENOENT unless
 * iommufd areas cover it without a hole; the caller puts them. */
int iopt_get_pages(struct io_pagetable *iopt, uint64_t iova, uint64_t length,
		   struct iopt_pages_slice **out, size_t *n);
void iopt_put_pages_slices(struct iopt_pages_slice *slices, size_t n);

/*
 * Access pins (the kernel's iommufd_access_pin_pages): pin [iova, iova +
 * length), which must be covered by iommufd areas without a hole (-ENOENT),
 * page aligned in their pages (-EINVAL), not being unmapped (-EINVAL) and
 * allow prot (-EPERM); pinning errors pass through.  All or nothing.
 * Unpin takes the same range.
 */
int iopt_access_pin(struct io_pagetable *iopt, uint64_t iova, uint64_t length, int prot);
void iopt_access_unpin(struct io_pagetable *iopt, uint64_t iova, uint64_t length);
/* CPU access through the areas' memory (iommufd_access_rw): -ENOENT for a
 * hole, -EPERM for prot, -EINVAL while being unmapped, -EFAULT. */
int iopt_access_rw(struct io_pagetable *iopt, uint64_t iova, void *buf, uint64_t length,
		   bool write);

/*
 * The memory behind iova while its page is pinned (for identity checks:
 * the kernel compares struct pages).  No reference is taken: compare, do
 * not use.  -ENOENT unmapped, -EFAULT not pinned.
 */
int iopt_pinned_ident(struct io_pagetable *iopt, uint64_t iova, struct uvf_memobj **obj,
		      uint64_t *off, uint64_t *contig);

/*
 * Split the areas holding each iova so that iova is the last byte of one
 * (iopt_cut_iova, the type1 v1 compat of iommufd): -EINVAL when the cut is
 * not aligned, the area has access pins, or its domains may use large
 * pages; -EBUSY while it is being unmapped.
 */
int iopt_cut_iova(struct io_pagetable *iopt, const uint64_t *iovas, size_t n);

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
/* Forget every dirty bit (a clean snapshot when tracking is turned on). */
void iopt_clear_dirty(struct io_pagetable *iopt);

#endif
