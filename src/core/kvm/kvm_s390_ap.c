// SPDX-License-Identifier: MIT
/*
 * The guest side of s390 AP crypto (kvm_s390_ap.h): the SIE's
 * interpretation of a guest's AP instructions against the VM's APCB, the
 * intercepted PQAP(AQIC) (arch/s390/kvm/priv.c handle_pqap), the VM's GISA
 * for AP adapter interruptions (arch/s390/kvm/interrupt.c
 * kvm_s390_gisc_register) and uvfio's KVM_S390_UVFIO_AP ioctl through
 * which a simulated guest process executes them.
 *
 * vCPU blocking: the kernel changes the APCB with every vCPU kicked out of
 * SIE (kvm_arch_crypto_set_masks), so an instruction either ran entirely
 * before the change or sees the new masks.  Here an interpreted instruction
 * holds crypto.lock from the APCB check to the end of its execution, and
 * set_masks takes the same lock: once vfio_ap has unplugged a queue and
 * returned from set_masks, no guest instruction can still reach it (the
 * reset that follows zeroizes what the guest left).  AQIC is intercepted,
 * not interpreted, and runs without crypto.lock (the hook takes vfio_ap's
 * locks, which set_masks is called under).
 *
 * Lock order: crypto.lock -> the machine's locks.  gi->reg_lock -> the
 * machine's airq lock.  gi->lock is a leaf (the machine's handler takes it).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include "kvm_s390_ap.h"
#include "uapi/linux/uvfio_s390_ap.h"
#include "../ap/ap_bus.h"
#include "../base/bitmap.h"
#include "../base/log.h"
#include "../host/host.h"
#include "../mm/caller.h"

/* The largest message or reply buffer the ioctl copies. */
#define KVM_S390_AP_MAX_BUF	(64 * 1024)
/* Interruptions pending in the GISA beyond the IPM bits: the queue and NIB
 * of each, oldest first. */
#define GISA_PENDING_MAX	64

struct kvm_s390_gisa_interrupt {
	struct kvm *kvm;
	/* reg_lock: the ISC references and the machine registration */
	struct uvf_mutex reg_lock;
	unsigned int ref_count[KVM_S390_MAX_ISC + 1];
	struct ap_machine *mach;		/* registered with (NULL: not) */
	uint32_t origin;
	/* lock: what the machine made pending */
	struct uvf_mutex lock;
	pthread_cond_t cond;
	struct kvm_s390_ap_irq pending[GISA_PENDING_MAX];
	unsigned int head, count;
	uint64_t lost;
};

static struct ap_machine *kvm_ap_machine(struct kvm *kvm)
{
	struct ap_bus *bus = ap_bus_get(kvm->host);

	return bus ? ap_bus_machine(bus) : NULL;
}

static struct ap_queue_status rc_status(uint8_t rc)
{
	return (struct ap_queue_status){ .response_code = rc };
}

/* ---- the GISA ------------------------------------------------------------------------- */

int kvm_s390_gisa_init(struct kvm *kvm)
{
	struct kvm_s390_gisa_interrupt *gi = calloc(1, sizeof(*gi));

	if (!gi)
		return -ENOMEM;
	gi->kvm = kvm;
	uvf_mutex_init(&gi->reg_lock);
	uvf_mutex_init(&gi->lock);
	ap_cond_init_monotonic(&gi->cond);
	kvm->arch.gisa_int = gi;
	return 0;
}

void kvm_s390_gisa_destroy(struct kvm *kvm)
{
	struct kvm_s390_gisa_interrupt *gi = kvm->arch.gisa_int;

	if (!gi)
		return;
	/* vfio_ap gives its ISCs back before it lets the VM go. */
	if (gi->mach) {
		uvf_warn("kvm", "VM %u destroyed with AP interruption subclasses registered",
			 kvm->id);
		ap_airq_unregister(gi->mach, gi->origin);
	}
	kvm->arch.gisa_int = NULL;
	pthread_cond_destroy(&gi->cond);
	uvf_mutex_destroy(&gi->lock);
	uvf_mutex_destroy(&gi->reg_lock);
	free(gi);
}

uint32_t kvm_s390_gisa_origin(struct kvm *kvm)
{
	return kvm->id + 1;
}

/* The machine made a reply ready on a queue enabled for this GISA: the IPM
 * bit of the guest ISC, and the queue and NIB for the guest to find. */
static void kvm_s390_gisa_airq(void *priv, ap_qid_t qid, uint8_t isc, uint64_t nib)
{
	struct kvm_s390_gisa_interrupt *gi = priv;

	uvf_mutex_lock(&gi->lock);
	if (gi->count < GISA_PENDING_MAX) {
		gi->pending[(gi->head + gi->count) % GISA_PENDING_MAX] =
			(struct kvm_s390_ap_irq){ .isc = isc, .qid = qid, .nib = nib };
		gi->count++;
		pthread_cond_broadcast(&gi->cond);
	} else {
		gi->lost++;
	}
	uvf_mutex_unlock(&gi->lock);
}

static unsigned int gisa_isc_refs(const struct kvm_s390_gisa_interrupt *gi)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i <= KVM_S390_MAX_ISC; i++)
		n += gi->ref_count[i];
	return n;
}

int kvm_s390_gisc_register(struct kvm *kvm, uint32_t gisc)
{
	struct kvm_s390_gisa_interrupt *gi = kvm->arch.gisa_int;
	struct ap_machine *m = kvm_ap_machine(kvm);
	int ret = 0;

	if (!gi || !m || !ap_interrupts_available(m))
		return -ENODEV;
	if (gisc > KVM_S390_MAX_ISC)
		return -ERANGE;
	uvf_mutex_lock(&gi->reg_lock);
	if (!gisa_isc_refs(gi)) {
		gi->origin = kvm_s390_gisa_origin(kvm);
		ret = ap_airq_register(m, gi->origin, kvm_s390_gisa_airq, gi);
		if (!ret)
			gi->mach = m;
	}
	if (!ret)
		gi->ref_count[gisc]++;
	uvf_mutex_unlock(&gi->reg_lock);
	if (ret)
		return ret == -EEXIST ? -EBUSY : -ENOSPC;
	return KVM_S390_GAL_ISC;
}

int kvm_s390_gisc_unregister(struct kvm *kvm, uint32_t gisc)
{
	struct kvm_s390_gisa_interrupt *gi = kvm->arch.gisa_int;
	int ret = 0;

	if (!gi)
		return -ENODEV;
	if (gisc > KVM_S390_MAX_ISC)
		return -ERANGE;
	uvf_mutex_lock(&gi->reg_lock);
	if (!gi->ref_count[gisc]) {
		ret = -EINVAL;
	} else if (!--gi->ref_count[gisc] && !gisa_isc_refs(gi)) {
		ap_airq_unregister(gi->mach, gi->origin);
		gi->mach = NULL;
	}
	uvf_mutex_unlock(&gi->reg_lock);
	return ret;
}

int kvm_s390_ap_tpi(struct kvm *kvm, unsigned int timeout_ms, struct kvm_s390_ap_irq *irq)
{
	struct kvm_s390_gisa_interrupt *gi = kvm->arch.gisa_int;
	uint64_t deadline = ap_hw_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	struct timespec ts;
	int ret = 0;

	if (!gi)
		return 0;
	ap_ns_to_timespec(deadline, &ts);
	uvf_mutex_lock(&gi->lock);
	while (!gi->count && ap_hw_now_ns() < deadline)
		pthread_cond_timedwait(&gi->cond, &gi->lock.m, &ts);
	if (gi->count) {
		*irq = gi->pending[gi->head];
		gi->head = (gi->head + 1) % GISA_PENDING_MAX;
		gi->count--;
		ret = 1;
	}
	uvf_mutex_unlock(&gi->lock);
	return ret;
}

/* ---- interpreted instructions ------------------------------------------------------------- */

/* crypto.lock held: is the APQN in the VM's APCB (APM x AQM)? */
static bool apqn_in_apcb(struct kvm *kvm, ap_qid_t qid)
{
	struct kvm_s390_crypto *crypto = &kvm->arch.crypto;

	return test_bit(AP_QID_CARD(qid), crypto->apm) && test_bit(AP_QID_QUEUE(qid), crypto->aqm);
}

/* Instruction arguments, for one function that checks and executes. */
enum ap_guest_insn { GUEST_TAPQ, GUEST_NQAP, GUEST_DQAP, GUEST_RAPQ, GUEST_ZAPQ };

struct ap_guest_args {
	enum ap_guest_insn insn;
	ap_qid_t qid;
	struct ap_tapq_hwinfo *info;
	uint64_t psmid, *psmid_out;
	const void *msg;
	void *buf;
	size_t len, *len_out, *reslen;
};

static struct ap_queue_status ap_guest_exec(struct kvm *kvm, struct ap_guest_args *a)
{
	struct ap_machine *m = kvm_ap_machine(kvm);
	struct ap_queue_status st;

	if (!m)
		return rc_status(AP_RESPONSE_REQ_FAC_NOT_INST);
	uvf_mutex_lock(&kvm->arch.crypto.lock);
	if (!apqn_in_apcb(kvm, a->qid)) {
		st = rc_status(AP_RESPONSE_Q_NOT_AVAIL);
		goto out;
	}
	switch (a->insn) {
	case GUEST_TAPQ:
		st = ap_tapq(m, a->qid, a->info);
		break;
	case GUEST_NQAP:
		st = ap_nqap(m, a->qid, a->psmid, a->msg, a->len);
		break;
	case GUEST_DQAP:
		st = ap_dqap(m, a->qid, a->psmid_out, a->buf, a->len, a->len_out, a->reslen);
		break;
	case GUEST_RAPQ:
		st = ap_rapq(m, a->qid, false);
		break;
	default:
		st = ap_zapq(m, a->qid, false);
		break;
	}
out:
	uvf_mutex_unlock(&kvm->arch.crypto.lock);
	return st;
}

struct ap_queue_status kvm_s390_ap_tapq(struct kvm *kvm, ap_qid_t qid,
					struct ap_tapq_hwinfo *info)
{
	struct ap_guest_args a = { .insn = GUEST_TAPQ, .qid = qid, .info = info };

	if (info)
		memset(info, 0, sizeof(*info));
	return ap_guest_exec(kvm, &a);
}

struct ap_queue_status kvm_s390_ap_nqap(struct kvm *kvm, ap_qid_t qid, uint64_t psmid,
					const void *msg, size_t len)
{
	struct ap_guest_args a = { .insn = GUEST_NQAP, .qid = qid, .psmid = psmid, .msg = msg,
				   .len = len };

	return ap_guest_exec(kvm, &a);
}

struct ap_queue_status kvm_s390_ap_dqap(struct kvm *kvm, ap_qid_t qid, uint64_t *psmid,
					void *buf, size_t buflen, size_t *len, size_t *reslen)
{
	struct ap_guest_args a = { .insn = GUEST_DQAP, .qid = qid, .psmid_out = psmid, .buf = buf,
				   .len = buflen, .len_out = len, .reslen = reslen };

	*len = 0;
	if (reslen)
		*reslen = 0;
	return ap_guest_exec(kvm, &a);
}

struct ap_queue_status kvm_s390_ap_rapq(struct kvm *kvm, ap_qid_t qid)
{
	struct ap_guest_args a = { .insn = GUEST_RAPQ, .qid = qid };

	return ap_guest_exec(kvm, &a);
}

struct ap_queue_status kvm_s390_ap_zapq(struct kvm *kvm, ap_qid_t qid)
{
	struct ap_guest_args a = { .insn = GUEST_ZAPQ, .qid = qid };

	return ap_guest_exec(kvm, &a);
}

/* A set_bit() mask into the AP bit order of ap_config_info. */
static void mask_to_ap_order(const unsigned long *kvm_mask, unsigned long *ap)
{
	memset(ap, 0, AP_MASK_LONGS * sizeof(*ap));
	for (uint64_t n = find_next_bit(kvm_mask, KVM_S390_AP_BITS, 0); n < KVM_S390_AP_BITS;
	     n = find_next_bit(kvm_mask, KVM_S390_AP_BITS, n + 1))
		set_bit_inv((unsigned int)n, ap);
}

int kvm_s390_ap_qci(struct kvm *kvm, struct ap_config_info *info)
{
	unsigned long apm[KVM_S390_AP_LONGS], aqm[KVM_S390_AP_LONGS], adm[KVM_S390_AP_LONGS];
	struct ap_machine *m = kvm_ap_machine(kvm);

	if (!m)
		return -EOPNOTSUPP;
	ap_qci(m, info);
	kvm_s390_crypto_get_masks(kvm, apm, aqm, adm);
	mask_to_ap_order(apm, info->apm);
	mask_to_ap_order(aqm, info->aqm);
	mask_to_ap_order(adm, info->adm);
	return 0;
}

/* ---- the intercepted PQAP(AQIC) ----------------------------------------------------------- */

#define PQAP_FC_AQIC	0x03
#define PQAP_GR1_IR	(1ull << (63 - 16))	/* IBM bit 16 of GR1 */

static bool kvm_s390_pqap_hooked(struct kvm *kvm)
{
	struct kvm_s390_crypto *crypto = &kvm->arch.crypto;
	bool hooked;

	uvf_read_lock(&crypto->pqap_hook_rwsem);
	hooked = crypto->pqap_hook != NULL;
	uvf_rw_unlock(&crypto->pqap_hook_rwsem);
	return hooked;
}

int kvm_s390_ap_aqic(struct kvm *kvm, ap_qid_t qid, bool ir, uint8_t isc, uint64_t nib,
		     struct ap_queue_status *st)
{
	struct kvm_s390_pqap_regs regs = {
		.gprs = { ((uint64_t)PQAP_FC_AQIC << 24) | (qid & 0xffff),
			  (ir ? PQAP_GR1_IR : 0) | (isc & 0x07), nib },
	};
	struct ap_machine *m = kvm_ap_machine(kvm);
	int ret;

	if (!m)
		return -EOPNOTSUPP;
	/* facility 65 not available to the guest: specification exception */
	if (!ap_interrupts_available(m))
		return PGM_SPECIFICATION;
	ret = kvm_s390_handle_pqap(kvm, &regs);
	if (ret == -EOPNOTSUPP && !kvm_s390_pqap_hooked(kvm)) {
		/* No driver registered a hook: no queues (handle_pqap). */
		*st = rc_status(AP_RESPONSE_Q_NOT_AVAIL);
		return 0;
	}
	if (ret)
		return ret;
	*st = ap_queue_status_from_value((uint32_t)regs.gprs[1]);
	return 0;
}

/* ---- KVM_S390_UVFIO_AP ------------------------------------------------------------------ */

static uint32_t guest_cc(struct ap_queue_status *st)
{
	if (st->response_code == AP_RESPONSE_PARTIAL) {
		/* cc 1: more of the reply to come; the status itself is normal */
		st->response_code = AP_RESPONSE_NORMAL;
		return 1;
	}
	return st->response_code ? 3 : 0;
}

static void mask_to_bytes(const unsigned long *ap, uint8_t out[32])
{
	for (unsigned int i = 0; i < 32; i++)
		out[i] = (uint8_t)(ap[i / 8] >> (56 - 8 * (i % 8)));
}

static long uvfio_ap_qci(struct kvm *kvm, struct uvf_caller *c, struct kvm_s390_uvfio_ap *op)
{
	struct kvm_s390_uvfio_ap_qci q = { 0 };
	struct ap_config_info info;

	if (op->len < sizeof(q))
		return -EINVAL;
	if (kvm_s390_ap_qci(kvm, &info))
		return -EOPNOTSUPP;
	q.flags = (uint8_t)((info.apsc ? 0x80 : 0) | (info.apxa ? 0x40 : 0) |
			    (info.qact ? 0x20 : 0) | (info.rc8a ? 0x10 : 0) | (info.apsb ? 0x08 : 0));
	q.na = info.na;
	q.nd = info.nd;
	mask_to_bytes(info.apm, q.apm);
	mask_to_bytes(info.aqm, q.aqm);
	mask_to_bytes(info.adm, q.adm);
	op->cc = 0;
	return copy_to_user(c, op->addr, &q, sizeof(q)) ? -EFAULT : 0;
}

static long uvfio_ap_nqap(struct kvm *kvm, struct uvf_caller *c, struct kvm_s390_uvfio_ap *op,
			  struct ap_queue_status *st)
{
	void *msg;

	if (op->len > KVM_S390_AP_MAX_BUF)
		return -EINVAL;
	msg = malloc(op->len ? op->len : 1);
	if (!msg)
		return -ENOMEM;
	if (copy_from_user(c, msg, op->addr, op->len)) {
		free(msg);
		return -EFAULT;
	}
	*st = kvm_s390_ap_nqap(kvm, op->apqn, op->psmid, msg, op->len);
	explicit_bzero(msg, op->len);	/* key material */
	free(msg);
	return 0;
}

/* The buffer is checked writable first: a reply dequeued is not given back. */
static long uvfio_ap_dqap(struct kvm *kvm, struct uvf_caller *c, struct kvm_s390_uvfio_ap *op,
			  struct ap_queue_status *st)
{
	size_t len = 0, reslen = 0;
	uint64_t psmid = 0;
	long ret = 0;
	void *buf;

	if (op->len > KVM_S390_AP_MAX_BUF)
		return -EINVAL;
	if (clear_user(c, op->addr, op->len))
		return -EFAULT;
	buf = malloc(op->len ? op->len : 1);
	if (!buf)
		return -ENOMEM;
	*st = kvm_s390_ap_dqap(kvm, op->apqn, &psmid, buf, op->len, &len, &reslen);
	op->psmid = psmid;
	if (len && copy_to_user(c, op->addr, buf, len))
		ret = -EFAULT;
	op->len = len;
	op->reslen = reslen;
	explicit_bzero(buf, len);
	free(buf);
	return ret;
}

static long uvfio_ap_tpi(struct kvm *kvm, struct kvm_s390_uvfio_ap *op)
{
	struct kvm_s390_ap_irq irq;

	op->cc = (uint32_t)kvm_s390_ap_tpi(kvm, op->timeout_ms, &irq);
	if (op->cc) {
		op->isc = irq.isc;
		op->apqn = (uint16_t)irq.qid;
		op->nib = irq.nib;
	}
	return 0;
}

static long uvfio_ap_exec(struct kvm *kvm, struct uvf_caller *c, struct kvm_s390_uvfio_ap *op)
{
	struct ap_queue_status st = { 0 };
	struct ap_tapq_hwinfo hw;
	long ret = 0;

	switch (op->insn) {
	case KVM_S390_UVFIO_AP_TAPQ:
		st = kvm_s390_ap_tapq(kvm, op->apqn, &hw);
		op->info = ap_hwinfo_value(&hw);
		break;
	case KVM_S390_UVFIO_AP_NQAP:
		ret = uvfio_ap_nqap(kvm, c, op, &st);
		break;
	case KVM_S390_UVFIO_AP_DQAP:
		ret = uvfio_ap_dqap(kvm, c, op, &st);
		break;
	case KVM_S390_UVFIO_AP_RAPQ:
		st = kvm_s390_ap_rapq(kvm, op->apqn);
		break;
	case KVM_S390_UVFIO_AP_ZAPQ:
		st = kvm_s390_ap_zapq(kvm, op->apqn);
		break;
	case KVM_S390_UVFIO_AP_AQIC:
		ret = kvm_s390_ap_aqic(kvm, op->apqn, op->ir, op->isc, op->nib, &st);
		if (ret > 0) {
			op->pgm = (uint32_t)ret;
			return 0;
		}
		break;
	default:
		return -EINVAL;
	}
	if (ret)
		return ret;
	op->cc = guest_cc(&st);
	op->status = ap_queue_status_value(st);
	return 0;
}

long kvm_s390_ap_ioctl(struct kvm *kvm, struct uvf_caller *c, uint64_t arg)
{
	struct kvm_s390_uvfio_ap op;
	long ret;

	if (copy_from_user(c, &op, arg, sizeof(op)))
		return -EFAULT;
	if (!kvm_ap_machine(kvm))
		return -EOPNOTSUPP;
	op.cc = op.pgm = op.status = 0;
	if (op.insn == KVM_S390_UVFIO_AP_QCI)
		ret = uvfio_ap_qci(kvm, c, &op);
	else if (op.insn == KVM_S390_UVFIO_AP_TPI)
		ret = uvfio_ap_tpi(kvm, &op);
	else
		ret = uvfio_ap_exec(kvm, c, &op);
	if (ret)
		return ret;
	return copy_to_user(c, arg, &op, sizeof(op)) ? -EFAULT : 0;
}
