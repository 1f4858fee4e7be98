// SPDX-License-Identifier: MIT
/*
 * The KVM-VFIO device (virt/kvm/vfio.c), KVM_DEV_TYPE_VFIO: user space
 * tells KVM which VFIO files (group fds, device cdev fds) the VM uses.
 * KVM keeps a reference on each registered file, hands the VM to it
 * (vfio_file_set_kvm: a device opened afterwards sees the VM, which is how
 * vfio_ap and other KVM-dependent drivers find it), and from their IOMMU
 * coherency decides whether the guest's WBINVD and memory types must be
 * honoured.
 *
 * Rules (6.12): one per VM, a second is -EBUSY.  Attribute group
 * KVM_DEV_VFIO_FILE (alias GROUP) with FILE_ADD / FILE_DEL (aliases
 * GROUP_ADD / GROUP_DEL), addr pointing to an s32 fd; any other group or
 * attribute is -ENXIO (GROUP_SET_SPAPR_TCE too: it exists only with the
 * SPAPR TCE IOMMU).  No GET_DEVICE_ATTR: -EPERM.
 *  FILE_ADD: -EFAULT (addr), -EBADF (fd), -EINVAL (not a VFIO group or
 *  device file), -EEXIST (already registered).
 *  FILE_DEL: -EFAULT, -EBADF, -ENOENT (not registered; any open fd, VFIO
 *  or not).
 * The references go on FILE_DEL, when the device file closes, and so when
 * the VM goes (the device file holds the VM, not the other way round).
 *
 * Coherency is recomputed after every change, from scratch: groups may
 * share IOMMU domains, so adding one may change what an earlier one reports.
 * The VM registers non-coherent DMA once while any file is non-coherent,
 * and unregisters it when none is.  6.12 still calls
 * kvm_arch_start/end_assignment per file; so does this.
 *
 * Lock order: kvm->lock (create, release) -> kv->lock -> VFIO's
 * kvm_ref_lock.  Files are put with no lock held: directly after kv->lock
 * is dropped, or (release, under kvm->lock) through kvm_fput_deferred.
 */
#include <errno.h>
#include <stdlib.h>
#include "kvm_priv.h"
#include "../host/file.h"
#include "../mm/caller.h"
#include "../vfio/vfio.h"

struct kvm_vfio {
	struct list_head file_list;		/* struct kvm_file_ref */
	struct uvf_mutex lock;
	bool noncoherent;
};

static const struct kvm_device_ops kvm_vfio_ops;

static void kvm_vfio_update_coherency(struct kvm_device *dev)
{
	struct kvm_vfio *kv = dev->private;
	bool noncoherent = false;
	struct kvm_file_ref *kvf;

	list_for_each_entry(kvf, &kv->file_list, node) {
		if (!vfio_file_enforced_coherent(kvf->file)) {
			noncoherent = true;
			break;
		}
	}
	if (noncoherent == kv->noncoherent)
		return;
	kv->noncoherent = noncoherent;
	if (noncoherent)
		kvm_arch_register_noncoherent_dma(dev->kvm);
	else
		kvm_arch_unregister_noncoherent_dma(dev->kvm);
}

static struct kvm_file_ref *kvm_vfio_find(struct kvm_vfio *kv, struct uvf_file *f)
{
	struct kvm_file_ref *kvf;

	list_for_each_entry(kvf, &kv->file_list, node)
		if (kvf->file == f)
			return kvf;
	return NULL;
}

static int kvm_vfio_file_add(struct kvm_device *dev, struct uvf_caller *c, int32_t fd)
{
	struct kvm_vfio *kv = dev->private;
	struct kvm_file_ref *kvf;
	struct uvf_file *filp;
	int ret = 0;

	filp = caller_fget(c, fd);
	if (!filp)
		return -EBADF;
	if (!vfio_file_is_valid(filp)) {
		ret = -EINVAL;
		goto out_fput;
	}

	uvf_mutex_lock(&kv->lock);
	if (kvm_vfio_find(kv, filp)) {
		ret = -EEXIST;
		goto out_unlock;
	}
	kvf = calloc(1, sizeof(*kvf));
	if (!kvf) {
		ret = -ENOMEM;
		goto out_unlock;
	}
	file_get(filp);
	kvf->file = filp;
	list_add_tail(&kvf->node, &kv->file_list);

	kvm_arch_start_assignment(dev->kvm);
	vfio_file_set_kvm(kvf->file, dev->kvm);
	kvm_vfio_update_coherency(dev);
out_unlock:
	uvf_mutex_unlock(&kv->lock);
out_fput:
	file_put(filp);
	return ret;
}

static int kvm_vfio_file_del(struct kvm_device *dev, struct uvf_caller *c, int32_t fd)
{
	struct kvm_vfio *kv = dev->private;
	struct kvm_file_ref *kvf;
	struct uvf_file *filp;
	int ret = -ENOENT;

	filp = caller_fget(c, fd);
	if (!filp)
		return -EBADF;

	uvf_mutex_lock(&kv->lock);
	kvf = kvm_vfio_find(kv, filp);
	if (kvf) {
		list_del_init(&kvf->node);
		kvm_arch_end_assignment(dev->kvm);
		vfio_file_set_kvm(kvf->file, NULL);
		ret = 0;
	}
	kvm_vfio_update_coherency(dev);
	uvf_mutex_unlock(&kv->lock);

	if (kvf) {
		file_put(kvf->file);
		free(kvf);
	}
	file_put(filp);
	return ret;
}

static int kvm_vfio_set_file(struct kvm_device *dev, struct uvf_caller *c, uint64_t attr,
			     uint64_t addr)
{
	int32_t fd;

	switch (attr) {
	case KVM_DEV_VFIO_FILE_ADD:
		if (copy_from_user(c, &fd, addr, sizeof(fd)))
			return -EFAULT;
		return kvm_vfio_file_add(dev, c, fd);
	case KVM_DEV_VFIO_FILE_DEL:
		if (copy_from_user(c, &fd, addr, sizeof(fd)))
			return -EFAULT;
		return kvm_vfio_file_del(dev, c, fd);
	default:
		return -ENXIO;
	}
}

static int kvm_vfio_set_attr(struct kvm_device *dev, struct uvf_caller *c,
			     struct kvm_device_attr *attr)
{
	switch (attr->group) {
	case KVM_DEV_VFIO_FILE:
		return kvm_vfio_set_file(dev, c, attr->attr, attr->addr);
	default:
		return -ENXIO;
	}
}

static int kvm_vfio_has_attr(struct kvm_device *dev, struct uvf_caller *c,
			     struct kvm_device_attr *attr)
{
	if (attr->group != KVM_DEV_VFIO_FILE)
		return -ENXIO;
	switch (attr->attr) {
	case KVM_DEV_VFIO_FILE_ADD:
	case KVM_DEV_VFIO_FILE_DEL:
		return 0;
	default:
		return -ENXIO;
	}
}

/* The device file's last close, kvm->lock held. */
static void kvm_vfio_release(struct kvm_device *dev)
{
	struct kvm_vfio *kv = dev->private;
	struct kvm_file_ref *kvf, *tmp;

	list_for_each_entry_safe(kvf, tmp, &kv->file_list, node) {
		vfio_file_set_kvm(kvf->file, NULL);
		list_del_init(&kvf->node);
		kvm_fput_deferred(dev->kvm, kvf);
		kvm_arch_end_assignment(dev->kvm);
	}
	kvm_vfio_update_coherency(dev);
	uvf_mutex_destroy(&kv->lock);
	free(kv);
	free(dev);
}

static int kvm_vfio_create(struct kvm_device *dev, uint32_t type)
{
	struct kvm_device *tmp;
	struct kvm_vfio *kv;

	/* Only one VFIO "device" per VM (kvm->lock held). */
	list_for_each_entry(tmp, &dev->kvm->devices, vm_node)
		if (tmp->ops == &kvm_vfio_ops)
			return -EBUSY;
	kv = calloc(1, sizeof(*kv));
	if (!kv)
		return -ENOMEM;
	list_init(&kv->file_list);
	uvf_mutex_init(&kv->lock);
	dev->private = kv;
	return 0;
}

/* "file VM KIND NAME... coherent|noncoherent" per registered file. */
static void kvm_vfio_show(struct kvm_device *dev, struct kvm_show_buf *sb)
{
	struct kvm_vfio *kv = dev->private;
	struct kvm_file_ref *kvf;
	char name[128];

	uvf_mutex_lock(&kv->lock);
	list_for_each_entry(kvf, &kv->file_list, node) {
		if (vfio_file_describe(kvf->file, name, sizeof(name)) < 0)
			continue;
		kvm_show_printf(sb, "file %u %s %s\n", dev->kvm->id, name,
				vfio_file_enforced_coherent(kvf->file) ? "coherent"
								       : "noncoherent");
	}
	uvf_mutex_unlock(&kv->lock);
}

static const struct kvm_device_ops kvm_vfio_ops = {
	.name = "kvm-vfio",
	.create = kvm_vfio_create,
	.release = kvm_vfio_release,
	.set_attr = kvm_vfio_set_attr,
	.has_attr = kvm_vfio_has_attr,
	.show = kvm_vfio_show,
};

int kvm_vfio_ops_init(struct uvf_host *h)
{
	return kvm_register_device_ops(h, &kvm_vfio_ops, KVM_DEV_TYPE_VFIO);
}

void kvm_vfio_ops_exit(struct uvf_host *h)
{
	kvm_unregister_device_ops(h, KVM_DEV_TYPE_VFIO);
}
