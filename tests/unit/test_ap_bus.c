// SPDX-License-Identifier: MIT
/*
 * The AP bus: the host configuration as sysfs shows it, card and queue
 * devices and their attributes, binding to the default drivers or a
 * non-default one by apmask/aqmask, bind/unbind, scans, and host
 * configuration changes with their driver callbacks.
 */
#include "harness.h"
#include "ap_test.h"

/* "0x" + head + fill up to 64 digits. */
static const char *mask_str(const char *head, char fill)
{
	static char buf[80];
	size_t n = strlen(head);

	snprintf(buf, sizeof(buf), "0x%s", head);
	memset(buf + 2 + n, fill, 64 - n);
	buf[66] = '\0';
	return buf;
}

static const char *qpath(unsigned int card, unsigned int dom, const char *attr)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "/devices/ap/card%02x/%02x.%04x%s%s", card, card, dom,
		 attr ? "/" : "", attr ? attr : "");
	return buf;
}

static const char *cpath(unsigned int card, const char *attr)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "/devices/ap/card%02x%s%s", card, attr ? "/" : "",
		 attr ? attr : "");
	return buf;
}

static void test_default_config(void **state)
{
	struct uvf_host *h = ap_test_host_default();

	assert_non_null(ap_bus_get(h));
	assert_string_equal(ap_read(h, "/bus/ap/ap_max_adapter_id"), "255");
	assert_string_equal(ap_read(h, "/bus/ap/ap_max_domain_id"), "255");
	assert_string_equal(ap_read(h, "/bus/ap/ap_adapter_mask"), mask_str("fc", '0'));
	assert_string_equal(ap_read(h, "/bus/ap/ap_usage_domain_mask"), mask_str("0f80", '0'));
	assert_string_equal(ap_read(h, "/bus/ap/ap_control_domain_mask"), mask_str("0f90", '0'));
	assert_string_equal(ap_read(h, "/bus/ap/apmask"), mask_str("f0", '0'));
	assert_string_equal(ap_read(h, "/bus/ap/aqmask"), mask_str("fe7f", 'f'));
	assert_string_equal(ap_read(h, "/bus/ap/features"), "APSC APXA");
	assert_string_equal(ap_read(h, "/bus/ap/ap_interrupts"), "1");
	/* the first usage domain with a queue for the default drivers */
	assert_string_equal(ap_read(h, "/bus/ap/ap_domain"), "4");
	assert_string_equal(ap_read(h, "/bus/ap/config_time"), "30");
	assert_string_equal(ap_read(h, "/bus/ap/poll_thread"), "0");
	assert_string_equal(ap_read(h, "/bus/ap/poll_timeout"), "250000");
	assert_string_equal(ap_read(h, "/bus/ap/scans"), "1");
	/* adapters 0-3 x domains 4-6 are the host's; nobody else is loaded */
	assert_string_equal(ap_read(h, "/bus/ap/bindings"), "12/30");
	host_free(h);
}

static void test_layout(void **state)
{
	static const struct { const char *type; int hw; const char *fac; } cards[6] = {
		{ "CEX8A", 14, "0x6A000000" }, { "CEX7C", 13, "0x92000000" },
		{ "CEX6P", 12, "0x86000000" }, { "CEX4A", 10, "0x6A000000" },
		{ "CEX8A", 14, "0x6A000000" }, { "CEX8C", 14, "0x92000000" },
	};
	struct uvf_host *h = ap_test_host_default();
	char hw[8];

	/* 6 cards + 30 queues on the bus, 6 card directories under the root */
	assert_int_equal(ap_count_entries(h, "/bus/ap/devices"), 36);
	assert_int_equal(ap_count_entries(h, "/devices/ap"), 6);
	for (unsigned int c = 0; c < 6; c++) {
		snprintf(hw, sizeof(hw), "%d", cards[c].hw);
		assert_string_equal(ap_read(h, cpath(c, "type")), cards[c].type);
		assert_string_equal(ap_read(h, cpath(c, "hwtype")), hw);
		assert_string_equal(ap_read(h, cpath(c, "raw_hwtype")), hw);
		assert_string_equal(ap_read(h, cpath(c, "ap_functions")), cards[c].fac);
		assert_string_equal(ap_read(h, cpath(c, "depth")), "8");
		assert_string_equal(ap_read(h, cpath(c, "config")), "1");
		assert_string_equal(ap_read(h, cpath(c, "chkstop")), "0");
		assert_string_equal(ap_read(h, cpath(c, "online")), "1");
		assert_string_equal(ap_read(h, cpath(c, "max_msg_size")), "12288");
		assert_string_equal(ap_driver_of(h, cpath(c, NULL)), "cex4card");
		assert_true(ap_exists(h, cpath(c, "subsystem")));
		for (unsigned int d = 4; d <= 8; d++)
			assert_true(ap_exists(h, qpath(c, d, NULL)));
		assert_false(ap_exists(h, qpath(c, 3, NULL)));
		assert_false(ap_exists(h, qpath(c, 9, NULL)));
	}
	assert_string_equal(ap_read(h, cpath(0, "modalias")), "ap:t0E");
	assert_string_equal(ap_read(h, cpath(3, "modalias")), "ap:t0A");
	/* a host queue: zcrypt's attributes; interruptions once set up */
	assert_string_equal(ap_driver_of(h, qpath(0, 4, NULL)), "cex4queue");
	assert_string_equal(ap_read(h, qpath(0, 4, "online")), "1");
	assert_string_equal(ap_read(h, qpath(0, 4, "config")), "1");
	assert_string_equal(ap_read(h, qpath(0, 4, "chkstop")), "0");
	assert_string_equal(ap_read(h, qpath(0, 4, "request_count")), "0");
	assert_string_equal(ap_read(h, qpath(0, 4, "ap_functions")), "0x6A000000");
	assert_true(AP_WAIT_FOR(!strcmp(ap_read(h, qpath(0, 4, "interrupt")),
					"Interrupts enabled.")));
	assert_true(AP_WAIT_FOR(!strcmp(ap_read(h, qpath(0, 4, "reset")),
					"No Reset Timer set.")));
	/* an APQN not reserved for the host: no driver, no zcrypt attributes */
	assert_string_equal(ap_driver_of(h, qpath(4, 4, NULL)), "");
	assert_string_equal(ap_driver_of(h, qpath(0, 7, NULL)), "");
	assert_false(ap_exists(h, qpath(0, 7, "online")));
	/* links both ways between driver and device */
	assert_true(ap_exists(h, "/bus/ap/drivers/cex4queue/00.0005"));
	assert_true(ap_exists(h, "/bus/ap/drivers/cex4card/card02"));
	assert_false(ap_exists(h, "/bus/ap/drivers/cex4queue/04.0005"));
	assert_true(ap_exists(h, "/bus/ap/devices/03.0008"));
	host_free(h);
}

static void test_nondefault_driver_binds_the_rest(void **state)
{
	struct uvf_host *h = ap_test_host_default();
	struct ap_bus *bus = ap_bus_get(h);
	struct test_ap_drv t;

	assert_errno(test_ap_drv_register(bus, &t, "vfio_ap_test"), 0);
	assert_int_equal(test_drv_count(&t, &t.probes), 18);
	assert_string_equal(ap_read(h, "/bus/ap/bindings"), "30/30 (complete)");
	assert_string_equal(ap_driver_of(h, qpath(4, 4, NULL)), "vfio_ap_test");
	assert_string_equal(ap_driver_of(h, qpath(1, 8, NULL)), "vfio_ap_test");
	assert_string_equal(ap_driver_of(h, qpath(1, 6, NULL)), "cex4queue");
	/* only bound queues are found by ap_get_qdev */
	struct ap_queue *aq = ap_get_qdev(bus, AP_MKQID(4, 4));

	assert_non_null(aq);
	assert_string_equal(aq->ap_dev.dev.name, "04.0004");
	ap_queue_put(aq);
	/* a second driver of the same name */
	struct test_ap_drv t2;

	assert_errno(test_ap_drv_register(bus, &t2, "vfio_ap_test"), -EBUSY);
	assert_false(t2.drv.registered);
	ap_driver_unregister(bus, &t.drv);
	assert_int_equal(t.removes, 18);
	assert_string_equal(ap_read(h, "/bus/ap/bindings"), "12/30");
	assert_null(ap_get_qdev(bus, AP_MKQID(4, 4)));
	assert_false(ap_exists(h, "/bus/ap/drivers/vfio_ap_test"));
	host_free(h);
}

static void test_bind_unbind(void **state)
{
	struct uvf_host *h = ap_test_host_default();
	struct test_ap_drv t;

	assert_errno(test_ap_drv_register(ap_bus_get(h), &t, "vfio_ap_test"), 0);
	assert_errno(ap_write(h, "/bus/ap/drivers/cex4queue/unbind", "00.0004\n"), 8);
	assert_string_equal(ap_driver_of(h, qpath(0, 4, NULL)), "");
	assert_false(ap_exists(h, qpath(0, 4, "online")));
	assert_string_equal(ap_read(h, "/bus/ap/bindings"), "29/30");
	/* a reserved queue refuses a non-default driver */
	assert_errno(ap_write(h, "/bus/ap/drivers/vfio_ap_test/bind", "00.0004"), -ENODEV);
	assert_errno(ap_write(h, "/bus/ap/drivers/cex4queue/bind", "00.0004"), 7);
	assert_string_equal(ap_driver_of(h, qpath(0, 4, NULL)), "cex4queue");
	assert_string_equal(ap_read(h, qpath(0, 4, "online")), "1");
	assert_errno(ap_write(h, "/bus/ap/drivers/cex4queue/bind", "00.0004"), -EBUSY);
	/* bound elsewhere: -EBUSY; once unbound, not reserved: -ENODEV */
	assert_errno(ap_write(h, "/bus/ap/drivers/cex4queue/bind", "04.0004"), -EBUSY);
	assert_errno(ap_write(h, "/bus/ap/drivers/vfio_ap_test/unbind", "04.0004"), 7);
	assert_errno(ap_write(h, "/bus/ap/drivers/cex4queue/bind", "04.0004"), -ENODEV);
	assert_errno(ap_write(h, "/bus/ap/drivers/vfio_ap_test/bind", "04.0004"), 7);
	/* not a queue, no such device, not bound to this driver */
	assert_errno(ap_write(h, "/bus/ap/drivers/cex4queue/bind", "card00"), -ENODEV);
	assert_errno(ap_write(h, "/bus/ap/drivers/cex4queue/bind", "00.0009"), -ENODEV);
	assert_errno(ap_write(h, "/bus/ap/drivers/cex4queue/bind", "00.0004\n\n"), -ENODEV);
	assert_errno(ap_write(h, "/bus/ap/drivers/cex4queue/unbind", "04.0004"), -ENODEV);
	assert_string_equal(ap_read(h, "/bus/ap/bindings"), "30/30 (complete)");
	/* bind and unbind are write-only */
	assert_errno(sysfs_access(h->sysfs, NULL, "/bus/ap/drivers/cex4queue/bind", true, false),
		     -EACCES);
	ap_driver_unregister(ap_bus_get(h), &t.drv);
	host_free(h);
}

static void test_mask_change_reprobes(void **state)
{
	struct uvf_host *h = ap_test_host_default();
	struct test_ap_drv t;

	assert_errno(test_ap_drv_register(ap_bus_get(h), &t, "vfio_ap_test"), 0);
	/* adapter 0 leaves the host: its reserved queues go to the other driver */
	assert_errno(ap_write(h, "/bus/ap/apmask", "-0"), 2);
	assert_int_equal(test_drv_count(&t, &t.in_use_calls), 0);
	assert_int_equal(t.probes, 18 + 3);
	assert_string_equal(ap_driver_of(h, qpath(0, 5, NULL)), "vfio_ap_test");
	assert_false(ap_exists(h, qpath(0, 5, "online")));
	assert_string_equal(ap_driver_of(h, qpath(1, 5, NULL)), "cex4queue");
	/* and comes back: in_use is asked about the newly reserved APID only */
	assert_errno(ap_write(h, "/bus/ap/apmask", "+0"), 2);
	assert_int_equal(t.in_use_calls, 1);
	assert_true(t.perms_held_ok);
	assert_int_equal(t.last_apm[0], 1UL << 63);
	assert_int_equal(t.last_apm[1] | t.last_apm[2] | t.last_apm[3], 0);
	assert_int_equal(t.last_aqm[0], 0xfe7fffffffffffffUL);
	assert_int_equal(t.removes, 3);
	assert_string_equal(ap_driver_of(h, qpath(0, 5, NULL)), "cex4queue");
	/* domain 7 to the host: adapters 0-3 move, 4-5 are not reserved */
	assert_errno(ap_write(h, "/bus/ap/aqmask", "+7"), 2);
	assert_int_equal(t.in_use_calls, 2);
	assert_int_equal(t.last_aqm[0], 1UL << (63 - 7));
	assert_string_equal(ap_driver_of(h, qpath(2, 7, NULL)), "cex4queue");
	assert_string_equal(ap_driver_of(h, qpath(4, 7, NULL)), "vfio_ap_test");
	assert_string_equal(ap_read(h, "/bus/ap/bindings"), "30/30 (complete)");
	/* an unchanged mask changes nothing and asks nobody */
	assert_errno(ap_write(h, "/bus/ap/aqmask", "+7"), 2);
	assert_int_equal(t.in_use_calls, 2);
	ap_driver_unregister(ap_bus_get(h), &t.drv);
	host_free(h);
}

static void test_scans(void **state)
{
	struct uvf_host *h = ap_test_host_default();
	unsigned long long before = strtoull(ap_read(h, "/bus/ap/scans"), NULL, 10);

	assert_errno(ap_write(h, "/bus/ap/scans", "1"), 1);
	assert_int_equal(strtoull(ap_read(h, "/bus/ap/scans"), NULL, 10), before + 1);
	assert_false(ap_bus_force_rescan(ap_bus_get(h)));	/* nothing changed */
	assert_int_equal(strtoull(ap_read(h, "/bus/ap/scans"), NULL, 10), before + 2);
	assert_string_equal(ap_read(h, "/bus/ap/bindings"), "12/30");
	host_free(h);
}

static unsigned long long scans(struct uvf_host *h)
{
	return strtoull(ap_read(h, "/bus/ap/scans"), NULL, 10);
}

static void test_config_change_domain(void **state)
{
	struct uvf_host *h = ap_test_host_default();
	struct test_ap_drv t;
	unsigned long long n;

	assert_errno(test_ap_drv_register(ap_bus_get(h), &t, "vfio_ap_test"), 0);
	n = scans(h);
	assert_errno(ap_host_config_change(h, AP_CONFIG_DOMAIN_ADD, 9), 1);
	assert_int_equal(scans(h), n + 1);
	assert_int_equal(t.cfg_changed, 1);
	assert_int_equal(t.scan_complete, 1);
	assert_true(test_bit_inv(9, t.cfg_new.aqm));
	assert_false(test_bit_inv(9, t.cfg_old.aqm));
	assert_true(test_bit_inv(8, t.cfg_old.aqm));
	assert_string_equal(ap_read(h, "/bus/ap/ap_usage_domain_mask"), mask_str("0fc0", '0'));
	for (unsigned int c = 0; c < 6; c++)
		assert_string_equal(ap_driver_of(h, qpath(c, 9, NULL)),
				    c < 4 ? "cex4queue" : "vfio_ap_test");
	assert_string_equal(ap_read(h, "/bus/ap/bindings"), "36/36 (complete)");
	/* the same again: nothing changes, no scan, no callback */
	assert_errno(ap_host_config_change(h, AP_CONFIG_DOMAIN_ADD, 9), 0);
	assert_int_equal(scans(h), n + 1);
	assert_errno(ap_host_config_change(h, AP_CONFIG_DOMAIN_REMOVE, 9), 1);
	assert_int_equal(t.cfg_changed, 2);
	assert_int_equal(t.removes, 2);
	assert_false(ap_exists(h, qpath(0, 9, NULL)));
	/* control domains change the QCI only */
	assert_errno(ap_host_config_change(h, AP_CONFIG_CDOM_ADD, 12), 1);
	assert_int_equal(t.cfg_changed, 3);
	assert_string_equal(ap_read(h, "/bus/ap/ap_control_domain_mask"), mask_str("0f98", '0'));
	assert_string_equal(ap_read(h, "/bus/ap/bindings"), "30/30 (complete)");
	/* ids out of range, adapters not installed, unknown operations */
	assert_errno(ap_host_config_change(h, AP_CONFIG_DOMAIN_ADD, 256), -EINVAL);
	assert_errno(ap_host_config_change(h, AP_CONFIG_ADAPTER_ADD, 6), -ENODEV);
	assert_errno(ap_host_config_change(h, (enum ap_config_op)99, 1), -EINVAL);
	ap_driver_unregister(ap_bus_get(h), &t.drv);
	host_free(h);
}

static void test_config_change_adapter(void **state)
{
	struct uvf_host *h = ap_test_host_default();
	struct ap_machine *m = ap_bus_machine(ap_bus_get(h));
	struct test_ap_drv t;

	assert_errno(test_ap_drv_register(ap_bus_get(h), &t, "vfio_ap_test"), 0);
	assert_errno(ap_host_config_change(h, AP_CONFIG_ADAPTER_REMOVE, 5), 1);
	assert_false(ap_exists(h, cpath(5, NULL)));
	assert_false(ap_exists(h, "/bus/ap/devices/05.0004"));
	assert_int_equal(t.removes, 5);
	assert_string_equal(ap_read(h, "/bus/ap/ap_adapter_mask"), mask_str("f8", '0'));
	assert_int_equal(ap_tapq(m, AP_MKQID(5, 4), NULL).response_code,
			 AP_RESPONSE_Q_NOT_AVAIL);
	assert_errno(ap_host_config_change(h, AP_CONFIG_ADAPTER_ADD, 5), 1);
	assert_string_equal(ap_read(h, cpath(5, "type")), "CEX8C");
	assert_string_equal(ap_driver_of(h, qpath(5, 6, NULL)), "vfio_ap_test");
	assert_int_equal(t.probes, 18 + 5);

	/* standby: the card and its queues stay, deconfigured */
	assert_errno(ap_host_config_change(h, AP_CONFIG_ADAPTER_STANDBY, 3), 1);
	assert_string_equal(ap_read(h, cpath(3, "config")), "0");
	assert_string_equal(ap_read(h, cpath(3, "online")), "0");
	assert_string_equal(ap_read(h, qpath(3, 4, "config")), "0");
	assert_string_equal(ap_read(h, qpath(3, 4, "online")), "0");
	assert_int_equal(ap_tapq(m, AP_MKQID(3, 4), NULL).response_code,
			 AP_RESPONSE_DECONFIGURED);
	assert_errno(ap_host_config_change(h, AP_CONFIG_ADAPTER_ONLINE, 3), 1);
	assert_string_equal(ap_read(h, cpath(3, "config")), "1");
	assert_string_equal(ap_read(h, qpath(3, 4, "config")), "1");
	assert_string_equal(ap_read(h, qpath(3, 4, "online")), "1");
	/* a checkstop */
	assert_errno(ap_host_config_change(h, AP_CONFIG_ADAPTER_CHKSTOP, 1), 1);
	assert_string_equal(ap_read(h, cpath(1, "chkstop")), "1");
	assert_string_equal(ap_read(h, qpath(1, 5, "chkstop")), "1");
	assert_int_equal(ap_tapq(m, AP_MKQID(1, 5), NULL).response_code,
			 AP_RESPONSE_CHECKSTOPPED);
	assert_errno(ap_host_config_change(h, AP_CONFIG_ADAPTER_CHKSTOP_CLEAR, 1), 1);
	assert_string_equal(ap_read(h, qpath(1, 5, "chkstop")), "0");
	/* none of these changes the QCI masks except the add/remove */
	assert_int_equal(t.cfg_changed, 2);
	ap_driver_unregister(ap_bus_get(h), &t.drv);
	host_free(h);
}

static void test_card_config_store(void **state)
{
	struct uvf_host *h = ap_test_host_default();

	assert_errno(ap_write(h, cpath(3, "config"), "0\n"), 2);
	assert_string_equal(ap_read(h, cpath(3, "config")), "0");
	assert_int_equal(ap_tapq(ap_bus_machine(ap_bus_get(h)), AP_MKQID(3, 5), NULL)
				 .response_code, AP_RESPONSE_DECONFIGURED);
	/* the machine reports the change; the bus rescans on its own */
	assert_true(AP_WAIT_FOR(!strcmp(ap_read(h, qpath(3, 5, "config")), "0")));
	assert_errno(ap_write(h, cpath(3, "online"), "1"), -ENODEV);
	assert_errno(ap_write(h, cpath(3, "config"), "1"), 1);
	assert_true(AP_WAIT_FOR(!strcmp(ap_read(h, qpath(3, 5, "config")), "1")));
	assert_errno(ap_write(h, cpath(3, "config"), "2"), -EINVAL);
	assert_errno(ap_write(h, cpath(3, "config"), "on"), -EINVAL);
	assert_string_equal(ap_read(h, cpath(3, "config")), "1");
	host_free(h);
}

static void test_bus_attr_stores(void **state)
{
	struct uvf_host *h = ap_test_host_default();

	assert_errno(ap_write(h, "/bus/ap/ap_domain", "5\n"), 2);
	assert_string_equal(ap_read(h, "/bus/ap/ap_domain"), "5");
	assert_errno(ap_write(h, "/bus/ap/ap_domain", "0x6"), 3);
	assert_string_equal(ap_read(h, "/bus/ap/ap_domain"), "6");
	/* outside aqmask, above the maximum, not a number */
	assert_errno(ap_write(h, "/bus/ap/ap_domain", "7"), -EINVAL);
	assert_errno(ap_write(h, "/bus/ap/ap_domain", "256"), -EINVAL);
	assert_errno(ap_write(h, "/bus/ap/ap_domain", "-1"), -EINVAL);
	assert_errno(ap_write(h, "/bus/ap/ap_domain", "x"), -EINVAL);
	assert_string_equal(ap_read(h, "/bus/ap/ap_domain"), "6");
	assert_errno(ap_write(h, "/bus/ap/config_time", "4"), -EINVAL);
	assert_errno(ap_write(h, "/bus/ap/config_time", "121"), -EINVAL);
	assert_errno(ap_write(h, "/bus/ap/config_time", "60"), 2);
	assert_string_equal(ap_read(h, "/bus/ap/config_time"), "60");
	assert_errno(ap_write(h, "/bus/ap/poll_timeout", "120000000001"), -EINVAL);
	assert_errno(ap_write(h, "/bus/ap/poll_timeout", "1000000"), 7);
	assert_string_equal(ap_read(h, "/bus/ap/poll_timeout"), "1000000");
	/* with interruptions the poll thread stays off */
	assert_errno(ap_write(h, "/bus/ap/poll_thread", "1"), 1);
	assert_string_equal(ap_read(h, "/bus/ap/poll_thread"), "0");
	assert_errno(ap_write(h, "/bus/ap/poll_thread", "maybe"), -EINVAL);
	/* read-only attributes */
	assert_errno(sysfs_access(h->sysfs, NULL, "/bus/ap/bindings", false, true), -EACCES);
	assert_errno(sysfs_access(h->sysfs, NULL, "/bus/ap/ap_adapter_mask", false, true),
		     -EACCES);
	host_free(h);
}

static const char small_noapxa[] =
	"{ \"ap\": { \"apxa\": false, \"interrupts\": false,\n"
	"  \"usage_domains\": [1, 15], \"control_domains\": [1],\n"
	"  \"adapters\": [ { \"id\": 2, \"type\": \"CEX5\", \"mode\": \"accel\", \"depth\": 2 },\n"
	"                { \"id\": 63, \"type\": \"CEX6\", \"mode\": \"cca\",\n"
	"                  \"in_config\": false } ] } }";

static void test_small_machine(void **state)
{
	struct uvf_host *h = test_host_from_json(small_noapxa);

	assert_string_equal(ap_read(h, "/bus/ap/ap_max_adapter_id"), "63");
	assert_string_equal(ap_read(h, "/bus/ap/ap_max_domain_id"), "15");
	assert_string_equal(ap_read(h, "/bus/ap/features"), "APSC");
	assert_string_equal(ap_read(h, "/bus/ap/ap_interrupts"), "0");
	assert_string_equal(ap_read(h, "/bus/ap/ap_adapter_mask"), mask_str("2", '0'));
	assert_string_equal(ap_read(h, "/bus/ap/bindings"), "2/2 (complete)");
	assert_string_equal(ap_read(h, "/bus/ap/ap_domain"), "1");
	assert_string_equal(ap_read(h, cpath(2, "depth")), "2");
	assert_string_equal(ap_read(h, cpath(2, "type")), "CEX5A");
	assert_string_equal(ap_read(h, cpath(2, "ap_functions")), "0x68000000");
	assert_true(AP_WAIT_FOR(!strcmp(ap_read(h, qpath(2, 15, "reset")),
					"No Reset Timer set.")));
	assert_string_equal(ap_read(h, qpath(2, 15, "interrupt")), "Interrupts disabled.");
	assert_false(ap_exists(h, cpath(0x3f, NULL)));
	assert_errno(ap_host_config_change(h, AP_CONFIG_ADAPTER_ADD, 63), 1);
	assert_string_equal(ap_read(h, cpath(0x3f, "type")), "CEX6C");
	/* without interruptions the poll thread can be turned on */
	assert_errno(ap_write(h, "/bus/ap/poll_thread", "1"), 1);
	assert_string_equal(ap_read(h, "/bus/ap/poll_thread"), "1");
	assert_errno(ap_host_config_change(h, AP_CONFIG_DOMAIN_ADD, 16), -EINVAL);
	host_free(h);
}

static void test_no_ap(void **state)
{
	struct uvf_host *h = test_host_from_json("{ \"name\": \"x86\" }");
	struct uvf_proc *p = proc_new_root(h);

	assert_null(ap_bus_get(h));
	assert_false(ap_exists(h, "/bus/ap"));
	assert_false(ap_exists(h, "/devices/ap"));
	assert_errno(ap_host_config_change(h, AP_CONFIG_DOMAIN_ADD, 1), -ENODEV);
	assert_errno(proc_open(p, "/dev/z90crypt", O_RDWR), -ENOENT);
	proc_free(p);
	host_free(h);
}

static void expect_topology_error(const char *ap_json, const char *field)
{
	char json[1024], err[512] = "";
	struct uvf_topology *t = NULL;

	snprintf(json, sizeof(json), "{ \"ap\": %s }", ap_json);
	assert_errno(topology_load_string(json, "t.json", &t, err, sizeof(err)), -EINVAL);
	assert_null(t);
	if (!strstr(err, field))
		fail_msg("error '%s' does not name '%s'", err, field);
}

static void test_topology_errors(void **state)
{
	expect_topology_error("{ \"adapters\": [ { \"id\": 0, \"type\": \"CEX9\", "
			      "\"mode\": \"accel\" } ] }", "ap.adapters[0].type");
	expect_topology_error("{ \"adapters\": [ { \"id\": 0, \"type\": \"CEX8\", "
			      "\"mode\": \"fast\" } ] }", "ap.adapters[0].mode");
	expect_topology_error("{ \"adapters\": [ { \"id\": 0, \"type\": \"CEX8\" } ] }",
			      "missing required key 'mode'");
	expect_topology_error("{ \"adapters\": [ { \"id\": 1, \"type\": \"CEX8\", \"mode\": "
			      "\"cca\" }, { \"id\": 1, \"type\": \"CEX7\", \"mode\": \"cca\" } ] }",
			      "duplicate adapter id 1");
	expect_topology_error("{ \"adapters\": [ { \"id\": 0, \"type\": \"CEX8\", "
			      "\"mode\": \"cca\", \"depth\": 17 } ] }", "ap.adapters[0].depth");
	expect_topology_error("{ \"adapters\": [ { \"id\": 256, \"type\": \"CEX8\", "
			      "\"mode\": \"cca\" } ] }", "ap.adapters[0].id");
	expect_topology_error("{ \"apxa\": false, \"usage_domains\": [16] }",
			      "above the highest domain id");
	expect_topology_error("{ \"apxa\": false, \"adapters\": [ { \"id\": 64, "
			      "\"type\": \"CEX8\", \"mode\": \"cca\" } ] }",
			      "above the highest adapter id");
	expect_topology_error("{ \"apmask\": \"0xz\" }", "ap.apmask");
	expect_topology_error("{ \"aqmask\": \"+5-3\" }", "ap.aqmask");
	expect_topology_error("{ \"usage_domains\": [1, \"2\"] }", "ap.usage_domains[1]");
	expect_topology_error("{ \"color\": \"blue\" }", "ap.color");
	expect_topology_error("[]", "ap");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_config),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_nondefault_driver_binds_the_rest),
		cmocka_unit_test(test_bind_unbind),
		cmocka_unit_test(test_mask_change_reprobes),
		cmocka_unit_test(test_scans),
		cmocka_unit_test(test_config_change_domain),
		cmocka_unit_test(test_config_change_adapter),
		cmocka_unit_test(test_card_config_store),
		cmocka_unit_test(test_bus_attr_stores),
		cmocka_unit_test(test_small_machine),
		cmocka_unit_test(test_no_ap),
		cmocka_unit_test(test_topology_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
