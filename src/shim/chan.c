/* SPDX-License-Identifier: MIT */
/*
 * The fd table: which of the program's fd numbers are channels (device
 * files served by uvfiod) and which are the shim's own (the control
 * connection, cached DMA backing files).
 *
 * Slots are indexed by fd number in chunks allocated on demand, so the test
 * every close() and read() makes for an fd that is not ours is one atomic
 * load.  A slot holds 0, SLOT_INTERNAL or a struct shim_chan pointer; the
 * channel is shared by the fds dup'd from it (they are one socket, one
 * open file) and freed when no slot and no caller holds it.
 *
 * After fork the child's channels are still the parent's sockets: before
 * the child's first request on one, REOPEN asks the daemon for a new
 * channel to the same file and dup3()s it over every fd number naming it,
 * so the child's replies are its own.  Channels found after exec, or
 * received from another process, are adopted the same way.
 *
 * Looking a channel up is the first thing every request does, so it takes
 * no lock: load the slot, take a reference unless the channel is already
 * dying (refs at 0), and check the slot still names it.  A thread may thus
 * look at the refs of a channel just freed; channels are therefore never
 * given back to malloc but kept on a free list for reuse (refs stays 0
 * there), which a program opening and closing devices keeps short.
 *
 * Locking: table_lock guards the slots' writers, nslots and the free list;
 * refs is atomic; chan->lock is taken before table_lock and held across a
 * request/reply.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/futex.h>
#include "shim.h"

#define CHUNK_SHIFT	10
#define CHUNK_SLOTS	(1u << CHUNK_SHIFT)
#define NCHUNKS		1024u			/* fds below 1M */
#define SLOT_INTERNAL	((uintptr_t)1)

#define CHAN_UNLOCKED	0
#define CHAN_LOCKED	1
#define CHAN_CONTENDED	2

static _Atomic(_Atomic uintptr_t *) chunks[NCHUNKS];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

/* The slot of fd if its chunk exists (a negative fd is past NCHUNKS too). */
static inline _Atomic uintptr_t *slot_find(int fd)
{
	unsigned int c = (unsigned int)fd >> CHUNK_SHIFT;
	_Atomic uintptr_t *chunk;

	if (c >= NCHUNKS)
		return NULL;
	chunk = atomic_load_explicit(&chunks[c], memory_order_acquire);
	return chunk ? &chunk[fd & (CHUNK_SLOTS - 1)] : NULL;
}

/* The slot of fd, its chunk allocated on demand. */
static _Atomic uintptr_t *slot_create(int fd)
{
	unsigned int c = (unsigned int)fd >> CHUNK_SHIFT;
	_Atomic uintptr_t *s = slot_find(fd), *chunk, *fresh;

	if (s || c >= NCHUNKS)
		return s;
	fresh = calloc(CHUNK_SLOTS, sizeof(*fresh));
	if (!fresh)
		return NULL;
	chunk = NULL;
	if (!atomic_compare_exchange_strong(&chunks[c], &chunk, fresh))
		free(fresh);
	return slot_find(fd);
}

static inline uintptr_t slot_load(int fd)
{
	_Atomic uintptr_t *s = slot_find(fd);

	return s ? atomic_load_explicit(s, memory_order_acquire) : 0;
}

SHIM_HOT bool shim_fd_is_ours(int fd)
{
	return slot_load(fd) != 0;
}

enum shim_slot_type shim_fd_type(int fd)
{
	uintptr_t v = slot_load(fd);

	if (!v)
		return SHIM_SLOT_NONE;
	return v == SLOT_INTERNAL ? SHIM_SLOT_INTERNAL : SHIM_SLOT_CHAN;
}

int shim_fd_next_ours(unsigned int from, unsigned int last)
{
	for (unsigned int fd = from; fd <= last && fd < NCHUNKS * CHUNK_SLOTS;) {
		_Atomic uintptr_t *chunk = atomic_load(&chunks[fd >> CHUNK_SHIFT]);

		if (!chunk) {
			fd = (fd | (CHUNK_SLOTS - 1)) + 1;
			continue;
		}
		if (atomic_load(&chunk[fd & (CHUNK_SLOTS - 1)]))
			return (int)fd;
		if (fd == last)
			break;
		fd++;
	}
	return -1;
}

static struct shim_chan *free_chans;		/* table_lock */
static_assert(offsetof(struct shim_chan, refs) == 0, "chan_alloc clears what follows refs");

/* The channel has no slot and no caller left. */
static void chan_free(struct shim_chan *ch)
{
	pthread_mutex_lock(&table_lock);
	ch->next_free = free_chans;
	free_chans = ch;
	pthread_mutex_unlock(&table_lock);
}

/* Drop a reference.  Returns the channel to free, if any. */
static SHIM_HOT struct shim_chan *chan_unref(struct shim_chan *ch)
{
	return atomic_fetch_sub(&ch->refs, 1) == 1 ? ch : NULL;
}

/* A reference, unless the channel is dying or free already. */
static SHIM_HOT bool chan_tryget(struct shim_chan *ch)
{
	int refs = atomic_load(&ch->refs);

	while (refs > 0)
		if (atomic_compare_exchange_weak(&ch->refs, &refs, refs + 1))
			return true;
	return false;
}

SHIM_HOT struct shim_chan *shim_chan_get(int fd)
{
	uintptr_t v;

	/* Each retry follows a change of the slot. */
	while ((v = slot_load(fd)) && v != SLOT_INTERNAL) {
		struct shim_chan *ch = (struct shim_chan *)v;

		if (chan_tryget(ch)) {
			if (slot_load(fd) == v)
				return ch;
			shim_chan_put(ch);
		}
	}
	return NULL;
}

SHIM_HOT void shim_chan_put(struct shim_chan *ch)
{
	struct shim_chan *dead = chan_unref(ch);

	if (dead)
		chan_free(dead);
}

/* Empty a slot; table_lock held.  Returns a channel to free, if any. */
static struct shim_chan *slot_clear_locked(int fd, bool *was_last)
{
	_Atomic uintptr_t *s = slot_find(fd);
	uintptr_t v = s ? atomic_exchange(s, 0) : 0;
	struct shim_chan *ch;

	if (was_last)
		*was_last = false;
	if (!v || v == SLOT_INTERNAL)
		return NULL;
	ch = (struct shim_chan *)v;
	ch->nslots--;
	if (was_last)
		*was_last = ch->nslots == 0;
	return chan_unref(ch);
}

static int slot_set(int fd, uintptr_t v)
{
	_Atomic uintptr_t *s = slot_create(fd);
	struct shim_chan *dead;

	if (!s)
		return -ENOMEM;
	pthread_mutex_lock(&table_lock);
	dead = slot_clear_locked(fd, NULL);
	if (v != SLOT_INTERNAL) {
		((struct shim_chan *)v)->nslots++;
		atomic_fetch_add(&((struct shim_chan *)v)->refs, 1);
	}
	atomic_store_explicit(s, v, memory_order_release);
	pthread_mutex_unlock(&table_lock);
	if (dead)
		chan_free(dead);
	return 0;
}

static struct shim_chan *chan_alloc(enum shim_kind kind, const char *path)
{
	struct shim_chan *ch;

	pthread_mutex_lock(&table_lock);
	ch = free_chans;
	if (ch)
		free_chans = ch->next_free;
	pthread_mutex_unlock(&table_lock);
	if (!ch)
		ch = calloc(1, sizeof(*ch));
	if (!ch)
		return NULL;
	/* Everything but refs, which is 0 and stays so until a slot names the
	 * channel: a stale shim_chan_get() may be reading it. */
	memset((char *)ch + sizeof(ch->refs), 0, sizeof(*ch) - sizeof(ch->refs));
	ch->kind = kind;
	if (path)
		snprintf(ch->path, sizeof(ch->path), "%s", path);
	return ch;
}

int shim_chan_install(int fd, enum shim_kind kind, const char *path)
{
	struct shim_chan *ch = chan_alloc(kind, path);
	int err;

	if (!ch)
		return -ENOMEM;
	err = slot_set(fd, (uintptr_t)ch);
	if (err)
		chan_free(ch);
	return err;
}

void shim_chan_dup(int oldfd, int newfd)
{
	struct shim_chan *ch = shim_chan_get(oldfd);

	if (!ch)
		return;
	if (slot_set(newfd, (uintptr_t)ch))
		shim_warn("out of memory: fd %d is not served", newfd);
	shim_chan_put(ch);
}

bool shim_chan_unslot(int fd, struct shim_chan *ch)
{
	struct shim_chan *dead;
	bool last;

	pthread_mutex_lock(&table_lock);
	if (slot_load(fd) != (uintptr_t)ch) {
		pthread_mutex_unlock(&table_lock);
		return false;
	}
	dead = slot_clear_locked(fd, &last);
	pthread_mutex_unlock(&table_lock);
	if (dead)
		chan_free(dead);
	return last;
}

void shim_chan_drop_stale(int fd)
{
	struct shim_chan *dead;

	pthread_mutex_lock(&table_lock);
	dead = slot_clear_locked(fd, NULL);
	pthread_mutex_unlock(&table_lock);
	if (dead)
		chan_free(dead);
}

/* ---- internal fds --------------------------------------------------------- */

/* Move an fd of ours out of the way of the low numbers programs assume. */
int shim_internal_fd(int fd)
{
	struct rlimit rl;
	int base = 512, high;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < 1024)
		base = (int)rl.rlim_cur / 2;
	high = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, base);
	if (high >= 0) {
		REAL(close)(fd);
		fd = high;
	}
	if (slot_set(fd, SLOT_INTERNAL)) {
		REAL(close)(fd);
		return -ENOMEM;
	}
	return fd;
}

void shim_internal_close(int fd)
{
	shim_chan_forget_internal(fd);
	REAL(close)(fd);
}

void shim_chan_forget_internal(int fd)
{
	_Atomic uintptr_t *s = slot_find(fd);
	uintptr_t v = SLOT_INTERNAL;

	if (s)
		atomic_compare_exchange_strong(s, &v, 0);
}

/* ---- reopen after fork/exec ------------------------------------------------ */

/* Every fd naming ch; table_lock held. */
static int chan_fds_locked(struct shim_chan *ch, int *fds, int max)
{
	int n = 0;

	for (unsigned int c = 0; c < NCHUNKS && n < max; c++) {
		_Atomic uintptr_t *chunk = atomic_load(&chunks[c]);

		if (!chunk)
			continue;
		for (unsigned int i = 0; i < CHUNK_SLOTS && n < max; i++)
			if (atomic_load(&chunk[i]) == (uintptr_t)ch)
				fds[n++] = (int)(c * CHUNK_SLOTS + i);
	}
	return n;
}

static void chan_take_kind(struct shim_chan *ch, const char *body, uint32_t len)
{
	char name[64];
	enum shim_kind k;

	if (!len || ch->kind != SHIM_K_UNKNOWN)
		return;
	snprintf(name, sizeof(name), "%.*s", (int)(len < 63 ? len : 63), body);
	k = shim_kind_from_name(name);
	if (k != SHIM_K_UNKNOWN)
		ch->kind = k;
}

/*
 * ch->lock is a futex word (0 free, 1 held, 2 held and maybe waited for):
 * one atomic operation each way when nobody waits, which is always but for
 * threads sharing a channel.  It is held across a request and its reply,
 * so waiters sleep in the kernel.
 */
SHIM_HOT void shim_chan_lock(struct shim_chan *ch)
{
	int v = CHAN_UNLOCKED;

	if (atomic_compare_exchange_strong(&ch->lock, &v, CHAN_LOCKED))
		return;
	if (v != CHAN_CONTENDED)
		v = atomic_exchange(&ch->lock, CHAN_CONTENDED);
	while (v != CHAN_UNLOCKED) {
		syscall(SYS_futex, &ch->lock, FUTEX_WAIT_PRIVATE, CHAN_CONTENDED, NULL, NULL, 0);
		v = atomic_exchange(&ch->lock, CHAN_CONTENDED);
	}
}

SHIM_HOT void shim_chan_unlock(struct shim_chan *ch)
{
	if (atomic_exchange(&ch->lock, CHAN_UNLOCKED) == CHAN_CONTENDED)
		syscall(SYS_futex, &ch->lock, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Make ch this process's own channel; ch->lock held. */
static int chan_reopen(struct shim_chan *ch, int fd)
{
	struct shim_msg m = { .op = UVP_REOPEN, .fds = &fd, .nfds = 1 };
	char kind[64];
	struct shim_reply r = { .niov = 1, .iov = { [1] = { kind, sizeof(kind) } } };
	int fds[64], n, err;

	err = shim_ctrl_call(&m, &r, true);
	if (err)
		return err;
	if (r.ret < 0 || r.nfds != 1) {
		shim_reply_close_fds(&r);
		/* The daemon does not know this socket: it is not a channel. */
		return -ENOTSOCK;
	}
	chan_take_kind(ch, kind, r.len);
	pthread_mutex_lock(&table_lock);
	n = chan_fds_locked(ch, fds, 64);
	for (int i = 0; i < n; i++) {
		int fl = REAL(fcntl)(fds[i], F_GETFD);

		if (REAL(dup3)(r.fds[0], fds[i], fl > 0 && (fl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0)
			shim_warn("reopen of fd %d failed: %s", fds[i], strerror(errno));
	}
	pthread_mutex_unlock(&table_lock);
	REAL(close)(r.fds[0]);
	ch->inherited = false;
	return 0;
}

SHIM_HOT int shim_chan_begin(struct shim_chan *ch, int fd)
{
	int saved = errno, err;

	shim_chan_lock(ch);
	if (slot_load(fd) != (uintptr_t)ch) {
		shim_chan_unlock(ch);
		return -EBADF;
	}
	if (ch->inherited) {
		err = chan_reopen(ch, fd);
		if (err) {
			shim_chan_unlock(ch);
			if (err == -ENOTSOCK)
				shim_chan_drop_stale(fd);
			errno = saved;
			return err;
		}
	}
	errno = saved;
	return 0;
}

SHIM_HOT void shim_chan_end(struct shim_chan *ch)
{
	shim_chan_unlock(ch);
}

/* A SEQPACKET socket whose peer is the daemon. */
static bool fd_is_daemon_socket(int fd, bool connect_first)
{
	struct ucred cred;
	socklen_t len = sizeof(int);
	int type;

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) || type != SOCK_SEQPACKET)
		return false;
	len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return false;
	if (connect_first && shim_connect())
		return false;
	return shim_daemon_pid() > 0 && cred.pid == shim_daemon_pid();
}

struct shim_chan *shim_chan_adopt(int fd)
{
	int saved = errno;
	struct shim_chan *ch = NULL;

	if (shim_enabled() && fd_is_daemon_socket(fd, true)) {
		struct shim_chan *fresh = chan_alloc(SHIM_K_UNKNOWN, NULL);

		if (fresh) {
			fresh->inherited = true;
			if (slot_set(fd, (uintptr_t)fresh))
				chan_free(fresh);
			else
				ch = shim_chan_get(fd);
		}
	}
	errno = saved;
	return ch;
}

/* After exec: channels the previous image left open (without CLOEXEC). */
void shim_chan_scan_inherited(void)
{
	char buf[4096];
	int dir, saved = errno;

	if (!shim_enabled())
		return;
	dir = REAL(open)("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return;
	for (;;) {
		long n = syscall(SYS_getdents64, dir, buf, sizeof(buf));

		if (n <= 0)
			break;
		for (long off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			struct stat st;
			int fd = atoi(d->d_name);

			off += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9' || fd == dir)
				continue;
			if (REAL(fstat)(fd, &st) || !S_ISSOCK(st.st_mode))
				continue;
			if (fd_is_daemon_socket(fd, true)) {
				struct shim_chan *ch = shim_chan_adopt(fd);

				if (ch)
					shim_chan_put(ch);
			}
		}
	}
	REAL(close)(dir);
	errno = saved;
}

/* In the child after fork: one thread, the parent's locks are garbage. */
void shim_chan_atfork_child(void)
{
	pthread_mutex_init(&table_lock, NULL);
	for (unsigned int c = 0; c < NCHUNKS; c++) {
		_Atomic uintptr_t *chunk = atomic_load(&chunks[c]);

		if (!chunk)
			continue;
		for (unsigned int i = 0; i < CHUNK_SLOTS; i++) {
			uintptr_t v = atomic_load(&chunk[i]);
			struct shim_chan *ch = (struct shim_chan *)v;

			if (!v || v == SLOT_INTERNAL)
				continue;
			/* A chan dup'd over several fds is visited more than once. */
			atomic_store(&ch->lock, CHAN_UNLOCKED);
			ch->inherited = true;
		}
	}
}
