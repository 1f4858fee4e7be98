/* SPDX-License-Identifier: MIT */
/*
 * uvfiod: one host served to unmodified programs (src/proto/uvfio_proto.h,
 * docs/transport.md).  The objects, one file each:
 *
 *   daemon.c      options, the runtime dir, start-up, signals and shutdown
 *   control.c     the listening socket and the control connections
 *   request.c     receiving a request, replying, the caller context
 *   channel.c     a channel per open file: its thread and its requests
 *   dproc.c       process records (HELLO): memory handle, memlock, caps
 *   remote_mm.c   a client's address space as the core's uvf_mm
 *   filecache.c   backing files of DMA memory, each mapped once
 *   admin.c       status and group listings for the CLI
 *   fuse_sysfs.c  the host's sysfs tree at <runtime>/sys (libfuse3)
 *
 * Threads: one accepting control connections, one per control connection,
 * one per channel (each doing blocking recvmsg, the cheapest wake-up), and
 * libfuse's workers.  The main thread waits for SIGTERM/SIGINT.
 *
 * Lock order: channel.release_lock (held across a core release) ->
 * uvfiod.lock (lists of channels, connections and processes) ->
 * channel.lock (a leaf: the channel's file pointer).  No core call runs
 * under uvfiod.lock or channel.lock; filecache.lock is a leaf taken inside core calls (resolve)
 * and from memory-object release.
 */
#ifndef UVFIOD_H
#define UVFIOD_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "core/base/list.h"
#include "core/base/lock.h"
#include "core/base/refcount.h"
#include "core/mm/caller.h"
#include "client/uvp_client.h"

struct uvf_host;
struct uvf_file;
struct filecache;
struct fuse_sysfs;
struct dproc;

struct uvfiod_options {
	const char *config;		/* topology file, NULL: the built-in default */
	const char *runtime;		/* the runtime dir */
	bool foreground;
	bool no_sysfs;			/* do not mount <runtime>/sys (no FUSE here) */
	int ready_fd;			/* written "ok"/error text once serving, or -1 */
};

struct uvfiod {
	struct uvf_host *host;
	char runtime[PATH_MAX - 64];
	int listen_fd;
	pthread_t accept_thread;
	bool accepting;			/* accept_thread runs */
	struct filecache *files;
	struct fuse_sysfs *fuse;
	pid_t pid;
	bool owns_runtime;		/* no other daemon there: ours to clean */

	struct uvf_mutex lock;		/* everything below */
	struct list_head channels;	/* struct channel */
	struct list_head conns;		/* struct control_conn */
	struct list_head procs;		/* struct dproc, live ones */
	unsigned int threads;		/* running connection and channel threads */
	pthread_cond_t threads_done;	/* signalled when 'threads' drops to 0 */
	bool stopping;
};

/* The daemon's entry point: 0 after a clean stop, else 1 (error printed). */
int uvfiod_main(const struct uvfiod_options *opt);

/* Start a detached thread counted in d->threads; -errno. */
int uvfiod_thread_start(struct uvfiod *d, void *(*fn)(void *), void *arg);
/* The counted thread is done (call last, with no lock held). */
void uvfiod_thread_exit(struct uvfiod *d);

/* ---- requests (request.c) ---------------------------------------------- */

/* One received message. */
struct uvfiod_msg {
	struct uvp_req hdr;
	uint8_t *body;			/* hdr.len bytes */
	int fds[UVP_MAX_FDS];
	unsigned int nfds;
	struct uvp_creds creds;
};

/*
 * Receive one request on sock into buf (sizeof(uvp_req) + UVP_MAX_BODY
 * bytes).  1: a well-formed message in *m; 0: the peer hung up; -errno: a
 * malformed message (its fds closed) to answer with that error.
 */
int request_recv(int sock, uint8_t *buf, struct uvfiod_msg *m);
/* Reply: ret, body pieces, fds (not closed here).  Errors are ignored: a
 * peer that vanished is seen by its thread's next receive. */
void request_reply(int sock, long ret, const struct iovec *body, int nbody,
		   const int *fds, unsigned int nfds);
/*
 * The process record of a request's sender, referenced: its registered
 * record, else an anonymous one (dproc_anonymous).  *cache (may be NULL)
 * keeps the last registered record found on this connection.
 */
struct dproc *request_proc(struct uvfiod *d, const struct uvp_creds *cr,
			   struct dproc **cache);
/* The caller context of a request from its credentials and the sender's
 * record (no fd ops, no stage: the transport adds them). */
void request_caller(const struct uvfiod_msg *m, struct dproc *p, struct uvf_caller *c);

/* ---- control connections (control.c) ----------------------------------- */

int control_listen(struct uvfiod *d);		/* bind, listen, accept thread */
void control_stop(struct uvfiod *d);		/* stop accepting, hang up all */

/* ---- channels (channel.c) ---------------------------------------------- */

struct channel {
	struct list_head link;		/* in uvfiod.channels */
	struct uvf_ref ref;		/* the thread's, plus temporary lookups */
	struct uvfiod *d;
	int fd;				/* the daemon's end */
	dev_t peer_dev;			/* the client end: CLOSE_SYNC and fget */
	ino_t peer_ino;
	pid_t opener;			/* the process that opened the file */
	char path[96];			/* what was opened, for status */
	struct uvf_mutex release_lock;	/* serialises channel_release */
	struct uvf_mutex lock;		/* 'file', 'handoff_pending' */
	struct uvf_file *file;		/* the channel's reference; NULL once released */
	/*
	 * Until the daemon has sent the client end and closed its own copy,
	 * a hang-up cannot be seen: a client may close its end and ask
	 * CLOSE_SYNC before that.  Reaping waits for the handoff first.
	 */
	bool handoff_pending;
	pthread_cond_t handoff_done;
	uint8_t *buf;			/* request buffer */
	/* the request being served (channel thread only) */
	struct uvf_file *req_file;
	struct uvfiod_msg *req_msg;
	struct dproc *proc_cache;	/* the last sender's record (referenced) */
};

/*
 * A channel for f (takes over the caller's reference in every case).
 * Returns the client end (close-on-exec) to send and close, or -errno.
 */
int channel_new(struct uvfiod *d, struct uvf_file *f, pid_t opener, const char *path);
/* The client end of a new channel has been sent: close the daemon's copy
 * and let reaping see the client's hang-up from now on. */
void channel_handoff_done(struct uvfiod *d, int client_fd);
void channel_handoff_done_all(struct uvfiod *d, int *client_fds, unsigned int n);
/* The channel whose client end is (dev, ino), referenced, or NULL. */
struct channel *channel_find(struct uvfiod *d, dev_t dev, ino_t ino);
/* ... and for a client end received as an fd. */
struct channel *channel_find_fd(struct uvfiod *d, int fd);
void channel_put(struct channel *ch);
/* A referenced core file of the channel, or NULL once released. */
struct uvf_file *channel_file(struct channel *ch);
/* If the client end is hung up, make sure the release has run (here, or
 * wait for the thread doing it); true if hung up. */
bool channel_reap_if_hung_up(struct channel *ch);
/* Reap every hung-up channel; returns how many were hung up. */
unsigned int channel_reap_all(struct uvfiod *d);
/* Hang up every channel (shutdown): their threads release and exit. */
void channel_hangup_all(struct uvfiod *d);

/* ---- process records (dproc.c) ----------------------------------------- */

struct dproc {
	struct list_head link;		/* in uvfiod.procs while registered */
	struct uvf_ref ref;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	uint32_t caps;			/* UVF_CAP_*, never more than allowed */
	atomic_bool registered;		/* in the list (changed under uvfiod.lock) */
	struct uvf_mm *mm;		/* its memory (no DMA pieces) */
	char comm[16];
};

/* Register pid from a HELLO (replacing an older record of the same pid,
 * e.g. before exec); takes over mem_fd.  Returns the record referenced. */
int dproc_register(struct uvfiod *d, const struct uvp_creds *cr, const struct uvp_hello *h,
		   int mem_fd, struct dproc **out);
void dproc_unregister(struct uvfiod *d, struct dproc *p);
/* The live record of pid, referenced, or NULL. */
struct dproc *dproc_find(struct uvfiod *d, pid_t pid);
/* A record for a process that never said HELLO: no memory handle, caps
 * from its uid only, a memlock limit of 0 (CAP_IPC_LOCK aside). */
struct dproc *dproc_anonymous(struct uvfiod *d, const struct uvp_creds *cr);
void dproc_put(struct dproc *p);

/* ---- remote memory (remote_mm.c) --------------------------------------- */

/* A process's address space over its memory handle (mem_fd, taken over;
 * -1: none, every access faults); 'account' is referenced. */
struct uvf_mm *remote_mm_new(struct uvfiod *d, pid_t pid, int mem_fd,
			     struct uvf_account *account);
/* A mm for one request: the same memory and account, plus the DMA pieces
 * the request carries (pieces and fds must outlive the request). */
struct uvf_mm *remote_mm_with_pieces(struct uvf_mm *base, const struct uvp_dma_piece *pieces,
				     unsigned int npieces, const int *fds, unsigned int nfds);
/* The request is over: forget its pieces (the core may keep the mm). */
void remote_mm_drop_pieces(struct uvf_mm *mm);

/* ---- backing files (filecache.c) --------------------------------------- */

struct filecache *filecache_new(void);
/* Every object must have been released (host_free first). */
void filecache_free(struct filecache *fc);
/*
 * A DIRECT memory object over the whole file behind fd, mapped once and
 * shared by every DMA mapping of that file; it covers at least [0, need).
 * 'write': the mapping must be writable.  -EFAULT when the file cannot be
 * mapped so (too short, not mappable, opened read-only for a write).
 */
int filecache_get(struct filecache *fc, int fd, uint64_t need, bool write,
		  struct uvf_memobj **out);
/* Files mapped right now (status). */
unsigned int filecache_count(struct filecache *fc);

/* ---- administration (admin.c) ------------------------------------------ */

/* The UVP_STATUS / UVP_GROUPS text into buf; returns its length. */
size_t admin_status(struct uvfiod *d, char *buf, size_t size);
size_t admin_groups(struct uvfiod *d, char *buf, size_t size);

/* ---- sysfs over FUSE (fuse_sysfs.c) ------------------------------------ */

/* Mount the tree at 'mountpoint' and serve it on libfuse threads. */
int fuse_sysfs_start(struct uvfiod *d, const char *mountpoint, struct fuse_sysfs **out,
		     char *err, size_t errlen);
void fuse_sysfs_stop(struct fuse_sysfs *fs);

#endif
