// SPDX-License-Identifier: MIT
/*
 * Devices bound to an iommufd (drivers/iommu/iommufd/device.c): binding
 * (DMA ownership of the device, per device, one owner per IOMMU group),
 * attaching to an IOAS (through an automatic HWPT) or a HWPT, replacing and
 * detaching, and IOMMU_GET_HW_INFO.
 *
 * The devices of one IOMMU group bound to one context share an
 * iommufd_group: the group is attached once, for its first device, and every
 * device of it must then use the same HWPT (-EINVAL); each attached device
 * holds a user on the HWPT.  A detached group is in the blocking domain:
 * ownership stays with the context until unbind.
 *
 * Lock order: ioas->mutex (automatic HWPTs) -> igroup->lock -> iommu
 * group->lock -> iopt->lock; ictx->groups_lock is a leaf.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "iommufd_private.h"
#include "../iommu/iommu.h"
#include "../host/device.h"
#include "../host/host.h"

/* ---- groups of a context ------------------------------------------------------------- */

static int iommufd_get_group(struct iommufd_ctx *ictx, struct iommu_group *group,
			     struct iommufd_group **out)
{
	struct iommufd_group *igroup;
	int rc = 0;

	uvf_mutex_lock(&ictx->groups_lock);
	list_for_each_entry(igroup, &ictx->groups, link) {
		if (igroup->group == group) {
			igroup->refs++;
			goto out;
		}
	}
	igroup = iommufd_should_fail() ? NULL : calloc(1, sizeof(*igroup));
	if (!igroup) {
		rc = -ENOMEM;
		goto out;
	}
	igroup->refs = 1;
	igroup->ictx = ictx;
	igroup->group = group;
	iommu_group_get(group);
	uvf_mutex_init(&igroup->lock);
	list_init(&igroup->device_list);
	list_add(&igroup->link, &ictx->groups);
out:
	uvf_mutex_unlock(&ictx->groups_lock);
	*out = igroup;
	return rc;
}

static void iommufd_put_group(struct iommufd_group *igroup)
{
	struct iommufd_ctx *ictx = igroup->ictx;
	bool last;

	uvf_mutex_lock(&ictx->groups_lock);
	last = !--igroup->refs;
	if (last)
		list_del_init(&igroup->link);
	uvf_mutex_unlock(&ictx->groups_lock);
	if (!last)
		return;
	iommu_group_put(igroup->group);
	uvf_mutex_destroy(&igroup->lock);
	free(igroup);
}

bool iommufd_ctx_has_group(struct iommufd_ctx *ictx, const void *iommu_group)
{
	struct iommufd_group *igroup;
	bool found = false;

	if (!ictx || !iommu_group)
		return false;
	uvf_mutex_lock(&ictx->groups_lock);
	list_for_each_entry(igroup, &ictx->groups, link)
		found |= igroup->group == iommu_group;
	uvf_mutex_unlock(&ictx->groups_lock);
	return found;
}

/* ---- bind ------------------------------------------------------------------------------- */

void iommufd_device_destroy(struct iommufd_object *obj)
{
	struct iommufd_device *idev = container_of(obj, struct iommufd_device, obj);

	iommu_device_release_dma_owner(idev->dev);
	iommufd_put_group(idev->igroup);
	if (idev->holds_ctx)
		iommufd_ctx_put(idev->ictx);
}

int __iommufd_device_bind(struct iommufd_ctx *ictx, struct uvf_device *dev,
			  const struct iommufd_driver_ops *ops, void *drv, bool hold_ctx,
			  uint32_t *id, struct iommufd_device **out)
{
	struct iommu_group *group = dev->iommu_group;
	struct iommufd_group *igroup;
	struct iommufd_device *idev;
	int rc;

	/* iommufd always maps cache coherent: the IOMMU must enforce it (a
	 * device without an IOMMU has no such capability either). */
	if (!group || !group->cache_coherent)
		return -EINVAL;
	rc = iommufd_get_group(ictx, group, &igroup);
	if (rc)
		return rc;
	/* A DMA write must not be able to raise an interrupt elsewhere. */
	if (hold_ctx && !group->msi_isolated &&
	    !ictx->core->host->params.iommufd_allow_unsafe_interrupts) {
		rc = -EPERM;
		goto out_group;
	}
	rc = iommu_device_claim_dma_owner(dev, ictx);
	if (rc)
		goto out_group;
	idev = iommufd_object_alloc(ictx, sizeof(*idev), IOMMUFD_OBJ_DEVICE, &rc);
	if (!idev)
		goto out_owner;
	idev->ictx = ictx;
	idev->dev = dev;
	idev->ops = ops;
	idev->drv = drv;
	idev->holds_ctx = hold_ctx;
	if (hold_ctx)
		iommufd_ctx_get(ictx);
	idev->enforce_cache_coherency =
		device_iommu_capable(dev, IOMMU_CAP_ENFORCE_CACHE_COHERENCY);
	list_init(&idev->group_item);
	idev->igroup = igroup;
	/* The binding driver is a user until unbind. */
	iommufd_object_get_user(ictx, &idev->obj);
	iommufd_object_finalize(ictx, &idev->obj);
	*id = idev->obj.id;
	*out = idev;
	return 0;

out_owner:
	iommu_device_release_dma_owner(dev);
out_group:
	iommufd_put_group(igroup);
	return rc;
}

int iommufd_device_bind(struct iommufd_ctx *ictx, struct uvf_device *dev, uint32_t *id,
			struct iommufd_device **out)
{
	return __iommufd_device_bind(ictx, dev, &iommufd_generic_driver, NULL, true, id, out);
}

void iommufd_device_unbind(struct iommufd_device *idev)
{
	iommufd_object_destroy_user(idev->ictx, &idev->obj);
}

struct iommufd_ctx *iommufd_device_to_ictx(struct iommufd_device *idev)
{
	return idev->ictx;
}

uint32_t iommufd_device_to_id(struct iommufd_device *idev)
{
	return idev->obj.id;
}

int iommufd_get_device(struct iommufd_ctx *ictx, uint32_t id, struct iommufd_device **out)
{
	struct iommufd_object *obj;
	int rc = iommufd_get_object(ictx, id, IOMMUFD_OBJ_DEVICE, &obj);

	if (!rc)
		*out = container_of(obj, struct iommufd_device, obj);
	return rc;
}

struct iommufd_hw_pagetable *iommufd_device_hwpt(struct iommufd_device *idev)
{
	struct iommufd_hw_pagetable *hwpt;

	uvf_mutex_lock(&idev->igroup->lock);
	hwpt = idev->igroup->hwpt;
	uvf_mutex_unlock(&idev->igroup->lock);
	return hwpt;
}

/* ---- reserved regions -------------------------------------------------------------------- */

/* The device's reserved regions (its group's, but for relaxable ones) are
 * kept out of the IOAS while it is attached (iopt_table_enforce_dev_resv_regions). */
static int device_reserve_regions(struct iommufd_device *idev, struct iommufd_ioas *ioas)
{
	struct iommu_group *g = idev->igroup->group;
	int rc = iommufd_should_fail() ? -EINVAL : 0;

	for (unsigned int i = 0; !rc && i < g->nresv; i++)
		if (!g->resv[i].relaxable)
			rc = iopt_reserve_owner(&ioas->iopt, g->resv[i].start, g->resv[i].last,
						idev);
	if (rc)
		iopt_unreserve_owner(&ioas->iopt, idev);
	return rc;
}

static void group_unreserve(struct iommufd_group *igroup, struct iommufd_ioas *ioas)
{
	struct iommufd_device *cur;

	list_for_each_entry(cur, &igroup->device_list, group_item)
		iopt_unreserve_owner(&ioas->iopt, cur);
}

/* ---- attach, replace, detach ------------------------------------------------------------- */

static bool iommufd_device_is_attached(struct iommufd_device *idev)
{
	struct iommufd_device *cur;

	list_for_each_entry(cur, &idev->igroup->device_list, group_item)
		if (cur == idev)
			return true;
	return false;
}

/* The group starts translating with hwpt; igroup->lock held. */
static int hwpt_attach_group(struct iommufd_hw_pagetable *hwpt, struct iommufd_device *idev)
{
	int rc = idev->ops->attach_check(idev, hwpt);

	if (rc)
		return rc;
	if (hwpt->fault)
		idev->iopf_enabled++;
	rc = iommu_attach_group(hwpt->domain, idev->igroup->group);
	if (rc && hwpt->fault)
		idev->iopf_enabled--;
	return rc;
}

static void hwpt_detach_group(struct iommufd_hw_pagetable *hwpt, struct iommufd_device *idev)
{
	iommu_detach_group(hwpt->domain, idev->igroup->group);
	if (hwpt->fault) {
		iommufd_fault_auto_response(hwpt, idev);
		idev->iopf_enabled--;
	}
}

int iommufd_hw_pagetable_attach(struct iommufd_hw_pagetable *hwpt, struct iommufd_device *idev)
{
	struct iommufd_hwpt_paging *paging = find_hwpt_paging(hwpt);
	struct iommufd_group *igroup = idev->igroup;
	int rc;

	uvf_mutex_lock(&igroup->lock);
	/* Every device of a group uses the group's one HWPT. */
	if (igroup->hwpt && igroup->hwpt != hwpt) {
		rc = -EINVAL;
		goto out;
	}
	if (paging) {
		rc = device_reserve_regions(idev, paging->ioas);
		if (rc)
			goto out;
	}
	if (list_empty(&igroup->device_list)) {
		rc = hwpt_attach_group(hwpt, idev);
		if (rc) {
			if (paging)
				iopt_unreserve_owner(&paging->ioas->iopt, idev);
			goto out;
		}
		igroup->hwpt = hwpt;
	}
	iommufd_object_get_user(idev->ictx, &hwpt->obj);
	list_add_tail(&idev->group_item, &igroup->device_list);
out:
	uvf_mutex_unlock(&igroup->lock);
	return rc;
}

struct iommufd_hw_pagetable *iommufd_hw_pagetable_detach(struct iommufd_device *idev)
{
	struct iommufd_group *igroup = idev->igroup;
	struct iommufd_hw_pagetable *hwpt;
	struct iommufd_hwpt_paging *paging;

	uvf_mutex_lock(&igroup->lock);
	hwpt = igroup->hwpt;
	paging = find_hwpt_paging(hwpt);
	list_del_init(&idev->group_item);
	if (list_empty(&igroup->device_list)) {
		hwpt_detach_group(hwpt, idev);
		igroup->hwpt = NULL;
	}
	if (paging)
		iopt_unreserve_owner(&paging->ioas->iopt, idev);
	uvf_mutex_unlock(&igroup->lock);
	return hwpt;
}

/* attach_fn: attach (or replace) idev to hwpt; *destroy gets a HWPT to put. */
typedef int (*attach_fn)(struct iommufd_device *idev, struct iommufd_hw_pagetable *hwpt,
			 struct iommufd_hw_pagetable **destroy);

static int iommufd_device_do_attach(struct iommufd_device *idev,
				    struct iommufd_hw_pagetable *hwpt,
				    struct iommufd_hw_pagetable **destroy)
{
	*destroy = NULL;
	return iommufd_hw_pagetable_attach(hwpt, idev);
}

/* Reserve the new IOAS's regions for every device of the group. */
static int group_reserve_for(struct iommufd_group *igroup, struct iommufd_hwpt_paging *paging)
{
	struct iommufd_hwpt_paging *old = find_hwpt_paging(igroup->hwpt);
	struct iommufd_device *cur;
	int rc = 0;

	if (old && old->ioas == paging->ioas)
		return 0;
	list_for_each_entry(cur, &igroup->device_list, group_item) {
		rc = device_reserve_regions(cur, paging->ioas);
		if (rc) {
			group_unreserve(igroup, paging->ioas);
			return rc;
		}
	}
	return 0;
}

/* Move the group's translation from old to hwpt; igroup->lock held.  On
 * failure the group is back on old. */
static int group_switch_hwpt(struct iommufd_device *idev, struct iommufd_hw_pagetable *hwpt,
			     struct iommufd_hw_pagetable *old)
{
	struct iommufd_group *igroup = idev->igroup;
	struct iommufd_device *cur;
	int rc;

	list_for_each_entry(cur, &igroup->device_list, group_item) {
		rc = cur->ops->attach_check(cur, hwpt);
		if (rc)
			return rc;
	}
	iommu_detach_group(old->domain, igroup->group);
	rc = iommu_attach_group(hwpt->domain, igroup->group);
	if (rc) {
		if (iommu_attach_group(old->domain, igroup->group))
			iommu_attach_group(old->domain, igroup->group);
		return rc;
	}
	if (old->fault)
		iommufd_fault_auto_response(old, idev);
	if (!!hwpt->fault != !!old->fault)
		idev->iopf_enabled += hwpt->fault ? 1 : -1;
	return 0;
}

static int iommufd_device_do_replace(struct iommufd_device *idev,
				     struct iommufd_hw_pagetable *hwpt,
				     struct iommufd_hw_pagetable **destroy)
{
	struct iommufd_hwpt_paging *paging = find_hwpt_paging(hwpt), *old_paging;
	struct iommufd_group *igroup = idev->igroup;
	struct iommufd_hw_pagetable *old;
	unsigned int ndevices = 0;
	struct iommufd_device *cur;
	int rc;

	*destroy = NULL;
	uvf_mutex_lock(&igroup->lock);
	rc = -EINVAL;
	if (!igroup->hwpt || !iommufd_device_is_attached(idev))
		goto out;
	rc = 0;
	if (hwpt == igroup->hwpt)
		goto out;
	old = igroup->hwpt;
	if (paging) {
		rc = group_reserve_for(igroup, paging);
		if (rc)
			goto out;
	}
	rc = group_switch_hwpt(idev, hwpt, old);
	if (rc) {
		old_paging = find_hwpt_paging(old);
		if (paging && (!old_paging || old_paging->ioas != paging->ioas))
			group_unreserve(igroup, paging->ioas);
		goto out;
	}
	old_paging = find_hwpt_paging(old);
	if (old_paging && (!paging || paging->ioas != old_paging->ioas))
		group_unreserve(igroup, old_paging->ioas);
	igroup->hwpt = hwpt;
	/* The devices' users move to the new HWPT; the caller puts one. */
	list_for_each_entry(cur, &igroup->device_list, group_item) {
		iommufd_object_get_user(idev->ictx, &hwpt->obj);
		if (ndevices++)
			iommufd_object_put_user(idev->ictx, &old->obj);
	}
	*destroy = old;
out:
	uvf_mutex_unlock(&igroup->lock);
	return rc;
}

/*
 * Attach to an IOAS: any automatic HWPT of it that the device accepts
 * (-EINVAL means "not compatible, try the next"), else a new one.  A
 * manually allocated HWPT is never chosen.
 */
static int iommufd_device_auto_get_domain(struct iommufd_device *idev,
					  struct iommufd_ioas *ioas, uint32_t *pt_id,
					  attach_fn do_attach,
					  struct iommufd_hw_pagetable **destroy)
{
	bool immediate_attach = do_attach == iommufd_device_do_attach;
	struct iommufd_hwpt_paging *paging;
	int rc;

	uvf_mutex_lock(&ioas->mutex);
	list_for_each_entry(paging, &ioas->hwpt_list, hwpt_item) {
		if (!paging->auto_domain || !iommufd_lock_obj(idev->ictx, &paging->common.obj))
			continue;
		rc = do_attach(idev, &paging->common, destroy);
		iommufd_put_object(idev->ictx, &paging->common.obj);
		if (rc == -EINVAL)
			continue;
		if (!rc)
			*pt_id = paging->common.obj.id;
		goto out;
	}
	rc = iommufd_hwpt_paging_alloc(idev->ictx, ioas, idev, 0, immediate_attach, NULL,
				       &paging);
	if (rc)
		goto out;
	*destroy = NULL;
	if (!immediate_attach) {
		rc = do_attach(idev, &paging->common, destroy);
		if (rc) {
			uvf_mutex_unlock(&ioas->mutex);
			iommufd_object_abort_and_destroy(idev->ictx, &paging->common.obj);
			return rc;
		}
	}
	paging->auto_domain = true;
	*pt_id = paging->common.obj.id;
	iommufd_object_finalize(idev->ictx, &paging->common.obj);
out:
	uvf_mutex_unlock(&ioas->mutex);
	return rc;
}

static int iommufd_device_change_pt(struct iommufd_device *idev, uint32_t *pt_id,
				    attach_fn do_attach)
{
	struct iommufd_hw_pagetable *destroy = NULL;
	struct iommufd_object *pt_obj;
	int rc;

	rc = iommufd_get_object(idev->ictx, *pt_id, IOMMUFD_OBJ_ANY, &pt_obj);
	if (rc)
		return rc;
	switch (pt_obj->type) {
	case IOMMUFD_OBJ_HWPT_NESTED:
	case IOMMUFD_OBJ_HWPT_PAGING:
		rc = do_attach(idev, container_of(pt_obj, struct iommufd_hw_pagetable, obj),
			       &destroy);
		break;
	case IOMMUFD_OBJ_IOAS:
		rc = iommufd_device_auto_get_domain(idev, container_of(pt_obj,
								       struct iommufd_ioas, obj),
						    pt_id, do_attach, &destroy);
		break;
	default:
		rc = -EINVAL;
		break;
	}
	iommufd_put_object(idev->ictx, pt_obj);
	/* Only now that every lock is dropped may the old HWPT go. */
	if (destroy)
		iommufd_hw_pagetable_put(idev->ictx, destroy);
	return rc;
}

int iommufd_device_attach(struct iommufd_device *idev, uint32_t *pt_id)
{
	int rc = iommufd_device_change_pt(idev, pt_id, iommufd_device_do_attach);

	/* Pairs with iommufd_device_detach(). */
	if (!rc)
		iommufd_object_get_user(idev->ictx, &idev->obj);
	return rc;
}

int iommufd_device_replace(struct iommufd_device *idev, uint32_t *pt_id)
{
	return iommufd_device_change_pt(idev, pt_id, iommufd_device_do_replace);
}

void iommufd_device_detach(struct iommufd_device *idev)
{
	struct iommufd_hw_pagetable *hwpt = iommufd_hw_pagetable_detach(idev);

	iommufd_hw_pagetable_put(idev->ictx, hwpt);
	iommufd_object_put_user(idev->ictx, &idev->obj);
}

/* ---- GET_HW_INFO -------------------------------------------------------------------------- */

/* The driver's data into the user's buffer, zero-filling what is left. */
static int hw_info_copy(struct uvf_caller *c, uint64_t uptr, uint32_t ulen, const void *data,
			uint32_t len)
{
	uint32_t n = uvf_min(ulen, len);

	if (copy_to_user(c, uptr, data, n))
		return -EFAULT;
	if (n < ulen && clear_user(c, uptr + n, ulen - n))
		return -EFAULT;
	return 0;
}

int iommufd_get_hw_info(struct iommufd_ucmd *ucmd)
{
	struct iommu_hw_info *cmd = ucmd->cmd;
	struct iommufd_device *idev;
	uint32_t len = 0, type = IOMMU_HW_INFO_TYPE_NONE;
	void *data = NULL;
	int rc;

	if ((cmd->flags & ~IOMMU_HW_INFO_FLAG_INPUT_TYPE) || cmd->__reserved[0] ||
	    cmd->__reserved[1] || cmd->__reserved[2])
		return -EOPNOTSUPP;
	rc = iommufd_get_device(ucmd->ictx, cmd->dev_id, &idev);
	if (rc)
		return rc;
	/* Without the input flag the field is only an output. */
	if (!(cmd->flags & IOMMU_HW_INFO_FLAG_INPUT_TYPE))
		cmd->in_data_type = IOMMU_HW_INFO_TYPE_DEFAULT;
	rc = idev->ops->hw_info(idev, cmd->in_data_type, &data, &len, &type);
	if (rc)
		goto out_put;
	rc = hw_info_copy(ucmd->caller, cmd->data_uptr, cmd->data_len, data, len);
	if (rc)
		goto out_free;
	/* The driver's size: userspace learns what the kernel knows. */
	cmd->data_len = len;
	cmd->out_data_type = type;
	cmd->out_capabilities = 0;
	if (idev->ops->dirty_capable(idev))
		cmd->out_capabilities |= IOMMU_HW_CAP_DIRTY_TRACKING;
	cmd->out_max_pasid_log2 = idev->ops->max_pasid_log2(idev);
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_free:
	free(data);
out_put:
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return rc;
}
