/* SPDX-License-Identifier: MIT */
/*
 * Random kernel entries from a few tasks against the real kernel core, under ASan and UBSan and
 * the fake layer's exit checks: system calls with mostly well-typed random arguments, random UTCB
 * contents, exceptions and timer ticks. Whatever happens, the kernel must neither crash nor
 * break an invariant, every exit must be a proper return to some EC, and after all tasks are
 * revoked the object counts must be back where they started.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "fake_kernel.h"
#include "klock.h"
#include "mdb.h"
#include "obj.h"

#define ENTRIES 50000
#define CLEANUP_EVERY 5000
#define VA_MEM 0x10000000ull
#define SEL_PD 1
#define SEL_HANDLER 3
#define SEL_PT 4
#define EVT_BASE 0x20
#define SEL_EXC_PT (EVT_BASE + 13)
#define SEL_RANDOM_FIRST 0x40 /* objects the random calls create, and the spawned tasks */
#define SEL_RANDOM_END 0x80
#define SEL_SPAWN_FIRST 0x100

/*
 * Non-canonical instruction pointers (in SYS_CREATE_EC and exception replies). Before the kernel
 * checked RIPs (issue 8, defect 3) they reached IRETQ, a #GP in ring 0, and the fake's exit check
 * caught that at once; 0 turns them off to bisect such a regression.
 */
#define NONCANONICAL_RIPS 1

/*
 * A portal handler that calls a portal itself while serving. ipc.c once used ec->portal and
 * EC_WAITING both for "serving / free for calls" and for "queued at a busy handler": once its
 * caller died, a queued handler looked free, took a new call while still queued and queued twice
 * (an endless loop in queue_caller with the kernel lock held: seed 3), or was started by
 * next_waiter with portal NULL. ipc.c now keeps the two apart (ec->queued_on).
 */
#define HANDLER_CALLS 1

static uint64_t rng;

static uint64_t next(void)
{
	/* xorshift64*: deterministic per seed, so a failure can be replayed. */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static uint64_t pick(uint64_t n)
{
	return next() % n;
}

/* An instruction pointer: mostly in the program, sometimes anywhere canonical (a kernel address
 * only faults in user mode), with NONCANONICAL_RIPS anywhere at all. */
static uint64_t rip(void)
{
	if (pick(8)) {
		return 0x401000 + pick(0x1000);
	}
	uint64_t v = next();
	return NONCANONICAL_RIPS ? v : (uint64_t)((int64_t)(v << 16) >> 16);
}

enum kind { K_ANY, K_RIP, K_DST, K_PD, K_EC, K_OBJ, K_MEM, K_CRD, K_SMALL, K_TIME };

static uint64_t any(void)
{
	switch (pick(4)) {
	case 0:
		return pick(0x200);
	case 1:
		return VA_MEM + pick(2 * PAGE_SIZE);
	case 2:
		return next() & 0xffffffffull;
	default:
		return next();
	}
}

static uint64_t gen(enum kind k)
{
	if (!pick(16) && k != K_RIP) {
		return any(); /* a wrong type now and then */
	}
	switch (k) {
	case K_RIP:
		return rip();
	case K_DST:
		return SEL_RANDOM_FIRST + pick(SEL_RANDOM_END - SEL_RANDOM_FIRST);
	case K_PD:
		return pick(4) ? SEL_PD
			       : SEL_RANDOM_FIRST + pick(SEL_RANDOM_END - SEL_RANDOM_FIRST);
	case K_EC:
		return pick(2) ? SEL_HANDLER
			       : SEL_RANDOM_FIRST + pick(SEL_RANDOM_END - SEL_RANDOM_FIRST);
	case K_OBJ:
		return pick(4) ? SEL_RANDOM_FIRST + pick(SEL_RANDOM_END - SEL_RANDOM_FIRST)
			       : pick(0x40);
	case K_MEM:
		return pick(4) ? VA_MEM : VA_MEM + pick(2 * PAGE_SIZE);
	case K_CRD:
		return vireo_crd((enum vireo_crd_space)pick(4),
				 pick(2) ? gen(K_OBJ) : (VA_MEM >> PAGE_SHIFT) + pick(2),
				 (unsigned)pick(3), (unsigned)pick(32));
	case K_SMALL:
		return pick(4);
	case K_TIME:
		return pick(4) ? 10000 * pick(4) : next();
	default:
		return any();
	}
}

/* Argument kinds per system call (RDI, RSI, RDX, R10, R8). */
static const enum kind args[SYS_COUNT][5] = {
	[SYS_CALL] = { K_OBJ },
	[SYS_CREATE_PD] = { K_DST, K_PD, K_TIME, K_SMALL },
	[SYS_CREATE_EC] = { K_DST, K_PD, K_MEM },
	[SYS_CREATE_SC] = { K_DST, K_PD, K_EC, K_SMALL, K_TIME },
	[SYS_CREATE_PT] = { K_DST, K_PD, K_EC, K_RIP, K_SMALL },
	[SYS_CREATE_SM] = { K_DST, K_PD, K_SMALL },
	[SYS_PT_CTRL] = { K_OBJ, K_ANY },
	[SYS_SM_CTRL] = { K_OBJ, K_SMALL, K_TIME },
	[SYS_DELEGATE] = { K_PD, K_CRD, K_OBJ, K_SMALL },
	[SYS_REVOKE] = { K_CRD, K_SMALL },
	[SYS_LOOKUP] = { K_CRD },
	[SYS_ASSIGN_GSI] = { K_OBJ, K_SMALL, K_SMALL },
	[SYS_EC_CTRL] = { K_OBJ, K_SMALL },
	[SYS_SC_CTRL] = { K_OBJ },
	[SYS_KSTAT] = { K_MEM },
	[SYS_VCPU_RESUME] = { K_PD },
	[SYS_VCPU_IRQ] = { K_OBJ },
};

/* Mostly well-formed SYS_CREATE_EC arguments at VA_MEM. */
static void scramble_ec_args(struct pd *pd)
{
	static const uint32_t flags[] = { 0, VIREO_EC_LOCAL, VIREO_EC_VCPU, 0x80 };
	struct vireo_ec_create a = {
		.ip = rip(),
		.sp = 0x7000,
		.utcb = pick(8) ? 0x7f0000200000ull + pick(256) * PAGE_SIZE : next(),
		.evt_base = pick(2) ? EVT_BASE : pick(0x100),
		.cpu = (uint32_t)pick(3),
		.flags = flags[pick(ARRAY_SIZE(flags))],
		.vcpu_state = 0x7e0000000000ull + pick(256) * PAGE_SIZE,
	};
	cr_assert_eq(pd_copy_to_user(pd, VA_MEM, &a, sizeof(a)), VIREO_OK);
}

static void scramble_utcb(struct vireo_utcb *u)
{
	u->untyped = (uint16_t)(pick(4) ? pick(8) : pick(VIREO_UTCB_WORDS + 1));
	u->typed = (uint16_t)pick(3);
	for (unsigned i = 0; i < 4; i++) {
		u->mr[i] = any();
		u->mr[VIREO_UTCB_WORDS - 2 - 2 * i] = gen(K_CRD);
		u->mr[VIREO_UTCB_WORDS - 1 - 2 * i] = gen(K_OBJ) << 12;
	}
	u->rcv_window[CRD_OBJ] = pick(2) ? vireo_crd(CRD_OBJ, SEL_RANDOM_FIRST, 6, 0) : 0;
	u->mtd = pick(2) ? MTD_ALL : pick(0x80);
	u->exc.rip = rip();
	u->exc.rsp = 0x7000;
}

static struct pd *root;
static unsigned spawned;

/* Kernel object calls outside a kernel entry take the lock, as every kernel path does. */
static void install(uint64_t sel, struct kobj *o)
{
	klock_acquire();
	status_t st = pd_install_obj(root, sel, o, RIGHTS_ALL);
	klock_release();
	cr_assert_eq(st, VIREO_OK, "install at %#llx", (unsigned long long)sel);
}

static void revoke(uint64_t base, unsigned order)
{
	klock_acquire();
	cr_assert_eq(pd_revoke(root, vireo_crd(CRD_OBJ, base, order, RIGHTS_ALL), true), VIREO_OK);
	klock_release();
}

/* A handler with portals at SEL_PT and SEL_EXC_PT where they are gone, dead, or stuck (called
 * only when nothing can run, so a handler with a caller waits for good). */
static void revive_handler(void)
{
	struct portal *p = (struct portal *)pd_lookup_obj(root, SEL_PT, OBJ_PT, 0);
	if (p && p->ec && p->ec->state != EC_DEAD && !p->ec->caller) {
		return;
	}
	revoke(SEL_HANDLER, 0);
	revoke(SEL_PT, 0);
	revoke(SEL_EXC_PT, 0);
	static unsigned handlers;
	uint64_t utcb = 0x7f0000100000ull + (handlers++ % 256) * PAGE_SIZE;
	struct ec *h;
	struct portal *pt, *exc;
	klock_acquire();
	cr_assert_eq(ec_create(root, "h", 0, 0x8000, utcb, 0, 0, 0, true, &h), VIREO_OK);
	cr_assert_eq(portal_create(h->pd, h, 0x402000, MTD_ALL, &pt), VIREO_OK);
	cr_assert_eq(portal_create(h->pd, h, 0x403000, MTD_ALL, &exc), VIREO_OK);
	klock_release();
	install(SEL_HANDLER, &h->obj);
	install(SEL_PT, &pt->obj);
	install(SEL_EXC_PT, &exc->obj);
}

/* A new task with its own SC, held only by its capabilities. Returns false when out of memory. */
static bool spawn(void)
{
	uint64_t sel = SEL_SPAWN_FIRST + 2 * (spawned++ % 1000);
	uint64_t utcb = 0x7f0000400000ull + (spawned % 1000) * PAGE_SIZE;
	struct ec *ec;
	struct sc *sc;
	revoke(sel, 1); /* a dead predecessor's EC and SC */
	klock_acquire();
	status_t st = ec_create(root, "task", 0x401000, 0x7000, utcb, EVT_BASE, 0, 0, false, &ec);
	klock_release();
	if (st != VIREO_OK) {
		return false;
	}
	install(sel, &ec->obj);
	klock_acquire();
	st = sc_create(ec->pd, ec, (unsigned)pick(4) + 1, 10000, &sc);
	klock_release();
	if (st != VIREO_OK) {
		return false;
	}
	install(sel + 1, &sc->obj);
	return true;
}

/* Revoke everything the random calls made and every task: the system is as after set-up. */
static void cleanup(void)
{
	/* Every selector but SEL_PD (1): delegations may have put capabilities anywhere. */
	revoke(0, 0);
	for (unsigned order = 1; order < 12; order++) {
		revoke(1ull << order, order); /* 2-3, 4-7, ..., 0x800-0xfff */
	}
	/* A task may have revoked the root's own capability; the next round needs it. */
	if (!pd_lookup_obj(root, SEL_PD, OBJ_PD, 0)) {
		install(SEL_PD, &root->obj);
	}
}

static struct ec *kernel_entry(struct ec *ec, struct fake_exit *x)
{
	scramble_utcb(ec->utcb);
	scramble_ec_args(root);
	unsigned what = (unsigned)pick(16);
	if (what == 0) {
		*x = fake_timer(ec);
	} else if (what == 1) {
		/* Handlers fault rarely: a dead handler makes every later fault fatal. */
		*x = ec->local && pick(16) ? fake_timer(ec) : fake_exception(ec, 13, 0, 0);
	} else if (what < 5 && ec->local) {
		*x = fake_syscall(ec, SYS_REPLY_WAIT, 0, 0, 0, 0, 0);
	} else {
		uint64_t nr = pick(SYS_COUNT + 1);
		if ((nr == SYS_EC_EXIT && pick(8)) || nr == SYS_DEBUG_WRITE ||
		    (nr == SYS_CALL && ec->local && !HANDLER_CALLS)) {
			nr = SYS_KSTAT; /* exits are rare, or the run is over soon; output is noise */
		}
		const enum kind *k = nr < SYS_COUNT ? args[nr] : args[0];
		*x = fake_syscall(ec, nr, gen(k[0]), gen(k[1]), gen(k[2]), gen(k[3]), gen(k[4]));
	}
	cr_assert(x->kind == FAKE_EXIT_IRET || x->kind == FAKE_EXIT_SYSRET ||
		  x->kind == FAKE_EXIT_STACK);
	return fake_exit_ec(*x);
}

static void run(uint64_t seed)
{
	rng = seed;
	spawned = 0;
	root = fake_pd("root", 48 << 20);
	fake_cap(root, SEL_PD, &root->obj, RIGHTS_ALL);
	fake_user_mem(root, VA_MEM, PAGE_SIZE, NULL, 0);
	struct fake_counts start = fake_counts();
	struct fake_exit x = { 0 };
	for (unsigned i = 0; i < ENTRIES; i++) {
		if (i % CLEANUP_EVERY == 0) {
			cleanup();
			x = fake_schedule();
		}
		if (!fake_exit_ec(x)) {
			/* Everyone is dead or blocked: a new task comes along. */
			revive_handler();
			if (!spawn()) {
				cleanup();
				cr_assert(spawn(), "out of memory right after a clean-up");
			}
			x = fake_schedule();
			cr_assert_not_null(fake_exit_ec(x), "a new task did not run");
		}
		kernel_entry(fake_exit_ec(x), &x);
	}
	cleanup();
	x = fake_schedule(); /* reaps an EC destroyed while current */
	struct fake_counts end = fake_counts();
	/* Page-table pages of the root's space (UTCBs were mapped all over it) and slab pages stay
	 * until the PD goes: only objects and capabilities must be back to the start. */
	end.free_pages = start.free_pages;
	cr_expect(fake_counts_equal(&start, &end), "seed %llu: objects leaked (see stderr)",
		  (unsigned long long)seed);
	if (getenv("KCORE_RANDOM_TRACE")) {
		fprintf(stderr, "seed %llu: %u tasks spawned\n", (unsigned long long)seed, spawned);
	}
}

static void setup(void)
{
	fake_kernel_init(96 << 20, 2);
}

static void teardown(void)
{
	fake_kernel_fini();
}

TestSuite(kcore_random, .init = setup, .fini = teardown);

Test(kcore_random, fifty_thousand_random_entries_seed_1)
{
	run(1);
}

Test(kcore_random, fifty_thousand_random_entries_seed_2)
{
	run(2);
}

Test(kcore_random, fifty_thousand_random_entries_seed_3)
{
	run(3);
}
