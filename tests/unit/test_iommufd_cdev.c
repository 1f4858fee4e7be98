// SPDX-License-Identifier: MIT
/*
 * The VFIO device cdev on iommufd: /dev/vfio/devices/vfioN and its sysfs,
 * no access before BIND_IOMMUFD, the bind rules and errors, attach,
 * replace and detach (and what device DMA sees: the attached IOAS, or the
 * blocking domain), exclusion of the group path, and DMA ownership per
 * device with the same-owner rule, across processes.
 *
 * The built-in host: 00:03.0 (group 3), 00:04.0 (group 4), 00:05.0/.1
 * (group 5, both vfio-pci), 00:06.0 vfio-pci with 00:06.1 bound to a kernel
 * driver (group 6: not viable).
 */
#include "harness.h"
#include "iommufd_helpers.h"
#include "vfio_mock.h"
#include "pci_test.h"
#include "core/host/device.h"
#include "core/iommu/iommu.h"

struct fixture {
	struct uvf_host *h;
	struct uvf_proc *p;
	int iommufd;
	uint8_t *buf;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->h = test_host_default();
	f->p = proc_new_root(f->h);
	f->iommufd = iommufd_open(f->p);
	f->buf = shared_buf(BUF_SIZE);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	proc_free(f->p);
	host_free(f->h);
	munmap(f->buf, BUF_SIZE);
	free(f);
	return 0;
}

static int dev_dma_read(struct uvf_host *h, const char *bdf, uint64_t iova, void *buf,
			size_t len)
{
	return dma_read(device_find(h, "pci", bdf), iova, buf, len, NULL);
}

/* ---- nodes and sysfs ---------------------------------------------------------------- */

static void test_nodes_and_sysfs(void **state)
{
	struct fixture *f = *state;
	char path[96], buf[64], link[128];
	unsigned int n;

	cdev_path(f->h, "0000:00:03.0", path, sizeof(path));
	assert_int_equal(sscanf(path, "/dev/vfio/devices/vfio%u", &n), 1);
	assert_non_null(devnode_find(f->h, path));
	assert_int_equal(devnode_find(f->h, path)->mode, 0600);
	snprintf(link, sizeof(link), "/class/vfio-dev/vfio%u/dev", n);
	sysfs_read_str(f->h, link, buf, sizeof(buf));
	snprintf(link, sizeof(link), "%u:%u\n", VFIO_DEVICE_MAJOR, n);
	assert_string_equal(buf, link);
	/* A non-root user cannot open it (0600 root). */
	{
		struct uvf_proc *u = proc_new(f->h, 1000, 1000, 0, UINT64_MAX);

		assert_errno(proc_open(u, path, O_RDWR), -EACCES);
		proc_free(u);
	}
}

/* ---- before bind ---------------------------------------------------------------------- */

static void test_no_access_before_bind(void **state)
{
	struct fixture *f = *state;
	int dfd = cdev_open(f->p, "0000:00:03.0");
	struct vfio_device_info info = { .argsz = sizeof(info) };
	char b[8];
	int err;

	assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_GET_INFO, &info), -EINVAL);
	assert_errno(cdev_attach(f->p, dfd, 1, NULL), -EINVAL);
	assert_errno(cdev_detach(f->p, dfd), -EINVAL);
	assert_errno(proc_pread(f->p, dfd, b, sizeof(b), 0), -EINVAL);
	assert_true(proc_mmap(f->p, dfd, PG, PROT_READ, MAP_SHARED, 0, &err) == MAP_FAILED);
	assert_int_equal(err, -EINVAL);
	/* Opening is not binding: the group is still free for the group path. */
	assert_errno(group_open(f->p, 3) >= 0 ? 0 : -1, 0);
}

static void test_bind_errors(void **state)
{
	struct fixture *f = *state;
	int dfd = cdev_open(f->p, "0000:00:03.0"), dfd2 = cdev_open(f->p, "0000:00:03.0");
	int cfd = proc_open(f->p, "/dev/vfio/vfio", O_RDWR);
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = f->iommufd };
	uint32_t devid;

	bind.argsz = 15;
	assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_BIND_IOMMUFD, &bind), -EINVAL);
	bind.argsz = sizeof(bind);
	bind.flags = 1;
	assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_BIND_IOMMUFD, &bind), -EINVAL);
	bind.flags = 0;
	bind.iommufd = -1;
	assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_BIND_IOMMUFD, &bind), -EINVAL);
	assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_BIND_IOMMUFD, NULL), -EFAULT);
	assert_errno(cdev_bind(f->p, dfd, 77777, NULL), -EBADF);
	assert_errno(cdev_bind(f->p, dfd, cfd, NULL), -EBADFD);
	assert_errno(cdev_bind(f->p, dfd, f->iommufd, &devid), 0);
	assert_true(devid > 0);
	/* Bound once: again on this fd, or on another fd of the device. */
	assert_errno(cdev_bind(f->p, dfd, f->iommufd, NULL), -EINVAL);
	assert_errno(cdev_bind(f->p, dfd2, f->iommufd, NULL), -EINVAL);
	/* The DEVICE object is the bind's: not destroyable by the user. */
	assert_errno(obj_destroy(f->p, f->iommufd, devid), -EBUSY);
	assert_int_equal(proc_close(f->p, dfd), 0);
	/* Closing unbinds: the other fd may bind now (the id is free again). */
	assert_errno(obj_destroy(f->p, f->iommufd, devid), -ENOENT);
	assert_errno(cdev_bind(f->p, dfd2, f->iommufd, &devid), 0);
	assert_errno(obj_destroy(f->p, f->iommufd, devid), -EBUSY);
}

/* BIND on a device fd of the group path is refused. */
static void test_bind_on_group_fd(void **state)
{
	struct fixture *f = *state;
	struct pci_open o = pci_open_device(f->p, 3, "0000:00:03.0");

	assert_errno(cdev_bind(f->p, o.dfd, f->iommufd, NULL), -EINVAL);
	/* ... and ATTACH is not a group-path ioctl: the driver does not know it. */
	assert_errno(cdev_attach(f->p, o.dfd, 1, NULL), -ENOTTY);
	pci_close_device(f->p, &o);
}

/* ---- attach, replace, detach ----------------------------------------------------------- */

static void test_attach_dma_detach(void **state)
{
	struct fixture *f = *state;
	int dfd = cdev_open(f->p, "0000:00:03.0");
	uint32_t devid, ioas, ioas2, hwpt, hwpt2, out;
	struct vfio_device_info info = { .argsz = sizeof(info) };
	uint8_t b[8];

	assert_errno(cdev_bind(f->p, dfd, f->iommufd, &devid), 0);
	/* Bound: the device fd works, DMA is blocked. */
	assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_GET_INFO, &info), 0);
	assert_errno(dev_dma_read(f->h, "0000:00:03.0", 0x100000, b, 8), -EPERM);
	assert_errno(ioas_alloc(f->p, f->iommufd, &ioas), 0);
	assert_errno(ioas_map_fixed(f->p, f->iommufd, ioas, f->buf, BUF_SIZE, 0x100000), 0);
	memcpy(f->buf, "iommufd", 8);
	assert_errno(cdev_attach(f->p, dfd, ioas, &hwpt), 0);
	assert_true(hwpt != ioas);
	assert_errno(dev_dma_read(f->h, "0000:00:03.0", 0x100000, b, 8), 0);
	assert_string_equal((char *)b, "iommufd");
	/* Attached: neither the IOAS nor its HWPT may go. */
	assert_errno(obj_destroy(f->p, f->iommufd, ioas), -EBUSY);
	assert_errno(obj_destroy(f->p, f->iommufd, hwpt), -EBUSY);
	/* The group's MSI window is reserved in the IOAS while attached. */
	assert_errno(ioas_map_fixed(f->p, f->iommufd, ioas, f->buf, PG, 0xfee00000), -EINVAL);
	/* Attach again: a replace, here to another IOAS. */
	assert_errno(ioas_alloc(f->p, f->iommufd, &ioas2), 0);
	assert_errno(ioas_map_fixed(f->p, f->iommufd, ioas2, f->buf + PG, PG, 0x100000), 0);
	assert_errno(cdev_attach(f->p, dfd, ioas2, &hwpt2), 0);
	assert_errno(dev_dma_read(f->h, "0000:00:03.0", 0x100000, b, 8), 0);
	assert_memory_equal(b, f->buf + PG, 8);
	/* The first automatic HWPT went; the old IOAS is free. */
	assert_errno(obj_destroy(f->p, f->iommufd, hwpt), -ENOENT);
	assert_errno(ioas_map_fixed(f->p, f->iommufd, ioas, f->buf, PG, 0xfee00000), 0);
	/* A HWPT made by hand: attaching would reserve the window again. */
	assert_errno(hwpt_alloc(f->p, f->iommufd, devid, ioas, 0, &hwpt, 0, NULL, 0), 0);
	assert_errno(cdev_attach(f->p, dfd, hwpt, NULL), -EADDRINUSE);
	assert_errno(obj_destroy(f->p, f->iommufd, hwpt), 0);
	assert_errno(ioas_unmap(f->p, f->iommufd, ioas, 0xfee00000, PG, NULL), 0);
	assert_errno(hwpt_alloc(f->p, f->iommufd, devid, ioas, 0, &hwpt, 0, NULL, 0), 0);
	assert_errno(cdev_attach(f->p, dfd, hwpt, &out), 0);
	assert_int_equal(out, hwpt);
	assert_errno(dev_dma_read(f->h, "0000:00:03.0", 0x100000, b, 8), 0);
	assert_string_equal((char *)b, "iommufd");
	/* Errors: unknown pt, a pt that is neither, bad argsz/flags. */
	assert_errno(cdev_attach(f->p, dfd, 999, NULL), -ENOENT);
	assert_errno(cdev_attach(f->p, dfd, devid, NULL), -EINVAL);
	{
		struct vfio_device_attach_iommufd_pt a = { .argsz = 11, .pt_id = ioas };
		struct vfio_device_detach_iommufd_pt d = { .argsz = sizeof(d), .flags = 1 };

		assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &a), -EINVAL);
		a.argsz = sizeof(a);
		a.flags = 1;
		assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &a), -EINVAL);
		assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &d), -EINVAL);
	}
	/* Detach: the blocking domain, ownership kept. */
	assert_errno(cdev_detach(f->p, dfd), 0);
	assert_errno(cdev_detach(f->p, dfd), 0);
	assert_errno(dev_dma_read(f->h, "0000:00:03.0", 0x100000, b, 8), -EPERM);
	assert_true(iommu_group_dma_owner_claimed(iommu_group_find(f->h, 3)));
	assert_errno(obj_destroy(f->p, f->iommufd, hwpt), 0);
	assert_errno(obj_destroy(f->p, f->iommufd, ioas2), 0);
	/* Close: unbound, ownership released. */
	assert_errno(cdev_attach(f->p, dfd, ioas, NULL), 0);
	assert_int_equal(proc_close(f->p, dfd), 0);
	assert_false(iommu_group_dma_owner_claimed(iommu_group_find(f->h, 3)));
	assert_errno(obj_destroy(f->p, f->iommufd, ioas), 0);
}

/* The pins of an attached IOAS are dropped when the last holder goes. */
static void test_close_iommufd_while_bound(void **state)
{
	struct fixture *f = *state;
	int dfd = cdev_open(f->p, "0000:00:04.0");
	uint32_t ioas;
	uint8_t b[4];

	assert_errno(cdev_bind(f->p, dfd, f->iommufd, NULL), 0);
	assert_errno(ioas_alloc(f->p, f->iommufd, &ioas), 0);
	assert_errno(ioas_map_fixed(f->p, f->iommufd, ioas, f->buf, PG, 0x200000), 0);
	assert_errno(cdev_attach(f->p, dfd, ioas, NULL), 0);
	/* The device keeps the context alive: DMA still works. */
	assert_int_equal(proc_close(f->p, f->iommufd), 0);
	assert_errno(dev_dma_read(f->h, "0000:00:04.0", 0x200000, b, 4), 0);
	assert_int_equal(proc_close(f->p, dfd), 0);
	assert_errno(dev_dma_read(f->h, "0000:00:04.0", 0x200000, b, 4), -EPERM);
	f->iommufd = iommufd_open(f->p);
}

/* ---- group path vs cdev path ------------------------------------------------------------ */

static void test_group_cdev_exclusion(void **state)
{
	struct fixture *f = *state;
	int gfd = group_open(f->p, 3), dfd = cdev_open(f->p, "0000:00:03.0");

	assert_true(gfd >= 0);
	assert_errno(cdev_bind(f->p, dfd, f->iommufd, NULL), -EBUSY);
	assert_int_equal(proc_close(f->p, gfd), 0);
	assert_errno(cdev_bind(f->p, dfd, f->iommufd, NULL), 0);
	assert_errno(group_open(f->p, 3), -EBUSY);
	assert_int_equal(proc_close(f->p, dfd), 0);
	gfd = group_open(f->p, 3);
	assert_true(gfd >= 0);
	assert_int_equal(proc_close(f->p, gfd), 0);
}

/* ---- DMA ownership -------------------------------------------------------------------------- */

static void test_same_owner_rule(void **state)
{
	struct fixture *f = *state;
	int other = iommufd_open(f->p);
	int d0 = cdev_open(f->p, "0000:00:05.0"), d1 = cdev_open(f->p, "0000:00:05.1");
	uint32_t ioas, ioas2, hwpt, hwpt1;

	assert_errno(cdev_bind(f->p, d0, f->iommufd, NULL), 0);
	/* Another iommufd may not own the other function of the group. */
	assert_errno(cdev_bind(f->p, d1, other, NULL), -EPERM);
	assert_errno(cdev_bind(f->p, d1, f->iommufd, NULL), 0);
	/* One group, one HWPT. */
	assert_errno(ioas_alloc(f->p, f->iommufd, &ioas), 0);
	assert_errno(ioas_alloc(f->p, f->iommufd, &ioas2), 0);
	assert_errno(cdev_attach(f->p, d0, ioas, &hwpt), 0);
	assert_errno(cdev_attach(f->p, d1, ioas2, NULL), -EINVAL);
	assert_errno(cdev_attach(f->p, d1, ioas, &hwpt1), 0);
	assert_int_equal(hwpt, hwpt1);
	/* Ownership stays while either is bound. */
	assert_int_equal(proc_close(f->p, d0), 0);
	assert_true(iommu_group_dma_owner_claimed(iommu_group_find(f->h, 5)));
	assert_errno(cdev_bind(f->p, cdev_open(f->p, "0000:00:05.0"), other, NULL), -EPERM);
	assert_int_equal(proc_close(f->p, d1), 0);
	assert_false(iommu_group_dma_owner_claimed(iommu_group_find(f->h, 5)));
	/* A kernel driver on a function of the group: no owner at all. */
	assert_errno(cdev_bind(f->p, cdev_open(f->p, "0000:00:06.0"), f->iommufd, NULL), -EPERM);
}

/* Two processes: each its own iommufd; a passed iommufd fd is the same owner. */
static void test_ownership_across_processes(void **state)
{
	struct fixture *f = *state;
	struct uvf_proc *p2 = proc_new_root(f->h);
	int fd2 = iommufd_open(p2);
	int d0 = cdev_open(f->p, "0000:00:05.0"), d1 = cdev_open(p2, "0000:00:05.1");
	int passed;

	assert_errno(cdev_bind(f->p, d0, f->iommufd, NULL), 0);
	assert_errno(cdev_bind(p2, d1, fd2, NULL), -EPERM);
	/* The same iommufd, handed to the other process: the same owner. */
	passed = proc_pass_fd(f->p, f->iommufd, p2);
	assert_errno(cdev_bind(p2, d1, passed, NULL), 0);
	/* The group path of another process is excluded as well. */
	assert_errno(group_open(p2, 5), -EBUSY);
	/* Process exit closes its files: p2's binding goes. */
	proc_free(p2);
	assert_true(iommu_group_dma_owner_claimed(iommu_group_find(f->h, 5)));
	assert_int_equal(proc_close(f->p, d0), 0);
	assert_false(iommu_group_dma_owner_claimed(iommu_group_find(f->h, 5)));
}

/* An unregistering device: its node goes and opens answer -ENOENT. */
static void test_cdev_node_goes_with_device(void **state)
{
	struct uvf_host *h = iommufd_host(NULL);
	struct uvf_proc *p = proc_new_root(h);
	struct mock_dev *m = mock_dev_add(h, 9, "mock0");
	char path[64];
	int dfd, ifd = iommufd_open(p);

	snprintf(path, sizeof(path), "/dev/vfio/devices/vfio%u", m->vdev.index);
	dfd = proc_open(p, path, O_RDWR);
	assert_true(dfd >= 0);
	assert_errno(cdev_bind(p, dfd, ifd, NULL), 0);
	assert_int_equal(m->open_calls, 1);
	assert_int_equal(proc_close(p, dfd), 0);
	assert_int_equal(m->close_calls, 1);
	mock_dev_unregister(m);
	assert_errno(proc_open(p, path, O_RDWR), -ENOENT);
	mock_dev_free(m);
	proc_free(p);
	host_free(h);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nodes_and_sysfs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_access_before_bind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind_on_group_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_dma_detach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_iommufd_while_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_cdev_exclusion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_owner_rule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ownership_across_processes, setup, teardown),
		cmocka_unit_test(test_cdev_node_goes_with_device),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
