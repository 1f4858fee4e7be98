// SPDX-License-Identifier: MIT
/*
 * The user-visible side of fault injection, on a host with the
 * iommufd_test option (the kernel's CONFIG_FAULT_INJECTION with
 * CONFIG_IOMMUFD_TEST):
 *
 *  - /proc/<pid>/fail-nth and /proc/<pid>/task/<tid>/fail-nth (fs/proc/base.c):
 *    writing N arms the N-th fault-injection site the task reaches next;
 *    reading gives what is left of the count, "0\n" once it fired.  The
 *    transport names the task by numbers: only the client knows whose
 *    "self" a path means.
 *  - /sys/kernel/debug/{failslab,fail_page_alloc,fail_usercopy}/ with the
 *    attributes of lib/fault-inject.c, which tools set before sweeping
 *    (the iommufd_fail_nth selftest writes ignore-gfp-wait and verbose).
 *    They are validated and remembered as the kernel's are, but steer
 *    nothing: every site of the iommufd layer (iommufd_should_fail) counts
 *    against fail-nth, whatever the allocation flags would have been.
 *
 * No locks of its own: a debugfs value is one word, read and written whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "fault_inject.h"
#include "host.h"
#include "file.h"
#include "../base/compiler.h"
#include "../iommufd/iommufd.h"
#include "../iommufd/fail_nth.h"
#include "../sysfs/sysfs.h"

/* ---- /proc/<pid>/task/<tid>/fail-nth ------------------------------------------------- */

struct fail_nth_file {
	struct fail_nth_table *table;
	pid_t tid;
};

static ssize_t fail_nth_fops_read(struct uvf_file *f, struct uvf_caller *c, uint64_t ubuf,
				  size_t count, uint64_t pos)
{
	struct fail_nth_file *fn = f->private_data;
	char num[16];
	size_t len = (size_t)snprintf(num, sizeof(num), "%u\n", fail_nth_read(fn->table, fn->tid));

	/* simple_read_from_buffer */
	if (pos >= len || !count)
		return 0;
	if (count > len - pos)
		count = len - (size_t)pos;
	if (copy_to_user(c, ubuf, num + pos, count))
		return -EFAULT;
	return (ssize_t)count;
}

static ssize_t fail_nth_fops_write(struct uvf_file *f, struct uvf_caller *c, uint64_t ubuf,
				   size_t count, uint64_t pos)
{
	struct fail_nth_file *fn = f->private_data;
	char num[32];
	unsigned int n;
	int rc;

	/* kstrtouint_from_user: at most a buffer's worth, one trailing newline */
	if (count >= sizeof(num))
		count = sizeof(num) - 1;
	if (copy_from_user(c, num, ubuf, count))
		return -EFAULT;
	num[count] = '\0';
	rc = kstrtouint(num, 0, &n);
	if (!rc)
		rc = fail_nth_write(fn->table, fn->tid, n);
	return rc ? rc : (ssize_t)count;
}

static void fail_nth_fops_release(struct uvf_file *f)
{
	free(f->private_data);
}

static const struct uvf_file_ops fail_nth_fops = {
	.name = "proc-fail-nth",
	.read = fail_nth_fops_read,
	.write = fail_nth_fops_write,
	.release = fail_nth_fops_release,
};

bool host_fault_injection(struct uvf_host *h)
{
	return h->params.iommufd_test && iommufd_fail_nth_table(h);
}

/* "/proc/<pid>/fail-nth" or "/proc/<pid>/task/<tid>/fail-nth": the task, or 0. */
static pid_t fail_nth_path_task(const char *path, pid_t *pid)
{
	int p = 0, t = 0, end = 0;

	if (sscanf(path, "/proc/%d/fail-nth%n", &p, &end) == 1 && !path[end] && p > 0) {
		*pid = p;
		return p;
	}
	end = 0;
	if (sscanf(path, "/proc/%d/task/%d/fail-nth%n", &p, &t, &end) == 2 && !path[end] &&
	    p > 0 && t > 0) {
		*pid = p;
		return t;
	}
	return 0;
}

int host_proc_open(struct uvf_host *h, struct uvf_caller *c, const char *path, int flags,
		   struct uvf_file **out)
{
	struct fail_nth_file *fn;
	char taskdir[64];
	struct stat st;
	pid_t pid, tid;

	tid = fail_nth_path_task(path, &pid);
	if (!tid || !host_fault_injection(h))
		return -ENOENT;
	/* the task must exist, in that process; its file is 0644, owned by it */
	snprintf(taskdir, sizeof(taskdir), "/proc/%d/task/%d", (int)pid, (int)tid);
	if (stat(taskdir, &st))
		return -ENOENT;
	if ((flags & O_ACCMODE) != O_RDONLY && c->uid != 0 && c->uid != st.st_uid)
		return -EACCES;
	fn = calloc(1, sizeof(*fn));
	if (!fn)
		return -ENOMEM;
	fn->table = iommufd_fail_nth_table(h);
	fn->tid = tid;
	*out = file_alloc(h, &fail_nth_fops, fn, flags, c);
	if (!*out) {
		free(fn);
		return -ENOMEM;
	}
	return 0;
}

/* ---- /sys/kernel/debug/fail* ---------------------------------------------------------- */

enum fault_attr_type { FA_BOOL, FA_ULONG, FA_INT };

struct fault_attr_desc {
	const char *name;
	enum fault_attr_type type;
	unsigned long long def;
};

/* struct fault_attr's files (fault_create_debugfs_attr), then the extras. */
static const struct fault_attr_desc fault_attr_common[] = {
	{ "probability", FA_ULONG, 0 },
	{ "interval", FA_ULONG, 1 },
	{ "times", FA_INT, 1 },
	{ "space", FA_INT, 0 },
	{ "verbose", FA_ULONG, 2 },
	{ "verbose_ratelimit_interval_ms", FA_ULONG, 5000 },
	{ "verbose_ratelimit_burst", FA_ULONG, 10 },
	{ "task-filter", FA_BOOL, 0 },
};

static const struct fault_attr_desc failslab_extra[] = {
	{ "ignore-gfp-wait", FA_BOOL, 1 },
	{ "cache-filter", FA_BOOL, 0 },
};

static const struct fault_attr_desc fail_page_alloc_extra[] = {
	{ "ignore-gfp-wait", FA_BOOL, 1 },
	{ "ignore-gfp-highmem", FA_BOOL, 1 },
	{ "min-order", FA_ULONG, 1 },
};

struct fault_attr_value {
	const struct fault_attr_desc *desc;
	unsigned long long val;
};

/* Every value of the host's fault directories (h->fault_attrs). */
#define FAULT_ATTRS_MAX 32

struct host_fault_attrs {
	struct fault_attr_value v[FAULT_ATTRS_MAX];
	unsigned int n;
};

static ssize_t fault_attr_show(struct sysfs_node *attr, char *buf)
{
	struct fault_attr_value *v = sysfs_priv(attr);

	switch (v->desc->type) {
	case FA_BOOL:
		return sysfs_emit(buf, "%c\n", v->val ? 'Y' : 'N');
	case FA_INT:
		return sysfs_emit(buf, "%d\n", (int)v->val);
	default:
		return sysfs_emit(buf, "%llu\n", v->val);
	}
}

static ssize_t fault_attr_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	struct fault_attr_value *v = sysfs_priv(attr);
	unsigned long long n;
	char tmp[32];
	bool b;
	int rc;

	if (len >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, buf, len);
	tmp[len] = '\0';
	if (v->desc->type == FA_BOOL) {
		rc = kstrtobool(tmp, &b);
		n = !rc && b;
	} else if (v->desc->type == FA_INT) {
		/* an atomic_t: signed ("times" -1 means no limit) */
		bool neg = tmp[0] == '-';

		rc = kstrtoull(tmp + neg, 0, &n);
		if (!rc && n > (neg ? 1ULL << 31 : INT32_MAX))
			rc = -EINVAL;
		if (neg)
			n = (unsigned long long)(-(long long)n);
	} else {
		rc = kstrtoull(tmp, 0, &n);
	}
	if (rc)
		return rc;
	v->val = n;
	return (ssize_t)len;
}

static const struct sysfs_attr_ops fault_attr_ops = {
	.show = fault_attr_show,
	.store = fault_attr_store,
};

static int fault_attrs_add(struct host_fault_attrs *fa, struct sysfs_node *dir,
			   const struct fault_attr_desc *descs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct fault_attr_value *v = &fa->v[fa->n];

		if (fa->n == FAULT_ATTRS_MAX)
			return -ENOSPC;
		fa->n++;
		v->desc = &descs[i];
		v->val = descs[i].def;
		if (!sysfs_add_attr(dir, descs[i].name, 0600, &fault_attr_ops, v))
			return -errno;
	}
	return 0;
}

static int fault_dir_add(struct host_fault_attrs *fa, struct sysfs_node *debugfs,
			 const char *name, const struct fault_attr_desc *extra, size_t nextra)
{
	struct sysfs_node *dir = sysfs_mkdir(debugfs, name, 0700);
	int rc;

	if (!dir)
		return -errno;
	rc = fault_attrs_add(fa, dir, fault_attr_common, ARRAY_SIZE(fault_attr_common));
	return rc ? rc : fault_attrs_add(fa, dir, extra, nextra);
}

int host_fault_inject_init(struct uvf_host *h)
{
	struct host_fault_attrs *fa;
	struct sysfs_node *debugfs;
	int rc;

	if (!host_fault_injection(h) || h->fault_attrs)
		return 0;
	debugfs = sysfs_mkdir_p(sysfs_root(h->sysfs), "kernel/debug");
	if (!debugfs)
		return -errno;
	fa = calloc(1, sizeof(*fa));
	if (!fa)
		return -ENOMEM;
	h->fault_attrs = fa;	/* freed by host_free, after the tree */
	rc = fault_dir_add(fa, debugfs, "failslab", failslab_extra, ARRAY_SIZE(failslab_extra));
	if (!rc)
		rc = fault_dir_add(fa, debugfs, "fail_page_alloc", fail_page_alloc_extra,
				   ARRAY_SIZE(fail_page_alloc_extra));
	if (!rc)
		rc = fault_dir_add(fa, debugfs, "fail_usercopy", NULL, 0);
	return rc;
}
