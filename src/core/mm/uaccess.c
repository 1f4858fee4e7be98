// SPDX-License-Identifier: MIT
/*
 * copy_from_user and friends: the caller's staged argument bytes first,
 * then the caller's mm.
 */
#include <errno.h>
#include <string.h>
#include "caller.h"
#include "../base/compiler.h"
#include "../host/file.h"

/* The staged window covering [uaddr, uaddr+len), or NULL. */
static uint8_t *stage_window(struct uvf_caller *c, uint64_t uaddr, size_t len)
{
	struct uvf_stage *s = c->stage;
	uint64_t end;

	if (!s || check_add_overflow(uaddr, len, &end))
		return NULL;
	if (uaddr < s->uaddr || end > s->uaddr + s->len)
		return NULL;
	return s->buf + (uaddr - s->uaddr);
}

int copy_from_user(struct uvf_caller *c, void *dst, uint64_t uaddr, size_t len)
{
	uint8_t *src;

	if (!len)
		return 0;
	src = stage_window(c, uaddr, len);
	if (src) {
		memcpy(dst, src, len);
		return 0;
	}
	if (!c->mm)
		return -EFAULT;
	return c->mm->ops->read(c->mm, dst, uaddr, len);
}

int copy_to_user(struct uvf_caller *c, uint64_t uaddr, const void *src, size_t len)
{
	uint8_t *dst;

	if (!len)
		return 0;
	dst = stage_window(c, uaddr, len);
	if (dst) {
		memcpy(dst, src, len);
		c->stage->dirty = true;
		return 0;
	}
	if (!c->mm)
		return -EFAULT;
	return c->mm->ops->write(c->mm, uaddr, src, len);
}

int clear_user(struct uvf_caller *c, uint64_t uaddr, size_t len)
{
	static const uint8_t zeros[256];

	while (len) {
		size_t n = uvf_min(len, sizeof(zeros));
		int ret = copy_to_user(c, uaddr, zeros, n);

		if (ret)
			return ret;
		uaddr += n;
		len -= n;
	}
	return 0;
}

/*
 * Reads page-bounded chunks so that a string ending just before an
 * unmapped page is still read, as the kernel's strncpy_from_user does.
 */
int strncpy_from_user(struct uvf_caller *c, char *dst, uint64_t uaddr, size_t max)
{
	size_t done = 0;

	while (done < max) {
		uint64_t a = uaddr + done;
		size_t chunk = UVF_PAGE_SIZE - (a & (UVF_PAGE_SIZE - 1));
		char *nul;
		int ret;

		chunk = uvf_min(chunk, max - done);
		ret = copy_from_user(c, dst + done, a, chunk);
		if (ret)
			return ret;
		nul = memchr(dst + done, '\0', chunk);
		if (nul)
			return (int)(nul - dst);
		done += chunk;
	}
	return -ENAMETOOLONG;
}

int copy_struct_from_user(struct uvf_caller *c, void *dst, size_t ksize,
			  uint64_t uaddr, size_t usize)
{
	size_t size = uvf_min(ksize, usize);

	if (usize < ksize)
		memset((uint8_t *)dst + size, 0, ksize - size);
	if (usize > ksize) {
		uint8_t tail[64];
		uint64_t a = uaddr + ksize;
		size_t rest = usize - ksize;

		while (rest) {
			size_t n = uvf_min(rest, sizeof(tail));
			int ret = copy_from_user(c, tail, a, n);

			if (ret)
				return ret;
			for (size_t i = 0; i < n; i++)
				if (tail[i])
					return -E2BIG;
			a += n;
			rest -= n;
		}
	}
	return copy_from_user(c, dst, uaddr, size);
}

struct uvf_file *caller_fget(struct uvf_caller *c, int fd)
{
	if (fd < 0 || !c->fds || !c->fds->fget)
		return NULL;
	return c->fds->fget(c, fd);
}

int caller_fget_raw(struct uvf_caller *c, int fd)
{
	if (fd < 0 || !c->fds || !c->fds->fget_raw)
		return -EBADF;
	return c->fds->fget_raw(c, fd);
}

int caller_fd_install(struct uvf_caller *c, struct uvf_file *f, int o_flags)
{
	if (!c->fds || !c->fds->fd_install) {
		file_put(f);
		return -EMFILE;
	}
	return c->fds->fd_install(c, f, o_flags);
}
