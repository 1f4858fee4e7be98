// SPDX-License-Identifier: MIT
/*
 * The vfio_ap soak: the randomized concurrency engine of the CI test
 * (tests/unit/vfio_ap_stress.h) run longer, reporting operations per
 * second next to a floor measured in the same run on the same host: the
 * same number of uncontended sysfs attribute stores from one process
 * (assign_control_domain / unassign_control_domain of an mdev no guest
 * holds - a store that takes vfio_ap's locks and touches no queue).
 *
 *   bench_vfio_ap_soak [OPS [WORKERS [SEED]]]     (default 1000000 6 clock)
 *   UVF_SOAK_STEP_CHECKS=0: no vfio_ap checker after every step
 *
 * Exits 1 if any invariant was violated (the first one is printed).
 */
#include <inttypes.h>
#include "../tests/unit/vfio_ap_stress.h"

/* ops alternating stores on mdev 0 by one process; stores per second. */
static double floor_stores(struct stress *s, unsigned long ops)
{
	static const char *const attrs[2] = { "assign_control_domain", "unassign_control_domain" };
	char path[2][160];
	double t0, t1;

	for (int i = 0; i < 2; i++)
		snprintf(path[i], sizeof(path[i]), STRESS_MATRIX "/%s/%s", stress_uuids[0], attrs[i]);
	t0 = stress_now();
	for (unsigned long i = 0; i < ops; i++) {
		const char *v = "9\n";

		if (sysfs_write(s->h->sysfs, &s->w[0].p->caller, path[i & 1], v, 2, 0) != 2) {
			fprintf(stderr, "bench_vfio_ap_soak: floor store failed\n");
			exit(1);
		}
	}
	t1 = stress_now();
	return (double)ops / (t1 - t0);
}

int main(int argc, char **argv)
{
	struct stress_cfg cfg = {
		.workers = 6,
		.ops = 1000000,
		.check_every = 500,
		.watchdog_s = 120,
		.seed = (uint64_t)time(NULL) * 2654435761u,
		.step_checks = true,
		.reset_delay_us = 20,
	};
	struct stress_result r = { 0 };
	struct stress *s;
	double soak, floor;
	char why[512];

	if (argc > 1)
		cfg.ops = strtoul(argv[1], NULL, 0);
	if (argc > 2)
		cfg.workers = (unsigned int)strtoul(argv[2], NULL, 0);
	if (argc > 3)
		cfg.seed = strtoull(argv[3], NULL, 0);
	/* vfio_ap's checker after every step serialises the workers on its
	 * locks; UVF_SOAK_STEP_CHECKS=0 leaves only the paused-world checks */
	if (getenv("UVF_SOAK_STEP_CHECKS") && !strcmp(getenv("UVF_SOAK_STEP_CHECKS"), "0"))
		cfg.step_checks = false;
	s = stress_new(&cfg, why, sizeof(why));
	if (!s) {
		fprintf(stderr, "bench_vfio_ap_soak: %s\n", why);
		return 1;
	}
	stress_run(s, &r);
	soak = (double)r.ops / r.seconds;
	/* the floor on the same host, now quiet, for the same count */
	floor = floor_stores(s, r.ops);
	stress_free(s);

	printf("vfio_ap soak: seed %#" PRIx64 ", %u workers, %lu operations in %.1f s\n",
	       cfg.seed, cfg.workers, r.ops, r.seconds);
	printf("  %-46s %12.0f ops/s\n", "soak (random operations, all checks)", soak);
	printf("  %-46s %12.0f ops/s\n", "floor: uncontended cdom store, one process", floor);
	printf("  %-46s %12.2fx\n", "floor / soak", floor / soak);
	printf("  checks: %lu after a step, %lu with the world paused; violations: %lu\n",
	       r.step_checks, r.pauses, r.violations);
	printf("  %lu VM attaches, %lu guest instructions (%lu in the APCB), %lu requests, "
	       "%lu replies (each its guest's own); %lu shadows narrower than the filter\n",
	       r.attaches, r.guest_insns, r.inside_apcb, r.enqueued, r.zeroized_checks,
	       r.narrower);
	printf("  operation                 count  mean latency (under contention)\n");
	stress_print_times(stdout, "  ", &r);
	if (r.violations) {
		printf("  first violation: %s\n", r.first_violation);
		return 1;
	}
	return 0;
}
