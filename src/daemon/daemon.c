// SPDX-License-Identifier: MIT
/*
 * uvfiod: start-up, the runtime dir, signals and shutdown.
 *
 * Runtime dir: uvfiod.sock (control socket), sys/ (the FUSE mount),
 * etc/mdevctl.d/ (a plain directory the shim serves as /etc/mdevctl.d),
 * uvfiod.pid, and ready, written last, when everything serves.  In the
 * background the daemon logs to uvfiod.log there.
 *
 * Shutdown (SIGTERM, SIGINT, SIGHUP): ready goes first so nobody new
 * believes in us, the control socket stops accepting, every connection and
 * channel is hung up so their threads release their files (running the
 * core releases), the FUSE mount goes, then the host.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "uvfiod.h"
#include "core/base/log.h"
#include "core/host/host.h"
#include "core/host/topology.h"

#define UVFIOD_THREAD_STACK (1024 * 1024)

/* ---- counted threads ----------------------------------------------------- */

int uvfiod_thread_start(struct uvfiod *d, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	pthread_t t;
	int ret;

	uvf_mutex_lock(&d->lock);
	if (d->stopping) {
		uvf_mutex_unlock(&d->lock);
		return -ESHUTDOWN;
	}
	d->threads++;
	uvf_mutex_unlock(&d->lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, UVFIOD_THREAD_STACK);
	ret = pthread_create(&t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	if (ret) {
		uvfiod_thread_exit(d);
		return -ret;
	}
	return 0;
}

void uvfiod_thread_exit(struct uvfiod *d)
{
	uvf_mutex_lock(&d->lock);
	if (--d->threads == 0)
		pthread_cond_broadcast(&d->threads_done);
	uvf_mutex_unlock(&d->lock);
}

static void uvfiod_wait_threads(struct uvfiod *d)
{
	uvf_mutex_lock(&d->lock);
	while (d->threads)
		pthread_cond_wait(&d->threads_done, &d->lock.m);
	uvf_mutex_unlock(&d->lock);
}

/* ---- start-up ------------------------------------------------------------- */

/* An error for the operator: stderr, and the waiting parent if any. */
static void UVF_PRINTF(2, 3) uvfiod_fail(const struct uvfiod_options *opt, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "uvfio: %s\n", msg);
	if (opt->ready_fd >= 0 && write(opt->ready_fd, msg, strlen(msg)) < 0)
		return;
}

static struct uvf_host *uvfiod_load_host(const struct uvfiod_options *opt)
{
	struct uvf_topology *t = NULL;
	struct uvf_host *h;
	char err[512] = "";
	int ret;

	ret = opt->config ? topology_load_file(opt->config, &t, err, sizeof(err))
			  : topology_load_default(&t, err, sizeof(err));
	if (ret) {
		uvfiod_fail(opt, "%s", err[0] ? err : strerror(-ret));
		return NULL;
	}
	h = host_new();
	if (!h) {
		uvfiod_fail(opt, "cannot create the host");
		topology_free(t);
		return NULL;
	}
	ret = host_load_topology(h, t, err, sizeof(err));
	topology_free(t);
	if (ret) {
		uvfiod_fail(opt, "%s", err[0] ? err : strerror(-ret));
		host_free(h);
		return NULL;
	}
	return h;
}

static int uvfiod_mkdir(const char *path)
{
	if (mkdir(path, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/* mkdir -p of the runtime dir itself. */
static int uvfiod_mkdir_p(const char *path)
{
	char p[PATH_MAX];
	int ret;

	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		ret = uvfiod_mkdir(p);
		*s = '/';
		if (ret)
			return ret;
	}
	return uvfiod_mkdir(p);
}

static void uvfiod_path(const struct uvfiod *d, const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", d->runtime, name);
}

/*
 * The runtime dir, free for us: no live daemon on its socket, no stale
 * FUSE mount left by one that was killed.
 */
static int uvfiod_runtime_setup(struct uvfiod *d, const struct uvfiod_options *opt)
{
	/* mdevctl's self-check wants the callout and notifier dirs its
	 * package installs. */
	static const char *const dirs[] = {
		"sys", "etc", "etc/mdevctl.d", "etc/mdevctl.d/scripts.d",
		"etc/mdevctl.d/scripts.d/callouts", "etc/mdevctl.d/scripts.d/notifiers",
	};
	char p[PATH_MAX];
	struct stat st;
	int fd, ret;

	ret = uvfiod_mkdir_p(d->runtime);
	if (ret) {
		uvfiod_fail(opt, "cannot create %s: %s", d->runtime, strerror(-ret));
		return ret;
	}
	fd = uvp_connect(d->runtime);
	if (fd >= 0) {
		close(fd);
		uvfiod_fail(opt, "a host is already running at %s", d->runtime);
		return -EEXIST;
	}
	d->owns_runtime = true;
	uvfiod_path(d, "sys", p, sizeof(p));
	if (stat(p, &st) && errno == ENOTCONN)
		umount2(p, MNT_DETACH);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		uvfiod_path(d, dirs[i], p, sizeof(p));
		ret = uvfiod_mkdir(p);
		if (ret) {
			uvfiod_fail(opt, "cannot create %s: %s", p, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static int uvfiod_write_file(const struct uvfiod *d, const char *name)
{
	char p[PATH_MAX];
	FILE *f;

	uvfiod_path(d, name, p, sizeof(p));
	f = fopen(p, "we");
	if (!f)
		return -errno;
	fprintf(f, "%d\n", (int)d->pid);
	return fclose(f) ? -errno : 0;
}

static void uvfiod_unlink(const struct uvfiod *d, const char *name)
{
	char p[PATH_MAX];

	uvfiod_path(d, name, p, sizeof(p));
	unlink(p);
}

static int uvfiod_start(struct uvfiod *d, const struct uvfiod_options *opt)
{
	char p[PATH_MAX], err[512] = "";
	int ret;

	ret = control_listen(d);
	if (ret) {
		uvfiod_fail(opt, "cannot listen on %s/%s: %s", d->runtime, UVP_SOCKET_NAME,
			    strerror(-ret));
		return ret;
	}
	if (!opt->no_sysfs) {
		uvfiod_path(d, "sys", p, sizeof(p));
		ret = fuse_sysfs_start(d, p, &d->fuse, err, sizeof(err));
		if (ret) {
			uvfiod_fail(opt, "%s", err);
			return ret;
		}
	}
	ret = uvfiod_write_file(d, "uvfiod.pid");
	if (!ret)
		ret = uvfiod_write_file(d, "ready");
	if (ret)
		uvfiod_fail(opt, "cannot write to %s: %s", d->runtime, strerror(-ret));
	return ret;
}

static void uvfiod_stop(struct uvfiod *d)
{
	if (d->owns_runtime)
		uvfiod_unlink(d, "ready");
	control_stop(d);
	uvf_mutex_lock(&d->lock);
	d->stopping = true;
	uvf_mutex_unlock(&d->lock);
	channel_hangup_all(d);
	uvfiod_wait_threads(d);
	fuse_sysfs_stop(d->fuse);
	d->fuse = NULL;
	host_free(d->host);
	d->host = NULL;
	filecache_free(d->files);
	if (d->owns_runtime)
		uvfiod_unlink(d, "uvfiod.pid");
}

/* ---- background mode ------------------------------------------------------- */

/*
 * Fork; the parent waits until the child serves (or says why not) and
 * exits with that.  The child leaves the session and logs to the runtime
 * dir.  Returns in the child with opt->ready_fd set.
 */
static void uvfiod_background(struct uvfiod_options *opt)
{
	char msg[768], log[PATH_MAX];
	int pfd[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) || (pid = fork()) < 0) {
		fprintf(stderr, "uvfio: cannot start in the background: %s\n", strerror(errno));
		exit(1);
	}
	if (pid == 0) {
		close(pfd[0]);
		setsid();
		opt->ready_fd = pfd[1];
		snprintf(log, sizeof(log), "%s/uvfiod.log", opt->runtime);
		if (uvfiod_mkdir_p(opt->runtime) == 0 && freopen(log, "ae", stderr))
			setvbuf(stderr, NULL, _IOLBF, 0);
		if (!freopen("/dev/null", "re", stdin) || !freopen("/dev/null", "we", stdout))
			return;
		return;
	}
	close(pfd[1]);
	n = read(pfd[0], msg, sizeof(msg) - 1);
	if (n > 0 && !strncmp(msg, "ok", 2)) {
		printf("uvfio: host serving at %s (pid %d)\n", opt->runtime, (int)pid);
		exit(0);
	}
	if (n <= 0) {
		waitpid(pid, &status, 0);
		fprintf(stderr, "uvfio: the daemon exited before serving (see %s/uvfiod.log)\n",
			opt->runtime);
	} else {
		msg[n] = '\0';
		fprintf(stderr, "uvfio: %s\n", msg);
	}
	exit(1);
}

/* ---- the whole life -------------------------------------------------------------- */

static int uvfiod_wait_signal(void)
{
	sigset_t set;
	int sig = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	while (sigwait(&set, &sig))
		;
	return sig;
}

static void uvfiod_signals_block(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static struct uvfiod *uvfiod_alloc(const struct uvfiod_options *opt)
{
	struct uvfiod *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	if (strlen(opt->runtime) >= sizeof(d->runtime)) {
		free(d);
		return NULL;
	}
	snprintf(d->runtime, sizeof(d->runtime), "%s", opt->runtime);
	d->listen_fd = -1;
	d->pid = getpid();
	uvf_mutex_init(&d->lock);
	pthread_cond_init(&d->threads_done, NULL);
	list_init(&d->channels);
	list_init(&d->conns);
	list_init(&d->procs);
	return d;
}

static void uvfiod_free(struct uvfiod *d)
{
	pthread_cond_destroy(&d->threads_done);
	uvf_mutex_destroy(&d->lock);
	free(d);
}

int uvfiod_main(const struct uvfiod_options *options)
{
	struct uvfiod_options opt = *options;
	struct uvfiod *d;
	int sig, ret = 1;

	if (!opt.foreground)
		uvfiod_background(&opt);
	uvfiod_signals_block();
	d = uvfiod_alloc(&opt);
	if (!d) {
		uvfiod_fail(&opt, "runtime dir name too long: %s", opt.runtime);
		return 1;
	}
	d->host = uvfiod_load_host(&opt);
	d->files = filecache_new();
	if (!d->host || !d->files || uvfiod_runtime_setup(d, &opt) ||
	    uvfiod_start(d, &opt))
		goto out;
	uvf_info("uvfiod", "host '%s' serving at %s (pid %d)", d->host->name, d->runtime,
		 (int)d->pid);
	if (opt.ready_fd >= 0) {
		if (write(opt.ready_fd, "ok", 2) < 0)
			uvf_warn("uvfiod", "nobody waits for the ready notice");
		close(opt.ready_fd);
		opt.ready_fd = -1;
	}
	sig = uvfiod_wait_signal();
	uvf_info("uvfiod", "signal %d: stopping", sig);
	ret = 0;
out:
	uvfiod_stop(d);
	uvfiod_free(d);
	if (opt.ready_fd >= 0)
		close(opt.ready_fd);
	return ret;
}
