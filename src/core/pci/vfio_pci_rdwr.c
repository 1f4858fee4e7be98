// SPDX-License-Identifier: MIT
/*
 * vfio-pci BAR regions: pread/pwrite and mmap of the device fd
 * (vfio_pci_rdwr.c and vfio_pci_core_mmap semantics).
 *
 * A BAR access is cut into naturally aligned pieces of 8, 4, 2 or 1 bytes,
 * as the kernel's vfio_pci_core_do_io_rw does, so a model sees the
 * accesses a CPU would make.  Each piece goes to:
 *   - the MSI-X table: excluded, as the host kernel owns it: reads return
 *     all ones, writes are dropped;
 *   - the MSI-X PBA: the function's pending bits (read-only);
 *   - a trapped range or a non-mmap BAR: the model's bar_read/bar_write;
 *   - otherwise the BAR's shared memory, copied in one piece up to the next
 *     trapped byte.
 * While the user's COMMAND.MEMORY is clear (or the function is in D3hot) a
 * piece that reaches the device fails the access with -EIO (pieces before
 * it took effect); the MSI-X table involves no device access and answers
 * as always, as the kernel checks memory enable per I/O.  An mmap hands out
 * a window of the BAR's memfd; it must be MAP_SHARED and may not cover a
 * trapped page.
 *
 * Locking: memory_lock (read) for the whole access, so a reset or a
 * COMMAND write (write side) never runs in the middle of one.  No pci lock
 * is held when a model callback runs.
 */
#include <errno.h>
#include <string.h>
#include "vfio_pci.h"
#include "../base/compiler.h"
#include "../mm/caller.h"
#include "../mm/mm.h"

/* Offset of the first trapped byte at or after 'off' (size if none). */
static uint64_t next_trap(const struct pci_model_bar *mb, uint64_t off, uint64_t size)
{
	uint64_t next = size;

	for (unsigned int t = 0; t < mb->ntraps; t++) {
		const struct pci_model_range *r = &mb->traps[t];

		if (off >= r->offset && off < r->offset + r->size)
			return off;
		if (r->offset > off && r->offset < next)
			next = r->offset;
	}
	return next;
}

static void model_access(struct pci_dev *pdev, unsigned int bar, uint64_t off, void *buf,
			 size_t n, bool iswrite)
{
	if (iswrite) {
		if (pci_msix_bar_write(pdev, bar, off, buf, n))
			return;
		if (pdev->model->bar_write)
			pdev->model->bar_write(pdev, bar, off, buf, n);
		return;
	}
	if (pci_msix_bar_read(pdev, bar, off, buf, n))
		return;
	if (pdev->model->bar_read)
		pdev->model->bar_read(pdev, bar, off, buf, n);
	else
		memset(buf, 0xff, n);
}

/* Shared memory, [off, off+n) inside the BAR and outside every trap. */
static int mem_access(struct pci_dev *pdev, unsigned int bar, struct uvf_caller *c,
		      uint64_t ubuf, uint64_t off, size_t n, bool iswrite)
{
	void *p = memobj_ptr(pdev->bars[bar].mem, off, n);

	if (iswrite)
		return copy_from_user(c, p, ubuf, n);
	return copy_to_user(c, ubuf, p, n);
}

/* Size of the next piece: aligned access within 'fillable', or a memory run. */
static size_t piece_size(uint64_t off, size_t fillable)
{
	if (fillable >= 8 && !(off % 8))
		return 8;
	if (fillable >= 4 && !(off % 4))
		return 4;
	if (fillable >= 2 && !(off % 2))
		return 2;
	return 1;
}

/* memory_lock held for read: the memory enable cannot change meanwhile. */
static ssize_t bar_do_rw(struct vfio_pci_device *v, struct uvf_caller *c, unsigned int bar,
			 uint64_t ubuf, uint64_t off, size_t count, bool iswrite)
{
	bool mem_enabled = vfio_pci_memory_enabled(v);
	struct pci_dev *pdev = v->pdev;
	const struct pci_model_bar *mb = &pdev->desc.bars[bar];
	uint64_t size = pdev->bars[bar].size;
	uint64_t x_start = 0, x_end = 0;
	size_t done = 0;

	if ((int)bar == v->msix_bar) {
		x_start = v->msix_offset;
		x_end = v->msix_offset + v->msix_size;
	}
	while (count) {
		uint64_t fill_end = off < x_start ? x_start : (off >= x_end ? size : off);
		size_t fillable = (size_t)uvf_min((uint64_t)count, fill_end - off);
		uint8_t tmp[8];
		size_t n;

		if (!fillable) {
			/* The MSI-X table: reads see ones, writes vanish. */
			n = (size_t)uvf_min((uint64_t)count, x_end - off);
			for (size_t i = 0; !iswrite && i < n; i++)
				if (copy_to_user(c, ubuf + i, "\xff", 1))
					return -EFAULT;
		} else if (!mem_enabled) {
			return -EIO;
		} else if (pdev->bars[bar].mem && next_trap(mb, off, size) > off) {
			n = (size_t)uvf_min((uint64_t)fillable, next_trap(mb, off, size) - off);
			if (mem_access(pdev, bar, c, ubuf, off, n, iswrite))
				return -EFAULT;
		} else {
			n = piece_size(off, fillable);
			if (iswrite && copy_from_user(c, tmp, ubuf, n))
				return -EFAULT;
			model_access(pdev, bar, off, tmp, n, iswrite);
			if (!iswrite && copy_to_user(c, ubuf, tmp, n))
				return -EFAULT;
		}
		count -= n;
		done += n;
		off += n;
		ubuf += n;
	}
	return (ssize_t)done;
}

ssize_t vfio_pci_bar_rw(struct vfio_pci_device *v, struct uvf_caller *c, uint64_t ubuf,
			size_t count, uint64_t pos, bool iswrite)
{
	unsigned int bar = (unsigned int)VFIO_PCI_OFFSET_TO_INDEX(pos);
	uint64_t off = pos & VFIO_PCI_OFFSET_MASK;
	uint64_t size;
	ssize_t ret;

	if (bar >= PCI_STD_NUM_BARS)
		return -EINVAL;
	size = v->pdev->bars[bar].size;
	if (!size || off >= size)
		return -EINVAL;
	count = (size_t)uvf_min((uint64_t)count, size - off);
	uvf_read_lock(&v->memory_lock);
	ret = bar_do_rw(v, c, bar, ubuf, off, count, iswrite);
	uvf_rw_unlock(&v->memory_lock);
	return ret;
}

bool vfio_pci_bar_mmap_supported(const struct vfio_pci_device *v, unsigned int bar)
{
	return bar < PCI_STD_NUM_BARS && v->pdev->bars[bar].size && v->pdev->bars[bar].mem;
}

static bool range_hits_trap(const struct pci_model_bar *mb, uint64_t off, uint64_t len)
{
	for (unsigned int t = 0; t < mb->ntraps; t++) {
		const struct pci_model_range *r = &mb->traps[t];

		if (off < r->offset + r->size && r->offset < off + len)
			return true;
	}
	return false;
}

int vfio_pci_core_mmap(struct vfio_device *vdev, struct uvf_caller *c, uint64_t pos,
		       uint64_t len, int prot, bool shared, struct uvf_mmap_desc *out)
{
	struct vfio_pci_device *v = to_vfio_pci(vdev);
	uint64_t index = VFIO_PCI_OFFSET_TO_INDEX(pos);
	uint64_t off = pos & VFIO_PCI_OFFSET_MASK, end, bar_len;
	struct pci_bar_state *b;

	if (index >= VFIO_PCI_NUM_REGIONS || !shared || index >= VFIO_PCI_ROM_REGION_INDEX)
		return -EINVAL;
	if (!vfio_pci_bar_mmap_supported(v, (unsigned int)index))
		return -EINVAL;
	b = &v->pdev->bars[index];
	bar_len = ALIGN_UP(b->size, UVF_PAGE_SIZE);
	if (!len || !IS_ALIGNED(off, UVF_PAGE_SIZE) || check_add_overflow(off, len, &end) ||
	    end > bar_len)
		return -EINVAL;
	/* Trapped pages have no memory behind them a mapping could reach. */
	if (range_hits_trap(&v->pdev->desc.bars[index], off, len))
		return -EINVAL;
	memobj_get(b->mem);
	out->obj = b->mem;
	out->obj_off = off;
	return 0;
}
