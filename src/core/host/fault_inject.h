/* SPDX-License-Identifier: MIT */
/*
 * Fault injection as users see it (fault_inject.c): the per-task
 * /proc/<pid>/task/<tid>/fail-nth files and the /sys/kernel/debug/fail*
 * directories, on a host with the iommufd_test option.
 */
#ifndef UVF_HOST_FAULT_INJECT_H
#define UVF_HOST_FAULT_INJECT_H

#include <stdbool.h>
#include "../mm/caller.h"

struct uvf_host;
struct uvf_file;

/* Does this host serve fail-nth files? */
bool host_fault_injection(struct uvf_host *h);
/* open(2) of a /proc path with numbers (no "self"): -ENOENT unless it names
 * an existing task's fail-nth file on a host that serves them. */
int host_proc_open(struct uvf_host *h, struct uvf_caller *c, const char *path, int flags,
		   struct uvf_file **out);
/* The debugfs directories (after the topology set the options). */
int host_fault_inject_init(struct uvf_host *h);

#endif
