/* SPDX-License-Identifier: MIT */
/*
 * The device model (the kernel's driver core, reduced): devices on buses,
 * drivers bound to them, and their sysfs directories.  A PCI function, an
 * mdev and an AP queue are all uvf_devices.
 *
 * Binding: a device has at most one driver.  A driver that is not
 * 'driver_managed_dma' (a kernel driver such as ioatdma) takes a
 * default-domain user on the device's IOMMU group and so makes the group
 * non-viable; binding it fails with -EBUSY while the group is user-owned.
 */
#ifndef UVF_HOST_DEVICE_H
#define UVF_HOST_DEVICE_H

#include <stdbool.h>
#include "../base/list.h"

struct uvf_host;
struct uvf_device;
struct iommu_group;
struct sysfs_node;

struct uvf_driver {
	const char *name;		/* "vfio-pci", "pci-stub", "ioatdma" */
	const char *bus;		/* "pci" */
	bool driver_managed_dma;
	int (*probe)(struct uvf_device *dev);
	void (*remove)(struct uvf_device *dev);
};

struct uvf_device {
	struct uvf_host *host;
	char name[64];			/* dev_name(): "0000:00:03.0", a UUID, ... */
	const char *bus;		/* "pci", "mdev", "ap" */
	struct uvf_device *parent;
	struct iommu_group *iommu_group;
	struct list_head group_link;	/* in iommu_group->devices */
	struct list_head host_link;	/* in the host's device list */
	const struct uvf_driver *driver;
	void *driver_data;		/* set by the bound driver's probe */
	void *bus_data;			/* the bus's object (struct pci_dev, ...) */
	struct sysfs_node *sysfs_dir;	/* /sys/devices/... */
	unsigned int user_owner_cnt;	/* cdev-path DMA ownership claims (iommu layer) */
	/* The IOMMU in front of it cannot block PCIe No-Snoop: no
	 * IOMMU_CAP_ENFORCE_CACHE_COHERENCY (topology "coherent": false). */
	bool no_enforce_cache_coherency;
	char driver_override[64];
};

/* Register with the host: creates nothing in sysfs (the bus does). */
void device_register(struct uvf_host *h, struct uvf_device *dev);
void device_unregister(struct uvf_device *dev);
struct uvf_device *device_find(struct uvf_host *h, const char *bus, const char *name);

int driver_register(struct uvf_host *h, const struct uvf_driver *drv);
const struct uvf_driver *driver_find(struct uvf_host *h, const char *bus, const char *name);
/* Bind/unbind (the sysfs 'bind'/'unbind' files and driver_override). */
int device_bind_driver(struct uvf_device *dev, const struct uvf_driver *drv);
void device_unbind_driver(struct uvf_device *dev);
/* Host teardown: forget every driver registration (drivers are not freed). */
void host_drivers_release(struct uvf_host *h);

#endif
