// SPDX-License-Identifier: MIT
/*
 * VFIO's dma_entry_limit is 65535 mappings per container, and QEMU or
 * DPDK may use all of them.  Each is a MAP_DMA of a piece of one shared
 * buffer; neither this process nor the daemon may need an mmap per
 * mapping, or vm.max_map_count (65530 by default) stops them first.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <linux/vfio.h>
#include "vt.h"

#define PAGE		4096
#define NMAPS		65535
#define IOVA		0x100000000ull
#define BUF_PAGES	64

static void test_65535_mappings(void)
{
	struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };
	uint8_t *buf = vt_memfd_buf(BUF_PAGES * PAGE, NULL);
	long self_before, daemon_before, self_after, daemon_after;
	pid_t daemon = vt_daemon_pid();
	struct rlimit rl;
	struct vt_dev d;
	int efd = eventfd(0, EFD_CLOEXEC);

	vt_require(buf && efd >= 0 && !vt_open(&d, VT_BDF));
	/* Root has CAP_IPC_LOCK; anyone else needs the memlock for 256 MiB. */
	if (geteuid() && (getrlimit(RLIMIT_MEMLOCK, &rl) ||
			  (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)NMAPS * PAGE))) {
		printf("# RLIMIT_MEMLOCK too small for %d pinned pages; skipped\n", NMAPS);
		return;
	}
	vt_require(!vt_msix(&d, VT_VEC_DONE, 1, &efd));
	vt_expect_ok(ioctl(d.container, VFIO_IOMMU_GET_INFO, &info));
	for (int i = 0; i < BUF_PAGES * PAGE; i++)
		buf[i] = (uint8_t)(i / PAGE + i);
	self_before = vt_map_count(0);
	daemon_before = vt_map_count(daemon);
	/* 65535 one-page mappings, cycling over the buffer's pages. */
	for (int i = 0; i < NMAPS; i++) {
		if (vt_map(d.container, buf + (i % BUF_PAGES) * PAGE, IOVA + (uint64_t)i * PAGE,
			   PAGE)) {
			vt_fail(__FILE__, __LINE__, "mapping %d failed: %s", i, strerror(errno));
			break;
		}
	}
	/* dma_entry_limit: the next one is refused. */
	vt_expect_errno(vt_map(d.container, buf, IOVA + (uint64_t)NMAPS * PAGE, PAGE), ENOSPC);
	self_after = vt_map_count(0);
	daemon_after = vt_map_count(daemon);
	printf("# mappings: this process %ld -> %ld, daemon %ld -> %ld\n", self_before,
	       self_after, daemon_before, daemon_after);
	vt_expect(self_after - self_before < 16);
	vt_expect(daemon < 0 || daemon_after - daemon_before < 64);
	/* The device uses two of them: page 7's copy lands in page 40. */
	vt_expect_eq(vt_dma_copy(&d, IOVA + 7ull * PAGE, IOVA + (65000ull) * PAGE, PAGE),
		     VT_STATUS_DONE);
	vt_expect_eq(vt_wait_event(efd, 5000), 1);
	vt_expect(!memcmp(buf + 7 * PAGE, buf + (65000 % BUF_PAGES) * PAGE, PAGE));
	/* One unmap takes them all (type1v2 unmaps whole mappings only). */
	vt_expect_ok(vt_unmap(d.container, IOVA, (uint64_t)NMAPS * PAGE));
	vt_expect_ok(vt_map(d.container, buf, IOVA, PAGE));
	vt_close(&d);
}

int main(int argc, char **argv)
{
	static const struct vt_case cases[] = {
		{ "65535 DMA mappings of one memfd, no mmap each; the 65536th ENOSPC",
		  test_65535_mappings, 300 },
	};

	return vt_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
