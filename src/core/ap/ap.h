/* SPDX-License-Identifier: MIT */
/*
 * The s390 Adjunct Processor (AP) architecture as the emulated machine
 * provides it (the kernel's arch/s390/include/asm/ap.h): the crypto
 * configuration QCI reports, adapters with their queues, and the AP
 * instructions at queue level - TAPQ, NQAP, DQAP, RAPQ, ZAPQ, AQIC, QCI.
 * Both the host's AP bus (ap_bus.h) and vfio_ap's interception of a
 * guest's instructions execute these; nothing here knows about drivers.
 *
 * Identifiers: an adapter (card) is an APID 0..255, a domain an APQI
 * 0..255, a queue the APQN (APID << 8) | APQI.  The configuration masks
 * use the architecture's bit numbering: bit 0 is the leftmost bit, ID 0.
 * They are stored as the kernel stores them, arrays of unsigned long in
 * "inverted" order (test_bit_inv below): mask[0] printed with %016lx
 * shows IDs 0..63 from the left, exactly as sysfs shows the masks.
 * (The architected QCI block holds them as big-endian words; on this
 * little-endian host the unsigned long form is the one bitmaps use.)
 *
 * Requests do real work: an accelerator-mode queue answers the type 50
 * RSA messages Linux's zcrypt sends (zcrypt_msgtype50.h) with a type 80
 * reply, computed with GMP; coprocessor (CCA, EP11) queues answer every
 * request with a type 82 error reply (their firmware is not modelled).
 * Each adapter processes on its own thread, so a request is "pending"
 * until that thread has answered it.  docs/models.md has the details.
 *
 * Interrupts: AQIC with IR=1 names an interruption subclass, a GISA
 * origin (0: the host itself) and a notification indicator byte (NIB)
 * address.  When a reply becomes ready on such a queue the machine calls
 * the handler registered for that GISA (ap_airq_register) with the queue,
 * ISC and NIB; the handler plays the part of the indicator byte and the
 * adapter interruption (the machine writes no memory).
 *
 * Lock order: a machine's config lock -> an adapter's lock; the
 * interrupt table's lock is a leaf.  Handlers run with no machine lock
 * held and may execute instructions.
 */
#ifndef UVF_AP_H
#define UVF_AP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <time.h>

#define AP_DEVICES 256		/* adapter ids */
#define AP_DOMAINS 256		/* domain ids */
#define AP_MASK_LONGS (AP_DEVICES / 64)

typedef unsigned int ap_qid_t;

#define AP_MKQID(card, queue) ((((card) & 0xff) << 8) | ((queue) & 0xff))
#define AP_QID_CARD(qid) (((qid) >> 8) & 0xff)
#define AP_QID_QUEUE(qid) ((qid) & 0xff)

/* Bit nr of a mask in the architecture's order (bit 0 = MSB of word 0). */
static inline bool test_bit_inv(unsigned int nr, const unsigned long *map)
{
	return (map[nr / 64] >> (63 - nr % 64)) & 1;
}

static inline void set_bit_inv(unsigned int nr, unsigned long *map)
{
	map[nr / 64] |= 1UL << (63 - nr % 64);
}

static inline void clear_bit_inv(unsigned int nr, unsigned long *map)
{
	map[nr / 64] &= ~(1UL << (63 - nr % 64));
}

/* Response codes of the AP queue status (ap_bus.h). */
#define AP_RESPONSE_NORMAL			0x00
#define AP_RESPONSE_Q_NOT_AVAIL			0x01
#define AP_RESPONSE_RESET_IN_PROGRESS		0x02
#define AP_RESPONSE_DECONFIGURED		0x03
#define AP_RESPONSE_CHECKSTOPPED		0x04
#define AP_RESPONSE_BUSY			0x05
#define AP_RESPONSE_INVALID_ADDRESS		0x06
#define AP_RESPONSE_OTHERWISE_CHANGED		0x07
#define AP_RESPONSE_INVALID_GISA		0x08
#define AP_RESPONSE_Q_BOUND_TO_ANOTHER		0x09
#define AP_RESPONSE_STATE_CHANGE_IN_PROGRESS	0x0A
#define AP_RESPONSE_Q_NOT_BOUND			0x0B
#define AP_RESPONSE_Q_FULL			0x10
#define AP_RESPONSE_NO_PENDING_REPLY		0x10
#define AP_RESPONSE_INDEX_TOO_BIG		0x11
#define AP_RESPONSE_NO_FIRST_PART		0x13
#define AP_RESPONSE_MESSAGE_TOO_BIG		0x15
#define AP_RESPONSE_REQ_FAC_NOT_INST		0x16
#define AP_RESPONSE_INVALID_DOMAIN		0x42
/* Not an architected code: Linux's ap_dqap() reports a partial receive
 * (the reply did not fit) with all bits on; so does ap_dqap() here. */
#define AP_RESPONSE_PARTIAL			0xFF

/* Device types (raw TAPQ type and compatible type). */
#define AP_DEVICE_TYPE_CEX4	10
#define AP_DEVICE_TYPE_CEX5	11
#define AP_DEVICE_TYPE_CEX6	12
#define AP_DEVICE_TYPE_CEX7	13
#define AP_DEVICE_TYPE_CEX8	14

/* The largest message an adapter takes unless TAPQ's ml says more. */
#define AP_DEFAULT_MAX_MSG_SIZE (12 * 1024)

/* The interruption subclass Linux uses for AP (asm/isc.h). */
#define AP_ISC 6

/*
 * The AP queue status word (GR1 bits 32..63 after every AP instruction):
 * E (empty), R (replies waiting), F (full), A (asynchronous error),
 * I (interrupts enabled) and the response code.
 */
struct ap_queue_status {
	bool queue_empty;
	bool replies_waiting;
	bool queue_full;
	bool async;
	bool irq_enabled;
	uint8_t response_code;
};

/* The 32-bit architected encoding of a status, and back. */
uint32_t ap_queue_status_value(struct ap_queue_status st);
struct ap_queue_status ap_queue_status_from_value(uint32_t v);

/*
 * TAPQ's GR2 (struct ap_tapq_hwinfo): the facility bits and mode of the
 * adapter, its type, the number of domains, the maximum message length in
 * 4 KiB units (0: the default 12 KiB) and the queue depth minus one.
 */
struct ap_tapq_hwinfo {
	bool apsc, mex4k, crt4k, cca, accel, ep11, apxa, slcf;
	uint8_t class_;
	uint8_t bs;		/* SE bind state */
	uint8_t at;		/* adapter type */
	uint8_t nd;		/* number of domains */
	uint8_t ml;		/* max message length / 4096 */
	uint8_t qd;		/* queue depth - 1 (4 bits) */
};

/* The facility word (the high half of GR2) and the whole 64-bit GR2. */
uint32_t ap_hwinfo_fac(const struct ap_tapq_hwinfo *hw);
uint64_t ap_hwinfo_value(const struct ap_tapq_hwinfo *hw);

/*
 * PQAP(QCI)'s configuration information (struct ap_config_info).  flags is
 * non-zero whenever QCI is available; apxa says Na/Nd are meaningful.
 */
struct ap_config_info {
	bool apsc;		/* S bit */
	bool apxa;		/* N bit: APXA facility */
	bool qact;		/* C bit */
	bool rc8a;		/* R bit */
	bool apsb;		/* B bit: secure binding */
	uint8_t na;		/* highest APID */
	uint8_t nd;		/* highest APQI */
	unsigned long apm[AP_MASK_LONGS];	/* adapters in the configuration */
	unsigned long aqm[AP_MASK_LONGS];	/* usage domains */
	unsigned long adm[AP_MASK_LONGS];	/* control domains */
};

static inline bool ap_qci_flags(const struct ap_config_info *ci)
{
	return ci->apsc || ci->apxa || ci->qact || ci->rc8a || ci->apsb;
}

/* AQIC's GR1 (union ap_qirq_ctrl): enable or disable, ISCs, GISA. */
struct ap_qirq_ctrl {
	bool ir;		/* 1: enable interruptions, 0: disable */
	uint8_t isc;		/* interruption subclass (host) */
	uint8_t gisc;		/* guest ISC, with a GISA */
	uint32_t gisa;		/* GISA origin >> 4; 0: the host */
};

/* ---- the machine --------------------------------------------------------- */

enum ap_mode { AP_MODE_ACCEL, AP_MODE_CCA, AP_MODE_EP11 };

/* An installed adapter, as the topology describes it. */
struct ap_adapter_desc {
	unsigned int id;	/* APID */
	unsigned int type;	/* AP_DEVICE_TYPE_CEX4..CEX8 */
	enum ap_mode mode;
	unsigned int depth;	/* queue depth 1..16 */
	bool configured;	/* online (not standby) */
	bool in_config;		/* in the QCI APM */
};

/* The machine's AP configuration, as the topology describes it. */
struct ap_machine_desc {
	bool apxa;
	unsigned int max_adapter_id;	/* Na; with !apxa at most 63 */
	unsigned int max_domain_id;	/* Nd; with !apxa at most 15 */
	unsigned long usage_domains[AP_MASK_LONGS];	/* initial AQM */
	unsigned long control_domains[AP_MASK_LONGS];	/* initial ADM */
	bool interrupts;		/* facility 65 (AP interruptions) */
	struct ap_adapter_desc *adapters;
	unsigned int nadapters;
};

struct ap_machine;

/* Validate a description: 0, or -EINVAL with 'why' filled. */
int ap_machine_desc_check(const struct ap_machine_desc *d, char *why, size_t len);
struct ap_machine *ap_machine_new(const struct ap_machine_desc *d);
/* Stops the adapters; no handler may be registered any more. */
void ap_machine_free(struct ap_machine *m);

/* Facility 65: AP adapter interruptions are available. */
bool ap_interrupts_available(const struct ap_machine *m);

/*
 * The instructions.  Each returns the queue status as the instruction
 * leaves it in GR1.  An APQN outside the configuration (its APID not in
 * the APM, its APQI not in the AQM, or either above the maxima) answers
 * Q_NOT_AVAIL; an adapter in standby DECONFIGURED; a checkstopped one
 * CHECKSTOPPED.
 */
struct ap_queue_status ap_tapq(struct ap_machine *m, ap_qid_t qid,
			       struct ap_tapq_hwinfo *info);
/* Enqueue msg (copied) with the program's message id. */
struct ap_queue_status ap_nqap(struct ap_machine *m, ap_qid_t qid, uint64_t psmid,
			       const void *msg, size_t len);
/*
 * Dequeue the oldest reply into buf.  *len gets the bytes stored.  A reply
 * larger than buflen is received in parts: AP_RESPONSE_PARTIAL with
 * *reslen the bytes still to come, and the next DQAP continues it (the
 * architecture keeps this state in GR0/GR2; here the queue keeps it).
 * *psmid is set when the last part is received.  reslen may be NULL.
 */
struct ap_queue_status ap_dqap(struct ap_machine *m, ap_qid_t qid, uint64_t *psmid,
			       void *buf, size_t buflen, size_t *len, size_t *reslen);
/* Reset (RAPQ) / reset and zeroize (ZAPQ): every request and reply on the
 * queue is discarded at once and interruptions are disabled; the reset
 * completes asynchronously (TAPQ says RESET_IN_PROGRESS until then). */
struct ap_queue_status ap_rapq(struct ap_machine *m, ap_qid_t qid, bool fbit);
struct ap_queue_status ap_zapq(struct ap_machine *m, ap_qid_t qid, bool fbit);
/* Enable or disable interruptions for a queue: enable needs a non-zero
 * NIB (else INVALID_ADDRESS) and a handler for the GISA (else
 * INVALID_GISA); enabling enabled or disabling disabled interruptions
 * answers OTHERWISE_CHANGED. */
struct ap_queue_status ap_aqic(struct ap_machine *m, ap_qid_t qid,
			       struct ap_qirq_ctrl ctrl, uint64_t nib);
/* PQAP(QCI): the current configuration.  Returns 0. */
int ap_qci(struct ap_machine *m, struct ap_config_info *info);

/*
 * Adapter interruptions: fn is called, once per reply made ready, for a
 * queue whose interruptions are enabled for this GISA.  It runs on the
 * adapter's thread with no machine lock held, and may execute AP
 * instructions.  Unregistering waits for running calls: never unregister
 * holding a lock the handler takes.  -EEXIST if the GISA has a handler.
 */
typedef void (*ap_airq_handler_t)(void *priv, ap_qid_t qid, uint8_t isc, uint64_t nib);
int ap_airq_register(struct ap_machine *m, uint32_t gisa, ap_airq_handler_t fn, void *priv);
void ap_airq_unregister(struct ap_machine *m, uint32_t gisa);

/*
 * What the SE/HMC/SCLP does to the configuration; the machine changes at
 * once.  Returns 1 if something changed, 0 if not, -EINVAL for an id above
 * the maxima, -ENODEV for an adapter id with no installed adapter.  The
 * host learns of it by scanning (ap_host_config_change() in ap_bus.h does
 * both, as the kernel's CHSC notification makes it scan).
 */
enum ap_config_op {
	AP_CONFIG_ADAPTER_ADD,		/* APID into the APM */
	AP_CONFIG_ADAPTER_REMOVE,	/* APID out of the APM */
	AP_CONFIG_DOMAIN_ADD,		/* APQI into the AQM */
	AP_CONFIG_DOMAIN_REMOVE,
	AP_CONFIG_CDOM_ADD,		/* control domain into the ADM */
	AP_CONFIG_CDOM_REMOVE,
	AP_CONFIG_ADAPTER_ONLINE,	/* SCLP configure (standby -> online) */
	AP_CONFIG_ADAPTER_STANDBY,	/* SCLP deconfigure */
	AP_CONFIG_ADAPTER_CHKSTOP,	/* the adapter checkstops */
	AP_CONFIG_ADAPTER_CHKSTOP_CLEAR,
};

int ap_machine_config_change(struct ap_machine *m, enum ap_config_op op, unsigned int id);

/* How long a reset stays in progress (default 200 us), and how long an
 * adapter takes for a request beyond the arithmetic (default 0). */
void ap_machine_set_reset_delay(struct ap_machine *m, unsigned int usec);
void ap_machine_set_latency(struct ap_machine *m, unsigned int usec);

const char *ap_mode_name(enum ap_mode mode);
/* CLOCK_MONOTONIC in ns: the clock resets and polling are timed with; a
 * condition variable whose timed waits take such deadlines. */
uint64_t ap_hw_now_ns(void);
void ap_cond_init_monotonic(pthread_cond_t *cond);
void ap_ns_to_timespec(uint64_t ns, struct timespec *ts);

#endif
