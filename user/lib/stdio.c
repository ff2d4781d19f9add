/* SPDX-License-Identifier: MIT */
/* printf for tasks: formats into a line buffer and hands it to the kernel console. */
#include "fmt.h"
#include "vireo.h"

#define LINE_MAX 256

struct line {
	char buf[LINE_MAX];
	size_t len;
};

static void flush(struct line *l)
{
	if (l->len) {
		sys_debug_write(l->buf, l->len);
		l->len = 0;
	}
}

static void line_out(char c, void *arg)
{
	struct line *l = arg;
	l->buf[l->len++] = c;
	if (c == '\n' || l->len == LINE_MAX) {
		flush(l);
	}
}

int vprintf(const char *fmt, va_list ap)
{
	struct line l = { .len = 0 };
	int n = fmt_vformat(line_out, &l, fmt, ap);
	flush(&l);
	return n;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int puts(const char *s)
{
	return printf("%s\n", s);
}
