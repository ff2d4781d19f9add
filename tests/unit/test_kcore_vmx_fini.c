/* SPDX-License-Identifier: MIT */
/*
 * The end of a VT-x vCPU: its VMCS is cleared on the CPU where it is active before its frames
 * are refunded (Intel SDM vol. 3C 24.1, 24.11.1; docs/architecture.md#vmx), whichever CPU destroys
 * it. The fake CPUs (tests/fake/fake_vmcs.c) keep which region is active where and which VMCS is
 * current on each CPU, and record the CPU that executed every VMCLEAR.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "fake_cpu.h"
#include "fake_kernel.h"
#include "fake_vmcs.h"
#include "frame.h"
#include "klock.h"
#include "obj.h"
#include "quota.h"
#include "vcpu.h"
#include "vmx/vmcs.h"
#include "vmx/vmx.h"
#include "x86/percpu.h"

#define VA 0x10000000ull
#define NO_VMCS (~0ull)

/* Each VMCLEAR as the fake CPU saw it, with what the watched quota had charged at that moment. */
static struct {
	uint64_t pa;
	unsigned cpu;
	uint64_t charged;
	uint64_t free_pages; /* the frame allocator's */
} clears[16];
static unsigned n_clears;
static struct quota *watched;

static void on_vmclear(uint64_t pa, unsigned cpu)
{
	cr_assert_lt(n_clears, 16);
	clears[n_clears].pa = pa;
	clears[n_clears].cpu = cpu;
	clears[n_clears].charged = watched ? watched->used : 0;
	clears[n_clears].free_pages = frame_free_pages();
	n_clears++;
}

static void setup(void)
{
	fake_kernel_init(16 << 20, 2);
	fake_vmcs_reset();
	fake_vmclear_hook = on_vmclear;
	n_clears = 0;
	watched = NULL;
	vmx_ctls = (struct vmx_ctls){
		.pin = PIN_EXT_INTR | PIN_NMI,
		.proc = PROC_HLT | PROC_UNCOND_IO | PROC_SECONDARY,
		.entry = ENTRY_LOAD_EFER | ENTRY_LOAD_PAT,
		.ept_vpid = EPT_CAP_WALK4 | EPT_CAP_WB | EPT_CAP_INVEPT | EPT_CAP_INVEPT_SINGLE,
		.cr0_fixed0 = 0x80000021,
		.cr0_fixed1 = 0xffffffff,
		.cr4_fixed0 = 0x2000,
		.cr4_fixed1 = 0x3727ff,
		.msr_bitmaps = true,
		.revision = 0x12,
	};
}

static void teardown(void)
{
	fake_vmclear_hook = NULL;
	fake_kernel_fini();
}

TestSuite(kcore_vmx_fini, .init = setup, .fini = teardown);

/* A vCPU as vcpu_attach makes it (VMCS and MSR-area page charged to q), created on CPU 0. */
static void vcpu_make(struct vcpu *v, struct quota *q)
{
	*v = (struct vcpu){ .quota = q, .msrpm = PADDR_INVALID };
	fake_cpu_set(0);
	cr_assert_eq(vmx_ops.vcpu_init(v), VIREO_OK);
}

static uint64_t vmcs_of(const struct vcpu *v)
{
	return pa_addr(((const struct vmx_vcpu *)v->hw)->vmcs);
}

/* The vCPU runs one guest exit on `cpu`, its VMM passing an MSR through first (the MSR bitmap,
 * a third frame): its VMCS is launched and current there. */
static void run_on(struct vcpu *v, unsigned cpu)
{
	fake_cpu_set(cpu);
	struct vireo_vm_state st = { .cr0 = 0x10, .rflags = 2 };
	v->ctrl.msr_pass = VMSR_PASS_FS_BASE;
	vmx_ops.load(v, &st, VMTD_CR | VMTD_RIP | VMTD_CTRL);
	fake_vmcs_set(VMCS_EXIT_REASON, VMX_EXIT_CPUID);
	fake_vmcs_set(VMCS_EXIT_INSN_LEN, 2);
	vmx_ops.run(v, pa_init(0x200000));
}

/* Destruction runs under the kernel lock, on `cpu`. */
static void fini_on(struct vcpu *v, unsigned cpu)
{
	fake_cpu_set(cpu);
	klock_acquire();
	vmx_ops.vcpu_fini(v);
	klock_release();
}

/* A vCPU whose VMCS is active on CPU 1, destroyed from CPU 0 (its EC blocked, its PD revoked
 * by a thread there): CPU 1 executes the VMCLEAR while all three frames are still charged, then
 * they are refunded once, and no CPU holds the region or has it current any more. */
Test(kcore_vmx_fini, a_vmcs_active_on_another_cpu_is_cleared_there_before_its_frames_go)
{
	struct quota q = { .limit = 3 * PAGE_SIZE };
	uint64_t free_before = fake_counts().free_pages;
	struct vcpu v;
	vcpu_make(&v, &q);
	run_on(&v, 1);
	uint64_t vmcs = vmcs_of(&v);
	cr_assert_eq(q.used, 3 * PAGE_SIZE, "VMCS, MSR areas and MSR bitmap");
	cr_assert_eq(fake_vmcs_active_cpu(vmcs), 1);
	cr_assert_eq(fake_vmcs_current(1), vmcs);

	watched = &q;
	n_clears = 0;
	fini_on(&v, 0);
	cr_assert_eq(n_clears, 1, "one VMCLEAR at destruction, not %u", n_clears);
	cr_expect_eq(clears[0].pa, vmcs);
	cr_expect_eq(clears[0].cpu, 1, "VMCLEAR ran on CPU %u, not where the VMCS is active",
		     clears[0].cpu);
	cr_expect_eq(clears[0].charged, 3 * PAGE_SIZE, "a frame went before the VMCLEAR");
	cr_expect_eq(fake_cpu_log.calls[1], 1, "CPU 1 was not asked");
	cr_expect_eq(fake_vmx_log.vmclear_elsewhere, 0,
		     "a VMCLEAR missed the CPU holding the VMCS");
	cr_expect_eq(fake_vmcs_active_cpu(vmcs), -1, "CPU 1 still holds the freed region");
	cr_expect_eq(fake_vmcs_current(1), NO_VMCS, "CPU 1 still has the freed VMCS current");
	cr_expect_eq(q.used, 0, "%ld bytes not refunded", (long)q.used);
	cr_expect_eq(fake_counts().free_pages, free_before, "the frames did not all come back");
	cr_expect_null(v.hw);
}

/* Launched on CPU 1 but no longer current there (another vCPU ran after it): still cleared on
 * CPU 1, and the other vCPU stays current and goes on with VMRESUME, not reloaded. */
Test(kcore_vmx_fini, a_launched_vmcs_that_is_no_longer_current_is_cleared_on_its_cpu_too)
{
	struct quota q = { .limit = 6 * PAGE_SIZE };
	struct vcpu a, b;
	vcpu_make(&a, &q);
	vcpu_make(&b, &q);
	run_on(&a, 1);
	run_on(&b, 1);
	uint64_t vmcs_a = vmcs_of(&a), vmcs_b = vmcs_of(&b);
	cr_assert_eq(fake_vmcs_active_cpu(vmcs_a), 1);
	cr_assert_eq(fake_vmcs_current(1), vmcs_b);

	n_clears = 0;
	fini_on(&a, 0);
	cr_assert_eq(n_clears, 1);
	cr_expect_eq(clears[0].cpu, 1);
	cr_expect_eq(clears[0].pa, vmcs_a);
	cr_expect_eq(fake_vmcs_active_cpu(vmcs_a), -1);
	cr_expect_eq(fake_vmcs_current(1), vmcs_b, "clearing A took B's VMCS away");
	cr_expect_eq(q.used, 3 * PAGE_SIZE, "only A's three frames go");

	unsigned loads = fake_vmx_log.vmptrld, launches = fake_vmx_log.launches;
	run_on(&b, 1);
	cr_expect_eq(fake_vmx_log.vmptrld, loads, "B was loaded again");
	cr_expect_eq(fake_vmx_log.launches, launches, "B was launched afresh");
	fini_on(&b, 1);
	cr_expect_eq(q.used, 0);
}

/* Destroyed on the CPU where it runs: VMCLEAR there, no request to another CPU. */
Test(kcore_vmx_fini, a_vmcs_active_on_the_destroying_cpu_is_cleared_there_without_a_request)
{
	struct quota q = { .limit = 3 * PAGE_SIZE };
	struct vcpu v;
	vcpu_make(&v, &q);
	run_on(&v, 1);
	uint64_t vmcs = vmcs_of(&v);
	watched = &q;
	n_clears = 0;
	fini_on(&v, 1);
	cr_assert_eq(n_clears, 1);
	cr_expect_eq(clears[0].cpu, 1);
	cr_expect_eq(clears[0].charged, 3 * PAGE_SIZE);
	cr_expect_eq(fake_cpu_log.calls[0] + fake_cpu_log.calls[1], 0,
		     "a request for a local clear");
	cr_expect_eq(fake_vmcs_active_cpu(vmcs), -1);
	cr_expect_eq(fake_vmcs_current(1), NO_VMCS);
	cr_expect_eq(q.used, 0);
}

/*
 * Whichever CPU destroyed it, the CPU that cleared the VMCS forgets it as its current one: a
 * VMCS found later at the same address with that CPU (make_current's test) is loaded again,
 * not taken for the one the CPU had current.
 */
static void cleared_vmcs_is_forgotten(unsigned destroyer)
{
	struct quota q = { .limit = 3 * PAGE_SIZE };
	struct vcpu v;
	vcpu_make(&v, &q);
	run_on(&v, 1);
	paddr_t vmcs = ((struct vmx_vcpu *)v.hw)->vmcs;
	fini_on(&v, destroyer);

	static struct vmx_vcpu y __attribute__((aligned(4096)));
	memset(&y, 0, sizeof(y));
	y.vmcs = vmcs;
	y.cpu = 1;
	struct vcpu w = { .hw = &y, .msrpm = PADDR_INVALID };
	struct vireo_vm_state st = { 0 };
	fake_cpu_set(1);
	unsigned loads = fake_vmx_log.vmptrld;
	vmx_ops.load(&w, &st, 0);
	cr_expect_eq(fake_vmx_log.vmptrld, loads + 1,
		     "CPU 1 took the freed VMCS for its current one");
	cr_expect_eq(fake_vmcs_current(1), pa_addr(vmcs));
}

Test(kcore_vmx_fini, the_cpu_that_cleared_it_forgets_the_vmcs_when_another_cpu_destroyed_it)
{
	cleared_vmcs_is_forgotten(0);
}

Test(kcore_vmx_fini, the_cpu_that_cleared_it_forgets_the_vmcs_when_it_destroyed_it_itself)
{
	cleared_vmcs_is_forgotten(1);
}

/* Never run: its VMCS was left clear at set-up, so its end needs no VMCLEAR and no request. */
Test(kcore_vmx_fini, a_vcpu_that_never_ran_is_freed_without_a_vmclear)
{
	struct quota q = { .limit = 2 * PAGE_SIZE };
	struct vcpu v;
	vcpu_make(&v, &q);
	uint64_t vmcs = vmcs_of(&v);
	cr_assert_eq(fake_vmcs_active_cpu(vmcs), -1, "set up, then cleared");
	n_clears = 0;
	fini_on(&v, 1);
	cr_expect_eq(n_clears, 0);
	cr_expect_eq(fake_cpu_log.calls[0] + fake_cpu_log.calls[1], 0);
	cr_expect_eq(q.used, 0);
}

/* The whole path: a vCPU EC of a VMM on CPU 1, its VMCS active there, not running (blocked in
 * its VMM), destroyed when CPU 0 drops the last reference (ec_destroy, ec_free, vcpu_free): the
 * VMCLEAR runs on CPU 1 while the VMCS and MSR-area frames are still allocated, and the PD gets
 * the vCPU refunded. */
Test(kcore_vmx_fini, a_blocked_vcpu_ec_destroyed_from_another_cpu_has_its_vmcs_cleared_on_its_own)
{
	virt = &vmx_ops;
	struct pd *pd = fake_pd("vmm", 1 << 20);
	struct ec *ec = fake_ec(pd, "vcpu", false, 1, 0);
	klock_acquire();
	cr_assert_eq(vcpu_attach(ec, VA), VIREO_OK);
	klock_release();
	uint64_t used = pd->quota.used;
	uint64_t vmcs = vmcs_of(ec->vcpu);
	fake_cpu_set(1);
	vmx_ops.load(ec->vcpu, &ec->vcpu->st, 0); /* as a resume on its CPU would */
	cr_assert_eq(fake_vmcs_active_cpu(vmcs), 1);
	cr_assert(!ec->running);

	watched = &pd->quota;
	n_clears = 0;
	fake_cpu_set(0);
	klock_acquire();
	obj_put(&ec->obj);
	klock_release();
	cr_assert_eq(n_clears, 1);
	cr_expect_eq(clears[0].cpu, 1, "VMCLEAR on CPU %u", clears[0].cpu);
	cr_expect_geq(frame_free_pages(), clears[0].free_pages + 2,
		      "the VMCS and the MSR-area page were freed before the VMCLEAR");
	cr_expect_eq(fake_vmcs_active_cpu(vmcs), -1);
	cr_expect_eq(fake_vmcs_current(1), NO_VMCS);
	cr_expect_leq(pd->quota.used, used - 2 * PAGE_SIZE - sizeof(struct vcpu),
		      "the vCPU was not refunded");
}
