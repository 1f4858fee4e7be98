/* SPDX-License-Identifier: MIT */
/*
 * Lock wrappers.  Every lock in uvfio is one of these so that lock-order
 * documentation at the top of each file names the same types.  Errors from
 * pthread on these calls mean memory corruption; they abort.
 */
#ifndef UVF_BASE_LOCK_H
#define UVF_BASE_LOCK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct uvf_mutex {
	pthread_mutex_t m;
};

struct uvf_rwlock {
	pthread_rwlock_t l;
};

static inline void uvf_mutex_init(struct uvf_mutex *m)
{
	if (pthread_mutex_init(&m->m, NULL))
		abort();
}

static inline void uvf_mutex_destroy(struct uvf_mutex *m)
{
	pthread_mutex_destroy(&m->m);
}

static inline void uvf_mutex_lock(struct uvf_mutex *m)
{
	if (pthread_mutex_lock(&m->m))
		abort();
}

static inline void uvf_mutex_unlock(struct uvf_mutex *m)
{
	if (pthread_mutex_unlock(&m->m))
		abort();
}

static inline void uvf_rwlock_init(struct uvf_rwlock *l)
{
	if (pthread_rwlock_init(&l->l, NULL))
		abort();
}

static inline void uvf_rwlock_destroy(struct uvf_rwlock *l)
{
	pthread_rwlock_destroy(&l->l);
}

static inline void uvf_read_lock(struct uvf_rwlock *l)
{
	if (pthread_rwlock_rdlock(&l->l))
		abort();
}

/* down_read_trylock: true if taken. */
static inline bool uvf_read_trylock(struct uvf_rwlock *l)
{
	return pthread_rwlock_tryrdlock(&l->l) == 0;
}

static inline void uvf_write_lock(struct uvf_rwlock *l)
{
	if (pthread_rwlock_wrlock(&l->l))
		abort();
}

static inline void uvf_rw_unlock(struct uvf_rwlock *l)
{
	if (pthread_rwlock_unlock(&l->l))
		abort();
}

#endif
