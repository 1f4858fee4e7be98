// SPDX-License-Identifier: MIT
/*
 * Who pays for pinned pages (pages.c's iopt_pages_update_pinned and the
 * IOMMU_OPTION_RLIMIT_MODE it follows).  The owner is recorded when the
 * mapping is made, from the mapping process:
 *
 *   - CAP_IPC_LOCK: nobody (IOPT_PAGES_ACCOUNT_NONE);
 *   - mm mode (the default of /dev/vfio/vfio, and VFIO's rule): the
 *     process's locked_vm against its RLIMIT_MEMLOCK;
 *   - user mode (the default of /dev/iommu): a count per user id shared by
 *     all its processes, against the mapping process's RLIMIT_MEMLOCK.
 *
 * Lock order: core->lock (the user list) is a leaf; the accounts' own
 * locks are taken by the pins (pages.c), never under core->lock.
 */
#include <errno.h>
#include <stdlib.h>
#include "iommufd_private.h"

struct iommufd_user {
	struct list_head link;		/* in core->users */
	uid_t uid;
	struct uvf_account *account;	/* the user's locked_vm; no limit of its own */
};

/* The account of uid, made on first use; referenced for the caller. */
static struct uvf_account *iommufd_user_account(struct iommufd_core *core, uid_t uid)
{
	struct uvf_account *account = NULL;
	struct iommufd_user *u;

	uvf_mutex_lock(&core->lock);
	list_for_each_entry(u, &core->users, link) {
		if (u->uid == uid) {
			account = u->account;
			goto out;
		}
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		goto out;
	u->account = account_new(UINT64_MAX);
	if (!u->account) {
		free(u);
		goto out;
	}
	u->uid = uid;
	list_add(&u->link, &core->users);
	account = u->account;
out:
	if (account)
		account_get(account);
	uvf_mutex_unlock(&core->lock);
	return account;
}

int iommufd_pages_account(struct iommufd_ctx *ictx, struct uvf_caller *c,
			  struct iopt_pages *pages)
{
	struct uvf_account *account;
	uint64_t limit;

	if (capable(c, UVF_CAP_IPC_LOCK) || !c->mm)
		return 0;
	limit = c->mm->account->limit_pages;
	if (ictx->account_mode == IOPT_PAGES_ACCOUNT_MM) {
		iopt_pages_set_account(pages, c->mm->account, limit, false);
		return 0;
	}
	account = iommufd_user_account(ictx->core, c->uid);
	if (!account)
		return -ENOMEM;
	iopt_pages_set_account(pages, account, limit, false);
	account_put(account);
	return 0;
}

void iommufd_users_release(struct iommufd_core *core)
{
	struct iommufd_user *u, *tmp;

	list_for_each_entry_safe(u, tmp, &core->users, link) {
		list_del_init(&u->link);
		account_put(u->account);
		free(u);
	}
}
