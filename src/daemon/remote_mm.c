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
 * But iommufd resolves lazily: a mapping made in one request is pinned in
 * a later one (an access, a domain attached later) that carries no pieces,
 * and a check compares a user buffer with what a map pinned.  So the
 * process's mm remembers the file windows its requests showed (the file,
 * its offset, the addresses), and a resolve without pieces uses a window
 * while /proc/<pid>/maps still shows that file at that offset there, as
 * get_user_pages would find it; once the process unmapped or replaced it,
 * or is gone, the window is forgotten.
 *
 * Locking: windows->lock is a leaf; the file cache is never called under it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "uvfiod.h"
#include "core/base/compiler.h"
#include "core/base/lock.h"
#include "core/mm/mm.h"

/* A shareable file the process mapped at [lo, hi), as a request showed it. */
struct remote_window {
	uint64_t lo, hi;
	uint64_t file_off;		/* offset in the file of lo */
	dev_t dev;
	ino_t ino;
	bool writable;
	int fd;				/* our own reference to the file */
};

/* Bounded: a process maps few DMA buffers; the oldest window goes first. */
#define REMOTE_WINDOWS_MAX 64

struct remote_windows {
	struct uvf_ref ref;
	struct uvf_mutex lock;
	struct remote_window w[REMOTE_WINDOWS_MAX];
	unsigned int n;
};

struct remote_mm {
	struct uvfiod *d;
	struct remote_windows *windows;	/* shared by the process's mms */
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

static struct remote_windows *remote_windows_new(void)
{
	struct remote_windows *ws = calloc(1, sizeof(*ws));

	if (!ws)
		return NULL;
	uvf_ref_init(&ws->ref);
	uvf_mutex_init(&ws->lock);
	return ws;
}

static void remote_windows_put(struct remote_windows *ws)
{
	if (!ws || !uvf_ref_put(&ws->ref))
		return;
	for (unsigned int i = 0; i < ws->n; i++)
		close(ws->w[i].fd);
	uvf_mutex_destroy(&ws->lock);
	free(ws);
}

/* Drop window i (under the lock). */
static void remote_window_del(struct remote_windows *ws, unsigned int i)
{
	close(ws->w[i].fd);
	ws->w[i] = ws->w[--ws->n];
}

/* Remember that the piece p of this request is the file fd; best effort. */
static void remote_window_learn(struct remote_windows *ws, const struct uvp_dma_piece *p,
				int fd)
{
	struct remote_window nw = {
		.lo = p->uaddr, .hi = p->uaddr + p->len, .file_off = p->file_off,
		.writable = p->writable, .fd = -1,
	};
	struct stat st;

	if (!ws || fstat(fd, &st))
		return;
	nw.dev = st.st_dev;
	nw.ino = st.st_ino;
	uvf_mutex_lock(&ws->lock);
	for (unsigned int i = 0; i < ws->n;) {
		struct remote_window *w = &ws->w[i];

		if (w->lo >= nw.hi || nw.lo >= w->hi) {
			i++;
			continue;
		}
		/* the same mapping seen through a piece of it: known already */
		if (w->dev == nw.dev && w->ino == nw.ino && w->writable == nw.writable &&
		    w->file_off - w->lo == nw.file_off - nw.lo && w->lo <= nw.lo && nw.hi <= w->hi)
			goto out;
		remote_window_del(ws, i);
	}
	if (ws->n == REMOTE_WINDOWS_MAX) {
		close(ws->w[0].fd);
		memmove(&ws->w[0], &ws->w[1], (ws->n - 1) * sizeof(ws->w[0]));
		ws->n--;
	}
	nw.fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (nw.fd >= 0)
		ws->w[ws->n++] = nw;
out:
	uvf_mutex_unlock(&ws->lock);
}

/*
 * The window holding addr, with a duplicate of its fd in *fd, or false.
 * A window whose addresses no longer map its file at its offset (per
 * /proc/<pid>/maps: a MAP_SHARED mapping of that dev/ino) is forgotten.
 */
static bool remote_window_find(struct remote_windows *ws, pid_t pid, uint64_t addr,
			       struct remote_window *out)
{
	char path[64], line[512];
	bool found = false, valid = false;
	unsigned int i;
	FILE *f;

	if (!ws)
		return false;
	uvf_mutex_lock(&ws->lock);
	for (i = 0; i < ws->n; i++) {
		if (addr >= ws->w[i].lo && addr < ws->w[i].hi) {
			*out = ws->w[i];
			found = true;
			break;
		}
	}
	uvf_mutex_unlock(&ws->lock);
	if (!found)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi, off, ino;
		unsigned int maj, min;
		char perms[5];

		if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu", &lo, &hi, perms, &off, &maj,
			   &min, &ino) != 7 || addr < lo || addr >= hi)
			continue;
		valid = perms[3] == 's' && ino == out->ino && makedev(maj, min) == out->dev &&
			off + (addr - lo) == out->file_off + (addr - out->lo);
		if (valid && hi < out->hi)
			out->hi = hi;
		break;
	}
	if (f)
		fclose(f);
	uvf_mutex_lock(&ws->lock);
	for (i = 0; i < ws->n; i++) {
		/* the same window still (an fd number alone may have been reused) */
		if (ws->w[i].fd != out->fd || ws->w[i].ino != out->ino || ws->w[i].dev != out->dev)
			continue;
		if (!valid)
			remote_window_del(ws, i);
		else
			out->fd = fcntl(out->fd, F_DUPFD_CLOEXEC, 0);
		break;
	}
	if (i == ws->n && valid)
		valid = false;	/* replaced meanwhile: fall back */
	uvf_mutex_unlock(&ws->lock);
	return valid && out->fd >= 0;
}

/* A segment of the file fd for [addr, +len) where addr is file offset off. */
static int remote_file_seg(struct remote_mm *rm, int fd, uint64_t off, bool write,
			   struct uvf_mem_seg *seg)
{
	uint64_t need;

	if (check_add_overflow(off, seg->len, &need))
		return -EFAULT;
	seg->off = off;
	return filecache_get(rm->d->files, fd, need, write, &seg->obj);
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
	uint64_t next;
	const struct uvp_dma_piece *p = remote_piece_at(rm, addr, &next);
	struct remote_window w;
	int ret;

	if (p) {
		seg->len = uvf_min(end, p->uaddr + p->len) - addr;
		if (write && !p->writable)
			return -EFAULT;
		return remote_file_seg(rm, rm->fds[p->fd_index], p->file_off + (addr - p->uaddr),
				       write, seg);
	}
	seg->len = (next && next < end ? next : end) - addr;
	if (remote_window_find(rm->windows, mm->pid, addr, &w)) {
		seg->len = uvf_min(seg->len, w.hi - addr);
		ret = write && !w.writable ? -EFAULT :
		      remote_file_seg(rm, w.fd, w.file_off + (addr - w.lo), write, seg);
		close(w.fd);
		return ret;
	}
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
	remote_windows_put(rm->windows);
	free(rm);
}

static const struct uvf_mm_ops remote_mm_ops = {
	.read = remote_read,
	.write = remote_write,
	.resolve = remote_resolve,
	.release = remote_release,
};

/*
 * A mm over mem (referenced here; may be NULL) charging account (taken
 * over), sharing the windows ws (referenced here) or with windows of its own.
 */
static struct uvf_mm *remote_mm_alloc(struct uvfiod *d, pid_t pid, struct uvf_memobj *mem,
				      struct uvf_account *account, struct remote_windows *ws)
{
	struct uvf_mm *mm = calloc(1, sizeof(*mm));
	struct remote_mm *rm = calloc(1, sizeof(*rm));

	if (ws)
		uvf_ref_get(&ws->ref);
	else
		ws = remote_windows_new();
	if (!mm || !rm || !ws) {
		free(mm);
		free(rm);
		remote_windows_put(ws);
		account_put(account);
		return NULL;
	}
	if (mem)
		memobj_get(mem);
	rm->d = d;
	rm->windows = ws;
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
	mm = remote_mm_alloc(d, pid, mem, account, NULL);
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
	mm = remote_mm_alloc(brm->d, base->pid, brm->mem, base->account, brm->windows);
	if (!mm)
		return NULL;
	rm = mm->priv;
	rm->pieces = pieces;
	rm->npieces = npieces;
	rm->fds = fds;
	rm->nfds = nfds;
	/* the request checked every piece's fd_index against nfds */
	for (unsigned int i = 0; i < npieces; i++)
		remote_window_learn(rm->windows, &pieces[i], fds[pieces[i].fd_index]);
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
