// SPDX-License-Identifier: MIT
/*
 * The AP bus (drivers/s390/crypto/ap_bus.c): scanning the machine's
 * configuration into card and queue devices, binding them to AP drivers
 * under the apmask/aqmask rule, the configuration-change callbacks, and
 * the bus's life.
 *
 * Lock order (the whole AP layer; see also ap_bus.h):
 *   1. bus->scan_mutex    a scan; driver (un)registration
 *   2. bus->lock          card/queue lists, bind/unbind, probe/remove calls
 *   3. bus->perms_mutex   apmask, aqmask; in_use() is called under it
 *      vfio_ap's locks come here, in the kernel's order:
 *      matrix_dev->guests_lock -> kvm->lock -> matrix_dev->mdevs_lock
 *   4. bus->queues_lock   the table of bound queues (ap_get_qdev), or
 *      zcrypt's list lock (zcrypt.h); never nested
 *   5. aq->lock           a queue's host state (ap_queue.c)
 *   6. leaves: info_lock, scan_req_lock, the poll lock, the machine's
 *      locks (ap_hw.h)
 * The kernel takes ap_perms_mutex around the reservation check inside a
 * probe; so does ap_device_probe() here (2 -> 3, released before the
 * driver's probe runs).  vfio_ap's assign stores take perms_mutex before
 * their own locks and in_use() takes those locks with perms_mutex held:
 * one order, so a mask store and an assignment cannot deadlock (the
 * 2021 ABBA between ap_perms_mutex and the matrix lock).  Nothing that
 * holds vfio_ap's locks may take 1 or 2 (ap_get_qdev takes only 4).
 * Driver callbacks on_config_changed/on_scan_complete run with only
 * scan_mutex held, probe/remove with bus->lock (and maybe scan_mutex).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ap_priv.h"
#include "../base/log.h"
#include "../host/host.h"
#include "../sysfs/sysfs.h"

struct ap_bus *ap_bus_get(struct uvf_host *h)
{
	return h ? h->ap : NULL;
}

struct ap_machine *ap_bus_machine(struct ap_bus *bus)
{
	return bus->mach;
}

struct uvf_host *ap_bus_host(struct ap_bus *bus)
{
	return bus->host;
}

/* ---- permissions ---------------------------------------------------------- */

void ap_perms_lock(struct ap_bus *bus)
{
	uvf_mutex_lock(&bus->perms_mutex);
}

void ap_perms_unlock(struct ap_bus *bus)
{
	uvf_mutex_unlock(&bus->perms_mutex);
}

void ap_perms_get(struct ap_bus *bus, unsigned long *apm, unsigned long *aqm)
{
	ap_perms_lock(bus);
	memcpy(apm, bus->apm, sizeof(bus->apm));
	memcpy(aqm, bus->aqm, sizeof(bus->aqm));
	ap_perms_unlock(bus);
}

bool ap_queue_reserved(struct ap_bus *bus, ap_qid_t qid)
{
	return test_bit_inv(AP_QID_CARD(qid), bus->apm) &&
	       test_bit_inv(AP_QID_QUEUE(qid), bus->aqm);
}

int ap_owned_by_def_drv(struct ap_bus *bus, int card, int queue)
{
	if (card < 0 || card >= AP_DEVICES || queue < 0 || queue >= AP_DOMAINS)
		return -EINVAL;
	return ap_queue_reserved(bus, AP_MKQID(card, queue)) ? 1 : 0;
}

int ap_apqn_in_matrix_owned_by_def_drv(struct ap_bus *bus, unsigned long *apm,
				       unsigned long *aqm)
{
	for (unsigned int card = 0; card < AP_DEVICES; card++) {
		if (!test_bit_inv(card, apm) || !test_bit_inv(card, bus->apm))
			continue;
		for (unsigned int queue = 0; queue < AP_DOMAINS; queue++)
			if (test_bit_inv(queue, aqm) && test_bit_inv(queue, bus->aqm))
				return 1;
	}
	return 0;
}

/* ---- the configuration of the last scan ----------------------------------- */

void ap_bus_qci_info(struct ap_bus *bus, struct ap_config_info *info)
{
	uvf_read_lock(&bus->info_lock);
	*info = bus->qci;
	uvf_rw_unlock(&bus->info_lock);
}

int ap_max_adapter_id(struct ap_bus *bus)
{
	return bus->max_adapter_id;
}

int ap_max_domain_id(struct ap_bus *bus)
{
	return bus->max_domain_id;
}

int ap_domain_index(struct ap_bus *bus)
{
	return atomic_load(&bus->domain_index);
}

static bool qci_test(struct ap_bus *bus, const unsigned long *mask, unsigned int nr)
{
	bool ret;

	uvf_read_lock(&bus->info_lock);
	ret = test_bit_inv(nr, mask);
	uvf_rw_unlock(&bus->info_lock);
	return ret;
}

static int ap_test_config_card_id(struct ap_bus *bus, unsigned int id)
{
	if (id > (unsigned int)bus->max_adapter_id)
		return 0;
	return qci_test(bus, bus->qci.apm, id);
}

int ap_test_config_usage_domain(struct ap_bus *bus, unsigned int domain)
{
	if (domain > (unsigned int)bus->max_domain_id)
		return 0;
	return qci_test(bus, bus->qci.aqm, domain);
}

int ap_test_config_ctrl_domain(struct ap_bus *bus, unsigned int domain)
{
	if (domain > (unsigned int)bus->max_domain_id)
		return 0;
	return qci_test(bus, bus->qci.adm, domain);
}

/* ---- devices and drivers -------------------------------------------------- */

void ap_queue_get(struct ap_queue *aq)
{
	uvf_ref_get(&aq->ref);
}

struct ap_queue *ap_get_qdev(struct ap_bus *bus, ap_qid_t qid)
{
	struct ap_queue *aq, *found = NULL;

	uvf_mutex_lock(&bus->queues_lock);
	list_for_each_entry(aq, &bus->bound_queues, hnode) {
		if (aq->qid == qid) {
			ap_queue_get(aq);
			found = aq;
			break;
		}
	}
	uvf_mutex_unlock(&bus->queues_lock);
	return found;
}

static struct ap_queue *find_queue_locked(struct ap_bus *bus, ap_qid_t qid)
{
	struct ap_queue *aq;

	list_for_each_entry(aq, &bus->queues, link)
		if (aq->qid == qid)
			return aq;
	return NULL;
}

struct ap_queue *ap_find_queue(struct ap_bus *bus, ap_qid_t qid)
{
	struct ap_queue *aq;

	uvf_mutex_lock(&bus->lock);
	aq = find_queue_locked(bus, qid);
	if (aq)
		ap_queue_get(aq);
	uvf_mutex_unlock(&bus->lock);
	return aq;
}

static struct ap_card *find_card_locked(struct ap_bus *bus, int id)
{
	struct ap_card *ac;

	list_for_each_entry(ac, &bus->cards, link)
		if (ac->id == id)
			return ac;
	return NULL;
}

bool ap_bus_match(const struct ap_driver *drv, const struct ap_device *ap_dev)
{
	if (drv->cards == ap_dev->is_queue)
		return false;
	return ap_dev->device_type >= 0 && ap_dev->device_type < 32 &&
	       (drv->types & (1u << ap_dev->device_type));
}

static void bound_table_update(struct ap_queue *aq, bool add)
{
	struct ap_bus *bus = aq->ap_dev.bus;

	uvf_mutex_lock(&bus->queues_lock);
	if (add && !aq->bound)
		list_add_tail(&aq->hnode, &bus->bound_queues);
	else if (!add && aq->bound)
		list_del_init(&aq->hnode);
	aq->bound = add;
	uvf_mutex_unlock(&bus->queues_lock);
}

static int link_driver(struct ap_device *ap_dev, struct ap_driver *drv)
{
	ap_dev->driver_link = sysfs_add_link(ap_dev->dev.sysfs_dir, "driver", drv->dir);
	ap_dev->driver_dev_link = sysfs_add_link(drv->dir, ap_dev->dev.name,
						 ap_dev->dev.sysfs_dir);
	return ap_dev->driver_link && ap_dev->driver_dev_link ? 0 : -ENOMEM;
}

static void unlink_driver(struct ap_device *ap_dev)
{
	sysfs_remove(ap_dev->driver_dev_link);
	sysfs_remove(ap_dev->driver_link);
	ap_dev->driver_dev_link = NULL;
	ap_dev->driver_link = NULL;
}

/*
 * The bus's probe (uvf_driver.probe of every AP driver): a queue reserved
 * for the default drivers binds only to one, any other queue only to a
 * non-default driver.  Runs under bus->lock.
 */
static int ap_device_probe(struct uvf_device *dev)
{
	struct ap_device *ap_dev = to_ap_dev(dev);
	struct ap_driver *drv = to_ap_drv(dev->driver);
	struct ap_bus *bus = ap_dev->bus;
	int ret;

	if (ap_dev->is_queue) {
		bool devres, drvres = drv->flags & AP_DRIVER_FLAG_DEFAULT;

		ap_perms_lock(bus);
		devres = ap_queue_reserved(bus, to_ap_queue(ap_dev)->qid);
		ap_perms_unlock(bus);
		if (devres != drvres)
			return -ENODEV;
		atomic_store(&bus->bindings_complete, false);
		bound_table_update(to_ap_queue(ap_dev), true);
	}
	ret = drv->probe ? drv->probe(ap_dev) : -ENODEV;
	if (!ret) {
		ret = link_driver(ap_dev, drv);
		if (ret) {
			unlink_driver(ap_dev);
			if (drv->remove)
				drv->remove(ap_dev);
		}
	}
	if (ret && ap_dev->is_queue)
		bound_table_update(to_ap_queue(ap_dev), false);
	return ret;
}

static void ap_device_remove(struct uvf_device *dev)
{
	struct ap_device *ap_dev = to_ap_dev(dev);
	struct ap_driver *drv = to_ap_drv(dev->driver);

	unlink_driver(ap_dev);
	if (ap_dev->is_queue)
		ap_queue_prepare_remove(to_ap_queue(ap_dev));
	if (drv->remove)
		drv->remove(ap_dev);
	if (ap_dev->is_queue) {
		ap_queue_remove(to_ap_queue(ap_dev));
		bound_table_update(to_ap_queue(ap_dev), false);
	}
}

/* Bind to the first matching driver that accepts (bus->lock held). */
int ap_device_attach(struct ap_device *ap_dev)
{
	struct ap_driver *drv;

	if (ap_dev->dev.driver)
		return 0;
	list_for_each_entry(drv, &ap_dev->bus->drivers, link) {
		if (!ap_bus_match(drv, ap_dev))
			continue;
		if (!device_bind_driver(&ap_dev->dev, &drv->driver))
			return 0;
	}
	return -ENODEV;
}

void ap_device_release_driver(struct ap_device *ap_dev)
{
	device_unbind_driver(&ap_dev->dev);
}

/* Re-probe every queue whose reservation no longer fits its driver. */
void ap_bus_revise_bindings(struct ap_bus *bus)
{
	struct ap_queue *aq;

	uvf_mutex_lock(&bus->lock);
	list_for_each_entry(aq, &bus->queues, link) {
		const struct uvf_driver *drv = aq->ap_dev.dev.driver;
		bool devres, drvres;

		ap_perms_lock(bus);
		devres = ap_queue_reserved(bus, aq->qid);
		ap_perms_unlock(bus);
		drvres = drv && (to_ap_drv(drv)->flags & AP_DRIVER_FLAG_DEFAULT);
		if (drv && devres == drvres)
			continue;
		ap_device_release_driver(&aq->ap_dev);
		if (ap_device_attach(&aq->ap_dev))
			uvf_dbg("ap", "queue %s: no driver after the mask change", aq->ap_dev.dev.name);
	}
	uvf_mutex_unlock(&bus->lock);
}

void ap_calc_bound_apqns(struct ap_bus *bus, unsigned int *apqns, unsigned int *bound)
{
	struct ap_queue *aq;

	*apqns = *bound = 0;
	uvf_mutex_lock(&bus->lock);
	list_for_each_entry(aq, &bus->queues, link) {
		(*apqns)++;
		if (aq->ap_dev.dev.driver)
			(*bound)++;
	}
	uvf_mutex_unlock(&bus->lock);
}

void ap_check_bindings_complete(struct ap_bus *bus)
{
	unsigned int apqns, bound;

	if (atomic_load(&bus->scan_count) < 1)
		return;
	ap_calc_bound_apqns(bus, &apqns, &bound);
	if (bound == apqns && !atomic_exchange(&bus->bindings_complete, true))
		uvf_dbg("ap", "all %u APQN bindings complete", apqns);
}

int ap_driver_register(struct ap_bus *bus, struct ap_driver *drv, const char *name)
{
	struct ap_driver *other;
	struct ap_device *ap_dev;
	struct ap_card *ac;
	struct ap_queue *aq;
	int ret = 0;

	uvf_mutex_lock(&bus->scan_mutex);
	uvf_mutex_lock(&bus->lock);
	/* driver_register(): a name registered already is -EBUSY */
	list_for_each_entry(other, &bus->drivers, link)
		if (other == drv || !strcmp(other->driver.name, name))
			ret = -EBUSY;
	if (ret)
		goto out;
	list_init(&drv->link);
	drv->priv_bus = bus;
	drv->driver.name = name;
	drv->driver.bus = "ap";
	drv->driver.driver_managed_dma = true;
	drv->driver.probe = ap_device_probe;
	drv->driver.remove = ap_device_remove;
	ret = ap_sysfs_driver_add(bus, drv);
	if (ret)
		goto out;
	ap_perms_lock(bus);
	list_add_tail(&drv->link, &bus->drivers);
	drv->registered = true;
	ap_perms_unlock(bus);
	list_for_each_entry(ac, &bus->cards, link) {
		ap_dev = &ac->ap_dev;
		if (!ap_dev->dev.driver && ap_bus_match(drv, ap_dev))
			device_bind_driver(&ap_dev->dev, &drv->driver);
	}
	list_for_each_entry(aq, &bus->queues, link) {
		ap_dev = &aq->ap_dev;
		if (!ap_dev->dev.driver && ap_bus_match(drv, ap_dev))
			device_bind_driver(&ap_dev->dev, &drv->driver);
	}
out:
	uvf_mutex_unlock(&bus->lock);
	uvf_mutex_unlock(&bus->scan_mutex);
	if (!ret)
		ap_check_bindings_complete(bus);
	return ret;
}

void ap_driver_unregister(struct ap_bus *bus, struct ap_driver *drv)
{
	struct ap_queue *aq;
	struct ap_card *ac;

	if (!drv->registered)
		return;
	uvf_mutex_lock(&bus->scan_mutex);
	uvf_mutex_lock(&bus->lock);
	list_for_each_entry(aq, &bus->queues, link)
		if (aq->ap_dev.dev.driver == &drv->driver)
			ap_device_release_driver(&aq->ap_dev);
	list_for_each_entry(ac, &bus->cards, link)
		if (ac->ap_dev.dev.driver == &drv->driver)
			ap_device_release_driver(&ac->ap_dev);
	ap_perms_lock(bus);
	list_del_init(&drv->link);
	drv->registered = false;
	ap_perms_unlock(bus);
	uvf_mutex_unlock(&bus->lock);
	uvf_mutex_unlock(&bus->scan_mutex);
	sysfs_remove(drv->dir);
	drv->dir = NULL;
}

/* ---- scanning ------------------------------------------------------------- */

/* Field by field: the struct's padding is not part of the information. */
static bool qci_equal(const struct ap_config_info *a, const struct ap_config_info *b)
{
	return a->apsc == b->apsc && a->apxa == b->apxa && a->qact == b->qact &&
	       a->rc8a == b->rc8a && a->apsb == b->apsb && a->na == b->na && a->nd == b->nd &&
	       !memcmp(a->apm, b->apm, sizeof(a->apm)) && !memcmp(a->aqm, b->aqm, sizeof(a->aqm)) &&
	       !memcmp(a->adm, b->adm, sizeof(a->adm));
}

/* The current QCI into bus->qci; whether it differs from the last one. */
static bool ap_get_configuration(struct ap_bus *bus)
{
	struct ap_config_info cur;

	if (!ap_qci_flags(&bus->qci))
		return false;
	ap_qci(bus->mach, &cur);
	uvf_write_lock(&bus->info_lock);
	bus->qci_old = bus->qci;
	bus->qci = cur;
	uvf_rw_unlock(&bus->info_lock);
	return !qci_equal(&cur, &bus->qci_old);
}

/* New adapters or domains appeared (they will need binding). */
static bool config_has_new(const struct ap_config_info *cur, const struct ap_config_info *old)
{
	unsigned long added[AP_MASK_LONGS];

	return ap_mask_andnot(added, cur->apm, old->apm) ||
	       ap_mask_andnot(added, cur->aqm, old->aqm);
}

static void notify_drivers(struct ap_bus *bus, bool complete)
{
	struct ap_config_info cur, old;
	struct ap_driver *drv;

	uvf_read_lock(&bus->info_lock);
	cur = bus->qci;
	old = bus->qci_old;
	uvf_rw_unlock(&bus->info_lock);
	list_for_each_entry(drv, &bus->drivers, link) {
		if (!complete && drv->on_config_changed)
			drv->on_config_changed(drv, &cur, &old);
		if (complete && drv->on_scan_complete)
			drv->on_scan_complete(drv, &cur, &old);
	}
}

/* TAPQ as the scan reads it: 1 with info, 0 no info yet, -1 no APQN. */
static int ap_queue_info(struct ap_bus *bus, ap_qid_t qid, struct ap_tapq_hwinfo *hw,
			 bool *decfg, bool *cstop)
{
	struct ap_queue_status st;

	if ((int)AP_QID_CARD(qid) > bus->max_adapter_id ||
	    (int)AP_QID_QUEUE(qid) > bus->max_domain_id)
		return -1;
	st = ap_tapq(bus->mach, qid, hw);
	switch (st.response_code) {
	case AP_RESPONSE_NORMAL:
	case AP_RESPONSE_RESET_IN_PROGRESS:
	case AP_RESPONSE_DECONFIGURED:
	case AP_RESPONSE_CHECKSTOPPED:
	case AP_RESPONSE_BUSY:
		break;
	default:
		if (!st.async)
			return -1;
	}
	if (!ap_hwinfo_value(hw))
		return 0;
	*decfg = st.response_code == AP_RESPONSE_DECONFIGURED;
	*cstop = st.response_code == AP_RESPONSE_CHECKSTOPPED;
	return 1;
}

/* The default domain: ap.domain=, else the first usable one with a
 * queue that answers NORMAL. */
static void ap_select_domain(struct ap_bus *bus)
{
	unsigned long apm[AP_MASK_LONGS], aqm[AP_MASK_LONGS];
	struct ap_tapq_hwinfo hw;

	if (atomic_load(&bus->domain_index) >= 0)
		return;
	ap_perms_get(bus, apm, aqm);
	for (int dom = 0; dom <= bus->max_domain_id; dom++) {
		if (!ap_test_config_usage_domain(bus, (unsigned int)dom) ||
		    !test_bit_inv((unsigned int)dom, aqm))
			continue;
		for (int card = 0; card <= bus->max_adapter_id; card++) {
			if (!ap_test_config_card_id(bus, (unsigned int)card) ||
			    !test_bit_inv((unsigned int)card, apm))
				continue;
			if (ap_tapq(bus->mach, AP_MKQID(card, dom), &hw).response_code ==
			    AP_RESPONSE_NORMAL) {
				atomic_store(&bus->domain_index, dom);
				return;
			}
		}
	}
}

static void rm_card_and_queues(struct ap_bus *bus, struct ap_card *ac)
{
	struct ap_queue *aq, *tmp;

	list_for_each_entry_safe(aq, tmp, &bus->queues, link)
		if (aq->card == ac)
			ap_queue_unregister(aq);
	ap_card_unregister(ac);
}

/* A state change of an existing queue (TAPQ said decfg/cstop). */
static void scan_queue_state(struct ap_queue *aq, bool decfg, bool chkstop)
{
	bool flush = false, init = false;

	uvf_mutex_lock(&aq->lock);
	if (chkstop != aq->chkstop) {
		aq->chkstop = chkstop;
		flush = chkstop;
		init = !chkstop;
		if (chkstop && aq->dev_state > AP_DEV_STATE_UNINITIATED) {
			aq->dev_state = AP_DEV_STATE_ERROR;
			aq->last_err_rc = AP_RESPONSE_CHECKSTOPPED;
		}
	} else if (decfg == aq->config) {
		aq->config = !decfg;
		flush = decfg;
		init = !decfg;
		if (decfg && aq->dev_state > AP_DEV_STATE_UNINITIATED) {
			aq->dev_state = AP_DEV_STATE_ERROR;
			aq->last_err_rc = AP_RESPONSE_DECONFIGURED;
		}
	} else if (!decfg && aq->dev_state == AP_DEV_STATE_ERROR) {
		/* an error state: flush and start over with a reset */
		__ap_flush_queue(aq);
		_ap_queue_init_state(aq);
	}
	if (init && aq->dev_state > AP_DEV_STATE_UNINITIATED)
		_ap_queue_init_state(aq);
	if (flush)
		__ap_flush_queue(aq);
	uvf_mutex_unlock(&aq->lock);
}

static void scan_new_queue(struct ap_bus *bus, struct ap_card *ac, ap_qid_t qid, bool decfg,
			   bool chkstop)
{
	struct ap_queue *aq = ap_queue_create(qid, ac);

	if (!aq) {
		uvf_warn("ap", "queue %02x.%04x: cannot create", AP_QID_CARD(qid),
			 AP_QID_QUEUE(qid));
		return;
	}
	aq->config = !decfg;
	aq->chkstop = chkstop;
	if (ap_queue_register(aq))
		return;
	if (!decfg && !chkstop)
		ap_queue_init_state(aq);
}

static void ap_scan_domains(struct ap_bus *bus, struct ap_card *ac)
{
	for (int dom = 0; dom <= bus->max_domain_id; dom++) {
		ap_qid_t qid = AP_MKQID(ac->id, dom);
		struct ap_queue *aq = find_queue_locked(bus, qid);
		struct ap_tapq_hwinfo hw;
		bool decfg = false, chkstop = false;
		int rc = -1;

		if (ap_test_config_usage_domain(bus, (unsigned int)dom))
			rc = ap_queue_info(bus, qid, &hw, &decfg, &chkstop);
		if (rc < 0 && aq)
			ap_queue_unregister(aq);
		if (rc <= 0)
			continue;
		if (!aq)
			scan_new_queue(bus, ac, qid, decfg, chkstop);
		else
			scan_queue_state(aq, decfg, chkstop);
	}
}

/* The card part of TAPQ's information (TAPQ_CARD_HWINFO_MASK). */
static void hwinfo_card_part(struct ap_tapq_hwinfo *hw)
{
	hw->bs = 0;
}

static bool card_hwinfo_changed(const struct ap_card *ac, const struct ap_tapq_hwinfo *hw)
{
	return ac->hwinfo.at != hw->at || ap_hwinfo_fac(&ac->hwinfo) != ap_hwinfo_fac(hw);
}

/* Atomic stores: the card's 'config' store writes it without bus->lock. */
static void scan_card_state(struct ap_card *ac, bool decfg, bool chkstop)
{
	__atomic_store_n(&ac->chkstop, chkstop, __ATOMIC_RELAXED);
	__atomic_store_n(&ac->config, !decfg, __ATOMIC_RELAXED);
}

static struct ap_card *scan_new_card(struct ap_bus *bus, int ap, const struct ap_tapq_hwinfo *hw,
				     bool decfg, bool chkstop)
{
	struct ap_card *ac;

	/* Types up to CEX8 are known; there is no QACT to map newer ones. */
	if (hw->at < AP_DEVICE_TYPE_CEX4 || hw->at > AP_DEVICE_TYPE_CEX8) {
		uvf_warn("ap", "card %02x: unsupported type %u", ap, hw->at);
		return NULL;
	}
	ac = ap_card_create(bus, ap, hw, hw->at);
	if (!ac)
		return NULL;
	ac->config = !decfg;
	ac->chkstop = chkstop;
	return ap_card_register(ac) ? NULL : ac;
}

static void ap_scan_adapter(struct ap_bus *bus, int ap)
{
	struct ap_card *ac = find_card_locked(bus, ap);
	struct ap_tapq_hwinfo hw = { 0 };
	bool decfg = false, chkstop = false;
	int dom;

	if (!ap_test_config_card_id(bus, (unsigned int)ap)) {
		if (ac)
			rm_card_and_queues(bus, ac);
		return;
	}
	for (dom = 0; dom <= bus->max_domain_id; dom++)
		if (ap_test_config_usage_domain(bus, (unsigned int)dom) &&
		    ap_queue_info(bus, AP_MKQID(ap, dom), &hw, &decfg, &chkstop) > 0)
			break;
	if (dom > bus->max_domain_id || !hw.at) {
		/* no APQN tells what this adapter is */
		if (ac)
			rm_card_and_queues(bus, ac);
		return;
	}
	hwinfo_card_part(&hw);
	if (ac && card_hwinfo_changed(ac, &hw)) {
		rm_card_and_queues(bus, ac);
		ac = NULL;
	}
	if (ac)
		scan_card_state(ac, decfg, chkstop);
	else
		ac = scan_new_card(bus, ap, &hw, decfg, chkstop);
	if (ac)
		ap_scan_domains(bus, ac);
}

/* One scan (scan_mutex held); true if the QCI changed. */
static bool ap_scan_bus(struct ap_bus *bus)
{
	bool changed = ap_get_configuration(bus);

	if (changed) {
		if (config_has_new(&bus->qci, &bus->qci_old))
			atomic_store(&bus->bindings_complete, false);
		notify_drivers(bus, false);
	}
	ap_select_domain(bus);
	uvf_mutex_lock(&bus->lock);
	for (int ap = 0; ap <= bus->max_adapter_id; ap++)
		ap_scan_adapter(bus, ap);
	uvf_mutex_unlock(&bus->lock);
	if (changed)
		notify_drivers(bus, true);
	atomic_fetch_add(&bus->scan_count, 1);
	ap_check_bindings_complete(bus);
	return changed;
}

/*
 * The scan thread: a requested scan, or every config_time seconds.
 * Requests that arrive before a scan starts share it.
 */
static void *ap_scan_thread(void *arg)
{
	struct ap_bus *bus = arg;
	uint64_t next = ap_hw_now_ns() + (uint64_t)atomic_load(&bus->config_time) * 1000000000ull;

	uvf_mutex_lock(&bus->scan_req_lock);
	while (!bus->scan_stop) {
		uint64_t target;
		bool result;

		if (bus->scan_rearm) {
			bus->scan_rearm = false;
			next = ap_hw_now_ns() +
			       (uint64_t)atomic_load(&bus->config_time) * 1000000000ull;
		}
		if (bus->scan_requested == bus->scan_done) {
			struct timespec ts;

			ap_ns_to_timespec(next, &ts);
			if (pthread_cond_timedwait(&bus->scan_req_cond, &bus->scan_req_lock.m,
						   &ts) == 0 || ap_hw_now_ns() < next)
				continue;
			bus->scan_requested++;
		}
		target = bus->scan_requested;
		uvf_mutex_unlock(&bus->scan_req_lock);
		uvf_mutex_lock(&bus->scan_mutex);
		result = ap_scan_bus(bus);
		uvf_mutex_unlock(&bus->scan_mutex);
		next = ap_hw_now_ns() + (uint64_t)atomic_load(&bus->config_time) * 1000000000ull;
		uvf_mutex_lock(&bus->scan_req_lock);
		bus->scan_done = target;
		bus->scan_last_result = result;
		pthread_cond_broadcast(&bus->scan_req_cond);
	}
	pthread_cond_broadcast(&bus->scan_req_cond);
	uvf_mutex_unlock(&bus->scan_req_lock);
	return NULL;
}

void ap_bus_request_rescan(struct ap_bus *bus)
{
	uvf_mutex_lock(&bus->scan_req_lock);
	bus->scan_requested++;
	pthread_cond_broadcast(&bus->scan_req_cond);
	uvf_mutex_unlock(&bus->scan_req_lock);
}

/* Wait for a scan that starts after this call.  Never call it holding an
 * AP or vfio_ap lock: the scan takes them. */
bool ap_bus_force_rescan(struct ap_bus *bus)
{
	uint64_t seq;
	bool result;

	uvf_mutex_lock(&bus->scan_req_lock);
	seq = ++bus->scan_requested;
	pthread_cond_broadcast(&bus->scan_req_cond);
	while (bus->scan_done < seq && !bus->scan_stop)
		pthread_cond_wait(&bus->scan_req_cond, &bus->scan_req_lock.m);
	result = bus->scan_last_result;
	uvf_mutex_unlock(&bus->scan_req_lock);
	return result;
}

int ap_host_config_change(struct uvf_host *h, enum ap_config_op op, unsigned int id)
{
	struct ap_bus *bus = ap_bus_get(h);
	int ret;

	if (!bus)
		return -ENODEV;
	ret = ap_machine_config_change(bus->mach, op, id);
	if (ret > 0)
		ap_bus_force_rescan(bus);
	return ret;
}

/* ---- the bus's life ------------------------------------------------------- */

static int ap_perms_init(struct ap_bus *bus, const struct ap_bus_params *p, char *err,
			 size_t errlen)
{
	memset(bus->apm, 0xff, sizeof(bus->apm));
	memset(bus->aqm, 0xff, sizeof(bus->aqm));
	if (p && p->apmask) {
		memset(bus->apm, 0, sizeof(bus->apm));
		if (ap_parse_mask_str(p->apmask, bus->apm, AP_DEVICES)) {
			snprintf(err, errlen, "apmask: '%s' is not a mask", p->apmask);
			return -EINVAL;
		}
	}
	if (p && p->aqmask) {
		memset(bus->aqm, 0, sizeof(bus->aqm));
		if (ap_parse_mask_str(p->aqmask, bus->aqm, AP_DOMAINS)) {
			snprintf(err, errlen, "aqmask: '%s' is not a mask", p->aqmask);
			return -EINVAL;
		}
	}
	return 0;
}

/* The maxima: Na/Nd with APXA, else the architecture's 63/15. */
static void ap_init_qci_info(struct ap_bus *bus)
{
	ap_qci(bus->mach, &bus->qci);
	bus->qci_old = bus->qci;
	bus->max_adapter_id = 63;
	bus->max_domain_id = 15;
	if (bus->qci.apxa) {
		if (bus->qci.na)
			bus->max_adapter_id = bus->qci.na;
		if (bus->qci.nd)
			bus->max_domain_id = bus->qci.nd;
	}
}

static void ap_domain_init(struct ap_bus *bus, int domain)
{
	if (domain < -1 || domain > bus->max_domain_id ||
	    (domain >= 0 && !test_bit_inv((unsigned int)domain, bus->aqm))) {
		uvf_warn("ap", "%d is not a valid cryptographic domain", domain);
		domain = -1;
	}
	atomic_store(&bus->domain_index, domain);
}

static struct ap_bus *ap_bus_alloc(struct uvf_host *h)
{
	struct ap_bus *bus = calloc(1, sizeof(*bus));

	if (!bus)
		return NULL;
	bus->host = h;
	uvf_mutex_init(&bus->scan_mutex);
	uvf_mutex_init(&bus->lock);
	uvf_mutex_init(&bus->perms_mutex);
	uvf_mutex_init(&bus->queues_lock);
	uvf_rwlock_init(&bus->info_lock);
	uvf_mutex_init(&bus->scan_req_lock);
	ap_cond_init_monotonic(&bus->scan_req_cond);
	list_init(&bus->cards);
	list_init(&bus->queues);
	list_init(&bus->drivers);
	list_init(&bus->bound_queues);
	atomic_init(&bus->config_time, AP_CONFIG_TIME);
	atomic_init(&bus->domain_index, -1);
	return bus;
}

static int ap_bus_start(struct ap_bus *bus, const struct ap_bus_params *p, char *err,
			size_t errlen)
{
	int ret = ap_perms_init(bus, p, err, errlen);

	if (ret)
		return ret;
	ap_init_qci_info(bus);
	ap_domain_init(bus, p ? p->domain : -1);
	bus->noirq = p && p->noirq;
	ret = ap_sysfs_bus_init(bus);
	if (!ret)
		ret = ap_poll_init(bus);
	if (!ret)
		ret = zcrypt_init(bus);
	if (ret) {
		snprintf(err, errlen, "cannot set up the AP bus: %s", strerror(-ret));
		return ret;
	}
	if (pthread_create(&bus->scan_thread, NULL, ap_scan_thread, bus)) {
		snprintf(err, errlen, "cannot start the AP bus scan thread");
		return -EAGAIN;
	}
	bus->scan_thread_started = true;
	ap_bus_force_rescan(bus);
	return 0;
}

int ap_bus_init(struct uvf_host *h, const struct ap_machine_desc *d,
		const struct ap_bus_params *p, char *err, size_t errlen)
{
	struct ap_bus *bus;
	int ret;

	if (ap_machine_desc_check(d, err, errlen))
		return -EINVAL;
	bus = ap_bus_alloc(h);
	if (!bus)
		return -ENOMEM;
	bus->mach = ap_machine_new(d);
	if (!bus->mach) {
		snprintf(err, errlen, "cannot create the AP machine");
		free(bus);
		return -ENOMEM;
	}
	h->ap = bus;
	ret = ap_bus_start(bus, p, err, errlen);
	if (ret)
		ap_bus_exit(h);
	return ret;
}

static void ap_scan_thread_stop(struct ap_bus *bus)
{
	if (!bus->scan_thread_started)
		return;
	uvf_mutex_lock(&bus->scan_req_lock);
	bus->scan_stop = true;
	pthread_cond_broadcast(&bus->scan_req_cond);
	uvf_mutex_unlock(&bus->scan_req_lock);
	pthread_join(bus->scan_thread, NULL);
	bus->scan_thread_started = false;
}

static void ap_bus_remove_devices(struct ap_bus *bus)
{
	uvf_mutex_lock(&bus->scan_mutex);
	uvf_mutex_lock(&bus->lock);
	while (!list_empty(&bus->cards))
		rm_card_and_queues(bus, list_first_entry(&bus->cards, struct ap_card, link));
	uvf_mutex_unlock(&bus->lock);
	uvf_mutex_unlock(&bus->scan_mutex);
}

void ap_bus_exit(struct uvf_host *h)
{
	struct ap_bus *bus = ap_bus_get(h);

	if (!bus)
		return;
	ap_scan_thread_stop(bus);
	zcrypt_exit(bus);
	ap_bus_remove_devices(bus);
	ap_poll_exit(bus);
	sysfs_remove(bus->bus_dir);
	sysfs_remove(bus->root_dir);
	ap_machine_free(bus->mach);
	h->ap = NULL;
	pthread_cond_destroy(&bus->scan_req_cond);
	uvf_mutex_destroy(&bus->scan_req_lock);
	uvf_rwlock_destroy(&bus->info_lock);
	uvf_mutex_destroy(&bus->queues_lock);
	uvf_mutex_destroy(&bus->perms_mutex);
	uvf_mutex_destroy(&bus->lock);
	uvf_mutex_destroy(&bus->scan_mutex);
	free(bus);
}
