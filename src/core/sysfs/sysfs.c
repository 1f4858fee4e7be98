// SPDX-License-Identifier: MIT
/*
 * The sysfs tree: kernfs' node model (directories, attributes, links) with
 * sysfs' attribute rules.  See sysfs.h for the semantics.
 *
 * Lock order: tree->lock (rwlock) is a leaf: nothing else is taken under
 * it and no show/store runs under it.  tree->drain_lock is taken only with
 * tree->lock not held.
 *
 * Who may touch what:
 *  - a directory's children array and every node's 'removed' flag change
 *    under tree->lock held for writing; readers check 'removed' under the
 *    read lock before looking at children;
 *  - once a subtree is marked removed nobody but its remover changes it, so
 *    the remover walks and dismantles it without the lock;
 *  - name, type, parent, ops, priv and link targets never change after
 *    creation, so they are read without the lock.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sysfs.h"
#include "../base/compiler.h"
#include "../base/log.h"
#include "../mm/caller.h"

#define SYSFS_NAME_MAX 255
#define SYSFS_PATH_MAX 4096
#define SYSFS_MAX_LINKS 40	/* the VFS' MAXSYMLINKS */
#define SYSFS_MAX_DEPTH 256	/* components a link path may span */

struct sysfs_node {
	struct uvf_ref ref;
	struct sysfs_tree *tree;
	struct sysfs_node *parent;	/* holds a reference; NULL for the root */
	char *name;
	enum sysfs_type type;
	uint64_t ino;

	/* under tree->lock */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	atomic_bool removed;

	/* show/store calls running on this node (kernfs' active references) */
	atomic_int active;
	/* sysfs_remove_self: the first caller wins (under tree->lock); the
	 * others wait for 'suicided' and the winner's call to end */
	bool suicidal;
	atomic_bool suicided;

	/* SYSFS_DIR: sorted by name, each entry holds the tree's reference */
	struct sysfs_node **children;
	unsigned int nchildren, children_cap;

	/* SYSFS_ATTR */
	const struct sysfs_attr_ops *ops;
	void *priv;

	/* SYSFS_LINK: exactly one of the two */
	struct sysfs_node *target;	/* holds a reference */
	char *target_path;
};

struct sysfs_tree {
	struct uvf_rwlock lock;
	struct sysfs_node *root;
	atomic_uint_fast64_t next_ino;
	struct uvf_mutex drain_lock;
	pthread_cond_t drain_cond;	/* an active call left a removed node */
};

/*
 * The show/store calls this thread is inside, innermost first, so that a
 * removal from within a store does not wait for the store itself.
 */
struct active_frame {
	struct sysfs_node *node;
	bool broken;			/* sysfs_remove_self gave its count back */
	struct active_frame *next;
};

static __thread struct active_frame *active_frames;

/* ---- nodes ---- */

static bool name_is_valid(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	if (!len || len > SYSFS_NAME_MAX || strchr(name, '/'))
		return false;
	return strcmp(name, ".") && strcmp(name, "..");
}

static struct sysfs_node *node_alloc(struct sysfs_tree *t, const char *name,
				     enum sysfs_type type, mode_t mode)
{
	struct sysfs_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->name = strdup(name);
	if (!n->name) {
		free(n);
		return NULL;
	}
	uvf_ref_init(&n->ref);
	n->tree = t;
	n->type = type;
	n->mode = mode & 07777;
	n->ino = atomic_fetch_add(&t->next_ino, 1);
	atomic_init(&n->removed, false);
	atomic_init(&n->active, 0);
	atomic_init(&n->suicided, false);
	return n;
}

static void node_free(struct sysfs_node *n)
{
	if (n->target)
		sysfs_put(n->target);
	free(n->target_path);
	free(n->children);
	free(n->name);
	free(n);
}

void sysfs_get(struct sysfs_node *node)
{
	uvf_ref_get(&node->ref);
}

void sysfs_put(struct sysfs_node *node)
{
	/* Each node holds its parent: walk up instead of recursing. */
	while (node && uvf_ref_put(&node->ref)) {
		struct sysfs_node *parent = node->parent;

		node_free(node);
		node = parent;
	}
}

void *sysfs_priv(const struct sysfs_node *node)
{
	return node->type == SYSFS_ATTR ? node->priv : NULL;
}

const char *sysfs_name(const struct sysfs_node *node)
{
	return node->name;
}

struct sysfs_node *sysfs_parent(const struct sysfs_node *node)
{
	return node->parent;
}

static bool node_removed(const struct sysfs_node *n)
{
	return atomic_load(&n->removed);
}

/* ---- directories (tree->lock held) ---- */

/* Index of 'name' in dir's children, or of where it would go (*found false). */
static unsigned int dir_search(const struct sysfs_node *dir, const char *name, bool *found)
{
	unsigned int lo = 0, hi = dir->nchildren;

	*found = false;
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		int cmp = strcmp(name, dir->children[mid]->name);

		if (!cmp) {
			*found = true;
			return mid;
		}
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static struct sysfs_node *dir_find(const struct sysfs_node *dir, const char *name)
{
	bool found;
	unsigned int i = dir_search(dir, name, &found);

	return found ? dir->children[i] : NULL;
}

/* Link n under dir, taking over n's initial reference.  Write lock held. */
static int dir_insert(struct sysfs_node *dir, struct sysfs_node *n)
{
	unsigned int i;
	bool found;

	if (dir->type != SYSFS_DIR)
		return -ENOTDIR;
	if (node_removed(dir))
		return -ENOENT;
	i = dir_search(dir, n->name, &found);
	if (found)
		return -EEXIST;
	if (dir->nchildren == dir->children_cap) {
		unsigned int cap = dir->children_cap ? dir->children_cap * 2 : 8;
		struct sysfs_node **c = realloc(dir->children, cap * sizeof(*c));

		if (!c)
			return -ENOMEM;
		dir->children = c;
		dir->children_cap = cap;
	}
	memmove(&dir->children[i + 1], &dir->children[i],
		(dir->nchildren - i) * sizeof(*dir->children));
	dir->children[i] = n;
	dir->nchildren++;
	sysfs_get(dir);
	n->parent = dir;
	return 0;
}

static void dir_unlink(struct sysfs_node *dir, struct sysfs_node *n)
{
	bool found;
	unsigned int i = dir_search(dir, n->name, &found);

	if (!found || dir->children[i] != n)
		return;
	dir->nchildren--;
	memmove(&dir->children[i], &dir->children[i + 1],
		(dir->nchildren - i) * sizeof(*dir->children));
}

/* Insert a new node under parent, or free it; NULL with errno on failure. */
static struct sysfs_node *node_add(struct sysfs_node *parent, struct sysfs_node *n)
{
	struct sysfs_tree *t = parent->tree;
	int ret;

	uvf_write_lock(&t->lock);
	ret = dir_insert(parent, n);
	uvf_rw_unlock(&t->lock);
	if (ret) {
		node_free(n);
		errno = -ret;
		return NULL;
	}
	return n;
}

struct sysfs_node *sysfs_mkdir(struct sysfs_node *parent, const char *name, mode_t mode)
{
	struct sysfs_node *n;

	if (!name_is_valid(name)) {
		errno = EINVAL;
		return NULL;
	}
	n = node_alloc(parent->tree, name, SYSFS_DIR, mode);
	if (!n) {
		errno = ENOMEM;
		return NULL;
	}
	return node_add(parent, n);
}

struct sysfs_node *sysfs_add_attr(struct sysfs_node *parent, const char *name, mode_t mode,
				  const struct sysfs_attr_ops *ops, void *priv)
{
	struct sysfs_node *n;

	if (!name_is_valid(name) || !ops) {
		errno = EINVAL;
		return NULL;
	}
	/* The kernel warns about the same model bugs (device_create_file). */
	if ((mode & 0222) && !ops->store)
		uvf_warn("sysfs", "attribute %s: write permission without store", name);
	if ((mode & 0444) && !ops->show)
		uvf_warn("sysfs", "attribute %s: read permission without show", name);
	n = node_alloc(parent->tree, name, SYSFS_ATTR, mode);
	if (!n) {
		errno = ENOMEM;
		return NULL;
	}
	n->ops = ops;
	n->priv = priv;
	return node_add(parent, n);
}

struct sysfs_node *sysfs_add_link(struct sysfs_node *parent, const char *name,
				  struct sysfs_node *target)
{
	struct sysfs_tree *t = parent->tree;
	struct sysfs_node *n;

	if (!name_is_valid(name) || !target || target->tree != t) {
		errno = EINVAL;
		return NULL;
	}
	n = node_alloc(t, name, SYSFS_LINK, 0777);
	if (!n) {
		errno = ENOMEM;
		return NULL;
	}
	/* A link is owned as its target is (kernfs_create_link). */
	uvf_read_lock(&t->lock);
	n->uid = target->uid;
	n->gid = target->gid;
	uvf_rw_unlock(&t->lock);
	sysfs_get(target);
	n->target = target;
	return node_add(parent, n);
}

struct sysfs_node *sysfs_add_link_path(struct sysfs_node *parent, const char *name,
				       const char *target_path)
{
	struct sysfs_node *n;

	if (!name_is_valid(name) || !target_path || target_path[0] != '/' ||
	    strlen(target_path) >= SYSFS_PATH_MAX) {
		errno = EINVAL;
		return NULL;
	}
	n = node_alloc(parent->tree, name, SYSFS_LINK, 0777);
	if (!n || !(n->target_path = strdup(target_path))) {
		if (n)
			node_free(n);
		errno = ENOMEM;
		return NULL;
	}
	return node_add(parent, n);
}

void sysfs_set_owner(struct sysfs_node *node, uid_t uid, gid_t gid)
{
	struct sysfs_tree *t = node->tree;

	uvf_write_lock(&t->lock);
	node->uid = uid;
	node->gid = gid;
	uvf_rw_unlock(&t->lock);
}

void sysfs_set_mode(struct sysfs_node *node, mode_t mode)
{
	struct sysfs_tree *t = node->tree;

	if (node->type == SYSFS_LINK)	/* links are always 0777 */
		return;
	uvf_write_lock(&t->lock);
	node->mode = mode & 07777;
	uvf_rw_unlock(&t->lock);
}

/* ---- removal ---- */

static void subtree_mark_removed(struct sysfs_node *n)
{
	atomic_store(&n->removed, true);
	for (unsigned int i = 0; i < n->nchildren; i++)
		subtree_mark_removed(n->children[i]);
}

static int active_held_by_me(const struct sysfs_node *n)
{
	int held = 0;

	for (const struct active_frame *f = active_frames; f; f = f->next)
		held += f->node == n && !f->broken;
	return held;
}

/* Wait until no other thread is inside show/store of the subtree. */
static void subtree_drain(struct sysfs_tree *t, struct sysfs_node *n)
{
	int mine = active_held_by_me(n);

	if (atomic_load(&n->active) > mine) {
		uvf_mutex_lock(&t->drain_lock);
		while (atomic_load(&n->active) > mine)
			pthread_cond_wait(&t->drain_cond, &t->drain_lock.m);
		uvf_mutex_unlock(&t->drain_lock);
	}
	for (unsigned int i = 0; i < n->nchildren; i++)
		subtree_drain(t, n->children[i]);
}

/* Drop the tree's references below n (n itself stays). */
static void subtree_release(struct sysfs_node *n)
{
	struct sysfs_node **children = n->children;
	unsigned int count = n->nchildren;

	n->children = NULL;
	n->nchildren = 0;
	n->children_cap = 0;
	for (unsigned int i = 0; i < count; i++) {
		subtree_release(children[i]);
		sysfs_put(children[i]);
	}
	free(children);
}

/*
 * Unlink and deactivate under the lock, then (the subtree now being ours
 * alone) drain and dismantle it without the lock.  Returns false if the
 * node was already removed; the tree's reference on it is then not ours.
 */
static bool node_remove(struct sysfs_node *n)
{
	struct sysfs_tree *t = n->tree;

	uvf_write_lock(&t->lock);
	if (node_removed(n)) {
		uvf_rw_unlock(&t->lock);
		return false;
	}
	if (n->parent)
		dir_unlink(n->parent, n);
	subtree_mark_removed(n);
	uvf_rw_unlock(&t->lock);

	subtree_drain(t, n);
	subtree_release(n);
	return true;
}

void sysfs_remove(struct sysfs_node *node)
{
	if (node && node_remove(node))
		sysfs_put(node);
}

/* ---- active references: show/store in flight ---- */

static bool active_get(struct sysfs_node *n, struct active_frame *f)
{
	struct sysfs_tree *t = n->tree;
	bool ok;

	/* Under the read lock so that removal, once it has marked the node,
	 * sees every call that got in. */
	uvf_read_lock(&t->lock);
	ok = !node_removed(n);
	if (ok)
		atomic_fetch_add(&n->active, 1);
	uvf_rw_unlock(&t->lock);
	if (!ok)
		return false;
	f->node = n;
	f->broken = false;
	f->next = active_frames;
	active_frames = f;
	return true;
}

static void drain_wake(struct sysfs_tree *t)
{
	uvf_mutex_lock(&t->drain_lock);
	pthread_cond_broadcast(&t->drain_cond);
	uvf_mutex_unlock(&t->drain_lock);
}

static void active_put(struct sysfs_node *n, struct active_frame *f)
{
	active_frames = f->next;
	atomic_fetch_sub(&n->active, 1);
	if (node_removed(n))
		drain_wake(n->tree);
}

static struct active_frame *active_frame_of(const struct sysfs_node *n)
{
	for (struct active_frame *f = active_frames; f; f = f->next)
		if (f->node == n)
			return f;
	return NULL;
}

/*
 * kernfs_remove_self: our own call stops counting (break_active_protection)
 * so that neither our removal nor a competing one waits for it; the first
 * caller removes the node, the others wait until it is removed and every
 * call on it, the winner's included, has returned.  Then the count comes
 * back for our frame, which active_put drops as usual.
 */
bool sysfs_remove_self(struct sysfs_node *n)
{
	struct active_frame *f = active_frame_of(n);
	struct sysfs_tree *t = n->tree;
	bool winner;

	if (!f || f->broken) {
		uvf_warn("sysfs", "%s: remove_self outside its own show/store", n->name);
		return false;
	}
	f->broken = true;
	atomic_fetch_sub(&n->active, 1);
	drain_wake(t);

	uvf_write_lock(&t->lock);
	winner = !n->suicidal;
	n->suicidal = true;
	uvf_rw_unlock(&t->lock);

	if (winner)
		sysfs_remove(n);
	/* The winner's count comes back together with 'suicided', so a loser
	 * that sees one sees the other and waits for the winner's return. */
	uvf_mutex_lock(&t->drain_lock);
	if (winner) {
		atomic_store(&n->suicided, true);
		pthread_cond_broadcast(&t->drain_cond);
	}
	while (!winner && (!atomic_load(&n->suicided) || atomic_load(&n->active)))
		pthread_cond_wait(&t->drain_cond, &t->drain_lock.m);
	atomic_fetch_add(&n->active, 1);
	f->broken = false;
	uvf_mutex_unlock(&t->drain_lock);
	return winner;
}

/* ---- the tree ---- */

struct sysfs_tree *sysfs_tree_new(void)
{
	struct sysfs_tree *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	atomic_init(&t->next_ino, 1);
	t->root = node_alloc(t, "", SYSFS_DIR, 0755);
	if (!t->root) {
		free(t);
		return NULL;
	}
	uvf_rwlock_init(&t->lock);
	uvf_mutex_init(&t->drain_lock);
	if (pthread_cond_init(&t->drain_cond, NULL))
		abort();
	return t;
}

void sysfs_tree_free(struct sysfs_tree *t)
{
	if (!t)
		return;
	sysfs_remove(t->root);
	pthread_cond_destroy(&t->drain_cond);
	uvf_mutex_destroy(&t->drain_lock);
	uvf_rwlock_destroy(&t->lock);
	free(t);
}

struct sysfs_node *sysfs_root(struct sysfs_tree *t)
{
	return t->root;
}

/* ---- paths ---- */

int sysfs_path(const struct sysfs_node *node, char *buf, size_t size)
{
	size_t len = 0, pos;

	for (const struct sysfs_node *n = node; n->parent; n = n->parent)
		len += 1 + strlen(n->name);
	if (!len)
		len = 1;	/* the root is "/" */
	if (len >= size)
		return -ENAMETOOLONG;
	buf[len] = '\0';
	buf[0] = '/';
	pos = len;
	for (const struct sysfs_node *n = node; n->parent; n = n->parent) {
		size_t nl = strlen(n->name);

		pos -= nl;
		memcpy(buf + pos, n->name, nl);
		buf[--pos] = '/';
	}
	return 0;
}

/* Append s to buf (of size SYSFS_PATH_MAX) at *pos. */
static int path_append(char *buf, size_t *pos, const char *s, size_t len)
{
	if (*pos + len >= SYSFS_PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(buf + *pos, s, len);
	*pos += len;
	buf[*pos] = '\0';
	return 0;
}

static bool is_ancestor_or_self(const struct sysfs_node *a, const struct sysfs_node *n)
{
	for (; n; n = n->parent)
		if (n == a)
			return true;
	return false;
}

/*
 * The relative path from a link in 'from' to 'to', as sysfs writes it: up
 * to the nearest ancestor of from that also contains to's directory, then
 * down ("../../devices/pci0000:00/0000:00:03.0").
 */
static int link_relative_path(const struct sysfs_node *from, const struct sysfs_node *to,
			      char *buf)
{
	const struct sysfs_node *base = from;
	const struct sysfs_node *to_dir = to->parent ? to->parent : to;
	const struct sysfs_node *down[SYSFS_MAX_DEPTH];
	int ndown = 0;
	size_t pos = 0;
	int ret;

	buf[0] = '\0';
	while (!is_ancestor_or_self(base, to_dir)) {
		ret = path_append(buf, &pos, "../", 3);
		if (ret)
			return ret;
		base = base->parent;
	}
	for (const struct sysfs_node *n = to; n != base && n; n = n->parent) {
		if (ndown == (int)ARRAY_SIZE(down))
			return -ENAMETOOLONG;
		down[ndown++] = n;
	}
	while (ndown--) {
		ret = path_append(buf, &pos, down[ndown]->name, strlen(down[ndown]->name));
		if (!ret && ndown)
			ret = path_append(buf, &pos, "/", 1);
		if (ret)
			return ret;
	}
	if (pos && buf[pos - 1] == '/')
		buf[--pos] = '\0';	/* a link to the root itself */
	if (!pos)
		return path_append(buf, &pos, ".", 1);
	return 0;
}

/* Split an absolute path into its components, in place. */
static int path_split(char *path, char **comp, int max)
{
	char *save = NULL;
	int n = 0;

	for (char *s = strtok_r(path, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
		if (n == max)
			return -ENAMETOOLONG;
		comp[n++] = s;
	}
	return n;
}

/* The same rule for a link whose target is a path string. */
static int link_relative_path_str(const struct sysfs_node *from, const char *target,
				  char *buf)
{
	char from_path[SYSFS_PATH_MAX], to_path[SYSFS_PATH_MAX];
	char *fc[SYSFS_MAX_DEPTH], *tc[SYSFS_MAX_DEPTH];
	int nf, nt, common = 0, ret;
	size_t pos = 0;

	ret = sysfs_path(from, from_path, sizeof(from_path));
	if (ret)
		return ret;
	snprintf(to_path, sizeof(to_path), "%s", target);
	nf = path_split(from_path, fc, ARRAY_SIZE(fc));
	nt = path_split(to_path, tc, ARRAY_SIZE(tc));
	if (nf < 0 || nt < 0)
		return -ENAMETOOLONG;
	/* Common prefix with the target's directory, as for node links. */
	while (common < nf && common < nt - 1 && !strcmp(fc[common], tc[common]))
		common++;
	buf[0] = '\0';
	for (int i = common; i < nf && !ret; i++)
		ret = path_append(buf, &pos, "../", 3);
	for (int i = common; i < nt && !ret; i++) {
		ret = path_append(buf, &pos, tc[i], strlen(tc[i]));
		if (!ret && i + 1 < nt)
			ret = path_append(buf, &pos, "/", 1);
	}
	if (!ret && pos && buf[pos - 1] == '/')
		buf[--pos] = '\0';
	if (!ret && !pos)
		ret = path_append(buf, &pos, ".", 1);
	return ret;
}

/* ---- lookup (tree->lock held for reading) ---- */

static int walk(struct sysfs_tree *t, const char *path, bool follow_last, int *links_left,
		struct sysfs_node **out);

/* Resolve a link (and links it leads to) to what it names. */
static int link_follow(struct sysfs_tree *t, struct sysfs_node *n, int *links_left,
		       struct sysfs_node **out)
{
	while (n->type == SYSFS_LINK) {
		if (--*links_left < 0)
			return -ELOOP;
		if (n->target) {
			n = n->target;
			if (node_removed(n))
				return -ENOENT;
		} else {
			int ret = walk(t, n->target_path, true, links_left, &n);

			if (ret)
				return ret;
		}
	}
	*out = n;
	return 0;
}

static int walk(struct sysfs_tree *t, const char *path, bool follow_last, int *links_left,
		struct sysfs_node **out)
{
	struct sysfs_node *cur = t->root;
	const char *p = path;

	if (!*path)
		return -ENOENT;
	if (strlen(path) >= SYSFS_PATH_MAX)
		return -ENAMETOOLONG;
	for (;;) {
		char name[SYSFS_NAME_MAX + 1];
		struct sysfs_node *child;
		bool last, trailing_slash;
		size_t len;
		int ret;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		len = strcspn(p, "/");
		if (len > SYSFS_NAME_MAX)
			return -ENAMETOOLONG;
		memcpy(name, p, len);
		name[len] = '\0';
		p += len;
		trailing_slash = *p == '/';
		last = !p[strspn(p, "/")];

		if (cur->type != SYSFS_DIR)
			return -ENOTDIR;
		if (node_removed(cur))
			return -ENOENT;
		if (!strcmp(name, "."))
			continue;
		if (!strcmp(name, "..")) {
			if (cur->parent)
				cur = cur->parent;
			continue;
		}
		child = dir_find(cur, name);
		if (!child)
			return -ENOENT;
		if (child->type == SYSFS_LINK && (!last || follow_last || trailing_slash)) {
			ret = link_follow(t, child, links_left, &child);
			if (ret)
				return ret;
		}
		cur = child;
		if (last && trailing_slash && cur->type != SYSFS_DIR)
			return -ENOTDIR;
	}
	*out = cur;
	return 0;
}

static int lookup_ref(struct sysfs_tree *t, const char *path, bool follow,
		      struct sysfs_node **out)
{
	int links_left = SYSFS_MAX_LINKS;
	int ret;

	uvf_read_lock(&t->lock);
	ret = walk(t, path, follow, &links_left, out);
	if (!ret)
		sysfs_get(*out);
	uvf_rw_unlock(&t->lock);
	return ret;
}

struct sysfs_node *sysfs_lookup(struct sysfs_tree *t, const char *path, bool follow)
{
	struct sysfs_node *n;
	int ret = lookup_ref(t, path, follow, &n);

	if (ret) {
		errno = -ret;
		return NULL;
	}
	return n;
}

/* mkdir -p: one component, found or made, under a single write lock. */
static int dir_get_or_make(struct sysfs_node *dir, const char *name, struct sysfs_node **out)
{
	struct sysfs_tree *t = dir->tree;
	struct sysfs_node *n = node_alloc(t, name, SYSFS_DIR, 0755);
	struct sysfs_node *found = NULL;
	int links_left = SYSFS_MAX_LINKS;
	int ret;

	if (!n)
		return -ENOMEM;
	uvf_write_lock(&t->lock);
	if (dir->type != SYSFS_DIR)
		ret = -ENOTDIR;
	else if (node_removed(dir))
		ret = -ENOENT;
	else if ((found = dir_find(dir, name)))
		ret = link_follow(t, found, &links_left, &found);
	else
		ret = dir_insert(dir, n);
	if (!ret && found && found->type != SYSFS_DIR)
		ret = -ENOTDIR;
	uvf_rw_unlock(&t->lock);
	if (ret || found)
		node_free(n);
	if (!ret)
		*out = found ? found : n;
	return ret;
}

struct sysfs_node *sysfs_mkdir_p(struct sysfs_node *parent, const char *path)
{
	struct sysfs_node *cur = parent;
	const char *p = path;

	for (;;) {
		char name[SYSFS_NAME_MAX + 1];
		size_t len;
		int ret;

		while (*p == '/')
			p++;
		if (!*p)
			return cur;
		len = strcspn(p, "/");
		if (len > SYSFS_NAME_MAX) {
			errno = ENAMETOOLONG;
			return NULL;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		p += len;
		if (!name_is_valid(name)) {
			errno = EINVAL;
			return NULL;
		}
		ret = dir_get_or_make(cur, name, &cur);
		if (ret) {
			errno = -ret;
			return NULL;
		}
	}
}

/* ---- stat, readlink, readdir ---- */

static void stat_locked(const struct sysfs_node *n, struct sysfs_stat *st)
{
	st->type = n->type;
	st->mode = n->mode;
	st->uid = n->uid;
	st->gid = n->gid;
	st->ino = n->ino;
	st->size = n->type == SYSFS_ATTR ? SYSFS_PAGE_SIZE : 0;
}

void sysfs_stat_node(struct sysfs_node *n, struct sysfs_stat *st)
{
	struct sysfs_tree *t = n->tree;

	uvf_read_lock(&t->lock);
	stat_locked(n, st);
	uvf_rw_unlock(&t->lock);
}

int sysfs_stat_path(struct sysfs_tree *t, const char *path, bool follow,
		    struct sysfs_stat *st)
{
	struct sysfs_node *n;
	int ret = lookup_ref(t, path, follow, &n);

	if (ret)
		return ret;
	sysfs_stat_node(n, st);
	sysfs_put(n);
	return 0;
}

ssize_t sysfs_readlink(struct sysfs_tree *t, const char *path, char *buf, size_t size)
{
	char target[SYSFS_PATH_MAX];
	struct sysfs_node *n;
	size_t len;
	int ret = lookup_ref(t, path, false, &n);

	if (ret)
		return ret;
	if (n->type != SYSFS_LINK)
		ret = -EINVAL;
	else if (n->target)
		ret = link_relative_path(n->parent, n->target, target);
	else
		ret = link_relative_path_str(n->parent, n->target_path, target);
	sysfs_put(n);
	if (ret)
		return ret;
	len = uvf_min(strlen(target), size);
	memcpy(buf, target, len);
	if (len < size)
		buf[len] = '\0';
	return len;
}

struct dirent_snap {
	struct sysfs_node *node;	/* referenced, for its name */
	struct sysfs_stat st;
};

int sysfs_readdir(struct sysfs_tree *t, const char *path,
		  int (*fn)(const char *name, const struct sysfs_stat *st, void *arg),
		  void *arg)
{
	struct dirent_snap *snap = NULL;
	unsigned int count = 0;
	struct sysfs_node *dir;
	int ret = lookup_ref(t, path, true, &dir);

	if (ret)
		return ret;
	if (dir->type != SYSFS_DIR) {
		sysfs_put(dir);
		return -ENOTDIR;
	}
	/* Snapshot under the lock, call fn without it. */
	uvf_read_lock(&t->lock);
	if (!node_removed(dir) && dir->nchildren) {
		snap = calloc(dir->nchildren, sizeof(*snap));
		if (!snap)
			ret = -ENOMEM;
		for (unsigned int i = 0; snap && i < dir->nchildren; i++) {
			snap[i].node = dir->children[i];
			sysfs_get(snap[i].node);
			stat_locked(snap[i].node, &snap[i].st);
		}
		if (snap)
			count = dir->nchildren;
	}
	uvf_rw_unlock(&t->lock);
	for (unsigned int i = 0; i < count && !ret; i++)
		ret = fn(snap[i].node->name, &snap[i].st, arg);
	for (unsigned int i = 0; i < count; i++)
		sysfs_put(snap[i].node);
	free(snap);
	sysfs_put(dir);
	return ret;
}

/* ---- permissions ---- */

/* The rwx bits that apply to this caller (generic_permission's choice). */
static unsigned int perm_bits(const struct sysfs_node *n, const struct uvf_caller *c)
{
	if (c->uid == n->uid)
		return (n->mode >> 6) & 7;
	if (c->gid == n->gid)
		return (n->mode >> 3) & 7;
	return n->mode & 7;
}

int sysfs_access_node(struct sysfs_node *n, const struct uvf_caller *c,
		      bool want_read, bool want_write)
{
	struct sysfs_tree *t = n->tree;
	bool root = !c || c->uid == 0;
	unsigned int bits;
	mode_t mode;

	if (n->type == SYSFS_DIR && want_write)
		return -EISDIR;
	uvf_read_lock(&t->lock);
	mode = n->mode;
	bits = root ? 7 : perm_bits(n, c);
	uvf_rw_unlock(&t->lock);

	/* sysfs' open check binds root too: no write bit or no store, no write. */
	if (n->type == SYSFS_ATTR) {
		if (want_write && (!(mode & 0222) || !n->ops->store))
			return -EACCES;
		if (want_read && (!(mode & 0444) || !n->ops->show))
			return -EACCES;
	}
	if ((want_read && !(bits & 4)) || (want_write && !(bits & 2)))
		return -EACCES;
	return 0;
}

int sysfs_access(struct sysfs_tree *t, const struct uvf_caller *c, const char *path,
		 bool want_read, bool want_write)
{
	struct sysfs_node *n;
	int ret = lookup_ref(t, path, true, &n);

	if (ret)
		return ret;
	ret = sysfs_access_node(n, c, want_read, want_write);
	sysfs_put(n);
	return ret;
}

/* ---- reading and writing attributes ---- */

static int attr_check(const struct sysfs_node *n)
{
	if (n->type == SYSFS_DIR)
		return -EISDIR;
	if (n->type != SYSFS_ATTR)
		return -EINVAL;
	return 0;
}

ssize_t sysfs_read_node(struct sysfs_node *n, char *buf, size_t size, uint64_t off)
{
	struct active_frame frame;
	ssize_t len;
	char *page;
	int ret = attr_check(n);

	if (ret)
		return ret;
	if (!n->ops->show)
		return -EINVAL;
	if (!size)
		return 0;
	page = calloc(1, SYSFS_PAGE_SIZE);
	if (!page)
		return -ENOMEM;
	if (!active_get(n, &frame)) {
		free(page);
		return -ENODEV;
	}
	len = n->ops->show(n, page);
	active_put(n, &frame);
	if (len >= 0) {
		/* A show that fills the whole page has likely overflowed; the
		 * kernel keeps one byte short of it and goes on. */
		if (len >= SYSFS_PAGE_SIZE)
			len = SYSFS_PAGE_SIZE - 1;
		if (off >= (uint64_t)len) {
			len = 0;
		} else {
			len = uvf_min((size_t)len - off, size);
			memcpy(buf, page + off, len);
		}
	}
	free(page);
	return len;
}

ssize_t sysfs_write_node(struct sysfs_node *n, const char *buf, size_t len, uint64_t off)
{
	struct active_frame frame;
	ssize_t ret = attr_check(n);
	char *page;

	(void)off;	/* sysfs_kf_write ignores the position */
	if (ret)
		return ret;
	if (!n->ops->store)
		return -EINVAL;
	if (!len)
		return 0;
	len = uvf_min(len, (size_t)SYSFS_PAGE_SIZE);
	page = malloc(len + 1);
	if (!page)
		return -ENOMEM;
	memcpy(page, buf, len);
	page[len] = '\0';	/* stores may parse it as a string */
	if (!active_get(n, &frame)) {
		free(page);
		return -ENODEV;
	}
	ret = n->ops->store(n, page, len);
	active_put(n, &frame);
	free(page);
	return ret;
}

/* Open-time lookup and check shared by read and write. */
static int attr_open(struct sysfs_tree *t, const struct uvf_caller *c, const char *path,
		     bool want_write, struct sysfs_node **out)
{
	struct sysfs_node *n;
	int ret = lookup_ref(t, path, true, &n);

	if (ret)
		return ret;
	ret = n->type == SYSFS_DIR ? -EISDIR :
	      sysfs_access_node(n, c, !want_write, want_write);
	if (ret) {
		sysfs_put(n);
		return ret;
	}
	*out = n;
	return 0;
}

ssize_t sysfs_read(struct sysfs_tree *t, const struct uvf_caller *c, const char *path,
		   char *buf, size_t size, uint64_t off)
{
	struct sysfs_node *n;
	ssize_t ret = attr_open(t, c, path, false, &n);

	if (ret)
		return ret;
	ret = sysfs_read_node(n, buf, size, off);
	sysfs_put(n);
	return ret;
}

ssize_t sysfs_write(struct sysfs_tree *t, const struct uvf_caller *c, const char *path,
		    const char *buf, size_t len, uint64_t off)
{
	struct sysfs_node *n;
	ssize_t ret = attr_open(t, c, path, true, &n);

	if (ret)
		return ret;
	ret = sysfs_write_node(n, buf, len, off);
	sysfs_put(n);
	return ret;
}

/* ---- show helpers ---- */

static ssize_t emit_va(char *buf, size_t at, const char *fmt, va_list ap)
{
	int len;

	if (at >= SYSFS_PAGE_SIZE)
		return 0;
	len = vsnprintf(buf + at, SYSFS_PAGE_SIZE - at, fmt, ap);
	if (len < 0)
		return 0;
	return uvf_min((size_t)len, SYSFS_PAGE_SIZE - at - 1);
}

ssize_t sysfs_emit(char *buf, const char *fmt, ...)
{
	va_list ap;
	ssize_t len;

	va_start(ap, fmt);
	len = emit_va(buf, 0, fmt, ap);
	va_end(ap);
	return len;
}

ssize_t sysfs_emit_at(char *buf, size_t at, const char *fmt, ...)
{
	va_list ap;
	ssize_t len;

	va_start(ap, fmt);
	len = emit_va(buf, at, fmt, ap);
	va_end(ap);
	return len;
}

/* ---- store helpers: the kernel's string parsers ---- */

int kstrtobool(const char *s, bool *res)
{
	if (!s)
		return -EINVAL;
	switch (s[0]) {
	case 'y': case 'Y': case 't': case 'T': case '1':
		*res = true;
		return 0;
	case 'n': case 'N': case 'f': case 'F': case '0':
		*res = false;
		return 0;
	case 'o': case 'O':
		if (s[1] == 'n' || s[1] == 'N') {
			*res = true;
			return 0;
		}
		if (s[1] == 'f' || s[1] == 'F') {
			*res = false;
			return 0;
		}
		return -EINVAL;
	default:
		return -EINVAL;
	}
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 16;
}

int kstrtoull(const char *s, unsigned int base, unsigned long long *res)
{
	unsigned long long v = 0;
	bool overflow = false;
	int digits = 0;

	if (s[0] == '+')
		s++;
	if (base == 0) {
		if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && digit_value(s[2]) < 16)
			base = 16;
		else
			base = s[0] == '0' ? 8 : 10;
	}
	if (base == 16 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (; digit_value(*s) < (int)base; s++, digits++)
		overflow |= check_mul_overflow(v, (unsigned long long)base, &v) ||
			    check_add_overflow(v, (unsigned long long)digit_value(*s), &v);
	if (overflow)
		return -ERANGE;
	if (!digits)
		return -EINVAL;
	if (*s == '\n')
		s++;
	if (*s)
		return -EINVAL;
	*res = v;
	return 0;
}

int kstrtouint(const char *s, unsigned int base, unsigned int *res)
{
	unsigned long long v;
	int ret = kstrtoull(s, base, &v);

	if (ret)
		return ret;
	if (v > UINT32_MAX)
		return -ERANGE;
	*res = (unsigned int)v;
	return 0;
}
