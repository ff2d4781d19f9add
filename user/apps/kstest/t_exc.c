/* SPDX-License-Identifier: MIT */
/* kstest: exceptions as IPC (state out, registers back in), recall, and SC accounting. */
#include "kstest.h"
#include "x86defs.h"

#define MTD_WRITABLE (MTD_GPR_ACDB | MTD_GPR_BSD | MTD_GPR_R8_R15 | MTD_RSP | MTD_RIP)

static uint64_t alt_stack[512] __attribute__((aligned(16)));
#define ALT_STACK_TOP ((uintptr_t)&alt_stack[512])

static const uint64_t gpr_init[15] = {
	KT_GPR_RAX, KT_GPR_RBX, KT_GPR_RCX, KT_GPR_RDX, KT_GPR_RBP,
	KT_GPR_RSI, KT_GPR_RDI, KT_GPR_R8,  KT_GPR_R9,	KT_GPR_R10,
	KT_GPR_R11, KT_GPR_R12, KT_GPR_R13, KT_GPR_R14, KT_GPR_R15,
};
static const char *const gpr_name[15] = {
	"rax", "rbx", "rcx", "rdx", "rbp", "rsi", "rdi", "r8",
	"r9",  "r10", "r11", "r12", "r13", "r14", "r15",
};

/* The 15 GPRs of an exception state in gpr_init order (the layout starts with them). */
static void gprs_get(const struct vireo_exc_state *x, uint64_t g[15])
{
	memcpy(g, x, 15 * sizeof(uint64_t));
}

static void gprs_set(struct vireo_exc_state *x, const uint64_t g[15])
{
	memcpy(x, g, 15 * sizeof(uint64_t));
}

#define EXC_SETUP(e, cpu, evt, done, hec)                                                          \
	do {                                                                                       \
		int r_ = kt_exc_env(e, cpu, evt, done, hec);                                       \
		if (r_ != KT_PASS) {                                                               \
			return r_;                                                                 \
		}                                                                                  \
	} while (0)

static unsigned other_cpu(void)
{
	return kt_cpus > 1 ? 1 : 0;
}

/* ---------------------------------------------------------------- state out and in */

static void act_set_all(struct vireo_utcb *u, uint64_t id, unsigned n)
{
	uint64_t g[15];
	(void)id;
	(void)n;
	for (unsigned i = 0; i < 15; i++) {
		g[i] = ~gpr_init[i];
	}
	gprs_set(&u->exc, g);
	u->exc.rsp = ALT_STACK_TOP;
	u->exc.rip = (uintptr_t)kt_gprs_resume;
	u->mtd = MTD_WRITABLE;
}

static int t_exception_state_reaches_handler_and_reply_sets_registers(void)
{
	struct env e;
	uint64_t evt, done, hec, ec;
	EXC_SETUP(&e, 0, &evt, &done, &hec);
	EXPECT_OK(env_exc_portal(&e, hec, evt, 6, MTD_ALL));
	kt_exc_action = act_set_all;
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_gprs_body, 0, other_cpu(), evt, &ec, NULL));
	uint64_t sp = kt_last_stack;
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT_EQ(kt_exc_count, 1);
	struct kt_exc_rec *r = &kt_exc_rec[0];
	EXPECT_EQ(r->id, 6);
	EXPECT_EQ(r->mtd, MTD_ALL);
	EXPECT_EQ(r->st.vector, 6);
	EXPECT_EQ(r->st.error, 0);
	EXPECT_EQ(r->st.rip, (uintptr_t)kt_gprs_insn);
	EXPECT_EQ(r->st.rsp, sp);
	EXPECT(r->st.rflags & RFLAGS_IF, "reported RFLAGS 0x%lx without IF",
	       (unsigned long)r->st.rflags);
	uint64_t g[15];
	gprs_get(&r->st, g);
	for (unsigned i = 0; i < 15; i++) {
		EXPECT(g[i] == gpr_init[i], "handler saw %s = 0x%lx, expected 0x%lx", gpr_name[i],
		       (unsigned long)g[i], (unsigned long)gpr_init[i]);
	}
	/* The EC resumed where the reply said, with the registers the reply set. */
	gprs_get(&kt_exc_out, g);
	for (unsigned i = 0; i < 15; i++) {
		EXPECT(g[i] == ~gpr_init[i], "after the reply %s = 0x%lx, expected 0x%lx",
		       gpr_name[i], (unsigned long)g[i], (unsigned long)~gpr_init[i]);
	}
	EXPECT_EQ(kt_exc_out.rsp, ALT_STACK_TOP);
	EXPECT(kt_exc_out.rflags & RFLAGS_IF, "RFLAGS 0x%lx after the reply",
	       (unsigned long)kt_exc_out.rflags);
	return KT_PASS;
}

static void act_set_all_apply_rip_only(struct vireo_utcb *u, uint64_t id, unsigned n)
{
	act_set_all(u, id, n);
	u->mtd = MTD_RIP;
}

static int t_exception_reply_applies_only_selected_groups(void)
{
	struct env e;
	uint64_t evt, done, hec, ec;
	EXC_SETUP(&e, 0, &evt, &done, &hec);
	EXPECT_OK(env_exc_portal(&e, hec, evt, 6, MTD_ALL));
	kt_exc_action = act_set_all_apply_rip_only;
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_gprs_body, 0, 0, evt, &ec, NULL));
	uint64_t sp = kt_last_stack;
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT_EQ(kt_exc_count, 1);
	uint64_t g[15];
	gprs_get(&kt_exc_out, g);
	for (unsigned i = 0; i < 15; i++) {
		EXPECT(g[i] == gpr_init[i],
		       "%s = 0x%lx after a reply with MTD_RIP only, expected it unchanged (0x%lx)",
		       gpr_name[i], (unsigned long)g[i], (unsigned long)gpr_init[i]);
	}
	EXPECT_EQ(kt_exc_out.rsp, sp);
	return KT_PASS;
}

static int t_exception_portal_mtd_limits_transferred_state(void)
{
	struct env e;
	uint64_t evt, done, hec, ec;
	EXC_SETUP(&e, 0, &evt, &done, &hec);
	EXPECT_OK(env_exc_portal(&e, hec, evt, 6, MTD_RIP | MTD_QUAL));
	kt_exc_resume = (uintptr_t)kt_gprs_resume;
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_gprs_body, 0, 0, evt, &ec, NULL));
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT_EQ(kt_exc_count, 1);
	struct kt_exc_rec *r = &kt_exc_rec[0];
	EXPECT_EQ(r->mtd, MTD_RIP | MTD_QUAL);
	EXPECT_EQ(r->st.rip, (uintptr_t)kt_gprs_insn);
	EXPECT_EQ(r->st.vector, 6);
	/* The handler's UTCB was fresh (zero): groups the portal did not select stay untouched. */
	uint64_t g[15];
	gprs_get(&r->st, g);
	for (unsigned i = 0; i < 15; i++) {
		EXPECT(g[i] == 0,
		       "%s = 0x%lx reached the handler, but the portal's MTD excludes it",
		       gpr_name[i], (unsigned long)g[i]);
	}
	EXPECT_EQ(r->st.rsp, 0);
	EXPECT_EQ(r->st.rflags, 0);
	EXPECT_EQ(kt_exc_out.rax, KT_GPR_RAX);
	return KT_PASS;
}

static void act_evil_rflags(struct vireo_utcb *u, uint64_t id, unsigned n)
{
	(void)id;
	(void)n;
	u->exc.rflags = RFLAGS_IOPL | RFLAGS_VM | RFLAGS_CF; /* and IF clear */
	u->exc.rip = (uintptr_t)kt_gprs_resume;
	u->mtd = MTD_RIP | MTD_RFLAGS;
}

static int t_exception_reply_cannot_set_iopl_or_clear_if(void)
{
	struct env e;
	uint64_t evt, done, hec, ec;
	EXC_SETUP(&e, 0, &evt, &done, &hec);
	EXPECT_OK(env_exc_portal(&e, hec, evt, 6, MTD_ALL));
	kt_exc_action = act_evil_rflags;
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_gprs_body, 0, 0, evt, &ec, NULL));
	EXPECT_OK(kt_wait(done, 2000));
	uint64_t f = kt_exc_out.rflags;
	EXPECT(f & RFLAGS_IF, "RFLAGS 0x%lx: the reply cleared IF", (unsigned long)f);
	EXPECT(!(f & RFLAGS_IOPL), "RFLAGS 0x%lx: the reply raised IOPL", (unsigned long)f);
	EXPECT(!(f & RFLAGS_VM), "RFLAGS 0x%lx: the reply set VM", (unsigned long)f);
	EXPECT(f & RFLAGS_CF, "RFLAGS 0x%lx: the reply's arithmetic flag CF was not applied",
	       (unsigned long)f);
	return KT_PASS;
}

/* The first exception gets a reply with bad_rip (MTD_RIP) or bad_rsp (MTD_RSP); any later one
 * (the EC came back with a fault after all) is sent to kt_signal_exit. */
static volatile uint64_t bad_rip, bad_rsp;
static volatile unsigned bad_first;

static void act_bad_resume(struct vireo_utcb *u, uint64_t id, unsigned n)
{
	(void)id;
	if (n == bad_first) {
		u->exc.rip = bad_rip;
		u->exc.rsp = bad_rsp;
		u->mtd = bad_rip ? MTD_RIP : MTD_RSP;
	} else {
		u->exc.rip = (uintptr_t)kt_signal_exit;
		u->mtd = MTD_RIP;
	}
}

static int t_exception_reply_with_rip_or_rsp_outside_user_space_kills_only_that_ec(void)
{
	struct env e;
	uint64_t evt, done, hec, ec;
	static const struct {
		uint64_t rip, rsp;
	} bad[] = {
		{ 0x0000800000000000ull, 0 }, /* the first non-canonical address */
		{ 0x8000000000000000ull, 0 },
		{ 0xffffffff80200000ull, 0 }, /* canonical, but the kernel's */
		{ 0x00007ffffffff000ull, 0 }, /* the top page, never user memory */
		{ 0, 0x0000800000000008ull }, /* a non-canonical stack */
		{ 0, 0x8000000000000000ull },
	};
	EXC_SETUP(&e, 0, &evt, &done, &hec);
	/* If the EC came back at all, its next fault would reach the handler through these. */
	EXPECT_OK(env_exc_portal(&e, hec, evt, 6, MTD_ALL));
	EXPECT_OK(env_exc_portal(&e, hec, evt, 13, MTD_ALL));
	EXPECT_OK(env_exc_portal(&e, hec, evt, 14, MTD_ALL));
	EXPECT_OK(env_exc_portal(&e, hec, evt, 12, MTD_ALL));
	kt_exc_action = act_bad_resume;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unsigned n0 = kt_exc_count;
		bad_first = n0;
		bad_rip = bad[i].rip;
		bad_rsp = bad[i].rsp;
		EXPECT_OK(env_thread(&e, (uintptr_t)kt_gprs_body, 0, i & 1 ? other_cpu() : 0, evt,
				     &ec, NULL));
		enum vireo_status st = kt_wait(done, 300);
		EXPECT(st == VIREO_TIMEOUT && kt_exc_count == n0 + 1,
		       "after a reply with RIP 0x%lx RSP 0x%lx the EC ran on (%s, %u exceptions), "
		       "expected it killed after its first",
		       (unsigned long)bad[i].rip, (unsigned long)bad[i].rsp, kt_st(st),
		       kt_exc_count - n0);
		EXPECT_EQ(kt_exc_rec[n0 < KT_EXC_MAX ? n0 : 0].st.vector, 6);
	}
	/* The handler, its PD and the kernel go on. */
	kt_exc_action = NULL;
	kt_exc_resume = (uintptr_t)kt_gprs_resume;
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_gprs_body, 0, 0, evt, &ec, NULL));
	EXPECT_OK(kt_wait(done, 2000));
	return KT_PASS;
}

/* ---------------------------------------------------------------- vectors */

static void act_bump_rax(struct vireo_utcb *u, uint64_t id, unsigned n)
{
	(void)id;
	(void)n;
	u->exc.rax += 1;
	u->mtd |= MTD_GPR_ACDB;
}

static int t_breakpoint_is_vector_3_with_rip_after_int3(void)
{
	struct env e;
	uint64_t evt, done, hec, ec;
	EXC_SETUP(&e, 0, &evt, &done, &hec);
	EXPECT_OK(env_exc_portal(&e, hec, evt, 3, MTD_ALL));
	kt_exc_action = act_bump_rax;
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_int3_body, 0, other_cpu(), evt, &ec, NULL));
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT_EQ(kt_exc_count, 1);
	EXPECT_EQ(kt_exc_rec[0].id, 3);
	EXPECT_EQ(kt_exc_rec[0].st.vector, 3);
	EXPECT_EQ(kt_exc_rec[0].st.rip, (uintptr_t)kt_int3_after);
	EXPECT_EQ(kt_exc_rec[0].st.rax, KT_INT3_RAX);
	EXPECT_EQ(kt_exc_out.rax, KT_INT3_RAX + 1);
	return KT_PASS;
}

static int t_privileged_instruction_is_gp_vector_13(void)
{
	struct env e;
	uint64_t evt, done, hec, ec;
	EXC_SETUP(&e, 0, &evt, &done, &hec);
	EXPECT_OK(env_exc_portal(&e, hec, evt, 13, MTD_ALL));
	kt_exc_resume = (uintptr_t)kt_cli_after;
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_cli_body, 0, 0, evt, &ec, NULL));
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT_EQ(kt_exc_count, 1);
	EXPECT_EQ(kt_exc_rec[0].st.vector, 13);
	EXPECT_EQ(kt_exc_rec[0].st.error, 0);
	EXPECT_EQ(kt_exc_rec[0].st.rip, (uintptr_t)kt_cli_insn);
	return KT_PASS;
}

static int t_divide_by_zero_is_vector_0(void)
{
	struct env e;
	uint64_t evt, done, hec, ec;
	EXC_SETUP(&e, 0, &evt, &done, &hec);
	EXPECT_OK(env_exc_portal(&e, hec, evt, 0, MTD_ALL));
	kt_exc_resume = (uintptr_t)kt_div0_after;
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_div0_body, 0, 0, evt, &ec, NULL));
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT_EQ(kt_exc_count, 1);
	EXPECT_EQ(kt_exc_rec[0].st.vector, 0);
	EXPECT_EQ(kt_exc_rec[0].st.rip, (uintptr_t)kt_div0_insn);
	return KT_PASS;
}

static void act_fake_load(struct vireo_utcb *u, uint64_t id, unsigned n)
{
	(void)id;
	(void)n;
	u->exc.rax = 0xfeedbeef;
	u->mtd |= MTD_GPR_ACDB;
}

static int t_page_fault_reports_address_and_error_code(void)
{
	struct env e;
	uint64_t evt, done, hec, ec;
	uint64_t addr = KT_FAULT_AREA + 0x5238;
	EXC_SETUP(&e, 0, &evt, &done, &hec);
	EXPECT_OK(env_exc_portal(&e, hec, evt, 14, MTD_ALL));
	/* A read. */
	kt_exc_resume = (uintptr_t)kt_load_after;
	kt_exc_action = act_fake_load;
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_load_body, addr, other_cpu(), evt, &ec, NULL));
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT_EQ(kt_exc_count, 1);
	EXPECT_EQ(kt_exc_rec[0].id, 14);
	EXPECT_EQ(kt_exc_rec[0].st.vector, 14);
	EXPECT_EQ(kt_exc_rec[0].st.fault_addr, addr);
	EXPECT_EQ(kt_exc_rec[0].st.error & 7, 4); /* user, read, not present */
	EXPECT_EQ(kt_exc_rec[0].st.rip, (uintptr_t)kt_load_insn);
	EXPECT_EQ(kt_exc_out.rax, 0xfeedbeef);
	/* A write. */
	kt_exc_resume = (uintptr_t)kt_store_after;
	kt_exc_action = NULL;
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_store_body, addr + 8, 0, evt, &ec, NULL));
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT_EQ(kt_exc_count, 2);
	EXPECT_EQ(kt_exc_rec[1].st.fault_addr, addr + 8);
	EXPECT_EQ(kt_exc_rec[1].st.error & 7, 6); /* user, write, not present */
	EXPECT_EQ(kt_exc_rec[1].st.rip, (uintptr_t)kt_store_insn);
	return KT_PASS;
}

static volatile uint64_t block_notify, block_gate;

/* The first fault holds the pager until the test opens block_gate. */
static void act_hold_first(struct vireo_utcb *u, uint64_t id, unsigned n)
{
	(void)id;
	if (n == 0) {
		sys_sm_up(block_notify);
		sys_sm_down(block_gate, 3000000);
	}
	u->exc.rax = n;
	u->mtd |= MTD_GPR_ACDB;
}

static int t_page_fault_queued_behind_busy_pager_reports_its_own_address(void)
{
	struct env e;
	uint64_t evt, done, hec, ec, notify, gate;
	uint64_t addr[3] = { KT_FAULT_AREA + 0x71008, KT_FAULT_AREA + 0x72010,
			     KT_FAULT_AREA + 0x73018 };
	EXC_SETUP(&e, 0, &evt, &done, &hec);
	EXPECT_OK(kt_new_sm(&notify, 0));
	EXPECT_OK(kt_new_sm(&gate, 0));
	EXPECT_OK(env_share(&e, notify));
	EXPECT_OK(env_share(&e, gate));
	block_notify = notify;
	block_gate = gate;
	EXPECT_OK(env_exc_portal(&e, hec, evt, 14, MTD_ALL));
	kt_exc_resume = (uintptr_t)kt_load_after;
	kt_exc_action = act_hold_first;
	/* The first fault keeps the pager busy; two more wait in line on the pager's CPU, so the
	 * last fault there is not the one the pager takes next. */
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_load_body, addr[0], other_cpu(), evt, &ec, NULL));
	EXPECT_OK(kt_wait(notify, 2000));
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_load_body, addr[1], 0, evt, &ec, NULL));
	kt_sleep(50);
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_load_body, addr[2], 0, evt, &ec, NULL));
	kt_sleep(50);
	EXPECT_EQ(kt_exc_count, 1);
	EXPECT_OK(sys_sm_up(gate));
	for (unsigned i = 0; i < 3; i++) {
		EXPECT_OK(kt_wait(done, 2000));
	}
	EXPECT_EQ(kt_exc_count, 3);
	for (unsigned i = 0; i < 3; i++) {
		EXPECT(kt_exc_rec[i].st.fault_addr == addr[i],
		       "page fault %u (in line %u) reported address 0x%lx, expected 0x%lx", i, i,
		       (unsigned long)kt_exc_rec[i].st.fault_addr, (unsigned long)addr[i]);
		EXPECT_EQ(kt_exc_rec[i].st.rip, (uintptr_t)kt_load_insn);
	}
	return KT_PASS;
}

static int t_exception_without_portal_kills_only_that_ec(void)
{
	struct env e;
	uint64_t evt, done, hec, ec;
	EXC_SETUP(&e, 0, &evt, &done, &hec);
	/* No portal at evt + 6: the kernel kills the EC (and says so on the console). */
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_gprs_body, 0, 0, evt, &ec, NULL));
	EXPECT_ST(kt_wait(done, 300), VIREO_TIMEOUT);
	EXPECT_EQ(kt_exc_count, 0);
	EXPECT_EQ(kt_exc_out.rax, 0);
	/* The PD and the kernel go on: another EC there runs. */
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_signal_exit, 0, 0, evt, &ec, NULL));
	EXPECT_OK(kt_wait(done, 2000));
	return KT_PASS;
}

static void h_die(uint64_t id)
{
	(void)id;
	__asm__ volatile("ud2");
	sys_reply_wait();
}

static int t_faulting_ec_dies_when_its_handler_dies(void)
{
	struct env e;
	uint64_t evt, done, hec, ec, pt, utcb;
	EXC_SETUP(&e, 0, &evt, &done, &hec);
	/* The #UD portal leads to a handler that itself faults, with nobody to handle that. */
	EXPECT_OK(env_local_ec(&e, 0, env_evt_block(&e), &hec, &utcb));
	EXPECT_OK(env_portal(&e, hec, (uintptr_t)h_die, MTD_ALL, 6, &pt));
	EXPECT_OK(env_install(&e, pt, evt + 6));
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_gprs_body, 0, 0, evt, &ec, NULL));
	EXPECT_ST(kt_wait(done, 300), VIREO_TIMEOUT);
	EXPECT_EQ(kt_exc_out.rax, 0); /* it never got past its ud2 */
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_signal_exit, 0, 0, evt, &ec, NULL));
	EXPECT_OK(kt_wait(done, 2000));
	return KT_PASS;
}

/* Hold on to the fault: tell the test, then wait (the test destroys us meanwhile). */
static void act_block(struct vireo_utcb *u, uint64_t id, unsigned n)
{
	(void)u;
	(void)id;
	(void)n;
	sys_sm_up(block_notify);
	sys_sm_down(block_gate, 3000000);
}

static int t_faulting_ec_is_killed_when_handler_dies_mid_fault(void)
{
	struct env e;
	uint64_t evt, done, hec, ec, pt, notify, gate;
	uint64_t h = kt_heap_page(14), x = KT_FAULT_AREA + 0x60000;
	if (!h) {
		return kt_skip("heap smaller than 15 pages");
	}
	*(volatile uint64_t *)h = 0x1e7;
	EXC_SETUP(&e, 0, &evt, &done, &hec);
	EXPECT_OK(kt_new_sm(&notify, 0));
	EXPECT_OK(kt_new_sm(&gate, 0));
	EXPECT_OK(env_share(&e, notify));
	EXPECT_OK(env_share(&e, gate));
	block_notify = notify;
	block_gate = gate;
	EXPECT_OK(env_exc_portal_sel(&e, hec, evt, 14, MTD_ALL, &pt));
	kt_exc_action = act_block;
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_load_body, x, 0, evt, &ec, NULL));
	EXPECT_OK(kt_wait(notify, 2000));
	/* The page appears, then the handler dies with the fault unanswered. */
	EXPECT_OK(sys_delegate(e.pd, vireo_crd(CRD_MEM, h >> 12, 0, MEM_R), x >> 12, 0));
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, pt, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, hec, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
	/* ABI: "if the handler dies the EC is killed": it must not go on (and load the page). */
	enum vireo_status st = kt_wait(done, 300);
	EXPECT(st == VIREO_TIMEOUT,
	       "the faulting EC continued after its handler died (it loaded 0x%lx, RAX 0x%lx), "
	       "expected it killed",
	       (unsigned long)x, (unsigned long)kt_exc_out.rax);
	return KT_PASS;
}

static struct vireo_utcb *volatile faulty_utcb;

/* A portal handler that hits a ud2 while serving a call, then replies. */
static void h_faulty(uint64_t id)
{
	struct vireo_utcb *u = faulty_utcb;
	uint64_t v = u->mr[0];
	kt_ud2_ret();
	u->mr[0] = v + id;
	u->untyped = 1;
	u->typed = 0;
	sys_reply_wait();
}

static int t_handler_exception_goes_to_its_own_event_portal(void)
{
	struct env e;
	uint64_t evt, done, hec, lec, pt, utcb;
	EXC_SETUP(&e, 0, &evt, &done, &hec);
	/* The local EC's #UD goes to its event base, served by the exception handler. */
	EXPECT_OK(env_exc_portal(&e, hec, evt, 6, MTD_ALL));
	kt_exc_resume = (uintptr_t)kt_ud2_ret_after;
	EXPECT_OK(env_local_ec(&e, kt_cpus > 1 ? 1 : 0, evt, &lec, &utcb));
	faulty_utcb = (struct vireo_utcb *)utcb;
	EXPECT_OK(env_portal(&e, lec, (uintptr_t)h_faulty, 0, 5, &pt));
	KT_UTCB->mr[0] = 100;
	KT_UTCB->untyped = 1;
	EXPECT_OK(sys_call(pt));
	EXPECT_EQ(KT_UTCB->mr[0], 105);
	EXPECT_EQ(kt_exc_count, 1);
	EXPECT_EQ(kt_exc_rec[0].st.vector, 6);
	EXPECT_EQ(kt_exc_rec[0].st.rip, (uintptr_t)kt_ud2_ret_insn);
	/* Again: the handler restarts cleanly for the next call. */
	KT_UTCB->mr[0] = 200;
	KT_UTCB->untyped = 1;
	EXPECT_OK(sys_call(pt));
	EXPECT_EQ(KT_UTCB->mr[0], 205);
	EXPECT_EQ(kt_exc_count, 2);
	return KT_PASS;
}

/* ---------------------------------------------------------------- recall */

static int recall_test(unsigned cpu)
{
	struct env e;
	static struct kt_loop loop;
	uint64_t evt, done, hec, ec;
	memset((void *)&loop, 0, sizeof(loop));
	EXC_SETUP(&e, 0, &evt, &done, &hec);
	EXPECT_OK(env_exc_portal(&e, hec, evt, EVT_RECALL, MTD_ALL));
	kt_exc_resume = (uintptr_t)kt_signal_exit;
	kt_exc_done = KT_NONE;
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_spin_body, (uintptr_t)&loop, cpu, evt, &ec, NULL));
	for (int i = 0; i < 100 && loop.count == 0; i++) {
		kt_sleep(10);
	}
	EXPECT(loop.count != 0, "the looping EC never ran");
	EXPECT_EQ(kt_exc_count, 0);
	EXPECT_OK(sys_ec_recall(ec));
	enum vireo_status st = kt_wait(done, 2000);
	EXPECT(st == VIREO_OK,
	       "the recalled EC did not reach its recall handler within 2 s (%s, %u events)",
	       kt_st(st), kt_exc_count);
	EXPECT_EQ(kt_exc_count, 1);
	EXPECT_EQ(kt_exc_rec[0].id, EVT_RECALL);
	uint64_t rip = kt_exc_rec[0].st.rip;
	EXPECT(rip >= (uintptr_t)kt_spin_body && rip < (uintptr_t)kt_spin_end,
	       "recall reported RIP 0x%lx, outside the loop [0x%lx, 0x%lx)", (unsigned long)rip,
	       (unsigned long)(uintptr_t)kt_spin_body, (unsigned long)(uintptr_t)kt_spin_end);
	EXPECT_EQ(kt_exc_rec[0].st.rdi, (uintptr_t)&loop);
	return KT_PASS;
}

static int t_recall_enters_recall_event_of_looping_ec(void)
{
	return recall_test(0);
}

static int t_recall_reaches_looping_ec_on_other_cpu(void)
{
	if (kt_cpus < 2) {
		return kt_skip("needs 2 CPUs, %u online", kt_cpus);
	}
	return recall_test(1);
}

/* ---------------------------------------------------------------- SC accounting */

static int t_sc_consumed_time_grows_while_ec_spins(void)
{
	struct env e;
	static struct kt_loop loop;
	uint64_t ec, sc, c0, c1, c2, c3;
	memset((void *)&loop, 0, sizeof(loop));
	EXPECT_OK(env_open(&e, ENV_DEFAULT));
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_spin_body, (uintptr_t)&loop, other_cpu(),
			     env_evt_block(&e), &ec, &sc));
	EXPECT_OK(sys_sc_consumed(sc, &c0));
	kt_sleep(150);
	EXPECT_OK(sys_sc_consumed(sc, &c1));
	EXPECT(c1 >= c0 + 20000, "consumed time went from %lu us to %lu us in 150 ms of spinning",
	       (unsigned long)c0, (unsigned long)c1);
	EXPECT(c1 <= 10000000, "consumed time %lu us is implausibly large", (unsigned long)c1);
	loop.stop = 1;
	kt_sleep(30);
	EXPECT_OK(sys_sc_consumed(sc, &c2));
	kt_sleep(60);
	EXPECT_OK(sys_sc_consumed(sc, &c3));
	EXPECT(c3 == c2, "consumed time still grows after the EC ended: %lu us -> %lu us",
	       (unsigned long)c2, (unsigned long)c3);
	return KT_PASS;
}

static int t_own_sc_consumed_time_grows(void)
{
	unsigned type = 0;
	uint64_t c0, c1;
	long st;
	if (!kt_lookup_obj(SEL_SELF_SC, &type) || type != OBJ_SC) {
		return kt_skip("no SC capability at SEL_SELF_SC");
	}
	/* Calibrate the TSC against a 50 ms timeout, then spin for about 150 ms. */
	uint64_t t0 = kt_rdtsc();
	st = sys_sm_down(KT_SEL_SLEEP, 50000);
	uint64_t per50 = kt_rdtsc() - t0;
	EXPECT_ST(st, VIREO_TIMEOUT);
	EXPECT_OK(sys_sc_consumed(SEL_SELF_SC, &c0));
	t0 = kt_rdtsc();
	while (kt_rdtsc() - t0 < 3 * per50) {
		__asm__ volatile("pause");
	}
	EXPECT_OK(sys_sc_consumed(SEL_SELF_SC, &c1));
	EXPECT(c1 >= c0 + 20000,
	       "own consumed time went from %lu us to %lu us in about 150 ms of spinning",
	       (unsigned long)c0, (unsigned long)c1);
	return KT_PASS;
}

const struct kt_test kt_exc_tests[] = {
	{ "exception_state_reaches_handler_and_reply_sets_registers",
	  t_exception_state_reaches_handler_and_reply_sets_registers },
	{ "exception_reply_applies_only_selected_groups",
	  t_exception_reply_applies_only_selected_groups },
	{ "exception_portal_mtd_limits_transferred_state",
	  t_exception_portal_mtd_limits_transferred_state },
	{ "exception_reply_cannot_set_iopl_or_clear_if",
	  t_exception_reply_cannot_set_iopl_or_clear_if },
	{ "exception_reply_with_rip_or_rsp_outside_user_space_kills_only_that_ec",
	  t_exception_reply_with_rip_or_rsp_outside_user_space_kills_only_that_ec },
	{ "breakpoint_is_vector_3_with_rip_after_int3",
	  t_breakpoint_is_vector_3_with_rip_after_int3 },
	{ "privileged_instruction_is_gp_vector_13", t_privileged_instruction_is_gp_vector_13 },
	{ "divide_by_zero_is_vector_0", t_divide_by_zero_is_vector_0 },
	{ "page_fault_reports_address_and_error_code",
	  t_page_fault_reports_address_and_error_code },
	{ "page_fault_queued_behind_busy_pager_reports_its_own_address",
	  t_page_fault_queued_behind_busy_pager_reports_its_own_address },
	{ "exception_without_portal_kills_only_that_ec",
	  t_exception_without_portal_kills_only_that_ec },
	{ "faulting_ec_dies_when_its_handler_dies", t_faulting_ec_dies_when_its_handler_dies },
	{ "faulting_ec_is_killed_when_handler_dies_mid_fault",
	  t_faulting_ec_is_killed_when_handler_dies_mid_fault },
	{ "handler_exception_goes_to_its_own_event_portal",
	  t_handler_exception_goes_to_its_own_event_portal },
	{ "recall_enters_recall_event_of_looping_ec", t_recall_enters_recall_event_of_looping_ec },
	{ "recall_reaches_looping_ec_on_other_cpu", t_recall_reaches_looping_ec_on_other_cpu },
	{ "sc_consumed_time_grows_while_ec_spins", t_sc_consumed_time_grows_while_ec_spins },
	{ "own_sc_consumed_time_grows", t_own_sc_consumed_time_grows },
	{ NULL, NULL },
};
