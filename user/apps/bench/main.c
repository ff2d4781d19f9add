/* SPDX-License-Identifier: MIT */
/*
 * Micro-benchmarks, run by `make bench` under QEMU with -icount (TSC = instructions executed, so
 * the numbers are deterministic): portal call + reply between two PDs, the same with both sides
 * using the FPU (lazy or eager switching, per the kernel command line), and a null system call;
 * with each IPC figure, how many FPU switches and IPC fast-path steps a round trip took.
 * Prints "bench: <name> <value> <unit>" lines that tests/bench collects.
 */
#include "taskinfo.h"
#include "vireo.h"

#define ROUNDS 2000
#define SEL_CHILD_PD 40
#define SEL_HANDLER_EC 41
#define SEL_PT 42
#define SEL_PT_FPU 43
#define CHILD_UTCB 0x00007fffc0000000ull
#define CHILD_STACK_VA 0x0000300000000000ull

extern char _text_start[], _rodata_end[];

static inline uint64_t tsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return (uint64_t)hi << 32 | lo;
}

/* Runs in the child PD: only its stack and UTCB are there, besides the code. */
static __attribute__((noreturn)) void handler(uint64_t id)
{
	(void)id;
	sys_reply_wait();
}

static __attribute__((noreturn)) void handler_fpu(uint64_t id)
{
	__asm__ volatile("movq %0, %%xmm3" ::"r"(id));
	sys_reply_wait();
}

/* A child PD that shares our code (read/execute) and has one stack page of its own. */
static int make_child(const struct vireo_taskinfo *ti)
{
	uint64_t text = (uint64_t)_text_start >> 12, end = ((uint64_t)_rodata_end + 4095) >> 12;
	if (sys_create_pd(SEL_CHILD_PD, SEL_SELF_PD, 256 << 10) != VIREO_OK) {
		return -1;
	}
	for (uint64_t p = text; p < end; p++) {
		if (sys_delegate(SEL_CHILD_PD, vireo_crd(CRD_MEM, p, 0, MEM_R | MEM_X), p, 0) !=
		    VIREO_OK) {
			return -1;
		}
	}
	uint64_t stack_page = TASK_HEAP_VA >> 12;
	(void)ti;
	if (sys_delegate(SEL_CHILD_PD, vireo_crd(CRD_MEM, stack_page, 0, MEM_R | MEM_W),
			 CHILD_STACK_VA >> 12, 0)) {
		return -1;
	}
	struct vireo_ec_create a = { .sp = CHILD_STACK_VA + 4096 - 8,
				     .utcb = CHILD_UTCB,
				     .cpu = 0,
				     .flags = VIREO_EC_LOCAL };
	if (sys_create_ec(SEL_HANDLER_EC, SEL_CHILD_PD, &a) != VIREO_OK ||
	    sys_create_pt(SEL_PT, SEL_SELF_PD, SEL_HANDLER_EC, (uintptr_t)handler, 0) != VIREO_OK ||
	    sys_create_pt(SEL_PT_FPU, SEL_SELF_PD, SEL_HANDLER_EC, (uintptr_t)handler_fpu, 0) !=
		    VIREO_OK) {
		return -1;
	}
	return 0;
}

static struct vireo_kstat kstat_now(void)
{
	struct vireo_kstat k = { 0 };
	sys_kstat(&k);
	return k;
}

static void print_per_roundtrip(const char *name, const char *what, uint64_t n)
{
	printf("bench: %s_%s %lu.%02lu per-roundtrip\n", name, what, (unsigned long)(n / ROUNDS),
	       (unsigned long)(n * 100 / ROUNDS % 100));
}

static void measure_calls(const char *name, uint64_t pt, bool fpu)
{
	sys_call(pt); /* warm up: first touches, TLB */
	struct vireo_kstat k0 = kstat_now();
	uint64_t t0 = tsc();
	for (int i = 0; i < ROUNDS; i++) {
		if (fpu) {
			__asm__ volatile("movq %0, %%xmm4" ::"r"((uint64_t)i));
		}
		sys_call(pt);
	}
	uint64_t t = (tsc() - t0) / ROUNDS;
	struct vireo_kstat k1 = kstat_now();
	printf("bench: %s %lu insns\n", name, (unsigned long)t);
	print_per_roundtrip(name, "fpu_switches", k1.fpu_switches - k0.fpu_switches);
	/* 2.00 when both the call and the reply took the IPC fast path (0 with `nofastpath`). */
	print_per_roundtrip(name, "fastpath", k1.ipc_fastpath - k0.ipc_fastpath);
}

static uint64_t measure_null_syscall(void)
{
	uint64_t t0 = tsc();
	for (int i = 0; i < ROUNDS; i++) {
		vireo_sys(SYS_COUNT + 7, 0, 0, 0, 0, 0); /* BAD_SYS: entry, dispatch, exit */
	}
	return (tsc() - t0) / ROUNDS;
}

int main(uintptr_t arg)
{
	const struct vireo_taskinfo *ti = (const struct vireo_taskinfo *)arg;
	if (make_child(ti)) {
		printf("bench: FAIL: cannot set up the second PD\n");
		return 1;
	}
	printf("bench: null_syscall %lu insns\n", (unsigned long)measure_null_syscall());
	measure_calls("ipc_roundtrip_2pd", SEL_PT, false);
	measure_calls("ipc_roundtrip_2pd_fpu", SEL_PT_FPU, true);
	printf("bench: done\n");
	return 0;
}
