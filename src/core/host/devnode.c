// SPDX-License-Identifier: MIT
/*
 * Device nodes and open(2).  Lock: host->lock around the node list; the
 * node's open op runs without it.  An open in flight keeps the node's owner
 * alive through ops->get/put, taken while the node is found under the lock,
 * so a concurrent removal cannot free it underneath (the kernel's cdev
 * open pins the device the same way).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include "devnode.h"
#include "fault_inject.h"
#include "host.h"

static struct uvf_devnode *devnode_find_locked(struct uvf_host *h, const char *path)
{
	struct uvf_devnode *dn;

	list_for_each_entry(dn, &h->devnodes, link)
		if (!strcmp(dn->path, path))
			return dn;
	return NULL;
}

int devnode_add(struct uvf_host *h, struct uvf_devnode *dn)
{
	int ret = 0;

	uvf_mutex_lock(&h->lock);
	if (devnode_find_locked(h, dn->path))
		ret = -EEXIST;
	else
		list_add_tail(&dn->link, &h->devnodes);
	uvf_mutex_unlock(&h->lock);
	return ret;
}

void devnode_del(struct uvf_host *h, struct uvf_devnode *dn)
{
	uvf_mutex_lock(&h->lock);
	list_del_init(&dn->link);
	uvf_mutex_unlock(&h->lock);
}

struct uvf_devnode *devnode_find(struct uvf_host *h, const char *path)
{
	struct uvf_devnode *dn;

	uvf_mutex_lock(&h->lock);
	dn = devnode_find_locked(h, path);
	uvf_mutex_unlock(&h->lock);
	return dn;
}

/* The VFS permission rule for owner/group/other bits; root passes. */
static int devnode_permission(const struct uvf_devnode *dn, const struct uvf_caller *c,
			      int flags)
{
	int acc = flags & O_ACCMODE;
	mode_t want = 0, bits;

	if (c->uid == 0)
		return 0;
	if (acc == O_RDONLY || acc == O_RDWR)
		want |= 4;
	if (acc == O_WRONLY || acc == O_RDWR)
		want |= 2;
	if (c->uid == dn->uid)
		bits = (dn->mode >> 6) & 7;
	else if (c->gid == dn->gid)
		bits = (dn->mode >> 3) & 7;
	else
		bits = dn->mode & 7;
	return (bits & want) == want ? 0 : -EACCES;
}

int host_open(struct uvf_host *h, struct uvf_caller *c, const char *path, int flags,
	      struct uvf_file **out)
{
	struct uvf_devnode *dn;
	int ret;

	if (!strncmp(path, "/proc/", 6))
		return host_proc_open(h, c, path, flags, out);
	uvf_mutex_lock(&h->lock);
	dn = devnode_find_locked(h, path);
	if (dn && dn->ops->get)
		dn->ops->get(dn);
	uvf_mutex_unlock(&h->lock);
	if (!dn)
		return -ENOENT;
	ret = devnode_permission(dn, c, flags);
	if (!ret)
		ret = dn->ops->open(dn, c, flags, out);
	if (dn->ops->put)
		dn->ops->put(dn);
	return ret;
}
