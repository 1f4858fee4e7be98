/* SPDX-License-Identifier: MIT */
/*
 * Fault-safe access to the program's own memory.  An ioctl argument is a
 * pointer the program chose; the kernel answers EFAULT for a bad one, so the
 * shim must too, without touching it directly.  process_vm_readv/writev on
 * our own pid check every page and fail instead of faulting.  They never
 * split one remote iovec, so the range is cut at page boundaries: the copy
 * then stops exactly at the first unreadable page.
 */
#include <errno.h>
#include <unistd.h>
#include <sys/uio.h>
#include "shim.h"

#define UACCESS_PAGE	4096ULL
#define UACCESS_IOVS	32

/* Cut [addr, addr+len) at page boundaries into iov; returns entries used. */
static int split_pages(struct iovec *iov, int max, uint64_t addr, size_t len,
		       size_t *covered)
{
	int n = 0;

	*covered = 0;
	while (len && n < max) {
		uint64_t room = UACCESS_PAGE - (addr & (UACCESS_PAGE - 1));
		size_t piece = len < room ? len : (size_t)room;

		iov[n].iov_base = (void *)(uintptr_t)addr;
		iov[n].iov_len = piece;
		n++;
		addr += piece;
		len -= piece;
		*covered += piece;
	}
	return n;
}

size_t shim_uread(void *dst, uint64_t src, size_t len)
{
	size_t done = 0;

	while (done < len) {
		struct iovec remote[UACCESS_IOVS], local;
		size_t covered;
		int n = split_pages(remote, UACCESS_IOVS, src + done, len - done, &covered);
		ssize_t got;

		local.iov_base = (char *)dst + done;
		local.iov_len = covered;
		got = process_vm_readv(shim_pid(), &local, 1, remote, n, 0);
		if (got <= 0)
			break;
		done += got;
		if ((size_t)got < covered)
			break;
	}
	return done;
}

int shim_uwrite(uint64_t dst, const void *src, size_t len)
{
	size_t done = 0;

	while (done < len) {
		struct iovec remote[UACCESS_IOVS], local;
		size_t covered;
		int n = split_pages(remote, UACCESS_IOVS, dst + done, len - done, &covered);
		ssize_t put;

		local.iov_base = (char *)src + done;
		local.iov_len = covered;
		put = process_vm_writev(shim_pid(), &local, 1, remote, n, 0);
		if (put < (ssize_t)covered)
			return -EFAULT;
		done += put;
	}
	return 0;
}
