/* SPDX-License-Identifier: MIT */
/* Internals shared by the files of the IOMMU layer. */
#ifndef UVF_IOMMU_PRIV_H
#define UVF_IOMMU_PRIV_H

#include "iommu.h"

/* The per-group domains that translate nothing. */
struct iommu_domain *iommu_domain_alloc_blocked(void);
struct iommu_domain *iommu_domain_alloc_identity(void);

/*
 * A group starts/stops using a domain (takes/drops a reference).  The first
 * user of a paging domain makes its io page table a pin user: -ENOMEM
 * passes through and nothing changes.
 */
int iommu_domain_attach_user(struct iommu_domain *d);
void iommu_domain_detach_user(struct iommu_domain *d);

#endif
