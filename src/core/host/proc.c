// SPDX-License-Identifier: MIT
/*
 * The in-process client.  Lock: p->lock protects the file table only; no
 * file op runs under it (an op may install a new fd, e.g. GET_DEVICE_FD).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/mman.h>
#include "proc.h"
#include "devnode.h"
#include "file.h"
#include "host.h"

static struct uvf_file *proc_fget(struct uvf_caller *c, int fd);
static int proc_fget_raw(struct uvf_caller *c, int fd);
static int proc_fd_install(struct uvf_caller *c, struct uvf_file *f, int o_flags);

static const struct uvf_fd_ops proc_fd_ops = {
	.fget = proc_fget,
	.fget_raw = proc_fget_raw,
	.fd_install = proc_fd_install,
};

struct uvf_proc *proc_new(struct uvf_host *h, uid_t uid, gid_t gid, uint32_t caps,
			  uint64_t memlock)
{
	struct uvf_proc *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->mm = mm_self_new(memlock);
	if (!p->mm) {
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	p->host = h;
	p->caller.pid = getpid();
	p->caller.tid = getpid();
	p->caller.uid = uid;
	p->caller.gid = gid;
	p->caller.caps = caps;
	p->caller.mm = p->mm;
	p->caller.fds = &proc_fd_ops;
	p->caller.fds_priv = p;
	return p;
}

struct uvf_proc *proc_new_root(struct uvf_host *h)
{
	return proc_new(h, 0, 0, ~0u, UINT64_MAX);
}

void proc_free(struct uvf_proc *p)
{
	if (!p)
		return;
	for (int i = 0; i < PROC_MAX_FILES; i++)
		proc_close(p, PROC_FD_BASE + i);
	mm_put(p->mm);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* The file at fd with a reference, or NULL. */
static struct uvf_file *proc_get(struct uvf_proc *p, int fd)
{
	struct uvf_file *f = NULL;
	int i = fd - PROC_FD_BASE;

	if (i < 0 || i >= PROC_MAX_FILES)
		return NULL;
	pthread_mutex_lock(&p->lock);
	f = p->files[i];
	if (f)
		file_get(f);
	pthread_mutex_unlock(&p->lock);
	return f;
}

struct uvf_file *proc_file(struct uvf_proc *p, int fd)
{
	int i = fd - PROC_FD_BASE;

	if (i < 0 || i >= PROC_MAX_FILES)
		return NULL;
	return p->files[i];
}

int proc_install(struct uvf_proc *p, struct uvf_file *f)
{
	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < PROC_MAX_FILES; i++) {
		if (!p->files[i]) {
			p->files[i] = f;
			pthread_mutex_unlock(&p->lock);
			return PROC_FD_BASE + i;
		}
	}
	pthread_mutex_unlock(&p->lock);
	file_put(f);
	return -EMFILE;
}

static struct uvf_file *proc_fget(struct uvf_caller *c, int fd)
{
	return proc_get(c->fds_priv, fd);
}

/* Real fds (eventfds) are ours already: hand out a duplicate. */
static int proc_fget_raw(struct uvf_caller *c, int fd)
{
	int dup_fd;

	if (fd >= PROC_FD_BASE)
		return -EBADF;
	dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	return dup_fd < 0 ? -EBADF : dup_fd;
}

static int proc_fd_install(struct uvf_caller *c, struct uvf_file *f, int o_flags)
{
	return proc_install(c->fds_priv, f);
}

int proc_open(struct uvf_proc *p, const char *path, int flags)
{
	struct uvf_file *f = NULL;
	int ret = host_open(p->host, &p->caller, path, flags, &f);

	if (ret)
		return ret;
	return proc_install(p, f);
}

int proc_close(struct uvf_proc *p, int fd)
{
	struct uvf_file *f;
	int i = fd - PROC_FD_BASE;

	if (i < 0 || i >= PROC_MAX_FILES)
		return -EBADF;
	pthread_mutex_lock(&p->lock);
	f = p->files[i];
	p->files[i] = NULL;
	pthread_mutex_unlock(&p->lock);
	if (!f)
		return -EBADF;
	file_put(f);
	return 0;
}

int proc_dup(struct uvf_proc *p, int fd)
{
	struct uvf_file *f = proc_get(p, fd);

	if (!f)
		return -EBADF;
	return proc_install(p, f);
}

long proc_ioctl(struct uvf_proc *p, int fd, unsigned long cmd, const void *arg)
{
	return proc_ioctl_val(p, fd, cmd, (unsigned long)(uintptr_t)arg);
}

long proc_ioctl_val(struct uvf_proc *p, int fd, unsigned long cmd, unsigned long val)
{
	struct uvf_file *f = proc_get(p, fd);
	long ret;

	if (!f)
		return -EBADF;
	ret = file_ioctl(f, &p->caller, (unsigned int)cmd, val);
	file_put(f);
	return ret;
}

ssize_t proc_pread(struct uvf_proc *p, int fd, void *buf, size_t count, uint64_t off)
{
	struct uvf_file *f = proc_get(p, fd);
	ssize_t ret;

	if (!f)
		return -EBADF;
	ret = file_pread(f, &p->caller, (uint64_t)(uintptr_t)buf, count, off);
	file_put(f);
	return ret;
}

ssize_t proc_pwrite(struct uvf_proc *p, int fd, const void *buf, size_t count, uint64_t off)
{
	struct uvf_file *f = proc_get(p, fd);
	ssize_t ret;

	if (!f)
		return -EBADF;
	ret = file_pwrite(f, &p->caller, (uint64_t)(uintptr_t)buf, count, off);
	file_put(f);
	return ret;
}

void *proc_mmap(struct uvf_proc *p, int fd, size_t len, int prot, int flags, uint64_t off,
		int *err)
{
	struct uvf_file *f = proc_get(p, fd);
	struct uvf_mmap_desc desc = { 0 };
	void *addr = MAP_FAILED;
	int ret, mfd;

	if (!f) {
		*err = -EBADF;
		return MAP_FAILED;
	}
	ret = file_mmap(f, &p->caller, off, len, prot, flags & MAP_SHARED, &desc);
	file_put(f);
	if (ret) {
		*err = ret;
		return MAP_FAILED;
	}
	mfd = memobj_fd(desc.obj);
	if (mfd < 0)
		ret = -ENODEV;
	else
		addr = mmap(NULL, len, prot, flags, mfd, (off_t)desc.obj_off);
	if (mfd >= 0 && addr == MAP_FAILED)
		ret = -errno;
	memobj_put(desc.obj);
	*err = ret;
	return addr;
}
