// SPDX-License-Identifier: MIT
/*
 * AP card devices (drivers/s390/crypto/ap_card.c): one per adapter in the
 * configuration, /sys/devices/ap/cardXX with the kernel's attributes.
 *
 * 'config' is writable as in the kernel: writing 0/1 puts the adapter in
 * standby or online through the machine (the kernel's SCLP call).  The
 * real machine then reports the configuration change and the bus
 * rescans; here the store asks the scan thread for that rescan (it must
 * not scan itself: a scan may remove this very directory and waits for
 * stores on it to finish).
 *
 * Lock order: bus->lock (registration) -> bus->queues_lock -> aq->lock.
 * ac->config and ac->chkstop are written by scans (bus->lock) and the
 * config store (no bus lock) with atomic accesses.  Stores here never
 * take bus->lock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ap_priv.h"
#include "../base/compiler.h"
#include "../host/host.h"
#include "../sysfs/sysfs.h"

static struct ap_card *attr_ac(struct sysfs_node *attr)
{
	return sysfs_priv(attr);
}

static ssize_t hwtype_show(struct sysfs_node *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", attr_ac(attr)->ap_dev.device_type);
}

static ssize_t raw_hwtype_show(struct sysfs_node *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", attr_ac(attr)->hwinfo.at);
}

static ssize_t depth_show(struct sysfs_node *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", attr_ac(attr)->hwinfo.qd + 1);
}

static ssize_t ap_functions_show(struct sysfs_node *attr, char *buf)
{
	return sysfs_emit(buf, "0x%08X\n", ap_hwinfo_fac(&attr_ac(attr)->hwinfo));
}

static ssize_t request_count_show(struct sysfs_node *attr, char *buf)
{
	struct ap_card *ac = attr_ac(attr);

	return sysfs_emit(buf, "%llu\n", (unsigned long long)__atomic_load_n(
					 &ac->total_request_count, __ATOMIC_RELAXED));
}

/* Any write clears the card's count and those of its bound queues. */
static ssize_t request_count_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	struct ap_card *ac = attr_ac(attr);
	struct ap_bus *bus = ac->ap_dev.bus;
	struct ap_queue *aq;

	uvf_mutex_lock(&bus->queues_lock);
	list_for_each_entry(aq, &bus->bound_queues, hnode) {
		if (aq->card == ac)
			__atomic_store_n(&aq->total_request_count, 0, __ATOMIC_RELAXED);
	}
	uvf_mutex_unlock(&bus->queues_lock);
	__atomic_store_n(&ac->total_request_count, 0, __ATOMIC_RELAXED);
	return (ssize_t)len;
}

/* The sum of a count over the card's bound queues. */
static ssize_t card_count_show(struct sysfs_node *attr, char *buf, bool pending)
{
	struct ap_card *ac = attr_ac(attr);
	struct ap_bus *bus = ac->ap_dev.bus;
	struct ap_queue *aq;
	unsigned int cnt = 0;

	uvf_mutex_lock(&bus->queues_lock);
	list_for_each_entry(aq, &bus->bound_queues, hnode) {
		if (aq->card != ac)
			continue;
		uvf_mutex_lock(&aq->lock);
		cnt += (unsigned int)(pending ? aq->pendingq_count : aq->requestq_count);
		uvf_mutex_unlock(&aq->lock);
	}
	uvf_mutex_unlock(&bus->queues_lock);
	return sysfs_emit(buf, "%d\n", (int)cnt);
}

static ssize_t requestq_count_show(struct sysfs_node *attr, char *buf)
{
	return card_count_show(attr, buf, false);
}

static ssize_t pendingq_count_show(struct sysfs_node *attr, char *buf)
{
	return card_count_show(attr, buf, true);
}

static ssize_t modalias_show(struct sysfs_node *attr, char *buf)
{
	return sysfs_emit(buf, "ap:t%02X\n", attr_ac(attr)->ap_dev.device_type);
}

static ssize_t config_show(struct sysfs_node *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n",
			  __atomic_load_n(&attr_ac(attr)->config, __ATOMIC_RELAXED) ? 1 : 0);
}

/* sscanf("%d\n"): a decimal number, then anything (the kernel's parse). */
static int parse_int(const char *buf, int *val)
{
	return sscanf(buf, "%d", val) == 1 ? 0 : -EINVAL;
}

static ssize_t config_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	struct ap_card *ac = attr_ac(attr);
	struct ap_bus *bus = ac->ap_dev.bus;
	bool cur = __atomic_load_n(&ac->config, __ATOMIC_RELAXED);
	int cfg, ret = 0;

	if (parse_int(buf, &cfg) || cfg < 0 || cfg > 1)
		return -EINVAL;
	if (cfg && !cur)
		ret = ap_machine_config_change(bus->mach, AP_CONFIG_ADAPTER_ONLINE,
					       (unsigned int)ac->id);
	else if (!cfg && cur)
		ret = ap_machine_config_change(bus->mach, AP_CONFIG_ADAPTER_STANDBY,
					       (unsigned int)ac->id);
	if (ret < 0)
		return ret;
	__atomic_store_n(&ac->config, cfg == 1, __ATOMIC_RELAXED);
	if (ret > 0)
		ap_bus_request_rescan(bus);
	return (ssize_t)len;
}

static ssize_t chkstop_show(struct sysfs_node *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n",
			  __atomic_load_n(&attr_ac(attr)->chkstop, __ATOMIC_RELAXED) ? 1 : 0);
}

static ssize_t max_msg_size_show(struct sysfs_node *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", attr_ac(attr)->maxmsgsize);
}

AP_ATTR_RO(hwtype);
AP_ATTR_RO(raw_hwtype);
AP_ATTR_RO(depth);
AP_ATTR_RO(ap_functions);
AP_ATTR_RW(request_count);
AP_ATTR_RO(requestq_count);
AP_ATTR_RO(pendingq_count);
AP_ATTR_RO(modalias);
AP_ATTR_RW(config);
AP_ATTR_RO(chkstop);
AP_ATTR_RO(max_msg_size);

static const struct ap_attr_def ap_card_attrs[] = {
	{ "hwtype", 0444, &hwtype_ops },
	{ "raw_hwtype", 0444, &raw_hwtype_ops },
	{ "depth", 0444, &depth_ops },
	{ "ap_functions", 0444, &ap_functions_ops },
	{ "request_count", 0644, &request_count_ops },
	{ "requestq_count", 0444, &requestq_count_ops },
	{ "pendingq_count", 0444, &pendingq_count_ops },
	{ "modalias", 0444, &modalias_ops },
	{ "config", 0644, &config_ops },
	{ "chkstop", 0444, &chkstop_ops },
	{ "max_msg_size", 0444, &max_msg_size_ops },
};

struct ap_card *ap_card_create(struct ap_bus *bus, int id, const struct ap_tapq_hwinfo *hw,
			       int comp_type)
{
	struct ap_card *ac = calloc(1, sizeof(*ac));

	if (!ac)
		return NULL;
	uvf_ref_init(&ac->ref);
	list_init(&ac->link);
	ac->ap_dev.bus = bus;
	ac->ap_dev.device_type = comp_type;
	snprintf(ac->ap_dev.dev.name, sizeof(ac->ap_dev.dev.name), "card%02x", id);
	ac->ap_dev.dev.bus = "ap";
	ac->ap_dev.dev.bus_data = &ac->ap_dev;
	ac->hwinfo = *hw;
	ac->id = id;
	ac->maxmsgsize = hw->ml ? hw->ml * AP_TAPQ_ML_FIELD_CHUNK_SIZE : AP_DEFAULT_MAX_MSG_SIZE;
	return ac;
}

void ap_card_put(struct ap_card *ac)
{
	if (ac && uvf_ref_put(&ac->ref))
		free(ac);
}

static int ap_card_sysfs_add(struct ap_card *ac)
{
	int ret = ap_sysfs_add_device(&ac->ap_dev, ac->ap_dev.bus->root_dir);

	return ret ? ret : ap_sysfs_add_attrs(ac->ap_dev.dev.sysfs_dir, ap_card_attrs,
					      ARRAY_SIZE(ap_card_attrs), ac);
}

/* bus->lock held.  On failure the card is gone. */
int ap_card_register(struct ap_card *ac)
{
	struct ap_bus *bus = ac->ap_dev.bus;
	int ret;

	list_add_tail(&ac->link, &bus->cards);
	device_register(bus->host, &ac->ap_dev.dev);
	ret = ap_card_sysfs_add(ac);
	if (ret) {
		ap_card_unregister(ac);
		return ret;
	}
	ap_device_attach(&ac->ap_dev);
	return 0;
}

/* bus->lock held; its queues are gone already. */
void ap_card_unregister(struct ap_card *ac)
{
	ap_device_release_driver(&ac->ap_dev);
	ap_sysfs_del_device(&ac->ap_dev);
	device_unregister(&ac->ap_dev.dev);
	list_del_init(&ac->link);
	ap_card_put(ac);
}
