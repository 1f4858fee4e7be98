/* SPDX-License-Identifier: MIT */
/*
 * Shared support for the iommufd tests: a host with the test interface
 * (iommufd_test), the iommufd ioctls as functions returning 0 or -errno,
 * and buffers laid out as the kernel's selftests lay theirs (16 pages,
 * aligned to a huge page, MAP_SHARED).  Include after harness.h.
 */
#ifndef UVF_TEST_IOMMUFD_HELPERS_H
#define UVF_TEST_IOMMUFD_HELPERS_H

#include <stdio.h>
#include <unistd.h>
#include <sys/mman.h>
#include "core/iommufd/iommufd_test.h"
#include "core/iommufd/iommufd.h"
#include "core/iommufd/fail_nth.h"
#include "core/sysfs/sysfs.h"
#include "uapi/linux/vfio_cdev.h"

#define PG		4096UL
#define MOCK_PG		(PG / 2)
#define HUGE_SZ		(2UL << 20)
#define BUF_SIZE	(16 * PG)

static inline struct uvf_host *iommufd_host(const char *extra_limits)
{
	char json[512];

	snprintf(json, sizeof(json), "{\"limits\": {\"iommufd_test\": true%s%s}}",
		 extra_limits ? ", " : "", extra_limits ? extra_limits : "");
	return test_host_from_json(json);
}

/* A shared anonymous buffer at a huge-page boundary, as the selftests'. */
static inline void *shared_buf(size_t len)
{
	void *p = mmap(NULL, len + HUGE_SZ, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uintptr_t aligned;

	assert_true(p != MAP_FAILED);
	aligned = ((uintptr_t)p + HUGE_SZ - 1) & ~(HUGE_SZ - 1);
	if (aligned != (uintptr_t)p)
		munmap(p, aligned - (uintptr_t)p);
	munmap((void *)(aligned + len), (uintptr_t)p + HUGE_SZ - aligned);
	memset((void *)aligned, 0, len);
	return (void *)aligned;
}

static inline int iommufd_open(struct uvf_proc *p)
{
	int fd = proc_open(p, "/dev/iommu", O_RDWR);

	assert_true(fd >= 0);
	return fd;
}

static inline long ioas_alloc(struct uvf_proc *p, int fd, uint32_t *id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	long rc = proc_ioctl(p, fd, IOMMU_IOAS_ALLOC, &cmd);

	*id = cmd.out_ioas_id;
	return rc;
}

static inline long obj_destroy(struct uvf_proc *p, int fd, uint32_t id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return proc_ioctl(p, fd, IOMMU_DESTROY, &cmd);
}

#define MAP_RW	(IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)

static inline long ioas_map(struct uvf_proc *p, int fd, uint32_t ioas, const void *buf,
			    uint64_t len, uint64_t *iova, uint32_t flags)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .flags = flags, .ioas_id = ioas,
		.user_va = (uintptr_t)buf, .length = len,
		.iova = flags & IOMMU_IOAS_MAP_FIXED_IOVA ? *iova : 0,
	};
	long rc = proc_ioctl(p, fd, IOMMU_IOAS_MAP, &cmd);

	*iova = cmd.iova;
	return rc;
}

static inline long ioas_map_fixed(struct uvf_proc *p, int fd, uint32_t ioas, const void *buf,
				  uint64_t len, uint64_t iova)
{
	return ioas_map(p, fd, ioas, buf, len, &iova, MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
}

static inline long ioas_unmap(struct uvf_proc *p, int fd, uint32_t ioas, uint64_t iova,
			      uint64_t len, uint64_t *out_len)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .iova = iova, .length = len,
	};
	long rc = proc_ioctl(p, fd, IOMMU_IOAS_UNMAP, &cmd);

	if (out_len)
		*out_len = cmd.length;
	return rc;
}

static inline long test_cmd(struct uvf_proc *p, int fd, struct iommu_test_cmd *cmd)
{
	cmd->size = sizeof(*cmd);
	return proc_ioctl(p, fd, IOMMU_TEST_CMD, cmd);
}

static inline long mock_domain_flags(struct uvf_proc *p, int fd, uint32_t pt_id,
				     uint32_t dev_flags, uint32_t *stdev, uint32_t *hwpt,
				     uint32_t *idev)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, .id = pt_id,
		.mock_domain_flags = { .dev_flags = dev_flags },
	};
	long rc = test_cmd(p, fd, &cmd);

	if (stdev)
		*stdev = cmd.mock_domain_flags.out_stdev_id;
	if (hwpt)
		*hwpt = cmd.mock_domain_flags.out_hwpt_id;
	if (idev)
		*idev = cmd.mock_domain_flags.out_idev_id;
	return rc;
}

static inline long mock_domain(struct uvf_proc *p, int fd, uint32_t pt_id, uint32_t *stdev,
			       uint32_t *hwpt, uint32_t *idev)
{
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = pt_id };
	long rc = test_cmd(p, fd, &cmd);

	if (stdev)
		*stdev = cmd.mock_domain.out_stdev_id;
	if (hwpt)
		*hwpt = cmd.mock_domain.out_hwpt_id;
	if (idev)
		*idev = cmd.mock_domain.out_idev_id;
	return rc;
}

static inline long mock_replace(struct uvf_proc *p, int fd, uint32_t stdev, uint32_t pt_id,
				uint32_t *out)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, .id = stdev,
		.mock_domain_replace = { .pt_id = pt_id },
	};
	long rc = test_cmd(p, fd, &cmd);

	if (out)
		*out = cmd.mock_domain_replace.pt_id;
	return rc;
}

static inline long check_refs(struct uvf_proc *p, int fd, const void *buf, uint64_t len,
			      uint32_t refs)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MD_CHECK_REFS,
		.check_refs = { .length = len, .uptr = (uintptr_t)buf, .refs = refs },
	};

	return test_cmd(p, fd, &cmd);
}

static inline long check_map(struct uvf_proc *p, int fd, uint32_t hwpt, uint64_t iova,
			     uint64_t len, const void *buf)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MD_CHECK_MAP, .id = hwpt,
		.check_map = { .iova = iova, .length = len, .uptr = (uintptr_t)buf },
	};

	return test_cmd(p, fd, &cmd);
}

static inline long create_access(struct uvf_proc *p, int fd, uint32_t ioas, uint32_t flags,
				 int *afd)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_CREATE_ACCESS, .id = ioas,
		.create_access = { .flags = flags },
	};
	long rc = test_cmd(p, fd, &cmd);

	*afd = (int)cmd.create_access.out_access_fd;
	return rc;
}

static inline long access_pages(struct uvf_proc *p, int fd, int afd, uint64_t iova,
				uint64_t len, const void *uptr, uint32_t *item)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ACCESS_PAGES, .id = (uint32_t)afd,
		.access_pages = { .iova = iova, .length = len, .uptr = (uintptr_t)uptr },
	};
	long rc = test_cmd(p, fd, &cmd);

	if (item)
		*item = cmd.access_pages.out_access_pages_id;
	return rc;
}

static inline long destroy_access_pages(struct uvf_proc *p, int fd, int afd, uint32_t item)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES, .id = (uint32_t)afd,
		.destroy_access_pages = { .access_pages_id = item },
	};

	return test_cmd(p, fd, &cmd);
}

static inline long access_rw(struct uvf_proc *p, int fd, int afd, uint64_t iova, void *buf,
			     uint64_t len, uint32_t flags)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ACCESS_RW, .id = (uint32_t)afd,
		.access_rw = { .iova = iova, .length = len, .uptr = (uintptr_t)buf,
			       .flags = flags },
	};

	return test_cmd(p, fd, &cmd);
}

static inline long hwpt_alloc(struct uvf_proc *p, int fd, uint32_t dev, uint32_t pt,
			      uint32_t flags, uint32_t *hwpt, uint32_t data_type, void *data,
			      uint32_t data_len)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd), .flags = flags, .dev_id = dev, .pt_id = pt,
		.data_type = data_type, .data_len = data_len, .data_uptr = (uintptr_t)data,
	};
	long rc = proc_ioctl(p, fd, IOMMU_HWPT_ALLOC, &cmd);

	if (hwpt)
		*hwpt = cmd.out_hwpt_id;
	return rc;
}

/* ---- the device cdev ---------------------------------------------------- */

static inline int cdev_name_fn(const char *name, const struct sysfs_stat *st, void *arg)
{
	snprintf(arg, 32, "%s", name);
	return 1;
}

/* /dev/vfio/devices/vfioN of a PCI function, found through its sysfs. */
static inline void cdev_path(struct uvf_host *h, const char *bdf, char *path, size_t size)
{
	char dir[96], name[32] = "";

	snprintf(dir, sizeof(dir), "/bus/pci/devices/%s/vfio-dev", bdf);
	assert_int_equal(sysfs_readdir(h->sysfs, dir, cdev_name_fn, name), 1);
	snprintf(path, size, "/dev/vfio/devices/%s", name);
}

static inline int cdev_open(struct uvf_proc *p, const char *bdf)
{
	char path[96];
	int fd;

	cdev_path(p->host, bdf, path, sizeof(path));
	fd = proc_open(p, path, O_RDWR);
	assert_true(fd >= 0);
	return fd;
}

static inline long cdev_bind(struct uvf_proc *p, int dfd, int iommufd, uint32_t *devid)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = iommufd };
	long rc = proc_ioctl(p, dfd, VFIO_DEVICE_BIND_IOMMUFD, &bind);

	if (devid)
		*devid = bind.out_devid;
	return rc;
}

static inline long cdev_attach(struct uvf_proc *p, int dfd, uint32_t pt_id, uint32_t *out)
{
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach), .pt_id = pt_id };
	long rc = proc_ioctl(p, dfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach);

	if (out)
		*out = attach.pt_id;
	return rc;
}

static inline long cdev_detach(struct uvf_proc *p, int dfd)
{
	struct vfio_device_detach_iommufd_pt detach = { .argsz = sizeof(detach) };

	return proc_ioctl(p, dfd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach);
}

/* The selftests' teardown: close, reopen, and no page of buf is pinned. */
static inline void teardown_iommufd(struct uvf_proc *p, int fd, const void *buf, uint64_t len)
{
	assert_int_equal(proc_close(p, fd), 0);
	fd = iommufd_open(p);
	assert_errno(check_refs(p, fd, buf, len, 0), 0);
	assert_int_equal(proc_close(p, fd), 0);
}

#endif
