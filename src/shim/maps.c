/* SPDX-License-Identifier: MIT */
/*
 * Backing files of DMA ranges.  MAP_DMA names memory by address; the
 * daemon can reach any of it through the process's memory handle, but a
 * range backed by a shareable file (memfd, shm, hugetlbfs, a MAP_SHARED
 * file) is better passed as the file: the daemon maps each file once and
 * the pages stay reachable after the program unmaps them, as pinned pages
 * do.  So for each piece of the range the shim finds the backing file in
 * /proc/self/maps and attaches an fd for it.
 *
 * The parsed maps are cached and re-read when the shim's own mmap, munmap,
 * mremap or mprotect wrappers saw a change, or when a lookup finds a hole
 * (memory mapped by a path we do not see, such as libc's internal mmap).
 * fds for backing files are cached by (dev, ino): opened through
 * /proc/self/map_files (root), else found among the program's own fds.
 * A cached fd is closed when its file no longer appears in the maps and
 * no request in flight names it.
 *
 * Locking: maps_lock guards everything here; it is taken last.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include "shim.h"

#define MAX_BACKING	256

struct vma {
	uint64_t lo, hi, off;
	uint64_t dev, ino;
	bool shared, readable, writable;
};

struct backing {
	uint64_t dev, ino;
	int fd;
	int users;		/* requests in flight naming it */
	bool seen;		/* present in the last parse */
};

static pthread_mutex_t maps_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint maps_gen = 1;
static unsigned int parsed_gen;
static struct vma *vmas;
static size_t nvmas, vmas_cap;
static struct backing backings[MAX_BACKING];
static int nbackings;

void shim_maps_changed(void)
{
	atomic_fetch_add_explicit(&maps_gen, 1, memory_order_release);
}

/* Read all of /proc/self/maps; returns a malloc'd NUL-terminated buffer. */
static char *maps_read(void)
{
	size_t cap = 64 * 1024, len = 0;
	char *buf = malloc(cap);
	int fd = REAL(open)("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (!buf || fd < 0) {
		free(buf);
		if (fd >= 0)
			REAL(close)(fd);
		return NULL;
	}
	for (;;) {
		ssize_t n;

		if (cap - len < 4096) {
			char *bigger = realloc(buf, cap * 2);

			if (!bigger)
				break;
			buf = bigger;
			cap *= 2;
		}
		n = REAL(read)(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += n;
	}
	REAL(close)(fd);
	buf[len] = '\0';
	return buf;
}

static bool vma_push(const struct vma *v)
{
	if (nvmas == vmas_cap) {
		size_t cap = vmas_cap ? vmas_cap * 2 : 256;
		struct vma *bigger = realloc(vmas, cap * sizeof(*vmas));

		if (!bigger)
			return false;
		vmas = bigger;
		vmas_cap = cap;
	}
	vmas[nvmas++] = *v;
	return true;
}

/* "lo-hi perms off maj:min ino path" */
static bool vma_parse(const char *line, struct vma *v)
{
	char *end;
	unsigned long maj, min;

	v->lo = strtoull(line, &end, 16);
	if (*end != '-')
		return false;
	v->hi = strtoull(end + 1, &end, 16);
	if (*end != ' ' || strlen(end) < 6)
		return false;
	v->readable = end[1] == 'r';
	v->writable = end[2] == 'w';
	v->shared = end[4] == 's';
	v->off = strtoull(end + 6, &end, 16);
	maj = strtoul(end, &end, 16);
	if (*end != ':')
		return false;
	min = strtoul(end + 1, &end, 16);
	v->ino = strtoull(end, &end, 10);
	v->dev = makedev(maj, min);
	return true;
}

static void backing_mark_seen(const struct vma *v)
{
	for (int i = 0; i < nbackings; i++)
		if (backings[i].dev == v->dev && backings[i].ino == v->ino)
			backings[i].seen = true;
}

/* Close cached files no mapping uses any more. */
static void backing_sweep(void)
{
	for (int i = 0; i < nbackings;) {
		if (backings[i].users || (backings[i].seen && backings[i].fd >= 0)) {
			i++;
			continue;
		}
		if (backings[i].fd >= 0)
			shim_internal_close(backings[i].fd);
		backings[i] = backings[--nbackings];
	}
}

static int maps_parse(void)
{
	unsigned int gen = atomic_load_explicit(&maps_gen, memory_order_acquire);
	char *buf = maps_read();

	if (!buf)
		return -ENOMEM;
	nvmas = 0;
	for (int i = 0; i < nbackings; i++)
		backings[i].seen = false;
	for (char *line = buf; *line;) {
		char *nl = strchr(line, '\n');
		struct vma v;

		if (nl)
			*nl = '\0';
		if (vma_parse(line, &v)) {
			if (!vma_push(&v))
				break;
			if (v.shared && v.ino)
				backing_mark_seen(&v);
		}
		if (!nl)
			break;
		line = nl + 1;
	}
	free(buf);
	backing_sweep();
	parsed_gen = gen;
	return 0;
}

/* One of the program's fds open on (dev, ino), duplicated for us. */
static int backing_from_fds(const struct vma *v)
{
	char buf[4096];
	int dir = REAL(open)("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int found = -1;

	if (dir < 0)
		return -1;
	while (found < 0) {
		long n = syscall(SYS_getdents64, dir, buf, sizeof(buf));

		if (n <= 0)
			break;
		for (long off = 0; off < n && found < 0;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			struct stat st;
			int fd = atoi(d->d_name);

			off += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9' || fd == dir ||
			    shim_fd_is_ours(fd))
				continue;
			if (!REAL(fstat)(fd, &st) && st.st_dev == v->dev && st.st_ino == v->ino)
				found = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, 0);
		}
	}
	REAL(close)(dir);
	return found;
}

static int backing_open(const struct vma *v)
{
	char path[64];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/map_files/%llx-%llx",
		 (unsigned long long)v->lo, (unsigned long long)v->hi);
	fd = REAL(open)(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fd = REAL(open)(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && (REAL(fstat)(fd, &st) || st.st_dev != v->dev || st.st_ino != v->ino)) {
		REAL(close)(fd);
		fd = -1;
	}
	if (fd < 0)
		fd = backing_from_fds(v);
	return fd;
}

static struct backing *backing_get(const struct vma *v)
{
	struct backing *b;
	int fd;

	for (int i = 0; i < nbackings; i++)
		if (backings[i].dev == v->dev && backings[i].ino == v->ino)
			return backings[i].fd >= 0 ? &backings[i] : NULL;
	if (nbackings == MAX_BACKING)
		return NULL;
	fd = backing_open(v);
	if (fd < 0)
		return NULL;
	fd = shim_internal_fd(fd);
	if (fd < 0)
		return NULL;
	b = &backings[nbackings++];
	*b = (struct backing){ .dev = v->dev, .ino = v->ino, .fd = fd, .seen = true };
	return b;
}

/* The attached-fd index of b in io, attaching it first. */
static int backing_attach(struct shim_ioc *io, struct backing *b)
{
	for (int i = 0; i < io->nfds; i++)
		if (io->fds[i] == b->fd)
			return i;
	if (io->nfds >= UVP_MAX_FDS)
		return -1;
	b->users++;
	io->backing[io->nbacking++] = b;
	io->fds[io->nfds] = b->fd;
	return io->nfds++;
}

static bool piece_add(struct shim_ioc *io, uint64_t uaddr, uint64_t len, uint64_t off,
		      int idx, bool writable)
{
	struct uvp_dma_piece *last = io->ndma ? &io->dma[io->ndma - 1] : NULL;

	if (last && last->fd_index == (uint32_t)idx && last->uaddr + last->len == uaddr &&
	    last->file_off + last->len == off && last->writable == writable) {
		last->len += len;
		return true;
	}
	if (io->ndma == SHIM_IOC_MAX_DMA)
		return false;
	if (!io->dma) {
		io->dma = malloc(SHIM_IOC_MAX_DMA * sizeof(*io->dma));
		if (!io->dma)
			return false;
	}
	io->dma[io->ndma++] = (struct uvp_dma_piece){
		.uaddr = uaddr, .len = len, .file_off = off,
		.fd_index = (uint32_t)idx, .writable = writable,
	};
	return true;
}

/* First vma ending above addr (vmas are sorted). */
static size_t vma_find(uint64_t addr)
{
	size_t lo = 0, hi = nvmas;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (vmas[mid].hi <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* [start, end) lies wholly inside mappings we know of. */
static bool maps_cover(uint64_t start, uint64_t end)
{
	for (size_t i = vma_find(start); start < end; i++) {
		if (i >= nvmas || vmas[i].lo > start)
			return false;
		start = vmas[i].hi;
	}
	return true;
}

static void maps_collect(struct shim_ioc *io, uint64_t start, uint64_t end)
{
	for (size_t i = vma_find(start); i < nvmas && vmas[i].lo < end; i++) {
		const struct vma *v = &vmas[i];
		uint64_t lo = v->lo > start ? v->lo : start;
		uint64_t hi = v->hi < end ? v->hi : end;
		struct backing *b;
		int idx;

		/* Private and anonymous memory goes through the memory handle. */
		if (!v->shared || !v->ino || !v->readable)
			continue;
		b = backing_get(v);
		if (!b || (idx = backing_attach(io, b)) < 0)
			continue;
		if (!piece_add(io, lo, hi - lo, v->off + (lo - v->lo), idx, v->writable))
			return;
	}
}

int shim_maps_dma_pieces(struct shim_ioc *io, uint64_t uaddr, uint64_t len)
{
	uint64_t end;
	int err = 0;

	if (__builtin_add_overflow(uaddr, len, &end))
		return 0;	/* the daemon answers for a range that wraps */
	pthread_mutex_lock(&maps_lock);
	if (parsed_gen != atomic_load(&maps_gen) || !maps_cover(uaddr, end))
		err = maps_parse();
	if (!err)
		maps_collect(io, uaddr, end);
	pthread_mutex_unlock(&maps_lock);
	return err == -ENOMEM ? 0 : err;
}

void shim_maps_release(struct shim_ioc *io)
{
	if (!io->nbacking)
		return;
	pthread_mutex_lock(&maps_lock);
	for (uint32_t i = 0; i < io->nbacking; i++)
		((struct backing *)io->backing[i])->users--;
	pthread_mutex_unlock(&maps_lock);
	io->nbacking = 0;
}

void shim_maps_forget_fd(int fd)
{
	pthread_mutex_lock(&maps_lock);
	for (int i = 0; i < nbackings; i++) {
		if (backings[i].fd != fd)
			continue;
		if (backings[i].users)
			backings[i].fd = -1;	/* in flight: dropped by the next sweep */
		else
			backings[i] = backings[--nbackings];
		break;
	}
	pthread_mutex_unlock(&maps_lock);
}

void shim_maps_atfork_child(void)
{
	pthread_mutex_init(&maps_lock, NULL);
	for (int i = 0; i < nbackings; i++)
		backings[i].users = 0;
}
