/* SPDX-License-Identifier: MIT */
/*
 * Support for the shim's integration tests: programs written as any VFIO
 * user would write them (libc and <linux/vfio.h> only), run under
 * `uvfio run` on the default host, reporting TAP.
 *
 * vt_main() re-executes the program under `uvfio run` when it is not
 * already there, then runs each case in a child process of its own: a
 * crash or a hang fails that case only, and every case starts with no
 * VFIO file open (the previous case's are released with its process).
 */
#ifndef VT_H
#define VT_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

/* The default host: the uvfio-test model (src/models/testdev.c). */
#define VT_BDF			"0000:00:03.0"	/* group 3 */
#define VT_BDF2			"0000:00:04.0"	/* group 4 */
#define VT_GROUP		3
#define VT_GROUP_NONVIABLE	6
#define VT_VENDOR		0x7576
#define VT_DEVICE		0x0001
#define VT_BAR0_SIZE		4096
#define VT_BAR2_SIZE		16384
#define VT_MSIX_VECTORS		4

/* BAR0 registers */
#define VT_REG_MAGIC		0x00
#define VT_REG_DMA_SRC		0x08
#define VT_REG_DMA_DST		0x10
#define VT_REG_DMA_LEN		0x18
#define VT_REG_DOORBELL		0x1c
#define VT_REG_STATUS		0x20
#define VT_REG_INTR		0x24
#define VT_REG_ERROR		0x28
#define VT_REG_FAULT_IOVA	0x30
#define VT_REG_SCRATCH		0x3c
#define VT_MAGIC		0x54465655u
#define VT_STATUS_BUSY		1u
#define VT_STATUS_DONE		2u
#define VT_STATUS_ERROR		4u
#define VT_ERR_DMA_READ		1u
#define VT_ERR_DMA_WRITE	2u
#define VT_VEC_DONE		0
#define VT_VEC_ERROR		1

/* ---- TAP ------------------------------------------------------------------ */

struct vt_case {
	const char *name;
	void (*fn)(void);
	unsigned int timeout;		/* seconds; 0 = 60 */
};

/* Run under `uvfio run` if needed, then every case; the exit status.  With
 * $VT_UVFIO_CONFIG set, the private host is made from that topology file. */
int vt_main(int argc, char **argv, const struct vt_case *cases, unsigned int n);

/* vt_main on a private host made from the topology text host_json. */
int vt_main_host(int argc, char **argv, const struct vt_case *cases, unsigned int n,
		 const char *host_json);

/* A sysfs store as echo does it: write() of s; the bytes written or -errno. */
int vt_write_str(const char *path, const char *s);
/* A read as cat does it, into buf (always NUL-terminated, "" on failure):
 * the bytes read or -errno. */
int vt_read_str(const char *path, char *buf, size_t size);

/* Does a listing of dir (opendir/readdir, as ls) name 'name'? */
bool vt_dir_has(const char *dir, const char *name);

/* In a sanitizer build, make a child about to exec an uninstrumented real
 * program (QEMU, dpdk-test) load the ASan runtime the shim needs first. */
void vt_sanitizer_env(void);

/*
 * Run argv[0] (a path) with argv, its stdout and stderr into fd, the
 * sanitizer environment set (vt_sanitizer_env); give up after timeout_s
 * (SIGKILL, a "# ... did not finish" line).  Its exit status, 128 + the
 * signal that ended it, or -1.
 */
int vt_run_logged(char *const argv[], int fd, unsigned int timeout_s);

/* Record a failure of the current case (it goes on, and fails at the end). */
void vt_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define vt_expect(cond) do {                                                  \
		if (!(cond))                                                  \
			vt_fail(__FILE__, __LINE__, "expected: %s", #cond);   \
	} while (0)

#define vt_expect_eq(a, b) do {                                               \
		long long __a = (long long)(a), __b = (long long)(b);         \
		if (__a != __b)                                               \
			vt_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", \
				#a, __a, #b, __b);                            \
	} while (0)

/* expr returns >= 0 (success). */
#define vt_expect_ok(expr) do {                                               \
		long long __r = (long long)(expr);                            \
		if (__r < 0)                                                  \
			vt_fail(__FILE__, __LINE__, "%s failed: %s", #expr,   \
				strerror(errno));                             \
	} while (0)

/* expr returns -1 with errno e. */
#define vt_expect_errno(expr, e) do {                                         \
		long long __r;                                                \
		errno = 0;                                                    \
		__r = (long long)(expr);                                      \
		if (__r != -1 || errno != (e))                                \
			vt_fail(__FILE__, __LINE__, "%s = %lld (%s), expected -1 (%s)", \
				#expr, __r, __r == -1 ? strerror(errno) : "no error", \
				strerror(e));                                 \
	} while (0)

/* Give up on the case now (a precondition failed). */
#define vt_require(cond) do {                                                 \
		if (!(cond)) {                                                \
			vt_fail(__FILE__, __LINE__, "required: %s (%s)", #cond, \
				strerror(errno));                             \
			vt_abort_case();                                      \
		}                                                             \
	} while (0)

void vt_abort_case(void) __attribute__((noreturn));
bool vt_case_failed(void);

/* ---- VFIO ----------------------------------------------------------------- */

struct vt_dev {
	int container, group, device;
	uint64_t bar0, bar2, config;	/* region offsets */
};

/* Container + group of bdf + device, type1v2, bus mastering on. */
int vt_open(struct vt_dev *d, const char *bdf);
void vt_close(struct vt_dev *d);
int vt_group_of(const char *bdf);

int vt_map(int container, const void *va, uint64_t iova, uint64_t size);
int vt_unmap(int container, uint64_t iova, uint64_t size);

uint32_t vt_reg_read(const struct vt_dev *d, uint32_t reg);
void vt_reg_write(const struct vt_dev *d, uint32_t reg, uint32_t v);
void vt_reg_write64(const struct vt_dev *d, uint32_t reg, uint64_t v);

/* MSI-X vectors [start, start+n) -> eventfds (fds[i] < 0 leaves one unset). */
int vt_msix(const struct vt_dev *d, unsigned int start, unsigned int n, const int *fds);
/* Wait for an eventfd; its count, or 0 after timeout_ms. */
uint64_t vt_wait_event(int efd, int timeout_ms);
/* Start a copy and wait for it to end (not BUSY): STATUS, or ~0u on timeout. */
uint32_t vt_dma_copy(const struct vt_dev *d, uint64_t src, uint64_t dst, uint32_t len);

/* A shared memfd mapping of size bytes (its fd in *fd when non-NULL). */
void *vt_memfd_buf(size_t size, int *fd);
/* Lines in /proc/<pid>/maps (pid 0: this process). */
long vt_map_count(pid_t pid);
/* The daemon's pid, from the runtime dir. */
pid_t vt_daemon_pid(void);

#endif
