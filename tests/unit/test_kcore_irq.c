/* SPDX-License-Identifier: MIT */
/* Device interrupts on the fake IOAPIC: routed to semaphores, acknowledged, level lines masked. */
#include <criterion/criterion.h>

#include "fake_apic.h"
#include "fake_kernel.h"
#include "obj.h"
#include "sm.h"
#include "x86/idt.h"

#define SEL_PD 1
#define SEL_SM 40
#define GSI 4

static struct pd *root;
static struct ec *drv;

static void setup(void)
{
	fake_kernel_init(16 << 20, 2);
	root = fake_pd("root", 1 << 20); /* no quota parent: it owns the interrupts */
	fake_cap(root, SEL_PD, &root->obj, RIGHTS_ALL);
	drv = fake_ec(root, "driver", false, 0, 0);
	fake_sc(drv, 5, 10000);
}

static void teardown(void)
{
	fake_kernel_fini();
}

TestSuite(kcore_irq, .init = setup, .fini = teardown);

static uint64_t sys(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct fake_exit x = fake_syscall(drv, nr, a0, a1, a2, 0, 0);
	cr_assert_eq(fake_exit_ec(x), drv, "did not return to the driver");
	return drv->regs.rax;
}

static struct sm *make_sm(void)
{
	cr_assert_eq(sys(SYS_CREATE_SM, SEL_SM, SEL_PD, 0), VIREO_OK);
	return (struct sm *)pd_lookup_obj(root, SEL_SM, OBJ_SM, 0);
}

Test(kcore_irq, assigned_gsi_is_routed_unmasked_to_the_cpu_asked_for)
{
	make_sm();
	cr_assert_eq(sys(SYS_ASSIGN_GSI, SEL_SM, GSI, 1), VIREO_OK);
	const struct fake_gsi *g = &fake_apic.gsi[GSI];
	cr_expect_eq(g->vector, VEC_IRQ_BASE + GSI);
	cr_expect_eq(g->apic_id, percpu_area[1].apic_id);
	cr_expect(!g->masked);
}

Test(kcore_irq, bad_gsi_or_cpu_is_refused)
{
	make_sm();
	cr_expect_eq(sys(SYS_ASSIGN_GSI, SEL_SM, FAKE_GSIS, 0), VIREO_BAD_DEV);
	cr_expect_eq(sys(SYS_ASSIGN_GSI, SEL_SM, GSI, 7), VIREO_BAD_CPU);
	cr_expect_eq(sys(SYS_ASSIGN_GSI, SEL_SM + 1, GSI, 0), VIREO_BAD_CAP);
	cr_expect_eq(fake_apic.gsi[GSI].routes, 0);
}

Test(kcore_irq, only_the_root_pd_may_assign_interrupts)
{
	struct pd *child;
	cr_assert_eq(pd_create(root, 64 << 10, PD_PRIO_INHERIT, "child", &child), VIREO_OK);
	obj_get(&child->obj);
	struct ec *c = fake_ec(child, "c", false, 0, 0);
	struct sm *sm = make_sm();
	fake_cap(child, 3, &sm->obj, RIGHTS_ALL);
	struct fake_exit x = fake_syscall(c, SYS_ASSIGN_GSI, 3, GSI, 0, 0, 0);
	cr_assert_eq(fake_exit_ec(x), c);
	cr_expect_eq(c->regs.rax, VIREO_BAD_CAP);
}

Test(kcore_irq, interrupt_counts_up_the_semaphore_and_is_acknowledged)
{
	struct sm *sm = make_sm();
	cr_assert_eq(sys(SYS_ASSIGN_GSI, SEL_SM, GSI, 0), VIREO_OK);
	unsigned eois = fake_apic.eois;
	struct fake_exit x = fake_interrupt(drv, VEC_IRQ_BASE + GSI);
	cr_expect_eq(fake_exit_ec(x), drv);
	cr_expect_eq(sm->count, 1);
	cr_expect_eq(fake_apic.eois, eois + 1, "no EOI for the interrupt");
	cr_expect_eq(sys(SYS_SM_CTRL, SEL_SM, VIREO_SM_DOWN, 0), VIREO_OK);
}

Test(kcore_irq, interrupt_wakes_the_driver_blocked_on_its_semaphore)
{
	make_sm();
	cr_assert_eq(sys(SYS_ASSIGN_GSI, SEL_SM, GSI, 0), VIREO_OK);
	struct ec *other = fake_ec(root, "other", false, 0, 0);
	fake_sc(other, 1, 10000);
	/* The driver waits; the low-priority EC runs until the device interrupts it. */
	struct fake_exit x =
		fake_syscall(drv, SYS_SM_CTRL, SEL_SM, VIREO_SM_DOWN, VIREO_TIMEOUT_NEVER, 0, 0);
	cr_assert_eq(fake_exit_ec(x), other);
	x = fake_interrupt(other, VEC_IRQ_BASE + GSI);
	cr_expect_eq(fake_exit_ec(x), drv, "the higher-priority driver did not run at once");
	cr_expect_eq(drv->regs.rax, VIREO_OK);
}

Test(kcore_irq, level_triggered_line_stays_masked_until_the_driver_waits_again)
{
	fake_apic.gsi[GSI].wired_level = true;
	make_sm();
	cr_assert_eq(sys(SYS_ASSIGN_GSI, SEL_SM, GSI, 0), VIREO_OK);
	fake_interrupt(drv, VEC_IRQ_BASE + GSI);
	cr_expect(fake_apic.gsi[GSI].masked, "a level line still asserted would storm");
	cr_expect_eq(sys(SYS_SM_CTRL, SEL_SM, VIREO_SM_DOWN, 0), VIREO_OK);
	cr_expect(!fake_apic.gsi[GSI].masked, "the driver's down did not unmask its line");
}

Test(kcore_irq, destroying_the_semaphore_masks_its_line)
{
	make_sm();
	cr_assert_eq(sys(SYS_ASSIGN_GSI, SEL_SM, GSI, 0), VIREO_OK);
	cr_assert_eq(
		sys(SYS_REVOKE, vireo_crd(CRD_OBJ, SEL_SM, 0, RIGHTS_ALL), VIREO_REVOKE_SELF, 0),
		VIREO_OK);
	cr_expect(fake_apic.gsi[GSI].masked);
	/* A late interrupt on the line finds no semaphore and is masked, not delivered. */
	fake_interrupt(drv, VEC_IRQ_BASE + GSI);
	cr_expect(fake_apic.gsi[GSI].masked);
}

/* ------------------------------------------------------------------ issue 8, defect 8 */

#define GSI2 3

Test(kcore_irq, a_semaphore_on_two_gsis_leaves_neither_line_pointing_at_it_when_destroyed)
{
	make_sm();
	cr_assert_eq(sys(SYS_ASSIGN_GSI, SEL_SM, GSI, 0), VIREO_OK);
	cr_assert_eq(sys(SYS_ASSIGN_GSI, SEL_SM, GSI2, 0), VIREO_OK);
	cr_assert_eq(
		sys(SYS_REVOKE, vireo_crd(CRD_OBJ, SEL_SM, 0, RIGHTS_ALL), VIREO_REVOKE_SELF, 0),
		VIREO_OK);
	cr_expect(fake_apic.gsi[GSI].masked && fake_apic.gsi[GSI2].masked,
		  "a line of the destroyed semaphore stayed unmasked");
	/* A new semaphore on the same selector: neither old line may count it up (ASan would also
	 * see the old pointer's use after free). */
	struct sm *fresh = make_sm();
	fake_interrupt(drv, VEC_IRQ_BASE + GSI);
	fake_interrupt(drv, VEC_IRQ_BASE + GSI2);
	cr_expect_eq(fresh->count, 0,
		     "an interrupt of a destroyed semaphore's line reached another");
	/* Both lines are free to be bound again. */
	cr_expect_eq(sys(SYS_ASSIGN_GSI, SEL_SM, GSI2, 0), VIREO_OK);
}

Test(kcore_irq, an_nmi_is_counted_and_returns_instead_of_halting_the_cpu)
{
	uint64_t before = this_cpu()->nmis;
	struct regs frame = { .vector = 2 };
	x86_trap_kernel(&frame); /* returns: a halting handler never would */
	x86_trap_kernel(&frame);
	cr_expect_eq(this_cpu()->nmis, before + 2);
	/* The CPU goes on scheduling afterwards. */
	cr_expect_eq(sys(SYS_SM_CTRL, SEL_SM, VIREO_SM_UP, 0), VIREO_BAD_CAP);
}
