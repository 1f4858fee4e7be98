/* SPDX-License-Identifier: MIT */
/*
 * ioctl on a channel.  The argument's bytes go to the daemon with the
 * request (the "stage") and what the handler wrote comes back into the
 * program's struct, as the kernel's copy_from_user/copy_to_user would move
 * them.  A bad pointer is EFAULT as in the kernel, never a crash: the shim
 * touches program memory itself only where it cannot fault.  Three ways,
 * tried in this order:
 *
 *  - stack: the argument lies in the caller's stack page, right above our
 *    frame (shim_on_caller_page; the usual local struct).  Plain memory:
 *    the request and the reply travel in one buffer each, send()/recv().
 *
 *  - direct: a command whose handler reads the minimum of a fixed struct
 *    and writes no further (the rule's direct size).  The request's iovec
 *    points at the program's struct and the reply is scattered back into
 *    it, the kernel doing both copies: a pointer it cannot read fails the
 *    send with EFAULT, having sent nothing, and the call goes the staged
 *    way instead, which works out what is readable.
 *
 *  - staged: everything else (off the caller's page: fds or DMA ranges
 *    in the argument, arrays past the struct, strings).  The bytes the
 *    kernel would read are copied fault-safely (uaccess.c) into a local
 *    stage first; what cannot be read is not staged, and the handler's own
 *    copy then fails with EFAULT through the memory handle where the
 *    kernel's would.
 *
 * The first two cost no system call but the round trip.  fds named in the
 * argument and the backing files of DMA ranges ride along as SCM_RIGHTS;
 * an fd the call creates arrives as a new channel and the shim puts its
 * number where the kernel would (the return value or the struct field).
 * ioctl_table.c says which command needs what.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/vfio.h>
#include "shim.h"

#define STAGE_SMALL	512		/* on the stack: every fixed-size VFIO struct */
#define SHIM_DIRECT_MAX	64		/* the largest struct that goes the direct way */
#define STRING_MAX	4096		/* the kernel reads device names up to a page */

static int fail(int err)
{
	errno = err;
	return -1;
}

int shim_ioc_attach_fd(struct shim_ioc *io, int32_t fd)
{
	if (fd < 0)
		return 0;
	for (int i = 0; i < io->nfds; i++)
		if (io->fds[i] == fd)
			return 0;
	/* Not open (or the shim's own): the daemon answers EBADF where the
	 * kernel would, in the handler's own order of checks. */
	if (REAL(fcntl)(fd, F_GETFD) < 0 || shim_fd_type(fd) == SHIM_SLOT_INTERNAL)
		return 0;
	if (io->nfds >= UVP_MAX_FDS) {
		shim_warn("ioctl 0x%x names more than %d fds", io->cmd, UVP_MAX_FDS);
		return -EINVAL;
	}
	io->fds[io->nfds++] = fd;
	return 0;
}

int shim_ioc_attach_dma(struct shim_ioc *io, uint64_t uaddr, uint64_t len)
{
	if (!len)
		return 0;
	return shim_maps_dma_pieces(io, uaddr, len);
}

/*
 * Stage the bytes the rule says the kernel reads at arg.  What cannot be
 * read is not staged: the handler's own copy then fails with EFAULT through
 * the memory handle, at the point where the kernel's would (a container
 * without an IOMMU answers EINVAL to MAP_DMA(NULL) before reading it).
 */
static int ioc_stage(struct shim_ioc *io, uint8_t *small)
{
	const struct shim_ioc_rule *rule = io->rule;
	uint32_t want, got, size;

	io->from = SHIM_STAGE_COPY;
	io->stage = NULL;
	io->stage_len = 0;
	if (!rule || rule->arg == SHIM_ARG_VALUE)
		return 0;
	io->stage = small;
	if (rule->arg == SHIM_ARG_PTR) {
		got = shim_uread(small, io->arg, rule->size);
		io->stage_len = got == rule->size ? got : 0;
		return 0;
	}
	if (rule->arg == SHIM_ARG_STRING) {
		io->stage = malloc(STRING_MAX);
		if (!io->stage)
			return -ENOMEM;
		got = shim_uread(io->stage, io->arg, STRING_MAX);
		size = strnlen((char *)io->stage, got);
		io->stage_len = size < got ? size + 1 : got;
		return 0;
	}
	/* argsz / size first: the kernel reads the minimum struct whatever it says. */
	got = shim_uread(small, io->arg, STAGE_SMALL);
	if (got < 4)
		return 0;
	memcpy(&size, small, 4);
	want = size < rule->size ? rule->size : size;
	if (want > UVP_MAX_STAGE)
		want = UVP_MAX_STAGE;
	if (want <= got || got < STAGE_SMALL) {
		/* Unreadable past got: the daemon's copy fails there, as the kernel's. */
		io->stage_len = want <= got ? want : got;
		return 0;
	}
	io->stage = malloc(want);
	if (!io->stage)
		return -ENOMEM;
	memcpy(io->stage, small, got);
	io->stage_len = got + shim_uread(io->stage + got, io->arg + got, want - got);
	return 0;
}

/* The client fd for a UVP_NEWFD(i) placeholder, or -1. */
static int newfd_of(const struct shim_reply *r, int64_t v)
{
	if (v < UVP_NEWFD_BASE || v >= UVP_NEWFD_BASE + (int64_t)r->nfds)
		return -1;
	return r->fds[v - UVP_NEWFD_BASE];
}

/*
 * Files the call made arrive as channels: install them and put their
 * numbers where the handler put placeholders, the result (GET_DEVICE_FD)
 * or the struct field the rule names (out_fault_fd...).  A channel nothing
 * refers to is closed again.
 */
static int ioc_take_fds(struct shim_ioc *io, struct shim_reply *r, int64_t *ret)
{
	enum shim_kind kind = io->out_kind ? io->out_kind :
			      io->rule && io->rule->new_kind ? io->rule->new_kind : SHIM_K_AUX;
	bool used[UVP_MAX_FDS] = { false };
	int err = 0, fd;

	for (int i = 0; i < r->nfds && !err; i++)
		err = shim_chan_install(r->fds[i], kind, NULL);
	if (err) {
		shim_reply_close_fds(r);
		return err;
	}
	fd = newfd_of(r, *ret);
	if (fd >= 0) {
		used[*ret - UVP_NEWFD_BASE] = true;
		*ret = fd;
	}
	if (io->out_fd >= 0) {
		int32_t v;

		if (shim_uread(&v, io->arg + io->out_fd, sizeof(v)) == sizeof(v) &&
		    (fd = newfd_of(r, v)) >= 0) {
			used[v - UVP_NEWFD_BASE] = true;
			err = shim_uwrite(io->arg + io->out_fd, &fd, sizeof(fd));
		}
	}
	for (int i = 0; i < r->nfds; i++)
		if (!used[i] || err)
			close(r->fds[i]);
	r->nfds = 0;
	return err;
}

/* The direct way's stage past the minimum: never read, only written. */
static const uint8_t direct_room[SHIM_DIRECT_MAX];

static SHIM_HOT int ioc_send(int fd, struct shim_ioc *io)
{
	struct uvp_ioctl hdr = {
		.cmd = io->cmd, .nfdmap = (uint32_t)io->nfds, .arg = io->arg,
		.stage_uaddr = io->arg, .stage_len = io->stage_len, .ndma = io->ndma,
	};
	struct shim_msg m = { .op = UVP_IOCTL, .fds = io->fds, .nfds = io->nfds,
			      .local = io->from != SHIM_STAGE_DIRECT };

	shim_msg_add(&m, &hdr, sizeof(hdr));
	if (io->nfds)
		shim_msg_add(&m, io->fds, io->nfds * sizeof(int32_t));
	if (io->from == SHIM_STAGE_DIRECT && io->rule->size < io->stage_len) {
		/* The minimum the kernel reads, then room for what it may write. */
		shim_msg_add(&m, io->stage, io->rule->size);
		shim_msg_add(&m, direct_room, io->stage_len - io->rule->size);
	} else if (io->stage_len) {
		shim_msg_add(&m, io->stage, io->stage_len);
	}
	if (io->ndma)
		shim_msg_add(&m, io->dma, io->ndma * sizeof(*io->dma));
	return shim_xfer_send(fd, &m);
}

/*
 * Where the reply's stage goes: into the program's struct, no further than
 * the kernel would write.  A stage of the program's bytes is at most argsz
 * long already (or minsz, and then nothing is written); the direct way's
 * stage is the kernel's whole struct, and the part past argsz (an older
 * program's smaller struct) lands in spare instead.
 */
static SHIM_HOT void ioc_reply_iov(const struct shim_ioc *io, struct shim_reply *r,
				   uint8_t *spare)
{
	uint32_t keep = io->stage_len;

	r->local = io->from == SHIM_STAGE_STACK;
	/* A name string is only read, and may well be read-only memory. */
	if (!io->stage_len || io->rule->arg == SHIM_ARG_STRING)
		return;
	if (io->from == SHIM_STAGE_DIRECT && io->rule->arg != SHIM_ARG_PTR) {
		uint32_t argsz;

		/* The send has just read these bytes: the kernel found them mapped. */
		memcpy(&argsz, (const void *)(uintptr_t)io->arg, sizeof(argsz));
		if (argsz < keep)
			keep = argsz;
	}
	shim_reply_add(r, (void *)(uintptr_t)io->arg, keep);
	if (keep < io->stage_len)
		shim_reply_add(r, spare, io->stage_len - keep);
}

/* The reply to a request sent: the result, and the files the call made. */
static SHIM_HOT long ioc_finish(int fd, struct shim_ioc *io)
{
	uint8_t spare[SHIM_DIRECT_MAX];
	struct shim_reply r;		/* r.fds is filled up to r.nfds */
	int64_t ret;
	int err;

	r.niov = 0;
	r.nfds = 0;
	r.local = false;
	if (io->rule)
		ioc_reply_iov(io, &r, spare);
	/* Only an unknown command or one that makes files can bring fds. */
	r.nofds = io->rule && !io->rule->new_kind && io->out_fd == SHIM_OUT_FD_NONE;
	err = shim_xfer_recv(fd, &r, true);
	if (err)
		return err;
	ret = r.ret;
	if (ret < 0) {
		shim_reply_close_fds(&r);
		return ret;
	}
	if (r.nfds) {
		err = ioc_take_fds(io, &r, &ret);
		if (err)
			return err;
	}
	return ret > INT32_MAX ? INT32_MAX : ret;
}

/* The stage is set: the fds and DMA ranges it names, the request, the reply. */
static SHIM_HOT long ioc_call(int fd, struct shim_ioc *io)
{
	long ret = 0;

	if (io->rule && io->rule->prepare)
		ret = io->rule->prepare(io);
	if (!ret)
		ret = ioc_send(fd, io);
	return ret ? ret : ioc_finish(fd, io);
}

/*
 * An argument on the caller's stack page (shim_on_caller_page) is staged in
 * place: the bytes the kernel would read are plain memory, and the reply
 * is copied back into them.  Any rule but a string's.
 */
static SHIM_HOT bool ioc_stage_stack(struct shim_ioc *io, uintptr_t frame)
{
	const struct shim_ioc_rule *rule = io->rule;
	uint32_t want, size;

	if (!rule || rule->arg == SHIM_ARG_VALUE || rule->arg == SHIM_ARG_STRING)
		return false;
	want = rule->size;
	if (rule->arg != SHIM_ARG_PTR) {
		/* argsz / size first: the kernel reads the minimum whatever it says. */
		if (!shim_on_caller_page(frame, io->arg, sizeof(size)))
			return false;
		memcpy(&size, (const void *)(uintptr_t)io->arg, sizeof(size));
		if (size > want)
			want = size;
	}
	if (!shim_on_caller_page(frame, io->arg, want))
		return false;
	io->from = SHIM_STAGE_STACK;
	io->stage = (uint8_t *)(uintptr_t)io->arg;
	io->stage_len = want;
	return true;
}

/* The direct way applies: a fixed struct, no fds or files to find in it. */
static SHIM_HOT bool ioc_direct_ok(const struct shim_ioc *io)
{
	const struct shim_ioc_rule *rule = io->rule;

	return rule && rule->direct && rule->direct <= SHIM_DIRECT_MAX && !rule->prepare &&
	       !rule->new_kind;
}

static long ioc_staged(int fd, struct shim_ioc *io)
{
	uint8_t small[STAGE_SMALL];
	long ret = ioc_stage(io, small);

	if (!ret)
		ret = ioc_call(fd, io);
	if (io->stage != small)
		free(io->stage);
	return ret;
}

static SHIM_HOT long ioc_run(int fd, struct shim_ioc *io, uintptr_t frame)
{
	long ret;

	if (ioc_stage_stack(io, frame))
		return ioc_call(fd, io);
	if (ioc_direct_ok(io)) {
		io->from = SHIM_STAGE_DIRECT;
		io->stage = (uint8_t *)(uintptr_t)io->arg;
		io->stage_len = io->rule->direct;
		ret = ioc_send(fd, io);
		if (ret != -EFAULT)
			return ret ? ret : ioc_finish(fd, io);
		/* Not all of the struct is readable, and nothing was sent. */
	}
	return ioc_staged(fd, io);
}

/* The rule for cmd on ch, ch->lock held.  The last one found is kept: a
 * program asks the same thing over and over, and the table is long. */
static SHIM_HOT const struct shim_ioc_rule *chan_rule(struct shim_chan *ch,
						       unsigned int cmd)
{
	if (!ch->rule || ch->rule->cmd != cmd || ch->rule_kind != ch->kind) {
		ch->rule = shim_ioc_lookup(cmd, ch->kind);
		ch->rule_kind = ch->kind;
	}
	return ch->rule;
}

/* Everything but the arrays, which are used up to their counts: clearing
 * a kilobyte per call shows in the round trip. */
static SHIM_HOT void ioc_init(struct shim_ioc *io, unsigned int cmd, uint64_t arg,
			      const struct shim_ioc_rule *rule)
{
	io->cmd = cmd;
	io->arg = arg;
	io->rule = rule;
	io->from = SHIM_STAGE_COPY;
	io->stage = NULL;
	io->stage_len = 0;
	io->nfds = 0;
	io->dma = NULL;
	io->ndma = 0;
	io->out_fd = SHIM_OUT_FD_NONE;
	io->out_kind = SHIM_K_UNKNOWN;
	io->nbacking = 0;
}

static SHIM_HOT int chan_ioctl(int fd, struct shim_chan *ch, unsigned int cmd,
			       uint64_t arg, uintptr_t frame)
{
	struct shim_ioc io;
	long ret;
	int err, saved = errno;

	err = shim_chan_begin(ch, fd);
	if (err == -ENOTSOCK)
		return REAL(ioctl)(fd, cmd, (void *)(uintptr_t)arg);
	if (err)
		return fail(-err);
	ioc_init(&io, cmd, arg, chan_rule(ch, cmd));
	ret = ioc_run(fd, &io, frame);
	shim_chan_end(ch);
	free(io.dma);
	shim_maps_release(&io);
	if (ret == -ENOTSOCK) {
		/* Closed behind our back (an fclose()), the number reused. */
		shim_chan_drop_stale(fd);
		return REAL(ioctl)(fd, cmd, (void *)(uintptr_t)arg);
	}
	errno = saved;
	return ret < 0 ? fail((int)-ret) : (int)ret;
}

/* Requests the VFS answers for any file, before the file's own ioctl. */
static bool ioctl_is_vfs(unsigned long request)
{
	return request == FIOCLEX || request == FIONCLEX || request == FIONBIO ||
	       request == FIOASYNC;
}

SHIM_EXPORT SHIM_HOT int ioctl(int fd, unsigned long request, ...)
{
	struct shim_chan *ch;
	va_list ap;
	void *arg;
	int ret;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (shim_likely(!shim_fd_is_ours(fd))) {
		/* A channel we were not told about: after exec, or passed to us. */
		if (_IOC_TYPE(request) != VFIO_TYPE || !shim_enabled() ||
		    !(ch = shim_chan_adopt(fd)))
			return REAL(ioctl)(fd, request, arg);
	} else if (!(ch = shim_chan_get(fd)) || ioctl_is_vfs(request)) {
		if (ch)
			shim_chan_put(ch);
		return REAL(ioctl)(fd, request, arg);
	}
	ret = chan_ioctl(fd, ch, (unsigned int)request, (uint64_t)(uintptr_t)arg,
			 SHIM_CALLER_FRAME());
	shim_chan_put(ch);
	return ret;
}
