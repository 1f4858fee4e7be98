/* SPDX-License-Identifier: MIT */
/*
 * The open file.  Each open of a device node is one uvf_file with ops, as a
 * kernel struct file with its file_operations.  The file is refcounted:
 * whoever holds an fd for it (a transport, a test's fd table) holds one
 * reference, and core objects that pin a file (a device fd pinning its group
 * file) hold more.  ops->release runs when the last reference is put:
 * synchronously, on the putter's thread, exactly once.
 */
#ifndef UVF_HOST_FILE_H
#define UVF_HOST_FILE_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include "../base/refcount.h"
#include "../mm/caller.h"

struct uvf_file;
struct uvf_host;

/* Where an mmap of a file lands: a window of a shareable memory object. */
struct uvf_mmap_desc {
	struct uvf_memobj *obj;		/* referenced; receiver puts it */
	uint64_t obj_off;		/* offset of the first byte in obj */
};

struct uvf_file_ops {
	const char *name;		/* "vfio-container", "vfio-group", ... */
	long (*ioctl)(struct uvf_file *f, struct uvf_caller *c, unsigned int cmd,
		      uint64_t arg);
	/* pread/pwrite: data moves through user address ubuf (copy_to/from_user). */
	ssize_t (*read)(struct uvf_file *f, struct uvf_caller *c, uint64_t ubuf,
			size_t count, uint64_t pos);
	ssize_t (*write)(struct uvf_file *f, struct uvf_caller *c, uint64_t ubuf,
			 size_t count, uint64_t pos);
	/* mmap of [pos, pos+len): 'shared' is MAP_SHARED, prot as PROT_*. */
	int (*mmap)(struct uvf_file *f, struct uvf_caller *c, uint64_t pos,
		    uint64_t len, int prot, bool shared, struct uvf_mmap_desc *out);
	void (*release)(struct uvf_file *f);
};

struct uvf_file {
	struct uvf_ref ref;
	const struct uvf_file_ops *ops;
	struct uvf_host *host;
	void *private_data;
	int f_flags;			/* O_RDWR, O_CLOEXEC, ... as opened */
	pid_t opener_pid;
	uid_t opener_uid;
};

struct uvf_file *file_alloc(struct uvf_host *host, const struct uvf_file_ops *ops,
			    void *private_data, int f_flags,
			    const struct uvf_caller *opener);
/*
 * A file a caller names that this host does not serve (/dev/null, an
 * eventfd, a pipe, passed where a VFIO or iommufd file is expected): a file
 * all the same, so a handler answers as the kernel's does for a valid fd of
 * the wrong kind (EINVAL, EBADFD), never EBADF.  Its ops do nothing.
 */
struct uvf_file *file_alloc_foreign(struct uvf_host *host, const struct uvf_caller *c);
static inline void file_get(struct uvf_file *f) { uvf_ref_get(&f->ref); }
/* Drops a reference; the last one runs ops->release and frees f. */
void file_put(struct uvf_file *f);

/* The entry points a transport calls.  Missing ops answer as the kernel's
 * VFS: ioctl -ENOTTY, read/write -EINVAL, mmap -ENODEV. */
long file_ioctl(struct uvf_file *f, struct uvf_caller *c, unsigned int cmd, uint64_t arg);
ssize_t file_pread(struct uvf_file *f, struct uvf_caller *c, uint64_t ubuf,
		   size_t count, uint64_t pos);
ssize_t file_pwrite(struct uvf_file *f, struct uvf_caller *c, uint64_t ubuf,
		    size_t count, uint64_t pos);
int file_mmap(struct uvf_file *f, struct uvf_caller *c, uint64_t pos, uint64_t len,
	      int prot, bool shared, struct uvf_mmap_desc *out);

#endif
