/* SPDX-License-Identifier: MIT */
/* Portal IPC between fake PDs: call and reply carry messages, exceptions go to event portals. */
#include <criterion/criterion.h>

#include "fake_kernel.h"
#include "fastpath.h"
#include "frame.h"
#include "klock.h"
#include "obj.h"
#include "sched.h"
#include "sm.h"

#define SEL_PT 40
#define EVT_BASE 0x100
#define HANDLER_IP 0x401000ull
#define PT_ID 0x5eed

static struct pd *client_pd, *server_pd;
static struct ec *client, *handler;
static struct sc *client_sc;
static struct portal *pt;

static void setup(void)
{
	fake_kernel_init(16 << 20, 2);
	client_pd = fake_pd("client", 1 << 20);
	server_pd = fake_pd("server", 1 << 20);
	client = fake_ec(client_pd, "client", false, 0, EVT_BASE);
	handler = fake_ec(server_pd, "handler", true, 0, 0);
	client_sc = fake_sc(client, 1, 10000);
	pt = fake_portal(handler, HANDLER_IP, 0, PT_ID);
	fake_cap(client_pd, SEL_PT, &pt->obj, RIGHT_PT_CALL);
}

static void teardown(void)
{
	fake_kernel_fini();
}

TestSuite(kcore_ipc, .init = setup, .fini = teardown);

/* The client calls the portal with `n` untyped words; the kernel must go on in the handler. */
static void call(const uint64_t *words, unsigned n)
{
	client->utcb->untyped = (uint16_t)n;
	client->utcb->typed = 0;
	for (unsigned i = 0; i < n; i++) {
		client->utcb->mr[i] = words[i];
	}
	struct fake_exit x = fake_syscall(client, SYS_CALL, SEL_PT, 0, 0, 0, 0);
	cr_assert_eq(x.kind, FAKE_EXIT_IRET, "the call did not enter the handler (way %d)", x.kind);
	cr_assert_eq(fake_exit_ec(x), handler, "the call went on in another EC");
	cr_assert(!klock_held());
}

/* The handler replies with `n` untyped words; the kernel must return to the client. */
static void reply(const uint64_t *words, unsigned n)
{
	handler->utcb->untyped = (uint16_t)n;
	handler->utcb->typed = 0;
	for (unsigned i = 0; i < n; i++) {
		handler->utcb->mr[i] = words[i];
	}
	struct fake_exit x = fake_syscall(handler, SYS_REPLY_WAIT, 0, 0, 0, 0, 0);
	cr_assert_eq(fake_exit_ec(x), client, "the reply did not return to the caller");
	cr_assert(!klock_held());
}

Test(kcore_ipc, call_enters_the_handler_at_the_portal_with_the_message)
{
	const uint64_t msg[] = { 0x1111, 0x2222, 0x3333 };
	call(msg, 3);
	cr_expect_eq(handler->regs.rip, HANDLER_IP);
	cr_expect_eq(handler->regs.rdi, PT_ID, "the handler must see the portal id in RDI");
	cr_expect_eq(handler->regs.rsp, FAKE_USER_SP, "a local EC starts every call afresh");
	cr_expect_eq(handler->utcb->untyped, 3);
	cr_expect_eq(handler->utcb->mr[0], 0x1111);
	cr_expect_eq(handler->utcb->mr[2], 0x3333);
	cr_expect_eq(handler->utcb->mtd, 0, "an ordinary call has no exception state");
	cr_expect_eq(client->state, EC_CALLING);
	cr_expect_eq(handler->caller, client);
	/* Time donation: the client's SC now runs the handler. */
	cr_expect_eq(sched_runner(client_sc), handler);
}

Test(kcore_ipc, reply_returns_the_message_and_ok_to_the_caller)
{
	const uint64_t msg[] = { 7 };
	const uint64_t answer[] = { 0xaaaa, 0xbbbb };
	call(msg, 1);
	reply(answer, 2);
	cr_expect_eq(client->regs.rax, VIREO_OK);
	cr_expect_eq(client->utcb->untyped, 2);
	cr_expect_eq(client->utcb->mr[0], 0xaaaa);
	cr_expect_eq(client->utcb->mr[1], 0xbbbb);
	cr_expect_eq(client->state, EC_READY);
	cr_expect_null(handler->caller);
	cr_expect_eq(handler->state, EC_WAITING);
	cr_expect_eq(sched_runner(client_sc), client);
}

Test(kcore_ipc, handler_serves_a_second_call_after_replying)
{
	const uint64_t one[] = { 1 }, two[] = { 2 };
	call(one, 1);
	reply(one, 1);
	call(two, 1);
	cr_expect_eq(handler->utcb->mr[0], 2);
	cr_expect_eq(handler->regs.rip, HANDLER_IP, "each call restarts the handler");
	reply(two, 1);
	cr_expect_eq(client->utcb->mr[0], 2);
}

Test(kcore_ipc, message_longer_than_the_utcb_is_clamped)
{
	client->utcb->untyped = UINT16_MAX;
	client->utcb->typed = 0;
	struct fake_exit x = fake_syscall(client, SYS_CALL, SEL_PT, 0, 0, 0, 0);
	cr_assert_eq(fake_exit_ec(x), handler);
	cr_expect_eq(handler->utcb->untyped, VIREO_UTCB_WORDS);
}

Test(kcore_ipc, call_without_the_call_right_is_bad_cap)
{
	fake_cap(client_pd, SEL_PT + 1, &pt->obj, RIGHT_PT_CTRL);
	struct fake_exit x = fake_syscall(client, SYS_CALL, SEL_PT + 1, 0, 0, 0, 0);
	cr_assert_eq(fake_exit_ec(x), client);
	cr_expect_eq(client->regs.rax, VIREO_BAD_CAP);
	cr_expect_eq(client->state, EC_READY);
}

Test(kcore_ipc, reply_wait_from_a_global_ec_is_bad_cap)
{
	struct fake_exit x = fake_syscall(client, SYS_REPLY_WAIT, 0, 0, 0, 0, 0);
	cr_assert_eq(fake_exit_ec(x), client);
	cr_expect_eq(client->regs.rax, VIREO_BAD_CAP);
}

/* ---------------------------------------------------------------- exception IPC */

static struct portal *exc_portal(uint64_t vector, uint64_t mtd)
{
	struct portal *p = fake_portal(handler, HANDLER_IP, mtd, vector);
	fake_cap(client_pd, EVT_BASE + vector, &p->obj, RIGHT_PT_CALL);
	return p;
}

Test(kcore_ipc, exception_sends_the_selected_state_to_the_event_portal)
{
	exc_portal(13, MTD_RIP | MTD_RSP | MTD_QUAL | MTD_GPR_ACDB);
	client->regs.rip = 0x401234;
	client->regs.rsp = 0x7fff0000;
	client->regs.rax = 42;
	client->regs.r9 = 99; /* not selected */
	struct fake_exit x = fake_exception(client, 13, 0x18, 0);
	cr_assert_eq(x.kind, FAKE_EXIT_IRET);
	cr_assert_eq(fake_exit_ec(x), handler, "the exception did not reach its handler");
	const struct vireo_exc_state *e = &handler->utcb->exc;
	cr_expect_eq(handler->utcb->mtd, MTD_RIP | MTD_RSP | MTD_QUAL | MTD_GPR_ACDB);
	cr_expect_eq(e->rip, 0x401234);
	cr_expect_eq(e->rsp, 0x7fff0000);
	cr_expect_eq(e->rax, 42);
	cr_expect_eq(e->r9, 0, "a group the MTD does not select must not be sent");
	cr_expect_eq(e->vector, 13);
	cr_expect_eq(e->error, 0x18);
	cr_expect_eq(handler->regs.rdi, 13, "the handler sees its portal's id");
	cr_expect_eq(client->state, EC_CALLING);
}

Test(kcore_ipc, page_fault_carries_the_fault_address)
{
	exc_portal(EVT_PAGE_FAULT, MTD_QUAL | MTD_RIP);
	struct fake_exit x = fake_exception(client, 14, 6, 0xdead0000);
	cr_assert_eq(fake_exit_ec(x), handler);
	cr_expect_eq(handler->utcb->exc.fault_addr, 0xdead0000);
	cr_expect_eq(handler->utcb->exc.error, 6);
}

Test(kcore_ipc, exception_reply_changes_rip)
{
	exc_portal(6, MTD_RIP | MTD_QUAL);
	client->regs.rip = 0x402000;
	struct fake_exit x = fake_exception(client, 6, 0, 0);
	cr_assert_eq(fake_exit_ec(x), handler);
	cr_assert_eq(handler->utcb->exc.rip, 0x402000);
	/* Skip the faulting instruction: the handler writes RIP and says so in the MTD. */
	handler->utcb->exc.rip = 0x402002;
	handler->utcb->mtd = MTD_RIP;
	reply(NULL, 0);
	cr_expect_eq(client->regs.rip, 0x402002);
	cr_expect_eq(client->state, EC_READY);
	cr_expect_eq(client->obj.type, OBJ_EC, "the client must survive a handled exception");
}

Test(kcore_ipc, exception_reply_without_rip_in_the_mtd_keeps_rip)
{
	exc_portal(6, MTD_RIP | MTD_QUAL);
	client->regs.rip = 0x402000;
	fake_exception(client, 6, 0, 0);
	handler->utcb->exc.rip = 0x999999;
	handler->utcb->mtd = 0;
	reply(NULL, 0);
	cr_expect_eq(client->regs.rip, 0x402000);
}

Test(kcore_ipc, exception_reply_cannot_raise_iopl_or_clear_if)
{
	exc_portal(6, MTD_RFLAGS);
	fake_exception(client, 6, 0, 0);
	handler->utcb->exc.rflags = 0x3000; /* IOPL 3, IF clear */
	handler->utcb->mtd = MTD_RFLAGS;
	reply(NULL, 0);
	cr_expect_eq(client->regs.rflags & 0x3000, 0, "IOPL raised from user mode");
	cr_expect(client->regs.rflags & 0x200, "IF cleared from user mode");
}

Test(kcore_ipc, exception_without_a_portal_kills_the_ec)
{
	unsigned ecs = ec_count();
	struct fake_exit x = fake_exception(client, 0, 0, 0);
	cr_expect_eq(client->state, EC_DEAD);
	cr_expect_eq(ec_count(), ecs - 1);
	/* Nothing else is runnable on this CPU: it goes idle. */
	cr_expect_eq(x.kind, FAKE_EXIT_STACK);
}

/* ---------------------------------------------------------------- busy handlers, death, CPUs */

Test(kcore_ipc, second_caller_waits_until_the_handler_has_replied_to_the_first)
{
	struct ec *second = fake_ec(client_pd, "second", false, 0, EVT_BASE);
	fake_sc(second, 1, 10000);
	const uint64_t one[] = { 1 };
	call(one, 1);
	/* While the handler serves the first call, the second caller queues up. */
	second->utcb->untyped = 1;
	second->utcb->mr[0] = 2;
	struct fake_exit x = fake_syscall(second, SYS_CALL, SEL_PT, 0, 0, 0, 0);
	cr_expect_neq(fake_exit_ec(x), second, "a queued caller returned at once");
	cr_expect_eq(handler->caller, client, "the queued call replaced the running one");
	cr_expect_eq(handler->waiters, second);
	/* The reply to the first call starts the second at once. */
	const uint64_t answer[] = { 10 };
	reply(answer, 1);
	cr_expect_eq(client->utcb->mr[0], 10);
	cr_expect_eq(handler->caller, second);
	cr_expect_eq(handler->utcb->mr[0], 2, "the handler did not get the second message");
	cr_expect_null(handler->waiters);
}

Test(kcore_ipc, caller_of_a_handler_that_exits_gets_aborted)
{
	const uint64_t msg[] = { 1 };
	call(msg, 1);
	struct fake_exit x = fake_syscall(handler, SYS_EC_EXIT, 0, 0, 0, 0, 0);
	cr_assert_eq(fake_exit_ec(x), client, "the caller never came back");
	cr_expect_eq(client->regs.rax, VIREO_ABORTED);
	cr_expect_eq(client->state, EC_READY);
	cr_expect_eq(handler->state, EC_DEAD);
	/* Calling the dead handler again fails at once. */
	x = fake_syscall(client, SYS_CALL, SEL_PT, 0, 0, 0, 0);
	cr_assert_eq(fake_exit_ec(x), client);
	cr_expect_eq(client->regs.rax, VIREO_ABORTED);
}

Test(kcore_ipc, faulting_ec_dies_with_its_exception_handler)
{
	exc_portal(13, MTD_RIP);
	fake_exception(client, 13, 0, 0);
	unsigned ecs = ec_count();
	fake_syscall(handler, SYS_EC_EXIT, 0, 0, 0, 0, 0);
	cr_expect_eq(client->state, EC_DEAD, "a faulting EC went on without its fault handled");
	cr_expect_eq(ec_count(), ecs - 1);
}

Test(kcore_ipc, call_to_a_handler_on_another_cpu_migrates_the_sc_and_back)
{
	struct pd *far_pd = fake_pd("far", 1 << 20);
	struct ec *far = fake_ec(far_pd, "far", true, 1, 0);
	struct portal *fpt = fake_portal(far, HANDLER_IP, 0, 77);
	fake_cap(client_pd, SEL_PT + 2, &fpt->obj, RIGHT_PT_CALL);
	client->utcb->untyped = 1;
	client->utcb->mr[0] = 0xc0ffee;
	/* CPU 0: the call moves the client's SC to CPU 1 and kicks it; CPU 0 has nothing left. */
	struct fake_exit x = fake_syscall(client, SYS_CALL, SEL_PT + 2, 0, 0, 0, 0);
	cr_expect_eq(x.kind, FAKE_EXIT_STACK, "CPU 0 should go idle");
	cr_expect_eq(client_sc->cpu, 1);
	cr_expect_gt(fake_cpu_log.kicks[1], 0, "CPU 1 was not told");
	/* CPU 1 runs the handler on the donated SC. */
	fake_cpu_set(1);
	x = fake_schedule();
	cr_assert_eq(fake_exit_ec(x), far);
	cr_expect_eq(far->utcb->mr[0], 0xc0ffee);
	cr_expect_eq(far->regs.rdi, 77);
	/* The reply sends the SC home; CPU 0 continues the client. */
	far->utcb->untyped = 1;
	far->utcb->mr[0] = 0xbeef;
	unsigned kicks0 = fake_cpu_log.kicks[0];
	x = fake_syscall(far, SYS_REPLY_WAIT, 0, 0, 0, 0, 0);
	cr_expect_eq(x.kind, FAKE_EXIT_STACK, "CPU 1 should go idle");
	cr_expect_eq(client_sc->cpu, 0);
	cr_expect_gt(fake_cpu_log.kicks[0], kicks0, "CPU 0 was not told");
	fake_cpu_set(0);
	x = fake_schedule();
	cr_assert_eq(fake_exit_ec(x), client);
	cr_expect_eq(client->utcb->mr[0], 0xbeef);
	cr_expect_eq(client->regs.rax, VIREO_OK);
}

/* ---------------------------------------------------------------- delegation in replies */

/* The handler's reply carries one typed item: `crd` from its space to `dst` in the caller's. */
static struct fake_exit reply_item(uint64_t crd, uint64_t dst)
{
	handler->utcb->untyped = 0;
	handler->utcb->typed = 1;
	handler->utcb->mr[VIREO_UTCB_WORDS - 2] = crd;
	handler->utcb->mr[VIREO_UTCB_WORDS - 1] = dst << 12;
	struct fake_exit x = fake_syscall(handler, SYS_REPLY_WAIT, 0, 0, 0, 0, 0);
	cr_assert_eq(fake_exit_ec(x), client);
	return x;
}

static struct sm *server_sm(uint64_t sel)
{
	struct sm *sm;
	cr_assert_eq(sm_create(NULL, 0, &sm), VIREO_OK);
	fake_cap(server_pd, sel, &sm->obj, RIGHTS_ALL);
	return sm;
}

Test(kcore_ipc, reply_delegates_a_capability_into_the_receive_window)
{
	struct sm *sm = server_sm(50);
	client->utcb->rcv_window[CRD_OBJ] = vireo_crd(CRD_OBJ, 64, 4, 0); /* selectors 64..79 */
	call(NULL, 0);
	reply_item(vireo_crd(CRD_OBJ, 50, 0, RIGHT_SM_UP), 70);
	cr_expect_eq(client->regs.rax, VIREO_OK);
	cr_expect_eq(pd_lookup_obj(client_pd, 70, OBJ_SM, RIGHT_SM_UP), &sm->obj);
	cr_expect_null(pd_lookup_obj(client_pd, 70, OBJ_SM, RIGHT_SM_DOWN),
		       "the delegation gave more rights than the item named");
}

Test(kcore_ipc, item_outside_the_receive_window_is_refused)
{
	server_sm(50);
	client->utcb->rcv_window[CRD_OBJ] = vireo_crd(CRD_OBJ, 64, 4, 0);
	call(NULL, 0);
	reply_item(vireo_crd(CRD_OBJ, 50, 0, RIGHT_SM_UP), 80);
	cr_expect_eq(client->regs.rax, VIREO_BAD_PAR);
	cr_expect_null(pd_lookup_obj(client_pd, 80, OBJ_SM, 0), "a capability landed outside");
}

Test(kcore_ipc, caller_without_a_receive_window_gets_no_capability)
{
	server_sm(50);
	call(NULL, 0);
	reply_item(vireo_crd(CRD_OBJ, 50, 0, RIGHT_SM_UP), 70);
	cr_expect_eq(client->regs.rax, VIREO_BAD_PAR);
	cr_expect_null(pd_lookup_obj(client_pd, 70, OBJ_SM, 0));
}

Test(kcore_ipc, pager_reply_maps_the_faulting_page)
{
	const uint64_t fault_va = 0x10000000, pager_va = 0x20000000;
	paddr_t frame = frame_alloc(0);
	cr_assert(pa_valid(frame));
	cr_assert_eq(pd_grant_memory(server_pd, pager_va, frame, 0, MEM_R | MEM_W), VIREO_OK);
	exc_portal(EVT_PAGE_FAULT, MTD_QUAL | MTD_RIP);
	client->regs.rip = 0x401000;
	struct fake_exit x = fake_exception(client, 14, 6, fault_va + 0x123);
	cr_assert_eq(fake_exit_ec(x), handler);
	cr_assert_eq(handler->utcb->exc.fault_addr, fault_va + 0x123);
	/* The pager maps its page at the faulting address; no window needed for a fault reply. */
	handler->utcb->mtd = 0;
	x = reply_item(vireo_crd(CRD_MEM, pager_va >> PAGE_SHIFT, 0, MEM_R | MEM_W),
		       fault_va >> PAGE_SHIFT);
	cr_expect_eq(x.kind, FAKE_EXIT_IRET, "a faulting EC resumes with its full frame");
	cr_expect_eq(client->regs.rip, 0x401000, "the faulting instruction must run again");
	paddr_t pa;
	unsigned attr;
	cr_assert(pt_lookup(&client_pd->pt, fault_va, &pa, &attr, NULL), "nothing mapped");
	cr_expect_eq(pa_addr(pa), pa_addr(frame));
	cr_expect(attr & MAP_W);
	cr_expect(attr & MAP_U);
}

/* ---------------------------------------------------------------- a caller dies mid-call */

/* As the fuzzer revokes a faulting EC (and its SC) while its handler works on the exception. */
static void kill(struct ec *ec)
{
	klock_acquire();
	ec_kill(ec, NULL);
	klock_release();
}

/*
 * The handler runs in user mode on CPU 1 when CPU 0 kills the faulting EC it serves. The handler
 * is then preempted before it replies (another SC became ready there). It must be free for the
 * next call: before the fix it stayed EC_READY with no caller and no SC, busy for ever, and every
 * later caller waited in its line for good (the fuzzer's hang of seeds 1, 7 and 21).
 */
Test(kcore_ipc, handler_whose_caller_dies_while_it_runs_serves_the_next_call)
{
	struct pd *far_pd = fake_pd("far", 1 << 20);
	struct ec *far = fake_ec(far_pd, "far", true, 1, 0);
	struct ec *faulter = fake_ec(client_pd, "faulter", false, 1, EVT_BASE);
	struct portal *xpt = fake_portal(far, HANDLER_IP, MTD_RIP, 13);
	fake_cap(client_pd, EVT_BASE + 13, &xpt->obj, RIGHT_PT_CALL);
	struct portal *fpt = fake_portal(far, HANDLER_IP, 0, 77);
	fake_cap(client_pd, SEL_PT + 2, &fpt->obj, RIGHT_PT_CALL);
	fake_cpu_set(1);
	fake_sc(faulter, 1, 10000);
	struct fake_exit x = fake_schedule();
	cr_assert_eq(fake_exit_ec(x), faulter);
	x = fake_exception(faulter, 13, 0, 0);
	cr_assert_eq(fake_exit_ec(x), far, "the exception did not reach its handler");
	cr_assert(far->running, "the handler should be in user mode on CPU 1");
	/* CPU 0 kills the faulting EC while its handler runs on CPU 1. */
	fake_cpu_set(0);
	unsigned kicks1 = fake_cpu_log.kicks[1];
	kill(faulter);
	cr_expect_null(far->caller);
	cr_expect_gt(fake_cpu_log.kicks[1], kicks1, "CPU 1 was not told to stop the orphan");
	/* Something else becomes ready on CPU 1, and CPU 1 enters the kernel from the handler. */
	struct ec *other = fake_ec(client_pd, "other", false, 1, EVT_BASE);
	fake_cpu_set(1);
	fake_sc(other, 2, 10000);
	x = fake_timer(far);
	cr_expect_eq(fake_exit_ec(x), other);
	cr_expect_eq(far->state, EC_WAITING, "the orphaned handler did not go back to waiting");
	/* The next call is served at once. */
	fake_cpu_set(0);
	client->utcb->untyped = 1;
	client->utcb->mr[0] = 0xfeed;
	fake_syscall(client, SYS_CALL, SEL_PT + 2, 0, 0, 0, 0);
	cr_expect_eq(far->caller, client, "the handler is busy for ever");
	cr_expect_null(far->waiters);
	cr_expect_eq(far->utcb->mr[0], 0xfeed);
	cr_expect_eq(sched_runner(client_sc), far);
}

/* Before it enters the kernel, an orphaned handler stays busy; its next entry serves the line. */
Test(kcore_ipc, orphaned_handler_takes_the_queued_caller_when_it_enters_the_kernel)
{
	struct pd *far_pd = fake_pd("far", 1 << 20);
	struct ec *far = fake_ec(far_pd, "far", true, 1, 0);
	struct ec *faulter = fake_ec(client_pd, "faulter", false, 1, EVT_BASE);
	struct portal *xpt = fake_portal(far, HANDLER_IP, MTD_RIP, 13);
	fake_cap(client_pd, EVT_BASE + 13, &xpt->obj, RIGHT_PT_CALL);
	struct portal *fpt = fake_portal(far, HANDLER_IP, 0, 77);
	fake_cap(client_pd, SEL_PT + 2, &fpt->obj, RIGHT_PT_CALL);
	fake_cpu_set(1);
	fake_sc(faulter, 1, 10000);
	fake_schedule();
	struct fake_exit x = fake_exception(faulter, 13, 0, 0);
	cr_assert_eq(fake_exit_ec(x), far);
	fake_cpu_set(0);
	kill(faulter);
	/* It still runs the old work in user mode: a new caller waits in line. */
	fake_syscall(client, SYS_CALL, SEL_PT + 2, 0, 0, 0, 0);
	cr_expect_eq(far->waiters, client);
	cr_expect_null(far->caller);
	/* Its reply to nobody (or any other entry) ends the old work and takes the caller. */
	fake_cpu_set(1);
	x = fake_syscall(far, SYS_REPLY_WAIT, 0, 0, 0, 0, 0);
	cr_expect_eq(far->caller, client);
	cr_expect_null(far->waiters);
	cr_expect_eq(fake_exit_ec(x), far);
	cr_expect_eq(far->regs.rip, HANDLER_IP, "the new call starts at the portal's entry");
	cr_expect_eq(far->regs.rdi, 77);
}

/*
 * The handler was preempted in user mode (not running) with a second caller in its line when its
 * caller dies: the second caller must be served. Before the fix the handler went back to waiting
 * with the caller still queued, and nothing would ever take it.
 */
Test(kcore_ipc, queued_caller_is_served_when_the_handlers_caller_dies)
{
	struct ec *second = fake_ec(client_pd, "second", false, 0, EVT_BASE);
	struct sc *second_sc = fake_sc(second, 1, 10000);
	const uint64_t one[] = { 1 };
	call(one, 1);
	second->utcb->untyped = 1;
	second->utcb->mr[0] = 2;
	fake_syscall(second, SYS_CALL, SEL_PT, 0, 0, 0, 0);
	cr_assert_eq(handler->waiters, second);
	/* A higher priority preempts the handler in user mode. */
	struct ec *other = fake_ec(client_pd, "other", false, 0, EVT_BASE);
	fake_sc(other, 2, 10000);
	struct fake_exit x = fake_timer(handler);
	cr_assert_eq(fake_exit_ec(x), other);
	cr_assert(!handler->running);
	kill(client);
	cr_expect_eq(handler->caller, second, "the queued caller was left in line");
	cr_expect_null(handler->waiters);
	cr_expect_eq(handler->utcb->mr[0], 2);
	cr_expect_eq(handler->state, EC_READY);
	cr_expect_eq(sched_runner(second_sc), handler);
	/* Its reply goes to the second caller. */
	handler->utcb->untyped = 1;
	handler->utcb->mr[0] = 3;
	fake_syscall(handler, SYS_REPLY_WAIT, 0, 0, 0, 0, 0);
	cr_expect_eq(second->state, EC_READY);
	cr_expect_eq(second->regs.rax, VIREO_OK);
	cr_expect_eq(second->utcb->mr[0], 3);
	cr_expect_eq(handler->state, EC_WAITING);
}

/*
 * The handler had called a second handler for its caller when the caller died: that nested call
 * is abandoned too. Before the fix the first handler went back to waiting while still CALLING the
 * second, so the second's reply later found its caller in the wrong state (a kernel CHECK).
 */
Test(kcore_ipc, nested_call_is_abandoned_with_the_caller_that_died)
{
	struct pd *inner_pd = fake_pd("inner", 1 << 20);
	struct ec *inner = fake_ec(inner_pd, "inner", true, 0, 0);
	struct portal *ipt = fake_portal(inner, HANDLER_IP, 0, 88);
	fake_cap(server_pd, SEL_PT, &ipt->obj, RIGHT_PT_CALL);
	call(NULL, 0);
	struct fake_exit x = fake_syscall(handler, SYS_CALL, SEL_PT, 0, 0, 0, 0);
	cr_assert_eq(fake_exit_ec(x), inner);
	cr_assert_eq(handler->state, EC_CALLING);
	/* The inner handler is preempted; the outer one's caller dies. */
	struct ec *other = fake_ec(client_pd, "other", false, 0, EVT_BASE);
	fake_sc(other, 2, 10000);
	x = fake_timer(inner);
	cr_assert_eq(fake_exit_ec(x), other);
	kill(client);
	cr_expect_eq(handler->state, EC_WAITING);
	cr_expect_null(handler->caller);
	cr_expect_null(handler->callee);
	cr_expect_eq(inner->state, EC_WAITING);
	cr_expect_null(inner->caller);
	/* Both serve new calls. */
	struct ec *third = fake_ec(client_pd, "third", false, 0, EVT_BASE);
	fake_sc(third, 3, 10000);
	x = fake_schedule();
	cr_assert_eq(fake_exit_ec(x), third);
	x = fake_syscall(third, SYS_CALL, SEL_PT, 0, 0, 0, 0);
	cr_expect_eq(fake_exit_ec(x), handler);
	x = fake_syscall(handler, SYS_CALL, SEL_PT, 0, 0, 0, 0);
	cr_expect_eq(fake_exit_ec(x), inner);
	x = fake_syscall(inner, SYS_REPLY_WAIT, 0, 0, 0, 0, 0);
	cr_expect_eq(fake_exit_ec(x), handler);
	x = fake_syscall(handler, SYS_REPLY_WAIT, 0, 0, 0, 0, 0);
	cr_expect_eq(fake_exit_ec(x), third);
	cr_expect_eq(third->regs.rax, VIREO_OK);
}

/* ---------------------------------------------------------------- the fast path */

/* What a call or a reply leaves behind, everything the fast and the general path both decide. */
struct ipc_snap {
	struct regs client_regs, handler_regs;
	struct vireo_utcb client_utcb, handler_utcb;
	enum ec_state client_state, handler_state;
	struct ec *handler_caller, *client_callee, *runner, *exit_ec, *current;
	bool client_exc, handler_exc, client_running, handler_running, sc_queued;
	ec_cont_fn client_cont, handler_cont;
	enum fake_exit_kind kind;
	uint64_t space_root;
	const uint8_t *io_loaded;
	const void *fpu_owner;
	unsigned sc_cpu;
};

static void snap(struct ipc_snap *s, struct fake_exit x)
{
	memset(s, 0, sizeof(*s));
	s->client_regs = client->regs;
	s->handler_regs = handler->regs;
	memcpy(&s->client_utcb, client->utcb, sizeof(s->client_utcb));
	memcpy(&s->handler_utcb, handler->utcb, sizeof(s->handler_utcb));
	s->client_state = client->state;
	s->handler_state = handler->state;
	s->handler_caller = handler->caller;
	s->client_callee = client->callee;
	s->runner = sched_runner(client_sc);
	s->exit_ec = fake_exit_ec(x);
	s->current = this_cpu()->current;
	s->client_exc = client->exc_call;
	s->handler_exc = handler->exc_call;
	s->client_running = client->running;
	s->handler_running = handler->running;
	s->sc_queued = client_sc->queued;
	s->sc_cpu = client_sc->cpu;
	s->client_cont = client->cont;
	s->handler_cont = handler->cont;
	s->kind = x.kind;
	s->space_root = fake_cpu_log.space_root[0];
	s->io_loaded = fake_cpu_log.io_loaded[0];
	s->fpu_owner = this_cpu()->fpu_owner;
}

static void expect_same(const struct ipc_snap *fast, const struct ipc_snap *slow, const char *what,
			unsigned round)
{
	cr_expect_eq(memcmp(&fast->client_regs, &slow->client_regs, sizeof(struct regs)), 0,
		     "%s, round %u: the caller's registers differ", what, round);
	cr_expect_eq(memcmp(&fast->handler_regs, &slow->handler_regs, sizeof(struct regs)), 0,
		     "%s, round %u: the handler's registers differ", what, round);
	cr_expect_eq(memcmp(&fast->client_utcb, &slow->client_utcb, sizeof(struct vireo_utcb)), 0,
		     "%s, round %u: the caller's UTCB differs", what, round);
	cr_expect_eq(memcmp(&fast->handler_utcb, &slow->handler_utcb, sizeof(struct vireo_utcb)), 0,
		     "%s, round %u: the handler's UTCB differs", what, round);
	/* The rest has no padding worth comparing: field by field. */
	cr_expect_eq(fast->client_state, slow->client_state, "%s, round %u: caller state", what,
		     round);
	cr_expect_eq(fast->handler_state, slow->handler_state, "%s, round %u: handler state", what,
		     round);
	cr_expect_eq(fast->handler_caller, slow->handler_caller, "%s, round %u", what, round);
	cr_expect_eq(fast->client_callee, slow->client_callee, "%s, round %u", what, round);
	cr_expect_eq(fast->runner, slow->runner, "%s, round %u: SC runner", what, round);
	cr_expect_eq(fast->exit_ec, slow->exit_ec, "%s, round %u: exit EC", what, round);
	cr_expect_eq(fast->current, slow->current, "%s, round %u: current EC", what, round);
	cr_expect_eq(fast->client_exc, slow->client_exc, "%s, round %u", what, round);
	cr_expect_eq(fast->handler_exc, slow->handler_exc, "%s, round %u", what, round);
	cr_expect_eq(fast->client_running, slow->client_running, "%s, round %u", what, round);
	cr_expect_eq(fast->handler_running, slow->handler_running, "%s, round %u", what, round);
	cr_expect_eq(fast->sc_queued, slow->sc_queued, "%s, round %u", what, round);
	cr_expect_eq(fast->sc_cpu, slow->sc_cpu, "%s, round %u", what, round);
	cr_expect_eq(fast->client_cont, slow->client_cont, "%s, round %u: continuation", what,
		     round);
	cr_expect_eq(fast->handler_cont, slow->handler_cont, "%s, round %u: continuation", what,
		     round);
	cr_expect_eq(fast->kind, slow->kind, "%s, round %u: way out (SYSRET/IRET)", what, round);
	cr_expect_eq(fast->space_root, slow->space_root, "%s, round %u: CR3", what, round);
	cr_expect_eq(fast->io_loaded, slow->io_loaded, "%s, round %u: I/O bitmap", what, round);
	cr_expect_eq(fast->fpu_owner, slow->fpu_owner, "%s, round %u: FPU owner", what, round);
}

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* xorshift64*: any fixed sequence will do, the same for both paths. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/* Registers and UTCBs of both ECs set from `seed` alone, so that both paths start alike. */
static void ipc_start_state(uint64_t seed)
{
	rng_state = seed | 1;
	uint64_t gprs[2][15]; /* r15 .. rax, the head of struct regs */
	for (unsigned i = 0; i < 15; i++) {
		gprs[0][i] = rng();
		gprs[1][i] = rng();
	}
	memcpy(&client->regs, gprs[0], sizeof(gprs[0]));
	memcpy(&handler->regs, gprs[1], sizeof(gprs[1]));
	client->regs.vector = handler->regs.vector = 0;
	client->regs.error = handler->regs.error = 0;
	memset(client->utcb, 0x5a, sizeof(*client->utcb));
	memset(handler->utcb, 0xa5, sizeof(*handler->utcb));
	client->utcb->rcv_window[CRD_OBJ] = 0;
	handler->utcb->rcv_window[CRD_OBJ] = 0;
}

static void fill_msg(struct vireo_utcb *u, unsigned n)
{
	u->untyped = (uint16_t)n;
	u->typed = 0;
	for (unsigned i = 0; i < n; i++) {
		u->mr[i] = rng();
	}
}

/* One call and its reply with messages of the lengths `seed` picks; snapshots after each. */
static void round_trip(uint64_t seed, bool fast, struct ipc_snap *after_call,
		       struct ipc_snap *after_reply)
{
	const struct fastpath_stats *st = fastpath_stats();
	uint64_t calls = st->call[FASTPATH_TAKEN], replies = st->reply[FASTPATH_TAKEN];
	fastpath_enable(fast);
	ipc_start_state(seed);
	unsigned n = (unsigned)(rng() % (FASTPATH_WORDS + 1)),
		 m = (unsigned)(rng() % (FASTPATH_WORDS + 1));
	fill_msg(client->utcb, n);
	struct fake_exit x = fake_syscall(client, SYS_CALL, SEL_PT, 0, 0, 0, 0);
	snap(after_call, x);
	cr_assert_eq(fake_exit_ec(x), handler);
	fill_msg(handler->utcb, m);
	x = fake_syscall(handler, SYS_REPLY_WAIT, 0, 0, 0, 0, 0);
	snap(after_reply, x);
	cr_assert_eq(fake_exit_ec(x), client);
	/* The comparison means something only if each path was the one taken. */
	cr_assert_eq(st->call[FASTPATH_TAKEN] - calls, fast ? 1 : 0, "seed %lu: call path",
		     (unsigned long)seed);
	cr_assert_eq(st->reply[FASTPATH_TAKEN] - replies, fast ? 1 : 0, "seed %lu: reply path",
		     (unsigned long)seed);
}

/* The client's SC is the one this CPU runs, as it is when a task makes a system call. */
static void run_client(void)
{
	struct fake_exit x = fake_schedule();
	cr_assert_eq(fake_exit_ec(x), client);
	cr_assert(!sched_need_resched());
}

Test(kcore_ipc, fast_path_and_general_path_agree_on_random_short_messages)
{
	run_client();
	for (unsigned round = 0; round < 200; round++) {
		uint64_t seed = 0x9e3779b97f4a7c15ull * (round + 1);
		struct ipc_snap fast_call, fast_reply, slow_call, slow_reply;
		round_trip(seed, true, &fast_call, &fast_reply);
		round_trip(seed, false, &slow_call, &slow_reply);
		expect_same(&fast_call, &slow_call, "after the call", round);
		expect_same(&fast_reply, &slow_reply, "after the reply", round);
	}
	cr_expect_geq(fastpath_stats()->call[FASTPATH_TAKEN], 200);
	cr_expect_eq(fastpath_stats()->call[FASTPATH_OFF], 200);
}

Test(kcore_ipc, fast_path_carries_the_message_both_ways)
{
	run_client();
	const uint64_t msg[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	const uint64_t answer[] = { 0xa, 0xb };
	uint64_t taken = fastpath_taken();
	call(msg, FASTPATH_WORDS);
	cr_expect_eq(handler->utcb->untyped, FASTPATH_WORDS);
	cr_expect_eq(handler->utcb->mr[7], 8);
	cr_expect_eq(handler->regs.rdi, PT_ID);
	reply(answer, 2);
	cr_expect_eq(client->utcb->mr[1], 0xb);
	cr_expect_eq(client->regs.rax, VIREO_OK);
	cr_expect_eq(fastpath_taken() - taken, 2, "the short call and reply left the fast path");
}

/* The next call or reply must fall back for `why`, exactly once. */
struct fallback_watch {
	uint64_t call, reply, taken;
};

static struct fallback_watch watch_fallbacks(enum fastpath_why call_why,
					     enum fastpath_why reply_why)
{
	const struct fastpath_stats *st = fastpath_stats();
	return (struct fallback_watch){ .call = st->call[call_why],
					.reply = st->reply[reply_why],
					.taken = fastpath_taken() };
}

static void expect_call_fell_back(struct fallback_watch w, enum fastpath_why why)
{
	cr_expect_eq(fastpath_stats()->call[why] - w.call, 1, "the call did not fall back for %d",
		     why);
	cr_expect_eq(fastpath_taken(), w.taken, "the fast path was taken anyway");
}

static void expect_reply_fell_back(struct fallback_watch w, enum fastpath_why why)
{
	cr_expect_eq(fastpath_stats()->reply[why] - w.reply, 1,
		     "the reply did not fall back for %d", why);
	cr_expect_eq(fastpath_taken(), w.taken, "the fast path was taken anyway");
}

Test(kcore_ipc, call_without_a_portal_capability_falls_back_and_is_refused)
{
	run_client();
	fake_cap(client_pd, SEL_PT + 1, &pt->obj, RIGHT_PT_CTRL);
	struct fallback_watch w = watch_fallbacks(FASTPATH_NO_CAP, 0);
	struct fake_exit x = fake_syscall(client, SYS_CALL, SEL_PT + 1, 0, 0, 0, 0);
	expect_call_fell_back(w, FASTPATH_NO_CAP);
	cr_expect_eq(fake_exit_ec(x), client);
	cr_expect_eq(client->regs.rax, VIREO_BAD_CAP);
}

Test(kcore_ipc, call_to_a_dead_handler_falls_back_and_is_aborted)
{
	run_client();
	const uint64_t msg[] = { 1 };
	call(msg, 1);
	fake_syscall(handler, SYS_EC_EXIT, 0, 0, 0, 0, 0);
	struct fallback_watch w = watch_fallbacks(FASTPATH_NO_PEER, 0);
	struct fake_exit x = fake_syscall(client, SYS_CALL, SEL_PT, 0, 0, 0, 0);
	expect_call_fell_back(w, FASTPATH_NO_PEER);
	cr_expect_eq(fake_exit_ec(x), client);
	cr_expect_eq(client->regs.rax, VIREO_ABORTED);
}

Test(kcore_ipc, call_to_a_busy_handler_and_the_reply_to_a_queue_fall_back)
{
	run_client();
	struct ec *second = fake_ec(client_pd, "second", false, 0, EVT_BASE);
	fake_sc(second, 1, 10000);
	const uint64_t one[] = { 1 };
	call(one, 1);
	struct fallback_watch w = watch_fallbacks(FASTPATH_BUSY, FASTPATH_WAITERS);
	second->utcb->untyped = 1;
	second->utcb->mr[0] = 2;
	fake_syscall(second, SYS_CALL, SEL_PT, 0, 0, 0, 0);
	expect_call_fell_back(w, FASTPATH_BUSY);
	cr_expect_eq(handler->waiters, second);
	const uint64_t answer[] = { 10 };
	reply(answer, 1);
	expect_reply_fell_back(w, FASTPATH_WAITERS);
	cr_expect_eq(client->utcb->mr[0], 10);
	cr_expect_eq(handler->caller, second, "the queued caller was not served next");
}

Test(kcore_ipc, calls_and_replies_across_cpus_fall_back)
{
	run_client();
	struct pd *far_pd = fake_pd("far", 1 << 20);
	struct ec *far = fake_ec(far_pd, "far", true, 1, 0);
	struct portal *fpt = fake_portal(far, HANDLER_IP, 0, 77);
	fake_cap(client_pd, SEL_PT + 2, &fpt->obj, RIGHT_PT_CALL);
	client->utcb->untyped = 0;
	struct fallback_watch w = watch_fallbacks(FASTPATH_CPU, FASTPATH_CPU);
	struct fake_exit x = fake_syscall(client, SYS_CALL, SEL_PT + 2, 0, 0, 0, 0);
	expect_call_fell_back(w, FASTPATH_CPU);
	cr_expect_eq(x.kind, FAKE_EXIT_STACK, "CPU 0 should go idle");
	fake_cpu_set(1);
	x = fake_schedule();
	cr_assert_eq(fake_exit_ec(x), far);
	far->utcb->untyped = 0;
	x = fake_syscall(far, SYS_REPLY_WAIT, 0, 0, 0, 0, 0);
	expect_reply_fell_back(w, FASTPATH_CPU);
	cr_expect_eq(client_sc->cpu, 0, "the SC did not go home");
}

Test(kcore_ipc, messages_with_typed_items_fall_back)
{
	run_client();
	server_sm(50);
	client->utcb->rcv_window[CRD_OBJ] = vireo_crd(CRD_OBJ, 64, 4, 0);
	struct fallback_watch w = watch_fallbacks(FASTPATH_TYPED, FASTPATH_TYPED);
	client->utcb->untyped = 1;
	client->utcb->typed = 1;
	struct fake_exit x = fake_syscall(client, SYS_CALL, SEL_PT, 0, 0, 0, 0);
	expect_call_fell_back(w, FASTPATH_TYPED);
	cr_assert_eq(fake_exit_ec(x), handler);
	cr_expect_eq(handler->utcb->typed, 0, "a call carries no items");
	reply_item(vireo_crd(CRD_OBJ, 50, 0, RIGHT_SM_UP), 70);
	expect_reply_fell_back(w, FASTPATH_TYPED);
	cr_expect_eq(client->regs.rax, VIREO_OK);
	cr_expect_not_null(pd_lookup_obj(client_pd, 70, OBJ_SM, RIGHT_SM_UP));
}

Test(kcore_ipc, messages_longer_than_the_fast_path_takes_fall_back)
{
	run_client();
	uint64_t msg[FASTPATH_WORDS + 1];
	for (unsigned i = 0; i < FASTPATH_WORDS + 1; i++) {
		msg[i] = 100 + i;
	}
	struct fallback_watch w = watch_fallbacks(FASTPATH_LONG, FASTPATH_LONG);
	call(msg, FASTPATH_WORDS + 1);
	expect_call_fell_back(w, FASTPATH_LONG);
	cr_expect_eq(handler->utcb->mr[FASTPATH_WORDS], 100 + FASTPATH_WORDS);
	reply(msg, FASTPATH_WORDS + 1);
	expect_reply_fell_back(w, FASTPATH_LONG);
	cr_expect_eq(client->utcb->untyped, FASTPATH_WORDS + 1);
	cr_expect_eq(client->utcb->mr[FASTPATH_WORDS], 100 + FASTPATH_WORDS);
}

Test(kcore_ipc, exception_replies_and_replies_without_a_caller_fall_back)
{
	run_client();
	exc_portal(6, MTD_RIP | MTD_QUAL);
	client->regs.rip = 0x402000;
	fake_exception(client, 6, 0, 0);
	handler->utcb->exc.rip = 0x402002;
	handler->utcb->mtd = MTD_RIP;
	struct fallback_watch w = watch_fallbacks(0, FASTPATH_EXC);
	reply(NULL, 0);
	expect_reply_fell_back(w, FASTPATH_EXC);
	cr_expect_eq(client->regs.rip, 0x402002);
	/* A global EC has nothing to reply to. */
	w = watch_fallbacks(0, FASTPATH_NO_PEER);
	struct fake_exit x = fake_syscall(client, SYS_REPLY_WAIT, 0, 0, 0, 0, 0);
	expect_reply_fell_back(w, FASTPATH_NO_PEER);
	cr_expect_eq(client->regs.rax, VIREO_BAD_CAP);
	/* A handler whose caller died meanwhile has nobody to answer: its kernel entry is void
	 * (ipc_retire_orphan, before any system call is decoded), so neither path runs, and it
	 * waits again. */
	call(NULL, 0);
	klock_acquire();
	ec_kill(client, NULL);
	klock_release();
	cr_assert_null(handler->caller);
	uint64_t taken = fastpath_taken();
	x = fake_syscall(handler, SYS_REPLY_WAIT, 0, 0, 0, 0, 0);
	cr_expect_eq(fastpath_taken(), taken, "the fast path answered a dead caller");
	cr_expect_eq(handler->state, EC_WAITING);
	cr_expect_neq(fake_exit_ec(x), handler);
}

Test(kcore_ipc, a_due_reschedule_makes_call_and_reply_fall_back)
{
	/* No SC is current yet, so the next runnable one makes a reschedule due. */
	struct fallback_watch w = watch_fallbacks(FASTPATH_SCHED, FASTPATH_SCHED);
	cr_assert(sched_need_resched());
	struct fake_exit x = fake_syscall(client, SYS_CALL, SEL_PT, 0, 0, 0, 0);
	expect_call_fell_back(w, FASTPATH_SCHED);
	cr_assert_eq(fake_exit_ec(x), handler, "the scheduler ran the donated SC's handler");
	/* A higher priority becomes runnable while the handler works: the reply must not skip it. */
	struct ec *urgent = fake_ec(client_pd, "urgent", false, 0, EVT_BASE);
	fake_sc(urgent, 5, 10000);
	cr_assert(sched_need_resched());
	x = fake_syscall(handler, SYS_REPLY_WAIT, 0, 0, 0, 0, 0);
	expect_reply_fell_back(w, FASTPATH_SCHED);
	cr_expect_eq(fake_exit_ec(x), urgent, "the higher priority did not run first");
	cr_expect_eq(client->state, EC_READY);
}

Test(kcore_ipc, a_caller_that_does_not_return_from_a_system_call_falls_back)
{
	run_client();
	call(NULL, 0);
	client->cont = ec_ret_iret; /* as after a recall: the full frame goes back */
	struct fallback_watch w = watch_fallbacks(0, FASTPATH_CONT);
	struct fake_exit x = fake_syscall(handler, SYS_REPLY_WAIT, 0, 0, 0, 0, 0);
	expect_reply_fell_back(w, FASTPATH_CONT);
	cr_expect_eq(fake_exit_ec(x), client);
	cr_expect_eq(x.kind, FAKE_EXIT_IRET);
}

Test(kcore_ipc, fast_path_switched_off_sends_everything_the_general_way)
{
	run_client();
	fastpath_enable(false);
	struct fallback_watch w = watch_fallbacks(FASTPATH_OFF, FASTPATH_OFF);
	const uint64_t msg[] = { 3 };
	call(msg, 1);
	expect_call_fell_back(w, FASTPATH_OFF);
	reply(msg, 1);
	expect_reply_fell_back(w, FASTPATH_OFF);
	cr_expect_eq(client->utcb->mr[0], 3);
}
