// SPDX-License-Identifier: MIT
/*
 * Process records: what a client process told us in its HELLO (its memory
 * handle, RLIMIT_MEMLOCK, capabilities), kept while its control connection
 * is open.  Requests find the record by the pid the kernel put in their
 * credentials, so a process can only ever act with its own record.
 *
 * Capabilities are never taken on trust: a process gets what it claims
 * intersected with its effective set as /proc/<pid>/status reports it at
 * HELLO time (the process is blocked in that HELLO, so the pid is still
 * the sender).  When that cannot be read, uid 0 counts as having all, any
 * other uid none.
 *
 * Each record has its own locked-memory account, as each kernel mm has its
 * locked_vm: a HELLO after exec makes a new record, and DMA mappings made
 * before keep charging the old account until they are unmapped.
 *
 * Lock: uvfiod.lock protects the list and 'registered' changes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "uvfiod.h"
#include "core/mm/mm.h"

#define UVF_CAP_ALL (UVF_CAP_IPC_LOCK | UVF_CAP_SYS_RAWIO | UVF_CAP_SYS_RESOURCE | \
		     UVF_CAP_SYS_ADMIN)

static uint32_t dproc_caps_by_uid(uid_t uid)
{
	return uid == 0 ? UVF_CAP_ALL : 0;
}

/* The caps pid holds per /proc/<pid>/status CapEff, else by its uid. */
static uint32_t dproc_allowed_caps(pid_t pid, uid_t uid)
{
	char path[64], line[256];
	uint32_t caps = dproc_caps_by_uid(uid);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return caps;
	while (fgets(line, sizeof(line), f)) {
		uint64_t eff;

		if (sscanf(line, "CapEff: %" SCNx64, &eff) == 1) {
			caps = uvp_caps_from_mask(eff);
			break;
		}
	}
	fclose(f);
	return caps;
}

static void dproc_read_comm(struct dproc *p)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)p->pid);
	snprintf(p->comm, sizeof(p->comm), "?");
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(p->comm, sizeof(p->comm), f))
		p->comm[strcspn(p->comm, "\n")] = '\0';
	fclose(f);
}

/* A record with its own account and memory; takes over mem_fd. */
static struct dproc *dproc_alloc(struct uvfiod *d, const struct uvp_creds *cr,
				 uint64_t memlock, int mem_fd)
{
	struct dproc *p = calloc(1, sizeof(*p));
	struct uvf_account *acct = account_new(memlock);

	if (!p || !acct)
		goto fail;
	p->mm = remote_mm_new(d, cr->pid, mem_fd, acct);
	mem_fd = -1;
	acct = NULL;
	if (!p->mm)
		goto fail;
	uvf_ref_init(&p->ref);
	list_init(&p->link);
	atomic_init(&p->registered, false);
	p->pid = cr->pid;
	p->uid = cr->uid;
	p->gid = cr->gid;
	return p;
fail:
	if (mem_fd >= 0)
		close(mem_fd);
	account_put(acct);
	free(p);
	return NULL;
}

int dproc_register(struct uvfiod *d, const struct uvp_creds *cr, const struct uvp_hello *h,
		   int mem_fd, struct dproc **out)
{
	struct dproc *p = dproc_alloc(d, cr, h->memlock, mem_fd), *old = NULL, *it;

	if (!p)
		return -ENOMEM;
	p->caps = h->caps & dproc_allowed_caps(cr->pid, cr->uid);
	dproc_read_comm(p);
	uvf_ref_get(&p->ref);		/* the caller's; the list keeps the first */
	uvf_mutex_lock(&d->lock);
	list_for_each_entry(it, &d->procs, link) {
		if (it->pid == p->pid) {
			old = it;
			break;
		}
	}
	if (old) {
		list_del_init(&old->link);
		atomic_store(&old->registered, false);
	}
	list_add_tail(&p->link, &d->procs);
	atomic_store(&p->registered, true);
	uvf_mutex_unlock(&d->lock);
	dproc_put(old);
	*out = p;
	return 0;
}

void dproc_unregister(struct uvfiod *d, struct dproc *p)
{
	bool was;

	uvf_mutex_lock(&d->lock);
	was = atomic_load(&p->registered);
	if (was) {
		list_del_init(&p->link);
		atomic_store(&p->registered, false);
	}
	uvf_mutex_unlock(&d->lock);
	if (was)
		dproc_put(p);
}

struct dproc *dproc_find(struct uvfiod *d, pid_t pid)
{
	struct dproc *it, *found = NULL;

	uvf_mutex_lock(&d->lock);
	list_for_each_entry(it, &d->procs, link) {
		if (it->pid == pid) {
			found = it;
			uvf_ref_get(&found->ref);
			break;
		}
	}
	uvf_mutex_unlock(&d->lock);
	return found;
}

struct dproc *dproc_anonymous(struct uvfiod *d, const struct uvp_creds *cr)
{
	struct dproc *p = dproc_alloc(d, cr, 0, -1);

	if (!p)
		return NULL;
	p->caps = dproc_caps_by_uid(cr->uid);
	snprintf(p->comm, sizeof(p->comm), "?");
	return p;
}

void dproc_put(struct dproc *p)
{
	if (!p || !uvf_ref_put(&p->ref))
		return;
	mm_put(p->mm);
	free(p);
}
