// SPDX-License-Identifier: MIT
/*
 * Message type 50 (drivers/s390/crypto/zcrypt_msgtype50.c): turning an
 * ICARSAMODEXPO / ICARSACRT request into a type 50 message for an
 * accelerator queue, sending it through the queue's host state machine,
 * waiting for the reply and turning a type 80 reply into the caller's
 * output (or an error reply into an errno, zcrypt_error.h's rules).
 *
 * User buffers are read and written with copy_from_user/copy_to_user of
 * the caller: a bad pointer is -EFAULT, never a crash.
 *
 * Locks: none held while waiting; the receive callback runs under
 * aq->lock and takes the completion's lock (a leaf).
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include "zcrypt.h"
#include "zcrypt_msgtype50.h"
#include "../base/log.h"
#include "../mm/caller.h"

static void completion_init(struct zcrypt_completion *cm)
{
	uvf_mutex_init(&cm->lock);
	pthread_cond_init(&cm->cond, NULL);
	cm->done = false;
}

static void completion_destroy(struct zcrypt_completion *cm)
{
	pthread_cond_destroy(&cm->cond);
	uvf_mutex_destroy(&cm->lock);
}

static void complete(struct zcrypt_completion *cm)
{
	uvf_mutex_lock(&cm->lock);
	cm->done = true;
	pthread_cond_signal(&cm->cond);
	uvf_mutex_unlock(&cm->lock);
}

static void wait_for_completion(struct zcrypt_completion *cm)
{
	uvf_mutex_lock(&cm->lock);
	while (!cm->done)
		pthread_cond_wait(&cm->cond, &cm->lock.m);
	uvf_mutex_unlock(&cm->lock);
}

/* Where the key parts go in a type 50 message of a given size. */
struct type50_layout {
	size_t size;			/* message field: 128, 256, 512 */
	size_t len;			/* the whole message */
	uint16_t fmt;
};

static const struct type50_layout meb_layouts[] = {
	{ 128, sizeof(struct type50_meb1_msg), TYPE50_MEB1_FMT },
	{ 256, sizeof(struct type50_meb2_msg), TYPE50_MEB2_FMT },
	{ 512, sizeof(struct type50_meb3_msg), TYPE50_MEB3_FMT },
};

static const struct type50_layout crb_layouts[] = {
	{ 128, sizeof(struct type50_crb1_msg), TYPE50_CRB1_FMT },
	{ 256, sizeof(struct type50_crb2_msg), TYPE50_CRB2_FMT },
	{ 512, sizeof(struct type50_crb3_msg), TYPE50_CRB3_FMT },
};

/* Header and key block type; returns the first field after the prefix. */
static uint8_t *type50_start(struct ap_message *msg, const struct type50_layout *lay)
{
	struct type50_prefix *pre = msg->msg;

	memset(msg->msg, 0, lay->len);
	msg->len = lay->len;
	pre->header.msg_type_code = TYPE50_TYPE_CODE;
	pre->header.msg_len = htobe16((uint16_t)lay->len);
	pre->keyblock_type = htobe16(lay->fmt);
	return (uint8_t *)msg->msg + sizeof(*pre);
}

static int ICAMEX_msg_to_type50MEX_msg(struct uvf_caller *c, struct ap_message *msg,
				       const struct ica_rsa_modexpo *mex)
{
	size_t mod_len = mex->inputdatalength, n;
	const struct type50_layout *lay = NULL;
	uint8_t *f;

	for (size_t i = 0; i < ARRAY_SIZE(meb_layouts) && !lay; i++)
		if (mod_len <= meb_layouts[i].size)
			lay = &meb_layouts[i];
	if (!lay)
		return -EINVAL;
	n = lay->size;
	f = type50_start(msg, lay);	/* exponent, modulus, message */
	if (copy_from_user(c, f + n - mod_len, (uint64_t)(uintptr_t)mex->b_key, mod_len) ||
	    copy_from_user(c, f + 2 * n - mod_len, (uint64_t)(uintptr_t)mex->n_modulus, mod_len) ||
	    copy_from_user(c, f + 3 * n - mod_len, (uint64_t)(uintptr_t)mex->inputdata, mod_len))
		return -EFAULT;
	return 0;
}

/* p, dp and u are read past ICA's 8-byte MSGTYPE_ADJUSTMENT. */
static int ICACRT_msg_to_type50CRT_msg(struct zcrypt_queue *zq, struct uvf_caller *c,
				       struct ap_message *msg,
				       const struct ica_rsa_modexpo_crt *crt)
{
	size_t mod_len = crt->inputdatalength, short_len = (mod_len + 1) / 2, h;
	const struct type50_layout *lay = NULL;
	uint8_t *f;

	if (mod_len <= 128)
		lay = &crb_layouts[0];
	else if (mod_len <= 256)
		lay = &crb_layouts[1];
	else if (mod_len <= 512 && zq->zcard->max_mod_size == CEX4A_MAX_MOD_SIZE_4K)
		lay = &crb_layouts[2];
	else
		return -EINVAL;
	h = lay->size / 2;
	f = type50_start(msg, lay);	/* p, q, dp, dq, u (h each), message */
	if (copy_from_user(c, f + h - short_len,
			   (uint64_t)(uintptr_t)crt->np_prime + MSGTYPE_ADJUSTMENT, short_len) ||
	    copy_from_user(c, f + 2 * h - short_len, (uint64_t)(uintptr_t)crt->nq_prime,
			   short_len) ||
	    copy_from_user(c, f + 3 * h - short_len,
			   (uint64_t)(uintptr_t)crt->bp_key + MSGTYPE_ADJUSTMENT, short_len) ||
	    copy_from_user(c, f + 4 * h - short_len, (uint64_t)(uintptr_t)crt->bq_key,
			   short_len) ||
	    copy_from_user(c, f + 5 * h - short_len,
			   (uint64_t)(uintptr_t)crt->u_mult_inv + MSGTYPE_ADJUSTMENT, short_len) ||
	    copy_from_user(c, f + 5 * h + lay->size - mod_len,
			   (uint64_t)(uintptr_t)crt->inputdata, mod_len))
		return -EFAULT;
	return 0;
}

static void take_offline(struct zcrypt_queue *zq, const char *why, unsigned int code)
{
	__atomic_store_n(&zq->online, false, __ATOMIC_RELAXED);
	uvf_err("zcrypt", "crypto dev=%02x.%04x %s 0x%02x => online=0 rc=EAGAIN",
		AP_QID_CARD(zq->queue->qid), AP_QID_QUEUE(zq->queue->qid), why, code);
}

/* An error reply's errno (zcrypt_error.h convert_error). */
static int convert_error(const struct error_hdr *eh)
{
	switch (eh->reply_code) {
	case REP82_ERROR_INVALID_MSG_LEN:
	case REP82_ERROR_RESERVD_FIELD:
	case REP82_ERROR_FORMAT_FIELD:
	case REP82_ERROR_MALFORMED_MSG:
	case REP82_ERROR_INVALID_SPECIAL_CMD:
	case REP82_ERROR_MESSAGE_LENGTH:
	case REP82_ERROR_OPERAND_INVALID:
	case REP82_ERROR_OPERAND_SIZE:
	case REP82_ERROR_EVEN_MOD_IN_OPND:
	case REP82_ERROR_INVALID_DOMAIN_PENDING:
	case REP82_ERROR_FILTERED_BY_HYPERVISOR:
	case REP82_ERROR_PACKET_TRUNCATED:
	case REP88_ERROR_MESSAGE_MALFORMD:
	case REP88_ERROR_KEY_TYPE:
		return -EINVAL;		/* the request is malformed */
	default:
		return -EAGAIN;		/* card or transport trouble: retry */
	}
}

static int convert_type80(struct zcrypt_queue *zq, struct uvf_caller *c,
			  struct ap_message *reply, uint8_t *outputdata, size_t outlen)
{
	const struct type80_hdr *t80 = reply->msg;
	size_t len = be16toh(t80->len);

	if (len < sizeof(*t80) + outlen || len > CEX3A_MAX_RESPONSE_SIZE) {
		/* a result too short for the request: an accelerator never does that */
		take_offline(zq, "short reply, code", t80->code);
		return -EAGAIN;
	}
	if (copy_to_user(c, (uint64_t)(uintptr_t)outputdata,
			 (uint8_t *)reply->msg + len - outlen, outlen))
		return -EFAULT;
	return 0;
}

static int convert_response(struct zcrypt_queue *zq, struct uvf_caller *c,
			    struct ap_message *reply, uint8_t *outputdata, size_t outlen)
{
	uint8_t rtype = ((uint8_t *)reply->msg)[1];

	switch (rtype) {
	case TYPE82_RSP_CODE:
	case TYPE88_RSP_CODE:
		return convert_error(reply->msg);
	case TYPE80_RSP_CODE:
		return convert_type80(zq, c, reply, outputdata, outlen);
	default:
		take_offline(zq, "unknown response type", rtype);
		return -EAGAIN;
	}
}

/*
 * Called under aq->lock with the reply (or NULL: msg->rc says why): the
 * reply is copied into the request's buffer, whose owner is waiting.
 */
static void zcrypt_msgtype50_receive(struct ap_queue *aq, struct ap_message *msg,
				     struct ap_message *reply)
{
	const struct type80_hdr *t80;
	size_t len;

	if (!reply)
		goto out;
	t80 = reply->msg;
	if (t80->type == TYPE80_RSP_CODE) {
		len = be16toh(t80->len);
		if (len > reply->bufsize || len > msg->bufsize || len != reply->len) {
			msg->rc = -EMSGSIZE;
			goto out;
		}
		memcpy(msg->msg, reply->msg, len);
		msg->len = len;
	} else {
		/* an error header, or a machine failure if the reply is shorter */
		struct error_hdr eh = { .type = TYPE82_RSP_CODE,
					.reply_code = REP82_ERROR_MACHINE_FAILURE };

		if (reply->len >= sizeof(eh))
			memcpy(&eh, reply->msg, sizeof(eh));
		memcpy(msg->msg, &eh, sizeof(eh));
		msg->len = sizeof(eh);
	}
out:
	complete(msg->private);
}

/* Send msg on zq's queue and wait for its reply. */
static long send_and_wait(struct zcrypt_queue *zq, struct uvf_caller *c, struct ap_message *msg,
			  uint8_t *outputdata, size_t outlen)
{
	struct zcrypt_completion cm;
	long rc;

	completion_init(&cm);
	msg->private = &cm;
	rc = ap_queue_message(zq->queue, msg);
	if (!rc) {
		wait_for_completion(&cm);
		rc = msg->rc;
		if (!rc)
			rc = convert_response(zq, c, msg, outputdata, outlen);
	}
	completion_destroy(&cm);
	return rc;
}

static uint64_t zcrypt_psmid(struct zcrypt_queue *zq, struct uvf_caller *c)
{
	struct zcrypt *z = zq->zcard->zcrypt;

	return ((uint64_t)(uint32_t)c->pid << 32) + atomic_fetch_add(&z->step, 1) + 1;
}

static long zcrypt_msgtype50_modexpo(struct zcrypt_queue *zq, struct uvf_caller *c,
				     struct ica_rsa_modexpo *mex, struct ap_message *msg)
{
	int rc;

	if (msg->bufsize < MSGTYPE50_CRB3_MAX_MSG_SIZE)
		return -EMSGSIZE;
	msg->receive = zcrypt_msgtype50_receive;
	msg->psmid = zcrypt_psmid(zq, c);
	rc = ICAMEX_msg_to_type50MEX_msg(c, msg, mex);
	if (rc)
		return rc;
	return send_and_wait(zq, c, msg, mex->outputdata, mex->outputdatalength);
}

static long zcrypt_msgtype50_modexpo_crt(struct zcrypt_queue *zq, struct uvf_caller *c,
					 struct ica_rsa_modexpo_crt *crt, struct ap_message *msg)
{
	int rc;

	if (msg->bufsize < MSGTYPE50_CRB3_MAX_MSG_SIZE)
		return -EMSGSIZE;
	msg->receive = zcrypt_msgtype50_receive;
	msg->psmid = zcrypt_psmid(zq, c);
	rc = ICACRT_msg_to_type50CRT_msg(zq, c, msg, crt);
	if (rc)
		return rc;
	return send_and_wait(zq, c, msg, crt->outputdata, crt->outputdatalength);
}

const struct zcrypt_ops zcrypt_msgtype50_ops = {
	.name = "zcrypt_msgtype50",
	.rsa_modexpo = zcrypt_msgtype50_modexpo,
	.rsa_modexpo_crt = zcrypt_msgtype50_modexpo_crt,
};
