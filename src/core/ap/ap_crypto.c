// SPDX-License-Identifier: MIT
/*
 * What an accelerator computes: RSA modular exponentiation with a modulus
 * and exponent, and with the CRT key parts (Garner's recombination with
 * u = q^-1 mod p, the form zcrypt's ICARSACRT passes).  The arithmetic is
 * GMP's; operands arrive and results leave as big-endian byte strings.
 *
 * Operands an accelerator refuses get the reply codes the kernel's
 * convert_error() knows: an even modulus or prime REP82_ERROR_EVEN_MOD_IN_OPND,
 * a zero or one modulus/prime and a message not below its modulus
 * REP82_ERROR_OPERAND_INVALID.  No locks.
 */
#include <string.h>
#include <gmp.h>
#include "ap_hw.h"

static void bytes_to_mpz(mpz_t z, const uint8_t *buf, size_t len)
{
	mpz_import(z, len, 1, 1, 1, 0, buf);
}

/* z right-justified in out[outlen]; z must fit (callers reduce mod n). */
static void mpz_to_bytes(const mpz_t z, uint8_t *out, size_t outlen)
{
	size_t n = (mpz_sizeinbase(z, 2) + 7) / 8;

	memset(out, 0, outlen);
	if (mpz_sgn(z) == 0 || n > outlen)
		return;
	mpz_export(out + outlen - n, NULL, 1, 1, 1, 0, z);
}

/* A modulus or prime the adapter can work with: odd and above one. */
static int check_modulus(const mpz_t n)
{
	if (mpz_cmp_ui(n, 1) <= 0)
		return REP82_ERROR_OPERAND_INVALID;
	if (mpz_even_p(n))
		return REP82_ERROR_EVEN_MOD_IN_OPND;
	return 0;
}

int ap_rsa_modexpo(const uint8_t *msg, const uint8_t *exp, const uint8_t *mod, size_t len,
		   uint8_t *out, size_t outlen)
{
	mpz_t m, e, n, r;
	int ret;

	mpz_inits(m, e, n, r, NULL);
	bytes_to_mpz(m, msg, len);
	bytes_to_mpz(e, exp, len);
	bytes_to_mpz(n, mod, len);
	ret = check_modulus(n);
	if (!ret && mpz_cmp(m, n) >= 0)
		ret = REP82_ERROR_OPERAND_INVALID;
	if (!ret) {
		mpz_powm(r, m, e, n);
		mpz_to_bytes(r, out, outlen);
	}
	mpz_clears(m, e, n, r, NULL);
	return ret;
}

/*
 * m1 = c^dp mod p, m2 = c^dq mod q, h = u * (m1 - m2) mod p,
 * result = m2 + h * q.  Correct for c < p*q whatever the exponents are,
 * as long as u is q's inverse mod p.
 */
int ap_rsa_crt(const uint8_t *msg, size_t len, const uint8_t *p, const uint8_t *q,
	       const uint8_t *dp, const uint8_t *dq, const uint8_t *u, size_t half,
	       uint8_t *out, size_t outlen)
{
	mpz_t c, zp, zq, zdp, zdq, zu, m1, m2, h;
	int ret;

	mpz_inits(c, zp, zq, zdp, zdq, zu, m1, m2, h, NULL);
	bytes_to_mpz(c, msg, len);
	bytes_to_mpz(zp, p, half);
	bytes_to_mpz(zq, q, half);
	bytes_to_mpz(zdp, dp, half);
	bytes_to_mpz(zdq, dq, half);
	bytes_to_mpz(zu, u, half);
	ret = check_modulus(zp);
	if (!ret)
		ret = check_modulus(zq);
	if (!ret) {
		mpz_mul(h, zp, zq);
		if (mpz_cmp(c, h) >= 0)
			ret = REP82_ERROR_OPERAND_INVALID;
	}
	if (!ret) {
		mpz_powm(m1, c, zdp, zp);
		mpz_powm(m2, c, zdq, zq);
		mpz_sub(h, m1, m2);
		mpz_mul(h, h, zu);
		mpz_mod(h, h, zp);		/* mpz_mod's result is never negative */
		mpz_mul(h, h, zq);
		mpz_add(h, h, m2);
		mpz_to_bytes(h, out, outlen);
	}
	mpz_clears(c, zp, zq, zdp, zdq, zu, m1, m2, h, NULL);
	return ret;
}
