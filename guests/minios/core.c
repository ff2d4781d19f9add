/* SPDX-License-Identifier: MIT */
/*
 * The portable core of minios, a small guest kernel: processes with their own address spaces, a
 * system-call table (abi.h), demand paging of anonymous memory, a round-robin scheduler driven by
 * the periodic timer, a console, and a driver that runs the workloads one after the other. It
 * reaches the machine only through plat.h, so the same code runs as a bare kernel in a hardware VM
 * (hw/) and para-virtually on a Vireo vCPU (pv/); see docs/benchmarks.md.
 */
#include "abi.h"
#include "plat.h"

#define MAX_PROCS 8
#define MAX_PAGES 96
#define MAX_REGIONS 8
#define PAGE 4096ull

enum pstate { P_FREE, P_READY, P_BLOCKED, P_ZOMBIE };

struct page {
	uint64_t va, frame;
};

struct region {
	uint64_t start, end; /* anonymous memory [start, end), filled on first touch */
};

struct proc {
	enum pstate state;
	int pid, parent, wait_for;
	long status;
	unsigned work;
	struct plat_as *as;
	struct uctx ctx;
	struct page pages[MAX_PAGES];
	unsigned npages;
	struct region regions[MAX_REGIONS];
	uint64_t anon_next;
};

static struct proc procs[MAX_PROCS];
static int next_pid = 1;
static unsigned cur;
static uint64_t ticks;
static unsigned failures, next_work;

static const char *const work_names[WORK_COUNT] = {
	[WORK_NULL] = "null_syscall", [WORK_FAULT] = "page_fault", [WORK_SWITCH] = "proc_switch",
	[WORK_SPAWN] = "spawn_exit",  [WORK_TIMER] = "timer_irq",  [WORK_COMPUTE] = "compute",
	[WORK_CHILD] = "child",
};

/* ---------------------------------------------------------------- console */

static void kputs(const char *s)
{
	while (*s) {
		plat_putc(*s++);
	}
}

static void kputu(uint64_t v)
{
	char b[24];
	int n = 0;
	do {
		b[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n) {
		plat_putc(b[--n]);
	}
}

static void kputx(uint64_t v)
{
	kputs("0x");
	for (int s = 60; s >= 0; s -= 4) {
		unsigned d = (v >> s) & 15;
		if (d || s == 0 || (v >> s) > 15) {
			plat_putc((char)(d < 10 ? '0' + d : 'a' + d - 10));
		}
	}
}

static void *kmemset(void *d, int c, size_t n)
{
	uint8_t *p = d;
	while (n--) {
		*p++ = (uint8_t)c;
	}
	return d;
}

static void *kmemcpy(void *d, const void *s, size_t n)
{
	uint8_t *p = d;
	const uint8_t *q = s;
	while (n--) {
		*p++ = *q++;
	}
	return d;
}

/* ---------------------------------------------------------------- memory of a process */

static struct page *page_find(struct proc *p, uint64_t va)
{
	for (unsigned i = 0; i < p->npages; i++) {
		if (p->pages[i].va == va) {
			return &p->pages[i];
		}
	}
	return NULL;
}

/* A fresh zeroed (or copied) frame at va; false when out of memory. */
static bool page_add(struct proc *p, uint64_t va, const void *src, size_t len)
{
	if (p->npages == MAX_PAGES) {
		return false;
	}
	uint64_t f = plat_frame_alloc();
	if (!f) {
		return false;
	}
	uint8_t *k = plat_frame_ptr(f);
	kmemset(k, 0, PAGE);
	if (src) {
		kmemcpy(k, src, len);
	}
	if (!plat_map(p->as, va, f, true)) {
		plat_frame_free(f);
		return false;
	}
	p->pages[p->npages++] = (struct page){ va, f };
	return true;
}

static void page_remove(struct proc *p, struct page *pg)
{
	plat_unmap(p->as, pg->va, pg->frame);
	plat_frame_free(pg->frame);
	*pg = p->pages[--p->npages];
}

static struct region *region_of(struct proc *p, uint64_t va)
{
	for (unsigned i = 0; i < MAX_REGIONS; i++) {
		struct region *r = &p->regions[i];
		if (r->end && va >= r->start && va < r->end) {
			return r;
		}
	}
	return NULL;
}

/* Copies len bytes from the process; false unless every byte is in a present page. */
static bool copy_in(struct proc *p, void *dst, uint64_t va, uint64_t len)
{
	uint8_t *d = dst;
	while (len) {
		struct page *pg = page_find(p, va & ~(PAGE - 1));
		if (!pg) {
			return false;
		}
		uint64_t off = va & (PAGE - 1), n = PAGE - off < len ? PAGE - off : len;
		kmemcpy(d, (uint8_t *)plat_frame_ptr(pg->frame) + off, n);
		d += n;
		va += n;
		len -= n;
	}
	return true;
}

/* ---------------------------------------------------------------- processes */

static struct proc *proc_of(int pid)
{
	for (unsigned i = 0; i < MAX_PROCS; i++) {
		if (procs[i].state != P_FREE && procs[i].pid == pid) {
			return &procs[i];
		}
	}
	return NULL;
}

static void proc_release(struct proc *p)
{
	while (p->npages) {
		page_remove(p, &p->pages[p->npages - 1]);
	}
	plat_as_destroy(p->as);
	p->as = NULL;
}

static struct proc *spawn(unsigned work, uint64_t arg, int parent)
{
	struct proc *p = NULL;
	for (unsigned i = 0; i < MAX_PROCS && !p; i++) {
		p = procs[i].state == P_FREE ? &procs[i] : NULL;
	}
	uint64_t size = (uint64_t)(minios_user_image_end - minios_user_image);
	if (!p || size > MINIOS_IMAGE_MAX) {
		return NULL;
	}
	kmemset(p, 0, sizeof(*p));
	p->as = plat_as_create();
	if (!p->as) {
		return NULL;
	}
	bool ok = true;
	for (uint64_t off = 0; ok && off < size; off += PAGE) {
		uint64_t n = size - off < PAGE ? size - off : PAGE;
		ok = page_add(p, MINIOS_IMAGE_VA + off, minios_user_image + off, n);
	}
	for (unsigned i = 0; ok && i < MINIOS_STACK_PAGES; i++) {
		ok = page_add(p, MINIOS_STACK_VA + i * PAGE, NULL, 0);
	}
	if (!ok) {
		proc_release(p);
		return NULL;
	}
	p->pid = next_pid++;
	p->parent = parent;
	p->work = work;
	p->anon_next = MINIOS_ANON_VA;
	p->ctx = (struct uctx){ .rip = MINIOS_IMAGE_VA,
				.rsp = MINIOS_STACK_TOP - 8,
				.rflags = 0x202,
				.rdi = work,
				.rsi = arg };
	p->state = P_READY;
	return p;
}

static void report_end(struct proc *p, long status)
{
	if (p->parent) {
		return; /* a child of a workload: its parent checks it */
	}
	kputs("minios: ");
	kputs(work_names[p->work]);
	kputs(status == 0 ? " passed" : " FAILED status ");
	if (status) {
		kputu((uint64_t)status);
		failures++;
	}
	kputs("\n");
}

static void proc_exit(struct proc *p, long status)
{
	report_end(p, status);
	proc_release(p);
	struct proc *parent = p->parent ? proc_of(p->parent) : NULL;
	if (parent && parent->state == P_BLOCKED && parent->wait_for == p->pid) {
		parent->ctx.rax = (uint64_t)status;
		parent->state = P_READY;
		p->state = P_FREE;
	} else if (parent) {
		p->status = status;
		p->state = P_ZOMBIE;
	} else {
		p->state = P_FREE;
	}
	/* Orphans: children of p are reaped now or when they exit. */
	for (unsigned i = 0; i < MAX_PROCS; i++) {
		if (procs[i].state != P_FREE && procs[i].parent == p->pid) {
			procs[i].parent = 0;
			if (procs[i].state == P_ZOMBIE) {
				procs[i].state = P_FREE;
			}
		}
	}
}

static void kill(struct proc *p, const char *why, uint64_t addr)
{
	kputs("minios: pid ");
	kputu((uint64_t)p->pid);
	kputs(" killed: ");
	kputs(why);
	kputs(" at ");
	kputx(addr);
	kputs(" rip ");
	kputx(p->ctx.rip);
	kputs("\n");
	if (p->parent) {
		failures++; /* nobody else would count it */
	}
	proc_exit(p, 139);
}

/* ---------------------------------------------------------------- system calls */

typedef long (*sys_fn)(struct proc *p, const uint64_t a[3]);

static long sys_getpid(struct proc *p, const uint64_t a[3])
{
	(void)a;
	return p->pid;
}

static long sys_write(struct proc *p, const uint64_t a[3])
{
	char buf[MINIOS_WRITE_MAX];
	if (a[1] > sizeof(buf) || !copy_in(p, buf, a[0], a[1])) {
		return MINIOS_EINVAL;
	}
	for (uint64_t i = 0; i < a[1]; i++) {
		plat_putc(buf[i]);
	}
	return (long)a[1];
}

static long sys_yield(struct proc *p, const uint64_t a[3])
{
	(void)p;
	(void)a;
	return 0;
}

static long sys_exit(struct proc *p, const uint64_t a[3])
{
	proc_exit(p, (long)a[0]);
	return 0;
}

static long sys_mmap(struct proc *p, const uint64_t a[3])
{
	uint64_t len = (a[1] + PAGE - 1) & ~(PAGE - 1);
	if (!len || len > MINIOS_ANON_SIZE ||
	    p->anon_next + len > MINIOS_ANON_VA + MINIOS_ANON_SIZE) {
		return MINIOS_EINVAL;
	}
	for (unsigned i = 0; i < MAX_REGIONS; i++) {
		struct region *r = &p->regions[i];
		if (!r->end) {
			*r = (struct region){ p->anon_next, p->anon_next + len };
			p->anon_next += len;
			return (long)r->start;
		}
	}
	return MINIOS_ENOMEM;
}

static long sys_munmap(struct proc *p, const uint64_t a[3])
{
	struct region *r = region_of(p, a[0]);
	uint64_t len = (a[1] + PAGE - 1) & ~(PAGE - 1);
	if (!r || r->start != a[0] || r->end - r->start != len) {
		return MINIOS_EINVAL; /* only whole regions */
	}
	for (unsigned i = p->npages; i-- > 0;) {
		if (p->pages[i].va >= r->start && p->pages[i].va < r->end) {
			page_remove(p, &p->pages[i]);
		}
	}
	*r = (struct region){ 0, 0 };
	return 0;
}

static long sys_spawn(struct proc *p, const uint64_t a[3])
{
	if (a[0] != WORK_CHILD) {
		return MINIOS_EINVAL;
	}
	struct proc *c = spawn((unsigned)a[0], a[1], p->pid);
	return c ? c->pid : MINIOS_ENOMEM;
}

static long sys_wait(struct proc *p, const uint64_t a[3])
{
	struct proc *c = proc_of((int)a[0]);
	if (!c || c->parent != p->pid) {
		return MINIOS_ESRCH;
	}
	if (c->state == P_ZOMBIE) {
		c->state = P_FREE;
		return c->status;
	}
	p->wait_for = c->pid;
	p->state = P_BLOCKED;
	return 0; /* the real result comes with the child's exit */
}

static long sys_ticks(struct proc *p, const uint64_t a[3])
{
	(void)p;
	(void)a;
	return (long)ticks;
}

static long sys_entries(struct proc *p, const uint64_t a[3])
{
	(void)p;
	(void)a;
	return (long)plat_entries();
}

static const sys_fn sys_table[MSYS_COUNT] = {
	[MSYS_GETPID] = sys_getpid,   [MSYS_WRITE] = sys_write, [MSYS_YIELD] = sys_yield,
	[MSYS_EXIT] = sys_exit,	      [MSYS_MMAP] = sys_mmap,	[MSYS_MUNMAP] = sys_munmap,
	[MSYS_SPAWN] = sys_spawn,     [MSYS_WAIT] = sys_wait,	[MSYS_TICKS] = sys_ticks,
	[MSYS_ENTRIES] = sys_entries,
};

static void do_syscall(struct proc *p)
{
	uint64_t nr = p->ctx.rax;
	const uint64_t a[3] = { p->ctx.rdi, p->ctx.rsi, p->ctx.rdx };
	long r = nr < MSYS_COUNT ? sys_table[nr](p, a) : MINIOS_EBADSYS;
	if (p->state == P_READY) {
		p->ctx.rax = (uint64_t)r;
	}
}

/* ---------------------------------------------------------------- events and the scheduler */

static void do_pagefault(struct proc *p, uint64_t addr, uint64_t error)
{
	uint64_t va = addr & ~(PAGE - 1);
	if (!(error & 1) && region_of(p, addr) && !page_find(p, va)) {
		if (!page_add(p, va, NULL, 0)) {
			kill(p, "out of memory", addr);
		}
		return;
	}
	kill(p, "page fault", addr);
}

static void handle(struct proc *p, const struct plat_event *ev)
{
	switch (ev->kind) {
	case PEV_SYSCALL:
		do_syscall(p);
		break;
	case PEV_PAGEFAULT:
		do_pagefault(p, ev->addr, ev->error);
		break;
	case PEV_TIMER:
		ticks++;
		break;
	case PEV_FAULT:
		kill(p, "exception", ev->vector);
		break;
	}
}

/* Round robin: the next ready process after the current one; a yield or a tick moves on. */
static struct proc *pick(bool move_on)
{
	for (unsigned i = 0; i < MAX_PROCS; i++) {
		unsigned k = (cur + (move_on ? 1 : 0) + i) % MAX_PROCS;
		if (procs[k].state == P_READY) {
			cur = k;
			return &procs[k];
		}
	}
	return NULL;
}

static bool any_alive(void)
{
	for (unsigned i = 0; i < MAX_PROCS; i++) {
		if (procs[i].state == P_READY || procs[i].state == P_BLOCKED) {
			return true;
		}
	}
	return false;
}

/* The workload driver: when nothing runs, the next workload's processes start. */
static bool start_next_work(void)
{
	static const unsigned order[] = { WORK_NULL,  WORK_FAULT, WORK_SWITCH,
					  WORK_SPAWN, WORK_TIMER, WORK_COMPUTE };
	if (next_work == sizeof(order) / sizeof(order[0])) {
		return false;
	}
	unsigned w = order[next_work++];
	bool ok = spawn(w, 0, 0) && (w != WORK_SWITCH || spawn(w, 1, 0));
	if (!ok) {
		kputs("minios: cannot start ");
		kputs(work_names[w]);
		kputs("\n");
		failures++;
	}
	return true;
}

void core_main(void)
{
	kputs("minios: core up on ");
	kputs(plat_name());
	kputs("\n");
	bool move_on = false;
	for (;;) {
		struct proc *p = pick(move_on);
		if (!p) {
			if (any_alive()) {
				kputs("minios: every process is blocked\n");
				failures++;
				break;
			}
			if (!start_next_work()) {
				break;
			}
			move_on = false;
			continue;
		}
		struct plat_event ev;
		plat_run(p->as, &p->ctx, &ev);
		bool yield = ev.kind == PEV_SYSCALL && p->ctx.rax == MSYS_YIELD;
		handle(p, &ev);
		move_on = ev.kind == PEV_TIMER || yield || p->state != P_READY;
	}
	kputs("minios: all workloads done on ");
	kputs(plat_name());
	kputs(", ");
	kputu(failures);
	kputs(" failed\n");
	plat_halt(failures == 0);
}
