// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include "file.h"

struct uvf_file *file_alloc(struct uvf_host *host, const struct uvf_file_ops *ops,
			    void *private_data, int f_flags,
			    const struct uvf_caller *opener)
{
	struct uvf_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	uvf_ref_init(&f->ref);
	f->ops = ops;
	f->host = host;
	f->private_data = private_data;
	f->f_flags = f_flags;
	if (opener) {
		f->opener_pid = opener->pid;
		f->opener_uid = opener->uid;
	}
	return f;
}

/* A file of the machine's, not of this host: it answers nothing. */
static const struct uvf_file_ops foreign_fops = {
	.name = "foreign",
};

struct uvf_file *file_alloc_foreign(struct uvf_host *host, const struct uvf_caller *c)
{
	return file_alloc(host, &foreign_fops, NULL, 0, c);
}

void file_put(struct uvf_file *f)
{
	if (!f || !uvf_ref_put(&f->ref))
		return;
	if (f->ops->release)
		f->ops->release(f);
	free(f);
}

long file_ioctl(struct uvf_file *f, struct uvf_caller *c, unsigned int cmd, uint64_t arg)
{
	if (!f->ops->ioctl)
		return -ENOTTY;
	return f->ops->ioctl(f, c, cmd, arg);
}

ssize_t file_pread(struct uvf_file *f, struct uvf_caller *c, uint64_t ubuf,
		   size_t count, uint64_t pos)
{
	if (!f->ops->read)
		return -EINVAL;
	return f->ops->read(f, c, ubuf, count, pos);
}

ssize_t file_pwrite(struct uvf_file *f, struct uvf_caller *c, uint64_t ubuf,
		    size_t count, uint64_t pos)
{
	if (!f->ops->write)
		return -EINVAL;
	return f->ops->write(f, c, ubuf, count, pos);
}

int file_mmap(struct uvf_file *f, struct uvf_caller *c, uint64_t pos, uint64_t len,
	      int prot, bool shared, struct uvf_mmap_desc *out)
{
	if (!f->ops->mmap)
		return -ENODEV;
	return f->ops->mmap(f, c, pos, len, prot, shared, out);
}
