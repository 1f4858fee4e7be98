/* SPDX-License-Identifier: MIT */
/*
 * An in-process client: a caller context over this process's own memory
 * (mm_self) with a private file table.  It is the transport the unit tests,
 * the examples and the benchmarks use to drive a host without a daemon:
 * proc_open/proc_ioctl/... behave as the syscalls of a process whose fds
 * are the returned numbers.
 *
 * Fd numbers handed out start at PROC_FD_BASE so they never collide with
 * real fds of this process (eventfds named in SET_IRQS are real fds and are
 * resolved with dup()).  proc_free() is process death: every file is
 * closed, which runs the release of each last reference.
 */
#ifndef UVF_HOST_PROC_H
#define UVF_HOST_PROC_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include "../mm/caller.h"

struct uvf_host;
struct uvf_file;

#define PROC_FD_BASE 100000
#define PROC_MAX_FILES 4096

struct uvf_proc {
	struct uvf_host *host;
	struct uvf_caller caller;
	struct uvf_mm *mm;
	pthread_mutex_t lock;		/* protects files[] */
	struct uvf_file *files[PROC_MAX_FILES];
};

/* A process with the given credentials and capabilities (UVF_CAP_*) and
 * RLIMIT_MEMLOCK 'memlock' bytes (UINT64_MAX: unlimited). */
struct uvf_proc *proc_new(struct uvf_host *h, uid_t uid, gid_t gid, uint32_t caps,
			  uint64_t memlock);
/* Root with every capability and no memlock limit. */
struct uvf_proc *proc_new_root(struct uvf_host *h);
void proc_free(struct uvf_proc *p);

/* Syscalls.  Return >= 0 or -errno (not errno: tests compare directly). */
int proc_open(struct uvf_proc *p, const char *path, int flags);
int proc_close(struct uvf_proc *p, int fd);
int proc_dup(struct uvf_proc *p, int fd);
long proc_ioctl(struct uvf_proc *p, int fd, unsigned long cmd, const void *arg);
/* ioctl whose argument is an integer, not a pointer (CHECK_EXTENSION...). */
long proc_ioctl_val(struct uvf_proc *p, int fd, unsigned long cmd, unsigned long val);
ssize_t proc_pread(struct uvf_proc *p, int fd, void *buf, size_t count, uint64_t off);
ssize_t proc_pwrite(struct uvf_proc *p, int fd, const void *buf, size_t count, uint64_t off);
/* mmap: returns the mapping or MAP_FAILED with *err = -errno. */
void *proc_mmap(struct uvf_proc *p, int fd, size_t len, int prot, int flags, uint64_t off,
		int *err);

/* Adopt a core file into the table (a file made by an ioctl, e.g. a device
 * fd); returns the fd or -EMFILE.  The table takes the reference. */
int proc_install(struct uvf_proc *p, struct uvf_file *f);
/* The file behind fd (no reference taken), or NULL. */
struct uvf_file *proc_file(struct uvf_proc *p, int fd);

#endif
