/* SPDX-License-Identifier: MIT */
/*
 * Mediated devices (include/linux/mdev.h): a parent device offers mdev
 * types; writing a UUID to a type's 'create' makes an mdev_device on the
 * mdev bus, bound to the parent's mdev_driver, whose probe normally
 * registers an emulated-IOMMU VFIO device (vfio_register_emulated_iommu_dev)
 * and whose remove unregisters it - which blocks until every user has
 * closed the device, calling the VFIO driver's request() meanwhile.
 *
 * sysfs, as mdevctl and libvirt read it:
 *   <parent>/mdev_supported_types/<drv>-<type>/{create, device_api, name,
 *       available_instances, description (if the driver shows one), devices/}
 *   <parent>/<uuid>/{remove, mdev_type ->, subsystem ->, driver ->,
 *       iommu_group -> (VFIO), vfio-dev/vfioN (VFIO), the driver's dev_attrs}
 *   /sys/bus/mdev/devices/<uuid> -> <parent>/<uuid>
 *   /sys/bus/mdev/drivers/<driver>/<uuid> -> <parent>/<uuid>
 *   /sys/class/mdev_bus/<parent> -> <parent>
 * where <drv> is dev_driver_string() of the parent: the name of the driver
 * bound to it (vfio_ap's matrix device: "vfio_ap"), else its bus name.
 *
 * Objects are per host, as everything in uvfio: an mdev_driver and an
 * mdev_parent (and its types) serve one host.
 */
#ifndef UVF_MDEV_H
#define UVF_MDEV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "../base/compiler.h"
#include "../base/list.h"
#include "../base/lock.h"
#include "../base/refcount.h"
#include "../host/device.h"

struct uvf_host;
struct sysfs_node;
struct sysfs_attr_ops;
struct mdev_parent;

#define MDEV_UUID_STRING_LEN 36		/* UUID_STRING_LEN */

struct mdev_type {
	/* set by the driver before mdev_register_parent */
	const char *sysfs_name;		/* "passthrough": the dir is "<drv>-passthrough" */
	const char *pretty_name;	/* 'name'; NULL shows sysfs_name */
	/* set by the core, for the driver to use */
	struct mdev_parent *parent;
	/* internal */
	struct sysfs_node *sysfs_dir;	/* mdev_supported_types/<drv>-<sysfs_name> */
	struct sysfs_node *devices_dir;
};

struct mdev_parent {
	struct uvf_device *dev;
	struct mdev_driver *mdev_driver;
	struct mdev_type **types;
	unsigned int nr_types;
	/* without get_available: what is left of max_instances, parent-wide */
	atomic_uint available_instances;
	/* internal: creation and removal hold it shared, unregistration
	 * exclusive; 'unregistering' makes the shared side fail at once */
	struct uvf_rwlock unreg_sem;
	atomic_bool unregistering;
	struct sysfs_node *types_kset;	/* <parent>/mdev_supported_types */
	struct sysfs_node *class_link;	/* /sys/class/mdev_bus/<parent> */
	struct list_head next;		/* in the host's parent list */
};

struct mdev_device {
	struct uvf_device dev;		/* name: the UUID, lower case; bus "mdev" */
	uint8_t uuid[16];		/* in the order the UUID is written */
	struct list_head next;		/* in the host's mdev list */
	struct mdev_type *type;		/* NULL once removed and its parent gone */
	bool active;			/* created and not being removed */
	/* internal */
	struct uvf_ref ref;
	bool added;			/* device_add done, device_del not yet */
	struct sysfs_node *remove_attr;	/* referenced: remove_self may drop the tree's */
	struct sysfs_node *subsystem_link, *bus_link;
	struct sysfs_node *driver_link, *driver_dev_link;
	struct sysfs_node *type_link, *type_dev_link;
	struct sysfs_node **drv_attrs;	/* the driver's dev_attrs, while bound */
	unsigned int nr_drv_attrs;
};

/* An attribute of each mdev bound to a driver (driver.dev_groups); its
 * priv is the mdev_device. */
struct mdev_device_attr {
	const char *name;
	mode_t mode;
	const struct sysfs_attr_ops *ops;
};

struct mdev_driver {
	const char *device_api;		/* 'device_api' of every type: "vfio-ap" */
	unsigned int max_instances;	/* parent-wide, when get_available is NULL */
	int (*probe)(struct mdev_device *mdev);
	void (*remove)(struct mdev_device *mdev);
	/* per-type 'available_instances' (replaces max_instances) */
	unsigned int (*get_available)(struct mdev_type *mtype);
	/* 'description'; NULL: the type has none */
	ssize_t (*show_description)(struct mdev_type *mtype, char *buf);
	const struct mdev_device_attr *dev_attrs;	/* NULL-name terminated, or NULL */
	struct uvf_driver driver;	/* .name set by the driver; the rest by the core */
	/* internal */
	struct uvf_host *host;
	struct sysfs_node *sysfs_dir;	/* /sys/bus/mdev/drivers/<name> */
};

static inline struct mdev_device *to_mdev_device(struct uvf_device *dev)
{
	return container_of(dev, struct mdev_device, dev);
}

static inline struct uvf_device *mdev_dev(struct mdev_device *mdev)
{
	return &mdev->dev;
}

/* The host's mdev layer (host->mdev): the bus and class directories. */
int mdev_core_init(struct uvf_host *h);
void mdev_core_exit(struct uvf_host *h);

/*
 * Register dev (which has a sysfs directory and is kept by the caller
 * until mdev_unregister_parent returns) as a parent of the given types.
 * -EINVAL for a parent without sysfs dir, driver or types, -EEXIST for a
 * name already in sysfs, -ENOMEM.
 */
int mdev_register_parent(struct mdev_parent *parent, struct uvf_device *dev,
			 struct mdev_driver *mdev_driver, struct mdev_type **types,
			 unsigned int nr_types);
/* Removes every mdev of the parent (each removal waiting for its users, as
 * 'remove' does), then the types.  New creates and removes fail -ENODEV. */
void mdev_unregister_parent(struct mdev_parent *parent);

/* -EINVAL without device_api or name; -EEXIST if the name is taken. */
int mdev_register_driver(struct uvf_host *h, struct mdev_driver *drv);
/* Every parent using the driver must be unregistered first. */
void mdev_unregister_driver(struct mdev_driver *drv);

/* The mdev with this UUID (any case), referenced (mdev_put), or NULL. */
struct mdev_device *mdev_get_by_uuid(struct uvf_host *h, const char *uuid);
void mdev_put(struct mdev_device *mdev);

/* The in-tree sample parent (msample.c), loaded by the topology's
 * "mdev_sample" key: 'channels' units shared by its types. */
int msample_load(struct uvf_host *h, unsigned int channels);
void msample_unload(struct uvf_host *h);

#endif
