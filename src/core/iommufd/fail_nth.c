// SPDX-License-Identifier: MIT
/*
 * fail-nth counters (see fail_nth.h).  The kernel keeps the count in the
 * task; here a task is a tid of the host's callers, so the counts live in a
 * small per-host list, made on the first write and dropped on "0".
 *
 * Lock order: table->lock is a leaf, taken by every site.
 */
#include <errno.h>
#include <stdlib.h>
#include "fail_nth.h"
#include "../base/list.h"
#include "../base/lock.h"

struct fail_nth_task {
	struct list_head link;
	pid_t tid;
	unsigned int left;	/* sites to go; 0: fired or disarmed */
};

struct fail_nth_table {
	struct uvf_mutex lock;
	struct list_head tasks;
};

static __thread struct fail_nth_table *current_table;
static __thread pid_t current_tid;

struct fail_nth_table *fail_nth_table_new(void)
{
	struct fail_nth_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	uvf_mutex_init(&t->lock);
	list_init(&t->tasks);
	return t;
}

void fail_nth_table_free(struct fail_nth_table *t)
{
	struct fail_nth_task *task, *tmp;

	if (!t)
		return;
	list_for_each_entry_safe(task, tmp, &t->tasks, link)
		free(task);
	uvf_mutex_destroy(&t->lock);
	free(t);
}

static struct fail_nth_task *fail_nth_find(struct fail_nth_table *t, pid_t tid)
{
	struct fail_nth_task *task;

	list_for_each_entry(task, &t->tasks, link)
		if (task->tid == tid)
			return task;
	return NULL;
}

int fail_nth_write(struct fail_nth_table *t, pid_t tid, unsigned int nth)
{
	struct fail_nth_task *task;
	int ret = 0;

	uvf_mutex_lock(&t->lock);
	task = fail_nth_find(t, tid);
	if (!nth) {
		if (task) {
			list_del_init(&task->link);
			free(task);
		}
		goto out;
	}
	if (!task) {
		task = calloc(1, sizeof(*task));
		if (!task) {
			ret = -ENOMEM;
			goto out;
		}
		task->tid = tid;
		list_add(&task->link, &t->tasks);
	}
	task->left = nth;
out:
	uvf_mutex_unlock(&t->lock);
	return ret;
}

unsigned int fail_nth_read(struct fail_nth_table *t, pid_t tid)
{
	struct fail_nth_task *task;
	unsigned int left;

	uvf_mutex_lock(&t->lock);
	task = fail_nth_find(t, tid);
	left = task ? task->left : 0;
	uvf_mutex_unlock(&t->lock);
	return left;
}

void fail_nth_enter(struct fail_nth_scope *s, struct fail_nth_table *t, pid_t tid)
{
	s->prev_table = current_table;
	s->prev_tid = current_tid;
	current_table = t;
	current_tid = tid;
}

void fail_nth_leave(const struct fail_nth_scope *s)
{
	current_table = s->prev_table;
	current_tid = s->prev_tid;
}

bool iommufd_should_fail(void)
{
	struct fail_nth_table *t = current_table;
	struct fail_nth_task *task;
	bool fire = false;

	if (!t)
		return false;
	uvf_mutex_lock(&t->lock);
	task = fail_nth_find(t, current_tid);
	/* The count stays at 0 once it fired: one failure per arming. */
	if (task && task->left)
		fire = --task->left == 0;
	uvf_mutex_unlock(&t->lock);
	return fire;
}
