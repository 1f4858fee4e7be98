// SPDX-License-Identifier: MIT
/*
 * vfio_ap, the driver's side: the matrix device and its type, every errno
 * of the assignment attributes and of ap_config (kernel-uapi.md 5.4) with
 * nothing changed on failure, the attribute formats, over-provisioning and
 * its appearance after a host configuration change, the shadow APCB
 * filtered by APID (5.5), the in_use veto of apmask/aqmask stores (EBUSY,
 * nothing changes), the KVM requirement at open (EINVAL) and one mdev per
 * VM (EPERM), the device ioctls, the REQ and CFG_CHG eventfds, the queues'
 * 'status', and a concurrency smoke test of assignments, mask stores and
 * guest instructions with vfio_ap's invariant checker.
 *
 * The default host (vfio_ap_test.h has its AP layout).
 */
#include "harness.h"
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#include "vfio_mock.h"
#include "iommufd_helpers.h"
#include "ap_test.h"
#include "vfio_ap_test.h"
#include "core/base/log.h"

struct fixture {
	struct uvf_host *h;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->h = test_host_default();
	for (unsigned int c = 4; c <= 5; c++)
		for (unsigned int d = 7; d <= 8; d++)
			vap_wait_settled(f->h, c, d);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	host_free(f->h);
	free(f);
	return 0;
}

static bool mask_empty(const unsigned long *m)
{
	for (unsigned int i = 0; i < AP_MASK_LONGS; i++)
		if (m[i])
			return false;
	return true;
}

static const char *matrix_of(struct uvf_host *h, const char *uuid)
{
	static char buf[SYSFS_PAGE_SIZE + 1];

	return vap_show(h, uuid, "matrix", buf, sizeof(buf));
}

static const char *guest_matrix_of(struct uvf_host *h, const char *uuid)
{
	static char buf[SYSFS_PAGE_SIZE + 1];

	return vap_show(h, uuid, "guest_matrix", buf, sizeof(buf));
}

/* An mdev with adapters x domains assigned. */
static void mdev_with(struct uvf_host *h, const char *uuid, const char *adapters,
		      const char *domains)
{
	char one[8];

	assert_int_equal(vap_create(h, uuid), 36);
	for (const char *a = adapters; a && *a; a += strcspn(a, ",") + (a[strcspn(a, ",")] != 0)) {
		snprintf(one, sizeof(one), "%.*s", (int)strcspn(a, ","), a);
		assert_errno(vap_store(h, uuid, "assign_adapter", one), (long)strlen(one));
	}
	for (const char *d = domains; d && *d; d += strcspn(d, ",") + (d[strcspn(d, ",")] != 0)) {
		snprintf(one, sizeof(one), "%.*s", (int)strcspn(d, ","), d);
		assert_errno(vap_store(h, uuid, "assign_domain", one), (long)strlen(one));
	}
}

/* ---- the device and its type ------------------------------------------------------------ */

static void test_layout(void **state)
{
	struct fixture *f = *state;
	struct uvf_host *h = f->h;

	assert_string_equal(ap_read(h, VAP_MATRIX "/features"), "guest_matrix hotplug ap_config");
	assert_string_equal(ap_read(h, VAP_TYPE "/name"), "VFIO AP Passthrough Device");
	assert_string_equal(ap_read(h, VAP_TYPE "/device_api"), "vfio-ap");
	assert_string_equal(ap_read(h, VAP_TYPE "/available_instances"), "65536");
	assert_true(ap_exists(h, "/class/mdev_bus/matrix"));
	assert_true(ap_exists(h, "/bus/matrix/devices/matrix"));
	assert_true(ap_exists(h, "/bus/ap/drivers/vfio_ap"));
	/* what apmask x aqmask does not reserve is vfio_ap's */
	assert_string_equal(ap_driver_of(h, "/devices/ap/card04/04.0004"), "vfio_ap");
	assert_string_equal(ap_driver_of(h, "/devices/ap/card00/00.0007"), "vfio_ap");
	assert_string_equal(ap_driver_of(h, "/devices/ap/card00/00.0004"), "cex4queue");
	assert_false(ap_exists(h, "/devices/ap/card00/00.0004/status"));
	assert_string_equal(vap_queue_status(h, 4, 7), "unassigned");

	assert_int_equal(vap_create(h, VAP_UUID1), 36);
	assert_string_equal(ap_read(h, VAP_TYPE "/available_instances"), "65535");
	assert_string_equal(matrix_of(h, VAP_UUID1), "");
	assert_string_equal(guest_matrix_of(h, VAP_UUID1), "");
	assert_attr_text(h, VAP_UUID1, "control_domains", "");
	assert_attr_text(h, VAP_UUID1, "ap_config",
			 "0x0000000000000000000000000000000000000000000000000000000000000000,"
			 "0x0000000000000000000000000000000000000000000000000000000000000000,"
			 "0x0000000000000000000000000000000000000000000000000000000000000000\n");
	assert_string_equal(ap_driver_of(h, VAP_MATRIX "/" VAP_UUID1), "vfio_ap_mdev");
	assert_string_equal(ap_driver_of(h, VAP_MATRIX), "vfio_ap");
}

/* ---- assignment errors (5.4): nothing changes on failure --------------------------------- */

static void test_assign_adapter_errors(void **state)
{
	struct uvf_host *h = ((struct fixture *)*state)->h;
	static const struct { const char *in; long want; } cases[] = {
		{ "abc", -EINVAL }, { "4x", -EINVAL }, { "-1", -EINVAL }, { " 4", -EINVAL },
		{ "0x", -EINVAL }, { "99999999999999999999999", -ERANGE },
		{ "256", -ENODEV }, { "0x100", -ENODEV }, { "4294967296", -ENODEV },
	};

	mdev_with(h, VAP_UUID1, "4", "7");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_errno(vap_store(h, VAP_UUID1, "assign_adapter", cases[i].in), cases[i].want);
		assert_errno(vap_store(h, VAP_UUID1, "assign_domain", cases[i].in), cases[i].want);
		assert_errno(vap_store(h, VAP_UUID1, "unassign_adapter", cases[i].in),
			     cases[i].want);
		assert_errno(vap_store(h, VAP_UUID1, "unassign_domain", cases[i].in), cases[i].want);
		assert_errno(vap_store(h, VAP_UUID1, "assign_control_domain", cases[i].in),
			     cases[i].want);
		assert_errno(vap_store(h, VAP_UUID1, "unassign_control_domain", cases[i].in),
			     cases[i].want);
	}
	assert_string_equal(matrix_of(h, VAP_UUID1), "04.0007\n");
	assert_attr_text(h, VAP_UUID1, "control_domains", "");
	/* kstrtoul base 0: hex, octal, a trailing newline; the maximum is fine */
	assert_errno(vap_store(h, VAP_UUID1, "assign_adapter", "0x5\n"), 4);
	assert_errno(vap_store(h, VAP_UUID1, "assign_domain", "010"), 3);
	assert_errno(vap_store(h, VAP_UUID1, "assign_adapter", "255"), 3);
	assert_string_equal(matrix_of(h, VAP_UUID1),
			    "04.0007\n04.0008\n05.0007\n05.0008\nff.0007\nff.0008\n");
	/* already assigned / not assigned: success, nothing changes */
	assert_errno(vap_store(h, VAP_UUID1, "assign_adapter", "4"), 1);
	assert_errno(vap_store(h, VAP_UUID1, "unassign_adapter", "9"), 1);
	assert_errno(vap_store(h, VAP_UUID1, "unassign_domain", "0"), 1);
	assert_errno(vap_store(h, VAP_UUID1, "unassign_adapter", "255"), 3);
	assert_string_equal(matrix_of(h, VAP_UUID1), "04.0007\n04.0008\n05.0007\n05.0008\n");
}

/* An APQN of the new matrix reserved for zcrypt: EADDRNOTAVAIL. */
static void test_assign_reserved(void **state)
{
	struct uvf_host *h = ((struct fixture *)*state)->h;

	mdev_with(h, VAP_UUID1, NULL, "4");
	/* 00.0004 is zcrypt's (apmask 0-3 x aqmask 0-6) */
	assert_errno(vap_store(h, VAP_UUID1, "assign_adapter", "0"), -EADDRNOTAVAIL);
	assert_string_equal(matrix_of(h, VAP_UUID1), ".0004\n");
	/* adapter 4 is not reserved for any domain */
	assert_errno(vap_store(h, VAP_UUID1, "assign_adapter", "4"), 1);
	assert_errno(vap_store(h, VAP_UUID1, "unassign_domain", "4"), 1);
	/* adapter 0 with domain 7: 00.0007 is free; then domain 5 makes 00.0005 */
	assert_errno(vap_store(h, VAP_UUID1, "assign_domain", "7"), 1);
	assert_errno(vap_store(h, VAP_UUID1, "assign_adapter", "0"), 1);
	assert_errno(vap_store(h, VAP_UUID1, "assign_domain", "5"), -EADDRNOTAVAIL);
	assert_string_equal(matrix_of(h, VAP_UUID1), "00.0007\n04.0007\n");
	/* over-provisioning: an adapter the machine does not have, a domain
	 * outside the configuration, both free of zcrypt */
	assert_errno(vap_store(h, VAP_UUID1, "assign_adapter", "200"), 3);
	assert_errno(vap_store(h, VAP_UUID1, "assign_domain", "8"), 1);
	assert_string_equal(guest_matrix_of(h, VAP_UUID1),
			    "00.0007\n00.0008\n04.0007\n04.0008\n");
	assert_string_equal(vap_queue_status(h, 0, 8), "assigned");
}

/* An APQN of the new matrix in another mdev: EADDRINUSE. */
static void test_assign_in_use(void **state)
{
	struct uvf_host *h = ((struct fixture *)*state)->h;

	mdev_with(h, VAP_UUID1, "4", "7");
	mdev_with(h, VAP_UUID2, "5", "7,8");
	assert_errno(vap_store(h, VAP_UUID2, "assign_adapter", "4"), -EADDRINUSE);
	assert_string_equal(matrix_of(h, VAP_UUID2), "05.0007\n05.0008\n");
	/* the same adapter with other domains is fine */
	assert_int_equal(vap_create(h, VAP_UUID3), 36);
	assert_errno(vap_store(h, VAP_UUID3, "assign_domain", "8"), 1);
	assert_errno(vap_store(h, VAP_UUID3, "assign_adapter", "4"), 1);
	assert_errno(vap_store(h, VAP_UUID3, "assign_domain", "7"), -EADDRINUSE);
	assert_string_equal(matrix_of(h, VAP_UUID3), "04.0008\n");
	/* gone from mdev1, it can be taken */
	assert_errno(vap_store(h, VAP_UUID1, "unassign_domain", "7"), 1);
	assert_errno(vap_store(h, VAP_UUID3, "assign_domain", "7"), 1);
	assert_string_equal(matrix_of(h, VAP_UUID1), "04.\n");
	assert_string_equal(matrix_of(h, VAP_UUID3), "04.0007\n04.0008\n");
	vap_assert_invariants(h);
}

/* Control domains: shared, never checked against apmask/aqmask. */
static void test_control_domains(void **state)
{
	struct uvf_host *h = ((struct fixture *)*state)->h;

	mdev_with(h, VAP_UUID1, "4", "7");
	mdev_with(h, VAP_UUID2, "5", "7");
	assert_errno(vap_store(h, VAP_UUID1, "assign_control_domain", "4"), 1);
	assert_errno(vap_store(h, VAP_UUID1, "assign_control_domain", "0xb"), 3);
	assert_errno(vap_store(h, VAP_UUID1, "assign_control_domain", "200"), 3);
	assert_errno(vap_store(h, VAP_UUID2, "assign_control_domain", "4"), 1);
	assert_attr_text(h, VAP_UUID1, "control_domains", "0004\n000b\n00c8\n");
	assert_attr_text(h, VAP_UUID2, "control_domains", "0004\n");
	assert_attr_text(h, VAP_UUID1, "ap_config",
			 "0x0800000000000000000000000000000000000000000000000000000000000000,"
			 "0x0100000000000000000000000000000000000000000000000000000000000000,"
			 "0x0810000000000000000000000000000000000000000000000080000000000000\n");
	assert_errno(vap_store(h, VAP_UUID1, "unassign_control_domain", "11"), 2);
	assert_errno(vap_store(h, VAP_UUID1, "unassign_control_domain", "12"), 2);
	assert_attr_text(h, VAP_UUID1, "control_domains", "0004\n00c8\n");
}

/* ---- formats -------------------------------------------------------------------------- */

static void test_matrix_formats(void **state)
{
	struct uvf_host *h = ((struct fixture *)*state)->h;

	mdev_with(h, VAP_UUID1, "5,4", NULL);
	assert_string_equal(matrix_of(h, VAP_UUID1), "04.\n05.\n");
	assert_string_equal(guest_matrix_of(h, VAP_UUID1), "04.\n05.\n");
	mdev_with(h, VAP_UUID2, NULL, "8,7");
	assert_string_equal(matrix_of(h, VAP_UUID2), ".0007\n.0008\n");
	/* no APQN yet on either side: no sharing */
	assert_errno(vap_store(h, VAP_UUID1, "assign_domain", "8"), 1);
	assert_errno(vap_store(h, VAP_UUID1, "assign_domain", "7"), 1);
	assert_string_equal(matrix_of(h, VAP_UUID1), "04.0007\n04.0008\n05.0007\n05.0008\n");
	assert_errno(vap_store(h, VAP_UUID2, "assign_adapter", "4"), -EADDRINUSE);
	assert_string_equal(matrix_of(h, VAP_UUID2), ".0007\n.0008\n");
	/* no KVM: the guest matrix is what a guest would get */
	assert_string_equal(guest_matrix_of(h, VAP_UUID1), "04.0007\n04.0008\n05.0007\n05.0008\n");
	assert_attr_text(h, VAP_UUID1, "ap_config",
			 "0x0c00000000000000000000000000000000000000000000000000000000000000,"
			 "0x0180000000000000000000000000000000000000000000000000000000000000,"
			 "0x0000000000000000000000000000000000000000000000000000000000000000\n");
}

/* ---- ap_config --------------------------------------------------------------------------- */

static const char *ap_config_of(struct uvf_host *h, const char *uuid, char *buf, size_t n)
{
	return vap_show(h, uuid, "ap_config", buf, n);
}

static void test_ap_config_store(void **state)
{
	struct uvf_host *h = ((struct fixture *)*state)->h;
	char before[512], after[512];
	static const char *const invalid[] = {
		"garbage", "0x1,0x2", "0x1;0x2;0x3", "0x1,0x2,0xz",
		"0x1,0x2,0x3 ", "0x1 ,0x2,0x3",
		/* 65 hex digits do not fit 256 bits */
		"0x00000000000000000000000000000000000000000000000000000000000000000,0,0",
	};

	mdev_with(h, VAP_UUID1, "4", "7");
	mdev_with(h, VAP_UUID2, "5", "8");
	ap_config_of(h, VAP_UUID1, before, sizeof(before));
	for (size_t i = 0; i < ARRAY_SIZE(invalid); i++)
		assert_errno(vap_store(h, VAP_UUID1, "ap_config", invalid[i]), -EINVAL);
	/* 00.0004 is zcrypt's; 05.0008 is mdev2's */
	assert_errno(vap_store(h, VAP_UUID1, "ap_config", "0x80,0x08,0"), -EADDRNOTAVAIL);
	assert_errno(vap_store(h, VAP_UUID1, "ap_config", "0x04,0x0080,0"), -EADDRINUSE);
	assert_string_equal(ap_config_of(h, VAP_UUID1, after, sizeof(after)), before);
	assert_string_equal(matrix_of(h, VAP_UUID1), "04.0007\n");

	/* the whole matrix replaced at once; short masks fill from the left,
	 * "0x" is optional, what follows the third mask is not looked at */
	assert_errno(vap_store(h, VAP_UUID1, "ap_config", "0x30,0180,0x08\n"), 15);
	assert_string_equal(matrix_of(h, VAP_UUID1), "02.0007\n02.0008\n03.0007\n03.0008\n");
	assert_attr_text(h, VAP_UUID1, "control_domains", "0004\n");
	assert_string_equal(vap_queue_status(h, 4, 7), "unassigned");
	assert_string_equal(vap_queue_status(h, 2, 8), "assigned");
	assert_errno(vap_store(h, VAP_UUID1, "ap_config", "0x08,0x01,0,trailing"), 20);
	assert_string_equal(matrix_of(h, VAP_UUID1), "04.0007\n");
	/* a newline ends the second mask: the third is empty, all zero */
	assert_errno(vap_store(h, VAP_UUID1, "ap_config", "0x08,0x01\n"), 10);
	assert_string_equal(matrix_of(h, VAP_UUID1), "04.0007\n");
	/* and it reads back as it was written */
	assert_errno(vap_store(h, VAP_UUID1, "ap_config", before), (long)strlen(before));
	assert_string_equal(ap_config_of(h, VAP_UUID1, after, sizeof(after)), before);
	vap_assert_invariants(h);
}

/* A machine whose maxima are 15: above them is -ENODEV. */
static const char small_host[] =
	"{ \"name\": \"small\", \"ap\": { \"apxa\": true, \"max_adapter_id\": 15,"
	"  \"max_domain_id\": 15, \"usage_domains\": [1, 2], \"control_domains\": [1],"
	"  \"apmask\": \"0x80\", \"aqmask\": \"0x80\","
	"  \"adapters\": [ { \"id\": 1, \"type\": \"CEX7\", \"mode\": \"accel\" } ] } }";

static void test_maxima(void **state)
{
	struct uvf_host *h = test_host_from_json(small_host);
	char before[512], after[512];

	assert_int_equal(vap_create(h, VAP_UUID1), 36);
	assert_errno(vap_store(h, VAP_UUID1, "assign_adapter", "16"), -ENODEV);
	assert_errno(vap_store(h, VAP_UUID1, "assign_domain", "16"), -ENODEV);
	assert_errno(vap_store(h, VAP_UUID1, "assign_control_domain", "16"), -ENODEV);
	assert_errno(vap_store(h, VAP_UUID1, "unassign_adapter", "16"), -ENODEV);
	assert_errno(vap_store(h, VAP_UUID1, "assign_adapter", "15"), 2);
	ap_config_of(h, VAP_UUID1, before, sizeof(before));
	/* bit 16 of any mask */
	assert_errno(vap_store(h, VAP_UUID1, "ap_config", "0x00008,0,0"), -ENODEV);
	assert_errno(vap_store(h, VAP_UUID1, "ap_config", "0,0x00008,0"), -ENODEV);
	assert_errno(vap_store(h, VAP_UUID1, "ap_config", "0,0,0x00008"), -ENODEV);
	/* reserved and too high: the reservation is checked first */
	assert_errno(vap_store(h, VAP_UUID1, "ap_config", "0x8000c,0x80,0"), -EADDRNOTAVAIL);
	assert_string_equal(ap_config_of(h, VAP_UUID1, after, sizeof(after)), before);
	assert_errno(vap_store(h, VAP_UUID1, "ap_config", "0x4,0x6,0x4"), 11);
	assert_string_equal(matrix_of(h, VAP_UUID1), "01.0001\n01.0002\n");
	assert_string_equal(guest_matrix_of(h, VAP_UUID1), "01.0001\n01.0002\n");
	host_free(h);
}

/* ---- filtering by APID and the in_use veto ------------------------------------------------ */

static void test_filter_by_apid(void **state)
{
	struct uvf_host *h = ((struct fixture *)*state)->h;

	mdev_with(h, VAP_UUID1, "4,5", "7,8");
	assert_string_equal(guest_matrix_of(h, VAP_UUID1), "04.0007\n04.0008\n05.0007\n05.0008\n");
	/* one queue of adapter 5 leaves vfio_ap: the whole adapter goes */
	assert_errno(ap_write(h, "/bus/ap/drivers/vfio_ap/unbind", "05.0008"), 7);
	assert_string_equal(ap_driver_of(h, "/devices/ap/card05/05.0008"), "");
	assert_string_equal(guest_matrix_of(h, VAP_UUID1), "04.0007\n04.0008\n");
	assert_string_equal(matrix_of(h, VAP_UUID1), "04.0007\n04.0008\n05.0007\n05.0008\n");
	assert_string_equal(vap_queue_status(h, 5, 7), "assigned");
	vap_assert_invariants(h);
	/* and comes back with it */
	assert_errno(ap_write(h, "/bus/ap/drivers/vfio_ap/bind", "05.0008"), 7);
	assert_string_equal(guest_matrix_of(h, VAP_UUID1), "04.0007\n04.0008\n05.0007\n05.0008\n");
	/* an adapter with no queue of the domain in the configuration: the
	 * configuration filters domain 9, and an adapter the machine lacks */
	assert_errno(vap_store(h, VAP_UUID1, "assign_domain", "9"), 1);
	assert_errno(vap_store(h, VAP_UUID1, "assign_adapter", "6"), 1);
	assert_string_equal(guest_matrix_of(h, VAP_UUID1), "04.0007\n04.0008\n05.0007\n05.0008\n");
	vap_assert_invariants(h);
}

/*
 * A mask store reserving an APQN an mdev has: EBUSY (vfio_ap says
 * EADDRINUSE), nothing changes.  Reserved means apmask x aqmask: the
 * default host has adapters 0-3 and domains 0-6, 9-255 in them.
 */
static void test_in_use_veto(void **state)
{
	struct uvf_host *h = ((struct fixture *)*state)->h;
	char apmask[80], aqmask[80];

	mdev_with(h, VAP_UUID1, "4", "5,7");
	mdev_with(h, VAP_UUID2, "0", "7");
	ap_read_into(h, "/bus/ap/apmask", apmask, sizeof(apmask));
	ap_read_into(h, "/bus/ap/aqmask", aqmask, sizeof(aqmask));
	/* apmask +4 would reserve 04.0005; aqmask +7 00.0007 */
	assert_errno(ap_write(h, "/bus/ap/apmask", "+4"), -EBUSY);
	assert_errno(ap_write(h, "/bus/ap/apmask", "+4-5,-3"), -EBUSY);
	assert_errno(ap_write(h, "/bus/ap/aqmask", "+7"), -EBUSY);
	assert_errno(ap_write(h, "/bus/ap/aqmask", "0xffffffff"), -EBUSY);
	assert_string_equal(ap_read(h, "/bus/ap/apmask"), apmask);
	assert_string_equal(ap_read(h, "/bus/ap/aqmask"), aqmask);
	assert_string_equal(ap_driver_of(h, "/devices/ap/card04/04.0005"), "vfio_ap");
	assert_string_equal(ap_driver_of(h, "/devices/ap/card00/00.0007"), "vfio_ap");
	assert_string_equal(ap_driver_of(h, "/devices/ap/card03/03.0007"), "vfio_ap");
	vap_assert_invariants(h);
	/* 00.0008 .. 03.0008 are no mdev's: they may go */
	assert_errno(ap_write(h, "/bus/ap/aqmask", "+8"), 2);
	assert_string_equal(ap_driver_of(h, "/devices/ap/card00/00.0008"), "cex4queue");
	/* once mdev2 lets 00.0007 go, so may domain 7 */
	assert_errno(vap_store(h, VAP_UUID2, "unassign_adapter", "0"), 1);
	assert_errno(ap_write(h, "/bus/ap/aqmask", "+7"), 2);
	assert_string_equal(ap_driver_of(h, "/devices/ap/card00/00.0007"), "cex4queue");
	assert_string_equal(ap_driver_of(h, "/devices/ap/card04/04.0007"), "vfio_ap");
	/* and adapter 0 cannot come back to it */
	assert_errno(vap_store(h, VAP_UUID2, "assign_adapter", "0"), -EADDRNOTAVAIL);
	assert_string_equal(matrix_of(h, VAP_UUID2), ".0007\n");
	vap_assert_invariants(h);
}

/* ---- opening ------------------------------------------------------------------------------- */

static void test_open_needs_kvm(void **state)
{
	struct uvf_host *h = ((struct fixture *)*state)->h;
	struct vap_vm v;

	mdev_with(h, VAP_UUID1, "4", "7");
	vap_vm_new(h, &v);
	assert_errno(vap_open_group(h, &v, VAP_UUID1, false), -EINVAL);
	/* registered with the VM first, it opens */
	assert_errno(vap_file_add(&v, v.gfd), 0);
	v.dfd = (int)proc_ioctl(v.p, v.gfd, VFIO_GROUP_GET_DEVICE_FD, VAP_UUID1);
	assert_true(v.dfd >= 0);
	assert_string_equal(vap_queue_status(h, 4, 7), "in use");
	vap_vm_free(&v);
	assert_string_equal(vap_queue_status(h, 4, 7), "assigned");
}

static void test_one_mdev_per_vm(void **state)
{
	struct uvf_host *h = ((struct fixture *)*state)->h;
	struct vap_vm v;
	int g2, d2;

	mdev_with(h, VAP_UUID1, "4", "7");
	mdev_with(h, VAP_UUID2, "5", "8");
	vap_vm_new(h, &v);
	assert_true(vap_open_group(h, &v, VAP_UUID1, true) >= 0);
	g2 = group_open(v.p, vap_mdev_group(h, VAP_UUID2));
	assert_errno(group_set_container(v.p, g2, v.cfd), 0);
	assert_errno(vap_file_add(&v, g2), 0);
	assert_errno(proc_ioctl(v.p, g2, VFIO_GROUP_GET_DEVICE_FD, VAP_UUID2), -EPERM);
	/* the first one's guest is undisturbed */
	assert_string_equal(vap_queue_status(h, 4, 7), "in use");
	assert_string_equal(vap_queue_status(h, 5, 8), "assigned");
	assert_int_equal(proc_close(v.p, v.dfd), 0);
	d2 = (int)proc_ioctl(v.p, g2, VFIO_GROUP_GET_DEVICE_FD, VAP_UUID2);
	assert_true(d2 >= 0);
	assert_string_equal(vap_queue_status(h, 5, 8), "in use");
	assert_string_equal(vap_queue_status(h, 4, 7), "assigned");
	vap_assert_invariants(h);
	vap_vm_free(&v);
}

/* Attached: the VM's APCB is the shadow and the hook is set; closed: gone. */
static void test_attach_and_close(void **state)
{
	struct uvf_host *h = ((struct fixture *)*state)->h;
	unsigned long apm[AP_MASK_LONGS], aqm[AP_MASK_LONGS], adm[AP_MASK_LONGS];
	struct vap_vm v;

	mdev_with(h, VAP_UUID1, "4,5", "7,8");
	assert_errno(vap_store(h, VAP_UUID1, "assign_control_domain", "11"), 2);
	vap_vm_new(h, &v);
	vap_vm_apcb(&v, apm, aqm, adm);
	assert_true(mask_empty(apm) && mask_empty(adm));
	assert_true(vap_open_group(h, &v, VAP_UUID1, true) >= 0);
	vap_vm_apcb(&v, apm, aqm, adm);
	assert_true(test_bit_inv(4, apm) && test_bit_inv(5, apm) && !test_bit_inv(0, apm));
	assert_true(test_bit_inv(7, aqm) && test_bit_inv(8, aqm) && !test_bit_inv(4, aqm));
	assert_true(test_bit_inv(11, adm) && !test_bit_inv(4, adm));
	assert_non_null(v.kvm->arch.crypto.pqap_hook);
	vap_assert_invariants(h);
	assert_int_equal(proc_close(v.p, v.dfd), 0);
	vap_vm_apcb(&v, apm, aqm, adm);
	assert_true(mask_empty(apm) && mask_empty(aqm) &&
		    mask_empty(adm));
	assert_null(v.kvm->arch.crypto.pqap_hook);
	vap_vm_free(&v);
}

/* ---- the device ioctls -------------------------------------------------------------------- */

static void test_device_ioctls(void **state)
{
	struct uvf_host *h = ((struct fixture *)*state)->h;
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_irq_info irq = { .argsz = sizeof(irq) };
	struct vfio_irq_set set = { .argsz = sizeof(set), .count = 0 };
	struct vap_vm v;
	int efd = eventfd(0, EFD_NONBLOCK);

	mdev_with(h, VAP_UUID1, "4", "7");
	vap_vm_new(h, &v);
	assert_true(vap_open_group(h, &v, VAP_UUID1, true) >= 0);
	assert_errno(proc_ioctl(v.p, v.dfd, VFIO_DEVICE_GET_INFO, &info), 0);
	assert_int_equal(info.flags, VFIO_DEVICE_FLAGS_AP | VFIO_DEVICE_FLAGS_RESET);
	assert_int_equal(info.num_regions, 0);
	assert_int_equal(info.num_irqs, 2);
	info.argsz = 8;
	assert_errno(proc_ioctl(v.p, v.dfd, VFIO_DEVICE_GET_INFO, &info), -EINVAL);
	assert_errno(proc_ioctl(v.p, v.dfd, VFIO_DEVICE_GET_INFO, (void *)8), -EFAULT);

	for (uint32_t i = 0; i < 2; i++) {
		irq = (struct vfio_irq_info){ .argsz = sizeof(irq), .index = i };
		assert_errno(proc_ioctl(v.p, v.dfd, VFIO_DEVICE_GET_IRQ_INFO, &irq), 0);
		assert_int_equal(irq.count, 1);
		assert_int_equal(irq.flags, VFIO_IRQ_INFO_EVENTFD);
	}
	irq = (struct vfio_irq_info){ .argsz = sizeof(irq), .index = 2 };
	assert_errno(proc_ioctl(v.p, v.dfd, VFIO_DEVICE_GET_IRQ_INFO, &irq), -EINVAL);
	irq = (struct vfio_irq_info){ .argsz = 8, .index = 0 };
	assert_errno(proc_ioctl(v.p, v.dfd, VFIO_DEVICE_GET_IRQ_INFO, &irq), -EINVAL);

	/* SET_IRQS: only DATA_EVENTFD | ACTION_TRIGGER */
	set.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
	assert_errno(proc_ioctl(v.p, v.dfd, VFIO_DEVICE_SET_IRQS, &set), -EINVAL);
	set.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK;
	assert_errno(proc_ioctl(v.p, v.dfd, VFIO_DEVICE_SET_IRQS, &set), -EINVAL);
	assert_errno(vap_set_eventfd(v.p, v.dfd, 2, efd), -EINVAL);
	assert_errno(vap_set_eventfd(v.p, v.dfd, 0, -2), -EINVAL);
	assert_errno(vap_set_eventfd(v.p, v.dfd, 0, PROC_FD_BASE + 4000), -EBADF);
	assert_errno(vap_set_eventfd(v.p, v.dfd, 0, 0), -EINVAL);	/* not an eventfd */
	assert_errno(vap_set_eventfd(v.p, v.dfd, 0, efd), 0);
	assert_errno(vap_set_eventfd(v.p, v.dfd, 1, efd), 0);
	assert_errno(vap_set_eventfd(v.p, v.dfd, 0, -1), 0);
	assert_errno(vap_set_eventfd(v.p, v.dfd, 1, -1), 0);

	assert_errno(proc_ioctl_val(v.p, v.dfd, VFIO_DEVICE_RESET, 0), 0);
	assert_errno(proc_ioctl(v.p, v.dfd, VFIO_DEVICE_GET_REGION_INFO, &info), -EOPNOTSUPP);
	assert_errno(proc_ioctl_val(v.p, v.dfd, VFIO_DEVICE_PCI_HOT_RESET, 0), -EOPNOTSUPP);
	vap_vm_free(&v);
	close(efd);
}

/* CFG_CHG: signalled when the guest's configuration changes. */
static void test_cfg_chg_eventfd(void **state)
{
	struct uvf_host *h = ((struct fixture *)*state)->h;
	int efd = eventfd(0, EFD_NONBLOCK);
	struct vap_vm v;

	mdev_with(h, VAP_UUID1, "4", "7");
	vap_vm_new(h, &v);
	assert_true(vap_open_group(h, &v, VAP_UUID1, true) >= 0);
	assert_errno(vap_set_eventfd(v.p, v.dfd, VFIO_AP_CFG_CHG_IRQ_INDEX, efd), 0);
	assert_int_equal(vap_eventfd_take(efd), 0);
	assert_errno(vap_store(h, VAP_UUID1, "assign_domain", "8"), 1);
	assert_int_equal(vap_eventfd_take(efd), 1);
	/* nothing changes for the guest: no signal */
	assert_errno(vap_store(h, VAP_UUID1, "assign_domain", "8"), 1);
	assert_errno(vap_store(h, VAP_UUID1, "assign_domain", "9"), 1);	/* not in config */
	assert_errno(vap_store(h, VAP_UUID1, "unassign_adapter", "6"), 1);
	assert_int_equal(vap_eventfd_take(efd), 0);
	assert_errno(vap_store(h, VAP_UUID1, "unassign_domain", "8"), 1);
	assert_errno(vap_store(h, VAP_UUID1, "assign_control_domain", "5"), 1);
	assert_int_equal(vap_eventfd_take(efd), 2);
	/* a host configuration change reaches it too */
	assert_errno(ap_host_config_change(h, AP_CONFIG_DOMAIN_ADD, 9), 1);
	assert_int_equal(vap_eventfd_take(efd), 1);
	/* cleared: no more signals */
	assert_errno(vap_set_eventfd(v.p, v.dfd, VFIO_AP_CFG_CHG_IRQ_INDEX, -1), 0);
	assert_errno(vap_store(h, VAP_UUID1, "unassign_domain", "9"), 1);
	assert_int_equal(vap_eventfd_take(efd), 0);
	vap_vm_free(&v);
	close(efd);
}

struct remover {
	struct uvf_host *h;
	pthread_t thread;
	atomic_bool done;
	ssize_t ret;
};

static void *remover_thread(void *arg)
{
	struct remover *r = arg;

	r->ret = ap_write(r->h, VAP_MATRIX "/" VAP_UUID1 "/remove", "1");
	atomic_store(&r->done, true);
	return NULL;
}

/* REQ: 'remove' waits for the user, relaying the request to it. */
static void test_req_eventfd(void **state)
{
	struct uvf_host *h = ((struct fixture *)*state)->h;
	int efd = eventfd(0, EFD_NONBLOCK);
	struct pollfd pfd = { .fd = efd, .events = POLLIN };
	struct remover r = { .h = h };
	struct vap_vm v;

	mdev_with(h, VAP_UUID1, "4", "7");
	vap_vm_new(h, &v);
	assert_true(vap_open_group(h, &v, VAP_UUID1, true) >= 0);
	assert_errno(vap_set_eventfd(v.p, v.dfd, VFIO_AP_REQ_IRQ_INDEX, efd), 0);
	assert_int_equal(pthread_create(&r.thread, NULL, remover_thread, &r), 0);
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	assert_true(vap_eventfd_take(efd) >= 1);
	assert_false(atomic_load(&r.done));
	assert_string_equal(vap_queue_status(h, 4, 7), "in use");
	/* the user lets go: the removal ends, the queues are free */
	assert_int_equal(proc_close(v.p, v.dfd), 0);
	pthread_join(r.thread, NULL);
	assert_int_equal(r.ret, 1);
	assert_false(ap_exists(h, VAP_MATRIX "/" VAP_UUID1));
	assert_string_equal(vap_queue_status(h, 4, 7), "unassigned");
	mdev_with(h, VAP_UUID2, "4", "7");
	vap_vm_free(&v);
	close(efd);
}

/* ---- the queues' status --------------------------------------------------------------------- */

static void test_queue_status(void **state)
{
	struct uvf_host *h = ((struct fixture *)*state)->h;
	struct vap_vm v;

	assert_string_equal(vap_queue_status(h, 4, 8), "unassigned");
	mdev_with(h, VAP_UUID1, "4", "7,8");
	assert_string_equal(vap_queue_status(h, 4, 8), "assigned");
	vap_vm_new(h, &v);
	assert_true(vap_open_group(h, &v, VAP_UUID1, true) >= 0);
	assert_string_equal(vap_queue_status(h, 4, 8), "in use");
	/* filtered out of the shadow: assigned, not in use */
	assert_errno(ap_write(h, "/bus/ap/drivers/vfio_ap/unbind", "04.0007"), 7);
	assert_string_equal(vap_queue_status(h, 4, 8), "assigned");
	assert_errno(ap_write(h, "/bus/ap/drivers/vfio_ap/bind", "04.0007"), 7);
	assert_string_equal(vap_queue_status(h, 4, 8), "in use");
	assert_errno(vap_store(h, VAP_UUID1, "unassign_domain", "8"), 1);
	assert_string_equal(vap_queue_status(h, 4, 8), "unassigned");
	assert_string_equal(vap_queue_status(h, 4, 7), "in use");
	vap_vm_free(&v);
	assert_string_equal(vap_queue_status(h, 4, 7), "assigned");
}

/* Over-provisioned APQNs appear in the guest once the host has them. */
static void test_overprovision_config_add(void **state)
{
	struct uvf_host *h = ((struct fixture *)*state)->h;
	unsigned long apm[AP_MASK_LONGS], aqm[AP_MASK_LONGS];
	struct vap_vm v;

	/* domain 9 is outside the configuration; 4 x 9 and 5 x 9 are free */
	mdev_with(h, VAP_UUID1, "4,5", "8,9");
	assert_false(ap_exists(h, "/devices/ap/card04/04.0009"));
	assert_string_equal(guest_matrix_of(h, VAP_UUID1), "04.0008\n05.0008\n");
	vap_vm_new(h, &v);
	assert_true(vap_open_group(h, &v, VAP_UUID1, true) >= 0);
	vap_vm_apcb(&v, apm, aqm, NULL);
	assert_false(test_bit_inv(9, aqm));

	/* the SE adds domain 9: after the scan the guest has it */
	assert_errno(ap_host_config_change(h, AP_CONFIG_DOMAIN_ADD, 9), 1);
	assert_string_equal(ap_driver_of(h, "/devices/ap/card04/04.0009"), "vfio_ap");
	assert_string_equal(guest_matrix_of(h, VAP_UUID1),
			    "04.0008\n04.0009\n05.0008\n05.0009\n");
	vap_vm_apcb(&v, apm, aqm, NULL);
	assert_true(test_bit_inv(9, aqm) && test_bit_inv(8, aqm));
	assert_string_equal(vap_queue_status(h, 5, 9), "in use");
	vap_assert_invariants(h);

	/* and removed, the guest loses it at once */
	assert_errno(ap_host_config_change(h, AP_CONFIG_DOMAIN_REMOVE, 9), 1);
	vap_vm_apcb(&v, apm, aqm, NULL);
	assert_false(test_bit_inv(9, aqm));
	assert_true(test_bit_inv(4, apm) && test_bit_inv(5, apm));
	assert_string_equal(guest_matrix_of(h, VAP_UUID1), "04.0008\n05.0008\n");
	vap_assert_invariants(h);
	vap_vm_free(&v);
}

/* ---- concurrency smoke ------------------------------------------------------------------------ */

struct smoke {
	struct uvf_host *h;
	struct vap_vm vm;
	atomic_bool stop, guest_failed;
	atomic_long ops;
};

static void *smoke_assigner(void *arg)
{
	struct smoke *s = arg;
	static const char *const attrs[] = { "assign_adapter", "unassign_adapter",
					     "assign_domain", "unassign_domain" };
	static const char *const uuids[] = { VAP_UUID1, VAP_UUID2 };
	unsigned int seed = 1;

	while (!atomic_load(&s->stop)) {
		unsigned int a = (unsigned int)rand_r(&seed) % 4;
		char id[8];

		/* adapters 4, 5; domains 7, 8 */
		snprintf(id, sizeof(id), "%u", (a < 2 ? 4 : 7) + (unsigned int)rand_r(&seed) % 2);
		vap_store(s->h, uuids[rand_r(&seed) % 2], attrs[a], id);
		atomic_fetch_add(&s->ops, 1);
	}
	return NULL;
}

static void *smoke_masker(void *arg)
{
	struct smoke *s = arg;
	static const char *const stores[][2] = {
		{ "/bus/ap/apmask", "+4" }, { "/bus/ap/apmask", "-4" },
		{ "/bus/ap/aqmask", "+8" }, { "/bus/ap/aqmask", "-8" },
		{ "/bus/ap/apmask", "+5" }, { "/bus/ap/apmask", "-5" },
	};
	unsigned int seed = 2;

	while (!atomic_load(&s->stop)) {
		unsigned int i = rand_r(&seed) % ARRAY_SIZE(stores);

		ap_write(s->h, stores[i][0], stores[i][1]);
		atomic_fetch_add(&s->ops, 1);
	}
	return NULL;
}

static void *smoke_guest(void *arg)
{
	struct smoke *s = arg;
	uint8_t msg[64] = { 0 }, buf[256];
	unsigned int seed = 3;

	while (!atomic_load(&s->stop)) {
		ap_qid_t qid = AP_MKQID(4 + rand_r(&seed) % 2, 7 + rand_r(&seed) % 2);
		struct kvm_s390_uvfio_ap op = { .apqn = (uint16_t)qid };

		switch (rand_r(&seed) % 4) {
		case 0:
			op.insn = KVM_S390_UVFIO_AP_TAPQ;
			break;
		case 1:
			op.insn = KVM_S390_UVFIO_AP_NQAP;
			op.addr = (uintptr_t)msg;
			op.len = sizeof(msg);
			break;
		case 2:
			op.insn = KVM_S390_UVFIO_AP_DQAP;
			op.addr = (uintptr_t)buf;
			op.len = sizeof(buf);
			break;
		default:
			op.insn = KVM_S390_UVFIO_AP_ZAPQ;
			break;
		}
		if (proc_ioctl(s->vm.p, s->vm.vm, KVM_S390_UVFIO_AP, &op))
			atomic_store(&s->guest_failed, true);
		atomic_fetch_add(&s->ops, 1);
	}
	return NULL;
}

static void test_concurrency_smoke(void **state)
{
	struct uvf_host *h = ((struct fixture *)*state)->h;
	struct smoke s = { .h = h };
	void *(*fns[])(void *) = { smoke_assigner, smoke_assigner, smoke_masker, smoke_guest };
	pthread_t t[ARRAY_SIZE(fns)];
	char why[256];
	int checks = 0;

	mdev_with(h, VAP_UUID1, "4", "7");
	assert_int_equal(vap_create(h, VAP_UUID2), 36);
	/* refusals are expected here: their warnings are noise */
	uvf_log_set_level(UVF_LOG_ERR);
	vap_vm_new(h, &s.vm);
	assert_true(vap_open_group(h, &s.vm, VAP_UUID1, true) >= 0);
	for (size_t i = 0; i < ARRAY_SIZE(fns); i++)
		assert_int_equal(pthread_create(&t[i], NULL, fns[i], &s), 0);
	for (int i = 0; i < 40; i++) {
		ap_sleep_ms(25);
		if (vfio_ap_check_invariants(h, why, sizeof(why)))
			fail_msg("invariant: %s", why);
		checks++;
	}
	atomic_store(&s.stop, true);
	for (size_t i = 0; i < ARRAY_SIZE(fns); i++)
		pthread_join(t[i], NULL);
	vap_assert_invariants(h);
	assert_false(atomic_load(&s.guest_failed));
	assert_true(atomic_load(&s.ops) > 100);
	assert_int_equal(checks, 40);
	vap_vm_free(&s.vm);
	vap_assert_invariants(h);
	uvf_log_set_level(UVF_LOG_WARN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_assign_adapter_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_assign_reserved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_assign_in_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_domains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_matrix_formats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ap_config_store, setup, teardown),
		cmocka_unit_test(test_maxima),
		cmocka_unit_test_setup_teardown(test_filter_by_apid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_use_veto, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_needs_kvm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_mdev_per_vm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_and_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_ioctls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cfg_chg_eventfd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_req_eventfd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overprovision_config_add, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrency_smoke, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
