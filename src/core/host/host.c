// SPDX-License-Identifier: MIT
/*
 * The host: creation, loading a topology, teardown.
 *
 * Loading order matters and mirrors boot: module parameters, IOMMU groups,
 * PCI functions, then driver binding (vfio-pci registers VFIO devices and
 * their group nodes), then owner/mode overrides of the device nodes that
 * now exist.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "host.h"
#include "device.h"
#include "devnode.h"
#include "modules.h"
#include "topology.h"
#include "../sysfs/sysfs.h"
#include "../iommu/iommu.h"
#include "../vfio/vfio.h"
#include "../iommufd/iommufd.h"
#include "../mdev/mdev.h"
#include "../kvm/kvm.h"
#include "../ap/ap_bus.h"
#include "../vfio_ap/vfio_ap.h"
#include "fault_inject.h"
#include "../pci/pci.h"
#include "../pci/vfio_pci.h"

/* A kernel driver named by the topology: it exists only to be bound and to
 * make its device's group non-viable, as a real ahci or snd_hda_intel would. */
struct kernel_driver {
	struct list_head link;
	struct uvf_driver drv;
	char name[32];
};

struct host_priv {
	struct uvf_host host;
	struct list_head kernel_drivers;
};

static int kernel_driver_probe(struct uvf_device *dev)
{
	return pci_sysfs_link_driver(dev, dev->driver->name);
}

static void kernel_driver_remove(struct uvf_device *dev)
{
	pci_sysfs_unlink_driver(dev);
}

static const struct uvf_driver *kernel_driver_get(struct host_priv *hp, const char *name)
{
	struct uvf_host *h = &hp->host;
	const struct uvf_driver *found = driver_find(h, "pci", name);
	struct kernel_driver *kd;

	if (found)
		return found;
	kd = calloc(1, sizeof(*kd));
	if (!kd)
		return NULL;
	snprintf(kd->name, sizeof(kd->name), "%s", name);
	kd->drv.name = kd->name;
	kd->drv.bus = "pci";
	kd->drv.driver_managed_dma = !strcmp(name, "pci-stub");
	kd->drv.probe = kernel_driver_probe;
	kd->drv.remove = kernel_driver_remove;
	if (driver_register(h, &kd->drv)) {
		free(kd);
		return NULL;
	}
	pci_driver_files_add(h, &kd->drv);
	list_add_tail(&kd->link, &hp->kernel_drivers);
	return &kd->drv;
}

struct uvf_host *host_new(void)
{
	struct host_priv *hp = calloc(1, sizeof(*hp));
	struct uvf_host *h;

	if (!hp)
		return NULL;
	h = &hp->host;
	uvf_mutex_init(&h->lock);
	list_init(&h->devnodes);
	list_init(&h->devices);
	list_init(&h->drivers);
	list_init(&h->groups);
	list_init(&hp->kernel_drivers);
	h->params.dma_entry_limit = 65535;
	snprintf(h->name, sizeof(h->name), "uvfio");
	h->sysfs = sysfs_tree_new();
	if (!h->sysfs || host_modules_init(h) || vfio_core_init(h) || pci_host_init(h) ||
	    iommufd_core_init(h) || mdev_core_init(h) || kvm_core_init(h)) {
		host_free(h);
		return NULL;
	}
	return h;
}

static int host_load_groups(struct uvf_host *h, const struct uvf_topology *t,
			    char *err, size_t errlen)
{
	for (unsigned int i = 0; i < t->ngroups; i++) {
		const struct uvf_topo_group *tg = &t->groups[i];
		struct iommu_group *g = iommu_group_new(h, tg->id);

		if (!g) {
			snprintf(err, errlen, "%s: iommu_groups[%u]: cannot create group %u",
				 t->source, i, tg->id);
			return -ENOMEM;
		}
		g->cache_coherent = tg->cache_coherent;
		g->msi_isolated = tg->msi_isolated;
		g->pgsize_bitmap = tg->pgsize_bitmap;
		g->aperture_start = tg->aperture_start;
		g->aperture_end = tg->aperture_end;
		if (tg->has_resv) {
			g->resv[0].start = tg->resv_start;
			g->resv[0].last = tg->resv_last;
			g->nresv = 1;
		}
	}
	return 0;
}

static int host_bind_pci(struct host_priv *hp, const struct uvf_topology *t, unsigned int i,
			 char *err, size_t errlen)
{
	const struct uvf_topo_pci *tp = &t->pci[i];
	struct uvf_host *h = &hp->host;
	const struct uvf_driver *drv;
	struct uvf_device *dev;
	int ret;

	if (!strcmp(tp->driver, "none"))
		return 0;
	dev = device_find(h, "pci", tp->bdf);
	drv = driver_find(h, "pci", tp->driver);
	if (!drv)
		drv = kernel_driver_get(hp, tp->driver);
	if (!dev || !drv) {
		snprintf(err, errlen, "%s: pci[%u].driver: cannot bind '%s'", t->source, i,
			 tp->driver);
		return -ENOMEM;
	}
	ret = device_bind_driver(dev, drv);
	if (ret)
		snprintf(err, errlen, "%s: pci[%u].driver: binding '%s' failed: %s",
			 t->source, i, tp->driver, strerror(-ret));
	/* A kernel driver's id table: the functions it drives at boot. */
	else if (drv != &vfio_pci_driver)
		ret = pci_driver_add_static_id(h, drv, to_pci_dev(dev));
	return ret;
}

static int host_apply_devnodes(struct uvf_host *h, const struct uvf_topology *t,
			       char *err, size_t errlen)
{
	for (unsigned int i = 0; i < t->ndevnodes; i++) {
		const struct uvf_topo_devnode *td = &t->devnodes[i];
		struct uvf_devnode *dn = devnode_find(h, td->path);

		if (!dn) {
			snprintf(err, errlen, "%s: devnodes[%u].path: no device node '%s' on this host",
				 t->source, i, td->path);
			return -ENOENT;
		}
		if (td->has_mode)
			dn->mode = td->mode;
		if (td->has_uid)
			dn->uid = td->uid;
		if (td->has_gid)
			dn->gid = td->gid;
	}
	return 0;
}

int host_load_topology(struct uvf_host *h, const struct uvf_topology *t,
		       char *err, size_t errlen)
{
	struct host_priv *hp = container_of(h, struct host_priv, host);
	int ret;

	snprintf(h->name, sizeof(h->name), "%s", t->name[0] ? t->name : "uvfio");
	h->params = t->params;
	ret = host_load_groups(h, t, err, errlen);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < t->npci; i++) {
		char why[256] = "";

		ret = pci_create_device(h, &t->pci[i], why, sizeof(why));
		if (ret) {
			snprintf(err, errlen, "%s: pci[%u]: %s", t->source, i, why);
			return ret;
		}
		/* What the IOMMU in front of it can do (device_iommu_capable). */
		device_find(h, "pci", t->pci[i].bdf)->no_enforce_cache_coherency =
			!t->pci[i].coherent;
	}
	for (unsigned int i = 0; i < t->npci; i++) {
		ret = host_bind_pci(hp, t, i, err, errlen);
		if (ret)
			return ret;
	}
	if (t->mdev_sample_channels) {
		ret = msample_load(h, t->mdev_sample_channels);
		if (ret) {
			snprintf(err, errlen, "%s: mdev_sample: cannot load: %s", t->source,
				 strerror(-ret));
			return ret;
		}
	}
	if (t->ap.present) {
		char why[256] = "";

		ret = ap_bus_init(h, &t->ap.machine, &t->ap.params, why, sizeof(why));
		if (ret) {
			snprintf(err, errlen, "%s: ap: %s", t->source, why);
			return ret;
		}
		ret = vfio_ap_init(h);
		if (ret) {
			snprintf(err, errlen, "%s: ap: vfio_ap: %s", t->source, strerror(-ret));
			return ret;
		}
	}
	ret = host_fault_inject_init(h);
	if (ret) {
		snprintf(err, errlen, "%s: fault injection: %s", t->source, strerror(-ret));
		return ret;
	}
	return host_apply_devnodes(h, t, err, errlen);
}

static void host_remove_devices(struct uvf_host *h)
{
	while (!list_empty(&h->devices)) {
		struct uvf_device *dev = list_entry(h->devices.prev, struct uvf_device,
						    host_link);

		if (!strcmp(dev->bus, "pci")) {
			pci_destroy_device(dev);
		} else {
			device_unregister(dev);
		}
	}
}

void host_free(struct uvf_host *h)
{
	struct host_priv *hp;
	struct kernel_driver *kd, *tmp;

	if (!h)
		return;
	hp = container_of(h, struct host_priv, host);
	/* vfio_ap is an AP driver: it goes before the bus. */
	vfio_ap_exit(h);
	ap_bus_exit(h);
	/* Parents remove their mdevs before devices go. */
	msample_unload(h);
	host_remove_devices(h);
	while (!list_empty(&h->groups)) {
		struct iommu_group *g = list_first_entry(&h->groups, struct iommu_group, link);

		list_del_init(&g->link);
		iommu_group_put(g);
	}
	if (h->kvm)
		kvm_core_exit(h);
	if (h->mdev)
		mdev_core_exit(h);
	if (h->iommufd)
		iommufd_core_exit(h);
	if (h->vfio)
		vfio_core_exit(h);
	host_drivers_release(h);
	list_for_each_entry_safe(kd, tmp, &hp->kernel_drivers, link)
		free(kd);
	if (h->sysfs)
		sysfs_tree_free(h->sysfs);
	pci_driver_core_exit(h);
	free(h->fault_attrs);
	uvf_mutex_destroy(&h->lock);
	free(hp);
}
