// SPDX-License-Identifier: MIT
/*
 * vfio-ap end to end, in several processes under `uvfio run`: a guest
 * process with a vfio_ap mdev attached to its VM runs AP requests while an
 * administrator's process changes the matrix, the bus masks and the
 * machine's configuration, each through the files and commands a real
 * administrator uses (echo-style write() on sysfs over FUSE, `uvfio ap
 * config`).  Written against <linux/kvm.h>, <linux/vfio.h> and uvfio's
 * include/uapi/linux/uvfio_s390_ap.h (the guest's instructions on the VM
 * fd), and libc.
 *
 *  - a guest's RSA mod-expo request (a type 50 message) answered right,
 *    the answer computed here independently; an APQN outside its APCB 0x01;
 *  - an assignment while the guest runs: its TAPQ and QCI see it at once;
 *  - a mask store that would take a guest's queue: EBUSY, nothing changed;
 *  - an unassignment: the guest loses the queue, and the request it left
 *    on it was zeroized (the queue's next owner finds it empty);
 *  - the machine losing an adapter (uvfio ap config): the guest loses it,
 *    and regains it when it comes back; only root may do it; the admin
 *    operation's own checks;
 *  - opening the mdev without KVM_DEV_VFIO_FILE_ADD: EINVAL; a second mdev
 *    on the same VM: EPERM;
 *  - every errno row of kernel-uapi.md 5.4 and both apmask/aqmask formats
 *    (malformed input EINVAL with nothing changed) through FUSE;
 *  - `uvfio guest` and `uvfio ap` as an administrator runs them.
 *
 * The host is this file's own (VT_UVFIO_CONFIG): the default host's AP
 * machine with the maxima lowered to 63 adapters and 31 domains (so that
 * ids above them exist to be refused), and /dev/kvm served by uvfio.
 * Adapters 0-3 x domains 0-6 and 9-31 belong to the host's zcrypt; the
 * configuration has adapters 0-5 and usage domains 4-8.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <linux/kvm.h>
#include <linux/vfio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "../../include/uapi/linux/uvfio_s390_ap.h"
#include "../../src/proto/uvfio_proto.h"
#include "vt.h"

#ifndef UVFIO_BIN
#define UVFIO_BIN "uvfio"
#endif

#ifndef KVM_DEV_VFIO_FILE
#define KVM_DEV_VFIO_FILE	KVM_DEV_VFIO_GROUP
#define KVM_DEV_VFIO_FILE_ADD	KVM_DEV_VFIO_GROUP_ADD
#endif

#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
};
#define VFIO_DEVICE_BIND_IOMMUFD	_IO(VFIO_TYPE, VFIO_BASE + 18)
#endif

#define MATRIX		"/sys/devices/vfio_ap/matrix"
#define TYPE_DIR	MATRIX "/mdev_supported_types/vfio_ap-passthrough"
#define APMASK		"/sys/bus/ap/apmask"
#define AQMASK		"/sys/bus/ap/aqmask"

/* AP response codes (the architecture's) */
#define RC_NORMAL		0x00
#define RC_Q_NOT_AVAIL		0x01
#define RC_NO_PENDING_REPLY	0x10
#define ST_EMPTY		0x80000000u
#define ST_REPLIES		0x40000000u
#define ST_RC(st)		(((st) >> 16) & 0xff)

static const char host_json[] =
	"{ \"name\": \"ap-scenario\", \"limits\": { \"kvm\": \"always\" },\n"
	"  \"ap\": { \"apxa\": true, \"max_adapter_id\": 63, \"max_domain_id\": 31,\n"
	"    \"usage_domains\": [4, 5, 6, 7, 8], \"control_domains\": [4, 5, 6, 7, 8, 11],\n"
	"    \"apmask\": \"0xf0\", \"aqmask\": \"+0-6,+9-255\",\n"
	"    \"adapters\": [\n"
	"      { \"id\": 0, \"type\": \"CEX8\", \"mode\": \"accel\" },\n"
	"      { \"id\": 1, \"type\": \"CEX7\", \"mode\": \"cca\" },\n"
	"      { \"id\": 2, \"type\": \"CEX6\", \"mode\": \"ep11\" },\n"
	"      { \"id\": 3, \"type\": \"CEX4\", \"mode\": \"accel\" },\n"
	"      { \"id\": 4, \"type\": \"CEX8\", \"mode\": \"accel\" },\n"
	"      { \"id\": 5, \"type\": \"CEX8\", \"mode\": \"accel\" } ] } }\n";

/* ---- sysfs, as echo and cat do it ----------------------------------------------------- */

/* cat: the text of path ("" if unreadable), in buf. */
static const char *read_str(const char *path, char *buf, size_t size)
{
	vt_read_str(path, buf, size);
	return buf;
}

static const char *mdev_path(const char *uuid, const char *attr)
{
	static char path[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(path[i], sizeof(path[i]), MATRIX "/%s/%s", uuid, attr);
	return path[i];
}

/* An mdev attribute store: bytes written, or -errno. */
static int mdev_store(const char *uuid, const char *attr, const char *val)
{
	return vt_write_str(mdev_path(uuid, attr), val);
}

static const char *mdev_show(const char *uuid, const char *attr, char *buf, size_t size)
{
	return read_str(mdev_path(uuid, attr), buf, size);
}

static void mdev_create(const char *uuid)
{
	vt_require(vt_write_str(TYPE_DIR "/create", uuid) == (int)strlen(uuid));
}

static void mdev_remove(const char *uuid)
{
	vt_expect_eq(mdev_store(uuid, "remove", "1\n"), 2);
}

/* Assign "a:d[:c]" style: adapter, domain, control domain (-1: none). */
static void mdev_assign(const char *uuid, int adapter, int domain, int cdom)
{
	char v[16];

	if (adapter >= 0) {
		snprintf(v, sizeof(v), "%d\n", adapter);
		vt_expect_eq(mdev_store(uuid, "assign_adapter", v), (int)strlen(v));
	}
	if (domain >= 0) {
		snprintf(v, sizeof(v), "%d\n", domain);
		vt_expect_eq(mdev_store(uuid, "assign_domain", v), (int)strlen(v));
	}
	if (cdom >= 0) {
		snprintf(v, sizeof(v), "%d\n", cdom);
		vt_expect_eq(mdev_store(uuid, "assign_control_domain", v), (int)strlen(v));
	}
}

/*
 * A store made by another process (the administrator): fork, write, exit
 * with the result.  Returns the bytes written or -errno.
 */
static int admin_store(const char *path, const char *val)
{
	int status, pfd[2], ret = -EIO;
	pid_t pid;

	vt_require(!pipe2(pfd, O_CLOEXEC));
	pid = fork();
	vt_require(pid >= 0);
	if (pid == 0) {
		int r = vt_write_str(path, val);

		_exit(write(pfd[1], &r, sizeof(r)) == sizeof(r) ? 0 : 1);
	}
	close(pfd[1]);
	if (read(pfd[0], &ret, sizeof(ret)) != sizeof(ret))
		ret = -EIO;
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return ret;
}

/* ---- the uvfio command --------------------------------------------------------------- */

/* Run uvfio with args (NULL-terminated) as uid (0: as we are); output in
 * out; its exit status. */
static int uvfio_cmd(char *out, size_t size, uid_t uid, char *const args[])
{
	const char *bin = getenv("UVFIO_BIN") ? getenv("UVFIO_BIN") : UVFIO_BIN;
	char *argv[64] = { (char *)bin };
	int pfd[2], status, i;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	for (i = 0; args[i]; i++) {
		vt_require(i + 2 < 64);
		argv[i + 1] = args[i];
	}
	argv[i + 1] = NULL;
	vt_require(!pipe2(pfd, O_CLOEXEC));
	pid = fork();
	vt_require(pid >= 0);
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		/* the CLI speaks the protocol itself; not under the shim */
		unsetenv("LD_PRELOAD");
		if (uid && (setgid(uid) || setuid(uid)))
			_exit(126);
		execv(bin, argv);
		_exit(127);
	}
	close(pfd[1]);
	while (len + 1 < size && (n = read(pfd[0], out + len, size - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- a guest: VM, KVM-VFIO device, the mdev, instructions ------------------------------ */

struct guest {
	int vm, kvm_dev, container, group, device;
};

static int mdev_group(const char *uuid)
{
	char path[256], link[256];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/iommu_group", uuid);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return -1;
	link[n] = '\0';
	return atoi(strrchr(link, '/') + 1);
}

static int file_add(int kvm_dev, int fd)
{
	int32_t num = fd;
	struct kvm_device_attr a = {
		.group = KVM_DEV_VFIO_FILE, .attr = KVM_DEV_VFIO_FILE_ADD,
		.addr = (uint64_t)(uintptr_t)&num,
	};

	return ioctl(kvm_dev, KVM_SET_DEVICE_ATTR, &a);
}

/* A VM with a KVM-VFIO device. */
static void guest_vm(struct guest *g)
{
	struct kvm_create_device cd = { .type = KVM_DEV_TYPE_VFIO };
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	*g = (struct guest){ -1, -1, -1, -1, -1 };
	vt_require(kvm >= 0);
	g->vm = ioctl(kvm, KVM_CREATE_VM, 0);
	close(kvm);
	vt_require(g->vm >= 0);
	vt_require(!ioctl(g->vm, KVM_CREATE_DEVICE, &cd));
	g->kvm_dev = (int)cd.fd;
}

/* The mdev's group in a container of g's, registered with the VM when asked. */
static void guest_group(struct guest *g, const char *uuid, bool add)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/vfio/%d", mdev_group(uuid));
	if (g->container < 0)
		g->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	g->group = open(path, O_RDWR | O_CLOEXEC);
	vt_require(g->container >= 0 && g->group >= 0);
	vt_require(!ioctl(g->group, VFIO_GROUP_SET_CONTAINER, &g->container));
	if (ioctl(g->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) == 1)
		ioctl(g->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
	if (add)
		vt_require(!file_add(g->kvm_dev, g->group));
}

/* As QEMU: VM, KVM-VFIO device, group registered, device opened. */
static void guest_open(struct guest *g, const char *uuid)
{
	guest_vm(g);
	guest_group(g, uuid, true);
	g->device = ioctl(g->group, VFIO_GROUP_GET_DEVICE_FD, uuid);
	vt_require(g->device >= 0);
}

static void guest_close(struct guest *g)
{
	int *fds[] = { &g->device, &g->group, &g->container, &g->kvm_dev, &g->vm };

	for (unsigned int i = 0; i < 5; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

static struct kvm_s390_uvfio_ap insn(const struct guest *g, uint32_t code, unsigned int apqn)
{
	struct kvm_s390_uvfio_ap ap = { .insn = code, .apqn = (uint16_t)apqn };

	vt_expect_eq(ioctl(g->vm, KVM_S390_UVFIO_AP, &ap), 0);
	return ap;
}

static unsigned int tapq_rc(const struct guest *g, unsigned int apqn)
{
	return ST_RC(insn(g, KVM_S390_UVFIO_AP_TAPQ, apqn).status);
}

/* A queue that comes (back) through a reset answers 0x02 while it runs,
 * as a guest driver sees it: TAPQ again, for up to a second. */
static unsigned int tapq_settled(const struct guest *g, unsigned int apqn)
{
	unsigned int rc = tapq_rc(g, apqn);

	for (int i = 0; i < 1000 && rc == 0x02; i++) {
		usleep(1000);
		rc = tapq_rc(g, apqn);
	}
	return rc;
}

/* The ids of a QCI mask (MSB first) as "4,5" text. */
static const char *qci_ids(const uint8_t *m, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < 256 && len + 5 < size; i++)
		if (m[i / 8] & (0x80 >> (i % 8)))
			len += (size_t)snprintf(buf + len, size - len, "%s%u", len ? "," : "", i);
	return buf;
}

static struct kvm_s390_uvfio_ap_qci qci(const struct guest *g)
{
	struct kvm_s390_uvfio_ap_qci q;
	struct kvm_s390_uvfio_ap ap = {
		.insn = KVM_S390_UVFIO_AP_QCI, .addr = (uint64_t)(uintptr_t)&q, .len = sizeof(q),
	};

	memset(&q, 0xa5, sizeof(q));
	vt_expect_eq(ioctl(g->vm, KVM_S390_UVFIO_AP, &ap), 0);
	return q;
}

/* ---- RSA: a type 50 MEB1 request and its answer ---------------------------------------- */

#define MEB1_SIZE	128
#define MEB1_LEN	(16 + 3 * MEB1_SIZE)

/* A 64-bit number right-justified (big-endian) in a 128-byte field. */
static void put_be(uint8_t *field, uint64_t v)
{
	memset(field, 0, MEB1_SIZE);
	for (int i = 0; i < 8; i++)
		field[MEB1_SIZE - 1 - i] = (uint8_t)(v >> (8 * i));
}

static void rsa_meb1(uint8_t *msg, uint64_t e, uint64_t n, uint64_t x)
{
	memset(msg, 0, MEB1_LEN);
	msg[1] = 0x50;				/* type 50 */
	msg[2] = MEB1_LEN >> 8;			/* msg_len, big-endian */
	msg[3] = MEB1_LEN & 0xff;
	msg[9] = 0x01;				/* key block MEB1 */
	put_be(msg + 16, e);
	put_be(msg + 16 + MEB1_SIZE, n);
	put_be(msg + 16 + 2 * MEB1_SIZE, x);
}

/* x^e mod n, by square and multiply (the reference the adapter must meet). */
static uint64_t modexp(uint64_t x, uint64_t e, uint64_t n)
{
	unsigned __int128 r = 1, b = x % n;

	for (; e; e >>= 1) {
		if (e & 1)
			r = r * b % n;
		b = b * b % n;
	}
	return (uint64_t)r;
}

/* RSA with the Mersenne prime 2^61 - 1 as modulus: small enough to check
 * here, as valid as any for the adapter (odd, message below it). */
#define RSA_N	0x1fffffffffffffffULL
#define RSA_E	65537ULL
#define RSA_X	0x0123456789abcdefULL

static unsigned int nqap_rsa(const struct guest *g, unsigned int apqn, uint64_t psmid)
{
	static uint8_t msg[MEB1_LEN];
	struct kvm_s390_uvfio_ap ap = {
		.insn = KVM_S390_UVFIO_AP_NQAP, .apqn = (uint16_t)apqn, .psmid = psmid,
		.addr = (uint64_t)(uintptr_t)msg, .len = MEB1_LEN,
	};

	rsa_meb1(msg, RSA_E, RSA_N, RSA_X);
	vt_expect_eq(ioctl(g->vm, KVM_S390_UVFIO_AP, &ap), 0);
	return ST_RC(ap.status);
}

/* DQAP until a reply comes (the adapter answers on its own thread). */
static struct kvm_s390_uvfio_ap dqap_wait(const struct guest *g, unsigned int apqn,
					  uint8_t *buf, size_t size)
{
	struct kvm_s390_uvfio_ap ap;

	for (int i = 0; i < 5000; i++) {
		ap = (struct kvm_s390_uvfio_ap){
			.insn = KVM_S390_UVFIO_AP_DQAP, .apqn = (uint16_t)apqn,
			.addr = (uint64_t)(uintptr_t)buf, .len = size,
		};
		vt_expect_eq(ioctl(g->vm, KVM_S390_UVFIO_AP, &ap), 0);
		if (ST_RC(ap.status) != RC_NO_PENDING_REPLY || (ap.status & ST_EMPTY))
			break;
		usleep(1000);
	}
	return ap;
}

/* The result of a type 80 reply as a number. */
static uint64_t reply_value(const uint8_t *r, size_t len)
{
	uint64_t v = 0;

	if (len != 16 + MEB1_SIZE || r[1] != 0x80)
		return ~0ULL;
	for (size_t i = 16; i < len - 8; i++)
		if (r[i])
			return ~0ULL;
	for (size_t i = len - 8; i < len; i++)
		v = v << 8 | r[i];
	return v;
}

/* Replies waiting (or requests in process) on a queue: TAPQ's E bit off. */
static bool queue_holds_work(const struct guest *g, unsigned int apqn)
{
	return !(insn(g, KVM_S390_UVFIO_AP_TAPQ, apqn).status & ST_EMPTY);
}

/* ---- the scenarios --------------------------------------------------------------------- */

#define UUID_A	"4b0a9a10-6f1e-4d8c-9a21-7e5d3c2b1a01"
#define UUID_B	"4b0a9a10-6f1e-4d8c-9a21-7e5d3c2b1a02"
#define UUID_C	"4b0a9a10-6f1e-4d8c-9a21-7e5d3c2b1a03"

/* A guest runs a real RSA request; what is not in its APCB is not there. */
static void test_guest_rsa(void)
{
	struct guest g;
	struct kvm_s390_uvfio_ap ap;
	struct kvm_s390_uvfio_ap_qci q;
	uint8_t reply[1024];
	char ids[64], buf[256];

	mdev_create(UUID_A);
	mdev_assign(UUID_A, 4, 7, 7);
	guest_open(&g, UUID_A);
	vt_expect(!strcmp(mdev_show(UUID_A, "guest_matrix", buf, sizeof(buf)), "04.0007\n"));
	snprintf(ids, sizeof(ids), "/sys/devices/ap/card04/04.0007/status");
	vt_expect(!strcmp(read_str(ids, buf, sizeof(buf)), "in use\n"));

	ap = insn(&g, KVM_S390_UVFIO_AP_TAPQ, 0x0407);
	vt_expect_eq(ap.cc, 0);
	vt_expect_eq(ST_RC(ap.status), RC_NORMAL);
	vt_expect_eq((ap.info >> 24) & 0xff, 14);			/* CEX8 */
	vt_expect((ap.info >> 32) & (1u << 27));			/* accelerator */
	/* outside the APCB: another adapter, another domain, the host's queue */
	vt_expect_eq(tapq_rc(&g, 0x0507), RC_Q_NOT_AVAIL);
	vt_expect_eq(tapq_rc(&g, 0x0408), RC_Q_NOT_AVAIL);
	vt_expect_eq(tapq_rc(&g, 0x0004), RC_Q_NOT_AVAIL);
	vt_expect_eq(insn(&g, KVM_S390_UVFIO_AP_TAPQ, 0x0004).cc, 3);

	vt_expect_eq(nqap_rsa(&g, 0x0407, 0x1234), RC_NORMAL);
	ap = dqap_wait(&g, 0x0407, reply, sizeof(reply));
	vt_expect_eq(ST_RC(ap.status), RC_NORMAL);
	vt_expect_eq(ap.psmid, 0x1234);
	vt_expect_eq(reply_value(reply, ap.len), modexp(RSA_X, RSA_E, RSA_N));
	/* a request to a queue outside: 0x01, nothing enqueued anywhere */
	vt_expect_eq(nqap_rsa(&g, 0x0507, 0x99), RC_Q_NOT_AVAIL);

	q = qci(&g);
	vt_expect(!strcmp(qci_ids(q.apm, ids, sizeof(ids)), "4"));
	vt_expect(!strcmp(qci_ids(q.aqm, ids, sizeof(ids)), "7"));
	vt_expect(!strcmp(qci_ids(q.adm, ids, sizeof(ids)), "7"));
	guest_close(&g);
	vt_expect(!strcmp(read_str("/sys/devices/ap/card04/04.0007/status", buf, sizeof(buf)),
			  "assigned\n"));
	mdev_remove(UUID_A);
}

/* An administrator's assignment reaches the running guest at once. */
static void test_assign_hotplug(void)
{
	struct guest g;
	struct kvm_s390_uvfio_ap_qci q;
	char ids[64], buf[256];

	mdev_create(UUID_A);
	mdev_assign(UUID_A, 4, 7, -1);
	guest_open(&g, UUID_A);
	vt_expect_eq(tapq_rc(&g, 0x0407), RC_NORMAL);
	vt_expect_eq(tapq_rc(&g, 0x0408), RC_Q_NOT_AVAIL);

	vt_expect_eq(admin_store(mdev_path(UUID_A, "assign_domain"), "8\n"), 2);
	vt_expect_eq(tapq_rc(&g, 0x0408), RC_NORMAL);
	q = qci(&g);
	vt_expect(!strcmp(qci_ids(q.aqm, ids, sizeof(ids)), "7,8"));
	vt_expect_eq(admin_store(mdev_path(UUID_A, "assign_adapter"), "0x5"), 3);
	vt_expect_eq(tapq_rc(&g, 0x0507), RC_NORMAL);
	vt_expect_eq(tapq_rc(&g, 0x0508), RC_NORMAL);
	vt_expect_eq(admin_store(mdev_path(UUID_A, "assign_control_domain"), "11"), 2);
	q = qci(&g);
	vt_expect(!strcmp(qci_ids(q.apm, ids, sizeof(ids)), "4,5"));
	vt_expect(!strcmp(qci_ids(q.adm, ids, sizeof(ids)), "11"));
	vt_expect(!strcmp(mdev_show(UUID_A, "guest_matrix", buf, sizeof(buf)),
			  "04.0007\n04.0008\n05.0007\n05.0008\n"));
	guest_close(&g);
	mdev_remove(UUID_A);
}

/* A mask store that would take a guest's queue: EBUSY, nothing changes. */
static void test_mask_store_busy(void)
{
	char apm0[80], aqm0[80], apm1[80], aqm1[80], gm0[256], gm1[256], ids[64];
	struct guest g;
	struct kvm_s390_uvfio_ap_qci q0, q1;

	/* 00.0007: adapter 0 is the host's by apmask, domain 7 is not by aqmask */
	mdev_create(UUID_A);
	mdev_assign(UUID_A, 0, 7, 7);
	guest_open(&g, UUID_A);
	vt_expect_eq(tapq_rc(&g, 0x0007), RC_NORMAL);
	read_str(APMASK, apm0, sizeof(apm0));
	read_str(AQMASK, aqm0, sizeof(aqm0));
	mdev_show(UUID_A, "guest_matrix", gm0, sizeof(gm0));
	q0 = qci(&g);

	vt_expect_eq(admin_store(AQMASK, "+7"), -EBUSY);
	vt_expect_eq(admin_store(AQMASK, "+7-8\n"), -EBUSY);
	vt_expect_eq(admin_store(AQMASK, "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
					 "ffffffff"), -EBUSY);
	vt_expect(!strcmp(read_str(APMASK, apm1, sizeof(apm1)), apm0));
	vt_expect(!strcmp(read_str(AQMASK, aqm1, sizeof(aqm1)), aqm0));
	vt_expect(!strcmp(mdev_show(UUID_A, "guest_matrix", gm1, sizeof(gm1)), gm0));
	vt_expect(!strcmp(gm0, "00.0007\n"));
	q1 = qci(&g);
	vt_expect(!memcmp(&q0, &q1, sizeof(q0)));
	vt_expect(!strcmp(qci_ids(q1.apm, ids, sizeof(ids)), "0"));
	vt_expect_eq(tapq_rc(&g, 0x0007), RC_NORMAL);
	vt_expect(!strcmp(read_str("/sys/devices/ap/card00/00.0007/status", gm1, sizeof(gm1)),
			  "in use\n"));
	/* a store that takes nothing of it still works: domain 9 is the host's */
	vt_expect_eq(admin_store(AQMASK, "-9"), 2);
	vt_expect_eq(admin_store(AQMASK, "+9"), 2);
	vt_expect(!strcmp(read_str(AQMASK, aqm1, sizeof(aqm1)), aqm0));

	guest_close(&g);
	/* once the mdev no longer has it, the host may take it back */
	vt_expect_eq(mdev_store(UUID_A, "unassign_domain", "7"), 1);
	vt_expect_eq(admin_store(AQMASK, "+7"), 2);
	vt_expect_eq(mdev_store(UUID_A, "assign_domain", "7"), -EADDRNOTAVAIL);
	vt_expect_eq(admin_store(AQMASK, "-7"), 2);
	vt_expect(!strcmp(read_str(AQMASK, aqm1, sizeof(aqm1)), aqm0));
	mdev_remove(UUID_A);
}

/* Unassigned: the guest loses the queue; its pending request is zeroized. */
static void test_unassign_zeroize(void)
{
	struct guest a, b;
	struct kvm_s390_uvfio_ap ap;
	uint8_t reply[1024];
	char buf[256];

	mdev_create(UUID_A);
	mdev_assign(UUID_A, 5, 7, -1);
	mdev_assign(UUID_A, -1, 8, -1);
	guest_open(&a, UUID_A);
	vt_expect_eq(nqap_rsa(&a, 0x0507, 0xa1), RC_NORMAL);
	vt_expect_eq(nqap_rsa(&a, 0x0507, 0xa2), RC_NORMAL);
	vt_expect(queue_holds_work(&a, 0x0507));

	vt_expect_eq(admin_store(mdev_path(UUID_A, "unassign_domain"), "7\n"), 2);
	vt_expect_eq(tapq_rc(&a, 0x0507), RC_Q_NOT_AVAIL);
	ap = insn(&a, KVM_S390_UVFIO_AP_DQAP, 0x0507);
	vt_expect_eq(ST_RC(ap.status), RC_Q_NOT_AVAIL);
	vt_expect_eq(tapq_rc(&a, 0x0508), RC_NORMAL);	/* the rest stays */
	vt_expect(!strcmp(read_str("/sys/devices/ap/card05/05.0007/status", buf, sizeof(buf)),
			  "unassigned\n"));

	/* The queue's next owner: empty, no reply of A's to dequeue. */
	mdev_create(UUID_B);
	mdev_assign(UUID_B, 5, 7, -1);
	guest_open(&b, UUID_B);
	ap = insn(&b, KVM_S390_UVFIO_AP_TAPQ, 0x0507);
	vt_expect_eq(ST_RC(ap.status), RC_NORMAL);
	vt_expect(ap.status & ST_EMPTY);
	vt_expect(!(ap.status & ST_REPLIES));
	ap = dqap_wait(&b, 0x0507, reply, sizeof(reply));
	vt_expect_eq(ST_RC(ap.status), RC_NO_PENDING_REPLY);
	/* and B's own request works */
	vt_expect_eq(nqap_rsa(&b, 0x0507, 0xb1), RC_NORMAL);
	ap = dqap_wait(&b, 0x0507, reply, sizeof(reply));
	vt_expect_eq(ST_RC(ap.status), RC_NORMAL);
	vt_expect_eq(ap.psmid, 0xb1);
	vt_expect_eq(reply_value(reply, ap.len), modexp(RSA_X, RSA_E, RSA_N));
	guest_close(&b);
	guest_close(&a);
	mdev_remove(UUID_B);
	mdev_remove(UUID_A);
}

/* The machine loses an adapter and gets it back (uvfio ap config). */
static void test_config_change(void)
{
	char out[4096], ids[64], buf[256];
	struct guest g;
	struct kvm_s390_uvfio_ap_qci q;

	mdev_create(UUID_A);
	mdev_assign(UUID_A, 4, 7, 7);
	mdev_assign(UUID_A, 5, -1, -1);
	guest_open(&g, UUID_A);
	vt_expect_eq(tapq_rc(&g, 0x0507), RC_NORMAL);
	vt_expect_eq(nqap_rsa(&g, 0x0507, 0xc1), RC_NORMAL);

	/* only root may change the machine's configuration */
	vt_expect_eq(uvfio_cmd(out, sizeof(out), 65534,
			       (char *[]){ "ap", "config", "remove-adapter", "5", NULL }), 1);
	vt_expect(strstr(out, "only root") != NULL);
	vt_expect_eq(tapq_rc(&g, 0x0507), RC_NORMAL);

	vt_expect_eq(uvfio_cmd(out, sizeof(out), 0,
			       (char *[]){ "ap", "config", "remove-adapter", "5", NULL }), 0);
	vt_expect(strstr(out, "remove-adapter 5: done") != NULL);
	vt_expect_eq(tapq_rc(&g, 0x0507), RC_Q_NOT_AVAIL);
	vt_expect_eq(tapq_rc(&g, 0x0407), RC_NORMAL);
	q = qci(&g);
	vt_expect(!strcmp(qci_ids(q.apm, ids, sizeof(ids)), "4"));
	vt_expect(!strcmp(mdev_show(UUID_A, "guest_matrix", buf, sizeof(buf)), "04.0007\n"));
	vt_expect(!strcmp(mdev_show(UUID_A, "matrix", buf, sizeof(buf)), "04.0007\n05.0007\n"));
	vt_expect(access("/sys/devices/ap/card05", F_OK) != 0);
	/* the same again changes nothing */
	vt_expect_eq(uvfio_cmd(out, sizeof(out), 0,
			       (char *[]){ "ap", "config", "remove-adapter", "5", NULL }), 0);
	vt_expect(strstr(out, "no change") != NULL);

	vt_expect_eq(uvfio_cmd(out, sizeof(out), 0,
			       (char *[]){ "ap", "config", "add-adapter", "5", NULL }), 0);
	vt_expect_eq(tapq_settled(&g, 0x0507), RC_NORMAL);
	/* it comes back reset: the request left before is gone */
	vt_expect(!queue_holds_work(&g, 0x0507));
	q = qci(&g);
	vt_expect(!strcmp(qci_ids(q.apm, ids, sizeof(ids)), "4,5"));
	vt_expect(!strcmp(mdev_show(UUID_A, "guest_matrix", buf, sizeof(buf)),
			  "04.0007\n05.0007\n"));

	/* a usage domain out of the machine and back; a control domain */
	vt_expect_eq(uvfio_cmd(out, sizeof(out), 0,
			       (char *[]){ "ap", "config", "remove-domain", "7", NULL }), 0);
	vt_expect_eq(tapq_rc(&g, 0x0407), RC_Q_NOT_AVAIL);
	/* no domain left: the adapters alone, in matrix_show's format */
	vt_expect(!strcmp(mdev_show(UUID_A, "guest_matrix", buf, sizeof(buf)), "04.\n05.\n"));
	q = qci(&g);
	vt_expect(!strcmp(qci_ids(q.aqm, ids, sizeof(ids)), ""));
	vt_expect_eq(uvfio_cmd(out, sizeof(out), 0,
			       (char *[]){ "ap", "config", "add-domain", "7", NULL }), 0);
	vt_expect_eq(tapq_rc(&g, 0x0407), RC_NORMAL);
	vt_expect_eq(uvfio_cmd(out, sizeof(out), 0,
			       (char *[]){ "ap", "config", "remove-control-domain", "7", NULL }),
		     0);
	q = qci(&g);
	vt_expect(!strcmp(qci_ids(q.adm, ids, sizeof(ids)), ""));
	vt_expect_eq(uvfio_cmd(out, sizeof(out), 0,
			       (char *[]){ "ap", "config", "add-control-domain", "7", NULL }), 0);
	q = qci(&g);
	vt_expect(!strcmp(qci_ids(q.adm, ids, sizeof(ids)), "7"));
	/* refusals: an adapter that is not installed, an id past the maxima */
	vt_expect_eq(uvfio_cmd(out, sizeof(out), 0,
			       (char *[]){ "ap", "config", "add-adapter", "9", NULL }), 1);
	vt_expect(strstr(out, "no such adapter") != NULL);
	vt_expect_eq(uvfio_cmd(out, sizeof(out), 0,
			       (char *[]){ "ap", "config", "add-domain", "40", NULL }), 1);
	vt_expect_eq(uvfio_cmd(out, sizeof(out), 0,
			       (char *[]){ "ap", "config", "add-domain", "x", NULL }), 2);
	guest_close(&g);
	mdev_remove(UUID_A);
}

/* One UVP_AP_CONFIG round trip on a fresh control connection, as any
 * client may send it: the reply's ret. */
static long ap_config_raw(uint32_t op, const void *body, uint32_t len)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct uvp_req req = { .op = op, .len = len };
	struct uvp_reply rep = { 0 };
	struct iovec iov[2] = { { &req, sizeof(req) }, { (void *)body, len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	long ret = -EIO;

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/" UVP_SOCKET_NAME,
		 getenv("UVFIO_RUNTIME"));
	if (fd >= 0 && !connect(fd, (struct sockaddr *)&addr, sizeof(addr)) &&
	    sendmsg(fd, &mh, 0) == (ssize_t)(sizeof(req) + len) &&
	    recv(fd, &rep, sizeof(rep), 0) >= (ssize_t)sizeof(rep))
		ret = (long)rep.ret;
	if (fd >= 0)
		close(fd);
	return ret;
}

/* The admin op checks what it is sent; the machine checks the ids. */
static void test_ap_config_op(void)
{
	struct uvp_ap_config c = { .op = UVP_AP_ADAPTER_REMOVE, .id = 5 };
	uint32_t shorter = UVP_AP_ADAPTER_REMOVE;

	vt_require(getenv("UVFIO_RUNTIME"));
	vt_expect_eq(ap_config_raw(UVP_AP_CONFIG, &shorter, sizeof(shorter)), -EINVAL);
	c.op = 0;
	vt_expect_eq(ap_config_raw(UVP_AP_CONFIG, &c, sizeof(c)), -EINVAL);
	c.op = UVP_AP_ADAPTER_CHKSTOP_CLEAR + 1;
	vt_expect_eq(ap_config_raw(UVP_AP_CONFIG, &c, sizeof(c)), -EINVAL);
	c = (struct uvp_ap_config){ .op = UVP_AP_DOMAIN_ADD, .id = 32 };	/* > Nd 31 */
	vt_expect_eq(ap_config_raw(UVP_AP_CONFIG, &c, sizeof(c)), -EINVAL);
	c = (struct uvp_ap_config){ .op = UVP_AP_ADAPTER_ADD, .id = 6 };	/* not installed */
	vt_expect_eq(ap_config_raw(UVP_AP_CONFIG, &c, sizeof(c)), -ENODEV);
	/* the checkstop pair, which the CLI offers too: the guest sees it */
	{
		struct guest g;

		mdev_create(UUID_A);
		mdev_assign(UUID_A, 4, 7, -1);
		guest_open(&g, UUID_A);
		c = (struct uvp_ap_config){ .op = UVP_AP_ADAPTER_CHKSTOP, .id = 4 };
		vt_expect_eq(ap_config_raw(UVP_AP_CONFIG, &c, sizeof(c)), 1);
		vt_expect_eq(tapq_rc(&g, 0x0407), 0x04);	/* CHECKSTOPPED */
		vt_expect_eq(ap_config_raw(UVP_AP_CONFIG, &c, sizeof(c)), 0);
		c.op = UVP_AP_ADAPTER_CHKSTOP_CLEAR;
		vt_expect_eq(ap_config_raw(UVP_AP_CONFIG, &c, sizeof(c)), 1);
		/* the adapter comes back through a reset */
		vt_expect_eq(tapq_settled(&g, 0x0407), RC_NORMAL);
		guest_close(&g);
		mdev_remove(UUID_A);
	}
}

/* open needs a KVM (KVM_DEV_VFIO_FILE_ADD first); one mdev per VM. */
static void test_open_rules(void)
{
	struct guest g, h;

	mdev_create(UUID_A);
	mdev_create(UUID_B);
	mdev_assign(UUID_A, 4, 7, -1);
	mdev_assign(UUID_B, 5, 8, -1);

	guest_vm(&g);
	guest_group(&g, UUID_A, false);
	vt_expect_errno(ioctl(g.group, VFIO_GROUP_GET_DEVICE_FD, UUID_A), EINVAL);
	vt_expect_eq(file_add(g.kvm_dev, g.group), 0);
	g.device = ioctl(g.group, VFIO_GROUP_GET_DEVICE_FD, UUID_A);
	vt_expect(g.device >= 0);

	/* B's group in the same container and VM: its open is refused */
	h = g;
	h.group = -1;
	guest_group(&h, UUID_B, true);
	vt_expect_errno(ioctl(h.group, VFIO_GROUP_GET_DEVICE_FD, UUID_B), EPERM);
	close(h.group);
	guest_close(&g);

	/* the cdev path: BIND_IOMMUFD is the open */
	{
		char path[256], link[300] = "";
		struct dirent *e;
		DIR *d;
		struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
		int dev, iommufd;

		snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/vfio-dev", UUID_A);
		d = opendir(path);
		vt_require(d);
		while ((e = readdir(d)))
			if (!strncmp(e->d_name, "vfio", 4))
				snprintf(link, sizeof(link), "/dev/vfio/devices/%s", e->d_name);
		closedir(d);
		guest_vm(&g);
		dev = open(link, O_RDWR | O_CLOEXEC);
		iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
		vt_require(dev >= 0 && iommufd >= 0);
		bind.iommufd = iommufd;
		vt_expect_errno(ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind), EINVAL);
		close(dev);
		dev = open(link, O_RDWR | O_CLOEXEC);
		vt_require(dev >= 0);
		vt_expect_eq(file_add(g.kvm_dev, dev), 0);
		vt_expect_eq(ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind), 0);
		vt_expect_eq(tapq_rc(&g, 0x0407), RC_NORMAL);
		close(dev);
		close(iommufd);
		guest_close(&g);
	}
	mdev_remove(UUID_B);
	mdev_remove(UUID_A);
}

/* kernel-uapi.md 5.4, every row, through FUSE; a refused store changes nothing. */
static void test_assign_errnos(void)
{
	static const char *const stores[] = { "assign_adapter", "assign_domain" };
	char before[512], after[512];

	mdev_create(UUID_A);
	mdev_create(UUID_B);
	mdev_assign(UUID_A, 4, 7, -1);
	for (int i = 0; i < 2; i++) {
		const char *s = stores[i];

		mdev_show(UUID_B, "ap_config", before, sizeof(before));
		vt_expect_eq(mdev_store(UUID_B, s, "four"), -EINVAL);
		vt_expect_eq(mdev_store(UUID_B, s, "-1"), -EINVAL);
		vt_expect_eq(mdev_store(UUID_B, s, "4x"), -EINVAL);
		vt_expect_eq(mdev_store(UUID_B, s, "4\n\n"), -EINVAL);
		vt_expect_eq(mdev_store(UUID_B, s, i ? "32" : "64"), -ENODEV);
		vt_expect_eq(mdev_store(UUID_B, s, "0x100"), -ENODEV);
		vt_expect(!strcmp(mdev_show(UUID_B, "ap_config", after, sizeof(after)), before));
	}
	/* the maxima themselves are fine (over-provisioning: not installed) */
	vt_expect_eq(mdev_store(UUID_B, "assign_adapter", "63"), 2);
	vt_expect_eq(mdev_store(UUID_B, "assign_domain", "0x1f"), 4);
	vt_expect_eq(mdev_store(UUID_B, "assign_adapter", "077"), 3);	/* octal 63 again: no-op */
	vt_expect_eq(mdev_store(UUID_B, "unassign_adapter", "63"), 2);
	vt_expect_eq(mdev_store(UUID_B, "unassign_domain", "31"), 2);

	/* EADDRNOTAVAIL: 00.0004 is reserved for the host's zcrypt */
	vt_expect_eq(mdev_store(UUID_B, "assign_domain", "4"), 1);
	mdev_show(UUID_B, "ap_config", before, sizeof(before));
	vt_expect_eq(mdev_store(UUID_B, "assign_adapter", "0"), -EADDRNOTAVAIL);
	vt_expect(!strcmp(mdev_show(UUID_B, "ap_config", after, sizeof(after)), before));
	vt_expect_eq(mdev_store(UUID_B, "unassign_domain", "4"), 1);
	vt_expect_eq(mdev_store(UUID_B, "assign_adapter", "0"), 1);
	vt_expect_eq(mdev_store(UUID_B, "assign_domain", "5"), -EADDRNOTAVAIL);
	vt_expect_eq(mdev_store(UUID_B, "unassign_adapter", "0"), 1);

	/* EADDRINUSE: 04.0007 is A's */
	vt_expect_eq(mdev_store(UUID_B, "assign_domain", "7"), 1);
	mdev_show(UUID_B, "ap_config", before, sizeof(before));
	vt_expect_eq(mdev_store(UUID_B, "assign_adapter", "4"), -EADDRINUSE);
	vt_expect(!strcmp(mdev_show(UUID_B, "ap_config", after, sizeof(after)), before));
	vt_expect_eq(mdev_store(UUID_B, "unassign_domain", "7"), 1);
	vt_expect_eq(mdev_store(UUID_B, "assign_adapter", "4"), 1);
	vt_expect_eq(mdev_store(UUID_B, "assign_domain", "7"), -EADDRINUSE);
	/* no-op success: assigned already */
	vt_expect_eq(mdev_store(UUID_B, "assign_adapter", "4\n"), 2);

	/* unassign: parse and range rows; an id not assigned succeeds */
	for (int i = 0; i < 3; i++) {
		static const char *const un[] = { "unassign_adapter", "unassign_domain",
						  "unassign_control_domain" };

		vt_expect_eq(mdev_store(UUID_B, un[i], "x"), -EINVAL);
		vt_expect_eq(mdev_store(UUID_B, un[i], "256"), -ENODEV);
		vt_expect_eq(mdev_store(UUID_B, un[i], "9"), 1);
	}
	/* control domains: no reservation or sharing checks */
	vt_expect_eq(mdev_store(UUID_A, "assign_control_domain", "4"), 1);
	vt_expect_eq(mdev_store(UUID_B, "assign_control_domain", "4"), 1);
	vt_expect_eq(mdev_store(UUID_B, "assign_control_domain", "y"), -EINVAL);
	vt_expect_eq(mdev_store(UUID_B, "assign_control_domain", "32"), -ENODEV);
	vt_expect(!strcmp(mdev_show(UUID_A, "control_domains", before, sizeof(before)),
			  "0004\n"));
	vt_expect(!strcmp(mdev_show(UUID_B, "control_domains", before, sizeof(before)),
			  "0004\n"));
	mdev_remove(UUID_B);
	mdev_remove(UUID_A);
}

/* ap_config: the whole matrix at once, or nothing. */
static void test_ap_config_errnos(void)
{
	static const char *const bad[] = {
		"0x00", "0x80,0x01", "0xzz,0x01,0x01",
		"0x80;0x01;0x01", "80 ,01,01",
	};
	char z[70], m[3][70], v[240], before[240], after[240];

	memset(z, '0', 64);
	z[64] = '\0';
	mdev_create(UUID_A);
	mdev_create(UUID_B);
	vt_expect(!strcmp(mdev_show(UUID_A, "ap_config", before, sizeof(before)),
			  "0x0000000000000000000000000000000000000000000000000000000000000000,"
			  "0x0000000000000000000000000000000000000000000000000000000000000000,"
			  "0x0000000000000000000000000000000000000000000000000000000000000000\n"));
	/* adapters 4,5; domains 7,8; control domain 7 */
	snprintf(m[0], sizeof(m[0]), "0x0c%.62s", z);
	snprintf(m[1], sizeof(m[1]), "0x0180%.60s", z);
	snprintf(m[2], sizeof(m[2]), "0x01%.62s", z);
	snprintf(v, sizeof(v), "%s,%s,%s\n", m[0], m[1], m[2]);
	vt_expect_eq(mdev_store(UUID_A, "ap_config", v), (int)strlen(v));
	vt_expect(!strcmp(mdev_show(UUID_A, "matrix", after, sizeof(after)),
			  "04.0007\n04.0008\n05.0007\n05.0008\n"));
	vt_expect(!strcmp(mdev_show(UUID_A, "ap_config", after, sizeof(after)), v));

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vt_expect_eq(mdev_store(UUID_A, "ap_config", bad[i]), -EINVAL);
		vt_expect(!strcmp(mdev_show(UUID_A, "ap_config", after, sizeof(after)), v));
	}
	/* as the kernel's strsep parsing: what follows the third mask is not
	 * looked at */
	snprintf(v, sizeof(v), "%s,%s,%s,junk", m[0], m[1], m[2]);
	vt_expect_eq(mdev_store(UUID_A, "ap_config", v), (int)strlen(v));
	snprintf(v, sizeof(v), "%s,%s,%s\n", m[0], m[1], m[2]);
	vt_expect(!strcmp(mdev_show(UUID_A, "ap_config", after, sizeof(after)), v));
	/* adapter 64 > ap_max_adapter_id 63 */
	snprintf(v, sizeof(v), "0x%.16s8%.47s,%s,%s", z, z, m[1], m[2]);
	vt_expect_eq(mdev_store(UUID_B, "ap_config", v), -ENODEV);
	/* domain 32 > 31 */
	snprintf(v, sizeof(v), "%s,0x%.8s8%.55s,%s", m[0], z, z, m[2]);
	vt_expect_eq(mdev_store(UUID_B, "ap_config", v), -ENODEV);
	/* adapter 5, domain 8: A's */
	snprintf(v, sizeof(v), "0x04%.62s,0x0080%.60s,%s", z, z, m[2]);
	vt_expect_eq(mdev_store(UUID_B, "ap_config", v), -EADDRINUSE);
	/* adapter 0, domain 4: the host's */
	snprintf(v, sizeof(v), "0x80%.62s,0x08%.62s,%s", z, z, m[2]);
	vt_expect_eq(mdev_store(UUID_B, "ap_config", v), -EADDRNOTAVAIL);
	vt_expect(!strcmp(mdev_show(UUID_B, "matrix", after, sizeof(after)), ""));
	/* clearing it all is a store like any other */
	snprintf(v, sizeof(v), "0x%s,0x%s,0x%s", z, z, z);
	vt_expect_eq(mdev_store(UUID_A, "ap_config", v), (int)strlen(v));
	vt_expect(!strcmp(mdev_show(UUID_A, "matrix", after, sizeof(after)), ""));
	mdev_remove(UUID_B);
	mdev_remove(UUID_A);
}

/* apmask / aqmask through FUSE: both formats; malformed input EINVAL and
 * nothing changed; the show format. */
static void test_mask_formats(void)
{
	static const char *const bad[] = {
		"0x" "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",	/* 65 */
		"0xfg", "0x f0", "+256", "-0-256", "+5-3", "+", "+1,,2", "*1", "+1;2",
		"0xf0\n\n", "-abc",
	};
	char apm0[80], aqm0[80], now[80];

	read_str(APMASK, apm0, sizeof(apm0));
	read_str(AQMASK, aqm0, sizeof(aqm0));
	vt_expect(!strcmp(apm0, "0xf000000000000000000000000000000000000000000000000000000000000000\n"));
	vt_expect(!strcmp(aqm0, "0xfe7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\n"));
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vt_expect_eq(vt_write_str(APMASK, bad[i]), -EINVAL);
		vt_expect_eq(vt_write_str(AQMASK, bad[i]), -EINVAL);
	}
	vt_expect(!strcmp(read_str(APMASK, now, sizeof(now)), apm0));
	vt_expect(!strcmp(read_str(AQMASK, now, sizeof(now)), aqm0));

	/* relative: terms in order, the last wins, decimal/hex/octal numbers */
	vt_expect_eq(vt_write_str(APMASK, "+0x20,-1-2,+010"), 15);
	vt_expect(!strcmp(read_str(APMASK, now, sizeof(now)),
			  "0x9080000080000000000000000000000000000000000000000000000000000000\n"));
	/* absolute: from the left, padded with zeros; "x" and no prefix too */
	vt_expect_eq(vt_write_str(APMASK, "f"), 1);
	vt_expect(!strcmp(read_str(APMASK, now, sizeof(now)),
			  "0xf000000000000000000000000000000000000000000000000000000000000000\n"));
	vt_expect_eq(vt_write_str(APMASK, "0xf0\n"), 5);
	vt_expect(!strcmp(read_str(APMASK, now, sizeof(now)), apm0));
	/* queues move between drivers with the masks */
	vt_expect_eq(vt_write_str(APMASK, "+4"), 2);
	vt_expect(access("/sys/bus/ap/drivers/cex4queue/04.0004", F_OK) == 0);
	vt_expect_eq(vt_write_str(APMASK, "-4"), 2);
	vt_expect(access("/sys/bus/ap/drivers/vfio_ap/04.0004", F_OK) == 0);
	vt_expect(!strcmp(read_str(APMASK, now, sizeof(now)), apm0));
	vt_expect_eq(vt_write_str(AQMASK, "-0-255,+0-6,+9-0xff"), 19);
	vt_expect(!strcmp(read_str(AQMASK, now, sizeof(now)), aqm0));
}

/* `uvfio guest` and `uvfio ap`, as an administrator uses them. */
static void test_cli(void)
{
	char out[8192], want[128], n[40], x[40], vmline[128];
	struct guest g;
	int lead = 0;

	mdev_create(UUID_C);
	mdev_assign(UUID_C, 4, 8, 8);
	/* the mask stores of earlier cases re-probed this queue: let its reset end */
	guest_open(&g, UUID_C);
	tapq_settled(&g, 0x0408);
	guest_close(&g);
	snprintf(n, sizeof(n), "%llx", (unsigned long long)RSA_N);
	snprintf(x, sizeof(x), "%llx", (unsigned long long)RSA_X);
	vt_expect_eq(uvfio_cmd(out, sizeof(out), 0,
			       (char *[]){ "guest", "--mdev", UUID_C, "--", "tapq", "04.0008",
					   "nqap-rsa", "04.0008", "10001", n, x, "dqap", "04.0008",
					   "nqap-rsa", "04.0008", "3", "0x17", "2", "zapq", "04.0008",
					   "dqap", "04.0008", "tapq", "05.0008", "qci", NULL }), 0);
	/* the result's bytes from the first non-zero one */
	snprintf(n, sizeof(n), "%016llx", (unsigned long long)modexp(RSA_X, RSA_E, RSA_N));
	while (!strncmp(n + lead, "00", 2))
		lead += 2;
	snprintf(want, sizeof(want), "dqap 04.0008: cc 0 rc 0x00 E psmid 1 result 0x%s\n",
		 n + lead);
	vt_expect(strstr(out, want) != NULL);
	vt_expect(strstr(out, "tapq 04.0008: cc 0 rc 0x00") != NULL);
	vt_expect(strstr(out, "nqap 04.0008: cc 0 rc 0x00") != NULL);
	/* a request zeroized before it was dequeued is gone */
	vt_expect(strstr(out, "nqap 04.0008: cc 0 rc 0x00 psmid 2\n") != NULL);
	vt_expect(strstr(out, "zapq 04.0008: cc 0 rc 0x00") != NULL);
	vt_expect(strstr(out, "rc 0x10 E\ntapq 05.0008") != NULL ||
		  strstr(out, "rc 0x02 E\ntapq 05.0008") != NULL);
	vt_expect(strstr(out, "tapq 05.0008: cc 3 rc 0x01") != NULL);
	vt_expect(strstr(out, "qci: cc 0 apm 04 aqm 0008 adm 0008\n") != NULL);
	if (vt_case_failed())
		printf("# uvfio guest said:\n%s", out);
	/* the cdev path too */
	vt_expect_eq(uvfio_cmd(out, sizeof(out), 0,
			       (char *[]){ "guest", "--mdev", UUID_C, "--cdev", "--", "tapq",
					   "0x408", NULL }), 0);
	vt_expect(strstr(out, "tapq 04.0008: cc 0 rc 0x00") != NULL);
	vt_expect_eq(uvfio_cmd(out, sizeof(out), 0,
			       (char *[]){ "guest", "--mdev", UUID_C, "--", "frob", NULL }), 1);

	/* uvfio ap: the queue's owner is the guest holding the mdev */
	mdev_assign(UUID_C, 5, -1, -1);
	guest_open(&g, UUID_C);
	vt_expect_eq(uvfio_cmd(out, sizeof(out), 0, (char *[]){ "ap", NULL }), 0);
	vt_expect(strstr(out, "04.0008  CEX8A Accelerator") != NULL);
	snprintf(want, sizeof(want), "(mdev %s)", UUID_C);
	vt_expect(strstr(out, want) != NULL);
	snprintf(vmline, sizeof(vmline), "mdev %s: in use by vm ", UUID_C);
	vt_expect(strstr(out, vmline) != NULL);
	snprintf(want, sizeof(want), "    %-16s 04.0008 05.0008\n", "matrix");
	vt_expect(strstr(out, want) != NULL);
	snprintf(want, sizeof(want), "    %-16s 04.0008 05.0008\n", "guest_matrix");
	vt_expect(strstr(out, want) != NULL);
	snprintf(want, sizeof(want), "    %-16s 0008\n", "control_domains");
	vt_expect(strstr(out, want) != NULL);
	vt_expect(strstr(out, "host") != NULL);
	if (vt_case_failed())
		printf("# uvfio ap said:\n%s", out);
	guest_close(&g);
	vt_expect_eq(uvfio_cmd(out, sizeof(out), 0, (char *[]){ "ap", NULL }), 0);
	snprintf(want, sizeof(want), "vfio_ap   mdev %s", UUID_C);
	vt_expect(strstr(out, want) != NULL);
	snprintf(vmline, sizeof(vmline), "mdev %s: not opened with a VM", UUID_C);
	vt_expect(strstr(out, vmline) != NULL);
	mdev_remove(UUID_C);
}

int main(int argc, char **argv)
{
	static const struct vt_case cases[] = {
		{ "guest_rsa", test_guest_rsa, 0 },
		{ "assign_hotplug", test_assign_hotplug, 0 },
		{ "mask_store_busy", test_mask_store_busy, 0 },
		{ "unassign_zeroize", test_unassign_zeroize, 0 },
		{ "config_change", test_config_change, 0 },
		{ "ap_config_op", test_ap_config_op, 0 },
		{ "open_rules", test_open_rules, 0 },
		{ "assign_errnos", test_assign_errnos, 0 },
		{ "ap_config_errnos", test_ap_config_errnos, 0 },
		{ "mask_formats", test_mask_formats, 0 },
		{ "cli", test_cli, 0 },
	};
	return vt_main_host(argc, argv, cases, sizeof(cases) / sizeof(cases[0]), host_json);
}
