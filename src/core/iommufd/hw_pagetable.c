// SPDX-License-Identifier: MIT
/*
 * HW page tables (drivers/iommu/iommufd/hw_pagetable.c): HWPT_PAGING, a
 * domain over an IOAS's io page table (automatic on attach, or made with
 * HWPT_ALLOC, optionally a nesting parent or dirty-tracking capable), and
 * HWPT_NESTED, a user-managed stage-1 table over a nesting parent.  Their
 * ioctls: HWPT_ALLOC, HWPT_SET_DIRTY_TRACKING, HWPT_GET_DIRTY_BITMAP,
 * HWPT_INVALIDATE.
 *
 * A paging HWPT joins its IOAS at allocation (it reserves what lies outside
 * its aperture and pins every mapping) and leaves at destruction; devices
 * attach to it afterwards.  Dirty bits are kept by the IOAS's io page table
 * at the driver's IOPTE granularity; the HWPTs of one IOAS that track
 * share them (the kernel keeps them per domain).
 *
 * Lock order: ioas->mutex -> iopt->lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "iommufd_private.h"
#include "../iommu/iommu.h"
#include "../base/bitmap.h"

/* An arbitrary cap on one invalidation batch, far above real ones. */
#define IOMMU_HWPT_INVALIDATE_ENTRY_NUM_MAX	(1U << 19)
/* Dirty bitmaps are built and copied out this many bits at a time. */
#define DIRTY_WINDOW_BITS			(1ULL << 18)

struct iommufd_hwpt_paging *find_hwpt_paging(struct iommufd_hw_pagetable *hwpt)
{
	if (!hwpt)
		return NULL;
	if (hwpt->obj.type == IOMMUFD_OBJ_HWPT_NESTED)
		return container_of(hwpt, struct iommufd_hwpt_nested, common)->parent;
	return to_hwpt_paging(hwpt);
}

static void __iommufd_hwpt_destroy(struct iommufd_hw_pagetable *hwpt)
{
	if (hwpt->ops && hwpt->ops->hwpt_free)
		hwpt->ops->hwpt_free(hwpt);
	if (hwpt->domain)
		iommu_domain_put(hwpt->domain);
	if (hwpt->fault)
		iommufd_object_put_user(hwpt->fault->ictx, &hwpt->fault->obj);
}

/* Turn the IOAS's dirty tracking off for this HWPT; ioas->mutex held. */
static void hwpt_dirty_off(struct iommufd_hwpt_paging *hwpt)
{
	struct iommufd_ioas *ioas = hwpt->ioas;

	if (!hwpt->dirty_tracking)
		return;
	hwpt->dirty_tracking = false;
	if (!--ioas->dirty_users)
		iopt_set_dirty_tracking(&ioas->iopt, false, 0);
}

/* The HWPT leaves its IOAS; ioas->mutex held. */
static void hwpt_paging_leave_ioas(struct iommufd_hwpt_paging *hwpt)
{
	hwpt_dirty_off(hwpt);
	if (!list_empty(&hwpt->hwpt_item))
		iommufd_ioas_remove_domain(hwpt->ioas, hwpt);
}

static void hwpt_paging_free(struct iommufd_hwpt_paging *hwpt)
{
	struct iommufd_ioas *ioas = hwpt->ioas;

	__iommufd_hwpt_destroy(&hwpt->common);
	iommufd_object_put_user(ioas->ictx, &ioas->obj);
}

void iommufd_hwpt_paging_destroy(struct iommufd_object *obj)
{
	struct iommufd_hwpt_paging *hwpt =
		container_of(obj, struct iommufd_hwpt_paging, common.obj);

	uvf_mutex_lock(&hwpt->ioas->mutex);
	hwpt_paging_leave_ioas(hwpt);
	uvf_mutex_unlock(&hwpt->ioas->mutex);
	hwpt_paging_free(hwpt);
}

/* Undo an unpublished HWPT while its IOAS's mutex is held (a paging one)
 * or not needed (a nested one). */
static void hwpt_abort(struct iommufd_ctx *ictx, struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_hwpt_paging *paging = to_hwpt_paging(hwpt);

	if (!paging) {
		iommufd_object_abort_and_destroy(ictx, &hwpt->obj);
		return;
	}
	hwpt_paging_leave_ioas(paging);
	hwpt_paging_free(paging);
	iommufd_object_abort(ictx, &hwpt->obj);
}

void iommufd_hwpt_nested_destroy(struct iommufd_object *obj)
{
	struct iommufd_hwpt_nested *hwpt =
		container_of(obj, struct iommufd_hwpt_nested, common.obj);

	__iommufd_hwpt_destroy(&hwpt->common);
	iommufd_object_put_user(hwpt->parent->ioas->ictx, &hwpt->parent->common.obj);
}

void iommufd_hw_pagetable_put(struct iommufd_ctx *ictx, struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_hwpt_paging *paging = to_hwpt_paging(hwpt);

	/* An automatic domain goes with its last device. */
	if (paging && paging->auto_domain)
		iommufd_object_put_and_try_destroy(ictx, &hwpt->obj);
	else
		iommufd_object_put_user(ictx, &hwpt->obj);
}

int iommufd_get_hwpt_paging(struct iommufd_ctx *ictx, uint32_t id,
			    struct iommufd_hwpt_paging **out)
{
	struct iommufd_object *obj;
	int rc = iommufd_get_object(ictx, id, IOMMUFD_OBJ_HWPT_PAGING, &obj);

	if (!rc)
		*out = container_of(obj, struct iommufd_hwpt_paging, common.obj);
	return rc;
}

static int iommufd_get_hwpt_nested(struct iommufd_ctx *ictx, uint32_t id,
				   struct iommufd_hw_pagetable **out)
{
	struct iommufd_object *obj;
	int rc = iommufd_get_object(ictx, id, IOMMUFD_OBJ_HWPT_NESTED, &obj);

	if (!rc)
		*out = container_of(obj, struct iommufd_hw_pagetable, obj);
	return rc;
}

/* ---- user data --------------------------------------------------------------------- */

int iommufd_copy_user_data(struct uvf_caller *c, void *dst, size_t size, size_t min_len,
			   uint32_t type, const struct iommufd_user_data *src)
{
	if (src->type != type)
		return -EINVAL;
	if (src->len < min_len || src->len > size)
		return -EINVAL;
	return copy_struct_from_user(c, dst, size, src->uptr, src->len);
}

int iommufd_copy_user_data_array(struct uvf_caller *c, void *dst, size_t size,
				 size_t min_len, uint32_t type,
				 const struct iommufd_user_data_array *src, uint32_t index)
{
	struct iommufd_user_data one = {
		.type = src->type,
		.uptr = src->uptr + (uint64_t)src->entry_len * index,
		.len = src->entry_len,
	};

	if (index >= src->entry_num)
		return -EINVAL;
	return iommufd_copy_user_data(c, dst, size, min_len, type, &one);
}

/* ---- allocation -------------------------------------------------------------------- */

int iommufd_hwpt_paging_alloc(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			      struct iommufd_device *idev, uint32_t flags,
			      bool immediate_attach, const struct iommufd_user_data *data,
			      struct iommufd_hwpt_paging **out)
{
	const uint32_t valid = IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	struct iommufd_hwpt_paging *hwpt;
	int rc;

	if (flags & ~valid)
		return -EOPNOTSUPP;
	if ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) && !idev->ops->dirty_capable(idev))
		return -EOPNOTSUPP;
	hwpt = iommufd_object_alloc(ictx, sizeof(*hwpt), IOMMUFD_OBJ_HWPT_PAGING, &rc);
	if (!hwpt)
		return rc;
	list_init(&hwpt->hwpt_item);
	iommufd_object_get_user(ictx, &ioas->obj);
	hwpt->ioas = ioas;
	hwpt->nest_parent = flags & IOMMU_HWPT_ALLOC_NEST_PARENT;
	hwpt->dirty_ops = flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	hwpt->common.ops = idev->ops;
	rc = idev->ops->alloc_paging(idev, hwpt, flags, data);
	if (rc)
		goto out_abort;
	/* The coherency mode is chosen before anything is mapped. */
	if (idev->enforce_cache_coherency)
		hwpt->enforce_cache_coherency = hwpt->common.domain->enforce_cache_coherency;
	if (immediate_attach) {
		rc = iommufd_hw_pagetable_attach(&hwpt->common, idev);
		if (rc)
			goto out_abort;
	}
	rc = iommufd_ioas_add_domain(ioas, hwpt);
	if (rc)
		goto out_detach;
	*out = hwpt;
	return 0;

out_detach:
	if (immediate_attach)
		iommufd_hw_pagetable_detach(idev);
out_abort:
	hwpt_abort(ictx, &hwpt->common);
	return rc;
}

static int iommufd_hwpt_nested_alloc(struct iommufd_ctx *ictx,
				     struct iommufd_hwpt_paging *parent,
				     struct iommufd_device *idev, uint32_t flags,
				     const struct iommufd_user_data *data, struct uvf_caller *c,
				     struct iommufd_hw_pagetable **out)
{
	struct iommufd_hwpt_nested *hwpt;
	int rc;

	if ((flags & ~IOMMU_HWPT_FAULT_ID_VALID) || !data->len || !idev->ops->alloc_nested)
		return -EOPNOTSUPP;
	if (parent->auto_domain || !parent->nest_parent || parent->common.ops != idev->ops)
		return -EINVAL;
	hwpt = iommufd_object_alloc(ictx, sizeof(*hwpt), IOMMUFD_OBJ_HWPT_NESTED, &rc);
	if (!hwpt)
		return rc;
	iommufd_object_get_user(ictx, &parent->common.obj);
	hwpt->parent = parent;
	hwpt->common.ops = idev->ops;
	rc = idev->ops->alloc_nested(idev, &hwpt->common, parent,
				     flags & ~IOMMU_HWPT_FAULT_ID_VALID, data, c);
	if (rc) {
		iommufd_object_abort_and_destroy(ictx, &hwpt->common.obj);
		return rc;
	}
	/* A device attached to it translates through the parent's table. */
	iommu_domain_get(parent->common.domain);
	hwpt->common.domain = parent->common.domain;
	*out = &hwpt->common;
	return 0;
}

static int hwpt_set_fault(struct iommufd_ucmd *ucmd, struct iommufd_hw_pagetable *hwpt,
			  uint32_t fault_id)
{
	struct iommufd_fault *fault;
	int rc = iommufd_get_fault(ucmd->ictx, fault_id, &fault);

	if (rc)
		return rc;
	hwpt->fault = fault;
	iommufd_object_get_user(ucmd->ictx, &fault->obj);
	iommufd_put_object(ucmd->ictx, &fault->obj);
	return 0;
}

int iommufd_hwpt_alloc(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_alloc *cmd = ucmd->cmd;
	const struct iommufd_user_data data = {
		.type = cmd->data_type, .uptr = cmd->data_uptr, .len = cmd->data_len,
	};
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_hw_pagetable *hwpt = NULL;
	struct iommufd_ioas *ioas = NULL;
	struct iommufd_object *pt_obj;
	struct iommufd_device *idev;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	if ((cmd->data_type == IOMMU_HWPT_DATA_NONE && cmd->data_len) ||
	    (cmd->data_type != IOMMU_HWPT_DATA_NONE && !cmd->data_len))
		return -EINVAL;
	rc = iommufd_get_device(ictx, cmd->dev_id, &idev);
	if (rc)
		return rc;
	if (iommufd_get_object(ictx, cmd->pt_id, IOMMUFD_OBJ_ANY, &pt_obj)) {
		rc = -EINVAL;
		goto out_put_idev;
	}
	if (pt_obj->type == IOMMUFD_OBJ_IOAS) {
		struct iommufd_hwpt_paging *paging;

		ioas = container_of(pt_obj, struct iommufd_ioas, obj);
		uvf_mutex_lock(&ioas->mutex);
		rc = iommufd_hwpt_paging_alloc(ictx, ioas, idev, cmd->flags, false,
					       cmd->data_len ? &data : NULL, &paging);
		if (rc)
			goto out_unlock;
		hwpt = &paging->common;
	} else if (pt_obj->type == IOMMUFD_OBJ_HWPT_PAGING) {
		rc = iommufd_hwpt_nested_alloc(ictx, container_of(pt_obj,
								  struct iommufd_hwpt_paging,
								  common.obj),
					       idev, cmd->flags, &data, ucmd->caller, &hwpt);
		if (rc)
			goto out_unlock;
	} else {
		rc = -EINVAL;
		goto out_put_pt;
	}
	if (cmd->flags & IOMMU_HWPT_FAULT_ID_VALID) {
		rc = hwpt_set_fault(ucmd, hwpt, cmd->fault_id);
		if (rc)
			goto out_hwpt;
	}
	cmd->out_hwpt_id = hwpt->obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_hwpt;
	iommufd_object_finalize(ictx, &hwpt->obj);
	goto out_unlock;

out_hwpt:
	hwpt_abort(ictx, hwpt);
out_unlock:
	if (ioas)
		uvf_mutex_unlock(&ioas->mutex);
out_put_pt:
	iommufd_put_object(ictx, pt_obj);
out_put_idev:
	iommufd_put_object(ictx, &idev->obj);
	return rc;
}

/* ---- dirty tracking -------------------------------------------------------------------- */

int iommufd_hwpt_set_dirty_tracking(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_set_dirty_tracking *cmd = ucmd->cmd;
	bool enable = cmd->flags & IOMMU_HWPT_DIRTY_TRACKING_ENABLE;
	struct iommufd_hwpt_paging *hwpt;
	struct iommufd_ioas *ioas;
	int rc;

	if (cmd->flags & ~IOMMU_HWPT_DIRTY_TRACKING_ENABLE)
		return -EOPNOTSUPP;
	rc = iommufd_get_hwpt_paging(ucmd->ictx, cmd->hwpt_id, &hwpt);
	if (rc)
		return rc;
	ioas = hwpt->ioas;
	if (!hwpt->dirty_ops) {
		rc = -EOPNOTSUPP;
		goto out;
	}
	uvf_mutex_lock(&ioas->mutex);
	if (!enable) {
		hwpt_dirty_off(hwpt);
	} else if (!hwpt->dirty_tracking) {
		rc = ioas->dirty_users ? 0 : iopt_set_dirty_tracking(&ioas->iopt, true,
								     hwpt->dirty_pgshift);
		if (!rc && ioas->iopt.dirty_pgshift != hwpt->dirty_pgshift)
			rc = -EINVAL;
		if (!rc) {
			ioas->dirty_users++;
			hwpt->dirty_tracking = true;
		}
	}
	/* Tracking starts from a clean snapshot. */
	if (!rc && enable)
		iopt_clear_dirty(&ioas->iopt);
	if (!rc && hwpt->common.ops->set_dirty_tracking)
		rc = hwpt->common.ops->set_dirty_tracking(hwpt, enable);
	uvf_mutex_unlock(&ioas->mutex);
out:
	iommufd_put_object(ucmd->ictx, &hwpt->common.obj);
	return rc;
}

/* The user's bitmap as drivers fill it, one window at a time. */
struct iommufd_dirty_bitmap {
	uint64_t iova;			/* bit 0 */
	uint64_t last;			/* last IOVA of the window */
	uint64_t page_size;
	uint8_t *bits;
};

void iommufd_dirty_record(struct iommufd_dirty_bitmap *dirty, uint64_t iova, uint64_t length)
{
	uint64_t first, last;

	if (!length || iova > dirty->last || iova + length - 1 < dirty->iova)
		return;
	first = uvf_max(iova, dirty->iova);
	last = uvf_min(iova + length - 1, dirty->last);
	for (uint64_t b = (first - dirty->iova) / dirty->page_size;
	     b <= (last - dirty->iova) / dirty->page_size; b++)
		dirty->bits[b / 8] |= (uint8_t)(1u << (b % 8));
}

/* iommufd_check_iova_range: the range, the table's and the page size's
 * alignment. */
static int dirty_check_range(const struct io_pagetable *iopt,
			     const struct iommu_hwpt_get_dirty_bitmap *cmd)
{
	uint64_t pgmask = iopt->iova_alignment - 1, last;

	if (!cmd->length)
		return -EINVAL;
	if (check_add_overflow(cmd->iova, cmd->length - 1, &last))
		return -EOVERFLOW;
	if ((cmd->iova & pgmask) || ((last + 1) & pgmask))
		return -EINVAL;
	if (!cmd->page_size)
		return -EINVAL;
	if ((cmd->iova % cmd->page_size) || ((last + 1) % cmd->page_size))
		return -EINVAL;
	return 0;
}

/* Ask the driver about the mapped pieces of [first, last], stopping at the
 * first hole as the kernel's contiguous-area walk does. */
static void dirty_read_window(struct iommufd_hwpt_paging *hwpt, uint64_t first, uint64_t last,
			      bool no_clear, struct iommufd_dirty_bitmap *dirty)
{
	struct io_pagetable *iopt = &hwpt->ioas->iopt;
	uint64_t cur = first, end;
	struct iopt_area *a;

	while (cur <= last) {
		uvf_read_lock(&iopt->lock);
		a = iopt_area_find(iopt, cur);
		end = a ? uvf_min(last, iopt_area_last(a)) : 0;
		uvf_rw_unlock(&iopt->lock);
		if (!a)
			return;
		hwpt->common.ops->read_and_clear_dirty(hwpt, cur, end - cur + 1, no_clear, dirty);
		if (end == last)
			return;
		cur = end + 1;
	}
}

/* One window: read the user's bits, add the dirty ones, write back.  An
 * unreachable bitmap ends the report quietly, as the kernel's. */
static int dirty_copy_window(struct iommufd_ucmd *ucmd, struct iommufd_hwpt_paging *hwpt,
			     const struct iommu_hwpt_get_dirty_bitmap *cmd, uint64_t bit,
			     uint64_t nbits, struct iommufd_dirty_bitmap *dirty)
{
	uint64_t bytes = (nbits + 7) / 8, uaddr = cmd->data + bit / 8;
	bool no_clear = cmd->flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR;

	if (copy_from_user(ucmd->caller, dirty->bits, uaddr, bytes))
		return -EFAULT;
	dirty->iova = cmd->iova + bit * cmd->page_size;
	dirty->last = dirty->iova + nbits * cmd->page_size - 1;
	dirty_read_window(hwpt, dirty->iova, dirty->last, no_clear, dirty);
	return copy_to_user(ucmd->caller, uaddr, dirty->bits, bytes) ? -EFAULT : 0;
}

int iommufd_hwpt_get_dirty_bitmap(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_get_dirty_bitmap *cmd = ucmd->cmd;
	struct iommufd_dirty_bitmap dirty = { .page_size = cmd->page_size };
	struct iommufd_hwpt_paging *hwpt;
	uint64_t nbits, bit;
	int rc;

	if ((cmd->flags & ~IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) || cmd->__reserved)
		return -EOPNOTSUPP;
	rc = iommufd_get_hwpt_paging(ucmd->ictx, cmd->hwpt_id, &hwpt);
	if (rc)
		return rc;
	rc = dirty_check_range(&hwpt->ioas->iopt, cmd);
	if (rc)
		goto out;
	if (!hwpt->dirty_ops || !hwpt->common.ops->read_and_clear_dirty) {
		rc = -EOPNOTSUPP;
		goto out;
	}
	dirty.bits = malloc(DIRTY_WINDOW_BITS / 8);
	if (!dirty.bits) {
		rc = -ENOMEM;
		goto out;
	}
	/* length / page_size, counting a whole 2^64 range right. */
	nbits = (cmd->length - 1) / cmd->page_size + 1;
	for (bit = 0; bit < nbits; bit += DIRTY_WINDOW_BITS)
		if (dirty_copy_window(ucmd, hwpt, cmd, bit,
				      uvf_min(DIRTY_WINDOW_BITS, nbits - bit), &dirty))
			break;
	free(dirty.bits);
out:
	iommufd_put_object(ucmd->ictx, &hwpt->common.obj);
	return rc;
}

/* ---- invalidation ---------------------------------------------------------------------- */

int iommufd_hwpt_invalidate(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_invalidate *cmd = ucmd->cmd;
	struct iommufd_user_data_array array = {
		.type = cmd->data_type,
		.uptr = cmd->data_uptr,
		.entry_len = cmd->entry_len,
		.entry_num = cmd->entry_num,
	};
	struct iommufd_hw_pagetable *hwpt;
	uint32_t done = 0;
	int rc;

	if (cmd->__reserved) {
		rc = -EOPNOTSUPP;
		goto out;
	}
	/* One call cannot run away with the CPU. */
	if (cmd->entry_num && (!cmd->data_uptr || !cmd->entry_len ||
			       cmd->entry_len > UVF_PAGE_SIZE ||
			       cmd->entry_num > IOMMU_HWPT_INVALIDATE_ENTRY_NUM_MAX)) {
		rc = -EINVAL;
		goto out;
	}
	rc = iommufd_get_hwpt_nested(ucmd->ictx, cmd->hwpt_id, &hwpt);
	if (rc)
		goto out;
	rc = hwpt->ops->cache_invalidate_user ?
		hwpt->ops->cache_invalidate_user(hwpt, ucmd->caller, &array) : -EOPNOTSUPP;
	done = array.entry_num;
	iommufd_put_object(ucmd->ictx, &hwpt->obj);
out:
	cmd->entry_num = done;
	if (iommufd_ucmd_respond(ucmd, sizeof(*cmd)))
		return -EFAULT;
	return rc;
}
