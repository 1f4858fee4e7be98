// SPDX-License-Identifier: MIT
/*
 * mdev in sysfs (drivers/vfio/mdev/mdev_sysfs.c): the parent's
 * mdev_supported_types with each type's attributes, and each mdev's
 * directory with 'remove' and its links.
 *
 * 'create' and 'remove' run the whole creation or removal inside the store,
 * as the kernel's: a 'remove' of a device someone holds open blocks the
 * writer until the device is closed.  'remove' takes itself out first
 * (sysfs_remove_self), so concurrent writers arbitrate: one removes, the
 * others wait for it and succeed; a writer that comes later finds no file.
 *
 * Lock order: see mdev_private.h.  Nothing here takes a lock but through
 * mdev_core.c.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mdev_private.h"
#include "../sysfs/sysfs.h"

/* ---- UUIDs -------------------------------------------------------------- */

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* uuid_is_valid + the bytes in the order written (the kernel's guid order
 * differs, but only equality and the printed form matter). */
int mdev_uuid_parse(const char *s, uint8_t uuid[16])
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < MDEV_UUID_STRING_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -EINVAL;
		} else if (hex_val(s[i]) < 0) {
			return -EINVAL;
		}
	}
	for (unsigned int i = 0; i < MDEV_UUID_STRING_LEN; i += 2) {
		if (s[i] == '-')
			i++;
		uuid[n++] = (uint8_t)(hex_val(s[i]) << 4 | hex_val(s[i + 1]));
	}
	return 0;
}

/* ---- type attributes ---------------------------------------------------- */

static ssize_t create_store(struct sysfs_node *attr, const char *buf, size_t count)
{
	struct mdev_type *mtype = sysfs_priv(attr);
	uint8_t uuid[16];
	int ret;

	if (count < MDEV_UUID_STRING_LEN || count > MDEV_UUID_STRING_LEN + 1)
		return -EINVAL;
	/* kstrndup stops at a NUL, which then fails the parse */
	if (strnlen(buf, count) < MDEV_UUID_STRING_LEN)
		return -EINVAL;
	ret = mdev_uuid_parse(buf, uuid);
	if (ret)
		return ret;
	ret = mdev_device_create(mtype, uuid);
	return ret ? ret : (ssize_t)count;
}

static ssize_t device_api_show(struct sysfs_node *attr, char *buf)
{
	struct mdev_type *mtype = sysfs_priv(attr);

	return sysfs_emit(buf, "%s\n", mtype->parent->mdev_driver->device_api);
}

static ssize_t name_show(struct sysfs_node *attr, char *buf)
{
	struct mdev_type *mtype = sysfs_priv(attr);

	return sysfs_emit(buf, "%s\n", mtype->pretty_name ? mtype->pretty_name
							  : mtype->sysfs_name);
}

static ssize_t available_instances_show(struct sysfs_node *attr, char *buf)
{
	struct mdev_type *mtype = sysfs_priv(attr);
	struct mdev_driver *drv = mtype->parent->mdev_driver;

	if (drv->get_available)
		return sysfs_emit(buf, "%u\n", drv->get_available(mtype));
	return sysfs_emit(buf, "%u\n", atomic_load(&mtype->parent->available_instances));
}

static ssize_t description_show(struct sysfs_node *attr, char *buf)
{
	struct mdev_type *mtype = sysfs_priv(attr);

	return mtype->parent->mdev_driver->show_description(mtype, buf);
}

static const struct sysfs_attr_ops create_ops = { .store = create_store };
static const struct sysfs_attr_ops device_api_ops = { .show = device_api_show };
static const struct sysfs_attr_ops name_ops = { .show = name_show };
static const struct sysfs_attr_ops available_instances_ops = {
	.show = available_instances_show,
};
static const struct sysfs_attr_ops description_ops = { .show = description_show };

static const struct {
	const char *name;
	mode_t mode;
	const struct sysfs_attr_ops *ops;
} mdev_types_core_attrs[] = {
	{ "create", 0200, &create_ops },
	{ "device_api", 0444, &device_api_ops },
	{ "name", 0444, &name_ops },
	{ "available_instances", 0444, &available_instances_ops },
	{ "description", 0444, &description_ops },
};

/* mdev_types_core_is_visible: 'description' only with show_description. */
static bool mdev_type_attr_visible(const struct mdev_type *mtype, unsigned int i)
{
	return mdev_types_core_attrs[i].ops != &description_ops ||
	       mtype->parent->mdev_driver->show_description;
}

static int mdev_type_add(struct mdev_parent *parent, struct mdev_type *type)
{
	char name[128];
	struct sysfs_node *dir;

	type->parent = parent;
	if (!type->sysfs_name)
		return -EINVAL;
	if (snprintf(name, sizeof(name), "%s-%s", mdev_parent_driver_string(parent),
		     type->sysfs_name) >= (int)sizeof(name))
		return -ENAMETOOLONG;
	dir = sysfs_mkdir(parent->types_kset, name, 0755);
	if (!dir)
		return -errno;
	for (unsigned int i = 0; i < ARRAY_SIZE(mdev_types_core_attrs); i++) {
		if (!mdev_type_attr_visible(type, i))
			continue;
		if (!sysfs_add_attr(dir, mdev_types_core_attrs[i].name,
				    mdev_types_core_attrs[i].mode, mdev_types_core_attrs[i].ops,
				    type))
			goto fail;
	}
	type->devices_dir = sysfs_mkdir(dir, "devices", 0755);
	if (!type->devices_dir)
		goto fail;
	type->sysfs_dir = dir;
	return 0;

fail:
	sysfs_remove(dir);
	type->devices_dir = NULL;
	return -ENOMEM;
}

static void mdev_type_remove(struct mdev_type *type)
{
	sysfs_remove(type->sysfs_dir);
	type->sysfs_dir = NULL;
	type->devices_dir = NULL;
}

void parent_remove_sysfs_files(struct mdev_parent *parent)
{
	for (unsigned int i = 0; i < parent->nr_types; i++)
		mdev_type_remove(parent->types[i]);
	sysfs_remove(parent->types_kset);
	parent->types_kset = NULL;
}

int parent_create_sysfs_files(struct mdev_parent *parent)
{
	int ret;

	parent->types_kset = sysfs_mkdir(parent->dev->sysfs_dir, "mdev_supported_types", 0755);
	if (!parent->types_kset)
		return -errno;
	for (unsigned int i = 0; i < parent->nr_types; i++) {
		ret = mdev_type_add(parent, parent->types[i]);
		if (ret) {
			parent_remove_sysfs_files(parent);
			return ret;
		}
	}
	return 0;
}

/* ---- the mdev's directory ----------------------------------------------- */

static ssize_t remove_store(struct sysfs_node *attr, const char *buf, size_t count)
{
	struct mdev_device *mdev = sysfs_priv(attr);
	unsigned long long val;
	int ret = 0;

	if (kstrtoull(buf, 0, &val) < 0)
		return -EINVAL;
	if (!val)
		return (ssize_t)count;
	/* Our call keeps the mdev only until remove_self gives it up. */
	uvf_ref_get(&mdev->ref);
	if (sysfs_remove_self(attr))
		ret = mdev_device_remove(mdev);
	mdev_put(mdev);
	return ret ? ret : (ssize_t)count;
}

static const struct sysfs_attr_ops remove_ops = { .store = remove_store };

/* device_add: the directory under the parent, 'subsystem', the device's
 * groups ('remove') and the bus's link to it. */
int mdev_device_add_sysfs(struct mdev_device *mdev)
{
	struct mdev_core *core = mdev_core_of(mdev->dev.host);
	struct sysfs_node *dir;

	dir = sysfs_mkdir(mdev->dev.parent->sysfs_dir, mdev->dev.name, 0755);
	if (!dir)
		return -errno;
	mdev->dev.sysfs_dir = dir;
	mdev->remove_attr = sysfs_add_attr(dir, "remove", 0200, &remove_ops, mdev);
	if (mdev->remove_attr)
		sysfs_get(mdev->remove_attr);
	mdev->subsystem_link = sysfs_add_link(dir, "subsystem", core->bus_dir);
	if (!mdev->subsystem_link || !mdev->remove_attr)
		goto fail;
	mdev->bus_link = sysfs_add_link(core->bus_devices, mdev->dev.name, dir);
	if (!mdev->bus_link)
		goto fail;
	return 0;

fail:
	mdev_device_del_sysfs(mdev);
	sysfs_remove(dir);
	mdev->dev.sysfs_dir = NULL;
	return -ENOMEM;
}

/* device_del before the driver goes: the groups and the bus's links.  The
 * directory stays until the driver is gone (the caller removes it). */
void mdev_device_del_sysfs(struct mdev_device *mdev)
{
	sysfs_remove(mdev->remove_attr);
	sysfs_remove(mdev->bus_link);
	sysfs_remove(mdev->subsystem_link);
	mdev->bus_link = NULL;
	mdev->subsystem_link = NULL;
}

/* The type's devices/<uuid> and the device's mdev_type. */
int mdev_create_sysfs_files(struct mdev_device *mdev)
{
	struct mdev_type *type = mdev->type;

	mdev->type_dev_link = sysfs_add_link(type->devices_dir, mdev->dev.name,
					     mdev->dev.sysfs_dir);
	if (!mdev->type_dev_link)
		return -ENOMEM;
	mdev->type_link = sysfs_add_link(mdev->dev.sysfs_dir, "mdev_type", type->sysfs_dir);
	if (!mdev->type_link) {
		sysfs_remove(mdev->type_dev_link);
		mdev->type_dev_link = NULL;
		return -ENOMEM;
	}
	return 0;
}

void mdev_remove_sysfs_files(struct mdev_device *mdev)
{
	sysfs_remove(mdev->type_link);
	sysfs_remove(mdev->type_dev_link);
	mdev->type_link = NULL;
	mdev->type_dev_link = NULL;
}
