// SPDX-License-Identifier: MIT
/*
 * IOMMU domains: what a group's DMA goes through.  A paging domain
 * translates through an io page table owned by a front end (a type1
 * container, an iommufd IOAS); the blocking and identity domains of a group
 * translate nothing.
 *
 * A paging domain that has at least one group attached is a pin user of
 * its io page table: the table must hold every mapped page pinned and
 * charged, as a real IOMMU needs the pages present.
 *
 * Locking: domain->lock protects 'attached' so that the 0 <-> 1 transitions
 * and the pin-user changes they cause happen together; it nests inside the
 * group locks and outside iopt->lock.
 */
#include <errno.h>
#include <stdlib.h>
#include "iommu_priv.h"
#include "../iommufd/io_pagetable.h"

static struct iommu_domain *iommu_domain_alloc(enum iommu_domain_type type)
{
	struct iommu_domain *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	uvf_ref_init(&d->ref);
	uvf_mutex_init(&d->lock);
	d->type = type;
	return d;
}

struct iommu_domain *iommu_domain_alloc_paging(struct io_pagetable *iopt,
					       uint64_t pgsize_bitmap,
					       uint64_t aperture_start,
					       uint64_t aperture_end,
					       bool enforce_cc)
{
	struct iommu_domain *d;

	if (!iopt || !pgsize_bitmap || aperture_start > aperture_end)
		return NULL;
	d = iommu_domain_alloc(IOMMU_DOMAIN_PAGING);
	if (!d)
		return NULL;
	d->iopt = iopt;
	d->pgsize_bitmap = pgsize_bitmap;
	d->aperture_start = aperture_start;
	d->aperture_end = aperture_end;
	d->enforce_cache_coherency = enforce_cc;
	return d;
}

struct iommu_domain *iommu_domain_alloc_blocked(void)
{
	return iommu_domain_alloc(IOMMU_DOMAIN_BLOCKED);
}

struct iommu_domain *iommu_domain_alloc_identity(void)
{
	return iommu_domain_alloc(IOMMU_DOMAIN_IDENTITY);
}

void iommu_domain_get(struct iommu_domain *d)
{
	uvf_ref_get(&d->ref);
}

void iommu_domain_put(struct iommu_domain *d)
{
	if (!d || !uvf_ref_put(&d->ref))
		return;
	uvf_mutex_destroy(&d->lock);
	free(d);
}

int iommu_domain_attach_user(struct iommu_domain *d)
{
	int ret = 0;

	uvf_mutex_lock(&d->lock);
	if (d->type == IOMMU_DOMAIN_PAGING && !d->attached)
		ret = iopt_add_pin_user(d->iopt);
	if (!ret) {
		d->attached++;
		iommu_domain_get(d);
	}
	uvf_mutex_unlock(&d->lock);
	return ret;
}

void iommu_domain_detach_user(struct iommu_domain *d)
{
	uvf_mutex_lock(&d->lock);
	if (!--d->attached && d->type == IOMMU_DOMAIN_PAGING)
		iopt_del_pin_user(d->iopt);
	uvf_mutex_unlock(&d->lock);
	iommu_domain_put(d);
}
