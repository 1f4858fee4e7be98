/* SPDX-License-Identifier: MIT */
/*
 * Start-up and fork.  The constructor resolves the real functions, notes
 * the cwd and adopts channels an exec left open.  After fork the child
 * (one thread, a copy of the parent's memory) forgets the parent's control
 * connection and marks every channel for REOPEN before its next use, so the
 * child's requests and replies never travel on the parent's sockets.  Only
 * resets happen here: no allocation, no locking, no requests.
 */
#include <pthread.h>
#include "shim.h"

static void shim_atfork_child(void)
{
	shim_conn_atfork_child();
	shim_chan_atfork_child();
	shim_maps_atfork_child();
}

__attribute__((constructor)) static void shim_init(void)
{
	shim_real_init();
	if (!shim_enabled())
		return;
	shim_pid();			/* cached before any vfork child could */
	pthread_atfork(NULL, NULL, shim_atfork_child);
	shim_path_init();
	shim_chan_scan_inherited();
}
