// SPDX-License-Identifier: MIT
/*
 * ioat-copy: a user-space driver for an Intel I/OAT DMA engine (CBDMA,
 * 8086:2021) written against the plain VFIO uAPI: only libc and
 * <linux/vfio.h>.  It is also the shortest complete description of how a
 * VFIO program drives a DMA device:
 *
 *   1. find the function's IOMMU group in sysfs and open it;
 *   2. put the group in a type1 container and map memory for the device;
 *   3. get the device fd, map the register BAR, enable bus mastering;
 *   4. route the channel's MSI-X vector to an eventfd;
 *   5. reset the channel, tell it where the descriptors and the
 *      completion write-back are, write descriptors, ring the doorbell;
 *   6. sleep on the eventfd until the last descriptor's interrupt, check
 *      the write-back and the data.
 *
 *   uvfio run -- ./ioat-copy [BDF] [BYTES]     (default 0000:00:07.0, 1 MiB)
 *
 * Under `uvfio run` the /dev/vfio nodes and /sys files are uvfio's and the
 * engine is its model; with a real CBDMA function bound to vfio-pci the
 * program runs the same.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/vfio.h>

/* ---- the hardware: BAR0 registers (Linux drivers/dma/ioat/registers.h) ---- */
#define IOAT_VENDOR		0x8086
#define IOAT_DEVICE_SKX		0x2021
#define IOAT_CHANCNT		0x00	/* 8: channels */
#define IOAT_XFERCAP		0x01	/* 8: log2 of the largest transfer */
#define IOAT_INTRCTRL		0x03	/* 8 */
#define  INTRCTRL_MASTER_INT_EN	0x01
#define  INTRCTRL_MSIX_VECTORS	0x08
#define IOAT_CBVER		0x08	/* 8: 0x33 for v3.3 */
#define CHAN0			0x80	/* channel n at 0x80 * (n + 1) */
#define CHANCTRL		0x00	/* 16 */
#define  CHANCTRL_INT_REARM	0x0001
#define  CHANCTRL_ERR_COMPL_EN	0x0004
#define  CHANCTRL_ERR_ABORT_EN	0x0008
#define  CHANCTRL_ERR_INT_EN	0x0010
#define CHANCMD			0x04	/* 8: commands the engine consumes */
#define  CHANCMD_RESET		0x20
#define DMACOUNT		0x06	/* 16: descriptors handed over, ever growing */
#define CHANSTS			0x08	/* 64: last completed descriptor | state */
#define  CHANSTS_STATE		0x7ull
#define  CHANSTS_DONE		0x1
#define  CHANSTS_HALTED		0x3
#define  CHANSTS_ARMED		0x4
#define CHAINADDR		0x10	/* 64: first descriptor */
#define CHANCMP			0x18	/* 64: where the engine writes CHANSTS */
#define CHANERR			0x28	/* 32 */

/* A 64-byte descriptor in DMA memory. */
struct ioat_desc {
	uint32_t size;
	uint32_t ctl;
	uint64_t src;
	uint64_t dst;
	uint64_t next;
	uint64_t rsvd[4];
};

#define DESC_INT_EN		(1u << 0)
#define DESC_COMPL_WRITE	(1u << 3)

#define PCI_COMMAND		0x04
#define PCI_COMMAND_MEMORY	0x2
#define PCI_COMMAND_MASTER	0x4

/* ---- our memory layout: one shared buffer, one IOVA window ------------------ */
#define IOVA_BASE		0x100000000ull	/* clear of the MSI window below 4 GiB */
#define RING_BYTES		4096		/* 64 descriptors */
#define COMP_OFF		RING_BYTES	/* the completion write-back */
#define DATA_OFF		(2 * 4096)	/* source, then destination */
#define DEFAULT_BYTES		(1u << 20)
#define TIMEOUT_MS		5000

struct ioat {
	int container, group, device;
	volatile uint8_t *regs;		/* BAR0 page 0 */
	uint64_t config;		/* offset of the config region */
	uint8_t *mem;			/* DMA memory, at IOVA_BASE */
	size_t mem_size;
	int irq;			/* eventfd of channel 0's vector */
};

static void die(const char *what)
{
	fprintf(stderr, "ioat-copy: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void fail(const char *what)
{
	fprintf(stderr, "ioat-copy: %s\n", what);
	exit(1);
}

/* Registers are little endian, accessed at their width in one access. */
static uint8_t rd8(struct ioat *io, unsigned int off)
{
	return *(volatile uint8_t *)(io->regs + off);
}

static uint32_t rd32(struct ioat *io, unsigned int off)
{
	return *(volatile uint32_t *)(io->regs + off);
}

static uint64_t rd64(struct ioat *io, unsigned int off)
{
	return *(volatile uint64_t *)(io->regs + off);
}

static void wr8(struct ioat *io, unsigned int off, uint8_t v)
{
	*(volatile uint8_t *)(io->regs + off) = v;
}

static void wr16(struct ioat *io, unsigned int off, uint16_t v)
{
	*(volatile uint16_t *)(io->regs + off) = v;
}

static void wr64(struct ioat *io, unsigned int off, uint64_t v)
{
	*(volatile uint64_t *)(io->regs + off) = v;
}

static uint64_t iova(struct ioat *io, const void *p)
{
	return IOVA_BASE + (uint64_t)((const uint8_t *)p - io->mem);
}

/* ---- 1-3: group, container, device ------------------------------------------- */

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

static void open_container(struct ioat *io, const char *bdf)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[64];

	io->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (io->container < 0)
		die("/dev/vfio/vfio");
	if (ioctl(io->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    ioctl(io->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1)
		fail("no type1v2 IOMMU");
	snprintf(path, sizeof(path), "/dev/vfio/%d", group_of(bdf));
	io->group = open(path, O_RDWR | O_CLOEXEC);
	if (io->group < 0)
		die(path);
	if (ioctl(io->group, VFIO_GROUP_GET_STATUS, &status))
		die("GROUP_GET_STATUS");
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		fail("group not viable: bind all its devices to vfio-pci");
	if (ioctl(io->group, VFIO_GROUP_SET_CONTAINER, &io->container))
		die("GROUP_SET_CONTAINER");
	if (ioctl(io->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		die("SET_IOMMU");
}

/* Shared memory (a memfd), so the device reaches it without copies. */
static void map_memory(struct ioat *io, size_t bytes)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.iova = IOVA_BASE,
	};
	int fd;
	long page = sysconf(_SC_PAGESIZE);

	/* Mappings are whole pages. */
	io->mem_size = (DATA_OFF + 2 * bytes + (size_t)page - 1) & ~((size_t)page - 1);
	fd = memfd_create("ioat-copy", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)io->mem_size))
		die("memfd");
	io->mem = mmap(NULL, io->mem_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (io->mem == MAP_FAILED)
		die("mmap memory");
	map.vaddr = (uint64_t)(uintptr_t)io->mem;
	map.size = io->mem_size;
	if (ioctl(io->container, VFIO_IOMMU_MAP_DMA, &map))
		die("IOMMU_MAP_DMA");
}

static void region(struct ioat *io, unsigned int index, struct vfio_region_info *reg)
{
	memset(reg, 0, sizeof(*reg));
	reg->argsz = sizeof(*reg);
	reg->index = index;
	if (ioctl(io->device, VFIO_DEVICE_GET_REGION_INFO, reg))
		die("GET_REGION_INFO");
}

static uint16_t config_read16(struct ioat *io, unsigned int off)
{
	uint16_t v;

	if (pread(io->device, &v, 2, (off_t)(io->config + off)) != 2)
		die("config read");
	return v;
}

static void config_write16(struct ioat *io, unsigned int off, uint16_t v)
{
	if (pwrite(io->device, &v, 2, (off_t)(io->config + off)) != 2)
		die("config write");
}

static void open_device(struct ioat *io, const char *bdf)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_region_info bar0, cfg;
	void *p;

	io->device = ioctl(io->group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (io->device < 0)
		die("GROUP_GET_DEVICE_FD");
	if (ioctl(io->device, VFIO_DEVICE_GET_INFO, &info))
		die("DEVICE_GET_INFO");
	if (!(info.flags & VFIO_DEVICE_FLAGS_PCI))
		fail("not a PCI device");
	region(io, VFIO_PCI_CONFIG_REGION_INDEX, &cfg);
	io->config = cfg.offset;
	if (config_read16(io, 0) != IOAT_VENDOR || config_read16(io, 2) != IOAT_DEVICE_SKX)
		fail("not an I/OAT CBDMA function (8086:2021)");
	region(io, VFIO_PCI_BAR0_REGION_INDEX, &bar0);
	if (!(bar0.flags & VFIO_REGION_INFO_FLAG_MMAP))
		fail("BAR0 cannot be mapped");
	/* Page 0 holds the registers; the MSI-X page after it is the kernel's. */
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, io->device, (off_t)bar0.offset);
	if (p == MAP_FAILED)
		die("mmap BAR0");
	io->regs = p;
	config_write16(io, PCI_COMMAND, config_read16(io, PCI_COMMAND) |
			PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

/* ---- 4: channel 0's interrupt: MSI-X vector 0 -> eventfd ------------------------ */

static void route_interrupt(struct ioat *io)
{
	struct vfio_irq_info irq = { .argsz = sizeof(irq), .index = VFIO_PCI_MSIX_IRQ_INDEX };
	char buf[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)buf;
	int32_t fd;

	if (ioctl(io->device, VFIO_DEVICE_GET_IRQ_INFO, &irq) || irq.count < 1)
		fail("no MSI-X vectors");
	io->irq = eventfd(0, EFD_CLOEXEC);
	if (io->irq < 0)
		die("eventfd");
	fd = io->irq;
	set->argsz = sizeof(buf);
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = VFIO_PCI_MSIX_IRQ_INDEX;
	set->start = 0;
	set->count = 1;
	memcpy(set->data, &fd, sizeof(fd));
	if (ioctl(io->device, VFIO_DEVICE_SET_IRQS, set))
		die("SET_IRQS");
}

/* ---- 5: program the channel ---------------------------------------------------- */

static void sleep_us(long us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/* RESET: the engine clears the bit when done; the channel then reads ARMED. */
static void reset_channel(struct ioat *io)
{
	int waited = 0;

	wr8(io, CHAN0 + CHANCMD, CHANCMD_RESET);
	while (rd8(io, CHAN0 + CHANCMD) & CHANCMD_RESET) {
		if (++waited > TIMEOUT_MS)
			fail("channel reset timed out");
		sleep_us(1000);
	}
	if ((rd64(io, CHAN0 + CHANSTS) & CHANSTS_STATE) != CHANSTS_ARMED)
		fail("channel not armed after reset");
}

/* One copy descriptor per XFERCAP bytes, chained; the last interrupts. */
static unsigned int build_chain(struct ioat *io, size_t bytes, unsigned int xfercap)
{
	struct ioat_desc *ring = (struct ioat_desc *)io->mem;
	size_t chunk = (size_t)1 << xfercap, off = 0;
	unsigned int n = 0, max = RING_BYTES / sizeof(*ring);

	for (; off < bytes; off += chunk, n++) {
		struct ioat_desc *d = &ring[n];
		size_t len = bytes - off < chunk ? bytes - off : chunk;

		if (n == max)
			fail("copy too large for the descriptor ring");
		memset(d, 0, sizeof(*d));
		d->size = (uint32_t)len;
		d->src = iova(io, io->mem + DATA_OFF + off);
		d->dst = iova(io, io->mem + DATA_OFF + bytes + off);
		d->next = iova(io, &ring[n + 1]);
	}
	ring[n - 1].ctl = DESC_INT_EN | DESC_COMPL_WRITE;
	return n;
}

static void start_copy(struct ioat *io, size_t bytes)
{
	unsigned int xfercap = rd8(io, IOAT_XFERCAP), n;

	wr8(io, IOAT_INTRCTRL, INTRCTRL_MASTER_INT_EN | INTRCTRL_MSIX_VECTORS);
	reset_channel(io);
	*(volatile uint64_t *)(io->mem + COMP_OFF) = 0;
	wr64(io, CHAN0 + CHANCMP, iova(io, io->mem + COMP_OFF));
	wr64(io, CHAN0 + CHAINADDR, iova(io, io->mem));
	wr16(io, CHAN0 + CHANCTRL, CHANCTRL_INT_REARM | CHANCTRL_ERR_INT_EN |
		 CHANCTRL_ERR_ABORT_EN | CHANCTRL_ERR_COMPL_EN);
	n = build_chain(io, bytes, xfercap ? xfercap : 20);
	/* Descriptors before the doorbell: the store below hands them over. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	wr16(io, CHAN0 + DMACOUNT, (uint16_t)n);
	printf("ioat-copy: %u descriptor%s of up to %u bytes handed to channel 0\n", n,
	       n == 1 ? "" : "s", 1u << (xfercap ? xfercap : 20));
}

/* ---- 6: wait for the interrupt, check ------------------------------------------ */

static void wait_done(struct ioat *io, size_t bytes)
{
	struct pollfd pfd = { .fd = io->irq, .events = POLLIN };
	volatile uint64_t *comp = (volatile uint64_t *)(io->mem + COMP_OFF);
	uint64_t count, status;

	if (poll(&pfd, 1, TIMEOUT_MS) != 1)
		fail("no interrupt");
	if (read(io->irq, &count, sizeof(count)) != sizeof(count))
		die("read eventfd");
	status = *comp;
	if ((status & CHANSTS_STATE) == CHANSTS_HALTED) {
		fprintf(stderr, "ioat-copy: channel halted, CHANERR %#x\n",
			rd32(io, CHAN0 + CHANERR));
		exit(1);
	}
	if ((status & CHANSTS_STATE) != CHANSTS_DONE)
		fail("write-back does not read DONE");
	if (memcmp(io->mem + DATA_OFF, io->mem + DATA_OFF + bytes, bytes))
		fail("destination differs from source");
	printf("ioat-copy: interrupt received, write-back %#" PRIx64 ", %zu bytes verified\n",
	       status, bytes);
}

int main(int argc, char **argv)
{
	const char *bdf = argc > 1 ? argv[1] : "0000:00:07.0";
	size_t bytes = argc > 2 ? strtoull(argv[2], NULL, 0) : DEFAULT_BYTES;
	struct ioat io = { .container = -1 };

	if (!bytes)
		fail("nothing to copy");
	open_container(&io, bdf);
	map_memory(&io, bytes);
	open_device(&io, bdf);
	printf("ioat-copy: %s: I/OAT v%x.%x, %u channel(s)\n", bdf, rd8(&io, IOAT_CBVER) >> 4,
	       rd8(&io, IOAT_CBVER) & 0xf, rd8(&io, IOAT_CHANCNT));
	route_interrupt(&io);
	for (size_t i = 0; i < bytes; i++)
		io.mem[DATA_OFF + i] = (uint8_t)(i * 7 + (i >> 12));
	start_copy(&io, bytes);
	wait_done(&io, bytes);
	munmap((void *)io.regs, 4096);
	close(io.irq);
	close(io.device);
	close(io.group);
	close(io.container);
	munmap(io.mem, io.mem_size);
	return 0;
}
