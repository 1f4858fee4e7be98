// SPDX-License-Identifier: MIT
/*
 * mm_self: this process's own address space as a caller's mm.
 *
 * User copies go through process_vm_readv/writev on ourselves so that a bad
 * pointer in an ioctl argument is -EFAULT, as in the kernel, and never a
 * fault in the host.  DMA mappings resolve to one identity memory object
 * over the whole address space after checking in /proc/self/maps that the
 * range is mapped (and writable when asked).
 *
 * Limit: unlike a kernel pin, an in-process mapping does not keep the pages
 * alive if the caller munmaps them; in-process callers (tests, examples)
 * must keep DMA memory mapped until they unmap the IOVA.  The daemon's
 * remote mm passes shareable files instead and has no such limit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/uio.h>
#include "mm.h"
#include "../base/compiler.h"

struct mm_self {
	struct uvf_memobj *identity;	/* offset == address */
};

void mm_put(struct uvf_mm *mm)
{
	if (!mm || !uvf_ref_put(&mm->ref))
		return;
	if (mm->ops->release)
		mm->ops->release(mm);
	account_put(mm->account);
	free(mm);
}

static int mm_self_rw(uint64_t uaddr, void *buf, size_t len, bool write)
{
	struct iovec local = { buf, len };
	struct iovec remote = { (void *)(uintptr_t)uaddr, len };
	ssize_t n;

	if (!len)
		return 0;
	if (uaddr + len < uaddr)
		return -EFAULT;
	n = write ? process_vm_writev(getpid(), &local, 1, &remote, 1, 0)
		  : process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	return n == (ssize_t)len ? 0 : -EFAULT;
}

static int mm_self_read(struct uvf_mm *mm, void *dst, uint64_t uaddr, size_t len)
{
	return mm_self_rw(uaddr, dst, len, false);
}

static int mm_self_write(struct uvf_mm *mm, uint64_t uaddr, const void *src, size_t len)
{
	return mm_self_rw(uaddr, (void *)src, len, true);
}

/*
 * Is [start, end) covered by mappings with read (and write) permission?
 * Walks /proc/self/maps, which lists mappings in address order.
 */
static bool mm_self_range_mapped(uint64_t start, uint64_t end, bool write)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	uint64_t covered = start;

	if (!f)
		return false;
	while (covered < end && fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi;
		char perms[5];

		if (sscanf(line, "%llx-%llx %4s", &lo, &hi, perms) != 3)
			continue;
		if (hi <= covered)
			continue;
		if (lo > covered)
			break;	/* a hole */
		if (perms[0] != 'r' || (write && perms[1] != 'w'))
			break;
		covered = hi;
	}
	fclose(f);
	return covered >= end;
}

static int mm_self_resolve(struct uvf_mm *mm, uint64_t uaddr, uint64_t len, bool write,
			   struct uvf_mem_seg *segs, int max)
{
	struct mm_self *ms = mm->priv;
	uint64_t end;

	if (max < 1)
		return -E2BIG;
	if (!len || check_add_overflow(uaddr, len, &end))
		return -EFAULT;
	if (!mm_self_range_mapped(uaddr, end, write))
		return -EFAULT;
	memobj_get(ms->identity);
	segs[0].obj = ms->identity;
	segs[0].off = uaddr;
	segs[0].len = len;
	return 1;
}

static void mm_self_release(struct uvf_mm *mm)
{
	struct mm_self *ms = mm->priv;

	memobj_put(ms->identity);
	free(ms);
}

static const struct uvf_mm_ops mm_self_ops = {
	.read = mm_self_read,
	.write = mm_self_write,
	.resolve = mm_self_resolve,
	.release = mm_self_release,
};

struct uvf_mm *mm_self_new(uint64_t limit_bytes)
{
	struct uvf_mm *mm = calloc(1, sizeof(*mm));
	struct mm_self *ms = calloc(1, sizeof(*ms));
	struct uvf_memobj *id = calloc(1, sizeof(*id));

	if (!mm || !ms || !id)
		goto fail;
	mm->account = account_new(limit_bytes);
	if (!mm->account)
		goto fail;
	uvf_ref_init(&id->ref);
	id->kind = UVF_MEMOBJ_DIRECT;
	id->base = NULL;
	id->mem_fd = -1;
	id->size = UINT64_MAX;
	ms->identity = id;
	uvf_ref_init(&mm->ref);
	mm->ops = &mm_self_ops;
	mm->pid = getpid();
	mm->priv = ms;
	return mm;
fail:
	free(id);
	free(ms);
	free(mm);
	return NULL;
}
