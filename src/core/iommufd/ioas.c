// SPDX-License-Identifier: MIT
/*
 * IOAS objects (drivers/iommu/iommufd/ioas.c): an IO address space, one io
 * page table each, and its ioctls: ALLOC, IOVA_RANGES, ALLOW_IOVAS, MAP,
 * MAP_FILE, COPY, UNMAP and the options (RLIMIT_MODE, HUGE_PAGES).
 *
 * The table's alignment follows what uses it (iopt_calculate_iova_alignment):
 * a page without large pages, else 1; at least the smallest page size of
 * every domain (HWPT_PAGING) and the alignment of every access.  A domain
 * joining the table reserves what lies outside its aperture and pins every
 * mapping (lazy pinning: a table without domains pins nothing).
 *
 * Lock order: ioas->mutex -> iopt->lock -> pages locks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "iommufd_private.h"
#include "../iommu/iommu.h"
#include "../host/host.h"

void iommufd_ioas_destroy(struct iommufd_object *obj)
{
	struct iommufd_ioas *ioas = container_of(obj, struct iommufd_ioas, obj);

	iopt_unmap_all(&ioas->iopt, NULL);
	iopt_destroy(&ioas->iopt);
	uvf_mutex_destroy(&ioas->mutex);
}

int iommufd_ioas_alloc(struct iommufd_ctx *ictx, struct iommufd_ioas **out)
{
	struct iommufd_ioas *ioas;
	int rc;

	ioas = iommufd_object_alloc(ictx, sizeof(*ioas), IOMMUFD_OBJ_IOAS, &rc);
	if (!ioas)
		return rc;
	/* A software table starts with the whole IOVA space, alignment 1. */
	iopt_init(&ioas->iopt, 1);
	ioas->iopt.notify_unmap = iommufd_access_notify_unmap;
	ioas->ictx = ictx;
	uvf_mutex_init(&ioas->mutex);
	list_init(&ioas->hwpt_list);
	list_init(&ioas->access_list);
	*out = ioas;
	return 0;
}

int iommufd_get_ioas(struct iommufd_ctx *ictx, uint32_t id, struct iommufd_ioas **out)
{
	struct iommufd_object *obj;
	int rc = iommufd_get_object(ictx, id, IOMMUFD_OBJ_IOAS, &obj);

	if (!rc)
		*out = container_of(obj, struct iommufd_ioas, obj);
	return rc;
}

int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_alloc *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	int rc;

	if (cmd->flags)
		return -EOPNOTSUPP;
	rc = iommufd_ioas_alloc(ucmd->ictx, &ioas);
	if (rc)
		return rc;
	cmd->out_ioas_id = ioas->obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc) {
		iommufd_object_abort_and_destroy(ucmd->ictx, &ioas->obj);
		return rc;
	}
	iommufd_object_finalize(ucmd->ictx, &ioas->obj);
	return 0;
}

/* ---- alignment and domains -------------------------------------------------------- */

static uint64_t pgsize_min(uint64_t bitmap)
{
	return bitmap & -bitmap;
}

int iommufd_ioas_update_alignment(struct iommufd_ioas *ioas)
{
	uint64_t align = ioas->iopt.disable_large_pages ? UVF_PAGE_SIZE : 1;
	struct iommufd_hwpt_paging *hwpt;
	struct iommufd_access_link *al;

	list_for_each_entry(hwpt, &ioas->hwpt_list, hwpt_item)
		align = uvf_max(align, pgsize_min(hwpt->common.domain->pgsize_bitmap));
	list_for_each_entry(al, &ioas->access_list, link)
		align = uvf_max(align, al->access->iova_alignment);
	return iopt_set_alignment(&ioas->iopt, align);
}

/* What lies outside a domain's aperture is reserved for it. */
static int ioas_reserve_aperture(struct iommufd_ioas *ioas, const struct iommu_domain *d,
				 const void *owner)
{
	int rc = 0;

	if (d->aperture_start)
		rc = iopt_reserve_owner(&ioas->iopt, 0, d->aperture_start - 1, owner);
	if (!rc && d->aperture_end != UINT64_MAX)
		rc = iopt_reserve_owner(&ioas->iopt, d->aperture_end + 1, UINT64_MAX, owner);
	return rc;
}

int iommufd_ioas_add_domain(struct iommufd_ioas *ioas, struct iommufd_hwpt_paging *hwpt)
{
	const struct iommu_domain *d = hwpt->common.domain;
	uint64_t align = uvf_max(pgsize_min(d->pgsize_bitmap), ioas->iopt.iova_alignment);
	int rc;

	/* Pages are never more contiguous than a page. */
	if (align > UVF_PAGE_SIZE)
		return -EINVAL;
	rc = iopt_set_alignment(&ioas->iopt, align);
	if (rc)
		return rc;
	rc = ioas_reserve_aperture(ioas, d, hwpt);
	if (!rc)
		rc = iopt_add_pin_user(&ioas->iopt);
	if (rc) {
		iopt_unreserve_owner(&ioas->iopt, hwpt);
		iommufd_ioas_update_alignment(ioas);
		return rc;
	}
	list_add_tail(&hwpt->hwpt_item, &ioas->hwpt_list);
	return 0;
}

void iommufd_ioas_remove_domain(struct iommufd_ioas *ioas, struct iommufd_hwpt_paging *hwpt)
{
	list_del_init(&hwpt->hwpt_item);
	iopt_del_pin_user(&ioas->iopt);
	iopt_unreserve_owner(&ioas->iopt, hwpt);
	iommufd_ioas_update_alignment(ioas);
}

/* ---- IOVA ranges --------------------------------------------------------------------- */

int iommufd_ioas_iova_ranges(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_iova_ranges *cmd = ucmd->cmd;
	struct iopt_range *ranges = NULL;
	struct iommufd_ioas *ioas;
	uint32_t max_iovas;
	size_t n;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	rc = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id, &ioas);
	if (rc)
		return rc;
	max_iovas = cmd->num_iovas;
	n = iopt_iova_ranges(&ioas->iopt, NULL, 0);
	ranges = calloc(n, sizeof(*ranges));
	if (!ranges) {
		rc = -ENOMEM;
		goto out;
	}
	n = iopt_iova_ranges(&ioas->iopt, ranges, n);
	for (size_t i = 0; i < n && i < max_iovas; i++) {
		struct iommu_iova_range elm = { .start = ranges[i].start, .last = ranges[i].last };

		if (copy_to_user(ucmd->caller, cmd->allowed_iovas + i * sizeof(elm), &elm,
				 sizeof(elm))) {
			rc = -EFAULT;
			goto out;
		}
	}
	cmd->num_iovas = (uint32_t)n;
	cmd->out_iova_alignment = ioas->iopt.iova_alignment;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (!rc && n > max_iovas)
		rc = -EMSGSIZE;
out:
	free(ranges);
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/* Read the user's range array (one element at a time: a short buffer is
 * -EFAULT where it ends, not a huge allocation first). */
static int ioas_load_iovas(struct uvf_caller *c, uint64_t uptr, uint32_t num,
			   struct iopt_range **out)
{
	struct iopt_range *r = NULL;
	uint32_t cap = 0;

	for (uint32_t i = 0; i < num; i++) {
		struct iommu_iova_range range;

		if (copy_from_user(c, &range, uptr + (uint64_t)i * sizeof(range), sizeof(range))) {
			free(r);
			return -EFAULT;
		}
		if (i == cap) {
			void *grown;

			cap = cap ? 2 * cap : 8;
			grown = realloc(r, (size_t)cap * sizeof(*r));
			if (!grown) {
				free(r);
				return -ENOMEM;
			}
			r = grown;
		}
		r[i] = (struct iopt_range){ range.start, range.last };
	}
	*out = r;
	return 0;
}

int iommufd_ioas_allow_iovas(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_allow_iovas *cmd = ucmd->cmd;
	struct iopt_range *ranges = NULL;
	struct iommufd_ioas *ioas;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	rc = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id, &ioas);
	if (rc)
		return rc;
	rc = ioas_load_iovas(ucmd->caller, cmd->allowed_iovas, cmd->num_iovas, &ranges);
	if (!rc)
		rc = iopt_set_allow_iova(&ioas->iopt, ranges, cmd->num_iovas);
	free(ranges);
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/* ---- map, copy, unmap ----------------------------------------------------------------- */

static int conv_iommu_prot(uint32_t map_flags)
{
	int prot = 0;

	if (map_flags & IOMMU_IOAS_MAP_WRITEABLE)
		prot |= IOPT_WRITE;
	if (map_flags & IOMMU_IOAS_MAP_READABLE)
		prot |= IOPT_READ;
	return prot;
}

/* Map a new pages object whole; the table takes its own reference.  A
 * fixed IOVA over a reserved range is -EINVAL in iommufd. */
static int ioas_map_new_pages(struct iommufd_ioas *ioas, struct iopt_pages *pages,
			      uint64_t *iova, int prot, unsigned int flags)
{
	struct iopt_pages_slice slice = { .pages = pages, .start = 0, .length = pages->length };
	int rc = iopt_map_pages(&ioas->iopt, iova, &slice, 1, prot, flags);

	iopt_pages_put(pages);
	return rc == -EADDRINUSE ? -EINVAL : rc;
}

int iommufd_ioas_map_user(struct iommufd_ucmd *ucmd, struct iommufd_ioas *ioas,
			  uint64_t *iova, uint64_t uaddr, uint64_t length, int prot,
			  unsigned int flags)
{
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iopt_pages *pages;
	int rc;

	rc = iopt_pages_new_user(ucmd->caller->mm, uaddr, length, prot & IOPT_WRITE,
				 &ictx->core->pins, &pages);
	if (rc)
		return rc;
	rc = iommufd_pages_account(ictx, ucmd->caller, pages);
	if (rc) {
		iopt_pages_put(pages);
		return rc;
	}
	return ioas_map_new_pages(ioas, pages, iova, prot, flags);
}

/* Flags shared by MAP, MAP_FILE and COPY: -EOPNOTSUPP unknown, -EINVAL
 * neither readable nor writeable. */
static int ioas_check_map_flags(uint32_t flags)
{
	if (flags & ~(IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE |
		      IOMMU_IOAS_MAP_READABLE))
		return -EOPNOTSUPP;
	return 0;
}

int iommufd_ioas_map(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_map *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	uint64_t iova = cmd->iova;
	int rc;

	if (ioas_check_map_flags(cmd->flags) || cmd->__reserved)
		return -EOPNOTSUPP;
	if (cmd->iova == UINT64_MAX || cmd->length == UINT64_MAX)
		return -EOVERFLOW;
	if (!(cmd->flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)))
		return -EINVAL;
	rc = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id, &ioas);
	if (rc)
		return rc;
	rc = iommufd_ioas_map_user(ucmd, ioas, &iova, cmd->user_va, cmd->length,
				   conv_iommu_prot(cmd->flags),
				   cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA ? IOPT_MAP_FIXED : 0);
	if (!rc) {
		cmd->iova = iova;
		rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/* ---- MAP_FILE ---------------------------------------------------------------------- */

struct ioas_file_mem {
	int fd;
};

static void ioas_file_mem_release(struct uvf_memobj *m)
{
	struct ioas_file_mem *fm = m->priv;

	munmap(m->base, m->size);
	close(fm->fd);
	free(fm);
	free(m);
}

/* The whole file behind the caller's fd as a memory object (taking the fd). */
static int ioas_file_memobj(int fd, bool writable, struct uvf_memobj **out)
{
	struct ioas_file_mem *fm = calloc(1, sizeof(*fm));
	struct uvf_memobj *m = calloc(1, sizeof(*m));
	struct stat st;
	void *base;
	int rc = -ENOMEM;

	if (!fm || !m)
		goto fail;
	rc = -EINVAL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0)
		goto fail;
	base = mmap(NULL, (size_t)st.st_size, PROT_READ | (writable ? PROT_WRITE : 0),
		    MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		rc = errno == EACCES ? -EPERM : -EINVAL;
		goto fail;
	}
	uvf_ref_init(&m->ref);
	m->kind = UVF_MEMOBJ_DIRECT;
	m->base = base;
	m->mem_fd = -1;
	m->size = (uint64_t)st.st_size;
	m->readonly = !writable;
	m->release = ioas_file_mem_release;
	fm->fd = fd;
	m->priv = fm;
	*out = m;
	return 0;
fail:
	close(fd);
	free(fm);
	free(m);
	return rc;
}

int iommufd_ioas_map_file(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_map_file *cmd = ucmd->cmd;
	int prot = conv_iommu_prot(cmd->flags);
	struct uvf_mem_seg seg = { 0 };
	struct iommufd_ioas *ioas;
	struct iopt_pages *pages;
	uint64_t iova = cmd->iova, end;
	int rc, fd;

	if (ioas_check_map_flags(cmd->flags))
		return -EOPNOTSUPP;
	if (cmd->iova == UINT64_MAX || cmd->length == UINT64_MAX ||
	    check_add_overflow(cmd->start, cmd->length, &end))
		return -EOVERFLOW;
	if (!prot)
		return -EINVAL;
	rc = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id, &ioas);
	if (rc)
		return rc;
	fd = caller_fget_raw(ucmd->caller, cmd->fd);
	rc = fd < 0 ? -EBADF : ioas_file_memobj(fd, prot & IOPT_WRITE, &seg.obj);
	if (rc)
		goto out;
	rc = -EINVAL;
	if (!cmd->length || end > seg.obj->size)
		goto out_obj;
	seg.off = cmd->start;
	seg.len = cmd->length;
	rc = iopt_pages_new_mem(&seg, 1, cmd->start, prot & IOPT_WRITE,
				&ucmd->ictx->core->pins, &pages);
	if (rc)
		goto out_obj;
	seg.obj = NULL;		/* the pages own it */
	rc = iommufd_pages_account(ucmd->ictx, ucmd->caller, pages);
	if (rc) {
		iopt_pages_put(pages);
		goto out;
	}
	rc = ioas_map_new_pages(ioas, pages, &iova, prot,
				cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA ? IOPT_MAP_FIXED : 0);
	if (!rc) {
		cmd->iova = iova;
		rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
	goto out;
out_obj:
	memobj_put(seg.obj);
out:
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

int iommufd_ioas_copy(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_copy *cmd = ucmd->cmd;
	struct iopt_pages_slice *slices = NULL;
	struct iommufd_ioas *src, *dst;
	uint64_t iova = cmd->dst_iova;
	size_t n = 0;
	int rc;

	if (ioas_check_map_flags(cmd->flags))
		return -EOPNOTSUPP;
	if (cmd->length == UINT64_MAX || cmd->src_iova == UINT64_MAX ||
	    cmd->dst_iova == UINT64_MAX)
		return -EOVERFLOW;
	if (!conv_iommu_prot(cmd->flags))
		return -EINVAL;
	rc = iommufd_get_ioas(ucmd->ictx, cmd->src_ioas_id, &src);
	if (rc)
		return rc;
	rc = iopt_get_pages(&src->iopt, cmd->src_iova, cmd->length, &slices, &n);
	iommufd_put_object(ucmd->ictx, &src->obj);
	if (rc)
		return rc;
	rc = iommufd_get_ioas(ucmd->ictx, cmd->dst_ioas_id, &dst);
	if (rc)
		goto out;
	/* The same pages: nothing is pinned twice. */
	rc = iopt_map_pages(&dst->iopt, &iova, slices, n, conv_iommu_prot(cmd->flags),
			    cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA ? IOPT_MAP_FIXED : 0);
	if (rc == -EADDRINUSE)
		rc = -EINVAL;
	if (!rc) {
		cmd->dst_iova = iova;
		rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
	iommufd_put_object(ucmd->ictx, &dst->obj);
out:
	iopt_put_pages_slices(slices, n);
	return rc;
}

int iommufd_ioas_unmap(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_unmap *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	uint64_t unmapped = 0;
	int rc;

	rc = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id, &ioas);
	if (rc)
		return rc;
	if (cmd->iova == 0 && cmd->length == UINT64_MAX) {
		rc = iopt_unmap_all(&ioas->iopt, &unmapped);
	} else if (cmd->iova == UINT64_MAX || cmd->length == UINT64_MAX) {
		rc = -EOVERFLOW;
	} else {
		rc = iopt_unmap(&ioas->iopt, cmd->iova, cmd->length, IOPT_UNMAP_IOMMUFD,
				&unmapped);
		if (!rc && !unmapped)
			rc = -ENOENT;
	}
	if (!rc) {
		cmd->length = unmapped;
		rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/* ---- options ---------------------------------------------------------------------------- */

static int iommufd_option_rlimit_mode(struct iommu_option *cmd, struct iommufd_ucmd *ucmd)
{
	struct iommufd_ctx *ictx = ucmd->ictx;
	int rc = 0;

	if (cmd->object_id)
		return -EOPNOTSUPP;
	if (cmd->op == IOMMU_OPTION_OP_GET) {
		cmd->val64 = ictx->account_mode == IOPT_PAGES_ACCOUNT_MM;
		return 0;
	}
	if (cmd->op != IOMMU_OPTION_OP_SET)
		return -EOPNOTSUPP;
	if (!capable(ucmd->caller, UVF_CAP_SYS_RESOURCE))
		return -EPERM;
	uvf_mutex_lock(&ictx->lock);
	if (ictx->objects.count)
		rc = -EBUSY;
	else if (cmd->val64 == 0)
		ictx->account_mode = IOPT_PAGES_ACCOUNT_USER;
	else if (cmd->val64 == 1)
		ictx->account_mode = IOPT_PAGES_ACCOUNT_MM;
	else
		rc = -EINVAL;
	uvf_mutex_unlock(&ictx->lock);
	return rc;
}

int iommufd_ioas_disable_large_pages(struct iommufd_ioas *ioas)
{
	int rc = 0;

	uvf_mutex_lock(&ioas->mutex);
	if (ioas->iopt.disable_large_pages)
		goto out;
	/* Not once domains may have large IOPTEs for existing mappings. */
	if (!list_empty(&ioas->hwpt_list) && iopt_area_count(&ioas->iopt)) {
		rc = -EINVAL;
		goto out;
	}
	ioas->iopt.disable_large_pages = true;
	rc = iommufd_ioas_update_alignment(ioas);
	if (rc)
		ioas->iopt.disable_large_pages = false;
out:
	uvf_mutex_unlock(&ioas->mutex);
	return rc;
}

void iommufd_ioas_enable_large_pages(struct iommufd_ioas *ioas)
{
	uvf_mutex_lock(&ioas->mutex);
	ioas->iopt.disable_large_pages = false;
	iommufd_ioas_update_alignment(ioas);
	uvf_mutex_unlock(&ioas->mutex);
}

static int iommufd_ioas_option_huge_pages(struct iommu_option *cmd, struct iommufd_ioas *ioas)
{
	if (cmd->op == IOMMU_OPTION_OP_GET) {
		cmd->val64 = !ioas->iopt.disable_large_pages;
		return 0;
	}
	if (cmd->op != IOMMU_OPTION_OP_SET)
		return -EOPNOTSUPP;
	if (cmd->val64 == 0)
		return iommufd_ioas_disable_large_pages(ioas);
	if (cmd->val64 == 1) {
		iommufd_ioas_enable_large_pages(ioas);
		return 0;
	}
	return -EINVAL;
}

static int iommufd_ioas_option(struct iommu_option *cmd, struct iommufd_ucmd *ucmd)
{
	struct iommufd_ioas *ioas;
	int rc;

	rc = iommufd_get_ioas(ucmd->ictx, cmd->object_id, &ioas);
	if (rc)
		return rc;
	rc = iommufd_ioas_option_huge_pages(cmd, ioas);
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

int iommufd_option(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	switch (cmd->option_id) {
	case IOMMU_OPTION_RLIMIT_MODE:
		rc = iommufd_option_rlimit_mode(cmd, ucmd);
		break;
	case IOMMU_OPTION_HUGE_PAGES:
		rc = iommufd_ioas_option(cmd, ucmd);
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (rc)
		return rc;
	/* Only val64 goes back. */
	return copy_to_user(ucmd->caller, ucmd->ubuffer + offsetof(struct iommu_option, val64),
			    &cmd->val64, sizeof(cmd->val64)) ? -EFAULT : 0;
}
