// SPDX-License-Identifier: MIT
/*
 * Interval tree: an AVL tree ordered by start, each node augmented with the
 * largest 'last' of its subtree (see itree.h).
 *
 * Every structural change (insert, remove) ends with a walk from the lowest
 * changed node up to the root that recomputes height and subtree_last and
 * rotates where the AVL balance is broken.  The walk is O(log n) and keeps
 * the augmentation exact without special cases per rotation site.
 */
#include "itree.h"

static inline int node_height(const struct itree_node *n)
{
	return n ? n->height : 0;
}

static void node_update(struct itree_node *n)
{
	int hl = node_height(n->left), hr = node_height(n->right);
	uint64_t sl = n->last;

	n->height = (hl > hr ? hl : hr) + 1;
	if (n->left && n->left->subtree_last > sl)
		sl = n->left->subtree_last;
	if (n->right && n->right->subtree_last > sl)
		sl = n->right->subtree_last;
	n->subtree_last = sl;
}

/* Point whatever referenced 'old' (its parent, or the root) at 'new'. */
static void replace_child(struct itree_root *root, struct itree_node *parent,
			  struct itree_node *old, struct itree_node *new)
{
	if (!parent)
		root->root = new;
	else if (parent->left == old)
		parent->left = new;
	else
		parent->right = new;
	if (new)
		new->parent = parent;
}

/* n's right child takes n's place; returns it. */
static struct itree_node *rotate_left(struct itree_root *root, struct itree_node *n)
{
	struct itree_node *r = n->right;

	replace_child(root, n->parent, n, r);
	n->right = r->left;
	if (r->left)
		r->left->parent = n;
	r->left = n;
	n->parent = r;
	node_update(n);
	node_update(r);
	return r;
}

/* n's left child takes n's place; returns it. */
static struct itree_node *rotate_right(struct itree_root *root, struct itree_node *n)
{
	struct itree_node *l = n->left;

	replace_child(root, n->parent, n, l);
	n->left = l->right;
	if (l->right)
		l->right->parent = n;
	l->right = n;
	n->parent = l;
	node_update(n);
	node_update(l);
	return l;
}

/* Restore the AVL property at n (children already balanced); returns the
 * node now at n's position. */
static struct itree_node *rebalance(struct itree_root *root, struct itree_node *n)
{
	int bf = node_height(n->left) - node_height(n->right);

	if (bf > 1) {
		if (node_height(n->left->left) < node_height(n->left->right))
			rotate_left(root, n->left);
		return rotate_right(root, n);
	}
	if (bf < -1) {
		if (node_height(n->right->right) < node_height(n->right->left))
			rotate_right(root, n->right);
		return rotate_left(root, n);
	}
	return n;
}

static void fixup_to_root(struct itree_root *root, struct itree_node *n)
{
	while (n) {
		node_update(n);
		n = rebalance(root, n);
		n = n->parent;
	}
}

void itree_insert(struct itree_root *root, struct itree_node *node)
{
	struct itree_node *parent = NULL, **link = &root->root;

	/* Equal starts go right: duplicates keep insertion order in-order. */
	while (*link) {
		parent = *link;
		link = node->start < parent->start ? &parent->left : &parent->right;
	}
	node->left = node->right = NULL;
	node->parent = parent;
	node->height = 1;
	node->subtree_last = node->last;
	*link = node;
	root->count++;
	fixup_to_root(root, parent);
}

static struct itree_node *leftmost(struct itree_node *n)
{
	while (n->left)
		n = n->left;
	return n;
}

void itree_remove(struct itree_root *root, struct itree_node *node)
{
	struct itree_node *succ, *from;

	if (!node->left || !node->right) {
		struct itree_node *child = node->left ? node->left : node->right;

		from = node->parent;
		replace_child(root, node->parent, node, child);
	} else {
		/* The in-order successor (no left child) takes node's place. */
		succ = leftmost(node->right);
		if (succ->parent == node) {
			from = succ;
		} else {
			from = succ->parent;
			from->left = succ->right;
			if (succ->right)
				succ->right->parent = from;
			succ->right = node->right;
			node->right->parent = succ;
		}
		succ->left = node->left;
		node->left->parent = succ;
		replace_child(root, node->parent, node, succ);
	}
	node->left = node->right = node->parent = NULL;
	root->count--;
	fixup_to_root(root, from);
}

/*
 * Leftmost node of the subtree at n overlapping [start, last], given that
 * n->subtree_last >= start.  Descend towards the leftmost node whose last
 * reaches start: if that node begins after 'last', so does every node after
 * it, and nodes before it end before start, so nothing overlaps.
 */
static struct itree_node *subtree_search(struct itree_node *n, uint64_t start,
					 uint64_t last)
{
	for (;;) {
		if (n->left && n->left->subtree_last >= start) {
			n = n->left;
			continue;
		}
		if (n->start > last)
			return NULL;
		if (n->last >= start)
			return n;
		/* The overlap, if any, is in the right subtree. */
		n = n->right;
		if (!n || n->subtree_last < start)
			return NULL;
	}
}

struct itree_node *itree_iter_first(const struct itree_root *root,
				    uint64_t start, uint64_t last)
{
	if (!root->root || root->root->subtree_last < start)
		return NULL;
	return subtree_search(root->root, start, last);
}

struct itree_node *itree_iter_next(const struct itree_node *node,
				   uint64_t start, uint64_t last)
{
	struct itree_node *n = (struct itree_node *)node, *r = n->right;

	for (;;) {
		if (r && r->subtree_last >= start)
			return subtree_search(r, start, last);
		/* Climb to the first ancestor entered from its left subtree. */
		while (n->parent && n->parent->right == n)
			n = n->parent;
		n = n->parent;
		if (!n || n->start > last)
			return NULL;
		if (n->last >= start)
			return n;
		r = n->right;
	}
}

struct itree_node *itree_find_disjoint(const struct itree_root *root, uint64_t point)
{
	struct itree_node *n = root->root;

	while (n) {
		if (point < n->start)
			n = n->left;
		else if (point > n->last)
			n = n->right;
		else
			return n;
	}
	return NULL;
}

struct itree_node *itree_first(const struct itree_root *root)
{
	return root->root ? leftmost(root->root) : NULL;
}

struct itree_node *itree_next(const struct itree_node *node)
{
	const struct itree_node *n = node;

	if (n->right)
		return leftmost(n->right);
	while (n->parent && n->parent->right == n)
		n = n->parent;
	return n->parent;
}
