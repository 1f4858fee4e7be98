// SPDX-License-Identifier: MIT
/*
 * uvfiod as a client sees it: a real daemon (the built uvfio binary) on a
 * temporary runtime dir, driven over the protocol.  Well-formed requests
 * do what the kernel's syscalls do; malformed ones (framing, structs,
 * pointers, fds, garbage) get an error, and neither the daemon nor any
 * other client notices; a client killed with -9 leaves nothing behind.
 * Each test has its own daemon, whose clean exit (status 0, and under
 * ASan no leak) is checked when the test stops it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/vfio.h>
#include "client/uvp_client.h"
#include "core/mm/caller.h"

#define UVP_CAP_IPC_LOCK_BIT UVF_CAP_IPC_LOCK

#define assert_errno(expr, want) do {                                        \
		long __r = (long)(expr);                                      \
		if (__r != (long)(want))                                      \
			fail_msg("%s = %ld (%s), want %ld (%s)", #expr, __r,  \
				 __r < 0 ? strerror((int)-__r) : "ok",        \
				 (long)(want),                                \
				 (want) < 0 ? strerror((int)-(want)) : "ok"); \
	} while (0)

/* ---- a daemon per test ---------------------------------------------------- */

struct tdaemon {
	char rt[64];
	pid_t pid;
};

static void tdaemon_rmdir(const char *rt)
{
	static const char *const names[] = { "etc/mdevctl.d", "etc", "sys", "topo.json" };
	char p[256];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", rt, names[i]);
		if (rmdir(p) && errno == ENOTDIR)
			unlink(p);
	}
	rmdir(rt);
}

/* The daemon of the running test, killed by the teardown if a failure
 * skipped its orderly stop (the test's own struct is gone by then). */
static pid_t running;
static char running_rt[64];

static int teardown_daemon(void **state)
{
	static const char *const files[] = { "ready", "uvfiod.pid", UVP_SOCKET_NAME };
	char p[128];

	if (running > 0 && waitpid(running, NULL, WNOHANG) == 0) {
		kill(running, SIGKILL);
		waitpid(running, NULL, 0);
		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			snprintf(p, sizeof(p), "%s/%s", running_rt, files[i]);
			unlink(p);
		}
		/* a killed daemon's FUSE mount stays behind, disconnected */
		snprintf(p, sizeof(p), "%s/sys", running_rt);
		umount2(p, MNT_DETACH);
		tdaemon_rmdir(running_rt);
	}
	running = 0;
	return 0;
}

/* Start `uvfio daemon` on a fresh runtime dir; 0 or -1 (message printed). */
static int tdaemon_start_args(struct tdaemon *d, bool sysfs, const char *config)
{
	char fdarg[16], msg[512] = "";
	int pfd[2];
	ssize_t n;

	snprintf(d->rt, sizeof(d->rt), "/tmp/uvfio-test-XXXXXX");
	if (!mkdtemp(d->rt) || chmod(d->rt, 0755) || pipe2(pfd, O_CLOEXEC))
		return -1;
	d->pid = fork();
	if (d->pid == 0) {
		const char *argv[12];
		int i = 0;

		fcntl(pfd[1], F_SETFD, 0);
		setsid();
		snprintf(fdarg, sizeof(fdarg), "%d", pfd[1]);
		argv[i++] = "uvfio";
		argv[i++] = "daemon";
		argv[i++] = "--foreground";
		argv[i++] = "--runtime";
		argv[i++] = d->rt;
		argv[i++] = "--ready-fd";
		argv[i++] = fdarg;
		if (!sysfs)
			argv[i++] = "--no-sysfs";
		if (config) {
			argv[i++] = "--config";
			argv[i++] = config;
		}
		argv[i] = NULL;
		execv(UVFIO_BIN, (char **)argv);
		_exit(127);
	}
	close(pfd[1]);
	n = read(pfd[0], msg, sizeof(msg) - 1);
	/* until EOF: the daemon has closed its end, and counts of its fds hold */
	while (n > 0 && read(pfd[0], fdarg, sizeof(fdarg)) > 0)
		;
	close(pfd[0]);
	running = d->pid;
	snprintf(running_rt, sizeof(running_rt), "%s", d->rt);
	if (n >= 2 && !strncmp(msg, "ok", 2))
		return 0;
	if (n > 0)
		msg[n] = '\0';
	print_message("daemon did not start: %s\n", msg);
	waitpid(d->pid, NULL, 0);
	d->pid = 0;
	tdaemon_rmdir(d->rt);
	return -1;
}

static void tdaemon_start(struct tdaemon *d)
{
	assert_int_equal(tdaemon_start_args(d, false, NULL), 0);
}

/* SIGTERM; the daemon must exit 0 and leave no socket, pid or ready file. */
static void tdaemon_stop(struct tdaemon *d)
{
	char p[256];
	int status = -1;

	if (d->pid <= 0)
		return;
	kill(d->pid, SIGTERM);
	assert_int_equal(waitpid(d->pid, &status, 0), d->pid);
	d->pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail_msg("daemon exit status %#x", status);
	snprintf(p, sizeof(p), "%s/%s", d->rt, UVP_SOCKET_NAME);
	assert_int_not_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/ready", d->rt);
	assert_int_not_equal(access(p, F_OK), 0);
	tdaemon_rmdir(d->rt);
}

/* Open fds of the daemon (its /proc/<pid>/fd). */
static int tdaemon_nfds(const struct tdaemon *d)
{
	char p[64];
	struct dirent *e;
	int n = 0;
	DIR *dir;

	snprintf(p, sizeof(p), "/proc/%d/fd", (int)d->pid);
	dir = opendir(p);
	if (!dir)
		return -1;
	while ((e = readdir(dir)))
		n += e->d_name[0] != '.';
	closedir(dir);
	return n;
}

/* The fd count once the daemon has finished with earlier requests on ctl
 * (a request's fds are closed after its reply). */
static int tdaemon_settled_nfds(const struct tdaemon *d, int ctl)
{
	char text[4096];

	assert_true(uvp_admin(ctl, UVP_STATUS, text, sizeof(text)) > 0);
	return tdaemon_nfds(d);
}

/* Wait (up to 2 s) for the daemon's fd count to come back to 'want'. */
static void tdaemon_expect_nfds(const struct tdaemon *d, int want)
{
	int n = -1;

	for (int i = 0; i < 200; i++) {
		n = tdaemon_nfds(d);
		if (n == want)
			return;
		usleep(10000);
	}
	fail_msg("daemon has %d fds open, want %d", n, want);
}

static bool tdaemon_alive(const struct tdaemon *d)
{
	return waitpid(d->pid, NULL, WNOHANG) == 0;
}

/* ---- protocol helpers ------------------------------------------------------ */

static int tconnect(const struct tdaemon *d, bool hello)
{
	int fd = uvp_connect(d->rt);

	assert_true(fd >= 0);
	if (hello)
		assert_int_equal(uvp_hello(fd, NULL, 0, NULL), d->pid);
	return fd;
}

/* Send raw bytes (and fds) and return the reply's ret. */
static long traw(int sock, const void *buf, size_t len, const int *fds, unsigned int nfds)
{
	struct iovec iov = { (void *)buf, len };
	struct uvp_reply rep;
	struct iovec riov = { &rep, sizeof(rep) };
	int rfds[UVP_MAX_FDS];
	unsigned int rn;
	char sink[256];
	struct iovec riov2[2] = { riov, { sink, sizeof(sink) } };
	ssize_t n;

	if (nfds <= UVP_MAX_FDS) {
		assert_true(uvp_send(sock, &iov, 1, fds, nfds) >= 0);
	} else {
		/* more than any sender of ours would attach */
		union {
			char buf[CMSG_SPACE(250 * sizeof(int))];
			struct cmsghdr align;
		} u;
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
				      .msg_controllen = CMSG_SPACE(nfds * sizeof(int)) };
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

		assert_true(nfds <= 250);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
		assert_true(sendmsg(sock, &msg, 0) >= 0);
	}
	n = uvp_recv(sock, riov2, 2, rfds, UVP_MAX_FDS, &rn, NULL);
	assert_true(n >= (ssize_t)sizeof(rep));
	uvp_close_fds(rfds, rn);
	return (long)rep.ret;
}

/* A request with a header saying whatever the test wants. */
static long treq(int sock, uint32_t op, uint32_t len_claim, const void *body, size_t blen,
		 const int *fds, unsigned int nfds, uint32_t nfds_claim)
{
	uint8_t buf[sizeof(struct uvp_req) + 4096];
	struct uvp_req *r = (struct uvp_req *)buf;

	assert_true(blen <= 4096);
	r->op = op;
	r->len = len_claim;
	r->tid = 0;
	r->nfds = nfds_claim;
	if (blen)
		memcpy(buf + sizeof(*r), body, blen);
	return traw(sock, buf, sizeof(*r) + blen, fds, nfds);
}

/* The lowest-numbered group node in /dev/vfio whose group is viable. */
static int tgroup_id(int ctl)
{
	char text[4096];
	unsigned int id;
	int viable;

	assert_true(uvp_admin(ctl, UVP_GROUPS, text, sizeof(text)) > 0);
	for (const char *l = text; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "")
		if (sscanf(l, "group %u viable=%d", &id, &viable) == 2 && viable)
			return (int)id;
	fail_msg("no viable group in: %s", text);
	return -1;
}

static int topen_group(int ctl, int id)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/vfio/%d", id);
	return uvp_open(ctl, path, O_RDWR);
}

static long tioctl(int ch, unsigned long cmd, void *arg, size_t size)
{
	return uvp_ioctl(ch, (uint32_t)cmd, (uint64_t)(uintptr_t)arg, arg, (uint32_t)size,
			 NULL, 0, NULL, 0, NULL);
}

/* Container + group, type1v2 set up; returns the container, *group. */
static int tcontainer(int ctl, int gid, int *group)
{
	int c = uvp_open(ctl, "/dev/vfio/vfio", O_RDWR);
	int32_t cfd = c;

	assert_true(c >= 0);
	*group = topen_group(ctl, gid);
	assert_true(*group >= 0);
	assert_errno(uvp_ioctl(*group, VFIO_GROUP_SET_CONTAINER, 0x1000, &cfd, sizeof(cfd),
			       &c, 1, NULL, 0, NULL), 0);
	assert_errno(uvp_ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU, NULL, 0, NULL, 0, NULL,
			       0, NULL), 0);
	return c;
}

static long tmap(int c, uint64_t vaddr, uint64_t iova, uint64_t size,
		 const struct uvp_dma_piece *dma, unsigned int ndma, const int *fds,
		 unsigned int nfds)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = vaddr, .iova = iova, .size = size,
	};

	return uvp_ioctl(c, VFIO_IOMMU_MAP_DMA, (uint64_t)(uintptr_t)&m, &m, sizeof(m),
			 fds, nfds, dma, ndma, NULL);
}

/* ---- start, stop, the runtime dir ---------------------------------------------- */

static void test_cli_no_host(void **state)
{
	char out[1024] = "";
	FILE *p = popen(UVFIO_BIN " status --runtime /nonexistent-uvfio 2>&1", "r");
	size_t n;
	int status;

	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	status = pclose(p);
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_non_null(strstr(out, "no host at /nonexistent-uvfio"));
	assert_non_null(strstr(out, "uvfio daemon"));
}

static void test_runtime_files(void **state)
{
	struct tdaemon d, d2;
	char p[256], line[32];
	FILE *f;

	tdaemon_start(&d);
	snprintf(p, sizeof(p), "%s/uvfiod.pid", d.rt);
	f = fopen(p, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_int_equal(atoi(line), d.pid);
	snprintf(p, sizeof(p), "%s/etc/mdevctl.d", d.rt);
	assert_int_equal(access(p, F_OK), 0);
	/* a second daemon on the same dir refuses and leaves the first alone */
	d2 = d;
	d2.pid = fork();
	if (d2.pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 2);
		execl(UVFIO_BIN, "uvfio", "daemon", "--foreground", "--no-sysfs", "--runtime",
		      d.rt, (char *)NULL);
		_exit(127);
	}
	{
		int status;

		assert_int_equal(waitpid(d2.pid, &status, 0), d2.pid);
		assert_int_equal(WEXITSTATUS(status), 1);
	}
	assert_true(tdaemon_alive(&d));
	close(tconnect(&d, true));
	tdaemon_stop(&d);
}

/* ---- the control connection ------------------------------------------------------- */

static bool prefixes_have(const char *buf, uint32_t len, const char *want)
{
	for (uint32_t at = 0; at < len; at += (uint32_t)strlen(buf + at) + 1)
		if (!strcmp(buf + at, want))
			return true;
	return false;
}

static void test_hello(void **state)
{
	struct tdaemon d;
	char buf[8192];
	uint32_t len = 0;
	int ctl;

	tdaemon_start(&d);
	ctl = tconnect(&d, false);
	assert_int_equal(uvp_hello(ctl, buf, sizeof(buf), &len), d.pid);
	assert_true(len > 0 && buf[len - 1] == '\0');
	assert_true(prefixes_have(buf, len, "/dev/vfio"));
	assert_true(prefixes_have(buf, len, "/sys/bus/pci"));
	assert_true(prefixes_have(buf, len, "/sys/kernel/iommu_groups"));
	assert_true(prefixes_have(buf, len, "/etc/mdevctl.d"));
	assert_false(prefixes_have(buf, len, "/sys/kernel"));
	close(ctl);
	tdaemon_stop(&d);
}

static long tpath_op(int ctl, uint32_t op, const char *path, int flags, void *out,
		     uint32_t outsize, uint32_t *outlen)
{
	struct uvp_path p = { .flags = flags };
	struct iovec body = { &p, sizeof(p) };
	struct uvp_call c = { .op = op, .body = &body, .nbody = 1, .rbody = out,
			      .rmax = outsize };
	long ret;

	snprintf(p.path, sizeof(p.path), "%s", path);
	ret = uvp_call(ctl, &c);
	if (outlen)
		*outlen = c.rlen;
	return ret;
}

static void test_dev_nodes(void **state)
{
	struct tdaemon d;
	struct uvp_stat st;
	char names[1024], gname[16];
	uint32_t len;
	int ctl, gid;

	tdaemon_start(&d);
	ctl = tconnect(&d, true);
	gid = tgroup_id(ctl);
	snprintf(gname, sizeof(gname), "%d", gid);
	assert_errno(tpath_op(ctl, UVP_STAT, "/dev/vfio/vfio", 0, &st, sizeof(st), &len), 0);
	assert_int_equal(len, sizeof(st));
	assert_true(S_ISCHR(st.mode));
	assert_int_equal(st.mode & 0777, 0666);
	assert_errno(tpath_op(ctl, UVP_STAT, "/dev/vfio", 0, &st, sizeof(st), &len), 0);
	assert_true(S_ISDIR(st.mode));
	assert_errno(tpath_op(ctl, UVP_STAT, "/dev/vfio/nope", 0, &st, sizeof(st), NULL),
		     -ENOENT);
	assert_errno(tpath_op(ctl, UVP_READDIR, "/dev/vfio", 0, names, sizeof(names), &len), 0);
	assert_true(prefixes_have(names, len, "vfio"));
	assert_true(prefixes_have(names, len, gname));
	assert_errno(tpath_op(ctl, UVP_READDIR, "/dev/vfio/vfio", 0, names, sizeof(names), NULL),
		     -ENOTDIR);
	assert_errno(tpath_op(ctl, UVP_ACCESS, "/dev/vfio/vfio", R_OK | W_OK, NULL, 0, NULL), 0);
	assert_errno(tpath_op(ctl, UVP_ACCESS, "/dev/vfio/vfio", X_OK, NULL, 0, NULL), -EACCES);
	assert_errno(tpath_op(ctl, UVP_ACCESS, "/dev/vfio/nope", F_OK, NULL, 0, NULL), -ENOENT);
	assert_errno(uvp_open(ctl, "/dev/vfio/nope", O_RDWR), -ENOENT);
	close(ctl);
	tdaemon_stop(&d);
}

/* Every malformed control message is answered -EINVAL; the line stays up. */
static void test_control_malformed(void **state)
{
	struct tdaemon d;
	uint8_t junk[300];
	struct uvp_hello h = { .version = UVP_VERSION };
	struct uvp_path p;
	int ctl, base, null;

	tdaemon_start(&d);
	ctl = tconnect(&d, false);
	base = tdaemon_settled_nfds(&d, ctl);
	null = open("/dev/null", O_RDONLY);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 37 + 11);
	memset(&p, 'x', sizeof(p));
	assert_errno(traw(ctl, junk, 8, NULL, 0), -EINVAL);			/* short */
	assert_errno(traw(ctl, junk, 1, NULL, 0), -EINVAL);
	assert_errno(traw(ctl, junk, 0, NULL, 0), -EINVAL);			/* empty */
	assert_errno(traw(ctl, junk, sizeof(junk), &null, 1), -EINVAL);	/* garbage */
	assert_errno(treq(ctl, 999, 0, NULL, 0, NULL, 0, 0), -EINVAL);		/* unknown op */
	assert_errno(treq(ctl, UVP_IOCTL, 0, NULL, 0, NULL, 0, 0), -EINVAL);	/* channel op */
	assert_errno(treq(ctl, UVP_HELLO, 100, &h, sizeof(h), &null, 1, 1), -EINVAL);
	assert_errno(treq(ctl, UVP_HELLO, sizeof(h), &h, sizeof(h), NULL, 0, 0), -EINVAL);
	assert_errno(treq(ctl, UVP_HELLO, sizeof(h), &h, sizeof(h), &null, 1, 0), -EINVAL);
	h.version = 99;
	assert_errno(treq(ctl, UVP_HELLO, sizeof(h), &h, sizeof(h), &null, 1, 1),
		     -EPROTONOSUPPORT);
	assert_errno(treq(ctl, UVP_OPEN, sizeof(p), &p, sizeof(p), NULL, 0, 0), -EINVAL);
	assert_errno(treq(ctl, UVP_OPEN, 2, &p, 2, NULL, 0, 0), -EINVAL);
	assert_errno(treq(ctl, UVP_REOPEN, 0, NULL, 0, NULL, 0, 0), -EINVAL);
	assert_errno(treq(ctl, UVP_REOPEN, 0, NULL, 0, &null, 1, 1), -EBADF);
	assert_errno(treq(ctl, UVP_CLOSE_SYNC, 3, junk, 3, NULL, 0, 0), -EINVAL);
	assert_errno(treq(ctl, UVP_STATUS, 4, junk, 4, NULL, 0, 0), -EINVAL);
	/* larger than any message: cut, answered, nothing kept */
	{
		size_t big = sizeof(struct uvp_req) + UVP_MAX_BODY + 4096;
		uint8_t *b = calloc(1, big);

		assert_errno(traw(ctl, b, big, &null, 1), -EINVAL);
		free(b);
	}
	close(null);
	tdaemon_expect_nfds(&d, base);
	assert_int_equal(uvp_hello(ctl, NULL, 0, NULL), d.pid);
	close(ctl);
	tdaemon_stop(&d);
}

static void test_too_many_fds(void **state)
{
	struct tdaemon d;
	int fds[200], ctl, base;
	uint8_t msg[sizeof(struct uvp_req)] = { 0 };
	struct uvp_req *r = (struct uvp_req *)msg;

	tdaemon_start(&d);
	ctl = tconnect(&d, true);
	base = tdaemon_settled_nfds(&d, ctl);
	for (int i = 0; i < 200; i++)
		fds[i] = open("/dev/null", O_RDONLY);
	r->op = UVP_STATUS;
	r->nfds = 200;
	/* the kernel takes at most 253 per message; the daemon keeps none */
	assert_errno(traw(ctl, msg, sizeof(msg), fds, 200), -EINVAL);
	r->nfds = UVP_MAX_FDS + 1;
	assert_errno(traw(ctl, msg, sizeof(msg), fds, UVP_MAX_FDS + 1), -EINVAL);
	r->nfds = 2;
	assert_errno(traw(ctl, msg, sizeof(msg), fds, 3), -EINVAL);
	uvp_close_fds(fds, 200);
	tdaemon_expect_nfds(&d, base);
	close(ctl);
	tdaemon_stop(&d);
}

/* ---- channels -------------------------------------------------------------------------- */

static void test_channel_malformed(void **state)
{
	struct tdaemon d;
	int ctl, c, base, null;
	uint8_t body[256] = { 0 };
	struct uvp_ioctl *io = (struct uvp_ioctl *)body;
	struct vfio_group_status gs = { .argsz = 4 };
	char buf[64];
	int grp, gid;

	tdaemon_start(&d);
	ctl = tconnect(&d, true);
	gid = tgroup_id(ctl);
	c = uvp_open(ctl, "/dev/vfio/vfio", O_RDWR);
	assert_true(c >= 0);
	base = tdaemon_settled_nfds(&d, ctl);
	null = open("/dev/null", O_RDONLY);
	assert_errno(tioctl(c, VFIO_GET_API_VERSION, NULL, 0), VFIO_API_VERSION);
	/* framing */
	assert_errno(traw(c, body, 5, NULL, 0), -EINVAL);
	assert_errno(treq(c, UVP_IOCTL, 8, body, 8, NULL, 0, 0), -EINVAL);
	io->cmd = VFIO_GET_API_VERSION;
	io->nfdmap = 1;
	assert_errno(treq(c, UVP_IOCTL, sizeof(*io), body, sizeof(*io), NULL, 0, 0), -EINVAL);
	io->nfdmap = 0;
	io->stage_len = 100;
	assert_errno(treq(c, UVP_IOCTL, sizeof(*io), body, sizeof(*io), NULL, 0, 0), -EINVAL);
	io->stage_len = UVP_MAX_STAGE + 1;
	assert_errno(treq(c, UVP_IOCTL, sizeof(*io), body, sizeof(*io), NULL, 0, 0), -EINVAL);
	io->stage_len = 0;
	io->ndma = 1;
	assert_errno(treq(c, UVP_IOCTL, sizeof(*io), body, sizeof(*io), NULL, 0, 0), -EINVAL);
	/* a DMA piece naming an fd that is not there */
	assert_errno(treq(c, UVP_IOCTL, sizeof(*io) + sizeof(struct uvp_dma_piece), body,
			  sizeof(*io) + sizeof(struct uvp_dma_piece), NULL, 0, 0), -EINVAL);
	io->ndma = 0;
	assert_errno(treq(c, UVP_HELLO, 0, NULL, 0, NULL, 0, 0), -EINVAL);
	assert_errno(treq(c, UVP_READ, 3, body, 3, NULL, 0, 0), -EINVAL);
	assert_errno(treq(c, UVP_MMAP, 3, body, 3, NULL, 0, 0), -EINVAL);
	assert_errno(treq(c, 12345, 0, NULL, 0, &null, 1, 1), -EINVAL);
	/* structs: unknown ioctls (a container without an IOMMU says EINVAL, as
	 * the kernel's), bad pointers, wrong argsz */
	assert_errno(tioctl(c, 0x3bff, NULL, 0), -EINVAL);
	grp = topen_group(ctl, gid);
	assert_true(grp >= 0);
	assert_errno(tioctl(grp, 0x3bff, NULL, 0), -ENOTTY);
	assert_errno(tioctl(grp, 0x12345678, NULL, 0), -ENOTTY);
	assert_errno(tioctl(grp, VFIO_GROUP_GET_STATUS, &gs, sizeof(gs)), -EINVAL);
	/* not staged, and not mapped in this process: the daemon's access faults */
	assert_errno(uvp_ioctl(grp, VFIO_GROUP_GET_STATUS, 16, NULL, 0, NULL, 0, NULL, 0, NULL),
		     -EFAULT);
	/* staged too short for the struct: the rest is read from our memory */
	gs.argsz = sizeof(gs);
	assert_errno(uvp_ioctl(grp, VFIO_GROUP_GET_STATUS, (uint64_t)(uintptr_t)&gs, &gs, 4,
			       NULL, 0, NULL, 0, NULL), 0);
	assert_true(gs.flags & VFIO_GROUP_FLAGS_VIABLE);
	/* container fd named in an argument but not attached */
	{
		int32_t cfd = c;

		assert_errno(uvp_ioctl(grp, VFIO_GROUP_SET_CONTAINER, 0x1000, &cfd, sizeof(cfd),
				       NULL, 0, NULL, 0, NULL), -EBADF);
		/* attached, but not a channel of this daemon: a file of the wrong kind */
		cfd = null;
		assert_errno(uvp_ioctl(grp, VFIO_GROUP_SET_CONTAINER, 0x1000, &cfd, sizeof(cfd),
				       &null, 1, NULL, 0, NULL), -EBADFD);
	}
	/* a container has no read, write or mmap */
	{
		struct uvp_rw rw = { .pos = 0, .count = sizeof(buf) };
		struct uvp_mmap mm = { .pos = 0, .len = 4096, .prot = PROT_READ,
				       .flags = MAP_SHARED };

		assert_errno(treq(c, UVP_READ, sizeof(rw), &rw, sizeof(rw), NULL, 0, 0), -EINVAL);
		assert_errno(treq(c, UVP_MMAP, sizeof(mm), &mm, sizeof(mm), NULL, 0, 0), -ENODEV);
		rw.count = UVP_MAX_STAGE + 1;
		assert_errno(treq(c, UVP_READ, sizeof(rw), &rw, sizeof(rw), NULL, 0, 0), -EINVAL);
	}
	close(null);
	close(grp);
	tdaemon_expect_nfds(&d, base);
	assert_errno(tioctl(c, VFIO_CHECK_EXTENSION, NULL, 0), 0);
	assert_errno(uvp_ioctl(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU, NULL, 0, NULL, 0,
			       NULL, 0, NULL), 1);
	close(c);
	close(ctl);
	tdaemon_stop(&d);
}

/*
 * Another process doing good requests until told to stop (its stdin
 * closes); it exits with the number of requests that did not succeed.
 */
static pid_t good_client_start(const struct tdaemon *d, int *stop_fd)
{
	int pfd[2], rfd[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(pipe(rfd), 0);
	pid = fork();
	if (pid == 0) {
		int ctl = uvp_connect(d->rt), ch, bad = 0;
		long done = 0;

		close(pfd[1]);
		close(rfd[0]);
		fcntl(pfd[0], F_SETFL, O_NONBLOCK);
		if (uvp_hello(ctl, NULL, 0, NULL) != d->pid)
			_exit(100);
		ch = uvp_open(ctl, "/dev/vfio/vfio", O_RDWR);
		if (ch < 0 || write(rfd[1], "r", 1) != 1)
			_exit(101);
		while (read(pfd[0], &c, 1) < 0 || done < 200) {
			bad += uvp_ioctl(ch, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU, NULL, 0, NULL,
					 0, NULL, 0, NULL) != 1;
			done++;
		}
		_exit(bad > 99 ? 99 : bad);
	}
	close(pfd[0]);
	close(rfd[1]);
	assert_int_equal(read(rfd[0], &c, 1), 1);
	close(rfd[0]);
	*stop_fd = pfd[1];
	return pid;
}

/* Garbage from one client while another works: the other never notices. */
static void test_good_client_unaffected(void **state)
{
	struct tdaemon d;
	uint32_t seed = 12345;
	uint8_t junk[1024];
	int ctl, c, base, stop, status;
	pid_t good;

	tdaemon_start(&d);
	ctl = tconnect(&d, true);
	c = uvp_open(ctl, "/dev/vfio/vfio", O_RDWR);
	assert_true(c >= 0);
	base = tdaemon_settled_nfds(&d, ctl);
	good = good_client_start(&d, &stop);
	for (int i = 0; i < 2000; i++) {
		size_t len;

		for (size_t j = 0; j < sizeof(junk); j++) {
			seed = seed * 1103515245 + 12345;
			junk[j] = (uint8_t)(seed >> 16);
		}
		len = (seed >> 8) % sizeof(junk);
		/* keep the op plausible half the time, so bodies get parsed */
		if (i & 1 && len >= sizeof(struct uvp_req)) {
			struct uvp_req *r = (struct uvp_req *)junk;

			r->op = UVP_IOCTL + (seed % 4);
			r->len = (uint32_t)(len - sizeof(*r));
			r->nfds = 0;
		}
		traw(i % 3 ? c : ctl, junk, len, NULL, 0);
	}
	/* a client that floods a channel and never reads its replies */
	{
		int flood = uvp_open(ctl, "/dev/vfio/vfio", O_RDWR);
		struct uvp_ioctl io = { .cmd = VFIO_GET_API_VERSION };
		uint8_t msg[sizeof(struct uvp_req) + sizeof(io)];
		struct uvp_req *r = (struct uvp_req *)msg;

		assert_true(flood >= 0);
		r->op = UVP_IOCTL;
		r->len = sizeof(io);
		r->tid = 0;
		r->nfds = 0;
		memcpy(msg + sizeof(*r), &io, sizeof(io));
		for (int i = 0; i < 5000; i++)
			send(flood, msg, sizeof(msg), MSG_DONTWAIT);
		close(flood);
	}
	close(stop);
	assert_int_equal(waitpid(good, &status, 0), good);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(tdaemon_alive(&d));
	assert_errno(tioctl(c, VFIO_GET_API_VERSION, NULL, 0), VFIO_API_VERSION);
	tdaemon_expect_nfds(&d, base);
	close(c);
	close(ctl);
	tdaemon_stop(&d);
}

/* ---- release: last close, CLOSE_SYNC, kill -9 ------------------------------------------ */

static long tclose_sync(int ctl, int fd)
{
	struct stat st;
	struct uvp_close_sync cs;
	struct iovec body = { &cs, sizeof(cs) };
	struct uvp_call c = { .op = UVP_CLOSE_SYNC, .body = &body, .nbody = 1 };

	assert_int_equal(fstat(fd, &st), 0);
	cs.dev = st.st_dev;
	cs.ino = st.st_ino;
	close(fd);
	return uvp_call(ctl, &c);
}

static void test_close_sync(void **state)
{
	struct tdaemon d;
	int ctl, g, g2, gid;

	tdaemon_start(&d);
	ctl = tconnect(&d, true);
	gid = tgroup_id(ctl);
	g = topen_group(ctl, gid);
	assert_true(g >= 0);
	assert_errno(topen_group(ctl, gid), -EBUSY);
	/* a dup keeps the file open */
	g2 = dup(g);
	assert_errno(tclose_sync(ctl, g), 0);
	assert_errno(topen_group(ctl, gid), -EBUSY);
	/* the last close releases before CLOSE_SYNC answers */
	assert_errno(tclose_sync(ctl, g2), 1);
	g = topen_group(ctl, gid);
	assert_true(g >= 0);
	close(g);
	close(ctl);
	tdaemon_stop(&d);
}

static void test_reopen(void **state)
{
	struct tdaemon d;
	int ctl, c, c2 = -1, rfd = -1;
	struct uvp_call call = { .op = UVP_REOPEN, .rfds = &rfd, .rmaxfds = 1 };

	tdaemon_start(&d);
	ctl = tconnect(&d, true);
	c = uvp_open(ctl, "/dev/vfio/vfio", O_RDWR);
	assert_true(c >= 0);
	call.fds = &c;
	call.nfds = 1;
	assert_errno(uvp_call(ctl, &call), 0);
	assert_int_equal(call.rnfds, 1);
	c2 = rfd;
	/* the same file: closing the old channel keeps it */
	close(c);
	assert_errno(tioctl(c2, VFIO_GET_API_VERSION, NULL, 0), VFIO_API_VERSION);
	close(c2);
	close(ctl);
	tdaemon_stop(&d);
}

static void test_kill9_releases_group(void **state)
{
	struct tdaemon d;
	int ctl, gid, pfd[2], g, c;
	char ok;
	pid_t child;

	tdaemon_start(&d);
	ctl = tconnect(&d, true);
	gid = tgroup_id(ctl);
	assert_int_equal(pipe(pfd), 0);
	child = fork();
	if (child == 0) {
		int cctl = uvp_connect(d.rt), cg, cc;
		static uint8_t buf[1 << 20];
		int32_t cfd;
		struct vfio_iommu_type1_dma_map m = {
			.argsz = sizeof(m),
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = ((uintptr_t)buf + 4095) & ~4095ul, .iova = 1 << 20,
			.size = 512 << 10,
		};

		uvp_hello(cctl, NULL, 0, NULL);
		cc = uvp_open(cctl, "/dev/vfio/vfio", O_RDWR);
		cg = topen_group(cctl, gid);
		cfd = cc;
		if (uvp_ioctl(cg, VFIO_GROUP_SET_CONTAINER, 0x1000, &cfd, 4, &cc, 1, NULL, 0,
			      NULL) ||
		    uvp_ioctl(cc, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU, NULL, 0, NULL, 0, NULL, 0,
			      NULL) ||
		    uvp_ioctl(cc, VFIO_IOMMU_MAP_DMA, (uintptr_t)&m, &m, sizeof(m), NULL, 0, NULL,
			      0, NULL))
			_exit(1);
		if (write(pfd[1], "k", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], &ok, 1), 1);
	close(pfd[0]);
	assert_errno(topen_group(ctl, gid), -EBUSY);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	/* at once: the opener never sees a spurious EBUSY */
	g = topen_group(ctl, gid);
	assert_true(g >= 0);
	c = uvp_open(ctl, "/dev/vfio/vfio", O_RDWR);
	{
		int32_t cfd = c;

		assert_errno(uvp_ioctl(g, VFIO_GROUP_SET_CONTAINER, 0x1000, &cfd, 4, &c, 1, NULL,
				       0, NULL), 0);
	}
	close(g);
	close(c);
	close(ctl);
	tdaemon_stop(&d);
}

/* ---- files made by ioctls, DMA memory ----------------------------------------------------- */

/* The first device of a group, by its sysfs-style name from UVP_GROUPS. */
static void tgroup_device(int ctl, int gid, char *name, size_t size)
{
	char text[4096], *p;
	char want[32];

	snprintf(want, sizeof(want), "group %d ", gid);
	assert_true(uvp_admin(ctl, UVP_GROUPS, text, sizeof(text)) > 0);
	p = strstr(text, want);
	assert_non_null(p);
	p = strstr(p, "devices=");
	assert_non_null(p);
	p += strlen("devices=");
	snprintf(name, size, "%.*s", (int)strcspn(p, ",\n"), p);
}

static void test_device_fd(void **state)
{
	struct tdaemon d;
	struct vfio_device_info info = { .argsz = sizeof(info) };
	char name[64];
	int ctl, c, g, gid, dev, newfd;

	tdaemon_start(&d);
	ctl = tconnect(&d, true);
	gid = tgroup_id(ctl);
	c = tcontainer(ctl, gid, &g);
	tgroup_device(ctl, gid, name, sizeof(name));
	dev = (int)uvp_ioctl(g, VFIO_GROUP_GET_DEVICE_FD, (uintptr_t)name, name,
			     (uint32_t)strlen(name) + 1, NULL, 0, NULL, 0, &newfd);
	assert_true(dev >= 0);
	assert_int_equal(dev, newfd);
	assert_errno(tioctl(dev, VFIO_DEVICE_GET_INFO, &info, sizeof(info)), 0);
	assert_true(info.flags & VFIO_DEVICE_FLAGS_PCI);
	assert_true(info.num_regions >= VFIO_PCI_NUM_REGIONS);
	{
		char nope[] = "nope";

		assert_errno(uvp_ioctl(g, VFIO_GROUP_GET_DEVICE_FD, (uintptr_t)nope, nope, 5, NULL,
				       0, NULL, 0, NULL), -ENODEV);
	}
	/* config space through READ */
	{
		struct vfio_region_info ri = { .argsz = sizeof(ri),
					       .index = VFIO_PCI_CONFIG_REGION_INDEX };
		struct uvp_rw rw;
		uint8_t cfg[64];
		struct iovec body = { &rw, sizeof(rw) };
		struct uvp_call call = { .op = UVP_READ, .body = &body, .nbody = 1,
					 .rbody = cfg, .rmax = sizeof(cfg) };

		assert_errno(tioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &ri, sizeof(ri)), 0);
		rw.pos = ri.offset;
		rw.count = 4;
		assert_errno(uvp_call(dev, &call), 4);
		assert_int_equal(call.rlen, 4);
		assert_int_not_equal(cfg[0] | cfg[1] << 8, 0xffff);
	}
	close(dev);
	close(g);
	close(c);
	close(ctl);
	tdaemon_stop(&d);
}

static void test_dma_memory(void **state)
{
	struct tdaemon d;
	char text[4096];
	int ctl, c, g, gid, mfd;
	size_t sz = 1 << 20;
	uint8_t *anon, *shared;
	struct uvp_dma_piece piece;

	tdaemon_start(&d);
	ctl = tconnect(&d, true);
	gid = tgroup_id(ctl);
	c = tcontainer(ctl, gid, &g);
	/* private memory: through the process's memory handle */
	anon = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(anon != MAP_FAILED);
	assert_errno(tmap(c, (uintptr_t)anon, 0x100000, sz, NULL, 0, NULL, 0), 0);
	/* a hole: EFAULT, as get_user_pages says */
	munmap(anon + 4096, 4096);
	assert_errno(tmap(c, (uintptr_t)anon, 0x400000, sz, NULL, 0, NULL, 0), -EFAULT);
	/* read-only memory cannot be mapped for device writes */
	mprotect(anon + 8192, 4096, PROT_READ);
	assert_errno(tmap(c, (uintptr_t)anon + 8192, 0x400000, 4096, NULL, 0, NULL, 0), -EFAULT);
	/* a shareable file: passed as the file, mapped once */
	mfd = memfd_create("dma", MFD_CLOEXEC);
	assert_int_equal(ftruncate(mfd, (off_t)sz), 0);
	shared = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	assert_true(shared != MAP_FAILED);
	piece = (struct uvp_dma_piece){ .uaddr = (uintptr_t)shared, .len = sz, .file_off = 0,
					.fd_index = 0, .writable = 1 };
	assert_errno(tmap(c, (uintptr_t)shared, 0x800000, sz / 2, &piece, 1, &mfd, 1), 0);
	assert_errno(tmap(c, (uintptr_t)shared + sz / 2, 0x900000, sz / 2, &piece, 1, &mfd, 1),
		     0);
	assert_true(uvp_admin(ctl, UVP_STATUS, text, sizeof(text)) > 0);
	assert_non_null(strstr(text, "mapped_files 1\n"));
	/* a piece past the end of its file faults */
	piece.file_off = sz - 4096;
	assert_errno(tmap(c, (uintptr_t)shared, 0xa00000, 8192, &piece, 1, &mfd, 1), -EFAULT);
	/* a read-only piece cannot back a writable mapping */
	piece.file_off = 0;
	piece.writable = 0;
	assert_errno(tmap(c, (uintptr_t)shared, 0xa00000, 8192, &piece, 1, &mfd, 1), -EFAULT);
	munmap(shared, sz);
	close(mfd);
	/* the pins go with the container: the files are unmapped */
	assert_errno(tclose_sync(ctl, g), 1);
	assert_errno(tclose_sync(ctl, c), 1);
	assert_true(uvp_admin(ctl, UVP_STATUS, text, sizeof(text)) > 0);
	assert_non_null(strstr(text, "mapped_files 0\n"));
	munmap(anon, sz);
	close(ctl);
	tdaemon_stop(&d);
}

/* dma_entry_limit mappings of one file cost one mapping in the daemon. */
static void test_dma_65535_mappings(void **state)
{
	struct tdaemon d;
	int ctl, c, g, gid, mfd;
	size_t pages = 65535, sz = (pages + 1) * 4096;
	uint8_t *shared;
	struct uvp_dma_piece piece;
	char p[64], line[512];
	int nmaps = 0;
	FILE *f;

	tdaemon_start(&d);
	ctl = tconnect(&d, true);
	gid = tgroup_id(ctl);
	c = tcontainer(ctl, gid, &g);
	mfd = memfd_create("dma", MFD_CLOEXEC);
	assert_int_equal(ftruncate(mfd, (off_t)sz), 0);
	shared = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	assert_true(shared != MAP_FAILED);
	piece = (struct uvp_dma_piece){ .uaddr = (uintptr_t)shared, .len = sz, .fd_index = 0,
					.writable = 1 };
	for (size_t i = 0; i < pages; i++) {
		long r = tmap(c, (uintptr_t)shared + i * 4096, 0x100000 + i * 8192, 4096, &piece,
			      1, &mfd, 1);

		if (r)
			fail_msg("mapping %zu: %ld", i, r);
	}
	assert_errno(tmap(c, (uintptr_t)shared + pages * 4096, 0x100000 + pages * 8192, 4096,
			  &piece, 1, &mfd, 1), -ENOSPC);
	snprintf(p, sizeof(p), "/proc/%d/maps", (int)d.pid);
	f = fopen(p, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		nmaps++;
	fclose(f);
	assert_true(nmaps < 2000);
	munmap(shared, sz);
	close(mfd);
	close(g);
	close(c);
	close(ctl);
	tdaemon_stop(&d);
}

/* ---- credentials and capabilities -------------------------------------------------------- */

/* HELLO with whatever the test claims. */
static long thello_claim(int ctl, uint32_t caps, uint64_t memlock)
{
	struct uvp_hello h = { .version = UVP_VERSION, .caps = caps, .memlock = memlock };
	struct iovec body = { &h, sizeof(h) };
	char prefixes[8192];
	int mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	struct uvp_call c = { .op = UVP_HELLO, .body = &body, .nbody = 1, .fds = &mem,
			      .nfds = 1, .rbody = prefixes, .rmax = sizeof(prefixes) };
	long ret;

	if (mem < 0)
		return -errno;
	ret = uvp_call(ctl, &c);
	close(mem);
	return ret;
}

/* Map 1 MiB of private memory on a fresh container of group gid. */
static long tmap_1m(int ctl, int gid)
{
	static uint8_t buf[(1 << 20) + 4096];
	int g, c = uvp_open(ctl, "/dev/vfio/vfio", O_RDWR);
	int32_t cfd = c;
	long r;

	g = topen_group(ctl, gid);
	if (c < 0 || g < 0)
		return c < 0 ? c : g;
	r = uvp_ioctl(g, VFIO_GROUP_SET_CONTAINER, 0x1000, &cfd, 4, &c, 1, NULL, 0, NULL);
	if (!r)
		r = uvp_ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU, NULL, 0, NULL, 0, NULL, 0,
			      NULL);
	if (!r)
		r = tmap(c, ((uintptr_t)buf + 4095) & ~4095ul, 1 << 20, 1 << 20, NULL, 0, NULL, 0);
	tclose_sync(ctl, g);
	tclose_sync(ctl, c);
	return r;
}

/*
 * The caps a client claims never exceed what its credentials hold: an
 * unprivileged process claiming CAP_IPC_LOCK is still held to its
 * RLIMIT_MEMLOCK, root is held to it when it claims no caps, and root
 * claiming CAP_IPC_LOCK is not.
 */
static void test_caps_from_credentials(void **state)
{
	static const char topo[] =
		"{ \"name\": \"caps\", \"pci\": [ { \"bdf\": \"0000:00:03.0\", "
		"\"model\": \"uvfio-test\", \"iommu_group\": 3 } ], "
		"\"devnodes\": [ { \"path\": \"/dev/vfio/3\", \"mode\": \"0666\" } ] }";
	char cfg[64];
	struct tdaemon d;
	int ctl, fd, status;
	pid_t child;

	snprintf(cfg, sizeof(cfg), "/tmp/uvfio-test-topo-%d.json", (int)getpid());
	fd = open(cfg, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, topo, sizeof(topo) - 1), (ssize_t)sizeof(topo) - 1);
	close(fd);
	assert_int_equal(tdaemon_start_args(&d, false, cfg), 0);
	unlink(cfg);
	child = fork();
	if (child == 0) {
		struct rlimit rl = { 64 << 10, 64 << 10 };
		int cctl;

		if (setrlimit(RLIMIT_MEMLOCK, &rl) || setgid(65534) || setuid(65534) ||
		    prctl(PR_SET_DUMPABLE, 1))
			_exit(10);
		cctl = uvp_connect(d.rt);
		if (cctl < 0 || thello_claim(cctl, ~0u, 64 << 10) != d.pid)
			_exit(11);
		_exit(tmap_1m(cctl, 3) == -ENOMEM ? 0 : 12);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	ctl = tconnect(&d, false);
	assert_int_equal(thello_claim(ctl, 0, 64 << 10), d.pid);
	assert_errno(tmap_1m(ctl, 3), -ENOMEM);
	assert_int_equal(thello_claim(ctl, UVP_CAP_IPC_LOCK_BIT, 64 << 10), d.pid);
	assert_errno(tmap_1m(ctl, 3), 0);
	close(ctl);
	tdaemon_stop(&d);
}

/* SIGTERM with clients holding groups, containers and DMA mappings: the
 * daemon releases everything and exits cleanly. */
static void test_stop_with_clients(void **state)
{
	struct tdaemon d;
	int ctl, c, g, gid, mfd, dev;
	size_t sz = 1 << 20;
	void *shared;
	struct uvp_dma_piece piece;
	char name[64];

	tdaemon_start(&d);
	ctl = tconnect(&d, true);
	gid = tgroup_id(ctl);
	c = tcontainer(ctl, gid, &g);
	mfd = memfd_create("dma", MFD_CLOEXEC);
	assert_int_equal(ftruncate(mfd, (off_t)sz), 0);
	shared = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	piece = (struct uvp_dma_piece){ .uaddr = (uintptr_t)shared, .len = sz, .writable = 1 };
	assert_errno(tmap(c, (uintptr_t)shared, 0x100000, sz, &piece, 1, &mfd, 1), 0);
	tgroup_device(ctl, gid, name, sizeof(name));
	dev = (int)uvp_ioctl(g, VFIO_GROUP_GET_DEVICE_FD, (uintptr_t)name, name,
			     (uint32_t)strlen(name) + 1, NULL, 0, NULL, 0, NULL);
	assert_true(dev >= 0);
	tdaemon_stop(&d);
	/* the channels are hung up */
	assert_true(tioctl(dev, VFIO_DEVICE_RESET, NULL, 0) == -EPIPE);
	munmap(shared, sz);
	close(mfd);
	close(dev);
	close(g);
	close(c);
	close(ctl);
}

/* ---- sysfs over FUSE, the CLI listings --------------------------------------------------- */

/*
 * Can this machine mount FUSE at all (root, or fusermount3; a container
 * may forbid it)?  Probed once with a daemon of its own; where it cannot,
 * the sysfs tests skip rather than fail - the daemon's refusal to start
 * without its sysfs is tested by the probe itself saying why.
 */
static bool fuse_usable(void)
{
	static int usable = -1;
	struct tdaemon d;

	if (usable < 0) {
		usable = access("/dev/fuse", R_OK | W_OK) == 0 &&
			 tdaemon_start_args(&d, true, NULL) == 0;
		if (usable)
			tdaemon_stop(&d);
		running = 0;
	}
	return usable;
}

static void test_fuse_sysfs(void **state)
{
	struct tdaemon d;
	char p[256], buf[64];
	struct stat st;
	DIR *dir;
	struct dirent *e;
	int n = 0, fd;

	if (!fuse_usable())
		skip();
	assert_int_equal(tdaemon_start_args(&d, true, NULL), 0);
	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices", d.rt);
	dir = opendir(p);
	assert_non_null(dir);
	while ((e = readdir(dir)))
		n += e->d_name[0] != '.';
	closedir(dir);
	assert_true(n > 0);
	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/0000:00:03.0/vendor", d.rt);
	assert_int_equal(stat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0444);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	n = (int)read(fd, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_int_equal(strncmp(buf, "0x", 2), 0);
	close(fd);
	/* kernfs: even root needs a write bit */
	fd = open(p, O_WRONLY);
	assert_int_equal(fd, -1);
	assert_int_equal(errno, EACCES);
	/* a store's error is the writer's */
	snprintf(p, sizeof(p), "%s/sys/bus/pci/drivers/vfio-pci/bind", d.rt);
	fd = open(p, O_WRONLY | O_TRUNC);
	if (fd >= 0) {
		assert_int_equal(write(fd, "nonsense", 8), -1);
		assert_true(errno == ENODEV || errno == EINVAL);
		close(fd);
	}
	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/0000:00:03.0/iommu_group", d.rt);
	assert_true(readlink(p, buf, sizeof(buf)) > 0);
	snprintf(p, sizeof(p), "%s/sys/bus/pci/newfile", d.rt);
	assert_int_equal(open(p, O_WRONLY | O_CREAT, 0644), -1);
	assert_int_equal(errno, EACCES);
	tdaemon_stop(&d);
}

static void trun(const char *cmd, char *out, size_t size)
{
	FILE *p = popen(cmd, "r");
	size_t n;

	assert_non_null(p);
	n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	assert_int_equal(pclose(p), 0);
}

static void test_cli_listings(void **state)
{
	struct tdaemon d;
	char cmd[512], out[8192];
	int ctl, g, gid;

	if (!fuse_usable())
		skip();
	assert_int_equal(tdaemon_start_args(&d, true, NULL), 0);
	ctl = tconnect(&d, true);
	gid = tgroup_id(ctl);
	g = topen_group(ctl, gid);
	snprintf(cmd, sizeof(cmd), UVFIO_BIN " lspci --runtime %s", d.rt);
	trun(cmd, out, sizeof(out));
	assert_non_null(strstr(out, "0000:00:03.0 "));
	assert_non_null(strstr(out, "Kernel driver in use: vfio-pci"));
	assert_non_null(strstr(out, "IOMMU group: "));
	snprintf(cmd, sizeof(cmd), UVFIO_BIN " groups --runtime %s", d.rt);
	trun(cmd, out, sizeof(out));
	snprintf(cmd, sizeof(cmd), "IOMMU group %d: viable, owner: %d", gid, (int)getpid());
	assert_non_null(strstr(out, cmd));
	assert_non_null(strstr(out, "not viable"));
	snprintf(cmd, sizeof(cmd), "UVFIO_RUNTIME=%s " UVFIO_BIN " status", d.rt);
	trun(cmd, out, sizeof(out));
	snprintf(cmd, sizeof(cmd), "daemon pid    %d", (int)d.pid);
	assert_non_null(strstr(out, cmd));
	snprintf(cmd, sizeof(cmd), "%d /dev/vfio/%d", (int)getpid(), gid);
	assert_non_null(strstr(out, cmd));
	close(g);
	close(ctl);
	tdaemon_stop(&d);
}

/* `uvfio run` with a private host: CMD sees it, its status comes back. */
static void test_cli_run(void **state)
{
	char out[4096];
	int status;
	FILE *p;
	size_t n;

	if (!fuse_usable())
		skip();
	p = popen("UVFIO_RUNTIME= UVFIO_PRELOAD= " UVFIO_BIN " run -- sh -c "
		  "'ls $UVFIO_RUNTIME/sys/bus/pci/devices; " UVFIO_BIN " status; exit 7'", "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	status = pclose(p);
	assert_int_equal(WEXITSTATUS(status), 7);
	assert_non_null(strstr(out, "0000:00:03.0"));
	assert_non_null(strstr(out, "daemon pid"));
	p = popen("UVFIO_RUNTIME= UVFIO_PRELOAD= " UVFIO_BIN " run -- sh -c 'kill -TERM $$'",
		  "r");
	assert_non_null(p);
	status = pclose(p);
	assert_int_equal(WEXITSTATUS(status), 128 + SIGTERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_cli_no_host, teardown_daemon),
		cmocka_unit_test_teardown(test_runtime_files, teardown_daemon),
		cmocka_unit_test_teardown(test_hello, teardown_daemon),
		cmocka_unit_test_teardown(test_dev_nodes, teardown_daemon),
		cmocka_unit_test_teardown(test_control_malformed, teardown_daemon),
		cmocka_unit_test_teardown(test_too_many_fds, teardown_daemon),
		cmocka_unit_test_teardown(test_channel_malformed, teardown_daemon),
		cmocka_unit_test_teardown(test_good_client_unaffected, teardown_daemon),
		cmocka_unit_test_teardown(test_close_sync, teardown_daemon),
		cmocka_unit_test_teardown(test_reopen, teardown_daemon),
		cmocka_unit_test_teardown(test_kill9_releases_group, teardown_daemon),
		cmocka_unit_test_teardown(test_device_fd, teardown_daemon),
		cmocka_unit_test_teardown(test_dma_memory, teardown_daemon),
		cmocka_unit_test_teardown(test_dma_65535_mappings, teardown_daemon),
		cmocka_unit_test_teardown(test_caps_from_credentials, teardown_daemon),
		cmocka_unit_test_teardown(test_stop_with_clients, teardown_daemon),
		cmocka_unit_test_teardown(test_fuse_sysfs, teardown_daemon),
		cmocka_unit_test_teardown(test_cli_listings, teardown_daemon),
		cmocka_unit_test_teardown(test_cli_run, teardown_daemon),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
