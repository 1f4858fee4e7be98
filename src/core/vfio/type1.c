// SPDX-License-Identifier: MIT
/*
 * The type1 IOMMU backend (drivers/vfio/vfio_iommu_type1.c): user DMA
 * mappings of a container, the IOMMU domains its groups are attached to,
 * the valid IOVA list, dirty page tracking and live update of vaddrs.
 *
 * One io page table per container holds the mappings (a kernel vfio_dma is
 * an iopt_area here).  Every IOMMU-backed group is attached to a paging
 * domain over that table; groups with the same cache-coherency enforcement
 * share one domain, as the kernel shares compatible domains.  The first
 * attached domain makes the table pin (and charge) every mapping, so a
 * container with only emulated (mdev) groups pins nothing, as in the
 * kernel.  The table does the mechanism; this file keeps the uAPI rules:
 * entry limit, v1/v2 unmap semantics, IOVA validity, VADDR, dirty reports.
 *
 * Deviations: a map resolves its vaddr at once even when the container has
 * no IOMMU domain (the kernel does not look at the vaddr then), so a bad
 * vaddr fails with -EFAULT there too.
 *
 * TYPE1_NESTING (6) is what 6.12 makes of it: offered (CHECK_EXTENSION 1),
 * opened as v2 with nesting asked of every domain, and the emulated IOMMU,
 * like x86's, cannot enable nesting (iommu_enable_nesting: -EINVAL), so a
 * group with an IOMMU cannot attach; emulated (mdev) groups, which need no
 * domain, can.
 *
 * Locking: iommu->lock serialises every operation of a container and is
 * the only writer of its io page table's areas.  Lock order:
 * container->group_lock -> iommu->lock -> iommu group->lock -> iopt->lock.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "vfio_priv.h"
#include "../base/log.h"
#include "../host/host.h"
#include "../iommu/iommu.h"
#include "../iommufd/io_pagetable.h"
#include "../base/bitmap.h"

#define TYPE1_PAGE_MASK		(~(UVF_PAGE_SIZE - 1))
/* Dirty bitmaps hold at most INT_MAX pages: 256 MiB of bits. */
#define DIRTY_BITMAP_BYTES(n)	(ALIGN_UP((uint64_t)(n), 64) / 8)
#define DIRTY_BITMAP_PAGES_MAX	((uint64_t)INT_MAX)
#define DIRTY_BITMAP_SIZE_MAX	DIRTY_BITMAP_BYTES(DIRTY_BITMAP_PAGES_MAX)
/* User addresses past this are not user memory (x86-64 TASK_SIZE_MAX). */
#define TYPE1_USER_ADDR_MAX	((1ULL << 47) - UVF_PAGE_SIZE)

struct type1_group {
	struct list_head next;
	struct iommu_group *iommu_group;
	/* Only groups that dirty memory through pinning interfaces report
	 * precise dirty pages; IOMMU-backed groups may write anywhere. */
	bool pinned_page_dirty_scope;
};

struct type1_domain {
	struct list_head next;
	struct iommu_domain *domain;
	struct list_head group_list;
	bool enforce_cache_coherency;
};

struct type1_iova_list {
	struct vfio_iova_range *r;	/* sorted, disjoint, 'end' inclusive */
	unsigned int n;
};

struct vfio_iommu {
	struct vfio_core *core;
	struct uvf_mutex lock;
	struct io_pagetable iopt;
	struct list_head domain_list;
	struct list_head emulated_groups;
	struct type1_iova_list iovas;
	unsigned int dma_avail;
	unsigned int vaddr_invalid_count;
	uint64_t pgsize_bitmap;
	uint64_t num_non_pinned_groups;
	bool v2;
	bool nesting;			/* TYPE1_NESTING: every domain must nest */
	bool dirty_page_tracking;
	struct list_head pins;		/* struct type1_pin: emulated devices' pinned pages */
};

/*
 * A page an emulated device pinned with vfio_pin_pages (an entry of the
 * kernel's vfio_dma pfn_list): counted, and asked back through the device's
 * dma_unmap before the mapping under it may go.  iommu->lock.
 */
struct type1_pin {
	struct list_head link;
	struct vfio_device *vdev;
	uint64_t iova;			/* of the page */
	unsigned int count;
};

static uint64_t type1_pgsize(const struct vfio_iommu *iommu)
{
	return iommu->pgsize_bitmap & -iommu->pgsize_bitmap;
}

static unsigned int type1_pgshift(const struct vfio_iommu *iommu)
{
	return (unsigned int)__builtin_ctzll(iommu->pgsize_bitmap);
}

static bool access_ok(uint64_t uaddr, uint64_t size)
{
	uint64_t end;

	return !check_add_overflow(uaddr, size, &end) && end <= TYPE1_USER_ADDR_MAX;
}

/* ---- mappings ------------------------------------------------------------ */

/* Any mapping overlapping [start, last]; iommu->lock held. */
static struct iopt_area *type1_find_dma(struct vfio_iommu *iommu, uint64_t start,
					uint64_t last)
{
	struct iopt_area *a;

	uvf_read_lock(&iommu->iopt.lock);
	a = iopt_area_first(&iommu->iopt, start, last);
	uvf_rw_unlock(&iommu->iopt.lock);
	return a;
}

/* The v2 rule: a range may not cut a mapping at either end. */
static bool type1_range_bisects(struct vfio_iommu *iommu, uint64_t iova, uint64_t last)
{
	struct iopt_area *a;
	bool bisects;

	uvf_read_lock(&iommu->iopt.lock);
	a = iopt_area_find(&iommu->iopt, iova);
	bisects = a && iopt_area_iova(a) != iova;
	a = iopt_area_find(&iommu->iopt, last);
	bisects |= a && iopt_area_last(a) != last;
	uvf_rw_unlock(&iommu->iopt.lock);
	return bisects;
}

/*
 * The table calls this for every mapping it removes, however the removal
 * came about (vfio_remove_dma): the entry returns to the limit and an
 * invalidated vaddr stops blocking attach and dma_rw.  iommu->lock held.
 */
static void type1_remove_dma(struct iopt_area *a)
{
	struct vfio_iommu *iommu = a->front_data;

	if (a->uaddr_invalid)
		iommu->vaddr_invalid_count--;
	iommu->dma_avail++;
}

static void type1_pin_free(struct type1_pin *pin)
{
	list_del_init(&pin->link);
	free(pin);
}

/* Remove every mapping (the last IOMMU domain or the container went). */
static void type1_unmap_unpin_all(struct vfio_iommu *iommu)
{
	struct type1_pin *pin, *tmp;

	list_for_each_entry_safe(pin, tmp, &iommu->pins, link)
		type1_pin_free(pin);
	iopt_unmap_all(&iommu->iopt, NULL);
}

/* A device holding a pin in [first, last], or NULL.  iommu->lock held. */
static struct vfio_device *type1_pinner_in(struct vfio_iommu *iommu, uint64_t first,
					   uint64_t last)
{
	struct type1_pin *pin;

	list_for_each_entry(pin, &iommu->pins, link)
		if (pin->iova <= last && pin->iova + UVF_PAGE_SIZE - 1 >= first)
			return pin->vdev;
	return NULL;
}

/*
 * Before [first, last] is unmapped, ask each device pinning pages there to
 * let them go (vfio_notify_dma_unmap), with iommu->lock dropped meanwhile,
 * as the kernel does; its dma_unmap unpins.  A device is open while it
 * holds pins (its last close drops what it left), so it outlives the call.
 * -EBUSY if a driver keeps its pins after being asked many times (the
 * kernel would loop for ever).  iommu->lock held.
 */
static int type1_notify_dma_unmap(struct vfio_iommu *iommu, uint64_t first, uint64_t last)
{
	for (int asked = 0; asked < 64; asked++) {
		struct vfio_device *vdev = type1_pinner_in(iommu, first, last);

		if (!vdev)
			return 0;
		uvf_mutex_unlock(&iommu->lock);
		vdev->ops->dma_unmap(vdev, first, last - first + 1);
		uvf_mutex_lock(&iommu->lock);
	}
	uvf_warn("vfio", "a device keeps pages pinned in [0x%llx, 0x%llx] after dma_unmap",
		 (unsigned long long)first, (unsigned long long)last);
	return -EBUSY;
}

static bool type1_iova_dma_valid(const struct vfio_iommu *iommu, uint64_t start,
				 uint64_t end)
{
	/* An empty list (only emulated groups) allows everything. */
	if (!iommu->iovas.n)
		return true;
	for (unsigned int i = 0; i < iommu->iovas.n; i++)
		if (start >= iommu->iovas.r[i].start && end <= iommu->iovas.r[i].end)
			return true;
	return false;
}

/* Resolve the user range into memory objects (the kernel's pin). */
static int type1_resolve(struct uvf_caller *c, uint64_t vaddr, uint64_t size, bool write,
			 struct uvf_mem_seg **out)
{
	int max = 8;

	if (!c->mm)
		return -EFAULT;
	for (;;) {
		struct uvf_mem_seg *segs = calloc((size_t)max, sizeof(*segs));
		int n;

		if (!segs)
			return -ENOMEM;
		n = c->mm->ops->resolve(c->mm, vaddr, size, write, segs, max);
		if (n > 0) {
			*out = segs;
			return n;
		}
		free(segs);
		if (n != -E2BIG)
			return n ? n : -EFAULT;
		if (max >= (1 << 20))
			return -ENOMEM;
		max *= 8;
	}
}

static void type1_put_segs(struct uvf_mem_seg *segs, int n)
{
	for (int i = 0; i < n; i++)
		memobj_put(segs[i].obj);
	free(segs);
}

static int type1_new_dma(struct vfio_iommu *iommu, struct uvf_caller *c, uint64_t iova,
			 uint64_t vaddr, uint64_t size, int prot)
{
	struct uvf_mem_seg *segs = NULL;
	struct iopt_area *a;
	int n, ret;

	n = type1_resolve(c, vaddr, size, prot & IOPT_WRITE, &segs);
	if (n < 0)
		return n;
	ret = iopt_map(&iommu->iopt, &iova, segs, (uint32_t)n, prot, IOPT_MAP_FIXED,
		       c->mm->account, capable(c, UVF_CAP_IPC_LOCK), vaddr, &a);
	if (ret) {
		type1_put_segs(segs, n);
		return ret;
	}
	free(segs);	/* the area owns the object references now */
	/* Areas go only under iommu->lock, which we hold: 'a' is live. */
	a->front_data = iommu;
	iommu->dma_avail--;
	return 0;
}

/*
 * MAP|VADDR: give an invalidated mapping its new vaddr, moving the
 * locked-memory charge to the caller's mm (vfio_change_dma_owner).
 */
static int type1_update_vaddr(struct vfio_iommu *iommu, struct uvf_caller *c,
			      struct iopt_area *a, uint64_t vaddr)
{
	struct uvf_account *acct = c->mm ? c->mm->account : NULL;
	bool ipc_lock = capable(c, UVF_CAP_IPC_LOCK);
	int ret = 0;

	uvf_write_lock(&iommu->iopt.lock);
	if (acct && acct != a->account && a->pinned_pages) {
		ret = account_charge(acct, a->pinned_pages, ipc_lock);
		if (!ret && a->account)
			account_uncharge(a->account, a->pinned_pages);
	}
	if (!ret && acct && acct != a->account) {
		account_get(acct);
		if (a->account)
			account_put(a->account);
		a->account = acct;
		a->ipc_lock = ipc_lock;
	}
	if (!ret) {
		a->uaddr = vaddr;
		a->uaddr_invalid = false;
		iommu->vaddr_invalid_count--;
	}
	uvf_rw_unlock(&iommu->iopt.lock);
	return ret;
}

static int type1_dma_do_map(struct vfio_iommu *iommu, struct uvf_caller *c,
			    const struct vfio_iommu_type1_dma_map *map)
{
	bool set_vaddr = map->flags & VFIO_DMA_MAP_FLAG_VADDR;
	uint64_t iova = map->iova, vaddr = map->vaddr, size = map->size;
	struct iopt_area *a;
	uint64_t pgsize;
	int prot = 0, ret;

	/* READ/WRITE are the device's view. */
	if (map->flags & VFIO_DMA_MAP_FLAG_WRITE)
		prot |= IOPT_WRITE;
	if (map->flags & VFIO_DMA_MAP_FLAG_READ)
		prot |= IOPT_READ;
	if ((prot && set_vaddr) || (!prot && !set_vaddr))
		return -EINVAL;

	uvf_mutex_lock(&iommu->lock);
	pgsize = type1_pgsize(iommu);
	if (!size || ((size | iova | vaddr) & (pgsize - 1))) {
		ret = -EINVAL;
		goto out;
	}
	/* Neither range may wrap. */
	if (iova + size - 1 < iova || vaddr + size - 1 < vaddr) {
		ret = -EINVAL;
		goto out;
	}
	a = type1_find_dma(iommu, iova, iova + size - 1);
	if (set_vaddr) {
		if (!a)
			ret = -ENOENT;
		else if (!a->uaddr_invalid || iopt_area_iova(a) != iova ||
			 iopt_area_length(a) != size)
			ret = -EINVAL;
		else
			ret = type1_update_vaddr(iommu, c, a, vaddr);
		goto out;
	}
	if (a) {
		ret = -EEXIST;
		goto out;
	}
	if (!iommu->dma_avail) {
		ret = -ENOSPC;
		goto out;
	}
	if (!type1_iova_dma_valid(iommu, iova, iova + size - 1)) {
		ret = -EINVAL;
		goto out;
	}
	ret = type1_new_dma(iommu, c, iova, vaddr, size, prot);
out:
	uvf_mutex_unlock(&iommu->lock);
	return ret;
}

static int type1_map_dma(struct vfio_iommu *iommu, struct uvf_caller *c, uint64_t arg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_map, size);
	uint32_t mask = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE |
			VFIO_DMA_MAP_FLAG_VADDR;
	struct vfio_iommu_type1_dma_map map;

	if (copy_from_user(c, &map, arg, minsz))
		return -EFAULT;
	if (map.argsz < minsz || (map.flags & ~mask))
		return -EINVAL;
	return type1_dma_do_map(iommu, c, &map);
}

/* ---- dirty bitmaps -------------------------------------------------------- */

static int verify_bitmap_size(uint64_t npages, uint64_t bitmap_size)
{
	if (!npages || !bitmap_size || bitmap_size > DIRTY_BITMAP_SIZE_MAX ||
	    bitmap_size < DIRTY_BITMAP_BYTES(npages))
		return -EINVAL;
	return 0;
}

/*
 * Store nbits of src in the user bitmap at ubitmap from bit 'bit' on
 * (update_user_bitmap).  The words written are overwritten, not merged:
 * only the bits below 'bit' in the first word keep the user's content
 * (an earlier mapping's report); the tail of the last word is cleared.
 */
static int type1_update_user_bitmap(struct uvf_caller *c, uint64_t ubitmap, uint64_t bit,
				    const unsigned long *src, uint64_t nbits)
{
	uint64_t shift = bit % BITS_PER_LONG;
	uint64_t nwords = DIRTY_BITMAP_BYTES(nbits + shift) / sizeof(unsigned long);
	uint64_t uaddr = ubitmap + bit / BITS_PER_LONG * sizeof(unsigned long);
	unsigned long *buf = calloc(nwords, sizeof(unsigned long));
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	if (shift) {
		ret = copy_from_user(c, buf, uaddr, sizeof(unsigned long));
		buf[0] &= (1UL << shift) - 1;
	}
	if (!ret) {
		for (uint64_t i = find_next_bit(src, nbits, 0); i < nbits;
		     i = find_next_bit(src, nbits, i + 1))
			set_bit(shift + i, buf);
		ret = copy_to_user(c, uaddr, buf, nwords * sizeof(unsigned long));
	}
	free(buf);
	return ret ? -EFAULT : 0;
}

/* A report that did not reach the user: its pages are dirty again. */
static void type1_restore_dirty(struct vfio_iommu *iommu, uint64_t iova,
				const unsigned long *bits, uint64_t nbits)
{
	unsigned int pgshift = type1_pgshift(iommu);
	uint64_t i = find_next_bit(bits, nbits, 0), j;

	while (i < nbits) {
		j = find_next_zero_bit(bits, nbits, i);
		iopt_mark_dirty(&iommu->iopt, iova + (i << pgshift), (j - i) << pgshift);
		i = find_next_bit(bits, nbits, j);
	}
}

/*
 * Report the dirty pages of the mapping [iova, iova+len) into the user
 * bitmap whose bit 0 is base_iova, and restart its tracking.  While an
 * IOMMU-backed group without a pinned-page scope is attached, the device
 * may have written anywhere: every page is reported.
 */
static int type1_report_dirty(struct vfio_iommu *iommu, struct uvf_caller *c,
			      uint64_t ubitmap, uint64_t base_iova, uint64_t iova, uint64_t len)
{
	unsigned int pgshift = type1_pgshift(iommu);
	uint64_t nbits = len >> pgshift;
	unsigned long *bits = bitmap_zalloc(nbits);
	int ret;

	if (!bits)
		return -ENOMEM;
	ret = iopt_read_dirty(&iommu->iopt, iova, len, bits, false);
	if (!ret && iommu->num_non_pinned_groups)
		bitmap_set(bits, 0, nbits);
	if (!ret) {
		ret = type1_update_user_bitmap(c, ubitmap, (iova - base_iova) >> pgshift, bits,
					       nbits);
		if (ret)
			type1_restore_dirty(iommu, iova, bits, nbits);
	}
	bitmap_free(bits);
	return ret;
}

/* The mappings inside [iova, last], as (iova, length) pairs. */
static int type1_collect_dmas(struct vfio_iommu *iommu, uint64_t iova, uint64_t last,
			      uint64_t (**out)[2], size_t *count)
{
	uint64_t (*list)[2] = NULL;
	struct iopt_area *a;
	size_t n = 0, cap = 0;
	int ret = 0;

	uvf_read_lock(&iommu->iopt.lock);
	for (a = iopt_area_first(&iommu->iopt, iova, last); a;
	     a = iopt_area_next(a, iova, last)) {
		if (n == cap) {
			void *grown = realloc(list, (cap ? cap * 2 : 16) * sizeof(*list));

			if (!grown) {
				ret = -ENOMEM;
				break;
			}
			list = grown;
			cap = cap ? cap * 2 : 16;
		}
		list[n][0] = iopt_area_iova(a);
		list[n][1] = iopt_area_length(a);
		n++;
	}
	uvf_rw_unlock(&iommu->iopt.lock);
	if (ret) {
		free(list);
		return ret;
	}
	*out = list;
	*count = n;
	return 0;
}

/* Every mapping of [iova, iova+size) reported into the user bitmap. */
static int type1_iova_dirty_bitmap(struct vfio_iommu *iommu, struct uvf_caller *c,
				   uint64_t ubitmap, uint64_t iova, uint64_t size)
{
	uint64_t (*dmas)[2] = NULL;
	size_t n = 0;
	int ret;

	ret = type1_collect_dmas(iommu, iova, iova + size - 1, &dmas, &n);
	for (size_t i = 0; !ret && i < n; i++)
		ret = type1_report_dirty(iommu, c, ubitmap, iova, dmas[i][0], dmas[i][1]);
	free(dmas);
	return ret;
}

/* Dirty tracking may have missed what a departing IOMMU-backed group
 * wrote: from now on its mappings count as wholly dirty. */
static void type1_populate_bitmap_full(struct vfio_iommu *iommu)
{
	uint64_t (*dmas)[2] = NULL;
	size_t n = 0;

	if (type1_collect_dmas(iommu, 0, UINT64_MAX, &dmas, &n))
		return;
	for (size_t i = 0; i < n; i++)
		iopt_mark_dirty(&iommu->iopt, dmas[i][0], dmas[i][1]);
	free(dmas);
}

/* ---- unmap ---------------------------------------------------------------- */

/*
 * UNMAP|VADDR: mark the vaddrs of the range invalid without unmapping.  If
 * one already is, the ones marked by this call are restored and the call
 * fails as a whole.
 */
static int type1_invalidate_vaddr(struct vfio_iommu *iommu, uint64_t iova, uint64_t last,
				  uint64_t *unmapped)
{
	struct iopt_area *first, *a, *b;
	int ret = 0;

	uvf_write_lock(&iommu->iopt.lock);
	first = iopt_area_first(&iommu->iopt, iova, last);
	/* v1 stops at a first mapping that starts before the range. */
	if (first && !iommu->v2 && iopt_area_iova(first) < iova)
		first = NULL;
	for (a = first; a; a = iopt_area_next(a, iova, last)) {
		if (a->uaddr_invalid) {
			for (b = first; b != a; b = iopt_area_next(b, iova, last)) {
				b->uaddr_invalid = false;
				iommu->vaddr_invalid_count--;
			}
			ret = -EINVAL;
			*unmapped = 0;
			break;
		}
		a->uaddr_invalid = true;
		iommu->vaddr_invalid_count++;
		*unmapped += iopt_area_length(a);
	}
	uvf_rw_unlock(&iommu->iopt.lock);
	return ret;
}

/*
 * UNMAP|GET_DIRTY_BITMAP (v2 only, the range bisects nothing): report and
 * remove one mapping at a time, as vfio_dma_do_unmap does, so a fault on
 * the user bitmap leaves the mappings before it reported and gone and the
 * rest mapped with their dirty pages.
 */
static int type1_unmap_report_dirty(struct vfio_iommu *iommu, struct uvf_caller *c,
				    uint64_t iova, uint64_t size, uint64_t ubitmap,
				    uint64_t *unmapped)
{
	uint64_t (*dmas)[2] = NULL;
	size_t n = 0;
	int ret;

	ret = type1_collect_dmas(iommu, iova, iova + size - 1, &dmas, &n);
	for (size_t i = 0; !ret && i < n; i++) {
		ret = type1_report_dirty(iommu, c, ubitmap, iova, dmas[i][0], dmas[i][1]);
		if (!ret)
			ret = iopt_unmap(&iommu->iopt, dmas[i][0], dmas[i][1], IOPT_UNMAP_STRICT,
					 NULL);
		if (!ret)
			*unmapped += dmas[i][1];
	}
	free(dmas);
	return ret;
}

static int type1_unmap_range(struct vfio_iommu *iommu, struct uvf_caller *c, uint64_t iova,
			     uint64_t size, const struct vfio_bitmap *bitmap, uint64_t *unmapped)
{
	if (bitmap)
		return type1_unmap_report_dirty(iommu, c, iova, size,
						(uint64_t)(uintptr_t)bitmap->data, unmapped);
	return iopt_unmap(&iommu->iopt, iova, size,
			  iommu->v2 ? IOPT_UNMAP_STRICT : IOPT_UNMAP_TYPE1_V1, unmapped);
}

static int type1_dma_do_unmap(struct vfio_iommu *iommu, struct uvf_caller *c,
			      struct vfio_iommu_type1_dma_unmap *unmap,
			      const struct vfio_bitmap *bitmap)
{
	bool unmap_all = unmap->flags & VFIO_DMA_UNMAP_FLAG_ALL;
	bool invalidate_vaddr = unmap->flags & VFIO_DMA_UNMAP_FLAG_VADDR;
	uint64_t iova = unmap->iova, size = unmap->size, unmapped = 0, pgsize;
	int ret = -EINVAL;

	uvf_mutex_lock(&iommu->lock);
	/* Emulated devices cannot pin or access while vaddrs move. */
	if (invalidate_vaddr && !list_empty(&iommu->emulated_groups)) {
		ret = -EBUSY;
		goto out;
	}
	pgsize = type1_pgsize(iommu);
	if (iova & (pgsize - 1))
		goto out;
	if (unmap_all) {
		if (iova || size)
			goto out;
		size = UINT64_MAX;
	} else if (!size || (size & (pgsize - 1)) || iova + size - 1 < iova) {
		goto out;
	}
	/* Dirty reports only at the minimum page size, while tracking. */
	if (bitmap && (!iommu->dirty_page_tracking || bitmap->pgsize != pgsize))
		goto out;
	if (iommu->v2 && !unmap_all && type1_range_bisects(iommu, iova, iova + size - 1))
		goto out;

	if (!invalidate_vaddr) {
		ret = type1_notify_dma_unmap(iommu, iova, iova + size - 1);
		if (ret)
			goto out;
	}
	if (invalidate_vaddr) {
		ret = type1_invalidate_vaddr(iommu, iova, iova + size - 1, &unmapped);
	} else if (unmap_all) {
		ret = iopt_unmap_all(&iommu->iopt, &unmapped);
	} else {
		ret = type1_unmap_range(iommu, c, iova, size, bitmap, &unmapped);
	}
out:
	uvf_mutex_unlock(&iommu->lock);
	unmap->size = unmapped;
	return ret;
}

static int type1_unmap_dma(struct vfio_iommu *iommu, struct uvf_caller *c, uint64_t arg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_unmap, size);
	uint32_t mask = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | VFIO_DMA_UNMAP_FLAG_VADDR |
			VFIO_DMA_UNMAP_FLAG_ALL;
	struct vfio_iommu_type1_dma_unmap unmap;
	struct vfio_bitmap bitmap = { 0 };
	bool get_dirty;
	int ret;

	if (copy_from_user(c, &unmap, arg, minsz))
		return -EFAULT;
	if (unmap.argsz < minsz || (unmap.flags & ~mask))
		return -EINVAL;
	get_dirty = unmap.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
	if (get_dirty && (unmap.flags & (VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR)))
		return -EINVAL;
	if (get_dirty) {
		if (unmap.argsz < minsz + sizeof(bitmap))
			return -EINVAL;
		if (copy_from_user(c, &bitmap, arg + minsz, sizeof(bitmap)))
			return -EFAULT;
		if (!access_ok((uint64_t)(uintptr_t)bitmap.data, bitmap.size))
			return -EINVAL;
		ret = verify_bitmap_size(unmap.size >> __builtin_ctzll(bitmap.pgsize | 1ULL << 63),
					 bitmap.size);
		if (ret)
			return ret;
	}
	ret = type1_dma_do_unmap(iommu, c, &unmap, get_dirty ? &bitmap : NULL);
	if (ret)
		return ret;
	return copy_to_user(c, arg, &unmap, minsz) ? -EFAULT : 0;
}

/* ---- DIRTY_PAGES ----------------------------------------------------------- */

static int type1_dirty_start(struct vfio_iommu *iommu)
{
	int ret = 0;

	uvf_mutex_lock(&iommu->lock);
	if (!iommu->dirty_page_tracking) {
		ret = iopt_set_dirty_tracking(&iommu->iopt, true, type1_pgshift(iommu));
		if (!ret)
			iommu->dirty_page_tracking = true;
	}
	uvf_mutex_unlock(&iommu->lock);
	return ret;
}

static int type1_dirty_stop(struct vfio_iommu *iommu)
{
	uvf_mutex_lock(&iommu->lock);
	if (iommu->dirty_page_tracking) {
		iommu->dirty_page_tracking = false;
		iopt_set_dirty_tracking(&iommu->iopt, false, 0);
	}
	uvf_mutex_unlock(&iommu->lock);
	return 0;
}

static int type1_dirty_get_bitmap(struct vfio_iommu *iommu, struct uvf_caller *c,
				  uint64_t data, size_t data_size)
{
	struct vfio_iommu_type1_dirty_bitmap_get range;
	uint64_t pgsize, ubitmap;
	int ret;

	if (!data_size || data_size < sizeof(range))
		return -EINVAL;
	if (copy_from_user(c, &range, data, sizeof(range)))
		return -EFAULT;
	if (range.iova + range.size < range.iova)
		return -EINVAL;
	ubitmap = (uint64_t)(uintptr_t)range.bitmap.data;
	if (!access_ok(ubitmap, range.bitmap.size))
		return -EINVAL;
	ret = verify_bitmap_size(range.size >> __builtin_ctzll(range.bitmap.pgsize | 1ULL << 63),
				 range.bitmap.size);
	if (ret)
		return ret;

	uvf_mutex_lock(&iommu->lock);
	pgsize = type1_pgsize(iommu);
	/* Only the smallest supported page size, aligned, non-empty. */
	if (range.bitmap.pgsize != pgsize || (range.iova & (pgsize - 1)) ||
	    !range.size || (range.size & (pgsize - 1)) || !iommu->dirty_page_tracking)
		ret = -EINVAL;
	else if (type1_range_bisects(iommu, range.iova, range.iova + range.size - 1))
		ret = -EINVAL;
	else
		ret = type1_iova_dirty_bitmap(iommu, c, ubitmap, range.iova, range.size);
	uvf_mutex_unlock(&iommu->lock);
	return ret;
}

static int type1_dirty_pages(struct vfio_iommu *iommu, struct uvf_caller *c, uint64_t arg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_dirty_bitmap, flags);
	uint32_t mask = VFIO_IOMMU_DIRTY_PAGES_FLAG_START | VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP |
			VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	struct vfio_iommu_type1_dirty_bitmap dirty;

	if (!iommu->v2)
		return -EACCES;
	if (copy_from_user(c, &dirty, arg, minsz))
		return -EFAULT;
	if (dirty.argsz < minsz || (dirty.flags & ~mask))
		return -EINVAL;
	/* Exactly one operation. */
	if (!dirty.flags || (dirty.flags & (dirty.flags - 1)))
		return -EINVAL;
	if (dirty.flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_START)
		return type1_dirty_start(iommu);
	if (dirty.flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP)
		return type1_dirty_stop(iommu);
	return type1_dirty_get_bitmap(iommu, c, arg + minsz, dirty.argsz - minsz);
}

/* ---- GET_INFO -------------------------------------------------------------- */

static int type1_build_caps(struct vfio_iommu *iommu, struct vfio_info_cap *caps)
{
	struct vfio_iommu_type1_info_cap_migration mig = {
		.header = { .id = VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, .version = 1 },
		.pgsize_bitmap = type1_pgsize(iommu),
		.max_dirty_bitmap_size = DIRTY_BITMAP_SIZE_MAX,
	};
	struct vfio_iommu_type1_info_dma_avail avail = {
		.header = { .id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, .version = 1 },
		.avail = iommu->dma_avail,
	};
	struct vfio_iommu_type1_info_cap_iova_range *iova_cap;
	int ret;

	/* The kernel's chain order: MIGRATION, DMA_AVAIL, IOVA_RANGE. */
	ret = vfio_info_add_capability(caps, &mig.header, sizeof(mig));
	if (!ret)
		ret = vfio_info_add_capability(caps, &avail.header, sizeof(avail));
	if (ret || !iommu->iovas.n)
		return ret;	/* only emulated groups: no range list */
	iova_cap = (void *)vfio_info_cap_add(caps, sizeof(*iova_cap) +
					     iommu->iovas.n * sizeof(struct vfio_iova_range),
					     VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1);
	if (!iova_cap)
		return caps->error;
	iova_cap->nr_iovas = iommu->iovas.n;
	memcpy(iova_cap->iova_ranges, iommu->iovas.r,
	       iommu->iovas.n * sizeof(struct vfio_iova_range));
	return 0;
}

static int type1_get_info(struct vfio_iommu *iommu, struct uvf_caller *c, uint64_t arg)
{
	struct vfio_iommu_type1_info info = { 0 };
	struct vfio_info_cap caps = { 0 };
	size_t minsz = offsetofend(struct vfio_iommu_type1_info, iova_pgsizes);
	int ret;

	if (copy_from_user(c, &info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	minsz = uvf_min((size_t)info.argsz, sizeof(info));

	uvf_mutex_lock(&iommu->lock);
	info.flags = VFIO_IOMMU_INFO_PGSIZES;
	info.iova_pgsizes = iommu->pgsize_bitmap;
	ret = type1_build_caps(iommu, &caps);
	uvf_mutex_unlock(&iommu->lock);
	if (!ret)
		ret = vfio_info_copy_caps(c, &caps, arg, sizeof(info), info.argsz, &info.argsz,
					  &info.flags, VFIO_IOMMU_INFO_CAPS, &info.cap_offset);
	vfio_info_cap_free(&caps);
	if (ret)
		return ret;
	return copy_to_user(c, arg, &info, minsz) ? -EFAULT : 0;
}

/* ---- IOVA list, page sizes, groups ------------------------------------------ */

static void type1_update_pgsize_bitmap(struct vfio_iommu *iommu)
{
	struct type1_domain *d;

	iommu->pgsize_bitmap = UINT64_MAX;
	list_for_each_entry(d, &iommu->domain_list, next)
		iommu->pgsize_bitmap &= d->domain->pgsize_bitmap;
	/* Sizes below PAGE_SIZE are the IOMMU's business: show PAGE_SIZE. */
	if (iommu->pgsize_bitmap & ~TYPE1_PAGE_MASK) {
		iommu->pgsize_bitmap &= TYPE1_PAGE_MASK;
		iommu->pgsize_bitmap |= UVF_PAGE_SIZE;
	}
}

static int iova_list_add(struct type1_iova_list *l, uint64_t start, uint64_t end)
{
	struct vfio_iova_range *r = realloc(l->r, (l->n + 1) * sizeof(*r));

	if (!r)
		return -ENOMEM;
	r[l->n].start = start;
	r[l->n].end = end;
	l->r = r;
	l->n++;
	return 0;
}

/* Take [start, last] out of the list, splitting ranges. */
static int iova_list_exclude(struct type1_iova_list *l, uint64_t start, uint64_t last)
{
	struct type1_iova_list out = { 0 };
	int ret = 0;

	for (unsigned int i = 0; !ret && i < l->n; i++) {
		struct vfio_iova_range r = l->r[i];

		if (last < r.start || start > r.end) {
			ret = iova_list_add(&out, r.start, r.end);
			continue;
		}
		if (start > r.start)
			ret = iova_list_add(&out, r.start, start - 1);
		if (!ret && last < r.end)
			ret = iova_list_add(&out, last + 1, r.end);
	}
	free(l->r);
	*l = out;
	return ret;
}

/* The non-relaxable reserved regions of g taken out of the list. */
static int iova_list_exclude_resv(struct type1_iova_list *l, struct iommu_group *g)
{
	int ret = 0;

	uvf_mutex_lock(&g->lock);
	for (unsigned int i = 0; !ret && i < g->nresv; i++)
		if (!g->resv[i].relaxable)
			ret = iova_list_exclude(l, g->resv[i].start, g->resv[i].last);
	uvf_mutex_unlock(&g->lock);
	return ret;
}

#define for_each_iommu_group(iommu, d, tg)					\
	list_for_each_entry(d, &(iommu)->domain_list, next)			\
		list_for_each_entry(tg, &(d)->group_list, next)

/*
 * The valid IOVA list: the intersection of the apertures of every
 * IOMMU-backed group (plus 'extra', being attached), less every
 * non-relaxable reserved region.  -EINVAL if nothing is left.
 */
static int type1_build_iova_list(struct vfio_iommu *iommu, struct iommu_group *extra,
				 struct type1_iova_list *out)
{
	uint64_t start = 0, end = UINT64_MAX;
	struct type1_domain *d;
	struct type1_group *tg;
	bool any = extra != NULL;
	int ret;

	*out = (struct type1_iova_list){ 0 };
	if (extra) {
		start = extra->aperture_start;
		end = extra->aperture_end;
	}
	for_each_iommu_group(iommu, d, tg) {
		start = uvf_max(start, tg->iommu_group->aperture_start);
		end = uvf_min(end, tg->iommu_group->aperture_end);
		any = true;
	}
	if (!any)
		return 0;
	if (start > end)
		return -EINVAL;
	ret = iova_list_add(out, start, end);
	if (!ret && extra)
		ret = iova_list_exclude_resv(out, extra);
	for_each_iommu_group(iommu, d, tg)
		if (!ret)
			ret = iova_list_exclude_resv(out, tg->iommu_group);
	if (!ret && !out->n)
		ret = -EINVAL;
	if (ret) {
		free(out->r);
		*out = (struct type1_iova_list){ 0 };
	}
	return ret;
}

static void type1_install_iova_list(struct vfio_iommu *iommu, struct type1_iova_list *l)
{
	free(iommu->iovas.r);
	iommu->iovas = *l;
}

/*
 * Would g's aperture leave out the current list or an existing mapping, or
 * do its reserved regions cover a mapping?  (vfio_iommu_aper_conflict and
 * vfio_iommu_resv_conflict.)
 */
static bool type1_group_conflicts(struct vfio_iommu *iommu, struct iommu_group *g)
{
	uint64_t first, last;
	bool conflict = false;

	if (iommu->iovas.n) {
		first = iommu->iovas.r[0].start;
		last = iommu->iovas.r[iommu->iovas.n - 1].end;
		if (g->aperture_start > last || g->aperture_end < first)
			return true;
		if (g->aperture_start > first &&
		    type1_find_dma(iommu, first, g->aperture_start - 1))
			return true;
		if (g->aperture_end < last && type1_find_dma(iommu, g->aperture_end + 1, last))
			return true;
	}
	uvf_mutex_lock(&g->lock);
	for (unsigned int i = 0; !conflict && i < g->nresv; i++)
		conflict = !g->resv[i].relaxable &&
			   type1_find_dma(iommu, g->resv[i].start, g->resv[i].last);
	uvf_mutex_unlock(&g->lock);
	return conflict;
}

static struct type1_group *type1_find_group(struct vfio_iommu *iommu, struct iommu_group *g,
					    struct type1_domain **domain)
{
	struct type1_domain *d;
	struct type1_group *tg;

	for_each_iommu_group(iommu, d, tg) {
		if (tg->iommu_group == g) {
			*domain = d;
			return tg;
		}
	}
	*domain = NULL;
	list_for_each_entry(tg, &iommu->emulated_groups, next)
		if (tg->iommu_group == g)
			return tg;
	return NULL;
}

/* Attach g to a compatible domain of the container, or to a new one. */
static int type1_attach_domain(struct vfio_iommu *iommu, struct type1_group *tg)
{
	struct iommu_group *g = tg->iommu_group;
	/* VFIO turns enforcement on wherever the IOMMU can block No-Snoop. */
	bool enforce_cc = iommu_group_enforce_cache_coherency(g);
	struct type1_domain *d;
	int ret;

	list_for_each_entry(d, &iommu->domain_list, next) {
		if (d->enforce_cache_coherency == enforce_cc &&
		    !iommu_attach_group(d->domain, g)) {
			list_add(&tg->next, &d->group_list);
			return 0;
		}
	}
	/* iommu_enable_nesting() of a new domain: no emulated IOMMU nests */
	if (iommu->nesting)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	list_init(&d->group_list);
	d->enforce_cache_coherency = enforce_cc;
	d->domain = iommu_domain_alloc_paging(&iommu->iopt, g->pgsize_bitmap, g->aperture_start,
					      g->aperture_end, enforce_cc);
	if (!d->domain) {
		free(d);
		return -ENOMEM;
	}
	/* The first domain pins every existing mapping (the replay). */
	ret = iommu_attach_group(d->domain, g);
	if (ret) {
		iommu_domain_put(d->domain);
		free(d);
		return ret;
	}
	list_add(&tg->next, &d->group_list);
	list_add(&d->next, &iommu->domain_list);
	type1_update_pgsize_bitmap(iommu);
	return 0;
}

static int type1_attach_group(void *data, struct iommu_group *g, enum vfio_group_type type)
{
	struct vfio_iommu *iommu = data;
	struct type1_iova_list iovas;
	struct type1_domain *d;
	struct type1_group *tg = NULL;
	int ret;

	uvf_mutex_lock(&iommu->lock);
	ret = -EBUSY;	/* attaching may pin, which needs valid vaddrs */
	if (iommu->vaddr_invalid_count)
		goto out;
	ret = -EINVAL;
	if (type1_find_group(iommu, g, &d))
		goto out;
	ret = -ENOMEM;
	tg = calloc(1, sizeof(*tg));
	if (!tg)
		goto out;
	tg->iommu_group = g;
	if (type == VFIO_EMULATED_IOMMU) {
		/* Emulated groups dirty memory only through pinning/rw. */
		tg->pinned_page_dirty_scope = true;
		list_add(&tg->next, &iommu->emulated_groups);
		tg = NULL;
		ret = 0;
		goto out;
	}
	ret = -EINVAL;
	if (type1_group_conflicts(iommu, g))
		goto out;
	ret = type1_build_iova_list(iommu, g, &iovas);
	if (ret)
		goto out;
	if (!iommu->core->host->params.allow_unsafe_interrupts && !g->msi_isolated) {
		ret = -EPERM;
		free(iovas.r);
		goto out;
	}
	ret = type1_attach_domain(iommu, tg);
	if (ret) {
		free(iovas.r);
		goto out;
	}
	type1_install_iova_list(iommu, &iovas);
	iommu->num_non_pinned_groups++;
	tg = NULL;
out:
	uvf_mutex_unlock(&iommu->lock);
	free(tg);
	return ret;
}

static void type1_release_domain(struct type1_domain *d)
{
	struct type1_group *tg, *tmp;

	list_for_each_entry_safe(tg, tmp, &d->group_list, next) {
		iommu_detach_group(d->domain, tg->iommu_group);
		list_del_init(&tg->next);
		free(tg);
	}
	iommu_domain_put(d->domain);
}

/* After a group left: the list without its aperture and reserved regions.
 * Once only emulated groups remain, the whole space is valid. */
static void type1_refresh_iova_list(struct vfio_iommu *iommu)
{
	struct type1_iova_list iovas = { 0 };

	if (!list_empty(&iommu->domain_list)) {
		if (!type1_build_iova_list(iommu, NULL, &iovas))
			type1_install_iova_list(iommu, &iovas);
		return;
	}
	if (iommu->iovas.n && !iova_list_add(&iovas, 0, UINT64_MAX))
		type1_install_iova_list(iommu, &iovas);
}

static bool type1_is_only_domain(struct vfio_iommu *iommu, struct type1_domain *d)
{
	return iommu->domain_list.next == &d->next && d->next.next == &iommu->domain_list;
}

static void type1_detach_group(void *data, struct iommu_group *g)
{
	struct vfio_iommu *iommu = data;
	struct type1_domain *d;
	struct type1_group *tg;
	bool update_dirty_scope;

	uvf_mutex_lock(&iommu->lock);
	tg = type1_find_group(iommu, g, &d);
	if (!tg)
		goto out;
	update_dirty_scope = !tg->pinned_page_dirty_scope;
	list_del_init(&tg->next);
	free(tg);
	if (!d) {
		if (list_empty(&iommu->emulated_groups) && list_empty(&iommu->domain_list))
			type1_unmap_unpin_all(iommu);
	} else {
		iommu_detach_group(d->domain, g);
		/* The group was the privilege: an empty domain goes, and with
		 * the last one every mapping unless emulated groups remain (they
		 * keep the mappings, unpinned). */
		if (list_empty(&d->group_list)) {
			if (type1_is_only_domain(iommu, d) && list_empty(&iommu->emulated_groups))
				type1_unmap_unpin_all(iommu);
			list_del_init(&d->next);
			iommu_domain_put(d->domain);
			free(d);
			type1_update_pgsize_bitmap(iommu);
		}
		type1_refresh_iova_list(iommu);
	}
	if (update_dirty_scope) {
		iommu->num_non_pinned_groups--;
		if (iommu->dirty_page_tracking)
			type1_populate_bitmap_full(iommu);
	}
out:
	uvf_mutex_unlock(&iommu->lock);
}

/* ---- the backend ------------------------------------------------------------ */

static bool type1_has_emulated(struct vfio_iommu *iommu)
{
	bool ret;

	uvf_mutex_lock(&iommu->lock);
	ret = !list_empty(&iommu->emulated_groups);
	uvf_mutex_unlock(&iommu->lock);
	return ret;
}

static long type1_domains_enforce_cc(struct vfio_iommu *iommu)
{
	struct type1_domain *d;
	long ret = 1;

	uvf_mutex_lock(&iommu->lock);
	list_for_each_entry(d, &iommu->domain_list, next)
		if (!d->enforce_cache_coherency)
			ret = 0;
	uvf_mutex_unlock(&iommu->lock);
	return ret;
}

static long type1_check_extension(struct vfio_core *core, void *data, unsigned long arg)
{
	struct vfio_iommu *iommu = data;

	switch (arg) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_TYPE1_NESTING_IOMMU:
	case VFIO_UNMAP_ALL:
		return 1;
	case VFIO_UPDATE_VADDR:
		/* mdevs cannot pin or access safely while vaddrs move. */
		return iommu && !type1_has_emulated(iommu);
	case VFIO_DMA_CC_IOMMU:
		return iommu ? type1_domains_enforce_cc(iommu) : 0;
	default:
		return 0;
	}
}

static int type1_open(struct vfio_core *core, struct uvf_caller *c, unsigned long arg,
		      void **data)
{
	struct vfio_iommu *iommu;

	if (arg != VFIO_TYPE1_IOMMU && arg != VFIO_TYPE1v2_IOMMU &&
	    arg != VFIO_TYPE1_NESTING_IOMMU)
		return -EINVAL;
	iommu = calloc(1, sizeof(*iommu));
	if (!iommu)
		return -ENOMEM;
	iommu->core = core;
	iommu->nesting = arg == VFIO_TYPE1_NESTING_IOMMU;
	iommu->v2 = arg != VFIO_TYPE1_IOMMU;
	uvf_mutex_init(&iommu->lock);
	iopt_init(&iommu->iopt, UVF_PAGE_SIZE);
	iommu->iopt.release_front_data = type1_remove_dma;
	list_init(&iommu->domain_list);
	list_init(&iommu->emulated_groups);
	list_init(&iommu->pins);
	iommu->dma_avail = core->host->params.dma_entry_limit;
	iommu->pgsize_bitmap = TYPE1_PAGE_MASK;
	*data = iommu;
	return 0;
}

static void type1_release(void *data)
{
	struct vfio_iommu *iommu = data;
	struct type1_domain *d, *dtmp;
	struct type1_group *tg, *gtmp;

	list_for_each_entry_safe(tg, gtmp, &iommu->emulated_groups, next) {
		list_del_init(&tg->next);
		free(tg);
	}
	type1_unmap_unpin_all(iommu);
	/* No DMA reaches the table once every group is detached. */
	list_for_each_entry_safe(d, dtmp, &iommu->domain_list, next) {
		type1_release_domain(d);
		list_del_init(&d->next);
		free(d);
	}
	iopt_destroy(&iommu->iopt);
	free(iommu->iovas.r);
	uvf_mutex_destroy(&iommu->lock);
	free(iommu);
}

static long type1_ioctl(void *data, struct uvf_caller *c, unsigned int cmd, uint64_t arg)
{
	struct vfio_iommu *iommu = data;

	switch (cmd) {
	case VFIO_IOMMU_GET_INFO:
		return type1_get_info(iommu, c, arg);
	case VFIO_IOMMU_MAP_DMA:
		return type1_map_dma(iommu, c, arg);
	case VFIO_IOMMU_UNMAP_DMA:
		return type1_unmap_dma(iommu, c, arg);
	case VFIO_IOMMU_DIRTY_PAGES:
		return type1_dirty_pages(iommu, c, arg);
	default:
		return -ENOTTY;
	}
}

/*
 * One mapping's share of a dma_rw (vfio_iommu_type1_dma_rw_chunk): -EINVAL
 * where nothing is mapped, -EPERM for a mapping the device may not read
 * (even to write it) or a write to one it may not write, -EFAULT if the
 * memory cannot be reached.  iommu->lock held.
 */
static int type1_dma_rw_chunk(struct vfio_iommu *iommu, uint64_t iova, void *buf, size_t len,
			      bool write, size_t *done)
{
	struct iopt_area *a = type1_find_dma(iommu, iova, iova);
	uint64_t left;

	if (!a)
		return -EINVAL;
	if (!(a->prot & IOPT_READ) || (write && !(a->prot & IOPT_WRITE)))
		return -EPERM;
	left = iopt_area_last(a) - iova;
	*done = left < len - 1 ? (size_t)left + 1 : len;
	return iopt_rw(&iommu->iopt, iova, buf, *done, write, NULL);
}

static int type1_dma_rw(void *data, uint64_t iova, void *buf, size_t len, bool write)
{
	struct vfio_iommu *iommu = data;
	size_t done;
	int ret = 0;

	uvf_mutex_lock(&iommu->lock);
	if (iommu->vaddr_invalid_count)
		ret = -EBUSY;
	while (!ret && len) {
		ret = type1_dma_rw_chunk(iommu, iova, buf, len, write, &done);
		if (ret)
			break;
		buf = (uint8_t *)buf + done;
		len -= done;
		/* Nothing is mapped past the top of IOVA space. */
		if (check_add_overflow(iova, (uint64_t)done, &iova) && len)
			ret = -EINVAL;
	}
	uvf_mutex_unlock(&iommu->lock);
	return ret;
}

static struct type1_pin *type1_pin_find(struct vfio_iommu *iommu, struct vfio_device *vdev,
				       uint64_t iova)
{
	struct type1_pin *pin;

	list_for_each_entry(pin, &iommu->pins, link)
		if (pin->vdev == vdev && pin->iova == iova)
			return pin;
	return NULL;
}

static void type1_unpin_locked(struct vfio_iommu *iommu, struct vfio_device *vdev,
			       uint64_t iova, int npage)
{
	for (int i = 0; i < npage; i++) {
		struct type1_pin *pin = type1_pin_find(iommu, vdev,
						       iova + (uint64_t)i * UVF_PAGE_SIZE);

		if (pin && !--pin->count)
			type1_pin_free(pin);
	}
}

/*
 * vfio_iommu_type1_pin_pages: v2 only (-EACCES), not while vaddrs are
 * invalid (-EBUSY), each page inside a mapping (-EINVAL) that allows prot
 * (-EPERM); all or nothing.  The pages of a mapping stay reachable while
 * the table holds it, so a pin is this count and the unmap rule above.
 */
static int type1_pin_pages(void *data, struct vfio_device *vdev, uint64_t iova, int npage,
			   int prot)
{
	struct vfio_iommu *iommu = data;
	int i, ret = 0;

	if (!iommu->v2)
		return -EACCES;
	uvf_mutex_lock(&iommu->lock);
	if (iommu->vaddr_invalid_count)
		ret = -EBUSY;
	for (i = 0; !ret && i < npage; i++) {
		uint64_t page = iova + (uint64_t)i * UVF_PAGE_SIZE;
		struct iopt_area *a = type1_find_dma(iommu, page, page + UVF_PAGE_SIZE - 1);
		struct type1_pin *pin;

		if (!a) {
			ret = -EINVAL;
		} else if (((prot & IOMMU_READ) && !(a->prot & IOPT_READ)) ||
			   ((prot & IOMMU_WRITE) && !(a->prot & IOPT_WRITE))) {
			ret = -EPERM;
		} else if ((pin = type1_pin_find(iommu, vdev, page))) {
			pin->count++;
		} else if (!(pin = calloc(1, sizeof(*pin)))) {
			ret = -ENOMEM;
		} else {
			pin->vdev = vdev;
			pin->iova = page;
			pin->count = 1;
			list_add_tail(&pin->link, &iommu->pins);
		}
	}
	if (ret)
		type1_unpin_locked(iommu, vdev, iova, i - 1);
	uvf_mutex_unlock(&iommu->lock);
	return ret ? ret : npage;
}

static void type1_unpin_pages(void *data, struct vfio_device *vdev, uint64_t iova, int npage)
{
	struct vfio_iommu *iommu = data;

	uvf_mutex_lock(&iommu->lock);
	type1_unpin_locked(iommu, vdev, iova, npage);
	uvf_mutex_unlock(&iommu->lock);
}

static void type1_unpin_device(void *data, struct vfio_device *vdev)
{
	struct vfio_iommu *iommu = data;
	struct type1_pin *pin, *tmp;

	uvf_mutex_lock(&iommu->lock);
	list_for_each_entry_safe(pin, tmp, &iommu->pins, link)
		if (pin->vdev == vdev)
			type1_pin_free(pin);
	uvf_mutex_unlock(&iommu->lock);
}

const struct vfio_iommu_driver_ops vfio_type1_ops = {
	.name = "vfio-iommu-type1",
	.check_extension = type1_check_extension,
	.open = type1_open,
	.release = type1_release,
	.ioctl = type1_ioctl,
	.attach_group = type1_attach_group,
	.detach_group = type1_detach_group,
	.dma_rw = type1_dma_rw,
	.pin_pages = type1_pin_pages,
	.unpin_pages = type1_unpin_pages,
	.unpin_device = type1_unpin_device,
};
