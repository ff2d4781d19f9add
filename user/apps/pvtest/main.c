/* SPDX-License-Identifier: MIT */
/*
 * Para-virtualisation test (docs/architecture.md#virtual-user-mode): a vCPU EC acts as a small guest kernel
 * whose process runs in another task. The process's page fault, its INT 0x80 and SYSCALL system
 * calls and a timer IRQ all arrive at the vCPU's entry point; with the virtual IF closed the IRQ
 * waits until it is reopened. A native EC of the same task calls the vCPU through a portal while
 * the process runs (docs/ABI.md "Calls to a vCPU"): each call arrives at the entry point too, is
 * replied to and checked by the caller; with the virtual IF closed a call waits. Also measures the
 * trap round trip process -> entry -> process and the call round trip caller -> vCPU -> caller.
 */
#include "taskinfo.h"
#include "vireo.h"

#define SEL_TASK 40
#define SEL_VCPU 41
#define SEL_VCPU_SC 42
#define SEL_TIMER 43
#define SEL_TIMER_SC 44
#define SEL_SLEEP_SM 45
#define SEL_DONE_SM 46
#define SEL_CALLER 47
#define SEL_CALLER_SC 48
#define SEL_VCPU_PT 49
#define SEL_NAP_SM 50

#define VCPU_UTCB_VA (TASK_FREE_VA + 0x10000)
#define VCPU_STATE_VA (TASK_FREE_VA + 0x20000)
#define TIMER_UTCB_VA (TASK_FREE_VA + 0x30000)
#define CALLER_UTCB_VA (TASK_FREE_VA + 0x40000)
#define VCPU_PT_ID 0x9c0ffee
#define CALLS_WANTED 10 /* answered and checked while the process runs */
#define OWN_CALLS 3	/* ... and then while the guest kernel runs its own code */
#define PROC_STACK_VA 0x0000000010000000ull  /* in the process's task */
#define PROC_DEMAND_VA 0x0000000040000000ull /* filled on first touch by the guest kernel */
#define BENCH_ROUNDS 1000

/* The process's system calls (RAX), served by the guest kernel. */
enum {
	P_NULL,
	P_PUTC,
	P_IRQS,
	P_CLOSE_VIF,
	P_PENDING,
	P_OPEN_VIF,
	P_BENCH,
	P_DONE,
	P_FAIL,
	P_CALLS_OK
};

extern char _text_start[], _rodata_end[];
static uint64_t vcpu_stack[1024] __attribute__((aligned(16)));
static uint64_t entry_stack[1024] __attribute__((aligned(16)));
static uint64_t timer_stack[512] __attribute__((aligned(16)));
static uint64_t caller_stack[512] __attribute__((aligned(16)));

/* Guest-kernel state: lives in the pvtest PD, never seen by the process. */
static struct {
	uint32_t task_vif;  /* the process's virtual IF */
	uint64_t next_heap; /* next heap page to give the process */
	unsigned faults, int80, syscalls, irqs;
	bool irq_on_reopen, held_while_closed;
	unsigned last_call;
	volatile bool done;
	bool failed;
	/* Calls to the vCPU: served by it, into a process (from_own 0); one held while vif was
	 * closed and delivered once the process reopened it. */
	unsigned calls_served, calls_in_process;
	volatile unsigned calls_in_own; /* delivered while the vCPU ran its own code (from_own 1) */
	bool own_timeout;
	bool call_held_while_closed, call_on_reopen;
	uint64_t first_label;
} vk;

/* The native caller's side (same PD, its own EC): written by it, read by the guest kernel. */
static struct {
	volatile unsigned ok; /* replies checked correct */
	volatile bool failed;
	uint64_t best_cycles; /* fastest call round trip seen (TSC: instructions under -icount) */
} caller;

/* ---------------------------------------------------------------- the process (another task) */

static inline uint64_t psys(uint64_t nr, uint64_t arg)
{
	uint64_t ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(arg) : "rcx", "r11", "memory");
	return ret;
}

static inline uint64_t ptsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return (uint64_t)hi << 32 | lo;
}

static void spin(void)
{
	for (volatile int i = 0; i < 20000; i++) {
	}
}

/* Runs in the task: only code, read-only data and its own stack are mapped there. */
static __attribute__((noreturn)) void process_main(void)
{
	volatile uint64_t *demand = (volatile uint64_t *)PROC_DEMAND_VA;
	demand[0] = 0x1234;
	if (demand[0] != 0x1234) {
		psys(P_FAIL, 1);
	}
	uint64_t ret;
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"((uint64_t)P_PUTC), "D"((uint64_t)'A')
			 : "memory");
	psys(P_PUTC, 'B');
	while (psys(P_IRQS, 0) < 1) {
		spin(); /* the timer IRQ comes while we compute */
	}
	while (psys(P_CALLS_OK, 0) < CALLS_WANTED / 2) {
		spin(); /* calls from the native EC come while we compute */
	}
	psys(P_CLOSE_VIF, 0);
	while (!psys(P_PENDING, 0)) {
		spin();
	}
	uint64_t before = psys(P_IRQS, 0);
	psys(P_OPEN_VIF, 0);
	if (psys(P_IRQS, 0) <= before) {
		psys(P_FAIL, 2);
	}
	uint64_t t0 = ptsc();
	for (int i = 0; i < BENCH_ROUNDS; i++) {
		psys(P_NULL, 0);
	}
	psys(P_BENCH, (ptsc() - t0) / BENCH_ROUNDS);
	while (psys(P_CALLS_OK, 0) < CALLS_WANTED) {
		spin();
	}
	psys(P_DONE, 0);
	for (;;) {
		psys(P_FAIL, 3);
	}
}

/* ---------------------------------------------------------------- the guest kernel (the vCPU) */

static struct vireo_vcpu_pv *pv(void)
{
	return (struct vireo_vcpu_pv *)(VCPU_STATE_VA + VIREO_VCPU_PV_OFFSET);
}

static void fail(const char *what)
{
	if (!vk.failed) {
		printf("pvtest: FAIL: %s\n", what);
	}
	vk.failed = true;
}

static void finish(void)
{
	bool ok = !vk.failed && vk.faults >= 1 && vk.int80 == 1 && vk.irqs >= 2 &&
		  vk.held_while_closed && vk.irq_on_reopen && !caller.failed &&
		  caller.ok >= CALLS_WANTED && vk.calls_in_process >= CALLS_WANTED &&
		  vk.call_held_while_closed && vk.call_on_reopen && vk.calls_in_own >= OWN_CALLS;
	printf("pvtest: %u page faults, %u INT 0x80 and %u SYSCALL system calls, %u IRQs\n",
	       vk.faults, vk.int80, vk.syscalls, vk.irqs);
	if (vk.calls_in_process) {
		printf("pvtest: call arrived at the entry point while the process ran (portal id "
		       "%#lx)\n",
		       (unsigned long)vk.first_label);
	}
	if (vk.call_on_reopen) {
		printf("pvtest: the pending call came as soon as the virtual IF was reopened\n");
	}
	printf("pvtest: %u calls served (%u into the process), %u replies checked by the caller\n",
	       vk.calls_served, vk.calls_in_process, caller.ok);
	if (vk.calls_in_own >= OWN_CALLS) {
		printf("pvtest: %u calls interrupted the guest kernel's own code (vif_own open)\n",
		       vk.calls_in_own);
	} else if (vk.own_timeout) {
		printf("pvtest: FAIL: only %u calls came into the guest kernel's own code\n",
		       vk.calls_in_own);
	}
	if (caller.ok) {
		printf("bench: pv_ipc_call_roundtrip %lu insns\n",
		       (unsigned long)caller.best_cycles);
	}
	printf("pvtest: %s\n", ok ? "PASS" : "FAIL");
	vk.done = true;
	sys_sm_up(SEL_DONE_SM);
	sys_ec_exit();
}

static void serve_fault(struct vireo_vcpu_pv *p)
{
	uint64_t page = p->fault_addr & ~0xfffull;
	if (page < PROC_DEMAND_VA || page >= PROC_DEMAND_VA + (1ull << 20)) {
		fail("page fault outside the demand region");
		finish();
	}
	uint64_t crd = vireo_crd(CRD_MEM, vk.next_heap++, 0, MEM_R | MEM_W);
	if (sys_delegate(SEL_TASK, crd, page >> 12, 0) != VIREO_OK) {
		fail("cannot map the faulting page");
	}
	if (vk.faults++ == 0) {
		printf("pvtest: page fault at %#lx (error %#lx) served at the entry point\n",
		       (unsigned long)p->fault_addr, (unsigned long)p->error);
	}
}

/*
 * The guest kernel's own code with its virtual IF open (vif_own): calls interrupt it as they
 * interrupted the process. It runs on the vCPU's first stack, not on the entry stack every event
 * starts on; the entry point continues it with a resume of its own PD.
 */
static __attribute__((noreturn)) void own_idle(void)
{
	for (unsigned long i = 0; vk.calls_in_own < OWN_CALLS; i++) {
		if (i == 200000000ul) {
			vk.own_timeout = true;
			break;
		}
	}
	pv()->vif_own = 0; /* cli: what follows must not be interrupted */
	finish();
	__builtin_unreachable();
}

static __attribute__((noreturn)) void own_phase(struct vireo_vcpu_pv *p)
{
	p->user = (struct vireo_exc_state){ .rip = (uintptr_t)own_idle,
					    .rsp = (uintptr_t)&vcpu_stack[1024] - 8,
					    .rflags = 0x202 };
	p->vif = 1;
	enum vireo_status st = sys_vcpu_resume(SEL_SELF_PD);
	printf("pvtest: resume of the guest kernel's own code failed (%d)\n", st);
	fail("own resume");
	finish();
	__builtin_unreachable();
}

/* A system call of the process: number in RAX, argument in RDI, result in RAX. */
static void serve_call(struct vireo_vcpu_pv *p, const char *how)
{
	uint64_t nr = p->user.rax, arg = p->user.rdi, ret = 0;
	vk.last_call = (unsigned)nr;
	switch (nr) {
	case P_PUTC:
		printf("pvtest: %s system call: putc '%c'\n", how, (char)arg);
		break;
	case P_IRQS:
		ret = vk.irqs;
		break;
	case P_CLOSE_VIF:
		vk.task_vif = 0;
		break;
	case P_PENDING:
		/* Wait for both: an IRQ and a call held while the virtual IF is closed. */
		ret = p->irq_pending && p->ipc_pending;
		if (ret && !vk.held_while_closed) {
			vk.held_while_closed = true;
			vk.call_held_while_closed = true;
			printf("pvtest: IRQ held pending while the virtual IF is closed\n");
			printf("pvtest: a call held pending while the virtual IF is closed\n");
		}
		break;
	case P_CALLS_OK:
		ret = caller.ok;
		break;
	case P_OPEN_VIF:
		vk.task_vif = 1;
		break;
	case P_BENCH:
		printf("bench: pv_trap_roundtrip %lu insns\n", (unsigned long)arg);
		break;
	case P_DONE:
		own_phase(p);
		break;
	case P_FAIL:
		fail("the process found a wrong result");
		finish();
		break;
	}
	p->user.rax = ret;
}

static void serve_irq(void)
{
	if (vk.irqs++ == 0) {
		printf("pvtest: timer IRQ arrived at the entry point while the process ran\n");
	}
	if (vk.last_call == P_OPEN_VIF && !vk.irq_on_reopen) {
		vk.irq_on_reopen = true;
		printf("pvtest: the pending IRQ came as soon as the virtual IF was reopened\n");
	}
}

/* A call from the native EC: words and portal id in, an answer the caller can check out. */
static void serve_ipc(struct vireo_vcpu_pv *p)
{
	struct vireo_utcb *u = (struct vireo_utcb *)VCPU_UTCB_VA;
	uint64_t w0 = u->mr[0], w1 = u->mr[1];
	unsigned n = u->untyped;
	vk.calls_served++;
	if (p->from_own) {
		vk.calls_in_own++;
	} else {
		vk.calls_in_process++;
	}
	if (vk.calls_served == 1) {
		vk.first_label = p->ipc_label; /* reported by finish, in a fixed place in the log */
	}
	if (vk.last_call == P_OPEN_VIF) {
		vk.call_on_reopen = true; /* reported by finish: the IRQ may come first or second */
	}
	u->mr[0] = n == 2 ? ~w0 : 0;
	u->mr[1] = w1 * 3;
	u->mr[2] = p->ipc_label;
	u->untyped = 3;
	u->typed = 0;
	/* The reply returns here; then the vCPU resumes the process it interrupted. */
	enum vireo_status st = (enum vireo_status)vireo_sys(SYS_REPLY_WAIT, 0, 0, 0, 0, 0);
	if (st != VIREO_OK) {
		printf("pvtest: reply to a call failed (%d)\n", st);
		fail("reply");
	}
}

/*
 * #GP for INT n through a kernel-only gate names the IDT entry: vector * 8 + 2 per the SDM;
 * QEMU reports vector * 16 + 2 in long mode. Accept both.
 */
static bool is_int80(uint64_t error)
{
	return (error & 3) == 2 && ((error >> 3) == 0x80 || (error >> 4) == 0x80);
}

/* Every event enters here, on a fresh stack, with the process's state in the state page. */
static __attribute__((noreturn)) void vcpu_entry(void)
{
	struct vireo_vcpu_pv *p = pv();
	switch (p->cause) {
	case VCPU_CAUSE_EXCEPTION:
		if (p->vector == 14) {
			serve_fault(p);
		} else if (p->vector == 13 && is_int80(p->error)) {
			/* INT 0x80 meets a kernel-only gate: #GP naming the vector; step over it. */
			vk.int80++;
			p->user.rip += 2;
			serve_call(p, "INT 0x80");
		} else {
			printf("pvtest: unexpected exception %u (error %#lx) at %#lx\n", p->vector,
			       (unsigned long)p->error, (unsigned long)p->user.rip);
			fail("unexpected exception");
			finish();
		}
		break;
	case VCPU_CAUSE_SYSCALL:
		vk.syscalls++;
		serve_call(p, "SYSCALL");
		break;
	case VCPU_CAUSE_IRQ:
		serve_irq();
		break;
	case VCPU_CAUSE_IPC:
		serve_ipc(p);
		break;
	default:
		fail("unknown entry cause");
		finish();
	}
	if (p->from_own) {
		p->vif = 1; /* own code had vif_own open, or the event could not have come */
		sys_vcpu_resume(SEL_SELF_PD);
		fail("resume of own code");
		finish();
	}
	p->vif = vk.task_vif;
	enum vireo_status st = sys_vcpu_resume(SEL_TASK);
	printf("pvtest: resume failed (%d)\n", st);
	fail("resume");
	finish();
	__builtin_unreachable();
}

static __attribute__((noreturn)) void vcpu_main(uint64_t arg)
{
	(void)arg;
	struct vireo_vcpu_pv *p = pv();
	p->entry_ip = (uintptr_t)vcpu_entry;
	p->entry_sp = (uintptr_t)&entry_stack[1024] - 8;
	p->user = (struct vireo_exc_state){ .rip = (uintptr_t)process_main,
					    .rsp = PROC_STACK_VA + 4096 - 8,
					    .rflags = 0x202 };
	vk.task_vif = 1;
	p->ipc_accept = 1; /* the native EC's calls come as events */
	p->vif = 1;
	enum vireo_status st = sys_vcpu_resume(SEL_TASK);
	printf("pvtest: first resume failed (%d)\n", st);
	fail("first resume");
	finish();
	__builtin_unreachable();
}

/* The virtual timer: an EC that raises an IRQ at the vCPU every 20 ms. */
static __attribute__((noreturn)) void timer_main(uint64_t arg)
{
	(void)arg;
	while (!vk.done) {
		sys_sm_down(SEL_SLEEP_SM, 20000);
		/* Not before the process's first SYSCALL: on a loaded host 20 ms may pass before it,
		 * and the log checks its first steps in order. */
		if (*(volatile unsigned *)&vk.syscalls) {
			sys_vcpu_irq(SEL_VCPU);
		}
	}
	sys_ec_exit();
}

/* The native caller: calls the guest kernel's vCPU every 2 ms and checks every answer. */
static __attribute__((noreturn)) void caller_main(uint64_t arg)
{
	(void)arg;
	struct vireo_utcb *u = (struct vireo_utcb *)CALLER_UTCB_VA;
	caller.best_cycles = ~0ull;
	/* Until the guest kernel takes calls and its process is past the first steps the log
	 * checks in order (the timer IRQ comes last of them). */
	while (!*(volatile uint32_t *)&pv()->ipc_accept || !*(volatile unsigned *)&vk.irqs) {
		sys_sm_down(SEL_NAP_SM, 1000);
	}
	for (uint64_t i = 1; !vk.done; i++) {
		sys_sm_down(SEL_NAP_SM, 2000);
		uint64_t w0 = 0xc0de0000 + i, w1 = i;
		u->mr[0] = w0;
		u->mr[1] = w1;
		u->untyped = 2;
		u->typed = 0;
		uint64_t t0 = ptsc();
		enum vireo_status st = sys_call(SEL_VCPU_PT);
		uint64_t dt = ptsc() - t0;
		if (st == VIREO_ABORTED && vk.done) {
			break; /* the guest kernel finished and went */
		}
		if (st != VIREO_OK || u->untyped != 3 || u->mr[0] != ~w0 || u->mr[1] != w1 * 3 ||
		    u->mr[2] != VCPU_PT_ID) {
			printf("pvtest: FAIL: call %lu: status %d, %u words, %#lx %#lx %#lx\n",
			       (unsigned long)i, st, u->untyped, (unsigned long)u->mr[0],
			       (unsigned long)u->mr[1], (unsigned long)u->mr[2]);
			caller.failed = true;
			break;
		}
		if (dt < caller.best_cycles) {
			caller.best_cycles = dt;
		}
		caller.ok++;
	}
	sys_ec_exit();
}

/* ---------------------------------------------------------------- set-up */

static int make_task(void)
{
	uint64_t text = (uint64_t)_text_start >> 12, end = ((uint64_t)_rodata_end + 4095) >> 12;
	if (sys_create_pd(SEL_TASK, SEL_SELF_PD, 256 << 10) != VIREO_OK) {
		return -1;
	}
	for (uint64_t p = text; p < end; p++) {
		if (sys_delegate(SEL_TASK, vireo_crd(CRD_MEM, p, 0, MEM_R | MEM_X), p, 0) !=
		    VIREO_OK) {
			return -1;
		}
	}
	vk.next_heap = TASK_HEAP_VA >> 12;
	uint64_t stack = vireo_crd(CRD_MEM, vk.next_heap++, 0, MEM_R | MEM_W);
	return sys_delegate(SEL_TASK, stack, PROC_STACK_VA >> 12, 0) == VIREO_OK ? 0 : -1;
}

static int start_ec(uint64_t sel, uint64_t sc, void (*fn)(uint64_t), uint64_t *stack_top,
		    uint64_t utcb, uint64_t state, unsigned prio)
{
	struct vireo_ec_create a = { .ip = (uintptr_t)fn,
				     .sp = (uintptr_t)stack_top - 8,
				     .utcb = utcb,
				     .evt_base = TASK_EVT_BASE,
				     .cpu = 0,
				     .flags = state ? VIREO_EC_VCPU : 0,
				     .vcpu_state = state };
	if (sys_create_ec(sel, SEL_SELF_PD, &a) != VIREO_OK) {
		return -1;
	}
	return sys_create_sc(sc, SEL_SELF_PD, sel, prio, 10000) == VIREO_OK ? 0 : -1;
}

int main(uintptr_t arg)
{
	(void)arg;
	if (make_task() || sys_create_sm(SEL_SLEEP_SM, SEL_SELF_PD, 0) ||
	    sys_create_sm(SEL_DONE_SM, SEL_SELF_PD, 0) ||
	    start_ec(SEL_VCPU, SEL_VCPU_SC, vcpu_main, &vcpu_stack[1024], VCPU_UTCB_VA,
		     VCPU_STATE_VA, 4) ||
	    start_ec(SEL_TIMER, SEL_TIMER_SC, timer_main, &timer_stack[512], TIMER_UTCB_VA, 0, 6) ||
	    sys_create_sm(SEL_NAP_SM, SEL_SELF_PD, 0) ||
	    sys_create_pt(SEL_VCPU_PT, SEL_SELF_PD, SEL_VCPU, (uintptr_t)vcpu_entry, 0) ||
	    sys_pt_ctrl(SEL_VCPU_PT, VCPU_PT_ID) ||
	    start_ec(SEL_CALLER, SEL_CALLER_SC, caller_main, &caller_stack[512], CALLER_UTCB_VA, 0,
		     5)) {
		printf("pvtest: FAIL: cannot set up the guest kernel and its process\n");
		return 1;
	}
	sys_sm_down(SEL_DONE_SM, VIREO_TIMEOUT_NEVER);
	return 0;
}
