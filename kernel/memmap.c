/* SPDX-License-Identifier: MIT */
/* Usable RAM from the firmware memory map, computed without any scratch memory. */
#include "memmap.h"

/*
 * The usable set changes only at range boundaries, so it is walked from low to high addresses:
 * find the next usable byte at or after a cursor, then how far usability extends from there.
 * That yields maximal byte intervals in order, which are then shrunk inwards to whole pages. A
 * page lies wholly in the usable set exactly when it lies in one such interval, and shrinking
 * keeps a gap between neighbours, so the output comes out sorted and merged by construction.
 */

struct ranges {
	const struct mem_range *r;
	size_t n;
};

static bool ranges_contain(const struct ranges *rs, uint64_t x)
{
	for (size_t i = 0; i < rs->n; i++) {
		if (rs->r[i].base <= x && x < mem_range_end(&rs->r[i])) {
			return true;
		}
	}
	return false;
}

struct usable {
	struct ranges avail;
	struct ranges reserved;
	uint64_t min_addr;
};

static bool is_usable(const struct usable *u, uint64_t x)
{
	return x >= u->min_addr && ranges_contain(&u->avail, x) && !ranges_contain(&u->reserved, x);
}

/* Keeps *best as the lowest usable candidate >= pos. */
static void consider(const struct usable *u, uint64_t pos, uint64_t c, uint64_t *best, bool *found)
{
	if (c >= pos && (!*found || c < *best) && is_usable(u, c)) {
		*best = c;
		*found = true;
	}
}

/*
 * The first usable byte >= pos is pos itself or a point where usability begins: an available
 * range's start or a reserved range's end.
 */
static bool next_usable(const struct usable *u, uint64_t pos, uint64_t *start)
{
	bool found = false;
	consider(u, pos, pos, start, &found);
	for (size_t i = 0; i < u->avail.n; i++) {
		consider(u, pos, u->avail.r[i].base, start, &found);
	}
	for (size_t i = 0; i < u->reserved.n; i++) {
		consider(u, pos, mem_range_end(&u->reserved.r[i]), start, &found);
	}
	return found;
}

/* End of the run of available bytes that contains x, through touching or overlapping ranges. */
static uint64_t avail_reach(const struct ranges *avail, uint64_t x)
{
	uint64_t end = x;
	bool grown = true;
	while (grown) {
		grown = false;
		for (size_t i = 0; i < avail->n; i++) {
			uint64_t e = mem_range_end(&avail->r[i]);
			if (avail->r[i].base <= end && e > end) {
				end = e;
				grown = true;
			}
		}
	}
	return end;
}

/* End of the usable run that starts at the usable byte s. */
static uint64_t usable_end(const struct usable *u, uint64_t s)
{
	uint64_t end = avail_reach(&u->avail, s);
	for (size_t i = 0; i < u->reserved.n; i++) {
		const struct mem_range *r = &u->reserved.r[i];
		if (r->size && r->base > s && r->base < end) {
			end = r->base;
		}
	}
	return end;
}

/* Shrinks [s, e) inwards to whole pages; false when no page is left. */
static bool page_align_in(uint64_t s, uint64_t e, struct mem_range *out)
{
	if (s > ALIGN_DOWN(UINT64_MAX, PAGE_SIZE)) {
		return false;
	}
	uint64_t base = ALIGN_UP(s, PAGE_SIZE);
	uint64_t end = ALIGN_DOWN(e, PAGE_SIZE);
	if (base >= end) {
		return false;
	}
	*out = (struct mem_range){ base, end - base };
	return true;
}

size_t memmap_usable(const struct mem_range *avail, size_t navail, const struct mem_range *reserved,
		     size_t nreserved, struct mem_range *out, size_t outmax, uint64_t min_addr)
{
	const struct usable u = { { avail, navail }, { reserved, nreserved }, min_addr };
	size_t n = 0;
	uint64_t pos = min_addr;
	uint64_t s = 0;

	while (next_usable(&u, pos, &s)) {
		uint64_t e = usable_end(&u, s);
		struct mem_range r;
		if (page_align_in(s, e, &r)) {
			if (n < outmax) {
				out[n] = r;
			}
			n++;
		}
		pos = e; /* e > s >= pos: the walk always advances */
	}
	return n;
}

/* The first and last page numbers r touches; false for an empty range. */
static bool page_span(const struct mem_range *r, uint64_t *first, uint64_t *last)
{
	if (r->size == 0) {
		return false;
	}
	*first = r->base >> PAGE_SHIFT;
	*last = (mem_range_end(r) - 1) >> PAGE_SHIFT;
	return true;
}

bool memmap_owns_pages(const struct mem_range *r, size_t n, size_t i)
{
	uint64_t first, last;
	if (i >= n || !page_span(&r[i], &first, &last) || (r[i].base & PAGE_MASK) ||
	    r[i].size > UINT64_MAX - r[i].base || ALIGN_UP(mem_range_end(&r[i]), PAGE_SIZE) == 0) {
		return false;
	}
	for (size_t j = 0; j < n; j++) {
		uint64_t f, l;
		if (j != i && page_span(&r[j], &f, &l) && f <= last && first <= l) {
			return false;
		}
	}
	return true;
}
