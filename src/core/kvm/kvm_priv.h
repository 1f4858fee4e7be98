/* SPDX-License-Identifier: MIT */
/*
 * KVM internals shared by the files of this folder: the host's KVM state
 * (the kernel's globals: kvm_lock, vm_list, the device ops table, the
 * /dev/kvm misc device, the debugfs root), and the entry points the files
 * call in each other.
 *
 * Lock: core->lock (the kernel's kvm_lock) protects vm_list and vm_ids; a
 * leaf lock.  The registry is written at init/exit only.
 */
#ifndef UVF_KVM_PRIV_H
#define UVF_KVM_PRIV_H

#include "kvm.h"
#include "../base/idtable.h"
#include "../host/devnode.h"

#define KVM_MISC_MAJOR		10
#define KVM_MINOR		232

struct kvm_core {
	struct uvf_host *host;
	struct uvf_mutex lock;
	struct list_head vm_list;		/* struct kvm.vm_list */
	struct uvf_idtable vm_ids;
	const struct kvm_device_ops *device_ops[KVM_DEV_TYPE_NR];
	struct uvf_devnode devnode;		/* /dev/kvm */
	struct sysfs_node *debugfs_dir;		/* /sys/kernel/debug/kvm */
};

/* kvm_main.c */
long kvm_vm_ioctl_check_extension_generic(struct kvm *kvm, long arg);

/* kvm_vm.c: KVM_CREATE_VM; the new VM file's fd or -errno. */
long kvm_dev_ioctl_create_vm(struct uvf_host *h, struct uvf_caller *c, uint64_t type);

/* kvm_device.c */
long kvm_vm_ioctl_create_device(struct kvm *kvm, struct uvf_caller *c, uint64_t arg);
/* At VM destruction: devices without a release op. */
void kvm_destroy_devices(struct kvm *kvm);

/* kvm_crypto.c: the VM's crypto block at creation / destruction. */
void kvm_s390_crypto_init(struct kvm *kvm);
void kvm_s390_crypto_exit(struct kvm *kvm);

#endif
