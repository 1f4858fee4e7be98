// SPDX-License-Identifier: MIT
/*
 * A real client: Debian's qemu-system-x86_64 (7.2), unmodified, assigns the
 * default host's 0000:00:03.0 with -device vfio-pci under `uvfio run`.  It
 * must start, show the device in query-pci over QMP with the model's ids
 * and BAR sizes, and quit cleanly; vfio warnings on its stderr (a BAR it
 * could not mmap, a failed DMA map) fail the test too.
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include "vt.h"

#define QEMU		"qemu-system-x86_64"
#define REPLY_MAX	(256 * 1024)

static char dir[64];
static pid_t qemu = -1;

static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t n = strcspn(p, ":");

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, p, prog);
		if (!access(buf, X_OK))
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

static pid_t start_qemu(const char *sock, const char *log)
{
	char qmp[192];
	pid_t pid;

	snprintf(qmp, sizeof(qmp), "unix:%s,server=on,wait=off", sock);
	pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		vt_sanitizer_env();
		execlp(QEMU, QEMU, "-machine", "q35", "-accel", "tcg", "-nodefaults",
		       "-display", "none", "-device", "vfio-pci,host=" VT_BDF,
		       "-object", "memory-backend-memfd,id=mem,size=256M,share=on",
		       "-machine", "memory-backend=mem", "-m", "256M",
		       "-qmp", qmp, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static int qmp_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	for (int i = 0; i < 300; i++) {
		int status;

		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return fd;
		close(fd);
		if (waitpid(qemu, &status, WNOHANG) == qemu) {
			qemu = -1;
			return -1;
		}
		usleep(100000);
	}
	return -1;
}

/* Read until a line holding "return" or "error" (events are skipped). */
static bool qmp_reply(int fd, char *buf, size_t size)
{
	size_t len = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char *line;
		ssize_t n;

		if (poll(&p, 1, 30000) != 1)
			return false;
		n = read(fd, buf + len, size - len - 1);
		if (n <= 0)
			return false;
		len += n;
		buf[len] = '\0';
		while ((line = strchr(buf, '\n'))) {
			*line = '\0';
			if (strstr(buf, "\"return\"") || strstr(buf, "\"error\"") ||
			    strstr(buf, "\"QMP\""))
				return true;
			len -= line + 1 - buf;
			memmove(buf, line + 1, len + 1);
		}
		if (len == size - 1)
			return false;
	}
}

static bool qmp_cmd(int fd, const char *cmd, char *buf, size_t size)
{
	char req[256];
	int n = snprintf(req, sizeof(req), "{\"execute\": \"%s\"}\n", cmd);

	return write(fd, req, n) == n && qmp_reply(fd, buf, size) && !strstr(buf, "\"error\"");
}

/* The query-pci object of the device with these ids, cut out of buf. */
static char *find_device(char *buf, unsigned int vendor, unsigned int device)
{
	char want[64];
	char *p;

	snprintf(want, sizeof(want), "\"device\": %u, \"vendor\": %u", device, vendor);
	p = strstr(buf, want);
	if (!p) {
		snprintf(want, sizeof(want), "\"vendor\": %u", vendor);
		p = strstr(buf, want);
	}
	return p;
}

/* Does the device's entry list a BAR of this number and size? */
static bool has_bar(const char *dev, int bar, unsigned long size)
{
	char want[64];
	const char *p = strstr(dev, "\"regions\"");
	const char *end = p ? strchr(p, ']') : NULL;

	if (!p || !end)
		return false;
	snprintf(want, sizeof(want), "\"bar\": %d", bar);
	for (p = strstr(p, want); p && p < end; p = strstr(p + 1, want)) {
		const char *obj_end = strchr(p, '}');
		const char *sz = strstr(p, "\"size\": ");

		if (sz && sz < obj_end && strtoul(sz + 8, NULL, 10) == size)
			return true;
	}
	return false;
}

static bool log_clean(const char *log)
{
	char buf[8192];
	int fd = open(log, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n < 0)
		return false;
	buf[n] = '\0';
	if (n)
		printf("# qemu said: %s\n", buf);
	return !strstr(buf, "vfio");
}

static void cleanup(void)
{
	char p[96];

	if (qemu > 0) {
		kill(qemu, SIGKILL);
		waitpid(qemu, NULL, 0);
	}
	snprintf(p, sizeof(p), "%s/qmp.sock", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/qemu.log", dir);
	unlink(p);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	char sock[96], log[96], *buf, *dev;
	int fd, status, n = 0, failed = 0;
	bool ok;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!getenv("VT_UNDER_UVFIO")) {
		static const struct vt_case none[1];

		/* vt_main re-executes us under `uvfio run`. */
		return vt_main(argc, argv, none, 0);
	}
#define TAP(cond, name) do {                                                      \
		ok = (cond);                                                      \
		printf("%sok %d - %s\n", ok ? "" : "not ", ++n, name);            \
		failed += !ok;                                                    \
	} while (0)
	printf("1..5\n");
	if (!in_path(QEMU)) {
		for (int i = 1; i <= 5; i++)
			printf("ok %d - # SKIP %s is not installed\n", i, QEMU);
		return 0;
	}
	buf = malloc(REPLY_MAX);
	snprintf(dir, sizeof(dir), "/tmp/uvfio-qemu-XXXXXX");
	if (!buf || !mkdtemp(dir)) {
		printf("Bail out! no temporary directory\n");
		return 1;
	}
	snprintf(sock, sizeof(sock), "%s/qmp.sock", dir);
	snprintf(log, sizeof(log), "%s/qemu.log", dir);
	qemu = start_qemu(sock, log);
	fd = qemu > 0 ? qmp_connect(sock) : -1;
	TAP(fd >= 0 && qmp_reply(fd, buf, REPLY_MAX) && qmp_cmd(fd, "qmp_capabilities", buf, REPLY_MAX),
	    "qemu starts with -device vfio-pci under uvfio run and answers QMP");
	ok = fd >= 0 && qmp_cmd(fd, "query-pci", buf, REPLY_MAX);
	dev = ok ? find_device(buf, VT_VENDOR, VT_DEVICE) : NULL;
	TAP(dev != NULL, "query-pci shows the device with the model's vendor and device id");
	TAP(dev && has_bar(dev, 0, VT_BAR0_SIZE) && has_bar(dev, 2, VT_BAR2_SIZE),
	    "query-pci shows the model's BAR0 and BAR2 sizes");
	ok = fd >= 0 && qmp_cmd(fd, "quit", buf, REPLY_MAX);
	for (int i = 0; ok && i < 300; i++) {
		if (waitpid(qemu, &status, WNOHANG) == qemu) {
			qemu = -1;
			break;
		}
		usleep(100000);
	}
	TAP(ok && qemu < 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "quit ends qemu with status 0");
	TAP(log_clean(log), "no vfio warning from qemu");
	if (fd >= 0)
		close(fd);
	cleanup();
	free(buf);
	return failed ? 1 : 0;
}
