// SPDX-License-Identifier: MIT
/*
 * Channels: one per open file.  The daemon makes a socketpair, keeps one
 * end with a reference on the core file, and gives the other to the client
 * as the fd of the file.  A thread per channel waits in a blocking
 * recvmsg (the cheapest wake-up) and runs each request as the sender, as
 * identified by the kernel's credentials on that very message.
 *
 * Release: when every client reference to the client end is gone, the
 * daemon's end hangs up; whoever sees it first - the channel thread, a
 * CLOSE_SYNC, or an OPEN about to answer -EBUSY - drops the channel's
 * reference, exactly once (channel_release).  A request in flight holds
 * its own reference, so the core release runs when that request returns,
 * as a kernel fput after a concurrent ioctl.
 *
 * Lock order: channel.release_lock (held across the core release) ->
 * uvfiod.lock -> channel.lock (a leaf).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include "uvfiod.h"
#include "core/base/compiler.h"
#include "core/host/file.h"
#include "core/mm/mm.h"

/* Where read/write data is staged: a fixed fake user address, since the
 * data travels in the message and the handler only reaches [0, count). */
#define CHANNEL_RW_UADDR 0x10000ull

/* The state of one ioctl request, behind the caller's fd ops. */
struct channel_req {
	struct channel *ch;
	const struct uvfiod_msg *m;
	const int32_t *fdmap;		/* client fd number of each attached fd */
	int newfds[UVP_MAX_FDS];	/* client ends of files made by the ioctl */
	unsigned int nnew;
};

/*
 * Drop the channel's file reference, once.  Whoever comes second waits on
 * release_lock until the first is done, so that "released" always means
 * the core release has returned (unless a request in flight still holds
 * the file).
 */
static void channel_release(struct channel *ch)
{
	struct uvf_file *f;

	uvf_mutex_lock(&ch->release_lock);
	uvf_mutex_lock(&ch->lock);
	f = ch->file;
	ch->file = NULL;
	uvf_mutex_unlock(&ch->lock);
	file_put(f);
	uvf_mutex_unlock(&ch->release_lock);
}

struct uvf_file *channel_file(struct channel *ch)
{
	struct uvf_file *f;

	uvf_mutex_lock(&ch->lock);
	f = ch->file;
	if (f)
		file_get(f);
	uvf_mutex_unlock(&ch->lock);
	return f;
}

void channel_put(struct channel *ch)
{
	if (!ch || !uvf_ref_put(&ch->ref))
		return;
	close(ch->fd);
	free(ch->buf);
	uvf_mutex_destroy(&ch->lock);
	uvf_mutex_destroy(&ch->release_lock);
	pthread_cond_destroy(&ch->handoff_done);
	free(ch);
}

struct channel *channel_find(struct uvfiod *d, dev_t dev, ino_t ino)
{
	struct channel *ch, *found = NULL;

	uvf_mutex_lock(&d->lock);
	list_for_each_entry(ch, &d->channels, link) {
		if (ch->peer_ino == ino && ch->peer_dev == dev) {
			found = ch;
			uvf_ref_get(&ch->ref);
			break;
		}
	}
	uvf_mutex_unlock(&d->lock);
	return found;
}

struct channel *channel_find_fd(struct uvfiod *d, int fd)
{
	struct stat st;

	if (fstat(fd, &st) || !S_ISSOCK(st.st_mode))
		return NULL;
	return channel_find(d, st.st_dev, st.st_ino);
}

/* ---- the caller's fds ---------------------------------------------------- */

/* The attached fd the client knows as fd, or -1. */
static int channel_req_fd(const struct channel_req *r, int fd)
{
	for (unsigned int i = 0; i < r->m->nfds; i++)
		if (r->fdmap[i] == fd)
			return r->m->fds[i];
	return -1;
}

static struct uvf_file *channel_fget(struct uvf_caller *c, int fd)
{
	struct channel_req *r = c->fds_priv;
	int local = channel_req_fd(r, fd);
	struct channel *other;
	struct uvf_file *f;

	if (local < 0)
		return NULL;
	other = channel_find_fd(r->ch->d, local);
	if (!other)
		return file_alloc_foreign(r->ch->d->host, c);
	f = channel_file(other);
	channel_put(other);
	return f;
}

static int channel_fget_raw(struct uvf_caller *c, int fd)
{
	struct channel_req *r = c->fds_priv;
	int local = channel_req_fd(r, fd), dup_fd;

	if (local < 0)
		return -EBADF;
	dup_fd = fcntl(local, F_DUPFD_CLOEXEC, 0);
	return dup_fd < 0 ? -EBADF : dup_fd;
}

static int channel_fd_install(struct uvf_caller *c, struct uvf_file *f, int o_flags)
{
	struct channel_req *r = c->fds_priv;
	int fd;

	if (r->nnew == UVP_MAX_FDS) {
		file_put(f);
		return -EMFILE;
	}
	fd = channel_new(r->ch->d, f, c->pid, f->ops->name ? f->ops->name : "anon");
	if (fd < 0)
		return fd;
	r->newfds[r->nnew] = fd;
	return UVP_NEWFD(r->nnew++);
}

static const struct uvf_fd_ops channel_fd_ops = {
	.fget = channel_fget,
	.fget_raw = channel_fget_raw,
	.fd_install = channel_fd_install,
};

/* ---- requests ------------------------------------------------------------ */

/* The DMA pieces of an ioctl, copied aligned and checked; NULL + -errno. */
static struct uvp_dma_piece *channel_dma_pieces(const uint8_t *raw, uint32_t n,
						unsigned int nfds, int *err)
{
	struct uvp_dma_piece *p = malloc(n * sizeof(*p));

	*err = -ENOMEM;
	if (!p)
		return NULL;
	memcpy(p, raw, n * sizeof(*p));
	for (uint32_t i = 0; i < n; i++) {
		uint64_t end;

		if (!p[i].len || check_add_overflow(p[i].uaddr, p[i].len, &end) ||
		    check_add_overflow(p[i].file_off, p[i].len, &end) ||
		    p[i].fd_index >= nfds) {
			free(p);
			*err = -EINVAL;
			return NULL;
		}
	}
	*err = 0;
	return p;
}

/*
 * Everything a request holds that the client could be waiting to see
 * released - the file reference taken for the request and the client's
 * sockets received with it - is dropped before the reply goes out.  A
 * client that closes its fds right after the reply and asks CLOSE_SYNC
 * then finds every hang-up visible and the release not held up.
 */
static void channel_request_done(struct channel *ch)
{
	if (ch->req_file) {
		file_put(ch->req_file);
		ch->req_file = NULL;
	}
	if (ch->req_msg) {
		uvp_close_fds(ch->req_msg->fds, ch->req_msg->nfds);
		ch->req_msg->nfds = 0;
		ch->req_msg = NULL;
	}
}

static void channel_reply(struct channel *ch, long ret, const struct iovec *body, int nbody,
			  const int *fds, unsigned int nfds)
{
	channel_request_done(ch);
	request_reply(ch->fd, ret, body, nbody, fds, nfds);
}

static void channel_ioctl(struct channel *ch, const struct uvfiod_msg *m, struct uvf_file *f,
			  struct uvf_caller *c)
{
	struct channel_req r = { .ch = ch, .m = m };
	struct uvp_ioctl io;
	struct uvf_stage stage = { 0 };
	struct uvp_dma_piece *pieces = NULL;
	struct uvf_mm *mm = NULL;
	struct iovec out;
	uint64_t need;
	long ret;
	int err;

	if (m->hdr.len < sizeof(io))
		goto inval;
	memcpy(&io, m->body, sizeof(io));
	need = sizeof(io) + (uint64_t)io.nfdmap * sizeof(int32_t) + io.stage_len +
	       (uint64_t)io.ndma * sizeof(struct uvp_dma_piece);
	if (io.nfdmap != m->nfds || io.stage_len > UVP_MAX_STAGE || need != m->hdr.len)
		goto inval;
	r.fdmap = (const int32_t *)(m->body + sizeof(io));
	stage.uaddr = io.stage_uaddr;
	stage.len = io.stage_len;
	stage.buf = m->body + sizeof(io) + io.nfdmap * sizeof(int32_t);
	if (io.ndma) {
		pieces = channel_dma_pieces(stage.buf + io.stage_len, io.ndma, m->nfds, &err);
		if (!pieces) {
			channel_reply(ch, err, NULL, 0, NULL, 0);
			return;
		}
		mm = remote_mm_with_pieces(c->mm, pieces, io.ndma, m->fds, m->nfds);
		if (!mm) {
			free(pieces);
			channel_reply(ch, -ENOMEM, NULL, 0, NULL, 0);
			return;
		}
		c->mm = mm;
	}
	c->fds = &channel_fd_ops;
	c->fds_priv = &r;
	c->stage = &stage;
	ret = file_ioctl(f, c, io.cmd, io.arg);
	if (mm) {
		remote_mm_drop_pieces(mm);
		mm_put(mm);
		free(pieces);
	}
	out = (struct iovec){ stage.buf, stage.dirty ? stage.len : 0 };
	channel_reply(ch, ret, &out, 1, r.newfds, r.nnew);
	channel_handoff_done_all(ch->d, r.newfds, r.nnew);
	return;
inval:
	channel_reply(ch, -EINVAL, NULL, 0, NULL, 0);
}

static void channel_read(struct channel *ch, const struct uvfiod_msg *m, struct uvf_file *f,
			 struct uvf_caller *c)
{
	struct uvp_rw rw;
	struct uvf_stage stage = { .uaddr = CHANNEL_RW_UADDR };
	struct iovec out = { NULL, 0 };
	ssize_t ret;

	if (m->hdr.len != sizeof(rw)) {
		channel_reply(ch, -EINVAL, NULL, 0, NULL, 0);
		return;
	}
	memcpy(&rw, m->body, sizeof(rw));
	if (rw.count > UVP_MAX_STAGE) {
		channel_reply(ch, -EINVAL, NULL, 0, NULL, 0);
		return;
	}
	/* the data goes where the request was: the body is not needed any more */
	stage.buf = m->body + 64;
	stage.len = rw.count;
	c->stage = &stage;
	c->mm = NULL;
	ret = file_pread(f, c, stage.uaddr, rw.count, rw.pos);
	if (ret > 0 && (uint64_t)ret <= rw.count)
		out = (struct iovec){ stage.buf, (size_t)ret };
	channel_reply(ch, ret, &out, 1, NULL, 0);
}

static void channel_write(struct channel *ch, const struct uvfiod_msg *m, struct uvf_file *f,
			  struct uvf_caller *c)
{
	struct uvp_rw rw;
	struct uvf_stage stage = { .uaddr = CHANNEL_RW_UADDR };
	ssize_t ret;

	if (m->hdr.len < sizeof(rw)) {
		channel_reply(ch, -EINVAL, NULL, 0, NULL, 0);
		return;
	}
	memcpy(&rw, m->body, sizeof(rw));
	if (rw.count > UVP_MAX_STAGE || m->hdr.len != sizeof(rw) + rw.count) {
		channel_reply(ch, -EINVAL, NULL, 0, NULL, 0);
		return;
	}
	stage.buf = m->body + sizeof(rw);
	stage.len = rw.count;
	c->stage = &stage;
	c->mm = NULL;
	ret = file_pwrite(f, c, stage.uaddr, rw.count, rw.pos);
	channel_reply(ch, ret, NULL, 0, NULL, 0);
}

static void channel_mmap(struct channel *ch, const struct uvfiod_msg *m, struct uvf_file *f,
			 struct uvf_caller *c)
{
	struct uvp_mmap mp;
	struct uvp_mmap_reply rep = { 0 };
	struct uvf_mmap_desc desc = { 0 };
	struct iovec out = { &rep, sizeof(rep) };
	int type, ret, mfd;

	if (m->hdr.len != sizeof(mp)) {
		channel_reply(ch, -EINVAL, NULL, 0, NULL, 0);
		return;
	}
	memcpy(&mp, m->body, sizeof(mp));
	type = mp.flags & MAP_TYPE;
	ret = file_mmap(f, c, mp.pos, mp.len, mp.prot,
			type == MAP_SHARED || type == MAP_SHARED_VALIDATE, &desc);
	if (ret) {
		channel_reply(ch, ret, NULL, 0, NULL, 0);
		return;
	}
	mfd = memobj_fd(desc.obj);
	rep.file_off = desc.obj_off;
	if (mfd < 0)
		channel_reply(ch, -ENODEV, NULL, 0, NULL, 0);
	else
		channel_reply(ch, 0, &out, 1, &mfd, 1);
	memobj_put(desc.obj);
}

static void channel_serve(struct channel *ch, const struct uvfiod_msg *m)
{
	struct dproc *p = request_proc(ch->d, &m->creds, &ch->proc_cache);
	struct uvf_caller c;
	struct uvf_file *f;

	if (!p) {
		channel_reply(ch, -ENOMEM, NULL, 0, NULL, 0);
		return;
	}
	f = channel_file(ch);
	ch->req_file = f;
	request_caller(m, p, &c);
	if (!f)
		channel_reply(ch, -EBADF, NULL, 0, NULL, 0);
	else if (m->hdr.op == UVP_IOCTL)
		channel_ioctl(ch, m, f, &c);
	else if (m->hdr.op == UVP_READ)
		channel_read(ch, m, f, &c);
	else if (m->hdr.op == UVP_WRITE)
		channel_write(ch, m, f, &c);
	else if (m->hdr.op == UVP_MMAP)
		channel_mmap(ch, m, f, &c);
	else
		channel_reply(ch, -EINVAL, NULL, 0, NULL, 0);
	channel_request_done(ch);
	dproc_put(p);
}

static void *channel_thread(void *arg)
{
	struct channel *ch = arg;
	struct uvfiod *d = ch->d;

	for (;;) {
		struct uvfiod_msg m;
		int r = request_recv(ch->fd, ch->buf, &m);

		if (r == 0)
			break;
		if (r < 0) {
			request_reply(ch->fd, r, NULL, 0, NULL, 0);
			continue;
		}
		ch->req_msg = &m;
		channel_serve(ch, &m);
		ch->req_msg = NULL;
		uvp_close_fds(m.fds, m.nfds);
	}
	channel_release(ch);
	uvf_mutex_lock(&d->lock);
	list_del_init(&ch->link);
	uvf_mutex_unlock(&d->lock);
	dproc_put(ch->proc_cache);
	ch->proc_cache = NULL;
	channel_put(ch);
	uvfiod_thread_exit(d);
	return NULL;
}

/* ---- making channels, reaping them ------------------------------------------ */

int channel_new(struct uvfiod *d, struct uvf_file *f, pid_t opener, const char *path)
{
	struct channel *ch = calloc(1, sizeof(*ch));
	int sv[2] = { -1, -1 }, one = 1, ret;
	struct stat st;

	if (!ch || !(ch->buf = malloc(sizeof(struct uvp_req) + UVP_MAX_BODY))) {
		ret = -ENOMEM;
		goto fail;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) ||
	    setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) ||
	    fstat(sv[1], &st)) {
		ret = -errno;
		goto fail;
	}
	uvf_ref_init(&ch->ref);
	uvf_mutex_init(&ch->lock);
	ch->handoff_pending = true;
	pthread_cond_init(&ch->handoff_done, NULL);
	uvf_mutex_init(&ch->release_lock);
	list_init(&ch->link);
	ch->d = d;
	ch->fd = sv[0];
	ch->peer_dev = st.st_dev;
	ch->peer_ino = st.st_ino;
	ch->opener = opener;
	ch->file = f;
	snprintf(ch->path, sizeof(ch->path), "%s", path);
	uvf_mutex_lock(&d->lock);
	list_add_tail(&ch->link, &d->channels);
	uvf_mutex_unlock(&d->lock);
	ret = uvfiod_thread_start(d, channel_thread, ch);
	if (ret) {
		uvf_mutex_lock(&d->lock);
		list_del_init(&ch->link);
		uvf_mutex_unlock(&d->lock);
		close(sv[1]);
		channel_release(ch);
		channel_put(ch);
		return ret;
	}
	return sv[1];
fail:
	if (sv[0] >= 0) {
		close(sv[0]);
		close(sv[1]);
	}
	if (ch)
		free(ch->buf);
	free(ch);
	file_put(f);
	return ret;
}

void channel_handoff_done(struct uvfiod *d, int client_fd)
{
	struct channel *ch = channel_find_fd(d, client_fd);

	close(client_fd);
	if (!ch)
		return;
	uvf_mutex_lock(&ch->lock);
	ch->handoff_pending = false;
	pthread_cond_broadcast(&ch->handoff_done);
	uvf_mutex_unlock(&ch->lock);
	channel_put(ch);
}

void channel_handoff_done_all(struct uvfiod *d, int *client_fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		channel_handoff_done(d, client_fds[i]);
}

/* Wait (bounded: a handoff takes microseconds) until the daemon's copy of
 * the client end is closed, so a hang-up can be seen at all. */
static void channel_wait_handoff(struct channel *ch)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	uvf_mutex_lock(&ch->lock);
	while (ch->handoff_pending &&
	       pthread_cond_timedwait(&ch->handoff_done, &ch->lock.m, &until) == 0)
		;
	uvf_mutex_unlock(&ch->lock);
}

bool channel_reap_if_hung_up(struct channel *ch)
{
	struct pollfd p = { .fd = ch->fd, .events = POLLIN };

	channel_wait_handoff(ch);
	if (poll(&p, 1, 0) <= 0 || !(p.revents & POLLHUP))
		return false;
	channel_release(ch);
	return true;
}

unsigned int channel_reap_all(struct uvfiod *d)
{
	struct channel **all, *ch;
	unsigned int n = 0, i = 0, reaped = 0;

	uvf_mutex_lock(&d->lock);
	list_for_each_entry(ch, &d->channels, link)
		n++;
	all = calloc(n ? n : 1, sizeof(*all));
	if (all) {
		list_for_each_entry(ch, &d->channels, link) {
			uvf_ref_get(&ch->ref);
			all[i++] = ch;
		}
	}
	uvf_mutex_unlock(&d->lock);
	for (unsigned int j = 0; j < i; j++) {
		reaped += channel_reap_if_hung_up(all[j]);
		channel_put(all[j]);
	}
	free(all);
	return reaped;
}

void channel_hangup_all(struct uvfiod *d)
{
	struct channel *ch;

	uvf_mutex_lock(&d->lock);
	list_for_each_entry(ch, &d->channels, link)
		shutdown(ch->fd, SHUT_RDWR);
	uvf_mutex_unlock(&d->lock);
}
