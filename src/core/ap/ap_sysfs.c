// SPDX-License-Identifier: MIT
/*
 * The AP bus in sysfs: /sys/bus/ap and its attributes (the kernel's
 * ap_bus_attrs, same names, modes and formats), /sys/bus/ap/devices,
 * /sys/bus/ap/drivers/<name>/{bind,unbind}, and the directory of a card
 * or queue device with its 'subsystem' link.
 *
 * Stores that change bindings (apmask, aqmask, bind, unbind) take
 * bus->lock; the nodes here are removed only when the bus or a driver
 * goes, after those locks are released.  'scans' waits for a scan.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "ap_priv.h"
#include "../base/compiler.h"
#include "../host/host.h"
#include "../sysfs/sysfs.h"

static struct ap_bus *attr_bus(struct sysfs_node *attr)
{
	return sysfs_priv(attr);
}

static ssize_t ap_domain_show(struct sysfs_node *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", ap_domain_index(attr_bus(attr)));
}

/* sscanf("%i"): decimal, 0x hex or 0 octal, as the kernel parses it. */
static ssize_t ap_domain_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	struct ap_bus *bus = attr_bus(attr);
	int domain;
	bool allowed;

	if (sscanf(buf, "%i", &domain) != 1 || domain < 0 || domain > bus->max_domain_id)
		return -EINVAL;
	ap_perms_lock(bus);
	allowed = test_bit_inv((unsigned int)domain, bus->aqm);
	ap_perms_unlock(bus);
	if (!allowed)
		return -EINVAL;
	atomic_store(&bus->domain_index, domain);
	return (ssize_t)len;
}

/* The QCI masks, or "not supported" without QCI. */
static ssize_t qci_mask_show(struct sysfs_node *attr, char *buf, size_t which)
{
	struct ap_config_info info;
	const unsigned long *mask;

	ap_bus_qci_info(attr_bus(attr), &info);
	if (!ap_qci_flags(&info))
		return sysfs_emit(buf, "not supported\n");
	mask = which == 0 ? info.apm : which == 1 ? info.aqm : info.adm;
	return ap_mask_show(buf, mask);
}

static ssize_t ap_adapter_mask_show(struct sysfs_node *attr, char *buf)
{
	return qci_mask_show(attr, buf, 0);
}

static ssize_t ap_usage_domain_mask_show(struct sysfs_node *attr, char *buf)
{
	return qci_mask_show(attr, buf, 1);
}

static ssize_t ap_control_domain_mask_show(struct sysfs_node *attr, char *buf)
{
	return qci_mask_show(attr, buf, 2);
}

static ssize_t ap_interrupts_show(struct sysfs_node *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", attr_bus(attr)->irq_flag ? 1 : 0);
}

static ssize_t config_time_show(struct sysfs_node *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", atomic_load(&attr_bus(attr)->config_time));
}

static ssize_t config_time_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	struct ap_bus *bus = attr_bus(attr);
	int t;

	if (sscanf(buf, "%d", &t) != 1 || t < 5 || t > 120)
		return -EINVAL;
	atomic_store(&bus->config_time, t);
	uvf_mutex_lock(&bus->scan_req_lock);
	bus->scan_rearm = true;		/* the kernel's mod_timer */
	pthread_cond_broadcast(&bus->scan_req_cond);
	uvf_mutex_unlock(&bus->scan_req_lock);
	return (ssize_t)len;
}

static ssize_t poll_thread_show(struct sysfs_node *attr, char *buf)
{
	struct ap_bus *bus = attr_bus(attr);

	return sysfs_emit(buf, "%d\n",
			  __atomic_load_n(&bus->poll.thread_flag, __ATOMIC_RELAXED) ? 1 : 0);
}

static ssize_t poll_thread_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	bool on;
	int ret = kstrtobool(buf, &on);

	if (!ret)
		ret = ap_poll_thread_set(attr_bus(attr), on);
	return ret ? ret : (ssize_t)len;
}

static ssize_t poll_timeout_show(struct sysfs_node *attr, char *buf)
{
	struct ap_bus *bus = attr_bus(attr);

	return sysfs_emit(buf, "%llu\n", (unsigned long long)__atomic_load_n(
					 &bus->poll.high_timeout_ns, __ATOMIC_RELAXED));
}

static ssize_t poll_timeout_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	unsigned long long v;
	int ret = kstrtoull(buf, 0, &v);

	if (!ret)
		ret = ap_poll_timeout_set(attr_bus(attr), v);
	return ret ? ret : (ssize_t)len;
}

static ssize_t ap_max_domain_id_show(struct sysfs_node *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", attr_bus(attr)->max_domain_id);
}

static ssize_t ap_max_adapter_id_show(struct sysfs_node *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", attr_bus(attr)->max_adapter_id);
}

static ssize_t perms_mask_show(struct sysfs_node *attr, char *buf, bool adapters)
{
	struct ap_bus *bus = attr_bus(attr);
	ssize_t ret;

	ap_perms_lock(bus);
	ret = ap_mask_show(buf, adapters ? bus->apm : bus->aqm);
	ap_perms_unlock(bus);
	return ret;
}

static ssize_t perms_mask_store(struct sysfs_node *attr, const char *buf, size_t len,
				bool adapters)
{
	struct ap_bus *bus = attr_bus(attr);
	bool changed;
	int ret;

	ap_perms_lock(bus);
	ret = adapters ? apmask_store_locked(bus, buf, &changed) :
			 aqmask_store_locked(bus, buf, &changed);
	ap_perms_unlock(bus);
	if (ret)
		return ret;
	if (changed)
		ap_bus_revise_bindings(bus);
	return (ssize_t)len;
}

static ssize_t apmask_show(struct sysfs_node *attr, char *buf)
{
	return perms_mask_show(attr, buf, true);
}

static ssize_t apmask_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	return perms_mask_store(attr, buf, len, true);
}

static ssize_t aqmask_show(struct sysfs_node *attr, char *buf)
{
	return perms_mask_show(attr, buf, false);
}

static ssize_t aqmask_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	return perms_mask_store(attr, buf, len, false);
}

static ssize_t scans_show(struct sysfs_node *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  (unsigned long long)atomic_load(&attr_bus(attr)->scan_count));
}

/* Any write forces a rescan and returns when it is done. */
static ssize_t scans_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	ap_bus_force_rescan(attr_bus(attr));
	return (ssize_t)len;
}

static ssize_t bindings_show(struct sysfs_node *attr, char *buf)
{
	struct ap_bus *bus = attr_bus(attr);
	unsigned int apqns, bound;

	ap_calc_bound_apqns(bus, &apqns, &bound);
	if (atomic_load(&bus->scan_count) >= 1 && bound == apqns)
		return sysfs_emit(buf, "%u/%u (complete)\n", bound, apqns);
	return sysfs_emit(buf, "%u/%u\n", bound, apqns);
}

static ssize_t features_show(struct sysfs_node *attr, char *buf)
{
	struct ap_config_info info;
	size_t n = 0;

	ap_bus_qci_info(attr_bus(attr), &info);
	if (!ap_qci_flags(&info))
		return sysfs_emit(buf, "-\n");
	if (info.apsc)
		n += (size_t)sysfs_emit_at(buf, n, "APSC ");
	if (info.apxa)
		n += (size_t)sysfs_emit_at(buf, n, "APXA ");
	if (info.qact)
		n += (size_t)sysfs_emit_at(buf, n, "QACT ");
	if (info.rc8a)
		n += (size_t)sysfs_emit_at(buf, n, "RC8A ");
	if (info.apsb)
		n += (size_t)sysfs_emit_at(buf, n, "APSB ");
	/* the last blank becomes the newline */
	sysfs_emit_at(buf, n ? n - 1 : 0, "\n");
	return (ssize_t)n;
}

AP_ATTR_RW(ap_domain);
AP_ATTR_RO(ap_control_domain_mask);
AP_ATTR_RO(ap_usage_domain_mask);
AP_ATTR_RO(ap_adapter_mask);
AP_ATTR_RW(config_time);
AP_ATTR_RW(poll_thread);
AP_ATTR_RO(ap_interrupts);
AP_ATTR_RW(poll_timeout);
AP_ATTR_RO(ap_max_domain_id);
AP_ATTR_RO(ap_max_adapter_id);
AP_ATTR_RW(apmask);
AP_ATTR_RW(aqmask);
AP_ATTR_RW(scans);
AP_ATTR_RO(bindings);
AP_ATTR_RO(features);

static const struct ap_attr_def ap_bus_attrs[] = {
	{ "ap_domain", 0644, &ap_domain_ops },
	{ "ap_control_domain_mask", 0444, &ap_control_domain_mask_ops },
	{ "ap_usage_domain_mask", 0444, &ap_usage_domain_mask_ops },
	{ "ap_adapter_mask", 0444, &ap_adapter_mask_ops },
	{ "config_time", 0644, &config_time_ops },
	{ "poll_thread", 0644, &poll_thread_ops },
	{ "ap_interrupts", 0444, &ap_interrupts_ops },
	{ "poll_timeout", 0644, &poll_timeout_ops },
	{ "ap_max_domain_id", 0444, &ap_max_domain_id_ops },
	{ "ap_max_adapter_id", 0444, &ap_max_adapter_id_ops },
	{ "apmask", 0644, &apmask_ops },
	{ "aqmask", 0644, &aqmask_ops },
	{ "scans", 0644, &scans_ops },
	{ "bindings", 0444, &bindings_ops },
	{ "features", 0444, &features_ops },
};

int ap_sysfs_bus_init(struct ap_bus *bus)
{
	struct sysfs_node *root = sysfs_root(bus->host->sysfs);

	bus->bus_dir = sysfs_mkdir_p(root, "bus/ap");
	bus->devices_dir = sysfs_mkdir_p(root, "bus/ap/devices");
	bus->drivers_dir = sysfs_mkdir_p(root, "bus/ap/drivers");
	bus->root_dir = sysfs_mkdir_p(root, "devices/ap");
	if (!bus->bus_dir || !bus->devices_dir || !bus->drivers_dir || !bus->root_dir)
		return -ENOMEM;
	return ap_sysfs_add_attrs(bus->bus_dir, ap_bus_attrs, ARRAY_SIZE(ap_bus_attrs), bus);
}

int ap_sysfs_add_attrs(struct sysfs_node *dir, const struct ap_attr_def *defs, size_t n,
		       void *priv)
{
	for (size_t i = 0; i < n; i++)
		if (!sysfs_add_attr(dir, defs[i].name, defs[i].mode, defs[i].ops, priv))
			return -errno;
	return 0;
}

/* ---- devices -------------------------------------------------------------- */

int ap_sysfs_add_device(struct ap_device *ap_dev, struct sysfs_node *parent)
{
	struct ap_bus *bus = ap_dev->bus;
	struct sysfs_node *dir = sysfs_mkdir(parent, ap_dev->dev.name, 0755);

	if (!dir)
		return -errno;
	ap_dev->dev.sysfs_dir = dir;
	if (!sysfs_add_link_path(dir, "subsystem", "/bus/ap"))
		return -errno;
	ap_dev->bus_link = sysfs_add_link(bus->devices_dir, ap_dev->dev.name, dir);
	return ap_dev->bus_link ? 0 : -errno;
}

void ap_sysfs_del_device(struct ap_device *ap_dev)
{
	sysfs_remove(ap_dev->bus_link);
	sysfs_remove(ap_dev->dev.sysfs_dir);
	ap_dev->bus_link = NULL;
	ap_dev->dev.sysfs_dir = NULL;
}

/* ---- drivers: bind and unbind --------------------------------------------- */

/* The device named buf (one trailing newline allowed, as sysfs_streq). */
static struct ap_device *find_device_locked(struct ap_bus *bus, const char *buf)
{
	size_t n = strcspn(buf, "\n");
	struct ap_queue *aq;
	struct ap_card *ac;

	if (buf[n] && buf[n + 1])
		return NULL;
	list_for_each_entry(ac, &bus->cards, link)
		if (strlen(ac->ap_dev.dev.name) == n && !strncmp(ac->ap_dev.dev.name, buf, n))
			return &ac->ap_dev;
	list_for_each_entry(aq, &bus->queues, link)
		if (strlen(aq->ap_dev.dev.name) == n && !strncmp(aq->ap_dev.dev.name, buf, n))
			return &aq->ap_dev;
	return NULL;
}

/* The driver core's bind_store: -ENODEV unknown/unmatched, -EBUSY bound,
 * else the probe's result (a reservation mismatch is -ENODEV). */
static ssize_t bind_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	struct ap_driver *drv = sysfs_priv(attr);
	struct ap_bus *bus = drv->priv_bus;
	struct ap_device *ap_dev;
	int ret = -ENODEV;

	uvf_mutex_lock(&bus->lock);
	ap_dev = find_device_locked(bus, buf);
	if (ap_dev && ap_bus_match(drv, ap_dev))
		ret = device_bind_driver(&ap_dev->dev, &drv->driver);
	uvf_mutex_unlock(&bus->lock);
	if (!ret)
		ap_check_bindings_complete(bus);
	return ret ? ret : (ssize_t)len;
}

static ssize_t unbind_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	struct ap_driver *drv = sysfs_priv(attr);
	struct ap_bus *bus = drv->priv_bus;
	struct ap_device *ap_dev;
	int ret = -ENODEV;

	uvf_mutex_lock(&bus->lock);
	ap_dev = find_device_locked(bus, buf);
	if (ap_dev && ap_dev->dev.driver == &drv->driver) {
		ap_device_release_driver(ap_dev);
		ret = 0;
	}
	uvf_mutex_unlock(&bus->lock);
	return ret ? ret : (ssize_t)len;
}

static const struct sysfs_attr_ops bind_ops = { .store = bind_store };
static const struct sysfs_attr_ops unbind_ops = { .store = unbind_store };

int ap_sysfs_driver_add(struct ap_bus *bus, struct ap_driver *drv)
{
	drv->dir = sysfs_mkdir(bus->drivers_dir, drv->driver.name, 0755);
	if (!drv->dir)
		return -errno;
	if (!sysfs_add_attr(drv->dir, "bind", 0200, &bind_ops, drv) ||
	    !sysfs_add_attr(drv->dir, "unbind", 0200, &unbind_ops, drv)) {
		int ret = -errno;

		sysfs_remove(drv->dir);
		drv->dir = NULL;
		return ret;
	}
	return 0;
}
