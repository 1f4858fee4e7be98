// SPDX-License-Identifier: MIT
/*
 * The PCI bus's driver files (drivers/pci/pci-driver.c, drivers/base/bus.c):
 * /sys/bus/pci/drivers/<drv>/{bind,unbind,new_id,remove_id} and
 * /sys/bus/pci/drivers_probe, as management tools use them (driverctl,
 * dpdk-devbind.py: driver_override, then bind or drivers_probe).
 *
 * Matching is pci_match_device()'s: a driver_override naming another
 * driver matches nothing; then the dynamic ids (new_id); then the static
 * table; and a driver_override naming this driver always matches.  vfio-pci's
 * table holds only an override-only entry, so it binds through
 * driver_override or new_id, never by itself.  The placeholder kernel
 * drivers a topology names (ioatdma, snd_hda_intel, ...) stand for drivers
 * whose id tables we do not model: theirs matches exactly the functions the
 * topology bound them to at load (the emulated functions share the test
 * model's ids, so vendor/device pairs would claim them all).
 *
 * An unbind calls the driver's remove, which for vfio-pci waits until the
 * device's users are gone (signalling its REQ interrupt meanwhile), as the
 * kernel's does: the store blocks.  Stores on one device take turns, as
 * under the kernel's device_lock: a bind waiting behind an unbind then
 * binds, and one behind a bind finds the device bound (EBUSY).
 *
 * Locking: pci_host->lock (a leaf) guards the id lists and the devices'
 * 'binding' marks, and with them the bound driver as these stores see it;
 * no driver probe or remove runs under it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pci.h"
#include "../base/compiler.h"
#include "../host/host.h"
#include "../host/device.h"
#include "../sysfs/sysfs.h"

#define PCI_ANY_ID	0xffffffffu

struct pci_id {
	struct list_head link;
	uint32_t vendor, device, subvendor, subdevice, class, class_mask;
	const struct uvf_device *only;	/* a kernel driver's entry: this function */
};

/* One PCI driver's files and ids on this host. */
struct pci_driver_files {
	struct list_head link;		/* in pci_host.drivers */
	struct pci_host *ph;
	const struct uvf_driver *drv;
	struct sysfs_node *dir;
	struct list_head dynids;	/* new_id */
	struct list_head ids;		/* the static table */
};

struct pci_host {
	struct uvf_host *host;
	struct uvf_mutex lock;
	pthread_cond_t binding_done;	/* a device's mark went */
	struct list_head drivers;
	struct list_head binding;	/* devices in a bind/unbind store (struct pci_binding) */
};

struct pci_binding {
	struct list_head link;
	struct uvf_device *dev;
};

/* ---- matching ---------------------------------------------------------------------- */

static bool pci_id_match(const struct pci_id *id, const struct pci_dev *pdev)
{
	const struct pci_model_desc *d = &pdev->desc;

	if (id->only)
		return id->only == &pdev->dev;
	return (id->vendor == PCI_ANY_ID || id->vendor == d->vendor) &&
	       (id->device == PCI_ANY_ID || id->device == d->device) &&
	       (id->subvendor == PCI_ANY_ID || id->subvendor == d->subsystem_vendor) &&
	       (id->subdevice == PCI_ANY_ID || id->subdevice == d->subsystem_device) &&
	       !((id->class ^ d->class_code) & id->class_mask);
}

static bool pci_ids_match(const struct list_head *ids, const struct pci_dev *pdev)
{
	const struct pci_id *id;

	list_for_each_entry(id, ids, link)
		if (pci_id_match(id, pdev))
			return true;
	return false;
}

/* pci_match_device(), under ph->lock */
static bool pci_driver_matches(const struct pci_driver_files *df, struct pci_dev *pdev)
{
	const char *override = pdev->dev.driver_override;

	if (override[0] && strcmp(override, df->drv->name))
		return false;
	return pci_ids_match(&df->dynids, pdev) || pci_ids_match(&df->ids, pdev) ||
	       override[0];
}

/* ---- binding ----------------------------------------------------------------------- */

static bool pci_binding_busy(struct pci_host *ph, const struct uvf_device *dev)
{
	struct pci_binding *o;

	list_for_each_entry(o, &ph->binding, link)
		if (o->dev == dev)
			return true;
	return false;
}

/* device_lock(): mark dev as in a bind/unbind store, waiting for another
 * store's turn to end.  ph->lock held (dropped while waiting). */
static void pci_binding_begin(struct pci_host *ph, struct uvf_device *dev,
			      struct pci_binding *b)
{
	while (pci_binding_busy(ph, dev))
		pthread_cond_wait(&ph->binding_done, &ph->lock.m);
	b->dev = dev;
	list_add(&b->link, &ph->binding);
}

static void pci_binding_end(struct pci_host *ph, struct pci_binding *b)
{
	uvf_mutex_lock(&ph->lock);
	list_del_init(&b->link);
	pthread_cond_broadcast(&ph->binding_done);
	uvf_mutex_unlock(&ph->lock);
}

/* The device named by a store (one trailing newline allowed), or NULL. */
static struct uvf_device *pci_store_device(struct uvf_host *h, const char *buf, size_t len)
{
	char name[64];

	if (len && buf[len - 1] == '\n')
		len--;
	if (!len || len >= sizeof(name))
		return NULL;
	memcpy(name, buf, len);
	name[len] = '\0';
	return device_find(h, "pci", name);
}

/* device_driver_attach(): 0, -EBUSY (bound or busy), or the probe's error. */
static int pci_attach(struct pci_driver_files *df, struct uvf_device *dev, bool must_match)
{
	struct pci_host *ph = df->ph;
	struct pci_binding b;
	int ret;

	uvf_mutex_lock(&ph->lock);
	if (must_match && !pci_driver_matches(df, to_pci_dev(dev))) {
		uvf_mutex_unlock(&ph->lock);
		return -ENODEV;
	}
	pci_binding_begin(ph, dev, &b);
	uvf_mutex_unlock(&ph->lock);
	ret = dev->driver ? -EBUSY : device_bind_driver(dev, df->drv);
	pci_binding_end(ph, &b);
	return ret;
}

static ssize_t bind_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	struct pci_driver_files *df = sysfs_priv(attr);
	struct uvf_device *dev = pci_store_device(df->ph->host, buf, len);
	int ret = dev ? pci_attach(df, dev, true) : -ENODEV;

	return ret ? ret : (ssize_t)len;
}

static ssize_t unbind_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	struct pci_driver_files *df = sysfs_priv(attr);
	struct pci_host *ph = df->ph;
	struct uvf_device *dev = pci_store_device(ph->host, buf, len);
	struct pci_binding b;
	int ret;

	if (!dev)
		return -ENODEV;
	uvf_mutex_lock(&ph->lock);
	pci_binding_begin(ph, dev, &b);
	uvf_mutex_unlock(&ph->lock);
	/* unbind_store: a device not bound to this driver is ENODEV */
	ret = dev->driver == df->drv ? 0 : -ENODEV;
	if (!ret)
		device_unbind_driver(dev);
	pci_binding_end(ph, &b);
	return ret ? ret : (ssize_t)len;
}

/* driver_attach(): every unbound device the driver now matches. */
static void pci_driver_attach(struct pci_driver_files *df)
{
	struct uvf_host *h = df->ph->host;
	struct uvf_device *dev, **devs = NULL;
	size_t n = 0, cap = 0;

	/* PCI functions live as long as the host: probe them outside its lock. */
	uvf_mutex_lock(&h->lock);
	list_for_each_entry(dev, &h->devices, host_link) {
		if (strcmp(dev->bus, "pci"))
			continue;
		if (n == cap) {
			struct uvf_device **more = realloc(devs, (cap = cap ? 2 * cap : 16) *
								sizeof(*devs));
			if (!more)
				break;
			devs = more;
		}
		devs[n++] = dev;
	}
	uvf_mutex_unlock(&h->lock);
	for (size_t i = 0; i < n; i++)
		pci_attach(df, devs[i], true);
	free(devs);
}

/* ---- new_id / remove_id ------------------------------------------------------------- */

/* "vendor device [subvendor subdevice class class_mask [driver_data]]" in hex. */
static int pci_id_parse(const char *buf, size_t len, struct pci_id *id, unsigned long *data,
			int *fields)
{
	char *tmp = strndup(buf, len);	/* a store is at most a page */

	if (!tmp)
		return -ENOMEM;
	*id = (struct pci_id){ .subvendor = PCI_ANY_ID, .subdevice = PCI_ANY_ID };
	*data = 0;
	*fields = sscanf(tmp, "%x %x %x %x %x %x %lx", &id->vendor, &id->device, &id->subvendor,
			 &id->subdevice, &id->class, &id->class_mask, data);
	free(tmp);
	return *fields < 2 ? -EINVAL : 0;
}

static ssize_t new_id_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	struct pci_driver_files *df = sysfs_priv(attr);
	struct pci_host *ph = df->ph;
	struct pci_id parsed, *id;
	unsigned long data;
	int fields, ret = pci_id_parse(buf, len, &parsed, &data, &fields);

	if (ret)
		return ret;
	/* Only driver_data of an existing table entry: ours are all 0. */
	if (data)
		return -EINVAL;
	uvf_mutex_lock(&ph->lock);
	if (fields != 7) {
		/* an id the driver already matches (all of it given or not) */
		struct pci_dev probe = { .desc = { .vendor = (uint16_t)parsed.vendor,
			.device = (uint16_t)parsed.device,
			.subsystem_vendor = (uint16_t)parsed.subvendor,
			.subsystem_device = (uint16_t)parsed.subdevice,
			.class_code = parsed.class } };

		if (pci_ids_match(&df->dynids, &probe) || pci_ids_match(&df->ids, &probe))
			ret = -EEXIST;
	}
	id = ret ? NULL : malloc(sizeof(*id));
	if (!ret && !id)
		ret = -ENOMEM;
	if (id) {
		*id = parsed;
		list_add_tail(&id->link, &df->dynids);
	}
	uvf_mutex_unlock(&ph->lock);
	if (ret)
		return ret;
	pci_driver_attach(df);
	return (ssize_t)len;
}

static ssize_t remove_id_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	struct pci_driver_files *df = sysfs_priv(attr);
	struct pci_host *ph = df->ph;
	struct pci_id parsed, *id, *tmp;
	unsigned long data;
	int fields, ret = pci_id_parse(buf, len, &parsed, &data, &fields);

	if (ret)
		return ret;
	ret = -ENODEV;
	uvf_mutex_lock(&ph->lock);
	/* remove_id_store: what is not given matches anything (class through its mask) */
	list_for_each_entry_safe(id, tmp, &df->dynids, link) {
		if (id->vendor == parsed.vendor && id->device == parsed.device &&
		    (parsed.subvendor == PCI_ANY_ID || id->subvendor == parsed.subvendor) &&
		    (parsed.subdevice == PCI_ANY_ID || id->subdevice == parsed.subdevice) &&
		    !((id->class ^ parsed.class) & parsed.class_mask)) {
			list_del_init(&id->link);
			free(id);
			ret = 0;
			break;
		}
	}
	uvf_mutex_unlock(&ph->lock);
	return ret ? ret : (ssize_t)len;
}

static const struct sysfs_attr_ops bind_ops = { .store = bind_store };
static const struct sysfs_attr_ops unbind_ops = { .store = unbind_store };
static const struct sysfs_attr_ops new_id_ops = { .store = new_id_store };
static const struct sysfs_attr_ops remove_id_ops = { .store = remove_id_store };

static const struct { const char *name; const struct sysfs_attr_ops *ops; } driver_files[] = {
	{ "bind", &bind_ops }, { "unbind", &unbind_ops },
	{ "new_id", &new_id_ops }, { "remove_id", &remove_id_ops },
};

/* ---- drivers_probe ------------------------------------------------------------------ */

/* bus_rescan_devices_helper(): the first driver that matches and binds, if any. */
static ssize_t drivers_probe_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	struct pci_host *ph = sysfs_priv(attr);
	struct uvf_device *dev = pci_store_device(ph->host, buf, len);
	struct pci_driver_files *df;

	if (!dev)
		return -ENODEV;
	/* The list only grows, and entries live as long as the host. */
	list_for_each_entry(df, &ph->drivers, link)
		if (!pci_attach(df, dev, true))
			break;
	return (ssize_t)len;
}

static const struct sysfs_attr_ops drivers_probe_ops = { .store = drivers_probe_store };

/* ---- setup -------------------------------------------------------------------------- */

static struct pci_driver_files *pci_driver_files_find(struct pci_host *ph,
						      const struct uvf_driver *drv)
{
	struct pci_driver_files *df;

	list_for_each_entry(df, &ph->drivers, link)
		if (df->drv == drv)
			return df;
	return NULL;
}

int pci_driver_files_add(struct uvf_host *h, const struct uvf_driver *drv)
{
	struct pci_host *ph = h->pci;
	struct sysfs_node *attrs[ARRAY_SIZE(driver_files)];
	struct pci_driver_files *df;
	char path[96];

	if (pci_driver_files_find(ph, drv))
		return 0;
	df = calloc(1, sizeof(*df));
	if (!df)
		return -ENOMEM;
	df->ph = ph;
	df->drv = drv;
	list_init(&df->dynids);
	list_init(&df->ids);
	snprintf(path, sizeof(path), "bus/pci/drivers/%s", drv->name);
	df->dir = sysfs_mkdir_p(sysfs_root(h->sysfs), path);
	for (size_t i = 0; df->dir && i < ARRAY_SIZE(driver_files); i++) {
		attrs[i] = sysfs_add_attr(df->dir, driver_files[i].name, 0200, driver_files[i].ops,
					  df);
		if (attrs[i])
			continue;
		/* no file may outlive df */
		while (i--)
			sysfs_remove(attrs[i]);
		df->dir = NULL;
	}
	if (!df->dir) {
		free(df);
		return -ENOMEM;
	}
	uvf_mutex_lock(&ph->lock);
	list_add_tail(&df->link, &ph->drivers);
	uvf_mutex_unlock(&ph->lock);
	return 0;
}

int pci_driver_add_static_id(struct uvf_host *h, const struct uvf_driver *drv,
			     const struct pci_dev *pdev)
{
	struct pci_driver_files *df = pci_driver_files_find(h->pci, drv);
	struct pci_id *id;

	if (!df)
		return -ENOENT;
	if (pci_ids_match(&df->ids, pdev))
		return 0;
	id = calloc(1, sizeof(*id));
	if (!id)
		return -ENOMEM;
	id->only = &pdev->dev;
	list_add_tail(&id->link, &df->ids);
	return 0;
}

int pci_driver_core_init(struct uvf_host *h)
{
	struct pci_host *ph = calloc(1, sizeof(*ph));

	if (!ph)
		return -ENOMEM;
	ph->host = h;
	uvf_mutex_init(&ph->lock);
	pthread_cond_init(&ph->binding_done, NULL);
	list_init(&ph->drivers);
	list_init(&ph->binding);
	h->pci = ph;
	if (!sysfs_add_attr(sysfs_mkdir_p(sysfs_root(h->sysfs), "bus/pci"), "drivers_probe",
			    0200, &drivers_probe_ops, ph))
		return -ENOMEM;
	return 0;
}

static void pci_ids_free(struct list_head *ids)
{
	struct pci_id *id, *tmp;

	list_for_each_entry_safe(id, tmp, ids, link)
		free(id);
}

void pci_driver_core_exit(struct uvf_host *h)
{
	struct pci_host *ph = h->pci;
	struct pci_driver_files *df, *tmp;

	if (!ph)
		return;
	list_for_each_entry_safe(df, tmp, &ph->drivers, link) {
		pci_ids_free(&df->dynids);
		pci_ids_free(&df->ids);
		free(df);
	}
	pthread_cond_destroy(&ph->binding_done);
	uvf_mutex_destroy(&ph->lock);
	free(ph);
	h->pci = NULL;
}
