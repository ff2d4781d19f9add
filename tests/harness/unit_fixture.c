/* SPDX-License-Identifier: MIT */
/* Criterion fixture for tests/harness/selftest: one test of each outcome tests/run-all reports. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

Test(fixture, passes)
{
	cr_assert_eq(2 + 2, 4);
}

Test(fixture, assertion_fails)
{
	printf("fixture: output of the failing test\n");
	cr_assert_eq(1, 2, "fixture: one is not two");
}

Test(fixture, use_after_free)
{
	int *volatile p = malloc(sizeof(*p));
	free(p);
	printf("%d\n", *p);
}

Test(fixture, skipped)
{
	cr_skip_test("fixture: skipped on purpose");
}
