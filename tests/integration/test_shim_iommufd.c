// SPDX-License-Identifier: MIT
/*
 * The modern path under the shim, as a VMM written for iommufd does it:
 * /dev/iommu, an IOAS, the device cdev /dev/vfio/devices/vfioN bound and
 * attached, guest memory mapped with IOAS_MAP (an address) and
 * IOAS_MAP_FILE (a memfd by fd, 6.13), and the device's DMA going through
 * that IOAS.  Built against <linux/vfio.h>, libc and the iommufd/cdev ABI
 * headers the project carries for systems whose headers predate them.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include "../../include/uapi/linux/iommufd.h"
#include "../../include/uapi/linux/vfio_cdev.h"
#include "vt.h"

#define PAGE		4096
#define SRC_IOVA	0x10000000ull
#define DST_IOVA	0x20000000ull

/* "/dev/vfio/devices/vfioN" of bdf, from its sysfs vfio-dev directory. */
static int cdev_path(const char *bdf, char *out, size_t size)
{
	char dir[128];
	struct dirent *e;
	DIR *d;
	int ret = -1;

	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	d = opendir(dir);
	while (d && (e = readdir(d))) {
		if (!strncmp(e->d_name, "vfio", 4)) {
			snprintf(out, size, "/dev/vfio/devices/%s", e->d_name);
			ret = 0;
			break;
		}
	}
	if (d)
		closedir(d);
	return ret;
}

static int region_offset(int device, uint32_t index, uint64_t *off)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = index };

	if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &ri))
		return -1;
	*off = ri.offset;
	return 0;
}

struct cdev_setup {
	struct vt_dev d;	/* container/group unused: -1 */
	int iommufd;
	uint32_t ioas;
};

/* iommufd + IOAS, the device bound and attached, memory and bus master on. */
static void cdev_open(struct cdev_setup *s)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach) };
	char path[300];
	uint16_t cmd;

	memset(s, 0, sizeof(*s));
	s->d.container = s->d.group = -1;
	s->iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	vt_require(s->iommufd >= 0);
	vt_require(!ioctl(s->iommufd, IOMMU_IOAS_ALLOC, &alloc));
	s->ioas = alloc.out_ioas_id;
	vt_require(!cdev_path(VT_BDF, path, sizeof(path)));
	s->d.device = open(path, O_RDWR | O_CLOEXEC);
	vt_require(s->d.device >= 0);
	bind.iommufd = s->iommufd;
	vt_require(!ioctl(s->d.device, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	attach.pt_id = s->ioas;
	vt_require(!ioctl(s->d.device, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach));
	vt_require(!region_offset(s->d.device, VFIO_PCI_BAR0_REGION_INDEX, &s->d.bar0) &&
		   !region_offset(s->d.device, VFIO_PCI_CONFIG_REGION_INDEX, &s->d.config));
	vt_require(pread(s->d.device, &cmd, 2, s->d.config + PCI_COMMAND) == 2);
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	vt_require(pwrite(s->d.device, &cmd, 2, s->d.config + PCI_COMMAND) == 2);
}

static void cdev_close(struct cdev_setup *s)
{
	close(s->d.device);
	close(s->iommufd);
}

static int ioas_map_file(int iommufd, uint32_t ioas, int fd, uint64_t start, uint64_t len,
			 uint64_t iova)
{
	struct iommu_ioas_map_file m = {
		.size = sizeof(m), .ioas_id = ioas, .fd = fd, .start = start, .length = len,
		.iova = iova,
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
	};

	return ioctl(iommufd, IOMMU_IOAS_MAP_FILE, &m);
}

static int ioas_map(int iommufd, uint32_t ioas, void *va, uint64_t len, uint64_t iova)
{
	struct iommu_ioas_map m = {
		.size = sizeof(m), .ioas_id = ioas, .user_va = (uintptr_t)va, .length = len,
		.iova = iova,
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
	};

	return ioctl(iommufd, IOMMU_IOAS_MAP, &m);
}

/* The device copies from a MAP_FILE'd memfd into an IOAS_MAP'd buffer. */
static void test_cdev_dma_through_ioas(void)
{
	struct cdev_setup s;
	int mfd;
	uint8_t *src = vt_memfd_buf(2 * PAGE, &mfd), *dst = vt_memfd_buf(PAGE, NULL);

	vt_require(src && dst);
	cdev_open(&s);
	for (int i = 0; i < PAGE; i++)
		src[PAGE + i] = (uint8_t)(i * 7 + 1);
	/* the second page of the file, by fd: the program's mapping plays no part */
	vt_expect_ok(ioas_map_file(s.iommufd, s.ioas, mfd, PAGE, PAGE, SRC_IOVA));
	vt_expect_ok(ioas_map(s.iommufd, s.ioas, dst, PAGE, DST_IOVA));
	vt_expect_eq(vt_dma_copy(&s.d, SRC_IOVA, DST_IOVA, PAGE), VT_STATUS_DONE);
	vt_expect(!memcmp(src + PAGE, dst, PAGE));
	/* unmapped again, the same copy faults in the device */
	struct iommu_ioas_unmap u = { .size = sizeof(u), .ioas_id = s.ioas, .iova = SRC_IOVA,
				      .length = PAGE };
	vt_expect_ok(ioctl(s.iommufd, IOMMU_IOAS_UNMAP, &u));
	vt_expect_eq(u.length, PAGE);
	vt_expect(vt_dma_copy(&s.d, SRC_IOVA, DST_IOVA, PAGE) & VT_STATUS_ERROR);
	cdev_close(&s);
}

static void test_map_file_errors(void)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	int iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC), mfd;
	void *buf = vt_memfd_buf(PAGE, &mfd);

	vt_require(iommufd >= 0 && buf && !ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc));
	vt_expect_errno(ioas_map_file(iommufd, alloc.out_ioas_id, -1, 0, PAGE, SRC_IOVA), EBADF);
	vt_expect_errno(ioas_map_file(iommufd, alloc.out_ioas_id, 1000, 0, PAGE, SRC_IOVA), EBADF);
	/* past the end of the file */
	vt_expect_errno(ioas_map_file(iommufd, alloc.out_ioas_id, mfd, PAGE, PAGE, SRC_IOVA),
			EINVAL);
	vt_expect_ok(ioas_map_file(iommufd, alloc.out_ioas_id, mfd, 0, PAGE, SRC_IOVA));
	vt_expect_errno(ioas_map_file(iommufd, alloc.out_ioas_id, mfd, 0, PAGE, SRC_IOVA), EEXIST);
	close(iommufd);
}

int main(int argc, char **argv)
{
	static const struct vt_case cases[] = {
		{ "cdev device DMA through an IOAS (IOAS_MAP and IOAS_MAP_FILE)",
		  test_cdev_dma_through_ioas, 0 },
		{ "IOAS_MAP_FILE errors: EBADF, EINVAL past the end, EEXIST", test_map_file_errors, 0 },
	};

	return vt_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
