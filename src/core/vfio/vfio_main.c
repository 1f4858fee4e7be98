// SPDX-License-Identifier: MIT
/*
 * The VFIO core (drivers/vfio/vfio_main.c): the per-host core, device
 * registration and unregistration, device sets, the device file and the
 * core's part of VFIO_DEVICE_FEATURE.
 *
 * Registration reference: vdev->refcount is 1 while registered plus one per
 * open device file.  Unregistration drops the first and waits, asking the
 * driver's request() every core->request_period_ms, until the files are
 * gone.  The count only falls under core->comp_lock, so the waiter, which
 * reads it under the same lock, never returns (and lets the driver free
 * vdev) while a putter still touches vdev.
 *
 * Lock order: see vfio_priv.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "vfio_priv.h"
#include "../host/host.h"
#include "../host/device.h"
#include "../iommu/iommu.h"
#include "../iommufd/iommufd.h"
#include "../sysfs/sysfs.h"
#include "../kvm/kvm.h"
#include "../base/log.h"

#ifndef VFIO_DEVICE_FEATURE_MIG_DATA_SIZE
#define VFIO_DEVICE_FEATURE_MIG_DATA_SIZE 9
#endif
#include "uapi/linux/vfio_cdev.h"

/* ---- the core ----------------------------------------------------------- */

int vfio_core_init(struct uvf_host *h)
{
	struct vfio_core *core = calloc(1, sizeof(*core));
	int ret;

	if (!core)
		return -ENOMEM;
	core->host = h;
	uvf_mutex_init(&core->lock);
	uvf_mutex_init(&core->comp_lock);
	uvf_mutex_init(&core->kvm_ref_lock);
	list_init(&core->group_list);
	list_init(&core->dev_sets);
	idtable_init(&core->group_minors);
	idtable_init(&core->device_indexes);
	core->request_period_ms = VFIO_REQUEST_PERIOD_MS;
	h->vfio = core;
	if (h->sysfs) {
		core->class_vfio_dev = sysfs_mkdir_p(sysfs_root(h->sysfs), "class/vfio-dev");
		if (!core->class_vfio_dev) {
			vfio_core_exit(h);
			return -ENOMEM;
		}
	}
	ret = vfio_group_init(core);
	if (!ret)
		ret = vfio_container_init(core);
	if (ret)
		vfio_core_exit(h);
	return ret;
}

void vfio_core_exit(struct uvf_host *h)
{
	struct vfio_core *core = h->vfio;

	if (!core)
		return;
	if (!list_empty(&core->group_list) || core->device_indexes.count)
		uvf_warn("vfio", "core exit with devices still registered");
	vfio_container_exit(core);
	vfio_group_exit(core);
	idtable_destroy(&core->group_minors);
	idtable_destroy(&core->device_indexes);
	uvf_mutex_destroy(&core->kvm_ref_lock);
	uvf_mutex_destroy(&core->comp_lock);
	uvf_mutex_destroy(&core->lock);
	h->vfio = NULL;
	free(core);
}

static struct vfio_core *vfio_device_core(const struct vfio_device *vdev)
{
	return vdev->dev && vdev->dev->host ? vdev->dev->host->vfio : NULL;
}

/* ---- device sets -------------------------------------------------------- */

struct vfio_dev_set_entry {
	struct list_head link;		/* in core->dev_sets */
	struct vfio_device_set set;
};

int vfio_assign_device_set(struct vfio_device *vdev, void *set_id)
{
	struct vfio_core *core = vfio_device_core(vdev);
	struct vfio_dev_set_entry *e;
	struct vfio_device_set *dev_set = NULL;

	if (!core || !set_id)
		return -EINVAL;
	uvf_mutex_lock(&core->lock);
	list_for_each_entry(e, &core->dev_sets, link) {
		if (e->set.set_id == set_id) {
			dev_set = &e->set;
			break;
		}
	}
	if (!dev_set) {
		e = calloc(1, sizeof(*e));
		if (!e) {
			uvf_mutex_unlock(&core->lock);
			return -ENOMEM;
		}
		uvf_mutex_init(&e->set.lock);
		list_init(&e->set.device_list);
		e->set.set_id = set_id;
		list_add_tail(&e->link, &core->dev_sets);
		dev_set = &e->set;
	}
	dev_set->device_count++;
	uvf_mutex_unlock(&core->lock);

	uvf_mutex_lock(&dev_set->lock);
	vdev->dev_set = dev_set;
	list_add_tail(&vdev->dev_set_list, &dev_set->device_list);
	uvf_mutex_unlock(&dev_set->lock);
	return 0;
}

static void vfio_release_device_set(struct vfio_device *vdev)
{
	struct vfio_core *core = vfio_device_core(vdev);
	struct vfio_device_set *dev_set = vdev->dev_set;
	struct vfio_dev_set_entry *e;

	if (!dev_set)
		return;
	uvf_mutex_lock(&dev_set->lock);
	list_del_init(&vdev->dev_set_list);
	uvf_mutex_unlock(&dev_set->lock);
	vdev->dev_set = NULL;

	uvf_mutex_lock(&core->lock);
	if (!--dev_set->device_count) {
		e = container_of(dev_set, struct vfio_dev_set_entry, set);
		list_del_init(&e->link);
		uvf_mutex_destroy(&dev_set->lock);
		free(e);
	}
	uvf_mutex_unlock(&core->lock);
}

unsigned int vfio_device_set_open_count(struct vfio_device_set *dev_set)
{
	struct vfio_device *cur;
	unsigned int open_count = 0;

	list_for_each_entry(cur, &dev_set->device_list, dev_set_list)
		open_count += cur->open_count;
	return open_count;
}

/* ---- registration ------------------------------------------------------- */

void vfio_init_device(struct vfio_device *vdev, struct uvf_device *dev,
		      const struct vfio_device_ops *ops)
{
	vdev->dev = dev;
	vdev->ops = ops;
	vdev->group = NULL;
	vdev->dev_set = NULL;
	list_init(&vdev->dev_set_list);
	list_init(&vdev->group_next);
	vdev->open_count = 0;
	/* Refcounting starts at registration. */
	atomic_init(&vdev->refcount.count, 0);
	vdev->sysfs_dev = NULL;
	vdev->sysfs_class_link = NULL;
	vdev->kvm = NULL;
	vdev->iommufd_device = NULL;
	vdev->iommufd_access = NULL;
	vdev->iommufd_attached = false;
	vdev->cdev_opened = false;
	list_init(&vdev->cdev_node.link);
	pthread_cond_init(&vdev->comp, NULL);
}

bool vfio_device_try_get_registration(struct vfio_device *vdev)
{
	return uvf_ref_get_unless_zero(&vdev->refcount);
}

void vfio_device_put_registration(struct vfio_device *vdev)
{
	struct vfio_core *core = vfio_device_core(vdev);

	uvf_mutex_lock(&core->comp_lock);
	if (uvf_ref_put(&vdev->refcount))
		pthread_cond_broadcast(&vdev->comp);
	uvf_mutex_unlock(&core->comp_lock);
}

/*
 * sysfs: the class device vfioN lives under its parent device
 * (<dev>/vfio-dev/vfioN) with a 'device' link back, and
 * /sys/class/vfio-dev/vfioN links to it.
 */
static int vfio_device_add(struct vfio_core *core, struct vfio_device *vdev)
{
	struct sysfs_node *parent, *glue, *dir;
	char name[16];

	if (!core->host->sysfs)
		return 0;
	snprintf(name, sizeof(name), "vfio%u", vdev->index);
	parent = vdev->dev->sysfs_dir ? vdev->dev->sysfs_dir
				      : sysfs_mkdir_p(sysfs_root(core->host->sysfs),
						      "devices/virtual");
	glue = parent ? sysfs_mkdir_p(parent, "vfio-dev") : NULL;
	dir = glue ? sysfs_mkdir(glue, name, 0755) : NULL;
	if (!dir)
		return -ENOMEM;
	vdev->sysfs_dev = dir;
	if ((vdev->dev->sysfs_dir && !sysfs_add_link(dir, "device", vdev->dev->sysfs_dir)) ||
	    !sysfs_add_link(dir, "subsystem", core->class_vfio_dev))
		goto fail;
	vdev->sysfs_class_link = sysfs_add_link(core->class_vfio_dev, name, dir);
	if (!vdev->sysfs_class_link)
		goto fail;
	return 0;
fail:
	sysfs_remove(dir);
	vdev->sysfs_dev = NULL;
	return -ENOMEM;
}

static void vfio_device_del(struct vfio_device *vdev)
{
	struct sysfs_node *glue;

	sysfs_remove(vdev->sysfs_class_link);
	vdev->sysfs_class_link = NULL;
	if (!vdev->sysfs_dev)
		return;
	/* The glue directory under a real device holds only this vfioN. */
	glue = sysfs_parent(vdev->sysfs_dev);
	if (vdev->dev->sysfs_dir && glue && sysfs_parent(glue) == vdev->dev->sysfs_dir)
		sysfs_remove(glue);
	else
		sysfs_remove(vdev->sysfs_dev);
	vdev->sysfs_dev = NULL;
}

static int vfio_device_alloc_index(struct vfio_core *core, struct vfio_device *vdev)
{
	int64_t id;

	uvf_mutex_lock(&core->lock);
	id = idtable_alloc(&core->device_indexes, vdev, 0, VFIO_MINORMASK);
	uvf_mutex_unlock(&core->lock);
	if (id < 0)
		return (int)id;
	vdev->index = (unsigned int)id;
	return 0;
}

static void vfio_device_free_index(struct vfio_core *core, struct vfio_device *vdev)
{
	uvf_mutex_lock(&core->lock);
	idtable_remove(&core->device_indexes, vdev->index);
	uvf_mutex_unlock(&core->lock);
}

static int __vfio_register_dev(struct vfio_device *vdev, enum vfio_group_type type)
{
	struct vfio_core *core = vfio_device_core(vdev);
	int ret;

	if (!core || !vdev->ops)
		return -EINVAL;
	/* A device without a set of its own choosing is a set by itself. */
	if (!vdev->dev_set) {
		ret = vfio_assign_device_set(vdev, vdev);
		if (ret)
			return ret;
	}
	ret = vfio_device_alloc_index(core, vdev);
	if (ret)
		goto err_set;
	ret = vfio_device_set_group(vdev, type);
	if (ret)
		goto err_index;
	/* VFIO always maps with IOMMU_CACHE: a non-coherent IOMMU cannot serve. */
	if (type == VFIO_IOMMU && !vfio_device_is_noiommu(vdev) &&
	    !vdev->group->iommu_group->cache_coherent) {
		ret = -EINVAL;
		goto err_group;
	}
	ret = vfio_device_add(core, vdev);
	if (ret)
		goto err_group;
	uvf_ref_init(&vdev->refcount);
	ret = vfio_device_cdev_add(vdev);
	if (ret) {
		atomic_init(&vdev->refcount.count, 0);
		vfio_device_del(vdev);
		goto err_group;
	}
	vfio_device_group_register(vdev);
	return 0;

err_group:
	vfio_device_remove_group(vdev);
err_index:
	vfio_device_free_index(core, vdev);
err_set:
	vfio_release_device_set(vdev);
	return ret;
}

int vfio_register_group_dev(struct vfio_device *vdev)
{
	return __vfio_register_dev(vdev, VFIO_IOMMU);
}

int vfio_register_emulated_iommu_dev(struct vfio_device *vdev)
{
	return __vfio_register_dev(vdev, VFIO_EMULATED_IOMMU);
}

static void timespec_add_ms(struct timespec *ts, unsigned int ms)
{
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Wait for the last device file to close, asking the driver to make its
 * user let go every period (vfio-pci signals the REQ IRQ from request). */
static void vfio_device_wait_unused(struct vfio_core *core, struct vfio_device *vdev)
{
	unsigned int i = 0;

	uvf_mutex_lock(&core->comp_lock);
	while (uvf_ref_read(&vdev->refcount)) {
		struct timespec deadline;

		if (vdev->ops->request) {
			uvf_mutex_unlock(&core->comp_lock);
			vdev->ops->request(vdev, i++);
			uvf_mutex_lock(&core->comp_lock);
		}
		clock_gettime(CLOCK_REALTIME, &deadline);
		timespec_add_ms(&deadline, core->request_period_ms);
		while (uvf_ref_read(&vdev->refcount) &&
		       pthread_cond_timedwait(&vdev->comp, &core->comp_lock.m, &deadline) == 0)
			;
	}
	uvf_mutex_unlock(&core->comp_lock);
}

void vfio_unregister_group_dev(struct vfio_device *vdev)
{
	struct vfio_core *core = vfio_device_core(vdev);

	/* No new GET_DEVICE_FD or cdev open finds it from here on. */
	vfio_device_group_unregister(vdev);
	vfio_device_cdev_del(vdev);
	vfio_device_del(vdev);
	vfio_device_put_registration(vdev);
	vfio_device_wait_unused(core, vdev);
	vfio_device_remove_group(vdev);
	vfio_device_free_index(core, vdev);
	vfio_release_device_set(vdev);
	pthread_cond_destroy(&vdev->comp);
}

/* ---- the device's VM ---------------------------------------------------- */

void vfio_device_get_kvm_safe(struct vfio_device *vdev, struct kvm *kvm)
{
	/* A VM on its way out is as good as none. */
	if (!kvm || !kvm_get_kvm_safe(kvm))
		return;
	vdev->kvm = kvm;
}

void vfio_device_put_kvm(struct vfio_device *vdev)
{
	if (!vdev->kvm)
		return;
	kvm_put_kvm(vdev->kvm);
	vdev->kvm = NULL;
}

/* ---- opening and closing ------------------------------------------------ */

struct vfio_device_file *vfio_allocate_device_file(struct vfio_device *vdev)
{
	struct vfio_device_file *df = calloc(1, sizeof(*df));

	if (df)
		df->device = vdev;
	return df;
}

static int vfio_df_device_first_open(struct vfio_device_file *df, struct uvf_caller *c)
{
	struct vfio_device *vdev = df->device;
	struct uvf_file *put;
	int ret;

	ret = df->iommufd ? vfio_df_iommufd_bind(df) : vfio_device_group_use_iommu(vdev, c);
	if (ret)
		return ret;
	if (vdev->ops->open_device) {
		ret = vdev->ops->open_device(vdev);
		if (ret && df->iommufd) {
			vfio_df_iommufd_unbind(df);
		} else if (ret) {
			/* The group file is still held by our caller's ioctl. */
			put = vfio_device_group_unuse_iommu(vdev);
			file_put(put);
		}
	}
	return ret;
}

int vfio_df_open(struct vfio_device_file *df, struct uvf_caller *c)
{
	struct vfio_device *vdev = df->device;
	int ret = 0;

	/* Only the group path may open a device more than once. */
	if (vdev->open_count && !df->group)
		return -EINVAL;
	vdev->open_count++;
	if (vdev->open_count == 1) {
		ret = vfio_df_device_first_open(df, c);
		if (ret)
			vdev->open_count--;
	}
	return ret;
}

struct uvf_file *vfio_df_close(struct vfio_device_file *df)
{
	struct vfio_device *vdev = df->device;
	struct uvf_file *put = NULL;

	if (!vdev->open_count) {
		uvf_warn("vfio", "close of a device that is not open");
		return NULL;
	}
	if (vdev->open_count == 1) {
		if (vdev->ops->close_device)
			vdev->ops->close_device(vdev);
		if (df->iommufd)
			vfio_df_iommufd_unbind(df);
		else
			put = vfio_device_group_unuse_iommu(vdev);
	}
	vdev->open_count--;
	return put;
}

/* ---- the device file ---------------------------------------------------- */

static void vfio_device_fops_release(struct uvf_file *f)
{
	struct vfio_device_file *df = f->private_data;
	struct vfio_device *vdev = df->device;

	/* The put may release the group file, which takes group_lock: it
	 * comes after every lock is dropped. */
	if (df->group)
		file_put(vfio_df_group_close(df));
	else
		vfio_df_unbind_iommufd(df);
	vfio_device_put_registration(vdev);
	free(df);
}

/* Migration and dirty logging need driver ops this core does not have yet. */
static bool vfio_feature_is_core(uint32_t feature)
{
	switch (feature) {
	case VFIO_DEVICE_FEATURE_MIGRATION:
	case VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE:
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_START:
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP:
	case VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT:
	case VFIO_DEVICE_FEATURE_MIG_DATA_SIZE:
		return true;
	default:
		return false;
	}
}

static int vfio_ioctl_device_feature(struct vfio_device *vdev, struct uvf_caller *c,
				     uint64_t arg)
{
	size_t minsz = offsetofend(struct vfio_device_feature, flags);
	struct vfio_device_feature feature;

	if (copy_from_user(c, &feature, arg, minsz))
		return -EFAULT;
	if (feature.argsz < minsz)
		return -EINVAL;
	if (feature.flags & ~(VFIO_DEVICE_FEATURE_MASK | VFIO_DEVICE_FEATURE_SET |
			      VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_PROBE))
		return -EINVAL;
	/* GET and SET together only make sense as a PROBE. */
	if (!(feature.flags & VFIO_DEVICE_FEATURE_PROBE) &&
	    (feature.flags & VFIO_DEVICE_FEATURE_SET) &&
	    (feature.flags & VFIO_DEVICE_FEATURE_GET))
		return -EINVAL;
	if (vfio_feature_is_core(feature.flags & VFIO_DEVICE_FEATURE_MASK))
		return -ENOTTY;
	if (!vdev->ops->device_feature)
		return -ENOTTY;
	return vdev->ops->device_feature(vdev, c, feature.flags, arg + minsz,
					 feature.argsz - minsz);
}

static long vfio_device_fops_ioctl(struct uvf_file *f, struct uvf_caller *c,
				   unsigned int cmd, uint64_t arg)
{
	struct vfio_device_file *df = f->private_data;
	struct vfio_device *vdev = df->device;

	if (cmd == VFIO_DEVICE_BIND_IOMMUFD)
		return vfio_df_ioctl_bind_iommufd(df, c, arg);
	if (!__atomic_load_n(&df->access_granted, __ATOMIC_ACQUIRE))
		return -EINVAL;
	/* cdev-only ioctls */
	if (!df->group && cmd == VFIO_DEVICE_ATTACH_IOMMUFD_PT)
		return vfio_df_ioctl_attach_pt(df, c, arg);
	if (!df->group && cmd == VFIO_DEVICE_DETACH_IOMMUFD_PT)
		return vfio_df_ioctl_detach_pt(df, c, arg);
	if (cmd == VFIO_DEVICE_FEATURE)
		return vfio_ioctl_device_feature(vdev, c, arg);
	if (!vdev->ops->ioctl)
		return -EINVAL;
	return vdev->ops->ioctl(vdev, c, cmd, arg);
}

static ssize_t vfio_device_fops_read(struct uvf_file *f, struct uvf_caller *c,
				     uint64_t ubuf, size_t count, uint64_t pos)
{
	struct vfio_device_file *df = f->private_data;
	struct vfio_device *vdev = df->device;

	if (!__atomic_load_n(&df->access_granted, __ATOMIC_ACQUIRE) || !vdev->ops->read)
		return -EINVAL;
	return vdev->ops->read(vdev, c, ubuf, count, pos);
}

static ssize_t vfio_device_fops_write(struct uvf_file *f, struct uvf_caller *c,
				      uint64_t ubuf, size_t count, uint64_t pos)
{
	struct vfio_device_file *df = f->private_data;
	struct vfio_device *vdev = df->device;

	if (!__atomic_load_n(&df->access_granted, __ATOMIC_ACQUIRE) || !vdev->ops->write)
		return -EINVAL;
	return vdev->ops->write(vdev, c, ubuf, count, pos);
}

static int vfio_device_fops_mmap(struct uvf_file *f, struct uvf_caller *c, uint64_t pos,
				 uint64_t len, int prot, bool shared,
				 struct uvf_mmap_desc *out)
{
	struct vfio_device_file *df = f->private_data;
	struct vfio_device *vdev = df->device;

	if (!__atomic_load_n(&df->access_granted, __ATOMIC_ACQUIRE) || !vdev->ops->mmap)
		return -EINVAL;
	return vdev->ops->mmap(vdev, c, pos, len, prot, shared, out);
}

const struct uvf_file_ops vfio_device_fops = {
	.name = "vfio-device",
	.ioctl = vfio_device_fops_ioctl,
	.read = vfio_device_fops_read,
	.write = vfio_device_fops_write,
	.mmap = vfio_device_fops_mmap,
	.release = vfio_device_fops_release,
};

/* ---- VFIO files as KVM sees them ------------------------------------------ */

static struct vfio_device *vfio_device_from_file(struct uvf_file *f)
{
	struct vfio_device_file *df = f->private_data;

	return f->ops == &vfio_device_fops ? df->device : NULL;
}

bool vfio_file_is_valid(struct uvf_file *f)
{
	return vfio_group_from_file(f) || vfio_device_from_file(f);
}

bool vfio_file_enforced_coherent(struct uvf_file *f)
{
	struct vfio_device *vdev;
	struct vfio_group *group;

	group = vfio_group_from_file(f);
	if (group)
		return vfio_group_enforced_coherent(group);
	vdev = vfio_device_from_file(f);
	if (vdev)
		return device_iommu_capable(vdev->dev, IOMMU_CAP_ENFORCE_CACHE_COHERENCY);
	return true;
}

/* The cdev path takes the VM from the file at bind. */
static void vfio_device_file_set_kvm(struct uvf_file *f, struct kvm *kvm)
{
	struct vfio_device_file *df = f->private_data;
	struct vfio_core *core = vfio_device_core(df->device);

	uvf_mutex_lock(&core->kvm_ref_lock);
	df->kvm = kvm;
	uvf_mutex_unlock(&core->kvm_ref_lock);
}

void vfio_file_set_kvm(struct uvf_file *f, struct kvm *kvm)
{
	struct vfio_group *group = vfio_group_from_file(f);

	if (group)
		vfio_group_set_kvm(group, kvm);
	if (vfio_device_from_file(f))
		vfio_device_file_set_kvm(f, kvm);
}

int vfio_file_describe(struct uvf_file *f, char *buf, size_t size)
{
	struct vfio_group *group = vfio_group_from_file(f);
	struct vfio_device *vdev = vfio_device_from_file(f);

	if (group)
		snprintf(buf, size, "group %s", group->name);
	else if (vdev)
		snprintf(buf, size, "device vfio%u %s", vdev->index, vdev->dev->name);
	else
		return -EINVAL;
	return 0;
}

struct vfio_kvm_users {
	struct kvm *kvm;
	unsigned int vm_id;
	struct kvm_show_buf *sb;
};

static int vfio_show_kvm_user(uint32_t index, void *ptr, void *arg)
{
	struct vfio_kvm_users *u = arg;
	struct vfio_device *vdev = ptr;
	bool holds;

	uvf_mutex_lock(&vdev->dev_set->lock);
	holds = vdev->kvm == u->kvm;
	uvf_mutex_unlock(&vdev->dev_set->lock);
	if (holds)
		kvm_show_printf(u->sb, "user %u device vfio%u %s\n", u->vm_id, index,
				vdev->dev->name);
	return 0;
}

void vfio_show_kvm_users(struct uvf_host *h, struct kvm *kvm, unsigned int vm_id,
			 struct kvm_show_buf *sb)
{
	struct vfio_kvm_users u = { kvm, vm_id, sb };
	struct vfio_core *core = h->vfio;

	if (!core)
		return;
	/* Registered devices stay in the index table until unregistered. */
	uvf_mutex_lock(&core->lock);
	idtable_for_each(&core->device_indexes, vfio_show_kvm_user, &u);
	uvf_mutex_unlock(&core->lock);
}

/* ---- DMA for emulated devices ------------------------------------------- */

int vfio_dma_rw(struct vfio_device *vdev, uint64_t iova, void *data, size_t len,
		bool write)
{
	if (!data || !len || !__atomic_load_n(&vdev->open_count, __ATOMIC_RELAXED))
		return -EINVAL;
	if (vdev->iommufd_access)
		return vfio_iommufd_dma_rw(vdev, iova, data, len, write);
	return vfio_device_container_dma_rw(vdev, iova, data, len, write);
}

int vfio_pin_pages(struct vfio_device *vdev, uint64_t iova, int npage, int prot)
{
	uint64_t start = ALIGN_DOWN(iova, UVF_PAGE_SIZE);
	int ret;

	if (npage < 1 || !vdev->ops->dma_unmap ||
	    !__atomic_load_n(&vdev->open_count, __ATOMIC_RELAXED))
		return -EINVAL;
	if (vdev->iommufd_access) {
		ret = iommufd_access_pin_pages(vdev->iommufd_access, start,
					       (uint64_t)npage * UVF_PAGE_SIZE,
					       prot & IOMMU_WRITE ? IOMMUFD_ACCESS_RW_WRITE : 0);
		return ret ? ret : npage;
	}
	return vfio_device_container_pin_pages(vdev, start, npage, prot);
}

void vfio_unpin_pages(struct vfio_device *vdev, uint64_t iova, int npage)
{
	uint64_t start = ALIGN_DOWN(iova, UVF_PAGE_SIZE);

	if (npage < 1)
		return;
	if (vdev->iommufd_access)
		iommufd_access_unpin_pages(vdev->iommufd_access, start,
					   (uint64_t)npage * UVF_PAGE_SIZE);
	else
		vfio_device_container_unpin_pages(vdev, start, npage);
}
