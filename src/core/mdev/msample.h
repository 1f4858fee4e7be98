/* SPDX-License-Identifier: MIT */
/*
 * msample: the in-tree sample mdev parent (the role of the kernel's
 * samples/vfio-mdev/mtty, not its device).  A parent device
 * /sys/devices/virtual/msample/msample shares a pool of channels between
 * two types, msample-1 and msample-2 (one or two channels per instance,
 * 'available_instances' = free channels / channels per instance).  Each
 * instance is an emulated-IOMMU VFIO device, device_api "vfio-msample":
 *
 *   GET_INFO: flags RESET, 1 region, 1 irq
 *   region 0 (read/write, 4 KiB, offset 0): the registers below, accessed
 *     4 bytes at a time (SRC/DST also 8); a DOORBELL write copies LEN
 *     bytes from IOVA SRC to IOVA DST through vfio_dma_rw, synchronously
 *   irq 0: REQ (count 1, EVENTFD): signalled while a removal waits for the
 *     device to be closed; SET_IRQS takes only DATA_EVENTFD|ACTION_TRIGGER
 *     with fd -1 (clear) or an eventfd, as vfio-ap's
 *   RESET: the registers back to zero
 *
 * and a 'label' attribute in its sysfs directory (0644, 1-31 printable
 * characters; anything else -EINVAL), for per-device attribute tests
 * (mdevctl --addattr).
 */
#ifndef UVF_MDEV_MSAMPLE_H
#define UVF_MDEV_MSAMPLE_H

#define MSAMPLE_NAME		"msample"
#define MSAMPLE_DEVICE_API	"vfio-msample"
#define MSAMPLE_SYSFS_PARENT	"/devices/virtual/msample/msample"
#define MSAMPLE_MAX_CHANNELS	64

#define MSAMPLE_REGION_SIZE	4096u
#define MSAMPLE_NUM_IRQS	1u
#define MSAMPLE_REQ_IRQ_INDEX	0u
#define MSAMPLE_MAX_COPY	(64u << 10)
#define MSAMPLE_LABEL_MAX	31u

#define MSAMPLE_REG_MAGIC	0x00	/* RO u32 */
#define MSAMPLE_REG_CHANNELS	0x04	/* RO u32: channels of this instance */
#define MSAMPLE_REG_SRC		0x08	/* RW u64 */
#define MSAMPLE_REG_DST		0x10	/* RW u64 */
#define MSAMPLE_REG_LEN		0x18	/* RW u32, at most MSAMPLE_MAX_COPY */
#define MSAMPLE_REG_DOORBELL	0x1c	/* WO u32: any value starts the copy */
#define MSAMPLE_REG_STATUS	0x20	/* RO u32 */
#define MSAMPLE_REG_ERROR	0x24	/* RO u32: errno of the failed copy */
#define MSAMPLE_MAGIC		0x504d534du	/* "MSMP" */
#define MSAMPLE_STATUS_DONE	2u
#define MSAMPLE_STATUS_ERROR	4u

#endif
