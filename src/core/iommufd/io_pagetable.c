// SPDX-License-Identifier: MIT
/*
 * The io page table (see io_pagetable.h): areas in an interval tree keyed by
 * IOVA, reserved ranges in a second tree, lazy pin accounting and per-area
 * dirty bitmaps.
 *
 * Lock order: iopt->lock (rwlock) -> account->lock (leaf, inside
 * account_charge/uncharge).  memobj_put() may run a memory object's release
 * with iopt->lock held; releases take no uvfio locks.
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
#include "../base/bitmap.h"
#include "../base/compiler.h"

/* Allocated IOVAs stay inside [PAGE_SIZE, U64_MAX - PAGE_SIZE], as
 * iommufd's: IOVA 0 is never handed out. */
#define IOPT_ALLOC_FIRST	UVF_PAGE_SIZE
#define IOPT_ALLOC_LAST		(UINT64_MAX - UVF_PAGE_SIZE)
/* Allocated IOVAs are aligned at most to a huge page (iommufd's THP cap). */
#define IOPT_ALLOC_MAX_ALIGN	(2ULL << 20)

struct iopt_reserved {
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

static int area_charge(struct iopt_area *a)
{
	uint64_t n = area_npages(a);
	int rc;

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
static uint64_t alloc_alignment(const struct io_pagetable *iopt, uint64_t length,
				uint64_t uaddr)
{
	uint64_t align = roundup_pow_of_two(uvf_min(length, IOPT_ALLOC_MAX_ALIGN));

	if (uaddr && (uaddr & -uaddr) < align)
		align = uaddr & -uaddr;
	return uvf_max(align, iopt->iova_alignment);
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

/*
 * Lowest free IOVA for 'length' bytes.  Like iommufd, keep the user
 * address's offset within its page when the alignment is below a page, so
 * the device sees the same layout the user mapped.  Each step moves past
 * at least one blocking node.
 */
static int iopt_alloc_iova(const struct io_pagetable *iopt, uint64_t length,
			   uint64_t uaddr, uint64_t *iova)
{
	uint64_t align = alloc_alignment(iopt, length, uaddr);
	uint64_t phase = uaddr & (UVF_PAGE_SIZE - 1);
	uint64_t step = UVF_PAGE_SIZE, pos = IOPT_ALLOC_FIRST, x;
	struct itree_node *blocker;

	if (!phase || align >= UVF_PAGE_SIZE || !IS_ALIGNED(phase, align)) {
		phase = 0;
		step = align;
	}
	for (;;) {
		if (!align_phase(pos, step, phase, &x) || x > IOPT_ALLOC_LAST ||
		    IOPT_ALLOC_LAST - x < length - 1)
			return -ENOSPC;
		blocker = first_blocker(iopt, x, x + length - 1);
		if (!blocker) {
			*iova = x;
			return 0;
		}
		if (blocker->last >= IOPT_ALLOC_LAST)
			return -ENOSPC;
		pos = blocker->last + 1;
	}
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
	uint64_t bytes;

	uvf_write_lock(&iopt->lock);
	bytes = remove_overlapping(iopt, 0, UINT64_MAX);
	uvf_rw_unlock(&iopt->lock);
	if (unmapped)
		*unmapped = bytes;
	return 0;
}

/* ---- reserved ranges ------------------------------------------------------ */

int iopt_reserve(struct io_pagetable *iopt, uint64_t start, uint64_t last)
{
	struct iopt_reserved *r;
	int rc = 0;

	if (start > last)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->node.start = start;
	r->node.last = last;
	uvf_write_lock(&iopt->lock);
	if (itree_iter_first(&iopt->area_itree, start, last))
		rc = -EADDRINUSE;
	else
		itree_insert(&iopt->reserved_itree, &r->node);
	uvf_rw_unlock(&iopt->lock);
	if (rc)
		free(r);
	return rc;
}

static void unreserve_all_locked(struct io_pagetable *iopt)
{
	struct itree_node *n;

	while ((n = iopt->reserved_itree.root)) {
		itree_remove(&iopt->reserved_itree, n);
		free(container_of(n, struct iopt_reserved, node));
	}
}

void iopt_unreserve_all(struct io_pagetable *iopt)
{
	uvf_write_lock(&iopt->lock);
	unreserve_all_locked(iopt);
	uvf_rw_unlock(&iopt->lock);
}

void iopt_destroy(struct io_pagetable *iopt)
{
	uvf_write_lock(&iopt->lock);
	remove_overlapping(iopt, 0, UINT64_MAX);
	unreserve_all_locked(iopt);
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
