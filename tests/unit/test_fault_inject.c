// SPDX-License-Identifier: MIT
/*
 * Fault injection as users see it: the per-task fail-nth file (arming,
 * firing once, what reading tells, bad input) and the debugfs fail*
 * attributes, on a host with and without the iommufd_test option.
 */
#include "harness.h"
#include "iommufd_helpers.h"
#include <sys/syscall.h>

static void fail_nth_path(char *buf, size_t size, pid_t tid)
{
	snprintf(buf, size, "/proc/%d/task/%d/fail-nth", (int)getpid(), (int)tid);
}

static int open_fail_nth(struct uvf_proc *p)
{
	char path[96];

	fail_nth_path(path, sizeof(path), getpid());
	return proc_open(p, path, O_RDWR);
}

static void assert_fail_nth_reads(struct uvf_proc *p, int fd, const char *want)
{
	char buf[32] = { 0 };
	ssize_t n = proc_pread(p, fd, buf, sizeof(buf) - 1, 0);

	assert_int_equal(n, (ssize_t)strlen(want));
	assert_string_equal(buf, want);
}

static void test_not_served_without_option(void **state)
{
	struct uvf_host *h = test_host_from_json("{}");
	struct uvf_proc *p = proc_new_root(h);
	char path[96];

	fail_nth_path(path, sizeof(path), getpid());
	assert_int_equal(proc_open(p, path, O_RDWR), -ENOENT);
	assert_null(sysfs_lookup(h->sysfs, "/kernel/debug/failslab", false));
	proc_free(p);
	host_free(h);
}

static void test_arm_fires_once(void **state)
{
	struct uvf_host *h = iommufd_host(NULL);
	struct uvf_proc *p = proc_new_root(h);
	int nth = open_fail_nth(p), fd = iommufd_open(p);
	uint32_t id;

	assert_true(nth >= 0);
	assert_fail_nth_reads(p, nth, "0\n");
	/* IOAS_ALLOC has one site: the first reached after arming fails */
	assert_int_equal(proc_pwrite(p, nth, "1", 1, 0), 1);
	assert_fail_nth_reads(p, nth, "1\n");
	assert_int_equal(ioas_alloc(p, fd, &id), -ENOMEM);
	assert_fail_nth_reads(p, nth, "0\n");
	assert_int_equal(ioas_alloc(p, fd, &id), 0);
	/* armed further than the call goes: nothing fails, the rest is told */
	assert_int_equal(proc_pwrite(p, nth, "3\n", 2, 0), 2);
	assert_int_equal(ioas_alloc(p, fd, &id), 0);
	assert_fail_nth_reads(p, nth, "2\n");
	assert_int_equal(proc_pwrite(p, nth, "0", 1, 0), 1);
	assert_int_equal(ioas_alloc(p, fd, &id), 0);
	proc_close(p, fd);
	proc_close(p, nth);
	proc_free(p);
	host_free(h);
}

static void test_other_task_not_affected(void **state)
{
	struct uvf_host *h = iommufd_host(NULL);
	struct uvf_proc *p = proc_new_root(h);
	int fd = iommufd_open(p), other;
	char path[96];
	uint32_t id;

	/* the thread-group file of this process is this task; a thread's is not */
	snprintf(path, sizeof(path), "/proc/%d/fail-nth", (int)getpid());
	other = proc_open(p, path, O_RDWR);
	assert_true(other >= 0);
	proc_close(p, other);
	fail_nth_path(path, sizeof(path), getpid() + 1000000);
	assert_int_equal(proc_open(p, path, O_RDWR), -ENOENT);
	assert_int_equal(proc_open(p, "/proc/self/fail-nth", O_RDWR), -ENOENT);
	assert_int_equal(ioas_alloc(p, fd, &id), 0);
	proc_close(p, fd);
	proc_free(p);
	host_free(h);
}

static void test_bad_input(void **state)
{
	struct uvf_host *h = iommufd_host(NULL);
	struct uvf_proc *p = proc_new_root(h);
	int nth = open_fail_nth(p);
	char buf[8];

	assert_int_equal(proc_pwrite(p, nth, "5", 1, 0), 1);
	assert_int_equal(proc_pwrite(p, nth, "x", 1, 0), -EINVAL);
	assert_int_equal(proc_pwrite(p, nth, "-1", 2, 0), -EINVAL);
	assert_int_equal(proc_pwrite(p, nth, "", 0, 0), -EINVAL);
	assert_fail_nth_reads(p, nth, "5\n");		/* nothing changed */
	assert_int_equal(proc_pwrite(p, nth, "0x10", 4, 0), 4);	/* base 0, as kstrtouint */
	assert_fail_nth_reads(p, nth, "16\n");
	/* simple_read_from_buffer: past the text is the end */
	assert_int_equal(proc_pread(p, nth, buf, sizeof(buf), 3), 0);
	assert_int_equal(proc_pread(p, nth, buf, 1, 1), 1);
	assert_int_equal(buf[0], '6');
	assert_int_equal(proc_pwrite(p, nth, "0", 1, 0), 1);
	proc_close(p, nth);
	proc_free(p);
	host_free(h);
}

static void test_debugfs_attrs(void **state)
{
	struct uvf_host *h = iommufd_host(NULL);
	const struct uvf_caller *c = NULL;	/* the kernel's own access */
	const char *gfp = "/kernel/debug/failslab/ignore-gfp-wait";
	char buf[64] = { 0 };

	assert_int_equal(sysfs_read(h->sysfs, c, gfp, buf, sizeof(buf), 0), 2);
	assert_string_equal(buf, "Y\n");
	assert_int_equal(sysfs_write(h->sysfs, c, gfp, "N", 1, 0), 1);
	assert_int_equal(sysfs_write(h->sysfs, c, gfp, "maybe", 5, 0), -EINVAL);
	memset(buf, 0, sizeof(buf));
	sysfs_read(h->sysfs, c, gfp, buf, sizeof(buf), 0);
	assert_string_equal(buf, "N\n");
	assert_int_equal(sysfs_write(h->sysfs, c, "/kernel/debug/fail_page_alloc/times", "-1", 2, 0), 2);
	memset(buf, 0, sizeof(buf));
	sysfs_read(h->sysfs, c, "/kernel/debug/fail_page_alloc/times", buf, sizeof(buf), 0);
	assert_string_equal(buf, "-1\n");
	assert_int_equal(sysfs_write(h->sysfs, c, "/kernel/debug/fail_usercopy/verbose", "0", 1, 0), 1);
	assert_int_equal(sysfs_write(h->sysfs, c, "/kernel/debug/fail_usercopy/verbose", "z", 1, 0),
			 -EINVAL);
	host_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_served_without_option),
		cmocka_unit_test(test_arm_fires_once),
		cmocka_unit_test(test_other_task_not_affected),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_debugfs_attrs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
