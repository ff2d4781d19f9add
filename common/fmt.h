/* SPDX-License-Identifier: MIT */
/* printf-style formatting shared by the kernel and the user library; no libc, no floating point. */
#ifndef COMMON_FMT_H
#define COMMON_FMT_H

#include <stdarg.h>
#include <stddef.h>

/* Called once per output character. */
typedef void (*fmt_out_fn)(char c, void *arg);

/*
 * Supports %d %i %u %x %X %o %p %s %c %% with flags '-', '0', width, '.precision' for strings,
 * and length modifiers hh, h, l, ll, z, j, t. Returns the number of characters produced.
 */
int fmt_vformat(fmt_out_fn out, void *arg, const char *fmt, va_list ap);

/* Like C vsnprintf: always NUL-terminates when size > 0, returns the untruncated length. */
int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
__attribute__((format(printf, 3, 4))) int fmt_snprintf(char *buf, size_t size, const char *fmt,
						       ...);

#endif
