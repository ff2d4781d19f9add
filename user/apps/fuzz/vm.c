/* SPDX-License-Identifier: MIT */
/*
 * vCPU resumes with random guest state: a VM with a few pages of random guest code, a vCPU EC
 * that resumes it with state pages derived from a real-mode start by random changes (control
 * registers, EFER, RFLAGS, segments, debug registers, events, XCR0) or filled with noise, and
 * virtual user mode with random task registers. The kernel must refuse the state or run it; a
 * guest that keeps running is recalled. The vCPU thread draws from its own generator, seeded by
 * the main one for each round, since how far a guest gets depends on timing.
 */
#include "fuzz.h"

#define rnd fz_rnd
#define pick fz_pick

#define Q_UTCB_VA 0x0000320000000000ull
#define Q_STATE_VA 0x0000320000001000ull
#define W_PV 230 /* an empty PD: virtual user mode runs random registers there */
#define GUEST_PAGES 16
#define STACK_WORDS 2048

static uint8_t guest_ram[GUEST_PAGES][4096] __attribute__((aligned(4096)));
static uint64_t qstack[STACK_WORDS] __attribute__((aligned(16)));

/* Shared with the vCPU thread. */
static volatile struct {
	uint64_t seed;
	unsigned left; /* resumes still to do in this round */
	bool stop;     /* the main EC lost patience: end the round */
	bool active;
	uint64_t resumes, refused, exits;
} q;

static uint64_t q_rng;

static uint64_t qrnd(void)
{
	q_rng ^= q_rng >> 12;
	q_rng ^= q_rng << 25;
	q_rng ^= q_rng >> 27;
	return q_rng * 0x2545f4914f6cdd1dull;
}

static uint64_t qpick(uint64_t n)
{
	return qrnd() % n;
}

static struct vireo_seg seg(uint16_t attr)
{
	return (struct vireo_seg){ .attr = attr, .limit = 0xffff };
}

/* What a VMM would start a guest with: real mode at a random address in the first pages. */
static void base_state(struct vireo_vm_state *st)
{
	memset(st, 0, sizeof(*st));
	st->cs = seg(VSEG_ATTR_P | VSEG_ATTR_S | 0xb);
	st->ds = st->es = st->fs = st->gs = st->ss = seg(VSEG_ATTR_P | VSEG_ATTR_S | 0x3);
	st->ldtr = seg(VSEG_ATTR_P | 0x2);
	st->tr = seg(VSEG_ATTR_P | 0xb);
	st->gdtr.limit = 0xffff;
	st->idtr.limit = 0x3ff;
	st->cr0 = 0x10;
	st->dr6 = 0xffff0ff0;
	st->dr7 = 0x400;
	st->rflags = 0x2;
	st->rip = qpick(GUEST_PAGES * 4096);
	st->pat = 0x0007040600070406ull;
}

static uint64_t odd_bits(void)
{
	switch (qpick(4)) {
	case 0:
		return qrnd();
	case 1:
		return 1ull << qpick(64);
	case 2:
		return qrnd() & 0xffffffffull;
	default:
		return qrnd() & 0xff;
	}
}

static void mutate_seg(struct vireo_seg *s)
{
	switch (qpick(4)) {
	case 0:
		s->attr = (uint16_t)qrnd();
		break;
	case 1:
		s->base = qrnd();
		break;
	case 2:
		s->limit = (uint32_t)qrnd();
		break;
	default:
		s->sel = (uint16_t)qrnd();
		break;
	}
}

bool fz_vm_tame;

/* Without TF, AC and debug breakpoints: guests that cannot start an endless #DB or #AC
 * delivery loop (issue 8, defect 4: SVM intercepts neither), for runs that must finish. */
static void tame(struct vireo_vm_state *st)
{
	if (fz_vm_tame) {
		st->rflags &= ~(0x100ull | 0x40000ull);
		st->dr7 = 0x400;
		st->cr0 &= ~(1ull << 18); /* AM */
	}
}

static void random_state(struct vireo_vm_state *st)
{
	if (!qpick(16)) {
		uint64_t *w = (uint64_t *)st;
		for (unsigned i = 0; i < sizeof(*st) / 8; i++) {
			w[i] = qrnd();
		}
		return;
	}
	base_state(st);
	if (qpick(3) == 0) {
		/* Long mode with paging on (no page tables in guest RAM: it faults, maybe triple). */
		st->cr0 = 0x80000011;
		st->cr4 = 0x20;
		st->efer = 0x500;
		st->cs.attr = VSEG_ATTR_P | VSEG_ATTR_S | VSEG_ATTR_L | 0xb;
		st->cr3 = qpick(GUEST_PAGES) << 12;
	}
	for (unsigned n = (unsigned)qpick(5); n; n--) {
		switch (qpick(20)) {
		case 0:
			st->cr0 ^= odd_bits();
			break;
		case 1:
			st->cr4 ^= odd_bits();
			break;
		case 2:
			st->efer ^= odd_bits();
			break;
		case 3:
			st->rflags ^= odd_bits();
			break;
		case 4:
			mutate_seg(&st->cs);
			break;
		case 5:
			mutate_seg(&st->ss);
			break;
		case 6:
			mutate_seg(&(&st->es)[qpick(8)]);
			break;
		case 7:
			st->dr6 ^= odd_bits();
			break;
		case 8:
			st->dr7 ^= odd_bits();
			break;
		case 9:
			st->xcr0 = odd_bits();
			break;
		case 10:
			st->inject =
				(uint32_t)(qpick(2) ? qrnd()
						    : VEVENT_VALID | (qpick(5) << 8) | qpick(256));
			st->inject_err = (uint32_t)qrnd();
			break;
		case 11:
			st->pending = (uint32_t)(VEVENT_VALID | qrnd());
			st->pending_err = (uint32_t)qrnd();
			break;
		case 12:
			st->intr_window = (uint32_t)qpick(3);
			break;
		case 13:
			st->rip = qrnd();
			break;
		case 14:
			st->gdtr.base = qrnd();
			st->idtr.limit = (uint32_t)qrnd();
			break;
		case 15:
			st->cr3 = qrnd();
			break;
		case 16:
			st->gpr[qpick(16)] = qrnd();
			break;
		case 17:
			st->intr_shadow = (uint32_t)qrnd();
			break;
		case 18:
			st->cr2 = qrnd();
			st->pat = qrnd();
			break;
		default:
			st->sysenter_eip = qrnd();
			st->lstar = qrnd();
			st->kernel_gs_base = qrnd();
			break;
		}
	}
}

static void random_pv(struct vireo_vcpu_pv *pv)
{
	uint64_t *w = (uint64_t *)&pv->user;
	for (unsigned i = 0; i < sizeof(pv->user) / 8; i++) {
		w[i] = qpick(2) ? qrnd() : qpick(0x10000);
	}
	if (qpick(2)) {
		pv->user.rip &= 0x00007fffffffffffull;
		pv->user.rsp &= 0x00007fffffffffffull;
	}
	pv->vif = (uint32_t)qpick(2);
	pv->irq_pending = (uint32_t)qpick(2);
}

static void one_resume(void)
{
	struct vireo_vm_state *st = (struct vireo_vm_state *)Q_STATE_VA;
	struct vireo_vcpu_pv *pv = (struct vireo_vcpu_pv *)(Q_STATE_VA + VIREO_VCPU_PV_OFFSET);
	q.resumes++;
	if (!qpick(8)) {
		/* Virtual user mode: an event continues this EC at q_body on a fresh stack. */
		random_pv(pv);
		if (fz_verbose) {
			printf("fuzz: pv: rip %lx rsp %lx rflags %lx vif %u irq %u\n",
			       (unsigned long)pv->user.rip, (unsigned long)pv->user.rsp,
			       (unsigned long)pv->user.rflags, pv->vif, pv->irq_pending);
		}
		sys_vcpu_resume(W_PV);
		return;
	}
	random_state(st);
	tame(st);
	if (fz_verbose) {
		printf("fuzz: vcpu: rip %lx cr0 %lx cr4 %lx efer %lx rflags %lx cs %x inject %x\n",
		       (unsigned long)st->rip, (unsigned long)st->cr0, (unsigned long)st->cr4,
		       (unsigned long)st->efer, (unsigned long)st->rflags, st->cs.attr, st->inject);
	}
	if (sys_vcpu_resume(W_VM) == VIREO_OK) {
		if (fz_verbose) {
			printf("fuzz: vcpu: exit %u qual %lx\n", st->exit, (unsigned long)st->qual);
		}
		if (st->exit == VM_EXIT_INVALID) {
			q.refused++;
		} else {
			q.exits++;
		}
	}
}

/* The vCPU thread; also the entry of its virtual-user-mode events (entry_ip). */
static __attribute__((noreturn)) void q_body(void)
{
	struct vireo_vcpu_pv *pv = (struct vireo_vcpu_pv *)(Q_STATE_VA + VIREO_VCPU_PV_OFFSET);
	pv->entry_ip = (uintptr_t)q_body;
	pv->entry_sp = (uintptr_t)&qstack[STACK_WORDS] - 8;
	for (;;) {
		if (!q.left || q.stop) {
			if (q.active) {
				q.active = false;
				sys_sm_up(W_DONE);
			}
			sys_sm_down(W_GO, VIREO_TIMEOUT_NEVER);
			continue;
		}
		q.left--;
		one_resume();
	}
}

static bool vm_ok;

bool vm_init(void)
{
	enum vireo_status st = sys_create_vm(W_VM, SEL_SELF_PD, 256 * 1024);
	if (st != VIREO_OK) {
		return false;
	}
	for (unsigned p = 0; p < GUEST_PAGES; p++) {
		uint64_t page = (uintptr_t)guest_ram[p] >> 12;
		if (sys_delegate(W_VM, vireo_crd(CRD_MEM, page, 0, MEM_R | MEM_W | MEM_X), p, 0) !=
		    VIREO_OK) {
			printf("fuzz: cannot give the VM its memory\n");
			return false;
		}
	}
	struct vireo_ec_create a = {
		.ip = (uintptr_t)q_body,
		.sp = (uintptr_t)&qstack[STACK_WORDS] - 8,
		.utcb = Q_UTCB_VA,
		.evt_base = 3000,
		.cpu = (uint32_t)pick(2),
		.flags = VIREO_EC_VCPU,
		.vcpu_state = Q_STATE_VA,
	};
	if (sys_create_pd(W_PV, SEL_SELF_PD, 64 * 1024) != VIREO_OK ||
	    sys_create_ec(W_Q, SEL_SELF_PD, &a) != VIREO_OK) {
		a.cpu = 0;
		if (sys_create_ec(W_Q, SEL_SELF_PD, &a) != VIREO_OK) {
			printf("fuzz: cannot create the vCPU\n");
			return false;
		}
	}
	/* At most the main EC's priority (8): a guest that spins must not starve it. */
	if (sys_create_sc(W_QSC, SEL_SELF_PD, W_Q, 1 + (unsigned)pick(8), 2000 + pick(10000)) !=
	    VIREO_OK) {
		return false;
	}
	vm_ok = true;
	return true;
}

/* Random guest code, with some instructions that exit often. */
static void random_code(void)
{
	static const uint8_t snippets[][4] = {
		{ 0xf4, 0xeb, 0xfd, 0x90 }, /* hlt; jmp back */
		{ 0xfa, 0xeb, 0xfe, 0x90 }, /* cli; jmp $ */
		{ 0xe6, 0x80, 0xeb, 0xfc }, /* out 0x80, al; jmp back */
		{ 0x0f, 0xa2, 0xeb, 0xfc }, /* cpuid; jmp back */
		{ 0x0f, 0x0b, 0x90, 0x90 }, /* ud2 */
		{ 0xcc, 0x90, 0x90, 0x90 }, /* int3 */
		{ 0x0f, 0x01, 0xd9, 0x90 }, /* vmmcall */
		{ 0x0f, 0x08, 0x90, 0x90 }, /* invd */
	};
	for (unsigned k = 0; k < 64; k++) {
		uint8_t *p = &guest_ram[pick(GUEST_PAGES)][pick(4096 - 4)];
		if (pick(2)) {
			memcpy(p, snippets[pick(sizeof(snippets) / 4)], 4);
		} else {
			for (unsigned b = 0; b < 4; b++) {
				p[b] = (uint8_t)rnd();
			}
		}
	}
}

void vm_round(void)
{
	if (!vm_ok) {
		world_exception();
		return;
	}
	random_code();
	while (sys_sm_down(W_DONE, 0) == VIREO_OK) {
	}
	q_rng = rnd() | 1;
	q.left = 1 + (unsigned)pick(8);
	q.stop = false;
	q.active = true;
	if (fz_verbose) {
		printf("fuzz: vm round: %u resumes\n", q.left);
	}
	sys_sm_up(W_GO);
	/* A guest that runs on is recalled; a recall the kernel lost is repeated. */
	if (sys_sm_down(W_DONE, 20000) != VIREO_OK) {
		q.stop = true;
		if (!world_wait_done(W_Q, 10)) {
			printf("fuzz: the vCPU thread does not come back: no more vCPU rounds\n");
			vm_ok = false;
		}
	}
}
