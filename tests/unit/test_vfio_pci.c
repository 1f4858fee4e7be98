// SPDX-License-Identifier: MIT
/*
 * The vfio-pci device fd: GET_INFO, GET_REGION_INFO (sparse mmap and
 * MSIX_MAPPABLE caps, the grow-and-retry protocol), region read/write and
 * their bounds, mmap of BAR memory shared with the model, RESET, the
 * hot reset pair with group-fd proof of ownership, and the low-power
 * device features.
 */
#include "harness.h"
#include "pci_test.h"
#include <pthread.h>
#include <sys/mman.h>
#include "core/host/file.h"
#include "core/mm/mm.h"

#define BDF "0000:00:03.0"

/* Bus 1 holds two functions in two groups; bus 2 one without FLR. */
static const char *const hot_json =
	"{\"pci\":["
	"{\"bdf\":\"0000:00:03.0\",\"model\":\"uvfio-test\",\"iommu_group\":3},"
	"{\"bdf\":\"0000:01:00.0\",\"model\":\"uvfio-test\",\"iommu_group\":10},"
	"{\"bdf\":\"0000:01:00.1\",\"model\":\"uvfio-test\",\"iommu_group\":11},"
	"{\"bdf\":\"0000:02:00.0\",\"model\":\"uvfio-test\",\"iommu_group\":12,"
	" \"params\":{\"flr\":false}},"
	"{\"bdf\":\"0000:00:08.0\",\"model\":\"uvfio-test\",\"iommu_group\":13,"
	" \"params\":{\"flr\":false}},"
	"{\"bdf\":\"0000:04:00.0\",\"model\":\"uvfio-test\",\"iommu_group\":14},"
	"{\"bdf\":\"0000:04:00.1\",\"model\":\"uvfio-test\",\"iommu_group\":15,"
	" \"driver\":\"ahci\"}"
	"]}";


static int setup_hot(void **state)
{
	struct pci_fixture *f = calloc(1, sizeof(*f));

	f->h = test_host_from_json(hot_json);
	f->p = proc_new_root(f->h);
	*state = f;
	return 0;
}


/* ---- GET_INFO ------------------------------------------------------------- */

static void test_get_info(void **state)
{
	struct pci_fixture *f = *state;
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_device_info small;

	assert_errno(proc_ioctl(f->p, f->o.dfd, VFIO_DEVICE_GET_INFO, &info), 0);
	assert_int_equal(info.flags, VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET);
	assert_int_equal(info.num_regions, VFIO_PCI_NUM_REGIONS);
	assert_int_equal(info.num_irqs, VFIO_PCI_NUM_IRQS);
	/* A 16-byte caller gets 16 bytes, nothing beyond. */
	memset(&small, 0xa5, sizeof(small));
	small.argsz = 16;
	assert_errno(proc_ioctl(f->p, f->o.dfd, VFIO_DEVICE_GET_INFO, &small), 0);
	assert_int_equal(small.num_irqs, VFIO_PCI_NUM_IRQS);
	assert_int_equal(small.cap_offset, 0xa5a5a5a5);
	small.argsz = 15;
	assert_errno(proc_ioctl(f->p, f->o.dfd, VFIO_DEVICE_GET_INFO, &small), -EINVAL);
	assert_errno(proc_ioctl(f->p, f->o.dfd, VFIO_DEVICE_GET_INFO, (void *)8), -EFAULT);
	assert_errno(proc_ioctl(f->p, f->o.dfd, _IO(VFIO_TYPE, VFIO_BASE + 60), &info), -ENOTTY);
}

/* ---- GET_REGION_INFO --------------------------------------------------------- */

static void test_region_info(void **state)
{
	struct pci_fixture *f = *state;
	struct vfio_region_info info;

	info = region_info(f->p, f->o.dfd, VFIO_PCI_CONFIG_REGION_INDEX);
	assert_int_equal(info.size, 4096);
	assert_int_equal(info.offset, (uint64_t)VFIO_PCI_CONFIG_REGION_INDEX << 40);
	assert_int_equal(info.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE);
	info = region_info(f->p, f->o.dfd, VFIO_PCI_BAR0_REGION_INDEX);
	assert_int_equal(info.size, 4096);
	assert_int_equal(info.offset, 0);
	assert_int_equal(info.flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE);
	info = region_info(f->p, f->o.dfd, VFIO_PCI_BAR1_REGION_INDEX);
	assert_int_equal(info.size, 0);
	assert_int_equal(info.flags, 0);
	info = region_info(f->p, f->o.dfd, VFIO_PCI_ROM_REGION_INDEX);
	assert_int_equal(info.size, 0);
	assert_int_equal(info.flags, 0);
	info.argsz = sizeof(info);
	info.index = VFIO_PCI_VGA_REGION_INDEX;
	assert_errno(proc_ioctl(f->p, f->o.dfd, VFIO_DEVICE_GET_REGION_INFO, &info), -EINVAL);
	info.index = VFIO_PCI_NUM_REGIONS;
	assert_errno(proc_ioctl(f->p, f->o.dfd, VFIO_DEVICE_GET_REGION_INFO, &info), -EINVAL);
	info.index = 0;
	info.argsz = sizeof(info) - 1;
	assert_errno(proc_ioctl(f->p, f->o.dfd, VFIO_DEVICE_GET_REGION_INFO, &info), -EINVAL);
}

static void test_region_info_caps(void **state)
{
	struct pci_fixture *f = *state;
	uint8_t buf[256];
	struct vfio_region_info *info = (struct vfio_region_info *)buf;
	struct vfio_region_info_cap_sparse_mmap *sparse;
	struct vfio_info_cap_header *hdr;
	uint32_t need;

	/* Too small for the caps: success, CAPS set, the size to retry with. */
	memset(buf, 0, sizeof(buf));
	info->argsz = sizeof(*info);
	info->index = VFIO_PCI_BAR2_REGION_INDEX;
	assert_errno(proc_ioctl(f->p, f->o.dfd, VFIO_DEVICE_GET_REGION_INFO, info), 0);
	assert_int_equal(info->flags, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
				      VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_CAPS);
	assert_int_equal(info->size, 16384);
	assert_int_equal(info->offset, (uint64_t)2 << 40);
	assert_int_equal(info->cap_offset, 0);
	need = info->argsz;
	assert_int_equal(need, sizeof(*info) + sizeof(*sparse) + sizeof(sparse->areas[0]) + 8);
	/* The retry gets the chain: the mmap-able pages, then MSIX_MAPPABLE. */
	memset(buf, 0, sizeof(buf));
	info->argsz = need;
	info->index = VFIO_PCI_BAR2_REGION_INDEX;
	assert_errno(proc_ioctl(f->p, f->o.dfd, VFIO_DEVICE_GET_REGION_INFO, info), 0);
	assert_int_equal(info->argsz, need);
	assert_int_equal(info->cap_offset, sizeof(*info));
	sparse = (struct vfio_region_info_cap_sparse_mmap *)(buf + info->cap_offset);
	assert_int_equal(sparse->header.id, VFIO_REGION_INFO_CAP_SPARSE_MMAP);
	assert_int_equal(sparse->header.version, 1);
	assert_int_equal(sparse->nr_areas, 1);
	assert_int_equal(sparse->areas[0].offset, 4096);
	assert_int_equal(sparse->areas[0].size, 12288);
	assert_int_not_equal(sparse->header.next, 0);
	hdr = (struct vfio_info_cap_header *)(buf + sparse->header.next);
	assert_int_equal(hdr->id, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE);
	assert_int_equal(hdr->next, 0);
}

/* ---- region read/write --------------------------------------------------------- */

static void test_bar_registers(void **state)
{
	struct pci_fixture *f = *state;
	uint8_t b = 0x5a;

	assert_int_equal(bar_read32(f->p, f->o.dfd, 0, TD_MAGIC), 0x54465655);
	assert_int_equal(bar_read32(f->p, f->o.dfd, 0, TD_VERSION), 0x00010000);
	bar_write32(f->p, f->o.dfd, 0, TD_SCRATCH, 0x11223344);
	assert_int_equal(bar_read32(f->p, f->o.dfd, 0, TD_SCRATCH), 0x11223344);
	/* A byte write merges into its register. */
	assert_errno(proc_pwrite(f->p, f->o.dfd, &b, 1,
				 region_offset(f->p, f->o.dfd, 0) + TD_SCRATCH + 1), 1);
	assert_int_equal(bar_read32(f->p, f->o.dfd, 0, TD_SCRATCH), 0x11225a44);
	bar_write64(f->p, f->o.dfd, 0, TD_DMA_SRC, 0x123456789abcdef0ULL);
	assert_int_equal(bar_read64(f->p, f->o.dfd, 0, TD_DMA_SRC), 0x123456789abcdef0ULL);
}

static void test_region_bounds(void **state)
{
	struct pci_fixture *f = *state;
	uint8_t buf[16];
	uint64_t bar0 = region_offset(f->p, f->o.dfd, 0);

	assert_errno(proc_pread(f->p, f->o.dfd, buf, 4, bar0 + 4096), -EINVAL);
	/* A read running past the end is cut at the end. */
	assert_errno(proc_pread(f->p, f->o.dfd, buf, 8, bar0 + 4092), 4);
	assert_errno(proc_pread(f->p, f->o.dfd, buf, 0, bar0 + 8192), 0);
	assert_errno(proc_pread(f->p, f->o.dfd, buf, 4, (uint64_t)VFIO_PCI_BAR1_REGION_INDEX << 40),
		     -EINVAL);
	assert_errno(proc_pread(f->p, f->o.dfd, buf, 4, (uint64_t)VFIO_PCI_ROM_REGION_INDEX << 40),
		     -EINVAL);
	assert_errno(proc_pwrite(f->p, f->o.dfd, buf, 4, (uint64_t)VFIO_PCI_ROM_REGION_INDEX << 40),
		     -EINVAL);
	assert_errno(proc_pread(f->p, f->o.dfd, buf, 4, (uint64_t)VFIO_PCI_VGA_REGION_INDEX << 40),
		     -EINVAL);
	assert_errno(proc_pread(f->p, f->o.dfd, buf, 4, (uint64_t)VFIO_PCI_NUM_REGIONS << 40),
		     -EINVAL);
	/* A bad user buffer is -EFAULT. */
	assert_errno(proc_pread(f->p, f->o.dfd, (void *)16, 4, bar0), -EFAULT);
	/* Memory decode off: BAR accesses fail with -EIO. */
	cfg_write(f->p, f->o.dfd, PCI_COMMAND, 2, 0);
	assert_errno(proc_pread(f->p, f->o.dfd, buf, 4, bar0), -EIO);
	cfg_write(f->p, f->o.dfd, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_errno(proc_pread(f->p, f->o.dfd, buf, 4, bar0), 4);
}

static void test_msix_table_hidden(void **state)
{
	struct pci_fixture *f = *state;
	uint64_t bar2 = region_offset(f->p, f->o.dfd, 2);
	uint32_t v = 0, zero = 0;
	int32_t fd = efd_new();
	uint8_t page[64];

	/* The table belongs to the host: ones to read, writes vanish. */
	assert_errno(proc_pread(f->p, f->o.dfd, &v, 4, bar2 + 12), 4);
	assert_int_equal(v, 0xffffffff);
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, &fd), 0);
	assert_false(pci_msix_vector_masked(f->pdev, 0));
	assert_errno(proc_pwrite(f->p, f->o.dfd, &zero, 4, bar2 + 12), 4);
	assert_false(pci_msix_vector_masked(f->pdev, 0));
	zero = 1;
	assert_errno(proc_pwrite(f->p, f->o.dfd, &zero, 4, bar2 + 12), 4);
	assert_false(pci_msix_vector_masked(f->pdev, 0));
	/* A read across the table's end: ones, then the model's trapped page. */
	assert_errno(proc_pread(f->p, f->o.dfd, page, sizeof(page), bar2 + 4 * 16 - 32),
		     sizeof(page));
	assert_int_equal(page[0], 0xff);
	assert_int_equal(page[31], 0xff);
	assert_int_equal(page[32], 0);
	/* The PBA is readable. */
	assert_errno(proc_pread(f->p, f->o.dfd, &v, 4, bar2 + 0x800), 4);
	assert_int_equal(v, 0);
	close(fd);
}

/* Memory decode off fails what reaches the device, not the MSI-X table:
 * the kernel checks the enable per piece of real I/O. */
static void test_msix_table_memory_disabled(void **state)
{
	struct pci_fixture *f = *state;
	uint64_t bar2 = region_offset(f->p, f->o.dfd, 2);
	uint64_t bar0 = region_offset(f->p, f->o.dfd, 0);
	uint32_t v = 0;
	uint8_t page[64];

	cfg_write(f->p, f->o.dfd, PCI_COMMAND, 2, 0);
	assert_errno(proc_pread(f->p, f->o.dfd, &v, 4, bar2 + 12), 4);
	assert_int_equal(v, 0xffffffff);
	assert_errno(proc_pwrite(f->p, f->o.dfd, &v, 4, bar2 + 12), 4);
	/* Running from the table into the trapped page: the device part fails. */
	assert_errno(proc_pread(f->p, f->o.dfd, page, sizeof(page), bar2 + 4 * 16 - 32), -EIO);
	assert_errno(proc_pread(f->p, f->o.dfd, &v, 4, bar2 + 0x800), -EIO);
	assert_errno(proc_pread(f->p, f->o.dfd, &v, 4, bar0), -EIO);
}

/* ---- mmap ----------------------------------------------------------------- */

static void test_mmap_bar2(void **state)
{
	struct pci_fixture *f = *state;
	uint64_t bar2 = region_offset(f->p, f->o.dfd, 2);
	uint8_t *model = pci_bar_mem(f->pdev, 2);
	uint32_t v = 0;
	uint8_t *map;
	int err = 0;

	assert_non_null(model);
	map = proc_mmap(f->p, f->o.dfd, 12288, PROT_READ | PROT_WRITE, MAP_SHARED, bar2 + 4096,
			&err);
	assert_errno(err, 0);
	assert_true(map != MAP_FAILED);
	/* Written through the mapping, seen by the model and by pread. */
	map[0] = 0x42;
	map[8191] = 0x99;
	assert_int_equal(model[4096], 0x42);
	assert_int_equal(model[4096 + 8191], 0x99);
	assert_errno(proc_pread(f->p, f->o.dfd, &v, 1, bar2 + 4096), 1);
	assert_int_equal(v, 0x42);
	/* Written with pwrite, seen through the mapping. */
	v = 0xcafef00d;
	assert_errno(proc_pwrite(f->p, f->o.dfd, &v, 4, bar2 + 8192), 4);
	assert_int_equal(*(uint32_t *)(map + 4096), 0xcafef00d);
	/* ...and a model store shows up in the mapping. */
	model[12288] = 0x7e;
	assert_int_equal(map[8192], 0x7e);
	munmap(map, 12288);
}

/* The BAR's memfd a client maps is sealed: shrinking it under a model
 * would turn the model's accesses into SIGBUS in the host. */
static void test_mmap_memfd_sealed(void **state)
{
	struct pci_fixture *f = *state;
	uint64_t bar2 = region_offset(f->p, f->o.dfd, 2);
	struct uvf_file *file = proc_file(f->p, f->o.dfd);
	struct uvf_mmap_desc desc = { 0 };
	int fd;

	assert_non_null(file);
	assert_errno(file_mmap(file, &f->p->caller, bar2 + 4096, 4096, PROT_READ | PROT_WRITE,
			       true, &desc), 0);
	assert_non_null(desc.obj);
	assert_int_equal(desc.obj_off, 4096);
	fd = memobj_fd(desc.obj);
	assert_true(fd >= 0);
	errno = 0;
	assert_int_equal(ftruncate(fd, 0), -1);
	assert_int_equal(errno, EPERM);
	errno = 0;
	assert_int_equal(ftruncate(fd, 1 << 20), -1);
	assert_int_equal(errno, EPERM);
	/* The model's storage is intact. */
	*(volatile uint8_t *)((uint8_t *)pci_bar_mem(f->pdev, 2) + 16383) = 1;
	memobj_put(desc.obj);
}

static void test_mmap_refusals(void **state)
{
	struct pci_fixture *f = *state;
	uint64_t bar0 = region_offset(f->p, f->o.dfd, 0);
	uint64_t bar2 = region_offset(f->p, f->o.dfd, 2);
	uint64_t cfg = region_offset(f->p, f->o.dfd, VFIO_PCI_CONFIG_REGION_INDEX);
	int err = 0;

	assert_true(proc_mmap(f->p, f->o.dfd, 4096, PROT_READ, MAP_PRIVATE, bar2 + 4096, &err) ==
		    MAP_FAILED);
	assert_errno(err, -EINVAL);
	/* The trapped page (MSI-X) has nothing behind it to map. */
	assert_true(proc_mmap(f->p, f->o.dfd, 4096, PROT_READ, MAP_SHARED, bar2, &err) ==
		    MAP_FAILED);
	assert_errno(err, -EINVAL);
	assert_true(proc_mmap(f->p, f->o.dfd, 16384, PROT_READ, MAP_SHARED, bar2, &err) ==
		    MAP_FAILED);
	assert_errno(err, -EINVAL);
	/* Beyond the BAR. */
	assert_true(proc_mmap(f->p, f->o.dfd, 8192, PROT_READ, MAP_SHARED, bar2 + 12288, &err) ==
		    MAP_FAILED);
	assert_errno(err, -EINVAL);
	/* BAR0 is registers only, config and ROM never map. */
	assert_true(proc_mmap(f->p, f->o.dfd, 4096, PROT_READ, MAP_SHARED, bar0, &err) ==
		    MAP_FAILED);
	assert_errno(err, -EINVAL);
	assert_true(proc_mmap(f->p, f->o.dfd, 4096, PROT_READ, MAP_SHARED, cfg, &err) ==
		    MAP_FAILED);
	assert_errno(err, -EINVAL);
}

/* ---- RESET ------------------------------------------------------------------- */

static void test_reset(void **state)
{
	struct pci_fixture *f = *state;

	cfg_set_command(f->p, f->o.dfd, PCI_COMMAND_MASTER);
	bar_write32(f->p, f->o.dfd, 0, TD_SCRATCH, 0xfeed);
	bar_write32(f->p, f->o.dfd, 0, TD_DMA_LEN, 64);
	assert_errno(proc_ioctl(f->p, f->o.dfd, VFIO_DEVICE_RESET, NULL), 0);
	assert_int_equal(bar_read32(f->p, f->o.dfd, 0, TD_SCRATCH), 0);
	assert_int_equal(bar_read32(f->p, f->o.dfd, 0, TD_DMA_LEN), 0);
	/* The host restores the config state around the reset. */
	assert_true(pci_bus_master_enabled(f->pdev));
}

/* No FLR: on the root bus there is no reset at all; alone on a bus a
 * bus reset serves as the function reset. */
static void test_reset_without_flr(void **state)
{
	struct pci_fixture *f = *state;
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct pci_open o = pci_open_device(f->p, 13, "0000:00:08.0");

	assert_errno(proc_ioctl(f->p, o.dfd, VFIO_DEVICE_GET_INFO, &info), 0);
	assert_int_equal(info.flags, VFIO_DEVICE_FLAGS_PCI);
	assert_errno(proc_ioctl(f->p, o.dfd, VFIO_DEVICE_RESET, NULL), -EINVAL);
	pci_close_device(f->p, &o);

	o = pci_open_device(f->p, 12, "0000:02:00.0");
	assert_errno(proc_ioctl(f->p, o.dfd, VFIO_DEVICE_GET_INFO, &info), 0);
	assert_int_equal(info.flags, VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET);
	bar_write32(f->p, o.dfd, 0, TD_SCRATCH, 9);
	assert_errno(proc_ioctl(f->p, o.dfd, VFIO_DEVICE_RESET, NULL), 0);
	assert_int_equal(bar_read32(f->p, o.dfd, 0, TD_SCRATCH), 0);
	pci_close_device(f->p, &o);
}

/* Release resets the function: the next user starts clean. */
static void test_close_resets(void **state)
{
	struct pci_fixture *f = *state;

	cfg_set_command(f->p, f->o.dfd, PCI_COMMAND_MASTER);
	bar_write32(f->p, f->o.dfd, 0, TD_SCRATCH, 0x99);
	pci_close_device(f->p, &f->o);
	assert_false(pci_bus_master_enabled(f->pdev));
	f->o = pci_open_device(f->p, 3, BDF);
	assert_int_equal(bar_read32(f->p, f->o.dfd, 0, TD_SCRATCH), 0);
}

/* ---- hot reset ----------------------------------------------------------------- */

static void test_hot_reset_info(void **state)
{
	struct pci_fixture *f = *state;
	uint8_t buf[sizeof(struct vfio_pci_hot_reset_info) + 4 * 8];
	struct vfio_pci_hot_reset_info *hri = (struct vfio_pci_hot_reset_info *)buf;
	struct pci_open root = pci_open_device(f->p, 3, "0000:00:03.0");
	struct pci_open o0 = pci_open_device(f->p, 10, "0000:01:00.0");

	/* The root bus has no bus reset. */
	hri->argsz = sizeof(buf);
	assert_errno(proc_ioctl(f->p, root.dfd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, hri),
		     -ENODEV);
	/* No room for the array: -ENOSPC with the count filled in. */
	memset(buf, 0, sizeof(buf));
	hri->argsz = sizeof(*hri);
	assert_errno(proc_ioctl(f->p, o0.dfd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, hri), -ENOSPC);
	assert_int_equal(hri->count, 2);
	hri->argsz = sizeof(*hri) + 8;
	assert_errno(proc_ioctl(f->p, o0.dfd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, hri), -ENOSPC);
	hri->argsz = sizeof(*hri) - 1;
	assert_errno(proc_ioctl(f->p, o0.dfd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, hri), -EINVAL);
	hri->argsz = sizeof(buf);
	assert_errno(proc_ioctl(f->p, o0.dfd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, hri), 0);
	assert_int_equal(hri->count, 2);
	assert_int_equal(hri->flags, 0);
	assert_int_equal(hri->devices[0].group_id, 10);
	assert_int_equal(hri->devices[0].segment, 0);
	assert_int_equal(hri->devices[0].bus, 1);
	assert_int_equal(hri->devices[0].devfn, 0);
	assert_int_equal(hri->devices[1].group_id, 11);
	assert_int_equal(hri->devices[1].devfn, 1);
	pci_close_device(f->p, &o0);
	pci_close_device(f->p, &root);
}

static long hot_reset(struct uvf_proc *p, int dfd, uint32_t flags, uint32_t count,
		      const int32_t *fds)
{
	uint8_t buf[sizeof(struct vfio_pci_hot_reset) + 8 * sizeof(int32_t)];
	struct vfio_pci_hot_reset *hr = (struct vfio_pci_hot_reset *)buf;

	hr->argsz = (uint32_t)(sizeof(*hr) + count * sizeof(int32_t));
	hr->flags = flags;
	hr->count = count;
	if (count)
		memcpy(hr->group_fds, fds, count * sizeof(int32_t));
	return proc_ioctl(p, dfd, VFIO_DEVICE_PCI_HOT_RESET, hr);
}

static void test_hot_reset(void **state)
{
	struct pci_fixture *f = *state;
	int cfd = proc_open(f->p, "/dev/vfio/vfio", O_RDWR);
	int g10 = proc_open(f->p, "/dev/vfio/10", O_RDWR);
	int g11 = proc_open(f->p, "/dev/vfio/11", O_RDWR);
	int32_t fds[4];
	int d0, d1;

	assert_errno(proc_ioctl(f->p, g10, VFIO_GROUP_SET_CONTAINER, &cfd), 0);
	assert_errno(proc_ioctl(f->p, g11, VFIO_GROUP_SET_CONTAINER, &cfd), 0);
	assert_errno(proc_ioctl_val(f->p, cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	d0 = (int)proc_ioctl(f->p, g10, VFIO_GROUP_GET_DEVICE_FD, "0000:01:00.0");
	d1 = (int)proc_ioctl(f->p, g11, VFIO_GROUP_GET_DEVICE_FD, "0000:01:00.1");
	assert_true(d0 >= 0 && d1 >= 0);
	bar_write32(f->p, d0, 0, TD_SCRATCH, 1);
	bar_write32(f->p, d1, 0, TD_SCRATCH, 2);

	/* The group path needs group fds; flags must be 0. */
	assert_errno(hot_reset(f->p, d0, 0, 0, NULL), -EINVAL);
	fds[0] = g10;
	fds[1] = g11;
	assert_errno(hot_reset(f->p, d0, 1, 2, fds), -EINVAL);
	/* Ownership of only one of the two groups is not enough. */
	assert_errno(hot_reset(f->p, d0, 0, 1, fds), -EINVAL);
	assert_int_equal(bar_read32(f->p, d1, 0, TD_SCRATCH), 2);
	/* More fds than affected devices, bad fds, non-group fds. */
	fds[2] = g10;
	assert_errno(hot_reset(f->p, d0, 0, 3, fds), -EINVAL);
	fds[1] = 99999;
	assert_errno(hot_reset(f->p, d0, 0, 2, fds), -EBADF);
	fds[1] = cfd;
	assert_errno(hot_reset(f->p, d0, 0, 2, fds), -EINVAL);
	/* Both groups: both functions reset. */
	fds[1] = g11;
	assert_errno(hot_reset(f->p, d0, 0, 2, fds), 0);
	assert_int_equal(bar_read32(f->p, d0, 0, TD_SCRATCH), 0);
	assert_int_equal(bar_read32(f->p, d1, 0, TD_SCRATCH), 0);
	/* Either device can ask, listing the groups in any order. */
	bar_write32(f->p, d0, 0, TD_SCRATCH, 3);
	fds[0] = g11;
	fds[1] = g10;
	assert_errno(hot_reset(f->p, d1, 0, 2, fds), 0);
	assert_int_equal(bar_read32(f->p, d0, 0, TD_SCRATCH), 0);

	proc_close(f->p, d0);
	proc_close(f->p, d1);
	proc_close(f->p, g10);
	proc_close(f->p, g11);
	proc_close(f->p, cfd);
}

/* A function of the bus bound to a kernel driver blocks the bus reset. */
static void test_hot_reset_foreign_function(void **state)
{
	struct pci_fixture *f = *state;
	struct pci_open o = pci_open_device(f->p, 14, "0000:04:00.0");
	uint8_t buf[sizeof(struct vfio_pci_hot_reset_info) + 4 * 8];
	struct vfio_pci_hot_reset_info *hri = (struct vfio_pci_hot_reset_info *)buf;
	int32_t fd = o.gfd;

	hri->argsz = sizeof(buf);
	assert_errno(proc_ioctl(f->p, o.dfd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, hri), 0);
	assert_int_equal(hri->count, 2);
	assert_int_equal(hri->devices[1].group_id, 15);
	bar_write32(f->p, o.dfd, 0, TD_SCRATCH, 4);
	assert_errno(hot_reset(f->p, o.dfd, 0, 1, &fd), -EINVAL);
	assert_int_equal(bar_read32(f->p, o.dfd, 0, TD_SCRATCH), 4);
	pci_close_device(f->p, &o);
}

/* pci_reset_bus resets only functions its caller vouches for, all or none. */
static int refuse_fn1(struct pci_dev *pdev, void *arg)
{
	(*(unsigned int *)arg)++;
	return PCI_FUNC(pdev->devfn) == 1 ? -ENODEV : 0;
}

static int accept_all(struct pci_dev *pdev, void *arg)
{
	(*(unsigned int *)arg)++;
	return 0;
}

static void test_reset_bus_vouched(void **state)
{
	struct pci_fixture *f = *state;
	struct pci_open o0 = pci_open_device(f->p, 10, "0000:01:00.0");
	struct pci_open o1 = pci_open_device(f->p, 11, "0000:01:00.1");
	struct pci_dev *pdev = test_pdev(f->h, "0000:01:00.0");
	unsigned int asked = 0;

	bar_write32(f->p, o0.dfd, 0, TD_SCRATCH, 5);
	bar_write32(f->p, o1.dfd, 0, TD_SCRATCH, 6);
	assert_errno(pci_reset_bus(pdev->bus, refuse_fn1, &asked), -ENODEV);
	assert_int_equal(asked, 2);
	assert_int_equal(bar_read32(f->p, o0.dfd, 0, TD_SCRATCH), 5);
	assert_int_equal(bar_read32(f->p, o1.dfd, 0, TD_SCRATCH), 6);
	asked = 0;
	assert_errno(pci_reset_bus(pdev->bus, accept_all, &asked), 0);
	assert_int_equal(asked, 2);
	assert_int_equal(bar_read32(f->p, o0.dfd, 0, TD_SCRATCH), 0);
	assert_int_equal(bar_read32(f->p, o1.dfd, 0, TD_SCRATCH), 0);
	/* The root bus has no bus reset. */
	assert_errno(pci_reset_bus(test_pdev(f->h, BDF)->bus, accept_all, &asked), -ENOTTY);
	pci_close_device(f->p, &o1);
	pci_close_device(f->p, &o0);
}

/* ---- low power (DEVICE_FEATURE) ---------------------------------------------- */

static long feature(struct pci_fixture *f, uint32_t flags, const void *data, size_t len)
{
	uint8_t buf[sizeof(struct vfio_device_feature) + 32];
	struct vfio_device_feature *ft = (struct vfio_device_feature *)buf;

	assert_true(len <= 32);
	ft->argsz = (uint32_t)(sizeof(*ft) + len);
	ft->flags = flags;
	if (len)
		memcpy(ft->data, data, len);
	return proc_ioctl(f->p, f->o.dfd, VFIO_DEVICE_FEATURE, ft);
}

static long wakeup_entry(struct pci_fixture *f, int32_t fd)
{
	struct vfio_device_low_power_entry_with_wakeup e = { .wakeup_eventfd = fd };

	return feature(f, VFIO_DEVICE_FEATURE_SET |
		       VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP, &e, sizeof(e));
}

#define LP_SET(id) (VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_LOW_POWER_##id)

static void test_low_power_validation(void **state)
{
	struct pci_fixture *f = *state;
	static const uint32_t ids[] = {
		VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY,
		VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP,
		VFIO_DEVICE_FEATURE_LOW_POWER_EXIT,
	};
	struct vfio_device_low_power_entry_with_wakeup e = { .wakeup_eventfd = -1 };
	uint8_t token[16] = { 0 };
	int pipefd[2];

	/* Every vfio-pci device has them, SET only. */
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		uint32_t probe = VFIO_DEVICE_FEATURE_PROBE | ids[i];

		assert_errno(feature(f, probe | VFIO_DEVICE_FEATURE_SET, NULL, 0), 0);
		assert_errno(feature(f, probe, NULL, 0), 0);
		assert_errno(feature(f, probe | VFIO_DEVICE_FEATURE_GET, NULL, 0), -EINVAL);
		assert_errno(feature(f, VFIO_DEVICE_FEATURE_GET | ids[i], NULL, 0), -EINVAL);
		assert_errno(feature(f, ids[i], NULL, 0), -EINVAL);
	}
	/* WITH_WAKEUP: the struct, a non-negative fd, an eventfd. */
	assert_errno(feature(f, LP_SET(ENTRY_WITH_WAKEUP), &e, 4), -EINVAL);
	assert_errno(wakeup_entry(f, -1), -EINVAL);
	assert_errno(wakeup_entry(f, 4000), -EBADF);
	assert_int_equal(pipe(pipefd), 0);
	assert_errno(wakeup_entry(f, pipefd[0]), -EINVAL);
	close(pipefd[0]);
	close(pipefd[1]);
	/* No VF token (no SR-IOV), no other feature. */
	assert_errno(feature(f, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_PCI_VF_TOKEN, token,
			     sizeof(token)), -ENOTTY);
	assert_errno(feature(f, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET | 99, NULL,
			     0), -ENOTTY);
	/* None of that entered low power; EXIT without ENTRY is fine. */
	assert_int_equal(pci_get_power_state(f->pdev), PCI_D0);
	assert_errno(feature(f, LP_SET(EXIT), NULL, 0), 0);
	assert_int_equal(pci_get_power_state(f->pdev), PCI_D0);
}

static void test_low_power_entry_exit(void **state)
{
	struct pci_fixture *f = *state;
	int32_t intx = efd_new();

	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_INTX_IRQ_INDEX, 0, 1, &intx), 0);
	assert_errno(feature(f, LP_SET(ENTRY), NULL, 0), 0);
	/* Idle: in D3hot with INTx masked. */
	assert_int_equal(pci_get_power_state(f->pdev), PCI_D3hot);
	assert_true(pci_cfg_read(f->pdev, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE);
	/* Already engaged (the call woke it, then it went back). */
	assert_errno(feature(f, LP_SET(ENTRY), NULL, 0), -EINVAL);
	assert_int_equal(pci_get_power_state(f->pdev), PCI_D3hot);
	/* An access wakes it for its duration only. */
	assert_int_equal(bar_read32(f->p, f->o.dfd, 0, TD_MAGIC), 0x54465655);
	assert_int_equal(pci_get_power_state(f->pdev), PCI_D3hot);
	/* An interrupt while masked waits; EXIT unmasks and it arrives. */
	pci_irq_raise(f->pdev, 0);
	assert_int_equal(efd_take(intx), 0);
	assert_errno(feature(f, LP_SET(EXIT), NULL, 0), 0);
	assert_int_equal(pci_get_power_state(f->pdev), PCI_D0);
	assert_int_equal(efd_take(intx), 1);
	assert_int_equal(bar_read32(f->p, f->o.dfd, 0, TD_MAGIC), 0x54465655);
	assert_int_equal(pci_get_power_state(f->pdev), PCI_D0);
	assert_errno(feature(f, LP_SET(EXIT), NULL, 0), 0);
	close(intx);
}

static void test_low_power_wakeup(void **state)
{
	struct pci_fixture *f = *state;
	struct vfio_device_info info = { .argsz = sizeof(info) };
	int efd = efd_new();

	assert_errno(wakeup_entry(f, efd), 0);
	assert_int_equal(pci_get_power_state(f->pdev), PCI_D3hot);
	assert_int_equal(efd_take(efd), 0);
	/* Any ioctl wakes it: signalled, and low power is over. */
	assert_errno(proc_ioctl(f->p, f->o.dfd, VFIO_DEVICE_GET_INFO, &info), 0);
	assert_int_equal(efd_take(efd), 1);
	assert_int_equal(pci_get_power_state(f->pdev), PCI_D0);
	assert_int_equal(cfg_read(f->p, f->o.dfd, PCI_VENDOR_ID, 2), 0x7576);
	assert_int_equal(efd_take(efd), 0);
	assert_int_equal(pci_get_power_state(f->pdev), PCI_D0);
	/* So it may be entered again.  A second entry wakes the device first:
	 * the first one is reported and over, the second takes its place. */
	assert_errno(wakeup_entry(f, efd), 0);
	assert_errno(wakeup_entry(f, efd), 0);
	assert_int_equal(efd_take(efd), 1);
	assert_int_equal(pci_get_power_state(f->pdev), PCI_D3hot);
	/* EXIT itself is a wake-up to report. */
	assert_errno(feature(f, LP_SET(EXIT), NULL, 0), 0);
	assert_int_equal(efd_take(efd), 1);
	assert_int_equal(pci_get_power_state(f->pdev), PCI_D0);
	/* Closing ends low power without a wake-up signal. */
	assert_errno(wakeup_entry(f, efd), 0);
	assert_int_equal(pci_get_power_state(f->pdev), PCI_D3hot);
	pci_close_device(f->p, &f->o);
	assert_int_equal(pci_get_power_state(f->pdev), PCI_D0);
	assert_int_equal(efd_take(efd), 0);
	f->o = pci_open_device(f->p, 3, BDF);
	close(efd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_info, pci_fixture_setup, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_region_info, pci_fixture_setup, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_region_info_caps, pci_fixture_setup, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_bar_registers, pci_fixture_setup, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_region_bounds, pci_fixture_setup, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_msix_table_hidden, pci_fixture_setup, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_msix_table_memory_disabled, pci_fixture_setup, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_mmap_bar2, pci_fixture_setup, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_mmap_memfd_sealed, pci_fixture_setup, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_mmap_refusals, pci_fixture_setup, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_reset, pci_fixture_setup, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_reset_without_flr, setup_hot, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_close_resets, pci_fixture_setup, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_hot_reset_info, setup_hot, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_hot_reset, setup_hot, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_hot_reset_foreign_function, setup_hot, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_reset_bus_vouched, setup_hot, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_low_power_validation, pci_fixture_setup, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_low_power_entry_exit, pci_fixture_setup, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_low_power_wakeup, pci_fixture_setup, pci_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
