/* SPDX-License-Identifier: MIT */
/*
 * Interval tree over closed ranges [start, last] of uint64_t, intrusive.
 * A balanced (AVL) binary search tree ordered by start, each node augmented
 * with the largest 'last' in its subtree, so that insert, remove and the
 * first-overlap query are O(log n) and every further overlapping node costs
 * O(log n) more (the kernel's interval_tree.h contract).  Not locked.
 */
#ifndef UVF_BASE_ITREE_H
#define UVF_BASE_ITREE_H

#include <stdint.h>
#include <stddef.h>

struct itree_node {
	uint64_t start;
	uint64_t last;          /* inclusive */
	uint64_t subtree_last;  /* max 'last' in this subtree */
	struct itree_node *left, *right, *parent;
	int height;
};

struct itree_root {
	struct itree_node *root;
	size_t count;
};

#define ITREE_ROOT_INIT { NULL, 0 }

/* node->start and node->last must be set by the caller; duplicates allowed. */
void itree_insert(struct itree_root *root, struct itree_node *node);
void itree_remove(struct itree_root *root, struct itree_node *node);

/* First node (lowest start) overlapping [start, last], or NULL. */
struct itree_node *itree_iter_first(const struct itree_root *root,
				    uint64_t start, uint64_t last);
/* Next node after 'node' (in start order) overlapping [start, last], or NULL. */
struct itree_node *itree_iter_next(const struct itree_node *node,
				   uint64_t start, uint64_t last);

/*
 * The node containing 'point' in a tree whose intervals never overlap (an
 * ordinary search-tree descent, cheaper than iter_first: it touches one node
 * per level), or NULL.  Undefined which node when intervals overlap.
 */
struct itree_node *itree_find_disjoint(const struct itree_root *root, uint64_t point);

/* In-order traversal of every node. */
struct itree_node *itree_first(const struct itree_root *root);
struct itree_node *itree_next(const struct itree_node *node);

#define itree_for_each_overlap(pos, root, s, l)                         \
	for (pos = itree_iter_first(root, s, l); pos;                   \
	     pos = itree_iter_next(pos, s, l))

#endif
