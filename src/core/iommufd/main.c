// SPDX-License-Identifier: MIT
/*
 * iommufd (drivers/iommu/iommufd/main.c): the host's /dev/iommu, the
 * context of each open, its object table and the ioctl dispatch with the
 * extensible-struct rules:
 *
 *   - the first u32 of the argument is its size: unreadable -> -EFAULT;
 *   - a command number outside the table goes to the VFIO type1 compat
 *     ioctls (vfio_compat.c), whose unknown commands are -ENOTTY;
 *   - size below the command's minimum -> -EINVAL;
 *   - size above what uvfio knows with a non-zero tail -> -E2BIG;
 *   - the handlers answer -EOPNOTSUPP for non-zero reserved fields and
 *     unknown flags, and copy back at most 'size' bytes.
 *
 * IOMMU_TEST_CMD is in the table only with the host option iommufd_test
 * (CONFIG_IOMMUFD_TEST), which also enables fail-nth fault injection for
 * every call made through an iommufd.
 *
 * Lock order: ictx->lock is a leaf: the table, every object's counts and
 * vfio_ioas.  No object's destroy runs under it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include "iommufd_private.h"
#include "iommufd_test.h"
#include "../host/host.h"
#include "../host/file.h"
#include "../base/log.h"

#define IOMMUFD_OBJ_ID_MAX	INT32_MAX	/* xa_limit_31b */

/* ---- objects ------------------------------------------------------------------ */

typedef void (*iommufd_destroy_fn)(struct iommufd_object *obj);

static const iommufd_destroy_fn iommufd_destroy_ops[IOMMUFD_OBJ_MAX] = {
	[IOMMUFD_OBJ_DEVICE] = iommufd_device_destroy,
	[IOMMUFD_OBJ_HWPT_PAGING] = iommufd_hwpt_paging_destroy,
	[IOMMUFD_OBJ_HWPT_NESTED] = iommufd_hwpt_nested_destroy,
	[IOMMUFD_OBJ_IOAS] = iommufd_ioas_destroy,
	[IOMMUFD_OBJ_ACCESS] = iommufd_access_destroy_object,
	[IOMMUFD_OBJ_FAULT] = iommufd_fault_destroy,
	[IOMMUFD_OBJ_SELFTEST] = iommufd_selftest_destroy,
};

void *iommufd_object_alloc(struct iommufd_ctx *ictx, size_t size,
			   enum iommufd_object_type type, int *err)
{
	struct iommufd_object *obj;
	int64_t id;

	*err = -ENOMEM;
	if (iommufd_should_fail())
		return NULL;
	obj = calloc(1, size);
	if (!obj)
		return NULL;
	obj->type = type;
	obj->users = 1;		/* the table's, until the object is removed */
	uvf_mutex_lock(&ictx->lock);
	id = idtable_alloc(&ictx->objects, obj, 1, IOMMUFD_OBJ_ID_MAX);
	uvf_mutex_unlock(&ictx->lock);
	if (id < 0) {
		*err = (int)id;
		free(obj);
		return NULL;
	}
	obj->id = (uint32_t)id;
	*err = 0;
	return obj;
}

void iommufd_object_finalize(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	uvf_mutex_lock(&ictx->lock);
	obj->finalized = true;
	uvf_mutex_unlock(&ictx->lock);
}

void iommufd_object_abort(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	uvf_mutex_lock(&ictx->lock);
	idtable_remove(&ictx->objects, obj->id);
	uvf_mutex_unlock(&ictx->lock);
	free(obj);
}

void iommufd_object_abort_and_destroy(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	iommufd_destroy_ops[obj->type](obj);
	iommufd_object_abort(ictx, obj);
}

int iommufd_get_object(struct iommufd_ctx *ictx, uint32_t id, enum iommufd_object_type type,
		       struct iommufd_object **out)
{
	struct iommufd_object *obj;
	int rc = -ENOENT;

	if (iommufd_should_fail())
		return -ENOENT;
	uvf_mutex_lock(&ictx->lock);
	obj = idtable_find(&ictx->objects, id);
	if (obj && obj->finalized && obj->users &&
	    (type == IOMMUFD_OBJ_ANY || obj->type == type)) {
		obj->users++;
		obj->shortterm++;
		*out = obj;
		rc = 0;
	}
	uvf_mutex_unlock(&ictx->lock);
	return rc;
}

bool iommufd_lock_obj(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	bool ok;

	uvf_mutex_lock(&ictx->lock);
	ok = obj->users && obj->finalized;
	if (ok) {
		obj->users++;
		obj->shortterm++;
	}
	uvf_mutex_unlock(&ictx->lock);
	return ok;
}

void iommufd_put_object(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	uvf_mutex_lock(&ictx->lock);
	obj->users--;
	if (!--obj->shortterm)
		pthread_cond_broadcast(&ictx->destroy_wait);
	uvf_mutex_unlock(&ictx->lock);
}

void iommufd_object_get_user(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	uvf_mutex_lock(&ictx->lock);
	obj->users++;
	uvf_mutex_unlock(&ictx->lock);
}

void iommufd_object_put_user(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	uvf_mutex_lock(&ictx->lock);
	obj->users--;
	uvf_mutex_unlock(&ictx->lock);
}

/* Take obj out of the table; ictx->lock held, obj->users == 1. */
static void iommufd_object_unpublish(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	idtable_remove(&ictx->objects, obj->id);
	obj->users = 0;
	if (ictx->vfio_ioas && &ictx->vfio_ioas->obj == obj)
		ictx->vfio_ioas = NULL;
}

static void iommufd_object_free(struct iommufd_object *obj)
{
	iommufd_destroy_ops[obj->type](obj);
	free(obj);
}

/* IOMMU_DESTROY: only when nothing but the table holds the object. */
static int iommufd_object_remove(struct iommufd_ctx *ictx, uint32_t id)
{
	struct iommufd_object *obj;
	int rc = 0;

	uvf_mutex_lock(&ictx->lock);
	obj = idtable_find(&ictx->objects, id);
	if (!obj || !obj->finalized)
		rc = -ENOENT;
	else if (obj->users != 1)
		rc = -EBUSY;
	else
		iommufd_object_unpublish(ictx, obj);
	uvf_mutex_unlock(&ictx->lock);
	if (!rc)
		iommufd_object_free(obj);
	return rc;
}

void iommufd_object_destroy_user(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	uvf_mutex_lock(&ictx->lock);
	/* No new lookups; wait out the ones in flight. */
	obj->finalized = false;
	while (obj->shortterm)
		pthread_cond_wait(&ictx->destroy_wait, &ictx->lock.m);
	obj->users--;
	if (obj->users != 1)
		uvf_err("iommufd", "object %u destroyed with %u users", obj->id, obj->users);
	iommufd_object_unpublish(ictx, obj);
	uvf_mutex_unlock(&ictx->lock);
	iommufd_object_free(obj);
}

void iommufd_object_put_and_try_destroy(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	bool last;

	uvf_mutex_lock(&ictx->lock);
	obj->users--;
	last = obj->users == 1 && !obj->shortterm && obj->finalized;
	if (last)
		iommufd_object_unpublish(ictx, obj);
	uvf_mutex_unlock(&ictx->lock);
	if (last)
		iommufd_object_free(obj);
}

static int iommufd_destroy(struct iommufd_ucmd *ucmd)
{
	struct iommu_destroy *cmd = ucmd->cmd;

	return iommufd_object_remove(ucmd->ictx, cmd->id);
}

/* ---- the context ----------------------------------------------------------------- */

struct release_batch {
	struct iommufd_object **objs;
	size_t n;
};

static int collect_leaf(uint32_t id, void *ptr, void *arg)
{
	struct iommufd_object *obj = ptr;
	struct release_batch *b = arg;

	if (obj->users == 1)
		b->objs[b->n++] = obj;
	return 0;
}

/*
 * The last close: the objects form a graph of 'users' counts, so destroy
 * every object only the table holds, repeatedly, until none is left --
 * leaves first, as the kernel's release does, and synchronously: every pin
 * is dropped before the close returns.
 */
static void iommufd_ctx_destroy_objects(struct iommufd_ctx *ictx)
{
	struct release_batch b;

	for (;;) {
		uvf_mutex_lock(&ictx->lock);
		if (!ictx->objects.count) {
			uvf_mutex_unlock(&ictx->lock);
			return;
		}
		b.n = 0;
		b.objs = calloc(ictx->objects.count, sizeof(*b.objs));
		if (b.objs)
			idtable_for_each(&ictx->objects, collect_leaf, &b);
		for (size_t i = 0; i < b.n; i++)
			iommufd_object_unpublish(ictx, b.objs[i]);
		uvf_mutex_unlock(&ictx->lock);
		for (size_t i = 0; i < b.n; i++)
			iommufd_object_free(b.objs[i]);
		free(b.objs);
		if (!b.n) {
			uvf_err("iommufd", "release: objects still referenced");
			return;
		}
	}
}

static void iommufd_fops_release(struct uvf_file *f)
{
	struct iommufd_ctx *ictx = f->private_data;

	iommufd_ctx_destroy_objects(ictx);
	if (!list_empty(&ictx->groups))
		uvf_err("iommufd", "release: device groups left");
	idtable_destroy(&ictx->objects);
	pthread_cond_destroy(&ictx->destroy_wait);
	uvf_mutex_destroy(&ictx->groups_lock);
	uvf_mutex_destroy(&ictx->lock);
	free(ictx);
}

int iommufd_ucmd_respond(struct iommufd_ucmd *ucmd, size_t cmd_len)
{
	size_t n = uvf_min(cmd_len, (size_t)ucmd->user_size);

	return copy_to_user(ucmd->caller, ucmd->ubuffer, ucmd->cmd, n) ? -EFAULT : 0;
}

/* ---- dispatch ---------------------------------------------------------------------- */

struct iommufd_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	unsigned int ioctl_num;
	int (*execute)(struct iommufd_ucmd *ucmd);
};

#define IOCTL_OP(_ioctl, _fn, _struct, _last)				\
	[(_ioctl & 0xff) - IOMMUFD_CMD_BASE] = {			\
		.size = sizeof(_struct),				\
		.min_size = offsetofend(_struct, _last),		\
		.ioctl_num = _ioctl,					\
		.execute = _fn,						\
	}

static const struct iommufd_ioctl_op iommufd_ioctl_ops[] = {
	IOCTL_OP(IOMMU_DESTROY, iommufd_destroy, struct iommu_destroy, id),
	IOCTL_OP(IOMMU_FAULT_QUEUE_ALLOC, iommufd_fault_alloc, struct iommu_fault_alloc,
		 out_fault_fd),
	IOCTL_OP(IOMMU_GET_HW_INFO, iommufd_get_hw_info, struct iommu_hw_info, __reserved),
	IOCTL_OP(IOMMU_HWPT_ALLOC, iommufd_hwpt_alloc, struct iommu_hwpt_alloc, __reserved),
	IOCTL_OP(IOMMU_HWPT_GET_DIRTY_BITMAP, iommufd_hwpt_get_dirty_bitmap,
		 struct iommu_hwpt_get_dirty_bitmap, data),
	IOCTL_OP(IOMMU_HWPT_INVALIDATE, iommufd_hwpt_invalidate, struct iommu_hwpt_invalidate,
		 __reserved),
	IOCTL_OP(IOMMU_HWPT_SET_DIRTY_TRACKING, iommufd_hwpt_set_dirty_tracking,
		 struct iommu_hwpt_set_dirty_tracking, __reserved),
	IOCTL_OP(IOMMU_IOAS_ALLOC, iommufd_ioas_alloc_ioctl, struct iommu_ioas_alloc, out_ioas_id),
	IOCTL_OP(IOMMU_IOAS_ALLOW_IOVAS, iommufd_ioas_allow_iovas, struct iommu_ioas_allow_iovas,
		 allowed_iovas),
	IOCTL_OP(IOMMU_IOAS_COPY, iommufd_ioas_copy, struct iommu_ioas_copy, src_iova),
	IOCTL_OP(IOMMU_IOAS_IOVA_RANGES, iommufd_ioas_iova_ranges, struct iommu_ioas_iova_ranges,
		 out_iova_alignment),
	IOCTL_OP(IOMMU_IOAS_MAP, iommufd_ioas_map, struct iommu_ioas_map, iova),
	IOCTL_OP(IOMMU_IOAS_MAP_FILE, iommufd_ioas_map_file, struct iommu_ioas_map_file, iova),
	IOCTL_OP(IOMMU_IOAS_UNMAP, iommufd_ioas_unmap, struct iommu_ioas_unmap, length),
	IOCTL_OP(IOMMU_OPTION, iommufd_option, struct iommu_option, val64),
	IOCTL_OP(IOMMU_VFIO_IOAS, iommufd_vfio_ioas, struct iommu_vfio_ioas, __reserved),
	IOCTL_OP(IOMMU_TEST_CMD, iommufd_test, struct iommu_test_cmd, last),
};

/* The command buffer: the largest argument struct, aligned for u64. */
#define IOMMUFD_UCMD_BUF	128

static const struct iommufd_ioctl_op *iommufd_find_op(struct iommufd_ctx *ictx,
						      unsigned int nr)
{
	if (nr < IOMMUFD_CMD_BASE || nr - IOMMUFD_CMD_BASE >= ARRAY_SIZE(iommufd_ioctl_ops))
		return NULL;
	/* Without the test option the table ends before IOMMU_TEST_CMD. */
	if (nr == (IOMMU_TEST_CMD & 0xff) && !iommufd_test_enabled(ictx))
		return NULL;
	return &iommufd_ioctl_ops[nr - IOMMUFD_CMD_BASE];
}

static long iommufd_dispatch(struct iommufd_ctx *ictx, struct uvf_caller *c, unsigned int cmd,
			     uint64_t arg)
{
	uint64_t buf[IOMMUFD_UCMD_BUF / sizeof(uint64_t)];
	const struct iommufd_ioctl_op *op = iommufd_find_op(ictx, _IOC_NR(cmd));
	struct iommufd_ucmd ucmd = { .ictx = ictx, .caller = c, .ubuffer = arg, .cmd = buf };
	int rc;

	if (!op)
		return iommufd_vfio_ioctl(ictx, c, cmd, arg);
	if (copy_from_user(c, &ucmd.user_size, arg, sizeof(ucmd.user_size)))
		return -EFAULT;
	if (op->ioctl_num != cmd)
		return -ENOTTY;
	if (ucmd.user_size < op->min_size)
		return -EINVAL;
	rc = copy_struct_from_user(c, buf, op->size, arg, ucmd.user_size);
	if (rc)
		return rc;
	return op->execute(&ucmd);
}

bool iommufd_test_enabled(struct iommufd_ctx *ictx)
{
	return ictx->core->host->params.iommufd_test;
}

/* The fail-nth table calls through this context count against, if any. */
static struct fail_nth_table *iommufd_fail_table(struct iommufd_core *core)
{
	return core->host->params.iommufd_test ? core->fail_nth : NULL;
}

static long iommufd_fops_ioctl(struct uvf_file *f, struct uvf_caller *c, unsigned int cmd,
			       uint64_t arg)
{
	struct iommufd_ctx *ictx = f->private_data;
	struct fail_nth_scope scope;
	long rc;

	fail_nth_enter(&scope, iommufd_fail_table(ictx->core), c->tid ? c->tid : c->pid);
	rc = iommufd_dispatch(ictx, c, cmd, arg);
	fail_nth_leave(&scope);
	return rc;
}

static const struct uvf_file_ops iommufd_fops = {
	.name = "iommufd",
	.ioctl = iommufd_fops_ioctl,
	.release = iommufd_fops_release,
};

int iommufd_open_file(struct uvf_host *h, struct uvf_caller *c, int flags,
		      bool vfio_container, struct uvf_file **out)
{
	struct iommufd_core *core = h->iommufd;
	struct fail_nth_scope scope;
	struct iommufd_ctx *ictx;
	struct uvf_file *f = NULL;
	int rc = -ENOMEM;

	fail_nth_enter(&scope, iommufd_fail_table(core), c->tid ? c->tid : c->pid);
	ictx = iommufd_should_fail() ? NULL : calloc(1, sizeof(*ictx));
	if (ictx)
		f = file_alloc(h, &iommufd_fops, ictx, flags, c);
	fail_nth_leave(&scope);
	if (!f) {
		free(ictx);
		return rc;
	}
	ictx->core = core;
	ictx->file = f;
	uvf_mutex_init(&ictx->lock);
	uvf_mutex_init(&ictx->groups_lock);
	pthread_cond_init(&ictx->destroy_wait, NULL);
	idtable_init(&ictx->objects);
	list_init(&ictx->groups);
	/* VFIO's accounting for /dev/vfio/vfio, the faster per-user one else. */
	ictx->account_mode = vfio_container ? IOPT_PAGES_ACCOUNT_MM : IOPT_PAGES_ACCOUNT_USER;
	*out = f;
	return 0;
}

struct iommufd_ctx *iommufd_ctx_from_file(struct uvf_file *f)
{
	return f && f->ops == &iommufd_fops ? f->private_data : NULL;
}

int iommufd_ctx_from_fd(struct uvf_caller *c, int fd, struct iommufd_ctx **out)
{
	struct uvf_file *f = caller_fget(c, fd);

	if (!f)
		return -EBADF;
	if (f->ops != &iommufd_fops) {
		file_put(f);
		return -EBADFD;
	}
	*out = f->private_data;
	return 0;
}

void iommufd_ctx_get(struct iommufd_ctx *ictx)
{
	file_get(ictx->file);
}

void iommufd_ctx_put(struct iommufd_ctx *ictx)
{
	file_put(ictx->file);
}

/* ---- the host's iommufd ------------------------------------------------------------ */

static int iommufd_devnode_open(struct uvf_devnode *dn, struct uvf_caller *c, int flags,
				struct uvf_file **out)
{
	struct iommufd_core *core = dn->priv;

	return iommufd_open_file(core->host, c, flags, false, out);
}

static const struct uvf_devnode_ops iommufd_devnode_ops = {
	.open = iommufd_devnode_open,
};

int iommufd_core_init(struct uvf_host *h)
{
	struct iommufd_core *core = calloc(1, sizeof(*core));
	struct uvf_devnode *dn;
	int rc;

	if (!core)
		return -ENOMEM;
	core->host = h;
	core->fail_nth = fail_nth_table_new();
	if (!core->fail_nth) {
		free(core);
		return -ENOMEM;
	}
	uvf_mutex_init(&core->lock);
	list_init(&core->users);
	idtable_init(&core->mock_ids);
	iopt_pages_registry_init(&core->pins);
	core->test_memory_limit = 65536;
	dn = &core->devnode;
	snprintf(dn->path, sizeof(dn->path), "/dev/iommu");
	dn->mode = 0660;
	dn->major = 10;				/* a misc device */
	dn->minor = IOMMUFD_MISC_MINOR;
	dn->ops = &iommufd_devnode_ops;
	dn->priv = core;
	list_init(&dn->link);
	h->iommufd = core;
	rc = devnode_add(h, dn);
	if (rc)
		iommufd_core_exit(h);
	return rc;
}

void iommufd_core_exit(struct uvf_host *h)
{
	struct iommufd_core *core = h->iommufd;

	if (!core)
		return;
	devnode_del(h, &core->devnode);
	if (!list_empty(&core->pins.list))
		uvf_warn("iommufd", "exit with pinned memory still mapped");
	iommufd_users_release(core);
	iopt_pages_registry_destroy(&core->pins);
	idtable_destroy(&core->mock_ids);
	fail_nth_table_free(core->fail_nth);
	uvf_mutex_destroy(&core->lock);
	h->iommufd = NULL;
	free(core);
}

struct fail_nth_table *iommufd_fail_nth_table(struct uvf_host *h)
{
	return h->iommufd ? h->iommufd->fail_nth : NULL;
}
