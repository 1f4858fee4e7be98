// SPDX-License-Identifier: MIT
/*
 * The VFIO device cdev (drivers/vfio/device_cdev.c): /dev/vfio/devices/vfioN
 * for every registered device (noiommu-vfioN for no-IOMMU ones), whose fd
 * has no access until VFIO_DEVICE_BIND_IOMMUFD, then ATTACH/DETACH
 * _IOMMUFD_PT.  sysfs: the class device's 'dev' attribute.
 *
 * Rules: only BIND before binding (the rest is -EINVAL); one bind per
 * device (a second, or one while the device is open elsewhere, -EINVAL);
 * the group path and the cdev path of one group exclude each other
 * (-EBUSY while the group node is open, and the group node refuses to open
 * while a cdev of it is bound); DMA ownership is claimed per device for
 * the iommufd, and a detached device is in the blocking domain.
 *
 * Lock order: group->group_lock (vfio_device_block_group) is taken and
 * released before dev_set->lock; the iommufd's locks come after.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include "vfio_priv.h"
#include "../host/host.h"
#include "../host/device.h"
#include "../sysfs/sysfs.h"
#include "../iommufd/iommufd.h"
#include "uapi/linux/vfio_cdev.h"

/* ---- the node ------------------------------------------------------------------------ */

/* Pins the device while an open found its node (host_open's get/put). */
static void vfio_device_cdev_get(struct uvf_devnode *dn)
{
	struct vfio_device *vdev = dn->priv;

	uvf_ref_get(&vdev->refcount);
}

static void vfio_device_cdev_put(struct uvf_devnode *dn)
{
	vfio_device_put_registration(dn->priv);
}

/* Access is blocked until BIND_IOMMUFD opens the device. */
static int vfio_device_cdev_open(struct uvf_devnode *dn, struct uvf_caller *c, int flags,
				 struct uvf_file **out)
{
	struct vfio_device *vdev = dn->priv;
	struct vfio_device_file *df;
	struct uvf_file *f;

	/* Paired with the put in the device file's release. */
	if (!vfio_device_try_get_registration(vdev))
		return -ENODEV;
	df = vfio_allocate_device_file(vdev);
	f = df ? file_alloc(vdev->dev->host, &vfio_device_fops, df, flags, c) : NULL;
	if (!f) {
		free(df);
		vfio_device_put_registration(vdev);
		return -ENOMEM;
	}
	*out = f;
	return 0;
}

static const struct uvf_devnode_ops vfio_device_cdev_ops = {
	.open = vfio_device_cdev_open,
	.get = vfio_device_cdev_get,
	.put = vfio_device_cdev_put,
};

static ssize_t vfio_device_dev_show(struct sysfs_node *attr, char *buf)
{
	struct vfio_device *vdev = sysfs_priv(attr);

	return sysfs_emit(buf, "%u:%u\n", vdev->cdev_node.major, vdev->cdev_node.minor);
}

static const struct sysfs_attr_ops vfio_device_dev_ops = { .show = vfio_device_dev_show };

int vfio_device_cdev_add(struct vfio_device *vdev)
{
	struct uvf_devnode *dn = &vdev->cdev_node;
	int rc;

	snprintf(dn->path, sizeof(dn->path), "/dev/vfio/devices/%svfio%u",
		 vfio_device_is_noiommu(vdev) ? "noiommu-" : "", vdev->index);
	dn->mode = 0600;
	dn->uid = 0;
	dn->gid = 0;
	dn->major = VFIO_DEVICE_MAJOR;
	dn->minor = vdev->index;
	dn->ops = &vfio_device_cdev_ops;
	dn->priv = vdev;
	list_init(&dn->link);
	rc = devnode_add(vdev->dev->host, dn);
	if (rc)
		return rc;
	if (vdev->sysfs_dev && !sysfs_add_attr(vdev->sysfs_dev, "dev", 0444, &vfio_device_dev_ops,
					       vdev)) {
		devnode_del(vdev->dev->host, dn);
		return -ENOMEM;
	}
	return 0;
}

void vfio_device_cdev_del(struct vfio_device *vdev)
{
	/* The 'dev' attribute goes with the class device's directory. */
	devnode_del(vdev->dev->host, &vdev->cdev_node);
}

static void vfio_df_get_kvm_safe(struct vfio_device_file *df)
{
	struct vfio_core *core = df->device->dev->host->vfio;

	uvf_mutex_lock(&core->kvm_ref_lock);
	vfio_device_get_kvm_safe(df->device, df->kvm);
	uvf_mutex_unlock(&core->kvm_ref_lock);
}

/* ---- the ioctls -------------------------------------------------------------------------- */

long vfio_df_ioctl_bind_iommufd(struct vfio_device_file *df, struct uvf_caller *c,
				uint64_t arg)
{
	size_t minsz = offsetofend(struct vfio_device_bind_iommufd, out_devid);
	struct vfio_device *vdev = df->device;
	struct vfio_device_bind_iommufd bind;
	long ret;

	if (copy_from_user(c, &bind, arg, minsz))
		return -EFAULT;
	if (bind.argsz < minsz || bind.flags || bind.iommufd < 0)
		return -EINVAL;
	/* Only cdev fds bind. */
	if (df->group)
		return -EINVAL;
	ret = vfio_device_block_group(vdev);
	if (ret)
		return ret;
	uvf_mutex_lock(&vdev->dev_set->lock);
	/* One device cannot be bound twice. */
	if (__atomic_load_n(&df->access_granted, __ATOMIC_ACQUIRE)) {
		ret = -EINVAL;
		goto out_unlock;
	}
	ret = iommufd_ctx_from_fd(c, bind.iommufd, &df->iommufd);
	if (ret) {
		df->iommufd = NULL;
		goto out_unlock;
	}
	/* The device takes the VM the file is registered with (KVM-VFIO), if
	 * any, until unbind.  Only a device not open already: a second cdev
	 * fd of an open device fails below and must not touch its VM. */
	if (!vdev->open_count)
		vfio_df_get_kvm_safe(df);
	ret = vfio_df_open(df, c);
	if (ret)
		goto out_put;
	ret = copy_to_user(c, arg + offsetof(struct vfio_device_bind_iommufd, out_devid),
			   &df->devid, sizeof(df->devid)) ? -EFAULT : 0;
	if (ret)
		goto out_close;
	vdev->cdev_opened = true;
	__atomic_store_n(&df->access_granted, true, __ATOMIC_RELEASE);
	uvf_mutex_unlock(&vdev->dev_set->lock);
	return 0;

out_close:
	vfio_df_close(df);
out_put:
	if (!vdev->open_count)
		vfio_device_put_kvm(vdev);
	iommufd_ctx_put(df->iommufd);
	df->iommufd = NULL;
out_unlock:
	uvf_mutex_unlock(&vdev->dev_set->lock);
	vfio_device_unblock_group(vdev);
	return ret;
}

void vfio_df_unbind_iommufd(struct vfio_device_file *df)
{
	struct vfio_device *vdev = df->device;

	/* At close nobody races this flag. */
	if (!df->access_granted)
		return;
	uvf_mutex_lock(&vdev->dev_set->lock);
	vfio_df_close(df);
	vfio_device_put_kvm(vdev);
	iommufd_ctx_put(df->iommufd);
	vdev->cdev_opened = false;
	uvf_mutex_unlock(&vdev->dev_set->lock);
	vfio_device_unblock_group(vdev);
}

long vfio_df_ioctl_attach_pt(struct vfio_device_file *df, struct uvf_caller *c, uint64_t arg)
{
	size_t minsz = offsetofend(struct vfio_device_attach_iommufd_pt, pt_id);
	struct vfio_device_attach_iommufd_pt attach;
	struct vfio_device *vdev = df->device;
	long ret;

	if (copy_from_user(c, &attach, arg, minsz))
		return -EFAULT;
	if (attach.argsz < minsz || attach.flags)
		return -EINVAL;
	uvf_mutex_lock(&vdev->dev_set->lock);
	ret = vfio_iommufd_attach(vdev, &attach.pt_id);
	if (!ret && copy_to_user(c, arg + offsetof(struct vfio_device_attach_iommufd_pt, pt_id),
				 &attach.pt_id, sizeof(attach.pt_id))) {
		vfio_iommufd_detach(vdev);
		ret = -EFAULT;
	}
	uvf_mutex_unlock(&vdev->dev_set->lock);
	return ret;
}

long vfio_df_ioctl_detach_pt(struct vfio_device_file *df, struct uvf_caller *c, uint64_t arg)
{
	size_t minsz = offsetofend(struct vfio_device_detach_iommufd_pt, flags);
	struct vfio_device_detach_iommufd_pt detach;
	struct vfio_device *vdev = df->device;

	if (copy_from_user(c, &detach, arg, minsz))
		return -EFAULT;
	if (detach.argsz < minsz || detach.flags)
		return -EINVAL;
	uvf_mutex_lock(&vdev->dev_set->lock);
	vfio_iommufd_detach(vdev);
	uvf_mutex_unlock(&vdev->dev_set->lock);
	return 0;
}
