/* SPDX-License-Identifier: MIT */
/*
 * A dying VMM takes only its VM with it. Each round builds a small "VMM": a PD that sees this
 * program's image, owning (as its only holder) a VM with one page of guest code that spins, a
 * vCPU EC on one CPU, a thread blocked in the kernel on a semaphore, and a main thread on another
 * CPU. Once the vCPU is inside the guest, the main thread faults (odd rounds) or exits (even
 * rounds), and this task, its parent, drops its capability to the VMM's PD, as a roottask does
 * with a task that died. Everything must go: after all rounds the kernel's object and
 * mapping-database counts are those from before the first one, and this task still runs.
 *
 * With `blocked` on the command line the vCPU is not in the guest when its VMM dies: its guest
 * runs to its first exit (a HLT; the exit returns from the resume), then the vCPU EC blocks on
 * the semaphore, so the
 * kernel destroys it from this task's CPU, not its own (under VT-x its VMCS is still active on
 * its CPU and must be cleared there, docs/architecture.md#vmx).
 *
 * Command line: rounds=N (default 50), blocked.
 */
#include "taskinfo.h"
#include "vireo.h"

#define S_VMM 100 /* in this task's space */
#define S_VM 101
#define S_VCPU 102
#define S_VCPU_SC 103
#define S_WAITER 104
#define S_WAITER_SC 105
#define S_MAIN 106
#define S_MAIN_SC 107
#define S_BLOCK 108 /* semaphore nobody ups */
#define S_READY 109 /* the VMM's main thread: the guest runs, I am about to die */
#define S_SLEEP 110
#define S_SPIN_PD 111 /* with `blocked`: another VM's vCPU spinning in its guest on CPU 1 */
#define S_SPIN_VM 112
#define S_SPIN 113 /* its EC, and its SC at 114 */

#define V_VM 40 /* in the VMM's space */
#define V_BLOCK 41
#define V_READY 42
#define V_OBJS 48 /* its ECs and SCs: 48.. */

#define V_UTCB 0x0000300000000000ull
#define V_STATE 0x0000300000010000ull
#define STACK_WORDS 1024

static uint8_t guest_page[4096] __attribute__((aligned(4096)));
static uint64_t stacks[4][STACK_WORDS] __attribute__((aligned(16)));
static volatile uint64_t go, in_guest, resumed;
static volatile unsigned round_no;
static bool blocked; /* the vCPU blocks in its VMM after one guest exit (see above) */
static volatile uint64_t first_exit; /* with `blocked`: the resume's status and exit reason */
extern char _text_start[];

/* Guest code in a page of this program's text, which it holds with execute rights (a VT-x guest
 * cannot fetch from the data page above: its EPT entry has no X): HLT at 0, JMP $ at 1. */
__asm__(".pushsection .text.vmkill_guest, \"ax\"\n"
	".balign 4096\n"
	"guest_code:\n"
	"hlt\n"
	"jmp .\n"
	".balign 4096\n"
	".popsection");
extern const uint8_t guest_code[];

static uint64_t top(unsigned i)
{
	return (uintptr_t)&stacks[i][STACK_WORDS] - 8;
}

/* A real-mode guest at 0000:rip. */
static struct vireo_vm_state *guest_state(uint64_t rip)
{
	struct vireo_vm_state *st = (struct vireo_vm_state *)V_STATE;
	memset(st, 0, sizeof(*st));
	struct vireo_seg code = { .attr = VSEG_ATTR_P | VSEG_ATTR_S | 0xb, .limit = 0xffff };
	struct vireo_seg data = { .attr = VSEG_ATTR_P | VSEG_ATTR_S | 0x3, .limit = 0xffff };
	st->cs = code;
	st->ds = st->es = st->fs = st->gs = st->ss = data;
	st->ldtr = (struct vireo_seg){ .attr = VSEG_ATTR_P | 0x2, .limit = 0xffff };
	st->tr = (struct vireo_seg){ .attr = VSEG_ATTR_P | 0xb, .limit = 0xffff };
	st->gdtr.limit = 0xffff;
	st->idtr.limit = 0x3ff;
	st->cr0 = 0x10;
	st->dr6 = 0xffff0ff0;
	st->dr7 = 0x400;
	st->rflags = 0x2;
	st->xcr0 = 1; /* x87: the reset value; 0 is refused (VM_INVALID_XCR0) */
	st->rip = rip;
	return st;
}

static __attribute__((noreturn)) void vcpu_body(uint64_t arg)
{
	(void)arg;
	while (!go) {
	}
	struct vireo_vm_state *st = guest_state(0);
	if (blocked) {
		enum vireo_status rs = sys_vcpu_resume(V_VM); /* its first exit comes back here */
		first_exit = (uint64_t)rs << 32 | st->exit | st->qual << 8;
		resumed++;
		in_guest = 1;
		sys_sm_down(V_BLOCK, VIREO_TIMEOUT_NEVER);
	}
	for (;;) {
		in_guest = 1;
		sys_vcpu_resume(V_VM); /* the guest spins: it comes back only for host reasons */
		resumed++;
	}
}

static volatile uint64_t spinning;

static __attribute__((noreturn)) void spin_body(uint64_t arg)
{
	(void)arg;
	guest_state(1); /* JMP $ */
	for (;;) {
		spinning = 1;
		sys_vcpu_resume(V_VM); /* comes back only for host reasons */
	}
}

static __attribute__((noreturn)) void waiter_body(uint64_t arg)
{
	(void)arg;
	while (!go) {
	}
	sys_sm_down(V_BLOCK, VIREO_TIMEOUT_NEVER);
	sys_ec_exit();
}

static __attribute__((noreturn)) void main_body(uint64_t arg)
{
	(void)arg;
	while (!in_guest) {
	}
	sys_sm_up(V_READY);
	if (round_no & 1) {
		__asm__ volatile("ud2"); /* no exception portal: the kernel kills this EC */
	}
	sys_ec_exit();
}

static void share_image(uint64_t pd)
{
	uint64_t page = (uintptr_t)_text_start >> 12;
	for (unsigned n = 0; n < 4096; n++) {
		uint64_t crd = 0;
		sys_lookup(vireo_crd(CRD_MEM, page, 0, 0), &crd, NULL);
		if (!crd) {
			break;
		}
		sys_delegate(pd, crd, vireo_crd_base(crd), 0);
		page = vireo_crd_base(crd) + (1ull << vireo_crd_order(crd));
	}
}

static enum vireo_status thread_in(uint64_t pd, uint64_t sel, uintptr_t ip, unsigned stack,
				   unsigned cpu, unsigned flags)
{
	struct vireo_ec_create a = {
		.ip = ip,
		.sp = top(stack),
		.utcb = V_UTCB + 0x1000ull * stack,
		.evt_base = 3000,
		.cpu = cpu,
		.flags = flags,
		.vcpu_state = V_STATE,
	};
	enum vireo_status st = sys_create_ec(sel, pd, &a);
	return st != VIREO_OK ? st : sys_create_sc(sel + 1, SEL_SELF_PD, sel, 4, 10000);
}

static enum vireo_status thread(uint64_t sel, uintptr_t ip, unsigned stack, unsigned cpu,
				unsigned flags)
{
	return thread_in(S_VMM, sel, ip, stack, cpu, flags);
}

/* Move capability `sel` into `pd` (it becomes the only holder). */
static enum vireo_status give_to(uint64_t pd, uint64_t sel, uint64_t dst)
{
	return sys_delegate(pd, vireo_crd(CRD_OBJ, sel, 0, RIGHTS_ALL), dst, VIREO_DELEGATE_GRANT);
}

static enum vireo_status give(uint64_t sel, uint64_t dst)
{
	return give_to(S_VMM, sel, dst);
}

/*
 * With `blocked`: a VM of its own whose vCPU spins in its guest on CPU 1 for the whole run, so
 * that CPU 1 is (mostly) inside a guest when CPU 0 asks it to clear a dying vCPU's VMCS: the
 * request must bring it out. False if it cannot be built.
 */
static bool start_spinner(void)
{
	uint64_t code = vireo_crd(CRD_MEM, (uintptr_t)guest_code >> 12, 0, MEM_R | MEM_X);
	if (sys_create_pd(S_SPIN_PD, SEL_SELF_PD, 256 * 1024) != VIREO_OK ||
	    sys_create_vm(S_SPIN_VM, S_SPIN_PD, 64 * 1024) != VIREO_OK) {
		return false;
	}
	share_image(S_SPIN_PD);
	if (sys_delegate(S_SPIN_VM, code, 0, 0) != VIREO_OK ||
	    thread_in(S_SPIN_PD, S_SPIN, (uintptr_t)spin_body, 3, 1, VIREO_EC_VCPU) != VIREO_OK ||
	    give_to(S_SPIN_PD, S_SPIN_VM, V_VM) != VIREO_OK ||
	    give_to(S_SPIN_PD, S_SPIN, V_OBJS) != VIREO_OK ||
	    give_to(S_SPIN_PD, S_SPIN + 1, V_OBJS + 1) != VIREO_OK) {
		return false;
	}
	for (unsigned t = 0; t < 200 && !spinning; t++) {
		sys_sm_down(S_SLEEP, 10000);
	}
	return spinning;
}

static int one_round(unsigned r, unsigned cpus)
{
	round_no = r;
	go = in_guest = 0;
	first_exit = ~0ull;
	enum vireo_status st;
	if ((st = sys_create_pd(S_VMM, SEL_SELF_PD, 1 << 20)) != VIREO_OK ||
	    (st = sys_create_vm(S_VM, S_VMM, 128 * 1024)) == VIREO_BAD_FTR) {
		if (st != VIREO_BAD_FTR) {
			printf("vmkill: round %u: cannot create the VMM's PD (status %d)\n", r, st);
		}
		return st == VIREO_BAD_FTR ? 1 : -1;
	}
	share_image(S_VMM);
	uint64_t guest =
		blocked ? vireo_crd(CRD_MEM, (uintptr_t)guest_code >> 12, 0, MEM_R | MEM_X)
			: vireo_crd(CRD_MEM, (uintptr_t)guest_page >> 12, 0, MEM_R | MEM_W | MEM_X);
	unsigned vcpu_cpu = cpus > 1 ? 1 : 0;
	if (st != VIREO_OK || sys_delegate(S_VM, guest, 0, 0) != VIREO_OK ||
	    sys_create_sm(S_BLOCK, S_VMM, 0) != VIREO_OK ||
	    sys_create_sm(S_READY, SEL_SELF_PD, 0) != VIREO_OK ||
	    sys_delegate(S_VMM, vireo_crd(CRD_OBJ, S_READY, 0, RIGHTS_ALL), V_READY, 0) !=
		    VIREO_OK ||
	    thread(S_VCPU, (uintptr_t)vcpu_body, 0, vcpu_cpu, VIREO_EC_VCPU) != VIREO_OK ||
	    thread(S_WAITER, (uintptr_t)waiter_body, 1, 0, 0) != VIREO_OK ||
	    thread(S_MAIN, (uintptr_t)main_body, 2, 0, 0) != VIREO_OK) {
		printf("vmkill: round %u: cannot build the VMM\n", r);
		return -1;
	}
	/* From here on the VMM is the only holder of its VM, threads and semaphore. */
	if (give(S_VM, V_VM) != VIREO_OK || give(S_BLOCK, V_BLOCK) != VIREO_OK) {
		printf("vmkill: round %u: cannot hand the VMM its objects\n", r);
		return -1;
	}
	for (unsigned i = 0; i < 6; i++) {
		if (give(S_VCPU + i, V_OBJS + i) != VIREO_OK) {
			printf("vmkill: round %u: cannot hand the VMM thread capability %u\n", r,
			       i);
			return -1;
		}
	}
	go = 1;
	if (sys_sm_down(S_READY, 2000000) != VIREO_OK) {
		printf("vmkill: round %u: the VMM did not start its guest\n", r);
		return -1;
	}
	if (blocked && first_exit != VM_EXIT_HLT) {
		printf("vmkill: round %u: the guest did not halt (status %u, exit %u, qual %u)\n",
		       r, (unsigned)(first_exit >> 32), (unsigned)first_exit & 0xff,
		       (unsigned)(first_exit >> 8) & 0xffffff);
		return -1;
	}
	sys_sm_down(S_SLEEP, 10000 + 1000 * (r % 20)); /* the guest runs, the main thread dies */
	sys_revoke(vireo_crd(CRD_OBJ, S_VMM, 0, RIGHTS_ALL), VIREO_REVOKE_SELF);
	sys_revoke(vireo_crd(CRD_OBJ, S_READY, 0, RIGHTS_ALL), VIREO_REVOKE_SELF);
	return 0;
}

static bool same(const struct vireo_kstat *a, const struct vireo_kstat *b)
{
	return a->pds == b->pds && a->ecs == b->ecs && a->scs == b->scs && a->pts == b->pts &&
	       a->sms == b->sms && a->mdb_nodes == b->mdb_nodes;
}

static void show(const char *when, const struct vireo_kstat *k)
{
	printf("vmkill: %s: %u PDs, %u ECs, %u SCs, %u portals, %u SMs, %u MDB nodes, %lu free "
	       "pages\n",
	       when, k->pds, k->ecs, k->scs, k->pts, k->sms, k->mdb_nodes,
	       (unsigned long)k->free_pages);
}

int main(uintptr_t arg)
{
	const struct vireo_taskinfo *ti = (const struct vireo_taskinfo *)arg;
	unsigned rounds = 50;
	for (const char *p = ti->cmdline; *p; p++) {
		blocked |= !strncmp(p, "blocked", 7);
	}
	for (const char *p = ti->cmdline; *p; p++) {
		if (!strncmp(p, "rounds=", 7)) {
			rounds = 0;
			for (p += 7; *p >= '0' && *p <= '9'; p++) {
				rounds = rounds * 10 + (unsigned)(*p - '0');
			}
			break;
		}
	}
	guest_page[0] = 0xeb; /* jmp $ */
	guest_page[1] = 0xfe;
	sys_create_sm(S_SLEEP, SEL_SELF_PD, 0);
	if (blocked && ti->cpus_online > 1) {
		if (!start_spinner()) {
			printf("vmkill: the spinning VM on CPU 1 did not start\n");
			return 0;
		}
		printf("vmkill: a VM spins in its guest on CPU 1\n");
	}
	struct vireo_kstat before, after;
	sys_kstat(&before);
	show("before", &before);
	unsigned done = 0;
	for (unsigned r = 0; r < rounds; r++) {
		int res = one_round(r, ti->cpus_online);
		if (res > 0) {
			printf("vmkill: SKIP: no hardware virtualization\n");
			return 0;
		}
		if (res < 0) {
			break;
		}
		done++;
		/* A CPU still in the guest frees the vCPU, and with it the VM and the VMM's PD, when
		 * it leaves: wait for that (up to a second) before the next round. */
		struct vireo_kstat k;
		for (unsigned t = 0; t < 100 && sys_kstat(&k) == VIREO_OK && k.pds != before.pds;
		     t++) {
			sys_sm_down(S_SLEEP, 10000);
		}
	}
	sys_sm_down(S_SLEEP, 50000); /* CPUs still leaving guests free the rest */
	sys_kstat(&after);
	show("after", &after);
	printf("vmkill: %u of %u VMMs killed while their %s: %s\n", done, rounds,
	       blocked ? "vCPU was blocked" : "guest ran",
	       done == rounds && same(&before, &after) ? "all reclaimed" : "LEAK");
	printf("vmkill: the native task goes on\n");
	if (blocked) {
		sys_revoke(vireo_crd(CRD_OBJ, S_SPIN_PD, 0, RIGHTS_ALL), VIREO_REVOKE_SELF);
	}
	return 0;
}
