/* SPDX-License-Identifier: MIT */
/*
 * The argument rule of every command the shim forwards: whether arg is a
 * value or a pointer, how many bytes the kernel reads there, and which
 * fds, DMA ranges or returned fds the bytes name.  Numbers and layouts are
 * the kernel's (<linux/vfio.h>, and include/uapi/linux/iommufd.h of 6.12
 * for /dev/iommu, whose commands are not in every system's headers).
 *
 * The same number means different things on different files (0x3B71 is
 * MAP_DMA on a container and PCI_HOT_RESET on a device), so a rule names
 * the kinds of file it is for.  A channel whose kind the shim was never
 * told matches the first rule with its number: container rules come first.
 *
 * The column after the minimum size is the whole struct for the commands
 * that may go the direct way (ioctl.c), whose handler reads the minimum
 * only and, when it answers, writes the struct up to argsz in one piece
 * (GET_INFO: min(argsz, sizeof)), nothing past it at arg.  sizeof comes
 * from the <linux/vfio.h> the core is built with, so both agree on it.  Arrays
 * past the struct (SET_IRQS data, hot reset fds and devices, feature data,
 * the dirty bitmap range), fds or DMA ranges inside it (a prepare hook)
 * and iommufd structs read up to their size need a stage of what the
 * program passed.  Caps past the struct are written through the memory
 * handle on the direct way: correct, and only asked for at setup.
 */
#include <errno.h>
#include <string.h>
#include <linux/vfio.h>
#include <linux/kvm.h>
#include "shim.h"
/* zcrypt's uAPI is s390's; uvfio carries it (x86 has no <asm/zcrypt.h>). */
#include "../../include/uapi/asm/zcrypt.h"
#include "../../include/uapi/linux/uvfio_s390_ap.h"

/* /dev/iommu commands: _IO(';', 0x80 + n), each struct starts with u32 size. */
#define IOMMUFD_CMD(nr)			_IO(';', 0x80 + (nr))
#define IOMMU_DESTROY_			IOMMUFD_CMD(0x00)
#define IOMMU_IOAS_ALLOC_		IOMMUFD_CMD(0x01)
#define IOMMU_IOAS_ALLOW_IOVAS_		IOMMUFD_CMD(0x02)
#define IOMMU_IOAS_COPY_		IOMMUFD_CMD(0x03)
#define IOMMU_IOAS_IOVA_RANGES_		IOMMUFD_CMD(0x04)
#define IOMMU_IOAS_MAP_			IOMMUFD_CMD(0x05)
#define IOMMU_IOAS_UNMAP_		IOMMUFD_CMD(0x06)
#define IOMMU_OPTION_			IOMMUFD_CMD(0x07)
#define IOMMU_VFIO_IOAS_		IOMMUFD_CMD(0x08)
#define IOMMU_HWPT_ALLOC_		IOMMUFD_CMD(0x09)
#define IOMMU_GET_HW_INFO_		IOMMUFD_CMD(0x0a)
#define IOMMU_HWPT_SET_DIRTY_TRACKING_	IOMMUFD_CMD(0x0b)
#define IOMMU_HWPT_GET_DIRTY_BITMAP_	IOMMUFD_CMD(0x0c)
#define IOMMU_HWPT_INVALIDATE_		IOMMUFD_CMD(0x0d)
#define IOMMU_FAULT_QUEUE_ALLOC_	IOMMUFD_CMD(0x0e)
#define IOMMU_IOAS_MAP_FILE_		IOMMUFD_CMD(0x0f)	/* 6.13 */
#define IOMMU_TEST_CMD_			IOMMUFD_CMD(0x20)

/* Offsets in the kernel's structs that the hooks below read. */
#define IRQ_SET_FLAGS		4	/* vfio_irq_set.flags */
#define IRQ_SET_COUNT		16	/* vfio_irq_set.count */
#define IRQ_SET_DATA		20	/* vfio_irq_set.data[] */
#define HOT_RESET_COUNT		8	/* vfio_pci_hot_reset.count */
#define HOT_RESET_FDS		16	/* vfio_pci_hot_reset.group_fds[] */
#define IOEVENTFD_FD		24	/* vfio_device_ioeventfd.fd */
#define FEATURE_FLAGS		4	/* vfio_device_feature.flags */
#define FEATURE_DATA		8	/* vfio_device_feature.data[] */
#define BIND_IOMMUFD_FD		8	/* vfio_device_bind_iommufd.iommufd */
#define DMA_MAP_VADDR		8	/* vfio_iommu_type1_dma_map.vaddr */
#define DMA_MAP_SIZE		24	/* vfio_iommu_type1_dma_map.size */
#define IOAS_MAP_USER_VA	16	/* iommu_ioas_map.user_va */
#define IOAS_MAP_LENGTH		24	/* iommu_ioas_map.length */
#define IOAS_MAP_FILE_FD	12	/* iommu_ioas_map_file.fd */
#define FAULT_ALLOC_OUT_FD	12	/* iommu_fault_alloc.out_fault_fd */
#define TEST_CMD_OP		4	/* iommu_test_cmd.op */
#define TEST_CMD_ID		8	/* iommu_test_cmd.id */
#define TEST_CMD_OUT_ACCESS_FD	16	/* iommu_test_cmd.create_access.out_access_fd */
#define TEST_CHECK_MAP_LENGTH	24	/* iommu_test_cmd.check_map.length */
#define TEST_CHECK_MAP_UPTR	32	/* iommu_test_cmd.check_map.uptr */
#define TEST_CHECK_REFS_LENGTH	16	/* iommu_test_cmd.check_refs.length */
#define TEST_CHECK_REFS_UPTR	24	/* iommu_test_cmd.check_refs.uptr */
#define TEST_ACCESS_PAGES_LENGTH 32	/* iommu_test_cmd.access_pages.length */
#define TEST_ACCESS_PAGES_UPTR	40	/* iommu_test_cmd.access_pages.uptr */

/* iommu_test_cmd ops that name user memory, an access fd in 'id', or return one. */
#define TEST_OP_MD_CHECK_MAP		3
#define TEST_OP_MD_CHECK_REFS		4
#define TEST_OP_CREATE_ACCESS		5
#define TEST_OP_DESTROY_ACCESS_PAGES	6
#define TEST_OP_ACCESS_PAGES		7
#define TEST_OP_ACCESS_RW		8
#define TEST_OP_ACCESS_REPLACE_IOAS	11

static bool stage_u32(const struct shim_ioc *io, uint32_t off, uint32_t *v)
{
	if (off + 4 > io->stage_len)
		return false;
	memcpy(v, io->stage + off, 4);
	return true;
}

static bool stage_u64(const struct shim_ioc *io, uint32_t off, uint64_t *v)
{
	if (off + 8 > io->stage_len)
		return false;
	memcpy(v, io->stage + off, 8);
	return true;
}

/* The s32 fd at off, if the argument is long enough to hold one. */
static int attach_fd_at(struct shim_ioc *io, uint32_t off)
{
	uint32_t fd;

	if (!stage_u32(io, off, &fd))
		return 0;
	return shim_ioc_attach_fd(io, (int32_t)fd);
}

/* count s32 fds from off (bounded by the staged bytes, as argsz bounds them). */
static int attach_fd_array(struct shim_ioc *io, uint32_t off, uint32_t count)
{
	uint32_t room = io->stage_len > off ? (io->stage_len - off) / 4 : 0;

	if (count > room)
		count = room;
	for (uint32_t i = 0; i < count; i++) {
		int err = attach_fd_at(io, off + 4 * i);

		if (err)
			return err;
	}
	return 0;
}

/* The user range [*(va_off), + *(len_off)) of the argument, as DMA pieces. */
static int attach_dma_at(struct shim_ioc *io, uint32_t va_off, uint32_t len_off)
{
	uint64_t va, len;

	if (!stage_u64(io, va_off, &va) || !stage_u64(io, len_off, &len))
		return 0;
	return shim_ioc_attach_dma(io, va, len);
}

static int prep_set_container(struct shim_ioc *io)
{
	return attach_fd_at(io, 0);
}

static int prep_set_irqs(struct shim_ioc *io)
{
	uint32_t flags, count;

	if (!stage_u32(io, IRQ_SET_FLAGS, &flags) || !stage_u32(io, IRQ_SET_COUNT, &count))
		return 0;
	if (!(flags & VFIO_IRQ_SET_DATA_EVENTFD))
		return 0;
	return attach_fd_array(io, IRQ_SET_DATA, count);
}

static int prep_hot_reset(struct shim_ioc *io)
{
	uint32_t count;

	if (!stage_u32(io, HOT_RESET_COUNT, &count))
		return 0;
	return attach_fd_array(io, HOT_RESET_FDS, count);
}

static int prep_ioeventfd(struct shim_ioc *io)
{
	return attach_fd_at(io, IOEVENTFD_FD);
}

static int prep_feature(struct shim_ioc *io)
{
	uint32_t flags, feature;

	if (!stage_u32(io, FEATURE_FLAGS, &flags) || !(flags & VFIO_DEVICE_FEATURE_SET))
		return 0;
	feature = flags & VFIO_DEVICE_FEATURE_MASK;
	if (feature == VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP)
		return attach_fd_at(io, FEATURE_DATA);
	if (feature == VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE) {
		/* vfio_device_feature_mig_state { u32 device_state; s32 data_fd; } */
		io->out_fd = FEATURE_DATA + 4;
		io->out_kind = SHIM_K_MIGDATA;
	}
	return 0;
}

static int prep_bind_iommufd(struct shim_ioc *io)
{
	return attach_fd_at(io, BIND_IOMMUFD_FD);
}

static int prep_map_dma(struct shim_ioc *io)
{
	return attach_dma_at(io, DMA_MAP_VADDR, DMA_MAP_SIZE);
}

static int prep_ioas_map(struct shim_ioc *io)
{
	return attach_dma_at(io, IOAS_MAP_USER_VA, IOAS_MAP_LENGTH);
}

static int prep_ioas_map_file(struct shim_ioc *io)
{
	return attach_fd_at(io, IOAS_MAP_FILE_FD);
}

static int prep_fault_alloc(struct shim_ioc *io)
{
	io->out_fd = FAULT_ALLOC_OUT_FD;
	return 0;
}

static int prep_test_cmd(struct shim_ioc *io)
{
	uint32_t op;

	if (!stage_u32(io, TEST_CMD_OP, &op))
		return 0;
	/*
	 * The checks compare user memory with what a map pinned, so it must
	 * resolve the way IOAS_MAP resolved it: the same pieces of the same
	 * shareable files.
	 */
	switch (op) {
	case TEST_OP_MD_CHECK_MAP:
		return attach_dma_at(io, TEST_CHECK_MAP_UPTR, TEST_CHECK_MAP_LENGTH);
	case TEST_OP_MD_CHECK_REFS:
		return attach_dma_at(io, TEST_CHECK_REFS_UPTR, TEST_CHECK_REFS_LENGTH);
	case TEST_OP_ACCESS_PAGES: {
		int err = attach_fd_at(io, TEST_CMD_ID);

		return err ? err : attach_dma_at(io, TEST_ACCESS_PAGES_UPTR,
						 TEST_ACCESS_PAGES_LENGTH);
	}
	case TEST_OP_CREATE_ACCESS:
		io->out_fd = TEST_CMD_OUT_ACCESS_FD;
		return 0;
	case TEST_OP_DESTROY_ACCESS_PAGES:
	case TEST_OP_ACCESS_RW:
	case TEST_OP_ACCESS_REPLACE_IOAS:
		return attach_fd_at(io, TEST_CMD_ID);
	default:
		return 0;
	}
}

/* KVM (<linux/kvm.h>) */
#define KVM_CREATE_DEVICE_FD	4	/* kvm_create_device.fd */
#define KVM_ATTR_GROUP		4	/* kvm_device_attr.group */
#define KVM_ATTR_ATTR		8	/* kvm_device_attr.attr */
#define KVM_ATTR_ADDR		16	/* kvm_device_attr.addr */
/* The KVM-VFIO device's attribute group and its FILE_ADD / FILE_DEL (the
 * GROUP_* names of older headers): addr points to an s32 fd. */
#define KVM_VFIO_FILE		1
#define KVM_VFIO_FILE_ADD	1
#define KVM_VFIO_FILE_DEL	2

static int prep_kvm_create_device(struct shim_ioc *io)
{
	io->out_fd = KVM_CREATE_DEVICE_FD;
	return 0;
}

/*
 * A KVM-VFIO FILE_ADD/DEL names an fd through one more pointer: read it
 * fault-safely and attach it.  An unreadable addr attaches nothing, and the
 * handler's own read of it fails with -EFAULT, as the kernel's get_user.
 * Other devices' attributes carry no fds.
 */
static int prep_kvm_device_attr(struct shim_ioc *io)
{
	uint32_t group;
	uint64_t attr, addr;
	int32_t fd;

	if (!stage_u32(io, KVM_ATTR_GROUP, &group) || !stage_u64(io, KVM_ATTR_ATTR, &attr) ||
	    !stage_u64(io, KVM_ATTR_ADDR, &addr))
		return 0;
	if (group != KVM_VFIO_FILE || (attr != KVM_VFIO_FILE_ADD && attr != KVM_VFIO_FILE_DEL))
		return 0;
	if (shim_uread(&fd, addr, sizeof(fd)) != sizeof(fd))
		return 0;
	return shim_ioc_attach_fd(io, fd);
}

#define K(x)	SHIM_KBIT(SHIM_K_##x)
#define KC	(K(CONTAINER) | K(IOMMUFD))	/* the type1 compat of /dev/iommu too */
#define KD	K(DEVICE)
#define SZ(s)	sizeof(struct s)

static const struct shim_ioc_rule rules[] = {
	/* container (/dev/vfio/vfio) */
	{ VFIO_GET_API_VERSION, KC, SHIM_ARG_VALUE, 0, 0, NULL, 0, "GET_API_VERSION" },
	{ VFIO_CHECK_EXTENSION, KC, SHIM_ARG_VALUE, 0, 0, NULL, 0, "CHECK_EXTENSION" },
	{ VFIO_SET_IOMMU, KC, SHIM_ARG_VALUE, 0, 0, NULL, 0, "SET_IOMMU" },
	{ VFIO_IOMMU_GET_INFO, KC, SHIM_ARG_ARGSZ, 16, SZ(vfio_iommu_type1_info), NULL, 0,
	  "IOMMU_GET_INFO" },
	{ VFIO_IOMMU_MAP_DMA, KC, SHIM_ARG_ARGSZ, 32, 0, prep_map_dma, 0, "IOMMU_MAP_DMA" },
	{ VFIO_IOMMU_UNMAP_DMA, KC, SHIM_ARG_ARGSZ, 24, SZ(vfio_iommu_type1_dma_unmap), NULL, 0,
	  "IOMMU_UNMAP_DMA" },
	{ VFIO_IOMMU_ENABLE, KC, SHIM_ARG_VALUE, 0, 0, NULL, 0, "IOMMU_ENABLE" },
	{ VFIO_IOMMU_DISABLE, KC, SHIM_ARG_VALUE, 0, 0, NULL, 0, "IOMMU_DISABLE" },
	{ VFIO_IOMMU_DIRTY_PAGES, KC, SHIM_ARG_ARGSZ, 8, 0, NULL, 0, "IOMMU_DIRTY_PAGES" },
	{ VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY, KC, SHIM_ARG_ARGSZ, 8, 0, NULL, 0,
	  "SPAPR_UNREGISTER_MEMORY" },
	{ VFIO_IOMMU_SPAPR_TCE_CREATE, KC, SHIM_ARG_ARGSZ, 8, 0, NULL, 0, "SPAPR_TCE_CREATE" },
	{ VFIO_IOMMU_SPAPR_TCE_REMOVE, KC, SHIM_ARG_ARGSZ, 8, 0, NULL, 0, "SPAPR_TCE_REMOVE" },
	{ VFIO_EEH_PE_OP, KC, SHIM_ARG_ARGSZ, 8, 0, NULL, 0, "EEH_PE_OP" },

	/* group (/dev/vfio/<n>) */
	{ VFIO_GROUP_GET_STATUS, K(GROUP), SHIM_ARG_ARGSZ, 8, SZ(vfio_group_status), NULL, 0,
	  "GROUP_GET_STATUS" },
	{ VFIO_GROUP_SET_CONTAINER, K(GROUP), SHIM_ARG_PTR, 4, 0, prep_set_container, 0,
	  "GROUP_SET_CONTAINER" },
	{ VFIO_GROUP_UNSET_CONTAINER, K(GROUP), SHIM_ARG_VALUE, 0, 0, NULL, 0, "GROUP_UNSET_CONTAINER" },
	{ VFIO_GROUP_GET_DEVICE_FD, K(GROUP), SHIM_ARG_STRING, 0, 0, NULL, SHIM_K_DEVICE,
	  "GROUP_GET_DEVICE_FD" },

	/* device (GET_DEVICE_FD, /dev/vfio/devices/vfioN) */
	{ VFIO_DEVICE_GET_INFO, KD, SHIM_ARG_ARGSZ, 16, SZ(vfio_device_info), NULL, 0, "DEVICE_GET_INFO" },
	{ VFIO_DEVICE_GET_REGION_INFO, KD, SHIM_ARG_ARGSZ, 32, SZ(vfio_region_info), NULL, 0,
	  "DEVICE_GET_REGION_INFO" },
	{ VFIO_DEVICE_GET_IRQ_INFO, KD, SHIM_ARG_ARGSZ, 16, SZ(vfio_irq_info), NULL, 0,
	  "DEVICE_GET_IRQ_INFO" },
	{ VFIO_DEVICE_SET_IRQS, KD, SHIM_ARG_ARGSZ, 20, 0, prep_set_irqs, 0, "DEVICE_SET_IRQS" },
	{ VFIO_DEVICE_RESET, KD, SHIM_ARG_VALUE, 0, 0, NULL, 0, "DEVICE_RESET" },
	{ VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, KD, SHIM_ARG_ARGSZ, 12, 0, NULL, 0,
	  "DEVICE_GET_PCI_HOT_RESET_INFO" },
	{ VFIO_DEVICE_PCI_HOT_RESET, KD, SHIM_ARG_ARGSZ, 12, 0, prep_hot_reset, 0,
	  "DEVICE_PCI_HOT_RESET" },
	{ VFIO_DEVICE_QUERY_GFX_PLANE, KD, SHIM_ARG_ARGSZ, 12, 0, NULL, 0, "DEVICE_QUERY_GFX_PLANE" },
	{ VFIO_DEVICE_GET_GFX_DMABUF, KD, SHIM_ARG_PTR, 4, 0, NULL, SHIM_K_AUX, "DEVICE_GET_GFX_DMABUF" },
	{ VFIO_DEVICE_IOEVENTFD, KD, SHIM_ARG_ARGSZ, 32, 0, prep_ioeventfd, 0, "DEVICE_IOEVENTFD" },
	{ VFIO_DEVICE_FEATURE, KD, SHIM_ARG_ARGSZ, 8, 0, prep_feature, 0, "DEVICE_FEATURE" },
	{ _IO(VFIO_TYPE, VFIO_BASE + 18), KD, SHIM_ARG_ARGSZ, 16, 0, prep_bind_iommufd, 0,
	  "DEVICE_BIND_IOMMUFD" },
	{ _IO(VFIO_TYPE, VFIO_BASE + 19), KD, SHIM_ARG_ARGSZ, 12, 12, NULL, 0,
	  "DEVICE_ATTACH_IOMMUFD_PT" },
	{ _IO(VFIO_TYPE, VFIO_BASE + 20), KD, SHIM_ARG_ARGSZ, 8, 8, NULL, 0,
	  "DEVICE_DETACH_IOMMUFD_PT" },

	/* migration data fd */
	{ _IO(VFIO_TYPE, VFIO_BASE + 21), K(MIGDATA), SHIM_ARG_ARGSZ, 24, 24, NULL, 0,
	  "MIG_GET_PRECOPY_INFO" },

	/* iommufd (/dev/iommu) */
	{ IOMMU_DESTROY_, K(IOMMUFD), SHIM_ARG_SIZE, 8, 8, NULL, 0, "IOMMU_DESTROY" },
	{ IOMMU_IOAS_ALLOC_, K(IOMMUFD), SHIM_ARG_SIZE, 12, 12, NULL, 0, "IOMMU_IOAS_ALLOC" },
	{ IOMMU_IOAS_ALLOW_IOVAS_, K(IOMMUFD), SHIM_ARG_SIZE, 24, 24, NULL, 0, "IOMMU_IOAS_ALLOW_IOVAS" },
	{ IOMMU_IOAS_COPY_, K(IOMMUFD), SHIM_ARG_SIZE, 40, 40, NULL, 0, "IOMMU_IOAS_COPY" },
	{ IOMMU_IOAS_IOVA_RANGES_, K(IOMMUFD), SHIM_ARG_SIZE, 32, 32, NULL, 0, "IOMMU_IOAS_IOVA_RANGES" },
	{ IOMMU_IOAS_MAP_, K(IOMMUFD), SHIM_ARG_SIZE, 40, 0, prep_ioas_map, 0, "IOMMU_IOAS_MAP" },
	{ IOMMU_IOAS_MAP_FILE_, K(IOMMUFD), SHIM_ARG_SIZE, 40, 0, prep_ioas_map_file, 0,
	  "IOMMU_IOAS_MAP_FILE" },
	{ IOMMU_IOAS_UNMAP_, K(IOMMUFD), SHIM_ARG_SIZE, 24, 24, NULL, 0, "IOMMU_IOAS_UNMAP" },
	{ IOMMU_OPTION_, K(IOMMUFD), SHIM_ARG_SIZE, 24, 24, NULL, 0, "IOMMU_OPTION" },
	{ IOMMU_VFIO_IOAS_, K(IOMMUFD), SHIM_ARG_SIZE, 12, 12, NULL, 0, "IOMMU_VFIO_IOAS" },
	{ IOMMU_HWPT_ALLOC_, K(IOMMUFD), SHIM_ARG_SIZE, 20, 0, NULL, 0, "IOMMU_HWPT_ALLOC" },
	{ IOMMU_GET_HW_INFO_, K(IOMMUFD), SHIM_ARG_SIZE, 32, 0, NULL, 0, "IOMMU_GET_HW_INFO" },
	{ IOMMU_HWPT_SET_DIRTY_TRACKING_, K(IOMMUFD), SHIM_ARG_SIZE, 16, 16, NULL, 0,
	  "IOMMU_HWPT_SET_DIRTY_TRACKING" },
	{ IOMMU_HWPT_GET_DIRTY_BITMAP_, K(IOMMUFD), SHIM_ARG_SIZE, 48, 48, NULL, 0,
	  "IOMMU_HWPT_GET_DIRTY_BITMAP" },
	{ IOMMU_HWPT_INVALIDATE_, K(IOMMUFD), SHIM_ARG_SIZE, 32, 32, NULL, 0, "IOMMU_HWPT_INVALIDATE" },
	{ IOMMU_FAULT_QUEUE_ALLOC_, K(IOMMUFD), SHIM_ARG_SIZE, 16, 0, prep_fault_alloc, SHIM_K_AUX,
	  "IOMMU_FAULT_QUEUE_ALLOC" },
	{ IOMMU_TEST_CMD_, K(IOMMUFD), SHIM_ARG_SIZE, 16, 0, prep_test_cmd, SHIM_K_AUX,
	  "IOMMU_TEST_CMD" },

	/* KVM (/dev/kvm, VM fds, KVM device fds).  Other VM ioctls have no
	 * rule: their arguments are read through the memory handle. */
	{ KVM_GET_API_VERSION, K(KVM), SHIM_ARG_VALUE, 0, 0, NULL, 0, "KVM_GET_API_VERSION" },
	{ KVM_CREATE_VM, K(KVM), SHIM_ARG_VALUE, 0, 0, NULL, SHIM_K_VM, "KVM_CREATE_VM" },
	{ KVM_CHECK_EXTENSION, K(KVM) | K(VM), SHIM_ARG_VALUE, 0, 0, NULL, 0,
	  "KVM_CHECK_EXTENSION" },
	{ KVM_GET_VCPU_MMAP_SIZE, K(KVM), SHIM_ARG_VALUE, 0, 0, NULL, 0, "KVM_GET_VCPU_MMAP_SIZE" },
	{ KVM_CREATE_VCPU, K(VM), SHIM_ARG_VALUE, 0, 0, NULL, 0, "KVM_CREATE_VCPU" },
	{ KVM_CREATE_DEVICE, K(VM), SHIM_ARG_PTR, sizeof(struct kvm_create_device), 0,
	  prep_kvm_create_device, SHIM_K_KVMDEV, "KVM_CREATE_DEVICE" },
	{ KVM_SET_DEVICE_ATTR, K(KVMDEV), SHIM_ARG_PTR, sizeof(struct kvm_device_attr), 0,
	  prep_kvm_device_attr, 0, "KVM_SET_DEVICE_ATTR" },
	{ KVM_GET_DEVICE_ATTR, K(KVMDEV), SHIM_ARG_PTR, sizeof(struct kvm_device_attr), 0, NULL,
	  0, "KVM_GET_DEVICE_ATTR" },
	{ KVM_HAS_DEVICE_ATTR, K(KVMDEV), SHIM_ARG_PTR, sizeof(struct kvm_device_attr), 0, NULL,
	  0, "KVM_HAS_DEVICE_ATTR" },
	/* uvfio's simulated s390 guest: the struct is staged, the message and
	 * reply buffers it points at go through the memory handle. */
	{ KVM_S390_UVFIO_AP, K(VM), SHIM_ARG_PTR, sizeof(struct kvm_s390_uvfio_ap), 0, NULL, 0,
	  "KVM_S390_UVFIO_AP" },

	/* zcrypt (/dev/z90crypt).  The RSA structs are staged; the key parts and
	 * the output they point at are reached through the memory handle.  The
	 * size in these command numbers is 0: the rule gives the struct's. */
	{ ICARSAMODEXPO, K(Z90CRYPT), SHIM_ARG_PTR, sizeof(struct ica_rsa_modexpo), 0, NULL, 0,
	  "ICARSAMODEXPO" },
	{ ICARSACRT, K(Z90CRYPT), SHIM_ARG_PTR, sizeof(struct ica_rsa_modexpo_crt), 0, NULL, 0,
	  "ICARSACRT" },
	{ ZCRYPT_STATUS_MASK, K(Z90CRYPT), SHIM_ARG_PTR, MAX_ZDEV_CARDIDS_EXT, 0, NULL, 0,
	  "ZCRYPT_STATUS_MASK" },
	{ ZCRYPT_QDEPTH_MASK, K(Z90CRYPT), SHIM_ARG_PTR, MAX_ZDEV_CARDIDS_EXT, 0, NULL, 0,
	  "ZCRYPT_QDEPTH_MASK" },
	{ ZCRYPT_PERDEV_REQCNT, K(Z90CRYPT), SHIM_ARG_PTR, 4 * MAX_ZDEV_CARDIDS_EXT, 0, NULL, 0,
	  "ZCRYPT_PERDEV_REQCNT" },
	{ Z90STAT_STATUS_MASK, K(Z90CRYPT), SHIM_ARG_PTR, MAX_ZDEV_CARDIDS, 0, NULL, 0,
	  "Z90STAT_STATUS_MASK" },
	{ Z90STAT_QDEPTH_MASK, K(Z90CRYPT), SHIM_ARG_PTR, MAX_ZDEV_CARDIDS, 0, NULL, 0,
	  "Z90STAT_QDEPTH_MASK" },
	{ Z90STAT_PERDEV_REQCNT, K(Z90CRYPT), SHIM_ARG_PTR, 4 * MAX_ZDEV_CARDIDS, 0, NULL, 0,
	  "Z90STAT_PERDEV_REQCNT" },
	{ Z90STAT_REQUESTQ_COUNT, K(Z90CRYPT), SHIM_ARG_PTR, 4, 0, NULL, 0,
	  "Z90STAT_REQUESTQ_COUNT" },
	{ Z90STAT_PENDINGQ_COUNT, K(Z90CRYPT), SHIM_ARG_PTR, 4, 0, NULL, 0,
	  "Z90STAT_PENDINGQ_COUNT" },
	{ Z90STAT_TOTALOPEN_COUNT, K(Z90CRYPT), SHIM_ARG_PTR, 4, 0, NULL, 0,
	  "Z90STAT_TOTALOPEN_COUNT" },
	{ Z90STAT_DOMAIN_INDEX, K(Z90CRYPT), SHIM_ARG_PTR, 4, 0, NULL, 0, "Z90STAT_DOMAIN_INDEX" },
};

const struct shim_ioc_rule *shim_ioc_lookup(unsigned int cmd, enum shim_kind kind)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		if (rules[i].cmd != cmd)
			continue;
		if (kind == SHIM_K_UNKNOWN || (rules[i].kinds & SHIM_KBIT(kind)))
			return &rules[i];
	}
	return NULL;
}

/* The core's file_ops names (struct uvf_file_ops.name), as REOPEN reports them. */
enum shim_kind shim_kind_from_name(const char *name)
{
	static const struct { const char *name; enum shim_kind kind; } names[] = {
		{ "vfio-container", SHIM_K_CONTAINER },
		{ "vfio-group", SHIM_K_GROUP },
		{ "vfio-device", SHIM_K_DEVICE },
		{ "vfio-cdev", SHIM_K_DEVICE },
		{ "iommufd", SHIM_K_IOMMUFD },
		{ "vfio-mig", SHIM_K_MIGDATA },
		/* Longest first: a name matches the first entry it starts with. */
		{ "kvm-vm", SHIM_K_VM },
		{ "kvm-device", SHIM_K_KVMDEV },
		{ "kvm", SHIM_K_KVM },
		{ "z90crypt", SHIM_K_Z90CRYPT },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strncmp(name, names[i].name, strlen(names[i].name)))
			return names[i].kind;
	return name[0] ? SHIM_K_AUX : SHIM_K_UNKNOWN;
}
