// SPDX-License-Identifier: MIT
/*
 * Helpers every VFIO driver shares: INFO capability chains with their
 * grow-and-retry protocol, SET_IRQS header validation and DEVICE_FEATURE
 * flag checks.  The rules are the uAPI's (include/uapi/linux/vfio.h and
 * the kernel's vfio_main.c / include/linux/vfio.h helpers).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "vfio.h"
#include "../base/compiler.h"

/*
 * The chain is built at offset 0 of caps->buf; each capability is padded
 * to 8 bytes so the next one is aligned once the chain follows the info
 * struct.
 */
struct vfio_info_cap_header *vfio_info_cap_add(struct vfio_info_cap *caps, size_t size,
					      uint16_t id, uint16_t version)
{
	struct vfio_info_cap_header *header, *tmp;
	uint8_t *buf;

	size = ALIGN_UP(size, sizeof(uint64_t));
	buf = realloc(caps->buf, caps->size + size);
	if (!buf) {
		vfio_info_cap_free(caps);
		caps->error = -ENOMEM;
		return NULL;
	}
	caps->buf = buf;
	header = (struct vfio_info_cap_header *)(buf + caps->size);
	memset(header, 0, size);
	header->id = id;
	header->version = version;

	/* Link from the current tail (the first cap links to itself at 0). */
	for (tmp = (struct vfio_info_cap_header *)buf; tmp->next;
	     tmp = (struct vfio_info_cap_header *)(buf + tmp->next))
		;
	tmp->next = (uint32_t)caps->size;
	caps->size += size;
	return header;
}

int vfio_info_add_capability(struct vfio_info_cap *caps,
			     const struct vfio_info_cap_header *cap, size_t size)
{
	struct vfio_info_cap_header *header;

	header = vfio_info_cap_add(caps, size, cap->id, cap->version);
	if (!header)
		return caps->error;
	memcpy(header + 1, cap + 1, size - sizeof(*header));
	return 0;
}

void vfio_info_cap_shift(struct vfio_info_cap *caps, size_t offset)
{
	struct vfio_info_cap_header *tmp;
	uint8_t *buf = caps->buf;

	if (!caps->size)
		return;
	for (tmp = (struct vfio_info_cap_header *)buf; tmp->next;
	     tmp = (struct vfio_info_cap_header *)(buf + tmp->next - offset))
		tmp->next += (uint32_t)offset;
}

void vfio_info_cap_free(struct vfio_info_cap *caps)
{
	free(caps->buf);
	caps->buf = NULL;
	caps->size = 0;
}

int vfio_info_copy_caps(struct uvf_caller *c, struct vfio_info_cap *caps, uint64_t uaddr,
			size_t minsz, uint32_t argsz, uint32_t *argsz_out,
			uint32_t *flags, uint32_t caps_flag, uint32_t *cap_offset)
{
	if (caps->error)
		return caps->error;
	if (!caps->size)
		return 0;
	*flags |= caps_flag;
	/* Too small: success anyway, with the size to retry with. */
	if (argsz < minsz + caps->size) {
		*argsz_out = (uint32_t)(minsz + caps->size);
		*cap_offset = 0;
		return 0;
	}
	vfio_info_cap_shift(caps, minsz);
	if (copy_to_user(c, uaddr + minsz, caps->buf, caps->size))
		return -EFAULT;
	*cap_offset = (uint32_t)minsz;
	return 0;
}

int vfio_set_irqs_validate_and_prepare(struct vfio_irq_set *hdr, unsigned int num_irqs,
				       unsigned int max_irq_type, size_t *data_size)
{
	size_t minsz = offsetofend(struct vfio_irq_set, count);
	size_t size;

	if (hdr->argsz < minsz || hdr->index >= max_irq_type ||
	    hdr->count >= UINT32_MAX - hdr->start ||
	    (hdr->flags & ~(VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK)))
		return -EINVAL;
	if (data_size)
		*data_size = 0;
	if (hdr->start >= num_irqs || hdr->start + hdr->count > num_irqs)
		return -EINVAL;

	switch (hdr->flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
	case VFIO_IRQ_SET_DATA_NONE:
		size = 0;
		break;
	case VFIO_IRQ_SET_DATA_BOOL:
		size = sizeof(uint8_t);
		break;
	case VFIO_IRQ_SET_DATA_EVENTFD:
		size = sizeof(int32_t);
		break;
	default:
		return -EINVAL;
	}
	if (size) {
		if (hdr->argsz - minsz < hdr->count * size)
			return -EINVAL;
		if (!data_size)
			return -EINVAL;
		*data_size = hdr->count * size;
	}
	return 0;
}

int vfio_check_feature(uint32_t flags, size_t argsz, uint32_t supported_ops, size_t minsz)
{
	if ((flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET)) & ~supported_ops)
		return -EINVAL;
	if (flags & VFIO_DEVICE_FEATURE_PROBE)
		return 0;
	/* Without PROBE, one of GET or SET. */
	if (!(flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET)))
		return -EINVAL;
	if (argsz < minsz)
		return -EINVAL;
	return 1;
}

long vfio_device_get_info_simple(struct uvf_caller *c, uint64_t arg, uint32_t flags,
				 uint32_t num_regions, uint32_t num_irqs)
{
	size_t minsz = offsetofend(struct vfio_device_info, num_irqs);
	struct vfio_device_info info;

	if (copy_from_user(c, &info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	info.flags = flags;
	info.num_regions = num_regions;
	info.num_irqs = num_irqs;
	return copy_to_user(c, arg, &info, minsz) ? -EFAULT : 0;
}

long vfio_device_get_irq_info_eventfd(struct uvf_caller *c, uint64_t arg, uint32_t num_irqs)
{
	size_t minsz = offsetofend(struct vfio_irq_info, count);
	struct vfio_irq_info info;

	if (copy_from_user(c, &info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz || info.index >= num_irqs)
		return -EINVAL;
	info.flags = VFIO_IRQ_INFO_EVENTFD;
	info.count = 1;
	return copy_to_user(c, arg, &info, minsz) ? -EFAULT : 0;
}
