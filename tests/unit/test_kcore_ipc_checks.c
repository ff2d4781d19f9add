/* SPDX-License-Identifier: MIT */
/*
 * What IPC and the system calls refuse or clamp before they act: message counts beyond the UTCB,
 * entry points outside user space, and the state a queued fault or call keeps while it waits.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_kernel.h"
#include "ipc.h"
#include "klock.h"
#include "mdb.h"
#include "obj.h"
#include "sched.h"
#include "sm.h"

#define SEL_PD 1
#define SEL_PT 40
#define SEL_GIFT 50 /* the handler's capability it hands out */
#define SEL_SM 51
#define SEL_FREE_FOR_TRACE 52
#define WIN_BASE 64
#define EVT_BASE 0x100
#define HANDLER_IP 0x401000ull
#define VA_ARGS 0x20000000ull
#define W VIREO_UTCB_WORDS

static struct pd *client_pd, *server_pd;
static struct ec *client, *handler;
static struct portal *pt;

static void setup(void)
{
	fake_kernel_init(16 << 20, 2);
	client_pd = fake_pd("client", 1 << 20);
	server_pd = fake_pd("server", 1 << 20);
	client = fake_ec(client_pd, "client", false, 0, EVT_BASE);
	handler = fake_ec(server_pd, "handler", true, 0, 0);
	fake_sc(client, 1, 10000);
	pt = fake_portal(handler, HANDLER_IP, 0, 7);
	fake_cap(client_pd, SEL_PT, &pt->obj, RIGHT_PT_CALL);
	fake_cap(client_pd, SEL_PD, &client_pd->obj, RIGHTS_ALL);
	fake_cap(server_pd, SEL_GIFT, &pt->obj, RIGHTS_ALL);
}

static void teardown(void)
{
	fake_kernel_fini();
}

TestSuite(kcore_ipc_checks, .init = setup, .fini = teardown);

static struct fake_exit reply_wait(void)
{
	struct fake_exit x = fake_syscall(handler, SYS_REPLY_WAIT, 0, 0, 0, 0, 0);
	cr_assert(!klock_held());
	return x;
}

/* ---------------------------------------------------------------- message counts */

/* The client calls; the handler replies with `untyped` words and `typed` items, item 0 a valid
 * delegation of SEL_GIFT to WIN_BASE + 2 in the client's window. */
static void reply_with_counts(uint16_t untyped, uint16_t typed)
{
	client->utcb->untyped = 0;
	client->utcb->rcv_window[CRD_OBJ] = vireo_crd(CRD_OBJ, WIN_BASE, 4, 0);
	struct fake_exit x = fake_syscall(client, SYS_CALL, SEL_PT, 0, 0, 0, 0);
	cr_assert_eq(fake_exit_ec(x), handler);
	for (unsigned i = 0; i < W; i++) {
		handler->utcb->mr[i] = 0xa5a5000000000000ull | (uint64_t)i << 4;
	}
	handler->utcb->mr[W - 2] = vireo_crd(CRD_OBJ, SEL_GIFT, 0, RIGHT_PT_CALL);
	handler->utcb->mr[W - 1] = (uint64_t)(WIN_BASE + 2) << 12;
	handler->utcb->untyped = untyped;
	handler->utcb->typed = typed;
	x = reply_wait();
	cr_assert_eq(fake_exit_ec(x), client);
}

Test(kcore_ipc_checks, a_reply_item_that_fits_is_delivered)
{
	reply_with_counts(2, 1);
	cr_expect_eq(client->regs.rax, VIREO_OK);
	cr_expect_not_null(mdb_lookup(&client_pd->objs, WIN_BASE + 2));
}

Test(kcore_ipc_checks, reply_of_500_words_carries_400_and_no_items)
{
	static const uint16_t typed[] = { 1, 2, 200, UINT16_MAX };
	for (unsigned t = 0; t < sizeof(typed) / sizeof(typed[0]); t++) {
		reply_with_counts(500, typed[t]);
		cr_expect_eq(client->regs.rax, VIREO_OK, "500 words, %u items: status %lu",
			     typed[t], (unsigned long)client->regs.rax);
		cr_expect_eq(client->utcb->untyped, W);
		cr_expect_eq(client->utcb->typed, 0);
		cr_expect_eq(client->utcb->mr[W - 3], 0xa5a5000000000000ull | (uint64_t)(W - 3)
										      << 4);
		cr_expect_null(mdb_lookup(&client_pd->objs, WIN_BASE + 2),
			       "500 words and %u items: an item was delivered", typed[t]);
	}
}

Test(kcore_ipc_checks, odd_words_left_over_hold_no_item)
{
	/* 399 words leave one word: not enough for the two-word item that overlaps mr[398]. */
	reply_with_counts(W - 1, 1);
	cr_expect_eq(client->regs.rax, VIREO_OK);
	cr_expect_null(mdb_lookup(&client_pd->objs, WIN_BASE + 2));
}

/* ---------------------------------------------------------------- exception replies */

static void fault_and_reply(uint64_t mtd, uint64_t rip, uint64_t rsp)
{
	if (!mdb_lookup(&client_pd->objs, EVT_BASE + 6)) {
		struct portal *p = fake_portal(handler, HANDLER_IP, MTD_ALL, 6);
		fake_cap(client_pd, EVT_BASE + 6, &p->obj, RIGHT_PT_CALL);
	}
	client->regs.rip = 0x402000;
	struct fake_exit x = fake_exception(client, 6, 0, 0);
	cr_assert_eq(fake_exit_ec(x), handler);
	handler->utcb->exc.rip = rip;
	handler->utcb->exc.rsp = rsp;
	handler->utcb->mtd = mtd;
	reply_wait();
}

Test(kcore_ipc_checks, exception_reply_with_rip_outside_user_space_kills_only_the_faulting_ec)
{
	static const uint64_t bad[] = { 0x0000800000000000ull, 0x8000000000000000ull,
					0xffffffff80200000ull, USER_END, UINT64_MAX };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(client->state, EC_READY);
		fault_and_reply(MTD_RIP, bad[i], 0);
		cr_expect_eq(client->state, EC_DEAD, "a reply with RIP 0x%lx did not kill the EC",
			     (unsigned long)bad[i]);
		cr_expect_neq(client->regs.rip, bad[i], "RIP 0x%lx reached the frame",
			      (unsigned long)bad[i]);
		cr_expect_eq(handler->state, EC_WAITING, "the handler must go on");
		cr_expect_null(handler->caller);
		/* A fresh client for the next round. */
		client = fake_ec(client_pd, "client", false, 0, EVT_BASE);
		fake_sc(client, 1, 10000);
	}
}

Test(kcore_ipc_checks, exception_reply_with_rsp_outside_user_space_kills_the_ec)
{
	fault_and_reply(MTD_RSP, 0, 0x0000800000000008ull);
	cr_expect_eq(client->state, EC_DEAD);
	cr_expect_eq(handler->state, EC_WAITING);
}

Test(kcore_ipc_checks, exception_reply_at_the_edges_of_user_space_is_applied)
{
	fault_and_reply(MTD_RIP | MTD_RSP, USER_END - 1, USER_END);
	cr_expect_eq(client->state, EC_READY);
	cr_expect_eq(client->regs.rip, USER_END - 1);
	cr_expect_eq(client->regs.rsp, USER_END);
}

Test(kcore_ipc_checks, a_state_is_checked_only_in_the_groups_the_mtd_selects)
{
	struct vireo_exc_state x = { .rip = UINT64_MAX, .rsp = UINT64_MAX };
	cr_expect(ipc_exc_state_valid(&x, MTD_GPR_ACDB | MTD_RFLAGS));
	cr_expect(!ipc_exc_state_valid(&x, MTD_RIP));
	cr_expect(!ipc_exc_state_valid(&x, MTD_RSP));
	x.rip = 0x401000;
	x.rsp = 0x7fff0000;
	cr_expect(ipc_exc_state_valid(&x, MTD_ALL));
}

/* ---------------------------------------------------------------- queued faults and calls */

Test(kcore_ipc_checks, page_fault_queued_behind_a_busy_pager_reports_its_own_address)
{
	struct portal *p = fake_portal(handler, HANDLER_IP, MTD_QUAL, 14);
	fake_cap(client_pd, EVT_BASE + 14, &p->obj, RIGHT_PT_CALL);
	struct ec *second = fake_ec(client_pd, "second", false, 0, EVT_BASE);
	struct ec *third = fake_ec(client_pd, "third", false, 0, EVT_BASE);
	fake_sc(second, 1, 10000);
	fake_sc(third, 1, 10000);
	struct fake_exit x = fake_exception(client, 14, 4, 0x10000008);
	cr_assert_eq(fake_exit_ec(x), handler);
	cr_expect_eq(handler->utcb->exc.fault_addr, 0x10000008);
	/* Two more faults while the pager is busy: CR2 now holds the last one's address. */
	fake_exception(second, 14, 4, 0x20000010);
	fake_exception(third, 14, 4, 0x30000018);
	cr_assert_eq(handler->waiters, second);
	reply_wait();
	cr_assert_eq(handler->caller, second);
	cr_expect_eq(handler->utcb->exc.fault_addr, 0x20000010,
		     "the second fault reported 0x%lx, the address of a later fault",
		     (unsigned long)handler->utcb->exc.fault_addr);
	reply_wait();
	cr_assert_eq(handler->caller, third);
	cr_expect_eq(handler->utcb->exc.fault_addr, 0x30000018);
}

Test(kcore_ipc_checks, queued_caller_that_dies_leaves_the_line)
{
	struct ec *second = fake_ec(client_pd, "second", false, 0, EVT_BASE);
	fake_sc(second, 1, 10000);
	client->utcb->untyped = 0;
	fake_syscall(client, SYS_CALL, SEL_PT, 0, 0, 0, 0);
	fake_syscall(second, SYS_CALL, SEL_PT, 0, 0, 0, 0);
	cr_assert_eq(handler->waiters, second);
	klock_acquire();
	ec_kill(second, "test");
	klock_release();
	cr_expect_null(handler->waiters, "a dead EC is still in the handler's line");
	struct fake_exit x = reply_wait();
	cr_expect_eq(fake_exit_ec(x), client);
	cr_expect_null(handler->caller);
	cr_expect_eq(handler->state, EC_WAITING);
}

Test(kcore_ipc_checks, handler_whose_caller_died_serves_the_next_in_line_on_its_time)
{
	struct ec *second = fake_ec(client_pd, "second", false, 0, EVT_BASE);
	struct sc *second_sc = fake_sc(second, 1, 10000);
	fake_syscall(client, SYS_CALL, SEL_PT, 0, 0, 0, 0);
	cr_assert(handler->running, "the handler should be in user mode on the call");
	/* The caller dies while the handler works for it; a second call waits in line. */
	klock_acquire();
	ec_kill(client, "test");
	klock_release();
	second->utcb->untyped = 1;
	second->utcb->mr[0] = 0x5ec0;
	fake_syscall(second, SYS_CALL, SEL_PT, 0, 0, 0, 0);
	cr_assert_eq(handler->waiters, second);
	/* The reply has nobody to go to: the handler goes straight on with the second call. */
	struct fake_exit x = reply_wait();
	cr_expect_eq(fake_exit_ec(x), handler, "nobody runs the call of the second caller");
	cr_expect_eq(handler->caller, second);
	cr_expect_eq(handler->utcb->mr[0], 0x5ec0);
	cr_expect_eq(sched_runner(second_sc), handler);
	cr_expect(second_sc->queued, "the second caller's SC was taken off the run queue");
}

Test(kcore_ipc_checks, queued_call_keeps_its_portal_entry_when_the_portal_goes)
{
	struct ec *second = fake_ec(client_pd, "second", false, 0, EVT_BASE);
	fake_sc(second, 1, 10000);
	fake_syscall(client, SYS_CALL, SEL_PT, 0, 0, 0, 0);
	fake_syscall(second, SYS_CALL, SEL_PT, 0, 0, 0, 0);
	/* Every capability of the portal goes; the handler lives on (the test holds it). */
	klock_acquire();
	cr_assert_eq(pd_revoke(client_pd, vireo_crd(CRD_OBJ, SEL_PT, 0, RIGHTS_ALL), true),
		     VIREO_OK);
	cr_assert_eq(pd_revoke(server_pd, vireo_crd(CRD_OBJ, SEL_GIFT, 0, RIGHTS_ALL), true),
		     VIREO_OK);
	klock_release();
	obj_put(&pt->obj); /* the test's reference: the portal is freed now */
	reply_wait();
	cr_assert_eq(handler->caller, second);
	cr_expect_eq(handler->regs.rip, HANDLER_IP);
	cr_expect_eq(handler->regs.rdi, 7);
}

Test(kcore_ipc_checks, ec_killed_while_waiting_forever_on_a_semaphore_leaves_its_queue)
{
	struct sm *sm;
	cr_assert_eq(sm_create(NULL, 0, &sm), VIREO_OK);
	fake_cap(client_pd, SEL_SM, &sm->obj, RIGHTS_ALL);
	fake_syscall(client, SYS_SM_CTRL, SEL_SM, VIREO_SM_DOWN, VIREO_TIMEOUT_NEVER, 0, 0);
	cr_assert_eq(client->state, EC_WAITING);
	klock_acquire();
	ec_kill(client, "test");
	cr_expect_null(sm->waiters, "a dead EC is still in the semaphore's queue");
	sm_up(sm);
	klock_release();
	cr_expect_eq(sm->count, 1, "the up went to a dead EC");
}

/* ---------------------------------------------------------------- entry points at creation */

static uint64_t create_ec(uint64_t ip, uint64_t sp, uint32_t flags)
{
	static unsigned n;
	struct vireo_ec_create a = { .ip = ip,
				     .sp = sp,
				     .utcb = 0x7e0000000000ull + (uint64_t)n++ * 0x1000,
				     .flags = flags };
	cr_assert_eq(pd_copy_to_user(client_pd, VA_ARGS, &a, sizeof(a)), VIREO_OK);
	struct fake_exit x = fake_syscall(client, SYS_CREATE_EC, 60 + n, SEL_PD, VA_ARGS, 0, 0);
	cr_assert_eq(fake_exit_ec(x), client);
	return client->regs.rax;
}

Test(kcore_ipc_checks, create_ec_with_ip_or_sp_outside_user_space_is_bad_par)
{
	cr_assert_eq(pd_map_anon(client_pd, VA_ARGS, PAGE_SIZE, MAP_W), VIREO_OK);
	static const uint64_t bad_ip[] = { 0x0000800000000000ull, 0xffffffff80200000ull, USER_END,
					   UINT64_MAX };
	static const uint64_t bad_sp[] = { 0x0000800000000008ull, 0x8000000000000000ull,
					   USER_END + 8 };
	for (unsigned i = 0; i < sizeof(bad_ip) / sizeof(bad_ip[0]); i++) {
		cr_expect_eq(create_ec(bad_ip[i], 0x7fff0000, 0), VIREO_BAD_PAR, "ip 0x%lx",
			     (unsigned long)bad_ip[i]);
	}
	for (unsigned i = 0; i < sizeof(bad_sp) / sizeof(bad_sp[0]); i++) {
		cr_expect_eq(create_ec(0x401000, bad_sp[i], 0), VIREO_BAD_PAR, "sp 0x%lx",
			     (unsigned long)bad_sp[i]);
		cr_expect_eq(create_ec(0, bad_sp[i], VIREO_EC_LOCAL), VIREO_BAD_PAR, "sp 0x%lx",
			     (unsigned long)bad_sp[i]);
	}
	cr_expect_eq(create_ec(USER_END - 1, USER_END, 0), VIREO_OK);
	cr_expect_eq(create_ec(UINT64_MAX, USER_END, VIREO_EC_LOCAL), VIREO_OK,
		     "a local EC's ip is not used");
}

Test(kcore_ipc_checks, create_pt_with_ip_outside_user_space_is_bad_par)
{
	fake_cap(client_pd, 70, &handler->obj, RIGHTS_ALL);
	struct fake_exit x =
		fake_syscall(client, SYS_CREATE_PT, 71, SEL_PD, 70, 0x0000800000000000ull, 0);
	cr_assert_eq(fake_exit_ec(x), client);
	cr_expect_eq(client->regs.rax, VIREO_BAD_PAR);
	cr_expect_null(mdb_lookup(&client_pd->objs, 71));
	x = fake_syscall(client, SYS_CREATE_PT, 71, SEL_PD, 70, HANDLER_IP, 0);
	cr_expect_eq(client->regs.rax, VIREO_OK);
}

/* ---------------------------------------------------------------- the refusal trace */

/* Run refused system calls with the kernel log on, return what it printed (static buffer). */
static const char *trace_of(void (*calls)(void))
{
	static char buf[8192];
	FILE *t = tmpfile();
	cr_assert_not_null(t);
	fflush(stderr);
	int saved = dup(2);
	dup2(fileno(t), 2);
	setenv("VIREO_TEST_VERBOSE", "1", 1);
	calls();
	unsetenv("VIREO_TEST_VERBOSE");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(t);
	size_t n = fread(buf, 1, sizeof(buf) - 1, t);
	buf[n] = 0;
	fclose(t);
	return buf;
}

static void some_refusals(void)
{
	fake_syscall(client, SYS_COUNT + 5, 0, 0, 0, 0, 0);
	fake_syscall(client, SYS_CALL, SEL_FREE_FOR_TRACE, 0, 0, 0, 0);
	fake_syscall(client, SYS_CREATE_PT, 71, SEL_PD, SEL_PT, HANDLER_IP, 0);
	fake_syscall(client, SYS_SM_CTRL, SEL_PT, 7, 0, 0, 0);
	fake_syscall(client, SYS_DELEGATE, SEL_PD, 0, 0, 0, 0);
	fake_syscall(client, SYS_REVOKE, vireo_crd(CRD_OBJ, 0, 0, 0), 0x80, 0, 0, 0);
	fake_syscall(client, SYS_REPLY_WAIT, 0, 0, 0, 0, 0);
}

Test(kcore_ipc_checks, every_refusal_is_traced_with_its_reason)
{
	const char *log = trace_of(some_refusals);
	static const char *const want[] = {
		"syscall (" /* unknown number */,
		"BAD_SYS: unknown system call number",
		"call (2) refused, BAD_CAP",
		"create_pt (7) refused, BAD_CAP: create_pt: ec",
		"sm_ctrl (10) refused, BAD_PAR",
		"delegate (11) refused, BAD_PAR: delegate: null CRD",
		"revoke (12) refused, BAD_PAR",
		"reply_wait (3) refused, BAD_CAP",
	};
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		cr_expect_not_null(strstr(log, want[i]), "no \"%s\" in the log:\n%s", want[i], log);
	}
	cr_expect_null(strstr(log, "no reason recorded"), "a refusal without its reason:\n%s", log);
}
