// SPDX-License-Identifier: MIT
/*
 * Benchmark of the io page table: map+unmap cost and translation lookups
 * for 1, 1024 and 65536 mappings of 4 KiB spread over IOVA space.
 *
 * Each figure is printed next to a floor measured in the same run:
 *  - lookups: bsearch() over a sorted array of the same n starts, the
 *    minimal O(log n) structure;
 *  - map+unmap: what any table must at least do per pair, two bsearch()
 *    overlap checks on that array plus a malloc/free of an area.
 * The lookup growth from n = 1 to 65536 is shown next to log2(n).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/iommufd/io_pagetable.h"
#include "core/base/compiler.h"

#define MAP_LEN		UVF_PAGE_SIZE
#define STRIDE		(16ULL << 20)	/* mappings sit 16 MiB apart */
#define NLOOKUPS	(1u << 21)
#define PAIRS_PER_N	(1u << 18)	/* map+unmap pairs timed per n */

static const unsigned int sizes[] = { 1, 1024, 65536 };
#define NSIZES ARRAY_SIZE(sizes)

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_iopt: %s failed\n", what);
	exit(1);
}

static void shuffle(uint64_t *v, unsigned int n)
{
	unsigned int i, j;
	uint64_t t;

	for (i = n; i > 1; i--) {
		j = (unsigned int)(rng() % i);
		t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

/* The IOVAs of n mappings: slots 1..n of the stride grid, in random order. */
static uint64_t *make_iovas(unsigned int n)
{
	uint64_t *v = malloc(n * sizeof(*v));
	unsigned int i;

	if (!v)
		die("malloc");
	for (i = 0; i < n; i++)
		v[i] = (uint64_t)(i + 1) * STRIDE;
	shuffle(v, n);
	return v;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* bsearch key match: iova lies in [start, start + MAP_LEN). */
static int cmp_in_range(const void *key, const void *elem)
{
	uint64_t iova = *(const uint64_t *)key, start = *(const uint64_t *)elem;

	if (iova < start)
		return -1;
	return iova - start >= MAP_LEN;
}

static void map_one(struct io_pagetable *iopt, struct uvf_memobj *mem, uint64_t iova)
{
	struct uvf_mem_seg seg = { .obj = mem, .off = 0, .len = MAP_LEN };

	memobj_get(mem);
	if (iopt_map(iopt, &iova, &seg, 1, IOPT_READ | IOPT_WRITE, IOPT_MAP_FIXED,
		     NULL, false, 0, NULL))
		die("iopt_map");
}

/* ns per map+unmap pair at table size n (the table holds n - 1 others). */
static double time_map_unmap(struct uvf_memobj *mem, unsigned int n)
{
	struct io_pagetable iopt;
	uint64_t *iovas = make_iovas(n), done = 0;
	unsigned int rounds = PAIRS_PER_N / n ? PAIRS_PER_N / n : 1, r, i;
	double t0, t;

	iopt_init(&iopt, UVF_PAGE_SIZE);
	t0 = now_ns();
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < n; i++)
			map_one(&iopt, mem, iovas[i]);
		for (i = n; i-- > 0;) {
			if (iopt_unmap(&iopt, iovas[i], MAP_LEN, IOPT_UNMAP_STRICT, NULL))
				die("iopt_unmap");
			done++;
		}
	}
	t = (now_ns() - t0) / (double)done;
	iopt_destroy(&iopt);
	free(iovas);
	return t;
}

/* Floor: per pair, two O(log n) searches and one area-sized malloc/free. */
static double time_map_unmap_floor(unsigned int n)
{
	uint64_t *sorted = make_iovas(n), done = 0, sink = 0;
	unsigned int rounds = PAIRS_PER_N / n ? PAIRS_PER_N / n : 1, r, i;
	double t0, t;

	qsort(sorted, n, sizeof(*sorted), cmp_u64);
	t0 = now_ns();
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < n; i++) {
			uint64_t key = sorted[(i * 7919u) % n];
			void *area = malloc(sizeof(struct iopt_area));

			sink += bsearch(&key, sorted, n, sizeof(*sorted), cmp_in_range) != NULL;
			sink += bsearch(&key, sorted, n, sizeof(*sorted), cmp_in_range) != NULL;
			__asm__ volatile("" : : "r"(area) : "memory");
			free(area);
			done++;
		}
	}
	t = (now_ns() - t0) / (double)done;
	if (sink != 2 * done)
		die("floor search");
	free(sorted);
	return t;
}

/* Random IOVAs inside the mappings. */
static uint64_t *make_probes(const uint64_t *iovas, unsigned int n)
{
	uint64_t *p = malloc(NLOOKUPS * sizeof(*p));
	unsigned int i;

	if (!p)
		die("malloc");
	for (i = 0; i < NLOOKUPS; i++)
		p[i] = iovas[rng() % n] + rng() % MAP_LEN;
	return p;
}

static double time_translate(struct io_pagetable *iopt, const uint64_t *probes)
{
	struct iopt_xlate x;
	uint64_t sink = 0;
	unsigned int i;
	double t0, t;

	uvf_read_lock(&iopt->lock);
	t0 = now_ns();
	for (i = 0; i < NLOOKUPS; i++) {
		if (iopt_translate(iopt, probes[i], 1, IOPT_READ, &x))
			die("iopt_translate");
		sink += x.off;
	}
	t = (now_ns() - t0) / NLOOKUPS;
	uvf_rw_unlock(&iopt->lock);
	__asm__ volatile("" : : "r"(sink));
	return t;
}

static double time_bsearch(const uint64_t *sorted, unsigned int n, const uint64_t *probes)
{
	uint64_t sink = 0;
	const uint64_t *hit;
	unsigned int i;
	double t0, t;

	t0 = now_ns();
	for (i = 0; i < NLOOKUPS; i++) {
		hit = bsearch(&probes[i], sorted, n, sizeof(*sorted), cmp_in_range);
		if (!hit)
			die("bsearch");
		sink += probes[i] - *hit;
	}
	t = (now_ns() - t0) / NLOOKUPS;
	__asm__ volatile("" : : "r"(sink));
	return t;
}

struct result {
	double pair_ns, pair_floor_ns;
	double xlate_ns, bsearch_ns;
};

static void run_size(struct uvf_memobj *mem, unsigned int n, struct result *res)
{
	struct io_pagetable iopt;
	uint64_t *iovas = make_iovas(n), *sorted, *probes;
	unsigned int i;

	res->pair_ns = time_map_unmap(mem, n);
	res->pair_floor_ns = time_map_unmap_floor(n);

	iopt_init(&iopt, UVF_PAGE_SIZE);
	for (i = 0; i < n; i++)
		map_one(&iopt, mem, iovas[i]);
	sorted = malloc(n * sizeof(*sorted));
	if (!sorted)
		die("malloc");
	memcpy(sorted, iovas, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_u64);
	probes = make_probes(iovas, n);
	/* Warm both once, then measure. */
	time_translate(&iopt, probes);
	time_bsearch(sorted, n, probes);
	res->xlate_ns = time_translate(&iopt, probes);
	res->bsearch_ns = time_bsearch(sorted, n, probes);
	iopt_destroy(&iopt);
	free(probes);
	free(sorted);
	free(iovas);
}

static unsigned int log2u(unsigned int n)
{
	return n <= 1 ? 0 : 31 - (unsigned int)__builtin_clz(n);
}

int main(void)
{
	struct uvf_memobj *mem = memobj_new_memfd("bench-iopt", MAP_LEN);
	struct result res[NSIZES];
	double t0 = now_ns();
	size_t i;

	if (!mem)
		die("memobj_new_memfd");
	for (i = 0; i < NSIZES; i++)
		run_size(mem, sizes[i], &res[i]);

	printf("bench_iopt: io page table, 4 KiB mappings %llu MiB apart\n\n",
	       (unsigned long long)(STRIDE >> 20));
	printf("map+unmap (ns per pair)\n");
	printf("  %8s  %12s  %24s  %7s\n", "n", "iopt", "floor (2 bsearch+malloc)", "ratio");
	for (i = 0; i < NSIZES; i++)
		printf("  %8u  %12.1f  %24.1f  %7.2f\n", sizes[i], res[i].pair_ns,
		       res[i].pair_floor_ns, res[i].pair_ns / res[i].pair_floor_ns);

	printf("\ntranslation (random IOVAs inside mappings)\n");
	printf("  %8s  %6s  %12s  %10s  %12s  %10s  %7s\n", "n", "log2 n", "iopt Mlk/s",
	       "iopt ns", "bsearch Mlk/s", "bsearch ns", "ratio");
	for (i = 0; i < NSIZES; i++)
		printf("  %8u  %6u  %12.2f  %10.1f  %13.2f  %10.1f  %7.2f\n", sizes[i],
		       log2u(sizes[i]), 1e3 / res[i].xlate_ns, res[i].xlate_ns,
		       1e3 / res[i].bsearch_ns, res[i].bsearch_ns,
		       res[i].xlate_ns / res[i].bsearch_ns);

	printf("\ngrowth of the time per operation, next to log2 n\n");
	printf("  %-16s  %7s  %12s  %12s  %14s\n", "n", "log2 n", "iopt lookup",
	       "bsearch", "iopt map+unmap");
	for (i = 1; i < NSIZES; i++)
		printf("  %6u -> %6u  %2u -> %2u  %11.2fx  %11.2fx  %13.2fx\n",
		       sizes[i - 1], sizes[i], log2u(sizes[i - 1]), log2u(sizes[i]),
		       res[i].xlate_ns / res[i - 1].xlate_ns,
		       res[i].bsearch_ns / res[i - 1].bsearch_ns,
		       res[i].pair_ns / res[i - 1].pair_ns);
	printf("  %6u -> %6u  %2u -> %2u  %11.2fx  %11.2fx  %13.2fx\n",
	       sizes[0], sizes[NSIZES - 1], log2u(sizes[0]), log2u(sizes[NSIZES - 1]),
	       res[NSIZES - 1].xlate_ns / res[0].xlate_ns,
	       res[NSIZES - 1].bsearch_ns / res[0].bsearch_ns,
	       res[NSIZES - 1].pair_ns / res[0].pair_ns);
	printf("\nrun time %.1f s\n", (now_ns() - t0) / 1e9);
	memobj_put(mem);
	return 0;
}
