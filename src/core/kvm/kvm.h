/* SPDX-License-Identifier: MIT */
/*
 * The KVM device plane (include/linux/kvm_host.h, reduced): /dev/kvm, VMs
 * and their devices, with no vCPUs and no guest memory.  What a VM is here
 * is what VFIO and its drivers need of one: a refcounted object that KVM
 * devices attach to, that VFIO devices learn at first open (the KVM-VFIO
 * device), that records whether non-coherent DMA is assigned to it (and so
 * whether a guest WBINVD must be honoured), and that carries the s390 crypto
 * control block vfio_ap programs.
 *
 * Objects and references:
 *  - struct kvm: users_count is 1 for the VM file, plus one per KVM device
 *    file, plus one per VFIO device holding it (vfio_device_get_kvm_safe
 *    at first open / cdev bind, dropped at last close).  The last
 *    kvm_put_kvm destroys it: devices still listed get ops->destroy, the
 *    debugfs directory and the VM id go.
 *  - struct kvm_device: one per KVM_CREATE_DEVICE; its file holds a VM
 *    reference.  Closing the file runs ops->release (under kvm->lock), which
 *    frees it; devices without release live until the VM is destroyed.
 *
 * Lock order (outermost first):
 *   vfio group_lock -> vfio dev_set->lock -> kvm->lock -> KVM-VFIO lock ->
 *   vfio core kvm_ref_lock
 *   kvm->lock -> crypto.lock -> the AP machine's locks (a guest's AP
 *   instruction runs under crypto.lock, kvm_s390_ap.c)
 *   kvm->lock -> crypto.pqap_hook_rwsem -> vfio_ap's mdevs_lock (the hook
 *   runs with the rwsem held for read)
 *   the host's KVM core lock (the VM list): a leaf.
 * A VFIO driver's open_device may take kvm->lock (vfio_ap does).  Nothing
 * under kvm->lock may put a file that VFIO could release (that release takes
 * VFIO locks): puts are queued with kvm_fput_deferred and run by
 * kvm_unlock once kvm->lock is dropped, as the kernel's last fput runs
 * later from task work.
 */
#ifndef UVF_KVM_H
#define UVF_KVM_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <sys/types.h>
#include <linux/kvm.h>
#include "uapi/linux/kvm_6_12.h"
#include "../base/refcount.h"
#include "../base/lock.h"
#include "../base/list.h"
#include "../base/compiler.h"

struct uvf_host;
struct uvf_file;
struct uvf_mm;
struct uvf_caller;
struct sysfs_node;
struct kvm;
struct kvm_device;
struct kvm_s390_gisa_interrupt;

/* The kernel's KVM_DEV_TYPE_MAX in 6.12: the size of the device registry. */
#define KVM_DEV_TYPE_NR		12

/* ---- s390 crypto (arch/s390: struct kvm_s390_crypto) ------------------ */

/* APCB1: 256 adapters (APM), 256 usage domains (AQM), 256 control domains (ADM). */
#define KVM_S390_AP_BITS	256
#define KVM_S390_AP_LONGS	(KVM_S390_AP_BITS / 64)

/*
 * The guest-visible APCB1 as the hardware reads it: each mask is 256 bits
 * numbered MSB first (bit 0 is the leftmost bit of byte 0).  The masks are
 * kept as ordinary bitmaps (bit n of word n / 64 = adapter/domain n, the
 * set_bit() numbering); kvm_s390_crypto_apcb1() encodes them.
 */
struct kvm_s390_apcb1 {
	uint8_t apm[32];
	uint8_t aqm[32];
	uint8_t adm[32];
	uint8_t reserved60[32];
};

/* The general registers PQAP(AQIC) uses, in and out (the kernel's hook
 * reads them from the intercepted vCPU; there are no vCPUs here). */
struct kvm_s390_pqap_regs {
	uint64_t gprs[3];
};

typedef int (*crypto_hook)(struct kvm *kvm, struct kvm_s390_pqap_regs *regs);

struct kvm_s390_crypto {
	struct uvf_mutex lock;			/* the masks and generation */
	unsigned long apm[KVM_S390_AP_LONGS];
	unsigned long aqm[KVM_S390_AP_LONGS];
	unsigned long adm[KVM_S390_AP_LONGS];
	uint64_t generation;			/* bumped by every set/clear */
	struct uvf_rwlock pqap_hook_rwsem;
	crypto_hook *pqap_hook;			/* vfio_ap's, while it has the VM */
};

/*
 * Give the guest these adapters, usage domains and control domains (each
 * a KVM_S390_AP_BITS bitmap, set_bit numbering), replacing what it had;
 * clear takes them all away.  The kernel's callers hold kvm->lock (vfio_ap
 * does); the masks have their own lock, so either way is safe here.
 */
void kvm_arch_crypto_set_masks(struct kvm *kvm, const unsigned long *apm,
			       const unsigned long *aqm, const unsigned long *adm);
void kvm_arch_crypto_clear_masks(struct kvm *kvm);
/* A consistent copy of the masks (any pointer may be NULL); the generation. */
uint64_t kvm_s390_crypto_get_masks(struct kvm *kvm, unsigned long *apm, unsigned long *aqm,
				   unsigned long *adm);
/* The guest-visible encoding of the masks. */
void kvm_s390_crypto_apcb1(struct kvm *kvm, struct kvm_s390_apcb1 *out);
/* A guest PQAP(AQIC): the registered hook's answer, -EOPNOTSUPP without one
 * (the kernel then hands the instruction to user space). */
int kvm_s390_handle_pqap(struct kvm *kvm, struct kvm_s390_pqap_regs *regs);

/* ---- the VM --------------------------------------------------------------- */

struct kvm_arch {
	atomic_int noncoherent_dma_count;	/* x86: honour WBINVD and guest PAT */
	atomic_int assigned_device_count;	/* KVM-VFIO files registered */
	atomic_uint noncoherent_transitions;	/* 0 <-> 1 changes of the count */
	struct kvm_s390_crypto crypto;
	struct kvm_s390_gisa_interrupt *gisa_int;	/* AP interruptions (kvm_s390_ap.c) */
};

struct kvm {
	struct uvf_ref users_count;
	struct uvf_host *host;
	struct uvf_mm *mm;			/* the creator's address space (held) */
	pid_t userspace_pid;			/* the creator */
	unsigned int id;			/* host-unique: "uvfio vms", debugfs */
	struct uvf_mutex lock;			/* kvm->lock: devices, their create/release */
	struct list_head devices;		/* struct kvm_device.vm_node */
	struct list_head fput_list;		/* struct kvm_file_ref, put at kvm_unlock */
	struct list_head vm_list;		/* in the host's KVM core */
	struct kvm_arch arch;
	struct sysfs_node *debugfs_dentry;	/* /sys/kernel/debug/kvm/<pid>-<id> */
};

void kvm_get_kvm(struct kvm *kvm);
/* A reference unless the VM is already being destroyed (count 0). */
bool kvm_get_kvm_safe(struct kvm *kvm);
void kvm_put_kvm(struct kvm *kvm);

/* The VM of a "kvm-vm" file, or NULL (the kernel's file_is_kvm). */
bool file_is_kvm(const struct uvf_file *f);
struct kvm *kvm_from_file(struct uvf_file *f);

/* kvm->lock; kvm_unlock also runs the file puts queued under it. */
void kvm_lock(struct kvm *kvm);
void kvm_unlock(struct kvm *kvm);

/* A file reference KVM holds.  Allocated by its owner with malloc. */
struct kvm_file_ref {
	struct list_head node;
	struct uvf_file *file;
};

/* With kvm->lock held: put ref->file and free ref once it is dropped. */
void kvm_fput_deferred(struct kvm *kvm, struct kvm_file_ref *ref);

/* Non-coherent DMA (x86): while the count is non-zero the guest's WBINVD
 * is honoured and its memory types are used. */
void kvm_arch_register_noncoherent_dma(struct kvm *kvm);
void kvm_arch_unregister_noncoherent_dma(struct kvm *kvm);
bool kvm_arch_has_noncoherent_dma(struct kvm *kvm);
/* Device assignment bookkeeping (posted interrupts), as 6.12 still keeps. */
void kvm_arch_start_assignment(struct kvm *kvm);
void kvm_arch_end_assignment(struct kvm *kvm);
bool kvm_arch_has_assigned_device(struct kvm *kvm);

/* ---- KVM devices ---------------------------------------------------------- */

/* Text for "uvfio vms" (the format is in src/proto/uvfio_proto.h). */
struct kvm_show_buf {
	char *buf;
	size_t size, len;
};

void kvm_show_printf(struct kvm_show_buf *sb, const char *fmt, ...) UVF_PRINTF(2, 3);

struct kvm_device_ops {
	const char *name;
	/* With kvm->lock held: set up dev->private, or -errno. */
	int (*create)(struct kvm_device *dev, uint32_t type);
	/* After create, without kvm->lock. */
	void (*init)(struct kvm_device *dev);
	/* At VM destruction, for devices without release; frees dev. */
	void (*destroy)(struct kvm_device *dev);
	/* The device file's last close, kvm->lock held; frees dev. */
	void (*release)(struct kvm_device *dev);
	/* KVM_SET/GET/HAS_DEVICE_ATTR: the attribute was copied in; attr->addr
	 * is a user address in c.  NULL: -EPERM. */
	int (*set_attr)(struct kvm_device *dev, struct uvf_caller *c,
			struct kvm_device_attr *attr);
	int (*get_attr)(struct kvm_device *dev, struct uvf_caller *c,
			struct kvm_device_attr *attr);
	int (*has_attr)(struct kvm_device *dev, struct uvf_caller *c,
			struct kvm_device_attr *attr);
	/* Other ioctls on the device fd; NULL: -ENOTTY. */
	long (*ioctl)(struct kvm_device *dev, struct uvf_caller *c, unsigned int ioctl,
		      uint64_t arg);
	/* "uvfio vms": lines about the device, kvm->lock held. */
	void (*show)(struct kvm_device *dev, struct kvm_show_buf *sb);
};

struct kvm_device {
	const struct kvm_device_ops *ops;
	uint32_t type;				/* KVM_DEV_TYPE_* it was created as */
	struct kvm *kvm;
	void *private;
	struct list_head vm_node;		/* in kvm->devices, under kvm->lock */
};

/* The per-host registry: -ENOSPC past KVM_DEV_TYPE_NR, -EEXIST if taken. */
int kvm_register_device_ops(struct uvf_host *h, const struct kvm_device_ops *ops,
			    uint32_t type);
void kvm_unregister_device_ops(struct uvf_host *h, uint32_t type);
/* The device of a "kvm-device" file, or NULL. */
struct kvm_device *kvm_device_from_file(struct uvf_file *f);

/* The KVM-VFIO device (kvm_vfio.c), registered by kvm_core_init. */
int kvm_vfio_ops_init(struct uvf_host *h);
void kvm_vfio_ops_exit(struct uvf_host *h);

/* ---- the host's KVM -------------------------------------------------------- */

/* /dev/kvm, the device registry, /sys/kernel/debug/kvm: host_new/host_free. */
int kvm_core_init(struct uvf_host *h);
void kvm_core_exit(struct uvf_host *h);

/*
 * Whether a transport should serve this host's /dev/kvm to programs: the
 * topology's limits.kvm "always", or "auto" (the default) on a machine
 * without a /dev/kvm of its own; never for "never".
 */
bool kvm_chardev_served(const struct uvf_host *h);

/* Every VM of the host as "uvfio vms" text (uvfio_proto.h: UVP_VMS). */
size_t kvm_show_vms(struct uvf_host *h, char *buf, size_t size);

#endif
