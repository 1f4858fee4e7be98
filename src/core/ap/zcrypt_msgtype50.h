/* SPDX-License-Identifier: MIT */
/*
 * The CEX accelerator message formats (drivers/s390/crypto/
 * zcrypt_msgtype50.c and zcrypt_error.h): type 50 requests (RSA
 * modular exponentiation "MEB" and CRT "CRB", each in three sizes), the
 * type 80 reply, and the type 82/88 error replies.  These are the bytes
 * that travel through NQAP and DQAP, so multi-byte fields are big-endian
 * (s390 byte order) whatever the host's; numbers are right-justified in
 * their fields and padded with zeroes on the left; reserved bytes are 0.
 *
 * The host's zcrypt builds type 50 messages (zcrypt_msgtype50.c), the
 * emulated accelerator answers them (ap_msg.c).
 */
#ifndef UVF_AP_ZCRYPT_MSGTYPE50_H
#define UVF_AP_ZCRYPT_MSGTYPE50_H

#include <stdint.h>

struct type50_hdr {
	uint8_t reserved1;
	uint8_t msg_type_code;		/* 0x50 */
	uint16_t msg_len;		/* big-endian: the whole message */
	uint8_t reserved2;
	uint8_t ignored;
	uint16_t reserved3;
} __attribute__((packed));

#define TYPE50_TYPE_CODE	0x50

#define TYPE50_MEB1_FMT		0x0001
#define TYPE50_MEB2_FMT		0x0002
#define TYPE50_MEB3_FMT		0x0003
#define TYPE50_CRB1_FMT		0x0011
#define TYPE50_CRB2_FMT		0x0012
#define TYPE50_CRB3_FMT		0x0013

/* Every type 50 message: header, key block type, 6 reserved bytes. */
struct type50_prefix {
	struct type50_hdr header;
	uint16_t keyblock_type;		/* big-endian */
	uint8_t reserved[6];
} __attribute__((packed));

/* Mod-Exp: exponent, modulus and message fields of 128, 256, 512 bytes. */
#define TYPE50_MEB(n, size)						\
struct type50_meb##n##_msg {						\
	struct type50_prefix prefix;					\
	uint8_t exponent[size];						\
	uint8_t modulus[size];						\
	uint8_t message[size];						\
} __attribute__((packed))

TYPE50_MEB(1, 128);
TYPE50_MEB(2, 256);
TYPE50_MEB(3, 512);

/* CRT: p, q, dp, dq, u of half the message size. */
#define TYPE50_CRB(n, size)						\
struct type50_crb##n##_msg {						\
	struct type50_prefix prefix;					\
	uint8_t p[size / 2];						\
	uint8_t q[size / 2];						\
	uint8_t dp[size / 2];						\
	uint8_t dq[size / 2];						\
	uint8_t u[size / 2];						\
	uint8_t message[size];						\
} __attribute__((packed))

TYPE50_CRB(1, 128);
TYPE50_CRB(2, 256);
TYPE50_CRB(3, 512);

#define MSGTYPE50_CRB3_MAX_MSG_SIZE 0x710	/* sizeof(struct type50_crb3_msg) */
#define MSGTYPE_ADJUSTMENT 0x08		/* the 8 leading bytes of ICA's p, dp, u */

/* The reply: this header, then the result right-justified in a field the
 * size of the request's message field; len covers both. */
struct type80_hdr {
	uint8_t reserved1;
	uint8_t type;			/* 0x80 */
	uint16_t len;			/* big-endian */
	uint8_t code;			/* 0x00 */
	uint8_t reserved2[3];
	uint8_t reserved3[8];
} __attribute__((packed));

#define TYPE80_RSP_CODE		0x80
#define CEX3A_MAX_RESPONSE_SIZE	0x210	/* type 80 header + 512 bytes */

/* Error replies (type 82 from the adapter, type 88 from the card's module). */
struct error_hdr {
	uint8_t reserved1;
	uint8_t type;			/* 0x82 or 0x88 */
	uint8_t reserved2[2];
	uint8_t reply_code;
	uint8_t reserved3[3];
} __attribute__((packed));

#define TYPE82_RSP_CODE 0x82
#define TYPE88_RSP_CODE 0x88

#define REP82_ERROR_MACHINE_FAILURE	0x10
#define REP82_ERROR_MESSAGE_TYPE	0x20
#define REP82_ERROR_INVALID_MSG_LEN	0x23
#define REP82_ERROR_RESERVD_FIELD	0x24
#define REP82_ERROR_FORMAT_FIELD	0x29
#define REP82_ERROR_INVALID_COMMAND	0x30
#define REP82_ERROR_MALFORMED_MSG	0x40
#define REP82_ERROR_INVALID_SPECIAL_CMD	0x41
#define REP82_ERROR_MESSAGE_LENGTH	0x80
#define REP82_ERROR_OPERAND_INVALID	0x82
#define REP82_ERROR_OPERAND_SIZE	0x84
#define REP82_ERROR_EVEN_MOD_IN_OPND	0x85
#define REP82_ERROR_INVALID_DOMAIN_PENDING 0x8A
#define REP82_ERROR_FILTERED_BY_HYPERVISOR 0x8B
#define REP82_ERROR_TRANSPORT_FAIL	0x90
#define REP82_ERROR_PACKET_TRUNCATED	0xA0
#define REP88_ERROR_MESSAGE_MALFORMD	0x22
#define REP88_ERROR_KEY_TYPE		0x34

_Static_assert(sizeof(struct type50_meb1_msg) == 400, "meb1 layout");
_Static_assert(sizeof(struct type50_meb3_msg) == 1552, "meb3 layout");
_Static_assert(sizeof(struct type50_crb1_msg) == 464, "crb1 layout");
_Static_assert(sizeof(struct type50_crb3_msg) == MSGTYPE50_CRB3_MAX_MSG_SIZE, "crb3 layout");
_Static_assert(sizeof(struct type80_hdr) == 16, "type80 layout");
_Static_assert(sizeof(struct error_hdr) == 8, "error_hdr layout");

#endif
