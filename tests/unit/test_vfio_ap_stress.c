// SPDX-License-Identifier: MIT
/*
 * vfio_ap under concurrency: several processes (threads with their own
 * struct uvf_proc) assign and unassign, store ap_config, apmask and
 * aqmask, change the host's configuration, bind and unbind queues, attach
 * and detach VMs and run guest requests, all at once, at random
 * (tests/unit/vfio_ap_stress.h has the engine and what it checks).  After
 * every step vfio_ap's checker holds, and at frequent pauses of the whole
 * world the invariants recomputed from public state hold: no APQN in two
 * guests, none both the host's and in a guest's APCB, every guest's APCB
 * the filtered shadow of its mdev; nothing deadlocks (a watchdog aborts
 * with a dump).  The TAP output reports the operation count and the
 * violations found.
 *
 * UVF_STRESS_OPS and UVF_STRESS_SEED override the count (default 100000)
 * and the seed (default: from the clock, printed for a re-run).
 */
#include "harness.h"
#include "vfio_ap_stress.h"

#define STRESS_CI_OPS 100000UL

static unsigned long env_ul(const char *name, unsigned long def)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 0) : def;
}

static void run_and_report(const struct stress_cfg *cfg, struct stress_result *r)
{
	char why[512];
	struct stress *s = stress_new(cfg, why, sizeof(why));

	if (!s)
		fail_msg("set-up: %s", why);
	memset(r, 0, sizeof(*r));
	stress_run(s, r);
	stress_free(s);
	printf("# seed %#" PRIx64 ", %u workers: %lu operations in %.1f s (%.0f/s), "
	       "%lu violations\n", cfg->seed, cfg->workers, r->ops, r->seconds,
	       (double)r->ops / r->seconds, r->violations);
	printf("# %lu checks after a step, %lu paused-world checks (%lu shadows kept an "
	       "adapter out that the filter would pass, as the kernel does), %lu VM attaches\n",
	       r->step_checks, r->pauses, r->narrower, r->attaches);
	printf("# %lu guest instructions (%lu on an APQN of the APCB), %lu requests enqueued, "
	       "%lu replies dequeued (each its guest's own)\n", r->guest_insns, r->inside_apcb,
	       r->enqueued, r->zeroized_checks);
	stress_print_times(stdout, "# ", r);
	if (r->violations)
		printf("# first violation: %s\n", r->first_violation);
	fflush(stdout);
}

static void test_random_concurrency(void **state)
{
	struct stress_cfg cfg = {
		.workers = 6,
		.ops = env_ul("UVF_STRESS_OPS", STRESS_CI_OPS),
		.check_every = 500,
		.watchdog_s = 60,
		.seed = env_ul("UVF_STRESS_SEED", (unsigned long)time(NULL) * 2654435761u),
		.step_checks = true,
		.reset_delay_us = 20,
	};
	struct stress_result r;

	run_and_report(&cfg, &r);
	assert_true(r.ops >= cfg.ops);
	if (r.violations)
		fail_msg("%lu violations; the first: %s", r.violations, r.first_violation);
	/* every kind of operation ran, guests ran requests and got replies */
	for (int i = 0; i < SOP_NR; i++)
		if (!r.op_count[i])
			fail_msg("no %s operation ran", stress_ops[i].name);
	assert_true(r.attaches > 0);
	assert_true(r.zeroized_checks > 0);
	assert_true(r.pauses > cfg.ops / cfg.check_every / 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_concurrency),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
