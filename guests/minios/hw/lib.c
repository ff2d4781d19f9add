/* SPDX-License-Identifier: MIT */
/* The two library functions the compiler may call in the freestanding hw layer. */
#include <stddef.h>
#include <stdint.h>

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

void *memset(void *d, int c, size_t n)
{
	uint8_t *p = d;
	while (n--) {
		*p++ = (uint8_t)c;
	}
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	uint8_t *p = d;
	const uint8_t *q = s;
	while (n--) {
		*p++ = *q++;
	}
	return d;
}
