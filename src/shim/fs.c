/* SPDX-License-Identifier: MIT */
/*
 * Wrappers of the libc calls that take a path.  Each classifies the path
 * (path.c): a served /dev node is asked of the daemon, a served tree is
 * used under the runtime directory, and anything else goes to the real
 * function exactly as the program passed it.  Results that name the
 * runtime tree (realpath, getcwd, readlink) are rewritten back to /sys.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <linux/magic.h>
#include "shim.h"

_Static_assert(sizeof(struct stat) == sizeof(struct stat64), "x86_64/aarch64 layout");

static int fail(int err)
{
	errno = err;
	return -1;
}

static time_t fake_time(void)
{
	static time_t t;

	if (!t)
		t = time(NULL);
	return t;
}

/* ---- device nodes through the daemon ---------------------------------------- */

static int dev_path_req(struct uvp_path *up, const char *path, int flags, mode_t mode)
{
	memset(up, 0, sizeof(*up));
	if (strlen(path) >= sizeof(up->path))
		return -ENAMETOOLONG;
	up->flags = flags;
	up->mode = mode;
	strcpy(up->path, path);
	return 0;
}

int shim_dev_open(const char *path, int flags, mode_t mode)
{
	struct uvp_path up;
	struct shim_msg m = { .op = UVP_OPEN };
	struct shim_reply r = { .niov = 0 };
	int err, fd;

	err = dev_path_req(&up, path, flags, mode);
	if (err)
		return fail(-err);
	shim_msg_add(&m, &up, sizeof(up));
	err = shim_ctrl_call(&m, &r, flags & O_CLOEXEC);
	if (err)
		return fail(-err);
	if (r.ret < 0 || r.nfds != 1) {
		shim_reply_close_fds(&r);
		return fail(r.ret < 0 ? (int)-r.ret : EIO);
	}
	fd = r.fds[0];
	err = shim_chan_install(fd, shim_path_kind(path), path);
	if (err) {
		REAL(close)(fd);
		return fail(-err);
	}
	return fd;
}

int shim_dev_stat(const char *path, struct uvp_stat *st)
{
	struct uvp_path up;
	struct shim_msg m = { .op = UVP_STAT };
	struct shim_reply r = { .niov = 0 };
	int err = dev_path_req(&up, path, 0, 0);

	if (err)
		return err;
	shim_msg_add(&m, &up, sizeof(up));
	shim_reply_add(&r, st, sizeof(*st));
	err = shim_ctrl_call(&m, &r, true);
	shim_reply_close_fds(&r);
	if (err)
		return err;
	if (r.ret < 0)
		return (int)r.ret;
	return r.len == sizeof(*st) ? 0 : -EIO;
}

static int dev_access(const char *path, int mode)
{
	struct uvp_path up;
	struct shim_msg m = { .op = UVP_ACCESS };
	struct shim_reply r = { .niov = 0 };
	int err = dev_path_req(&up, path, mode, 0);

	if (err)
		return fail(-err);
	shim_msg_add(&m, &up, sizeof(up));
	err = shim_ctrl_call(&m, &r, true);
	shim_reply_close_fds(&r);
	if (err)
		return fail(-err);
	return r.ret < 0 ? fail((int)-r.ret) : 0;
}

void shim_fill_stat(const struct uvp_stat *u, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = makedev(0, 5);		/* devtmpfs-like */
	st->st_ino = u->ino;
	st->st_mode = u->mode;
	st->st_nlink = S_ISDIR(u->mode) ? 2 : 1;
	st->st_uid = u->uid;
	st->st_gid = u->gid;
	st->st_rdev = makedev(u->major, u->minor);
	st->st_blksize = 4096;
	st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = fake_time();
}

static int dev_stat(const char *path, void *out)
{
	struct uvp_stat u;
	int err = shim_dev_stat(path, &u);

	if (err)
		return fail(-err);
	shim_fill_stat(&u, out);
	return 0;
}

int shim_chan_fstat(int fd, struct stat *st)
{
	struct shim_chan *ch = shim_chan_get(fd);
	char path[UVP_PATH_MAX];
	int ret;

	if (!ch)
		return 0;
	snprintf(path, sizeof(path), "%s", ch->path);
	shim_chan_put(ch);
	if (!path[0])
		return 0;
	ret = dev_stat(path, st);
	return ret ? -1 : 1;
}

/* ---- open ---------------------------------------------------------------- */

static mode_t open_mode(int flags, va_list ap)
{
	return __OPEN_NEEDS_MODE(flags) ? va_arg(ap, mode_t) : 0;
}

#define SHIM_OPEN_PATH(name)                                                  \
SHIM_EXPORT int name(const char *path, int flags, ...)                        \
{                                                                             \
	struct shim_path p;                                                   \
	va_list ap;                                                           \
	mode_t mode;                                                          \
                                                                              \
	va_start(ap, flags);                                                  \
	mode = open_mode(flags, ap);                                          \
	va_end(ap);                                                           \
	if (shim_path_classify(AT_FDCWD, path, &p) == SHIM_PATH_DEV)          \
		return shim_dev_open(p.path, flags, mode);                    \
	return REAL(name)(p.path, flags, mode);                               \
}

#define SHIM_OPENAT_PATH(name)                                                \
SHIM_EXPORT int name(int dirfd, const char *path, int flags, ...)             \
{                                                                             \
	struct shim_path p;                                                   \
	va_list ap;                                                           \
	mode_t mode;                                                          \
                                                                              \
	va_start(ap, flags);                                                  \
	mode = open_mode(flags, ap);                                          \
	va_end(ap);                                                           \
	if (shim_path_classify(dirfd, path, &p) == SHIM_PATH_DEV)             \
		return shim_dev_open(p.path, flags, mode);                    \
	return REAL(name)(dirfd, p.path, flags, mode);                        \
}

SHIM_OPEN_PATH(open)
SHIM_OPEN_PATH(open64)
SHIM_OPENAT_PATH(openat)
SHIM_OPENAT_PATH(openat64)

#define SHIM_OPEN_CHK(name)                                                   \
SHIM_EXPORT int name(const char *path, int flags)                             \
{                                                                             \
	struct shim_path p;                                                   \
                                                                              \
	if (shim_path_classify(AT_FDCWD, path, &p) == SHIM_PATH_DEV)          \
		return shim_dev_open(p.path, flags, 0);                       \
	return REAL(name)(p.path, flags);                                     \
}

#define SHIM_OPENAT_CHK(name)                                                 \
SHIM_EXPORT int name(int dirfd, const char *path, int flags)                  \
{                                                                             \
	struct shim_path p;                                                   \
                                                                              \
	if (shim_path_classify(dirfd, path, &p) == SHIM_PATH_DEV)             \
		return shim_dev_open(p.path, flags, 0);                       \
	return REAL(name)(dirfd, p.path, flags);                              \
}

SHIM_OPEN_CHK(__open_2)
SHIM_OPEN_CHK(__open64_2)
SHIM_OPENAT_CHK(__openat_2)
SHIM_OPENAT_CHK(__openat64_2)

#define SHIM_CREAT(name)                                                      \
SHIM_EXPORT int name(const char *path, mode_t mode)                           \
{                                                                             \
	struct shim_path p;                                                   \
                                                                              \
	if (shim_path_classify(AT_FDCWD, path, &p) == SHIM_PATH_DEV)          \
		return shim_dev_open(p.path, O_CREAT | O_WRONLY | O_TRUNC, mode); \
	return REAL(name)(p.path, mode);                                      \
}

SHIM_CREAT(creat)
SHIM_CREAT(creat64)

/* The open flags of an fopen mode string. */
static int fopen_flags(const char *mode)
{
	int flags = strchr(mode, '+') ? O_RDWR : mode[0] == 'r' ? O_RDONLY : O_WRONLY;

	if (mode[0] == 'w')
		flags |= O_CREAT | O_TRUNC;
	if (mode[0] == 'a')
		flags |= O_CREAT | O_APPEND;
	if (strchr(mode, 'e'))
		flags |= O_CLOEXEC;
	return flags;
}

static FILE *dev_fopen(const char *path, const char *mode)
{
	int fd = shim_dev_open(path, fopen_flags(mode), 0666);
	FILE *f;

	if (fd < 0)
		return NULL;
	f = fdopen(fd, mode);
	if (!f) {
		int err = errno;

		close(fd);
		errno = err;
	}
	return f;
}

#define SHIM_FOPEN(name)                                                      \
SHIM_EXPORT FILE *name(const char *path, const char *mode)                    \
{                                                                             \
	struct shim_path p;                                                   \
                                                                              \
	if (shim_path_classify(AT_FDCWD, path, &p) == SHIM_PATH_DEV)          \
		return dev_fopen(p.path, mode);                               \
	return REAL(name)(p.path, mode);                                      \
}

SHIM_FOPEN(fopen)
SHIM_FOPEN(fopen64)

#define SHIM_FREOPEN(name)                                                    \
SHIM_EXPORT FILE *name(const char *path, const char *mode, FILE *stream)      \
{                                                                             \
	struct shim_path p;                                                   \
                                                                              \
	if (shim_path_classify(AT_FDCWD, path, &p) == SHIM_PATH_DEV) {        \
		/* A stdio stream on a device node: not served. */            \
		fclose(stream);                                               \
		errno = ENXIO;                                                \
		return NULL;                                                  \
	}                                                                     \
	return REAL(name)(p.path, mode, stream);                              \
}

SHIM_FREOPEN(freopen)
SHIM_FREOPEN(freopen64)

/* ---- stat ------------------------------------------------------------------ */

#define SHIM_STAT_PATH(name, stype)                                           \
SHIM_EXPORT int name(const char *path, stype *st)                             \
{                                                                             \
	struct shim_path p;                                                   \
                                                                              \
	if (shim_path_classify(AT_FDCWD, path, &p) == SHIM_PATH_DEV)          \
		return dev_stat(p.path, st);                                  \
	return REAL(name)(p.path, st);                                        \
}

SHIM_STAT_PATH(stat, struct stat)
SHIM_STAT_PATH(stat64, struct stat64)
SHIM_STAT_PATH(lstat, struct stat)
SHIM_STAT_PATH(lstat64, struct stat64)

#define SHIM_FSTAT(name, stype)                                               \
SHIM_EXPORT int name(int fd, stype *st)                                       \
{                                                                             \
	int r;                                                                \
                                                                              \
	if (shim_fd_is_ours(fd) && (r = shim_chan_fstat(fd, (struct stat *)st))) \
		return r > 0 ? 0 : -1;                                        \
	return REAL(name)(fd, st);                                            \
}

SHIM_FSTAT(fstat, struct stat)
SHIM_FSTAT(fstat64, struct stat64)

#define SHIM_FSTATAT(name, stype)                                             \
SHIM_EXPORT int name(int dirfd, const char *path, stype *st, int flags)       \
{                                                                             \
	struct shim_path p;                                                   \
	int r;                                                                \
                                                                              \
	if ((flags & AT_EMPTY_PATH) && path && !*path && shim_fd_is_ours(dirfd) && \
	    (r = shim_chan_fstat(dirfd, (struct stat *)st)))                  \
		return r > 0 ? 0 : -1;                                        \
	if (shim_path_classify(dirfd, path, &p) == SHIM_PATH_DEV)             \
		return dev_stat(p.path, st);                                  \
	return REAL(name)(dirfd, p.path, st, flags);                          \
}

SHIM_FSTATAT(fstatat, struct stat)
SHIM_FSTATAT(fstatat64, struct stat64)

#define SHIM_XSTAT(name, stype)                                               \
SHIM_EXPORT int name(int ver, const char *path, stype *st)                    \
{                                                                             \
	struct shim_path p;                                                   \
                                                                              \
	if (shim_path_classify(AT_FDCWD, path, &p) == SHIM_PATH_DEV)          \
		return dev_stat(p.path, st);                                  \
	return REAL(name)(ver, p.path, st);                                   \
}

SHIM_XSTAT(__xstat, struct stat)
SHIM_XSTAT(__xstat64, struct stat64)
SHIM_XSTAT(__lxstat, struct stat)
SHIM_XSTAT(__lxstat64, struct stat64)

#define SHIM_FXSTAT(name, stype)                                              \
SHIM_EXPORT int name(int ver, int fd, stype *st)                              \
{                                                                             \
	int r;                                                                \
                                                                              \
	if (shim_fd_is_ours(fd) && (r = shim_chan_fstat(fd, (struct stat *)st))) \
		return r > 0 ? 0 : -1;                                        \
	return REAL(name)(ver, fd, st);                                       \
}

SHIM_FXSTAT(__fxstat, struct stat)
SHIM_FXSTAT(__fxstat64, struct stat64)

#define SHIM_FXSTATAT(name, stype)                                            \
SHIM_EXPORT int name(int ver, int dirfd, const char *path, stype *st, int flags) \
{                                                                             \
	struct shim_path p;                                                   \
                                                                              \
	if (shim_path_classify(dirfd, path, &p) == SHIM_PATH_DEV)             \
		return dev_stat(p.path, st);                                  \
	return REAL(name)(ver, dirfd, p.path, st, flags);                     \
}

SHIM_FXSTATAT(__fxstatat, struct stat)
SHIM_FXSTATAT(__fxstatat64, struct stat64)

static void fill_statx(const struct uvp_stat *u, struct statx *stx)
{
	memset(stx, 0, sizeof(*stx));
	stx->stx_mask = STATX_BASIC_STATS;
	stx->stx_blksize = 4096;
	stx->stx_nlink = S_ISDIR(u->mode) ? 2 : 1;
	stx->stx_uid = u->uid;
	stx->stx_gid = u->gid;
	stx->stx_mode = u->mode;
	stx->stx_ino = u->ino;
	stx->stx_atime.tv_sec = stx->stx_mtime.tv_sec = stx->stx_ctime.tv_sec = fake_time();
	stx->stx_rdev_major = u->major;
	stx->stx_rdev_minor = u->minor;
	stx->stx_dev_major = 0;
	stx->stx_dev_minor = 5;
}

static int statx_dev(const char *path, struct statx *stx)
{
	struct uvp_stat u;
	int err = shim_dev_stat(path, &u);

	if (err)
		return fail(-err);
	fill_statx(&u, stx);
	return 0;
}

SHIM_EXPORT int statx(int dirfd, const char *path, int flags, unsigned int mask,
		      struct statx *stx)
{
	struct shim_path p;

	if ((flags & AT_EMPTY_PATH) && path && !*path && shim_fd_is_ours(dirfd)) {
		struct shim_chan *ch = shim_chan_get(dirfd);
		char node[UVP_PATH_MAX] = "";

		if (ch) {
			snprintf(node, sizeof(node), "%s", ch->path);
			shim_chan_put(ch);
		}
		if (node[0])
			return statx_dev(node, stx);
	}
	if (shim_path_classify(dirfd, path, &p) == SHIM_PATH_DEV)
		return statx_dev(p.path, stx);
	if (!REAL(statx))
		return fail(ENOSYS);
	return REAL(statx)(dirfd, p.path, flags, mask, stx);
}

/* ---- access -------------------------------------------------------------- */

#define SHIM_ACCESS(name)                                                     \
SHIM_EXPORT int name(const char *path, int mode)                              \
{                                                                             \
	struct shim_path p;                                                   \
                                                                              \
	if (shim_path_classify(AT_FDCWD, path, &p) == SHIM_PATH_DEV)          \
		return dev_access(p.path, mode);                              \
	return REAL(name)(p.path, mode);                                      \
}

SHIM_ACCESS(access)
SHIM_ACCESS(eaccess)
SHIM_ACCESS(euidaccess)

SHIM_EXPORT int faccessat(int dirfd, const char *path, int mode, int flags)
{
	struct shim_path p;

	if (shim_path_classify(dirfd, path, &p) == SHIM_PATH_DEV)
		return dev_access(p.path, mode);
	return REAL(faccessat)(dirfd, p.path, mode, flags);
}

/* ---- readlink, realpath, cwd -------------------------------------------------- */

/* /proc/self/fd/N of a channel: what the kernel shows for the device file. */
static ssize_t readlink_chan_fd(const char *path, char *buf, size_t size, bool *done)
{
	char self[32], name[UVP_PATH_MAX];
	struct shim_chan *ch;
	const char *n;
	size_t len;
	int fd;

	*done = false;
	if (strncmp(path, "/proc/", 6))
		return 0;
	snprintf(self, sizeof(self), "/proc/%d/fd/", (int)shim_pid());
	if (!strncmp(path, "/proc/self/fd/", 14))
		n = path + 14;
	else if (!strncmp(path, self, strlen(self)))
		n = path + strlen(self);
	else
		return 0;
	if (*n < '0' || *n > '9')
		return 0;
	fd = atoi(n);
	ch = shim_chan_get(fd);
	if (!ch)
		return 0;
	snprintf(name, sizeof(name), "%s", ch->path[0] ? ch->path :
		 ch->kind == SHIM_K_DEVICE ? "anon_inode:[vfio-device]" : "anon_inode:uvfio");
	shim_chan_put(ch);
	len = strlen(name);
	if (len > size)
		len = size;
	memcpy(buf, name, len);
	*done = true;
	return (ssize_t)len;
}

static ssize_t readlink_dev(const char *path)
{
	struct uvp_stat u;
	int err = shim_dev_stat(path, &u);

	/* A device node or directory is not a link. */
	return fail(err ? -err : EINVAL);
}

SHIM_EXPORT ssize_t readlink(const char *path, char *buf, size_t size)
{
	struct shim_path p;
	ssize_t n;
	bool done;

	if (shim_enabled()) {
		n = readlink_chan_fd(path, buf, size, &done);
		if (done)
			return n;
	}
	if (shim_path_classify(AT_FDCWD, path, &p) == SHIM_PATH_DEV)
		return readlink_dev(p.path);
	n = REAL(readlink)(p.path, buf, size);
	if (n > 0 && shim_enabled())
		n = (ssize_t)shim_path_unredirect_n(buf, (size_t)n);
	return n;
}

SHIM_EXPORT ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t size)
{
	struct shim_path p;
	ssize_t n;
	bool done;

	if (shim_enabled() && path && path[0] == '/') {
		n = readlink_chan_fd(path, buf, size, &done);
		if (done)
			return n;
	}
	if (shim_path_classify(dirfd, path, &p) == SHIM_PATH_DEV)
		return readlink_dev(p.path);
	n = REAL(readlinkat)(dirfd, p.path, buf, size);
	if (n > 0 && shim_enabled())
		n = (ssize_t)shim_path_unredirect_n(buf, (size_t)n);
	return n;
}

SHIM_EXPORT ssize_t __readlink_chk(const char *path, char *buf, size_t len, size_t buflen)
{
	if (len > buflen)
		__chk_fail();
	return readlink(path, buf, len);
}

SHIM_EXPORT ssize_t __readlinkat_chk(int dirfd, const char *path, char *buf, size_t len,
				     size_t buflen)
{
	if (len > buflen)
		__chk_fail();
	return readlinkat(dirfd, path, buf, len);
}

SHIM_EXPORT char *realpath(const char *path, char *resolved)
{
	struct shim_path p;
	char *r;

	if (shim_path_classify(AT_FDCWD, path, &p) == SHIM_PATH_DEV) {
		struct uvp_stat u;
		int err = shim_dev_stat(p.path, &u);

		if (err) {
			errno = -err;
			return NULL;
		}
		if (!resolved)
			return strdup(p.path);
		return strcpy(resolved, p.path);
	}
	r = REAL(realpath)(p.path, resolved);
	if (r && shim_enabled())
		shim_path_unredirect(r);
	return r;
}

SHIM_EXPORT char *__realpath_chk(const char *path, char *resolved, size_t resolvedlen)
{
	if (resolvedlen < PATH_MAX)
		__chk_fail();
	return realpath(path, resolved);
}

SHIM_EXPORT char *canonicalize_file_name(const char *path)
{
	return realpath(path, NULL);
}

SHIM_EXPORT char *getcwd(char *buf, size_t size)
{
	char *r = REAL(getcwd)(buf, size);

	if (r && shim_enabled())
		shim_path_unredirect(r);
	return r;
}

SHIM_EXPORT char *__getcwd_chk(char *buf, size_t size, size_t buflen)
{
	if (size > buflen)
		__chk_fail();
	return getcwd(buf, size);
}

SHIM_EXPORT char *get_current_dir_name(void)
{
	char *r = REAL(get_current_dir_name)();

	if (r && shim_enabled())
		shim_path_unredirect(r);
	return r;
}

SHIM_EXPORT int chdir(const char *path)
{
	struct shim_path p;
	int r;

	if (shim_path_classify(AT_FDCWD, path, &p) == SHIM_PATH_DEV)
		return fail(ENOTDIR);
	r = REAL(chdir)(p.path);
	if (!r && shim_enabled())
		shim_path_cwd_changed();
	return r;
}

SHIM_EXPORT int fchdir(int fd)
{
	int r = REAL(fchdir)(fd);

	if (!r && shim_enabled())
		shim_path_cwd_changed();
	return r;
}

/* ---- directories and changes in served trees ------------------------------------ */

SHIM_EXPORT DIR *opendir(const char *path)
{
	struct shim_path p;

	char served[4096];
	size_t n;

	if (shim_path_classify(AT_FDCWD, path, &p) == SHIM_PATH_DEV)
		return shim_devdir_open(p.path);
	n = p.where == SHIM_PATH_PASS ? shim_path_served_children(path, served, sizeof(served)) : 0;
	if (n)
		return shim_devdir_open_merged(p.path, served, n);
	return REAL(opendir)(p.path);
}

#define SHIM_PATH_MODE(name)                                                  \
SHIM_EXPORT int name(const char *path, mode_t mode)                           \
{                                                                             \
	struct shim_path p;                                                   \
                                                                              \
	if (shim_path_classify(AT_FDCWD, path, &p) == SHIM_PATH_DEV)          \
		return fail(EPERM);                                           \
	return REAL(name)(p.path, mode);                                      \
}

SHIM_PATH_MODE(mkdir)
SHIM_PATH_MODE(chmod)

#define SHIM_PATH_ONLY(name)                                                  \
SHIM_EXPORT int name(const char *path)                                        \
{                                                                             \
	struct shim_path p;                                                   \
                                                                              \
	if (shim_path_classify(AT_FDCWD, path, &p) == SHIM_PATH_DEV)          \
		return fail(EPERM);                                           \
	return REAL(name)(p.path);                                            \
}

SHIM_PATH_ONLY(rmdir)
SHIM_PATH_ONLY(unlink)

SHIM_EXPORT int mkdirat(int dirfd, const char *path, mode_t mode)
{
	struct shim_path p;

	if (shim_path_classify(dirfd, path, &p) == SHIM_PATH_DEV)
		return fail(EPERM);
	return REAL(mkdirat)(dirfd, p.path, mode);
}

SHIM_EXPORT int unlinkat(int dirfd, const char *path, int flags)
{
	struct shim_path p;

	if (shim_path_classify(dirfd, path, &p) == SHIM_PATH_DEV)
		return fail(EPERM);
	return REAL(unlinkat)(dirfd, p.path, flags);
}

SHIM_EXPORT int rename(const char *from, const char *to)
{
	struct shim_path a, b;

	if (shim_path_classify(AT_FDCWD, from, &a) == SHIM_PATH_DEV ||
	    shim_path_classify(AT_FDCWD, to, &b) == SHIM_PATH_DEV)
		return fail(EPERM);
	return REAL(rename)(a.path, b.path);
}

SHIM_EXPORT int renameat(int fromfd, const char *from, int tofd, const char *to)
{
	struct shim_path a, b;

	if (shim_path_classify(fromfd, from, &a) == SHIM_PATH_DEV ||
	    shim_path_classify(tofd, to, &b) == SHIM_PATH_DEV)
		return fail(EPERM);
	return REAL(renameat)(fromfd, a.path, tofd, b.path);
}

/* Extended attributes (ls -l asks for ACLs and SELinux labels): a served
 * device node has none. */
static ssize_t dev_no_xattr(const char *path, bool list)
{
	struct uvp_stat u;
	int err = shim_dev_stat(path, &u);

	if (err)
		return fail(-err);
	return list ? 0 : fail(ENODATA);
}

#define SHIM_GETXATTR(name)                                                   \
SHIM_EXPORT ssize_t name(const char *path, const char *attr, void *val, size_t size) \
{                                                                             \
	struct shim_path p;                                                   \
                                                                              \
	if (shim_path_classify(AT_FDCWD, path, &p) == SHIM_PATH_DEV)          \
		return dev_no_xattr(p.path, false);                           \
	return REAL(name)(p.path, attr, val, size);                           \
}

SHIM_GETXATTR(getxattr)
SHIM_GETXATTR(lgetxattr)

#define SHIM_LISTXATTR(name)                                                  \
SHIM_EXPORT ssize_t name(const char *path, char *list, size_t size)           \
{                                                                             \
	struct shim_path p;                                                   \
                                                                              \
	if (shim_path_classify(AT_FDCWD, path, &p) == SHIM_PATH_DEV)          \
		return dev_no_xattr(p.path, true);                            \
	return REAL(name)(p.path, list, size);                                \
}

SHIM_LISTXATTR(listxattr)
SHIM_LISTXATTR(llistxattr)

/*
 * statfs: the served /sys trees are sysfs and /dev is devtmpfs to whoever
 * asks (udev-style checks of SYSFS_MAGIC), whatever serves them here.
 */
static int statfs_dev(const char *path, struct statfs *sf)
{
	struct uvp_stat u;
	int err = shim_dev_stat(path, &u);

	if (err)
		return fail(-err);
	memset(sf, 0, sizeof(*sf));
	sf->f_type = TMPFS_MAGIC;
	sf->f_bsize = sf->f_frsize = 4096;
	sf->f_namelen = 255;
	return 0;
}

static bool path_in_sys(const struct shim_path *p)
{
	const char *rt = shim_runtime();
	size_t n = rt ? strlen(rt) : 0;

	return n && !strncmp(p->path, rt, n) && !strncmp(p->path + n, "/sys", 4) &&
	       (p->path[n + 4] == '/' || p->path[n + 4] == '\0');
}

#define SHIM_STATFS(name, stype)                                              \
SHIM_EXPORT int name(const char *path, stype *sf)                             \
{                                                                             \
	struct shim_path p;                                                   \
	int r;                                                                \
                                                                              \
	switch (shim_path_classify(AT_FDCWD, path, &p)) {                     \
	case SHIM_PATH_DEV:                                                   \
		return statfs_dev(p.path, (struct statfs *)sf);               \
	case SHIM_PATH_REDIRECT:                                              \
		r = REAL(name)(p.path, sf);                                   \
		if (!r && path_in_sys(&p))                                    \
			sf->f_type = SYSFS_MAGIC;                             \
		return r;                                                     \
	default:                                                              \
		return REAL(name)(path, sf);                                  \
	}                                                                     \
}

_Static_assert(sizeof(struct statfs) == sizeof(struct statfs64), "x86_64/aarch64 layout");

SHIM_STATFS(statfs, struct statfs)
SHIM_STATFS(statfs64, struct statfs64)
