/* SPDX-License-Identifier: MIT */
/*
 * RSA keys with known answers (GMP, in the test) and the type 50 requests
 * Linux's zcrypt sends to CEX accelerators, built from the formats: the
 * AP crypto tests and the vfio_ap guest tests share them.  Include after
 * harness.h.
 */
#ifndef UVF_TEST_AP_RSA_H
#define UVF_TEST_AP_RSA_H

#include <endian.h>
#include <gmp.h>
#include "core/ap/zcrypt_msgtype50.h"

/* ---- keys and known answers (GMP, in the test) ---------------------------- */

struct rsa_key {
	size_t len, half;
	uint8_t n[512], e[512], d[512];
	uint8_t p[256], q[256], dp[256], dq[256], u[256];
	/* ICA's CRT buffers: 8 ignored bytes before p, dp and u */
	uint8_t ica_p[264], ica_dp[264], ica_u[264];
	uint8_t msg[512], enc[512];		/* msg^e mod n */
};

static inline void to_bytes(const mpz_t z, uint8_t *out, size_t len)
{
	size_t n = (mpz_sizeinbase(z, 2) + 7) / 8;

	memset(out, 0, len);
	assert_true(n <= len);
	mpz_export(out + len - n, NULL, 1, 1, 1, 0, z);
}

/* A prime of 'bits' bits with its two top bits set, so p*q has 2*bits. */
static inline void random_prime(mpz_t p, unsigned int bits, gmp_randstate_t rs)
{
	mpz_urandomb(p, rs, bits);
	mpz_setbit(p, bits - 1);
	mpz_setbit(p, bits - 2);
	mpz_nextprime(p, p);
}

static inline void rsa_keygen(struct rsa_key *k, unsigned int bits, unsigned long seed)
{
	mpz_t p, q, n, e, d, phi, t, m, c;
	gmp_randstate_t rs;

	gmp_randinit_default(rs);
	gmp_randseed_ui(rs, seed);
	mpz_inits(p, q, n, e, d, phi, t, m, c, NULL);
	mpz_set_ui(e, 65537);
	do {
		random_prime(p, bits / 2, rs);
		random_prime(q, bits / 2, rs);
		mpz_sub_ui(t, p, 1);
		mpz_sub_ui(phi, q, 1);
		mpz_mul(phi, phi, t);
		mpz_gcd(t, e, phi);
	} while (!mpz_cmp(p, q) || mpz_cmp_ui(t, 1));
	mpz_mul(n, p, q);
	assert_int_equal(mpz_sizeinbase(n, 2), bits);
	mpz_invert(d, e, phi);
	k->len = bits / 8;
	k->half = k->len / 2;
	to_bytes(n, k->n, k->len);
	to_bytes(e, k->e, k->len);
	to_bytes(d, k->d, k->len);
	to_bytes(p, k->p, k->half);
	to_bytes(q, k->q, k->half);
	mpz_sub_ui(t, p, 1);
	mpz_mod(t, d, t);
	to_bytes(t, k->dp, k->half);
	mpz_sub_ui(t, q, 1);
	mpz_mod(t, d, t);
	to_bytes(t, k->dq, k->half);
	mpz_invert(t, q, p);
	to_bytes(t, k->u, k->half);
	memset(k->ica_p, 0xee, 8);		/* the adjustment bytes are ignored */
	memset(k->ica_dp, 0xee, 8);
	memset(k->ica_u, 0xee, 8);
	memcpy(k->ica_p + 8, k->p, k->half);
	memcpy(k->ica_dp + 8, k->dp, k->half);
	memcpy(k->ica_u + 8, k->u, k->half);
	mpz_urandomm(m, rs, n);
	to_bytes(m, k->msg, k->len);
	mpz_powm(c, m, e, n);
	to_bytes(c, k->enc, k->len);
	mpz_clears(p, q, n, e, d, phi, t, m, c, NULL);
	gmp_randclear(rs);
}

/* ---- type 50 requests, built from the formats ----------------------------- */

static inline size_t type50_field(size_t len)
{
	return len <= 128 ? 128 : len <= 256 ? 256 : 512;
}

static inline uint8_t *type50_prefix(uint8_t *buf, size_t msg_len, uint16_t fmt)
{
	struct type50_prefix *pre = (struct type50_prefix *)buf;

	memset(buf, 0, msg_len);
	pre->header.msg_type_code = TYPE50_TYPE_CODE;
	pre->header.msg_len = htobe16((uint16_t)msg_len);
	pre->keyblock_type = htobe16(fmt);
	return buf + sizeof(*pre);
}

/* MEB: exponent, modulus, message, each right-justified in 'size'. */
static inline size_t build_meb(uint8_t *buf, const uint8_t *exp, const uint8_t *mod,
			const uint8_t *msg, size_t len)
{
	size_t size = type50_field(len), total = sizeof(struct type50_prefix) + 3 * size;
	uint8_t *f = type50_prefix(buf, total, size == 128 ? TYPE50_MEB1_FMT :
						size == 256 ? TYPE50_MEB2_FMT : TYPE50_MEB3_FMT);

	memcpy(f + size - len, exp, len);
	memcpy(f + 2 * size - len, mod, len);
	memcpy(f + 3 * size - len, msg, len);
	return total;
}

/* CRB: p, q, dp, dq, u of size/2, then the message. */
static inline size_t build_crb(uint8_t *buf, const struct rsa_key *k, const uint8_t *msg)
{
	size_t size = type50_field(k->len), h = size / 2;
	size_t total = sizeof(struct type50_prefix) + 5 * h + size;
	uint8_t *f = type50_prefix(buf, total, size == 128 ? TYPE50_CRB1_FMT :
						size == 256 ? TYPE50_CRB2_FMT : TYPE50_CRB3_FMT);
	const uint8_t *parts[5] = { k->p, k->q, k->dp, k->dq, k->u };

	for (int i = 0; i < 5; i++)
		memcpy(f + (i + 1) * h - k->half, parts[i], k->half);
	memcpy(f + 5 * h + size - k->len, msg, k->len);
	return total;
}

#endif
