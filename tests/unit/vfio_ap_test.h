/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the vfio_ap tests: mdevs of the matrix device and their
 * attributes, a VM with its KVM-VFIO device, an mdev opened for the VM
 * through its group (type1 container) or its cdev (iommufd), and waiting
 * for the host's AP bus to be done with a queue.  Include after harness.h,
 * vfio_mock.h, iommufd_helpers.h and ap_test.h.
 *
 * The default host: adapters 0 CEX8 accel, 1 CEX7 cca, 2 CEX6 ep11,
 * 3 CEX4 accel, 4 CEX8 accel, 5 CEX8 cca; usage domains 4-8, control
 * domains 4-8 and 11; apmask 0xf0 and aqmask +0-6,+9-255 reserve adapters
 * 0-3 x domains 0-6 and 9-255 for zcrypt, the rest belongs to vfio_ap.
 */
#ifndef UVF_TEST_VFIO_AP_H
#define UVF_TEST_VFIO_AP_H

#include <stdio.h>
#include <sys/eventfd.h>
#include <poll.h>
#include "core/kvm/kvm.h"
#include "core/kvm/kvm_s390_ap.h"
#include "core/mdev/mdev.h"
#include "core/vfio_ap/vfio_ap.h"
#include "uapi/linux/uvfio_s390_ap.h"

#define VAP_MATRIX	"/devices/vfio_ap/matrix"
#define VAP_TYPE	VAP_MATRIX "/mdev_supported_types/vfio_ap-passthrough"
#define VAP_UUID1	"f0000000-0000-4000-8000-000000000001"
#define VAP_UUID2	"f0000000-0000-4000-8000-000000000002"
#define VAP_UUID3	"f0000000-0000-4000-8000-000000000003"

static inline ssize_t vap_create(struct uvf_host *h, const char *uuid)
{
	return ap_write(h, VAP_TYPE "/create", uuid);
}

static inline ssize_t vap_store(struct uvf_host *h, const char *uuid, const char *attr,
				const char *val)
{
	char path[160];

	snprintf(path, sizeof(path), VAP_MATRIX "/%s/%s", uuid, attr);
	return ap_write(h, path, val);
}

/* An attribute's text, whole (newlines kept), into buf. */
static inline const char *vap_show(struct uvf_host *h, const char *uuid, const char *attr,
				   char *buf, size_t size)
{
	char path[160];
	ssize_t n;

	snprintf(path, sizeof(path), VAP_MATRIX "/%s/%s", uuid, attr);
	n = sysfs_read(h->sysfs, NULL, path, buf, size - 1, 0);
	if (n < 0)
		fail_msg("read %s: %s", path, strerror((int)-n));
	buf[n] = '\0';
	return buf;
}

#define assert_attr_text(h, uuid, attr, want) do {                              \
		char __b[SYSFS_PAGE_SIZE + 1];                                     \
		assert_string_equal(vap_show(h, uuid, attr, __b, sizeof(__b)), want); \
	} while (0)

/* The 'status' of a queue bound to vfio_ap. */
static inline const char *vap_queue_status(struct uvf_host *h, unsigned int card,
					   unsigned int dom)
{
	char path[96];

	snprintf(path, sizeof(path), "/devices/ap/card%02x/%02x.%04x/status", card, card, dom);
	return ap_read(h, path);
}

/* The host's AP bus is done with the queue: its reset and interruption
 * setup are over (the host sets up every queue a scan finds). */
static inline bool vap_queue_settled(struct uvf_host *h, unsigned int card, unsigned int dom)
{
	char path[96], reset[64], irq[64];

	snprintf(path, sizeof(path), "/devices/ap/card%02x/%02x.%04x/reset", card, card, dom);
	ap_read_into(h, path, reset, sizeof(reset));
	snprintf(path, sizeof(path), "/devices/ap/card%02x/%02x.%04x/interrupt", card, card, dom);
	ap_read_into(h, path, irq, sizeof(irq));
	return !strcmp(reset, "No Reset Timer set.") && strcmp(irq, "Enable Interrupt pending.");
}

static inline void vap_wait_settled(struct uvf_host *h, unsigned int card, unsigned int dom)
{
	if (!AP_WAIT_FOR(vap_queue_settled(h, card, dom)))
		fail_msg("queue %02x.%04x: the host's setup did not end", card, dom);
}

/* ---- a VM and the mdev opened for it -------------------------------------------------- */

struct vap_vm {
	struct uvf_proc *p;
	int vm, kvmdev;		/* the VM and its KVM-VFIO device */
	struct kvm *kvm;
	int gfd, cfd, dfd;	/* group path */
	int ifd;		/* iommufd path */
	uint32_t ioas;
};

static inline void vap_vm_new(struct uvf_host *h, struct vap_vm *v)
{
	struct kvm_create_device cd = { .type = KVM_DEV_TYPE_VFIO };
	int kvmfd;

	memset(v, 0, sizeof(*v));
	v->gfd = v->cfd = v->dfd = v->ifd = -1;
	v->p = proc_new_root(h);
	kvmfd = proc_open(v->p, "/dev/kvm", O_RDWR);
	assert_true(kvmfd >= 0);
	v->vm = (int)proc_ioctl_val(v->p, kvmfd, KVM_CREATE_VM, 0);
	assert_true(v->vm >= 0);
	proc_close(v->p, kvmfd);
	assert_errno(proc_ioctl(v->p, v->vm, KVM_CREATE_DEVICE, &cd), 0);
	v->kvmdev = (int)cd.fd;
	v->kvm = kvm_from_file(proc_file(v->p, v->vm));
	assert_non_null(v->kvm);
}

/* The process dies: every fd closes. */
static inline void vap_vm_free(struct vap_vm *v)
{
	proc_free(v->p);
	v->p = NULL;
}

static inline long vap_file_add(struct vap_vm *v, int fd)
{
	int32_t fd32 = fd;
	struct kvm_device_attr a = {
		.group = KVM_DEV_VFIO_FILE, .attr = KVM_DEV_VFIO_FILE_ADD, .addr = (uintptr_t)&fd32,
	};

	return proc_ioctl(v->p, v->kvmdev, KVM_SET_DEVICE_ATTR, &a);
}

static inline unsigned int vap_mdev_group(struct uvf_host *h, const char *uuid)
{
	struct mdev_device *mdev = mdev_get_by_uuid(h, uuid);
	unsigned int id;

	assert_non_null(mdev);
	id = mdev->dev.iommu_group->id;
	mdev_put(mdev);
	return id;
}

/*
 * The group path, as QEMU: group, type1v2 container, the group registered
 * with the VM (unless !with_kvm), GET_DEVICE_FD.  Returns the device fd
 * or GET_DEVICE_FD's -errno.
 */
static inline long vap_open_group(struct uvf_host *h, struct vap_vm *v, const char *uuid,
				  bool with_kvm)
{
	long ret;

	v->gfd = group_open(v->p, vap_mdev_group(h, uuid));
	assert_true(v->gfd >= 0);
	v->cfd = container_with_group(v->p, v->gfd, VFIO_TYPE1v2_IOMMU);
	if (with_kvm)
		assert_errno(vap_file_add(v, v->gfd), 0);
	ret = proc_ioctl(v->p, v->gfd, VFIO_GROUP_GET_DEVICE_FD, uuid);
	if (ret >= 0)
		v->dfd = (int)ret;
	return ret;
}

/* The cdev path: open, FILE_ADD, bind (open_device runs), IOAS attach. */
static inline long vap_open_cdev(struct uvf_host *h, struct vap_vm *v, const char *uuid)
{
	char dir[128], path[96], name[32] = "";
	uint32_t devid;
	long ret;

	snprintf(dir, sizeof(dir), "/bus/mdev/devices/%s/vfio-dev", uuid);
	assert_int_equal(sysfs_readdir(h->sysfs, dir, cdev_name_fn, name), 1);
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", name);
	v->dfd = proc_open(v->p, path, O_RDWR);
	assert_true(v->dfd >= 0);
	assert_errno(vap_file_add(v, v->dfd), 0);
	v->ifd = iommufd_open(v->p);
	assert_errno(ioas_alloc(v->p, v->ifd, &v->ioas), 0);
	ret = cdev_bind(v->p, v->dfd, v->ifd, &devid);
	if (ret)
		return ret;
	return cdev_attach(v->p, v->dfd, v->ioas, NULL);
}

/* The VM's APCB in the AP bit order (test_bit_inv). */
static inline void vap_vm_apcb(struct vap_vm *v, unsigned long *apm, unsigned long *aqm,
			       unsigned long *adm)
{
	unsigned long k[3][KVM_S390_AP_LONGS];
	unsigned long *out[3] = { apm, aqm, adm };

	kvm_s390_crypto_get_masks(v->kvm, k[0], k[1], k[2]);
	for (int i = 0; i < 3; i++) {
		if (!out[i])
			continue;
		memset(out[i], 0, AP_MASK_LONGS * sizeof(unsigned long));
		for (unsigned int b = 0; b < KVM_S390_AP_BITS; b++)
			if ((k[i][b / 64] >> (b % 64)) & 1)
				set_bit_inv(b, out[i]);
	}
}

/* An eventfd's counter (0 if not signalled), without blocking. */
static inline uint64_t vap_eventfd_take(int efd)
{
	uint64_t v = 0;

	if (read(efd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

static inline long vap_set_eventfd(struct uvf_proc *p, int dfd, unsigned int index, int32_t fd)
{
	struct {
		struct vfio_irq_set hdr;
		int32_t fd;
	} s = {
		.hdr = { .argsz = sizeof(s), .index = index, .start = 0, .count = 1,
			 .flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER },
		.fd = fd,
	};

	return proc_ioctl(p, dfd, VFIO_DEVICE_SET_IRQS, &s);
}

/* vfio_ap's own checker: fails the test on a violation. */
static inline void vap_assert_invariants(struct uvf_host *h)
{
	char why[256] = "";

	if (vfio_ap_check_invariants(h, why, sizeof(why)))
		fail_msg("vfio_ap invariant: %s", why);
}

#endif
