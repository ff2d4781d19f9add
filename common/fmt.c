/* SPDX-License-Identifier: MIT */
/* printf-style formatting shared by the kernel and the user library. */
#include "fmt.h"

#include <stdbool.h>
#include <stdint.h>

struct spec {
	bool left;
	bool zero;
	bool alt;  /* '#': 0x / 0X / leading 0 */
	bool ptr;  /* %p: 0x even for a null pointer */
	char sign; /* '+' or ' ' for non-negative signed numbers, else 0 */
	int width;
	int precision; /* -1 when absent */
	int length;    /* 0 int, 1 long, 2 long long, -1 short, -2 char, 3 size_t-sized */
};

struct sink {
	fmt_out_fn out;
	void *arg;
	int count;
};

static void put(struct sink *s, char c)
{
	s->out(c, s->arg);
	s->count++;
}

static void pad(struct sink *s, char c, int n)
{
	while (n-- > 0) {
		put(s, c);
	}
}

static void emit_str(struct sink *s, const struct spec *sp, const char *str)
{
	if (!str) {
		str = "(null)";
	}
	int len = 0;
	/* Precision first: "%.3s" may point at an array of 3 chars without a NUL. */
	while ((sp->precision < 0 || len < sp->precision) && str[len]) {
		len++;
	}
	if (!sp->left) {
		pad(s, ' ', sp->width - len);
	}
	for (int i = 0; i < len; i++) {
		put(s, str[i]);
	}
	if (sp->left) {
		pad(s, ' ', sp->width - len);
	}
}

/* A single character, NUL included (emit_str would stop at it). */
static void emit_char(struct sink *s, const struct spec *sp, char c)
{
	if (!sp->left) {
		pad(s, ' ', sp->width - 1);
	}
	put(s, c);
	if (sp->left) {
		pad(s, ' ', sp->width - 1);
	}
}

/* Digits of v, least significant first; returns how many. C: precision 0 prints no digit for 0. */
static int to_digits(char *buf, uint64_t v, unsigned base, bool upper, int precision)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	int n = 0;
	if (v == 0 && precision == 0) {
		return 0;
	}
	do {
		buf[n++] = digits[v % base];
		v /= base;
	} while (v);
	return n;
}

/* Prefix for the '#' flag; octal only needs its leading 0 when the digits do not start with one. */
static const char *alt_prefix(const struct spec *sp, uint64_t v, unsigned base, bool upper,
			      int zeros)
{
	if (!sp->alt || (base == 16 && v == 0 && !sp->ptr)) {
		return "";
	}
	if (base == 16) {
		return upper ? "0X" : "0x";
	}
	if (base == 8 && zeros == 0) {
		return "0";
	}
	return "";
}

static void emit_num(struct sink *s, const struct spec *sp, uint64_t v, bool neg, unsigned base,
		     bool upper)
{
	char buf[24]; /* 22 octal digits of UINT64_MAX */
	int n = to_digits(buf, v, base, upper, sp->precision);
	int zeros = sp->precision > n ? sp->precision - n : 0;
	const char *prefix = alt_prefix(sp, v, base, upper, zeros + (n && buf[n - 1] == '0'));
	char sign = neg ? '-' : sp->sign;
	int plen = 0;
	while (prefix[plen]) {
		plen++;
	}
	/* C: the '0' flag is ignored with '-' or with a precision. */
	if (!sp->left && sp->zero && sp->precision < 0) {
		zeros = sp->width - n - plen - (sign ? 1 : 0);
		zeros = zeros > 0 ? zeros : 0;
	}
	int total = n + zeros + plen + (sign ? 1 : 0);
	if (!sp->left) {
		pad(s, ' ', sp->width - total);
	}
	if (sign) {
		put(s, sign);
	}
	for (int i = 0; i < plen; i++) {
		put(s, prefix[i]);
	}
	pad(s, '0', zeros);
	while (n) {
		put(s, buf[--n]);
	}
	if (sp->left) {
		pad(s, ' ', sp->width - total);
	}
}

static uint64_t fetch_unsigned(const struct spec *sp, va_list *ap)
{
	switch (sp->length) {
	case -2:
		return (unsigned char)va_arg(*ap, unsigned int);
	case -1:
		return (unsigned short)va_arg(*ap, unsigned int);
	case 0:
		return va_arg(*ap, unsigned int);
	case 1:
		return va_arg(*ap, unsigned long);
	case 3:
		return va_arg(*ap, size_t);
	default:
		return va_arg(*ap, unsigned long long);
	}
}

static int64_t fetch_signed(const struct spec *sp, va_list *ap)
{
	switch (sp->length) {
	case -2:
		return (signed char)va_arg(*ap, int);
	case -1:
		return (short)va_arg(*ap, int);
	case 0:
		return va_arg(*ap, int);
	case 1:
		return va_arg(*ap, long);
	case 3:
		return (int64_t)va_arg(*ap, size_t);
	default:
		return va_arg(*ap, long long);
	}
}

/* Field widths beyond this are treated as this: keeps the arithmetic free of int overflow. */
#define FMT_MAX_FIELD 4096

static const char *parse_num(const char *f, int *v)
{
	*v = 0;
	while (*f >= '0' && *f <= '9') {
		*v = *v * 10 + (*f++ - '0');
		if (*v > FMT_MAX_FIELD) {
			*v = FMT_MAX_FIELD;
		}
	}
	return f;
}

static const char *parse_flags(const char *f, struct spec *sp)
{
	for (;; f++) {
		if (*f == '-') {
			sp->left = true;
		} else if (*f == '0') {
			sp->zero = true;
		} else if (*f == '#') {
			sp->alt = true;
		} else if (*f == '+') {
			sp->sign = '+';
		} else if (*f == ' ') {
			if (!sp->sign) {
				sp->sign = ' ';
			}
		} else {
			return f;
		}
	}
}

static const char *parse_length(const char *f, struct spec *sp)
{
	for (;; f++) {
		if (*f == 'l') {
			sp->length = sp->length == 1 ? 2 : 1;
		} else if (*f == 'h') {
			sp->length = sp->length == -1 ? -2 : -1;
		} else if (*f == 'z' || *f == 't') {
			sp->length = 3;
		} else if (*f == 'j') {
			sp->length = 2;
		} else {
			return f;
		}
	}
}

static const char *parse_spec(const char *f, struct spec *sp, va_list *ap)
{
	*sp = (struct spec){ .precision = -1 };
	f = parse_flags(f, sp);
	if (*f == '*') {
		int w = va_arg(*ap, int);
		/* C: a negative '*' width is the '-' flag plus its magnitude. */
		if (w < 0) {
			sp->left = true;
			w = w < -FMT_MAX_FIELD ? FMT_MAX_FIELD : -w;
		}
		sp->width = w > FMT_MAX_FIELD ? FMT_MAX_FIELD : w;
		f++;
	} else {
		f = parse_num(f, &sp->width);
	}
	if (*f == '.') {
		f++;
		if (*f == '*') {
			int p = va_arg(*ap, int);
			/* C: a negative '*' precision is as if none were given. */
			sp->precision = p < 0 ? -1 : (p > FMT_MAX_FIELD ? FMT_MAX_FIELD : p);
			f++;
		} else {
			f = parse_num(f, &sp->precision);
		}
	}
	return parse_length(f, sp);
}

int fmt_vformat(fmt_out_fn out, void *arg, const char *fmt, va_list ap_in)
{
	struct sink s = { out, arg, 0 };
	va_list ap;
	va_copy(ap, ap_in);
	for (const char *f = fmt; *f; f++) {
		if (*f != '%') {
			put(&s, *f);
			continue;
		}
		struct spec sp;
		f = parse_spec(f + 1, &sp, &ap);
		switch (*f) {
		case 'd':
		case 'i': {
			int64_t v = fetch_signed(&sp, &ap);
			uint64_t mag = v < 0 ? -(uint64_t)v : (uint64_t)v;
			emit_num(&s, &sp, mag, v < 0, 10, false);
			break;
		}
		case 'u':
			sp.sign = 0;
			emit_num(&s, &sp, fetch_unsigned(&sp, &ap), false, 10, false);
			break;
		case 'x':
		case 'X':
			sp.sign = 0;
			emit_num(&s, &sp, fetch_unsigned(&sp, &ap), false, 16, *f == 'X');
			break;
		case 'o':
			sp.sign = 0;
			emit_num(&s, &sp, fetch_unsigned(&sp, &ap), false, 8, false);
			break;
		case 'p': {
			/* Always 0x-prefixed, also for NULL ("0x0"), so logs stay greppable. */
			uintptr_t p = (uintptr_t)va_arg(ap, void *);
			sp.sign = 0;
			sp.alt = true;
			sp.ptr = true;
			emit_num(&s, &sp, p, false, 16, false);
			break;
		}
		case 's':
			emit_str(&s, &sp, va_arg(ap, const char *));
			break;
		case 'c':
			emit_char(&s, &sp, (char)va_arg(ap, int));
			break;
		case '%':
			put(&s, '%');
			break;
		case '\0':
			f--; /* lone '%' at the end: stop */
			break;
		default:
			put(&s, '%');
			put(&s, *f);
			break;
		}
	}
	va_end(ap);
	return s.count;
}

struct buf_sink {
	char *buf;
	size_t size;
	size_t pos;
};

static void buf_out(char c, void *arg)
{
	struct buf_sink *b = arg;
	if (b->pos + 1 < b->size) {
		b->buf[b->pos] = c;
	}
	b->pos++;
}

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct buf_sink b = { buf, size, 0 };
	int n = fmt_vformat(buf_out, &b, fmt, ap);
	if (size) {
		buf[b.pos < size ? b.pos : size - 1] = '\0';
	}
	return n;
}

int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = fmt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
