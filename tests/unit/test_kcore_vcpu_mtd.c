/* SPDX-License-Identifier: MIT */
/*
 * State groups and intercept control on the fake machine (docs/ABI.md "State groups"): the real
 * SYS_VCPU_RESUME path and SVM backend around a scripted guest. Only the groups a mask names
 * move between the state page and the VMCB; the rest stays in the VMCB, whatever the page says.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "fake_kernel.h"
#include "fake_virt.h"
#include "klock.h"
#include "pd.h"
#include "quota.h"
#include "svm/vmcb.h"

#define ONE_TICK (1000000 / TIMER_HZ)
#define SEL_VM 2
#define VA_STATE 0x7e0000000000ull

static struct pd *vmm_pd, *vm;
static struct ec *vcpu_ec;
static struct vmcb *seen; /* the VMCB as the guest step found it at its last entry */
static struct vmcb at_entry;
static uint64_t guest_cr3 = 0x5000;

/* The guest: one CPUID (2 bytes) that also changes CR3 (as a guest may, unintercepted). */
static void cpuid_step(struct vcpu *v, struct vmcb *vmcb, unsigned n)
{
	(void)v, (void)n;
	at_entry = *vmcb;
	seen = &at_entry;
	vmcb->save.rip += 2;
	vmcb->save.rax = 0x756e6547; /* "Genu" */
	vmcb->save.cr3 = guest_cr3;
	vmcb->ctl.exitcode = SVM_EXIT_CPUID;
	vmcb->ctl.exitintinfo = 0;
}

static struct vireo_vm_state *page(void)
{
	return vcpu_ec->vcpu->page;
}

static void setup(void)
{
	vcpu_ec = fake_vm_world(cpuid_step, SEL_VM, VA_STATE, &vmm_pd, &vm);
	fake_sc(vcpu_ec, 5, ONE_TICK);
	cr_assert_eq(page()->mtd_exit[VM_EXIT_CPUID], VMTD_STATE,
		     "a fresh state page must give a VMM that knows no groups the whole state");
	struct vireo_vm_state *st = page();
	fake_vm_reset_state(st);
	st->cr3 = 0x1000;
	st->mtd_in = 0; /* the first resume loads everything anyway */
	for (unsigned r = 0; r < VM_EXIT_COUNT; r++) {
		st->mtd_exit[r] = 0;
	}
	st->mtd_exit[VM_EXIT_CPUID] = VMTD_GPR | VMTD_RIP; /* a CPUID moves a few words */
	st->mtd_exit[VM_EXIT_INVALID] = VMTD_STATE;
	struct fake_exit x = fake_schedule();
	cr_assert_eq(fake_exit_ec(x), vcpu_ec);
	seen = NULL;
}

static void teardown(void)
{
	fake_kernel_fini();
}

TestSuite(kcore_mtd, .init = setup, .fini = teardown);

static void resume(void)
{
	struct fake_exit x = fake_syscall(vcpu_ec, SYS_VCPU_RESUME, SEL_VM, 0, 0, 0, 0);
	cr_assert(!klock_held());
	cr_assert_eq(fake_exit_ec(x), vcpu_ec);
	cr_assert_eq(vcpu_ec->regs.rax, VIREO_OK);
}

Test(kcore_mtd, first_resume_loads_everything_and_a_cpuid_exit_moves_only_gpr_and_rip)
{
	resume();
	cr_assert_not_null(seen);
	cr_expect_eq(seen->save.cr3, 0x1000, "the first resume did not load the whole state");
	cr_expect_eq(page()->exit, VM_EXIT_CPUID);
	cr_expect_eq(page()->mtd_out, VMTD_GPR | VMTD_RIP);
	cr_expect_eq(page()->rip, 0x7c02);
	cr_expect_eq(page()->gpr[0], 0x756e6547);
	cr_expect_eq(page()->cr3, 0x1000, "CR3 was copied out though the VMM did not ask");
}

static void cpuid_step_touching_rsp_rsi(struct vcpu *v, struct vmcb *vmcb, unsigned n)
{
	cpuid_step(v, vmcb, n);
	vmcb->save.rsp = 0x7777;
	v->st.gpr[6] = 0x6666; /* RSI: the entry code keeps it in the kernel's copy */
}

Test(kcore_mtd, an_exit_that_asks_for_rax_to_rbx_moves_no_other_gpr)
{
	fake_virt_init(cpuid_step_touching_rsp_rsi);
	page()->mtd_exit[VM_EXIT_CPUID] = VMTD_GPR_ACDB | VMTD_RIP;
	resume();
	cr_expect_eq(page()->mtd_out, VMTD_GPR_ACDB | VMTD_RIP);
	cr_expect_eq(page()->gpr[0], 0x756e6547);
	cr_expect_eq(page()->gpr[4], 0, "RSP was copied out");
	cr_expect_eq(page()->gpr[6], 0, "RSI was copied out");
	page()->mtd_req = VMTD_GPR_HI;
	page()->mtd_in = VMTD_FETCH;
	resume();
	cr_expect_eq(page()->gpr[4], 0x7777, "the fetch did not bring RSP from the VMCB");
	cr_expect_eq(page()->gpr[6], 0x6666);
}

Test(kcore_mtd, state_the_vmm_did_not_mark_survives_a_round_trip_in_the_vmcb)
{
	resume();
	/* The VMM scribbles over groups it did not mark: none of it may reach the guest. */
	page()->cr3 = 0xbad000;
	page()->cs.base = 0xbad0000;
	page()->gpr[3] = 0x1234;
	page()->mtd_in = VMTD_GPR;
	guest_cr3 = 0x6000;
	resume();
	cr_expect_eq(seen->save.cr3, 0x5000, "CR3 the guest set was lost: %#lx",
		     (unsigned long)seen->save.cr3);
	cr_expect_eq(seen->save.cs.base, 0, "an unmarked segment was loaded");
	cr_expect_eq(vcpu_ec->vcpu->st.gpr[3], 0x1234, "the marked GPRs were not loaded");
	cr_expect_eq(seen->save.rip, 0x7c02, "RIP from the VMCB, not the page");
	cr_expect_eq(page()->mtd_in, 0, "the kernel clears mtd_in once it took it");
}

Test(kcore_mtd, request_for_the_next_exit_adds_groups_once)
{
	resume();
	page()->mtd_req = VMTD_CR;
	resume();
	cr_expect_eq(page()->mtd_out, VMTD_GPR | VMTD_RIP | VMTD_CR);
	cr_expect_eq(page()->cr3, 0x5000);
	cr_expect_eq(page()->mtd_req, 0, "a request is for one exit");
	resume();
	cr_expect_eq(page()->mtd_out, VMTD_GPR | VMTD_RIP);
}

Test(kcore_mtd, fetch_gives_groups_in_mid_exit_without_entering_the_guest)
{
	resume();
	unsigned runs = fake_virt_log.runs;
	page()->gpr[1] = 77;
	page()->mtd_in = VMTD_GPR | VMTD_FETCH;
	page()->mtd_req = VMTD_CR | VMTD_CS_SS;
	resume();
	cr_expect_eq(fake_virt_log.runs, runs, "a fetch entered the guest");
	cr_expect_eq(page()->exit, VM_EXIT_CPUID, "a fetch rewrote the exit information");
	cr_expect_eq(page()->cr3, 0x5000);
	cr_expect_eq(page()->mtd_out, VMTD_GPR | VMTD_RIP | VMTD_CR | VMTD_CS_SS);
	cr_expect_eq(page()->mtd_in, VMTD_GPR, "the changed GPRs must stay marked for the resume");
	resume();
	cr_expect_eq(vcpu_ec->vcpu->st.gpr[1], 77);
}

Test(kcore_mtd, unknown_mask_bits_are_refused_before_anything_moves)
{
	resume();
	unsigned runs = fake_virt_log.runs;
	page()->rip = 0x9000;
	page()->mtd_in = VMTD_RIP | (1u << 20);
	resume();
	cr_expect_eq(page()->exit, VM_EXIT_INVALID);
	cr_expect_eq(page()->qual, VM_INVALID_MTD);
	cr_expect_eq(fake_virt_log.runs, runs);
	page()->mtd_req = VMTD_CTRL; /* load-only: no exit gives it */
	resume();
	cr_expect_eq(page()->qual, VM_INVALID_MTD);
	page()->mtd_req = 0;
	resume();
	cr_expect_eq(seen->save.rip, 0x7c02, "the refused RIP got in");
}

Test(kcore_mtd, refused_group_leaves_the_guest_state_as_it_was)
{
	resume();
	page()->cr0 = 0x80000000; /* paging without protection */
	page()->mtd_in = VMTD_CR;
	resume();
	cr_expect_eq(page()->exit, VM_EXIT_INVALID);
	cr_expect_eq(page()->qual, VM_INVALID_CR0);
	cr_expect_eq(page()->mtd_out, 0, "a refusal gives no groups: the page is the VMM's");
	resume(); /* nothing marked: the guest goes on with what it had */
	cr_expect_eq(seen->save.cr0, 0x10);
	cr_expect_eq(page()->exit, VM_EXIT_CPUID);
}

Test(kcore_mtd, refused_events_keep_the_events_in_force)
{
	resume();
	page()->inject = VEVENT_VALID | VEVENT_TYPE_NMI | 3; /* NMI must be vector 2 */
	page()->mtd_in = VMTD_EVENTS;
	resume();
	cr_expect_eq(page()->qual, VM_INVALID_EVENT);
	cr_expect_eq(vcpu_ec->vcpu->st.inject, 0, "the refused event stayed queued");
}

Test(kcore_mtd, a_segment_change_is_checked_against_the_guests_current_cr0)
{
	resume();
	/* The page's CR0 is stale (CR not fetched): the kernel must check against the VMCB's. */
	struct vmcb *vmcb = fake_vmcb(vcpu_ec->vcpu);
	vmcb->save.cr0 = 0x11; /* the guest went to protected mode */
	page()->cr0 = 0x10;
	page()->cs.attr = 0x1b; /* not present */
	page()->mtd_in = VMTD_CS_SS;
	resume();
	cr_expect_eq(page()->exit, VM_EXIT_INVALID);
	cr_expect_eq(page()->qual, VM_INVALID_SEGMENT);
}

/* ------------------------------------------------------------------ intercept control */

static bool msr_intercepted(const uint8_t *map, uint32_t msr)
{
	uint32_t base = msr >= 0xc0000000 ? 0xc0000000 : 0;
	size_t bit = (base ? 0x800 * 8 : 0) + (msr - base) * 2;
	return (map[bit / 8] >> (bit % 8)) & 3;
}

Test(kcore_mtd, msr_pass_through_gets_its_own_map_charged_to_the_pd)
{
	resume();
	struct vcpu *v = vcpu_ec->vcpu;
	uint64_t shared = fake_vmcb(v)->ctl.msrpm_pa;
	uint64_t used = pd_quota(vmm_pd)->used;
	page()->ctrl.msr_pass = VMSR_PASS_FS_BASE | VMSR_PASS_SYSENTER_EIP;
	page()->mtd_in = VMTD_CTRL;
	resume();
	cr_assert(pa_valid(v->msrpm));
	cr_expect_neq(seen->ctl.msrpm_pa, shared, "pass-through changed the map all vCPUs share");
	cr_expect_eq(pd_quota(vmm_pd)->used, used + 8192, "the map was not charged to the PD");
	const uint8_t *map = phys_to_virt(v->msrpm);
	cr_expect(!msr_intercepted(map, 0xc0000100), "FS_BASE still exits");
	cr_expect(!msr_intercepted(map, 0x176), "SYSENTER_EIP still exits");
	cr_expect(msr_intercepted(map, 0xc0000101), "GS_BASE passed without being asked");
	cr_expect(msr_intercepted(map, 0xc0000080), "EFER passed");
	cr_expect(msr_intercepted(map, 0x10), "the TSC passed");
	page()->ctrl.msr_pass = 0;
	page()->mtd_in = VMTD_CTRL;
	resume();
	cr_expect(msr_intercepted(map, 0xc0000100), "FS_BASE still passes after it was taken back");
}

Test(kcore_mtd, bad_intercept_control_is_refused_whole)
{
	resume();
	page()->ctrl.msr_pass = VMSR_PASS_FS_BASE | 0x8000;
	page()->ctrl.exc_bitmap = 1u << 14;
	page()->mtd_in = VMTD_CTRL;
	resume();
	cr_expect_eq(page()->exit, VM_EXIT_INVALID);
	cr_expect_eq(page()->qual, VM_INVALID_CTRL);
	cr_expect(!pa_valid(vcpu_ec->vcpu->msrpm), "part of a refused control area took effect");
	cr_expect_eq(fake_vmcb(vcpu_ec->vcpu)->ctl.intercept_exc & (1u << 14), 0);
}

Test(kcore_mtd, exception_bitmap_and_options_reach_the_vmcb_and_db_ac_stay)
{
	resume();
	page()->ctrl.exc_bitmap = 1u << 14;
	page()->ctrl.intercept = VINT_RDTSC | VINT_INVLPG | VINT_PAUSE | VINT_HLT_PASS;
	page()->ctrl.cr4_mask = 1u << 3;
	page()->mtd_in = VMTD_CTRL;
	resume();
	cr_expect_eq(seen->ctl.intercept_exc, (1u << 14) | (1u << 1) | (1u << 17));
	cr_expect(seen->ctl.intercept_misc1 & MISC1_RDTSC);
	cr_expect(seen->ctl.intercept_misc2 & MISC2_RDTSCP, "RDTSCP reads the TSC too");
	cr_expect(seen->ctl.intercept_misc1 & MISC1_INVLPG);
	cr_expect(seen->ctl.intercept_misc1 & MISC1_PAUSE);
	cr_expect_eq(seen->ctl.intercept_misc1 & MISC1_HLT, 0, "HLT still exits");
	cr_expect(seen->ctl.intercept_misc1 & MISC1_CPUID, "a mandatory intercept went away");
	cr_expect_eq(seen->ctl.intercept_cr, (1u << 4) | (1u << 20),
		     "a CR4 mask intercepts CR4 reads and writes on SVM");
}

static void refused_by_the_cpu(struct vcpu *v, struct vmcb *vmcb, unsigned n)
{
	(void)v;
	at_entry = *vmcb;
	seen = &at_entry;
	memset(&vmcb->save, 0, sizeof(vmcb->save)); /* whatever the CPU left there */
	vmcb->ctl.exitcode = n == 1 ? UINT64_MAX : SVM_EXIT_CPUID;
	vmcb->ctl.exitintinfo = 0;
}

Test(kcore_mtd, after_the_cpu_refused_an_entry_the_next_resume_loads_everything)
{
	fake_virt_init(refused_by_the_cpu);
	resume();
	cr_expect_eq(page()->exit, VM_EXIT_INVALID);
	cr_expect_eq(page()->qual, VM_INVALID_HARDWARE);
	page()->mtd_in = 0; /* the VMM changed nothing */
	resume();
	cr_expect_eq(seen->save.cr3, 0x1000, "the garbage of the refused entry was entered");
	cr_expect_eq(seen->save.rip, 0x7c00);
}
