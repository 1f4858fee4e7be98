/* SPDX-License-Identifier: MIT */
/*
 * zcrypt inside the AP layer (drivers/s390/crypto/zcrypt_api.h): the
 * crypto cards and queues the default drivers (cex4card, cex4queue)
 * bind, the request distributor behind /dev/z90crypt, and the message
 * type 50 operations of accelerator queues.
 *
 * Lock order: zcrypt->list_lock -> aq->lock (ap_queue_usable under the
 * list lock, as the kernel's zcrypt_list_lock) -> a completion's lock.
 * Nothing here takes an AP bus lock; driver probe/remove are called with
 * bus->lock held and take only list_lock.
 */
#ifndef UVF_AP_ZCRYPT_H
#define UVF_AP_ZCRYPT_H

#include <stdatomic.h>
#include "ap_priv.h"
#include "../host/devnode.h"
#include "uapi/asm/zcrypt.h"

struct zcrypt_queue;
struct uvf_caller;

/* The card types user space sees (ZCRYPT_STATUS_MASK). */
#define ZCRYPT_CEX3C	7
#define ZCRYPT_CEX4	10
#define ZCRYPT_CEX5	11
#define ZCRYPT_CEX6	12
#define ZCRYPT_DISABLED	0x0d

#define CEX4A_MIN_MOD_SIZE	1
#define CEX4A_MAX_MOD_SIZE_2K	256
#define CEX4A_MAX_MOD_SIZE_4K	512
#define CEX4C_MIN_MOD_SIZE	16
#define CEX4C_MAX_MOD_SIZE	512

#define TRACK_AGAIN_MAX 10
#define TRACK_AGAIN_CARD_WEIGHT_PENALTY 1000
#define TRACK_AGAIN_QUEUE_WEIGHT_PENALTY 10000

/* A message type's operations; NULL where the type cannot do it. */
struct zcrypt_ops {
	const char *name;
	long (*rsa_modexpo)(struct zcrypt_queue *zq, struct uvf_caller *c,
			    struct ica_rsa_modexpo *mex, struct ap_message *msg);
	long (*rsa_modexpo_crt)(struct zcrypt_queue *zq, struct uvf_caller *c,
				struct ica_rsa_modexpo_crt *crt, struct ap_message *msg);
};

struct zcrypt_card {
	struct uvf_ref ref;
	struct list_head list;		/* zcrypt->cards: list_lock */
	struct list_head zqueues;	/* list_lock */
	struct zcrypt *zcrypt;
	struct ap_card *card;
	const char *type_string;	/* "CEX8A" */
	int user_space_type;
	bool online;			/* atomic */
	int min_mod_size, max_mod_size;
	atomic_int load;
	struct sysfs_node *attrs[3];
};

struct zcrypt_queue {
	struct uvf_ref ref;
	struct list_head list;		/* zcard->zqueues: list_lock */
	struct zcrypt_card *zcard;	/* referenced */
	struct ap_queue *queue;		/* referenced */
	const struct zcrypt_ops *ops;
	bool online;			/* atomic */
	atomic_int load;
	int request_count;		/* list_lock */
	struct ap_message reply;
	struct sysfs_node *attrs[2];
};

struct zcrypt {
	struct ap_bus *bus;
	struct uvf_mutex list_lock;
	struct list_head cards;
	atomic_int open_count;
	atomic_uint step;		/* psmid sequence */
	struct uvf_devnode devnode;
	bool devnode_added;
	struct ap_driver card_driver;
	struct ap_driver queue_driver;
};

/* A request's completion (the kernel's struct completion). */
struct zcrypt_completion {
	struct uvf_mutex lock;
	pthread_cond_t cond;
	bool done;
};

/* zcrypt_api.c */
void zcrypt_card_put(struct zcrypt_card *zc);
void zcrypt_queue_put(struct zcrypt_queue *zq);
void zcrypt_card_register(struct zcrypt *z, struct zcrypt_card *zc);
void zcrypt_card_unregister(struct zcrypt *z, struct zcrypt_card *zc);
void zcrypt_queue_register(struct zcrypt *z, struct zcrypt_queue *zq);
void zcrypt_queue_unregister(struct zcrypt *z, struct zcrypt_queue *zq);
int zcrypt_sysfs_card_add(struct zcrypt_card *zc);
int zcrypt_sysfs_queue_add(struct zcrypt_queue *zq);
void zcrypt_sysfs_remove(struct sysfs_node **attrs, size_t n);

/* zcrypt_cex4.c */
int zcrypt_cex4_init(struct zcrypt *z);
void zcrypt_cex4_exit(struct zcrypt *z);

/* zcrypt_msgtype50.c */
extern const struct zcrypt_ops zcrypt_msgtype50_ops;

#endif
