// SPDX-License-Identifier: MIT
/*
 * The VFIO container compatibility of iommufd (drivers/iommu/iommufd/
 * vfio_compat.c): the type1 ioctls on an iommufd (and on /dev/vfio/vfio
 * when iommufd serves it), acting on the context's compat IOAS, plus
 * IOMMU_VFIO_IOAS to get, set or clear that IOAS.
 *
 * Differences from the type1 backend, as the kernel's: CHECK_EXTENSION
 * answers 0 for UPDATE_VADDR and TYPE1_NESTING; SET_IOMMU takes TYPE1 or
 * TYPE1v2 only, TYPE1 turning large pages off so that unmaps may cut
 * mappings; GET_INFO has DMA_AVAIL (U32_MAX) and IOVA_RANGE, no MIGRATION;
 * MAP_DMA takes READ/WRITE only; UNMAP_DMA takes ALL only; DIRTY_PAGES is
 * unknown; every ioctl but the first three is -ENODEV without a compat IOAS.
 *
 * Lock order: ictx->lock (vfio_ioas) is taken alone; the IOAS's locks after.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/vfio.h>
#include "iommufd_private.h"
#include "../iommu/iommu.h"
#include "../host/host.h"
#include "uapi/linux/vfio_cdev.h"

/* A shortterm reference on the compat IOAS, or -ENODEV. */
int iommufd_get_compat_ioas(struct iommufd_ctx *ictx, struct iommufd_ioas **out)
{
	int rc = -ENODEV;

	uvf_mutex_lock(&ictx->lock);
	if (ictx->vfio_ioas && ictx->vfio_ioas->obj.users && ictx->vfio_ioas->obj.finalized) {
		ictx->vfio_ioas->obj.users++;
		ictx->vfio_ioas->obj.shortterm++;
		*out = ictx->vfio_ioas;
		rc = 0;
	}
	uvf_mutex_unlock(&ictx->lock);
	return rc;
}

int iommufd_vfio_compat_ioas_get_id(struct iommufd_ctx *ictx, uint32_t *out_ioas_id)
{
	struct iommufd_ioas *ioas;
	int rc = iommufd_get_compat_ioas(ictx, &ioas);

	if (rc)
		return rc;
	*out_ioas_id = ioas->obj.id;
	iommufd_put_object(ictx, &ioas->obj);
	return 0;
}

int iommufd_vfio_compat_set_no_iommu(struct iommufd_ctx *ictx)
{
	int rc = 0;

	uvf_mutex_lock(&ictx->lock);
	if (ictx->vfio_ioas)
		rc = -EINVAL;
	else
		ictx->no_iommu_mode = true;
	uvf_mutex_unlock(&ictx->lock);
	return rc;
}

/*
 * A group attached through the compat path creates the compat IOAS unless
 * one is set already.  It is then an ordinary user object: userspace may
 * learn its id with VFIO_IOAS GET and destroy it.
 */
int iommufd_vfio_compat_ioas_create(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas;
	int rc;

	rc = iommufd_ioas_alloc(ictx, &ioas);
	if (rc)
		return rc;
	uvf_mutex_lock(&ictx->lock);
	/* VFIO never mixes IOMMU and no-IOMMU groups in one container. */
	if (ictx->no_iommu_mode) {
		rc = -EINVAL;
		goto out_abort;
	}
	if (ictx->vfio_ioas && ictx->vfio_ioas->obj.users)
		goto out_abort;
	ictx->vfio_ioas = ioas;
	uvf_mutex_unlock(&ictx->lock);
	iommufd_object_finalize(ictx, &ioas->obj);
	return 0;

out_abort:
	uvf_mutex_unlock(&ictx->lock);
	iommufd_object_abort_and_destroy(ictx, &ioas->obj);
	return rc;
}

int iommufd_vfio_ioas(struct iommufd_ucmd *ucmd)
{
	struct iommu_vfio_ioas *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_ioas *ioas;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	switch (cmd->op) {
	case IOMMU_VFIO_IOAS_GET:
		rc = iommufd_get_compat_ioas(ictx, &ioas);
		if (rc)
			return rc;
		cmd->ioas_id = ioas->obj.id;
		iommufd_put_object(ictx, &ioas->obj);
		return iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	case IOMMU_VFIO_IOAS_SET:
		rc = iommufd_get_ioas(ictx, cmd->ioas_id, &ioas);
		if (rc)
			return rc;
		uvf_mutex_lock(&ictx->lock);
		ictx->vfio_ioas = ioas;
		uvf_mutex_unlock(&ictx->lock);
		iommufd_put_object(ictx, &ioas->obj);
		return 0;
	case IOMMU_VFIO_IOAS_CLEAR:
		uvf_mutex_lock(&ictx->lock);
		ictx->vfio_ioas = NULL;
		uvf_mutex_unlock(&ictx->lock);
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

/* ---- the type1 ioctls ------------------------------------------------------------------ */

static long iommufd_vfio_map_dma(struct iommufd_ctx *ictx, struct uvf_caller *c, uint64_t arg)
{
	uint32_t supported = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_map, size);
	struct vfio_iommu_type1_dma_map map;
	struct iommufd_ucmd ucmd = { .ictx = ictx, .caller = c };
	struct iommufd_ioas *ioas;
	int prot = 0, rc;
	uint64_t iova;

	if (copy_from_user(c, &map, arg, minsz))
		return -EFAULT;
	if (map.argsz < minsz || (map.flags & ~supported))
		return -EINVAL;
	if (map.flags & VFIO_DMA_MAP_FLAG_READ)
		prot |= IOPT_READ;
	if (map.flags & VFIO_DMA_MAP_FLAG_WRITE)
		prot |= IOPT_WRITE;
	rc = iommufd_get_compat_ioas(ictx, &ioas);
	if (rc)
		return rc;
	/* Legacy maps always use the VFIO-compatible (mm) accounting mode of
	 * the context: the fixed IOVA is the caller's. */
	iova = map.iova;
	rc = iommufd_ioas_map_user(&ucmd, ioas, &iova, map.vaddr, map.size, prot,
				   IOPT_MAP_FIXED);
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

static long iommufd_vfio_unmap_dma(struct iommufd_ctx *ictx, struct uvf_caller *c,
				   uint64_t arg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_dma_unmap, size);
	struct vfio_iommu_type1_dma_unmap unmap;
	struct iommufd_ioas *ioas;
	uint64_t unmapped = 0;
	int rc;

	if (copy_from_user(c, &unmap, arg, minsz))
		return -EFAULT;
	/* GET_DIRTY_BITMAP and VADDR are not offered. */
	if (unmap.argsz < minsz || (unmap.flags & ~VFIO_DMA_UNMAP_FLAG_ALL))
		return -EINVAL;
	rc = iommufd_get_compat_ioas(ictx, &ioas);
	if (rc)
		return rc;
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL) {
		if (unmap.iova || unmap.size) {
			rc = -EINVAL;
			goto out;
		}
		rc = iopt_unmap_all(&ioas->iopt, &unmapped);
	} else {
		/* type1 v1: cut the mappings at both ends of the range first. */
		if (__atomic_load_n(&ioas->iopt.disable_large_pages, __ATOMIC_RELAXED)) {
			uint64_t cuts[] = { unmap.iova + unmap.size - 1, unmap.iova - 1 };

			rc = iopt_cut_iova(&ioas->iopt, cuts, unmap.iova ? 2 : 1);
			if (rc)
				goto out;
		}
		rc = iopt_unmap(&ioas->iopt, unmap.iova, unmap.size, IOPT_UNMAP_IOMMUFD,
				&unmapped);
	}
	unmap.size = unmapped;
	if (copy_to_user(c, arg, &unmap, minsz))
		rc = -EFAULT;
out:
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

/* DMA_CC_IOMMU: 1 only if every domain of the compat IOAS enforces it. */
static long iommufd_vfio_cc_iommu(struct iommufd_ctx *ictx)
{
	struct iommufd_hwpt_paging *hwpt;
	struct iommufd_ioas *ioas;
	long rc = iommufd_get_compat_ioas(ictx, &ioas);

	if (rc)
		return rc;
	rc = 1;
	uvf_mutex_lock(&ioas->mutex);
	list_for_each_entry(hwpt, &ioas->hwpt_list, hwpt_item)
		if (!hwpt->enforce_cache_coherency)
			rc = 0;
	uvf_mutex_unlock(&ioas->mutex);
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

static long iommufd_vfio_check_extension(struct iommufd_ctx *ictx, unsigned long type)
{
	switch (type) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_UNMAP_ALL:
		return !ictx->no_iommu_mode;
	case VFIO_NOIOMMU_IOMMU:
		return ictx->core->host->params.enable_unsafe_noiommu_mode;
	case VFIO_DMA_CC_IOMMU:
		return iommufd_vfio_cc_iommu(ictx);
	default:
		/* Also UPDATE_VADDR (not safe here) and the old NESTING. */
		return 0;
	}
}

static long iommufd_vfio_set_iommu(struct iommufd_ctx *ictx, struct uvf_caller *c,
				   unsigned long type)
{
	struct iommufd_ioas *ioas;
	int rc = 0;

	if (type == VFIO_NOIOMMU_IOMMU && ictx->no_iommu_mode &&
	    ictx->core->host->params.enable_unsafe_noiommu_mode)
		return capable(c, UVF_CAP_SYS_RAWIO) ? 0 : -EPERM;
	if ((type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU) || ictx->no_iommu_mode)
		return -EINVAL;
	/* VFIO fails SET_IOMMU without a group. */
	rc = iommufd_get_compat_ioas(ictx, &ioas);
	if (rc)
		return rc;
	/* v1 may unmap inside mappings: no IOPTE may be larger than a page. */
	if (type == VFIO_TYPE1_IOMMU)
		rc = iommufd_ioas_disable_large_pages(ioas);
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

/* The page sizes of every domain; below a page shows as a page. */
static uint64_t iommufd_get_pagesizes(struct iommufd_ioas *ioas)
{
	uint64_t pgsizes = UINT64_MAX;
	struct iommufd_hwpt_paging *hwpt;

	uvf_mutex_lock(&ioas->mutex);
	list_for_each_entry(hwpt, &ioas->hwpt_list, hwpt_item)
		pgsizes &= hwpt->common.domain->pgsize_bitmap;
	uvf_mutex_unlock(&ioas->mutex);
	if (pgsizes & (UVF_PAGE_SIZE - 1)) {
		pgsizes &= ~(UVF_PAGE_SIZE - 1);
		pgsizes |= UVF_PAGE_SIZE;
	}
	return uvf_max(pgsizes, ioas->iopt.iova_alignment);
}

/* A capability writes only what fits in 'avail' and returns its size. */
typedef int (*fill_cap_fn)(struct iommufd_ioas *ioas, struct uvf_caller *c, uint64_t cur,
			   size_t avail);

static int iommufd_fill_cap_dma_avail(struct iommufd_ioas *ioas, struct uvf_caller *c,
				      uint64_t cur, size_t avail)
{
	struct vfio_iommu_type1_info_dma_avail cap = {
		.header = { .id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, .version = 1 },
		/* The limit is the memory's, not a count of mappings. */
		.avail = UINT32_MAX,
	};

	if (avail >= sizeof(cap) && copy_to_user(c, cur, &cap, sizeof(cap)))
		return -EFAULT;
	return sizeof(cap);
}

static int iommufd_fill_cap_iova(struct iommufd_ioas *ioas, struct uvf_caller *c,
				 uint64_t cur, size_t avail)
{
	struct vfio_iommu_type1_info_cap_iova_range cap = {
		.header = { .id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, .version = 1 },
	};
	size_t n = iopt_iova_ranges(&ioas->iopt, NULL, 0), size;
	struct iopt_range *r = calloc(n, sizeof(*r));

	if (!r)
		return -ENOMEM;
	n = iopt_iova_ranges(&ioas->iopt, r, n);
	for (size_t i = 0; i < n; i++) {
		struct vfio_iova_range range = { .start = r[i].start, .end = r[i].last };

		size = sizeof(cap) + (i + 1) * sizeof(range);
		if (avail >= size && copy_to_user(c, cur + size - sizeof(range), &range,
						  sizeof(range))) {
			free(r);
			return -EFAULT;
		}
		cap.nr_iovas++;
	}
	free(r);
	size = sizeof(cap) + n * sizeof(struct vfio_iova_range);
	if (avail >= size && copy_to_user(c, cur, &cap, sizeof(cap)))
		return -EFAULT;
	return (int)size;
}

/* The chain is written in place, each capability only if the buffer
 * holds it, and argsz says what the whole chain needs. */
static int vfio_info_fill_caps(struct iommufd_ioas *ioas, struct uvf_caller *c, uint64_t arg,
			       struct vfio_iommu_type1_info *info)
{
	static const fill_cap_fn fill_fns[] = { iommufd_fill_cap_dma_avail,
						iommufd_fill_cap_iova };
	uint64_t total = sizeof(*info), last_cap = 0;
	uint32_t next;
	int size;

	for (size_t i = 0; i < ARRAY_SIZE(fill_fns); i++) {
		if (info->argsz > total)
			size = fill_fns[i](ioas, c, arg + total, info->argsz - total);
		else
			size = fill_fns[i](ioas, c, 0, 0);
		if (size < 0)
			return size;
		size = ALIGN_UP(size, 8);
		next = (uint32_t)total;
		if (last_cap && info->argsz >= total &&
		    copy_to_user(c, last_cap + offsetof(struct vfio_info_cap_header, next), &next,
				 sizeof(next)))
			return -EFAULT;
		last_cap = arg + total;
		total += (uint64_t)size;
	}
	if (info->argsz >= total)
		info->cap_offset = sizeof(*info);
	info->argsz = (uint32_t)total;
	info->flags |= VFIO_IOMMU_INFO_CAPS;
	return 0;
}

static long iommufd_vfio_iommu_get_info(struct iommufd_ctx *ictx, struct uvf_caller *c,
					uint64_t arg)
{
	size_t minsz = offsetofend(struct vfio_iommu_type1_info, iova_pgsizes);
	struct vfio_iommu_type1_info info = { 0 };
	struct iommufd_ioas *ioas;
	int rc;

	if (copy_from_user(c, &info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	minsz = uvf_min((size_t)info.argsz, sizeof(info));
	rc = iommufd_get_compat_ioas(ictx, &ioas);
	if (rc)
		return rc;
	info.flags = VFIO_IOMMU_INFO_PGSIZES;
	info.iova_pgsizes = iommufd_get_pagesizes(ioas);
	info.cap_offset = 0;
	rc = vfio_info_fill_caps(ioas, c, arg, &info);
	if (!rc && copy_to_user(c, arg, &info, minsz))
		rc = -EFAULT;
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

long iommufd_vfio_ioctl(struct iommufd_ctx *ictx, struct uvf_caller *c, unsigned int cmd,
			uint64_t arg)
{
	switch (cmd) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_SET_IOMMU:
		return iommufd_vfio_set_iommu(ictx, c, arg);
	case VFIO_CHECK_EXTENSION:
		return iommufd_vfio_check_extension(ictx, arg);
	case VFIO_IOMMU_GET_INFO:
		return iommufd_vfio_iommu_get_info(ictx, c, arg);
	case VFIO_IOMMU_MAP_DMA:
		return iommufd_vfio_map_dma(ictx, c, arg);
	case VFIO_IOMMU_UNMAP_DMA:
		return iommufd_vfio_unmap_dma(ictx, c, arg);
	default:
		/* DIRTY_PAGES included: the kernel's -ENOIOCTLCMD. */
		return -ENOTTY;
	}
}
