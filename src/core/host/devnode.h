/* SPDX-License-Identifier: MIT */
/*
 * Device nodes: the /dev entries a host serves (/dev/vfio/vfio,
 * /dev/vfio/<group>, /dev/vfio/devices/vfioN, later /dev/iommu and
 * /dev/kvm).  Each has an owner, a mode checked at open as the VFS does
 * (-EACCES), and an open op that makes the file.
 */
#ifndef UVF_HOST_DEVNODE_H
#define UVF_HOST_DEVNODE_H

#include <sys/types.h>
#include "../base/list.h"
#include "file.h"

struct uvf_devnode;

struct uvf_devnode_ops {
	/* Make the file for this open; return 0 and *out, or -errno. */
	int (*open)(struct uvf_devnode *dn, struct uvf_caller *c, int flags,
		    struct uvf_file **out);
	/*
	 * Pin / unpin the object that embeds the node, for nodes whose owner
	 * can go away (a VFIO group, a device cdev).  host_open() calls get
	 * under the host lock, while the node is still listed and so its owner
	 * still alive, and put after open returns; the open op must then
	 * answer -ENODEV for an owner that is being removed, as the kernel's
	 * cdev opens do.  Both NULL for nodes that live as long as the host.
	 */
	void (*get)(struct uvf_devnode *dn);
	void (*put)(struct uvf_devnode *dn);
};

struct uvf_devnode {
	struct list_head link;		/* in host->devnodes */
	char path[96];			/* "/dev/vfio/vfio" */
	mode_t mode;			/* permission bits, e.g. 0666 */
	uid_t uid;
	gid_t gid;
	unsigned int major, minor;	/* as stat() should report them */
	const struct uvf_devnode_ops *ops;
	void *priv;
};

/* Register/unregister under the host; path must be unique (-EEXIST). */
int devnode_add(struct uvf_host *h, struct uvf_devnode *dn);
void devnode_del(struct uvf_host *h, struct uvf_devnode *dn);
struct uvf_devnode *devnode_find(struct uvf_host *h, const char *path);

/*
 * open(2) on a served path: -ENOENT if no such node, -EACCES if the
 * caller's uid/gid and the node's mode forbid the access mode in 'flags'
 * (root passes), else the node's open.
 */
int host_open(struct uvf_host *h, struct uvf_caller *c, const char *path, int flags,
	      struct uvf_file **out);

#endif
