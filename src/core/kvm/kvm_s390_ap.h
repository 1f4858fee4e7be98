/* SPDX-License-Identifier: MIT */
/*
 * The guest side of s390 AP crypto: what the SIE does when a VM's guest
 * executes AP instructions with AP interpretation on (ECA_APIE), and the
 * GISA through which AP adapter interruptions reach the guest.
 *
 * The firmware answers TAPQ, NQAP, DQAP and PQAP(RAPQ, ZAPQ, QCI) itself
 * from the VM's APCB (kvm->arch.crypto): an APQN whose APID is not in the
 * APM or whose APQI is not in the AQM gets response code 0x01 (Q_NOT_AVAIL)
 * and cc 3, one inside reaches the machine's queue with the same APQN
 * (vfio-ap passes queues through unchanged).  PQAP(QCI) reports the APCB
 * as the configuration.  PQAP(AQIC) is intercepted (arch/s390/kvm/priv.c
 * handle_pqap) and answered by the PQAP hook vfio_ap installed; without a
 * hook the guest gets 0x01.  A guest program check is reported as its
 * interruption code; "intercepted to user space" as -EOPNOTSUPP.
 *
 * Interruptions: vfio_ap registers the guest ISC (kvm_s390_gisc_register)
 * and enables the queue with the VM's GISA; the machine then calls the
 * VM's handler for each reply made ready, which marks the ISC pending in
 * the GISA's IPM with the queue and NIB, as the hardware sets the NIB and
 * the IPM bit.  The indicator byte itself is not stored in guest memory
 * (there is none): kvm_s390_ap_tpi() returns the NIB's guest address with
 * the interruption.
 *
 * Lock order: kvm_s390_gisa_interrupt.reg_lock (ISC registration) ->
 * the machine's airq lock; gi->lock (the pending interruptions) is a
 * leaf, taken by the machine's handler with no other lock held.  Guest
 * instructions take no KVM lock except crypto.lock (reading the APCB) and,
 * for AQIC, pqap_hook_rwsem (read) with the hook's own locks after it.
 */
#ifndef UVF_KVM_S390_AP_H
#define UVF_KVM_S390_AP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kvm.h"
#include "../ap/ap.h"

struct uvf_caller;

#define KVM_S390_GAL_ISC	5	/* the host ISC of GIB alerts (asm/isc.h GAL_ISC) */
#define KVM_S390_MAX_ISC	7
#define PGM_SPECIFICATION	0x06	/* program interruption code */

/* The VM's GISA (kvm->arch.gisa_int): made with the VM, freed with it. */
struct kvm_s390_gisa_interrupt;
int kvm_s390_gisa_init(struct kvm *kvm);
void kvm_s390_gisa_destroy(struct kvm *kvm);

/* The GISA designation AQIC takes ("origin >> 4"): never 0 (the host's). */
uint32_t kvm_s390_gisa_origin(struct kvm *kvm);
/* A guest ISC for AP interruptions: the host ISC to put in AQIC, or -ENODEV
 * (no GISA, no AP interruption facility), -ERANGE (gisc > 7), -ENOSPC (the
 * machine has no room for another GISA). */
int kvm_s390_gisc_register(struct kvm *kvm, uint32_t gisc);
int kvm_s390_gisc_unregister(struct kvm *kvm, uint32_t gisc);

/* One adapter interruption as the guest takes it (TPI). */
struct kvm_s390_ap_irq {
	uint8_t isc;		/* guest ISC */
	ap_qid_t qid;		/* the queue whose reply became ready */
	uint64_t nib;		/* its notification indicator byte (guest address) */
};

/* Take the oldest pending AP interruption, waiting up to timeout_ms:
 * 1 if one was taken, 0 if none. */
int kvm_s390_ap_tpi(struct kvm *kvm, unsigned int timeout_ms, struct kvm_s390_ap_irq *irq);

/*
 * The guest's instructions.  Each returns the AP queue status GR1 would
 * hold.  On a host without the AP facility every one answers response code
 * REQ_FAC_NOT_INST (the kernel would hand it to user space; the ioctl
 * says -EOPNOTSUPP).  DQAP: a reply larger than buflen is received in
 * parts (response AP_RESPONSE_PARTIAL with *reslen still to come), as the
 * machine does.
 */
struct ap_queue_status kvm_s390_ap_tapq(struct kvm *kvm, ap_qid_t qid,
					struct ap_tapq_hwinfo *info);
struct ap_queue_status kvm_s390_ap_nqap(struct kvm *kvm, ap_qid_t qid, uint64_t psmid,
					const void *msg, size_t len);
struct ap_queue_status kvm_s390_ap_dqap(struct kvm *kvm, ap_qid_t qid, uint64_t *psmid,
					void *buf, size_t buflen, size_t *len, size_t *reslen);
struct ap_queue_status kvm_s390_ap_rapq(struct kvm *kvm, ap_qid_t qid);
struct ap_queue_status kvm_s390_ap_zapq(struct kvm *kvm, ap_qid_t qid);
/* PQAP(QCI) as the guest sees it: the APCB masks (AP bit order) and the
 * machine's facilities and maxima.  -EOPNOTSUPP without the AP facility. */
int kvm_s390_ap_qci(struct kvm *kvm, struct ap_config_info *info);
/*
 * PQAP(AQIC): 0 with *st the hook's answer (0x01 without a hook);
 * PGM_SPECIFICATION when the guest lacks facility 65 (the machine has no
 * AP interruptions); -EOPNOTSUPP when the hook hands it to user space.
 */
int kvm_s390_ap_aqic(struct kvm *kvm, ap_qid_t qid, bool ir, uint8_t isc, uint64_t nib,
		     struct ap_queue_status *st);

/* KVM_S390_UVFIO_AP on the VM fd (include/uapi/linux/uvfio_s390_ap.h). */
long kvm_s390_ap_ioctl(struct kvm *kvm, struct uvf_caller *c, uint64_t arg);

#endif
