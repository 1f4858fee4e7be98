// SPDX-License-Identifier: MIT
/*
 * VFIO groups, /dev/vfio/<group> (drivers/vfio/group.c): the legacy path
 * to devices.  A group exists while a VFIO driver has a device of its IOMMU
 * group registered; the group fd is the proof of ownership, opened at most
 * once, attached to a container, and hands out device fds.
 *
 * Lifetime: group->ref holds the memory.  The registrations hold one
 * reference together ('drivers' counts them under core->lock) and each
 * open group file holds one.  When the last device unregisters the node
 * disappears, the container is detached and iommu_group is cleared, which
 * makes every later ioctl on a still-open group fd fail with -ENODEV.
 *
 * Lock order: core->lock -> group_lock -> dev_set->lock -> container locks;
 * device_lock is a leaf.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vfio_priv.h"
#include "../host/host.h"
#include "../host/device.h"
#include "../iommu/iommu.h"
#include "../sysfs/sysfs.h"
#include "../iommufd/iommufd.h"
#include "../base/log.h"

static const struct uvf_file_ops vfio_group_fops;

/* A container or an iommufd is set; group_lock held. */
static bool vfio_group_has_iommu(const struct vfio_group *group)
{
	return group->container || group->iommufd;
}

/* Drop the iommufd of SET_CONTAINER; group_lock held. */
static void vfio_group_put_iommufd(struct vfio_group *group)
{
	if (group->iommufd) {
		iommufd_ctx_put(group->iommufd);
		group->iommufd = NULL;
	}
}

/* ---- group objects ------------------------------------------------------ */

void vfio_group_get(struct vfio_group *group)
{
	uvf_ref_get(&group->ref);
}

void vfio_group_put(struct vfio_group *group)
{
	struct vfio_core *core = group->core;

	if (!uvf_ref_put(&group->ref))
		return;
	if (group->iommu_group || group->cdev_device_open_cnt)
		uvf_warn("vfio", "group %s freed while in use", group->name);
	uvf_mutex_lock(&core->lock);
	idtable_remove(&core->group_minors, group->minor);
	uvf_mutex_unlock(&core->lock);
	uvf_mutex_destroy(&group->device_lock);
	uvf_mutex_destroy(&group->group_lock);
	free(group);
}

static ssize_t vfio_group_dev_show(struct sysfs_node *attr, char *buf)
{
	struct vfio_group *group = sysfs_priv(attr);

	return sysfs_emit(buf, "%u:%u\n", group->devnode.major, group->devnode.minor);
}

static const struct sysfs_attr_ops vfio_group_dev_ops = { .show = vfio_group_dev_show };

/* /sys/devices/virtual/vfio/<name>/dev and /sys/class/vfio/<name>. */
static int vfio_group_sysfs_add(struct vfio_group *group)
{
	struct vfio_core *core = group->core;
	struct sysfs_node *dir;

	if (!core->virtual_vfio)
		return 0;
	dir = sysfs_mkdir(core->virtual_vfio, group->name, 0755);
	if (!dir)
		return -EEXIST;
	group->sysfs_dir = dir;
	if (!sysfs_add_attr(dir, "dev", 0444, &vfio_group_dev_ops, group) ||
	    !sysfs_add_link(dir, "subsystem", core->class_vfio))
		return -ENOMEM;
	group->sysfs_class_link = sysfs_add_link(core->class_vfio, group->name, dir);
	return group->sysfs_class_link ? 0 : -ENOMEM;
}

static void vfio_group_sysfs_del(struct vfio_group *group)
{
	sysfs_remove(group->sysfs_class_link);
	sysfs_remove(group->sysfs_dir);
	group->sysfs_class_link = NULL;
	group->sysfs_dir = NULL;
}

static int vfio_group_devnode_open(struct uvf_devnode *dn, struct uvf_caller *c, int flags,
				   struct uvf_file **out);

/* An open in flight pins the group; a removed group answers -ENODEV. */
static void vfio_group_devnode_get(struct uvf_devnode *dn)
{
	vfio_group_get(dn->priv);
}

static void vfio_group_devnode_put(struct uvf_devnode *dn)
{
	vfio_group_put(dn->priv);
}

static const struct uvf_devnode_ops vfio_group_devnode_ops = {
	.open = vfio_group_devnode_open,
	.get = vfio_group_devnode_get,
	.put = vfio_group_devnode_put,
};

static struct vfio_group *vfio_group_alloc(struct vfio_core *core, struct iommu_group *ig,
					   enum vfio_group_type type)
{
	struct vfio_group *group = calloc(1, sizeof(*group));
	int64_t minor;

	if (!group)
		return NULL;
	minor = idtable_alloc(&core->group_minors, group, 0, VFIO_MINORMASK);
	if (minor < 0) {
		free(group);
		return NULL;
	}
	uvf_ref_init(&group->ref);
	uvf_mutex_init(&group->group_lock);
	uvf_mutex_init(&group->device_lock);
	list_init(&group->device_list);
	list_init(&group->container_next);
	list_init(&group->vfio_next);
	group->core = core;
	group->minor = (unsigned int)minor;
	group->type = type;
	group->drivers = 1;
	group->iommu_group = ig;
	iommu_group_get(ig);
	snprintf(group->name, sizeof(group->name), "%s%u",
		 type == VFIO_NO_IOMMU ? "noiommu-" : "", ig->id);
	return group;
}

/* Undo vfio_group_alloc and whatever of vfio_group_publish succeeded. */
static void vfio_group_unpublish(struct vfio_group *group)
{
	struct iommu_group *ig = group->iommu_group;

	devnode_del(group->core->host, &group->devnode);
	vfio_group_sysfs_del(group);
	group->iommu_group = NULL;
	iommu_group_put(ig);
}

/* Make the group visible: its node (root 0600 by default) and sysfs. */
static int vfio_group_publish(struct vfio_group *group)
{
	struct uvf_devnode *dn = &group->devnode;
	int ret;

	snprintf(dn->path, sizeof(dn->path), "/dev/vfio/%s", group->name);
	dn->mode = 0600;
	dn->uid = 0;
	dn->gid = 0;
	dn->major = VFIO_GROUP_MAJOR;
	dn->minor = group->minor;
	dn->ops = &vfio_group_devnode_ops;
	dn->priv = group;
	list_init(&dn->link);
	ret = devnode_add(group->core->host, dn);
	if (!ret)
		ret = vfio_group_sysfs_add(group);
	return ret;
}

/* A new group for ig; core->lock held. */
static int vfio_create_group(struct vfio_core *core, struct iommu_group *ig,
			     enum vfio_group_type type, struct vfio_group **out)
{
	struct vfio_group *group = vfio_group_alloc(core, ig, type);
	int ret;

	if (!group)
		return -ENOMEM;
	ret = vfio_group_publish(group);
	if (ret) {
		vfio_group_unpublish(group);
		/* The minor goes back under core->lock, which we hold. */
		idtable_remove(&core->group_minors, group->minor);
		group->minor = UINT32_MAX;
		uvf_mutex_destroy(&group->device_lock);
		uvf_mutex_destroy(&group->group_lock);
		free(group);
		return ret;
	}
	list_add(&group->vfio_next, &core->group_list);
	*out = group;
	return 0;
}

/*
 * Emulated and no-IOMMU devices get an IOMMU group of their own, named
 * "vfio-noiommu" as the kernel's.
 */
static int vfio_noiommu_group_alloc(struct vfio_core *core, struct uvf_device *dev,
				    enum vfio_group_type type, struct vfio_group **out)
{
	struct iommu_group *ig = iommu_group_alloc(core->host);
	int ret;

	if (!ig)
		return -ENOMEM;
	ret = iommu_group_set_name(ig, "vfio-noiommu");
	if (!ret)
		ret = iommu_group_add_device(ig, dev);
	if (ret)
		goto out_put;
	uvf_mutex_lock(&core->lock);
	ret = vfio_create_group(core, ig, type, out);
	uvf_mutex_unlock(&core->lock);
	if (ret)
		iommu_group_remove_device(dev);
out_put:
	iommu_group_put(ig);
	return ret;
}

static bool vfio_group_has_device(struct vfio_group *group, struct uvf_device *dev)
{
	struct vfio_device *vdev;
	bool found = false;

	uvf_mutex_lock(&group->device_lock);
	list_for_each_entry(vdev, &group->device_list, group_next) {
		if (vdev->dev == dev) {
			found = true;
			break;
		}
	}
	uvf_mutex_unlock(&group->device_lock);
	return found;
}

static struct vfio_group *vfio_group_find_from_iommu(struct vfio_core *core,
						     struct iommu_group *ig)
{
	struct vfio_group *group;

	list_for_each_entry(group, &core->group_list, vfio_next)
		if (group->iommu_group == ig)
			return group;
	return NULL;
}

static int vfio_group_find_or_alloc(struct vfio_core *core, struct uvf_device *dev,
				    struct vfio_group **out)
{
	struct iommu_group *ig = dev->iommu_group;
	struct vfio_group *group;
	int ret = 0;

	if (!ig && core->host->params.enable_unsafe_noiommu_mode) {
		/* No IOMMU behind this device: unsafe mode makes a group for it. */
		ret = vfio_noiommu_group_alloc(core, dev, VFIO_NO_IOMMU, out);
		if (!ret)
			uvf_warn("vfio", "%s: vfio-noiommu group (no DMA isolation)", dev->name);
		return ret;
	}
	if (!ig)
		return -EINVAL;

	uvf_mutex_lock(&core->lock);
	group = vfio_group_find_from_iommu(core, ig);
	if (group) {
		if (vfio_group_has_device(group, dev)) {
			ret = -EINVAL;
		} else {
			group->drivers++;
			*out = group;
		}
	} else {
		ret = vfio_create_group(core, ig, VFIO_IOMMU, out);
	}
	uvf_mutex_unlock(&core->lock);
	return ret;
}

int vfio_device_set_group(struct vfio_device *vdev, enum vfio_group_type type)
{
	struct vfio_core *core = vdev->dev->host->vfio;

	if (type == VFIO_IOMMU)
		return vfio_group_find_or_alloc(core, vdev->dev, &vdev->group);
	return vfio_noiommu_group_alloc(core, vdev->dev, type, &vdev->group);
}

void vfio_device_remove_group(struct vfio_device *vdev)
{
	struct vfio_group *group = vdev->group;
	struct vfio_core *core = group->core;
	struct iommu_group *ig;

	if (group->type == VFIO_NO_IOMMU || group->type == VFIO_EMULATED_IOMMU)
		iommu_group_remove_device(vdev->dev);
	vdev->group = NULL;

	uvf_mutex_lock(&core->lock);
	if (--group->drivers) {
		uvf_mutex_unlock(&core->lock);
		return;
	}
	list_del_init(&group->vfio_next);
	devnode_del(core->host, &group->devnode);
	vfio_group_sysfs_del(group);

	uvf_mutex_lock(&group->group_lock);
	if (!list_empty(&group->device_list))
		uvf_warn("vfio", "group %s removed with devices", group->name);
	/* Revoke the IOMMU group: every later user sees -ENODEV. */
	if (group->container)
		vfio_group_detach_container(group);
	vfio_group_put_iommufd(group);
	ig = group->iommu_group;
	group->iommu_group = NULL;
	uvf_mutex_unlock(&group->group_lock);
	uvf_mutex_unlock(&core->lock);

	iommu_group_put(ig);
	vfio_group_put(group);
}

void vfio_device_group_register(struct vfio_device *vdev)
{
	uvf_mutex_lock(&vdev->group->device_lock);
	list_add(&vdev->group_next, &vdev->group->device_list);
	uvf_mutex_unlock(&vdev->group->device_lock);
}

void vfio_device_group_unregister(struct vfio_device *vdev)
{
	uvf_mutex_lock(&vdev->group->device_lock);
	list_del_init(&vdev->group_next);
	uvf_mutex_unlock(&vdev->group->device_lock);
}

int vfio_device_group_use_iommu(struct vfio_device *vdev, struct uvf_caller *c)
{
	struct vfio_group *group = vdev->group;

	if (!group->container)
		return -EINVAL;
	return vfio_group_use_container(group, c);
}

struct uvf_file *vfio_device_group_unuse_iommu(struct vfio_device *vdev)
{
	struct vfio_group *group = vdev->group;
	struct vfio_container *container = group->container;

	if (!container)
		return NULL;
	uvf_read_lock(&container->group_lock);
	if (container->iommu_driver && container->iommu_driver->unpin_device)
		container->iommu_driver->unpin_device(container->iommu_data, vdev);
	uvf_rw_unlock(&container->group_lock);
	return vfio_group_unuse_container(group);
}

int vfio_device_block_group(struct vfio_device *vdev)
{
	struct vfio_group *group = vdev->group;
	int ret = 0;

	uvf_mutex_lock(&group->group_lock);
	if (group->opened_file)
		ret = -EBUSY;
	else
		group->cdev_device_open_cnt++;
	uvf_mutex_unlock(&group->group_lock);
	return ret;
}

void vfio_device_unblock_group(struct vfio_device *vdev)
{
	struct vfio_group *group = vdev->group;

	uvf_mutex_lock(&group->group_lock);
	group->cdev_device_open_cnt--;
	uvf_mutex_unlock(&group->group_lock);
}

struct vfio_group *vfio_group_from_file(struct uvf_file *f)
{
	return f->ops == &vfio_group_fops ? f->private_data : NULL;
}

bool vfio_file_is_group(struct uvf_file *f)
{
	return vfio_group_from_file(f) != NULL;
}

/*
 * A device whose IOMMU cannot block No-Snoop makes any domain of the group
 * unable to; with every one able, the domain VFIO attaches enforces it.
 */
bool vfio_group_enforced_coherent(struct vfio_group *group)
{
	struct vfio_device *vdev;
	bool ret = true;

	uvf_mutex_lock(&group->device_lock);
	list_for_each_entry(vdev, &group->device_list, group_next) {
		if (!device_iommu_capable(vdev->dev, IOMMU_CAP_ENFORCE_CACHE_COHERENCY)) {
			ret = false;
			break;
		}
	}
	uvf_mutex_unlock(&group->device_lock);
	return ret;
}

void vfio_group_set_kvm(struct vfio_group *group, struct kvm *kvm)
{
	uvf_mutex_lock(&group->core->kvm_ref_lock);
	group->kvm = kvm;
	uvf_mutex_unlock(&group->core->kvm_ref_lock);
}

/* ---- the group file ----------------------------------------------------- */

static long vfio_group_ioctl_get_status(struct vfio_group *group, struct uvf_caller *c,
					uint64_t arg)
{
	size_t minsz = offsetofend(struct vfio_group_status, flags);
	struct vfio_group_status status;

	if (copy_from_user(c, &status, arg, minsz))
		return -EFAULT;
	if (status.argsz < minsz)
		return -EINVAL;
	status.flags = 0;

	uvf_mutex_lock(&group->group_lock);
	if (!group->iommu_group) {
		uvf_mutex_unlock(&group->group_lock);
		return -ENODEV;
	}
	/*
	 * With an iommufd, ownership is claimed per device at GET_DEVICE_FD,
	 * not here: VIABLE may be reported and GET_DEVICE_FD still fail.
	 */
	if (vfio_group_has_iommu(group))
		status.flags |= VFIO_GROUP_FLAGS_CONTAINER_SET | VFIO_GROUP_FLAGS_VIABLE;
	else if (!iommu_group_dma_owner_claimed(group->iommu_group))
		status.flags |= VFIO_GROUP_FLAGS_VIABLE;
	uvf_mutex_unlock(&group->group_lock);

	return copy_to_user(c, arg, &status, minsz) ? -EFAULT : 0;
}

/*
 * The iommufd compat path: the context gets its compat IOAS (or no-IOMMU
 * mode) and the group keeps the context; devices bind and attach to that
 * IOAS at GET_DEVICE_FD.  Any other fd is -EBADFD.  group_lock held.
 */
static long vfio_group_set_iommufd(struct vfio_group *group, struct iommufd_ctx *ictx)
{
	long ret;

	if (!ictx)
		return -EBADFD;
	if (group->type == VFIO_NO_IOMMU)
		ret = iommufd_vfio_compat_set_no_iommu(ictx);
	else
		ret = iommufd_vfio_compat_ioas_create(ictx);
	if (ret)
		return ret;
	iommufd_ctx_get(ictx);
	group->iommufd = ictx;
	return 0;
}

static long vfio_group_ioctl_set_container(struct vfio_group *group, struct uvf_caller *c,
					   uint64_t arg)
{
	struct vfio_container *container;
	struct uvf_file *f;
	int32_t fd;
	long ret;

	if (copy_from_user(c, &fd, arg, sizeof(fd)))
		return -EFAULT;
	f = caller_fget(c, fd);
	if (!f)
		return -EBADF;

	uvf_mutex_lock(&group->group_lock);
	if (vfio_group_has_iommu(group)) {
		ret = -EINVAL;
		goto out;
	}
	if (!group->iommu_group) {
		ret = -ENODEV;
		goto out;
	}
	container = vfio_container_from_file(f);
	if (container) {
		ret = vfio_container_attach_group(container, group, c);
		goto out;
	}
	ret = vfio_group_set_iommufd(group, iommufd_ctx_from_file(f));
out:
	uvf_mutex_unlock(&group->group_lock);
	file_put(f);
	return ret;
}

/* Only the 1 -> 0 transition: no device of the group may be open. */
static long vfio_group_ioctl_unset_container(struct vfio_group *group)
{
	long ret = 0;

	uvf_mutex_lock(&group->group_lock);
	if (!vfio_group_has_iommu(group))
		ret = -EINVAL;
	else if (group->container && group->container_users != 1)
		ret = -EBUSY;
	else if (group->container)
		vfio_group_detach_container(group);
	if (!ret)
		vfio_group_put_iommufd(group);
	uvf_mutex_unlock(&group->group_lock);
	return ret;
}

/* A registered device by name (the driver's match op, else dev_name),
 * with a registration reference. */
static struct vfio_device *vfio_device_get_from_name(struct vfio_group *group,
						     const char *buf, int *err)
{
	struct vfio_device *it, *found = NULL;

	*err = -ENODEV;
	uvf_mutex_lock(&group->device_lock);
	list_for_each_entry(it, &group->device_list, group_next) {
		int ret;

		if (it->ops->match) {
			ret = it->ops->match(it, buf);
			if (ret < 0) {
				*err = ret;
				break;
			}
		} else {
			ret = !strcmp(it->dev->name, buf);
		}
		if (ret && vfio_device_try_get_registration(it)) {
			found = it;
			break;
		}
	}
	uvf_mutex_unlock(&group->device_lock);
	return found;
}

static void vfio_device_group_get_kvm_safe(struct vfio_device *vdev)
{
	struct vfio_core *core = vdev->group->core;

	/* Under kvm_ref_lock the group's VM cannot be unregistered and freed
	 * between reading it and taking the reference. */
	uvf_mutex_lock(&core->kvm_ref_lock);
	vfio_device_get_kvm_safe(vdev, vdev->group->kvm);
	uvf_mutex_unlock(&core->kvm_ref_lock);
}

static int vfio_df_group_open(struct vfio_device_file *df, struct uvf_caller *c)
{
	struct vfio_device *vdev = df->device;
	struct vfio_group *group = df->group;
	int ret;

	uvf_mutex_lock(&group->group_lock);
	if (!vfio_group_has_iommu(group)) {
		uvf_mutex_unlock(&group->group_lock);
		return -EINVAL;
	}
	uvf_mutex_lock(&vdev->dev_set->lock);
	/*
	 * At the first open the device takes the VM the group is registered
	 * with (KVM-VFIO), if any, and keeps a reference until the last close:
	 * open_device sees it.  Later registrations do not reach an open device.
	 */
	if (!vdev->open_count)
		vfio_device_group_get_kvm_safe(vdev);
	df->iommufd = group->iommufd;
	/* No-IOMMU on an iommufd: no translation may have been asked for. */
	if (df->iommufd && vfio_device_is_noiommu(vdev) && !vdev->open_count &&
	    (!capable(c, UVF_CAP_SYS_RAWIO) ||
	     vfio_iommufd_device_has_compat_ioas(vdev, df->iommufd))) {
		ret = -EPERM;
		goto out_put_kvm;
	}
	ret = vfio_df_open(df, c);
	if (ret)
		goto out_put_kvm;
	if (df->iommufd && vdev->open_count == 1) {
		ret = vfio_iommufd_compat_attach_ioas(vdev, df->iommufd);
		if (ret) {
			/* No group file to put: an iommufd open pins none. */
			vfio_df_close(df);
			goto out_put_kvm;
		}
	}
	__atomic_store_n(&df->access_granted, true, __ATOMIC_RELEASE);
	goto out;
out_put_kvm:
	df->iommufd = NULL;
	if (!vdev->open_count)
		vfio_device_put_kvm(vdev);
out:
	uvf_mutex_unlock(&vdev->dev_set->lock);
	uvf_mutex_unlock(&group->group_lock);
	return ret;
}

struct uvf_file *vfio_df_group_close(struct vfio_device_file *df)
{
	struct vfio_device *vdev = df->device;
	struct vfio_group *group = df->group;
	struct uvf_file *put;

	uvf_mutex_lock(&group->group_lock);
	uvf_mutex_lock(&vdev->dev_set->lock);
	put = vfio_df_close(df);
	df->iommufd = NULL;
	if (!vdev->open_count)
		vfio_device_put_kvm(vdev);
	uvf_mutex_unlock(&vdev->dev_set->lock);
	uvf_mutex_unlock(&group->group_lock);
	return put;
}

static long vfio_group_ioctl_get_device_fd(struct vfio_group *group, struct uvf_caller *c,
					   uint64_t arg)
{
	struct vfio_device_file *df = NULL;
	struct vfio_device *vdev;
	struct uvf_file *f;
	char *buf;
	int ret;

	buf = malloc(UVF_PAGE_SIZE);
	if (!buf)
		return -ENOMEM;
	ret = strncpy_from_user(c, buf, arg, UVF_PAGE_SIZE);
	if (ret < 0) {
		free(buf);
		/* strndup_user: a string that does not fit is -EINVAL. */
		return ret == -ENAMETOOLONG ? -EINVAL : ret;
	}
	vdev = vfio_device_get_from_name(group, buf, &ret);
	free(buf);
	if (!vdev)
		return ret;

	df = vfio_allocate_device_file(vdev);
	if (!df) {
		ret = -ENOMEM;
		goto err_put;
	}
	df->group = group;
	ret = vfio_df_group_open(df, c);
	if (ret)
		goto err_free;
	f = file_alloc(group->core->host, &vfio_device_fops, df, O_RDWR | O_CLOEXEC, c);
	if (!f) {
		ret = -ENOMEM;
		goto err_close;
	}
	if (group->type == VFIO_NO_IOMMU)
		uvf_warn("vfio", "%s: vfio-noiommu device opened by user (pid %d)",
			 vdev->dev->name, (int)c->pid);
	/* The file owns df and the registration reference from here on. */
	return caller_fd_install(c, f, O_RDWR | O_CLOEXEC);

err_close:
	file_put(vfio_df_group_close(df));
err_free:
	free(df);
err_put:
	vfio_device_put_registration(vdev);
	return ret;
}

static long vfio_group_fops_ioctl(struct uvf_file *f, struct uvf_caller *c, unsigned int cmd,
				  uint64_t arg)
{
	struct vfio_group *group = f->private_data;

	switch (cmd) {
	case VFIO_GROUP_GET_DEVICE_FD:
		return vfio_group_ioctl_get_device_fd(group, c, arg);
	case VFIO_GROUP_GET_STATUS:
		return vfio_group_ioctl_get_status(group, c, arg);
	case VFIO_GROUP_SET_CONTAINER:
		return vfio_group_ioctl_set_container(group, c, arg);
	case VFIO_GROUP_UNSET_CONTAINER:
		return vfio_group_ioctl_unset_container(group);
	default:
		return -ENOTTY;
	}
}

/* Device fds pin the group file, so this runs with no device open. */
static void vfio_group_fops_release(struct uvf_file *f)
{
	struct vfio_group *group = f->private_data;

	f->private_data = NULL;
	uvf_mutex_lock(&group->group_lock);
	if (group->container)
		vfio_group_detach_container(group);
	vfio_group_put_iommufd(group);
	group->opened_file = NULL;
	uvf_mutex_unlock(&group->group_lock);
	vfio_group_put(group);
}

static const struct uvf_file_ops vfio_group_fops = {
	.name = "vfio-group",
	.ioctl = vfio_group_fops_ioctl,
	.release = vfio_group_fops_release,
};

static int vfio_group_devnode_open(struct uvf_devnode *dn, struct uvf_caller *c, int flags,
				   struct uvf_file **out)
{
	struct vfio_group *group = dn->priv;
	struct uvf_file *f;
	int ret = 0;

	uvf_mutex_lock(&group->group_lock);
	if (!group->iommu_group)
		ret = -ENODEV;
	else if (group->type == VFIO_NO_IOMMU && !capable(c, UVF_CAP_SYS_RAWIO))
		ret = -EPERM;
	else if (group->cdev_device_open_cnt || group->opened_file)
		ret = -EBUSY;	/* one open per group, and not while a cdev is bound */
	if (ret)
		goto out;
	f = file_alloc(group->core->host, &vfio_group_fops, group, flags, c);
	if (!f) {
		ret = -ENOMEM;
		goto out;
	}
	vfio_group_get(group);
	group->opened_file = f;
	*out = f;
out:
	uvf_mutex_unlock(&group->group_lock);
	return ret;
}

/* ---- init --------------------------------------------------------------- */

int vfio_group_init(struct vfio_core *core)
{
	struct uvf_host *h = core->host;

	if (!h->sysfs)
		return 0;
	core->class_vfio = sysfs_mkdir_p(sysfs_root(h->sysfs), "class/vfio");
	core->virtual_vfio = sysfs_mkdir_p(sysfs_root(h->sysfs), "devices/virtual/vfio");
	return core->class_vfio && core->virtual_vfio ? 0 : -ENOMEM;
}

void vfio_group_exit(struct vfio_core *core)
{
	if (!list_empty(&core->group_list))
		uvf_warn("vfio", "groups left at exit");
}
