/* SPDX-License-Identifier: MIT */
/*
 * Inside the AP bus: the bus object and what its files share (ap_bus.c,
 * ap_sysfs.c, ap_card.c, ap_queue.c, ap_poll.c, ap_masks.c, zcrypt_*.c).
 * The lock order is the one at the top of ap_bus.h.
 */
#ifndef UVF_AP_PRIV_H
#define UVF_AP_PRIV_H

#include <stdatomic.h>
#include <time.h>
#include <sys/types.h>
#include "ap_bus.h"

struct sysfs_attr_ops;

struct zcrypt;

/* The host's polling of its queues (the kernel's tasklet, timer and poll
 * thread): one thread running the state machines of all bound queues. */
struct ap_poll {
	struct uvf_mutex lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool started;
	bool stop;
	bool kick;			/* run now */
	uint64_t deadline_ns;		/* run then (0: no timer armed) */
	bool thread_flag;		/* the 'poll_thread' attribute */
	uint64_t high_timeout_ns;	/* 'poll_timeout' */
};

struct ap_bus {
	struct uvf_host *host;
	struct ap_machine *mach;
	struct uvf_mutex scan_mutex;
	struct uvf_mutex lock;
	struct uvf_mutex perms_mutex;
	struct uvf_mutex queues_lock;

	/* perms_mutex */
	unsigned long apm[AP_MASK_LONGS];
	unsigned long aqm[AP_MASK_LONGS];

	/* the QCI of the last scan and the one before: written under
	 * scan_mutex, read under info_lock (a leaf) */
	struct uvf_rwlock info_lock;
	struct ap_config_info qci, qci_old;
	int max_adapter_id, max_domain_id;
	atomic_int domain_index;	/* ap_domain_index */

	bool noirq;			/* ap.useirq=0 */
	bool irq_flag;			/* host adapter interruptions in use */
	uint8_t lsi;			/* the host's "indicator byte" (its NIB) */

	/* bus->lock */
	struct list_head cards;
	struct list_head queues;
	/* scan_mutex, bus->lock and perms_mutex to change; any one to walk */
	struct list_head drivers;
	/* queues_lock */
	struct list_head bound_queues;

	atomic_uint_fast64_t scan_count;
	atomic_bool bindings_complete;
	atomic_int config_time;

	/* the scan thread: periodic rescans and requested ones */
	struct uvf_mutex scan_req_lock;	/* a leaf */
	pthread_cond_t scan_req_cond;
	uint64_t scan_requested, scan_done;
	bool scan_last_result;
	bool scan_stop;
	bool scan_rearm;		/* config_time changed: restart the period */
	pthread_t scan_thread;
	bool scan_thread_started;

	struct ap_poll poll;
	struct zcrypt *zcrypt;

	struct sysfs_node *bus_dir;	/* /sys/bus/ap */
	struct sysfs_node *devices_dir;	/* /sys/bus/ap/devices */
	struct sysfs_node *drivers_dir;	/* /sys/bus/ap/drivers */
	struct sysfs_node *root_dir;	/* /sys/devices/ap */
};

static inline struct ap_driver *to_ap_drv(const struct uvf_driver *drv)
{
	return container_of((struct uvf_driver *)drv, struct ap_driver, driver);
}


/* Attribute tables of the bus, cards and queues (ap_sysfs.c adds them). */
struct ap_attr_def {
	const char *name;
	mode_t mode;
	const struct sysfs_attr_ops *ops;
};

#define AP_ATTR_RO(n) static const struct sysfs_attr_ops n##_ops = { .show = n##_show }
#define AP_ATTR_RW(n)							\
	static const struct sysfs_attr_ops n##_ops = { .show = n##_show, .store = n##_store }

int ap_sysfs_add_attrs(struct sysfs_node *dir, const struct ap_attr_def *defs, size_t n,
		       void *priv);

/* out = a & ~b over AP masks; whether any bit is left. */
bool ap_mask_andnot(unsigned long *out, const unsigned long *a, const unsigned long *b);

/* ap_bus.c */
bool ap_queue_reserved(struct ap_bus *bus, ap_qid_t qid);	/* perms_mutex held */
bool ap_bus_match(const struct ap_driver *drv, const struct ap_device *ap_dev);
void ap_check_bindings_complete(struct ap_bus *bus);
int ap_device_attach(struct ap_device *ap_dev);		/* bus->lock held */
void ap_device_release_driver(struct ap_device *ap_dev);	/* bus->lock held */
void ap_bus_revise_bindings(struct ap_bus *bus);
void ap_calc_bound_apqns(struct ap_bus *bus, unsigned int *apqns, unsigned int *bound);
int ap_sysfs_add_device(struct ap_device *ap_dev, struct sysfs_node *parent);
void ap_sysfs_del_device(struct ap_device *ap_dev);

/* ap_masks.c */
int ap_parse_bitmap_str(const char *str, const unsigned long *bitmap, int bits,
			unsigned long *newmap);
int ap_mask_show(char *buf, const unsigned long *mask);
int apmask_store_locked(struct ap_bus *bus, const char *buf, bool *changed);
int aqmask_store_locked(struct ap_bus *bus, const char *buf, bool *changed);

/* ap_sysfs.c */
int ap_sysfs_bus_init(struct ap_bus *bus);
int ap_sysfs_driver_add(struct ap_bus *bus, struct ap_driver *drv);

/* ap_card.c */
struct ap_card *ap_card_create(struct ap_bus *bus, int id, const struct ap_tapq_hwinfo *hw,
			       int comp_type);
int ap_card_register(struct ap_card *ac);
void ap_card_unregister(struct ap_card *ac);
void ap_card_put(struct ap_card *ac);

/* ap_queue.c */
struct ap_queue *ap_queue_create(ap_qid_t qid, struct ap_card *ac);
int ap_queue_register(struct ap_queue *aq);
void ap_queue_unregister(struct ap_queue *aq);
void ap_queue_prepare_remove(struct ap_queue *aq);
void ap_queue_remove(struct ap_queue *aq);
void _ap_queue_init_state(struct ap_queue *aq);
void __ap_flush_queue(struct ap_queue *aq);
enum ap_sm_wait ap_sm_event(struct ap_queue *aq, enum ap_sm_event event);
enum ap_sm_wait ap_sm_event_loop(struct ap_queue *aq, enum ap_sm_event event);

/* ap_poll.c */
int ap_poll_init(struct ap_bus *bus);
void ap_poll_exit(struct ap_bus *bus);
void ap_wait(struct ap_bus *bus, enum ap_sm_wait wait);
void ap_airq_handler(void *priv, ap_qid_t qid, uint8_t isc, uint64_t nib);
int ap_poll_thread_set(struct ap_bus *bus, bool on);
int ap_poll_timeout_set(struct ap_bus *bus, unsigned long long ns);

/* zcrypt_api.c */
int zcrypt_init(struct ap_bus *bus);
void zcrypt_exit(struct ap_bus *bus);

#endif
