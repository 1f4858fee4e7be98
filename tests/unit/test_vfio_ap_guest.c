// SPDX-License-Identifier: MIT
/*
 * The guest side of vfio_ap: a VM with an mdev attached executes AP
 * instructions as the SIE interprets them, through the C API and through
 * KVM_S390_UVFIO_AP on the VM fd as a simulated guest process does.
 * Real RSA requests (type 50) reach the machine through the guest's APCB;
 * an APQN outside it answers 0x01.  Hot plug of a domain shows in the
 * guest's TAPQ at once; unplug takes the queue away and zeroizes what the
 * guest left pending (the host can never dequeue it); a host configuration
 * change removing an adapter takes it from the guest, re-adding it gives it
 * back after the scan; filtering an adapter out resets its queues;
 * VFIO_DEVICE_RESET zeroizes; PQAP(AQIC) enables and disables
 * interruptions with every refusal of 5.8, and an IOAS unmap of the NIB
 * turns them off.
 */
#include "harness.h"
#include <unistd.h>
#include "vfio_mock.h"
#include "iommufd_helpers.h"
#include "ap_test.h"
#include "ap_rsa.h"
#include "vfio_ap_test.h"

#define GUEST_RAM	0x100000ull	/* where the guest's memory is mapped */
#define GUEST_RAM_SIZE	(16 * PG)
#define NIB		(GUEST_RAM + 0x10)

static const ap_qid_t Q47 = AP_MKQID(4, 7), Q48 = AP_MKQID(4, 8);
static const ap_qid_t Q57 = AP_MKQID(5, 7), Q58 = AP_MKQID(5, 8);

static struct rsa_key key;

struct fixture {
	struct uvf_host *h;
	struct vap_vm v;
	void *ram;
};

static struct ap_machine *mach(struct uvf_host *h)
{
	return ap_bus_machine(ap_bus_get(h));
}

static int group_setup(void **state)
{
	rsa_keygen(&key, 1024, 77);
	return 0;
}

/* The default host, an mdev with 'adapters' x 'domains', and a VM it is
 * opened for (group path) with guest memory mapped for DMA. */
static struct fixture *fixture_new(const char *adapters, const char *domains)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char one[8];

	f->h = test_host_default();
	for (unsigned int c = 4; c <= 5; c++)
		for (unsigned int d = 7; d <= 8; d++)
			vap_wait_settled(f->h, c, d);
	assert_int_equal(vap_create(f->h, VAP_UUID1), 36);
	for (const char *a = adapters; *a; a += a[1] ? 2 : 1) {
		snprintf(one, sizeof(one), "%c", *a);
		assert_errno(vap_store(f->h, VAP_UUID1, "assign_adapter", one), 1);
	}
	for (const char *d = domains; *d; d += d[1] ? 2 : 1) {
		snprintf(one, sizeof(one), "%c", *d);
		assert_errno(vap_store(f->h, VAP_UUID1, "assign_domain", one), 1);
	}
	vap_vm_new(f->h, &f->v);
	assert_true(vap_open_group(f->h, &f->v, VAP_UUID1, true) >= 0);
	f->ram = test_mem(GUEST_RAM_SIZE, PROT_READ | PROT_WRITE);
	assert_errno(dma_map(f->v.p, f->v.cfd, (uintptr_t)f->ram, GUEST_RAM, GUEST_RAM_SIZE,
			     DMA_RW), 0);
	return f;
}

static int setup(void **state)
{
	*state = fixture_new("4", "7");
	return 0;
}

static int setup_2x2(void **state)
{
	*state = fixture_new("4,5", "7,8");
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ap_machine_set_latency(mach(f->h), 0);
	if (f->v.p)
		vap_vm_free(&f->v);
	munmap(f->ram, GUEST_RAM_SIZE);
	host_free(f->h);
	free(f);
	return 0;
}

/* ---- the guest's instructions -------------------------------------------------------------- */

static uint8_t guest_rc(struct kvm *kvm, ap_qid_t qid)
{
	return kvm_s390_ap_tapq(kvm, qid, NULL).response_code;
}

static void guest_wait_normal(struct kvm *kvm, ap_qid_t qid)
{
	assert_true(AP_WAIT_FOR(guest_rc(kvm, qid) == AP_RESPONSE_NORMAL));
}

/* DQAP until a reply comes; its length. */
static size_t guest_dqap_wait(struct kvm *kvm, ap_qid_t qid, uint64_t *psmid, uint8_t *buf,
			      size_t size)
{
	struct ap_queue_status st;
	size_t len = 0;

	assert_true(AP_WAIT_FOR((st = kvm_s390_ap_dqap(kvm, qid, psmid, buf, size, &len, NULL))
				.response_code != AP_RESPONSE_NO_PENDING_REPLY));
	assert_int_equal(st.response_code, AP_RESPONSE_NORMAL);
	return len;
}

/* One type 50 request, its type 80 answer (right-justified) into out. */
static void guest_exchange(struct kvm *kvm, ap_qid_t qid, const uint8_t *req, size_t reqlen,
			   uint8_t *out, size_t len)
{
	const struct type80_hdr *t80;
	uint8_t reply[1024];
	uint64_t psmid = 0;
	size_t rlen;

	assert_int_equal(kvm_s390_ap_nqap(kvm, qid, 0x6e000000 + reqlen, req, reqlen)
			 .response_code, AP_RESPONSE_NORMAL);
	rlen = guest_dqap_wait(kvm, qid, &psmid, reply, sizeof(reply));
	assert_int_equal(psmid, 0x6e000000 + reqlen);
	t80 = (const struct type80_hdr *)reply;
	assert_int_equal(t80->type, TYPE80_RSP_CODE);
	assert_int_equal(rlen, sizeof(*t80) + type50_field(len));
	memcpy(out, reply + rlen - len, len);
}

static void test_guest_rsa(void **state)
{
	struct fixture *f = *state;
	struct kvm *kvm = f->v.kvm;
	struct ap_tapq_hwinfo hw;
	struct ap_queue_status st;
	uint8_t req[2048], out[512];

	st = kvm_s390_ap_tapq(kvm, Q47, &hw);
	assert_int_equal(st.response_code, AP_RESPONSE_NORMAL);
	assert_true(st.queue_empty);
	assert_false(st.irq_enabled);	/* reset at attach */
	assert_true(hw.accel);
	assert_int_equal(hw.at, AP_DEVICE_TYPE_CEX8);
	/* outside the APCB: not there, whatever the host has */
	assert_int_equal(guest_rc(kvm, Q48), AP_RESPONSE_Q_NOT_AVAIL);
	assert_int_equal(guest_rc(kvm, Q57), AP_RESPONSE_Q_NOT_AVAIL);
	assert_int_equal(guest_rc(kvm, AP_MKQID(0, 4)), AP_RESPONSE_Q_NOT_AVAIL);
	assert_int_equal(kvm_s390_ap_nqap(kvm, Q48, 1, req, 16).response_code,
			 AP_RESPONSE_Q_NOT_AVAIL);
	assert_int_equal(kvm_s390_ap_zapq(kvm, AP_MKQID(0, 4)).response_code,
			 AP_RESPONSE_Q_NOT_AVAIL);

	guest_exchange(kvm, Q47, req, build_meb(req, key.e, key.n, key.msg, key.len), out, key.len);
	assert_memory_equal(out, key.enc, key.len);
	guest_exchange(kvm, Q47, req, build_meb(req, key.d, key.n, key.enc, key.len), out, key.len);
	assert_memory_equal(out, key.msg, key.len);
	guest_exchange(kvm, Q47, req, build_crb(req, &key, key.enc), out, key.len);
	assert_memory_equal(out, key.msg, key.len);
	/* RAPQ/ZAPQ reach the queue */
	assert_int_equal(kvm_s390_ap_rapq(kvm, Q47).response_code, AP_RESPONSE_NORMAL);
	guest_wait_normal(kvm, Q47);
	assert_int_equal(kvm_s390_ap_zapq(kvm, Q47).response_code, AP_RESPONSE_NORMAL);
	guest_wait_normal(kvm, Q47);
	vap_assert_invariants(f->h);
}

/* The ioctl a simulated guest process uses. */
static long guest_ioctl(struct fixture *f, struct kvm_s390_uvfio_ap *op)
{
	return proc_ioctl(f->v.p, f->v.vm, KVM_S390_UVFIO_AP, op);
}

static void test_guest_ioctl(void **state)
{
	struct fixture *f = *state;
	struct kvm_s390_uvfio_ap op = { .insn = KVM_S390_UVFIO_AP_TAPQ, .apqn = Q47 };
	struct kvm_s390_uvfio_ap_qci qci;
	uint8_t req[2048], reply[1024], *m;
	size_t reqlen = build_meb(req, key.e, key.n, key.msg, key.len);
	uint64_t psmid = 0;

	assert_errno(guest_ioctl(f, &op), 0);
	assert_int_equal(op.cc, 0);
	assert_int_equal(op.status >> 16 & 0xff, AP_RESPONSE_NORMAL);
	assert_int_equal(op.info >> 24 & 0xff, AP_DEVICE_TYPE_CEX8);
	op = (struct kvm_s390_uvfio_ap){ .insn = KVM_S390_UVFIO_AP_TAPQ, .apqn = Q48 };
	assert_errno(guest_ioctl(f, &op), 0);
	assert_int_equal(op.cc, 3);
	assert_int_equal(op.status >> 16 & 0xff, AP_RESPONSE_Q_NOT_AVAIL);

	/* QCI: the APCB as the configuration */
	op = (struct kvm_s390_uvfio_ap){ .insn = KVM_S390_UVFIO_AP_QCI, .addr = (uintptr_t)&qci,
					 .len = sizeof(qci) };
	assert_errno(guest_ioctl(f, &op), 0);
	assert_true(qci.flags & 0x40);		/* APXA */
	assert_int_equal(qci.na, 255);
	assert_int_equal(qci.apm[0], 0x08);	/* adapter 4 */
	assert_int_equal(qci.aqm[0], 0x01);	/* domain 7 */
	for (int i = 1; i < 32; i++)
		assert_int_equal(qci.apm[i] | qci.aqm[i] | qci.adm[i], 0);
	op.len = sizeof(qci) - 1;
	assert_errno(guest_ioctl(f, &op), -EINVAL);

	/* an RSA request, and its reply received in two parts (cc 1) */
	op = (struct kvm_s390_uvfio_ap){ .insn = KVM_S390_UVFIO_AP_NQAP, .apqn = Q47,
					 .psmid = 0x1234, .addr = (uintptr_t)req, .len = reqlen };
	assert_errno(guest_ioctl(f, &op), 0);
	assert_int_equal(op.cc, 0);
	do {
		op = (struct kvm_s390_uvfio_ap){ .insn = KVM_S390_UVFIO_AP_DQAP, .apqn = Q47,
						 .addr = (uintptr_t)reply, .len = 64 };
		assert_errno(guest_ioctl(f, &op), 0);
	} while (op.cc == 3 && (op.status >> 16 & 0xff) == AP_RESPONSE_NO_PENDING_REPLY &&
		 (ap_sleep_ms(1), true));
	assert_int_equal(op.cc, 1);
	assert_int_equal(op.len, 64);
	assert_int_equal(op.reslen, 16 + 128 - 64);
	op = (struct kvm_s390_uvfio_ap){ .insn = KVM_S390_UVFIO_AP_DQAP, .apqn = Q47,
					 .addr = (uintptr_t)reply + 64, .len = 512 };
	assert_errno(guest_ioctl(f, &op), 0);
	assert_int_equal(op.cc, 0);
	assert_int_equal(op.len, 16 + 128 - 64);
	assert_int_equal(op.psmid, 0x1234);
	m = reply + 16 + 128 - key.len;
	assert_memory_equal(m, key.enc, key.len);

	/* malformed: the instruction is not executed */
	op = (struct kvm_s390_uvfio_ap){ .insn = 99, .apqn = Q47 };
	assert_errno(guest_ioctl(f, &op), -EINVAL);
	assert_errno(proc_ioctl(f->v.p, f->v.vm, KVM_S390_UVFIO_AP, (void *)8), -EFAULT);
	op = (struct kvm_s390_uvfio_ap){ .insn = KVM_S390_UVFIO_AP_NQAP, .apqn = Q47,
					 .addr = 8, .len = 64 };
	assert_errno(guest_ioctl(f, &op), -EFAULT);
	op.addr = (uintptr_t)req;
	op.len = 64 * 1024 + 1;
	assert_errno(guest_ioctl(f, &op), -EINVAL);
	/* a DQAP into a bad buffer loses no reply */
	op = (struct kvm_s390_uvfio_ap){ .insn = KVM_S390_UVFIO_AP_NQAP, .apqn = Q47, .psmid = 7,
					 .addr = (uintptr_t)req, .len = reqlen };
	assert_errno(guest_ioctl(f, &op), 0);
	ap_sleep_ms(20);
	op = (struct kvm_s390_uvfio_ap){ .insn = KVM_S390_UVFIO_AP_DQAP, .apqn = Q47, .addr = 8,
					 .len = 512 };
	assert_errno(guest_ioctl(f, &op), -EFAULT);
	assert_int_equal(guest_dqap_wait(f->v.kvm, Q47, &psmid, reply, sizeof(reply)), 144);
	assert_int_equal(psmid, 7);
}

/* ---- hot plug and unplug ------------------------------------------------------------------ */

static void test_hotplug_domain(void **state)
{
	struct fixture *f = *state;
	struct kvm *kvm = f->v.kvm;
	struct ap_machine *m = mach(f->h);
	uint8_t req[2048], buf[512];
	size_t reqlen = build_meb(req, key.e, key.n, key.msg, key.len), len;
	uint64_t psmid;
	struct ap_queue_status st;

	assert_int_equal(guest_rc(kvm, Q48), AP_RESPONSE_Q_NOT_AVAIL);
	/* an admin assigns domain 8: the running guest sees it */
	assert_errno(vap_store(f->h, VAP_UUID1, "assign_domain", "8"), 1);
	assert_int_equal(guest_rc(kvm, Q48), AP_RESPONSE_NORMAL);
	guest_exchange(kvm, Q48, req, reqlen, buf, key.len);
	assert_memory_equal(buf, key.enc, key.len);
	vap_assert_invariants(f->h);

	/* a request left pending when it is unassigned is zeroized */
	ap_machine_set_latency(m, 300000);
	assert_int_equal(kvm_s390_ap_nqap(kvm, Q48, 0xdead, req, reqlen).response_code,
			 AP_RESPONSE_NORMAL);
	assert_errno(vap_store(f->h, VAP_UUID1, "unassign_domain", "8"), 1);
	assert_int_equal(guest_rc(kvm, Q48), AP_RESPONSE_Q_NOT_AVAIL);
	assert_int_equal(kvm_s390_ap_dqap(kvm, Q48, &psmid, buf, sizeof(buf), &len, NULL)
			 .response_code, AP_RESPONSE_Q_NOT_AVAIL);
	assert_int_equal(guest_rc(kvm, Q47), AP_RESPONSE_NORMAL);
	ap_sleep_ms(400);
	/* the host finds nothing: never answered, never dequeued */
	st = ap_dqap(m, Q48, &psmid, buf, sizeof(buf), &len, NULL);
	assert_int_equal(st.response_code, AP_RESPONSE_NO_PENDING_REPLY);
	assert_true(st.queue_empty);
	assert_string_equal(vap_queue_status(f->h, 4, 8), "unassigned");
	vap_assert_invariants(f->h);
}

static void test_host_config_change(void **state)
{
	struct fixture *f = *state;
	struct kvm *kvm = f->v.kvm;
	struct ap_config_info qci;
	char buf[256];

	assert_int_equal(guest_rc(kvm, Q57), AP_RESPONSE_NORMAL);
	/* the HMC takes adapter 5 from the host's configuration */
	assert_errno(ap_host_config_change(f->h, AP_CONFIG_ADAPTER_REMOVE, 5), 1);
	assert_int_equal(guest_rc(kvm, Q57), AP_RESPONSE_Q_NOT_AVAIL);
	assert_int_equal(guest_rc(kvm, Q58), AP_RESPONSE_Q_NOT_AVAIL);
	assert_int_equal(guest_rc(kvm, Q47), AP_RESPONSE_NORMAL);
	assert_errno(kvm_s390_ap_qci(kvm, &qci), 0);
	assert_false(test_bit_inv(5, qci.apm));
	assert_true(test_bit_inv(4, qci.apm));
	assert_false(ap_exists(f->h, "/devices/ap/card05"));
	assert_string_equal(vap_show(f->h, VAP_UUID1, "guest_matrix", buf, sizeof(buf)),
			    "04.0007\n04.0008\n");
	vap_assert_invariants(f->h);
	/* and gives it back: plugged once the scan has probed its queues */
	assert_errno(ap_host_config_change(f->h, AP_CONFIG_ADAPTER_ADD, 5), 1);
	assert_string_equal(vap_show(f->h, VAP_UUID1, "guest_matrix", buf, sizeof(buf)),
			    "04.0007\n04.0008\n05.0007\n05.0008\n");
	assert_int_not_equal(guest_rc(kvm, Q57), AP_RESPONSE_Q_NOT_AVAIL);
	guest_wait_normal(kvm, Q57);
	assert_errno(kvm_s390_ap_qci(kvm, &qci), 0);
	assert_true(test_bit_inv(5, qci.apm));
	vap_assert_invariants(f->h);
	/* a domain too */
	assert_errno(ap_host_config_change(f->h, AP_CONFIG_DOMAIN_REMOVE, 8), 1);
	assert_int_equal(guest_rc(kvm, Q58), AP_RESPONSE_Q_NOT_AVAIL);
	assert_int_equal(guest_rc(kvm, Q57), AP_RESPONSE_NORMAL);
	assert_errno(ap_host_config_change(f->h, AP_CONFIG_DOMAIN_ADD, 8), 1);
	guest_wait_normal(kvm, Q58);
	vap_assert_invariants(f->h);
}

/* Filtering an adapter out resets its queues the guest had. */
static void test_filtered_adapter_reset(void **state)
{
	struct fixture *f = *state;
	struct ap_machine *m = mach(f->h);
	uint8_t req[2048], buf[512];
	size_t len, reqlen = build_meb(req, key.e, key.n, key.msg, key.len);
	uint64_t psmid;

	ap_machine_set_latency(m, 300000);
	assert_int_equal(kvm_s390_ap_nqap(f->v.kvm, Q57, 1, req, reqlen).response_code,
			 AP_RESPONSE_NORMAL);
	assert_errno(ap_write(f->h, "/bus/ap/drivers/vfio_ap/unbind", "05.0008"), 7);
	assert_int_equal(guest_rc(f->v.kvm, Q57), AP_RESPONSE_Q_NOT_AVAIL);
	assert_int_equal(guest_rc(f->v.kvm, Q47), AP_RESPONSE_NORMAL);
	ap_sleep_ms(400);
	assert_int_equal(ap_dqap(m, Q57, &psmid, buf, sizeof(buf), &len, NULL).response_code,
			 AP_RESPONSE_NO_PENDING_REPLY);
	vap_assert_invariants(f->h);
}

/* VFIO_DEVICE_RESET zeroizes every queue of the mdev. */
static void test_device_reset(void **state)
{
	struct fixture *f = *state;
	uint8_t req[2048], buf[512];
	size_t len, reqlen = build_meb(req, key.e, key.n, key.msg, key.len);
	uint64_t psmid;

	ap_machine_set_latency(mach(f->h), 200000);
	assert_int_equal(kvm_s390_ap_nqap(f->v.kvm, Q47, 1, req, reqlen).response_code,
			 AP_RESPONSE_NORMAL);
	assert_errno(proc_ioctl_val(f->v.p, f->v.dfd, VFIO_DEVICE_RESET, 0), 0);
	ap_sleep_ms(300);
	assert_int_equal(kvm_s390_ap_dqap(f->v.kvm, Q47, &psmid, buf, sizeof(buf), &len, NULL)
			 .response_code, AP_RESPONSE_NO_PENDING_REPLY);
}

/* ---- interruptions (PQAP(AQIC)) ------------------------------------------------------------- */

static uint8_t aqic(struct kvm *kvm, ap_qid_t qid, bool ir, uint8_t isc, uint64_t nib)
{
	struct ap_queue_status st = { .response_code = 0xee };

	assert_errno(kvm_s390_ap_aqic(kvm, qid, ir, isc, nib, &st), 0);
	return st.response_code;
}

static void test_aqic(void **state)
{
	struct fixture *f = *state;
	struct kvm *kvm = f->v.kvm;
	struct kvm_s390_ap_irq irq;
	struct ap_queue_status st;
	uint8_t req[2048], buf[512];
	size_t reqlen = build_meb(req, key.e, key.n, key.msg, key.len);
	struct vap_vm other;

	/* refused: no NIB, a NIB outside guest memory, a queue not the mdev's */
	assert_int_equal(aqic(kvm, Q47, true, 3, 0), AP_RESPONSE_INVALID_ADDRESS);
	assert_int_equal(aqic(kvm, Q47, true, 3, 0x9000000), AP_RESPONSE_INVALID_ADDRESS);
	assert_int_equal(aqic(kvm, Q48, true, 3, NIB), AP_RESPONSE_Q_NOT_AVAIL);
	assert_int_equal(aqic(kvm, AP_MKQID(0, 4), true, 3, NIB), AP_RESPONSE_Q_NOT_AVAIL);
	assert_false(kvm_s390_ap_tapq(kvm, Q47, NULL).irq_enabled);

	assert_int_equal(aqic(kvm, Q47, true, 3, NIB), AP_RESPONSE_NORMAL);
	st = kvm_s390_ap_tapq(kvm, Q47, NULL);
	assert_true(st.irq_enabled);
	assert_int_equal(aqic(kvm, Q47, true, 3, NIB), AP_RESPONSE_OTHERWISE_CHANGED);
	/* a reply made ready interrupts the guest: its ISC, queue and NIB */
	assert_int_equal(kvm_s390_ap_tpi(kvm, 0, &irq), 0);
	assert_int_equal(kvm_s390_ap_nqap(kvm, Q47, 5, req, reqlen).response_code,
			 AP_RESPONSE_NORMAL);
	assert_int_equal(kvm_s390_ap_tpi(kvm, 5000, &irq), 1);
	assert_int_equal(irq.isc, 3);
	assert_int_equal(irq.qid, Q47);
	assert_int_equal(irq.nib, NIB);
	assert_int_equal(guest_dqap_wait(kvm, Q47, &(uint64_t){ 0 }, buf, sizeof(buf)), 144);

	/* disabled: no more interruptions */
	assert_int_equal(aqic(kvm, Q47, false, 0, 0), AP_RESPONSE_NORMAL);
	assert_false(kvm_s390_ap_tapq(kvm, Q47, NULL).irq_enabled);
	assert_int_equal(aqic(kvm, Q47, false, 0, 0), AP_RESPONSE_OTHERWISE_CHANGED);
	assert_int_equal(kvm_s390_ap_nqap(kvm, Q47, 6, req, reqlen).response_code,
			 AP_RESPONSE_NORMAL);
	guest_dqap_wait(kvm, Q47, &(uint64_t){ 0 }, buf, sizeof(buf));
	assert_int_equal(kvm_s390_ap_tpi(kvm, 50, &irq), 0);

	/* enabled again; a reset turns interruptions off */
	assert_int_equal(aqic(kvm, Q47, true, 2, NIB + 1), AP_RESPONSE_NORMAL);
	assert_errno(proc_ioctl_val(f->v.p, f->v.dfd, VFIO_DEVICE_RESET, 0), 0);
	assert_false(kvm_s390_ap_tapq(kvm, Q47, NULL).irq_enabled);
	assert_int_equal(aqic(kvm, Q47, true, 2, NIB + 1), AP_RESPONSE_NORMAL);

	/* a VM without an mdev has no hook: 0x01 */
	vap_vm_new(f->h, &other);
	assert_int_equal(aqic(other.kvm, Q47, true, 3, NIB), AP_RESPONSE_Q_NOT_AVAIL);
	assert_int_equal(guest_rc(other.kvm, Q47), AP_RESPONSE_Q_NOT_AVAIL);
	vap_vm_free(&other);
	/* closing gives the ISC and the NIB back: the VM goes without warnings */
}

/* The ioctl carries AQIC and TPI too. */
static void test_aqic_ioctl(void **state)
{
	struct fixture *f = *state;
	struct kvm_s390_uvfio_ap op = { .insn = KVM_S390_UVFIO_AP_AQIC, .apqn = Q47, .ir = 1,
					.isc = 4, .nib = NIB };
	uint8_t req[2048], buf[512];
	size_t reqlen = build_meb(req, key.e, key.n, key.msg, key.len);

	assert_errno(guest_ioctl(f, &op), 0);
	assert_int_equal(op.cc, 0);
	assert_int_equal(op.pgm, 0);
	assert_true(op.status & 0x01000000);	/* I */
	/* enabled already: 0x07; without a NIB the NIB is refused first: 0x06 */
	assert_errno(guest_ioctl(f, &op), 0);
	assert_int_equal(op.cc, 3);
	assert_int_equal(op.status >> 16 & 0xff, AP_RESPONSE_OTHERWISE_CHANGED);
	op.nib = 0;
	assert_errno(guest_ioctl(f, &op), 0);
	assert_int_equal(op.status >> 16 & 0xff, AP_RESPONSE_INVALID_ADDRESS);
	assert_int_equal(kvm_s390_ap_nqap(f->v.kvm, Q47, 9, req, reqlen).response_code,
			 AP_RESPONSE_NORMAL);
	op = (struct kvm_s390_uvfio_ap){ .insn = KVM_S390_UVFIO_AP_TPI, .timeout_ms = 5000 };
	assert_errno(guest_ioctl(f, &op), 0);
	assert_int_equal(op.cc, 1);
	assert_int_equal(op.isc, 4);
	assert_int_equal(op.apqn, Q47);
	assert_int_equal(op.nib, NIB);
	guest_dqap_wait(f->v.kvm, Q47, &(uint64_t){ 0 }, buf, sizeof(buf));
	op = (struct kvm_s390_uvfio_ap){ .insn = KVM_S390_UVFIO_AP_TPI, .timeout_ms = 10 };
	assert_errno(guest_ioctl(f, &op), 0);
	assert_int_equal(op.cc, 0);
}

/* Through iommufd the NIB is pinned; unmapping it turns interruptions off. */
static void test_aqic_iommufd_unmap(void **state)
{
	struct uvf_host *h = test_host_default();
	void *ram = shared_buf(BUF_SIZE);
	struct vap_vm v;

	vap_wait_settled(h, 4, 7);
	assert_int_equal(vap_create(h, VAP_UUID1), 36);
	assert_errno(vap_store(h, VAP_UUID1, "assign_adapter", "4"), 1);
	assert_errno(vap_store(h, VAP_UUID1, "assign_domain", "7"), 1);
	vap_vm_new(h, &v);
	assert_errno(vap_open_cdev(h, &v, VAP_UUID1), 0);
	assert_string_equal(vap_queue_status(h, 4, 7), "in use");
	assert_errno(ioas_map_fixed(v.p, v.ifd, v.ioas, ram, BUF_SIZE, GUEST_RAM), 0);
	assert_int_equal(aqic(v.kvm, Q47, true, 3, NIB), AP_RESPONSE_NORMAL);
	assert_true(kvm_s390_ap_tapq(v.kvm, Q47, NULL).irq_enabled);
	/* the unmap asks vfio_ap to drop its pin: interruptions go off */
	assert_errno(ioas_unmap(v.p, v.ifd, v.ioas, GUEST_RAM, BUF_SIZE, NULL), 0);
	assert_false(kvm_s390_ap_tapq(v.kvm, Q47, NULL).irq_enabled);
	assert_int_equal(aqic(v.kvm, Q47, true, 3, NIB), AP_RESPONSE_INVALID_ADDRESS);
	assert_errno(ioas_map_fixed(v.p, v.ifd, v.ioas, ram, BUF_SIZE, GUEST_RAM), 0);
	assert_int_equal(aqic(v.kvm, Q47, true, 3, NIB), AP_RESPONSE_NORMAL);
	vap_assert_invariants(h);
	vap_vm_free(&v);
	munmap(ram, BUF_SIZE);
	host_free(h);
}

/* A host without AP: the guest has no AP instructions (user space's). */
static void test_no_ap_facility(void **state)
{
	struct uvf_host *h = test_host_from_json("{ \"name\": \"x86\" }");
	struct kvm_s390_uvfio_ap op = { .insn = KVM_S390_UVFIO_AP_TAPQ, .apqn = Q47 };
	struct ap_config_info qci;
	struct ap_queue_status st;
	struct vap_vm v;

	assert_false(ap_exists(h, "/devices/vfio_ap"));
	vap_vm_new(h, &v);
	assert_errno(proc_ioctl(v.p, v.vm, KVM_S390_UVFIO_AP, &op), -EOPNOTSUPP);
	assert_errno(kvm_s390_ap_qci(v.kvm, &qci), -EOPNOTSUPP);
	assert_errno(kvm_s390_ap_aqic(v.kvm, Q47, true, 1, NIB, &st), -EOPNOTSUPP);
	assert_int_equal(guest_rc(v.kvm, Q47), AP_RESPONSE_REQ_FAC_NOT_INST);
	vap_vm_free(&v);
	host_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_guest_rsa, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_ioctl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hotplug_domain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_config_change, setup_2x2, teardown),
		cmocka_unit_test_setup_teardown(test_filtered_adapter_reset, setup_2x2, teardown),
		cmocka_unit_test_setup_teardown(test_device_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aqic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aqic_ioctl, setup, teardown),
		cmocka_unit_test(test_aqic_iommufd_unmap),
		cmocka_unit_test(test_no_ap_facility),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
