// SPDX-License-Identifier: MIT
/*
 * iommufd through uvfiod, as a program sees it: this bench re-executes
 * itself under `uvfio run` on a host with the iommufd_test option and
 * issues plain ioctl(2)s on /dev/iommu.  Each figure is printed next to a
 * floor measured in the same run, in alternating blocks:
 *
 *  - IOAS_MAP + IOAS_UNMAP of one 4 KiB page of a memfd (IOVA allocated by
 *    the IOAS), pairs per second, on an IOAS without a domain (nothing is
 *    pinned: lazy) and on one with a mock domain attached (every map pins
 *    and fills the domain).  Floor: two bare AF_UNIX SOCK_SEQPACKET round
 *    trips of 64 bytes between two processes, the least any transport of
 *    two requests costs.
 *  - IOMMU_HWPT_GET_DIRTY_BITMAP over 1 GiB of IOVA (4 KiB granule) of a
 *    dirty-tracking mock domain with a quarter of the pages dirty: GB of
 *    IOVA scanned per second.  Floor: one pass over an array holding a
 *    dirty byte per page that tests, clears and sets the bitmap bit, in this
 *    process -- the scan any dirty tracker must do, at memory speed.
 *
 * Both sides run on CPU 0 (performance.md: only pinned figures are stable).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "core/iommufd/iommufd_test.h"

#define TEST_CMD	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 0x20)
#define BLOCKS		10
#define PAIRS		2000	/* map+unmap pairs per block */
#define DIRTY_LEN	(1ULL << 30)
#define DIRTY_PGSIZE	4096ULL
#define DIRTY_REPS	4	/* bitmap reads per block */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_iommufd: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void pin_cpu0(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* ---- floor: a SEQPACKET echo in another process -------------------------------------- */

static pid_t echo_start(int *sock)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
		die("socketpair");
	pid = fork();
	if (pid == 0) {
		char buf[64];
		ssize_t n;

		close(sv[0]);
		while ((n = recv(sv[1], buf, sizeof(buf), 0)) > 0)
			send(sv[1], buf, (size_t)n, 0);
		_exit(0);
	}
	close(sv[1]);
	*sock = sv[0];
	return pid;
}

/* ns per pair of round trips */
static double floor_block(int sock)
{
	char buf[64] = { 0 };
	double t0 = now_ns();

	for (unsigned int i = 0; i < 2 * PAIRS; i++) {
		if (send(sock, buf, sizeof(buf), 0) != sizeof(buf) ||
		    recv(sock, buf, sizeof(buf), 0) != sizeof(buf))
			die("echo");
	}
	return (now_ns() - t0) / PAIRS;
}

/* ---- iommufd ----------------------------------------------------------------------- */

static uint32_t ioas_alloc(int fd)
{
	struct iommu_ioas_alloc a = { .size = sizeof(a) };

	if (ioctl(fd, IOMMU_IOAS_ALLOC, &a))
		die("IOMMU_IOAS_ALLOC");
	return a.out_ioas_id;
}

/* A mock device on ioas; its hwpt id. */
static uint32_t mock_domain(int fd, uint32_t ioas)
{
	struct iommu_test_cmd c = { .size = sizeof(c), .op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = ioas };

	if (ioctl(fd, TEST_CMD, &c))
		die("IOMMU_TEST_OP_MOCK_DOMAIN");
	return c.mock_domain.out_hwpt_id;
}

/* ns per IOAS_MAP + IOAS_UNMAP pair */
static double map_block(int fd, uint32_t ioas, void *page)
{
	struct iommu_ioas_map m = {
		.size = sizeof(m), .ioas_id = ioas, .user_va = (uintptr_t)page,
		.length = 4096, .flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
	};
	struct iommu_ioas_unmap u = { .size = sizeof(u), .ioas_id = ioas, .length = 4096 };
	double t0 = now_ns();

	for (unsigned int i = 0; i < PAIRS; i++) {
		if (ioctl(fd, IOMMU_IOAS_MAP, &m))
			die("IOMMU_IOAS_MAP");
		u.iova = m.iova;
		if (ioctl(fd, IOMMU_IOAS_UNMAP, &u))
			die("IOMMU_IOAS_UNMAP");
	}
	return (now_ns() - t0) / PAIRS;
}

static void *memfd_buf(size_t size)
{
	int mfd = memfd_create("bench-iommufd", MFD_CLOEXEC);
	void *p;

	if (mfd < 0 || ftruncate(mfd, (off_t)size))
		die("memfd");
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	close(mfd);
	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

static void bench_map(int fd)
{
	double floor[BLOCKS], bare[BLOCKS], dom[BLOCKS];
	uint32_t ioas_bare = ioas_alloc(fd), ioas_dom = ioas_alloc(fd);
	void *page = memfd_buf(4096);
	int sock;
	pid_t echo = echo_start(&sock);

	mock_domain(fd, ioas_dom);
	map_block(fd, ioas_bare, page);		/* warm up */
	map_block(fd, ioas_dom, page);
	for (unsigned int b = 0; b < BLOCKS; b++) {
		floor[b] = floor_block(sock);
		bare[b] = map_block(fd, ioas_bare, page);
		dom[b] = map_block(fd, ioas_dom, page);
	}
	close(sock);
	waitpid(echo, NULL, 0);
	double f = median(floor, BLOCKS), nb = median(bare, BLOCKS), nd = median(dom, BLOCKS);

	printf("IOAS_MAP+UNMAP 4 KiB, no domain:   %8.2f us/pair  %9.0f pairs/s  %.2fx floor\n",
	       nb / 1e3, 1e9 / nb, nb / f);
	printf("IOAS_MAP+UNMAP 4 KiB, mock domain: %8.2f us/pair  %9.0f pairs/s  %.2fx floor\n",
	       nd / 1e3, 1e9 / nd, nd / f);
	printf("  floor: 2 SEQPACKET round trips   %8.2f us/pair  %9.0f pairs/s\n",
	       f / 1e3, 1e9 / f);
	munmap(page, 4096);
}

/* The floor of a dirty read: test-and-clear a byte per page, set its bit. */
static double dirty_floor_block(uint8_t *dirty, uint64_t *bitmap, uint64_t npages)
{
	double t0 = now_ns();

	for (unsigned int r = 0; r < DIRTY_REPS; r++) {
		for (uint64_t i = 0; i < npages; i++) {
			if (dirty[i]) {
				bitmap[i / 64] |= 1ULL << (i % 64);
				dirty[i] = (uint8_t)(i % 4 == 0);	/* re-dirty as the mock does */
			}
		}
	}
	return (now_ns() - t0) / DIRTY_REPS;
}

static void dirty_set(int fd, uint32_t hwpt, uint64_t iova, uint64_t *bits, uint64_t npages)
{
	struct iommu_test_cmd c = {
		.size = sizeof(c), .op = IOMMU_TEST_OP_DIRTY, .id = hwpt,
		.dirty = { .iova = iova, .length = npages * DIRTY_PGSIZE,
			   .page_size = DIRTY_PGSIZE, .uptr = (uintptr_t)bits },
	};

	for (uint64_t i = 0; i < npages; i += 4)
		bits[i / 64] |= 1ULL << (i % 64);
	if (ioctl(fd, TEST_CMD, &c))
		die("IOMMU_TEST_OP_DIRTY");
}

static double dirty_block(int fd, uint32_t hwpt, uint64_t iova, uint64_t *bitmap,
			  uint64_t *bits, uint64_t npages)
{
	struct iommu_hwpt_get_dirty_bitmap g = {
		.size = sizeof(g), .hwpt_id = hwpt, .iova = iova, .length = DIRTY_LEN,
		.page_size = DIRTY_PGSIZE, .data = (uintptr_t)bitmap,
	};
	double t = 0;

	for (unsigned int r = 0; r < DIRTY_REPS; r++) {
		double t0;

		dirty_set(fd, hwpt, iova, bits, npages);	/* untimed: the device's part */
		t0 = now_ns();
		if (ioctl(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &g))
			die("IOMMU_HWPT_GET_DIRTY_BITMAP");
		t += now_ns() - t0;
	}
	return t / DIRTY_REPS;
}

static void bench_dirty(int fd)
{
	uint64_t npages = DIRTY_LEN / DIRTY_PGSIZE;
	size_t bmsize = npages / 8;
	uint64_t *bitmap = calloc(1, bmsize), *bits = calloc(1, bmsize);
	uint8_t *dirty = malloc(npages);
	uint32_t ioas = ioas_alloc(fd), hwpt, dev;
	struct iommu_test_cmd md = { .size = sizeof(md), .op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = ioas };
	struct iommu_hwpt_alloc ha = { .size = sizeof(ha), .flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING };
	struct iommu_hwpt_set_dirty_tracking st = {
		.size = sizeof(st), .flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE,
	};
	struct iommu_ioas_map m = {
		.size = sizeof(m), .ioas_id = ioas, .length = DIRTY_LEN,
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE |
			 IOMMU_IOAS_MAP_FIXED_IOVA,
		.iova = MOCK_APERTURE_START,
	};
	double ours[BLOCKS], floor[BLOCKS];
	void *buf = memfd_buf(DIRTY_LEN);

	if (!bitmap || !bits || !dirty)
		die("calloc");
	if (ioctl(fd, TEST_CMD, &md))
		die("IOMMU_TEST_OP_MOCK_DOMAIN");
	dev = md.mock_domain.out_idev_id;
	ha.dev_id = dev;
	ha.pt_id = ioas;
	if (ioctl(fd, IOMMU_HWPT_ALLOC, &ha))
		die("IOMMU_HWPT_ALLOC(DIRTY_TRACKING)");
	hwpt = ha.out_hwpt_id;
	struct iommu_test_cmd rep = {
		.size = sizeof(rep), .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
		.id = md.mock_domain.out_stdev_id, .mock_domain_replace = { .pt_id = hwpt },
	};
	if (ioctl(fd, TEST_CMD, &rep))
		die("IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE");
	m.user_va = (uintptr_t)buf;
	if (ioctl(fd, IOMMU_IOAS_MAP, &m))
		die("IOMMU_IOAS_MAP 1 GiB");
	st.hwpt_id = hwpt;
	if (ioctl(fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &st))
		die("IOMMU_HWPT_SET_DIRTY_TRACKING");
	for (uint64_t i = 0; i < npages; i++)
		dirty[i] = (uint8_t)(i % 4 == 0);
	for (unsigned int b = 0; b < BLOCKS; b++) {
		floor[b] = dirty_floor_block(dirty, bitmap, npages);
		ours[b] = dirty_block(fd, hwpt, MOCK_APERTURE_START, bitmap, bits, npages);
	}
	double o = median(ours, BLOCKS), f = median(floor, BLOCKS);
	double gb = (double)DIRTY_LEN / 1e9;

	printf("GET_DIRTY_BITMAP 1 GiB @4 KiB, 1/4 dirty: %7.2f ms  %7.1f GB IOVA/s  %.2fx floor\n",
	       o / 1e6, gb / (o / 1e9), o / f);
	printf("  floor: byte-per-page scan            %7.2f ms  %7.1f GB IOVA/s\n",
	       f / 1e6, gb / (f / 1e9));
	munmap(buf, DIRTY_LEN);
	free(bitmap);
	free(bits);
	free(dirty);
}

int main(int argc, char **argv)
{
	int fd;

	pin_cpu0();	/* inherited by uvfio run and its daemon */
	if (argc < 2 || strcmp(argv[1], "--inner")) {
		execl(UVFIO_BIN, UVFIO_BIN, "run", "--config", IOMMUFD_HOST, "--", argv[0], "--inner",
		      (char *)NULL);
		die("exec uvfio run");
	}
	fd = open("/dev/iommu", O_RDWR);
	if (fd < 0)
		die("open /dev/iommu");
	bench_map(fd);
	bench_dirty(fd);
	close(fd);
	return 0;
}
