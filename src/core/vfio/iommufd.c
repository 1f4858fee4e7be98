// SPDX-License-Identifier: MIT
/*
 * VFIO devices on an iommufd (drivers/vfio/iommufd.c): binding a device file
 * to an iommufd context, attaching it to an IOAS or HWPT, and the compat
 * attach of the group path (VFIO_GROUP_SET_CONTAINER with an iommufd).
 *
 * A device that DMAs by itself (physical) is bound as an iommufd DEVICE:
 * that claims its DMA ownership, per device, for the context.  An emulated
 * (mdev-style) device is an ACCESS object instead: it pins or copies
 * through the IOAS it is attached to and never owns DMA.  A no-IOMMU
 * device binds to nothing.
 *
 * Every function here runs with dev_set->lock held.
 */
#include <errno.h>
#include "vfio_priv.h"
#include "../iommufd/iommufd.h"

static bool vfio_device_is_emulated(const struct vfio_device *vdev)
{
	return vdev->emulated_iommu ||
	       (vdev->group && vdev->group->type == VFIO_EMULATED_IOMMU);
}

/* The access unmap callback: the driver drops its vfio_pin_pages pins
 * (vfio_ap's NIBs); DMA through vfio_dma_rw copies keeps none. */
static void vfio_emulated_unmap(void *data, uint64_t iova, uint64_t length)
{
	struct vfio_device *vdev = data;

	if (vdev->ops->dma_unmap)
		vdev->ops->dma_unmap(vdev, iova, length);
}

static const struct iommufd_access_ops vfio_user_ops = {
	.needs_pin_pages = true,
	.unmap = vfio_emulated_unmap,
};

int vfio_df_iommufd_bind(struct vfio_device_file *df)
{
	struct vfio_device *vdev = df->device;

	/* No-IOMMU devices open without any translation. */
	if (vfio_device_is_noiommu(vdev))
		return 0;
	if (vfio_device_is_emulated(vdev))
		return iommufd_access_create(df->iommufd, &vfio_user_ops, vdev, &df->devid,
					     &vdev->iommufd_access);
	return iommufd_device_bind(df->iommufd, vdev->dev, &df->devid, &vdev->iommufd_device);
}

void vfio_df_iommufd_unbind(struct vfio_device_file *df)
{
	struct vfio_device *vdev = df->device;

	if (vdev->iommufd_access) {
		iommufd_access_destroy(vdev->iommufd_access);
		vdev->iommufd_access = NULL;
	}
	if (vdev->iommufd_device) {
		if (vdev->iommufd_attached)
			iommufd_device_detach(vdev->iommufd_device);
		iommufd_device_unbind(vdev->iommufd_device);
		vdev->iommufd_device = NULL;
	}
	vdev->iommufd_attached = false;
}

int vfio_iommufd_attach(struct vfio_device *vdev, uint32_t *pt_id)
{
	int rc;

	if (vdev->iommufd_access)
		rc = vdev->iommufd_attached ?
			iommufd_access_replace(vdev->iommufd_access, *pt_id) :
			iommufd_access_attach(vdev->iommufd_access, *pt_id);
	else if (vdev->iommufd_device)
		rc = vdev->iommufd_attached ?
			iommufd_device_replace(vdev->iommufd_device, pt_id) :
			iommufd_device_attach(vdev->iommufd_device, pt_id);
	else
		rc = -EINVAL;
	if (!rc)
		vdev->iommufd_attached = true;
	return rc;
}

void vfio_iommufd_detach(struct vfio_device *vdev)
{
	if (!vdev->iommufd_attached)
		return;
	if (vdev->iommufd_access)
		iommufd_access_detach(vdev->iommufd_access);
	else if (vdev->iommufd_device)
		iommufd_device_detach(vdev->iommufd_device);
	vdev->iommufd_attached = false;
}

bool vfio_iommufd_device_has_compat_ioas(struct vfio_device *vdev, struct iommufd_ctx *ictx)
{
	uint32_t ioas_id;

	return !iommufd_vfio_compat_ioas_get_id(ictx, &ioas_id);
}

/* The group path has no way to name an IOAS: the compat IOAS it is. */
int vfio_iommufd_compat_attach_ioas(struct vfio_device *vdev, struct iommufd_ctx *ictx)
{
	uint32_t ioas_id;
	int rc;

	if (vfio_device_is_noiommu(vdev))
		return 0;
	rc = iommufd_vfio_compat_ioas_get_id(ictx, &ioas_id);
	if (rc)
		return rc;
	return vfio_iommufd_attach(vdev, &ioas_id);
}

int vfio_iommufd_dma_rw(struct vfio_device *vdev, uint64_t iova, void *buf, size_t len,
			bool write)
{
	if (!vdev->iommufd_access)
		return -EINVAL;
	return iommufd_access_rw(vdev->iommufd_access, iova, buf, len,
				 write ? IOMMUFD_ACCESS_RW_WRITE : 0);
}
