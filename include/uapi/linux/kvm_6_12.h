/* SPDX-License-Identifier: MIT */
/*
 * The KVM uAPI of Linux 6.12 that the Debian 6.1 <linux/kvm.h> lacks: the
 * FILE names of the KVM-VFIO device attributes (6.5+, the GROUP names stay
 * as aliases), the RISC-V AIA device type and KVM_SET_USER_MEMORY_REGION2.
 * Written for uvfio; include after <linux/kvm.h>.  Each block is guarded
 * so that a newer system header wins.
 */
#ifndef UVF_UAPI_KVM_6_12_H
#define UVF_UAPI_KVM_6_12_H

#include <linux/ioctl.h>
#include <linux/types.h>
#include <linux/kvm.h>

#ifndef KVM_DEV_VFIO_FILE
/* The attribute group of the KVM-VFIO device: addr points to an s32 fd,
 * a VFIO group fd or a VFIO device (cdev) fd. */
#define KVM_DEV_VFIO_FILE		1
#define KVM_DEV_VFIO_FILE_ADD		1
#define KVM_DEV_VFIO_FILE_DEL		2
#endif

#ifndef KVM_DEV_TYPE_RISCV_AIA
#define KVM_DEV_TYPE_RISCV_AIA		11
#endif

#ifndef KVM_SET_USER_MEMORY_REGION2
struct kvm_userspace_memory_region2 {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 memory_size;
	__u64 userspace_addr;
	__u64 guest_memfd_offset;
	__u32 guest_memfd;
	__u32 pad1;
	__u64 pad2[14];
};

#define KVM_SET_USER_MEMORY_REGION2	_IOW(KVMIO, 0x49, struct kvm_userspace_memory_region2)
#endif

#endif
