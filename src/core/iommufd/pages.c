// SPDX-License-Identifier: MIT
/*
 * iopt_pages (see pages.h): lazy pinning of a user range with per-page
 * user counting, accounting, CPU access and the pin registry.
 *
 * A page is pinned while any user range covers it.  Adding or removing a
 * user changes the pinned set only where no other user covers the range,
 * so both count the "holes" of the user tree over the range: the pages
 * that go from unpinned to pinned (or back), which is what is charged.
 *
 * Lock order: registry->lock -> pages->lock -> account locks (leaves).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "pages.h"
#include "fail_nth.h"
#include "../base/compiler.h"

/* An access pin: users of one exact range count here. */
struct iopt_access_pin {
	struct itree_node node;
	unsigned int users;
};

void iopt_pages_registry_init(struct iopt_pages_registry *r)
{
	uvf_mutex_init(&r->lock);
	list_init(&r->list);
}

void iopt_pages_registry_destroy(struct iopt_pages_registry *r)
{
	uvf_mutex_destroy(&r->lock);
}

static struct iopt_pages *pages_alloc(uint64_t uaddr, uint64_t length, bool writable,
				      struct iopt_pages_registry *registry)
{
	struct iopt_pages *pages;

	if (iommufd_should_fail())
		return NULL;
	pages = calloc(1, sizeof(*pages));
	if (!pages)
		return NULL;
	uvf_ref_init(&pages->ref);
	uvf_mutex_init(&pages->lock);
	list_init(&pages->registry_link);
	pages->uaddr = uaddr;
	pages->length = length;
	pages->npages = iopt_pages_index(pages, length - 1) + 1;
	pages->writable = writable;
	pages->registry = registry;
	if (registry) {
		uvf_mutex_lock(&registry->lock);
		list_add_tail(&pages->registry_link, &registry->list);
		uvf_mutex_unlock(&registry->lock);
	}
	return pages;
}

int iopt_pages_new_user(struct uvf_mm *mm, uint64_t uaddr, uint64_t length, bool writable,
			struct iopt_pages_registry *registry, struct iopt_pages **out)
{
	struct iopt_pages *pages;
	uint64_t end;

	if (!length || length > UINT64_MAX - UVF_PAGE_SIZE)
		return -EINVAL;
	if (check_add_overflow(uaddr, length, &end))
		return -EOVERFLOW;
	if (!mm)
		return -EFAULT;
	pages = pages_alloc(uaddr, length, writable, registry);
	if (!pages)
		return -ENOMEM;
	mm_get(mm);
	pages->mm = mm;
	*out = pages;
	return 0;
}

int iopt_pages_new_mem(const struct uvf_mem_seg *segs, uint32_t nsegs, uint64_t uaddr,
		       bool writable, struct iopt_pages_registry *registry,
		       struct iopt_pages **out)
{
	struct iopt_pages *pages;
	uint64_t length = 0;

	for (uint32_t i = 0; i < nsegs; i++)
		if (check_add_overflow(length, segs[i].len, &length))
			return -EOVERFLOW;
	if (!nsegs || !length)
		return -EINVAL;
	pages = pages_alloc(uaddr, length, writable, registry);
	if (!pages)
		return -ENOMEM;
	pages->segs = malloc(nsegs * sizeof(*segs));
	if (!pages->segs) {
		pages->nsegs = 0;
		iopt_pages_put(pages);
		return -ENOMEM;
	}
	memcpy(pages->segs, segs, nsegs * sizeof(*segs));
	pages->nsegs = nsegs;
	*out = pages;
	return 0;
}

void iopt_pages_set_account(struct iopt_pages *pages, struct uvf_account *account,
			    uint64_t limit_pages, bool ipc_lock)
{
	if (account)
		account_get(account);
	pages->account = account;
	pages->limit_pages = limit_pages;
	pages->ipc_lock = ipc_lock;
}

static void pages_drop_segs(struct iopt_pages *pages)
{
	for (uint32_t i = 0; i < pages->nsegs; i++)
		memobj_put(pages->segs[i].obj);
	free(pages->segs);
	pages->segs = NULL;
	pages->nsegs = 0;
}

void iopt_pages_put(struct iopt_pages *pages)
{
	if (!pages || !uvf_ref_put(&pages->ref))
		return;
	if (pages->registry) {
		uvf_mutex_lock(&pages->registry->lock);
		list_del_init(&pages->registry_link);
		uvf_mutex_unlock(&pages->registry->lock);
	}
	/* Every user unpinned before its area or access let go. */
	if (pages->npinned && pages->account)
		account_uncharge(pages->account, pages->npinned);
	pages_drop_segs(pages);
	if (pages->account)
		account_put(pages->account);
	mm_put(pages->mm);
	uvf_mutex_destroy(&pages->lock);
	free(pages);
}

/* ---- resolution: the kernel's pin_user_pages ------------------------------- */

/* Resolve the whole range through the source mm; pages->lock held. */
static int pages_resolve(struct iopt_pages *pages)
{
	int max = 8;

	if (pages->segs)
		return 0;
	for (;;) {
		struct uvf_mem_seg *segs = calloc((size_t)max, sizeof(*segs));
		int n;

		if (!segs)
			return -ENOMEM;
		n = pages->mm->ops->resolve(pages->mm, pages->uaddr, pages->length,
					    pages->writable, segs, max);
		if (n > 0) {
			pages->segs = segs;
			pages->nsegs = (uint32_t)n;
			return 0;
		}
		free(segs);
		if (n != -E2BIG)
			return n == -ENOMEM ? -ENOMEM : -EFAULT;
		if (max >= (1 << 20))
			return -ENOMEM;
		max *= 8;
	}
}

/* The last pin went: the memory of a process is let go (given memory stays). */
static void pages_maybe_unresolve(struct iopt_pages *pages)
{
	if (pages->mm && !pages->npinned)
		pages_drop_segs(pages);
}

/* ---- users ----------------------------------------------------------------- */

/* How many pages of [first, last] no user covers. */
static uint64_t uncovered_pages(const struct itree_root *users, uint64_t first, uint64_t last)
{
	uint64_t cursor = first, count = 0;
	struct itree_node *n;

	for (n = itree_iter_first(users, first, last); n; n = itree_iter_next(n, first, last)) {
		if (n->start > cursor)
			count += n->start - cursor;
		if (n->last >= last)
			return count;
		if (n->last >= cursor)
			cursor = n->last + 1;
	}
	return count + (last - cursor + 1);
}

static int pages_charge(struct iopt_pages *pages, uint64_t n)
{
	if (!n || !pages->account)
		return 0;
	return account_charge_limit(pages->account, n,
				    pages->ipc_lock ? UINT64_MAX : pages->limit_pages);
}

static void pages_uncharge(struct iopt_pages *pages, uint64_t n)
{
	if (n && pages->account)
		account_uncharge(pages->account, n);
}

/* pages->lock held. */
static int pages_pin_locked(struct iopt_pages *pages, struct itree_node *node)
{
	uint64_t n = uncovered_pages(&pages->users, node->start, node->last);
	int rc;

	if (node->start > node->last || node->last >= pages->npages)
		return -EINVAL;
	if (n) {
		if (iommufd_should_fail())
			return -ENOMEM;
		rc = pages_resolve(pages);
		if (rc)
			return rc;
		rc = pages_charge(pages, n);
		if (rc) {
			pages_maybe_unresolve(pages);
			return rc;
		}
	}
	itree_insert(&pages->users, node);
	pages->npinned += n;
	return 0;
}

static void pages_unpin_locked(struct iopt_pages *pages, struct itree_node *node)
{
	uint64_t n;

	itree_remove(&pages->users, node);
	n = uncovered_pages(&pages->users, node->start, node->last);
	pages_uncharge(pages, n);
	pages->npinned -= n;
	pages_maybe_unresolve(pages);
}

int iopt_pages_pin(struct iopt_pages *pages, struct itree_node *node)
{
	int rc;

	uvf_mutex_lock(&pages->lock);
	rc = pages_pin_locked(pages, node);
	uvf_mutex_unlock(&pages->lock);
	return rc;
}

void iopt_pages_unpin(struct iopt_pages *pages, struct itree_node *node)
{
	uvf_mutex_lock(&pages->lock);
	pages_unpin_locked(pages, node);
	uvf_mutex_unlock(&pages->lock);
}

/* The access pin of exactly [first, last], or NULL; pages->lock held.
 * Fills overlap access pins in the tree, so only exact matches count. */
static struct iopt_access_pin *access_pin_find(struct iopt_pages *pages, uint64_t first,
					       uint64_t last)
{
	struct itree_node *n;

	for (n = itree_iter_first(&pages->users, first, last); n;
	     n = itree_iter_next(n, first, last)) {
		struct iopt_access_pin *ap = container_of(n, struct iopt_access_pin, node);

		if (n->start == first && n->last == last && ap->users)
			return ap;
	}
	return NULL;
}

int iopt_pages_pin_access(struct iopt_pages *pages, uint64_t first, uint64_t last)
{
	struct iopt_access_pin *ap;
	int rc = 0;

	uvf_mutex_lock(&pages->lock);
	ap = access_pin_find(pages, first, last);
	if (ap) {
		ap->users++;
		goto out;
	}
	ap = iommufd_should_fail() ? NULL : calloc(1, sizeof(*ap));
	if (!ap) {
		rc = -ENOMEM;
		goto out;
	}
	ap->node.start = first;
	ap->node.last = last;
	ap->users = 1;
	rc = pages_pin_locked(pages, &ap->node);
	if (rc)
		free(ap);
out:
	uvf_mutex_unlock(&pages->lock);
	return rc;
}

void iopt_pages_unpin_access(struct iopt_pages *pages, uint64_t first, uint64_t last)
{
	struct iopt_access_pin *ap;

	uvf_mutex_lock(&pages->lock);
	ap = access_pin_find(pages, first, last);
	if (ap && !--ap->users) {
		pages_unpin_locked(pages, &ap->node);
		free(ap);
	}
	uvf_mutex_unlock(&pages->lock);
}

/* ---- memory ---------------------------------------------------------------- */

/* The segment holding byte 'off' and the offset into it. */
static const struct uvf_mem_seg *pages_seg(const struct iopt_pages *pages, uint64_t off,
					   uint64_t *seg_off)
{
	for (uint32_t i = 0; i < pages->nsegs; i++) {
		if (off < pages->segs[i].len) {
			*seg_off = off;
			return &pages->segs[i];
		}
		off -= pages->segs[i].len;
	}
	return NULL;
}

int iopt_pages_xlate(struct iopt_pages *pages, uint64_t off, uint64_t len,
		     struct uvf_memobj **obj, uint64_t *obj_off, uint64_t *contig)
{
	const struct uvf_mem_seg *s;
	uint64_t in;

	s = pages->segs ? pages_seg(pages, off, &in) : NULL;
	if (!s)
		return -EFAULT;
	*obj = s->obj;
	*obj_off = s->off + in;
	*contig = uvf_min(len, s->len - in);
	return 0;
}

static int pages_rw_pinned(struct iopt_pages *pages, uint64_t off, uint8_t *buf, uint64_t len,
			   bool write)
{
	struct uvf_memobj *obj;
	uint64_t obj_off, n;
	int rc;

	while (len) {
		rc = iopt_pages_xlate(pages, off, len, &obj, &obj_off, &n);
		if (!rc)
			rc = write ? memobj_write(obj, obj_off, buf, n)
				   : memobj_read(obj, obj_off, buf, n);
		if (rc)
			return -EFAULT;
		off += n;
		buf += n;
		len -= n;
	}
	return 0;
}

int iopt_pages_rw(struct iopt_pages *pages, uint64_t off, void *buf, uint64_t len, bool write)
{
	struct uvf_mm *mm = pages->mm;
	int rc;

	if (write && !pages->writable)
		return -EPERM;
	if (off > pages->length || len > pages->length - off)
		return -EFAULT;
	uvf_mutex_lock(&pages->lock);
	if (pages->segs)
		rc = pages_rw_pinned(pages, off, buf, len, write);
	else
		rc = write ? mm->ops->write(mm, pages->uaddr + off, buf, len)
			   : mm->ops->read(mm, buf, pages->uaddr + off, len);
	uvf_mutex_unlock(&pages->lock);
	return rc ? -EFAULT : 0;
}

/* ---- the registry ------------------------------------------------------------ */

/* Does pages have the page at (obj, off) pinned?  pages->lock held. */
static bool pages_pins_ident(const struct iopt_pages *pages, const struct uvf_memobj *obj,
			     uint64_t off)
{
	uint64_t byte = 0;

	for (uint32_t i = 0; i < pages->nsegs; i++) {
		const struct uvf_mem_seg *s = &pages->segs[i];

		/* The page [off, off + PAGE) meets this segment. */
		if (s->obj == obj && off < s->off + s->len && off + UVF_PAGE_SIZE > s->off) {
			uint64_t at = byte + (uvf_max(off, s->off) - s->off);
			uint64_t idx = iopt_pages_index(pages, at);

			if (itree_iter_first(&pages->users, idx, idx))
				return true;
		}
		byte += s->len;
	}
	return false;
}

unsigned int iopt_pages_registry_refs(struct iopt_pages_registry *r,
				      const struct uvf_memobj *obj, uint64_t off)
{
	struct iopt_pages *pages;
	unsigned int refs = 0;

	off = ALIGN_DOWN(off, UVF_PAGE_SIZE);
	uvf_mutex_lock(&r->lock);
	list_for_each_entry(pages, &r->list, registry_link) {
		uvf_mutex_lock(&pages->lock);
		if (pages->npinned && pages_pins_ident(pages, obj, off))
			refs++;
		uvf_mutex_unlock(&pages->lock);
	}
	uvf_mutex_unlock(&r->lock);
	return refs;
}
