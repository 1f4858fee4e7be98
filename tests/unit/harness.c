// SPDX-License-Identifier: MIT
#include "harness.h"
#include <stdio.h>

struct uvf_host *test_host_from_json(const char *json)
{
	struct uvf_topology *t = NULL;
	struct uvf_host *h;
	char err[512] = "";

	if (topology_load_string(json, "<test>", &t, err, sizeof(err)))
		fail_msg("topology: %s", err);
	h = host_new();
	assert_non_null(h);
	if (host_load_topology(h, t, err, sizeof(err)))
		fail_msg("host_load_topology: %s", err);
	topology_free(t);
	return h;
}

struct uvf_host *test_host_default(void)
{
	return test_host_from_json(topology_default_json());
}
