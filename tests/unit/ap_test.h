/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the AP bus tests: sysfs reads and writes as the kernel's
 * own caller, waiting for asynchronous state, a small AP machine as
 * topology JSON, and a recording non-default queue driver (what vfio_ap
 * registers).  Include after harness.h.
 */
#ifndef UVF_TEST_AP_H
#define UVF_TEST_AP_H

#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include "core/ap/ap.h"
#include "core/ap/ap_bus.h"
#include "core/sysfs/sysfs.h"
#include "core/vfio_ap/vfio_ap.h"

/* The built-in host without the vfio_ap module, as a kernel that has not
 * loaded it: the bus tests' stand-in driver plays vfio_ap. */
static inline struct uvf_host *ap_test_host_default(void)
{
	struct uvf_host *h = test_host_default();

	vfio_ap_exit(h);
	return h;
}

/* The attribute's text without its trailing newline ("" if unreadable). */
static inline const char *ap_read(struct uvf_host *h, const char *path)
{
	static char buf[SYSFS_PAGE_SIZE + 1];
	ssize_t n = sysfs_read(h->sysfs, NULL, path, buf, SYSFS_PAGE_SIZE, 0);

	if (n < 0)
		n = 0;
	buf[n] = '\0';
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return buf;
}

/* ap_read into the caller's buffer (cut to size - 1 bytes). */
static inline void ap_read_into(struct uvf_host *h, const char *path, char *buf, size_t size)
{
	const char *s = ap_read(h, path);
	size_t n = strnlen(s, size - 1);

	memcpy(buf, s, n);
	buf[n] = '\0';
}

static inline ssize_t ap_write(struct uvf_host *h, const char *path, const char *s)
{
	return sysfs_write(h->sysfs, NULL, path, s, strlen(s), 0);
}

static inline bool ap_exists(struct uvf_host *h, const char *path)
{
	struct sysfs_stat st;

	return sysfs_stat_path(h->sysfs, path, false, &st) == 0;
}

/* The driver a device's 'driver' link names, or "" if unbound. */
static inline const char *ap_driver_of(struct uvf_host *h, const char *devpath)
{
	static char link[256];
	char path[256];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/driver", devpath);
	n = sysfs_readlink(h->sysfs, path, link, sizeof(link) - 1);
	if (n < 0)
		return "";
	link[n] = '\0';
	return strrchr(link, '/') ? strrchr(link, '/') + 1 : link;
}

static inline void ap_sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Poll cond every millisecond for up to 5 s; whether it became true. */
#define AP_WAIT_FOR(cond) ({						\
		bool __ok = false;					\
		for (int __i = 0; __i < 5000 && !(__ok = (cond)); __i++) \
			ap_sleep_ms(1);					\
		__ok;							\
	})

static inline int ap_count_one(const char *name, const struct sysfs_stat *st, void *arg)
{
	(*(unsigned int *)arg)++;
	return 0;
}

/* Entries of a sysfs directory. */
static inline unsigned int ap_count_entries(struct uvf_host *h, const char *dir)
{
	unsigned int n = 0;

	sysfs_readdir(h->sysfs, dir, ap_count_one, &n);
	return n;
}

/*
 * A recording non-default queue driver for CEX4..CEX8 queues, with an
 * "assigned" matrix its in_use() checks, as vfio_ap's does.
 */
struct test_ap_drv {
	struct ap_driver drv;
	pthread_mutex_t lock;		/* the driver's own lock (vfio_ap's mdevs_lock) */
	unsigned long assigned_apm[AP_MASK_LONGS], assigned_aqm[AP_MASK_LONGS];
	unsigned int probes, removes, in_use_calls, cfg_changed, scan_complete;
	unsigned long last_apm[AP_MASK_LONGS], last_aqm[AP_MASK_LONGS];
	struct ap_config_info cfg_new, cfg_old;
	bool perms_held_ok;		/* in_use could use the perms-held helpers */
	int fail_probe;			/* probe's result */
};

static inline struct test_ap_drv *test_drv_of(struct ap_device *ap_dev)
{
	return ap_dev_driver(ap_dev)->priv;
}

static inline int test_drv_probe(struct ap_device *ap_dev)
{
	struct test_ap_drv *t = test_drv_of(ap_dev);

	pthread_mutex_lock(&t->lock);
	t->probes++;
	pthread_mutex_unlock(&t->lock);
	return t->fail_probe;
}

static inline void test_drv_remove(struct ap_device *ap_dev)
{
	struct test_ap_drv *t = test_drv_of(ap_dev);

	pthread_mutex_lock(&t->lock);
	t->removes++;
	pthread_mutex_unlock(&t->lock);
}

/* Busy (-EADDRINUSE, as vfio_ap) if an APQN of apm x aqm is "assigned".
 * Runs with perms_mutex held and takes the driver's lock after it. */
static inline int test_drv_in_use(struct ap_driver *drv, unsigned long *apm, unsigned long *aqm)
{
	struct test_ap_drv *t = drv->priv;
	int busy = 0;

	pthread_mutex_lock(&t->lock);
	t->in_use_calls++;
	memcpy(t->last_apm, apm, sizeof(t->last_apm));
	memcpy(t->last_aqm, aqm, sizeof(t->last_aqm));
	for (unsigned int a = 0; a < AP_DEVICES && !busy; a++) {
		if (!test_bit_inv(a, apm) || !test_bit_inv(a, t->assigned_apm))
			continue;
		for (unsigned int q = 0; q < AP_DOMAINS && !busy; q++)
			busy = test_bit_inv(q, aqm) && test_bit_inv(q, t->assigned_aqm);
	}
	t->perms_held_ok = ap_apqn_in_matrix_owned_by_def_drv(ap_drv_bus(drv), apm, aqm) >= 0;
	pthread_mutex_unlock(&t->lock);
	return busy ? -EADDRINUSE : 0;
}

static inline void test_drv_cfg_changed(struct ap_driver *drv, struct ap_config_info *new_info,
					struct ap_config_info *old_info)
{
	struct test_ap_drv *t = drv->priv;

	pthread_mutex_lock(&t->lock);
	t->cfg_changed++;
	t->cfg_new = *new_info;
	t->cfg_old = *old_info;
	pthread_mutex_unlock(&t->lock);
}

static inline void test_drv_scan_complete(struct ap_driver *drv,
					  struct ap_config_info *new_info,
					  struct ap_config_info *old_info)
{
	struct test_ap_drv *t = drv->priv;

	pthread_mutex_lock(&t->lock);
	t->scan_complete++;
	pthread_mutex_unlock(&t->lock);
}

static inline int test_ap_drv_register(struct ap_bus *bus, struct test_ap_drv *t,
				       const char *name)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	t->drv.types = AP_TYPES_CEX4_CEX8;
	t->drv.probe = test_drv_probe;
	t->drv.remove = test_drv_remove;
	t->drv.in_use = test_drv_in_use;
	t->drv.on_config_changed = test_drv_cfg_changed;
	t->drv.on_scan_complete = test_drv_scan_complete;
	t->drv.priv = t;
	return ap_driver_register(bus, &t->drv, name);
}

static inline unsigned int test_drv_count(struct test_ap_drv *t, unsigned int *field)
{
	unsigned int v;

	pthread_mutex_lock(&t->lock);
	v = *field;
	pthread_mutex_unlock(&t->lock);
	return v;
}

#endif
