// SPDX-License-Identifier: MIT
/*
 * VFIO groups (/dev/vfio/<group>) and the device files they hand out, over
 * a mock device: node and sysfs shape, one open per group, GET_STATUS and
 * viability (kernel drivers, other owners), SET/UNSET_CONTAINER,
 * GET_DEVICE_FD, the device file's forwarding and release, DEVICE_FEATURE,
 * and unregistration waiting for users.
 */
#include "harness.h"
#include <pthread.h>
#include <stdatomic.h>
#include <sched.h>
#include "vfio_mock.h"
#include "core/iommufd/io_pagetable.h"
#include <pthread.h>
#include <unistd.h>

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
	if (f->m)
		mock_dev_free(f->m);
	host_free(f->h);
	free(f);
	return 0;
}

static int get_device_fd(struct uvf_proc *p, int gfd, const char *name)
{
	return (int)proc_ioctl(p, gfd, VFIO_GROUP_GET_DEVICE_FD, name);
}

/* A group fd with a type1v2 container and an open device fd. */
static int open_device(struct fixture *f, int *gfd, int *cfd)
{
	*gfd = group_open(f->p, 3);
	assert_true(*gfd >= 0);
	*cfd = container_with_group(f->p, *gfd, VFIO_TYPE1v2_IOMMU);
	return get_device_fd(f->p, *gfd, "0000:00:03.0");
}

/* ---- nodes and sysfs ---------------------------------------------------- */

static void test_group_node(void **state)
{
	struct fixture *f = *state;
	struct uvf_devnode *dn = devnode_find(f->h, "/dev/vfio/3");

	assert_non_null(dn);
	assert_int_equal(dn->mode, 0600);
	assert_int_equal(dn->uid, 0);
	assert_int_equal(dn->major, VFIO_GROUP_MAJOR);
	assert_int_equal(dn->minor, 0);
	/* Not root and not the owner: the node's mode refuses. */
	struct uvf_proc *user = proc_new(f->h, 1000, 1000, 0, UINT64_MAX);

	assert_errno(group_open(user, 3), -EACCES);
	proc_free(user);
}

static void test_group_sysfs(void **state)
{
	struct fixture *f = *state;
	char buf[256];
	ssize_t n;

	sysfs_read_str(f->h, "/kernel/iommu_groups/3/type", buf, sizeof(buf));
	assert_string_equal(buf, "DMA\n");
	sysfs_read_str(f->h, "/kernel/iommu_groups/3/reserved_regions", buf, sizeof(buf));
	assert_string_equal(buf, "0x00000000fee00000 0x00000000feefffff msi\n");
	n = sysfs_readlink(f->h->sysfs, "/kernel/iommu_groups/3/devices/0000:00:03.0", buf,
			   sizeof(buf));
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "../../../../devices/mock/0000:00:03.0");
	n = sysfs_readlink(f->h->sysfs, "/devices/mock/0000:00:03.0/iommu_group", buf,
			   sizeof(buf));
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "../../../kernel/iommu_groups/3");
	/* vfioN: the class link, the device's own vfio-dev dir, its 'device'. */
	n = sysfs_readlink(f->h->sysfs, "/class/vfio-dev/vfio0", buf, sizeof(buf));
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "../../devices/mock/0000:00:03.0/vfio-dev/vfio0");
	n = sysfs_readlink(f->h->sysfs, "/devices/mock/0000:00:03.0/vfio-dev/vfio0/device", buf,
			   sizeof(buf));
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "../../../0000:00:03.0");
	sysfs_read_str(f->h, "/class/vfio/3/dev", buf, sizeof(buf));
	assert_string_equal(buf, "241:0\n");
}

/* Groups from a topology: their properties show in sysfs, and devices
 * join them. */
static void test_topology_groups(void **state)
{
	struct uvf_host *h = test_host_from_json(
		"{\"iommu_groups\": [{\"id\": 5, \"reserved\": {\"start\": 3758096384,"
		" \"last\": 3758161919}}, {\"id\": 6, \"reserved\": null}]}");
	struct mock_dev *m = mock_dev_add(h, 6, "0000:00:06.0");
	char buf[128];

	sysfs_read_str(h, "/kernel/iommu_groups/5/reserved_regions", buf, sizeof(buf));
	assert_string_equal(buf, "0x00000000e0000000 0x00000000e000ffff msi\n");
	sysfs_read_str(h, "/kernel/iommu_groups/6/reserved_regions", buf, sizeof(buf));
	assert_string_equal(buf, "");
	sysfs_read_str(h, "/kernel/iommu_groups/6/type", buf, sizeof(buf));
	assert_string_equal(buf, "DMA\n");
	assert_non_null(devnode_find(h, "/dev/vfio/6"));
	assert_null(devnode_find(h, "/dev/vfio/5"));
	mock_dev_free(m);
	host_free(h);
}

static void test_unregister_removes_nodes(void **state)
{
	struct fixture *f = *state;

	mock_dev_unregister(f->m);
	assert_null(devnode_find(f->h, "/dev/vfio/3"));
	assert_null(sysfs_lookup(f->h->sysfs, "/class/vfio-dev/vfio0", false));
	assert_null(sysfs_lookup(f->h->sysfs, "/class/vfio/3", false));
	assert_null(sysfs_lookup(f->h->sysfs, "/devices/mock/0000:00:03.0/vfio-dev", false));
	/* The IOMMU group stays: it is the host's. */
	struct sysfs_node *n = sysfs_lookup(f->h->sysfs, "/kernel/iommu_groups/3", false);

	assert_non_null(n);
	sysfs_put(n);
}

/*
 * Opens of the group node racing with the removal of the group's last
 * device: each open either finds no node, finds a revoked group (-ENODEV)
 * or succeeds; none may touch a freed group (ASan watches this one).
 */
struct open_race {
	struct uvf_proc *p;
	atomic_bool stop;
	atomic_int attempts;
	int opened, refused;
};

static void *open_race_thread(void *arg)
{
	struct open_race *r = arg;

	while (!atomic_load(&r->stop)) {
		int fd = proc_open(r->p, "/dev/vfio/3", O_RDWR);

		atomic_fetch_add(&r->attempts, 1);
		if (fd >= 0) {
			r->opened++;
			proc_close(r->p, fd);
		} else {
			assert_true(fd == -ENOENT || fd == -ENODEV);
			r->refused++;
		}
	}
	return NULL;
}

static void test_open_races_unregister(void **state)
{
	struct fixture *f = *state;
	struct open_race r = { .p = f->p };
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, open_race_thread, &r), 0);
	/* Keep cycling until the opener has really raced us, however the
	 * scheduler treats the two threads on a loaded machine. */
	for (int i = 0; i < 300 || r.attempts < 1000; i++) {
		mock_dev_free(f->m);
		f->m = mock_dev_add(f->h, 3, "0000:00:03.0");
		if (i % 64 == 63)
			sched_yield();
	}
	atomic_store(&r.stop, true);
	pthread_join(t, NULL);
	assert_true(r.opened + r.refused >= 1000);
}

static void test_second_device_same_group(void **state)
{
	struct fixture *f = *state;
	struct mock_dev *m2 = mock_dev_add(f->h, 3, "0000:00:03.1");
	int gfd, cfd;

	assert_int_equal(m2->vdev.group, f->m->vdev.group);
	assert_int_equal(m2->vdev.index, 1);
	gfd = group_open(f->p, 3);
	cfd = container_with_group(f->p, gfd, VFIO_TYPE1v2_IOMMU);
	assert_true(get_device_fd(f->p, gfd, "0000:00:03.1") >= 0);
	assert_int_equal(m2->open_calls, 1);
	assert_int_equal(f->m->open_calls, 0);
	proc_close(f->p, cfd);
	proc_free(f->p);
	f->p = NULL;
	assert_int_equal(m2->close_calls, 1);
	mock_dev_free(m2);
	/* The group outlives one of its devices. */
	assert_non_null(devnode_find(f->h, "/dev/vfio/3"));
}

static void test_incoherent_group_refused(void **state)
{
	struct fixture *f = *state;
	struct mock_dev *m2 = mock_dev_new(f->h, 9, "0000:00:09.0", &mock_ops);

	m2->dev.iommu_group->cache_coherent = false;
	assert_errno(vfio_register_group_dev(&m2->vdev), -EINVAL);
	assert_null(devnode_find(f->h, "/dev/vfio/9"));
	mock_dev_free(m2);
}

static void test_no_group_refused(void **state)
{
	struct fixture *f = *state;
	struct mock_dev *m2 = mock_dev_new(f->h, -1, "0000:00:0a.0", &mock_ops);

	assert_errno(vfio_register_group_dev(&m2->vdev), -EINVAL);
	mock_dev_free(m2);
}

static void test_emulated_device_gets_own_group(void **state)
{
	struct fixture *f = *state;
	struct mock_dev *m2 = mock_dev_new(f->h, -1, "mdev-uuid", &mock_ops);
	char buf[64];
	int gfd;

	assert_errno(vfio_register_emulated_iommu_dev(&m2->vdev), 0);
	m2->registered = true;
	/* The lowest free IOMMU group id: 0 (the fixture has 3). */
	assert_non_null(m2->dev.iommu_group);
	assert_int_equal(m2->dev.iommu_group->id, 0);
	sysfs_read_str(f->h, "/kernel/iommu_groups/0/name", buf, sizeof(buf));
	assert_string_equal(buf, "vfio-noiommu\n");
	sysfs_read_str(f->h, "/kernel/iommu_groups/0/reserved_regions", buf, sizeof(buf));
	assert_string_equal(buf, "");
	gfd = group_open(f->p, 0);
	assert_true(gfd >= 0);
	/* Emulated groups take no DMA ownership: still viable. */
	assert_int_equal(group_status(f->p, gfd), VFIO_GROUP_FLAGS_VIABLE);
	proc_close(f->p, gfd);
	mock_dev_unregister(m2);
	assert_null(m2->dev.iommu_group);
	assert_null(sysfs_lookup(f->h->sysfs, "/kernel/iommu_groups/0", false));
	mock_dev_free(m2);
}

/* ---- open ---------------------------------------------------------------- */

static void test_one_open_per_group(void **state)
{
	struct fixture *f = *state;
	int gfd = group_open(f->p, 3);

	assert_true(gfd >= 0);
	assert_errno(group_open(f->p, 3), -EBUSY);
	assert_int_equal(proc_close(f->p, gfd), 0);
	gfd = group_open(f->p, 3);
	assert_true(gfd >= 0);
}

static void test_open_blocked_by_cdev(void **state)
{
	struct fixture *f = *state;
	int gfd;

	assert_int_equal(vfio_device_block_group(&f->m->vdev), 0);
	assert_errno(group_open(f->p, 3), -EBUSY);
	vfio_device_unblock_group(&f->m->vdev);
	gfd = group_open(f->p, 3);
	assert_true(gfd >= 0);
	/* And the other way round: the group node is open. */
	assert_errno(vfio_device_block_group(&f->m->vdev), -EBUSY);
}

/* ---- GET_STATUS and viability --------------------------------------------- */

static void test_status(void **state)
{
	struct fixture *f = *state;
	struct vfio_group_status st = { .argsz = 7 };
	int gfd = group_open(f->p, 3), cfd;

	assert_errno(proc_ioctl(f->p, gfd, VFIO_GROUP_GET_STATUS, &st), -EINVAL);
	assert_errno(proc_ioctl(f->p, gfd, VFIO_GROUP_GET_STATUS, (void *)8), -EFAULT);
	assert_int_equal(group_status(f->p, gfd), VFIO_GROUP_FLAGS_VIABLE);
	cfd = container_with_group(f->p, gfd, 0);
	assert_int_equal(group_status(f->p, gfd),
			 VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
	assert_true(cfd >= 0);
	assert_errno(proc_ioctl(f->p, gfd, VFIO_BASE + 50, NULL), -ENOTTY);
}

static void test_kernel_driver_makes_group_non_viable(void **state)
{
	struct fixture *f = *state;
	struct mock_dev *other = mock_dev_new(f->h, 3, "0000:00:03.2", &mock_ops);
	int gfd = group_open(f->p, 3), cfd;

	assert_int_equal(device_bind_driver(&other->dev, &mock_kernel_driver), 0);
	assert_int_equal(group_status(f->p, gfd), 0);
	cfd = proc_open(f->p, "/dev/vfio/vfio", O_RDWR);
	assert_errno(group_set_container(f->p, gfd, cfd), -EPERM);
	device_unbind_driver(&other->dev);
	assert_int_equal(group_status(f->p, gfd), VFIO_GROUP_FLAGS_VIABLE);
	assert_errno(group_set_container(f->p, gfd, cfd), 0);
	/* User-owned now: a kernel driver cannot bind, a managed one can. */
	assert_errno(device_bind_driver(&other->dev, &mock_kernel_driver), -EBUSY);
	assert_int_equal(device_bind_driver(&other->dev, &mock_managed_driver), 0);
	assert_int_equal(group_status(f->p, gfd),
			 VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
	device_unbind_driver(&other->dev);
	mock_dev_free(other);
}

static void test_other_owner_makes_set_container_fail(void **state)
{
	struct fixture *f = *state;
	struct iommu_group *g = f->m->dev.iommu_group;
	int gfd = group_open(f->p, 3);
	int cfd = proc_open(f->p, "/dev/vfio/vfio", O_RDWR);
	int owner;

	/* Someone else (an iommufd binding) owns the group's DMA. */
	assert_int_equal(iommu_device_claim_dma_owner(&f->m->dev, &owner), 0);
	assert_int_equal(group_status(f->p, gfd), 0);
	assert_errno(group_set_container(f->p, gfd, cfd), -EPERM);
	/* Same owner may claim again, another may not. */
	assert_int_equal(iommu_device_claim_dma_owner(&f->m->dev, &owner), 0);
	assert_errno(iommu_device_claim_dma_owner(&f->m->dev, &gfd), -EPERM);
	iommu_device_release_dma_owner(&f->m->dev);
	assert_true(iommu_group_dma_owner_claimed(g));
	iommu_device_release_dma_owner(&f->m->dev);
	assert_false(iommu_group_dma_owner_claimed(g));
	assert_errno(group_set_container(f->p, gfd, cfd), 0);
	assert_ptr_equal(g->domain, g->blocking_domain);
}

/* The IOMMU layer's own rules under the VFIO ones. */
static void test_iommu_ownership_rules(void **state)
{
	struct fixture *f = *state;
	struct iommu_group *g = f->m->dev.iommu_group;
	struct io_pagetable iopt;
	struct iommu_domain *d1, *d2;
	int owner;

	iopt_init(&iopt, UVF_PAGE_SIZE);
	d1 = iommu_domain_alloc_paging(&iopt, UVF_PAGE_SIZE, 0, UINT64_MAX, true);
	d2 = iommu_domain_alloc_paging(&iopt, UVF_PAGE_SIZE, 0, UINT64_MAX, true);
	assert_errno(iommu_group_claim_dma_owner(g, NULL), -EINVAL);
	assert_errno(iommu_attach_group(g->blocking_domain, g), -EINVAL);
	/* A paging domain in place of the default one: no claim then. */
	assert_errno(iommu_attach_group(d1, g), 0);
	assert_errno(iommu_attach_group(d2, g), -EBUSY);
	assert_errno(iommu_group_claim_dma_owner(g, &owner), -EBUSY);
	iommu_detach_group(d1, g);
	assert_ptr_equal(g->domain, g->default_domain);
	/* Claimed: kernel drivers stay out; detaching returns to blocking. */
	assert_errno(iommu_group_claim_dma_owner(g, &owner), 0);
	assert_errno(iommu_group_claim_dma_owner(g, &owner), -EPERM);
	assert_errno(iommu_device_use_default_domain(&f->m->dev), -EBUSY);
	assert_errno(iommu_attach_group(d1, g), 0);
	assert_int_equal(d1->attached, 1);
	iommu_detach_group(d1, g);
	assert_ptr_equal(g->domain, g->blocking_domain);
	assert_int_equal(d1->attached, 0);
	iommu_group_release_dma_owner(g);
	assert_ptr_equal(g->domain, g->default_domain);
	/* Kernel users count as owners, and several may coexist. */
	assert_errno(iommu_device_use_default_domain(&f->m->dev), 0);
	assert_errno(iommu_device_use_default_domain(&f->m->dev), 0);
	assert_errno(iommu_group_claim_dma_owner(g, &owner), -EPERM);
	assert_errno(iommu_device_claim_dma_owner(&f->m->dev, &owner), -EPERM);
	iommu_device_unuse_default_domain(&f->m->dev);
	iommu_device_unuse_default_domain(&f->m->dev);
	assert_false(iommu_group_dma_owner_claimed(g));
	iommu_domain_put(d1);
	iommu_domain_put(d2);
	iopt_destroy(&iopt);
}

static void test_iommu_group_ids(void **state)
{
	struct fixture *f = *state;
	struct iommu_group *g;

	assert_null(iommu_group_new(f->h, 3));
	assert_ptr_equal(iommu_group_find(f->h, 3), f->m->dev.iommu_group);
	assert_null(iommu_group_find(f->h, 4));
	g = iommu_group_alloc(f->h);
	assert_non_null(g);
	assert_int_equal(g->id, 0);
	assert_ptr_equal(iommu_group_find(f->h, 0), g);
	iommu_group_put(g);
	assert_null(iommu_group_find(f->h, 0));
	assert_null(sysfs_lookup(f->h->sysfs, "/kernel/iommu_groups/0", false));
}

/* ---- SET_CONTAINER / UNSET_CONTAINER --------------------------------------- */

static void test_set_container_errors(void **state)
{
	struct fixture *f = *state;
	int gfd = group_open(f->p, 3);
	int cfd = proc_open(f->p, "/dev/vfio/vfio", O_RDWR);
	int32_t bad = 123;

	assert_errno(proc_ioctl(f->p, gfd, VFIO_GROUP_SET_CONTAINER, &bad), -EBADF);
	assert_errno(proc_ioctl(f->p, gfd, VFIO_GROUP_SET_CONTAINER, (void *)8), -EFAULT);
	/* A file, but not a container. */
	assert_errno(group_set_container(f->p, gfd, gfd), -EBADFD);
	assert_errno(group_set_container(f->p, gfd, cfd), 0);
	assert_errno(group_set_container(f->p, gfd, cfd), -EINVAL);
}

static void test_unset_container(void **state)
{
	struct fixture *f = *state;
	int gfd, cfd, dfd;
	struct iommu_group *g = f->m->dev.iommu_group;

	gfd = group_open(f->p, 3);
	assert_errno(proc_ioctl(f->p, gfd, VFIO_GROUP_UNSET_CONTAINER, NULL), -EINVAL);
	proc_close(f->p, gfd);

	dfd = open_device(f, &gfd, &cfd);
	assert_true(dfd >= 0);
	assert_errno(proc_ioctl(f->p, gfd, VFIO_GROUP_UNSET_CONTAINER, NULL), -EBUSY);
	proc_close(f->p, dfd);
	assert_errno(proc_ioctl(f->p, gfd, VFIO_GROUP_UNSET_CONTAINER, NULL), 0);
	assert_int_equal(group_status(f->p, gfd), VFIO_GROUP_FLAGS_VIABLE);
	/* Ownership released, default domain back, backend gone with the
	 * last group. */
	assert_false(iommu_group_dma_owner_claimed(g));
	assert_ptr_equal(g->domain, g->default_domain);
	assert_errno(proc_ioctl_val(f->p, cfd, VFIO_IOMMU_GET_INFO, 0), -EINVAL);
}

static void test_group_close_detaches(void **state)
{
	struct fixture *f = *state;
	struct iommu_group *g = f->m->dev.iommu_group;
	int gfd = group_open(f->p, 3);
	int cfd = container_with_group(f->p, gfd, VFIO_TYPE1v2_IOMMU);

	assert_true(iommu_group_dma_owner_claimed(g));
	proc_close(f->p, gfd);
	assert_false(iommu_group_dma_owner_claimed(g));
	/* The container lost its only group, and the backend with it. */
	assert_errno(proc_ioctl_val(f->p, cfd, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR), 0);
}

/* ---- GET_DEVICE_FD ---------------------------------------------------------- */

static void test_get_device_fd_needs_container_and_iommu(void **state)
{
	struct fixture *f = *state;
	int gfd = group_open(f->p, 3);
	int cfd;

	assert_errno(get_device_fd(f->p, gfd, "0000:00:03.0"), -EINVAL);
	cfd = container_with_group(f->p, gfd, 0);
	assert_errno(get_device_fd(f->p, gfd, "0000:00:03.0"), -EINVAL);
	assert_errno(proc_ioctl_val(f->p, cfd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	assert_true(get_device_fd(f->p, gfd, "0000:00:03.0") >= 0);
	assert_int_equal(f->m->open_calls, 1);
}

static void test_get_device_fd_names(void **state)
{
	struct fixture *f = *state;
	int gfd, cfd;
	char *longname = malloc(UVF_PAGE_SIZE + 1);

	assert_true(open_device(f, &gfd, &cfd) >= 0);
	assert_errno(get_device_fd(f->p, gfd, "0000:00:04.0"), -ENODEV);
	assert_errno(get_device_fd(f->p, gfd, ""), -ENODEV);
	assert_errno(proc_ioctl(f->p, gfd, VFIO_GROUP_GET_DEVICE_FD, (void *)8), -EFAULT);
	memset(longname, 'a', UVF_PAGE_SIZE);
	longname[UVF_PAGE_SIZE] = '\0';
	assert_errno(get_device_fd(f->p, gfd, longname), -EINVAL);
	free(longname);
}

static int match_uuid(struct vfio_device *vdev, const char *buf)
{
	if (!strcmp(buf, "error"))
		return -EIO;
	return !strcmp(buf, "uuid-1234");
}

static void test_get_device_fd_match_op(void **state)
{
	struct fixture *f = *state;
	static struct vfio_device_ops ops;
	struct mock_dev *m2;
	int gfd, cfd;

	ops = mock_ops;
	ops.match = match_uuid;
	m2 = mock_dev_new(f->h, 5, "0000:00:05.0", &ops);
	assert_int_equal(vfio_register_group_dev(&m2->vdev), 0);
	m2->registered = true;
	gfd = group_open(f->p, 5);
	cfd = container_with_group(f->p, gfd, VFIO_TYPE1v2_IOMMU);
	assert_errno(get_device_fd(f->p, gfd, "0000:00:05.0"), -ENODEV);
	assert_errno(get_device_fd(f->p, gfd, "error"), -EIO);
	assert_true(get_device_fd(f->p, gfd, "uuid-1234") >= 0);
	proc_free(f->p);
	f->p = NULL;
	assert_true(cfd >= 0);
	mock_dev_free(m2);
}

static void test_repeated_get_device_fd(void **state)
{
	struct fixture *f = *state;
	int gfd, cfd, d1, d2;

	d1 = open_device(f, &gfd, &cfd);
	d2 = get_device_fd(f->p, gfd, "0000:00:03.0");
	assert_true(d1 >= 0 && d2 >= 0 && d1 != d2);
	assert_int_equal(f->m->open_calls, 1);
	assert_int_equal(f->m->vdev.open_count, 2);
	proc_close(f->p, d1);
	assert_int_equal(f->m->close_calls, 0);
	proc_close(f->p, d2);
	assert_int_equal(f->m->close_calls, 1);
	assert_int_equal(f->m->vdev.open_count, 0);
	/* Opening again runs open_device again. */
	assert_true(get_device_fd(f->p, gfd, "0000:00:03.0") >= 0);
	assert_int_equal(f->m->open_calls, 2);
}

static void test_open_device_failure(void **state)
{
	struct fixture *f = *state;
	int gfd, cfd;

	f->m->open_ret = -EIO;
	assert_errno(open_device(f, &gfd, &cfd), -EIO);
	assert_int_equal(f->m->close_calls, 0);
	assert_int_equal(f->m->vdev.open_count, 0);
	/* No device user remains: the container may go. */
	assert_errno(proc_ioctl(f->p, gfd, VFIO_GROUP_UNSET_CONTAINER, NULL), 0);
}

/* Device fds pin the group file: closing the group fd releases it only
 * after the last device fd. */
static void test_device_fd_pins_group(void **state)
{
	struct fixture *f = *state;
	int gfd, cfd, dfd;

	dfd = open_device(f, &gfd, &cfd);
	proc_close(f->p, gfd);
	proc_close(f->p, cfd);
	assert_errno(group_open(f->p, 3), -EBUSY);
	assert_true(iommu_group_dma_owner_claimed(f->m->dev.iommu_group));
	assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_GET_INFO, NULL),
		     MOCK_IOCTL_BASE + (VFIO_DEVICE_GET_INFO & 0xff));
	proc_close(f->p, dfd);
	assert_int_equal(f->m->close_calls, 1);
	assert_false(iommu_group_dma_owner_claimed(f->m->dev.iommu_group));
	gfd = group_open(f->p, 3);
	assert_true(gfd >= 0);
}

/* ---- the device file ---------------------------------------------------------- */

static void test_device_file_forwarding(void **state)
{
	struct fixture *f = *state;
	int gfd, cfd, dfd = open_device(f, &gfd, &cfd);
	char buf[16] = "";

	assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_RESET, NULL),
		     MOCK_IOCTL_BASE + (VFIO_DEVICE_RESET & 0xff));
	assert_int_equal(proc_pread(f->p, dfd, buf, sizeof(buf), 0), 10);
	assert_string_equal(buf, "mock-data");
	/* Ops the mock lacks answer -EINVAL. */
	assert_errno(proc_pwrite(f->p, dfd, buf, 4, 0), -EINVAL);
	int err = 0;
	void *map = proc_mmap(f->p, dfd, 4096, PROT_READ, MAP_SHARED, 0, &err);

	assert_true(map == MAP_FAILED);
	assert_errno(err, -EINVAL);
	/* BIND_IOMMUFD is for cdev opens only. */
	struct { uint32_t argsz, flags; int32_t fd; uint32_t devid; } bind = { 16, 0, 3, 0 };

	assert_errno(proc_ioctl(f->p, dfd, _IO(VFIO_TYPE, VFIO_BASE + 18), &bind), -EINVAL);
}

static void test_device_file_bare_ops(void **state)
{
	struct fixture *f = *state;
	struct mock_dev *m2 = mock_dev_new(f->h, 6, "0000:00:06.0", &mock_bare_ops);
	struct vfio_device_feature feat = { .argsz = sizeof(feat),
					    .flags = VFIO_DEVICE_FEATURE_GET | 3 };
	char buf[8];
	int gfd, cfd, dfd;

	assert_int_equal(vfio_register_group_dev(&m2->vdev), 0);
	m2->registered = true;
	gfd = group_open(f->p, 6);
	cfd = container_with_group(f->p, gfd, VFIO_TYPE1v2_IOMMU);
	dfd = get_device_fd(f->p, gfd, "0000:00:06.0");
	assert_true(dfd >= 0);
	assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_RESET, NULL), -EINVAL);
	assert_errno(proc_pread(f->p, dfd, buf, sizeof(buf), 0), -EINVAL);
	/* No device_feature op: the kernel (6.12) answers -ENOTTY. */
	assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_FEATURE, &feat), -ENOTTY);
	proc_free(f->p);
	f->p = NULL;
	assert_true(cfd >= 0);
	mock_dev_free(m2);
}

static void test_device_feature(void **state)
{
	struct fixture *f = *state;
	int gfd, cfd, dfd = open_device(f, &gfd, &cfd);
	struct {
		struct vfio_device_feature hdr;
		uint8_t data[8];
	} feat = { .hdr = { .argsz = sizeof(feat) } };

	feat.hdr.argsz = 7;
	assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_FEATURE, &feat), -EINVAL);
	feat.hdr.argsz = sizeof(feat);
	feat.hdr.flags = 1u << 20;
	assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_FEATURE, &feat), -EINVAL);
	feat.hdr.flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET | 3;
	assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_FEATURE, &feat), -EINVAL);
	/* No migration or dirty logging support. */
	feat.hdr.flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION;
	assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_FEATURE, &feat), -ENOTTY);
	feat.hdr.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET |
			 VFIO_DEVICE_FEATURE_DMA_LOGGING_START;
	assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_FEATURE, &feat), -ENOTTY);
	/* Others reach the driver with the payload size. */
	feat.hdr.flags = VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_GET |
			 VFIO_DEVICE_FEATURE_SET | 3;
	assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_FEATURE, &feat), 77);
	assert_int_equal(f->m->feature_flags, feat.hdr.flags);
	assert_int_equal(f->m->feature_argsz, 8);
	assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_FEATURE, (void *)8), -EFAULT);
}

/* ---- unregistration -------------------------------------------------------------- */

static void *unregister_thread(void *arg)
{
	struct mock_dev *m = arg;

	vfio_unregister_group_dev(&m->vdev);
	return NULL;
}

static void test_unregister_waits_for_users(void **state)
{
	struct fixture *f = *state;
	int gfd, cfd, dfd = open_device(f, &gfd, &cfd);
	pthread_t t;

	f->h->vfio->request_period_ms = 10;
	assert_int_equal(pthread_create(&t, NULL, unregister_thread, f->m), 0);
	for (int i = 0; i < 2500 && f->m->request_calls < 2; i++)
		usleep(2000);
	assert_true(f->m->request_calls >= 2);
	/* Still blocked: no new opens, the open fd still works. */
	assert_errno(get_device_fd(f->p, gfd, "0000:00:03.0"), -ENODEV);
	assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_RESET, NULL),
		     MOCK_IOCTL_BASE + (VFIO_DEVICE_RESET & 0xff));
	proc_close(f->p, dfd);
	assert_int_equal(pthread_join(t, NULL), 0);
	f->m->registered = false;
	assert_int_equal(f->m->close_calls, 1);
	/* The group fd survives its group: -ENODEV from here on. */
	struct vfio_group_status st = { .argsz = sizeof(st) };

	assert_errno(proc_ioctl(f->p, gfd, VFIO_GROUP_GET_STATUS, &st), -ENODEV);
	assert_errno(group_set_container(f->p, gfd, cfd), -ENODEV);
	assert_null(devnode_find(f->h, "/dev/vfio/3"));
}

static void test_unregister_idle_does_not_request(void **state)
{
	struct fixture *f = *state;

	mock_dev_unregister(f->m);
	assert_int_equal(f->m->request_calls, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_group_node, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_sysfs, setup, teardown),
		cmocka_unit_test(test_topology_groups),
		cmocka_unit_test_setup_teardown(test_unregister_removes_nodes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_races_unregister, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_device_same_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_incoherent_group_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_group_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_emulated_device_gets_own_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_open_per_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_blocked_by_cdev, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kernel_driver_makes_group_non_viable, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_other_owner_makes_set_container_fail, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_iommu_ownership_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iommu_group_ids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_container_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unset_container, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_close_detaches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_device_fd_needs_container_and_iommu, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_get_device_fd_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_device_fd_match_op, setup, teardown),
		cmocka_unit_test_setup_teardown(test_repeated_get_device_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_device_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_fd_pins_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_file_forwarding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_file_bare_ops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_feature, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unregister_waits_for_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unregister_idle_does_not_request, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
