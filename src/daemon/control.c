// SPDX-License-Identifier: MIT
/*
 * Control connections: the listening socket <runtime>/uvfiod.sock and one
 * connection per client process, served on its own thread.  They carry
 * what a process does by path (HELLO, OPEN, STAT, ACCESS, READDIR of the
 * served /dev nodes), REOPEN after fork, CLOSE_SYNC after close, and the
 * CLI's administrative requests.
 *
 * A process record lives as long as the connection that registered it:
 * the connection closes when the process exits or execs (the shim's
 * control fd is close-on-exec), and a HELLO from a new image replaces it.
 *
 * Lock: uvfiod.lock for the connection list; nothing else here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include "uvfiod.h"
#include "core/host/fault_inject.h"
#include "core/host/devnode.h"
#include "core/host/host.h"
#include "core/ap/ap_bus.h"
#include "core/kvm/kvm.h"
#include "core/sysfs/sysfs.h"

/* The shim also serves this plain directory of the runtime dir. */
#define CONTROL_MDEVCTL_PREFIX "/etc/mdevctl.d"

struct control_conn {
	struct list_head link;		/* in uvfiod.conns */
	struct uvfiod *d;
	int fd;
	uint8_t *buf;
	struct dproc *proc;		/* registered by HELLO here, or NULL */
	struct dproc *proc_cache;
};

/* ---- served path prefixes (HELLO) ------------------------------------------ */

struct prefix_buf {
	char *buf;
	size_t size, len;
};

/* Append a NUL-terminated prefix unless it is there already. */
static void prefix_add(struct prefix_buf *pb, const char *prefix)
{
	size_t n = strlen(prefix) + 1;

	for (size_t at = 0; at < pb->len; at += strlen(pb->buf + at) + 1)
		if (!strcmp(pb->buf + at, prefix))
			return;
	if (pb->len + n > pb->size)
		return;
	memcpy(pb->buf + pb->len, prefix, n);
	pb->len += n;
}

struct prefix_walk {
	struct prefix_buf *pb;
	const char *top;
	char names[32][64];		/* top-level directories of the tree */
	unsigned int n;
};

static int prefix_top_fn(const char *name, const struct sysfs_stat *st, void *arg)
{
	struct prefix_walk *w = arg;

	if (st->type == SYSFS_DIR && w->n < 32)
		snprintf(w->names[w->n++], sizeof(w->names[0]), "%s", name);
	return 0;
}

static int prefix_child_fn(const char *name, const struct sysfs_stat *st, void *arg)
{
	struct prefix_walk *w = arg;
	char p[256];

	snprintf(p, sizeof(p), "/sys/%s/%s", w->top, name);
	prefix_add(w->pb, p);
	return 0;
}

/*
 * /dev: the first two components of every node ("/dev/vfio", "/dev/iommu");
 * /sys: every entry two levels down in the tree ("/sys/bus/pci",
 * "/sys/kernel/iommu_groups"), so the host's own /sys/kernel/mm stays the
 * machine's.
 */
static size_t control_prefixes(struct uvfiod *d, char *buf, size_t size)
{
	struct prefix_buf pb = { buf, size, 0 };
	struct prefix_walk *w = calloc(1, sizeof(*w));
	struct uvf_devnode *dn;

	uvf_mutex_lock(&d->host->lock);
	list_for_each_entry(dn, &d->host->devnodes, link) {
		char p[sizeof(dn->path)];
		char *slash;

		if (strncmp(dn->path, "/dev/", 5))
			continue;
		snprintf(p, sizeof(p), "%s", dn->path);
		slash = strchr(p + 5, '/');
		if (slash)
			*slash = '\0';
		/* A machine's own /dev/kvm stays the machine's unless asked. */
		if (!strcmp(p, "/dev/kvm") && !kvm_chardev_served(d->host))
			continue;
		prefix_add(&pb, p);
	}
	uvf_mutex_unlock(&d->host->lock);
	if (w) {
		w->pb = &pb;
		sysfs_readdir(d->host->sysfs, "/", prefix_top_fn, w);
		for (unsigned int i = 0; i < w->n; i++) {
			char top[80];

			w->top = w->names[i];
			snprintf(top, sizeof(top), "/%s", w->names[i]);
			sysfs_readdir(d->host->sysfs, top, prefix_child_fn, w);
		}
		free(w);
	}
	prefix_add(&pb, CONTROL_MDEVCTL_PREFIX);
	if (host_fault_injection(d->host))
		prefix_add(&pb, UVP_PREFIX_FAIL_NTH);
	return pb.len;
}

/* ---- /dev nodes by path -------------------------------------------------------- */

/* A path argument: NUL-terminated inside what was received. */
static int control_path(const struct uvfiod_msg *m, struct uvp_path *p)
{
	size_t head = offsetof(struct uvp_path, path);

	if (m->hdr.len <= head || m->hdr.len > sizeof(*p))
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	memcpy(p, m->body, m->hdr.len);
	if (!memchr(p->path, '\0', m->hdr.len - head))
		return -EINVAL;
	return 0;
}

/* A stable inode number for a served path (FNV-1a). */
static uint64_t control_path_ino(const char *path)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *path; path++)
		h = (h ^ (uint8_t)*path) * 0x100000001b3ull;
	return h | 1;
}

/* Is path a directory holding served nodes ("/dev/vfio")? */
static bool control_is_dir(struct uvfiod *d, const char *path)
{
	size_t n = strlen(path);
	struct uvf_devnode *dn;
	bool found = false;

	uvf_mutex_lock(&d->host->lock);
	list_for_each_entry(dn, &d->host->devnodes, link) {
		if (!strncmp(dn->path, path, n) && dn->path[n] == '/') {
			found = true;
			break;
		}
	}
	uvf_mutex_unlock(&d->host->lock);
	return found;
}

/*
 * access(2) on a node: the VFS's owner/group/other rule (root passes read
 * and write, and execute only when some execute bit is set).
 */
static int control_node_permission(const struct uvf_devnode *dn, const struct uvf_caller *c,
				   int mask)
{
	mode_t bits;

	mask &= R_OK | W_OK | X_OK;
	if (c->uid == 0)
		return (mask & X_OK) && !(dn->mode & 0111) ? -EACCES : 0;
	if (c->uid == dn->uid)
		bits = (dn->mode >> 6) & 7;
	else if (c->gid == dn->gid)
		bits = (dn->mode >> 3) & 7;
	else
		bits = dn->mode & 7;
	return ((int)bits & mask) == mask ? 0 : -EACCES;
}

static long control_stat(struct uvfiod *d, const struct uvp_path *p, struct uvp_stat *st)
{
	struct uvf_devnode *dn = devnode_find(d->host, p->path);

	memset(st, 0, sizeof(*st));
	st->ino = control_path_ino(p->path);
	if (dn) {
		st->mode = S_IFCHR | (dn->mode & 07777);
		st->uid = dn->uid;
		st->gid = dn->gid;
		st->major = dn->major;
		st->minor = dn->minor;
		return 0;
	}
	if (!control_is_dir(d, p->path))
		return -ENOENT;
	st->mode = S_IFDIR | 0755;
	return 0;
}

static long control_access(struct uvfiod *d, const struct uvp_path *p,
			   const struct uvf_caller *c)
{
	struct uvf_devnode *dn = devnode_find(d->host, p->path);

	if (dn)
		return control_node_permission(dn, c, p->flags);
	if (!control_is_dir(d, p->path))
		return -ENOENT;
	return (p->flags & W_OK) && c->uid != 0 ? -EACCES : 0;
}

/* The names directly under a served directory, NUL-separated. */
static long control_readdir(struct uvfiod *d, const struct uvp_path *p, char *buf,
			    size_t size, size_t *len)
{
	struct prefix_buf pb = { buf, size, 0 };
	size_t n = strlen(p->path);
	struct uvf_devnode *dn;

	if (devnode_find(d->host, p->path))
		return -ENOTDIR;
	uvf_mutex_lock(&d->host->lock);
	list_for_each_entry(dn, &d->host->devnodes, link) {
		char name[sizeof(dn->path)];

		if (strncmp(dn->path, p->path, n) || dn->path[n] != '/')
			continue;
		snprintf(name, sizeof(name), "%s", dn->path + n + 1);
		name[strcspn(name, "/")] = '\0';
		prefix_add(&pb, name);
	}
	uvf_mutex_unlock(&d->host->lock);
	*len = pb.len;
	return pb.len ? 0 : -ENOENT;
}

/* ---- requests -------------------------------------------------------------------- */

static void control_hello(struct control_conn *cc, struct uvfiod_msg *m)
{
	struct uvfiod *d = cc->d;
	struct uvp_hello h;
	struct dproc *p;
	struct iovec out;
	char *prefixes;
	int ret;

	if (m->hdr.len != sizeof(h) || m->nfds != 1) {
		request_reply(cc->fd, -EINVAL, NULL, 0, NULL, 0);
		return;
	}
	memcpy(&h, m->body, sizeof(h));
	if (h.version != UVP_VERSION) {
		request_reply(cc->fd, -EPROTONOSUPPORT, NULL, 0, NULL, 0);
		return;
	}
	ret = dproc_register(d, &m->creds, &h, m->fds[0], &p);
	m->fds[0] = -1;
	if (ret) {
		request_reply(cc->fd, ret, NULL, 0, NULL, 0);
		return;
	}
	if (cc->proc) {
		dproc_unregister(d, cc->proc);
		dproc_put(cc->proc);
	}
	cc->proc = p;
	prefixes = (char *)cc->buf;	/* the request is consumed */
	out = (struct iovec){ prefixes, control_prefixes(d, prefixes, UVP_MAX_BODY) };
	request_reply(cc->fd, d->pid, &out, 1, NULL, 0);
}

static void control_open(struct control_conn *cc, const struct uvfiod_msg *m,
			 struct uvf_caller *c)
{
	struct uvp_path p;
	struct uvf_file *f = NULL;
	int ret = control_path(m, &p), fd;

	if (!ret) {
		ret = host_open(cc->d->host, c, p.path, p.flags, &f);
		/* a killed client's channels may not be reaped yet: never a spurious EBUSY */
		if (ret == -EBUSY && channel_reap_all(cc->d))
			ret = host_open(cc->d->host, c, p.path, p.flags, &f);
	}
	if (ret) {
		request_reply(cc->fd, ret, NULL, 0, NULL, 0);
		return;
	}
	fd = channel_new(cc->d, f, c->pid, p.path);
	if (fd < 0) {
		request_reply(cc->fd, fd, NULL, 0, NULL, 0);
		return;
	}
	request_reply(cc->fd, 0, NULL, 0, &fd, 1);
	channel_handoff_done(cc->d, fd);
}

static void control_reopen(struct control_conn *cc, struct uvfiod_msg *m,
			   struct uvf_caller *c)
{
	struct channel *ch = NULL;
	struct uvf_file *f = NULL;
	int fd = -EBADF;

	if (m->hdr.len || m->nfds != 1) {
		request_reply(cc->fd, -EINVAL, NULL, 0, NULL, 0);
		return;
	}
	ch = channel_find_fd(cc->d, m->fds[0]);
	/* our copy of the old client end goes before the reply, so that a
	 * CLOSE_SYNC right after it sees the hang-up it is asking about */
	close(m->fds[0]);
	m->fds[0] = -1;
	if (ch)
		f = channel_file(ch);
	if (f)
		fd = channel_new(cc->d, f, c->pid, ch->path);
	channel_put(ch);
	if (fd < 0) {
		request_reply(cc->fd, fd, NULL, 0, NULL, 0);
		return;
	}
	request_reply(cc->fd, 0, NULL, 0, &fd, 1);
	channel_handoff_done(cc->d, fd);
}

static void control_close_sync(struct control_conn *cc, const struct uvfiod_msg *m)
{
	struct uvp_close_sync cs;
	struct channel *ch;
	long ret;

	if (m->hdr.len != sizeof(cs)) {
		request_reply(cc->fd, -EINVAL, NULL, 0, NULL, 0);
		return;
	}
	memcpy(&cs, m->body, sizeof(cs));
	/* 1: released (now, or before: the channel is gone); 0: still open */
	ch = channel_find(cc->d, (dev_t)cs.dev, (ino_t)cs.ino);
	if (ch) {
		ret = channel_reap_if_hung_up(ch);
		channel_put(ch);
	} else {
		ret = 1;
	}
	request_reply(cc->fd, ret, NULL, 0, NULL, 0);
}

/* STAT, ACCESS, READDIR: a path in, a small answer out. */
static void control_path_op(struct control_conn *cc, const struct uvfiod_msg *m,
			    const struct uvf_caller *c)
{
	struct uvp_path p;
	struct uvp_stat st;
	struct iovec out = { NULL, 0 };
	long ret = control_path(m, &p);

	if (!ret && m->hdr.op == UVP_STAT) {
		ret = control_stat(cc->d, &p, &st);
		out = (struct iovec){ &st, ret ? 0 : sizeof(st) };
	} else if (!ret && m->hdr.op == UVP_ACCESS) {
		ret = control_access(cc->d, &p, c);
	} else if (!ret) {
		ret = control_readdir(cc->d, &p, (char *)cc->buf, UVP_MAX_BODY, &out.iov_len);
		out.iov_base = cc->buf;
	}
	request_reply(cc->fd, ret, &out, 1, NULL, 0);
}

static void control_admin(struct control_conn *cc, const struct uvfiod_msg *m)
{
	char *text = (char *)cc->buf;
	struct iovec out = { text, 0 };

	if (m->hdr.len || m->nfds) {
		request_reply(cc->fd, -EINVAL, NULL, 0, NULL, 0);
		return;
	}
	if (m->hdr.op == UVP_STATUS)
		out.iov_len = admin_status(cc->d, text, UVP_MAX_BODY);
	else if (m->hdr.op == UVP_VMS)
		out.iov_len = kvm_show_vms(cc->d->host, text, UVP_MAX_BODY);
	else
		out.iov_len = admin_groups(cc->d, text, UVP_MAX_BODY);
	request_reply(cc->fd, 0, &out, 1, NULL, 0);
}

/*
 * UVP_AP_CONFIG: what the SE/HMC does to the machine's AP configuration,
 * then the scan the kernel's CHSC notification triggers.  Only uid 0: the
 * machine's administrator, not a program of the host.
 */
static long control_ap_config(struct control_conn *cc, const struct uvfiod_msg *m)
{
	static const enum ap_config_op ops[] = {
		[UVP_AP_ADAPTER_ADD] = AP_CONFIG_ADAPTER_ADD,
		[UVP_AP_ADAPTER_REMOVE] = AP_CONFIG_ADAPTER_REMOVE,
		[UVP_AP_DOMAIN_ADD] = AP_CONFIG_DOMAIN_ADD,
		[UVP_AP_DOMAIN_REMOVE] = AP_CONFIG_DOMAIN_REMOVE,
		[UVP_AP_CDOM_ADD] = AP_CONFIG_CDOM_ADD,
		[UVP_AP_CDOM_REMOVE] = AP_CONFIG_CDOM_REMOVE,
		[UVP_AP_ADAPTER_ONLINE] = AP_CONFIG_ADAPTER_ONLINE,
		[UVP_AP_ADAPTER_STANDBY] = AP_CONFIG_ADAPTER_STANDBY,
		[UVP_AP_ADAPTER_CHKSTOP] = AP_CONFIG_ADAPTER_CHKSTOP,
		[UVP_AP_ADAPTER_CHKSTOP_CLEAR] = AP_CONFIG_ADAPTER_CHKSTOP_CLEAR,
	};
	struct uvp_ap_config req;

	if (m->hdr.len != sizeof(req) || m->nfds)
		return -EINVAL;
	if (m->creds.uid != 0)
		return -EPERM;
	memcpy(&req, m->body, sizeof(req));
	if (req.op < UVP_AP_ADAPTER_ADD || req.op >= ARRAY_SIZE(ops))
		return -EINVAL;
	return ap_host_config_change(cc->d->host, ops[req.op], req.id);
}

static void control_serve(struct control_conn *cc, struct uvfiod_msg *m)
{
	struct dproc *p;
	struct uvf_caller c;

	switch (m->hdr.op) {
	case UVP_HELLO:
		control_hello(cc, m);
		return;
	case UVP_CLOSE_SYNC:
		control_close_sync(cc, m);
		return;
	case UVP_STATUS:
	case UVP_GROUPS:
	case UVP_VMS:
		control_admin(cc, m);
		return;
	case UVP_AP_CONFIG:
		request_reply(cc->fd, control_ap_config(cc, m), NULL, 0, NULL, 0);
		return;
	case UVP_OPEN:
	case UVP_STAT:
	case UVP_ACCESS:
	case UVP_READDIR:
	case UVP_REOPEN:
		break;
	default:
		request_reply(cc->fd, -EINVAL, NULL, 0, NULL, 0);
		return;
	}
	p = request_proc(cc->d, &m->creds, &cc->proc_cache);
	if (!p) {
		request_reply(cc->fd, -ENOMEM, NULL, 0, NULL, 0);
		return;
	}
	request_caller(m, p, &c);
	if (m->hdr.op == UVP_OPEN)
		control_open(cc, m, &c);
	else if (m->hdr.op == UVP_REOPEN)
		control_reopen(cc, m, &c);
	else
		control_path_op(cc, m, &c);
	dproc_put(p);
}

static void *control_thread(void *arg)
{
	struct control_conn *cc = arg;
	struct uvfiod *d = cc->d;

	for (;;) {
		struct uvfiod_msg m;
		int r = request_recv(cc->fd, cc->buf, &m);

		if (r == 0)
			break;
		if (r < 0) {
			request_reply(cc->fd, r, NULL, 0, NULL, 0);
			continue;
		}
		control_serve(cc, &m);
		uvp_close_fds(m.fds, m.nfds);
	}
	if (cc->proc) {
		dproc_unregister(d, cc->proc);
		dproc_put(cc->proc);
	}
	dproc_put(cc->proc_cache);
	uvf_mutex_lock(&d->lock);
	list_del_init(&cc->link);
	uvf_mutex_unlock(&d->lock);
	close(cc->fd);
	free(cc->buf);
	free(cc);
	uvfiod_thread_exit(d);
	return NULL;
}

/* ---- the listening socket ------------------------------------------------------------ */

static void control_accept_one(struct uvfiod *d, int fd)
{
	struct control_conn *cc = calloc(1, sizeof(*cc));
	int one = 1;

	if (!cc || !(cc->buf = malloc(sizeof(struct uvp_req) + UVP_MAX_BODY)) ||
	    setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)))
		goto fail;
	cc->d = d;
	cc->fd = fd;
	list_init(&cc->link);
	uvf_mutex_lock(&d->lock);
	list_add_tail(&cc->link, &d->conns);
	uvf_mutex_unlock(&d->lock);
	if (!uvfiod_thread_start(d, control_thread, cc))
		return;
	uvf_mutex_lock(&d->lock);
	list_del_init(&cc->link);
	uvf_mutex_unlock(&d->lock);
fail:
	close(fd);
	if (cc)
		free(cc->buf);
	free(cc);
}

static void *control_accept_thread(void *arg)
{
	struct uvfiod *d = arg;

	for (;;) {
		int fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0) {
			control_accept_one(d, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOMEM) {
			usleep(10000);
			continue;
		}
		break;		/* shut down */
	}
	return NULL;
}

int control_listen(struct uvfiod *d)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int one = 1, ret;

	ret = uvp_socket_path(d->runtime, addr.sun_path, sizeof(addr.sun_path));
	if (ret)
		return ret;
	d->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (d->listen_fd < 0)
		return -errno;
	unlink(addr.sun_path);
	if (setsockopt(d->listen_fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) ||
	    bind(d->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    chmod(addr.sun_path, 0666) || listen(d->listen_fd, 128))
		return -errno;
	ret = -pthread_create(&d->accept_thread, NULL, control_accept_thread, d);
	if (!ret)
		d->accepting = true;
	return ret;
}

void control_stop(struct uvfiod *d)
{
	struct control_conn *cc;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];

	if (d->listen_fd >= 0) {
		shutdown(d->listen_fd, SHUT_RDWR);
		if (d->accepting)
			pthread_join(d->accept_thread, NULL);
		d->accepting = false;
		close(d->listen_fd);
		d->listen_fd = -1;
		if (!uvp_socket_path(d->runtime, path, sizeof(path)))
			unlink(path);
	}
	uvf_mutex_lock(&d->lock);
	list_for_each_entry(cc, &d->conns, link)
		shutdown(cc->fd, SHUT_RDWR);
	uvf_mutex_unlock(&d->lock);
}
