// SPDX-License-Identifier: MIT
/*
 * The vfio_ap mdev (drivers/s390/crypto/vfio_ap_ops.c): its sysfs
 * attributes (assign/unassign adapter, domain and control domain, matrix,
 * guest_matrix, control_domains, ap_config), hot plug and unplug into the
 * guest, the VFIO device (open with a KVM, close, the ioctls, REQ and
 * CFG_CHG eventfds, dma_unmap), the PQAP(AQIC) hook, and the AP bus
 * callbacks (in_use, on_config_changed, on_scan_complete).
 *
 * Errors of the stores (kernel 6.12, with the dynamic configuration):
 *   assign_adapter/assign_domain: kstrtoul's -EINVAL/-ERANGE, -ENODEV above
 *   the maximum, -EADDRNOTAVAIL if the new matrix has an APQN reserved for
 *   the default drivers, -EADDRINUSE if it has one of another mdev; an id
 *   already assigned succeeds.  unassign_*: parse and -ENODEV only.
 *   control domains: parse and -ENODEV only (they may be shared).
 *   ap_config: -EINVAL (three hex masks), -EADDRNOTAVAIL, -EADDRINUSE,
 *   -ENODEV (a bit above the maxima), checked in that order.
 * A failed store changes nothing.
 *
 * Deviations: open_device also resets the mdev's queues (ZAPQ) before the
 * guest gets them: a queue the host's AP bus brought up has the host's
 * interruptions enabled (as in the kernel), and a guest's first AQIC would
 * answer 0x07.  The CFG_CHG interrupt (index 1) is kernel 6.15's.
 *
 * Lock order: vfio_ap_private.h.  Every store and callback says which of
 * ap_perms_mutex -> guests_lock -> kvm->lock -> mdevs_lock it takes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "vfio_ap_private.h"
#include "../base/log.h"
#include "../kvm/kvm_s390_ap.h"
#include "../mm/caller.h"
#include "../pci/vfio_pci.h"
#include "../sysfs/sysfs.h"

static const struct vfio_device_ops vfio_ap_matrix_dev_ops;

static struct ap_matrix_mdev *attr_mdev(struct sysfs_node *attr)
{
	struct mdev_device *mdev = sysfs_priv(attr);

	return mdev->dev.driver_data;
}

/* ---- the guest's APCB ------------------------------------------------------------------- */

static void signal_guest_ap_cfg_changed(struct ap_matrix_mdev *matrix_mdev)
{
	vfio_pci_eventfd_signal(matrix_mdev->cfg_chg_trigger);
}

/* Write the shadow into the attached guest's APCB (mdevs_lock, kvm->lock). */
void vfio_ap_mdev_update_guest_apcb(struct ap_matrix_mdev *matrix_mdev)
{
	unsigned long apm[AP_MASK_LONGS], aqm[AP_MASK_LONGS], adm[AP_MASK_LONGS];
	struct ap_matrix *shadow = &matrix_mdev->shadow_apcb;

	if (!matrix_mdev->kvm)
		return;
	vfio_ap_mask_to_kvm(shadow->apm, apm);
	vfio_ap_mask_to_kvm(shadow->aqm, aqm);
	vfio_ap_mask_to_kvm(shadow->adm, adm);
	kvm_arch_crypto_set_masks(matrix_mdev->kvm, apm, aqm, adm);
	signal_guest_ap_cfg_changed(matrix_mdev);
}

static void collect_queues_to_reset(struct ap_matrix_mdev *matrix_mdev, unsigned long apid,
				    struct list_head *qlist)
{
	unsigned long apqi;
	struct vfio_ap_queue *q;

	for_each_set_bit_inv(apqi, matrix_mdev->shadow_apcb.aqm, AP_DOMAINS) {
		q = vfio_ap_mdev_get_queue(matrix_mdev, (int)AP_MKQID(apid, apqi));
		if (q)
			list_add_tail(&q->reset_qnode, qlist);
	}
}

static int reset_and_forget(struct list_head *qlist)
{
	int ret = vfio_ap_mdev_reset_qlist(qlist);

	while (!list_empty(qlist))
		list_del_init(qlist->next);
	return ret;
}

void reset_queues_for_apid(struct ap_matrix_mdev *matrix_mdev, unsigned long apid)
{
	struct list_head qlist;

	list_init(&qlist);
	collect_queues_to_reset(matrix_mdev, apid, &qlist);
	reset_and_forget(&qlist);
}

int reset_queues_for_apids(struct ap_matrix_mdev *matrix_mdev, const unsigned long *apm_reset)
{
	struct list_head qlist;
	unsigned long apid;

	if (vfio_ap_mask_empty(apm_reset))
		return 0;
	list_init(&qlist);
	for_each_set_bit_inv(apid, apm_reset, AP_DEVICES)
		collect_queues_to_reset(matrix_mdev, apid, &qlist);
	return reset_and_forget(&qlist);
}

/* Filter, and if the shadow changed give it to the guest and reset what
 * was taken away. */
static void vfio_ap_mdev_refilter(struct ap_matrix_mdev *matrix_mdev)
{
	unsigned long apm_filtered[AP_MASK_LONGS];

	if (vfio_ap_mdev_filter_matrix(matrix_mdev, apm_filtered)) {
		vfio_ap_mdev_update_guest_apcb(matrix_mdev);
		reset_queues_for_apids(matrix_mdev, apm_filtered);
	}
}

/* ---- linking and hot unplug ----------------------------------------------------------------- */

static void vfio_ap_mdev_link_adapter(struct ap_matrix_mdev *matrix_mdev, unsigned long apid)
{
	unsigned long apqi;

	for_each_set_bit_inv(apqi, matrix_mdev->matrix.aqm, AP_DOMAINS)
		vfio_ap_mdev_link_apqn(matrix_mdev, (int)AP_MKQID(apid, apqi));
}

static void vfio_ap_mdev_link_domain(struct ap_matrix_mdev *matrix_mdev, unsigned long apqi)
{
	unsigned long apid;

	for_each_set_bit_inv(apid, matrix_mdev->matrix.apm, AP_DEVICES)
		vfio_ap_mdev_link_apqn(matrix_mdev, (int)AP_MKQID(apid, apqi));
}

/* Unlink the APQN; queue it for a reset if the guest had it. */
static void unlink_apqn(struct ap_matrix_mdev *matrix_mdev, unsigned long apid,
			unsigned long apqi, struct list_head *qlist)
{
	struct vfio_ap_queue *q = vfio_ap_mdev_get_queue(matrix_mdev, (int)AP_MKQID(apid, apqi));

	if (!q)
		return;
	vfio_ap_unlink_queue_fr_mdev(q);
	if (test_bit_inv((unsigned int)apid, matrix_mdev->shadow_apcb.apm) &&
	    test_bit_inv((unsigned int)apqi, matrix_mdev->shadow_apcb.aqm)) {
		list_add_tail(&q->reset_qnode, qlist);
		return;
	}
	/*
	 * Out of the guest without a reset (a configuration change took it
	 * out of the shadow): give back its ISC and NIB pin while the mdev
	 * is still known, or nothing could later.
	 */
	vfio_ap_free_aqic_resources(q);
	q->matrix_mdev = NULL;
}

/*
 * Take adapters (or domains) away: out of the shadow and the guest's APCB
 * first, then every queue the guest had is reset and zeroized (whatever
 * the guest left on it is gone), then unlinked.
 */
static void vfio_ap_mdev_hot_unplug(struct ap_matrix_mdev *matrix_mdev, const unsigned long *ids,
				    bool adapters)
{
	unsigned long *shadow = adapters ? matrix_mdev->shadow_apcb.apm :
					   matrix_mdev->shadow_apcb.aqm;
	const unsigned long *others = adapters ? matrix_mdev->matrix.aqm : matrix_mdev->matrix.apm;
	struct vfio_ap_queue *q, *tmp;
	struct list_head qlist;
	unsigned long id, other;
	bool apcb_update = false;

	list_init(&qlist);
	for_each_set_bit_inv(id, ids, AP_DEVICES) {
		for_each_set_bit_inv(other, others, AP_DEVICES) {
			if (adapters)
				unlink_apqn(matrix_mdev, id, other, &qlist);
			else
				unlink_apqn(matrix_mdev, other, id, &qlist);
		}
		if (test_bit_inv((unsigned int)id, shadow)) {
			clear_bit_inv((unsigned int)id, shadow);
			apcb_update = true;
		}
	}
	/* the guest is not disturbed for nothing */
	if (apcb_update)
		vfio_ap_mdev_update_guest_apcb(matrix_mdev);
	vfio_ap_mdev_reset_qlist(&qlist);
	list_for_each_entry_safe(q, tmp, &qlist, reset_qnode) {
		q->matrix_mdev = NULL;
		list_del_init(&q->reset_qnode);
	}
}

static void hot_unplug_one(struct ap_matrix_mdev *matrix_mdev, unsigned long id, bool adapter)
{
	unsigned long ids[AP_MASK_LONGS] = { 0 };

	set_bit_inv((unsigned int)id, ids);
	vfio_ap_mdev_hot_unplug(matrix_mdev, ids, adapter);
}

/* ---- the assignment attributes ----------------------------------------------------------------- */

static int parse_id(const char *buf, unsigned long *id)
{
	unsigned long long v;
	int ret = kstrtoull(buf, 0, &v);

	if (!ret)
		*id = (unsigned long)v;
	return ret;
}

/*
 * assign_adapter / assign_domain: ap_perms_mutex first, so that the
 * reservation check and an apmask/aqmask store (which asks in_use() with
 * it held) exclude each other in one order.
 */
static ssize_t assign_store(struct sysfs_node *attr, const char *buf, size_t count,
			    bool adapter)
{
	struct ap_matrix_mdev *matrix_mdev = attr_mdev(attr);
	struct ap_matrix_dev *matrix_dev = matrix_mdev->matrix_dev;
	unsigned long *mask = adapter ? matrix_mdev->matrix.apm : matrix_mdev->matrix.aqm;
	unsigned long id;
	ssize_t ret;

	ap_perms_lock(matrix_dev->bus);
	get_update_locks_for_mdev(matrix_dev, matrix_mdev);
	ret = parse_id(buf, &id);
	if (ret)
		goto done;
	if (id > (adapter ? matrix_mdev->matrix.apm_max : matrix_mdev->matrix.aqm_max)) {
		ret = -ENODEV;
		goto done;
	}
	ret = (ssize_t)count;
	if (test_bit_inv((unsigned int)id, mask))
		goto done;
	set_bit_inv((unsigned int)id, mask);
	ret = vfio_ap_mdev_validate_masks(matrix_mdev);
	if (ret) {
		clear_bit_inv((unsigned int)id, mask);
		goto done;
	}
	if (adapter)
		vfio_ap_mdev_link_adapter(matrix_mdev, id);
	else
		vfio_ap_mdev_link_domain(matrix_mdev, id);
	vfio_ap_mdev_refilter(matrix_mdev);
	ret = (ssize_t)count;
done:
	release_update_locks_for_mdev(matrix_dev, matrix_mdev);
	ap_perms_unlock(matrix_dev->bus);
	return ret;
}

static ssize_t unassign_store(struct sysfs_node *attr, const char *buf, size_t count,
			      bool adapter)
{
	struct ap_matrix_mdev *matrix_mdev = attr_mdev(attr);
	struct ap_matrix_dev *matrix_dev = matrix_mdev->matrix_dev;
	unsigned long *mask = adapter ? matrix_mdev->matrix.apm : matrix_mdev->matrix.aqm;
	unsigned long id;
	ssize_t ret;

	get_update_locks_for_mdev(matrix_dev, matrix_mdev);
	ret = parse_id(buf, &id);
	if (ret)
		goto done;
	if (id > (adapter ? matrix_mdev->matrix.apm_max : matrix_mdev->matrix.aqm_max)) {
		ret = -ENODEV;
		goto done;
	}
	ret = (ssize_t)count;
	if (!test_bit_inv((unsigned int)id, mask))
		goto done;
	clear_bit_inv((unsigned int)id, mask);
	hot_unplug_one(matrix_mdev, id, adapter);
done:
	release_update_locks_for_mdev(matrix_dev, matrix_mdev);
	return ret;
}

static ssize_t assign_adapter_store(struct sysfs_node *attr, const char *buf, size_t count)
{
	return assign_store(attr, buf, count, true);
}

static ssize_t unassign_adapter_store(struct sysfs_node *attr, const char *buf, size_t count)
{
	return unassign_store(attr, buf, count, true);
}

static ssize_t assign_domain_store(struct sysfs_node *attr, const char *buf, size_t count)
{
	return assign_store(attr, buf, count, false);
}

static ssize_t unassign_domain_store(struct sysfs_node *attr, const char *buf, size_t count)
{
	return unassign_store(attr, buf, count, false);
}

/* Control domains may be shared: no reservation or sharing checks. */
static ssize_t control_domain_store(struct sysfs_node *attr, const char *buf, size_t count,
				    bool assign)
{
	struct ap_matrix_mdev *matrix_mdev = attr_mdev(attr);
	struct ap_matrix_dev *matrix_dev = matrix_mdev->matrix_dev;
	unsigned long id;
	ssize_t ret;

	get_update_locks_for_mdev(matrix_dev, matrix_mdev);
	ret = parse_id(buf, &id);
	if (ret)
		goto done;
	if (id > matrix_mdev->matrix.adm_max) {
		ret = -ENODEV;
		goto done;
	}
	ret = (ssize_t)count;
	if (test_bit_inv((unsigned int)id, matrix_mdev->matrix.adm) == assign)
		goto done;
	if (assign) {
		set_bit_inv((unsigned int)id, matrix_mdev->matrix.adm);
		if (vfio_ap_mdev_filter_cdoms(matrix_mdev))
			vfio_ap_mdev_update_guest_apcb(matrix_mdev);
	} else {
		clear_bit_inv((unsigned int)id, matrix_mdev->matrix.adm);
		if (test_bit_inv((unsigned int)id, matrix_mdev->shadow_apcb.adm)) {
			clear_bit_inv((unsigned int)id, matrix_mdev->shadow_apcb.adm);
			vfio_ap_mdev_update_guest_apcb(matrix_mdev);
		}
	}
done:
	release_update_locks_for_mdev(matrix_dev, matrix_mdev);
	return ret;
}

static ssize_t assign_control_domain_store(struct sysfs_node *attr, const char *buf,
					   size_t count)
{
	return control_domain_store(attr, buf, count, true);
}

static ssize_t unassign_control_domain_store(struct sysfs_node *attr, const char *buf,
					     size_t count)
{
	return control_domain_store(attr, buf, count, false);
}

/* ---- the matrix attributes ---------------------------------------------------------------------- */

static ssize_t show_locked(struct sysfs_node *attr, char *buf,
			   ssize_t (*fn)(const struct ap_matrix *, char *), bool shadow)
{
	struct ap_matrix_mdev *matrix_mdev = attr_mdev(attr);
	struct ap_matrix_dev *matrix_dev = matrix_mdev->matrix_dev;
	ssize_t ret;

	uvf_mutex_lock(&matrix_dev->mdevs_lock);
	ret = fn(shadow ? &matrix_mdev->shadow_apcb : &matrix_mdev->matrix, buf);
	uvf_mutex_unlock(&matrix_dev->mdevs_lock);
	return ret;
}

static ssize_t control_domains_show(struct sysfs_node *attr, char *buf)
{
	return show_locked(attr, buf, vfio_ap_control_domains_show, false);
}

static ssize_t matrix_show(struct sysfs_node *attr, char *buf)
{
	return show_locked(attr, buf, vfio_ap_mdev_matrix_show, false);
}

static ssize_t guest_matrix_show(struct sysfs_node *attr, char *buf)
{
	return show_locked(attr, buf, vfio_ap_mdev_matrix_show, true);
}

static ssize_t ap_config_show(struct sysfs_node *attr, char *buf)
{
	return show_locked(attr, buf, vfio_ap_ap_config_show, false);
}

/*
 * The whole matrix at once, validated as a whole against the new masks
 * and put back on any failure; then what was removed is unplugged (and
 * reset), what was added linked, and the result filtered into the guest.
 */
static ssize_t ap_config_store(struct sysfs_node *attr, const char *buf, size_t count)
{
	struct ap_matrix_mdev *matrix_mdev = attr_mdev(attr);
	struct ap_matrix_dev *matrix_dev = matrix_mdev->matrix_dev;
	struct ap_matrix m_new, m_old, m_added, m_removed;
	unsigned long apm_filtered[AP_MASK_LONGS], bit;
	bool do_update;
	ssize_t ret;

	ret = vfio_ap_parse_ap_config(buf, count, &m_new);
	if (ret)
		return ret;
	ap_perms_lock(matrix_dev->bus);
	get_update_locks_for_mdev(matrix_dev, matrix_mdev);
	ap_matrix_copy(&m_old, &matrix_mdev->matrix);
	vfio_ap_mask_andnot(m_removed.apm, m_old.apm, m_new.apm);
	vfio_ap_mask_andnot(m_removed.aqm, m_old.aqm, m_new.aqm);
	vfio_ap_mask_andnot(m_added.apm, m_new.apm, m_old.apm);
	vfio_ap_mask_andnot(m_added.aqm, m_new.aqm, m_old.aqm);

	ap_matrix_copy(&matrix_mdev->matrix, &m_new);
	ret = vfio_ap_mdev_validate_masks(matrix_mdev);
	if (!ret)
		ret = ap_matrix_overflow_check(&matrix_mdev->matrix);
	ap_matrix_copy(&matrix_mdev->matrix, &m_old);
	if (ret)
		goto out;

	/* unplug and unlink with the old matrix, link with the new one */
	vfio_ap_mdev_hot_unplug(matrix_mdev, m_removed.apm, true);
	vfio_ap_mdev_hot_unplug(matrix_mdev, m_removed.aqm, false);
	ap_matrix_copy(&matrix_mdev->matrix, &m_new);
	for_each_set_bit_inv(bit, m_added.apm, AP_DEVICES)
		vfio_ap_mdev_link_adapter(matrix_mdev, bit);
	for_each_set_bit_inv(bit, m_added.aqm, AP_DOMAINS)
		vfio_ap_mdev_link_domain(matrix_mdev, bit);

	do_update = vfio_ap_mdev_filter_matrix(matrix_mdev, apm_filtered);
	do_update |= vfio_ap_mdev_filter_cdoms(matrix_mdev);
	if (do_update) {
		vfio_ap_mdev_update_guest_apcb(matrix_mdev);
		reset_queues_for_apids(matrix_mdev, apm_filtered);
	}
	ret = (ssize_t)count;
out:
	release_update_locks_for_mdev(matrix_dev, matrix_mdev);
	ap_perms_unlock(matrix_dev->bus);
	return ret;
}

#define VFIO_AP_WO(n) static const struct sysfs_attr_ops n##_ops = { .store = n##_store }
#define VFIO_AP_RO(n) static const struct sysfs_attr_ops n##_ops = { .show = n##_show }

VFIO_AP_WO(assign_adapter);
VFIO_AP_WO(unassign_adapter);
VFIO_AP_WO(assign_domain);
VFIO_AP_WO(unassign_domain);
VFIO_AP_WO(assign_control_domain);
VFIO_AP_WO(unassign_control_domain);
VFIO_AP_RO(control_domains);
VFIO_AP_RO(matrix);
VFIO_AP_RO(guest_matrix);
static const struct sysfs_attr_ops ap_config_ops = { .show = ap_config_show,
						     .store = ap_config_store };

static const struct mdev_device_attr vfio_ap_mdev_attrs[] = {
	{ "assign_adapter", 0200, &assign_adapter_ops },
	{ "unassign_adapter", 0200, &unassign_adapter_ops },
	{ "assign_domain", 0200, &assign_domain_ops },
	{ "unassign_domain", 0200, &unassign_domain_ops },
	{ "assign_control_domain", 0200, &assign_control_domain_ops },
	{ "unassign_control_domain", 0200, &unassign_control_domain_ops },
	{ "ap_config", 0644, &ap_config_ops },
	{ "control_domains", 0444, &control_domains_ops },
	{ "matrix", 0444, &matrix_ops },
	{ "guest_matrix", 0444, &guest_matrix_ops },
	{ NULL, 0, NULL },
};

/* ---- the PQAP(AQIC) hook ---------------------------------------------------------------------- */

/*
 * KVM intercepted the guest's PQAP(AQIC) (pqap_hook_rwsem held for read).
 * GR0: the APQN; GR1: IR (IBM bit 16) and the guest ISC; GR2: the NIB.
 * The status goes back in GR1.  Only mdevs_lock is needed.
 */
static int handle_pqap(struct kvm *kvm, struct kvm_s390_pqap_regs *regs)
{
	struct ap_matrix_mdev *matrix_mdev =
		container_of(kvm->arch.crypto.pqap_hook, struct ap_matrix_mdev, pqap_hook);
	struct ap_matrix_dev *matrix_dev = matrix_mdev->matrix_dev;
	struct ap_queue_status qstatus = { .response_code = AP_RESPONSE_Q_NOT_AVAIL };
	int apqn = (int)(regs->gprs[0] & 0xffff);
	uint64_t gr1 = regs->gprs[1];
	struct vfio_ap_queue *q;

	/* Without AP interruption virtualisation (ECA_AIV) user space decides. */
	if (!ap_interrupts_available(matrix_mach(matrix_dev)))
		return -EOPNOTSUPP;
	uvf_mutex_lock(&matrix_dev->mdevs_lock);
	if (!matrix_mdev->kvm)
		goto out;
	q = vfio_ap_mdev_get_queue(matrix_mdev, apqn);
	if (!q)
		goto out;
	if ((gr1 >> (63 - 16)) & 1)
		qstatus = vfio_ap_irq_enable(q, (uint8_t)(gr1 & 0x07), regs->gprs[2]);
	else
		qstatus = vfio_ap_irq_disable(q);
out:
	regs->gprs[1] = ap_queue_status_value(qstatus);
	uvf_mutex_unlock(&matrix_dev->mdevs_lock);
	return 0;
}

/* ---- the VFIO device --------------------------------------------------------------------------- */

static void get_update_locks_for_kvm(struct ap_matrix_dev *matrix_dev, struct kvm *kvm)
{
	uvf_mutex_lock(&matrix_dev->guests_lock);
	kvm_lock(kvm);
	uvf_write_lock(&kvm->arch.crypto.pqap_hook_rwsem);
	uvf_mutex_lock(&matrix_dev->mdevs_lock);
}

static void release_update_locks_for_kvm(struct ap_matrix_dev *matrix_dev, struct kvm *kvm)
{
	uvf_mutex_unlock(&matrix_dev->mdevs_lock);
	uvf_rw_unlock(&kvm->arch.crypto.pqap_hook_rwsem);
	kvm_unlock(kvm);
	uvf_mutex_unlock(&matrix_dev->guests_lock);
}

/* One mdev per VM: another mdev's hook on the VM is -EPERM. */
static int vfio_ap_mdev_set_kvm(struct ap_matrix_mdev *matrix_mdev, struct kvm *kvm)
{
	struct ap_matrix_dev *matrix_dev = matrix_mdev->matrix_dev;

	get_update_locks_for_kvm(matrix_dev, kvm);
	if (kvm->arch.crypto.pqap_hook) {
		release_update_locks_for_kvm(matrix_dev, kvm);
		return -EPERM;
	}
	kvm->arch.crypto.pqap_hook = &matrix_mdev->pqap_hook;
	kvm_get_kvm(kvm);
	matrix_mdev->kvm = kvm;
	vfio_ap_mdev_reset_queues(matrix_mdev);
	vfio_ap_mdev_update_guest_apcb(matrix_mdev);
	release_update_locks_for_kvm(matrix_dev, kvm);
	return 0;
}

/* The guest goes: no hook, no masks, every queue reset, the VM let go. */
static void vfio_ap_mdev_unset_kvm(struct ap_matrix_mdev *matrix_mdev)
{
	struct ap_matrix_dev *matrix_dev = matrix_mdev->matrix_dev;
	struct kvm *kvm = matrix_mdev->kvm;

	if (!kvm)
		return;
	get_update_locks_for_kvm(matrix_dev, kvm);
	kvm->arch.crypto.pqap_hook = NULL;
	kvm_arch_crypto_clear_masks(kvm);
	vfio_ap_mdev_reset_queues(matrix_mdev);
	matrix_mdev->kvm = NULL;
	release_update_locks_for_kvm(matrix_dev, kvm);
	kvm_put_kvm(kvm);
}

/* A KVM is required: KVM_DEV_VFIO_FILE_ADD comes before the open. */
static int vfio_ap_mdev_open_device(struct vfio_device *vdev)
{
	if (!vdev->kvm)
		return -EINVAL;
	return vfio_ap_mdev_set_kvm(to_matrix_mdev(vdev), vdev->kvm);
}

static void vfio_ap_mdev_close_device(struct vfio_device *vdev)
{
	vfio_ap_mdev_unset_kvm(to_matrix_mdev(vdev));
}

/* Interruptions whose NIB is in an unmapped range are turned off. */
static void vfio_ap_mdev_dma_unmap(struct vfio_device *vdev, uint64_t iova, uint64_t length)
{
	struct ap_matrix_mdev *matrix_mdev = to_matrix_mdev(vdev);
	struct ap_matrix_dev *matrix_dev = matrix_mdev->matrix_dev;
	struct vfio_ap_queue *q;

	uvf_mutex_lock(&matrix_dev->mdevs_lock);
	list_for_each_entry(q, &matrix_mdev->qtable, mdev_qnode)
		if (q->saved_iova && q->saved_iova >= iova && q->saved_iova - iova < length)
			vfio_ap_irq_disable(q);
	uvf_mutex_unlock(&matrix_dev->mdevs_lock);
}

static void vfio_ap_mdev_request(struct vfio_device *vdev, unsigned int count)
{
	struct ap_matrix_mdev *matrix_mdev = to_matrix_mdev(vdev);
	struct ap_matrix_dev *matrix_dev = matrix_mdev->matrix_dev;

	uvf_mutex_lock(&matrix_dev->mdevs_lock);
	if (matrix_mdev->req_trigger >= 0) {
		if (!(count % 10))
			uvf_info("vfio_ap", "%s: Relaying device request to user (#%u)",
				 matrix_mdev->mdev->dev.name, count);
		vfio_pci_eventfd_signal(matrix_mdev->req_trigger);
	} else if (!count) {
		uvf_info("vfio_ap", "%s: No device request registered, blocked until released by user",
			 matrix_mdev->mdev->dev.name);
	}
	uvf_mutex_unlock(&matrix_dev->mdevs_lock);
}

/* Only DATA_EVENTFD | ACTION_TRIGGER, for REQ and CFG_CHG. */
static long vfio_ap_set_irqs(struct ap_matrix_mdev *matrix_mdev, struct uvf_caller *c,
			     uint64_t arg)
{
	size_t minsz = offsetofend(struct vfio_irq_set, count), data_size;
	struct vfio_irq_set hdr;
	int ret;

	if (copy_from_user(c, &hdr, arg, minsz))
		return -EFAULT;
	ret = vfio_set_irqs_validate_and_prepare(&hdr, 1, VFIO_AP_NUM_IRQS, &data_size);
	if (ret)
		return ret;
	if (!(hdr.flags & VFIO_IRQ_SET_ACTION_TRIGGER))
		return -EINVAL;
	if ((hdr.flags & VFIO_IRQ_SET_DATA_TYPE_MASK) != VFIO_IRQ_SET_DATA_EVENTFD)
		return -EINVAL;
	switch (hdr.index) {
	case VFIO_AP_REQ_IRQ_INDEX:
		return vfio_irq_set_eventfd_trigger(c, arg, &matrix_mdev->req_trigger);
	case VFIO_AP_CFG_CHG_IRQ_INDEX:
		return vfio_irq_set_eventfd_trigger(c, arg, &matrix_mdev->cfg_chg_trigger);
	default:
		return -EINVAL;
	}
}

static long vfio_ap_mdev_ioctl(struct vfio_device *vdev, struct uvf_caller *c, unsigned int cmd,
			       uint64_t arg)
{
	struct ap_matrix_mdev *matrix_mdev = to_matrix_mdev(vdev);
	struct ap_matrix_dev *matrix_dev = matrix_mdev->matrix_dev;
	long ret;

	uvf_mutex_lock(&matrix_dev->mdevs_lock);
	switch (cmd) {
	case VFIO_DEVICE_GET_INFO:
		ret = vfio_device_get_info_simple(c, arg, VFIO_DEVICE_FLAGS_AP |
						  VFIO_DEVICE_FLAGS_RESET, 0, VFIO_AP_NUM_IRQS);
		break;
	case VFIO_DEVICE_RESET:
		ret = vfio_ap_mdev_reset_queues(matrix_mdev);
		break;
	case VFIO_DEVICE_GET_IRQ_INFO:
		/* VFIO_AP_REQ_IRQ_INDEX and VFIO_AP_CFG_CHG_IRQ_INDEX */
		ret = vfio_device_get_irq_info_eventfd(c, arg, VFIO_AP_NUM_IRQS);
		break;
	case VFIO_DEVICE_SET_IRQS:
		ret = vfio_ap_set_irqs(matrix_mdev, c, arg);
		break;
	default:
		ret = -EOPNOTSUPP;
		break;
	}
	uvf_mutex_unlock(&matrix_dev->mdevs_lock);
	return ret;
}

static const struct vfio_device_ops vfio_ap_matrix_dev_ops = {
	.name = "vfio_ap",
	.open_device = vfio_ap_mdev_open_device,
	.close_device = vfio_ap_mdev_close_device,
	.ioctl = vfio_ap_mdev_ioctl,
	.dma_unmap = vfio_ap_mdev_dma_unmap,
	.request = vfio_ap_mdev_request,
};

/* ---- the mdev driver ----------------------------------------------------------------------------- */

static int vfio_ap_mdev_probe(struct mdev_device *mdev)
{
	struct ap_matrix_dev *matrix_dev = container_of(mdev->type->parent, struct ap_matrix_dev,
							parent);
	struct ap_matrix_mdev *matrix_mdev = calloc(1, sizeof(*matrix_mdev));
	int ret;

	if (!matrix_mdev)
		return -ENOMEM;
	matrix_mdev->matrix_dev = matrix_dev;
	matrix_mdev->mdev = mdev;
	matrix_mdev->pqap_hook = handle_pqap;
	matrix_mdev->req_trigger = matrix_mdev->cfg_chg_trigger = -1;
	list_init(&matrix_mdev->node);
	list_init(&matrix_mdev->qtable);
	uvf_mutex_lock(&matrix_dev->mdevs_lock);
	vfio_ap_matrix_init(&matrix_dev->info, &matrix_mdev->matrix);
	vfio_ap_matrix_init(&matrix_dev->info, &matrix_mdev->shadow_apcb);
	uvf_mutex_unlock(&matrix_dev->mdevs_lock);
	vfio_init_device(&matrix_mdev->vdev, &mdev->dev, &vfio_ap_matrix_dev_ops);
	ret = vfio_register_emulated_iommu_dev(&matrix_mdev->vdev);
	if (ret) {
		free(matrix_mdev);
		return ret;
	}
	/* The list changes under guests_lock, which its walkers hold. */
	uvf_mutex_lock(&matrix_dev->guests_lock);
	uvf_mutex_lock(&matrix_dev->mdevs_lock);
	mdev->dev.driver_data = matrix_mdev;
	list_add(&matrix_mdev->node, &matrix_dev->mdev_list);
	uvf_mutex_unlock(&matrix_dev->mdevs_lock);
	uvf_mutex_unlock(&matrix_dev->guests_lock);
	return 0;
}

static void vfio_ap_mdev_remove(struct mdev_device *mdev)
{
	struct ap_matrix_mdev *matrix_mdev = mdev->dev.driver_data;
	struct ap_matrix_dev *matrix_dev = matrix_mdev->matrix_dev;
	struct vfio_ap_queue *q, *tmp;

	/* Waits for the users, signalling REQ meanwhile. */
	vfio_unregister_group_dev(&matrix_mdev->vdev);
	uvf_mutex_lock(&matrix_dev->guests_lock);
	uvf_mutex_lock(&matrix_dev->mdevs_lock);
	vfio_ap_mdev_reset_queues(matrix_mdev);
	list_for_each_entry_safe(q, tmp, &matrix_mdev->qtable, mdev_qnode) {
		q->matrix_mdev = NULL;
		list_del_init(&q->mdev_qnode);
	}
	list_del_init(&matrix_mdev->node);
	mdev->dev.driver_data = NULL;
	uvf_mutex_unlock(&matrix_dev->mdevs_lock);
	uvf_mutex_unlock(&matrix_dev->guests_lock);
	vfio_pci_eventfd_put(matrix_mdev->req_trigger);
	vfio_pci_eventfd_put(matrix_mdev->cfg_chg_trigger);
	free(matrix_mdev);
}

int vfio_ap_mdev_register(struct ap_matrix_dev *matrix_dev)
{
	struct mdev_driver *drv = &matrix_dev->mdev_driver;
	int ret;

	drv->device_api = VFIO_DEVICE_API_AP_STRING;
	drv->max_instances = VFIO_AP_MAX_INSTANCES;
	drv->probe = vfio_ap_mdev_probe;
	drv->remove = vfio_ap_mdev_remove;
	drv->dev_attrs = vfio_ap_mdev_attrs;
	drv->driver.name = VFIO_AP_MDEV_DRV_NAME;
	ret = mdev_register_driver(matrix_dev->host, drv);
	if (ret)
		return ret;
	matrix_dev->mdev_drv_registered = true;
	matrix_dev->mdev_type.sysfs_name = VFIO_AP_MDEV_TYPE_HWVIRT;
	matrix_dev->mdev_type.pretty_name = VFIO_AP_MDEV_NAME_HWVIRT;
	matrix_dev->mdev_types[0] = &matrix_dev->mdev_type;
	ret = mdev_register_parent(&matrix_dev->parent, &matrix_dev->device, drv,
				   matrix_dev->mdev_types, 1);
	if (ret)
		return ret;
	matrix_dev->parent_registered = true;
	return 0;
}

void vfio_ap_mdev_unregister(struct ap_matrix_dev *matrix_dev)
{
	if (matrix_dev->parent_registered)
		mdev_unregister_parent(&matrix_dev->parent);
	matrix_dev->parent_registered = false;
	if (matrix_dev->mdev_drv_registered)
		mdev_unregister_driver(&matrix_dev->mdev_driver);
	matrix_dev->mdev_drv_registered = false;
}

/* ---- the AP bus's callbacks ------------------------------------------------------------------------ */

/* apmask/aqmask want apm x aqm back for the default drivers (perms_mutex
 * held): -EADDRINUSE if an mdev has one of them, which the bus makes
 * -EBUSY. */
int vfio_ap_mdev_resource_in_use(struct ap_driver *drv, unsigned long *apm, unsigned long *aqm)
{
	struct ap_matrix_dev *matrix_dev = drv->priv;
	int ret;

	uvf_mutex_lock(&matrix_dev->guests_lock);
	uvf_mutex_lock(&matrix_dev->mdevs_lock);
	ret = vfio_ap_mdev_verify_no_sharing(matrix_dev, NULL, apm, aqm);
	uvf_mutex_unlock(&matrix_dev->mdevs_lock);
	uvf_mutex_unlock(&matrix_dev->guests_lock);
	return ret;
}

/* Take rem out of a shadow mask; whether it had any of it. */
static bool shadow_remove(unsigned long *shadow, const unsigned long *rem)
{
	if (!vfio_ap_mask_intersects(shadow, rem))
		return false;
	vfio_ap_mask_andnot(shadow, shadow, rem);
	return true;
}

/* Removed from the host's configuration: out of every guest using it. */
static void vfio_ap_mdev_cfg_remove(struct ap_matrix_dev *matrix_dev,
				    const unsigned long *ap_remove, const unsigned long *aq_remove,
				    const unsigned long *cd_remove)
{
	unsigned long aprem[AP_MASK_LONGS], aqrem[AP_MASK_LONGS], cdrem[AP_MASK_LONGS];
	struct ap_matrix_mdev *matrix_mdev;

	list_for_each_entry(matrix_mdev, &matrix_dev->mdev_list, node) {
		struct ap_matrix *shadow = &matrix_mdev->shadow_apcb;
		bool update = false;

		if (matrix_mdev->kvm)
			kvm_lock(matrix_mdev->kvm);
		uvf_mutex_lock(&matrix_dev->mdevs_lock);
		vfio_ap_mask_and(aprem, ap_remove, matrix_mdev->matrix.apm);
		vfio_ap_mask_and(aqrem, aq_remove, matrix_mdev->matrix.aqm);
		vfio_ap_mask_and(cdrem, cd_remove, matrix_mdev->matrix.adm);
		update |= shadow_remove(shadow->apm, aprem);
		update |= shadow_remove(shadow->aqm, aqrem);
		update |= shadow_remove(shadow->adm, cdrem);
		if (update)
			vfio_ap_mdev_update_guest_apcb(matrix_mdev);
		uvf_mutex_unlock(&matrix_dev->mdevs_lock);
		if (matrix_mdev->kvm)
			kvm_unlock(matrix_mdev->kvm);
	}
}

/* Adapters older than CEX4, or whose type cannot be learned, are not
 * vfio_ap's to plug (vfio_ap_filter_apid_by_qtype). */
static void vfio_ap_filter_apid_by_qtype(struct ap_matrix_dev *matrix_dev, unsigned long *apm,
					 const unsigned long *aqm)
{
	struct ap_machine *m = matrix_mach(matrix_dev);
	unsigned long apid, apqi;

	for_each_set_bit_inv(apid, apm, AP_DEVICES) {
		for_each_set_bit_inv(apqi, aqm, AP_DOMAINS) {
			struct ap_tapq_hwinfo info = { 0 };
			struct ap_queue_status st = ap_tapq(m, AP_MKQID(apid, apqi), &info);
			bool known = st.response_code == AP_RESPONSE_NORMAL ||
				     st.response_code == AP_RESPONSE_RESET_IN_PROGRESS ||
				     st.response_code == AP_RESPONSE_DECONFIGURED ||
				     st.response_code == AP_RESPONSE_CHECKSTOPPED ||
				     st.response_code == AP_RESPONSE_BUSY;

			if (!known || info.at < AP_DEVICE_TYPE_CEX4) {
				clear_bit_inv((unsigned int)apid, apm);
				break;
			}
		}
	}
}

/* Added to the host's configuration: remembered per mdev, plugged once
 * the scan has probed the new queues (on_scan_complete). */
static void vfio_ap_mdev_cfg_add(struct ap_matrix_dev *matrix_dev, unsigned long *apm_add,
				 const unsigned long *aqm_add, const unsigned long *adm_add)
{
	struct ap_matrix_mdev *matrix_mdev;

	if (list_empty(&matrix_dev->mdev_list))
		return;
	vfio_ap_filter_apid_by_qtype(matrix_dev, apm_add, aqm_add);
	list_for_each_entry(matrix_mdev, &matrix_dev->mdev_list, node) {
		uvf_mutex_lock(&matrix_dev->mdevs_lock);
		vfio_ap_mask_and(matrix_mdev->apm_add, matrix_mdev->matrix.apm, apm_add);
		vfio_ap_mask_and(matrix_mdev->aqm_add, matrix_mdev->matrix.aqm, aqm_add);
		vfio_ap_mask_and(matrix_mdev->adm_add, matrix_mdev->matrix.adm, adm_add);
		uvf_mutex_unlock(&matrix_dev->mdevs_lock);
	}
}

/* At the start of a scan that found the QCI changed (scan_mutex held). */
void vfio_ap_on_cfg_changed(struct ap_driver *drv, struct ap_config_info *cur,
			    struct ap_config_info *prev)
{
	struct ap_matrix_dev *matrix_dev = drv->priv;
	unsigned long rem[3][AP_MASK_LONGS], add[3][AP_MASK_LONGS];
	bool do_remove, do_add;

	if (!cur || !prev)
		return;
	do_remove = vfio_ap_mask_andnot(rem[0], prev->apm, cur->apm);
	do_remove |= vfio_ap_mask_andnot(rem[1], prev->aqm, cur->aqm);
	do_remove |= vfio_ap_mask_andnot(rem[2], prev->adm, cur->adm);
	do_add = vfio_ap_mask_andnot(add[0], cur->apm, prev->apm);
	do_add |= vfio_ap_mask_andnot(add[1], cur->aqm, prev->aqm);
	do_add |= vfio_ap_mask_andnot(add[2], cur->adm, prev->adm);

	uvf_mutex_lock(&matrix_dev->guests_lock);
	if (do_remove)
		vfio_ap_mdev_cfg_remove(matrix_dev, rem[0], rem[1], rem[2]);
	if (do_add)
		vfio_ap_mdev_cfg_add(matrix_dev, add[0], add[1], add[2]);
	uvf_mutex_lock(&matrix_dev->mdevs_lock);
	matrix_dev->info = *cur;
	uvf_mutex_unlock(&matrix_dev->mdevs_lock);
	uvf_mutex_unlock(&matrix_dev->guests_lock);
}

static void vfio_ap_mdev_hot_plug_cfg(struct ap_matrix_mdev *matrix_mdev)
{
	unsigned long apm_filtered[AP_MASK_LONGS] = { 0 };
	bool do_hotplug = false;

	if (vfio_ap_mask_intersects(matrix_mdev->matrix.apm, matrix_mdev->apm_add) ||
	    vfio_ap_mask_intersects(matrix_mdev->matrix.aqm, matrix_mdev->aqm_add))
		do_hotplug = vfio_ap_mdev_filter_matrix(matrix_mdev, apm_filtered);
	if (vfio_ap_mask_intersects(matrix_mdev->matrix.adm, matrix_mdev->adm_add))
		do_hotplug |= vfio_ap_mdev_filter_cdoms(matrix_mdev);
	if (do_hotplug)
		vfio_ap_mdev_update_guest_apcb(matrix_mdev);
	reset_queues_for_apids(matrix_mdev, apm_filtered);
}

/* After a scan that found the QCI changed probed every new queue. */
void vfio_ap_on_scan_complete(struct ap_driver *drv, struct ap_config_info *new_info,
			      struct ap_config_info *old_info)
{
	struct ap_matrix_dev *matrix_dev = drv->priv;
	struct ap_matrix_mdev *matrix_mdev;

	uvf_mutex_lock(&matrix_dev->guests_lock);
	list_for_each_entry(matrix_mdev, &matrix_dev->mdev_list, node) {
		if (matrix_mdev->kvm)
			kvm_lock(matrix_mdev->kvm);
		uvf_mutex_lock(&matrix_dev->mdevs_lock);
		if (!vfio_ap_mask_empty(matrix_mdev->apm_add) ||
		    !vfio_ap_mask_empty(matrix_mdev->aqm_add) ||
		    !vfio_ap_mask_empty(matrix_mdev->adm_add)) {
			vfio_ap_mdev_hot_plug_cfg(matrix_mdev);
			vfio_ap_mask_zero(matrix_mdev->apm_add);
			vfio_ap_mask_zero(matrix_mdev->aqm_add);
			vfio_ap_mask_zero(matrix_mdev->adm_add);
		}
		uvf_mutex_unlock(&matrix_dev->mdevs_lock);
		if (matrix_mdev->kvm)
			kvm_unlock(matrix_mdev->kvm);
	}
	uvf_mutex_unlock(&matrix_dev->guests_lock);
}
