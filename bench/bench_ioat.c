// SPDX-License-Identifier: MIT
/*
 * Benchmark of the I/OAT model (src/models/ioat.c), driven in-process as
 * DPDK drives the real engine: BAR0 mapped, descriptors in a ring of
 * shared (memfd) DMA memory mapped through a type1 container, every
 * descriptor with a completion write-back, DMACOUNT doorbells, polling.
 *
 * Figures, each next to its floor measured in the same run:
 *  - copy throughput at 4 KiB, 64 KiB and 1 MiB through the IOMMU, next
 *    to memcpy() of the same buffers (ratio; target >= 0.7 at 64 KiB and
 *    above);
 *  - doorbell-to-completion latency of a 64-byte copy (p50/p99), with
 *    the channel busy-polling and after it has gone idle, next to the
 *    round trip of a store and its echo between two threads, the floor
 *    of any device a thread emulates.
 * A DMA copy needs two threads on CPUs (driver and device), memcpy one:
 * on a loaded machine run it as `chrt -f 1 bench_ioat` to see the model
 * rather than the scheduler.  The load average is printed first.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <linux/vfio.h>
#include <linux/pci_regs.h>
#include "core/base/compiler.h"
#include "core/host/host.h"
#include "core/host/proc.h"
#include "core/host/topology.h"
#include "models/ioat_regs.h"

#define BDF		"0000:00:07.0"
#define RING		64u
#define BATCH		32u
#define MAX_COPY	(1u << 20)
#define MEM_SIZE	(4u << 20)
#define IOVA_BASE	0x100000000ULL
#define RING_OFF	0
#define COMP_OFF	0x1000
#define SRC_OFF		(1u << 20)
#define DST_OFF		(2u << 20)
#define MIN_NS		300000000.0	/* each throughput figure runs >= 0.3 s */
#define LAT_ROUNDS	20000
#define COLD_ROUNDS	100
#define IDLE_US		20000	/* longer than a channel polls after work */

static const char topo_json[] =
	"{ \"pci\": [ { \"bdf\": \"" BDF "\", \"model\": \"ioat\", \"iommu_group\": 7,"
	"  \"params\": { \"channels\": 1, \"xfercap\": 20 } } ] }";

struct bench {
	struct uvf_host *h;
	struct uvf_proc *p;
	int cfd, gfd, dfd;
	uint8_t *regs, *chan;
	uint8_t *mem;
	struct ioat_hw_desc *ring;
	volatile uint64_t *comp;
	uint16_t count;		/* descriptors handed over (DMACOUNT) */
	unsigned int done;	/* descriptors completed */
};

static void die(const char *what, long err)
{
	fprintf(stderr, "bench_ioat: %s failed (%ld)\n", what, err);
	exit(1);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t iova_of(struct bench *b, const void *p)
{
	return IOVA_BASE + (uint64_t)((const uint8_t *)p - b->mem);
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* ---- bring-up: container, device, BAR0, DMA memory, channel 0 ------------------ */

static void open_device(struct bench *b)
{
	long r;

	b->cfd = proc_open(b->p, "/dev/vfio/vfio", O_RDWR);
	b->gfd = proc_open(b->p, "/dev/vfio/7", O_RDWR);
	if (b->cfd < 0 || b->gfd < 0)
		die("open", b->cfd < 0 ? b->cfd : b->gfd);
	r = proc_ioctl(b->p, b->gfd, VFIO_GROUP_SET_CONTAINER, &b->cfd);
	if (!r)
		r = proc_ioctl_val(b->p, b->cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
	if (r)
		die("container", r);
	b->dfd = (int)proc_ioctl(b->p, b->gfd, VFIO_GROUP_GET_DEVICE_FD, BDF);
	if (b->dfd < 0)
		die("GET_DEVICE_FD", b->dfd);
}

static uint64_t region_offset(struct bench *b, unsigned int index)
{
	struct vfio_region_info info = { .argsz = sizeof(info), .index = index };
	long r = proc_ioctl(b->p, b->dfd, VFIO_DEVICE_GET_REGION_INFO, &info);

	if (r)
		die("GET_REGION_INFO", r);
	return info.offset;
}

static void map_bar_and_memory(struct bench *b)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.iova = IOVA_BASE,
		.size = MEM_SIZE,
	};
	uint64_t cfg = region_offset(b, VFIO_PCI_CONFIG_REGION_INDEX);
	uint16_t cmd = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	int err = 0, memfd;
	long r;

	b->regs = proc_mmap(b->p, b->dfd, 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
			    region_offset(b, VFIO_PCI_BAR0_REGION_INDEX), &err);
	if (b->regs == MAP_FAILED)
		die("mmap BAR0", err);
	b->chan = b->regs + IOAT_CHAN_BASE(0);
	memfd = memfd_create("bench-ioat", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, MEM_SIZE))
		die("memfd", -errno);
	b->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	close(memfd);
	if (b->mem == MAP_FAILED)
		die("mmap memory", -errno);
	memset(b->mem, 0x5a, MEM_SIZE);
	map.vaddr = (uint64_t)(uintptr_t)b->mem;
	r = proc_ioctl(b->p, b->cfd, VFIO_IOMMU_MAP_DMA, &map);
	if (r)
		die("MAP_DMA", r);
	if (proc_pwrite(b->p, b->dfd, &cmd, 2, cfg + PCI_COMMAND) != 2)
		die("COMMAND", 0);
	b->ring = (struct ioat_hw_desc *)(void *)(b->mem + RING_OFF);
	b->comp = (volatile uint64_t *)(void *)(b->mem + COMP_OFF);
}

static uint8_t rd8(const uint8_t *r, unsigned int off)
{
	return __atomic_load_n(r + off, __ATOMIC_ACQUIRE);
}

static void wr8(uint8_t *r, unsigned int off, uint8_t v)
{
	__atomic_store_n(r + off, v, __ATOMIC_RELEASE);
}

static void wr16(uint8_t *r, unsigned int off, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)(r + off), v, __ATOMIC_RELEASE);
}

static void wr64(uint8_t *r, unsigned int off, uint64_t v)
{
	__atomic_store_n((uint64_t *)(void *)(r + off), v, __ATOMIC_RELEASE);
}

/* RESET, then the ring, the write-back and error behaviour, as DPDK starts. */
static void start_channel(struct bench *b)
{
	wr8(b->chan, IOAT_CHANCMD, IOAT_CHANCMD_RESET);
	while (rd8(b->chan, IOAT_CHANCMD) & IOAT_CHANCMD_RESET)
		usleep(10);
	for (unsigned int i = 0; i < RING; i++)
		b->ring[i].next = iova_of(b, &b->ring[(i + 1) % RING]);
	wr64(b->chan, IOAT_CHAINADDR, iova_of(b, &b->ring[0]));
	wr64(b->chan, IOAT_CHANCMP, iova_of(b, (const void *)b->comp));
	wr16(b->chan, IOAT_CHANCTRL, IOAT_CHANCTRL_ANY_ERR_ABORT_EN |
				     IOAT_CHANCTRL_ERR_COMPLETION_EN);
	*b->comp = iova_of(b, &b->ring[RING - 1]);
	b->count = 0;
	b->done = 0;
}

/* ---- the driver's fast path -------------------------------------------------------- */

static void enqueue_copy(struct bench *b, uint64_t src, uint64_t dst, uint32_t len)
{
	struct ioat_hw_desc *d = &b->ring[b->count % RING];

	d->size = len;
	d->ctl = IOAT_DESC_COMPL_WRITE;
	d->src = src;
	d->dst = dst;
	b->count++;
}

static void submit(struct bench *b)
{
	wr16(b->chan, IOAT_DMACOUNT, b->count);
}

/* Completed descriptors from the write-back (the last completed slot). */
static unsigned int completed(struct bench *b)
{
	uint64_t sts = *b->comp;
	unsigned int slot;

	if ((sts & IOAT_CHANSTS_STATUS) == IOAT_CHANSTS_HALTED)
		die("channel halted", (long)sts);
	slot = (unsigned int)(((sts & IOAT_CHANSTS_ADDR) - iova_of(b, b->ring)) / IOAT_DESC_SIZE);
	b->done += (slot + 1 - b->done) & (RING - 1);
	return b->done;
}

/* ---- copy throughput ---------------------------------------------------------------- */

static double memcpy_gbs(uint8_t *dst, const uint8_t *src, size_t len)
{
	double t0 = now_ns(), t;
	uint64_t bytes = 0;

	do {
		for (int i = 0; i < 64; i++) {
			memcpy(dst, src, len);
			__asm__ __volatile__("" : : "r"(dst) : "memory");
			bytes += len;
		}
		t = now_ns() - t0;
	} while (t < MIN_NS);
	return (double)bytes / t;
}

/* Keep the ring full of copies of the same buffers; bytes per ns. */
static double dma_gbs(struct bench *b, uint32_t len)
{
	uint64_t src = iova_of(b, b->mem + SRC_OFF), dst = iova_of(b, b->mem + DST_OFF);
	double t0 = now_ns(), t;
	uint64_t bytes = 0;

	start_channel(b);
	do {
		unsigned int before = b->done;

		while ((uint16_t)(b->count - b->done) <= RING - 1 - BATCH) {
			for (unsigned int i = 0; i < BATCH; i++)
				enqueue_copy(b, src, dst, len);
			submit(b);
		}
		while (completed(b) == before)
			cpu_relax();
		bytes += (uint64_t)(b->done - before) * len;
		t = now_ns() - t0;
	} while (t < MIN_NS);
	while ((uint16_t)completed(b) != b->count)
		cpu_relax();
	return (double)bytes / t;
}

static void bench_copy(struct bench *b)
{
	static const uint32_t sizes[] = { 4096, 65536, MAX_COPY };

	printf("copy throughput, ring of %u descriptors, write-back on each\n", RING);
	printf("  %-8s %14s %14s %8s\n", "size", "ioat GB/s", "memcpy GB/s", "ratio");
	for (unsigned int i = 0; i < ARRAY_SIZE(sizes); i++) {
		double dma = dma_gbs(b, sizes[i]);
		double mem = memcpy_gbs(b->mem + DST_OFF, b->mem + SRC_OFF, sizes[i]);

		if (memcmp(b->mem + DST_OFF, b->mem + SRC_OFF, sizes[i]))
			die("copy check", 0);
		printf("  %-8u %14.2f %14.2f %8.2f\n", sizes[i], dma, mem, dma / mem);
	}
}

/* ---- latency ------------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double percentile(double *v, unsigned int n, double pct)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[(unsigned int)(pct * (n - 1))];
}

/* One 64-byte copy: doorbell to its write-back, in ns. */
static double one_copy_ns(struct bench *b)
{
	uint64_t want;
	double t0;

	enqueue_copy(b, iova_of(b, b->mem + SRC_OFF), iova_of(b, b->mem + DST_OFF), 64);
	want = iova_of(b, &b->ring[(uint16_t)(b->count - 1) % RING]) | IOAT_CHANSTS_DONE;
	t0 = now_ns();
	submit(b);
	while (*b->comp != want)
		cpu_relax();
	return now_ns() - t0;
}

/* The floor: a store seen by a polling thread and answered with a store. */
static volatile uint64_t ping, pong;
static volatile int echo_stop;

static void *echo_thread(void *arg)
{
	uint64_t seen = 0;

	while (!echo_stop) {
		uint64_t v = ping;

		if (v != seen) {
			seen = v;
			pong = v;
		} else {
			cpu_relax();
		}
	}
	return NULL;
}

static void echo_latency(double *v, unsigned int n)
{
	pthread_t t;

	echo_stop = 0;
	if (pthread_create(&t, NULL, echo_thread, NULL))
		die("pthread_create", 0);
	for (unsigned int i = 0; i < n; i++) {
		double t0 = now_ns();

		ping = i + 1;
		while (pong != i + 1)
			cpu_relax();
		v[i] = now_ns() - t0;
	}
	echo_stop = 1;
	pthread_join(t, NULL);
}

static void bench_latency(struct bench *b)
{
	double *v = malloc(LAT_ROUNDS * sizeof(*v));
	double echo50, echo99;

	if (!v)
		die("malloc", 0);
	echo_latency(v, LAT_ROUNDS);
	echo50 = percentile(v, LAT_ROUNDS, 0.5);
	echo99 = percentile(v, LAT_ROUNDS, 0.99);
	start_channel(b);
	for (unsigned int i = 0; i < LAT_ROUNDS; i++)
		v[i] = one_copy_ns(b);
	printf("doorbell-to-completion latency, 64-byte copy (ns)\n");
	printf("  %-28s %10s %10s\n", "", "p50", "p99");
	printf("  %-28s %10.0f %10.0f\n", "thread store echo (floor)", echo50, echo99);
	printf("  %-28s %10.0f %10.0f\n", "ioat, channel polling",
	       percentile(v, LAT_ROUNDS, 0.5), percentile(v, LAT_ROUNDS, 0.99));
	for (unsigned int i = 0; i < COLD_ROUNDS; i++) {
		usleep(IDLE_US);
		v[i] = one_copy_ns(b);
	}
	printf("  %-28s %10.0f %10.0f\n", "ioat, channel idle 20 ms",
	       percentile(v, COLD_ROUNDS, 0.5), percentile(v, COLD_ROUNDS, 0.99));
	free(v);
}

static void print_load(void)
{
	char line[128] = "?";
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
	}
	printf("load average: %s", line);
}

int main(void)
{
	struct uvf_topology *t = NULL;
	struct bench b = { 0 };
	char err[512] = "";

	if (topology_load_string(topo_json, "<bench>", &t, err, sizeof(err)))
		die(err, 0);
	b.h = host_new();
	if (!b.h || host_load_topology(b.h, t, err, sizeof(err)))
		die(err, 0);
	topology_free(t);
	b.p = proc_new_root(b.h);
	open_device(&b);
	map_bar_and_memory(&b);
	print_load();
	bench_copy(&b);
	bench_latency(&b);
	munmap(b.regs, 4096);
	proc_free(b.p);
	host_free(b.h);
	munmap(b.mem, MEM_SIZE);
	return 0;
}
