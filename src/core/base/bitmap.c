// SPDX-License-Identifier: MIT
/*
 * Bitmaps of unsigned long words (see bitmap.h).  Range operations work a
 * word at a time: a partial first word, whole middle words, a partial last
 * word.
 */
#include <stdlib.h>
#include "bitmap.h"

/* The mask of bits [start % 64, 64) of the word holding 'start'. */
static inline unsigned long first_word_mask(uint64_t start)
{
	return ~0UL << (start % BITS_PER_LONG);
}

/* The mask of bits [0, end % 64) of the word holding 'end', all if aligned. */
static inline unsigned long last_word_mask(uint64_t end)
{
	return ~0UL >> ((BITS_PER_LONG - end % BITS_PER_LONG) % BITS_PER_LONG);
}

unsigned long *bitmap_zalloc(uint64_t nbits)
{
	uint64_t nlongs = BITS_TO_LONGS(nbits);

	/* calloc(0) may return NULL; a zero-bit bitmap is still a bitmap. */
	return calloc(nlongs ? nlongs : 1, sizeof(unsigned long));
}

void bitmap_free(unsigned long *map)
{
	free(map);
}

void bitmap_set(unsigned long *map, uint64_t start, uint64_t len)
{
	uint64_t end = start + len;
	uint64_t w = start / BITS_PER_LONG, wend = end / BITS_PER_LONG;
	unsigned long mask = first_word_mask(start);

	if (!len)
		return;
	for (; w < wend; w++) {
		map[w] |= mask;
		mask = ~0UL;
	}
	if (end % BITS_PER_LONG)
		map[w] |= mask & last_word_mask(end);
}

void bitmap_clear(unsigned long *map, uint64_t start, uint64_t len)
{
	uint64_t end = start + len;
	uint64_t w = start / BITS_PER_LONG, wend = end / BITS_PER_LONG;
	unsigned long mask = first_word_mask(start);

	if (!len)
		return;
	for (; w < wend; w++) {
		map[w] &= ~mask;
		mask = ~0UL;
	}
	if (end % BITS_PER_LONG)
		map[w] &= ~(mask & last_word_mask(end));
}

/* Shared by find_next_bit and find_next_zero_bit: 'invert' flips each word. */
static uint64_t find_next(const unsigned long *map, uint64_t nbits, uint64_t start,
			  unsigned long invert)
{
	uint64_t w, bit;
	unsigned long word;

	if (start >= nbits)
		return nbits;
	w = start / BITS_PER_LONG;
	word = (map[w] ^ invert) & first_word_mask(start);
	while (!word) {
		if (++w >= BITS_TO_LONGS(nbits))
			return nbits;
		word = map[w] ^ invert;
	}
	bit = w * BITS_PER_LONG + (uint64_t)__builtin_ctzl(word);
	return bit < nbits ? bit : nbits;
}

uint64_t find_next_bit(const unsigned long *map, uint64_t nbits, uint64_t start)
{
	return find_next(map, nbits, start, 0);
}

uint64_t find_next_zero_bit(const unsigned long *map, uint64_t nbits, uint64_t start)
{
	return find_next(map, nbits, start, ~0UL);
}

uint64_t bitmap_weight(const unsigned long *map, uint64_t nbits)
{
	uint64_t w, n = 0;

	for (w = 0; w < nbits / BITS_PER_LONG; w++)
		n += (uint64_t)__builtin_popcountl(map[w]);
	if (nbits % BITS_PER_LONG)
		n += (uint64_t)__builtin_popcountl(map[w] & last_word_mask(nbits));
	return n;
}

bool bitmap_empty(const unsigned long *map, uint64_t nbits)
{
	return find_next_bit(map, nbits, 0) == nbits;
}
