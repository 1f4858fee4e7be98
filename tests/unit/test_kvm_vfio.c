// SPDX-License-Identifier: MIT
/*
 * The KVM-VFIO device: FILE_ADD/DEL of group fds and device cdev fds with
 * every error of 6.12, the references it holds (a registered group stays
 * taken until DEL, the device's close or the VM's end, then another
 * process can have it), non-coherent DMA following the files (the count,
 * WBINVD, debugfs, "uvfio vms"), the topology's coherency as the
 * container (DMA_CC_IOMMU) and iommufd (HWPT sharing) see it, and the VM
 * reaching VFIO devices: opened (group) or bound (cdev) after FILE_ADD they
 * see it in open_device, before it they do not, and a driver may require it.
 *
 * The built-in host: 00:03.0 (group 3), 00:04.0 (group 4), 00:05.0/.1
 * (group 5), all coherent; 00:08.0 (group 8) behind an IOMMU that cannot
 * block No-Snoop.  The association tests use mock devices.
 */
#include "harness.h"
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include "vfio_mock.h"
#include "iommufd_helpers.h"
#include "core/kvm/kvm.h"
#include "core/sysfs/sysfs.h"

#define BAD_PTR		((void *)8)

struct fixture {
	struct uvf_host *h;
	struct uvf_proc *p;
	int vm, dev;		/* a VM and its KVM-VFIO device */
};

static int create_kvm_vfio(struct uvf_proc *p, int *vm)
{
	struct kvm_create_device cd = { .type = KVM_DEV_TYPE_VFIO };
	int kvmfd = proc_open(p, "/dev/kvm", O_RDWR);

	assert_true(kvmfd >= 0);
	*vm = (int)proc_ioctl_val(p, kvmfd, KVM_CREATE_VM, 0);
	assert_true(*vm >= 0);
	assert_int_equal(proc_close(p, kvmfd), 0);
	assert_errno(proc_ioctl(p, *vm, KVM_CREATE_DEVICE, &cd), 0);
	return (int)cd.fd;
}

static struct fixture *fixture_new(struct uvf_host *h)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->h = h;
	f->p = proc_new_root(f->h);
	f->dev = create_kvm_vfio(f->p, &f->vm);
	return f;
}

static int setup(void **state)
{
	*state = fixture_new(test_host_default());
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

static long vfio_attr(struct uvf_proc *p, int dev, uint64_t attr, const void *addr)
{
	struct kvm_device_attr a = {
		.group = KVM_DEV_VFIO_FILE, .attr = attr, .addr = (uintptr_t)addr,
	};

	return proc_ioctl(p, dev, KVM_SET_DEVICE_ATTR, &a);
}

static long file_add(struct uvf_proc *p, int dev, int32_t fd)
{
	return vfio_attr(p, dev, KVM_DEV_VFIO_FILE_ADD, &fd);
}

static long file_del(struct uvf_proc *p, int dev, int32_t fd)
{
	return vfio_attr(p, dev, KVM_DEV_VFIO_FILE_DEL, &fd);
}

static struct kvm *vm_of(struct fixture *f)
{
	struct kvm *kvm = kvm_from_file(proc_file(f->p, f->vm));

	assert_non_null(kvm);
	return kvm;
}

static int noncoherent(struct fixture *f)
{
	return atomic_load(&vm_of(f)->arch.noncoherent_dma_count);
}

static int gopen(struct uvf_proc *p, unsigned int id)
{
	int fd = group_open(p, id);

	assert_true(fd >= 0);
	return fd;
}

/* ---- FILE_ADD / FILE_DEL errors --------------------------------------------------------- */

static void test_file_add_errors(void **state)
{
	struct fixture *f = *state;
	int g3 = gopen(f->p, 3), cfd = proc_open(f->p, "/dev/vfio/vfio", O_RDWR);
	int ifd = iommufd_open(f->p), dup3;

	assert_errno(vfio_attr(f->p, f->dev, KVM_DEV_VFIO_FILE_ADD, BAD_PTR), -EFAULT);
	assert_errno(file_add(f->p, f->dev, -1), -EBADF);
	assert_errno(file_add(f->p, f->dev, PROC_FD_BASE + PROC_MAX_FILES - 1), -EBADF);
	/* Open files that are not VFIO groups or devices. */
	assert_errno(file_add(f->p, f->dev, cfd), -EINVAL);
	assert_errno(file_add(f->p, f->dev, ifd), -EINVAL);
	assert_errno(file_add(f->p, f->dev, f->vm), -EINVAL);
	assert_errno(file_add(f->p, f->dev, f->dev), -EINVAL);
	assert_errno(file_add(f->p, f->dev, g3), 0);
	assert_errno(file_add(f->p, f->dev, g3), -EEXIST);
	/* The same open file through another fd. */
	dup3 = proc_dup(f->p, g3);
	assert_errno(file_add(f->p, f->dev, dup3), -EEXIST);
	/* Nothing else in the group: unknown attributes and groups. */
	assert_errno(vfio_attr(f->p, f->dev, KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE, &g3), -ENXIO);
	assert_errno(vfio_attr(f->p, f->dev, 99, &g3), -ENXIO);
	{
		struct kvm_device_attr a = { .group = 2, .attr = KVM_DEV_VFIO_FILE_ADD,
					     .addr = (uintptr_t)&g3 };

		assert_errno(proc_ioctl(f->p, f->dev, KVM_SET_DEVICE_ATTR, &a), -ENXIO);
	}
	assert_int_equal(atomic_load(&vm_of(f)->arch.assigned_device_count), 1);
}

static void test_file_del_errors(void **state)
{
	struct fixture *f = *state;
	int g3 = gopen(f->p, 3), g4 = gopen(f->p, 4);
	int cfd = proc_open(f->p, "/dev/vfio/vfio", O_RDWR);

	assert_errno(file_add(f->p, f->dev, g3), 0);
	assert_errno(vfio_attr(f->p, f->dev, KVM_DEV_VFIO_FILE_DEL, BAD_PTR), -EFAULT);
	assert_errno(file_del(f->p, f->dev, -1), -EBADF);
	assert_errno(file_del(f->p, f->dev, PROC_FD_BASE + PROC_MAX_FILES - 1), -EBADF);
	/* DEL does not ask what the file is: not registered is -ENOENT. */
	assert_errno(file_del(f->p, f->dev, g4), -ENOENT);
	assert_errno(file_del(f->p, f->dev, cfd), -ENOENT);
	assert_errno(file_del(f->p, f->dev, g3), 0);
	assert_errno(file_del(f->p, f->dev, g3), -ENOENT);
	assert_int_equal(atomic_load(&vm_of(f)->arch.assigned_device_count), 0);
	/* And again. */
	assert_errno(file_add(f->p, f->dev, g3), 0);
	assert_errno(file_del(f->p, f->dev, g3), 0);
}

static void test_cdev_fds(void **state)
{
	struct fixture *f = *state;
	int d3 = cdev_open(f->p, "0000:00:03.0"), d8 = cdev_open(f->p, "0000:00:08.0");
	struct uvf_file *file = proc_file(f->p, d3);

	assert_true(vfio_file_is_valid(file));
	assert_false(vfio_file_is_group(file));
	assert_true(vfio_file_is_group(proc_file(f->p, gopen(f->p, 4))));
	assert_false(vfio_file_is_valid(proc_file(f->p, f->vm)));
	/* An unbound cdev fd may be registered (that is how it reaches bind). */
	assert_errno(file_add(f->p, f->dev, d3), 0);
	assert_errno(file_add(f->p, f->dev, d3), -EEXIST);
	assert_errno(file_add(f->p, f->dev, d8), 0);
	assert_int_equal(noncoherent(f), 1);
	assert_errno(file_del(f->p, f->dev, d8), 0);
	assert_int_equal(noncoherent(f), 0);
	assert_errno(file_del(f->p, f->dev, d3), 0);
}

/* ---- references ---------------------------------------------------------------------------- */

/* The group is held while registered: another process cannot have it. */
static void test_reference_held_until_del(void **state)
{
	struct fixture *f = *state;
	struct uvf_proc *other = proc_new_root(f->h);
	int g3 = gopen(f->p, 3), keep = proc_dup(f->p, g3);

	assert_errno(file_add(f->p, f->dev, g3), 0);
	assert_int_equal(proc_close(f->p, g3), 0);
	assert_errno(group_open(other, 3), -EBUSY);
	assert_errno(file_del(f->p, f->dev, keep), 0);
	assert_errno(group_open(other, 3), -EBUSY);	/* 'keep' still open */
	assert_int_equal(proc_close(f->p, keep), 0);
	assert_true(group_open(other, 3) >= 0);
	proc_free(other);
}

/* Closing the KVM-VFIO device drops every file it holds. */
static void test_reference_dropped_on_device_close(void **state)
{
	struct fixture *f = *state;
	struct uvf_proc *other = proc_new_root(f->h);
	int g3 = gopen(f->p, 3), g8 = gopen(f->p, 8);

	assert_errno(file_add(f->p, f->dev, g3), 0);
	assert_errno(file_add(f->p, f->dev, g8), 0);
	assert_int_equal(noncoherent(f), 1);
	assert_int_equal(proc_close(f->p, g3), 0);
	assert_int_equal(proc_close(f->p, g8), 0);
	assert_errno(group_open(other, 3), -EBUSY);
	assert_int_equal(proc_close(f->p, f->dev), 0);
	assert_int_equal(noncoherent(f), 0);
	assert_int_equal(atomic_load(&vm_of(f)->arch.assigned_device_count), 0);
	assert_true(group_open(other, 3) >= 0);
	assert_true(group_open(other, 8) >= 0);
	proc_free(other);
}

/* The device holds the VM, not the reverse: the VM's fd alone keeps all. */
static void test_reference_dropped_when_vm_goes(void **state)
{
	struct fixture *f = *state;
	struct uvf_proc *other = proc_new_root(f->h);
	int g3 = gopen(f->p, 3);

	assert_errno(file_add(f->p, f->dev, g3), 0);
	assert_int_equal(proc_close(f->p, g3), 0);
	assert_int_equal(proc_close(f->p, f->vm), 0);
	assert_errno(group_open(other, 3), -EBUSY);
	/* Process exit: the device file goes, then the VM. */
	proc_free(f->p);
	f->p = proc_new_root(f->h);
	assert_true(group_open(other, 3) >= 0);
	{
		char text[256];

		assert_int_equal(kvm_show_vms(f->h, text, sizeof(text)), 0);
	}
	proc_free(other);
}

/* ---- coherency ---------------------------------------------------------------------------- */

static void read_attr(struct uvf_host *h, const char *path, char *buf, size_t size)
{
	static const struct uvf_caller root;
	ssize_t n = sysfs_read(h->sysfs, &root, path, buf, size - 1, 0);

	if (n < 0)
		fail_msg("read %s: %s", path, strerror((int)-n));
	buf[n] = '\0';
}

static void test_coherency_follows_files(void **state)
{
	struct fixture *f = *state;
	struct kvm *kvm = vm_of(f);
	int g3 = gopen(f->p, 3), g5 = gopen(f->p, 5), g8 = gopen(f->p, 8);
	int d4 = cdev_open(f->p, "0000:00:04.0");
	char path[96], buf[16];

	snprintf(path, sizeof(path), "/kernel/debug/kvm/%d-%u/noncoherent_dma", (int)getpid(),
		 kvm->id);
	assert_true(vfio_file_enforced_coherent(proc_file(f->p, g3)));
	assert_true(vfio_file_enforced_coherent(proc_file(f->p, g5)));
	assert_false(vfio_file_enforced_coherent(proc_file(f->p, g8)));
	/* Not a VFIO file: nothing to enforce. */
	assert_true(vfio_file_enforced_coherent(proc_file(f->p, f->vm)));

	assert_errno(file_add(f->p, f->dev, g3), 0);
	assert_errno(file_add(f->p, f->dev, g5), 0);
	assert_false(kvm_arch_has_noncoherent_dma(kvm));
	assert_errno(file_add(f->p, f->dev, g8), 0);
	assert_true(kvm_arch_has_noncoherent_dma(kvm));
	read_attr(f->h, path, buf, sizeof(buf));
	assert_string_equal(buf, "1\n");
	/* Registered once for the whole device, whatever else comes. */
	assert_errno(file_add(f->p, f->dev, d4), 0);
	assert_int_equal(noncoherent(f), 1);
	assert_int_equal(atomic_load(&kvm->arch.noncoherent_transitions), 1);
	assert_errno(file_del(f->p, f->dev, g3), 0);
	assert_int_equal(noncoherent(f), 1);
	assert_errno(file_del(f->p, f->dev, g8), 0);
	assert_false(kvm_arch_has_noncoherent_dma(kvm));
	assert_int_equal(atomic_load(&kvm->arch.noncoherent_transitions), 2);
	read_attr(f->h, path, buf, sizeof(buf));
	assert_string_equal(buf, "0\n");
	assert_errno(file_add(f->p, f->dev, g8), 0);
	assert_int_equal(noncoherent(f), 1);
}

/* Two VMs each count their own. */
static void test_coherency_per_vm(void **state)
{
	struct fixture *f = *state;
	int vm2, dev2 = create_kvm_vfio(f->p, &vm2);
	int g8 = gopen(f->p, 8), g3 = gopen(f->p, 3);

	assert_errno(file_add(f->p, f->dev, g8), 0);
	assert_errno(file_add(f->p, dev2, g3), 0);
	assert_int_equal(noncoherent(f), 1);
	assert_false(kvm_arch_has_noncoherent_dma(kvm_from_file(proc_file(f->p, vm2))));
	/* One file may be registered with two VMs. */
	assert_errno(file_add(f->p, dev2, g8), 0);
	assert_true(kvm_arch_has_noncoherent_dma(kvm_from_file(proc_file(f->p, vm2))));
}

static void test_vms_listing(void **state)
{
	struct fixture *f = *state;
	int g3 = gopen(f->p, 3), d8 = cdev_open(f->p, "0000:00:08.0");
	char text[1024], want[512], name[64];

	assert_errno(file_add(f->p, f->dev, g3), 0);
	assert_errno(file_add(f->p, f->dev, d8), 0);
	assert_int_equal(vfio_file_describe(proc_file(f->p, f->vm), name, sizeof(name)), -EINVAL);
	assert_int_equal(vfio_file_describe(proc_file(f->p, d8), name, sizeof(name)), 0);
	kvm_show_vms(f->h, text, sizeof(text));
	snprintf(want, sizeof(want),
		 "vm %u pid=%d kvm-vfio=1 assigned=2 noncoherent=1 wbinvd=1\n"
		 "file %u group 3 coherent\n"
		 "file %u %s noncoherent\n",
		 vm_of(f)->id, (int)getpid(), vm_of(f)->id, vm_of(f)->id, name);
	assert_string_equal(text, want);
	assert_true(strstr(name, "device vfio") == name);
	assert_non_null(strstr(name, " 0000:00:08.0"));
}

/* What the IOMMU enforces, as VFIO's DMA_CC_IOMMU reports it (type1). */
static void test_container_dma_cc(void **state)
{
	struct fixture *f = *state;
	int g3 = gopen(f->p, 3), g8 = gopen(f->p, 8);
	int c3 = container_with_group(f->p, g3, VFIO_TYPE1v2_IOMMU);
	int c8 = container_with_group(f->p, g8, VFIO_TYPE1v2_IOMMU);
	int g4 = gopen(f->p, 4);

	assert_errno(container_check_ext(f->p, c3, VFIO_DMA_CC_IOMMU), 1);
	assert_errno(container_check_ext(f->p, c8, VFIO_DMA_CC_IOMMU), 0);
	/* One non-enforcing domain in a container is enough. */
	assert_errno(group_set_container(f->p, g4, c8), 0);
	assert_errno(container_check_ext(f->p, c8, VFIO_DMA_CC_IOMMU), 0);
	/* Its domain goes with it: the container enforces again. */
	assert_errno(proc_ioctl_val(f->p, g8, VFIO_GROUP_UNSET_CONTAINER, 0), 0);
	assert_errno(container_check_ext(f->p, c8, VFIO_DMA_CC_IOMMU), 1);
}

/* The same through an iommufd posing as a container: per HWPT. */
static void test_iommufd_compat_dma_cc(void **state)
{
	struct fixture *f = *state;
	int g3 = gopen(f->p, 3), g8 = gopen(f->p, 8);
	int i3 = iommufd_open(f->p), i8 = iommufd_open(f->p);

	assert_errno(group_set_container(f->p, g3, i3), 0);
	assert_errno(group_set_container(f->p, g8, i8), 0);
	/* Devices attach (and HWPTs appear) at GET_DEVICE_FD. */
	assert_true(proc_ioctl(f->p, g3, VFIO_GROUP_GET_DEVICE_FD, "0000:00:03.0") >= 0);
	assert_true(proc_ioctl(f->p, g8, VFIO_GROUP_GET_DEVICE_FD, "0000:00:08.0") >= 0);
	assert_errno(container_check_ext(f->p, i3, VFIO_DMA_CC_IOMMU), 1);
	assert_errno(container_check_ext(f->p, i8, VFIO_DMA_CC_IOMMU), 0);
}

/*
 * iommufd: a HWPT made for a device whose IOMMU enforces coherency enforces
 * it and cannot take a device whose IOMMU cannot (a new HWPT is made for
 * it); a non-enforcing HWPT takes either.
 */
static void test_iommufd_hwpt_coherency(void **state)
{
	struct fixture *f = *state;
	int ifd = iommufd_open(f->p);
	int d3 = cdev_open(f->p, "0000:00:03.0"), d4 = cdev_open(f->p, "0000:00:04.0");
	int d8 = cdev_open(f->p, "0000:00:08.0");
	uint32_t ioas, ioas2, h3, h4, h8, h8b;

	assert_errno(ioas_alloc(f->p, ifd, &ioas), 0);
	assert_errno(ioas_alloc(f->p, ifd, &ioas2), 0);
	assert_errno(cdev_bind(f->p, d3, ifd, NULL), 0);
	assert_errno(cdev_bind(f->p, d4, ifd, NULL), 0);
	assert_errno(cdev_bind(f->p, d8, ifd, NULL), 0);
	assert_errno(cdev_attach(f->p, d3, ioas, &h3), 0);
	assert_errno(cdev_attach(f->p, d8, ioas, &h8), 0);
	assert_true(h3 != h8);
	assert_errno(cdev_attach(f->p, d4, ioas, &h4), 0);
	assert_int_equal(h4, h3);
	/* The other order: the non-enforcing HWPT comes first and serves all. */
	assert_errno(cdev_attach(f->p, d8, ioas2, &h8b), 0);
	assert_errno(cdev_attach(f->p, d4, ioas2, &h4), 0);
	assert_int_equal(h4, h8b);
}

/* ---- the VM reaching VFIO devices ------------------------------------------------------------ */

static struct kvm *open_saw;
static int open_calls;
static bool require_kvm;

/* A driver that notes the VM it is opened with and may require one. */
static int kvm_mock_open_device(struct vfio_device *vdev)
{
	open_calls++;
	open_saw = vdev->kvm;
	return require_kvm && !vdev->kvm ? -EINVAL : 0;
}

static struct vfio_device_ops kvm_mock_ops;

static struct mock_dev *kvm_mock_add(struct uvf_host *h, int group, const char *name)
{
	struct mock_dev *m;

	kvm_mock_ops = mock_ops;
	kvm_mock_ops.open_device = kvm_mock_open_device;
	m = mock_dev_new(h, group, name, &kvm_mock_ops);
	assert_int_equal(vfio_register_group_dev(&m->vdev), 0);
	m->registered = true;
	return m;
}

struct mfixture {
	struct fixture *f;
	struct mock_dev *m;
};

static int msetup(void **state)
{
	struct mfixture *mf = calloc(1, sizeof(*mf));

	assert_non_null(mf);
	mf->f = fixture_new(test_host_from_json("{}"));
	mf->m = kvm_mock_add(mf->f->h, 9, "mock0");
	open_saw = NULL;
	open_calls = 0;
	require_kvm = false;
	*state = mf;
	return 0;
}

static int mteardown(void **state)
{
	struct mfixture *mf = *state;
	struct fixture *f = mf->f;

	proc_free(f->p);
	mock_dev_free(mf->m);
	host_free(f->h);
	free(f);
	free(mf);
	return 0;
}

static int mock_group_device(struct uvf_proc *p, int gfd, int *cfd)
{
	*cfd = container_with_group(p, gfd, VFIO_TYPE1v2_IOMMU);
	return (int)proc_ioctl(p, gfd, VFIO_GROUP_GET_DEVICE_FD, "mock0");
}

static void test_group_open_after_add_sees_vm(void **state)
{
	struct mfixture *mf = *state;
	struct fixture *f = mf->f;
	struct kvm *kvm = vm_of(f);
	int gfd = gopen(f->p, 9), cfd, dfd, dfd2;

	assert_errno(file_add(f->p, f->dev, gfd), 0);
	dfd = mock_group_device(f->p, gfd, &cfd);
	assert_true(dfd >= 0);
	assert_ptr_equal(open_saw, kvm);
	assert_ptr_equal(mf->m->vdev.kvm, kvm);
	/* The device holds the VM: VM fd + device fd + the open device. */
	assert_int_equal(uvf_ref_read(&kvm->users_count), 3);
	/* A second open of an open device changes nothing. */
	dfd2 = (int)proc_ioctl(f->p, gfd, VFIO_GROUP_GET_DEVICE_FD, "mock0");
	assert_true(dfd2 >= 0);
	assert_int_equal(open_calls, 1);
	assert_int_equal(uvf_ref_read(&kvm->users_count), 3);
	/* DEL does not reach an open device; the last close drops the VM. */
	assert_errno(file_del(f->p, f->dev, gfd), 0);
	assert_ptr_equal(mf->m->vdev.kvm, kvm);
	assert_int_equal(proc_close(f->p, dfd), 0);
	assert_ptr_equal(mf->m->vdev.kvm, kvm);
	assert_int_equal(proc_close(f->p, dfd2), 0);
	assert_null(mf->m->vdev.kvm);
	assert_int_equal(uvf_ref_read(&kvm->users_count), 2);
	/* Unregistered now: the next open has no VM. */
	dfd = (int)proc_ioctl(f->p, gfd, VFIO_GROUP_GET_DEVICE_FD, "mock0");
	assert_true(dfd >= 0);
	assert_null(open_saw);
}

static void test_group_open_before_add_does_not(void **state)
{
	struct mfixture *mf = *state;
	struct fixture *f = mf->f;
	int gfd = gopen(f->p, 9), cfd, dfd;

	dfd = mock_group_device(f->p, gfd, &cfd);
	assert_true(dfd >= 0);
	assert_errno(file_add(f->p, f->dev, gfd), 0);
	assert_null(open_saw);
	assert_null(mf->m->vdev.kvm);
	/* Closed and reopened: now it does. */
	assert_int_equal(proc_close(f->p, dfd), 0);
	dfd = (int)proc_ioctl(f->p, gfd, VFIO_GROUP_GET_DEVICE_FD, "mock0");
	assert_true(dfd >= 0);
	assert_ptr_equal(open_saw, vm_of(f));
}

/* The open device keeps the VM alive after every KVM file is gone. */
static void test_open_device_keeps_vm(void **state)
{
	struct mfixture *mf = *state;
	struct fixture *f = mf->f;
	struct kvm *kvm = vm_of(f);
	int gfd = gopen(f->p, 9), cfd, dfd;
	char text[512];

	assert_errno(file_add(f->p, f->dev, gfd), 0);
	dfd = mock_group_device(f->p, gfd, &cfd);
	assert_true(dfd >= 0);
	assert_int_equal(proc_close(f->p, f->dev), 0);
	assert_int_equal(proc_close(f->p, f->vm), 0);
	assert_int_equal(uvf_ref_read(&kvm->users_count), 1);
	assert_ptr_equal(mf->m->vdev.kvm, kvm);
	kvm_show_vms(f->h, text, sizeof(text));
	assert_true(strncmp(text, "vm ", 3) == 0);
	assert_int_equal(proc_close(f->p, dfd), 0);
	assert_null(mf->m->vdev.kvm);
	assert_int_equal(kvm_show_vms(f->h, text, sizeof(text)), 0);
}

static void test_driver_requires_vm(void **state)
{
	struct mfixture *mf = *state;
	struct fixture *f = mf->f;
	int gfd = gopen(f->p, 9), cfd;

	require_kvm = true;
	cfd = container_with_group(f->p, gfd, VFIO_TYPE1v2_IOMMU);
	assert_errno(proc_ioctl(f->p, gfd, VFIO_GROUP_GET_DEVICE_FD, "mock0"), -EINVAL);
	assert_int_equal(mf->m->vdev.open_count, 0);
	assert_errno(file_add(f->p, f->dev, gfd), 0);
	assert_true(proc_ioctl(f->p, gfd, VFIO_GROUP_GET_DEVICE_FD, "mock0") >= 0);
	(void)cfd;
}

static void test_cdev_bind_after_add_sees_vm(void **state)
{
	struct mfixture *mf = *state;
	struct fixture *f = mf->f;
	struct kvm *kvm = vm_of(f);
	int ifd = iommufd_open(f->p), dfd, gfd;
	char path[64];

	snprintf(path, sizeof(path), "/dev/vfio/devices/vfio%u", mf->m->vdev.index);
	dfd = proc_open(f->p, path, O_RDWR);
	assert_true(dfd >= 0);
	assert_errno(file_add(f->p, f->dev, dfd), 0);
	/* Registration alone opens nothing. */
	assert_int_equal(open_calls, 0);
	assert_null(mf->m->vdev.kvm);
	assert_errno(cdev_bind(f->p, dfd, ifd, NULL), 0);
	assert_ptr_equal(open_saw, kvm);
	assert_ptr_equal(mf->m->vdev.kvm, kvm);
	assert_int_equal(uvf_ref_read(&kvm->users_count), 3);
	/* A second cdev fd of the bound device fails to bind and leaves it be. */
	{
		int other = proc_open(f->p, path, O_RDWR);

		assert_errno(file_add(f->p, f->dev, other), 0);
		assert_errno(cdev_bind(f->p, other, ifd, NULL), -EINVAL);
		assert_ptr_equal(mf->m->vdev.kvm, kvm);
		assert_int_equal(uvf_ref_read(&kvm->users_count), 3);
		assert_errno(file_del(f->p, f->dev, other), 0);
		assert_int_equal(proc_close(f->p, other), 0);
	}
	/* KVM holds the file: closing the fd alone does not unbind. */
	assert_int_equal(proc_close(f->p, proc_dup(f->p, dfd)), 0);
	assert_errno(file_del(f->p, f->dev, dfd), 0);
	assert_ptr_equal(mf->m->vdev.kvm, kvm);
	assert_int_equal(proc_close(f->p, dfd), 0);
	assert_null(mf->m->vdev.kvm);
	assert_int_equal(uvf_ref_read(&kvm->users_count), 2);
	/* The cdev file's registration is not the group's. */
	gfd = gopen(f->p, 9);
	assert_true(mock_group_device(f->p, gfd, &dfd) >= 0);
	assert_null(open_saw);
}

static void test_cdev_bind_before_add_does_not(void **state)
{
	struct mfixture *mf = *state;
	struct fixture *f = mf->f;
	int ifd = iommufd_open(f->p), dfd;
	char path[64];

	snprintf(path, sizeof(path), "/dev/vfio/devices/vfio%u", mf->m->vdev.index);
	dfd = proc_open(f->p, path, O_RDWR);
	assert_errno(cdev_bind(f->p, dfd, ifd, NULL), 0);
	assert_errno(file_add(f->p, f->dev, dfd), 0);
	assert_int_equal(open_calls, 1);
	assert_null(open_saw);
	assert_null(mf->m->vdev.kvm);
	/* A registered cdev file stays bound until KVM lets it go too. */
	assert_int_equal(proc_close(f->p, dfd), 0);
	assert_int_equal(mf->m->close_calls, 0);
	assert_int_equal(proc_close(f->p, f->dev), 0);
	assert_int_equal(mf->m->close_calls, 1);
}

/* FILE_ADD/DEL racing first opens and last closes: every reference is
 * balanced and nothing is used after it is freed (ASan/TSan). */
struct race {
	struct fixture *f;
	int gfd;
	atomic_bool stop;
	atomic_int errors;	/* cmocka asserts only on the main thread */
};

static void *race_add_del(void *arg)
{
	struct race *r = arg;

	for (int i = 0; i < 2000; i++) {
		if (file_add(r->f->p, r->f->dev, r->gfd) || file_del(r->f->p, r->f->dev, r->gfd))
			atomic_fetch_add(&r->errors, 1);
	}
	atomic_store(&r->stop, true);
	return NULL;
}

static void test_add_del_races_open(void **state)
{
	struct mfixture *mf = *state;
	struct fixture *f = mf->f;
	struct kvm *kvm = vm_of(f);
	struct race r = { .f = f, .gfd = gopen(f->p, 9) };
	pthread_t t;
	int cfd = container_with_group(f->p, r.gfd, VFIO_TYPE1v2_IOMMU);

	assert_int_equal(pthread_create(&t, NULL, race_add_del, &r), 0);
	while (!atomic_load(&r.stop)) {
		int dfd = (int)proc_ioctl(f->p, r.gfd, VFIO_GROUP_GET_DEVICE_FD, "mock0");

		assert_true(dfd >= 0);
		assert_true(mf->m->vdev.kvm == NULL || mf->m->vdev.kvm == kvm);
		assert_int_equal(proc_close(f->p, dfd), 0);
	}
	pthread_join(t, NULL);
	(void)cfd;
	assert_int_equal(atomic_load(&r.errors), 0);
	assert_null(mf->m->vdev.kvm);
	assert_int_equal(uvf_ref_read(&kvm->users_count), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_file_add_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_del_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cdev_fds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reference_held_until_del, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reference_dropped_on_device_close, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reference_dropped_when_vm_goes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_coherency_follows_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_coherency_per_vm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vms_listing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_container_dma_cc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iommufd_compat_dma_cc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iommufd_hwpt_coherency, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_open_after_add_sees_vm, msetup,
						mteardown),
		cmocka_unit_test_setup_teardown(test_group_open_before_add_does_not, msetup,
						mteardown),
		cmocka_unit_test_setup_teardown(test_open_device_keeps_vm, msetup, mteardown),
		cmocka_unit_test_setup_teardown(test_driver_requires_vm, msetup, mteardown),
		cmocka_unit_test_setup_teardown(test_cdev_bind_after_add_sees_vm, msetup,
						mteardown),
		cmocka_unit_test_setup_teardown(test_cdev_bind_before_add_does_not, msetup,
						mteardown),
		cmocka_unit_test_setup_teardown(test_add_del_races_open, msetup, mteardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
