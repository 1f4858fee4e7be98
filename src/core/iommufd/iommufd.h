/* SPDX-License-Identifier: MIT */
/*
 * The iommufd layer (drivers/iommu/iommufd) as the rest of the core sees it
 * (include/linux/iommufd.h): the per-host core behind /dev/iommu, the
 * context of an open iommufd, and what drivers -- the VFIO device core --
 * use of it: binding a device (which claims its DMA ownership), attaching
 * it to an IOAS or HWPT, access objects for devices that never DMA by
 * themselves, and the VFIO container compatibility IOAS.
 *
 * Every function returns 0 or -errno.  Objects returned here belong to
 * their context and stay valid until the matching unbind/destroy.
 */
#ifndef UVF_IOMMUFD_H
#define UVF_IOMMUFD_H

#include <stdint.h>
#include <stdbool.h>

struct uvf_host;
struct uvf_caller;
struct uvf_file;
struct uvf_device;
struct iommufd_ctx;
struct iommufd_device;
struct iommufd_access;
struct fail_nth_table;

/* The host's iommufd: /dev/iommu, pin registry, accounts, fault injection.
 * host_new()/host_free() call these. */
int iommufd_core_init(struct uvf_host *h);
void iommufd_core_exit(struct uvf_host *h);

/*
 * A new iommufd context as an open file.  'vfio_container' is an open of
 * /dev/vfio/vfio served by iommufd (the host option iommufd_vfio_container,
 * the kernel's CONFIG_IOMMUFD_VFIO_CONTAINER): accounting defaults to the
 * mm, as VFIO's.
 */
int iommufd_open_file(struct uvf_host *h, struct uvf_caller *c, int flags,
		      bool vfio_container, struct uvf_file **out);
/* The context of an iommufd file, or NULL (no reference taken). */
struct iommufd_ctx *iommufd_ctx_from_file(struct uvf_file *f);
/* The context of the caller's fd with a reference: -EBADF, -EBADFD. */
int iommufd_ctx_from_fd(struct uvf_caller *c, int fd, struct iommufd_ctx **out);
void iommufd_ctx_get(struct iommufd_ctx *ictx);
void iommufd_ctx_put(struct iommufd_ctx *ictx);

/*
 * Bind a device: claims DMA ownership of it for the context (-EPERM
 * another owner, -EBUSY), refuses a device without cache coherency
 * (-EINVAL), without an IOMMU group (-ENODEV), or whose group cannot
 * isolate MSI unless iommufd's allow_unsafe_interrupts (-EPERM).  Returns
 * the DEVICE object id.  Unbind detaches first if attached.
 */
int iommufd_device_bind(struct iommufd_ctx *ictx, struct uvf_device *dev, uint32_t *id,
			struct iommufd_device **out);
void iommufd_device_unbind(struct iommufd_device *idev);
/* Attach to an IOAS (a compatible automatic HWPT is found or made) or a
 * HWPT; *pt_id returns the HWPT.  Replace changes an attachment. */
int iommufd_device_attach(struct iommufd_device *idev, uint32_t *pt_id);
int iommufd_device_replace(struct iommufd_device *idev, uint32_t *pt_id);
/* Back to the blocking domain. */
void iommufd_device_detach(struct iommufd_device *idev);
struct iommufd_ctx *iommufd_device_to_ictx(struct iommufd_device *idev);
uint32_t iommufd_device_to_id(struct iommufd_device *idev);
/* Is any device of this IOMMU group bound to ictx? */
bool iommufd_ctx_has_group(struct iommufd_ctx *ictx, const void *iommu_group);

/* In-kernel users of an IOAS: pin pages or copy through it. */
struct iommufd_access_ops {
	bool needs_pin_pages;
	/* Drop every pin inside [iova, iova + length) before returning. */
	void (*unmap)(void *data, uint64_t iova, uint64_t length);
};

#define IOMMUFD_ACCESS_RW_READ		0
#define IOMMUFD_ACCESS_RW_WRITE		(1 << 0)
#define IOMMUFD_ACCESS_RW_SLOW_PATH	(1 << 2)	/* test only: same result */

int iommufd_access_create(struct iommufd_ctx *ictx, const struct iommufd_access_ops *ops,
			  void *data, uint32_t *id, struct iommufd_access **out);
void iommufd_access_destroy(struct iommufd_access *access);
int iommufd_access_attach(struct iommufd_access *access, uint32_t ioas_id);
int iommufd_access_replace(struct iommufd_access *access, uint32_t ioas_id);
void iommufd_access_detach(struct iommufd_access *access);
/* prot: IOMMUFD_ACCESS_RW_WRITE to pin for writing. */
int iommufd_access_pin_pages(struct iommufd_access *access, uint64_t iova, uint64_t length,
			     unsigned int flags);
void iommufd_access_unpin_pages(struct iommufd_access *access, uint64_t iova,
				uint64_t length);
int iommufd_access_rw(struct iommufd_access *access, uint64_t iova, void *data,
		      uint64_t length, unsigned int flags);

/* VFIO container compatibility (group SET_CONTAINER with an iommufd). */
int iommufd_vfio_compat_ioas_create(struct iommufd_ctx *ictx);
int iommufd_vfio_compat_ioas_get_id(struct iommufd_ctx *ictx, uint32_t *out_ioas_id);
int iommufd_vfio_compat_set_no_iommu(struct iommufd_ctx *ictx);

/* The host's fail-nth counters, for the transport's proc file. */
struct fail_nth_table *iommufd_fail_nth_table(struct uvf_host *h);

#endif
