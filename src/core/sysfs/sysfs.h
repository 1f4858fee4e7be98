/* SPDX-License-Identifier: MIT */
/*
 * The sysfs tree model (the kernel's kernfs + sysfs): directories,
 * attributes whose show/store return a length or -errno, and symbolic links,
 * each with an owner and a mode.  The tree is served to clients later (FUSE);
 * everything a client can see or do is expressed here: lookup, stat,
 * readdir, readlink, read, write, with the kernel's permission and errno
 * behaviour.
 *
 * Attribute semantics follow sysfs (fs/sysfs/file.c, fs/kernfs/file.c):
 * a read calls show once into a zeroed page (4096 bytes; a show returning
 * 4096 or more is cut to 4095) and serves the requested window of it (an
 * offset at or past the end reads 0 bytes).  A write of 'len' bytes calls
 * store once with the first min(len, 4096) bytes as written (a trailing
 * newline included; buf[len] is '\0') and returns store's result; the file
 * offset is ignored, as sysfs_kf_write does; a write of 0 bytes returns 0
 * without calling store.
 *
 * Permissions: the owner/group/other bits as generic_permission, root
 * (uid 0) passing them; and, for every caller including root, opening an
 * attribute for writing needs a write bit in its mode and a store, for
 * reading a read bit and a show (kernfs' extra open check, which sysfs
 * enables) - else -EACCES.  Search permission on directories is not
 * checked (sysfs directories are 0755).
 *
 * Lifetime: nodes are refcounted.  The tree holds one reference on every
 * linked node; the sysfs_mkdir/sysfs_add_* results are borrowed from it,
 * valid until the node or an ancestor is removed (sysfs_get to keep one
 * longer).  Removal unlinks a node (and its subtree) at once, so lookups no
 * longer find it and new show/store calls on it fail with -ENODEV; then, as
 * kernfs drains active references, sysfs_remove waits until show/store
 * calls already running on the removed nodes in other threads return, so
 * the remover may free what 'priv' points to afterwards.  A show/store
 * that removes its own node or an ancestor does not wait for itself (the
 * kernel's kernfs_remove_self).  Never call sysfs_remove holding a lock
 * that a show/store of the removed nodes takes.  A node is freed when its
 * last reference is gone.  show/store run with a node reference held and
 * no tree lock held, so a store may create and remove nodes (mdev
 * 'create', 'remove').
 *
 * Directories list their entries in name order (strcmp).  The kernel's
 * order is its rbtree's (name hash); name order is deterministic and no
 * program may rely on either.
 *
 * Locking: one rwlock per tree (sysfs_tree.lock) protects structure and
 * node modes/owners; it is a leaf lock: no callback runs under it.  The
 * tree's drain mutex (waiting for show/store to leave removed nodes) is
 * taken without the rwlock held.
 */
#ifndef UVF_SYSFS_H
#define UVF_SYSFS_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <sys/types.h>
#include "../base/refcount.h"
#include "../base/lock.h"

#define SYSFS_PAGE_SIZE 4096

struct sysfs_node;
struct uvf_caller;

enum sysfs_type { SYSFS_DIR, SYSFS_ATTR, SYSFS_LINK };

struct sysfs_attr_ops {
	/* Fill buf (SYSFS_PAGE_SIZE bytes); return the length or -errno. */
	ssize_t (*show)(struct sysfs_node *attr, char *buf);
	/* Act on 'len' bytes; return len (or bytes consumed) or -errno. */
	ssize_t (*store)(struct sysfs_node *attr, const char *buf, size_t len);
};

struct sysfs_tree;

/* Stat data of a node as a client sees it. */
struct sysfs_stat {
	enum sysfs_type type;
	mode_t mode;		/* permission bits only */
	uid_t uid;
	gid_t gid;
	uint64_t ino;		/* stable per node */
	uint64_t size;		/* 4096 for attributes, as sysfs reports */
};

struct sysfs_tree *sysfs_tree_new(void);
void sysfs_tree_free(struct sysfs_tree *t);
struct sysfs_node *sysfs_root(struct sysfs_tree *t);

/*
 * Building the tree.  Names are one path component (not empty, no '/',
 * not "." or "..": else NULL with errno EINVAL).  Creating a name that
 * exists gives NULL with errno EEXIST (the caller logs; a model bug); a
 * parent that is not a directory ENOTDIR, a removed parent ENOENT.
 * mkdir_p creates missing directories (mode 0755) of a '/'-separated path
 * relative to 'parent' and returns the last (existing or new); an existing
 * component that is a link to a directory is followed, as mkdir -p does.
 * The results are borrowed (see Lifetime above).
 */
struct sysfs_node *sysfs_mkdir(struct sysfs_node *parent, const char *name, mode_t mode);
struct sysfs_node *sysfs_mkdir_p(struct sysfs_node *parent, const char *path);
struct sysfs_node *sysfs_add_attr(struct sysfs_node *parent, const char *name, mode_t mode,
				  const struct sysfs_attr_ops *ops, void *priv);
/* A link named 'name' in parent pointing at target; readlink gives the
 * relative path from parent to target, as sysfs does. */
struct sysfs_node *sysfs_add_link(struct sysfs_node *parent, const char *name,
				  struct sysfs_node *target);
/* A link whose target is an absolute path string, resolved at lookup. */
struct sysfs_node *sysfs_add_link_path(struct sysfs_node *parent, const char *name,
				       const char *target_path);
/* Recursive; removing a node already removed does nothing (the caller must
 * still hold a reference on it then). */
void sysfs_remove(struct sysfs_node *node);
/*
 * From within node's own store (kernfs_remove_self, device_remove_file_self):
 * remove it without waiting for this call, and arbitrate between callers
 * doing the same at once: the first returns true; the others wait until
 * the first one's store has returned, and return false.  The caller keeps
 * using priv until its store returns, as the kernel's remove_store does.
 */
bool sysfs_remove_self(struct sysfs_node *node);
void sysfs_set_owner(struct sysfs_node *node, uid_t uid, gid_t gid);
void sysfs_set_mode(struct sysfs_node *node, mode_t mode);

/* The attribute's priv (NULL for directories and links). */
void *sysfs_priv(const struct sysfs_node *node);
const char *sysfs_name(const struct sysfs_node *node);
struct sysfs_node *sysfs_parent(const struct sysfs_node *node);
void sysfs_get(struct sysfs_node *node);
void sysfs_put(struct sysfs_node *node);
/* Absolute path of a node ("/bus/pci/devices/..."), into buf; -ENAMETOOLONG. */
int sysfs_path(const struct sysfs_node *node, char *buf, size_t size);

/*
 * Client operations, by absolute path inside the tree ("/bus/pci"; "" is
 * -ENOENT, "/" the root, "." and ".." work as in the VFS: ".." after a
 * followed link is the parent of the link's target).  Intermediate links
 * are followed (at most 40, as the VFS, else -ELOOP); the last component
 * is followed when 'follow' is true and by read/write/readdir/access (as
 * open(2) does); a trailing '/' requires a directory (-ENOTDIR).
 * Permission checks use the caller's uid/gid (see Permissions above; a
 * NULL caller is the kernel itself).  Errors: -ENOENT, -ENOTDIR, -EISDIR,
 * -EACCES, -ELOOP, -ENAMETOOLONG, and whatever show/store return.
 */
/* A referenced node (sysfs_put it), or NULL with errno set. */
struct sysfs_node *sysfs_lookup(struct sysfs_tree *t, const char *path, bool follow);
int sysfs_stat_path(struct sysfs_tree *t, const char *path, bool follow,
		    struct sysfs_stat *st);
void sysfs_stat_node(struct sysfs_node *n, struct sysfs_stat *st);
/* As readlink(2): the bytes placed (at most size, truncated), and a '\0'
 * after them when there is room; -EINVAL if the node is not a link. */
ssize_t sysfs_readlink(struct sysfs_tree *t, const char *path, char *buf, size_t size);
/* Calls fn for each entry name ("." and ".." excluded) in name order,
 * without the tree lock held; a non-zero return from fn stops the walk and
 * is returned.  -ENOTDIR if path is not a directory. */
int sysfs_readdir(struct sysfs_tree *t, const char *path,
		  int (*fn)(const char *name, const struct sysfs_stat *st, void *arg),
		  void *arg);
ssize_t sysfs_read(struct sysfs_tree *t, const struct uvf_caller *c, const char *path,
		   char *buf, size_t size, uint64_t off);
ssize_t sysfs_write(struct sysfs_tree *t, const struct uvf_caller *c, const char *path,
		    const char *buf, size_t len, uint64_t off);
/* open(2)-time permission check: -EACCES unless the caller may read/write;
 * -EISDIR for a directory opened for writing.  A NULL caller is the kernel
 * itself (root). */
int sysfs_access(struct sysfs_tree *t, const struct uvf_caller *c, const char *path,
		 bool want_read, bool want_write);

/*
 * The same on a node the caller holds (an open file keeps its node): no
 * permission check in read/write (that was sysfs_access_node at open).
 * -EISDIR for a directory, -EINVAL for a link or a missing show/store,
 * -ENODEV once the node is removed (kernfs_get_active failing).
 */
int sysfs_access_node(struct sysfs_node *n, const struct uvf_caller *c,
		      bool want_read, bool want_write);
ssize_t sysfs_read_node(struct sysfs_node *n, char *buf, size_t size, uint64_t off);
ssize_t sysfs_write_node(struct sysfs_node *n, const char *buf, size_t len, uint64_t off);

/* Helpers for show functions: format into the page (at offset 'at'),
 * returning the bytes added, never more than the page holds. */
ssize_t sysfs_emit(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
ssize_t sysfs_emit_at(char *buf, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Helpers for store functions: the kernel's parsers (lib/kstrtox.c), so
 * that attributes accept exactly what the kernel's accept.  kstrtobool
 * looks at the first one or two characters (y/Y/t/T/1/on: true,
 * n/N/f/F/0/off: false).  kstrtoull/kstrtouint take an optional '+',
 * base 0 meaning "0x" hex, "0" octal, else decimal, and one trailing
 * newline; -EINVAL for anything else, -ERANGE on overflow.
 */
int kstrtobool(const char *s, bool *res);
int kstrtoull(const char *s, unsigned int base, unsigned long long *res);
int kstrtouint(const char *s, unsigned int base, unsigned int *res);

#endif
