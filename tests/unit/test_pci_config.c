// SPDX-License-Identifier: MIT
/*
 * PCI config space: the function's own registers (read-only bits, RW1C
 * status, BAR sizing, capability lists, MSI/MSI-X enables, FLR) and the
 * view vfio-pci gives a user through the config region, plus the sysfs
 * files of a function and the errors of function creation.
 */
#include "harness.h"
#include "pci_test.h"
#include <pthread.h>
#include "core/pci/vfio_pci.h"
#include "core/sysfs/sysfs.h"

#define BDF "0000:00:03.0"



static uint32_t ucfg(struct pci_fixture *f, unsigned int off, unsigned int len)
{
	return cfg_read(f->p, f->o.dfd, off, len);
}

static void ucfg_write(struct pci_fixture *f, unsigned int off, unsigned int len, uint32_t v)
{
	cfg_write(f->p, f->o.dfd, off, len, v);
}

/* ---- identity and read-only bits ---------------------------------------- */

static void test_identity(void **state)
{
	struct pci_fixture *f = *state;

	assert_int_equal(ucfg(f, PCI_VENDOR_ID, 2), 0x7576);
	assert_int_equal(ucfg(f, PCI_DEVICE_ID, 2), 0x0001);
	assert_int_equal(ucfg(f, PCI_CLASS_REVISION, 4), 0x00ff0001);
	assert_int_equal(ucfg(f, PCI_HEADER_TYPE, 1), PCI_HEADER_TYPE_NORMAL);
	assert_int_equal(ucfg(f, PCI_SUBSYSTEM_VENDOR_ID, 2), 0x7576);
	assert_int_equal(ucfg(f, PCI_SUBSYSTEM_ID, 2), 0x0001);
	assert_int_equal(ucfg(f, PCI_INTERRUPT_PIN, 1), 1);
	/* A dword read spans vendor and device. */
	assert_int_equal(ucfg(f, 0, 4), 0x00017576);
}

static void test_readonly_bits(void **state)
{
	struct pci_fixture *f = *state;
	uint32_t status = ucfg(f, PCI_STATUS, 2);

	ucfg_write(f, PCI_VENDOR_ID, 4, 0xdeadbeef);
	assert_int_equal(ucfg(f, 0, 4), 0x00017576);
	ucfg_write(f, PCI_CLASS_REVISION, 4, 0);
	assert_int_equal(ucfg(f, PCI_CLASS_REVISION, 4), 0x00ff0001);
	ucfg_write(f, PCI_STATUS, 2, 0xffff);
	assert_int_equal(ucfg(f, PCI_STATUS, 2), status);
	ucfg_write(f, PCI_CAPABILITY_LIST, 1, 0x80);
	assert_int_equal(ucfg(f, PCI_CAPABILITY_LIST, 1), 0x40);
	ucfg_write(f, PCI_INTERRUPT_PIN, 1, 4);
	assert_int_equal(ucfg(f, PCI_INTERRUPT_PIN, 1), 1);
	/* The function itself: read-only is read-only. */
	pci_cfg_write(f->pdev, PCI_DEVICE_ID, 2, 0x1234);
	assert_int_equal(pci_cfg_read(f->pdev, PCI_DEVICE_ID, 2), 1);
	/* The interrupt line is the user's scratch byte, virtual. */
	ucfg_write(f, PCI_INTERRUPT_LINE, 1, 0x5a);
	assert_int_equal(ucfg(f, PCI_INTERRUPT_LINE, 1), 0x5a);
	assert_int_not_equal(pci_cfg_read(f->pdev, PCI_INTERRUPT_LINE, 1), 0x5a);
}

static void test_command_register(void **state)
{
	struct pci_fixture *f = *state;

	/* Open gave memory decode and took bus mastering away. */
	assert_int_equal(ucfg(f, PCI_COMMAND, 2) & (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER),
			 PCI_COMMAND_MEMORY);
	ucfg_write(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_true(pci_bus_master_enabled(f->pdev));
	assert_true(pci_memory_enabled(f->pdev));
	/* DisINTx is virtual; with INTx unused the function's bit follows it. */
	ucfg_write(f, PCI_COMMAND, 2,
		   PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
	assert_true(ucfg(f, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE);
	assert_true(pci_cfg_read(f->pdev, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE);
	ucfg_write(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_false(ucfg(f, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE);
	assert_false(pci_cfg_read(f->pdev, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE);
	/* I/O space: no I/O BARs, the bit is hardwired to 0. */
	ucfg_write(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	assert_int_equal(pci_cfg_read(f->pdev, PCI_COMMAND, 2) & PCI_COMMAND_IO, 0);
	assert_false(pci_bus_master_enabled(f->pdev));
}

/* ---- RW1C ---------------------------------------------------------------- */

static void test_status_rw1c(void **state)
{
	struct pci_fixture *f = *state;
	uint16_t errs = PCI_STATUS_SIG_TARGET_ABORT | PCI_STATUS_REC_MASTER_ABORT;

	/* Set by the hardware... */
	uvf_mutex_lock(&f->pdev->lock);
	f->pdev->cfg[PCI_STATUS + 1] |= errs >> 8;
	uvf_mutex_unlock(&f->pdev->lock);
	/* ...writing 0 keeps them, writing 1 clears just that bit. */
	pci_cfg_write(f->pdev, PCI_STATUS, 2, 0);
	assert_int_equal(pci_cfg_read(f->pdev, PCI_STATUS, 2) & errs, errs);
	pci_cfg_write(f->pdev, PCI_STATUS, 2, PCI_STATUS_REC_MASTER_ABORT);
	assert_int_equal(pci_cfg_read(f->pdev, PCI_STATUS, 2) & errs,
			 PCI_STATUS_SIG_TARGET_ABORT);
	/* The user cannot write STATUS at all (vfio-pci makes it read-only). */
	ucfg_write(f, PCI_STATUS, 2, 0xffff);
	assert_int_equal(pci_cfg_read(f->pdev, PCI_STATUS, 2) & errs,
			 PCI_STATUS_SIG_TARGET_ABORT);
}

static void test_devsta_and_aer_rw1c(void **state)
{
	struct pci_fixture *f = *state;
	unsigned int exp = pci_find_capability(f->pdev, PCI_CAP_ID_EXP);
	unsigned int aer = pci_find_ext_capability(f->pdev, PCI_EXT_CAP_ID_ERR);
	uint32_t bits = PCI_ERR_UNC_COMP_ABORT | PCI_ERR_UNC_UNX_COMP;

	assert_int_not_equal(exp, 0);
	assert_int_equal(aer, PCI_CFG_SPACE_SIZE);
	pci_report_error(f->pdev, bits, false);
	assert_int_equal(pci_cfg_read(f->pdev, exp + PCI_EXP_DEVSTA, 2) & PCI_EXP_DEVSTA_NFED,
			 PCI_EXP_DEVSTA_NFED);
	pci_cfg_write(f->pdev, exp + PCI_EXP_DEVSTA, 2, PCI_EXP_DEVSTA_NFED);
	assert_int_equal(pci_cfg_read(f->pdev, exp + PCI_EXP_DEVSTA, 2) & PCI_EXP_DEVSTA_NFED, 0);
	/* AER status passes through vfio-pci and is RW1C in the function. */
	assert_int_equal(ucfg(f, aer + PCI_ERR_UNCOR_STATUS, 4), bits);
	ucfg_write(f, aer + PCI_ERR_UNCOR_STATUS, 4, 0);
	assert_int_equal(ucfg(f, aer + PCI_ERR_UNCOR_STATUS, 4), bits);
	ucfg_write(f, aer + PCI_ERR_UNCOR_STATUS, 4, PCI_ERR_UNC_COMP_ABORT);
	assert_int_equal(ucfg(f, aer + PCI_ERR_UNCOR_STATUS, 4), PCI_ERR_UNC_UNX_COMP);
	/* Mask is plain read/write, within the implemented bits. */
	ucfg_write(f, aer + PCI_ERR_UNCOR_MASK, 4, 0xffffffff);
	assert_int_equal(ucfg(f, aer + PCI_ERR_UNCOR_MASK, 4) & PCI_ERR_UNC_COMP_ABORT,
			 PCI_ERR_UNC_COMP_ABORT);
	assert_int_equal(ucfg(f, aer + PCI_ERR_UNCOR_MASK, 4) & 0xfc000000u, 0);
}

/* ---- BARs ----------------------------------------------------------------- */

static void test_bar_sizing(void **state)
{
	struct pci_fixture *f = *state;

	/* BAR0: 4 KiB, 64-bit, not prefetchable; BAR1 is its upper half. */
	assert_int_equal(ucfg(f, PCI_BASE_ADDRESS_0, 4) & 0xf, PCI_BASE_ADDRESS_MEM_TYPE_64);
	ucfg_write(f, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	ucfg_write(f, PCI_BASE_ADDRESS_1, 4, 0xffffffff);
	assert_int_equal(ucfg(f, PCI_BASE_ADDRESS_0, 4), 0xfffff004);
	assert_int_equal(ucfg(f, PCI_BASE_ADDRESS_1, 4), 0xffffffff);
	/* BAR2: 16 KiB, 64-bit, prefetchable. */
	ucfg_write(f, PCI_BASE_ADDRESS_2, 4, 0xffffffff);
	assert_int_equal(ucfg(f, PCI_BASE_ADDRESS_2, 4), 0xffffc00c);
	/* An address sticks, aligned to the size, flags preserved. */
	ucfg_write(f, PCI_BASE_ADDRESS_0, 4, 0x12345678);
	ucfg_write(f, PCI_BASE_ADDRESS_1, 4, 0x9);
	assert_int_equal(ucfg(f, PCI_BASE_ADDRESS_0, 4), 0x12345004);
	assert_int_equal(ucfg(f, PCI_BASE_ADDRESS_1, 4), 0x9);
	/* Unimplemented BARs and the absent ROM read 0 whatever is written. */
	ucfg_write(f, PCI_BASE_ADDRESS_4, 4, 0xffffffff);
	ucfg_write(f, PCI_BASE_ADDRESS_5, 4, 0xffffffff);
	ucfg_write(f, PCI_ROM_ADDRESS, 4, 0xffffffff);
	assert_int_equal(ucfg(f, PCI_BASE_ADDRESS_4, 4), 0);
	assert_int_equal(ucfg(f, PCI_BASE_ADDRESS_5, 4), 0);
	assert_int_equal(ucfg(f, PCI_ROM_ADDRESS, 4), 0);
	/* The user's BARs are virtual: the function keeps its own. */
	assert_int_equal(pci_cfg_read(f->pdev, PCI_BASE_ADDRESS_0, 4),
			 (uint32_t)f->pdev->bars[0].addr | PCI_BASE_ADDRESS_MEM_TYPE_64);
}

static void test_bar_sizing_hardware(void **state)
{
	struct pci_fixture *f = *state;
	struct pci_dev *pdev = f->pdev;

	pci_cfg_write(pdev, PCI_BASE_ADDRESS_2, 4, 0xffffffff);
	pci_cfg_write(pdev, PCI_BASE_ADDRESS_3, 4, 0xffffffff);
	assert_int_equal(pci_cfg_read(pdev, PCI_BASE_ADDRESS_2, 4), 0xffffc00c);
	assert_int_equal(pci_cfg_read(pdev, PCI_BASE_ADDRESS_3, 4), 0xffffffff);
	pci_cfg_write(pdev, PCI_BASE_ADDRESS_4, 4, 0xffffffff);
	assert_int_equal(pci_cfg_read(pdev, PCI_BASE_ADDRESS_4, 4), 0);
	pci_cfg_write(pdev, PCI_ROM_ADDRESS, 4, 0xffffffff);
	assert_int_equal(pci_cfg_read(pdev, PCI_ROM_ADDRESS, 4), 0);
	/* Misaligned or out-of-range accesses do nothing, read all ones. */
	assert_int_equal(pci_cfg_read(pdev, 1, 2), 0xffff);
	assert_int_equal(pci_cfg_read(pdev, PCI_CFG_SPACE_EXP_SIZE, 4), 0xffffffff);
}

/* ---- capability lists ------------------------------------------------------- */

static void test_cap_list_walk(void **state)
{
	struct pci_fixture *f = *state;
	const uint8_t want[] = { PCI_CAP_ID_PM, PCI_CAP_ID_MSI, PCI_CAP_ID_MSIX, PCI_CAP_ID_EXP };
	unsigned int pos, n = 0;
	uint32_t hdr;

	assert_true(ucfg(f, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	for (pos = ucfg(f, PCI_CAPABILITY_LIST, 1); pos; pos = ucfg(f, pos + 1, 1)) {
		assert_true(pos >= PCI_STD_HEADER_SIZEOF && pos < PCI_CFG_SPACE_SIZE);
		assert_int_equal(pos % 4, 0);
		assert_true(n < sizeof(want));
		assert_int_equal(ucfg(f, pos, 1), want[n]);
		n++;
	}
	assert_int_equal(n, sizeof(want));
	/* Extended: AER v2, then the serial number, then the end. */
	hdr = ucfg(f, PCI_CFG_SPACE_SIZE, 4);
	assert_int_equal(PCI_EXT_CAP_ID(hdr), PCI_EXT_CAP_ID_ERR);
	assert_int_equal(PCI_EXT_CAP_VER(hdr), 2);
	pos = PCI_EXT_CAP_NEXT(hdr);
	assert_true(pos > PCI_CFG_SPACE_SIZE);
	hdr = ucfg(f, pos, 4);
	assert_int_equal(PCI_EXT_CAP_ID(hdr), PCI_EXT_CAP_ID_DSN);
	assert_int_equal(PCI_EXT_CAP_NEXT(hdr), 0);
	assert_int_equal(ucfg(f, pos + 4, 4), (uint32_t)f->pdev->desc.serial);
	assert_int_equal(ucfg(f, pos + 8, 4), (uint32_t)(f->pdev->desc.serial >> 32));
	/* The PCIe capability shows FLR and a Root Complex Integrated Endpoint. */
	pos = pci_find_capability(f->pdev, PCI_CAP_ID_EXP);
	assert_true(ucfg(f, pos + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_FLR);
	assert_int_equal((ucfg(f, pos + PCI_EXP_FLAGS, 2) & PCI_EXP_FLAGS_TYPE) >> 4,
			 PCI_EXP_TYPE_RC_END);
	/* Capability ids and links are read-only. */
	ucfg_write(f, pos, 2, 0);
	assert_int_equal(ucfg(f, pos, 1), PCI_CAP_ID_EXP);
	ucfg_write(f, PCI_CFG_SPACE_SIZE, 4, 0);
	assert_int_equal(PCI_EXT_CAP_ID(ucfg(f, PCI_CFG_SPACE_SIZE, 4)), PCI_EXT_CAP_ID_ERR);
}

/* A function on another bus is an Endpoint with link registers. */
static void test_endpoint_on_bus1(void **state)
{
	struct uvf_host *h = test_host_from_json(
		"{\"pci\":[{\"bdf\":\"0000:01:00.0\",\"model\":\"uvfio-test\",\"iommu_group\":9}]}");
	struct pci_dev *pdev = test_pdev(h, "0000:01:00.0");
	unsigned int pos = pci_find_capability(pdev, PCI_CAP_ID_EXP);

	assert_int_equal((pci_cfg_read(pdev, pos + PCI_EXP_FLAGS, 2) & PCI_EXP_FLAGS_TYPE) >> 4,
			 PCI_EXP_TYPE_ENDPOINT);
	assert_int_equal(pci_cfg_read(pdev, pos + PCI_EXP_LNKSTA, 2) & PCI_EXP_LNKSTA_CLS,
			 PCI_EXP_LNKSTA_CLS_2_5GB);
	host_free(h);
	(void)state;
}

/* ---- MSI / MSI-X enables ------------------------------------------------- */

static void test_msi_enable(void **state)
{
	struct pci_fixture *f = *state;
	unsigned int msi = pci_find_capability(f->pdev, PCI_CAP_ID_MSI);
	int32_t fds[2] = { efd_new(), efd_new() };

	assert_true(ucfg(f, msi + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_64BIT);
	assert_true(ucfg(f, msi + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_MASKBIT);
	/* Multiple Message Capable is the device's (2 vectors), as the kernel
	 * shows it (QEMU sizes MSI from it), before and after SET_IRQS. */
	assert_int_equal((ucfg(f, msi + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_QMASK) >> 1, 1);
	/* Not enabled with SET_IRQS: enable does not stick. */
	ucfg_write(f, msi + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_64BIT | 2);
	assert_int_equal(ucfg(f, msi + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_ENABLE, 0);
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSI_IRQ_INDEX, 0, 1, fds), 0);
	assert_int_equal((ucfg(f, msi + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_QMASK) >> 1, 1);
	/* The low flags byte is the user's: MMC bits written read back. */
	ucfg_write(f, msi + PCI_MSI_FLAGS, 1, PCI_MSI_FLAGS_64BIT);
	assert_int_equal(ucfg(f, msi + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_QMASK, 0);
	assert_errno(set_irqs(f->p, f->o.dfd, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
			      VFIO_PCI_MSI_IRQ_INDEX, 0, 0, NULL, 0), 0);
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSI_IRQ_INDEX, 0, 2, fds), 0);
	/* The function has MSI on with two vectors. */
	assert_true(pci_cfg_read(f->pdev, msi + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_ENABLE);
	/* Multiple Message Enable above what SET_IRQS enabled is capped. */
	ucfg_write(f, msi + PCI_MSI_FLAGS, 1, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_64BIT | (2 << 4));
	assert_int_equal(ucfg(f, msi + PCI_MSI_FLAGS, 1) & PCI_MSI_FLAGS_QSIZE, 1 << 4);
	ucfg_write(f, msi + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_64BIT | (1 << 4));
	assert_int_equal(ucfg(f, msi + PCI_MSI_FLAGS, 2) & (PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE),
			 PCI_MSI_FLAGS_ENABLE | (1 << 4));
	/* Address and data are the user's, virtual. */
	ucfg_write(f, msi + PCI_MSI_ADDRESS_LO, 4, 0xfee01000);
	assert_int_equal(ucfg(f, msi + PCI_MSI_ADDRESS_LO, 4), 0xfee01000);
	assert_errno(set_irqs(f->p, f->o.dfd, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
			      VFIO_PCI_MSI_IRQ_INDEX, 0, 0, NULL, 0), 0);
	assert_int_equal(pci_cfg_read(f->pdev, msi + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_ENABLE, 0);
	close(fds[0]);
	close(fds[1]);
}

static void test_msix_enable(void **state)
{
	struct pci_fixture *f = *state;
	unsigned int msix = pci_find_capability(f->pdev, PCI_CAP_ID_MSIX);
	int32_t fd = efd_new();

	assert_int_equal(ucfg(f, msix + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE, 3);
	assert_int_equal(ucfg(f, msix + PCI_MSIX_TABLE, 4), 2);		/* BIR 2, offset 0 */
	assert_int_equal(ucfg(f, msix + PCI_MSIX_PBA, 4), 0x802);
	/* The user cannot switch MSI-X on by config writes; SET_IRQS does. */
	ucfg_write(f, msix + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(ucfg(f, msix + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE, 0);
	assert_errno(set_eventfds(f->p, f->o.dfd, VFIO_PCI_MSIX_IRQ_INDEX, 0, 1, &fd), 0);
	assert_int_equal(ucfg(f, msix + PCI_MSIX_FLAGS, 2) &
			 (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL), PCI_MSIX_FLAGS_ENABLE);
	assert_false(pci_msix_vector_masked(f->pdev, 0));
	assert_true(pci_msix_vector_masked(f->pdev, 1));
	assert_errno(set_irqs(f->p, f->o.dfd, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
			      VFIO_PCI_MSIX_IRQ_INDEX, 0, 0, NULL, 0), 0);
	assert_int_equal(ucfg(f, msix + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE, 0);
	close(fd);
}

/* ---- FLR and power states ---------------------------------------------------- */

static void test_flr_via_devctl(void **state)
{
	struct pci_fixture *f = *state;
	unsigned int exp = pci_find_capability(f->pdev, PCI_CAP_ID_EXP);
	uint16_t devctl = (uint16_t)ucfg(f, exp + PCI_EXP_DEVCTL, 2);

	ucfg_write(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	bar_write32(f->p, f->o.dfd, 0, TD_SCRATCH, 0x1234);
	bar_write64(f->p, f->o.dfd, 0, TD_DMA_SRC, 0xabcd000);
	ucfg_write(f, exp + PCI_EXP_DEVCTL, 2, devctl | PCI_EXP_DEVCTL_BCR_FLR);
	/* The device registers are back to power-on values... */
	assert_int_equal(bar_read32(f->p, f->o.dfd, 0, TD_SCRATCH), 0);
	assert_int_equal(bar_read64(f->p, f->o.dfd, 0, TD_DMA_SRC), 0);
	/* ...Initiate FLR reads 0, and the config state the host saved is back. */
	assert_int_equal(ucfg(f, exp + PCI_EXP_DEVCTL, 2) & PCI_EXP_DEVCTL_BCR_FLR, 0);
	assert_true(pci_bus_master_enabled(f->pdev));
	assert_int_equal(bar_read32(f->p, f->o.dfd, 0, TD_MAGIC), 0x54465655);
}

static void test_no_flr(void **state)
{
	struct uvf_host *h = test_host_from_json(
		"{\"pci\":[{\"bdf\":\"0000:00:07.0\",\"model\":\"uvfio-test\",\"iommu_group\":7,"
		"\"params\":{\"flr\":false}}]}");
	struct uvf_proc *p = proc_new_root(h);
	struct pci_open o = pci_open_device(p, 7, "0000:00:07.0");
	struct pci_dev *pdev = test_pdev(h, "0000:00:07.0");
	unsigned int exp = pci_find_capability(pdev, PCI_CAP_ID_EXP);

	assert_int_equal(cfg_read(p, o.dfd, exp + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_FLR, 0);
	bar_write32(p, o.dfd, 0, TD_SCRATCH, 0x77);
	cfg_write(p, o.dfd, exp + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_BCR_FLR);
	assert_int_equal(bar_read32(p, o.dfd, 0, TD_SCRATCH), 0x77);
	assert_int_equal(cfg_read(p, o.dfd, exp + PCI_EXP_DEVCTL, 2) & PCI_EXP_DEVCTL_BCR_FLR, 0);
	/* The function itself ignores Initiate FLR too. */
	pci_cfg_write(pdev, exp + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_BCR_FLR);
	assert_int_equal(bar_read32(p, o.dfd, 0, TD_SCRATCH), 0x77);
	proc_free(p);
	host_free(h);
	(void)state;
}

static void test_power_state(void **state)
{
	struct pci_fixture *f = *state;
	unsigned int pm = pci_find_capability(f->pdev, PCI_CAP_ID_PM);
	uint32_t v;

	assert_int_equal(pm, PCI_STD_HEADER_SIZEOF);
	assert_true(ucfg(f, pm + PCI_PM_CTRL, 2) & PCI_PM_CTRL_NO_SOFT_RESET);
	ucfg_write(f, pm + PCI_PM_CTRL, 2, PCI_D3hot);
	assert_int_equal(ucfg(f, pm + PCI_PM_CTRL, 2) & PCI_PM_CTRL_STATE_MASK, PCI_D3hot);
	/* No BAR access in D3hot. */
	assert_errno(proc_pread(f->p, f->o.dfd, &v, 4,
				region_offset(f->p, f->o.dfd, 0) + TD_MAGIC), -EIO);
	ucfg_write(f, pm + PCI_PM_CTRL, 2, 1);		/* D1: not supported, ignored */
	assert_int_equal(ucfg(f, pm + PCI_PM_CTRL, 2) & PCI_PM_CTRL_STATE_MASK, PCI_D3hot);
	ucfg_write(f, pm + PCI_PM_CTRL, 2, PCI_D0);
	assert_int_equal(bar_read32(f->p, f->o.dfd, 0, TD_MAGIC), 0x54465655);
}

/* A PowerState write waits for region accesses in flight (memory_lock),
 * as the kernel's vfio_lock_and_set_power_state does. */
struct pm_write {
	struct uvf_proc *p;
	int dfd;
	uint64_t pos;
	ssize_t ret;
};

static void *pm_write_thread(void *arg)
{
	struct pm_write *w = arg;
	uint16_t d3 = PCI_D3hot;

	w->ret = proc_pwrite(w->p, w->dfd, &d3, 2, w->pos);
	return NULL;
}

static void test_power_state_waits_for_accesses(void **state)
{
	struct pci_fixture *f = *state;
	struct vfio_pci_device *v = f->pdev->dev.driver_data;
	unsigned int pm = pci_find_capability(f->pdev, PCI_CAP_ID_PM);
	uint64_t cfg = region_offset(f->p, f->o.dfd, VFIO_PCI_CONFIG_REGION_INDEX);
	struct pm_write w = { .p = f->p, .dfd = f->o.dfd, .pos = cfg + pm + PCI_PM_CTRL };
	unsigned int during;
	pthread_t t;

	assert_non_null(v);
	uvf_read_lock(&v->memory_lock);		/* a BAR access in flight */
	assert_int_equal(pthread_create(&t, NULL, pm_write_thread, &w), 0);
	usleep(50000);
	during = pci_get_power_state(f->pdev);
	uvf_rw_unlock(&v->memory_lock);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(during, PCI_D0);
	assert_int_equal(w.ret, 2);
	assert_int_equal(pci_get_power_state(f->pdev), PCI_D3hot);
}

/* The PCIe capability's length follows its version: a version 1 endpoint
 * ends after the link registers, a version 1 RC integrated endpoint after
 * the device registers; what follows is no capability's (raw access). */
static void set_exp_version1(struct pci_dev *pdev)
{
	unsigned int flags = pdev->exp_cap + PCI_EXP_FLAGS;

	pdev->cfg[flags] = (uint8_t)((pdev->cfg[flags] & ~PCI_EXP_FLAGS_VERS) | 1);
	pdev->cfg_reset[flags] = pdev->cfg[flags];
	/* A register past the v1 length the function lets software write. */
	pdev->wmask[pdev->exp_cap + PCI_EXP_DEVCAP2] = 0xff;
}

static void check_exp_len(struct uvf_proc *p, const char *bdf, unsigned int group,
			  struct pci_dev *pdev, unsigned int len)
{
	struct pci_open o = pci_open_device(p, group, bdf);
	struct vfio_pci_device *v = pdev->dev.driver_data;
	unsigned int exp = pdev->exp_cap;

	assert_int_equal(v->config_map[exp + len - 1], PCI_CAP_ID_EXP);
	assert_int_equal(v->config_map[exp + len], PCI_CAP_ID_INVALID);
	cfg_write(p, o.dfd, exp + PCI_EXP_DEVCAP2, 1, 0x5a);
	assert_int_equal(pci_cfg_read(pdev, exp + PCI_EXP_DEVCAP2, 1), 0x5a);
	pci_close_device(p, &o);
}

static void test_exp_cap_version1(void **state)
{
	struct uvf_host *h = test_host_from_json(
		"{\"pci\":[{\"bdf\":\"0000:00:07.0\",\"model\":\"uvfio-test\",\"iommu_group\":7},"
		"{\"bdf\":\"0000:01:00.0\",\"model\":\"uvfio-test\",\"iommu_group\":8},"
		"{\"bdf\":\"0000:00:08.0\",\"model\":\"uvfio-test\",\"iommu_group\":9}]}");
	struct uvf_proc *p = proc_new_root(h);
	struct pci_dev *rc_end = test_pdev(h, "0000:00:07.0");
	struct pci_dev *endpoint = test_pdev(h, "0000:01:00.0");
	struct pci_dev *v2 = test_pdev(h, "0000:00:08.0");
	struct pci_open o;

	set_exp_version1(rc_end);
	set_exp_version1(endpoint);
	check_exp_len(p, "0000:00:07.0", 7, rc_end, PCI_CAP_EXP_RC_ENDPOINT_SIZEOF_V1);
	check_exp_len(p, "0000:01:00.0", 8, endpoint, PCI_CAP_EXP_ENDPOINT_SIZEOF_V1);
	/* Version 2 covers it: the write does not pass. */
	v2->wmask[v2->exp_cap + PCI_EXP_DEVCAP2] = 0xff;
	o = pci_open_device(p, 9, "0000:00:08.0");
	cfg_write(p, o.dfd, v2->exp_cap + PCI_EXP_DEVCAP2, 1, 0x5a);
	assert_int_equal(pci_cfg_read(v2, v2->exp_cap + PCI_EXP_DEVCAP2, 1), 0);
	pci_close_device(p, &o);
	proc_free(p);
	host_free(h);
	(void)state;
}

static void test_config_bounds(void **state)
{
	struct pci_fixture *f = *state;
	uint64_t base = region_offset(f->p, f->o.dfd, VFIO_PCI_CONFIG_REGION_INDEX);
	uint8_t buf[8];

	assert_errno(proc_pread(f->p, f->o.dfd, buf, 4, base + PCI_CFG_SPACE_EXP_SIZE), -EFAULT);
	assert_errno(proc_pread(f->p, f->o.dfd, buf, 4, base + PCI_CFG_SPACE_EXP_SIZE - 2),
		     -EFAULT);
	assert_errno(proc_pwrite(f->p, f->o.dfd, buf, 8, base + PCI_CFG_SPACE_EXP_SIZE - 4),
		     -EFAULT);
	assert_errno(proc_pread(f->p, f->o.dfd, buf, 0, base), 0);
	/* Unaligned and multi-register reads are cut up as the kernel does. */
	assert_errno(proc_pread(f->p, f->o.dfd, buf, 3, base + 1), 3);
	assert_int_equal(buf[0], 0x75);
	assert_int_equal(buf[1], 0x01);
	assert_int_equal(buf[2], 0x00);
	assert_errno(proc_pread(f->p, f->o.dfd, buf, 8, base), 8);
	assert_int_equal(buf[0], 0x76);
}

/* ---- sysfs --------------------------------------------------------------- */

static void read_attr(struct pci_fixture *f, const char *path, char *buf, size_t size)
{
	ssize_t n = sysfs_read(f->h->sysfs, &f->p->caller, path, buf, size - 1, 0);

	assert_true(n >= 0);
	buf[n] = '\0';
}

static void test_sysfs_attributes(void **state)
{
	struct pci_fixture *f = *state;
	char buf[4096], expect[128];
	struct sysfs_node *node;
	int lines = 0;

	read_attr(f, "/bus/pci/devices/" BDF "/vendor", buf, sizeof(buf));
	assert_string_equal(buf, "0x7576\n");
	read_attr(f, "/bus/pci/devices/" BDF "/device", buf, sizeof(buf));
	assert_string_equal(buf, "0x0001\n");
	read_attr(f, "/bus/pci/devices/" BDF "/class", buf, sizeof(buf));
	assert_string_equal(buf, "0x00ff00\n");
	read_attr(f, "/bus/pci/devices/" BDF "/revision", buf, sizeof(buf));
	assert_string_equal(buf, "0x01\n");
	read_attr(f, "/bus/pci/devices/" BDF "/subsystem_vendor", buf, sizeof(buf));
	assert_string_equal(buf, "0x7576\n");
	read_attr(f, "/bus/pci/devices/" BDF "/modalias", buf, sizeof(buf));
	assert_string_equal(buf, "pci:v00007576d00000001sv00007576sd00000001bc00scFFi00\n");
	read_attr(f, "/bus/pci/devices/" BDF "/resource", buf, sizeof(buf));
	for (char *s = buf; (s = strchr(s, '\n')); s++)
		lines++;
	assert_int_equal(lines, 13);
	snprintf(expect, sizeof(expect), "0x%016llx 0x%016llx 0x0000000000140204\n",
		 (unsigned long long)f->pdev->bars[0].addr,
		 (unsigned long long)f->pdev->bars[0].addr + 4095);
	assert_memory_equal(buf, expect, strlen(expect));
	assert_non_null(strstr(buf, "0x000000000014220c\n"));
	read_attr(f, "/bus/pci/devices/" BDF "/driver_override", buf, sizeof(buf));
	assert_string_equal(buf, "(null)\n");
	assert_errno(sysfs_write(f->h->sysfs, &f->p->caller,
				 "/bus/pci/devices/" BDF "/driver_override", "pci-stub\n", 9, 0), 9);
	read_attr(f, "/bus/pci/devices/" BDF "/driver_override", buf, sizeof(buf));
	assert_string_equal(buf, "pci-stub\n");
	assert_errno(sysfs_write(f->h->sysfs, &f->p->caller,
				 "/bus/pci/devices/" BDF "/driver_override", "\n", 1, 0), 1);
	read_attr(f, "/bus/pci/devices/" BDF "/driver_override", buf, sizeof(buf));
	assert_string_equal(buf, "(null)\n");
	/* config: the function's own standard config bytes. */
	assert_int_equal(sysfs_read(f->h->sysfs, &f->p->caller,
				    "/bus/pci/devices/" BDF "/config", buf, 4096, 0), 256);
	assert_int_equal(buf[0], 0x76);
	/* Links: the bus view, the bound driver both ways. */
	assert_true(sysfs_readlink(f->h->sysfs, "/bus/pci/devices/" BDF, buf, sizeof(buf)) > 0);
	node = sysfs_lookup(f->h->sysfs, "/devices/pci0000:00/" BDF "/vendor", false);
	assert_non_null(node);
	sysfs_put(node);
	assert_true(sysfs_readlink(f->h->sysfs, "/bus/pci/devices/" BDF "/driver", buf,
				   sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "drivers/vfio-pci"));
	assert_true(sysfs_readlink(f->h->sysfs, "/bus/pci/drivers/vfio-pci/" BDF, buf,
				   sizeof(buf)) > 0);
}

static void test_sysfs_reset_attr(void **state)
{
	struct pci_fixture *f = *state;
	const char *path = "/bus/pci/devices/" BDF "/reset";

	bar_write32(f->p, f->o.dfd, 0, TD_SCRATCH, 5);
	assert_errno(sysfs_write(f->h->sysfs, &f->p->caller, path, "2\n", 2, 0), -EINVAL);
	assert_int_equal(bar_read32(f->p, f->o.dfd, 0, TD_SCRATCH), 5);
	assert_errno(sysfs_write(f->h->sysfs, &f->p->caller, path, "1\n", 2, 0), 2);
	assert_int_equal(bar_read32(f->p, f->o.dfd, 0, TD_SCRATCH), 0);
}

/* ---- creation errors ------------------------------------------------------- */

static void expect_load_error(const char *json, const char *what)
{
	struct uvf_topology *t = NULL;
	struct uvf_host *h;
	char err[512] = "";

	assert_errno(topology_load_string(json, "<t>", &t, err, sizeof(err)), 0);
	h = host_new();
	assert_non_null(h);
	assert_true(host_load_topology(h, t, err, sizeof(err)) < 0);
	if (!strstr(err, what))
		fail_msg("error '%s' lacks '%s'", err, what);
	topology_free(t);
	host_free(h);
}

static void test_create_errors(void **state)
{
	expect_load_error("{\"pci\":[{\"bdf\":\"0000:00:03.0\",\"model\":\"nope\","
			  "\"iommu_group\":3}]}",
			  "pci[0]: model 'nope' is not a known model");
	expect_load_error("{\"pci\":[{\"bdf\":\"0000:00:03.0\",\"model\":\"uvfio-test\","
			  "\"iommu_group\":3,\"params\":{\"msix_vectors\":1}}]}",
			  "params.msix_vectors");
	expect_load_error("{\"pci\":[{\"bdf\":\"0000:00:03.0\",\"model\":\"uvfio-test\","
			  "\"iommu_group\":3,\"params\":{\"colour\":\"red\"}}]}",
			  "params.colour: unknown parameter");
	expect_load_error("{\"pci\":[{\"bdf\":\"0000:00:03.0\",\"model\":\"uvfio-test\","
			  "\"iommu_group\":3,\"params\":{\"flr\":1}}]}",
			  "params.flr");
	(void)state;
}

static void test_model_registry(void **state)
{
	static const struct pci_model dup = { .name = "uvfio-test", .init = NULL };
	const struct pci_model *m = pci_model_find("uvfio-test");

	assert_non_null(m);
	assert_string_equal(m->name, "uvfio-test");
	assert_null(pci_model_find("uvfio-nothing"));
	assert_errno(pci_model_register(&dup), -EINVAL);	/* no init */
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity, pci_fixture_setup, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_readonly_bits, pci_fixture_setup, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_command_register, pci_fixture_setup, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_status_rw1c, pci_fixture_setup, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_devsta_and_aer_rw1c, pci_fixture_setup, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_bar_sizing, pci_fixture_setup, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_bar_sizing_hardware, pci_fixture_setup, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_cap_list_walk, pci_fixture_setup, pci_fixture_teardown),
		cmocka_unit_test(test_endpoint_on_bus1),
		cmocka_unit_test_setup_teardown(test_msi_enable, pci_fixture_setup, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_msix_enable, pci_fixture_setup, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_flr_via_devctl, pci_fixture_setup, pci_fixture_teardown),
		cmocka_unit_test(test_no_flr),
		cmocka_unit_test_setup_teardown(test_power_state, pci_fixture_setup, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_power_state_waits_for_accesses, pci_fixture_setup, pci_fixture_teardown),
		cmocka_unit_test(test_exp_cap_version1),
		cmocka_unit_test_setup_teardown(test_config_bounds, pci_fixture_setup, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_sysfs_attributes, pci_fixture_setup, pci_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_sysfs_reset_attr, pci_fixture_setup, pci_fixture_teardown),
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test(test_model_registry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
