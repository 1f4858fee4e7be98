/* SPDX-License-Identifier: MIT */
/*
 * The device-node protocol (src/proto/uvfio_proto.h) from the sending side:
 * framing one message with its fds, and a round trip on a uvfio socket.
 *
 * Depends on libc only (no core, no allocation, no locks), so that the
 * LD_PRELOAD shim can compile it in as well as the CLI and the daemon,
 * which uses the framing for its replies and its receive with credentials.
 * Every function returns >= 0 or -errno and preserves nothing else.
 */
#ifndef UVFIO_CLIENT_H
#define UVFIO_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include "proto/uvfio_proto.h"

/* Room for SCM_CREDENTIALS and UVP_MAX_FDS descriptors in one message. */
#define UVP_CMSG_SPACE 512

/* Who sent a message, from SCM_CREDENTIALS (valid only when 'valid'). */
struct uvp_creds {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	bool valid;
};

/*
 * Send one message: the iovecs in order, fds as SCM_RIGHTS.  MSG_NOSIGNAL:
 * a vanished peer is -EPIPE, never SIGPIPE.  EINTR is retried.
 */
ssize_t uvp_send(int sock, const struct iovec *iov, int iovcnt, const int *fds,
		 unsigned int nfds);
/* The same with more MSG_* flags (MSG_DONTWAIT). */
ssize_t uvp_send_flags(int sock, const struct iovec *iov, int iovcnt, const int *fds,
		       unsigned int nfds, int flags);

/*
 * Receive one message into the iovecs.  Returns the bytes received (0: the
 * peer hung up, or an empty message), with the attached fds in fds[]
 * (*nfds of them, close-on-exec) and the credentials in *creds when
 * non-NULL.  A message larger than the buffers is -EMSGSIZE, more fds
 * than max_fds -ETOOMANYREFS: in both cases every fd received is closed.
 */
ssize_t uvp_recv(int sock, const struct iovec *iov, int iovcnt, int *fds,
		 unsigned int max_fds, unsigned int *nfds, struct uvp_creds *creds);

/* Close fds[0..n). */
void uvp_close_fds(const int *fds, unsigned int n);

/* One request and its reply. */
struct uvp_call {
	uint32_t op;
	int32_t tid;			/* for the daemon's logs; 0 is fine */
	const struct iovec *body;	/* request body pieces */
	int nbody;
	const int *fds;			/* attached to the request */
	unsigned int nfds;
	void *rbody;			/* reply body buffer */
	uint32_t rmax;
	uint32_t rlen;			/* out: reply body bytes */
	int *rfds;			/* out: reply fds (the caller closes them) */
	unsigned int rmaxfds;
	unsigned int rnfds;		/* out */
};

/*
 * Send the request and wait for its reply on the same socket.  Returns the
 * reply's ret (>= 0 or the daemon's -errno), or a transport error: -EPIPE /
 * -ECONNRESET when the daemon is gone, -EPROTO for a reply that does not
 * parse.  The caller serialises users of one socket.
 */
long uvp_call(int sock, struct uvp_call *c);

/* The control socket path of a runtime dir into buf; -ENAMETOOLONG. */
int uvp_socket_path(const char *runtime, char *buf, size_t size);

/* Connect a control connection to the host at 'runtime' (close-on-exec). */
int uvp_connect(const char *runtime);

/*
 * HELLO: register this process (its /proc/self/mem, RLIMIT_MEMLOCK and
 * effective capabilities, read here).  Returns the daemon's pid; the
 * served path prefixes go to prefixes (NUL-separated, *plen bytes) when
 * non-NULL.
 */
long uvp_hello(int ctl, char *prefixes, uint32_t size, uint32_t *plen);

/* UVF_CAP_* bits of a kernel capability mask (CapEff). */
uint32_t uvp_caps_from_mask(uint64_t cap_effective);

/* OPEN of a served path: the channel fd (close-on-exec) or -errno. */
int uvp_open(int ctl, const char *path, int flags);

/*
 * An ioctl on a channel, for clients that speak the protocol themselves
 * (the CLI, tests, benchmarks; the shim has its own command table).  The
 * argument struct (stage_len bytes at 'stage', mirroring user address
 * 'arg') travels inline and comes back updated; stage_len 0 passes 'arg'
 * as a value.  fds named in the argument are attached under their own
 * numbers; DMA pieces name fds by index.  A file the ioctl made is
 * installed here: its fd is what is returned (and in *newfd when
 * non-NULL); other returned fds are closed.
 */
long uvp_ioctl(int chan, uint32_t cmd, uint64_t arg, void *stage, uint32_t stage_len,
	       const int *fds, unsigned int nfds, const struct uvp_dma_piece *dma,
	       unsigned int ndma, int *newfd);

/* An administrative request with no body whose reply is text (NUL-ended
 * in buf); returns the text length. */
long uvp_admin(int ctl, uint32_t op, char *buf, uint32_t size);

#endif
