/* SPDX-License-Identifier: MIT */
/*
 * A VM's I/O space on the fake machine (docs/architecture.md#vm-io-space): ports the VMM delegates
 * from its own I/O space into its VM are passed through by the backend's intercept map (the SVM
 * IOPM here, the VT-x I/O bitmaps in kcore_vmx_io below), revoking them anywhere up the mapping
 * database intercepts them again, kernel ports and ports the VMM does not hold are refused, and
 * the map is charged to the VM's creator and refunded when the VM goes.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "fake_cpu.h"
#include "fake_kernel.h"
#include "fake_virt.h"
#include "fake_vmcs.h"
#include "frame.h"
#include "ioport.h"
#include "klock.h"
#include "mdb.h"
#include "obj.h"
#include "svm/vmcb.h"
#include "vmx/vmcs.h"
#include "vmx/vmx.h"
#include "vmx/vmx_io.h"

#define SEL_PD 1
#define SEL_VM 2
#define SEL_VM2 3
#define VA_STATE 0x7e0000000000ull
#define IOPM_BYTES (12u << 10)

static struct pd *vmm, *vm;
static struct ec *vcpu_ec;

static void io_exit(struct vcpu *v, struct vmcb *vmcb, unsigned n)
{
	(void)v, (void)n;
	vmcb->ctl.exitcode = SVM_EXIT_IOIO;
	vmcb->ctl.exitinfo1 = (0x80ull << 16) | (1 << 4);
	vmcb->ctl.exitinfo2 = vmcb->save.rip + 2;
}

static void setup(void)
{
	vcpu_ec = fake_vm_world(io_exit, SEL_VM, VA_STATE, &vmm, &vm);
	fake_cap(vmm, SEL_PD, &vmm->obj, RIGHTS_ALL);
	fake_sc(vcpu_ec, 5, 10000);
	fake_vm_reset_state(vcpu_ec->vcpu->page);
	cr_assert_eq(fake_exit_ec(fake_schedule()), vcpu_ec);
}

static void teardown(void)
{
	fake_kernel_fini();
}

TestSuite(kcore_vmio, .init = setup, .fini = teardown);

static uint64_t io_crd(uint64_t port, unsigned order)
{
	return vireo_crd(CRD_IO, port, order, IO_RW);
}

/* The VMM's system calls, as its vCPU thread makes them. */
static uint64_t delegate(uint64_t port, unsigned order, uint64_t dst, uint64_t flags)
{
	fake_syscall(vcpu_ec, SYS_DELEGATE, SEL_VM, io_crd(port, order), dst, flags, 0);
	return vcpu_ec->regs.rax;
}

static uint64_t revoke(uint64_t port, unsigned order, uint64_t flags)
{
	fake_syscall(vcpu_ec, SYS_REVOKE, io_crd(port, order), flags, 0, 0, 0);
	return vcpu_ec->regs.rax;
}

/* Ports the kernel created for the VMM (as the roottask's are): a root of the I/O space. */
static void vmm_holds(uint32_t port, unsigned order)
{
	klock_acquire();
	cr_assert_eq(pd_grant_ports(vmm, port, order), VIREO_OK);
	klock_release();
}

/* Bit `port` of an intercept map: 1 = an access exits. */
static bool intercepted(const void *map, uint32_t port)
{
	return (((const uint8_t *)map)[port / 8] >> (port % 8)) & 1;
}

static uint64_t resume_iopm(void)
{
	fake_syscall(vcpu_ec, SYS_VCPU_RESUME, SEL_VM, 0, 0, 0, 0);
	cr_assert_eq(vcpu_ec->vcpu->page->exit, VM_EXIT_IO);
	return fake_vmcb(vcpu_ec->vcpu)->ctl.iopm_pa;
}

Test(kcore_vmio, without_ports_the_vcpu_enters_with_a_map_that_intercepts_every_port)
{
	uint64_t pa = resume_iopm();
	cr_expect_null(vm->vm_io_map);
	const uint8_t *map = phys_to_virt(pa_init(pa));
	for (unsigned i = 0; i < IOPM_BYTES; i++) {
		cr_assert_eq(map[i], 0xff, "IOPM byte %u lets ports through", i);
	}
}

Test(kcore_vmio, a_delegated_port_range_is_passed_through_and_recorded_as_the_vmms_child)
{
	vmm_holds(0x80, 3);
	cr_assert_eq(delegate(0x80, 3, 0x80, 0), VIREO_OK);
	cr_assert_not_null(vm->vm_io_map);
	for (uint32_t p = 0x80; p < 0x88; p++) {
		cr_expect(!intercepted(vm->vm_io_map, p), "port %#x still intercepted", p);
	}
	cr_expect(intercepted(vm->vm_io_map, 0x7f));
	cr_expect(intercepted(vm->vm_io_map, 0x88));
	cr_expect(intercepted(vm->vm_io_map, 0xffff));
	const uint8_t *third = (const uint8_t *)vm->vm_io_map + 8192;
	cr_expect_eq(third[0], 0xff, "accesses that wrap past 0xffff must exit");
	cr_expect_eq(resume_iopm(), pa_addr(virt_to_phys(vm->vm_io_map)),
		     "the vCPU did not enter with its VM's map");
	struct mdb_node *n = mdb_lookup(&vm->io, 0x80);
	cr_assert_not_null(n, "no mapping-database node in the VM's I/O space");
	cr_expect_eq(n->order, 3);
	cr_expect_eq(n->parent, mdb_lookup(&vmm->io, 0x80), "not derived from the VMM's ports");
}

Test(kcore_vmio, a_port_keeps_its_number_a_vm_cannot_reach_another_port_through_it)
{
	vmm_holds(0x80, 3);
	/* The guest would reach hardware port 0x2fc, which the VMM never had. */
	cr_expect_eq(delegate(0x84, 2, 0x2fc, 0), VIREO_BAD_PAR);
	cr_expect_null(vm->vm_io_map, "a refused delegation left a map");
	cr_expect_null(mdb_lookup(&vm->io, 0x2fc));
	cr_expect_eq(delegate(0x84, 2, 0x84, 0), VIREO_OK, "a part at its own number is fine");
	cr_expect(!intercepted(vm->vm_io_map, 0x84));
	cr_expect(intercepted(vm->vm_io_map, 0x80));
	cr_expect(intercepted(vm->vm_io_map, 0x2fc));
}

Test(kcore_vmio, a_native_task_cannot_rename_a_port_into_another_either)
{
	vmm_holds(0x80, 0);
	/* Into its own I/O space under COM1's number: the TSS bitmap would allow COM1. */
	fake_syscall(vcpu_ec, SYS_DELEGATE, SEL_PD, io_crd(0x80, 0), 0x3f8, 0, 0);
	cr_expect_eq(vcpu_ec->regs.rax, VIREO_BAD_PAR);
	cr_expect_null(mdb_lookup(&vmm->io, 0x3f8));
	cr_expect(vmm->io_bitmap[0x3f8 / 8] & 1, "COM1 allowed in the task's TSS bitmap");
	fake_syscall(vcpu_ec, SYS_DELEGATE, SEL_PD, io_crd(0x90, 0), 0x3f8, 0, 0);
	cr_expect_eq(vcpu_ec->regs.rax, VIREO_BAD_CAP, "an unheld source is still BAD_CAP");
}

Test(kcore_vmio, revoking_the_vmms_port_intercepts_it_again_after_the_cpus_left_the_guest)
{
	vmm_holds(0x80, 3);
	cr_assert_eq(delegate(0x80, 3, 0x80, 0), VIREO_OK);
	unsigned shootdowns = fake_cpu_log.shootdowns;
	cr_assert_eq(revoke(0x80, 3, 0), VIREO_OK);
	for (uint32_t p = 0x80; p < 0x88; p++) {
		cr_expect(intercepted(vm->vm_io_map, p), "port %#x passed after the revoke", p);
	}
	cr_expect_null(mdb_lookup(&vm->io, 0x80));
	cr_expect_not_null(mdb_lookup(&vmm->io, 0x80), "the VMM lost its own ports");
	cr_expect_gt(fake_cpu_log.shootdowns, shootdowns,
		     "no CPU running the VM was made to leave its guest");
	cr_expect_eq(resume_iopm(), pa_addr(virt_to_phys(vm->vm_io_map)));
}

Test(kcore_vmio, revoking_one_port_of_the_vmms_range_takes_the_whole_derived_range)
{
	vmm_holds(0x80, 3);
	cr_assert_eq(delegate(0x80, 3, 0x80, 0), VIREO_OK);
	cr_assert_eq(revoke(0x83, 0, 0), VIREO_OK);
	cr_expect(intercepted(vm->vm_io_map, 0x80), "a derived capability is never split");
	cr_expect(intercepted(vm->vm_io_map, 0x87));
}

Test(kcore_vmio, a_revoke_up_the_tree_reaches_the_vm_through_the_vmm)
{
	struct pd *root = fake_pd("root", 1 << 20);
	klock_acquire();
	cr_assert_eq(pd_grant_ports(root, 0, 16), VIREO_OK);
	cr_assert_eq(pd_delegate(root, vmm, io_crd(0x80, 3), 0x80, 0), VIREO_OK);
	klock_release();
	cr_assert_eq(delegate(0x80, 3, 0x80, 0), VIREO_OK);
	klock_acquire();
	cr_assert_eq(pd_revoke(root, io_crd(0x80, 3), false), VIREO_OK);
	klock_release();
	cr_expect(intercepted(vm->vm_io_map, 0x81), "the VM kept a port its VMM lost");
	cr_expect_null(mdb_lookup(&vmm->io, 0x80));
	cr_expect_null(mdb_lookup(&vm->io, 0x80));
}

Test(kcore_vmio, a_grant_moves_the_ports_into_the_vm)
{
	vmm_holds(0x80, 3);
	cr_assert_eq(delegate(0x80, 3, 0x80, VIREO_DELEGATE_GRANT), VIREO_OK);
	cr_expect(!intercepted(vm->vm_io_map, 0x80));
	cr_expect_null(mdb_lookup(&vmm->io, 0x80), "a grant leaves the VMM its ports");
	cr_expect(vmm->io_bitmap[0x80 / 8] == 0xff, "the VMM's own TSS bitmap still allows them");
}

Test(kcore_vmio, ports_the_kernel_drives_are_refused_and_nothing_changes)
{
	ioport_kernel_claim(0x3f8, 8, "serial console");
	ioport_kernel_claim(0x20, 2, "8259A master");
	vmm_holds(0, 16);
	uint64_t used = vmm->quota.used, vm_used = vm->quota.used;
	cr_expect_eq(delegate(0x3f8, 3, 0x3f8, 0), VIREO_BAD_DEV);
	cr_expect_eq(delegate(0x3fc, 0, 0x3fc, 0), VIREO_BAD_DEV, "one port of a claimed range");
	cr_expect_eq(delegate(0, 16, 0, 0), VIREO_BAD_DEV, "a range holding a kernel port");
	cr_expect_eq(delegate(0x20, 0, 0x20, 0), VIREO_BAD_DEV, "the 8259A");
	cr_expect_null(vm->vm_io_map, "a refused delegation left a map");
	cr_expect_null(mdb_lookup(&vm->io, 0x3f8));
	cr_expect_null(mdb_lookup(&vm->io, 0));
	cr_expect_eq(vmm->quota.used, used);
	cr_expect_eq(vm->quota.used, vm_used);
	cr_expect_eq(delegate(0x3f0, 3, 0x3f0, 0), VIREO_OK, "the neighbours are no kernel's");
	cr_expect(intercepted(vm->vm_io_map, 0x3f8));
}

Test(kcore_vmio, ports_the_vmm_does_not_hold_are_refused)
{
	vmm_holds(0x80, 3);
	cr_expect_eq(delegate(0x90, 3, 0x90, 0), VIREO_BAD_CAP, "ports it never had");
	cr_expect_eq(delegate(0x80, 4, 0x80, 0), VIREO_BAD_CAP, "more than it holds");
	cr_expect_null(vm->vm_io_map, "a refused delegation left a map");
	cr_expect_null(mdb_lookup(&vm->io, 0x90));
	cr_expect_null(mdb_lookup(&vm->io, 0x80));
}

Test(kcore_vmio, malformed_ranges_are_refused)
{
	vmm_holds(0, 16);
	cr_expect_eq(delegate(0x81, 3, 0x80, 0), VIREO_BAD_PAR, "source not aligned");
	cr_expect_eq(delegate(0x80, 3, 0x84, 0), VIREO_BAD_PAR, "destination not aligned");
	cr_expect_eq(delegate(0x80, 3, 0xfffc, 0), VIREO_BAD_PAR, "destination past 0xffff");
	cr_expect_eq(delegate(0, 17, 0, 0), VIREO_BAD_PAR, "more than the I/O space");
	cr_expect_null(vm->vm_io_map);
}

Test(kcore_vmio, the_map_is_charged_to_the_vms_creator_once_and_refunded_when_the_vm_goes)
{
	vmm_holds(0x80, 3);
	struct pd *vm2;
	uint64_t before = vmm->quota.used;
	fake_syscall(vcpu_ec, SYS_CREATE_PD, SEL_VM2, SEL_PD, 1 << 20, VIREO_PD_VM, 0);
	cr_assert_eq(vcpu_ec->regs.rax, VIREO_OK);
	vm2 = (struct pd *)pd_lookup_obj(vmm, SEL_VM2, OBJ_PD, 0);
	cr_assert_not_null(vm2);
	uint64_t created = vmm->quota.used, vm2_used = vm2->quota.used;
	fake_syscall(vcpu_ec, SYS_DELEGATE, SEL_VM2, io_crd(0x80, 2), 0x80, 0, 0);
	cr_assert_eq(vcpu_ec->regs.rax, VIREO_OK);
	cr_expect_eq(vmm->quota.used - created, PAGE_SIZE << virt->io_map_order,
		     "the creator paid %lu bytes for the map",
		     (unsigned long)(vmm->quota.used - created));
	cr_expect_gt(vm2->quota.used, vm2_used, "the VM's node is the VM's own");
	fake_syscall(vcpu_ec, SYS_DELEGATE, SEL_VM2, io_crd(0x84, 2), 0x84, 0, 0);
	cr_assert_eq(vcpu_ec->regs.rax, VIREO_OK);
	cr_expect_eq(vmm->quota.used - created, PAGE_SIZE << virt->io_map_order,
		     "a second range made a second map");
	unsigned pds = obj_live[OBJ_PD];
	fake_syscall(vcpu_ec, SYS_REVOKE, vireo_crd(CRD_OBJ, SEL_VM2, 0, RIGHTS_ALL),
		     VIREO_REVOKE_SELF, 0, 0, 0);
	cr_assert_eq(vcpu_ec->regs.rax, VIREO_OK);
	cr_expect_eq(obj_live[OBJ_PD], pds - 1, "the VM did not go");
	cr_expect_eq(vmm->quota.used, before, "%ld bytes not refunded",
		     (long)(vmm->quota.used - before));
	cr_expect_not_null(mdb_lookup(&vmm->io, 0x80), "the VMM's own ports went with the VM");
}

Test(kcore_vmio, another_vms_ports_do_not_pass_through_in_this_one)
{
	vmm_holds(0x80, 3);
	fake_syscall(vcpu_ec, SYS_CREATE_PD, SEL_VM2, SEL_PD, 1 << 20, VIREO_PD_VM, 0);
	cr_assert_eq(vcpu_ec->regs.rax, VIREO_OK);
	struct pd *vm2 = (struct pd *)pd_lookup_obj(vmm, SEL_VM2, OBJ_PD, 0);
	fake_syscall(vcpu_ec, SYS_DELEGATE, SEL_VM2, io_crd(0x80, 3), 0x80, 0, 0);
	cr_assert_eq(vcpu_ec->regs.rax, VIREO_OK);
	cr_assert_not_null(vm2->vm_io_map);
	uint64_t pa = resume_iopm(); /* the vCPU runs the first VM, which has no ports */
	cr_expect_neq(pa, pa_addr(virt_to_phys(vm2->vm_io_map)));
	cr_expect(intercepted(phys_to_virt(pa_init(pa)), 0x80), "the other VM's port passes here");
	cr_expect_null(vm->vm_io_map);
}

Test(kcore_vmio, without_quota_for_the_map_the_delegation_fails_and_changes_nothing)
{
	vmm_holds(0x80, 3);
	vmm->quota.limit = vmm->quota.used + PAGE_SIZE; /* less than any map */
	cr_expect_eq(delegate(0x80, 3, 0x80, 0), VIREO_NO_MEM);
	cr_expect_null(vm->vm_io_map);
	cr_expect_null(mdb_lookup(&vm->io, 0x80));
	vmm->quota.limit += PAGE_SIZE << virt->io_map_order;
	cr_expect_eq(delegate(0x80, 3, 0x80, 0), VIREO_OK);
}

/* ---------------------------------------------------------------- VT-x: the I/O bitmaps */

static struct vmx_vcpu *vx;

static void vmx_setup(void)
{
	fake_kernel_init(8 << 20, 1);
	fake_vmcs_reset();
	vx = phys_to_virt(frame_alloc(0));
	memset(vx, 0, PAGE_SIZE);
	vx->cpu = -1;
	vmx_ctls = (struct vmx_ctls){ .proc = PROC_HLT | PROC_UNCOND_IO | PROC_SECONDARY };
}

TestSuite(kcore_vmx_io, .init = vmx_setup, .fini = teardown);

/* IA32_VMX_PROCBASED_CTLS with "use I/O bitmaps" allowed (allowed-1 bits in 63:32) or not. */
static uint64_t proc_cap(bool io_bitmaps)
{
	uint32_t may1 =
		PROC_HLT | PROC_UNCOND_IO | PROC_SECONDARY | (io_bitmaps ? PROC_USE_IO_BITMAPS : 0);
	return (uint64_t)may1 << 32;
}

Test(kcore_vmx_io, bitmaps_a_and_b_cover_the_ports_in_order_and_start_all_intercepting)
{
	vmx_io_probe(proc_cap(true));
	uint8_t *map = phys_to_virt(frame_alloc(1));
	cr_assert_eq(vmx_io_map_init(map), VIREO_OK);
	for (unsigned i = 0; i < 2 * PAGE_SIZE; i++) {
		cr_assert_eq(map[i], 0xff, "bitmap byte %u lets ports through", i);
	}
	vmx_io_map_set(map, 0x80, 8, true);
	vmx_io_map_set(map, 0x8000, 1, true);
	cr_expect_eq(map[0x10], 0x00, "ports 0x80-0x87 are byte 0x10 of bitmap A");
	cr_expect_eq(map[PAGE_SIZE], 0xfe, "port 0x8000 is bit 0 of bitmap B");
	vmx_io_map_set(map, 0x80, 8, false);
	cr_expect_eq(map[0x10], 0xff);
}

Test(kcore_vmx_io, a_cpu_without_io_bitmaps_refuses_the_map)
{
	vmx_io_probe(proc_cap(false));
	uint8_t *map = phys_to_virt(frame_alloc(1));
	cr_expect_eq(vmx_io_map_init(map), VIREO_BAD_FTR);
}

Test(kcore_vmx_io, a_vm_with_a_map_enters_with_its_bitmaps_instead_of_unconditional_exiting)
{
	vmx_io_probe(proc_cap(true));
	struct pd vmpd = { .vm = true };
	struct vcpu v = { .hw = vx, .vm = &vmpd };
	fake_vmcs_set(VMCS_PROC_CTLS, vmx_ctls.proc);
	vmx_io_enter(&v);
	cr_expect_eq(fake_vmcs_get(VMCS_PROC_CTLS), vmx_ctls.proc, "no map: the controls stay");
	cr_expect_eq(fake_vmcs_get(VMCS_IO_BITMAP_A), 0);
	vmpd.vm_io_map = phys_to_virt(frame_alloc(1));
	cr_assert_eq(vmx_io_map_init(vmpd.vm_io_map), VIREO_OK);
	vmx_io_enter(&v);
	uint64_t pa = pa_addr(virt_to_phys(vmpd.vm_io_map));
	cr_expect_eq(fake_vmcs_get(VMCS_IO_BITMAP_A), pa);
	cr_expect_eq(fake_vmcs_get(VMCS_IO_BITMAP_B), pa + PAGE_SIZE);
	uint64_t proc = fake_vmcs_get(VMCS_PROC_CTLS);
	cr_expect(proc & PROC_USE_IO_BITMAPS, "use I/O bitmaps not set");
	cr_expect(!(proc & PROC_UNCOND_IO), "unconditional I/O exiting left on");
	cr_expect(proc & PROC_HLT, "another control was lost");
}
