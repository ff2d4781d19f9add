/* SPDX-License-Identifier: MIT */
/* kstest's test environments: selectors, stacks, UTCBs, sandbox PDs, ECs and the exception handler. */
#include <stddef.h>

#include "kstest.h"

_Static_assert(KT_SYS_EC_EXIT == SYS_EC_EXIT && KT_SYS_SM_CTRL == SYS_SM_CTRL,
	       "asm.S syscall numbers");
_Static_assert(offsetof(struct vireo_exc_state, rax) == KT_X_RAX, "exc_state layout");
_Static_assert(offsetof(struct vireo_exc_state, rbp) == KT_X_RBP, "exc_state layout");
_Static_assert(offsetof(struct vireo_exc_state, rdi) == KT_X_RDI, "exc_state layout");
_Static_assert(offsetof(struct vireo_exc_state, r8) == KT_X_R8, "exc_state layout");
_Static_assert(offsetof(struct vireo_exc_state, r15) == KT_X_R15, "exc_state layout");
_Static_assert(offsetof(struct vireo_exc_state, rsp) == KT_X_RSP, "exc_state layout");
_Static_assert(offsetof(struct vireo_exc_state, rip) == KT_X_RIP, "exc_state layout");
_Static_assert(offsetof(struct vireo_exc_state, rflags) == KT_X_RFLAGS, "exc_state layout");
_Static_assert(offsetof(struct kt_loop, count) == KT_LOOP_COUNT, "kt_loop layout");
_Static_assert(offsetof(struct kt_loop, last) == KT_LOOP_LAST, "kt_loop layout");
_Static_assert(offsetof(struct kt_loop, stop) == KT_LOOP_STOP, "kt_loop layout");

#define KT_NSTACKS 12
#define KT_STACK_SIZE 8192
#define KT_MAX_IMAGE_CAPS 256

/* Shared with test ECs (in sandboxes too: the image is mapped there). */
volatile unsigned kt_exc_count;
struct kt_exc_rec kt_exc_rec[KT_EXC_MAX];
kt_exc_action_fn volatile kt_exc_action;
volatile uint64_t kt_exc_resume;
volatile uint64_t kt_exc_done = KT_NONE;
struct vireo_exc_state kt_exc_out;
volatile uint64_t kt_done_sel = KT_SEL_SPARE;
volatile uint64_t kt_stop;
static struct vireo_utcb *volatile kt_exc_utcb;

static uint8_t kt_stacks[KT_NSTACKS][KT_STACK_SIZE] __attribute__((aligned(16)));
static unsigned next_stack;
static uint64_t next_sel = KT_BLOCK_BASE;
static uint64_t next_utcb = KT_UTCB_AREA;
static bool threads_started;

/* The memory capabilities that make up kstest's program image (for sandboxes). */
static uint64_t image_caps[KT_MAX_IMAGE_CAPS];
static unsigned nimage_caps;
static uint64_t image_pages;
static bool image_ok;

extern char _start[];

uint64_t kt_sel(void)
{
	if (next_sel >= KT_OBJ_END) {
		return KT_SEL_SPARE;
	}
	return next_sel++;
}

uint64_t kt_sel_aligned(unsigned n)
{
	uint64_t s = (next_sel + n - 1) & ~(uint64_t)(n - 1);
	if (s + n > KT_OBJ_END) {
		return KT_SEL_SPARE;
	}
	next_sel = s + n;
	return s;
}

uint64_t kt_utcb_va(void)
{
	uint64_t va = next_utcb;
	next_utcb += 0x1000;
	return va;
}

uint64_t kt_last_stack;

uint64_t kt_stack(void)
{
	unsigned i = next_stack < KT_NSTACKS ? next_stack++ : KT_NSTACKS - 1;
	kt_last_stack = (uintptr_t)&kt_stacks[i][KT_STACK_SIZE] - 8;
	return kt_last_stack;
}

uint64_t kt_heap_page(unsigned i)
{
	if ((uint64_t)(i + 1) * 0x1000 > kt_heap_size) {
		return 0;
	}
	return TASK_HEAP_VA + (uint64_t)i * 0x1000;
}

void kt_sleep(unsigned ms)
{
	sys_sm_down(KT_SEL_SLEEP, (uint64_t)ms * 1000);
}

enum vireo_status kt_wait(uint64_t sm, unsigned ms)
{
	return sys_sm_down(sm, (uint64_t)ms * 1000);
}

enum vireo_status kt_new_sm(uint64_t *sel, uint64_t count)
{
	*sel = kt_sel();
	return sys_create_sm(*sel, SEL_SELF_PD, count);
}

enum vireo_status kt_copy(uint64_t sel, unsigned rights, uint64_t *copy)
{
	*copy = kt_sel();
	return sys_delegate(SEL_SELF_PD, vireo_crd(CRD_OBJ, sel, 0, rights), *copy, 0);
}

uint64_t kt_lookup_obj(uint64_t sel, unsigned *type)
{
	uint64_t found = 0;
	unsigned t = 0;
	sys_lookup(vireo_crd(CRD_OBJ, sel, 0, 0), &found, &t);
	if (type) {
		*type = t;
	}
	return found;
}

uint64_t kt_lookup_mem(uint64_t va)
{
	uint64_t found = 0;
	sys_lookup(vireo_crd(CRD_MEM, va >> 12, 0, 0), &found, NULL);
	return found;
}

/* ---------------------------------------------------------------- program image */

static bool image_covers(uint64_t va)
{
	for (unsigned i = 0; i < nimage_caps; i++) {
		uint64_t b = vireo_crd_base(image_caps[i]) << 12;
		uint64_t e = b + (0x1000ull << vireo_crd_order(image_caps[i]));
		if (va >= b && va < e) {
			return true;
		}
	}
	return false;
}

/* Find the memory capabilities covering the image, from its first page up to the first gap. */
static void image_scan(void)
{
	uint64_t va = (uintptr_t)_start & ~0xfffull;
	while (nimage_caps < KT_MAX_IMAGE_CAPS) {
		uint64_t crd = kt_lookup_mem(va);
		if (!crd || vireo_crd_space(crd) != CRD_MEM) {
			break;
		}
		uint64_t end = (vireo_crd_base(crd) + (1ull << vireo_crd_order(crd))) << 12;
		if (end <= va) {
			break;
		}
		image_caps[nimage_caps++] = crd;
		image_pages += 1ull << vireo_crd_order(crd);
		va = end;
	}
	image_ok = nimage_caps > 0 && image_covers((uintptr_t)_start) &&
		   image_covers((uintptr_t)&kt_stacks[KT_NSTACKS - 1][KT_STACK_SIZE - 1]) &&
		   image_covers((uintptr_t)&kt_stacks[0][0]) &&
		   image_covers((uintptr_t)&kt_exc_out) &&
		   image_covers((uintptr_t)&kt_exc_rec[KT_EXC_MAX - 1]) &&
		   image_covers((uintptr_t)&kt_exc_done);
}

int kt_image_pages(void)
{
	return image_ok ? (int)image_pages : -1;
}

void kt_env_init(void)
{
	image_scan();
}

/* ---------------------------------------------------------------- cleanup between tests */

void kt_cleanup(void)
{
	kt_stop = 1;
	if (threads_started) {
		kt_sleep(30);
	}
	sys_revoke(vireo_crd(CRD_OBJ, KT_BLOCK_BASE, KT_BLOCK_ORDER, RIGHTS_ALL),
		   VIREO_REVOKE_SELF);
	sys_revoke(vireo_crd(CRD_OBJ, KT_SEL_SPARE, 0, RIGHTS_ALL), VIREO_REVOKE_SELF);
	if (kt_heap_size) {
		unsigned order = 0;
		while ((0x1000ull << order) < kt_heap_size) {
			order++;
		}
		sys_revoke(vireo_crd(CRD_MEM, TASK_HEAP_VA >> 12, order, RIGHTS_ALL), 0);
	}
	struct vireo_utcb *u = KT_UTCB;
	memset(u->rcv_window, 0, sizeof(u->rcv_window));
	u->untyped = 0;
	u->typed = 0;
	next_sel = KT_BLOCK_BASE;
	next_stack = 0;
	threads_started = false;
	kt_exc_count = 0;
	kt_exc_action = NULL;
	kt_exc_resume = 0;
	kt_exc_done = KT_NONE;
	kt_done_sel = KT_SEL_SPARE;
	kt_stop = 0;
}

/* ---------------------------------------------------------------- environments */

enum vireo_status env_open(struct env *e, enum env_kind kind)
{
	e->nevt = 0;
	e->own = kind == ENV_OWN || (kind == ENV_DEFAULT && kt_own_mode);
	if (e->own) {
		e->pd = SEL_SELF_PD;
		return VIREO_OK;
	}
	e->pd = kt_sel();
	enum vireo_status st = sys_create_pd(e->pd, SEL_SELF_PD, KT_ENV_QUOTA);
	if (st != VIREO_OK) {
		return st;
	}
	if (!image_ok) {
		/* Without its image a sandbox cannot run kstest code: say so as a distinct status. */
		return VIREO_BAD_FTR;
	}
	for (unsigned i = 0; i < nimage_caps && st == VIREO_OK; i++) {
		st = sys_delegate(e->pd, image_caps[i], vireo_crd_base(image_caps[i]), 0);
	}
	return st;
}

static enum vireo_status create_ec(struct env *e, uintptr_t ip, uint64_t arg, unsigned cpu,
				   uint64_t evt_base, bool local, uint64_t *sel, uint64_t *utcb)
{
	struct vireo_ec_create a = {
		.ip = ip,
		.sp = kt_stack(),
		.utcb = kt_utcb_va(),
		.evt_base = evt_base,
		.arg = arg,
		.cpu = cpu,
		.flags = local ? VIREO_EC_LOCAL : 0,
	};
	*sel = kt_sel();
	if (utcb) {
		*utcb = a.utcb;
	}
	return sys_create_ec(*sel, e->pd, &a);
}

enum vireo_status env_local_ec(struct env *e, unsigned cpu, uint64_t evt_base, uint64_t *sel,
			       uint64_t *utcb)
{
	return create_ec(e, 0, 0, cpu, evt_base, true, sel, utcb);
}

enum vireo_status env_global_ec(struct env *e, uintptr_t ip, uint64_t arg, unsigned cpu,
				uint64_t evt_base, uint64_t *sel, uint64_t *utcb)
{
	return create_ec(e, ip, arg, cpu, evt_base, false, sel, utcb);
}

enum vireo_status env_sc(struct env *e, uint64_t ec, uint64_t *sc)
{
	*sc = kt_sel();
	threads_started = true;
	return sys_create_sc(*sc, e->pd, ec, KT_PRIO, KT_QUANTUM_US);
}

enum vireo_status env_thread(struct env *e, uintptr_t ip, uint64_t arg, unsigned cpu,
			     uint64_t evt_base, uint64_t *ec, uint64_t *sc)
{
	uint64_t dummy;
	enum vireo_status st = env_global_ec(e, ip, arg, cpu, evt_base, ec, NULL);
	return st == VIREO_OK ? env_sc(e, *ec, sc ? sc : &dummy) : st;
}

enum vireo_status env_portal(struct env *e, uint64_t ec, uintptr_t ip, uint64_t mtd, uint64_t id,
			     uint64_t *pt)
{
	*pt = kt_sel();
	enum vireo_status st = sys_create_pt(*pt, e->pd, ec, ip, mtd);
	if (st == VIREO_OK && id) {
		st = sys_pt_ctrl(*pt, id);
	}
	return st;
}

enum vireo_status env_install(struct env *e, uint64_t sel, uint64_t dst)
{
	return sys_delegate(e->pd, vireo_crd(CRD_OBJ, sel, 0, RIGHTS_ALL), dst, 0);
}

enum vireo_status env_share(struct env *e, uint64_t sel)
{
	return e->own ? VIREO_OK : env_install(e, sel, sel);
}

enum vireo_status env_share_mem(struct env *e, uint64_t va, unsigned rights)
{
	if (e->own) {
		return VIREO_OK;
	}
	return sys_delegate(e->pd, vireo_crd(CRD_MEM, va >> 12, 0, rights), va >> 12, 0);
}

uint64_t env_evt_block(struct env *e)
{
	unsigned n = e->nevt < 3 ? e->nevt++ : 3;
	return (e->own ? KT_OWN_EVT_BASE : 0) + 64ull * n;
}

/* ---------------------------------------------------------------- exception handler */

static void kt_exc_handler(uint64_t id)
{
	struct vireo_utcb *u = kt_exc_utcb;
	unsigned n = kt_exc_count;
	if (n < KT_EXC_MAX) {
		kt_exc_rec[n].id = id;
		kt_exc_rec[n].mtd = u->mtd;
		kt_exc_rec[n].st = u->exc;
	}
	kt_exc_count = n + 1;
	u->mtd = 0;
	u->untyped = 0;
	u->typed = 0;
	if (kt_exc_resume) {
		u->exc.rip = kt_exc_resume;
		u->mtd |= MTD_RIP;
	}
	if (kt_exc_action) {
		kt_exc_action(u, id, n);
	}
	if (kt_exc_done != KT_NONE) {
		sys_sm_up(kt_exc_done);
	}
	sys_reply_wait();
}

enum vireo_status env_exc_handler(struct env *e, unsigned cpu, uint64_t *ec)
{
	uint64_t utcb;
	kt_exc_count = 0;
	kt_exc_action = NULL;
	kt_exc_resume = 0;
	kt_exc_done = KT_NONE;
	memset(kt_exc_rec, 0, sizeof(kt_exc_rec));
	memset(&kt_exc_out, 0, sizeof(kt_exc_out));
	enum vireo_status st = env_local_ec(e, cpu, env_evt_block(e), ec, &utcb);
	kt_exc_utcb = (struct vireo_utcb *)utcb;
	return st;
}

enum vireo_status env_exc_portal_sel(struct env *e, uint64_t ec, uint64_t evt, unsigned vector,
				     uint64_t mtd, uint64_t *pt)
{
	enum vireo_status st = env_portal(e, ec, (uintptr_t)kt_exc_handler, mtd, vector, pt);
	return st == VIREO_OK ? env_install(e, *pt, evt + vector) : st;
}

enum vireo_status env_exc_portal(struct env *e, uint64_t ec, uint64_t evt, unsigned vector,
				 uint64_t mtd)
{
	uint64_t pt;
	return env_exc_portal_sel(e, ec, evt, vector, mtd, &pt);
}

int kt_exc_env(struct env *e, unsigned handler_cpu, uint64_t *evt, uint64_t *done, uint64_t *hec)
{
	EXPECT_OK(env_open(e, ENV_DEFAULT));
	EXPECT_OK(kt_new_sm(done, 0));
	EXPECT_OK(env_share(e, *done));
	kt_done_sel = *done;
	EXPECT_OK(env_exc_handler(e, handler_cpu, hec));
	*evt = env_evt_block(e);
	return KT_PASS;
}
