// SPDX-License-Identifier: MIT
/*
 * The VM (virt/kvm/kvm_main.c: kvm_create_vm, kvm_vm_ioctl, kvm_destroy_vm
 * and the x86 non-coherent DMA bookkeeping): its references, its file
 * ("kvm-vm"), its ioctls and its debugfs directory.
 *
 * A VM belongs to the address space that created it: every ioctl on its
 * file or on its devices' files from another one (a child after fork, a
 * process the fd was passed to) is -EIO, as kvm->mm != current->mm.
 *
 * VM ioctls.  Implemented: KVM_CREATE_DEVICE, KVM_CHECK_EXTENSION.  The
 * ones the kernel always has but that meet a limit of zero here answer
 * what the kernel's handler answers with that limit: KVM_CREATE_VCPU
 * -EINVAL (max_vcpus is 0); KVM_SET_USER_MEMORY_REGION(2) and
 * KVM_GET_DIRTY_LOG -EFAULT for an unreadable argument, else -EINVAL (no
 * memslot id is valid); KVM_ENABLE_CAP -EFAULT, else -EINVAL (no VM
 * capability can be enabled); KVM_IRQFD -EFAULT, else -EINVAL (no in-kernel
 * irqchip, the kernel's !CONFIG_HAVE_KVM_IRQCHIP stub); KVM_RESET_DIRTY_RINGS
 * -EINVAL (no dirty ring).  Every other one, among them KVM_IOEVENTFD,
 * KVM_GET_STATS_FD, KVM_SIGNAL_MSI, KVM_IRQ_LINE, KVM_SET_GSI_ROUTING,
 * the coalesced MMIO and guest_memfd ones and every architecture ioctl, is
 * -ENOTTY, as kvm_arch_vm_ioctl answers for an ioctl the kernel was built
 * without; their capabilities read 0.  docs/uapi-coverage.md has the table.
 *
 * Lock order: see kvm.h.  kvm->lock guards the device list; the counts
 * are atomics; the host's VM list lock is taken only at creation and
 * destruction.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include "kvm_priv.h"
#include "kvm_s390_ap.h"
#include "uapi/linux/uvfio_s390_ap.h"
#include "../host/host.h"
#include "../host/file.h"
#include "../mm/caller.h"
#include "../mm/mm.h"
#include "../sysfs/sysfs.h"
#include "../base/log.h"

/*
 * Largest VM id.  The kernel names a VM's debugfs directory <pid>-<fd>;
 * here it is <pid>-<id>, a host-wide id, since the core cannot know the
 * number the client's fd table gave the VM file.
 */
#define KVM_VM_ID_MAX	0x7fffffffu

static const struct uvf_file_ops kvm_vm_fops;

/* ---- references --------------------------------------------------------------------- */

void kvm_get_kvm(struct kvm *kvm)
{
	uvf_ref_get(&kvm->users_count);
}

bool kvm_get_kvm_safe(struct kvm *kvm)
{
	return uvf_ref_get_unless_zero(&kvm->users_count);
}

static void kvm_destroy_vm(struct kvm *kvm)
{
	struct kvm_core *core = kvm->host->kvm;

	/* Shows running on the debugfs files return before it goes. */
	sysfs_remove(kvm->debugfs_dentry);
	uvf_mutex_lock(&core->lock);
	list_del_init(&kvm->vm_list);
	idtable_remove(&core->vm_ids, kvm->id);
	uvf_mutex_unlock(&core->lock);
	kvm_destroy_devices(kvm);
	if (atomic_load(&kvm->arch.noncoherent_dma_count) ||
	    atomic_load(&kvm->arch.assigned_device_count))
		uvf_warn("kvm", "VM %u destroyed with assigned devices", kvm->id);
	kvm_s390_crypto_exit(kvm);
	if (kvm->mm)
		mm_put(kvm->mm);
	uvf_mutex_destroy(&kvm->lock);
	free(kvm);
}

void kvm_put_kvm(struct kvm *kvm)
{
	if (uvf_ref_put(&kvm->users_count))
		kvm_destroy_vm(kvm);
}

bool file_is_kvm(const struct uvf_file *f)
{
	return f && f->ops == &kvm_vm_fops;
}

struct kvm *kvm_from_file(struct uvf_file *f)
{
	return file_is_kvm(f) ? f->private_data : NULL;
}

/* ---- kvm->lock and the puts it defers ------------------------------------------------- */

void kvm_lock(struct kvm *kvm)
{
	uvf_mutex_lock(&kvm->lock);
}

void kvm_fput_deferred(struct kvm *kvm, struct kvm_file_ref *ref)
{
	list_add_tail(&ref->node, &kvm->fput_list);
}

void kvm_unlock(struct kvm *kvm)
{
	struct list_head puts;
	struct kvm_file_ref *ref, *tmp;

	list_init(&puts);
	while (!list_empty(&kvm->fput_list)) {
		ref = list_first_entry(&kvm->fput_list, struct kvm_file_ref, node);
		list_del_init(&ref->node);
		list_add_tail(&ref->node, &puts);
	}
	uvf_mutex_unlock(&kvm->lock);
	/* A last put may release a VFIO file, which takes VFIO locks. */
	list_for_each_entry_safe(ref, tmp, &puts, node) {
		file_put(ref->file);
		free(ref);
	}
}

/* ---- non-coherent DMA and assignment (arch/x86/kvm/x86.c) ------------------------------ */

void kvm_arch_register_noncoherent_dma(struct kvm *kvm)
{
	/* 0 -> 1: the kernel zaps the SPTEs so that guest memory types apply. */
	if (atomic_fetch_add(&kvm->arch.noncoherent_dma_count, 1) == 0)
		atomic_fetch_add(&kvm->arch.noncoherent_transitions, 1);
}

void kvm_arch_unregister_noncoherent_dma(struct kvm *kvm)
{
	if (atomic_fetch_sub(&kvm->arch.noncoherent_dma_count, 1) == 1)
		atomic_fetch_add(&kvm->arch.noncoherent_transitions, 1);
}

bool kvm_arch_has_noncoherent_dma(struct kvm *kvm)
{
	return atomic_load(&kvm->arch.noncoherent_dma_count) > 0;
}

void kvm_arch_start_assignment(struct kvm *kvm)
{
	atomic_fetch_add(&kvm->arch.assigned_device_count, 1);
}

void kvm_arch_end_assignment(struct kvm *kvm)
{
	atomic_fetch_sub(&kvm->arch.assigned_device_count, 1);
}

bool kvm_arch_has_assigned_device(struct kvm *kvm)
{
	return atomic_load(&kvm->arch.assigned_device_count) > 0;
}

/* ---- debugfs: /sys/kernel/debug/kvm/<pid>-<id> ------------------------------------------ */

static ssize_t kvm_noncoherent_dma_show(struct sysfs_node *attr, char *buf)
{
	struct kvm *kvm = sysfs_priv(attr);

	return sysfs_emit(buf, "%d\n", atomic_load(&kvm->arch.noncoherent_dma_count));
}

static const struct sysfs_attr_ops kvm_noncoherent_dma_ops = {
	.show = kvm_noncoherent_dma_show,
};

/* As the kernel's debugfs, a failure here costs the files, not the VM. */
static void kvm_create_vm_debugfs(struct kvm *kvm)
{
	struct kvm_core *core = kvm->host->kvm;
	struct sysfs_node *dir;
	char name[32];

	if (!core->debugfs_dir)
		return;
	snprintf(name, sizeof(name), "%d-%u", (int)kvm->userspace_pid, kvm->id);
	dir = sysfs_mkdir(core->debugfs_dir, name, 0755);
	if (!dir) {
		uvf_warn("kvm", "debugfs directory %s: cannot create it", name);
		return;
	}
	if (!sysfs_add_attr(dir, "noncoherent_dma", 0444, &kvm_noncoherent_dma_ops, kvm))
		uvf_warn("kvm", "debugfs %s/noncoherent_dma: cannot create it", name);
	kvm->debugfs_dentry = dir;
}

/* ---- creation -------------------------------------------------------------------------- */

static int kvm_create_vm(struct uvf_host *h, struct uvf_caller *c, uint64_t type,
			 struct kvm **out)
{
	struct kvm_core *core = h->kvm;
	struct kvm *kvm;
	int64_t id;

	/* kvm_arch_init_vm: only the default machine type. */
	if (type)
		return -EINVAL;
	kvm = calloc(1, sizeof(*kvm));
	if (!kvm)
		return -ENOMEM;
	uvf_ref_init(&kvm->users_count);
	kvm->host = h;
	kvm->userspace_pid = c->pid;
	uvf_mutex_init(&kvm->lock);
	list_init(&kvm->devices);
	list_init(&kvm->fput_list);
	list_init(&kvm->vm_list);
	kvm_s390_crypto_init(kvm);

	uvf_mutex_lock(&core->lock);
	id = idtable_alloc(&core->vm_ids, kvm, 0, KVM_VM_ID_MAX);
	if (id >= 0) {
		kvm->id = (unsigned int)id;
		list_add_tail(&kvm->vm_list, &core->vm_list);
	}
	uvf_mutex_unlock(&core->lock);
	if (id < 0) {
		kvm_s390_crypto_exit(kvm);
		uvf_mutex_destroy(&kvm->lock);
		free(kvm);
		return (int)id;
	}
	/* mmgrab: the VM keeps its creator's address space identity. */
	kvm->mm = c->mm;
	if (kvm->mm)
		mm_get(kvm->mm);
	kvm_create_vm_debugfs(kvm);
	*out = kvm;
	return 0;
}

long kvm_dev_ioctl_create_vm(struct uvf_host *h, struct uvf_caller *c, uint64_t type)
{
	struct kvm *kvm = NULL;
	struct uvf_file *f;
	int ret;

	ret = kvm_create_vm(h, c, type, &kvm);
	if (ret)
		return ret;
	f = file_alloc(h, &kvm_vm_fops, kvm, O_RDWR | O_CLOEXEC, c);
	if (!f) {
		kvm_put_kvm(kvm);
		return -ENOMEM;
	}
	/* From here the file's release puts the VM, whatever happens. */
	return caller_fd_install(c, f, O_RDWR | O_CLOEXEC);
}

/* ---- VM ioctls -------------------------------------------------------------------------- */

/* An ioctl whose argument the kernel copies in whole before a limit of
 * zero refuses it: -EFAULT first, then 'err'. */
static long kvm_vm_ioctl_copy_then(struct uvf_caller *c, uint64_t arg, size_t size, long err)
{
	uint8_t buf[sizeof(struct kvm_userspace_memory_region2)];

	if (size > sizeof(buf) || copy_from_user(c, buf, arg, size))
		return -EFAULT;
	return err;
}

static long kvm_vm_ioctl(struct uvf_file *f, struct uvf_caller *c, unsigned int ioctl,
			 uint64_t arg)
{
	struct kvm *kvm = f->private_data;

	if (kvm->mm != c->mm)
		return -EIO;
	switch (ioctl) {
	case KVM_CREATE_VCPU:
		/* kvm_vm_ioctl_create_vcpu: created_vcpus >= max_vcpus (0). */
		return -EINVAL;
	case KVM_ENABLE_CAP:
		return kvm_vm_ioctl_copy_then(c, arg, sizeof(struct kvm_enable_cap), -EINVAL);
	case KVM_SET_USER_MEMORY_REGION:
		/* Flags outside the v1 set, then kvm_set_memory_region: no slot
		 * id is below KVM_USER_MEM_SLOTS (0).  -EINVAL either way. */
		return kvm_vm_ioctl_copy_then(c, arg, sizeof(struct kvm_userspace_memory_region),
					      -EINVAL);
	case KVM_SET_USER_MEMORY_REGION2:
		return kvm_vm_ioctl_copy_then(c, arg, sizeof(struct kvm_userspace_memory_region2),
					      -EINVAL);
	case KVM_GET_DIRTY_LOG:
		return kvm_vm_ioctl_copy_then(c, arg, sizeof(struct kvm_dirty_log), -EINVAL);
	case KVM_IRQFD:
		return kvm_vm_ioctl_copy_then(c, arg, sizeof(struct kvm_irqfd), -EINVAL);
	case KVM_CREATE_DEVICE:
		return kvm_vm_ioctl_create_device(kvm, c, arg);
	case KVM_CHECK_EXTENSION:
		return kvm_vm_ioctl_check_extension_generic(kvm, (long)arg);
	case KVM_RESET_DIRTY_RINGS:
		return -EINVAL;
	case KVM_S390_UVFIO_AP:
		/* uvfio extension: a simulated guest's AP instruction */
		return kvm_s390_ap_ioctl(kvm, c, arg);
	default:
		return -ENOTTY;
	}
}

static void kvm_vm_release(struct uvf_file *f)
{
	kvm_put_kvm(f->private_data);
}

static const struct uvf_file_ops kvm_vm_fops = {
	.name = "kvm-vm",
	.ioctl = kvm_vm_ioctl,
	.release = kvm_vm_release,
};
