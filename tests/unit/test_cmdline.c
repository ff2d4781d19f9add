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
