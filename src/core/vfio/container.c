// SPDX-License-Identifier: MIT
/*
 * The VFIO container, /dev/vfio/vfio (drivers/vfio/container.c): a set of
 * groups sharing one IOMMU backend.  Each open makes a fresh container with
 * no privilege; attaching a group (SET_CONTAINER on the group fd) is what
 * allows SET_IOMMU, and detaching the last group drops the backend with all
 * its mappings.
 *
 * Backends are tried in the kernel's registration order (type1 registers
 * after the core's noiommu backend and lands first in its list).  Only
 * noiommu containers may use the noiommu backend and they may use nothing
 * else.
 *
 * Locking: container->group_lock (rwlock) protects the group list and the
 * backend.  It nests inside vfio_group->group_lock and outside the backend's
 * own lock.  Pass-through ioctls hold it for reading so that the backend
 * cannot be released under them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "vfio_priv.h"
#include "../host/host.h"
#include "../iommu/iommu.h"
#include "../iommufd/iommufd.h"

/* ---- the noiommu backend ------------------------------------------------ */

static long vfio_noiommu_check_extension(struct vfio_core *core, void *data,
					 unsigned long arg)
{
	return core->host->params.enable_unsafe_noiommu_mode &&
	       arg == VFIO_NOIOMMU_IOMMU ? 1 : 0;
}

static int vfio_noiommu_open(struct vfio_core *core, struct uvf_caller *c,
			     unsigned long arg, void **data)
{
	if (arg != VFIO_NOIOMMU_IOMMU)
		return -EINVAL;
	if (!capable(c, UVF_CAP_SYS_RAWIO))
		return -EPERM;
	*data = NULL;
	return 0;
}

static void vfio_noiommu_release(void *data)
{
}

static long vfio_noiommu_ioctl(void *data, struct uvf_caller *c, unsigned int cmd,
			       uint64_t arg)
{
	return -ENOTTY;
}

static int vfio_noiommu_attach_group(void *data, struct iommu_group *g,
				     enum vfio_group_type type)
{
	return 0;
}

static void vfio_noiommu_detach_group(void *data, struct iommu_group *g)
{
}

const struct vfio_iommu_driver_ops vfio_noiommu_ops = {
	.name = "vfio-noiommu",
	.check_extension = vfio_noiommu_check_extension,
	.open = vfio_noiommu_open,
	.release = vfio_noiommu_release,
	.ioctl = vfio_noiommu_ioctl,
	.attach_group = vfio_noiommu_attach_group,
	.detach_group = vfio_noiommu_detach_group,
};

static const struct vfio_iommu_driver_ops *const vfio_iommu_drivers[] = {
	&vfio_type1_ops,
	&vfio_noiommu_ops,
};

static bool vfio_iommu_driver_allowed(const struct vfio_container *container,
				      const struct vfio_iommu_driver_ops *driver)
{
	return container->noiommu == (driver == &vfio_noiommu_ops);
}

/* ---- container objects -------------------------------------------------- */

static void vfio_container_get(struct vfio_container *container)
{
	uvf_ref_get(&container->ref);
}

static void vfio_container_put(struct vfio_container *container)
{
	if (!uvf_ref_put(&container->ref))
		return;
	uvf_rwlock_destroy(&container->group_lock);
	free(container);
}

static long vfio_container_ioctl_check_extension(struct vfio_container *container,
						 unsigned long arg)
{
	const struct vfio_iommu_driver_ops *driver;
	long ret = 0;

	uvf_read_lock(&container->group_lock);
	driver = container->iommu_driver;
	if (driver) {
		ret = driver->check_extension(container->core, container->iommu_data, arg);
		goto out;
	}
	/* No backend yet: the first one that says yes answers. */
	for (size_t i = 0; i < ARRAY_SIZE(vfio_iommu_drivers); i++) {
		driver = vfio_iommu_drivers[i];
		if (!list_empty(&container->group_list) &&
		    !vfio_iommu_driver_allowed(container, driver))
			continue;
		ret = driver->check_extension(container->core, NULL, arg);
		if (ret > 0)
			break;
	}
out:
	uvf_rw_unlock(&container->group_lock);
	return ret;
}

/* Attach every group to a freshly opened backend; group_lock held (write). */
static int __vfio_container_attach_groups(struct vfio_container *container,
					  const struct vfio_iommu_driver_ops *driver,
					  void *data)
{
	struct vfio_group *group;
	struct list_head *undo;
	int ret = -ENODEV;

	list_for_each_entry(group, &container->group_list, container_next) {
		ret = driver->attach_group(data, group->iommu_group, group->type);
		if (ret)
			goto unwind;
	}
	return ret;

unwind:
	/* Newest first, as the kernel unwinds. */
	for (undo = group->container_next.prev; undo != &container->group_list;
	     undo = undo->prev)
		driver->detach_group(data, list_entry(undo, struct vfio_group,
						      container_next)->iommu_group);
	return ret;
}

/*
 * Only a container with a group may enable an IOMMU (the group is the
 * privilege); there is no unset: removing every group returns the
 * container to the unset state.
 */
static long vfio_ioctl_set_iommu(struct vfio_container *container, struct uvf_caller *c,
				 unsigned long arg)
{
	long ret = -ENODEV;

	uvf_write_lock(&container->group_lock);
	if (list_empty(&container->group_list) || container->iommu_driver) {
		uvf_rw_unlock(&container->group_lock);
		return -EINVAL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(vfio_iommu_drivers); i++) {
		const struct vfio_iommu_driver_ops *driver = vfio_iommu_drivers[i];
		void *data = NULL;
		int err;

		if (!vfio_iommu_driver_allowed(container, driver))
			continue;
		/* SET_IOMMU's argument is an extension id: ask who has it. */
		if (driver->check_extension(container->core, NULL, arg) <= 0)
			continue;
		err = driver->open(container->core, c, arg, &data);
		if (err) {
			ret = err;
			continue;
		}
		err = __vfio_container_attach_groups(container, driver, data);
		if (err) {
			driver->release(data);
			ret = err;
			continue;
		}
		container->iommu_driver = driver;
		container->iommu_data = data;
		ret = 0;
		break;
	}
	uvf_rw_unlock(&container->group_lock);
	return ret;
}

static long vfio_container_fops_ioctl(struct uvf_file *f, struct uvf_caller *c,
				      unsigned int cmd, uint64_t arg)
{
	struct vfio_container *container = f->private_data;
	long ret = -EINVAL;

	switch (cmd) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_CHECK_EXTENSION:
		return vfio_container_ioctl_check_extension(container, arg);
	case VFIO_SET_IOMMU:
		return vfio_ioctl_set_iommu(container, c, arg);
	default:
		uvf_read_lock(&container->group_lock);
		if (container->iommu_driver)
			ret = container->iommu_driver->ioctl(container->iommu_data, c, cmd, arg);
		uvf_rw_unlock(&container->group_lock);
		return ret;
	}
}

static void vfio_container_fops_release(struct uvf_file *f)
{
	struct vfio_container *container = f->private_data;

	f->private_data = NULL;
	vfio_container_put(container);
}

static const struct uvf_file_ops vfio_container_fops = {
	.name = "vfio-container",
	.ioctl = vfio_container_fops_ioctl,
	.release = vfio_container_fops_release,
};

struct vfio_container *vfio_container_from_file(struct uvf_file *f)
{
	return f->ops == &vfio_container_fops ? f->private_data : NULL;
}

/*
 * With the host option iommufd_vfio_container (the kernel's
 * CONFIG_IOMMUFD_VFIO_CONTAINER) iommufd, not VFIO, serves /dev/vfio/vfio:
 * every open is an iommufd context in VFIO compatibility mode.
 */
static int vfio_container_devnode_open(struct uvf_devnode *dn, struct uvf_caller *c,
				       int flags, struct uvf_file **out)
{
	struct vfio_core *core = dn->priv;
	struct vfio_container *container;
	struct uvf_file *f;

	if (core->host->params.iommufd_vfio_container)
		return iommufd_open_file(core->host, c, flags, true, out);
	container = calloc(1, sizeof(*container));
	if (!container)
		return -ENOMEM;
	uvf_ref_init(&container->ref);
	uvf_rwlock_init(&container->group_lock);
	list_init(&container->group_list);
	container->core = core;
	f = file_alloc(core->host, &vfio_container_fops, container, flags, c);
	if (!f) {
		vfio_container_put(container);
		return -ENOMEM;
	}
	*out = f;
	return 0;
}

static const struct uvf_devnode_ops vfio_container_devnode_ops = {
	.open = vfio_container_devnode_open,
};

int vfio_container_init(struct vfio_core *core)
{
	struct uvf_devnode *dn = &core->container_node;

	snprintf(dn->path, sizeof(dn->path), "/dev/vfio/vfio");
	dn->mode = 0666;
	dn->uid = 0;
	dn->gid = 0;
	dn->major = VFIO_MISC_MAJOR;
	dn->minor = VFIO_MINOR;
	dn->ops = &vfio_container_devnode_ops;
	dn->priv = core;
	list_init(&dn->link);
	return devnode_add(core->host, dn);
}

void vfio_container_exit(struct vfio_core *core)
{
	devnode_del(core->host, &core->container_node);
}

/* ---- groups in containers ------------------------------------------------ */

int vfio_container_attach_group(struct vfio_container *container, struct vfio_group *group,
				struct uvf_caller *c)
{
	const struct vfio_iommu_driver_ops *driver;
	int ret = 0;

	if (group->type == VFIO_NO_IOMMU && !capable(c, UVF_CAP_SYS_RAWIO))
		return -EPERM;

	uvf_write_lock(&container->group_lock);
	/* Real and no-IOMMU groups never share a container. */
	if (!list_empty(&container->group_list) &&
	    container->noiommu != (group->type == VFIO_NO_IOMMU)) {
		ret = -EPERM;
		goto out;
	}
	if (group->type == VFIO_IOMMU) {
		ret = iommu_group_claim_dma_owner(group->iommu_group, group);
		if (ret)
			goto out;
	}
	driver = container->iommu_driver;
	if (driver) {
		ret = driver->attach_group(container->iommu_data, group->iommu_group,
					   group->type);
		if (ret) {
			if (group->type == VFIO_IOMMU)
				iommu_group_release_dma_owner(group->iommu_group);
			goto out;
		}
	}
	group->container = container;
	group->container_users = 1;
	container->noiommu = group->type == VFIO_NO_IOMMU;
	list_add(&group->container_next, &container->group_list);
	vfio_container_get(container);
out:
	uvf_rw_unlock(&container->group_lock);
	return ret;
}

void vfio_group_detach_container(struct vfio_group *group)
{
	struct vfio_container *container = group->container;
	const struct vfio_iommu_driver_ops *driver;

	uvf_write_lock(&container->group_lock);
	driver = container->iommu_driver;
	if (driver)
		driver->detach_group(container->iommu_data, group->iommu_group);
	if (group->type == VFIO_IOMMU)
		iommu_group_release_dma_owner(group->iommu_group);
	group->container = NULL;
	group->container_users = 0;
	list_del_init(&group->container_next);
	/* The last group out takes the privilege, and the backend, with it. */
	if (driver && list_empty(&container->group_list)) {
		driver->release(container->iommu_data);
		container->iommu_driver = NULL;
		container->iommu_data = NULL;
	}
	uvf_rw_unlock(&container->group_lock);
	vfio_container_put(container);
}

int vfio_group_use_container(struct vfio_group *group, struct uvf_caller *c)
{
	/* SET_CONTAINER done but no SET_IOMMU yet. */
	if (!group->container->iommu_driver)
		return -EINVAL;
	if (group->type == VFIO_NO_IOMMU && !capable(c, UVF_CAP_SYS_RAWIO))
		return -EPERM;
	file_get(group->opened_file);
	group->container_users++;
	return 0;
}

struct uvf_file *vfio_group_unuse_container(struct vfio_group *group)
{
	group->container_users--;
	return group->opened_file;
}

int vfio_device_container_pin_pages(struct vfio_device *vdev, uint64_t iova, int npage,
				    int prot)
{
	struct vfio_container *container = vdev->group->container;
	int ret = -EINVAL;

	if (!container)
		return -EINVAL;
	uvf_read_lock(&container->group_lock);
	if (container->iommu_driver && container->iommu_driver->pin_pages)
		ret = container->iommu_driver->pin_pages(container->iommu_data, vdev, iova, npage,
							 prot);
	uvf_rw_unlock(&container->group_lock);
	return ret;
}

void vfio_device_container_unpin_pages(struct vfio_device *vdev, uint64_t iova, int npage)
{
	struct vfio_container *container = vdev->group->container;

	if (!container)
		return;
	uvf_read_lock(&container->group_lock);
	if (container->iommu_driver && container->iommu_driver->unpin_pages)
		container->iommu_driver->unpin_pages(container->iommu_data, vdev, iova, npage);
	uvf_rw_unlock(&container->group_lock);
}

int vfio_device_container_dma_rw(struct vfio_device *vdev, uint64_t iova, void *buf,
				 size_t len, bool write)
{
	struct vfio_container *container = vdev->group->container;
	int ret = -ENOTTY;

	if (!container)
		return -EINVAL;
	uvf_read_lock(&container->group_lock);
	if (container->iommu_driver && container->iommu_driver->dma_rw)
		ret = container->iommu_driver->dma_rw(container->iommu_data, iova, buf, len,
						      write);
	uvf_rw_unlock(&container->group_lock);
	return ret;
}
