// SPDX-License-Identifier: MIT
/*
 * PCI functions of a host: creation from the topology, the model registry,
 * buses, sysfs (/sys/devices/pci<domain>:00/<bdf> with the kernel's
 * attribute formats, /sys/bus/pci/devices links), and what models call.
 *
 * A function lives from pci_create_device() to pci_destroy_device().  The
 * host creates functions one at a time (topology load, hot-plug), so the
 * bus objects they share are found and made without racing each other.
 *
 * Locking: host->lock for walks of the host's device list (buses);
 * pdev->lock inside config.c/irq.c.  Model callbacks run with no lock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pci.h"
#include "vfio_pci.h"
#include "../base/compiler.h"
#include "../base/log.h"
#include "../host/host.h"
#include "../host/topology.h"
#include "../iommu/iommu.h"
#include "../mm/mm.h"
#include "../sysfs/sysfs.h"
#include "../../models/models.h"

/* Resource flags of the kernel's struct resource, for sysfs 'resource'. */
#define IORESOURCE_MEM		0x00000200
#define IORESOURCE_PREFETCH	0x00002000
#define IORESOURCE_SIZEALIGN	0x00040000
#define IORESOURCE_MEM_64	0x00100000
/* BARs, ROM and the SR-IOV BARs: the lines 'resource' shows for an endpoint. */
#define PCI_BRIDGE_RESOURCES	13

/* ---- model registry ------------------------------------------------------ */

static const struct pci_model *const builtin_models[] = {
	&uvfio_test_model,
	&ioat_model,
};

#define MAX_REGISTERED_MODELS 32
static const struct pci_model *registered_models[MAX_REGISTERED_MODELS];
static unsigned int nr_registered_models;
static pthread_mutex_t models_lock = PTHREAD_MUTEX_INITIALIZER;

static const struct pci_model *model_lookup_locked(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(builtin_models); i++)
		if (!strcmp(builtin_models[i]->name, name))
			return builtin_models[i];
	for (unsigned int i = 0; i < nr_registered_models; i++)
		if (!strcmp(registered_models[i]->name, name))
			return registered_models[i];
	return NULL;
}

int pci_model_register(const struct pci_model *m)
{
	int ret = 0;

	if (!m || !m->name || !m->init)
		return -EINVAL;
	pthread_mutex_lock(&models_lock);
	if (model_lookup_locked(m->name))
		ret = -EEXIST;
	else if (nr_registered_models == MAX_REGISTERED_MODELS)
		ret = -ENOSPC;
	else
		registered_models[nr_registered_models++] = m;
	pthread_mutex_unlock(&models_lock);
	return ret;
}

const struct pci_model *pci_model_find(const char *name)
{
	const struct pci_model *m;

	pthread_mutex_lock(&models_lock);
	m = model_lookup_locked(name);
	pthread_mutex_unlock(&models_lock);
	return m;
}

/* ---- buses --------------------------------------------------------------- */

int pci_bus_for_each_dev(struct pci_bus *bus,
			 int (*fn)(struct pci_dev *pdev, void *arg), void *arg)
{
	struct uvf_host *h = bus->host;
	struct uvf_device *dev;
	int ret = 0;

	uvf_mutex_lock(&h->lock);
	list_for_each_entry(dev, &h->devices, host_link) {
		if (strcmp(dev->bus, "pci") || to_pci_dev(dev)->bus != bus)
			continue;
		ret = fn(to_pci_dev(dev), arg);
		if (ret)
			break;
	}
	uvf_mutex_unlock(&h->lock);
	return ret;
}

static int count_one(struct pci_dev *pdev, void *arg)
{
	(*(unsigned int *)arg)++;
	return 0;
}

unsigned int pci_bus_count_devs(struct pci_bus *bus)
{
	unsigned int n = 0;

	pci_bus_for_each_dev(bus, count_one, &n);
	return n;
}

/* The bus another function of the host already uses, or a new one. */
static struct pci_bus *pci_bus_get(struct uvf_host *h, uint16_t domain, uint8_t number)
{
	struct pci_bus *bus = NULL;
	struct uvf_device *dev;

	uvf_mutex_lock(&h->lock);
	list_for_each_entry(dev, &h->devices, host_link) {
		struct pci_dev *pdev;

		if (strcmp(dev->bus, "pci"))
			continue;
		pdev = to_pci_dev(dev);
		if (pdev->bus->domain == domain && pdev->bus->number == number) {
			bus = pdev->bus;
			bus->refs++;
			break;
		}
	}
	uvf_mutex_unlock(&h->lock);
	if (bus)
		return bus;
	bus = calloc(1, sizeof(*bus));
	if (!bus)
		return NULL;
	bus->host = h;
	bus->refs = 1;
	bus->domain = domain;
	bus->number = number;
	return bus;
}

static void pci_bus_put(struct pci_bus *bus)
{
	struct uvf_host *h = bus->host;
	bool last;

	uvf_mutex_lock(&h->lock);
	last = --bus->refs == 0;
	uvf_mutex_unlock(&h->lock);
	if (last)
		free(bus);
}

/* ---- sysfs attributes ---------------------------------------------------- */

static struct pci_dev *attr_pdev(struct sysfs_node *attr)
{
	return sysfs_priv(attr);
}

#define PCI_ID_ATTR(name, fmt, expr)					\
static ssize_t name##_show(struct sysfs_node *attr, char *buf)		\
{									\
	const struct pci_dev *pdev = attr_pdev(attr);			\
									\
	return sysfs_emit(buf, fmt "\n", expr);				\
}									\
static const struct sysfs_attr_ops name##_ops = { .show = name##_show }

PCI_ID_ATTR(vendor, "0x%04x", pdev->desc.vendor);
PCI_ID_ATTR(device, "0x%04x", pdev->desc.device);
PCI_ID_ATTR(subsystem_vendor, "0x%04x", pdev->desc.subsystem_vendor);
PCI_ID_ATTR(subsystem_device, "0x%04x", pdev->desc.subsystem_device);
PCI_ID_ATTR(class, "0x%06x", pdev->desc.class_code);
PCI_ID_ATTR(revision, "0x%02x", pdev->desc.revision);
PCI_ID_ATTR(irq, "%u", pdev->irq);

/* No NUMA topology: every function reports -1, as on a one-node machine. */
static ssize_t numa_node_show(struct sysfs_node *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", -1);
}

static const struct sysfs_attr_ops numa_node_ops = { .show = numa_node_show };

static ssize_t modalias_show(struct sysfs_node *attr, char *buf)
{
	const struct pci_model_desc *d = &attr_pdev(attr)->desc;

	return sysfs_emit(buf, "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X\n", d->vendor,
			  d->device, d->subsystem_vendor, d->subsystem_device,
			  (d->class_code >> 16) & 0xff, (d->class_code >> 8) & 0xff,
			  d->class_code & 0xff);
}

static const struct sysfs_attr_ops modalias_ops = { .show = modalias_show };

static uint64_t bar_resource_flags(const struct pci_bar_state *b)
{
	uint64_t flags = IORESOURCE_MEM | IORESOURCE_SIZEALIGN | pci_bar_flag_bits(b);

	if (b->flags & PCI_MODEL_BAR_PREFETCH)
		flags |= IORESOURCE_PREFETCH;
	if (b->flags & PCI_MODEL_BAR_MEM64)
		flags |= IORESOURCE_MEM_64;
	return flags;
}

static ssize_t resource_show(struct sysfs_node *attr, char *buf)
{
	const struct pci_dev *pdev = attr_pdev(attr);
	size_t len = 0;

	for (int i = 0; i < PCI_BRIDGE_RESOURCES; i++) {
		const struct pci_bar_state *b = i < PCI_STD_NUM_BARS ? &pdev->bars[i] : NULL;
		uint64_t start = 0, end = 0, flags = 0;

		if (b && b->size) {
			start = b->addr;
			end = b->addr + b->size - 1;
			flags = bar_resource_flags(b);
		}
		len += (size_t)snprintf(buf + len, SYSFS_PAGE_SIZE - len,
					"0x%016llx 0x%016llx 0x%016llx\n",
					(unsigned long long)start, (unsigned long long)end,
					(unsigned long long)flags);
	}
	return (ssize_t)len;
}

static const struct sysfs_attr_ops resource_ops = { .show = resource_show };

/*
 * The function's config bytes.  The sysfs layer serves attributes as text
 * pages (at most 4095 bytes), not binary files, so this shows the 256 bytes
 * of standard config space; the extended space is not visible here.
 */
static ssize_t config_show(struct sysfs_node *attr, char *buf)
{
	struct pci_dev *pdev = attr_pdev(attr);

	uvf_mutex_lock(&pdev->lock);
	memcpy(buf, pdev->cfg, PCI_CFG_SPACE_SIZE);
	uvf_mutex_unlock(&pdev->lock);
	return PCI_CFG_SPACE_SIZE;
}

static const struct sysfs_attr_ops config_ops = { .show = config_show };

static ssize_t driver_override_show(struct sysfs_node *attr, char *buf)
{
	const struct pci_dev *pdev = attr_pdev(attr);

	if (!pdev->dev.driver_override[0])
		return sysfs_emit(buf, "(null)\n");
	return sysfs_emit(buf, "%s\n", pdev->dev.driver_override);
}

/* driver_set_override: up to the first newline; empty clears. */
static ssize_t driver_override_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	struct pci_dev *pdev = attr_pdev(attr);
	size_t n = strcspn(buf, "\n");

	if (n > len)
		n = len;
	if (n >= sizeof(pdev->dev.driver_override))
		return -EINVAL;
	memcpy(pdev->dev.driver_override, buf, n);
	pdev->dev.driver_override[n] = '\0';
	return (ssize_t)len;
}

static const struct sysfs_attr_ops driver_override_ops = {
	.show = driver_override_show,
	.store = driver_override_store,
};

/* reset: writing 1 resets the function (pci_reset_function). */
static ssize_t reset_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	unsigned int val;
	int ret = kstrtouint(buf, 0, &val);

	if (ret)
		return ret;
	if (val != 1)
		return -EINVAL;
	ret = pci_try_reset_function(attr_pdev(attr));
	return ret ? ret : (ssize_t)len;
}

static const struct sysfs_attr_ops reset_ops = { .store = reset_store };

struct pci_attr_def {
	const char *name;
	mode_t mode;
	const struct sysfs_attr_ops *ops;
};

static const struct pci_attr_def pci_attrs[] = {
	{ "vendor", 0444, &vendor_ops },
	{ "device", 0444, &device_ops },
	{ "subsystem_vendor", 0444, &subsystem_vendor_ops },
	{ "subsystem_device", 0444, &subsystem_device_ops },
	{ "class", 0444, &class_ops },
	{ "revision", 0444, &revision_ops },
	{ "irq", 0444, &irq_ops },
	{ "numa_node", 0444, &numa_node_ops },
	{ "modalias", 0444, &modalias_ops },
	{ "resource", 0444, &resource_ops },
	{ "config", 0444, &config_ops },
	{ "driver_override", 0644, &driver_override_ops },
	{ "reset", 0200, &reset_ops },
};

static int pci_sysfs_add(struct pci_dev *pdev)
{
	struct sysfs_node *root = sysfs_root(pdev->dev.host->sysfs);
	struct sysfs_node *parent, *bus_devices;
	char path[64];

	snprintf(path, sizeof(path), "devices/pci%04x:00", pdev->domain);
	parent = sysfs_mkdir_p(root, path);
	bus_devices = sysfs_mkdir_p(root, "bus/pci/devices");
	if (!parent || !bus_devices)
		return -ENOMEM;
	pdev->dev.sysfs_dir = sysfs_mkdir(parent, pdev->dev.name, 0755);
	if (!pdev->dev.sysfs_dir)
		return -errno;
	for (size_t i = 0; i < ARRAY_SIZE(pci_attrs); i++) {
		const struct pci_attr_def *a = &pci_attrs[i];

		/* 'reset' exists where a reset method may: FLR or a bus reset. */
		if (!strcmp(a->name, "reset") && !pci_has_flr(pdev) &&
		    !pci_probe_reset_bus(pdev->bus))
			continue;
		if (!sysfs_add_attr(pdev->dev.sysfs_dir, a->name, a->mode, a->ops, pdev))
			return -errno;
	}
	if (!sysfs_add_link_path(pdev->dev.sysfs_dir, "subsystem", "/bus/pci"))
		return -errno;
	pdev->bus_link = sysfs_add_link(bus_devices, pdev->dev.name, pdev->dev.sysfs_dir);
	return pdev->bus_link ? 0 : -errno;
}

int pci_sysfs_link_driver(struct uvf_device *dev, const char *drvname)
{
	struct pci_dev *pdev = to_pci_dev(dev);
	struct sysfs_node *drvdir;
	char path[96];

	snprintf(path, sizeof(path), "bus/pci/drivers/%s", drvname);
	drvdir = sysfs_mkdir_p(sysfs_root(dev->host->sysfs), path);
	if (!drvdir)
		return -errno;
	pdev->driver_link = sysfs_add_link(dev->sysfs_dir, "driver", drvdir);
	if (!pdev->driver_link)
		return -errno;
	pdev->driver_dev_link = sysfs_add_link(drvdir, dev->name, dev->sysfs_dir);
	if (!pdev->driver_dev_link) {
		int ret = -errno;

		pci_sysfs_unlink_driver(dev);
		return ret;
	}
	return 0;
}

void pci_sysfs_unlink_driver(struct uvf_device *dev)
{
	struct pci_dev *pdev = to_pci_dev(dev);

	sysfs_remove(pdev->driver_dev_link);
	sysfs_remove(pdev->driver_link);
	pdev->driver_dev_link = NULL;
	pdev->driver_link = NULL;
}

/* ---- creation and destruction ------------------------------------------- */

static int parse_bdf(const char *s, uint16_t *domain, uint8_t *bus, uint8_t *devfn)
{
	unsigned int d, b, slot, fn;
	char tail;

	if (sscanf(s, "%4x:%2x:%2x.%1x%c", &d, &b, &slot, &fn, &tail) != 4 ||
	    strlen(s) != 12 || slot > 0x1f || fn > 7)
		return -EINVAL;
	*domain = (uint16_t)d;
	*bus = (uint8_t)b;
	*devfn = (uint8_t)PCI_DEVFN(slot, fn);
	return 0;
}

static int pci_alloc_bars(struct pci_dev *pdev)
{
	for (unsigned int i = 0; i < PCI_STD_NUM_BARS; i++) {
		struct pci_bar_state *b = &pdev->bars[i];
		char name[96];

		if (!b->size || !(b->flags & PCI_MODEL_BAR_MMAP))
			continue;
		snprintf(name, sizeof(name), "uvfio-%s-bar%u", pdev->dev.name, i);
		b->mem = memobj_new_memfd(name, b->size);
		if (!b->mem)
			return -ENOMEM;
	}
	return 0;
}

/* Tear down whatever of pdev exists; the one cleanup path of creation. */
static void pci_dev_release(struct pci_dev *pdev, bool registered)
{
	if (registered)
		device_unregister(&pdev->dev);
	if (pdev->model && pdev->model->destroy)
		pdev->model->destroy(pdev);
	pdev->realized = false;
	iommu_group_remove_device(&pdev->dev);
	sysfs_remove(pdev->bus_link);
	sysfs_remove(pdev->dev.sysfs_dir);
	for (unsigned int i = 0; i < PCI_STD_NUM_BARS; i++)
		memobj_put(pdev->bars[i].mem);
	pci_config_free(pdev);
	if (pdev->bus)
		pci_bus_put(pdev->bus);
	uvf_rwlock_destroy(&pdev->sink_lock);
	uvf_mutex_destroy(&pdev->lock);
	free(pdev);
}

static struct pci_dev *pci_dev_alloc(struct uvf_host *h, const char *bdf, char *err,
				     size_t errlen)
{
	struct pci_dev *pdev;
	uint16_t domain;
	uint8_t bus, devfn;

	if (parse_bdf(bdf, &domain, &bus, &devfn)) {
		snprintf(err, errlen, "bdf '%s' is not dddd:bb:ss.f", bdf);
		return NULL;
	}
	if (device_find(h, "pci", bdf)) {
		snprintf(err, errlen, "bdf '%s' exists twice", bdf);
		return NULL;
	}
	pdev = calloc(1, sizeof(*pdev));
	if (!pdev) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	uvf_mutex_init(&pdev->lock);
	uvf_rwlock_init(&pdev->sink_lock);
	snprintf(pdev->dev.name, sizeof(pdev->dev.name), "%s", bdf);
	pdev->dev.host = h;
	pdev->dev.bus = "pci";
	pdev->dev.bus_data = pdev;
	list_init(&pdev->dev.group_link);
	list_init(&pdev->dev.host_link);
	pdev->domain = domain;
	pdev->busnr = bus;
	pdev->devfn = devfn;
	return pdev;
}

/* Run the model's init and lay the function out from its descriptor. */
static int pci_dev_setup(struct pci_dev *pdev, const struct uvf_topo_pci *t, char *err,
			 size_t errlen)
{
	char why[200] = "";
	int ret;

	pdev->model = pci_model_find(t->model);
	if (!pdev->model) {
		snprintf(err, errlen, "model '%s' is not a known model", t->model);
		return -EINVAL;
	}
	ret = pdev->model->init(pdev, t->params, &pdev->desc, why, sizeof(why));
	if (ret) {
		snprintf(err, errlen, "model '%s': %s", t->model, why[0] ? why : strerror(-ret));
		return ret;
	}
	if (pdev->desc.interrupt_pin)
		pdev->irq = 16 + (PCI_SLOT(pdev->devfn) + pdev->desc.interrupt_pin - 1) % 4;
	ret = pci_config_build(pdev, why, sizeof(why));
	if (ret) {
		snprintf(err, errlen, "model '%s': %s", t->model, why);
		return ret;
	}
	pdev->bus = pci_bus_get(pdev->dev.host, pdev->domain, pdev->busnr);
	ret = pdev->bus ? pci_alloc_bars(pdev) : -ENOMEM;
	if (!ret)
		ret = pci_sysfs_add(pdev);
	if (ret)
		snprintf(err, errlen, "cannot set up %s: %s", pdev->dev.name, strerror(-ret));
	return ret;
}

int pci_create_device(struct uvf_host *h, const struct uvf_topo_pci *t, char *err,
		      size_t errlen)
{
	struct iommu_group *g = iommu_group_find(h, t->iommu_group);
	struct pci_dev *pdev = pci_dev_alloc(h, t->bdf, err, errlen);
	int ret;

	if (!pdev)
		return -EINVAL;
	if (!g) {
		snprintf(err, errlen, "iommu_group %u does not exist", t->iommu_group);
		pci_dev_release(pdev, false);
		return -ENOENT;
	}
	ret = pci_dev_setup(pdev, t, err, errlen);
	if (ret) {
		pci_dev_release(pdev, false);
		return ret;
	}
	/* Registration (re)initialises the group link: join the group after. */
	device_register(h, &pdev->dev);
	ret = iommu_group_add_device(g, &pdev->dev);
	if (ret) {
		snprintf(err, errlen, "cannot add to iommu_group %u", t->iommu_group);
		pci_dev_release(pdev, true);
		return ret;
	}
	pdev->realized = true;
	ret = pdev->model->realize ? pdev->model->realize(pdev) : 0;
	if (ret) {
		snprintf(err, errlen, "model '%s': cannot start: %s", t->model, strerror(-ret));
		pci_dev_release(pdev, true);
	}
	return ret;
}

void pci_destroy_device(struct uvf_device *dev)
{
	pci_dev_release(to_pci_dev(dev), true);
}

int pci_host_init(struct uvf_host *h)
{
	struct sysfs_node *root = sysfs_root(h->sysfs);

	int ret;

	if (!sysfs_mkdir_p(root, "bus/pci/devices"))
		return -ENOMEM;
	ret = pci_driver_core_init(h);
	if (!ret)
		ret = driver_register(h, &vfio_pci_driver);
	return ret ? ret : pci_driver_files_add(h, &vfio_pci_driver);
}

/* ---- what models call ---------------------------------------------------- */

void pci_set_model_data(struct pci_dev *pdev, void *data)
{
	pdev->model_data = data;
}

void *pci_model_data(const struct pci_dev *pdev)
{
	return pdev->model_data;
}

const char *pci_name(const struct pci_dev *pdev)
{
	return pdev->dev.name;
}

struct uvf_device *pci_to_dev(struct pci_dev *pdev)
{
	return &pdev->dev;
}

void *pci_bar_mem(struct pci_dev *pdev, unsigned int bar)
{
	if (bar >= PCI_STD_NUM_BARS || !pdev->bars[bar].mem)
		return NULL;
	return memobj_ptr(pdev->bars[bar].mem, 0, pdev->bars[bar].size);
}

uint64_t pci_bar_size(const struct pci_dev *pdev, unsigned int bar)
{
	return bar < PCI_STD_NUM_BARS ? pdev->bars[bar].size : 0;
}

bool pci_bus_master_enabled(struct pci_dev *pdev)
{
	return pci_cfg_read(pdev, PCI_COMMAND, 2) & PCI_COMMAND_MASTER;
}

bool pci_memory_enabled(struct pci_dev *pdev)
{
	return pci_cfg_read(pdev, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY;
}

uint32_t pci_config_read(struct pci_dev *pdev, unsigned int off, unsigned int len)
{
	return pci_cfg_read(pdev, off, len);
}

int pci_dma_read(struct pci_dev *pdev, uint64_t iova, void *buf, size_t len,
		 struct uvf_dma_fault *fault)
{
	if (!pci_bus_master_enabled(pdev)) {
		if (fault)
			*fault = (struct uvf_dma_fault){ .iova = iova, .error = -EPERM };
		return -EPERM;
	}
	return dma_read(&pdev->dev, iova, buf, len, fault);
}

int pci_dma_write(struct pci_dev *pdev, uint64_t iova, const void *buf, size_t len,
		  struct uvf_dma_fault *fault)
{
	if (!pci_bus_master_enabled(pdev)) {
		if (fault)
			*fault = (struct uvf_dma_fault){ .iova = iova, .write = true,
							 .error = -EPERM };
		return -EPERM;
	}
	return dma_write(&pdev->dev, iova, buf, len, fault);
}
