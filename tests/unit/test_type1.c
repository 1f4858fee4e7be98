// SPDX-License-Identifier: MIT
/*
 * The type1 IOMMU backend through a container with a mock device's group:
 * GET_INFO and its capability chain, MAP_DMA and UNMAP_DMA rules (v1 and
 * v2), the entry limit, locked-memory accounting, VADDR live update, dirty
 * page tracking, group attach rules, and device DMA through the domain.
 */
#include "harness.h"
#include "vfio_mock.h"

#define PG 4096ULL

struct fixture {
	struct uvf_host *h;
	struct uvf_proc *p;
	struct mock_dev *m;
	int gfd, cfd;
	uint8_t *mem;		/* 64 pages of DMA-able memory */
	size_t memlen;
};

static void fixture_open(struct fixture *f, unsigned long iommu)
{
	f->gfd = group_open(f->p, 3);
	assert_true(f->gfd >= 0);
	f->cfd = container_with_group(f->p, f->gfd, iommu);
}

static int setup_common(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->h = host_new();
	assert_non_null(f->h);
	f->p = proc_new_root(f->h);
	f->m = mock_dev_add(f->h, 3, "0000:00:03.0");
	f->memlen = 64 * PG;
	f->mem = test_mem(f->memlen, PROT_READ | PROT_WRITE);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	setup_common(state);
	fixture_open(*state, VFIO_TYPE1v2_IOMMU);
	return 0;
}

static int setup_v1(void **state)
{
	setup_common(state);
	fixture_open(*state, VFIO_TYPE1_IOMMU);
	return 0;
}

/* A container with the group attached but no IOMMU set yet. */
static int setup_unset(void **state)
{
	setup_common(state);
	fixture_open(*state, 0);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	proc_free(f->p);
	mock_dev_free(f->m);
	host_free(f->h);
	munmap(f->mem, f->memlen);
	free(f);
	return 0;
}

static uint64_t va(struct fixture *f, size_t page)
{
	return (uint64_t)(uintptr_t)(f->mem + page * PG);
}

/* ---- GET_INFO ------------------------------------------------------------ */

struct info_buf {
	struct vfio_iommu_type1_info info;
	uint8_t caps[256];
};

static const struct vfio_info_cap_header *cap_at(const void *base, uint32_t off)
{
	return (const struct vfio_info_cap_header *)((const uint8_t *)base + off);
}

static void test_get_info_minsz(void **state)
{
	struct fixture *f = *state;
	struct info_buf b;

	memset(&b, 0xa5, sizeof(b));
	b.info.argsz = 15;
	assert_errno(proc_ioctl(f->p, f->cfd, VFIO_IOMMU_GET_INFO, &b), -EINVAL);
	/* The 16-byte minimum still works and writes nothing past it. */
	b.info.argsz = 16;
	assert_errno(proc_ioctl(f->p, f->cfd, VFIO_IOMMU_GET_INFO, &b), 0);
	assert_int_equal(b.info.flags, VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
	assert_int_equal(b.info.iova_pgsizes, PG | (2ULL << 20) | (1ULL << 30));
	assert_int_equal(b.info.cap_offset, 0xa5a5a5a5);
	/* The size it would need: info + MIGRATION 32 + DMA_AVAIL 16 + IOVA 48. */
	assert_int_equal(b.info.argsz, 24 + 32 + 16 + 48);
	assert_errno(proc_ioctl(f->p, f->cfd, VFIO_IOMMU_GET_INFO, (void *)8), -EFAULT);
}

static void test_get_info_cap_chain_retry(void **state)
{
	struct fixture *f = *state;
	struct info_buf b;
	const struct vfio_info_cap_header *h;
	const struct vfio_iommu_type1_info_cap_migration *mig;
	const struct vfio_iommu_type1_info_dma_avail *avail;
	const struct vfio_iommu_type1_info_cap_iova_range *iova;

	memset(&b, 0, sizeof(b));
	b.info.argsz = sizeof(b.info);
	assert_errno(proc_ioctl(f->p, f->cfd, VFIO_IOMMU_GET_INFO, &b), 0);
	assert_true(b.info.flags & VFIO_IOMMU_INFO_CAPS);
	assert_int_equal(b.info.cap_offset, 0);
	assert_int_equal(b.info.argsz, 120);

	memset(&b, 0, sizeof(b));
	b.info.argsz = 120;
	assert_errno(proc_ioctl(f->p, f->cfd, VFIO_IOMMU_GET_INFO, &b), 0);
	assert_int_equal(b.info.argsz, 120);
	assert_int_equal(b.info.cap_offset, sizeof(b.info));

	h = cap_at(&b, b.info.cap_offset);
	assert_int_equal(h->id, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION);
	assert_int_equal(h->version, 1);
	mig = (const void *)h;
	assert_int_equal(mig->flags, 0);
	assert_int_equal(mig->pgsize_bitmap, PG);
	assert_int_equal(mig->max_dirty_bitmap_size, 1ULL << 28);

	h = cap_at(&b, h->next);
	assert_int_equal(h->id, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
	avail = (const void *)h;
	assert_int_equal(avail->avail, 65535);

	h = cap_at(&b, h->next);
	assert_int_equal(h->id, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
	assert_int_equal(h->next, 0);
	iova = (const void *)h;
	/* The aperture less the MSI window. */
	assert_int_equal(iova->nr_iovas, 2);
	assert_int_equal(iova->iova_ranges[0].start, 0);
	assert_int_equal(iova->iova_ranges[0].end, 0xfedfffffULL);
	assert_int_equal(iova->iova_ranges[1].start, 0xfef00000ULL);
	assert_int_equal(iova->iova_ranges[1].end, (1ULL << 48) - 1);
}

static void test_pgsizes_hide_subpage(void **state)
{
	struct fixture *f = *state;
	struct mock_dev *m2 = mock_dev_new(f->h, 7, "0000:00:07.0", &mock_ops);
	struct vfio_iommu_type1_info info = { .argsz = 16 };
	int g7, cfd;

	assert_int_equal(vfio_register_group_dev(&m2->vdev), 0);
	m2->registered = true;
	m2->dev.iommu_group->pgsize_bitmap = 0x200 | 0x800 | (2ULL << 20);
	g7 = group_open(f->p, 7);
	cfd = container_with_group(f->p, g7, VFIO_TYPE1v2_IOMMU);
	assert_errno(proc_ioctl(f->p, cfd, VFIO_IOMMU_GET_INFO, &info), 0);
	assert_int_equal(info.iova_pgsizes, PG | (2ULL << 20));
	proc_free(f->p);
	f->p = NULL;
	mock_dev_free(m2);
}

/* ---- MAP_DMA --------------------------------------------------------------- */

static void test_map_errors(void **state)
{
	struct fixture *f = *state;
	struct vfio_iommu_type1_dma_map map = { .argsz = 31, .flags = DMA_RW,
						.vaddr = va(f, 0), .iova = 0x100000, .size = PG };

	assert_errno(proc_ioctl(f->p, f->cfd, VFIO_IOMMU_MAP_DMA, &map), -EINVAL);
	assert_errno(proc_ioctl(f->p, f->cfd, VFIO_IOMMU_MAP_DMA, (void *)8), -EFAULT);
	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0x100000, PG, DMA_RW | 8), -EINVAL);
	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0x100000, PG, 0), -EINVAL);
	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0x100000, PG,
			     VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_VADDR), -EINVAL);
	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0x100000, 0, DMA_RW), -EINVAL);
	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0x100800, PG, DMA_RW), -EINVAL);
	assert_errno(dma_map(f->p, f->cfd, va(f, 0) + 16, 0x100000, PG, DMA_RW), -EINVAL);
	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0x100000, PG + 1, DMA_RW), -EINVAL);
	/* Wrap-around of the IOVA and of the vaddr. */
	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0ULL - PG, 2 * PG, DMA_RW), -EINVAL);
	assert_errno(dma_map(f->p, f->cfd, 0ULL - PG, 0x100000, 2 * PG, DMA_RW), -EINVAL);
	/* Outside the valid IOVA list: the MSI window, past the aperture. */
	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0xfee00000, PG, DMA_RW), -EINVAL);
	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0xfedff000, 2 * PG, DMA_RW), -EINVAL);
	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 1ULL << 48, PG, DMA_RW), -EINVAL);
	/* Memory that is not there. */
	assert_errno(dma_map(f->p, f->cfd, 0x1000, 0x100000, PG, DMA_RW), -EFAULT);
	/* Nothing of that stuck. */
	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0x100000, PG, DMA_RW), 0);
}

static void test_map_overlap(void **state)
{
	struct fixture *f = *state;

	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0x100000, 4 * PG, DMA_RW), 0);
	assert_errno(dma_map(f->p, f->cfd, va(f, 8), 0x100000, PG, DMA_RW), -EEXIST);
	assert_errno(dma_map(f->p, f->cfd, va(f, 8), 0x103000, 2 * PG, DMA_RW), -EEXIST);
	assert_errno(dma_map(f->p, f->cfd, va(f, 8), 0x0ff000, 2 * PG, DMA_RW), -EEXIST);
	assert_errno(dma_map(f->p, f->cfd, va(f, 8), 0x0ff000, PG, DMA_RW), 0);
	assert_errno(dma_map(f->p, f->cfd, va(f, 8), 0x104000, PG, DMA_RW), 0);
}

static void test_map_readonly_memory(void **state)
{
	struct fixture *f = *state;
	void *ro = test_mem(PG, PROT_READ);

	/* The device may write: the memory must be writable. */
	assert_errno(dma_map(f->p, f->cfd, (uintptr_t)ro, 0x100000, PG, DMA_RW), -EFAULT);
	assert_errno(dma_map(f->p, f->cfd, (uintptr_t)ro, 0x100000, PG,
			     VFIO_DMA_MAP_FLAG_READ), 0);
	munmap(ro, PG);
}

static void test_device_dma(void **state)
{
	struct fixture *f = *state;
	struct uvf_dma_fault fault = { 0 };
	struct uvf_dma_map direct;
	char buf[8];

	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0x100000, 2 * PG, DMA_RW), 0);
	assert_errno(dma_map(f->p, f->cfd, va(f, 4), 0x200000, PG, VFIO_DMA_MAP_FLAG_READ), 0);
	memcpy(f->mem + 4 * PG, "ro-page", 8);
	/* Across the page boundary of one mapping. */
	assert_int_equal(dma_write(&f->m->dev, 0x100ffc, "abcdefg", 8, &fault), 0);
	assert_memory_equal(f->mem + PG - 4, "abcdefg", 8);
	assert_int_equal(dma_read(&f->m->dev, 0x200000, buf, 8, &fault), 0);
	assert_string_equal(buf, "ro-page");
	/* Write to a read-only mapping, read of nothing mapped: faults. */
	assert_errno(dma_write(&f->m->dev, 0x200000, "x", 1, &fault), -EFAULT);
	assert_int_equal(fault.iova, 0x200000);
	assert_true(fault.write);
	assert_errno(dma_read(&f->m->dev, 0x101ff8, buf, 16, &fault), -EFAULT);
	assert_int_equal(fault.iova, 0x102000);
	assert_int_equal(fault.error, -EFAULT);
	/* Direct access sees the same bytes. */
	assert_int_equal(dma_map_direct(&f->m->dev, 0x100000, PG, true, &direct, &fault), 0);
	assert_ptr_equal(direct.ptr, f->mem);
	dma_unmap_direct(&direct);
	assert_errno(dma_map_direct(&f->m->dev, 0x300000, PG, false, &direct, &fault), -EFAULT);
	/* Unmapped: the device faults. */
	assert_errno(dma_unmap(f->p, f->cfd, 0x100000, 2 * PG, 0, NULL), 0);
	assert_errno(dma_read(&f->m->dev, 0x100000, buf, 8, &fault), -EFAULT);
}

static void test_dma_blocked_without_iommu(void **state)
{
	struct fixture *f = *state;
	struct uvf_dma_fault fault = { 0 };
	char buf[4];

	/* Before any group is user-owned the device is the kernel's. */
	assert_errno(dma_read(&f->m->dev, 0, buf, sizeof(buf), &fault), -EPERM);
	/* After SET_CONTAINER, before SET_IOMMU: blocked. */
	fixture_open(f, 0);
	assert_ptr_equal(f->m->dev.iommu_group->domain, f->m->dev.iommu_group->blocking_domain);
	assert_errno(dma_read(&f->m->dev, 0, buf, sizeof(buf), &fault), -EPERM);
	assert_int_equal(fault.error, -EPERM);
}

/* ---- UNMAP_DMA ---------------------------------------------------------------- */

static void test_unmap_errors(void **state)
{
	struct fixture *f = *state;
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = 23, .iova = 0x100000, .size = PG };

	assert_errno(proc_ioctl(f->p, f->cfd, VFIO_IOMMU_UNMAP_DMA, &unmap), -EINVAL);
	assert_errno(dma_unmap(f->p, f->cfd, 0x100000, PG, 8, NULL), -EINVAL);
	assert_errno(dma_unmap(f->p, f->cfd, 0x100800, PG, 0, NULL), -EINVAL);
	assert_errno(dma_unmap(f->p, f->cfd, 0x100000, 0, 0, NULL), -EINVAL);
	assert_errno(dma_unmap(f->p, f->cfd, 0x100000, PG + 1, 0, NULL), -EINVAL);
	assert_errno(dma_unmap(f->p, f->cfd, 0ULL - PG, 2 * PG, 0, NULL), -EINVAL);
	assert_errno(dma_unmap(f->p, f->cfd, PG, 0, VFIO_DMA_UNMAP_FLAG_ALL, NULL), -EINVAL);
	assert_errno(dma_unmap(f->p, f->cfd, 0, PG, VFIO_DMA_UNMAP_FLAG_ALL, NULL), -EINVAL);
	assert_errno(dma_unmap(f->p, f->cfd, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL |
			       VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, NULL), -EINVAL);
	assert_errno(dma_unmap(f->p, f->cfd, 0, 0, VFIO_DMA_UNMAP_FLAG_VADDR |
			       VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, NULL), -EINVAL);
}

static void test_unmap_v2(void **state)
{
	struct fixture *f = *state;
	uint64_t size;

	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0x100000, 4 * PG, DMA_RW), 0);
	assert_errno(dma_map(f->p, f->cfd, va(f, 4), 0x104000, 2 * PG, DMA_RW), 0);
	/* Bisecting either end of a mapping is refused. */
	assert_errno(dma_unmap(f->p, f->cfd, 0x101000, PG, 0, &size), -EINVAL);
	/* A failed unmap writes nothing back. */
	assert_int_equal(size, PG);
	assert_errno(dma_unmap(f->p, f->cfd, 0x100000, 5 * PG, 0, &size), -EINVAL);
	assert_errno(dma_unmap(f->p, f->cfd, 0x0ff000, 2 * PG, 0, &size), -EINVAL);
	/* Nothing there: success, size 0. */
	assert_errno(dma_unmap(f->p, f->cfd, 0x200000, PG, 0, &size), 0);
	assert_int_equal(size, 0);
	/* Whole mappings, several at once, with slack around them. */
	assert_errno(dma_unmap(f->p, f->cfd, 0x0f0000, 0x20000, 0, &size), 0);
	assert_int_equal(size, 6 * PG);
	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0x100000, 4 * PG, DMA_RW), 0);
}

static void test_unmap_v1(void **state)
{
	struct fixture *f = *state;
	uint64_t size;

	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0x100000, 4 * PG, DMA_RW), 0);
	assert_errno(dma_map(f->p, f->cfd, va(f, 4), 0x104000, 2 * PG, DMA_RW), 0);
	/* Starting inside a mapping: success, nothing unmapped, even though
	 * the range covers the next mapping entirely. */
	assert_errno(dma_unmap(f->p, f->cfd, 0x101000, 8 * PG, 0, &size), 0);
	assert_int_equal(size, 0);
	/* Covering a mapping's first page removes all of it. */
	assert_errno(dma_unmap(f->p, f->cfd, 0x100000, PG, 0, &size), 0);
	assert_int_equal(size, 4 * PG);
	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0x100000, PG, DMA_RW), 0);
	/* v1 has no dirty tracking. */
	struct vfio_iommu_type1_dirty_bitmap d = { .argsz = sizeof(d),
		.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START };

	assert_errno(proc_ioctl(f->p, f->cfd, VFIO_IOMMU_DIRTY_PAGES, &d), -EACCES);
}

static void test_unmap_all(void **state)
{
	struct fixture *f = *state;
	uint64_t size;

	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0x100000, 4 * PG, DMA_RW), 0);
	assert_errno(dma_map(f->p, f->cfd, va(f, 4), 0x7f0000000000ULL, 2 * PG, DMA_RW), 0);
	assert_errno(dma_unmap(f->p, f->cfd, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &size), 0);
	assert_int_equal(size, 6 * PG);
	assert_errno(dma_unmap(f->p, f->cfd, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &size), 0);
	assert_int_equal(size, 0);
	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0x100000, 4 * PG, DMA_RW), 0);
}

/* ---- limits ------------------------------------------------------------------- */

static uint32_t dma_avail(struct fixture *f)
{
	struct info_buf b = { .info = { .argsz = sizeof(b) } };
	const struct vfio_info_cap_header *h;

	assert_errno(proc_ioctl(f->p, f->cfd, VFIO_IOMMU_GET_INFO, &b), 0);
	for (h = cap_at(&b, b.info.cap_offset); h->id != VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL;
	     h = cap_at(&b, h->next))
		assert_int_not_equal(h->next, 0);
	return ((const struct vfio_iommu_type1_info_dma_avail *)h)->avail;
}

static void test_dma_entry_limit(void **state)
{
	struct fixture *f = *state;

	/* The limit is read when the backend is opened, as the module param. */
	f->h->params.dma_entry_limit = 3;
	fixture_open(f, VFIO_TYPE1v2_IOMMU);
	assert_int_equal(dma_avail(f), 3);
	for (int i = 0; i < 3; i++)
		assert_errno(dma_map(f->p, f->cfd, va(f, i), 0x100000 + i * PG, PG, DMA_RW), 0);
	assert_int_equal(dma_avail(f), 0);
	assert_errno(dma_map(f->p, f->cfd, va(f, 3), 0x200000, PG, DMA_RW), -ENOSPC);
	assert_errno(dma_unmap(f->p, f->cfd, 0x101000, PG, 0, NULL), 0);
	assert_int_equal(dma_avail(f), 1);
	assert_errno(dma_map(f->p, f->cfd, va(f, 3), 0x200000, PG, DMA_RW), 0);
	assert_errno(dma_unmap(f->p, f->cfd, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, NULL), 0);
	assert_int_equal(dma_avail(f), 3);
}

static void test_memlock(void **state)
{
	struct fixture *f = *state;
	struct uvf_proc *user = proc_new(f->h, 1000, 1000, 0, 4 * PG);
	struct uvf_proc *locker = proc_new(f->h, 1000, 1000, UVF_CAP_IPC_LOCK, 4 * PG);
	int cfd = proc_pass_fd(f->p, f->cfd, user);
	int cfd2 = proc_pass_fd(f->p, f->cfd, locker);

	assert_errno(dma_map(user, cfd, va(f, 0), 0x100000, 3 * PG, DMA_RW), 0);
	assert_int_equal(user->mm->account->locked_pages, 3);
	assert_errno(dma_map(user, cfd, va(f, 3), 0x200000, 2 * PG, DMA_RW), -ENOMEM);
	assert_errno(dma_map(user, cfd, va(f, 3), 0x200000, PG, DMA_RW), 0);
	assert_int_equal(user->mm->account->locked_pages, 4);
	/* CAP_IPC_LOCK: charged, but not limited. */
	assert_errno(dma_map(locker, cfd2, va(f, 8), 0x300000, 8 * PG, DMA_RW), 0);
	assert_int_equal(locker->mm->account->locked_pages, 8);
	assert_errno(dma_unmap(user, cfd, 0x100000, 3 * PG, 0, NULL), 0);
	assert_int_equal(user->mm->account->locked_pages, 1);
	/* The backend going away unpins everything. */
	assert_errno(proc_ioctl(f->p, f->gfd, VFIO_GROUP_UNSET_CONTAINER, NULL), 0);
	assert_int_equal(user->mm->account->locked_pages, 0);
	assert_int_equal(locker->mm->account->locked_pages, 0);
	proc_free(user);
	proc_free(locker);
}

/* Mappings made before any IOMMU domain exist pin nothing until one does:
 * attaching the first group then charges them and can fail. */
static void test_memlock_at_attach(void **state)
{
	struct fixture *f = *state;
	struct mock_dev *mdev = mock_dev_new(f->h, -1, "mdev-1", &mock_ops);
	struct uvf_proc *user = proc_new(f->h, 0, 0, UVF_CAP_SYS_RAWIO, 2 * PG);
	int mg, cfd, g3;

	assert_int_equal(vfio_register_emulated_iommu_dev(&mdev->vdev), 0);
	mdev->registered = true;
	mg = group_open(user, mdev->dev.iommu_group->id);
	cfd = container_with_group(user, mg, VFIO_TYPE1v2_IOMMU);
	assert_errno(dma_map(user, cfd, va(f, 0), 0x100000, 4 * PG, DMA_RW), 0);
	assert_int_equal(user->mm->account->locked_pages, 0);
	g3 = group_open(user, 3);
	assert_errno(group_set_container(user, g3, cfd), -ENOMEM);
	assert_int_equal(user->mm->account->locked_pages, 0);
	assert_false(iommu_group_dma_owner_claimed(f->m->dev.iommu_group));
	/* Within the limit it works, and charges. */
	user->mm->account->limit_pages = 4;
	assert_errno(group_set_container(user, g3, cfd), 0);
	assert_int_equal(user->mm->account->locked_pages, 4);
	proc_free(user);
	mock_dev_free(mdev);
}

/* ---- VADDR ---------------------------------------------------------------------- */

static void test_vaddr_update(void **state)
{
	struct fixture *f = *state;
	uint64_t size;
	char buf[8];

	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0x100000, 2 * PG, DMA_RW), 0);
	assert_errno(dma_map(f->p, f->cfd, va(f, 2), 0x102000, 2 * PG, DMA_RW), 0);
	/* Only invalidated mappings take a new vaddr. */
	assert_errno(dma_map(f->p, f->cfd, va(f, 8), 0x100000, 2 * PG,
			     VFIO_DMA_MAP_FLAG_VADDR), -EINVAL);
	assert_errno(dma_map(f->p, f->cfd, va(f, 8), 0x200000, 2 * PG,
			     VFIO_DMA_MAP_FLAG_VADDR), -ENOENT);
	assert_errno(dma_unmap(f->p, f->cfd, 0x102000, 2 * PG, VFIO_DMA_UNMAP_FLAG_VADDR, &size),
		     0);
	assert_int_equal(size, 2 * PG);
	/* One of the range is already invalid: all or nothing. */
	assert_errno(dma_unmap(f->p, f->cfd, 0x100000, 4 * PG, VFIO_DMA_UNMAP_FLAG_VADDR, &size),
		     -EINVAL);
	assert_errno(dma_map(f->p, f->cfd, va(f, 8), 0x100000, 2 * PG,
			     VFIO_DMA_MAP_FLAG_VADDR), -EINVAL);
	/* DMA goes on meanwhile; the new vaddr must match exactly. */
	assert_int_equal(dma_read(&f->m->dev, 0x102000, buf, sizeof(buf), NULL), 0);
	assert_errno(dma_map(f->p, f->cfd, va(f, 8), 0x102000, PG,
			     VFIO_DMA_MAP_FLAG_VADDR), -EINVAL);
	assert_errno(dma_map(f->p, f->cfd, va(f, 8), 0x102000, 2 * PG,
			     VFIO_DMA_MAP_FLAG_VADDR), 0);
	assert_errno(dma_map(f->p, f->cfd, va(f, 8), 0x102000, 2 * PG,
			     VFIO_DMA_MAP_FLAG_VADDR), -EINVAL);
	/* Invalidate all at once, then nothing may attach meanwhile. */
	assert_errno(dma_unmap(f->p, f->cfd, 0, 0, VFIO_DMA_UNMAP_FLAG_VADDR |
			       VFIO_DMA_UNMAP_FLAG_ALL, &size), 0);
	assert_int_equal(size, 4 * PG);
}

static void test_vaddr_blocks_attach(void **state)
{
	struct fixture *f = *state;
	struct mock_dev *m2 = mock_dev_add(f->h, 4, "0000:00:04.0");
	int g4 = group_open(f->p, 4);

	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0x100000, PG, DMA_RW), 0);
	assert_errno(dma_unmap(f->p, f->cfd, 0x100000, PG, VFIO_DMA_UNMAP_FLAG_VADDR, NULL), 0);
	assert_errno(group_set_container(f->p, g4, f->cfd), -EBUSY);
	assert_false(iommu_group_dma_owner_claimed(m2->dev.iommu_group));
	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0x100000, PG, VFIO_DMA_MAP_FLAG_VADDR), 0);
	assert_errno(group_set_container(f->p, g4, f->cfd), 0);
	proc_free(f->p);
	f->p = NULL;
	mock_dev_free(m2);
}

/* Removing an invalidated mapping ends its block on attach, whether by
 * range or by UNMAP_ALL. */
static void test_unmap_of_invalid_vaddr_unblocks(void **state)
{
	struct fixture *f = *state;
	struct mock_dev *m4 = mock_dev_add(f->h, 4, "0000:00:04.0");
	struct mock_dev *m5 = mock_dev_add(f->h, 5, "0000:00:05.0");
	int g4 = group_open(f->p, 4), g5 = group_open(f->p, 5);
	uint64_t size;

	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0x100000, PG, DMA_RW), 0);
	assert_errno(dma_map(f->p, f->cfd, va(f, 1), 0x200000, PG, DMA_RW), 0);
	assert_errno(dma_unmap(f->p, f->cfd, 0x100000, PG, VFIO_DMA_UNMAP_FLAG_VADDR, NULL), 0);
	assert_errno(dma_unmap(f->p, f->cfd, 0x100000, PG, 0, &size), 0);
	assert_int_equal(size, PG);
	assert_errno(group_set_container(f->p, g4, f->cfd), 0);
	assert_errno(dma_unmap(f->p, f->cfd, 0x200000, PG, VFIO_DMA_UNMAP_FLAG_VADDR, NULL), 0);
	assert_errno(dma_unmap(f->p, f->cfd, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &size), 0);
	assert_int_equal(size, PG);
	assert_errno(group_set_container(f->p, g5, f->cfd), 0);
	assert_int_equal(dma_avail(f), 65535);
	proc_free(f->p);
	f->p = NULL;
	mock_dev_free(m4);
	mock_dev_free(m5);
}

static void test_vaddr_moves_accounting(void **state)
{
	struct fixture *f = *state;
	struct uvf_proc *old = proc_new(f->h, 0, 0, 0, UINT64_MAX);
	struct uvf_proc *new = proc_new(f->h, 0, 0, 0, PG);
	int c_old = proc_pass_fd(f->p, f->cfd, old);
	int c_new = proc_pass_fd(f->p, f->cfd, new);

	assert_errno(dma_map(old, c_old, va(f, 0), 0x100000, 2 * PG, DMA_RW), 0);
	assert_errno(dma_unmap(old, c_old, 0x100000, 2 * PG, VFIO_DMA_UNMAP_FLAG_VADDR, NULL), 0);
	/* The new process cannot take the charge: the mapping stays invalid. */
	assert_errno(dma_map(new, c_new, va(f, 0), 0x100000, 2 * PG, VFIO_DMA_MAP_FLAG_VADDR),
		     -ENOMEM);
	assert_int_equal(old->mm->account->locked_pages, 2);
	new->mm->account->limit_pages = 2;
	assert_errno(dma_map(new, c_new, va(f, 0), 0x100000, 2 * PG, VFIO_DMA_MAP_FLAG_VADDR),
		     0);
	assert_int_equal(old->mm->account->locked_pages, 0);
	assert_int_equal(new->mm->account->locked_pages, 2);
	assert_errno(dma_unmap(new, c_new, 0x100000, 2 * PG, 0, NULL), 0);
	assert_int_equal(new->mm->account->locked_pages, 0);
	proc_free(old);
	proc_free(new);
}

/* ---- emulated (mdev-style) devices -------------------------------------------------- */

/* Replace the fixture's container by one holding only the group of a new
 * emulated device; *mg receives that group's fd. */
static struct mock_dev *emulated_container(struct fixture *f, const char *name, int *mg)
{
	struct mock_dev *mdev = mock_dev_new(f->h, -1, name, &mock_ops);

	assert_int_equal(vfio_register_emulated_iommu_dev(&mdev->vdev), 0);
	mdev->registered = true;
	proc_close(f->p, f->gfd);
	proc_close(f->p, f->cfd);
	*mg = group_open(f->p, mdev->dev.iommu_group->id);
	f->cfd = container_with_group(f->p, *mg, VFIO_TYPE1v2_IOMMU);
	return mdev;
}

/* Only an open device may use vfio_dma_rw. */
static void emulated_open(struct fixture *f, int mg, struct mock_dev *mdev)
{
	assert_true(proc_ioctl(f->p, mg, VFIO_GROUP_GET_DEVICE_FD, mdev->dev.name) >= 0);
}

static void emulated_done(struct fixture *f, struct mock_dev *mdev)
{
	proc_free(f->p);
	f->p = NULL;
	mock_dev_free(mdev);
}

/* vfio_dma_rw: the errno of each way an access can fail. */
static void test_dma_rw_errors(void **state)
{
	struct fixture *f = *state;
	int mg;
	struct mock_dev *mdev = emulated_container(f, "mdev-rw", &mg);
	char buf[8];

	emulated_open(f, mg, mdev);
	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0x100000, 2 * PG, DMA_RW), 0);
	assert_errno(dma_map(f->p, f->cfd, va(f, 2), 0x102000, 2 * PG, DMA_RW), 0);
	assert_errno(dma_map(f->p, f->cfd, va(f, 4), 0x200000, PG, VFIO_DMA_MAP_FLAG_READ), 0);
	assert_errno(dma_map(f->p, f->cfd, va(f, 8), 0x300000, PG, VFIO_DMA_MAP_FLAG_WRITE), 0);
	/* Nothing mapped. */
	assert_errno(vfio_dma_rw(&mdev->vdev, 0x400000, buf, 1, false), -EINVAL);
	assert_errno(vfio_dma_rw(&mdev->vdev, 0x400000, "x", 1, true), -EINVAL);
	/* No READ: neither reads nor writes; no WRITE: no writes. */
	assert_errno(vfio_dma_rw(&mdev->vdev, 0x300000, buf, 1, false), -EPERM);
	assert_errno(vfio_dma_rw(&mdev->vdev, 0x300000, "x", 1, true), -EPERM);
	assert_errno(vfio_dma_rw(&mdev->vdev, 0x200000, "x", 1, true), -EPERM);
	memcpy(f->mem + 4 * PG, "ro-page", 8);
	assert_errno(vfio_dma_rw(&mdev->vdev, 0x200000, buf, 8, false), 0);
	assert_string_equal(buf, "ro-page");
	/* Across two mappings; then from a mapping into a hole, which copies
	 * what the mapping holds first. */
	assert_errno(vfio_dma_rw(&mdev->vdev, 0x101ffc, "abcdefg", 8, true), 0);
	assert_memory_equal(f->mem + 2 * PG - 4, "abcdefg", 8);
	assert_errno(vfio_dma_rw(&mdev->vdev, 0x103ffc, "1234567", 8, true), -EINVAL);
	assert_memory_equal(f->mem + 4 * PG - 4, "1234", 4);
	emulated_done(f, mdev);
}

/* ---- vfio_pin_pages (vfio_iommu_type1_pin_pages) ------------------------------------ */

/* A driver that pins and, asked through dma_unmap, lets its pins in the range go. */
struct pinning_mock {
	uint64_t pinned[8];		/* page iovas, 0: free */
	unsigned int unmap_calls;
	bool stubborn;			/* a buggy driver: never unpins */
};

static struct pinning_mock pin_state;

static void pinning_dma_unmap(struct vfio_device *vdev, uint64_t iova, uint64_t length)
{
	pin_state.unmap_calls++;
	if (pin_state.stubborn)
		return;
	for (int i = 0; i < 8; i++) {
		if (pin_state.pinned[i] && pin_state.pinned[i] >= iova &&
		    pin_state.pinned[i] - iova < length) {
			vfio_unpin_pages(vdev, pin_state.pinned[i], 1);
			pin_state.pinned[i] = 0;
		}
	}
}

static const struct vfio_device_ops pinning_ops = {
	.name = "mock-pinning",
	.open_device = mock_open_device,
	.close_device = mock_close_device,
	.dma_unmap = pinning_dma_unmap,
};

static void test_pin_pages_and_unmap(void **state)
{
	struct fixture *f = *state;
	struct mock_dev *mdev = mock_dev_new(f->h, -1, "mdev-pin", &pinning_ops);
	struct vfio_device *vdev = &mdev->vdev;
	uint64_t unmapped;
	int mg, dfd;

	memset(&pin_state, 0, sizeof(pin_state));
	assert_int_equal(vfio_register_emulated_iommu_dev(vdev), 0);
	mdev->registered = true;
	proc_close(f->p, f->gfd);
	proc_close(f->p, f->cfd);
	mg = group_open(f->p, mdev->dev.iommu_group->id);
	f->cfd = container_with_group(f->p, mg, VFIO_TYPE1v2_IOMMU);
	/* not open: no pins */
	assert_errno(vfio_pin_pages(vdev, 0x100000, 1, IOMMU_READ), -EINVAL);
	dfd = (int)proc_ioctl(f->p, mg, VFIO_GROUP_GET_DEVICE_FD, mdev->dev.name);
	assert_true(dfd >= 0);
	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0x100000, 2 * PG, DMA_RW), 0);
	assert_errno(dma_map(f->p, f->cfd, va(f, 2), 0x200000, PG, VFIO_DMA_MAP_FLAG_READ), 0);
	assert_errno(vfio_pin_pages(vdev, 0x300000, 1, IOMMU_READ), -EINVAL);	/* unmapped */
	assert_errno(vfio_pin_pages(vdev, 0x200000, 1, IOMMU_READ | IOMMU_WRITE), -EPERM);
	/* all or nothing: the second page is not mapped */
	assert_errno(vfio_pin_pages(vdev, 0x101000, 2, IOMMU_READ), -EINVAL);
	assert_errno(vfio_pin_pages(vdev, 0x100000, 1, IOMMU_READ | IOMMU_WRITE), 1);
	pin_state.pinned[0] = 0x100000;
	assert_errno(vfio_pin_pages(vdev, 0x200000, 1, IOMMU_READ), 1);
	pin_state.pinned[1] = 0x200000;
	/* an unmap with no pins in it asks nobody */
	assert_errno(dma_map(f->p, f->cfd, va(f, 4), 0x400000, PG, DMA_RW), 0);
	assert_errno(dma_unmap(f->p, f->cfd, 0x400000, PG, 0, &unmapped), 0);
	assert_int_equal(pin_state.unmap_calls, 0);
	/* the device is asked to let go first, then the mapping goes */
	assert_errno(dma_unmap(f->p, f->cfd, 0x100000, 2 * PG, 0, &unmapped), 0);
	assert_int_equal(unmapped, 2 * PG);
	assert_int_equal(pin_state.unmap_calls, 1);
	assert_int_equal(pin_state.pinned[0], 0);
	assert_int_equal(pin_state.pinned[1], 0x200000);
	/* a driver that never lets go: the unmap gives up, the mapping stays */
	pin_state.stubborn = true;
	assert_errno(dma_unmap(f->p, f->cfd, 0x200000, PG, 0, &unmapped), -EBUSY);
	assert_errno(vfio_dma_rw(vdev, 0x200000, (char[1]){ 0 }, 1, false), 0);
	/* the device's last close drops what it left: the unmap goes through */
	assert_errno(proc_close(f->p, dfd), 0);
	assert_errno(dma_unmap(f->p, f->cfd, 0x200000, PG, 0, &unmapped), 0);
	assert_int_equal(unmapped, PG);
	assert_int_equal(pin_state.unmap_calls, 1 + 64);
	emulated_done(f, mdev);
}

/* Type1 v1 offers no pinning (-EACCES). */
static void test_pin_pages_v1(void **state)
{
	struct fixture *f = *state;
	struct mock_dev *mdev = mock_dev_new(f->h, -1, "mdev-pin1", &pinning_ops);
	int mg;

	assert_int_equal(vfio_register_emulated_iommu_dev(&mdev->vdev), 0);
	mdev->registered = true;
	proc_close(f->p, f->gfd);
	proc_close(f->p, f->cfd);
	mg = group_open(f->p, mdev->dev.iommu_group->id);
	f->cfd = container_with_group(f->p, mg, VFIO_TYPE1_IOMMU);
	emulated_open(f, mg, mdev);
	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0x100000, PG, DMA_RW), 0);
	assert_errno(vfio_pin_pages(&mdev->vdev, 0x100000, 1, IOMMU_READ), -EACCES);
	emulated_done(f, mdev);
}

/* ---- dirty pages ------------------------------------------------------------------ */

struct dirty_get {
	struct vfio_iommu_type1_dirty_bitmap hdr;
	struct vfio_iommu_type1_dirty_bitmap_get range;
};

static long dirty_op(struct fixture *f, uint32_t flags)
{
	struct vfio_iommu_type1_dirty_bitmap d = { .argsz = sizeof(d), .flags = flags };

	return proc_ioctl(f->p, f->cfd, VFIO_IOMMU_DIRTY_PAGES, &d);
}

static long dirty_get(struct fixture *f, uint64_t iova, uint64_t size, uint64_t pgsize,
		      __u64 *bitmap, uint64_t bitmap_size)
{
	struct dirty_get g = {
		.hdr = { .argsz = sizeof(g), .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP },
		.range = { .iova = iova, .size = size,
			   .bitmap = { .pgsize = pgsize, .size = bitmap_size, .data = bitmap } },
	};

	return proc_ioctl(f->p, f->cfd, VFIO_IOMMU_DIRTY_PAGES, &g);
}

static void test_dirty_pages_errors(void **state)
{
	struct fixture *f = *state;
	struct vfio_iommu_type1_dirty_bitmap d = { .argsz = 7,
		.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START };
	__u64 bitmap = 0;

	assert_errno(proc_ioctl(f->p, f->cfd, VFIO_IOMMU_DIRTY_PAGES, &d), -EINVAL);
	assert_errno(dirty_op(f, 0), -EINVAL);
	assert_errno(dirty_op(f, VFIO_IOMMU_DIRTY_PAGES_FLAG_START |
			      VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP), -EINVAL);
	assert_errno(dirty_op(f, 1u << 3), -EINVAL);
	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0x100000, 4 * PG, DMA_RW), 0);
	/* Not tracking yet. */
	assert_errno(dirty_get(f, 0x100000, 4 * PG, PG, &bitmap, 8), -EINVAL);
	assert_errno(dirty_op(f, VFIO_IOMMU_DIRTY_PAGES_FLAG_START), 0);
	assert_errno(dirty_op(f, VFIO_IOMMU_DIRTY_PAGES_FLAG_START), 0);
	/* Header alone, no range. */
	assert_errno(dirty_op(f, VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP), -EINVAL);
	assert_errno(dirty_get(f, 0x100000, 4 * PG, 2 * PG, &bitmap, 8), -EINVAL);
	assert_errno(dirty_get(f, 0x100800, 4 * PG, PG, &bitmap, 8), -EINVAL);
	assert_errno(dirty_get(f, 0x100000, 0, PG, &bitmap, 8), -EINVAL);
	assert_errno(dirty_get(f, 0x100000, 4 * PG, PG, &bitmap, 0), -EINVAL);
	assert_errno(dirty_get(f, 0x100000, 65 * PG, PG, &bitmap, 8), -EINVAL);
	assert_errno(dirty_get(f, 0x101000, 3 * PG, PG, &bitmap, 8), -EINVAL);
	assert_errno(dirty_get(f, 0x100000, 4 * PG, PG, (__u64 *)(1ULL << 60), 8), -EINVAL);
	assert_errno(dirty_get(f, 0x100000, 4 * PG, PG, (__u64 *)8, 8), -EFAULT);
	assert_errno(dirty_op(f, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP), 0);
	assert_errno(dirty_get(f, 0x100000, 4 * PG, PG, &bitmap, 8), -EINVAL);
}

/* An IOMMU-backed device may write anywhere: every mapped page is dirty. */
static void test_dirty_all_pages_with_iommu_group(void **state)
{
	struct fixture *f = *state;
	__u64 bitmap[2] = { 0, 0 };

	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0x100000, 4 * PG, DMA_RW), 0);
	assert_errno(dma_map(f->p, f->cfd, va(f, 4), 0x106000, 2 * PG, DMA_RW), 0);
	assert_errno(dirty_op(f, VFIO_IOMMU_DIRTY_PAGES_FLAG_START), 0);
	assert_errno(dirty_get(f, 0x100000, 8 * PG, PG, bitmap, 8), 0);
	assert_int_equal(bitmap[0], 0xcf);
	/* Still all dirty on the next read. */
	bitmap[0] = 0;
	assert_errno(dirty_get(f, 0x106000, 2 * PG, PG, bitmap, 8), 0);
	assert_int_equal(bitmap[0], 0x3);
	/* Unmap with the bitmap. */
	struct {
		struct vfio_iommu_type1_dma_unmap unmap;
		struct vfio_bitmap bitmap;
	} u = {
		.unmap = { .argsz = sizeof(u), .flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
			   .iova = 0x100000, .size = 8 * PG },
		.bitmap = { .pgsize = PG, .size = 8, .data = &bitmap[1] },
	};

	assert_errno(proc_ioctl(f->p, f->cfd, VFIO_IOMMU_UNMAP_DMA, &u), 0);
	assert_int_equal(u.unmap.size, 6 * PG);
	assert_int_equal(bitmap[1], 0xcf);
}

static void test_unmap_dirty_errors(void **state)
{
	struct fixture *f = *state;
	__u64 bitmap = 0;
	struct {
		struct vfio_iommu_type1_dma_unmap unmap;
		struct vfio_bitmap bitmap;
	} u = {
		.unmap = { .argsz = sizeof(u), .flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
			   .iova = 0x100000, .size = PG },
		.bitmap = { .pgsize = PG, .size = 8, .data = &bitmap },
	};

	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0x100000, PG, DMA_RW), 0);
	/* Not tracking. */
	assert_errno(proc_ioctl(f->p, f->cfd, VFIO_IOMMU_UNMAP_DMA, &u), -EINVAL);
	assert_errno(dirty_op(f, VFIO_IOMMU_DIRTY_PAGES_FLAG_START), 0);
	u.unmap.argsz = sizeof(u.unmap);
	assert_errno(proc_ioctl(f->p, f->cfd, VFIO_IOMMU_UNMAP_DMA, &u), -EINVAL);
	u.unmap.argsz = sizeof(u);
	u.bitmap.pgsize = 2 * PG;
	assert_errno(proc_ioctl(f->p, f->cfd, VFIO_IOMMU_UNMAP_DMA, &u), -EINVAL);
	u.bitmap.pgsize = PG;
	u.bitmap.size = 0;
	assert_errno(proc_ioctl(f->p, f->cfd, VFIO_IOMMU_UNMAP_DMA, &u), -EINVAL);
	u.bitmap.size = 8;
	assert_errno(proc_ioctl(f->p, f->cfd, VFIO_IOMMU_UNMAP_DMA, &u), 0);
	assert_int_equal(bitmap, 1);
}

/* A container of emulated devices only reports what they really wrote. */
static void test_dirty_precise_for_emulated(void **state)
{
	struct fixture *f = *state;
	__u64 bitmap = 0;
	int mg;
	struct mock_dev *mdev = emulated_container(f, "mdev-2", &mg);

	/* No valid-IOVA list for emulated groups: no IOVA_RANGE cap. */
	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0xfee00000, 4 * PG, DMA_RW), 0);
	assert_errno(container_check_ext(f->p, f->cfd, VFIO_UPDATE_VADDR), 0);
	assert_errno(dma_unmap(f->p, f->cfd, 0xfee00000, 4 * PG, VFIO_DMA_UNMAP_FLAG_VADDR, NULL),
		     -EBUSY);
	/* Not open yet. */
	assert_errno(vfio_dma_rw(&mdev->vdev, 0xfee00000, "x", 1, true), -EINVAL);
	emulated_open(f, mg, mdev);
	assert_errno(dirty_op(f, VFIO_IOMMU_DIRTY_PAGES_FLAG_START), 0);
	assert_int_equal(vfio_dma_rw(&mdev->vdev, 0xfee02000, "xy", 2, true), 0);
	assert_int_equal(f->mem[2 * PG], 'x');
	assert_errno(vfio_dma_rw(&mdev->vdev, 0xfef00000, "x", 1, true), -EINVAL);
	assert_errno(dirty_get(f, 0xfee00000, 4 * PG, PG, &bitmap, 8), 0);
	assert_int_equal(bitmap, 0x4);
	/* Reported bits restart clear. */
	bitmap = 0;
	assert_errno(dirty_get(f, 0xfee00000, 4 * PG, PG, &bitmap, 8), 0);
	assert_int_equal(bitmap, 0);
	emulated_done(f, mdev);
}

/* A report overwrites the words of the user's bitmap it covers: only the
 * bits below a mapping's first bit keep what was there. */
static void test_dirty_bitmap_overwrites(void **state)
{
	struct fixture *f = *state;
	__u64 bitmap[2] = { ~0ULL, ~0ULL };
	struct {
		struct vfio_iommu_type1_dma_unmap unmap;
		struct vfio_bitmap bitmap;
	} u = {
		.unmap = { .argsz = sizeof(u), .flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
			   .iova = 0x0fe000, .size = 10 * PG },
		.bitmap = { .pgsize = PG, .size = 8, .data = bitmap },
	};

	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0x100000, 4 * PG, DMA_RW), 0);
	assert_errno(dma_map(f->p, f->cfd, va(f, 4), 0x106000, 2 * PG, DMA_RW), 0);
	assert_errno(dirty_op(f, VFIO_IOMMU_DIRTY_PAGES_FLAG_START), 0);
	/* Pages 2-5 and 8-9 dirty; bits 0-1 precede the first mapping and keep
	 * the user's ones; 6-7 and 10-63 are cleared; the next word is not
	 * touched. */
	assert_errno(dirty_get(f, 0x0fe000, 10 * PG, PG, bitmap, 8), 0);
	assert_int_equal(bitmap[0], 0x33f);
	assert_int_equal(bitmap[1], ~0ULL);
	bitmap[0] = ~0ULL;
	assert_errno(proc_ioctl(f->p, f->cfd, VFIO_IOMMU_UNMAP_DMA, &u), 0);
	assert_int_equal(u.unmap.size, 6 * PG);
	assert_int_equal(bitmap[0], 0x33f);
	assert_int_equal(bitmap[1], ~0ULL);
}

/*
 * UNMAP|GET_DIRTY_BITMAP reports and removes one mapping at a time: when
 * the user bitmap faults at the second mapping's bits, the first is
 * reported and gone, the second still mapped with its dirty pages.
 */
static void test_unmap_dirty_fault_midway(void **state)
{
	struct fixture *f = *state;
	/* B's bit is 32768: the first bit of the bitmap's second page. */
	const uint64_t a = 0x100000, b = a + 32768 * PG;
	uint8_t *ubuf = test_mem(2 * PG, PROT_READ | PROT_WRITE);
	__u64 bitmap = 0;
	int mg;
	struct mock_dev *mdev = emulated_container(f, "mdev-3", &mg);
	struct {
		struct vfio_iommu_type1_dma_unmap unmap;
		struct vfio_bitmap bitmap;
	} u = {
		.unmap = { .argsz = sizeof(u), .flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
			   .iova = a, .size = b + PG - a },
		.bitmap = { .pgsize = PG, .size = 2 * PG, .data = (__u64 *)ubuf },
	};

	emulated_open(f, mg, mdev);
	assert_int_equal(mprotect(ubuf + PG, PG, PROT_READ), 0);
	assert_errno(dma_map(f->p, f->cfd, va(f, 0), a, PG, DMA_RW), 0);
	assert_errno(dma_map(f->p, f->cfd, va(f, 1), b, PG, DMA_RW), 0);
	assert_errno(dirty_op(f, VFIO_IOMMU_DIRTY_PAGES_FLAG_START), 0);
	assert_errno(vfio_dma_rw(&mdev->vdev, a, "x", 1, true), 0);
	assert_errno(vfio_dma_rw(&mdev->vdev, b, "y", 1, true), 0);
	assert_errno(proc_ioctl(f->p, f->cfd, VFIO_IOMMU_UNMAP_DMA, &u), -EFAULT);
	assert_int_equal(((__u64 *)ubuf)[0], 1);
	assert_errno(vfio_dma_rw(&mdev->vdev, a, "x", 1, true), -EINVAL);
	assert_errno(dirty_get(f, b, PG, PG, &bitmap, 8), 0);
	assert_int_equal(bitmap, 1);
	assert_errno(dma_map(f->p, f->cfd, va(f, 0), a, PG, DMA_RW), 0);
	munmap(ubuf, 2 * PG);
	emulated_done(f, mdev);
}

/* ---- groups in a type1 container ---------------------------------------------------- */

static void test_second_group_shares_domain(void **state)
{
	struct fixture *f = *state;
	struct mock_dev *m2 = mock_dev_add(f->h, 4, "0000:00:04.0");
	int g4 = group_open(f->p, 4);
	char buf[4];

	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0x100000, PG, DMA_RW), 0);
	memcpy(f->mem, "abc", 4);
	/* Existing mappings reach the new group at once. */
	assert_errno(group_set_container(f->p, g4, f->cfd), 0);
	assert_int_equal(dma_read(&m2->dev, 0x100000, buf, 4, NULL), 0);
	assert_string_equal(buf, "abc");
	assert_ptr_equal(m2->dev.iommu_group->domain, f->m->dev.iommu_group->domain);
	/* A group leaving does not take the mappings of the others. */
	assert_errno(proc_ioctl(f->p, g4, VFIO_GROUP_UNSET_CONTAINER, NULL), 0);
	assert_errno(dma_read(&m2->dev, 0x100000, buf, 4, NULL), -EPERM);
	assert_int_equal(dma_read(&f->m->dev, 0x100000, buf, 4, NULL), 0);
	proc_free(f->p);
	f->p = NULL;
	mock_dev_free(m2);
}

static void test_attach_conflicts(void **state)
{
	struct fixture *f = *state;
	struct mock_dev *m2 = mock_dev_add(f->h, 4, "0000:00:04.0");
	struct iommu_group *g = m2->dev.iommu_group;
	int g4 = group_open(f->p, 4);

	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0x40000000, PG, DMA_RW), 0);
	/* The new aperture would leave a mapping out. */
	g->aperture_end = 0x3fffffff;
	assert_errno(group_set_container(f->p, g4, f->cfd), -EINVAL);
	g->aperture_end = (1ULL << 48) - 1;
	/* A reserved region over a mapping. */
	g->resv[1] = (struct iommu_resv_region){ 0x40000000, 0x400fffff, false };
	g->nresv = 2;
	assert_errno(group_set_container(f->p, g4, f->cfd), -EINVAL);
	/* Relaxable regions do not count. */
	g->resv[1].relaxable = true;
	/* No MSI isolation, unless allowed. */
	g->msi_isolated = false;
	assert_errno(group_set_container(f->p, g4, f->cfd), -EPERM);
	assert_false(iommu_group_dma_owner_claimed(g));
	f->h->params.allow_unsafe_interrupts = true;
	g->resv[1] = (struct iommu_resv_region){ 0x50000000, 0x500fffff, false };
	assert_errno(group_set_container(f->p, g4, f->cfd), 0);
	/* Both groups' reserved regions leave the valid list. */
	assert_errno(dma_map(f->p, f->cfd, va(f, 1), 0x50000000, PG, DMA_RW), -EINVAL);
	assert_errno(dma_map(f->p, f->cfd, va(f, 1), 0xfee00000, PG, DMA_RW), -EINVAL);
	assert_errno(dma_map(f->p, f->cfd, va(f, 1), 0x50100000, PG, DMA_RW), 0);
	/* And come back when the group leaves. */
	assert_errno(proc_ioctl(f->p, g4, VFIO_GROUP_UNSET_CONTAINER, NULL), 0);
	assert_errno(dma_map(f->p, f->cfd, va(f, 2), 0x50000000, PG, DMA_RW), 0);
	proc_free(f->p);
	f->p = NULL;
	mock_dev_free(m2);
}

/*
 * When several attach conditions fail, the kernel's order decides: the
 * aperture and reserved-region conflicts (-EINVAL), then MSI isolation
 * (-EPERM), then the replay that pins the mappings (-ENOMEM).
 */
static void test_attach_errno_order(void **state)
{
	struct fixture *f = *state;
	struct iommu_group *g3 = f->m->dev.iommu_group;
	struct mock_dev *mdev = mock_dev_new(f->h, -1, "mdev-4", &mock_ops);
	struct uvf_proc *user = proc_new(f->h, 0, 0, UVF_CAP_SYS_RAWIO, 2 * PG);
	int mg, cfd, gfd;

	assert_int_equal(vfio_register_emulated_iommu_dev(&mdev->vdev), 0);
	mdev->registered = true;
	mg = group_open(user, mdev->dev.iommu_group->id);
	cfd = container_with_group(user, mg, VFIO_TYPE1v2_IOMMU);
	gfd = group_open(user, 3);
	/* Unpinned until an IOMMU group comes: more than the limit allows. */
	assert_errno(dma_map(user, cfd, va(f, 0), 0x100000, 4 * PG, DMA_RW), 0);
	assert_errno(group_set_container(user, gfd, cfd), -ENOMEM);
	g3->msi_isolated = false;
	assert_errno(group_set_container(user, gfd, cfd), -EPERM);
	/* A mapping in the group's MSI window. */
	assert_errno(dma_map(user, cfd, va(f, 4), 0xfee00000, PG, DMA_RW), 0);
	assert_errno(group_set_container(user, gfd, cfd), -EINVAL);
	g3->msi_isolated = true;
	assert_errno(group_set_container(user, gfd, cfd), -EINVAL);
	proc_free(user);
	mock_dev_free(mdev);

	/* An aperture that leaves a mapping out, and no MSI isolation. */
	struct mock_dev *m4 = mock_dev_add(f->h, 4, "0000:00:04.0");
	int g4 = group_open(f->p, 4);

	fixture_open(f, VFIO_TYPE1v2_IOMMU);
	assert_errno(dma_map(f->p, f->cfd, va(f, 0), 0x100000, PG, DMA_RW), 0);
	m4->dev.iommu_group->aperture_end = 0xfffff;
	m4->dev.iommu_group->msi_isolated = false;
	assert_errno(group_set_container(f->p, g4, f->cfd), -EINVAL);
	m4->dev.iommu_group->aperture_end = (1ULL << 48) - 1;
	assert_errno(group_set_container(f->p, g4, f->cfd), -EPERM);
	proc_free(f->p);
	f->p = NULL;
	mock_dev_free(m4);
}

static void test_set_iommu_attach_failure(void **state)
{
	struct fixture *f = *state;

	/* SET_IOMMU attaches every group; a refusal fails it as a whole. */
	f->m->dev.iommu_group->msi_isolated = false;
	assert_errno(proc_ioctl_val(f->p, f->cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -EPERM);
	f->m->dev.iommu_group->msi_isolated = true;
	assert_errno(proc_ioctl_val(f->p, f->cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_info_minsz, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_info_cap_chain_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pgsizes_hide_subpage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_overlap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_readonly_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_dma, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_blocked_without_iommu, setup_common,
						teardown),
		cmocka_unit_test_setup_teardown(test_unmap_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmap_v2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmap_v1, setup_v1, teardown),
		cmocka_unit_test_setup_teardown(test_unmap_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_entry_limit, setup_common, teardown),
		cmocka_unit_test_setup_teardown(test_memlock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memlock_at_attach, setup_common, teardown),
		cmocka_unit_test_setup_teardown(test_vaddr_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vaddr_blocks_attach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmap_of_invalid_vaddr_unblocks, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vaddr_moves_accounting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_rw_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dirty_pages_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dirty_all_pages_with_iommu_group, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unmap_dirty_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dirty_precise_for_emulated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dirty_bitmap_overwrites, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmap_dirty_fault_midway, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_group_shares_domain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pin_pages_and_unmap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pin_pages_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_conflicts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_errno_order, setup_common, teardown),
		cmocka_unit_test_setup_teardown(test_set_iommu_attach_failure, setup_unset,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
