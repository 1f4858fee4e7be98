/* SPDX-License-Identifier: MIT */
/*
 * Small helpers every layer uses: container_of, array sizes, alignment,
 * overflow-checked arithmetic.
 */
#ifndef UVF_BASE_COMPILER_H
#define UVF_BASE_COMPILER_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* offsetofend: the kernel's "minsz" rule is expressed with this. */
#define offsetofend(type, member) \
	(offsetof(type, member) + sizeof(((type *)0)->member))

#define UVF_PAGE_SHIFT 12
#define UVF_PAGE_SIZE  (1ULL << UVF_PAGE_SHIFT)

#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a) - 1)) == 0)
#define ALIGN_UP(x, a)   (((x) + ((__typeof__(x))(a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))

#define uvf_min(a, b) ((a) < (b) ? (a) : (b))
#define uvf_max(a, b) ((a) > (b) ? (a) : (b))

#define check_add_overflow(a, b, d) __builtin_add_overflow(a, b, d)
#define check_mul_overflow(a, b, d) __builtin_mul_overflow(a, b, d)

#define UVF_UNUSED __attribute__((unused))
#define UVF_PRINTF(f, a) __attribute__((format(printf, f, a)))

#endif
