// SPDX-License-Identifier: MIT
/*
 * The adapter firmware: one request in, one reply out.
 *
 * An accelerator answers the type 50 messages (zcrypt_msgtype50.h): it
 * checks the header (type code 0x50, msg_len equal to the bytes enqueued
 * and to the size of the key block format), the reserved bytes, then
 * computes (ap_crypto.c) and replies with a type 80 message: the header
 * and the result right-justified in a field as large as the request's
 * message field.  A malformed request gets a type 82 error reply:
 *   not type 50                     REP82_ERROR_MESSAGE_TYPE (0x20)
 *   msg_len wrong / too short       REP82_ERROR_INVALID_MSG_LEN (0x23)
 *   reserved bytes not zero         REP82_ERROR_RESERVD_FIELD (0x24)
 *   unknown key block format        REP82_ERROR_FORMAT_FIELD (0x29)
 *   bad operands                    see ap_crypto.c
 * CCA and EP11 coprocessors are not modelled beyond their identity: they
 * answer every request with a type 82 REP82_ERROR_MESSAGE_TYPE reply, the
 * code an adapter gives a message type it does not process (zcrypt turns
 * it into -EAGAIN).  No locks.
 */
#include <endian.h>
#include <string.h>
#include "ap_hw.h"

struct type50_format {
	uint16_t keyblock_type;
	size_t size;			/* the message field: 128, 256, 512 */
	size_t msg_len;			/* the whole request */
	bool crt;
};

static const struct type50_format type50_formats[] = {
	{ TYPE50_MEB1_FMT, 128, sizeof(struct type50_meb1_msg), false },
	{ TYPE50_MEB2_FMT, 256, sizeof(struct type50_meb2_msg), false },
	{ TYPE50_MEB3_FMT, 512, sizeof(struct type50_meb3_msg), false },
	{ TYPE50_CRB1_FMT, 128, sizeof(struct type50_crb1_msg), true },
	{ TYPE50_CRB2_FMT, 256, sizeof(struct type50_crb2_msg), true },
	{ TYPE50_CRB3_FMT, 512, sizeof(struct type50_crb3_msg), true },
};

static size_t error_reply(uint8_t *reply, uint8_t code)
{
	struct error_hdr *eh = (struct error_hdr *)reply;

	memset(eh, 0, sizeof(*eh));
	eh->type = TYPE82_RSP_CODE;
	eh->reply_code = code;
	return sizeof(*eh);
}

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static const struct type50_format *type50_format_find(uint16_t keyblock_type)
{
	for (size_t i = 0; i < ARRAY_SIZE(type50_formats); i++)
		if (type50_formats[i].keyblock_type == keyblock_type)
			return &type50_formats[i];
	return NULL;
}

/* The header and key block checks; 0 or the REP82 code. */
static int type50_check(const uint8_t *req, size_t len, const struct type50_format **out)
{
	const struct type50_prefix *pre = (const struct type50_prefix *)req;
	const struct type50_format *fmt;

	if (len < sizeof(struct type50_hdr))
		return REP82_ERROR_INVALID_MSG_LEN;
	if (pre->header.msg_type_code != TYPE50_TYPE_CODE)
		return REP82_ERROR_MESSAGE_TYPE;
	if (len < sizeof(*pre) || be16toh(pre->header.msg_len) != len)
		return REP82_ERROR_INVALID_MSG_LEN;
	if (pre->header.reserved1 || pre->header.reserved2 || pre->header.reserved3 ||
	    !all_zero(pre->reserved, sizeof(pre->reserved)))
		return REP82_ERROR_RESERVD_FIELD;
	fmt = type50_format_find(be16toh(pre->keyblock_type));
	if (!fmt)
		return REP82_ERROR_FORMAT_FIELD;
	if (fmt->msg_len != len)
		return REP82_ERROR_INVALID_MSG_LEN;
	*out = fmt;
	return 0;
}

/* Fields follow the prefix in the order of the structs. */
static int type50_compute(const struct type50_format *fmt, const uint8_t *req, uint8_t *res)
{
	const uint8_t *f = req + sizeof(struct type50_prefix);
	size_t n = fmt->size, h = n / 2;

	if (!fmt->crt)	/* exponent, modulus, message */
		return ap_rsa_modexpo(f + 2 * n, f, f + n, n, res, n);
	/* p, q, dp, dq, u, message */
	return ap_rsa_crt(f + 5 * h, n, f, f + h, f + 2 * h, f + 3 * h, f + 4 * h, h, res, n);
}

static size_t accel_process(const uint8_t *req, size_t len, uint8_t *reply)
{
	struct type80_hdr *t80 = (struct type80_hdr *)reply;
	const struct type50_format *fmt = NULL;
	int rc = type50_check(req, len, &fmt);

	if (!rc)
		rc = type50_compute(fmt, req, reply + sizeof(*t80));
	if (rc)
		return error_reply(reply, (uint8_t)rc);
	memset(t80, 0, sizeof(*t80));
	t80->type = TYPE80_RSP_CODE;
	t80->len = htobe16((uint16_t)(sizeof(*t80) + fmt->size));
	return sizeof(*t80) + fmt->size;
}

size_t ap_msg_process(enum ap_mode mode, const uint8_t *req, size_t len, uint8_t *reply)
{
	if (mode != AP_MODE_ACCEL)
		return error_reply(reply, REP82_ERROR_MESSAGE_TYPE);
	return accel_process(req, len, reply);
}
