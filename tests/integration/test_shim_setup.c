// SPDX-License-Identifier: MIT
/*
 * An unmodified VFIO program's first steps through the shim: the device
 * nodes and sysfs files it finds, the container, the group, the device and
 * its description, and the kernel's answers to mistakes (bad pointers,
 * unknown requests, wrong order), each with the kernel's errno.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <linux/vfio.h>
#include "vt.h"

static int open_group(int group)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	return open(path, O_RDWR | O_CLOEXEC);
}

static void test_container(void)
{
	int c = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);

	vt_require(c >= 0);
	vt_expect_eq(ioctl(c, VFIO_GET_API_VERSION), VFIO_API_VERSION);
	vt_expect_eq(ioctl(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 1);
	vt_expect_eq(ioctl(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU), 1);
	vt_expect_eq(ioctl(c, VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_IOMMU), 0);
	/* No group yet: no IOMMU can be set, and no backend answers. */
	vt_expect_errno(ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), EINVAL);
	vt_expect_errno(ioctl(c, VFIO_IOMMU_MAP_DMA, NULL), EINVAL);
	vt_expect_ok(close(c));
}

static void test_nodes_and_sysfs(void)
{
	char buf[PATH_MAX], path[128];
	struct stat st;
	ssize_t n;
	FILE *f;
	int fd;

	vt_require(!stat("/dev/vfio/vfio", &st));
	vt_expect(S_ISCHR(st.st_mode));
	vt_expect_eq(major(st.st_rdev), 10);
	vt_expect_eq(minor(st.st_rdev), 196);
	vt_expect_ok(stat("/dev/vfio/3", &st));
	vt_expect(S_ISCHR(st.st_mode));
	vt_expect_ok(access("/dev/vfio/vfio", R_OK | W_OK));
	vt_expect_errno(stat("/dev/vfio/99", &st), ENOENT);
	vt_expect_errno(open("/dev/vfio/99", O_RDWR), ENOENT);
	vt_expect(vt_dir_has("/dev/vfio", "vfio"));
	vt_expect(vt_dir_has("/dev/vfio", "3"));
	vt_expect(vt_dir_has("/dev/vfio", "6"));
	vt_expect(vt_dir_has("/sys/bus/pci/devices", VT_BDF));
	vt_expect(vt_dir_has("/sys/kernel/iommu_groups", "3"));

	/* sysfs is sysfs to whoever checks (udev, systemd). */
	{
		struct statfs sf;

		vt_expect_ok(statfs("/sys/bus/pci/devices", &sf));
		vt_expect_eq(sf.f_type, SYSFS_MAGIC);
	}
	/* What QEMU reads: the group link and the subsystem. */
	vt_expect_eq(vt_group_of(VT_BDF), VT_GROUP);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/subsystem", VT_BDF);
	vt_require(realpath(path, buf));
	vt_expect(!strcmp(buf, "/sys/bus/pci"));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", VT_BDF);
	vt_require(realpath(path, buf));
	vt_expect(!strncmp(buf, "/sys/devices/pci0000:00/", 24));
	vt_expect(!strcmp(buf + strlen(buf) - strlen(VT_BDF), VT_BDF));
	/* What DPDK reads: the ids and the driver. */
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", VT_BDF);
	f = fopen(path, "r");
	vt_require(f);
	vt_expect(fgets(buf, sizeof(buf), f) && !strcmp(buf, "0x7576\n"));
	fclose(f);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", VT_BDF);
	n = readlink(path, buf, sizeof(buf) - 1);
	vt_require(n > 0);
	buf[n] = '\0';
	vt_expect(!strcmp(strrchr(buf, '/') + 1, "vfio-pci"));
	/* A relative path from inside the tree. */
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", VT_BDF);
	vt_require(!chdir(path));
	vt_expect(getcwd(buf, sizeof(buf)) && !strncmp(buf, "/sys/", 5));
	fd = open("device", O_RDONLY);
	vt_expect(fd >= 0 && read(fd, buf, 7) == 7 && !strncmp(buf, "0x0001\n", 7));
	close(fd);
	vt_expect_ok(chdir("/"));
	/* ...and relative to "/" and to a directory fd. */
	fd = open("sys/bus/pci/devices", O_RDONLY | O_DIRECTORY);
	vt_expect(fd >= 0);
	close(fd);
	fd = open("/sys/bus", O_RDONLY | O_DIRECTORY);
	vt_require(fd >= 0);
	vt_expect_ok(fstatat(fd, "pci/devices/" VT_BDF "/config", &st, 0));
	vt_expect_eq(st.st_size, 4096);
	close(fd);
}

static void test_group(void)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	int c = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	int g = open_group(VT_GROUP), d, bad = 9999;

	vt_require(c >= 0 && g >= 0);
	vt_expect_ok(ioctl(g, VFIO_GROUP_GET_STATUS, &status));
	vt_expect_eq(status.flags, VFIO_GROUP_FLAGS_VIABLE);
	/* One open file per group. */
	vt_expect_errno(open_group(VT_GROUP), EBUSY);
	/* No container yet: no device. */
	vt_expect_errno(ioctl(g, VFIO_GROUP_GET_DEVICE_FD, VT_BDF), EINVAL);
	vt_expect_errno(ioctl(g, VFIO_GROUP_SET_CONTAINER, &bad), EBADF);
	vt_expect_errno(ioctl(g, VFIO_GROUP_SET_CONTAINER, &g), EBADFD);
	/* a file of the machine's own is a file all the same: not a container */
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

	vt_expect_errno(ioctl(g, VFIO_GROUP_SET_CONTAINER, &devnull), EBADFD);
	close(devnull);
	vt_expect_ok(ioctl(g, VFIO_GROUP_SET_CONTAINER, &c));
	vt_expect_ok(ioctl(g, VFIO_GROUP_GET_STATUS, &status));
	vt_expect_eq(status.flags, VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
	vt_expect_errno(ioctl(g, VFIO_GROUP_SET_CONTAINER, &c), EINVAL);
	/* A container without an IOMMU hands out no device. */
	vt_expect_errno(ioctl(g, VFIO_GROUP_GET_DEVICE_FD, VT_BDF), EINVAL);
	vt_expect_ok(ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	vt_expect_errno(ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), EINVAL);
	vt_expect_errno(ioctl(g, VFIO_GROUP_GET_DEVICE_FD, "0000:00:1f.0"), ENODEV);
	d = ioctl(g, VFIO_GROUP_GET_DEVICE_FD, VT_BDF);
	vt_require(d >= 0);
	vt_expect(fcntl(d, F_GETFD) & FD_CLOEXEC);
	/* Devices in use keep the container. */
	vt_expect_errno(ioctl(g, VFIO_GROUP_UNSET_CONTAINER), EBUSY);
	vt_expect_ok(close(d));
	vt_expect_ok(ioctl(g, VFIO_GROUP_UNSET_CONTAINER));
	vt_expect_errno(ioctl(g, VFIO_GROUP_UNSET_CONTAINER), EINVAL);
	vt_expect_ok(close(g));
	vt_expect_ok(close(c));
	/* Released with the last close: the group opens again. */
	g = open_group(VT_GROUP);
	vt_expect(g >= 0);
	close(g);
}

static void test_nonviable_group(void)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	int c = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	int g = open_group(VT_GROUP_NONVIABLE);

	vt_require(c >= 0 && g >= 0);
	vt_expect_ok(ioctl(g, VFIO_GROUP_GET_STATUS, &status));
	vt_expect(!(status.flags & VFIO_GROUP_FLAGS_VIABLE));
	vt_expect_errno(ioctl(g, VFIO_GROUP_SET_CONTAINER, &c), EPERM);
	close(g);
	close(c);
}

/* The SPARSE_MMAP capability of a region, or NULL. */
static struct vfio_region_info_cap_sparse_mmap *find_sparse(struct vfio_region_info *r)
{
	uint32_t off = r->cap_offset;

	while (off && off + sizeof(struct vfio_info_cap_header) <= r->argsz) {
		struct vfio_info_cap_header *h = (void *)((char *)r + off);

		if (h->id == VFIO_REGION_INFO_CAP_SPARSE_MMAP)
			return (void *)h;
		off = h->next;
	}
	return NULL;
}

static void test_device_info(void)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_region_info reg = { .argsz = sizeof(reg) }, *big;
	struct vfio_region_info_cap_sparse_mmap *sparse;
	struct vfio_irq_info irq = { .argsz = sizeof(irq), .index = VFIO_PCI_MSIX_IRQ_INDEX };
	struct vt_dev d;

	vt_require(!vt_open(&d, VT_BDF));
	vt_expect_ok(ioctl(d.device, VFIO_DEVICE_GET_INFO, &info));
	vt_expect(info.flags & VFIO_DEVICE_FLAGS_PCI);
	vt_expect(info.flags & VFIO_DEVICE_FLAGS_RESET);
	vt_expect(info.num_regions >= VFIO_PCI_NUM_REGIONS);
	vt_expect(info.num_irqs >= VFIO_PCI_NUM_IRQS);

	reg.index = VFIO_PCI_BAR0_REGION_INDEX;
	vt_expect_ok(ioctl(d.device, VFIO_DEVICE_GET_REGION_INFO, &reg));
	vt_expect_eq(reg.size, VT_BAR0_SIZE);
	vt_expect(!(reg.flags & VFIO_REGION_INFO_FLAG_MMAP));
	reg.index = VFIO_PCI_CONFIG_REGION_INDEX;
	vt_expect_ok(ioctl(d.device, VFIO_DEVICE_GET_REGION_INFO, &reg));
	vt_expect_eq(reg.size, 4096);
	/* BAR2: mmap-able but for its MSI-X page; the caps need a bigger buffer. */
	reg = (struct vfio_region_info){ .argsz = sizeof(reg), .index = VFIO_PCI_BAR2_REGION_INDEX };
	vt_expect_ok(ioctl(d.device, VFIO_DEVICE_GET_REGION_INFO, &reg));
	vt_expect_eq(reg.size, VT_BAR2_SIZE);
	vt_expect(reg.flags & VFIO_REGION_INFO_FLAG_MMAP);
	vt_expect(reg.flags & VFIO_REGION_INFO_FLAG_CAPS);
	vt_require(reg.argsz > sizeof(reg) && reg.argsz < 4096);
	big = calloc(1, reg.argsz);
	vt_require(big);
	big->argsz = reg.argsz;
	big->index = VFIO_PCI_BAR2_REGION_INDEX;
	vt_expect_ok(ioctl(d.device, VFIO_DEVICE_GET_REGION_INFO, big));
	sparse = find_sparse(big);
	vt_require(sparse);
	vt_expect_eq(sparse->nr_areas, 1);
	vt_expect_eq(sparse->areas[0].offset, 4096);
	vt_expect_eq(sparse->areas[0].size, VT_BAR2_SIZE - 4096);
	free(big);

	vt_expect_ok(ioctl(d.device, VFIO_DEVICE_GET_IRQ_INFO, &irq));
	vt_expect_eq(irq.count, VT_MSIX_VECTORS);
	vt_expect(irq.flags & VFIO_IRQ_INFO_EVENTFD);
	irq.index = 99;
	vt_expect_errno(ioctl(d.device, VFIO_DEVICE_GET_IRQ_INFO, &irq), EINVAL);
	vt_close(&d);
}

/* Addresses the compiler cannot see through: nothing is mapped there. */
static void *volatile low_addr = (void *)8;
static void *volatile top_addr = (void *)-4096L;

static void test_bad_arguments(void)
{
	struct vfio_device_info info = { .argsz = 4 };
	char page[4096];
	struct vt_dev d;
	void *hole;

	vt_require(!vt_open(&d, VT_BDF));
	/* Pointers the kernel cannot read: EFAULT, and the program lives on. */
	vt_expect_errno(ioctl(d.group, VFIO_GROUP_GET_STATUS, NULL), EFAULT);
	vt_expect_errno(ioctl(d.device, VFIO_DEVICE_GET_INFO, low_addr), EFAULT);
	vt_expect_errno(ioctl(d.group, VFIO_GROUP_SET_CONTAINER, NULL), EFAULT);
	vt_expect_errno(ioctl(d.group, VFIO_GROUP_GET_DEVICE_FD, NULL), EFAULT);
	vt_expect_errno(ioctl(d.container, VFIO_IOMMU_GET_INFO, top_addr), EFAULT);
	vt_expect_errno(pread(d.device, low_addr, 4, d.config), EFAULT);
	vt_expect_errno(pwrite(d.device, low_addr, 4, d.bar0 + VT_REG_SCRATCH), EFAULT);
	/* A struct ending just before an unmapped page: argsz says more. */
	hole = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	vt_require(hole != MAP_FAILED);
	munmap((char *)hole + 4096, 4096);
	{
		struct vfio_device_info *edge = (void *)((char *)hole + 4096 - 8);

		edge->argsz = sizeof(*edge);
		edge->flags = 0;
		vt_expect_errno(ioctl(d.device, VFIO_DEVICE_GET_INFO, edge), EFAULT);
	}
	munmap(hole, 4096);
	/* argsz below the minimum, unknown requests. */
	vt_expect_errno(ioctl(d.device, VFIO_DEVICE_GET_INFO, &info), EINVAL);
	vt_expect_errno(ioctl(d.device, _IO(VFIO_TYPE, VFIO_BASE + 60), page), ENOTTY);
	vt_expect_errno(ioctl(d.group, VFIO_DEVICE_GET_INFO, &info), ENOTTY);
	vt_expect_errno(ioctl(d.device, TCGETS, page), ENOTTY);
	/* The group works after all of it. */
	info.argsz = sizeof(info);
	vt_expect_ok(ioctl(d.device, VFIO_DEVICE_GET_INFO, &info));
	vt_close(&d);
}

static void test_fd_semantics(void)
{
	char path[64], link[256];
	struct stat st;
	ssize_t n;
	int c = open("/dev/vfio/vfio", O_RDWR), fl;

	vt_require(c >= 0);
	fl = fcntl(c, F_GETFD);
	vt_expect(fl >= 0 && !(fl & FD_CLOEXEC));
	vt_expect_ok(fcntl(c, F_SETFD, FD_CLOEXEC));
	vt_expect(fcntl(c, F_GETFD) & FD_CLOEXEC);
	vt_expect_ok(fstat(c, &st));
	vt_expect(S_ISCHR(st.st_mode));
	vt_expect_eq(st.st_rdev, makedev(10, 196));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", c);
	n = readlink(path, link, sizeof(link) - 1);
	vt_require(n > 0);
	link[n] = '\0';
	vt_expect(!strcmp(link, "/dev/vfio/vfio"));
	vt_expect_ok(close(c));
	vt_expect_errno(ioctl(c, VFIO_GET_API_VERSION), EBADF);
	vt_expect_errno(close(c), EBADF);
}

/* Tools list /sys/module to see what is loaded, /dev to see what exists. */
static void test_parent_listings(void)
{
	vt_expect(vt_dir_has("/sys/module", "vfio_pci"));
	vt_expect(vt_dir_has("/sys/module/", "vfio_iommu_type1"));
	vt_expect(vt_dir_has("/dev", "vfio"));
	vt_expect(vt_dir_has("/dev", "iommu"));
	/* the machine's own entries stay */
	vt_expect(vt_dir_has("/dev", "null"));
	vt_expect(vt_dir_has("/sys/module", "."));
	vt_expect(vt_dir_has("/sys/bus", "pci"));
	/* a served tree itself is the host's */
	vt_expect(vt_dir_has("/sys/bus/pci/devices", VT_BDF));
	vt_expect(!vt_dir_has("/sys/module/vfio_pci", "vfio_pci"));
}

int main(int argc, char **argv)
{
	static const struct vt_case cases[] = {
		{ "container: API version, extensions, no IOMMU before a group", test_container, 0 },
		{ "device nodes and sysfs as programs read them", test_nodes_and_sysfs, 0 },
		{ "group: status, one opener, container, device fd, unset", test_group, 0 },
		{ "non-viable group: no container", test_nonviable_group, 0 },
		{ "device info, regions with sparse mmap, irqs", test_device_info, 0 },
		{ "bad pointers EFAULT, bad argsz EINVAL, unknown ioctls ENOTTY", test_bad_arguments, 0 },
		{ "device fds are real fds: flags, fstat, /proc/self/fd, close", test_fd_semantics, 0 },
		{ "listings of /sys/module and /dev show the served entries", test_parent_listings, 0 },
	};

	return vt_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
