// SPDX-License-Identifier: MIT
/*
 * Device fds behave as the kernel's across processes and threads: a child
 * after fork uses the fds it inherited and is known as itself, exec keeps
 * fds without close-on-exec, threads issue ioctls at once without their
 * replies mixing, dup'd fds share the open file whose release comes with
 * the last close, and a client killed with -9 in the middle of its work
 * leaves nothing behind for the next one.
 */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/vfio.h>
#include "vt.h"

#define IOVA		0x40000000ull
#define PAGE		4096
#define MEMLOCK		(8u << 20)

#ifndef UVFIO_BIN
#define UVFIO_BIN "uvfio"
#endif

static char self_exe[PATH_MAX];

static int open_group(void)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/vfio/%d", VT_GROUP);
	return open(path, O_RDWR | O_CLOEXEC);
}

/* Exit status of a child, 255 if it did not exit. */
static int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 255;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

static void test_fork_child_is_itself(void)
{
	struct vt_dev d;
	uint8_t *priv = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *out = vt_memfd_buf(PAGE, NULL);
	pid_t pid;

	vt_require(priv != MAP_FAILED && out && !vt_open(&d, VT_BDF));
	memset(priv, 'P', PAGE);
	pid = fork();
	vt_require(pid >= 0);
	if (pid == 0) {
		/* The child's copy of the private page differs from the parent's:
		 * DMA from it shows whose memory the daemon reads. */
		memset(priv, 'C', PAGE);
		if (vt_map(d.container, priv, IOVA, PAGE) ||
		    vt_map(d.container, out, IOVA + PAGE, PAGE))
			_exit(2);
		if (vt_dma_copy(&d, IOVA, IOVA + PAGE, PAGE) != VT_STATUS_DONE)
			_exit(3);
		_exit(vt_case_failed() ? 4 : 0);
	}
	vt_expect_eq(wait_child(pid), 0);
	vt_expect_eq(out[0], 'C');
	vt_expect_eq(out[PAGE - 1], 'C');
	vt_expect_eq(priv[0], 'P');
	/* The parent's fds still work, its replies its own. */
	vt_expect_eq(vt_reg_read(&d, VT_REG_MAGIC), VT_MAGIC);
	vt_expect_ok(vt_unmap(d.container, IOVA, 2 * PAGE));
	vt_close(&d);
}

static void test_fork_parallel(void)
{
	struct vt_dev d;
	pid_t pids[3];

	vt_require(!vt_open(&d, VT_BDF));
	/* Parent and children hammer the same inherited fds at once. */
	for (int c = 0; c < 3; c++) {
		pids[c] = fork();
		vt_require(pids[c] >= 0);
		if (pids[c] == 0) {
			for (int i = 0; i < 300; i++) {
				struct vfio_region_info r = { .argsz = sizeof(r), .index = i % 3 };

				if (vt_reg_read(&d, VT_REG_MAGIC) != VT_MAGIC)
					_exit(2);
				if (ioctl(d.device, VFIO_DEVICE_GET_REGION_INFO, &r) ||
				    r.index != (uint32_t)(i % 3))
					_exit(3);
			}
			_exit(0);
		}
	}
	for (int i = 0; i < 300; i++)
		vt_expect_eq(vt_reg_read(&d, VT_REG_MAGIC), VT_MAGIC);
	for (int c = 0; c < 3; c++)
		vt_expect_eq(wait_child(pids[c]), 0);
	vt_close(&d);
}

/* Under exec: argv = self --exec-child <container fd> <device fd> */
static int exec_child(int container, int device)
{
	uint32_t magic = 0;
	struct vfio_device_info info = { .argsz = sizeof(info) };

	if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		return 2;
	if (ioctl(device, VFIO_DEVICE_GET_INFO, &info) || !(info.flags & VFIO_DEVICE_FLAGS_PCI))
		return 3;
	if (pread(device, &magic, 4, 0) != 4 || magic != VT_MAGIC)
		return 4;
	return 0;
}

static void test_exec_keeps_fds(void)
{
	struct vt_dev d;
	char cfd[16], dfd[16];
	pid_t pid;

	vt_require(!vt_open(&d, VT_BDF));
	/* Clear close-on-exec on the container and the device fd. */
	vt_require(!fcntl(d.container, F_SETFD, 0) && !fcntl(d.device, F_SETFD, 0));
	snprintf(cfd, sizeof(cfd), "%d", d.container);
	snprintf(dfd, sizeof(dfd), "%d", d.device);
	pid = fork();
	vt_require(pid >= 0);
	if (pid == 0) {
		execl(self_exe, self_exe, "--exec-child", cfd, dfd, (char *)NULL);
		_exit(127);
	}
	vt_expect_eq(wait_child(pid), 0);
	vt_expect_eq(vt_reg_read(&d, VT_REG_MAGIC), VT_MAGIC);
	vt_close(&d);
}

struct thread_arg {
	struct vt_dev *d;
	int index;
	int errors;
};

static void *thread_ioctls(void *p)
{
	struct thread_arg *a = p;
	static const uint64_t sizes[] = { VT_BAR0_SIZE, 0, VT_BAR2_SIZE };

	for (int i = 0; i < 400; i++) {
		unsigned int idx = (a->index + i) % 3;
		struct vfio_region_info r = { .argsz = sizeof(r), .index = idx };
		uint32_t scratch;

		if (ioctl(a->d->device, VFIO_DEVICE_GET_REGION_INFO, &r) || r.index != idx ||
		    r.size != sizes[idx])
			a->errors++;
		if (pread(a->d->device, &scratch, 4, a->d->bar0 + VT_REG_MAGIC) != 4 ||
		    scratch != VT_MAGIC)
			a->errors++;
	}
	return NULL;
}

static void test_threads(void)
{
	struct vt_dev d;
	pthread_t t[8];
	struct thread_arg args[8];

	vt_require(!vt_open(&d, VT_BDF));
	for (int i = 0; i < 8; i++) {
		args[i] = (struct thread_arg){ .d = &d, .index = i };
		vt_require(!pthread_create(&t[i], NULL, thread_ioctls, &args[i]));
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		vt_expect_eq(args[i].errors, 0);
	}
	vt_close(&d);
}

static void test_dup_and_close(void)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	int g = open_group(), g2, g3, g4;

	vt_require(g >= 0);
	g2 = dup(g);
	g3 = fcntl(g, F_DUPFD_CLOEXEC, 100);
	vt_require(g2 >= 0 && g3 >= 100);
	g4 = dup2(g, 200);
	vt_require(g4 == 200);
	vt_expect_ok(close(g));
	vt_expect_ok(close(g2));
	vt_expect_ok(close(g3));
	/* One fd left: the open file is alive and busy. */
	vt_expect_ok(ioctl(g4, VFIO_GROUP_GET_STATUS, &st));
	vt_expect_errno(open_group(), EBUSY);
	/* dup2 over the last one closes it: released at once. */
	vt_expect_eq(dup2(STDERR_FILENO, g4), g4);
	g = open_group();
	vt_expect(g >= 0);
	close(g);
	close(g4);
}

static void test_vfork_child(void)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	int g = open_group();
	pid_t pid;

	vt_require(g >= 0);
	/* A vfork child closes its copy of the fd (it shares our memory). */
	pid = vfork();
	if (pid == 0) {
		close(g);
		_exit(0);
	}
	vt_require(pid > 0);
	vt_expect_eq(wait_child(pid), 0);
	vt_expect_ok(ioctl(g, VFIO_GROUP_GET_STATUS, &st));
	vt_expect_errno(open_group(), EBUSY);
	vt_expect_ok(close(g));
}

static void test_device_holds_group(void)
{
	struct vt_dev d;
	int g;

	vt_require(!vt_open(&d, VT_BDF));
	/* The device fd keeps the group file, which keeps the group busy. */
	vt_expect_ok(close(d.group));
	d.group = -1;
	vt_expect_errno(open_group(), EBUSY);
	vt_expect_eq(vt_reg_read(&d, VT_REG_MAGIC), VT_MAGIC);
	vt_expect_ok(close(d.device));
	d.device = -1;
	g = open_group();
	vt_expect(g >= 0);
	close(g);
	vt_close(&d);
}

/* The release of a whole setup, every time, before close() returns. */
static void test_release_every_time(void)
{
	int busy = 0;

	for (int i = 0; i < 200; i++) {
		struct vt_dev d;
		int g;

		vt_require(!vt_open(&d, VT_BDF));
		vt_close(&d);
		g = open_group();
		if (g < 0)
			busy++;
		else
			close(g);
	}
	vt_expect_eq(busy, 0);
}

static void test_close_range(void)
{
	pid_t pid = fork();

	vt_require(pid >= 0);
	if (pid == 0) {
		struct vt_dev d;
		int g;

		if (vt_open(&d, VT_BDF))
			_exit(2);
		close_range(3, ~0u, 0);
		/* Everything is released before close_range returns. */
		g = open_group();
		if (g < 0)
			_exit(errno == EBUSY ? 3 : 5);
		_exit(close(g) ? 4 : 0);
	}
	vt_expect_eq(wait_child(pid), 0);
}

/* Lose CAP_IPC_LOCK and set RLIMIT_MEMLOCK: memlock now limits pinning. */
static int limit_memlock(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct c[2];
	struct rlimit rl = { MEMLOCK, MEMLOCK };

	if (syscall(SYS_capget, &h, c))
		return -1;
	c[CAP_IPC_LOCK / 32].effective &= ~(1u << (CAP_IPC_LOCK % 32));
	if (syscall(SYS_capset, &h, c))
		return -1;
	return setrlimit(RLIMIT_MEMLOCK, &rl);
}

/* The victim: owns the group, pins 3/4 of its memlock, then works on. */
static void victim(int ready)
{
	struct vt_dev d;
	uint8_t *buf = vt_memfd_buf(MEMLOCK, NULL);
	uint8_t *anon = mmap(NULL, MEMLOCK / 4, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int efd = eventfd(0, EFD_CLOEXEC);

	if (limit_memlock() || !buf || anon == MAP_FAILED || vt_open(&d, VT_BDF) ||
	    vt_msix(&d, VT_VEC_DONE, 1, &efd) ||
	    vt_map(d.container, buf, IOVA, MEMLOCK / 2) ||
	    vt_map(d.container, anon, IOVA + MEMLOCK, MEMLOCK / 4))
		_exit(2);
	if (write(ready, "x", 1) != 1)
		_exit(3);
	for (uint64_t i = 0;; i++) {
		vt_map(d.container, buf + MEMLOCK / 2, IOVA + 2 * MEMLOCK, PAGE);
		vt_dma_copy(&d, IOVA + MEMLOCK, IOVA, 4096);
		vt_unmap(d.container, IOVA + 2 * MEMLOCK, PAGE);
	}
}

/* The next owner: all of memlock can be pinned, and no more. */
static int successor(void)
{
	struct vt_dev d;
	uint8_t *buf = vt_memfd_buf(MEMLOCK + PAGE, NULL);

	if (limit_memlock() || !buf)
		return 2;
	if (vt_open(&d, VT_BDF))
		return errno == EBUSY ? 3 : 4;
	if (vt_map(d.container, buf, IOVA, MEMLOCK))
		return 5;
	if (!vt_map(d.container, buf + MEMLOCK, IOVA + MEMLOCK, PAGE) || errno != ENOMEM)
		return 6;
	if (vt_dma_copy(&d, IOVA, IOVA + PAGE, PAGE) != VT_STATUS_DONE)
		return 7;
	vt_close(&d);
	return 0;
}

/* "open files" and "mapped files" of `uvfio status`; -1 if not shown. */
static void daemon_counts(long *files, long *mapped)
{
	const char *bin = getenv("UVFIO_BIN") ? getenv("UVFIO_BIN") : UVFIO_BIN;
	char line[256];
	int p[2];
	FILE *f;
	pid_t pid;

	*files = *mapped = -1;
	if (pipe(p))
		return;
	pid = fork();
	if (pid == 0) {
		/* The CLI speaks the protocol itself: no shim for it. */
		unsetenv("LD_PRELOAD");
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		execl(bin, "uvfio", "status", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	f = fdopen(p[0], "r");
	while (f && fgets(line, sizeof(line), f)) {
		char *s = line + strspn(line, " ");

		if (!strncmp(s, "open files", 10))
			*files = strtol(s + 10, NULL, 10);
		else if (!strncmp(s, "mapped files", 12))
			*mapped = strtol(s + 12, NULL, 10);
	}
	if (f)
		fclose(f);
	if (pid > 0)
		wait_child(pid);
}

static void test_kill9(void)
{
	long files, mapped;

	int p[2];
	char c;
	pid_t pid;

	vt_require(!pipe(p));
	for (int round = 0; round < 3; round++) {
		pid = fork();
		vt_require(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			victim(p[1]);
		}
		vt_require(read(p[0], &c, 1) == 1);
		usleep(20000 + round * 15000);
		kill(pid, SIGKILL);
		vt_expect_eq(wait_child(pid), 255);
		pid = fork();
		vt_require(pid >= 0);
		if (pid == 0)
			_exit(successor());
		vt_expect_eq(wait_child(pid), 0);
	}
	/* The daemon holds no file and no DMA backing file any more. */
	daemon_counts(&files, &mapped);
	if (files < 0 || mapped < 0)
		printf("# uvfio status shows no file counts; not checked\n");
	else {
		vt_expect_eq(files, 0);
		vt_expect_eq(mapped, 0);
	}
}

int main(int argc, char **argv)
{
	static const struct vt_case cases[] = {
		{ "fork: the child uses inherited fds and is known as itself",
		  test_fork_child_is_itself, 0 },
		{ "fork: parent and children use the same fds at once", test_fork_parallel, 0 },
		{ "exec: fds without close-on-exec work in the new image", test_exec_keeps_fds, 0 },
		{ "threads issue ioctls and preads concurrently", test_threads, 0 },
		{ "dup'd fds share the file; release at the last close", test_dup_and_close, 0 },
		{ "a device fd keeps its group busy until closed", test_device_holds_group, 0 },
		{ "a vfork child closing an fd leaves the parent's alone", test_vfork_child, 0 },
		{ "close_range releases channels synchronously", test_close_range, 0 },
		{ "200 times: open, device, close all, the group opens again",
		  test_release_every_time, 0 },
		{ "kill -9 mid-operation: the next client owns the group and memlock",
		  test_kill9, 120 },
	};
	ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);

	if (n > 0)
		self_exe[n] = '\0';
	if (argc == 4 && !strcmp(argv[1], "--exec-child"))
		return exec_child(atoi(argv[2]), atoi(argv[3]));
	return vt_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
