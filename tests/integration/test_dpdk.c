// SPDX-License-Identifier: MIT
/*
 * A real driver: Debian's DPDK 22.11, unmodified.  dpdk-test runs
 * dmadev_autotest under `uvfio run` against the default host's emulated
 * Intel I/OAT (0000:00:07.0) through DPDK's own ioat PMD.
 *
 * dmadev_autotest also creates DPDK's software skeleton device, which
 * passes with no hardware at all; so the test checks that the ioat PMD
 * probed our device and that the autotest's instance on 0000:00:07.0 ran
 * and passed before the skeleton's, not merely that "Test OK" was printed.
 * DPDK 22.11 ships no dpdk-test-dma-perf (it arrived in 23.07) and its
 * dmadev_autotest has no perf part; bench/bench_ioat measures the model.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "vt.h"

#define DPDK_TEST	"/usr/bin/dpdk-test"
#define IOAT_PMD	"/usr/lib/x86_64-linux-gnu/librte_dma_ioat.so.23"
#define IOAT_BDF	"0000:00:07.0"
#define LOG_MAX		(1 << 20)
#define TIMEOUT_S	300

static char log_path[] = "/tmp/uvfio-dpdk-XXXXXX";

/* Run dpdk-test with its output in log_path; its exit status or -1. */
static int run_dpdk_test(void)
{
	int fd = mkstemp(log_path), status;
	pid_t pid;

	if (fd < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		setenv("DPDK_TEST", "dmadev_autotest", 1);
		vt_sanitizer_env();
		execl(DPDK_TEST, DPDK_TEST, "--no-huge", "-m", "256", "--iova-mode=va",
		      "-l", "0", "-a", IOAT_BDF, "-d", IOAT_PMD, "--no-telemetry",
		      (char *)NULL);
		_exit(127);
	}
	close(fd);
	if (pid < 0)
		return -1;
	for (int i = 0; i < TIMEOUT_S * 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		usleep(100000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	printf("# dpdk-test did not finish in %d s\n", TIMEOUT_S);
	return -1;
}

static char *read_log(void)
{
	char *buf = calloc(1, LOG_MAX + 1);
	int fd = open(log_path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 && buf ? read(fd, buf, LOG_MAX) : -1;

	if (fd >= 0)
		close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* The log from the autotest's instance line on our device to the next
 * instance line (or the end): that instance's own results. */
static const char *instance_section(const char *log, size_t *len)
{
	const char *start = strstr(log, "Test dmadev instance 0 [" IOAT_BDF "]");
	const char *next;

	if (!start)
		return NULL;
	next = strstr(start + 1, "Test dmadev instance");
	*len = next ? (size_t)(next - start) : strlen(start);
	return start;
}

static bool section_has(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= len; i++)
		if (!memcmp(s + i, needle, n))
			return true;
	return false;
}

/* Every "Errors: N" progress count of the section is 0, and there is one. */
static bool section_error_free(const char *s, size_t len)
{
	static const char key[] = "Errors: ";
	size_t n = sizeof(key) - 1;
	int counts = 0;

	for (size_t i = 0; i + n < len; i++) {
		if (memcmp(s + i, key, n))
			continue;
		if (strtoul(s + i + n, NULL, 10) != 0)
			return false;
		counts++;
	}
	return counts > 0;
}

int main(int argc, char **argv)
{
	const char *sec = NULL;
	size_t sec_len = 0;
	int rc, n = 0, failed = 0;
	char *log;
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
	printf("1..4\n");
	if (access(DPDK_TEST, X_OK) || access(IOAT_PMD, R_OK)) {
		for (int i = 1; i <= 4; i++)
			printf("ok %d - # SKIP dpdk-test or the ioat PMD is not installed\n", i);
		return 0;
	}
	rc = run_dpdk_test();
	log = read_log();
	if (log)
		sec = instance_section(log, &sec_len);
	TAP(rc == 0 && log && strstr(log, "Test OK"), "dpdk-test dmadev_autotest passes");
	TAP(log && strstr(log, "Probe PCI driver: dmadev_ioat (8086:2021) device: " IOAT_BDF),
	    "DPDK's ioat PMD probed the emulated I/OAT at " IOAT_BDF);
	TAP(sec != NULL, "the autotest ran an instance on " IOAT_BDF);
	TAP(sec && section_has(sec, sec_len, "Running copy Tests") &&
	    section_has(sec, sec_len, "Running burst capacity Tests") &&
	    section_error_free(sec, sec_len),
	    "the instance on the emulated device ran its copy and burst tests with 0 errors");
	if (failed && log) {
		/* Show the tail of the log to whoever reads the CI output. */
		size_t len = strlen(log);
		const char *tail = len > 3000 ? log + len - 3000 : log;

		printf("# dpdk-test output (tail):\n");
		for (const char *p = tail; *p;) {
			size_t l = strcspn(p, "\n");

			printf("#   %.*s\n", (int)l, p);
			p += l + (p[l] == '\n');
		}
	}
	free(log);
	if (!getenv("VT_KEEP_LOG"))
		unlink(log_path);
	return failed ? 1 : 0;
}
