// SPDX-License-Identifier: MIT
/*
 * uvfio-test: a small DMA engine that exercises the whole device path.
 *
 * Identity: vendor 0x7576 ("uv"; not a PCI-SIG assigned id, chosen to look
 * free), device 0x0001, class 0x00ff00 (unclassified), PCI Express (a Root
 * Complex Integrated Endpoint on bus 0), with PM, MSI (2 vectors, 64-bit,
 * maskable), MSI-X, INTA#, FLR, AER and a Device Serial Number.
 *
 * BAR0: 4 KiB, 64-bit, not prefetchable, not mmap-able: the registers
 *   0x00 MAGIC       RO  0x54465655 ("UVFT")
 *   0x04 VERSION     RO  0x00010000
 *   0x08 DMA_SRC     RW  64-bit source IOVA
 *   0x10 DMA_DST     RW  64-bit destination IOVA
 *   0x18 DMA_LEN     RW  bytes to copy, 1..1 MiB
 *   0x1c DOORBELL    WO  1: start the copy (dropped while busy)
 *   0x20 STATUS      RO  bit0 BUSY, bit1 DONE, bit2 ERROR (of the last copy)
 *   0x24 INTR        RW1C bit0 DONE, bit1 ERROR: interrupt causes; INTx is
 *                    asserted while any is set
 *   0x28 ERROR       RO  0 none, 1 DMA read fault, 2 DMA write fault,
 *                        3 bus mastering disabled, 4 bad length
 *   0x30 FAULT_IOVA  RO  64-bit: first IOVA that faulted
 *   0x38 COMPLETED   RO  copies completed since reset
 *   0x3c SCRATCH     RW  32 bits for the driver
 * BAR2: 16 KiB, 64-bit, prefetchable, mmap-able.  Its first page is
 *   trapped and holds the MSI-X table (offset 0) and PBA (0x800); pages
 *   1-3 are plain device memory shared with the user's mapping.
 *
 * A copy runs on the device's worker thread through the IOMMU (bus
 * mastering must be enabled), then signals vector 0 (done) or vector 1
 * (error) in MSI-X/MSI mode, or asserts INTx.  A fault latches ERROR and
 * FAULT_IOVA and stops the copy; nothing is written for a read fault of
 * the first chunk.  Reset stops a copy in flight and clears every register.
 *
 * Parameters: "msix_vectors" (2..128, default 4), "flr" (default true).
 *
 * Locking: m->lock protects the registers and the worker handshake; the
 * copy itself runs without it.  The completion interrupt is raised with it
 * held, so the result and its interrupt are one step for testdev_reset:
 * a reset that voids the copy also drops its interrupt.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "uvfio/pci_model.h"
#include "core/iommu/iommu.h"
#include "models.h"

#define TESTDEV_VENDOR		0x7576
#define TESTDEV_DEVICE		0x0001
#define TESTDEV_CLASS		0x00ff00

#define REG_MAGIC		0x00
#define REG_VERSION		0x04
#define REG_DMA_SRC		0x08
#define REG_DMA_DST		0x10
#define REG_DMA_LEN		0x18
#define REG_DOORBELL		0x1c
#define REG_STATUS		0x20
#define REG_INTR		0x24
#define REG_ERROR		0x28
#define REG_FAULT_IOVA		0x30
#define REG_COMPLETED		0x38
#define REG_SCRATCH		0x3c
#define REG_END			0x40

#define MAGIC			0x54465655u
#define VERSION			0x00010000u
#define STATUS_BUSY		1u
#define STATUS_DONE		2u
#define STATUS_ERROR		4u
#define INTR_DONE		1u
#define INTR_ERROR		2u
#define ERR_DMA_READ		1u
#define ERR_DMA_WRITE		2u
#define ERR_BUS_MASTER		3u
#define ERR_LENGTH		4u

#define VEC_DONE		0
#define VEC_ERROR		1
#define MAX_DMA_LEN		(1u << 20)
#define CHUNK			4096u

struct testdev {
	struct pci_dev *pdev;
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* work to do, or the worker went idle */
	pthread_t worker;
	bool worker_running;
	bool stop;
	bool go;			/* doorbell rung, not yet taken */
	bool active;			/* a copy is in flight (until its interrupt) */
	unsigned int generation;	/* bumped by reset: a copy in flight is void */
	/* registers */
	uint64_t src, dst, fault_iova;
	uint32_t len, status, intr, error, completed, scratch;
	uint8_t buf[CHUNK];
};

static int parse_params(struct json_object *params, unsigned int *vectors, bool *flr,
			char *err, size_t errlen)
{
	if (!params)
		return 0;
	if (!json_object_is_type(params, json_type_object)) {
		snprintf(err, errlen, "params: must be an object");
		return -EINVAL;
	}
	json_object_object_foreach(params, key, val) {
		if (!strcmp(key, "msix_vectors")) {
			int64_t n = json_object_get_int64(val);

			if (!json_object_is_type(val, json_type_int) || n < 2 || n > 128) {
				snprintf(err, errlen, "params.msix_vectors: must be an integer in 2..128");
				return -EINVAL;
			}
			*vectors = (unsigned int)n;
		} else if (!strcmp(key, "flr")) {
			if (!json_object_is_type(val, json_type_boolean)) {
				snprintf(err, errlen, "params.flr: must be true or false");
				return -EINVAL;
			}
			*flr = json_object_get_boolean(val);
		} else {
			snprintf(err, errlen, "params.%s: unknown parameter", key);
			return -EINVAL;
		}
	}
	return 0;
}

/* A serial number per function, stable across runs. */
static uint64_t serial_of(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 0x100000001b3ULL;
	return h | 1;
}

static int testdev_init(struct pci_dev *pdev, struct json_object *params,
			struct pci_model_desc *d, char *err, size_t errlen)
{
	unsigned int vectors = 4;
	bool flr = true;
	struct testdev *m;
	int ret = parse_params(params, &vectors, &flr, err, errlen);

	if (ret)
		return ret;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->pdev = pdev;
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	pci_set_model_data(pdev, m);

	d->vendor = d->subsystem_vendor = TESTDEV_VENDOR;
	d->device = d->subsystem_device = TESTDEV_DEVICE;
	d->class_code = TESTDEV_CLASS;
	d->revision = 1;
	d->interrupt_pin = 1;
	d->bars[0] = (struct pci_model_bar){ .size = 4096, .flags = PCI_MODEL_BAR_MEM64 };
	d->bars[2] = (struct pci_model_bar){
		.size = 16384,
		.flags = PCI_MODEL_BAR_MEM64 | PCI_MODEL_BAR_PREFETCH | PCI_MODEL_BAR_MMAP,
		.traps = { { .offset = 0, .size = 4096 } },
		.ntraps = 1,
	};
	d->pm = true;
	d->msi_vectors = 2;
	d->msi_64bit = true;
	d->msi_maskable = true;
	d->msix_vectors = vectors;
	d->msix_table_bar = 2;
	d->msix_table_offset = 0;
	d->msix_pba_bar = 2;
	d->msix_pba_offset = 0x800;
	d->pcie = true;
	d->flr = flr;
	d->aer = true;
	d->serial = serial_of(pci_name(pdev));
	return 0;
}

/* ---- the copy engine ------------------------------------------------------- */

static bool job_void(struct testdev *m, unsigned int gen)
{
	return __atomic_load_n(&m->generation, __ATOMIC_ACQUIRE) != gen;
}

/* Returns 0 or an ERR_* code with *fault_iova set. */
static uint32_t run_copy(struct testdev *m, uint64_t src, uint64_t dst, uint32_t len,
			 unsigned int gen, uint64_t *fault_iova)
{
	struct uvf_dma_fault fault;

	if (!len || len > MAX_DMA_LEN)
		return ERR_LENGTH;
	if (!pci_bus_master_enabled(m->pdev))
		return ERR_BUS_MASTER;
	for (uint32_t off = 0; off < len && !job_void(m, gen); off += CHUNK) {
		uint32_t n = len - off < CHUNK ? len - off : CHUNK;

		memset(&fault, 0, sizeof(fault));
		if (pci_dma_read(m->pdev, src + off, m->buf, n, &fault)) {
			*fault_iova = fault.iova;
			return fault.error == -EPERM && !pci_bus_master_enabled(m->pdev) ?
			       ERR_BUS_MASTER : ERR_DMA_READ;
		}
		if (pci_dma_write(m->pdev, dst + off, m->buf, n, &fault)) {
			*fault_iova = fault.iova;
			return fault.error == -EPERM && !pci_bus_master_enabled(m->pdev) ?
			       ERR_BUS_MASTER : ERR_DMA_WRITE;
		}
	}
	return 0;
}

/* Worker: take the job under the lock, copy without it, report under it. */
static void *testdev_worker(void *arg)
{
	struct testdev *m = arg;

	pthread_mutex_lock(&m->lock);
	while (!m->stop) {
		uint64_t src, dst, fault = 0;
		unsigned int gen, vec;
		uint32_t len, err;

		if (!m->go) {
			pthread_cond_wait(&m->cond, &m->lock);
			continue;
		}
		m->go = false;
		m->active = true;
		gen = m->generation;
		src = m->src;
		dst = m->dst;
		len = m->len;
		pthread_mutex_unlock(&m->lock);

		err = run_copy(m, src, dst, len, gen, &fault);

		pthread_mutex_lock(&m->lock);
		if (gen == m->generation) {
			m->status &= ~STATUS_BUSY;
			if (err) {
				m->status |= STATUS_ERROR;
				m->error = err;
				m->fault_iova = fault;
				m->intr |= INTR_ERROR;
				vec = VEC_ERROR;
			} else {
				m->status |= STATUS_DONE;
				m->completed++;
				m->intr |= INTR_DONE;
				vec = VEC_DONE;
			}
			/* Under the lock: a reset either voids the copy before
			 * this check or comes after the interrupt, never between. */
			pci_irq_raise(m->pdev, vec);
		}
		m->active = false;
		pthread_cond_broadcast(&m->cond);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

static int testdev_realize(struct pci_dev *pdev)
{
	struct testdev *m = pci_model_data(pdev);

	if (pthread_create(&m->worker, NULL, testdev_worker, m))
		return -EAGAIN;
	m->worker_running = true;
	return 0;
}

/* ---- registers ----------------------------------------------------------------- */

static void regs_snapshot(struct testdev *m, uint8_t *r)
{
	uint32_t dw[REG_END / 4] = { 0 };

	dw[REG_MAGIC / 4] = MAGIC;
	dw[REG_VERSION / 4] = VERSION;
	dw[REG_DMA_SRC / 4] = (uint32_t)m->src;
	dw[REG_DMA_SRC / 4 + 1] = (uint32_t)(m->src >> 32);
	dw[REG_DMA_DST / 4] = (uint32_t)m->dst;
	dw[REG_DMA_DST / 4 + 1] = (uint32_t)(m->dst >> 32);
	dw[REG_DMA_LEN / 4] = m->len;
	dw[REG_STATUS / 4] = m->status;
	dw[REG_INTR / 4] = m->intr;
	dw[REG_ERROR / 4] = m->error;
	dw[REG_FAULT_IOVA / 4] = (uint32_t)m->fault_iova;
	dw[REG_FAULT_IOVA / 4 + 1] = (uint32_t)(m->fault_iova >> 32);
	dw[REG_COMPLETED / 4] = m->completed;
	dw[REG_SCRATCH / 4] = m->scratch;
	memcpy(r, dw, sizeof(dw));
}

static void testdev_bar_read(struct pci_dev *pdev, unsigned int bar, uint64_t off, void *buf,
			     size_t len)
{
	struct testdev *m = pci_model_data(pdev);
	uint8_t regs[REG_END];

	memset(buf, 0, len);
	if (bar != 0 || off + len > REG_END)
		return;
	pthread_mutex_lock(&m->lock);
	regs_snapshot(m, regs);
	pthread_mutex_unlock(&m->lock);
	memcpy(buf, regs + off, len);
}

static void set_half(uint64_t *reg, bool high, uint32_t val)
{
	if (high)
		*reg = (*reg & 0xffffffffULL) | ((uint64_t)val << 32);
	else
		*reg = (*reg & ~0xffffffffULL) | val;
}

/* One dword write, m->lock held.  Returns true when INTx must drop. */
static bool reg_write32(struct testdev *m, unsigned int off, uint32_t val)
{
	switch (off) {
	case REG_DMA_SRC:
	case REG_DMA_SRC + 4:
		set_half(&m->src, off != REG_DMA_SRC, val);
		break;
	case REG_DMA_DST:
	case REG_DMA_DST + 4:
		set_half(&m->dst, off != REG_DMA_DST, val);
		break;
	case REG_DMA_LEN:
		m->len = val;
		break;
	case REG_DOORBELL:
		if ((val & 1) && !(m->status & STATUS_BUSY)) {
			m->status = STATUS_BUSY;
			m->error = 0;
			m->fault_iova = 0;
			m->go = true;
			pthread_cond_broadcast(&m->cond);
		}
		break;
	case REG_INTR:
		m->intr &= ~val;
		return !m->intr;
	case REG_SCRATCH:
		m->scratch = val;
		break;
	}
	return false;
}

static void testdev_bar_write(struct pci_dev *pdev, unsigned int bar, uint64_t off,
			      const void *buf, size_t len)
{
	struct testdev *m = pci_model_data(pdev);
	uint8_t regs[REG_END];
	bool lower = false;

	if (bar != 0 || off + len > REG_END)
		return;
	pthread_mutex_lock(&m->lock);
	/* Narrow writes merge into their dword; wide ones split into two. */
	regs_snapshot(m, regs);
	regs[REG_INTR] = regs[REG_INTR + 1] = regs[REG_INTR + 2] = regs[REG_INTR + 3] = 0;
	regs[REG_DOORBELL] = regs[REG_DOORBELL + 1] = 0;
	regs[REG_DOORBELL + 2] = regs[REG_DOORBELL + 3] = 0;
	memcpy(regs + off, buf, len);
	for (uint64_t dw = off & ~3ULL; dw < off + len; dw += 4) {
		uint32_t val;

		memcpy(&val, regs + dw, 4);
		lower |= reg_write32(m, (unsigned int)dw, val);
	}
	pthread_mutex_unlock(&m->lock);
	if (lower)
		pci_irq_lower(pdev);
}

/* Stop the copy in flight (its result is dropped), then power-on values. */
static void testdev_reset(struct pci_dev *pdev)
{
	struct testdev *m = pci_model_data(pdev);

	pthread_mutex_lock(&m->lock);
	__atomic_add_fetch(&m->generation, 1, __ATOMIC_RELEASE);
	m->go = false;
	while (m->active)
		pthread_cond_wait(&m->cond, &m->lock);
	m->src = m->dst = m->fault_iova = 0;
	m->len = m->status = m->intr = m->error = m->completed = m->scratch = 0;
	pthread_mutex_unlock(&m->lock);
	pci_irq_lower(pdev);
}

static void testdev_destroy(struct pci_dev *pdev)
{
	struct testdev *m = pci_model_data(pdev);

	if (!m)
		return;
	if (m->worker_running) {
		pthread_mutex_lock(&m->lock);
		m->stop = true;
		__atomic_add_fetch(&m->generation, 1, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&m->cond);
		pthread_mutex_unlock(&m->lock);
		pthread_join(m->worker, NULL);
	}
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m);
	pci_set_model_data(pdev, NULL);
}

const struct pci_model uvfio_test_model = {
	.name = "uvfio-test",
	.description = "uvfio test DMA engine",
	.init = testdev_init,
	.realize = testdev_realize,
	.bar_read = testdev_bar_read,
	.bar_write = testdev_bar_write,
	.reset = testdev_reset,
	.destroy = testdev_destroy,
};
