// SPDX-License-Identifier: MIT
/*
 * apmask and aqmask: both string formats for every bit and every range,
 * malformed strings (-EINVAL, nothing changes), the in_use veto (-EBUSY,
 * nothing changes), and the lock order that makes a mask store and a
 * vfio_ap-style assignment unable to deadlock.
 */
#include <pthread.h>
#include <sched.h>
#include "harness.h"
#include "ap_test.h"

#define FULL (~0UL)

/* The expected show text of a mask. */
static const char *mask_text(const unsigned long *m)
{
	static char buf[80];

	snprintf(buf, sizeof(buf), "0x%016lx%016lx%016lx%016lx", m[0], m[1], m[2], m[3]);
	return buf;
}

/* Only bits [a, b] set, in the architecture's order, computed bit by bit. */
static void range_mask(unsigned long *m, unsigned int a, unsigned int b, bool set)
{
	for (unsigned int i = 0; i < AP_DEVICES; i++) {
		bool in = i >= a && i <= b;
		unsigned long bit = 1UL << (63 - i % 64);

		if (in == set)
			m[i / 64] |= bit;
		else
			m[i / 64] &= ~bit;
	}
}

/* Hex text with only bit i set: the digit i/4 is 8 >> (i % 4). */
static void single_bit_hex(char *buf, unsigned int i, bool prefix)
{
	size_t n = 0;

	if (prefix)
		n = (size_t)sprintf(buf, "0x");
	for (unsigned int d = 0; d <= i / 4; d++)
		buf[n++] = d == i / 4 ? "8421"[i % 4] : '0';
	buf[n] = '\0';
}

static void test_every_bit_both_formats(void **state)
{
	char s[128];

	for (unsigned int i = 0; i < AP_DEVICES; i++) {
		unsigned long want[4] = { 0 }, got[4], full[4];
		const char *forms[3] = { "+%u", "+0x%x", "+0%o" };

		range_mask(want, i, i, true);
		for (int prefix = 0; prefix < 2; prefix++) {
			memset(got, 0xa5, sizeof(got));
			single_bit_hex(s, i, prefix);
			assert_errno(ap_parse_mask_str(s, got, AP_DEVICES), 0);
			assert_memory_equal(got, want, sizeof(want));
		}
		for (int f = 0; f < 3; f++) {
			snprintf(s, sizeof(s), forms[f], i);
			memset(got, 0, sizeof(got));
			assert_errno(ap_parse_mask_str(s, got, AP_DEVICES), 0);
			assert_memory_equal(got, want, sizeof(want));
			/* the same term with '-' clears only that bit of a full mask */
			s[0] = '-';
			memset(full, 0xff, sizeof(full));
			assert_errno(ap_parse_mask_str(s, full, AP_DEVICES), 0);
			for (int w = 0; w < 4; w++)
				assert_int_equal(full[w], ~want[w]);
		}
	}
}

static void test_every_range(void **state)
{
	char s[32];

	for (unsigned int a = 0; a < AP_DEVICES; a++) {
		for (unsigned int b = a; b < AP_DEVICES; b++) {
			unsigned long want[4] = { 0 }, got[4] = { 0 };

			range_mask(want, a, b, true);
			snprintf(s, sizeof(s), "+%u-%u", a, b);
			assert_errno(ap_parse_mask_str(s, got, AP_DEVICES), 0);
			assert_memory_equal(got, want, sizeof(want));
		}
		/* b < a is refused and leaves the mask alone */
		if (a) {
			unsigned long m[4] = { 1, 2, 3, 4 };

			snprintf(s, sizeof(s), "+%u-%u", a, a - 1);
			assert_errno(ap_parse_mask_str(s, m, AP_DEVICES), -EINVAL);
			assert_int_equal(m[0], 1);
			assert_int_equal(m[3], 4);
		}
	}
}

static void test_relative_examples(void **state)
{
	unsigned long m[4], want[4];

	/* the digest's and the kernel's examples, from an empty mask */
	memset(m, 0, sizeof(m));
	assert_errno(ap_parse_mask_str("+0-15,+32,-128,-0xFF", m, AP_DEVICES), 0);
	memset(want, 0, sizeof(want));
	range_mask(want, 0, 15, true);
	want[0] |= 1UL << (63 - 32);
	assert_memory_equal(m, want, sizeof(want));
	/* the last term wins; unnamed bits keep their value */
	memset(m, 0, sizeof(m));
	m[3] = 1;				/* bit 255 */
	assert_errno(ap_parse_mask_str("+0-254,-128", m, AP_DEVICES), 0);
	range_mask(want, 0, 255, true);
	want[2] &= ~(1UL << 63);
	assert_memory_equal(m, want, sizeof(want));
	assert_errno(ap_parse_mask_str("+1,+2,+3,+4,-5,-7-10", m, AP_DEVICES), 0);
	assert_false(test_bit_inv(5, m));
	assert_false(test_bit_inv(9, m));
	assert_true(test_bit_inv(6, m));
	/* 0x128 is 296: the kernel comment's own example is out of range */
	assert_errno(ap_parse_mask_str("-0-255,+1-16,+0x128", m, AP_DEVICES), -EINVAL);
	/* separators: any run of ',' and newlines, or none at all */
	memset(m, 0, sizeof(m));
	assert_errno(ap_parse_mask_str("+1+2,,\n,+010\n", m, AP_DEVICES), 0);
	memset(want, 0, sizeof(want));
	set_bit_inv(1, want);
	set_bit_inv(2, want);
	set_bit_inv(8, want);		/* octal 010 */
	assert_memory_equal(m, want, sizeof(want));
	/* a range whose second number is hex */
	memset(m, 0, sizeof(m));
	assert_errno(ap_parse_mask_str("+0xf0-0xff", m, AP_DEVICES), 0);
	memset(want, 0, sizeof(want));
	range_mask(want, 240, 255, true);
	assert_memory_equal(m, want, sizeof(want));
}

static void test_absolute_examples(void **state)
{
	unsigned long m[4];

	memset(m, 0, sizeof(m));
	assert_errno(ap_parse_mask_str("x8", m, AP_DEVICES), 0);
	assert_int_equal(m[0], 1UL << 63);
	assert_errno(ap_parse_mask_str("0x00f\n", m, AP_DEVICES), 0);
	assert_int_equal(m[0], 0xfUL << 52);
	/* no digits at all: an empty mask, as the kernel accepts it */
	assert_errno(ap_parse_mask_str("0x\n", m, AP_DEVICES), 0);
	assert_int_equal(m[0] | m[1] | m[2] | m[3], 0);
	/* exactly 64 digits fit */
	assert_errno(ap_parse_mask_str("0x0123456789abcdefFEDCBA9876543210"
				       "0000000000000000ffffffffffffffff", m, AP_DEVICES), 0);
	assert_int_equal(m[0], 0x0123456789abcdefUL);
	assert_int_equal(m[1], 0xfedcba9876543210UL);
	assert_int_equal(m[2], 0);
	assert_int_equal(m[3], FULL);
}

/* Every malformed string: -EINVAL from the store, and nothing changes. */
static const char *const malformed[] = {
	/* absolute */
	"0xg", "0X1", "1 ", " 1", "0x1\n\n", "0x1,", "0x-1", "zz", "0xx1", "0x1\t",
	"0x0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
	/* relative */
	"+", "-", "+256", "+0x100", "+5-3", "+1-", "+1-256", "+a", "+-1", "+1 ", "+ 1",
	"+1;+2", "++1", "+1,x", "+0x", "-0x1g", "+1,-", "+1\n\n-",
};

static void test_store_malformed_changes_nothing(void **state)
{
	struct uvf_host *h = ap_test_host_default();
	struct test_ap_drv t;
	char apm[80], aqm[80], bindings[32];
	unsigned int probes;

	assert_errno(test_ap_drv_register(ap_bus_get(h), &t, "vfio_ap_test"), 0);
	ap_read_into(h, "/bus/ap/apmask", apm, sizeof(apm));
	ap_read_into(h, "/bus/ap/aqmask", aqm, sizeof(aqm));
	ap_read_into(h, "/bus/ap/bindings", bindings, sizeof(bindings));
	probes = t.probes;
	for (size_t i = 0; i < ARRAY_SIZE(malformed); i++) {
		for (int q = 0; q < 2; q++) {
			const char *path = q ? "/bus/ap/aqmask" : "/bus/ap/apmask";

			if (ap_write(h, path, malformed[i]) != -EINVAL)
				fail_msg("'%s' into %s was not refused", malformed[i], path);
		}
		assert_string_equal(ap_read(h, "/bus/ap/apmask"), apm);
		assert_string_equal(ap_read(h, "/bus/ap/aqmask"), aqm);
	}
	assert_string_equal(ap_read(h, "/bus/ap/bindings"), bindings);
	assert_int_equal(t.probes, probes);
	assert_int_equal(t.removes, 0);
	assert_int_equal(t.in_use_calls, 0);
	ap_driver_unregister(ap_bus_get(h), &t.drv);
	host_free(h);
}

static void test_store_formats(void **state)
{
	struct uvf_host *h = ap_test_host_default();
	unsigned long m[4] = { 0 };

	/* absolute replaces the whole mask */
	assert_errno(ap_write(h, "/bus/ap/apmask", "0x8\n"), 4);
	m[0] = 1UL << 63;
	assert_string_equal(ap_read(h, "/bus/ap/apmask"), mask_text(m));
	/* relative edits it */
	assert_errno(ap_write(h, "/bus/ap/apmask", "+2-3,-0"), 7);
	m[0] = 3UL << 60;
	assert_string_equal(ap_read(h, "/bus/ap/apmask"), mask_text(m));
	/* every bit, every form, through the attribute */
	for (unsigned int i = 0; i < AP_DEVICES; i += 37) {
		char s[16];

		snprintf(s, sizeof(s), "0x%x", 0);
		assert_errno(ap_write(h, "/bus/ap/aqmask", s), (long)strlen(s));
		snprintf(s, sizeof(s), "+%#x", i);
		assert_errno(ap_write(h, "/bus/ap/aqmask", s), (long)strlen(s));
		memset(m, 0, sizeof(m));
		set_bit_inv(i, m);
		assert_string_equal(ap_read(h, "/bus/ap/aqmask"), mask_text(m));
	}
	/* the show format: 0x and 64 digits and a newline */
	assert_int_equal(sysfs_read(h->sysfs, NULL, "/bus/ap/apmask", (char[80]){ 0 }, 80, 0),
			 67);
	host_free(h);
}

static void test_in_use_veto(void **state)
{
	struct uvf_host *h = ap_test_host_default();
	struct ap_bus *bus = ap_bus_get(h);
	struct test_ap_drv t;
	char apm[80], aqm[80];

	assert_errno(test_ap_drv_register(bus, &t, "vfio_ap_test"), 0);
	/* "assign" 04.0005 and 00.0007 (neither reserved for the host) */
	set_bit_inv(4, t.assigned_apm);
	set_bit_inv(0, t.assigned_apm);
	set_bit_inv(5, t.assigned_aqm);
	set_bit_inv(7, t.assigned_aqm);
	ap_read_into(h, "/bus/ap/apmask", apm, sizeof(apm));
	ap_read_into(h, "/bus/ap/aqmask", aqm, sizeof(aqm));

	/* adapter 4 to the host would take 04.0005: refused, nothing changes */
	assert_errno(ap_write(h, "/bus/ap/apmask", "+4"), -EBUSY);
	assert_int_equal(t.in_use_calls, 1);
	assert_true(t.perms_held_ok);
	assert_int_equal(t.last_apm[0], 1UL << (63 - 4));
	assert_string_equal(ap_read(h, "/bus/ap/apmask"), apm);
	assert_string_equal(ap_driver_of(h, "/devices/ap/card04/04.0005"), "vfio_ap_test");
	/* so would an absolute mask naming it */
	assert_errno(ap_write(h, "/bus/ap/apmask", "0xf8"), -EBUSY);
	assert_string_equal(ap_read(h, "/bus/ap/apmask"), apm);
	/* domain 7 to the host would take 00.0007 (adapter 0 is reserved) */
	assert_errno(ap_write(h, "/bus/ap/aqmask", "+7"), -EBUSY);
	assert_string_equal(ap_read(h, "/bus/ap/aqmask"), aqm);
	assert_string_equal(ap_driver_of(h, "/devices/ap/card00/00.0007"), "vfio_ap_test");
	/* domain 8 is not in use: fine, and asked about domain 8 only */
	assert_errno(ap_write(h, "/bus/ap/aqmask", "+8"), 2);
	assert_int_equal(t.last_aqm[0], 1UL << (63 - 8));
	assert_string_equal(ap_driver_of(h, "/devices/ap/card00/00.0008"), "cex4queue");
	/* giving APQNs away never asks */
	unsigned int calls = t.in_use_calls;

	assert_errno(ap_write(h, "/bus/ap/aqmask", "-8"), 2);
	assert_errno(ap_write(h, "/bus/ap/apmask", "0x0"), 3);
	assert_int_equal(t.in_use_calls, calls);
	/* unassigned: the store goes through */
	memset(t.assigned_apm, 0, sizeof(t.assigned_apm));
	assert_errno(ap_write(h, "/bus/ap/apmask", "0xf8"), 4);
	assert_string_equal(ap_driver_of(h, "/devices/ap/card04/04.0005"), "cex4queue");
	/* the perms-held helpers agree with the masks */
	ap_perms_lock(bus);
	assert_int_equal(ap_owned_by_def_drv(bus, 4, 5), 1);
	assert_int_equal(ap_owned_by_def_drv(bus, 5, 5), 0);
	assert_int_equal(ap_owned_by_def_drv(bus, 4, 7), 0);
	assert_int_equal(ap_owned_by_def_drv(bus, 256, 0), -EINVAL);
	assert_int_equal(ap_apqn_in_matrix_owned_by_def_drv(bus, t.assigned_apm, t.assigned_aqm),
			 0);
	set_bit_inv(3, t.assigned_apm);
	assert_int_equal(ap_apqn_in_matrix_owned_by_def_drv(bus, t.assigned_apm, t.assigned_aqm),
			 1);
	ap_perms_unlock(bus);
	ap_driver_unregister(bus, &t.drv);
	host_free(h);
}

/*
 * The 2021 deadlock: an assignment held the matrix lock and asked the bus
 * (taking ap_perms_mutex) while a mask store held ap_perms_mutex and
 * called in_use (taking the matrix lock).  With one order - perms first,
 * then the driver's lock, in both - they cannot deadlock.  An "assign"
 * thread and a mask-store thread race for a few thousand rounds.
 */
struct race {
	struct uvf_host *h;
	struct test_ap_drv *t;
	int rounds;		/* mask stores */
	int busy, ok;
	int assigns;
	volatile bool stop;	/* the stores are done */
};

static void *assign_thread(void *arg)
{
	struct race *r = arg;
	struct ap_bus *bus = ap_bus_get(r->h);

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		unsigned long apm[4] = { 0 }, aqm[4] = { 0 };

		set_bit_inv(4, apm);
		set_bit_inv(5, aqm);
		ap_perms_lock(bus);			/* as assign_adapter_store */
		pthread_mutex_lock(&r->t->lock);	/* then the driver's lock */
		if (!ap_apqn_in_matrix_owned_by_def_drv(bus, apm, aqm)) {
			r->t->assigned_apm[0] ^= 1UL << (63 - 4);
			r->assigns++;
		}
		memcpy(r->t->assigned_aqm, aqm, sizeof(aqm));
		pthread_mutex_unlock(&r->t->lock);
		ap_perms_unlock(bus);
		sched_yield();
	}
	return NULL;
}

static void *store_thread(void *arg)
{
	struct race *r = arg;

	for (int i = 0; i < r->rounds; i++) {
		ssize_t ret = ap_write(r->h, "/bus/ap/apmask", i & 1 ? "-4" : "+4");

		if (ret == -EBUSY)
			r->busy++;
		else if (ret == 2)
			r->ok++;
		else
			fail_msg("apmask store: %zd", ret);
	}
	__atomic_store_n(&r->stop, true, __ATOMIC_RELEASE);
	return NULL;
}

static void test_no_deadlock_store_vs_assign(void **state)
{
	struct uvf_host *h = ap_test_host_default();
	struct test_ap_drv t;
	struct race r = { .h = h, .t = &t, .rounds = 1000 };
	pthread_t a, s;
	unsigned long apm[4], aqm[4];

	assert_errno(test_ap_drv_register(ap_bus_get(h), &t, "vfio_ap_test"), 0);
	alarm(120);	/* a deadlock fails the test instead of hanging it */
	pthread_create(&a, NULL, assign_thread, &r);
	pthread_create(&s, NULL, store_thread, &r);
	pthread_join(a, NULL);
	pthread_join(s, NULL);
	alarm(0);
	assert_int_equal(r.ok + r.busy, r.rounds);
	/* both outcomes happened: the two really raced */
	assert_true(r.busy > 0);
	assert_true(r.assigns > 0);
	/* whatever the interleaving: adapter 4 is never the host's while assigned */
	ap_perms_get(ap_bus_get(h), apm, aqm);
	assert_false(test_bit_inv(4, apm) && test_bit_inv(4, t.assigned_apm));
	ap_driver_unregister(ap_bus_get(h), &t.drv);
	host_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_bit_both_formats),
		cmocka_unit_test(test_every_range),
		cmocka_unit_test(test_relative_examples),
		cmocka_unit_test(test_absolute_examples),
		cmocka_unit_test(test_store_malformed_changes_nothing),
		cmocka_unit_test(test_store_formats),
		cmocka_unit_test(test_in_use_veto),
		cmocka_unit_test(test_no_deadlock_store_vs_assign),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
