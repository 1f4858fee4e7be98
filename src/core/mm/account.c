// SPDX-License-Identifier: MIT
/*
 * Locked-memory accounting (the kernel's mm->locked_vm checked against
 * RLIMIT_MEMLOCK).  account->lock is a leaf lock.
 */
#include <errno.h>
#include <stdlib.h>
#include "mm.h"
#include "../base/compiler.h"

struct uvf_account *account_new(uint64_t limit_bytes)
{
	struct uvf_account *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	uvf_ref_init(&a->ref);
	uvf_mutex_init(&a->lock);
	a->limit_pages = limit_bytes == UINT64_MAX ? UINT64_MAX : limit_bytes >> UVF_PAGE_SHIFT;
	return a;
}

void account_put(struct uvf_account *a)
{
	if (!a || !uvf_ref_put(&a->ref))
		return;
	uvf_mutex_destroy(&a->lock);
	free(a);
}

int account_charge_limit(struct uvf_account *a, uint64_t npages, uint64_t limit_pages)
{
	uint64_t total;
	int ret = 0;

	uvf_mutex_lock(&a->lock);
	if (check_add_overflow(a->locked_pages, npages, &total) || total > limit_pages)
		ret = -ENOMEM;
	else
		a->locked_pages = total;
	uvf_mutex_unlock(&a->lock);
	return ret;
}

int account_charge(struct uvf_account *a, uint64_t npages, bool ipc_lock)
{
	return account_charge_limit(a, npages, ipc_lock ? UINT64_MAX : a->limit_pages);
}

void account_uncharge(struct uvf_account *a, uint64_t npages)
{
	uvf_mutex_lock(&a->lock);
	/* An underflow is a bookkeeping bug; clamp rather than wrap. */
	a->locked_pages = npages > a->locked_pages ? 0 : a->locked_pages - npages;
	uvf_mutex_unlock(&a->lock);
}
