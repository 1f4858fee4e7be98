// SPDX-License-Identifier: MIT
/*
 * A function's own config space: what the hardware does with config reads
 * and writes.  Built once from the model's descriptor into a power-on image
 * with two byte masks, as a real function's register file behaves:
 *   wmask    bits a write changes (read-only bits are those outside it);
 *   w1cmask  bits a write of 1 clears (error status: STATUS, DevSta, AER).
 * BAR sizing falls out of wmask: the address bits below the BAR size are
 * read-only zero, so writing all ones reads back the size mask and flags.
 * A few registers act on write: PowerState (D1/D2 unsupported, ignored),
 * MSI Multiple Message Enable (clamped to the capable count), MSI-X enable,
 * and Initiate FLR in DevCtl, which resets the function and reads zero.
 *
 * Layout (all capabilities the model asks for, in this order):
 *   0x40 PM, then MSI, MSI-X and PCI Express in the standard space;
 *   0x100 AER (0x48 bytes reserved), then Device Serial Number;
 * then the model's own registers (cfg_regs) where it declares them.
 * A PCIe function on bus 0 is a Root Complex Integrated Endpoint (no link
 * registers), elsewhere an Endpoint with an x1 link, as QEMU models them.
 *
 * Locking: pdev->lock protects cfg[] and the interrupt state; side effects
 * that leave the function (interrupt delivery, the model's callbacks,
 * resets) run after it is dropped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pci.h"
#include "../base/bitmap.h"
#include "../base/compiler.h"
#include "../base/log.h"

/* Sizes reserved for each capability in our layout. */
#define PM_CAP_LEN		PCI_PM_SIZEOF
#define MSIX_CAP_LEN		PCI_CAP_MSIX_SIZEOF
#define EXP_CAP_LEN		0x3c
#define AER_CAP_LEN		0x48
#define DSN_CAP_LEN		PCI_EXT_CAP_DSN_SIZEOF

/* AER bits an endpoint implements: writable in mask/severity, RW1C in status. */
#define AER_UNCOR_BITS	(PCI_ERR_UNC_UND | PCI_ERR_UNC_DLP | PCI_ERR_UNC_SURPDN |	\
			 PCI_ERR_UNC_POISON_TLP | PCI_ERR_UNC_FCP |			\
			 PCI_ERR_UNC_COMP_TIME | PCI_ERR_UNC_COMP_ABORT |		\
			 PCI_ERR_UNC_UNX_COMP | PCI_ERR_UNC_RX_OVER |			\
			 PCI_ERR_UNC_MALF_TLP | PCI_ERR_UNC_ECRC | PCI_ERR_UNC_UNSUP |	\
			 PCI_ERR_UNC_ACSV | PCI_ERR_UNC_INTN)
#define AER_COR_BITS	(PCI_ERR_COR_RCVR | PCI_ERR_COR_BAD_TLP | PCI_ERR_COR_BAD_DLLP |	\
			 PCI_ERR_COR_REP_ROLL | PCI_ERR_COR_REP_TIMER |			\
			 PCI_ERR_COR_ADV_NFAT | PCI_ERR_COR_INTERNAL |			\
			 PCI_ERR_COR_LOG_OVER)
/* Spec defaults: severity of DLP, SURPDN, FCP, RX_OVER, MALF_TLP, INTN. */
#define AER_UNCOR_SEVER_DEFAULT	0x00462030u

#define DEVCTL_WRITABLE	(PCI_EXP_DEVCTL_CERE | PCI_EXP_DEVCTL_NFERE |		\
			 PCI_EXP_DEVCTL_FERE | PCI_EXP_DEVCTL_URRE |		\
			 PCI_EXP_DEVCTL_RELAX_EN | PCI_EXP_DEVCTL_PAYLOAD |	\
			 PCI_EXP_DEVCTL_EXT_TAG | PCI_EXP_DEVCTL_AUX_PME |	\
			 PCI_EXP_DEVCTL_NOSNOOP_EN | PCI_EXP_DEVCTL_READRQ)
#define DEVSTA_ERRORS	(PCI_EXP_DEVSTA_CED | PCI_EXP_DEVSTA_NFED |		\
			 PCI_EXP_DEVSTA_FED | PCI_EXP_DEVSTA_URD)
#define STATUS_ERRORS	(PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT |	\
			 PCI_STATUS_REC_TARGET_ABORT | PCI_STATUS_REC_MASTER_ABORT |	\
			 PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY)
#define COMMAND_WRITABLE (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |		\
			  PCI_COMMAND_PARITY | PCI_COMMAND_SERR |		\
			  PCI_COMMAND_INTX_DISABLE)

/* ---- little-endian field access on the byte arrays ---------------------- */

static uint32_t get_le(const uint8_t *a, unsigned int off, unsigned int len)
{
	uint32_t v = 0;

	for (unsigned int i = 0; i < len; i++)
		v |= (uint32_t)a[off + i] << (8 * i);
	return v;
}

static void put_le(uint8_t *a, unsigned int off, unsigned int len, uint32_t v)
{
	for (unsigned int i = 0; i < len; i++)
		a[off + i] = (uint8_t)(v >> (8 * i));
}

/* Initial value, writable bits and RW1C bits of one register. */
static void reg_init(struct pci_dev *pdev, unsigned int off, unsigned int len, uint32_t val,
		     uint32_t wmask, uint32_t w1c)
{
	put_le(pdev->cfg, off, len, val);
	put_le(pdev->wmask, off, len, wmask);
	put_le(pdev->w1cmask, off, len, w1c);
}

uint32_t pci_cfg_read_locked(const struct pci_dev *pdev, unsigned int off, unsigned int len)
{
	return get_le(pdev->cfg, off, len);
}

static bool cfg_access_ok(const struct pci_dev *pdev, unsigned int off, unsigned int len)
{
	if (len != 1 && len != 2 && len != 4)
		return false;
	return (off & (len - 1)) == 0 && off + len <= pdev->cfg_size;
}

/* ---- descriptor validation ---------------------------------------------- */

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static int validate_bar(const struct pci_model_desc *d, unsigned int i, char *err,
			size_t errlen)
{
	const struct pci_model_bar *b = &d->bars[i];

	if (!b->size)
		return 0;
	if (!is_pow2(b->size) || b->size < 16) {
		snprintf(err, errlen, "BAR%u: size %#llx is not a power of two >= 16", i,
			 (unsigned long long)b->size);
		return -EINVAL;
	}
	if (b->flags & PCI_MODEL_BAR_MEM64) {
		if (i == PCI_STD_NUM_BARS - 1 || d->bars[i + 1].size) {
			snprintf(err, errlen, "BAR%u: a 64-bit BAR needs the next slot free", i);
			return -EINVAL;
		}
	} else if (b->size > (1ULL << 31)) {
		snprintf(err, errlen, "BAR%u: a 32-bit BAR of %#llx bytes", i,
			 (unsigned long long)b->size);
		return -EINVAL;
	}
	if (!(b->flags & PCI_MODEL_BAR_MMAP))
		return 0;
	if (b->size < UVF_PAGE_SIZE || b->ntraps > PCI_MODEL_MAX_TRAPS) {
		snprintf(err, errlen, "BAR%u: an mmap BAR needs >= 4 KiB and <= %d traps", i,
			 PCI_MODEL_MAX_TRAPS);
		return -EINVAL;
	}
	for (unsigned int t = 0; t < b->ntraps; t++) {
		const struct pci_model_range *r = &b->traps[t];

		if (!r->size || !IS_ALIGNED(r->offset, UVF_PAGE_SIZE) ||
		    !IS_ALIGNED(r->size, UVF_PAGE_SIZE) || r->offset + r->size > b->size ||
		    r->offset + r->size < r->offset) {
			snprintf(err, errlen, "BAR%u: trap %u is not page-aligned inside the BAR",
				 i, t);
			return -EINVAL;
		}
	}
	return 0;
}

/* An MSI-X structure of 'len' bytes at bar/off must be inside the BAR and
 * never reach a client mapping. */
static bool msix_struct_trapped(const struct pci_model_desc *d, unsigned int bar,
				uint64_t off, uint64_t len)
{
	const struct pci_model_bar *b;

	if (bar >= PCI_STD_NUM_BARS)
		return false;
	b = &d->bars[bar];
	if (!b->size || off + len > b->size || !IS_ALIGNED(off, 8))
		return false;
	if (!(b->flags & PCI_MODEL_BAR_MMAP))
		return true;
	for (unsigned int t = 0; t < b->ntraps; t++)
		if (off >= b->traps[t].offset &&
		    off + len <= b->traps[t].offset + b->traps[t].size)
			return true;
	return false;
}

static int validate_desc(const struct pci_model_desc *d, char *err, size_t errlen)
{
	int ret;

	if (d->vendor == 0xffff || d->vendor == 0) {
		snprintf(err, errlen, "vendor id %#x is not valid", d->vendor);
		return -EINVAL;
	}
	if (d->interrupt_pin > 4) {
		snprintf(err, errlen, "interrupt pin %u is not 0..4", d->interrupt_pin);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < PCI_STD_NUM_BARS; i++) {
		ret = validate_bar(d, i, err, errlen);
		if (ret)
			return ret;
		if (d->bars[i].flags & PCI_MODEL_BAR_MEM64)
			i++;
	}
	if (d->msi_vectors && (!is_pow2(d->msi_vectors) || d->msi_vectors > 32)) {
		snprintf(err, errlen, "MSI: %u vectors is not a power of two <= 32",
			 d->msi_vectors);
		return -EINVAL;
	}
	if (d->msix_vectors > 2048) {
		snprintf(err, errlen, "MSI-X: %u vectors > 2048", d->msix_vectors);
		return -EINVAL;
	}
	if (d->msix_vectors &&
	    (!msix_struct_trapped(d, d->msix_table_bar, d->msix_table_offset,
				  d->msix_vectors * PCI_MSIX_ENTRY_SIZE) ||
	     !msix_struct_trapped(d, d->msix_pba_bar, d->msix_pba_offset,
				  BITS_TO_LONGS(d->msix_vectors) * 8))) {
		snprintf(err, errlen, "MSI-X: table and PBA must lie in trapped BAR space");
		return -EINVAL;
	}
	if ((d->flr || d->aer || d->serial) && !d->pcie) {
		snprintf(err, errlen, "FLR, AER and serial number need PCI Express");
		return -EINVAL;
	}
	return 0;
}

/* ---- BAR addresses ------------------------------------------------------- */

/*
 * Firmware-style assignment: each function gets a window, 256 MiB of 64-bit
 * space and 1 MiB below 4 GiB, and its BARs are packed in it largest first
 * at natural alignment.  The addresses only appear in sysfs 'resource' and
 * as the initial BAR values; nothing decodes them.
 */
static int assign_bar_addresses(struct pci_dev *pdev, char *err, size_t errlen)
{
	uint64_t id = ((uint64_t)pdev->busnr << 8) | pdev->devfn;
	uint64_t base64 = 0x4000000000ULL + (id << 28), end64 = base64 + (1ULL << 28);
	uint64_t base32 = 0x80000000ULL + ((uint64_t)(pdev->busnr % 6) << 28) +
			  ((uint64_t)pdev->devfn << 20);
	uint64_t end32 = base32 + (1ULL << 20);
	bool done[PCI_STD_NUM_BARS] = { false };

	for (;;) {
		struct pci_bar_state *b;
		int pick = -1;

		for (int i = 0; i < PCI_STD_NUM_BARS; i++)
			if (!done[i] && pdev->bars[i].size &&
			    (pick < 0 || pdev->bars[i].size > pdev->bars[pick].size))
				pick = i;
		if (pick < 0)
			return 0;
		done[pick] = true;
		b = &pdev->bars[pick];
		if (b->flags & PCI_MODEL_BAR_MEM64) {
			b->addr = ALIGN_UP(base64, b->size);
			base64 = b->addr + b->size;
		} else {
			b->addr = ALIGN_UP(base32, b->size);
			base32 = b->addr + b->size;
		}
		if (base64 > end64 || base32 > end32) {
			snprintf(err, errlen, "BAR%d: the BARs do not fit the function's window",
				 pick);
			return -ENOSPC;
		}
	}
}

/* The low bits of a memory BAR as the hardware reports them. */
uint32_t pci_bar_flag_bits(const struct pci_bar_state *b)
{
	uint32_t v = PCI_BASE_ADDRESS_SPACE_MEMORY;

	if (b->flags & PCI_MODEL_BAR_MEM64)
		v |= PCI_BASE_ADDRESS_MEM_TYPE_64;
	if (b->flags & PCI_MODEL_BAR_PREFETCH)
		v |= PCI_BASE_ADDRESS_MEM_PREFETCH;
	return v;
}

static void build_bars(struct pci_dev *pdev)
{
	for (unsigned int i = 0; i < PCI_STD_NUM_BARS; i++) {
		struct pci_bar_state *b = &pdev->bars[i];
		unsigned int off = PCI_BASE_ADDRESS_0 + 4 * i;
		uint64_t mask = ~(b->size - 1);

		if (!b->size)
			continue;
		reg_init(pdev, off, 4, (uint32_t)b->addr | pci_bar_flag_bits(b),
			 (uint32_t)mask & PCI_BASE_ADDRESS_MEM_MASK, 0);
		if (b->flags & PCI_MODEL_BAR_MEM64) {
			reg_init(pdev, off + 4, 4, (uint32_t)(b->addr >> 32),
				 (uint32_t)(mask >> 32), 0);
			i++;
		}
	}
}

/* ---- capabilities -------------------------------------------------------- */

struct cap_builder {
	unsigned int pos;		/* next free standard offset */
	unsigned int prev_next;		/* offset of the previous 'next' byte */
	unsigned int epos;		/* next free extended offset */
	unsigned int eprev;		/* offset of the previous ext header, 0 if none */
};

static unsigned int cap_add(struct pci_dev *pdev, struct cap_builder *cb, uint8_t id,
			    unsigned int len)
{
	unsigned int pos = cb->pos;

	pdev->cfg[cb->prev_next] = (uint8_t)pos;
	pdev->cfg[pos] = id;
	pdev->cfg[pos + 1] = 0;
	cb->prev_next = pos + PCI_CAP_LIST_NEXT;
	cb->pos = ALIGN_UP(pos + len, 4);
	return pos;
}

static unsigned int ext_cap_add(struct pci_dev *pdev, struct cap_builder *cb, uint16_t id,
				unsigned int version, unsigned int len)
{
	unsigned int pos = cb->epos;

	if (cb->eprev) {
		uint32_t hdr = get_le(pdev->cfg, cb->eprev, 4);

		put_le(pdev->cfg, cb->eprev, 4, (hdr & 0x000fffff) | (pos << 20));
	}
	put_le(pdev->cfg, pos, 4, id | (version << 16));
	cb->eprev = pos;
	cb->epos = ALIGN_UP(pos + len, 8);
	return pos;
}

static void build_pm(struct pci_dev *pdev, struct cap_builder *cb)
{
	unsigned int pos = cap_add(pdev, cb, PCI_CAP_ID_PM, PM_CAP_LEN);

	pdev->pm_cap = (uint8_t)pos;
	reg_init(pdev, pos + PCI_PM_PMC, 2, 3 /* version 1.2 */, 0, 0);
	/* NoSoftRst+: D3hot -> D0 keeps the function's state. */
	reg_init(pdev, pos + PCI_PM_CTRL, 2, PCI_PM_CTRL_NO_SOFT_RESET,
		 PCI_PM_CTRL_STATE_MASK, 0);
}

static void build_msi(struct pci_dev *pdev, struct cap_builder *cb)
{
	const struct pci_model_desc *d = &pdev->desc;
	unsigned int len = 10, pos, data, mask;
	uint16_t flags = (uint16_t)((__builtin_ctz(d->msi_vectors) << 1));
	uint32_t vecmask = d->msi_vectors == 32 ? 0xffffffffu : (1u << d->msi_vectors) - 1;

	if (d->msi_64bit) {
		flags |= PCI_MSI_FLAGS_64BIT;
		len += 4;
	}
	if (d->msi_maskable) {
		flags |= PCI_MSI_FLAGS_MASKBIT;
		len += 10;
	}
	pos = cap_add(pdev, cb, PCI_CAP_ID_MSI, len);
	pdev->msi_cap = (uint8_t)pos;
	reg_init(pdev, pos + PCI_MSI_FLAGS, 2, flags, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE,
		 0);
	reg_init(pdev, pos + PCI_MSI_ADDRESS_LO, 4, 0, 0xfffffffc, 0);
	if (d->msi_64bit) {
		reg_init(pdev, pos + PCI_MSI_ADDRESS_HI, 4, 0, 0xffffffff, 0);
		data = PCI_MSI_DATA_64;
		mask = PCI_MSI_MASK_64;
	} else {
		data = PCI_MSI_DATA_32;
		mask = PCI_MSI_MASK_32;
	}
	reg_init(pdev, pos + data, 2, 0, 0xffff, 0);
	if (d->msi_maskable)
		reg_init(pdev, pos + mask, 4, 0, vecmask, 0);	/* pending follows: RO */
}

static void build_msix(struct pci_dev *pdev, struct cap_builder *cb)
{
	const struct pci_model_desc *d = &pdev->desc;
	unsigned int pos = cap_add(pdev, cb, PCI_CAP_ID_MSIX, MSIX_CAP_LEN);

	pdev->msix_cap = (uint8_t)pos;
	reg_init(pdev, pos + PCI_MSIX_FLAGS, 2, d->msix_vectors - 1,
		 PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL, 0);
	reg_init(pdev, pos + PCI_MSIX_TABLE, 4, d->msix_table_offset | d->msix_table_bar, 0, 0);
	reg_init(pdev, pos + PCI_MSIX_PBA, 4, d->msix_pba_offset | d->msix_pba_bar, 0, 0);
}

static void build_exp(struct pci_dev *pdev, struct cap_builder *cb)
{
	bool rc_end = pdev->busnr == 0;
	unsigned int pos = cap_add(pdev, cb, PCI_CAP_ID_EXP, EXP_CAP_LEN);
	uint32_t devcap = 1 /* MPS 256 */ | PCI_EXP_DEVCAP_EXT_TAG | PCI_EXP_DEVCAP_RBER;
	uint16_t type = rc_end ? PCI_EXP_TYPE_RC_END : PCI_EXP_TYPE_ENDPOINT;

	if (pdev->desc.flr)
		devcap |= PCI_EXP_DEVCAP_FLR;
	pdev->exp_cap = (uint8_t)pos;
	reg_init(pdev, pos + PCI_EXP_FLAGS, 2, 2 | (type << 4), 0, 0);
	reg_init(pdev, pos + PCI_EXP_DEVCAP, 4, devcap, 0, 0);
	/* Spec defaults: relaxed ordering and no-snoop enabled, MRRS 512. */
	reg_init(pdev, pos + PCI_EXP_DEVCTL, 2,
		 PCI_EXP_DEVCTL_RELAX_EN | PCI_EXP_DEVCTL_NOSNOOP_EN | 0x2000,
		 DEVCTL_WRITABLE, 0);
	reg_init(pdev, pos + PCI_EXP_DEVSTA, 2, 0, 0, DEVSTA_ERRORS);
	reg_init(pdev, pos + PCI_EXP_DEVCTL2, 2, 0,
		 PCI_EXP_DEVCTL2_COMP_TIMEOUT | PCI_EXP_DEVCTL2_COMP_TMOUT_DIS, 0);
	if (rc_end)
		return;
	reg_init(pdev, pos + PCI_EXP_LNKCAP, 4, PCI_EXP_LNKCAP_SLS_2_5GB | 0x10 /* x1 */, 0,
		 0);
	reg_init(pdev, pos + PCI_EXP_LNKCTL, 2, 0,
		 PCI_EXP_LNKCTL_ASPMC | PCI_EXP_LNKCTL_CCC | PCI_EXP_LNKCTL_ES, 0);
	reg_init(pdev, pos + PCI_EXP_LNKSTA, 2, PCI_EXP_LNKSTA_CLS_2_5GB | 0x10, 0, 0);
	reg_init(pdev, pos + PCI_EXP_LNKCAP2, 4, PCI_EXP_LNKCAP2_SLS_2_5GB, 0, 0);
	reg_init(pdev, pos + PCI_EXP_LNKCTL2, 2, PCI_EXP_LNKCTL2_TLS_2_5GT, 0, 0);
}

static void build_aer(struct pci_dev *pdev, struct cap_builder *cb)
{
	unsigned int pos = ext_cap_add(pdev, cb, PCI_EXT_CAP_ID_ERR, 2, AER_CAP_LEN);

	pdev->aer_cap = (uint16_t)pos;
	reg_init(pdev, pos + PCI_ERR_UNCOR_STATUS, 4, 0, 0, AER_UNCOR_BITS);
	reg_init(pdev, pos + PCI_ERR_UNCOR_MASK, 4, 0, AER_UNCOR_BITS, 0);
	reg_init(pdev, pos + PCI_ERR_UNCOR_SEVER, 4, AER_UNCOR_SEVER_DEFAULT, AER_UNCOR_BITS, 0);
	reg_init(pdev, pos + PCI_ERR_COR_STATUS, 4, 0, 0, AER_COR_BITS);
	reg_init(pdev, pos + PCI_ERR_COR_MASK, 4, PCI_ERR_COR_ADV_NFAT, AER_COR_BITS, 0);
}

static void build_dsn(struct pci_dev *pdev, struct cap_builder *cb)
{
	unsigned int pos = ext_cap_add(pdev, cb, PCI_EXT_CAP_ID_DSN, 1, DSN_CAP_LEN);

	pdev->dsn_cap = (uint16_t)pos;
	put_le(pdev->cfg, pos + 4, 4, (uint32_t)pdev->desc.serial);
	put_le(pdev->cfg, pos + 8, 4, (uint32_t)(pdev->desc.serial >> 32));
}

/*
 * The model's own registers, after every capability so none overlaps one;
 * with no extended capability, 0x100 keeps its empty header.
 */
static int build_model_regs(struct pci_dev *pdev, const struct cap_builder *cb, char *err,
			    size_t errlen)
{
	const struct pci_model_desc *d = &pdev->desc;

	if (d->ncfg_regs > PCI_MODEL_MAX_CFG_REGS) {
		snprintf(err, errlen, "%u config registers > %d", d->ncfg_regs,
			 PCI_MODEL_MAX_CFG_REGS);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < d->ncfg_regs; i++) {
		const struct pci_model_cfg_reg *r = &d->cfg_regs[i];
		unsigned int first_free = r->offset < PCI_CFG_SPACE_SIZE ? cb->pos :
					  (cb->eprev ? cb->epos : PCI_CFG_SPACE_SIZE + 4);

		if ((r->size != 1 && r->size != 2 && r->size != 4) ||
		    !IS_ALIGNED(r->offset, r->size) || r->offset < first_free ||
		    r->offset + r->size > pdev->cfg_size) {
			snprintf(err, errlen, "config register %u at %#x: not a free, aligned "
				 "1, 2 or 4 bytes after the capabilities", i, r->offset);
			return -EINVAL;
		}
		reg_init(pdev, r->offset, r->size, r->value, r->wmask, r->w1cmask);
	}
	return 0;
}

static void build_header(struct pci_dev *pdev)
{
	const struct pci_model_desc *d = &pdev->desc;

	reg_init(pdev, PCI_VENDOR_ID, 2, d->vendor, 0, 0);
	reg_init(pdev, PCI_DEVICE_ID, 2, d->device, 0, 0);
	reg_init(pdev, PCI_COMMAND, 2, 0, COMMAND_WRITABLE, 0);
	reg_init(pdev, PCI_STATUS, 2, 0, 0, STATUS_ERRORS);
	reg_init(pdev, PCI_CLASS_REVISION, 4, (d->class_code << 8) | d->revision, 0, 0);
	reg_init(pdev, PCI_CACHE_LINE_SIZE, 1, 0, 0xff, 0);
	reg_init(pdev, PCI_HEADER_TYPE, 1, PCI_HEADER_TYPE_NORMAL, 0, 0);
	reg_init(pdev, PCI_SUBSYSTEM_VENDOR_ID, 2, d->subsystem_vendor, 0, 0);
	reg_init(pdev, PCI_SUBSYSTEM_ID, 2, d->subsystem_device, 0, 0);
	reg_init(pdev, PCI_INTERRUPT_LINE, 1, d->interrupt_pin ? pdev->irq : 0, 0xff, 0);
	reg_init(pdev, PCI_INTERRUPT_PIN, 1, d->interrupt_pin, 0, 0);
}

int pci_config_build(struct pci_dev *pdev, char *err, size_t errlen)
{
	const struct pci_model_desc *d = &pdev->desc;
	struct cap_builder cb = {
		.pos = PCI_STD_HEADER_SIZEOF,
		.prev_next = PCI_CAPABILITY_LIST,
		.epos = PCI_CFG_SPACE_SIZE,
	};
	int ret = validate_desc(d, err, errlen);

	if (ret)
		return ret;
	pdev->cfg_size = d->pcie ? PCI_CFG_SPACE_EXP_SIZE : PCI_CFG_SPACE_SIZE;
	for (unsigned int i = 0; i < PCI_STD_NUM_BARS; i++) {
		pdev->bars[i].size = d->bars[i].size;
		pdev->bars[i].flags = d->bars[i].flags;
	}
	ret = assign_bar_addresses(pdev, err, errlen);
	if (ret)
		return ret;
	build_header(pdev);
	build_bars(pdev);
	if (d->pm)
		build_pm(pdev, &cb);
	if (d->msi_vectors)
		build_msi(pdev, &cb);
	if (d->msix_vectors)
		build_msix(pdev, &cb);
	if (d->pcie)
		build_exp(pdev, &cb);
	if (cb.pos > PCI_STD_HEADER_SIZEOF)
		put_le(pdev->cfg, PCI_STATUS, 2, PCI_STATUS_CAP_LIST);
	if (d->aer)
		build_aer(pdev, &cb);
	if (d->serial)
		build_dsn(pdev, &cb);
	ret = build_model_regs(pdev, &cb, err, errlen);
	if (ret)
		return ret;
	memcpy(pdev->cfg_reset, pdev->cfg, sizeof(pdev->cfg));
	return pci_irq_init(pdev);
}

void pci_config_free(struct pci_dev *pdev)
{
	pci_irq_free(pdev);
}

/* ---- capability lookup --------------------------------------------------- */

unsigned int pci_find_capability(struct pci_dev *pdev, uint8_t id)
{
	unsigned int pos, found = 0;
	int ttl = 48;

	uvf_mutex_lock(&pdev->lock);
	pos = pdev->cfg[PCI_CAPABILITY_LIST] & ~3u;
	if (!(get_le(pdev->cfg, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST))
		pos = 0;
	while (pos >= PCI_STD_HEADER_SIZEOF && ttl--) {
		if (pdev->cfg[pos] == id) {
			found = pos;
			break;
		}
		pos = pdev->cfg[pos + PCI_CAP_LIST_NEXT] & ~3u;
	}
	uvf_mutex_unlock(&pdev->lock);
	return found;
}

unsigned int pci_find_ext_capability(struct pci_dev *pdev, uint16_t id)
{
	unsigned int pos = PCI_CFG_SPACE_SIZE, found = 0;
	int ttl = (PCI_CFG_SPACE_EXP_SIZE - PCI_CFG_SPACE_SIZE) / 8;

	if (pdev->cfg_size <= PCI_CFG_SPACE_SIZE)
		return 0;
	uvf_mutex_lock(&pdev->lock);
	while (pos >= PCI_CFG_SPACE_SIZE && ttl--) {
		uint32_t hdr = get_le(pdev->cfg, pos, 4);

		if (!hdr)
			break;
		if (PCI_EXT_CAP_ID(hdr) == id) {
			found = pos;
			break;
		}
		pos = PCI_EXT_CAP_NEXT(hdr);
	}
	uvf_mutex_unlock(&pdev->lock);
	return found;
}

/* ---- reads and writes ---------------------------------------------------- */

uint32_t pci_cfg_read(struct pci_dev *pdev, unsigned int off, unsigned int len)
{
	uint32_t v;

	if (!cfg_access_ok(pdev, off, len))
		return len >= 4 ? 0xffffffffu : (1u << (8 * len)) - 1;
	uvf_mutex_lock(&pdev->lock);
	v = get_le(pdev->cfg, off, len);
	uvf_mutex_unlock(&pdev->lock);
	return v;
}

int pci_config_set_bits(struct pci_dev *pdev, unsigned int off, unsigned int len,
			uint32_t bits)
{
	const struct pci_model_desc *d = &pdev->desc;

	if (!cfg_access_ok(pdev, off, len))
		return -EINVAL;
	for (unsigned int i = 0; i < d->ncfg_regs; i++) {
		const struct pci_model_cfg_reg *r = &d->cfg_regs[i];

		if (off < r->offset || off + len > (unsigned int)r->offset + r->size)
			continue;
		uvf_mutex_lock(&pdev->lock);
		put_le(pdev->cfg, off, len, get_le(pdev->cfg, off, len) | bits);
		uvf_mutex_unlock(&pdev->lock);
		return 0;
	}
	return -EINVAL;
}

static bool range_has(unsigned int off, unsigned int len, unsigned int reg, unsigned int rlen)
{
	return off < reg + rlen && reg < off + len;
}

/* Registers that act on write; returns true when an FLR was initiated. */
static bool cfg_write_effects(struct pci_dev *pdev, unsigned int off, unsigned int len,
			      uint32_t val, uint16_t old_pmcsr)
{
	bool flr = false;

	if (pdev->pm_cap && range_has(off, len, pdev->pm_cap + PCI_PM_CTRL, 2)) {
		unsigned int reg = pdev->pm_cap + PCI_PM_CTRL;
		uint16_t v = (uint16_t)get_le(pdev->cfg, reg, 2);
		unsigned int state = v & PCI_PM_CTRL_STATE_MASK;

		if (state == 1 || state == 2)	/* D1/D2 unsupported: ignored */
			put_le(pdev->cfg, reg, 2, (v & ~PCI_PM_CTRL_STATE_MASK) |
			       (old_pmcsr & PCI_PM_CTRL_STATE_MASK));
	}
	if (pdev->msi_cap && range_has(off, len, pdev->msi_cap + PCI_MSI_FLAGS, 2)) {
		unsigned int reg = pdev->msi_cap + PCI_MSI_FLAGS;
		uint16_t v = (uint16_t)get_le(pdev->cfg, reg, 2);
		unsigned int mmc = (v & PCI_MSI_FLAGS_QMASK) >> 1;

		if ((unsigned int)((v & PCI_MSI_FLAGS_QSIZE) >> 4) > mmc)
			put_le(pdev->cfg, reg, 2, (v & ~PCI_MSI_FLAGS_QSIZE) | (mmc << 4));
	}
	if (pdev->exp_cap && range_has(off, len, pdev->exp_cap + PCI_EXP_DEVCTL + 1, 1)) {
		unsigned int shift = 8 * (pdev->exp_cap + PCI_EXP_DEVCTL + 1 - off);

		flr = ((val >> shift) & (PCI_EXP_DEVCTL_BCR_FLR >> 8)) && pdev->desc.flr;
	}
	return flr;
}

static void cfg_write_bytes_locked(struct pci_dev *pdev, unsigned int off, unsigned int len,
				   uint32_t val)
{
	for (unsigned int i = 0; i < len; i++) {
		unsigned int a = off + i;
		uint8_t b = (uint8_t)(val >> (8 * i));

		pdev->cfg[a] = (uint8_t)((pdev->cfg[a] & ~pdev->wmask[a]) | (b & pdev->wmask[a]));
		pdev->cfg[a] &= (uint8_t)~(b & pdev->w1cmask[a]);
	}
}

void pci_cfg_write(struct pci_dev *pdev, unsigned int off, unsigned int len, uint32_t val)
{
	uint16_t old_pmcsr = 0;
	bool flr;

	if (!cfg_access_ok(pdev, off, len))
		return;
	uvf_mutex_lock(&pdev->lock);
	if (pdev->pm_cap)
		old_pmcsr = (uint16_t)get_le(pdev->cfg, pdev->pm_cap + PCI_PM_CTRL, 2);
	cfg_write_bytes_locked(pdev, off, len, val);
	flr = cfg_write_effects(pdev, off, len, val, old_pmcsr);
	uvf_mutex_unlock(&pdev->lock);
	if (flr) {
		pci_dev_reset_hw(pdev);
		return;
	}
	pci_irq_update(pdev);
	if (pdev->realized && pdev->model->config_write)
		pdev->model->config_write(pdev, off, len);
}

/* Read-modify-write of a register without RW1C bits (COMMAND, PMCSR). */
static void cfg_update16(struct pci_dev *pdev, unsigned int off, uint16_t clear, uint16_t set)
{
	uint16_t v;

	uvf_mutex_lock(&pdev->lock);
	v = (uint16_t)get_le(pdev->cfg, off, 2);
	uvf_mutex_unlock(&pdev->lock);
	pci_cfg_write(pdev, off, 2, (v & ~clear) | set);
}

void pci_enable_device(struct pci_dev *pdev)
{
	cfg_update16(pdev, PCI_COMMAND, 0, PCI_COMMAND_MEMORY);
}

void pci_disable_device(struct pci_dev *pdev)
{
	cfg_update16(pdev, PCI_COMMAND, PCI_COMMAND_MASTER, 0);
}

void pci_set_master(struct pci_dev *pdev, bool enable)
{
	cfg_update16(pdev, PCI_COMMAND, enable ? 0 : PCI_COMMAND_MASTER,
		     enable ? PCI_COMMAND_MASTER : 0);
}

void pci_set_power_state(struct pci_dev *pdev, unsigned int state)
{
	if (pdev->pm_cap)
		cfg_update16(pdev, pdev->pm_cap + PCI_PM_CTRL, PCI_PM_CTRL_STATE_MASK,
			     (uint16_t)state);
}

unsigned int pci_get_power_state(struct pci_dev *pdev)
{
	if (!pdev->pm_cap)
		return PCI_D0;
	return pci_cfg_read(pdev, pdev->pm_cap + PCI_PM_CTRL, 2) & PCI_PM_CTRL_STATE_MASK;
}

/*
 * DisINTx masking: change the mask only when the pending state agrees
 * (mask when our interrupt is pending, unmask when none is), so a shared
 * handler never masks a quiet device and an unmask never loses a level
 * that is still asserted.  Neither direction can make INTx active.
 */
static bool check_and_set_intx_mask(struct pci_dev *pdev, bool mask)
{
	uint16_t cmd, status;
	bool changed = false;

	uvf_mutex_lock(&pdev->lock);
	cmd = (uint16_t)get_le(pdev->cfg, PCI_COMMAND, 2);
	status = (uint16_t)get_le(pdev->cfg, PCI_STATUS, 2);
	if (mask == !!(status & PCI_STATUS_INTERRUPT)) {
		cmd &= ~PCI_COMMAND_INTX_DISABLE;
		if (mask)
			cmd |= PCI_COMMAND_INTX_DISABLE;
		put_le(pdev->cfg, PCI_COMMAND, 2, cmd);
		if (mask)
			pdev->intx_active = false;
		changed = true;
	}
	uvf_mutex_unlock(&pdev->lock);
	return changed;
}

bool pci_check_and_mask_intx(struct pci_dev *pdev)
{
	return check_and_set_intx_mask(pdev, true);
}

bool pci_check_and_unmask_intx(struct pci_dev *pdev)
{
	return check_and_set_intx_mask(pdev, false);
}

/* ---- saved state and resets ---------------------------------------------- */

struct pci_saved_state {
	unsigned int nvec;
	uint8_t cfg[PCI_CFG_SPACE_EXP_SIZE];
	struct msix_entry table[];
};

struct pci_saved_state *pci_save_state(struct pci_dev *pdev)
{
	unsigned int nvec = pci_msix_table_size(pdev);
	struct pci_saved_state *s = malloc(sizeof(*s) + nvec * sizeof(s->table[0]));

	if (!s)
		return NULL;
	s->nvec = nvec;
	uvf_mutex_lock(&pdev->lock);
	memcpy(s->cfg, pdev->cfg, pdev->cfg_size);
	if (nvec)
		memcpy(s->table, pdev->msix_table, nvec * sizeof(s->table[0]));
	uvf_mutex_unlock(&pdev->lock);
	return s;
}

/* Every writable bit comes back; status bits keep their (reset) value. */
void pci_restore_state(struct pci_dev *pdev, const struct pci_saved_state *s)
{
	if (!s)
		return;
	uvf_mutex_lock(&pdev->lock);
	for (unsigned int i = 0; i < pdev->cfg_size; i++)
		pdev->cfg[i] = (uint8_t)((pdev->cfg[i] & ~pdev->wmask[i]) |
					 (s->cfg[i] & pdev->wmask[i]));
	if (s->nvec)
		memcpy(pdev->msix_table, s->table, s->nvec * sizeof(s->table[0]));
	uvf_mutex_unlock(&pdev->lock);
	pci_irq_update(pdev);
}

void pci_free_saved_state(struct pci_saved_state *s)
{
	free(s);
}

/*
 * The function's own reset.  COMMAND goes to zero first, so Bus Master is
 * off while the model stops in-flight work.  Until the model's reset has
 * returned the function is in reset: whatever the model raises meanwhile
 * (the completion of work the reset discards) is dropped, never delivered,
 * along with the rest of the interrupt state.
 */
void pci_dev_reset_hw(struct pci_dev *pdev)
{
	uvf_mutex_lock(&pdev->lock);
	memcpy(pdev->cfg, pdev->cfg_reset, pdev->cfg_size);
	pci_irq_reset_locked(pdev);
	pdev->in_reset++;
	uvf_mutex_unlock(&pdev->lock);
	if (pdev->realized && pdev->model->reset)
		pdev->model->reset(pdev);
	uvf_mutex_lock(&pdev->lock);
	pci_irq_reset_locked(pdev);
	pdev->in_reset--;
	uvf_mutex_unlock(&pdev->lock);
}

bool pci_has_flr(const struct pci_dev *pdev)
{
	return pdev->exp_cap && pdev->desc.flr;
}

static void reset_function_saved(struct pci_dev *pdev)
{
	struct pci_saved_state *s = pci_save_state(pdev);

	pci_dev_reset_hw(pdev);
	pci_restore_state(pdev, s);
	pci_free_saved_state(s);
}

bool pci_probe_reset_bus(const struct pci_bus *bus)
{
	return !pci_is_root_bus(bus);
}

/*
 * pci_try_reset_function: FLR when the function has it; otherwise a
 * secondary bus reset when the function is alone on a resettable bus
 * (pci_parent_bus_reset); otherwise -ENOTTY.
 */
int pci_try_reset_function(struct pci_dev *pdev)
{
	if (!pci_has_flr(pdev) &&
	    (!pci_probe_reset_bus(pdev->bus) || pci_bus_count_devs(pdev->bus) != 1))
		return -ENOTTY;
	reset_function_saved(pdev);
	return 0;
}

struct dev_collector {
	struct pci_dev **devs;
	unsigned int n, max;
	int (*may_reset)(struct pci_dev *pdev, void *arg);
	void *arg;
};

static int collect_dev(struct pci_dev *pdev, void *arg)
{
	struct dev_collector *dc = arg;
	int ret;

	if (dc->n == dc->max)
		return -EAGAIN;		/* the bus changed since we counted */
	ret = dc->may_reset(pdev, dc->arg);
	if (ret)
		return ret;
	dc->devs[dc->n++] = pdev;
	return 0;
}

/*
 * Every function on the bus resets at once; each keeps its state.
 *
 * The list of functions is taken under host->lock, which cannot be held
 * across the resets (models block in reset).  What keeps each function
 * alive after it is dropped is the caller's: 'may_reset' vouches for every
 * function in the same walk that collects it (a function it does not know
 * fails the reset with its error), so no function appears between the
 * caller's check and the reset.  vfio-pci vouches for the functions of its
 * device set while it holds dev_set->lock, and a function leaves the set
 * under that lock (unbind) before it can be destroyed; the kernel gets the
 * same from pci_bus_trylock() holding every device lock of the bus.
 */
int pci_reset_bus(struct pci_bus *bus, int (*may_reset)(struct pci_dev *pdev, void *arg),
		  void *arg)
{
	struct dev_collector dc = {
		.max = pci_bus_count_devs(bus), .may_reset = may_reset, .arg = arg,
	};
	struct pci_saved_state **saved;
	struct pci_dev **devs;
	unsigned int n;
	int ret;

	if (!pci_probe_reset_bus(bus))
		return -ENOTTY;
	devs = calloc(dc.max + 1, sizeof(*devs));
	saved = calloc(dc.max + 1, sizeof(*saved));
	if (!devs || !saved) {
		free(devs);
		free(saved);
		return -ENOMEM;
	}
	dc.devs = devs;
	ret = pci_bus_for_each_dev(bus, collect_dev, &dc);
	n = ret ? 0 : dc.n;
	for (unsigned int i = 0; i < n; i++)
		saved[i] = pci_save_state(devs[i]);
	for (unsigned int i = 0; i < n; i++)
		pci_dev_reset_hw(devs[i]);
	for (unsigned int i = 0; i < n; i++) {
		pci_restore_state(devs[i], saved[i]);
		pci_free_saved_state(saved[i]);
	}
	free(saved);
	free(devs);
	return ret;
}
