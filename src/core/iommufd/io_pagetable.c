// SPDX-License-Identifier: MIT
/*
 * The io page table (see io_pagetable.h): areas in an interval tree keyed by
 * IOVA, reserved ranges in a second tree, lazy pin accounting and per-area
 * dirty bitmaps.
 *
 * Lock order: iopt->lock (rwlock) -> pages->lock (iommufd areas) ->
 * account->lock (leaf, inside account_charge/uncharge).  memobj_put() may
 * run a memory object's release with iopt->lock held; releases take no
 * uvfio locks.  notify_unmap is called with no lock held.
 *
 * Dirty bitmaps are indexed by absolute page number (iova >> pgshift) less
 * the area's first page number, so areas need not be aligned to the dirty
 * page size.  Bits are set atomically under the read lock (DMA) and cleared
 * atomically, bit by bit, by the reader that reported them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "io_pagetable.h"
#include "fail_nth.h"
#include "../base/bitmap.h"
#include "../base/compiler.h"

/* Allocated IOVAs stay inside [PAGE_SIZE, U64_MAX - PAGE_SIZE], as
 * iommufd's: IOVA 0 is never handed out. */
#define IOPT_ALLOC_FIRST	UVF_PAGE_SIZE
#define IOPT_ALLOC_LAST		(UINT64_MAX - UVF_PAGE_SIZE)
/* Allocated IOVAs are aligned at most to a huge page (iommufd's THP cap). */
#define IOPT_ALLOC_MAX_ALIGN	(2ULL << 20)

/* An iommufd unmap gives up on access pins that are never dropped. */
#define IOPT_UNMAP_NOTIFY_TRIES	100

struct iopt_reserved {
	struct itree_node node;
	const void *owner;
};

struct iopt_allowed {
	struct itree_node node;
};

static struct iopt_area *area_of(struct itree_node *n)
{
	return n ? container_of(n, struct iopt_area, node) : NULL;
}

void iopt_init(struct io_pagetable *iopt, uint64_t iova_alignment)
{
	memset(iopt, 0, sizeof(*iopt));
	uvf_rwlock_init(&iopt->lock);
	iopt->iova_alignment = iova_alignment ? iova_alignment : 1;
}

/* ---- pin accounting ------------------------------------------------------ */

/* Pages spanned by the user range the area maps (length / PAGE_SIZE for a
 * page-aligned mapping). */
static uint64_t area_npages(const struct iopt_area *a)
{
	uint64_t len = iopt_area_length(a);
	uint64_t head = a->uaddr & (UVF_PAGE_SIZE - 1);
	uint64_t tail = len & (UVF_PAGE_SIZE - 1);

	return (len >> UVF_PAGE_SHIFT) +
	       (head + tail + UVF_PAGE_SIZE - 1) / UVF_PAGE_SIZE;
}

/* The page-index range of an iommufd area's slice. */
static void area_fill_range(struct iopt_area *a)
{
	a->fill.start = iopt_pages_index(a->pages, a->pages_off);
	a->fill.last = iopt_pages_index(a->pages, a->pages_off + iopt_area_length(a) - 1);
}

/* An iommufd area pins its slice for the table's domains. */
static int area_fill(struct iopt_area *a)
{
	int rc;

	if (a->filled)
		return 0;
	area_fill_range(a);
	rc = iopt_pages_pin(a->pages, &a->fill);
	if (!rc)
		a->filled = true;
	return rc;
}

static void area_unfill(struct iopt_area *a)
{
	if (!a->filled)
		return;
	iopt_pages_unpin(a->pages, &a->fill);
	a->filled = false;
}

static int area_charge(struct iopt_area *a)
{
	uint64_t n = area_npages(a);
	int rc;

	if (a->pages)
		return area_fill(a);
	if (!a->account || a->pinned_pages)
		return 0;
	rc = account_charge(a->account, n, a->ipc_lock);
	if (rc)
		return rc;
	a->pinned_pages = n;
	return 0;
}

static void area_uncharge(struct iopt_area *a)
{
	if (a->pages) {
		area_unfill(a);
		return;
	}
	if (a->account && a->pinned_pages)
		account_uncharge(a->account, a->pinned_pages);
	a->pinned_pages = 0;
}

static void uncharge_until(struct io_pagetable *iopt, struct iopt_area *stop)
{
	struct iopt_area *a;

	for (a = area_of(itree_first(&iopt->area_itree)); a != stop;
	     a = area_of(itree_next(&a->node)))
		area_uncharge(a);
}

/* Charge every area, or none: the first refusal undoes the charges made. */
static int charge_all(struct io_pagetable *iopt)
{
	struct iopt_area *a;
	int rc;

	for (a = area_of(itree_first(&iopt->area_itree)); a;
	     a = area_of(itree_next(&a->node))) {
		rc = area_charge(a);
		if (rc) {
			uncharge_until(iopt, a);
			return rc;
		}
	}
	return 0;
}

int iopt_add_pin_user(struct io_pagetable *iopt)
{
	int rc = 0;

	uvf_write_lock(&iopt->lock);
	if (!iopt->pin_users)
		rc = charge_all(iopt);
	if (!rc)
		iopt->pin_users++;
	uvf_rw_unlock(&iopt->lock);
	return rc;
}

void iopt_del_pin_user(struct io_pagetable *iopt)
{
	uvf_write_lock(&iopt->lock);
	if (iopt->pin_users && !--iopt->pin_users)
		uncharge_until(iopt, NULL);
	uvf_rw_unlock(&iopt->lock);
}

/* ---- dirty bitmaps ------------------------------------------------------- */

static uint64_t area_dirty_first_page(const struct iopt_area *a, unsigned int pgshift)
{
	return iopt_area_iova(a) >> pgshift;
}

static uint64_t area_dirty_nbits(const struct iopt_area *a, unsigned int pgshift)
{
	return (iopt_area_last(a) >> pgshift) - area_dirty_first_page(a, pgshift) + 1;
}

static int area_alloc_dirty(struct iopt_area *a, unsigned int pgshift)
{
	a->dirty = bitmap_zalloc(area_dirty_nbits(a, pgshift));
	return a->dirty ? 0 : -ENOMEM;
}

/* Mark the pages of [first, last] that lie in area a. */
static void area_mark_dirty(const struct io_pagetable *iopt, struct iopt_area *a,
			    uint64_t first, uint64_t last)
{
	unsigned int sh = iopt->dirty_pgshift;
	uint64_t base = area_dirty_first_page(a, sh);
	uint64_t pg, end;

	if (!a->dirty)
		return;
	pg = uvf_max(first, iopt_area_iova(a)) >> sh;
	end = uvf_min(last, iopt_area_last(a)) >> sh;
	for (; pg <= end; pg++)
		set_bit_atomic(pg - base, a->dirty);
}

static void free_all_dirty(struct io_pagetable *iopt)
{
	struct iopt_area *a;

	for (a = area_of(itree_first(&iopt->area_itree)); a;
	     a = area_of(itree_next(&a->node))) {
		bitmap_free(a->dirty);
		a->dirty = NULL;
	}
}

static int alloc_all_dirty(struct io_pagetable *iopt, unsigned int pgshift)
{
	struct iopt_area *a;

	for (a = area_of(itree_first(&iopt->area_itree)); a;
	     a = area_of(itree_next(&a->node))) {
		if (area_alloc_dirty(a, pgshift)) {
			free_all_dirty(iopt);
			return -ENOMEM;
		}
	}
	return 0;
}

int iopt_set_dirty_tracking(struct io_pagetable *iopt, bool enable, unsigned int pgshift)
{
	int rc = 0;

	uvf_write_lock(&iopt->lock);
	if (!enable) {
		free_all_dirty(iopt);
		iopt->dirty_tracking = false;
		goto out;
	}
	/* Enabling again keeps the bits, as type1's DIRTY_PAGES START does. */
	if (iopt->dirty_tracking) {
		rc = pgshift == iopt->dirty_pgshift ? 0 : -EINVAL;
		goto out;
	}
	if (pgshift >= 64) {
		rc = -EINVAL;
		goto out;
	}
	rc = alloc_all_dirty(iopt, pgshift);
	if (rc)
		goto out;
	iopt->dirty_tracking = true;
	iopt->dirty_pgshift = pgshift;
out:
	uvf_rw_unlock(&iopt->lock);
	return rc;
}

/* OR the dirty pages of area a inside [iova, last] into bitmap (bit 0 =
 * page iova), clearing what was reported unless no_clear. */
static void area_read_dirty(const struct io_pagetable *iopt, struct iopt_area *a,
			    uint64_t iova, uint64_t last, unsigned long *bitmap,
			    bool no_clear)
{
	unsigned int sh = iopt->dirty_pgshift;
	uint64_t base = area_dirty_first_page(a, sh);
	uint64_t out_base = iova >> sh;
	uint64_t bit = (uvf_max(iova, iopt_area_iova(a)) >> sh) - base;
	uint64_t nbits = (uvf_min(last, iopt_area_last(a)) >> sh) - base + 1;

	for (bit = find_next_bit(a->dirty, nbits, bit); bit < nbits;
	     bit = find_next_bit(a->dirty, nbits, bit + 1)) {
		set_bit(base + bit - out_base, bitmap);
		if (!no_clear)
			__atomic_fetch_and(&a->dirty[bit / BITS_PER_LONG],
					   ~(1UL << (bit % BITS_PER_LONG)),
					   __ATOMIC_RELAXED);
	}
}

int iopt_read_dirty(struct io_pagetable *iopt, uint64_t iova, uint64_t length,
		    unsigned long *bitmap, bool no_clear)
{
	struct iopt_area *a;
	uint64_t last, pgmask;
	int rc = 0;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	uvf_read_lock(&iopt->lock);
	pgmask = (1ULL << iopt->dirty_pgshift) - 1;
	if (!iopt->dirty_tracking || (iova & pgmask) || (length & pgmask)) {
		rc = -EINVAL;
		goto out;
	}
	for (a = iopt_area_first(iopt, iova, last); a; a = iopt_area_next(a, iova, last))
		area_read_dirty(iopt, a, iova, last, bitmap, no_clear);
out:
	uvf_rw_unlock(&iopt->lock);
	return rc;
}

void iopt_clear_dirty(struct io_pagetable *iopt)
{
	struct iopt_area *a;

	uvf_write_lock(&iopt->lock);
	for (a = area_of(itree_first(&iopt->area_itree)); a;
	     a = area_of(itree_next(&a->node)))
		if (a->dirty)
			bitmap_clear(a->dirty, 0, area_dirty_nbits(a, iopt->dirty_pgshift));
	uvf_rw_unlock(&iopt->lock);
}

void iopt_mark_dirty(struct io_pagetable *iopt, uint64_t iova, uint64_t len)
{
	struct iopt_area *a;
	uint64_t last;

	if (!len)
		return;
	if (check_add_overflow(iova, len - 1, &last))
		last = UINT64_MAX;
	uvf_read_lock(&iopt->lock);
	if (iopt->dirty_tracking)
		for (a = iopt_area_first(iopt, iova, last); a;
		     a = iopt_area_next(a, iova, last))
			area_mark_dirty(iopt, a, iova, last);
	uvf_rw_unlock(&iopt->lock);
}

/* ---- areas ----------------------------------------------------------------- */

/* The total length of a segment list, checking each segment. */
static int segs_length(const struct uvf_mem_seg *segs, uint32_t nsegs, uint64_t *length)
{
	uint64_t total = 0, end;
	uint32_t i;

	if (!nsegs)
		return -EINVAL;
	for (i = 0; i < nsegs; i++) {
		const struct uvf_mem_seg *s = &segs[i];

		if (!s->obj || !s->len || check_add_overflow(s->off, s->len, &end) ||
		    end > s->obj->size)
			return -EINVAL;
		if (check_add_overflow(total, s->len, &total))
			return -EOVERFLOW;
	}
	*length = total;
	return 0;
}

static struct iopt_area *area_alloc(struct io_pagetable *iopt, const struct uvf_mem_seg *segs,
				    uint32_t nsegs, int prot, struct uvf_account *account,
				    bool ipc_lock, uint64_t uaddr)
{
	struct iopt_area *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->segs = malloc(nsegs * sizeof(*segs));
	if (!a->segs) {
		free(a);
		return NULL;
	}
	memcpy(a->segs, segs, nsegs * sizeof(*segs));
	a->nsegs = nsegs;
	a->iopt = iopt;
	a->prot = prot;
	a->account = account;
	a->ipc_lock = ipc_lock;
	a->uaddr = uaddr;
	return a;
}

/* Free an area that never entered the table: its segment references and
 * account still belong to the caller. */
static void area_abort(struct iopt_area *a)
{
	area_uncharge(a);
	bitmap_free(a->dirty);
	free(a->segs);
	iopt_pages_put(a->pages);
	free(a);
}

/* Take an area out of the table and drop everything it owns. */
static void area_remove(struct io_pagetable *iopt, struct iopt_area *a)
{
	uint32_t i;

	itree_remove(&iopt->area_itree, &a->node);
	if (a->front_data && iopt->release_front_data)
		iopt->release_front_data(a);
	area_uncharge(a);
	for (i = 0; i < a->nsegs; i++)
		memobj_put(a->segs[i].obj);
	if (a->account)
		account_put(a->account);
	iopt_pages_put(a->pages);
	bitmap_free(a->dirty);
	free(a->segs);
	free(a);
}

/* ---- IOVA placement -------------------------------------------------------- */

static uint64_t roundup_pow_of_two(uint64_t x)
{
	return x <= 1 ? 1 : 1ULL << (64 - __builtin_clzll(x - 1));
}

/*
 * Alignment of an allocated IOVA: the mapping's size rounded up to a power
 * of two, lowered to the natural alignment of the user address (so a huge
 * page in the user range can be a huge page in IOVA space), capped at a huge
 * page, and never below the table's alignment.
 */
static uint64_t alloc_alignment(uint64_t length, uint64_t uaddr)
{
	uint64_t align = roundup_pow_of_two(uvf_min(length, IOPT_ALLOC_MAX_ALIGN));

	if (uaddr && (uaddr & -uaddr) < align)
		align = uaddr & -uaddr;
	return align;
}

/* The lowest x >= pos with x % step == phase (phase < step, step a power
 * of two); false if there is none below 2^64. */
static bool align_phase(uint64_t pos, uint64_t step, uint64_t phase, uint64_t *x)
{
	uint64_t up;

	if (pos < phase)
		pos = phase;
	if (check_add_overflow(pos - phase, step - 1, &up))
		return false;
	return !check_add_overflow(ALIGN_DOWN(up, step), phase, x);
}

/* An area or reserved range overlapping [first, last]: of the first of
 * each, the one that ends later, so the search skips as far as it can. */
static struct itree_node *first_blocker(const struct io_pagetable *iopt, uint64_t first,
					uint64_t last)
{
	struct itree_node *a = itree_iter_first(&iopt->area_itree, first, last);
	struct itree_node *r = itree_iter_first(&iopt->reserved_itree, first, last);

	if (!a || (r && r->last > a->last))
		return r;
	return a;
}

/* The lowest free x in [first, last] with x % step == phase. */
static bool alloc_in_span(const struct io_pagetable *iopt, uint64_t first, uint64_t last,
			  uint64_t length, uint64_t step, uint64_t phase, uint64_t *iova)
{
	struct itree_node *blocker;
	uint64_t pos = first, x;

	for (;;) {
		if (!align_phase(pos, step, phase, &x) || x > last || last - x < length - 1)
			return false;
		blocker = first_blocker(iopt, x, x + length - 1);
		if (!blocker) {
			*iova = x;
			return true;
		}
		if (blocker->last >= last)
			return false;
		pos = blocker->last + 1;
	}
}

/*
 * Lowest free IOVA for 'length' bytes, inside the allowed ranges if there
 * are any.  Like iommufd, keep the user address's offset within its page
 * when the alignment is below a page, so the device sees the same layout
 * the user mapped, and refuse (-EINVAL) when the natural alignment is
 * below the table's.  Each step moves past at least one blocking node.
 */
static int iopt_alloc_iova(const struct io_pagetable *iopt, uint64_t length,
			   uint64_t uaddr, uint64_t *iova)
{
	uint64_t align = alloc_alignment(length, uaddr);
	uint64_t phase = uaddr & (UVF_PAGE_SIZE - 1);
	uint64_t step = UVF_PAGE_SIZE;
	struct itree_node *n;

	if (align < iopt->iova_alignment)
		return -EINVAL;
	if (!phase || align >= UVF_PAGE_SIZE || !IS_ALIGNED(phase, align)) {
		phase = 0;
		step = align;
	}
	if (!iopt->allowed_itree.root)
		return alloc_in_span(iopt, IOPT_ALLOC_FIRST, IOPT_ALLOC_LAST, length, step,
				     phase, iova) ? 0 : -ENOSPC;
	for (n = itree_first(&iopt->allowed_itree); n; n = itree_next(n)) {
		uint64_t first = uvf_max(n->start, IOPT_ALLOC_FIRST);
		uint64_t last = uvf_min(n->last, IOPT_ALLOC_LAST);

		if (first <= last &&
		    alloc_in_span(iopt, first, last, length, step, phase, iova))
			return 0;
	}
	return -ENOSPC;
}

/* A caller-chosen IOVA: aligned, not wrapping, free and not reserved. */
static int iopt_check_iova(const struct io_pagetable *iopt, uint64_t iova, uint64_t length)
{
	uint64_t last;

	if (!IS_ALIGNED(iova, iopt->iova_alignment))
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	if (itree_iter_first(&iopt->area_itree, iova, last))
		return -EEXIST;
	if (itree_iter_first(&iopt->reserved_itree, iova, last))
		return -EADDRINUSE;
	return 0;
}

static int iopt_place(const struct io_pagetable *iopt, uint64_t *iova, uint64_t length,
		      uint64_t uaddr, unsigned int flags)
{
	if (!IS_ALIGNED(length, iopt->iova_alignment))
		return -EINVAL;
	if (flags & IOPT_MAP_FIXED)
		return iopt_check_iova(iopt, *iova, length);
	return iopt_alloc_iova(iopt, length, uaddr, iova);
}

int iopt_map(struct io_pagetable *iopt, uint64_t *iova, struct uvf_mem_seg *segs,
	     uint32_t nsegs, int prot, unsigned int flags, struct uvf_account *account,
	     bool ipc_lock, uint64_t uaddr, struct iopt_area **out)
{
	struct iopt_area *a;
	uint64_t length, where = *iova;
	int rc;

	if ((prot & ~(IOPT_READ | IOPT_WRITE)) || (flags & ~IOPT_MAP_FIXED))
		return -EINVAL;
	rc = segs_length(segs, nsegs, &length);
	if (rc)
		return rc;
	a = area_alloc(iopt, segs, nsegs, prot, account, ipc_lock, uaddr);
	if (!a)
		return -ENOMEM;

	uvf_write_lock(&iopt->lock);
	rc = iopt_place(iopt, &where, length, uaddr, flags);
	if (rc)
		goto fail;
	a->node.start = where;
	a->node.last = where + length - 1;
	if (iopt->dirty_tracking) {
		rc = area_alloc_dirty(a, iopt->dirty_pgshift);
		if (rc)
			goto fail;
	}
	if (iopt->pin_users) {
		rc = area_charge(a);
		if (rc)
			goto fail;
	}
	/* Commit: the area takes over the segment references. */
	if (account)
		account_get(account);
	itree_insert(&iopt->area_itree, &a->node);
	uvf_rw_unlock(&iopt->lock);
	*iova = where;
	if (out)
		*out = a;
	return 0;
fail:
	uvf_rw_unlock(&iopt->lock);
	area_abort(a);
	return rc;
}

/* ---- unmap ---------------------------------------------------------------- */

/* Range [first, last] must not bisect an area. */
static bool range_bisects(struct io_pagetable *iopt, uint64_t first, uint64_t last)
{
	struct iopt_area *a = iopt_area_find(iopt, first);

	if (a && iopt_area_iova(a) < first)
		return true;
	a = iopt_area_find(iopt, last);
	return a && iopt_area_last(a) > last;
}

static uint64_t remove_overlapping(struct io_pagetable *iopt, uint64_t first, uint64_t last)
{
	struct iopt_area *a;
	uint64_t bytes = 0;

	while ((a = iopt_area_first(iopt, first, last))) {
		bytes += iopt_area_length(a);
		area_remove(iopt, a);
	}
	return bytes;
}

/*
 * iommufd's unmap walk (see the header): areas go one by one in IOVA
 * order, and access pins in one are dropped through notify_unmap with no
 * lock held before it goes.
 */
static int unmap_notify_walk(struct io_pagetable *iopt, uint64_t start, uint64_t last,
			     uint64_t *unmapped)
{
	unsigned int tries = 0;
	struct iopt_area *a;
	uint64_t a_first, a_last;
	int rc = 0;

again:
	uvf_write_lock(&iopt->lock);
	while ((a = iopt_area_first(iopt, start, last))) {
		a_first = iopt_area_iova(a);
		a_last = iopt_area_last(a);
		if (a_first < start || a_last > last) {
			rc = -ENOENT;
			break;
		}
		if (a_first != start)
			tries = 0;
		if (__atomic_load_n(&a->num_accesses, __ATOMIC_ACQUIRE) && iopt->notify_unmap) {
			start = a_first;
			a->prevent_access = true;
			uvf_rw_unlock(&iopt->lock);
			iopt->notify_unmap(iopt, a_first, a_last - a_first + 1);
			if (++tries > IOPT_UNMAP_NOTIFY_TRIES)
				return -EDEADLK;
			goto again;
		}
		*unmapped += a_last - a_first + 1;
		area_remove(iopt, a);
		if (a_last >= last)
			break;
		start = a_last + 1;
	}
	uvf_rw_unlock(&iopt->lock);
	return rc;
}

int iopt_unmap(struct io_pagetable *iopt, uint64_t iova, uint64_t length,
	       enum iopt_unmap_mode mode, uint64_t *unmapped)
{
	struct iopt_area *first;
	uint64_t last, bytes = 0;
	int rc = 0;

	if (unmapped)
		*unmapped = 0;
	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;

	if (mode == IOPT_UNMAP_IOMMUFD) {
		rc = unmap_notify_walk(iopt, iova, last, &bytes);
		if (unmapped)
			*unmapped = bytes;
		return rc;
	}
	uvf_write_lock(&iopt->lock);
	if (mode == IOPT_UNMAP_STRICT) {
		if (range_bisects(iopt, iova, last))
			rc = -EINVAL;
		else
			bytes = remove_overlapping(iopt, iova, last);
	} else {
		/*
		 * type1 v1 walks the mappings from the lowest one the range
		 * touches and stops at once if that one begins before the
		 * range: success, nothing unmapped.  Otherwise every mapping
		 * whose first IOVA is in the range goes, whole.
		 */
		first = iopt_area_first(iopt, iova, last);
		if (!first || iopt_area_iova(first) >= iova)
			bytes = remove_overlapping(iopt, iova, last);
	}
	uvf_rw_unlock(&iopt->lock);
	if (unmapped)
		*unmapped = bytes;
	return rc;
}

int iopt_unmap_all(struct io_pagetable *iopt, uint64_t *unmapped)
{
	uint64_t bytes = 0;
	int rc;

	/* Nothing can be cut by the whole space: only access pins wait. */
	rc = unmap_notify_walk(iopt, 0, UINT64_MAX, &bytes);
	if (unmapped)
		*unmapped = bytes;
	return rc;
}

/* ---- reserved ranges ------------------------------------------------------ */

int iopt_reserve_owner(struct io_pagetable *iopt, uint64_t start, uint64_t last,
		       const void *owner)
{
	struct iopt_reserved *r;
	int rc = 0;

	if (start > last)
		return -EINVAL;
	r = iommufd_should_fail() ? NULL : calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->node.start = start;
	r->node.last = last;
	r->owner = owner;
	uvf_write_lock(&iopt->lock);
	if (itree_iter_first(&iopt->area_itree, start, last) ||
	    itree_iter_first(&iopt->allowed_itree, start, last))
		rc = -EADDRINUSE;
	else
		itree_insert(&iopt->reserved_itree, &r->node);
	uvf_rw_unlock(&iopt->lock);
	if (rc)
		free(r);
	return rc;
}

int iopt_reserve(struct io_pagetable *iopt, uint64_t start, uint64_t last)
{
	return iopt_reserve_owner(iopt, start, last, NULL);
}

/* Remove the reserved ranges of 'owner', or every one when 'all'. */
static void unreserve_locked(struct io_pagetable *iopt, const void *owner, bool all)
{
	struct itree_node *n, *next;

	for (n = itree_first(&iopt->reserved_itree); n; n = next) {
		struct iopt_reserved *r = container_of(n, struct iopt_reserved, node);

		next = itree_next(n);
		if (!all && r->owner != owner)
			continue;
		itree_remove(&iopt->reserved_itree, n);
		free(r);
	}
}

void iopt_unreserve_owner(struct io_pagetable *iopt, const void *owner)
{
	uvf_write_lock(&iopt->lock);
	unreserve_locked(iopt, owner, false);
	uvf_rw_unlock(&iopt->lock);
}

void iopt_unreserve_all(struct io_pagetable *iopt)
{
	uvf_write_lock(&iopt->lock);
	unreserve_locked(iopt, NULL, true);
	uvf_rw_unlock(&iopt->lock);
}

static void free_allowed_tree(struct itree_root *root)
{
	struct itree_node *n;

	while ((n = root->root)) {
		itree_remove(root, n);
		free(container_of(n, struct iopt_allowed, node));
	}
}

/* A tree of the given ranges: -EINVAL for an empty or overlapping one. */
static int build_allowed_tree(const struct iopt_range *ranges, size_t n, struct itree_root *out)
{
	struct iopt_allowed *a;

	for (size_t i = 0; i < n; i++) {
		if (ranges[i].start >= ranges[i].last ||
		    itree_iter_first(out, ranges[i].start, ranges[i].last))
			return -EINVAL;
		a = iommufd_should_fail() ? NULL : calloc(1, sizeof(*a));
		if (!a)
			return -ENOMEM;
		a->node.start = ranges[i].start;
		a->node.last = ranges[i].last;
		itree_insert(out, &a->node);
	}
	return 0;
}

int iopt_set_allow_iova(struct io_pagetable *iopt, const struct iopt_range *ranges, size_t n)
{
	struct itree_root fresh = ITREE_ROOT_INIT, old;
	struct itree_node *a;
	int rc;

	rc = build_allowed_tree(ranges, n, &fresh);
	if (rc)
		goto out;
	uvf_write_lock(&iopt->lock);
	for (a = itree_first(&fresh); a; a = itree_next(a)) {
		if (itree_iter_first(&iopt->reserved_itree, a->start, a->last)) {
			rc = -EADDRINUSE;
			break;
		}
	}
	if (!rc) {
		old = iopt->allowed_itree;
		iopt->allowed_itree = fresh;
		fresh = old;
	}
	uvf_rw_unlock(&iopt->lock);
out:
	free_allowed_tree(&fresh);
	return rc;
}

/* The holes between reserved ranges (which may overlap each other). */
size_t iopt_iova_ranges(struct io_pagetable *iopt, struct iopt_range *out, size_t max)
{
	uint64_t cursor = 0;
	bool done = false;
	size_t count = 0;
	struct itree_node *n;

	uvf_read_lock(&iopt->lock);
	for (n = itree_first(&iopt->reserved_itree); n && !done; n = itree_next(n)) {
		if (n->start > cursor) {
			if (count < max)
				out[count] = (struct iopt_range){ cursor, n->start - 1 };
			count++;
		}
		if (n->last == UINT64_MAX)
			done = true;
		else if (n->last >= cursor)
			cursor = n->last + 1;
	}
	if (!done) {
		if (count < max)
			out[count] = (struct iopt_range){ cursor, UINT64_MAX };
		count++;
	}
	uvf_rw_unlock(&iopt->lock);
	return count;
}

/* The offset of an area's first byte within its page (the kernel's
 * area->page_offset): the user's layout the device sees. */
static uint64_t area_page_offset(const struct iopt_area *a)
{
	uint64_t uaddr = a->pages ? a->pages->uaddr + a->pages_off : a->uaddr;

	return uaddr & (UVF_PAGE_SIZE - 1);
}

int iopt_set_alignment(struct io_pagetable *iopt, uint64_t align)
{
	uint64_t mask = align - 1;
	struct iopt_area *a;
	int rc = 0;

	if (!align || (align & mask))
		return -EINVAL;
	uvf_write_lock(&iopt->lock);
	if (align > iopt->iova_alignment) {
		for (a = area_of(itree_first(&iopt->area_itree)); a;
		     a = area_of(itree_next(&a->node))) {
			if ((iopt_area_iova(a) & mask) || (iopt_area_length(a) & mask) ||
			    (area_page_offset(a) & mask)) {
				rc = -EADDRINUSE;
				break;
			}
		}
	}
	if (!rc)
		iopt->iova_alignment = align;
	uvf_rw_unlock(&iopt->lock);
	return rc;
}

void iopt_destroy(struct io_pagetable *iopt)
{
	uvf_write_lock(&iopt->lock);
	remove_overlapping(iopt, 0, UINT64_MAX);
	unreserve_locked(iopt, NULL, true);
	free_allowed_tree(&iopt->allowed_itree);
	iopt->pin_users = 0;
	iopt->dirty_tracking = false;
	uvf_rw_unlock(&iopt->lock);
	uvf_rwlock_destroy(&iopt->lock);
}

/* ---- lookup and translation ----------------------------------------------- */

size_t iopt_area_count(struct io_pagetable *iopt)
{
	return iopt->area_itree.count;
}

struct iopt_area *iopt_area_find(struct io_pagetable *iopt, uint64_t iova)
{
	/* Areas never overlap: a plain descent, the translation hot path. */
	return area_of(itree_find_disjoint(&iopt->area_itree, iova));
}

struct iopt_area *iopt_area_first(struct io_pagetable *iopt, uint64_t start, uint64_t last)
{
	return area_of(itree_iter_first(&iopt->area_itree, start, last));
}

struct iopt_area *iopt_area_next(struct iopt_area *a, uint64_t start, uint64_t last)
{
	return area_of(itree_iter_next(&a->node, start, last));
}

/*
 * An iommufd area translates through its pages, and only while filled: a
 * device reaches memory only through a domain, and a table with a domain
 * keeps every area pinned.
 */
static struct iopt_area *xlate_pages(struct iopt_area *a, uint64_t off, uint64_t len,
				     int prot, struct iopt_xlate *out)
{
	uint64_t contig;

	if (!a->filled || ((prot & IOPT_WRITE) && !a->pages->writable))
		return NULL;
	len = uvf_min(len, iopt_area_length(a) - off);
	if (iopt_pages_xlate(a->pages, a->pages_off + off, len, &out->obj, &out->off, &contig))
		return NULL;
	if ((prot & IOPT_WRITE) && out->obj->readonly)
		return NULL;
	out->len = contig;
	return a;
}

/* Translate inside a known area; returns the area or NULL (fault). */
static struct iopt_area *xlate(struct io_pagetable *iopt, uint64_t iova, uint64_t len,
			       int prot, struct iopt_xlate *out)
{
	struct iopt_area *a = iopt_area_find(iopt, iova);
	const struct uvf_mem_seg *s;
	uint64_t off;

	if (!a || (a->prot & prot) != prot)
		return NULL;
	off = iova - iopt_area_iova(a);
	if (a->pages)
		return xlate_pages(a, off, len, prot, out);
	for (s = a->segs; off >= s->len; s++)
		off -= s->len;
	if ((prot & IOPT_WRITE) && s->obj->readonly)
		return NULL;
	out->obj = s->obj;
	out->off = s->off + off;
	out->len = uvf_min(len, s->len - off);
	return a;
}

int iopt_translate(struct io_pagetable *iopt, uint64_t iova, uint64_t len, int prot,
		   struct iopt_xlate *out)
{
	if (!len)
		return -EINVAL;
	return xlate(iopt, iova, len, prot, out) ? 0 : -EFAULT;
}

int iopt_rw(struct io_pagetable *iopt, uint64_t iova, void *buf, size_t len,
	    bool write, uint64_t *fault_iova)
{
	int prot = write ? IOPT_WRITE : IOPT_READ;
	uint8_t *p = buf;
	struct iopt_xlate x;
	struct iopt_area *a;
	uint64_t last;
	int rc = 0;

	/* A transfer cannot run past the top of IOVA space. */
	if (len && check_add_overflow(iova, (uint64_t)len - 1, &last)) {
		if (fault_iova)
			*fault_iova = iova;
		return -EFAULT;
	}
	uvf_read_lock(&iopt->lock);
	while (len) {
		a = xlate(iopt, iova, len, prot, &x);
		if (!a) {
			rc = -EFAULT;
			break;
		}
		rc = write ? memobj_write(x.obj, x.off, p, x.len)
			   : memobj_read(x.obj, x.off, p, x.len);
		if (rc)
			break;
		if (write && iopt->dirty_tracking)
			area_mark_dirty(iopt, a, iova, iova + x.len - 1);
		p += x.len;
		iova += x.len;
		len -= x.len;
	}
	uvf_rw_unlock(&iopt->lock);
	if (rc && fault_iova)
		*fault_iova = iova;
	return rc ? -EFAULT : 0;
}

/* ---- iommufd areas over shared pages ---------------------------------------- */

/* An area mapping a slice of pages (taking a reference), not yet placed. */
static struct iopt_area *area_alloc_pages(struct io_pagetable *iopt,
					  const struct iopt_pages_slice *slice, int prot)
{
	struct iopt_area *a;

	if (iommufd_should_fail())
		return NULL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->iopt = iopt;
	a->prot = prot;
	a->pages = slice->pages;
	a->pages_off = slice->start;
	a->uaddr = slice->pages->uaddr + slice->start;
	iopt_pages_get(slice->pages);
	return a;
}

static int slices_length(const struct iopt_pages_slice *slices, size_t n, uint64_t *length)
{
	uint64_t total = 0, end;

	for (size_t i = 0; i < n; i++) {
		const struct iopt_pages_slice *sl = &slices[i];

		if (!sl->length || check_add_overflow(sl->start, sl->length, &end) ||
		    end > sl->pages->length)
			return -EINVAL;
		if (check_add_overflow(total, sl->length, &total))
			return -EOVERFLOW;
	}
	if (!n || !total)
		return -EINVAL;
	*length = total;
	return 0;
}

/* Place the new areas back to back from 'where' (iopt_insert_area's
 * checks), pin them if the table pins; lock held.  Inserts nothing on
 * failure. */
static int place_pages_areas(struct io_pagetable *iopt, struct iopt_area **areas,
			     const struct iopt_pages_slice *slices, size_t n, uint64_t where)
{
	uint64_t mask = iopt->iova_alignment - 1, iova = where;
	size_t i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		struct iopt_area *a = areas[i];
		uint64_t len = slices[i].length;

		if ((a->prot & IOPT_WRITE) && !a->pages->writable)
			return -EPERM;
		if (area_page_offset(a) & mask)
			return -EINVAL;
		a->node.start = iova;
		a->node.last = iova + len - 1;
		iova += len;
	}
	for (i = 0; !rc && i < n; i++) {
		if (iopt->dirty_tracking)
			rc = area_alloc_dirty(areas[i], iopt->dirty_pgshift);
		if (!rc && iopt->pin_users)
			rc = area_fill(areas[i]);
	}
	if (rc) {
		while (i--)
			area_unfill(areas[i]);
		return rc;
	}
	for (i = 0; i < n; i++)
		itree_insert(&iopt->area_itree, &areas[i]->node);
	return 0;
}

int iopt_map_pages(struct io_pagetable *iopt, uint64_t *iova,
		   const struct iopt_pages_slice *slices, size_t n, int prot,
		   unsigned int flags)
{
	struct iopt_area **areas;
	uint64_t length, where = *iova;
	size_t i = 0;
	int rc;

	if ((prot & ~(IOPT_READ | IOPT_WRITE)) || (flags & ~IOPT_MAP_FIXED))
		return -EINVAL;
	rc = slices_length(slices, n, &length);
	if (rc)
		return rc;
	areas = calloc(n, sizeof(*areas));
	if (!areas)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		areas[i] = area_alloc_pages(iopt, &slices[i], prot);
		if (!areas[i]) {
			rc = -ENOMEM;
			goto out;
		}
	}
	uvf_write_lock(&iopt->lock);
	rc = iopt_place(iopt, &where, length, slices[0].pages->uaddr + slices[0].start, flags);
	if (!rc)
		rc = place_pages_areas(iopt, areas, slices, n, where);
	uvf_rw_unlock(&iopt->lock);
	if (!rc)
		*iova = where;
out:
	for (size_t j = 0; rc && j < i; j++)
		area_abort(areas[j]);
	free(areas);
	return rc;
}

/* ---- walking contiguous iommufd areas ---------------------------------------- */

/*
 * The kernel's iopt_for_each_contig_area: the iommufd areas covering
 * [iova, last] one after the other.  Calls fn for each with the part of
 * the range inside it; -ENOENT at the first hole (after fn ran for the
 * areas before it).  Caller holds the lock.
 */
typedef int (*contig_fn)(struct iopt_area *a, uint64_t first, uint64_t last, bool is_last,
			 void *arg);

static int for_each_contig_area(struct io_pagetable *iopt, uint64_t iova, uint64_t last,
				contig_fn fn, void *arg, uint64_t *stopped)
{
	uint64_t cur = iova;
	struct iopt_area *a;
	int rc;

	for (;;) {
		a = iopt_area_find(iopt, cur);
		if (!a || !a->pages) {
			*stopped = cur;
			return -ENOENT;
		}
		rc = fn(a, cur, uvf_min(last, iopt_area_last(a)), iopt_area_last(a) >= last, arg);
		if (rc) {
			*stopped = cur;
			return rc;
		}
		if (iopt_area_last(a) >= last)
			return 0;
		cur = iopt_area_last(a) + 1;
	}
}

/* The byte of an area's pages at iova. */
static uint64_t area_pages_byte(const struct iopt_area *a, uint64_t iova)
{
	return a->pages_off + (iova - iopt_area_iova(a));
}

static int range_last(uint64_t iova, uint64_t length, uint64_t *last)
{
	if (!length)
		return -EINVAL;
	return check_add_overflow(iova, length - 1, last) ? -EOVERFLOW : 0;
}

/* ---- COPY ------------------------------------------------------------------- */

struct get_pages_arg {
	struct iopt_pages_slice *slices;
	size_t n, cap;
};

static int get_pages_one(struct iopt_area *a, uint64_t first, uint64_t last, bool is_last,
			 void *arg)
{
	struct get_pages_arg *g = arg;

	if (g->n == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 4;
		void *grown = iommufd_should_fail() ? NULL
						    : realloc(g->slices, cap * sizeof(*g->slices));

		if (!grown)
			return -ENOMEM;
		g->slices = grown;
		g->cap = cap;
	}
	iopt_pages_get(a->pages);
	g->slices[g->n++] = (struct iopt_pages_slice){
		.pages = a->pages,
		.start = area_pages_byte(a, first),
		.length = last - first + 1,
	};
	return 0;
}

int iopt_get_pages(struct io_pagetable *iopt, uint64_t iova, uint64_t length,
		   struct iopt_pages_slice **out, size_t *n)
{
	struct get_pages_arg g = { 0 };
	uint64_t last, stopped;
	int rc = range_last(iova, length, &last);

	if (rc)
		return rc;
	uvf_read_lock(&iopt->lock);
	rc = for_each_contig_area(iopt, iova, last, get_pages_one, &g, &stopped);
	uvf_rw_unlock(&iopt->lock);
	if (rc) {
		iopt_put_pages_slices(g.slices, g.n);
		return rc;
	}
	*out = g.slices;
	*n = g.n;
	return 0;
}

void iopt_put_pages_slices(struct iopt_pages_slice *slices, size_t n)
{
	for (size_t i = 0; i < n; i++)
		iopt_pages_put(slices[i].pages);
	free(slices);
}

/* ---- access pins and CPU access ---------------------------------------------- */

static bool area_allows(const struct iopt_area *a, int prot)
{
	return (a->prot & prot) == prot;
}

/* The page range of an area's pages that [first, last] touches. */
static void area_page_span(const struct iopt_area *a, uint64_t first, uint64_t last,
			   uint64_t *pfirst, uint64_t *plast)
{
	*pfirst = iopt_pages_index(a->pages, area_pages_byte(a, first));
	*plast = iopt_pages_index(a->pages, area_pages_byte(a, last));
}

static int access_pin_one(struct iopt_area *a, uint64_t first, uint64_t last, bool is_last,
			  void *arg)
{
	const int *prot = arg;
	uint64_t b_first = a->pages->uaddr + area_pages_byte(a, first);
	uint64_t b_last = a->pages->uaddr + area_pages_byte(a, last);
	uint64_t pfirst, plast;
	int rc;

	/* Pins are whole pages: each piece must start on a page and, but for
	 * the last, end on one (iopt_area_contig_is_aligned). */
	if (a->prevent_access || (b_first & (UVF_PAGE_SIZE - 1)) ||
	    (!is_last && (b_last & (UVF_PAGE_SIZE - 1)) != UVF_PAGE_SIZE - 1))
		return -EINVAL;
	if (!area_allows(a, *prot))
		return -EPERM;
	area_page_span(a, first, last, &pfirst, &plast);
	rc = iopt_pages_pin_access(a->pages, pfirst, plast);
	if (!rc)
		__atomic_fetch_add(&a->num_accesses, 1, __ATOMIC_RELEASE);
	return rc;
}

static int access_unpin_one(struct iopt_area *a, uint64_t first, uint64_t last, bool is_last,
			    void *arg)
{
	uint64_t pfirst, plast;

	area_page_span(a, first, last, &pfirst, &plast);
	iopt_pages_unpin_access(a->pages, pfirst, plast);
	__atomic_fetch_sub(&a->num_accesses, 1, __ATOMIC_RELEASE);
	return 0;
}

int iopt_access_pin(struct io_pagetable *iopt, uint64_t iova, uint64_t length, int prot)
{
	uint64_t last, stopped;
	int rc = range_last(iova, length, &last);

	if (rc)
		return rc;
	uvf_read_lock(&iopt->lock);
	rc = for_each_contig_area(iopt, iova, last, access_pin_one, &prot, &stopped);
	if (rc && stopped > iova)
		for_each_contig_area(iopt, iova, stopped - 1, access_unpin_one, NULL, &stopped);
	uvf_rw_unlock(&iopt->lock);
	return rc;
}

void iopt_access_unpin(struct io_pagetable *iopt, uint64_t iova, uint64_t length)
{
	uint64_t last, stopped;

	if (range_last(iova, length, &last))
		return;
	uvf_read_lock(&iopt->lock);
	for_each_contig_area(iopt, iova, last, access_unpin_one, NULL, &stopped);
	uvf_rw_unlock(&iopt->lock);
}

struct access_rw_arg {
	uint8_t *buf;
	bool write;
};

static int access_rw_one(struct iopt_area *a, uint64_t first, uint64_t last, bool is_last,
			 void *arg)
{
	struct access_rw_arg *rw = arg;
	uint64_t len = last - first + 1;
	int rc;

	if (a->prevent_access)
		return -EINVAL;
	if (!area_allows(a, rw->write ? IOPT_WRITE : IOPT_READ))
		return -EPERM;
	rc = iopt_pages_rw(a->pages, area_pages_byte(a, first), rw->buf, len, rw->write);
	if (!rc && rw->write && a->dirty)
		area_mark_dirty(a->iopt, a, first, last);
	rw->buf += len;
	return rc;
}

int iopt_access_rw(struct io_pagetable *iopt, uint64_t iova, void *buf, uint64_t length,
		   bool write)
{
	struct access_rw_arg rw = { .buf = buf, .write = write };
	uint64_t last, stopped;
	int rc = range_last(iova, length, &last);

	if (rc)
		return rc;
	uvf_read_lock(&iopt->lock);
	rc = for_each_contig_area(iopt, iova, last, access_rw_one, &rw, &stopped);
	uvf_rw_unlock(&iopt->lock);
	return rc;
}

/* ---- splitting (type1 v1 compat) -------------------------------------------- */

/* Copy the dirty bits of the part of 'from' that 'to' now covers. */
static int area_split_dirty(const struct io_pagetable *iopt, const struct iopt_area *from,
			    struct iopt_area *to)
{
	unsigned int sh = iopt->dirty_pgshift;
	uint64_t fbase = area_dirty_first_page(from, sh), tbase = area_dirty_first_page(to, sh);
	uint64_t n = area_dirty_nbits(to, sh);

	if (!from->dirty)
		return 0;
	if (area_alloc_dirty(to, sh))
		return -ENOMEM;
	for (uint64_t i = 0; i < n; i++)
		if (test_bit(tbase + i - fbase, from->dirty))
			set_bit(i, to->dirty);
	return 0;
}

/* A half of 'a': [first, last] of the same pages, pinned as 'a' was. */
static struct iopt_area *area_half(struct io_pagetable *iopt, struct iopt_area *a,
				   uint64_t first, uint64_t last)
{
	struct iopt_pages_slice sl = {
		.pages = a->pages, .start = area_pages_byte(a, first), .length = last - first + 1,
	};
	struct iopt_area *h = area_alloc_pages(iopt, &sl, a->prot);

	if (!h)
		return NULL;
	h->node.start = first;
	h->node.last = last;
	/* Covered by a's own fill: no page changes hands. */
	if ((a->filled && area_fill(h)) || area_split_dirty(iopt, a, h)) {
		area_abort(h);
		return NULL;
	}
	return h;
}

/* The kernel's iopt_area_split: iova becomes the last byte of the lower half. */
static int area_split(struct io_pagetable *iopt, struct iopt_area *a, uint64_t iova)
{
	uint64_t first = iopt_area_iova(a), last = iopt_area_last(a), mask;
	struct iopt_area *lhs, *rhs;

	if (iova == first || iova == last)
		return 0;
	if (!a->pages || a->prevent_access)
		return -EBUSY;
	mask = iopt->iova_alignment - 1;
	if (((iova + 1) & mask) || ((a->pages->uaddr + area_pages_byte(a, iova + 1)) & mask))
		return -EINVAL;
	/* Access pins and large IOPTEs cannot be cut. */
	if (__atomic_load_n(&a->num_accesses, __ATOMIC_ACQUIRE) ||
	    (a->filled && !iopt->disable_large_pages))
		return -EINVAL;
	lhs = area_half(iopt, a, first, iova);
	rhs = lhs ? area_half(iopt, a, iova + 1, last) : NULL;
	if (!rhs) {
		if (lhs)
			area_abort(lhs);
		return -ENOMEM;
	}
	itree_remove(&iopt->area_itree, &a->node);
	itree_insert(&iopt->area_itree, &lhs->node);
	itree_insert(&iopt->area_itree, &rhs->node);
	area_abort(a);
	return 0;
}

int iopt_cut_iova(struct io_pagetable *iopt, const uint64_t *iovas, size_t n)
{
	struct iopt_area *a;
	int rc = 0;

	uvf_write_lock(&iopt->lock);
	for (size_t i = 0; !rc && i < n; i++) {
		a = iopt_area_find(iopt, iovas[i]);
		if (a)
			rc = area_split(iopt, a, iovas[i]);
	}
	uvf_rw_unlock(&iopt->lock);
	return rc;
}

/* ---- identity -------------------------------------------------------------------- */

int iopt_pinned_ident(struct io_pagetable *iopt, uint64_t iova, struct uvf_memobj **obj,
		      uint64_t *off, uint64_t *contig)
{
	struct iopt_area *a;
	struct iopt_xlate x;
	int rc = -ENOENT;

	uvf_read_lock(&iopt->lock);
	a = iopt_area_find(iopt, iova);
	if (a && a->pages) {
		rc = iopt_pages_xlate(a->pages, area_pages_byte(a, iova),
				      iopt_area_last(a) - iova + 1, obj, off, contig);
	} else if (a) {
		rc = xlate(iopt, iova, 1, 0, &x) ? 0 : -EFAULT;
		*obj = x.obj;
		*off = x.off;
		*contig = x.len;
	}
	uvf_rw_unlock(&iopt->lock);
	return rc;
}
