// SPDX-License-Identifier: MIT
/*
 * Protocol framing and the client's round trip.  libc only: see the header.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <linux/capability.h>
#include "uvp_client.h"
#include "core/mm/caller.h"

ssize_t uvp_send(int sock, const struct iovec *iov, int iovcnt, const int *fds,
		 unsigned int nfds)
{
	return uvp_send_flags(sock, iov, iovcnt, fds, nfds, 0);
}

ssize_t uvp_send_flags(int sock, const struct iovec *iov, int iovcnt, const int *fds,
		       unsigned int nfds, int flags)
{
	union {
		char buf[CMSG_SPACE(UVP_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {
		.msg_iov = (struct iovec *)iov,
		.msg_iovlen = (size_t)iovcnt,
	};
	ssize_t n;

	if (nfds > UVP_MAX_FDS)
		return -EINVAL;
	if (nfds) {
		struct cmsghdr *cm;

		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL | flags);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

void uvp_close_fds(const int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/*
 * Collect every descriptor of every SCM_RIGHTS block (a sender may split
 * them) and the credentials.  Descriptors beyond max_fds are closed at once
 * and make the result -ETOOMANYREFS.
 */
static int uvp_parse_cmsgs(struct msghdr *msg, int *fds, unsigned int max_fds,
			   unsigned int *nfds, struct uvp_creds *creds)
{
	int ret = 0;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET)
			continue;
		if (cm->cmsg_type == SCM_CREDENTIALS && creds &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
			struct ucred uc;

			memcpy(&uc, CMSG_DATA(cm), sizeof(uc));
			creds->pid = uc.pid;
			creds->uid = uc.uid;
			creds->gid = uc.gid;
			creds->valid = true;
		} else if (cm->cmsg_type == SCM_RIGHTS) {
			size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < n; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				if (*nfds < max_fds) {
					fds[(*nfds)++] = fd;
				} else {
					close(fd);
					ret = -ETOOMANYREFS;
				}
			}
		}
	}
	return ret;
}

ssize_t uvp_recv(int sock, const struct iovec *iov, int iovcnt, int *fds,
		 unsigned int max_fds, unsigned int *nfds, struct uvp_creds *creds)
{
	union {
		char buf[UVP_CMSG_SPACE];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {
		.msg_iov = (struct iovec *)iov,
		.msg_iovlen = (size_t)iovcnt,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	ssize_t n;
	int ret;

	*nfds = 0;
	if (creds)
		creds->valid = false;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	ret = uvp_parse_cmsgs(&msg, fds, max_fds, nfds, creds);
	if (!ret && (msg.msg_flags & MSG_CTRUNC))
		ret = -ETOOMANYREFS;
	if (!ret && (msg.msg_flags & MSG_TRUNC))
		ret = -EMSGSIZE;
	if (ret) {
		uvp_close_fds(fds, *nfds);
		*nfds = 0;
		return ret;
	}
	return n;
}

/*
 * Small messages without fds use send()/recv() on one buffer: sendmsg and
 * recvmsg copy a msghdr and iovecs in and out, about 4% of a round trip on
 * each side here.
 */
#define UVP_SMALL_MSG 512

static ssize_t uvp_send_call(int sock, struct uvp_call *c, struct uvp_req *req)
{
	union {
		uint8_t buf[UVP_SMALL_MSG];
		struct uvp_req align;
	} u;
	struct iovec iov[8];
	size_t at = sizeof(*req);
	ssize_t n;

	if (c->nbody < 0 || c->nbody > (int)(sizeof(iov) / sizeof(iov[0])) - 1)
		return -EINVAL;
	iov[0] = (struct iovec){ req, sizeof(*req) };
	for (int i = 0; i < c->nbody; i++) {
		iov[i + 1] = c->body[i];
		req->len += (uint32_t)c->body[i].iov_len;
	}
	if (c->nfds || sizeof(*req) + req->len > sizeof(u.buf))
		return uvp_send(sock, iov, c->nbody + 1, c->fds, c->nfds);
	memcpy(u.buf, req, sizeof(*req));
	for (int i = 0; i < c->nbody; at += c->body[i++].iov_len)
		if (c->body[i].iov_len)
			memcpy(u.buf + at, c->body[i].iov_base, c->body[i].iov_len);
	do
		n = send(sock, u.buf, at, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/* A reply that wants no fds and fits the small buffer: recv(), no msghdr
 * (fds the daemon would attach are dropped by the kernel). */
static ssize_t uvp_recv_small(int sock, struct uvp_call *c, struct uvp_reply *rep)
{
	union {
		uint8_t buf[UVP_SMALL_MSG];
		struct uvp_reply align;
	} u;
	ssize_t n;

	do
		n = recv(sock, u.buf, sizeof(*rep) + c->rmax, MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n > sizeof(*rep) + c->rmax)
		return -EMSGSIZE;
	if ((size_t)n >= sizeof(*rep)) {
		memcpy(rep, u.buf, sizeof(*rep));
		if (n > (ssize_t)sizeof(*rep))
			memcpy(c->rbody, u.buf + sizeof(*rep), (size_t)n - sizeof(*rep));
	}
	return n;
}

long uvp_call(int sock, struct uvp_call *c)
{
	struct iovec iov[2];
	struct uvp_req req = { .op = c->op, .tid = c->tid, .nfds = c->nfds };
	struct uvp_reply rep;
	ssize_t n;

	n = uvp_send_call(sock, c, &req);
	if (n < 0)
		return n;
	c->rnfds = 0;
	if (!c->rmaxfds && sizeof(rep) + c->rmax <= UVP_SMALL_MSG) {
		n = uvp_recv_small(sock, c, &rep);
	} else {
		iov[0] = (struct iovec){ &rep, sizeof(rep) };
		iov[1] = (struct iovec){ c->rbody, c->rmax };
		n = uvp_recv(sock, iov, c->rmax ? 2 : 1, c->rfds, c->rmaxfds, &c->rnfds, NULL);
	}
	if (n < 0)
		return n;
	if (n == 0)
		return -ECONNRESET;
	if ((size_t)n < sizeof(rep) || rep.len != (size_t)n - sizeof(rep) ||
	    rep.nfds != c->rnfds) {
		uvp_close_fds(c->rfds, c->rnfds);
		c->rnfds = 0;
		return -EPROTO;
	}
	c->rlen = rep.len;
	return (long)rep.ret;
}

int uvp_socket_path(const char *runtime, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s", runtime, UVP_SOCKET_NAME);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int uvp_connect(const char *runtime)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, ret;

	ret = uvp_socket_path(runtime, addr.sun_path, sizeof(addr.sun_path));
	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/* The effective capabilities the core checks, as UVF_CAP_* bits. */
static uint32_t uvp_self_caps(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	uint64_t eff;

	if (syscall(SYS_capget, &hdr, data))
		return 0;
	eff = (uint64_t)data[1].effective << 32 | data[0].effective;
	return uvp_caps_from_mask(eff);
}

uint32_t uvp_caps_from_mask(uint64_t eff)
{
	uint32_t caps = 0;

	if (eff & (1ull << CAP_IPC_LOCK))
		caps |= UVF_CAP_IPC_LOCK;
	if (eff & (1ull << CAP_SYS_RAWIO))
		caps |= UVF_CAP_SYS_RAWIO;
	if (eff & (1ull << CAP_SYS_RESOURCE))
		caps |= UVF_CAP_SYS_RESOURCE;
	if (eff & (1ull << CAP_SYS_ADMIN))
		caps |= UVF_CAP_SYS_ADMIN;
	return caps;
}

long uvp_hello(int ctl, char *prefixes, uint32_t size, uint32_t *plen)
{
	struct uvp_hello h = { .version = UVP_VERSION, .caps = uvp_self_caps() };
	struct iovec body = { &h, sizeof(h) };
	char scratch[16384];	/* the prefixes nobody asked for */
	struct rlimit rl;
	struct uvp_call c = {
		.op = UVP_HELLO, .body = &body, .nbody = 1,
		.rbody = prefixes ? prefixes : scratch,
		.rmax = prefixes ? size : sizeof(scratch),
	};
	long ret;
	int mem;

	h.memlock = UINT64_MAX;
	if (!getrlimit(RLIMIT_MEMLOCK, &rl) && rl.rlim_cur != RLIM_INFINITY)
		h.memlock = rl.rlim_cur;
	mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	if (mem < 0)
		return -errno;
	c.fds = &mem;
	c.nfds = 1;
	ret = uvp_call(ctl, &c);
	close(mem);
	if (plen)
		*plen = c.rlen;
	return ret;
}

int uvp_open(int ctl, const char *path, int flags)
{
	struct uvp_path p = { .flags = flags };
	struct iovec body = { &p, sizeof(p) };
	int fd = -1;
	struct uvp_call c = {
		.op = UVP_OPEN, .body = &body, .nbody = 1,
		.rfds = &fd, .rmaxfds = 1,
	};
	long ret;

	if (strlen(path) >= sizeof(p.path))
		return -ENAMETOOLONG;
	strcpy(p.path, path);
	ret = uvp_call(ctl, &c);
	if (ret < 0 || c.rnfds != 1) {
		uvp_close_fds(c.rfds, c.rnfds);
		return ret < 0 ? (int)ret : -EPROTO;
	}
	return fd;
}

long uvp_ioctl(int chan, uint32_t cmd, uint64_t arg, void *stage, uint32_t stage_len,
	       const int *fds, unsigned int nfds, const struct uvp_dma_piece *dma,
	       unsigned int ndma, int *newfd)
{
	struct uvp_ioctl io = {
		.cmd = cmd, .nfdmap = nfds, .arg = arg, .stage_uaddr = arg,
		.stage_len = stage_len, .ndma = ndma,
	};
	struct iovec body[4] = {
		{ &io, sizeof(io) },
		{ (void *)fds, nfds * sizeof(int32_t) },
		{ stage, stage_len },
		{ (void *)dma, ndma * sizeof(*dma) },
	};
	int rfds[UVP_MAX_FDS];
	struct uvp_call c = {
		.op = UVP_IOCTL, .body = body, .nbody = 4,
		.fds = fds, .nfds = nfds, .rbody = stage, .rmax = stage_len,
		.rfds = rfds, .rmaxfds = UVP_MAX_FDS,
	};
	long ret = uvp_call(chan, &c);

	if (newfd)
		*newfd = -1;
	if (c.rlen && c.rlen != stage_len)
		ret = -EPROTO;
	for (unsigned int i = 0; i < c.rnfds; i++) {
		if (ret == UVP_NEWFD(i)) {
			ret = rfds[i];
			if (newfd)
				*newfd = rfds[i];
			continue;
		}
		close(rfds[i]);
	}
	return ret;
}

long uvp_admin(int ctl, uint32_t op, char *buf, uint32_t size)
{
	struct uvp_call c = { .op = op, .rbody = buf, .rmax = size ? size - 1 : 0 };
	long ret;

	if (!size)
		return -EINVAL;
	ret = uvp_call(ctl, &c);
	buf[ret < 0 ? 0 : c.rlen] = '\0';
	return ret < 0 ? ret : (long)c.rlen;
}
