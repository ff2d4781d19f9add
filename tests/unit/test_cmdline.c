/* SPDX-License-Identifier: MIT */
/* Specification of the kernel command-line lookups. */
#include <criterion/criterion.h>

#include "cmdline.h"

static char val[32];

Test(cmdline, get_finds_value_of_key)
{
	cr_assert(cmdline_get("quiet fpu=lazy console=ttyS0", "fpu", val, sizeof(val)));
	cr_expect_str_eq(val, "lazy");
	cr_assert(cmdline_get("quiet fpu=lazy console=ttyS0", "console", val, sizeof(val)));
	cr_expect_str_eq(val, "ttyS0");
}

Test(cmdline, get_finds_key_as_first_and_last_word)
{
	cr_assert(cmdline_get("a=1 b c=3", "a", val, sizeof(val)));
	cr_expect_str_eq(val, "1");
	cr_assert(cmdline_get("a=1 b c=3", "c", val, sizeof(val)));
	cr_expect_str_eq(val, "3");
}

Test(cmdline, get_matches_whole_keys_only)
{
	cr_expect_not(cmdline_get("fpu=lazy", "fp", val, sizeof(val)));
	cr_expect_str_eq(val, "");
	cr_expect_not(cmdline_get("xfpu=lazy", "fpu", val, sizeof(val)));
	cr_expect_not(cmdline_get("myfpu=1 fpu2=2", "fpu", val, sizeof(val)));
}

Test(cmdline, get_ignores_key_inside_another_value)
{
	cr_expect_not(cmdline_get("opt=fpu=lazy", "fpu", val, sizeof(val)));
	cr_assert(cmdline_get("opt=fpu=lazy", "opt", val, sizeof(val)));
	cr_expect_str_eq(val, "fpu=lazy");
}

Test(cmdline, get_does_not_match_bare_flag)
{
	cr_expect_not(cmdline_get("quiet fpu", "fpu", val, sizeof(val)));
}

Test(cmdline, get_returns_empty_value_for_key_with_equals_only)
{
	strcpy(val, "junk");
	cr_assert(cmdline_get("root= quiet", "root", val, sizeof(val)));
	cr_expect_str_eq(val, "");
}

Test(cmdline, get_last_occurrence_wins)
{
	cr_assert(cmdline_get("fpu=lazy quiet fpu=eager", "fpu", val, sizeof(val)));
	cr_expect_str_eq(val, "eager");
}

Test(cmdline, get_accepts_tabs_and_repeated_spaces)
{
	cr_assert(cmdline_get("  \tquiet\t\tfpu=lazy   ", "fpu", val, sizeof(val)));
	cr_expect_str_eq(val, "lazy");
}

Test(cmdline, get_fails_when_value_does_not_fit)
{
	char small[5];
	cr_expect_not(cmdline_get("n=12345", "n", small, sizeof(small)));
	cr_expect_str_eq(small, "", "no truncated value left behind");
	cr_assert(cmdline_get("n=1234", "n", small, sizeof(small)));
	cr_expect_str_eq(small, "1234");
}

Test(cmdline, get_with_zero_vallen_never_writes)
{
	char guard = 'G';
	cr_expect_not(cmdline_get("n=1", "n", &guard, 0));
	cr_expect_eq(guard, 'G');
}

Test(cmdline, get_rejects_null_and_malformed_arguments)
{
	cr_expect_not(cmdline_get(NULL, "a", val, sizeof(val)));
	cr_expect_not(cmdline_get("a=1", NULL, val, sizeof(val)));
	cr_expect_not(cmdline_get("a=1", "a", NULL, 8));
	cr_expect_not(cmdline_get("=1", "", val, sizeof(val)));
	cr_expect_not(cmdline_get("a=b=c", "a=b", val, sizeof(val)));
	cr_expect_not(cmdline_get("a b=1", "a b", val, sizeof(val)));
}

Test(cmdline, get_on_empty_cmdline_finds_nothing)
{
	cr_expect_not(cmdline_get("", "a", val, sizeof(val)));
	cr_expect_not(cmdline_get("   ", "a", val, sizeof(val)));
}

Test(cmdline, has_finds_whole_flag_words)
{
	cr_expect(cmdline_has("quiet nosmp fpu=lazy", "nosmp"));
	cr_expect(cmdline_has("quiet", "quiet"));
	cr_expect(cmdline_has("a\tquiet\t", "quiet"));
}

Test(cmdline, has_matches_whole_words_only)
{
	cr_expect_not(cmdline_has("quieter", "quiet"));
	cr_expect_not(cmdline_has("noquiet", "quiet"));
	cr_expect_not(cmdline_has("fpu=lazy", "fpu"));
	cr_expect_not(cmdline_has("fpu=lazy", "fp"));
}

Test(cmdline, has_matches_a_complete_key_value_word)
{
	cr_expect(cmdline_has("a fpu=lazy b", "fpu=lazy"));
	cr_expect_not(cmdline_has("a fpu=lazy b", "fpu=laz"));
}

Test(cmdline, has_rejects_null_empty_and_multiword_arguments)
{
	cr_expect_not(cmdline_has(NULL, "a"));
	cr_expect_not(cmdline_has("a", NULL));
	cr_expect_not(cmdline_has("a", ""));
	cr_expect_not(cmdline_has("", ""));
	cr_expect_not(cmdline_has("a b", "a b"));
}

/* ---------------------------------------------------------------- numbers */

Test(cmdline, get_u64_reads_decimal_and_hex)
{
	uint64_t v = 7;
	cr_assert(cmdline_get_u64("a mem=256 b", "mem", &v));
	cr_expect_eq(v, 256);
	cr_assert(cmdline_get_u64("port=0x3f8", "port", &v));
	cr_expect_eq(v, 0x3f8);
	cr_assert(cmdline_get_u64("n=0", "n", &v));
	cr_expect_eq(v, 0);
	cr_assert(cmdline_get_u64("n=0x0", "n", &v));
	cr_expect_eq(v, 0);
	cr_assert(cmdline_get_u64("n=007", "n", &v));
	cr_expect_eq(v, 7);
}

Test(cmdline, get_u64_last_occurrence_wins)
{
	uint64_t v = 0;
	cr_assert(cmdline_get_u64("n=1 n=2", "n", &v));
	cr_expect_eq(v, 2);
	/* The last word decides even when it is garbage: no fallback to an earlier one. */
	cr_expect_not(cmdline_get_u64("n=1 n=x", "n", &v));
	cr_expect_eq(v, 2);
}

Test(cmdline, get_u64_missing_key_leaves_value_alone)
{
	uint64_t v = 42;
	cr_expect_not(cmdline_get_u64("", "n", &v));
	cr_expect_not(cmdline_get_u64("m=1 nn=2 xn=3", "n", &v));
	cr_expect_not(cmdline_get_u64("n", "n", &v), "a bare flag has no number");
	cr_expect_not(cmdline_get_u64(NULL, "n", &v));
	cr_expect_not(cmdline_get_u64("n=1", NULL, &v));
	cr_expect_not(cmdline_get_u64("n=1", "n", NULL));
	cr_expect_eq(v, 42);
}

Test(cmdline, get_u64_rejects_garbage)
{
	uint64_t v = 42;
	cr_expect_not(cmdline_get_u64("n=", "n", &v));
	cr_expect_not(cmdline_get_u64("n=abc", "n", &v));
	cr_expect_not(cmdline_get_u64("n=12k", "n", &v));
	cr_expect_not(cmdline_get_u64("n=-1", "n", &v));
	cr_expect_not(cmdline_get_u64("n=+1", "n", &v));
	cr_expect_not(cmdline_get_u64("n=0x", "n", &v));
	cr_expect_not(cmdline_get_u64("n=0xg", "n", &v));
	cr_expect_not(cmdline_get_u64("n=0X10", "n", &v), "only a lower-case 0x prefix");
	cr_expect_not(cmdline_get_u64("n=0xAB", "n", &v), "only lower-case hex digits");
	cr_expect_not(cmdline_get_u64("n=12a", "n", &v), "hex digits need 0x");
	cr_expect_not(cmdline_get_u64("n=1:2", "n", &v));
	cr_expect_eq(v, 42);
}

Test(cmdline, get_u64_rejects_overflow)
{
	uint64_t v = 42;
	cr_assert(cmdline_get_u64("n=18446744073709551615", "n", &v));
	cr_expect_eq(v, UINT64_MAX);
	cr_assert(cmdline_get_u64("n=0xffffffffffffffff", "n", &v));
	cr_expect_eq(v, UINT64_MAX);
	v = 42;
	cr_expect_not(cmdline_get_u64("n=18446744073709551616", "n", &v));
	cr_expect_not(cmdline_get_u64("n=99999999999999999999", "n", &v));
	cr_expect_not(cmdline_get_u64("n=0x10000000000000000", "n", &v));
	cr_expect_not(cmdline_get_u64("n=000000000000000000000000001", "n", &v),
		      "a value longer than any number is refused, not cut");
	cr_expect_eq(v, 42);
}

Test(cmdline, parse_u64_stops_at_what_follows)
{
	uint64_t v = 42;
	cr_expect_eq(cmdline_parse_u64("0x3f8:8", &v), 5);
	cr_expect_eq(v, 0x3f8);
	cr_expect_eq(cmdline_parse_u64("4,3", &v), 1);
	cr_expect_eq(v, 4);
	cr_expect_eq(cmdline_parse_u64("8", &v), 1);
	cr_expect_eq(v, 8);
	v = 42;
	cr_expect_eq(cmdline_parse_u64("", &v), 0);
	cr_expect_eq(cmdline_parse_u64(":8", &v), 0);
	cr_expect_eq(cmdline_parse_u64("0x:8", &v), 0);
	cr_expect_eq(cmdline_parse_u64("18446744073709551616,1", &v), 0);
	cr_expect_eq(cmdline_parse_u64(NULL, &v), 0);
	cr_expect_eq(v, 42);
	cr_expect_eq(cmdline_parse_u64("1", NULL), 0);
}
