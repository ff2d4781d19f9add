/* SPDX-License-Identifier: MIT */
/*
 * A native task that keeps printing while a guest runs beside it: proof that both get the CPU.
 * It prints "ticker: tick N" every 100 ms for as long as the system runs; the module command line
 * word ticks=N makes it stop after N ticks with "ticker: done, N ticks" (tests that must end).
 */
#include "taskinfo.h"
#include "vireo.h"

#define PERIOD_US 100000

/* The value of "ticks=N" in the command line, or 0 (forever). */
static uint64_t ticks_arg(const char *s)
{
	for (const char *p = s; *p; p++) {
		if ((p == s || p[-1] == ' ') && !strncmp(p, "ticks=", 6)) {
			uint64_t n = 0;
			for (p += 6; *p >= '0' && *p <= '9'; p++) {
				n = n * 10 + (uint64_t)(*p - '0');
			}
			return n;
		}
	}
	return 0;
}

int main(uintptr_t arg)
{
	const struct vireo_taskinfo *ti = (const struct vireo_taskinfo *)arg;
	uint64_t ticks = ticks_arg(ti->cmdline);
	/* A semaphore nobody signals: down with a timeout is a sleep. */
	if (sys_create_sm(SEL_TASK_FIRST_FREE, SEL_SELF_PD, 0) != VIREO_OK) {
		printf("ticker: cannot create its semaphore\n");
		return 1;
	}
	for (uint64_t i = 1; !ticks || i <= ticks; i++) {
		sys_sm_down(SEL_TASK_FIRST_FREE, PERIOD_US);
		printf("ticker: tick %lu\n", (unsigned long)i);
	}
	printf("ticker: done, %lu ticks\n", (unsigned long)ticks);
	return 0;
}
