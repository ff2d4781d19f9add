/* SPDX-License-Identifier: MIT */
/*
 * The fuzzer's world: a child PD that sees the fuzzer's program image, local ECs in both PDs as
 * portal handlers, portals to them, and an event block in the child. Portal calls carry random
 * UTCB contents (counts in and out of range, typed items, receive windows); handlers reply with
 * random messages and items. Exception rounds run an EC in the child that faults; the handler
 * replies with random registers (non-canonical RIP and RSP, any RFLAGS, any MTD) and items.
 * Everything here runs while the main EC waits, so the draws from the random source keep their
 * order.
 */
#include "fuzz.h"

#define rnd fz_rnd
#define pick fz_pick

#define H_UTCB_VA 0x0000310000000000ull /* handler UTCBs, one page each (in their PDs) */
#define F_UTCB_VA 0x0000311000000000ull /* the faulting EC's UTCB in the child */
#define H_EVT 3000			/* no portals there: a handler that faults dies */
#define CHILD_QUOTA (512 * 1024)
#define STACK_WORDS 1024

static uint64_t hstack[W_NH][STACK_WORDS] __attribute__((aligned(16)));
static uint64_t fstack[STACK_WORDS] __attribute__((aligned(16)));
extern char _text_start[];

static unsigned cpus = 1;
static bool world_ok;
static unsigned depth; /* nested calls from handlers */

/* The current exception round (shared with the handler, which runs in the child too). */
static struct {
	unsigned count, limit;
} xr;

static uint64_t stack_top(uint64_t *s)
{
	return (uintptr_t)&s[STACK_WORDS] - 8; /* as after a call */
}

static struct vireo_utcb *h_utcb(unsigned i)
{
	return (struct vireo_utcb *)(H_UTCB_VA + 4096ull * i);
}

/* ---------------------------------------------------------------- random values */

static uint64_t odd_rip(void)
{
	static const uint64_t odd[] = {
		0,
		0x1000,
		0x00007ffffffff000ull, /* last user page, unmapped */
		0x00007fffffffffffull,
		0x0000800000000000ull, /* first non-canonical */
		0x8000000000000000ull,
		0xffff800000000000ull, /* kernel half */
		0xffffffff80200000ull,
		~0ull,
	};
	switch (pick(4)) {
	case 0:
		return odd[pick(sizeof(odd) / sizeof(odd[0]))];
	case 1:
		return rnd();
	default: {
		char *bodies[] = { fz_fault_ud2, fz_fault_int3, fz_fault_load, fz_fault_hlt,
				   fz_fault_div };
		return (uintptr_t)bodies[pick(5)] + (pick(8) ? 0 : pick(4));
	}
	}
}

static uint64_t odd_rsp(void)
{
	switch (pick(6)) {
	case 0:
		return rnd();
	case 1:
		return odd_rip();
	case 2:
		return stack_top(fstack) - pick(64);
	default:
		return stack_top(fstack);
	}
}

static uint16_t rnd_untyped(void)
{
	static const uint16_t odd[] = { 0,   1,	  199, 200, 201, 398,  399,  400,
					401, 402, 403, 500, 800, 4096, 65535 };
	return pick(2) ? (uint16_t)pick(12) : odd[pick(sizeof(odd) / sizeof(odd[0]))];
}

static uint16_t rnd_typed(void)
{
	static const uint16_t odd[] = { 0, 1, 2, 99, 100, 198, 199, 200, 201, 202, 300, 65535 };
	return pick(2) ? (uint16_t)pick(5) : odd[pick(sizeof(odd) / sizeof(odd[0]))];
}

/* A CRD in the sender's space: the child's low pages and selectors, or the fuzzer's. */
static uint64_t rnd_item(bool child)
{
	if (!child) {
		return fz_rnd_crd();
	}
	switch (pick(4)) {
	case 0: {
		unsigned order = (unsigned)pick(4);
		return vireo_crd(CRD_MEM, (1 + pick(FZ_LOW_PAGES - 1)) & ~((1ull << order) - 1),
				 order, (unsigned)pick(8));
	}
	case 1:
		return vireo_crd(CRD_OBJ, pick(FZ_LOW_PAGES), (unsigned)pick(3),
				 (unsigned)pick(32));
	case 2:
		return vireo_crd(CRD_IO, pick(65536), (unsigned)pick(17), 1);
	default:
		return rnd();
	}
}

/* A destination base: low pages, its selectors, or anything. */
static uint64_t rnd_dst(void)
{
	switch (pick(4)) {
	case 0:
		return rnd() >> 12;
	case 1:
		return FZ_SEL_LO + pick(FZ_SEL_SPAN);
	default:
		return pick(FZ_LOW_PAGES);
	}
}

static uint64_t rnd_window(unsigned sp)
{
	switch (pick(5)) {
	case 0:
		return 0;
	case 1:
		return rnd();
	case 2:
		/* A window of another space: nothing may land through it. */
		return vireo_crd((sp % 3) + 1, pick(FZ_LOW_PAGES), (unsigned)pick(10), 0x1f);
	default:
		switch (sp) {
		case CRD_MEM: {
			unsigned order = (unsigned)pick(10);
			return vireo_crd(CRD_MEM, pick(FZ_LOW_PAGES) & ~((1ull << order) - 1),
					 order, 0x1f);
		}
		case CRD_IO:
			return vireo_crd(CRD_IO, 0, (unsigned)pick(17), 1);
		default: {
			unsigned order = (unsigned)pick(13);
			return vireo_crd(CRD_OBJ,
					 (FZ_SEL_LO + pick(FZ_SEL_SPAN)) & ~((1ull << order) - 1),
					 order, 0x1f);
		}
		}
	}
}

void world_random_utcb(struct vireo_utcb *u, bool child)
{
	u->untyped = rnd_untyped();
	u->typed = rnd_typed();
	for (unsigned k = 0; k < 8; k++) {
		u->mr[pick(VIREO_UTCB_WORDS)] = rnd();
	}
	unsigned items = u->typed < 6 ? u->typed : (unsigned)pick(6);
	for (unsigned t = 0; t < items; t++) {
		u->mr[VIREO_UTCB_WORDS - 2 - 2 * t] = rnd_item(child);
		u->mr[VIREO_UTCB_WORDS - 1 - 2 * t] = rnd_dst() << 12 |
						      (pick(3) ? 0 : VIREO_DELEGATE_GRANT) |
						      (pick(8) ? 0 : rnd() & 0xffe);
	}
	for (unsigned sp = 0; sp < 4; sp++) {
		u->rcv_window[sp] = rnd_window(sp);
	}
	if (!pick(16)) {
		/* Many copies of one item: a transfer that keeps going as far as the counts say. */
		uint64_t crd = u->mr[VIREO_UTCB_WORDS - 2], hot = u->mr[VIREO_UTCB_WORDS - 1];
		for (unsigned t = 0; t < VIREO_UTCB_WORDS / 2; t++) {
			u->mr[VIREO_UTCB_WORDS - 2 - 2 * t] = crd;
			u->mr[VIREO_UTCB_WORDS - 1 - 2 * t] = hot;
		}
	}
}

/* ---------------------------------------------------------------- handlers */

static void exception_reply(struct vireo_utcb *u, bool child)
{
	if (++xr.count >= xr.limit) {
		/* Enough: send the EC to its end (without TF, which would trap at once). */
		u->mtd = MTD_RIP | MTD_RSP | MTD_RFLAGS;
		u->exc.rflags = 0x202;
		u->exc.rip = (uintptr_t)fz_fault_exit;
		u->exc.rsp = stack_top(fstack);
		u->untyped = 0;
		u->typed = 0;
		return;
	}
	world_random_utcb(u, child);
	u->mtd = pick(4) ? rnd() & MTD_ALL : rnd();
	uint64_t *w = (uint64_t *)&u->exc;
	for (unsigned k = 0; k < 15; k++) {
		if (!pick(3)) {
			w[k] = rnd();
		}
	}
	u->exc.rip = odd_rip();
	u->exc.rsp = odd_rsp();
	u->exc.rflags = pick(2) ? rnd() : 0x202 | (pick(2) ? 0x100 : 0) | (pick(2) ? 0x40000 : 0);
	/* A reply the kernel refuses kills the faulting EC (docs/ABI.md): the round ends here, so
	 * say so now instead of letting the fuzzer wait out its timeout for every such round. */
	if (((u->mtd & MTD_RIP) && u->exc.rip >= VIREO_USER_END) ||
	    ((u->mtd & MTD_RSP) && u->exc.rsp > VIREO_USER_END)) {
		sys_sm_up(child ? C_DONE : W_DONE);
	}
}

static void call_reply(struct vireo_utcb *u, unsigned i)
{
	/* Handlers in the fuzzer's PD sometimes call a handler in the child before they reply: a
	 * chain of calls (never back into a busy handler, which would wait for itself). */
	if ((i & 1) && depth < 3 && !pick(6)) {
		depth++;
		world_random_utcb(u, false);
		sys_call(W_PT + 2 * pick(W_NH / 2));
		depth--;
	}
	world_random_utcb(u, !(i & 1));
}

static __attribute__((noreturn)) void handler(uint64_t id)
{
	/* Which handler this is follows from its stack, not from the id: random PT_CTRLs change ids. */
	volatile uint64_t marker = 0;
	unsigned i =
		(unsigned)(((uintptr_t)&marker - (uintptr_t)hstack) / sizeof(hstack[0])) % W_NH;
	(void)id;
	struct vireo_utcb *u = h_utcb(i);
	if (fz_verbose) {
		printf("fuzz: handler %u: mtd %lx\n", i, (unsigned long)u->mtd);
	}
	if (u->mtd) {
		exception_reply(u, !(i & 1));
	} else {
		call_reply(u, i);
	}
	sys_reply_wait();
}

/* Where a faulting EC ends: tell the main EC, stop. */
__attribute__((noreturn, used)) void fz_fault_exit_c(void);
__attribute__((noreturn, used)) void fz_fault_exit_c(void)
{
	sys_sm_up(C_DONE);
	sys_ec_exit();
}
__asm__(".globl fz_fault_exit\nfz_fault_exit: and $-16, %rsp\n call fz_fault_exit_c\n ud2\n");

/* ---------------------------------------------------------------- set-up */

/* Map the fuzzer's program image into the child at the same addresses (same pages: shared data). */
static void share_image(void)
{
	uint64_t page = (uintptr_t)_text_start >> 12;
	for (unsigned n = 0; n < 4096; n++) {
		uint64_t crd = 0;
		sys_lookup(vireo_crd(CRD_MEM, page, 0, 0), &crd, NULL);
		if (!crd) {
			break;
		}
		sys_delegate(W_PD, crd, vireo_crd_base(crd), 0);
		page = vireo_crd_base(crd) + (1ull << vireo_crd_order(crd));
	}
}

/* The child's event block and its copy of W_DONE; again before each round (items move them). */
static void install_events(void)
{
	for (unsigned v = 0; v < EVT_COUNT; v++) {
		sys_delegate(W_PD, vireo_crd(CRD_OBJ, W_XPT + v, 0, RIGHTS_ALL), C_EVT + v, 0);
	}
	sys_delegate(W_PD, vireo_crd(CRD_OBJ, W_DONE, 0, RIGHTS_ALL), C_DONE, 0);
}

void world_init(void)
{
	if (sys_create_pd(W_PD, SEL_SELF_PD, CHILD_QUOTA) != VIREO_OK ||
	    sys_create_sm(W_DONE, SEL_SELF_PD, 0) != VIREO_OK ||
	    sys_create_sm(W_GO, SEL_SELF_PD, 0) != VIREO_OK) {
		printf("fuzz: cannot create the world: no portal calls or exceptions\n");
		return;
	}
	share_image();
	for (unsigned i = 0; i < W_NH; i++) {
		struct vireo_ec_create a = {
			.sp = stack_top(hstack[i]),
			.utcb = (uintptr_t)h_utcb(i),
			.evt_base = H_EVT,
			.cpu = i % cpus,
			.flags = VIREO_EC_LOCAL,
		};
		uint64_t pd = i & 1 ? SEL_SELF_PD : W_PD;
		if (sys_create_ec(W_H + i, pd, &a) != VIREO_OK ||
		    sys_create_pt(W_PT + i, SEL_SELF_PD, W_H + i, (uintptr_t)handler, 0) !=
			    VIREO_OK ||
		    sys_pt_ctrl(W_PT + i, i) != VIREO_OK) {
			printf("fuzz: cannot create handler %u\n", i);
			return;
		}
	}
	for (unsigned v = 0; v < EVT_COUNT; v++) {
		unsigned h = (unsigned)pick(W_NH);
		uint64_t mtd = (rnd() & MTD_ALL) | (1u << pick(7));
		if (fz_verbose) {
			printf("fuzz: exception portal %u: handler %u mtd %lx\n", v, h,
			       (unsigned long)mtd);
		}
		if (sys_create_pt(W_XPT + v, SEL_SELF_PD, W_H + h, (uintptr_t)handler, mtd) !=
			    VIREO_OK ||
		    sys_pt_ctrl(W_XPT + v, h) != VIREO_OK) {
			printf("fuzz: cannot create exception portal %u\n", v);
			return;
		}
	}
	install_events();
	world_ok = true;
}

/* ---------------------------------------------------------------- actions */

void world_call(void)
{
	if (!world_ok) {
		fz_syscall();
		return;
	}
	world_random_utcb((struct vireo_utcb *)TASK_UTCB_VA, false);
	uint64_t pt = pick(4) ? W_PT + pick(W_NH) : W_XPT + pick(EVT_COUNT);
	if (fz_verbose) {
		printf("fuzz: call %lu\n", (unsigned long)pt);
	}
	enum vireo_status st = sys_call(pt);
	if (fz_verbose) {
		printf("fuzz: call %lu -> %d\n", (unsigned long)pt, st);
	}
}

unsigned fz_waits;

bool world_wait_done(uint64_t ec, unsigned recalls)
{
	if (sys_sm_down(W_DONE, 50000) == VIREO_OK) {
		return true;
	}
	fz_waits++;
	for (unsigned k = 0; k < recalls; k++) {
		sys_ec_recall(ec);
		fz_waits++;
		if (sys_sm_down(W_DONE, 200000) == VIREO_OK) {
			return true;
		}
	}
	return false;
}

void world_exception(void)
{
	if (!world_ok) {
		fz_syscall();
		return;
	}
	char *bodies[] = { fz_fault_ud2, fz_fault_int3, fz_fault_load, fz_fault_hlt, fz_fault_div };
	install_events();
	sys_revoke(vireo_crd(CRD_OBJ, W_F, 1, 0), VIREO_REVOKE_SELF);
	while (sys_sm_down(W_DONE, 0) == VIREO_OK) {
	}
	xr.count = 0;
	xr.limit = 1 + (unsigned)pick(8);
	struct vireo_ec_create a = {
		.ip = (uintptr_t)bodies[pick(5)],
		.sp = stack_top(fstack),
		.utcb = F_UTCB_VA,
		.evt_base = C_EVT,
		.cpu = (uint32_t)pick(cpus),
	};
	if (sys_create_ec(W_F, W_PD, &a) == VIREO_OK &&
	    sys_create_sc(W_FSC, SEL_SELF_PD, W_F, 1 + (unsigned)pick(8), 1000 + pick(10000)) ==
		    VIREO_OK) {
		/* A round that ends without a signal: the EC was killed (the kernel says why). */
		bool ok = world_wait_done(W_F, 0);
		if (fz_verbose) {
			printf("fuzz: exception round: %u exceptions, %s\n", xr.count,
			       ok ? "done" : "no signal");
		}
	}
	sys_revoke(vireo_crd(CRD_OBJ, W_F, 1, 0), VIREO_REVOKE_SELF);
}

void world_set_cpus(unsigned n)
{
	cpus = n ? n : 1;
}
