/* SPDX-License-Identifier: MIT */
/*
 * The host's AP bus (drivers/s390/crypto/ap_bus.h): card and queue
 * devices found by scanning the machine's configuration, the queue
 * drivers (the default zcrypt drivers cex4card/cex4queue, and vfio_ap),
 * the apmask/aqmask reservation of APQNs for the default drivers, and
 * the host side of a queue (requests, pending replies, its state machine).
 *
 * Sysfs: /sys/bus/ap/{apmask, aqmask, ap_domain, ...,  devices/, drivers/}
 * and /sys/devices/ap/cardXX/XX.YYYY, with the kernel's names and formats
 * (ap_sysfs.c, ap_card.c, ap_queue.c).
 *
 * Lock order (outermost first; the kernel's names in brackets):
 *   bus->scan_mutex [ap_scan_bus_mutex]: a scan, driver (un)registration
 *   bus->lock [device_lock + bus klists]: the device lists, binding,
 *       probe and remove calls
 *   bus->perms_mutex [ap_perms_mutex]: apmask/aqmask
 *       -> vfio_ap: matrix_dev->guests_lock -> kvm->lock -> mdevs_lock
 *   bus->queues_lock [ap_queues_lock]: the table of bound queues, or
 *       zcrypt's list lock [zcrypt_list_lock] (the two are never nested)
 *   aq->lock [ap_queue.lock]: a queue's host state
 *   leaves: the machine's locks (ap_hw.h), the poll lock, info_lock, the
 *       scan request lock, a request's completion
 * Driver callbacks: in_use runs under perms_mutex (it may take vfio_ap's
 * locks, which come after); on_config_changed and on_scan_complete under
 * scan_mutex only; probe and remove under scan_mutex or not, and bus->lock,
 * never perms_mutex.  So an assign that takes perms_mutex first and then
 * vfio_ap's locks can never wait for a mask store that holds perms_mutex
 * and wants those locks: the 2021 deadlock cannot happen.
 * A driver's remove runs under bus->lock and must not remove sysfs
 * attributes of its own while holding a lock their show or store takes
 * (sysfs_remove waits for them).
 */
#ifndef UVF_AP_BUS_H
#define UVF_AP_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include "ap.h"
#include "../base/list.h"
#include "../base/lock.h"
#include "../base/refcount.h"
#include "../host/device.h"

struct uvf_host;
struct ap_bus;
struct ap_message;
struct sysfs_node;

#define AP_TAPQ_ML_FIELD_CHUNK_SIZE 4096
#define AP_CONFIG_TIME 30		/* seconds between rescans */

/* Queue host state machine (ap_bus.h). */
enum ap_sm_state {
	AP_SM_STATE_RESET_START = 0,
	AP_SM_STATE_RESET_WAIT,
	AP_SM_STATE_SETIRQ_WAIT,
	AP_SM_STATE_IDLE,
	AP_SM_STATE_WORKING,
	AP_SM_STATE_QUEUE_FULL,
	NR_AP_SM_STATES
};

enum ap_sm_event { AP_SM_EVENT_POLL, AP_SM_EVENT_TIMEOUT, NR_AP_SM_EVENTS };

/* How soon the state machine wants to run again (smaller is sooner). */
enum ap_sm_wait {
	AP_SM_WAIT_AGAIN = 0,
	AP_SM_WAIT_HIGH_TIMEOUT,
	AP_SM_WAIT_LOW_TIMEOUT,
	AP_SM_WAIT_INTERRUPT,
	AP_SM_WAIT_NONE,
};

enum ap_dev_state {
	AP_DEV_STATE_UNINITIATED = 0,
	AP_DEV_STATE_OPERATING,
	AP_DEV_STATE_SHUTDOWN,
	AP_DEV_STATE_ERROR,
};

/* A card or queue device on the bus: dev.bus is "ap", dev.bus_data this. */
struct ap_device {
	struct uvf_device dev;
	struct ap_bus *bus;
	int device_type;		/* the compatible type, CEX4..CEX8 */
	bool is_queue;
	struct sysfs_node *bus_link;	/* /sys/bus/ap/devices/<name> */
	struct sysfs_node *driver_link;	/* <dir>/driver */
	struct sysfs_node *driver_dev_link;	/* /sys/bus/ap/drivers/<drv>/<name> */
};

struct ap_card {
	struct ap_device ap_dev;
	struct uvf_ref ref;
	struct list_head link;		/* bus->cards: bus->lock */
	struct ap_tapq_hwinfo hwinfo;	/* TAPQ's card part */
	int id;
	unsigned int maxmsgsize;
	bool config;			/* not in standby; bus->lock */
	bool chkstop;			/* bus->lock */
	uint64_t total_request_count;	/* atomic */
};

struct ap_queue {
	struct ap_device ap_dev;
	struct uvf_ref ref;
	struct list_head link;		/* bus->queues: bus->lock */
	struct list_head hnode;		/* bus->bound_queues: queues_lock */
	bool bound;			/* on bound_queues: queues_lock */
	struct ap_card *card;		/* referenced */
	ap_qid_t qid;
	/* aq->lock */
	struct uvf_mutex lock;
	enum ap_dev_state dev_state;
	bool config;
	bool chkstop;
	int queue_count;		/* messages on the hardware queue */
	int pendingq_count;
	int requestq_count;
	uint64_t total_request_count;	/* atomic */
	struct list_head pendingq;	/* sent, waiting for the reply */
	struct list_head requestq;	/* not sent yet */
	struct ap_message *reply;	/* the receive buffer */
	enum ap_sm_state sm_state;
	bool rapq_fbit;
	int last_err_rc;
};

static inline struct ap_queue *to_ap_queue(struct ap_device *ap_dev)
{
	return container_of(ap_dev, struct ap_queue, ap_dev);
}

static inline struct ap_card *to_ap_card(struct ap_device *ap_dev)
{
	return container_of(ap_dev, struct ap_card, ap_dev);
}

static inline struct ap_device *to_ap_dev(struct uvf_device *dev)
{
	return dev->bus_data;
}

/* A request through the host driver (zcrypt's). */
struct ap_message {
	struct list_head list;
	uint64_t psmid;
	void *msg;
	size_t len;
	size_t bufsize;
	int rc;
	/* Called under aq->lock with the reply, or NULL and rc set. */
	void (*receive)(struct ap_queue *aq, struct ap_message *msg,
			struct ap_message *reply);
	void *private;
};

int ap_init_apmsg(struct ap_message *msg, size_t bufsize);
void ap_release_apmsg(struct ap_message *msg);

/* ---- drivers ----------------------------------------------------------- */

#define AP_DRIVER_FLAG_DEFAULT 0x0001

struct ap_driver {
	struct uvf_driver driver;	/* name, bus "ap"; probe/remove set by the bus */
	unsigned int flags;		/* AP_DRIVER_FLAG_DEFAULT */
	bool cards;			/* matches card devices, else queue devices */
	uint32_t types;			/* device types matched: 1u << type */
	int (*probe)(struct ap_device *ap_dev);
	void (*remove)(struct ap_device *ap_dev);
	/* Under perms_mutex: non-zero if an APQN of apm x aqm is in use. */
	int (*in_use)(struct ap_driver *drv, unsigned long *apm, unsigned long *aqm);
	/* At the start / end of a scan that found the QCI changed. */
	void (*on_config_changed)(struct ap_driver *drv, struct ap_config_info *new_info,
				  struct ap_config_info *old_info);
	void (*on_scan_complete)(struct ap_driver *drv, struct ap_config_info *new_info,
				 struct ap_config_info *old_info);
	void *priv;			/* the driver's own state */
	/* the bus's */
	struct ap_bus *priv_bus;
	bool registered;
	struct list_head link;
	struct sysfs_node *dir;
};

#define AP_TYPES_CEX4_CEX8 (0x1fu << AP_DEVICE_TYPE_CEX4)

/* The driver a device is bound to (NULL if none), and its bus. */
static inline struct ap_driver *ap_dev_driver(struct ap_device *ap_dev)
{
	return ap_dev->dev.driver ?
	       container_of((struct uvf_driver *)ap_dev->dev.driver, struct ap_driver, driver) :
	       NULL;
}

static inline struct ap_bus *ap_drv_bus(struct ap_driver *drv)
{
	return drv->priv_bus;
}

/* Registers and binds every matching unbound device; -EBUSY if the name
 * is taken (driver_register).  drv->registered must be false. */
int ap_driver_register(struct ap_bus *bus, struct ap_driver *drv, const char *name);
/* Unbinds its devices and forgets it. */
void ap_driver_unregister(struct ap_bus *bus, struct ap_driver *drv);

/* ---- the bus -------------------------------------------------------------- */

struct ap_bus_params {
	const char *apmask;		/* ap.apmask=: from all-zero; NULL: all ones */
	const char *aqmask;		/* ap.aqmask= */
	int domain;			/* ap.domain=, -1: select one */
	bool noirq;			/* ap.useirq=0: poll even with facility 65 */
};

/* Create the machine and the bus, register zcrypt, scan.  err says why. */
int ap_bus_init(struct uvf_host *h, const struct ap_machine_desc *d,
		const struct ap_bus_params *p, char *err, size_t errlen);
void ap_bus_exit(struct uvf_host *h);
/* The host's bus, NULL on a machine without AP. */
struct ap_bus *ap_bus_get(struct uvf_host *h);
struct ap_machine *ap_bus_machine(struct ap_bus *bus);
struct uvf_host *ap_bus_host(struct ap_bus *bus);

/*
 * A configuration change as the SE/HMC makes it (ap.h), then a scan, as
 * the kernel's CHSC notification triggers one: when this returns, new
 * cards and queues are probed and gone ones removed.  1 if something
 * changed, 0 if not, or -EINVAL/-ENODEV from the machine; -ENODEV also
 * on a host without an AP bus.
 */
int ap_host_config_change(struct uvf_host *h, enum ap_config_op op, unsigned int id);

/* A synchronous rescan (the 'scans' attribute); true if the QCI changed. */
bool ap_bus_force_rescan(struct ap_bus *bus);
/* Ask the scan thread for a rescan and return (from sysfs stores). */
void ap_bus_request_rescan(struct ap_bus *bus);

/*
 * Mask strings (ap_masks.c has the formats): parse str into the 'bits'-bit
 * bitmap (bit order of ap.h), which is left alone on failure (-EINVAL).
 * ap_hex2bitmap sets the bits of an absolute hex string in bitmap.
 */
int ap_parse_mask_str(const char *str, unsigned long *bitmap, int bits);
int ap_hex2bitmap(const char *str, unsigned long *bitmap, int bits);

/* perms_mutex and the checks that need it held (ap_bus.h of the kernel). */
void ap_perms_lock(struct ap_bus *bus);
void ap_perms_unlock(struct ap_bus *bus);
int ap_owned_by_def_drv(struct ap_bus *bus, int card, int queue);
int ap_apqn_in_matrix_owned_by_def_drv(struct ap_bus *bus, unsigned long *apm,
				       unsigned long *aqm);
/* A copy of apmask / aqmask (takes perms_mutex). */
void ap_perms_get(struct ap_bus *bus, unsigned long *apm, unsigned long *aqm);

/* The QCI information of the last scan; the maxima in force. */
void ap_bus_qci_info(struct ap_bus *bus, struct ap_config_info *info);
int ap_max_adapter_id(struct ap_bus *bus);
int ap_max_domain_id(struct ap_bus *bus);
int ap_test_config_usage_domain(struct ap_bus *bus, unsigned int domain);
int ap_test_config_ctrl_domain(struct ap_bus *bus, unsigned int domain);
int ap_domain_index(struct ap_bus *bus);

/* A referenced queue bound to a driver, or NULL (ap_get_qdev). */
struct ap_queue *ap_get_qdev(struct ap_bus *bus, ap_qid_t qid);
void ap_queue_get(struct ap_queue *aq);
void ap_queue_put(struct ap_queue *aq);
/* Any queue device (bound or not), referenced; NULL if none. */
struct ap_queue *ap_find_queue(struct ap_bus *bus, ap_qid_t qid);

/* ---- the host side of a queue (ap_queue.c) ------------------------------- */

int ap_queue_message(struct ap_queue *aq, struct ap_message *msg);
void ap_cancel_message(struct ap_queue *aq, struct ap_message *msg);
void ap_flush_queue(struct ap_queue *aq);
bool ap_queue_usable(struct ap_queue *aq);
void ap_queue_init_state(struct ap_queue *aq);
void ap_queue_init_reply(struct ap_queue *aq, struct ap_message *reply);

#endif
