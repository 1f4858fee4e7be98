/* SPDX-License-Identifier: MIT */
/*
 * The loaded modules of a host as sysfs shows them: /sys/module/<m>/
 * with 'initstate' and the module parameters of vfio, vfio_iommu_type1 and
 * vfio_pci, each backed by a field of host->params, and the empty class,
 * bus and device directories the other layers populate.
 */
#ifndef UVF_HOST_MODULES_H
#define UVF_HOST_MODULES_H

struct uvf_host;

/* Needs h->sysfs; returns 0 or -errno. */
int host_modules_init(struct uvf_host *h);

#endif
