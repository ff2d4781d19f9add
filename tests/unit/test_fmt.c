/* SPDX-License-Identifier: MIT */
/* Specification of the printf-style formatter: C's printf semantics for what it supports. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdint.h>

#include "fmt.h"

static char buf[256];

/*
 * Goes through fmt_vsnprintf without a format attribute, so tests can pass what the compiler's
 * printf checking rightly warns about (flags C ignores, NULL for %s, huge widths).
 */
static int vsn(char *b, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = fmt_vsnprintf(b, size, fmt, ap);
	va_end(ap);
	return n;
}

/* Formats into buf and checks both the text and the returned length. */
#define expect_with(fn, want, ...)                                                                 \
	do {                                                                                       \
		int n_ = fn(buf, sizeof(buf), __VA_ARGS__);                                        \
		cr_expect_str_eq(buf, want, "format %s", #__VA_ARGS__);                            \
		cr_expect_eq(n_, (int)strlen(want), "length for %s: %d", #__VA_ARGS__, n_);        \
	} while (0)
#define expect_fmt(want, ...) expect_with(fmt_snprintf, want, __VA_ARGS__)
#define expect_odd(want, ...) expect_with(vsn, want, __VA_ARGS__)

/* ------------------------------------------------------------------ integers */

Test(fmt, plain_text_and_percent_escape)
{
	expect_fmt("", "%s", "");
	expect_fmt("hello", "hello");
	expect_fmt("100%", "100%%");
}

Test(fmt, signed_decimal)
{
	expect_fmt("0", "%d", 0);
	expect_fmt("42", "%d", 42);
	expect_fmt("-42", "%i", -42);
	expect_fmt("2147483647 -2147483648", "%d %d", INT_MAX, INT_MIN);
}

Test(fmt, int64_extremes)
{
	expect_fmt("-9223372036854775808", "%lld", (long long)INT64_MIN);
	expect_fmt("9223372036854775807", "%lld", (long long)INT64_MAX);
	expect_fmt("-9223372036854775808", "%ld", (long)INT64_MIN);
	expect_fmt("-9223372036854775808", "%jd", (intmax_t)INT64_MIN);
}

Test(fmt, unsigned_decimal)
{
	expect_fmt("4294967295", "%u", UINT_MAX);
	expect_fmt("18446744073709551615", "%llu", (unsigned long long)UINT64_MAX);
	expect_fmt("18446744073709551615", "%lu", (unsigned long)UINT64_MAX);
	expect_fmt("18446744073709551615", "%zu", SIZE_MAX);
}

Test(fmt, hex_and_octal)
{
	expect_fmt("ff FF", "%x %X", 255, 255);
	expect_fmt("deadbeefcafe", "%lx", 0xdeadbeefcafeul);
	expect_fmt("ffffffffffffffff", "%llx", (unsigned long long)UINT64_MAX);
	expect_fmt("ffffffff", "%x", -1);
	expect_fmt("17", "%o", 15);
	expect_fmt("1777777777777777777777", "%llo", (unsigned long long)UINT64_MAX);
	expect_fmt("0 0", "%x %o", 0, 0);
}

Test(fmt, length_modifiers_truncate_to_their_type)
{
	/* int arguments on purpose: the value is converted as C does for h and hh. */
	expect_odd("44 -1", "%hhd %hhd", 300, 255);
	expect_odd("4464 65535", "%hd %hu", 70000, -1);
	expect_odd("ff", "%hhx", 0x1ff);
	expect_fmt("-1", "%zd", (size_t)-1);
	expect_fmt("-5", "%td", (ptrdiff_t)-5);
}

Test(fmt, width_pads_with_spaces_on_the_left)
{
	expect_fmt("   42", "%5d", 42);
	expect_fmt("  -42", "%5d", -42);
	expect_fmt("12345678", "%5d", 12345678);
	expect_fmt("     ff", "%7x", 255);
}

Test(fmt, minus_flag_pads_on_the_right)
{
	expect_fmt("42   |", "%-5d|", 42);
	expect_fmt("-42  |", "%-5d|", -42);
	expect_fmt("ab   |", "%-5s|", "ab");
}

Test(fmt, zero_flag_pads_after_the_sign)
{
	expect_fmt("00042", "%05d", 42);
	expect_fmt("-0042", "%05d", -42);
	expect_fmt("000000ff", "%08x", 255);
	expect_fmt("0000000000001000", "%016llx", 0x1000ull);
}

Test(fmt, minus_flag_overrides_zero_flag)
{
	expect_odd("42   |", "%-05d|", 42);
	expect_odd("42   |", "%0-5d|", 42);
}

Test(fmt, star_width_comes_from_the_arguments)
{
	expect_fmt("   7", "%*d", 4, 7);
	expect_fmt("7   |", "%*d|", -4, 7);
	expect_fmt("ab  |", "%*s|", -4, "ab");
}

Test(fmt, precision_gives_minimum_digits)
{
	expect_fmt("005", "%.3d", 5);
	expect_fmt("-005", "%.3d", -5);
	expect_fmt("  005", "%5.3d", 5);
	expect_fmt("00ff", "%.4x", 255);
	expect_fmt("12345", "%.3d", 12345);
}

Test(fmt, precision_disables_zero_padding)
{
	expect_odd("  005", "%05.3d", 5);
}

Test(fmt, zero_precision_prints_no_digit_for_zero)
{
	expect_fmt("|", "%.0d|", 0);
	expect_fmt("   |", "%3.0x|", 0);
	expect_fmt("1", "%.0d", 1);
}

Test(fmt, plus_and_space_flags_sign_non_negative_numbers)
{
	expect_fmt("+5 -5 +0", "%+d %+d %+d", 5, -5, 0);
	expect_fmt(" 5 -5", "% d % d", 5, -5);
	expect_odd("+5", "%+ d", 5);
	expect_odd("5 ff", "%+u %+x", 5, 255);
	expect_fmt("+0005", "%+05d", 5);
}

Test(fmt, hash_flag_adds_base_prefix)
{
	expect_fmt("0xff 0XFF", "%#x %#X", 255, 255);
	expect_fmt("0", "%#x", 0);
	expect_fmt("017 0", "%#o %#o", 15, 0);
	expect_fmt("0x000010", "%#08x", 16);
	expect_fmt("0x1000", "%#lx", 0x1000ul);
}

/* ------------------------------------------------------------------ pointers, chars, strings */

Test(fmt, pointer_is_0x_prefixed_hex)
{
	expect_fmt("0x1234", "%p", (void *)0x1234);
	expect_fmt("0xffffffff80000000", "%p", (void *)0xffffffff80000000ul);
	expect_fmt("0x0", "%p", NULL);
	expect_fmt("  0x10|", "%6p|", (void *)0x10);
}

Test(fmt, char_conversion)
{
	expect_fmt("a", "%c", 'a');
	expect_fmt("  a|a  |", "%3c|%-3c|", 'a', 'a');
}

Test(fmt, char_nul_is_output_and_counted)
{
	int n = fmt_snprintf(buf, sizeof(buf), "a%cb", 0);
	cr_expect_eq(n, 3);
	cr_expect_eq(memcmp(buf, "a\0b", 4), 0);
}

Test(fmt, string_conversion)
{
	expect_fmt("hello", "%s", "hello");
	expect_fmt("  abc", "%5s", "abc");
	expect_fmt("x-y", "%s-%s", "x", "y");
}

Test(fmt, null_string_prints_placeholder)
{
	expect_odd("(null)", "%s", (char *)NULL);
	expect_odd("(nu", "%.3s", (char *)NULL);
}

Test(fmt, string_precision_limits_characters_read)
{
	static const char unterminated[3] = { 'a', 'b', 'c' }; /* ASan catches a read past it */
	expect_fmt("he", "%.2s", "hello");
	expect_fmt("   he", "%5.2s", "hello");
	expect_fmt("abc", "%.3s", unterminated);
	expect_fmt("ab", "%.*s", 2, unterminated);
	expect_fmt("abc", "%.*s", -1, "abc");
	expect_fmt("", "%.0s", "abc");
}

Test(fmt, unknown_conversion_is_printed_verbatim)
{
	expect_odd("%y", "%y");
	expect_odd("a", "a%");
}

Test(fmt, huge_width_is_capped_without_overflow)
{
	int n = vsn(buf, sizeof(buf), "%99999999999999999999d", 1);
	cr_expect_eq(n, 4096);
	n = vsn(buf, sizeof(buf), "%*d", INT_MIN, 1);
	cr_expect_eq(n, 4096);
	cr_expect_eq(buf[0], '1');
	n = vsn(buf, sizeof(buf), "%.99999999999999d", 1);
	cr_expect_eq(n, 4096);
}

/* ------------------------------------------------------------------ snprintf buffer handling */

Test(fmt, snprintf_truncates_and_nul_terminates)
{
	char small[6];
	memset(small, 'X', sizeof(small));
	int n = fmt_snprintf(small, sizeof(small), "%s", "hello world");
	cr_expect_eq(n, 11, "returns the untruncated length");
	cr_expect_str_eq(small, "hello");
}

Test(fmt, snprintf_exact_fit_keeps_room_for_nul)
{
	char small[6];
	cr_expect_eq(fmt_snprintf(small, sizeof(small), "12345"), 5);
	cr_expect_str_eq(small, "12345");
	cr_expect_eq(fmt_snprintf(small, sizeof(small), "123456"), 6);
	cr_expect_str_eq(small, "12345");
}

Test(fmt, snprintf_size_one_gives_empty_string)
{
	char c = 'X';
	cr_expect_eq(fmt_snprintf(&c, 1, "abc"), 3);
	cr_expect_eq(c, '\0');
}

Test(fmt, snprintf_size_zero_writes_nothing)
{
	char c = 'X';
	cr_expect_eq(fmt_snprintf(&c, 0, "abc%d", 12), 5);
	cr_expect_eq(c, 'X');
	cr_expect_eq(fmt_snprintf(NULL, 0, "%s", "measure"), 7);
}

Test(fmt, snprintf_never_writes_past_size)
{
	char area[16];
	for (size_t size = 0; size <= 8; size++) {
		memset(area, 'G', sizeof(area));
		fmt_snprintf(area, size, "%08x%s", 0xabcu, "tail");
		for (size_t i = size; i < sizeof(area); i++) {
			cr_assert_eq(area[i], 'G', "size %zu wrote byte %zu", size, i);
		}
		if (size) {
			cr_expect_eq(area[size - 1], '\0');
		}
	}
}

static void count_out(char c, void *arg)
{
	(void)c;
	(*(int *)arg)++;
}

static int count_calls(int *calls, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = fmt_vformat(count_out, calls, fmt, ap);
	va_end(ap);
	return n;
}

Test(fmt, vformat_calls_output_once_per_character)
{
	int calls = 0;
	int n = count_calls(&calls, "%s=%5d", "twelve", 42);
	cr_expect_eq(n, 12);
	cr_expect_eq(calls, 12);
}

Test(fmt, vsnprintf_matches_snprintf)
{
	char a[32], b[32];
	int na = vsn(a, sizeof(a), "%s=%#lx %d", "cr3", 0x1000ul, -7);
	int nb = fmt_snprintf(b, sizeof(b), "%s=%#lx %d", "cr3", 0x1000ul, -7);
	cr_expect_eq(na, nb);
	cr_expect_str_eq(a, b);
	cr_expect_str_eq(a, "cr3=0x1000 -7");
}
