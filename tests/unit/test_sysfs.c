// SPDX-License-Identifier: MIT
/*
 * The sysfs tree: what a client sees (paths, links, modes, errno) and the
 * lifetime rules show/store rely on (removal while in use, self-removal,
 * concurrent readers and a remover).
 */
#include "harness.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include "core/sysfs/sysfs.h"

static const struct uvf_caller root_caller = { .uid = 0, .gid = 0 };
static const struct uvf_caller user_caller = { .uid = 1000, .gid = 1000 };

/* An attribute whose value is a string held in priv; stores replace it. */
struct text_attr {
	char value[SYSFS_PAGE_SIZE + 1];
	size_t last_store_len;
	int stores;
	int shows;
	ssize_t store_ret;	/* 0: return len */
	ssize_t show_ret;	/* 0: return the value's length */
};

static ssize_t text_show(struct sysfs_node *attr, char *buf)
{
	struct text_attr *ta = sysfs_priv(attr);

	ta->shows++;
	if (ta->show_ret)
		return ta->show_ret;
	return sysfs_emit(buf, "%s", ta->value);
}

static ssize_t text_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	struct text_attr *ta = sysfs_priv(attr);

	ta->stores++;
	ta->last_store_len = len;
	if (ta->store_ret)
		return ta->store_ret;
	/* The buffer is a string: buf[len] is NUL. */
	snprintf(ta->value, sizeof(ta->value), "%s", buf);
	return len;
}

static const struct sysfs_attr_ops text_rw_ops = { .show = text_show, .store = text_store };
static const struct sysfs_attr_ops text_ro_ops = { .show = text_show };
static const struct sysfs_attr_ops text_wo_ops = { .store = text_store };

struct fixture {
	struct sysfs_tree *t;
	struct sysfs_node *dev;		/* /devices/pci0000:00/0000:00:03.0 */
	struct sysfs_node *group;	/* /kernel/iommu_groups/3 */
	struct text_attr vendor, cfg;
};

/* A slice of a real sysfs: a PCI device, its bus link, driver link and group. */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct sysfs_node *root, *n;

	assert_non_null(f);
	f->t = sysfs_tree_new();
	assert_non_null(f->t);
	root = sysfs_root(f->t);
	f->dev = sysfs_mkdir_p(root, "devices/pci0000:00/0000:00:03.0");
	assert_non_null(f->dev);
	snprintf(f->vendor.value, sizeof(f->vendor.value), "0x8086\n");
	assert_non_null(sysfs_add_attr(f->dev, "vendor", 0444, &text_ro_ops, &f->vendor));
	assert_non_null(sysfs_add_attr(f->dev, "cfg", 0644, &text_rw_ops, &f->cfg));
	f->group = sysfs_mkdir_p(root, "kernel/iommu_groups/3");
	assert_non_null(f->group);
	n = sysfs_mkdir_p(f->group, "devices");
	assert_non_null(sysfs_add_link(n, "0000:00:03.0", f->dev));
	assert_non_null(sysfs_add_link(f->dev, "iommu_group", f->group));
	n = sysfs_mkdir_p(root, "bus/pci/devices");
	assert_non_null(sysfs_add_link(n, "0000:00:03.0", f->dev));
	n = sysfs_mkdir_p(root, "bus/pci/drivers/vfio-pci");
	assert_non_null(sysfs_add_link(n, "0000:00:03.0", f->dev));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sysfs_tree_free(f->t);
	free(f);
	return 0;
}

static void read_str(struct sysfs_tree *t, const char *path, const char *want)
{
	char buf[SYSFS_PAGE_SIZE + 1];
	ssize_t n = sysfs_read(t, &root_caller, path, buf, sizeof(buf) - 1, 0);

	if (n < 0)
		fail_msg("read %s: %s", path, strerror((int)-n));
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void readlink_str(struct sysfs_tree *t, const char *path, const char *want)
{
	char buf[256];
	ssize_t n = sysfs_readlink(t, path, buf, sizeof(buf));

	if (n < 0)
		fail_msg("readlink %s: %s", path, strerror((int)-n));
	assert_int_equal(n, strlen(want));
	assert_string_equal(buf, want);
}

/* ---- links ---- */

static void links_read_as_relative_paths(void **state)
{
	struct fixture *f = *state;
	struct sysfs_node *n = sysfs_lookup(f->t, "/kernel", false);

	/* The paths a real kernel shows for these links. */
	readlink_str(f->t, "/bus/pci/devices/0000:00:03.0",
		     "../../../devices/pci0000:00/0000:00:03.0");
	readlink_str(f->t, "/bus/pci/drivers/vfio-pci/0000:00:03.0",
		     "../../../../devices/pci0000:00/0000:00:03.0");
	readlink_str(f->t, "/devices/pci0000:00/0000:00:03.0/iommu_group",
		     "../../../kernel/iommu_groups/3");
	readlink_str(f->t, "/kernel/iommu_groups/3/devices/0000:00:03.0",
		     "../../../../devices/pci0000:00/0000:00:03.0");

	/* A link to an ancestor, and a path link, follow the same rule. */
	assert_non_null(sysfs_add_link(f->dev, "up", sysfs_parent(f->dev)));
	readlink_str(f->t, "/devices/pci0000:00/0000:00:03.0/up", "../../pci0000:00");
	assert_non_null(n);
	assert_non_null(sysfs_add_link_path(n, "dev", "/devices/pci0000:00/0000:00:03.0"));
	readlink_str(f->t, "/kernel/dev", "../devices/pci0000:00/0000:00:03.0");
	read_str(f->t, "/kernel/dev/vendor", "0x8086\n");
	sysfs_put(n);

	/* readlink(2) truncates and reports the bytes placed. */
	{
		char small[4] = "xxxx";

		assert_int_equal(sysfs_readlink(f->t, "/kernel/dev", small, sizeof(small)), 4);
		assert_memory_equal(small, "../d", 4);
	}
	assert_errno(sysfs_readlink(f->t, "/devices", (char[8]){0}, 8), -EINVAL);
}

static void lookup_follows_links(void **state)
{
	struct fixture *f = *state;
	struct sysfs_stat st;
	struct sysfs_node *n;

	/* Intermediate links are always followed. */
	read_str(f->t, "/bus/pci/devices/0000:00:03.0/vendor", "0x8086\n");
	read_str(f->t, "/bus/pci/devices/0000:00:03.0/iommu_group/devices/0000:00:03.0/vendor",
		 "0x8086\n");

	/* The last one only when asked. */
	assert_int_equal(sysfs_stat_path(f->t, "/bus/pci/devices/0000:00:03.0", false, &st), 0);
	assert_int_equal(st.type, SYSFS_LINK);
	assert_int_equal(st.mode, 0777);
	assert_int_equal(sysfs_stat_path(f->t, "/bus/pci/devices/0000:00:03.0", true, &st), 0);
	assert_int_equal(st.type, SYSFS_DIR);
	n = sysfs_lookup(f->t, "/bus/pci/devices/0000:00:03.0", true);
	assert_ptr_equal(n, f->dev);
	sysfs_put(n);
	/* A trailing slash means a directory: it follows. */
	n = sysfs_lookup(f->t, "/bus/pci/devices/0000:00:03.0/", false);
	assert_ptr_equal(n, f->dev);
	sysfs_put(n);

	/* ".." after a followed link is the target's parent, as in the VFS. */
	n = sysfs_lookup(f->t, "/bus/pci/devices/0000:00:03.0/..", false);
	assert_non_null(n);
	assert_string_equal(sysfs_name(n), "pci0000:00");
	sysfs_put(n);
	n = sysfs_lookup(f->t, "/../.././devices//pci0000:00/", false);
	assert_ptr_equal(n, sysfs_parent(f->dev));
	sysfs_put(n);
	n = sysfs_lookup(f->t, "/", false);
	assert_ptr_equal(n, sysfs_root(f->t));
	sysfs_put(n);
}

static void link_loops_are_eloop(void **state)
{
	struct fixture *f = *state;
	struct sysfs_node *root = sysfs_root(f->t);

	assert_non_null(sysfs_add_link_path(root, "loop1", "/loop2"));
	assert_non_null(sysfs_add_link_path(root, "loop2", "/loop1"));
	assert_null(sysfs_lookup(f->t, "/loop1/x", false));
	assert_int_equal(errno, ELOOP);
	assert_errno(sysfs_read(f->t, &root_caller, "/loop1", (char[4]){0}, 4, 0), -ELOOP);
	/* Not followed, the link itself is fine. */
	readlink_str(f->t, "/loop1", "loop2");
	/* A dangling path link is -ENOENT. */
	assert_non_null(sysfs_add_link_path(root, "dangling", "/no/such"));
	assert_errno(sysfs_stat_path(f->t, "/dangling", true, &(struct sysfs_stat){0}), -ENOENT);
}

/* ---- errno of lookups and opens ---- */

static void lookup_errors(void **state)
{
	struct fixture *f = *state;
	struct sysfs_stat st;
	char buf[64];

	assert_errno(sysfs_stat_path(f->t, "/nope", false, &st), -ENOENT);
	assert_errno(sysfs_stat_path(f->t, "", false, &st), -ENOENT);
	assert_errno(sysfs_stat_path(f->t, "/devices/nope/vendor", false, &st), -ENOENT);
	assert_errno(sysfs_stat_path(f->t, "/devices/pci0000:00/0000:00:03.0/vendor/x",
				     false, &st), -ENOTDIR);
	assert_errno(sysfs_stat_path(f->t, "/devices/pci0000:00/0000:00:03.0/vendor/",
				     false, &st), -ENOTDIR);
	assert_null(sysfs_lookup(f->t, "/bus/pci/devices/nope", false));
	assert_int_equal(errno, ENOENT);

	/* Directories cannot be read or written as files. */
	assert_errno(sysfs_read(f->t, &root_caller, "/devices", buf, sizeof(buf), 0), -EISDIR);
	assert_errno(sysfs_write(f->t, &root_caller, "/devices", "1", 1, 0), -EISDIR);
	assert_errno(sysfs_access(f->t, &root_caller, "/devices", false, true), -EISDIR);
	assert_int_equal(sysfs_access(f->t, &user_caller, "/devices", true, false), 0);

	/* Names are one component. */
	assert_null(sysfs_mkdir(f->dev, "a/b", 0755));
	assert_int_equal(errno, EINVAL);
	assert_null(sysfs_mkdir(f->dev, "..", 0755));
	assert_int_equal(errno, EINVAL);
	assert_null(sysfs_mkdir(f->dev, "", 0755));
	assert_int_equal(errno, EINVAL);
	/* Existing names and non-directory parents. */
	assert_null(sysfs_add_attr(f->dev, "vendor", 0444, &text_ro_ops, NULL));
	assert_int_equal(errno, EEXIST);
	{
		struct sysfs_node *vendor = sysfs_lookup(f->t,
			"/devices/pci0000:00/0000:00:03.0/vendor", false);

		assert_non_null(vendor);
		assert_null(sysfs_mkdir(vendor, "x", 0755));
		assert_int_equal(errno, ENOTDIR);
		assert_null(sysfs_mkdir_p(sysfs_root(f->t),
					  "devices/pci0000:00/0000:00:03.0/vendor/x"));
		assert_int_equal(errno, ENOTDIR);
		sysfs_put(vendor);
	}
}

static void mkdir_p_reuses_and_follows(void **state)
{
	struct fixture *f = *state;
	struct sysfs_node *root = sysfs_root(f->t);
	struct sysfs_node *a = sysfs_mkdir_p(root, "a/b/c");

	assert_non_null(a);
	assert_ptr_equal(sysfs_mkdir_p(root, "/a//b/c/"), a);
	assert_ptr_equal(sysfs_mkdir_p(root, "a/b/c"), a);
	/* Through a link, as mkdir -p does. */
	assert_ptr_equal(sysfs_mkdir_p(root, "bus/pci/devices/0000:00:03.0"), f->dev);
	assert_null(sysfs_mkdir(sysfs_parent(a), "c", 0755));
	assert_int_equal(errno, EEXIST);
}

/* ---- stat and readdir ---- */

static void stat_reports_kind_size_owner_ino(void **state)
{
	struct fixture *f = *state;
	const char *vendor = "/devices/pci0000:00/0000:00:03.0/vendor";
	struct sysfs_stat st, again, dir, link;

	assert_int_equal(sysfs_stat_path(f->t, vendor, false, &st), 0);
	assert_int_equal(st.type, SYSFS_ATTR);
	assert_int_equal(st.size, 4096);
	assert_int_equal(st.mode, 0444);
	assert_int_equal(sysfs_stat_path(f->t, "/bus/pci/devices/0000:00:03.0/vendor", false,
					 &again), 0);
	assert_int_equal(st.ino, again.ino);		/* the same node */
	assert_int_equal(sysfs_stat_path(f->t, "/devices", false, &dir), 0);
	assert_int_equal(dir.type, SYSFS_DIR);
	assert_int_equal(dir.size, 0);
	assert_int_not_equal(dir.ino, st.ino);

	/* A link is owned as its target was when it was made. */
	sysfs_set_owner(f->group, 0, 36);
	assert_non_null(sysfs_add_link(sysfs_root(f->t), "grp", f->group));
	assert_int_equal(sysfs_stat_path(f->t, "/grp", false, &link), 0);
	assert_int_equal(link.gid, 36);
	assert_int_equal(link.type, SYSFS_LINK);
}

struct dir_list {
	char names[16][64];
	enum sysfs_type types[16];
	int n;
	int stop_at;
};

static int list_entry_cb(const char *name, const struct sysfs_stat *st, void *arg)
{
	struct dir_list *l = arg;

	snprintf(l->names[l->n], sizeof(l->names[0]), "%s", name);
	l->types[l->n++] = st->type;
	return l->n == l->stop_at ? 42 : 0;
}

static void readdir_lists_in_name_order(void **state)
{
	struct fixture *f = *state;
	struct dir_list l = { .stop_at = -1 };

	assert_non_null(sysfs_mkdir(f->dev, "msi_irqs", 0755));
	assert_non_null(sysfs_mkdir(f->dev, "driver_override_dir", 0755));
	/* Through the bus link, as ls /sys/bus/pci/devices/X/ does. */
	assert_int_equal(sysfs_readdir(f->t, "/bus/pci/devices/0000:00:03.0", list_entry_cb, &l),
			 0);
	assert_int_equal(l.n, 5);
	assert_string_equal(l.names[0], "cfg");
	assert_string_equal(l.names[1], "driver_override_dir");
	assert_string_equal(l.names[2], "iommu_group");
	assert_int_equal(l.types[2], SYSFS_LINK);
	assert_string_equal(l.names[3], "msi_irqs");
	assert_int_equal(l.types[3], SYSFS_DIR);
	assert_string_equal(l.names[4], "vendor");
	assert_int_equal(l.types[4], SYSFS_ATTR);

	/* fn's non-zero return stops the walk and is returned. */
	memset(&l, 0, sizeof(l));
	l.stop_at = 2;
	assert_int_equal(sysfs_readdir(f->t, "/devices/pci0000:00/0000:00:03.0",
				       list_entry_cb, &l), 42);
	assert_int_equal(l.n, 2);

	assert_errno(sysfs_readdir(f->t, "/devices/pci0000:00/0000:00:03.0/vendor",
				   list_entry_cb, &l), -ENOTDIR);
	assert_errno(sysfs_readdir(f->t, "/none", list_entry_cb, &l), -ENOENT);
}

/* ---- permissions ---- */

static void permissions_follow_mode_and_sysfs_rules(void **state)
{
	struct fixture *f = *state;
	struct uvf_caller group_member = { .uid = 2000, .gid = 36 };
	struct uvf_caller owner = { .uid = 1001, .gid = 36 };
	const char *cfg = "/devices/pci0000:00/0000:00:03.0/cfg";
	const char *vendor = "/devices/pci0000:00/0000:00:03.0/vendor";
	struct text_attr wo = { .value = "" };
	char buf[16];

	/* 0644 root-owned: others read, only root writes. */
	assert_int_equal(sysfs_read(f->t, &user_caller, cfg, buf, sizeof(buf), 0), 0);
	assert_errno(sysfs_write(f->t, &user_caller, cfg, "1\n", 2, 0), -EACCES);
	assert_errno(sysfs_access(f->t, &user_caller, cfg, false, true), -EACCES);
	assert_int_equal(sysfs_write(f->t, &root_caller, cfg, "1\n", 2, 0), 2);
	assert_int_equal(f->cfg.stores, 1);

	/* Read-only attributes refuse root too: sysfs' open check. */
	assert_errno(sysfs_write(f->t, &root_caller, vendor, "1", 1, 0), -EACCES);
	assert_errno(sysfs_access(f->t, NULL, vendor, false, true), -EACCES);
	assert_int_equal(f->vendor.stores, 0);

	/* Write-only: nobody reads it, not even root. */
	assert_non_null(sysfs_add_attr(f->dev, "remove", 0200, &text_wo_ops, &wo));
	assert_errno(sysfs_read(f->t, &root_caller, "/devices/pci0000:00/0000:00:03.0/remove",
				buf, sizeof(buf), 0), -EACCES);
	assert_int_equal(sysfs_write(f->t, &root_caller,
				     "/devices/pci0000:00/0000:00:03.0/remove", "1", 1, 0), 1);

	/* A write bit without a store is still not writable (the model bug
	 * the kernel warns about). */
	{
		struct sysfs_node *n = sysfs_lookup(f->t, vendor, false);

		sysfs_set_mode(n, 0644);
		assert_errno(sysfs_write(f->t, &root_caller, vendor, "1", 1, 0), -EACCES);
		sysfs_put(n);
	}

	/* Group bits for a group member; owner bits alone for the owner. */
	{
		struct sysfs_node *n = sysfs_lookup(f->t, cfg, false);

		sysfs_set_owner(n, 1001, 36);
		sysfs_set_mode(n, 0464);
		sysfs_put(n);
	}
	assert_int_equal(sysfs_access(f->t, &group_member, cfg, true, true), 0);
	assert_int_equal(sysfs_write(f->t, &group_member, cfg, "2\n", 2, 0), 2);
	assert_errno(sysfs_access(f->t, &owner, cfg, false, true), -EACCES);
	assert_int_equal(sysfs_access(f->t, &owner, cfg, true, false), 0);
	assert_errno(sysfs_access(f->t, &user_caller, cfg, true, false), 0);
	assert_errno(sysfs_access(f->t, &user_caller, cfg, false, true), -EACCES);
	assert_int_equal(sysfs_access(f->t, &root_caller, cfg, true, true), 0);
}

/* ---- read windows and stores ---- */

static void reads_serve_a_window_of_show(void **state)
{
	struct fixture *f = *state;
	const char *cfg = "/devices/pci0000:00/0000:00:03.0/cfg";
	char buf[SYSFS_PAGE_SIZE + 16];

	snprintf(f->cfg.value, sizeof(f->cfg.value), "0123456789");
	assert_int_equal(sysfs_read(f->t, &root_caller, cfg, buf, 4, 0), 4);
	assert_memory_equal(buf, "0123", 4);
	assert_int_equal(sysfs_read(f->t, &root_caller, cfg, buf, 4, 4), 4);
	assert_memory_equal(buf, "4567", 4);
	assert_int_equal(sysfs_read(f->t, &root_caller, cfg, buf, 10, 8), 2);
	assert_memory_equal(buf, "89", 2);
	assert_int_equal(sysfs_read(f->t, &root_caller, cfg, buf, 10, 10), 0);
	assert_int_equal(sysfs_read(f->t, &root_caller, cfg, buf, 10, 1000000), 0);

	/* A zero-length read does not call show. */
	f->cfg.shows = 0;
	assert_int_equal(sysfs_read(f->t, &root_caller, cfg, buf, 0, 0), 0);
	assert_int_equal(f->cfg.shows, 0);

	/* show's -errno is the read's result. */
	f->cfg.show_ret = -EIO;
	assert_errno(sysfs_read(f->t, &root_caller, cfg, buf, 10, 0), -EIO);

	/* A show claiming the whole page or more is cut to 4095 bytes. */
	f->cfg.show_ret = 5000;
	assert_int_equal(sysfs_read(f->t, &root_caller, cfg, buf, sizeof(buf), 0), 4095);
	assert_int_equal(sysfs_read(f->t, &root_caller, cfg, buf, sizeof(buf), 4000), 95);
}

static void writes_call_store_once(void **state)
{
	struct fixture *f = *state;
	const char *cfg = "/devices/pci0000:00/0000:00:03.0/cfg";
	char big[5000];

	/* The bytes as written, newline included, NUL-terminated for store. */
	assert_int_equal(sysfs_write(f->t, &root_caller, cfg, "on\nXYZ", 3, 0), 3);
	assert_string_equal(f->cfg.value, "on\n");
	assert_int_equal(f->cfg.last_store_len, 3);

	/* store's -errno passes through. */
	f->cfg.store_ret = -EBUSY;
	assert_errno(sysfs_write(f->t, &root_caller, cfg, "x", 1, 0), -EBUSY);
	f->cfg.store_ret = -ENODEV;
	assert_errno(sysfs_write(f->t, &root_caller, cfg, "x", 1, 0), -ENODEV);
	/* A partial store is a short write. */
	f->cfg.store_ret = 1;
	assert_int_equal(sysfs_write(f->t, &root_caller, cfg, "abc", 3, 0), 1);
	f->cfg.store_ret = 0;

	/* Empty writes do not reach store. */
	f->cfg.stores = 0;
	assert_int_equal(sysfs_write(f->t, &root_caller, cfg, "", 0, 0), 0);
	assert_int_equal(f->cfg.stores, 0);

	/* More than a page: store sees the first page (kernfs_fop_write_iter). */
	memset(big, 'a', sizeof(big));
	assert_int_equal(sysfs_write(f->t, &root_caller, cfg, big, sizeof(big), 0), 4096);
	assert_int_equal(f->cfg.last_store_len, 4096);
	assert_int_equal(strlen(f->cfg.value), 4096);

	/* The position does not matter to a sysfs attribute. */
	assert_int_equal(sysfs_write(f->t, &root_caller, cfg, "7\n", 2, 100), 2);
	assert_string_equal(f->cfg.value, "7\n");
	assert_int_equal(f->cfg.stores, 2);
}

static void emit_stays_within_the_page(void **state)
{
	char page[SYSFS_PAGE_SIZE];
	char big[SYSFS_PAGE_SIZE * 2];
	ssize_t n;

	(void)state;
	assert_int_equal(sysfs_emit(page, "%d\n", 42), 3);
	assert_string_equal(page, "42\n");
	n = sysfs_emit_at(page, 3, "%s", "x\n");
	assert_int_equal(n, 2);
	assert_string_equal(page, "42\nx\n");
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(sysfs_emit(page, "%s", big), SYSFS_PAGE_SIZE - 1);
	assert_int_equal(sysfs_emit_at(page, 4000, "%s", big), SYSFS_PAGE_SIZE - 4000 - 1);
	assert_int_equal(sysfs_emit_at(page, SYSFS_PAGE_SIZE, "%s", "x"), 0);
}

static void kernel_string_parsers(void **state)
{
	unsigned long long ull;
	unsigned int u;
	bool b;

	(void)state;
	for (const char *const *s = (const char *const[]){ "1", "y", "Y\n", "on", "ON", "true",
							    NULL }; *s; s++) {
		b = false;
		assert_int_equal(kstrtobool(*s, &b), 0);
		assert_true(b);
	}
	for (const char *const *s = (const char *const[]){ "0", "n", "N\n", "off", "Off", "false",
							    NULL }; *s; s++) {
		b = true;
		assert_int_equal(kstrtobool(*s, &b), 0);
		assert_false(b);
	}
	assert_errno(kstrtobool("", &b), -EINVAL);
	assert_errno(kstrtobool("o", &b), -EINVAL);
	assert_errno(kstrtobool("2", &b), -EINVAL);
	assert_errno(kstrtobool("\n", &b), -EINVAL);

	assert_int_equal(kstrtouint("65535\n", 0, &u), 0);
	assert_int_equal(u, 65535);
	assert_int_equal(kstrtouint("+0x10", 0, &u), 0);
	assert_int_equal(u, 16);
	assert_int_equal(kstrtouint("010", 0, &u), 0);
	assert_int_equal(u, 8);
	assert_int_equal(kstrtouint("ff", 16, &u), 0);
	assert_int_equal(u, 255);
	assert_errno(kstrtouint("4294967296", 0, &u), -ERANGE);
	assert_errno(kstrtouint("12a", 0, &u), -EINVAL);
	assert_errno(kstrtouint("1\n\n", 0, &u), -EINVAL);
	assert_errno(kstrtouint("-1", 0, &u), -EINVAL);
	assert_errno(kstrtouint("", 0, &u), -EINVAL);
	assert_errno(kstrtouint("08", 0, &u), -EINVAL);
	assert_int_equal(kstrtoull("18446744073709551615", 10, &ull), 0);
	assert_true(ull == UINT64_MAX);
	assert_errno(kstrtoull("18446744073709551616", 10, &ull), -ERANGE);
}

/* ---- removal and lifetime ---- */

static void removal_while_holding_a_reference(void **state)
{
	struct fixture *f = *state;
	const char *vendor = "/devices/pci0000:00/0000:00:03.0/vendor";
	struct sysfs_node *held = sysfs_lookup(f->t, vendor, false);
	char path[128], buf[16];

	assert_non_null(held);
	sysfs_remove(f->dev);

	/* Gone for lookups, at once; links to it dangle. */
	assert_errno(sysfs_stat_path(f->t, vendor, false, &(struct sysfs_stat){0}), -ENOENT);
	assert_errno(sysfs_read(f->t, &root_caller, "/bus/pci/devices/0000:00:03.0/vendor",
				buf, sizeof(buf), 0), -ENOENT);
	readlink_str(f->t, "/bus/pci/devices/0000:00:03.0",
		     "../../../devices/pci0000:00/0000:00:03.0");

	/* The held node is still memory, but dead to show/store. */
	assert_string_equal(sysfs_name(held), "vendor");
	assert_int_equal(sysfs_path(held, path, sizeof(path)), 0);
	assert_string_equal(path, vendor);
	assert_errno(sysfs_read_node(held, buf, sizeof(buf), 0), -ENODEV);
	assert_errno(sysfs_write_node(held, "1", 1, 0), -EINVAL);	/* no store */
	assert_int_equal(f->vendor.shows, 0);
	/* Removing again is harmless; so is adding under a removed dir. */
	sysfs_remove(held);
	assert_null(sysfs_add_attr(sysfs_parent(held), "late", 0444, &text_ro_ops, NULL));
	assert_int_equal(errno, ENOENT);
	sysfs_put(held);	/* the last reference: freed (ASan checks) */
}

/* A 'remove' attribute that removes its own device directory (a PCI
 * device's remove, an mdev's remove). */
static ssize_t remove_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	bool yes;

	if (kstrtobool(buf, &yes) || !yes)
		return -EINVAL;
	sysfs_remove(sysfs_parent(attr));
	return len;
}

/* A 'create' attribute that makes a directory named by what is written. */
static ssize_t create_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	char name[64];

	snprintf(name, sizeof(name), "%.*s", (int)strcspn(buf, "\n"), buf);
	if (!sysfs_mkdir(sysfs_parent(attr), name, 0755))
		return -errno;
	return len;
}

static ssize_t self_remove_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	sysfs_remove(attr);
	return len;
}

static const struct sysfs_attr_ops remove_ops = { .store = remove_store };
static const struct sysfs_attr_ops create_ops = { .store = create_store };
static const struct sysfs_attr_ops self_remove_ops = { .store = self_remove_store };

static void store_may_change_the_tree(void **state)
{
	struct fixture *f = *state;
	struct sysfs_node *dir = sysfs_mkdir_p(sysfs_root(f->t), "mdev/parent");

	assert_non_null(sysfs_add_attr(dir, "create", 0200, &create_ops, NULL));
	assert_int_equal(sysfs_write(f->t, &root_caller, "/mdev/parent/create", "uuid1\n", 6, 0),
			 6);
	assert_int_equal(sysfs_stat_path(f->t, "/mdev/parent/uuid1", false,
					 &(struct sysfs_stat){0}), 0);
	assert_errno(sysfs_write(f->t, &root_caller, "/mdev/parent/create", "uuid1\n", 6, 0),
		     -EEXIST);

	/* remove: the store's own directory goes, the write completes. */
	assert_non_null(sysfs_add_attr(f->dev, "remove", 0200, &remove_ops, NULL));
	assert_errno(sysfs_write(f->t, &root_caller,
				 "/devices/pci0000:00/0000:00:03.0/remove", "0", 1, 0), -EINVAL);
	assert_int_equal(sysfs_write(f->t, &root_caller,
				     "/devices/pci0000:00/0000:00:03.0/remove", "1\n", 2, 0), 2);
	assert_errno(sysfs_stat_path(f->t, "/devices/pci0000:00/0000:00:03.0", false,
				     &(struct sysfs_stat){0}), -ENOENT);

	/* A store removing exactly its own node. */
	assert_non_null(sysfs_add_attr(dir, "once", 0200, &self_remove_ops, NULL));
	assert_int_equal(sysfs_write(f->t, &root_caller, "/mdev/parent/once", "1", 1, 0), 1);
	assert_errno(sysfs_write(f->t, &root_caller, "/mdev/parent/once", "1", 1, 0), -ENOENT);
}

/* A store that takes its time, to see removal wait for it. */
struct slow_attr {
	atomic_int started;
	atomic_int done;
	struct sysfs_tree *t;
};

static ssize_t slow_store(struct sysfs_node *attr, const char *buf, size_t len)
{
	struct slow_attr *s = sysfs_priv(attr);

	atomic_store(&s->started, 1);
	usleep(100 * 1000);
	atomic_store(&s->done, 1);
	return len;
}

static const struct sysfs_attr_ops slow_ops = { .store = slow_store };

static void *slow_writer(void *arg)
{
	struct slow_attr *s = arg;

	return (void *)(intptr_t)sysfs_write(s->t, &root_caller, "/slow/knob", "1", 1, 0);
}

static void removal_waits_for_running_store(void **state)
{
	struct fixture *f = *state;
	struct slow_attr s = { .t = f->t };
	struct sysfs_node *dir = sysfs_mkdir(sysfs_root(f->t), "slow", 0755);
	pthread_t th;
	void *ret;

	assert_non_null(dir);
	assert_non_null(sysfs_add_attr(dir, "knob", 0200, &slow_ops, &s));
	assert_int_equal(pthread_create(&th, NULL, slow_writer, &s), 0);
	while (!atomic_load(&s.started))
		usleep(1000);
	sysfs_remove(dir);
	/* After removal returns no store runs: priv may be freed now. */
	assert_int_equal(atomic_load(&s.done), 1);
	pthread_join(th, &ret);
	assert_int_equal((intptr_t)ret, 1);
}

/* Readers on many attributes while another thread removes and re-adds
 * their directories. */
#define CHURN_DIRS 8

struct churn {
	struct sysfs_tree *t;
	atomic_int stop;
	atomic_long reads_ok;
	atomic_long failures;
	struct text_attr attr;
};

static void *churn_reader(void *arg)
{
	struct churn *c = arg;
	unsigned int i = 0;

	while (!atomic_load(&c->stop)) {
		char path[64], buf[32];
		ssize_t n;

		snprintf(path, sizeof(path), "/churn/d%u/value", i++ % CHURN_DIRS);
		n = sysfs_read(c->t, &root_caller, path, buf, sizeof(buf), 0);
		if (n == 3 && !memcmp(buf, "ok\n", 3))
			atomic_fetch_add(&c->reads_ok, 1);
		else if (n != -ENOENT && n != -ENODEV)
			atomic_fetch_add(&c->failures, 1);
	}
	return NULL;
}

static ssize_t churn_show(struct sysfs_node *attr, char *buf)
{
	return sysfs_emit(buf, "ok\n");
}

static const struct sysfs_attr_ops churn_ops = { .show = churn_show };

static void churn_add(struct churn *c, struct sysfs_node *parent, unsigned int i)
{
	char name[16];
	struct sysfs_node *d;

	snprintf(name, sizeof(name), "d%u", i);
	d = sysfs_mkdir(parent, name, 0755);
	assert_non_null(d);
	assert_non_null(sysfs_add_attr(d, "value", 0444, &churn_ops, c));
}

static void *churn_remover(void *arg)
{
	struct churn *c = arg;
	struct sysfs_node *parent = sysfs_lookup(c->t, "/churn", false);
	unsigned int i = 0;

	while (!atomic_load(&c->stop)) {
		char path[64];
		struct sysfs_node *d;

		snprintf(path, sizeof(path), "/churn/d%u", i % CHURN_DIRS);
		d = sysfs_lookup(c->t, path, false);
		if (d) {
			sysfs_remove(d);
			sysfs_put(d);
		}
		churn_add(c, parent, i % CHURN_DIRS);
		i++;
	}
	sysfs_put(parent);
	return NULL;
}

static void concurrent_readers_and_remover(void **state)
{
	struct fixture *f = *state;
	struct churn c = { .t = f->t };
	struct sysfs_node *parent = sysfs_mkdir(sysfs_root(f->t), "churn", 0755);
	pthread_t readers[3], remover;

	assert_non_null(parent);
	for (unsigned int i = 0; i < CHURN_DIRS; i++)
		churn_add(&c, parent, i);
	for (unsigned int i = 0; i < ARRAY_SIZE(readers); i++)
		assert_int_equal(pthread_create(&readers[i], NULL, churn_reader, &c), 0);
	assert_int_equal(pthread_create(&remover, NULL, churn_remover, &c), 0);
	usleep(200 * 1000);
	atomic_store(&c.stop, 1);
	for (unsigned int i = 0; i < ARRAY_SIZE(readers); i++)
		pthread_join(readers[i], NULL);
	pthread_join(remover, NULL);
	assert_int_equal(atomic_load(&c.failures), 0);
	assert_true(atomic_load(&c.reads_ok) > 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(links_read_as_relative_paths),
		T(lookup_follows_links),
		T(link_loops_are_eloop),
		T(lookup_errors),
		T(mkdir_p_reuses_and_follows),
		T(stat_reports_kind_size_owner_ino),
		T(readdir_lists_in_name_order),
		T(permissions_follow_mode_and_sysfs_rules),
		T(reads_serve_a_window_of_show),
		T(writes_call_store_once),
		cmocka_unit_test(emit_stays_within_the_page),
		cmocka_unit_test(kernel_string_parsers),
		T(removal_while_holding_a_reference),
		T(store_may_change_the_tree),
		T(removal_waits_for_running_store),
		T(concurrent_readers_and_remover),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
