// SPDX-License-Identifier: MIT
/*
 * Module parameters in sysfs (kernel/params.c): each parameter is an
 * attribute whose show and store are the parameter type's get and set.
 * Modes are the kernel's: a parameter declared 0444 cannot be written by
 * anyone, as sysfs refuses the open.
 *
 * Parameters are read by other layers without a lock, as the kernel reads
 * its module variables; show and store use atomic accesses so a change is
 * seen whole.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include "modules.h"
#include "host.h"
#include "../base/compiler.h"
#include "../sysfs/sysfs.h"

/* bool parameters: param_get_bool / param_set_bool */
static ssize_t param_bool_show(struct sysfs_node *attr, char *buf)
{
	const bool *val = sysfs_priv(attr);

	return sysfs_emit(buf, "%c\n", __atomic_load_n(val, __ATOMIC_RELAXED) ? 'Y' : 'N');
}

static ssize_t param_bool_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	bool *val = sysfs_priv(attr);
	bool v;
	int ret = kstrtobool(buf, &v);

	if (ret)
		return ret;
	__atomic_store_n(val, v, __ATOMIC_RELAXED);
	return len;
}

static const struct sysfs_attr_ops param_bool_ops = {
	.show = param_bool_show,
	.store = param_bool_store,
};

/* uint parameters: param_get_uint / param_set_uint (base 0) */
static ssize_t param_uint_show(struct sysfs_node *attr, char *buf)
{
	const uint32_t *val = sysfs_priv(attr);

	return sysfs_emit(buf, "%u\n", __atomic_load_n(val, __ATOMIC_RELAXED));
}

static ssize_t param_uint_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	uint32_t *val = sysfs_priv(attr);
	unsigned int v;
	int ret = kstrtouint(buf, 0, &v);

	if (ret)
		return ret;
	__atomic_store_n(val, v, __ATOMIC_RELAXED);
	return len;
}

static const struct sysfs_attr_ops param_uint_ops = {
	.show = param_uint_show,
	.store = param_uint_store,
};

/* Every module here is a loaded module, not built in. */
static ssize_t initstate_show(struct sysfs_node *attr, char *buf)
{
	return sysfs_emit(buf, "live\n");
}

static const struct sysfs_attr_ops initstate_ops = {
	.show = initstate_show,
};

struct module_param_def {
	const char *module;
	const char *name;
	mode_t mode;
	const struct sysfs_attr_ops *ops;
	size_t offset;		/* in struct uvf_host_params */
};

#define PARAM(mod, field, m, type) \
	{ mod, #field, m, &param_##type##_ops, offsetof(struct uvf_host_params, field) }

/* As declared by module_param in drivers/vfio (vfio_pci's 'ids' has mode 0:
 * not in sysfs). */
static const struct module_param_def module_params[] = {
	PARAM("vfio", enable_unsafe_noiommu_mode, 0644, bool),
	PARAM("vfio_iommu_type1", allow_unsafe_interrupts, 0644, bool),
	PARAM("vfio_iommu_type1", disable_hugepages, 0644, bool),
	PARAM("vfio_iommu_type1", dma_entry_limit, 0644, uint),
	PARAM("vfio_pci", nointxmask, 0644, bool),
	PARAM("vfio_pci", disable_vga, 0444, bool),
	PARAM("vfio_pci", disable_idle_d3, 0644, bool),
	PARAM("vfio_pci", enable_sriov, 0644, bool),
	PARAM("vfio_pci", disable_denylist, 0444, bool),
	{ "iommufd", "allow_unsafe_interrupts", 0644, &param_bool_ops,
	  offsetof(struct uvf_host_params, iommufd_allow_unsafe_interrupts) },
};

static const char *const modules[] = { "vfio", "vfio_iommu_type1", "vfio_pci", "vfio_pci_core",
				       "iommufd" };

/* Directories other layers fill; they mkdir_p them too. */
static const char *const skeleton_dirs[] = {
	"class/vfio-dev",
	"kernel/iommu_groups",
	"bus/pci/devices",
	"bus/pci/drivers",
	"devices/pci0000:00",
};

static int module_add_param(struct uvf_host *h, const struct module_param_def *p)
{
	struct sysfs_node *dir;
	char path[96];

	snprintf(path, sizeof(path), "module/%s/parameters", p->module);
	dir = sysfs_mkdir_p(sysfs_root(h->sysfs), path);
	if (!dir)
		return -errno;
	if (!sysfs_add_attr(dir, p->name, p->mode, p->ops, (char *)&h->params + p->offset))
		return -errno;
	return 0;
}

static int module_add(struct uvf_host *h, const char *name)
{
	struct sysfs_node *dir;
	char path[96];

	snprintf(path, sizeof(path), "module/%s", name);
	dir = sysfs_mkdir_p(sysfs_root(h->sysfs), path);
	if (!dir)
		return -errno;
	if (!sysfs_add_attr(dir, "initstate", 0444, &initstate_ops, NULL))
		return -errno;
	return 0;
}

int host_modules_init(struct uvf_host *h)
{
	struct sysfs_node *root = sysfs_root(h->sysfs);
	int ret;

	for (size_t i = 0; i < ARRAY_SIZE(modules); i++) {
		ret = module_add(h, modules[i]);
		if (ret)
			return ret;
	}
	for (size_t i = 0; i < ARRAY_SIZE(module_params); i++) {
		ret = module_add_param(h, &module_params[i]);
		if (ret)
			return ret;
	}
	for (size_t i = 0; i < ARRAY_SIZE(skeleton_dirs); i++)
		if (!sysfs_mkdir_p(root, skeleton_dirs[i]))
			return -errno;
	return 0;
}
