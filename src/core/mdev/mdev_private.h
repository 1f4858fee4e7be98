/* SPDX-License-Identifier: MIT */
/*
 * The mdev layer's internals (drivers/vfio/mdev/mdev_private.h).
 *
 * Lock order (outermost first):
 *   parent->unreg_sem (shared: create, remove; exclusive: unregistration)
 *   -> the mdev driver's probe/remove and everything they take (VFIO)
 *   -> core->list_lock (the mdev and parent lists, 'active', 'added',
 *      available_instances; a leaf)
 * sysfs nodes are removed with no mdev lock held but unreg_sem, which no
 * show/store of the removed nodes waits for (create and remove only try it).
 */
#ifndef UVF_MDEV_PRIVATE_H
#define UVF_MDEV_PRIVATE_H

#include "mdev.h"
#include "../host/host.h"

struct msample;

struct mdev_core {
	struct uvf_host *host;
	struct uvf_mutex list_lock;		/* mdev_list_lock */
	struct list_head mdev_list;		/* struct mdev_device.next */
	struct list_head parents;		/* struct mdev_parent.next */
	struct sysfs_node *bus_dir;		/* /sys/bus/mdev */
	struct sysfs_node *bus_devices;		/* /sys/bus/mdev/devices */
	struct sysfs_node *bus_drivers;		/* /sys/bus/mdev/drivers */
	struct sysfs_node *class_dir;		/* /sys/class/mdev_bus */
	struct msample *sample;			/* the sample parent, if loaded */
};

/* ---- mdev_sysfs.c ---- */
int parent_create_sysfs_files(struct mdev_parent *parent);
void parent_remove_sysfs_files(struct mdev_parent *parent);
/* The mdev's own directory and what the device core puts in it (device_add
 * / device_del), and the type links (mdev_create_sysfs_files). */
int mdev_device_add_sysfs(struct mdev_device *mdev);
void mdev_device_del_sysfs(struct mdev_device *mdev);
int mdev_create_sysfs_files(struct mdev_device *mdev);
void mdev_remove_sysfs_files(struct mdev_device *mdev);
/* guid_parse: 36 characters 8-4-4-4-12 hex; -EINVAL otherwise. */
int mdev_uuid_parse(const char *s, uint8_t uuid[16]);

/* ---- mdev_driver.c ---- */
/* device_driver_attach / device_release_driver with the driver's sysfs. */
int mdev_driver_attach(struct mdev_device *mdev);
void mdev_driver_release(struct mdev_device *mdev);

/* ---- mdev_core.c ---- */
int mdev_device_create(struct mdev_type *type, const uint8_t uuid[16]);
int mdev_device_remove(struct mdev_device *mdev);
const char *mdev_parent_driver_string(const struct mdev_parent *parent);

static inline struct mdev_core *mdev_core_of(const struct uvf_host *h)
{
	return h->mdev;
}

#endif
