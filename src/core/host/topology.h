/* SPDX-License-Identifier: MIT */
/*
 * The host topology: what machine a host emulates, from a JSON file or the
 * built-in default.  Parsing is strict: an unknown key, a wrong type or a
 * value out of range is an error naming the file, the field (a JSON path
 * such as "pci[1].iommu_group") and what is wrong.
 *
 * The parsed form is plain data; host_load_topology() turns it into
 * objects.  Model parameters stay as JSON: each model validates its own.
 */
#ifndef UVF_HOST_TOPOLOGY_H
#define UVF_HOST_TOPOLOGY_H

#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>
#include "host.h"
#include "../ap/ap_bus.h"

struct json_object;

struct uvf_topo_pci {
	char bdf[16];			/* "0000:00:03.0" (domain:bus:slot.func) */
	char model[32];			/* a registered PCI model name */
	unsigned int iommu_group;
	char driver[32];		/* bound driver: "vfio-pci" (default), "none", or a kernel driver */
	bool coherent;			/* IOMMU can enforce cache coherency; default true */
	struct json_object *params;	/* model parameters (an object), or NULL */
};

struct uvf_topo_group {
	unsigned int id;
	bool cache_coherent;		/* default true */
	bool msi_isolated;		/* default true */
	uint64_t pgsize_bitmap;		/* default 4K|2M|1G */
	uint64_t aperture_start, aperture_end;	/* default 0 .. 2^48-1 */
	uint64_t resv_start, resv_last;	/* one reserved (MSI) window; default 0xfee00000..0xfeefffff */
	bool has_resv;
};

struct uvf_topo_devnode {
	char path[96];			/* "/dev/vfio/vfio", "/dev/vfio/7", ... */
	mode_t mode;			/* 0600 if not given */
	uid_t uid;			/* 0 if not given */
	gid_t gid;			/* 0 if not given */
	bool has_mode, has_uid, has_gid;	/* which ones the file gives */
};

/* "ap": the s390 AP crypto configuration of the machine (src/core/ap). */
struct uvf_topo_ap {
	bool present;			/* no "ap" key: no AP facility at all */
	struct ap_machine_desc machine;	/* adapters: calloc'd, freed with the topology */
	struct ap_bus_params params;	/* apmask/aqmask point at the strings below */
	char apmask[128];
	char aqmask[128];
};

struct uvf_topology {
	char source[256];		/* file name, or "<built-in>" */
	char name[64];
	struct uvf_topo_pci *pci;
	unsigned int npci;
	struct uvf_topo_group *groups;	/* groups named by pci[] get defaults if absent */
	unsigned int ngroups;
	struct uvf_topo_devnode *devnodes;	/* owner/mode overrides */
	unsigned int ndevnodes;
	struct uvf_host_params params;	/* "limits" */
	unsigned int mdev_sample_channels;	/* "mdev_sample": {"channels": N}; 0: none */
	struct uvf_topo_ap ap;			/* "ap" */
	struct json_object *root;	/* the whole document, for later layers */
};

int topology_load_file(const char *path, struct uvf_topology **out, char *err, size_t errlen);
int topology_load_string(const char *json, const char *source, struct uvf_topology **out,
			 char *err, size_t errlen);
/* The built-in default host. */
const char *topology_default_json(void);
int topology_load_default(struct uvf_topology **out, char *err, size_t errlen);
void topology_free(struct uvf_topology *t);

#endif
