// SPDX-License-Identifier: MIT
/*
 * The generic IOMMU driver of the host's devices, as iommufd sees it: what
 * an Intel or AMD driver's iommu_ops would answer, from the properties the
 * topology gives each IOMMU group (page sizes, aperture, cache coherency).
 *
 * It reports no hardware information (type NONE), supports dirty tracking
 * (the emulated IOMMU sees every DMA write: the io page table keeps the
 * bits at page granularity) and no nesting: HWPT_ALLOC with driver data is
 * -EOPNOTSUPP, as with a driver that has no such data type.
 *
 * Locking: none of its own; called under the HWPT and group locks of the
 * callers (hw_pagetable.c, device.c).
 */
#include <errno.h>
#include <stdlib.h>
#include "iommufd_private.h"
#include "../iommu/iommu.h"
#include "../base/bitmap.h"

static int generic_hw_info(struct iommufd_device *idev, uint32_t in_type, void **data,
			   uint32_t *len, uint32_t *type)
{
	if (in_type != IOMMU_HW_INFO_TYPE_DEFAULT)
		return -EOPNOTSUPP;
	*data = NULL;
	*len = 0;
	*type = IOMMU_HW_INFO_TYPE_NONE;
	return 0;
}

static bool generic_dirty_capable(struct iommufd_device *idev)
{
	return true;
}

static uint8_t generic_max_pasid_log2(struct iommufd_device *idev)
{
	return 0;
}

static int generic_alloc_paging(struct iommufd_device *idev, struct iommufd_hwpt_paging *hwpt,
				uint32_t flags, const struct iommufd_user_data *data)
{
	struct iommu_group *g = idev->igroup->group;

	if (data)
		return -EOPNOTSUPP;
	/* The domain can enforce coherency if the device's IOMMU can. */
	hwpt->common.domain = iommu_domain_alloc_paging(&hwpt->ioas->iopt, g->pgsize_bitmap,
							g->aperture_start, g->aperture_end,
							idev->enforce_cache_coherency);
	if (!hwpt->common.domain)
		return -ENOMEM;
	hwpt->dirty_pgshift = UVF_PAGE_SHIFT;
	return 0;
}

/* A domain made for another group serves this one only if it translates
 * the same way (the kernel driver's attach_dev compatibility check). */
static int generic_attach_check(struct iommufd_device *idev, struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_hwpt_paging *paging = to_hwpt_paging(hwpt);
	struct iommu_group *g = idev->igroup->group;
	struct iommu_domain *d = hwpt->domain;

	if (!paging || hwpt->ops != &iommufd_generic_driver)
		return -EINVAL;
	if (d->pgsize_bitmap != g->pgsize_bitmap || d->aperture_start != g->aperture_start ||
	    d->aperture_end != g->aperture_end)
		return -EINVAL;
	/* An enforcing domain cannot take a device whose IOMMU cannot block No-Snoop. */
	if (paging->enforce_cache_coherency && !idev->enforce_cache_coherency)
		return -EINVAL;
	return 0;
}

/* Report the dirty pages of [iova, iova + length), one area's piece. */
static int generic_read_and_clear_dirty(struct iommufd_hwpt_paging *hwpt, uint64_t iova,
					uint64_t length, bool no_clear,
					struct iommufd_dirty_bitmap *dirty)
{
	unsigned int sh = hwpt->dirty_pgshift;
	uint64_t first = iova >> sh, nbits = ((iova + length - 1) >> sh) - first + 1;
	unsigned long *bits;
	int rc;

	if (!hwpt->dirty_tracking)
		return -EINVAL;
	bits = bitmap_zalloc(nbits);
	if (!bits)
		return -ENOMEM;
	rc = iopt_read_dirty(&hwpt->ioas->iopt, first << sh, nbits << sh, bits, no_clear);
	for (uint64_t i = find_next_bit(bits, nbits, 0); !rc && i < nbits;
	     i = find_next_bit(bits, nbits, i + 1))
		iommufd_dirty_record(dirty, (first + i) << sh, 1ULL << sh);
	bitmap_free(bits);
	return rc;
}

const struct iommufd_driver_ops iommufd_generic_driver = {
	.name = "generic",
	.hw_info = generic_hw_info,
	.dirty_capable = generic_dirty_capable,
	.max_pasid_log2 = generic_max_pasid_log2,
	.alloc_paging = generic_alloc_paging,
	.attach_check = generic_attach_check,
	.read_and_clear_dirty = generic_read_and_clear_dirty,
};
