// SPDX-License-Identifier: MIT
/*
 * Queues bound to vfio_ap (drivers/s390/crypto/vfio_ap_ops.c, the parts
 * about struct vfio_ap_queue): probe and remove from the AP bus, the link
 * to the mdev the APQN is assigned to, reset and zeroize (ZAPQ) with its
 * verification, the guest's interruptions (the PQAP(AQIC) enable and
 * disable, the NIB pin and the guest ISC) and the queue's 'status'
 * attribute.
 *
 * Resets: the kernel issues ZAPQ and verifies it on a work item that polls
 * TAPQ every 20 ms, and every caller waits for that work (flush_work).
 * Here the caller issues ZAPQ to each queue of a list, then polls each one
 * itself every millisecond (the emulated reset lasts 200 us); a queue still
 * busy after VFIO_AP_RESET_TIMEOUT_MS is given up with a warning instead of
 * being waited for forever.  A reset that found a reset in progress (or the
 * queue busy) is issued again once that one is over, as apq_reset_check does.
 *
 * Locks (vfio_ap_private.h): everything here runs under mdevs_lock, and
 * probe/remove/status take guests_lock -> kvm->lock -> mdevs_lock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "vfio_ap_private.h"
#include "../base/log.h"
#include "../kvm/kvm_s390_ap.h"
#include "../sysfs/sysfs.h"

#define AP_RESET_INTERVAL_US		1000	/* reset poll interval */
#define VFIO_AP_RESET_TIMEOUT_MS	10000
#define AP_IRQ_RETRY_INTERVAL_MS	20	/* AQIC disable, IR clear: 5 tries */

#define AP_QUEUE_ASSIGNED "assigned"
#define AP_QUEUE_UNASSIGNED "unassigned"
#define AP_QUEUE_IN_USE "in use"

static void sleep_us(unsigned int us)
{
	struct timespec ts = { us / 1000000, (long)(us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/* ---- locks ------------------------------------------------------------------------------ */

void get_update_locks_for_mdev(struct ap_matrix_dev *matrix_dev,
			       struct ap_matrix_mdev *matrix_mdev)
{
	uvf_mutex_lock(&matrix_dev->guests_lock);
	if (matrix_mdev && matrix_mdev->kvm)
		kvm_lock(matrix_mdev->kvm);
	uvf_mutex_lock(&matrix_dev->mdevs_lock);
}

void release_update_locks_for_mdev(struct ap_matrix_dev *matrix_dev,
				   struct ap_matrix_mdev *matrix_mdev)
{
	uvf_mutex_unlock(&matrix_dev->mdevs_lock);
	if (matrix_mdev && matrix_mdev->kvm)
		kvm_unlock(matrix_mdev->kvm);
	uvf_mutex_unlock(&matrix_dev->guests_lock);
}

/* The mdev the APQN is assigned to, with the locks to update its guest. */
static struct ap_matrix_mdev *get_update_locks_by_apqn(struct ap_matrix_dev *matrix_dev,
						       int apqn)
{
	struct ap_matrix_mdev *matrix_mdev, *found = NULL;

	uvf_mutex_lock(&matrix_dev->guests_lock);
	list_for_each_entry(matrix_mdev, &matrix_dev->mdev_list, node) {
		if (test_bit_inv(AP_QID_CARD(apqn), matrix_mdev->matrix.apm) &&
		    test_bit_inv(AP_QID_QUEUE(apqn), matrix_mdev->matrix.aqm)) {
			found = matrix_mdev;
			break;
		}
	}
	if (found && found->kvm)
		kvm_lock(found->kvm);
	uvf_mutex_lock(&matrix_dev->mdevs_lock);
	return found;
}

/* q->matrix_mdev changes only with guests_lock held too. */
static struct ap_matrix_mdev *get_update_locks_for_queue(struct vfio_ap_queue *q)
{
	struct ap_matrix_dev *matrix_dev = q->matrix_dev;
	struct ap_matrix_mdev *matrix_mdev;

	uvf_mutex_lock(&matrix_dev->guests_lock);
	matrix_mdev = q->matrix_mdev;
	if (matrix_mdev && matrix_mdev->kvm)
		kvm_lock(matrix_mdev->kvm);
	uvf_mutex_lock(&matrix_dev->mdevs_lock);
	return matrix_mdev;
}

/* ---- finding and linking ------------------------------------------------------------------ */

struct vfio_ap_queue *vfio_ap_find_queue(struct ap_matrix_dev *matrix_dev, int apqn)
{
	struct vfio_ap_queue *q;

	list_for_each_entry(q, &matrix_dev->queues, node)
		if (q->apqn == apqn)
			return q;
	return NULL;
}

struct vfio_ap_queue *vfio_ap_mdev_get_queue(struct ap_matrix_mdev *matrix_mdev, int apqn)
{
	struct vfio_ap_queue *q;

	list_for_each_entry(q, &matrix_mdev->qtable, mdev_qnode)
		if (q->apqn == apqn)
			return q;
	return NULL;
}

void vfio_ap_mdev_link_queue(struct ap_matrix_mdev *matrix_mdev, struct vfio_ap_queue *q)
{
	if (!q || !list_empty(&q->mdev_qnode))
		return;
	q->matrix_mdev = matrix_mdev;
	list_add_tail(&q->mdev_qnode, &matrix_mdev->qtable);
}

void vfio_ap_mdev_link_apqn(struct ap_matrix_mdev *matrix_mdev, int apqn)
{
	vfio_ap_mdev_link_queue(matrix_mdev, vfio_ap_find_queue(matrix_mdev->matrix_dev, apqn));
}

void vfio_ap_unlink_queue_fr_mdev(struct vfio_ap_queue *q)
{
	list_del_init(&q->mdev_qnode);
}

/* A queue may go to a guest if its last reset left it usable. */
bool vfio_ap_queue_passable(const struct vfio_ap_queue *q)
{
	if (!q)
		return false;
	switch (q->reset_status.response_code) {
	case AP_RESPONSE_NORMAL:
	case AP_RESPONSE_DECONFIGURED:
	case AP_RESPONSE_CHECKSTOPPED:
		return true;
	default:
		return false;
	}
}

/* ---- interruptions ------------------------------------------------------------------------ */

/* Give back the guest ISC and the NIB pin. */
void vfio_ap_free_aqic_resources(struct vfio_ap_queue *q)
{
	struct ap_matrix_mdev *matrix_mdev = q->matrix_mdev;

	if (q->saved_isc != VFIO_AP_ISC_INVALID) {
		if (matrix_mdev && matrix_mdev->kvm)
			kvm_s390_gisc_unregister(matrix_mdev->kvm, q->saved_isc);
		q->saved_isc = VFIO_AP_ISC_INVALID;
	}
	if (q->saved_iova && matrix_mdev) {
		vfio_unpin_pages(&matrix_mdev->vdev, q->saved_iova, 1);
		q->saved_iova = 0;
	}
}

/* TAPQ until interruptions show disabled, at most 5 times. */
static void vfio_ap_wait_for_irqclear(struct ap_machine *m, int apqn)
{
	struct ap_queue_status st;

	for (int retry = 5; retry; retry--) {
		st = ap_tapq(m, (ap_qid_t)apqn, NULL);
		switch (st.response_code) {
		case AP_RESPONSE_NORMAL:
		case AP_RESPONSE_RESET_IN_PROGRESS:
			if (!st.irq_enabled)
				return;
			sleep_us(AP_IRQ_RETRY_INTERVAL_MS * 1000);
			break;
		case AP_RESPONSE_BUSY:
			sleep_us(AP_IRQ_RETRY_INTERVAL_MS * 1000);
			break;
		default:
			uvf_warn("vfio_ap", "tapq rc %02x: %04x", st.response_code, apqn);
			return;
		}
	}
	uvf_warn("vfio_ap", "tapq rc %02x: %04x could not clear IR bit", st.response_code, apqn);
}

/* AQIC with a zero control block, retried while busy; the resources go
 * whatever the answer. */
struct ap_queue_status vfio_ap_irq_disable(struct vfio_ap_queue *q)
{
	struct ap_machine *m = matrix_mach(q->matrix_dev);
	struct ap_qirq_ctrl none = { 0 };
	struct ap_queue_status st;
	int retries = 5;

	do {
		st = ap_aqic(m, (ap_qid_t)q->apqn, none, 0);
		switch (st.response_code) {
		case AP_RESPONSE_OTHERWISE_CHANGED:
		case AP_RESPONSE_NORMAL:
			vfio_ap_wait_for_irqclear(m, q->apqn);
			goto end_free;
		case AP_RESPONSE_RESET_IN_PROGRESS:
		case AP_RESPONSE_BUSY:
			sleep_us(AP_IRQ_RETRY_INTERVAL_MS * 1000);
			break;
		default:
			/* the queue is not operational */
			uvf_dbg("vfio_ap", "%02x.%04x: ap_aqic status %d", AP_QID_CARD(q->apqn),
				AP_QID_QUEUE(q->apqn), st.response_code);
			goto end_free;
		}
	} while (retries--);
	uvf_warn("vfio_ap", "%02x.%04x: ap_aqic status %d", AP_QID_CARD(q->apqn),
		 AP_QID_QUEUE(q->apqn), st.response_code);
end_free:
	vfio_ap_free_aqic_resources(q);
	return st;
}

/*
 * The guest enables interruptions: pin its NIB, register its ISC with the
 * VM's GISA, and enable the queue for that GISA.  The machine is given the
 * NIB's guest address (it writes no memory; the GISA reports it with the
 * interruption) where the kernel gives the pinned page's host address.
 * Kernel 6.12 answers a failed ISC registration with 0x06, as a failed pin.
 */
struct ap_queue_status vfio_ap_irq_enable(struct vfio_ap_queue *q, uint8_t isc, uint64_t nib)
{
	struct ap_matrix_mdev *matrix_mdev = q->matrix_mdev;
	struct ap_queue_status st = { .response_code = AP_RESPONSE_INVALID_ADDRESS };
	struct kvm *kvm = matrix_mdev->kvm;
	struct ap_qirq_ctrl ctrl = { .ir = true, .gisc = isc };
	int nisc;

	if (!nib || vfio_pin_pages(&matrix_mdev->vdev, nib, 1, IOMMU_READ | IOMMU_WRITE) != 1) {
		uvf_dbg("vfio_ap", "%02x.%04x: invalid NIB address 0x%llx", AP_QID_CARD(q->apqn),
			AP_QID_QUEUE(q->apqn), (unsigned long long)nib);
		return st;
	}
	nisc = kvm_s390_gisc_register(kvm, isc);
	if (nisc < 0) {
		uvf_dbg("vfio_ap", "gisc registration failed: %d, isc=%u", nisc, isc);
		vfio_unpin_pages(&matrix_mdev->vdev, nib, 1);
		return st;
	}
	ctrl.isc = (uint8_t)nisc;
	ctrl.gisa = kvm_s390_gisa_origin(kvm);
	st = ap_aqic(matrix_mach(q->matrix_dev), (ap_qid_t)q->apqn, ctrl, nib);
	switch (st.response_code) {
	case AP_RESPONSE_NORMAL:
		/* the previous configuration, if any, is replaced */
		vfio_ap_free_aqic_resources(q);
		q->saved_iova = nib;
		q->saved_isc = isc;
		break;
	case AP_RESPONSE_OTHERWISE_CHANGED:
		kvm_s390_gisc_unregister(kvm, isc);
		vfio_unpin_pages(&matrix_mdev->vdev, nib, 1);
		break;
	default:
		uvf_warn("vfio_ap", "apqn %04x: response: %02x", q->apqn, st.response_code);
		/* The kernel leaks the new pin and ISC here; give them back. */
		kvm_s390_gisc_unregister(kvm, isc);
		vfio_unpin_pages(&matrix_mdev->vdev, nib, 1);
		vfio_ap_irq_disable(q);
		break;
	}
	return st;
}

/* ---- reset and zeroize ---------------------------------------------------------------------- */

/* What a TAPQ during the verification means (apq_status_check). */
static int apq_status_check(int apqn, const struct ap_queue_status *st)
{
	switch (st->response_code) {
	case AP_RESPONSE_NORMAL:
	case AP_RESPONSE_DECONFIGURED:
	case AP_RESPONSE_CHECKSTOPPED:
		return 0;
	case AP_RESPONSE_RESET_IN_PROGRESS:
	case AP_RESPONSE_BUSY:
		return -EBUSY;
	case AP_RESPONSE_Q_NOT_AVAIL:
		return -ENODEV;
	default:
		uvf_warn("vfio_ap", "failed to verify reset of queue %02x.%04x: TAPQ rc=%u",
			 AP_QID_CARD(apqn), AP_QID_QUEUE(apqn), st->response_code);
		return -EIO;
	}
}

static bool reset_needs_again(const struct ap_queue_status *st)
{
	return st->response_code == AP_RESPONSE_RESET_IN_PROGRESS ||
	       st->response_code == AP_RESPONSE_BUSY ||
	       st->response_code == AP_RESPONSE_STATE_CHANGE_IN_PROGRESS;
}

/* Wait for the ZAPQ issued to end (apq_reset_check). */
static void apq_reset_check(struct vfio_ap_queue *q)
{
	struct ap_machine *m = matrix_mach(q->matrix_dev);
	unsigned int elapsed_us = 0;
	struct ap_queue_status st;
	int ret;

	for (;;) {
		sleep_us(AP_RESET_INTERVAL_US);
		elapsed_us += AP_RESET_INTERVAL_US;
		st = ap_tapq(m, (ap_qid_t)q->apqn, NULL);
		ret = apq_status_check(q->apqn, &st);
		if (ret == -EIO)
			return;
		if (ret == -ENODEV) {
			vfio_ap_free_aqic_resources(q);
			return;
		}
		if (ret == -EBUSY) {
			if (elapsed_us < VFIO_AP_RESET_TIMEOUT_MS * 1000u)
				continue;
			uvf_warn("vfio_ap", "Waited %ums for reset of queue %02x.%04x (%u, %u, %u): giving up",
				 elapsed_us / 1000, AP_QID_CARD(q->apqn), AP_QID_QUEUE(q->apqn),
				 st.response_code, st.queue_empty, st.irq_enabled);
			q->reset_status = st;
			return;
		}
		if (reset_needs_again(&q->reset_status)) {
			/* the reset we asked for joined one in progress: ask again */
			q->reset_status = ap_zapq(m, (ap_qid_t)q->apqn, false);
			continue;
		}
		if (q->saved_isc != VFIO_AP_ISC_INVALID)
			vfio_ap_free_aqic_resources(q);
		return;
	}
}

/* Issue ZAPQ; whether the reset needs verifying. */
static bool vfio_ap_reset_queue_start(struct vfio_ap_queue *q)
{
	struct ap_queue_status st = ap_zapq(matrix_mach(q->matrix_dev), (ap_qid_t)q->apqn, false);

	q->reset_status = st;
	switch (st.response_code) {
	case AP_RESPONSE_NORMAL:
	case AP_RESPONSE_RESET_IN_PROGRESS:
	case AP_RESPONSE_BUSY:
	case AP_RESPONSE_STATE_CHANGE_IN_PROGRESS:
		return true;
	case AP_RESPONSE_DECONFIGURED:
	case AP_RESPONSE_CHECKSTOPPED:
	case AP_RESPONSE_Q_NOT_AVAIL:
		vfio_ap_free_aqic_resources(q);
		return false;
	default:
		uvf_warn("vfio_ap", "PQAP/ZAPQ for %02x.%04x failed with invalid rc=%u",
			 AP_QID_CARD(q->apqn), AP_QID_QUEUE(q->apqn), st.response_code);
		return false;
	}
}

void vfio_ap_mdev_reset_queue(struct vfio_ap_queue *q)
{
	if (q && vfio_ap_reset_queue_start(q))
		apq_reset_check(q);
}

int vfio_ap_mdev_reset_qlist(struct list_head *qlist)
{
	struct vfio_ap_queue *q;
	int ret = 0;

	/* Every reset issued first, then each verified: they overlap. */
	list_for_each_entry(q, qlist, reset_qnode)
		q->reset_wait = vfio_ap_reset_queue_start(q);
	list_for_each_entry(q, qlist, reset_qnode) {
		if (q->reset_wait)
			apq_reset_check(q);
		q->reset_wait = false;
		if (q->reset_status.response_code)
			ret = -EIO;
	}
	return ret;
}

int vfio_ap_mdev_reset_queues(struct ap_matrix_mdev *matrix_mdev)
{
	struct list_head qlist;
	struct vfio_ap_queue *q;
	int ret;

	list_init(&qlist);
	list_for_each_entry(q, &matrix_mdev->qtable, mdev_qnode)
		list_add_tail(&q->reset_qnode, &qlist);
	ret = vfio_ap_mdev_reset_qlist(&qlist);
	while (!list_empty(&qlist))
		list_del_init(qlist.next);
	return ret;
}

/* ---- the queue's 'status' ------------------------------------------------------------------- */

/* The mdev whose matrix has the queue (guests_lock held). */
static struct ap_matrix_mdev *vfio_ap_mdev_for_queue(struct vfio_ap_queue *q)
{
	struct ap_matrix_mdev *matrix_mdev;

	list_for_each_entry(matrix_mdev, &q->matrix_dev->mdev_list, node)
		if (test_bit_inv(AP_QID_CARD(q->apqn), matrix_mdev->matrix.apm) &&
		    test_bit_inv(AP_QID_QUEUE(q->apqn), matrix_mdev->matrix.aqm))
			return matrix_mdev;
	return NULL;
}

static ssize_t status_show(struct sysfs_node *attr, char *buf)
{
	struct vfio_ap_queue *q = sysfs_priv(attr);
	struct ap_matrix_dev *matrix_dev = q->matrix_dev;
	struct ap_matrix_mdev *matrix_mdev;
	const char *s = AP_QUEUE_UNASSIGNED;

	uvf_mutex_lock(&matrix_dev->guests_lock);
	uvf_mutex_lock(&matrix_dev->mdevs_lock);
	matrix_mdev = vfio_ap_mdev_for_queue(q);
	if (matrix_mdev) {
		/* "in use" once it is passed through to a guest */
		if (matrix_mdev->kvm &&
		    test_bit_inv(AP_QID_CARD(q->apqn), matrix_mdev->shadow_apcb.apm) &&
		    test_bit_inv(AP_QID_QUEUE(q->apqn), matrix_mdev->shadow_apcb.aqm))
			s = AP_QUEUE_IN_USE;
		else
			s = AP_QUEUE_ASSIGNED;
	}
	uvf_mutex_unlock(&matrix_dev->mdevs_lock);
	uvf_mutex_unlock(&matrix_dev->guests_lock);
	return sysfs_emit(buf, "%s\n", s);
}

static const struct sysfs_attr_ops status_ops = { .show = status_show };

/* ---- probe and remove -------------------------------------------------------------------------- */

static struct ap_matrix_dev *queue_matrix_dev(struct ap_device *apdev)
{
	return ap_dev_driver(apdev)->priv;
}

int vfio_ap_mdev_probe_queue(struct ap_device *apdev)
{
	struct ap_matrix_dev *matrix_dev = queue_matrix_dev(apdev);
	unsigned long apm_filtered[AP_MASK_LONGS];
	struct ap_matrix_mdev *matrix_mdev;
	struct vfio_ap_queue *q = calloc(1, sizeof(*q));

	if (!q)
		return -ENOMEM;
	q->matrix_dev = matrix_dev;
	q->apqn = (int)to_ap_queue(apdev)->qid;
	q->saved_isc = VFIO_AP_ISC_INVALID;
	list_init(&q->node);
	list_init(&q->mdev_qnode);
	list_init(&q->reset_qnode);
	q->status_attr = sysfs_add_attr(apdev->dev.sysfs_dir, "status", 0444, &status_ops, q);
	if (!q->status_attr) {
		free(q);
		return -ENOMEM;
	}

	matrix_mdev = get_update_locks_by_apqn(matrix_dev, q->apqn);
	list_add_tail(&q->node, &matrix_dev->queues);
	apdev->dev.driver_data = q;
	/*
	 * Linked, then plugged; but while adds to the host's configuration are
	 * pending, on_scan_complete filters once every new queue is probed.
	 */
	if (matrix_mdev) {
		vfio_ap_mdev_link_queue(matrix_mdev, q);
		if (vfio_ap_mask_empty(matrix_mdev->apm_add) &&
		    vfio_ap_mask_empty(matrix_mdev->aqm_add) &&
		    vfio_ap_mdev_filter_matrix(matrix_mdev, apm_filtered)) {
			vfio_ap_mdev_update_guest_apcb(matrix_mdev);
			reset_queues_for_apids(matrix_mdev, apm_filtered);
		}
	}
	release_update_locks_for_mdev(matrix_dev, matrix_mdev);
	return 0;
}

void vfio_ap_mdev_remove_queue(struct ap_device *apdev)
{
	struct vfio_ap_queue *q = apdev->dev.driver_data;
	struct ap_matrix_dev *matrix_dev = q->matrix_dev;
	struct ap_matrix_mdev *matrix_mdev;
	unsigned long apid = AP_QID_CARD(q->apqn), apqi = AP_QID_QUEUE(q->apqn);

	/* First, without locks: removing waits for a 'status' show, which takes them. */
	sysfs_remove(q->status_attr);
	matrix_mdev = get_update_locks_for_queue(q);
	if (matrix_mdev && test_bit_inv((unsigned int)apid, matrix_mdev->shadow_apcb.apm) &&
	    test_bit_inv((unsigned int)apqi, matrix_mdev->shadow_apcb.aqm)) {
		/* In the guest: a single queue cannot go, the adapter does. */
		clear_bit_inv((unsigned int)apid, matrix_mdev->shadow_apcb.apm);
		vfio_ap_mdev_update_guest_apcb(matrix_mdev);
		reset_queues_for_apid(matrix_mdev, apid);
	} else if (test_bit_inv((unsigned int)apid, matrix_dev->info.apm) &&
		   test_bit_inv((unsigned int)apqi, matrix_dev->info.aqm)) {
		/* out of the configuration a reset would fail with rc 01 */
		vfio_ap_mdev_reset_queue(q);
	} else {
		vfio_ap_free_aqic_resources(q);
	}
	if (matrix_mdev)
		vfio_ap_unlink_queue_fr_mdev(q);
	q->matrix_mdev = NULL;
	list_del_init(&q->node);
	apdev->dev.driver_data = NULL;
	release_update_locks_for_mdev(matrix_dev, matrix_mdev);
	free(q);
}
