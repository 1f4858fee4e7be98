/* SPDX-License-Identifier: MIT */
/*
 * A mock VFIO device for the core's tests: a uvf_device in an IOMMU group
 * with a sysfs directory, and a vfio_device whose ops count their calls.
 * It lets the container, group and type1 tests run without any bus or
 * device model.  Include after harness.h.
 */
#ifndef UVF_TEST_VFIO_MOCK_H
#define UVF_TEST_VFIO_MOCK_H

#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>
#include "core/host/device.h"
#include "core/iommu/iommu.h"
#include "core/sysfs/sysfs.h"
#include "core/vfio/vfio.h"
#include "core/vfio/vfio_priv.h"

#define MOCK_IOCTL_BASE 1000

struct mock_dev {
	struct uvf_device dev;
	struct vfio_device vdev;
	atomic_int open_calls, close_calls, request_calls;
	int open_ret;
	uint32_t feature_flags;
	size_t feature_argsz;
	bool registered;
};

static inline struct mock_dev *to_mock(struct vfio_device *vdev)
{
	return container_of(vdev, struct mock_dev, vdev);
}

static inline int mock_open_device(struct vfio_device *vdev)
{
	struct mock_dev *m = to_mock(vdev);

	m->open_calls++;
	return m->open_ret;
}

static inline void mock_close_device(struct vfio_device *vdev)
{
	to_mock(vdev)->close_calls++;
}

/* Proves forwarding: the answer encodes the command. */
static inline long mock_ioctl(struct vfio_device *vdev, struct uvf_caller *c,
			      unsigned int cmd, uint64_t arg)
{
	return MOCK_IOCTL_BASE + (cmd & 0xff);
}

static inline ssize_t mock_read(struct vfio_device *vdev, struct uvf_caller *c,
				uint64_t ubuf, size_t count, uint64_t pos)
{
	static const char data[] = "mock-data";

	count = count < sizeof(data) ? count : sizeof(data);
	return copy_to_user(c, ubuf, data, count) ? -EFAULT : (ssize_t)count;
}

static inline void mock_request(struct vfio_device *vdev, unsigned int count)
{
	to_mock(vdev)->request_calls++;
}

static inline int mock_device_feature(struct vfio_device *vdev, struct uvf_caller *c,
				      uint32_t flags, uint64_t arg, size_t argsz)
{
	struct mock_dev *m = to_mock(vdev);

	m->feature_flags = flags;
	m->feature_argsz = argsz;
	return 77;
}

static const struct vfio_device_ops mock_ops UVF_UNUSED = {
	.name = "mock",
	.open_device = mock_open_device,
	.close_device = mock_close_device,
	.ioctl = mock_ioctl,
	.read = mock_read,
	.request = mock_request,
	.device_feature = mock_device_feature,
};

/* Only the mandatory parts: every optional op is missing. */
static const struct vfio_device_ops mock_bare_ops UVF_UNUSED = {
	.name = "mock-bare",
};

/* A device named 'name' in IOMMU group 'group_id' (made if needed), or in
 * no group when group_id < 0.  Not registered yet. */
static inline struct mock_dev *mock_dev_new(struct uvf_host *h, int group_id, const char *name,
					    const struct vfio_device_ops *ops)
{
	struct mock_dev *m = calloc(1, sizeof(*m));
	char path[128];

	assert_non_null(m);
	snprintf(m->dev.name, sizeof(m->dev.name), "%s", name);
	m->dev.host = h;
	m->dev.bus = "mock";
	list_init(&m->dev.group_link);
	list_init(&m->dev.host_link);
	snprintf(path, sizeof(path), "devices/mock/%s", name);
	m->dev.sysfs_dir = sysfs_mkdir_p(sysfs_root(h->sysfs), path);
	assert_non_null(m->dev.sysfs_dir);
	if (group_id >= 0) {
		struct iommu_group *g = iommu_group_find(h, (unsigned int)group_id);

		if (g) {
			assert_int_equal(iommu_group_add_device(g, &m->dev), 0);
		} else {
			/* The host keeps this reference until host_free.
			 * An x86 group: the MSI window is reserved. */
			g = iommu_group_new(h, (unsigned int)group_id);
			assert_non_null(g);
			g->resv[0] = (struct iommu_resv_region){ 0xfee00000, 0xfeefffff, false };
			g->nresv = 1;
			assert_int_equal(iommu_group_add_device(g, &m->dev), 0);
		}
	}
	vfio_init_device(&m->vdev, &m->dev, ops);
	return m;
}

static inline struct mock_dev *mock_dev_add(struct uvf_host *h, int group_id, const char *name)
{
	struct mock_dev *m = mock_dev_new(h, group_id, name, &mock_ops);

	assert_int_equal(vfio_register_group_dev(&m->vdev), 0);
	m->registered = true;
	return m;
}

static inline void mock_dev_unregister(struct mock_dev *m)
{
	if (!m->registered)
		return;
	vfio_unregister_group_dev(&m->vdev);
	m->registered = false;
}

static inline void mock_dev_free(struct mock_dev *m)
{
	mock_dev_unregister(m);
	iommu_group_remove_device(&m->dev);
	sysfs_remove(m->dev.sysfs_dir);
	free(m);
}

/* A kernel driver: binding it makes its device's group non-viable. */
static inline int mock_kdrv_probe(struct uvf_device *dev) { return 0; }
static const struct uvf_driver mock_kernel_driver UVF_UNUSED = {
	.name = "mock-kdrv", .bus = "mock", .driver_managed_dma = false,
	.probe = mock_kdrv_probe,
};
static const struct uvf_driver mock_managed_driver UVF_UNUSED = {
	.name = "mock-stub", .bus = "mock", .driver_managed_dma = true,
	.probe = mock_kdrv_probe,
};

/* ---- shortcuts for the uAPI ---------------------------------------------- */

static inline int group_open(struct uvf_proc *p, unsigned int id)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/vfio/%u", id);
	return proc_open(p, path, O_RDWR);
}

static inline uint32_t group_status(struct uvf_proc *p, int gfd)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };

	assert_int_equal(proc_ioctl(p, gfd, VFIO_GROUP_GET_STATUS, &st), 0);
	return st.flags;
}

static inline long group_set_container(struct uvf_proc *p, int gfd, int cfd)
{
	int32_t fd = cfd;

	return proc_ioctl(p, gfd, VFIO_GROUP_SET_CONTAINER, &fd);
}

/* Open the group, attach it to a new container and set 'iommu' (if not 0). */
static inline int container_with_group(struct uvf_proc *p, int gfd, unsigned long iommu)
{
	int cfd = proc_open(p, "/dev/vfio/vfio", O_RDWR);

	assert_true(cfd >= 0);
	assert_errno(group_set_container(p, gfd, cfd), 0);
	if (iommu)
		assert_errno(proc_ioctl_val(p, cfd, VFIO_SET_IOMMU, iommu), 0);
	return cfd;
}

static inline long dma_map(struct uvf_proc *p, int cfd, uint64_t vaddr, uint64_t iova,
			   uint64_t size, uint32_t flags)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map), .flags = flags, .vaddr = vaddr, .iova = iova, .size = size,
	};

	return proc_ioctl(p, cfd, VFIO_IOMMU_MAP_DMA, &map);
}

#define DMA_RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

/* Unmap; *unmapped receives the size the kernel reports back. */
static inline long dma_unmap(struct uvf_proc *p, int cfd, uint64_t iova, uint64_t size,
			     uint32_t flags, uint64_t *unmapped)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .flags = flags, .iova = iova, .size = size,
	};
	long ret = proc_ioctl(p, cfd, VFIO_IOMMU_UNMAP_DMA, &unmap);

	if (unmapped)
		*unmapped = unmap.size;
	return ret;
}

/* Read a sysfs attribute as root into buf as a string. */
static inline void sysfs_read_str(struct uvf_host *h, const char *path, char *buf, size_t size)
{
	static const struct uvf_caller root;
	ssize_t n = sysfs_read(h->sysfs, &root, path, buf, size - 1, 0);

	if (n < 0)
		fail_msg("read %s: %s", path, strerror((int)-n));
	buf[n] = '\0';
}

static inline long container_check_ext(struct uvf_proc *p, int cfd, unsigned long ext)
{
	return proc_ioctl_val(p, cfd, VFIO_CHECK_EXTENSION, ext);
}

/* Hand a file from one process to another, as fd passing does. */
static inline int proc_pass_fd(struct uvf_proc *from, int fd, struct uvf_proc *to)
{
	struct uvf_file *file = proc_file(from, fd);

	assert_non_null(file);
	file_get(file);
	return proc_install(to, file);
}

/* Anonymous memory the host may map for DMA (mm_self reaches it). */
static inline void *test_mem(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

#endif
