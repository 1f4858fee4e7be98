// SPDX-License-Identifier: MIT
/*
 * One request: receiving it with its fds and credentials, checking its
 * framing, the caller context it runs with, and the reply.
 *
 * Nothing a client sends can hurt the daemon or another client: a message
 * that does not frame is answered -EINVAL with every fd it carried closed,
 * and the connection goes on.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include "uvfiod.h"

#define REQUEST_SMALL_REPLY 512

/* recvmsg gave 0 bytes: the peer hung up, or sent an empty message. */
static bool request_peer_gone(int sock)
{
	struct pollfd p = { .fd = sock, .events = POLLIN | POLLRDHUP };

	if (poll(&p, 1, 0) < 0)
		return true;
	return p.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL);
}

int request_recv(int sock, uint8_t *buf, struct uvfiod_msg *m)
{
	struct iovec iov = { buf, sizeof(struct uvp_req) + UVP_MAX_BODY };
	ssize_t n = uvp_recv(sock, &iov, 1, m->fds, UVP_MAX_FDS, &m->nfds, &m->creds);

	if (n == -EMSGSIZE || n == -ETOOMANYREFS)
		return -EINVAL;
	if (n < 0)
		return 0;
	if (n == 0)
		return request_peer_gone(sock) ? 0 : -EINVAL;
	if ((size_t)n < sizeof(m->hdr))
		goto malformed;
	memcpy(&m->hdr, buf, sizeof(m->hdr));
	if (m->hdr.len != (size_t)n - sizeof(m->hdr) || m->hdr.nfds != m->nfds ||
	    !m->creds.valid || m->creds.pid <= 0)
		goto malformed;
	m->body = buf + sizeof(m->hdr);
	return 1;
malformed:
	uvp_close_fds(m->fds, m->nfds);
	m->nfds = 0;
	return -EINVAL;
}

/*
 * Replies never wait: a client has at most one request in flight per
 * socket, so its queue has room; one that floods without reading loses
 * replies (MSG_DONTWAIT), instead of stalling a daemon thread.
 *
 * A small reply without fds goes out with send() from one buffer: cheaper
 * than sendmsg's msghdr and iovec copies (about 2% of a round trip here),
 * and most replies are like that.
 */
void request_reply(int sock, long ret, const struct iovec *body, int nbody,
		   const int *fds, unsigned int nfds)
{
	union {
		struct uvp_reply rep;
		uint8_t buf[REQUEST_SMALL_REPLY];
	} u = { .rep = { .ret = ret, .nfds = nfds } };
	struct iovec iov[4];

	nbody = nbody < 3 ? nbody : 3;
	iov[0] = (struct iovec){ &u.rep, sizeof(u.rep) };
	for (int i = 0; i < nbody; i++) {
		iov[i + 1] = body[i];
		u.rep.len += (uint32_t)body[i].iov_len;
	}
	if (nfds || sizeof(u.rep) + u.rep.len > sizeof(u.buf)) {
		uvp_send_flags(sock, iov, 1 + nbody, fds, nfds, MSG_DONTWAIT);
		return;
	}
	for (int i = 0, at = sizeof(u.rep); i < nbody; at += (int)body[i++].iov_len)
		if (body[i].iov_len)
			memcpy(u.buf + at, body[i].iov_base, body[i].iov_len);
	while (send(sock, u.buf, sizeof(u.rep) + u.rep.len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
	       errno == EINTR)
		;
}

struct dproc *request_proc(struct uvfiod *d, const struct uvp_creds *cr,
			   struct dproc **cache)
{
	struct dproc *p = cache ? *cache : NULL;

	if (p && p->pid == cr->pid && atomic_load(&p->registered)) {
		uvf_ref_get(&p->ref);
		return p;
	}
	p = dproc_find(d, cr->pid);
	if (!p)
		return dproc_anonymous(d, cr);
	if (cache) {
		dproc_put(*cache);
		uvf_ref_get(&p->ref);
		*cache = p;
	}
	return p;
}

void request_caller(const struct uvfiod_msg *m, struct dproc *p, struct uvf_caller *c)
{
	memset(c, 0, sizeof(*c));
	c->pid = m->creds.pid;
	c->tid = m->hdr.tid > 0 ? m->hdr.tid : m->creds.pid;
	c->uid = m->creds.uid;
	c->gid = m->creds.gid;
	c->caps = p->caps;
	/* a process that gave up root since its HELLO gave up its caps too */
	if (m->creds.uid != p->uid && m->creds.uid != 0)
		c->caps = 0;
	c->mm = p->mm;
}
