// SPDX-License-Identifier: MIT
/*
 * The device at work through the shim: config space by pread/pwrite, DMA
 * through the IOMMU from memfd-backed and from anonymous memory, MSI-X
 * eventfds, faults, and BAR mmap (stores through the mapping reach the
 * device's memory).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <linux/vfio.h>
#include "vt.h"

#define IOVA		0x40000000ull
#define PAGE		4096

static void test_config_space(void)
{
	uint32_t id, bar;
	uint16_t cmd;
	uint8_t hdr[64];
	struct vt_dev d;

	vt_require(!vt_open(&d, VT_BDF));
	vt_expect_eq(pread(d.device, &id, 4, d.config), 4);
	vt_expect_eq(id, VT_VENDOR | VT_DEVICE << 16);
	vt_expect_eq(pread(d.device, hdr, sizeof(hdr), d.config), sizeof(hdr));
	vt_expect_eq(hdr[0x0e] & 0x7f, 0);		/* a type 0 header */
	/* vt_open turned on memory decoding and bus mastering. */
	vt_expect_eq(pread(d.device, &cmd, 2, d.config + 4), 2);
	vt_expect_eq(cmd & 0x6, 0x6);
	cmd &= ~0x4;
	vt_expect_eq(pwrite(d.device, &cmd, 2, d.config + 4), 2);
	vt_expect_eq(pread(d.device, &cmd, 2, d.config + 4), 2);
	vt_expect_eq(cmd & 0x6, 0x2);
	/* BAR0 is a 64-bit memory BAR; sizing reads back its size. */
	vt_expect_eq(pread(d.device, &bar, 4, d.config + 0x10), 4);
	vt_expect_eq(bar & 0x7, 0x4);
	bar = ~0u;
	vt_expect_eq(pwrite(d.device, &bar, 4, d.config + 0x10), 4);
	vt_expect_eq(pread(d.device, &bar, 4, d.config + 0x10), 4);
	vt_expect_eq(bar & ~0xfu, ~(uint32_t)(VT_BAR0_SIZE - 1));
	/* The vector calls: two pieces of the header at once. */
	{
		uint16_t v, dv;
		struct iovec iov[2] = { { &v, 2 }, { &dv, 2 } };

		vt_expect_eq(preadv(d.device, iov, 2, (off_t)d.config), 4);
		vt_expect_eq(v, VT_VENDOR);
		vt_expect_eq(dv, VT_DEVICE);
	}
	/* A register read through BAR0 (trapped, so pread). */
	vt_expect_eq(vt_reg_read(&d, VT_REG_MAGIC), VT_MAGIC);
	vt_reg_write(&d, VT_REG_SCRATCH, 0x12345678);
	vt_expect_eq(vt_reg_read(&d, VT_REG_SCRATCH), 0x12345678);
	vt_close(&d);
}

/* Copy len bytes from src to dst (both DMA-mapped at their iova). */
static void copy_and_check(struct vt_dev *d, int efd, const uint8_t *src, uint64_t src_iova,
			   const uint8_t *dst, uint64_t dst_iova, uint32_t len)
{
	uint32_t st = vt_dma_copy(d, src_iova, dst_iova, len);

	vt_expect_eq(st, VT_STATUS_DONE);
	vt_expect_eq(vt_wait_event(efd, 5000), 1);
	vt_expect(!memcmp(src, dst, len));
	vt_reg_write(d, VT_REG_INTR, 3);
}

static void test_dma_memfd(void)
{
	struct vt_dev d;
	uint8_t *buf = vt_memfd_buf(4 * PAGE, NULL);
	int efd = eventfd(0, EFD_CLOEXEC), fds[1];

	vt_require(buf && efd >= 0 && !vt_open(&d, VT_BDF));
	fds[0] = efd;
	vt_require(!vt_msix(&d, VT_VEC_DONE, 1, fds));
	for (int i = 0; i < 2 * PAGE; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	vt_require(!vt_map(d.container, buf, IOVA, 4 * PAGE));
	copy_and_check(&d, efd, buf, IOVA, buf + 2 * PAGE, IOVA + 2 * PAGE, 2 * PAGE);
	/* Mapped twice at other IOVAs: the same pages. */
	vt_require(!vt_map(d.container, buf, IOVA + 0x100000, PAGE));
	buf[5] = 0x5a;
	copy_and_check(&d, efd, buf, IOVA + 0x100000, buf + 3 * PAGE, IOVA + 3 * PAGE, 64);
	vt_expect_ok(vt_unmap(d.container, IOVA, 4 * PAGE));
	vt_expect_ok(vt_unmap(d.container, IOVA + 0x100000, PAGE));
	vt_close(&d);
	close(efd);
}

static void test_dma_anonymous(void)
{
	struct vt_dev d;
	uint8_t *src = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *dst = aligned_alloc(PAGE, 3 * PAGE);
	int efd = eventfd(0, EFD_CLOEXEC);

	vt_require(src != MAP_FAILED && dst && efd >= 0 && !vt_open(&d, VT_BDF));
	vt_require(!vt_msix(&d, VT_VEC_DONE, 1, &efd));
	for (int i = 0; i < 3 * PAGE; i++)
		src[i] = (uint8_t)(i ^ 0xa5);
	memset(dst, 0, 3 * PAGE);
	vt_require(!vt_map(d.container, src, IOVA, 3 * PAGE));
	vt_require(!vt_map(d.container, dst, IOVA + 0x10000, 3 * PAGE));
	copy_and_check(&d, efd, src, IOVA, dst, IOVA + 0x10000, 3 * PAGE);
	/* An odd length across a page boundary. */
	memset(dst, 0, 3 * PAGE);
	copy_and_check(&d, efd, src + 100, IOVA + 100, dst + 100, IOVA + 0x10000 + 100, 5000);
	vt_expect_eq(dst[99], 0);
	vt_close(&d);
	close(efd);
}

static void test_dma_fault(void)
{
	struct vt_dev d;
	uint8_t *buf = vt_memfd_buf(PAGE, NULL);
	int fds[2] = { eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC) };
	uint32_t st;

	vt_require(buf && fds[0] >= 0 && fds[1] >= 0 && !vt_open(&d, VT_BDF));
	vt_require(!vt_msix(&d, 0, 2, fds));
	vt_require(!vt_map(d.container, buf, IOVA, PAGE));
	/* Reading an IOVA nobody mapped: the device reports it, vector 1 fires. */
	st = vt_dma_copy(&d, IOVA + 0x200000, IOVA, 16);
	vt_expect(st & VT_STATUS_ERROR);
	vt_expect_eq(vt_reg_read(&d, VT_REG_ERROR), VT_ERR_DMA_READ);
	vt_expect_eq(vt_reg_read(&d, VT_REG_FAULT_IOVA), (uint32_t)(IOVA + 0x200000));
	vt_expect_eq(vt_wait_event(fds[1], 5000), 1);
	vt_expect_eq(vt_wait_event(fds[0], 0), 0);
	vt_reg_write(&d, VT_REG_INTR, 3);
	/* A read-only mapping cannot be written by the device. */
	vt_expect_ok(vt_unmap(d.container, IOVA, PAGE));
	{
		struct vfio_iommu_type1_dma_map map = {
			.argsz = sizeof(map), .flags = VFIO_DMA_MAP_FLAG_READ,
			.vaddr = (uintptr_t)buf, .iova = IOVA, .size = PAGE,
		};

		vt_require(!ioctl(d.container, VFIO_IOMMU_MAP_DMA, &map));
	}
	st = vt_dma_copy(&d, IOVA, IOVA + 64, 16);
	vt_expect(st & VT_STATUS_ERROR);
	vt_expect_eq(vt_reg_read(&d, VT_REG_ERROR), VT_ERR_DMA_WRITE);
	vt_expect_eq(vt_wait_event(fds[1], 5000), 1);
	vt_close(&d);
}

static void test_msix_vectors(void)
{
	struct vt_dev d;
	int fds[VT_MSIX_VECTORS];
	struct vfio_irq_set trig = {
		.argsz = sizeof(trig),
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = VFIO_PCI_MSIX_IRQ_INDEX, .count = 1,
	};

	vt_require(!vt_open(&d, VT_BDF));
	for (int i = 0; i < VT_MSIX_VECTORS; i++)
		vt_require((fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) >= 0);
	vt_require(!vt_msix(&d, 0, VT_MSIX_VECTORS, fds));
	/* Each vector signals its own eventfd, and only that one. */
	for (int v = 0; v < VT_MSIX_VECTORS; v++) {
		trig.start = v;
		vt_expect_ok(ioctl(d.device, VFIO_DEVICE_SET_IRQS, &trig));
		for (int i = 0; i < VT_MSIX_VECTORS; i++)
			vt_expect_eq(vt_wait_event(fds[i], i == v ? 2000 : 0), i == v);
	}
	/* -1 unassigns one vector; the others stay. */
	{
		int one[1] = { -1 };

		vt_expect_ok(vt_msix(&d, 1, 1, one));
		trig.start = 1;
		vt_expect_ok(ioctl(d.device, VFIO_DEVICE_SET_IRQS, &trig));
		vt_expect_eq(vt_wait_event(fds[1], 100), 0);
		trig.start = 2;
		vt_expect_ok(ioctl(d.device, VFIO_DEVICE_SET_IRQS, &trig));
		vt_expect_eq(vt_wait_event(fds[2], 2000), 1);
	}
	/* A closed fd number in the array: EBADF, as the kernel's eventfd lookup. */
	{
		int bad[1] = { 999 };

		vt_expect_errno(vt_msix(&d, 0, 1, bad), EBADF);
	}
	/* Beyond the vectors the device has. */
	trig.start = VT_MSIX_VECTORS;
	vt_expect_errno(ioctl(d.device, VFIO_DEVICE_SET_IRQS, &trig), EINVAL);
	/* Disable all. */
	trig = (struct vfio_irq_set){ .argsz = sizeof(trig),
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = VFIO_PCI_MSIX_IRQ_INDEX };
	vt_expect_ok(ioctl(d.device, VFIO_DEVICE_SET_IRQS, &trig));
	vt_close(&d);
}

static void test_bar_mmap(void)
{
	struct vt_dev d;
	uint8_t *dst = vt_memfd_buf(PAGE, NULL), back[64];
	uint8_t *bar;
	int efd = eventfd(0, EFD_CLOEXEC);

	vt_require(dst && efd >= 0 && !vt_open(&d, VT_BDF));
	vt_require(!vt_msix(&d, VT_VEC_DONE, 1, &efd));
	/* Pages 1-3 of BAR2 are device memory shared with the mapping. */
	bar = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, d.device,
		   (off_t)(d.bar2 + PAGE));
	vt_require(bar != MAP_FAILED);
	for (int i = 0; i < 64; i++)
		bar[PAGE + i] = (uint8_t)(0xc0 + i);
	/* The same bytes through the region (pread) ... */
	vt_expect_eq(pread(d.device, back, 64, d.bar2 + 2 * PAGE), 64);
	vt_expect(!memcmp(back, bar + PAGE, 64));
	/* ... and through the device itself: DMA out of its own BAR (P2P). */
	vt_require(!vt_map(d.container, bar, IOVA, 3 * PAGE));
	vt_require(!vt_map(d.container, dst, IOVA + 0x100000, PAGE));
	copy_and_check(&d, efd, bar + PAGE, IOVA + PAGE, dst, IOVA + 0x100000, 64);
	/* And a store by pwrite shows in the mapping. */
	back[0] = 0x77;
	vt_expect_eq(pwrite(d.device, back, 1, d.bar2 + 3 * PAGE + 8), 1);
	vt_expect_eq(bar[2 * PAGE + 8], 0x77);
	vt_expect_ok(munmap(bar, 3 * PAGE));
	/* A private mapping of a BAR is refused, as by vfio-pci. */
	vt_expect(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, d.device,
		       (off_t)(d.bar2 + PAGE)) == MAP_FAILED);
	vt_expect_eq(errno, EINVAL);
	/* BAR0 has no MMAP flag. */
	vt_expect(mmap(NULL, PAGE, PROT_READ, MAP_SHARED, d.device, (off_t)d.bar0) == MAP_FAILED);
	vt_close(&d);
}

static void test_dma_bad_ranges(void)
{
	struct vt_dev d;
	uint8_t *buf = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *shared = vt_memfd_buf(3 * PAGE, NULL);

	vt_require(buf != MAP_FAILED && shared && !vt_open(&d, VT_BDF));
	/* A hole in the middle of the range: EFAULT, nothing mapped. */
	vt_require(!munmap(buf + PAGE, PAGE));
	vt_expect_errno(vt_map(d.container, buf, IOVA, 3 * PAGE), EFAULT);
	vt_expect_ok(vt_map(d.container, buf, IOVA, PAGE));
	vt_expect_errno(vt_map(d.container, NULL, IOVA + 0x10000, PAGE), EFAULT);
	/* The same for a shared buffer with a hole. */
	vt_require(!munmap(shared + PAGE, PAGE));
	vt_expect_errno(vt_map(d.container, shared, IOVA + 0x20000, 3 * PAGE), EFAULT);
	/* Overlapping IOVA: EEXIST; unaligned: EINVAL. */
	vt_expect_errno(vt_map(d.container, shared, IOVA, PAGE), EEXIST);
	vt_expect_errno(vt_map(d.container, shared, IOVA + 0x30000 + 1, PAGE), EINVAL);
	vt_close(&d);
}

static void test_pinned_after_unmap(void)
{
	struct vt_dev d;
	int memfd, efd = eventfd(0, EFD_CLOEXEC);
	uint8_t *src = vt_memfd_buf(PAGE, &memfd), *dst = vt_memfd_buf(PAGE, NULL);

	vt_require(src && dst && efd >= 0 && !vt_open(&d, VT_BDF));
	vt_require(!vt_msix(&d, VT_VEC_DONE, 1, &efd));
	memset(src, 0x3c, PAGE);
	vt_require(!vt_map(d.container, src, IOVA, PAGE));
	vt_require(!vt_map(d.container, dst, IOVA + PAGE, PAGE));
	/* The program lets go of the buffer: the mapping keeps its pages. */
	vt_expect_ok(munmap(src, PAGE));
	vt_expect_ok(close(memfd));
	vt_expect_eq(vt_dma_copy(&d, IOVA, IOVA + PAGE, PAGE), VT_STATUS_DONE);
	vt_expect_eq(vt_wait_event(efd, 5000), 1);
	vt_expect(dst[0] == 0x3c && dst[PAGE - 1] == 0x3c);
	vt_close(&d);
}

int main(int argc, char **argv)
{
	static const struct vt_case cases[] = {
		{ "config space through pread/pwrite, BAR0 registers", test_config_space, 0 },
		{ "DMA from and to memfd-backed memory, MSI-X done", test_dma_memfd, 0 },
		{ "DMA from and to anonymous private memory", test_dma_anonymous, 0 },
		{ "DMA faults: unmapped and read-only IOVAs, error vector", test_dma_fault, 0 },
		{ "MSI-X: one eventfd per vector, unassign, EBADF, disable", test_msix_vectors, 0 },
		{ "BAR mmap: stores seen by pread and by the device", test_bar_mmap, 0 },
		{ "MAP_DMA of unmapped memory EFAULT, overlap EEXIST", test_dma_bad_ranges, 0 },
		{ "DMA memory stays valid after the program unmaps it", test_pinned_after_unmap, 0 },
	};

	return vt_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
