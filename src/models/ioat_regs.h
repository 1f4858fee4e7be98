/* SPDX-License-Identifier: MIT */
/*
 * Intel I/OAT v3.3 ("Crystal Beach DMA", CBDMA) as its drivers see it: the
 * register map of BAR0, the config-space error registers and the 64-byte
 * hardware descriptor.  Offsets and bits are the ones Linux's ioatdma and
 * DPDK's dma/ioat program; the model (ioat.c), its tests and its benchmark
 * share this file.
 */
#ifndef UVF_MODELS_IOAT_REGS_H
#define UVF_MODELS_IOAT_REGS_H

#include <stdint.h>

#define IOAT_VENDOR_ID			0x8086
#define IOAT_DEVICE_SKX			0x2021	/* Skylake-SP CBDMA */
#define IOAT_CLASS			0x088000 /* system peripheral, other */
#define IOAT_VERSION_3_3		0x33

/* ---- config space (beyond the standard capabilities) -------------------- */
#define IOAT_CFG_DMAUNCERRSTS		0x148	/* RW1C uncorrectable error status */
#define IOAT_CFG_CHANERR_INT		0x180	/* RW1C internal log of CHANERR bits */
#define IOAT_CFG_CHANERRMSK_INT		0x184	/* RW */

/* ---- BARs ------------------------------------------------------------------ */
#define IOAT_BAR0_SIZE			0x4000	/* registers in page 0, mapped whole */
#define IOAT_MSIX_BAR			2	/* trapped: MSI-X table and PBA */
#define IOAT_MSIX_BAR_SIZE		0x1000
#define IOAT_MSIX_TABLE_OFFSET		0x000
#define IOAT_MSIX_PBA_OFFSET		0x800
#define IOAT_MAX_CHANNELS		16

/* device-wide registers */
#define IOAT_CHANCNT			0x00	/* 8  RO number of channels */
#define IOAT_XFERCAP			0x01	/* 8  RO log2 of the largest transfer */
#define IOAT_GENCTRL			0x02	/* 8  RW */
#define IOAT_INTRCTRL			0x03	/* 8  */
#define   IOAT_INTRCTRL_MASTER_INT_EN	0x01
#define   IOAT_INTRCTRL_INT_STATUS	0x02	/* RO: a channel wants attention */
#define   IOAT_INTRCTRL_INT		0x04	/* RO: INT_STATUS and MASTER_INT_EN */
#define   IOAT_INTRCTRL_MSIX_VECTOR_CONTROL 0x08
#define IOAT_ATTNSTATUS			0x04	/* 32 RO bit n: channel n raised */
#define IOAT_CBVER			0x08	/* 8  RO */
#define IOAT_INTRDELAY			0x0c	/* 16 RW (bits 0-13); bit 15 RO */
#define   IOAT_INTRDELAY_MASK		0x3fff
#define IOAT_CSSTATUS			0x0e	/* 16 RO */
#define IOAT_DMACAPABILITY		0x10	/* 32 RO */
#define   IOAT_CAP_FILL_BLOCK		0x00000040
#define IOAT_DCAOFFSET			0x14	/* 16 RO: 0, no DCA block */
#define IOAT_CHWPREFLMT			0x4c	/* 32 RW */

/* channel registers, at IOAT_CHAN_BASE(n) + */
#define IOAT_CHAN_STRIDE		0x80
#define IOAT_CHAN_BASE(n)		(IOAT_CHAN_STRIDE * ((n) + 1))
#define IOAT_CHANCTRL			0x00	/* 16 RW */
#define   IOAT_CHANCTRL_INT_REARM	0x0001
#define   IOAT_CHANCTRL_ERR_COMPLETION_EN 0x0004
#define   IOAT_CHANCTRL_ANY_ERR_ABORT_EN 0x0008
#define   IOAT_CHANCTRL_ERR_INT_EN	0x0010
#define   IOAT_CHANCTRL_IN_USE		0x0100
#define IOAT_DMA_COMP			0x02	/* 16 RO */
#define   IOAT_DMA_COMP_V2		0x0002
#define IOAT_CHANCMD			0x04	/* 8  command doorbell */
#define   IOAT_CHANCMD_START		0x01
#define   IOAT_CHANCMD_APPEND		0x02
#define   IOAT_CHANCMD_SUSPEND		0x04
#define   IOAT_CHANCMD_ABORT		0x08
#define   IOAT_CHANCMD_RESUME		0x10
#define   IOAT_CHANCMD_RESET		0x20
#define IOAT_DMACOUNT			0x06	/* 16 descriptor count doorbell */
#define IOAT_CHANSTS			0x08	/* 64 RO */
#define   IOAT_CHANSTS_STATUS		0x7ULL
#define   IOAT_CHANSTS_ACTIVE		0x0
#define   IOAT_CHANSTS_DONE		0x1
#define   IOAT_CHANSTS_SUSPENDED	0x2
#define   IOAT_CHANSTS_HALTED		0x3
#define   IOAT_CHANSTS_ARMED		0x4
#define   IOAT_CHANSTS_ADDR		(~0x3fULL)
#define IOAT_CHAINADDR			0x10	/* 64 RW */
#define IOAT_CHANCMP			0x18	/* 64 RW */
#define IOAT_CDAR			0x20	/* 64 RO current descriptor */
#define IOAT_CHANERR			0x28	/* 32 RW1C */
#define IOAT_CHANERR_MASK		0x2c	/* 32 RW */
#define IOAT_DCACTRL			0x30	/* 32 RW */

/* CHANERR bits (also logged in config CHANERR_INT) */
#define IOAT_CHANERR_SRC_ADDR		0x00001
#define IOAT_CHANERR_DEST_ADDR		0x00002
#define IOAT_CHANERR_NEXT_ADDR		0x00004
#define IOAT_CHANERR_NEXT_DESC_ALIGN	0x00008
#define IOAT_CHANERR_CHAIN_ADDR_VALUE	0x00010
#define IOAT_CHANERR_CHANCMD		0x00020
#define IOAT_CHANERR_CONTROL		0x00400
#define IOAT_CHANERR_LENGTH		0x00800
#define IOAT_CHANERR_COMPLETION_ADDR	0x01000

/* ---- the hardware descriptor --------------------------------------------- */
#define IOAT_DESC_SIZE			64
#define IOAT_DESC_INT_EN		(1u << 0)
#define IOAT_DESC_SRC_SNOOP_DIS		(1u << 1)
#define IOAT_DESC_DEST_SNOOP_DIS	(1u << 2)
#define IOAT_DESC_COMPL_WRITE		(1u << 3)
#define IOAT_DESC_FENCE			(1u << 4)
#define IOAT_DESC_NULL			(1u << 5)
#define IOAT_DESC_OP_SHIFT		24
#define IOAT_OP_COPY			0x00
#define IOAT_OP_FILL			0x01

struct ioat_hw_desc {
	uint32_t size;
	uint32_t ctl;
	uint64_t src;		/* fill: the 64-bit pattern */
	uint64_t dst;
	uint64_t next;
	uint64_t rsvd[2];
	uint64_t user[2];	/* the driver's, never read by the device */
};

#endif
