/* SPDX-License-Identifier: MIT */
/*
 * FPU isolation: fill all 16 XMM registers with a pattern unique to this task, keep checking them
 * across many timer preemptions while another instance does the same with its own pattern. Any
 * leak between the tasks' FPU states shows up as a wrong register.
 */
#include "taskinfo.h"
#include "vireo.h"

#define ROUNDS 40

/* XMM registers are loaded and checked in asm: the compiler never touches them (-mgeneral-regs-only). */
static void load_xmm(uint64_t seed)
{
	uint64_t v[32];
	for (int i = 0; i < 32; i++) {
		v[i] = seed * 1000 + (uint64_t)i;
	}
	__asm__ volatile("movdqu 0(%0), %%xmm0\n\tmovdqu 16(%0), %%xmm1\n\t"
			 "movdqu 32(%0), %%xmm2\n\tmovdqu 48(%0), %%xmm3\n\t"
			 "movdqu 64(%0), %%xmm4\n\tmovdqu 80(%0), %%xmm5\n\t"
			 "movdqu 96(%0), %%xmm6\n\tmovdqu 112(%0), %%xmm7\n\t"
			 "movdqu 128(%0), %%xmm8\n\tmovdqu 144(%0), %%xmm9\n\t"
			 "movdqu 160(%0), %%xmm10\n\tmovdqu 176(%0), %%xmm11\n\t"
			 "movdqu 192(%0), %%xmm12\n\tmovdqu 208(%0), %%xmm13\n\t"
			 "movdqu 224(%0), %%xmm14\n\tmovdqu 240(%0), %%xmm15" ::"r"(v)
			 : "memory");
}

static int check_xmm(uint64_t seed)
{
	uint64_t v[32];
	__asm__ volatile("movdqu %%xmm0, 0(%0)\n\tmovdqu %%xmm1, 16(%0)\n\t"
			 "movdqu %%xmm2, 32(%0)\n\tmovdqu %%xmm3, 48(%0)\n\t"
			 "movdqu %%xmm4, 64(%0)\n\tmovdqu %%xmm5, 80(%0)\n\t"
			 "movdqu %%xmm6, 96(%0)\n\tmovdqu %%xmm7, 112(%0)\n\t"
			 "movdqu %%xmm8, 128(%0)\n\tmovdqu %%xmm9, 144(%0)\n\t"
			 "movdqu %%xmm10, 160(%0)\n\tmovdqu %%xmm11, 176(%0)\n\t"
			 "movdqu %%xmm12, 192(%0)\n\tmovdqu %%xmm13, 208(%0)\n\t"
			 "movdqu %%xmm14, 224(%0)\n\tmovdqu %%xmm15, 240(%0)" ::"r"(v)
			 : "memory");
	for (int i = 0; i < 32; i++) {
		if (v[i] != seed * 1000 + (uint64_t)i) {
			return i;
		}
	}
	return -1;
}

int main(uintptr_t arg)
{
	const struct vireo_taskinfo *ti = (const struct vireo_taskinfo *)arg;
	uint64_t seed = ti->task_id;
	load_xmm(seed);
	for (int round = 0; round < ROUNDS; round++) {
		/* Spin long enough for the timer to switch to the other instance now and then. */
		for (volatile int i = 0; i < 200000; i++) {
		}
		int bad = check_xmm(seed);
		if (bad >= 0) {
			printf("fputest %lu: FAIL: xmm word %d changed in round %d\n",
			       (unsigned long)seed, bad, round);
			return 1;
		}
	}
	printf("fputest %lu: PASS: XMM state intact over %d rounds\n", (unsigned long)seed, ROUNDS);
	return 0;
}
