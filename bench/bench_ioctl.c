// SPDX-License-Identifier: MIT
/*
 * The cost of one ioctl through uvfiod: VFIO_DEVICE_GET_INFO on a device
 * channel, round trip, next to the floor measured in the same run - a bare
 * AF_UNIX SOCK_SEQPACKET round trip of 64 bytes each way between two
 * processes.  Both sides of both measurements run on CPU 0
 * (sched_setaffinity, inherited by the daemon and the echo process), as
 * these machines only give stable figures that way (performance.md).
 *
 * Figures:
 *  - floor: the SEQPACKET echo, blocking recv/send on both sides;
 *  - protocol: the request as the shim sends it (uvp_ioctl), straight from
 *    this process; target: within 1.2x the floor;
 *  - shim: ioctl(2) on a real fd of a program under LD_PRELOAD (a child
 *    of this bench re-executed with --shim), when the shim is built;
 *  - core: the same ioctl on an in-process host (proc_ioctl, the argument
 *    staged as the daemon stages it), i.e. the work any transport must add
 *    to its floor; what remains above floor + core is the transport's own
 *    overhead (both sides' framing, credentials, the daemon's dispatch).
 * The samples of floor and protocol are taken in alternating blocks so a
 * drift of the machine affects both alike; p50 and p99 are reported.
 *
 * MMIO: a page of the device's mmap-able BAR2 mapped through the daemon
 * (UVP_MMAP, as the shim does for mmap(2)), 32-bit stores and loads in a
 * loop, next to the same loop on a page of a local memfd mapping: a mapped
 * BAR is plain shared memory, so the ratio should be ~1.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <linux/vfio.h>
#include "client/uvp_client.h"
#include "core/host/host.h"
#include "core/host/proc.h"
#include "core/host/topology.h"

#define BLOCKS		10
#define PER_BLOCK	2000
#define WARMUP		2000
#define NSAMPLES	(BLOCKS * PER_BLOCK)
#define MSG_SIZE	64

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_ioctl: %s failed: %s\n", what, strerror(errno));
	exit(1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double *v, unsigned int n, double p)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[(unsigned int)(p * (n - 1))];
}

static void pin_cpu0(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
}

/* ---- the floor: a SEQPACKET echo ------------------------------------------- */

static pid_t echo_start(int *sock)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		die("socketpair");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		char buf[MSG_SIZE];
		ssize_t n;

		close(sv[0]);
		while ((n = recv(sv[1], buf, sizeof(buf), 0)) > 0)
			if (send(sv[1], buf, (size_t)n, MSG_NOSIGNAL) != n)
				break;
		_exit(0);
	}
	close(sv[1]);
	*sock = sv[0];
	return pid;
}

static void floor_block(int sock, double *out, unsigned int n)
{
	char buf[MSG_SIZE] = { 1 };

	for (unsigned int i = 0; i < n; i++) {
		double t0 = now_ns();

		if (send(sock, buf, sizeof(buf), 0) != sizeof(buf) ||
		    recv(sock, buf, sizeof(buf), 0) != sizeof(buf))
			die("echo");
		if (out)
			out[i] = now_ns() - t0;
	}
}

/* ---- the daemon ----------------------------------------------------------- */

struct host {
	char rt[64];
	pid_t pid;
	int ctl, container, group, device;
};

static void host_start(struct host *h)
{
	char fdarg[16], msg[256];
	int pfd[2];
	ssize_t n;

	snprintf(h->rt, sizeof(h->rt), "/tmp/uvfio-bench-XXXXXX");
	if (!mkdtemp(h->rt) || pipe2(pfd, O_CLOEXEC))
		die("runtime dir");
	h->pid = fork();
	if (h->pid == 0) {
		fcntl(pfd[1], F_SETFD, 0);
		snprintf(fdarg, sizeof(fdarg), "%d", pfd[1]);
		execl(UVFIO_BIN, "uvfio", "daemon", "--foreground", "--no-sysfs", "--runtime",
		      h->rt, "--ready-fd", fdarg, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	n = read(pfd[0], msg, sizeof(msg) - 1);
	close(pfd[0]);
	if (n < 2 || strncmp(msg, "ok", 2)) {
		errno = EIO;
		die("starting uvfiod");
	}
}

static void host_stop(struct host *h)
{
	char p[128];

	kill(h->pid, SIGTERM);
	waitpid(h->pid, NULL, 0);
	snprintf(p, sizeof(p), "%s/etc/mdevctl.d", h->rt);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/etc", h->rt);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/sys", h->rt);
	rmdir(p);
	rmdir(h->rt);
}

/* The first viable group and its first device, from UVP_GROUPS. */
static void host_pick_device(struct host *h, unsigned int *gid, char *dev, size_t size)
{
	char text[4096];
	int viable;

	if (uvp_admin(h->ctl, UVP_GROUPS, text, sizeof(text)) <= 0)
		die("UVP_GROUPS");
	for (const char *l = text; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "") {
		const char *d = strstr(l, "devices=");

		if (sscanf(l, "group %u viable=%d", gid, &viable) == 2 && viable && d) {
			d += strlen("devices=");
			snprintf(dev, size, "%.*s", (int)strcspn(d, ",\n"), d);
			return;
		}
	}
	errno = ENODEV;
	die("finding a viable group");
}

static void host_open_device(struct host *h)
{
	char path[64], dev[64];
	unsigned int gid;
	int32_t cfd;

	h->ctl = uvp_connect(h->rt);
	if (h->ctl < 0 || uvp_hello(h->ctl, NULL, 0, NULL) != h->pid)
		die("HELLO");
	host_pick_device(h, &gid, dev, sizeof(dev));
	snprintf(path, sizeof(path), "/dev/vfio/%u", gid);
	h->container = uvp_open(h->ctl, "/dev/vfio/vfio", O_RDWR);
	h->group = uvp_open(h->ctl, path, O_RDWR);
	cfd = h->container;
	if (h->container < 0 || h->group < 0 ||
	    uvp_ioctl(h->group, VFIO_GROUP_SET_CONTAINER, (uintptr_t)&cfd, &cfd, sizeof(cfd),
		      &h->container, 1, NULL, 0, NULL) ||
	    uvp_ioctl(h->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU, NULL, 0, NULL, 0, NULL,
		      0, NULL))
		die("group setup");
	h->device = (int)uvp_ioctl(h->group, VFIO_GROUP_GET_DEVICE_FD, (uintptr_t)dev, dev,
				   (uint32_t)strlen(dev) + 1, NULL, 0, NULL, 0, NULL);
	if (h->device < 0)
		die("GET_DEVICE_FD");
}

static void protocol_block(struct host *h, double *out, unsigned int n)
{
	struct vfio_device_info info;

	for (unsigned int i = 0; i < n; i++) {
		double t0 = now_ns();

		info = (struct vfio_device_info){ .argsz = sizeof(info) };
		if (uvp_ioctl(h->device, VFIO_DEVICE_GET_INFO, (uintptr_t)&info, &info,
			      sizeof(info), NULL, 0, NULL, 0, NULL))
			die("DEVICE_GET_INFO");
		if (out)
			out[i] = now_ns() - t0;
	}
}

/* ---- through the shim: ioctl(2) in a program under LD_PRELOAD ---------------- */

/* Run in the re-executed child: plain VFIO calls, p50 printed on stdout. */
static int shim_child(const char *group, const char *dev)
{
	static double t[NSAMPLES];
	struct vfio_device_info info;
	int c = open("/dev/vfio/vfio", O_RDWR), g = open(group, O_RDWR), d;

	if (c < 0 || g < 0 || ioctl(g, VFIO_GROUP_SET_CONTAINER, &c) ||
	    ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		return 1;
	d = ioctl(g, VFIO_GROUP_GET_DEVICE_FD, dev);
	if (d < 0)
		return 1;
	for (unsigned int i = 0; i < WARMUP + NSAMPLES; i++) {
		double t0 = now_ns();

		info = (struct vfio_device_info){ .argsz = sizeof(info) };
		if (ioctl(d, VFIO_DEVICE_GET_INFO, &info))
			return 1;
		if (i >= WARMUP)
			t[i - WARMUP] = now_ns() - t0;
	}
	printf("%.0f %.0f\n", pct(t, NSAMPLES, 0.5), pct(t, NSAMPLES, 0.99));
	return 0;
}

/* p50/p99 of the shim's round trip, or false when there is no shim. */
static bool shim_measure(struct host *h, const char *self, double *p50, double *p99)
{
	char cmd[1024], group[64], dev[64], line[128];
	unsigned int gid;
	FILE *p;
	bool ok;

	if (access(UVFIO_PRELOAD_PATH, R_OK))
		return false;
	host_pick_device(h, &gid, dev, sizeof(dev));
	/* the measuring process wants the group: let it have it */
	close(h->device);
	close(h->group);
	close(h->container);
	snprintf(group, sizeof(group), "/dev/vfio/%u", gid);
	snprintf(cmd, sizeof(cmd), "UVFIO_RUNTIME=%s LD_PRELOAD=%s %s --shim %s %s", h->rt,
		 UVFIO_PRELOAD_PATH, self, group, dev);
	p = popen(cmd, "r");
	if (!p)
		return false;
	ok = fgets(line, sizeof(line), p) && sscanf(line, "%lf %lf", p50, p99) == 2;
	pclose(p);
	return ok;
}

/* ---- the core alone ------------------------------------------------------------ */

static double core_p50(double *t)
{
	struct uvf_topology *topo;
	struct uvf_host *host = host_new();
	struct uvf_proc *p;
	struct vfio_device_info info;
	struct uvf_stage stage;
	char err[256], path[64], dev[64] = "";
	int32_t c, g, d = -1;

	if (!host || topology_load_default(&topo, err, sizeof(err)) ||
	    host_load_topology(host, topo, err, sizeof(err)))
		die("in-process host");
	topology_free(topo);
	p = proc_new_root(host);
	c = proc_open(p, "/dev/vfio/vfio", O_RDWR);
	/* the default host's first group, as the daemon's */
	for (unsigned int gid = 0; gid < 64 && d < 0; gid++) {
		snprintf(path, sizeof(path), "/dev/vfio/%u", gid);
		g = proc_open(p, path, O_RDWR);
		if (g < 0)
			continue;
		snprintf(dev, sizeof(dev), "0000:00:%02x.0", gid);
		if (proc_ioctl(p, g, VFIO_GROUP_SET_CONTAINER, &c) ||
		    proc_ioctl_val(p, c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
			die("in-process group setup");
		d = (int32_t)proc_ioctl(p, g, VFIO_GROUP_GET_DEVICE_FD, dev);
	}
	if (d < 0)
		die("in-process GET_DEVICE_FD");
	/* the argument staged as the daemon stages it: no memory syscalls */
	stage = (struct uvf_stage){ .uaddr = (uintptr_t)&info, .len = sizeof(info),
				    .buf = (uint8_t *)&info };
	p->caller.stage = &stage;
	for (unsigned int i = 0; i < WARMUP + NSAMPLES; i++) {
		double t0 = now_ns();

		info = (struct vfio_device_info){ .argsz = sizeof(info) };
		if (proc_ioctl(p, d, VFIO_DEVICE_GET_INFO, &info))
			die("in-process DEVICE_GET_INFO");
		if (i >= WARMUP)
			t[i - WARMUP] = now_ns() - t0;
	}
	p->caller.stage = NULL;
	proc_free(p);
	host_free(host);
	return pct(t, NSAMPLES, 0.5);
}

/* ---- MMIO through a mapped BAR ------------------------------------------- */

#define MMIO_ACCESSES	(4u << 20)

/* BAR2 page 1 of the test device (page 0 holds the trapped MSI-X table). */
static volatile uint32_t *bar_map_page(struct host *h)
{
	struct uvp_mmap mm = { .pos = ((uint64_t)VFIO_PCI_BAR2_REGION_INDEX << 40) + 4096,
			       .len = 4096, .prot = PROT_READ | PROT_WRITE,
			       .flags = MAP_SHARED };
	struct uvp_mmap_reply rep;
	struct iovec body = { &mm, sizeof(mm) };
	int fd = -1;
	struct uvp_call c = { .op = UVP_MMAP, .body = &body, .nbody = 1, .rbody = &rep,
			      .rmax = sizeof(rep), .rfds = &fd, .rmaxfds = 1 };
	void *p;

	if (uvp_call(h->device, &c) < 0 || c.rnfds != 1 || c.rlen != sizeof(rep))
		die("UVP_MMAP of BAR2");
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)rep.file_off);
	close(fd);
	if (p == MAP_FAILED)
		die("mmap of the BAR");
	return p;
}

/* ns per 32-bit access: a store and a load of each word of the page. */
static double mmio_loop(volatile uint32_t *page)
{
	double t0 = now_ns();
	uint32_t sum = 0;

	for (unsigned int i = 0; i < MMIO_ACCESSES / 2; i++) {
		page[i & 1023] = i;
		sum += page[(i * 7) & 1023];
	}
	if (sum == 0xdeadbeef)
		printf(" ");	/* keeps the loads */
	return (now_ns() - t0) / MMIO_ACCESSES;
}

static void mmio_measure(struct host *h, double *bar_ns, double *mem_ns)
{
	volatile uint32_t *bar = bar_map_page(h);
	int mfd = memfd_create("bench-floor", MFD_CLOEXEC);
	volatile uint32_t *mem;
	double b = 1e9, m = 1e9;

	if (mfd < 0 || ftruncate(mfd, 4096))
		die("memfd");
	mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	close(mfd);
	if (mem == MAP_FAILED)
		die("mmap of the memfd");
	/* best of 5 alternating rounds: both see the same machine */
	for (int r = 0; r < 5; r++) {
		double tb = mmio_loop(bar), tm = mmio_loop(mem);

		b = tb < b ? tb : b;
		m = tm < m ? tm : m;
	}
	munmap((void *)bar, 4096);
	munmap((void *)mem, 4096);
	*bar_ns = b;
	*mem_ns = m;
}

int main(int argc, char **argv)
{
	static double floor_t[NSAMPLES], proto_t[NSAMPLES], core_t[NSAMPLES];
	struct host h;
	double f50, f99, p50, p99, s50 = 0, s99 = 0, c50, mmio_bar, mmio_mem;
	pid_t echo;
	bool shim;
	int sock;

	if (argc == 4 && !strcmp(argv[1], "--shim"))
		return shim_child(argv[2], argv[3]);
	signal(SIGPIPE, SIG_IGN);
	pin_cpu0();
	echo = echo_start(&sock);
	host_start(&h);
	host_open_device(&h);
	floor_block(sock, NULL, WARMUP);
	protocol_block(&h, NULL, WARMUP);
	for (unsigned int b = 0; b < BLOCKS; b++) {
		floor_block(sock, floor_t + b * PER_BLOCK, PER_BLOCK);
		protocol_block(&h, proto_t + b * PER_BLOCK, PER_BLOCK);
	}
	f50 = pct(floor_t, NSAMPLES, 0.5);
	f99 = pct(floor_t, NSAMPLES, 0.99);
	p50 = pct(proto_t, NSAMPLES, 0.5);
	p99 = pct(proto_t, NSAMPLES, 0.99);
	mmio_measure(&h, &mmio_bar, &mmio_mem);
	shim = shim_measure(&h, argv[0], &s50, &s99);
	close(h.ctl);
	host_stop(&h);
	close(sock);
	waitpid(echo, NULL, 0);
	c50 = core_p50(core_t);

	printf("ioctl round trip, VFIO_DEVICE_GET_INFO, both sides on CPU 0, %u samples (p50 / p99, us)\n",
	       NSAMPLES);
	printf("  floor: SEQPACKET 64 B echo    %7.2f / %7.2f\n", f50 / 1e3, f99 / 1e3);
	printf("  uvfiod, protocol client       %7.2f / %7.2f   %.2fx floor (target <= 1.20x)\n",
	       p50 / 1e3, p99 / 1e3, p50 / f50);
	if (shim)
		printf("  uvfiod, ioctl(2) via the shim %7.2f / %7.2f   %.2fx floor\n", s50 / 1e3,
		       s99 / 1e3, s50 / f50);
	else
		printf("  uvfiod, ioctl(2) via the shim   (no shim built at %s)\n",
		       UVFIO_PRELOAD_PATH);
	printf("  core alone, in-process        %7.2f\n", c50 / 1e3);
	printf("  transport overhead above floor + core: %.2f us (%.0f%% of the floor)\n",
	       (p50 - f50 - c50) / 1e3, 100.0 * (p50 - f50 - c50) / f50);
	printf("MMIO through a mapped BAR (32-bit store+load, best of 5, ns per access)\n");
	printf("  floor: local memfd page       %7.3f\n", mmio_mem);
	printf("  BAR2 page mapped via uvfiod   %7.3f   %.2fx floor\n", mmio_bar,
	       mmio_bar / mmio_mem);
	return 0;
}
