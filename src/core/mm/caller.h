/* SPDX-License-Identifier: MIT */
/*
 * The caller context: who is making this call, with what memory and which
 * files.  Every uAPI entry point of the core takes one, as every kernel
 * syscall runs in the context of 'current'.
 *
 * Ioctl arguments are user addresses; handlers read and write them with
 * copy_from_user/copy_to_user, which go through the caller's mm.  A
 * transport may stage the bytes it already carries (the daemon receives the
 * ioctl struct inline) in 'stage', which is consulted first so that a
 * request costs no extra memory access; anything outside it falls back to
 * the mm.
 *
 * File descriptors named inside arguments (a container fd, eventfds) are
 * resolved through 'fds': fget returns a core file, fget_raw a host fd
 * (duplicated; the receiver closes it); fd_install hands a new file back.
 */
#ifndef UVF_MM_CALLER_H
#define UVF_MM_CALLER_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <sys/types.h>
#include "mm.h"

struct uvf_file;
struct uvf_caller;

/* Capabilities the core checks (a subset of the kernel's). */
#define UVF_CAP_IPC_LOCK	(1u << 0)
#define UVF_CAP_SYS_RAWIO	(1u << 1)
#define UVF_CAP_SYS_RESOURCE	(1u << 2)
#define UVF_CAP_SYS_ADMIN	(1u << 3)

struct uvf_fd_ops {
	/* A referenced core file for fd, or NULL (-EBADF). */
	struct uvf_file *(*fget)(struct uvf_caller *c, int fd);
	/* A host fd duplicating the caller's fd (e.g. an eventfd), or -EBADF. */
	int (*fget_raw)(struct uvf_caller *c, int fd);
	/*
	 * Give the caller a new fd for f (GET_DEVICE_FD, fault queues...).
	 * Takes over the caller's reference on f in every case; returns the
	 * fd number or -errno (then f has been put).
	 */
	int (*fd_install)(struct uvf_caller *c, struct uvf_file *f, int o_flags);
};

/* Argument bytes a transport already holds; writes are recorded back here. */
struct uvf_stage {
	uint64_t uaddr;
	size_t len;
	uint8_t *buf;
	bool dirty;		/* copy_to_user wrote into buf */
};

struct uvf_caller {
	pid_t pid;		/* thread-group id of the calling process */
	pid_t tid;
	uid_t uid;
	gid_t gid;
	uint32_t caps;		/* UVF_CAP_* */
	struct uvf_mm *mm;	/* not owned */
	const struct uvf_fd_ops *fds;
	void *fds_priv;
	struct uvf_stage *stage;	/* optional */
	void *kvm;		/* the KVM recorded for this call, if any (later layer) */
};

static inline bool capable(const struct uvf_caller *c, uint32_t cap)
{
	return (c->caps & cap) != 0;
}

int copy_from_user(struct uvf_caller *c, void *dst, uint64_t uaddr, size_t len);
int copy_to_user(struct uvf_caller *c, uint64_t uaddr, const void *src, size_t len);
/* Read a NUL-terminated string of at most max-1 bytes: -ENAMETOOLONG past it. */
int strncpy_from_user(struct uvf_caller *c, char *dst, uint64_t uaddr, size_t max);
/* Zero user memory (clear_user). */
int clear_user(struct uvf_caller *c, uint64_t uaddr, size_t len);

/*
 * The kernel's copy_struct_from_user: copy a user struct of usize bytes into
 * a kernel struct of ksize bytes.  usize < ksize: zero-fill the rest;
 * usize > ksize: the extra user bytes must be zero, else -E2BIG.
 */
int copy_struct_from_user(struct uvf_caller *c, void *dst, size_t ksize,
			  uint64_t uaddr, size_t usize);

struct uvf_file *caller_fget(struct uvf_caller *c, int fd);
int caller_fget_raw(struct uvf_caller *c, int fd);
int caller_fd_install(struct uvf_caller *c, struct uvf_file *f, int o_flags);

#endif
