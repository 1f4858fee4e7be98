// SPDX-License-Identifier: MIT
/*
 * Base library: id tables, the interval tree (against a brute-force model,
 * with AVL and augmentation invariants checked after every operation) and
 * bitmaps (against a bool-array model).
 */
#include "harness.h"
#include <stdbool.h>
#include "core/base/idtable.h"
#include "core/base/itree.h"
#include "core/base/bitmap.h"

/* xorshift64*: fixed seeds make every randomized test reproducible. */
static uint64_t rng_state;

static void rng_seed(uint64_t s)
{
	rng_state = s ? s : 1;
}

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static uint64_t rng_below(uint64_t n)
{
	return rng() % n;
}

/* ---- idtable ------------------------------------------------------------- */

static int tag[64];

static void test_idtable_alloc_lowest_free(void **state)
{
	struct uvf_idtable t;
	int i;

	idtable_init(&t);
	for (i = 1; i <= 5; i++)
		assert_int_equal(idtable_alloc(&t, &tag[i], 1, UINT32_MAX), i);
	assert_int_equal(t.count, 5);
	assert_ptr_equal(idtable_find(&t, 3), &tag[3]);
	assert_null(idtable_find(&t, 0));
	assert_null(idtable_find(&t, 6));
	assert_null(idtable_find(&t, UINT32_MAX));

	/* Freed ids are reused lowest first. */
	assert_ptr_equal(idtable_remove(&t, 4), &tag[4]);
	assert_ptr_equal(idtable_remove(&t, 2), &tag[2]);
	assert_null(idtable_remove(&t, 2));
	assert_int_equal(t.count, 3);
	assert_int_equal(idtable_alloc(&t, &tag[10], 1, UINT32_MAX), 2);
	assert_int_equal(idtable_alloc(&t, &tag[11], 1, UINT32_MAX), 4);
	assert_int_equal(idtable_alloc(&t, &tag[12], 1, UINT32_MAX), 6);

	/* A minimum above the free ids skips them; they stay free for later. */
	assert_ptr_equal(idtable_remove(&t, 1), &tag[1]);
	assert_int_equal(idtable_alloc(&t, &tag[13], 3, UINT32_MAX), 7);
	assert_int_equal(idtable_alloc(&t, &tag[14], 0, UINT32_MAX), 0);
	assert_int_equal(idtable_alloc(&t, &tag[15], 0, UINT32_MAX), 1);
	assert_int_equal(idtable_alloc(&t, &tag[16], 0, UINT32_MAX), 8);

	/* A range with no free id, and NULL pointers, are refused. */
	assert_errno(idtable_alloc(&t, &tag[17], 2, 7), -ENOSPC);
	assert_errno(idtable_alloc(&t, &tag[17], 5, 4), -ENOSPC);
	assert_errno(idtable_alloc(&t, NULL, 0, 100), -EINVAL);
	idtable_destroy(&t);
}

static void test_idtable_insert(void **state)
{
	struct uvf_idtable t;

	idtable_init(&t);
	assert_int_equal(idtable_insert(&t, 1000, &tag[0]), 0);
	assert_errno(idtable_insert(&t, 1000, &tag[1]), -EEXIST);
	assert_errno(idtable_insert(&t, 5, NULL), -EINVAL);
	assert_ptr_equal(idtable_find(&t, 1000), &tag[0]);
	assert_int_equal(idtable_insert(&t, 0, &tag[2]), 0);
	/* Allocation fills around inserted ids. */
	assert_int_equal(idtable_alloc(&t, &tag[3], 0, UINT32_MAX), 1);
	assert_int_equal(idtable_alloc(&t, &tag[4], 1000, UINT32_MAX), 1001);
	assert_int_equal(idtable_alloc(&t, &tag[5], 999, 1000), 999);
	assert_errno(idtable_alloc(&t, &tag[6], 999, 1000), -ENOSPC);
	assert_int_equal(t.count, 5);
	idtable_destroy(&t);
}

struct visit {
	uint32_t ids[16];
	int n;
	uint32_t stop_at;
	struct uvf_idtable *t;
};

static int visit_fn(uint32_t id, void *ptr, void *arg)
{
	struct visit *v = arg;

	assert_ptr_equal(ptr, &tag[id % 64]);
	v->ids[v->n++] = id;
	if (v->t)	/* removing the current entry while iterating is allowed */
		idtable_remove(v->t, id);
	return id == v->stop_at ? 42 : 0;
}

static void test_idtable_for_each(void **state)
{
	static const uint32_t ids[] = { 40, 3, 17, 100, 0 };
	struct uvf_idtable t;
	struct visit v = { .stop_at = UINT32_MAX };
	size_t i;

	idtable_init(&t);
	assert_int_equal(idtable_for_each(&t, visit_fn, &v), 0);
	assert_int_equal(v.n, 0);
	for (i = 0; i < ARRAY_SIZE(ids); i++)
		assert_int_equal(idtable_insert(&t, ids[i], &tag[ids[i] % 64]), 0);

	assert_int_equal(idtable_for_each(&t, visit_fn, &v), 0);
	assert_int_equal(v.n, 5);
	assert_int_equal(v.ids[0], 0);
	assert_int_equal(v.ids[1], 3);
	assert_int_equal(v.ids[2], 17);
	assert_int_equal(v.ids[3], 40);
	assert_int_equal(v.ids[4], 100);

	/* A non-zero return stops the walk and is passed back. */
	memset(&v, 0, sizeof(v));
	v.stop_at = 17;
	assert_int_equal(idtable_for_each(&t, visit_fn, &v), 42);
	assert_int_equal(v.n, 3);

	memset(&v, 0, sizeof(v));
	v.stop_at = UINT32_MAX;
	v.t = &t;
	assert_int_equal(idtable_for_each(&t, visit_fn, &v), 0);
	assert_int_equal(v.n, 5);
	assert_int_equal(t.count, 0);
	idtable_destroy(&t);
}

/* Random alloc/remove against a model that scans for the lowest free id. */
static void test_idtable_random(void **state)
{
	enum { N = 300 };
	bool used[N] = { false };
	struct uvf_idtable t;
	uint32_t min, id, want;
	int op;

	rng_seed(7);
	idtable_init(&t);
	for (op = 0; op < 5000; op++) {
		if (rng_below(3)) {
			min = (uint32_t)rng_below(N);
			for (want = min; want < N && used[want]; want++)
				;
			if (want == N) {
				assert_errno(idtable_alloc(&t, &tag[0], min, N - 1), -ENOSPC);
				continue;
			}
			assert_int_equal(idtable_alloc(&t, &tag[0], min, N - 1), want);
			used[want] = true;
		} else {
			id = (uint32_t)rng_below(N);
			if (used[id])
				assert_ptr_equal(idtable_remove(&t, id), &tag[0]);
			else
				assert_null(idtable_remove(&t, id));
			used[id] = false;
		}
	}
	for (id = 0; id < N; id++)
		assert_int_equal(idtable_find(&t, id) != NULL, used[id]);
	idtable_destroy(&t);
}

/* ---- itree --------------------------------------------------------------- */

/* Checks parent links, heights, AVL balance and subtree_last; returns the
 * subtree height. */
static int check_subtree(const struct itree_node *n, const struct itree_node *parent,
			 size_t *count)
{
	int hl, hr;
	uint64_t sl;

	if (!n)
		return 0;
	assert_ptr_equal(n->parent, parent);
	assert_true(n->start <= n->last);
	hl = check_subtree(n->left, n, count);
	hr = check_subtree(n->right, n, count);
	assert_true(hl - hr <= 1 && hr - hl <= 1);
	assert_int_equal(n->height, (hl > hr ? hl : hr) + 1);
	sl = n->last;
	if (n->left && n->left->subtree_last > sl)
		sl = n->left->subtree_last;
	if (n->right && n->right->subtree_last > sl)
		sl = n->right->subtree_last;
	assert_int_equal(n->subtree_last, sl);
	(*count)++;
	return n->height;
}

static void check_tree(const struct itree_root *root)
{
	const struct itree_node *n, *prev = NULL;
	size_t count = 0, walked = 0;

	check_subtree(root->root, NULL, &count);
	assert_int_equal(count, root->count);
	for (n = itree_first(root); n; n = itree_next(n)) {
		if (prev)
			assert_true(prev->start <= n->start);
		prev = n;
		walked++;
	}
	assert_int_equal(walked, root->count);
}

enum { POOL = 1500 };
struct model_node {
	struct itree_node node;
	bool in_tree;
	bool seen;
};

static bool overlaps(const struct itree_node *n, uint64_t s, uint64_t l)
{
	return n->start <= l && n->last >= s;
}

/* The iterator must give exactly the overlapping nodes, in start order. */
static void check_query(struct itree_root *root, struct model_node *pool,
			uint64_t s, uint64_t l)
{
	struct itree_node *n, *prev = NULL;
	size_t want = 0, got = 0, i;

	for (i = 0; i < POOL; i++) {
		pool[i].seen = false;
		if (pool[i].in_tree && overlaps(&pool[i].node, s, l))
			want++;
	}
	itree_for_each_overlap(n, root, s, l) {
		struct model_node *m = container_of(n, struct model_node, node);

		assert_true(m->in_tree);
		assert_true(overlaps(n, s, l));
		assert_false(m->seen);
		m->seen = true;
		if (prev)
			assert_true(prev->start <= n->start);
		prev = n;
		got++;
	}
	assert_int_equal(got, want);
}

static void random_interval(struct itree_node *n)
{
	uint64_t kind = rng_below(20);

	if (kind == 0) {		/* reaching the top of the space */
		n->start = UINT64_MAX - rng_below(3000);
		n->last = UINT64_MAX;
	} else if (kind == 1) {		/* huge, from near 0 */
		n->start = rng_below(100);
		n->last = n->start + (UINT64_MAX >> 1) + rng_below(1000);
	} else {
		n->start = rng_below(20000);
		n->last = n->start + (kind < 8 ? 0 : rng_below(400));
	}
}

static void test_itree_random(void **state)
{
	struct itree_root root = ITREE_ROOT_INIT;
	struct model_node *pool = calloc(POOL, sizeof(*pool));
	uint64_t s, l;
	size_t i;
	int op;

	assert_non_null(pool);
	rng_seed(12345);
	assert_null(itree_first(&root));
	assert_null(itree_iter_first(&root, 0, UINT64_MAX));
	assert_null(itree_find_disjoint(&root, 0));
	for (op = 0; op < 6000; op++) {
		uint64_t what = rng_below(10);

		i = rng_below(POOL);
		if (what < 5 && !pool[i].in_tree) {
			random_interval(&pool[i].node);
			itree_insert(&root, &pool[i].node);
			pool[i].in_tree = true;
		} else if (what < 8 && pool[i].in_tree) {
			itree_remove(&root, &pool[i].node);
			pool[i].in_tree = false;
		} else {
			s = rng_below(3) ? rng_below(21000) : UINT64_MAX - rng_below(4000);
			l = s + rng_below(800);
			if (l < s)
				l = UINT64_MAX;
			check_query(&root, pool, s, l);
		}
		check_tree(&root);
	}
	check_query(&root, pool, 0, UINT64_MAX);
	check_query(&root, pool, UINT64_MAX, UINT64_MAX);
	check_query(&root, pool, 0, 0);
	/* Drain completely. */
	for (i = 0; i < POOL; i++)
		if (pool[i].in_tree) {
			itree_remove(&root, &pool[i].node);
			pool[i].in_tree = false;
			check_tree(&root);
		}
	assert_null(root.root);
	assert_int_equal(root.count, 0);
	free(pool);
}

/* Sequential inserts are the classic unbalancing input: height stays log. */
static void test_itree_sequential_balance(void **state)
{
	enum { N = 4096 };
	struct itree_root root = ITREE_ROOT_INIT;
	struct itree_node *nodes = calloc(N, sizeof(*nodes));
	struct itree_node *n;
	int i;

	assert_non_null(nodes);
	for (i = 0; i < N; i++) {
		nodes[i].start = (uint64_t)i * 10;
		nodes[i].last = (uint64_t)i * 10 + 9;
		itree_insert(&root, &nodes[i]);
	}
	check_tree(&root);
	/* An AVL tree of 4096 nodes is at most 1.44 * log2(4097) ~ 17 high. */
	assert_true(root.root->height <= 17);
	n = itree_iter_first(&root, 12345, 12345);
	assert_ptr_equal(n, &nodes[1234]);
	assert_null(itree_iter_next(n, 12345, 12345));
	n = itree_iter_first(&root, 15, 34);
	assert_ptr_equal(n, &nodes[1]);
	assert_ptr_equal(n = itree_iter_next(n, 15, 34), &nodes[2]);
	assert_ptr_equal(n = itree_iter_next(n, 15, 34), &nodes[3]);
	assert_null(itree_iter_next(n, 15, 34));
	assert_null(itree_iter_first(&root, N * 10, UINT64_MAX));
	/* Disjoint intervals: the point lookup finds the containing node. */
	for (i = 0; i < N * 10; i += 7)
		assert_ptr_equal(itree_find_disjoint(&root, (uint64_t)i), &nodes[i / 10]);
	assert_null(itree_find_disjoint(&root, N * 10));
	for (i = 0; i < N; i += 2)
		itree_remove(&root, &nodes[i]);
	check_tree(&root);
	for (i = 0; i < N * 10; i += 3)
		assert_ptr_equal(itree_find_disjoint(&root, (uint64_t)i),
				 (i / 10) % 2 ? &nodes[i / 10] : NULL);
	assert_int_equal(root.count, N / 2);
	assert_null(itree_iter_first(&root, 0, 9));
	assert_ptr_equal(itree_iter_first(&root, 0, 10), &nodes[1]);
	free(nodes);
}

/* A long interval early in start order must be found by queries far right. */
static void test_itree_long_interval(void **state)
{
	struct itree_root root = ITREE_ROOT_INIT;
	struct itree_node nodes[64], big = { .start = 5, .last = 100000 };
	struct itree_node *n;
	int i;

	for (i = 0; i < 64; i++) {
		nodes[i].start = 1000 + (uint64_t)i * 100;
		nodes[i].last = nodes[i].start + 10;
		itree_insert(&root, &nodes[i]);
	}
	itree_insert(&root, &big);
	check_tree(&root);
	n = itree_iter_first(&root, 50000, 50000);
	assert_ptr_equal(n, &big);
	assert_null(itree_iter_next(n, 50000, 50000));
	n = itree_iter_first(&root, 1005, 1100);
	assert_ptr_equal(n, &big);
	assert_ptr_equal(n = itree_iter_next(n, 1005, 1100), &nodes[0]);
	assert_ptr_equal(n = itree_iter_next(n, 1005, 1100), &nodes[1]);
	assert_null(itree_iter_next(n, 1005, 1100));
}

/* ---- bitmap -------------------------------------------------------------- */

static void check_bitmap(const unsigned long *map, const bool *model, uint64_t nbits)
{
	uint64_t i, weight = 0, next_set = nbits, next_zero = nbits;

	for (i = 0; i < nbits; i++) {
		assert_int_equal(test_bit(i, map), model[i]);
		weight += model[i];
	}
	assert_int_equal(bitmap_weight(map, nbits), weight);
	assert_int_equal(bitmap_empty(map, nbits), weight == 0);
	/* find_next_* from every position, scanning the model backwards. */
	for (i = nbits; i-- > 0;) {
		if (model[i])
			next_set = i;
		else
			next_zero = i;
		assert_int_equal(find_next_bit(map, nbits, i), next_set);
		assert_int_equal(find_next_zero_bit(map, nbits, i), next_zero);
	}
	assert_int_equal(find_next_bit(map, nbits, nbits), nbits);
	assert_int_equal(find_next_zero_bit(map, nbits, nbits + 5), nbits);
}

static void test_bitmap_ranges(void **state)
{
	enum { NBITS = 300 };	/* not a multiple of 64: a partial last word */
	unsigned long *map = bitmap_zalloc(NBITS);
	bool model[NBITS] = { false };
	uint64_t i;

	assert_non_null(map);
	check_bitmap(map, model, NBITS);
	/* Word-boundary cases first. */
	bitmap_set(map, 60, 8);
	bitmap_set(map, 128, 64);
	bitmap_set(map, 250, 50);
	for (i = 60; i < 68; i++)
		model[i] = true;
	for (i = 128; i < 192; i++)
		model[i] = true;
	for (i = 250; i < 300; i++)
		model[i] = true;
	check_bitmap(map, model, NBITS);
	bitmap_clear(map, 63, 2);
	bitmap_clear(map, 130, 0);
	model[63] = model[64] = false;
	check_bitmap(map, model, NBITS);
	bitmap_set(map, 64, 64);	/* exactly one word */
	for (i = 64; i < 128; i++)
		model[i] = true;
	check_bitmap(map, model, NBITS);
	bitmap_clear(map, 100, 100);	/* partial, whole, partial */
	for (i = 100; i < 200; i++)
		model[i] = false;
	check_bitmap(map, model, NBITS);
	bitmap_free(map);
}

/* Random set/clear of ranges against an independent bool-array model. */
static void test_bitmap_random_model(void **state)
{
	enum { NBITS = 200 };
	unsigned long *map = bitmap_zalloc(NBITS);
	bool model[NBITS] = { false };
	uint64_t start, len, i;
	bool set;
	int op;

	assert_non_null(map);
	rng_seed(2024);
	for (op = 0; op < 500; op++) {
		start = rng_below(NBITS);
		len = rng_below(NBITS - start + 1);
		set = rng_below(2);
		if (set)
			bitmap_set(map, start, len);
		else
			bitmap_clear(map, start, len);
		for (i = start; i < start + len; i++)
			model[i] = set;
		if (rng_below(8) == 0) {
			i = rng_below(NBITS);
			set_bit_atomic(i, map);
			model[i] = true;
		}
		check_bitmap(map, model, NBITS);
	}
	bitmap_free(map);
}

static void test_bitmap_single_bits(void **state)
{
	unsigned long *map = bitmap_zalloc(128);
	unsigned long *empty = bitmap_zalloc(0);

	assert_non_null(map);
	assert_non_null(empty);
	assert_true(bitmap_empty(empty, 0));
	assert_int_equal(find_next_bit(empty, 0, 0), 0);
	set_bit(0, map);
	set_bit(63, map);
	set_bit(64, map);
	set_bit_atomic(127, map);
	assert_int_equal(map[0], 0x8000000000000001UL);
	assert_int_equal(map[1], 0x8000000000000001UL);
	assert_int_equal(find_next_bit(map, 128, 1), 63);
	assert_int_equal(find_next_bit(map, 128, 65), 127);
	/* nbits bounds the search even when later bits are set. */
	assert_int_equal(find_next_bit(map, 100, 65), 100);
	assert_int_equal(find_next_zero_bit(map, 128, 63), 65);
	clear_bit(63, map);
	assert_false(test_bit(63, map));
	assert_int_equal(bitmap_weight(map, 128), 3);
	assert_int_equal(bitmap_weight(map, 127), 2);
	bitmap_free(map);
	bitmap_free(empty);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idtable_alloc_lowest_free),
		cmocka_unit_test(test_idtable_insert),
		cmocka_unit_test(test_idtable_for_each),
		cmocka_unit_test(test_idtable_random),
		cmocka_unit_test(test_itree_random),
		cmocka_unit_test(test_itree_sequential_balance),
		cmocka_unit_test(test_itree_long_interval),
		cmocka_unit_test(test_bitmap_ranges),
		cmocka_unit_test(test_bitmap_random_model),
		cmocka_unit_test(test_bitmap_single_bits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
