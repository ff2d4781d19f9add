/* SPDX-License-Identifier: MIT */
/*
 * A native task that keeps printing while a guest runs beside it: proof that both get the CPU.
 * 30 ticks 100 ms apart, or with "forever" on its command line one a second for as long as the
 * machine runs (beside a guest that boots for longer than 3 s, or an interactive one).
 */
#include "cmdline.h"
#include "taskinfo.h"
#include "vireo.h"

#define TICKS 30
#define PERIOD_US 100000
#define FOREVER_PERIOD_US 1000000

int main(uintptr_t arg)
{
	const struct vireo_taskinfo *ti = (const struct vireo_taskinfo *)arg;
	bool forever = cmdline_has(ti->cmdline, "forever");
	/* A semaphore nobody signals: down with a timeout is a sleep. */
	if (sys_create_sm(SEL_TASK_FIRST_FREE, SEL_SELF_PD, 0) != VIREO_OK) {
		printf("ticker: cannot create its semaphore\n");
		return 1;
	}
	for (int i = 1; forever || i <= TICKS; i++) {
		sys_sm_down(SEL_TASK_FIRST_FREE, forever ? FOREVER_PERIOD_US : PERIOD_US);
		printf("ticker: tick %d\n", i);
	}
	printf("ticker: done, %d ticks\n", TICKS);
	return 0;
}
