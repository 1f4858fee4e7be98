// SPDX-License-Identifier: MIT
/*
 * iommufd: dispatch and the extensible-struct rules, IOAS map/unmap/copy,
 * allowed and reserved ranges, options, accesses, mock domains, HWPTs
 * (paging, nested, dirty tracking), fault queues, lazy pinning and its
 * accounting, fail-nth.  Many cases mirror the kernel's own selftests
 * (tools/testing/selftests/iommu/iommufd.c) and expect what they expect.
 */
#include "harness.h"
#include "iommufd_helpers.h"
#include "core/host/devnode.h"

struct fixture {
	struct uvf_host *h;
	struct uvf_proc *p;
	int fd;
	uint32_t ioas;
	uint8_t *buf;			/* BUF_SIZE, shared, huge-page aligned */
	/* the mock_domain variant */
	uint32_t stdev, hwpt, idev;
	uint64_t base_iova;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->h = iommufd_host(NULL);
	f->p = proc_new_root(f->h);
	f->fd = iommufd_open(f->p);
	assert_errno(ioas_alloc(f->p, f->fd, &f->ioas), 0);
	f->buf = shared_buf(BUF_SIZE);
	*state = f;
	return 0;
}

/* The mock_domain variant: one mock device attached to the IOAS. */
static void with_domain(struct fixture *f)
{
	assert_errno(mock_domain(f->p, f->fd, f->ioas, &f->stdev, &f->hwpt, &f->idev), 0);
	f->base_iova = MOCK_APERTURE_START;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	teardown_iommufd(f->p, f->fd, f->buf, BUF_SIZE);
	proc_free(f->p);
	host_free(f->h);
	munmap(f->buf, BUF_SIZE);
	free(f);
	return 0;
}

/* ---- dispatch ------------------------------------------------------------------------ */

static void test_cmd_fail(void **state)
{
	struct fixture *f = *state;
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = 0 };

	assert_errno(obj_destroy(f->p, f->fd, 0), -ENOENT);
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_DESTROY, NULL), -EFAULT);
	assert_errno(proc_ioctl(f->p, f->fd, _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE - 1), &cmd),
		     -ENOTTY);
	/* A number the table does not have, and a type byte it does not own. */
	assert_errno(proc_ioctl(f->p, f->fd, _IO(IOMMUFD_TYPE, 0x9f), &cmd), -ENOTTY);
	assert_errno(proc_ioctl(f->p, f->fd, _IO('X', 0x80), &cmd), -ENOTTY);
}

/* size < minimum: EINVAL; a non-zero byte past the struct: E2BIG; a zero
 * one: the same answer as the exact size. */
#define TEST_LENGTH(_struct, _ioctl, _last)						\
	do {										\
		size_t min_size = offsetofend(struct _struct, _last);			\
		struct {								\
			struct _struct cmd;						\
			uint8_t extra;							\
		} cmd = { .cmd = { .size = min_size - 1 }, .extra = UINT8_MAX };	\
		long rc;								\
											\
		assert_errno(proc_ioctl(f->p, f->fd, _ioctl, &cmd), -EINVAL);		\
		cmd.cmd.size = sizeof(struct _struct) + 1;				\
		assert_errno(proc_ioctl(f->p, f->fd, _ioctl, &cmd), -E2BIG);		\
		cmd.cmd.size = sizeof(struct _struct);					\
		rc = proc_ioctl(f->p, f->fd, _ioctl, &cmd);				\
		cmd.cmd.size = sizeof(struct _struct) + 1;				\
		cmd.extra = 0;								\
		assert_errno(proc_ioctl(f->p, f->fd, _ioctl, &cmd), rc);		\
	} while (0)

static void test_cmd_length(void **state)
{
	struct fixture *f = *state;

	TEST_LENGTH(iommu_destroy, IOMMU_DESTROY, id);
	TEST_LENGTH(iommu_hw_info, IOMMU_GET_HW_INFO, __reserved);
	TEST_LENGTH(iommu_hwpt_alloc, IOMMU_HWPT_ALLOC, __reserved);
	TEST_LENGTH(iommu_hwpt_invalidate, IOMMU_HWPT_INVALIDATE, __reserved);
	TEST_LENGTH(iommu_ioas_alloc, IOMMU_IOAS_ALLOC, out_ioas_id);
	TEST_LENGTH(iommu_ioas_iova_ranges, IOMMU_IOAS_IOVA_RANGES, out_iova_alignment);
	TEST_LENGTH(iommu_ioas_allow_iovas, IOMMU_IOAS_ALLOW_IOVAS, allowed_iovas);
	TEST_LENGTH(iommu_ioas_map, IOMMU_IOAS_MAP, iova);
	TEST_LENGTH(iommu_ioas_copy, IOMMU_IOAS_COPY, src_iova);
	TEST_LENGTH(iommu_ioas_unmap, IOMMU_IOAS_UNMAP, length);
	TEST_LENGTH(iommu_option, IOMMU_OPTION, val64);
	TEST_LENGTH(iommu_vfio_ioas, IOMMU_VFIO_IOAS, __reserved);
	TEST_LENGTH(iommu_hwpt_set_dirty_tracking, IOMMU_HWPT_SET_DIRTY_TRACKING, __reserved);
	TEST_LENGTH(iommu_hwpt_get_dirty_bitmap, IOMMU_HWPT_GET_DIRTY_BITMAP, data);
	TEST_LENGTH(iommu_fault_alloc, IOMMU_FAULT_QUEUE_ALLOC, out_fault_fd);
	TEST_LENGTH(iommu_test_cmd, IOMMU_TEST_CMD, last);
}

static void test_cmd_ex_fail(void **state)
{
	struct fixture *f = *state;
	struct {
		struct iommu_destroy cmd;
		uint64_t future;
	} cmd = { .cmd = { .size = sizeof(cmd), .id = 0 } };

	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_DESTROY, &cmd), -ENOENT);
	cmd.future = 1;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_DESTROY, &cmd), -E2BIG);
	cmd.cmd.size = sizeof(cmd.cmd);
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_DESTROY, &cmd), -ENOENT);
	cmd.cmd.size = sizeof(cmd.cmd) - 1;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_DESTROY, &cmd), -EINVAL);
}

/* Reserved fields: EOPNOTSUPP, for every command that has them. */
static void test_reserved_fields(void **state)
{
	struct fixture *f = *state;
	struct iommu_ioas_map map = { .size = sizeof(map), .flags = MAP_RW, .ioas_id = f->ioas,
				      .__reserved = 1, .user_va = (uintptr_t)f->buf,
				      .length = PG };
	struct iommu_ioas_iova_ranges ranges = { .size = sizeof(ranges), .ioas_id = f->ioas,
						 .__reserved = 1 };
	struct iommu_option opt = { .size = sizeof(opt), .op = IOMMU_OPTION_OP_GET,
				    .__reserved = 1 };
	struct iommu_vfio_ioas vio = { .size = sizeof(vio), .__reserved = 1 };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc), .flags = 1 };
	struct iommu_hw_info info = { .size = sizeof(info), .__reserved = { 1 } };

	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_IOAS_MAP, &map), -EOPNOTSUPP);
	map.__reserved = 0;
	map.flags = 1 << 3;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_IOAS_MAP, &map), -EOPNOTSUPP);
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_IOAS_IOVA_RANGES, &ranges), -EOPNOTSUPP);
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_OPTION, &opt), -EOPNOTSUPP);
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_VFIO_IOAS, &vio), -EOPNOTSUPP);
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_IOAS_ALLOC, &alloc), -EOPNOTSUPP);
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_GET_HW_INFO, &info), -EOPNOTSUPP);
	/* MAP: iova/length of U64_MAX overflow; neither read nor write: EINVAL. */
	map.flags = MAP_RW;
	map.length = UINT64_MAX;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_IOAS_MAP, &map), -EOVERFLOW);
	map.length = PG;
	map.flags = IOMMU_IOAS_MAP_FIXED_IOVA;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_IOAS_MAP, &map), -EINVAL);
}

/* IOMMU_TEST_CMD exists only with the host option. */
static void test_test_cmd_needs_option(void **state)
{
	struct uvf_host *h = test_host_from_json("{}");
	struct uvf_proc *p = proc_new_root(h);
	int fd = iommufd_open(p);
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,
				      .memory_limit = { .limit = 65536 } };

	assert_errno(test_cmd(p, fd, &cmd), -ENOTTY);
	proc_free(p);
	host_free(h);
	(void)state;
}

static void test_global_options(void **state)
{
	struct fixture *f = *state;
	struct uvf_proc *user = proc_new(f->h, 0, 0, 0, UINT64_MAX);
	struct iommu_option cmd = {
		.size = sizeof(cmd), .option_id = IOMMU_OPTION_RLIMIT_MODE,
		.op = IOMMU_OPTION_OP_GET, .val64 = 1,
	};
	int ufd = iommufd_open(user);

	/* The IOAS of the fixture makes the context non-empty: use a fresh one. */
	assert_int_equal(proc_close(f->p, f->fd), 0);
	f->fd = iommufd_open(f->p);
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_OPTION, &cmd), 0);
	assert_int_equal(cmd.val64, 0);
	cmd.op = IOMMU_OPTION_OP_SET;
	cmd.val64 = 1;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_OPTION, &cmd), 0);
	/* Setting needs CAP_SYS_RESOURCE. */
	assert_errno(proc_ioctl(user, ufd, IOMMU_OPTION, &cmd), -EPERM);
	cmd.val64 = 2;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_OPTION, &cmd), -EINVAL);
	cmd.op = IOMMU_OPTION_OP_GET;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_OPTION, &cmd), 0);
	assert_int_equal(cmd.val64, 1);
	cmd.op = IOMMU_OPTION_OP_SET;
	cmd.val64 = 0;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_OPTION, &cmd), 0);
	/* A global option takes no object; HUGE_PAGES needs an IOAS. */
	cmd.object_id = 1;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_OPTION, &cmd), -EOPNOTSUPP);
	cmd.object_id = 0;
	cmd.op = IOMMU_OPTION_OP_GET;
	cmd.option_id = IOMMU_OPTION_HUGE_PAGES;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_OPTION, &cmd), -ENOENT);
	cmd.op = IOMMU_OPTION_OP_SET;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_OPTION, &cmd), -ENOENT);
	/* Only while the context is empty. */
	cmd.option_id = IOMMU_OPTION_RLIMIT_MODE;
	assert_errno(ioas_alloc(f->p, f->fd, &f->ioas), 0);
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_OPTION, &cmd), -EBUSY);
	cmd.option_id = 7;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_OPTION, &cmd), -EOPNOTSUPP);
	proc_free(user);
}

/* ---- IOAS ------------------------------------------------------------------------------ */

static void test_ioas_destroy(void **state)
{
	struct fixture *f = *state;
	uint32_t ioas2;

	assert_errno(ioas_alloc(f->p, f->fd, &ioas2), 0);
	assert_errno(ioas_map_fixed(f->p, f->fd, ioas2, f->buf, PG, MOCK_APERTURE_START), 0);
	/* Mappings do not prevent destruction; a device does. */
	assert_errno(obj_destroy(f->p, f->fd, ioas2), 0);
	assert_errno(obj_destroy(f->p, f->fd, ioas2), -ENOENT);
	with_domain(f);
	assert_errno(obj_destroy(f->p, f->fd, f->ioas), -EBUSY);
	assert_errno(obj_destroy(f->p, f->fd, f->hwpt), -EBUSY);
	/* The device goes, its automatic HWPT with it, then the IOAS may. */
	assert_errno(obj_destroy(f->p, f->fd, f->stdev), 0);
	assert_errno(obj_destroy(f->p, f->fd, f->hwpt), -ENOENT);
	assert_errno(obj_destroy(f->p, f->fd, f->ioas), 0);
	/* Ids are handed out lowest first again. */
	assert_errno(ioas_alloc(f->p, f->fd, &ioas2), 0);
	assert_int_equal(ioas2, 1);
}

static void run_area(struct fixture *f)
{
	uint64_t base = f->base_iova, unmapped;
	int i;

	for (i = 0; i != 10; i++)
		assert_errno(ioas_unmap(f->p, f->fd, f->ioas, i * PG, PG, NULL), -ENOENT);
	for (i = 0; i != 10; i++)
		assert_errno(ioas_map_fixed(f->p, f->fd, f->ioas, f->buf, PG, base + i * PG), 0);
	for (i = 0; i != 10; i++)
		assert_errno(ioas_unmap(f->p, f->fd, f->ioas, base + i * PG, PG, NULL), 0);
	/* No split. */
	assert_errno(ioas_map_fixed(f->p, f->fd, f->ioas, f->buf, 2 * PG, base + 16 * PG), 0);
	assert_errno(ioas_unmap(f->p, f->fd, f->ioas, base + 16 * PG, PG, NULL), -ENOENT);
	assert_errno(ioas_unmap(f->p, f->fd, f->ioas, base + 17 * PG, PG, NULL), -ENOENT);
	/* No over-map. */
	assert_errno(ioas_map_fixed(f->p, f->fd, f->ioas, f->buf, 2 * PG, base + 16 * PG), -EEXIST);
	assert_errno(ioas_map_fixed(f->p, f->fd, f->ioas, f->buf, PG, base + 17 * PG), -EEXIST);
	assert_errno(ioas_map_fixed(f->p, f->fd, f->ioas, f->buf, 3 * PG, base + 15 * PG), -EEXIST);
	assert_errno(ioas_unmap(f->p, f->fd, f->ioas, 0, UINT64_MAX, &unmapped), 0);
	assert_int_equal(unmapped, 2 * PG);
	assert_errno(ioas_unmap(f->p, f->fd, f->ioas, 0, UINT64_MAX, &unmapped), 0);
	assert_int_equal(unmapped, 0);
	/* Length 0 and wrapping ranges. */
	assert_errno(ioas_unmap(f->p, f->fd, f->ioas, PG, 0, NULL), -EINVAL);
	assert_errno(ioas_unmap(f->p, f->fd, f->ioas, UINT64_MAX - PG, 2 * PG, NULL), -EOVERFLOW);
	assert_errno(ioas_unmap(f->p, f->fd, 99, 0, PG, NULL), -ENOENT);
}

static void test_area(void **state)
{
	struct fixture *f = *state;

	run_area(f);
	with_domain(f);
	run_area(f);
}

static void test_unmap_fully_contained_areas(void **state)
{
	struct fixture *f = *state;
	uint64_t base, len;
	int i;

	with_domain(f);
	base = f->base_iova + 4 * PG;
	for (i = 0; i != 4; i++)
		assert_errno(ioas_map_fixed(f->p, f->fd, f->ioas, f->buf, 8 * PG,
					    base + i * 16 * PG), 0);
	assert_errno(ioas_unmap(f->p, f->fd, f->ioas, base - 4 * PG, 8 * PG, NULL), -ENOENT);
	assert_errno(ioas_unmap(f->p, f->fd, f->ioas, base + 3 * 16 * PG + 4 * PG, 8 * PG, NULL),
		     -ENOENT);
	assert_errno(ioas_unmap(f->p, f->fd, f->ioas, base - 4 * PG,
				3 * 16 * PG + 8 * PG + 4 * PG, &len), 0);
	assert_int_equal(len, 32 * PG);
}

static void run_area_auto_iova(struct fixture *f)
{
	struct iommu_test_cmd res = {
		.op = IOMMU_TEST_OP_ADD_RESERVED, .id = f->ioas,
		.add_reserved = { .start = PG * 4, .length = PG * 100 },
	};
	struct iommu_iova_range ranges[1] = { 0 };
	struct iommu_ioas_allow_iovas allow = {
		.size = sizeof(allow), .ioas_id = f->ioas, .num_iovas = 1,
		.allowed_iovas = (uintptr_t)ranges,
	};
	uint64_t iovas[10];
	int i;

	for (i = 0; i != 10; i++)
		assert_errno(ioas_map(f->p, f->fd, f->ioas, f->buf, PG, &iovas[i], MAP_RW), 0);
	for (i = 0; i != 10; i++)
		assert_errno(ioas_unmap(f->p, f->fd, f->ioas, iovas[i], PG, NULL), 0);
	/* Aligned to the length's lowest bit. */
	for (i = 0; i != 10; i++) {
		uint64_t len = PG * (i + 1);

		assert_errno(ioas_map(f->p, f->fd, f->ioas, f->buf, len, &iovas[i], MAP_RW), 0);
		assert_int_equal(iovas[i] % (len & -len), 0);
	}
	for (i = 0; i != 10; i++)
		assert_errno(ioas_unmap(f->p, f->fd, f->ioas, iovas[i], PG * (i + 1), NULL), 0);
	/* Around a reserved range. */
	assert_errno(test_cmd(f->p, f->fd, &res), 0);
	for (i = 0; i != 10; i++) {
		uint64_t len = PG * (i + 1);

		assert_errno(ioas_map(f->p, f->fd, f->ioas, f->buf, len, &iovas[i], MAP_RW), 0);
		assert_false(iovas[i] > res.add_reserved.start &&
			     iovas[i] < res.add_reserved.start + res.add_reserved.length);
	}
	for (i = 0; i != 10; i++)
		assert_errno(ioas_unmap(f->p, f->fd, f->ioas, iovas[i], PG * (i + 1), NULL), 0);
	/* An allowed range may not meet a reserved one. */
	ranges[0].start = PG;
	ranges[0].last = PG * 600;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_IOAS_ALLOW_IOVAS, &allow), -EADDRINUSE);
	/* Allocation stays inside the allowed range. */
	ranges[0].start = f->stdev ? MOCK_APERTURE_START + PG : PG * 200;
	ranges[0].last = ranges[0].start + PG * 400 - 1;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_IOAS_ALLOW_IOVAS, &allow), 0);
	for (i = 0; i != 10; i++) {
		uint64_t len = PG * (i + 1);

		assert_errno(ioas_map(f->p, f->fd, f->ioas, f->buf, len, &iovas[i], MAP_RW), 0);
		assert_true(iovas[i] >= ranges[0].start);
		assert_true(iovas[i] + len <= ranges[0].last + 1);
	}
	for (i = 0; i != 10; i++)
		assert_errno(ioas_unmap(f->p, f->fd, f->ioas, iovas[i], PG * (i + 1), NULL), 0);
	/* An invalid allowed list: start >= last, or overlapping entries. */
	allow.num_iovas = 1;
	ranges[0].last = ranges[0].start;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_IOAS_ALLOW_IOVAS, &allow), -EINVAL);
	allow.allowed_iovas = 8;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_IOAS_ALLOW_IOVAS, &allow), -EFAULT);
}

static void test_area_auto_iova(void **state)
{
	struct fixture *f = *state;

	run_area_auto_iova(f);
}

static void test_area_auto_iova_domain(void **state)
{
	struct fixture *f = *state;

	with_domain(f);
	run_area_auto_iova(f);
}

static void test_area_allowed(void **state)
{
	struct fixture *f = *state;
	struct iommu_test_cmd res = {
		.op = IOMMU_TEST_OP_ADD_RESERVED, .id = f->ioas,
		.add_reserved = { .start = PG * 4, .length = PG * 100 },
	};
	struct iommu_iova_range ranges[1] = { 0 };
	struct iommu_ioas_allow_iovas allow = {
		.size = sizeof(allow), .ioas_id = f->ioas, .num_iovas = 1,
		.allowed_iovas = (uintptr_t)ranges,
	};

	ranges[0].start = f->base_iova;
	ranges[0].last = ranges[0].start + PG * 600;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_IOAS_ALLOW_IOVAS, &allow), 0);
	res.add_reserved.start = ranges[0].start + PG;
	res.add_reserved.length = PG;
	assert_errno(test_cmd(f->p, f->fd, &res), -EADDRINUSE);
	allow.num_iovas = 0;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_IOAS_ALLOW_IOVAS, &allow), 0);
	assert_errno(test_cmd(f->p, f->fd, &res), 0);
	allow.num_iovas = 1;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_IOAS_ALLOW_IOVAS, &allow), -EADDRINUSE);
	/* A reserved range over a mapping, and the errors of ADD_RESERVED. */
	assert_errno(ioas_map_fixed(f->p, f->fd, f->ioas, f->buf, PG, 0x100000), 0);
	res.add_reserved.start = 0x100000;
	assert_errno(test_cmd(f->p, f->fd, &res), -EADDRINUSE);
	res.add_reserved.length = 0;
	assert_errno(test_cmd(f->p, f->fd, &res), -EINVAL);
	res.add_reserved.length = UINT64_MAX;
	assert_errno(test_cmd(f->p, f->fd, &res), -EOVERFLOW);
	/* A fixed map over a reserved range: iommufd says EINVAL. */
	assert_errno(ioas_map_fixed(f->p, f->fd, f->ioas, f->buf, PG, PG), -EINVAL);
}

static void test_copy_area(void **state)
{
	struct fixture *f = *state;
	struct iommu_ioas_copy copy = {
		.size = sizeof(copy),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE,
		.dst_ioas_id = f->ioas, .src_ioas_id = f->ioas, .length = PG,
	};

	with_domain(f);
	assert_errno(ioas_map_fixed(f->p, f->fd, f->ioas, f->buf, PG, f->base_iova), 0);
	copy.src_iova = f->base_iova;
	copy.dst_iova = f->base_iova + PG;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_IOAS_COPY, &copy), 0);
	assert_errno(check_map(f->p, f->fd, f->hwpt, f->base_iova + PG, PG, f->buf), 0);
	/* One pin for both: the pages are shared. */
	assert_errno(check_refs(f->p, f->fd, f->buf, PG, 1), 0);
	copy.dst_iova = 0;
	assert_errno(ioas_alloc(f->p, f->fd, &copy.dst_ioas_id), 0);
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_IOAS_COPY, &copy), 0);
	/* The errors: no R/W, unknown flags, missing source, overflow. */
	copy.flags = IOMMU_IOAS_MAP_FIXED_IOVA;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_IOAS_COPY, &copy), -EINVAL);
	copy.flags = 1 << 5;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_IOAS_COPY, &copy), -EOPNOTSUPP);
	copy.flags = IOMMU_IOAS_MAP_READABLE;
	copy.src_iova = f->base_iova + 8 * PG;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_IOAS_COPY, &copy), -ENOENT);
	copy.src_iova = UINT64_MAX;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_IOAS_COPY, &copy), -EOVERFLOW);
}

static void run_copy_sweep(struct fixture *f, bool domain)
{
	struct iommu_ioas_copy copy = {
		.size = sizeof(copy),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE,
		.src_ioas_id = f->ioas, .dst_iova = MOCK_APERTURE_START, .length = MOCK_PG,
	};
	uint64_t last = MOCK_APERTURE_START + BUF_SIZE - (domain ? 1 : 2);
	uint32_t dst;

	assert_errno(ioas_alloc(f->p, f->fd, &dst), 0);
	copy.dst_ioas_id = dst;
	assert_errno(ioas_map_fixed(f->p, f->fd, f->ioas, f->buf, last - MOCK_APERTURE_START + 1,
				    MOCK_APERTURE_START), 0);
	for (uint64_t iova = MOCK_APERTURE_START - PG; iova <= last; iova += 511) {
		copy.src_iova = iova;
		if (iova < MOCK_APERTURE_START || iova + copy.length - 1 > last) {
			assert_errno(proc_ioctl(f->p, f->fd, IOMMU_IOAS_COPY, &copy), -ENOENT);
		} else {
			assert_errno(proc_ioctl(f->p, f->fd, IOMMU_IOAS_COPY, &copy), 0);
			assert_errno(ioas_unmap(f->p, f->fd, dst, copy.dst_iova, copy.length, NULL), 0);
		}
	}
	assert_errno(obj_destroy(f->p, f->fd, dst), 0);
}

static void test_copy_sweep(void **state)
{
	struct fixture *f = *state;

	run_copy_sweep(f, false);
	assert_errno(ioas_unmap(f->p, f->fd, f->ioas, 0, UINT64_MAX, NULL), 0);
	with_domain(f);
	run_copy_sweep(f, true);
}

static void test_iova_ranges(void **state)
{
	struct fixture *f = *state;
	struct iommu_test_cmd res = {
		.op = IOMMU_TEST_OP_ADD_RESERVED, .id = f->ioas,
		.add_reserved = { .start = PG, .length = PG },
	};
	struct iommu_iova_range r[4];
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd), .ioas_id = f->ioas, .num_iovas = 4,
		.allowed_iovas = (uintptr_t)r,
	};

	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_IOAS_IOVA_RANGES, &cmd), 0);
	assert_int_equal(cmd.num_iovas, 1);
	assert_int_equal(r[0].start, 0);
	assert_int_equal(r[0].last, UINT64_MAX);
	assert_int_equal(cmd.out_iova_alignment, 1);
	memset(r, 0, sizeof(r));
	cmd.num_iovas = 0;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_IOAS_IOVA_RANGES, &cmd), -EMSGSIZE);
	assert_int_equal(cmd.num_iovas, 1);
	assert_int_equal(r[0].last, 0);
	assert_errno(test_cmd(f->p, f->fd, &res), 0);
	cmd.num_iovas = 4;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_IOAS_IOVA_RANGES, &cmd), 0);
	assert_int_equal(cmd.num_iovas, 2);
	assert_int_equal(r[0].last, PG - 1);
	assert_int_equal(r[1].start, 2 * PG);
	assert_int_equal(r[1].last, UINT64_MAX);
	cmd.num_iovas = 1;
	memset(r, 0, sizeof(r));
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_IOAS_IOVA_RANGES, &cmd), -EMSGSIZE);
	assert_int_equal(cmd.num_iovas, 2);
	assert_int_equal(r[0].last, PG - 1);
	assert_int_equal(r[1].last, 0);
	/* With a domain: its aperture, its page size. */
	with_domain(f);
	cmd.num_iovas = 4;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_IOAS_IOVA_RANGES, &cmd), 0);
	assert_int_equal(cmd.num_iovas, 1);
	assert_int_equal(r[0].start, MOCK_APERTURE_START);
	assert_int_equal(r[0].last, MOCK_APERTURE_LAST);
	assert_int_equal(cmd.out_iova_alignment, MOCK_PG);
	cmd.allowed_iovas = 8;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_IOAS_IOVA_RANGES, &cmd), -EFAULT);
}

static void test_option_huge_pages_and_alignment(void **state)
{
	struct fixture *f = *state;
	struct iommu_option cmd = {
		.size = sizeof(cmd), .option_id = IOMMU_OPTION_HUGE_PAGES,
		.op = IOMMU_OPTION_OP_GET, .val64 = 3, .object_id = f->ioas,
	};

	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_OPTION, &cmd), 0);
	assert_int_equal(cmd.val64, 1);
	cmd.op = IOMMU_OPTION_OP_SET;
	cmd.val64 = 2;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_OPTION, &cmd), -EINVAL);
	cmd.op = 7;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_OPTION, &cmd), -EOPNOTSUPP);
	/* ioas_align_change */
	cmd.op = IOMMU_OPTION_OP_SET;
	cmd.val64 = 0;
	assert_errno(ioas_map_fixed(f->p, f->fd, f->ioas, f->buf, PG, MOCK_APERTURE_START), 0);
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_OPTION, &cmd), 0);
	assert_errno(ioas_map_fixed(f->p, f->fd, f->ioas, f->buf + MOCK_PG, PG,
				    MOCK_APERTURE_START + PG), -EINVAL);
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_OPTION, &cmd), 0);
	cmd.val64 = 1;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_OPTION, &cmd), 0);
	assert_errno(ioas_map_fixed(f->p, f->fd, f->ioas, f->buf + MOCK_PG, PG,
				    MOCK_APERTURE_START + PG), 0);
	cmd.val64 = 0;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_OPTION, &cmd), -EADDRINUSE);
	cmd.op = IOMMU_OPTION_OP_GET;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_OPTION, &cmd), 0);
	assert_int_equal(cmd.val64, 1);
	/* Not with a domain and mappings; with only a domain, yes. */
	with_domain(f);
	cmd.op = IOMMU_OPTION_OP_SET;
	cmd.val64 = 0;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_OPTION, &cmd), -EINVAL);
	assert_errno(ioas_unmap(f->p, f->fd, f->ioas, 0, UINT64_MAX, NULL), 0);
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_OPTION, &cmd), 0);
	assert_errno(ioas_map_fixed(f->p, f->fd, f->ioas, f->buf + MOCK_PG, PG,
				    MOCK_APERTURE_START), -EINVAL);
}

static void test_ioas_iova_alloc(void **state)
{
	struct fixture *f = *state;
	uint64_t iova;

	for (int pass = 0; pass < 2; pass++) {
		for (unsigned int len = 1; len < PG * 2; len += pass ? 1 : 7) {
			if (pass && len % MOCK_PG) {
				assert_errno(ioas_map(f->p, f->fd, f->ioas, f->buf, len, &iova,
						      MAP_RW), -EINVAL);
				continue;
			}
			assert_errno(ioas_map(f->p, f->fd, f->ioas, f->buf, len, &iova, MAP_RW), 0);
			assert_errno(ioas_unmap(f->p, f->fd, f->ioas, iova, len, NULL), 0);
		}
		if (!pass)
			with_domain(f);
	}
}

/* Without a domain nothing is pinned, so no address is looked at: a map of
 * unmapped memory works (area_auto_iova maps 2 GiB this way). */
static void test_lazy_pinning(void **state)
{
	struct fixture *f = *state;
	/* Below mmap_min_addr: never mapped. */
	void *hole = (void *)(uintptr_t)0x2000;
	uint64_t iova;

	assert_errno(ioas_map(f->p, f->fd, f->ioas, hole, PG, &iova, MAP_RW), 0);
	assert_errno(ioas_map_fixed(f->p, f->fd, f->ioas, f->buf, BUF_SIZE, MOCK_APERTURE_START), 0);
	assert_errno(check_refs(f->p, f->fd, f->buf, BUF_SIZE, 0), 0);
	/* A domain now must pin it all: the hole makes that fail. */
	assert_errno(mock_domain(f->p, f->fd, f->ioas, NULL, NULL, NULL), -EFAULT);
	assert_errno(check_refs(f->p, f->fd, f->buf, BUF_SIZE, 0), 0);
	assert_errno(ioas_unmap(f->p, f->fd, f->ioas, iova, PG, NULL), 0);
	with_domain(f);
	assert_errno(check_refs(f->p, f->fd, f->buf, BUF_SIZE, 1), 0);
	/* Pinned at map time now: the hole is EFAULT at once. */
	assert_errno(ioas_map(f->p, f->fd, f->ioas, hole, PG, &iova, MAP_RW), -EFAULT);
	assert_errno(obj_destroy(f->p, f->fd, f->stdev), 0);
	assert_errno(check_refs(f->p, f->fd, f->buf, BUF_SIZE, 0), 0);
}

/* ---- accesses ------------------------------------------------------------------------------ */

static void test_access_pin(void **state)
{
	struct fixture *f = *state;
	uint32_t item, item2, stdev, hwpt;
	int afd;

	assert_errno(create_access(f->p, f->fd, f->ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				   &afd), 0);
	for (unsigned int npages = 1; npages < BUF_SIZE / PG; npages += 5) {
		uint64_t len = npages * PG;

		assert_errno(ioas_map_fixed(f->p, f->fd, f->ioas, f->buf, BUF_SIZE,
					    MOCK_APERTURE_START), 0);
		assert_errno(access_pages(f->p, f->fd, afd, MOCK_APERTURE_START, len, f->buf,
					  &item), 0);
		assert_errno(check_refs(f->p, f->fd, f->buf, len, 1), 0);
		assert_errno(destroy_access_pages(f->p, f->fd, afd, item), 0);
		assert_errno(check_refs(f->p, f->fd, f->buf, len, 0), 0);
		/* Two users of one range. */
		assert_errno(access_pages(f->p, f->fd, afd, MOCK_APERTURE_START, len, f->buf,
					  &item), 0);
		assert_errno(access_pages(f->p, f->fd, afd, MOCK_APERTURE_START, len, f->buf,
					  &item2), 0);
		assert_errno(destroy_access_pages(f->p, f->fd, afd, item2), 0);
		assert_errno(check_refs(f->p, f->fd, f->buf, len, 1), 0);
		assert_errno(destroy_access_pages(f->p, f->fd, afd, item), 0);
		/* A domain added and removed while a user holds the pages. */
		assert_errno(access_pages(f->p, f->fd, afd, MOCK_APERTURE_START, len, f->buf,
					  &item), 0);
		assert_errno(mock_domain(f->p, f->fd, f->ioas, &stdev, &hwpt, NULL), 0);
		assert_errno(check_map(f->p, f->fd, hwpt, MOCK_APERTURE_START, BUF_SIZE, f->buf), 0);
		assert_errno(check_refs(f->p, f->fd, f->buf, BUF_SIZE, 1), 0);
		assert_errno(obj_destroy(f->p, f->fd, stdev), 0);
		assert_errno(check_refs(f->p, f->fd, f->buf, len, 1), 0);
		assert_errno(destroy_access_pages(f->p, f->fd, afd, item), 0);
		assert_errno(ioas_unmap(f->p, f->fd, f->ioas, MOCK_APERTURE_START, BUF_SIZE, NULL), 0);
	}
	assert_errno(destroy_access_pages(f->p, f->fd, afd, 999), -ENOENT);
	/* Pinning: a hole is ENOENT, a size over 16 MiB ENOMEM, a non-pinning
	 * access EOPNOTSUPP, an unknown access fd EBADFD. */
	assert_errno(access_pages(f->p, f->fd, afd, MOCK_APERTURE_START, PG, f->buf, NULL),
		     -ENOENT);
	assert_errno(access_pages(f->p, f->fd, afd, MOCK_APERTURE_START, (16UL << 20) + 1, NULL,
				  NULL), -ENOMEM);
	assert_errno(access_pages(f->p, f->fd, 12345, MOCK_APERTURE_START, PG, NULL, NULL),
		     -EBADFD);
	assert_int_equal(proc_close(f->p, afd), 0);
	assert_errno(create_access(f->p, f->fd, f->ioas, 0, &afd), 0);
	assert_errno(access_pages(f->p, f->fd, afd, MOCK_APERTURE_START, PG, NULL, NULL),
		     -EOPNOTSUPP);
	assert_errno(create_access(f->p, f->fd, f->ioas, 2, &afd), -EOPNOTSUPP);
	assert_errno(create_access(f->p, f->fd, 99, 0, &afd), -ENOENT);
}

static void test_access_pin_unmap(void **state)
{
	struct fixture *f = *state;
	uint32_t item;
	int afd;

	assert_errno(create_access(f->p, f->fd, f->ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				   &afd), 0);
	assert_errno(ioas_map_fixed(f->p, f->fd, f->ioas, f->buf, BUF_SIZE, MOCK_APERTURE_START), 0);
	assert_errno(access_pages(f->p, f->fd, afd, MOCK_APERTURE_START, BUF_SIZE, f->buf, &item), 0);
	/* The unmap asks the access to drop its pins, and it does. */
	assert_errno(ioas_unmap(f->p, f->fd, f->ioas, MOCK_APERTURE_START, BUF_SIZE, NULL), 0);
	assert_errno(destroy_access_pages(f->p, f->fd, afd, item), -ENOENT);
	assert_errno(check_refs(f->p, f->fd, f->buf, BUF_SIZE, 0), 0);
	/* The wrong user memory: EBADE. */
	assert_errno(ioas_map_fixed(f->p, f->fd, f->ioas, f->buf, BUF_SIZE, MOCK_APERTURE_START), 0);
	assert_errno(access_pages(f->p, f->fd, afd, MOCK_APERTURE_START, PG, f->buf + PG, NULL),
		     -EBADE);
	assert_errno(check_refs(f->p, f->fd, f->buf, BUF_SIZE, 0), 0);
	/* Closing the access fd drops what it holds. */
	assert_errno(access_pages(f->p, f->fd, afd, MOCK_APERTURE_START, PG, f->buf, &item), 0);
	assert_int_equal(proc_close(f->p, afd), 0);
	assert_errno(check_refs(f->p, f->fd, f->buf, BUF_SIZE, 0), 0);
}

/* check_access_rw of the selftests, around a page boundary. */
static void check_access_rw(struct fixture *f, int afd, uint64_t iova, uint32_t def_flags)
{
	uint16_t tmp[32];
	uint16_t *buf16 = (uint16_t *)f->buf;
	uint8_t *big;

	for (unsigned int i = 0; i != BUF_SIZE / sizeof(*buf16); i++)
		buf16[i] = (uint16_t)rand();
	for (uint64_t at = iova + PG - 50; at < iova + PG + 50; at += 3) {
		for (uint64_t len = 1; len < sizeof(tmp); len += 2) {
			assert_errno(access_rw(f->p, f->fd, afd, at, tmp, len, def_flags), 0);
			assert_memory_equal(f->buf + (at - iova), tmp, len);
			for (unsigned int i = 0; i != 32; i++)
				tmp[i] = (uint16_t)rand();
			assert_errno(access_rw(f->p, f->fd, afd, at, tmp, len,
					       def_flags | MOCK_ACCESS_RW_WRITE), 0);
			assert_memory_equal(f->buf + (at - iova), tmp, len);
		}
	}
	big = malloc(BUF_SIZE);
	assert_non_null(big);
	assert_errno(access_rw(f->p, f->fd, afd, iova, big, BUF_SIZE, def_flags), 0);
	assert_memory_equal(f->buf, big, BUF_SIZE);
	free(big);
}

static void test_access_rw(void **state)
{
	struct fixture *f = *state;
	uint64_t iova;
	uint8_t b[8];
	int afd;

	assert_errno(create_access(f->p, f->fd, f->ioas, 0, &afd), 0);
	assert_errno(ioas_map(f->p, f->fd, f->ioas, f->buf, BUF_SIZE, &iova, MAP_RW), 0);
	check_access_rw(f, afd, iova, 0);
	check_access_rw(f, afd, iova, MOCK_ACCESS_RW_SLOW_PATH);
	/* Errors: a hole, a read-only mapping written, bad flags. */
	assert_errno(access_rw(f->p, f->fd, afd, iova + BUF_SIZE - 4, b, 8, 0), -ENOENT);
	assert_errno(access_rw(f->p, f->fd, afd, iova, b, 8, 1 << 3), -EOPNOTSUPP);
	assert_errno(access_rw(f->p, f->fd, afd, iova, b, 0, 0), -EINVAL);
	assert_errno(ioas_unmap(f->p, f->fd, f->ioas, iova, BUF_SIZE, NULL), 0);
	assert_errno(ioas_map(f->p, f->fd, f->ioas, f->buf, PG, &iova, IOMMU_IOAS_MAP_READABLE), 0);
	assert_errno(access_rw(f->p, f->fd, afd, iova, b, 8, MOCK_ACCESS_RW_WRITE), -EPERM);
	assert_errno(ioas_unmap(f->p, f->fd, f->ioas, iova, PG, NULL), 0);
	/* Unaligned: mapped at a 2 KiB boundary. */
	with_domain(f);
	iova = f->base_iova + MOCK_PG;
	assert_errno(ioas_map_fixed(f->p, f->fd, f->ioas, f->buf, BUF_SIZE, iova), 0);
	check_access_rw(f, afd, iova, 0);
	assert_errno(ioas_unmap(f->p, f->fd, f->ioas, iova, BUF_SIZE, NULL), 0);
	assert_int_equal(proc_close(f->p, afd), 0);
}

/* ---- mock domains --------------------------------------------------------------------------- */

static void test_mock_basic(void **state)
{
	struct fixture *f = *state;
	size_t buf_size = 8 * PG;
	uint8_t *buf;
	uint64_t iova;

	with_domain(f);
	assert_errno(ioas_map(f->p, f->fd, f->ioas, f->buf, PG, &iova, MAP_RW), 0);
	assert_errno(check_map(f->p, f->fd, f->hwpt, iova, PG, f->buf), 0);
	/* Different memory does not check. */
	assert_errno(check_map(f->p, f->fd, f->hwpt, iova, PG, f->buf + PG), -EINVAL);
	assert_errno(check_map(f->p, f->fd, f->hwpt, iova + 1, PG, f->buf), -EINVAL);
	assert_errno(check_map(f->p, f->fd, f->ioas, iova, PG, f->buf), -ENOENT);
	buf = mmap(NULL, buf_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(buf != MAP_FAILED);
	/* EFAULT half way through, and on the first page. */
	munmap(buf + buf_size / 2, buf_size / 2);
	assert_errno(ioas_map(f->p, f->fd, f->ioas, buf, buf_size, &iova, MAP_RW), -EFAULT);
	munmap(buf, buf_size / 2);
	assert_errno(ioas_map(f->p, f->fd, f->ioas, buf, buf_size, &iova, MAP_RW), -EFAULT);
}

static void test_mock_all_aligns(void **state)
{
	struct fixture *f = *state;
	size_t buf_size = 8 * PG;
	uint8_t *buf = shared_buf(buf_size);
	uint32_t stdev2, hwpt2;

	with_domain(f);
	assert_errno(check_refs(f->p, f->fd, buf, buf_size, 0), 0);
	for (unsigned int start = 0; start < buf_size; start += 3 * MOCK_PG) {
		for (unsigned int end = start + MOCK_PG; end < buf_size; end += 5 * MOCK_PG) {
			size_t length = end - start;
			uint64_t iova;

			assert_errno(ioas_map(f->p, f->fd, f->ioas, buf + start, length, &iova,
					      MAP_RW), 0);
			assert_errno(check_map(f->p, f->fd, f->hwpt, iova, length, buf + start), 0);
			assert_errno(check_refs(f->p, f->fd, buf + start / PG * PG,
						end / PG * PG - start / PG * PG, 1), 0);
			/* all_aligns_copy: a second domain while the area exists */
			assert_errno(mock_domain(f->p, f->fd, f->ioas, &stdev2, &hwpt2, NULL), 0);
			assert_errno(check_map(f->p, f->fd, hwpt2, iova, length, buf + start), 0);
			assert_errno(obj_destroy(f->p, f->fd, stdev2), 0);
			assert_errno(ioas_unmap(f->p, f->fd, f->ioas, iova, length, NULL), 0);
		}
	}
	assert_errno(check_refs(f->p, f->fd, buf, buf_size, 0), 0);
	munmap(buf, buf_size);
}

static void test_mock_ro_unshare(void **state)
{
	struct fixture *f = *state;
	int fd = open("/proc/self/exe", O_RDONLY);
	uint8_t *buf;
	uint64_t iova;

	assert_true(fd >= 0);
	buf = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	assert_true(buf != MAP_FAILED);
	close(fd);
	with_domain(f);
	assert_errno(ioas_map(f->p, f->fd, f->ioas, buf, PG, &iova, IOMMU_IOAS_MAP_READABLE), 0);
	assert_errno(check_map(f->p, f->fd, f->hwpt, iova, PG, buf), 0);
	memset(buf, 1, PG);
	assert_errno(check_map(f->p, f->fd, f->hwpt, iova, PG, buf), 0);
	munmap(buf, PG);
}

static void test_mock_user_copy(void **state)
{
	struct fixture *f = *state;
	struct iommu_ioas_copy copy = {
		.size = sizeof(copy),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE,
		.dst_ioas_id = f->ioas, .dst_iova = MOCK_APERTURE_START, .length = BUF_SIZE,
	};
	uint32_t ioas, new_ioas, item;
	uint64_t src_iova;
	int afd;

	with_domain(f);
	/* Pinned in an IOAS without domains, then copied to one with. */
	assert_errno(ioas_alloc(f->p, f->fd, &ioas), 0);
	assert_errno(ioas_map(f->p, f->fd, ioas, f->buf, BUF_SIZE, &src_iova, MAP_RW), 0);
	copy.src_iova = src_iova;
	assert_errno(create_access(f->p, f->fd, ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				   &afd), 0);
	assert_errno(access_pages(f->p, f->fd, afd, copy.src_iova, BUF_SIZE, f->buf, &item), 0);
	copy.src_ioas_id = ioas;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_IOAS_COPY, &copy), 0);
	assert_errno(check_map(f->p, f->fd, f->hwpt, MOCK_APERTURE_START, BUF_SIZE, f->buf), 0);
	assert_errno(check_refs(f->p, f->fd, f->buf, BUF_SIZE, 1), 0);
	/* The access moves to a new IOAS: its pins in the old one go. */
	assert_errno(ioas_alloc(f->p, f->fd, &new_ioas), 0);
	assert_errno(ioas_map(f->p, f->fd, new_ioas, f->buf, BUF_SIZE, &src_iova, MAP_RW), 0);
	copy.src_iova = src_iova;
	{
		struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,
					      .id = (uint32_t)afd,
					      .access_replace_ioas = { .ioas_id = new_ioas } };

		assert_errno(test_cmd(f->p, f->fd, &cmd), 0);
	}
	assert_errno(destroy_access_pages(f->p, f->fd, afd, item), -ENOENT);
	assert_errno(ioas_unmap(f->p, f->fd, f->ioas, MOCK_APERTURE_START, BUF_SIZE, NULL), 0);
	assert_errno(obj_destroy(f->p, f->fd, ioas), 0);
	assert_errno(check_refs(f->p, f->fd, f->buf, BUF_SIZE, 0), 0);
	assert_errno(access_pages(f->p, f->fd, afd, copy.src_iova, BUF_SIZE, f->buf, &item), 0);
	copy.src_ioas_id = new_ioas;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_IOAS_COPY, &copy), 0);
	assert_errno(check_map(f->p, f->fd, f->hwpt, MOCK_APERTURE_START, BUF_SIZE, f->buf), 0);
	/* An IOAS with an access cannot go. */
	assert_errno(obj_destroy(f->p, f->fd, new_ioas), -EBUSY);
	assert_errno(destroy_access_pages(f->p, f->fd, afd, item), 0);
	assert_int_equal(proc_close(f->p, afd), 0);
	assert_errno(obj_destroy(f->p, f->fd, new_ioas), 0);
}

static void test_mock_replace(void **state)
{
	struct fixture *f = *state;
	uint32_t ioas2, stdev2, hwpt2, out;

	with_domain(f);
	assert_errno(ioas_alloc(f->p, f->fd, &ioas2), 0);
	assert_errno(mock_replace(f->p, f->fd, f->stdev, ioas2, &out), 0);
	/* The old automatic HWPT went with its last device. */
	assert_errno(mock_replace(f->p, f->fd, f->stdev, f->hwpt, NULL), -ENOENT);
	assert_errno(mock_replace(f->p, f->fd, f->stdev, ioas2, NULL), 0);
	assert_errno(mock_domain(f->p, f->fd, f->ioas, &stdev2, &hwpt2, NULL), 0);
	assert_errno(mock_replace(f->p, f->fd, f->stdev, hwpt2, &out), 0);
	assert_int_equal(out, hwpt2);
	assert_errno(mock_replace(f->p, f->fd, f->stdev, hwpt2, NULL), 0);
	assert_errno(obj_destroy(f->p, f->fd, ioas2), 0);
	assert_errno(mock_replace(f->p, f->fd, f->stdev, f->ioas, NULL), 0);
	/* Not a device, not a page table. */
	assert_errno(mock_replace(f->p, f->fd, f->ioas, f->ioas, NULL), -ENOENT);
	assert_errno(mock_replace(f->p, f->fd, f->stdev, f->stdev, NULL), -EINVAL);
}

static void test_mock_alloc_hwpt(void **state)
{
	struct fixture *f = *state;
	uint32_t hwpt[2], stdev;

	with_domain(f);
	assert_errno(hwpt_alloc(f->p, f->fd, f->idev, f->ioas, ~IOMMU_HWPT_ALLOC_NEST_PARENT,
				&hwpt[0], 0, NULL, 0), -EOPNOTSUPP);
	assert_errno(hwpt_alloc(f->p, f->fd, f->idev, f->ioas, 0, &hwpt[0], 0, NULL, 0), 0);
	assert_errno(hwpt_alloc(f->p, f->fd, f->idev, f->ioas, IOMMU_HWPT_ALLOC_NEST_PARENT,
				&hwpt[1], 0, NULL, 0), 0);
	assert_errno(mock_replace(f->p, f->fd, f->stdev, hwpt[0], NULL), 0);
	assert_errno(obj_destroy(f->p, f->fd, hwpt[0]), -EBUSY);
	assert_errno(mock_replace(f->p, f->fd, f->stdev, hwpt[1], NULL), 0);
	assert_errno(obj_destroy(f->p, f->fd, hwpt[1]), -EBUSY);
	assert_errno(mock_replace(f->p, f->fd, f->stdev, f->ioas, NULL), 0);
	assert_errno(obj_destroy(f->p, f->fd, hwpt[1]), 0);
	/* A device attached to a HWPT directly (hwpt_attach). */
	assert_errno(mock_domain(f->p, f->fd, hwpt[0], &stdev, NULL, NULL), 0);
	assert_errno(obj_destroy(f->p, f->fd, stdev), 0);
	assert_errno(obj_destroy(f->p, f->fd, hwpt[0]), 0);
	/* A manual HWPT pins the IOAS's mappings even with no device. */
	assert_errno(hwpt_alloc(f->p, f->fd, f->idev, f->ioas, 0, &hwpt[0], 0, NULL, 0), 0);
	assert_errno(ioas_map_fixed(f->p, f->fd, f->ioas, f->buf, PG, MOCK_APERTURE_START), 0);
	assert_errno(obj_destroy(f->p, f->fd, f->stdev), 0);
	assert_errno(check_refs(f->p, f->fd, f->buf, PG, 1), 0);
	assert_errno(obj_destroy(f->p, f->fd, hwpt[0]), 0);
	assert_errno(check_refs(f->p, f->fd, f->buf, PG, 0), 0);
	/* Errors of HWPT_ALLOC itself. */
	assert_errno(hwpt_alloc(f->p, f->fd, f->ioas, f->ioas, 0, NULL, 0, NULL, 0), -ENOENT);
	assert_errno(hwpt_alloc(f->p, f->fd, 0, f->ioas, 0, NULL, 1, NULL, 0), -EINVAL);
}

static void test_alloc_hwpt_nested(void **state)
{
	struct fixture *f = *state;
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_hwpt_invalidate_selftest inv[2] = { 0 };
	uint32_t parent, not_parent, nested[2], iopf_hwpt, test_hwpt;
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };
	struct iommu_hwpt_invalidate invc = {
		.size = sizeof(invc), .data_uptr = (uintptr_t)inv,
		.data_type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, .entry_len = sizeof(inv[0]),
	};
	struct iommu_test_cmd iotlb = { .op = IOMMU_TEST_OP_MD_CHECK_IOTLB };
	struct iommu_test_cmd iopf = {
		.op = IOMMU_TEST_OP_TRIGGER_IOPF,
		.trigger_iopf = { .pasid = 1, .grpid = 2, .perm = 3, .addr = 0xdeadbeaf },
	};
	struct iommu_hwpt_pgfault fault = { 0 };
	struct iommu_hwpt_page_response resp = { 0 };

	with_domain(f);
	assert_errno(hwpt_alloc(f->p, f->fd, f->ioas, f->idev, 0, &test_hwpt, 0, NULL, 0), -ENOENT);
	assert_errno(hwpt_alloc(f->p, f->fd, f->idev, f->idev, 0, &test_hwpt, 0, NULL, 0), -EINVAL);
	assert_errno(hwpt_alloc(f->p, f->fd, f->idev, f->ioas, IOMMU_HWPT_ALLOC_NEST_PARENT |
				IOMMU_HWPT_FAULT_ID_VALID, &test_hwpt, 0, NULL, 0), -EOPNOTSUPP);
	assert_errno(hwpt_alloc(f->p, f->fd, f->idev, f->ioas, IOMMU_HWPT_ALLOC_NEST_PARENT,
				&parent, 0, NULL, 0), 0);
	assert_errno(hwpt_alloc(f->p, f->fd, f->idev, f->ioas, 0, &not_parent, 0, NULL, 0), 0);
	assert_errno(hwpt_alloc(f->p, f->fd, f->idev, parent, 0, &nested[0], IOMMU_HWPT_DATA_NONE,
				&data, sizeof(data)), -EINVAL);
	assert_errno(hwpt_alloc(f->p, f->fd, f->idev, parent, 0, &nested[0],
				IOMMU_HWPT_DATA_SELFTEST + 1, &data, sizeof(data)), -EOPNOTSUPP);
	assert_errno(hwpt_alloc(f->p, f->fd, f->idev, parent, 0, &nested[0],
				IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data) - 1), -EINVAL);
	assert_errno(hwpt_alloc(f->p, f->fd, f->idev, parent, 0, &nested[0],
				IOMMU_HWPT_DATA_SELFTEST, NULL, sizeof(data)), -EFAULT);
	assert_errno(hwpt_alloc(f->p, f->fd, f->idev, parent, IOMMU_HWPT_ALLOC_NEST_PARENT,
				&nested[0], IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data)),
		     -EOPNOTSUPP);
	assert_errno(hwpt_alloc(f->p, f->fd, f->idev, not_parent, 0, &nested[0],
				IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data)), -EINVAL);
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_FAULT_QUEUE_ALLOC, &fa), 0);
	assert_errno(hwpt_alloc(f->p, f->fd, f->idev, parent, 0, &nested[0],
				IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data)), 0);
	assert_errno(hwpt_alloc(f->p, f->fd, f->idev, parent, 0, &nested[1],
				IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data)), 0);
	{
		struct iommu_hwpt_alloc cmd = {
			.size = sizeof(cmd), .flags = IOMMU_HWPT_FAULT_ID_VALID, .dev_id = f->idev,
			.pt_id = parent, .data_type = IOMMU_HWPT_DATA_SELFTEST,
			.data_len = sizeof(data), .data_uptr = (uintptr_t)&data,
			.fault_id = UINT32_MAX,
		};

		assert_errno(proc_ioctl(f->p, f->fd, IOMMU_HWPT_ALLOC, &cmd), -ENOENT);
		cmd.fault_id = fa.out_fault_id;
		assert_errno(proc_ioctl(f->p, f->fd, IOMMU_HWPT_ALLOC, &cmd), 0);
		iopf_hwpt = cmd.out_hwpt_id;
	}
	for (uint32_t i = 0; i < 4; i++) {
		iotlb.id = nested[0];
		iotlb.check_iotlb.id = i;
		iotlb.check_iotlb.iotlb = IOMMU_TEST_IOTLB_DEFAULT;
		assert_errno(test_cmd(f->p, f->fd, &iotlb), 0);
	}
	assert_errno(hwpt_alloc(f->p, f->fd, f->idev, nested[0], 0, &test_hwpt,
				IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data)), -EINVAL);
	assert_errno(obj_destroy(f->p, f->fd, parent), -EBUSY);
	/* Invalidation: only nested HWPTs; the entry rules; partial progress. */
	invc.hwpt_id = parent;
	invc.entry_num = 1;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_HWPT_INVALIDATE, &invc), -ENOENT);
	assert_int_equal(invc.entry_num, 0);
	invc.hwpt_id = nested[0];
	invc.entry_num = 0;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_HWPT_INVALIDATE, &invc), 0);
	invc.entry_num = 1;
	invc.data_type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_HWPT_INVALIDATE, &invc), -EINVAL);
	assert_int_equal(invc.entry_num, 0);
	invc.data_type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST;
	invc.entry_len = sizeof(inv[0]) + 1;
	invc.entry_num = 1;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_HWPT_INVALIDATE, &invc), -EINVAL);
	invc.entry_len = 1;
	invc.entry_num = 1;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_HWPT_INVALIDATE, &invc), -EINVAL);
	invc.entry_len = sizeof(inv[0]);
	inv[0].flags = 0xffffffff;
	invc.entry_num = 1;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_HWPT_INVALIDATE, &invc), -EOPNOTSUPP);
	inv[0].flags = 0;
	invc.data_uptr = 0;
	invc.entry_num = 1;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_HWPT_INVALIDATE, &invc), -EINVAL);
	invc.data_uptr = (uintptr_t)inv;
	inv[0].iotlb_id = MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1;
	invc.entry_num = 1;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_HWPT_INVALIDATE, &invc), -EINVAL);
	inv[0].iotlb_id = 0;
	inv[1].flags = 0xffffffff;
	inv[1].iotlb_id = 1;
	invc.entry_num = 2;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_HWPT_INVALIDATE, &invc), -EOPNOTSUPP);
	assert_int_equal(invc.entry_num, 1);
	iotlb.check_iotlb.id = 0;
	iotlb.check_iotlb.iotlb = 0;
	assert_errno(test_cmd(f->p, f->fd, &iotlb), 0);
	iotlb.check_iotlb.id = 1;
	assert_errno(test_cmd(f->p, f->fd, &iotlb), -EINVAL);
	inv[0].flags = IOMMU_TEST_INVALIDATE_FLAG_ALL;
	invc.hwpt_id = nested[1];
	invc.entry_num = 1;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_HWPT_INVALIDATE, &invc), 0);
	assert_int_equal(invc.entry_num, 1);
	iotlb.id = nested[1];
	iotlb.check_iotlb.id = 3;
	assert_errno(test_cmd(f->p, f->fd, &iotlb), 0);
	/* Attach to nested HWPTs; a fault on the iopf one is read and answered. */
	assert_errno(mock_replace(f->p, f->fd, f->stdev, nested[0], NULL), 0);
	assert_errno(obj_destroy(f->p, f->fd, nested[0]), -EBUSY);
	assert_errno(mock_replace(f->p, f->fd, f->stdev, nested[1], NULL), 0);
	assert_errno(obj_destroy(f->p, f->fd, nested[0]), 0);
	assert_errno(mock_replace(f->p, f->fd, f->stdev, iopf_hwpt, NULL), 0);
	assert_errno(obj_destroy(f->p, f->fd, iopf_hwpt), -EBUSY);
	iopf.trigger_iopf.dev_id = f->idev;
	assert_errno(test_cmd(f->p, f->fd, &iopf), 0);
	assert_errno(proc_pread(f->p, (int)fa.out_fault_fd, &fault, sizeof(fault) - 1, 0), -ESPIPE);
	assert_int_equal(proc_pread(f->p, (int)fa.out_fault_fd, &fault, sizeof(fault), 0),
			 sizeof(fault));
	assert_int_equal(fault.dev_id, f->idev);
	assert_int_equal(fault.flags, IOMMU_PGFAULT_FLAGS_PASID_VALID |
				      IOMMU_PGFAULT_FLAGS_LAST_PAGE);
	assert_int_equal(fault.addr, 0xdeadbeaf);
	assert_int_equal(fault.grpid, 2);
	resp.cookie = fault.cookie;
	resp.code = 7;
	assert_errno(proc_pwrite(f->p, (int)fa.out_fault_fd, &resp, sizeof(resp), 0), -EINVAL);
	resp.code = IOMMUFD_PAGE_RESP_SUCCESS;
	assert_int_equal(proc_pwrite(f->p, (int)fa.out_fault_fd, &resp, sizeof(resp), 0),
			 sizeof(resp));
	/* The cookie is used up. */
	assert_errno(proc_pwrite(f->p, (int)fa.out_fault_fd, &resp, sizeof(resp), 0), -EINVAL);
	assert_int_equal(proc_pread(f->p, (int)fa.out_fault_fd, &fault, sizeof(fault), 0), 0);
	assert_errno(mock_replace(f->p, f->fd, f->stdev, parent, NULL), 0);
	assert_errno(obj_destroy(f->p, f->fd, nested[1]), 0);
	assert_errno(obj_destroy(f->p, f->fd, iopf_hwpt), 0);
	assert_errno(mock_replace(f->p, f->fd, f->stdev, f->ioas, NULL), 0);
	assert_errno(obj_destroy(f->p, f->fd, parent), 0);
	assert_errno(obj_destroy(f->p, f->fd, not_parent), 0);
	/* The queue stays while its fd is open. */
	assert_errno(obj_destroy(f->p, f->fd, fa.out_fault_id), -EBUSY);
	assert_int_equal(proc_close(f->p, (int)fa.out_fault_fd), 0);
	assert_errno(obj_destroy(f->p, f->fd, fa.out_fault_id), 0);
}

static void test_get_hw_info(void **state)
{
	struct fixture *f = *state;
	struct {
		struct iommu_test_hw_info info;
		uint64_t trailing;
	} big;
	struct iommu_hw_info cmd = { .size = sizeof(cmd) };
	uint32_t pasid_idev;

	cmd.dev_id = 0;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_GET_HW_INFO, &cmd), -ENOENT);
	with_domain(f);
	assert_errno(mock_domain_flags(f->p, f->fd, f->ioas, MOCK_FLAGS_DEVICE_PASID, NULL, NULL,
				       &pasid_idev), 0);
	cmd.dev_id = f->idev;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_GET_HW_INFO, &cmd), 0);
	assert_int_equal(cmd.out_data_type, IOMMU_HW_INFO_TYPE_SELFTEST);
	assert_int_equal(cmd.data_len, sizeof(struct iommu_test_hw_info));
	assert_int_equal(cmd.out_capabilities & IOMMU_HW_CAP_DIRTY_TRACKING,
			 IOMMU_HW_CAP_DIRTY_TRACKING);
	assert_int_equal(cmd.out_max_pasid_log2, 0);
	/* A larger buffer: the tail is zeroed. */
	memset(&big, 0xaa, sizeof(big));
	cmd = (struct iommu_hw_info){ .size = sizeof(cmd), .dev_id = f->idev,
				      .data_len = sizeof(big), .data_uptr = (uintptr_t)&big };
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_GET_HW_INFO, &cmd), 0);
	assert_int_equal(big.info.test_reg, IOMMU_HW_INFO_SELFTEST_REGVAL);
	assert_int_equal(big.info.flags, 0);
	assert_int_equal(big.trailing, 0);
	/* Asking for a type: the driver's own, or EOPNOTSUPP. */
	cmd.flags = IOMMU_HW_INFO_FLAG_INPUT_TYPE;
	cmd.in_data_type = IOMMU_HW_INFO_TYPE_SELFTEST + 1;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_GET_HW_INFO, &cmd), -EOPNOTSUPP);
	cmd.in_data_type = IOMMU_HW_INFO_TYPE_SELFTEST;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_GET_HW_INFO, &cmd), 0);
	cmd.flags = 2;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_GET_HW_INFO, &cmd), -EOPNOTSUPP);
	cmd = (struct iommu_hw_info){ .size = sizeof(cmd), .dev_id = pasid_idev };
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_GET_HW_INFO, &cmd), 0);
	assert_int_equal(cmd.out_max_pasid_log2, MOCK_PASID_WIDTH);
	/* A bad buffer. */
	cmd = (struct iommu_hw_info){ .size = sizeof(cmd), .dev_id = f->idev, .data_len = 8,
				      .data_uptr = 8 };
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_GET_HW_INFO, &cmd), -EFAULT);
	/* Unknown device flags. */
	assert_errno(mock_domain_flags(f->p, f->fd, f->ioas, 1 << 3, NULL, NULL, NULL), -EINVAL);
}

/* ---- dirty tracking ------------------------------------------------------------------------ */

static void test_dirty_enforce_and_capability(void **state)
{
	struct fixture *f = *state;
	uint32_t hwpt, stdev, ioas2, hwpt2, idev2;
	struct iommu_hw_info info = { .size = sizeof(info) };

	with_domain(f);
	assert_errno(hwpt_alloc(f->p, f->fd, f->idev, f->ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				&hwpt, 0, NULL, 0), 0);
	assert_errno(mock_domain(f->p, f->fd, hwpt, &stdev, NULL, NULL), 0);
	assert_errno(mock_domain_flags(f->p, f->fd, hwpt, MOCK_FLAGS_DEVICE_NO_DIRTY, NULL, NULL,
				       NULL), -EINVAL);
	assert_errno(obj_destroy(f->p, f->fd, stdev), 0);
	assert_errno(obj_destroy(f->p, f->fd, hwpt), 0);
	assert_errno(ioas_alloc(f->p, f->fd, &ioas2), 0);
	assert_errno(mock_domain_flags(f->p, f->fd, ioas2, MOCK_FLAGS_DEVICE_NO_DIRTY, &stdev,
				       &hwpt2, &idev2), 0);
	assert_errno(hwpt_alloc(f->p, f->fd, idev2, ioas2, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &hwpt,
				0, NULL, 0), -EOPNOTSUPP);
	info.dev_id = idev2;
	assert_errno(proc_ioctl(f->p, f->fd, IOMMU_GET_HW_INFO, &info), 0);
	assert_int_equal(info.out_capabilities & IOMMU_HW_CAP_DIRTY_TRACKING, 0);
	/* Dirty tracking on a HWPT made without it. */
	{
		struct iommu_hwpt_set_dirty_tracking cmd = {
			.size = sizeof(cmd), .flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE,
			.hwpt_id = hwpt2,
		};

		assert_errno(proc_ioctl(f->p, f->fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd),
			     -EOPNOTSUPP);
		cmd.flags = 2;
		assert_errno(proc_ioctl(f->p, f->fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd),
			     -EOPNOTSUPP);
	}
	assert_errno(obj_destroy(f->p, f->fd, stdev), 0);
}

static long set_dirty(struct uvf_proc *p, int fd, uint32_t hwpt, bool on)
{
	struct iommu_hwpt_set_dirty_tracking cmd = {
		.size = sizeof(cmd), .flags = on ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0,
		.hwpt_id = hwpt,
	};

	return proc_ioctl(p, fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd);
}

static long get_dirty(struct uvf_proc *p, int fd, uint32_t hwpt, uint64_t iova, uint64_t len,
		      uint64_t pgsize, void *bitmap, uint32_t flags)
{
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.size = sizeof(cmd), .hwpt_id = hwpt, .flags = flags, .iova = iova,
		.length = len, .page_size = pgsize, .data = (uintptr_t)bitmap,
	};

	return proc_ioctl(p, fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd);
}

static long mock_set_dirty(struct uvf_proc *p, int fd, uint32_t hwpt, uint64_t iova, uint64_t len,
			   void *bitmap, uint64_t *nr)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_DIRTY, .id = hwpt,
		.dirty = { .iova = iova, .length = len, .page_size = MOCK_PG,
			   .uptr = (uintptr_t)bitmap },
	};
	long rc = test_cmd(p, fd, &cmd);

	*nr = cmd.dirty.out_nr_dirty;
	return rc;
}

static bool bit(const uint8_t *map, uint64_t i)
{
	return map[i / 8] & (1u << (i % 8));
}

/* _test_mock_dirty_bitmaps of the selftests: even IOPTEs dirty. */
static void check_dirty_bitmaps(struct fixture *f, uint32_t hwpt, uint64_t len,
				uint64_t pte_size, uint8_t *bitmap, uint32_t flags)
{
	uint64_t nbits = len / MOCK_PG, npte = pte_size / MOCK_PG, pteset = 2 * npte;
	uint64_t nr = nbits / pteset ? nbits / pteset : 1, out = 0;

	memset(bitmap, 0, (nbits + 7) / 8);
	for (uint64_t i = 0; i < nbits; i += pteset)
		bitmap[i / 8] |= 1u << (i % 8);
	assert_errno(mock_set_dirty(f->p, f->fd, hwpt, MOCK_APERTURE_START, len, bitmap, &out), 0);
	assert_int_equal(out, nr);
	memset(bitmap, 0, (nbits + 7) / 8);
	assert_errno(get_dirty(f->p, f->fd, hwpt, MOCK_APERTURE_START, len, MOCK_PG, bitmap,
			       flags), 0);
	for (uint64_t i = 0; i < nbits; i += pteset)
		for (uint64_t j = 0; j < pteset && i + j < nbits; j++)
			assert_int_equal(j < npte, bit(bitmap, i + j));
	memset(bitmap, 0, (nbits + 7) / 8);
	assert_errno(get_dirty(f->p, f->fd, hwpt, MOCK_APERTURE_START, len, MOCK_PG, bitmap,
			       flags), 0);
	for (uint64_t i = 0; i < nbits; i += pteset)
		for (uint64_t j = 0; j < pteset && i + j < nbits; j++)
			assert_int_equal((j < npte) && (flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR),
					 bit(bitmap, i + j));
}

static void run_dirty(struct fixture *f, uint64_t size, bool huge)
{
	uint8_t *buf = shared_buf(size), *bitmap = malloc(size / MOCK_PG / 8 + 2 * PG);
	uint32_t ioas, hwpt, stdev, idev;

	assert_non_null(bitmap);
	assert_errno(mock_domain_flags(f->p, f->fd, f->ioas, huge ? MOCK_FLAGS_DEVICE_HUGE_IOVA : 0,
				       &stdev, NULL, &idev), 0);
	assert_errno(ioas_alloc(f->p, f->fd, &ioas), 0);
	assert_errno(ioas_map_fixed(f->p, f->fd, ioas, buf, size, MOCK_APERTURE_START), 0);
	assert_errno(hwpt_alloc(f->p, f->fd, idev, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &hwpt, 0,
				NULL, 0), 0);
	/* Not tracking yet: the mock refuses DIRTY. */
	{
		uint64_t nr;

		assert_errno(mock_set_dirty(f->p, f->fd, hwpt, MOCK_APERTURE_START, MOCK_PG,
					    bitmap, &nr), -EINVAL);
	}
	assert_errno(set_dirty(f->p, f->fd, hwpt, true), 0);
	for (uint32_t flags = 0; flags < 2; flags++) {
		uint64_t pte = huge ? 512 * MOCK_PG : MOCK_PG;

		check_dirty_bitmaps(f, hwpt, size, pte, bitmap, flags);
		check_dirty_bitmaps(f, hwpt, size, pte, bitmap + MOCK_PG, flags);
		check_dirty_bitmaps(f, hwpt, size, pte, bitmap + 0xff1, flags);
	}
	/* Range checks of GET_DIRTY_BITMAP. */
	assert_errno(get_dirty(f->p, f->fd, hwpt, MOCK_APERTURE_START, 0, MOCK_PG, bitmap, 0),
		     -EINVAL);
	assert_errno(get_dirty(f->p, f->fd, hwpt, MOCK_APERTURE_START + 1, MOCK_PG, MOCK_PG,
			       bitmap, 0), -EINVAL);
	assert_errno(get_dirty(f->p, f->fd, hwpt, MOCK_APERTURE_START, MOCK_PG, 0, bitmap, 0),
		     -EINVAL);
	assert_errno(get_dirty(f->p, f->fd, hwpt, UINT64_MAX - MOCK_PG, 4 * MOCK_PG, MOCK_PG,
			       bitmap, 0), -EOVERFLOW);
	assert_errno(get_dirty(f->p, f->fd, hwpt, MOCK_APERTURE_START, MOCK_PG, MOCK_PG, bitmap,
			       2), -EOPNOTSUPP);
	assert_errno(set_dirty(f->p, f->fd, hwpt, false), 0);
	assert_errno(obj_destroy(f->p, f->fd, hwpt), 0);
	assert_errno(obj_destroy(f->p, f->fd, stdev), 0);
	assert_errno(obj_destroy(f->p, f->fd, ioas), 0);
	free(bitmap);
	munmap(buf, size);
}

static void test_dirty_bitmaps(void **state)
{
	struct fixture *f = *state;

	run_dirty(f, 8 * 1024, false);
	run_dirty(f, 320 * 1024, false);
	run_dirty(f, 4UL << 20, false);
	run_dirty(f, 4UL << 20, true);
}

/* ---- accounting -------------------------------------------------------------------------- */

static void test_accounting_modes(void **state)
{
	struct fixture *f = *state;
	struct uvf_proc *user = proc_new(f->h, 1000, 1000, 0, 4 * PG);
	struct uvf_proc *user2 = proc_new(f->h, 1000, 1000, 0, 4 * PG);
	struct uvf_proc *locker = proc_new(f->h, 1000, 1000, UVF_CAP_IPC_LOCK, 0);
	struct iommu_option opt = { .size = sizeof(opt), .option_id = IOMMU_OPTION_RLIMIT_MODE,
				    .op = IOMMU_OPTION_OP_SET, .val64 = 1 };
	uint32_t ioas, ioas2, lioas;
	uint64_t iova;
	int fd, fd2, lfd;

	/* A host may give users /dev/iommu (the kernel's is root's, 0660). */
	devnode_find(f->h, "/dev/iommu")->mode = 0666;
	fd = iommufd_open(user);
	fd2 = iommufd_open(user2);
	lfd = iommufd_open(locker);

	assert_errno(ioas_alloc(user, fd, &ioas), 0);
	assert_errno(ioas_alloc(user2, fd2, &ioas2), 0);
	/* Lazy: mapping beyond the limit is fine while nothing pins. */
	assert_errno(ioas_map_fixed(user, fd, ioas, f->buf, 8 * PG, MOCK_APERTURE_START), 0);
	assert_errno(mock_domain(user, fd, ioas, NULL, NULL, NULL), -ENOMEM);
	assert_int_equal(user->mm->account->locked_pages, 0);
	assert_errno(ioas_unmap(user, fd, ioas, 0, UINT64_MAX, NULL), 0);
	assert_errno(mock_domain(user, fd, ioas, NULL, NULL, NULL), 0);
	assert_errno(mock_domain(user2, fd2, ioas2, NULL, NULL, NULL), 0);
	/* User mode: one count for the uid, each process's own limit. */
	assert_errno(ioas_map_fixed(user, fd, ioas, f->buf, 3 * PG, MOCK_APERTURE_START), 0);
	assert_errno(ioas_map_fixed(user2, fd2, ioas2, f->buf + 4 * PG, 2 * PG,
				    MOCK_APERTURE_START), -ENOMEM);
	assert_errno(ioas_map_fixed(user2, fd2, ioas2, f->buf + 4 * PG, PG, MOCK_APERTURE_START), 0);
	assert_int_equal(user->mm->account->locked_pages, 0);
	assert_errno(ioas_unmap(user, fd, ioas, 0, UINT64_MAX, NULL), 0);
	assert_errno(ioas_map_fixed(user2, fd2, ioas2, f->buf, 3 * PG, MOCK_APERTURE_START + 4 * PG),
		     0);
	/* CAP_IPC_LOCK: nobody pays. */
	assert_errno(ioas_alloc(locker, lfd, &lioas), 0);
	assert_errno(mock_domain(locker, lfd, lioas, NULL, NULL, NULL), 0);
	assert_errno(ioas_map(locker, lfd, lioas, f->buf, BUF_SIZE, &iova, MAP_RW), 0);
	assert_int_equal(locker->mm->account->locked_pages, 0);
	/* mm mode: the process's locked_vm. */
	assert_int_equal(proc_close(user, fd), 0);
	fd = iommufd_open(user);
	assert_errno(proc_ioctl(user, fd, IOMMU_OPTION, &opt), -EPERM);
	user->caller.caps |= UVF_CAP_SYS_RESOURCE;
	assert_errno(proc_ioctl(user, fd, IOMMU_OPTION, &opt), 0);
	assert_errno(ioas_alloc(user, fd, &ioas), 0);
	assert_errno(mock_domain(user, fd, ioas, NULL, NULL, NULL), 0);
	assert_errno(ioas_map_fixed(user, fd, ioas, f->buf, 4 * PG, MOCK_APERTURE_START), 0);
	assert_int_equal(user->mm->account->locked_pages, 4);
	assert_errno(ioas_map_fixed(user, fd, ioas, f->buf, PG, MOCK_APERTURE_START + 8 * PG),
		     -ENOMEM);
	/* The last close uncharges at once. */
	assert_int_equal(proc_close(user, fd), 0);
	assert_int_equal(user->mm->account->locked_pages, 0);
	proc_free(user);
	proc_free(user2);
	proc_free(locker);
}

/* ---- fail-nth ------------------------------------------------------------------------------ */

/* The bodies of the kernel's iommufd_fail_nth cases: each either
 * completes or fails somewhere, and then must leave nothing behind. */
struct nth_ctx {
	struct uvf_proc *p;
	int fd;
	int afd;			/* an access fd, closed before teardown */
	uint8_t *buf;
};

static int nth_basic(struct nth_ctx *x)
{
	struct iommu_iova_range ranges[10];
	struct iommu_ioas_iova_ranges rc = { .size = sizeof(rc), .num_iovas = 10,
					     .allowed_iovas = (uintptr_t)ranges };
	struct iommu_ioas_allow_iovas allow = { .size = sizeof(allow), .num_iovas = 1,
						.allowed_iovas = (uintptr_t)ranges };
	struct iommu_ioas_copy copy = { .size = sizeof(copy), .flags = MAP_RW,
					.length = sizeof(ranges) };
	uint32_t ioas;
	uint64_t iova;

	x->fd = proc_open(x->p, "/dev/iommu", O_RDWR);
	if (x->fd < 0 || ioas_alloc(x->p, x->fd, &ioas))
		return -1;
	rc.ioas_id = allow.ioas_id = copy.dst_ioas_id = copy.src_ioas_id = ioas;
	if (proc_ioctl(x->p, x->fd, IOMMU_IOAS_IOVA_RANGES, &rc))
		return -1;
	ranges[0].start = 16 * 1024;
	ranges[0].last = BUF_SIZE + 16 * 1024 * 600 - 1;
	if (proc_ioctl(x->p, x->fd, IOMMU_IOAS_ALLOW_IOVAS, &allow))
		return -1;
	if (ioas_map(x->p, x->fd, ioas, x->buf, BUF_SIZE, &iova, MAP_RW))
		return -1;
	copy.src_iova = iova;
	if (proc_ioctl(x->p, x->fd, IOMMU_IOAS_COPY, &copy))
		return -1;
	if (ioas_unmap(x->p, x->fd, ioas, iova, BUF_SIZE, NULL))
		return -1;
	/* The failure path of nothing to unmap. */
	ioas_unmap(x->p, x->fd, ioas, iova, BUF_SIZE, NULL);
	return 0;
}

static int nth_set_limit(struct nth_ctx *x)
{
	struct iommu_test_cmd cmd = { .op = IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,
				      .memory_limit = { .limit = 32 } };

	return test_cmd(x->p, x->fd, &cmd) ? -1 : 0;
}

static int nth_map_domain(struct nth_ctx *x)
{
	uint32_t ioas, stdev;
	uint64_t iova;

	x->fd = proc_open(x->p, "/dev/iommu", O_RDWR);
	if (x->fd < 0 || ioas_alloc(x->p, x->fd, &ioas) || nth_set_limit(x))
		return -1;
	if (mock_domain(x->p, x->fd, ioas, &stdev, NULL, NULL))
		return -1;
	if (ioas_map(x->p, x->fd, ioas, x->buf, BUF_SIZE, &iova, MAP_RW))
		return -1;
	if (obj_destroy(x->p, x->fd, stdev))
		return -1;
	if (mock_domain(x->p, x->fd, ioas, &stdev, NULL, NULL))
		return -1;
	return 0;
}

static int nth_map_two_domains(struct nth_ctx *x)
{
	uint32_t ioas, stdev, stdev2;
	uint64_t iova;

	x->fd = proc_open(x->p, "/dev/iommu", O_RDWR);
	if (x->fd < 0 || ioas_alloc(x->p, x->fd, &ioas) || nth_set_limit(x))
		return -1;
	if (mock_domain(x->p, x->fd, ioas, &stdev, NULL, NULL) ||
	    mock_domain(x->p, x->fd, ioas, &stdev2, NULL, NULL))
		return -1;
	if (ioas_map(x->p, x->fd, ioas, x->buf, BUF_SIZE, &iova, MAP_RW))
		return -1;
	if (obj_destroy(x->p, x->fd, stdev) || obj_destroy(x->p, x->fd, stdev2))
		return -1;
	if (mock_domain(x->p, x->fd, ioas, &stdev, NULL, NULL) ||
	    mock_domain(x->p, x->fd, ioas, &stdev2, NULL, NULL))
		return -1;
	return 0;
}

static int nth_access_rw(struct nth_ctx *x)
{
	uint64_t big[512], iova;
	uint16_t tmp[32];
	uint32_t ioas;

	x->fd = proc_open(x->p, "/dev/iommu", O_RDWR);
	if (x->fd < 0 || ioas_alloc(x->p, x->fd, &ioas) || nth_set_limit(x))
		return -1;
	if (ioas_map(x->p, x->fd, ioas, x->buf, BUF_SIZE, &iova, MAP_RW))
		return -1;
	if (create_access(x->p, x->fd, ioas, 0, &x->afd)) {
		x->afd = -1;
		return -1;
	}
	if (access_rw(x->p, x->fd, x->afd, iova, tmp, sizeof(tmp), 0) ||
	    access_rw(x->p, x->fd, x->afd, iova, tmp, sizeof(tmp), MOCK_ACCESS_RW_WRITE) ||
	    access_rw(x->p, x->fd, x->afd, iova, tmp, sizeof(tmp), MOCK_ACCESS_RW_SLOW_PATH) ||
	    access_rw(x->p, x->fd, x->afd, iova, big, sizeof(big), MOCK_ACCESS_RW_SLOW_PATH))
		return -1;
	return 0;
}

/* access_pin (with_domain false) and access_pin_domain (true). */
static int nth_access_pin_common(struct nth_ctx *x, bool with_domain_)
{
	uint32_t ioas, stdev = 0, item;
	uint64_t iova;

	x->fd = proc_open(x->p, "/dev/iommu", O_RDWR);
	if (x->fd < 0 || ioas_alloc(x->p, x->fd, &ioas) || nth_set_limit(x))
		return -1;
	if (with_domain_ && mock_domain(x->p, x->fd, ioas, &stdev, NULL, NULL))
		return -1;
	if (ioas_map(x->p, x->fd, ioas, x->buf, BUF_SIZE, &iova, MAP_RW))
		return -1;
	if (create_access(x->p, x->fd, ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES, &x->afd)) {
		x->afd = -1;
		return -1;
	}
	if (access_pages(x->p, x->fd, x->afd, iova, BUF_SIZE, x->buf, &item))
		return -1;
	if (destroy_access_pages(x->p, x->fd, x->afd, item))
		return -1;
	if (proc_close(x->p, x->afd))
		return -1;
	x->afd = -1;
	if (with_domain_ && obj_destroy(x->p, x->fd, stdev))
		return -1;
	return 0;
}

static int nth_access_pin(struct nth_ctx *x)
{
	return nth_access_pin_common(x, false);
}

static int nth_access_pin_domain(struct nth_ctx *x)
{
	return nth_access_pin_common(x, true);
}

static int nth_device(struct nth_ctx *x)
{
	struct iommu_hw_info info = { .size = sizeof(info) };
	struct iommu_test_hw_info data;
	uint32_t ioas, ioas2, stdev, idev, hwpt;
	uint64_t iova = MOCK_APERTURE_START;

	x->fd = proc_open(x->p, "/dev/iommu", O_RDWR);
	if (x->fd < 0 || ioas_alloc(x->p, x->fd, &ioas) || ioas_alloc(x->p, x->fd, &ioas2))
		return -1;
	if (ioas_map(x->p, x->fd, ioas, x->buf, PG, &iova, MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA) ||
	    ioas_map(x->p, x->fd, ioas2, x->buf, PG, &iova, MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA))
		return -1;
	if (mock_domain(x->p, x->fd, ioas, &stdev, NULL, &idev))
		return -1;
	info.dev_id = idev;
	info.data_len = sizeof(data);
	info.data_uptr = (uintptr_t)&data;
	if (proc_ioctl(x->p, x->fd, IOMMU_GET_HW_INFO, &info))
		return -1;
	if (hwpt_alloc(x->p, x->fd, idev, ioas, 0, &hwpt, 0, NULL, 0))
		return -1;
	if (mock_replace(x->p, x->fd, stdev, ioas2, NULL))
		return -1;
	if (mock_replace(x->p, x->fd, stdev, hwpt, NULL))
		return -1;
	return 0;
}

/* The kernel's TEST_FAIL_NTH loop: arm the n-th site, run, clean up, and
 * check that nothing stays pinned, until a run passes every site. */
static void run_fail_nth(struct fixture *f, int (*body)(struct nth_ctx *x))
{
	struct fail_nth_table *t = iommufd_fail_nth_table(f->h);
	struct nth_ctx x = { .p = f->p, .buf = f->buf };
	pid_t tid = f->p->caller.tid;
	unsigned int nth, left = 0;
	int rc = -1;

	for (nth = 1; nth < 400; nth++) {
		x.fd = -1;
		x.afd = -1;
		assert_errno(fail_nth_write(t, tid, nth), 0);
		rc = body(&x);
		left = fail_nth_read(t, tid);
		assert_errno(fail_nth_write(t, tid, 0), 0);
		if (x.afd >= 0)
			assert_int_equal(proc_close(f->p, x.afd), 0);
		if (x.fd >= 0)
			teardown_iommufd(f->p, x.fd, f->buf, BUF_SIZE);
		/* Not reached: the run went through every site. */
		if (left)
			break;
	}
	assert_true(nth > 3 && nth < 400);
	assert_int_equal(rc, 0);
}

static void test_fail_nth(void **state)
{
	struct fixture *f = *state;
	int (*const bodies[])(struct nth_ctx *x) = {
		nth_basic, nth_map_domain, nth_map_two_domains, nth_access_rw,
		nth_access_pin, nth_access_pin_domain, nth_device,
	};

	/* The fixture's context is not the one under test. */
	assert_int_equal(proc_close(f->p, f->fd), 0);
	for (size_t i = 0; i < ARRAY_SIZE(bodies); i++)
		run_fail_nth(f, bodies[i]);
	f->fd = iommufd_open(f->p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cmd_fail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmd_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmd_ex_fail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserved_fields, setup, teardown),
		cmocka_unit_test(test_test_cmd_needs_option),
		cmocka_unit_test_setup_teardown(test_global_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ioas_destroy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_area, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmap_fully_contained_areas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_area_auto_iova, setup, teardown),
		cmocka_unit_test_setup_teardown(test_area_auto_iova_domain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_area_allowed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_area, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iova_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_option_huge_pages_and_alignment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ioas_iova_alloc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lazy_pinning, setup, teardown),
		cmocka_unit_test_setup_teardown(test_access_pin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_access_pin_unmap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_access_rw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mock_basic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mock_all_aligns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mock_ro_unshare, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mock_user_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mock_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mock_alloc_hwpt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alloc_hwpt_nested, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_hw_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dirty_enforce_and_capability, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dirty_bitmaps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accounting_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fail_nth, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
