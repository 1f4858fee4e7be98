/* SPDX-License-Identifier: MIT */
/*
 * vfio-ap's IRQ indexes, and uvfio's extension for simulated s390 guests.
 *
 * VFIO_AP_*_IRQ_INDEX: the kernel's <linux/vfio.h> enum (REQ since 5.16,
 * CFG_CHG since 6.15).  The system header of the build machine may predate
 * them, so they are defined here under the kernel's names.
 *
 * KVM_S390_UVFIO_AP (uvfio extension, not a kernel ioctl): on a VM fd,
 * execute one AP instruction as the VM's guest would, answered as the SIE
 * interprets it for a guest with AP instructions enabled: an APQN outside
 * the VM's APCB (APM x AQM) gets response code 0x01; one inside reaches the
 * queue of the machine; PQAP(QCI) shows the APCB; PQAP(AQIC) is intercepted
 * and goes to the PQAP hook vfio_ap installed, as KVM does.  The number is
 * in KVMIO space, 0xf0, which kernel 6.12 does not use.  Returns 0 with
 * the outcome in the struct, -EOPNOTSUPP when the kernel would hand the
 * instruction to user space (no AP facility on the host; AQIC without
 * interrupt virtualisation), -EINVAL for an unknown insn, a QCI buffer
 * too small or a message above 64 KiB, -EFAULT for a bad buffer.
 */
#ifndef UVFIO_UAPI_S390_AP_H
#define UVFIO_UAPI_S390_AP_H

#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/kvm.h>

#define VFIO_AP_REQ_IRQ_INDEX		0
#define VFIO_AP_CFG_CHG_IRQ_INDEX	1
#define VFIO_AP_NUM_IRQS		2

enum kvm_s390_uvfio_ap_insn {
	KVM_S390_UVFIO_AP_TAPQ = 1,	/* PQAP(TAPQ): out status, info */
	KVM_S390_UVFIO_AP_NQAP,		/* in psmid, addr/len: the message */
	KVM_S390_UVFIO_AP_DQAP,		/* in addr/len: the buffer; out psmid, len, reslen */
	KVM_S390_UVFIO_AP_RAPQ,		/* PQAP(RAPQ) */
	KVM_S390_UVFIO_AP_ZAPQ,		/* PQAP(ZAPQ) */
	KVM_S390_UVFIO_AP_AQIC,		/* PQAP(AQIC): in ir, isc, nib */
	KVM_S390_UVFIO_AP_QCI,		/* PQAP(QCI): addr/len >= sizeof(struct kvm_s390_uvfio_ap_qci) */
	KVM_S390_UVFIO_AP_TPI,		/* wait up to timeout_ms for an AP adapter interruption */
};

struct kvm_s390_uvfio_ap {
	__u32 insn;		/* enum kvm_s390_uvfio_ap_insn */
	__u32 cc;		/* out: condition code (TPI: 1 = an interruption was taken) */
	__u32 pgm;		/* out: program interruption code, 0 if none */
	__u32 status;		/* out: the AP queue status word (GR1 bits 32-63) */
	__u16 apqn;		/* in: (APID << 8) | APQI */
	__u8 ir;		/* AQIC in: 1 enable, 0 disable interruptions */
	__u8 isc;		/* AQIC in: guest ISC (0-7); TPI out */
	__u32 timeout_ms;	/* TPI in */
	__u64 nib;		/* AQIC in: guest NIB address; TPI out */
	__u64 info;		/* TAPQ out: GR2 (facilities, mode, type, Nd, ml, qd) */
	__u64 psmid;		/* NQAP in; DQAP out */
	__u64 addr;		/* NQAP, DQAP, QCI: user buffer */
	__u64 len;		/* in: its size; DQAP out: bytes stored */
	__u64 reslen;		/* DQAP out: bytes of the reply still to come */
};

/* The QCI block a guest sees: masks MSB first (bit 0 = ID 0). */
struct kvm_s390_uvfio_ap_qci {
	__u8 flags;		/* 0x80 APSC, 0x40 APXA, 0x20 QACT, 0x10 RC8A, 0x08 APSB */
	__u8 na;		/* highest APID (with APXA) */
	__u8 nd;		/* highest APQI (with APXA) */
	__u8 reserved[5];
	__u8 apm[32];
	__u8 aqm[32];
	__u8 adm[32];
};

#define KVM_S390_UVFIO_AP	_IOWR(KVMIO, 0xf0, struct kvm_s390_uvfio_ap)

#endif
