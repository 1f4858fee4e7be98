// SPDX-License-Identifier: MIT
/*
 * The KVM device plane and the KVM-VFIO device under the shim, as QEMU
 * uses them: /dev/kvm, a VM, a KVM-VFIO device, group fds and device cdev
 * fds registered with it, across processes.  Written against <linux/kvm.h>
 * and <linux/vfio.h> (with fallbacks for the 6.6+ names an older system
 * header lacks) and libc; `uvfio vms` and the VM's debugfs file are what
 * an administrator would look at.
 *
 * The host is this file's own (VT_UVFIO_CONFIG): /dev/kvm served even on a
 * machine that has one, 00:03.0 (group 3) and 00:04.0 (group 4) behind an
 * IOMMU that enforces coherency, 00:08.0 (group 8) behind one that cannot
 * block No-Snoop.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <linux/kvm.h>
#include <linux/vfio.h>
#include "vt.h"

#ifndef UVFIO_BIN
#define UVFIO_BIN "uvfio"
#endif

/* 6.5+ names of the KVM-VFIO attributes; the GROUP ones are the same numbers. */
#ifndef KVM_DEV_VFIO_FILE
#define KVM_DEV_VFIO_FILE	KVM_DEV_VFIO_GROUP
#define KVM_DEV_VFIO_FILE_ADD	KVM_DEV_VFIO_GROUP_ADD
#define KVM_DEV_VFIO_FILE_DEL	KVM_DEV_VFIO_GROUP_DEL
#endif

/* The 6.6+ device cdev bind (include/uapi/linux/vfio.h). */
#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
};
#define VFIO_DEVICE_BIND_IOMMUFD	_IO(VFIO_TYPE, VFIO_BASE + 18)
#endif

#define BDF_COHERENT	"0000:00:03.0"	/* group 3 */
#define BDF_COHERENT2	"0000:00:04.0"	/* group 4 */
#define BDF_NONCOH	"0000:00:08.0"	/* group 8 */

static const char host_json[] =
	"{ \"name\": \"kvm-shim\", \"limits\": { \"kvm\": \"always\" },\n"
	"  \"pci\": [\n"
	"    { \"bdf\": \"" BDF_COHERENT "\", \"model\": \"uvfio-test\", \"iommu_group\": 3 },\n"
	"    { \"bdf\": \"" BDF_COHERENT2 "\", \"model\": \"uvfio-test\", \"iommu_group\": 4 },\n"
	"    { \"bdf\": \"" BDF_NONCOH "\", \"model\": \"uvfio-test\", \"iommu_group\": 8,\n"
	"      \"coherent\": false } ] }\n";

/* ---- helpers ------------------------------------------------------------------------- */

static int open_group(int id)
{
	char path[32];

	snprintf(path, sizeof(path), "/dev/vfio/%d", id);
	return open(path, O_RDWR | O_CLOEXEC);
}

/* A VM (and /dev/kvm closed again). */
static int create_vm(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm;

	vt_require(kvm >= 0);
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	close(kvm);
	vt_require(vm >= 0);
	return vm;
}

static int create_kvm_vfio(int vm)
{
	struct kvm_create_device cd = { .type = KVM_DEV_TYPE_VFIO };

	vt_require(ioctl(vm, KVM_CREATE_DEVICE, &cd) == 0);
	return (int)cd.fd;
}

static int vfio_file(int dev, uint64_t attr, int32_t fd)
{
	struct kvm_device_attr a = {
		.group = KVM_DEV_VFIO_FILE, .attr = attr, .addr = (uintptr_t)&fd,
	};

	return ioctl(dev, KVM_SET_DEVICE_ATTR, &a);
}

static int file_add(int dev, int fd)
{
	return vfio_file(dev, KVM_DEV_VFIO_FILE_ADD, fd);
}

static int file_del(int dev, int fd)
{
	return vfio_file(dev, KVM_DEV_VFIO_FILE_DEL, fd);
}

/* /dev/vfio/devices/vfioN of a PCI function, from its sysfs. */
static int open_cdev(const char *bdf)
{
	char dir[128], path[PATH_MAX] = "";
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	d = opendir(dir);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "vfio", 4))
			snprintf(path, sizeof(path), "/dev/vfio/devices/%s", e->d_name);
	closedir(d);
	return path[0] ? open(path, O_RDWR | O_CLOEXEC) : -1;
}

/* The VM's /sys/kernel/debug/kvm/<pid>-<id>/noncoherent_dma, as a number. */
static int debugfs_noncoherent(void)
{
	char path[PATH_MAX] = "", prefix[32], buf[16] = "";
	struct dirent *e;
	DIR *d = opendir("/sys/kernel/debug/kvm");
	int fd;
	ssize_t n;

	if (!d)
		return -1;
	snprintf(prefix, sizeof(prefix), "%d-", (int)getpid());
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, prefix, strlen(prefix)))
			snprintf(path, sizeof(path), "/sys/kernel/debug/kvm/%s/noncoherent_dma",
				 e->d_name);
	closedir(d);
	fd = path[0] ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atoi(buf) : -1;
}

/* The output of `uvfio vms`, for the host this test runs on. */
static const char *uvfio_vms(void)
{
	static char out[8192];
	size_t len = 0, n;
	FILE *p = popen(UVFIO_BIN " vms", "r");

	out[0] = '\0';
	if (!p)
		return out;
	while (len < sizeof(out) - 1 && (n = fread(out + len, 1, sizeof(out) - 1 - len, p)) > 0)
		len += n;
	out[len] = '\0';
	pclose(p);
	return out;
}

static int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 255;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

/* ---- the device plane ---------------------------------------------------------------------- */

static void test_kvm_device_plane(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm, dev;
	struct kvm_create_device cd = {
		.type = KVM_DEV_TYPE_VFIO, .flags = KVM_CREATE_DEVICE_TEST,
	};
	struct kvm_userspace_memory_region mem = { .memory_size = 4096 };
	struct kvm_device_attr has = { .group = KVM_DEV_VFIO_FILE, .attr = KVM_DEV_VFIO_FILE_ADD };

	vt_require(kvm >= 0);
	vt_expect_eq(ioctl(kvm, KVM_GET_API_VERSION, 0), KVM_API_VERSION);
	vt_expect_eq(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_DEVICE_CTRL), 1);
	vt_expect_eq(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY), 0);
	vt_expect_eq(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS), 0);
	vt_expect_errno(ioctl(kvm, KVM_CREATE_VM, 1), EINVAL);
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	vt_require(vm >= 0);
	vt_expect(fcntl(vm, F_GETFD) & FD_CLOEXEC);
	vt_expect_eq(ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_CHECK_EXTENSION_VM), 1);
	/* No vCPUs, no memslots: as the kernel's handlers answer with none. */
	vt_expect_errno(ioctl(vm, KVM_CREATE_VCPU, 0), EINVAL);
	vt_expect_errno(ioctl(vm, KVM_SET_USER_MEMORY_REGION, NULL), EFAULT);
	vt_expect_errno(ioctl(vm, KVM_SET_USER_MEMORY_REGION, &mem), EINVAL);
	vt_expect_errno(ioctl(vm, KVM_IOEVENTFD, NULL), ENOTTY);
	/* Device creation in the kernel's order. */
	vt_expect_errno(ioctl(vm, KVM_CREATE_DEVICE, NULL), EFAULT);
	vt_expect_eq(ioctl(vm, KVM_CREATE_DEVICE, &cd), 0);
	cd = (struct kvm_create_device){ .type = 0 };
	vt_expect_errno(ioctl(vm, KVM_CREATE_DEVICE, &cd), ENODEV);
	dev = create_kvm_vfio(vm);
	vt_expect(dev > 2 && dev != vm);
	vt_expect(fcntl(dev, F_GETFD) & FD_CLOEXEC);
	cd = (struct kvm_create_device){ .type = KVM_DEV_TYPE_VFIO };
	vt_expect_errno(ioctl(vm, KVM_CREATE_DEVICE, &cd), EBUSY);
	vt_expect_eq(ioctl(dev, KVM_HAS_DEVICE_ATTR, &has), 0);
	has.attr = KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE;
	vt_expect_errno(ioctl(dev, KVM_HAS_DEVICE_ATTR, &has), ENXIO);
	vt_expect_errno(ioctl(dev, KVM_GET_DEVICE_ATTR, &has), EPERM);
	close(dev);
	close(vm);
	close(kvm);
}

static void test_file_add_errors(void)
{
	int vm = create_vm(), dev = create_kvm_vfio(vm);
	int container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	int g3 = open_group(3), g4 = open_group(4), dup3;
	struct kvm_device_attr a = { .group = KVM_DEV_VFIO_FILE, .attr = KVM_DEV_VFIO_FILE_ADD };

	vt_require(container >= 0 && g3 >= 0 && g4 >= 0);
	vt_expect_errno(file_add(dev, -1), EBADF);
	vt_expect_errno(file_add(dev, 1000), EBADF);
	vt_expect_errno(file_add(dev, container), EINVAL);
	vt_expect_errno(file_add(dev, vm), EINVAL);
	/* neither VFIO nor uvfio's: a valid fd of the wrong kind */
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

	vt_expect_errno(file_add(dev, devnull), EINVAL);
	vt_expect_errno(file_del(dev, devnull), ENOENT);
	close(devnull);
	vt_expect_eq(file_add(dev, g3), 0);
	vt_expect_errno(file_add(dev, g3), EEXIST);
	dup3 = dup(g3);
	vt_expect_errno(file_add(dev, dup3), EEXIST);
	vt_expect_errno(file_del(dev, g4), ENOENT);
	vt_expect_errno(file_del(dev, container), ENOENT);
	vt_expect_errno(file_del(dev, 1000), EBADF);
	vt_expect_eq(file_del(dev, dup3), 0);
	vt_expect_errno(file_del(dev, g3), ENOENT);
	/* Bad pointers are EFAULT from the handler, never a crash here. */
	vt_expect_errno(ioctl(dev, KVM_SET_DEVICE_ATTR, NULL), EFAULT);
	a.addr = 16;
	vt_expect_errno(ioctl(dev, KVM_SET_DEVICE_ATTR, &a), EFAULT);
	a.attr = KVM_DEV_VFIO_FILE_DEL;
	vt_expect_errno(ioctl(dev, KVM_SET_DEVICE_ATTR, &a), EFAULT);
	close(dev);
	close(vm);
}

/* An fd half in a readable page, half in an unmapped one: EFAULT. */
static void test_fd_across_unmapped_page(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int vm = create_vm(), dev = create_kvm_vfio(vm), g3 = open_group(3);
	struct kvm_device_attr a = { .group = KVM_DEV_VFIO_FILE, .attr = KVM_DEV_VFIO_FILE_ADD };
	int32_t *ro;

	vt_require(m != MAP_FAILED && g3 >= 0);
	vt_require(munmap(m + pg, pg) == 0);
	a.addr = (uintptr_t)(m + pg - 2);
	vt_expect_errno(ioctl(dev, KVM_SET_DEVICE_ATTR, &a), EFAULT);
	/* Read-only is enough: KVM only reads the fd. */
	ro = (int32_t *)m;
	*ro = g3;
	vt_require(mprotect(m, pg, PROT_READ) == 0);
	a.addr = (uintptr_t)ro;
	vt_expect_eq(ioctl(dev, KVM_SET_DEVICE_ATTR, &a), 0);
	munmap(m, pg);
	close(dev);
	close(vm);
}

/* ---- group and cdev files, coherency ------------------------------------------------------ */

static void test_group_and_cdev_files(void)
{
	int vm = create_vm(), dev = create_kvm_vfio(vm);
	int g3 = open_group(3), d4 = open_cdev(BDF_COHERENT2);

	vt_require(g3 >= 0 && d4 >= 0);
	vt_expect_eq(file_add(dev, g3), 0);
	vt_expect_eq(file_add(dev, d4), 0);
	vt_expect_errno(file_add(dev, d4), EEXIST);
	vt_expect(strstr(uvfio_vms(), "\tgroup 3, coherent\n"));
	vt_expect(strstr(uvfio_vms(), "(" BDF_COHERENT2 "), coherent\n"));
	vt_expect_eq(file_del(dev, d4), 0);
	vt_expect_errno(file_del(dev, d4), ENOENT);
	vt_expect(!strstr(uvfio_vms(), BDF_COHERENT2));
	close(dev);
	close(vm);
}

static void test_coherency_follows_files(void)
{
	int vm = create_vm(), dev = create_kvm_vfio(vm);
	int g3 = open_group(3), g8 = open_group(8), d8 = open_cdev(BDF_NONCOH);

	vt_require(g3 >= 0 && g8 >= 0 && d8 >= 0);
	vt_expect_eq(debugfs_noncoherent(), 0);
	vt_expect_eq(file_add(dev, g3), 0);
	vt_expect_eq(debugfs_noncoherent(), 0);
	vt_expect(strstr(uvfio_vms(), "WBINVD honoured: no"));
	vt_expect_eq(file_add(dev, g8), 0);
	vt_expect_eq(debugfs_noncoherent(), 1);
	vt_expect(strstr(uvfio_vms(), "WBINVD honoured: yes"));
	vt_expect(strstr(uvfio_vms(), "\tgroup 8, noncoherent\n"));
	/* Once per VM, however many non-coherent files. */
	vt_expect_eq(file_add(dev, d8), 0);
	vt_expect_eq(debugfs_noncoherent(), 1);
	vt_expect_eq(file_del(dev, g8), 0);
	vt_expect_eq(debugfs_noncoherent(), 1);
	vt_expect_eq(file_del(dev, d8), 0);
	vt_expect_eq(debugfs_noncoherent(), 0);
	vt_expect(strstr(uvfio_vms(), "WBINVD honoured: no"));
	/* The device's close drops it too. */
	vt_expect_eq(file_add(dev, g8), 0);
	vt_expect_eq(debugfs_noncoherent(), 1);
	close(dev);
	vt_expect_eq(debugfs_noncoherent(), 0);
	close(vm);
	vt_expect(strstr(uvfio_vms(), "no VMs"));
}

/* ---- references across processes ------------------------------------------------------- */

static int child_open_group(int id, int want_errno)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open_group(id);

		if (want_errno)
			_exit(fd < 0 && errno == want_errno ? 0 : 1);
		_exit(fd >= 0 ? 0 : 2);
	}
	return wait_child(pid);
}

static void test_closing_vm_releases_group(void)
{
	int vm = create_vm(), dev = create_kvm_vfio(vm), g3 = open_group(3);

	vt_require(g3 >= 0);
	vt_expect_eq(file_add(dev, g3), 0);
	/* Our fd goes, KVM's reference stays: the group is still taken. */
	close(g3);
	vt_expect_eq(child_open_group(3, EBUSY), 0);
	/* The VM's fd alone: the KVM-VFIO device keeps the VM, and the group. */
	close(vm);
	vt_expect_eq(child_open_group(3, EBUSY), 0);
	close(dev);
	vt_expect_eq(child_open_group(3, 0), 0);
	vt_expect(strstr(uvfio_vms(), "no VMs"));
}

static void test_process_exit_releases_group(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		int vm = create_vm(), dev = create_kvm_vfio(vm), g3 = open_group(3);

		if (g3 < 0 || file_add(dev, g3))
			_exit(1);
		close(g3);
		_exit(0);		/* with the VM and its device open */
	}
	vt_expect_eq(wait_child(pid), 0);
	vt_expect_eq(child_open_group(3, 0), 0);
}

static void test_fork_child_gets_eio(void)
{
	int vm = create_vm(), dev = create_kvm_vfio(vm);
	struct kvm_device_attr has = { .group = KVM_DEV_VFIO_FILE, .attr = KVM_DEV_VFIO_FILE_ADD };
	pid_t pid = fork();

	if (pid == 0) {
		/* A VM belongs to the address space that made it. */
		if (ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_DEVICE_CTRL) != -1 || errno != EIO)
			_exit(1);
		if (ioctl(dev, KVM_HAS_DEVICE_ATTR, &has) != -1 || errno != EIO)
			_exit(2);
		_exit(0);
	}
	vt_expect_eq(wait_child(pid), 0);
	vt_expect_eq(ioctl(dev, KVM_HAS_DEVICE_ATTR, &has), 0);
}

/* ---- the VM reaching VFIO devices ------------------------------------------------------ */

static int group_device(int group, int *container, const char *bdf)
{
	int type = VFIO_TYPE1v2_IOMMU;

	*container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	vt_require(*container >= 0);
	vt_require(ioctl(group, VFIO_GROUP_SET_CONTAINER, container) == 0);
	vt_require(ioctl(*container, VFIO_SET_IOMMU, type) == 0);
	return ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
}

static void test_device_opened_after_add_sees_vm(void)
{
	int vm = create_vm(), dev = create_kvm_vfio(vm), g3 = open_group(3), c, d;

	vt_require(g3 >= 0);
	vt_expect_eq(file_add(dev, g3), 0);
	d = group_device(g3, &c, BDF_COHERENT);
	vt_require(d >= 0);
	vt_expect(strstr(uvfio_vms(), "opened with this VM: vfio"));
	vt_expect(strstr(uvfio_vms(), "(" BDF_COHERENT ")\n"));
	/* The open device holds the VM after every KVM fd is gone. */
	close(dev);
	close(vm);
	vt_expect(strstr(uvfio_vms(), "VM "));
	close(d);
	vt_expect(strstr(uvfio_vms(), "no VMs"));
	close(c);
	close(g3);
}

static void test_device_opened_before_add_does_not(void)
{
	int vm = create_vm(), dev = create_kvm_vfio(vm), g3 = open_group(3), c, d;

	vt_require(g3 >= 0);
	d = group_device(g3, &c, BDF_COHERENT);
	vt_require(d >= 0);
	vt_expect_eq(file_add(dev, g3), 0);
	vt_expect(strstr(uvfio_vms(), "\tgroup 3, coherent\n"));
	vt_expect(!strstr(uvfio_vms(), "opened with this VM"));
	/* Opened again after its last close: now it does. */
	close(d);
	d = ioctl(g3, VFIO_GROUP_GET_DEVICE_FD, BDF_COHERENT);
	vt_require(d >= 0);
	vt_expect(strstr(uvfio_vms(), "opened with this VM"));
	close(d);
	close(c);
	close(dev);
	close(vm);
}

static void test_cdev_bind_after_add_sees_vm(void)
{
	int vm = create_vm(), dev = create_kvm_vfio(vm), d4 = open_cdev(BDF_COHERENT2);
	int iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = iommufd };

	vt_require(d4 >= 0 && iommufd >= 0);
	vt_expect_eq(file_add(dev, d4), 0);
	vt_expect(!strstr(uvfio_vms(), "opened with this VM"));
	vt_expect_eq(ioctl(d4, VFIO_DEVICE_BIND_IOMMUFD, &bind), 0);
	vt_expect(strstr(uvfio_vms(), "opened with this VM"));
	vt_expect(strstr(uvfio_vms(), "(" BDF_COHERENT2 ")\n"));
	/* KVM holds the file: our close alone leaves the device bound. */
	vt_expect_eq(file_del(dev, d4), 0);
	close(d4);
	vt_expect(!strstr(uvfio_vms(), "opened with this VM"));
	close(dev);
	close(vm);
	close(iommufd);
}

static const struct vt_case cases[] = {
	{ "kvm_device_plane", test_kvm_device_plane, 0 },
	{ "file_add_errors", test_file_add_errors, 0 },
	{ "fd_across_unmapped_page", test_fd_across_unmapped_page, 0 },
	{ "group_and_cdev_files", test_group_and_cdev_files, 0 },
	{ "coherency_follows_files", test_coherency_follows_files, 0 },
	{ "closing_vm_releases_group", test_closing_vm_releases_group, 0 },
	{ "process_exit_releases_group", test_process_exit_releases_group, 0 },
	{ "fork_child_gets_eio", test_fork_child_gets_eio, 0 },
	{ "device_opened_after_add_sees_vm", test_device_opened_after_add_sees_vm, 0 },
	{ "device_opened_before_add_does_not", test_device_opened_before_add_does_not, 0 },
	{ "cdev_bind_after_add_sees_vm", test_cdev_bind_after_add_sees_vm, 0 },
};

int main(int argc, char **argv)
{
	return vt_main_host(argc, argv, cases, sizeof(cases) / sizeof(cases[0]), host_json);
}
