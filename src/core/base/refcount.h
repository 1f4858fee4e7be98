/* SPDX-License-Identifier: MIT */
/*
 * Reference counts.  uvf_ref_put() returns true when the caller dropped the
 * last reference and must free the object; the object's own put function
 * decides how (kernel kref style, without the callback indirection).
 */
#ifndef UVF_BASE_REFCOUNT_H
#define UVF_BASE_REFCOUNT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <assert.h>

struct uvf_ref {
	atomic_uint count;
};

static inline void uvf_ref_init(struct uvf_ref *r)
{
	atomic_init(&r->count, 1);
}

static inline void uvf_ref_get(struct uvf_ref *r)
{
	unsigned int old = atomic_fetch_add_explicit(&r->count, 1, memory_order_relaxed);
	assert(old > 0);
	(void)old;
}

/* Take a reference only if the object is still live (count > 0). */
static inline bool uvf_ref_get_unless_zero(struct uvf_ref *r)
{
	unsigned int old = atomic_load_explicit(&r->count, memory_order_relaxed);
	while (old) {
		if (atomic_compare_exchange_weak_explicit(&r->count, &old, old + 1,
							  memory_order_acquire,
							  memory_order_relaxed))
			return true;
	}
	return false;
}

static inline bool uvf_ref_put(struct uvf_ref *r)
{
	unsigned int old = atomic_fetch_sub_explicit(&r->count, 1, memory_order_acq_rel);
	assert(old > 0);
	return old == 1;
}

static inline unsigned int uvf_ref_read(struct uvf_ref *r)
{
	return atomic_load_explicit(&r->count, memory_order_relaxed);
}

#endif
