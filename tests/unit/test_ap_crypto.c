// SPDX-License-Identifier: MIT
/*
 * The emulated adapters doing real work: RSA ME and CRT in the type 50 /
 * type 80 formats through the AP instructions, against known answers the
 * test computes with GMP from keys it generates (1024, 2048, 4096 bits);
 * the queue's architecture (Q_FULL at its depth, NO_PENDING_REPLY,
 * partial receives, resets that drop pending work, interruptions, the
 * refusals of APQNs outside the configuration, malformed requests); and
 * the host's /dev/z90crypt (ICARSAMODEXPO, ICARSACRT and the status
 * ioctls) through the in-process client.
 */
#include <endian.h>
#include <gmp.h>
#include <pthread.h>
#include "harness.h"
#include "ap_test.h"
#include "ap_rsa.h"
#include "core/ap/zcrypt_msgtype50.h"
#include "uapi/asm/zcrypt.h"

/* ---- instructions ---------------------------------------------------------- */

static struct ap_machine *mach(struct uvf_host *h)
{
	return ap_bus_machine(ap_bus_get(h));
}

/* TAPQ until the reset the scan started is over. */
static void wait_normal(struct ap_machine *m, ap_qid_t qid)
{
	assert_true(AP_WAIT_FOR(ap_tapq(m, qid, NULL).response_code == AP_RESPONSE_NORMAL));
}

/* DQAP until a reply comes; returns its length. */
static size_t dqap_wait(struct ap_machine *m, ap_qid_t qid, uint64_t *psmid, uint8_t *buf,
			size_t size)
{
	struct ap_queue_status st;
	size_t len = 0;

	assert_true(AP_WAIT_FOR((st = ap_dqap(m, qid, psmid, buf, size, &len, NULL))
				.response_code != AP_RESPONSE_NO_PENDING_REPLY));
	assert_int_equal(st.response_code, AP_RESPONSE_NORMAL);
	return len;
}

/* One request and its type 80 result (right-justified in out[len]). */
static void exchange(struct ap_machine *m, ap_qid_t qid, const uint8_t *req, size_t reqlen,
		     uint8_t *out, size_t len)
{
	uint8_t reply[1024];
	const struct type80_hdr *t80 = (const struct type80_hdr *)reply;
	uint64_t psmid = 0;
	size_t rlen;

	assert_int_equal(ap_nqap(m, qid, 0xfeed0000 + reqlen, req, reqlen).response_code,
			 AP_RESPONSE_NORMAL);
	rlen = dqap_wait(m, qid, &psmid, reply, sizeof(reply));
	assert_int_equal(psmid, 0xfeed0000 + reqlen);
	if (t80->type != TYPE80_RSP_CODE)
		fail_msg("reply type 0x%02x code 0x%02x", t80->type, reply[4]);
	assert_int_equal(be16toh(t80->len), rlen);
	assert_int_equal(rlen, sizeof(*t80) + type50_field(len));
	memcpy(out, reply + rlen - len, len);
}

static const ap_qid_t FREE_ACCEL = AP_MKQID(4, 7);	/* default host: vfio_ap's, in no mdev */

static void check_rsa_via_queue(unsigned int bits, unsigned long seed)
{
	struct uvf_host *h = test_host_default();
	struct ap_machine *m = mach(h);
	static struct rsa_key k;
	uint8_t req[2048], out[512];

	rsa_keygen(&k, bits, seed);
	wait_normal(m, FREE_ACCEL);
	/* encrypt with (e, n), decrypt with (d, n), decrypt with the CRT parts */
	exchange(m, FREE_ACCEL, req, build_meb(req, k.e, k.n, k.msg, k.len), out, k.len);
	assert_memory_equal(out, k.enc, k.len);
	exchange(m, FREE_ACCEL, req, build_meb(req, k.d, k.n, k.enc, k.len), out, k.len);
	assert_memory_equal(out, k.msg, k.len);
	exchange(m, FREE_ACCEL, req, build_crb(req, &k, k.enc), out, k.len);
	assert_memory_equal(out, k.msg, k.len);
	host_free(h);
}

static void test_rsa_1024(void **state)
{
	check_rsa_via_queue(1024, 1);
}

static void test_rsa_2048(void **state)
{
	check_rsa_via_queue(2048, 2);
}

static void test_rsa_4096(void **state)
{
	check_rsa_via_queue(4096, 3);
}

/* A 512-bit key in the smallest format: right-justified, zero padded. */
static void test_rsa_short_key(void **state)
{
	check_rsa_via_queue(512, 4);
}

static void test_tapq_info(void **state)
{
	struct uvf_host *h = test_host_default();
	struct ap_machine *m = mach(h);
	struct ap_tapq_hwinfo hw;
	struct ap_queue_status st;

	wait_normal(m, FREE_ACCEL);
	st = ap_tapq(m, FREE_ACCEL, &hw);
	assert_true(st.queue_empty);
	assert_false(st.replies_waiting || st.queue_full || st.irq_enabled);
	assert_true(hw.accel && hw.mex4k && hw.crt4k && hw.apxa);
	assert_false(hw.cca || hw.ep11);
	assert_int_equal(hw.at, AP_DEVICE_TYPE_CEX8);
	assert_int_equal(hw.qd, 7);
	assert_int_equal(ap_hwinfo_value(&hw) >> 32, ap_hwinfo_fac(&hw));
	assert_int_equal(ap_hwinfo_value(&hw) & 0xffffffff, (14u << 24) | (255u << 16) | 7u);
	ap_tapq(m, AP_MKQID(1, 7), &hw);
	assert_true(hw.cca && hw.apsc);
	ap_tapq(m, AP_MKQID(2, 7), &hw);
	assert_true(hw.ep11);
	/* the status word's architected encoding round-trips */
	st = (struct ap_queue_status){ .queue_empty = true, .irq_enabled = true,
				       .response_code = 0x10 };
	assert_int_equal(ap_queue_status_value(st), 0x81100000u);
	st = ap_queue_status_from_value(0x60020000u);
	assert_true(st.replies_waiting && st.queue_full);
	assert_false(st.queue_empty || st.irq_enabled);
	assert_int_equal(st.response_code, 2);
	host_free(h);
}

static void test_not_in_config(void **state)
{
	struct uvf_host *h = test_host_default();
	struct ap_machine *m = mach(h);
	static const ap_qid_t outside[] = { AP_MKQID(0, 9), AP_MKQID(6, 4), AP_MKQID(255, 255),
					    AP_MKQID(0, 0) };
	struct ap_qirq_ctrl ctrl = { .ir = true, .isc = 3 };
	uint8_t buf[16];
	uint64_t psmid;
	size_t len;

	for (size_t i = 0; i < ARRAY_SIZE(outside); i++) {
		ap_qid_t q = outside[i];

		assert_int_equal(ap_tapq(m, q, NULL).response_code, AP_RESPONSE_Q_NOT_AVAIL);
		assert_int_equal(ap_nqap(m, q, 1, buf, 8).response_code, AP_RESPONSE_Q_NOT_AVAIL);
		assert_int_equal(ap_dqap(m, q, &psmid, buf, 16, &len, NULL).response_code,
				 AP_RESPONSE_Q_NOT_AVAIL);
		assert_int_equal(ap_rapq(m, q, false).response_code, AP_RESPONSE_Q_NOT_AVAIL);
		assert_int_equal(ap_zapq(m, q, false).response_code, AP_RESPONSE_Q_NOT_AVAIL);
		assert_int_equal(ap_aqic(m, q, ctrl, 0x100).response_code,
				 AP_RESPONSE_Q_NOT_AVAIL);
	}
	/* standby and checkstop answer for every instruction too */
	assert_errno(ap_host_config_change(h, AP_CONFIG_ADAPTER_STANDBY, 4), 1);
	assert_int_equal(ap_nqap(m, FREE_ACCEL, 1, buf, 8).response_code,
			 AP_RESPONSE_DECONFIGURED);
	assert_int_equal(ap_dqap(m, FREE_ACCEL, &psmid, buf, 16, &len, NULL).response_code,
			 AP_RESPONSE_DECONFIGURED);
	assert_errno(ap_host_config_change(h, AP_CONFIG_ADAPTER_CHKSTOP, 4), 1);
	assert_int_equal(ap_rapq(m, FREE_ACCEL, false).response_code, AP_RESPONSE_CHECKSTOPPED);
	host_free(h);
}

static void test_queue_full_and_no_reply(void **state)
{
	struct uvf_host *h = test_host_default();
	struct ap_machine *m = mach(h);
	static struct rsa_key k;
	struct ap_queue_status st;
	uint8_t req[2048], reply[1024];
	uint64_t psmid;
	size_t len, rl;

	rsa_keygen(&k, 1024, 5);
	wait_normal(m, FREE_ACCEL);
	st = ap_dqap(m, FREE_ACCEL, &psmid, reply, sizeof(reply), &len, NULL);
	assert_int_equal(st.response_code, AP_RESPONSE_NO_PENDING_REPLY);
	assert_true(st.queue_empty);
	assert_int_equal(len, 0);
	rl = build_meb(req, k.e, k.n, k.msg, k.len);
	/* depth 8: entries stay taken until their replies are dequeued */
	for (int i = 0; i < 8; i++) {
		st = ap_nqap(m, FREE_ACCEL, (uint64_t)i, req, rl);
		assert_int_equal(st.response_code, AP_RESPONSE_NORMAL);
		assert_false(st.queue_empty);
	}
	assert_true(st.queue_full);
	st = ap_nqap(m, FREE_ACCEL, 99, req, rl);
	assert_int_equal(st.response_code, AP_RESPONSE_Q_FULL);
	assert_true(st.queue_full);
	/* replies come in order; one dequeued frees one entry */
	assert_int_equal(dqap_wait(m, FREE_ACCEL, &psmid, reply, sizeof(reply)), 16 + 128);
	assert_int_equal(psmid, 0);
	assert_int_equal(ap_nqap(m, FREE_ACCEL, 8, req, rl).response_code, AP_RESPONSE_NORMAL);
	for (uint64_t i = 1; i <= 8; i++) {
		dqap_wait(m, FREE_ACCEL, &psmid, reply, sizeof(reply));
		assert_int_equal(psmid, i);
	}
	st = ap_tapq(m, FREE_ACCEL, NULL);
	assert_true(st.queue_empty);
	assert_false(st.replies_waiting);
	/* too big for the adapter */
	static uint8_t big[AP_DEFAULT_MAX_MSG_SIZE + 1];

	assert_int_equal(ap_nqap(m, FREE_ACCEL, 1, big, sizeof(big)).response_code,
			 AP_RESPONSE_MESSAGE_TOO_BIG);
	host_free(h);
}

static void test_partial_dqap(void **state)
{
	struct uvf_host *h = test_host_default();
	struct ap_machine *m = mach(h);
	static struct rsa_key k;
	uint8_t req[2048], whole[1024], part[1024];
	struct ap_queue_status st;
	uint64_t psmid = 0;
	size_t len, res, rl = 0;

	rsa_keygen(&k, 1024, 6);
	wait_normal(m, FREE_ACCEL);
	for (int i = 0; i < 2; i++)
		ap_nqap(m, FREE_ACCEL, 7, req, build_meb(req, k.e, k.n, k.msg, k.len));
	rl = dqap_wait(m, FREE_ACCEL, &psmid, whole, sizeof(whole));
	assert_true(AP_WAIT_FOR(ap_tapq(m, FREE_ACCEL, NULL).replies_waiting));
	psmid = 0;
	st = ap_dqap(m, FREE_ACCEL, &psmid, part, 10, &len, &res);
	assert_int_equal(st.response_code, AP_RESPONSE_PARTIAL);
	assert_int_equal(len, 10);
	assert_int_equal(res, rl - 10);
	assert_int_equal(psmid, 0);		/* set with the last part only */
	st = ap_dqap(m, FREE_ACCEL, &psmid, part + 10, sizeof(part) - 10, &len, &res);
	assert_int_equal(st.response_code, AP_RESPONSE_NORMAL);
	assert_int_equal(len, rl - 10);
	assert_int_equal(res, 0);
	assert_int_equal(psmid, 7);
	assert_memory_equal(part, whole, rl);
	assert_true(st.queue_empty);
	host_free(h);
}

/* A request still being computed when the queue is zeroized is gone. */
static void test_zeroize_drops_pending(void **state)
{
	struct uvf_host *h = test_host_default();
	struct ap_machine *m = mach(h);
	static struct rsa_key k;
	uint8_t req[2048], reply[1024];
	struct ap_queue_status st;
	uint64_t psmid;
	size_t len;

	rsa_keygen(&k, 1024, 7);
	wait_normal(m, FREE_ACCEL);
	ap_machine_set_latency(m, 300000);	/* 300 ms per request */
	st = ap_nqap(m, FREE_ACCEL, 1, req, build_meb(req, k.e, k.n, k.msg, k.len));
	assert_int_equal(st.response_code, AP_RESPONSE_NORMAL);
	st = ap_tapq(m, FREE_ACCEL, NULL);
	assert_false(st.queue_empty);
	assert_false(st.replies_waiting);		/* pending, not answered */
	ap_machine_set_reset_delay(m, 50000);
	st = ap_zapq(m, FREE_ACCEL, false);
	assert_int_equal(st.response_code, AP_RESPONSE_NORMAL);
	assert_true(st.queue_empty);
	/* the reset is in progress for a while, then the queue is empty */
	assert_int_equal(ap_tapq(m, FREE_ACCEL, NULL).response_code,
			 AP_RESPONSE_RESET_IN_PROGRESS);
	assert_int_equal(ap_nqap(m, FREE_ACCEL, 2, req, 8).response_code,
			 AP_RESPONSE_RESET_IN_PROGRESS);
	wait_normal(m, FREE_ACCEL);
	ap_sleep_ms(400);			/* the computation has ended */
	st = ap_dqap(m, FREE_ACCEL, &psmid, reply, sizeof(reply), &len, NULL);
	assert_int_equal(st.response_code, AP_RESPONSE_NO_PENDING_REPLY);
	assert_true(st.queue_empty);
	/* an answered but undequeued reply is dropped by RAPQ as well */
	ap_machine_set_latency(m, 0);
	ap_nqap(m, FREE_ACCEL, 3, req, build_meb(req, k.e, k.n, k.msg, k.len));
	assert_true(AP_WAIT_FOR(ap_tapq(m, FREE_ACCEL, NULL).replies_waiting));
	assert_int_equal(ap_rapq(m, FREE_ACCEL, false).response_code, AP_RESPONSE_NORMAL);
	wait_normal(m, FREE_ACCEL);
	assert_int_equal(ap_dqap(m, FREE_ACCEL, &psmid, reply, sizeof(reply), &len, NULL)
				 .response_code, AP_RESPONSE_NO_PENDING_REPLY);
	/* so does the domain leaving the configuration */
	ap_nqap(m, FREE_ACCEL, 4, req, build_meb(req, k.e, k.n, k.msg, k.len));
	assert_true(AP_WAIT_FOR(ap_tapq(m, FREE_ACCEL, NULL).replies_waiting));
	assert_errno(ap_host_config_change(h, AP_CONFIG_DOMAIN_REMOVE, 7), 1);
	assert_errno(ap_host_config_change(h, AP_CONFIG_DOMAIN_ADD, 7), 1);
	wait_normal(m, FREE_ACCEL);
	assert_true(ap_tapq(m, FREE_ACCEL, NULL).queue_empty);
	host_free(h);
}

struct irq_rec {
	pthread_mutex_t lock;
	unsigned int count;
	ap_qid_t qid;
	uint8_t isc;
	uint64_t nib;
};

static void record_irq(void *priv, ap_qid_t qid, uint8_t isc, uint64_t nib)
{
	struct irq_rec *r = priv;

	pthread_mutex_lock(&r->lock);
	r->count++;
	r->qid = qid;
	r->isc = isc;
	r->nib = nib;
	pthread_mutex_unlock(&r->lock);
}

static unsigned int irq_count(struct irq_rec *r)
{
	unsigned int n;

	pthread_mutex_lock(&r->lock);
	n = r->count;
	pthread_mutex_unlock(&r->lock);
	return n;
}

static void test_aqic_interrupts(void **state)
{
	struct uvf_host *h = test_host_default();
	struct ap_machine *m = mach(h);
	struct irq_rec r = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct ap_qirq_ctrl on = { .ir = true, .isc = 6, .gisc = 3, .gisa = 0x5000 };
	struct ap_qirq_ctrl off = { .ir = false, .gisa = 0x5000 };
	static struct rsa_key k;
	uint8_t req[2048], reply[1024];
	struct ap_queue_status st;
	uint64_t psmid;

	rsa_keygen(&k, 1024, 8);
	wait_normal(m, FREE_ACCEL);
	/* no handler for this GISA yet; a zero NIB */
	assert_int_equal(ap_aqic(m, FREE_ACCEL, on, 0x8000).response_code,
			 AP_RESPONSE_INVALID_GISA);
	assert_errno(ap_airq_register(m, 0x5000, record_irq, &r), 0);
	assert_errno(ap_airq_register(m, 0x5000, record_irq, &r), -EEXIST);
	assert_int_equal(ap_aqic(m, FREE_ACCEL, on, 0).response_code,
			 AP_RESPONSE_INVALID_ADDRESS);
	st = ap_aqic(m, FREE_ACCEL, on, 0x8000);
	assert_int_equal(st.response_code, AP_RESPONSE_NORMAL);
	assert_true(st.irq_enabled);
	assert_int_equal(ap_aqic(m, FREE_ACCEL, on, 0x8000).response_code,
			 AP_RESPONSE_OTHERWISE_CHANGED);
	/* a reply interrupts with the guest ISC and the NIB */
	ap_nqap(m, FREE_ACCEL, 1, req, build_meb(req, k.e, k.n, k.msg, k.len));
	assert_true(AP_WAIT_FOR(irq_count(&r) == 1));
	assert_int_equal(r.qid, FREE_ACCEL);
	assert_int_equal(r.isc, 3);
	assert_int_equal(r.nib, 0x8000);
	dqap_wait(m, FREE_ACCEL, &psmid, reply, sizeof(reply));
	/* disabled: no more interruptions */
	st = ap_aqic(m, FREE_ACCEL, off, 0);
	assert_int_equal(st.response_code, AP_RESPONSE_NORMAL);
	assert_false(st.irq_enabled);
	assert_int_equal(ap_aqic(m, FREE_ACCEL, off, 0).response_code,
			 AP_RESPONSE_OTHERWISE_CHANGED);
	ap_nqap(m, FREE_ACCEL, 2, req, build_meb(req, k.e, k.n, k.msg, k.len));
	dqap_wait(m, FREE_ACCEL, &psmid, reply, sizeof(reply));
	assert_int_equal(irq_count(&r), 1);
	/* a reset disables them too */
	assert_int_equal(ap_aqic(m, FREE_ACCEL, on, 0x8000).response_code, AP_RESPONSE_NORMAL);
	ap_zapq(m, FREE_ACCEL, false);
	wait_normal(m, FREE_ACCEL);
	assert_false(ap_tapq(m, FREE_ACCEL, NULL).irq_enabled);
	ap_airq_unregister(m, 0x5000);
	assert_int_equal(ap_aqic(m, FREE_ACCEL, on, 0x8000).response_code,
			 AP_RESPONSE_INVALID_GISA);
	host_free(h);
}

/* A malformed request gets a type 82 reply with the code given. */
static void expect_error_reply(struct ap_machine *m, ap_qid_t qid, const uint8_t *req,
			       size_t len, uint8_t code)
{
	uint8_t reply[1024];
	const struct error_hdr *eh = (const struct error_hdr *)reply;
	uint64_t psmid;

	assert_int_equal(ap_nqap(m, qid, 5, req, len).response_code, AP_RESPONSE_NORMAL);
	assert_int_equal(dqap_wait(m, qid, &psmid, reply, sizeof(reply)), sizeof(*eh));
	assert_int_equal(eh->type, TYPE82_RSP_CODE);
	if (eh->reply_code != code)
		fail_msg("reply code 0x%02x, want 0x%02x", eh->reply_code, code);
}

static void test_malformed_requests(void **state)
{
	struct uvf_host *h = test_host_default();
	struct ap_machine *m = mach(h);
	static struct rsa_key k;
	uint8_t req[2048], bad[512];
	size_t len;

	rsa_keygen(&k, 1024, 9);
	wait_normal(m, FREE_ACCEL);
	len = build_meb(req, k.e, k.n, k.msg, k.len);
	req[1] = 0x06;				/* a type 6 message to an accelerator */
	expect_error_reply(m, FREE_ACCEL, req, len, REP82_ERROR_MESSAGE_TYPE);
	build_meb(req, k.e, k.n, k.msg, k.len);
	expect_error_reply(m, FREE_ACCEL, req, len - 1, REP82_ERROR_INVALID_MSG_LEN);
	expect_error_reply(m, FREE_ACCEL, req, 4, REP82_ERROR_INVALID_MSG_LEN);
	req[0] = 1;				/* reserved1 */
	expect_error_reply(m, FREE_ACCEL, req, len, REP82_ERROR_RESERVD_FIELD);
	build_meb(req, k.e, k.n, k.msg, k.len);
	req[9] = 0x04;				/* key block type 0x0004 */
	expect_error_reply(m, FREE_ACCEL, req, len, REP82_ERROR_FORMAT_FIELD);
	/* an even modulus; a message not below the modulus */
	memcpy(bad, k.n, k.len);
	bad[k.len - 1] &= 0xfe;
	expect_error_reply(m, FREE_ACCEL, req, build_meb(req, k.e, bad, k.msg, k.len),
			   REP82_ERROR_EVEN_MOD_IN_OPND);
	expect_error_reply(m, FREE_ACCEL, req, build_meb(req, k.e, k.n, k.n, k.len),
			   REP82_ERROR_OPERAND_INVALID);
	/* a CRT request with an even prime */
	len = build_crb(req, &k, k.enc);
	req[sizeof(struct type50_prefix) + 63] &= 0xfe;	/* p's last byte */
	expect_error_reply(m, FREE_ACCEL, req, len, REP82_ERROR_EVEN_MOD_IN_OPND);
	/* coprocessors answer type 50 with an error reply */
	wait_normal(m, AP_MKQID(1, 7));
	expect_error_reply(m, AP_MKQID(1, 7), req, build_meb(req, k.e, k.n, k.msg, k.len),
			   REP82_ERROR_MESSAGE_TYPE);
	wait_normal(m, AP_MKQID(2, 8));
	expect_error_reply(m, AP_MKQID(2, 8), req, len, REP82_ERROR_MESSAGE_TYPE);
	host_free(h);
}

/* ---- /dev/z90crypt ---------------------------------------------------------- */

static long modexpo(struct uvf_proc *p, int fd, const uint8_t *in, const uint8_t *exp,
		    const uint8_t *mod, uint32_t len, uint8_t *out, uint32_t outlen,
		    uint32_t *written)
{
	struct ica_rsa_modexpo mex = {
		.inputdata = (uint8_t *)in, .inputdatalength = len,
		.outputdata = out, .outputdatalength = outlen,
		.b_key = (uint8_t *)exp, .n_modulus = (uint8_t *)mod,
	};
	long ret = proc_ioctl(p, fd, ICARSAMODEXPO, &mex);

	if (written)
		*written = mex.outputdatalength;
	return ret;
}

static long crt(struct uvf_proc *p, int fd, struct rsa_key *k, const uint8_t *in, uint8_t *out,
		uint32_t outlen)
{
	struct ica_rsa_modexpo_crt c = {
		.inputdata = (uint8_t *)in, .inputdatalength = (uint32_t)k->len,
		.outputdata = out, .outputdatalength = outlen,
		.bp_key = k->ica_dp, .bq_key = k->dq, .np_prime = k->ica_p, .nq_prime = k->q,
		.u_mult_inv = k->ica_u,
	};

	return proc_ioctl(p, fd, ICARSACRT, &c);
}

static void test_z90crypt_rsa(void **state)
{
	static const unsigned int sizes[] = { 512, 1024, 2048, 4096 };
	struct uvf_host *h = test_host_default();
	struct uvf_proc *p = proc_new_root(h);
	int fd = proc_open(p, "/dev/z90crypt", O_RDWR);
	static struct rsa_key k;
	uint8_t out[600];
	uint32_t written;

	assert_true(fd >= 0);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		rsa_keygen(&k, sizes[i], 100 + i);
		memset(out, 0xcc, sizeof(out));
		assert_errno(modexpo(p, fd, k.msg, k.e, k.n, (uint32_t)k.len, out, sizeof(out),
				     &written), 0);
		assert_memory_equal(out, k.enc, k.len);
		assert_int_equal(out[k.len], 0xcc);	/* nothing past the length */
		assert_errno(modexpo(p, fd, k.enc, k.d, k.n, (uint32_t)k.len, out,
				     (uint32_t)k.len, NULL), 0);
		assert_memory_equal(out, k.msg, k.len);
		memset(out, 0, sizeof(out));
		assert_errno(crt(p, fd, &k, k.enc, out, sizeof(out)), 0);
		assert_memory_equal(out, k.msg, k.len);
	}
	/* outputdatalength comes back as inputdatalength */
	struct ica_rsa_modexpo mex = {
		.inputdata = k.msg, .inputdatalength = (uint32_t)k.len, .outputdata = out,
		.outputdatalength = sizeof(out), .b_key = k.e, .n_modulus = k.n,
	};

	assert_errno(proc_ioctl(p, fd, ICARSAMODEXPO, &mex), 0);
	assert_int_equal(mex.outputdatalength, k.len);
	proc_close(p, fd);
	proc_free(p);
	host_free(h);
}

static void test_z90crypt_errors(void **state)
{
	struct uvf_host *h = test_host_default();
	struct uvf_proc *p = proc_new_root(h);
	int fd = proc_open(p, "/dev/z90crypt", O_RDWR);
	static struct rsa_key k;
	static uint8_t big[1024];
	uint8_t out[600];
	uint32_t written = 77;

	rsa_keygen(&k, 1024, 200);
	/* lengths */
	assert_errno(modexpo(p, fd, k.msg, k.e, k.n, 128, out, 127, NULL), -EINVAL);
	assert_errno(modexpo(p, fd, k.msg, k.e, k.n, 0, out, 128, NULL), -EINVAL);
	assert_errno(modexpo(p, fd, big, big, big, 513, out, 600, NULL), -ENODEV);
	/* bad pointers: the struct, an input, the output */
	assert_errno(proc_ioctl(p, fd, ICARSAMODEXPO, (void *)16), -EFAULT);
	assert_errno(proc_ioctl(p, fd, ICARSACRT, (void *)16), -EFAULT);
	assert_errno(modexpo(p, fd, (uint8_t *)16, k.e, k.n, 128, out, 128, NULL), -EFAULT);
	assert_errno(modexpo(p, fd, k.msg, k.e, (uint8_t *)16, 128, out, 128, NULL), -EFAULT);
	assert_errno(modexpo(p, fd, k.msg, k.e, k.n, 128, (uint8_t *)16, 128, &written),
		     -EFAULT);
	/* a malformed operand is the card's error reply: -EINVAL */
	assert_errno(modexpo(p, fd, k.n, k.e, k.n, 128, out, 128, NULL), -EINVAL);
	/* ioctl numbers: 0 is refused, unknown ones are not ioctls */
	assert_errno(proc_ioctl(p, fd, _IOC(_IOC_READ | _IOC_WRITE, 'z', 0, 0), out), -EPERM);
	assert_errno(proc_ioctl(p, fd, _IO('z', 0x90), out), -ENOTTY);
	assert_errno(proc_ioctl(p, fd, ZSECSENDCPRB, out), -ENOTTY);
	/* no online accelerator: -ENODEV; back online, it works */
	assert_errno(ap_write(h, "/devices/ap/card00/online", "0"), 1);
	assert_errno(ap_write(h, "/devices/ap/card03/online", "0"), 1);
	assert_string_equal(ap_read(h, "/devices/ap/card00/00.0005/online"), "0");
	assert_errno(modexpo(p, fd, k.msg, k.e, k.n, 128, out, 128, NULL), -ENODEV);
	assert_errno(ap_write(h, "/devices/ap/card03/online", "1"), 1);
	assert_errno(modexpo(p, fd, k.msg, k.e, k.n, 128, out, 128, NULL), 0);
	assert_memory_equal(out, k.enc, 128);
	/* a queue taken offline is not used: the others serve */
	unsigned long before = strtoul(ap_read(h, "/devices/ap/card03/03.0006/request_count"),
				       NULL, 10);

	assert_errno(ap_write(h, "/devices/ap/card03/03.0004/online", "0"), 1);
	assert_errno(ap_write(h, "/devices/ap/card03/03.0005/online", "0"), 1);
	assert_errno(modexpo(p, fd, k.msg, k.e, k.n, 128, out, 128, NULL), 0);
	assert_errno(modexpo(p, fd, k.msg, k.e, k.n, 128, out, 128, NULL), 0);
	assert_int_equal(strtoul(ap_read(h, "/devices/ap/card03/03.0006/request_count"), NULL, 10),
			 before + 2);
	/* a queue of an offline card cannot come online */
	assert_errno(ap_write(h, "/devices/ap/card00/00.0004/online", "1"), -EINVAL);
	proc_close(p, fd);
	proc_free(p);
	host_free(h);
}

static void test_z90crypt_status(void **state)
{
	struct uvf_host *h = test_host_default();
	struct uvf_proc *p = proc_new_root(h);
	int fd = proc_open(p, "/dev/z90crypt", O_RDWR);
	int fd2 = proc_open(p, "/dev/z90crypt", O_RDONLY);
	static struct rsa_key k;
	uint8_t status[256], old_status[64], out[128];
	uint32_t reqcnt[256];
	int v = -1;
	unsigned long total = 0;

	assert_errno(proc_ioctl(p, fd, Z90STAT_DOMAIN_INDEX, &v), 0);
	assert_int_equal(v, 4);
	assert_errno(proc_ioctl(p, fd, Z90STAT_TOTALOPEN_COUNT, &v), 0);
	assert_int_equal(v, 2);
	assert_errno(proc_ioctl(p, fd, ZCRYPT_STATUS_MASK, status), 0);
	assert_int_equal(status[0], 12);	/* CEX8A reports as CEX6 */
	assert_int_equal(status[1], 7);		/* CCA reports as CEX3C */
	assert_int_equal(status[2], 12);
	assert_int_equal(status[3], 10);	/* CEX4 */
	assert_int_equal(status[4], 0);		/* vfio_ap's: not zcrypt's */
	assert_errno(proc_ioctl(p, fd, Z90STAT_STATUS_MASK, old_status), 0);
	assert_memory_equal(old_status, status, 64);
	rsa_keygen(&k, 1024, 300);
	for (int i = 0; i < 10; i++)
		assert_errno(modexpo(p, fd, k.msg, k.e, k.n, 128, out, 128, NULL), 0);
	/* every request counted on the queue and card that served it */
	for (unsigned int c = 0; c < 4; c++) {
		char path[64];

		snprintf(path, sizeof(path), "/devices/ap/card%02x/request_count", c);
		total += strtoul(ap_read(h, path), NULL, 10);
	}
	assert_int_equal(total, 10);
	assert_errno(proc_ioctl(p, fd, ZCRYPT_PERDEV_REQCNT, reqcnt), 0);
	assert_int_equal(reqcnt[0] + reqcnt[3],
			 strtoul(ap_read(h, "/devices/ap/card00/00.0004/request_count"), NULL, 10) +
			 strtoul(ap_read(h, "/devices/ap/card03/03.0004/request_count"), NULL, 10));
	assert_errno(proc_ioctl(p, fd, Z90STAT_PENDINGQ_COUNT, &v), 0);
	assert_int_equal(v, 0);
	proc_close(p, fd2);
	assert_errno(proc_ioctl(p, fd, Z90STAT_TOTALOPEN_COUNT, &v), 0);
	assert_int_equal(v, 1);
	assert_errno(ap_write(h, "/devices/ap/card00/request_count", "0"), 1);
	assert_string_equal(ap_read(h, "/devices/ap/card00/request_count"), "0");
	assert_string_equal(ap_read(h, "/devices/ap/card00/00.0004/request_count"), "0");
	proc_close(p, fd);
	proc_free(p);
	host_free(h);
}

struct worker {
	struct uvf_proc *p;
	int fd;
	struct rsa_key *k;
	int rounds, good;
};

static void *z90_worker(void *arg)
{
	struct worker *w = arg;
	uint8_t out[256];

	for (int i = 0; i < w->rounds; i++) {
		if (crt(w->p, w->fd, w->k, w->k->enc, out, sizeof(out)) == 0 &&
		    !memcmp(out, w->k->msg, w->k->len))
			w->good++;
	}
	return NULL;
}

static void test_z90crypt_concurrent(void **state)
{
	struct uvf_host *h = test_host_default();
	struct uvf_proc *p = proc_new_root(h);
	static struct rsa_key keys[4];
	struct worker w[4];
	pthread_t th[4];

	for (int i = 0; i < 4; i++) {
		rsa_keygen(&keys[i], 2048, 400 + (unsigned long)i);
		w[i] = (struct worker){ p, proc_open(p, "/dev/z90crypt", O_RDWR), &keys[i], 15, 0 };
		pthread_create(&th[i], NULL, z90_worker, &w[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].good, w[i].rounds);
	}
	proc_free(p);
	host_free(h);
}

/* One accelerator, two domains, no interruptions: the host polls. */
static const char one_accel[] =
	"{ \"ap\": { \"interrupts\": false, \"usage_domains\": [1, 2],\n"
	"  \"adapters\": [ { \"id\": 3, \"type\": \"CEX7\", \"mode\": \"accel\" } ] } }";

struct bg_req {
	struct uvf_proc *p;
	int fd;
	struct rsa_key *k;
	long ret;
	uint8_t out[128];
};

static void *bg_modexpo(void *arg)
{
	struct bg_req *b = arg;

	b->ret = modexpo(b->p, b->fd, b->k->msg, b->k->e, b->k->n, 128, b->out, 128, NULL);
	return NULL;
}

static void test_z90crypt_polling_and_unbind(void **state)
{
	struct uvf_host *h = test_host_from_json(one_accel);
	struct uvf_proc *p = proc_new_root(h);
	struct ap_machine *m = mach(h);
	static struct rsa_key k;
	struct bg_req b = { .p = p };
	const char *busy_q;
	uint8_t reply[256];
	uint64_t psmid;
	size_t len;
	pthread_t t;

	b.fd = proc_open(p, "/dev/z90crypt", O_RDWR);
	b.k = &k;
	rsa_keygen(&k, 1024, 500);
	assert_string_equal(ap_read(h, "/bus/ap/ap_interrupts"), "0");
	bg_modexpo(&b);
	assert_errno(b.ret, 0);
	assert_memory_equal(b.out, k.enc, 128);

	/* a request pending on a queue when it is unbound is retried elsewhere */
	ap_machine_set_latency(m, 300000);
	pthread_create(&t, NULL, bg_modexpo, &b);
	assert_true(AP_WAIT_FOR(!strcmp(ap_read(h, "/devices/ap/card03/03.0001/pendingq_count"),
					"1") ||
				!strcmp(ap_read(h, "/devices/ap/card03/03.0002/pendingq_count"),
					"1")));
	busy_q = !strcmp(ap_read(h, "/devices/ap/card03/03.0001/pendingq_count"), "1") ?
		 "03.0001" : "03.0002";
	assert_errno(ap_write(h, "/bus/ap/drivers/cex4queue/unbind", busy_q), 7);
	pthread_join(t, NULL);
	assert_errno(b.ret, 0);
	assert_memory_equal(b.out, k.enc, 128);
	/* the unbound queue was zeroized: its request can never be dequeued */
	ap_qid_t qid = AP_MKQID(3, busy_q[6] - '0');

	ap_sleep_ms(400);
	assert_int_equal(ap_dqap(m, qid, &psmid, reply, sizeof(reply), &len, NULL).response_code,
			 AP_RESPONSE_NO_PENDING_REPLY);
	assert_true(ap_tapq(m, qid, NULL).queue_empty);
	proc_free(p);
	host_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsa_1024),
		cmocka_unit_test(test_rsa_2048),
		cmocka_unit_test(test_rsa_4096),
		cmocka_unit_test(test_rsa_short_key),
		cmocka_unit_test(test_tapq_info),
		cmocka_unit_test(test_not_in_config),
		cmocka_unit_test(test_queue_full_and_no_reply),
		cmocka_unit_test(test_partial_dqap),
		cmocka_unit_test(test_zeroize_drops_pending),
		cmocka_unit_test(test_aqic_interrupts),
		cmocka_unit_test(test_malformed_requests),
		cmocka_unit_test(test_z90crypt_rsa),
		cmocka_unit_test(test_z90crypt_errors),
		cmocka_unit_test(test_z90crypt_status),
		cmocka_unit_test(test_z90crypt_concurrent),
		cmocka_unit_test(test_z90crypt_polling_and_unbind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
