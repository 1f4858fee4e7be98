// SPDX-License-Identifier: MIT
/*
 * The mdev bus's drivers (drivers/vfio/mdev/mdev_driver.c) and binding
 * (the driver core's really_probe / __device_release_driver, for mdevs).
 * No driver matches an mdev by itself: creation attaches the parent's
 * mdev_driver explicitly.
 *
 * Lock order: see mdev_private.h; probe and remove run under the parent's
 * unreg_sem (shared or exclusive) and nothing else of ours.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "mdev_private.h"
#include "../host/device.h"
#include "../sysfs/sysfs.h"

static struct mdev_driver *to_mdev_driver(const struct uvf_driver *drv)
{
	return container_of(drv, struct mdev_driver, driver);
}

static int mdev_probe(struct uvf_device *dev)
{
	struct mdev_driver *drv = to_mdev_driver(dev->driver);

	if (!drv->probe)
		return 0;
	return drv->probe(to_mdev_device(dev));
}

static void mdev_remove(struct uvf_device *dev)
{
	struct mdev_driver *drv = to_mdev_driver(dev->driver);

	if (drv->remove)
		drv->remove(to_mdev_device(dev));
}

int mdev_register_driver(struct uvf_host *h, struct mdev_driver *drv)
{
	struct mdev_core *core = h ? mdev_core_of(h) : NULL;

	if (!core || !drv->device_api || !drv->driver.name)
		return -EINVAL;
	drv->driver.bus = "mdev";
	/* An mdev has no IOMMU group until its VFIO device makes one. */
	drv->driver.driver_managed_dma = true;
	drv->driver.probe = mdev_probe;
	drv->driver.remove = mdev_remove;
	drv->host = h;
	drv->sysfs_dir = NULL;
	if (core->bus_drivers) {
		drv->sysfs_dir = sysfs_mkdir(core->bus_drivers, drv->driver.name, 0755);
		if (!drv->sysfs_dir)
			return -errno;
	}
	return 0;
}

void mdev_unregister_driver(struct mdev_driver *drv)
{
	sysfs_remove(drv->sysfs_dir);
	drv->sysfs_dir = NULL;
	drv->host = NULL;
}

/* driver_sysfs_add: <mdev>/driver and <driver>/<mdev>. */
static int mdev_driver_sysfs_add(struct mdev_device *mdev, struct mdev_driver *drv)
{
	if (!drv->sysfs_dir)
		return 0;
	mdev->driver_dev_link = sysfs_add_link(drv->sysfs_dir, mdev->dev.name,
					       mdev->dev.sysfs_dir);
	mdev->driver_link = sysfs_add_link(mdev->dev.sysfs_dir, "driver", drv->sysfs_dir);
	return mdev->driver_dev_link && mdev->driver_link ? 0 : -ENOMEM;
}

static void mdev_driver_sysfs_remove(struct mdev_device *mdev)
{
	sysfs_remove(mdev->driver_link);
	sysfs_remove(mdev->driver_dev_link);
	mdev->driver_link = NULL;
	mdev->driver_dev_link = NULL;
}

/* The driver's dev_groups, added once probe succeeded. */
static int mdev_driver_add_attrs(struct mdev_device *mdev, const struct mdev_driver *drv)
{
	unsigned int n = 0;

	if (!drv->dev_attrs)
		return 0;
	while (drv->dev_attrs[n].name)
		n++;
	mdev->drv_attrs = calloc(n ? n : 1, sizeof(*mdev->drv_attrs));
	if (!mdev->drv_attrs)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++) {
		const struct mdev_device_attr *a = &drv->dev_attrs[i];

		mdev->drv_attrs[i] = sysfs_add_attr(mdev->dev.sysfs_dir, a->name, a->mode,
						    a->ops, mdev);
		mdev->nr_drv_attrs = i + 1;
		if (!mdev->drv_attrs[i])
			return -errno;
	}
	return 0;
}

static void mdev_driver_remove_attrs(struct mdev_device *mdev)
{
	for (unsigned int i = 0; i < mdev->nr_drv_attrs; i++)
		sysfs_remove(mdev->drv_attrs[i]);
	free(mdev->drv_attrs);
	mdev->drv_attrs = NULL;
	mdev->nr_drv_attrs = 0;
}

/*
 * device_driver_attach: the links, probe, then the driver's attributes.
 * A probe error is returned as it is (the driver core turns its positive
 * form back into -errno).
 */
int mdev_driver_attach(struct mdev_device *mdev)
{
	struct mdev_driver *drv = mdev->type->parent->mdev_driver;
	int ret;

	ret = mdev_driver_sysfs_add(mdev, drv);
	if (ret)
		goto out_links;
	ret = device_bind_driver(&mdev->dev, &drv->driver);
	if (ret)
		goto out_links;
	ret = mdev_driver_add_attrs(mdev, drv);
	if (ret)
		mdev_driver_release(mdev);
	return ret;

out_links:
	mdev_driver_sysfs_remove(mdev);
	return ret;
}

/* __device_release_driver: the links and the driver's attributes go
 * first, then the driver's remove runs (and may wait for users). */
void mdev_driver_release(struct mdev_device *mdev)
{
	if (!mdev->dev.driver)
		return;
	mdev_driver_sysfs_remove(mdev);
	mdev_driver_remove_attrs(mdev);
	device_unbind_driver(&mdev->dev);
}
