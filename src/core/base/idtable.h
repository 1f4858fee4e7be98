/* SPDX-License-Identifier: MIT */
/*
 * ID tables: small integer ids mapped to pointers, allocated lowest-free
 * first within [min, max] (the kernel's xarray/idr allocation rule, which
 * iommufd object ids and vfio device minors follow).  Not locked: the owner
 * of the table holds its own lock around every call.
 */
#ifndef UVF_BASE_IDTABLE_H
#define UVF_BASE_IDTABLE_H

#include <stdint.h>

struct uvf_idtable {
	void **slots;       /* slots[id] */
	uint32_t nslots;
	uint32_t count;     /* number of live entries */
	uint32_t hint;      /* no free id below hint */
};

void idtable_init(struct uvf_idtable *t);
void idtable_destroy(struct uvf_idtable *t);
/* Returns the id (>= 0) or -ENOSPC / -ENOMEM. ptr must not be NULL. */
int64_t idtable_alloc(struct uvf_idtable *t, void *ptr, uint32_t min, uint32_t max);
/* Insert at a given id: -EEXIST if taken. */
int idtable_insert(struct uvf_idtable *t, uint32_t id, void *ptr);
void *idtable_find(const struct uvf_idtable *t, uint32_t id);
/* Returns the removed pointer or NULL. */
void *idtable_remove(struct uvf_idtable *t, uint32_t id);
/* Visit live entries in id order; a non-zero return from fn stops and is returned. */
int idtable_for_each(const struct uvf_idtable *t,
		     int (*fn)(uint32_t id, void *ptr, void *arg), void *arg);

#endif
