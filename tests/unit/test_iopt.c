// SPDX-License-Identifier: MIT
/*
 * The io page table: map/unmap rules in both unmap modes, reserved ranges,
 * IOVA allocation, lazy pin accounting, translation and DMA copies across
 * segments and areas, faults, dirty tracking.
 */
#include "harness.h"
#include "core/iommufd/io_pagetable.h"
#include "core/base/bitmap.h"
#include "core/base/compiler.h"

#define PG	UVF_PAGE_SIZE
#define MEMSZ	(4ULL << 20)

struct fixture {
	struct io_pagetable iopt;
	struct uvf_memobj *mem;		/* 4 MiB of test backing */
	struct uvf_memobj *mem2;	/* a second object */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	iopt_init(&f->iopt, PG);
	f->mem = memobj_new_memfd("iopt-test", MEMSZ);
	f->mem2 = memobj_new_memfd("iopt-test2", MEMSZ);
	assert_non_null(f->mem);
	assert_non_null(f->mem2);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	iopt_destroy(&f->iopt);
	/* The table dropped every reference it took over. */
	assert_int_equal(uvf_ref_read(&f->mem->ref), 1);
	assert_int_equal(uvf_ref_read(&f->mem2->ref), 1);
	memobj_put(f->mem);
	memobj_put(f->mem2);
	free(f);
	return 0;
}

/* Map [iova, iova+len) onto obj at off with one segment; on failure the
 * reference handed in is still ours and is dropped here. */
static int map_seg(struct io_pagetable *iopt, uint64_t *iova, struct uvf_memobj *obj,
		   uint64_t off, uint64_t len, int prot, unsigned int flags,
		   struct uvf_account *acct, bool ipc_lock, uint64_t uaddr)
{
	struct uvf_mem_seg seg = { .obj = obj, .off = off, .len = len };
	int rc;

	memobj_get(obj);
	rc = iopt_map(iopt, iova, &seg, 1, prot, flags, acct, ipc_lock, uaddr, NULL);
	if (rc)
		memobj_put(obj);
	return rc;
}

static int map_fixed(struct fixture *f, uint64_t iova, uint64_t off, uint64_t len, int prot)
{
	return map_seg(&f->iopt, &iova, f->mem, off, len, prot, IOPT_MAP_FIXED, NULL,
		       false, 0x7f0000000000ULL + off);
}

static int map_alloc(struct fixture *f, uint64_t *iova, uint64_t len, uint64_t uaddr)
{
	return map_seg(&f->iopt, iova, f->mem, 0, len, IOPT_READ | IOPT_WRITE, 0, NULL,
		       false, uaddr);
}

#define RW (IOPT_READ | IOPT_WRITE)

/* ---- map ------------------------------------------------------------------- */

static void test_map_basic(void **state)
{
	struct fixture *f = *state;
	struct iopt_area *a, *out = NULL;
	struct uvf_mem_seg seg = { .obj = f->mem, .off = 2 * PG, .len = 3 * PG };
	uint64_t iova = 0x100000;

	memobj_get(f->mem);
	assert_int_equal(iopt_map(&f->iopt, &iova, &seg, 1, IOPT_READ, IOPT_MAP_FIXED,
				  NULL, false, 0x5000, &out), 0);
	assert_int_equal(iova, 0x100000);
	/* The area took over the reference; the segs array was copied. */
	assert_int_equal(uvf_ref_read(&f->mem->ref), 2);
	seg.off = 999;
	assert_int_equal(iopt_area_count(&f->iopt), 1);
	a = iopt_area_find(&f->iopt, 0x100000 + 3 * PG - 1);
	assert_ptr_equal(a, out);
	assert_int_equal(iopt_area_iova(a), 0x100000);
	assert_int_equal(iopt_area_last(a), 0x100000 + 3 * PG - 1);
	assert_int_equal(iopt_area_length(a), 3 * PG);
	assert_int_equal(a->prot, IOPT_READ);
	assert_int_equal(a->uaddr, 0x5000);
	assert_int_equal(a->segs[0].off, 2 * PG);
	assert_null(iopt_area_find(&f->iopt, 0x100000 - 1));
	assert_null(iopt_area_find(&f->iopt, 0x100000 + 3 * PG));
}

static void test_map_einval(void **state)
{
	struct fixture *f = *state;
	struct uvf_mem_seg seg = { .obj = f->mem, .off = 0, .len = PG };
	uint64_t iova = 0x10000;

	/* No segments, a zero-length segment: length 0. */
	assert_errno(iopt_map(&f->iopt, &iova, &seg, 0, RW, IOPT_MAP_FIXED, NULL, false,
			      0, NULL), -EINVAL);
	assert_errno(map_fixed(f, 0x10000, 0, 0, RW), -EINVAL);
	/* Unaligned iova or length. */
	assert_errno(map_fixed(f, 0x10800, 0, PG, RW), -EINVAL);
	assert_errno(map_fixed(f, 0x10000, 0, PG + 512, RW), -EINVAL);
	assert_errno(map_alloc(f, &iova, 100, 0x1000), -EINVAL);
	/* A segment past the end of its object; unknown prot or flag bits. */
	assert_errno(map_fixed(f, 0x10000, MEMSZ - PG, 2 * PG, RW), -EINVAL);
	assert_errno(map_fixed(f, 0x10000, 0, PG, 1 << 5), -EINVAL);
	assert_errno(iopt_map(&f->iopt, &iova, &seg, 1, RW, 1 << 4, NULL, false, 0, NULL),
		     -EINVAL);
	assert_int_equal(iopt_area_count(&f->iopt), 0);
	/* The caller kept its references through every failure. */
	assert_int_equal(uvf_ref_read(&f->mem->ref), 1);
}

static void test_map_eoverflow_and_top(void **state)
{
	struct fixture *f = *state;
	uint64_t top = UINT64_MAX - PG + 1;	/* the last page of IOVA space */

	assert_errno(map_fixed(f, top, 0, 2 * PG, RW), -EOVERFLOW);
	assert_errno(map_fixed(f, top - PG, 0, 3 * PG, RW), -EOVERFLOW);
	/* The last page itself is mappable and findable. */
	assert_int_equal(map_fixed(f, top, 0, PG, RW), 0);
	assert_non_null(iopt_area_find(&f->iopt, UINT64_MAX));
	assert_int_equal(map_fixed(f, 0, PG, PG, RW), 0);
	assert_non_null(iopt_area_find(&f->iopt, 0));
}

static void test_map_eexist_and_adjacent(void **state)
{
	struct fixture *f = *state;
	const uint64_t b = 0x40000;

	assert_int_equal(map_fixed(f, b, 0, 4 * PG, RW), 0);
	assert_errno(map_fixed(f, b, 0, 4 * PG, RW), -EEXIST);		/* same */
	assert_errno(map_fixed(f, b - PG, 0, 2 * PG, RW), -EEXIST);	/* head */
	assert_errno(map_fixed(f, b + 3 * PG, 0, 2 * PG, RW), -EEXIST);	/* tail */
	assert_errno(map_fixed(f, b + PG, 0, PG, RW), -EEXIST);		/* inside */
	assert_errno(map_fixed(f, b - PG, 0, 6 * PG, RW), -EEXIST);	/* around */
	/* Touching at either end is fine. */
	assert_int_equal(map_fixed(f, b - PG, 0, PG, RW), 0);
	assert_int_equal(map_fixed(f, b + 4 * PG, 0, PG, RW), 0);
	assert_int_equal(iopt_area_count(&f->iopt), 3);
}

static void test_reserved(void **state)
{
	struct fixture *f = *state;

	assert_errno(iopt_reserve(&f->iopt, 0x20000, 0x1ffff), -EINVAL);
	assert_int_equal(iopt_reserve(&f->iopt, 0xfee00000, 0xfeefffff), 0);
	assert_errno(map_fixed(f, 0xfee00000, 0, PG, RW), -EADDRINUSE);
	assert_errno(map_fixed(f, 0xfedff000, 0, 2 * PG, RW), -EADDRINUSE);
	assert_errno(map_fixed(f, 0xfeeff000, 0, 2 * PG, RW), -EADDRINUSE);
	assert_int_equal(map_fixed(f, 0xfedff000, 0, PG, RW), 0);
	assert_int_equal(map_fixed(f, 0xfef00000, 0, PG, RW), 0);
	/* A mapping in the way of a new reservation. */
	assert_errno(iopt_reserve(&f->iopt, 0xfef00fff, 0xfef01fff), -EADDRINUSE);
	/* Overlapping reservations are allowed; areas still win the errno race. */
	assert_int_equal(iopt_reserve(&f->iopt, 0xfee80000, 0xfeefffff), 0);
	assert_errno(map_fixed(f, 0xfedff000, 0, 2 * PG, RW), -EEXIST);
	iopt_unreserve_all(&f->iopt);
	assert_int_equal(map_fixed(f, 0xfee00000, 0, PG, RW), 0);
}

static void test_alloc_placement(void **state)
{
	struct fixture *f = *state;
	uint64_t iova;

	/* An empty table: the lowest page-aligned IOVA, never 0. */
	assert_int_equal(map_alloc(f, &iova, PG, 0x7f0000001000ULL), 0);
	assert_int_equal(iova, PG);
	/* Next hole after it. */
	assert_int_equal(map_alloc(f, &iova, PG, 0x7f0000001000ULL), 0);
	assert_int_equal(iova, 2 * PG);
	/* The uaddr's natural alignment (4 KiB) caps the size's: 12 KiB fills
	 * the lowest hole rather than a 16 KiB-aligned one. */
	assert_int_equal(map_alloc(f, &iova, 3 * PG, 0x7f0000003000ULL), 0);
	assert_int_equal(iova, 3 * PG);
	/* A 2 MiB-aligned user address and length give a 2 MiB-aligned IOVA. */
	assert_int_equal(map_alloc(f, &iova, 2ULL << 20, 0x7f0000200000ULL), 0);
	assert_int_equal(iova, 2ULL << 20);
	/* 16 KiB at a 16 KiB-aligned uaddr: the first 16 KiB-aligned hole,
	 * leaving the page at 24 KiB free. */
	assert_int_equal(map_alloc(f, &iova, 4 * PG, 0x7f0000004000ULL), 0);
	assert_int_equal(iova, 8 * PG);
	assert_int_equal(map_alloc(f, &iova, PG, 0x1000), 0);
	assert_int_equal(iova, 6 * PG);
	/* uaddr 0: aligned to the length rounded up to a power of two. */
	assert_int_equal(map_alloc(f, &iova, 3 * PG, 0), 0);
	assert_int_equal(iova, 12 * PG);
}

static void test_alloc_skips_reserved_and_enospc(void **state)
{
	struct fixture *f = *state;
	uint64_t iova;

	assert_int_equal(iopt_reserve(&f->iopt, PG, 0xffff), 0);
	assert_int_equal(map_alloc(f, &iova, PG, 0x1000), 0);
	assert_int_equal(iova, 0x10000);
	/* Leave only the top two pages free; the last is never allocated. */
	assert_int_equal(iopt_reserve(&f->iopt, 0x11000, UINT64_MAX - 2 * PG), 0);
	assert_errno(map_alloc(f, &iova, 2 * PG, 0x1000), -ENOSPC);
	/* The last page of the space is not allocatable either (iommufd). */
	assert_int_equal(map_alloc(f, &iova, PG, 0x1000), 0);
	assert_int_equal(iova, UINT64_MAX - 2 * PG + 1);
	assert_errno(map_alloc(f, &iova, PG, 0x1000), -ENOSPC);
	assert_int_equal(iopt_area_count(&f->iopt), 2);
}

/* Below a page (alignment 1, as iommufd without a domain), the IOVA keeps
 * the user address's offset in its page. */
static void test_alloc_keeps_page_offset(void **state)
{
	struct fixture *f = *state;
	struct io_pagetable t;
	uint64_t iova;

	iopt_init(&t, 1);
	assert_int_equal(map_seg(&t, &iova, f->mem, 0, 16, RW, 0, NULL, false, 0x10010), 0);
	assert_int_equal(iova, 0x1010);
	assert_int_equal(map_seg(&t, &iova, f->mem, 0, 16, RW, 0, NULL, false, 0x10010), 0);
	assert_int_equal(iova, 0x2010);
	assert_int_equal(map_seg(&t, &iova, f->mem, 0, 100, RW, 0, NULL, false, 0), 0);
	assert_int_equal(iova, 0x1080);	/* 128-aligned, first hole after 0x101f */
	iopt_destroy(&t);
}

/* ---- unmap ------------------------------------------------------------------ */

/* Three mappings: [A, A+2P) [A+2P, A+4P) and a gap, then [A+8P, A+12P). */
#define A 0x100000ULL
static void map_three(struct fixture *f)
{
	assert_int_equal(map_fixed(f, A, 0, 2 * PG, RW), 0);
	assert_int_equal(map_fixed(f, A + 2 * PG, 0, 2 * PG, RW), 0);
	assert_int_equal(map_fixed(f, A + 8 * PG, 0, 4 * PG, RW), 0);
}

static void test_unmap_strict(void **state)
{
	struct fixture *f = *state;
	uint64_t n = 123;

	map_three(f);
	assert_errno(iopt_unmap(&f->iopt, A, 0, IOPT_UNMAP_STRICT, &n), -EINVAL);
	assert_errno(iopt_unmap(&f->iopt, UINT64_MAX - PG + 1, 2 * PG, IOPT_UNMAP_STRICT, &n),
		     -EOVERFLOW);
	/* Bisecting the first or the last mapping unmaps nothing. */
	assert_errno(iopt_unmap(&f->iopt, A + PG, 4 * PG, IOPT_UNMAP_STRICT, &n), -EINVAL);
	assert_int_equal(n, 0);
	assert_errno(iopt_unmap(&f->iopt, A, 9 * PG, IOPT_UNMAP_STRICT, &n), -EINVAL);
	assert_int_equal(n, 0);
	assert_errno(iopt_unmap(&f->iopt, A + 9 * PG, PG, IOPT_UNMAP_STRICT, &n), -EINVAL);
	assert_int_equal(iopt_area_count(&f->iopt), 3);
	/* Nothing mapped in the range: success, 0 bytes. */
	n = 123;
	assert_int_equal(iopt_unmap(&f->iopt, A + 4 * PG, 4 * PG, IOPT_UNMAP_STRICT, &n), 0);
	assert_int_equal(n, 0);
	/* A range covering the first two whole, with gap space around. */
	assert_int_equal(iopt_unmap(&f->iopt, A - PG, 6 * PG, IOPT_UNMAP_STRICT, &n), 0);
	assert_int_equal(n, 4 * PG);
	assert_int_equal(iopt_area_count(&f->iopt), 1);
	/* Exact. */
	assert_int_equal(iopt_unmap(&f->iopt, A + 8 * PG, 4 * PG, IOPT_UNMAP_STRICT, NULL), 0);
	assert_int_equal(iopt_area_count(&f->iopt), 0);
}

static void test_unmap_type1_v1(void **state)
{
	struct fixture *f = *state;
	uint64_t n;

	map_three(f);
	/* Starting inside the first mapping: success, nothing at all unmapped,
	 * not even the second mapping the range fully covers. */
	assert_int_equal(iopt_unmap(&f->iopt, A + PG, 4 * PG, IOPT_UNMAP_TYPE1_V1, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(iopt_area_count(&f->iopt), 3);
	/* Covering the first IOVA of a mapping removes it whole. */
	assert_int_equal(iopt_unmap(&f->iopt, A, PG, IOPT_UNMAP_TYPE1_V1, &n), 0);
	assert_int_equal(n, 2 * PG);
	assert_null(iopt_area_find(&f->iopt, A + PG));
	/* From the gap over the start of the next two: both go whole. */
	assert_int_equal(iopt_unmap(&f->iopt, A + PG, 8 * PG, IOPT_UNMAP_TYPE1_V1, &n), 0);
	assert_int_equal(n, 6 * PG);
	assert_int_equal(iopt_area_count(&f->iopt), 0);
	assert_int_equal(iopt_unmap(&f->iopt, A, PG, IOPT_UNMAP_TYPE1_V1, &n), 0);
	assert_int_equal(n, 0);
}

static void test_unmap_all(void **state)
{
	struct fixture *f = *state;
	uint64_t n;

	assert_int_equal(iopt_unmap_all(&f->iopt, &n), 0);
	assert_int_equal(n, 0);
	map_three(f);
	assert_int_equal(map_fixed(f, UINT64_MAX - PG + 1, 0, PG, RW), 0);
	assert_int_equal(uvf_ref_read(&f->mem->ref), 5);
	assert_int_equal(iopt_unmap_all(&f->iopt, &n), 0);
	assert_int_equal(n, 9 * PG);
	assert_int_equal(iopt_area_count(&f->iopt), 0);
	assert_int_equal(uvf_ref_read(&f->mem->ref), 1);
}

/* ---- pinning and accounting ------------------------------------------------ */

static void test_pin_lazy_accounting(void **state)
{
	struct fixture *f = *state;
	struct uvf_account *acct = account_new(3 * PG);
	uint64_t iova;

	assert_non_null(acct);
	/* Unpinned: mapping beyond the limit is fine and charges nothing. */
	iova = A;
	assert_int_equal(map_seg(&f->iopt, &iova, f->mem, 0, 2 * PG, RW, IOPT_MAP_FIXED,
				 acct, false, 0x1000), 0);
	assert_int_equal(acct->locked_pages, 0);
	assert_int_equal(uvf_ref_read(&acct->ref), 2);	/* the area's */

	/* The first pin user charges every area. */
	assert_int_equal(iopt_add_pin_user(&f->iopt), 0);
	assert_int_equal(acct->locked_pages, 2);
	/* A second pin user charges nothing more. */
	assert_int_equal(iopt_add_pin_user(&f->iopt), 0);
	assert_int_equal(acct->locked_pages, 2);

	/* Maps while pinned are charged at once; over the limit -ENOMEM, and
	 * nothing is charged or mapped. */
	iova = A + 2 * PG;
	assert_int_equal(map_seg(&f->iopt, &iova, f->mem, 0, PG, RW, IOPT_MAP_FIXED,
				 acct, false, 0x3000), 0);
	assert_int_equal(acct->locked_pages, 3);
	iova = A + 3 * PG;
	assert_errno(map_seg(&f->iopt, &iova, f->mem, 0, PG, RW, IOPT_MAP_FIXED,
			     acct, false, 0x4000), -ENOMEM);
	assert_int_equal(acct->locked_pages, 3);
	assert_null(iopt_area_find(&f->iopt, A + 3 * PG));
	/* CAP_IPC_LOCK passes the limit but is still counted. */
	assert_int_equal(map_seg(&f->iopt, &iova, f->mem, 0, PG, RW, IOPT_MAP_FIXED,
				 acct, true, 0x4000), 0);
	assert_int_equal(acct->locked_pages, 4);

	/* Unmap uncharges. */
	assert_int_equal(iopt_unmap(&f->iopt, A + 3 * PG, PG, IOPT_UNMAP_STRICT, NULL), 0);
	assert_int_equal(acct->locked_pages, 3);

	/* The last pin user going uncharges all. */
	iopt_del_pin_user(&f->iopt);
	assert_int_equal(acct->locked_pages, 3);
	iopt_del_pin_user(&f->iopt);
	assert_int_equal(acct->locked_pages, 0);

	account_put(acct);	/* the areas keep it alive */
	assert_int_equal(uvf_ref_read(&acct->ref), 2);
}

static void test_pin_rollback(void **state)
{
	struct fixture *f = *state;
	struct uvf_account *ok = account_new(UINT64_MAX);
	struct uvf_account *tight = account_new(2 * PG);
	uint64_t iova;
	int i;

	assert_non_null(ok);
	assert_non_null(tight);
	/* Areas alternate between two accounts; the tight one overflows at
	 * its third page, after charges were made to both. */
	for (i = 0; i < 6; i++) {
		iova = A + (uint64_t)i * PG;
		assert_int_equal(map_seg(&f->iopt, &iova, f->mem, 0, PG, RW, IOPT_MAP_FIXED,
					 i % 2 ? tight : ok, false, 0x1000), 0);
	}
	assert_errno(iopt_add_pin_user(&f->iopt), -ENOMEM);
	assert_int_equal(ok->locked_pages, 0);
	assert_int_equal(tight->locked_pages, 0);
	assert_int_equal(f->iopt.pin_users, 0);
	/* Still unpinned: a later successful pin charges from scratch. */
	assert_int_equal(iopt_unmap(&f->iopt, A + 5 * PG, PG, IOPT_UNMAP_STRICT, NULL), 0);
	assert_int_equal(iopt_add_pin_user(&f->iopt), 0);
	assert_int_equal(ok->locked_pages, 3);
	assert_int_equal(tight->locked_pages, 2);
	/* No account: never charged. */
	iova = A + 5 * PG;
	assert_int_equal(map_seg(&f->iopt, &iova, f->mem, 0, PG, RW, IOPT_MAP_FIXED,
				 NULL, false, 0x1000), 0);
	/* Destroying a pinned table releases its charges (teardown). */
	iopt_destroy(&f->iopt);
	iopt_init(&f->iopt, PG);
	assert_int_equal(ok->locked_pages, 0);
	assert_int_equal(tight->locked_pages, 0);
	assert_int_equal(uvf_ref_read(&ok->ref), 1);
	account_put(ok);
	account_put(tight);
}

/* ---- translation and DMA -------------------------------------------------- */

/* One area of three segments: mem[0x3000,+1P) mem2[0x10000,+2P) mem[0,+1P). */
static struct iopt_area *map_segmented(struct fixture *f, uint64_t iova, int prot)
{
	struct uvf_mem_seg segs[3] = {
		{ .obj = f->mem, .off = 0x3000, .len = PG },
		{ .obj = f->mem2, .off = 0x10000, .len = 2 * PG },
		{ .obj = f->mem, .off = 0, .len = PG },
	};
	struct iopt_area *a = NULL;

	memobj_get(f->mem);
	memobj_get(f->mem2);
	memobj_get(f->mem);
	assert_int_equal(iopt_map(&f->iopt, &iova, segs, 3, prot, IOPT_MAP_FIXED, NULL,
				  false, 0, &a), 0);
	return a;
}

static void test_translate_segments(void **state)
{
	struct fixture *f = *state;
	struct iopt_xlate x;

	map_segmented(f, A, IOPT_READ);
	uvf_read_lock(&f->iopt.lock);
	assert_int_equal(iopt_translate(&f->iopt, A + 0x10, 16 * PG, IOPT_READ, &x), 0);
	assert_ptr_equal(x.obj, f->mem);
	assert_int_equal(x.off, 0x3010);
	assert_int_equal(x.len, PG - 0x10);		/* clipped at the segment */
	assert_int_equal(iopt_translate(&f->iopt, A + PG + 8, 8, IOPT_READ, &x), 0);
	assert_ptr_equal(x.obj, f->mem2);
	assert_int_equal(x.off, 0x10008);
	assert_int_equal(x.len, 8);			/* what was asked */
	assert_int_equal(iopt_translate(&f->iopt, A + 3 * PG - 1, 100, IOPT_READ, &x), 0);
	assert_ptr_equal(x.obj, f->mem2);
	assert_int_equal(x.off, 0x10000 + 2 * PG - 1);
	assert_int_equal(x.len, 1);
	assert_int_equal(iopt_translate(&f->iopt, A + 4 * PG - 1, 100, IOPT_READ, &x), 0);
	assert_ptr_equal(x.obj, f->mem);
	assert_int_equal(x.off, PG - 1);
	assert_int_equal(x.len, 1);
	/* Unmapped, beyond the end, wrong permission, empty. */
	assert_errno(iopt_translate(&f->iopt, A - 1, 1, IOPT_READ, &x), -EFAULT);
	assert_errno(iopt_translate(&f->iopt, A + 4 * PG, 1, IOPT_READ, &x), -EFAULT);
	assert_errno(iopt_translate(&f->iopt, A, 1, IOPT_WRITE, &x), -EFAULT);
	assert_errno(iopt_translate(&f->iopt, A, 1, IOPT_READ | IOPT_WRITE, &x), -EFAULT);
	assert_errno(iopt_translate(&f->iopt, A, 0, IOPT_READ, &x), -EINVAL);
	uvf_rw_unlock(&f->iopt.lock);
}

static void test_translate_many_areas(void **state)
{
	struct fixture *f = *state;
	struct iopt_xlate x;
	uint64_t i, iova;

	/* 512 one-page areas, every other page, each at a distinct offset. */
	for (i = 0; i < 512; i++)
		assert_int_equal(map_fixed(f, A + i * 2 * PG, (i % 256) * PG, PG, RW), 0);
	uvf_read_lock(&f->iopt.lock);
	for (i = 0; i < 512; i++) {
		iova = A + i * 2 * PG + (i * 7) % PG;
		assert_int_equal(iopt_translate(&f->iopt, iova, 1, IOPT_READ, &x), 0);
		assert_int_equal(x.off, (i % 256) * PG + (i * 7) % PG);
		assert_errno(iopt_translate(&f->iopt, iova + PG, 1, IOPT_READ, &x), -EFAULT);
	}
	uvf_rw_unlock(&f->iopt.lock);
}

static void test_rw_across_segments_and_areas(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[6 * PG], back[6 * PG];
	uint8_t *m = memobj_ptr(f->mem, 0, MEMSZ), *m2 = memobj_ptr(f->mem2, 0, MEMSZ);
	uint64_t fault = 0;
	size_t i;

	map_segmented(f, A, RW);
	/* A second area right after: mem[0x20000, +2P). */
	assert_int_equal(map_fixed(f, A + 4 * PG, 0x20000, 2 * PG, RW), 0);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 13 + 1);
	assert_int_equal(iopt_rw(&f->iopt, A + 0x800, buf, sizeof(buf) - PG, true, &fault), 0);
	/* Each piece landed where the segments say. */
	assert_memory_equal(m + 0x3800, buf, PG - 0x800);
	assert_memory_equal(m2 + 0x10000, buf + PG - 0x800, 2 * PG);
	assert_memory_equal(m, buf + 3 * PG - 0x800, PG);
	assert_memory_equal(m + 0x20000, buf + 4 * PG - 0x800, PG + 0x800);
	memset(back, 0, sizeof(back));
	assert_int_equal(iopt_rw(&f->iopt, A + 0x800, back, sizeof(buf) - PG, false, &fault), 0);
	assert_memory_equal(back, buf, sizeof(buf) - PG);

	/* Running off the end: the bytes before the fault were copied, and the
	 * fault is the first unmapped IOVA. */
	memset(m + 0x20000, 0, 2 * PG);
	assert_errno(iopt_rw(&f->iopt, A + 5 * PG, buf, 2 * PG, true, &fault), -EFAULT);
	assert_int_equal(fault, A + 6 * PG);
	assert_memory_equal(m + 0x21000, buf, PG);
	assert_errno(iopt_rw(&f->iopt, A - 4, back, 8, false, &fault), -EFAULT);
	assert_int_equal(fault, A - 4);
	/* A range past the top of IOVA space faults at its start. */
	assert_errno(iopt_rw(&f->iopt, UINT64_MAX - 3, back, 8, false, &fault), -EFAULT);
	assert_int_equal(fault, UINT64_MAX - 3);
	assert_int_equal(iopt_rw(&f->iopt, A, back, 0, false, NULL), 0);
}

static void test_rw_readonly(void **state)
{
	struct fixture *f = *state;
	uint8_t *m = memobj_ptr(f->mem, 0, MEMSZ);
	uint8_t b[16] = { 0xaa };
	uint64_t fault = 0;

	assert_int_equal(map_fixed(f, A, 0, PG, IOPT_READ), 0);
	assert_int_equal(map_fixed(f, A + PG, PG, PG, IOPT_WRITE), 0);
	m[0] = 0x55;
	assert_errno(iopt_rw(&f->iopt, A, b, 1, true, &fault), -EFAULT);
	assert_int_equal(fault, A);
	assert_int_equal(m[0], 0x55);
	assert_int_equal(iopt_rw(&f->iopt, A, b, 1, false, &fault), 0);
	assert_int_equal(b[0], 0x55);
	/* Write-only: reads fault, writes land. */
	assert_errno(iopt_rw(&f->iopt, A + PG, b, 1, false, &fault), -EFAULT);
	assert_int_equal(fault, A + PG);
	/* A read-only memory object refuses writes even in a writable area. */
	f->mem2->readonly = true;
	{
		uint64_t iova = A + 2 * PG;
		struct iopt_xlate x;

		assert_int_equal(map_seg(&f->iopt, &iova, f->mem2, 0, PG, RW, IOPT_MAP_FIXED,
					 NULL, false, 0), 0);
		assert_errno(iopt_rw(&f->iopt, A + 2 * PG + 4, b, 4, true, &fault), -EFAULT);
		assert_int_equal(fault, A + 2 * PG + 4);
		uvf_read_lock(&f->iopt.lock);
		assert_errno(iopt_translate(&f->iopt, iova, 1, IOPT_WRITE, &x), -EFAULT);
		assert_int_equal(iopt_translate(&f->iopt, iova, 1, IOPT_READ, &x), 0);
		uvf_rw_unlock(&f->iopt.lock);
	}
	f->mem2->readonly = false;
}

/* ---- dirty tracking ------------------------------------------------------- */

static void test_dirty_tracking(void **state)
{
	struct fixture *f = *state;
	unsigned long bm[4];
	uint8_t b[2] = { 1, 2 };

	assert_int_equal(map_fixed(f, A, 0, 8 * PG, RW), 0);
	memset(bm, 0, sizeof(bm));
	assert_errno(iopt_read_dirty(&f->iopt, A, 8 * PG, bm, false), -EINVAL);
	assert_int_equal(iopt_set_dirty_tracking(&f->iopt, true, 12), 0);
	/* Same granularity again: kept; another one: refused. */
	assert_int_equal(iopt_set_dirty_tracking(&f->iopt, true, 12), 0);
	assert_errno(iopt_set_dirty_tracking(&f->iopt, true, 13), -EINVAL);

	/* Starts clean. */
	assert_int_equal(iopt_read_dirty(&f->iopt, A, 8 * PG, bm, false), 0);
	assert_int_equal(bm[0], 0);
	/* A DMA write over a page boundary dirties both pages; reads do not. */
	assert_int_equal(iopt_rw(&f->iopt, A + 2 * PG - 1, b, 2, true, NULL), 0);
	assert_int_equal(iopt_rw(&f->iopt, A + 5 * PG, b, 2, false, NULL), 0);
	iopt_mark_dirty(&f->iopt, A + 6 * PG, 1);
	/* Read with NO_CLEAR from one page before the area: bit 0 = A - PG. */
	assert_int_equal(iopt_read_dirty(&f->iopt, A - PG, 10 * PG, bm, true), 0);
	assert_int_equal(bm[0], (1UL << 2) | (1UL << 3) | (1UL << 7));
	/* OR semantics: bits already set in the user bitmap stay. */
	bm[0] = 1UL << 20;
	assert_int_equal(iopt_read_dirty(&f->iopt, A, 8 * PG, bm, false), 0);
	assert_int_equal(bm[0], (1UL << 20) | (1UL << 1) | (1UL << 2) | (1UL << 6));
	/* Cleared by that read. */
	bm[0] = 0;
	assert_int_equal(iopt_read_dirty(&f->iopt, A, 8 * PG, bm, false), 0);
	assert_int_equal(bm[0], 0);

	/* A sub-range clears only its own bits. */
	iopt_mark_dirty(&f->iopt, A, 8 * PG);
	assert_int_equal(iopt_read_dirty(&f->iopt, A + 2 * PG, 2 * PG, bm, false), 0);
	assert_int_equal(bm[0], 3);
	bm[0] = 0;
	assert_int_equal(iopt_read_dirty(&f->iopt, A, 8 * PG, bm, false), 0);
	assert_int_equal(bm[0], 0xf3);

	/* Unaligned or empty ranges. */
	assert_errno(iopt_read_dirty(&f->iopt, A + 1, PG, bm, false), -EINVAL);
	assert_errno(iopt_read_dirty(&f->iopt, A, PG + 1, bm, false), -EINVAL);
	assert_errno(iopt_read_dirty(&f->iopt, A, 0, bm, false), -EINVAL);
	assert_errno(iopt_read_dirty(&f->iopt, UINT64_MAX - PG + 1, 2 * PG, bm, false),
		     -EOVERFLOW);

	/* An area mapped while tracking gets a clean bitmap; reading across
	 * two areas and the gap between them. */
	assert_int_equal(map_fixed(f, A + 70 * PG, 0, 2 * PG, RW), 0);
	assert_int_equal(iopt_rw(&f->iopt, A + 71 * PG, b, 1, true, NULL), 0);
	iopt_mark_dirty(&f->iopt, A + 7 * PG, 64 * PG);	/* the gap is ignored */
	memset(bm, 0, sizeof(bm));
	assert_int_equal(iopt_read_dirty(&f->iopt, A, 72 * PG, bm, false), 0);
	assert_int_equal(bm[0], 1UL << 7);
	assert_int_equal(bm[1], (1UL << 6) | (1UL << 7));

	/* Off: bitmaps are gone and writes are not recorded. */
	assert_int_equal(iopt_set_dirty_tracking(&f->iopt, false, 0), 0);
	assert_errno(iopt_read_dirty(&f->iopt, A, 8 * PG, bm, false), -EINVAL);
	assert_int_equal(iopt_rw(&f->iopt, A, b, 1, true, NULL), 0);
	assert_int_equal(iopt_set_dirty_tracking(&f->iopt, true, 13), 0);
	memset(bm, 0, sizeof(bm));
	assert_int_equal(iopt_read_dirty(&f->iopt, A, 8 * PG, bm, false), 0);
	assert_int_equal(bm[0], 0);
	/* 8 KiB granularity: a write at A + 3 pages dirties 8 KiB page 1. */
	assert_int_equal(iopt_rw(&f->iopt, A + 3 * PG, b, 1, true, NULL), 0);
	assert_int_equal(iopt_read_dirty(&f->iopt, A, 8 * PG, bm, false), 0);
	assert_int_equal(bm[0], 1UL << 1);
	assert_errno(iopt_read_dirty(&f->iopt, A, PG, bm, false), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_map_basic),
		T(test_map_einval),
		T(test_map_eoverflow_and_top),
		T(test_map_eexist_and_adjacent),
		T(test_reserved),
		T(test_alloc_placement),
		T(test_alloc_skips_reserved_and_enospc),
		T(test_alloc_keeps_page_offset),
		T(test_unmap_strict),
		T(test_unmap_type1_v1),
		T(test_unmap_all),
		T(test_pin_lazy_accounting),
		T(test_pin_rollback),
		T(test_translate_segments),
		T(test_translate_many_areas),
		T(test_rw_across_segments_and_areas),
		T(test_rw_readonly),
		T(test_dirty_tracking),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
