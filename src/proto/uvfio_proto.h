/* SPDX-License-Identifier: MIT */
/*
 * The device-node protocol between libuvfio-preload.so (the shim, in the
 * client) and uvfiod.  All sockets are AF_UNIX SOCK_SEQPACKET: one message
 * is one request or one reply, and SEQPACKET is the cheapest round trip on
 * these machines (reference/performance.md).
 *
 * Two kinds of connection:
 *
 *  - The control connection, one per client process, made by connecting to
 *    <runtime>/uvfiod.sock.  It carries HELLO (the process registers its
 *    memory handle and limits), OPEN/STAT/ACCESS/READDIR of served /dev
 *    paths, REOPEN after fork and CLOSE_SYNC.
 *
 *  - A channel per open file.  OPEN answers with a new socketpair end, and
 *    that socket IS the client's fd for the device node: dup, fork, exec and
 *    close-on-exec work because it is a real fd, and possession of it is the
 *    capability (requests are sent on it, so a request names its file by the
 *    fd it travels on, never by a number).  The daemon holds the other end;
 *    when the last client reference is closed the daemon sees the hang-up
 *    and releases the core file.
 *
 * Every message the daemon receives carries SCM_CREDENTIALS (SO_PASSCRED on
 * every daemon socket): the sender's pid/uid/gid, checked by the kernel.
 *
 * Replies go back on the socket the request came on.  A channel is used by
 * one process only: the shim serialises its threads on a channel (a mutex
 * per channel), and a child after fork gets channels of its own (REOPEN),
 * so a reply can never reach another thread or process.
 *
 * Closing: close(2) on a channel is followed by CLOSE_SYNC on the control
 * connection naming the channel's inode; the daemon answers after it has
 * run the release if that close was the last reference, which makes
 * release synchronous with the last close, as in the kernel.
 *
 * Ioctl arguments: the shim sends the bytes of the argument struct inline
 * (the "stage": it knows each command's size rule) and the daemon's
 * copy_from_user/copy_to_user use them; updated bytes come back in the
 * reply.  Anything a handler reaches outside the stage (a bitmap pointer,
 * a name string) goes through the process's memory handle from HELLO.
 * File descriptors named inside an argument (SET_CONTAINER's container,
 * SET_IRQS eventfds, hot-reset group fds) travel as SCM_RIGHTS, with a map
 * from the client's fd numbers to their position.
 *
 * DMA memory: for MAP_DMA/IOAS_MAP the shim attaches, for each piece of the
 * range that is backed by a shareable file (memfd, shm, hugetlbfs, a
 * MAP_SHARED regular file), the file itself and the offset: the daemon maps
 * each backing file once, whole, and keeps IOVA -> (file, offset) in its
 * own tables, so 65535 mappings need no more than one mmap per file.  Other
 * memory is reached through the memory handle.
 *
 * All integers are host-endian (both ends run on the same machine).
 */
#ifndef UVFIO_PROTO_H
#define UVFIO_PROTO_H

#include <stdint.h>

#define UVP_VERSION		1
#define UVP_SOCKET_NAME		"uvfiod.sock"
#define UVP_MAX_FDS		64		/* SCM_RIGHTS per message */
#define UVP_MAX_BODY		(128 * 1024)	/* largest message body */
#define UVP_MAX_STAGE		(64 * 1024)	/* largest inline argument/data */
#define UVP_PATH_MAX		256

/*
 * Among the served prefixes of a HELLO reply: the host serves the per-task
 * fail-nth files.  A client opens them (OPEN) by this form, with numbers:
 * only it knows whose "self" or "thread-self" a path means.
 */
#define UVP_PREFIX_FAIL_NTH "/proc/<pid>/task/<tid>/fail-nth"

enum uvp_op {
	/* control connection */
	UVP_HELLO = 1,		/* body uvp_hello; fds [mem handle] */
	UVP_OPEN,		/* body uvp_path; reply fds [channel] */
	UVP_STAT,		/* body uvp_path; reply body uvp_stat */
	UVP_ACCESS,		/* body uvp_path (flags = mode R_OK...); reply ret */
	UVP_READDIR,		/* body uvp_path; reply body: NUL-separated names */
	UVP_REOPEN,		/* fds [channel]; reply fds [new channel, same file] */
	UVP_CLOSE_SYNC,		/* body uvp_close_sync; ret 1: released, 0: open elsewhere */
	UVP_MAP_HINT,		/* reserved */

	/* a channel */
	UVP_IOCTL = 32,		/* body uvp_ioctl + fdmap + stage; fds named ones */
	UVP_READ,		/* body uvp_rw; reply body: the bytes read */
	UVP_WRITE,		/* body uvp_rw + the bytes */
	UVP_MMAP,		/* body uvp_mmap; reply body uvp_mmap_reply, fds [memfd] */

	/* administration (the uvfio CLI), on a control connection; no HELLO needed */
	UVP_STATUS = 64,	/* reply body: text, "key value" lines (see below) */
	UVP_GROUPS,		/* reply body: text, one line per IOMMU group */
	UVP_VMS,		/* reply body: text, the KVM VMs and what they hold */
	UVP_AP_CONFIG,		/* body uvp_ap_config; ret 1 changed, 0 not; uid 0 only */
};

/*
 * UVP_AP_CONFIG: a change of the machine's AP configuration, as the SE/HMC
 * (or SCLP) makes it, followed by the host's AP bus scan (a CHSC
 * notification): when the reply comes, new cards and queues are probed and
 * gone ones removed.  Only a caller with uid 0 (SCM_CREDENTIALS) may, else
 * -EPERM.  ret: 1 the configuration changed, 0 it was already so; -EINVAL
 * an unknown op or an id above the machine's maxima; -ENODEV no adapter
 * installed with that id, or no AP facility on the host.
 */
enum uvp_ap_config_op {
	UVP_AP_ADAPTER_ADD = 1,		/* APID into the configuration (APM) */
	UVP_AP_ADAPTER_REMOVE,
	UVP_AP_DOMAIN_ADD,		/* usage domain (AQM) */
	UVP_AP_DOMAIN_REMOVE,
	UVP_AP_CDOM_ADD,		/* control domain (ADM) */
	UVP_AP_CDOM_REMOVE,
	UVP_AP_ADAPTER_ONLINE,		/* SCLP configure: standby -> online */
	UVP_AP_ADAPTER_STANDBY,		/* SCLP deconfigure */
	UVP_AP_ADAPTER_CHKSTOP,		/* the adapter checkstops */
	UVP_AP_ADAPTER_CHKSTOP_CLEAR,
};

struct uvp_ap_config {
	uint32_t op;		/* enum uvp_ap_config_op */
	uint32_t id;		/* APID or APQI */
};

/*
 * Files made by an ioctl (GROUP_GET_DEVICE_FD...): the daemon makes a
 * channel per new file and attaches its client end to the reply, in order.
 * Where the core returns the new fd number, the daemon cannot know the
 * number the client will get, so it returns UVP_NEWFD(i) for the i-th
 * attached channel; the shim installs the fd (close-on-exec, as the
 * kernel's anon-inode fds are) and returns its number instead.
 */
#define UVP_NEWFD_BASE		0x40000000
#define UVP_NEWFD(i)		(UVP_NEWFD_BASE + (i))

/*
 * REOPEN's reply body may carry the kind of the file, its uvf_file_ops
 * name ("vfio-container", "vfio-group", "vfio-device", "iommufd"...),
 * without a NUL: a shim that adopted a channel after exec, knowing nothing
 * of it, learns which ioctl numbers mean what (0x3B71 is MAP_DMA on a
 * container, PCI_HOT_RESET on a device).  An empty body is valid.
 */

/*
 * Malformed messages (short header, len not matching the bytes received,
 * a body that does not parse, fds not matching nfds or more than
 * UVP_MAX_FDS, an unknown op) are answered with ret -EINVAL and their fds
 * closed; the connection stays usable.
 *
 * UVP_STATUS lines: "pid N", "runtime DIR", "host NAME", "version V",
 * "devices N", "clients N", "files N", then one "client PID uid=U
 * files=N comm=NAME" per registered process and one "file PID PATH" per
 * open channel (PID: the process that opened it).
 * UVP_GROUPS lines: "group ID viable=0|1 owner=PID|- devices=BDF,BDF...".
 * UVP_VMS lines: per VM "vm ID pid=PID kvm-vfio=0|1 assigned=N noncoherent=N
 * wbinvd=0|1" (wbinvd: the guest's WBINVD is honoured, some registered file
 * has non-coherent DMA), then one line per file its KVM-VFIO device holds:
 * "file ID group NAME coherent|noncoherent" or "file ID device vfioN DEVNAME
 * coherent|noncoherent", then one "user ID device vfioN DEVNAME" per VFIO
 * device that took the VM when it was opened (or bound) and holds it.
 */

struct uvp_req {		/* every request starts with this */
	uint32_t op;		/* enum uvp_op */
	uint32_t len;		/* body bytes after this header */
	int32_t tid;		/* calling thread, for logs and tracing */
	uint32_t nfds;		/* SCM_RIGHTS fds attached */
};

struct uvp_reply {		/* every reply starts with this */
	int64_t ret;		/* >= 0 result, or -errno */
	uint32_t len;		/* body bytes after this header */
	uint32_t nfds;
};

struct uvp_hello {
	uint32_t version;	/* UVP_VERSION */
	uint32_t caps;		/* UVF_CAP_* the process holds (effective set) */
	uint64_t memlock;	/* RLIMIT_MEMLOCK soft limit, bytes; UINT64_MAX = unlimited */
};

struct uvp_path {
	int32_t flags;		/* open flags / access mode */
	uint32_t mode;
	char path[UVP_PATH_MAX];	/* NUL-terminated */
};

struct uvp_stat {
	uint32_t mode;		/* S_IFCHR | perms, or S_IFDIR | perms */
	uint32_t uid, gid;
	uint32_t major, minor;	/* st_rdev */
	uint64_t ino;
};

struct uvp_close_sync {
	uint64_t dev, ino;	/* fstat() of the client's end before close */
};

struct uvp_ioctl {
	uint32_t cmd;
	uint32_t nfdmap;	/* entries in fdmap[] following this struct */
	uint64_t arg;		/* the raw argument (user address or value) */
	uint64_t stage_uaddr;	/* user address the stage bytes mirror */
	uint32_t stage_len;	/* bytes of stage after fdmap[] */
	uint32_t ndma;		/* uvp_dma_piece entries after the stage */
	/* int32_t fdmap[nfdmap]: client fd number of the i-th attached fd */
	/* uint8_t stage[stage_len] */
	/* struct uvp_dma_piece dma[ndma] (MAP_DMA / IOAS_MAP only) */
};
/* Reply body for UVP_IOCTL: the stage bytes (stage_len) when the handler
 * wrote them, else empty; fds: a new file (GET_DEVICE_FD...) as a channel. */

/* A piece of a DMA range backed by a shareable file (attached fd 'fd_index'). */
struct uvp_dma_piece {
	uint64_t uaddr, len;	/* the piece of the user range */
	uint64_t file_off;	/* offset in the file of uaddr */
	uint32_t fd_index;	/* index among the attached fds */
	uint32_t writable;	/* the mapping is writable */
};

struct uvp_rw {
	uint64_t pos;
	uint64_t count;		/* <= UVP_MAX_STAGE */
};

struct uvp_mmap {
	uint64_t pos, len;
	int32_t prot, flags;	/* PROT_*, MAP_* as the client passed them */
};

struct uvp_mmap_reply {
	uint64_t file_off;	/* map the attached memfd at this offset */
};

#endif
