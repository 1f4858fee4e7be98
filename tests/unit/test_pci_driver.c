// SPDX-License-Identifier: MIT
/*
 * The PCI drivers' sysfs files as driverctl and dpdk-devbind use them:
 * unbind, driver_override + bind or drivers_probe, new_id / remove_id, a
 * kernel driver's own ids, and an unbind of vfio-pci waiting for the user.
 */
#include <pthread.h>
#include <time.h>
#include "harness.h"
#include "vfio_mock.h"
#include "pci_test.h"
#include "core/host/devnode.h"

#define BDF	"0000:00:03.0"
#define BDF2	"0000:00:04.0"
#define SND	"0000:00:06.1"
#define VFIO	"/bus/pci/drivers/vfio-pci"

static ssize_t store(struct uvf_host *h, const char *path, const char *val)
{
	return sysfs_write(h->sysfs, NULL, path, val, strlen(val), 0);
}

static bool has_node(struct uvf_host *h, const char *path)
{
	struct sysfs_node *n = sysfs_lookup(h->sysfs, path, false);

	sysfs_put(n);
	return n != NULL;
}

static const char *driver_of(struct uvf_host *h, const char *bdf)
{
	const struct uvf_driver *drv = device_find(h, "pci", bdf)->driver;

	return drv ? drv->name : "";
}

static void test_files_exist(void **state)
{
	struct uvf_host *h = test_host_default();
	static const char *const files[] = { "bind", "unbind", "new_id", "remove_id" };

	for (size_t i = 0; i < 4; i++) {
		char path[96];

		snprintf(path, sizeof(path), VFIO "/%s", files[i]);
		assert_true(has_node(h, path));
		snprintf(path, sizeof(path), "/bus/pci/drivers/snd_hda_intel/%s", files[i]);
		assert_true(has_node(h, path));
	}
	assert_true(has_node(h, "/bus/pci/drivers_probe"));
	host_free(h);
}

static void test_unbind_override_bind(void **state)
{
	struct uvf_host *h = test_host_default();

	/* unbind from a driver the device is not bound to */
	assert_int_equal(store(h, "/bus/pci/drivers/snd_hda_intel/unbind", BDF), -ENODEV);
	assert_string_equal(driver_of(h, BDF), "vfio-pci");
	assert_int_equal(store(h, VFIO "/unbind", BDF "\n"), strlen(BDF) + 1);
	assert_string_equal(driver_of(h, BDF), "");
	assert_false(has_node(h, VFIO "/" BDF));
	assert_false(has_node(h, "/bus/pci/devices/" BDF "/driver"));
	assert_int_equal(store(h, VFIO "/unbind", BDF), -ENODEV);	/* bound to nothing */
	/* vfio-pci matches nothing by itself */
	assert_int_equal(store(h, VFIO "/bind", BDF), -ENODEV);
	assert_int_equal(store(h, VFIO "/bind", "0000:00:1f.0"), -ENODEV);
	/* an override naming another driver matches nothing here */
	assert_int_equal(store(h, "/bus/pci/devices/" BDF "/driver_override", "pci-stub"), 8);
	assert_int_equal(store(h, VFIO "/bind", BDF), -ENODEV);
	assert_int_equal(store(h, "/bus/pci/devices/" BDF "/driver_override", "vfio-pci\n"), 9);
	assert_int_equal(store(h, VFIO "/bind", BDF), strlen(BDF));
	assert_string_equal(driver_of(h, BDF), "vfio-pci");
	assert_true(has_node(h, VFIO "/" BDF));
	assert_non_null(devnode_find(h, "/dev/vfio/3"));
	assert_int_equal(store(h, VFIO "/bind", BDF), -EBUSY);		/* bound already */
	host_free(h);
}

static void test_drivers_probe(void **state)
{
	struct uvf_host *h = test_host_default();

	assert_int_equal(store(h, VFIO "/unbind", BDF), strlen(BDF));
	/* nothing matches: probed, still unbound */
	assert_int_equal(store(h, "/bus/pci/drivers_probe", BDF), strlen(BDF));
	assert_string_equal(driver_of(h, BDF), "");
	assert_int_equal(store(h, "/bus/pci/devices/" BDF "/driver_override", "vfio-pci"), 8);
	assert_int_equal(store(h, "/bus/pci/drivers_probe", BDF), strlen(BDF));
	assert_string_equal(driver_of(h, BDF), "vfio-pci");
	assert_int_equal(store(h, "/bus/pci/drivers_probe", "nope"), -ENODEV);
	host_free(h);
}

static void test_new_id_remove_id(void **state)
{
	struct uvf_host *h = test_host_default();

	assert_int_equal(store(h, VFIO "/unbind", BDF), strlen(BDF));
	assert_int_equal(store(h, VFIO "/unbind", BDF2), strlen(BDF2));
	assert_int_equal(store(h, VFIO "/new_id", "zz"), -EINVAL);
	assert_int_equal(store(h, VFIO "/new_id", "7576"), -EINVAL);
	assert_int_equal(store(h, VFIO "/new_id", "7576 0001 ffffffff ffffffff 0 0 1"), -EINVAL);
	/* new_id binds every unbound function it now matches */
	assert_int_equal(store(h, VFIO "/new_id", "7576 0001"), 9);
	assert_string_equal(driver_of(h, BDF), "vfio-pci");
	assert_string_equal(driver_of(h, BDF2), "vfio-pci");
	assert_int_equal(store(h, VFIO "/new_id", "7576 0001"), -EEXIST);
	assert_int_equal(store(h, VFIO "/remove_id", "7576 0002"), -ENODEV);
	assert_int_equal(store(h, VFIO "/remove_id", "7576 0001"), 9);
	assert_int_equal(store(h, VFIO "/remove_id", "7576 0001"), -ENODEV);
	/* what remove_id leaves out matches anything */
	assert_int_equal(store(h, VFIO "/new_id", "7576 0001 7576 0001"), 19);
	assert_int_equal(store(h, VFIO "/remove_id", "7576 0001 7576 0002"), -ENODEV);
	assert_int_equal(store(h, VFIO "/remove_id", "7576 0001"), 9);
	/* without the id, bind matches nothing again */
	assert_int_equal(store(h, VFIO "/unbind", BDF), strlen(BDF));
	assert_int_equal(store(h, VFIO "/bind", BDF), -ENODEV);
	host_free(h);
}

static void test_kernel_driver_ids(void **state)
{
	struct uvf_host *h = test_host_default();
	const char *snd = "/bus/pci/drivers/snd_hda_intel";
	struct uvf_proc *p = proc_new_root(h);
	char path[64];

	assert_string_equal(driver_of(h, SND), "snd_hda_intel");
	assert_int_equal(store(h, "/bus/pci/drivers/snd_hda_intel/unbind", SND), strlen(SND));
	assert_string_equal(driver_of(h, SND), "");
	/* group 6 is viable once its kernel driver is gone */
	int gfd = group_open(p, 6);

	assert_int_equal(group_status(p, gfd) & VFIO_GROUP_FLAGS_VIABLE, VFIO_GROUP_FLAGS_VIABLE);
	/* ... and a kernel driver cannot bind while user space owns the group */
	int cfd = container_with_group(p, gfd, VFIO_TYPE1v2_IOMMU);

	snprintf(path, sizeof(path), "%s/bind", snd);
	assert_int_equal(store(h, path, SND), -EBUSY);
	proc_close(p, cfd);
	proc_close(p, gfd);
	/* its own id table matches its device */
	assert_int_equal(store(h, path, SND), strlen(SND));
	assert_string_equal(driver_of(h, SND), "snd_hda_intel");
	/* not another vendor's */
	assert_int_equal(store(h, VFIO "/unbind", BDF), strlen(BDF));
	assert_int_equal(store(h, path, BDF), -ENODEV);
	proc_free(p);
	host_free(h);
}

struct unbind_job {
	struct uvf_host *h;
	const char *file;		/* VFIO "/unbind" or "/bind" */
	ssize_t ret;
	bool done;
	pthread_mutex_t lock;
};

static void *unbind_thread(void *arg)
{
	struct unbind_job *j = arg;
	ssize_t r = store(j->h, j->file, BDF);

	pthread_mutex_lock(&j->lock);
	j->ret = r;
	j->done = true;
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

static bool job_done(struct unbind_job *j)
{
	bool d;

	pthread_mutex_lock(&j->lock);
	d = j->done;
	pthread_mutex_unlock(&j->lock);
	return d;
}

static void test_unbind_waits_for_user(void **state)
{
	struct uvf_host *h = test_host_default();
	struct uvf_proc *p = proc_new_root(h);
	struct pci_open o = pci_open_device(p, 3, BDF);
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct unbind_job j = { .h = h, .file = VFIO "/unbind", .lock = PTHREAD_MUTEX_INITIALIZER };
	struct unbind_job k = { .h = h, .file = VFIO "/bind", .lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_t t2;
	uint8_t buf[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)buf;
	pthread_t t;
	uint64_t n = 0;

	*set = (struct vfio_irq_set){ .argsz = sizeof(buf), .index = VFIO_PCI_REQ_IRQ_INDEX,
				      .flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
				      .count = 1 };
	memcpy(set->data, &efd, sizeof(efd));
	assert_errno(proc_ioctl(p, o.dfd, VFIO_DEVICE_SET_IRQS, set), 0);
	assert_int_equal(pthread_create(&t, NULL, unbind_thread, &j), 0);
	/* the user is asked to let go (REQ), and the store waits for it */
	for (int i = 0; i < 200 && read(efd, &n, sizeof(n)) != sizeof(n); i++)
		nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
	assert_true(n >= 1);
	assert_false(job_done(&j));
	assert_string_equal(driver_of(h, BDF), "vfio-pci");
	/* a bind meanwhile takes its turn after the unbind (device_lock) */
	assert_int_equal(store(h, "/bus/pci/devices/" BDF "/driver_override", "vfio-pci"), 8);
	assert_int_equal(pthread_create(&t2, NULL, unbind_thread, &k), 0);
	nanosleep(&(struct timespec){ .tv_nsec = 50000000 }, NULL);
	assert_false(job_done(&k));
	proc_close(p, o.dfd);
	pthread_join(t, NULL);
	pthread_join(t2, NULL);
	assert_int_equal(j.ret, strlen(BDF));
	assert_int_equal(k.ret, strlen(BDF));
	assert_string_equal(driver_of(h, BDF), "vfio-pci");
	assert_int_equal(store(h, VFIO "/unbind", BDF), strlen(BDF));
	assert_string_equal(driver_of(h, BDF), "");
	close(efd);
	proc_free(p);
	host_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files_exist),
		cmocka_unit_test(test_unbind_override_bind),
		cmocka_unit_test(test_drivers_probe),
		cmocka_unit_test(test_new_id_remove_id),
		cmocka_unit_test(test_kernel_driver_ids),
		cmocka_unit_test(test_unbind_waits_for_user),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
