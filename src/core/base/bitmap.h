/* SPDX-License-Identifier: MIT */
/*
 * Bitmaps of unsigned long words, bit i at word i/64 bit i%64: the same
 * layout as the kernel's and as the dirty bitmaps of the uAPI, so a bitmap
 * can be copied to a user buffer as is.
 */
#ifndef UVF_BASE_BITMAP_H
#define UVF_BASE_BITMAP_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#define BITS_PER_LONG 64
#define BITS_TO_LONGS(n) (((n) + BITS_PER_LONG - 1) / BITS_PER_LONG)

unsigned long *bitmap_zalloc(uint64_t nbits);
void bitmap_free(unsigned long *map);

static inline void set_bit(uint64_t nr, unsigned long *map)
{
	map[nr / BITS_PER_LONG] |= 1UL << (nr % BITS_PER_LONG);
}

static inline void clear_bit(uint64_t nr, unsigned long *map)
{
	map[nr / BITS_PER_LONG] &= ~(1UL << (nr % BITS_PER_LONG));
}

static inline bool test_bit(uint64_t nr, const unsigned long *map)
{
	return (map[nr / BITS_PER_LONG] >> (nr % BITS_PER_LONG)) & 1;
}

/* Atomic variant for bits set from device threads (dirty tracking). */
static inline void set_bit_atomic(uint64_t nr, unsigned long *map)
{
	__atomic_fetch_or(&map[nr / BITS_PER_LONG], 1UL << (nr % BITS_PER_LONG),
			  __ATOMIC_RELAXED);
}

void bitmap_set(unsigned long *map, uint64_t start, uint64_t len);
void bitmap_clear(unsigned long *map, uint64_t start, uint64_t len);
/* Index of the next set/clear bit at or after 'start', or nbits if none. */
uint64_t find_next_bit(const unsigned long *map, uint64_t nbits, uint64_t start);
uint64_t find_next_zero_bit(const unsigned long *map, uint64_t nbits, uint64_t start);
uint64_t bitmap_weight(const unsigned long *map, uint64_t nbits);
bool bitmap_empty(const unsigned long *map, uint64_t nbits);

#endif
