/* SPDX-License-Identifier: MIT */
/*
 * close, dup and friends.  A channel is a real fd, so the kernel does the
 * work; the shim keeps its table in step and makes release synchronous:
 * after the real close of the last fd of a channel in this process it
 * sends CLOSE_SYNC, and the daemon answers once it has run the release if
 * that close dropped the last reference anywhere.
 *
 * The shim's own fds (control connection, backing files) are not the
 * program's: a close-everything loop leaves them alone (they are
 * close-on-exec anyway), while dup2 over one is the program's right to the
 * number, and the shim forgets it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>
#include <linux/close_range.h>
#include "shim.h"

static void close_sync(const struct stat *st)
{
	struct uvp_close_sync cs = { .dev = st->st_dev, .ino = st->st_ino };
	struct shim_msg m = { .op = UVP_CLOSE_SYNC, .niov = 1,
			      .iov = { [1] = { &cs, sizeof(cs) } } };
	struct shim_reply r = { .niov = 0 };
	int saved = errno;

	if (!shim_ctrl_call(&m, &r, true))
		shim_reply_close_fds(&r);
	errno = saved;
}

/*
 * Run 'op' (a close, or a dup over fd) with the channel at fd locked, so
 * no request of another thread is between its send and its reply; then
 * sync the release if that was our last fd of the channel.
 */
static int chan_retire(int fd, struct shim_chan *ch, int (*op)(int, void *), void *arg)
{
	struct stat st;
	bool have_id, last;
	int ret, err;

	shim_chan_lock(ch);
	have_id = !REAL(fstat)(fd, &st);
	last = shim_chan_unslot(fd, ch);
	ret = op(fd, arg);
	err = errno;
	shim_chan_unlock(ch);
	if (ret >= 0 && last && have_id)
		close_sync(&st);
	shim_chan_put(ch);
	errno = err;
	return ret;
}

static int op_close(int fd, void *arg)
{
	return REAL(close)(fd);
}

static int shim_fd_close(int fd)
{
	struct shim_chan *ch;

	if (shim_foreign_process())
		return REAL(close)(fd);
	if (shim_fd_type(fd) == SHIM_SLOT_INTERNAL)
		return 0;
	ch = shim_chan_get(fd);
	if (!ch)
		return REAL(close)(fd);
	return chan_retire(fd, ch, op_close, NULL);
}

SHIM_EXPORT int close(int fd)
{
	if (shim_likely(!shim_fd_is_ours(fd)))
		return REAL(close)(fd);
	return shim_fd_close(fd);
}

struct dup_args {
	int oldfd, flags;
	bool is_dup3;
};

static int op_dup(int newfd, void *arg)
{
	struct dup_args *a = arg;

	if (a->is_dup3)
		return REAL(dup3)(a->oldfd, newfd, a->flags);
	return REAL(dup2)(a->oldfd, newfd);
}

static int shim_fd_replace(int oldfd, int newfd, int flags, bool is_dup3)
{
	struct dup_args a = { .oldfd = oldfd, .flags = flags, .is_dup3 = is_dup3 };
	struct shim_chan *victim;
	int ret;

	if (shim_foreign_process())
		return op_dup(newfd, &a);
	if (oldfd == newfd || !shim_fd_is_ours(newfd)) {
		ret = op_dup(newfd, &a);
	} else if (shim_fd_type(newfd) == SHIM_SLOT_INTERNAL) {
		ret = op_dup(newfd, &a);
		if (ret >= 0) {
			/* The number is the program's now. */
			shim_chan_forget_internal(newfd);
			shim_conn_forget(newfd);
			shim_maps_forget_fd(newfd);
		}
	} else if ((victim = shim_chan_get(newfd))) {
		ret = chan_retire(newfd, victim, op_dup, &a);
	} else {
		ret = op_dup(newfd, &a);
	}
	if (ret >= 0 && oldfd != newfd && shim_fd_type(oldfd) == SHIM_SLOT_CHAN)
		shim_chan_dup(oldfd, newfd);
	return ret;
}

SHIM_EXPORT int dup(int fd)
{
	int ret = REAL(dup)(fd);

	if (ret >= 0 && shim_fd_type(fd) == SHIM_SLOT_CHAN)
		shim_chan_dup(fd, ret);
	return ret;
}

SHIM_EXPORT int dup2(int oldfd, int newfd)
{
	if (shim_likely(!shim_fd_is_ours(oldfd) && !shim_fd_is_ours(newfd)))
		return REAL(dup2)(oldfd, newfd);
	return shim_fd_replace(oldfd, newfd, 0, false);
}

SHIM_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	if (shim_likely(!shim_fd_is_ours(oldfd) && !shim_fd_is_ours(newfd)))
		return REAL(dup3)(oldfd, newfd, flags);
	return shim_fd_replace(oldfd, newfd, flags, true);
}

static int fcntl_common(int (*fn)(int, int, ...), int fd, int cmd, void *arg)
{
	int ret = fn(fd, cmd, arg);

	if (ret >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) &&
	    shim_fd_type(fd) == SHIM_SLOT_CHAN)
		shim_chan_dup(fd, ret);
	return ret;
}

SHIM_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(REAL(fcntl), fd, cmd, arg);
}

SHIM_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(REAL(fcntl64) ? REAL(fcntl64) : REAL(fcntl), fd, cmd, arg);
}

/* The first of the shim's own fds in [from, last], or -1. */
static int next_internal(unsigned int from, unsigned int last)
{
	int fd;

	while (from <= last && (fd = shim_fd_next_ours(from, last)) >= 0) {
		if (shim_fd_type(fd) == SHIM_SLOT_INTERNAL)
			return fd;
		if ((unsigned int)fd == last)
			break;
		from = (unsigned int)fd + 1;
	}
	return -1;
}

/* Close [first, last] through the real call, stepping over the shim's own fds. */
static int close_range_skipping(unsigned int first, unsigned int last, int flags)
{
	int ret = 0;

	for (;;) {
		int fd = next_internal(first, last);
		unsigned int end = fd < 0 ? last : (unsigned int)fd - 1;

		if ((fd < 0 || (unsigned int)fd > first) &&
		    REAL(close_range)(first, end, flags))
			ret = -1;
		if (fd < 0 || (unsigned int)fd == last)
			return ret;
		first = (unsigned int)fd + 1;
	}
}

static int shim_fd_close_range(unsigned int first, unsigned int last, int flags)
{
	int fd;

	if (!REAL(close_range)) {
		errno = ENOSYS;
		return -1;
	}
	if (first > last) {
		errno = EINVAL;
		return -1;
	}
	if (flags & CLOSE_RANGE_CLOEXEC)
		return REAL(close_range)(first, last, flags);
	/* Channels first, one by one, so each gets its release synced. */
	for (unsigned int lo = first; lo <= last && (fd = shim_fd_next_ours(lo, last)) >= 0;) {
		if (shim_fd_type(fd) == SHIM_SLOT_CHAN)
			shim_fd_close(fd);
		if ((unsigned int)fd == last)
			break;
		lo = (unsigned int)fd + 1;
	}
	return close_range_skipping(first, last, flags);
}

SHIM_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	return shim_fd_close_range(first, last, flags);
}

SHIM_EXPORT void closefrom(int lowfd)
{
	if (lowfd < 0)
		lowfd = 0;
	if (shim_fd_close_range((unsigned int)lowfd, ~0u, 0) && REAL(closefrom))
		REAL(closefrom)(lowfd);
}
