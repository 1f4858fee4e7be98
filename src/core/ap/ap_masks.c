// SPDX-License-Identifier: MIT
/*
 * apmask and aqmask: which APQNs are reserved for the default (zcrypt)
 * drivers, and how a store changes them.
 *
 * The string formats are ap_parse_bitmap_str()'s:
 *  - absolute: an optional "0x" (or just "x"), then hex digits filling the
 *    256-bit mask from the left (ID 0 is the first digit's top bit), the
 *    rest zero; at most one trailing newline.  Anything else, or more
 *    digits than the mask holds, is -EINVAL.  No digits at all is a valid
 *    all-zero mask, as in the kernel.
 *  - relative, when the first character is '+' or '-': terms "+N", "-N",
 *    "+A-B", "-A-B" (inclusive), applied in order to the current mask,
 *    separated by any run of ',' and newlines (or by nothing: "+1+2" is two
 *    terms).  Numbers are read as simple_strtoul(s, &end, 0) reads them:
 *    "0x" followed by a hex digit is hex, a leading 0 octal, else decimal,
 *    no sign, and an overflowing number wraps as it does there.  A term
 *    without a number, a number >= 256, or A > B is -EINVAL.
 * A failed parse changes nothing.
 *
 * A store that reserves more APQNs for the default drivers asks every
 * driver's in_use() about the newly reserved ones (new APIDs x current
 * aqmask, or current apmask x new APQIs); any non-zero answer makes the
 * store fail with -EBUSY and change nothing.  After a change every queue
 * whose reservation flipped is re-probed (ap_bus_revise_bindings).
 *
 * Locks: perms_mutex around the parse, in_use calls and the commit (the
 * driver list cannot change under it); the re-probe runs after it is
 * released, under bus->lock.
 */
#include <errno.h>
#include <string.h>
#include "ap_priv.h"
#include "../base/log.h"
#include "../sysfs/sysfs.h"

#define MASK_BYTES (AP_MASK_LONGS * sizeof(unsigned long))

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* simple_strtoul(s, end, 0). */
static unsigned long parse_ulong(const char *s, const char **end)
{
	unsigned int base = 10;
	unsigned long val = 0;
	int d;

	if (s[0] == '0') {
		base = 8;
		if ((s[1] == 'x' || s[1] == 'X') && hex_digit(s[2]) >= 0) {
			base = 16;
			s += 2;
		}
	}
	for (; (d = hex_digit(*s)) >= 0 && (unsigned int)d < base; s++)
		val = val * base + (unsigned int)d;
	*end = s;
	return val;
}

int ap_hex2bitmap(const char *str, unsigned long *bitmap, int bits)
{
	int i = 0, d;

	if (bits & 7)
		return -EINVAL;
	if (str[0] == '0' && str[1] == 'x')
		str++;
	if (*str == 'x')
		str++;
	for (; (d = hex_digit(*str)) >= 0 && i < bits; str++, i += 4)
		for (int n = 0; n < 4; n++)
			if (d & (8 >> n))
				set_bit_inv((unsigned int)(i + n), bitmap);
	if (*str == '\n')
		str++;
	return *str ? -EINVAL : 0;
}

/* Apply "+A-B,-C,..." to bitmap. */
static int modify_bitmap(const char *str, unsigned long *bitmap, int bits)
{
	while (*str) {
		char sign = *str++;
		unsigned long a, z;
		const char *end;

		if (sign != '+' && sign != '-')
			return -EINVAL;
		a = z = parse_ulong(str, &end);
		if (end == str || a >= (unsigned long)bits)
			return -EINVAL;
		str = end;
		if (*str == '-') {
			z = parse_ulong(++str, &end);
			if (end == str || a > z || z >= (unsigned long)bits)
				return -EINVAL;
			str = end;
		}
		for (unsigned long i = a; i <= z; i++) {
			if (sign == '+')
				set_bit_inv((unsigned int)i, bitmap);
			else
				clear_bit_inv((unsigned int)i, bitmap);
		}
		while (*str == ',' || *str == '\n')
			str++;
	}
	return 0;
}

int ap_parse_bitmap_str(const char *str, const unsigned long *bitmap, int bits,
			unsigned long *newmap)
{
	size_t size = (size_t)(bits + 63) / 64 * sizeof(unsigned long);

	if (bits & 7)
		return -EINVAL;
	if (*str == '+' || *str == '-') {
		memcpy(newmap, bitmap, size);
		return modify_bitmap(str, newmap, bits);
	}
	memset(newmap, 0, size);
	return ap_hex2bitmap(str, newmap, bits);
}

/* Parse into bitmap, which is left alone on failure (the kernel's
 * ap_parse_mask_str without the lock: the caller holds what it needs). */
int ap_parse_mask_str(const char *str, unsigned long *bitmap, int bits)
{
	unsigned long newmap[AP_MASK_LONGS];
	int ret;

	if (bits <= 0 || bits > AP_DEVICES)
		return -EINVAL;
	ret = ap_parse_bitmap_str(str, bitmap, bits, newmap);
	if (!ret)
		memcpy(bitmap, newmap, (size_t)(bits + 63) / 64 * sizeof(unsigned long));
	return ret;
}

int ap_mask_show(char *buf, const unsigned long *mask)
{
	return (int)sysfs_emit(buf, "0x%016lx%016lx%016lx%016lx\n", mask[0], mask[1], mask[2],
			       mask[3]);
}

bool ap_mask_andnot(unsigned long *out, const unsigned long *a, const unsigned long *b)
{
	bool any = false;

	for (unsigned int i = 0; i < AP_MASK_LONGS; i++) {
		out[i] = a[i] & ~b[i];
		any |= out[i] != 0;
	}
	return any;
}

/* Ask every driver whether apm x aqm is in use; -EBUSY if one says so. */
static int verify_reservations(struct ap_bus *bus, unsigned long *apm, unsigned long *aqm)
{
	struct ap_driver *drv;

	list_for_each_entry(drv, &bus->drivers, link) {
		if (drv->in_use && drv->in_use(drv, apm, aqm))
			return -EBUSY;
	}
	return 0;
}

/* perms_mutex held.  *changed tells whether the mask changed. */
static int mask_store_locked(struct ap_bus *bus, bool adapters, const char *buf,
			     bool *changed)
{
	unsigned long *cur = adapters ? bus->apm : bus->aqm;
	unsigned long newm[AP_MASK_LONGS], added[AP_MASK_LONGS];
	int ret;

	*changed = false;
	ret = ap_parse_bitmap_str(buf, cur, AP_DEVICES, newm);
	if (ret || !memcmp(cur, newm, MASK_BYTES))
		return ret;
	if (ap_mask_andnot(added, newm, cur)) {
		ret = adapters ? verify_reservations(bus, added, bus->aqm) :
				 verify_reservations(bus, bus->apm, added);
		if (ret)
			return ret;
	}
	memcpy(cur, newm, MASK_BYTES);
	*changed = true;
	return 0;
}

int apmask_store_locked(struct ap_bus *bus, const char *buf, bool *changed)
{
	return mask_store_locked(bus, true, buf, changed);
}

int aqmask_store_locked(struct ap_bus *bus, const char *buf, bool *changed)
{
	return mask_store_locked(bus, false, buf, changed);
}
