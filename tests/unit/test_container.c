// SPDX-License-Identifier: MIT
/*
 * The VFIO container (/dev/vfio/vfio): API version, extensions with and
 * without a backend, SET_IOMMU rules, pass-through to the backend, the
 * noiommu backend and its privilege rules, and what a container does when
 * its groups come and go.
 */
#include "harness.h"
#include "vfio_mock.h"

struct fixture {
	struct uvf_host *h;
	struct uvf_proc *p;
	struct mock_dev *m;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->h = host_new();
	assert_non_null(f->h);
	f->p = proc_new_root(f->h);
	f->m = mock_dev_add(f->h, 3, "0000:00:03.0");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	proc_free(f->p);
	mock_dev_free(f->m);
	host_free(f->h);
	free(f);
	return 0;
}

static void test_container_node(void **state)
{
	struct fixture *f = *state;
	struct uvf_devnode *dn = devnode_find(f->h, "/dev/vfio/vfio");
	struct uvf_proc *user = proc_new(f->h, 1000, 1000, 0, UINT64_MAX);
	int cfd;

	assert_non_null(dn);
	assert_int_equal(dn->mode, 0666);
	assert_int_equal(dn->major, 10);
	assert_int_equal(dn->minor, 196);
	/* Anyone may open it: a container has no privilege by itself. */
	cfd = proc_open(user, "/dev/vfio/vfio", O_RDWR);
	assert_true(cfd >= 0);
	assert_errno(proc_ioctl_val(user, cfd, VFIO_GET_API_VERSION, 0), VFIO_API_VERSION);
	proc_free(user);
}

static void test_extensions_without_backend(void **state)
{
	struct fixture *f = *state;
	int cfd = proc_open(f->p, "/dev/vfio/vfio", O_RDWR);

	assert_errno(container_check_ext(f->p, cfd, VFIO_TYPE1_IOMMU), 1);
	assert_errno(container_check_ext(f->p, cfd, VFIO_TYPE1v2_IOMMU), 1);
	assert_errno(container_check_ext(f->p, cfd, VFIO_UNMAP_ALL), 1);
	/* These need a backend to answer. */
	assert_errno(container_check_ext(f->p, cfd, VFIO_UPDATE_VADDR), 0);
	assert_errno(container_check_ext(f->p, cfd, VFIO_DMA_CC_IOMMU), 0);
	assert_errno(container_check_ext(f->p, cfd, VFIO_SPAPR_TCE_IOMMU), 0);
	/* 6.12 offers nesting; whether a domain can nest is found at attach */
	assert_errno(container_check_ext(f->p, cfd, VFIO_TYPE1_NESTING_IOMMU), 1);
	assert_errno(container_check_ext(f->p, cfd, VFIO_NOIOMMU_IOMMU), 0);
	assert_errno(container_check_ext(f->p, cfd, 12345), 0);
	f->h->params.enable_unsafe_noiommu_mode = true;
	assert_errno(container_check_ext(f->p, cfd, VFIO_NOIOMMU_IOMMU), 1);
}

static void test_extensions_with_backend(void **state)
{
	struct fixture *f = *state;
	int gfd = group_open(f->p, 3);
	int cfd = container_with_group(f->p, gfd, VFIO_TYPE1v2_IOMMU);

	assert_errno(container_check_ext(f->p, cfd, VFIO_UPDATE_VADDR), 1);
	assert_errno(container_check_ext(f->p, cfd, VFIO_DMA_CC_IOMMU), 1);
	assert_errno(container_check_ext(f->p, cfd, VFIO_TYPE1_IOMMU), 1);
	/* Only the set backend answers now. */
	f->h->params.enable_unsafe_noiommu_mode = true;
	assert_errno(container_check_ext(f->p, cfd, VFIO_NOIOMMU_IOMMU), 0);
}

static void test_set_iommu_rules(void **state)
{
	struct fixture *f = *state;
	int cfd = proc_open(f->p, "/dev/vfio/vfio", O_RDWR);
	int gfd = group_open(f->p, 3);

	/* The group is the privilege: nothing without one. */
	assert_errno(proc_ioctl_val(f->p, cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -EINVAL);
	assert_errno(group_set_container(f->p, gfd, cfd), 0);
	/* No backend offers these. */
	assert_errno(proc_ioctl_val(f->p, cfd, VFIO_SET_IOMMU, VFIO_SPAPR_TCE_IOMMU), -ENODEV);
	assert_errno(proc_ioctl_val(f->p, cfd, VFIO_SET_IOMMU, 77), -ENODEV);
	assert_errno(proc_ioctl_val(f->p, cfd, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU), -ENODEV);
	/* The emulated IOMMU cannot nest (as x86's): the group cannot attach. */
	assert_errno(proc_ioctl_val(f->p, cfd, VFIO_SET_IOMMU, VFIO_TYPE1_NESTING_IOMMU), -EINVAL);
	assert_errno(proc_ioctl_val(f->p, cfd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), 0);
	assert_errno(proc_ioctl_val(f->p, cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -EINVAL);
}

static void test_passthrough(void **state)
{
	struct fixture *f = *state;
	int cfd = proc_open(f->p, "/dev/vfio/vfio", O_RDWR);
	int gfd = group_open(f->p, 3);
	struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };

	/* Without a backend every other ioctl is -EINVAL. */
	assert_errno(proc_ioctl(f->p, cfd, VFIO_IOMMU_GET_INFO, &info), -EINVAL);
	assert_errno(proc_ioctl_val(f->p, cfd, VFIO_GROUP_GET_STATUS, 0), -EINVAL);
	assert_errno(group_set_container(f->p, gfd, cfd), 0);
	assert_errno(proc_ioctl(f->p, cfd, VFIO_IOMMU_GET_INFO, &info), -EINVAL);
	assert_errno(proc_ioctl_val(f->p, cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	assert_errno(proc_ioctl(f->p, cfd, VFIO_IOMMU_GET_INFO, &info), 0);
	/* Unknown to type1. */
	assert_errno(proc_ioctl_val(f->p, cfd, VFIO_GROUP_GET_STATUS, 0), -ENOTTY);
	assert_errno(proc_ioctl_val(f->p, cfd, VFIO_IOMMU_ENABLE, 0), -ENOTTY);
}

/* Two groups share a container; the backend lives until the last leaves. */
static void test_backend_lives_with_groups(void **state)
{
	struct fixture *f = *state;
	struct mock_dev *m2 = mock_dev_add(f->h, 4, "0000:00:04.0");
	int g3 = group_open(f->p, 3), g4 = group_open(f->p, 4);
	int cfd = container_with_group(f->p, g3, VFIO_TYPE1v2_IOMMU);
	void *mem = test_mem(4096, PROT_READ | PROT_WRITE);

	/* A group joining a container with a backend is attached at once. */
	assert_errno(group_set_container(f->p, g4, cfd), 0);
	assert_ptr_equal(m2->dev.iommu_group->domain, f->m->dev.iommu_group->domain);
	assert_int_equal(f->m->dev.iommu_group->domain->type, IOMMU_DOMAIN_PAGING);
	assert_errno(dma_map(f->p, cfd, (uintptr_t)mem, 0x10000, 4096, DMA_RW), 0);
	assert_errno(proc_ioctl(f->p, g3, VFIO_GROUP_UNSET_CONTAINER, NULL), 0);
	/* Still there for the remaining group. */
	assert_errno(dma_map(f->p, cfd, (uintptr_t)mem, 0x20000, 4096, DMA_RW), 0);
	assert_errno(proc_ioctl(f->p, g4, VFIO_GROUP_UNSET_CONTAINER, NULL), 0);
	assert_errno(dma_map(f->p, cfd, (uintptr_t)mem, 0x30000, 4096, DMA_RW), -EINVAL);
	/* Back to the unset state: a group may attach and SET_IOMMU again. */
	assert_errno(group_set_container(f->p, g3, cfd), 0);
	assert_errno(proc_ioctl_val(f->p, cfd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), 0);
	assert_errno(dma_map(f->p, cfd, (uintptr_t)mem, 0x10000, 4096, DMA_RW), 0);
	proc_free(f->p);
	f->p = NULL;
	munmap(mem, 4096);
	mock_dev_free(m2);
}

/* Closing the container fd does not end it: attached groups hold it. */
static void test_container_outlives_fd(void **state)
{
	struct fixture *f = *state;
	int gfd = group_open(f->p, 3);
	int cfd = container_with_group(f->p, gfd, VFIO_TYPE1v2_IOMMU);

	proc_close(f->p, cfd);
	assert_true(iommu_group_dma_owner_claimed(f->m->dev.iommu_group));
	assert_true(proc_ioctl(f->p, gfd, VFIO_GROUP_GET_DEVICE_FD, "0000:00:03.0") >= 0);
	assert_int_equal(f->m->open_calls, 1);
}

/* ---- noiommu --------------------------------------------------------------- */

struct noiommu {
	struct mock_dev *m;
	struct uvf_proc *rawio, *plain;
};

static void noiommu_setup(struct fixture *f, struct noiommu *n)
{
	f->h->params.enable_unsafe_noiommu_mode = true;
	n->m = mock_dev_add(f->h, -1, "0000:00:1f.0");
	n->rawio = proc_new(f->h, 0, 0, UVF_CAP_SYS_RAWIO, UINT64_MAX);
	n->plain = proc_new(f->h, 0, 0, 0, UINT64_MAX);
}

static void noiommu_teardown(struct noiommu *n)
{
	proc_free(n->rawio);
	proc_free(n->plain);
	mock_dev_free(n->m);
}

static void test_noiommu_group(void **state)
{
	struct fixture *f = *state;
	struct noiommu n;
	int gfd, cfd;

	noiommu_setup(f, &n);
	assert_non_null(n.m->dev.iommu_group);
	assert_non_null(devnode_find(f->h, "/dev/vfio/noiommu-0"));
	assert_errno(proc_open(n.plain, "/dev/vfio/noiommu-0", O_RDWR), -EPERM);
	gfd = proc_open(n.rawio, "/dev/vfio/noiommu-0", O_RDWR);
	assert_true(gfd >= 0);
	cfd = container_with_group(n.rawio, gfd, 0);
	/* A noiommu container sees only the noiommu backend. */
	assert_errno(container_check_ext(n.rawio, cfd, VFIO_TYPE1v2_IOMMU), 0);
	assert_errno(container_check_ext(n.rawio, cfd, VFIO_NOIOMMU_IOMMU), 1);
	assert_errno(proc_ioctl_val(n.rawio, cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -ENODEV);
	assert_errno(proc_ioctl_val(n.rawio, cfd, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU), 0);
	assert_errno(container_check_ext(n.rawio, cfd, VFIO_NOIOMMU_IOMMU), 1);
	assert_errno(proc_ioctl_val(n.rawio, cfd, VFIO_IOMMU_GET_INFO, 0), -ENOTTY);
	assert_true(proc_ioctl(n.rawio, gfd, VFIO_GROUP_GET_DEVICE_FD, "0000:00:1f.0") >= 0);
	assert_int_equal(n.m->open_calls, 1);
	noiommu_teardown(&n);
}

static void test_noiommu_privilege(void **state)
{
	struct fixture *f = *state;
	struct noiommu n;
	int gfd, cfd, gfd2, cfd2;

	noiommu_setup(f, &n);
	gfd = proc_open(n.rawio, "/dev/vfio/noiommu-0", O_RDWR);
	cfd = proc_open(n.rawio, "/dev/vfio/vfio", O_RDWR);
	gfd2 = proc_pass_fd(n.rawio, gfd, n.plain);
	cfd2 = proc_pass_fd(n.rawio, cfd, n.plain);
	/* Every step of the way needs CAP_SYS_RAWIO. */
	assert_errno(group_set_container(n.plain, gfd2, cfd2), -EPERM);
	assert_errno(group_set_container(n.rawio, gfd, cfd), 0);
	assert_errno(proc_ioctl_val(n.plain, cfd2, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU), -EPERM);
	assert_errno(proc_ioctl_val(n.rawio, cfd, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU), 0);
	assert_errno(proc_ioctl(n.plain, gfd2, VFIO_GROUP_GET_DEVICE_FD, "0000:00:1f.0"), -EPERM);
	noiommu_teardown(&n);
}

static void test_noiommu_and_real_groups_do_not_mix(void **state)
{
	struct fixture *f = *state;
	struct noiommu n;
	int gfd, g3, cfd;

	noiommu_setup(f, &n);
	gfd = proc_open(n.rawio, "/dev/vfio/noiommu-0", O_RDWR);
	g3 = group_open(n.rawio, 3);
	cfd = container_with_group(n.rawio, gfd, 0);
	assert_errno(group_set_container(n.rawio, g3, cfd), -EPERM);
	assert_errno(proc_ioctl(n.rawio, gfd, VFIO_GROUP_UNSET_CONTAINER, NULL), 0);
	assert_errno(group_set_container(n.rawio, g3, cfd), 0);
	assert_errno(group_set_container(n.rawio, gfd, cfd), -EPERM);
	noiommu_teardown(&n);
}

static void test_noiommu_needs_mode(void **state)
{
	struct fixture *f = *state;
	struct mock_dev *m = mock_dev_new(f->h, -1, "0000:00:1e.0", &mock_ops);

	/* Without unsafe mode a device with no IOMMU group cannot register. */
	assert_errno(vfio_register_group_dev(&m->vdev), -EINVAL);
	mock_dev_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_container_node, setup, teardown),
		cmocka_unit_test_setup_teardown(test_extensions_without_backend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_extensions_with_backend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_iommu_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_passthrough, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_lives_with_groups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_container_outlives_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_noiommu_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_noiommu_privilege, setup, teardown),
		cmocka_unit_test_setup_teardown(test_noiommu_and_real_groups_do_not_mix, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_noiommu_needs_mode, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
