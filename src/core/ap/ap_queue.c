// SPDX-License-Identifier: MIT
/*
 * AP queue devices (drivers/s390/crypto/ap_queue.c): the host side of an
 * APQN - its request and pending lists, the state machine that feeds
 * NQAP and drains DQAP, resets, interruption enablement - and its sysfs
 * directory /sys/devices/ap/cardXX/XX.YYYY.
 *
 * State machine (per queue, run by ap_sm_event under aq->lock):
 *   RESET_START  --RAPQ-->  RESET_WAIT  --TAPQ normal-->  SETIRQ_WAIT
 *   (AQIC enabled) or IDLE/WORKING;  IDLE --NQAP--> WORKING (requests on
 *   the hardware queue) <--DQAP--;  WORKING --Q_FULL--> QUEUE_FULL.
 * A response code the machine should not give puts the device in
 * AP_DEV_STATE_ERROR; the next scan flushes and resets it.  Not modelled:
 * the request timeout timer (CEX4_CLEANUP_TIME, 900 s), SE bind and
 * associate, and the CONFIG_AP_DEBUG attributes 'states'/'last_err_rc'.
 *
 * Lock order: bus->lock (registration) -> bus->queues_lock -> aq->lock ->
 * the machine's locks, poll.lock.  Receive callbacks run under aq->lock.
 * The sysfs stores here take only aq->lock and queues_lock, never
 * bus->lock: a scan removes queue directories holding it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ap_priv.h"
#include "../base/compiler.h"
#include "../base/log.h"
#include "../host/host.h"
#include "../sysfs/sysfs.h"

int ap_init_apmsg(struct ap_message *msg, size_t bufsize)
{
	memset(msg, 0, sizeof(*msg));
	list_init(&msg->list);
	msg->msg = calloc(1, bufsize);
	if (!msg->msg)
		return -ENOMEM;
	msg->bufsize = bufsize;
	return 0;
}

/* Messages carry key material: clear before freeing (kfree_sensitive). */
void ap_release_apmsg(struct ap_message *msg)
{
	if (!msg->msg)
		return;
	explicit_bzero(msg->msg, msg->bufsize);
	free(msg->msg);
	msg->msg = NULL;
}

static struct ap_machine *aq_mach(struct ap_queue *aq)
{
	return aq->ap_dev.bus->mach;
}

static void aq_log_error(struct ap_queue *aq, const char *what, uint8_t rc)
{
	aq->dev_state = AP_DEV_STATE_ERROR;
	aq->last_err_rc = rc;
	uvf_warn("ap", "%s: RC 0x%02x on %02x.%04x -> error state", what, rc,
		 AP_QID_CARD(aq->qid), AP_QID_QUEUE(aq->qid));
}

/* AQIC on for the host: AP_ISC, the bus's indicator byte. */
static int ap_queue_enable_irq(struct ap_queue *aq)
{
	struct ap_qirq_ctrl ctrl = { .ir = true, .isc = AP_ISC };
	struct ap_queue_status st;

	st = ap_aqic(aq_mach(aq), aq->qid, ctrl, (uint64_t)(uintptr_t)&aq->ap_dev.bus->lsi);
	if (st.async)
		return -EPERM;
	switch (st.response_code) {
	case AP_RESPONSE_NORMAL:
	case AP_RESPONSE_OTHERWISE_CHANGED:
		return 0;
	case AP_RESPONSE_Q_NOT_AVAIL:
	case AP_RESPONSE_DECONFIGURED:
	case AP_RESPONSE_CHECKSTOPPED:
	case AP_RESPONSE_INVALID_ADDRESS:
		uvf_err("ap", "registering adapter interrupts for %02x.%04x failed",
			AP_QID_CARD(aq->qid), AP_QID_QUEUE(aq->qid));
		return -EOPNOTSUPP;
	default:
		return -EBUSY;
	}
}

static bool irq_available(struct ap_queue *aq)
{
	return aq->ap_dev.bus->irq_flag;
}

static enum ap_sm_wait ap_sm_nop(struct ap_queue *aq)
{
	return AP_SM_WAIT_NONE;
}

/* Put every pending message back at the head of the request list. */
static void requeue_pending(struct ap_queue *aq)
{
	while (!list_empty(&aq->pendingq)) {
		struct ap_message *msg = list_entry(aq->pendingq.prev, struct ap_message, list);

		list_del_init(&msg->list);
		list_add(&msg->list, &aq->requestq);
	}
	aq->requestq_count += aq->pendingq_count;
	aq->pendingq_count = 0;
}

/* Hand a reply to the pending message with its psmid. */
static void deliver_reply(struct ap_queue *aq, int parts)
{
	struct ap_message *msg;

	list_for_each_entry(msg, &aq->pendingq, list) {
		if (msg->psmid != aq->reply->psmid)
			continue;
		list_del_init(&msg->list);
		aq->pendingq_count--;
		if (parts > 1) {
			msg->rc = -EMSGSIZE;
			msg->receive(aq, msg, NULL);
		} else {
			msg->receive(aq, msg, aq->reply);
		}
		return;
	}
	uvf_warn("ap", "unassociated reply psmid=0x%016llx on %02x.%04x",
		 (unsigned long long)aq->reply->psmid, AP_QID_CARD(aq->qid),
		 AP_QID_QUEUE(aq->qid));
}

/* DQAP one reply (all its parts into the one buffer). */
static struct ap_queue_status ap_sm_recv(struct ap_queue *aq)
{
	struct ap_message *reply = aq->reply;
	struct ap_queue_status st;
	int parts = 0;

	do {
		st = ap_dqap(aq_mach(aq), aq->qid, &reply->psmid, reply->msg, reply->bufsize,
			     &reply->len, NULL);
		parts++;
	} while (st.response_code == AP_RESPONSE_PARTIAL);
	switch (st.response_code) {
	case AP_RESPONSE_NORMAL:
		aq->queue_count = aq->queue_count > 0 ? aq->queue_count - 1 : 0;
		if (!st.queue_empty && !aq->queue_count)
			aq->queue_count++;
		deliver_reply(aq, parts);
		__attribute__((fallthrough));
	case AP_RESPONSE_NO_PENDING_REPLY:
		if (!st.queue_empty || aq->queue_count <= 0)
			break;
		/* the machine has nothing although we think it has: send again */
		aq->queue_count = 0;
		requeue_pending(aq);
		break;
	default:
		break;
	}
	return st;
}

static enum ap_sm_wait ap_sm_read(struct ap_queue *aq)
{
	struct ap_queue_status st;

	if (!aq->reply)
		return AP_SM_WAIT_NONE;
	st = ap_sm_recv(aq);
	if (st.async)
		return AP_SM_WAIT_NONE;
	switch (st.response_code) {
	case AP_RESPONSE_NORMAL:
		if (aq->queue_count > 0) {
			aq->sm_state = AP_SM_STATE_WORKING;
			return AP_SM_WAIT_AGAIN;
		}
		aq->sm_state = AP_SM_STATE_IDLE;
		break;
	case AP_RESPONSE_NO_PENDING_REPLY:
		if (aq->queue_count > 0)
			return st.irq_enabled ? AP_SM_WAIT_INTERRUPT : AP_SM_WAIT_HIGH_TIMEOUT;
		aq->sm_state = AP_SM_STATE_IDLE;
		break;
	default:
		aq_log_error(aq, "read", st.response_code);
		return AP_SM_WAIT_NONE;
	}
	/* an empty queue without interruptions: try to enable them again */
	if (!st.irq_enabled && st.queue_empty && irq_available(aq) &&
	    ap_queue_enable_irq(aq) == 0) {
		aq->sm_state = AP_SM_STATE_SETIRQ_WAIT;
		return AP_SM_WAIT_AGAIN;
	}
	return AP_SM_WAIT_NONE;
}

static enum ap_sm_wait ap_sm_write(struct ap_queue *aq)
{
	struct ap_queue_status st;
	struct ap_message *msg;

	if (aq->requestq_count <= 0)
		return AP_SM_WAIT_NONE;
	msg = list_first_entry(&aq->requestq, struct ap_message, list);
	st = ap_nqap(aq_mach(aq), aq->qid, msg->psmid, msg->msg, msg->len);
	if (st.async)
		return AP_SM_WAIT_NONE;
	switch (st.response_code) {
	case AP_RESPONSE_NORMAL:
		aq->queue_count = aq->queue_count < 0 ? 1 : aq->queue_count + 1;
		list_del_init(&msg->list);
		list_add_tail(&msg->list, &aq->pendingq);
		aq->requestq_count--;
		aq->pendingq_count++;
		if (aq->queue_count < aq->card->hwinfo.qd + 1) {
			aq->sm_state = AP_SM_STATE_WORKING;
			return AP_SM_WAIT_AGAIN;
		}
		__attribute__((fallthrough));
	case AP_RESPONSE_Q_FULL:
		aq->sm_state = AP_SM_STATE_QUEUE_FULL;
		return st.irq_enabled ? AP_SM_WAIT_INTERRUPT : AP_SM_WAIT_HIGH_TIMEOUT;
	case AP_RESPONSE_RESET_IN_PROGRESS:
		aq->sm_state = AP_SM_STATE_RESET_WAIT;
		return AP_SM_WAIT_LOW_TIMEOUT;
	case AP_RESPONSE_INVALID_DOMAIN:
	case AP_RESPONSE_MESSAGE_TOO_BIG:
	case AP_RESPONSE_REQ_FAC_NOT_INST:
		/* this message can never be sent: fail it, go on with the next */
		list_del_init(&msg->list);
		aq->requestq_count--;
		msg->rc = -EINVAL;
		msg->receive(aq, msg, NULL);
		return AP_SM_WAIT_AGAIN;
	default:
		aq_log_error(aq, "write", st.response_code);
		return AP_SM_WAIT_NONE;
	}
}

static enum ap_sm_wait ap_sm_read_write(struct ap_queue *aq)
{
	enum ap_sm_wait r = ap_sm_read(aq);
	enum ap_sm_wait w = ap_sm_write(aq);

	return r < w ? r : w;
}

static enum ap_sm_wait ap_sm_reset(struct ap_queue *aq)
{
	struct ap_queue_status st = ap_rapq(aq_mach(aq), aq->qid, aq->rapq_fbit);

	if (st.async)
		return AP_SM_WAIT_NONE;
	switch (st.response_code) {
	case AP_RESPONSE_NORMAL:
	case AP_RESPONSE_RESET_IN_PROGRESS:
		aq->sm_state = AP_SM_STATE_RESET_WAIT;
		aq->rapq_fbit = false;
		return AP_SM_WAIT_LOW_TIMEOUT;
	default:
		aq_log_error(aq, "reset", st.response_code);
		return AP_SM_WAIT_NONE;
	}
}

static enum ap_sm_wait ap_sm_reset_wait(struct ap_queue *aq)
{
	struct ap_tapq_hwinfo hw;
	struct ap_queue_status st = ap_tapq(aq_mach(aq), aq->qid, &hw);

	switch (st.response_code) {
	case AP_RESPONSE_NORMAL:
		if (irq_available(aq) && ap_queue_enable_irq(aq) == 0)
			aq->sm_state = AP_SM_STATE_SETIRQ_WAIT;
		else
			aq->sm_state = aq->queue_count > 0 ? AP_SM_STATE_WORKING :
							     AP_SM_STATE_IDLE;
		return AP_SM_WAIT_AGAIN;
	case AP_RESPONSE_BUSY:
	case AP_RESPONSE_RESET_IN_PROGRESS:
		return AP_SM_WAIT_LOW_TIMEOUT;
	default:
		aq_log_error(aq, "reset wait", st.response_code);
		return AP_SM_WAIT_NONE;
	}
}

static enum ap_sm_wait ap_sm_setirq_wait(struct ap_queue *aq)
{
	struct ap_queue_status st;

	if (aq->queue_count > 0 && aq->reply)
		st = ap_sm_recv(aq);
	else
		st = ap_tapq(aq_mach(aq), aq->qid, NULL);
	if (st.irq_enabled)
		aq->sm_state = aq->queue_count > 0 ? AP_SM_STATE_WORKING : AP_SM_STATE_IDLE;
	switch (st.response_code) {
	case AP_RESPONSE_NORMAL:
		if (aq->queue_count > 0)
			return AP_SM_WAIT_AGAIN;
		__attribute__((fallthrough));
	case AP_RESPONSE_NO_PENDING_REPLY:
		return AP_SM_WAIT_LOW_TIMEOUT;
	default:
		aq_log_error(aq, "setirq wait", st.response_code);
		return AP_SM_WAIT_NONE;
	}
}

typedef enum ap_sm_wait (*ap_sm_fn)(struct ap_queue *aq);

static const ap_sm_fn ap_jumptable[NR_AP_SM_STATES][NR_AP_SM_EVENTS] = {
	[AP_SM_STATE_RESET_START] = { ap_sm_reset, ap_sm_nop },
	[AP_SM_STATE_RESET_WAIT] = { ap_sm_reset_wait, ap_sm_nop },
	[AP_SM_STATE_SETIRQ_WAIT] = { ap_sm_setirq_wait, ap_sm_nop },
	[AP_SM_STATE_IDLE] = { ap_sm_write, ap_sm_nop },
	[AP_SM_STATE_WORKING] = { ap_sm_read_write, ap_sm_reset },
	[AP_SM_STATE_QUEUE_FULL] = { ap_sm_read, ap_sm_reset },
};

enum ap_sm_wait ap_sm_event(struct ap_queue *aq, enum ap_sm_event event)
{
	if (aq->config && !aq->chkstop && aq->dev_state > AP_DEV_STATE_UNINITIATED)
		return ap_jumptable[aq->sm_state][event](aq);
	return AP_SM_WAIT_NONE;
}

enum ap_sm_wait ap_sm_event_loop(struct ap_queue *aq, enum ap_sm_event event)
{
	enum ap_sm_wait wait;

	while ((wait = ap_sm_event(aq, event)) == AP_SM_WAIT_AGAIN)
		;
	return wait;
}

/* ---- what drivers call ---------------------------------------------------- */

int ap_queue_message(struct ap_queue *aq, struct ap_message *msg)
{
	int ret = 0;

	uvf_mutex_lock(&aq->lock);
	if (aq->dev_state == AP_DEV_STATE_OPERATING) {
		list_add_tail(&msg->list, &aq->requestq);
		aq->requestq_count++;
		__atomic_fetch_add(&aq->total_request_count, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&aq->card->total_request_count, 1, __ATOMIC_RELAXED);
	} else {
		ret = -ENODEV;
	}
	ap_wait(aq->ap_dev.bus, ap_sm_event_loop(aq, AP_SM_EVENT_POLL));
	uvf_mutex_unlock(&aq->lock);
	return ret;
}

bool ap_queue_usable(struct ap_queue *aq)
{
	bool ret;

	uvf_mutex_lock(&aq->lock);
	ret = aq->config && !aq->chkstop && aq->dev_state == AP_DEV_STATE_OPERATING;
	uvf_mutex_unlock(&aq->lock);
	return ret;
}

/* The message leaves the lists; a reply the machine still makes for it is
 * dropped as unassociated. */
void ap_cancel_message(struct ap_queue *aq, struct ap_message *msg)
{
	struct ap_message *tmp;
	bool pending = false;

	uvf_mutex_lock(&aq->lock);
	if (!list_empty(&msg->list)) {
		list_for_each_entry(tmp, &aq->pendingq, list)
			if (tmp == msg)
				pending = true;
		if (pending)
			aq->pendingq_count--;
		else
			aq->requestq_count--;
		list_del_init(&msg->list);
	}
	uvf_mutex_unlock(&aq->lock);
}

static void flush_list(struct ap_queue *aq, struct list_head *list, int *count)
{
	while (!list_empty(list)) {
		struct ap_message *msg = list_first_entry(list, struct ap_message, list);

		list_del_init(&msg->list);
		(*count)--;
		msg->rc = -EAGAIN;
		msg->receive(aq, msg, NULL);
	}
}

void __ap_flush_queue(struct ap_queue *aq)
{
	flush_list(aq, &aq->pendingq, &aq->pendingq_count);
	flush_list(aq, &aq->requestq, &aq->requestq_count);
	aq->queue_count = 0;
}

void ap_flush_queue(struct ap_queue *aq)
{
	uvf_mutex_lock(&aq->lock);
	__ap_flush_queue(aq);
	uvf_mutex_unlock(&aq->lock);
}

/* Before the driver's remove: nothing is left waiting, and the driver's
 * receive buffer (freed by its remove) is not used any more. */
void ap_queue_prepare_remove(struct ap_queue *aq)
{
	uvf_mutex_lock(&aq->lock);
	__ap_flush_queue(aq);
	aq->dev_state = AP_DEV_STATE_SHUTDOWN;
	aq->reply = NULL;
	uvf_mutex_unlock(&aq->lock);
}

/* After the driver's remove: reset and zeroize, so the next driver (or
 * guest) starts with an empty queue without interruptions. */
void ap_queue_remove(struct ap_queue *aq)
{
	uvf_mutex_lock(&aq->lock);
	ap_zapq(aq_mach(aq), aq->qid, false);
	aq->dev_state = AP_DEV_STATE_UNINITIATED;
	uvf_mutex_unlock(&aq->lock);
}

void _ap_queue_init_state(struct ap_queue *aq)
{
	aq->dev_state = AP_DEV_STATE_OPERATING;
	aq->sm_state = AP_SM_STATE_RESET_START;
	aq->last_err_rc = 0;
	ap_wait(aq->ap_dev.bus, ap_sm_event(aq, AP_SM_EVENT_POLL));
}

void ap_queue_init_state(struct ap_queue *aq)
{
	uvf_mutex_lock(&aq->lock);
	_ap_queue_init_state(aq);
	uvf_mutex_unlock(&aq->lock);
}

void ap_queue_init_reply(struct ap_queue *aq, struct ap_message *reply)
{
	uvf_mutex_lock(&aq->lock);
	aq->reply = reply;
	ap_wait(aq->ap_dev.bus, ap_sm_event(aq, AP_SM_EVENT_POLL));
	uvf_mutex_unlock(&aq->lock);
}

/* ---- sysfs ---------------------------------------------------------------- */

static struct ap_queue *attr_aq(struct sysfs_node *attr)
{
	return sysfs_priv(attr);
}

static ssize_t request_count_show(struct sysfs_node *attr, char *buf)
{
	struct ap_queue *aq = attr_aq(attr);
	unsigned long long cnt = 0;
	bool valid;

	uvf_mutex_lock(&aq->lock);
	valid = aq->dev_state > AP_DEV_STATE_UNINITIATED;
	if (valid)
		cnt = __atomic_load_n(&aq->total_request_count, __ATOMIC_RELAXED);
	uvf_mutex_unlock(&aq->lock);
	return valid ? sysfs_emit(buf, "%llu\n", cnt) : sysfs_emit(buf, "-\n");
}

static ssize_t request_count_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	struct ap_queue *aq = attr_aq(attr);

	__atomic_store_n(&aq->total_request_count, 0, __ATOMIC_RELAXED);
	return (ssize_t)len;
}

static ssize_t count_show(struct sysfs_node *attr, char *buf, bool pending)
{
	struct ap_queue *aq = attr_aq(attr);
	int cnt = 0;

	uvf_mutex_lock(&aq->lock);
	if (aq->dev_state > AP_DEV_STATE_UNINITIATED)
		cnt = pending ? aq->pendingq_count : aq->requestq_count;
	uvf_mutex_unlock(&aq->lock);
	return sysfs_emit(buf, "%d\n", cnt);
}

static ssize_t requestq_count_show(struct sysfs_node *attr, char *buf)
{
	return count_show(attr, buf, false);
}

static ssize_t pendingq_count_show(struct sysfs_node *attr, char *buf)
{
	return count_show(attr, buf, true);
}

static ssize_t reset_show(struct sysfs_node *attr, char *buf)
{
	struct ap_queue *aq = attr_aq(attr);
	const char *s;

	uvf_mutex_lock(&aq->lock);
	switch (aq->sm_state) {
	case AP_SM_STATE_RESET_START:
	case AP_SM_STATE_RESET_WAIT:
		s = "Reset in progress.";
		break;
	case AP_SM_STATE_WORKING:
	case AP_SM_STATE_QUEUE_FULL:
		s = "Reset Timer armed.";
		break;
	default:
		s = "No Reset Timer set.";
	}
	uvf_mutex_unlock(&aq->lock);
	return sysfs_emit(buf, "%s\n", s);
}

/* Any write resets the queue, as the kernel's store (it parses nothing). */
static ssize_t reset_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	struct ap_queue *aq = attr_aq(attr);

	uvf_mutex_lock(&aq->lock);
	__ap_flush_queue(aq);
	aq->sm_state = AP_SM_STATE_RESET_START;
	ap_wait(aq->ap_dev.bus, ap_sm_event(aq, AP_SM_EVENT_POLL));
	uvf_mutex_unlock(&aq->lock);
	uvf_info("ap", "reset queue=%02x.%04x triggered by user", AP_QID_CARD(aq->qid),
		 AP_QID_QUEUE(aq->qid));
	return (ssize_t)len;
}

static ssize_t interrupt_show(struct sysfs_node *attr, char *buf)
{
	struct ap_queue *aq = attr_aq(attr);
	const char *s;

	uvf_mutex_lock(&aq->lock);
	if (aq->sm_state == AP_SM_STATE_SETIRQ_WAIT)
		s = "Enable Interrupt pending.";
	else if (ap_tapq(aq_mach(aq), aq->qid, NULL).irq_enabled)
		s = "Interrupts enabled.";
	else
		s = "Interrupts disabled.";
	uvf_mutex_unlock(&aq->lock);
	return sysfs_emit(buf, "%s\n", s);
}

static ssize_t config_show(struct sysfs_node *attr, char *buf)
{
	struct ap_queue *aq = attr_aq(attr);
	bool v;

	uvf_mutex_lock(&aq->lock);
	v = aq->config;
	uvf_mutex_unlock(&aq->lock);
	return sysfs_emit(buf, "%d\n", v ? 1 : 0);
}

static ssize_t chkstop_show(struct sysfs_node *attr, char *buf)
{
	struct ap_queue *aq = attr_aq(attr);
	bool v;

	uvf_mutex_lock(&aq->lock);
	v = aq->chkstop;
	uvf_mutex_unlock(&aq->lock);
	return sysfs_emit(buf, "%d\n", v ? 1 : 0);
}

static ssize_t ap_functions_show(struct sysfs_node *attr, char *buf)
{
	struct ap_queue *aq = attr_aq(attr);
	struct ap_tapq_hwinfo hw;
	struct ap_queue_status st = ap_tapq(aq_mach(aq), aq->qid, &hw);

	if (st.response_code > AP_RESPONSE_BUSY)
		return -EIO;
	return sysfs_emit(buf, "0x%08X\n", ap_hwinfo_fac(&hw));
}

AP_ATTR_RW(request_count);
AP_ATTR_RO(requestq_count);
AP_ATTR_RO(pendingq_count);
AP_ATTR_RW(reset);
AP_ATTR_RO(interrupt);
AP_ATTR_RO(config);
AP_ATTR_RO(chkstop);
AP_ATTR_RO(ap_functions);

static const struct ap_attr_def ap_queue_attrs[] = {
	{ "request_count", 0644, &request_count_ops },
	{ "requestq_count", 0444, &requestq_count_ops },
	{ "pendingq_count", 0444, &pendingq_count_ops },
	{ "reset", 0644, &reset_ops },
	{ "interrupt", 0444, &interrupt_ops },
	{ "config", 0444, &config_ops },
	{ "chkstop", 0444, &chkstop_ops },
	{ "ap_functions", 0444, &ap_functions_ops },
};

/* ---- the device ----------------------------------------------------------- */

struct ap_queue *ap_queue_create(ap_qid_t qid, struct ap_card *ac)
{
	struct ap_queue *aq = calloc(1, sizeof(*aq));

	if (!aq)
		return NULL;
	uvf_ref_init(&aq->ref);
	uvf_mutex_init(&aq->lock);
	list_init(&aq->link);
	list_init(&aq->hnode);
	list_init(&aq->pendingq);
	list_init(&aq->requestq);
	uvf_ref_get(&ac->ref);
	aq->card = ac;
	aq->qid = qid;
	aq->ap_dev.bus = ac->ap_dev.bus;
	aq->ap_dev.device_type = ac->ap_dev.device_type;
	aq->ap_dev.is_queue = true;
	snprintf(aq->ap_dev.dev.name, sizeof(aq->ap_dev.dev.name), "%02x.%04x",
		 AP_QID_CARD(qid), AP_QID_QUEUE(qid));
	aq->ap_dev.dev.bus = "ap";
	aq->ap_dev.dev.bus_data = &aq->ap_dev;
	aq->ap_dev.dev.parent = &ac->ap_dev.dev;
	return aq;
}

void ap_queue_put(struct ap_queue *aq)
{
	if (!aq || !uvf_ref_put(&aq->ref))
		return;
	ap_card_put(aq->card);
	uvf_mutex_destroy(&aq->lock);
	free(aq);
}

static int ap_queue_sysfs_add(struct ap_queue *aq)
{
	int ret = ap_sysfs_add_device(&aq->ap_dev, aq->card->ap_dev.dev.sysfs_dir);

	return ret ? ret : ap_sysfs_add_attrs(aq->ap_dev.dev.sysfs_dir, ap_queue_attrs,
					      ARRAY_SIZE(ap_queue_attrs), aq);
}

/* bus->lock held.  On failure the queue is gone (its reference put). */
int ap_queue_register(struct ap_queue *aq)
{
	struct ap_bus *bus = aq->ap_dev.bus;
	int ret;

	list_add_tail(&aq->link, &bus->queues);
	device_register(bus->host, &aq->ap_dev.dev);
	ret = ap_queue_sysfs_add(aq);
	if (ret) {
		uvf_warn("ap", "queue %s: cannot add to sysfs", aq->ap_dev.dev.name);
		ap_queue_unregister(aq);
		return ret;
	}
	ap_device_attach(&aq->ap_dev);
	return 0;
}

/* bus->lock held: unbind, leave sysfs and the lists, drop the bus's ref. */
void ap_queue_unregister(struct ap_queue *aq)
{
	ap_device_release_driver(&aq->ap_dev);
	ap_sysfs_del_device(&aq->ap_dev);
	device_unregister(&aq->ap_dev.dev);
	list_del_init(&aq->link);
	ap_queue_put(aq);
}
