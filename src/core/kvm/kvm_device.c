// SPDX-License-Identifier: MIT
/*
 * KVM devices (virt/kvm/kvm_main.c: kvm_ioctl_create_device and the
 * device file): the per-host registry of device types, KVM_CREATE_DEVICE
 * on a VM, and the device file ("kvm-device") with its attribute ioctls.
 *
 * KVM_CREATE_DEVICE, in the kernel's order: the struct is copied in
 * (-EFAULT); a type past the table or with no ops is -ENODEV; with
 * KVM_CREATE_DEVICE_TEST that is all (other flag bits are ignored, as the
 * kernel ignores them), and the struct is copied back unchanged, which
 * faults on a read-only argument; otherwise the type's create decides
 * (the KVM-VFIO device: -EBUSY for a second one), the device joins the VM,
 * takes a VM reference for its file, and the fd is written to cd.fd.
 *
 * Device ioctls: -EIO from an address space other than the VM's; the
 * attribute ioctls are -EPERM when the type has no such op (before the
 * argument is read), -EFAULT when the argument cannot be read, then the
 * op; anything else is the type's ioctl or -ENOTTY.  mmap is -ENODEV.
 *
 * Lock order: see kvm.h.  kvm->lock is held across create and release.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include "kvm_priv.h"
#include "../host/host.h"
#include "../host/file.h"
#include "../mm/caller.h"

static const struct uvf_file_ops kvm_device_fops;

/* ---- the registry --------------------------------------------------------------------- */

int kvm_register_device_ops(struct uvf_host *h, const struct kvm_device_ops *ops,
			    uint32_t type)
{
	struct kvm_core *core = h->kvm;

	if (type >= KVM_DEV_TYPE_NR)
		return -ENOSPC;
	if (core->device_ops[type])
		return -EEXIST;
	core->device_ops[type] = ops;
	return 0;
}

void kvm_unregister_device_ops(struct uvf_host *h, uint32_t type)
{
	if (type < KVM_DEV_TYPE_NR)
		h->kvm->device_ops[type] = NULL;
}

/* ---- the device file ------------------------------------------------------------------ */

struct kvm_device *kvm_device_from_file(struct uvf_file *f)
{
	return f && f->ops == &kvm_device_fops ? f->private_data : NULL;
}

static long kvm_device_ioctl_attr(struct kvm_device *dev, struct uvf_caller *c,
				  int (*accessor)(struct kvm_device *dev, struct uvf_caller *c,
						  struct kvm_device_attr *attr),
				  uint64_t arg)
{
	struct kvm_device_attr attr;

	if (!accessor)
		return -EPERM;
	if (copy_from_user(c, &attr, arg, sizeof(attr)))
		return -EFAULT;
	return accessor(dev, c, &attr);
}

static long kvm_device_ioctl(struct uvf_file *f, struct uvf_caller *c, unsigned int ioctl,
			     uint64_t arg)
{
	struct kvm_device *dev = f->private_data;

	if (dev->kvm->mm != c->mm)
		return -EIO;
	switch (ioctl) {
	case KVM_SET_DEVICE_ATTR:
		return kvm_device_ioctl_attr(dev, c, dev->ops->set_attr, arg);
	case KVM_GET_DEVICE_ATTR:
		return kvm_device_ioctl_attr(dev, c, dev->ops->get_attr, arg);
	case KVM_HAS_DEVICE_ATTR:
		return kvm_device_ioctl_attr(dev, c, dev->ops->has_attr, arg);
	default:
		if (dev->ops->ioctl)
			return dev->ops->ioctl(dev, c, ioctl, arg);
		return -ENOTTY;
	}
}

static void kvm_device_release(struct uvf_file *f)
{
	struct kvm_device *dev = f->private_data;
	struct kvm *kvm = dev->kvm;

	if (dev->ops->release) {
		kvm_lock(kvm);
		list_del_init(&dev->vm_node);
		dev->ops->release(dev);
		kvm_unlock(kvm);
	}
	kvm_put_kvm(kvm);
}

static const struct uvf_file_ops kvm_device_fops = {
	.name = "kvm-device",
	.ioctl = kvm_device_ioctl,
	.release = kvm_device_release,
};

/* A device without a release op ends here; destroy frees it. */
static void kvm_device_destroy(struct kvm_device *dev)
{
	if (dev->ops->destroy)
		dev->ops->destroy(dev);
	else
		free(dev);
}

/* ---- KVM_CREATE_DEVICE ---------------------------------------------------------------- */

static int kvm_ioctl_create_device(struct kvm *kvm, struct uvf_caller *c,
				   struct kvm_create_device *cd)
{
	const struct kvm_device_ops *ops;
	struct kvm_device *dev;
	struct uvf_file *f;
	int ret;

	if (cd->type >= KVM_DEV_TYPE_NR)
		return -ENODEV;
	ops = kvm->host->kvm->device_ops[cd->type];
	if (!ops)
		return -ENODEV;
	if (cd->flags & KVM_CREATE_DEVICE_TEST)
		return 0;

	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->ops = ops;
	dev->type = cd->type;
	dev->kvm = kvm;
	list_init(&dev->vm_node);

	kvm_lock(kvm);
	ret = ops->create(dev, cd->type);
	if (ret < 0) {
		kvm_unlock(kvm);
		free(dev);
		return ret;
	}
	list_add_tail(&dev->vm_node, &kvm->devices);
	kvm_unlock(kvm);

	if (ops->init)
		ops->init(dev);

	kvm_get_kvm(kvm);
	f = file_alloc(kvm->host, &kvm_device_fops, dev, O_RDWR | O_CLOEXEC, c);
	if (!f) {
		/* No file: undo as its release (or the VM's end) would. */
		kvm_lock(kvm);
		list_del_init(&dev->vm_node);
		if (ops->release)
			ops->release(dev);
		kvm_unlock(kvm);
		if (!ops->release)
			kvm_device_destroy(dev);
		kvm_put_kvm(kvm);
		return -ENOMEM;
	}
	/* A failed install puts the file, whose release undoes the rest. */
	ret = caller_fd_install(c, f, O_RDWR | O_CLOEXEC);
	if (ret < 0)
		return ret;
	cd->fd = (uint32_t)ret;
	return 0;
}

long kvm_vm_ioctl_create_device(struct kvm *kvm, struct uvf_caller *c, uint64_t arg)
{
	struct kvm_create_device cd;
	int ret;

	if (copy_from_user(c, &cd, arg, sizeof(cd)))
		return -EFAULT;
	ret = kvm_ioctl_create_device(kvm, c, &cd);
	if (ret)
		return ret;
	/* The fd stays installed even if this fails, as in the kernel. */
	if (copy_to_user(c, arg, &cd, sizeof(cd)))
		return -EFAULT;
	return 0;
}

void kvm_destroy_devices(struct kvm *kvm)
{
	struct kvm_device *dev, *tmp;

	/* The last reference is gone: nobody else can reach the list. */
	list_for_each_entry_safe(dev, tmp, &kvm->devices, vm_node) {
		list_del_init(&dev->vm_node);
		kvm_device_destroy(dev);
	}
}
