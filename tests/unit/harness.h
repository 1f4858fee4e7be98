/* SPDX-License-Identifier: MIT */
/*
 * Shared test support: cmocka, an in-process host and processes.
 * Every test file includes this first.
 */
#ifndef UVF_TEST_HARNESS_H
#define UVF_TEST_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/host/host.h"
#include "core/host/proc.h"
#include "core/host/topology.h"

/* A host built from JSON text (fails the test on a parse/load error). */
struct uvf_host *test_host_from_json(const char *json);
/* The built-in default host. */
struct uvf_host *test_host_default(void);

/* assert that an expression returning -errno equals the given -errno,
 * printing both by name on failure. */
#define assert_errno(expr, want) do {                                        \
		long __r = (long)(expr);                                      \
		if (__r != (long)(want))                                      \
			fail_msg("%s = %ld (%s), want %ld (%s)", #expr, __r,  \
				 __r < 0 ? strerror((int)-__r) : "ok",        \
				 (long)(want),                                \
				 (want) < 0 ? strerror((int)-(want)) : "ok"); \
	} while (0)

#endif
