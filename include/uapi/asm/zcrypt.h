/* SPDX-License-Identifier: MIT */
/*
 * The zcrypt uAPI of s390 (/dev/z90crypt), as arch/s390/include/uapi/
 * asm/zcrypt.h of Linux 6.12 defines it: the RSA request structs and the
 * ioctl numbers.  Written for uvfio (x86 systems have no <asm/zcrypt.h>);
 * layouts are the kernel's on a 64-bit machine: pointers are 8 bytes and
 * the structs are naturally aligned.
 *
 * All key parts and data are big-endian byte strings, right-justified in
 * their buffers and padded on the left with zeroes.
 */
#ifndef UVF_UAPI_ASM_ZCRYPT_H
#define UVF_UAPI_ASM_ZCRYPT_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define ZCRYPT_VERSION 2
#define ZCRYPT_RELEASE 2
#define ZCRYPT_VARIANT 1

#define ZCRYPT_NAME "zcrypt"

/*
 * RSA with a modulus and an exponent: outputdata = inputdata^b_key mod
 * n_modulus.  b_key and n_modulus are inputdatalength bytes long;
 * outputdatalength must be at least inputdatalength, and the kernel writes
 * inputdatalength back into it.
 */
struct ica_rsa_modexpo {
	__u8 *inputdata;
	__u32 inputdatalength;
	__u8 *outputdata;
	__u32 outputdatalength;
	__u8 *b_key;
	__u8 *n_modulus;
};

/*
 * RSA with the Chinese-Remainder-Theorem key parts of a modulus n = p*q:
 * bp_key = d mod (p-1), bq_key = d mod (q-1), u_mult_inv = q^-1 mod p.
 * The "p" parts (bp_key, np_prime, u_mult_inv) are inputdatalength/2 + 8
 * bytes long, the first 8 of them ignored (a type 4 message leftover);
 * bq_key and nq_prime are inputdatalength/2 bytes.
 */
struct ica_rsa_modexpo_crt {
	__u8 *inputdata;
	__u32 inputdatalength;
	__u8 *outputdata;
	__u32 outputdatalength;
	__u8 *bp_key;
	__u8 *bq_key;
	__u8 *np_prime;
	__u8 *nq_prime;
	__u8 *u_mult_inv;
};

#define MAX_ZDEV_CARDIDS_EXT 256
#define MAX_ZDEV_DOMAINS_EXT 256
#define MAX_ZDEV_CARDIDS 64
#define MAX_ZDEV_DOMAINS 256

#define ZCRYPT_IOCTL_MAGIC 'z'

/* The size field of these four is 0: the struct size is not encoded. */
#define ICARSAMODEXPO	_IOC(_IOC_READ | _IOC_WRITE, ZCRYPT_IOCTL_MAGIC, 0x05, 0)
#define ICARSACRT	_IOC(_IOC_READ | _IOC_WRITE, ZCRYPT_IOCTL_MAGIC, 0x06, 0)
#define ZSECSENDCPRB	_IOC(_IOC_READ | _IOC_WRITE, ZCRYPT_IOCTL_MAGIC, 0x81, 0)
#define ZSENDEP11CPRB	_IOC(_IOC_READ | _IOC_WRITE, ZCRYPT_IOCTL_MAGIC, 0x04, 0)

#define ZCRYPT_DEVICE_STATUS _IOC(_IOC_READ | _IOC_WRITE, ZCRYPT_IOCTL_MAGIC, 0x5f, 0)
#define ZCRYPT_STATUS_MASK   _IOR(ZCRYPT_IOCTL_MAGIC, 0x58, char[MAX_ZDEV_CARDIDS_EXT])
#define ZCRYPT_QDEPTH_MASK   _IOR(ZCRYPT_IOCTL_MAGIC, 0x59, char[MAX_ZDEV_CARDIDS_EXT])
#define ZCRYPT_PERDEV_REQCNT _IOR(ZCRYPT_IOCTL_MAGIC, 0x5a, int[MAX_ZDEV_CARDIDS_EXT])

/* Deprecated, still served by the kernel. */
#define Z90STAT_STATUS_MASK	_IOR(ZCRYPT_IOCTL_MAGIC, 0x48, char[64])
#define Z90STAT_QDEPTH_MASK	_IOR(ZCRYPT_IOCTL_MAGIC, 0x49, char[64])
#define Z90STAT_PERDEV_REQCNT	_IOR(ZCRYPT_IOCTL_MAGIC, 0x4a, int[64])
#define Z90STAT_REQUESTQ_COUNT	_IOR(ZCRYPT_IOCTL_MAGIC, 0x44, int)
#define Z90STAT_PENDINGQ_COUNT	_IOR(ZCRYPT_IOCTL_MAGIC, 0x45, int)
#define Z90STAT_TOTALOPEN_COUNT	_IOR(ZCRYPT_IOCTL_MAGIC, 0x46, int)
#define Z90STAT_DOMAIN_INDEX	_IOR(ZCRYPT_IOCTL_MAGIC, 0x47, int)

#endif
