// SPDX-License-Identifier: MIT
/*
 * Fault queues (drivers/iommu/iommufd/fault.c): IOMMU_FAULT_QUEUE_ALLOC
 * makes a FAULT object and an fd.  A HWPT allocated with its id receives
 * the page requests (PRI) of devices attached to it; read() returns them as
 * struct iommu_hwpt_pgfault records, each with a cookie, and write() takes
 * struct iommu_hwpt_page_response records answering a cookie.
 *
 * Faults still pending when their device leaves the HWPT, or when the queue
 * is destroyed, are answered INVALID on the device's behalf.
 *
 * Lock order: fault->mutex is a leaf.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include "iommufd_private.h"
#include "../host/file.h"

/* One page request (an iopf group of one fault). */
struct iommufd_fault_group {
	struct list_head node;		/* in fault->deliver while unread */
	uint32_t cookie;		/* in fault->response once read */
	struct iommufd_device *idev;	/* not referenced: removed before it goes */
	struct iommu_hwpt_pgfault rec;
};

static void fault_free_groups(struct iommufd_fault *fault, struct iommufd_device *only)
{
	struct iommufd_fault_group *g, *tmp;

	list_for_each_entry_safe(g, tmp, &fault->deliver, node) {
		if (only && g->idev != only)
			continue;
		list_del_init(&g->node);
		free(g);
	}
	for (uint32_t id = 1; id < fault->response.nslots; id++) {
		g = idtable_find(&fault->response, id);
		if (g && (!only || g->idev == only)) {
			idtable_remove(&fault->response, id);
			free(g);
		}
	}
}

void iommufd_fault_destroy(struct iommufd_object *obj)
{
	struct iommufd_fault *fault = container_of(obj, struct iommufd_fault, obj);

	/* Nobody can answer any more: every pending fault is INVALID. */
	fault_free_groups(fault, NULL);
	idtable_destroy(&fault->response);
	uvf_mutex_destroy(&fault->mutex);
}

void iommufd_fault_auto_response(struct iommufd_hw_pagetable *hwpt,
				 struct iommufd_device *idev)
{
	struct iommufd_fault *fault = hwpt->fault;

	if (!fault)
		return;
	uvf_mutex_lock(&fault->mutex);
	fault_free_groups(fault, idev);
	uvf_mutex_unlock(&fault->mutex);
}

int iommufd_fault_report(struct iommufd_device *idev, uint32_t flags, uint32_t pasid,
			 uint32_t grpid, uint32_t perm, uint64_t addr)
{
	struct iommufd_hw_pagetable *hwpt;
	struct iommufd_fault_group *g;
	int rc = 0;

	uvf_mutex_lock(&idev->igroup->lock);
	hwpt = idev->igroup->hwpt;
	/* No queue to deliver to: the IOMMU answers the device itself. */
	if (!hwpt || !hwpt->fault || !idev->iopf_enabled)
		goto out;
	g = calloc(1, sizeof(*g));
	if (!g) {
		rc = -ENOMEM;
		goto out;
	}
	g->idev = idev;
	g->rec = (struct iommu_hwpt_pgfault){
		.flags = flags, .dev_id = idev->obj.id, .pasid = pasid, .grpid = grpid,
		.perm = perm, .addr = addr,
	};
	uvf_mutex_lock(&hwpt->fault->mutex);
	list_add_tail(&g->node, &hwpt->fault->deliver);
	uvf_mutex_unlock(&hwpt->fault->mutex);
out:
	uvf_mutex_unlock(&idev->igroup->lock);
	return rc;
}

/* ---- the fault fd ---------------------------------------------------------------------- */

/* Hand one pending fault to the reader at ubuf: a cookie, then the record. */
static int fault_read_one(struct iommufd_fault *fault, struct uvf_caller *c, uint64_t ubuf)
{
	struct iommufd_fault_group *g = list_first_entry(&fault->deliver,
							 struct iommufd_fault_group, node);
	int64_t cookie = idtable_alloc(&fault->response, g, 1, UINT32_MAX);

	if (cookie < 0)
		return (int)cookie;
	g->cookie = (uint32_t)cookie;
	g->rec.cookie = g->cookie;
	if (copy_to_user(c, ubuf, &g->rec, sizeof(g->rec))) {
		idtable_remove(&fault->response, g->cookie);
		return -EFAULT;
	}
	list_del_init(&g->node);
	return 0;
}

static ssize_t iommufd_fault_fops_read(struct uvf_file *f, struct uvf_caller *c, uint64_t ubuf,
				       size_t count, uint64_t pos)
{
	const size_t rec = sizeof(struct iommu_hwpt_pgfault);
	struct iommufd_fault *fault = f->private_data;
	size_t done = 0;
	int rc = 0;

	if (pos || count % rec)
		return -ESPIPE;
	uvf_mutex_lock(&fault->mutex);
	while (!list_empty(&fault->deliver)) {
		if (count - done < rec) {
			/* The buffer does not hold the first record. */
			if (!done)
				rc = -EINVAL;
			break;
		}
		rc = fault_read_one(fault, c, ubuf + done);
		if (rc)
			break;
		done += rec;
	}
	uvf_mutex_unlock(&fault->mutex);
	return done ? (ssize_t)done : rc;
}

static ssize_t iommufd_fault_fops_write(struct uvf_file *f, struct uvf_caller *c,
					uint64_t ubuf, size_t count, uint64_t pos)
{
	const size_t rec = sizeof(struct iommu_hwpt_page_response);
	struct iommufd_fault *fault = f->private_data;
	struct iommu_hwpt_page_response response;
	struct iommufd_fault_group *g;
	size_t done = 0;
	int rc = 0;

	if (pos || count % rec)
		return -ESPIPE;
	uvf_mutex_lock(&fault->mutex);
	while (count > done) {
		if (copy_from_user(c, &response, ubuf + done, rec)) {
			rc = -EFAULT;
			break;
		}
		if (response.code != IOMMUFD_PAGE_RESP_SUCCESS &&
		    response.code != IOMMUFD_PAGE_RESP_INVALID) {
			rc = -EINVAL;
			break;
		}
		g = idtable_remove(&fault->response, response.cookie);
		if (!g) {
			rc = -EINVAL;
			break;
		}
		/* The device gets its answer; the request is done. */
		free(g);
		done += rec;
	}
	uvf_mutex_unlock(&fault->mutex);
	return done ? (ssize_t)done : rc;
}

static void iommufd_fault_fops_release(struct uvf_file *f)
{
	struct iommufd_fault *fault = f->private_data;
	struct iommufd_ctx *ictx = fault->ictx;

	iommufd_object_put_user(ictx, &fault->obj);
	iommufd_ctx_put(ictx);
}

static const struct uvf_file_ops iommufd_fault_fops = {
	.name = "iommufd-fault",
	.read = iommufd_fault_fops_read,
	.write = iommufd_fault_fops_write,
	.release = iommufd_fault_fops_release,
};

int iommufd_get_fault(struct iommufd_ctx *ictx, uint32_t id, struct iommufd_fault **out)
{
	struct iommufd_object *obj;
	int rc = iommufd_get_object(ictx, id, IOMMUFD_OBJ_FAULT, &obj);

	if (!rc)
		*out = container_of(obj, struct iommufd_fault, obj);
	return rc;
}

int iommufd_fault_alloc(struct iommufd_ucmd *ucmd)
{
	struct iommu_fault_alloc *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_fault *fault;
	struct uvf_file *f;
	int rc, fd;

	if (cmd->flags)
		return -EOPNOTSUPP;
	fault = iommufd_object_alloc(ictx, sizeof(*fault), IOMMUFD_OBJ_FAULT, &rc);
	if (!fault)
		return rc;
	fault->ictx = ictx;
	list_init(&fault->deliver);
	idtable_init(&fault->response);
	uvf_mutex_init(&fault->mutex);
	f = file_alloc(ictx->core->host, &iommufd_fault_fops, fault, O_RDWR, ucmd->caller);
	if (!f) {
		iommufd_object_abort_and_destroy(ictx, &fault->obj);
		return -ENOMEM;
	}
	/* The file holds the queue and the iommufd until it is closed. */
	fault->file = f;
	iommufd_object_get_user(ictx, &fault->obj);
	iommufd_ctx_get(ictx);
	iommufd_object_finalize(ictx, &fault->obj);
	fd = caller_fd_install(ucmd->caller, f, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fd;
	cmd->out_fault_id = fault->obj.id;
	cmd->out_fault_fd = (uint32_t)fd;
	return iommufd_ucmd_respond(ucmd, sizeof(*cmd));
}
