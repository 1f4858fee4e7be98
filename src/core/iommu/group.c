// SPDX-License-Identifier: MIT
/*
 * IOMMU groups (drivers/iommu/iommu.c): membership, sysfs, DMA ownership
 * and the domain a group's DMA goes through.
 *
 * Ownership follows the kernel's single owner count: a group is owned when
 * either a user claim (owner_cnt, with its cookie) or a kernel driver's
 * default-domain use (kernel_users) exists.  The iommu_group fields keep
 * the two apart so that the reason stays visible; claimed() is their sum.
 *
 * Locking: host->lock protects the host's group list (leaf); group->lock
 * protects ownership, membership and the domain pointer; a domain change
 * also takes group->dma_lock for writing so that no DMA is mid-flight on the
 * old domain when the change returns (see dma.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "iommu_priv.h"
#include "../host/host.h"
#include "../host/device.h"
#include "../sysfs/sysfs.h"
#include "../base/log.h"

/* Defaults until the host applies the topology's properties; reserved
 * regions are the topology's to declare (groups VFIO allocates for
 * emulated and no-IOMMU devices have none). */
#define IOMMU_DEFAULT_PGSIZES	((1ULL << 12) | (1ULL << 21) | (1ULL << 30))
#define IOMMU_DEFAULT_APERTURE_END ((1ULL << 48) - 1)

/* ---- sysfs: /sys/kernel/iommu_groups/<id> ------------------------------ */

static ssize_t group_type_show(struct sysfs_node *attr, char *buf)
{
	/* The default domain stands for the kernel DMA API's translation. */
	return sysfs_emit(buf, "DMA\n");
}

static ssize_t group_name_show(struct sysfs_node *attr, char *buf)
{
	struct iommu_group *g = sysfs_priv(attr);

	return sysfs_emit(buf, "%s\n", g->name);
}

static int resv_cmp(const void *a, const void *b)
{
	const struct iommu_resv_region *ra = a, *rb = b;

	return ra->start < rb->start ? -1 : ra->start > rb->start;
}

/* One line per region, by address, as iommu_group_show_resv_regions. */
static ssize_t group_resv_show(struct sysfs_node *attr, char *buf)
{
	struct iommu_group *g = sysfs_priv(attr);
	struct iommu_resv_region resv[ARRAY_SIZE(g->resv)];
	unsigned int n;
	ssize_t len = 0;

	uvf_mutex_lock(&g->lock);
	n = uvf_min(g->nresv, (unsigned int)ARRAY_SIZE(g->resv));
	memcpy(resv, g->resv, n * sizeof(resv[0]));
	uvf_mutex_unlock(&g->lock);
	qsort(resv, n, sizeof(resv[0]), resv_cmp);
	for (unsigned int i = 0; i < n; i++)
		len += snprintf(buf + len, SYSFS_PAGE_SIZE - len, "0x%016llx 0x%016llx %s\n",
				(unsigned long long)resv[i].start,
				(unsigned long long)resv[i].last,
				resv[i].relaxable ? "direct-relaxable" : "msi");
	return len;
}

static const struct sysfs_attr_ops group_type_ops = { .show = group_type_show };
static const struct sysfs_attr_ops group_name_ops = { .show = group_name_show };
static const struct sysfs_attr_ops group_resv_ops = { .show = group_resv_show };

static int iommu_group_sysfs_add(struct iommu_group *g)
{
	struct sysfs_node *groups, *dir;
	char name[16];

	if (!g->host->sysfs)
		return 0;
	groups = sysfs_mkdir_p(sysfs_root(g->host->sysfs), "kernel/iommu_groups");
	if (!groups)
		return -ENOMEM;
	snprintf(name, sizeof(name), "%u", g->id);
	dir = sysfs_mkdir(groups, name, 0755);
	if (!dir)
		return -EEXIST;
	if (!sysfs_mkdir(dir, "devices", 0755) ||
	    !sysfs_add_attr(dir, "type", 0444, &group_type_ops, g) ||
	    !sysfs_add_attr(dir, "reserved_regions", 0444, &group_resv_ops, g)) {
		sysfs_remove(dir);
		return -ENOMEM;
	}
	g->sysfs_dir = dir;
	return 0;
}

int iommu_group_set_name(struct iommu_group *g, const char *name)
{
	snprintf(g->name, sizeof(g->name), "%s", name);
	if (!g->sysfs_dir)
		return 0;
	return sysfs_add_attr(g->sysfs_dir, "name", 0444, &group_name_ops, g) ? 0 : -EEXIST;
}

/* The node at 'rel' under dir, referenced, or NULL. */
static struct sysfs_node *sysfs_child(struct uvf_host *h, struct sysfs_node *dir,
				      const char *rel)
{
	char path[512];
	size_t len;

	if (sysfs_path(dir, path, sizeof(path)))
		return NULL;
	len = strlen(path);
	if (snprintf(path + len, sizeof(path) - len, "/%s", rel) >= (int)(sizeof(path) - len))
		return NULL;
	return sysfs_lookup(h->sysfs, path, false);
}

static void iommu_group_sysfs_link(struct iommu_group *g, struct uvf_device *dev)
{
	struct sysfs_node *devices;

	if (!g->sysfs_dir || !dev->sysfs_dir)
		return;
	devices = sysfs_child(g->host, g->sysfs_dir, "devices");
	if (!devices || !sysfs_add_link(devices, dev->name, dev->sysfs_dir) ||
	    !sysfs_add_link(dev->sysfs_dir, "iommu_group", g->sysfs_dir))
		uvf_warn("iommu", "group %u: cannot link %s in sysfs", g->id, dev->name);
	sysfs_put(devices);
}

static void sysfs_remove_child(struct uvf_host *h, struct sysfs_node *dir, const char *rel)
{
	struct sysfs_node *n = sysfs_child(h, dir, rel);

	sysfs_remove(n);
	sysfs_put(n);
}

static void iommu_group_sysfs_unlink(struct iommu_group *g, struct uvf_device *dev)
{
	char rel[96];

	if (!g->sysfs_dir || !dev->sysfs_dir)
		return;
	snprintf(rel, sizeof(rel), "devices/%s", dev->name);
	sysfs_remove_child(g->host, g->sysfs_dir, rel);
	sysfs_remove_child(g->host, dev->sysfs_dir, "iommu_group");
}

/* ---- group objects ------------------------------------------------------ */

/* The group holding 'id', dying ones included (the id is not free yet). */
static struct iommu_group *iommu_group_find_locked(struct uvf_host *h, unsigned int id)
{
	struct iommu_group *g;

	list_for_each_entry(g, &h->groups, link)
		if (g->id == id)
			return g;
	return NULL;
}

static void iommu_group_free(struct iommu_group *g)
{
	if (g->domain)
		iommu_domain_detach_user(g->domain);
	iommu_domain_put(g->default_domain);
	iommu_domain_put(g->blocking_domain);
	uvf_rwlock_destroy(&g->dma_lock);
	uvf_mutex_destroy(&g->lock);
	free(g);
}

static struct iommu_group *iommu_group_create(struct uvf_host *h, unsigned int id)
{
	struct iommu_group *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	uvf_ref_init(&g->ref);
	uvf_mutex_init(&g->lock);
	uvf_rwlock_init(&g->dma_lock);
	list_init(&g->devices);
	list_init(&g->link);
	g->host = h;
	g->id = id;
	g->cache_coherent = true;
	g->msi_isolated = true;
	g->pgsize_bitmap = IOMMU_DEFAULT_PGSIZES;
	g->aperture_end = IOMMU_DEFAULT_APERTURE_END;
	g->default_domain = iommu_domain_alloc_identity();
	g->blocking_domain = iommu_domain_alloc_blocked();
	if (!g->default_domain || !g->blocking_domain ||
	    iommu_domain_attach_user(g->default_domain)) {
		iommu_group_free(g);
		return NULL;
	}
	g->domain = g->default_domain;
	return g;
}

/* Insert a new group with 'id' unless the id is taken; under host->lock. */
static struct iommu_group *iommu_group_insert_locked(struct uvf_host *h, unsigned int id)
{
	struct iommu_group *g;

	if (iommu_group_find_locked(h, id)) {
		errno = EEXIST;
		return NULL;
	}
	g = iommu_group_create(h, id);
	if (g)
		list_add_tail(&g->link, &h->groups);
	return g;
}

static struct iommu_group *iommu_group_publish(struct iommu_group *g)
{
	if (g && iommu_group_sysfs_add(g)) {
		iommu_group_put(g);
		return NULL;
	}
	return g;
}

struct iommu_group *iommu_group_new(struct uvf_host *h, unsigned int id)
{
	struct iommu_group *g;

	uvf_mutex_lock(&h->lock);
	g = iommu_group_insert_locked(h, id);
	uvf_mutex_unlock(&h->lock);
	return iommu_group_publish(g);
}

struct iommu_group *iommu_group_alloc(struct uvf_host *h)
{
	struct iommu_group *g;
	unsigned int id = 0;

	uvf_mutex_lock(&h->lock);
	while (iommu_group_find_locked(h, id))
		id++;
	g = iommu_group_insert_locked(h, id);
	uvf_mutex_unlock(&h->lock);
	return iommu_group_publish(g);
}

struct iommu_group *iommu_group_find(struct uvf_host *h, unsigned int id)
{
	struct iommu_group *g;

	uvf_mutex_lock(&h->lock);
	g = iommu_group_find_locked(h, id);
	if (g && !uvf_ref_read(&g->ref))
		g = NULL;
	uvf_mutex_unlock(&h->lock);
	return g;
}

void iommu_group_get(struct iommu_group *g)
{
	uvf_ref_get(&g->ref);
}

void iommu_group_put(struct iommu_group *g)
{
	struct uvf_host *h;

	if (!g || !uvf_ref_put(&g->ref))
		return;
	h = g->host;
	/* The id is free again only once its sysfs name is. */
	if (g->sysfs_dir)
		sysfs_remove(g->sysfs_dir);
	uvf_mutex_lock(&h->lock);
	list_del_init(&g->link);
	uvf_mutex_unlock(&h->lock);
	if (g->ndevices || g->owner_cnt || g->kernel_users)
		uvf_warn("iommu", "group %u freed while in use", g->id);
	iommu_group_free(g);
}

int iommu_group_add_device(struct iommu_group *g, struct uvf_device *dev)
{
	if (dev->iommu_group)
		return -EBUSY;
	iommu_group_get(g);
	uvf_mutex_lock(&g->lock);
	list_add_tail(&dev->group_link, &g->devices);
	g->ndevices++;
	dev->iommu_group = g;
	uvf_mutex_unlock(&g->lock);
	iommu_group_sysfs_link(g, dev);
	return 0;
}

void iommu_group_remove_device(struct uvf_device *dev)
{
	struct iommu_group *g = dev->iommu_group;

	if (!g)
		return;
	iommu_group_sysfs_unlink(g, dev);
	uvf_mutex_lock(&g->lock);
	list_del_init(&dev->group_link);
	g->ndevices--;
	dev->iommu_group = NULL;
	uvf_mutex_unlock(&g->lock);
	iommu_group_put(g);
}

/* ---- domains of a group ------------------------------------------------- */

/* Switch g to d; g->lock held.  The old domain's pins go only after the
 * new one's are in place, so a failure leaves everything as it was. */
static int __iommu_group_set_domain(struct iommu_group *g, struct iommu_domain *d)
{
	struct iommu_domain *old = g->domain;
	int ret;

	if (old == d)
		return 0;
	ret = iommu_domain_attach_user(d);
	if (ret)
		return ret;
	uvf_write_lock(&g->dma_lock);
	g->domain = d;
	uvf_rw_unlock(&g->dma_lock);
	if (old)
		iommu_domain_detach_user(old);
	return 0;
}

/* The domain a group returns to when a user domain goes: blocking while
 * user-owned, the default domain otherwise (__iommu_group_set_core_domain). */
static void __iommu_group_set_core_domain(struct iommu_group *g)
{
	struct iommu_domain *core = g->owner ? g->blocking_domain : g->default_domain;

	/* Identity and blocking domains pin nothing: this cannot fail. */
	if (__iommu_group_set_domain(g, core))
		uvf_err("iommu", "group %u: cannot return to its core domain", g->id);
}

int iommu_attach_group(struct iommu_domain *d, struct iommu_group *g)
{
	int ret;

	if (!d || d->type != IOMMU_DOMAIN_PAGING)
		return -EINVAL;
	uvf_mutex_lock(&g->lock);
	if (g->domain != g->default_domain && g->domain != g->blocking_domain)
		ret = -EBUSY;
	else
		ret = __iommu_group_set_domain(g, d);
	uvf_mutex_unlock(&g->lock);
	return ret;
}

void iommu_detach_group(struct iommu_domain *d, struct iommu_group *g)
{
	uvf_mutex_lock(&g->lock);
	if (g->domain == d)
		__iommu_group_set_core_domain(g);
	uvf_mutex_unlock(&g->lock);
}

/* ---- DMA ownership ------------------------------------------------------ */

static bool iommu_group_owned(const struct iommu_group *g)
{
	return g->owner_cnt || g->kernel_users;
}

/* Move to the blocking domain and record the owner; g->lock held. */
static int __iommu_take_dma_ownership(struct iommu_group *g, void *owner)
{
	int ret;

	if (g->domain != g->default_domain)
		return -EBUSY;
	ret = __iommu_group_set_domain(g, g->blocking_domain);
	if (ret)
		return ret;
	g->owner = owner;
	g->owner_cnt++;
	return 0;
}

static void __iommu_release_dma_ownership(struct iommu_group *g)
{
	if (!g->owner_cnt || !g->owner) {
		uvf_warn("iommu", "group %u: release of unclaimed ownership", g->id);
		return;
	}
	g->owner_cnt = 0;
	g->owner = NULL;
	__iommu_group_set_core_domain(g);
}

int iommu_group_claim_dma_owner(struct iommu_group *g, void *owner)
{
	int ret;

	if (!owner)
		return -EINVAL;
	uvf_mutex_lock(&g->lock);
	if (iommu_group_owned(g))
		ret = -EPERM;
	else
		ret = __iommu_take_dma_ownership(g, owner);
	uvf_mutex_unlock(&g->lock);
	return ret;
}

void iommu_group_release_dma_owner(struct iommu_group *g)
{
	uvf_mutex_lock(&g->lock);
	__iommu_release_dma_ownership(g);
	uvf_mutex_unlock(&g->lock);
}

bool device_iommu_capable(const struct uvf_device *dev, enum iommu_cap cap)
{
	const struct iommu_group *g = dev->iommu_group;

	if (!g || !g->cache_coherent)
		return false;
	return cap == IOMMU_CAP_CACHE_COHERENCY || !dev->no_enforce_cache_coherency;
}

bool iommu_group_enforce_cache_coherency(struct iommu_group *g)
{
	struct uvf_device *dev;
	bool ret = g->cache_coherent;

	uvf_mutex_lock(&g->lock);
	list_for_each_entry(dev, &g->devices, group_link)
		ret &= !dev->no_enforce_cache_coherency;
	uvf_mutex_unlock(&g->lock);
	return ret;
}

bool iommu_group_dma_owner_claimed(struct iommu_group *g)
{
	bool owned;

	uvf_mutex_lock(&g->lock);
	owned = iommu_group_owned(g);
	uvf_mutex_unlock(&g->lock);
	return owned;
}

int iommu_device_claim_dma_owner(struct uvf_device *dev, void *owner)
{
	struct iommu_group *g = dev->iommu_group;
	int ret = 0;

	if (!owner)
		return -EINVAL;
	if (!g)
		return -ENODEV;
	uvf_mutex_lock(&g->lock);
	if (!iommu_group_owned(g))
		ret = __iommu_take_dma_ownership(g, owner);
	else if (g->owner != owner)
		ret = -EPERM;
	else
		g->owner_cnt++;
	if (!ret)
		dev->user_owner_cnt++;
	uvf_mutex_unlock(&g->lock);
	return ret;
}

void iommu_device_release_dma_owner(struct uvf_device *dev)
{
	struct iommu_group *g = dev->iommu_group;

	if (!g)
		return;
	uvf_mutex_lock(&g->lock);
	if (dev->user_owner_cnt)
		dev->user_owner_cnt--;
	if (g->owner_cnt > 1)
		g->owner_cnt--;
	else
		__iommu_release_dma_ownership(g);
	uvf_mutex_unlock(&g->lock);
}

int iommu_device_use_default_domain(struct uvf_device *dev)
{
	struct iommu_group *g = dev->iommu_group;
	int ret = 0;

	if (!g)
		return 0;
	uvf_mutex_lock(&g->lock);
	if (iommu_group_owned(g) && (g->domain != g->default_domain || g->owner))
		ret = -EBUSY;
	else
		g->kernel_users++;
	uvf_mutex_unlock(&g->lock);
	return ret;
}

void iommu_device_unuse_default_domain(struct uvf_device *dev)
{
	struct iommu_group *g = dev->iommu_group;

	if (!g)
		return;
	uvf_mutex_lock(&g->lock);
	if (g->kernel_users)
		g->kernel_users--;
	else
		uvf_warn("iommu", "group %u: unbalanced default-domain user", g->id);
	uvf_mutex_unlock(&g->lock);
}
