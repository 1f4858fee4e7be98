// SPDX-License-Identifier: MIT
/*
 * ioat: an Intel I/OAT v3.3 DMA engine (CBDMA, 8086:2021) as Linux's
 * ioatdma and DPDK's dma/ioat drive it.  Register map: ioat_regs.h; what is
 * and is not modelled: docs/models.md.
 *
 * Identity: PCI Express Root Complex Integrated Endpoint, class 0x088000,
 * with PM, MSI-X (one vector per channel), AER, and the device's own
 * config registers DMAUNCERRSTS (0x148, RW1C), CHANERR_INT (0x180, RW1C:
 * every CHANERR bit a channel raises is logged here too) and
 * CHANERRMSK_INT (0x184).  No INTx or MSI: their handshake (ATTNSTATUS
 * cleared by a read) cannot be seen in a shared page.
 *
 * BAR0, 16 KiB, 64-bit, mmap-able, shared memory the driver maps whole:
 *   page 0     the registers: device-wide ones, then channel n at
 *              0x80 * (n + 1).
 *   pages 1-3  reserved (zero at power-on).
 * BAR2, 4 KiB, 64-bit, trapped: the MSI-X table (0x000) and PBA (0x800).
 * The real device keeps its MSI-X table in BAR0.  Here it has a BAR of its
 * own because a trapped page inside BAR0 would keep DPDK from mapping BAR0:
 * DPDK maps the MSI-X BAR whole when vfio-pci reports it MSIX_MAPPABLE.
 * Drivers find the table through the MSI-X capability, so none can tell.
 *
 * Seeing every store.  Drivers store to CHANCMD and DMACOUNT through their
 * mapping of BAR0 and busy-poll CHANSTS and the completion write-back, so
 * the registers live in the shared page and one thread per channel watches
 * its block.  A store to shared memory leaves no event, only a value; the
 * model loses none because every register the driver writes is one whose
 * latest value carries the meaning of all earlier stores, or is consumed
 * and cleared so that the next store changes it again:
 *   DMACOUNT   a count of descriptors handed to the device, modulo 2^16.
 *              Only its latest value matters: two stores between looks
 *              ask for the same work as the second alone, exactly as on
 *              hardware, where the engine runs up to the last count
 *              written.  The count can not run a full 2^16 ahead of the
 *              device, because a driver can not hand over more descriptors
 *              than its ring holds (and the ring never holds 2^16 pending),
 *              so (DMACOUNT - count) is never ambiguous.
 *   CHANCMD    a command byte the device consumes: it acts, then clears the
 *              byte with compare-and-swap, so a command stored meanwhile is
 *              seen at the next look.  A store of the same command before
 *              the clear merges with the command in progress, as a RESET
 *              written while RESET still reads set does on hardware.
 *   CHANERR    RW1C: the device keeps the value it published; any other
 *              value found there is a driver store W and becomes
 *              published & ~W.  Writing back exactly the value read is the
 *              one store that leaves no trace; both drivers follow it with
 *              a channel RESET, which clears CHANERR (a documented
 *              difference: real CHANERR is sticky).  CHANERR_INT in config
 *              space is trapped and exact.
 *   read-only registers (CHANSTS, CDAR, CHANCNT, ...) are put back if a
 *              driver stores over them.
 * The other registers (CHAINADDR, CHANCMP, CHANCTRL, ...) are plain values
 * read when the device needs them, as hardware latches them.  Stores reach
 * the device in program order (x86 TSO, or the driver's write barrier), so
 * a descriptor written before the DMACOUNT store that hands it over is
 * visible once that DMACOUNT is.
 *
 * A channel's thread polls continuously for SPIN_NS after its last piece
 * of work (yielding the CPU after YIELD_AFTER_NS, so that a driver sharing
 * it runs), then sleeps with a back-off up to SLEEP_MAX_NS: a store is
 * never lost while it sleeps, only seen later.
 *
 * Channel state machine (CHANSTS low bits):
 *   power-on: HALTED.  RESET: ARMED, count 0, DMACOUNT 0, CHANERR 0.
 *   ARMED + DMACOUNT moved: fetch from CHAINADDR, ACTIVE.
 *   ACTIVE: run descriptors until count == DMACOUNT, then DONE; DONE +
 *   DMACOUNT moved: continue at the 'next' of the last one.
 *   SUSPEND: SUSPENDED after the current descriptor; RESUME returns.
 *   An error: HALTED, CHANERR set, until RESET.
 * Real hardware reads HALTED after RESET until CHAINADDR is written; the
 * model arms at RESET because a CHAINADDR store that rewrites the value
 * already there leaves no trace in a shared page, and DPDK reads CHANSTS
 * right after writing CHAINADDR.
 *
 * State for migration: struct ioat_state plus the bytes of BAR0 are the
 * whole device; with every channel lock held they are still.
 *
 * Locking: chan->lock is held by the channel's thread while it looks at
 * its registers and runs descriptors, and by function reset; a reset takes
 * every channel's lock in index order (dev->in_reset tells a channel that
 * halts meanwhile not to log into config space, which the core has just
 * reset).  Interrupts and DMA are issued under
 * chan->lock (the model API allows it).  dev->sleep_lock only guards the
 * idle wait; it is taken with no channel lock held.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include "uvfio/pci_model.h"
#include "core/base/compiler.h"
#include "core/iommu/iommu.h"
#include "ioat_regs.h"
#include "models.h"

#define DEFAULT_CHANNELS	1
#define DEFAULT_XFERCAP		20	/* 1 MiB */
#define XFERCAP_MIN		12
#define XFERCAP_MAX		24
#define BOUNCE_SIZE		(64u * 1024)
#define RUN_BUDGET		64	/* descriptors between two looks at the registers */
#define SPIN_NS			(5000 * 1000LL)	/* DPDK stops 0.7-2 ms after its last op */
#define YIELD_AFTER_NS		(5 * 1000LL)
#define SLEEP_MIN_NS		(20 * 1000LL)
#define SLEEP_MAX_NS		(1000 * 1000LL)

#define IOAT_WRITABLE_INTRCTRL	(IOAT_INTRCTRL_MASTER_INT_EN | IOAT_INTRCTRL_MSIX_VECTOR_CONTROL)

/* What a channel remembers beyond its registers. */
struct ioat_chan_state {
	uint32_t status;	/* IOAT_CHANSTS_* */
	uint32_t status_before_suspend;
	uint16_t count;		/* descriptors taken since RESET (DMACOUNT space) */
	bool from_chainaddr;	/* the next fetch starts the chain at CHAINADDR */
	uint64_t next_desc;	/* IOVA of the next descriptor */
	uint64_t completed;	/* IOVA of the last completed descriptor; 0 after RESET */
	uint32_t chanerr;	/* CHANERR as last published */
	uint64_t cdar;		/* current descriptor address as published */
};

/* The device state that is not in BAR0. */
struct ioat_state {
	struct ioat_chan_state chan[IOAT_MAX_CHANNELS];
};

struct ioat_dev;

struct ioat_chan {
	struct ioat_dev *dev;
	unsigned int id;
	uint8_t *regs;			/* its block in the shared page */
	struct ioat_chan_state *st;	/* &dev->state.chan[id] */
	pthread_mutex_t lock;
	pthread_t thread;
	bool thread_running;
	uint8_t *bounce;		/* copies the direct path cannot take */
};

struct ioat_dev {
	struct pci_dev *pdev;
	uint8_t *bar;			/* BAR0 storage, the register file */
	unsigned int nchan;
	unsigned int xfercap;		/* log2 of the largest transfer */
	bool stop;
	int in_reset;			/* a function reset waits for the channels */
	pthread_mutex_t sleep_lock;
	pthread_cond_t wake;		/* stop or reset: cut an idle wait short */
	struct ioat_state state;
	struct ioat_chan chan[IOAT_MAX_CHANNELS];
};

/* ---- the shared register page -------------------------------------------- */

/*
 * Registers are little endian, like the host (x86 and arm64 as uvfio runs
 * them).  Accesses are single atomic loads and stores of the register's
 * width, as the driver's MMIO accessors make them.
 */
static uint8_t ld8(const uint8_t *r, unsigned int off)
{
	return __atomic_load_n(r + off, __ATOMIC_ACQUIRE);
}

static uint16_t ld16(const uint8_t *r, unsigned int off)
{
	return __atomic_load_n((const uint16_t *)(const void *)(r + off), __ATOMIC_ACQUIRE);
}

static uint32_t ld32(const uint8_t *r, unsigned int off)
{
	return __atomic_load_n((const uint32_t *)(const void *)(r + off), __ATOMIC_ACQUIRE);
}

static uint64_t ld64(const uint8_t *r, unsigned int off)
{
	return __atomic_load_n((const uint64_t *)(const void *)(r + off), __ATOMIC_ACQUIRE);
}

static void st8(uint8_t *r, unsigned int off, uint8_t v)
{
	__atomic_store_n(r + off, v, __ATOMIC_RELEASE);
}

static void st16(uint8_t *r, unsigned int off, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)(r + off), v, __ATOMIC_RELEASE);
}

static void st32(uint8_t *r, unsigned int off, uint32_t v)
{
	__atomic_store_n((uint32_t *)(void *)(r + off), v, __ATOMIC_RELEASE);
}

static void st64(uint8_t *r, unsigned int off, uint64_t v)
{
	__atomic_store_n((uint64_t *)(void *)(r + off), v, __ATOMIC_RELEASE);
}

static bool cas8(uint8_t *r, unsigned int off, uint8_t old, uint8_t new)
{
	return __atomic_compare_exchange_n(r + off, &old, new, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
}

static bool cas16(uint8_t *r, unsigned int off, uint16_t old, uint16_t new)
{
	return __atomic_compare_exchange_n((uint16_t *)(void *)(r + off), &old, new, false,
					   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static bool cas32(uint8_t *r, unsigned int off, uint32_t old, uint32_t new)
{
	return __atomic_compare_exchange_n((uint32_t *)(void *)(r + off), &old, new, false,
					   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- parameters and identity --------------------------------------------- */

static int param_uint(struct json_object *val, const char *key, unsigned int lo,
		      unsigned int hi, unsigned int *out, char *err, size_t errlen)
{
	int64_t n = json_object_get_int64(val);

	if (!json_object_is_type(val, json_type_int) || n < lo || n > hi) {
		snprintf(err, errlen, "params.%s: must be an integer in %u..%u", key, lo, hi);
		return -EINVAL;
	}
	*out = (unsigned int)n;
	return 0;
}

static int parse_params(struct json_object *params, unsigned int *nchan,
			unsigned int *xfercap, char *err, size_t errlen)
{
	int ret = 0;

	if (!params)
		return 0;
	if (!json_object_is_type(params, json_type_object)) {
		snprintf(err, errlen, "params: must be an object");
		return -EINVAL;
	}
	json_object_object_foreach(params, key, val) {
		if (!strcmp(key, "channels")) {
			ret = param_uint(val, key, 1, IOAT_MAX_CHANNELS, nchan, err, errlen);
		} else if (!strcmp(key, "xfercap")) {
			ret = param_uint(val, key, XFERCAP_MIN, XFERCAP_MAX, xfercap, err,
					 errlen);
		} else {
			snprintf(err, errlen, "params.%s: unknown parameter", key);
			ret = -EINVAL;
		}
		if (ret)
			return ret;
	}
	return 0;
}

/* Idle waits time out on CLOCK_MONOTONIC, immune to clock changes. */
static void cond_init_monotonic(pthread_cond_t *cond)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

static void describe(struct pci_model_desc *d, unsigned int nchan)
{
	d->vendor = d->subsystem_vendor = IOAT_VENDOR_ID;
	d->device = d->subsystem_device = IOAT_DEVICE_SKX;
	d->class_code = IOAT_CLASS;
	d->revision = 4;
	d->bars[0] = (struct pci_model_bar){
		.size = IOAT_BAR0_SIZE,
		.flags = PCI_MODEL_BAR_MEM64 | PCI_MODEL_BAR_MMAP,
	};
	d->bars[IOAT_MSIX_BAR] = (struct pci_model_bar){
		.size = IOAT_MSIX_BAR_SIZE,
		.flags = PCI_MODEL_BAR_MEM64,
	};
	d->pm = true;
	d->msix_vectors = nchan;
	d->msix_table_bar = IOAT_MSIX_BAR;
	d->msix_table_offset = IOAT_MSIX_TABLE_OFFSET;
	d->msix_pba_bar = IOAT_MSIX_BAR;
	d->msix_pba_offset = IOAT_MSIX_PBA_OFFSET;
	d->pcie = true;
	d->flr = true;
	d->aer = true;
	d->cfg_regs[0] = (struct pci_model_cfg_reg){
		.offset = IOAT_CFG_DMAUNCERRSTS, .size = 4, .w1cmask = 0xffffffff };
	d->cfg_regs[1] = (struct pci_model_cfg_reg){
		.offset = IOAT_CFG_CHANERR_INT, .size = 4, .w1cmask = 0xffffffff };
	d->cfg_regs[2] = (struct pci_model_cfg_reg){
		.offset = IOAT_CFG_CHANERRMSK_INT, .size = 4, .wmask = 0xffffffff };
	d->ncfg_regs = 3;
}

static int ioat_init(struct pci_dev *pdev, struct json_object *params,
		     struct pci_model_desc *d, char *err, size_t errlen)
{
	unsigned int nchan = DEFAULT_CHANNELS, xfercap = DEFAULT_XFERCAP;
	struct ioat_dev *m;
	int ret = parse_params(params, &nchan, &xfercap, err, errlen);

	if (ret)
		return ret;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->pdev = pdev;
	m->nchan = nchan;
	m->xfercap = xfercap;
	pthread_mutex_init(&m->sleep_lock, NULL);
	cond_init_monotonic(&m->wake);
	for (unsigned int i = 0; i < nchan; i++) {
		struct ioat_chan *c = &m->chan[i];

		c->dev = m;
		c->id = i;
		c->st = &m->state.chan[i];
		pthread_mutex_init(&c->lock, NULL);
	}
	pci_set_model_data(pdev, m);
	for (unsigned int i = 0; i < nchan; i++) {
		m->chan[i].bounce = malloc(BOUNCE_SIZE);
		if (!m->chan[i].bounce)
			return -ENOMEM;
	}
	describe(d, nchan);
	return 0;
}

/* ---- power-on values --------------------------------------------------------- */

static void publish_status(struct ioat_chan *c)
{
	st64(c->regs, IOAT_CHANSTS, c->st->completed | c->st->status);
}

/* The channel as RESET leaves it; the driver's settings stay. */
static void chan_reset_locked(struct ioat_chan *c)
{
	struct ioat_chan_state *st = c->st;

	st->status = IOAT_CHANSTS_ARMED;
	st->count = 0;
	st->from_chainaddr = true;
	st->next_desc = 0;
	st->completed = 0;
	st->chanerr = 0;
	st->cdar = 0;
	st16(c->regs, IOAT_DMACOUNT, 0);
	st32(c->regs, IOAT_CHANERR, 0);
	st64(c->regs, IOAT_CDAR, 0);
	publish_status(c);
}

/* Device-wide read-only registers. */
static void global_ro_values(const struct ioat_dev *m, uint8_t *r)
{
	r[IOAT_CHANCNT] = (uint8_t)m->nchan;
	r[IOAT_XFERCAP] = (uint8_t)m->xfercap;
	r[IOAT_CBVER] = IOAT_VERSION_3_3;
	memcpy(r + IOAT_DMACAPABILITY, &(uint32_t){ IOAT_CAP_FILL_BLOCK }, 4);
}

/* BAR0 at power-on; every channel lock held (or no thread yet). */
static void regs_power_on(struct ioat_dev *m)
{
	memset(m->bar, 0, IOAT_BAR0_SIZE);
	global_ro_values(m, m->bar);
	for (unsigned int i = 0; i < m->nchan; i++) {
		struct ioat_chan *c = &m->chan[i];

		c->regs = m->bar + IOAT_CHAN_BASE(i);
		memset(c->st, 0, sizeof(*c->st));
		c->st->status = IOAT_CHANSTS_HALTED;
		c->st->from_chainaddr = true;
		st16(c->regs, IOAT_DMA_COMP, IOAT_DMA_COMP_V2);
		publish_status(c);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* ---- DMA through the IOMMU ------------------------------------------------------ */

static struct uvf_device *dma_dev(struct ioat_chan *c)
{
	return pci_to_dev(c->dev->pdev);
}

/* Copy through the bounce buffer when no direct mapping covers a side. */
static uint32_t copy_bounced(struct ioat_chan *c, uint64_t src, uint64_t dst, uint32_t len)
{
	for (uint32_t off = 0; off < len; off += BOUNCE_SIZE) {
		uint32_t n = uvf_min(len - off, BOUNCE_SIZE);

		if (pci_dma_read(c->dev->pdev, src + off, c->bounce, n, NULL))
			return IOAT_CHANERR_SRC_ADDR;
		if (pci_dma_write(c->dev->pdev, dst + off, c->bounce, n, NULL))
			return IOAT_CHANERR_DEST_ADDR;
	}
	return 0;
}

/* Returns 0 or the CHANERR bit of the side that faulted. */
static uint32_t xfer_copy(struct ioat_chan *c, uint64_t src, uint64_t dst, uint32_t len)
{
	struct uvf_dma_map s, d;
	int ret;

	if (!pci_bus_master_enabled(c->dev->pdev))
		return IOAT_CHANERR_SRC_ADDR;
	ret = dma_map_direct(dma_dev(c), src, len, false, &s, NULL);
	if (ret == -EOPNOTSUPP)
		return copy_bounced(c, src, dst, len);
	if (ret)
		return IOAT_CHANERR_SRC_ADDR;
	ret = dma_map_direct(dma_dev(c), dst, len, true, &d, NULL);
	if (ret) {
		dma_unmap_direct(&s);
		if (ret == -EOPNOTSUPP)
			return copy_bounced(c, src, dst, len);
		return IOAT_CHANERR_DEST_ADDR;
	}
	memmove(d.ptr, s.ptr, len);
	dma_unmap_direct(&d);
	dma_unmap_direct(&s);
	return 0;
}

/* Block fill: the 8 pattern bytes repeated from dst on, the tail cut short. */
static void fill_pattern(uint8_t *p, uint32_t len, uint64_t pattern)
{
	uint8_t pat[8];

	memcpy(pat, &pattern, 8);
	for (uint32_t i = 0; i < len && i < 8; i++)
		p[i] = pat[i];
	for (uint32_t done = 8; done < len; done *= 2)
		memcpy(p + done, p, uvf_min(done, len - done));
}

static uint32_t xfer_fill(struct ioat_chan *c, uint64_t pattern, uint64_t dst, uint32_t len)
{
	struct uvf_dma_map d;
	int ret;

	if (!pci_bus_master_enabled(c->dev->pdev))
		return IOAT_CHANERR_DEST_ADDR;
	ret = dma_map_direct(dma_dev(c), dst, len, true, &d, NULL);
	if (!ret) {
		fill_pattern(d.ptr, len, pattern);
		dma_unmap_direct(&d);
		return 0;
	}
	if (ret != -EOPNOTSUPP)
		return IOAT_CHANERR_DEST_ADDR;
	/* BOUNCE_SIZE is a multiple of 8: every chunk starts on the pattern. */
	fill_pattern(c->bounce, uvf_min(len, BOUNCE_SIZE), pattern);
	for (uint32_t off = 0; off < len; off += BOUNCE_SIZE)
		if (pci_dma_write(c->dev->pdev, dst + off, c->bounce,
				  uvf_min(len - off, BOUNCE_SIZE), NULL))
			return IOAT_CHANERR_DEST_ADDR;
	return 0;
}

/*
 * The completion write-back: CHANSTS to CHANCMP, one aligned 8-byte store
 * so a driver polling it never reads half of it.  Returns 0 or -errno.
 */
static int write_completion(struct ioat_chan *c, uint64_t value)
{
	uint64_t addr = ld64(c->regs, IOAT_CHANCMP);
	struct uvf_dma_map map;
	int ret;

	if (!IS_ALIGNED(addr, 8))
		return -EINVAL;
	if (!pci_bus_master_enabled(c->dev->pdev))
		return -EPERM;
	ret = dma_map_direct(dma_dev(c), addr, 8, true, &map, NULL);
	if (ret == -EOPNOTSUPP)
		return pci_dma_write(c->dev->pdev, addr, &value, 8, NULL);
	if (ret)
		return ret;
	__atomic_store_n((uint64_t *)map.ptr, value, __ATOMIC_RELEASE);
	dma_unmap_direct(&map);
	return 0;
}

/* ---- interrupts and errors ---------------------------------------------------- */

static void chan_interrupt(struct ioat_chan *c)
{
	if (ld8(c->dev->bar, IOAT_INTRCTRL) & IOAT_INTRCTRL_MASTER_INT_EN)
		pci_irq_raise(c->dev->pdev, c->id);
}

/* A driver store to CHANERR (RW1C): any value but the published one. */
static bool chan_watch_chanerr(struct ioat_chan *c)
{
	uint32_t seen = ld32(c->regs, IOAT_CHANERR);
	uint32_t val = c->st->chanerr & ~seen;

	if (seen == c->st->chanerr)
		return false;
	if (cas32(c->regs, IOAT_CHANERR, seen, val))
		c->st->chanerr = val;
	return true;
}

static void chan_raise_chanerr(struct ioat_chan *c, uint32_t bits)
{
	for (;;) {
		chan_watch_chanerr(c);
		if (cas32(c->regs, IOAT_CHANERR, c->st->chanerr, c->st->chanerr | bits))
			break;
	}
	c->st->chanerr |= bits;
	/* Work a function reset cut short leaves no log behind the reset. */
	if (!__atomic_load_n(&c->dev->in_reset, __ATOMIC_ACQUIRE))
		pci_config_set_bits(c->dev->pdev, IOAT_CFG_CHANERR_INT, 4, bits);
}

/* Halt on an error: nothing more runs until RESET. */
static void chan_halt(struct ioat_chan *c, uint32_t err)
{
	uint16_t ctrl = ld16(c->regs, IOAT_CHANCTRL);

	c->st->status = IOAT_CHANSTS_HALTED;
	chan_raise_chanerr(c, err);
	/* CHANERR is complete before CHANSTS says HALTED: a driver that saw
	 * the halt reads every error it will get, the write-back's too. */
	if ((ctrl & IOAT_CHANCTRL_ERR_COMPLETION_EN) && !(err & IOAT_CHANERR_COMPLETION_ADDR) &&
	    write_completion(c, c->st->completed | IOAT_CHANSTS_HALTED))
		chan_raise_chanerr(c, IOAT_CHANERR_COMPLETION_ADDR);
	publish_status(c);
	if (ctrl & IOAT_CHANCTRL_ERR_INT_EN)
		chan_interrupt(c);
}

/* ---- descriptors ------------------------------------------------------------------ */

static uint32_t fetch_error(const struct ioat_chan *c)
{
	return c->st->from_chainaddr ? IOAT_CHANERR_CHAIN_ADDR_VALUE : IOAT_CHANERR_NEXT_ADDR;
}

static uint32_t desc_check(const struct ioat_chan *c, const struct ioat_hw_desc *d)
{
	unsigned int op = d->ctl >> IOAT_DESC_OP_SHIFT;

	if (op != IOAT_OP_COPY && op != IOAT_OP_FILL)
		return IOAT_CHANERR_CONTROL;
	if (!d->size || d->size > (1u << c->dev->xfercap))
		return IOAT_CHANERR_LENGTH;
	return 0;
}

static uint32_t desc_transfer(struct ioat_chan *c, const struct ioat_hw_desc *d)
{
	if (d->ctl & IOAT_DESC_NULL)
		return 0;
	if ((d->ctl >> IOAT_DESC_OP_SHIFT) == IOAT_OP_FILL)
		return xfer_fill(c, d->src, d->dst, d->size);
	return xfer_copy(c, d->src, d->dst, d->size);
}

/*
 * Run the descriptor at next_desc.  Fences need nothing: descriptors run
 * one after the other and each finishes before the next starts.  Returns 0
 * or the CHANERR bits that halt the channel.
 */
static uint32_t chan_run_one(struct ioat_chan *c)
{
	struct ioat_chan_state *st = c->st;
	uint64_t addr = st->next_desc;
	struct ioat_hw_desc d;
	uint32_t err;
	bool more;

	st->cdar = addr;
	st64(c->regs, IOAT_CDAR, addr);
	if (!IS_ALIGNED(addr, IOAT_DESC_SIZE))
		return st->from_chainaddr ? IOAT_CHANERR_CHAIN_ADDR_VALUE :
					    IOAT_CHANERR_NEXT_DESC_ALIGN;
	if (pci_dma_read(c->dev->pdev, addr, &d, sizeof(d), NULL))
		return fetch_error(c);
	err = desc_check(c, &d);
	if (!err)
		err = desc_transfer(c, &d);
	if (err)
		return err;
	st->from_chainaddr = false;
	st->next_desc = d.next;
	st->completed = addr;
	st->count++;
	more = ld16(c->regs, IOAT_DMACOUNT) != st->count;
	st->status = more ? IOAT_CHANSTS_ACTIVE : IOAT_CHANSTS_DONE;
	publish_status(c);
	if ((d.ctl & IOAT_DESC_COMPL_WRITE) && write_completion(c, addr | st->status))
		return IOAT_CHANERR_COMPLETION_ADDR;
	if (d.ctl & IOAT_DESC_INT_EN)
		chan_interrupt(c);
	return 0;
}

static bool chan_can_run(const struct ioat_chan_state *st)
{
	return st->status == IOAT_CHANSTS_ARMED || st->status == IOAT_CHANSTS_ACTIVE ||
	       st->status == IOAT_CHANSTS_DONE;
}

/* Run up to RUN_BUDGET descriptors DMACOUNT hands over; true if any ran. */
static bool chan_run(struct ioat_chan *c)
{
	struct ioat_chan_state *st = c->st;
	unsigned int budget = RUN_BUDGET;

	if (!chan_can_run(st) || ld16(c->regs, IOAT_DMACOUNT) == st->count)
		return false;
	if (st->status == IOAT_CHANSTS_ARMED) {
		st->next_desc = ld64(c->regs, IOAT_CHAINADDR);
		st->from_chainaddr = true;
	}
	st->status = IOAT_CHANSTS_ACTIVE;
	publish_status(c);
	while (budget-- && ld16(c->regs, IOAT_DMACOUNT) != st->count) {
		uint32_t err = chan_run_one(c);

		if (err) {
			chan_halt(c, err);
			break;
		}
		if (ld8(c->regs, IOAT_CHANCMD))
			break;		/* a command first */
	}
	return true;
}

/* ---- commands and register watch ----------------------------------------------- */

static void chan_command(struct ioat_chan *c, uint8_t cmd)
{
	struct ioat_chan_state *st = c->st;

	if (cmd & IOAT_CHANCMD_RESET) {
		chan_reset_locked(c);
		return;
	}
	if (cmd & IOAT_CHANCMD_ABORT) {
		if (st->status != IOAT_CHANSTS_HALTED) {
			st->status = IOAT_CHANSTS_HALTED;
			publish_status(c);
		}
		return;
	}
	if ((cmd & IOAT_CHANCMD_SUSPEND) && chan_can_run(st)) {
		st->status_before_suspend = st->status == IOAT_CHANSTS_ACTIVE ?
					    IOAT_CHANSTS_DONE : st->status;
		st->status = IOAT_CHANSTS_SUSPENDED;
		publish_status(c);
		return;
	}
	if ((cmd & IOAT_CHANCMD_RESUME) && st->status == IOAT_CHANSTS_SUSPENDED) {
		st->status = st->status_before_suspend;
		publish_status(c);
	}
	/* START and APPEND are v1/v2 commands: v3 takes work from DMACOUNT. */
}

/* CHANCMD: act, then consume the byte unless a new command replaced it. */
static bool chan_take_command(struct ioat_chan *c)
{
	uint8_t cmd = ld8(c->regs, IOAT_CHANCMD);

	if (!cmd)
		return false;
	chan_command(c, cmd);
	cas8(c->regs, IOAT_CHANCMD, cmd, 0);
	return true;
}

/* Read-only channel registers a driver stored over come back. */
static void chan_repair(struct ioat_chan *c)
{
	uint64_t sts = c->st->completed | c->st->status;

	if (ld64(c->regs, IOAT_CHANSTS) != sts)
		st64(c->regs, IOAT_CHANSTS, sts);
	if (ld64(c->regs, IOAT_CDAR) != c->st->cdar)
		st64(c->regs, IOAT_CDAR, c->st->cdar);
	if (ld16(c->regs, IOAT_DMA_COMP) != IOAT_DMA_COMP_V2)
		st16(c->regs, IOAT_DMA_COMP, IOAT_DMA_COMP_V2);
}

/* Device-wide read-only registers. */
static const struct { uint8_t off, width; } global_ro_regs[] = {
	{ IOAT_CHANCNT, 1 }, { IOAT_XFERCAP, 1 }, { IOAT_ATTNSTATUS, 4 }, { IOAT_CBVER, 1 },
	{ IOAT_CSSTATUS, 2 }, { IOAT_DMACAPABILITY, 4 }, { IOAT_DCAOFFSET, 2 },
};

static uint32_t ld_width(const uint8_t *r, unsigned int off, unsigned int width)
{
	return width == 1 ? ld8(r, off) : width == 2 ? ld16(r, off) : ld32(r, off);
}

static void st_width(uint8_t *r, unsigned int off, unsigned int width, uint32_t v)
{
	if (width == 1)
		st8(r, off, (uint8_t)v);
	else if (width == 2)
		st16(r, off, (uint16_t)v);
	else
		st32(r, off, v);
}

/* Device-wide registers a driver stored over, put back by channel 0. */
static void global_repair(struct ioat_dev *m)
{
	uint8_t want[IOAT_CHAN_BASE(0)] = { 0 };
	uint8_t intr = ld8(m->bar, IOAT_INTRCTRL);
	uint16_t delay = ld16(m->bar, IOAT_INTRDELAY);

	global_ro_values(m, want);
	for (size_t i = 0; i < ARRAY_SIZE(global_ro_regs); i++) {
		unsigned int off = global_ro_regs[i].off, w = global_ro_regs[i].width;
		uint32_t v = ld_width(want, off, w);

		if (ld_width(m->bar, off, w) != v)
			st_width(m->bar, off, w, v);
	}
	if (intr & ~IOAT_WRITABLE_INTRCTRL)
		cas8(m->bar, IOAT_INTRCTRL, intr, intr & IOAT_WRITABLE_INTRCTRL);
	if (delay & ~IOAT_INTRDELAY_MASK)
		cas16(m->bar, IOAT_INTRDELAY, delay, delay & IOAT_INTRDELAY_MASK);
}

/* One look at the channel's registers and a share of its work. */
static bool chan_poll(struct ioat_chan *c)
{
	bool busy = chan_take_command(c);

	busy |= chan_watch_chanerr(c);
	chan_repair(c);
	if (c->id == 0)
		global_repair(c->dev);
	busy |= chan_run(c);
	return busy;
}

/* ---- the channel thread -------------------------------------------------------- */

static bool dev_stopping(struct ioat_dev *m)
{
	return __atomic_load_n(&m->stop, __ATOMIC_ACQUIRE);
}

static void idle_sleep(struct ioat_dev *m, int64_t ns)
{
	struct timespec ts;
	int64_t until = now_ns() + ns;

	ts.tv_sec = until / 1000000000LL;
	ts.tv_nsec = until % 1000000000LL;
	pthread_mutex_lock(&m->sleep_lock);
	if (!m->stop)
		pthread_cond_timedwait(&m->wake, &m->sleep_lock, &ts);
	pthread_mutex_unlock(&m->sleep_lock);
}

static void *chan_thread(void *arg)
{
	struct ioat_chan *c = arg;
	struct ioat_dev *m = c->dev;
	int64_t last_work = now_ns() - SPIN_NS, sleep_ns = SLEEP_MIN_NS;

	while (!dev_stopping(m)) {
		bool busy;

		pthread_mutex_lock(&c->lock);
		busy = chan_poll(c);
		pthread_mutex_unlock(&c->lock);
		if (busy) {
			last_work = now_ns();
			sleep_ns = SLEEP_MIN_NS;
		} else if (now_ns() - last_work < SPIN_NS) {
			if (now_ns() - last_work > YIELD_AFTER_NS)
				sched_yield();
			else
				for (int i = 0; i < 16; i++)
					cpu_relax();
		} else {
			idle_sleep(m, sleep_ns);
			sleep_ns = uvf_min(sleep_ns * 2, SLEEP_MAX_NS);
		}
	}
	return NULL;
}

static void stop_threads(struct ioat_dev *m)
{
	pthread_mutex_lock(&m->sleep_lock);
	__atomic_store_n(&m->stop, true, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&m->wake);
	pthread_mutex_unlock(&m->sleep_lock);
	for (unsigned int i = 0; i < m->nchan; i++) {
		if (m->chan[i].thread_running)
			pthread_join(m->chan[i].thread, NULL);
		m->chan[i].thread_running = false;
	}
}

static int ioat_realize(struct pci_dev *pdev)
{
	struct ioat_dev *m = pci_model_data(pdev);

	m->bar = pci_bar_mem(pdev, 0);
	if (!m->bar)
		return -ENODEV;
	regs_power_on(m);
	for (unsigned int i = 0; i < m->nchan; i++) {
		if (pthread_create(&m->chan[i].thread, NULL, chan_thread, &m->chan[i]))
			return -EAGAIN;
		m->chan[i].thread_running = true;
	}
	return 0;
}

/* ---- the trapped BAR and resets ----------------------------------------------------- */

/* BAR2 beyond the MSI-X structures (which the core serves) reads zero. */
static void ioat_bar_read(struct pci_dev *pdev, unsigned int bar, uint64_t off, void *buf,
			  size_t len)
{
	memset(buf, 0, len);
}

static void ioat_bar_write(struct pci_dev *pdev, unsigned int bar, uint64_t off,
			   const void *buf, size_t len)
{
}

/* Function reset: every channel stopped between descriptors, power-on. */
static void ioat_reset(struct pci_dev *pdev)
{
	struct ioat_dev *m = pci_model_data(pdev);

	__atomic_add_fetch(&m->in_reset, 1, __ATOMIC_ACQ_REL);
	for (unsigned int i = 0; i < m->nchan; i++)
		pthread_mutex_lock(&m->chan[i].lock);
	regs_power_on(m);
	for (unsigned int i = m->nchan; i-- > 0;)
		pthread_mutex_unlock(&m->chan[i].lock);
	__atomic_sub_fetch(&m->in_reset, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_lock(&m->sleep_lock);
	pthread_cond_broadcast(&m->wake);
	pthread_mutex_unlock(&m->sleep_lock);
}

static void ioat_destroy(struct pci_dev *pdev)
{
	struct ioat_dev *m = pci_model_data(pdev);

	if (!m)
		return;
	stop_threads(m);
	for (unsigned int i = 0; i < m->nchan; i++) {
		free(m->chan[i].bounce);
		pthread_mutex_destroy(&m->chan[i].lock);
	}
	pthread_cond_destroy(&m->wake);
	pthread_mutex_destroy(&m->sleep_lock);
	free(m);
	pci_set_model_data(pdev, NULL);
}

const struct pci_model ioat_model = {
	.name = "ioat",
	.description = "Intel I/OAT v3.3 DMA engine (CBDMA)",
	.init = ioat_init,
	.realize = ioat_realize,
	.bar_read = ioat_bar_read,
	.bar_write = ioat_bar_write,
	.reset = ioat_reset,
	.destroy = ioat_destroy,
};
