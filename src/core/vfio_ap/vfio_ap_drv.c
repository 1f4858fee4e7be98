// SPDX-License-Identifier: MIT
/*
 * The vfio_ap driver (drivers/s390/crypto/vfio_ap_drv.c): the root device
 * /sys/devices/vfio_ap with the matrix device on bus "matrix" bound to
 * driver "vfio_ap" (its 'features' attribute), the AP queue driver
 * "vfio_ap" (not a default driver: it gets the APQNs apmask x aqmask does
 * not reserve; CEX4..CEX8 queues), the mdev parent with its one type
 * vfio_ap-passthrough, the host's load and free, and the consistent views
 * of vfio_ap.h.
 *
 * Lock order: vfio_ap_private.h.  The snapshot takes guests_lock ->
 * mdevs_lock, the invariant check ap_perms_mutex -> guests_lock ->
 * mdevs_lock; neither takes kvm->lock (a VM's APCB changes only with
 * mdevs_lock held, so it is stable under it).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vfio_ap_private.h"
#include "../base/log.h"
#include "../host/host.h"
#include "../sysfs/sysfs.h"

struct ap_matrix_dev *vfio_ap_matrix_dev(struct uvf_host *h)
{
	return h ? h->vfio_ap : NULL;
}

static ssize_t features_show(struct sysfs_node *attr, char *buf)
{
	return sysfs_emit(buf, "guest_matrix hotplug ap_config\n");
}

static const struct sysfs_attr_ops features_ops = { .show = features_show };

/* The matrix device binds to its own driver: probe has nothing to do. */
static int matrix_probe(struct uvf_device *dev)
{
	return 0;
}

/* /sys/devices/vfio_ap/matrix, /sys/bus/matrix/{devices,drivers/vfio_ap}. */
static int vfio_ap_matrix_dev_create(struct ap_matrix_dev *matrix_dev)
{
	struct sysfs_node *root = sysfs_root(matrix_dev->host->sysfs), *dir, *devices;
	struct uvf_device *dev = &matrix_dev->device;

	matrix_dev->root_dir = sysfs_mkdir_p(root, "devices/" VFIO_AP_ROOT_NAME);
	matrix_dev->bus_dir = sysfs_mkdir_p(root, "bus/matrix");
	if (!matrix_dev->root_dir || !matrix_dev->bus_dir)
		return -ENOMEM;
	devices = sysfs_mkdir(matrix_dev->bus_dir, "devices", 0755);
	matrix_dev->drv_dir = sysfs_mkdir_p(matrix_dev->bus_dir, "drivers/" VFIO_AP_DRV_NAME);
	dir = sysfs_mkdir(matrix_dev->root_dir, VFIO_AP_DEV_NAME, 0755);
	if (!devices || !matrix_dev->drv_dir || !dir)
		return -ENOMEM;
	snprintf(dev->name, sizeof(dev->name), VFIO_AP_DEV_NAME);
	dev->bus = "matrix";
	dev->sysfs_dir = dir;
	if (!sysfs_add_attr(dir, "features", 0444, &features_ops, matrix_dev) ||
	    !sysfs_add_link(devices, VFIO_AP_DEV_NAME, dir) ||
	    !sysfs_add_link(matrix_dev->drv_dir, VFIO_AP_DEV_NAME, dir) ||
	    !sysfs_add_link(dir, "driver", matrix_dev->drv_dir) ||
	    !sysfs_add_link(dir, "subsystem", matrix_dev->bus_dir))
		return -ENOMEM;
	matrix_dev->matrix_driver.name = VFIO_AP_DRV_NAME;
	matrix_dev->matrix_driver.bus = "matrix";
	matrix_dev->matrix_driver.driver_managed_dma = true;
	matrix_dev->matrix_driver.probe = matrix_probe;
	device_register(matrix_dev->host, dev);
	return device_bind_driver(dev, &matrix_dev->matrix_driver);
}

static void vfio_ap_matrix_dev_destroy(struct ap_matrix_dev *matrix_dev)
{
	if (matrix_dev->device.host) {
		device_unbind_driver(&matrix_dev->device);
		device_unregister(&matrix_dev->device);
	}
	sysfs_remove(matrix_dev->bus_dir);
	sysfs_remove(matrix_dev->root_dir);
}

static void vfio_ap_free(struct ap_matrix_dev *matrix_dev)
{
	uvf_mutex_destroy(&matrix_dev->mdevs_lock);
	uvf_mutex_destroy(&matrix_dev->guests_lock);
	free(matrix_dev);
}

static struct ap_matrix_dev *vfio_ap_alloc(struct uvf_host *h, struct ap_bus *bus)
{
	struct ap_matrix_dev *matrix_dev = calloc(1, sizeof(*matrix_dev));
	struct ap_driver *drv;

	if (!matrix_dev)
		return NULL;
	matrix_dev->host = h;
	matrix_dev->bus = bus;
	uvf_mutex_init(&matrix_dev->mdevs_lock);
	uvf_mutex_init(&matrix_dev->guests_lock);
	list_init(&matrix_dev->mdev_list);
	list_init(&matrix_dev->queues);
	/* PQAP(QCI): the configuration the matrices start from */
	ap_bus_qci_info(bus, &matrix_dev->info);
	drv = &matrix_dev->vfio_ap_drv;
	drv->types = AP_TYPES_CEX4_CEX8;
	drv->probe = vfio_ap_mdev_probe_queue;
	drv->remove = vfio_ap_mdev_remove_queue;
	drv->in_use = vfio_ap_mdev_resource_in_use;
	drv->on_config_changed = vfio_ap_on_cfg_changed;
	drv->on_scan_complete = vfio_ap_on_scan_complete;
	drv->priv = matrix_dev;
	return matrix_dev;
}

void vfio_ap_exit(struct uvf_host *h)
{
	struct ap_matrix_dev *matrix_dev = vfio_ap_matrix_dev(h);

	if (!matrix_dev)
		return;
	vfio_ap_mdev_unregister(matrix_dev);
	if (matrix_dev->ap_drv_registered)
		ap_driver_unregister(matrix_dev->bus, &matrix_dev->vfio_ap_drv);
	vfio_ap_matrix_dev_destroy(matrix_dev);
	h->vfio_ap = NULL;
	vfio_ap_free(matrix_dev);
}

int vfio_ap_init(struct uvf_host *h)
{
	struct ap_bus *bus = ap_bus_get(h);
	struct ap_matrix_dev *matrix_dev;
	int ret;

	/* No AP instructions: nothing to pass through. */
	if (!bus)
		return 0;
	if (h->vfio_ap)
		return -EEXIST;
	matrix_dev = vfio_ap_alloc(h, bus);
	if (!matrix_dev)
		return -ENOMEM;
	h->vfio_ap = matrix_dev;
	ret = vfio_ap_matrix_dev_create(matrix_dev);
	if (!ret) {
		ret = ap_driver_register(bus, &matrix_dev->vfio_ap_drv, VFIO_AP_DRV_NAME);
		matrix_dev->ap_drv_registered = !ret;
	}
	if (!ret)
		ret = vfio_ap_mdev_register(matrix_dev);
	if (ret)
		vfio_ap_exit(h);
	return ret;
}

/* ---- consistent views ------------------------------------------------------------------- */

static unsigned int count_queues(struct ap_matrix_mdev *matrix_mdev)
{
	struct vfio_ap_queue *q;
	unsigned int n = 0;

	list_for_each_entry(q, &matrix_mdev->qtable, mdev_qnode)
		n++;
	return n;
}

static void fill_info(struct ap_matrix_mdev *m, struct vfio_ap_mdev_info *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->uuid, m->mdev->dev.name, sizeof(out->uuid) - 1);	/* a UUID: 36 chars */
	memcpy(out->apm, m->matrix.apm, sizeof(out->apm));
	memcpy(out->aqm, m->matrix.aqm, sizeof(out->aqm));
	memcpy(out->adm, m->matrix.adm, sizeof(out->adm));
	memcpy(out->shadow_apm, m->shadow_apcb.apm, sizeof(out->shadow_apm));
	memcpy(out->shadow_aqm, m->shadow_apcb.aqm, sizeof(out->shadow_aqm));
	memcpy(out->shadow_adm, m->shadow_apcb.adm, sizeof(out->shadow_adm));
	out->attached = m->kvm != NULL;
	out->kvm_id = m->kvm ? m->kvm->id : 0;
	out->queues = count_queues(m);
}

int vfio_ap_mdevs_snapshot(struct uvf_host *h, struct vfio_ap_mdev_info *out, unsigned int max)
{
	struct ap_matrix_dev *matrix_dev = vfio_ap_matrix_dev(h);
	struct ap_matrix_mdev *m;
	int n = 0;

	if (!matrix_dev)
		return -ENODEV;
	uvf_mutex_lock(&matrix_dev->guests_lock);
	uvf_mutex_lock(&matrix_dev->mdevs_lock);
	list_for_each_entry(m, &matrix_dev->mdev_list, node) {
		if ((unsigned int)n < max)
			fill_info(m, &out[n]);
		n++;
	}
	uvf_mutex_unlock(&matrix_dev->mdevs_lock);
	uvf_mutex_unlock(&matrix_dev->guests_lock);
	return n;
}

static int violation(char *why, size_t len, const char *fmt, ...) UVF_PRINTF(3, 4);

static int violation(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (why && len)
		vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* No APQN in two matrices, none reserved for the default drivers. */
static int check_assignments(struct ap_matrix_dev *matrix_dev, struct ap_matrix_mdev *m,
			     char *why, size_t len)
{
	unsigned long apm[AP_MASK_LONGS], aqm[AP_MASK_LONGS];
	struct ap_matrix_mdev *o;

	if (ap_apqn_in_matrix_owned_by_def_drv(matrix_dev->bus, m->matrix.apm, m->matrix.aqm))
		return violation(why, len, "%s: an assigned APQN is reserved for the default drivers",
				 m->mdev->dev.name);
	for (o = list_entry(m->node.next, struct ap_matrix_mdev, node);
	     &o->node != &matrix_dev->mdev_list;
	     o = list_entry(o->node.next, struct ap_matrix_mdev, node)) {
		if (vfio_ap_mask_and(apm, m->matrix.apm, o->matrix.apm) &&
		    vfio_ap_mask_and(aqm, m->matrix.aqm, o->matrix.aqm))
			return violation(why, len, "APQN %02lx.%04lx assigned to %s and %s",
					 find_next_bit_inv(apm, AP_DEVICES, 0),
					 find_next_bit_inv(aqm, AP_DOMAINS, 0), m->mdev->dev.name,
					 o->mdev->dev.name);
	}
	return 0;
}

/* The shadow is the matrix filtered: within matrix and configuration,
 * every APQN a queue bound to vfio_ap and linked to this mdev. */
static int check_shadow(struct ap_matrix_dev *matrix_dev, struct ap_matrix_mdev *m, char *why,
			size_t len)
{
	const struct ap_matrix *s = &m->shadow_apcb;
	unsigned long extra[AP_MASK_LONGS], apid, apqi;
	struct vfio_ap_queue *q;

	if (vfio_ap_mask_andnot(extra, s->apm, m->matrix.apm) ||
	    vfio_ap_mask_andnot(extra, s->aqm, m->matrix.aqm) ||
	    vfio_ap_mask_andnot(extra, s->adm, m->matrix.adm) ||
	    vfio_ap_mask_andnot(extra, s->apm, matrix_dev->info.apm) ||
	    vfio_ap_mask_andnot(extra, s->aqm, matrix_dev->info.aqm) ||
	    vfio_ap_mask_andnot(extra, s->adm, matrix_dev->info.adm))
		return violation(why, len, "%s: the shadow APCB is not within matrix and config",
				 m->mdev->dev.name);
	for_each_set_bit_inv(apid, s->apm, AP_DEVICES) {
		for_each_set_bit_inv(apqi, s->aqm, AP_DOMAINS) {
			q = vfio_ap_mdev_get_queue(m, (int)AP_MKQID(apid, apqi));
			if (!q || q->matrix_mdev != m)
				return violation(why, len, "%s: %02lx.%04lx in the shadow APCB is not a queue of the mdev",
						 m->mdev->dev.name, apid, apqi);
		}
	}
	return 0;
}

/* An attached VM has the hook and exactly the shadow as its APCB. */
static int check_guest(struct ap_matrix_mdev *m, char *why, size_t len)
{
	unsigned long kapm[AP_MASK_LONGS], kaqm[AP_MASK_LONGS], kadm[AP_MASK_LONGS];
	unsigned long apm[AP_MASK_LONGS], aqm[AP_MASK_LONGS], adm[AP_MASK_LONGS];

	if (!m->kvm)
		return 0;
	/* written only with mdevs_lock held, which we hold */
	if (m->kvm->arch.crypto.pqap_hook != &m->pqap_hook)
		return violation(why, len, "%s: VM %u does not have the mdev's PQAP hook",
				 m->mdev->dev.name, m->kvm->id);
	kvm_s390_crypto_get_masks(m->kvm, kapm, kaqm, kadm);
	vfio_ap_mask_from_kvm(kapm, apm);
	vfio_ap_mask_from_kvm(kaqm, aqm);
	vfio_ap_mask_from_kvm(kadm, adm);
	if (!vfio_ap_mask_equal(apm, m->shadow_apcb.apm) ||
	    !vfio_ap_mask_equal(aqm, m->shadow_apcb.aqm) ||
	    !vfio_ap_mask_equal(adm, m->shadow_apcb.adm))
		return violation(why, len, "%s: the APCB of VM %u is not the shadow APCB",
				 m->mdev->dev.name, m->kvm->id);
	return 0;
}

int vfio_ap_check_invariants(struct uvf_host *h, char *why, size_t len)
{
	struct ap_matrix_dev *matrix_dev = vfio_ap_matrix_dev(h);
	struct ap_matrix_mdev *m;
	int ret = 0;

	if (!matrix_dev)
		return -ENODEV;
	ap_perms_lock(matrix_dev->bus);
	uvf_mutex_lock(&matrix_dev->guests_lock);
	uvf_mutex_lock(&matrix_dev->mdevs_lock);
	list_for_each_entry(m, &matrix_dev->mdev_list, node) {
		ret = check_assignments(matrix_dev, m, why, len);
		if (!ret)
			ret = check_shadow(matrix_dev, m, why, len);
		if (!ret)
			ret = check_guest(m, why, len);
		if (ret)
			break;
	}
	uvf_mutex_unlock(&matrix_dev->mdevs_lock);
	uvf_mutex_unlock(&matrix_dev->guests_lock);
	ap_perms_unlock(matrix_dev->bus);
	return ret;
}
