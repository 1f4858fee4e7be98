// SPDX-License-Identifier: MIT
/*
 * vfio-dma: a complete VFIO program, the way one is written for the Linux
 * kernel: only libc and <linux/vfio.h>.  It takes a PCI function of the
 * uvfio-test model (a small DMA engine), gives it a buffer through the
 * IOMMU, lets it copy one half of the buffer into the other, and waits for
 * the completion interrupt on an eventfd.
 *
 *   uvfio run -- ./vfio-dma [BDF]        (default 0000:00:03.0)
 *
 * Under `uvfio run` the /dev/vfio nodes and /sys files are uvfio's; on a
 * machine with a real uvfio-test device bound to vfio-pci it would run the
 * same.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/vfio.h>

/* The uvfio-test device: registers in BAR0 (see src/models/testdev.c). */
#define TEST_VENDOR		0x7576
#define TEST_DEVICE		0x0001
#define REG_MAGIC		0x00
#define REG_DMA_SRC		0x08
#define REG_DMA_DST		0x10
#define REG_DMA_LEN		0x18
#define REG_DOORBELL		0x1c
#define REG_STATUS		0x20
#define REG_INTR		0x24
#define REG_ERROR		0x28
#define STATUS_DONE		2u
#define MSIX_VEC_DONE		0

#define PCI_COMMAND		0x04
#define PCI_COMMAND_MEMORY	0x2
#define PCI_COMMAND_MASTER	0x4

#define BUF_SIZE		8192		/* two pages: source, destination */
#define BUF_IOVA		0x10000000ull
#define COPY_LEN		64

static const char *region_names[] = {
	"BAR0", "BAR1", "BAR2", "BAR3", "BAR4", "BAR5", "ROM", "CONFIG", "VGA",
};
static const char *irq_names[] = { "INTx", "MSI", "MSI-X", "ERR", "REQ" };

static int die(const char *what)
{
	fprintf(stderr, "vfio-dma: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* The IOMMU group of a PCI function, from its sysfs iommu_group link. */
static int group_of(const char *bdf)
{
	char path[256], link[256];
	ssize_t n;
	char *slash;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		die(path);
	link[n] = '\0';
	slash = strrchr(link, '/');
	return atoi(slash ? slash + 1 : link);
}

/* Region info; a region the device does not have (VGA) is EINVAL. */
static int region_info(int device, unsigned int index, struct vfio_region_info *reg)
{
	memset(reg, 0, sizeof(*reg));
	reg->argsz = sizeof(*reg);
	reg->index = index;
	if (!ioctl(device, VFIO_DEVICE_GET_REGION_INFO, reg))
		return 0;
	if (errno != EINVAL)
		die("VFIO_DEVICE_GET_REGION_INFO");
	return -1;
}

static void print_device(int device, struct vfio_device_info *info)
{
	printf("device: flags 0x%x%s%s, %u regions, %u irqs\n", info->flags,
	       info->flags & VFIO_DEVICE_FLAGS_PCI ? " (PCI)" : "",
	       info->flags & VFIO_DEVICE_FLAGS_RESET ? " (RESET)" : "",
	       info->num_regions, info->num_irqs);
	for (unsigned int i = 0; i < info->num_regions && i <= VFIO_PCI_VGA_REGION_INDEX; i++) {
		struct vfio_region_info reg;

		if (region_info(device, i, &reg) || !reg.size)
			continue;
		printf("  region %-6s size 0x%-8llx offset 0x%llx %s%s%s\n", region_names[i],
		       (unsigned long long)reg.size, (unsigned long long)reg.offset,
		       reg.flags & VFIO_REGION_INFO_FLAG_READ ? "r" : "-",
		       reg.flags & VFIO_REGION_INFO_FLAG_WRITE ? "w" : "-",
		       reg.flags & VFIO_REGION_INFO_FLAG_MMAP ? "m" : "-");
	}
	for (unsigned int i = 0; i < info->num_irqs && i <= VFIO_PCI_REQ_IRQ_INDEX; i++) {
		struct vfio_irq_info irq = { .argsz = sizeof(irq), .index = i };

		if (ioctl(device, VFIO_DEVICE_GET_IRQ_INFO, &irq))
			die("VFIO_DEVICE_GET_IRQ_INFO");
		printf("  irq    %-6s count %u%s\n", irq_names[i], irq.count,
		       irq.flags & VFIO_IRQ_INFO_EVENTFD ? ", eventfd" : "");
	}
}

/* 32-bit access to BAR0 through the device fd (the registers are trapped). */
static uint32_t reg_read(int device, uint64_t bar0, uint32_t reg)
{
	uint32_t v;

	if (pread(device, &v, 4, bar0 + reg) != 4)
		die("BAR0 read");
	return v;
}

static void reg_write(int device, uint64_t bar0, uint32_t reg, uint32_t v)
{
	if (pwrite(device, &v, 4, bar0 + reg) != 4)
		die("BAR0 write");
}

static void reg_write64(int device, uint64_t bar0, uint32_t reg, uint64_t v)
{
	reg_write(device, bar0, reg, (uint32_t)v);
	reg_write(device, bar0, reg + 4, (uint32_t)(v >> 32));
}

/* MSI-X vector 0 -> an eventfd. */
static int msix_eventfd(int device)
{
	char buf[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)buf;
	int32_t efd = eventfd(0, EFD_CLOEXEC);

	if (efd < 0)
		die("eventfd");
	set->argsz = sizeof(buf);
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = VFIO_PCI_MSIX_IRQ_INDEX;
	set->start = MSIX_VEC_DONE;
	set->count = 1;
	memcpy(set->data, &efd, sizeof(efd));
	if (ioctl(device, VFIO_DEVICE_SET_IRQS, set))
		die("VFIO_DEVICE_SET_IRQS");
	return efd;
}

int main(int argc, char **argv)
{
	const char *bdf = argc > 1 ? argv[1] : "0000:00:03.0";
	struct vfio_group_status status = { .argsz = sizeof(status) };
	struct vfio_iommu_type1_info iommu = { .argsz = sizeof(iommu) };
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_region_info bar0, config;
	struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map) };
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap) };
	uint16_t ids[2], cmd;
	uint8_t *buf;
	uint64_t events;
	struct pollfd pfd;
	char group_path[64];
	int container, group, device, efd, memfd, type;

	/* 1. The container: the IOMMU context. */
	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (container < 0)
		die("/dev/vfio/vfio");
	if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		die("unknown VFIO API version");
	type = ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) > 0 ?
	       VFIO_TYPE1v2_IOMMU : VFIO_TYPE1_IOMMU;
	if (ioctl(container, VFIO_CHECK_EXTENSION, type) <= 0)
		die("no type1 IOMMU");

	/* 2. The group: the unit of ownership. */
	snprintf(group_path, sizeof(group_path), "/dev/vfio/%d", group_of(bdf));
	group = open(group_path, O_RDWR | O_CLOEXEC);
	if (group < 0)
		die(group_path);
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &status))
		die("VFIO_GROUP_GET_STATUS");
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		errno = EBUSY;
		die("group not viable (are all its devices bound to vfio-pci?)");
	}
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container))
		die("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(container, VFIO_SET_IOMMU, type))
		die("VFIO_SET_IOMMU");
	if (ioctl(container, VFIO_IOMMU_GET_INFO, &iommu))
		die("VFIO_IOMMU_GET_INFO");
	printf("container: %s, page sizes 0x%llx; group %s viable\n",
	       type == VFIO_TYPE1v2_IOMMU ? "type1v2" : "type1",
	       (unsigned long long)iommu.iova_pgsizes, group_path);

	/* 3. The device. */
	device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (device < 0)
		die("VFIO_GROUP_GET_DEVICE_FD");
	if (ioctl(device, VFIO_DEVICE_GET_INFO, &info))
		die("VFIO_DEVICE_GET_INFO");
	printf("%s: ", bdf);
	print_device(device, &info);
	if (region_info(device, VFIO_PCI_CONFIG_REGION_INDEX, &config) ||
	    region_info(device, VFIO_PCI_BAR0_REGION_INDEX, &bar0))
		die("no config space or BAR0");

	/* Config space: identify it, then enable memory decoding and DMA. */
	if (pread(device, ids, sizeof(ids), config.offset) != sizeof(ids))
		die("config read");
	printf("config: vendor 0x%04x device 0x%04x\n", ids[0], ids[1]);
	if (ids[0] != TEST_VENDOR || ids[1] != TEST_DEVICE) {
		errno = ENODEV;
		die("not a uvfio-test device");
	}
	if (pread(device, &cmd, 2, config.offset + PCI_COMMAND) != 2)
		die("config read");
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	if (pwrite(device, &cmd, 2, config.offset + PCI_COMMAND) != 2)
		die("config write");
	printf("BAR0: magic 0x%08x\n", reg_read(device, bar0.offset, REG_MAGIC));

	/* 4. DMA memory: a shared buffer the device reaches at BUF_IOVA. */
	memfd = memfd_create("vfio-dma", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, BUF_SIZE))
		die("memfd");
	buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (buf == MAP_FAILED)
		die("mmap");
	for (int i = 0; i < COPY_LEN; i++)
		buf[i] = (uint8_t)(0xa0 + i);
	memset(buf + 4096, 0, COPY_LEN);
	map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	map.vaddr = (uintptr_t)buf;
	map.iova = BUF_IOVA;
	map.size = BUF_SIZE;
	if (ioctl(container, VFIO_IOMMU_MAP_DMA, &map))
		die("VFIO_IOMMU_MAP_DMA");
	printf("dma: %d bytes at iova 0x%llx\n", BUF_SIZE, (unsigned long long)map.iova);

	/* 5. The completion interrupt, then the copy. */
	efd = msix_eventfd(device);
	reg_write64(device, bar0.offset, REG_DMA_SRC, BUF_IOVA);
	reg_write64(device, bar0.offset, REG_DMA_DST, BUF_IOVA + 4096);
	reg_write(device, bar0.offset, REG_DMA_LEN, COPY_LEN);
	reg_write(device, bar0.offset, REG_DOORBELL, 1);

	pfd = (struct pollfd){ .fd = efd, .events = POLLIN };
	if (poll(&pfd, 1, 5000) != 1) {
		errno = ETIMEDOUT;
		die("waiting for the MSI-X interrupt");
	}
	if (read(efd, &events, sizeof(events)) != sizeof(events))
		die("eventfd read");
	printf("irq: MSI-X vector %d fired (%" PRIu64 " event), status 0x%x, error %u\n",
	       MSIX_VEC_DONE, events, reg_read(device, bar0.offset, REG_STATUS),
	       reg_read(device, bar0.offset, REG_ERROR));
	reg_write(device, bar0.offset, REG_INTR, 1);	/* acknowledge (RW1C) */

	/* 6. What the device wrote. */
	printf("copied:");
	for (int i = 0; i < COPY_LEN; i++)
		printf("%s%02x", i % 16 ? " " : "\n  ", buf[4096 + i]);
	printf("\n");
	if (memcmp(buf, buf + 4096, COPY_LEN) ||
	    !(reg_read(device, bar0.offset, REG_STATUS) & STATUS_DONE)) {
		fprintf(stderr, "vfio-dma: the copy does not match\n");
		return 1;
	}
	printf("ok: %d bytes copied by the device through the IOMMU\n", COPY_LEN);

	unmap.iova = BUF_IOVA;
	unmap.size = BUF_SIZE;
	if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap))
		die("VFIO_IOMMU_UNMAP_DMA");
	close(efd);
	close(device);
	close(group);
	close(container);
	return 0;
}
