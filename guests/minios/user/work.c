/* SPDX-License-Identifier: MIT */
/*
 * The minios workloads (lmbench's spirit), one process image started with a workload number.
 * Each measures itself with RDTSC, which counts instructions under QEMU -icount (docs/benchmarks.md),
 * and prints one line: "minios: <name> ops=N insns=T per_op=P entries=E" plus its check, then
 * exits with 0 when its result was right.
 */
#include "../abi.h"

#include <stdint.h>

#define NULL_OPS 2000
#define FAULT_PAGES 64
#define SWITCH_ROUNDS 500
#define SPAWN_ROUNDS 10
#define SPAWN_PAGES 8
#define TIMER_TICKS 10
#define TIMER_GAP 400 /* instructions between two TSC reads that mean "something else ran" */
#define COMPUTE_ITERS 1000000

static inline long sys3(long nr, uint64_t a, uint64_t b, uint64_t c)
{
	long r;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return r;
}

static inline uint64_t tsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return (uint64_t)hi << 32 | lo;
}

/* ---------------------------------------------------------------- output */

struct line {
	char b[MINIOS_WRITE_MAX];
	unsigned n;
};

static void put(struct line *l, const char *s)
{
	while (*s && l->n < sizeof(l->b)) {
		l->b[l->n++] = *s++;
	}
}

static void putu(struct line *l, uint64_t v)
{
	char t[24];
	int n = 0;
	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n && l->n < sizeof(l->b)) {
		l->b[l->n++] = t[--n];
	}
}

/* Hundredths: 12.34 */
static void putfix(struct line *l, uint64_t num, uint64_t den)
{
	uint64_t c = den ? (num * 100 + den / 2) / den : 0;
	putu(l, c / 100);
	put(l, ".");
	putu(l, c / 10 % 10);
	putu(l, c % 10);
}

static void flush(struct line *l)
{
	put(l, "\n");
	sys3(MSYS_WRITE, (uint64_t)l->b, l->n, 0);
	l->n = 0;
}

/* The result line the test and the benchmark read. */
static void result(const char *name, uint64_t ops, uint64_t insns, uint64_t entries,
		   const char *extra)
{
	struct line l;
	l.n = 0; /* not zero-initialised: no memset in a freestanding process */
	put(&l, "minios: ");
	put(&l, name);
	put(&l, " ops=");
	putu(&l, ops);
	put(&l, " insns=");
	putu(&l, insns);
	put(&l, " per_op=");
	putfix(&l, insns, ops);
	put(&l, " entries=");
	putfix(&l, entries, ops);
	put(&l, extra);
	flush(&l);
}

/* "minios: <name> begin": the benchmark counts the VM exits between this line and the result. */
static void begin(const char *name)
{
	struct line l;
	l.n = 0; /* not zero-initialised: no memset in a freestanding process */
	put(&l, "minios: ");
	put(&l, name);
	put(&l, " begin");
	flush(&l);
}

static uint64_t entries(void)
{
	return (uint64_t)sys3(MSYS_ENTRIES, 0, 0, 0);
}

/* ---------------------------------------------------------------- workloads */

static long w_null(void)
{
	begin("null_syscall");
	long pid = sys3(MSYS_GETPID, 0, 0, 0);
	uint64_t e0 = entries(), t0 = tsc();
	long bad = 0;
	for (int i = 0; i < NULL_OPS; i++) {
		bad |= sys3(MSYS_GETPID, 0, 0, 0) ^ pid;
	}
	uint64_t t = tsc() - t0, e = entries() - e0;
	result("null_syscall", NULL_OPS, t, e, bad ? " pid changed" : " pid stable");
	return bad || pid <= 0;
}

static long w_fault(void)
{
	long base = sys3(MSYS_MMAP, 0, FAULT_PAGES * 4096ull, 0);
	if (base < 0) {
		return 1;
	}
	begin("page_fault");
	volatile uint64_t *p = (volatile uint64_t *)base;
	uint64_t e0 = entries(), t0 = tsc();
	for (int i = 0; i < FAULT_PAGES; i++) {
		p[i * 512] = (uint64_t)i + 1; /* the first touch of a fresh page */
	}
	uint64_t t = tsc() - t0, e = entries() - e0;
	long bad = 0;
	for (int i = 0; i < FAULT_PAGES; i++) {
		bad |= p[i * 512 + 1] != 0 || p[i * 512] != (uint64_t)i + 1; /* zeroed, then kept */
	}
	long um = sys3(MSYS_MUNMAP, (uint64_t)base, FAULT_PAGES * 4096ull, 0);
	result("page_fault", FAULT_PAGES, t, e, bad ? " pages wrong" : " pages zeroed and kept");
	return bad || um != 0;
}

static long w_switch(uint64_t who)
{
	if (who == 0) {
		begin("proc_switch");
	}
	uint64_t e0 = entries(), t0 = tsc();
	for (int i = 0; i < SWITCH_ROUNDS; i++) {
		sys3(MSYS_YIELD, 0, 0, 0);
	}
	uint64_t t = tsc() - t0, e = entries() - e0;
	if (who == 0) {
		/* Each round is two switches: to the partner and back. */
		result("proc_switch", 2 * SWITCH_ROUNDS, t, e, " two processes");
	}
	return 0;
}

static long w_child(uint64_t pages)
{
	long base = sys3(MSYS_MMAP, 0, pages * 4096, 0);
	if (base < 0) {
		return 1;
	}
	for (uint64_t i = 0; i < pages; i++) {
		((volatile uint64_t *)base)[i * 512] = i;
	}
	return 0; /* exit frees the pages */
}

static long w_spawn(void)
{
	begin("spawn_exit");
	long bad = 0;
	uint64_t e0 = entries(), t0 = tsc();
	for (int i = 0; i < SPAWN_ROUNDS; i++) {
		long pid = sys3(MSYS_SPAWN, WORK_CHILD, SPAWN_PAGES, 0);
		bad |= pid <= 0 || sys3(MSYS_WAIT, (uint64_t)pid, 0, 0) != 0;
	}
	uint64_t t = tsc() - t0, e = entries() - e0;
	result("spawn_exit", SPAWN_ROUNDS, t, e, bad ? " a child failed" : " children exited 0");
	return bad;
}

/*
 * Timer delivery: spin reading the TSC; a gap longer than the loop means the process was
 * interrupted, and the gaps add up to what the interrupts cost (delivery, the guest kernel's
 * handler, and whatever the layers below did meanwhile).
 */
static long w_timer(void)
{
	begin("timer_irq");
	uint64_t t0 = (uint64_t)sys3(MSYS_TICKS, 0, 0, 0), e0 = entries();
	uint64_t prev = tsc(), lost = 0, gaps = 0, start = prev;
	while ((uint64_t)sys3(MSYS_TICKS, 0, 0, 0) - t0 < TIMER_TICKS) {
		for (int i = 0; i < 100000; i++) {
			uint64_t now = tsc();
			if (now - prev > TIMER_GAP) {
				lost += now - prev;
				gaps++;
			}
			prev = now;
		}
		prev = tsc();
	}
	uint64_t n = (uint64_t)sys3(MSYS_TICKS, 0, 0, 0) - t0, e = entries() - e0;
	(void)start;
	result("timer_irq", n, lost, e, gaps >= n / 2 ? " interrupts seen" : " too few gaps");
	return n < TIMER_TICKS || gaps < n / 2;
}

static long w_compute(void)
{
	begin("compute");
	uint64_t x = 88172645463325252ull, e0 = entries(), t0 = tsc();
	for (int i = 0; i < COMPUTE_ITERS; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		__asm__ volatile("" : "+r"(x));
	}
	uint64_t t = tsc() - t0, e = entries() - e0;
	struct line l;
	l.n = 0; /* not zero-initialised: no memset in a freestanding process */
	put(&l, " checksum=");
	putu(&l, x & 0xffffffff);
	l.b[l.n] = 0;
	result("compute", COMPUTE_ITERS, t, e, l.b);
	return 0;
}

long work_main(uint64_t work, uint64_t arg);

long work_main(uint64_t work, uint64_t arg)
{
	switch (work) {
	case WORK_NULL:
		return w_null();
	case WORK_FAULT:
		return w_fault();
	case WORK_SWITCH:
		return w_switch(arg);
	case WORK_SPAWN:
		return w_spawn();
	case WORK_TIMER:
		return w_timer();
	case WORK_COMPUTE:
		return w_compute();
	case WORK_CHILD:
		return w_child(arg);
	}
	return 2;
}
