// SPDX-License-Identifier: MIT
/*
 * The matrix of an mdev (drivers/s390/crypto/vfio_ap_ops.c, the parts about
 * struct ap_matrix): the AP masks, their sysfs formats, the rules an
 * assignment must pass, and the filter that makes the shadow APCB - what
 * the guest actually gets - from the matrix.
 *
 * Masks are in the AP bit order of src/core/ap/ap.h (bit 0 is the leftmost
 * bit of word 0).  KVM keeps a VM's APCB in set_bit() order
 * (src/core/kvm/kvm.h); vfio_ap_mask_to_kvm converts.
 *
 * Locks: none of its own.  The validation and the filter read the mdev
 * list, the matrices and matrix_dev->info: their callers hold guests_lock
 * and mdevs_lock (and perms_mutex for validation), see vfio_ap_private.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "vfio_ap_private.h"
#include "../base/bitmap.h"
#include "../base/log.h"
#include "../sysfs/sysfs.h"

/* ---- masks --------------------------------------------------------------------------- */

unsigned long find_next_bit_inv(const unsigned long *mask, unsigned long nbits,
				unsigned long start)
{
	for (unsigned long bit = start; bit < nbits; bit++) {
		unsigned long word = mask[bit / 64] << (bit % 64);

		/* skip the rest of an empty word at once */
		if (!word) {
			bit |= 63;
			continue;
		}
		bit += (unsigned long)__builtin_clzl(word);
		return bit < nbits ? bit : nbits;
	}
	return nbits;
}

void vfio_ap_mask_zero(unsigned long *m)
{
	memset(m, 0, AP_MASK_LONGS * sizeof(*m));
}

bool vfio_ap_mask_empty(const unsigned long *m)
{
	for (unsigned int i = 0; i < AP_MASK_LONGS; i++)
		if (m[i])
			return false;
	return true;
}

bool vfio_ap_mask_equal(const unsigned long *a, const unsigned long *b)
{
	return !memcmp(a, b, AP_MASK_LONGS * sizeof(*a));
}

bool vfio_ap_mask_intersects(const unsigned long *a, const unsigned long *b)
{
	for (unsigned int i = 0; i < AP_MASK_LONGS; i++)
		if (a[i] & b[i])
			return true;
	return false;
}

bool vfio_ap_mask_and(unsigned long *out, const unsigned long *a, const unsigned long *b)
{
	bool any = false;

	for (unsigned int i = 0; i < AP_MASK_LONGS; i++) {
		out[i] = a[i] & b[i];
		any |= out[i] != 0;
	}
	return any;
}

bool vfio_ap_mask_andnot(unsigned long *out, const unsigned long *a, const unsigned long *b)
{
	bool any = false;

	for (unsigned int i = 0; i < AP_MASK_LONGS; i++) {
		out[i] = a[i] & ~b[i];
		any |= out[i] != 0;
	}
	return any;
}

void vfio_ap_mask_to_kvm(const unsigned long *ap, unsigned long *kvm_mask)
{
	unsigned long bit;

	vfio_ap_mask_zero(kvm_mask);
	for_each_set_bit_inv(bit, ap, AP_DEVICES)
		set_bit(bit, kvm_mask);
}

void vfio_ap_mask_from_kvm(const unsigned long *kvm_mask, unsigned long *ap)
{
	vfio_ap_mask_zero(ap);
	for (uint64_t bit = find_next_bit(kvm_mask, AP_DEVICES, 0); bit < AP_DEVICES;
	     bit = find_next_bit(kvm_mask, AP_DEVICES, bit + 1))
		set_bit_inv((unsigned int)bit, ap);
}

/* ---- the matrix ------------------------------------------------------------------------ */

/* The maxima: Na/Nd with APXA, else the architecture's 63 and 15. */
void vfio_ap_matrix_init(const struct ap_config_info *info, struct ap_matrix *matrix)
{
	matrix->apm_max = info->apxa ? info->na : 63;
	matrix->aqm_max = info->apxa ? info->nd : 15;
	matrix->adm_max = info->apxa ? info->nd : 15;
}

void ap_matrix_copy(struct ap_matrix *dst, const struct ap_matrix *src)
{
	memcpy(dst->apm, src->apm, sizeof(dst->apm));
	memcpy(dst->aqm, src->aqm, sizeof(dst->aqm));
	memcpy(dst->adm, src->adm, sizeof(dst->adm));
}

/*
 * 'matrix' and 'guest_matrix': one "AA.DDDD" line per APQN; with only
 * adapters "AA." lines, with only domains ".DDDD" lines.  Output beyond a
 * page is cut, as a sysfs page is.
 */
ssize_t vfio_ap_mdev_matrix_show(const struct ap_matrix *matrix, char *buf)
{
	unsigned long napm = matrix->apm_max + 1, naqm = matrix->aqm_max + 1;
	unsigned long apid, apqi;
	bool have_apid = find_next_bit_inv(matrix->apm, napm, 0) < napm;
	bool have_apqi = find_next_bit_inv(matrix->aqm, naqm, 0) < naqm;
	size_t n = 0;

	if (have_apid && have_apqi) {
		for_each_set_bit_inv(apid, matrix->apm, napm)
			for_each_set_bit_inv(apqi, matrix->aqm, naqm)
				n += (size_t)sysfs_emit_at(buf, n, "%02lx.%04lx\n", apid, apqi);
	} else if (have_apid) {
		for_each_set_bit_inv(apid, matrix->apm, napm)
			n += (size_t)sysfs_emit_at(buf, n, "%02lx.\n", apid);
	} else if (have_apqi) {
		for_each_set_bit_inv(apqi, matrix->aqm, naqm)
			n += (size_t)sysfs_emit_at(buf, n, ".%04lx\n", apqi);
	}
	return (ssize_t)n;
}

ssize_t vfio_ap_control_domains_show(const struct ap_matrix *matrix, char *buf)
{
	unsigned long id;
	size_t n = 0;

	for_each_set_bit_inv(id, matrix->adm, matrix->adm_max + 1)
		n += (size_t)sysfs_emit_at(buf, n, "%04lx\n", id);
	return (ssize_t)n;
}

static size_t write_ap_bitmap(const unsigned long *m, char *buf, size_t at, char sep)
{
	return (size_t)sysfs_emit_at(buf, at, "0x%016lx%016lx%016lx%016lx%c", m[0], m[1], m[2],
				     m[3], sep);
}

ssize_t vfio_ap_ap_config_show(const struct ap_matrix *matrix, char *buf)
{
	size_t n = write_ap_bitmap(matrix->apm, buf, 0, ',');

	n += write_ap_bitmap(matrix->aqm, buf, n, ',');
	n += write_ap_bitmap(matrix->adm, buf, n, '\n');
	return (ssize_t)n;
}

/* The longest ap_config the store looks at: three "0x" + 64 digits + 1. */
#define AP_DEVICES_STRLEN	(AP_DEVICES / 4 + 3)
#define AP_DOMAINS_STRLEN	(AP_DOMAINS / 4 + 3)
#define AP_CONFIG_STRLEN	(AP_DEVICES_STRLEN + 2 * AP_DOMAINS_STRLEN)

static int parse_bitmap(char **rest, unsigned long *bitmap)
{
	char *cur = strsep(rest, ",\n");

	if (!cur)
		return -EINVAL;
	vfio_ap_mask_zero(bitmap);
	return ap_hex2bitmap(cur, bitmap, AP_DEVICES);
}

/*
 * As the kernel's ap_config_store: the first AP_CONFIG_STRLEN bytes
 * (kstrndup), three fields separated by ',' or newline, each an absolute
 * hex mask (ap_hex2bitmap: "0x" optional, filled from the left).  What
 * follows the third field is not looked at.
 */
int vfio_ap_parse_ap_config(const char *buf, size_t len, struct ap_matrix *m)
{
	size_t n = strnlen(buf, len < AP_CONFIG_STRLEN ? len : AP_CONFIG_STRLEN);
	char *copy = strndup(buf, n), *rest = copy;
	int ret;

	if (!copy)
		return -ENOMEM;
	ret = parse_bitmap(&rest, m->apm);
	if (!ret)
		ret = parse_bitmap(&rest, m->aqm);
	if (!ret)
		ret = parse_bitmap(&rest, m->adm);
	free(copy);
	return ret ? -EINVAL : 0;
}

/* Every bit within the maxima of the host's configuration: -ENODEV. */
int ap_matrix_overflow_check(const struct ap_matrix *m)
{
	if (find_next_bit_inv(m->apm, AP_DEVICES, m->apm_max + 1) < AP_DEVICES ||
	    find_next_bit_inv(m->aqm, AP_DOMAINS, m->aqm_max + 1) < AP_DOMAINS ||
	    find_next_bit_inv(m->adm, AP_DOMAINS, m->adm_max + 1) < AP_DOMAINS)
		return -ENODEV;
	return 0;
}

/* ---- assignment rules ------------------------------------------------------------------ */

/* The first APQN of apm x aqm, for a message. */
static void first_apqn(const unsigned long *apm, const unsigned long *aqm, unsigned long *apid,
		       unsigned long *apqi)
{
	*apid = find_next_bit_inv(apm, AP_DEVICES, 0);
	*apqi = find_next_bit_inv(aqm, AP_DOMAINS, 0);
}

/*
 * No APQN of apm x aqm may be assigned to an mdev other than assignee
 * (NULL: to any mdev, the in_use question): -EADDRINUSE.
 */
int vfio_ap_mdev_verify_no_sharing(struct ap_matrix_dev *matrix_dev,
				   struct ap_matrix_mdev *assignee, const unsigned long *mdev_apm,
				   const unsigned long *mdev_aqm)
{
	unsigned long apm[AP_MASK_LONGS], aqm[AP_MASK_LONGS], apid, apqi;
	struct ap_matrix_mdev *assigned_to;

	list_for_each_entry(assigned_to, &matrix_dev->mdev_list, node) {
		if (assignee == assigned_to)
			continue;
		if (!vfio_ap_mask_and(apm, mdev_apm, assigned_to->matrix.apm) ||
		    !vfio_ap_mask_and(aqm, mdev_aqm, assigned_to->matrix.aqm))
			continue;
		first_apqn(apm, aqm, &apid, &apqi);
		if (assignee)
			uvf_warn("vfio_ap", "%s: Userspace may not assign queue %02lx.%04lx to mdev: already assigned to %s",
				 assignee->mdev->dev.name, apid, apqi,
				 assigned_to->mdev->dev.name);
		else
			uvf_warn("vfio_ap", "%s: Can not reserve queue %02lx.%04lx for host driver: in use by mdev",
				 assigned_to->mdev->dev.name, apid, apqi);
		return -EADDRINUSE;
	}
	return 0;
}

/* The mdev's whole matrix: nothing reserved for the default drivers
 * (-EADDRNOTAVAIL), nothing in another mdev (-EADDRINUSE). */
int vfio_ap_mdev_validate_masks(struct ap_matrix_mdev *matrix_mdev)
{
	struct ap_matrix_dev *matrix_dev = matrix_mdev->matrix_dev;

	if (ap_apqn_in_matrix_owned_by_def_drv(matrix_dev->bus, matrix_mdev->matrix.apm,
					       matrix_mdev->matrix.aqm))
		return -EADDRNOTAVAIL;
	return vfio_ap_mdev_verify_no_sharing(matrix_dev, matrix_mdev, matrix_mdev->matrix.apm,
					      matrix_mdev->matrix.aqm);
}

/* ---- the shadow APCB --------------------------------------------------------------------- */

bool vfio_ap_mdev_filter_cdoms(struct ap_matrix_mdev *matrix_mdev)
{
	unsigned long prev_adm[AP_MASK_LONGS];

	memcpy(prev_adm, matrix_mdev->shadow_apcb.adm, sizeof(prev_adm));
	vfio_ap_mask_and(matrix_mdev->shadow_apcb.adm, matrix_mdev->matrix.adm,
			 matrix_mdev->matrix_dev->info.adm);
	return !vfio_ap_mask_equal(prev_adm, matrix_mdev->shadow_apcb.adm);
}

/*
 * The adapters and domains of the matrix that are in the host's
 * configuration, less every adapter with an APQN that is not a queue bound
 * to vfio_ap and usable: the architecture cannot take a single APQN away,
 * and an adapter is the physical unit.  Domains are never dropped for this.
 * apm_filtered: plugged adapters dropped now (their queues need a reset).
 */
bool vfio_ap_mdev_filter_matrix(struct ap_matrix_mdev *matrix_mdev, unsigned long *apm_filtered)
{
	const struct ap_config_info *info = &matrix_mdev->matrix_dev->info;
	struct ap_matrix *shadow = &matrix_mdev->shadow_apcb;
	unsigned long prev_apm[AP_MASK_LONGS], prev_aqm[AP_MASK_LONGS];
	unsigned long apid, apqi;

	memcpy(prev_apm, shadow->apm, sizeof(prev_apm));
	memcpy(prev_aqm, shadow->aqm, sizeof(prev_aqm));
	vfio_ap_matrix_init(info, shadow);
	vfio_ap_mask_zero(apm_filtered);
	vfio_ap_mask_and(shadow->apm, matrix_mdev->matrix.apm, info->apm);
	vfio_ap_mask_and(shadow->aqm, matrix_mdev->matrix.aqm, info->aqm);

	for_each_set_bit_inv(apid, shadow->apm, AP_DEVICES) {
		for_each_set_bit_inv(apqi, shadow->aqm, AP_DOMAINS) {
			int apqn = (int)AP_MKQID(apid, apqi);

			if (vfio_ap_queue_passable(vfio_ap_mdev_get_queue(matrix_mdev, apqn)))
				continue;
			clear_bit_inv((unsigned int)apid, shadow->apm);
			if (test_bit_inv((unsigned int)apid, prev_apm))
				set_bit_inv((unsigned int)apid, apm_filtered);
			break;
		}
	}
	return !vfio_ap_mask_equal(prev_apm, shadow->apm) ||
	       !vfio_ap_mask_equal(prev_aqm, shadow->aqm);
}
