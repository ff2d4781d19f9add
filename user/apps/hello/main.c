/* SPDX-License-Identifier: MIT */
/* A native task: says hello, uses memory the roottask's pager supplies on demand, and exits. */
#include "cmdline.h"
#include "taskinfo.h"
#include "vireo.h"

int main(uintptr_t arg)
{
	const struct vireo_taskinfo *ti = (const struct vireo_taskinfo *)arg;
	if (ti->magic != TASKINFO_MAGIC) {
		printf("hello: no task info\n");
		return 1;
	}
	printf("hello: task %u running, command line \"%s\"\n", ti->task_id, ti->cmdline);
	volatile uint64_t *demand = (volatile uint64_t *)TASK_DEMAND_VA;
	uint64_t before = demand[0];
	demand[0] = 0x1234;
	demand[4096 / 8] = 0x5678; /* the next page: a second fault */
	printf("hello: demand page read %lu then %#lx, %#lx (%s)\n", (unsigned long)before,
	       (unsigned long)demand[0], (unsigned long)demand[4096 / 8],
	       before == 0 && demand[0] == 0x1234 && demand[4096 / 8] == 0x5678 ? "ok"
										: "UNEXPECTED");
	if (cmdline_has(ti->cmdline, "--wild")) {
		printf("hello: touching an address nobody pages\n");
		*(volatile int *)0x5000 = 1;
		printf("hello: UNEXPECTED: survived\n");
	}
	printf("hello: bye\n");
	return 0;
}
