/* SPDX-License-Identifier: MIT */
/*
 * minios on a Vireo vCPU (the para-virtual layer of plat.h, docs/architecture.md#virtual-user-mode):
 * the guest kernel is a vCPU EC of this task; each minios process is a Vireo task (PD) it creates,
 * fills with pages of its own heap by delegation and empties by revocation, and runs with
 * SYS_VCPU_RESUME in virtual user mode. A process's SYSCALL, page fault or exception, and the
 * timer IRQ (SYS_VCPU_IRQ from a timer EC every 10 ms) while the virtual IF is open, enter the
 * vCPU at its entry point with the process's registers in the state page. The guest kernel runs
 * with the virtual IF closed, so an IRQ that comes meanwhile waits in irq_pending for the next
 * resume, like the hardware layer's interrupts wait for IRETQ.
 */
#include "../plat.h"
#include "cmdline.h"
#include "taskinfo.h"
#include "vireo.h"

#define SEL_VCPU 40
#define SEL_VCPU_SC 41
#define SEL_TIMER 42
#define SEL_TIMER_SC 43
#define SEL_SLEEP_SM 44
#define SEL_DONE_SM 45
#define SEL_TASK0 64 /* one selector per address space from here */
#define MAX_AS 16
#define TASK_QUOTA (128ull << 10)
#define TIMER_US 10000
#define TIMER_LABEL 0x71 /* the IRQ label of the virtual timer */
#define BATCH_MAX 16	 /* map items sent with one resume */

#define VCPU_UTCB_VA (TASK_FREE_VA + 0x10000)
#define VCPU_STATE_VA (TASK_FREE_VA + 0x20000)
#define TIMER_UTCB_VA (TASK_FREE_VA + 0x30000)
#define PAGE 4096ull

int pv_save(uint64_t buf[8]);
__attribute__((noreturn)) void pv_continue(const uint64_t buf[8]);

struct plat_as {
	uint64_t sel; /* the task's PD; 0: free */
};

static uint64_t vcpu_stack[2048] __attribute__((aligned(16)));
static uint64_t entry_stack[1024] __attribute__((aligned(16)));
static uint64_t timer_stack[512] __attribute__((aligned(16)));
static struct plat_as as_pool[MAX_AS];
static uint64_t free_frames;
static uint64_t kernel_calls; /* system calls of the guest kernel to Vireo */
static uint64_t run_ctx[8];
static struct uctx *cur_ctx;
static struct plat_event *cur_ev;
static volatile bool done, passed;
static char line[256];
static unsigned line_len;
/* Mappings for one task not yet made: they go with its next resume (VIREO_RESUME_ITEMS). */
static struct {
	struct plat_as *as;
	unsigned n;
	uint64_t crd[BATCH_MAX], dst[BATCH_MAX];
} batch;
static bool batching = true;

static struct vireo_utcb *utcb(void)
{
	return (struct vireo_utcb *)VCPU_UTCB_VA;
}

/* Make the batched mappings now (before anything that must see them). */
static bool batch_flush(void)
{
	bool ok = true;
	for (unsigned i = 0; i < batch.n; i++) {
		kernel_calls++;
		ok &= sys_delegate(batch.as->sel, batch.crd[i], batch.dst[i], 0) == VIREO_OK;
	}
	batch.n = 0;
	return ok;
}

static struct vireo_vcpu_pv *pv(void)
{
	return (struct vireo_vcpu_pv *)(VCPU_STATE_VA + VIREO_VCPU_PV_OFFSET);
}

/* ---------------------------------------------------------------- console and the end */

void plat_putc(char c)
{
	line[line_len++] = c;
	if (c == '\n' || line_len == sizeof(line)) {
		sys_debug_write(line, line_len);
		kernel_calls++;
		line_len = 0;
	}
}

const char *plat_name(void)
{
	return "para-virtual vCPU";
}

/* Kernel entries on the vCPU's behalf: its events (a trap, fault or IRQ in a process) and its
 * own system calls (resume, delegate, revoke, console). */
uint64_t plat_entries(void)
{
	return pv()->events + kernel_calls;
}

void plat_halt(bool ok)
{
	passed = ok;
	done = true;
	sys_sm_up(SEL_DONE_SM);
	sys_ec_exit();
}

/* ---------------------------------------------------------------- memory */

uint64_t plat_frame_alloc(void)
{
	uint64_t f = free_frames;
	if (f) {
		free_frames = *(uint64_t *)f;
		*(uint64_t *)f = 0;
	}
	return f;
}

void plat_frame_free(uint64_t frame)
{
	*(uint64_t *)frame = free_frames;
	free_frames = frame;
}

void *plat_frame_ptr(uint64_t frame)
{
	return (void *)frame; /* a page of this task's heap */
}

struct plat_as *plat_as_create(void)
{
	for (unsigned i = 0; i < MAX_AS; i++) {
		struct plat_as *as = &as_pool[i];
		if (!as->sel) {
			kernel_calls++;
			if (sys_create_pd(SEL_TASK0 + i, SEL_SELF_PD, TASK_QUOTA) != VIREO_OK) {
				return NULL;
			}
			as->sel = SEL_TASK0 + i;
			return as;
		}
	}
	return NULL;
}

void plat_as_destroy(struct plat_as *as)
{
	if (batch.as == as) {
		batch.n = 0; /* never made: nothing to undo */
	}
	/* The last capability to the PD goes: the task and whatever it still holds go with it. */
	kernel_calls++;
	sys_revoke(vireo_crd(CRD_OBJ, as->sel, 0, RIGHTS_ALL), VIREO_REVOKE_SELF);
	as->sel = 0;
}

bool plat_map(struct plat_as *as, uint64_t va, uint64_t frame, bool writable)
{
	unsigned rights = MEM_R | MEM_X | (writable ? MEM_W : 0);
	uint64_t crd = vireo_crd(CRD_MEM, frame >> 12, 0, rights);
	if (batching) {
		if ((batch.n && batch.as != as) || batch.n == BATCH_MAX) {
			batch_flush();
		}
		batch.as = as;
		batch.crd[batch.n] = crd;
		batch.dst[batch.n++] = va >> 12;
		return true;
	}
	kernel_calls++;
	return sys_delegate(as->sel, crd, va >> 12, 0) == VIREO_OK;
}

void plat_unmap(struct plat_as *as, uint64_t va, uint64_t frame)
{
	(void)as;
	(void)va;
	batch_flush();
	/* Each frame is mapped into one task only: revoking what was derived from it unmaps it. */
	kernel_calls++;
	sys_revoke(vireo_crd(CRD_MEM, frame >> 12, 0, MEM_R | MEM_W | MEM_X), 0);
}

/* ---------------------------------------------------------------- running a process */

static void to_exc(const struct uctx *c, struct vireo_exc_state *u)
{
	*u = (struct vireo_exc_state){ .rax = c->rax,
				       .rbx = c->rbx,
				       .rcx = c->rcx,
				       .rdx = c->rdx,
				       .rbp = c->rbp,
				       .rsi = c->rsi,
				       .rdi = c->rdi,
				       .r8 = c->r8,
				       .r9 = c->r9,
				       .r10 = c->r10,
				       .r11 = c->r11,
				       .r12 = c->r12,
				       .r13 = c->r13,
				       .r14 = c->r14,
				       .r15 = c->r15,
				       .rsp = c->rsp,
				       .rip = c->rip,
				       .rflags = c->rflags };
}

static void from_exc(const struct vireo_exc_state *u, struct uctx *c)
{
	*c = (struct uctx){ .rax = u->rax,
			    .rbx = u->rbx,
			    .rcx = u->rcx,
			    .rdx = u->rdx,
			    .rsi = u->rsi,
			    .rdi = u->rdi,
			    .rbp = u->rbp,
			    .r8 = u->r8,
			    .r9 = u->r9,
			    .r10 = u->r10,
			    .r11 = u->r11,
			    .r12 = u->r12,
			    .r13 = u->r13,
			    .r14 = u->r14,
			    .r15 = u->r15,
			    .rip = u->rip,
			    .rsp = u->rsp,
			    .rflags = u->rflags };
}

void plat_run(struct plat_as *as, struct uctx *ctx, struct plat_event *ev)
{
	struct vireo_vcpu_pv *p = pv();
	cur_ctx = ctx;
	cur_ev = ev;
	if (pv_save(run_ctx)) {
		return; /* continued by the entry point with the event */
	}
	to_exc(ctx, &p->user);
	p->vif = 1;
	uint64_t flags = 0;
	if (batch.n && batch.as != as) {
		batch_flush();
	} else if (batch.n) {
		/* Typed items from the end of mr[] down (docs/ABI.md "IPC and the UTCB"). */
		struct vireo_utcb *u = utcb();
		for (unsigned i = 0; i < batch.n; i++) {
			u->mr[VIREO_UTCB_WORDS - 2 - 2 * i] = batch.crd[i];
			u->mr[VIREO_UTCB_WORDS - 1 - 2 * i] = batch.dst[i] << 12;
		}
		u->untyped = 0;
		u->typed = (uint16_t)batch.n;
		batch.n = 0;
		flags = VIREO_RESUME_ITEMS;
	}
	kernel_calls++;
	enum vireo_status st = sys_vcpu_resume_flags(as->sel, flags);
	/* Only a refused resume returns. */
	printf("minios: vcpu_resume refused (status %d)\n", st);
	plat_halt(false);
}

static volatile unsigned own_irqs;

/* An IRQ that interrupted the guest kernel itself (vif_own open): count it and continue the
 * interrupted code with its virtual IF closed again (vif = 0 applies to vif_own). */
static __attribute__((noreturn)) void own_event(struct vireo_vcpu_pv *p)
{
	if (p->cause == VCPU_CAUSE_IRQ && p->irq_label == TIMER_LABEL) {
		own_irqs++;
	}
	p->vif = 0;
	kernel_calls++;
	enum vireo_status st = sys_vcpu_resume(SEL_SELF_PD);
	printf("minios: resuming its own code refused (status %d)\n", st);
	plat_halt(false);
}

/* Every event enters here, on the entry stack, with the process's state in the state page. */
static __attribute__((noreturn)) void vcpu_entry(void)
{
	struct vireo_vcpu_pv *p = pv();
	if (p->from_own) {
		own_event(p);
	}
	struct plat_event *ev = cur_ev;
	from_exc(&p->user, cur_ctx);
	ev->vector = p->vector;
	ev->error = p->error;
	ev->addr = p->fault_addr;
	switch (p->cause) {
	case VCPU_CAUSE_SYSCALL:
		ev->kind = PEV_SYSCALL;
		break;
	case VCPU_CAUSE_IRQ:
		/* Only the timer raises IRQs here; any other label is a fault of this layer. */
		ev->kind = p->irq_label == TIMER_LABEL ? PEV_TIMER : PEV_FAULT;
		break;
	case VCPU_CAUSE_EXCEPTION:
		ev->kind = p->vector == 14 ? PEV_PAGEFAULT : PEV_FAULT;
		break;
	default:
		ev->kind = PEV_FAULT;
		break;
	}
	pv_continue(run_ctx);
}

/* ---------------------------------------------------------------- set-up */

static __attribute__((noreturn)) void vcpu_main(uint64_t arg)
{
	(void)arg;
	struct vireo_vcpu_pv *p = pv();
	p->entry_ip = (uintptr_t)vcpu_entry;
	p->entry_sp = (uintptr_t)&entry_stack[1024] - 8;
	p->vif = 0;
	/* Before the core starts: the timer must reach the guest kernel's own code too while its
	 * virtual IF is open (a check of the kernel's vCPU model, docs/ABI.md). */
	p->vif_own = 1;
	while (!own_irqs) {
		__asm__ volatile("pause" ::: "memory");
	}
	printf("minios: timer IRQ (label %#lx) reached the guest kernel's own code\n",
	       (unsigned long)p->irq_label);
	core_main();
}

/* The virtual timer: an IRQ event at the vCPU every TIMER_US. */
static __attribute__((noreturn)) void timer_main(uint64_t arg)
{
	(void)arg;
	while (!done) {
		sys_sm_down(SEL_SLEEP_SM, TIMER_US);
		sys_vcpu_irq_label(SEL_VCPU, TIMER_LABEL);
	}
	sys_ec_exit();
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
	const struct vireo_taskinfo *ti = (const struct vireo_taskinfo *)arg;
	batching = !cmdline_has(ti->cmdline, "nobatch");
	for (uint64_t off = 0; off + PAGE <= ti->heap_size; off += PAGE) {
		plat_frame_free(TASK_HEAP_VA + off);
	}
	if (sys_create_sm(SEL_SLEEP_SM, SEL_SELF_PD, 0) ||
	    sys_create_sm(SEL_DONE_SM, SEL_SELF_PD, 0) ||
	    start_ec(SEL_VCPU, SEL_VCPU_SC, vcpu_main, &vcpu_stack[2048], VCPU_UTCB_VA,
		     VCPU_STATE_VA, 4) ||
	    start_ec(SEL_TIMER, SEL_TIMER_SC, timer_main, &timer_stack[512], TIMER_UTCB_VA, 0, 6)) {
		printf("minios: FAIL: cannot set up the vCPU and its timer\n");
		return 1;
	}
	sys_sm_down(SEL_DONE_SM, VIREO_TIMEOUT_NEVER);
	printf("minios: %s\n", passed ? "PASS" : "FAIL");
	return 0;
}
