/* SPDX-License-Identifier: MIT */
/*
 * The randomized concurrency engine of vfio_ap, shared by the CI test
 * (tests/unit/test_vfio_ap_stress.c) and the soak (bench/
 * bench_vfio_ap_soak.c).  No cmocka here: the caller judges the result.
 *
 * Several threads, each a process of its own (struct uvf_proc, root),
 * pick random operations on one host:
 *  - an mdev's assign/unassign_{adapter,domain,control_domain} and
 *    ap_config stores, and reads of its matrix attributes;
 *  - /sys/bus/ap/apmask and aqmask stores (relative and absolute);
 *  - host configuration changes (ap_host_config_change: adapters, usage
 *    and control domains in and out, adapters online and standby);
 *  - queue binds and unbinds through the drivers' bind/unbind;
 *  - attaching a VM (KVM_CREATE_VM, the KVM-VFIO device, the mdev's group
 *    in a container, KVM_DEV_VFIO_FILE_ADD - sometimes left out on
 *    purpose: open must fail EINVAL - and GET_DEVICE_FD) and detaching it
 *    (its files closed in a random order);
 *  - the guest's TAPQ, NQAP and DQAP through KVM_S390_UVFIO_AP.
 * Every result is checked against the errnos the kernel allows for it.
 *
 * Invariants, at consistent instants:
 *  - after every step, vfio_ap's own checker, which takes ap_perms_mutex,
 *    guests_lock and mdevs_lock (vfio_ap_check_invariants);
 *  - every check_every operations the world pauses (every worker parked
 *    between operations, so no operation is in flight; the adapters'
 *    threads only answer requests, and the AP bus's periodic rescan finds
 *    the configuration unchanged, every change having scanned) and the
 *    checks are
 *    recomputed independently from public state: the VMs' own APCBs
 *    (kvm_s390_crypto_get_masks), the bus's masks and QCI, the queues'
 *    drivers from sysfs, the mdevs' matrices: no APQN in two guests, no
 *    APQN of a guest's APCB reserved for or bound to the host's default
 *    drivers, no APQN assigned to two mdevs or assigned while reserved,
 *    and every attached guest's APCB equal to the filter of its mdev's
 *    matrix (kernel-uapi.md 5.5: matrix AND QCI, minus each adapter with a
 *    queue not bound to vfio_ap; the domains exactly, the adapters a subset,
 *    see stress_check_world) and to vfio_ap's shadow;
 *  - on every guest instruction: an APQN outside the APCB (unchanged
 *    across the instruction) answers 0x01, and a reply a guest dequeues
 *    carries one of its own message ids - a request left on a queue that
 *    changed hands was zeroized, never handed to the next guest.
 * A watchdog thread fails the run with a dump of what each worker is
 * doing when no operation completes for watchdog_s seconds.
 *
 * Locks (the engine's own): world_lock (pausing) is never held across a
 * core call; vlock (the violation record) is a leaf.  The checks of a
 * paused world read other workers' VMs: they parked under world_lock
 * after their last change, so nothing else touches them.
 */
#ifndef UVF_TEST_VFIO_AP_STRESS_H
#define UVF_TEST_VFIO_AP_STRESS_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>
#include <linux/vfio.h>
#include "uapi/linux/kvm_6_12.h"
#include "uapi/linux/uvfio_s390_ap.h"
#include "core/ap/ap.h"
#include "core/ap/ap_bus.h"
#include "core/base/log.h"
#include "core/host/file.h"
#include "core/host/host.h"
#include "core/host/proc.h"
#include "core/host/topology.h"
#include "core/kvm/kvm.h"
#include "core/sysfs/sysfs.h"
#include "core/vfio_ap/vfio_ap.h"

/* The machine: adapters 0-7 (6 and 7 installed but outside the
 * configuration), usage and control domains 0-5; the host's zcrypt has
 * adapters 0-1 x domains 0-3. */
#define STRESS_IDS	8	/* adapter and domain ids the operations pick */
#define STRESS_MDEVS	4
#define STRESS_MAX_WORKERS 16
#define STRESS_MATRIX	"/devices/vfio_ap/matrix"
#define STRESS_CREATE	STRESS_MATRIX "/mdev_supported_types/vfio_ap-passthrough/create"

static const char stress_host_json[] =
	"{ \"name\": \"vfio-ap-stress\",\n"
	"  \"ap\": { \"apxa\": true,\n"
	"    \"usage_domains\": [0, 1, 2, 3, 4, 5], \"control_domains\": [0, 1, 2, 3, 4, 5],\n"
	"    \"apmask\": \"0xc0\", \"aqmask\": \"0xf0\",\n"
	"    \"adapters\": [\n"
	"      { \"id\": 0, \"type\": \"CEX8\", \"mode\": \"accel\" },\n"
	"      { \"id\": 1, \"type\": \"CEX7\", \"mode\": \"cca\" },\n"
	"      { \"id\": 2, \"type\": \"CEX6\", \"mode\": \"ep11\" },\n"
	"      { \"id\": 3, \"type\": \"CEX5\", \"mode\": \"accel\" },\n"
	"      { \"id\": 4, \"type\": \"CEX4\", \"mode\": \"accel\" },\n"
	"      { \"id\": 5, \"type\": \"CEX8\", \"mode\": \"accel\" },\n"
	"      { \"id\": 6, \"type\": \"CEX8\", \"mode\": \"accel\", \"in_config\": false },\n"
	"      { \"id\": 7, \"type\": \"CEX7\", \"mode\": \"accel\", \"in_config\": false }\n"
	"    ] } }\n";

static const char *const stress_uuids[STRESS_MDEVS] = {
	"7c1b4f0e-2a3d-4e5f-8a9b-0c1d2e3f4a51", "7c1b4f0e-2a3d-4e5f-8a9b-0c1d2e3f4a52",
	"7c1b4f0e-2a3d-4e5f-8a9b-0c1d2e3f4a53", "7c1b4f0e-2a3d-4e5f-8a9b-0c1d2e3f4a54",
};

enum stress_op {
	SOP_ASSIGN_ADAPTER, SOP_UNASSIGN_ADAPTER, SOP_ASSIGN_DOMAIN, SOP_UNASSIGN_DOMAIN,
	SOP_ASSIGN_CDOM, SOP_UNASSIGN_CDOM, SOP_AP_CONFIG, SOP_APMASK, SOP_AQMASK,
	SOP_HOST_CONFIG, SOP_BIND, SOP_UNBIND, SOP_VM, SOP_TAPQ, SOP_NQAP, SOP_DQAP, SOP_READ,
	SOP_NR
};

static const struct {
	const char *name;
	unsigned int weight;
} stress_ops[SOP_NR] = {
	[SOP_ASSIGN_ADAPTER] = { "assign_adapter", 8 },
	[SOP_UNASSIGN_ADAPTER] = { "unassign_adapter", 6 },
	[SOP_ASSIGN_DOMAIN] = { "assign_domain", 8 },
	[SOP_UNASSIGN_DOMAIN] = { "unassign_domain", 6 },
	[SOP_ASSIGN_CDOM] = { "assign_control_domain", 3 },
	[SOP_UNASSIGN_CDOM] = { "unassign_control_domain", 3 },
	[SOP_AP_CONFIG] = { "ap_config", 3 },
	[SOP_APMASK] = { "apmask", 4 },
	[SOP_AQMASK] = { "aqmask", 4 },
	[SOP_HOST_CONFIG] = { "host_config", 2 },
	[SOP_BIND] = { "bind", 4 },
	[SOP_UNBIND] = { "unbind", 4 },
	[SOP_VM] = { "vm_attach_detach", 8 },
	[SOP_TAPQ] = { "guest_tapq", 12 },
	[SOP_NQAP] = { "guest_nqap", 10 },
	[SOP_DQAP] = { "guest_dqap", 10 },
	[SOP_READ] = { "read_attrs", 5 },
};

struct stress_cfg {
	unsigned int workers;
	unsigned long ops;		/* operations in all */
	unsigned int check_every;	/* pause the world every so many */
	unsigned int watchdog_s;
	uint64_t seed;
	bool step_checks;		/* vfio_ap's checker after every step */
	unsigned int reset_delay_us;	/* how long a queue reset stays in progress */
};

struct stress_result {
	unsigned long ops, pauses, step_checks, violations, narrower;
	unsigned long op_count[SOP_NR];
	double op_seconds[SOP_NR];	/* time spent in each kind, all workers */
	unsigned long attaches, guest_insns, inside_apcb, enqueued, zeroized_checks;
	double seconds;
	char first_violation[512];
};

/* A worker's VM with the mdev opened on it (all -1 / NULL when none). */
struct stress_vm {
	int vm, kvm_dev, container, group, device;
	struct kvm *kvm;
	int mdev;
	uint32_t session;
	uint64_t seq;
	int last_nqap;			/* the queue of the last request enqueued, -1 */
};

struct stress;

struct stress_worker {
	struct stress *s;
	unsigned int id;
	pthread_t thread;
	struct uvf_proc *p;
	uint64_t rng;
	struct stress_vm vm;
	_Atomic int cur_op;		/* for the watchdog's dump, -1 idle */
	char detail[256];		/* the current operation (watchdog reads it racily) */
};

struct stress {
	struct stress_cfg cfg;
	struct uvf_host *h;
	struct ap_bus *bus;
	unsigned int groups[STRESS_MDEVS];
	struct stress_worker w[STRESS_MAX_WORKERS];
	atomic_ulong ops;
	atomic_ulong step_checks, attaches, guest_insns, inside_apcb, enqueued, zeroized_checks;
	atomic_ulong op_count[SOP_NR];
	atomic_ulong op_ns[SOP_NR];
	atomic_uint sessions;
	atomic_bool stop;
	/* pausing the world */
	pthread_mutex_t world_lock;
	pthread_cond_t world_cond;
	bool paused;
	unsigned int parked, exited;
	unsigned long pauses;
	unsigned long narrower;		/* shadows with fewer adapters than the filter */
	/* violations */
	pthread_mutex_t vlock;
	unsigned long violations;
	char first_violation[512];
	pthread_t watchdog;
	atomic_bool done;
};

/* ---- small helpers ------------------------------------------------------------------ */

static inline uint64_t stress_rand(struct stress_worker *w)
{
	uint64_t x = w->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	w->rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static inline unsigned int stress_below(struct stress_worker *w, unsigned int n)
{
	return (unsigned int)(stress_rand(w) % n);
}

static inline double stress_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void __attribute__((format(printf, 2, 3)))
stress_violation(struct stress *s, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&s->vlock);
	if (!s->violations++) {
		va_start(ap, fmt);
		vsnprintf(s->first_violation, sizeof(s->first_violation), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&s->vlock);
}

static ssize_t stress_write(struct stress_worker *w, const char *path, const char *val)
{
	return sysfs_write(w->s->h->sysfs, &w->p->caller, path, val, strlen(val), 0);
}

/* An operation's result must be one the kernel allows for it. */
static void stress_expect(struct stress_worker *w, long ret, long ok, const int *errs,
			  unsigned int nerrs)
{
	if (ret == ok)
		return;
	for (unsigned int i = 0; i < nerrs; i++)
		if (ret == -errs[i])
			return;
	stress_violation(w->s, "worker %u: %s: unexpected result %ld (%s)", w->id, w->detail,
			 ret, ret < 0 ? strerror((int)-ret) : "not an error");
}

#define STRESS_EXPECT(w, ret, ok, ...) do {                                    \
		static const int __errs[] = { 0, __VA_ARGS__ };                 \
		stress_expect(w, ret, ok, __errs + 1,                           \
			      sizeof(__errs) / sizeof(__errs[0]) - 1);          \
	} while (0)

/* KVM masks (set_bit order) -> AP order (test_bit_inv). */
static void stress_mask_from_kvm(const unsigned long *kvm_mask, unsigned long *ap)
{
	memset(ap, 0, AP_MASK_LONGS * sizeof(*ap));
	for (unsigned int i = 0; i < AP_DEVICES; i++)
		if ((kvm_mask[i / 64] >> (i % 64)) & 1)
			set_bit_inv(i, ap);
}

static bool stress_in_apcb(struct kvm *kvm, unsigned int qid, uint64_t *gen)
{
	unsigned long apm[KVM_S390_AP_LONGS], aqm[KVM_S390_AP_LONGS];
	unsigned int a = AP_QID_CARD(qid), d = AP_QID_QUEUE(qid);

	*gen = kvm_s390_crypto_get_masks(kvm, apm, aqm, NULL);
	return ((apm[a / 64] >> (a % 64)) & 1) && ((aqm[d / 64] >> (d % 64)) & 1);
}

/* ---- mdev stores ------------------------------------------------------------------- */

static void stress_mdev_attr(struct stress_worker *w, enum stress_op op)
{
	static const char *const attrs[] = {
		[SOP_ASSIGN_ADAPTER] = "assign_adapter", [SOP_UNASSIGN_ADAPTER] = "unassign_adapter",
		[SOP_ASSIGN_DOMAIN] = "assign_domain", [SOP_UNASSIGN_DOMAIN] = "unassign_domain",
		[SOP_ASSIGN_CDOM] = "assign_control_domain",
		[SOP_UNASSIGN_CDOM] = "unassign_control_domain",
	};
	unsigned int m = stress_below(w, STRESS_MDEVS), id = stress_below(w, STRESS_IDS);
	char path[160], val[16];
	ssize_t ret;

	snprintf(path, sizeof(path), STRESS_MATRIX "/%s/%s", stress_uuids[m], attrs[op]);
	/* the kernel's kstrtoul base 0: decimal, 0x hex, 0 octal */
	snprintf(val, sizeof(val), stress_below(w, 2) ? "%u\n" : "0x%x", id);
	snprintf(w->detail, sizeof(w->detail), "echo %u > mdev %u %s", id, m, attrs[op]);
	ret = stress_write(w, path, val);
	if (op == SOP_ASSIGN_ADAPTER || op == SOP_ASSIGN_DOMAIN)
		STRESS_EXPECT(w, ret, (long)strlen(val), EADDRINUSE, EADDRNOTAVAIL);
	else
		STRESS_EXPECT(w, ret, (long)strlen(val));
}

/* A random mask of ids 0..STRESS_IDS-1 as 64 hex digits. */
static void stress_mask_hex(struct stress_worker *w, char *out, unsigned int density)
{
	unsigned int bits = 0;

	for (unsigned int i = 0; i < STRESS_IDS; i++)
		if (stress_below(w, 100) < density)
			bits |= 0x80u >> i;
	snprintf(out, 67, "0x%02x%062d", bits, 0);
}

static void stress_ap_config(struct stress_worker *w)
{
	unsigned int m = stress_below(w, STRESS_MDEVS);
	char path[160], apm[67], aqm[67], adm[67], val[220];
	ssize_t ret;

	stress_mask_hex(w, apm, 25);
	stress_mask_hex(w, aqm, 25);
	stress_mask_hex(w, adm, 30);
	snprintf(val, sizeof(val), "%s,%s,%s\n", apm, aqm, adm);
	snprintf(path, sizeof(path), STRESS_MATRIX "/%s/ap_config", stress_uuids[m]);
	snprintf(w->detail, sizeof(w->detail), "ap_config of mdev %u = %.4s,%.4s,%.4s", m,
		 apm, aqm, adm);
	ret = stress_write(w, path, val);
	STRESS_EXPECT(w, ret, (long)strlen(val), EADDRINUSE, EADDRNOTAVAIL);
}

static void stress_mask_store(struct stress_worker *w, const char *attr)
{
	char val[80], path[64];
	unsigned int id = stress_below(w, STRESS_IDS);
	ssize_t ret;

	switch (stress_below(w, 4)) {
	case 0:
		snprintf(val, sizeof(val), "+%u", id);
		break;
	case 1:
		snprintf(val, sizeof(val), "-%u\n", id);
		break;
	case 2:
		snprintf(val, sizeof(val), "+%u,-%u", id, stress_below(w, STRESS_IDS));
		break;
	default:	/* absolute: ids 0..7 random, the rest (8..255) as they were: all on */
		stress_mask_hex(w, val, 40);
		memset(val + 4, 'f', 62);
		val[66] = '\0';
		break;
	}
	snprintf(path, sizeof(path), "/bus/ap/%s", attr);
	snprintf(w->detail, sizeof(w->detail), "echo %.*s > %s", (int)strcspn(val, "\n"), val,
		 attr);
	ret = stress_write(w, path, val);
	STRESS_EXPECT(w, ret, (long)strlen(val), EBUSY);
}

static void stress_host_config(struct stress_worker *w)
{
	/* adds outweigh removals, so the machine keeps most of its queues */
	static const enum ap_config_op ops[] = {
		AP_CONFIG_ADAPTER_ADD, AP_CONFIG_ADAPTER_ADD, AP_CONFIG_ADAPTER_REMOVE,
		AP_CONFIG_DOMAIN_ADD, AP_CONFIG_DOMAIN_ADD, AP_CONFIG_DOMAIN_REMOVE,
		AP_CONFIG_CDOM_ADD, AP_CONFIG_CDOM_REMOVE,
		AP_CONFIG_ADAPTER_ONLINE, AP_CONFIG_ADAPTER_ONLINE, AP_CONFIG_ADAPTER_ONLINE,
		AP_CONFIG_ADAPTER_STANDBY,
	};
	enum ap_config_op op = ops[stress_below(w, sizeof(ops) / sizeof(ops[0]))];
	unsigned int id = stress_below(w, STRESS_IDS);
	int ret;

	snprintf(w->detail, sizeof(w->detail), "host config op %d id %u", (int)op, id);
	ret = ap_host_config_change(w->s->h, op, id);
	if (ret != 0 && ret != 1)
		stress_violation(w->s, "worker %u: %s: %d", w->id, w->detail, ret);
}

static void stress_bind(struct stress_worker *w, bool bind)
{
	static const char *const drivers[] = { "vfio_ap", "cex4queue" };
	const char *drv = drivers[stress_below(w, 2)];
	char path[80], name[16];
	ssize_t ret;

	snprintf(name, sizeof(name), "%02x.%04x", stress_below(w, STRESS_IDS),
		 stress_below(w, STRESS_IDS));
	snprintf(path, sizeof(path), "/bus/ap/drivers/%s/%s", drv, bind ? "bind" : "unbind");
	snprintf(w->detail, sizeof(w->detail), "echo %s > %s/%s", name, drv,
		 bind ? "bind" : "unbind");
	ret = stress_write(w, path, name);
	if (bind)	/* no such queue, or one the masks give the other driver; bound */
		STRESS_EXPECT(w, ret, (long)strlen(name), ENODEV, EBUSY);
	else
		STRESS_EXPECT(w, ret, (long)strlen(name), ENODEV);
}

static void stress_read(struct stress_worker *w)
{
	static const char *const attrs[] = { "matrix", "guest_matrix", "control_domains",
					     "ap_config" };
	unsigned int m = stress_below(w, STRESS_MDEVS);
	const char *attr = attrs[stress_below(w, 4)];
	char path[160], buf[SYSFS_PAGE_SIZE];
	ssize_t n;

	snprintf(path, sizeof(path), STRESS_MATRIX "/%s/%s", stress_uuids[m], attr);
	snprintf(w->detail, sizeof(w->detail), "cat mdev %u %s", m, attr);
	n = sysfs_read(w->s->h->sysfs, &w->p->caller, path, buf, sizeof(buf), 0);
	if (n < 0)
		stress_violation(w->s, "worker %u: %s: %s", w->id, w->detail, strerror((int)-n));
	/* a queue's status: only queues bound to vfio_ap have it; one being
	 * removed meanwhile is -ENODEV, as kernfs says for a dying node */
	m = stress_below(w, STRESS_IDS);
	snprintf(path, sizeof(path), "/devices/ap/card%02x/%02x.%04x/status", m, m,
		 stress_below(w, STRESS_IDS));
	snprintf(w->detail, sizeof(w->detail), "cat %s", path);
	n = sysfs_read(w->s->h->sysfs, &w->p->caller, path, buf, sizeof(buf), 0);
	STRESS_EXPECT(w, n < 0 ? n : 0, 0, ENOENT, ENODEV);
}

/* ---- VMs ---------------------------------------------------------------------------- */

static void stress_vm_reset(struct stress_vm *v)
{
	*v = (struct stress_vm){ .vm = -1, .kvm_dev = -1, .container = -1, .group = -1,
				 .device = -1, .mdev = -1, .last_nqap = -1 };
}

static void stress_close(struct stress_worker *w, int *fd)
{
	if (*fd >= 0 && proc_close(w->p, *fd))
		stress_violation(w->s, "worker %u: close %d failed", w->id, *fd);
	*fd = -1;
}

static void stress_detach(struct stress_worker *w)
{
	struct stress_vm *v = &w->vm;
	int *fds[] = { &v->device, &v->group, &v->container, &v->kvm_dev, &v->vm };

	snprintf(w->detail, sizeof(w->detail), "detach from mdev %d", v->mdev);
	/* any order: the device holds the VM until it is closed */
	for (unsigned int i = 5; i > 1; i--) {
		unsigned int j = stress_below(w, i);
		int *t = fds[i - 1];

		fds[i - 1] = fds[j];
		fds[j] = t;
	}
	for (unsigned int i = 0; i < 5; i++)
		stress_close(w, fds[i]);
	stress_vm_reset(v);
}

static int stress_file_add(struct stress_worker *w, int fd)
{
	int32_t num = fd;
	struct kvm_device_attr a = {
		.group = KVM_DEV_VFIO_FILE, .attr = KVM_DEV_VFIO_FILE_ADD,
		.addr = (uint64_t)(uintptr_t)&num,
	};

	return (int)proc_ioctl(w->p, w->vm.kvm_dev, KVM_SET_DEVICE_ATTR, &a);
}

static void stress_attach(struct stress_worker *w)
{
	struct stress_vm *v = &w->vm;
	struct kvm_create_device cd = { .type = KVM_DEV_TYPE_VFIO };
	bool no_kvm = stress_below(w, 16) == 0;
	char path[32];
	int kvmfd;
	long ret;

	v->mdev = (int)stress_below(w, STRESS_MDEVS);
	snprintf(w->detail, sizeof(w->detail), "attach mdev %d%s", v->mdev,
		 no_kvm ? " without FILE_ADD" : "");
	kvmfd = proc_open(w->p, "/dev/kvm", O_RDWR);
	v->vm = kvmfd < 0 ? kvmfd : (int)proc_ioctl_val(w->p, kvmfd, KVM_CREATE_VM, 0);
	stress_close(w, &kvmfd);
	if (v->vm < 0 || proc_ioctl(w->p, v->vm, KVM_CREATE_DEVICE, &cd)) {
		stress_violation(w->s, "worker %u: %s: no VM (%d)", w->id, w->detail, v->vm);
		goto undo;
	}
	v->kvm_dev = (int)cd.fd;
	v->kvm = kvm_from_file(proc_file(w->p, v->vm));
	snprintf(path, sizeof(path), "/dev/vfio/%u", w->s->groups[v->mdev]);
	v->group = proc_open(w->p, path, O_RDWR);
	if (v->group < 0) {	/* another worker's guest has the group */
		STRESS_EXPECT(w, v->group, 0, EBUSY);
		goto undo;
	}
	v->container = proc_open(w->p, "/dev/vfio/vfio", O_RDWR);
	if (proc_ioctl(w->p, v->group, VFIO_GROUP_SET_CONTAINER, &v->container) ||
	    proc_ioctl_val(w->p, v->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
		stress_violation(w->s, "worker %u: %s: container setup failed", w->id, w->detail);
		goto undo;
	}
	if (!no_kvm && (ret = stress_file_add(w, v->group))) {
		stress_violation(w->s, "worker %u: %s: FILE_ADD %ld", w->id, w->detail, ret);
		goto undo;
	}
	ret = proc_ioctl(w->p, v->group, VFIO_GROUP_GET_DEVICE_FD, stress_uuids[v->mdev]);
	if (no_kvm) {	/* vfio_ap's open_device: no KVM, -EINVAL */
		STRESS_EXPECT(w, ret, -EINVAL);
		goto undo;
	}
	if (ret < 0) {
		stress_violation(w->s, "worker %u: %s: GET_DEVICE_FD %ld (%s)", w->id, w->detail,
				 ret, strerror((int)-ret));
		goto undo;
	}
	v->device = (int)ret;
	v->session = atomic_fetch_add(&w->s->sessions, 1) + 1;
	atomic_fetch_add(&w->s->attaches, 1);
	return;
undo:
	stress_detach(w);
}

/* ---- the guest's instructions ---------------------------------------------------------- */

/* An APQN of the guest's APCB three times in four, else any. */
static unsigned int stress_pick_apqn(struct stress_worker *w)
{
	unsigned long apm[KVM_S390_AP_LONGS], aqm[KVM_S390_AP_LONGS];
	unsigned int a[AP_DEVICES], d[AP_DOMAINS], na = 0, nd = 0;

	if (stress_below(w, 4)) {
		kvm_s390_crypto_get_masks(w->vm.kvm, apm, aqm, NULL);
		for (unsigned int i = 0; i < AP_DEVICES; i++) {
			if ((apm[i / 64] >> (i % 64)) & 1)
				a[na++] = i;
			if ((aqm[i / 64] >> (i % 64)) & 1)
				d[nd++] = i;
		}
		if (na && nd)
			return AP_MKQID(a[stress_below(w, na)], d[stress_below(w, nd)]);
	}
	return AP_MKQID(stress_below(w, STRESS_IDS), stress_below(w, STRESS_IDS));
}

static void stress_guest(struct stress_worker *w, enum stress_op op)
{
	static const uint32_t insns[] = {
		[SOP_TAPQ] = KVM_S390_UVFIO_AP_TAPQ, [SOP_NQAP] = KVM_S390_UVFIO_AP_NQAP,
		[SOP_DQAP] = KVM_S390_UVFIO_AP_DQAP,
	};
	struct stress_vm *v = &w->vm;
	unsigned int qid = op == SOP_DQAP && v->last_nqap >= 0 && stress_below(w, 2) ?
			   (unsigned int)v->last_nqap : stress_pick_apqn(w);
	uint8_t buf[1024] = { 0 };
	struct kvm_s390_uvfio_ap ap = { .insn = insns[op], .apqn = (uint16_t)qid };
	uint64_t gen0, gen1;
	bool inside = stress_in_apcb(v->kvm, qid, &gen0);
	unsigned int rc;
	long ret;

	if (op == SOP_NQAP) {	/* a type 50 header the adapter answers with an error reply */
		buf[1] = 0x50;
		buf[3] = 16;
		ap.psmid = (uint64_t)v->session << 32 | ++v->seq;
		ap.addr = (uint64_t)(uintptr_t)buf;
		ap.len = 16;
	} else if (op == SOP_DQAP) {
		ap.addr = (uint64_t)(uintptr_t)buf;
		ap.len = sizeof(buf);
	}
	snprintf(w->detail, sizeof(w->detail), "%s %02x.%04x on mdev %d session %u",
		 stress_ops[op].name, AP_QID_CARD(qid), AP_QID_QUEUE(qid), v->mdev, v->session);
	ret = proc_ioctl(w->p, v->vm, KVM_S390_UVFIO_AP, &ap);
	atomic_fetch_add(&w->s->guest_insns, 1);
	if (ret) {
		stress_violation(w->s, "worker %u: %s: ioctl %ld", w->id, w->detail, ret);
		return;
	}
	rc = (ap.status >> 16) & 0xff;
	if (inside)
		atomic_fetch_add(&w->s->inside_apcb, 1);
	if (op == SOP_NQAP && rc == AP_RESPONSE_NORMAL) {
		atomic_fetch_add(&w->s->enqueued, 1);
		v->last_nqap = (int)qid;
	}
	stress_in_apcb(v->kvm, qid, &gen1);
	if (!inside && gen0 == gen1 && rc != AP_RESPONSE_Q_NOT_AVAIL)
		stress_violation(w->s, "worker %u: %s: outside the APCB, rc 0x%02x", w->id,
				 w->detail, rc);
	if (op == SOP_DQAP && rc == AP_RESPONSE_NORMAL) {
		atomic_fetch_add(&w->s->zeroized_checks, 1);
		if (ap.psmid >> 32 != v->session)
			stress_violation(w->s, "worker %u: %s: dequeued psmid %#" PRIx64
					 " of session %" PRIu64, w->id, w->detail, (uint64_t)ap.psmid,
					 (uint64_t)(ap.psmid >> 32));
	}
}

/* ---- pausing the world and the independent checks ---------------------------------------- */

static bool stress_queue_driver_is(struct stress *s, unsigned int a, unsigned int d,
				   const char *drv)
{
	char path[96], link[256];
	ssize_t n;

	snprintf(path, sizeof(path), "/devices/ap/card%02x/%02x.%04x/driver", a, a, d);
	n = sysfs_readlink(s->h->sysfs, path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = '\0';
	return strrchr(link, '/') && !strcmp(strrchr(link, '/') + 1, drv);
}

static bool stress_masks_overlap(const unsigned long *apm1, const unsigned long *aqm1,
				 const unsigned long *apm2, const unsigned long *aqm2)
{
	bool a = false, d = false;

	for (unsigned int i = 0; i < AP_MASK_LONGS; i++) {
		a |= (apm1[i] & apm2[i]) != 0;
		d |= (aqm1[i] & aqm2[i]) != 0;
	}
	return a && d;
}

/* What vfio_ap's filter must give for this matrix (kernel-uapi.md 5.5). */
static void stress_expected_shadow(struct stress *s, const struct vfio_ap_mdev_info *m,
				   const struct ap_config_info *qci, unsigned long *apm,
				   unsigned long *aqm, unsigned long *adm)
{
	for (unsigned int i = 0; i < AP_MASK_LONGS; i++) {
		apm[i] = m->apm[i] & qci->apm[i];
		aqm[i] = m->aqm[i] & qci->aqm[i];
		adm[i] = m->adm[i] & qci->adm[i];
	}
	for (unsigned int a = 0; a < AP_DEVICES; a++) {
		if (!test_bit_inv(a, apm))
			continue;
		for (unsigned int d = 0; d < AP_DOMAINS; d++) {
			if (test_bit_inv(d, aqm) && !stress_queue_driver_is(s, a, d, "vfio_ap")) {
				clear_bit_inv(a, apm);
				break;
			}
		}
	}
}

static bool stress_mask_eq(const unsigned long *a, const unsigned long *b)
{
	return !memcmp(a, b, AP_MASK_LONGS * sizeof(*a));
}

static bool stress_mask_subset(const unsigned long *a, const unsigned long *b)
{
	for (unsigned int i = 0; i < AP_MASK_LONGS; i++)
		if (a[i] & ~b[i])
			return false;
	return true;
}

/* A guest's APCB against the host: reserved or host-bound APQNs in it. */
static void stress_check_apcb_host(struct stress *s, unsigned int wid, const unsigned long *apm,
				   const unsigned long *aqm, const unsigned long *pam,
				   const unsigned long *paq)
{
	for (unsigned int a = 0; a < AP_DEVICES; a++) {
		if (!test_bit_inv(a, apm))
			continue;
		for (unsigned int d = 0; d < AP_DOMAINS; d++) {
			if (!test_bit_inv(d, aqm))
				continue;
			if (test_bit_inv(a, pam) && test_bit_inv(d, paq))
				stress_violation(s, "guest of worker %u has %02x.%04x, reserved for "
						 "the host", wid, a, d);
			if (stress_queue_driver_is(s, a, d, "cex4queue"))
				stress_violation(s, "guest of worker %u has %02x.%04x, bound to "
						 "cex4queue", wid, a, d);
		}
	}
}

/* Everything at one quiet instant (every other worker parked). */
static void stress_check_world(struct stress *s)
{
	struct vfio_ap_mdev_info mi[STRESS_MDEVS + 4];
	unsigned long apcb[STRESS_MAX_WORKERS][3][AP_MASK_LONGS];
	unsigned long pam[AP_MASK_LONGS], paq[AP_MASK_LONGS];
	bool has_vm[STRESS_MAX_WORKERS] = { false };
	struct ap_config_info qci;
	char why[256];
	int n = vfio_ap_mdevs_snapshot(s->h, mi, STRESS_MDEVS + 4);

	if (vfio_ap_check_invariants(s->h, why, sizeof(why)))
		stress_violation(s, "paused: vfio_ap: %s", why);
	if (n != STRESS_MDEVS) {
		stress_violation(s, "paused: %d mdevs", n);
		return;
	}
	ap_perms_get(s->bus, pam, paq);
	ap_bus_qci_info(s->bus, &qci);
	/* the VMs' own APCBs */
	for (unsigned int i = 0; i < s->cfg.workers; i++) {
		unsigned long k[3][KVM_S390_AP_LONGS];

		if (!s->w[i].vm.kvm)
			continue;
		has_vm[i] = true;
		kvm_s390_crypto_get_masks(s->w[i].vm.kvm, k[0], k[1], k[2]);
		for (int j = 0; j < 3; j++)
			stress_mask_from_kvm(k[j], apcb[i][j]);
		stress_check_apcb_host(s, i, apcb[i][0], apcb[i][1], pam, paq);
		for (unsigned int o = 0; o < i; o++)
			if (has_vm[o] && stress_masks_overlap(apcb[i][0], apcb[i][1], apcb[o][0],
							     apcb[o][1]))
				stress_violation(s, "guests of workers %u and %u share an APQN", o, i);
	}
	for (int m = 0; m < n; m++) {
		unsigned long apm[AP_MASK_LONGS], aqm[AP_MASK_LONGS], adm[AP_MASK_LONGS];
		bool held = false;

		for (int o = 0; o < m; o++)
			if (stress_masks_overlap(mi[m].apm, mi[m].aqm, mi[o].apm, mi[o].aqm))
				stress_violation(s, "mdevs %s and %s share an APQN", mi[o].uuid,
						 mi[m].uuid);
		if (stress_masks_overlap(mi[m].apm, mi[m].aqm, pam, paq))
			stress_violation(s, "mdev %s has an APQN reserved for the host", mi[m].uuid);
		/*
		 * The shadow's domains are the matrix's in the configuration; its
		 * adapters pass the filter.  Not necessarily all of them: the
		 * kernel unplugs incrementally (unassign, a configuration removal)
		 * and only refilters on assign, probe and scan completion, so an
		 * APID once filtered can stay out until then (counted, not wrong).
		 */
		stress_expected_shadow(s, &mi[m], &qci, apm, aqm, adm);
		if (!stress_mask_subset(mi[m].shadow_apm, apm) ||
		    !stress_mask_eq(aqm, mi[m].shadow_aqm) || !stress_mask_eq(adm, mi[m].shadow_adm))
			stress_violation(s, "mdev %s: shadow %016lx/%016lx/%016lx, filter gives "
					 "%016lx/%016lx/%016lx", mi[m].uuid, mi[m].shadow_apm[0],
					 mi[m].shadow_aqm[0], mi[m].shadow_adm[0], apm[0], aqm[0],
					 adm[0]);
		else if (!stress_mask_eq(apm, mi[m].shadow_apm))
			s->narrower++;
		/* the guest holding this mdev has exactly the shadow */
		for (unsigned int i = 0; i < s->cfg.workers; i++) {
			struct stress_vm *v = &s->w[i].vm;

			if (!v->kvm || v->device < 0 || strcmp(stress_uuids[v->mdev], mi[m].uuid))
				continue;
			held = true;
			if (!mi[m].attached || mi[m].kvm_id != v->kvm->id)
				stress_violation(s, "mdev %s opened by worker %u's VM %u, not attached "
						 "to it", mi[m].uuid, i, v->kvm->id);
			if (!stress_mask_eq(apcb[i][0], mi[m].shadow_apm) ||
			    !stress_mask_eq(apcb[i][1], mi[m].shadow_aqm) ||
			    !stress_mask_eq(apcb[i][2], mi[m].shadow_adm))
				stress_violation(s, "worker %u's APCB %016lx/%016lx/%016lx is not the "
						 "shadow of %s", i, apcb[i][0][0], apcb[i][1][0],
						 apcb[i][2][0], mi[m].uuid);
		}
		if (!held && mi[m].attached)
			stress_violation(s, "mdev %s attached with no guest holding it", mi[m].uuid);
	}
	/* a VM without the device open has no crypto */
	for (unsigned int i = 0; i < s->cfg.workers; i++)
		if (has_vm[i] && s->w[i].vm.device < 0 &&
		    (!stress_mask_eq(apcb[i][0], (unsigned long[AP_MASK_LONGS]){ 0 }) ||
		     !stress_mask_eq(apcb[i][1], (unsigned long[AP_MASK_LONGS]){ 0 })))
			stress_violation(s, "worker %u's VM has an APCB without the mdev", i);
}

/* Park while another worker checks. */
static void stress_checkpoint(struct stress_worker *w)
{
	struct stress *s = w->s;

	pthread_mutex_lock(&s->world_lock);
	while (s->paused) {
		s->parked++;
		pthread_cond_broadcast(&s->world_cond);
		pthread_cond_wait(&s->world_cond, &s->world_lock);
		s->parked--;
	}
	pthread_mutex_unlock(&s->world_lock);
}

/* Pause everyone else, check, resume. */
static void stress_pause_and_check(struct stress_worker *w)
{
	struct stress *s = w->s;

	pthread_mutex_lock(&s->world_lock);
	if (s->paused) {	/* someone else checks now: be checked */
		pthread_mutex_unlock(&s->world_lock);
		stress_checkpoint(w);
		return;
	}
	s->paused = true;
	snprintf(w->detail, sizeof(w->detail), "pausing the world");
	while (s->parked + s->exited < s->cfg.workers - 1)
		pthread_cond_wait(&s->world_cond, &s->world_lock);
	pthread_mutex_unlock(&s->world_lock);
	snprintf(w->detail, sizeof(w->detail), "checking the paused world");
	stress_check_world(s);
	pthread_mutex_lock(&s->world_lock);
	s->pauses++;
	s->paused = false;
	pthread_cond_broadcast(&s->world_cond);
	pthread_mutex_unlock(&s->world_lock);
}

/* ---- workers ---------------------------------------------------------------------------- */

static enum stress_op stress_pick(struct stress_worker *w)
{
	unsigned int total = 0, r;

	for (int i = 0; i < SOP_NR; i++)
		total += stress_ops[i].weight;
	r = stress_below(w, total);
	for (int i = 0; i < SOP_NR; i++) {
		if (r < stress_ops[i].weight)
			return (enum stress_op)i;
		r -= stress_ops[i].weight;
	}
	return SOP_READ;
}

static void stress_do(struct stress_worker *w, enum stress_op op)
{
	switch (op) {
	case SOP_ASSIGN_ADAPTER: case SOP_UNASSIGN_ADAPTER: case SOP_ASSIGN_DOMAIN:
	case SOP_UNASSIGN_DOMAIN: case SOP_ASSIGN_CDOM: case SOP_UNASSIGN_CDOM:
		stress_mdev_attr(w, op);
		break;
	case SOP_AP_CONFIG: stress_ap_config(w); break;
	case SOP_APMASK: stress_mask_store(w, "apmask"); break;
	case SOP_AQMASK: stress_mask_store(w, "aqmask"); break;
	case SOP_HOST_CONFIG: stress_host_config(w); break;
	case SOP_BIND: stress_bind(w, true); break;
	case SOP_UNBIND: stress_bind(w, false); break;
	case SOP_VM:
		if (w->vm.vm >= 0)
			stress_detach(w);
		else
			stress_attach(w);
		break;
	case SOP_TAPQ: case SOP_NQAP: case SOP_DQAP:
		if (w->vm.device >= 0)
			stress_guest(w, op);
		else
			stress_attach(w);
		break;
	case SOP_READ: stress_read(w); break;
	case SOP_NR: break;
	}
}

static void *stress_worker_main(void *arg)
{
	struct stress_worker *w = arg;
	struct stress *s = w->s;
	char why[256];

	while (!atomic_load(&s->stop)) {
		enum stress_op op;
		unsigned long n;
		double t0;

		stress_checkpoint(w);
		op = stress_pick(w);
		atomic_store(&w->cur_op, (int)op);
		t0 = stress_now();
		stress_do(w, op);
		atomic_fetch_add(&s->op_ns[op], (unsigned long)((stress_now() - t0) * 1e9));
		atomic_store(&w->cur_op, SOP_NR);	/* the checks after it */
		atomic_fetch_add(&s->op_count[op], 1);
		if (s->cfg.step_checks) {
			atomic_fetch_add(&s->step_checks, 1);
			if (vfio_ap_check_invariants(s->h, why, sizeof(why)))
				stress_violation(s, "after %s by worker %u: %s", w->detail, w->id, why);
		}
		atomic_store(&w->cur_op, -1);
		n = atomic_fetch_add(&s->ops, 1) + 1;
		if (n >= s->cfg.ops)
			atomic_store(&s->stop, true);
		else if (s->cfg.check_every && n % s->cfg.check_every == 0)
			stress_pause_and_check(w);
	}
	/* not while another worker checks the world */
	stress_checkpoint(w);
	if (w->vm.vm >= 0)
		stress_detach(w);
	pthread_mutex_lock(&s->world_lock);
	s->exited++;
	pthread_cond_broadcast(&s->world_cond);
	pthread_mutex_unlock(&s->world_lock);
	return NULL;
}

static void *stress_watchdog_main(void *arg)
{
	struct stress *s = arg;
	unsigned long last = 0;
	double since = stress_now();

	while (!atomic_load(&s->done)) {
		unsigned long now_ops = atomic_load(&s->ops);

		usleep(100000);
		if (now_ops != last) {
			last = now_ops;
			since = stress_now();
			continue;
		}
		if (stress_now() - since < s->cfg.watchdog_s)
			continue;
		fprintf(stderr, "vfio_ap stress: no operation completed for %u s after %lu; "
			"workers:\n", s->cfg.watchdog_s, now_ops);
		for (unsigned int i = 0; i < s->cfg.workers; i++) {
			int op = atomic_load(&s->w[i].cur_op);

			fprintf(stderr, "  worker %u: %s: %.200s\n", i,
				op < 0 ? "between operations (or pausing)" :
				op == SOP_NR ? "checking after" : stress_ops[op].name,
				s->w[i].detail);
		}
		fprintf(stderr, "  world: paused %d, parked %u, exited %u\n", s->paused, s->parked,
			s->exited);
		fflush(stderr);
		abort();
	}
	return NULL;
}

/* ---- set-up and the run ----------------------------------------------------------------- */

/* The host and its mdevs; NULL with why filled on failure. */
static struct stress *stress_new(const struct stress_cfg *cfg, char *why, size_t len)
{
	struct uvf_topology *t = NULL;
	struct stress *s = calloc(1, sizeof(*s));
	char err[512], path[160], link[256];

	if (!s || cfg->workers < 1 || cfg->workers > STRESS_MAX_WORKERS) {
		snprintf(why, len, "bad configuration");
		free(s);
		return NULL;
	}
	s->cfg = *cfg;
	/* refusals are the point here: vfio_ap's warnings about them are noise */
	if (!getenv("UVFIO_LOG"))
		uvf_log_set_level(UVF_LOG_ERR);
	pthread_mutex_init(&s->world_lock, NULL);
	pthread_cond_init(&s->world_cond, NULL);
	pthread_mutex_init(&s->vlock, NULL);
	if (topology_load_string(stress_host_json, "stress.json", &t, err, sizeof(err)) ||
	    !(s->h = host_new()) || host_load_topology(s->h, t, err, sizeof(err))) {
		snprintf(why, len, "host: %.400s", err);
		goto fail;
	}
	topology_free(t);
	t = NULL;
	s->bus = ap_bus_get(s->h);
	if (!s->bus) {
		snprintf(why, len, "no AP bus");
		goto fail;
	}
	ap_machine_set_reset_delay(ap_bus_machine(s->bus), cfg->reset_delay_us);
	for (unsigned int m = 0; m < STRESS_MDEVS; m++) {
		ssize_t n = sysfs_write(s->h->sysfs, NULL, STRESS_CREATE, stress_uuids[m],
					strlen(stress_uuids[m]), 0);

		snprintf(path, sizeof(path), STRESS_MATRIX "/%s/iommu_group", stress_uuids[m]);
		if (n < 0 || (n = sysfs_readlink(s->h->sysfs, path, link, sizeof(link) - 1)) < 0) {
			snprintf(why, len, "mdev %u: %s", m, strerror((int)-n));
			goto fail;
		}
		link[n] = '\0';
		s->groups[m] = (unsigned int)atoi(strrchr(link, '/') + 1);
	}
	for (unsigned int i = 0; i < cfg->workers; i++) {
		struct stress_worker *w = &s->w[i];

		w->s = s;
		w->id = i;
		w->rng = (cfg->seed ^ (0x9e3779b97f4a7c15ULL * (i + 1))) | 1;
		w->p = proc_new_root(s->h);
		atomic_init(&w->cur_op, -1);
		stress_vm_reset(&w->vm);
		if (!w->p) {
			snprintf(why, len, "no process");
			goto fail;
		}
	}
	return s;
fail:
	if (t)
		topology_free(t);
	for (unsigned int i = 0; i < STRESS_MAX_WORKERS; i++)
		if (s->w[i].p)
			proc_free(s->w[i].p);
	if (s->h)
		host_free(s->h);
	free(s);
	return NULL;
}

static void stress_free(struct stress *s)
{
	for (unsigned int i = 0; i < s->cfg.workers; i++)
		proc_free(s->w[i].p);
	host_free(s->h);
	pthread_mutex_destroy(&s->world_lock);
	pthread_cond_destroy(&s->world_cond);
	pthread_mutex_destroy(&s->vlock);
	free(s);
}

/* Run to cfg.ops operations; the final state is checked once more with
 * every VM closed: nothing attached, no APCB left. */
static void stress_run(struct stress *s, struct stress_result *r)
{
	struct vfio_ap_mdev_info mi[STRESS_MDEVS];
	double t0 = stress_now();
	int n;

	pthread_create(&s->watchdog, NULL, stress_watchdog_main, s);
	for (unsigned int i = 0; i < s->cfg.workers; i++)
		pthread_create(&s->w[i].thread, NULL, stress_worker_main, &s->w[i]);
	for (unsigned int i = 0; i < s->cfg.workers; i++)
		pthread_join(s->w[i].thread, NULL);
	r->seconds = stress_now() - t0;
	stress_check_world(s);
	n = vfio_ap_mdevs_snapshot(s->h, mi, STRESS_MDEVS);
	for (int m = 0; m < n && m < STRESS_MDEVS; m++)
		if (mi[m].attached)
			stress_violation(s, "mdev %s still attached after every VM closed", mi[m].uuid);
	atomic_store(&s->done, true);
	pthread_join(s->watchdog, NULL);
	r->ops = atomic_load(&s->ops);
	r->pauses = s->pauses + 1;
	r->narrower = s->narrower;
	r->step_checks = atomic_load(&s->step_checks);
	r->attaches = atomic_load(&s->attaches);
	r->guest_insns = atomic_load(&s->guest_insns);
	r->inside_apcb = atomic_load(&s->inside_apcb);
	r->enqueued = atomic_load(&s->enqueued);
	r->zeroized_checks = atomic_load(&s->zeroized_checks);
	for (int i = 0; i < SOP_NR; i++) {
		r->op_count[i] = atomic_load(&s->op_count[i]);
		r->op_seconds[i] = (double)atomic_load(&s->op_ns[i]) / 1e9;
	}
	r->violations = s->violations;
	snprintf(r->first_violation, sizeof(r->first_violation), "%s", s->first_violation);
}

/* Each kind of operation: how many ran and their mean latency. */
static void stress_print_times(FILE *f, const char *prefix, const struct stress_result *r)
{
	for (int i = 0; i < SOP_NR; i++)
		fprintf(f, "%s%-24s %8lu  mean %9.1f us\n", prefix, stress_ops[i].name,
			r->op_count[i],
			r->op_count[i] ? r->op_seconds[i] * 1e6 / (double)r->op_count[i] : 0.0);
}

#endif
