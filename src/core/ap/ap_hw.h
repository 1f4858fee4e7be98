/* SPDX-License-Identifier: MIT */
/*
 * Inside the emulated AP machine (ap.h): the configuration, the installed
 * adapters and their queues.  Shared by ap_config.c (configuration, QCI,
 * configuration changes), ap_adapter.c (queues, instructions, the
 * adapter threads) and ap_msg.c / ap_crypto.c (what a request computes).
 *
 * Lock order: m->config_lock (rwlock; instructions take it shared) ->
 * ad->lock (the adapter's queues).  m->airq_lock is a leaf: interrupt
 * handlers run with no lock held.
 */
#ifndef UVF_AP_HW_H
#define UVF_AP_HW_H

#include <pthread.h>
#include "ap.h"
#include "zcrypt_msgtype50.h"
#include "../base/list.h"
#include "../base/lock.h"

#define AP_HW_MAX_AIRQ 64		/* registered GISAs, the host included */

/* A request or a reply on a queue. */
struct ap_hw_msg {
	struct list_head link;
	uint64_t psmid;
	size_t len;
	size_t off;			/* replies: bytes already dequeued */
	uint8_t data[];
};

/* One queue (APQN) of an adapter: ad->lock. */
struct ap_hw_queue {
	struct list_head requests;	/* enqueued, not yet taken by the thread */
	struct list_head replies;	/* answered, waiting for DQAP */
	unsigned int entries;		/* occupied entries: requests, replies, in work */
	uint64_t gen;			/* bumped by every reset: work in flight is dropped */
	bool resetting;
	uint64_t reset_until_ns;	/* CLOCK_MONOTONIC */
	bool irq_enabled;
	struct ap_qirq_ctrl irq;
	uint64_t nib;
};

struct ap_adapter {
	struct ap_machine *m;
	unsigned int id;
	unsigned int type;
	enum ap_mode mode;
	unsigned int depth;
	/* m->config_lock */
	bool configured;		/* online, not standby */
	bool chkstop;
	/* ad->lock */
	struct uvf_mutex lock;
	pthread_cond_t work;		/* a request arrived, or stop */
	bool stop;
	unsigned int next_dom;		/* round-robin start of the thread */
	struct ap_hw_queue q[AP_DOMAINS];
	pthread_t thread;
	bool thread_started;
};

struct ap_airq_entry {
	uint32_t gisa;
	ap_airq_handler_t fn;		/* NULL: a free slot */
	void *priv;
	unsigned int calls;		/* handler calls in progress */
};

struct ap_machine {
	struct uvf_rwlock config_lock;
	struct ap_config_info qci;
	bool interrupts;
	unsigned int reset_delay_us;
	unsigned int latency_us;	/* atomic: extra time per request */
	struct ap_adapter *adapters[AP_DEVICES];	/* installed ones */
	struct uvf_mutex airq_lock;
	pthread_cond_t airq_idle;	/* a slot's calls dropped to 0 */
	struct ap_airq_entry airq[AP_HW_MAX_AIRQ];
};

/* ap_adapter.c */
int ap_adapter_start(struct ap_machine *m, const struct ap_adapter_desc *d);
void ap_adapter_stop(struct ap_adapter *ad);
/* Discard everything on a queue and start its reset (ad->lock held). */
void ap_hw_queue_reset(struct ap_adapter *ad, struct ap_hw_queue *q);
/* Reset every queue of the adapter, or domain 'dom' of every adapter. */
void ap_adapter_reset_all(struct ap_adapter *ad);

/* ap_config.c: is the APQN in the configuration (config_lock held)? */
bool ap_hw_apqn_configured(const struct ap_machine *m, ap_qid_t qid);

/*
 * ap_msg.c: the adapter firmware.  Answer one request: fills 'reply' (at
 * least AP_HW_MAX_REPLY bytes) and returns its length.
 */
#define AP_HW_MAX_REPLY CEX3A_MAX_RESPONSE_SIZE
size_t ap_msg_process(enum ap_mode mode, const uint8_t *req, size_t len, uint8_t *reply);

/*
 * ap_crypto.c: RSA on big-endian byte strings; the result is written
 * right-justified into out[outlen].  Return 0, or the REP82 reply code the
 * adapter answers for bad operands.
 */
int ap_rsa_modexpo(const uint8_t *msg, const uint8_t *exp, const uint8_t *mod, size_t len,
		   uint8_t *out, size_t outlen);
int ap_rsa_crt(const uint8_t *msg, size_t len, const uint8_t *p, const uint8_t *q,
	       const uint8_t *dp, const uint8_t *dq, const uint8_t *u, size_t half,
	       uint8_t *out, size_t outlen);

#endif
