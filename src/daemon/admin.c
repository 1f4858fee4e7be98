// SPDX-License-Identifier: MIT
/*
 * What the CLI asks about a running host: status (the daemon, its clients
 * and their open files) and IOMMU groups (devices, viability, owner), as
 * "key value" text lines (the formats are in src/proto/uvfio_proto.h).
 *
 * Locks: uvfiod.lock for the daemon's lists; host.lock (a leaf) only to
 * walk the host's lists, taking group references, and a group's lock for
 * its fields afterwards (never under host.lock).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "uvfiod.h"
#include "core/host/device.h"
#include "core/host/host.h"
#include "core/iommu/iommu.h"

struct text {
	char *buf;
	size_t size, len;
};

static void UVF_PRINTF(2, 3) text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->len + 1 >= t->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, t->size - t->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len = uvf_min(t->len + (size_t)n, t->size - 1);
}

static unsigned int admin_count_devices(struct uvf_host *h)
{
	struct uvf_device *dev;
	unsigned int n = 0;

	uvf_mutex_lock(&h->lock);
	list_for_each_entry(dev, &h->devices, host_link)
		n++;
	uvf_mutex_unlock(&h->lock);
	return n;
}

/* Open files (channels not released) of pid, or of everyone with pid 0. */
static unsigned int admin_count_files_locked(struct uvfiod *d, pid_t pid)
{
	struct channel *ch;
	unsigned int n = 0;

	list_for_each_entry(ch, &d->channels, link)
		if (ch->file && (!pid || ch->opener == pid))
			n++;
	return n;
}

size_t admin_status(struct uvfiod *d, char *buf, size_t size)
{
	struct text t = { buf, size, 0 };
	struct channel *ch;
	struct dproc *p;
	unsigned int nprocs = 0;

	text_add(&t, "pid %d\nruntime %s\nhost %s\nversion %d\ndevices %u\n", (int)d->pid,
		 d->runtime, d->host->name, UVP_VERSION, admin_count_devices(d->host));
	text_add(&t, "mapped_files %u\n", filecache_count(d->files));
	uvf_mutex_lock(&d->lock);
	list_for_each_entry(p, &d->procs, link)
		nprocs++;
	text_add(&t, "clients %u\nfiles %u\n", nprocs, admin_count_files_locked(d, 0));
	list_for_each_entry(p, &d->procs, link)
		text_add(&t, "client %d uid=%u files=%u comm=%s\n", (int)p->pid,
			 (unsigned int)p->uid, admin_count_files_locked(d, p->pid), p->comm);
	list_for_each_entry(ch, &d->channels, link)
		if (ch->file)
			text_add(&t, "file %d %s\n", (int)ch->opener, ch->path);
	uvf_mutex_unlock(&d->lock);
	return t.len;
}

/* The process holding the group's node open, or 0. */
static pid_t admin_group_owner(struct uvfiod *d, unsigned int id)
{
	char path[64];
	struct channel *ch;
	pid_t owner = 0;

	snprintf(path, sizeof(path), "/dev/vfio/%u", id);
	uvf_mutex_lock(&d->lock);
	list_for_each_entry(ch, &d->channels, link) {
		if (ch->file && !strcmp(ch->path, path)) {
			owner = ch->opener;
			break;
		}
	}
	uvf_mutex_unlock(&d->lock);
	return owner;
}

static void admin_group_line(struct uvfiod *d, struct iommu_group *g, struct text *t)
{
	struct uvf_device *dev;
	pid_t owner = admin_group_owner(d, g->id);
	const char *sep = "";

	uvf_mutex_lock(&g->lock);
	text_add(t, "group %u viable=%d owner=", g->id, g->kernel_users == 0);
	if (owner)
		text_add(t, "%d", (int)owner);
	else
		text_add(t, g->owner_cnt ? "?" : "-");
	text_add(t, " devices=");
	list_for_each_entry(dev, &g->devices, group_link) {
		text_add(t, "%s%s", sep, dev->name);
		sep = ",";
	}
	text_add(t, "\n");
	uvf_mutex_unlock(&g->lock);
}

size_t admin_groups(struct uvfiod *d, char *buf, size_t size)
{
	struct text t = { buf, size, 0 };
	struct uvf_host *h = d->host;
	struct iommu_group *g, **all;
	unsigned int n = 0, i = 0;

	uvf_mutex_lock(&h->lock);
	list_for_each_entry(g, &h->groups, link)
		n++;
	all = calloc(n ? n : 1, sizeof(*all));
	if (all)
		list_for_each_entry(g, &h->groups, link)
			if (uvf_ref_get_unless_zero(&g->ref))
				all[i++] = g;
	uvf_mutex_unlock(&h->lock);
	for (unsigned int j = 0; j < i; j++) {
		admin_group_line(d, all[j], &t);
		iommu_group_put(all[j]);
	}
	free(all);
	return t.len;
}
