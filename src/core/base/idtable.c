// SPDX-License-Identifier: MIT
/*
 * ID tables (see idtable.h): a flat array of slots indexed by id, grown by
 * doubling.  Allocation scans for the lowest free slot in [min, max];
 * 'hint' skips the dense prefix that a long-lived table accumulates.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "idtable.h"

#define IDTABLE_MIN_SLOTS 16

void idtable_init(struct uvf_idtable *t)
{
	memset(t, 0, sizeof(*t));
}

void idtable_destroy(struct uvf_idtable *t)
{
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

/* Make slots[id] exist.  The slot count stays within uint32_t, so the one
 * id that can never be stored is UINT32_MAX. */
static int idtable_reserve(struct uvf_idtable *t, uint32_t id)
{
	uint64_t want = t->nslots ? t->nslots : IDTABLE_MIN_SLOTS;
	void **slots;

	if (id < t->nslots)
		return 0;
	if (id == UINT32_MAX)
		return -ENOMEM;
	while (want <= id)
		want *= 2;
	if (want > UINT32_MAX)
		want = UINT32_MAX;
	slots = realloc(t->slots, want * sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	memset(slots + t->nslots, 0, (want - t->nslots) * sizeof(*slots));
	t->slots = slots;
	t->nslots = (uint32_t)want;
	return 0;
}

static void idtable_store(struct uvf_idtable *t, uint32_t id, void *ptr)
{
	t->slots[id] = ptr;
	t->count++;
	if (id == t->hint)
		t->hint = id + 1;
}

int64_t idtable_alloc(struct uvf_idtable *t, void *ptr, uint32_t min, uint32_t max)
{
	uint64_t id = min > t->hint ? min : t->hint;
	int rc;

	if (!ptr)
		return -EINVAL;
	while (id <= max && id < t->nslots && t->slots[id])
		id++;
	if (id > max)
		return -ENOSPC;
	rc = idtable_reserve(t, (uint32_t)id);
	if (rc)
		return rc;
	/* Everything in [hint, id) is taken when the scan started at hint. */
	if (min <= t->hint)
		t->hint = (uint32_t)id;
	idtable_store(t, (uint32_t)id, ptr);
	return (int64_t)id;
}

int idtable_insert(struct uvf_idtable *t, uint32_t id, void *ptr)
{
	int rc;

	if (!ptr)
		return -EINVAL;
	if (idtable_find(t, id))
		return -EEXIST;
	rc = idtable_reserve(t, id);
	if (rc)
		return rc;
	idtable_store(t, id, ptr);
	return 0;
}

void *idtable_find(const struct uvf_idtable *t, uint32_t id)
{
	return id < t->nslots ? t->slots[id] : NULL;
}

void *idtable_remove(struct uvf_idtable *t, uint32_t id)
{
	void *ptr = idtable_find(t, id);

	if (!ptr)
		return NULL;
	t->slots[id] = NULL;
	t->count--;
	if (id < t->hint)
		t->hint = id;
	return ptr;
}

int idtable_for_each(const struct uvf_idtable *t,
		     int (*fn)(uint32_t id, void *ptr, void *arg), void *arg)
{
	uint32_t id;
	int rc;

	/* Re-read slots and nslots each step: fn may remove or add entries. */
	for (id = 0; id < t->nslots; id++) {
		if (!t->slots[id])
			continue;
		rc = fn(id, t->slots[id], arg);
		if (rc)
			return rc;
	}
	return 0;
}
