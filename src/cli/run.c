// SPDX-License-Identifier: MIT
/*
 * uvfio run: CMD under the shim, on a host.
 *
 * The host is the running one at --runtime/$UVFIO_RUNTIME when it answers
 * (and no --config asks for a particular machine); otherwise a private
 * host in a fresh runtime dir, started before CMD and stopped after it.
 * The private daemon runs in its own session, so a terminal's ^C or a test
 * harness killing CMD's process group never takes the host down mid-way;
 * it tells us it serves through a pipe (--ready-fd), and its errors come
 * back the same way.
 *
 * Exit status: CMD's, or 128+signal when CMD was killed, as a shell does.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "cli.h"
#include "client/uvp_client.h"

#define PRELOAD_NAME "libuvfio-preload.so"

static volatile sig_atomic_t run_child_pid;

/* SIGTERM/SIGHUP to uvfio go to CMD, which decides; uvfio follows it. */
static void run_forward_signal(int sig)
{
	if (run_child_pid > 0)
		kill((pid_t)run_child_pid, sig);
}

/* The shim: $UVFIO_PRELOAD ("" = none), else next to this binary (build
 * tree or installed), else the library dirs this build knows. */
static const char *run_find_preload(char *buf, size_t size)
{
	const char *env = getenv("UVFIO_PRELOAD");
	char exe[PATH_MAX], *dir;
	const char *fmt[] = { "%s/" PRELOAD_NAME, "%s/../shim/" PRELOAD_NAME,
			      "%s/../lib/uvfio/" PRELOAD_NAME, "%s/../lib/" PRELOAD_NAME };
	ssize_t n;

	if (env)
		return env;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		dir = dirname(exe);
		for (size_t i = 0; i < sizeof(fmt) / sizeof(fmt[0]); i++) {
			snprintf(buf, size, fmt[i], dir);
			if (!access(buf, R_OK))
				return buf;
		}
	}
	snprintf(buf, size, "%s/" PRELOAD_NAME, UVFIO_SHIM_BUILD_DIR);
	if (!access(buf, R_OK))
		return buf;
	snprintf(buf, size, "%s/" PRELOAD_NAME, UVFIO_LIBDIR);
	if (!access(buf, R_OK))
		return buf;
	snprintf(buf, size, "%s/uvfio/" PRELOAD_NAME, UVFIO_LIBDIR);
	if (!access(buf, R_OK))
		return buf;
	return NULL;
}

/* Start a private daemon on rt; its pid, or -1 after printing why not. */
static pid_t run_start_host(const char *rt, const char *config)
{
	char fdarg[16], msg[768];
	int pfd[2];
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC)) {
		perror("uvfio: pipe");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		perror("uvfio: fork");
		return -1;
	}
	if (pid == 0) {
		char *argv[12];
		int i = 0;

		setsid();
		close(pfd[0]);
		fcntl(pfd[1], F_SETFD, 0);
		snprintf(fdarg, sizeof(fdarg), "%d", pfd[1]);
		argv[i++] = "uvfio";
		argv[i++] = "daemon";
		argv[i++] = "--foreground";
		argv[i++] = "--runtime";
		argv[i++] = (char *)rt;
		argv[i++] = "--ready-fd";
		argv[i++] = fdarg;
		if (config) {
			argv[i++] = "--config";
			argv[i++] = (char *)config;
		}
		argv[i] = NULL;
		execv("/proc/self/exe", argv);
		fprintf(stderr, "uvfio: cannot start the daemon: %s\n", strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	do
		n = read(pfd[0], msg, sizeof(msg) - 1);
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	if (n >= 2 && !strncmp(msg, "ok", 2))
		return pid;
	/* the daemon printed its error on our stderr already */
	waitpid(pid, NULL, 0);
	return -1;
}

/* Stop the private daemon: SIGTERM, then SIGKILL if it hangs. */
static void run_stop_host(pid_t pid)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int status;

	kill(pid, SIGTERM);
	for (int i = 0; i < 1000; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid) {
			if (!WIFEXITED(status) || WEXITSTATUS(status))
				fprintf(stderr, "uvfio: the host exited abnormally (status %#x)\n",
					status);
			return;
		}
		if (r < 0 && errno != EINTR)
			return;
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "uvfio: the host did not stop in 10 s; killing it\n");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static int run_remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) ? -1 : 0;
}

static void run_remove_runtime(const char *rt)
{
	static const char *const names[] = {
		"sys", "uvfiod.log", UVP_SOCKET_NAME, "ready", "uvfiod.pid",
	};
	char p[PATH_MAX];

	/* The private host's /etc/mdevctl.d: whatever mdevctl saved there
	 * (configs, its scripts.d) goes with the host.  Not following links,
	 * and not leaving the runtime's file system. */
	snprintf(p, sizeof(p), "%s/etc", rt);
	nftw(p, run_remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", rt, names[i]);
		if (rmdir(p) && errno == ENOTDIR)
			unlink(p);
	}
	if (rmdir(rt))
		fprintf(stderr, "uvfio: could not remove %s: %s\n", rt, strerror(errno));
}

/* LD_PRELOAD for CMD: the shim first, then whatever was there. */
static int run_set_preload(const char *preload)
{
	const char *old = getenv("LD_PRELOAD");
	char *v;
	int ret;

	if (!*preload)
		return 0;
	if (!old || !*old)
		return setenv("LD_PRELOAD", preload, 1);
	if (asprintf(&v, "%s:%s", preload, old) < 0)
		return -1;
	ret = setenv("LD_PRELOAD", v, 1);
	free(v);
	return ret;
}

/* Run CMD and wait for it; its exit status as a shell reports it. */
static int run_command(char **cmd, const char *rt, const char *preload)
{
	struct sigaction fwd = { .sa_handler = run_forward_signal }, ign = {
		.sa_handler = SIG_IGN
	}, old_int, old_quit, old_term, old_hup;
	int status;
	pid_t pid, r;

	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	sigaction(SIGTERM, &fwd, &old_term);
	sigaction(SIGHUP, &fwd, &old_hup);
	pid = fork();
	if (pid < 0) {
		perror("uvfio: fork");
		return 1;
	}
	if (pid == 0) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		sigaction(SIGHUP, &old_hup, NULL);
		if (setenv("UVFIO_RUNTIME", rt, 1) || run_set_preload(preload)) {
			perror("uvfio: setenv");
			_exit(127);
		}
		execvp(cmd[0], cmd);
		fprintf(stderr, "uvfio: %s: %s\n", cmd[0], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	run_child_pid = pid;
	do
		r = waitpid(pid, &status, 0);
	while (r < 0 && errno == EINTR);
	run_child_pid = 0;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	if (r < 0)
		return 1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* Does a host answer at rt? */
static bool run_host_alive(const char *rt)
{
	int fd = uvp_connect(rt);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

int cli_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "runtime", required_argument, NULL, 'r' },
		{ 0 }
	};
	const char *config = NULL, *runtime = NULL, *preload, *rt;
	char rtbuf[4000], pbuf[PATH_MAX];
	pid_t host = 0;
	int c, status;

	while ((c = getopt_long(argc, argv, "+c:r:", opts, NULL)) != -1) {
		if (c == 'c')
			config = optarg;
		else if (c == 'r')
			runtime = optarg;
		else
			goto usage;
	}
	if (optind >= argc)
		goto usage;
	preload = run_find_preload(pbuf, sizeof(pbuf));
	if (!preload) {
		fprintf(stderr, "uvfio: cannot find %s next to uvfio, in %s or in %s; set "
			"UVFIO_PRELOAD\n", PRELOAD_NAME, UVFIO_SHIM_BUILD_DIR, UVFIO_LIBDIR);
		return 1;
	}
	rt = cli_runtime(runtime, rtbuf, sizeof(rtbuf));
	if (!rt || config || !(runtime || getenv("UVFIO_RUNTIME")) || !run_host_alive(rt)) {
		const char *tmp = getenv("TMPDIR");

		snprintf(rtbuf, sizeof(rtbuf), "%s/uvfio-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		rt = mkdtemp(rtbuf);
		/* every user of the host must reach its socket */
		if (rt && chmod(rt, 0755))
			rt = NULL;
		if (!rt) {
			perror("uvfio: cannot make a runtime dir");
			return 1;
		}
		host = run_start_host(rt, config);
		if (host < 0) {
			run_remove_runtime(rt);
			return 1;
		}
	}
	status = run_command(argv + optind, rt, preload);
	if (host > 0) {
		run_stop_host(host);
		run_remove_runtime(rt);
	}
	return status;
usage:
	fprintf(stderr, "usage: uvfio run [--config FILE] [--runtime DIR] -- CMD [ARG...]\n");
	return 2;
}
