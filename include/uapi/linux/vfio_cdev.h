/* SPDX-License-Identifier: MIT */
/*
 * The VFIO device cdev uAPI (/dev/vfio/devices/vfioN, Linux 6.6+) that the
 * Debian 6.1 <linux/vfio.h> lacks: binding a device fd to an iommufd and
 * attaching it to an IOAS or HWPT.  Written for uvfio; include after
 * <linux/vfio.h>.  Each block is guarded so a newer system header wins.
 */
#ifndef UVF_UAPI_VFIO_CDEV_H
#define UVF_UAPI_VFIO_CDEV_H

#include <linux/ioctl.h>
#include <linux/types.h>
#include <linux/vfio.h>

#ifndef VFIO_DEVICE_BIND_IOMMUFD
/* Bind a cdev fd to an iommufd; the only ioctl before binding. */
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
};
#define VFIO_DEVICE_BIND_IOMMUFD	_IO(VFIO_TYPE, VFIO_BASE + 18)

/* Attach (or, attached already, replace) to an IOAS or HWPT. */
struct vfio_device_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
	__u32 pt_id;			/* in: IOAS or HWPT; out: the HWPT used */
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT	_IO(VFIO_TYPE, VFIO_BASE + 19)

/* Back to the blocking domain (ownership is kept). */
struct vfio_device_detach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
};
#define VFIO_DEVICE_DETACH_IOMMUFD_PT	_IO(VFIO_TYPE, VFIO_BASE + 20)
#endif

#ifndef VFIO_NOIOMMU_IOMMU
#define VFIO_NOIOMMU_IOMMU		8
#endif

#endif
