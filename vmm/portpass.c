/* SPDX-License-Identifier: MIT */
/* The ioport=LO-HI word: the range, and its split into flexpages. */
#include "portpass.h"

#include "cmdline.h"

bool portpass_parse(const char *s, uint32_t *lo, uint32_t *hi)
{
	uint64_t a, b;
	size_t n = cmdline_parse_u64(s, &a);
	if (!n || s[n] != '-') {
		return false;
	}
	size_t m = cmdline_parse_u64(s + n + 1, &b);
	if (!m || s[n + 1 + m] || a > b || b > 0xffff) {
		return false;
	}
	*lo = (uint32_t)a;
	*hi = (uint32_t)b;
	return true;
}

unsigned portpass_block(uint32_t port, uint32_t hi)
{
	unsigned order = 0;
	while (order < 16 && (port & ((2u << order) - 1)) == 0 && port + (2u << order) - 1 <= hi) {
		order++;
	}
	return order;
}

unsigned portpass_each_block(uint32_t lo, uint32_t hi, bool (*give)(void *, uint32_t, unsigned),
			     void *arg, bool *ok)
{
	unsigned n = 0;
	*ok = true;
	for (uint32_t p = lo; p <= hi;) {
		unsigned order = portpass_block(p, hi);
		if (!give(arg, p, order)) {
			*ok = false;
			break;
		}
		n++;
		p += 1u << order;
	}
	return n;
}
