// SPDX-License-Identifier: MIT
/*
 * The shim's integration-test support: TAP, one process per case, running
 * under `uvfio run`, and the VFIO steps every case repeats.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <linux/vfio.h>
#include "vt.h"

#ifndef UVFIO_BIN
#define UVFIO_BIN "uvfio"
#endif

#define PCI_COMMAND		0x04
#define PCI_COMMAND_MEMORY	0x2
#define PCI_COMMAND_MASTER	0x4

static bool case_failed;

void vt_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	case_failed = true;
	printf("# %s:%d: ", strrchr(file, '/') ? strrchr(file, '/') + 1 : file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

bool vt_case_failed(void)
{
	return case_failed;
}

void vt_abort_case(void)
{
	fflush(stdout);
	_exit(1);
}

/* Append opt to $ASAN_OPTIONS (a sanitizer build runs the shim first in
 * LD_PRELOAD, before its own runtime). */
static void add_asan_option(const char *opt)
{
	const char *old = getenv("ASAN_OPTIONS");
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s%s%s", old ? old : "", old && *old ? ":" : "", opt);
	setenv("ASAN_OPTIONS", buf, 1);
}

static int reexec_under_uvfio(int argc, char **argv)
{
	const char *bin = getenv("UVFIO_BIN") ? getenv("UVFIO_BIN") : UVFIO_BIN;
	const char *config = getenv("VT_UVFIO_CONFIG");
	char self[PATH_MAX], **args = calloc(argc + 6, sizeof(char *));
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int a = 0;

	if (!args || n <= 0) {
		free(args);
		return 1;
	}
	self[n] = '\0';
	setenv("VT_UNDER_UVFIO", "1", 1);
	unsetenv("UVFIO_RUNTIME");		/* a private host of our own */
#ifdef __SANITIZE_ADDRESS__
	add_asan_option("verify_asan_link_order=0");
#else
	(void)add_asan_option;
#endif
	args[a++] = "uvfio";
	args[a++] = "run";
	/* A test that needs another machine than the default names its own. */
	if (config) {
		args[a++] = "--config";
		args[a++] = (char *)config;
	}
	args[a++] = "--";
	args[a++] = self;
	for (int i = 1; i < argc; i++)
		args[a++] = argv[i];
	fflush(stdout);
	execv(bin, args);
	printf("1..1\nnot ok 1 - exec %s run: %s\n", bin, strerror(errno));
	free(args);
	return 1;
}

static bool run_case(const struct vt_case *c, unsigned int i)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		printf("not ok %u - %s # fork: %s\n", i, c->name, strerror(errno));
		return false;
	}
	if (pid == 0) {
		signal(SIGALRM, SIG_DFL);
		alarm(c->timeout ? c->timeout : 60);
		c->fn();
		fflush(stdout);
		_exit(case_failed ? 1 : 0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		printf("ok %u - %s\n", i, c->name);
		return true;
	}
	if (WIFSIGNALED(status))
		printf("# %s: killed by signal %d%s\n", c->name, WTERMSIG(status),
		       WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
	printf("not ok %u - %s\n", i, c->name);
	return false;
}

int vt_main(int argc, char **argv, const struct vt_case *cases, unsigned int n)
{
	unsigned int failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!getenv("VT_UNDER_UVFIO"))
		return reexec_under_uvfio(argc, argv);
	printf("1..%u\n", n);
	for (unsigned int i = 0; i < n; i++)
		if (!run_case(&cases[i], i + 1))
			failed++;
	return failed ? 1 : 0;
}

#define VT_HOST_PREFIX "/tmp/uvfio-vt-host-"

int vt_main_host(int argc, char **argv, const struct vt_case *cases, unsigned int n,
		 const char *host_json)
{
	char config[] = VT_HOST_PREFIX "XXXXXX";
	const char *given = getenv("VT_UVFIO_CONFIG");

	if (!getenv("VT_UNDER_UVFIO")) {
		ssize_t len = (ssize_t)strlen(host_json);
		int fd = mkstemp(config);

		if (fd < 0 || write(fd, host_json, (size_t)len) != len) {
			printf("1..1\nnot ok 1 - config %s: %s\n", config, strerror(errno));
			return 1;
		}
		close(fd);
		setenv("VT_UVFIO_CONFIG", config, 1);
	} else if (given && !strncmp(given, VT_HOST_PREFIX, strlen(VT_HOST_PREFIX))) {
		unlink(given);	/* the host has read it by now */
	}
	return vt_main(argc, argv, cases, n);
}

int vt_write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n < 0)
		n = -errno;
	close(fd);
	return (int)n;
}

bool vt_dir_has(const char *dir, const char *name)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool found = false;

	while (d && (e = readdir(d)))
		found |= !strcmp(e->d_name, name);
	if (d)
		closedir(d);
	return found;
}

int vt_read_str(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -errno : read(fd, buf, size - 1);

	if (n < 0 && fd >= 0)
		n = -errno;
	if (fd >= 0)
		close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return (int)n;
}

/* ---- VFIO ------------------------------------------------------------------ */

int vt_group_of(const char *bdf)
{
	char path[128], link[256];
	ssize_t n;
	char *slash;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -1;
	link[n] = '\0';
	slash = strrchr(link, '/');
	return atoi(slash ? slash + 1 : link);
}

static int region_offset(int device, unsigned int index, uint64_t *off)
{
	struct vfio_region_info r = { .argsz = sizeof(r), .index = index };

	if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &r))
		return -1;
	*off = r.offset;
	return 0;
}

int vt_open(struct vt_dev *d, const char *bdf)
{
	char path[64];
	uint16_t cmd;
	int type = VFIO_TYPE1v2_IOMMU;

	memset(d, 0, sizeof(*d));
	d->container = d->group = d->device = -1;
	d->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (d->container < 0)
		return -1;
	snprintf(path, sizeof(path), "/dev/vfio/%d", vt_group_of(bdf));
	d->group = open(path, O_RDWR | O_CLOEXEC);
	if (d->group < 0 || ioctl(d->group, VFIO_GROUP_SET_CONTAINER, &d->container) ||
	    ioctl(d->container, VFIO_SET_IOMMU, type))
		return -1;
	d->device = ioctl(d->group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (d->device < 0 ||
	    region_offset(d->device, VFIO_PCI_BAR0_REGION_INDEX, &d->bar0) ||
	    region_offset(d->device, VFIO_PCI_BAR2_REGION_INDEX, &d->bar2) ||
	    region_offset(d->device, VFIO_PCI_CONFIG_REGION_INDEX, &d->config))
		return -1;
	if (pread(d->device, &cmd, 2, d->config + PCI_COMMAND) != 2)
		return -1;
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	if (pwrite(d->device, &cmd, 2, d->config + PCI_COMMAND) != 2)
		return -1;
	return 0;
}

void vt_close(struct vt_dev *d)
{
	if (d->device >= 0)
		close(d->device);
	if (d->group >= 0)
		close(d->group);
	if (d->container >= 0)
		close(d->container);
	d->container = d->group = d->device = -1;
}

int vt_map(int container, const void *va, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)va, .iova = iova, .size = size,
	};

	return ioctl(container, VFIO_IOMMU_MAP_DMA, &map);
}

int vt_unmap(int container, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .iova = iova, .size = size,
	};

	return ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap);
}

uint32_t vt_reg_read(const struct vt_dev *d, uint32_t reg)
{
	uint32_t v = ~0u;

	if (pread(d->device, &v, 4, d->bar0 + reg) != 4)
		vt_fail(__FILE__, __LINE__, "BAR0 read of 0x%x: %s", reg, strerror(errno));
	return v;
}

void vt_reg_write(const struct vt_dev *d, uint32_t reg, uint32_t v)
{
	if (pwrite(d->device, &v, 4, d->bar0 + reg) != 4)
		vt_fail(__FILE__, __LINE__, "BAR0 write of 0x%x: %s", reg, strerror(errno));
}

void vt_reg_write64(const struct vt_dev *d, uint32_t reg, uint64_t v)
{
	vt_reg_write(d, reg, (uint32_t)v);
	vt_reg_write(d, reg + 4, (uint32_t)(v >> 32));
}

int vt_msix(const struct vt_dev *d, unsigned int start, unsigned int n, const int *fds)
{
	size_t size = sizeof(struct vfio_irq_set) + n * sizeof(int32_t);
	struct vfio_irq_set *set = calloc(1, size);
	int ret;

	if (!set)
		return -1;
	set->argsz = size;
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = VFIO_PCI_MSIX_IRQ_INDEX;
	set->start = start;
	set->count = n;
	for (unsigned int i = 0; i < n; i++) {
		int32_t fd = fds[i];

		memcpy(set->data + i * sizeof(fd), &fd, sizeof(fd));
	}
	ret = ioctl(d->device, VFIO_DEVICE_SET_IRQS, set);
	free(set);
	return ret;
}

uint64_t vt_wait_event(int efd, int timeout_ms)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	uint64_t v = 0;

	if (poll(&p, 1, timeout_ms) != 1 || read(efd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

uint32_t vt_dma_copy(const struct vt_dev *d, uint64_t src, uint64_t dst, uint32_t len)
{
	struct timespec pause = { 0, 200 * 1000 };

	vt_reg_write64(d, VT_REG_DMA_SRC, src);
	vt_reg_write64(d, VT_REG_DMA_DST, dst);
	vt_reg_write(d, VT_REG_DMA_LEN, len);
	vt_reg_write(d, VT_REG_DOORBELL, 1);
	for (int i = 0; i < 25000; i++) {
		uint32_t st = vt_reg_read(d, VT_REG_STATUS);

		if (!(st & VT_STATUS_BUSY))
			return st;
		nanosleep(&pause, NULL);
	}
	return ~0u;
}

void *vt_memfd_buf(size_t size, int *fd)
{
	int m = memfd_create("vt", MFD_CLOEXEC);
	void *p;

	if (m < 0 || ftruncate(m, (off_t)size)) {
		if (m >= 0)
			close(m);
		return NULL;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
	if (fd && p != MAP_FAILED)
		*fd = m;
	else
		close(m);
	return p == MAP_FAILED ? NULL : p;
}

long vt_map_count(pid_t pid)
{
	char path[64], buf[65536];
	long lines = 0;
	ssize_t n;
	int fd;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/maps");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	close(fd);
	return lines;
}

pid_t vt_daemon_pid(void)
{
	const char *rt = getenv("UVFIO_RUNTIME");
	char path[PATH_MAX], buf[32] = "";
	ssize_t n;
	int fd;

	if (!rt)
		return -1;
	snprintf(path, sizeof(path), "%s/uvfiod.pid", rt);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? (pid_t)atoi(buf) : -1;
}

/*
 * In a sanitizer build the shim carries the ASan runtime, which has to be
 * loaded before libc in a program built without it: this test's own copy
 * (found in its maps) goes into the program's LD_PRELOAD, and that program's
 * own leaks at exit are not ours to report.  Call it in the child, before exec.
 */
void vt_sanitizer_env(void)
{
#ifdef __SANITIZE_ADDRESS__
	char line[PATH_MAX + 128], pre[2 * PATH_MAX + 2], opts[1024];
	const char *old = getenv("LD_PRELOAD"), *aopt = getenv("ASAN_OPTIONS");
	FILE *f = fopen("/proc/self/maps", "re");

	while (f && fgets(line, sizeof(line), f)) {
		char *path = strchr(line, '/');

		if (!path || !strstr(path, "/libasan.so"))
			continue;
		path[strcspn(path, "\n")] = '\0';
		snprintf(pre, sizeof(pre), "%s%s%s", old ? old : "", old ? ":" : "", path);
		setenv("LD_PRELOAD", pre, 1);
		break;
	}
	if (f)
		fclose(f);
	snprintf(opts, sizeof(opts), "%s%sdetect_leaks=0:verify_asan_link_order=0",
		 aopt ? aopt : "", aopt ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
#endif
}

int vt_run_logged(char *const argv[], int fd, unsigned int timeout_s)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		vt_sanitizer_env();
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0)
		return -1;
	for (unsigned int i = 0; i < timeout_s * 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		usleep(100000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	printf("# %s did not finish in %u s\n", argv[0], timeout_s);
	return -1;
}
