// SPDX-License-Identifier: MIT
/*
 * Devices and drivers of a host.  Lock: host->lock protects the device and
 * driver lists only; probe and remove run without it (they register VFIO
 * devices, create sysfs nodes and may block).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "device.h"
#include "host.h"
#include "../iommu/iommu.h"

struct host_driver {
	struct list_head link;
	const struct uvf_driver *drv;
};

void device_register(struct uvf_host *h, struct uvf_device *dev)
{
	dev->host = h;
	list_init(&dev->group_link);
	uvf_mutex_lock(&h->lock);
	list_add_tail(&dev->host_link, &h->devices);
	uvf_mutex_unlock(&h->lock);
}

void device_unregister(struct uvf_device *dev)
{
	struct uvf_host *h = dev->host;

	device_unbind_driver(dev);
	uvf_mutex_lock(&h->lock);
	list_del_init(&dev->host_link);
	uvf_mutex_unlock(&h->lock);
}

struct uvf_device *device_find(struct uvf_host *h, const char *bus, const char *name)
{
	struct uvf_device *dev, *found = NULL;

	uvf_mutex_lock(&h->lock);
	list_for_each_entry(dev, &h->devices, host_link) {
		if (!strcmp(dev->bus, bus) && !strcmp(dev->name, name)) {
			found = dev;
			break;
		}
	}
	uvf_mutex_unlock(&h->lock);
	return found;
}

static const struct uvf_driver *driver_find_locked(struct uvf_host *h, const char *bus,
						   const char *name)
{
	struct host_driver *hd;

	list_for_each_entry(hd, &h->drivers, link)
		if (!strcmp(hd->drv->bus, bus) && !strcmp(hd->drv->name, name))
			return hd->drv;
	return NULL;
}

int driver_register(struct uvf_host *h, const struct uvf_driver *drv)
{
	struct host_driver *hd = calloc(1, sizeof(*hd));
	int ret = 0;

	if (!hd)
		return -ENOMEM;
	hd->drv = drv;
	uvf_mutex_lock(&h->lock);
	if (driver_find_locked(h, drv->bus, drv->name))
		ret = -EEXIST;
	else
		list_add_tail(&hd->link, &h->drivers);
	uvf_mutex_unlock(&h->lock);
	if (ret)
		free(hd);
	return ret;
}

const struct uvf_driver *driver_find(struct uvf_host *h, const char *bus, const char *name)
{
	const struct uvf_driver *drv;

	uvf_mutex_lock(&h->lock);
	drv = driver_find_locked(h, bus, name);
	uvf_mutex_unlock(&h->lock);
	return drv;
}

void host_drivers_release(struct uvf_host *h)
{
	struct host_driver *hd, *tmp;

	list_for_each_entry_safe(hd, tmp, &h->drivers, link) {
		list_del_init(&hd->link);
		free(hd);
	}
}

/*
 * A kernel driver (not driver_managed_dma) makes the group non-viable for
 * as long as it is bound, and cannot bind while user space owns the group:
 * iommu_device_use_default_domain() says -EBUSY then.
 */
int device_bind_driver(struct uvf_device *dev, const struct uvf_driver *drv)
{
	bool kernel_user = !drv->driver_managed_dma && dev->iommu_group;
	int ret;

	if (dev->driver)
		return -EBUSY;
	if (kernel_user) {
		ret = iommu_device_use_default_domain(dev);
		if (ret)
			return ret;
	}
	dev->driver = drv;
	ret = drv->probe ? drv->probe(dev) : 0;
	if (ret) {
		dev->driver = NULL;
		if (kernel_user)
			iommu_device_unuse_default_domain(dev);
	}
	return ret;
}

void device_unbind_driver(struct uvf_device *dev)
{
	const struct uvf_driver *drv = dev->driver;

	if (!drv)
		return;
	if (drv->remove)
		drv->remove(dev);
	dev->driver = NULL;
	dev->driver_data = NULL;
	if (!drv->driver_managed_dma && dev->iommu_group)
		iommu_device_unuse_default_domain(dev);
}
