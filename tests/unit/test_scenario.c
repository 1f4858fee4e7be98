// SPDX-License-Identifier: MIT
/*
 * End to end on the default host, as a user-space driver would work: open
 * the container and group, pick type1v2, get the device fd, map buffers
 * for DMA, program the uvfio-test DMA engine through BAR0 with pwrite, and
 * wait for its interrupt on an eventfd.  Faults (unmapped IOVAs, bus
 * mastering off) are device errors with the faulting IOVA latched.
 */
#include "harness.h"
#include "pci_test.h"
#include <sys/mman.h>

#define BDF "0000:00:03.0"
#define BUF_SIZE (64 * 1024)
#define SRC_IOVA 0x100000ULL
#define DST_IOVA 0x200000ULL
#define HOLE_IOVA 0x900000ULL

struct fixture {
	struct uvf_host *h;
	struct uvf_proc *p;
	struct pci_open o;
	uint8_t *src, *dst;
	int dst_memfd;
	int done, err;		/* eventfds */
};

static void dma_map(struct fixture *f, void *vaddr, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uint64_t)(uintptr_t)vaddr,
		.iova = iova,
		.size = size,
	};

	assert_errno(proc_ioctl(f->p, f->o.cfd, VFIO_IOMMU_MAP_DMA, &m), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->h = test_host_default();
	f->p = proc_new_root(f->h);
	f->o = pci_open_device(f->p, 3, BDF);
	/* Source: anonymous memory; destination: a memfd, shared. */
	f->src = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(f->src != MAP_FAILED);
	f->dst_memfd = memfd_create("scenario-dst", MFD_CLOEXEC);
	assert_true(f->dst_memfd >= 0);
	assert_int_equal(ftruncate(f->dst_memfd, BUF_SIZE), 0);
	f->dst = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, f->dst_memfd, 0);
	assert_true(f->dst != MAP_FAILED);
	dma_map(f, f->src, SRC_IOVA, BUF_SIZE);
	dma_map(f, f->dst, DST_IOVA, BUF_SIZE);
	for (size_t i = 0; i < BUF_SIZE; i++)
		f->src[i] = (uint8_t)(i * 7 + 3);
	memset(f->dst, 0xaa, BUF_SIZE);
	f->done = efd_new();
	f->err = efd_new();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	proc_free(f->p);
	host_free(f->h);
	munmap(f->src, BUF_SIZE);
	munmap(f->dst, BUF_SIZE);
	close(f->dst_memfd);
	close(f->done);
	close(f->err);
	free(f);
	return 0;
}

static void msix_on(struct fixture *f)
{
	int32_t fds[2] = { f->done, f->err };

	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSIX_IRQ_INDEX, 0, 2, fds), 0);
}

static void start_copy(struct fixture *f, uint64_t src, uint64_t dst, uint32_t len)
{
	bar_write64(f->p, f->o.dfd, 0, TD_DMA_SRC, src);
	bar_write64(f->p, f->o.dfd, 0, TD_DMA_DST, dst);
	bar_write32(f->p, f->o.dfd, 0, TD_DMA_LEN, len);
	bar_write32(f->p, f->o.dfd, 0, TD_DOORBELL, 1);
}

static uint32_t reg(struct fixture *f, unsigned int off)
{
	return bar_read32(f->p, f->o.dfd, 0, off);
}

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

static void test_dma_copy_msix(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(reg(f, TD_MAGIC), 0x54465655);
	msix_on(f);
	cfg_set_command(f->p, f->o.dfd, PCI_COMMAND_MASTER);
	start_copy(f, SRC_IOVA, DST_IOVA, BUF_SIZE);
	assert_int_equal(efd_wait(f->done, 5000), 1);
	assert_memory_equal(f->dst, f->src, BUF_SIZE);
	assert_int_equal(reg(f, TD_STATUS), TD_STATUS_DONE);
	assert_int_equal(reg(f, TD_INTR), 1);
	assert_int_equal(reg(f, TD_COMPLETED), 1);
	assert_int_equal(efd_take(f->err), 0);
	/* A second, unaligned copy into the middle of the buffer. */
	memset(f->dst, 0, BUF_SIZE);
	bar_write32(f->p, f->o.dfd, 0, TD_INTR, 1);
	start_copy(f, SRC_IOVA + 5, DST_IOVA + 4093, 10000);
	assert_int_equal(efd_wait(f->done, 5000), 1);
	assert_memory_equal(f->dst + 4093, f->src + 5, 10000);
	assert_true(all_bytes(f->dst, 4093, 0));
	assert_true(all_bytes(f->dst + 4093 + 10000, BUF_SIZE - 4093 - 10000, 0));
	assert_int_equal(reg(f, TD_COMPLETED), 2);
}

static void test_dma_read_fault(void **state)
{
	struct fixture *f = *state;

	msix_on(f);
	cfg_set_command(f->p, f->o.dfd, PCI_COMMAND_MASTER);
	start_copy(f, HOLE_IOVA, DST_IOVA, 4096);
	assert_int_equal(efd_wait(f->err, 5000), 1);
	assert_int_equal(efd_take(f->done), 0);
	assert_int_equal(reg(f, TD_STATUS), TD_STATUS_ERROR);
	assert_int_equal(reg(f, TD_ERROR), TD_ERR_DMA_READ);
	assert_int_equal(bar_read64(f->p, f->o.dfd, 0, TD_FAULT_IOVA), HOLE_IOVA);
	assert_int_equal(reg(f, TD_INTR), 2);
	assert_int_equal(reg(f, TD_COMPLETED), 0);
	/* No byte reached the destination. */
	assert_true(all_bytes(f->dst, BUF_SIZE, 0xaa));
	/* The device keeps working after a fault. */
	bar_write32(f->p, f->o.dfd, 0, TD_INTR, 2);
	start_copy(f, SRC_IOVA, DST_IOVA, 256);
	assert_int_equal(efd_wait(f->done, 5000), 1);
	assert_memory_equal(f->dst, f->src, 256);
	assert_int_equal(reg(f, TD_ERROR), 0);
}

/* A copy that runs off the end of the mapping stops at the first
 * unmapped IOVA. */
static void test_dma_partial_fault(void **state)
{
	struct fixture *f = *state;

	msix_on(f);
	cfg_set_command(f->p, f->o.dfd, PCI_COMMAND_MASTER);
	start_copy(f, SRC_IOVA, DST_IOVA + BUF_SIZE - 8192, 16384);
	assert_int_equal(efd_wait(f->err, 5000), 1);
	assert_int_equal(reg(f, TD_ERROR), TD_ERR_DMA_WRITE);
	assert_int_equal(bar_read64(f->p, f->o.dfd, 0, TD_FAULT_IOVA), DST_IOVA + BUF_SIZE);
	assert_memory_equal(f->dst + BUF_SIZE - 8192, f->src, 8192);
}

static void test_dma_write_fault(void **state)
{
	struct fixture *f = *state;
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .iova = DST_IOVA, .size = BUF_SIZE,
	};

	msix_on(f);
	cfg_set_command(f->p, f->o.dfd, PCI_COMMAND_MASTER);
	/* Once unmapped, the destination is a hole. */
	assert_errno(proc_ioctl(f->p, f->o.cfd, VFIO_IOMMU_UNMAP_DMA, &u), 0);
	start_copy(f, SRC_IOVA, DST_IOVA + 16, 64);
	assert_int_equal(efd_wait(f->err, 5000), 1);
	assert_int_equal(reg(f, TD_ERROR), TD_ERR_DMA_WRITE);
	assert_int_equal(bar_read64(f->p, f->o.dfd, 0, TD_FAULT_IOVA), DST_IOVA + 16);
	assert_true(all_bytes(f->dst, BUF_SIZE, 0xaa));
}

static void test_dma_needs_bus_master(void **state)
{
	struct fixture *f = *state;

	msix_on(f);
	/* Open leaves bus mastering off. */
	start_copy(f, SRC_IOVA, DST_IOVA, 4096);
	assert_int_equal(efd_wait(f->err, 5000), 1);
	assert_int_equal(reg(f, TD_ERROR), TD_ERR_BUS_MASTER);
	assert_true(all_bytes(f->dst, BUF_SIZE, 0xaa));
	/* Bad lengths are refused too. */
	bar_write32(f->p, f->o.dfd, 0, TD_INTR, 3);
	cfg_set_command(f->p, f->o.dfd, PCI_COMMAND_MASTER);
	start_copy(f, SRC_IOVA, DST_IOVA, 0);
	assert_int_equal(efd_wait(f->err, 5000), 1);
	assert_int_equal(reg(f, TD_ERROR), TD_ERR_LENGTH);
	start_copy(f, SRC_IOVA, DST_IOVA, (1u << 20) + 1);
	assert_int_equal(efd_wait(f->err, 5000), 1);
	assert_int_equal(reg(f, TD_ERROR), TD_ERR_LENGTH);
}

static void test_dma_copy_intx(void **state)
{
	struct fixture *f = *state;
	struct pci_dev *pdev = test_pdev(f->h, BDF);
	int32_t fd = f->done;

	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &fd), 0);
	cfg_set_command(f->p, f->o.dfd, PCI_COMMAND_MASTER);
	start_copy(f, SRC_IOVA, DST_IOVA, 4096);
	assert_int_equal(efd_wait(f->done, 5000), 1);
	assert_memory_equal(f->dst, f->src, 4096);
	/* Level-triggered: masked until the driver acknowledges and unmasks. */
	assert_true(pci_cfg_read(pdev, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	bar_write32(f->p, f->o.dfd, 0, TD_INTR, 1);
	assert_false(pci_cfg_read(pdev, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	assert_errno(set_irqs(f->p, f->o.dfd, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
			      VFIO_PCI_INTX_IRQ_INDEX, 0, 1, NULL, 0), 0);
	assert_int_equal(efd_take(f->done), 0);
	start_copy(f, SRC_IOVA, DST_IOVA, 4096);
	assert_int_equal(efd_wait(f->done, 5000), 1);
}

static void test_dma_copy_msi(void **state)
{
	struct fixture *f = *state;
	int32_t fds[2] = { f->done, f->err };

	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSI_IRQ_INDEX, 0, 2, fds), 0);
	cfg_set_command(f->p, f->o.dfd, PCI_COMMAND_MASTER);
	start_copy(f, SRC_IOVA, DST_IOVA, 1000);
	assert_int_equal(efd_wait(f->done, 5000), 1);
	start_copy(f, HOLE_IOVA, DST_IOVA, 1000);
	assert_int_equal(efd_wait(f->err, 5000), 1);
}

/* RESET stops a copy in flight: afterwards every register is clear. */
static void test_reset_stops_copy(void **state)
{
	struct fixture *f = *state;
	uint8_t *big = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0);

	assert_true(big != MAP_FAILED);
	dma_map(f, big, 0x1000000, 1 << 20);
	msix_on(f);
	cfg_set_command(f->p, f->o.dfd, PCI_COMMAND_MASTER);
	start_copy(f, 0x1000000, 0x1000000, 1 << 20);
	assert_errno(proc_ioctl(f->p, f->o.dfd, VFIO_DEVICE_RESET, NULL), 0);
	assert_int_equal(reg(f, TD_STATUS), 0);
	assert_int_equal(reg(f, TD_COMPLETED), 0);
	assert_int_equal(bar_read64(f->p, f->o.dfd, 0, TD_DMA_SRC), 0);
	/* Still usable. */
	efd_take(f->done);
	start_copy(f, SRC_IOVA, DST_IOVA, 64);
	assert_int_equal(efd_wait(f->done, 5000), 1);
	munmap(big, 1 << 20);
}

/* The other functions of the default host are there too. */
static void test_default_host_devices(void **state)
{
	struct fixture *f = *state;

	assert_non_null(device_find(f->h, "pci", "0000:00:04.0"));
	assert_non_null(device_find(f->h, "pci", "0000:00:05.1"));
	/* Group 6 shares a function with a kernel driver: not viable. */
	struct vfio_group_status st = { .argsz = sizeof(st) };
	int g6 = proc_open(f->p, "/dev/vfio/6", O_RDWR);

	assert_true(g6 >= 0);
	assert_errno(proc_ioctl(f->p, g6, VFIO_GROUP_GET_STATUS, &st), 0);
	assert_int_equal(st.flags & VFIO_GROUP_FLAGS_VIABLE, 0);
	proc_close(f->p, g6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dma_copy_msix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_read_fault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_partial_fault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_write_fault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_needs_bus_master, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_copy_intx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_copy_msi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_stops_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_host_devices, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
