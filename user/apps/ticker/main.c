/* SPDX-License-Identifier: MIT */
/* A native task that keeps printing while a guest runs beside it: proof that both get the CPU. */
#include "taskinfo.h"
#include "vireo.h"

#define TICKS 30
#define PERIOD_US 100000

int main(uintptr_t arg)
{
	(void)arg;
	/* A semaphore nobody signals: down with a timeout is a sleep. */
	if (sys_create_sm(SEL_TASK_FIRST_FREE, SEL_SELF_PD, 0) != VIREO_OK) {
		printf("ticker: cannot create its semaphore\n");
		return 1;
	}
	for (int i = 1; i <= TICKS; i++) {
		sys_sm_down(SEL_TASK_FIRST_FREE, PERIOD_US);
		printf("ticker: tick %d\n", i);
	}
	printf("ticker: done, %d ticks\n", TICKS);
	return 0;
}
