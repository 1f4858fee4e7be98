/* SPDX-License-Identifier: MIT */
/*
 * Which paths are served.  uvfiod names its prefixes in the HELLO reply:
 * those under /dev are device nodes the daemon opens itself; the others
 * (the /sys subtrees, /etc/mdevctl.d) are real directories under the
 * runtime (the FUSE mount at <rt>/sys), and the shim only rewrites the path.
 *
 * Relative paths: after a redirected chdir the cwd is inside the runtime
 * tree and the kernel resolves relative paths there by itself.  Only a cwd
 * above a served tree ("/", "/sys", "/dev") needs the shim to join the
 * path first, and a dirfd is resolved through /proc/self/fd.
 *
 * A path is matched as written first, so that ".." after a symlink means
 * what the kernel makes of it inside the served tree; a path that only
 * matches once "." and ".." are folded lexically is taken folded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "shim.h"

static atomic_bool cwd_interesting;
static char rt_canon[PATH_MAX];
static size_t rt_canon_len;
static pthread_once_t canon_once = PTHREAD_ONCE_INIT;

/* s is p or below it (component-wise). */
static bool path_under(const char *s, const char *p, size_t plen)
{
	return !strncmp(s, p, plen) && (s[plen] == '/' || s[plen] == '\0' ||
					 (plen == 1 && p[0] == '/'));
}

static bool cwd_needs_join(const char *cwd)
{
	return !strcmp(cwd, "/") || path_under(cwd, "/dev", 4) ||
	       path_under(cwd, "/sys", 4) || path_under(cwd, "/etc", 4);
}

void shim_path_cwd_changed(void)
{
	char buf[PATH_MAX];
	int saved = errno;

	if (!REAL(getcwd)(buf, sizeof(buf)))
		atomic_store(&cwd_interesting, true);
	else
		atomic_store(&cwd_interesting, cwd_needs_join(buf));
	errno = saved;
}

void shim_path_init(void)
{
	if (shim_enabled())
		shim_path_cwd_changed();
}

static void canon_init(void)
{
	const char *rt = shim_runtime();

	if (rt && REAL(realpath)(rt, rt_canon))
		rt_canon_len = strlen(rt_canon);
}

/* Fold "//", "." and ".." lexically; out has PATH_MAX bytes. */
static int path_fold(const char *in, char *out)
{
	size_t o = 0;

	while (*in) {
		const char *c;
		size_t n;

		while (*in == '/')
			in++;
		c = in;
		while (*in && *in != '/')
			in++;
		n = in - c;
		if (!n || (n == 1 && c[0] == '.'))
			continue;
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		if (o + n + 2 > PATH_MAX)
			return -ENAMETOOLONG;
		out[o++] = '/';
		memcpy(out + o, c, n);
		o += n;
	}
	if (!o)
		out[o++] = '/';
	out[o] = '\0';
	return 0;
}

/* The served prefix abs lies under: -1 none, else its index. */
static int path_match(const char *abs)
{
	int n = shim_prefix_count();

	for (int i = 0; i < n; i++) {
		size_t len;
		const char *pfx = shim_prefix(i, &len);

		if (path_under(abs, pfx, len))
			return i;
	}
	return -1;
}

/* Under /proc only fail-nth files are served: never the shim's own /proc/self/mem. */
static bool path_proc_candidate(const char *abs)
{
	size_t len;

	if (!path_under(abs, "/proc", 5))
		return false;	/* every open asks: the common answer first */
	len = strlen(abs);
	return len > 9 && !strcmp(abs + len - 9, "/fail-nth");
}

static bool path_maybe_served(const char *abs)
{
	return path_under(abs, "/dev", 4) || path_under(abs, "/sys", 4) ||
	       path_under(abs, "/etc", 4) || path_proc_candidate(abs);
}

/* Does the host serve what this announced prefix names? */
static bool prefix_announced(const char *what)
{
	int n = shim_prefix_count();

	for (int i = 0; i < n; i++) {
		size_t len;

		if (!strcmp(shim_prefix(i, &len), what))
			return true;
	}
	return false;
}

/* "self" or a number, then the rest; 0 if neither. */
static pid_t proc_pid_part(const char *s, const char **rest, pid_t self)
{
	char *end;
	long v;

	if (!strncmp(s, "self", 4) && (s[4] == '/' || !s[4])) {
		*rest = s + 4;
		return self;
	}
	if (*s < '1' || *s > '9')
		return 0;
	v = strtol(s, &end, 10);
	if (v <= 0 || v > INT32_MAX || (*end != '/' && *end))
		return 0;
	*rest = end;
	return (pid_t)v;
}

/*
 * The kernel's fail-nth files, /proc/{self,thread-self,<pid>}/fail-nth and
 * /proc/{self,<pid>}/task/<tid>/fail-nth, as the numbered form the daemon
 * opens (UVP_PREFIX_FAIL_NTH), when the host serves them.
 */
static bool path_proc_fail_nth(const char *abs, struct shim_path *p)
{
	const char *s = abs + 6, *rest;
	pid_t pid, tid;

	if (strncmp(abs, "/proc/", 6) || !prefix_announced(UVP_PREFIX_FAIL_NTH))
		return false;
	if (!strcmp(s, "thread-self/fail-nth")) {
		pid = getpid();
		tid = (pid_t)syscall(SYS_gettid);
	} else {
		pid = proc_pid_part(s, &rest, getpid());
		if (!pid)
			return false;
		tid = pid;
		if (!strncmp(rest, "/task/", 6)) {
			tid = proc_pid_part(rest + 6, &rest, 0);
			if (!tid)
				return false;
		}
		if (strcmp(rest, "/fail-nth"))
			return false;
	}
	snprintf(p->buf, PATH_MAX, "/proc/%d/task/%d/fail-nth", (int)pid, (int)tid);
	p->path = p->buf;
	p->where = SHIM_PATH_DEV;
	return true;
}

/* Join base and rel into out (PATH_MAX). */
static int path_join(char *out, const char *base, const char *rel)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", strcmp(base, "/") ? base : "", rel);

	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/* The absolute form of (dirfd, path) when it may be served, in out. */
static bool path_absolute(int dirfd, const char *path, char *out)
{
	char base[PATH_MAX];

	if (path[0] == '/')
		return false;
	if (dirfd == AT_FDCWD) {
		if (!atomic_load(&cwd_interesting) || !REAL(getcwd)(base, sizeof(base)))
			return false;
	} else {
		char link[64];
		ssize_t n;

		if (dirfd < 0 || shim_fd_is_ours(dirfd))
			return false;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
		n = REAL(readlink)(link, base, sizeof(base) - 1);
		if (n <= 0)
			return false;
		base[n] = '\0';
		if (base[0] != '/' || !cwd_needs_join(base))
			return false;
	}
	return !path_join(out, base, path);
}

/* Fill p for a served abs under prefix idx: 0, or -errno to pass. */
static int path_place(struct shim_path *p, const char *abs, int idx)
{
	size_t len;
	const char *pfx = shim_prefix(idx, &len);

	if (path_under(pfx, "/dev", 4)) {
		if (path_fold(abs, p->buf))
			return -ENAMETOOLONG;
		p->where = SHIM_PATH_DEV;
	} else {
		if ((size_t)snprintf(p->buf, PATH_MAX, "%s%s", shim_runtime(), abs) >= PATH_MAX)
			return -ENAMETOOLONG;
		p->where = SHIM_PATH_REDIRECT;
	}
	p->path = p->buf;
	return 0;
}

enum shim_where shim_path_classify(int dirfd, const char *path, struct shim_path *p)
{
	char joined[PATH_MAX], folded[PATH_MAX];
	const char *abs = path;
	int saved = errno, idx;

	p->where = SHIM_PATH_PASS;
	p->path = path;
	if (!path || !*path || !shim_enabled())
		return SHIM_PATH_PASS;
	if (path[0] != '/') {
		if (!path_absolute(dirfd, path, joined))
			goto pass;
		abs = joined;
	}
	if (!path_maybe_served(abs) && !strstr(abs, "/.."))
		goto pass;
	/* The prefixes come with HELLO: connect once, on the first candidate. */
	if (!shim_prefix_count() && shim_connect())
		goto pass;
	if (path_proc_candidate(abs)) {
		if (!path_proc_fail_nth(abs, p))
			goto pass;
		errno = saved;
		return p->where;
	}
	idx = path_match(abs);
	if (idx < 0) {
		if (path_fold(abs, folded) || (idx = path_match(folded)) < 0)
			goto pass;
		abs = folded;
	}
	if (path_place(p, abs, idx))
		goto pass;
	errno = saved;
	return p->where;
pass:
	p->where = SHIM_PATH_PASS;
	p->path = path;
	errno = saved;
	return SHIM_PATH_PASS;
}

/*
 * The served names directly under dir when dir is the parent of served
 * trees but not served itself (/sys/module holds vfio_pci, /dev holds
 * vfio and iommu): a listing of dir must show them beside the machine's
 * own entries, as tools list /sys/module to see what is loaded.  NUL-
 * separated into out; the bytes used.
 */
size_t shim_path_served_children(const char *path, char *out, size_t size)
{
	char dir[PATH_MAX];
	size_t dlen, used = 0;
	int n;

	if (!path || path[0] != '/' || !shim_enabled() || path_fold(path, dir))
		return 0;
	if (!path_maybe_served(dir) && strcmp(dir, "/"))
		return 0;
	if (!shim_prefix_count() && shim_connect())
		return 0;
	if (path_match(dir) >= 0)
		return 0;	/* served itself: listed by the daemon or the mount */
	dlen = strcmp(dir, "/") ? strlen(dir) : 0;
	n = shim_prefix_count();
	for (int i = 0; i < n; i++) {
		size_t len, clen;
		const char *pfx = shim_prefix(i, &len), *child, *end;

		if (pfx[0] != '/' || strchr(pfx, '<') || len <= dlen + 1 ||
		    strncmp(pfx, dir, dlen) || pfx[dlen] != '/')
			continue;
		child = pfx + dlen + 1;
		end = strchr(child, '/');
		clen = end ? (size_t)(end - child) : strlen(child);
		if (!clen || used + clen + 1 > size)
			continue;
		/* once per name: prefixes share parents */
		bool seen = false;

		for (size_t at = 0; at < used && !seen; at += strlen(out + at) + 1)
			seen = strlen(out + at) == clen && !strncmp(out + at, child, clen);
		if (seen)
			continue;
		memcpy(out + used, child, clen);
		out[used + clen] = '\0';
		used += clen + 1;
	}
	return used;
}

static size_t unredirect_prefix(const char *s, size_t len)
{
	const char *rt = shim_runtime();
	size_t rl;

	if (!rt)
		return 0;
	pthread_once(&canon_once, canon_init);
	rl = strlen(rt);
	if (len > rl && !strncmp(s, rt, rl) && s[rl] == '/')
		return rl;
	if (rt_canon_len && len > rt_canon_len && !strncmp(s, rt_canon, rt_canon_len) &&
	    s[rt_canon_len] == '/')
		return rt_canon_len;
	return 0;
}

size_t shim_path_unredirect_n(char *s, size_t len)
{
	size_t cut = unredirect_prefix(s, len);

	/* Only the served trees: <rt>/uvfiod.sock stays what it is. */
	if (!cut || !(path_under(s + cut, "/sys", 4) || path_under(s + cut, "/etc", 4)))
		return len;
	memmove(s, s + cut, len - cut);
	return len - cut;
}

void shim_path_unredirect(char *s)
{
	size_t len = strlen(s);
	size_t n = shim_path_unredirect_n(s, len);

	s[n] = '\0';
}

enum shim_kind shim_path_kind(const char *devpath)
{
	if (!strcmp(devpath, "/dev/vfio/vfio"))
		return SHIM_K_CONTAINER;
	if (!strcmp(devpath, "/dev/iommu"))
		return SHIM_K_IOMMUFD;
	if (!strcmp(devpath, "/dev/kvm"))
		return SHIM_K_KVM;
	if (!strcmp(devpath, "/dev/z90crypt"))
		return SHIM_K_Z90CRYPT;
	if (path_under(devpath, "/dev/vfio/devices", 17))
		return SHIM_K_DEVICE;
	if (path_under(devpath, "/dev/vfio", 9))
		return SHIM_K_GROUP;
	return SHIM_K_UNKNOWN;
}
