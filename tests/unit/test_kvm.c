// SPDX-License-Identifier: MIT
/*
 * The KVM device plane: /dev/kvm (API version, capabilities, unknown
 * ioctls), KVM_CREATE_VM, the VM's ioctls as a KVM without vCPUs and
 * memslots answers them, KVM_CREATE_DEVICE in the kernel's order of
 * checks, the device file's attribute ioctls, the address-space rule
 * (-EIO), references (devices keep their VM, the VM's end destroys devices
 * without a release), the debugfs directory and the "uvfio vms" text, the
 * device registry, the s390 crypto block and the /dev/kvm serving rule.
 */
#include "harness.h"
#include <stdio.h>
#include <unistd.h>
#include <sys/mman.h>
#include "core/kvm/kvm.h"
#include "core/host/devnode.h"
#include "core/host/file.h"
#include "core/sysfs/sysfs.h"
#include "core/base/bitmap.h"
#include "vfio_mock.h"

#define BAD_PTR		((void *)8)

struct fixture {
	struct uvf_host *h;
	struct uvf_proc *p;
	int kvm;		/* an open /dev/kvm */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->h = test_host_from_json("{}");
	f->p = proc_new_root(f->h);
	f->kvm = proc_open(f->p, "/dev/kvm", O_RDWR);
	assert_true(f->kvm >= 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	proc_free(f->p);
	host_free(f->h);
	free(f);
	return 0;
}

static int create_vm(struct uvf_proc *p, int kvmfd)
{
	int vm = (int)proc_ioctl_val(p, kvmfd, KVM_CREATE_VM, 0);

	assert_true(vm >= 0);
	return vm;
}

static long create_device(struct uvf_proc *p, int vm, uint32_t type, uint32_t flags,
			  int *out)
{
	struct kvm_create_device cd = { .type = type, .fd = 12345, .flags = flags };
	long ret = proc_ioctl(p, vm, KVM_CREATE_DEVICE, &cd);

	if (out)
		*out = (int)cd.fd;
	return ret;
}

static long has_attr(struct uvf_proc *p, int dev, uint32_t group, uint64_t attr)
{
	struct kvm_device_attr a = { .group = group, .attr = attr };

	return proc_ioctl(p, dev, KVM_HAS_DEVICE_ATTR, &a);
}

static struct kvm *vm_of(struct uvf_proc *p, int vm)
{
	struct kvm *kvm = kvm_from_file(proc_file(p, vm));

	assert_non_null(kvm);
	return kvm;
}

static size_t vms_text(struct uvf_host *h, char *buf, size_t size)
{
	return kvm_show_vms(h, buf, size);
}

static unsigned int count_vms(struct uvf_host *h)
{
	char text[4096];
	unsigned int n = 0;

	vms_text(h, text, sizeof(text));
	for (const char *l = text; *l; l = strchr(l, '\n') + 1)
		n += !strncmp(l, "vm ", 3);
	return n;
}

/* ---- /dev/kvm ------------------------------------------------------------------------ */

static void test_chardev_node(void **state)
{
	struct fixture *f = *state;
	struct uvf_devnode *dn = devnode_find(f->h, "/dev/kvm");
	struct uvf_proc *user = proc_new(f->h, 1000, 1000, 0, UINT64_MAX);
	int fd;

	assert_non_null(dn);
	assert_int_equal(dn->major, 10);
	assert_int_equal(dn->minor, 232);
	assert_int_equal(dn->mode, 0666);
	/* A VM is no privilege: any user may make one. */
	fd = proc_open(user, "/dev/kvm", O_RDWR);
	assert_true(fd >= 0);
	assert_true(proc_ioctl_val(user, fd, KVM_CREATE_VM, 0) >= 0);
	proc_free(user);
}

static void test_api_version(void **state)
{
	struct fixture *f = *state;

	assert_errno(proc_ioctl_val(f->p, f->kvm, KVM_GET_API_VERSION, 0), 12);
	assert_errno(proc_ioctl_val(f->p, f->kvm, KVM_GET_API_VERSION, 1), -EINVAL);
	assert_errno(proc_ioctl_val(f->p, f->kvm, KVM_GET_VCPU_MMAP_SIZE, 0), 4096);
	assert_errno(proc_ioctl_val(f->p, f->kvm, KVM_GET_VCPU_MMAP_SIZE, 1), -EINVAL);
}

/* Only what works here answers 1; the rest (even what 6.12 always has) 0. */
static void check_extensions(struct uvf_proc *p, int fd)
{
	static const long zero[] = {
		KVM_CAP_USER_MEMORY, KVM_CAP_NR_MEMSLOTS, KVM_CAP_NR_VCPUS, KVM_CAP_MAX_VCPUS,
		KVM_CAP_MAX_VCPU_ID, KVM_CAP_IRQFD, KVM_CAP_IOEVENTFD, KVM_CAP_SIGNAL_MSI,
		KVM_CAP_ENABLE_CAP_VM, KVM_CAP_BINARY_STATS_FD, KVM_CAP_COALESCED_MMIO,
		KVM_CAP_IRQ_ROUTING, KVM_CAP_HALT_POLL, -1, 0, 100000,
	};

	assert_errno(proc_ioctl_val(p, fd, KVM_CHECK_EXTENSION, KVM_CAP_DEVICE_CTRL), 1);
	assert_errno(proc_ioctl_val(p, fd, KVM_CHECK_EXTENSION, KVM_CAP_CHECK_EXTENSION_VM), 1);
	for (size_t i = 0; i < ARRAY_SIZE(zero); i++)
		assert_errno(proc_ioctl_val(p, fd, KVM_CHECK_EXTENSION, (unsigned long)zero[i]), 0);
}

static void test_check_extension(void **state)
{
	struct fixture *f = *state;

	check_extensions(f->p, f->kvm);
	check_extensions(f->p, create_vm(f->p, f->kvm));
}

static void test_unknown_system_ioctls(void **state)
{
	struct fixture *f = *state;

	/* kvm_arch_dev_ioctl: -EINVAL, not -ENOTTY. */
	assert_errno(proc_ioctl_val(f->p, f->kvm, KVM_CREATE_VCPU, 0), -EINVAL);
	assert_errno(proc_ioctl_val(f->p, f->kvm, _IO(KVMIO, 0x7f), 0), -EINVAL);
	assert_errno(proc_ioctl(f->p, f->kvm, KVM_CREATE_DEVICE, BAD_PTR), -EINVAL);
}

static void test_create_vm_types(void **state)
{
	struct fixture *f = *state;
	int a, b;

	assert_errno(proc_ioctl_val(f->p, f->kvm, KVM_CREATE_VM, 1), -EINVAL);
	assert_errno(proc_ioctl_val(f->p, f->kvm, KVM_CREATE_VM, 0x80000000ul), -EINVAL);
	a = create_vm(f->p, f->kvm);
	b = create_vm(f->p, f->kvm);
	assert_true(a != b);
	assert_ptr_not_equal(vm_of(f->p, a), vm_of(f->p, b));
	assert_true(file_is_kvm(proc_file(f->p, a)));
	assert_false(file_is_kvm(proc_file(f->p, f->kvm)));
	assert_null(kvm_from_file(proc_file(f->p, f->kvm)));
	assert_int_equal(count_vms(f->h), 2);
	assert_int_equal(proc_close(f->p, a), 0);
	assert_int_equal(count_vms(f->h), 1);
}

/* ---- VM ioctls ------------------------------------------------------------------------- */

static void test_vm_without_vcpus_or_memory(void **state)
{
	struct fixture *f = *state;
	int vm = create_vm(f->p, f->kvm);
	struct kvm_userspace_memory_region mem = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = 4096,
		.userspace_addr = (uintptr_t)f,
	};
	struct kvm_userspace_memory_region2 mem2 = { .memory_size = 4096 };
	struct kvm_enable_cap cap = { .cap = KVM_CAP_HALT_POLL };
	struct kvm_dirty_log log = { .slot = 0 };
	struct kvm_irqfd irqfd = { .fd = 0 };

	assert_errno(proc_ioctl_val(f->p, vm, KVM_CREATE_VCPU, 0), -EINVAL);
	assert_errno(proc_ioctl(f->p, vm, KVM_SET_USER_MEMORY_REGION, BAD_PTR), -EFAULT);
	assert_errno(proc_ioctl(f->p, vm, KVM_SET_USER_MEMORY_REGION, &mem), -EINVAL);
	mem.flags = 1u << 5;
	assert_errno(proc_ioctl(f->p, vm, KVM_SET_USER_MEMORY_REGION, &mem), -EINVAL);
	assert_errno(proc_ioctl(f->p, vm, KVM_SET_USER_MEMORY_REGION2, BAD_PTR), -EFAULT);
	assert_errno(proc_ioctl(f->p, vm, KVM_SET_USER_MEMORY_REGION2, &mem2), -EINVAL);
	assert_errno(proc_ioctl(f->p, vm, KVM_ENABLE_CAP, BAD_PTR), -EFAULT);
	assert_errno(proc_ioctl(f->p, vm, KVM_ENABLE_CAP, &cap), -EINVAL);
	assert_errno(proc_ioctl(f->p, vm, KVM_GET_DIRTY_LOG, BAD_PTR), -EFAULT);
	assert_errno(proc_ioctl(f->p, vm, KVM_GET_DIRTY_LOG, &log), -EINVAL);
	assert_errno(proc_ioctl(f->p, vm, KVM_IRQFD, BAD_PTR), -EFAULT);
	assert_errno(proc_ioctl(f->p, vm, KVM_IRQFD, &irqfd), -EINVAL);
	assert_errno(proc_ioctl_val(f->p, vm, KVM_RESET_DIRTY_RINGS, 0), -EINVAL);
}

static void test_vm_unknown_ioctls(void **state)
{
	struct fixture *f = *state;
	int vm = create_vm(f->p, f->kvm);
	struct kvm_ioeventfd ioev = { .fd = 0 };
	struct kvm_device_attr attr = { 0 };

	/* Built without them (or an architecture's): kvm_arch_vm_ioctl's -ENOTTY. */
	assert_errno(proc_ioctl(f->p, vm, KVM_IOEVENTFD, &ioev), -ENOTTY);
	assert_errno(proc_ioctl_val(f->p, vm, KVM_GET_STATS_FD, 0), -ENOTTY);
	assert_errno(proc_ioctl_val(f->p, vm, KVM_CREATE_IRQCHIP, 0), -ENOTTY);
	assert_errno(proc_ioctl(f->p, vm, KVM_SIGNAL_MSI, BAD_PTR), -ENOTTY);
	assert_errno(proc_ioctl(f->p, vm, KVM_SET_GSI_ROUTING, BAD_PTR), -ENOTTY);
	assert_errno(proc_ioctl(f->p, vm, KVM_REGISTER_COALESCED_MMIO, BAD_PTR), -ENOTTY);
	assert_errno(proc_ioctl(f->p, vm, KVM_SET_DEVICE_ATTR, &attr), -ENOTTY);
	assert_errno(proc_ioctl_val(f->p, vm, KVM_GET_API_VERSION, 0), -ENOTTY);
	assert_errno(proc_ioctl_val(f->p, vm, KVM_CREATE_VM, 0), -ENOTTY);
	/* Not a file of this kind at all. */
	assert_errno(proc_pread(f->p, vm, &attr, 4, 0), -EINVAL);
}

/* ---- KVM_CREATE_DEVICE ---------------------------------------------------------------- */

static void test_create_device_checks(void **state)
{
	struct fixture *f = *state;
	int vm = create_vm(f->p, f->kvm), fd;
	struct kvm_create_device *ro;

	assert_errno(proc_ioctl(f->p, vm, KVM_CREATE_DEVICE, BAD_PTR), -EFAULT);
	assert_errno(create_device(f->p, vm, 0, 0, NULL), -ENODEV);
	assert_errno(create_device(f->p, vm, KVM_DEV_TYPE_FSL_MPIC_20, 0, NULL), -ENODEV);
	assert_errno(create_device(f->p, vm, KVM_DEV_TYPE_NR, 0, NULL), -ENODEV);
	assert_errno(create_device(f->p, vm, 0xffffffffu, KVM_CREATE_DEVICE_TEST, NULL), -ENODEV);
	/* The test flag: the type exists, nothing is made, the fd is untouched. */
	assert_errno(create_device(f->p, vm, KVM_DEV_TYPE_VFIO, KVM_CREATE_DEVICE_TEST, &fd), 0);
	assert_int_equal(fd, 12345);
	/* The struct is copied back even then: a read-only one faults. */
	ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(ro != MAP_FAILED);
	*ro = (struct kvm_create_device){ .type = KVM_DEV_TYPE_VFIO,
					  .flags = KVM_CREATE_DEVICE_TEST };
	assert_int_equal(mprotect(ro, 4096, PROT_READ), 0);
	assert_errno(proc_ioctl(f->p, vm, KVM_CREATE_DEVICE, ro), -EFAULT);
	munmap(ro, 4096);
	/* Unknown flag bits are ignored, as the kernel ignores them. */
	assert_errno(create_device(f->p, vm, KVM_DEV_TYPE_VFIO, 0x80, &fd), 0);
	assert_non_null(kvm_device_from_file(proc_file(f->p, fd)));
}

static void test_one_vfio_device_per_vm(void **state)
{
	struct fixture *f = *state;
	int vm = create_vm(f->p, f->kvm), vm2 = create_vm(f->p, f->kvm), dev, dev2;

	assert_errno(create_device(f->p, vm, KVM_DEV_TYPE_VFIO, 0, &dev), 0);
	assert_true(dev >= 0);
	assert_errno(create_device(f->p, vm, KVM_DEV_TYPE_VFIO, 0, NULL), -EBUSY);
	/* The test flag does not look at existing devices. */
	assert_errno(create_device(f->p, vm, KVM_DEV_TYPE_VFIO, KVM_CREATE_DEVICE_TEST, NULL), 0);
	/* Per VM. */
	assert_errno(create_device(f->p, vm2, KVM_DEV_TYPE_VFIO, 0, &dev2), 0);
	/* Gone with its file: another may be made. */
	assert_int_equal(proc_close(f->p, dev), 0);
	assert_errno(create_device(f->p, vm, KVM_DEV_TYPE_VFIO, 0, &dev), 0);
}

static void test_device_attr_ioctls(void **state)
{
	struct fixture *f = *state;
	int vm = create_vm(f->p, f->kvm), dev;
	int err;
	void *map;

	assert_errno(create_device(f->p, vm, KVM_DEV_TYPE_VFIO, 0, &dev), 0);
	/* No get_attr: -EPERM before the argument is looked at. */
	assert_errno(proc_ioctl(f->p, dev, KVM_GET_DEVICE_ATTR, BAD_PTR), -EPERM);
	assert_errno(proc_ioctl(f->p, dev, KVM_SET_DEVICE_ATTR, BAD_PTR), -EFAULT);
	assert_errno(proc_ioctl(f->p, dev, KVM_HAS_DEVICE_ATTR, BAD_PTR), -EFAULT);
	assert_errno(has_attr(f->p, dev, KVM_DEV_VFIO_FILE, KVM_DEV_VFIO_FILE_ADD), 0);
	assert_errno(has_attr(f->p, dev, KVM_DEV_VFIO_FILE, KVM_DEV_VFIO_FILE_DEL), 0);
	/* SPAPR TCE exists only with that IOMMU. */
	assert_errno(has_attr(f->p, dev, KVM_DEV_VFIO_FILE, KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE),
		     -ENXIO);
	assert_errno(has_attr(f->p, dev, KVM_DEV_VFIO_FILE, 1ull << 32 | 1), -ENXIO);
	assert_errno(has_attr(f->p, dev, 2, KVM_DEV_VFIO_FILE_ADD), -ENXIO);
	assert_errno(proc_ioctl_val(f->p, dev, KVM_CREATE_VCPU, 0), -ENOTTY);
	assert_errno(proc_ioctl(f->p, dev, KVM_CREATE_DEVICE, BAD_PTR), -ENOTTY);
	map = proc_mmap(f->p, dev, 4096, PROT_READ, MAP_SHARED, 0, &err);
	assert_true(map == MAP_FAILED);
	assert_int_equal(err, -ENODEV);
}

/* ---- the address-space rule ------------------------------------------------------------ */

static void test_other_process_gets_eio(void **state)
{
	struct fixture *f = *state;
	struct uvf_proc *child = proc_new_root(f->h);
	int vm = create_vm(f->p, f->kvm), dev, cvm, cdev, ckvm;

	assert_errno(create_device(f->p, vm, KVM_DEV_TYPE_VFIO, 0, &dev), 0);
	cvm = proc_pass_fd(f->p, vm, child);
	cdev = proc_pass_fd(f->p, dev, child);
	ckvm = proc_pass_fd(f->p, f->kvm, child);
	/* kvm->mm != current->mm: every VM and device ioctl. */
	assert_errno(proc_ioctl_val(child, cvm, KVM_CHECK_EXTENSION, KVM_CAP_DEVICE_CTRL), -EIO);
	assert_errno(create_device(child, cvm, KVM_DEV_TYPE_VFIO, KVM_CREATE_DEVICE_TEST, NULL),
		     -EIO);
	assert_errno(has_attr(child, cdev, KVM_DEV_VFIO_FILE, KVM_DEV_VFIO_FILE_ADD), -EIO);
	/* /dev/kvm belongs to nobody. */
	assert_errno(proc_ioctl_val(child, ckvm, KVM_GET_API_VERSION, 0), 12);
	/* The creator still can. */
	assert_errno(has_attr(f->p, dev, KVM_DEV_VFIO_FILE, KVM_DEV_VFIO_FILE_ADD), 0);
	proc_free(child);
	assert_int_equal(count_vms(f->h), 1);
}

/* ---- references, debugfs, uvfio vms -------------------------------------------------------- */

static void read_debugfs(struct uvf_host *h, const char *path, char *buf, size_t size)
{
	static const struct uvf_caller root;
	ssize_t n = sysfs_read(h->sysfs, &root, path, buf, size - 1, 0);

	if (n < 0)
		fail_msg("read %s: %s", path, strerror((int)-n));
	buf[n] = '\0';
}

static void test_device_keeps_its_vm(void **state)
{
	struct fixture *f = *state;
	int vm = create_vm(f->p, f->kvm), dev;
	struct kvm *kvm = vm_of(f->p, vm);
	unsigned int id = kvm->id;
	char path[128], buf[64];
	struct sysfs_stat st;

	snprintf(path, sizeof(path), "/kernel/debug/kvm/%d-%u", (int)getpid(), id);
	assert_int_equal(sysfs_stat_path(f->h->sysfs, path, true, &st), 0);
	assert_int_equal(st.type, SYSFS_DIR);
	snprintf(path, sizeof(path), "/kernel/debug/kvm/%d-%u/noncoherent_dma", (int)getpid(), id);
	read_debugfs(f->h, path, buf, sizeof(buf));
	assert_string_equal(buf, "0\n");

	assert_errno(create_device(f->p, vm, KVM_DEV_TYPE_VFIO, 0, &dev), 0);
	assert_int_equal(uvf_ref_read(&kvm->users_count), 2);
	/* The VM fd goes; the device's reference keeps the VM. */
	assert_int_equal(proc_close(f->p, vm), 0);
	assert_int_equal(count_vms(f->h), 1);
	assert_int_equal(uvf_ref_read(&kvm->users_count), 1);
	assert_errno(has_attr(f->p, dev, KVM_DEV_VFIO_FILE, KVM_DEV_VFIO_FILE_ADD), 0);
	/* The last reference: the VM and its debugfs directory go. */
	assert_int_equal(proc_close(f->p, dev), 0);
	assert_int_equal(count_vms(f->h), 0);
	snprintf(path, sizeof(path), "/kernel/debug/kvm/%d-%u", (int)getpid(), id);
	assert_int_equal(sysfs_stat_path(f->h->sysfs, path, true, &st), -ENOENT);
}

static void test_get_kvm_safe(void **state)
{
	struct fixture *f = *state;
	int vm = create_vm(f->p, f->kvm);
	struct kvm *kvm = vm_of(f->p, vm);

	assert_true(kvm_get_kvm_safe(kvm));
	assert_int_equal(uvf_ref_read(&kvm->users_count), 2);
	/* A holder outlives the file. */
	assert_int_equal(proc_close(f->p, vm), 0);
	assert_int_equal(count_vms(f->h), 1);
	kvm_get_kvm(kvm);
	kvm_put_kvm(kvm);
	kvm_put_kvm(kvm);
	assert_int_equal(count_vms(f->h), 0);
}

static void test_vms_text(void **state)
{
	struct fixture *f = *state;
	int vm = create_vm(f->p, f->kvm), vm2 = create_vm(f->p, f->kvm);
	char text[1024], want[256];

	assert_errno(create_device(f->p, vm2, KVM_DEV_TYPE_VFIO, 0, NULL), 0);
	vms_text(f->h, text, sizeof(text));
	snprintf(want, sizeof(want),
		 "vm %u pid=%d kvm-vfio=0 assigned=0 noncoherent=0 wbinvd=0\n"
		 "vm %u pid=%d kvm-vfio=1 assigned=0 noncoherent=0 wbinvd=0\n",
		 vm_of(f->p, vm)->id, (int)getpid(), vm_of(f->p, vm2)->id, (int)getpid());
	assert_string_equal(text, want);
	/* A buffer too small is cut, never overrun. */
	memset(text, 'x', sizeof(text));
	assert_int_equal(vms_text(f->h, text, 10), 9);
	assert_int_equal(text[9], '\0');
	assert_int_equal(text[10], 'x');
}

/* ---- the registry, a device without release ------------------------------------------------- */

static int destroyed;

static int probe_create(struct kvm_device *dev, uint32_t type)
{
	return 0;
}

static void probe_destroy(struct kvm_device *dev)
{
	destroyed++;
	free(dev);
}

static int probe_get_attr(struct kvm_device *dev, struct uvf_caller *c,
			  struct kvm_device_attr *attr)
{
	uint64_t v = attr->group * 100 + attr->attr;

	return copy_to_user(c, attr->addr, &v, sizeof(v)) ? -EFAULT : 0;
}

static long probe_ioctl(struct kvm_device *dev, struct uvf_caller *c, unsigned int ioctl,
			uint64_t arg)
{
	return 4242;
}

static const struct kvm_device_ops probe_ops = {
	.name = "probe",
	.create = probe_create,
	.destroy = probe_destroy,
	.get_attr = probe_get_attr,
	.ioctl = probe_ioctl,
};

static void test_registry_and_destroy(void **state)
{
	struct fixture *f = *state;
	int vm = create_vm(f->p, f->kvm), dev;
	uint64_t v = 0;
	struct kvm_device_attr a = { .group = 3, .attr = 7, .addr = (uintptr_t)&v };

	assert_errno(kvm_register_device_ops(f->h, &probe_ops, KVM_DEV_TYPE_NR), -ENOSPC);
	assert_errno(kvm_register_device_ops(f->h, &probe_ops, KVM_DEV_TYPE_VFIO), -EEXIST);
	assert_errno(kvm_register_device_ops(f->h, &probe_ops, KVM_DEV_TYPE_ARM_PV_TIME), 0);
	assert_errno(create_device(f->p, vm, KVM_DEV_TYPE_ARM_PV_TIME, 0, &dev), 0);
	assert_errno(proc_ioctl(f->p, dev, KVM_GET_DEVICE_ATTR, &a), 0);
	assert_true(v == 307);
	assert_errno(proc_ioctl(f->p, dev, KVM_SET_DEVICE_ATTR, &a), -EPERM);
	assert_errno(proc_ioctl_val(f->p, dev, _IO(KVMIO, 0xf0), 0), 4242);
	/* No release: the device lives until the VM's end, which destroys it. */
	destroyed = 0;
	assert_int_equal(proc_close(f->p, dev), 0);
	assert_int_equal(destroyed, 0);
	assert_int_equal(proc_close(f->p, vm), 0);
	assert_int_equal(destroyed, 1);
	kvm_unregister_device_ops(f->h, KVM_DEV_TYPE_ARM_PV_TIME);
	vm = create_vm(f->p, f->kvm);
	assert_errno(create_device(f->p, vm, KVM_DEV_TYPE_ARM_PV_TIME, 0, NULL), -ENODEV);
}

/* ---- s390 crypto -------------------------------------------------------------------------- */

static int hook_calls;

static int test_pqap_hook(struct kvm *kvm, struct kvm_s390_pqap_regs *regs)
{
	hook_calls++;
	regs->gprs[1] = regs->gprs[0] + 1;
	return 0;
}

static void test_crypto_masks(void **state)
{
	struct fixture *f = *state;
	struct kvm *kvm = vm_of(f->p, create_vm(f->p, f->kvm));
	unsigned long apm[KVM_S390_AP_LONGS] = { 0 }, aqm[KVM_S390_AP_LONGS] = { 0 };
	unsigned long adm[KVM_S390_AP_LONGS] = { 0 }, got[KVM_S390_AP_LONGS];
	struct kvm_s390_apcb1 cb;
	crypto_hook hook = test_pqap_hook;
	struct kvm_s390_pqap_regs regs = { .gprs = { 41, 0, 0 } };
	uint64_t gen;

	gen = kvm_s390_crypto_get_masks(kvm, got, NULL, NULL);
	assert_true(bitmap_empty(got, KVM_S390_AP_BITS));
	set_bit(0, apm);
	set_bit(255, apm);
	set_bit(9, aqm);
	set_bit(64, adm);
	kvm_arch_crypto_set_masks(kvm, apm, aqm, adm);
	assert_true(kvm_s390_crypto_get_masks(kvm, got, NULL, NULL) == gen + 1);
	assert_memory_equal(got, apm, sizeof(apm));
	/* MSB first: AP 0 is the leftmost bit of byte 0, AP 255 the last bit. */
	kvm_s390_crypto_apcb1(kvm, &cb);
	assert_int_equal(cb.apm[0], 0x80);
	assert_int_equal(cb.apm[31], 0x01);
	assert_int_equal(cb.aqm[1], 0x40);
	assert_int_equal(cb.adm[8], 0x80);
	for (int i = 1; i < 31; i++)
		assert_int_equal(cb.apm[i], 0);
	kvm_arch_crypto_clear_masks(kvm);
	assert_true(kvm_s390_crypto_get_masks(kvm, NULL, got, NULL) == gen + 2);
	assert_true(bitmap_empty(got, KVM_S390_AP_BITS));
	kvm_s390_crypto_apcb1(kvm, &cb);
	assert_int_equal(cb.apm[0] | cb.apm[31] | cb.aqm[1] | cb.adm[8], 0);

	/* PQAP: user space's without a hook, the hook's with one. */
	assert_errno(kvm_s390_handle_pqap(kvm, &regs), -EOPNOTSUPP);
	uvf_write_lock(&kvm->arch.crypto.pqap_hook_rwsem);
	kvm->arch.crypto.pqap_hook = &hook;
	uvf_rw_unlock(&kvm->arch.crypto.pqap_hook_rwsem);
	hook_calls = 0;
	assert_errno(kvm_s390_handle_pqap(kvm, &regs), 0);
	assert_int_equal(hook_calls, 1);
	assert_true(regs.gprs[1] == 42);
	kvm->arch.crypto.pqap_hook = NULL;
}

/* ---- serving /dev/kvm ------------------------------------------------------------------------ */

static void test_chardev_served(void **state)
{
	struct uvf_host *h;

	(void)state;
	h = test_host_from_json("{ \"limits\": { \"kvm\": \"always\" } }");
	assert_true(kvm_chardev_served(h));
	host_free(h);
	h = test_host_from_json("{ \"limits\": { \"kvm\": \"never\" } }");
	assert_false(kvm_chardev_served(h));
	host_free(h);
	/* auto: the machine's own /dev/kvm, if it has one, stays its own. */
	h = test_host_from_json("{ \"limits\": { \"kvm\": \"auto\" } }");
	assert_int_equal(kvm_chardev_served(h), access("/dev/kvm", F_OK) != 0);
	host_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_chardev_node, setup, teardown),
		cmocka_unit_test_setup_teardown(test_api_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_extension, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_system_ioctls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_vm_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_without_vcpus_or_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_unknown_ioctls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_device_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_vfio_device_per_vm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_attr_ioctls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_process_gets_eio, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_keeps_its_vm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_kvm_safe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vms_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry_and_destroy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crypto_masks, setup, teardown),
		cmocka_unit_test(test_chardev_served),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
