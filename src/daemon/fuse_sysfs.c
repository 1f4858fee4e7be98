// SPDX-License-Identifier: MIT
/*
 * The host's sysfs tree at <runtime>/sys, served with libfuse3's path API
 * on its multithreaded loop.  Everything a client sees or does is the
 * sysfs layer's: stat, readdir and readlink by path, permission at open
 * with the caller's uid/gid (fuse_get_context), and attribute reads and
 * writes on the node held open.  The kernel is told as little as possible
 * so that nothing is decided or cached outside the tree:
 *
 *  - entry, attribute and negative timeouts are 0, so changes show at once;
 *  - attribute files are direct_io: every read calls show, every write
 *    calls store, and a store's -errno is what the writer's write() gets;
 *  - no default_permissions: the sysfs layer checks (kernfs' extra rule
 *    that even root needs a mode bit and a show/store);
 *  - allow_other when running as root, so every user can read.
 *
 * Operations sysfs does not offer answer as sysfs does: creating a file
 * -EACCES, mkdir/unlink/rename and friends -EPERM, truncation (from
 * "echo x > attr") succeeds and changes nothing.
 *
 * Stopping: fuse_exit, then a signal wakes the loop's thread (waiting for
 * its workers), which sees the exit and ends the loop, cancelling the
 * workers; then the lazy unmount, and closing the device aborts whatever
 * is left.  Never a request of our own to wake it: libfuse drops a request
 * read after the exit unanswered, and our thread would wait for it
 * forever, unkillably.
 */
#define FUSE_USE_VERSION 312
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <fuse.h>
#include "uvfiod.h"
#include "core/base/log.h"
#include "core/host/host.h"
#include "core/sysfs/sysfs.h"

/* Interrupts the loop's wait; the daemon's threads never block it. */
#define FUSE_SYSFS_WAKE_SIGNAL SIGUSR1

struct fuse_sysfs {
	struct sysfs_tree *tree;
	struct fuse *fuse;
	char mountpoint[PATH_MAX];
	pthread_t loop;
	bool mounted;
	time_t start;
};

static struct fuse_sysfs *fs_self(void)
{
	return fuse_get_context()->private_data;
}

/* The caller of the current FUSE request, as the sysfs layer wants it. */
static void fs_caller(struct uvf_caller *c)
{
	struct fuse_context *ctx = fuse_get_context();

	memset(c, 0, sizeof(*c));
	c->pid = ctx->pid;
	c->tid = ctx->pid;
	c->uid = ctx->uid;
	c->gid = ctx->gid;
}

static void fs_fill_stat(const struct fuse_sysfs *fs, const struct sysfs_stat *s,
			 struct stat *st)
{
	static const mode_t type[] = {
		[SYSFS_DIR] = S_IFDIR, [SYSFS_ATTR] = S_IFREG, [SYSFS_LINK] = S_IFLNK,
	};

	memset(st, 0, sizeof(*st));
	st->st_mode = type[s->type] | (s->type == SYSFS_LINK ? 0777 : (s->mode & 07777));
	st->st_ino = s->ino;
	st->st_uid = s->uid;
	st->st_gid = s->gid;
	st->st_nlink = s->type == SYSFS_DIR ? 2 : 1;
	st->st_size = s->type == SYSFS_ATTR ? (off_t)s->size : 0;
	st->st_blksize = 4096;
	st->st_atime = st->st_mtime = st->st_ctime = fs->start;
}

static void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	cfg->use_ino = 1;
	cfg->entry_timeout = 0;
	cfg->attr_timeout = 0;
	cfg->negative_timeout = 0;
	cfg->kernel_cache = 0;
	return fuse_get_context()->private_data;
}

static int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct fuse_sysfs *fs = fs_self();
	struct sysfs_stat s;
	int ret;

	if (fi && fi->fh) {
		sysfs_stat_node((struct sysfs_node *)(uintptr_t)fi->fh, &s);
		ret = 0;
	} else {
		ret = sysfs_stat_path(fs->tree, path, false, &s);
	}
	if (!ret)
		fs_fill_stat(fs, &s, st);
	return ret;
}

static int fs_readlink(const char *path, char *buf, size_t size)
{
	ssize_t n = sysfs_readlink(fs_self()->tree, path, buf, size);

	if (n < 0)
		return (int)n;
	if ((size_t)n >= size)
		n = (ssize_t)size - 1;
	buf[n] = '\0';
	return 0;
}

struct fs_dir_fill {
	struct fuse_sysfs *fs;
	void *buf;
	fuse_fill_dir_t filler;
};

static int fs_dir_entry(const char *name, const struct sysfs_stat *s, void *arg)
{
	struct fs_dir_fill *df = arg;
	struct stat st;

	fs_fill_stat(df->fs, s, &st);
	return df->filler(df->buf, name, &st, 0, 0) ? 1 : 0;
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct fs_dir_fill df = { fs_self(), buf, filler };
	int ret;

	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	ret = sysfs_readdir(df.fs->tree, path, fs_dir_entry, &df);
	return ret > 0 ? 0 : ret;
}

static int fs_open(const char *path, struct fuse_file_info *fi)
{
	int acc = fi->flags & O_ACCMODE;
	struct uvf_caller c;
	struct sysfs_node *n;
	int ret;

	fs_caller(&c);
	n = sysfs_lookup(fs_self()->tree, path, true);
	if (!n)
		return -errno;
	ret = sysfs_access_node(n, &c, acc != O_WRONLY, acc != O_RDONLY);
	if (ret) {
		sysfs_put(n);
		return ret;
	}
	fi->fh = (uintptr_t)n;
	fi->direct_io = 1;
	fi->keep_cache = 0;
	fi->nonseekable = 0;
	return 0;
}

static int fs_release(const char *path, struct fuse_file_info *fi)
{
	sysfs_put((struct sysfs_node *)(uintptr_t)fi->fh);
	return 0;
}

static int fs_read(const char *path, char *buf, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	if (off < 0)
		return -EINVAL;
	return (int)sysfs_read_node((struct sysfs_node *)(uintptr_t)fi->fh, buf, size,
				    (uint64_t)off);
}

static int fs_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	if (off < 0)
		return -EINVAL;
	return (int)sysfs_write_node((struct sysfs_node *)(uintptr_t)fi->fh, buf, size,
				     (uint64_t)off);
}

static int fs_access(const char *path, int mask)
{
	struct fuse_sysfs *fs = fs_self();
	struct uvf_caller c;
	struct sysfs_stat s;
	int ret = sysfs_stat_path(fs->tree, path, true, &s);

	if (ret || mask == F_OK)
		return ret;
	if (s.type == SYSFS_DIR)
		return (mask & W_OK) && fuse_get_context()->uid != 0 ? -EACCES : 0;
	if (mask & X_OK)
		return -EACCES;
	fs_caller(&c);
	return sysfs_access(fs->tree, &c, path, mask & R_OK, mask & W_OK);
}

/* "echo x > attr" truncates first: sysfs accepts and ignores it. */
static int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct uvf_caller c;

	if (fi)
		return 0;
	fs_caller(&c);
	return sysfs_access(fs_self()->tree, &c, path, false, true);
}

static int fs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	return -EACCES;
}

static int fs_eperm_mode(const char *path, mode_t mode)
{
	return -EPERM;
}

static int fs_eperm_path(const char *path)
{
	return -EPERM;
}

static int fs_eperm_2path(const char *from, const char *to)
{
	return -EPERM;
}

static int fs_rename(const char *from, const char *to, unsigned int flags)
{
	return -EPERM;
}

static int fs_mknod(const char *path, mode_t mode, dev_t rdev)
{
	return -EPERM;
}

static int fs_statfs(const char *path, struct statvfs *sv)
{
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = 4096;
	sv->f_frsize = 4096;
	sv->f_namemax = 255;
	return 0;
}

static const struct fuse_operations fs_ops = {
	.init = fs_init,
	.getattr = fs_getattr,
	.readlink = fs_readlink,
	.readdir = fs_readdir,
	.open = fs_open,
	.release = fs_release,
	.read = fs_read,
	.write = fs_write,
	.access = fs_access,
	.truncate = fs_truncate,
	.create = fs_create,
	.mkdir = fs_eperm_mode,
	.mknod = fs_mknod,
	.unlink = fs_eperm_path,
	.rmdir = fs_eperm_path,
	.symlink = fs_eperm_2path,
	.link = fs_eperm_2path,
	.rename = fs_rename,
	.statfs = fs_statfs,
};

static void *fs_loop_thread(void *arg)
{
	struct fuse_sysfs *fs = arg;
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();

	if (!cfg)
		return NULL;
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	fuse_loop_cfg_set_max_threads(cfg, 16);
	fuse_loop_mt(fs->fuse, cfg);
	fuse_loop_cfg_destroy(cfg);
	return NULL;
}

/* libfuse logs through its own handler; keep its messages in ours. */
static void fs_log(enum fuse_log_level level, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	uvf_log(level <= FUSE_LOG_ERR ? UVF_LOG_ERR : UVF_LOG_DEBUG, "fuse", "%s", msg);
}

static void fs_wake(int sig)
{
}

/* A handler that does nothing, without SA_RESTART: the wait returns EINTR. */
static void fs_wake_handler_install(void)
{
	struct sigaction sa = { .sa_handler = fs_wake };
	sigset_t set;

	sigemptyset(&sa.sa_mask);
	sigaction(FUSE_SYSFS_WAKE_SIGNAL, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, FUSE_SYSFS_WAKE_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

int fuse_sysfs_start(struct uvfiod *d, const char *mountpoint, struct fuse_sysfs **out,
		     char *err, size_t errlen)
{
	struct fuse_sysfs *fs = calloc(1, sizeof(*fs));
	char *argv[] = { "uvfiod", "-o", NULL, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	char opts[128];
	int ret;

	if (!fs)
		return -ENOMEM;
	fs_wake_handler_install();
	fuse_set_log_func(fs_log);
	fs->tree = d->host->sysfs;
	fs->start = time(NULL);
	snprintf(fs->mountpoint, sizeof(fs->mountpoint), "%s", mountpoint);
	snprintf(opts, sizeof(opts), "fsname=uvfio-sysfs,subtype=uvfio%s",
		 geteuid() == 0 ? ",allow_other" : "");
	argv[2] = opts;
	fs->fuse = fuse_new(&args, &fs_ops, sizeof(fs_ops), fs);
	fuse_opt_free_args(&args);
	if (!fs->fuse) {
		snprintf(err, errlen, "cannot set up FUSE for %s", mountpoint);
		free(fs);
		return -EINVAL;
	}
	if (fuse_mount(fs->fuse, mountpoint)) {
		snprintf(err, errlen,
			 "cannot mount the sysfs tree at %s with FUSE (is /dev/fuse usable? "
			 "needs root, or fusermount3 and the fuse module)", mountpoint);
		fuse_destroy(fs->fuse);
		free(fs);
		return -ENODEV;
	}
	fs->mounted = true;
	ret = pthread_create(&fs->loop, NULL, fs_loop_thread, fs);
	if (ret) {
		snprintf(err, errlen, "cannot start the FUSE thread: %s", strerror(ret));
		fuse_unmount(fs->fuse);
		fuse_destroy(fs->fuse);
		free(fs);
		return -ret;
	}
	*out = fs;
	return 0;
}

void fuse_sysfs_stop(struct fuse_sysfs *fs)
{
	struct timespec deadline;

	if (!fs)
		return;
	fuse_exit(fs->fuse);
	/* wake the loop's thread until it sees the exit (see the top) */
	do {
		pthread_kill(fs->loop, FUSE_SYSFS_WAKE_SIGNAL);
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_nsec += 100 * 1000 * 1000;
		if (deadline.tv_nsec >= 1000000000) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000;
		}
	} while (pthread_timedjoin_np(fs->loop, NULL, &deadline) == ETIMEDOUT);
	/* lazy: a client still inside loses the connection when it closes */
	fuse_unmount(fs->fuse);
	fuse_destroy(fs->fuse);
	free(fs);
}
