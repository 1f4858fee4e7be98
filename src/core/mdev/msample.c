// SPDX-License-Identifier: MIT
/*
 * msample: the sample mdev parent (msample.h says what it offers).  Kept
 * small on purpose: it shows what a parent driver does - register a parent
 * with its types, reserve capacity in probe, register an emulated VFIO
 * device, relay removal requests to the user - and gives the mdev tests
 * (and mdevctl) a parent on every host that asks for one.
 *
 * Lock order: msample->lock (the channel pool) and msample_state->lock (the
 * registers, the label, the REQ eventfd) are leaves; the copy runs
 * vfio_dma_rw with neither held.  close_device runs under the VFIO
 * device-set lock and takes state->lock, so state->lock comes after it.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/vfio.h>
#include "msample.h"
#include "mdev_private.h"
#include "../host/device.h"
#include "../mm/caller.h"
#include "../pci/vfio_pci.h"
#include "../sysfs/sysfs.h"
#include "../vfio/vfio.h"
#include "../base/log.h"

struct msample_type {
	struct mdev_type type;
	unsigned int channels;
};

struct msample {
	struct uvf_device dev;		/* the parent */
	struct uvf_driver parent_driver;
	struct mdev_parent parent;
	struct mdev_driver mdev_driver;
	struct msample_type types[2];
	struct mdev_type *type_list[2];
	struct sysfs_node *class_dir;	/* /sys/devices/virtual/msample */
	struct uvf_mutex lock;
	unsigned int avail_channels;
};

/* One instance. */
struct msample_state {
	struct vfio_device vdev;
	struct mdev_device *mdev;
	struct msample *ms;
	unsigned int channels;
	struct uvf_mutex lock;
	uint64_t src, dst;
	uint32_t len, status, error;
	int req_trigger;		/* host eventfd, -1: none */
	char label[MSAMPLE_LABEL_MAX + 1];
};

static struct msample_type *to_msample_type(struct mdev_type *mtype)
{
	return container_of(mtype, struct msample_type, type);
}

static struct msample_state *to_state(struct vfio_device *vdev)
{
	return container_of(vdev, struct msample_state, vdev);
}

/* ---- the VFIO device ---------------------------------------------------- */

static void msample_reset(struct msample_state *s)
{
	s->src = s->dst = 0;
	s->len = s->status = s->error = 0;
}

static void msample_close_device(struct vfio_device *vdev)
{
	struct msample_state *s = to_state(vdev);

	uvf_mutex_lock(&s->lock);
	vfio_pci_eventfd_put(s->req_trigger);
	s->req_trigger = -1;
	msample_reset(s);
	uvf_mutex_unlock(&s->lock);
}

static long msample_get_region_info(struct uvf_caller *c, uint64_t arg)
{
	size_t minsz = offsetofend(struct vfio_region_info, offset);
	struct vfio_region_info info;

	if (copy_from_user(c, &info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz || info.index != 0)
		return -EINVAL;
	info.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	info.cap_offset = 0;
	info.size = MSAMPLE_REGION_SIZE;
	info.offset = 0;
	return copy_to_user(c, arg, &info, minsz) ? -EFAULT : 0;
}

/* Only an eventfd for REQ: fd -1 clears it. */
static long msample_set_irqs(struct msample_state *s, struct uvf_caller *c, uint64_t arg)
{
	size_t minsz = offsetofend(struct vfio_irq_set, count), data_size = 0;
	struct vfio_irq_set hdr;
	int ret;

	if (copy_from_user(c, &hdr, arg, minsz))
		return -EFAULT;
	ret = vfio_set_irqs_validate_and_prepare(&hdr, 1, MSAMPLE_NUM_IRQS, &data_size);
	if (ret)
		return ret;
	if (hdr.flags != (VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER) ||
	    data_size != sizeof(int32_t))
		return -EINVAL;
	uvf_mutex_lock(&s->lock);
	ret = vfio_irq_set_eventfd_trigger(c, arg, &s->req_trigger);
	uvf_mutex_unlock(&s->lock);
	return ret;
}

static long msample_ioctl(struct vfio_device *vdev, struct uvf_caller *c, unsigned int cmd,
			  uint64_t arg)
{
	struct msample_state *s = to_state(vdev);

	switch (cmd) {
	case VFIO_DEVICE_GET_INFO:
		return vfio_device_get_info_simple(c, arg, VFIO_DEVICE_FLAGS_RESET, 1,
						   MSAMPLE_NUM_IRQS);
	case VFIO_DEVICE_GET_REGION_INFO:
		return msample_get_region_info(c, arg);
	case VFIO_DEVICE_GET_IRQ_INFO:
		return vfio_device_get_irq_info_eventfd(c, arg, MSAMPLE_NUM_IRQS);
	case VFIO_DEVICE_SET_IRQS:
		return msample_set_irqs(s, c, arg);
	case VFIO_DEVICE_RESET:
		uvf_mutex_lock(&s->lock);
		msample_reset(s);
		uvf_mutex_unlock(&s->lock);
		return 0;
	default:
		return -ENOTTY;
	}
}

/* The doorbell: the copy, through the container or the IOAS, unlocked. */
static void msample_copy(struct msample_state *s)
{
	uint64_t src, dst;
	uint32_t len;
	void *buf;
	int ret;

	uvf_mutex_lock(&s->lock);
	src = s->src;
	dst = s->dst;
	len = s->len;
	uvf_mutex_unlock(&s->lock);

	ret = len > MSAMPLE_MAX_COPY ? -EINVAL : 0;
	buf = !ret && len ? malloc(len) : NULL;
	if (!ret && len && !buf)
		ret = -ENOMEM;
	if (!ret && len)
		ret = vfio_dma_rw(&s->vdev, src, buf, len, false);
	if (!ret && len)
		ret = vfio_dma_rw(&s->vdev, dst, buf, len, true);
	free(buf);

	uvf_mutex_lock(&s->lock);
	s->status = ret ? MSAMPLE_STATUS_ERROR : MSAMPLE_STATUS_DONE;
	s->error = (uint32_t)-ret;
	uvf_mutex_unlock(&s->lock);
}

static uint64_t msample_reg_read(struct msample_state *s, uint64_t pos)
{
	switch (pos) {
	case MSAMPLE_REG_MAGIC:
		return MSAMPLE_MAGIC;
	case MSAMPLE_REG_CHANNELS:
		return s->channels;
	case MSAMPLE_REG_SRC:
		return s->src;
	case MSAMPLE_REG_SRC + 4:
		return s->src >> 32;
	case MSAMPLE_REG_DST:
		return s->dst;
	case MSAMPLE_REG_DST + 4:
		return s->dst >> 32;
	case MSAMPLE_REG_LEN:
		return s->len;
	case MSAMPLE_REG_STATUS:
		return s->status;
	case MSAMPLE_REG_ERROR:
		return s->error;
	default:
		return 0;
	}
}

/* A 32-bit half of a 64-bit register, or a whole one. */
static void reg_set(uint64_t *reg, uint64_t pos, uint64_t base, uint64_t val, size_t count)
{
	if (count == 8)
		*reg = val;
	else if (pos == base)
		*reg = (*reg & ~0xffffffffull) | (uint32_t)val;
	else
		*reg = (*reg & 0xffffffffull) | val << 32;
}

/* Returns true when the write rang the doorbell. */
static bool msample_reg_write(struct msample_state *s, uint64_t pos, uint64_t val, size_t count)
{
	switch (pos) {
	case MSAMPLE_REG_SRC:
	case MSAMPLE_REG_SRC + 4:
		reg_set(&s->src, pos, MSAMPLE_REG_SRC, val, count);
		return false;
	case MSAMPLE_REG_DST:
	case MSAMPLE_REG_DST + 4:
		reg_set(&s->dst, pos, MSAMPLE_REG_DST, val, count);
		return false;
	case MSAMPLE_REG_LEN:
		s->len = (uint32_t)val;
		return false;
	case MSAMPLE_REG_DOORBELL:
		return true;
	default:
		return false;	/* read-only and unused registers ignore writes */
	}
}

/* 4-byte accesses anywhere, 8-byte ones on SRC and DST. */
static bool msample_access_ok(uint64_t pos, size_t count)
{
	if (count == 4)
		return pos % 4 == 0 && pos + 4 <= MSAMPLE_REGION_SIZE;
	return count == 8 && (pos == MSAMPLE_REG_SRC || pos == MSAMPLE_REG_DST);
}

static ssize_t msample_read(struct vfio_device *vdev, struct uvf_caller *c, uint64_t ubuf,
			    size_t count, uint64_t pos)
{
	struct msample_state *s = to_state(vdev);
	uint64_t val;

	if (!msample_access_ok(pos, count))
		return -EINVAL;
	uvf_mutex_lock(&s->lock);
	val = msample_reg_read(s, pos);
	uvf_mutex_unlock(&s->lock);
	if (count == 4) {
		uint32_t v32 = (uint32_t)val;

		return copy_to_user(c, ubuf, &v32, 4) ? -EFAULT : 4;
	}
	return copy_to_user(c, ubuf, &val, 8) ? -EFAULT : 8;
}

static ssize_t msample_write(struct vfio_device *vdev, struct uvf_caller *c, uint64_t ubuf,
			     size_t count, uint64_t pos)
{
	struct msample_state *s = to_state(vdev);
	uint64_t val = 0;
	bool doorbell;

	if (!msample_access_ok(pos, count))
		return -EINVAL;
	if (copy_from_user(c, &val, ubuf, count))
		return -EFAULT;
	uvf_mutex_lock(&s->lock);
	doorbell = msample_reg_write(s, pos, val, count);
	uvf_mutex_unlock(&s->lock);
	if (doorbell)
		msample_copy(s);
	return (ssize_t)count;
}

/* Removal is waiting for the user: relay it as the REQ interrupt. */
static void msample_request(struct vfio_device *vdev, unsigned int count)
{
	struct msample_state *s = to_state(vdev);

	uvf_mutex_lock(&s->lock);
	if (s->req_trigger >= 0) {
		if (!(count % 10))
			uvf_info("msample", "%s: relaying device request to user (#%u)",
				 s->mdev->dev.name, count);
		vfio_pci_eventfd_signal(s->req_trigger);
	} else if (!count) {
		uvf_info("msample", "%s: no device request channel registered, blocked until released by user",
			 s->mdev->dev.name);
	}
	uvf_mutex_unlock(&s->lock);
}

static const struct vfio_device_ops msample_vfio_ops = {
	.name = "msample",
	.close_device = msample_close_device,
	.ioctl = msample_ioctl,
	.read = msample_read,
	.write = msample_write,
	.request = msample_request,
};

/* ---- the mdev driver ---------------------------------------------------- */

static int msample_probe(struct mdev_device *mdev)
{
	struct msample *ms = container_of(mdev->type->parent, struct msample, parent);
	unsigned int channels = to_msample_type(mdev->type)->channels;
	struct msample_state *s;
	int ret;

	uvf_mutex_lock(&ms->lock);
	ret = ms->avail_channels < channels ? -ENOSPC : 0;
	if (!ret)
		ms->avail_channels -= channels;
	uvf_mutex_unlock(&ms->lock);
	if (ret)
		return ret;
	s = calloc(1, sizeof(*s));
	if (!s) {
		ret = -ENOMEM;
		goto out_channels;
	}
	s->mdev = mdev;
	s->ms = ms;
	s->channels = channels;
	s->req_trigger = -1;
	uvf_mutex_init(&s->lock);
	vfio_init_device(&s->vdev, &mdev->dev, &msample_vfio_ops);
	ret = vfio_register_emulated_iommu_dev(&s->vdev);
	if (ret)
		goto out_free;
	mdev->dev.driver_data = s;
	return 0;

out_free:
	uvf_mutex_destroy(&s->lock);
	free(s);
out_channels:
	uvf_mutex_lock(&ms->lock);
	ms->avail_channels += channels;
	uvf_mutex_unlock(&ms->lock);
	return ret;
}

static void msample_remove(struct mdev_device *mdev)
{
	struct msample_state *s = mdev->dev.driver_data;
	struct msample *ms = s->ms;

	/* Waits for the users, calling msample_request meanwhile. */
	vfio_unregister_group_dev(&s->vdev);
	uvf_mutex_lock(&ms->lock);
	ms->avail_channels += s->channels;
	uvf_mutex_unlock(&ms->lock);
	vfio_pci_eventfd_put(s->req_trigger);
	uvf_mutex_destroy(&s->lock);
	free(s);
}

static unsigned int msample_get_available(struct mdev_type *mtype)
{
	struct msample *ms = container_of(mtype->parent, struct msample, parent);
	unsigned int avail;

	uvf_mutex_lock(&ms->lock);
	avail = ms->avail_channels / to_msample_type(mtype)->channels;
	uvf_mutex_unlock(&ms->lock);
	return avail;
}

static ssize_t msample_show_description(struct mdev_type *mtype, char *buf)
{
	return sysfs_emit(buf, "channels=%u\n", to_msample_type(mtype)->channels);
}

static ssize_t label_show(struct sysfs_node *attr, char *buf)
{
	struct mdev_device *mdev = sysfs_priv(attr);
	struct msample_state *s = mdev->dev.driver_data;
	ssize_t ret;

	uvf_mutex_lock(&s->lock);
	ret = sysfs_emit(buf, "%s\n", s->label);
	uvf_mutex_unlock(&s->lock);
	return ret;
}

static ssize_t label_store(struct sysfs_node *attr, const char *buf, size_t count)
{
	struct mdev_device *mdev = sysfs_priv(attr);
	struct msample_state *s = mdev->dev.driver_data;
	size_t n = count;

	if (n && buf[n - 1] == '\n')
		n--;
	if (!n || n > MSAMPLE_LABEL_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!isprint((unsigned char)buf[i]))
			return -EINVAL;
	uvf_mutex_lock(&s->lock);
	memcpy(s->label, buf, n);
	s->label[n] = '\0';
	uvf_mutex_unlock(&s->lock);
	return (ssize_t)count;
}

static const struct sysfs_attr_ops label_ops = { .show = label_show, .store = label_store };

static const struct mdev_device_attr msample_dev_attrs[] = {
	{ "label", 0644, &label_ops },
	{ NULL, 0, NULL },
};

/* ---- loading ------------------------------------------------------------ */

static struct msample *msample_alloc(struct uvf_host *h, unsigned int channels)
{
	static const char *const pretty[] = {
		"Sample copy engine, 1 channel", "Sample copy engine, 2 channels",
	};
	static const char *const names[] = { "1", "2" };
	struct msample *ms = calloc(1, sizeof(*ms));

	if (!ms)
		return NULL;
	uvf_mutex_init(&ms->lock);
	ms->avail_channels = channels;
	snprintf(ms->dev.name, sizeof(ms->dev.name), MSAMPLE_NAME);
	ms->dev.bus = "virtual";
	ms->parent_driver.name = MSAMPLE_NAME;
	ms->parent_driver.bus = "virtual";
	ms->parent_driver.driver_managed_dma = true;
	for (unsigned int i = 0; i < 2; i++) {
		ms->types[i].type.sysfs_name = names[i];
		ms->types[i].type.pretty_name = pretty[i];
		ms->types[i].channels = i + 1;
		ms->type_list[i] = &ms->types[i].type;
	}
	ms->mdev_driver.device_api = MSAMPLE_DEVICE_API;
	ms->mdev_driver.probe = msample_probe;
	ms->mdev_driver.remove = msample_remove;
	ms->mdev_driver.get_available = msample_get_available;
	ms->mdev_driver.show_description = msample_show_description;
	ms->mdev_driver.dev_attrs = msample_dev_attrs;
	ms->mdev_driver.driver.name = MSAMPLE_NAME;
	return ms;
}

static void msample_free(struct msample *ms)
{
	sysfs_remove(ms->class_dir);
	uvf_mutex_destroy(&ms->lock);
	free(ms);
}

/* The parent device: a class device, /sys/devices/virtual/msample/msample,
 * bound to its own driver so that its types are named "msample-N". */
static int msample_device_add(struct uvf_host *h, struct msample *ms)
{
	struct sysfs_node *root = sysfs_root(h->sysfs);
	int ret;

	ms->class_dir = sysfs_mkdir_p(root, "devices/virtual/msample");
	if (!ms->class_dir)
		return -ENOMEM;
	ms->dev.sysfs_dir = sysfs_mkdir(ms->class_dir, MSAMPLE_NAME, 0755);
	if (!ms->dev.sysfs_dir)
		return -errno;
	device_register(h, &ms->dev);
	ret = device_bind_driver(&ms->dev, &ms->parent_driver);
	if (ret)
		device_unregister(&ms->dev);
	return ret;
}

int msample_load(struct uvf_host *h, unsigned int channels)
{
	struct mdev_core *core = mdev_core_of(h);
	struct msample *ms;
	int ret;

	if (!core || !h->sysfs || core->sample || !channels || channels > MSAMPLE_MAX_CHANNELS)
		return -EINVAL;
	ms = msample_alloc(h, channels);
	if (!ms)
		return -ENOMEM;
	ret = msample_device_add(h, ms);
	if (ret)
		goto out_free;
	ret = mdev_register_driver(h, &ms->mdev_driver);
	if (ret)
		goto out_dev;
	ret = mdev_register_parent(&ms->parent, &ms->dev, &ms->mdev_driver, ms->type_list, 2);
	if (ret)
		goto out_driver;
	core->sample = ms;
	return 0;

out_driver:
	mdev_unregister_driver(&ms->mdev_driver);
out_dev:
	device_unregister(&ms->dev);
out_free:
	msample_free(ms);
	return ret;
}

void msample_unload(struct uvf_host *h)
{
	struct mdev_core *core = mdev_core_of(h);
	struct msample *ms = core ? core->sample : NULL;

	if (!ms)
		return;
	core->sample = NULL;
	mdev_unregister_parent(&ms->parent);
	mdev_unregister_driver(&ms->mdev_driver);
	device_unregister(&ms->dev);
	msample_free(ms);
}
