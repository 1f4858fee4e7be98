/* SPDX-License-Identifier: MIT */
/*
 * The runtime directory and the control connection.
 *
 * The runtime comes from $UVFIO_RUNTIME; without it the shim serves
 * nothing.  The control connection is made on first need (the first served
 * path or adopted channel), one per process: a child after fork makes its
 * own, because the daemon identifies processes by the credentials of each
 * message and a reply must never reach another process.  HELLO registers
 * the process's memory handle (/proc/self/mem), RLIMIT_MEMLOCK and
 * capabilities; the reply names the served path prefixes and the daemon's
 * pid.
 *
 * shim_xfer() is one request/reply exchange on any of our sockets.  The
 * caller serialises users of a socket (ctrl_lock here, chan->lock for
 * channels), so the reply read is the reply to the request sent.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include "client/uvp_client.h"
#include "shim.h"

#define SHIM_MAX_PREFIXES	64
#define SHIM_PREFIX_BYTES	8192

static char runtime[PATH_MAX];
static bool enabled;
static pid_t cached_pid;
static __thread pid_t cached_tid __attribute__((tls_model("initial-exec")));

static pthread_mutex_t ctrl_lock = PTHREAD_MUTEX_INITIALIZER;
static int ctrl_fd = -1;
static pid_t daemon_pid;
static bool warned_unreachable;
static time_t last_failure;		/* retry an unreachable daemon once a second */

/* Written once, by the first successful HELLO; read without a lock. */
static char prefix_buf[SHIM_PREFIX_BYTES];
static struct { uint32_t off, len; } prefixes[SHIM_MAX_PREFIXES];
static atomic_int nprefixes;

pid_t shim_pid(void)
{
	if (shim_unlikely(!cached_pid))
		cached_pid = (pid_t)syscall(SYS_getpid);
	return cached_pid;
}

/*
 * A vfork child (or a raw clone) shares or copies our memory without the
 * fork handlers having run: it must not change the parent's tables.
 */
bool shim_foreign_process(void)
{
	return cached_pid && (pid_t)syscall(SYS_getpid) != cached_pid;
}

SHIM_HOT pid_t shim_tid(void)
{
	if (shim_unlikely(!cached_tid))
		cached_tid = (pid_t)syscall(SYS_gettid);
	return cached_tid;
}

void shim_warn(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n, saved = errno;

	n = snprintf(line, sizeof(line), "uvfio-preload[%d]: ", (int)shim_pid());
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (REAL(write)(STDERR_FILENO, line, n) < 0)
		(void)0;
	errno = saved;
}

static void conn_read_env(void)
{
	const char *rt = getenv("UVFIO_RUNTIME");
	const char *off = getenv("UVFIO_SHIM_DISABLE");

	if (!rt || !*rt || (off && *off && strcmp(off, "0")))
		return;
	if (strlen(rt) >= sizeof(runtime) - 64)
		return;
	strcpy(runtime, rt);
	/* Trailing slashes would break prefix arithmetic. */
	for (size_t n = strlen(runtime); n > 1 && runtime[n - 1] == '/'; n--)
		runtime[n - 1] = '\0';
	enabled = true;
}

bool shim_enabled(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, conn_read_env);
	return enabled;
}

const char *shim_runtime(void)
{
	return shim_enabled() ? runtime : NULL;
}

pid_t shim_daemon_pid(void)
{
	return daemon_pid;
}

int shim_prefix_count(void)
{
	return atomic_load_explicit(&nprefixes, memory_order_acquire);
}

const char *shim_prefix(int i, size_t *len)
{
	*len = prefixes[i].len;
	return prefix_buf + prefixes[i].off;
}

static int wait_ready(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	while (poll(&p, 1, -1) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/*
 * The cheapest call that carries a message: send() from one buffer for
 * local pieces (sendmsg() first copies in a msghdr and the iovecs, a few
 * percent of a round trip), sendmsg() without a control buffer when there
 * are no fds, uvp_send() with them.
 */
#define XFER_SMALL	512

static SHIM_HOT ssize_t xfer_sendmsg(int fd, struct shim_msg *m, size_t len)
{
	union {
		uint8_t buf[XFER_SMALL];
		struct uvp_req align;
	} u;
	struct msghdr msg = { .msg_iov = m->iov, .msg_iovlen = (size_t)m->niov + 1 };
	size_t at = 0;
	ssize_t n;

	if (m->nfds)
		return uvp_send(fd, m->iov, m->niov + 1, m->fds, m->nfds);
	if (!m->local || len > XFER_SMALL) {
		do
			n = sendmsg(fd, &msg, MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		return n < 0 ? -errno : n;
	}
	for (int i = 0; i <= m->niov; at += m->iov[i++].iov_len)
		if (m->iov[i].iov_len)
			memcpy(u.buf + at, m->iov[i].iov_base, m->iov[i].iov_len);
	do
		n = send(fd, u.buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/* The program may have made the socket non-blocking (FIONBIO, F_SETFL):
 * a request still waits for its reply. */
static SHIM_HOT ssize_t xfer_send(int fd, struct shim_msg *m)
{
	struct uvp_req hdr = { .op = m->op, .tid = shim_tid(), .nfds = m->nfds };
	ssize_t n;

	for (int i = 1; i <= m->niov; i++)
		hdr.len += m->iov[i].iov_len;
	if (hdr.len > UVP_MAX_BODY)
		return -E2BIG;
	m->iov[0] = (struct iovec){ &hdr, sizeof(hdr) };
	while ((n = xfer_sendmsg(fd, m, sizeof(hdr) + hdr.len)) == -EAGAIN &&
	       !wait_ready(fd, POLLOUT))
		;
	return n;
}

/* A reply into local pieces: recv() into one buffer, then copy out what
 * came (a reply without a body leaves the pieces alone). */
static SHIM_HOT ssize_t xfer_recv_small(int fd, struct shim_reply *r, size_t len)
{
	union {
		uint8_t buf[XFER_SMALL];
		struct uvp_reply align;
	} u;
	size_t at = 0, got;
	ssize_t n;

	do
		n = recv(fd, u.buf, len, MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	got = (size_t)n < len ? (size_t)n : len;
	for (int i = 0; i <= r->niov && at < got; at += r->iov[i++].iov_len) {
		size_t piece = r->iov[i].iov_len < got - at ? r->iov[i].iov_len : got - at;

		memcpy(r->iov[i].iov_base, u.buf + at, piece);
	}
	return n;
}

/*
 * A reply without fds needs no control buffer, and one that is a header
 * alone or goes to local memory comes with recv().  Either way a message
 * longer than expected is seen (MSG_TRUNC) and rejected by the caller;
 * fds the daemon would attach are closed by the kernel.
 */
static SHIM_HOT ssize_t xfer_recvmsg(int fd, struct shim_reply *r)
{
	struct msghdr msg = { .msg_iov = r->iov, .msg_iovlen = (size_t)r->niov + 1 };
	unsigned int nfds = 0;
	size_t len = 0;
	ssize_t n;

	if (!r->nofds) {
		n = uvp_recv(fd, r->iov, r->niov + 1, r->fds, UVP_MAX_FDS, &nfds, NULL);
		r->nfds = n < 0 ? 0 : (int)nfds;
		return n;
	}
	for (int i = 0; i <= r->niov; i++)
		len += r->iov[i].iov_len;
	if ((r->local || !r->niov) && len <= XFER_SMALL)
		return xfer_recv_small(fd, r, len);
	do
		n = recvmsg(fd, &msg, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return msg.msg_flags & MSG_TRUNC ? -EMSGSIZE : n;
}

static SHIM_HOT ssize_t xfer_recv(int fd, struct shim_reply *r, struct uvp_reply *hdr)
{
	ssize_t n;

	r->iov[0] = (struct iovec){ hdr, sizeof(*hdr) };
	r->nfds = 0;
	while ((n = xfer_recvmsg(fd, r)) == -EAGAIN && !wait_ready(fd, POLLIN))
		;
	return n;
}

/* A transport failure as the caller reports it. */
static SHIM_HOT int xfer_error(ssize_t n)
{
	if (n == 0 || n == -EPIPE || n == -ECONNRESET)
		return -ENODEV;		/* the daemon is gone */
	return (int)n;
}

SHIM_HOT int shim_xfer_send(int fd, struct shim_msg *m)
{
	ssize_t n = xfer_send(fd, m);

	return n < 0 ? xfer_error(n) : 0;
}

SHIM_HOT int shim_xfer_recv(int fd, struct shim_reply *r, bool cloexec)
{
	struct uvp_reply hdr;
	ssize_t n = xfer_recv(fd, r, &hdr);

	if (n <= 0)
		return xfer_error(n);
	if ((size_t)n < sizeof(hdr) || hdr.len != n - sizeof(hdr) || hdr.nfds != (uint32_t)r->nfds) {
		shim_reply_close_fds(r);
		shim_warn("malformed reply from uvfiod (%zd bytes)", n);
		return -EIO;
	}
	/* uvp_recv takes fds close-on-exec; an open without O_CLOEXEC wants them kept. */
	for (int i = 0; !cloexec && i < r->nfds; i++)
		REAL(fcntl)(r->fds[i], F_SETFD, 0);
	r->ret = hdr.ret;
	r->len = hdr.len;
	return 0;
}

SHIM_HOT int shim_xfer(int fd, struct shim_msg *m, struct shim_reply *r, bool cloexec)
{
	int err = shim_xfer_send(fd, m);

	r->nfds = 0;
	return err ? err : shim_xfer_recv(fd, r, cloexec);
}

void shim_reply_close_fds(struct shim_reply *r)
{
	for (int i = 0; i < r->nfds; i++)
		REAL(close)(r->fds[i]);
	r->nfds = 0;
}

static void conn_store_prefixes(const char *body, size_t len)
{
	size_t off = 0;
	int n = 0;

	if (shim_prefix_count() || len > sizeof(prefix_buf))
		return;
	memcpy(prefix_buf, body, len);
	while (off < len && n < SHIM_MAX_PREFIXES) {
		size_t l = strnlen(prefix_buf + off, len - off);

		/* A prefix ends at its NUL; "/dev/vfio/" and "/dev/vfio" are one. */
		while (l > 1 && prefix_buf[off + l - 1] == '/')
			l--;
		if (l && prefix_buf[off] == '/') {
			prefixes[n].off = off;
			prefixes[n].len = l;
			n++;
		}
		off += strnlen(prefix_buf + off, len - off) + 1;
	}
	atomic_store_explicit(&nprefixes, n, memory_order_release);
}

static int conn_open_socket(void)
{
	static char body[SHIM_PREFIX_BYTES];
	uint32_t len = 0;
	long pid;
	int fd;

	fd = uvp_connect(runtime);
	if (fd < 0)
		return fd;
	pid = uvp_hello(fd, body, sizeof(body), &len);
	if (pid <= 0) {
		REAL(close)(fd);
		return pid < 0 ? (int)pid : -EPROTO;
	}
	daemon_pid = (pid_t)pid;
	conn_store_prefixes(body, len);
	return shim_internal_fd(fd);
}

/* Called with ctrl_lock held. */
static int conn_ensure(void)
{
	struct timespec now;
	int fd;

	if (ctrl_fd >= 0)
		return 0;
	if (!shim_enabled())
		return -ENOENT;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	if (last_failure && now.tv_sec == last_failure)
		return -ECONNREFUSED;
	fd = conn_open_socket();
	if (fd < 0) {
		if (!warned_unreachable)
			shim_warn("cannot reach uvfiod at %s: %s", runtime, strerror(-fd));
		warned_unreachable = true;
		last_failure = now.tv_sec ? now.tv_sec : 1;
		return fd;
	}
	ctrl_fd = fd;
	return 0;
}

int shim_connect(void)
{
	int saved = errno, err;

	if (!shim_enabled())
		return -ENOENT;
	pthread_mutex_lock(&ctrl_lock);
	err = conn_ensure();
	pthread_mutex_unlock(&ctrl_lock);
	errno = saved;
	return err;
}

int shim_ctrl_call(struct shim_msg *m, struct shim_reply *r, bool cloexec)
{
	int err;

	pthread_mutex_lock(&ctrl_lock);
	err = conn_ensure();
	if (!err) {
		err = shim_xfer(ctrl_fd, m, r, cloexec);
		if (err == -ENODEV || err == -ENOTSOCK || err == -EBADF) {
			/* The daemon went away: the next call reconnects. */
			shim_internal_close(ctrl_fd);
			ctrl_fd = -1;
		}
	}
	pthread_mutex_unlock(&ctrl_lock);
	return err;
}

void shim_conn_forget(int fd)
{
	if (fd == ctrl_fd)
		ctrl_fd = -1;
}

void shim_conn_atfork_child(void)
{
	pthread_mutex_init(&ctrl_lock, NULL);
	cached_pid = 0;
	cached_tid = 0;
	if (ctrl_fd >= 0) {
		/* The parent's connection: its replies are the parent's. */
		shim_internal_close(ctrl_fd);
		ctrl_fd = -1;
	}
}
