// SPDX-License-Identifier: MIT
/*
 * A client process's address space as the core's uvf_mm.
 *
 * User copies outside the staged argument go through the process's memory
 * handle (the /proc/self/mem fd it passed in HELLO): pread/pwrite at the
 * address, so a bad pointer is -EFAULT.
 *
 * DMA ranges resolve piece by piece.  A piece the request says is backed
 * by a shareable file becomes a window of that file, mapped once, whole,
 * by the file cache: zero-copy, and valid after the client unmaps it, as
 * pinned pages are.  The rest is the process memory itself, a REMOTE
 * memory object whose offsets are addresses, after checking in
 * /proc/<pid>/maps that the range is mapped with the needed permission:
 * a range not mapped at all is -EFAULT, as get_user_pages says.
 *
 * The pieces belong to one request; a mm carrying them is made per request
 * and forgets them when the request ends, since the core may keep the mm.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "uvfiod.h"
#include "core/base/compiler.h"
#include "core/mm/mm.h"

struct remote_mm {
	struct uvfiod *d;
	struct uvf_memobj *mem;		/* the process memory, or NULL */
	const struct uvp_dma_piece *pieces;	/* this request's, or NULL */
	unsigned int npieces;
	const int *fds;
	unsigned int nfds;
};

static void remote_mem_release(struct uvf_memobj *m)
{
	close(m->mem_fd);
	free(m);
}

static struct uvf_memobj *remote_mem_new(int mem_fd)
{
	struct uvf_memobj *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	uvf_ref_init(&m->ref);
	m->kind = UVF_MEMOBJ_REMOTE;
	m->mem_fd = mem_fd;
	m->size = UINT64_MAX;
	m->release = remote_mem_release;
	return m;
}

static int remote_read(struct uvf_mm *mm, void *dst, uint64_t uaddr, size_t len)
{
	struct remote_mm *rm = mm->priv;

	if (!len)
		return 0;
	return rm->mem ? memobj_read(rm->mem, uaddr, dst, len) : -EFAULT;
}

static int remote_write(struct uvf_mm *mm, uint64_t uaddr, const void *src, size_t len)
{
	struct remote_mm *rm = mm->priv;

	if (!len)
		return 0;
	return rm->mem ? memobj_write(rm->mem, uaddr, src, len) : -EFAULT;
}

/* Is [start, end) mapped in pid with read (and write) permission? */
static bool remote_range_mapped(pid_t pid, uint64_t start, uint64_t end, bool write)
{
	char path[64], line[512];
	uint64_t covered = start;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (covered < end && fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi;
		char perms[5];

		if (sscanf(line, "%llx-%llx %4s", &lo, &hi, perms) != 3)
			continue;
		if (hi <= covered)
			continue;
		if (lo > covered || perms[0] != 'r' || (write && perms[1] != 'w'))
			break;
		covered = hi;
	}
	fclose(f);
	return covered >= end;
}

/* The piece holding addr, or else the start of the next one (or 0). */
static const struct uvp_dma_piece *remote_piece_at(struct remote_mm *rm, uint64_t addr,
						   uint64_t *next)
{
	*next = 0;
	for (unsigned int i = 0; i < rm->npieces; i++) {
		const struct uvp_dma_piece *p = &rm->pieces[i];

		if (addr >= p->uaddr && addr - p->uaddr < p->len)
			return p;
		if (p->uaddr > addr && (!*next || p->uaddr < *next))
			*next = p->uaddr;
	}
	return NULL;
}

/* One segment starting at addr, at most up to end. */
static int remote_resolve_one(struct uvf_mm *mm, uint64_t addr, uint64_t end, bool write,
			      struct uvf_mem_seg *seg)
{
	struct remote_mm *rm = mm->priv;
	uint64_t next, off, need;
	const struct uvp_dma_piece *p = remote_piece_at(rm, addr, &next);
	int ret;

	if (p) {
		seg->len = uvf_min(end, p->uaddr + p->len) - addr;
		if (write && !p->writable)
			return -EFAULT;
		off = p->file_off + (addr - p->uaddr);
		if (check_add_overflow(off, seg->len, &need))
			return -EFAULT;
		ret = filecache_get(rm->d->files, rm->fds[p->fd_index], need, write, &seg->obj);
		seg->off = off;
		return ret;
	}
	seg->len = (next && next < end ? next : end) - addr;
	if (!rm->mem || !remote_range_mapped(mm->pid, addr, addr + seg->len, write))
		return -EFAULT;
	memobj_get(rm->mem);
	seg->obj = rm->mem;
	seg->off = addr;
	return 0;
}

static int remote_resolve(struct uvf_mm *mm, uint64_t uaddr, uint64_t len, bool write,
			  struct uvf_mem_seg *segs, int max)
{
	uint64_t addr = uaddr, end;
	int n = 0, ret = 0;

	if (!len || check_add_overflow(uaddr, len, &end))
		return -EFAULT;
	while (addr < end) {
		if (n == max) {
			ret = -E2BIG;
			break;
		}
		ret = remote_resolve_one(mm, addr, end, write, &segs[n]);
		if (ret)
			break;
		addr += segs[n++].len;
	}
	if (!ret)
		return n;
	while (n--)
		memobj_put(segs[n].obj);
	return ret;
}

static void remote_release(struct uvf_mm *mm)
{
	struct remote_mm *rm = mm->priv;

	memobj_put(rm->mem);
	free(rm);
}

static const struct uvf_mm_ops remote_mm_ops = {
	.read = remote_read,
	.write = remote_write,
	.resolve = remote_resolve,
	.release = remote_release,
};

/* A mm over mem (referenced here; may be NULL) charging account (taken over). */
static struct uvf_mm *remote_mm_alloc(struct uvfiod *d, pid_t pid, struct uvf_memobj *mem,
				      struct uvf_account *account)
{
	struct uvf_mm *mm = calloc(1, sizeof(*mm));
	struct remote_mm *rm = calloc(1, sizeof(*rm));

	if (!mm || !rm) {
		free(mm);
		free(rm);
		account_put(account);
		return NULL;
	}
	if (mem)
		memobj_get(mem);
	rm->d = d;
	rm->mem = mem;
	uvf_ref_init(&mm->ref);
	mm->ops = &remote_mm_ops;
	mm->pid = pid;
	mm->account = account;
	mm->priv = rm;
	return mm;
}

struct uvf_mm *remote_mm_new(struct uvfiod *d, pid_t pid, int mem_fd,
			     struct uvf_account *account)
{
	struct uvf_memobj *mem = NULL;
	struct uvf_mm *mm;

	if (mem_fd >= 0) {
		mem = remote_mem_new(mem_fd);
		if (!mem) {
			close(mem_fd);
			account_put(account);
			return NULL;
		}
	}
	mm = remote_mm_alloc(d, pid, mem, account);
	memobj_put(mem);
	return mm;
}

struct uvf_mm *remote_mm_with_pieces(struct uvf_mm *base, const struct uvp_dma_piece *pieces,
				     unsigned int npieces, const int *fds, unsigned int nfds)
{
	struct remote_mm *brm = base->priv;
	struct uvf_mm *mm;
	struct remote_mm *rm;

	account_get(base->account);
	mm = remote_mm_alloc(brm->d, base->pid, brm->mem, base->account);
	if (!mm)
		return NULL;
	rm = mm->priv;
	rm->pieces = pieces;
	rm->npieces = npieces;
	rm->fds = fds;
	rm->nfds = nfds;
	return mm;
}

void remote_mm_drop_pieces(struct uvf_mm *mm)
{
	struct remote_mm *rm = mm->priv;

	rm->pieces = NULL;
	rm->npieces = 0;
	rm->fds = NULL;
	rm->nfds = 0;
}
