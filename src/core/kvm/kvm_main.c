// SPDX-License-Identifier: MIT
/*
 * /dev/kvm (virt/kvm/kvm_main.c: kvm_dev_ioctl and the module's globals):
 * the host's KVM state, the system ioctls, the capabilities this KVM
 * answers, and the listing behind "uvfio vms".
 *
 * This KVM has VMs and KVM devices but no vCPUs and no guest memory, so
 * KVM_CHECK_EXTENSION says 1 only for what works here (the device control
 * API and CHECK_EXTENSION on VMs) and 0 for everything else, including the
 * capabilities a 6.12 kernel always reports: user memory, memslots, vCPUs.
 * An unknown system ioctl is -EINVAL, as every architecture's
 * kvm_arch_dev_ioctl answers.
 *
 * Lock: core->lock (kvm_priv.h), a leaf: only list walks run under it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "kvm_priv.h"
#include "../host/host.h"
#include "../host/file.h"
#include "../sysfs/sysfs.h"
#include "../vfio/vfio.h"
#include "../base/log.h"

/* struct kvm_run: the one page a vCPU mapping would have. */
#define KVM_VCPU_MMAP_SIZE	4096

/* ---- capabilities ------------------------------------------------------------------ */

long kvm_vm_ioctl_check_extension_generic(struct kvm *kvm, long arg)
{
	switch (arg) {
	case KVM_CAP_DEVICE_CTRL:
	case KVM_CAP_CHECK_EXTENSION_VM:
		return 1;
	default:
		/*
		 * Among them KVM_CAP_USER_MEMORY, NR_MEMSLOTS, NR_VCPUS and
		 * MAX_VCPUS: no memslots and no vCPUs, so 0 is the truth.
		 */
		return 0;
	}
}

/* ---- the /dev/kvm file ------------------------------------------------------------- */

static long kvm_dev_ioctl(struct uvf_file *f, struct uvf_caller *c, unsigned int ioctl,
			  uint64_t arg)
{
	switch (ioctl) {
	case KVM_GET_API_VERSION:
		return arg ? -EINVAL : KVM_API_VERSION;
	case KVM_CREATE_VM:
		return kvm_dev_ioctl_create_vm(f->host, c, arg);
	case KVM_CHECK_EXTENSION:
		return kvm_vm_ioctl_check_extension_generic(NULL, (long)arg);
	case KVM_GET_VCPU_MMAP_SIZE:
		return arg ? -EINVAL : KVM_VCPU_MMAP_SIZE;
	default:
		/* kvm_arch_dev_ioctl: no architecture ioctl here. */
		return -EINVAL;
	}
}

static const struct uvf_file_ops kvm_chardev_fops = {
	.name = "kvm",
	.ioctl = kvm_dev_ioctl,
};

static int kvm_devnode_open(struct uvf_devnode *dn, struct uvf_caller *c, int flags,
			    struct uvf_file **out)
{
	struct uvf_file *f = file_alloc(dn->priv, &kvm_chardev_fops, NULL, flags, c);

	if (!f)
		return -ENOMEM;
	*out = f;
	return 0;
}

static const struct uvf_devnode_ops kvm_devnode_ops = {
	.open = kvm_devnode_open,
};

bool kvm_chardev_served(const struct uvf_host *h)
{
	switch (h->params.kvm) {
	case UVF_KVM_ALWAYS:
		return true;
	case UVF_KVM_NEVER:
		return false;
	default:
		return access("/dev/kvm", F_OK) != 0;
	}
}

/* ---- the host's KVM ------------------------------------------------------------------ */

int kvm_core_init(struct uvf_host *h)
{
	struct kvm_core *core = calloc(1, sizeof(*core));
	struct uvf_devnode *dn;
	int ret;

	if (!core)
		return -ENOMEM;
	core->host = h;
	uvf_mutex_init(&core->lock);
	list_init(&core->vm_list);
	idtable_init(&core->vm_ids);
	h->kvm = core;

	dn = &core->devnode;
	snprintf(dn->path, sizeof(dn->path), "/dev/kvm");
	/* udev's rule for the static node: world read/write. */
	dn->mode = 0666;
	dn->major = KVM_MISC_MAJOR;
	dn->minor = KVM_MINOR;
	dn->ops = &kvm_devnode_ops;
	dn->priv = h;
	list_init(&dn->link);
	ret = devnode_add(h, dn);
	if (ret)
		goto fail;
	/* /sys/kernel/debug is shared with other debugfs users: mkdir_p
	 * takes the directories that exist. */
	if (h->sysfs) {
		core->debugfs_dir = sysfs_mkdir_p(sysfs_root(h->sysfs), "kernel/debug/kvm");
		if (!core->debugfs_dir) {
			ret = -ENOMEM;
			goto fail;
		}
	}
	ret = kvm_vfio_ops_init(h);
	if (ret)
		goto fail;
	return 0;
fail:
	kvm_core_exit(h);
	return ret;
}

void kvm_core_exit(struct uvf_host *h)
{
	struct kvm_core *core = h->kvm;

	if (!core)
		return;
	if (!list_empty(&core->vm_list))
		uvf_warn("kvm", "host exit with VMs still alive");
	kvm_vfio_ops_exit(h);
	sysfs_remove(core->debugfs_dir);
	devnode_del(h, &core->devnode);
	idtable_destroy(&core->vm_ids);
	uvf_mutex_destroy(&core->lock);
	h->kvm = NULL;
	free(core);
}

/* ---- uvfio vms ------------------------------------------------------------------------ */

void kvm_show_printf(struct kvm_show_buf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->len + 1 >= sb->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(sb->buf + sb->len, sb->size - sb->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		sb->len = uvf_min(sb->len + (size_t)n, sb->size - 1);
}

static void kvm_show_vm(struct kvm *kvm, struct kvm_show_buf *sb)
{
	struct kvm_device *dev;
	bool has_vfio = false;

	kvm_lock(kvm);
	list_for_each_entry(dev, &kvm->devices, vm_node)
		has_vfio |= dev->type == KVM_DEV_TYPE_VFIO;
	kvm_show_printf(sb, "vm %u pid=%d kvm-vfio=%d assigned=%d noncoherent=%d wbinvd=%d\n",
			kvm->id, (int)kvm->userspace_pid, has_vfio,
			atomic_load(&kvm->arch.assigned_device_count),
			atomic_load(&kvm->arch.noncoherent_dma_count),
			kvm_arch_has_noncoherent_dma(kvm));
	list_for_each_entry(dev, &kvm->devices, vm_node)
		if (dev->ops->show)
			dev->ops->show(dev, sb);
	kvm_unlock(kvm);
}

size_t kvm_show_vms(struct uvf_host *h, char *buf, size_t size)
{
	struct kvm_show_buf sb = { buf, size, 0 };
	struct kvm_core *core = h->kvm;
	struct kvm *kvm, **all;
	unsigned int n = 0, i = 0;

	if (size)
		buf[0] = '\0';
	if (!core)
		return 0;
	/* References under the list lock; each VM is shown without it. */
	uvf_mutex_lock(&core->lock);
	list_for_each_entry(kvm, &core->vm_list, vm_list)
		n++;
	all = calloc(n ? n : 1, sizeof(*all));
	if (all)
		list_for_each_entry(kvm, &core->vm_list, vm_list)
			if (kvm_get_kvm_safe(kvm))
				all[i++] = kvm;
	uvf_mutex_unlock(&core->lock);
	for (unsigned int j = 0; j < i; j++) {
		kvm_show_vm(all[j], &sb);
		/* VFIO device locks come before kvm->lock: not under it. */
		vfio_show_kvm_users(h, all[j], all[j]->id, &sb);
		kvm_put_kvm(all[j]);
	}
	free(all);
	return sb.len;
}
