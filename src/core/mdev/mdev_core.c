// SPDX-License-Identifier: MIT
/*
 * The mdev core (drivers/vfio/mdev/mdev_core.c): the host's mdev bus and
 * mdev_bus class, parents, and creating and removing mdev devices.
 *
 * Lifetime of an mdev: mdev->ref starts at 1 (device_initialize) and is
 * dropped by its removal; lookups take their own.  The last put is the
 * release: off the list, its instance back to the parent (when the driver
 * has no get_available), freed.  So a UUID stays taken (-EEXIST) until a
 * removal that waits for the device's users has finished.  mdev->type is
 * set at creation and cleared (under list_lock) only if the parent goes
 * while someone still references the removed mdev.
 *
 * Lock order: see mdev_private.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mdev_private.h"
#include "../host/device.h"
#include "../sysfs/sysfs.h"
#include "../base/log.h"

/* ---- the bus and the class ---------------------------------------------- */

int mdev_core_init(struct uvf_host *h)
{
	struct mdev_core *core = calloc(1, sizeof(*core));
	struct sysfs_node *root;

	if (!core)
		return -ENOMEM;
	core->host = h;
	uvf_mutex_init(&core->list_lock);
	list_init(&core->mdev_list);
	list_init(&core->parents);
	h->mdev = core;
	if (!h->sysfs)
		return 0;
	/* bus_register("mdev") and class_compat_register("mdev_bus"): there
	 * even with no parent, as on a kernel with mdev loaded. */
	root = sysfs_root(h->sysfs);
	core->bus_dir = sysfs_mkdir_p(root, "bus/mdev");
	core->bus_devices = sysfs_mkdir_p(root, "bus/mdev/devices");
	core->bus_drivers = sysfs_mkdir_p(root, "bus/mdev/drivers");
	core->class_dir = sysfs_mkdir_p(root, "class/mdev_bus");
	if (!core->bus_dir || !core->bus_devices || !core->bus_drivers || !core->class_dir) {
		mdev_core_exit(h);
		return -ENOMEM;
	}
	return 0;
}

void mdev_core_exit(struct uvf_host *h)
{
	struct mdev_core *core = h->mdev;

	if (!core)
		return;
	if (!list_empty(&core->parents) || !list_empty(&core->mdev_list))
		uvf_warn("mdev", "exit with parents or devices still registered");
	uvf_mutex_destroy(&core->list_lock);
	h->mdev = NULL;
	free(core);
}

/* ---- parents ------------------------------------------------------------ */

/* dev_driver_string(): the bound driver's name, else the bus's. */
const char *mdev_parent_driver_string(const struct mdev_parent *parent)
{
	const struct uvf_device *dev = parent->dev;

	if (dev->driver && dev->driver->name)
		return dev->driver->name;
	return dev->bus ? dev->bus : "";
}

int mdev_register_parent(struct mdev_parent *parent, struct uvf_device *dev,
			 struct mdev_driver *mdev_driver, struct mdev_type **types,
			 unsigned int nr_types)
{
	struct mdev_core *core = dev && dev->host ? mdev_core_of(dev->host) : NULL;
	int ret;

	if (!core || !dev->sysfs_dir || !mdev_driver || !mdev_driver->host || !types ||
	    !nr_types)
		return -EINVAL;
	memset(parent, 0, sizeof(*parent));
	uvf_rwlock_init(&parent->unreg_sem);
	atomic_init(&parent->unregistering, false);
	parent->dev = dev;
	parent->mdev_driver = mdev_driver;
	parent->types = types;
	parent->nr_types = nr_types;
	atomic_init(&parent->available_instances, mdev_driver->max_instances);
	list_init(&parent->next);

	ret = parent_create_sysfs_files(parent);
	if (ret) {
		uvf_rwlock_destroy(&parent->unreg_sem);
		return ret;
	}
	/* class_compat_create_link: a failure is only a warning there too */
	parent->class_link = sysfs_add_link(core->class_dir, dev->name, dev->sysfs_dir);
	if (!parent->class_link)
		uvf_warn("mdev", "%s: failed to create compatibility class link", dev->name);
	uvf_mutex_lock(&core->list_lock);
	list_add_tail(&parent->next, &core->parents);
	uvf_mutex_unlock(&core->list_lock);
	uvf_info("mdev", "%s: MDEV: Registered", dev->name);
	return 0;
}

static void mdev_device_remove_common(struct mdev_device *mdev);

/* The next mdev of parent still in sysfs, referenced; list_lock held. */
static struct mdev_device *mdev_next_child(struct mdev_core *core,
					   const struct mdev_parent *parent)
{
	struct mdev_device *mdev;

	list_for_each_entry(mdev, &core->mdev_list, next) {
		if (mdev->type && mdev->type->parent == parent && mdev->added) {
			uvf_ref_get(&mdev->ref);
			return mdev;
		}
	}
	return NULL;
}

void mdev_unregister_parent(struct mdev_parent *parent)
{
	struct mdev_core *core = mdev_core_of(parent->dev->host);
	struct mdev_device *mdev;

	uvf_info("mdev", "%s: MDEV: Unregistering", parent->dev->name);
	atomic_store(&parent->unregistering, true);
	uvf_write_lock(&parent->unreg_sem);
	sysfs_remove(parent->class_link);
	parent->class_link = NULL;
	/* device_for_each_child: creations and removals hold unreg_sem shared,
	 * so none is half done while we hold it. */
	for (;;) {
		uvf_mutex_lock(&core->list_lock);
		mdev = mdev_next_child(core, parent);
		uvf_mutex_unlock(&core->list_lock);
		if (!mdev)
			break;
		mdev_device_remove_common(mdev);
		mdev_put(mdev);
	}
	parent_remove_sysfs_files(parent);
	uvf_rw_unlock(&parent->unreg_sem);

	/* A removed mdev that a 'remove' writer still references outlives
	 * its parent and types: it forgets them (its release then gives no
	 * instance back to a parent that is gone). */
	uvf_mutex_lock(&core->list_lock);
	list_for_each_entry(mdev, &core->mdev_list, next)
		if (mdev->type && mdev->type->parent == parent)
			mdev->type = NULL;
	list_del_init(&parent->next);
	uvf_mutex_unlock(&core->list_lock);
	uvf_rwlock_destroy(&parent->unreg_sem);
}

/* down_read_trylock(&parent->unreg_sem), failing once unregistration has
 * begun even before it holds the lock (an rwsem with a waiting writer). */
static bool mdev_parent_try_get(struct mdev_parent *parent)
{
	if (atomic_load(&parent->unregistering))
		return false;
	return uvf_read_trylock(&parent->unreg_sem);
}

/* ---- devices ------------------------------------------------------------ */

static void mdev_device_release(struct mdev_device *mdev)
{
	struct mdev_core *core = mdev_core_of(mdev->dev.host);
	struct mdev_parent *parent;

	uvf_mutex_lock(&core->list_lock);
	list_del_init(&mdev->next);
	parent = mdev->type ? mdev->type->parent : NULL;
	if (parent && !parent->mdev_driver->get_available)
		atomic_fetch_add(&parent->available_instances, 1);
	uvf_mutex_unlock(&core->list_lock);
	uvf_dbg("mdev", "%s: MDEV: destroying", mdev->dev.name);
	sysfs_put(mdev->remove_attr);
	free(mdev);
}

void mdev_put(struct mdev_device *mdev)
{
	if (mdev && uvf_ref_put(&mdev->ref))
		mdev_device_release(mdev);
}

struct mdev_device *mdev_get_by_uuid(struct uvf_host *h, const char *uuid)
{
	struct mdev_core *core = mdev_core_of(h);
	struct mdev_device *mdev, *found = NULL;
	uint8_t bin[16];

	if (!core || !uuid || strlen(uuid) != MDEV_UUID_STRING_LEN ||
	    mdev_uuid_parse(uuid, bin))
		return NULL;
	uvf_mutex_lock(&core->list_lock);
	list_for_each_entry(mdev, &core->mdev_list, next) {
		if (!memcmp(mdev->uuid, bin, sizeof(bin))) {
			uvf_ref_get(&mdev->ref);
			found = mdev;
			break;
		}
	}
	uvf_mutex_unlock(&core->list_lock);
	return found;
}

/* dev_set_name("%pUl"): lower case. */
static void mdev_uuid_name(const uint8_t uuid[16], char *buf, size_t size)
{
	snprintf(buf, size,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 uuid[0], uuid[1], uuid[2], uuid[3], uuid[4], uuid[5], uuid[6], uuid[7],
		 uuid[8], uuid[9], uuid[10], uuid[11], uuid[12], uuid[13], uuid[14], uuid[15]);
}

/* The duplicate check and the instance are taken together, as the list is
 * the only place a UUID is reserved. */
static struct mdev_device *mdev_device_alloc(struct mdev_core *core, struct mdev_type *type,
					     const uint8_t uuid[16], int *err)
{
	struct mdev_parent *parent = type->parent;
	struct mdev_device *mdev, *tmp;

	uvf_mutex_lock(&core->list_lock);
	list_for_each_entry(tmp, &core->mdev_list, next) {
		if (!memcmp(tmp->uuid, uuid, 16)) {
			*err = -EEXIST;
			goto out_unlock;
		}
	}
	if (!parent->mdev_driver->get_available) {
		if (!atomic_load(&parent->available_instances)) {
			*err = -EUSERS;
			goto out_unlock;
		}
		atomic_fetch_sub(&parent->available_instances, 1);
	}
	mdev = calloc(1, sizeof(*mdev));
	if (!mdev) {
		if (!parent->mdev_driver->get_available)
			atomic_fetch_add(&parent->available_instances, 1);
		*err = -ENOMEM;
		goto out_unlock;
	}
	uvf_ref_init(&mdev->ref);
	memcpy(mdev->uuid, uuid, 16);
	mdev->type = type;
	mdev->dev.host = core->host;
	mdev->dev.bus = "mdev";
	mdev->dev.parent = parent->dev;
	list_init(&mdev->dev.group_link);
	list_init(&mdev->dev.host_link);
	mdev_uuid_name(uuid, mdev->dev.name, sizeof(mdev->dev.name));
	list_add(&mdev->next, &core->mdev_list);
	uvf_mutex_unlock(&core->list_lock);
	return mdev;

out_unlock:
	uvf_mutex_unlock(&core->list_lock);
	return NULL;
}

/* device_add: the directory, the bus's links, the host's device list. */
static int mdev_device_add(struct mdev_device *mdev)
{
	int ret = mdev_device_add_sysfs(mdev);

	if (ret)
		return ret;
	device_register(mdev->dev.host, &mdev->dev);
	return 0;
}

/* device_del: unbinding runs the driver's remove, which waits for the
 * device's users; the directory goes last, as kobject_del comes last. */
static void mdev_device_del(struct mdev_device *mdev)
{
	struct mdev_core *core = mdev_core_of(mdev->dev.host);

	uvf_mutex_lock(&core->list_lock);
	mdev->added = false;
	uvf_mutex_unlock(&core->list_lock);
	mdev_device_del_sysfs(mdev);
	mdev_driver_release(mdev);
	device_unregister(&mdev->dev);
	sysfs_remove(mdev->dev.sysfs_dir);
	mdev->dev.sysfs_dir = NULL;
}

int mdev_device_create(struct mdev_type *type, const uint8_t uuid[16])
{
	struct mdev_parent *parent = type->parent;
	struct mdev_core *core = mdev_core_of(parent->dev->host);
	struct mdev_device *mdev;
	int ret = 0;

	mdev = mdev_device_alloc(core, type, uuid, &ret);
	if (!mdev)
		return ret;
	if (!mdev_parent_try_get(parent)) {
		ret = -ENODEV;
		goto out_put;
	}
	/* Added before 'remove' exists, so that a remove during creation
	 * finds it and says -EAGAIN. */
	uvf_mutex_lock(&core->list_lock);
	mdev->added = true;
	uvf_mutex_unlock(&core->list_lock);
	ret = mdev_device_add(mdev);
	if (ret) {
		uvf_mutex_lock(&core->list_lock);
		mdev->added = false;
		uvf_mutex_unlock(&core->list_lock);
		goto out_unlock;
	}
	ret = mdev_driver_attach(mdev);
	if (ret)
		goto out_del;
	ret = mdev_create_sysfs_files(mdev);
	if (ret)
		goto out_del;
	uvf_mutex_lock(&core->list_lock);
	mdev->active = true;
	uvf_mutex_unlock(&core->list_lock);
	uvf_dbg("mdev", "%s: MDEV: created", mdev->dev.name);
	uvf_rw_unlock(&parent->unreg_sem);
	return 0;

out_del:
	mdev_device_del(mdev);
out_unlock:
	uvf_rw_unlock(&parent->unreg_sem);
out_put:
	mdev_put(mdev);
	return ret;
}

/* unreg_sem held (either way). */
static void mdev_device_remove_common(struct mdev_device *mdev)
{
	mdev_remove_sysfs_files(mdev);
	mdev_device_del(mdev);
	/* Balances the initial reference. */
	mdev_put(mdev);
}

/*
 * The caller holds a reference on mdev, not on its parent: 'remove' has
 * given up its sysfs protection, so the parent's unregistration may have
 * removed the mdev and be gone.  While the mdev is still added (under
 * list_lock) its parent is not gone, and the trylock, which never blocks,
 * is taken under list_lock for that reason.
 */
int mdev_device_remove(struct mdev_device *mdev)
{
	struct mdev_core *core = mdev_core_of(mdev->dev.host);
	struct mdev_parent *parent = NULL;
	int ret = 0;

	uvf_mutex_lock(&core->list_lock);
	if (!mdev->added) {
		ret = -ENODEV;		/* removed meanwhile (with its parent) */
	} else if (!mdev->active) {
		ret = -EAGAIN;		/* still being created */
	} else {
		mdev->active = false;
		parent = mdev->type->parent;
		if (!mdev_parent_try_get(parent))
			ret = -ENODEV;
	}
	uvf_mutex_unlock(&core->list_lock);
	if (ret)
		return ret;
	mdev_device_remove_common(mdev);
	uvf_rw_unlock(&parent->unreg_sem);
	return 0;
}
