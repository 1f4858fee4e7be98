// SPDX-License-Identifier: MIT
/*
 * The vfio-pci driver (vfio_pci.c + vfio_pci_core.c semantics): binds PCI
 * functions, registers their VFIO devices, and serves the device fd:
 * GET_INFO, GET_REGION_INFO, GET_IRQ_INFO, SET_IRQS, RESET, the hot reset
 * pair, region read/write and mmap.
 *
 * Open and close follow vfio_pci_core_enable/disable: at first open the
 * function loses Bus Master, gains memory decode, is reset if it can be
 * (which decides VFIO_DEVICE_FLAGS_RESET) and its state is saved; at last
 * close interrupts are torn down, the saved state comes back around a
 * reset, and a bus reset is tried for the device set when a function
 * could not be reset alone.
 *
 * Low power (vfio_pci_core_ioctl_feature): LOW_POWER_ENTRY and
 * LOW_POWER_ENTRY_WITH_WAKEUP let the device drop to D3hot while no call
 * through its fd is in flight; every ioctl, read and write wakes it first,
 * as the kernel's runtime PM wrappers do.  A wake with a wakeup eventfd
 * signals it and ends low power; without one the device goes back to
 * D3hot after each call until LOW_POWER_EXIT.  INTx is masked while in low
 * power.  mmaps are not revoked (a known gap, as for memory disable).
 *
 * Resets: RESET is a function reset: FLR, or a bus reset when the function
 * is alone on a non-root bus; -EINVAL when neither works.  Hot reset
 * covers the function's bus: functions on bus 0 (the root bus) have none
 * (-ENODEV); on another bus every function of the bus must be bound to
 * vfio-pci (one device set per bus) and the caller must prove ownership
 * of every affected device with group fds.  Only the group path exists
 * (no cdev DEV_ID reporting yet).
 *
 * Locking: see vfio_pci.h.  open_device/close_device run under the device
 * set lock (the VFIO core holds it).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "vfio_pci.h"
#include "../base/compiler.h"
#include "../base/log.h"
#include "../host/host.h"
#include "../iommu/iommu.h"
#include "../mm/caller.h"
#include "../vfio/vfio_priv.h"

static struct vfio_pci_device *first_in_set(struct vfio_device_set *dev_set)
{
	return to_vfio_pci(list_first_entry(&dev_set->device_list, struct vfio_device,
					    dev_set_list));
}

/* ---- device set resets -------------------------------------------------- */

struct in_set_arg {
	struct vfio_device_set *dev_set;
};

static int device_in_set(struct pci_dev *pdev, void *arg)
{
	struct vfio_device_set *dev_set = ((struct in_set_arg *)arg)->dev_set;
	struct vfio_device *cur;

	list_for_each_entry(cur, &dev_set->device_list, dev_set_list)
		if (cur->dev == &pdev->dev)
			return 0;
	return -ENODEV;
}

/*
 * The function whose bus reset covers the set, if the bus can be reset and
 * every function on it belongs to the set (so that every driver of an
 * affected function takes part); NULL otherwise.  dev_set->lock held.
 */
static struct pci_dev *dev_set_resettable(struct vfio_device_set *dev_set)
{
	struct in_set_arg arg = { dev_set };
	struct pci_dev *pdev;

	if (list_empty(&dev_set->device_list))
		return NULL;
	pdev = first_in_set(dev_set)->pdev;
	if (!pci_probe_reset_bus(pdev->bus))
		return NULL;
	if (pci_bus_for_each_dev(pdev->bus, device_in_set, &arg))
		return NULL;
	return pdev;
}

/* The bus reset of a set (dev_set->lock held): every function it resets
 * must be one of the set, which the lock keeps bound and so alive. */
static int reset_bus_of_set(struct vfio_device_set *dev_set, struct pci_dev *pdev)
{
	struct in_set_arg arg = { dev_set };

	return pci_reset_bus(pdev->bus, device_in_set, &arg);
}

/* At last close: a bus reset for functions that could not reset alone,
 * once nothing in the set is open any more.  dev_set->lock held. */
static void dev_set_try_reset(struct vfio_device_set *dev_set)
{
	struct vfio_device *cur;
	bool needs_reset = false;
	struct pci_dev *pdev;

	if (vfio_device_set_open_count(dev_set) > 1)
		return;
	list_for_each_entry(cur, &dev_set->device_list, dev_set_list)
		needs_reset |= to_vfio_pci(cur)->needs_reset;
	if (!needs_reset)
		return;
	pdev = dev_set_resettable(dev_set);
	if (!pdev || reset_bus_of_set(dev_set, pdev))
		return;
	list_for_each_entry(cur, &dev_set->device_list, dev_set_list)
		to_vfio_pci(cur)->needs_reset = false;
}

/* ---- runtime PM ------------------------------------------------------------ */

/* memory_lock held for write. */
static void __runtime_pm_exit(struct vfio_pci_device *v)
{
	if (!v->pm_runtime_engaged)
		return;
	v->pm_runtime_engaged = false;
	vfio_pci_eventfd_put(v->pm_wake_eventfd);
	v->pm_wake_eventfd = -1;
}

static void runtime_pm_exit(struct vfio_pci_device *v)
{
	uvf_write_lock(&v->memory_lock);
	__runtime_pm_exit(v);
	uvf_rw_unlock(&v->memory_lock);
}

/* vfio_pci_core_runtime_suspend, then the PCI core's D3hot.  pm_lock held. */
static void runtime_suspend(struct vfio_pci_device *v)
{
	/* A user's own D3hot goes through D0, as the kernel's does. */
	vfio_pci_lock_and_set_power_state(v, PCI_D0);
	v->pm_intx_masked = vfio_pci_intx_mask(v);
	vfio_pci_lock_and_set_power_state(v, PCI_D3hot);
	v->pm_suspended = true;
}

/* The PCI core's D0, then vfio_pci_core_runtime_resume.  pm_lock held. */
static void runtime_resume(struct vfio_pci_device *v)
{
	vfio_pci_lock_and_set_power_state(v, PCI_D0);
	v->pm_suspended = false;
	uvf_write_lock(&v->memory_lock);
	if (v->pm_wake_eventfd >= 0) {
		vfio_pci_eventfd_signal(v->pm_wake_eventfd);
		__runtime_pm_exit(v);
	}
	uvf_rw_unlock(&v->memory_lock);
	if (v->pm_intx_masked)
		vfio_pci_intx_unmask(v);
	v->pm_intx_masked = false;
}

/* pm_runtime_resume_and_get / pm_runtime_put around each call into the
 * driver: the last call out suspends a device the user let go low. */
static void vfio_pci_pm_get(struct vfio_pci_device *v)
{
	uvf_mutex_lock(&v->pm_lock);
	v->pm_usage++;
	if (v->pm_suspended)
		runtime_resume(v);
	uvf_mutex_unlock(&v->pm_lock);
}

static void vfio_pci_pm_put(struct vfio_pci_device *v)
{
	bool engaged;

	uvf_mutex_lock(&v->pm_lock);
	if (!--v->pm_usage && !v->pm_suspended) {
		uvf_read_lock(&v->memory_lock);
		engaged = v->pm_runtime_engaged;
		uvf_rw_unlock(&v->memory_lock);
		if (engaged)
			runtime_suspend(v);
	}
	uvf_mutex_unlock(&v->pm_lock);
}

/* Takes over 'wake_eventfd' (-1: none) on success. */
static int runtime_pm_entry(struct vfio_pci_device *v, int wake_eventfd)
{
	int ret = 0;

	uvf_write_lock(&v->memory_lock);
	if (v->pm_runtime_engaged) {
		ret = -EINVAL;
	} else {
		v->pm_runtime_engaged = true;
		v->pm_wake_eventfd = wake_eventfd;
	}
	uvf_rw_unlock(&v->memory_lock);
	return ret;
}

static int feature_pm_entry(struct vfio_pci_device *v, uint32_t flags, size_t argsz)
{
	int ret = vfio_check_feature(flags, argsz, VFIO_DEVICE_FEATURE_SET, 0);

	if (ret != 1)
		return ret;
	return runtime_pm_entry(v, -1);
}

static int feature_pm_entry_with_wakeup(struct vfio_pci_device *v, struct uvf_caller *c,
					uint32_t flags, uint64_t arg, size_t argsz)
{
	struct vfio_device_low_power_entry_with_wakeup entry;
	int ret = vfio_check_feature(flags, argsz, VFIO_DEVICE_FEATURE_SET, sizeof(entry));
	int efd;

	if (ret != 1)
		return ret;
	if (copy_from_user(c, &entry, arg, sizeof(entry)))
		return -EFAULT;
	if (entry.wakeup_eventfd < 0)
		return -EINVAL;
	efd = vfio_pci_eventfd_get(c, entry.wakeup_eventfd);
	if (efd < 0)
		return efd;
	ret = runtime_pm_entry(v, efd);
	if (ret)
		vfio_pci_eventfd_put(efd);
	return ret;
}

/* The call itself woke the device (and signalled a wakeup eventfd). */
static int feature_pm_exit(struct vfio_pci_device *v, uint32_t flags, size_t argsz)
{
	int ret = vfio_check_feature(flags, argsz, VFIO_DEVICE_FEATURE_SET, 0);

	if (ret != 1)
		return ret;
	runtime_pm_exit(v);
	return 0;
}

/* ---- open and close ------------------------------------------------------- */

static int vfio_pci_open_device(struct vfio_device *vdev)
{
	struct vfio_pci_device *v = to_vfio_pci(vdev);
	struct pci_dev *pdev = v->pdev;
	int ret;

	pci_set_master(pdev, false);
	pci_enable_device(pdev);
	v->reset_works = !pci_try_reset_function(pdev);
	v->saved_state = pci_save_state(pdev);
	pci_intx(pdev, true);
	ret = vfio_config_init(v);
	if (ret) {
		pci_free_saved_state(v->saved_state);
		v->saved_state = NULL;
		pci_disable_device(pdev);
		return ret;
	}
	if (pdev->msix_cap) {
		uint32_t table = pci_cfg_read(pdev, pdev->msix_cap + PCI_MSIX_TABLE, 4);

		v->msix_bar = (int)(table & PCI_MSIX_TABLE_BIR);
		v->msix_offset = table & PCI_MSIX_TABLE_OFFSET;
		v->msix_size = (uint64_t)pci_msix_table_size(pdev) * PCI_MSIX_ENTRY_SIZE;
	} else {
		v->msix_bar = -1;
	}
	return 0;
}

static void vfio_pci_close_device(struct vfio_device *vdev)
{
	struct vfio_pci_device *v = to_vfio_pci(vdev);
	struct pci_dev *pdev = v->pdev;

	/* Out of low power for good (no wakeup signal), then D0. */
	uvf_mutex_lock(&v->pm_lock);
	runtime_pm_exit(v);
	if (v->pm_suspended)
		runtime_resume(v);
	uvf_mutex_unlock(&v->pm_lock);
	vfio_pci_lock_and_set_power_state(v, PCI_D0);
	pci_set_master(pdev, false);
	uvf_mutex_lock(&v->igate);
	vfio_pci_set_irqs_ioctl(v, NULL, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
				(unsigned int)v->irq_type, 0, 0, NULL);
	uvf_mutex_unlock(&v->igate);
	uvf_mutex_lock(&v->config_lock);
	vfio_config_free(v);
	uvf_mutex_unlock(&v->config_lock);
	v->needs_reset = true;
	/* Quiet the function, reset it, and put back what it had at open. */
	pci_cfg_write(pdev, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
	if (v->reset_works) {
		uvf_write_lock(&v->memory_lock);
		pci_dev_reset_hw(pdev);
		uvf_rw_unlock(&v->memory_lock);
		v->needs_reset = false;
	}
	pci_restore_state(pdev, v->saved_state);
	pci_free_saved_state(v->saved_state);
	v->saved_state = NULL;
	pci_disable_device(pdev);
	dev_set_try_reset(vdev->dev_set);
	vfio_pci_release_ctx_triggers(v);
}

/* ---- GET_INFO, GET_REGION_INFO, GET_IRQ_INFO ------------------------------ */

static long ioctl_get_info(struct vfio_pci_device *v, struct uvf_caller *c, uint64_t arg)
{
	size_t minsz = offsetofend(struct vfio_device_info, num_irqs);
	struct vfio_device_info info;

	memset(&info, 0, sizeof(info));
	if (copy_from_user(c, &info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	minsz = uvf_min((size_t)info.argsz, sizeof(info));
	info.flags = VFIO_DEVICE_FLAGS_PCI;
	if (v->reset_works)
		info.flags |= VFIO_DEVICE_FLAGS_RESET;
	info.num_regions = VFIO_PCI_NUM_REGIONS;
	info.num_irqs = VFIO_PCI_NUM_IRQS;
	return copy_to_user(c, arg, &info, minsz) ? -EFAULT : 0;
}

/* The mmap-able complement of the traps, page by page. */
static int add_sparse_cap(const struct pci_model_bar *mb, struct vfio_info_cap *caps)
{
	struct vfio_region_info_cap_sparse_mmap *sparse;
	struct vfio_region_sparse_mmap_area areas[PCI_MODEL_MAX_TRAPS + 1];
	uint32_t nr = 0;
	uint64_t off = 0;

	while (off < mb->size) {
		uint64_t end = mb->size;
		bool trapped = false;

		for (unsigned int t = 0; t < mb->ntraps; t++) {
			const struct pci_model_range *r = &mb->traps[t];

			if (off >= r->offset && off < r->offset + r->size) {
				off = r->offset + r->size;
				trapped = true;
				break;
			}
			if (r->offset > off && r->offset < end)
				end = r->offset;
		}
		if (trapped)
			continue;
		areas[nr].offset = off;
		areas[nr].size = end - off;
		nr++;
		off = end;
	}
	sparse = (struct vfio_region_info_cap_sparse_mmap *)vfio_info_cap_add(
		caps, sizeof(*sparse) + nr * sizeof(areas[0]), VFIO_REGION_INFO_CAP_SPARSE_MMAP, 1);
	if (!sparse)
		return caps->error;
	sparse->nr_areas = nr;
	memcpy(sparse->areas, areas, nr * sizeof(areas[0]));
	return 0;
}

static int bar_region_info(struct vfio_pci_device *v, struct vfio_region_info *info,
			   struct vfio_info_cap *caps)
{
	const struct pci_model_bar *mb = &v->pdev->desc.bars[info->index];
	struct vfio_info_cap_header msix = { .id = VFIO_REGION_INFO_CAP_MSIX_MAPPABLE,
					     .version = 1 };
	int ret = 0;

	info->size = v->pdev->bars[info->index].size;
	if (!info->size) {
		info->flags = 0;
		return 0;
	}
	info->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	if (!vfio_pci_bar_mmap_supported(v, info->index))
		return 0;
	info->flags |= VFIO_REGION_INFO_FLAG_MMAP;
	if (mb->ntraps)
		ret = add_sparse_cap(mb, caps);
	if (!ret && (int)info->index == v->msix_bar)
		ret = vfio_info_add_capability(caps, &msix, sizeof(msix));
	return ret;
}

static long ioctl_get_region_info(struct vfio_pci_device *v, struct uvf_caller *c,
				  uint64_t arg)
{
	size_t minsz = offsetofend(struct vfio_region_info, offset);
	struct vfio_info_cap caps = { 0 };
	struct vfio_region_info info;
	int ret = 0;

	if (copy_from_user(c, &info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	switch (info.index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		info.offset = VFIO_PCI_INDEX_TO_OFFSET(info.index);
		info.size = v->pdev->cfg_size;
		info.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
		break;
	case VFIO_PCI_BAR0_REGION_INDEX ... VFIO_PCI_BAR5_REGION_INDEX:
		info.offset = VFIO_PCI_INDEX_TO_OFFSET(info.index);
		ret = bar_region_info(v, &info, &caps);
		break;
	case VFIO_PCI_ROM_REGION_INDEX:		/* models have no option ROM */
		info.offset = VFIO_PCI_INDEX_TO_OFFSET(info.index);
		info.flags = 0;
		info.size = 0;
		break;
	default:				/* no VGA, no device-specific regions */
		return -EINVAL;
	}
	if (!ret)
		ret = vfio_info_copy_caps(c, &caps, arg, sizeof(info), info.argsz, &info.argsz,
					  &info.flags, VFIO_REGION_INFO_FLAG_CAPS,
					  &info.cap_offset);
	vfio_info_cap_free(&caps);
	if (ret)
		return ret;
	return copy_to_user(c, arg, &info, minsz) ? -EFAULT : 0;
}

static unsigned int irq_count(struct vfio_pci_device *v, unsigned int index)
{
	struct pci_dev *pdev = v->pdev;

	switch (index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		return v->vconfig[PCI_INTERRUPT_PIN] ? 1 : 0;
	case VFIO_PCI_MSI_IRQ_INDEX:
		if (!pdev->msi_cap)
			return 0;
		return 1u << ((pci_cfg_read(pdev, pdev->msi_cap + PCI_MSI_FLAGS, 2) &
			       PCI_MSI_FLAGS_QMASK) >> 1);
	case VFIO_PCI_MSIX_IRQ_INDEX:
		if (!pdev->msix_cap)
			return 0;
		return (pci_cfg_read(pdev, pdev->msix_cap + PCI_MSIX_FLAGS, 2) &
			PCI_MSIX_FLAGS_QSIZE) + 1;
	case VFIO_PCI_ERR_IRQ_INDEX:
		return pci_is_pcie(pdev) ? 1 : 0;
	case VFIO_PCI_REQ_IRQ_INDEX:
		return 1;
	default:
		return 0;
	}
}

/* MSI-X can grow while enabled (dynamic MSI-X), so it alone lacks NORESIZE. */
static long ioctl_get_irq_info(struct vfio_pci_device *v, struct uvf_caller *c, uint64_t arg)
{
	size_t minsz = offsetofend(struct vfio_irq_info, count);
	struct vfio_irq_info info;

	if (copy_from_user(c, &info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz || info.index >= VFIO_PCI_NUM_IRQS)
		return -EINVAL;
	if (info.index == VFIO_PCI_ERR_IRQ_INDEX && !pci_is_pcie(v->pdev))
		return -EINVAL;
	info.flags = VFIO_IRQ_INFO_EVENTFD;
	info.count = irq_count(v, info.index);
	if (info.index == VFIO_PCI_INTX_IRQ_INDEX)
		info.flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
	else if (info.index != VFIO_PCI_MSIX_IRQ_INDEX)
		info.flags |= VFIO_IRQ_INFO_NORESIZE;
	return copy_to_user(c, arg, &info, minsz) ? -EFAULT : 0;
}

static long ioctl_set_irqs(struct vfio_pci_device *v, struct uvf_caller *c, uint64_t arg)
{
	size_t minsz = offsetofend(struct vfio_irq_set, count);
	struct vfio_irq_set hdr;
	size_t data_size = 0;
	uint8_t *data = NULL;
	int ret;

	if (copy_from_user(c, &hdr, arg, minsz))
		return -EFAULT;
	ret = vfio_set_irqs_validate_and_prepare(&hdr, irq_count(v, hdr.index),
						 VFIO_PCI_NUM_IRQS, &data_size);
	if (ret)
		return ret;
	if (data_size) {
		data = malloc(data_size);
		if (!data)
			return -ENOMEM;
		if (copy_from_user(c, data, arg + minsz, data_size)) {
			free(data);
			return -EFAULT;
		}
	}
	uvf_mutex_lock(&v->igate);
	ret = vfio_pci_set_irqs_ioctl(v, c, hdr.flags, hdr.index, hdr.start, hdr.count, data);
	uvf_mutex_unlock(&v->igate);
	free(data);
	return ret;
}

/* ---- resets ----------------------------------------------------------------- */

static long ioctl_reset(struct vfio_pci_device *v)
{
	int ret;

	if (!v->reset_works)
		return -EINVAL;
	uvf_write_lock(&v->memory_lock);
	pci_set_power_state(v->pdev, PCI_D0);
	ret = pci_try_reset_function(v->pdev);
	uvf_rw_unlock(&v->memory_lock);
	return ret;
}

struct fill_info {
	struct vfio_pci_dependent_device *devices;
	uint32_t max, count;
};

static int fill_one(struct pci_dev *pdev, void *arg)
{
	struct fill_info *fill = arg;
	struct vfio_pci_dependent_device *d;

	if (fill->count >= fill->max)
		return -EAGAIN;		/* the bus changed since we counted */
	if (!pdev->dev.iommu_group)
		return -EPERM;		/* cannot reset a function that is not isolated */
	d = &fill->devices[fill->count++];
	d->group_id = pdev->dev.iommu_group->id;
	d->segment = pdev->domain;
	d->bus = pdev->busnr;
	d->devfn = pdev->devfn;
	return 0;
}

static long ioctl_get_hot_reset_info(struct vfio_pci_device *v, struct uvf_caller *c,
				     uint64_t arg)
{
	size_t minsz = offsetofend(struct vfio_pci_hot_reset_info, count);
	struct vfio_pci_hot_reset_info hdr;
	struct fill_info fill = { 0 };
	unsigned int count;
	long ret;

	if (copy_from_user(c, &hdr, arg, minsz))
		return -EFAULT;
	if (hdr.argsz < minsz)
		return -EINVAL;
	hdr.flags = 0;
	if (!pci_probe_reset_bus(v->pdev->bus))
		return -ENODEV;
	count = pci_bus_count_devs(v->pdev->bus);
	if (count > (hdr.argsz - sizeof(hdr)) / sizeof(*fill.devices)) {
		hdr.count = count;
		return copy_to_user(c, arg, &hdr, minsz) ? -EFAULT : -ENOSPC;
	}
	fill.devices = calloc(count, sizeof(*fill.devices));
	if (!fill.devices)
		return -ENOMEM;
	fill.max = count;
	uvf_mutex_lock(&v->vdev.dev_set->lock);
	ret = pci_bus_for_each_dev(v->pdev->bus, fill_one, &fill);
	uvf_mutex_unlock(&v->vdev.dev_set->lock);
	if (!ret && copy_to_user(c, arg + sizeof(hdr), fill.devices,
				 fill.count * sizeof(*fill.devices)))
		ret = -EFAULT;
	if (!ret) {
		hdr.count = fill.count;
		ret = copy_to_user(c, arg, &hdr, minsz) ? -EFAULT : 0;
	}
	free(fill.devices);
	return ret;
}

static bool dev_in_groups(struct vfio_device *vdev, struct uvf_file **files, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (vfio_group_from_file(files[i]) == vdev->group)
			return true;
	return false;
}

/*
 * Reset the bus under every device of the set, once the caller has shown
 * it owns them all.  Each device wakes from low power, and its memory_lock
 * is taken for write so no region access runs during the reset;
 * contention unwinds with -EBUSY.
 */
static long dev_set_hot_reset(struct vfio_device_set *dev_set, struct uvf_file **files,
			      unsigned int nfiles)
{
	struct vfio_device *cur, *locked_end = NULL;
	struct pci_dev *pdev;
	long ret = 0;

	uvf_mutex_lock(&dev_set->lock);
	pdev = dev_set_resettable(dev_set);
	if (!pdev) {
		uvf_mutex_unlock(&dev_set->lock);
		return -EINVAL;
	}
	/* vfio_pci_dev_set_pm_runtime_get: the whole set wakes for it. */
	list_for_each_entry(cur, &dev_set->device_list, dev_set_list)
		vfio_pci_pm_get(to_vfio_pci(cur));
	list_for_each_entry(cur, &dev_set->device_list, dev_set_list) {
		if (!dev_in_groups(cur, files, nfiles)) {
			ret = -EINVAL;
			break;
		}
		if (pthread_rwlock_trywrlock(&to_vfio_pci(cur)->memory_lock.l)) {
			ret = -EBUSY;
			break;
		}
	}
	locked_end = cur;
	if (!ret) {
		list_for_each_entry(cur, &dev_set->device_list, dev_set_list)
			pci_set_power_state(to_vfio_pci(cur)->pdev, PCI_D0);
		ret = reset_bus_of_set(dev_set, pdev);
	}
	list_for_each_entry(cur, &dev_set->device_list, dev_set_list) {
		if (cur == locked_end)
			break;
		uvf_rw_unlock(&to_vfio_pci(cur)->memory_lock);
	}
	list_for_each_entry(cur, &dev_set->device_list, dev_set_list)
		vfio_pci_pm_put(to_vfio_pci(cur));
	uvf_mutex_unlock(&dev_set->lock);
	return ret;
}

static long hot_reset_groups(struct vfio_pci_device *v, struct uvf_caller *c, uint64_t arg,
			     uint32_t array_count)
{
	unsigned int count = pci_bus_count_devs(v->pdev->bus), i;
	struct uvf_file **files;
	int32_t *fds;
	long ret = 0;

	/* At most one group per affected device. */
	if (array_count > count)
		return -EINVAL;
	fds = calloc(array_count, sizeof(*fds));
	files = calloc(array_count, sizeof(*files));
	if (!fds || !files) {
		ret = -ENOMEM;
		goto out;
	}
	if (copy_from_user(c, fds, arg + sizeof(struct vfio_pci_hot_reset),
			   array_count * sizeof(*fds))) {
		ret = -EFAULT;
		goto out;
	}
	for (i = 0; i < array_count; i++) {
		files[i] = caller_fget(c, fds[i]);
		if (!files[i]) {
			ret = -EBADF;
			break;
		}
		if (!vfio_group_from_file(files[i])) {
			ret = -EINVAL;
			i++;
			break;
		}
	}
	if (!ret)
		ret = dev_set_hot_reset(v->vdev.dev_set, files, array_count);
	while (i--)
		if (files[i])
			file_put(files[i]);
out:
	free(fds);
	free(files);
	return ret;
}

static long ioctl_pci_hot_reset(struct vfio_pci_device *v, struct uvf_caller *c, uint64_t arg)
{
	size_t minsz = offsetofend(struct vfio_pci_hot_reset, count);
	struct vfio_pci_hot_reset hdr;

	if (copy_from_user(c, &hdr, arg, minsz))
		return -EFAULT;
	if (hdr.argsz < minsz || hdr.flags)
		return -EINVAL;
	/* Group-path opens prove ownership with group fds: none is an error. */
	if (!hdr.count)
		return -EINVAL;
	if (!pci_probe_reset_bus(v->pdev->bus))
		return -ENODEV;
	return hot_reset_groups(v, c, arg, hdr.count);
}

/* ---- the vfio_device_ops -------------------------------------------------- */

static long vfio_pci_core_ioctl(struct vfio_pci_device *v, struct uvf_caller *c,
				unsigned int cmd, uint64_t arg)
{
	switch (cmd) {
	case VFIO_DEVICE_GET_INFO:
		return ioctl_get_info(v, c, arg);
	case VFIO_DEVICE_GET_IRQ_INFO:
		return ioctl_get_irq_info(v, c, arg);
	case VFIO_DEVICE_GET_PCI_HOT_RESET_INFO:
		return ioctl_get_hot_reset_info(v, c, arg);
	case VFIO_DEVICE_GET_REGION_INFO:
		return ioctl_get_region_info(v, c, arg);
	case VFIO_DEVICE_PCI_HOT_RESET:
		return ioctl_pci_hot_reset(v, c, arg);
	case VFIO_DEVICE_RESET:
		return ioctl_reset(v);
	case VFIO_DEVICE_SET_IRQS:
		return ioctl_set_irqs(v, c, arg);
	default:
		return -ENOTTY;
	}
}

/* Every ioctl of the device fd wakes the device for its duration. */
static long vfio_pci_ioctl(struct vfio_device *vdev, struct uvf_caller *c, unsigned int cmd,
			   uint64_t arg)
{
	struct vfio_pci_device *v = to_vfio_pci(vdev);
	long ret;

	vfio_pci_pm_get(v);
	ret = vfio_pci_core_ioctl(v, c, cmd, arg);
	vfio_pci_pm_put(v);
	return ret;
}

static ssize_t vfio_pci_rw(struct vfio_pci_device *v, struct uvf_caller *c, uint64_t ubuf,
			   size_t count, uint64_t pos, bool iswrite)
{
	uint64_t index = VFIO_PCI_OFFSET_TO_INDEX(pos);
	ssize_t ret;

	if (!count)
		return 0;
	if (index >= VFIO_PCI_NUM_REGIONS)
		return -EINVAL;
	vfio_pci_pm_get(v);
	switch (index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		ret = vfio_pci_config_rw(v, c, ubuf, count, pos, iswrite);
		break;
	case VFIO_PCI_BAR0_REGION_INDEX ... VFIO_PCI_BAR5_REGION_INDEX:
		ret = vfio_pci_bar_rw(v, c, ubuf, count, pos, iswrite);
		break;
	default:		/* ROM (none), VGA (none) */
		ret = -EINVAL;
		break;
	}
	vfio_pci_pm_put(v);
	return ret;
}

static ssize_t vfio_pci_read(struct vfio_device *vdev, struct uvf_caller *c, uint64_t ubuf,
			     size_t count, uint64_t pos)
{
	return vfio_pci_rw(to_vfio_pci(vdev), c, ubuf, count, pos, false);
}

static ssize_t vfio_pci_write(struct vfio_device *vdev, struct uvf_caller *c, uint64_t ubuf,
			      size_t count, uint64_t pos)
{
	return vfio_pci_rw(to_vfio_pci(vdev), c, ubuf, count, pos, true);
}

static void vfio_pci_request(struct vfio_device *vdev, unsigned int count)
{
	struct vfio_pci_device *v = to_vfio_pci(vdev);

	if (!(count % 10))
		uvf_info("vfio-pci", "%s: relaying device request to user (#%u)",
			 v->pdev->dev.name, count);
	vfio_pci_signal_req(v);
}

/* vfio_pci_core_ioctl_feature: the low-power trio (no SR-IOV, so no VF
 * token).  Like every ioctl, it runs with the device awake. */
static int vfio_pci_device_feature(struct vfio_device *vdev, struct uvf_caller *c,
				   uint32_t flags, uint64_t arg, size_t argsz)
{
	struct vfio_pci_device *v = to_vfio_pci(vdev);
	int ret;

	vfio_pci_pm_get(v);
	switch (flags & VFIO_DEVICE_FEATURE_MASK) {
	case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY:
		ret = feature_pm_entry(v, flags, argsz);
		break;
	case VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP:
		ret = feature_pm_entry_with_wakeup(v, c, flags, arg, argsz);
		break;
	case VFIO_DEVICE_FEATURE_LOW_POWER_EXIT:
		ret = feature_pm_exit(v, flags, argsz);
		break;
	default:
		ret = -ENOTTY;
		break;
	}
	vfio_pci_pm_put(v);
	return ret;
}

static const struct vfio_device_ops vfio_pci_ops = {
	.name = "vfio-pci",
	.open_device = vfio_pci_open_device,
	.close_device = vfio_pci_close_device,
	.read = vfio_pci_read,
	.write = vfio_pci_write,
	.ioctl = vfio_pci_ioctl,
	.mmap = vfio_pci_core_mmap,
	.request = vfio_pci_request,
	.device_feature = vfio_pci_device_feature,
};

/* ---- the driver ------------------------------------------------------------- */

static void vfio_pci_free(struct vfio_pci_device *v)
{
	vfio_pci_irq_free(v);
	uvf_mutex_destroy(&v->pm_lock);
	uvf_mutex_destroy(&v->config_lock);
	uvf_rwlock_destroy(&v->memory_lock);
	free(v);
}

static int vfio_pci_probe(struct uvf_device *dev)
{
	struct pci_dev *pdev = to_pci_dev(dev);
	struct vfio_pci_device *v = calloc(1, sizeof(*v));
	int ret;

	if (!v)
		return -ENOMEM;
	v->pdev = pdev;
	v->msix_bar = -1;
	v->pm_wake_eventfd = -1;
	uvf_rwlock_init(&v->memory_lock);
	uvf_mutex_init(&v->config_lock);
	uvf_mutex_init(&v->pm_lock);
	ret = vfio_pci_irq_init(v);
	if (ret) {
		free(v->ctx);
		uvf_mutex_destroy(&v->pm_lock);
		uvf_mutex_destroy(&v->config_lock);
		uvf_rwlock_destroy(&v->memory_lock);
		free(v);
		return ret;
	}
	ret = pci_sysfs_link_driver(dev, vfio_pci_driver.name);
	if (ret)
		goto fail;
	vfio_init_device(&v->vdev, dev, &vfio_pci_ops);
	/* Functions on one resettable bus share a set: their resets are one. */
	ret = vfio_assign_device_set(&v->vdev, pci_is_root_bus(pdev->bus) ? (void *)v
									   : (void *)pdev->bus);
	if (ret)
		goto fail_link;
	pci_irq_set_sink(pdev, &vfio_pci_irq_sink, v);
	dev->driver_data = v;
	pci_set_power_state(pdev, PCI_D0);
	ret = vfio_register_group_dev(&v->vdev);
	if (!ret)
		return 0;
	pci_irq_clear_sink(pdev);
	dev->driver_data = NULL;
fail_link:
	pci_sysfs_unlink_driver(dev);
fail:
	vfio_pci_free(v);
	return ret;
}

static void vfio_pci_remove(struct uvf_device *dev)
{
	struct vfio_pci_device *v = dev->driver_data;

	if (!v)
		return;
	vfio_unregister_group_dev(&v->vdev);
	pci_irq_clear_sink(v->pdev);
	pci_sysfs_unlink_driver(dev);
	dev->driver_data = NULL;
	vfio_pci_free(v);
}

const struct uvf_driver vfio_pci_driver = {
	.name = "vfio-pci",
	.bus = "pci",
	.driver_managed_dma = true,
	.probe = vfio_pci_probe,
	.remove = vfio_pci_remove,
};
