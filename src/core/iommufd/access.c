// SPDX-License-Identifier: MIT
/*
 * Access objects (drivers/iommu/iommufd/device.c, the access half): users of
 * an IOAS that never DMA themselves -- emulated (mdev-style) VFIO devices,
 * the test interface -- and instead pin pages or copy through the IOAS.
 *
 * A pinning access aligns its IOAS to a page and must drop its pins when
 * asked: an unmap of a range it pinned calls its ops->unmap (with no lock
 * held) and waits until the pins are gone, as does changing or detaching
 * its IOAS.
 *
 * Lock order: access->ioas_lock -> ioas->mutex -> iopt->lock; no lock is
 * held across ops->unmap.
 */
#include <errno.h>
#include <stdlib.h>
#include "iommufd_private.h"

/* Join/leave the IOAS's access list (iopt_add/remove_access). */
static int ioas_add_access(struct iommufd_ioas *ioas, struct iommufd_access *access)
{
	struct iommufd_access_link *al;
	int rc;

	al = iommufd_should_fail() ? NULL : calloc(1, sizeof(*al));
	if (!al)
		return -ENOMEM;
	al->access = access;
	uvf_mutex_lock(&ioas->mutex);
	list_add_tail(&al->link, &ioas->access_list);
	rc = iommufd_ioas_update_alignment(ioas);
	if (rc)
		list_del_init(&al->link);
	uvf_mutex_unlock(&ioas->mutex);
	if (rc)
		free(al);
	return rc;
}

static void ioas_remove_access(struct iommufd_ioas *ioas, struct iommufd_access *access)
{
	struct iommufd_access_link *al, *tmp;

	uvf_mutex_lock(&ioas->mutex);
	list_for_each_entry_safe(al, tmp, &ioas->access_list, link) {
		if (al->access == access) {
			list_del_init(&al->link);
			free(al);
			break;
		}
	}
	iommufd_ioas_update_alignment(ioas);
	uvf_mutex_unlock(&ioas->mutex);
}

/*
 * Move the access to new_ioas (NULL: detach); access->ioas_lock held.  Pins
 * into the old IOAS are dropped through ops->unmap first.
 */
static int iommufd_access_change_ioas(struct iommufd_access *access,
				      struct iommufd_ioas *new_ioas)
{
	struct iommufd_ioas *cur = access->ioas;
	int rc;

	/* Racing a concurrent change. */
	if (cur != access->ioas_unpin)
		return -EBUSY;
	if (cur == new_ioas)
		return 0;
	/* No new pins from here; unpins still go to ioas_unpin. */
	access->ioas = NULL;
	if (new_ioas) {
		rc = ioas_add_access(new_ioas, access);
		if (rc) {
			access->ioas = cur;
			return rc;
		}
		iommufd_object_get_user(access->ictx, &new_ioas->obj);
	}
	if (cur) {
		if (access->ops->unmap) {
			uvf_mutex_unlock(&access->ioas_lock);
			access->ops->unmap(access->data, 0, UINT64_MAX);
			uvf_mutex_lock(&access->ioas_lock);
		}
		ioas_remove_access(cur, access);
		iommufd_object_put_user(access->ictx, &cur->obj);
	}
	access->ioas = new_ioas;
	access->ioas_unpin = new_ioas;
	return 0;
}

static int iommufd_access_change_ioas_id(struct iommufd_access *access, uint32_t id)
{
	struct iommufd_ioas *ioas;
	int rc = iommufd_get_ioas(access->ictx, id, &ioas);

	if (rc)
		return rc;
	rc = iommufd_access_change_ioas(access, ioas);
	iommufd_put_object(access->ictx, &ioas->obj);
	return rc;
}

void iommufd_access_destroy_object(struct iommufd_object *obj)
{
	struct iommufd_access *access = container_of(obj, struct iommufd_access, obj);

	uvf_mutex_lock(&access->ioas_lock);
	if (access->ioas)
		iommufd_access_change_ioas(access, NULL);
	uvf_mutex_unlock(&access->ioas_lock);
	uvf_mutex_destroy(&access->ioas_lock);
	iommufd_ctx_put(access->ictx);
}

int iommufd_access_create(struct iommufd_ctx *ictx, const struct iommufd_access_ops *ops,
			  void *data, uint32_t *id, struct iommufd_access **out)
{
	struct iommufd_access *access;
	int rc;

	access = iommufd_object_alloc(ictx, sizeof(*access), IOMMUFD_OBJ_ACCESS, &rc);
	if (!access)
		return rc;
	access->data = data;
	access->ops = ops;
	access->iova_alignment = ops->needs_pin_pages ? UVF_PAGE_SIZE : 1;
	uvf_mutex_init(&access->ioas_lock);
	/* The driver is a user until iommufd_access_destroy(). */
	iommufd_object_get_user(ictx, &access->obj);
	access->ictx = ictx;
	iommufd_ctx_get(ictx);
	iommufd_object_finalize(ictx, &access->obj);
	*id = access->obj.id;
	*out = access;
	return 0;
}

void iommufd_access_destroy(struct iommufd_access *access)
{
	iommufd_object_destroy_user(access->ictx, &access->obj);
}

int iommufd_access_attach(struct iommufd_access *access, uint32_t ioas_id)
{
	int rc;

	uvf_mutex_lock(&access->ioas_lock);
	rc = access->ioas ? -EINVAL : iommufd_access_change_ioas_id(access, ioas_id);
	uvf_mutex_unlock(&access->ioas_lock);
	return rc;
}

int iommufd_access_replace(struct iommufd_access *access, uint32_t ioas_id)
{
	int rc;

	uvf_mutex_lock(&access->ioas_lock);
	rc = !access->ioas ? -ENOENT : iommufd_access_change_ioas_id(access, ioas_id);
	uvf_mutex_unlock(&access->ioas_lock);
	return rc;
}

void iommufd_access_detach(struct iommufd_access *access)
{
	uvf_mutex_lock(&access->ioas_lock);
	if (access->ioas)
		iommufd_access_change_ioas(access, NULL);
	uvf_mutex_unlock(&access->ioas_lock);
}

/* Ask every access of the IOAS to drop its pins in the range. */
void iommufd_access_notify_unmap(struct io_pagetable *iopt, uint64_t iova, uint64_t length)
{
	struct iommufd_ioas *ioas = container_of(iopt, struct iommufd_ioas, iopt);
	struct iommufd_access **list = NULL;
	struct iommufd_access_link *al;
	size_t n = 0, cap = 0;

	uvf_mutex_lock(&ioas->mutex);
	list_for_each_entry(al, &ioas->access_list, link)
		cap++;
	list = cap ? calloc(cap, sizeof(*list)) : NULL;
	if (list)
		list_for_each_entry(al, &ioas->access_list, link)
			if (iommufd_lock_obj(al->access->ictx, &al->access->obj))
				list[n++] = al->access;
	uvf_mutex_unlock(&ioas->mutex);
	for (size_t i = 0; i < n; i++) {
		if (list[i]->ops->unmap)
			list[i]->ops->unmap(list[i]->data, iova, length);
		iommufd_put_object(list[i]->ictx, &list[i]->obj);
	}
	free(list);
}

static int access_range(uint64_t iova, uint64_t length)
{
	uint64_t last;

	if (!length)
		return -EINVAL;
	return check_add_overflow(iova, length - 1, &last) ? -EOVERFLOW : 0;
}

int iommufd_access_pin_pages(struct iommufd_access *access, uint64_t iova, uint64_t length,
			     unsigned int flags)
{
	int prot = flags & IOMMUFD_ACCESS_RW_WRITE ? IOPT_WRITE : IOPT_READ;
	int rc;

	/* Only accesses that can give pins back may take them. */
	if (access->iova_alignment != UVF_PAGE_SIZE || !access->ops->unmap)
		return -EINVAL;
	rc = access_range(iova, length);
	if (rc)
		return rc;
	uvf_mutex_lock(&access->ioas_lock);
	rc = access->ioas ? iopt_access_pin(&access->ioas->iopt, iova, length, prot) : -ENOENT;
	uvf_mutex_unlock(&access->ioas_lock);
	return rc;
}

void iommufd_access_unpin_pages(struct iommufd_access *access, uint64_t iova,
				uint64_t length)
{
	if (access_range(iova, length))
		return;
	uvf_mutex_lock(&access->ioas_lock);
	if (access->ioas_unpin)
		iopt_access_unpin(&access->ioas_unpin->iopt, iova, length);
	uvf_mutex_unlock(&access->ioas_lock);
}

int iommufd_access_rw(struct iommufd_access *access, uint64_t iova, void *data,
		      uint64_t length, unsigned int flags)
{
	int rc = access_range(iova, length);

	if (rc)
		return rc;
	uvf_mutex_lock(&access->ioas_lock);
	rc = access->ioas ? iopt_access_rw(&access->ioas->iopt, iova, data, length,
					   flags & IOMMUFD_ACCESS_RW_WRITE)
			  : -ENOENT;
	uvf_mutex_unlock(&access->ioas_lock);
	return rc;
}
