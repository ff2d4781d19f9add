/* SPDX-License-Identifier: MIT */
/*
 * A native task that keeps printing while a guest runs beside it: proof that both get the CPU.
 * It prints "ticker: tick N" every 100 ms for as long as the system runs. Module command-line
 * words: ticks=N stops after N ticks with "ticker: done, N ticks" (tests that must end);
 * period_ms=N ticks every N ms instead (an interactive guest's console stays readable at 1000).
 */
#include "cmdline.h"
#include "taskinfo.h"
#include "vireo.h"

#define PERIOD_MS_DEFAULT 100

/* The number after key= in the command line, or `dflt` if absent or not a number. */
static uint64_t num_arg(const char *cmdline, const char *key, uint64_t dflt)
{
	uint64_t n;
	return cmdline_get_u64(cmdline, key, &n) ? n : dflt;
}

int main(uintptr_t arg)
{
	const struct vireo_taskinfo *ti = (const struct vireo_taskinfo *)arg;
	uint64_t ticks = num_arg(ti->cmdline, "ticks", 0); /* 0: forever */
	uint64_t period_ms = num_arg(ti->cmdline, "period_ms", PERIOD_MS_DEFAULT);
	if (period_ms == 0 || period_ms > 3600000) {
		period_ms = PERIOD_MS_DEFAULT;
	}
	/* A semaphore nobody signals: down with a timeout is a sleep. */
	if (sys_create_sm(SEL_TASK_FIRST_FREE, SEL_SELF_PD, 0) != VIREO_OK) {
		printf("ticker: cannot create its semaphore\n");
		return 1;
	}
	for (uint64_t i = 1; !ticks || i <= ticks; i++) {
		sys_sm_down(SEL_TASK_FIRST_FREE, period_ms * 1000);
		printf("ticker: tick %lu\n", (unsigned long)i);
	}
	printf("ticker: done, %lu ticks\n", (unsigned long)ticks);
	return 0;
}
