// SPDX-License-Identifier: MIT
/*
 * The kernel's own iommufd selftests (tools/testing/selftests/iommu of
 * Debian's linux-source-6.12), built unmodified but for the header
 * additions of clients.md 5.1 (tools/build-iommufd-selftests.sh), run under
 * `uvfio run` on a host with the iommufd_test option
 * (iommufd-selftest-host.json): /dev/iommu, IOMMU_TEST_CMD and fail-nth.
 *
 * Every case of theirs is reported here as a case of ours, by name, with
 * their verdict; a binary that dies before its plan is done fails the
 * missing cases.  Cases that use MAP_HUGETLB need huge pages: as root this
 * program raises vm.nr_hugepages for the run (and puts it back after).
 *
 * One rule of the environment, not of uvfio: iommufd.global_options sets
 * IOMMU_OPTION_RLIMIT_MODE, which needs CAP_SYS_RESOURCE.  Where the running
 * root lacks it (some containers drop it), the kernel answers EPERM at that
 * step, and so does uvfio; that case is then reported as a SKIP saying so,
 * and only when that is the very assertion that failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/wait.h>
#include "vt.h"

#define TIMEOUT_S	600
#define HUGEPAGES_WANTED 256	/* 2 MiB each: the 128M_huge variants need 64 */
#define RLIMIT_ASSERT	"Expected 0 (0) == ioctl(self->fd, IOMMU_OPTION, &cmd)"

static unsigned int ncase;
static unsigned int nfailed;

static bool have_cap(int cap)
{
	char line[256];
	uint64_t eff = 0;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %" SCNx64, &eff) == 1)
			break;
	if (f)
		fclose(f);
	return eff & (1ull << cap);
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "re");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static bool write_long(const char *path, long v)
{
	FILE *f = fopen(path, "we");
	bool ok;

	if (!f)
		return false;
	ok = fprintf(f, "%ld\n", v) > 0;
	return fclose(f) == 0 && ok;
}

/* Run 'bin' under uvfio run with its output in log; its status or -1. */
static int run_suite(const char *bin, const char *log)
{
	char *const argv[] = { UVFIO_BIN, "run", "--config", KSELFTEST_HOST, "--", (char *)bin,
			       NULL };
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), rc;

	if (fd < 0)
		return -1;
	rc = vt_run_logged(argv, fd, TIMEOUT_S);
	close(fd);
	return rc;
}

static void report(bool ok, const char *suite, const char *name, const char *skip)
{
	ncase++;
	if (!ok)
		nfailed++;
	printf("%s %u %s: %s%s%s\n", ok ? "ok" : "not ok", ncase, suite, name,
	       skip ? " # SKIP " : "", skip ? skip : "");
}

/*
 * Their TAP, case by case: "ok N name[ # SKIP why]" or "not ok N name",
 * each preceded by the "# ..." lines of that case (where an assertion says
 * what failed).
 */
static void relay(const char *suite, const char *log, int status)
{
	char line[4096], block[16384] = "", name[512];
	unsigned int planned = 0, seen = 0, n;
	bool no_sys_resource = !have_cap(CAP_SYS_RESOURCE);
	FILE *f = fopen(log, "re");

	while (f && fgets(line, sizeof(line), f)) {
		const char *skip;

		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "1..%u", &n) == 1) {
			planned = n;
			continue;
		}
		if (line[0] == '#') {
			printf("    %s\n", line);
			if (!strncmp(line, "#  RUN", 6))
				block[0] = '\0';
			if (strlen(block) + strlen(line) + 2 < sizeof(block)) {
				strcat(block, line);
				strcat(block, "\n");
			}
			continue;
		}
		if (sscanf(line, "ok %u %511[^#]", &n, name) == 2) {
			name[strcspn(name, " ")] = '\0';
			skip = strstr(line, "# SKIP");
			report(true, suite, name, skip ? skip + 7 : NULL);
			seen++;
		} else if (sscanf(line, "not ok %u %511s", &n, name) == 2) {
			if (!strcmp(name, "iommufd.global_options") && no_sys_resource &&
			    strstr(block, RLIMIT_ASSERT))
				report(true, suite, name,
				       "IOMMU_OPTION_RLIMIT_MODE needs CAP_SYS_RESOURCE, which "
				       "this root lacks: EPERM, as the kernel answers");
			else
				report(false, suite, name, NULL);
			seen++;
		}
	}
	if (f)
		fclose(f);
	if (!planned || seen < planned) {
		printf("# %s: status %d, %u of %u cases reported\n", suite, status, seen, planned);
		report(false, suite, "every planned case reported", NULL);
	}
}

int main(void)
{
	static const char *const suites[] = { "iommufd", "iommufd_fail_nth" };
	long hugepages = read_long("/proc/sys/vm/nr_hugepages");
	bool raised = false;
	char log[] = "/tmp/uvfio-kselftest-XXXXXX";
	int fd = mkstemp(log);

	if (fd < 0) {
		printf("Bail out! mkstemp: %s\n", strerror(errno));
		return 1;
	}
	close(fd);
	if (hugepages >= 0 && hugepages < HUGEPAGES_WANTED && geteuid() == 0)
		raised = write_long("/proc/sys/vm/nr_hugepages", HUGEPAGES_WANTED);
	printf("# vm.nr_hugepages: %ld%s\n", read_long("/proc/sys/vm/nr_hugepages"),
	       raised ? " (raised for this run)" : "");
	for (unsigned int i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		char bin[4096];
		int status;

		snprintf(bin, sizeof(bin), "%s/%s", KSELFTEST_DIR, suites[i]);
		status = run_suite(bin, log);
		relay(suites[i], log, status);
	}
	if (raised)
		write_long("/proc/sys/vm/nr_hugepages", hugepages);
	unlink(log);
	printf("1..%u\n", ncase);
	return nfailed ? 1 : 0;
}
