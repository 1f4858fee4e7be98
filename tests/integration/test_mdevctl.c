// SPDX-License-Identifier: MIT
/*
 * mdevctl 1.2.0, unmodified, against the default host's sample mdev parent
 * (msample: types msample-1 and msample-2 sharing 8 channels, a 'label'
 * attribute per device): types, define, modify --addattr, start, list,
 * stop, undefine, configs in the host's /etc/mdevctl.d, a failing attribute
 * write, no instances left.  Then what the transport must get right when
 * 'remove' blocks: the writer waits while a user holds the device, the user
 * gets the REQ interrupt, everybody else's sysfs keeps working, a killed
 * writer waits like a kernel writer in D state, and stopping the host
 * releases the holder so that nothing hangs.
 *
 * The vfio_ap matrix parent the same way: its type, a device defined with
 * assign_adapter/assign_domain/assign_control_domain attributes that start
 * writes into the matrix, and an assignment the driver refuses.
 *
 * Written as any program is: libc, <linux/vfio.h>, and the mdevctl binary.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/vfio.h>
#include "vt.h"

#define MDEVCTL		"/usr/bin/mdevctl"
#define PARENT_DIR	"/sys/devices/virtual/msample/msample"
#define TYPES		"/sys/class/mdev_bus/msample/mdev_supported_types"
#define UUID_A		"5bd7f1a2-0d6e-4e57-9a3b-1c2d3e4f5a01"
#define UUID_B		"5bd7f1a2-0d6e-4e57-9a3b-1c2d3e4f5a02"
#define UUID_C		"5bd7f1a2-0d6e-4e57-9a3b-1c2d3e4f5a03"
#define REQ_IRQ_INDEX	0

/* ---- helpers -------------------------------------------------------------- */

/* Run argv (NULL-terminated) with stdout+stderr into out; exit status, or
 * -1 if it did not exit normally. */
static int run(char *out, size_t size, char *const argv[])
{
	int pfd[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		vt_sanitizer_env();
		execv(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	while ((n = read(pfd[0], out + len, size - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define MDEVCTL_RUN(out, ...) run(out, sizeof(out), (char *const[]){ MDEVCTL, __VA_ARGS__, NULL })

static bool exists(const char *path)
{
	struct stat st;

	return !lstat(path, &st);
}

static bool file_has(const char *path, const char *what)
{
	char buf[4096];

	return vt_read_str(path, buf, sizeof(buf)) >= 0 && strstr(buf, what);
}

static unsigned int available(const char *type)
{
	char path[256], buf[32];

	snprintf(path, sizeof(path), TYPES "/%s/available_instances", type);
	return vt_read_str(path, buf, sizeof(buf)) >= 0 ? (unsigned int)atoi(buf) : ~0u;
}

static int sysfs_create(const char *type, const char *uuid)
{
	char path[256];

	snprintf(path, sizeof(path), TYPES "/%s/create", type);
	return vt_write_str(path, uuid);
}

static int sysfs_remove(const char *uuid)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/remove", uuid);
	return vt_write_str(path, "1\n");
}

/* Container, group, device and REQ eventfd of an mdev, as QEMU opens one. */
struct mdev_user {
	int container, group, device, req;
};

static int mdev_user_open(struct mdev_user *u, const char *uuid)
{
	char path[256], link[256];
	struct {
		struct vfio_irq_set hdr;
		int32_t fd;
	} set = { { .argsz = sizeof(set), .index = REQ_IRQ_INDEX, .count = 1,
		    .flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER }, -1 };
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/iommu_group", uuid);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -1;
	link[n] = '\0';
	snprintf(path, sizeof(path), "/dev/vfio/%s", strrchr(link, '/') + 1);
	u->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	u->group = open(path, O_RDWR | O_CLOEXEC);
	if (u->container < 0 || u->group < 0 ||
	    ioctl(u->group, VFIO_GROUP_SET_CONTAINER, &u->container) ||
	    ioctl(u->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		return -1;
	u->device = ioctl(u->group, VFIO_GROUP_GET_DEVICE_FD, uuid);
	u->req = eventfd(0, EFD_CLOEXEC);
	if (u->device < 0 || u->req < 0)
		return -1;
	set.fd = u->req;
	return ioctl(u->device, VFIO_DEVICE_SET_IRQS, &set);
}

static void mdev_user_close(struct mdev_user *u)
{
	close(u->device);
	close(u->group);
	close(u->container);
	close(u->req);
}

/*
 * A child holding the mdev open: it says 'r' once open, 'q' when the REQ
 * interrupt came, and closes when it reads anything from 'go'.
 */
static pid_t holder_start(const char *uuid, int report, int go)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	struct mdev_user u;
	struct pollfd p;
	char c;

	if (mdev_user_open(&u, uuid))
		_exit(2);
	if (write(report, "r", 1) != 1)
		_exit(3);
	p = (struct pollfd){ .fd = u.req, .events = POLLIN };
	if (poll(&p, 1, 20000) != 1)
		_exit(4);
	if (write(report, "q", 1) != 1)
		_exit(3);
	if (read(go, &c, 1) != 1)
		_exit(5);
	mdev_user_close(&u);
	_exit(0);
}

/* A child writing "1\n" to the mdev's remove; exits 0 if write() said 2. */
static pid_t remover_start(const char *uuid)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	_exit(sysfs_remove(uuid) == 2 ? 0 : 1);
}

static char read_byte(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c = 0;

	if (poll(&p, 1, timeout_ms) != 1 || read(fd, &c, 1) != 1)
		return 0;
	return c;
}

static bool still_running(pid_t pid)
{
	return waitpid(pid, NULL, WNOHANG) == 0;
}

static int wait_exit(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- mdevctl ---------------------------------------------------------------- */

/* As on a kernel with mdev loaded: the bus and class are there. */
static void test_sysfs(void)
{
	char buf[PATH_MAX];

	vt_expect(vt_dir_has("/sys/class/mdev_bus", "msample"));
	vt_expect(exists("/sys/bus/mdev/devices"));
	vt_expect(!vt_dir_has("/sys/bus/mdev/devices", UUID_A));
	vt_require(realpath("/sys/class/mdev_bus/msample", buf));
	vt_expect(!strcmp(buf, PARENT_DIR));
	vt_expect(file_has(TYPES "/msample-1/device_api", "vfio-msample\n"));
	vt_expect_eq(available("msample-1"), 8);
	vt_expect_eq(available("msample-2"), 4);
}

static void test_types(void)
{
	static const char want[] =
		"msample\n"
		"  msample-1\n"
		"    Available instances: 8\n"
		"    Device API: vfio-msample\n"
		"    Name: Sample copy engine, 1 channel\n"
		"    Description: channels=1\n"
		"  msample-2\n"
		"    Available instances: 4\n"
		"    Device API: vfio-msample\n"
		"    Name: Sample copy engine, 2 channels\n"
		"    Description: channels=2\n";
	char out[4096];

	/* Other parents of the host may come before or after ours. */
	vt_expect_eq(MDEVCTL_RUN(out, "types"), 0);
	if (!strstr(out, want) || (strstr(out, want) != out && strstr(out, want)[-1] != '\n'))
		vt_fail(__FILE__, __LINE__, "mdevctl types said:\n%s", out);
}

/* The whole life of a persistent device, and its config in the host's
 * /etc/mdevctl.d. */
static void test_define_start_stop_undefine(void)
{
	char out[4096], path[256];

	vt_expect_eq(MDEVCTL_RUN(out, "define", "-u", UUID_A, "-p", "msample", "-t", "msample-1"),
		     0);
	snprintf(path, sizeof(path), "/etc/mdevctl.d/msample/%s", UUID_A);
	vt_expect(file_has(path, "\"mdev_type\": \"msample-1\""));
	vt_expect(file_has(path, "\"start\": \"manual\""));
	vt_expect_eq(MDEVCTL_RUN(out, "list", "-d"), 0);
	vt_expect(strstr(out, UUID_A " msample msample-1 manual") != NULL);
	vt_expect_eq(MDEVCTL_RUN(out, "list"), 0);
	vt_expect(!strstr(out, UUID_A));

	vt_expect_eq(MDEVCTL_RUN(out, "start", "-u", UUID_A), 0);
	vt_expect(exists("/sys/bus/mdev/devices/" UUID_A));
	vt_expect(exists(PARENT_DIR "/" UUID_A "/iommu_group"));
	vt_expect(vt_dir_has(TYPES "/msample-1/devices", UUID_A));
	vt_expect_eq(available("msample-1"), 7);
	vt_expect_eq(MDEVCTL_RUN(out, "list"), 0);
	vt_expect(strstr(out, UUID_A " msample msample-1 manual (defined)") != NULL);
	/* Starting it again is refused; so is defining it twice. */
	vt_expect(MDEVCTL_RUN(out, "start", "-u", UUID_A) != 0);
	vt_expect(MDEVCTL_RUN(out, "define", "-u", UUID_A, "-p", "msample", "-t", "msample-1") != 0);

	vt_expect_eq(MDEVCTL_RUN(out, "stop", "-u", UUID_A), 0);
	vt_expect(!exists("/sys/bus/mdev/devices/" UUID_A));
	vt_expect(!exists(PARENT_DIR "/" UUID_A));
	vt_expect_eq(available("msample-1"), 8);
	vt_expect_eq(MDEVCTL_RUN(out, "undefine", "-u", UUID_A), 0);
	vt_expect(!exists(path));
	vt_expect_eq(MDEVCTL_RUN(out, "list", "-d"), 0);
	vt_expect(!strstr(out, UUID_A));
}

/* modify --addattr: written at start, in order; list --dumpjson shows it. */
static void test_attributes(void)
{
	char out[4096], buf[64];

	vt_expect_eq(MDEVCTL_RUN(out, "define", "-u", UUID_B, "-p", "msample", "-t", "msample-2"),
		     0);
	vt_expect_eq(MDEVCTL_RUN(out, "modify", "-u", UUID_B, "--addattr=label", "--value=first"),
		     0);
	vt_expect_eq(MDEVCTL_RUN(out, "modify", "-u", UUID_B, "--addattr=label", "--value=second"),
		     0);
	vt_expect(file_has("/etc/mdevctl.d/msample/" UUID_B, "\"label\": \"second\""));
	vt_expect_eq(MDEVCTL_RUN(out, "start", "-u", UUID_B), 0);
	vt_expect(vt_read_str(PARENT_DIR "/" UUID_B "/label", buf, sizeof(buf)) >= 0);
	vt_expect(!strcmp(buf, "second\n"));
	vt_expect_eq(MDEVCTL_RUN(out, "list", "--dumpjson", "-u", UUID_B), 0);
	vt_expect(strstr(out, "\"msample-2\"") && strstr(out, "\"second\""));
	vt_expect_eq(MDEVCTL_RUN(out, "stop", "-u", UUID_B), 0);
	vt_expect_eq(MDEVCTL_RUN(out, "undefine", "-u", UUID_B), 0);
}

/* A write the driver refuses: start fails with its errno and mdevctl
 * removes the half-started device. */
static void test_failing_attribute(void)
{
	static const char json[] =
		"{\"mdev_type\": \"msample-1\", \"start\": \"manual\", \"attrs\": "
		"[{\"label\": \"ok\"}, {\"label\": \"far too long to be a label, refused\"}]}\n";
	char out[4096], file[] = "/tmp/vt-mdevctl-XXXXXX";
	int fd = mkstemp(file);

	vt_require(fd >= 0);
	vt_require(write(fd, json, sizeof(json) - 1) == (ssize_t)sizeof(json) - 1);
	close(fd);
	vt_expect_eq(MDEVCTL_RUN(out, "define", "-u", UUID_C, "-p", "msample", "--jsonfile",
				 file), 0);
	unlink(file);
	vt_expect(MDEVCTL_RUN(out, "start", "-u", UUID_C) != 0);
	vt_expect(strstr(out, "Invalid argument") != NULL);
	vt_expect(!exists("/sys/bus/mdev/devices/" UUID_C));
	vt_expect_eq(available("msample-1"), 8);
	vt_expect_eq(MDEVCTL_RUN(out, "undefine", "-u", UUID_C), 0);
}

/* available_instances 0: mdevctl refuses before writing 'create'; the
 * kernel's create of a full sample says ENOSPC (its probe). */
static void test_no_instances(void)
{
	static const char *const uuids[] = {
		"5bd7f1a2-0d6e-4e57-9a3b-1c2d3e4f5a11", "5bd7f1a2-0d6e-4e57-9a3b-1c2d3e4f5a12",
		"5bd7f1a2-0d6e-4e57-9a3b-1c2d3e4f5a13", "5bd7f1a2-0d6e-4e57-9a3b-1c2d3e4f5a14",
	};
	char out[4096];

	for (int i = 0; i < 4; i++)
		vt_expect_eq(sysfs_create("msample-2", uuids[i]), 36);
	vt_expect_eq(available("msample-1"), 0);
	vt_expect(MDEVCTL_RUN(out, "start", "-u", UUID_A, "-p", "msample", "-t", "msample-1") != 0);
	vt_expect(strstr(out, "No available instances") != NULL);
	vt_expect_eq(sysfs_create("msample-1", UUID_A), -ENOSPC);
	vt_expect_eq(MDEVCTL_RUN(out, "list"), 0);
	for (int i = 0; i < 4; i++)
		vt_expect(strstr(out, uuids[i]) != NULL);
	for (int i = 0; i < 4; i++)
		vt_expect_eq(MDEVCTL_RUN(out, "stop", "-u", (char *)uuids[i]), 0);
	vt_expect_eq(available("msample-1"), 8);
}

/* ---- the vfio_ap matrix parent ------------------------------------------------------ */

#define MATRIX_DIR	"/sys/devices/vfio_ap/matrix"
#define UUID_M		"5bd7f1a2-0d6e-4e57-9a3b-1c2d3e4f5b01"
#define UUID_N		"5bd7f1a2-0d6e-4e57-9a3b-1c2d3e4f5b02"

static void test_matrix_types(void)
{
	static const char want[] =
		"matrix\n"
		"  vfio_ap-passthrough\n"
		"    Available instances: 65536\n"
		"    Device API: vfio-ap\n"
		"    Name: VFIO AP Passthrough Device\n";
	char out[4096];

	vt_expect(vt_dir_has("/sys/class/mdev_bus", "matrix"));
	vt_expect_eq(MDEVCTL_RUN(out, "types"), 0);
	if (!strstr(out, want) || (strstr(out, want) != out && strstr(out, want)[-1] != '\n'))
		vt_fail(__FILE__, __LINE__, "mdevctl types said:\n%s", out);
}

/*
 * A vfio-ap device as an s390 administrator defines one: the attributes
 * are written in order at start and become the matrix (the default host
 * gives adapters 4-5 and domains 7-8 of every adapter to vfio_ap); the
 * config lives in the host's /etc/mdevctl.d, which is <runtime>/etc/mdevctl.d.
 */
static void test_matrix_lifecycle(void)
{
	char out[4096], path[PATH_MAX], buf[256];
	const char *rt = getenv("UVFIO_RUNTIME");

	vt_require(rt);
	vt_expect_eq(MDEVCTL_RUN(out, "define", "--uuid", UUID_M, "--parent", "matrix", "--type",
				 "vfio_ap-passthrough"), 0);
	vt_expect_eq(MDEVCTL_RUN(out, "modify", "-u", UUID_M, "--addattr=assign_adapter",
				 "--value=4"), 0);
	vt_expect_eq(MDEVCTL_RUN(out, "modify", "-u", UUID_M, "--addattr=assign_adapter",
				 "--value=0x5"), 0);
	vt_expect_eq(MDEVCTL_RUN(out, "modify", "-u", UUID_M, "--addattr=assign_domain",
				 "--value=7"), 0);
	vt_expect_eq(MDEVCTL_RUN(out, "modify", "-u", UUID_M, "--addattr=assign_domain",
				 "--value=8"), 0);
	vt_expect_eq(MDEVCTL_RUN(out, "modify", "-u", UUID_M, "--addattr=assign_control_domain",
				 "--value=11"), 0);
	snprintf(path, sizeof(path), "/etc/mdevctl.d/matrix/%s", UUID_M);
	vt_expect(file_has(path, "\"mdev_type\": \"vfio_ap-passthrough\""));
	vt_expect(file_has(path, "\"assign_adapter\": \"0x5\""));
	vt_expect(file_has(path, "\"assign_control_domain\": \"11\""));
	/* the same file in the host's runtime dir */
	snprintf(path, sizeof(path), "%s/etc/mdevctl.d/matrix/%s", rt, UUID_M);
	vt_expect(file_has(path, "\"assign_domain\": \"8\""));
	vt_expect_eq(MDEVCTL_RUN(out, "list", "--defined"), 0);
	vt_expect(strstr(out, UUID_M " matrix vfio_ap-passthrough manual") != NULL);
	vt_expect(!exists(MATRIX_DIR "/" UUID_M));

	vt_expect_eq(MDEVCTL_RUN(out, "start", "-u", UUID_M), 0);
	vt_expect(exists("/sys/bus/mdev/devices/" UUID_M));
	vt_expect(vt_read_str(MATRIX_DIR "/" UUID_M "/matrix", buf, sizeof(buf)) >= 0);
	vt_expect(!strcmp(buf, "04.0007\n04.0008\n05.0007\n05.0008\n"));
	vt_expect(vt_read_str(MATRIX_DIR "/" UUID_M "/guest_matrix", buf, sizeof(buf)) >= 0);
	vt_expect(!strcmp(buf, "04.0007\n04.0008\n05.0007\n05.0008\n"));
	vt_expect(vt_read_str(MATRIX_DIR "/" UUID_M "/control_domains", buf, sizeof(buf)) >= 0);
	vt_expect(!strcmp(buf, "000b\n"));
	vt_expect(vt_read_str("/sys/devices/ap/card05/05.0008/status", buf, sizeof(buf)) >= 0);
	vt_expect(!strcmp(buf, "assigned\n"));
	vt_expect_eq(MDEVCTL_RUN(out, "list"), 0);
	vt_expect(strstr(out, UUID_M " matrix vfio_ap-passthrough manual (defined)") != NULL);
	vt_expect_eq(MDEVCTL_RUN(out, "list", "--dumpjson", "-u", UUID_M), 0);
	vt_expect(strstr(out, "\"assign_adapter\": \"4\"") &&
		  strstr(out, "\"mdev_type\": \"vfio_ap-passthrough\""));
	/* the running matrix belongs to it: another mdev cannot take 04.0007 */
	vt_expect_eq(vt_write_str(MATRIX_DIR "/mdev_supported_types/vfio_ap-passthrough/create",
			       UUID_N), 36);
	vt_expect_eq(vt_write_str(MATRIX_DIR "/" UUID_N "/assign_domain", "7"), 1);
	vt_expect_eq(vt_write_str(MATRIX_DIR "/" UUID_N "/assign_adapter", "4"), -EADDRINUSE);
	vt_expect_eq(MDEVCTL_RUN(out, "stop", "-u", UUID_N), 0);

	vt_expect_eq(MDEVCTL_RUN(out, "stop", "-u", UUID_M), 0);
	vt_expect(!exists(MATRIX_DIR "/" UUID_M));
	vt_expect(vt_read_str("/sys/devices/ap/card05/05.0008/status", buf, sizeof(buf)) >= 0);
	vt_expect(!strcmp(buf, "unassigned\n"));
	/* defined still, and it starts again the same */
	vt_expect_eq(MDEVCTL_RUN(out, "start", "-u", UUID_M), 0);
	vt_expect(vt_read_str(MATRIX_DIR "/" UUID_M "/matrix", buf, sizeof(buf)) >= 0);
	vt_expect(!strcmp(buf, "04.0007\n04.0008\n05.0007\n05.0008\n"));
	vt_expect_eq(MDEVCTL_RUN(out, "stop", "-u", UUID_M), 0);
	vt_expect_eq(MDEVCTL_RUN(out, "undefine", "-u", UUID_M), 0);
	vt_expect(!exists(path));
	vt_expect_eq(MDEVCTL_RUN(out, "list", "--defined"), 0);
	vt_expect(!strstr(out, UUID_M));
}

/* An assignment vfio_ap refuses (00.0004 is the host's zcrypt's): start
 * fails with its errno and mdevctl removes the half-started device. */
static void test_matrix_refused(void)
{
	char out[4096];

	vt_expect_eq(MDEVCTL_RUN(out, "define", "-u", UUID_M, "-p", "matrix", "-t",
				 "vfio_ap-passthrough"), 0);
	vt_expect_eq(MDEVCTL_RUN(out, "modify", "-u", UUID_M, "--addattr=assign_domain",
				 "--value=4"), 0);
	vt_expect_eq(MDEVCTL_RUN(out, "modify", "-u", UUID_M, "--addattr=assign_adapter",
				 "--value=0"), 0);
	vt_expect(MDEVCTL_RUN(out, "start", "-u", UUID_M) != 0);
	vt_expect(strstr(out, "Cannot assign requested address") != NULL);
	vt_expect(!exists("/sys/bus/mdev/devices/" UUID_M));
	vt_expect(!exists(MATRIX_DIR "/" UUID_M));
	/* --delattr of the offending one (indexes count from 0), and it starts */
	vt_expect_eq(MDEVCTL_RUN(out, "modify", "-u", UUID_M, "--delattr", "--index=1"), 0);
	vt_expect_eq(MDEVCTL_RUN(out, "start", "-u", UUID_M), 0);
	vt_expect(file_has(MATRIX_DIR "/" UUID_M "/matrix", ".0004\n"));
	vt_expect_eq(MDEVCTL_RUN(out, "stop", "-u", UUID_M), 0);
	vt_expect_eq(MDEVCTL_RUN(out, "undefine", "-u", UUID_M), 0);
}

/* ---- remove while in use ------------------------------------------------------- */

/*
 * The writer of 'remove' waits while a user holds the device; the user
 * gets the REQ interrupt; other readers of sysfs (ls, mdevctl) are served
 * meanwhile; the write succeeds once the user has closed.
 */
static void test_remove_waits_for_user(void)
{
	int report[2], go[2];
	pid_t holder, remover;
	char out[4096];

	vt_require(!pipe2(report, O_CLOEXEC) && !pipe2(go, O_CLOEXEC));
	vt_require(sysfs_create("msample-1", UUID_A) == 36);
	holder = holder_start(UUID_A, report[1], go[0]);
	vt_require(read_byte(report[0], 10000) == 'r');
	remover = remover_start(UUID_A);
	vt_expect(read_byte(report[0], 10000) == 'q');	/* REQ came */
	usleep(200000);
	vt_expect(still_running(remover));
	/* Half removed, as the kernel's device_del before it waits. */
	vt_expect(!vt_dir_has("/sys/bus/mdev/devices", UUID_A));
	vt_expect(exists(PARENT_DIR "/" UUID_A));
	vt_expect_eq(MDEVCTL_RUN(out, "list"), 0);
	vt_expect(!strstr(out, UUID_A));
	vt_expect_eq(MDEVCTL_RUN(out, "types"), 0);
	vt_expect_eq(sysfs_create("msample-1", UUID_A), -EEXIST);
	vt_expect(still_running(remover));

	vt_expect(write(go[1], "g", 1) == 1);
	vt_expect_eq(wait_exit(holder), 0);
	vt_expect_eq(wait_exit(remover), 0);
	vt_expect(!exists(PARENT_DIR "/" UUID_A));
	vt_expect_eq(available("msample-1"), 8);
}

/* A killed writer stays in its write until the removal ends, as a kernel
 * writer stays in D state; the daemon goes on meanwhile. */
static void test_killed_remover(void)
{
	int report[2], go[2];
	pid_t holder, remover;

	vt_require(!pipe2(report, O_CLOEXEC) && !pipe2(go, O_CLOEXEC));
	vt_require(sysfs_create("msample-2", UUID_B) == 36);
	holder = holder_start(UUID_B, report[1], go[0]);
	vt_require(read_byte(report[0], 10000) == 'r');
	remover = remover_start(UUID_B);
	vt_expect(read_byte(report[0], 10000) == 'q');
	kill(remover, SIGKILL);
	usleep(200000);
	vt_expect(still_running(remover));
	vt_expect(exists(TYPES "/msample-2/available_instances"));
	vt_expect_eq(available("msample-2"), 3);
	vt_expect(write(go[1], "g", 1) == 1);
	vt_expect_eq(wait_exit(holder), 0);
	vt_expect_eq(wait_exit(remover), 128 + SIGKILL);
	vt_expect(!exists(PARENT_DIR "/" UUID_B));
	vt_expect_eq(available("msample-2"), 4);
}

/*
 * In a host of its own (uvfio run, this program as the command): the
 * command leaves behind a child holding the mdev open and a remover blocked
 * on it.  Stopping the host hangs up the holder's files, so the removal
 * finishes, the FUSE worker returns and the host stops well within uvfio's
 * 10 s grace.  The holder leaves when its files hang up.
 */
static int blocked_forever_main(void)
{
	struct mdev_user u;
	struct pollfd p;
	pid_t remover;

	if (sysfs_create("msample-1", UUID_C) != 36 || mdev_user_open(&u, UUID_C))
		return 10;
	remover = remover_start(UUID_C);
	usleep(300000);
	if (!still_running(remover))
		return 11;
	if (fork() == 0) {
		p = (struct pollfd){ .fd = u.device, .events = POLLRDHUP };
		poll(&p, 1, 15000);
		_exit(0);
	}
	return 0;
}

static void test_host_stop_with_blocked_remove(void)
{
	char self[PATH_MAX], out[4096];
	const char *bin = getenv("UVFIO_BIN") ? getenv("UVFIO_BIN") : UVFIO_BIN;
	struct timespec t0, t1;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int status;

	vt_require(n > 0);
	self[n] = '\0';
	/* A private host: not ours, not under our shim. */
	unsetenv("UVFIO_RUNTIME");
	unsetenv("LD_PRELOAD");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	status = run(out, sizeof(out),
		     (char *const[]){ (char *)bin, "run", "--", self, "--blocked-forever", NULL });
	clock_gettime(CLOCK_MONOTONIC, &t1);
	vt_expect_eq(status, 0);
	if (status)
		printf("# %s", out);
	vt_expect(!strstr(out, "did not stop"));
	vt_expect(t1.tv_sec - t0.tv_sec < 8);
}

int main(int argc, char **argv)
{
	static const struct vt_case cases[] = {
		{ "sysfs", test_sysfs, 0 },
		{ "types", test_types, 0 },
		{ "define_start_stop_undefine", test_define_start_stop_undefine, 0 },
		{ "attributes", test_attributes, 0 },
		{ "failing_attribute", test_failing_attribute, 0 },
		{ "no_instances", test_no_instances, 0 },
		{ "matrix_types", test_matrix_types, 0 },
		{ "matrix_lifecycle", test_matrix_lifecycle, 0 },
		{ "matrix_refused", test_matrix_refused, 0 },
		{ "remove_waits_for_user", test_remove_waits_for_user, 0 },
		{ "killed_remover", test_killed_remover, 0 },
		{ "host_stop_with_blocked_remove", test_host_stop_with_blocked_remove, 0 },
	};

	if (argc > 1 && !strcmp(argv[1], "--blocked-forever"))
		return blocked_forever_main();
	return vt_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
