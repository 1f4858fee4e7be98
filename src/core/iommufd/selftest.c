// SPDX-License-Identifier: MIT
/*
 * IOMMU_TEST_CMD (drivers/iommu/iommufd/selftest.c): the test interface the
 * kernel's iommufd selftests drive, served with the host option
 * iommufd_test.  It brings a mock IOMMU driver and mock devices:
 *
 *   - a mock device is a device of its own IOMMU group (made and freed
 *     with it, "iommufd_mockN"), bound to the context like any device;
 *     its IOMMU has 2 KiB IO pages (plus 1 MiB ones for HUGE_IOVA), the
 *     aperture [16 MiB, 2 GiB - 1], cache coherency and, unless NO_DIRTY,
 *     dirty tracking; nested HWPTs carry four mock IOTLB words;
 *   - its IOPTEs are the IOAS's mappings (every domain of an IOAS maps all
 *     of it): an IOPTE's "physical address" is the memory object and
 *     offset the io page table translates to, which MD_CHECK_MAP compares
 *     with the memory behind a user address, and a 1 MiB IOPTE is used
 *     where a HUGE_IOVA domain maps 1 MiB aligned and contiguous;
 *   - MD_CHECK_REFS counts pins of a user page from the host's pin
 *     registry: teardown expects 0 once the iommufd is closed;
 *   - access objects are real fds; closing one drops its pins.
 *
 * Lock order: staccess->lock -> access->ioas_lock -> iopt->lock (the
 * unmap callback takes staccess->lock with no other lock held).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "iommufd_private.h"
#include "iommufd_test.h"
#include "../iommu/iommu.h"
#include "../host/device.h"
#include "../host/file.h"
#include "../host/host.h"
#include "../base/bitmap.h"

#define MOCK_IO_PAGE_SIZE	(UVF_PAGE_SIZE / 2)
#define MOCK_HUGE_PAGE_SIZE	(512 * MOCK_IO_PAGE_SIZE)
#define MOCK_IO_PAGE_SHIFT	(UVF_PAGE_SHIFT - 1)
/* Test buffers above this are refused (kvzalloc sanity in the kernel). */
#define MOCK_ACCESS_MAX		(16ULL << 20)

static const struct iommufd_driver_ops mock_driver;

/* ---- mock devices -------------------------------------------------------------------- */

struct mock_dev {
	struct uvf_device dev;
	struct iommufd_core *core;
	uint32_t flags;			/* MOCK_FLAGS_DEVICE_* */
	uint32_t id;
};

static struct mock_dev *to_mock_dev(struct iommufd_device *idev)
{
	return idev->drv;
}

static int mock_dev_create(struct iommufd_core *core, uint32_t flags, struct mock_dev **out)
{
	struct iommu_group *g;
	struct mock_dev *mdev;
	int64_t id;
	int rc;

	if (flags & ~(MOCK_FLAGS_DEVICE_NO_DIRTY | MOCK_FLAGS_DEVICE_HUGE_IOVA |
		      MOCK_FLAGS_DEVICE_PASID))
		return -EINVAL;
	mdev = iommufd_should_fail() ? NULL : calloc(1, sizeof(*mdev));
	if (!mdev)
		return -ENOMEM;
	uvf_mutex_lock(&core->lock);
	id = idtable_alloc(&core->mock_ids, mdev, 0, INT32_MAX);
	uvf_mutex_unlock(&core->lock);
	if (id < 0) {
		free(mdev);
		return (int)id;
	}
	mdev->core = core;
	mdev->flags = flags;
	mdev->id = (uint32_t)id;
	mdev->dev.host = core->host;
	mdev->dev.bus = "iommufd_mock";
	snprintf(mdev->dev.name, sizeof(mdev->dev.name), "iommufd_mock%u", mdev->id);
	list_init(&mdev->dev.group_link);
	list_init(&mdev->dev.host_link);
	/* A group of its own, as the mock bus's generic_device_group. */
	g = iommu_group_alloc(core->host);
	rc = g ? 0 : -ENOMEM;
	if (!rc) {
		g->pgsize_bitmap = MOCK_IO_PAGE_SIZE;
		if (flags & MOCK_FLAGS_DEVICE_HUGE_IOVA)
			g->pgsize_bitmap |= MOCK_HUGE_PAGE_SIZE;
		g->aperture_start = MOCK_APERTURE_START;
		g->aperture_end = MOCK_APERTURE_LAST;
		rc = iommu_group_add_device(g, &mdev->dev);
		iommu_group_put(g);	/* the device holds it */
	}
	if (rc) {
		uvf_mutex_lock(&core->lock);
		idtable_remove(&core->mock_ids, mdev->id);
		uvf_mutex_unlock(&core->lock);
		free(mdev);
		return rc;
	}
	*out = mdev;
	return 0;
}

static void mock_dev_destroy(struct mock_dev *mdev)
{
	struct iommufd_core *core = mdev->core;

	iommu_group_remove_device(&mdev->dev);
	uvf_mutex_lock(&core->lock);
	idtable_remove(&core->mock_ids, mdev->id);
	uvf_mutex_unlock(&core->lock);
	free(mdev);
}

/* ---- the mock IOMMU driver ------------------------------------------------------------- */

struct mock_domain {
	bool dirty_tracking;		/* MOCK_DIRTY_TRACK */
};

struct mock_nested {
	uint32_t iotlb[MOCK_NESTED_DOMAIN_IOTLB_NUM];
};

static int mock_hw_info(struct iommufd_device *idev, uint32_t in_type, void **data,
			uint32_t *len, uint32_t *type)
{
	struct iommu_test_hw_info *info;

	if (in_type != IOMMU_HW_INFO_TYPE_DEFAULT && in_type != IOMMU_HW_INFO_TYPE_SELFTEST)
		return -EOPNOTSUPP;
	info = calloc(1, sizeof(*info));
	if (!info)
		return -ENOMEM;
	info->test_reg = IOMMU_HW_INFO_SELFTEST_REGVAL;
	*data = info;
	*len = sizeof(*info);
	*type = IOMMU_HW_INFO_TYPE_SELFTEST;
	return 0;
}

static bool mock_dirty_capable(struct iommufd_device *idev)
{
	return !(to_mock_dev(idev)->flags & MOCK_FLAGS_DEVICE_NO_DIRTY);
}

static uint8_t mock_max_pasid_log2(struct iommufd_device *idev)
{
	return to_mock_dev(idev)->flags & MOCK_FLAGS_DEVICE_PASID ? MOCK_PASID_WIDTH : 0;
}

static int mock_alloc_paging(struct iommufd_device *idev, struct iommufd_hwpt_paging *hwpt,
			     uint32_t flags, const struct iommufd_user_data *data)
{
	struct iommu_group *g = idev->igroup->group;
	struct mock_domain *md;

	if (data || ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) && !mock_dirty_capable(idev)))
		return -EOPNOTSUPP;
	md = calloc(1, sizeof(*md));
	if (!md)
		return -ENOMEM;
	hwpt->common.drv = md;
	hwpt->common.domain = iommu_domain_alloc_paging(&hwpt->ioas->iopt, g->pgsize_bitmap,
							MOCK_APERTURE_START,
							MOCK_APERTURE_LAST, true);
	if (!hwpt->common.domain)
		return -ENOMEM;
	hwpt->dirty_pgshift = MOCK_IO_PAGE_SHIFT;
	return 0;
}

static int mock_alloc_nested(struct iommufd_device *idev, struct iommufd_hw_pagetable *hwpt,
			     struct iommufd_hwpt_paging *parent, uint32_t flags,
			     const struct iommufd_user_data *data, struct uvf_caller *c)
{
	struct iommu_hwpt_selftest cfg;
	struct mock_nested *mn;
	int rc;

	if (data->type != IOMMU_HWPT_DATA_SELFTEST || flags)
		return -EOPNOTSUPP;
	rc = iommufd_copy_user_data(c, &cfg, sizeof(cfg), offsetofend(struct iommu_hwpt_selftest,
								      iotlb),
				    IOMMU_HWPT_DATA_SELFTEST, data);
	if (rc)
		return rc;
	mn = calloc(1, sizeof(*mn));
	if (!mn)
		return -ENOMEM;
	for (int i = 0; i < MOCK_NESTED_DOMAIN_IOTLB_NUM; i++)
		mn->iotlb[i] = cfg.iotlb;
	hwpt->drv = mn;
	return 0;
}

/* mock_domain_nop_attach: any mock domain, but no dirty tracking for a
 * NO_DIRTY device. */
static int mock_attach_check(struct iommufd_device *idev, struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_hwpt_paging *paging = to_hwpt_paging(hwpt);

	if (hwpt->ops != &mock_driver)
		return -EINVAL;
	if (paging && paging->dirty_ops && !mock_dirty_capable(idev))
		return -EINVAL;
	return 0;
}

static int mock_set_dirty_tracking(struct iommufd_hwpt_paging *hwpt, bool enable)
{
	struct mock_domain *md = hwpt->common.drv;

	if (enable && !hwpt->dirty_ops)
		return -EINVAL;
	md->dirty_tracking = enable;
	return 0;
}

/* Is the IOPTE at iova a 1 MiB one: a HUGE_IOVA domain, the aligned MiB
 * inside one mapping, and the memory behind it aligned and contiguous? */
static bool mock_iopte_huge(struct iommufd_hwpt_paging *hwpt, uint64_t iova)
{
	struct io_pagetable *iopt = &hwpt->ioas->iopt;
	uint64_t head = ALIGN_DOWN(iova, MOCK_HUGE_PAGE_SIZE), off, contig;
	struct uvf_memobj *obj;
	struct iopt_area *a;
	bool inside;

	if (!(hwpt->common.domain->pgsize_bitmap & MOCK_HUGE_PAGE_SIZE))
		return false;
	uvf_read_lock(&iopt->lock);
	a = iopt_area_find(iopt, head);
	inside = a && iopt_area_last(a) >= head + MOCK_HUGE_PAGE_SIZE - 1;
	uvf_rw_unlock(&iopt->lock);
	if (!inside || iopt_pinned_ident(iopt, head, &obj, &off, &contig))
		return false;
	return IS_ALIGNED(off, MOCK_HUGE_PAGE_SIZE) && contig >= MOCK_HUGE_PAGE_SIZE;
}

/* Test-and-clear the dirty IOPTE slots of [iova, iova + len). */
static bool mock_test_and_clear_dirty(struct iommufd_hwpt_paging *hwpt, uint64_t iova,
				      uint64_t len, bool no_clear)
{
	uint64_t nbits = len >> MOCK_IO_PAGE_SHIFT;
	unsigned long *bits = bitmap_zalloc(nbits);
	bool dirty;

	if (!bits)
		return false;
	iopt_read_dirty(&hwpt->ioas->iopt, iova, len, bits, no_clear);
	dirty = !bitmap_empty(bits, nbits);
	bitmap_free(bits);
	return dirty;
}

/* One mapped piece of the IOAS: every IOPTE in it, a huge one reported
 * whole (mock_domain_read_and_clear_dirty). */
static int mock_read_and_clear_dirty(struct iommufd_hwpt_paging *hwpt, uint64_t iova,
				     uint64_t length, bool no_clear,
				     struct iommufd_dirty_bitmap *dirty)
{
	struct mock_domain *md = hwpt->common.drv;
	uint64_t end = iova + length, cur = iova, head;
	unsigned long *bits;
	uint64_t nbits;

	if (!md->dirty_tracking)
		return -EINVAL;
	if (!(hwpt->common.domain->pgsize_bitmap & MOCK_HUGE_PAGE_SIZE)) {
		/* Every IOPTE is one dirty bit of the table: read them at once. */
		nbits = length >> MOCK_IO_PAGE_SHIFT;
		bits = bitmap_zalloc(nbits);
		if (!bits)
			return -ENOMEM;
		iopt_read_dirty(&hwpt->ioas->iopt, iova, length, bits, no_clear);
		for (uint64_t i = find_next_bit(bits, nbits, 0); i < nbits;
		     i = find_next_bit(bits, nbits, i + 1))
			iommufd_dirty_record(dirty, iova + (i << MOCK_IO_PAGE_SHIFT),
					     MOCK_IO_PAGE_SIZE);
		bitmap_free(bits);
		return 0;
	}
	while (cur < end) {
		uint64_t pgsize = MOCK_IO_PAGE_SIZE;

		if (mock_iopte_huge(hwpt, cur))
			pgsize = MOCK_HUGE_PAGE_SIZE;
		head = ALIGN_DOWN(cur, pgsize);
		if (mock_test_and_clear_dirty(hwpt, head, pgsize, no_clear))
			iommufd_dirty_record(dirty, cur, pgsize);
		cur += pgsize;
	}
	return 0;
}

static int mock_cache_invalidate_user(struct iommufd_hw_pagetable *hwpt, struct uvf_caller *c,
				      struct iommufd_user_data_array *array)
{
	struct mock_nested *mn = hwpt->drv;
	struct iommu_hwpt_invalidate_selftest inv;
	uint32_t processed = 0;
	int rc = 0;

	if (array->type != IOMMU_HWPT_INVALIDATE_DATA_SELFTEST) {
		rc = -EINVAL;
		goto out;
	}
	for (uint32_t i = 0; i < array->entry_num; i++) {
		rc = iommufd_copy_user_data_array(c, &inv, sizeof(inv),
						  offsetofend(struct iommu_hwpt_invalidate_selftest,
							      iotlb_id),
						  IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, array, i);
		if (rc)
			break;
		if (inv.flags & ~IOMMU_TEST_INVALIDATE_FLAG_ALL) {
			rc = -EOPNOTSUPP;
			break;
		}
		if (inv.iotlb_id > MOCK_NESTED_DOMAIN_IOTLB_ID_MAX) {
			rc = -EINVAL;
			break;
		}
		if (inv.flags & IOMMU_TEST_INVALIDATE_FLAG_ALL)
			memset(mn->iotlb, 0, sizeof(mn->iotlb));
		else
			mn->iotlb[inv.iotlb_id] = 0;
		processed++;
	}
out:
	array->entry_num = processed;
	return rc;
}

static void mock_hwpt_free(struct iommufd_hw_pagetable *hwpt)
{
	free(hwpt->drv);
	hwpt->drv = NULL;
}

static const struct iommufd_driver_ops mock_driver = {
	.name = "mock",
	.hw_info = mock_hw_info,
	.dirty_capable = mock_dirty_capable,
	.max_pasid_log2 = mock_max_pasid_log2,
	.alloc_paging = mock_alloc_paging,
	.alloc_nested = mock_alloc_nested,
	.attach_check = mock_attach_check,
	.set_dirty_tracking = mock_set_dirty_tracking,
	.read_and_clear_dirty = mock_read_and_clear_dirty,
	.cache_invalidate_user = mock_cache_invalidate_user,
	.hwpt_free = mock_hwpt_free,
};

/* ---- mock domains (selftest objects) --------------------------------------------------- */

struct selftest_obj {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct iommufd_device *idev;
	struct mock_dev *mdev;
};

void iommufd_selftest_destroy(struct iommufd_object *obj)
{
	struct selftest_obj *sobj = container_of(obj, struct selftest_obj, obj);

	iommufd_device_detach(sobj->idev);
	iommufd_device_unbind(sobj->idev);
	mock_dev_destroy(sobj->mdev);
}

static int iommufd_test_mock_domain(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	struct iommufd_ctx *ictx = ucmd->ictx;
	uint32_t pt_id = cmd->id, dev_flags = 0, idev_id;
	struct selftest_obj *sobj;
	int rc;

	sobj = iommufd_object_alloc(ictx, sizeof(*sobj), IOMMUFD_OBJ_SELFTEST, &rc);
	if (!sobj)
		return rc;
	sobj->ictx = ictx;
	if (cmd->op == IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS)
		dev_flags = cmd->mock_domain_flags.dev_flags;
	rc = mock_dev_create(ictx->core, dev_flags, &sobj->mdev);
	if (rc)
		goto out_sobj;
	/* The mock device holds no reference on the context: it goes with it. */
	rc = __iommufd_device_bind(ictx, &sobj->mdev->dev, &mock_driver, sobj->mdev, false,
				   &idev_id, &sobj->idev);
	if (rc)
		goto out_mdev;
	rc = iommufd_device_attach(sobj->idev, &pt_id);
	if (rc)
		goto out_unbind;
	cmd->mock_domain.out_hwpt_id = pt_id;
	cmd->mock_domain.out_stdev_id = sobj->obj.id;
	cmd->mock_domain.out_idev_id = idev_id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_detach;
	iommufd_object_finalize(ictx, &sobj->obj);
	return 0;

out_detach:
	iommufd_device_detach(sobj->idev);
out_unbind:
	iommufd_device_unbind(sobj->idev);
out_mdev:
	mock_dev_destroy(sobj->mdev);
out_sobj:
	iommufd_object_abort(ictx, &sobj->obj);
	return rc;
}

static int iommufd_test_mock_domain_replace(struct iommufd_ucmd *ucmd, uint32_t device_id,
					    uint32_t pt_id, struct iommu_test_cmd *cmd)
{
	struct iommufd_object *obj;
	struct selftest_obj *sobj;
	int rc;

	rc = iommufd_get_object(ucmd->ictx, device_id, IOMMUFD_OBJ_SELFTEST, &obj);
	if (rc)
		return rc;
	sobj = container_of(obj, struct selftest_obj, obj);
	rc = iommufd_device_replace(sobj->idev, &pt_id);
	if (!rc) {
		cmd->mock_domain_replace.pt_id = pt_id;
		rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
	iommufd_put_object(ucmd->ictx, obj);
	return rc;
}

static int iommufd_test_add_reserved(struct iommufd_ucmd *ucmd, uint32_t ioas_id,
				     uint64_t start, uint64_t length)
{
	struct iommufd_ioas *ioas;
	uint64_t last;
	int rc;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(start, length - 1, &last))
		return -EOVERFLOW;
	rc = iommufd_get_ioas(ucmd->ictx, ioas_id, &ioas);
	if (rc)
		return rc;
	rc = iopt_reserve_owner(&ioas->iopt, start, last, NULL);
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/* A mock paging HWPT: -ENOENT unknown, -EINVAL not the mock driver's. */
static int get_md_pagetable(struct iommufd_ucmd *ucmd, uint32_t id,
			    struct iommufd_hwpt_paging **out)
{
	int rc = iommufd_get_hwpt_paging(ucmd->ictx, id, out);

	if (!rc && (*out)->common.ops != &mock_driver) {
		iommufd_put_object(ucmd->ictx, &(*out)->common.obj);
		rc = -EINVAL;
	}
	return rc;
}

/* ---- user memory identity --------------------------------------------------------------- */

/* The caller's memory behind [uptr, uptr + len), resolved once. */
struct user_range {
	struct uvf_mem_seg *segs;
	int n;
};

static int user_range_resolve(struct uvf_caller *c, uint64_t uptr, uint64_t len,
			      struct user_range *r)
{
	int max = 8;

	if (!c->mm)
		return -EFAULT;
	for (;;) {
		r->segs = calloc((size_t)max, sizeof(*r->segs));
		if (!r->segs)
			return -ENOMEM;
		r->n = c->mm->ops->resolve(c->mm, uptr, len, false, r->segs, max);
		if (r->n > 0)
			return 0;
		free(r->segs);
		r->segs = NULL;
		if (r->n != -E2BIG || max >= (1 << 20))
			return r->n == -E2BIG ? -ENOMEM : -EFAULT;
		max *= 8;
	}
}

static void user_range_free(struct user_range *r)
{
	for (int i = 0; i < r->n; i++)
		memobj_put(r->segs[i].obj);
	free(r->segs);
}

/* The memory of byte 'at' of the range. */
static void user_range_at(const struct user_range *r, uint64_t at, struct uvf_memobj **obj,
			  uint64_t *off)
{
	for (int i = 0; i < r->n; i++) {
		if (at < r->segs[i].len) {
			*obj = r->segs[i].obj;
			*off = r->segs[i].off + at;
			return;
		}
		at -= r->segs[i].len;
	}
	*obj = NULL;
	*off = 0;
}

/* Every IOPTE under [iova, iova + length) holds the page under uptr. */
static int iommufd_test_md_check_pa(struct iommufd_ucmd *ucmd, uint32_t id, uint64_t iova,
				    uint64_t length, uint64_t uptr)
{
	struct iommufd_hwpt_paging *hwpt;
	struct user_range r = { 0 };
	uint64_t end, done;
	int rc;

	if (iova % MOCK_IO_PAGE_SIZE || length % MOCK_IO_PAGE_SIZE ||
	    uptr % MOCK_IO_PAGE_SIZE || check_add_overflow(uptr, length, &end))
		return -EINVAL;
	rc = get_md_pagetable(ucmd, id, &hwpt);
	if (rc || !length)
		goto out_noput;
	rc = user_range_resolve(ucmd->caller, uptr, length, &r);
	for (done = 0; !rc && done < length; done += MOCK_IO_PAGE_SIZE) {
		struct uvf_memobj *pobj, *uobj;
		uint64_t poff, uoff, contig;

		user_range_at(&r, done, &uobj, &uoff);
		if (iopt_pinned_ident(&hwpt->ioas->iopt, iova + done, &pobj, &poff, &contig) ||
		    pobj != uobj || poff != uoff)
			rc = -EINVAL;
	}
	user_range_free(&r);
	iommufd_put_object(ucmd->ictx, &hwpt->common.obj);
out_noput:
	return rc;
}

/* Every page under uptr has 'refs' pins (FOLL_PIN references). */
static int iommufd_test_md_check_refs(struct iommufd_ucmd *ucmd, uint64_t uptr,
				      uint64_t length, uint32_t refs)
{
	struct user_range r = { 0 };
	uint64_t end;
	int rc;

	if (length % UVF_PAGE_SIZE || uptr % UVF_PAGE_SIZE || check_add_overflow(uptr, length, &end))
		return -EINVAL;
	if (!length)
		return 0;
	rc = user_range_resolve(ucmd->caller, uptr, length, &r);
	for (uint64_t done = 0; !rc && done < length; done += UVF_PAGE_SIZE) {
		struct uvf_memobj *obj;
		uint64_t off;

		user_range_at(&r, done, &obj, &off);
		if (iopt_pages_registry_refs(&ucmd->ictx->core->pins, obj, off) != refs)
			rc = -EIO;
	}
	user_range_free(&r);
	return rc;
}

static int iommufd_test_md_check_iotlb(struct iommufd_ucmd *ucmd, uint32_t id,
				       uint32_t iotlb_id, uint32_t iotlb)
{
	struct iommufd_object *obj;
	struct iommufd_hw_pagetable *hwpt;
	struct mock_nested *mn;
	int rc;

	rc = iommufd_get_object(ucmd->ictx, id, IOMMUFD_OBJ_HWPT_NESTED, &obj);
	if (rc)
		return rc;
	hwpt = container_of(obj, struct iommufd_hw_pagetable, obj);
	mn = hwpt->drv;
	if (hwpt->ops != &mock_driver || iotlb_id > MOCK_NESTED_DOMAIN_IOTLB_ID_MAX ||
	    mn->iotlb[iotlb_id] != iotlb)
		rc = -EINVAL;
	iommufd_put_object(ucmd->ictx, obj);
	return rc;
}

/* ---- access objects ---------------------------------------------------------------------- */

struct selftest_access {
	struct iommufd_access *access;
	struct uvf_file *file;
	struct uvf_mutex lock;		/* items */
	struct list_head items;
	uint32_t next_id;
};

struct selftest_access_item {
	struct list_head items_elm;
	uint64_t iova;
	uint64_t length;
	uint32_t id;
};

static const struct uvf_file_ops iommufd_test_staccess_fops;

/* The access behind the caller's fd, with a file reference: -EBADFD. */
static int iommufd_access_get(struct uvf_caller *c, uint32_t fd, struct selftest_access **out)
{
	struct uvf_file *f = caller_fget(c, (int)fd);

	if (!f)
		return -EBADFD;
	if (f->ops != &iommufd_test_staccess_fops) {
		file_put(f);
		return -EBADFD;
	}
	*out = f->private_data;
	return 0;
}

/* The access unmap callback: drop every item in the range. */
static void iommufd_test_access_unmap(void *data, uint64_t iova, uint64_t length)
{
	uint64_t last = iova + length - 1;
	struct selftest_access *staccess = data;
	struct selftest_access_item *item, *tmp;

	uvf_mutex_lock(&staccess->lock);
	list_for_each_entry_safe(item, tmp, &staccess->items, items_elm) {
		if (iova > item->iova + item->length - 1 || last < item->iova)
			continue;
		list_del_init(&item->items_elm);
		iommufd_access_unpin_pages(staccess->access, item->iova, item->length);
		free(item);
	}
	uvf_mutex_unlock(&staccess->lock);
}

static const struct iommufd_access_ops selftest_access_ops_pin = {
	.needs_pin_pages = true,
	.unmap = iommufd_test_access_unmap,
};

static const struct iommufd_access_ops selftest_access_ops = {
	.unmap = iommufd_test_access_unmap,
};

static void iommufd_test_staccess_release(struct uvf_file *f)
{
	struct selftest_access *staccess = f->private_data;

	if (staccess->access) {
		iommufd_test_access_unmap(staccess, 0, UINT64_MAX);
		iommufd_access_destroy(staccess->access);
	}
	uvf_mutex_destroy(&staccess->lock);
	free(staccess);
}

static const struct uvf_file_ops iommufd_test_staccess_fops = {
	.name = "iommufd-test-access",
	.release = iommufd_test_staccess_release,
};

static int iommufd_test_create_access(struct iommufd_ucmd *ucmd, uint32_t ioas_id,
				      uint32_t flags)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;
	struct selftest_access *staccess;
	struct iommufd_access *access;
	uint32_t id;
	int rc, fd;

	if (flags & ~MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES)
		return -EOPNOTSUPP;
	staccess = calloc(1, sizeof(*staccess));
	if (!staccess)
		return -ENOMEM;
	list_init(&staccess->items);
	uvf_mutex_init(&staccess->lock);
	staccess->file = file_alloc(ucmd->ictx->core->host, &iommufd_test_staccess_fops,
				    staccess, O_RDWR, ucmd->caller);
	if (!staccess->file) {
		uvf_mutex_destroy(&staccess->lock);
		free(staccess);
		return -ENOMEM;
	}
	rc = iommufd_access_create(ucmd->ictx,
				   flags & MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES ?
					&selftest_access_ops_pin : &selftest_access_ops,
				   staccess, &id, &access);
	if (rc)
		goto out_file;
	rc = iommufd_access_attach(access, ioas_id);
	if (rc) {
		iommufd_access_destroy(access);
		goto out_file;
	}
	staccess->access = access;
	fd = caller_fd_install(ucmd->caller, staccess->file, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fd;
	cmd->create_access.out_access_fd = (uint32_t)fd;
	return iommufd_ucmd_respond(ucmd, sizeof(*cmd));

out_file:
	file_put(staccess->file);
	return rc;
}

static int iommufd_test_access_replace_ioas(struct iommufd_ucmd *ucmd, uint32_t access_fd,
					    uint32_t ioas_id)
{
	struct selftest_access *staccess;
	int rc = iommufd_access_get(ucmd->caller, access_fd, &staccess);

	if (rc)
		return rc;
	rc = iommufd_access_replace(staccess->access, ioas_id);
	file_put(staccess->file);
	return rc;
}

static int iommufd_test_access_item_destroy(struct iommufd_ucmd *ucmd, uint32_t access_fd,
					    uint32_t item_id)
{
	struct selftest_access_item *item;
	struct selftest_access *staccess;
	int rc = iommufd_access_get(ucmd->caller, access_fd, &staccess);

	if (rc)
		return rc;
	rc = -ENOENT;
	uvf_mutex_lock(&staccess->lock);
	list_for_each_entry(item, &staccess->items, items_elm) {
		if (item->id == item_id) {
			list_del_init(&item->items_elm);
			iommufd_access_unpin_pages(staccess->access, item->iova, item->length);
			free(item);
			rc = 0;
			break;
		}
	}
	uvf_mutex_unlock(&staccess->lock);
	file_put(staccess->file);
	return rc;
}

/* The syzkaller layout of an IOVA: the nth area and an offset into it. */
static uint64_t iommufd_test_syz_conv_iova(struct iommufd_access *access, uint64_t iova)
{
	uint32_t nth = (uint32_t)iova, offset = (uint32_t)(iova >> 32);
	struct io_pagetable *iopt;
	struct iopt_area *a;
	uint64_t ret = 0;

	uvf_mutex_lock(&access->ioas_lock);
	if (access->ioas) {
		iopt = &access->ioas->iopt;
		uvf_read_lock(&iopt->lock);
		for (a = iopt_area_first(iopt, 0, UINT64_MAX); a;
		     a = iopt_area_next(a, 0, UINT64_MAX)) {
			if (!nth--) {
				ret = iopt_area_iova(a) + offset;
				break;
			}
		}
		uvf_rw_unlock(&iopt->lock);
	}
	uvf_mutex_unlock(&access->ioas_lock);
	return ret;
}

/* The pinned pages are the pages under the user's buffer (-EBADE). */
static int iommufd_test_check_pages(struct iommufd_ucmd *ucmd, struct iommufd_access *access,
				    uint64_t iova, uint64_t length, uint64_t uptr)
{
	uint64_t head = iova % UVF_PAGE_SIZE, last = iova + length - 1;
	uint64_t npages = (ALIGN_UP(iova + length, UVF_PAGE_SIZE) - ALIGN_DOWN(iova, UVF_PAGE_SIZE)) /
			  UVF_PAGE_SIZE;
	struct user_range r = { 0 };
	int rc;

	if (uptr < head)
		return -EFAULT;
	rc = user_range_resolve(ucmd->caller, uptr - head, npages * UVF_PAGE_SIZE, &r);
	for (uint64_t i = 0; !rc && i < npages; i++) {
		struct uvf_memobj *pobj, *uobj;
		uint64_t poff, uoff, contig;

		user_range_at(&r, i * UVF_PAGE_SIZE, &uobj, &uoff);
		uvf_mutex_lock(&access->ioas_lock);
		rc = access->ioas ? iopt_pinned_ident(&access->ioas->iopt,
						      uvf_min(iova + i * UVF_PAGE_SIZE, last),
						      &pobj, &poff, &contig)
				  : -ENOENT;
		uvf_mutex_unlock(&access->ioas_lock);
		if (rc || pobj != uobj ||
		    ALIGN_DOWN(poff, UVF_PAGE_SIZE) != ALIGN_DOWN(uoff, UVF_PAGE_SIZE))
			rc = -EBADE;
	}
	user_range_free(&r);
	return rc;
}

static int iommufd_test_access_pages(struct iommufd_ucmd *ucmd, uint32_t access_fd,
				     uint64_t iova, uint64_t length, uint64_t uptr,
				     uint32_t flags)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;
	struct selftest_access_item *item;
	struct selftest_access *staccess;
	int rc;

	if (length > MOCK_ACCESS_MAX)
		return -ENOMEM;
	if (flags & ~(MOCK_FLAGS_ACCESS_WRITE | MOCK_FLAGS_ACCESS_SYZ))
		return -EOPNOTSUPP;
	rc = iommufd_access_get(ucmd->caller, access_fd, &staccess);
	if (rc)
		return rc;
	if (staccess->access->ops != &selftest_access_ops_pin) {
		rc = -EOPNOTSUPP;
		goto out_put;
	}
	if (flags & MOCK_FLAGS_ACCESS_SYZ)
		iova = iommufd_test_syz_conv_iova(staccess->access, iova);
	/* Pins and unmaps must not cross: one lock around both. */
	uvf_mutex_lock(&staccess->lock);
	rc = iommufd_access_pin_pages(staccess->access, iova, length,
				      flags & MOCK_FLAGS_ACCESS_WRITE ? IOMMUFD_ACCESS_RW_WRITE : 0);
	if (rc)
		goto out_unlock;
	/* A NULL uptr skips the check. */
	if (uptr) {
		rc = iommufd_test_check_pages(ucmd, staccess->access, iova, length, uptr);
		if (rc)
			goto out_unaccess;
	}
	item = calloc(1, sizeof(*item));
	if (!item) {
		rc = -ENOMEM;
		goto out_unaccess;
	}
	item->iova = iova;
	item->length = length;
	item->id = staccess->next_id++;
	list_add_tail(&item->items_elm, &staccess->items);
	cmd->access_pages.out_access_pages_id = item->id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc) {
		list_del_init(&item->items_elm);
		free(item);
		goto out_unaccess;
	}
	goto out_unlock;

out_unaccess:
	iommufd_access_unpin_pages(staccess->access, iova, length);
out_unlock:
	uvf_mutex_unlock(&staccess->lock);
out_put:
	file_put(staccess->file);
	return rc;
}

static int iommufd_test_access_rw(struct iommufd_ucmd *ucmd, uint32_t access_fd, uint64_t iova,
				  uint64_t length, uint64_t ubuf, uint32_t flags)
{
	struct selftest_access *staccess;
	void *tmp;
	int rc;

	if (length > MOCK_ACCESS_MAX)
		return -ENOMEM;
	if (flags & ~(MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH | MOCK_FLAGS_ACCESS_SYZ))
		return -EOPNOTSUPP;
	rc = iommufd_access_get(ucmd->caller, access_fd, &staccess);
	if (rc)
		return rc;
	tmp = iommufd_should_fail() ? NULL : calloc(1, length ? length : 1);
	if (!tmp) {
		rc = -ENOMEM;
		goto out_put;
	}
	if ((flags & MOCK_ACCESS_RW_WRITE) && copy_from_user(ucmd->caller, tmp, ubuf, length)) {
		rc = -EFAULT;
		goto out_free;
	}
	if (flags & MOCK_FLAGS_ACCESS_SYZ)
		iova = iommufd_test_syz_conv_iova(staccess->access, iova);
	rc = iommufd_access_rw(staccess->access, iova, tmp, length,
			       flags & MOCK_ACCESS_RW_WRITE ? IOMMUFD_ACCESS_RW_WRITE : 0);
	if (!rc && !(flags & MOCK_ACCESS_RW_WRITE) &&
	    copy_to_user(ucmd->caller, ubuf, tmp, length))
		rc = -EFAULT;
out_free:
	free(tmp);
out_put:
	file_put(staccess->file);
	return rc;
}

/* ---- dirty and faults --------------------------------------------------------------------- */

/* Does an IOPTE exist at iova?  The domain maps what its IOAS maps. */
static bool mock_iopte_exists(struct iommufd_hwpt_paging *hwpt, uint64_t iova)
{
	struct uvf_memobj *obj;
	uint64_t off, contig;

	return !iopt_pinned_ident(&hwpt->ioas->iopt, iova, &obj, &off, &contig);
}

/* Mark dirty the IOPTEs the user's bitmap selects (the device wrote them). */
static int iommufd_test_dirty(struct iommufd_ucmd *ucmd, uint32_t id, uint64_t iova,
			      uint64_t length, uint64_t page_size, uint64_t uptr)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;
	struct iommufd_hwpt_paging *hwpt;
	unsigned long *bits = NULL;
	uint64_t max, count = 0;
	int rc;

	if (!page_size || !length || iova % page_size || length % page_size || !uptr)
		return -EINVAL;
	max = length / page_size;
	if (max > (16ULL << 20) * 8)
		return -EOVERFLOW;
	rc = get_md_pagetable(ucmd, id, &hwpt);
	if (rc)
		return rc;
	if (!((struct mock_domain *)hwpt->common.drv)->dirty_tracking) {
		rc = -EINVAL;
		goto out;
	}
	bits = bitmap_zalloc(max);
	if (!bits) {
		rc = -ENOMEM;
		goto out;
	}
	if (copy_from_user(ucmd->caller, bits, uptr, (max + 7) / 8)) {
		rc = -EFAULT;
		goto out;
	}
	for (uint64_t i = find_next_bit(bits, max, 0); i < max; i = find_next_bit(bits, max, i + 1)) {
		uint64_t cur = iova + i * page_size;

		if (!mock_iopte_exists(hwpt, cur))
			continue;
		iopt_mark_dirty(&hwpt->ioas->iopt, cur, MOCK_IO_PAGE_SIZE);
		count++;
	}
	cmd->dirty.out_nr_dirty = count;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out:
	bitmap_free(bits);
	iommufd_put_object(ucmd->ictx, &hwpt->common.obj);
	return rc;
}

static int iommufd_test_trigger_iopf(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	struct iommufd_device *idev;
	uint32_t flags = IOMMU_PGFAULT_FLAGS_LAST_PAGE;
	int rc;

	rc = iommufd_get_device(ucmd->ictx, cmd->trigger_iopf.dev_id, &idev);
	if (rc)
		return rc;
	if (idev->ops != &mock_driver) {
		rc = -EINVAL;
		goto out;
	}
	if (cmd->trigger_iopf.pasid)
		flags |= IOMMU_PGFAULT_FLAGS_PASID_VALID;
	rc = iommufd_fault_report(idev, flags, cmd->trigger_iopf.pasid, cmd->trigger_iopf.grpid,
				  cmd->trigger_iopf.perm, cmd->trigger_iopf.addr);
out:
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return rc;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

int iommufd_test(struct iommufd_ucmd *ucmd)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;

	switch (cmd->op) {
	case IOMMU_TEST_OP_ADD_RESERVED:
		return iommufd_test_add_reserved(ucmd, cmd->id, cmd->add_reserved.start,
						 cmd->add_reserved.length);
	case IOMMU_TEST_OP_MOCK_DOMAIN:
	case IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS:
		return iommufd_test_mock_domain(ucmd, cmd);
	case IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE:
		return iommufd_test_mock_domain_replace(ucmd, cmd->id,
							cmd->mock_domain_replace.pt_id, cmd);
	case IOMMU_TEST_OP_MD_CHECK_MAP:
		return iommufd_test_md_check_pa(ucmd, cmd->id, cmd->check_map.iova,
						cmd->check_map.length, cmd->check_map.uptr);
	case IOMMU_TEST_OP_MD_CHECK_REFS:
		return iommufd_test_md_check_refs(ucmd, cmd->check_refs.uptr,
						  cmd->check_refs.length, cmd->check_refs.refs);
	case IOMMU_TEST_OP_MD_CHECK_IOTLB:
		return iommufd_test_md_check_iotlb(ucmd, cmd->id, cmd->check_iotlb.id,
						   cmd->check_iotlb.iotlb);
	case IOMMU_TEST_OP_CREATE_ACCESS:
		return iommufd_test_create_access(ucmd, cmd->id, cmd->create_access.flags);
	case IOMMU_TEST_OP_ACCESS_REPLACE_IOAS:
		return iommufd_test_access_replace_ioas(ucmd, cmd->id,
							cmd->access_replace_ioas.ioas_id);
	case IOMMU_TEST_OP_ACCESS_PAGES:
		return iommufd_test_access_pages(ucmd, cmd->id, cmd->access_pages.iova,
						 cmd->access_pages.length, cmd->access_pages.uptr,
						 cmd->access_pages.flags);
	case IOMMU_TEST_OP_ACCESS_RW:
		return iommufd_test_access_rw(ucmd, cmd->id, cmd->access_rw.iova,
					      cmd->access_rw.length, cmd->access_rw.uptr,
					      cmd->access_rw.flags);
	case IOMMU_TEST_OP_DESTROY_ACCESS_PAGES:
		return iommufd_test_access_item_destroy(ucmd, cmd->id,
							cmd->destroy_access_pages.access_pages_id);
	case IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT:
		/* It bounds the kernel's batches; at least one element fits. */
		if (cmd->memory_limit.limit < sizeof(unsigned long) + sizeof(uint32_t))
			return -EINVAL;
		ucmd->ictx->core->test_memory_limit = cmd->memory_limit.limit;
		return 0;
	case IOMMU_TEST_OP_DIRTY:
		return iommufd_test_dirty(ucmd, cmd->id, cmd->dirty.iova, cmd->dirty.length,
					  cmd->dirty.page_size, cmd->dirty.uptr);
	case IOMMU_TEST_OP_TRIGGER_IOPF:
		return iommufd_test_trigger_iopf(ucmd, cmd);
	default:
		return -EOPNOTSUPP;
	}
}
