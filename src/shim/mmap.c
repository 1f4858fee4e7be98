/* SPDX-License-Identifier: MIT */
/*
 * mmap of a channel maps the memory object behind the region: the daemon
 * answers UVP_MMAP with a memfd and the offset of the window, and the
 * shim maps that at the program's address with the program's flags, so
 * stores land in memory the device model sees.  Every other mapping call
 * passes through and marks the DMA maps cache (maps.c) stale.
 */
#include <errno.h>
#include <stdarg.h>
#include <unistd.h>
#include <sys/mman.h>
#include "shim.h"

static void *chan_mmap(int fd, struct shim_chan *ch, void *addr, size_t len, int prot,
		       int flags, off_t off)
{
	struct uvp_mmap req = { .pos = (uint64_t)off, .len = len, .prot = prot, .flags = flags };
	struct uvp_mmap_reply rep;
	struct shim_msg m = { .op = UVP_MMAP, .niov = 1, .iov = { [1] = { &req, sizeof(req) } } };
	struct shim_reply r = { .niov = 1, .iov = { [1] = { &rep, sizeof(rep) } } };
	void *p;
	int err;

	/* What the kernel refuses before the file's mmap is asked. */
	if (!len || off < 0 || (off & (sysconf(_SC_PAGESIZE) - 1))) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	err = shim_chan_begin(ch, fd);
	if (err == -ENOTSOCK)
		return REAL(mmap)(addr, len, prot, flags, fd, off);
	if (err) {
		errno = -err;
		return MAP_FAILED;
	}
	err = shim_xfer(fd, &m, &r, true);
	shim_chan_end(ch);
	if (!err && r.ret < 0)
		err = (int)r.ret;
	if (!err && (r.nfds != 1 || r.len != sizeof(rep)))
		err = -EIO;
	if (err) {
		shim_reply_close_fds(&r);
		errno = -err;
		return MAP_FAILED;
	}
	p = REAL(mmap)(addr, len, prot, flags, r.fds[0], (off_t)rep.file_off);
	err = errno;
	shim_reply_close_fds(&r);
	shim_maps_changed();
	errno = err;
	return p;
}

static void *mmap_common(void *addr, size_t len, int prot, int flags, int fd, off_t off,
			 void *(*real)(void *, size_t, int, int, int, off_t))
{
	struct shim_chan *ch;
	void *p;

	if (shim_unlikely(!(flags & MAP_ANONYMOUS) && shim_fd_is_ours(fd)) &&
	    (ch = shim_chan_get(fd))) {
		p = chan_mmap(fd, ch, addr, len, prot, flags, off);
		shim_chan_put(ch);
		return p;
	}
	p = real(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED)
		shim_maps_changed();
	return p;
}

SHIM_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return mmap_common(addr, len, prot, flags, fd, off, REAL(mmap));
}

SHIM_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	return mmap_common(addr, len, prot, flags, fd, off, REAL(mmap64));
}

SHIM_EXPORT int munmap(void *addr, size_t len)
{
	int r = REAL(munmap)(addr, len);

	if (!r)
		shim_maps_changed();
	return r;
}

SHIM_EXPORT int mprotect(void *addr, size_t len, int prot)
{
	int r = REAL(mprotect)(addr, len, prot);

	if (!r)
		shim_maps_changed();
	return r;
}

SHIM_EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *new_addr = NULL, *p;
	va_list ap;

	if (flags & MREMAP_FIXED) {
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	p = REAL(mremap)(old, old_len, new_len, flags, new_addr);
	if (p != MAP_FAILED)
		shim_maps_changed();
	return p;
}
