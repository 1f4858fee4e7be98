/* SPDX-License-Identifier: MIT */
/*
 * Fault injection in the style of the kernel's fail-nth: a task writes N to
 * /proc/self/task/<tid>/fail-nth and the N-th fault-injection site that task
 * reaches afterwards fails; reading the file gives what is left of the
 * count ("0\n" once it fired).  Error-path cleanup becomes testable, which
 * is what the kernel's iommufd_fail_nth selftest sweeps.
 *
 * The counters are per task and per host (a fail_nth_table, owned by the
 * host's iommufd layer).  The transport serves the proc file by calling
 * fail_nth_write/fail_nth_read with the caller's tid.  Entry points that act
 * for a caller (an iommufd ioctl, an open) bracket their work with
 * fail_nth_enter/fail_nth_leave, the kernel's 'current': inside, a site
 * calls iommufd_should_fail() and fails its operation when it says so.
 * Outside any scope no site ever fails.
 *
 * Locking: table->lock is a leaf.  The scope is per thread (thread-local).
 */
#ifndef UVF_IOMMUFD_FAIL_NTH_H
#define UVF_IOMMUFD_FAIL_NTH_H

#include <stdbool.h>
#include <sys/types.h>

struct fail_nth_table;

struct fail_nth_table *fail_nth_table_new(void);
void fail_nth_table_free(struct fail_nth_table *t);

/* The proc file: write N (0 disarms), read what is left (0 once fired,
 * or never armed). */
int fail_nth_write(struct fail_nth_table *t, pid_t tid, unsigned int nth);
unsigned int fail_nth_read(struct fail_nth_table *t, pid_t tid);

/* Saved state of an enclosing scope (scopes nest: a vfio bind inside an
 * ioctl inside ...). */
struct fail_nth_scope {
	struct fail_nth_table *prev_table;
	pid_t prev_tid;
};

/* From here until leave, sites count against task tid of table t (NULL t:
 * no site fails, e.g. fault injection is not enabled on this host). */
void fail_nth_enter(struct fail_nth_scope *s, struct fail_nth_table *t, pid_t tid);
void fail_nth_leave(const struct fail_nth_scope *s);

/* A fault-injection site: true means "fail now". */
bool iommufd_should_fail(void);

#endif
