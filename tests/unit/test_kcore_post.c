/* SPDX-License-Identifier: MIT */
/*
 * SYS_VCPU_POST on the fake machine (docs/ABI.md "Posted interrupts"): a post from another CPU
 * while the vCPU runs its guest kicks that CPU, the next entry injects it once the guest's window
 * is open, and no post is ever lost, whenever it comes: in the guest, in the kernel's run loop,
 * while the VMM has its own event in the slot, or between two resumes.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "fake_cpu.h"
#include "fake_kernel.h"
#include "fake_virt.h"
#include "klock.h"
#include "svm/vmcb.h"
#include "vcpu.h"

#define SEL_PD 1
#define SEL_VM 2
#define SEL_VCPU 3
#define SEL_OTHER 4
#define VA_STATE 0x7e0000000000ull

static struct pd *vmm_pd, *vm;
static struct ec *vcpu_ec, *poster;
static void (*step)(struct vcpu *v, struct vmcb *vmcb, unsigned n);
/* Which vectors the guest received, and how often. */
static unsigned got[256], got_total;

static void guest(struct vcpu *v, struct vmcb *vmcb, unsigned n)
{
	uint64_t inj = fake_virt_log.injected;
	if (inj & VEVENT_VALID) {
		cr_assert_eq(VEVENT_TYPE(inj), VEVENT_TYPE_INTR, "a post went in as %#lx",
			     (unsigned long)inj);
		cr_assert(vmcb->save.rflags & (1u << 9), "injected with the guest's IF clear");
		got[VEVENT_VECTOR(inj)]++;
		got_total++;
	}
	step(v, vmcb, n);
}

static void setup(void)
{
	vcpu_ec = fake_vm_world(guest, SEL_VM, VA_STATE, &vmm_pd, &vm);
	fake_cap(vmm_pd, SEL_PD, &vmm_pd->obj, RIGHTS_ALL);
	fake_cap(vmm_pd, SEL_VCPU, &vcpu_ec->obj, RIGHTS_ALL);
	fake_sc(vcpu_ec, 5, 10000);
	poster = fake_ec(vmm_pd, "poster", false, 1, 0);
	fake_cap(vmm_pd, SEL_OTHER, &poster->obj, RIGHTS_ALL);
	fake_sc(poster, 5, 10000);
	struct vireo_vm_state *st = vcpu_ec->vcpu->page;
	fake_vm_reset_state(st);
	st->rflags = 0x202; /* IF on: the guest takes interrupts */
	cr_assert_eq(fake_exit_ec(fake_schedule()), vcpu_ec);
	fake_cpu_set(1);
	cr_assert_eq(fake_exit_ec(fake_schedule()), poster);
	fake_cpu_set(0);
	memset(got, 0, sizeof(got));
	got_total = 0;
}

static void teardown(void)
{
	fake_kernel_fini();
}

TestSuite(kcore_post, .init = setup, .fini = teardown);

static struct vireo_vm_state *page(void)
{
	return vcpu_ec->vcpu->page;
}

static struct ec *resume(void)
{
	fake_cpu_set(0);
	struct fake_exit x = fake_syscall(vcpu_ec, SYS_VCPU_RESUME, SEL_VM, 0, 0, 0, 0);
	cr_assert(!klock_held(), "kernel lock held in user mode");
	cr_assert(x.kind == FAKE_EXIT_SYSRET || x.kind == FAKE_EXIT_IRET, "way %d", x.kind);
	return fake_exit_ec(x);
}

/* The poster's system call on CPU 1, made while CPU 0 is wherever the test has it. */
static uint64_t post_from_cpu1(uint64_t vector)
{
	unsigned was = this_cpu()->id;
	bool locked = klock_held();
	if (locked) {
		klock_release(); /* CPU 0 holds it in the run loop: CPU 1 would wait for it */
	}
	fake_cpu_set(1);
	struct fake_exit x = fake_syscall(poster, SYS_VCPU_POST, SEL_VCPU, vector, 0, 0, 0);
	cr_assert_eq(fake_exit_ec(x), poster);
	fake_cpu_set(was);
	if (locked) {
		klock_acquire();
	}
	return poster->regs.rax;
}

static void exit_hlt(struct vmcb *vmcb)
{
	vmcb->save.rip += 1;
	vmcb->ctl.exitcode = SVM_EXIT_HLT;
}

/* Run 1: a post arrives while the guest runs, and the kick's IPI ends the run. Run 2: it is in. */
static void post_in_guest(struct vcpu *v, struct vmcb *vmcb, unsigned n)
{
	(void)v;
	if (n == 1) {
		cr_assert_eq(post_from_cpu1(0x41), VIREO_OK);
		vmcb->ctl.exitcode = SVM_EXIT_INTR;
		return;
	}
	exit_hlt(vmcb);
}

Test(kcore_post, a_post_into_a_running_guest_kicks_its_cpu_and_goes_in_at_the_next_entry)
{
	step = post_in_guest;
	unsigned kicks = fake_cpu_log.kicks[0];
	cr_assert_eq(resume(), vcpu_ec);
	cr_expect_eq(fake_cpu_log.kicks[0], kicks + 1, "the vCPU's CPU was not kicked");
	cr_expect_eq(fake_virt_log.runs, 2, "the kick went to the VMM instead of the run loop");
	cr_expect_eq(got[0x41], 1);
	cr_expect_eq(got_total, 1);
	cr_expect_eq(page()->exit, VM_EXIT_HLT);
	cr_expect_eq(page()->inject, 0, "the VMM sees a post in its inject slot");
}

/* Every run, posts of three new distinct vectors come in; the guest exits at once each time. */
static unsigned next_vec;
static void posts_every_run(struct vcpu *v, struct vmcb *vmcb, unsigned n)
{
	(void)v;
	for (int i = 0; i < 3 && next_vec < 256; i++) {
		cr_assert_eq(post_from_cpu1(next_vec++), VIREO_OK);
	}
	if (got_total == 256 - 32 || n > 1000) {
		exit_hlt(vmcb);
		return;
	}
	/* Every 7th run ends with an exit for the VMM: a post may wait through a VMM round. */
	vmcb->ctl.exitcode = n % 7 ? SVM_EXIT_INTR : SVM_EXIT_CPUID;
}

Test(kcore_post, posts_of_224_distinct_vectors_under_contention_each_arrive_exactly_once)
{
	step = posts_every_run;
	next_vec = 32;
	for (int round = 0; round < 100 && got_total < 256 - 32; round++) {
		cr_assert_eq(resume(), vcpu_ec);
		cr_assert_eq(page()->inject, 0, "a post in the VMM's slot");
		page()->rip += 2; /* the VMM handled the CPUID */
	}
	for (unsigned vec = 32; vec < 256; vec++) {
		cr_expect_eq(got[vec], 1, "vector %u arrived %u times", vec, got[vec]);
	}
	cr_expect_eq(got_total, 256 - 32);
}

/* Posts of one vector before it went in are one interrupt (the request is a bit per vector). */
static void same_vector_thrice(struct vcpu *v, struct vmcb *vmcb, unsigned n)
{
	(void)v;
	if (n == 1) {
		for (int i = 0; i < 3; i++) {
			cr_assert_eq(post_from_cpu1(0x30), VIREO_OK);
		}
		vmcb->ctl.exitcode = SVM_EXIT_INTR;
		return;
	}
	if (n == 2) {
		cr_assert_eq(post_from_cpu1(0x30), VIREO_OK); /* after it went in: a new one */
		vmcb->ctl.exitcode = SVM_EXIT_INTR;
		return;
	}
	exit_hlt(vmcb);
}

Test(kcore_post, posts_of_one_vector_before_it_went_in_coalesce_later_ones_do_not)
{
	step = same_vector_thrice;
	cr_assert_eq(resume(), vcpu_ec);
	cr_expect_eq(got[0x30], 2);
}

/* The guest keeps IF clear for two runs: the post waits (an interrupt window) and is not lost. */
static void if_clear_then_set(struct vcpu *v, struct vmcb *vmcb, unsigned n)
{
	(void)v;
	if (n == 1) {
		vmcb->save.rflags &= ~(1ull << 9);
		cr_assert_eq(post_from_cpu1(0x50), VIREO_OK);
		vmcb->ctl.exitcode = SVM_EXIT_INTR;
		return;
	}
	if (n == 2) {
		cr_expect(vmcb->ctl.int_ctl & INT_CTL_V_IRQ, "no interrupt window was asked for");
		vmcb->save.rflags |= 1ull << 9; /* STI */
		vmcb->ctl.exitcode = SVM_EXIT_VINTR;
		return;
	}
	exit_hlt(vmcb);
}

Test(kcore_post, a_post_waits_for_the_guests_interrupt_window)
{
	step = if_clear_then_set;
	cr_assert_eq(resume(), vcpu_ec);
	cr_expect_eq(fake_virt_log.runs, 3);
	cr_expect_eq(got[0x50], 1);
	cr_expect_eq(page()->exit, VM_EXIT_HLT, "the kernel's window exit reached the VMM");
}

static void hlt_now(struct vcpu *v, struct vmcb *vmcb, unsigned n)
{
	(void)v, (void)n;
	exit_hlt(vmcb);
}

Test(kcore_post, a_post_while_the_vmm_runs_goes_in_at_the_next_resume_after_the_vmms_event)
{
	step = hlt_now;
	cr_assert_eq(resume(), vcpu_ec);
	cr_assert_eq(got_total, 0);
	/* The vCPU's thread is in the VMM (user mode on CPU 0): the post kicks, and is kept. */
	cr_assert_eq(post_from_cpu1(0x60), VIREO_OK);
	page()->inject = VEVENT_VALID | VEVENT_TYPE_INTR | 0x20; /* the VMM's own IRQ */
	page()->mtd_in |= VMTD_EVENTS;
	cr_assert_eq(resume(), vcpu_ec);
	cr_expect_eq(got[0x20], 1, "the VMM's event did not go in first");
	cr_expect_eq(got[0x60], 0);
	cr_expect_eq(page()->inject, 0);
	cr_assert_eq(resume(), vcpu_ec);
	cr_expect_eq(got[0x60], 1, "the post was lost behind the VMM's event");
}

Test(kcore_post, bad_arguments_are_refused)
{
	fake_cpu_set(1);
	cr_expect_eq(fake_exit_ec(fake_syscall(poster, SYS_VCPU_POST, SEL_VCPU, 256, 0, 0, 0)),
		     poster);
	cr_expect_eq(poster->regs.rax, VIREO_BAD_PAR);
	fake_syscall(poster, SYS_VCPU_POST, SEL_OTHER, 0x40, 0, 0, 0);
	cr_expect_eq(poster->regs.rax, VIREO_BAD_CAP, "posted to an EC that is no vCPU");
	fake_syscall(poster, SYS_VCPU_POST, 99, 0x40, 0, 0, 0);
	cr_expect_eq(poster->regs.rax, VIREO_BAD_CAP);
	for (unsigned w = 0; w < 4; w++) {
		cr_expect_eq(vcpu_ec->vcpu->posted[w], 0, "a refused post left a request");
	}
}

/* The TSC offset (docs/ABI.md "TSC offset") is the VMCB's at every entry; the kernel keeps it. */
static void check_tsc_offset(struct vcpu *v, struct vmcb *vmcb, unsigned n)
{
	(void)v, (void)n;
	cr_expect_eq(vmcb->ctl.tsc_offset, (uint64_t)-123456789, "TSC_OFFSET %#lx at entry",
		     (unsigned long)vmcb->ctl.tsc_offset);
	exit_hlt(vmcb);
}

Test(kcore_post, the_vmms_tsc_offset_is_the_vmcbs_tsc_offset_at_entry)
{
	step = check_tsc_offset;
	page()->tsc_offset = (uint64_t)-123456789;
	cr_assert_eq(resume(), vcpu_ec);
	cr_expect_eq(fake_virt_log.runs, 1);
	cr_expect_eq(page()->tsc_offset, (uint64_t)-123456789, "the kernel changed the offset");
	page()->tsc_offset = 42;
	page()->mtd_in |= VMTD_TSC;
	step = hlt_now;
	cr_assert_eq(resume(), vcpu_ec);
	cr_expect_eq(fake_vmcb(vcpu_ec->vcpu)->ctl.tsc_offset, 42, "the offset did not follow");
}

/* Three posts at once: each goes in at the guest's next window (a VINTR exit the kernel handles),
 * not only at the guest's next exit of its own. */
static void burst_by_windows(struct vcpu *v, struct vmcb *vmcb, unsigned n)
{
	(void)v;
	if (n == 1) {
		for (unsigned vec = 0x45; vec <= 0x47; vec++) {
			cr_assert_eq(post_from_cpu1(vec), VIREO_OK);
		}
		vmcb->ctl.exitcode = SVM_EXIT_INTR;
		return;
	}
	bool window =
		(vmcb->ctl.int_ctl & INT_CTL_V_IRQ) && (vmcb->ctl.intercept_misc1 & MISC1_VINTR);
	if (n < 4) {
		cr_expect(window, "run %u: no window asked for while posts wait", n);
		vmcb->ctl.exitcode = SVM_EXIT_VINTR; /* the handler's IRET opened it */
		return;
	}
	cr_expect(!window, "run %u: a window asked for with nothing posted", n);
	exit_hlt(vmcb);
}

Test(kcore_post, a_burst_of_posts_goes_in_at_the_guests_next_windows)
{
	step = burst_by_windows;
	cr_assert_eq(resume(), vcpu_ec);
	cr_expect_eq(fake_virt_log.runs, 4);
	cr_expect_eq(got[0x45] + got[0x46] + got[0x47], 3);
	cr_expect_eq(page()->exit, VM_EXIT_HLT, "a window exit reached the VMM");
}

/* The summary of the posted words never hides a request: a word with a bit set has its bit. */
static void expect_summary_covers_words(const struct vcpu *v, const char *when)
{
	for (unsigned w = 0; w < VIREO_VCPU_POST_VECTORS / 64; w++) {
		cr_assert(!v->posted[w] || (v->posted_words & (1u << w)),
			  "%s: word %u holds %#lx, its summary bit is clear (%#x)", when, w,
			  (unsigned long)v->posted[w], v->posted_words);
	}
}

/* Random posts (0-4 per run, any vector, repeats coalescing) and random exits. */
static unsigned rnd_state, rnd_posted[256];
static unsigned rnd(unsigned n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 16) % n;
}
static void random_posts(struct vcpu *v, struct vmcb *vmcb, unsigned n)
{
	expect_summary_covers_words(v, "at an entry");
	unsigned posts = n < 400 ? rnd(5) : 0;
	for (unsigned i = 0; i < posts; i++) {
		unsigned vec = 32 + rnd(256 - 32);
		cr_assert_eq(post_from_cpu1(vec), VIREO_OK);
		rnd_posted[vec] = 1;
		expect_summary_covers_words(v, "after a post");
	}
	bool pending = false;
	for (unsigned w = 0; w < 4; w++) {
		pending |= v->posted[w] != 0;
	}
	if (n >= 400 && !pending && !(fake_virt_log.injected & VEVENT_VALID)) {
		exit_hlt(vmcb);
		return;
	}
	vmcb->ctl.exitcode = rnd(3) ? SVM_EXIT_INTR : SVM_EXIT_CPUID;
}

Test(kcore_post, random_posts_keep_the_summary_true_and_it_clears_once_all_went_in)
{
	step = random_posts;
	rnd_state = 2024;
	memset(rnd_posted, 0, sizeof(rnd_posted));
	for (int round = 0; round < 2000 && page()->exit != VM_EXIT_HLT; round++) {
		cr_assert_eq(resume(), vcpu_ec);
		expect_summary_covers_words(vcpu_ec->vcpu, "in the VMM");
		if (page()->exit == VM_EXIT_CPUID) {
			page()->rip += 2;
		}
	}
	cr_assert_eq(page()->exit, VM_EXIT_HLT, "the guest never ran out of posts");
	for (unsigned vec = 32; vec < 256; vec++) {
		cr_expect_geq(got[vec], rnd_posted[vec], "vector %u was posted, never arrived",
			      vec);
		cr_expect(got[vec] == 0 || rnd_posted[vec], "vector %u arrived unposted", vec);
	}
	cr_expect_eq(vcpu_ec->vcpu->posted_words, 0,
		     "nothing is posted, yet the summary makes every entry look (%#x)",
		     vcpu_ec->vcpu->posted_words);
	/* So the next resume takes the fast path, not the one for posts. */
	uint64_t taken = vcpu_fast_stats()[VCPU_FAST_TAKEN];
	uint64_t posted = vcpu_fast_stats()[VCPU_FAST_POSTED];
	page()->rip += 1;
	cr_assert_eq(resume(), vcpu_ec);
	cr_expect_eq(vcpu_fast_stats()[VCPU_FAST_POSTED], posted);
	cr_expect_eq(vcpu_fast_stats()[VCPU_FAST_TAKEN], taken + 1);
}
