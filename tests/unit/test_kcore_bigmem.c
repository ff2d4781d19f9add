/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM in large flexpages on the fake machine: 1 GiB delegated to a VM is one mapping-database
 * node and one nested page-table leaf where the CPU has 1 GiB pages; revoking part of it; and the
 * per-vCPU ASIDs the SVM backend enters with, which change exactly when a revoke touched the
 * guest space (docs/architecture.md#mapping-database, #asids).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "fake_kernel.h"
#include "fake_virt.h"
#include "fake_x86.h"
#include "klock.h"
#include "mdb.h"
#include "svm/vmcb.h"

#define SEL_VM 2
#define VA_STATE 0x7e0000000000ull
#define HEAP 0x100000000000ull /* the VMM's heap, as user/lib/taskinfo.h puts it */
#define GIB (1ull << 30)
#define RAM_PA (4 * GIB) /* beyond the fake RAM: page tables never touch what they map */
#define RWX (MEM_R | MEM_W | MEM_X)

static struct pd *vmm, *vm;
static struct ec *vcpu_ec;

static void hlt(struct vcpu *v, struct vmcb *vmcb, unsigned n)
{
	(void)v, (void)n;
	vmcb->save.rip += 1;
	vmcb->ctl.exitcode = SVM_EXIT_HLT;
}

/* CPUID 0x80000001 EDX bit 26: 1 GiB pages (and the SVM bit the fake CPU needs). */
static void cpu_has_1g_pages(bool yes)
{
	fake_cpuid_set(0x80000001, 0,
		       (struct cpuid_regs){ .ecx = 1u << 2, .edx = yes ? 1u << 26 : 0 });
}

static void setup(void)
{
	vcpu_ec = fake_vm_world(hlt, SEL_VM, VA_STATE, &vmm, &vm);
	fake_sc(vcpu_ec, 5, 10000);
	fake_vm_reset_state(vcpu_ec->vcpu->page);
	cr_assert_eq(fake_exit_ec(fake_schedule()), vcpu_ec);
}

static void teardown(void)
{
	fake_kernel_fini();
}

TestSuite(kcore_bigmem, .init = setup, .fini = teardown);

/* The VMM holds 1 GiB at HEAP as one capability and maps all of it to guest-physical 0. */
static void give_vm_1g(void)
{
	klock_acquire();
	cr_assert_eq(pd_grant_memory(vmm, HEAP, pa_init(RAM_PA), 18, RWX), VIREO_OK);
	cr_assert_eq(pd_delegate(vmm, vm, vireo_crd(CRD_MEM, HEAP >> 12, 18, RWX), 0, 0), VIREO_OK);
	klock_release();
}

static uint64_t leaf_size(struct pd *pd, uint64_t va, uint64_t *pa)
{
	uint64_t size = 0;
	paddr_t p;
	if (!pt_lookup(&pd->pt, va, &p, NULL, &size)) {
		return 0;
	}
	if (pa) {
		*pa = pa_addr(p);
	}
	return size;
}

static void revoke(struct pd *pd, uint64_t page, unsigned order, bool self)
{
	klock_acquire();
	cr_assert_eq(pd_revoke(pd, vireo_crd(CRD_MEM, page, order, RWX), self), VIREO_OK);
	klock_release();
}

static void resume(void)
{
	struct fake_exit x = fake_syscall(vcpu_ec, SYS_VCPU_RESUME, SEL_VM, 0, 0, 0, 0);
	cr_assert_eq(fake_exit_ec(x), vcpu_ec);
	cr_assert_eq(vcpu_ec->vcpu->page->exit, VM_EXIT_HLT);
	fake_vm_reset_state(vcpu_ec->vcpu->page);
}

Test(kcore_bigmem, one_gib_to_a_vm_is_one_node_and_one_1g_leaf_where_the_cpu_has_1g_pages)
{
	cpu_has_1g_pages(true);
	size_t nodes = mdb_node_count();
	give_vm_1g();
	cr_expect_eq(mdb_node_count(), nodes + 2,
		     "the VMM's capability and the VM's: nothing more");
	uint64_t pa;
	cr_expect_eq(leaf_size(vm, GIB - PAGE_SIZE, &pa), GIB, "the NPT does not use a 1 GiB leaf");
	cr_expect_eq(pa, RAM_PA + GIB - PAGE_SIZE);
	cr_expect_eq(leaf_size(vmm, HEAP, NULL), GIB, "the VMM's own mapping does not either");
}

Test(kcore_bigmem, without_1g_pages_the_same_flexpage_uses_2m_leaves)
{
	cpu_has_1g_pages(false);
	size_t nodes = mdb_node_count();
	give_vm_1g();
	cr_expect_eq(mdb_node_count(), nodes + 2);
	uint64_t pa;
	cr_expect_eq(leaf_size(vm, GIB - PAGE_SIZE, &pa), 2ull << 20);
	cr_expect_eq(pa, RAM_PA + GIB - PAGE_SIZE);
	cr_expect_eq(leaf_size(vm, 0, &pa), 2ull << 20);
	cr_expect_eq(pa, RAM_PA);
}

Test(kcore_bigmem, revoking_a_page_from_the_source_takes_the_whole_derived_flexpage)
{
	cpu_has_1g_pages(true);
	give_vm_1g();
	/* A derived mapping is never split (docs/ABI.md, SYS_REVOKE): the VM loses all of it. */
	revoke(vmm, (HEAP >> 12) + 12345, 0, false);
	cr_expect_eq(leaf_size(vm, 0, NULL), 0);
	cr_expect_eq(leaf_size(vm, GIB - PAGE_SIZE, NULL), 0);
	cr_expect_eq(leaf_size(vmm, HEAP, NULL), GIB, "the VMM's own capability stays whole");
}

Test(kcore_bigmem, revoking_a_page_of_a_1g_capability_itself_splits_it_and_keeps_the_rest)
{
	cpu_has_1g_pages(true);
	give_vm_1g();
	uint64_t page = (HEAP >> 12) + 12345, pa;
	revoke(vmm, page, 0, true);
	cr_expect_eq(leaf_size(vmm, page << 12, NULL), 0, "the revoked page is still mapped");
	cr_expect_eq(leaf_size(vmm, (page + 1) << 12, &pa), PAGE_SIZE);
	cr_expect_eq(pa, RAM_PA + 12346 * PAGE_SIZE);
	cr_expect_eq(leaf_size(vmm, (page - 1) << 12, &pa), PAGE_SIZE);
	cr_expect_eq(pa, RAM_PA + 12344 * PAGE_SIZE);
	cr_expect_eq(leaf_size(vmm, HEAP + GIB - PAGE_SIZE, &pa), 2ull << 20,
		     "the far part of the 1 GiB page should be 2 MiB leaves now");
	cr_expect_eq(pa, RAM_PA + GIB - PAGE_SIZE);
	/* The rest is still one capability per aligned piece and can be delegated again. */
	klock_acquire();
	cr_expect_eq(pd_delegate(vmm, vm, vireo_crd(CRD_MEM, (HEAP >> 12) + 262144 / 2, 17, RWX),
				 262144 / 2, 0),
		     VIREO_OK);
	klock_release();
	cr_expect_eq(leaf_size(vm, GIB / 2, &pa), 2ull << 20);
	cr_expect_eq(pa, RAM_PA + GIB / 2);
}

Test(kcore_bigmem, revoking_2m_of_a_1g_capability_itself_keeps_2m_leaves_around_it)
{
	cpu_has_1g_pages(true);
	give_vm_1g();
	revoke(vmm, (HEAP >> 12) + 512 * 3, 9, true);
	cr_expect_eq(leaf_size(vmm, HEAP + 3 * (2ull << 20), NULL), 0);
	cr_expect_eq(leaf_size(vmm, HEAP + 2 * (2ull << 20), NULL), 2ull << 20);
	cr_expect_eq(leaf_size(vmm, HEAP + 4 * (2ull << 20), NULL), 2ull << 20);
}

Test(kcore_bigmem, the_vcpu_keeps_its_asid_across_entries_and_flushes_nothing)
{
	give_vm_1g();
	resume();
	uint32_t asid = fake_virt_log.asid;
	unsigned flushes = fake_virt_log.tlb_flushes;
	cr_expect_neq(asid, 0, "ASID 0 is the host's");
	for (int i = 0; i < 5; i++) {
		resume();
		cr_expect_eq(fake_virt_log.asid, asid);
		cr_expect_eq(fake_virt_log.tlb_control, TLB_DO_NOTHING, "entry %d flushed the TLB",
			     i);
	}
	cr_expect_eq(fake_virt_log.tlb_flushes, flushes);
}

Test(kcore_bigmem, a_revoke_in_the_guest_space_gives_the_vcpu_a_new_asid)
{
	give_vm_1g();
	resume();
	uint32_t asid = fake_virt_log.asid;
	uint64_t tag = vm->guest_tlb_tag;
	revoke(vmm, (HEAP >> 12) + 7, 0, false);
	cr_expect_neq(vm->guest_tlb_tag, tag, "the revoke did not flush the guest space");
	resume();
	cr_expect_neq(fake_virt_log.asid, asid, "the guest would keep the revoked translation");
	cr_expect_eq(fake_virt_log.tlb_control, TLB_DO_NOTHING, "a new ASID needs no flush");
}

Test(kcore_bigmem, a_revoke_outside_the_guest_space_keeps_the_asid)
{
	klock_acquire();
	cr_assert_eq(pd_grant_memory(vmm, HEAP, pa_init(RAM_PA), 0, RWX), VIREO_OK);
	klock_release();
	resume();
	uint32_t asid = fake_virt_log.asid;
	uint64_t tag = vm->guest_tlb_tag;
	revoke(vmm, HEAP >> 12, 0, true); /* the VMM's own page, never given to the VM */
	cr_expect_eq(vm->guest_tlb_tag, tag);
	resume();
	cr_expect_eq(fake_virt_log.asid, asid);
}

Test(kcore_bigmem, two_vms_never_share_an_asid_on_one_cpu)
{
	struct pd *vm2;
	cr_assert_eq(pd_create_vm(vmm, 1 << 20, virt->gpt_format, &vm2), VIREO_OK);
	cr_expect_neq(vm2->guest_tlb_tag, vm->guest_tlb_tag);
	resume();
	uint32_t a = fake_virt_log.asid;
	fake_cap(vmm, 3, &vm2->obj, RIGHTS_ALL);
	struct fake_exit x = fake_syscall(vcpu_ec, SYS_VCPU_RESUME, 3, 0, 0, 0, 0);
	cr_assert_eq(fake_exit_ec(x), vcpu_ec);
	cr_expect_neq(fake_virt_log.asid, a,
		      "the second VM would see the first one's translations");
}

/* ---------------------------------------------------------------- activity state */

TestSuite(kcore_activity, .init = setup, .fini = teardown);

/* One SYS_VCPU_RESUME with the state page as it is; the guest (if entered) halts. */
static struct vireo_vm_state *resume_raw(void)
{
	struct fake_exit x = fake_syscall(vcpu_ec, SYS_VCPU_RESUME, SEL_VM, 0, 0, 0, 0);
	cr_assert_eq(fake_exit_ec(x), vcpu_ec);
	cr_assert_eq(vcpu_ec->regs.rax, VIREO_OK);
	return vcpu_ec->vcpu->page;
}

Test(kcore_activity, a_halted_vcpu_with_nothing_to_deliver_is_not_entered)
{
	vcpu_ec->vcpu->page->activity = VM_ACTIVITY_HALTED;
	struct vireo_vm_state *st = resume_raw();
	cr_expect_eq(fake_virt_log.runs, 0, "the guest ran although it was halted");
	cr_expect_eq(st->exit, VM_EXIT_HLT);
	cr_expect_eq(st->qual, VM_ACTIVITY_HALTED);
	cr_expect_eq(st->activity, VM_ACTIVITY_HALTED);
}

Test(kcore_activity, an_interrupt_wakes_a_halted_vcpu_only_with_its_if_set)
{
	struct vireo_vm_state *st = vcpu_ec->vcpu->page;
	st->activity = VM_ACTIVITY_HALTED;
	st->inject = VEVENT_VALID | VEVENT_TYPE_INTR | 0x20;
	resume_raw();
	cr_expect_eq(fake_virt_log.runs, 0, "an interrupt woke a vCPU with IF clear");
	st->rflags |= 0x200;
	st->inject = VEVENT_VALID | VEVENT_TYPE_INTR | 0x20;
	st->mtd_in = VMTD_RIP | VMTD_EVENTS;
	resume_raw();
	cr_expect_eq(fake_virt_log.runs, 1);
	cr_expect_eq(st->activity, VM_ACTIVITY_RUNNING, "entered, it must say it runs");
	cr_expect_eq(st->qual, 0, "this HLT is the guest's own");
}

Test(kcore_activity, an_nmi_wakes_a_halted_vcpu_whatever_its_if)
{
	struct vireo_vm_state *st = vcpu_ec->vcpu->page;
	st->activity = VM_ACTIVITY_HALTED;
	st->inject = VEVENT_VALID | VEVENT_TYPE_NMI | 2;
	resume_raw();
	cr_expect_eq(fake_virt_log.runs, 1);
	cr_expect_eq(st->activity, VM_ACTIVITY_RUNNING);
}

Test(kcore_activity, a_vcpu_waiting_for_sipi_is_never_entered)
{
	struct vireo_vm_state *st = vcpu_ec->vcpu->page;
	st->activity = VM_ACTIVITY_WAIT_SIPI;
	st->rflags |= 0x200;
	st->inject = VEVENT_VALID | VEVENT_TYPE_NMI | 2;
	resume_raw();
	cr_expect_eq(fake_virt_log.runs, 0);
	cr_expect_eq(st->exit, VM_EXIT_HLT);
	cr_expect_eq(st->qual, VM_ACTIVITY_WAIT_SIPI);
	/* The start-up IPI, as the VMM delivers it: CS:IP from the vector, RUNNING. */
	st->activity = VM_ACTIVITY_RUNNING;
	st->inject = 0;
	st->rip = 0;
	st->cs.sel = 0x800;
	st->cs.base = 0x8000;
	st->mtd_in = VMTD_RIP | VMTD_EVENTS | VMTD_CS_SS;
	resume_raw();
	cr_expect_eq(fake_virt_log.runs, 1);
}

Test(kcore_activity, an_unknown_activity_is_refused)
{
	vcpu_ec->vcpu->page->activity = 3;
	struct vireo_vm_state *st = resume_raw();
	cr_expect_eq(fake_virt_log.runs, 0);
	cr_expect_eq(st->exit, VM_EXIT_INVALID);
	cr_expect_eq(st->qual, VM_INVALID_ACTIVITY);
}

Test(kcore_bigmem, a_guest_cr3_the_vmm_loads_gives_the_vcpu_a_new_asid)
{
	resume();
	uint32_t asid = fake_virt_log.asid;
	resume();
	cr_expect_eq(fake_virt_log.asid, asid, "the same state again must keep the ASID");
	vcpu_ec->vcpu->page->cr3 = 0x5000;
	vcpu_ec->vcpu->page->mtd_in = VMTD_CR;
	resume();
	cr_expect_neq(fake_virt_log.asid, asid,
		      "translations of the old CR3 would survive in the guest's ASID");
}
