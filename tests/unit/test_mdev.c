// SPDX-License-Identifier: MIT
/*
 * The mdev framework: the sysfs layout exactly as mdevctl and libvirt read
 * it (the bus, the class, types and their attributes, each device's
 * directory and links), 'create' and 'remove' with the kernel's errno,
 * available_instances accounting (parent-wide max_instances and a driver's
 * get_available), 'remove' blocking while a user holds the device with the
 * driver's request() called meanwhile, concurrent removers, the group and
 * cdev paths opening an mdev and its emulated DMA, a user dying mid-use,
 * and parent unregistration.
 *
 * Two parents: the in-tree sample (msample, via the topology) and a
 * test-only one here (tparent: max_instances, no description, a probe that
 * can fail, a request() that can play a user letting go).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include "harness.h"
#include "vfio_mock.h"
#include "iommufd_helpers.h"
#include "core/mdev/mdev.h"
#include "core/mdev/mdev_private.h"
#include "core/mdev/msample.h"
#include "core/host/devnode.h"

#define UUID1 "6a2d7c80-3d3c-4e0e-9c1b-5f0e4d0a1b01"
#define UUID2 "6a2d7c80-3d3c-4e0e-9c1b-5f0e4d0a1b02"
#define UUID3 "6a2d7c80-3d3c-4e0e-9c1b-5f0e4d0a1b03"
#define TYPES "/devices/virtual/msample/msample/mdev_supported_types"
#define PARENT MSAMPLE_SYSFS_PARENT

static const struct uvf_caller root_caller;

/* ---- the test parent ------------------------------------------------------------------- */

struct tparent {
	struct uvf_host *h;
	struct uvf_device dev;
	struct mdev_parent parent;
	struct mdev_driver drv;
	struct mdev_type types[2];
	struct mdev_type *tlist[2];
	int probe_ret;
	atomic_bool probe_hold, in_probe;	/* probe waits while probe_hold */
	bool registered;
	atomic_int requests, closes;	/* of all its devices, removed ones too */
};

/* The VFIO device of one tparent mdev. */
struct tdev {
	struct vfio_device vdev;
	struct tparent *tp;
	atomic_int opens, closes, requests;
	/* request() plays the user: closes this fd of this process */
	struct uvf_proc *closer;
	int close_fd;
	unsigned int close_at;		/* ... at this request count */
};

static struct tdev *to_tdev(struct vfio_device *vdev)
{
	return container_of(vdev, struct tdev, vdev);
}

static int tdev_open(struct vfio_device *vdev)
{
	atomic_fetch_add(&to_tdev(vdev)->opens, 1);
	return 0;
}

static void tdev_close(struct vfio_device *vdev)
{
	atomic_fetch_add(&to_tdev(vdev)->closes, 1);
	atomic_fetch_add(&to_tdev(vdev)->tp->closes, 1);
}

static void tdev_request(struct vfio_device *vdev, unsigned int count)
{
	struct tdev *t = to_tdev(vdev);

	atomic_fetch_add(&t->requests, 1);
	atomic_fetch_add(&t->tp->requests, 1);
	if (t->closer && count == t->close_at)
		proc_close(t->closer, t->close_fd);
}

/* Proves the fd still reaches the driver. */
static long tdev_ioctl(struct vfio_device *vdev, struct uvf_caller *c, unsigned int cmd,
		       uint64_t arg)
{
	return 42;
}

static const struct vfio_device_ops tdev_ops = {
	.name = "tdev",
	.open_device = tdev_open,
	.close_device = tdev_close,
	.ioctl = tdev_ioctl,
	.request = tdev_request,
};

static int tparent_probe(struct mdev_device *mdev)
{
	struct tparent *tp = container_of(mdev->type->parent, struct tparent, parent);
	struct tdev *t;
	int ret;

	atomic_store(&tp->in_probe, true);
	while (atomic_load(&tp->probe_hold))
		usleep(1000);
	if (tp->probe_ret)
		return tp->probe_ret;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->tp = tp;
	vfio_init_device(&t->vdev, &mdev->dev, &tdev_ops);
	ret = vfio_register_emulated_iommu_dev(&t->vdev);
	if (ret) {
		free(t);
		return ret;
	}
	mdev->dev.driver_data = t;
	return 0;
}

static void tparent_remove(struct mdev_device *mdev)
{
	struct tdev *t = mdev->dev.driver_data;

	vfio_unregister_group_dev(&t->vdev);
	free(t);
}

static struct tparent *tparent_new(struct uvf_host *h, unsigned int max_instances)
{
	struct tparent *tp = calloc(1, sizeof(*tp));

	assert_non_null(tp);
	tp->h = h;
	snprintf(tp->dev.name, sizeof(tp->dev.name), "tparent0");
	tp->dev.host = h;
	tp->dev.bus = "tbus";		/* no driver bound: types are "tbus-..." */
	tp->dev.sysfs_dir = sysfs_mkdir_p(sysfs_root(h->sysfs), "devices/tparent0");
	assert_non_null(tp->dev.sysfs_dir);
	tp->types[0].sysfs_name = "a";
	tp->types[0].pretty_name = "Type A";
	tp->types[1].sysfs_name = "b";
	tp->tlist[0] = &tp->types[0];
	tp->tlist[1] = &tp->types[1];
	tp->drv.device_api = "vfio-test";
	tp->drv.max_instances = max_instances;
	tp->drv.probe = tparent_probe;
	tp->drv.remove = tparent_remove;
	tp->drv.driver.name = "tdrv";
	assert_errno(mdev_register_driver(h, &tp->drv), 0);
	assert_errno(mdev_register_parent(&tp->parent, &tp->dev, &tp->drv, tp->tlist, 2), 0);
	tp->registered = true;
	return tp;
}

static void tparent_free(struct tparent *tp)
{
	if (tp->registered)
		mdev_unregister_parent(&tp->parent);
	mdev_unregister_driver(&tp->drv);
	sysfs_remove(tp->dev.sysfs_dir);
	free(tp);
}

/* ---- fixture and sysfs helpers ------------------------------------------------------------ */

struct fixture {
	struct uvf_host *h;
	struct uvf_proc *p;
	struct tparent *tp;
	uint8_t *mem;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->h = test_host_from_json("{\"mdev_sample\": {\"channels\": 4}}");
	f->h->vfio->request_period_ms = 10;
	f->p = proc_new_root(f->h);
	f->mem = test_mem(16 * PG, PROT_READ | PROT_WRITE);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->p)
		proc_free(f->p);
	if (f->tp)
		tparent_free(f->tp);
	host_free(f->h);
	munmap(f->mem, 16 * PG);
	free(f);
	return 0;
}

static ssize_t sysfs_write_str(struct uvf_host *h, const char *path, const char *s)
{
	return sysfs_write(h->sysfs, &root_caller, path, s, strlen(s), 0);
}

static bool sysfs_exists(struct uvf_host *h, const char *path)
{
	struct sysfs_stat st;

	return !sysfs_stat_path(h->sysfs, path, false, &st);
}

static void assert_link(struct uvf_host *h, const char *path, const char *target)
{
	char buf[256];
	ssize_t n = sysfs_readlink(h->sysfs, path, buf, sizeof(buf) - 1);

	if (n < 0)
		fail_msg("readlink %s: %s", path, strerror((int)-n));
	buf[n] = '\0';
	assert_string_equal(buf, target);
}

static void assert_attr(struct uvf_host *h, const char *path, const char *want)
{
	char buf[256];

	sysfs_read_str(h, path, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static mode_t attr_mode(struct uvf_host *h, const char *path)
{
	struct sysfs_stat st;

	assert_int_equal(sysfs_stat_path(h->sysfs, path, false, &st), 0);
	return st.mode;
}

static unsigned int available(struct uvf_host *h, const char *type_dir)
{
	char path[256], buf[32];

	snprintf(path, sizeof(path), "%s/available_instances", type_dir);
	sysfs_read_str(h, path, buf, sizeof(buf));
	return (unsigned int)strtoul(buf, NULL, 10);
}

static ssize_t create(struct uvf_host *h, const char *type_dir, const char *uuid)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/create", type_dir);
	return sysfs_write_str(h, path, uuid);
}

static ssize_t remove_dev(struct uvf_host *h, const char *uuid, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "/bus/mdev/devices/%s/remove", uuid);
	return sysfs_write_str(h, path, val);
}

static int name_fn(const char *name, const struct sysfs_stat *st, void *arg)
{
	snprintf(arg, 32, "%s", name);
	return 1;
}

static int count_fn(const char *name, const struct sysfs_stat *st, void *arg)
{
	(*(unsigned int *)arg)++;
	return 0;
}

static unsigned int dir_entries(struct uvf_host *h, const char *path)
{
	unsigned int n = 0;

	assert_int_equal(sysfs_readdir(h->sysfs, path, count_fn, &n), 0);
	return n;
}

/* The IOMMU group number of a live mdev. */
static unsigned int mdev_group(struct uvf_host *h, const char *uuid)
{
	struct mdev_device *mdev = mdev_get_by_uuid(h, uuid);
	unsigned int id;

	assert_non_null(mdev);
	assert_non_null(mdev->dev.iommu_group);
	id = mdev->dev.iommu_group->id;
	mdev_put(mdev);
	return id;
}

/* Group + type1v2 container + device fd of an mdev, in p. */
static int mdev_open_group_path(struct uvf_proc *p, const char *uuid, int *gfd, int *cfd)
{
	int dfd;

	*gfd = group_open(p, mdev_group(p->host, uuid));
	assert_true(*gfd >= 0);
	*cfd = container_with_group(p, *gfd, VFIO_TYPE1v2_IOMMU);
	dfd = (int)proc_ioctl(p, *gfd, VFIO_GROUP_GET_DEVICE_FD, uuid);
	assert_true(dfd >= 0);
	return dfd;
}

/* ---- a removal in another thread ------------------------------------------------------------- */

struct remover {
	struct uvf_host *h;
	struct sysfs_node *node;	/* the 'remove' file, held open */
	pthread_t thread;
	atomic_bool done;
	ssize_t ret;
};

static void *remover_thread(void *arg)
{
	struct remover *r = arg;

	r->ret = sysfs_write_node(r->node, "1", 1, 0);
	atomic_store(&r->done, true);
	return NULL;
}

/* The 'remove' file opened, as a writer's open() does. */
static void remover_open(struct remover *r, struct uvf_host *h, const char *uuid)
{
	char path[128];

	snprintf(path, sizeof(path), "/bus/mdev/devices/%s/remove", uuid);
	r->h = h;
	r->node = sysfs_lookup(h->sysfs, path, true);
	assert_non_null(r->node);
	atomic_init(&r->done, false);
}

static void remover_run(struct remover *r)
{
	assert_int_equal(pthread_create(&r->thread, NULL, remover_thread, r), 0);
}

static void remover_start(struct remover *r, struct uvf_host *h, const char *uuid)
{
	remover_open(r, h, uuid);
	remover_run(r);
}

static ssize_t remover_join(struct remover *r)
{
	assert_int_equal(pthread_join(r->thread, NULL), 0);
	sysfs_put(r->node);
	return r->ret;
}

/* Wait (at most 5 s) until *counter reaches n. */
static bool wait_count(atomic_int *counter, int n)
{
	for (int i = 0; i < 2500 && atomic_load(counter) < n; i++)
		usleep(2000);
	return atomic_load(counter) >= n;
}

static struct tdev *tdev_of(struct uvf_host *h, const char *uuid)
{
	struct mdev_device *mdev = mdev_get_by_uuid(h, uuid);
	struct tdev *t;

	assert_non_null(mdev);
	t = mdev->dev.driver_data;
	mdev_put(mdev);
	return t;
}

/* ---- the bus, the class, the types ---------------------------------------------------------- */

/* As on a kernel with mdev loaded: the bus and class exist with no parent. */
static void test_bus_and_class_without_parents(void **state)
{
	struct uvf_host *h = test_host_from_json("{}");

	assert_int_equal(dir_entries(h, "/bus/mdev/devices"), 0);
	assert_int_equal(dir_entries(h, "/bus/mdev/drivers"), 0);
	assert_int_equal(dir_entries(h, "/class/mdev_bus"), 0);
	host_free(h);
	(void)state;
}

static void test_types_layout(void **state)
{
	struct fixture *f = *state;
	struct uvf_host *h = f->h;

	assert_link(h, "/class/mdev_bus/msample", "../../devices/virtual/msample/msample");
	assert_int_equal(dir_entries(h, TYPES), 2);
	assert_int_equal(attr_mode(h, TYPES "/msample-1/create"), 0200);
	assert_int_equal(attr_mode(h, TYPES "/msample-1/device_api"), 0444);
	assert_int_equal(attr_mode(h, TYPES "/msample-1/name"), 0444);
	assert_int_equal(attr_mode(h, TYPES "/msample-1/available_instances"), 0444);
	assert_int_equal(attr_mode(h, TYPES "/msample-1/description"), 0444);
	assert_attr(h, TYPES "/msample-1/device_api", "vfio-msample\n");
	assert_attr(h, TYPES "/msample-1/name", "Sample copy engine, 1 channel\n");
	assert_attr(h, TYPES "/msample-2/name", "Sample copy engine, 2 channels\n");
	assert_attr(h, TYPES "/msample-1/description", "channels=1\n");
	assert_attr(h, TYPES "/msample-1/available_instances", "4\n");
	assert_attr(h, TYPES "/msample-2/available_instances", "2\n");
	assert_int_equal(dir_entries(h, TYPES "/msample-1/devices"), 0);
	/* 'create' cannot be read, not even by root; the others not written. */
	assert_errno(sysfs_access(h->sysfs, &root_caller, TYPES "/msample-1/create", true, false),
		     -EACCES);
	assert_errno(sysfs_access(h->sysfs, &root_caller, TYPES "/msample-1/name", false, true),
		     -EACCES);
	/* Reached the way mdevctl walks: through the class link. */
	assert_attr(h, "/class/mdev_bus/msample/mdev_supported_types/msample-2/device_api",
		    "vfio-msample\n");
}

/* No show_description: no 'description'; no pretty name: the sysfs name;
 * no driver on the parent: the bus names the types. */
static void test_type_optional_attrs(void **state)
{
	struct fixture *f = *state;

	f->tp = tparent_new(f->h, 2);
	assert_link(f->h, "/class/mdev_bus/tparent0", "../../devices/tparent0");
	assert_attr(f->h, "/devices/tparent0/mdev_supported_types/tbus-a/name", "Type A\n");
	assert_attr(f->h, "/devices/tparent0/mdev_supported_types/tbus-b/name", "b\n");
	assert_attr(f->h, "/devices/tparent0/mdev_supported_types/tbus-b/device_api",
		    "vfio-test\n");
	assert_false(sysfs_exists(f->h, "/devices/tparent0/mdev_supported_types/tbus-a/description"));
	assert_true(sysfs_exists(f->h, "/bus/mdev/drivers/tdrv"));
	assert_true(sysfs_exists(f->h, "/bus/mdev/drivers/msample"));
	/* A second parent of the same name, or a driver name taken. */
	{
		struct mdev_parent p2;
		struct mdev_driver d2 = { .device_api = "x", .driver = { .name = "tdrv" } };
		struct mdev_driver d3 = { .driver = { .name = "t3" } };

		assert_errno(mdev_register_parent(&p2, &f->tp->dev, &f->tp->drv, f->tp->tlist, 2),
			     -EEXIST);
		assert_errno(mdev_register_driver(f->h, &d2), -EEXIST);
		assert_errno(mdev_register_driver(f->h, &d3), -EINVAL);
		assert_errno(mdev_register_parent(&p2, &f->tp->dev, &f->tp->drv, f->tp->tlist, 0),
			     -EINVAL);
	}
	/* The failed registration left the first one whole. */
	assert_attr(f->h, "/devices/tparent0/mdev_supported_types/tbus-a/available_instances",
		    "2\n");
}

/* ---- create ---------------------------------------------------------------------------------- */

static void test_create_layout(void **state)
{
	struct fixture *f = *state;
	struct uvf_host *h = f->h;
	char path[256], want[128], vfion[32] = "";
	unsigned int g;

	/* Upper case, with the newline echo adds: the name is lower case. */
	assert_int_equal(create(h, TYPES "/msample-1", "6A2D7C80-3D3C-4E0E-9C1B-5F0E4D0A1B01\n"),
			 37);
	assert_link(h, "/bus/mdev/devices/" UUID1,
		    "../../../devices/virtual/msample/msample/" UUID1);
	assert_link(h, PARENT "/" UUID1 "/mdev_type", "../mdev_supported_types/msample-1");
	assert_link(h, TYPES "/msample-1/devices/" UUID1, "../../../" UUID1);
	assert_link(h, PARENT "/" UUID1 "/subsystem", "../../../../../bus/mdev");
	assert_link(h, PARENT "/" UUID1 "/driver", "../../../../../bus/mdev/drivers/msample");
	assert_link(h, "/bus/mdev/drivers/msample/" UUID1,
		    "../../../../devices/virtual/msample/msample/" UUID1);
	assert_int_equal(attr_mode(h, PARENT "/" UUID1 "/remove"), 0200);
	assert_int_equal(attr_mode(h, PARENT "/" UUID1 "/label"), 0644);
	/* An emulated IOMMU group of its own, with its VFIO nodes. */
	g = mdev_group(h, UUID1);
	snprintf(want, sizeof(want), "../../../../../kernel/iommu_groups/%u", g);
	assert_link(h, PARENT "/" UUID1 "/iommu_group", want);
	snprintf(path, sizeof(path), "/kernel/iommu_groups/%u/name", g);
	assert_attr(h, path, "vfio-noiommu\n");
	snprintf(path, sizeof(path), "/dev/vfio/%u", g);
	assert_non_null(devnode_find(h, path));
	assert_int_equal(sysfs_readdir(h->sysfs, PARENT "/" UUID1 "/vfio-dev", name_fn, vfion), 1);
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", vfion);
	assert_non_null(devnode_find(h, path));
	/* Capacity: 3 channels left. */
	assert_int_equal(available(h, TYPES "/msample-1"), 3);
	assert_int_equal(available(h, TYPES "/msample-2"), 1);
	assert_int_equal(dir_entries(h, "/bus/mdev/devices"), 1);

	/* Removal takes all of it away and gives the capacity back. */
	assert_int_equal(remove_dev(h, UUID1, "1\n"), 2);
	assert_false(sysfs_exists(h, PARENT "/" UUID1));
	assert_false(sysfs_exists(h, "/bus/mdev/devices/" UUID1));
	assert_false(sysfs_exists(h, "/bus/mdev/drivers/msample/" UUID1));
	assert_int_equal(dir_entries(h, TYPES "/msample-1/devices"), 0);
	snprintf(path, sizeof(path), "/dev/vfio/%u", g);
	assert_null(devnode_find(h, path));
	snprintf(path, sizeof(path), "/kernel/iommu_groups/%u", g);
	assert_false(sysfs_exists(h, path));
	assert_int_equal(available(h, TYPES "/msample-1"), 4);
	assert_null(mdev_get_by_uuid(h, UUID1));
}

static void test_create_errors(void **state)
{
	struct fixture *f = *state;
	struct uvf_host *h = f->h;
	const char *t1 = TYPES "/msample-1";
	char buf[64];

	/* Length: 36 or 37 bytes only. */
	assert_errno(create(h, t1, "6a2d7c80-3d3c-4e0e-9c1b-5f0e4d0a1b0"), -EINVAL);
	assert_errno(create(h, t1, UUID1 "\n\n"), -EINVAL);
	/* Format: hex digits and dashes at 8, 13, 18, 23. */
	assert_errno(create(h, t1, "6a2d7c80-3d3c-4e0e-9c1b-5f0e4d0a1b0g"), -EINVAL);
	assert_errno(create(h, t1, "6a2d7c803-d3c-4e0e-9c1b-5f0e4d0a1b01"), -EINVAL);
	assert_errno(create(h, t1, "6a2d7c80-3d3c-4e0e-9c1b+5f0e4d0a1b01"), -EINVAL);
	/* A NUL inside ends the string (kstrndup). */
	memcpy(buf, UUID1, 37);
	buf[20] = '\0';
	assert_errno(sysfs_write(h->sysfs, &root_caller, TYPES "/msample-1/create", buf, 36, 0),
		     -EINVAL);
	assert_int_equal(dir_entries(h, "/bus/mdev/devices"), 0);
	assert_int_equal(available(h, t1), 4);
	/* The 37th byte is not looked at (uuid_is_valid checks 36). */
	assert_int_equal(create(h, t1, UUID1 "x"), 37);
	/* Duplicate, in any case and through any type: -EEXIST. */
	assert_errno(create(h, t1, UUID1), -EEXIST);
	assert_errno(create(h, TYPES "/msample-2", "6A2D7C80-3D3C-4E0E-9C1B-5F0E4D0A1B01"), -EEXIST);
	assert_int_equal(available(h, t1), 3);
	/* The sample's probe refuses beyond its channels: its errno. */
	assert_int_equal(create(h, TYPES "/msample-2", UUID2), 36);
	assert_int_equal(available(h, TYPES "/msample-2"), 0);
	assert_int_equal(available(h, t1), 1);
	assert_errno(create(h, TYPES "/msample-2", UUID3), -ENOSPC);
	assert_false(sysfs_exists(h, PARENT "/" UUID3));
	assert_false(sysfs_exists(h, "/bus/mdev/devices/" UUID3));
	assert_int_equal(create(h, t1, UUID3), 36);
	assert_int_equal(available(h, t1), 0);
}

/* Without get_available: max_instances for the whole parent, -EUSERS
 * beyond it, and back with each release. */
static void test_max_instances(void **state)
{
	struct fixture *f = *state;
	const char *ta = "/devices/tparent0/mdev_supported_types/tbus-a";
	const char *tb = "/devices/tparent0/mdev_supported_types/tbus-b";

	f->tp = tparent_new(f->h, 2);
	assert_int_equal(available(f->h, ta), 2);
	assert_int_equal(create(f->h, ta, UUID1), 36);
	assert_int_equal(available(f->h, tb), 1);
	assert_int_equal(create(f->h, tb, UUID2), 36);
	assert_int_equal(available(f->h, ta), 0);
	assert_errno(create(f->h, ta, UUID3), -EUSERS);
	assert_errno(create(f->h, tb, UUID3), -EUSERS);
	assert_int_equal(remove_dev(f->h, UUID1, "1"), 1);
	assert_int_equal(available(f->h, tb), 1);
	assert_int_equal(create(f->h, tb, UUID3), 36);
	assert_link(f->h, "/devices/tparent0/" UUID3 "/mdev_type", "../mdev_supported_types/tbus-b");
	/* A probe failure: its errno, nothing left, the instance given back. */
	assert_int_equal(remove_dev(f->h, UUID3, "1"), 1);
	f->tp->probe_ret = -EIO;
	assert_errno(create(f->h, ta, UUID1), -EIO);
	assert_false(sysfs_exists(f->h, "/devices/tparent0/" UUID1));
	assert_false(sysfs_exists(f->h, "/bus/mdev/devices/" UUID1));
	assert_false(sysfs_exists(f->h, "/bus/mdev/drivers/tdrv/" UUID1));
	assert_int_equal(dir_entries(f->h, "/devices/tparent0/mdev_supported_types/tbus-a/devices"), 0);
	assert_int_equal(available(f->h, ta), 1);
	f->tp->probe_ret = 0;
	assert_int_equal(create(f->h, ta, UUID1), 36);
}

struct creator {
	struct uvf_host *h;
	const char *type;
	char uuid[40];
	ssize_t ret;
};

static void *creator_thread(void *arg)
{
	struct creator *c = arg;

	c->ret = create(c->h, c->type, c->uuid);
	return NULL;
}

/* Racing creates never exceed max_instances, and the count stays right. */
static void test_concurrent_creates(void **state)
{
	struct fixture *f = *state;
	const char *ta = "/devices/tparent0/mdev_supported_types/tbus-a";
	struct creator c[8];
	pthread_t t[8];
	int ok = 0, users = 0;

	f->tp = tparent_new(f->h, 3);
	for (int i = 0; i < 8; i++) {
		c[i] = (struct creator){ .h = f->h, .type = ta };
		snprintf(c[i].uuid, sizeof(c[i].uuid), "00000000-0000-0000-0000-00000000000%d", i);
		assert_int_equal(pthread_create(&t[i], NULL, creator_thread, &c[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		if (c[i].ret == 36)
			ok++;
		else if (c[i].ret == -EUSERS)
			users++;
	}
	assert_int_equal(ok, 3);
	assert_int_equal(users, 5);
	assert_int_equal(available(f->h, ta), 0);
	assert_int_equal(dir_entries(f->h, "/bus/mdev/devices"), 3);
}

/* ---- remove ----------------------------------------------------------------------------------- */

static void test_remove_values(void **state)
{
	struct fixture *f = *state;
	struct sysfs_node *n;

	assert_int_equal(create(f->h, TYPES "/msample-1", UUID1), 36);
	/* kstrtoul base 0: "0" does nothing, garbage is -EINVAL. */
	assert_int_equal(remove_dev(f->h, UUID1, "0"), 1);
	assert_int_equal(remove_dev(f->h, UUID1, "0x0\n"), 4);
	assert_errno(remove_dev(f->h, UUID1, "yes"), -EINVAL);
	assert_errno(remove_dev(f->h, UUID1, "-1"), -EINVAL);
	assert_true(sysfs_exists(f->h, "/bus/mdev/devices/" UUID1));
	n = sysfs_lookup(f->h->sysfs, "/bus/mdev/devices/" UUID1 "/remove", true);
	assert_non_null(n);
	/* Any non-zero value removes. */
	assert_int_equal(remove_dev(f->h, UUID1, "0x10"), 4);
	assert_false(sysfs_exists(f->h, PARENT "/" UUID1));
	/* The file is gone: a path finds nothing, an open file is dead. */
	assert_errno(remove_dev(f->h, UUID1, "1"), -ENOENT);
	assert_errno(sysfs_write_node(n, "1", 1, 0), -ENODEV);
	sysfs_put(n);
	/* The UUID is free again. */
	assert_int_equal(create(f->h, TYPES "/msample-2", UUID1), 36);
}

/* A 'remove' while the device is still being created: -EAGAIN, and the
 * file is gone (it removed itself first, as the kernel's): only the
 * parent's unregistration removes that device then. */
static void test_remove_during_create(void **state)
{
	struct fixture *f = *state;
	struct creator c;
	pthread_t t;

	f->tp = tparent_new(f->h, 2);
	c = (struct creator){ .h = f->h, .type = "/devices/tparent0/mdev_supported_types/tbus-a" };
	snprintf(c.uuid, sizeof(c.uuid), "%s", UUID1);
	atomic_store(&f->tp->probe_hold, true);
	assert_int_equal(pthread_create(&t, NULL, creator_thread, &c), 0);
	for (int i = 0; i < 2500 && !atomic_load(&f->tp->in_probe); i++)
		usleep(2000);
	assert_true(atomic_load(&f->tp->in_probe));
	assert_errno(sysfs_write_str(f->h, "/devices/tparent0/" UUID1 "/remove", "1"), -EAGAIN);
	atomic_store(&f->tp->probe_hold, false);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(c.ret, 36);
	assert_true(sysfs_exists(f->h, "/bus/mdev/devices/" UUID1));
	assert_false(sysfs_exists(f->h, "/devices/tparent0/" UUID1 "/remove"));
	mdev_unregister_parent(&f->tp->parent);
	f->tp->registered = false;
	assert_false(sysfs_exists(f->h, "/devices/tparent0/" UUID1));
	assert_null(mdev_get_by_uuid(f->h, UUID1));
}

/* While a user holds the device, 'remove' blocks, asking the driver (and
 * through it the user: REQ) to let go; the device is half gone meanwhile. */
static void test_remove_blocks_while_open(void **state)
{
	struct fixture *f = *state;
	struct remover r;
	struct tdev *t;
	int gfd, cfd, dfd;

	f->tp = tparent_new(f->h, 2);
	assert_int_equal(create(f->h, "/devices/tparent0/mdev_supported_types/tbus-a", UUID1), 36);
	t = tdev_of(f->h, UUID1);
	dfd = mdev_open_group_path(f->p, UUID1, &gfd, &cfd);
	assert_int_equal(atomic_load(&t->opens), 1);

	remover_start(&r, f->h, UUID1);
	assert_true(wait_count(&t->requests, 3));
	assert_false(atomic_load(&r.done));
	/* What the kernel's device_del has done before waiting: no remove
	 * file, no bus link, no type links, the driver's links gone; the
	 * directory and the IOMMU group remain; the UUID is still taken and
	 * the instance not yet back. */
	assert_false(sysfs_exists(f->h, "/devices/tparent0/" UUID1 "/remove"));
	assert_false(sysfs_exists(f->h, "/bus/mdev/devices/" UUID1));
	assert_false(sysfs_exists(f->h, "/devices/tparent0/" UUID1 "/mdev_type"));
	assert_false(sysfs_exists(f->h, "/devices/tparent0/" UUID1 "/driver"));
	assert_false(sysfs_exists(f->h, "/bus/mdev/drivers/tdrv/" UUID1));
	assert_true(sysfs_exists(f->h, "/devices/tparent0/" UUID1 "/iommu_group"));
	assert_errno(create(f->h, "/devices/tparent0/mdev_supported_types/tbus-a", UUID1),
		     -EEXIST);
	assert_int_equal(available(f->h, "/devices/tparent0/mdev_supported_types/tbus-a"), 1);
	/* No new opener finds it; the open fd still answers. */
	assert_errno(proc_ioctl(f->p, gfd, VFIO_GROUP_GET_DEVICE_FD, UUID1), -ENODEV);
	assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_RESET, NULL), 42);

	assert_int_equal(proc_close(f->p, dfd), 0);
	assert_int_equal(remover_join(&r), 1);
	assert_int_equal(atomic_load(&f->tp->closes), 1);
	assert_false(sysfs_exists(f->h, "/devices/tparent0/" UUID1));
	assert_int_equal(available(f->h, "/devices/tparent0/mdev_supported_types/tbus-a"), 2);
	assert_int_equal(create(f->h, "/devices/tparent0/mdev_supported_types/tbus-a", UUID1), 36);
}

/* The user reacting to the request is enough: request() is called with a
 * rising count until the user lets go. */
static void test_remove_request_count(void **state)
{
	struct fixture *f = *state;
	struct tdev *t;
	int gfd, cfd, dfd;

	f->tp = tparent_new(f->h, 2);
	assert_int_equal(create(f->h, "/devices/tparent0/mdev_supported_types/tbus-a", UUID1), 36);
	t = tdev_of(f->h, UUID1);
	dfd = mdev_open_group_path(f->p, UUID1, &gfd, &cfd);
	t->closer = f->p;
	t->close_fd = dfd;
	t->close_at = 3;		/* the fourth request */
	assert_int_equal(remove_dev(f->h, UUID1, "1"), 1);
	assert_int_equal(atomic_load(&f->tp->requests), 4);
	assert_false(sysfs_exists(f->h, "/devices/tparent0/" UUID1));
	/* Nothing held: no request at all. */
	assert_int_equal(create(f->h, "/devices/tparent0/mdev_supported_types/tbus-a", UUID2), 36);
	assert_int_equal(remove_dev(f->h, UUID2, "1"), 1);
	assert_int_equal(atomic_load(&f->tp->requests), 4);
}

/*
 * Several writers at once (each with the file open): one removes; one that
 * was inside the store with it waits for it and succeeds; one that writes
 * after the file is gone gets -ENODEV, as from a removed kernfs node.
 * None succeeds before the device is released.
 */
static void test_concurrent_removers(void **state)
{
	struct fixture *f = *state;
	struct remover r[3];
	struct tdev *t;
	int gfd, cfd, dfd, ok = 0;

	f->tp = tparent_new(f->h, 2);
	assert_int_equal(create(f->h, "/devices/tparent0/mdev_supported_types/tbus-a", UUID1), 36);
	t = tdev_of(f->h, UUID1);
	dfd = mdev_open_group_path(f->p, UUID1, &gfd, &cfd);
	for (int i = 0; i < 3; i++)
		remover_open(&r[i], f->h, UUID1);
	for (int i = 0; i < 3; i++)
		remover_run(&r[i]);
	assert_true(wait_count(&t->requests, 2));
	usleep(20000);
	for (int i = 0; i < 3; i++)
		if (atomic_load(&r[i].done))
			assert_errno(r[i].ret, -ENODEV);
	proc_close(f->p, dfd);
	for (int i = 0; i < 3; i++) {
		ssize_t ret = remover_join(&r[i]);

		assert_true(ret == 1 || ret == -ENODEV);
		ok += ret == 1;
	}
	assert_true(ok >= 1);
	assert_false(sysfs_exists(f->h, "/devices/tparent0/" UUID1));
	assert_int_equal(available(f->h, "/devices/tparent0/mdev_supported_types/tbus-a"), 2);
}

/* sysfs_remove_self, the arbitration 'remove' relies on, made
 * deterministic: three stores inside the same node before any removes. */
struct self_race {
	atomic_int inside, winners, losers;
	atomic_bool winner_done;
	atomic_int losers_early;	/* returned before the winner's store ended */
	struct sysfs_node *node;
};

static ssize_t self_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	struct self_race *sr = sysfs_priv(attr);

	atomic_fetch_add(&sr->inside, 1);
	while (atomic_load(&sr->inside) < 3)
		usleep(1000);
	if (sysfs_remove_self(attr)) {
		atomic_fetch_add(&sr->winners, 1);
		usleep(50000);		/* the winner's removal takes a while */
		atomic_store(&sr->winner_done, true);
	} else {
		atomic_fetch_add(&sr->losers, 1);
		if (!atomic_load(&sr->winner_done))
			atomic_fetch_add(&sr->losers_early, 1);
	}
	return (ssize_t)len;
}

static const struct sysfs_attr_ops self_ops = { .store = self_store };

static void *self_writer(void *arg)
{
	struct self_race *sr = arg;

	return (void *)(intptr_t)sysfs_write_node(sr->node, "1", 1, 0);
}

static void test_remove_self_arbitration(void **state)
{
	struct fixture *f = *state;
	struct self_race sr = { 0 };
	pthread_t t[3];

	sr.node = sysfs_add_attr(sysfs_root(f->h->sysfs), "self", 0200, &self_ops, &sr);
	assert_non_null(sr.node);
	sysfs_get(sr.node);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&t[i], NULL, self_writer, &sr), 0);
	for (int i = 0; i < 3; i++) {
		void *ret;

		assert_int_equal(pthread_join(t[i], &ret), 0);
		assert_int_equal((intptr_t)ret, 1);
	}
	assert_int_equal(atomic_load(&sr.winners), 1);
	assert_int_equal(atomic_load(&sr.losers), 2);
	assert_int_equal(atomic_load(&sr.losers_early), 0);
	assert_false(sysfs_exists(f->h, "/self"));
	assert_errno(sysfs_write_node(sr.node, "1", 1, 0), -ENODEV);
	sysfs_put(sr.node);
}

/* A user dying mid-use (its files all closed at once) lets a waiting
 * removal finish, and leaves nothing behind: group, container, pins. */
static void test_user_dies_during_remove(void **state)
{
	struct fixture *f = *state;
	struct uvf_proc *user = proc_new_root(f->h);
	struct remover r;
	char path[64];
	unsigned int g;
	int gfd, cfd;

	assert_int_equal(create(f->h, TYPES "/msample-2", UUID1), 36);
	g = mdev_group(f->h, UUID1);
	mdev_open_group_path(user, UUID1, &gfd, &cfd);
	assert_errno(dma_map(user, cfd, (uintptr_t)f->mem, 0x100000, 4 * PG, DMA_RW), 0);
	remover_start(&r, f->h, UUID1);
	usleep(30000);
	assert_false(atomic_load(&r.done));
	proc_free(user);
	assert_int_equal(remover_join(&r), 1);
	snprintf(path, sizeof(path), "/dev/vfio/%u", g);
	assert_null(devnode_find(f->h, path));
	assert_int_equal(available(f->h, TYPES "/msample-2"), 2);
}

/* The sample relays the request as its REQ eventfd. */
static void test_sample_req_eventfd(void **state)
{
	struct fixture *f = *state;
	struct {
		struct vfio_irq_set hdr;
		int32_t fd;
	} set = { { .argsz = sizeof(set), .index = MSAMPLE_REQ_IRQ_INDEX, .start = 0, .count = 1,
		    .flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER }, -1 };
	struct vfio_irq_info irq = { .argsz = sizeof(irq), .index = 0 };
	struct remover r;
	uint64_t n = 0;
	int gfd, cfd, dfd, pipefd[2], efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	assert_true(efd >= 0);
	assert_int_equal(create(f->h, TYPES "/msample-1", UUID1), 36);
	dfd = mdev_open_group_path(f->p, UUID1, &gfd, &cfd);
	assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_GET_IRQ_INFO, &irq), 0);
	assert_int_equal(irq.flags, VFIO_IRQ_INFO_EVENTFD);
	assert_int_equal(irq.count, 1);
	irq.index = 1;
	assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_GET_IRQ_INFO, &irq), -EINVAL);
	/* Only DATA_EVENTFD|ACTION_TRIGGER; an fd that is no eventfd. */
	set.hdr.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
	assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_SET_IRQS, &set), -EINVAL);
	set.hdr.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set.fd = -2;
	assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_SET_IRQS, &set), -EINVAL);
	assert_int_equal(pipe(pipefd), 0);
	set.fd = pipefd[0];	/* not an eventfd */
	assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_SET_IRQS, &set), -EINVAL);
	close(pipefd[0]);
	close(pipefd[1]);
	set.fd = efd;
	assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_SET_IRQS, &set), 0);

	remover_start(&r, f->h, UUID1);
	for (int i = 0; i < 500 && !n; i++) {
		usleep(2000);
		if (read(efd, &n, sizeof(n)) != sizeof(n))
			n = 0;
	}
	assert_true(n >= 1);
	assert_false(atomic_load(&r.done));
	proc_close(f->p, dfd);
	assert_int_equal(remover_join(&r), 1);
	close(efd);
}

/* ---- the device through both paths ---------------------------------------------------------- */

static void reg_write(struct uvf_proc *p, int dfd, uint64_t reg, uint64_t val, size_t size)
{
	assert_int_equal(proc_pwrite(p, dfd, &val, size, reg), (ssize_t)size);
}

static uint32_t reg_read(struct uvf_proc *p, int dfd, uint64_t reg)
{
	uint32_t v = 0;

	assert_int_equal(proc_pread(p, dfd, &v, 4, reg), 4);
	return v;
}

/* One copy by the sample's engine; its STATUS. */
static uint32_t sample_copy(struct uvf_proc *p, int dfd, uint64_t src, uint64_t dst,
			    uint32_t len)
{
	reg_write(p, dfd, MSAMPLE_REG_SRC, src, 8);
	reg_write(p, dfd, MSAMPLE_REG_DST, dst, 8);
	reg_write(p, dfd, MSAMPLE_REG_LEN, len, 4);
	reg_write(p, dfd, MSAMPLE_REG_DOORBELL, 1, 4);
	return reg_read(p, dfd, MSAMPLE_REG_STATUS);
}

static void test_group_path(void **state)
{
	struct fixture *f = *state;
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_region_info region = { .argsz = sizeof(region) };
	int gfd, cfd, dfd;

	assert_int_equal(create(f->h, TYPES "/msample-2", UUID1), 36);
	dfd = mdev_open_group_path(f->p, UUID1, &gfd, &cfd);
	/* The group is viable and the device name is the lower-case UUID. */
	assert_true(group_status(f->p, gfd) & VFIO_GROUP_FLAGS_VIABLE);
	assert_errno(proc_ioctl(f->p, gfd, VFIO_GROUP_GET_DEVICE_FD,
				"6A2D7C80-3D3C-4E0E-9C1B-5F0E4D0A1B01"), -ENODEV);
	assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_GET_INFO, &info), 0);
	assert_int_equal(info.flags, VFIO_DEVICE_FLAGS_RESET);
	assert_int_equal(info.num_regions, 1);
	assert_int_equal(info.num_irqs, 1);
	assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_GET_REGION_INFO, &region), 0);
	assert_int_equal(region.size, MSAMPLE_REGION_SIZE);
	assert_int_equal(reg_read(f->p, dfd, MSAMPLE_REG_MAGIC), MSAMPLE_MAGIC);
	assert_int_equal(reg_read(f->p, dfd, MSAMPLE_REG_CHANNELS), 2);

	/* Emulated DMA through the container's mappings. */
	assert_errno(dma_map(f->p, cfd, (uintptr_t)f->mem, 0x100000, 4 * PG, DMA_RW), 0);
	memcpy(f->mem, "through type1", 14);
	assert_int_equal(sample_copy(f->p, dfd, 0x100000, 0x102000, 14), MSAMPLE_STATUS_DONE);
	assert_memory_equal(f->mem + 2 * PG, "through type1", 14);
	/* An unmapped IOVA: the copy fails with vfio_dma_rw's errno. */
	assert_int_equal(sample_copy(f->p, dfd, 0x900000, 0x102000, 4), MSAMPLE_STATUS_ERROR);
	assert_int_equal(reg_read(f->p, dfd, MSAMPLE_REG_ERROR), EINVAL);
	/* Misaligned or odd-sized accesses. */
	{
		uint32_t v;

		assert_errno(proc_pread(f->p, dfd, &v, 2, 0), -EINVAL);
		assert_errno(proc_pread(f->p, dfd, &v, 4, 2), -EINVAL);
		assert_errno(proc_pread(f->p, dfd, &v, 4, MSAMPLE_REGION_SIZE), -EINVAL);
	}
	assert_errno(proc_ioctl(f->p, dfd, VFIO_DEVICE_RESET, NULL), 0);
	assert_int_equal(reg_read(f->p, dfd, MSAMPLE_REG_STATUS), 0);
	/* The group cannot let go of its container while the device is open. */
	assert_errno(proc_ioctl(f->p, gfd, VFIO_GROUP_UNSET_CONTAINER, NULL), -EBUSY);
	proc_close(f->p, dfd);
	assert_int_equal(remove_dev(f->h, UUID1, "1"), 1);
}

static void test_cdev_path(void **state)
{
	struct fixture *f = *state;
	char dir[128], name[32] = "", path[96];
	uint8_t *buf = shared_buf(BUF_SIZE);
	struct remover r;
	uint32_t ioas, devid;
	int ifd, dfd;

	assert_int_equal(create(f->h, TYPES "/msample-1", UUID1), 36);
	snprintf(dir, sizeof(dir), "/bus/mdev/devices/%s/vfio-dev", UUID1);
	assert_int_equal(sysfs_readdir(f->h->sysfs, dir, name_fn, name), 1);
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", name);
	dfd = proc_open(f->p, path, O_RDWR);
	assert_true(dfd >= 0);
	ifd = iommufd_open(f->p);
	assert_errno(ioas_alloc(f->p, ifd, &ioas), 0);
	assert_errno(cdev_bind(f->p, dfd, ifd, &devid), 0);
	/* Bound through its cdev, the group cannot be opened. */
	assert_errno(group_open(f->p, mdev_group(f->h, UUID1)), -EBUSY);
	assert_errno(cdev_attach(f->p, dfd, ioas, NULL), 0);
	assert_errno(ioas_map_fixed(f->p, ifd, ioas, buf, 4 * PG, 0x200000), 0);
	memcpy(buf, "through iommufd", 16);
	assert_int_equal(sample_copy(f->p, dfd, 0x200000, 0x203000, 16), MSAMPLE_STATUS_DONE);
	assert_memory_equal(buf + 3 * PG, "through iommufd", 16);
	/* Detached: nothing to copy through. */
	assert_errno(cdev_detach(f->p, dfd), 0);
	assert_int_equal(sample_copy(f->p, dfd, 0x200000, 0x203000, 16), MSAMPLE_STATUS_ERROR);

	/* Removal waits for the cdev user too. */
	remover_start(&r, f->h, UUID1);
	usleep(30000);
	assert_false(atomic_load(&r.done));
	assert_null(devnode_find(f->h, path));
	proc_close(f->p, dfd);
	assert_int_equal(remover_join(&r), 1);
	assert_errno(proc_open(f->p, path, O_RDWR), -ENOENT);
	munmap(buf, BUF_SIZE);
}

/* ---- parents going away --------------------------------------------------------------------- */

struct unregisterer {
	struct tparent *tp;
	pthread_t thread;
	atomic_bool done;
};

static void *unregister_thread(void *arg)
{
	struct unregisterer *u = arg;

	mdev_unregister_parent(&u->tp->parent);
	atomic_store(&u->done, true);
	return NULL;
}

/* Unregistration removes every mdev, waiting for users; creates and
 * removes meanwhile fail with -ENODEV. */
static void test_unregister_parent(void **state)
{
	struct fixture *f = *state;
	struct sysfs_node *create_node, *remove_node;
	struct unregisterer u = { 0 };
	struct tdev *t;
	int gfd, cfd, dfd;

	f->tp = tparent_new(f->h, 4);
	u.tp = f->tp;
	assert_int_equal(create(f->h, "/devices/tparent0/mdev_supported_types/tbus-a", UUID1), 36);
	assert_int_equal(create(f->h, "/devices/tparent0/mdev_supported_types/tbus-b", UUID2), 36);
	t = tdev_of(f->h, UUID1);
	dfd = mdev_open_group_path(f->p, UUID1, &gfd, &cfd);
	create_node = sysfs_lookup(f->h->sysfs,
				   "/devices/tparent0/mdev_supported_types/tbus-a/create", true);
	remove_node = sysfs_lookup(f->h->sysfs, "/bus/mdev/devices/" UUID2 "/remove", true);
	assert_non_null(create_node);
	assert_non_null(remove_node);

	assert_int_equal(pthread_create(&u.thread, NULL, unregister_thread, &u), 0);
	assert_true(wait_count(&t->requests, 2));
	assert_false(atomic_load(&u.done));
	assert_false(sysfs_exists(f->h, "/class/mdev_bus/tparent0"));
	assert_errno(sysfs_write_node(create_node, UUID3, 36, 0), -ENODEV);
	/* UUID2's 'remove' is either already gone with its device, or its
	 * removal finds the parent going. */
	{
		ssize_t ret = sysfs_write_node(remove_node, "1", 1, 0);

		assert_true(ret == -ENODEV);
	}
	proc_close(f->p, dfd);
	assert_int_equal(pthread_join(u.thread, NULL), 0);
	f->tp->registered = false;
	assert_false(sysfs_exists(f->h, "/devices/tparent0/mdev_supported_types"));
	assert_false(sysfs_exists(f->h, "/devices/tparent0/" UUID1));
	assert_false(sysfs_exists(f->h, "/devices/tparent0/" UUID2));
	assert_int_equal(dir_entries(f->h, "/bus/mdev/devices"), 0);
	assert_null(mdev_get_by_uuid(f->h, UUID1));
	assert_null(mdev_get_by_uuid(f->h, UUID2));
	sysfs_put(create_node);
	sysfs_put(remove_node);
}

/* A removed mdev someone still references outlives its parent: its UUID
 * stays taken until the last put, which must not touch the parent. */
static void test_reference_outlives_parent(void **state)
{
	struct fixture *f = *state;
	struct mdev_device *held;

	f->tp = tparent_new(f->h, 1);
	assert_int_equal(create(f->h, "/devices/tparent0/mdev_supported_types/tbus-a", UUID1), 36);
	held = mdev_get_by_uuid(f->h, "6A2D7C80-3D3C-4E0E-9C1B-5F0E4D0A1B01");
	assert_non_null(held);
	assert_string_equal(held->dev.name, UUID1);
	tparent_free(f->tp);		/* unregisters, then frees parent and types */
	f->tp = NULL;
	assert_false(sysfs_exists(f->h, "/bus/mdev/devices/" UUID1));
	assert_null(held->type);
	assert_errno(create(f->h, TYPES "/msample-1", UUID1), -EEXIST);
	mdev_put(held);
	assert_null(mdev_get_by_uuid(f->h, UUID1));
	assert_int_equal(create(f->h, TYPES "/msample-1", UUID1), 36);
}

/* A host going away with mdevs (even open ones, once their users are
 * gone) tears them down with the sample parent. */
static void test_host_free_with_mdevs(void **state)
{
	struct fixture *f = *state;
	int gfd, cfd;

	assert_int_equal(create(f->h, TYPES "/msample-1", UUID1), 36);
	assert_int_equal(create(f->h, TYPES "/msample-2", UUID2), 36);
	mdev_open_group_path(f->p, UUID1, &gfd, &cfd);
	proc_free(f->p);
	f->p = NULL;
	/* teardown frees the host: ASan checks nothing leaks */
}

/* The topology key that loads the sample: strict, as every key. */
static void test_topology_key(void **state)
{
	static const char *const bad[] = {
		"{\"mdev_sample\": {\"channels\": 0}}",
		"{\"mdev_sample\": {\"channels\": 65}}",
		"{\"mdev_sample\": {\"channel\": 2}}",
		"{\"mdev_sample\": 8}",
	};
	struct uvf_topology *t = NULL;
	struct uvf_host *h;
	char err[256];

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		assert_errno(topology_load_string(bad[i], "<t>", &t, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "<t>: mdev_sample"));
	}
	/* Absent: no sample; "{}": the default 8 channels. */
	h = test_host_from_json("{}");
	assert_false(sysfs_exists(h, "/class/mdev_bus/msample"));
	host_free(h);
	h = test_host_from_json("{\"mdev_sample\": {}}");
	assert_attr(h, TYPES "/msample-1/available_instances", "8\n");
	host_free(h);
	(void)state;
}

/* ---- the sample's attribute ------------------------------------------------------------------ */

static void test_sample_label(void **state)
{
	struct fixture *f = *state;
	char lng[40];

	assert_int_equal(create(f->h, TYPES "/msample-1", UUID1), 36);
	assert_attr(f->h, PARENT "/" UUID1 "/label", "\n");
	assert_int_equal(sysfs_write_str(f->h, PARENT "/" UUID1 "/label", "blue\n"), 5);
	assert_attr(f->h, "/bus/mdev/devices/" UUID1 "/label", "blue\n");
	assert_errno(sysfs_write_str(f->h, PARENT "/" UUID1 "/label", "\n"), -EINVAL);
	memset(lng, 'x', 32);
	lng[32] = '\0';
	assert_errno(sysfs_write_str(f->h, PARENT "/" UUID1 "/label", lng), -EINVAL);
	assert_errno(sysfs_write_str(f->h, PARENT "/" UUID1 "/label", "a\tb"), -EINVAL);
	assert_attr(f->h, PARENT "/" UUID1 "/label", "blue\n");
	/* Not writable by others (0644). */
	{
		struct uvf_caller user = { .uid = 1000, .gid = 1000 };

		assert_errno(sysfs_write(f->h->sysfs, &user, PARENT "/" UUID1 "/label", "x", 1, 0),
			     -EACCES);
		assert_errno(sysfs_write(f->h->sysfs, &user, TYPES "/msample-1/create", UUID2, 36,
					 0), -EACCES);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bus_and_class_without_parents),
		cmocka_unit_test_setup_teardown(test_types_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_type_optional_attrs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_instances, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_creates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_during_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_blocks_while_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_request_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_removers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_self_arbitration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_dies_during_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sample_req_eventfd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cdev_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unregister_parent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reference_outlives_parent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_free_with_mdevs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sample_label, setup, teardown),
		cmocka_unit_test(test_topology_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
