// SPDX-License-Identifier: MIT
/*
 * The DMA API of device models: reads and writes at IOVAs through the
 * domain attached to the device's IOMMU group, as the device's requests go
 * through the IOMMU.
 *
 * Every access holds the group's dma_lock for reading from the domain
 * lookup to the last byte copied, so a domain change (which takes it for
 * writing) waits for accesses in flight and the old domain's io page table
 * may be torn down as soon as the change returns.  A device without a
 * translating domain gets -EPERM; an IOVA its domain does not map (or maps
 * without the needed permission) gets -EFAULT.  Nothing here can crash the
 * host: every byte goes through the io page table's checked copies.
 */
#include <errno.h>
#include <string.h>
#include "iommu.h"
#include "../host/device.h"
#include "../iommufd/io_pagetable.h"

static void dma_fault_set(struct uvf_dma_fault *fault, uint64_t iova, bool write, int error)
{
	if (!fault)
		return;
	fault->iova = iova;
	fault->write = write;
	fault->error = error;
}

/*
 * Hold off domain changes of the device's group (if it has one) and return
 * the io page table its domain translates through, or NULL if it has no
 * translating domain.  dma_end() releases in both cases.
 */
static struct io_pagetable *dma_begin(struct uvf_device *dev, struct iommu_group **gp)
{
	struct iommu_group *g = dev->iommu_group;

	*gp = g;
	if (!g)
		return NULL;
	uvf_read_lock(&g->dma_lock);
	if (!g->domain || g->domain->type != IOMMU_DOMAIN_PAGING)
		return NULL;
	return g->domain->iopt;
}

static void dma_end(struct iommu_group *g)
{
	if (g)
		uvf_rw_unlock(&g->dma_lock);
}

static int dma_rw(struct uvf_device *dev, uint64_t iova, void *buf, size_t len,
		  bool write, struct uvf_dma_fault *fault)
{
	struct iommu_group *g;
	struct io_pagetable *iopt = dma_begin(dev, &g);
	uint64_t fault_iova = iova;
	int ret;

	if (!iopt)
		ret = -EPERM;
	else if (!len)
		ret = 0;
	else
		ret = iopt_rw(iopt, iova, buf, len, write, &fault_iova);
	dma_end(g);
	if (ret == -EFAULT || ret == -EPERM)
		dma_fault_set(fault, fault_iova, write, ret);
	return ret;
}

int dma_read(struct uvf_device *dev, uint64_t iova, void *buf, size_t len,
	     struct uvf_dma_fault *fault)
{
	return dma_rw(dev, iova, buf, len, false, fault);
}

int dma_write(struct uvf_device *dev, uint64_t iova, const void *buf, size_t len,
	      struct uvf_dma_fault *fault)
{
	return dma_rw(dev, iova, (void *)buf, len, true, fault);
}

/* Translate [iova, iova+len) to one host pointer; iopt read lock held. */
static int dma_map_locked(struct io_pagetable *iopt, uint64_t iova, size_t len, bool write,
			  struct uvf_dma_map *map)
{
	struct iopt_xlate x;
	void *ptr;
	int ret;

	ret = iopt_translate(iopt, iova, len, write ? IOPT_WRITE : IOPT_READ, &x);
	if (ret)
		return ret;
	if (x.len < len)
		return -EOPNOTSUPP;	/* not contiguous: use dma_read/dma_write */
	ptr = memobj_ptr(x.obj, x.off, len);
	if (!ptr)
		return -EOPNOTSUPP;	/* not host-addressable */
	memobj_get(x.obj);
	map->obj = x.obj;
	map->ptr = ptr;
	return 0;
}

int dma_map_direct(struct uvf_device *dev, uint64_t iova, size_t len, bool write,
		   struct uvf_dma_map *map, struct uvf_dma_fault *fault)
{
	struct iommu_group *g;
	struct io_pagetable *iopt = dma_begin(dev, &g);
	int ret;

	memset(map, 0, sizeof(*map));
	if (!iopt) {
		ret = -EPERM;
	} else if (!len) {
		ret = -EINVAL;
	} else {
		uvf_read_lock(&iopt->lock);
		ret = dma_map_locked(iopt, iova, len, write, map);
		uvf_rw_unlock(&iopt->lock);
		if (!ret && write)
			iopt_mark_dirty(iopt, iova, len);
	}
	dma_end(g);
	if (ret) {
		if (ret == -EFAULT || ret == -EPERM)
			dma_fault_set(fault, iova, write, ret);
		return ret;
	}
	map->iova = iova;
	map->len = len;
	map->write = write;
	return 0;
}

void dma_unmap_direct(struct uvf_dma_map *map)
{
	if (!map->obj)
		return;
	memobj_put(map->obj);
	memset(map, 0, sizeof(*map));
}
