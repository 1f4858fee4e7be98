// SPDX-License-Identifier: MIT
/*
 * The emulated adapters: their queues, the AP instructions that reach
 * them, and one thread per adapter that answers requests.
 *
 * A queue has 'depth' entries.  NQAP takes an entry for the request, the
 * adapter's thread turns the request into a reply in the same entry, DQAP
 * frees the entry when the whole reply has been received; so a queue is
 * full while depth requests and unread replies are on it (Q_FULL), and
 * empty when it has none.  The thread takes requests oldest first, one
 * queue after the other (round robin over the domains).
 *
 * A reset (RAPQ, ZAPQ, and the configuration changes of ap_config.c)
 * frees every entry at once and disables interruptions; a request the
 * thread is computing at that moment is dropped when it finishes (the
 * queue's generation moved on), so nothing enqueued before a reset can
 * be dequeued after it.  The reset itself stays "in progress" for the
 * machine's reset delay.
 *
 * Lock order (ap_hw.h): m->config_lock (shared) -> ad->lock; m->airq_lock
 * is a leaf.  The thread calls interrupt handlers with no lock held, so a
 * handler may execute instructions.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "ap_hw.h"
#include "../base/log.h"

uint64_t ap_hw_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void ap_cond_init_monotonic(pthread_cond_t *cond)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

void ap_ns_to_timespec(uint64_t ns, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ns / 1000000000ull);
	ts->tv_nsec = (long)(ns % 1000000000ull);
}

/* The adapter's latency: wait (ad->lock held) unless it is stopped. */
static void adapter_latency(struct ap_adapter *ad, uint64_t until)
{
	struct timespec ts;

	ap_ns_to_timespec(until, &ts);
	while (!ad->stop && ap_hw_now_ns() < until)
		pthread_cond_timedwait(&ad->work, &ad->lock.m, &ts);
}

static void msg_list_free(struct list_head *list)
{
	while (!list_empty(list)) {
		struct ap_hw_msg *msg = list_first_entry(list, struct ap_hw_msg, link);

		list_del_init(&msg->link);
		free(msg);
	}
}

void ap_hw_queue_reset(struct ap_adapter *ad, struct ap_hw_queue *q)
{
	msg_list_free(&q->requests);
	msg_list_free(&q->replies);
	q->entries = 0;
	q->gen++;
	q->irq_enabled = false;
	q->nib = 0;
	q->resetting = true;
	q->reset_until_ns = ap_hw_now_ns() + (uint64_t)ad->m->reset_delay_us * 1000;
}

void ap_adapter_reset_all(struct ap_adapter *ad)
{
	uvf_mutex_lock(&ad->lock);
	for (unsigned int i = 0; i < AP_DOMAINS; i++)
		ap_hw_queue_reset(ad, &ad->q[i]);
	uvf_mutex_unlock(&ad->lock);
}

/* A reset completes by itself once its time is up. */
static bool queue_resetting(struct ap_hw_queue *q)
{
	if (q->resetting && ap_hw_now_ns() >= q->reset_until_ns)
		q->resetting = false;
	return q->resetting;
}

static struct ap_queue_status queue_status(const struct ap_adapter *ad,
					   const struct ap_hw_queue *q, uint8_t rc)
{
	return (struct ap_queue_status){
		.queue_empty = q->entries == 0,
		.replies_waiting = !list_empty(&q->replies),
		.queue_full = q->entries >= ad->depth,
		.irq_enabled = q->irq_enabled,
		.response_code = rc,
	};
}

static struct ap_queue_status rc_status(uint8_t rc)
{
	return (struct ap_queue_status){ .queue_empty = true, .response_code = rc };
}

/*
 * The adapter serving qid, locked, with the config lock released; or NULL
 * with *rc the code refusing the APQN.  *info (if given) gets TAPQ's
 * GR2 whenever the adapter is in the configuration.
 */
static struct ap_adapter *adapter_get(struct ap_machine *m, ap_qid_t qid, uint8_t *rc,
				      struct ap_tapq_hwinfo *info);

static void hwinfo_fill(const struct ap_adapter *ad, struct ap_tapq_hwinfo *info)
{
	const struct ap_machine *m = ad->m;

	memset(info, 0, sizeof(*info));
	info->apsc = ad->mode != AP_MODE_ACCEL;
	info->mex4k = info->crt4k = ad->mode == AP_MODE_ACCEL;
	info->accel = ad->mode == AP_MODE_ACCEL;
	info->cca = ad->mode == AP_MODE_CCA;
	info->ep11 = ad->mode == AP_MODE_EP11;
	info->apxa = m->qci.apxa;
	info->at = (uint8_t)ad->type;
	info->nd = m->qci.nd;
	info->qd = (uint8_t)(ad->depth - 1);
}

static struct ap_adapter *adapter_get(struct ap_machine *m, ap_qid_t qid, uint8_t *rc,
				      struct ap_tapq_hwinfo *info)
{
	struct ap_adapter *ad = NULL;

	if (info)
		memset(info, 0, sizeof(*info));
	uvf_read_lock(&m->config_lock);
	if (!ap_hw_apqn_configured(m, qid)) {
		*rc = AP_RESPONSE_Q_NOT_AVAIL;
		goto out;
	}
	ad = m->adapters[AP_QID_CARD(qid)];
	if (info)
		hwinfo_fill(ad, info);
	if (ad->chkstop)
		*rc = AP_RESPONSE_CHECKSTOPPED;
	else if (!ad->configured)
		*rc = AP_RESPONSE_DECONFIGURED;
	else
		*rc = AP_RESPONSE_NORMAL;
	if (*rc)
		ad = NULL;
	else
		uvf_mutex_lock(&ad->lock);
out:
	uvf_rw_unlock(&m->config_lock);
	return ad;
}

struct ap_queue_status ap_tapq(struct ap_machine *m, ap_qid_t qid, struct ap_tapq_hwinfo *info)
{
	struct ap_queue_status st;
	struct ap_hw_queue *q;
	struct ap_adapter *ad;
	uint8_t rc;

	ad = adapter_get(m, qid, &rc, info);
	if (!ad)
		return rc_status(rc);
	q = &ad->q[AP_QID_QUEUE(qid)];
	st = queue_status(ad, q, queue_resetting(q) ? AP_RESPONSE_RESET_IN_PROGRESS :
						     AP_RESPONSE_NORMAL);
	uvf_mutex_unlock(&ad->lock);
	return st;
}

static uint8_t nqap_locked(struct ap_adapter *ad, struct ap_hw_queue *q, uint64_t psmid,
			   const void *msg, size_t len)
{
	struct ap_hw_msg *req;

	if (queue_resetting(q))
		return AP_RESPONSE_RESET_IN_PROGRESS;
	if (len > AP_DEFAULT_MAX_MSG_SIZE)
		return AP_RESPONSE_MESSAGE_TOO_BIG;
	if (q->entries >= ad->depth)
		return AP_RESPONSE_Q_FULL;
	req = malloc(sizeof(*req) + len);
	if (!req)
		return AP_RESPONSE_BUSY;	/* the program retries, as on a busy adapter */
	req->psmid = psmid;
	req->len = len;
	req->off = 0;
	if (len)
		memcpy(req->data, msg, len);
	list_add_tail(&req->link, &q->requests);
	q->entries++;
	pthread_cond_signal(&ad->work);
	return AP_RESPONSE_NORMAL;
}

struct ap_queue_status ap_nqap(struct ap_machine *m, ap_qid_t qid, uint64_t psmid,
			       const void *msg, size_t len)
{
	struct ap_queue_status st;
	struct ap_hw_queue *q;
	struct ap_adapter *ad;
	uint8_t rc;

	ad = adapter_get(m, qid, &rc, NULL);
	if (!ad)
		return rc_status(rc);
	q = &ad->q[AP_QID_QUEUE(qid)];
	rc = nqap_locked(ad, q, psmid, msg, len);
	st = queue_status(ad, q, rc);
	uvf_mutex_unlock(&ad->lock);
	return st;
}

/* Copy the next part of the oldest reply; free its entry when done. */
static uint8_t dqap_locked(struct ap_hw_queue *q, uint64_t *psmid, void *buf, size_t buflen,
			   size_t *len, size_t *reslen)
{
	struct ap_hw_msg *rep;
	size_t n;

	if (queue_resetting(q))
		return AP_RESPONSE_RESET_IN_PROGRESS;
	if (list_empty(&q->replies))
		return AP_RESPONSE_NO_PENDING_REPLY;
	rep = list_first_entry(&q->replies, struct ap_hw_msg, link);
	n = uvf_min(buflen, rep->len - rep->off);
	if (n)
		memcpy(buf, rep->data + rep->off, n);
	rep->off += n;
	*len = n;
	if (reslen)
		*reslen = rep->len - rep->off;
	if (rep->off < rep->len)
		return AP_RESPONSE_PARTIAL;
	*psmid = rep->psmid;
	list_del_init(&rep->link);
	free(rep);
	q->entries--;
	return AP_RESPONSE_NORMAL;
}

struct ap_queue_status ap_dqap(struct ap_machine *m, ap_qid_t qid, uint64_t *psmid,
			       void *buf, size_t buflen, size_t *len, size_t *reslen)
{
	struct ap_queue_status st;
	struct ap_hw_queue *q;
	struct ap_adapter *ad;
	uint8_t rc;

	*len = 0;
	if (reslen)
		*reslen = 0;
	ad = adapter_get(m, qid, &rc, NULL);
	if (!ad)
		return rc_status(rc);
	q = &ad->q[AP_QID_QUEUE(qid)];
	rc = dqap_locked(q, psmid, buf, buflen, len, reslen);
	st = queue_status(ad, q, rc);
	uvf_mutex_unlock(&ad->lock);
	return st;
}

/* RAPQ and ZAPQ: the emulation keeps no secrets a zeroize would clear
 * beyond the queue's contents, so both do the same. */
static struct ap_queue_status reset_queue(struct ap_machine *m, ap_qid_t qid)
{
	struct ap_queue_status st;
	struct ap_hw_queue *q;
	struct ap_adapter *ad;
	uint8_t rc;

	ad = adapter_get(m, qid, &rc, NULL);
	if (!ad)
		return rc_status(rc);
	q = &ad->q[AP_QID_QUEUE(qid)];
	ap_hw_queue_reset(ad, q);
	st = queue_status(ad, q, AP_RESPONSE_NORMAL);
	uvf_mutex_unlock(&ad->lock);
	return st;
}

struct ap_queue_status ap_rapq(struct ap_machine *m, ap_qid_t qid, bool fbit)
{
	return reset_queue(m, qid);
}

struct ap_queue_status ap_zapq(struct ap_machine *m, ap_qid_t qid, bool fbit)
{
	return reset_queue(m, qid);
}

static bool airq_registered(struct ap_machine *m, uint32_t gisa)
{
	bool found = false;

	uvf_mutex_lock(&m->airq_lock);
	for (unsigned int i = 0; i < AP_HW_MAX_AIRQ && !found; i++)
		found = m->airq[i].fn && m->airq[i].gisa == gisa;
	uvf_mutex_unlock(&m->airq_lock);
	return found;
}

static uint8_t aqic_locked(struct ap_hw_queue *q, struct ap_qirq_ctrl ctrl, uint64_t nib,
			   bool gisa_ok)
{
	if (queue_resetting(q))
		return AP_RESPONSE_RESET_IN_PROGRESS;
	if (!ctrl.ir) {
		if (!q->irq_enabled)
			return AP_RESPONSE_OTHERWISE_CHANGED;
		q->irq_enabled = false;
		q->nib = 0;
		return AP_RESPONSE_NORMAL;
	}
	if (q->irq_enabled)
		return AP_RESPONSE_OTHERWISE_CHANGED;
	if (!nib)
		return AP_RESPONSE_INVALID_ADDRESS;
	if (!gisa_ok)
		return AP_RESPONSE_INVALID_GISA;
	q->irq = ctrl;
	q->nib = nib;
	q->irq_enabled = true;
	return AP_RESPONSE_NORMAL;
}

struct ap_queue_status ap_aqic(struct ap_machine *m, ap_qid_t qid, struct ap_qirq_ctrl ctrl,
			       uint64_t nib)
{
	struct ap_queue_status st;
	struct ap_hw_queue *q;
	struct ap_adapter *ad;
	bool gisa_ok;
	uint8_t rc;

	if (!m->interrupts)
		return rc_status(AP_RESPONSE_REQ_FAC_NOT_INST);
	/* A handler unregistered right after is harmless: delivery finds none. */
	gisa_ok = airq_registered(m, ctrl.gisa);
	ad = adapter_get(m, qid, &rc, NULL);
	if (!ad)
		return rc_status(rc);
	q = &ad->q[AP_QID_QUEUE(qid)];
	rc = aqic_locked(q, ctrl, nib, gisa_ok);
	st = queue_status(ad, q, rc);
	uvf_mutex_unlock(&ad->lock);
	return st;
}

/* ---- interruptions -------------------------------------------------------- */

/*
 * The table's slots are stable: a call in progress counts in its slot's
 * 'calls', and unregistering empties the slot only once no call is in
 * progress.  No lock is held while a handler runs.
 */
int ap_airq_register(struct ap_machine *m, uint32_t gisa, ap_airq_handler_t fn, void *priv)
{
	struct ap_airq_entry *free_slot = NULL;
	int ret = 0;

	if (!fn)
		return -EINVAL;
	uvf_mutex_lock(&m->airq_lock);
	for (unsigned int i = 0; i < AP_HW_MAX_AIRQ; i++) {
		struct ap_airq_entry *e = &m->airq[i];

		if (e->fn && e->gisa == gisa)
			ret = -EEXIST;
		if (!e->fn && !e->calls && !free_slot)
			free_slot = e;
	}
	if (!ret && !free_slot)
		ret = -ENOSPC;
	if (!ret) {
		free_slot->gisa = gisa;
		free_slot->priv = priv;
		free_slot->fn = fn;
	}
	uvf_mutex_unlock(&m->airq_lock);
	return ret;
}

void ap_airq_unregister(struct ap_machine *m, uint32_t gisa)
{
	uvf_mutex_lock(&m->airq_lock);
	for (unsigned int i = 0; i < AP_HW_MAX_AIRQ; i++) {
		struct ap_airq_entry *e = &m->airq[i];

		if (!e->fn || e->gisa != gisa)
			continue;
		e->fn = NULL;
		while (e->calls)
			pthread_cond_wait(&m->airq_idle, &m->airq_lock.m);
		e->priv = NULL;
		break;
	}
	uvf_mutex_unlock(&m->airq_lock);
}

static void airq_deliver(struct ap_machine *m, ap_qid_t qid, struct ap_qirq_ctrl ctrl,
			 uint64_t nib)
{
	struct ap_airq_entry *e = NULL;
	ap_airq_handler_t fn = NULL;
	void *priv = NULL;

	uvf_mutex_lock(&m->airq_lock);
	for (unsigned int i = 0; i < AP_HW_MAX_AIRQ && !e; i++) {
		if (m->airq[i].fn && m->airq[i].gisa == ctrl.gisa)
			e = &m->airq[i];
	}
	if (e) {
		e->calls++;
		fn = e->fn;
		priv = e->priv;
	}
	uvf_mutex_unlock(&m->airq_lock);
	if (!e)
		return;
	fn(priv, qid, ctrl.gisa ? ctrl.gisc : ctrl.isc, nib);
	uvf_mutex_lock(&m->airq_lock);
	if (!--e->calls)
		pthread_cond_broadcast(&m->airq_idle);
	uvf_mutex_unlock(&m->airq_lock);
}

/* ---- the adapter's thread ------------------------------------------------- */

/* The next queue with a request, round robin; -1 if none (ad->lock). */
static int next_request(struct ap_adapter *ad)
{
	for (unsigned int i = 0; i < AP_DOMAINS; i++) {
		unsigned int dom = (ad->next_dom + i) % AP_DOMAINS;

		if (!list_empty(&ad->q[dom].requests)) {
			ad->next_dom = (dom + 1) % AP_DOMAINS;
			return (int)dom;
		}
	}
	return -1;
}

/*
 * Answer one request of queue dom (ad->lock held, dropped while
 * computing).  The reply takes the request's entry unless the queue was
 * reset meanwhile.
 */
static void adapter_answer(struct ap_adapter *ad, unsigned int dom)
{
	struct ap_hw_queue *q = &ad->q[dom];
	struct ap_hw_msg *req = list_first_entry(&q->requests, struct ap_hw_msg, link);
	struct ap_hw_msg *rep;
	uint64_t gen = q->gen, start = ap_hw_now_ns();
	struct ap_qirq_ctrl irq;
	uint64_t nib = 0;

	rep = malloc(sizeof(*rep) + AP_HW_MAX_REPLY);
	if (!rep) {
		uvf_mutex_unlock(&ad->lock);
		usleep(1000);		/* the request waits for memory */
		uvf_mutex_lock(&ad->lock);
		return;
	}
	list_del_init(&req->link);
	uvf_mutex_unlock(&ad->lock);
	rep->psmid = req->psmid;
	rep->off = 0;
	rep->len = ap_msg_process(ad->mode, req->data, req->len, rep->data);
	free(req);
	uvf_mutex_lock(&ad->lock);
	adapter_latency(ad, start + (uint64_t)__atomic_load_n(&ad->m->latency_us,
							      __ATOMIC_RELAXED) * 1000);
	if (q->gen != gen) {
		free(rep);
		return;
	}
	list_add_tail(&rep->link, &q->replies);
	if (!q->irq_enabled)
		return;
	irq = q->irq;
	nib = q->nib;
	uvf_mutex_unlock(&ad->lock);
	airq_deliver(ad->m, AP_MKQID(ad->id, dom), irq, nib);
	uvf_mutex_lock(&ad->lock);
}

static void *adapter_thread(void *arg)
{
	struct ap_adapter *ad = arg;

	uvf_mutex_lock(&ad->lock);
	while (!ad->stop) {
		int dom = next_request(ad);

		if (dom < 0)
			pthread_cond_wait(&ad->work, &ad->lock.m);
		else
			adapter_answer(ad, (unsigned int)dom);
	}
	uvf_mutex_unlock(&ad->lock);
	return NULL;
}

int ap_adapter_start(struct ap_machine *m, const struct ap_adapter_desc *d)
{
	struct ap_adapter *ad = calloc(1, sizeof(*ad));

	if (!ad)
		return -ENOMEM;
	ad->m = m;
	ad->id = d->id;
	ad->type = d->type;
	ad->mode = d->mode;
	ad->depth = d->depth;
	ad->configured = d->configured;
	uvf_mutex_init(&ad->lock);
	ap_cond_init_monotonic(&ad->work);
	for (unsigned int i = 0; i < AP_DOMAINS; i++) {
		list_init(&ad->q[i].requests);
		list_init(&ad->q[i].replies);
	}
	m->adapters[d->id] = ad;
	if (pthread_create(&ad->thread, NULL, adapter_thread, ad)) {
		uvf_err("ap", "adapter %02x: cannot start its thread", d->id);
		return -EAGAIN;
	}
	ad->thread_started = true;
	return 0;
}

void ap_adapter_stop(struct ap_adapter *ad)
{
	uvf_mutex_lock(&ad->lock);
	ad->stop = true;
	pthread_cond_signal(&ad->work);
	uvf_mutex_unlock(&ad->lock);
	if (ad->thread_started)
		pthread_join(ad->thread, NULL);
	for (unsigned int i = 0; i < AP_DOMAINS; i++) {
		msg_list_free(&ad->q[i].requests);
		msg_list_free(&ad->q[i].replies);
	}
	ad->m->adapters[ad->id] = NULL;
	pthread_cond_destroy(&ad->work);
	uvf_mutex_destroy(&ad->lock);
	free(ad);
}
