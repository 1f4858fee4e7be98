/* SPDX-License-Identifier: MIT */
/*
 * libuvfio-preload.so: the client side of the device-node protocol
 * (src/proto/uvfio_proto.h), loaded into unmodified programs with
 * LD_PRELOAD.  It serves the paths uvfiod names in its HELLO reply and
 * passes everything else to the next definition (libc) untouched.
 *
 * Pieces, one file each:
 *   real.c        the real libc functions (dlsym RTLD_NEXT), never our wrappers
 *   uaccess.c     fault-safe access to the program's own memory (EFAULT, not SIGSEGV)
 *   conn.c        runtime dir, control connection, HELLO, one request/reply exchange
 *   chan.c        the fd table: channels (device files), internal fds, reopen, fork
 *   path.c        which paths are served, redirection to <rt>/sys, translation back
 *   fs.c          wrappers of calls that take paths (open, stat, readlink, ...)
 *   devdir.c      directory streams of served /dev directories
 *   fdops.c       close, dup, fcntl, close_range
 *   ioctl.c       ioctl: marshalling of arguments, fds, DMA pieces
 *   ioctl_table.c the argument rule of every command (one table)
 *   rw.c          read/write/pread/pwrite on channels
 *   maps.c        /proc/self/maps cache, backing files of DMA ranges
 *   mmap.c        mmap/munmap/mremap/mprotect wrappers
 *
 * Lock order (outer first): chan->lock, ctrl lock (conn.c), maps lock
 * (maps.c), table lock (chan.c).  Path buffers live on the caller's stack.
 */
#ifndef UVF_SHIM_H
#define UVF_SHIM_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <limits.h>
#include <pthread.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <dirent.h>
#include <stdio.h>
#include "proto/uvfio_proto.h"

#define SHIM_EXPORT __attribute__((visibility("default")))
#define shim_likely(x)   __builtin_expect(!!(x), 1)
#define shim_unlikely(x) __builtin_expect(!!(x), 0)
/* On the path of every request (ioctl, pread/pwrite): kept together in
 * .text.hot, so that a request coming back from a context switch finds few
 * cold cache lines and pages of code. */
#define SHIM_HOT __attribute__((hot))

struct statx;

/* libc entry points its headers declare only under _FORTIFY_SOURCE or for
 * binaries built against older glibc. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
int __xstat(int ver, const char *path, struct stat *st);
int __xstat64(int ver, const char *path, struct stat64 *st);
int __lxstat(int ver, const char *path, struct stat *st);
int __lxstat64(int ver, const char *path, struct stat64 *st);
int __fxstat(int ver, int fd, struct stat *st);
int __fxstat64(int ver, int fd, struct stat64 *st);
int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags);
int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags);
ssize_t __readlink_chk(const char *path, char *buf, size_t len, size_t buflen);
ssize_t __readlinkat_chk(int dirfd, const char *path, char *buf, size_t len, size_t buflen);
char *__realpath_chk(const char *path, char *resolved, size_t resolvedlen);
char *__getcwd_chk(char *buf, size_t size, size_t buflen);
ssize_t __read_chk(int fd, void *buf, size_t nbytes, size_t buflen);
ssize_t __pread_chk(int fd, void *buf, size_t nbytes, off_t offset, size_t buflen);
ssize_t __pread64_chk(int fd, void *buf, size_t nbytes, off64_t offset, size_t buflen);
void __chk_fail(void) __attribute__((noreturn));

/* ---- real.c ------------------------------------------------------------- */

/* Every libc function a wrapper may need to reach underneath itself. */
#define SHIM_REAL_FUNCS(X)                                                    \
	X(int, open, (const char *, int, ...))                                \
	X(int, open64, (const char *, int, ...))                              \
	X(int, openat, (int, const char *, int, ...))                         \
	X(int, openat64, (int, const char *, int, ...))                       \
	X(int, __open_2, (const char *, int))                                 \
	X(int, __open64_2, (const char *, int))                               \
	X(int, __openat_2, (int, const char *, int))                          \
	X(int, __openat64_2, (int, const char *, int))                        \
	X(int, creat, (const char *, mode_t))                                 \
	X(int, creat64, (const char *, mode_t))                               \
	X(FILE *, fopen, (const char *, const char *))                        \
	X(FILE *, fopen64, (const char *, const char *))                      \
	X(FILE *, freopen, (const char *, const char *, FILE *))              \
	X(FILE *, freopen64, (const char *, const char *, FILE *))            \
	X(int, stat, (const char *, struct stat *))                           \
	X(int, stat64, (const char *, struct stat64 *))                       \
	X(int, lstat, (const char *, struct stat *))                          \
	X(int, lstat64, (const char *, struct stat64 *))                      \
	X(int, fstat, (int, struct stat *))                                   \
	X(int, fstat64, (int, struct stat64 *))                               \
	X(int, fstatat, (int, const char *, struct stat *, int))              \
	X(int, fstatat64, (int, const char *, struct stat64 *, int))          \
	X(int, statx, (int, const char *, int, unsigned int, struct statx *)) \
	X(int, __xstat, (int, const char *, struct stat *))                   \
	X(int, __xstat64, (int, const char *, struct stat64 *))               \
	X(int, __lxstat, (int, const char *, struct stat *))                  \
	X(int, __lxstat64, (int, const char *, struct stat64 *))              \
	X(int, __fxstat, (int, int, struct stat *))                           \
	X(int, __fxstat64, (int, int, struct stat64 *))                       \
	X(int, __fxstatat, (int, int, const char *, struct stat *, int))      \
	X(int, __fxstatat64, (int, int, const char *, struct stat64 *, int))  \
	X(int, access, (const char *, int))                                   \
	X(int, faccessat, (int, const char *, int, int))                      \
	X(int, eaccess, (const char *, int))                                  \
	X(int, euidaccess, (const char *, int))                               \
	X(ssize_t, readlink, (const char *, char *, size_t))                  \
	X(ssize_t, readlinkat, (int, const char *, char *, size_t))           \
	X(char *, realpath, (const char *, char *))                           \
	X(char *, canonicalize_file_name, (const char *))                     \
	X(char *, getcwd, (char *, size_t))                                   \
	X(char *, get_current_dir_name, (void))                               \
	X(int, chdir, (const char *))                                         \
	X(int, fchdir, (int))                                                 \
	X(DIR *, opendir, (const char *))                                     \
	X(struct dirent *, readdir, (DIR *))                                  \
	X(struct dirent64 *, readdir64, (DIR *))                              \
	X(int, readdir_r, (DIR *, struct dirent *, struct dirent **))         \
	X(int, readdir64_r, (DIR *, struct dirent64 *, struct dirent64 **))   \
	X(int, closedir, (DIR *))                                             \
	X(int, dirfd, (DIR *))                                                \
	X(void, rewinddir, (DIR *))                                           \
	X(long, telldir, (DIR *))                                             \
	X(void, seekdir, (DIR *, long))                                       \
	X(int, mkdir, (const char *, mode_t))                                 \
	X(int, mkdirat, (int, const char *, mode_t))                          \
	X(int, rmdir, (const char *))                                         \
	X(int, unlink, (const char *))                                        \
	X(int, unlinkat, (int, const char *, int))                            \
	X(int, rename, (const char *, const char *))                          \
	X(int, renameat, (int, const char *, int, const char *))              \
	X(int, chmod, (const char *, mode_t))                                 \
	X(int, statfs, (const char *, struct statfs *))                       \
	X(int, statfs64, (const char *, struct statfs64 *))                   \
	X(ssize_t, getxattr, (const char *, const char *, void *, size_t))     \
	X(ssize_t, lgetxattr, (const char *, const char *, void *, size_t))    \
	X(ssize_t, listxattr, (const char *, char *, size_t))                 \
	X(ssize_t, llistxattr, (const char *, char *, size_t))                \
	X(int, close, (int))                                                  \
	X(int, close_range, (unsigned int, unsigned int, int))                \
	X(void, closefrom, (int))                                             \
	X(int, dup, (int))                                                    \
	X(int, dup2, (int, int))                                              \
	X(int, dup3, (int, int, int))                                         \
	X(int, fcntl, (int, int, ...))                                        \
	X(int, fcntl64, (int, int, ...))                                      \
	X(int, ioctl, (int, unsigned long, ...))                              \
	X(ssize_t, read, (int, void *, size_t))                               \
	X(ssize_t, write, (int, const void *, size_t))                        \
	X(ssize_t, pread, (int, void *, size_t, off_t))                       \
	X(ssize_t, pread64, (int, void *, size_t, off64_t))                   \
	X(ssize_t, pwrite, (int, const void *, size_t, off_t))                \
	X(ssize_t, pwrite64, (int, const void *, size_t, off64_t))            \
	X(ssize_t, readv, (int, const struct iovec *, int))                  \
	X(ssize_t, writev, (int, const struct iovec *, int))                 \
	X(ssize_t, preadv, (int, const struct iovec *, int, off_t))          \
	X(ssize_t, pwritev, (int, const struct iovec *, int, off_t))         \
	X(ssize_t, preadv64, (int, const struct iovec *, int, off64_t))      \
	X(ssize_t, pwritev64, (int, const struct iovec *, int, off64_t))     \
	X(void *, mmap, (void *, size_t, int, int, int, off_t))               \
	X(void *, mmap64, (void *, size_t, int, int, int, off64_t))           \
	X(int, munmap, (void *, size_t))                                      \
	X(void *, mremap, (void *, size_t, size_t, int, ...))                 \
	X(int, mprotect, (void *, size_t, int))

#define SHIM_REAL_MEMBER(ret, name, args) ret (*name) args;
struct shim_real_fns {
	SHIM_REAL_FUNCS(SHIM_REAL_MEMBER)
};
#undef SHIM_REAL_MEMBER

extern struct shim_real_fns shim_real;
extern atomic_bool shim_real_ready;
void shim_real_init(void);

/* The real (next) definition of a libc function. */
#define REAL(name) \
	(shim_likely(atomic_load_explicit(&shim_real_ready, memory_order_acquire)) \
	 ? shim_real.name : (shim_real_init(), shim_real.name))

/* ---- uaccess.c ---------------------------------------------------------- */

/*
 * The caller's stack page.  An exported wrapper's return address was just
 * written by the call, right below the frame of the program's function
 * that called it: from there to the end of that page is the live stack of
 * the calling thread, mapped and writable, and above every frame of ours.
 * An argument lying wholly in it (the usual local struct or buffer) may be
 * copied with memcpy, which no pointer the kernel would refuse can reach.
 * SHIM_CALLER_FRAME() must be evaluated in the exported wrapper itself;
 * 0 (no page) where the frame layout is not x86-64's.
 */
#if defined(__x86_64__)
#define SHIM_CALLER_FRAME()	((uintptr_t)__builtin_frame_address(0) + 2 * sizeof(void *))
#else
#define SHIM_CALLER_FRAME()	((uintptr_t)0)
#endif
#define SHIM_PAGE_SHIFT		12	/* the smallest page: a larger one only helps */

static inline bool shim_on_caller_page(uintptr_t frame, uint64_t addr, uint64_t len)
{
	uint64_t last = addr + len - 1;

	return frame && len && addr >= frame && last >= addr &&
	       last >> SHIM_PAGE_SHIFT == (frame - sizeof(void *)) >> SHIM_PAGE_SHIFT;
}

/* Copy up to len bytes from our own address space at src; the copy stops at
 * the first page that cannot be read.  Returns the bytes copied. */
size_t shim_uread(void *dst, uint64_t src, size_t len);
/* Write len bytes to our own address space: 0 or -EFAULT. */
int shim_uwrite(uint64_t dst, const void *src, size_t len);

/* ---- conn.c ------------------------------------------------------------- */

#define SHIM_MAX_IOV 8

/*
 * One request: the body is iov[1..niov] (shim_msg_add); iov[0] is where
 * the exchange puts the header it builds from op and the lengths, so the
 * pieces go to the kernel as they are.
 */
struct shim_msg {
	uint32_t op;
	int niov;
	struct iovec iov[1 + SHIM_MAX_IOV];
	const int *fds;
	int nfds;
	/* Every piece may be memcpy'd: the shim's own memory or the caller's
	 * stack page, never other program memory (a bad pointer there has to
	 * fail the send, not the copy).  A small message then goes out with
	 * send() from one buffer. */
	bool local;
};

/* Where a reply goes: the body is scattered into iov[1..niov]
 * (shim_reply_add), the header into iov[0]. */
struct shim_reply {
	int64_t ret;
	int niov;
	struct iovec iov[1 + 2];
	uint32_t len;			/* body bytes received */
	/* The reply carries no fds: no control buffer, and recv() into one
	 * buffer when there is no body or the body goes to local memory. */
	bool nofds;
	bool local;			/* every piece may be memcpy'd to (as shim_msg) */
	int nfds;
	int fds[UVP_MAX_FDS];		/* fds received (ours to close or keep) */
};

static inline void shim_msg_add(struct shim_msg *m, const void *base, size_t len)
{
	m->iov[++m->niov] = (struct iovec){ (void *)base, len };
}

static inline void shim_reply_add(struct shim_reply *r, void *base, size_t len)
{
	r->iov[++r->niov] = (struct iovec){ base, len };
}

/* UVFIO_RUNTIME is set: the shim serves paths (once connected). */
bool shim_enabled(void);
const char *shim_runtime(void);
/* Connect and HELLO if needed: 0 or -errno (daemon unreachable). */
int shim_connect(void);
pid_t shim_daemon_pid(void);
/* The served prefixes from HELLO (NUL-separated, empty list if none). */
int shim_prefix_count(void);
/* The served names directly under path, a parent of served trees (path.c). */
size_t shim_path_served_children(const char *path, char *out, size_t size);
const char *shim_prefix(int i, size_t *len);

/* One exchange on socket fd; transport errors are -errno, r->ret the result. */
int shim_xfer(int fd, struct shim_msg *m, struct shim_reply *r, bool cloexec);
/* Its two halves, for a caller that acts between them.  A send that fails
 * sent nothing (one SEQPACKET message is all or nothing): -EFAULT is a bad
 * program pointer in m's iovs, -ENODEV the daemon gone. */
int shim_xfer_send(int fd, struct shim_msg *m);
int shim_xfer_recv(int fd, struct shim_reply *r, bool cloexec);
/* An exchange on the control connection (connecting first). */
int shim_ctrl_call(struct shim_msg *m, struct shim_reply *r, bool cloexec);
void shim_reply_close_fds(struct shim_reply *r);
/* After fork in the child: forget the parent's connection. */
void shim_conn_atfork_child(void);
/* The control fd was closed or replaced by the program. */
void shim_conn_forget(int fd);
/* Log once per key to stderr (the daemon is unreachable, a limit hit). */
void shim_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* getpid()/gettid() without a system call each time (fork resets them). */
pid_t shim_pid(void);
pid_t shim_tid(void);
/* We run in a vfork child of the process whose state this is. */
bool shim_foreign_process(void);

/* ---- chan.c -------------------------------------------------------------- */

enum shim_kind {
	SHIM_K_UNKNOWN = 0,	/* a channel whose file type we were not told */
	SHIM_K_CONTAINER,	/* /dev/vfio/vfio */
	SHIM_K_GROUP,		/* /dev/vfio/<n> */
	SHIM_K_DEVICE,		/* GET_DEVICE_FD, /dev/vfio/devices/vfioN */
	SHIM_K_IOMMUFD,		/* /dev/iommu */
	SHIM_K_MIGDATA,		/* a migration data fd */
	SHIM_K_AUX,		/* other files made by an ioctl (fault queue, access...) */
	SHIM_K_KVM,		/* /dev/kvm */
	SHIM_K_VM,		/* KVM_CREATE_VM */
	SHIM_K_KVMDEV,		/* KVM_CREATE_DEVICE */
	SHIM_K_Z90CRYPT,	/* /dev/z90crypt (s390 zcrypt) */
};
#define SHIM_KBIT(k) (1u << (k))

struct shim_ioc_rule;

/* One channel socket (shared by the fds dup'd from it in this process). */
struct shim_chan {
	atomic_int refs;		/* fd table slots + callers (first: chan.c) */
	int nslots;			/* fd numbers naming it; table lock */
	struct shim_chan *next_free;	/* on chan.c's free list; table lock */
	enum shim_kind kind;
	bool inherited;			/* fork/exec: REOPEN before use; chan->lock */
	atomic_int lock;		/* one request/reply at a time: shim_chan_lock() */
	uint64_t pos;			/* file position of read()/write() */
	/* The last ioctl rule looked up, for kind rule_kind (ioctl.c); chan->lock */
	const struct shim_ioc_rule *rule;
	enum shim_kind rule_kind;
	char path[UVP_PATH_MAX];	/* the node opened, "" for ioctl-made files */
};

enum shim_slot_type { SHIM_SLOT_NONE, SHIM_SLOT_CHAN, SHIM_SLOT_INTERNAL };

/* Cheap test, no lock: is fd one of ours at all? */
bool shim_fd_is_ours(int fd);
enum shim_slot_type shim_fd_type(int fd);
/* The first fd in [from, last] that is ours, or -1. */
int shim_fd_next_ours(unsigned int from, unsigned int last);
/* A referenced channel for fd, or NULL. */
struct shim_chan *shim_chan_get(int fd);
void shim_chan_put(struct shim_chan *ch);
/* Register a new channel at fd (received from the daemon). */
int shim_chan_install(int fd, enum shim_kind kind, const char *path);
/* Start using ch on fd: lock it, make it our own (REOPEN after fork/exec)
 * and check fd still names it.  0 with ch locked, or -errno unlocked. */
int shim_chan_begin(struct shim_chan *ch, int fd);
void shim_chan_end(struct shim_chan *ch);
/* ch->lock alone (shim_chan_begin takes it and more). */
void shim_chan_lock(struct shim_chan *ch);
void shim_chan_unlock(struct shim_chan *ch);
/* The socket behind fd is not a channel after all (closed behind our back). */
void shim_chan_drop_stale(int fd);
/* Remove fd from the table (caller holds a reference on ch): true when it
 * was the last fd of this process naming the channel. */
bool shim_chan_unslot(int fd, struct shim_chan *ch);
/* newfd is a dup of oldfd (a channel). */
void shim_chan_dup(int oldfd, int newfd);
/* Internal fds (control connection, DMA backing files). */
int shim_internal_fd(int fd);		/* move high, mark; returns the new fd */
void shim_internal_close(int fd);
/* Recognise a channel inherited across exec or received from elsewhere. */
struct shim_chan *shim_chan_adopt(int fd);
void shim_chan_scan_inherited(void);
void shim_chan_atfork_child(void);
void shim_chan_forget_internal(int fd);

/* ---- path.c -------------------------------------------------------------- */

enum shim_where {
	SHIM_PATH_PASS,		/* not ours: use the program's path as given */
	SHIM_PATH_DEV,		/* a served /dev node: ask the daemon */
	SHIM_PATH_REDIRECT,	/* a served tree: use p->path under the runtime */
};

struct shim_path {
	enum shim_where where;
	const char *path;	/* what to use (points into buf or the input) */
	char buf[PATH_MAX];
};

enum shim_where shim_path_classify(int dirfd, const char *path, struct shim_path *p);
/* Rewrite a result naming the runtime tree back to /sys... (in place). */
void shim_path_unredirect(char *s);
size_t shim_path_unredirect_n(char *s, size_t len);
/* The kind of file a served /dev path opens. */
enum shim_kind shim_path_kind(const char *devpath);
/* cwd changed (chdir/fchdir). */
void shim_path_cwd_changed(void);
void shim_path_init(void);

/* ---- fs.c ---------------------------------------------------------------- */

int shim_dev_open(const char *path, int flags, mode_t mode);
int shim_dev_stat(const char *path, struct uvp_stat *st);
void shim_fill_stat(const struct uvp_stat *u, struct stat *st);
/* fstat of a channel with a node path: 1 handled, 0 not a node channel. */
int shim_chan_fstat(int fd, struct stat *st);

/* ---- devdir.c ------------------------------------------------------------ */

DIR *shim_devdir_open(const char *path);
/* The machine's directory real_path with the served names (NUL-separated) added. */
DIR *shim_devdir_open_merged(const char *real_path, const char *served, size_t len);
struct dirent64 *shim_devdir_read(DIR *d);
int shim_devdir_close(DIR *d);
void shim_devdir_rewind(DIR *d);
long shim_devdir_tell(DIR *d);
void shim_devdir_seek(DIR *d, long pos);

/* ---- ioctl.c / ioctl_table.c ---------------------------------------------- */

enum shim_arg {
	SHIM_ARG_VALUE,		/* arg is a number, no memory */
	SHIM_ARG_PTR,		/* arg points at 'size' bytes */
	SHIM_ARG_ARGSZ,		/* u32 argsz first (VFIO); 'size' = minsz */
	SHIM_ARG_SIZE,		/* u32 size first (iommufd); 'size' = min size */
	SHIM_ARG_STRING,	/* a NUL-terminated string of at most a page */
};

struct shim_ioc;

struct shim_ioc_rule {
	unsigned int cmd;
	unsigned int kinds;		/* SHIM_KBIT()s this rule is for */
	enum shim_arg arg;
	uint32_t size;
	/* The kernel's whole struct, when the handler touches nothing past it
	 * (given argsz/size no larger): the direct path may send it from the
	 * program's memory as it is.  0: stage what argsz/size says. */
	uint32_t direct;
	/* Attach fds / DMA pieces / note returned fds, from the staged bytes. */
	int (*prepare)(struct shim_ioc *io);
	enum shim_kind new_kind;	/* kind of a file the call returns */
	const char *name;
};

#define SHIM_IOC_MAX_DMA	1024
#define SHIM_OUT_FD_NONE	(-1)

enum shim_stage_from {
	SHIM_STAGE_COPY,		/* a local copy (uaccess.c) */
	SHIM_STAGE_STACK,		/* the program's memory at arg, on the caller's page */
	SHIM_STAGE_DIRECT,		/* the program's memory at arg, not known to be mapped */
};

/* One ioctl being marshalled.  The arrays come last and are not cleared:
 * nfds and nbacking say how much of them is in use. */
struct shim_ioc {
	unsigned int cmd;
	uint64_t arg;
	const struct shim_ioc_rule *rule;
	uint8_t *stage;			/* staged argument bytes (local copy) */
	uint32_t stage_len;
	enum shim_stage_from from;	/* where the stage bytes are */
	int nfds;
	struct uvp_dma_piece *dma;
	uint32_t ndma;
	int out_fd;			/* SHIM_OUT_FD_NONE or the offset of an out fd */
	enum shim_kind out_kind;
	uint32_t nbacking;		/* backing-file references taken (maps.c) */
	/* Attached fds, by the client's number (this array is also the fdmap):
	 * the ones the argument names, then the DMA backing files. */
	int32_t fds[UVP_MAX_FDS];
	void *backing[UVP_MAX_FDS];
};

const struct shim_ioc_rule *shim_ioc_lookup(unsigned int cmd, enum shim_kind kind);
/* Name an fd the argument carries (by client number); -EINVAL past the limit. */
int shim_ioc_attach_fd(struct shim_ioc *io, int32_t fd);
/* Attach the shareable-file pieces of a DMA range. */
int shim_ioc_attach_dma(struct shim_ioc *io, uint64_t uaddr, uint64_t len);
enum shim_kind shim_kind_from_name(const char *name);

/* ---- rw.c ----------------------------------------------------------------- */

ssize_t shim_chan_rw(int fd, struct shim_chan *ch, bool write, void *buf,
		     size_t count, const uint64_t *pos, uintptr_t frame);

/* ---- maps.c --------------------------------------------------------------- */

/* The mappings of this process changed through a call we intercepted. */
void shim_maps_changed(void);
/* Find the shareable-file pieces of [uaddr, uaddr+len) and add them to io. */
int shim_maps_dma_pieces(struct shim_ioc *io, uint64_t uaddr, uint64_t len);
/* The request is sent: the backing files it named may be closed again. */
void shim_maps_release(struct shim_ioc *io);
void shim_maps_atfork_child(void);
void shim_maps_forget_fd(int fd);

#endif
