// SPDX-License-Identifier: MIT
/*
 * The emulated machine's AP configuration: creating it from a
 * description, PQAP(QCI), and the configuration changes an operator makes
 * on the SE/HMC (adapters and domains into and out of the configuration,
 * adapters online/standby, checkstops).
 *
 * A change that takes resources away resets and zeroizes the affected
 * queues: an adapter leaving the configuration, going to standby or
 * checkstopping loses every request and reply on its queues, a domain
 * leaving the configuration loses them on every adapter - nothing a
 * program enqueued before can be dequeued after.  Telling the host (the
 * kernel's CHSC "AP configuration changed" event) is the caller's part:
 * the AP bus scans after the changes it makes.
 *
 * Lock order (ap_hw.h): m->config_lock -> ad->lock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ap_hw.h"

uint32_t ap_queue_status_value(struct ap_queue_status st)
{
	return (st.queue_empty ? 0x80000000u : 0) | (st.replies_waiting ? 0x40000000u : 0) |
	       (st.queue_full ? 0x20000000u : 0) | (st.async ? 0x02000000u : 0) |
	       (st.irq_enabled ? 0x01000000u : 0) | ((uint32_t)st.response_code << 16);
}

struct ap_queue_status ap_queue_status_from_value(uint32_t v)
{
	return (struct ap_queue_status){
		.queue_empty = v & 0x80000000u,
		.replies_waiting = v & 0x40000000u,
		.queue_full = v & 0x20000000u,
		.async = v & 0x02000000u,
		.irq_enabled = v & 0x01000000u,
		.response_code = (uint8_t)(v >> 16),
	};
}

/* Bit 0 of the facility word is its most significant bit. */
uint32_t ap_hwinfo_fac(const struct ap_tapq_hwinfo *hw)
{
	return (uint32_t)hw->apsc << 31 | (uint32_t)hw->mex4k << 30 |
	       (uint32_t)hw->crt4k << 29 | (uint32_t)hw->cca << 28 |
	       (uint32_t)hw->accel << 27 | (uint32_t)hw->ep11 << 26 |
	       (uint32_t)hw->apxa << 25 | (uint32_t)hw->slcf << 24 |
	       (uint32_t)hw->class_ << 16 | (uint32_t)(hw->bs & 3) << 14;
}

uint64_t ap_hwinfo_value(const struct ap_tapq_hwinfo *hw)
{
	return (uint64_t)ap_hwinfo_fac(hw) << 32 | (uint64_t)hw->at << 24 |
	       (uint64_t)hw->nd << 16 | (uint64_t)(hw->ml & 0xf) << 8 | (hw->qd & 0xf);
}

const char *ap_mode_name(enum ap_mode mode)
{
	switch (mode) {
	case AP_MODE_ACCEL:
		return "accel";
	case AP_MODE_CCA:
		return "cca";
	case AP_MODE_EP11:
		return "ep11";
	}
	return "?";
}

/* The highest bit set in a mask, or -1. */
static int mask_last(const unsigned long *mask)
{
	for (int i = AP_DOMAINS - 1; i >= 0; i--)
		if (test_bit_inv((unsigned int)i, mask))
			return i;
	return -1;
}

static int desc_check_adapter(const struct ap_machine_desc *d, unsigned int i, char *why,
			      size_t len)
{
	const struct ap_adapter_desc *a = &d->adapters[i];

	if (a->id > d->max_adapter_id) {
		snprintf(why, len, "adapter %u is above the highest adapter id %u", a->id,
			 d->max_adapter_id);
		return -EINVAL;
	}
	if (a->type < AP_DEVICE_TYPE_CEX4 || a->type > AP_DEVICE_TYPE_CEX8) {
		snprintf(why, len, "adapter %u: type %u is not CEX4..CEX8 (10..14)", a->id, a->type);
		return -EINVAL;
	}
	if (a->depth < 1 || a->depth > 16) {
		snprintf(why, len, "adapter %u: queue depth %u is not 1..16", a->id, a->depth);
		return -EINVAL;
	}
	for (unsigned int j = 0; j < i; j++) {
		if (d->adapters[j].id == a->id) {
			snprintf(why, len, "adapter %u is installed twice", a->id);
			return -EINVAL;
		}
	}
	return 0;
}

int ap_machine_desc_check(const struct ap_machine_desc *d, char *why, size_t len)
{
	unsigned int max_ap = d->apxa ? 255 : 63, max_dom = d->apxa ? 255 : 15;
	int ret;

	if (d->max_adapter_id > max_ap || d->max_domain_id > max_dom) {
		snprintf(why, len, "highest ids %u/%u exceed %u/%u%s", d->max_adapter_id,
			 d->max_domain_id, max_ap, max_dom, d->apxa ? "" : " (no APXA)");
		return -EINVAL;
	}
	if (mask_last(d->usage_domains) > (int)d->max_domain_id ||
	    mask_last(d->control_domains) > (int)d->max_domain_id) {
		snprintf(why, len, "a domain is above the highest domain id %u",
			 d->max_domain_id);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < d->nadapters; i++) {
		ret = desc_check_adapter(d, i, why, len);
		if (ret)
			return ret;
	}
	return 0;
}

struct ap_machine *ap_machine_new(const struct ap_machine_desc *d)
{
	struct ap_machine *m;
	char why[128];

	if (ap_machine_desc_check(d, why, sizeof(why)))
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	uvf_rwlock_init(&m->config_lock);
	uvf_mutex_init(&m->airq_lock);
	pthread_cond_init(&m->airq_idle, NULL);
	m->interrupts = d->interrupts;
	m->reset_delay_us = 200;
	m->qci.apsc = true;
	m->qci.apxa = d->apxa;
	m->qci.na = (uint8_t)d->max_adapter_id;
	m->qci.nd = (uint8_t)d->max_domain_id;
	memcpy(m->qci.aqm, d->usage_domains, sizeof(m->qci.aqm));
	memcpy(m->qci.adm, d->control_domains, sizeof(m->qci.adm));
	for (unsigned int i = 0; i < d->nadapters; i++) {
		if (ap_adapter_start(m, &d->adapters[i])) {
			ap_machine_free(m);
			return NULL;
		}
		if (d->adapters[i].in_config)
			set_bit_inv(d->adapters[i].id, m->qci.apm);
	}
	return m;
}

void ap_machine_free(struct ap_machine *m)
{
	if (!m)
		return;
	for (unsigned int i = 0; i < AP_DEVICES; i++)
		if (m->adapters[i])
			ap_adapter_stop(m->adapters[i]);
	pthread_cond_destroy(&m->airq_idle);
	uvf_mutex_destroy(&m->airq_lock);
	uvf_rwlock_destroy(&m->config_lock);
	free(m);
}

bool ap_interrupts_available(const struct ap_machine *m)
{
	return m->interrupts;
}

void ap_machine_set_reset_delay(struct ap_machine *m, unsigned int usec)
{
	uvf_write_lock(&m->config_lock);
	m->reset_delay_us = usec;
	uvf_rw_unlock(&m->config_lock);
}

void ap_machine_set_latency(struct ap_machine *m, unsigned int usec)
{
	__atomic_store_n(&m->latency_us, usec, __ATOMIC_RELAXED);
}

bool ap_hw_apqn_configured(const struct ap_machine *m, ap_qid_t qid)
{
	unsigned int card = AP_QID_CARD(qid), dom = AP_QID_QUEUE(qid);

	return card <= m->qci.na && dom <= m->qci.nd && m->adapters[card] &&
	       test_bit_inv(card, m->qci.apm) && test_bit_inv(dom, m->qci.aqm);
}

int ap_qci(struct ap_machine *m, struct ap_config_info *info)
{
	uvf_read_lock(&m->config_lock);
	*info = m->qci;
	uvf_rw_unlock(&m->config_lock);
	return 0;
}

/* Domain 'dom' of every adapter loses its requests and replies. */
static void domain_reset_all(struct ap_machine *m, unsigned int dom)
{
	for (unsigned int i = 0; i < AP_DEVICES; i++) {
		struct ap_adapter *ad = m->adapters[i];

		if (!ad)
			continue;
		uvf_mutex_lock(&ad->lock);
		ap_hw_queue_reset(ad, &ad->q[dom]);
		uvf_mutex_unlock(&ad->lock);
	}
}

/* Set or clear bit id of mask; whether it changed. */
static bool mask_update(unsigned long *mask, unsigned int id, bool set)
{
	if (test_bit_inv(id, mask) == set)
		return false;
	if (set)
		set_bit_inv(id, mask);
	else
		clear_bit_inv(id, mask);
	return true;
}

/* An adapter state flag; the adapter's queues reset when 'reset'. */
static bool adapter_update(struct ap_adapter *ad, bool *flag, bool val, bool reset)
{
	if (*flag == val)
		return false;
	*flag = val;
	if (reset)
		ap_adapter_reset_all(ad);
	return true;
}

/* The change itself (config_lock held for writing); whether it changed. */
static bool config_apply(struct ap_machine *m, enum ap_config_op op, unsigned int id)
{
	struct ap_adapter *ad = id < AP_DEVICES ? m->adapters[id] : NULL;

	switch (op) {
	case AP_CONFIG_ADAPTER_ADD:
		return mask_update(m->qci.apm, id, true);
	case AP_CONFIG_ADAPTER_REMOVE:
		if (!mask_update(m->qci.apm, id, false))
			return false;
		ap_adapter_reset_all(ad);
		return true;
	case AP_CONFIG_DOMAIN_ADD:
		return mask_update(m->qci.aqm, id, true);
	case AP_CONFIG_DOMAIN_REMOVE:
		if (!mask_update(m->qci.aqm, id, false))
			return false;
		domain_reset_all(m, id);
		return true;
	case AP_CONFIG_CDOM_ADD:
		return mask_update(m->qci.adm, id, true);
	case AP_CONFIG_CDOM_REMOVE:
		return mask_update(m->qci.adm, id, false);
	case AP_CONFIG_ADAPTER_ONLINE:
		return adapter_update(ad, &ad->configured, true, false);
	case AP_CONFIG_ADAPTER_STANDBY:
		return adapter_update(ad, &ad->configured, false, true);
	case AP_CONFIG_ADAPTER_CHKSTOP:
		return adapter_update(ad, &ad->chkstop, true, true);
	case AP_CONFIG_ADAPTER_CHKSTOP_CLEAR:
		return adapter_update(ad, &ad->chkstop, false, true);
	}
	return false;
}

static bool op_is_domain(enum ap_config_op op)
{
	return op == AP_CONFIG_DOMAIN_ADD || op == AP_CONFIG_DOMAIN_REMOVE ||
	       op == AP_CONFIG_CDOM_ADD || op == AP_CONFIG_CDOM_REMOVE;
}

int ap_machine_config_change(struct ap_machine *m, enum ap_config_op op, unsigned int id)
{
	int ret;

	if ((unsigned int)op > AP_CONFIG_ADAPTER_CHKSTOP_CLEAR)
		return -EINVAL;
	uvf_write_lock(&m->config_lock);
	if (id > (op_is_domain(op) ? m->qci.nd : m->qci.na))
		ret = -EINVAL;
	else if (!op_is_domain(op) && !m->adapters[id])
		ret = -ENODEV;
	else
		ret = config_apply(m, op, id) ? 1 : 0;
	uvf_rw_unlock(&m->config_lock);
	return ret;
}
