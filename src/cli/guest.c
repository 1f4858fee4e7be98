// SPDX-License-Identifier: MIT
/*
 * uvfio guest: a simulated s390 guest with a vfio_ap mediated device.
 *
 *   uvfio guest [--runtime DIR] --mdev UUID [--group N | --cdev] -- INSN...
 *
 * The process does what QEMU does for a vfio-ap device, then executes AP
 * instructions as its guest would: it creates a VM and its KVM-VFIO
 * device, registers the mdev's group (or its device cdev) with the VM
 * (KVM_DEV_VFIO_FILE_ADD), opens the device (GET_DEVICE_FD, or
 * BIND_IOMMUFD for the cdev) - vfio_ap then programs the VM's APCB - and
 * runs each INSN through the VM ioctl KVM_S390_UVFIO_AP
 * (include/uapi/linux/uvfio_s390_ap.h), printing what the guest sees.
 *
 * It speaks the protocol itself (src/client) instead of running under the
 * shim: the host's KVM is the one that knows s390 crypto, and the shim
 * only serves /dev/kvm when the topology asks for it (limits.kvm), while a
 * protocol client can always open the host's node.  Pointer arguments
 * (the KVM-VFIO file fd, the device name, message buffers) reach the
 * daemon through this process's memory handle, registered by HELLO.
 *
 * Instructions (APQN: "AA.DDDD" in hex as sysfs names queues, or a number):
 *   tapq APQN             status word and GR2 (type, mode, domains)
 *   nqap-rsa APQN E N X   a type 50 RSA mod-expo request X^E mod N (hex),
 *                         psmid 1, 2, ... in order
 *   dqap APQN             waits up to 5 s for a reply; a type 80 reply
 *                         prints the result (hex), a type 82/88 its code
 *   rapq APQN, zapq APQN  reset, reset and zeroize
 *   qci                   the adapters, usage and control domains of the APCB
 *   sleep MS              wait
 *   wait                  wait for a line on stdin (another process acts)
 * Output: one line per instruction, "INSN APQN: cc C rc 0xRR ...".  Exit 0
 * when every instruction could be executed (whatever its response code).
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <linux/vfio.h>
#include "uapi/linux/kvm_6_12.h"
#include "uapi/linux/vfio_cdev.h"
#include "uapi/linux/uvfio_s390_ap.h"
#include "cli.h"
#include "client/uvp_client.h"

/* The type 50 MEB formats (the accelerator's RSA mod-expo request). */
#define TYPE50_TYPE_CODE	0x50
#define TYPE80_RSP_CODE		0x80
#define GUEST_REPLY_MAX		(64 * 1024)

struct guest {
	const char *rt;
	const char *uuid;
	int ctl, kvm, vm, kvm_dev;
	int container, group, iommufd, device;
	uint64_t next_psmid;
};

/* ---- the protocol ------------------------------------------------------------------- */

/* An ioctl on a channel with the struct inline; fds named inside it attached. */
static long guest_ioctl(int chan, unsigned long cmd, void *arg, size_t size, const int *fds,
			unsigned int nfds)
{
	return uvp_ioctl(chan, (uint32_t)cmd, (uint64_t)(uintptr_t)arg, arg, (uint32_t)size, fds,
			 nfds, NULL, 0, NULL);
}

/*
 * KVM_CREATE_DEVICE: the new file comes back as the reply's channel while
 * the struct's fd says UVP_NEWFD(0) (uvp_ioctl keeps only a returned fd).
 */
static int guest_create_device(struct guest *g, uint32_t type)
{
	struct kvm_create_device cd = { .type = type };
	struct uvp_ioctl io = {
		.cmd = KVM_CREATE_DEVICE, .arg = (uint64_t)(uintptr_t)&cd,
		.stage_uaddr = (uint64_t)(uintptr_t)&cd, .stage_len = sizeof(cd),
	};
	struct iovec body[2] = { { &io, sizeof(io) }, { &cd, sizeof(cd) } };
	int rfds[UVP_MAX_FDS];
	struct uvp_call c = {
		.op = UVP_IOCTL, .body = body, .nbody = 2, .rbody = &cd, .rmax = sizeof(cd),
		.rfds = rfds, .rmaxfds = UVP_MAX_FDS,
	};
	long ret = uvp_call(g->vm, &c);
	int fd = -1;

	for (unsigned int i = 0; i < c.rnfds; i++) {
		if (ret == 0 && cd.fd == UVP_NEWFD(i) && fd < 0)
			fd = rfds[i];
		else
			close(rfds[i]);
	}
	if (ret < 0)
		return (int)ret;
	return fd >= 0 ? fd : -EPROTO;
}

static void guest_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void guest_exit(struct guest *g)
{
	/* the device first: its close resets the queues and clears the APCB */
	guest_close(&g->device);
	guest_close(&g->group);
	guest_close(&g->container);
	guest_close(&g->iommufd);
	guest_close(&g->kvm_dev);
	guest_close(&g->vm);
	guest_close(&g->kvm);
	guest_close(&g->ctl);
}

static int guest_fail(const char *what, long err)
{
	fprintf(stderr, "uvfio guest: %s: %s\n", what, strerror((int)-err));
	return (int)err;
}

/* ---- setting up: VM, KVM-VFIO, the mdev --------------------------------------------- */

/* The mdev's IOMMU group number from sysfs, or -errno. */
static int guest_group_of(struct guest *g)
{
	char path[PATH_MAX], link[PATH_MAX];
	const char *base;
	ssize_t n;

	if (cli_path(path, sizeof(path), "%s/sys/bus/mdev/devices/%s/iommu_group", g->rt,
		     g->uuid))
		return -ENAMETOOLONG;
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	base = strrchr(link, '/');
	return atoi(base ? base + 1 : link);
}

/* The mdev's cdev node /dev/vfio/devices/vfioN into buf. */
static int guest_cdev_of(struct guest *g, char *buf, size_t size)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int ret = -ENOENT;

	if (cli_path(path, sizeof(path), "%s/sys/bus/mdev/devices/%s/vfio-dev", g->rt, g->uuid))
		return -ENAMETOOLONG;
	d = opendir(path);
	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "vfio", 4)) {
			ret = cli_path(buf, size, "/dev/vfio/devices/%s", e->d_name);
			break;
		}
	closedir(d);
	return ret;
}

static int guest_vm(struct guest *g)
{
	long ret;

	g->kvm = uvp_open(g->ctl, "/dev/kvm", O_RDWR);
	if (g->kvm < 0)
		return guest_fail("open /dev/kvm", g->kvm);
	ret = uvp_ioctl(g->kvm, KVM_CREATE_VM, 0, NULL, 0, NULL, 0, NULL, 0, &g->vm);
	if (ret < 0)
		return guest_fail("KVM_CREATE_VM", ret);
	ret = guest_create_device(g, KVM_DEV_TYPE_VFIO);
	if (ret < 0)
		return guest_fail("KVM_CREATE_DEVICE(VFIO)", ret);
	g->kvm_dev = (int)ret;
	return 0;
}

/* KVM_DEV_VFIO_FILE_ADD of a group or device fd. */
static int guest_file_add(struct guest *g, int fd)
{
	int32_t num = fd;	/* read by the daemon through the memory handle */
	struct kvm_device_attr attr = {
		.group = KVM_DEV_VFIO_FILE, .attr = KVM_DEV_VFIO_FILE_ADD,
		.addr = (uint64_t)(uintptr_t)&num,
	};
	long ret = guest_ioctl(g->kvm_dev, KVM_SET_DEVICE_ATTR, &attr, sizeof(attr), &fd, 1);

	return ret < 0 ? guest_fail("KVM_DEV_VFIO_FILE_ADD", ret) : 0;
}

static int guest_open_group(struct guest *g, int group)
{
	char path[64];
	long ret;

	if (group < 0)
		group = guest_group_of(g);
	if (group < 0)
		return guest_fail("the mdev's iommu_group", group);
	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	g->container = uvp_open(g->ctl, "/dev/vfio/vfio", O_RDWR);
	if (g->container < 0)
		return guest_fail("open /dev/vfio/vfio", g->container);
	g->group = uvp_open(g->ctl, path, O_RDWR);
	if (g->group < 0)
		return guest_fail(path, g->group);
	ret = guest_ioctl(g->group, VFIO_GROUP_SET_CONTAINER, &g->container, sizeof(int),
			  &g->container, 1);
	if (ret < 0)
		return guest_fail("VFIO_GROUP_SET_CONTAINER", ret);
	ret = uvp_ioctl(g->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU, NULL, 0, NULL, 0, NULL,
			0, NULL);
	if (ret < 0)
		return guest_fail("VFIO_SET_IOMMU", ret);
	if (guest_file_add(g, g->group))
		return -1;
	/* the name is read through the memory handle, as strncpy_from_user */
	ret = uvp_ioctl(g->group, VFIO_GROUP_GET_DEVICE_FD, (uint64_t)(uintptr_t)g->uuid, NULL,
			0, NULL, 0, NULL, 0, &g->device);
	return ret < 0 ? guest_fail("VFIO_GROUP_GET_DEVICE_FD", ret) : 0;
}

static int guest_open_cdev(struct guest *g)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	char path[PATH_MAX];
	long ret = guest_cdev_of(g, path, sizeof(path));

	if (ret)
		return guest_fail("the mdev's vfio-dev", ret);
	g->device = uvp_open(g->ctl, path, O_RDWR);
	if (g->device < 0)
		return guest_fail(path, g->device);
	if (guest_file_add(g, g->device))
		return -1;
	g->iommufd = uvp_open(g->ctl, "/dev/iommu", O_RDWR);
	if (g->iommufd < 0)
		return guest_fail("open /dev/iommu", g->iommufd);
	bind.iommufd = g->iommufd;
	ret = guest_ioctl(g->device, VFIO_DEVICE_BIND_IOMMUFD, &bind, sizeof(bind), &g->iommufd,
			  1);
	return ret < 0 ? guest_fail("VFIO_DEVICE_BIND_IOMMUFD", ret) : 0;
}

/* ---- instructions ------------------------------------------------------------------- */

/* "AA.DDDD" (hex, as sysfs) or a number; -1 if neither. */
static int guest_parse_apqn(const char *s)
{
	unsigned int card, dom;
	char *end;
	unsigned long v;
	int n = 0;

	if (sscanf(s, "%2x.%4x%n", &card, &dom, &n) == 2 && !s[n] && dom <= 0xff)
		return (int)(card << 8 | dom);
	errno = 0;
	v = strtoul(s, &end, 0);
	return errno || end == s || *end || v > 0xffff ? -1 : (int)v;
}

/* A hex number (optional 0x) right-justified into field[size]; -EINVAL. */
static int guest_hex_field(const char *s, uint8_t *field, size_t size)
{
	size_t len;

	if (!strncmp(s, "0x", 2) || !strncmp(s, "0X", 2))
		s += 2;
	len = strlen(s);
	if (!len || strspn(s, "0123456789abcdefABCDEF") != len)
		return -EINVAL;
	while (len > 1 && *s == '0') {
		s++;
		len--;
	}
	if ((len + 1) / 2 > size)
		return -EINVAL;
	memset(field, 0, size);
	for (size_t i = 0; i < len; i++) {
		char c[2] = { s[len - 1 - i], 0 };
		uint8_t nib = (uint8_t)strtoul(c, NULL, 16);

		field[size - 1 - i / 2] |= (uint8_t)(i & 1 ? nib << 4 : nib);
	}
	return 0;
}

static void guest_print_status(const char *insn, int apqn, const struct kvm_s390_uvfio_ap *ap)
{
	uint32_t st = ap->status;

	printf("%s %02x.%04x: cc %u rc 0x%02x%s%s%s%s%s", insn, apqn >> 8, apqn & 0xff, ap->cc,
	       (st >> 16) & 0xff, st & 0x80000000u ? " E" : "", st & 0x40000000u ? " R" : "",
	       st & 0x20000000u ? " F" : "", st & 0x02000000u ? " A" : "",
	       st & 0x01000000u ? " I" : "");
	if (ap->pgm)
		printf(" program-interruption 0x%x", ap->pgm);
}

static long guest_insn(struct guest *g, struct kvm_s390_uvfio_ap *ap)
{
	long ret = guest_ioctl(g->vm, KVM_S390_UVFIO_AP, ap, sizeof(*ap), NULL, 0);

	if (ret < 0)
		fprintf(stderr, "uvfio guest: KVM_S390_UVFIO_AP: %s\n", strerror((int)-ret));
	return ret;
}

static int guest_simple(struct guest *g, const char *insn, uint32_t code, int apqn)
{
	struct kvm_s390_uvfio_ap ap = { .insn = code, .apqn = (uint16_t)apqn };

	if (guest_insn(g, &ap) < 0)
		return -1;
	guest_print_status(insn, apqn, &ap);
	if (code == KVM_S390_UVFIO_AP_TAPQ && !((ap.status >> 16) & 0xff))
		printf(" info 0x%016llx type %llu domains %llu", (unsigned long long)ap.info,
		       (unsigned long long)(ap.info >> 24) & 0xff,
		       (unsigned long long)(ap.info >> 16) & 0xff);
	printf("\n");
	return 0;
}

/* A type 50 MEB request of the smallest size (128, 256, 512) that fits. */
static int guest_nqap_rsa(struct guest *g, int apqn, char **args)
{
	static const struct { uint16_t fmt; size_t size; } mebs[] = {
		{ 0x0001, 128 }, { 0x0002, 256 }, { 0x0003, 512 },
	};
	static uint8_t msg[16 + 3 * 512];
	struct kvm_s390_uvfio_ap ap = { .insn = KVM_S390_UVFIO_AP_NQAP, .apqn = (uint16_t)apqn };
	size_t longest = 0, size = 0, len;
	uint16_t fmt = 0;

	for (int i = 0; i < 3; i++) {
		const char *s = args[i] + (strncmp(args[i], "0x", 2) ? 0 : 2);

		longest = strlen(s) > longest ? strlen(s) : longest;
	}
	for (size_t i = 0; i < sizeof(mebs) / sizeof(mebs[0]) && !size; i++)
		if ((longest + 1) / 2 <= mebs[i].size) {
			size = mebs[i].size;
			fmt = mebs[i].fmt;
		}
	len = 16 + 3 * size;
	memset(msg, 0, sizeof(msg));
	if (!size || guest_hex_field(args[0], msg + 16, size) ||
	    guest_hex_field(args[1], msg + 16 + size, size) ||
	    guest_hex_field(args[2], msg + 16 + 2 * size, size)) {
		fprintf(stderr, "uvfio guest: nqap-rsa: E, N and X are hex numbers of at most "
			"512 bytes\n");
		return -1;
	}
	/* header: type 0x50, msg_len (big-endian); the key block type */
	msg[1] = TYPE50_TYPE_CODE;
	msg[2] = (uint8_t)(len >> 8);
	msg[3] = (uint8_t)len;
	msg[8] = (uint8_t)(fmt >> 8);
	msg[9] = (uint8_t)fmt;
	ap.psmid = ++g->next_psmid;
	ap.addr = (uint64_t)(uintptr_t)msg;
	ap.len = len;
	if (guest_insn(g, &ap) < 0)
		return -1;
	guest_print_status("nqap", apqn, &ap);
	printf(" psmid %llu\n", (unsigned long long)ap.psmid);
	return 0;
}

/* The result of a type 80 reply, without leading zeros; an error code. */
static void guest_print_reply(const uint8_t *r, size_t len)
{
	size_t i = 16;

	if (len >= 16 && r[1] == TYPE80_RSP_CODE) {
		while (i + 1 < len && !r[i])
			i++;
		printf(" result 0x");
		for (; i < len; i++)
			printf("%02x", r[i]);
	} else if (len >= 8) {
		printf(" error type 0x%02x code 0x%02x", r[1], r[4]);
	}
}

static void guest_sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int guest_dqap(struct guest *g, int apqn)
{
	static uint8_t reply[GUEST_REPLY_MAX];
	struct kvm_s390_uvfio_ap ap;
	uint32_t rc;

	for (int tries = 0;; tries++) {
		ap = (struct kvm_s390_uvfio_ap){
			.insn = KVM_S390_UVFIO_AP_DQAP, .apqn = (uint16_t)apqn,
			.addr = (uint64_t)(uintptr_t)reply, .len = sizeof(reply),
		};
		if (guest_insn(g, &ap) < 0)
			return -1;
		rc = (ap.status >> 16) & 0xff;
		/* no reply yet while a request is pending: the queue is not empty */
		if (rc != 0x10 || (ap.status & 0x80000000u) || tries >= 5000)
			break;
		guest_sleep_ms(1);
	}
	guest_print_status("dqap", apqn, &ap);
	if (!rc) {
		printf(" psmid %llu", (unsigned long long)ap.psmid);
		guest_print_reply(reply, ap.len);
	}
	printf("\n");
	return 0;
}

/* The ids set in a 256-bit MSB-first mask. */
static void guest_print_mask(const char *name, const uint8_t *m, const char *fmt)
{
	printf(" %s", name);
	for (unsigned int i = 0; i < 256; i++)
		if (m[i / 8] & (0x80 >> (i % 8)))
			printf(fmt, i);
}

static int guest_qci(struct guest *g)
{
	struct kvm_s390_uvfio_ap_qci qci;
	struct kvm_s390_uvfio_ap ap = {
		.insn = KVM_S390_UVFIO_AP_QCI, .addr = (uint64_t)(uintptr_t)&qci,
		.len = sizeof(qci),
	};

	memset(&qci, 0, sizeof(qci));
	if (guest_insn(g, &ap) < 0)
		return -1;
	printf("qci: cc %u", ap.cc);
	guest_print_mask("apm", qci.apm, " %02x");
	guest_print_mask("aqm", qci.aqm, " %04x");
	guest_print_mask("adm", qci.adm, " %04x");
	printf("\n");
	return 0;
}

static const struct {
	const char *name;
	int nargs;		/* including the APQN */
	uint32_t code;		/* for the queue-only instructions */
} guest_insns[] = {
	{ "tapq", 1, KVM_S390_UVFIO_AP_TAPQ },
	{ "rapq", 1, KVM_S390_UVFIO_AP_RAPQ },
	{ "zapq", 1, KVM_S390_UVFIO_AP_ZAPQ },
	{ "dqap", 1, KVM_S390_UVFIO_AP_DQAP },
	{ "nqap-rsa", 4, KVM_S390_UVFIO_AP_NQAP },
	{ "qci", 0, KVM_S390_UVFIO_AP_QCI },
	{ "sleep", 1, 0 },
	{ "wait", 0, 0 },
};

/* One instruction at argv[0]; the words it took, or -1. */
static int guest_run_one(struct guest *g, int argc, char **argv)
{
	int apqn = -1;

	for (size_t i = 0; i < sizeof(guest_insns) / sizeof(guest_insns[0]); i++) {
		if (strcmp(argv[0], guest_insns[i].name))
			continue;
		if (argc < 1 + guest_insns[i].nargs) {
			fprintf(stderr, "uvfio guest: %s needs %d arguments\n", argv[0],
				guest_insns[i].nargs);
			return -1;
		}
		if (!strcmp(argv[0], "sleep")) {
			guest_sleep_ms((unsigned int)strtoul(argv[1], NULL, 0));
			return 2;
		}
		if (!strcmp(argv[0], "wait")) {
			char line[64];

			fflush(stdout);
			return fgets(line, sizeof(line), stdin) ? 1 : -1;
		}
		if (guest_insns[i].code == KVM_S390_UVFIO_AP_QCI)
			return guest_qci(g) ? -1 : 1;
		apqn = guest_parse_apqn(argv[1]);
		if (apqn < 0) {
			fprintf(stderr, "uvfio guest: %s: not an APQN\n", argv[1]);
			return -1;
		}
		if (guest_insns[i].code == KVM_S390_UVFIO_AP_NQAP)
			return guest_nqap_rsa(g, apqn, argv + 2) ? -1 : 5;
		if (guest_insns[i].code == KVM_S390_UVFIO_AP_DQAP)
			return guest_dqap(g, apqn) ? -1 : 2;
		return guest_simple(g, argv[0], guest_insns[i].code, apqn) ? -1 : 2;
	}
	fprintf(stderr, "uvfio guest: unknown instruction '%s'\n", argv[0]);
	return -1;
}

static void guest_usage(FILE *f)
{
	fprintf(f,
		"usage: uvfio guest [--runtime DIR] --mdev UUID [--group N | --cdev] -- INSN...\n"
		"  a VM with the vfio_ap mdev UUID (through its group, or its device cdev and\n"
		"  iommufd), executing AP instructions as its guest would.  APQN: AA.DDDD (hex)\n"
		"  INSN: tapq APQN | nqap-rsa APQN E N X (hex: X^E mod N) | dqap APQN |\n"
		"        rapq APQN | zapq APQN | qci | sleep MS | wait (a line on stdin)\n");
}

int cli_guest(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "runtime", required_argument, NULL, 'r' },
		{ "mdev", required_argument, NULL, 'm' },
		{ "group", required_argument, NULL, 'g' },
		{ "cdev", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct guest g = {
		.ctl = -1, .kvm = -1, .vm = -1, .kvm_dev = -1, .container = -1, .group = -1,
		.iommufd = -1, .device = -1,
	};
	const char *runtime = NULL;
	char rtbuf[4000];
	bool cdev = false;
	int c, group = -1, ret = 1;

	while ((c = getopt_long(argc, argv, "+r:m:g:ch", opts, NULL)) != -1) {
		switch (c) {
		case 'r': runtime = optarg; break;
		case 'm': g.uuid = optarg; break;
		case 'g': group = atoi(optarg); break;
		case 'c': cdev = true; break;
		case 'h': guest_usage(stdout); return 0;
		default: guest_usage(stderr); return 2;
		}
	}
	if (!g.uuid || (cdev && group >= 0) || optind >= argc) {
		guest_usage(stderr);
		return 2;
	}
	g.rt = cli_runtime(runtime, rtbuf, sizeof(rtbuf));
	if (!g.rt)
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	g.ctl = cli_connect(g.rt);
	if (g.ctl < 0)
		return 1;
	if (uvp_hello(g.ctl, NULL, 0, NULL) < 0 || guest_vm(&g) ||
	    (cdev ? guest_open_cdev(&g) : guest_open_group(&g, group)))
		goto out;
	for (int i = optind; i < argc;) {
		int n = guest_run_one(&g, argc - i, argv + i);

		if (n < 0)
			goto out;
		i += n;
	}
	ret = 0;
out:
	guest_exit(&g);
	return ret;
}
