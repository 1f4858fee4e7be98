/* SPDX-License-Identifier: MIT */
/*
 * read/write and pread/pwrite on channels: config space, trapped BAR
 * accesses, later fault queues.  Data moves in requests of at most
 * UVP_MAX_STAGE bytes, straight between the program's buffer and the
 * socket, so a bad buffer is EFAULT from the kernel itself; a buffer on the
 * caller's stack page (the usual 1-8 byte MMIO access) is plain memory and
 * travels in one buffer with send()/recv().  read() and write() use the
 * file position, which the shim keeps per channel.
 */
#include <errno.h>
#include <limits.h>
#include <unistd.h>
#include <sys/uio.h>
#include "shim.h"

static ssize_t rw_fail(int err)
{
	errno = err;
	return -1;
}

/*
 * One request of at most UVP_MAX_STAGE bytes: bytes moved or -errno.  Only
 * one direction carries the program's buffer, so the other one is the
 * cheap call: a read's request and a write's reply (a bare header) need no
 * msghdr; local: the buffer is on the caller's stack page.
 */
static SHIM_HOT ssize_t rw_chunk(int fd, bool write, char *buf, size_t count, uint64_t pos,
				 bool local)
{
	struct uvp_rw rw = { .pos = pos, .count = count };
	struct shim_msg m = { .op = write ? UVP_WRITE : UVP_READ, .niov = 1,
			      .iov = { [1] = { &rw, sizeof(rw) } },
			      .local = local || !write || !count };
	struct shim_reply r;		/* r.fds is filled up to r.nfds */
	int err;

	r.niov = 0;
	r.nfds = 0;
	r.nofds = true;
	r.local = local;
	if (write && count)
		shim_msg_add(&m, buf, count);
	if (!write && count)
		shim_reply_add(&r, buf, count);
	err = shim_xfer(fd, &m, &r, true);
	shim_reply_close_fds(&r);
	if (err)
		return err;
	if (r.ret < 0)
		return r.ret;
	if ((uint64_t)r.ret > count || (!write && r.len != (uint64_t)r.ret))
		return -EIO;
	return r.ret;
}

SHIM_HOT ssize_t shim_chan_rw(int fd, struct shim_chan *ch, bool write, void *buf,
			      size_t count, const uint64_t *pos, uintptr_t frame)
{
	uint64_t at;
	size_t done = 0;
	ssize_t n = 0;
	int saved = errno, err = shim_chan_begin(ch, fd);

	if (err)
		return err;
	at = pos ? *pos : ch->pos;
	do {
		size_t chunk = count - done < UVP_MAX_STAGE ? count - done : UVP_MAX_STAGE;

		n = rw_chunk(fd, write, (char *)buf + done, chunk,
			     ch->kind == SHIM_K_AUX && !pos ? 0 : at + done,
			     shim_on_caller_page(frame, (uintptr_t)buf + done, chunk));
		if (n < 0)
			break;
		done += n;
		if ((size_t)n < chunk)
			break;
	} while (done < count);
	/*
	 * The VFS leaves f_pos to the driver: vfio's device files advance it,
	 * the iommufd files that are records (fault queues) never do, and
	 * answer ESPIPE to any other position than 0.
	 */
	if (!pos && ch->kind != SHIM_K_AUX)
		ch->pos = at + done;
	shim_chan_end(ch);
	errno = saved;
	/* Like the kernel: a failure after some progress reports the progress. */
	return done || n >= 0 ? (ssize_t)done : n;
}

/* The channel at fd, or NULL to pass the call through. */
static SHIM_HOT struct shim_chan *rw_chan(int fd)
{
	if (shim_likely(!shim_fd_is_ours(fd)))
		return NULL;
	return shim_chan_get(fd);
}

static SHIM_HOT ssize_t rw_result(int fd, struct shim_chan *ch, ssize_t n,
				  bool *passthrough)
{
	*passthrough = false;
	shim_chan_put(ch);
	if (n == -ENOTSOCK) {
		shim_chan_drop_stale(fd);
		*passthrough = true;
		return 0;
	}
	return n < 0 ? rw_fail((int)-n) : n;
}

/* read(), from the exported wrapper whose caller's frame is at frame. */
static SHIM_HOT ssize_t rw_read(int fd, void *buf, size_t count, uintptr_t frame)
{
	struct shim_chan *ch = rw_chan(fd);
	bool pass;
	ssize_t n;

	if (!ch)
		return REAL(read)(fd, buf, count);
	n = rw_result(fd, ch, shim_chan_rw(fd, ch, false, buf, count, NULL, frame), &pass);
	return pass ? REAL(read)(fd, buf, count) : n;
}

SHIM_EXPORT SHIM_HOT ssize_t read(int fd, void *buf, size_t count)
{
	return rw_read(fd, buf, count, SHIM_CALLER_FRAME());
}

SHIM_EXPORT SHIM_HOT ssize_t write(int fd, const void *buf, size_t count)
{
	struct shim_chan *ch = rw_chan(fd);
	bool pass;
	ssize_t n;

	if (!ch)
		return REAL(write)(fd, buf, count);
	n = rw_result(fd, ch, shim_chan_rw(fd, ch, true, (void *)buf, count, NULL,
					   SHIM_CALLER_FRAME()), &pass);
	return pass ? REAL(write)(fd, buf, count) : n;
}

static SHIM_HOT ssize_t prw(int fd, struct shim_chan *ch, bool write, void *buf,
			    size_t count, off64_t off, uintptr_t frame, bool *pass)
{
	uint64_t pos = (uint64_t)off;

	if (off < 0) {
		*pass = false;
		shim_chan_put(ch);
		return rw_fail(EINVAL);
	}
	return rw_result(fd, ch, shim_chan_rw(fd, ch, write, buf, count, &pos, frame), pass);
}

/* name##_at: the call from the exported wrapper whose caller's frame is frame. */
#define SHIM_PREAD(name, otype)                                               \
static SHIM_HOT ssize_t name##_at(int fd, void *buf, size_t count, otype off, \
				  uintptr_t frame)                            \
{                                                                             \
	struct shim_chan *ch = rw_chan(fd);                                   \
	bool pass;                                                            \
	ssize_t n;                                                            \
                                                                              \
	if (!ch)                                                              \
		return REAL(name)(fd, buf, count, off);                       \
	n = prw(fd, ch, false, buf, count, off, frame, &pass);                \
	return pass ? REAL(name)(fd, buf, count, off) : n;                    \
}                                                                             \
                                                                              \
SHIM_EXPORT SHIM_HOT ssize_t name(int fd, void *buf, size_t count, otype off) \
{                                                                             \
	return name##_at(fd, buf, count, off, SHIM_CALLER_FRAME());           \
}

#define SHIM_PWRITE(name, otype)                                              \
SHIM_EXPORT SHIM_HOT ssize_t name(int fd, const void *buf, size_t count,      \
				  otype off)                                  \
{                                                                             \
	struct shim_chan *ch = rw_chan(fd);                                   \
	bool pass;                                                            \
	ssize_t n;                                                            \
                                                                              \
	if (!ch)                                                              \
		return REAL(name)(fd, buf, count, off);                       \
	n = prw(fd, ch, true, (void *)buf, count, off, SHIM_CALLER_FRAME(), &pass); \
	return pass ? REAL(name)(fd, buf, count, off) : n;                    \
}

SHIM_PREAD(pread, off_t)
SHIM_PREAD(pread64, off64_t)
SHIM_PWRITE(pwrite, off_t)
SHIM_PWRITE(pwrite64, off64_t)

/* The vector calls, element by element; a short transfer ends the call. */
static ssize_t rwv(int fd, struct shim_chan *ch, bool write, const struct iovec *iov,
		   int n, off64_t off, bool positioned, uintptr_t frame, bool *pass)
{
	ssize_t total = 0;

	*pass = false;
	if (n < 0 || n > IOV_MAX || (positioned && off < 0)) {
		shim_chan_put(ch);
		return rw_fail(EINVAL);
	}
	for (int i = 0; i < n; i++) {
		uint64_t pos = (uint64_t)off + total;
		ssize_t r = shim_chan_rw(fd, ch, write, iov[i].iov_base, iov[i].iov_len,
					 positioned ? &pos : NULL, frame);

		if (r == -ENOTSOCK && !total) {
			shim_chan_drop_stale(fd);
			shim_chan_put(ch);
			*pass = true;
			return 0;
		}
		if (r < 0) {
			shim_chan_put(ch);
			return total ? total : rw_fail((int)-r);
		}
		total += r;
		if ((size_t)r < iov[i].iov_len)
			break;
	}
	shim_chan_put(ch);
	return total;
}

#define SHIM_RWV(name, write)                                                 \
SHIM_EXPORT ssize_t name(int fd, const struct iovec *iov, int n)              \
{                                                                             \
	struct shim_chan *ch = rw_chan(fd);                                   \
	bool pass;                                                            \
	ssize_t r;                                                            \
                                                                              \
	if (!ch)                                                              \
		return REAL(name)(fd, iov, n);                                \
	r = rwv(fd, ch, write, iov, n, 0, false, SHIM_CALLER_FRAME(), &pass); \
	return pass ? REAL(name)(fd, iov, n) : r;                             \
}

#define SHIM_PRWV(name, write, otype)                                         \
SHIM_EXPORT ssize_t name(int fd, const struct iovec *iov, int n, otype off)   \
{                                                                             \
	struct shim_chan *ch = rw_chan(fd);                                   \
	bool pass;                                                            \
	ssize_t r;                                                            \
                                                                              \
	if (!ch)                                                              \
		return REAL(name)(fd, iov, n, off);                           \
	r = rwv(fd, ch, write, iov, n, off, true, SHIM_CALLER_FRAME(), &pass); \
	return pass ? REAL(name)(fd, iov, n, off) : r;                        \
}

SHIM_RWV(readv, false)
SHIM_RWV(writev, true)
SHIM_PRWV(preadv, false, off_t)
SHIM_PRWV(pwritev, true, off_t)
SHIM_PRWV(preadv64, false, off64_t)
SHIM_PRWV(pwritev64, true, off64_t)

SHIM_EXPORT ssize_t __read_chk(int fd, void *buf, size_t nbytes, size_t buflen)
{
	if (nbytes > buflen)
		__chk_fail();
	return rw_read(fd, buf, nbytes, SHIM_CALLER_FRAME());
}

SHIM_EXPORT ssize_t __pread_chk(int fd, void *buf, size_t nbytes, off_t offset, size_t buflen)
{
	if (nbytes > buflen)
		__chk_fail();
	return pread_at(fd, buf, nbytes, offset, SHIM_CALLER_FRAME());
}

SHIM_EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t nbytes, off64_t offset,
				  size_t buflen)
{
	if (nbytes > buflen)
		__chk_fail();
	return pread64_at(fd, buf, nbytes, offset, SHIM_CALLER_FRAME());
}
