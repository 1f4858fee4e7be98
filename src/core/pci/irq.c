// SPDX-License-Identifier: MIT
/*
 * Interrupt delivery of a function: the INTx pin, MSI and MSI-X as the
 * hardware generates them, up to the host's handlers (the sink).
 *
 *  - INTx is a level.  STATUS.INTERRUPT shows it; it is active (the host
 *    sees it) while asserted, not disabled by COMMAND.INTX_DISABLE and
 *    neither MSI nor MSI-X is enabled.  The sink hears each inactive ->
 *    active edge, as a level-triggered line whose handler masks it.
 *  - MSI: a vector beyond the enabled count aliases onto it (the function
 *    modifies only the low data bits it was granted); a masked vector sets
 *    its pending bit and is sent when unmasked.
 *  - MSI-X: the table and PBA live here.  A vector masked in its vector
 *    control word or by the function mask sets its PBA bit and is sent
 *    when both masks clear.  Leaving MSI-X mode drops pending messages.
 *  - A function in reset (pci_dev_reset_hw) raises nothing: a raise from
 *    the model meanwhile is dropped, not latched.
 *
 * Locking: pdev->lock covers the state; messages are collected under it
 * and handed to the sink after it is dropped, under sink_lock (read) so a
 * driver can remove its sink (write) knowing no call is in flight.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "pci.h"
#include "../base/bitmap.h"
#include "../base/log.h"

#define MSIX_MAX_VECTORS 2048

/* Messages to hand to the sink once pdev->lock is dropped. */
struct irq_batch {
	bool intx;
	bool any_msi;
	uint32_t msi;				/* MSI vectors */
	unsigned long msix[BITS_TO_LONGS(MSIX_MAX_VECTORS)];
};

static uint16_t cfg16(const struct pci_dev *pdev, unsigned int off)
{
	return (uint16_t)pci_cfg_read_locked(pdev, off, 2);
}

static uint32_t cfg32(const struct pci_dev *pdev, unsigned int off)
{
	return pci_cfg_read_locked(pdev, off, 4);
}

static void cfg_put(struct pci_dev *pdev, unsigned int off, unsigned int len, uint32_t v)
{
	for (unsigned int i = 0; i < len; i++)
		pdev->cfg[off + i] = (uint8_t)(v >> (8 * i));
}

unsigned int pci_msix_table_size(const struct pci_dev *pdev)
{
	return pdev->msix_cap ? pdev->desc.msix_vectors : 0;
}

static bool msi_enabled(const struct pci_dev *pdev)
{
	return pdev->msi_cap && (cfg16(pdev, pdev->msi_cap + PCI_MSI_FLAGS) & PCI_MSI_FLAGS_ENABLE);
}

static bool msix_enabled(const struct pci_dev *pdev)
{
	return pdev->msix_cap &&
	       (cfg16(pdev, pdev->msix_cap + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_ENABLE);
}

static bool msix_function_masked(const struct pci_dev *pdev)
{
	return cfg16(pdev, pdev->msix_cap + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_MASKALL;
}

static bool msix_entry_masked(const struct pci_dev *pdev, unsigned int v)
{
	return pdev->msix_table[v].ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT;
}

/* Offsets of the MSI mask and pending registers (maskable MSI only). */
static unsigned int msi_mask_reg(const struct pci_dev *pdev)
{
	uint16_t flags = cfg16(pdev, pdev->msi_cap + PCI_MSI_FLAGS);

	return pdev->msi_cap + ((flags & PCI_MSI_FLAGS_64BIT) ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32);
}

static bool msi_maskable(const struct pci_dev *pdev)
{
	return cfg16(pdev, pdev->msi_cap + PCI_MSI_FLAGS) & PCI_MSI_FLAGS_MASKBIT;
}

static unsigned int msi_enabled_vectors(const struct pci_dev *pdev)
{
	uint16_t flags = cfg16(pdev, pdev->msi_cap + PCI_MSI_FLAGS);

	return 1u << ((flags & PCI_MSI_FLAGS_QSIZE) >> 4);
}

int pci_irq_init(struct pci_dev *pdev)
{
	unsigned int nvec = pci_msix_table_size(pdev);

	if (!nvec)
		return 0;
	pdev->msix_table = calloc(nvec, sizeof(*pdev->msix_table));
	pdev->msix_pba = bitmap_zalloc(nvec);
	if (!pdev->msix_table || !pdev->msix_pba)
		return -ENOMEM;
	uvf_mutex_lock(&pdev->lock);
	pci_irq_reset_locked(pdev);
	uvf_mutex_unlock(&pdev->lock);
	return 0;
}

void pci_irq_free(struct pci_dev *pdev)
{
	free(pdev->msix_table);
	bitmap_free(pdev->msix_pba);
	pdev->msix_table = NULL;
	pdev->msix_pba = NULL;
}

void pci_irq_set_sink(struct pci_dev *pdev, const struct pci_irq_sink *sink, void *priv)
{
	uvf_write_lock(&pdev->sink_lock);
	pdev->sink = sink;
	pdev->sink_priv = priv;
	uvf_rw_unlock(&pdev->sink_lock);
}

void pci_irq_clear_sink(struct pci_dev *pdev)
{
	pci_irq_set_sink(pdev, NULL, NULL);
}

/* Entries come out of reset masked; the PBA is clear. */
void pci_irq_reset_locked(struct pci_dev *pdev)
{
	unsigned int nvec = pci_msix_table_size(pdev);

	pdev->intx_level = false;
	pdev->intx_active = false;
	for (unsigned int v = 0; v < nvec; v++) {
		memset(&pdev->msix_table[v], 0, sizeof(pdev->msix_table[v]));
		pdev->msix_table[v].ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT;
	}
	if (nvec)
		bitmap_clear(pdev->msix_pba, 0, nvec);
}

/* STATUS.INTERRUPT follows the pin; true on an inactive -> active edge. */
static bool intx_eval_locked(struct pci_dev *pdev)
{
	uint16_t status = cfg16(pdev, PCI_STATUS);
	bool active, edge;

	status &= ~PCI_STATUS_INTERRUPT;
	if (pdev->intx_level)
		status |= PCI_STATUS_INTERRUPT;
	cfg_put(pdev, PCI_STATUS, 2, status);
	active = pdev->intx_level && !(cfg16(pdev, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE) &&
		 !msi_enabled(pdev) && !msix_enabled(pdev);
	edge = active && !pdev->intx_active;
	pdev->intx_active = active;
	return edge;
}

/* Pending MSI vectors that may go now: clear their pending bits. */
static void msi_collect_locked(struct pci_dev *pdev, struct irq_batch *b)
{
	unsigned int reg;
	uint32_t ready;

	if (!msi_enabled(pdev) || !msi_maskable(pdev))
		return;
	reg = msi_mask_reg(pdev);
	ready = cfg32(pdev, reg + 4) & ~cfg32(pdev, reg);
	if (!ready)
		return;
	cfg_put(pdev, reg + 4, 4, cfg32(pdev, reg + 4) & ~ready);
	b->msi |= ready;
	b->any_msi = true;
}

static void msix_collect_locked(struct pci_dev *pdev, struct irq_batch *b)
{
	unsigned int nvec = pci_msix_table_size(pdev);

	if (!msix_enabled(pdev) || msix_function_masked(pdev))
		return;
	for (uint64_t v = find_next_bit(pdev->msix_pba, nvec, 0); v < nvec;
	     v = find_next_bit(pdev->msix_pba, nvec, v + 1)) {
		if (msix_entry_masked(pdev, (unsigned int)v))
			continue;
		clear_bit(v, pdev->msix_pba);
		set_bit(v, b->msix);
		b->any_msi = true;
	}
}

static void irq_deliver(struct pci_dev *pdev, const struct irq_batch *b)
{
	if (!b->intx && !b->any_msi)
		return;
	uvf_read_lock(&pdev->sink_lock);
	if (pdev->sink && b->intx && pdev->sink->intx)
		pdev->sink->intx(pdev->sink_priv);
	if (pdev->sink && b->any_msi && pdev->sink->msi) {
		for (unsigned int v = 0; v < 32; v++)
			if (b->msi & (1u << v))
				pdev->sink->msi(pdev->sink_priv, v);
		for (uint64_t v = find_next_bit(b->msix, MSIX_MAX_VECTORS, 0);
		     v < MSIX_MAX_VECTORS; v = find_next_bit(b->msix, MSIX_MAX_VECTORS, v + 1))
			pdev->sink->msi(pdev->sink_priv, (unsigned int)v);
	}
	uvf_rw_unlock(&pdev->sink_lock);
}

void pci_irq_update(struct pci_dev *pdev)
{
	struct irq_batch b;

	memset(&b, 0, sizeof(b));
	uvf_mutex_lock(&pdev->lock);
	if (pdev->msix_cap && !msix_enabled(pdev))
		bitmap_clear(pdev->msix_pba, 0, pci_msix_table_size(pdev));
	b.intx = intx_eval_locked(pdev);
	msi_collect_locked(pdev, &b);
	msix_collect_locked(pdev, &b);
	uvf_mutex_unlock(&pdev->lock);
	irq_deliver(pdev, &b);
}

static int raise_msix_locked(struct pci_dev *pdev, unsigned int v, struct irq_batch *b)
{
	if (v >= pci_msix_table_size(pdev))
		return -EINVAL;
	if (msix_function_masked(pdev) || msix_entry_masked(pdev, v)) {
		set_bit(v, pdev->msix_pba);
		return 0;
	}
	set_bit(v, b->msix);
	b->any_msi = true;
	return 0;
}

static int raise_msi_locked(struct pci_dev *pdev, unsigned int v, struct irq_batch *b)
{
	unsigned int reg;

	if (v >= pdev->desc.msi_vectors)
		return -EINVAL;
	v &= msi_enabled_vectors(pdev) - 1;
	if (msi_maskable(pdev)) {
		reg = msi_mask_reg(pdev);
		if (cfg32(pdev, reg) & (1u << v)) {
			cfg_put(pdev, reg + 4, 4, cfg32(pdev, reg + 4) | (1u << v));
			return 0;
		}
	}
	b->msi |= 1u << v;
	b->any_msi = true;
	return 0;
}

int pci_irq_raise(struct pci_dev *pdev, unsigned int vector)
{
	struct irq_batch b;
	int ret = 0;

	memset(&b, 0, sizeof(b));
	uvf_mutex_lock(&pdev->lock);
	if (pdev->in_reset) {
		/* Raised by work the reset discards: gone with it. */
	} else if (msix_enabled(pdev)) {
		ret = raise_msix_locked(pdev, vector, &b);
	} else if (msi_enabled(pdev)) {
		ret = raise_msi_locked(pdev, vector, &b);
	} else if (pdev->desc.interrupt_pin) {
		pdev->intx_level = true;
		b.intx = intx_eval_locked(pdev);
	} else {
		ret = -EINVAL;
	}
	uvf_mutex_unlock(&pdev->lock);
	irq_deliver(pdev, &b);
	return ret;
}

/*
 * The host flips DisINTx without the rest of a config write: masking can
 * never make anything deliverable, so pci_intx(pdev, false) is safe under
 * the driver's irqlock; unmasking may deliver INTx and is not.
 */
void pci_intx(struct pci_dev *pdev, bool enable)
{
	struct irq_batch b;
	uint16_t cmd;

	memset(&b, 0, sizeof(b));
	uvf_mutex_lock(&pdev->lock);
	cmd = cfg16(pdev, PCI_COMMAND) & ~PCI_COMMAND_INTX_DISABLE;
	if (!enable)
		cmd |= PCI_COMMAND_INTX_DISABLE;
	cfg_put(pdev, PCI_COMMAND, 2, cmd);
	b.intx = intx_eval_locked(pdev);
	uvf_mutex_unlock(&pdev->lock);
	irq_deliver(pdev, &b);
}

int pci_msi_mask_vector(struct pci_dev *pdev, unsigned int vector, bool masked)
{
	unsigned int reg;
	uint32_t mask;

	if (vector >= pdev->desc.msi_vectors)
		return -EINVAL;
	uvf_mutex_lock(&pdev->lock);
	if (!msi_maskable(pdev)) {
		uvf_mutex_unlock(&pdev->lock);
		return 0;
	}
	reg = msi_mask_reg(pdev);
	mask = cfg32(pdev, reg) & ~(1u << vector);
	if (masked)
		mask |= 1u << vector;
	cfg_put(pdev, reg, 4, mask);
	uvf_mutex_unlock(&pdev->lock);
	if (!masked)
		pci_irq_update(pdev);
	return 0;
}

void pci_irq_lower(struct pci_dev *pdev)
{
	uvf_mutex_lock(&pdev->lock);
	pdev->intx_level = false;
	intx_eval_locked(pdev);
	uvf_mutex_unlock(&pdev->lock);
}

void pci_report_error(struct pci_dev *pdev, uint32_t aer_uncor_status, bool fatal)
{
	uvf_mutex_lock(&pdev->lock);
	if (pdev->aer_cap) {
		unsigned int reg = pdev->aer_cap + PCI_ERR_UNCOR_STATUS;

		cfg_put(pdev, reg, 4, cfg32(pdev, reg) | aer_uncor_status);
	}
	if (pdev->exp_cap) {
		unsigned int reg = pdev->exp_cap + PCI_EXP_DEVSTA;

		cfg_put(pdev, reg, 2, cfg16(pdev, reg) |
			(fatal ? PCI_EXP_DEVSTA_FED : PCI_EXP_DEVSTA_NFED));
	}
	uvf_mutex_unlock(&pdev->lock);
	uvf_read_lock(&pdev->sink_lock);
	if (pdev->sink && pdev->sink->error)
		pdev->sink->error(pdev->sink_priv);
	uvf_rw_unlock(&pdev->sink_lock);
}

int pci_msix_mask_vector(struct pci_dev *pdev, unsigned int vector, bool masked)
{
	if (vector >= pci_msix_table_size(pdev))
		return -EINVAL;
	uvf_mutex_lock(&pdev->lock);
	if (masked)
		pdev->msix_table[vector].ctrl |= PCI_MSIX_ENTRY_CTRL_MASKBIT;
	else
		pdev->msix_table[vector].ctrl &= ~PCI_MSIX_ENTRY_CTRL_MASKBIT;
	uvf_mutex_unlock(&pdev->lock);
	if (!masked)
		pci_irq_update(pdev);
	return 0;
}

bool pci_msix_vector_masked(struct pci_dev *pdev, unsigned int vector)
{
	bool masked;

	if (vector >= pci_msix_table_size(pdev))
		return true;
	uvf_mutex_lock(&pdev->lock);
	masked = msix_entry_masked(pdev, vector);
	uvf_mutex_unlock(&pdev->lock);
	return masked;
}

bool pci_msix_pending(struct pci_dev *pdev, unsigned int vector)
{
	bool pending;

	if (vector >= pci_msix_table_size(pdev))
		return false;
	uvf_mutex_lock(&pdev->lock);
	pending = test_bit(vector, pdev->msix_pba);
	uvf_mutex_unlock(&pdev->lock);
	return pending;
}

/* ---- the MSI-X structures as BAR space ----------------------------------- */

static bool in_struct(uint64_t off, size_t len, uint64_t start, uint64_t size)
{
	return off >= start && off + len <= start + size;
}

static bool msix_table_hit(const struct pci_dev *pdev, unsigned int bar, uint64_t off,
			   size_t len)
{
	return pdev->msix_cap && bar == pdev->desc.msix_table_bar &&
	       in_struct(off, len, pdev->desc.msix_table_offset,
			 (uint64_t)pci_msix_table_size(pdev) * PCI_MSIX_ENTRY_SIZE);
}

static bool msix_pba_hit(const struct pci_dev *pdev, unsigned int bar, uint64_t off,
			 size_t len)
{
	return pdev->msix_cap && bar == pdev->desc.msix_pba_bar &&
	       in_struct(off, len, pdev->desc.msix_pba_offset,
			 BITS_TO_LONGS(pci_msix_table_size(pdev)) * sizeof(unsigned long));
}

/* Table and PBA are little-endian arrays; so is the host (x86-64). */
bool pci_msix_bar_read(struct pci_dev *pdev, unsigned int bar, uint64_t off, void *buf,
		       size_t len)
{
	if (msix_table_hit(pdev, bar, off, len)) {
		uvf_mutex_lock(&pdev->lock);
		memcpy(buf, (uint8_t *)pdev->msix_table + (off - pdev->desc.msix_table_offset),
		       len);
		uvf_mutex_unlock(&pdev->lock);
		return true;
	}
	if (msix_pba_hit(pdev, bar, off, len)) {
		uvf_mutex_lock(&pdev->lock);
		memcpy(buf, (uint8_t *)pdev->msix_pba + (off - pdev->desc.msix_pba_offset), len);
		uvf_mutex_unlock(&pdev->lock);
		return true;
	}
	return false;
}

/* Address and data are writable, of vector control only the mask bit; the
 * PBA is read-only. */
bool pci_msix_bar_write(struct pci_dev *pdev, unsigned int bar, uint64_t off,
			const void *buf, size_t len)
{
	const uint8_t *src = buf;

	if (msix_pba_hit(pdev, bar, off, len))
		return true;
	if (!msix_table_hit(pdev, bar, off, len))
		return false;
	uvf_mutex_lock(&pdev->lock);
	for (size_t i = 0; i < len; i++) {
		uint64_t rel = off + i - pdev->desc.msix_table_offset;
		uint8_t *dst = (uint8_t *)pdev->msix_table + rel;
		unsigned int field = rel % PCI_MSIX_ENTRY_SIZE;

		if (field < PCI_MSIX_ENTRY_VECTOR_CTRL)
			*dst = src[i];
		else if (field == PCI_MSIX_ENTRY_VECTOR_CTRL)
			*dst = (uint8_t)((*dst & ~PCI_MSIX_ENTRY_CTRL_MASKBIT) |
					 (src[i] & PCI_MSIX_ENTRY_CTRL_MASKBIT));
	}
	uvf_mutex_unlock(&pdev->lock);
	pci_irq_update(pdev);
	return true;
}
