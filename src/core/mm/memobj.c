// SPDX-License-Identifier: MIT
/*
 * Memory objects: what an IOVA or an mmap ultimately points at.  A DIRECT
 * object is addressable in this process (a memfd we mapped, or our own
 * address space for in-process callers); a REMOTE object is another
 * process's memory reached through a handle such as /proc/<pid>/mem.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/mman.h>
#include "mm.h"
#include "../base/compiler.h"

struct memfd_priv {
	int fd;
};

void memobj_put(struct uvf_memobj *m)
{
	if (!m || !uvf_ref_put(&m->ref))
		return;
	if (m->release)
		m->release(m);
	else
		free(m);
}

/* [off, off+len) inside [0, size) without wrapping. */
static bool memobj_range_ok(const struct uvf_memobj *m, uint64_t off, uint64_t len)
{
	uint64_t end;

	if (check_add_overflow(off, len, &end))
		return false;
	return end <= m->size;
}

void *memobj_ptr(struct uvf_memobj *m, uint64_t off, size_t len)
{
	if (m->kind != UVF_MEMOBJ_DIRECT || !memobj_range_ok(m, off, len))
		return NULL;
	return (void *)((uintptr_t)m->base + off);
}

/* pread/pwrite until done: a short transfer means an unmapped page. */
static int memobj_remote_io(struct uvf_memobj *m, uint64_t off, void *buf, size_t len,
			    bool write)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = write ? pwrite(m->mem_fd, p, len, (off_t)off)
				  : pread(m->mem_fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EFAULT;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int memobj_read(struct uvf_memobj *m, uint64_t off, void *dst, size_t len)
{
	void *src;

	if (!memobj_range_ok(m, off, len))
		return -EFAULT;
	if (m->kind == UVF_MEMOBJ_REMOTE)
		return memobj_remote_io(m, off, dst, len, false);
	src = memobj_ptr(m, off, len);
	memcpy(dst, src, len);
	return 0;
}

int memobj_write(struct uvf_memobj *m, uint64_t off, const void *src, size_t len)
{
	void *dst;

	if (m->readonly || !memobj_range_ok(m, off, len))
		return -EFAULT;
	if (m->kind == UVF_MEMOBJ_REMOTE)
		return memobj_remote_io(m, off, (void *)src, len, true);
	dst = memobj_ptr(m, off, len);
	memcpy(dst, src, len);
	return 0;
}

static void memobj_memfd_release(struct uvf_memobj *m)
{
	struct memfd_priv *mp = m->priv;

	munmap(m->base, m->size);
	close(mp->fd);
	free(mp);
	free(m);
}

struct uvf_memobj *memobj_new_memfd(const char *name, uint64_t size)
{
	struct uvf_memobj *m = calloc(1, sizeof(*m));
	struct memfd_priv *mp = calloc(1, sizeof(*mp));
	void *base;
	int fd = -1;

	if (!m || !mp || !size)
		goto fail;
	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || ftruncate(fd, (off_t)size))
		goto fail;
	/*
	 * The fd is handed to clients for mmap.  Sealing its size means a
	 * client cannot shrink the file under the host's own mapping, which
	 * would turn the host's next access into SIGBUS.
	 */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
		goto fail;
	base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		goto fail;
	uvf_ref_init(&m->ref);
	m->kind = UVF_MEMOBJ_DIRECT;
	m->base = base;
	m->mem_fd = -1;
	m->size = size;
	m->release = memobj_memfd_release;
	mp->fd = fd;
	m->priv = mp;
	return m;
fail:
	if (fd >= 0)
		close(fd);
	free(mp);
	free(m);
	return NULL;
}

int memobj_fd(const struct uvf_memobj *m)
{
	if (m->release != memobj_memfd_release)
		return -1;
	return ((struct memfd_priv *)m->priv)->fd;
}
