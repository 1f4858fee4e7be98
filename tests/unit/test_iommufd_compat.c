// SPDX-License-Identifier: MIT
/*
 * VFIO container compatibility of iommufd: the type1 ioctls on an iommufd
 * (the kernel selftests' iommufd.* and vfio_compat_mock_domain.* cases),
 * VFIO_GROUP_SET_CONTAINER with an iommufd, and /dev/vfio/vfio served by
 * iommufd (the host option iommufd_vfio_container), with the differences
 * from the type1 backend that kernel-uapi.md section 2.5 lists.
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
	int fd;
	uint8_t *buf;
};

static int setup_host(void **state, const char *json)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->h = test_host_from_json(json);
	f->p = proc_new_root(f->h);
	f->fd = iommufd_open(f->p);
	f->buf = shared_buf(BUF_SIZE);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_host(state, "{\"limits\": {\"iommufd_test\": true}}");
}

/* The built-in machine, with iommufd serving /dev/vfio/vfio. */
static int setup_vfio_container(void **state)
{
	char json[4096];
	const char *dflt = topology_default_json();
	const char *brace = strchr(dflt, '{');

	snprintf(json, sizeof(json), "{ \"limits\": { \"iommufd_vfio_container\": true },%s",
		 brace + 1);
	return setup_host(state, json);
}

static int setup_default(void **state)
{
	return setup_host(state, topology_default_json());
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

static long vfio_ioas(struct uvf_proc *p, int fd, uint16_t op, uint32_t *id)
{
	struct iommu_vfio_ioas cmd = { .size = sizeof(cmd), .op = op, .ioas_id = id ? *id : 0 };
	long rc = proc_ioctl(p, fd, IOMMU_VFIO_IOAS, &cmd);

	if (id)
		*id = cmd.ioas_id;
	return rc;
}

/* ---- without a compat IOAS ----------------------------------------------------------- */

static void test_simple_ioctls_and_enodev(void **state)
{
	struct fixture *f = *state;
	struct vfio_iommu_type1_dma_unmap unmap = { .iova = MOCK_APERTURE_START, .size = PG };
	struct vfio_iommu_type1_dma_map map = { .iova = MOCK_APERTURE_START, .size = PG,
						.vaddr = (uintptr_t)f->buf };
	struct vfio_iommu_type1_info info = { 0 };

	assert_int_equal(proc_ioctl_val(f->p, f->fd, VFIO_GET_API_VERSION, 0), VFIO_API_VERSION);
	assert_int_equal(container_check_ext(f->p, f->fd, VFIO_TYPE1v2_IOMMU), 1);
	assert_int_equal(container_check_ext(f->p, f->fd, VFIO_TYPE1_IOMMU), 1);
	assert_int_equal(container_check_ext(f->p, f->fd, VFIO_UNMAP_ALL), 1);
	assert_int_equal(container_check_ext(f->p, f->fd, VFIO_UPDATE_VADDR), 0);
	assert_int_equal(container_check_ext(f->p, f->fd, 6), 0);	/* TYPE1_NESTING */
	assert_errno(container_check_ext(f->p, f->fd, VFIO_DMA_CC_IOMMU), -ENODEV);
	assert_errno(proc_ioctl_val(f->p, f->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -ENODEV);
	assert_errno(proc_ioctl_val(f->p, f->fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), -ENODEV);
	assert_errno(proc_ioctl_val(f->p, f->fd, VFIO_SET_IOMMU, 2), -EINVAL);
	unmap.argsz = 1;
	assert_errno(proc_ioctl(f->p, f->fd, VFIO_IOMMU_UNMAP_DMA, &unmap), -EINVAL);
	unmap.argsz = sizeof(unmap);
	unmap.flags = 1u << 31;
	assert_errno(proc_ioctl(f->p, f->fd, VFIO_IOMMU_UNMAP_DMA, &unmap), -EINVAL);
	unmap.flags = 0;
	assert_errno(proc_ioctl(f->p, f->fd, VFIO_IOMMU_UNMAP_DMA, &unmap), -ENODEV);
	map.argsz = 1;
	assert_errno(proc_ioctl(f->p, f->fd, VFIO_IOMMU_MAP_DMA, &map), -EINVAL);
	map.argsz = sizeof(map);
	map.flags = 1u << 31;
	assert_errno(proc_ioctl(f->p, f->fd, VFIO_IOMMU_MAP_DMA, &map), -EINVAL);
	map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	assert_errno(proc_ioctl(f->p, f->fd, VFIO_IOMMU_MAP_DMA, &map), -ENODEV);
	info.argsz = 1;
	assert_errno(proc_ioctl(f->p, f->fd, VFIO_IOMMU_GET_INFO, &info), -EINVAL);
	info.argsz = sizeof(info);
	assert_errno(proc_ioctl(f->p, f->fd, VFIO_IOMMU_GET_INFO, &info), -ENODEV);
	/* Not offered at all. */
	assert_errno(proc_ioctl(f->p, f->fd, VFIO_IOMMU_DIRTY_PAGES, &info), -ENOTTY);
}

static void test_vfio_ioas(void **state)
{
	struct fixture *f = *state;
	uint32_t id = 0, ioas;

	assert_errno(vfio_ioas(f->p, f->fd, IOMMU_VFIO_IOAS_GET, &id), -ENODEV);
	assert_errno(vfio_ioas(f->p, f->fd, IOMMU_VFIO_IOAS_SET, &id), -ENOENT);
	assert_errno(ioas_alloc(f->p, f->fd, &ioas), 0);
	id = ioas;
	assert_errno(vfio_ioas(f->p, f->fd, IOMMU_VFIO_IOAS_SET, &id), 0);
	id = 0;
	assert_errno(vfio_ioas(f->p, f->fd, IOMMU_VFIO_IOAS_GET, &id), 0);
	assert_int_equal(id, ioas);
	assert_errno(vfio_ioas(f->p, f->fd, IOMMU_VFIO_IOAS_CLEAR, NULL), 0);
	assert_errno(vfio_ioas(f->p, f->fd, IOMMU_VFIO_IOAS_GET, &id), -ENODEV);
	assert_errno(vfio_ioas(f->p, f->fd, 3, &id), -EOPNOTSUPP);
	/* Destroying the compat IOAS unsets it. */
	assert_errno(vfio_ioas(f->p, f->fd, IOMMU_VFIO_IOAS_SET, &ioas), 0);
	assert_errno(obj_destroy(f->p, f->fd, ioas), 0);
	assert_errno(vfio_ioas(f->p, f->fd, IOMMU_VFIO_IOAS_GET, &id), -ENODEV);
}

/* ---- vfio_compat_mock_domain ---------------------------------------------------------- */

static uint32_t compat_with_mock(struct fixture *f, unsigned long version)
{
	uint32_t ioas;

	assert_errno(ioas_alloc(f->p, f->fd, &ioas), 0);
	assert_errno(mock_domain(f->p, f->fd, ioas, NULL, NULL, NULL), 0);
	assert_errno(vfio_ioas(f->p, f->fd, IOMMU_VFIO_IOAS_SET, &ioas), 0);
	assert_errno(proc_ioctl_val(f->p, f->fd, VFIO_SET_IOMMU, version), 0);
	return ioas;
}

static void test_compat_option_huge_pages(void **state)
{
	struct fixture *f = *state;

	for (unsigned long v = VFIO_TYPE1_IOMMU; v <= VFIO_TYPE1v2_IOMMU; v += 2) {
		uint32_t ioas = compat_with_mock(f, v);
		struct iommu_option cmd = {
			.size = sizeof(cmd), .option_id = IOMMU_OPTION_HUGE_PAGES,
			.op = IOMMU_OPTION_OP_GET, .val64 = 3, .object_id = ioas,
		};

		assert_errno(proc_ioctl(f->p, f->fd, IOMMU_OPTION, &cmd), 0);
		assert_int_equal(cmd.val64, v == VFIO_TYPE1_IOMMU ? 0 : 1);
		assert_int_equal(container_check_ext(f->p, f->fd, VFIO_DMA_CC_IOMMU), 1);
	}
}

static bool is_filled(const uint8_t *b, uint8_t c, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (b[i] != c)
			return false;
	return true;
}

/* GET_INFO writes nothing past argsz, for every argsz. */
static void get_info_check_buf(struct fixture *f, uint32_t argsz)
{
	struct vfio_iommu_type1_info *info = (void *)f->buf;

	*info = (struct vfio_iommu_type1_info){ .argsz = argsz };
	memset(f->buf + argsz, 0xaa, BUF_SIZE - argsz);
	assert_errno(proc_ioctl(f->p, f->fd, VFIO_IOMMU_GET_INFO, info), 0);
	assert_true(is_filled(f->buf + argsz, 0xaa, BUF_SIZE - argsz));
	assert_int_equal(info->flags, VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
	assert_int_not_equal(info->iova_pgsizes, 0);
}

static void test_compat_get_info(void **state)
{
	struct fixture *f = *state;
	struct vfio_iommu_type1_info *info = (void *)f->buf;
	struct vfio_iommu_type1_info_dma_avail *avail;
	struct vfio_iommu_type1_info_cap_iova_range *range;
	uint32_t caplen;

	compat_with_mock(f, VFIO_TYPE1v2_IOMMU);
	get_info_check_buf(f, offsetof(struct vfio_iommu_type1_info, cap_offset));
	get_info_check_buf(f, sizeof(*info));
	assert_int_equal(info->cap_offset, 0);
	assert_true(info->argsz > sizeof(*info));
	assert_int_equal(info->iova_pgsizes, PG);
	caplen = info->argsz;
	for (uint32_t i = sizeof(*info); i < caplen; i++)
		get_info_check_buf(f, i);
	/* The whole chain: DMA_AVAIL (U32_MAX), then the aperture. */
	get_info_check_buf(f, caplen);
	assert_int_equal(info->cap_offset, sizeof(*info));
	avail = (void *)(f->buf + info->cap_offset);
	assert_int_equal(avail->header.id, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
	assert_int_equal(avail->header.version, 1);
	assert_int_equal(avail->avail, UINT32_MAX);
	range = (void *)(f->buf + avail->header.next);
	assert_int_equal(range->header.id, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
	assert_int_equal(range->header.next, 0);
	assert_int_equal(range->nr_iovas, 1);
	assert_int_equal(range->iova_ranges[0].start, MOCK_APERTURE_START);
	assert_int_equal(range->iova_ranges[0].end, MOCK_APERTURE_LAST);
}

static void test_compat_map(void **state)
{
	struct fixture *f = *state;
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)f->buf, .size = BUF_SIZE, .iova = MOCK_APERTURE_START,
	};
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .size = BUF_SIZE, .iova = MOCK_APERTURE_START,
	};

	compat_with_mock(f, VFIO_TYPE1v2_IOMMU);
	assert_errno(proc_ioctl(f->p, f->fd, VFIO_IOMMU_MAP_DMA, &map), 0);
	assert_errno(proc_ioctl(f->p, f->fd, VFIO_IOMMU_MAP_DMA, &map), -EEXIST);
	assert_errno(proc_ioctl(f->p, f->fd, VFIO_IOMMU_UNMAP_DMA, &unmap), 0);
	assert_int_equal(unmap.size, BUF_SIZE);
	/* Unmapping nothing succeeds, as type1's. */
	assert_errno(proc_ioctl(f->p, f->fd, VFIO_IOMMU_UNMAP_DMA, &unmap), 0);
	assert_int_equal(unmap.size, 0);
	assert_errno(proc_ioctl(f->p, f->fd, VFIO_IOMMU_MAP_DMA, &map), 0);
	unmap.flags = VFIO_DMA_UNMAP_FLAG_ALL;
	assert_errno(proc_ioctl(f->p, f->fd, VFIO_IOMMU_UNMAP_DMA, &unmap), -EINVAL);
	unmap.iova = 0;
	unmap.size = 0;
	assert_errno(proc_ioctl(f->p, f->fd, VFIO_IOMMU_UNMAP_DMA, &unmap), 0);
	assert_int_equal(unmap.size, BUF_SIZE);
	/* Not offered: VADDR on either side, dirty bitmaps. */
	map.flags = VFIO_DMA_MAP_FLAG_VADDR;
	assert_errno(proc_ioctl(f->p, f->fd, VFIO_IOMMU_MAP_DMA, &map), -EINVAL);
	unmap.flags = VFIO_DMA_UNMAP_FLAG_VADDR;
	assert_errno(proc_ioctl(f->p, f->fd, VFIO_IOMMU_UNMAP_DMA, &unmap), -EINVAL);
	unmap.flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
	assert_errno(proc_ioctl(f->p, f->fd, VFIO_IOMMU_UNMAP_DMA, &unmap), -EINVAL);
	/* Page by page, unmapped in another order. */
	map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	map.size = PG;
	for (unsigned int i = 0; i < 16; i++) {
		map.iova = MOCK_APERTURE_START + i * PG;
		map.vaddr = (uintptr_t)f->buf + i * PG;
		assert_errno(proc_ioctl(f->p, f->fd, VFIO_IOMMU_MAP_DMA, &map), 0);
	}
	unmap.flags = 0;
	unmap.size = PG;
	for (unsigned int i = 0; i < 16; i++) {
		unmap.iova = MOCK_APERTURE_START + ((i * 7) % 16) * PG;
		assert_errno(proc_ioctl(f->p, f->fd, VFIO_IOMMU_UNMAP_DMA, &unmap), 0);
		assert_int_equal(unmap.size, PG);
	}
	/* Outside the aperture: reserved, EINVAL. */
	map.iova = 0;
	assert_errno(proc_ioctl(f->p, f->fd, VFIO_IOMMU_MAP_DMA, &map), -EINVAL);
}

/* huge_map: v1 may cut a mapping, v2 never (ENOENT). */
static void test_compat_huge_map(void **state)
{
	struct fixture *f = *state;
	size_t size = 2 * HUGE_SZ;
	uint8_t *buf = shared_buf(size);

	for (unsigned long v = VFIO_TYPE1_IOMMU; v <= VFIO_TYPE1v2_IOMMU; v += 2) {
		struct vfio_iommu_type1_dma_map map = {
			.argsz = sizeof(map),
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)buf, .size = size, .iova = MOCK_APERTURE_START,
		};
		struct vfio_iommu_type1_dma_unmap unmap = {
			.argsz = sizeof(unmap), .size = size / 16,
		};

		if (v == VFIO_TYPE1v2_IOMMU) {
			assert_int_equal(proc_close(f->p, f->fd), 0);
			f->fd = iommufd_open(f->p);
		}
		compat_with_mock(f, v);
		assert_errno(proc_ioctl(f->p, f->fd, VFIO_IOMMU_MAP_DMA, &map), 0);
		for (unsigned int i = 0; i < 16; i++) {
			unmap.iova = MOCK_APERTURE_START + ((i * 5) % 16) * (size / 16);
			unmap.size = size / 16;
			assert_errno(proc_ioctl(f->p, f->fd, VFIO_IOMMU_UNMAP_DMA, &unmap),
				     v == VFIO_TYPE1_IOMMU ? 0 : -ENOENT);
		}
	}
	munmap(buf, size);
}

/* ---- the group path with an iommufd --------------------------------------------------- */

static void test_group_set_container_iommufd(void **state)
{
	struct fixture *f = *state;
	int gfd = group_open(f->p, 3), dfd, gfd2;
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)f->buf, .size = BUF_SIZE, .iova = 0x100000,
	};
	uint8_t b[8];
	uint32_t id = 0;

	assert_true(gfd >= 0);
	/* Neither a container nor an iommufd: EBADFD. */
	assert_errno(group_set_container(f->p, gfd, gfd), -EBADFD);
	assert_int_equal(group_status(f->p, gfd), VFIO_GROUP_FLAGS_VIABLE);
	assert_errno(group_set_container(f->p, gfd, f->fd), 0);
	assert_int_equal(group_status(f->p, gfd),
			 VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
	assert_errno(group_set_container(f->p, gfd, f->fd), -EINVAL);
	/* The compat IOAS exists now, an ordinary object. */
	assert_errno(vfio_ioas(f->p, f->fd, IOMMU_VFIO_IOAS_GET, &id), 0);
	assert_errno(proc_ioctl_val(f->p, f->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	assert_errno(proc_ioctl(f->p, f->fd, VFIO_IOMMU_MAP_DMA, &map), 0);
	memcpy(f->buf, "compat!", 8);
	dfd = (int)proc_ioctl(f->p, gfd, VFIO_GROUP_GET_DEVICE_FD, "0000:00:03.0");
	assert_true(dfd >= 0);
	/* The device is bound and attached to the compat IOAS. */
	assert_errno(dma_read(device_find(f->h, "pci", "0000:00:03.0"), 0x100000, b, 8, NULL), 0);
	assert_string_equal((char *)b, "compat!");
	assert_errno(obj_destroy(f->p, f->fd, id), -EBUSY);
	/* A second fd of the device: fine on the group path. */
	gfd2 = (int)proc_ioctl(f->p, gfd, VFIO_GROUP_GET_DEVICE_FD, "0000:00:03.0");
	assert_true(gfd2 >= 0);
	assert_int_equal(proc_close(f->p, gfd2), 0);
	/* The cdev of the same group is excluded. */
	assert_errno(cdev_bind(f->p, cdev_open(f->p, "0000:00:03.0"), f->fd, NULL), -EBUSY);
	assert_int_equal(proc_close(f->p, dfd), 0);
	assert_errno(dma_read(device_find(f->h, "pci", "0000:00:03.0"), 0x100000, b, 8, NULL),
		     -EPERM);
	assert_errno(proc_ioctl_val(f->p, gfd, VFIO_GROUP_UNSET_CONTAINER, 0), 0);
	assert_errno(proc_ioctl_val(f->p, gfd, VFIO_GROUP_UNSET_CONTAINER, 0), -EINVAL);
	assert_errno(proc_ioctl(f->p, gfd, VFIO_GROUP_GET_DEVICE_FD, "0000:00:03.0"), -EINVAL);
	/* The iommufd path claims ownership per device: a non-viable group
	 * looks viable and GET_DEVICE_FD fails. */
	gfd2 = group_open(f->p, 6);
	assert_int_equal(group_status(f->p, gfd2), 0);
	assert_errno(group_set_container(f->p, gfd2, f->fd), 0);
	assert_int_equal(group_status(f->p, gfd2),
			 VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
	assert_errno(proc_ioctl(f->p, gfd2, VFIO_GROUP_GET_DEVICE_FD, "0000:00:06.0"), -EPERM);
	assert_int_equal(proc_close(f->p, gfd2), 0);
	assert_int_equal(proc_close(f->p, gfd), 0);
}

/* ---- /dev/vfio/vfio served by iommufd ----------------------------------------------------- */

static void test_dev_vfio_vfio_is_iommufd(void **state)
{
	struct fixture *f = *state;
	int cfd = proc_open(f->p, "/dev/vfio/vfio", O_RDWR), gfd = group_open(f->p, 4), dfd;
	struct iommu_option opt = { .size = sizeof(opt), .option_id = IOMMU_OPTION_RLIMIT_MODE,
				    .op = IOMMU_OPTION_OP_GET };
	struct vfio_iommu_type1_info *info = (void *)f->buf;
	struct vfio_iommu_type1_info_cap_iova_range *range;
	struct vfio_iommu_type1_info_dma_avail *avail;
	uint8_t b[8];

	assert_true(cfd >= 0);
	/* It is an iommufd: iommufd ioctls work, in mm accounting mode. */
	assert_errno(proc_ioctl(f->p, cfd, IOMMU_OPTION, &opt), 0);
	assert_int_equal(opt.val64, 1);
	/* Without a group: ENODEV where a VFIO container says EINVAL. */
	assert_errno(proc_ioctl_val(f->p, cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -ENODEV);
	assert_errno(group_set_container(f->p, gfd, cfd), 0);
	assert_errno(proc_ioctl_val(f->p, cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	assert_int_equal(container_check_ext(f->p, cfd, VFIO_UPDATE_VADDR), 0);
	assert_errno(dma_map(f->p, cfd, (uintptr_t)f->buf, 0x100000, BUF_SIZE, DMA_RW), 0);
	dfd = (int)proc_ioctl(f->p, gfd, VFIO_GROUP_GET_DEVICE_FD, "0000:00:04.0");
	assert_true(dfd >= 0);
	memcpy(f->buf + PG, "served!", 8);
	assert_errno(dma_read(device_find(f->h, "pci", "0000:00:04.0"), 0x100000 + PG, b, 8, NULL),
		     0);
	assert_string_equal((char *)b, "served!");
	/* GET_INFO: the group's aperture less its MSI window; no MIGRATION. */
	memset(f->buf, 0, PG);
	info->argsz = PG;
	assert_errno(proc_ioctl(f->p, cfd, VFIO_IOMMU_GET_INFO, info), 0);
	assert_int_equal(info->iova_pgsizes, PG | (2UL << 20) | (1UL << 30));
	avail = (void *)(f->buf + info->cap_offset);
	assert_int_equal(avail->header.id, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
	range = (void *)(f->buf + avail->header.next);
	assert_int_equal(range->nr_iovas, 2);
	assert_int_equal(range->iova_ranges[0].end, 0xfedfffff);
	assert_int_equal(range->iova_ranges[1].start, 0xfef00000);
	assert_int_equal(range->header.next, 0);
	assert_int_equal(proc_close(f->p, dfd), 0);
	assert_int_equal(proc_close(f->p, gfd), 0);
	assert_int_equal(proc_close(f->p, cfd), 0);
}

/* Without the option it is VFIO's container, as before. */
static void test_dev_vfio_vfio_default(void **state)
{
	struct fixture *f = *state;
	int cfd = proc_open(f->p, "/dev/vfio/vfio", O_RDWR);
	struct iommu_option opt = { .size = sizeof(opt), .op = IOMMU_OPTION_OP_GET };

	assert_errno(proc_ioctl_val(f->p, cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -EINVAL);
	assert_errno(proc_ioctl(f->p, cfd, IOMMU_OPTION, &opt), -EINVAL);
	assert_int_equal(proc_close(f->p, cfd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_simple_ioctls_and_enodev, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vfio_ioas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compat_option_huge_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compat_get_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compat_map, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compat_huge_map, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_set_container_iommufd, setup_default,
						teardown),
		cmocka_unit_test_setup_teardown(test_dev_vfio_vfio_is_iommufd, setup_vfio_container,
						teardown),
		cmocka_unit_test_setup_teardown(test_dev_vfio_vfio_default, setup_default, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
