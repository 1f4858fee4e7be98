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
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "vt.h"

#define DPDK_TEST	"/usr/bin/dpdk-test"
#define DEVBIND		"/usr/bin/dpdk-devbind.py"
#define IOAT_PMD	"/usr/lib/x86_64-linux-gnu/librte_dma_ioat.so.23"
#define IOAT_BDF	"0000:00:07.0"
#define LOG_MAX		(1 << 20)
#define TIMEOUT_S	300

static char log_path[] = "/tmp/uvfio-dpdk-XXXXXX";

/* Run dpdk-test with its output in log_path; its exit status or -1. */
static int run_dpdk_test(void)
{
	char *const argv[] = { DPDK_TEST, "--no-huge", "-m", "256", "--iova-mode=va", "-l", "0",
			       "-a", IOAT_BDF, "-d", IOAT_PMD, "--no-telemetry", NULL };
	int fd = mkstemp(log_path), rc;

	if (fd < 0)
		return -1;
	setenv("DPDK_TEST", "dmadev_autotest", 1);
	rc = vt_run_logged(argv, fd, TIMEOUT_S);
	close(fd);
	return rc;
}

/* The driver IOAT_BDF is bound to, "" for none. */
static const char *bound_driver(char *buf, size_t size)
{
	ssize_t n = readlink("/sys/bus/pci/devices/" IOAT_BDF "/driver", buf, size - 1);
	const char *slash;

	if (n <= 0)
		return "";
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	return slash ? slash + 1 : buf;
}

/* Run DPDK's own binding tool as a user would; its exit status. */
static int devbind(const char *args)
{
	char cmd[256];
	int st;

	snprintf(cmd, sizeof(cmd), "%s %s >/dev/null 2>&1", DEVBIND, args);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* dpdk-devbind.py: what it reports, unbind, bind back to vfio-pci. */
static void devbind_cases(int *n, int *failed)
{
	char drv[PATH_MAX], line[512];
	bool listed = false, ok;
	FILE *f;

	vt_sanitizer_env();	/* python under an ASan shim needs the runtime first */
	f = popen(DEVBIND " --status-dev dma 2>/dev/null", "r");
	while (f && fgets(line, sizeof(line), f))
		listed |= strstr(line, IOAT_BDF) && strstr(line, "drv=vfio-pci");
	if (f)
		pclose(f);
	ok = listed;
	printf("%sok %d - dpdk-devbind.py lists %s with drv=vfio-pci\n", ok ? "" : "not ", ++*n,
	       IOAT_BDF);
	*failed += !ok;
	ok = devbind("-u " IOAT_BDF) == 0 && !strcmp(bound_driver(drv, sizeof(drv)), "");
	printf("%sok %d - dpdk-devbind.py -u unbinds it\n", ok ? "" : "not ", ++*n);
	*failed += !ok;
	ok = devbind("-b vfio-pci " IOAT_BDF) == 0 &&
	     !strcmp(bound_driver(drv, sizeof(drv)), "vfio-pci");
	printf("%sok %d - dpdk-devbind.py -b vfio-pci binds it back (driver_override, bind)\n",
	       ok ? "" : "not ", ++*n);
	*failed += !ok;
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
	printf("1..7\n");
	if (access(DPDK_TEST, X_OK) || access(IOAT_PMD, R_OK) || access(DEVBIND, X_OK)) {
		for (int i = 1; i <= 7; i++)
			printf("ok %d - # SKIP dpdk-test, dpdk-devbind.py or the ioat PMD is not "
			       "installed\n", i);
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
	devbind_cases(&n, &failed);
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
