/* SPDX-License-Identifier: MIT */
/*
 * The host: one emulated machine, what one uvfiod serves.  It owns every
 * object the layers create (the sysfs tree, device nodes, devices, drivers,
 * IOMMU groups, the VFIO core) and the module parameters that tune them.
 * Tests create as many hosts as they like; nothing in the core is global.
 *
 * Locking: host->lock protects the lists below (a leaf lock for list walks:
 * nothing that may block or take another lock runs under it).
 */
#ifndef UVF_HOST_H
#define UVF_HOST_H

#include <stdint.h>
#include <stdbool.h>
#include "../base/lock.h"
#include "../base/list.h"

struct sysfs_tree;
struct vfio_core;
struct iommufd_core;
struct mdev_core;
struct kvm_core;
struct ap_bus;
struct ap_matrix_dev;
struct uvf_topology;
struct host_fault_attrs;
struct pci_host;

/* Whether programs get this host's /dev/kvm (topology limits.kvm). */
enum uvf_kvm_mode {
	UVF_KVM_AUTO,		/* "auto": unless the machine has a /dev/kvm */
	UVF_KVM_ALWAYS,		/* "always" */
	UVF_KVM_NEVER,		/* "never" */
};

/* Module parameters (/sys/module/<m>/parameters/<p>). */
struct uvf_host_params {
	uint32_t dma_entry_limit;		/* vfio_iommu_type1, default 65535 */
	bool allow_unsafe_interrupts;		/* vfio_iommu_type1 */
	bool disable_hugepages;			/* vfio_iommu_type1 */
	bool enable_unsafe_noiommu_mode;	/* vfio */
	bool nointxmask;			/* vfio_pci */
	bool disable_vga;			/* vfio_pci (read-only) */
	bool disable_idle_d3;			/* vfio_pci */
	bool enable_sriov;			/* vfio_pci */
	bool disable_denylist;			/* vfio_pci (read-only) */
	bool iommufd_allow_unsafe_interrupts;	/* iommufd */
	/* Kernel configuration choices (topology "limits"), off by default. */
	bool iommufd_test;			/* CONFIG_IOMMUFD_TEST: IOMMU_TEST_CMD, fail-nth */
	bool iommufd_vfio_container;		/* CONFIG_IOMMUFD_VFIO_CONTAINER */
	enum uvf_kvm_mode kvm;			/* serving /dev/kvm (kvm_chardev_served) */
};

struct uvf_host {
	struct uvf_mutex lock;
	struct sysfs_tree *sysfs;
	struct list_head devnodes;	/* struct uvf_devnode */
	struct list_head devices;	/* struct uvf_device */
	struct list_head drivers;	/* struct host_driver (host.c) */
	struct list_head groups;	/* struct iommu_group */
	struct vfio_core *vfio;		/* the VFIO layer's state */
	struct iommufd_core *iommufd;	/* the iommufd layer's state */
	struct mdev_core *mdev;		/* the mdev layer's state */
	struct kvm_core *kvm;		/* the KVM layer's state */
	struct ap_bus *ap;		/* the s390 AP bus; NULL without a topology "ap" */
	struct ap_matrix_dev *vfio_ap;	/* vfio_ap's matrix device; NULL without an AP bus */
	struct uvf_host_params params;
	struct pci_host *pci;		/* the PCI bus's driver files (pci_driver.c) */
	struct host_fault_attrs *fault_attrs;	/* /sys/kernel/debug/fail* (fault_inject.c) */
	char name[64];			/* from the topology */
};

/* An empty host with the core subsystems registered (vfio, vfio-pci, the
 * sysfs skeleton), no devices. */
struct uvf_host *host_new(void);
/* Populate from a parsed topology; on error 'err' says what. */
int host_load_topology(struct uvf_host *h, const struct uvf_topology *t,
		       char *err, size_t errlen);
/* Stops models, releases every object.  No file may be open. */
void host_free(struct uvf_host *h);

#endif
