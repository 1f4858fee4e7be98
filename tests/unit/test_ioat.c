// SPDX-License-Identifier: MIT
/*
 * The I/OAT model (src/models/ioat.c) driven as DPDK and Linux drive it:
 * BAR0 mapped into the process, registers stored and polled through the
 * mapping, descriptors and the completion write-back in DMA memory mapped
 * through a type1 container, interrupts on MSI-X eventfds.
 */
#include "harness.h"
#include "pci_test.h"
#include <pthread.h>
#include <time.h>
#include <sys/mman.h>
#include "models/ioat_regs.h"

#define BDF		"0000:00:07.0"
#define GROUP		7
#define NCHAN		4
#define XFERCAP		20
#define MEM_SIZE	(8u << 20)
#define IOVA_BASE	0x10000000ULL
#define RING_OFF	0		/* 16 KiB of descriptors per channel */
#define RING_BYTES	0x4000
#define COMP_OFF	0x40000		/* one cache line per channel */
#define SRC_OFF		(1u << 20)	/* 2 MiB */
#define DST_OFF		(4u << 20)	/* 2 MiB */
#define AREA		(2u << 20)
#define RO_IOVA		0x40000000ULL	/* the same source pages, mapped read-only */
#define HOLE_IOVA	0x50000000ULL	/* never mapped */
#define TIMEOUT_MS	5000

static const char topo_json[] =
	"{ \"pci\": [ { \"bdf\": \"" BDF "\", \"model\": \"ioat\", \"iommu_group\": 7,"
	"  \"params\": { \"channels\": 4, \"xfercap\": 20 } } ] }";

struct fixture {
	struct uvf_host *h;
	struct uvf_proc *p;
	struct pci_open o;
	uint8_t *regs;		/* BAR0 page 0, mapped */
	uint8_t *mem;		/* DMA memory at IOVA_BASE */
	int memfd;
	int efd[NCHAN];
};

/* ---- register access through the mapping ---------------------------------- */

static uint8_t *chan(struct fixture *f, unsigned int ch)
{
	return f->regs + IOAT_CHAN_BASE(ch);
}

static uint8_t rd8(const uint8_t *r, unsigned int off)
{
	return __atomic_load_n(r + off, __ATOMIC_ACQUIRE);
}

static uint16_t rd16(const uint8_t *r, unsigned int off)
{
	return __atomic_load_n((const uint16_t *)(const void *)(r + off), __ATOMIC_ACQUIRE);
}

static uint32_t rd32(const uint8_t *r, unsigned int off)
{
	return __atomic_load_n((const uint32_t *)(const void *)(r + off), __ATOMIC_ACQUIRE);
}

static uint64_t rd64(const uint8_t *r, unsigned int off)
{
	return __atomic_load_n((const uint64_t *)(const void *)(r + off), __ATOMIC_ACQUIRE);
}

static void wr8(uint8_t *r, unsigned int off, uint8_t v)
{
	__atomic_store_n(r + off, v, __ATOMIC_RELEASE);
}

static void wr16(uint8_t *r, unsigned int off, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)(r + off), v, __ATOMIC_RELEASE);
}

static void wr32(uint8_t *r, unsigned int off, uint32_t v)
{
	__atomic_store_n((uint32_t *)(void *)(r + off), v, __ATOMIC_RELEASE);
}

static void wr64(uint8_t *r, unsigned int off, uint64_t v)
{
	__atomic_store_n((uint64_t *)(void *)(r + off), v, __ATOMIC_RELEASE);
}

static int64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Poll until (reg & mask) == want; returns the last value read. */
static uint64_t wait_reg64(const uint8_t *r, unsigned int off, uint64_t mask, uint64_t want)
{
	int64_t end = ms_now() + TIMEOUT_MS;
	uint64_t v;

	while (((v = rd64(r, off)) & mask) != want && ms_now() < end)
		usleep(10);
	return v;
}

static uint8_t wait_reg8(const uint8_t *r, unsigned int off, uint8_t want)
{
	int64_t end = ms_now() + TIMEOUT_MS;
	uint8_t v;

	while ((v = rd8(r, off)) != want && ms_now() < end)
		usleep(10);
	return v;
}

static uint64_t chansts(struct fixture *f, unsigned int ch)
{
	return rd64(chan(f, ch), IOAT_CHANSTS);
}

static uint64_t wait_state(struct fixture *f, unsigned int ch, uint64_t state)
{
	return wait_reg64(chan(f, ch), IOAT_CHANSTS, IOAT_CHANSTS_STATUS, state);
}

/* ---- DMA memory ------------------------------------------------------------------ */

static uint64_t iova(struct fixture *f, const void *p)
{
	return IOVA_BASE + (uint64_t)((const uint8_t *)p - f->mem);
}

static struct ioat_hw_desc *ring(struct fixture *f, unsigned int ch)
{
	return (struct ioat_hw_desc *)(void *)(f->mem + RING_OFF + ch * RING_BYTES);
}

static uint64_t *comp(struct fixture *f, unsigned int ch)
{
	return (uint64_t *)(void *)(f->mem + COMP_OFF + ch * 64);
}

static uint64_t comp_read(struct fixture *f, unsigned int ch)
{
	return __atomic_load_n(comp(f, ch), __ATOMIC_ACQUIRE);
}

static uint64_t wait_comp(struct fixture *f, unsigned int ch, uint64_t want)
{
	int64_t end = ms_now() + TIMEOUT_MS;
	uint64_t v;

	while ((v = comp_read(f, ch)) != want && ms_now() < end)
		usleep(10);
	return v;
}

static uint8_t *src(struct fixture *f)
{
	return f->mem + SRC_OFF;
}

static uint8_t *dst(struct fixture *f)
{
	return f->mem + DST_OFF;
}

static void dma_map(struct fixture *f, uint64_t vaddr, uint64_t io, uint64_t size, uint32_t prot)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = prot, .vaddr = vaddr, .iova = io, .size = size,
	};

	assert_errno(proc_ioctl(f->p, f->o.cfd, VFIO_IOMMU_MAP_DMA, &m), 0);
}

/* ---- descriptors ------------------------------------------------------------------- */

static void desc_set(struct ioat_hw_desc *d, uint32_t size, uint32_t ctl, uint64_t s,
		     uint64_t t, uint64_t next)
{
	memset(d, 0, sizeof(*d));
	d->size = size;
	d->ctl = ctl;
	d->src = s;
	d->dst = t;
	d->next = next;
}

/* Descriptor i of a channel's ring, linked to i+1 (the last to the first). */
static struct ioat_hw_desc *ring_copy(struct fixture *f, unsigned int ch, unsigned int i,
				      unsigned int n, uint32_t size, uint32_t ctl, uint64_t s,
				      uint64_t t)
{
	struct ioat_hw_desc *d = &ring(f, ch)[i];

	desc_set(d, size, ctl, s, t, iova(f, &ring(f, ch)[(i + 1) % n]));
	return d;
}

static uint64_t desc_iova(struct fixture *f, unsigned int ch, unsigned int i)
{
	return iova(f, &ring(f, ch)[i]);
}

/* ---- channel bring-up as the drivers do it ---------------------------------------- */

static void chan_reset(struct fixture *f, unsigned int ch)
{
	wr8(chan(f, ch), IOAT_CHANCMD, IOAT_CHANCMD_RESET);
	assert_int_equal(wait_reg8(chan(f, ch), IOAT_CHANCMD, 0), 0);
	assert_int_equal(chansts(f, ch), IOAT_CHANSTS_ARMED);
	assert_int_equal(rd16(chan(f, ch), IOAT_DMACOUNT), 0);
}

static void chan_start(struct fixture *f, unsigned int ch, uint16_t ctrl)
{
	chan_reset(f, ch);
	*comp(f, ch) = 0;
	wr64(chan(f, ch), IOAT_CHANCMP, iova(f, comp(f, ch)));
	wr64(chan(f, ch), IOAT_CHAINADDR, desc_iova(f, ch, 0));
	wr16(chan(f, ch), IOAT_CHANCTRL, ctrl);
}

static void doorbell(struct fixture *f, unsigned int ch, uint16_t count)
{
	wr16(chan(f, ch), IOAT_DMACOUNT, count);
}

#define CTRL_DEFAULT	(IOAT_CHANCTRL_ERR_COMPLETION_EN | IOAT_CHANCTRL_ANY_ERR_ABORT_EN)
#define CTL_COPY	IOAT_DESC_COMPL_WRITE

/* ---- fixture --------------------------------------------------------------------------- */

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	uint64_t bar0;
	int32_t fds[NCHAN];
	int err = 0;

	f->h = test_host_from_json(topo_json);
	f->p = proc_new_root(f->h);
	f->o = pci_open_device(f->p, GROUP, BDF);
	bar0 = region_offset(f->p, f->o.dfd, VFIO_PCI_BAR0_REGION_INDEX);
	f->regs = proc_mmap(f->p, f->o.dfd, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, bar0, &err);
	assert_errno(err, 0);
	f->memfd = memfd_create("ioat-test", MFD_CLOEXEC);
	assert_true(f->memfd >= 0);
	assert_int_equal(ftruncate(f->memfd, MEM_SIZE), 0);
	f->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd, 0);
	assert_true(f->mem != MAP_FAILED);
	dma_map(f, (uint64_t)(uintptr_t)f->mem, IOVA_BASE, MEM_SIZE,
		VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE);
	dma_map(f, (uint64_t)(uintptr_t)src(f), RO_IOVA, AREA, VFIO_DMA_MAP_FLAG_READ);
	for (unsigned int i = 0; i < NCHAN; i++)
		fds[i] = f->efd[i] = efd_new();
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSIX_IRQ_INDEX, 0, NCHAN, fds), 0);
	cfg_set_command(f->p, f->o.dfd, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	wr8(f->regs, IOAT_INTRCTRL, IOAT_INTRCTRL_MASTER_INT_EN |
				    IOAT_INTRCTRL_MSIX_VECTOR_CONTROL);
	for (unsigned int i = 0; i < AREA; i++)
		src(f)[i] = (uint8_t)(i * 131 + (i >> 9) + 7);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	munmap(f->regs, 4096);
	proc_free(f->p);
	host_free(f->h);
	munmap(f->mem, MEM_SIZE);
	close(f->memfd);
	for (unsigned int i = 0; i < NCHAN; i++)
		close(f->efd[i]);
	free(f);
	return 0;
}

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* ---- identity, config space, registers ---------------------------------------------- */

static void test_identity(void **state)
{
	struct fixture *f = *state;
	struct vfio_region_info info = region_info(f->p, f->o.dfd, VFIO_PCI_BAR0_REGION_INDEX);
	struct vfio_irq_info irq = { .argsz = sizeof(irq), .index = VFIO_PCI_MSIX_IRQ_INDEX };
	unsigned int msix = pci_find_capability(test_pdev(f->h, BDF), PCI_CAP_ID_MSIX);
	uint8_t *map;
	int err = 0;

	assert_int_equal(cfg_read(f->p, f->o.dfd, PCI_VENDOR_ID, 2), IOAT_VENDOR_ID);
	assert_int_equal(cfg_read(f->p, f->o.dfd, PCI_DEVICE_ID, 2), IOAT_DEVICE_SKX);
	assert_int_equal(cfg_read(f->p, f->o.dfd, PCI_CLASS_REVISION, 4) >> 8, IOAT_CLASS);
	assert_int_equal(info.size, IOAT_BAR0_SIZE);
	assert_true(info.flags & VFIO_REGION_INFO_FLAG_MMAP);
	/* No sparse areas: BAR0 maps whole, as DPDK maps it. */
	assert_false(info.flags & VFIO_REGION_INFO_FLAG_CAPS);
	map = proc_mmap(f->p, f->o.dfd, IOAT_BAR0_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			info.offset, &err);
	assert_errno(err, 0);
	assert_int_equal(rd8(map, IOAT_CBVER), IOAT_VERSION_3_3);
	munmap(map, IOAT_BAR0_SIZE);
	/* MSI-X lives in a BAR of its own, every access trapped. */
	assert_int_equal(cfg_read(f->p, f->o.dfd, msix + PCI_MSIX_TABLE, 4),
			 IOAT_MSIX_TABLE_OFFSET | IOAT_MSIX_BAR);
	info = region_info(f->p, f->o.dfd, IOAT_MSIX_BAR);
	assert_int_equal(info.size, IOAT_MSIX_BAR_SIZE);
	assert_false(info.flags & VFIO_REGION_INFO_FLAG_MMAP);
	assert_errno(proc_ioctl(f->p, f->o.dfd, VFIO_DEVICE_GET_IRQ_INFO, &irq), 0);
	assert_int_equal(irq.count, NCHAN);
	/* The device-wide registers DPDK and Linux read at probe. */
	assert_int_equal(rd8(f->regs, IOAT_CHANCNT), NCHAN);
	assert_int_equal(rd8(f->regs, IOAT_XFERCAP), XFERCAP);
	assert_int_equal(rd8(f->regs, IOAT_CBVER), IOAT_VERSION_3_3);
	assert_int_equal(rd32(f->regs, IOAT_DMACAPABILITY), IOAT_CAP_FILL_BLOCK);
	/* Power-on: every channel halted, nothing in flight. */
	for (unsigned int ch = 0; ch < NCHAN; ch++) {
		assert_int_equal(chansts(f, ch), IOAT_CHANSTS_HALTED);
		assert_int_equal(rd32(chan(f, ch), IOAT_CHANERR), 0);
		assert_int_equal(rd16(chan(f, ch), IOAT_DMA_COMP), IOAT_DMA_COMP_V2);
	}
}

/* Config space is 4 KiB with the device's RW1C error logs in it. */
static void test_config_error_registers(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_read(f->p, f->o.dfd, 0x100, 2), PCI_EXT_CAP_ID_ERR);
	assert_int_equal(cfg_read(f->p, f->o.dfd, IOAT_CFG_CHANERR_INT, 4), 0);
	assert_int_equal(cfg_read(f->p, f->o.dfd, IOAT_CFG_DMAUNCERRSTS, 4), 0);
	/* RW1C: writing ones to a clear register leaves it clear. */
	cfg_write(f->p, f->o.dfd, IOAT_CFG_CHANERR_INT, 4, 0xffffffff);
	assert_int_equal(cfg_read(f->p, f->o.dfd, IOAT_CFG_CHANERR_INT, 4), 0);
	cfg_write(f->p, f->o.dfd, IOAT_CFG_CHANERRMSK_INT, 4, 0x1234);
	assert_int_equal(cfg_read(f->p, f->o.dfd, IOAT_CFG_CHANERRMSK_INT, 4), 0x1234);
	/* An error is logged there too; writing its bit clears only it. */
	chan_start(f, 1, CTRL_DEFAULT);
	ring_copy(f, 1, 0, 2, 64, CTL_COPY, HOLE_IOVA, iova(f, dst(f)));
	doorbell(f, 1, 1);
	assert_int_equal(wait_state(f, 1, IOAT_CHANSTS_HALTED) & 7, IOAT_CHANSTS_HALTED);
	assert_int_equal(cfg_read(f->p, f->o.dfd, IOAT_CFG_CHANERR_INT, 4), IOAT_CHANERR_SRC_ADDR);
	cfg_write(f->p, f->o.dfd, IOAT_CFG_CHANERR_INT, 4, IOAT_CHANERR_DEST_ADDR);
	assert_int_equal(cfg_read(f->p, f->o.dfd, IOAT_CFG_CHANERR_INT, 4), IOAT_CHANERR_SRC_ADDR);
	cfg_write(f->p, f->o.dfd, IOAT_CFG_CHANERR_INT, 4, IOAT_CHANERR_SRC_ADDR);
	assert_int_equal(cfg_read(f->p, f->o.dfd, IOAT_CFG_CHANERR_INT, 4), 0);
}

/* Read-only registers come back when a driver stores over them. */
static void test_read_only_registers(void **state)
{
	struct fixture *f = *state;

	wr8(f->regs, IOAT_CBVER, 0x12);
	wr64(chan(f, 2), IOAT_CHANSTS, 0xdead000);
	assert_int_equal(wait_reg8(f->regs, IOAT_CBVER, IOAT_VERSION_3_3), IOAT_VERSION_3_3);
	assert_int_equal(wait_state(f, 2, IOAT_CHANSTS_HALTED), IOAT_CHANSTS_HALTED);
	/* INTRCTRL keeps only its writable bits. */
	wr8(f->regs, IOAT_INTRCTRL, 0xff);
	assert_int_equal(wait_reg8(f->regs, IOAT_INTRCTRL, 0x09), 0x09);
}

/* ---- copies ------------------------------------------------------------------------------ */

/* One copy of each size 1 B ... XFERCAP lands exactly, nothing around it. */
static void test_copy_sizes(void **state)
{
	static const uint32_t sizes[] = {
		1, 2, 3, 7, 8, 63, 64, 65, 511, 4095, 4096, 4097, 65535, 65536, 300000,
		1u << XFERCAP,
	};
	struct fixture *f = *state;
	unsigned int n = ARRAY_SIZE(sizes);

	chan_start(f, 0, CTRL_DEFAULT);
	for (unsigned int i = 0; i < n; i++) {
		uint32_t len = sizes[i];
		uint32_t soff = (i * 13) % 61, doff = 32 + (i * 7) % 29;

		memset(dst(f), 0xee, (1u << XFERCAP) + 256);
		ring_copy(f, 0, i, 64, len, CTL_COPY, iova(f, src(f) + soff), iova(f, dst(f) + doff));
		doorbell(f, 0, (uint16_t)(i + 1));
		assert_int_equal(wait_comp(f, 0, desc_iova(f, 0, i) | IOAT_CHANSTS_DONE),
				 desc_iova(f, 0, i) | IOAT_CHANSTS_DONE);
		assert_memory_equal(dst(f) + doff, src(f) + soff, len);
		assert_true(all_bytes(dst(f), doff, 0xee));
		assert_true(all_bytes(dst(f) + doff + len, 64, 0xee));
	}
	assert_int_equal(chansts(f, 0), desc_iova(f, 0, n - 1) | IOAT_CHANSTS_DONE);
	assert_int_equal(rd32(chan(f, 0), IOAT_CHANERR), 0);
}

/* Zero bytes and more than XFERCAP are length errors. */
static void test_copy_bad_length(void **state)
{
	struct fixture *f = *state;
	uint32_t bad[] = { 0, (1u << XFERCAP) + 1 };

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		chan_start(f, 0, CTRL_DEFAULT);
		ring_copy(f, 0, 0, 4, bad[i], CTL_COPY, iova(f, src(f)), iova(f, dst(f)));
		doorbell(f, 0, 1);
		assert_int_equal(wait_state(f, 0, IOAT_CHANSTS_HALTED), IOAT_CHANSTS_HALTED);
		assert_int_equal(rd32(chan(f, 0), IOAT_CHANERR), IOAT_CHANERR_LENGTH);
	}
}

/* A chain of descriptors handed over by one doorbell runs in order. */
static void test_chained(void **state)
{
	struct fixture *f = *state;
	const unsigned int n = 32;

	chan_start(f, 0, CTRL_DEFAULT);
	memset(dst(f), 0, n * 1000);
	for (unsigned int i = 0; i < n; i++)
		ring_copy(f, 0, i, n, 1000, i == n - 1 ? CTL_COPY : 0, iova(f, src(f) + i * 1000),
			  iova(f, dst(f) + i * 1000));
	doorbell(f, 0, (uint16_t)n);
	assert_int_equal(wait_comp(f, 0, desc_iova(f, 0, n - 1) | IOAT_CHANSTS_DONE),
			 desc_iova(f, 0, n - 1) | IOAT_CHANSTS_DONE);
	assert_memory_equal(dst(f), src(f), n * 1000);
	/* The ring wraps: another round follows 'next' from the last one. */
	memset(dst(f), 0, n * 1000);
	*comp(f, 0) = 0;
	doorbell(f, 0, (uint16_t)(2 * n));
	assert_int_equal(wait_comp(f, 0, desc_iova(f, 0, n - 1) | IOAT_CHANSTS_DONE),
			 desc_iova(f, 0, n - 1) | IOAT_CHANSTS_DONE);
	wait_state(f, 0, IOAT_CHANSTS_DONE);
	assert_memory_equal(dst(f), src(f), n * 1000);
}

/*
 * A descriptor linked to itself runs DMACOUNT times: each run is one
 * completion with its interrupt.
 */
static void test_self_linked(void **state)
{
	struct fixture *f = *state;
	struct ioat_hw_desc *d = &ring(f, 0)[0];
	uint64_t self = desc_iova(f, 0, 0), total = 0;
	int64_t end = ms_now() + TIMEOUT_MS;

	chan_start(f, 0, CTRL_DEFAULT);
	desc_set(d, 256, CTL_COPY | IOAT_DESC_INT_EN, iova(f, src(f)), iova(f, dst(f)), self);
	doorbell(f, 0, 5);
	while (total < 5 && ms_now() < end)
		total += efd_wait(f->efd[0], 100);
	assert_int_equal(total, 5);
	assert_int_equal(wait_state(f, 0, IOAT_CHANSTS_DONE), self | IOAT_CHANSTS_DONE);
	assert_memory_equal(dst(f), src(f), 256);
	/* Three more. */
	doorbell(f, 0, 8);
	total = 0;
	while (total < 3 && ms_now() < end)
		total += efd_wait(f->efd[0], 100);
	assert_int_equal(total, 3);
	assert_int_equal(efd_wait(f->efd[0], 50), 0);
}

/* Block fill repeats the 8-byte pattern and stops at the length. */
static void test_fill(void **state)
{
	struct fixture *f = *state;
	const uint64_t pattern = 0xfedcba9876543210ULL;
	const uint32_t lens[] = { 8, 50, 89, 1024, 70001 };

	chan_start(f, 0, CTRL_DEFAULT);
	for (unsigned int i = 0; i < ARRAY_SIZE(lens); i++) {
		memset(dst(f), 0, 80000);
		ring_copy(f, 0, i, 16, lens[i], CTL_COPY | (IOAT_OP_FILL << IOAT_DESC_OP_SHIFT),
			  pattern, iova(f, dst(f)));
		doorbell(f, 0, (uint16_t)(i + 1));
		assert_int_equal(wait_comp(f, 0, desc_iova(f, 0, i) | IOAT_CHANSTS_DONE),
				 desc_iova(f, 0, i) | IOAT_CHANSTS_DONE);
		for (uint32_t j = 0; j < lens[i]; j++)
			assert_int_equal(dst(f)[j], (pattern >> (8 * (j % 8))) & 0xff);
		assert_true(all_bytes(dst(f) + lens[i], 80000 - lens[i], 0));
	}
}

/* Null descriptors move nothing but complete, and fences change nothing. */
static void test_null_and_fence(void **state)
{
	struct fixture *f = *state;

	chan_start(f, 0, CTRL_DEFAULT);
	memset(dst(f), 0x5a, 4096);
	ring_copy(f, 0, 0, 4, 1, CTL_COPY | IOAT_DESC_NULL, 0, 0);
	ring_copy(f, 0, 1, 4, 4096, IOAT_DESC_FENCE, iova(f, src(f)), iova(f, dst(f)));
	ring_copy(f, 0, 2, 4, 4096, CTL_COPY, iova(f, dst(f)), iova(f, dst(f) + 4096));
	doorbell(f, 0, 1);
	assert_int_equal(wait_comp(f, 0, desc_iova(f, 0, 0) | IOAT_CHANSTS_DONE),
			 desc_iova(f, 0, 0) | IOAT_CHANSTS_DONE);
	assert_true(all_bytes(dst(f), 4096, 0x5a));
	/* The copy after the fenced one reads what the fenced one wrote. */
	doorbell(f, 0, 3);
	assert_int_equal(wait_comp(f, 0, desc_iova(f, 0, 2) | IOAT_CHANSTS_DONE),
			 desc_iova(f, 0, 2) | IOAT_CHANSTS_DONE);
	assert_memory_equal(dst(f) + 4096, src(f), 4096);
}

/* ---- interrupts ------------------------------------------------------------------------------ */

/* Exactly one interrupt per interrupt-enabled descriptor, none for others. */
static void test_interrupts_exactly_once(void **state)
{
	struct fixture *f = *state;
	const unsigned int n = 20;
	uint64_t total = 0;
	int64_t end = ms_now() + TIMEOUT_MS;

	chan_start(f, 2, CTRL_DEFAULT);
	for (unsigned int i = 0; i < n; i++)
		ring_copy(f, 2, i, n, 128, CTL_COPY | (i % 3 == 0 ? IOAT_DESC_INT_EN : 0),
			  iova(f, src(f)), iova(f, dst(f) + 128 * i));
	doorbell(f, 2, (uint16_t)n);
	assert_int_equal(wait_comp(f, 2, desc_iova(f, 2, n - 1) | IOAT_CHANSTS_DONE),
			 desc_iova(f, 2, n - 1) | IOAT_CHANSTS_DONE);
	while (total < 7 && ms_now() < end)
		total += efd_wait(f->efd[2], 100);
	assert_int_equal(total, 7);		/* i = 0, 3, ..., 18 */
	assert_int_equal(efd_wait(f->efd[2], 100), 0);
	/* Only channel 2's vector fired. */
	assert_int_equal(efd_take(f->efd[0]) + efd_take(f->efd[1]) + efd_take(f->efd[3]), 0);
	/* Without the master enable nothing is signalled. */
	wr8(f->regs, IOAT_INTRCTRL, 0);
	*comp(f, 2) = 0;
	doorbell(f, 2, (uint16_t)(2 * n));
	assert_int_equal(wait_comp(f, 2, desc_iova(f, 2, n - 1) | IOAT_CHANSTS_DONE),
			 desc_iova(f, 2, n - 1) | IOAT_CHANSTS_DONE);
	wait_state(f, 2, IOAT_CHANSTS_DONE);
	assert_int_equal(efd_wait(f->efd[2], 100), 0);
}

/* ---- errors ---------------------------------------------------------------------------------- */

/*
 * An unmapped source halts the channel with SRC_ADDR: no byte moves, the
 * write-back reports HALTED at the last good descriptor, no interrupt.
 */
static void test_error_unmapped_source(void **state)
{
	struct fixture *f = *state;
	uint64_t want = desc_iova(f, 0, 0) | IOAT_CHANSTS_HALTED;

	chan_start(f, 0, CTRL_DEFAULT);
	memset(dst(f), 0x11, 8192);
	ring_copy(f, 0, 0, 8, 64, CTL_COPY | IOAT_DESC_INT_EN, iova(f, src(f)), iova(f, dst(f)));
	ring_copy(f, 0, 1, 8, 4096, CTL_COPY | IOAT_DESC_INT_EN, HOLE_IOVA,
		  iova(f, dst(f) + 4096));
	ring_copy(f, 0, 2, 8, 64, CTL_COPY | IOAT_DESC_INT_EN, iova(f, src(f)),
		  iova(f, dst(f) + 4096));
	doorbell(f, 0, 3);
	assert_int_equal(wait_comp(f, 0, want), want);
	assert_int_equal(chansts(f, 0), want);
	assert_int_equal(rd32(chan(f, 0), IOAT_CHANERR), IOAT_CHANERR_SRC_ADDR);
	assert_int_equal(rd64(chan(f, 0), IOAT_CDAR), desc_iova(f, 0, 1));
	assert_true(all_bytes(dst(f) + 4096, 4096, 0x11));
	assert_int_equal(efd_wait(f->efd[0], 100), 1);		/* descriptor 0's only */
	assert_int_equal(efd_wait(f->efd[0], 100), 0);
	/* Halted: a doorbell does nothing. */
	doorbell(f, 0, 4);
	usleep(20000);
	assert_int_equal(chansts(f, 0), want);
}

/* A read-only destination is a DEST_ADDR error; with ERR_INT_EN one interrupt. */
static void test_error_read_only_destination(void **state)
{
	struct fixture *f = *state;
	uint64_t want = IOAT_CHANSTS_HALTED;	/* nothing completed since RESET */

	chan_start(f, 3, CTRL_DEFAULT | IOAT_CHANCTRL_ERR_INT_EN);
	ring_copy(f, 3, 0, 4, 100, CTL_COPY, iova(f, dst(f)), RO_IOVA + 64);
	*comp(f, 3) = 1;
	doorbell(f, 3, 1);
	assert_int_equal(wait_comp(f, 3, want), want);
	assert_int_equal(rd32(chan(f, 3), IOAT_CHANERR), IOAT_CHANERR_DEST_ADDR);
	assert_int_equal(efd_wait(f->efd[3], TIMEOUT_MS), 1);
	assert_int_equal(efd_wait(f->efd[3], 50), 0);
}

/* Descriptor fetch faults: CHAINADDR and 'next' are told apart. */
static void test_error_descriptor_fetch(void **state)
{
	struct fixture *f = *state;

	chan_start(f, 1, CTRL_DEFAULT);
	wr64(chan(f, 1), IOAT_CHAINADDR, HOLE_IOVA);
	doorbell(f, 1, 1);
	wait_state(f, 1, IOAT_CHANSTS_HALTED);
	assert_int_equal(rd32(chan(f, 1), IOAT_CHANERR), IOAT_CHANERR_CHAIN_ADDR_VALUE);

	chan_start(f, 1, CTRL_DEFAULT);
	assert_int_equal(rd32(chan(f, 1), IOAT_CHANERR), 0);	/* RESET cleared it */
	ring_copy(f, 1, 0, 4, 64, CTL_COPY, iova(f, src(f)), iova(f, dst(f)));
	ring(f, 1)[0].next = HOLE_IOVA;
	doorbell(f, 1, 2);
	assert_int_equal(wait_state(f, 1, IOAT_CHANSTS_HALTED),
			 desc_iova(f, 1, 0) | IOAT_CHANSTS_HALTED);
	assert_int_equal(rd32(chan(f, 1), IOAT_CHANERR), IOAT_CHANERR_NEXT_ADDR);

	chan_start(f, 1, CTRL_DEFAULT);
	ring_copy(f, 1, 0, 4, 64, CTL_COPY, iova(f, src(f)), iova(f, dst(f)));
	ring(f, 1)[0].next = desc_iova(f, 1, 1) + 8;
	doorbell(f, 1, 2);
	wait_state(f, 1, IOAT_CHANSTS_HALTED);
	assert_int_equal(rd32(chan(f, 1), IOAT_CHANERR), IOAT_CHANERR_NEXT_DESC_ALIGN);

	chan_start(f, 1, CTRL_DEFAULT);
	ring_copy(f, 1, 0, 4, 64, CTL_COPY | (0x87u << IOAT_DESC_OP_SHIFT), iova(f, src(f)),
		  iova(f, dst(f)));
	doorbell(f, 1, 1);
	wait_state(f, 1, IOAT_CHANSTS_HALTED);
	assert_int_equal(rd32(chan(f, 1), IOAT_CHANERR), IOAT_CHANERR_CONTROL);
}

/* A completion address that is not mapped is its own error. */
static void test_error_completion_address(void **state)
{
	struct fixture *f = *state;

	chan_start(f, 0, CTRL_DEFAULT);
	wr64(chan(f, 0), IOAT_CHANCMP, HOLE_IOVA);
	ring_copy(f, 0, 0, 4, 64, CTL_COPY, iova(f, src(f)), iova(f, dst(f)));
	doorbell(f, 0, 1);
	assert_int_equal(wait_state(f, 0, IOAT_CHANSTS_HALTED),
			 desc_iova(f, 0, 0) | IOAT_CHANSTS_HALTED);
	assert_int_equal(rd32(chan(f, 0), IOAT_CHANERR), IOAT_CHANERR_COMPLETION_ADDR);
	assert_memory_equal(dst(f), src(f), 64);
}

/* Bus mastering off: the device's reads are refused like an unmapped IOVA. */
static void test_error_bus_master_off(void **state)
{
	struct fixture *f = *state;

	cfg_write(f->p, f->o.dfd, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	chan_start(f, 0, CTRL_DEFAULT);
	ring_copy(f, 0, 0, 4, 64, CTL_COPY, iova(f, src(f)), iova(f, dst(f)));
	doorbell(f, 0, 1);
	wait_state(f, 0, IOAT_CHANSTS_HALTED);
	/* The error write-back is refused too. */
	assert_int_equal(rd32(chan(f, 0), IOAT_CHANERR),
			 IOAT_CHANERR_CHAIN_ADDR_VALUE | IOAT_CHANERR_COMPLETION_ADDR);
	assert_int_equal(*comp(f, 0), 0);
}

/*
 * Recovery as DPDK does it: clear CHANERR (RW1C), RESET, CHAINADDR at the
 * descriptor after the failed one, doorbell from 0: the rest completes.
 */
static void test_error_recovery(void **state)
{
	struct fixture *f = *state;

	chan_start(f, 0, CTRL_DEFAULT);
	memset(dst(f), 0, 3 * 4096);
	ring_copy(f, 0, 0, 8, 4096, CTL_COPY, iova(f, src(f)), iova(f, dst(f)));
	ring_copy(f, 0, 1, 8, 4096, CTL_COPY, iova(f, src(f)), HOLE_IOVA);
	ring_copy(f, 0, 2, 8, 4096, CTL_COPY, iova(f, src(f) + 8192), iova(f, dst(f) + 8192));
	doorbell(f, 0, 3);
	wait_state(f, 0, IOAT_CHANSTS_HALTED);
	assert_int_equal(rd32(chan(f, 0), IOAT_CHANERR), IOAT_CHANERR_DEST_ADDR);
	/* RW1C: a bit not set is ignored, a set bit clears. */
	wr32(chan(f, 0), IOAT_CHANERR, IOAT_CHANERR_SRC_ADDR);
	assert_int_equal(wait_reg64(chan(f, 0), IOAT_CHANERR, 0xffffffff, IOAT_CHANERR_DEST_ADDR) &
			 0xffffffff, IOAT_CHANERR_DEST_ADDR);
	wr32(chan(f, 0), IOAT_CHANERR, IOAT_CHANERR_DEST_ADDR | IOAT_CHANERR_SRC_ADDR);
	assert_int_equal(wait_reg64(chan(f, 0), IOAT_CHANERR, 0xffffffff, 0) & 0xffffffff, 0);
	assert_int_equal(chansts(f, 0) & 7, IOAT_CHANSTS_HALTED);
	chan_reset(f, 0);
	wr64(chan(f, 0), IOAT_CHAINADDR, desc_iova(f, 0, 2));
	doorbell(f, 0, 1);
	assert_int_equal(wait_comp(f, 0, desc_iova(f, 0, 2) | IOAT_CHANSTS_DONE),
			 desc_iova(f, 0, 2) | IOAT_CHANSTS_DONE);
	assert_memory_equal(dst(f), src(f), 4096);
	assert_memory_equal(dst(f) + 8192, src(f) + 8192, 4096);
}

/* ---- commands -------------------------------------------------------------------------------- */

/* SUSPEND holds the doorbell's work back until RESUME. */
static void test_suspend_resume(void **state)
{
	struct fixture *f = *state;

	chan_start(f, 0, CTRL_DEFAULT);
	wr8(chan(f, 0), IOAT_CHANCMD, IOAT_CHANCMD_SUSPEND);
	assert_int_equal(wait_state(f, 0, IOAT_CHANSTS_SUSPENDED), IOAT_CHANSTS_SUSPENDED);
	assert_int_equal(rd8(chan(f, 0), IOAT_CHANCMD), 0);
	memset(dst(f), 0, 64);
	ring_copy(f, 0, 0, 4, 64, CTL_COPY, iova(f, src(f)), iova(f, dst(f)));
	doorbell(f, 0, 1);
	usleep(20000);
	assert_int_equal(chansts(f, 0), IOAT_CHANSTS_SUSPENDED);
	assert_true(all_bytes(dst(f), 64, 0));
	wr8(chan(f, 0), IOAT_CHANCMD, IOAT_CHANCMD_RESUME);
	assert_int_equal(wait_comp(f, 0, desc_iova(f, 0, 0) | IOAT_CHANSTS_DONE),
			 desc_iova(f, 0, 0) | IOAT_CHANSTS_DONE);
	assert_memory_equal(dst(f), src(f), 64);
	/* From DONE, SUSPEND then RESUME returns to DONE. */
	wr8(chan(f, 0), IOAT_CHANCMD, IOAT_CHANCMD_SUSPEND);
	wait_state(f, 0, IOAT_CHANSTS_SUSPENDED);
	wr8(chan(f, 0), IOAT_CHANCMD, IOAT_CHANCMD_RESUME);
	assert_int_equal(wait_state(f, 0, IOAT_CHANSTS_DONE),
			 desc_iova(f, 0, 0) | IOAT_CHANSTS_DONE);
}

/* RESET while a long chain runs stops it between descriptors. */
static void test_reset_busy_channel(void **state)
{
	struct fixture *f = *state;
	const unsigned int n = 200;

	chan_start(f, 0, CTRL_DEFAULT);
	for (unsigned int i = 0; i < n; i++)
		ring_copy(f, 0, i, n, 1u << 20, CTL_COPY, iova(f, src(f)), iova(f, dst(f)));
	doorbell(f, 0, (uint16_t)n);
	chan_reset(f, 0);
	assert_int_equal(rd64(chan(f, 0), IOAT_CDAR), 0);
	/* Usable at once. */
	wr64(chan(f, 0), IOAT_CHAINADDR, desc_iova(f, 0, 0));
	ring_copy(f, 0, 0, n, 64, CTL_COPY, iova(f, src(f)), iova(f, dst(f)));
	doorbell(f, 0, 1);
	assert_int_equal(wait_comp(f, 0, desc_iova(f, 0, 0) | IOAT_CHANSTS_DONE),
			 desc_iova(f, 0, 0) | IOAT_CHANSTS_DONE);
}

/* Doorbells also work through region writes (pwrite on the device fd). */
static void test_doorbell_by_pwrite(void **state)
{
	struct fixture *f = *state;
	uint64_t bar0 = region_offset(f->p, f->o.dfd, VFIO_PCI_BAR0_REGION_INDEX);
	uint16_t count = 2;
	uint8_t cmd = IOAT_CHANCMD_RESET;

	chan_start(f, 1, CTRL_DEFAULT);
	ring_copy(f, 1, 0, 4, 64, CTL_COPY, iova(f, src(f)), iova(f, dst(f)));
	ring_copy(f, 1, 1, 4, 64, CTL_COPY, iova(f, src(f) + 64), iova(f, dst(f) + 64));
	assert_errno(proc_pwrite(f->p, f->o.dfd, &count, 2, bar0 + IOAT_CHAN_BASE(1) +
				 IOAT_DMACOUNT), 2);
	assert_int_equal(wait_comp(f, 1, desc_iova(f, 1, 1) | IOAT_CHANSTS_DONE),
			 desc_iova(f, 1, 1) | IOAT_CHANSTS_DONE);
	assert_memory_equal(dst(f), src(f), 128);
	assert_errno(proc_pwrite(f->p, f->o.dfd, &cmd, 1, bar0 + IOAT_CHAN_BASE(1) +
				 IOAT_CHANCMD), 1);
	assert_int_equal(wait_state(f, 1, IOAT_CHANSTS_ARMED), IOAT_CHANSTS_ARMED);
}

/* A function reset (VFIO_DEVICE_RESET) brings back the power-on registers. */
static void test_function_reset(void **state)
{
	struct fixture *f = *state;

	chan_start(f, 0, CTRL_DEFAULT);
	ring_copy(f, 0, 0, 4, 64, CTL_COPY, iova(f, src(f)), iova(f, dst(f)));
	doorbell(f, 0, 1);
	wait_comp(f, 0, desc_iova(f, 0, 0) | IOAT_CHANSTS_DONE);
	assert_errno(proc_ioctl(f->p, f->o.dfd, VFIO_DEVICE_RESET, NULL), 0);
	assert_int_equal(chansts(f, 0), IOAT_CHANSTS_HALTED);
	assert_int_equal(rd64(chan(f, 0), IOAT_CHAINADDR), 0);
	assert_int_equal(rd64(chan(f, 0), IOAT_CHANCMP), 0);
	assert_int_equal(rd16(chan(f, 0), IOAT_DMACOUNT), 0);
	assert_int_equal(rd8(f->regs, IOAT_INTRCTRL), 0);
	assert_int_equal(rd8(f->regs, IOAT_CHANCNT), NCHAN);
}

/* ---- concurrency ---------------------------------------------------------------------------- */

struct chan_job {
	struct fixture *f;
	unsigned int ch;
	bool ok;
};

/* One channel's worth: rounds of 16 copies of 32 KiB into its own quarter. */
static void *chan_worker(void *arg)
{
	struct chan_job *j = arg;
	struct fixture *f = j->f;
	unsigned int ch = j->ch;
	uint8_t *out = dst(f) + ch * (AREA / NCHAN);
	uint16_t count = 0;

	j->ok = true;
	for (unsigned int round = 0; round < 20 && j->ok; round++) {
		uint32_t shift = (round * 4096 + ch * 64) % (AREA / 2);

		for (unsigned int i = 0; i < 16; i++)
			ring_copy(f, ch, i, 16, 32768, i == 15 ? CTL_COPY : 0,
				  iova(f, src(f) + shift + i * 32768 % (AREA / 2)),
				  iova(f, out + i * 32768));
		count = (uint16_t)(count + 16);
		doorbell(f, ch, count);
		if (wait_comp(f, ch, desc_iova(f, ch, 15) | IOAT_CHANSTS_DONE) !=
		    (desc_iova(f, ch, 15) | IOAT_CHANSTS_DONE))
			j->ok = false;
		for (unsigned int i = 0; i < 16 && j->ok; i++)
			j->ok = !memcmp(out + i * 32768, src(f) + shift + i * 32768 % (AREA / 2),
					32768);
		__atomic_store_n(comp(f, ch), 0, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void test_concurrent_channels(void **state)
{
	struct fixture *f = *state;
	struct chan_job jobs[NCHAN];
	pthread_t t[NCHAN];

	for (unsigned int ch = 0; ch < NCHAN; ch++)
		chan_start(f, ch, CTRL_DEFAULT);
	for (unsigned int ch = 0; ch < NCHAN; ch++) {
		jobs[ch] = (struct chan_job){ .f = f, .ch = ch };
		assert_int_equal(pthread_create(&t[ch], NULL, chan_worker, &jobs[ch]), 0);
	}
	for (unsigned int ch = 0; ch < NCHAN; ch++) {
		pthread_join(t[ch], NULL);
		assert_true(jobs[ch].ok);
		assert_int_equal(rd32(chan(f, ch), IOAT_CHANERR), 0);
	}
}

/* A transfer no single direct mapping covers takes the bounce path. */
static void test_copy_across_mappings(void **state)
{
	struct fixture *f = *state;
	const uint64_t io = 0x60000000ULL;
	uint8_t *a = src(f) + 0x10000, *b = src(f) + 0x80000;

	/* IOVA-contiguous, host-discontiguous: [io, io+64K) -> a, next 64K -> b. */
	dma_map(f, (uint64_t)(uintptr_t)a, io, 0x10000, VFIO_DMA_MAP_FLAG_READ);
	dma_map(f, (uint64_t)(uintptr_t)b, io + 0x10000, 0x10000, VFIO_DMA_MAP_FLAG_READ);
	chan_start(f, 0, CTRL_DEFAULT);
	memset(dst(f), 0, 0x20000);
	ring_copy(f, 0, 0, 4, 0x8000, CTL_COPY, io + 0xc000, iova(f, dst(f)));
	ring_copy(f, 0, 1, 4, 0x8000, CTL_COPY | (IOAT_OP_FILL << IOAT_DESC_OP_SHIFT),
		  0x0101010101010101ULL, iova(f, dst(f) + 0xfffc));
	doorbell(f, 0, 2);
	assert_int_equal(wait_comp(f, 0, desc_iova(f, 0, 1) | IOAT_CHANSTS_DONE),
			 desc_iova(f, 0, 1) | IOAT_CHANSTS_DONE);
	assert_memory_equal(dst(f), a + 0xc000, 0x4000);
	assert_memory_equal(dst(f) + 0x4000, b, 0x4000 - 4);
	assert_true(all_bytes(dst(f) + 0xfffc, 0x8000, 1));
}

/* ---- no lost stores under load ---------------------------------------------------------- */

#define LOAD_N		70000u		/* wraps the 16-bit DMACOUNT */
#define LOAD_RING	64u
#define LOAD_VAL(i)	((uint64_t)(i) * 0x9e3779b97f4a7c15ULL + 1)

struct load_check {
	struct fixture *f;
	uint64_t irqs;
	unsigned int landed;
};

/*
 * The checker: counts interrupts (every descriptor has one) and watches
 * each destination word take its value, in order.  A lost doorbell
 * leaves a word unwritten; a descriptor run twice shows as an extra
 * interrupt.
 */
static void *load_checker(void *arg)
{
	struct load_check *lc = arg;
	struct fixture *f = lc->f;
	const uint64_t *in = (const uint64_t *)(void *)src(f);
	const uint64_t *out = (const uint64_t *)(void *)dst(f);
	int64_t end = ms_now() + 60000;

	while ((lc->irqs < LOAD_N || lc->landed < LOAD_N) && ms_now() < end) {
		while (lc->landed < LOAD_N &&
		       __atomic_load_n(&out[lc->landed], __ATOMIC_ACQUIRE) == in[lc->landed])
			lc->landed++;
		lc->irqs += efd_wait(f->efd[0], 1);
	}
	return NULL;
}

/* Completed-descriptor count as a DPDK-style driver derives it. */
static unsigned int ring_done(struct fixture *f, unsigned int done)
{
	uint64_t last = comp_read(f, 0) & IOAT_CHANSTS_ADDR;
	unsigned int slot = (unsigned int)((last - desc_iova(f, 0, 0)) / IOAT_DESC_SIZE);

	return done + ((slot + 1 - done) & (LOAD_RING - 1));
}

static void test_no_lost_doorbells(void **state)
{
	struct fixture *f = *state;
	uint64_t *in = (uint64_t *)(void *)src(f);
	struct load_check lc = { .f = f };
	unsigned int done = 0, i = 0;
	uint64_t rng = 88172645463325252ULL;
	pthread_t checker;

	for (unsigned int k = 0; k < LOAD_N; k++)
		in[k] = LOAD_VAL(k);
	memset(dst(f), 0, LOAD_N * 8);
	chan_start(f, 0, CTRL_DEFAULT);
	/* Prime the write-back to "the last slot completed", as DPDK does. */
	*comp(f, 0) = desc_iova(f, 0, LOAD_RING - 1);
	assert_int_equal(pthread_create(&checker, NULL, load_checker, &lc), 0);
	while (i < LOAD_N) {
		unsigned int batch;

		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		batch = 1 + (unsigned int)(rng % 8);
		for (unsigned int b = 0; b < batch && i < LOAD_N; b++, i++) {
			int64_t end = ms_now() + TIMEOUT_MS;

			while (i - done >= LOAD_RING - 1 && ms_now() < end)
				done = ring_done(f, done);
			assert_true(i - done < LOAD_RING - 1);
			ring_copy(f, 0, i % LOAD_RING, LOAD_RING, 8,
				  CTL_COPY | IOAT_DESC_INT_EN, iova(f, &in[i]),
				  iova(f, dst(f) + 8 * i));
		}
		doorbell(f, 0, (uint16_t)i);
	}
	pthread_join(checker, NULL);
	assert_int_equal(lc.landed, LOAD_N);
	assert_int_equal(lc.irqs, LOAD_N);
	assert_int_equal(efd_wait(f->efd[0], 50), 0);
	assert_int_equal(chansts(f, 0),
			 desc_iova(f, 0, (LOAD_N - 1) % LOAD_RING) | IOAT_CHANSTS_DONE);
	assert_memory_equal(dst(f), src(f), LOAD_N * 8);
}

/* ---- topology ------------------------------------------------------------------------------ */

static void test_params(void **state)
{
	static const char *bad[] = {
		"{ \"channels\": 0 }", "{ \"channels\": 17 }", "{ \"xfercap\": 11 }",
		"{ \"channels\": \"4\" }", "{ \"speed\": 1 }",
	};
	char json[512], err[512];

	(void)state;
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		struct uvf_topology *t = NULL;
		struct uvf_host *h = host_new();

		snprintf(json, sizeof(json),
			 "{ \"pci\": [ { \"bdf\": \"0000:00:07.0\", \"model\": \"ioat\","
			 " \"iommu_group\": 7, \"params\": %s } ] }", bad[i]);
		assert_int_equal(topology_load_string(json, "<test>", &t, err, sizeof(err)), 0);
		assert_errno(host_load_topology(h, t, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "params"));
		topology_free(t);
		host_free(h);
	}
}

/* The default host carries an I/OAT device for DPDK to find. */
static void test_default_host(void **state)
{
	struct uvf_host *h = test_host_default();
	struct pci_dev *pdev = test_pdev(h, BDF);

	(void)state;
	assert_string_equal(pdev->model->name, "ioat");
	assert_int_equal(pdev->desc.vendor, IOAT_VENDOR_ID);
	assert_int_equal(pdev->desc.device, IOAT_DEVICE_SKX);
	assert_int_equal(pdev->desc.msix_vectors, 4);
	host_free(h);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_identity),
		T(test_config_error_registers),
		T(test_read_only_registers),
		T(test_copy_sizes),
		T(test_copy_bad_length),
		T(test_chained),
		T(test_self_linked),
		T(test_fill),
		T(test_null_and_fence),
		T(test_interrupts_exactly_once),
		T(test_error_unmapped_source),
		T(test_error_read_only_destination),
		T(test_error_descriptor_fetch),
		T(test_error_completion_address),
		T(test_error_bus_master_off),
		T(test_error_recovery),
		T(test_suspend_resume),
		T(test_reset_busy_channel),
		T(test_doorbell_by_pwrite),
		T(test_function_reset),
		T(test_concurrent_channels),
		T(test_copy_across_mappings),
		T(test_no_lost_doorbells),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_default_host),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
