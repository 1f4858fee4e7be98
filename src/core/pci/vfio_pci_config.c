// SPDX-License-Identifier: MIT
/*
 * vfio-pci config space virtualisation (vfio_pci_config.c semantics).
 *
 * The user sees config space through permission tables, one per
 * capability type: for every bit, 'virt' says whether a read comes from
 * the virtual copy (vconfig) rather than the function, and 'write' whether
 * a user write may change it; virtual writable bits land in vconfig, the
 * other writable bits go to the function.  Some registers act on write
 * (COMMAND's DisINTx masks INTx, PM PowerState, MSI enable, PCIe Initiate
 * FLR).  The map of which capability owns each byte is built at open from
 * the function's own capability lists; capabilities we do not know are
 * hidden by relinking the list around them.
 *
 * What the user gets, as with the kernel:
 *  - vendor/device, capability pointers, BARs, ROM, interrupt line and pin
 *    are virtual; BAR sizing is emulated (write ~0, read the size mask),
 *    unimplemented BARs and the absent ROM read 0;
 *  - COMMAND passes through except DisINTx; STATUS is read-only;
 *  - MSI: flags, address and data are virtual (enable only reads back set
 *    while MSI is enabled with SET_IRQS; Multiple Message Enable is capped
 *    by what SET_IRQS enabled; Multiple Message Capable is the device's),
 *    mask bits pass through;
 *  - MSI-X, DSN and unknown fields of known capabilities are read-only;
 *  - PCIe DevCtl writable except Phantom Functions; FLR, MPS and MRRS are
 *    virtual (FLR resets the function); AER status/mask/severity pass
 *    through (status bits are RW1C in the function).
 *
 * Locking: config_lock protects vconfig and the map (the caller holds it
 * around each access); COMMAND and PowerState writes also take memory_lock
 * for write so no BAR access sees the memory enable change mid-way.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "vfio_pci.h"
#include "../base/compiler.h"
#include "../base/log.h"
#include "../mm/caller.h"

/* A map value for hidden extended capabilities with ids we do not know:
 * read-only, the header served from vconfig. */
#define PCI_EXT_CAP_ID_UNKNOWN	(PCI_EXT_CAP_ID_MAX + 1)

#define NO_VIRT		0
#define ALL_VIRT	0xffffffffu
#define NO_WRITE	0
#define ALL_WRITE	0xffffffffu

struct perm_bits {
	uint8_t *virt;
	uint8_t *write;
	int (*readfn)(struct vfio_pci_device *v, unsigned int pos, unsigned int count,
		      struct perm_bits *perm, unsigned int offset, uint32_t *val);
	int (*writefn)(struct vfio_pci_device *v, unsigned int pos, unsigned int count,
		       struct perm_bits *perm, unsigned int offset, uint32_t val);
};

/* Lengths of the capabilities we expose; 0xff: computed; absent: hidden. */
static const uint8_t pci_cap_length[PCI_CAP_ID_MAX + 1] = {
	[PCI_CAP_ID_BASIC]	= PCI_STD_HEADER_SIZEOF,
	[PCI_CAP_ID_PM]		= PCI_PM_SIZEOF,
	[PCI_CAP_ID_MSI]	= 0xff,
	[PCI_CAP_ID_VNDR]	= 0xff,
	[PCI_CAP_ID_EXP]	= 0xff,
	[PCI_CAP_ID_MSIX]	= PCI_CAP_MSIX_SIZEOF,
	[PCI_CAP_ID_AF]		= PCI_CAP_AF_SIZEOF,
};

static const uint16_t pci_ext_cap_length[PCI_EXT_CAP_ID_MAX + 1] = {
	[PCI_EXT_CAP_ID_ERR]	= PCI_ERR_ROOT_COMMAND,
	[PCI_EXT_CAP_ID_DSN]	= PCI_EXT_CAP_DSN_SIZEOF,
	[PCI_EXT_CAP_ID_VNDR]	= 0xff,
	[PCI_EXT_CAP_ID_ARI]	= PCI_EXT_CAP_ARI_SIZEOF,
	[PCI_EXT_CAP_ID_ATS]	= PCI_EXT_CAP_ATS_SIZEOF,
	[PCI_EXT_CAP_ID_LTR]	= PCI_EXT_CAP_LTR_SIZEOF,
	[PCI_EXT_CAP_ID_DVSEC]	= 0xff,
};

static bool is_bar(unsigned int offset)
{
	return (offset >= PCI_BASE_ADDRESS_0 && offset < PCI_BASE_ADDRESS_5 + 4) ||
	       (offset >= PCI_ROM_ADDRESS && offset < PCI_ROM_ADDRESS + 4);
}

static uint32_t le_get(const uint8_t *a, unsigned int off, unsigned int len)
{
	uint32_t v = 0;

	for (unsigned int i = 0; i < len; i++)
		v |= (uint32_t)a[off + i] << (8 * i);
	return v;
}

static void le_put(uint8_t *a, unsigned int off, unsigned int len, uint32_t v)
{
	for (unsigned int i = 0; i < len; i++)
		a[off + i] = (uint8_t)(v >> (8 * i));
}

static uint32_t count_mask(unsigned int count)
{
	return count == 4 ? 0xffffffffu : (1u << (8 * count)) - 1;
}

/* ---- access functions ----------------------------------------------------- */

static int default_read(struct vfio_pci_device *v, unsigned int pos, unsigned int count,
			struct perm_bits *perm, unsigned int offset, uint32_t *val)
{
	uint32_t virt = le_get(perm->virt, offset, count);

	*val = le_get(v->vconfig, pos, count);
	if (virt != count_mask(count)) {
		uint32_t phys = pci_cfg_read(v->pdev, pos, count);

		*val = (phys & ~virt) | (*val & virt);
	}
	return (int)count;
}

static int default_write(struct vfio_pci_device *v, unsigned int pos, unsigned int count,
			 struct perm_bits *perm, unsigned int offset, uint32_t val)
{
	uint32_t write = le_get(perm->write, offset, count);
	uint32_t virt = le_get(perm->virt, offset, count);

	if (!write)
		return (int)count;
	if (write & virt) {
		uint32_t cur = le_get(v->vconfig, pos, count);

		le_put(v->vconfig, pos, count, (cur & ~(write & virt)) | (val & write & virt));
	}
	if (write & ~virt) {
		uint32_t phys = pci_cfg_read(v->pdev, pos, count);

		phys &= ~(write & ~virt);
		phys |= val & (write & ~virt);
		pci_cfg_write(v->pdev, pos, count, phys);
	}
	return (int)count;
}

/* The function's bits, except the list linkage we may have rewritten. */
static int direct_read(struct vfio_pci_device *v, unsigned int pos, unsigned int count,
		       struct perm_bits *perm, unsigned int offset, uint32_t *val)
{
	*val = pci_cfg_read(v->pdev, pos, count);
	if (pos >= PCI_CFG_SPACE_SIZE) {
		if (offset < 4)
			*val = le_get(v->vconfig, pos, count);
	} else if (pos >= PCI_STD_HEADER_SIZEOF) {
		if (offset == PCI_CAP_LIST_ID && count > 1) {
			*val = (*val & ~0xffffu) | le_get(v->vconfig, pos, 2);
		} else if (offset == PCI_CAP_LIST_NEXT) {
			*val = (*val & ~0xffu) | v->vconfig[pos];
		}
	}
	return (int)count;
}

static int raw_read(struct vfio_pci_device *v, unsigned int pos, unsigned int count,
		    struct perm_bits *perm, unsigned int offset, uint32_t *val)
{
	*val = pci_cfg_read(v->pdev, pos, count);
	return (int)count;
}

static int raw_write(struct vfio_pci_device *v, unsigned int pos, unsigned int count,
		     struct perm_bits *perm, unsigned int offset, uint32_t val)
{
	pci_cfg_write(v->pdev, pos, count, val);
	return (int)count;
}

/* ---- the shared permission tables (built once, then read-only) ----------- */

static struct perm_bits direct_ro_perms = { .readfn = direct_read };
static struct perm_bits unassigned_perms = { .readfn = raw_read, .writefn = raw_write };
static struct perm_bits cap_perms[PCI_CAP_ID_MAX + 1];
static struct perm_bits ecap_perms[PCI_EXT_CAP_ID_MAX + 1];
static pthread_once_t perms_once = PTHREAD_ONCE_INIT;
static int perms_error;

static int alloc_perm_bits(struct perm_bits *perm, unsigned int size)
{
	size = ALIGN_UP(size, 4);
	perm->virt = calloc(1, size);
	perm->write = calloc(1, size);
	if (!perm->virt || !perm->write) {
		free(perm->virt);
		free(perm->write);
		perm->virt = perm->write = NULL;
		return -ENOMEM;
	}
	perm->readfn = default_read;
	perm->writefn = default_write;
	return 0;
}

static void free_perm_bits(struct perm_bits *perm)
{
	free(perm->virt);
	free(perm->write);
	perm->virt = perm->write = NULL;
}

static void p_set(struct perm_bits *p, unsigned int off, unsigned int len, uint32_t virt,
		  uint32_t write)
{
	le_put(p->virt, off, len, virt);
	le_put(p->write, off, len, write);
}

static void bar_fixup(struct vfio_pci_device *v)
{
	struct pci_dev *pdev = v->pdev;

	if (!v->bardirty)
		return;
	for (unsigned int i = 0; i < PCI_STD_NUM_BARS; i++) {
		const struct pci_bar_state *b = &pdev->bars[i];
		unsigned int off = PCI_BASE_ADDRESS_0 + 4 * i;
		uint64_t mask = ~(b->size - 1);
		uint32_t vbar = le_get(v->vconfig, off, 4);

		if (!b->size) {
			le_put(v->vconfig, off, 4, 0);	/* unimplemented to the user */
			continue;
		}
		vbar = (vbar & (uint32_t)mask) | pci_bar_flag_bits(b);
		le_put(v->vconfig, off, 4, vbar);
		if (b->flags & PCI_MODEL_BAR_MEM64) {
			off += 4;
			le_put(v->vconfig, off, 4, le_get(v->vconfig, off, 4) & (uint32_t)(mask >> 32));
			i++;
		}
	}
	le_put(v->vconfig, PCI_ROM_ADDRESS, 4, 0);	/* no ROM */
	v->bardirty = false;
}

static int basic_read(struct vfio_pci_device *v, unsigned int pos, unsigned int count,
		      struct perm_bits *perm, unsigned int offset, uint32_t *val)
{
	if (is_bar(offset))
		bar_fixup(v);
	return default_read(v, pos, count, perm, offset, val);
}

static int basic_write(struct vfio_pci_device *v, unsigned int pos, unsigned int count,
		       struct perm_bits *perm, unsigned int offset, uint32_t val)
{
	uint16_t mask = PCI_COMMAND_MEMORY | PCI_COMMAND_IO;
	bool cmd = offset == PCI_COMMAND;
	int ret;

	if (cmd)
		uvf_write_lock(&v->memory_lock);
	ret = default_write(v, pos, count, perm, offset, val);
	/* Remember the user's memory/io enables: BAR accesses check them. */
	if (cmd) {
		uint16_t vcmd = (uint16_t)le_get(v->vconfig, PCI_COMMAND, 2);

		le_put(v->vconfig, PCI_COMMAND, 2, (vcmd & ~mask) | ((uint16_t)val & mask));
		uvf_rw_unlock(&v->memory_lock);
	}
	/* DisINTx is ours: it masks INTx delivery to the user. */
	if (offset >= PCI_COMMAND && offset <= PCI_COMMAND + 1) {
		bool disable = le_get(v->vconfig, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE;

		/* virq_disabled changes only here, under config_lock. */
		if (disable != v->virq_disabled)
			vfio_pci_intx_set_virq_disabled(v, disable);
	}
	if (is_bar(offset))
		v->bardirty = true;
	return ret;
}

static int init_basic_perm(struct perm_bits *perm)
{
	if (alloc_perm_bits(perm, PCI_STD_HEADER_SIZEOF))
		return -ENOMEM;
	perm->readfn = basic_read;
	perm->writefn = basic_write;
	p_set(perm, PCI_VENDOR_ID, 2, ALL_VIRT, NO_WRITE);
	p_set(perm, PCI_DEVICE_ID, 2, ALL_VIRT, NO_WRITE);
	p_set(perm, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE, ALL_WRITE);
	p_set(perm, PCI_STATUS, 2, PCI_STATUS_CAP_LIST, NO_WRITE);
	p_set(perm, PCI_CACHE_LINE_SIZE, 1, NO_VIRT, ALL_WRITE);
	p_set(perm, PCI_LATENCY_TIMER, 1, NO_VIRT, ALL_WRITE);
	p_set(perm, PCI_BIST, 1, NO_VIRT, ALL_WRITE);
	for (unsigned int off = PCI_BASE_ADDRESS_0; off <= PCI_BASE_ADDRESS_5; off += 4)
		p_set(perm, off, 4, ALL_VIRT, ALL_WRITE);
	p_set(perm, PCI_ROM_ADDRESS, 4, ALL_VIRT, ALL_WRITE);
	p_set(perm, PCI_CAPABILITY_LIST, 1, ALL_VIRT, NO_WRITE);
	p_set(perm, PCI_INTERRUPT_LINE, 1, ALL_VIRT, ALL_WRITE);
	p_set(perm, PCI_INTERRUPT_PIN, 1, ALL_VIRT, NO_WRITE);
	return 0;
}

/* Power state changes take memory_lock for write, as COMMAND writes do:
 * no BAR access is in flight while memory decode goes away with D3hot. */
void vfio_pci_lock_and_set_power_state(struct vfio_pci_device *v, unsigned int state)
{
	uvf_write_lock(&v->memory_lock);
	pci_set_power_state(v->pdev, state);
	uvf_rw_unlock(&v->memory_lock);
}

static int pm_write(struct vfio_pci_device *v, unsigned int pos, unsigned int count,
		    struct perm_bits *perm, unsigned int offset, uint32_t val)
{
	int ret = default_write(v, pos, count, perm, offset, val);

	if (offset == PCI_PM_CTRL)
		vfio_pci_lock_and_set_power_state(v, val & PCI_PM_CTRL_STATE_MASK);
	return ret;
}

/* PowerState is set through pm_write; PME is the host's and reads 0. */
static int init_pm_perm(struct perm_bits *perm)
{
	if (alloc_perm_bits(perm, PCI_PM_SIZEOF))
		return -ENOMEM;
	perm->writefn = pm_write;
	p_set(perm, PCI_CAP_LIST_NEXT, 1, ALL_VIRT, NO_WRITE);
	p_set(perm, PCI_PM_PMC, 2, PCI_PM_CAP_PME_MASK, NO_WRITE);
	p_set(perm, PCI_PM_CTRL, 4, PCI_PM_CTRL_PME_ENABLE | PCI_PM_CTRL_PME_STATUS,
	      ~(PCI_PM_CTRL_PME_ENABLE | PCI_PM_CTRL_PME_STATUS | PCI_PM_CTRL_STATE_MASK));
	return 0;
}

static int exp_write(struct vfio_pci_device *v, unsigned int pos, unsigned int count,
		     struct perm_bits *perm, unsigned int offset, uint32_t val)
{
	unsigned int ctrl = pos - offset + PCI_EXP_DEVCTL;
	uint16_t old = (uint16_t)le_get(v->vconfig, ctrl, 2), now;
	int ret = default_write(v, pos, count, perm, offset, val);

	now = (uint16_t)le_get(v->vconfig, ctrl, 2);
	/* Initiate FLR: always reads 0; resets the function if it has FLR. */
	if (now & PCI_EXP_DEVCTL_BCR_FLR) {
		now &= ~PCI_EXP_DEVCTL_BCR_FLR;
		le_put(v->vconfig, ctrl, 2, now);
		if (pci_cfg_read(v->pdev, pos - offset + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_FLR) {
			uvf_write_lock(&v->memory_lock);
			pci_try_reset_function(v->pdev);
			uvf_rw_unlock(&v->memory_lock);
		}
	}
	/* MRRS goes to the function, but never below the function's MPS. */
	if ((old ^ now) & PCI_EXP_DEVCTL_READRQ) {
		uint16_t phys = (uint16_t)pci_cfg_read(v->pdev, ctrl, 2);
		unsigned int rq = (now & PCI_EXP_DEVCTL_READRQ) >> 12;
		unsigned int mps = (phys & PCI_EXP_DEVCTL_PAYLOAD) >> 5;

		phys = (uint16_t)((phys & ~PCI_EXP_DEVCTL_READRQ) | (uvf_max(rq, mps) << 12));
		pci_cfg_write(v->pdev, ctrl, 2, phys);
	}
	return ret;
}

static int init_exp_perm(struct perm_bits *perm)
{
	if (alloc_perm_bits(perm, PCI_CAP_EXP_ENDPOINT_SIZEOF_V2))
		return -ENOMEM;
	perm->writefn = exp_write;
	p_set(perm, PCI_CAP_LIST_NEXT, 1, ALL_VIRT, NO_WRITE);
	p_set(perm, PCI_EXP_DEVCTL, 2,
	      PCI_EXP_DEVCTL_BCR_FLR | PCI_EXP_DEVCTL_PAYLOAD | PCI_EXP_DEVCTL_READRQ,
	      (uint16_t)~PCI_EXP_DEVCTL_PHANTOM);
	p_set(perm, PCI_EXP_DEVCTL2, 2, NO_VIRT, (uint16_t)~PCI_EXP_DEVCTL2_ARI);
	return 0;
}

static int init_aer_perm(struct perm_bits *perm)
{
	uint32_t uncor = PCI_ERR_UNC_UND | PCI_ERR_UNC_DLP | PCI_ERR_UNC_SURPDN |
			 PCI_ERR_UNC_POISON_TLP | PCI_ERR_UNC_FCP | PCI_ERR_UNC_COMP_TIME |
			 PCI_ERR_UNC_COMP_ABORT | PCI_ERR_UNC_UNX_COMP | PCI_ERR_UNC_RX_OVER |
			 PCI_ERR_UNC_MALF_TLP | PCI_ERR_UNC_ECRC | PCI_ERR_UNC_UNSUP |
			 PCI_ERR_UNC_ACSV | PCI_ERR_UNC_INTN | PCI_ERR_UNC_MCBTLP |
			 PCI_ERR_UNC_ATOMEG | PCI_ERR_UNC_TLPPRE;
	uint32_t cor = PCI_ERR_COR_RCVR | PCI_ERR_COR_BAD_TLP | PCI_ERR_COR_BAD_DLLP |
		       PCI_ERR_COR_REP_ROLL | PCI_ERR_COR_REP_TIMER | PCI_ERR_COR_ADV_NFAT |
		       PCI_ERR_COR_INTERNAL | PCI_ERR_COR_LOG_OVER;

	if (alloc_perm_bits(perm, PCI_ERR_ROOT_COMMAND))
		return -ENOMEM;
	p_set(perm, 0, 4, ALL_VIRT, NO_WRITE);	/* the header holds 'next' */
	p_set(perm, PCI_ERR_UNCOR_STATUS, 4, NO_VIRT, uncor);
	p_set(perm, PCI_ERR_UNCOR_MASK, 4, NO_VIRT, uncor);
	p_set(perm, PCI_ERR_UNCOR_SEVER, 4, NO_VIRT, uncor);
	p_set(perm, PCI_ERR_COR_STATUS, 4, NO_VIRT, cor);
	p_set(perm, PCI_ERR_COR_MASK, 4, NO_VIRT, cor);
	p_set(perm, PCI_ERR_CAP, 4, NO_VIRT, PCI_ERR_CAP_ECRC_GENE | PCI_ERR_CAP_ECRC_CHKE);
	return 0;
}

static void init_perm_tables(void)
{
	for (unsigned int i = 0; i <= PCI_CAP_ID_MAX; i++)
		cap_perms[i].readfn = direct_read;
	for (unsigned int i = 0; i <= PCI_EXT_CAP_ID_MAX; i++)
		ecap_perms[i].readfn = direct_read;
	perms_error = init_basic_perm(&cap_perms[PCI_CAP_ID_BASIC]) |
		      init_pm_perm(&cap_perms[PCI_CAP_ID_PM]) |
		      init_exp_perm(&cap_perms[PCI_CAP_ID_EXP]) |
		      init_aer_perm(&ecap_perms[PCI_EXT_CAP_ID_ERR]);
	cap_perms[PCI_CAP_ID_VNDR].writefn = raw_write;
	ecap_perms[PCI_EXT_CAP_ID_VNDR].writefn = raw_write;
	ecap_perms[PCI_EXT_CAP_ID_DVSEC].writefn = raw_write;
}

/* ---- MSI ------------------------------------------------------------------- */

static unsigned int find_cap_start(struct vfio_pci_device *v, unsigned int pos)
{
	unsigned int base = pos >= PCI_CFG_SPACE_SIZE ? PCI_CFG_SPACE_SIZE : PCI_STD_HEADER_SIZEOF;
	uint8_t cap = v->config_map[pos];

	if (cap == PCI_CAP_ID_BASIC && pos < PCI_STD_HEADER_SIZEOF)
		return 0;
	while (pos > base && v->config_map[pos - 1] == cap)
		pos--;
	return pos;
}

static bool covers_flags(unsigned int offset, unsigned int count)
{
	return offset <= PCI_MSI_FLAGS && offset + count >= PCI_MSI_FLAGS;
}

/* Enable only sticks while SET_IRQS has MSI on; the queue size is capped
 * by what it allocated; both go to the function too. */
static int msi_write(struct vfio_pci_device *v, unsigned int pos, unsigned int count,
		     struct perm_bits *perm, unsigned int offset, uint32_t val)
{
	int ret = default_write(v, pos, count, perm, offset, val);

	if (covers_flags(offset, count)) {
		unsigned int reg = find_cap_start(v, pos) + PCI_MSI_FLAGS;
		uint16_t flags = (uint16_t)le_get(v->vconfig, reg, 2);

		uvf_mutex_lock(&v->igate);
		if (v->irq_type != VFIO_PCI_MSI_IRQ_INDEX)
			flags &= ~PCI_MSI_FLAGS_ENABLE;
		uvf_mutex_unlock(&v->igate);
		if (((flags & PCI_MSI_FLAGS_QSIZE) >> 4) > v->msi_qmax)
			flags = (uint16_t)((flags & ~PCI_MSI_FLAGS_QSIZE) | (v->msi_qmax << 4));
		le_put(v->vconfig, reg, 2, flags);
		pci_cfg_write(v->pdev, reg, 2, flags);
	}
	return ret;
}

static int init_msi_perm(struct perm_bits *perm, unsigned int len, uint16_t flags)
{
	if (alloc_perm_bits(perm, len))
		return -ENOMEM;
	/*
	 * Reads are plain virtual reads.  The kernel's MSI read handler means
	 * to show msi_qmax in Multiple Message Capable but (6.12) stores it at
	 * the capability start, in the ID byte, which users read from the
	 * device: what they see is the device's own MMC (QEMU sizes MSI from
	 * it), and whatever they wrote to the virtual flags byte since.
	 */
	perm->writefn = msi_write;
	p_set(perm, PCI_CAP_LIST_NEXT, 1, ALL_VIRT, NO_WRITE);
	p_set(perm, PCI_MSI_FLAGS, 1, ALL_VIRT, ALL_WRITE);
	p_set(perm, PCI_MSI_ADDRESS_LO, 4, ALL_VIRT, ALL_WRITE);
	if (flags & PCI_MSI_FLAGS_64BIT) {
		p_set(perm, PCI_MSI_ADDRESS_HI, 4, ALL_VIRT, ALL_WRITE);
		p_set(perm, PCI_MSI_DATA_64, 2, ALL_VIRT, ALL_WRITE);
		if (flags & PCI_MSI_FLAGS_MASKBIT) {
			p_set(perm, PCI_MSI_MASK_64, 4, NO_VIRT, ALL_WRITE);
			p_set(perm, PCI_MSI_PENDING_64, 4, NO_VIRT, ALL_WRITE);
		}
	} else {
		p_set(perm, PCI_MSI_DATA_32, 2, ALL_VIRT, ALL_WRITE);
		if (flags & PCI_MSI_FLAGS_MASKBIT) {
			p_set(perm, PCI_MSI_MASK_32, 4, NO_VIRT, ALL_WRITE);
			p_set(perm, PCI_MSI_PENDING_32, 4, NO_VIRT, ALL_WRITE);
		}
	}
	return 0;
}

static int msi_cap_len(struct vfio_pci_device *v, unsigned int pos)
{
	uint16_t flags = (uint16_t)pci_cfg_read(v->pdev, pos + PCI_MSI_FLAGS, 2);
	int len = 10;

	if (flags & PCI_MSI_FLAGS_64BIT)
		len += 4;
	if (flags & PCI_MSI_FLAGS_MASKBIT)
		len += 10;
	if (v->msi_perm)
		return len;
	v->msi_perm = calloc(1, sizeof(*v->msi_perm));
	if (!v->msi_perm || init_msi_perm(v->msi_perm, (unsigned int)len, flags)) {
		free(v->msi_perm);
		v->msi_perm = NULL;
		return -ENOMEM;
	}
	return len;
}

/* ---- building the map -------------------------------------------------------- */

/* By version and type: version 1 ends after the link registers (or the
 * device registers for a Root Complex Integrated Endpoint, no link). */
static int exp_cap_len(uint16_t flags)
{
	bool rc_end = ((flags & PCI_EXP_FLAGS_TYPE) >> 4) == PCI_EXP_TYPE_RC_END;

	if ((flags & PCI_EXP_FLAGS_VERS) == 1)
		return rc_end ? PCI_CAP_EXP_RC_ENDPOINT_SIZEOF_V1 : PCI_CAP_EXP_ENDPOINT_SIZEOF_V1;
	return rc_end ? PCI_CAP_EXP_RC_ENDPOINT_SIZEOF_V2 : PCI_CAP_EXP_ENDPOINT_SIZEOF_V2;
}

static int cap_len(struct vfio_pci_device *v, uint8_t cap, unsigned int pos,
		   bool *extended_caps)
{
	struct pci_dev *pdev = v->pdev;
	uint16_t flags;

	switch (cap) {
	case PCI_CAP_ID_MSI:
		return msi_cap_len(v, pos);
	case PCI_CAP_ID_VNDR:
		return (int)pci_cfg_read(pdev, pos + PCI_CAP_FLAGS, 1);
	case PCI_CAP_ID_EXP:
		if (pdev->cfg_size > PCI_CFG_SPACE_SIZE)
			*extended_caps = pci_cfg_read(pdev, PCI_CFG_SPACE_SIZE, 4) != 0;
		flags = (uint16_t)pci_cfg_read(pdev, pos + PCI_EXP_FLAGS, 2);
		return exp_cap_len(flags);
	default:
		return 0;
	}
}

static int ext_cap_len(struct vfio_pci_device *v, uint16_t ecap, unsigned int epos)
{
	switch (ecap) {
	case PCI_EXT_CAP_ID_VNDR:
		return (int)(pci_cfg_read(v->pdev, epos + PCI_VSEC_HDR, 4) >>
			     PCI_VSEC_HDR_LEN_SHIFT);
	case PCI_EXT_CAP_ID_DVSEC:
		return (int)PCI_DVSEC_HEADER1_LEN(pci_cfg_read(v->pdev, epos + PCI_DVSEC_HEADER1,
							       4));
	default:
		return 0;
	}
}

static void fill_vconfig(struct vfio_pci_device *v, unsigned int off, unsigned int len)
{
	for (unsigned int i = 0; i < len; i++)
		v->vconfig[off + i] = (uint8_t)pci_cfg_read(v->pdev, off + i, 1);
}

static int cap_init(struct vfio_pci_device *v, bool *extended_caps)
{
	uint8_t *prev = &v->vconfig[PCI_CAPABILITY_LIST];
	unsigned int pos, caps = 0;
	int loops = (PCI_CFG_SPACE_SIZE - PCI_STD_HEADER_SIZEOF) / PCI_CAP_SIZEOF;

	if (!(pci_cfg_read(v->pdev, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST))
		return 0;
	pos = pci_cfg_read(v->pdev, PCI_CAPABILITY_LIST, 1);
	while (pos && loops--) {
		uint8_t cap = (uint8_t)pci_cfg_read(v->pdev, pos, 1);
		uint8_t next = (uint8_t)pci_cfg_read(v->pdev, pos + PCI_CAP_LIST_NEXT, 1);
		int len = 0;

		if (cap && cap <= PCI_CAP_ID_MAX) {
			len = pci_cap_length[cap];
			if (len == 0xff)
				len = cap_len(v, cap, pos, extended_caps);
			if (len < 0)
				return len;
		}
		if (!len || pos + (unsigned int)len > PCI_CFG_SPACE_SIZE) {
			*prev = next;		/* hidden from the user */
			pos = next;
			continue;
		}
		memset(v->config_map + pos, cap, (size_t)len);
		fill_vconfig(v, pos, (unsigned int)len);
		if (cap == PCI_CAP_ID_PM) {
			le_put(v->vconfig, pos + PCI_PM_PMC, 2,
			       le_get(v->vconfig, pos + PCI_PM_PMC, 2) & ~PCI_PM_CAP_PME_MASK);
			le_put(v->vconfig, pos + PCI_PM_CTRL, 2,
			       le_get(v->vconfig, pos + PCI_PM_CTRL, 2) &
			       ~(PCI_PM_CTRL_PME_ENABLE | PCI_PM_CTRL_PME_STATUS));
		}
		prev = &v->vconfig[pos + PCI_CAP_LIST_NEXT];
		pos = next;
		caps++;
	}
	if (!caps)
		le_put(v->vconfig, PCI_STATUS, 2,
		       le_get(v->vconfig, PCI_STATUS, 2) & ~PCI_STATUS_CAP_LIST);
	return 0;
}

static int ecap_init(struct vfio_pci_device *v)
{
	unsigned int epos = PCI_CFG_SPACE_SIZE, prev = 0, ecaps = 0;
	int loops = (int)(v->pdev->cfg_size - PCI_CFG_SPACE_SIZE) / PCI_CAP_SIZEOF;

	while (loops-- > 0 && epos >= PCI_CFG_SPACE_SIZE) {
		uint32_t header = pci_cfg_read(v->pdev, epos, 4);
		uint16_t ecap = PCI_EXT_CAP_ID(header);
		bool hidden = false;
		int len = 0;

		if (ecap <= PCI_EXT_CAP_ID_MAX) {
			len = pci_ext_cap_length[ecap];
			if (len == 0xff)
				len = ext_cap_len(v, ecap, epos);
		}
		if (len <= 0 || epos + (unsigned int)len > v->pdev->cfg_size) {
			if (prev) {	/* skip it: relink the previous header */
				uint32_t p = le_get(v->vconfig, prev, 4);

				epos = PCI_EXT_CAP_NEXT(header);
				le_put(v->vconfig, prev, 4, (p & 0x000fffff) | (epos << 20));
				continue;
			}
			len = PCI_CAP_SIZEOF;	/* keep the list head, hide the id */
			hidden = true;
		}
		memset(v->config_map + epos,
		       ecap <= PCI_EXT_CAP_ID_MAX ? ecap : PCI_EXT_CAP_ID_UNKNOWN, (size_t)len);
		fill_vconfig(v, epos, (unsigned int)len);
		if (hidden)
			le_put(v->vconfig, epos, 4, le_get(v->vconfig, epos, 4) & (0xffcu << 20));
		else
			ecaps++;
		prev = epos;
		epos = PCI_EXT_CAP_NEXT(header);
	}
	if (!ecaps)
		le_put(v->vconfig, PCI_CFG_SPACE_SIZE, 4, 0);
	return 0;
}

int vfio_config_init(struct vfio_pci_device *v)
{
	unsigned int size = v->pdev->cfg_size;
	bool extended_caps = false;
	int ret;

	pthread_once(&perms_once, init_perm_tables);
	if (perms_error)
		return -ENOMEM;
	v->config_map = malloc(size);
	v->vconfig = calloc(1, size);
	if (!v->config_map || !v->vconfig) {
		ret = -ENOMEM;
		goto fail;
	}
	memset(v->config_map, PCI_CAP_ID_BASIC, PCI_STD_HEADER_SIZEOF);
	memset(v->config_map + PCI_STD_HEADER_SIZEOF, PCI_CAP_ID_INVALID,
	       size - PCI_STD_HEADER_SIZEOF);
	fill_vconfig(v, 0, PCI_STD_HEADER_SIZEOF);
	v->bardirty = true;
	if (!v->pdev->irq)
		v->vconfig[PCI_INTERRUPT_PIN] = 0;
	ret = cap_init(v, &extended_caps);
	if (!ret && extended_caps)
		ret = ecap_init(v);
	if (!ret)
		return 0;
fail:
	vfio_config_free(v);
	return ret;
}

void vfio_config_free(struct vfio_pci_device *v)
{
	free(v->vconfig);
	free(v->config_map);
	v->vconfig = NULL;
	v->config_map = NULL;
	if (v->msi_perm) {
		free_perm_bits(v->msi_perm);
		free(v->msi_perm);
		v->msi_perm = NULL;
	}
}

bool vfio_pci_memory_enabled(struct vfio_pci_device *v)
{
	uint16_t cmd = (uint16_t)le_get(v->vconfig, PCI_COMMAND, 2);

	return pci_get_power_state(v->pdev) < PCI_D3hot && (cmd & PCI_COMMAND_MEMORY);
}

/* ---- user access ----------------------------------------------------------- */

/* Bytes left in this dword that belong to the same capability as pos. */
static unsigned int cap_remaining_dword(struct vfio_pci_device *v, unsigned int pos)
{
	uint8_t cap = v->config_map[pos];
	unsigned int i;

	for (i = 1; (pos + i) % 4 && v->config_map[pos + i] == cap; i++)
		;
	return i;
}

static struct perm_bits *perm_for(struct vfio_pci_device *v, unsigned int pos,
				  unsigned int *cap_start)
{
	uint8_t cap_id = v->config_map[pos];

	*cap_start = pos;
	if (cap_id == PCI_CAP_ID_INVALID)
		return &unassigned_perms;
	if (pos >= PCI_CFG_SPACE_SIZE) {
		*cap_start = find_cap_start(v, pos);
		return cap_id > PCI_EXT_CAP_ID_MAX ? &direct_ro_perms : &ecap_perms[cap_id];
	}
	*cap_start = find_cap_start(v, pos);
	if (cap_id == PCI_CAP_ID_MSI)
		return v->msi_perm;
	return &cap_perms[cap_id];
}

/* One aligned access of 1, 2 or 4 bytes within a capability. */
static ssize_t config_do_rw(struct vfio_pci_device *v, struct uvf_caller *c, uint64_t ubuf,
			    size_t count, uint64_t pos, bool iswrite)
{
	struct perm_bits *perm;
	unsigned int cap_start, n;
	uint32_t val = 0;
	int ret;

	if (pos >= v->pdev->cfg_size || pos + count > v->pdev->cfg_size)
		return -EFAULT;
	count = uvf_min(count, cap_remaining_dword(v, (unsigned int)pos));
	if (count >= 4 && !(pos % 4))
		n = 4;
	else if (count >= 2 && !(pos % 2))
		n = 2;
	else
		n = 1;
	perm = perm_for(v, (unsigned int)pos, &cap_start);
	if (iswrite) {
		if (!perm->writefn)
			return n;
		if (copy_from_user(c, &val, ubuf, n))
			return -EFAULT;
		ret = perm->writefn(v, (unsigned int)pos, n, perm,
				    (unsigned int)pos - cap_start, val);
		return ret;
	}
	if (perm->readfn) {
		ret = perm->readfn(v, (unsigned int)pos, n, perm, (unsigned int)pos - cap_start,
				   &val);
		if (ret < 0)
			return ret;
	}
	return copy_to_user(c, ubuf, &val, n) ? -EFAULT : (ssize_t)n;
}

ssize_t vfio_pci_config_rw(struct vfio_pci_device *v, struct uvf_caller *c, uint64_t ubuf,
			   size_t count, uint64_t pos, bool iswrite)
{
	size_t done = 0;

	pos &= VFIO_PCI_OFFSET_MASK;
	uvf_mutex_lock(&v->config_lock);
	while (count) {
		ssize_t ret = config_do_rw(v, c, ubuf, count, pos, iswrite);

		if (ret < 0) {
			uvf_mutex_unlock(&v->config_lock);
			return ret;
		}
		count -= (size_t)ret;
		done += (size_t)ret;
		ubuf += (uint64_t)ret;
		pos += (uint64_t)ret;
	}
	uvf_mutex_unlock(&v->config_lock);
	return (ssize_t)done;
}
