/* SPDX-License-Identifier: MIT */
/*
 * Caller memory.
 *
 * The kernel reaches a task's memory through its mm: copy_from_user and
 * copy_to_user for ioctl arguments, get_user_pages for DMA mappings.  uvfio
 * has the same three needs and one abstraction for them, struct uvf_mm,
 * whose ops differ by where the caller lives:
 *
 *  - mm_self: the caller is this process (unit tests, in-process users).
 *    Accesses go through process_vm_readv/writev on ourselves, so a bad
 *    pointer is -EFAULT, never a crash; DMA mappings resolve to direct
 *    memory objects over our own address space.
 *  - remote mms (the daemon, a later layer): a handle on the client's memory
 *    plus the shareable files the client passed for its mappings.
 *
 * DMA mappings resolve a user range to memory objects (struct uvf_memobj):
 * something the host can read and write for as long as it holds a reference,
 * whatever the caller does to its own mappings afterwards (the pin).
 *
 * Locked-memory accounting: struct uvf_account is the locked_vm of one mm
 * (or one user, for iommufd's user mode); charges above the limit fail with
 * -ENOMEM unless the charger had CAP_IPC_LOCK.
 */
#ifndef UVF_MM_H
#define UVF_MM_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <sys/types.h>
#include "../base/refcount.h"
#include "../base/lock.h"

struct uvf_file;

/* ---- memory objects ---------------------------------------------------- */

enum uvf_memobj_kind {
	UVF_MEMOBJ_DIRECT,	/* host-addressable: base[off] is the byte */
	UVF_MEMOBJ_REMOTE,	/* reached with pread/pwrite on a memory handle */
};

struct uvf_memobj {
	struct uvf_ref ref;
	enum uvf_memobj_kind kind;
	uint8_t *base;		/* DIRECT: address of offset 0 (may be NULL = identity) */
	int mem_fd;		/* REMOTE: e.g. /proc/<pid>/mem; offsets are addresses */
	uint64_t size;		/* valid offsets are [0, size) */
	bool readonly;		/* the backing cannot be written (DMA write faults) */
	void (*release)(struct uvf_memobj *m);	/* frees backing, then m */
	void *priv;
};

static inline void memobj_get(struct uvf_memobj *m) { uvf_ref_get(&m->ref); }
void memobj_put(struct uvf_memobj *m);

/* Copy between a memory object and host memory; -EFAULT when unreachable. */
int memobj_read(struct uvf_memobj *m, uint64_t off, void *dst, size_t len);
int memobj_write(struct uvf_memobj *m, uint64_t off, const void *src, size_t len);
/* Host pointer for [off, off+len) of a DIRECT object, NULL otherwise. */
void *memobj_ptr(struct uvf_memobj *m, uint64_t off, size_t len);

/* An anonymous shared memory object (memfd) of 'size' bytes, mapped in the
 * host; its fd is shareable (used for BARs the client mmaps). */
struct uvf_memobj *memobj_new_memfd(const char *name, uint64_t size);
/* The memfd of a memobj made by memobj_new_memfd, or -1. */
int memobj_fd(const struct uvf_memobj *m);

/* ---- locked-memory accounting ------------------------------------------ */

struct uvf_account {
	struct uvf_ref ref;
	struct uvf_mutex lock;
	uint64_t locked_pages;	/* the kernel's mm->locked_vm */
	uint64_t limit_pages;	/* RLIMIT_MEMLOCK in pages; UINT64_MAX = unlimited */
};

struct uvf_account *account_new(uint64_t limit_bytes);
static inline void account_get(struct uvf_account *a) { uvf_ref_get(&a->ref); }
void account_put(struct uvf_account *a);
/* Charge npages; -ENOMEM over the limit unless 'ipc_lock'.  Nothing is
 * charged on failure. */
int account_charge(struct uvf_account *a, uint64_t npages, bool ipc_lock);
void account_uncharge(struct uvf_account *a, uint64_t npages);
/* Charge against a caller-given limit (iommufd's per-user accounting
 * checks the mapping task's RLIMIT_MEMLOCK, not the account's). */
int account_charge_limit(struct uvf_account *a, uint64_t npages, uint64_t limit_pages);

/* ---- the caller's address space ---------------------------------------- */

/* One contiguous piece of a user range, resolved to a memory object. */
struct uvf_mem_seg {
	struct uvf_memobj *obj;	/* referenced; the receiver owns the reference */
	uint64_t off;		/* offset of the piece's first byte in obj */
	uint64_t len;
};

struct uvf_mm;

struct uvf_mm_ops {
	int (*read)(struct uvf_mm *mm, void *dst, uint64_t uaddr, size_t len);
	int (*write)(struct uvf_mm *mm, uint64_t uaddr, const void *src, size_t len);
	/*
	 * Resolve [uaddr, uaddr+len) to memory objects, for DMA.  Fills up to
	 * max segs and returns their count, -EFAULT if part of the range is
	 * not mapped (or not writable when 'write'), -E2BIG if more than max
	 * segments are needed.
	 */
	int (*resolve)(struct uvf_mm *mm, uint64_t uaddr, uint64_t len, bool write,
		       struct uvf_mem_seg *segs, int max);
	void (*release)(struct uvf_mm *mm);
};

struct uvf_mm {
	struct uvf_ref ref;
	const struct uvf_mm_ops *ops;
	pid_t pid;			/* owning process (tgid) */
	struct uvf_account *account;	/* its locked_vm */
	void *priv;
};

static inline void mm_get(struct uvf_mm *mm) { uvf_ref_get(&mm->ref); }
void mm_put(struct uvf_mm *mm);

/* This process's own address space, with a fresh account at 'limit_bytes'. */
struct uvf_mm *mm_self_new(uint64_t limit_bytes);

#endif
