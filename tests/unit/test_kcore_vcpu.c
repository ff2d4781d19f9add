/* SPDX-License-Identifier: MIT */
/* vcpu_check_state: what a VMM may ask the kernel to enter, and what it must refuse. */
#include <criterion/criterion.h>
#include <string.h>

#include "vcpu.h"
#include "vcpu_check.h"

#define CR0_PE 0x1ull
#define CR0_ET 0x10ull
#define CR0_NE 0x20ull
#define CR0_NW 0x20000000ull
#define CR0_CD 0x40000000ull
#define CR0_PG 0x80000000ull
#define CR4_PAE 0x20ull
#define EFER_LME 0x100ull
#define EFER_LMA 0x400ull
#define EFER_SVME 0x1000ull

#define CODE_ATTR (VSEG_ATTR_P | VSEG_ATTR_S | 0xb) /* present, code, execute/read, accessed */
#define DATA_ATTR (VSEG_ATTR_P | VSEG_ATTR_S | 0x3)

/* A host that lets a guest own the baseline CR4 bits, PCIDE, OSXSAVE and FSGSBASE, x87+SSE state. */
static const struct vcpu_limits limits = {
	.cr4_allowed = 0x7ffull | (1ull << 16) | (1ull << 17) | (1ull << 18), .host_xcr0 = 3
};

/* The reset state of an x86 CPU (Intel SDM vol. 3A 9.1.1): real mode at f000:fff0. */
static struct vireo_vm_state real_mode(void)
{
	struct vireo_vm_state st = { 0 };
	st.rip = 0xfff0;
	st.rflags = 0x2;
	st.cr0 = CR0_ET | CR0_CD | CR0_NW;
	st.cs = (struct vireo_seg){
		.sel = 0xf000, .attr = CODE_ATTR, .limit = 0xffff, .base = 0xffff0000
	};
	st.ds = st.es = st.ss = st.fs = st.gs =
		(struct vireo_seg){ .attr = DATA_ATTR, .limit = 0xffff };
	st.dr6 = 0xffff0ff0;
	st.dr7 = 0x400;
	st.xcr0 = 1; /* x87 state is always enabled (XCR0 bit 0) */
	return st;
}

/* A 64-bit kernel: paging with PAE, LME and LMA, a 64-bit code segment. */
static struct vireo_vm_state long_mode(void)
{
	struct vireo_vm_state st = real_mode();
	st.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
	st.cr3 = 0x1000;
	st.cr4 = CR4_PAE;
	st.efer = EFER_LME | EFER_LMA;
	st.cs = (struct vireo_seg){ .sel = 0x08,
				    .attr = CODE_ATTR | VSEG_ATTR_L | VSEG_ATTR_G,
				    .limit = 0xffffffff };
	st.ss = (struct vireo_seg){ .sel = 0x10,
				    .attr = DATA_ATTR | VSEG_ATTR_DB | VSEG_ATTR_G,
				    .limit = 0xffffffff };
	st.rip = 0xffffffff81000000ull;
	return st;
}

Test(kcore_vcpu, reset_state_in_real_mode_is_accepted)
{
	struct vireo_vm_state st = real_mode();
	cr_expect_eq(vcpu_check_state(&st, &limits), 0);
}

Test(kcore_vcpu, protected_mode_without_paging_is_accepted)
{
	struct vireo_vm_state st = real_mode();
	st.cr0 = CR0_PE | CR0_ET;
	st.cs.attr |= VSEG_ATTR_DB;
	cr_expect_eq(vcpu_check_state(&st, &limits), 0);
}

Test(kcore_vcpu, long_mode_is_accepted)
{
	struct vireo_vm_state st = long_mode();
	cr_expect_eq(vcpu_check_state(&st, &limits), 0);
}

Test(kcore_vcpu, paging_without_protection_is_invalid_cr0)
{
	struct vireo_vm_state st = real_mode();
	st.cr0 = CR0_PG | CR0_ET;
	cr_expect_eq(vcpu_check_state(&st, &limits), VM_INVALID_CR0);
}

Test(kcore_vcpu, not_write_through_without_cache_disable_is_invalid_cr0)
{
	struct vireo_vm_state st = real_mode();
	st.cr0 = CR0_ET | CR0_NW;
	cr_expect_eq(vcpu_check_state(&st, &limits), VM_INVALID_CR0);
}

Test(kcore_vcpu, cr0_upper_half_is_invalid_cr0)
{
	struct vireo_vm_state st = long_mode();
	st.cr0 |= 1ull << 32;
	cr_expect_eq(vcpu_check_state(&st, &limits), VM_INVALID_CR0);
}

Test(kcore_vcpu, long_mode_without_pae_is_invalid_efer)
{
	struct vireo_vm_state st = long_mode();
	st.cr4 = 0;
	cr_expect_eq(vcpu_check_state(&st, &limits), VM_INVALID_EFER);
}

Test(kcore_vcpu, lma_must_match_lme_and_paging)
{
	struct vireo_vm_state st = long_mode();
	st.efer = EFER_LME; /* paging on, LMA clear */
	cr_expect_eq(vcpu_check_state(&st, &limits), VM_INVALID_EFER);
	st = real_mode();
	st.efer = EFER_LMA; /* LMA without LME and paging */
	cr_expect_eq(vcpu_check_state(&st, &limits), VM_INVALID_EFER);
}

Test(kcore_vcpu, svme_or_reserved_efer_bits_are_invalid_efer)
{
	struct vireo_vm_state st = long_mode();
	st.efer |= EFER_SVME; /* nested SVM is the kernel's business, not the guest's */
	cr_expect_eq(vcpu_check_state(&st, &limits), VM_INVALID_EFER);
	st = long_mode();
	st.efer |= 1ull << 63;
	cr_expect_eq(vcpu_check_state(&st, &limits), VM_INVALID_EFER);
}

Test(kcore_vcpu, unknown_cr4_bits_are_invalid_cr4)
{
	struct vireo_vm_state st = long_mode();
	st.cr4 |= 1ull << 40;
	cr_expect_eq(vcpu_check_state(&st, &limits), VM_INVALID_CR4);
}

Test(kcore_vcpu, code_segment_both_long_and_default_big_is_invalid_segment)
{
	struct vireo_vm_state st = long_mode();
	st.cs.attr |= VSEG_ATTR_DB;
	cr_expect_eq(vcpu_check_state(&st, &limits), VM_INVALID_SEGMENT);
}

Test(kcore_vcpu, protected_mode_with_a_non_present_cs_is_invalid_segment)
{
	struct vireo_vm_state st = long_mode();
	st.cs.attr &= (uint16_t)~VSEG_ATTR_P;
	cr_expect_eq(vcpu_check_state(&st, &limits), VM_INVALID_SEGMENT);
}

Test(kcore_vcpu, rflags_reserved_bits_are_invalid_rflags)
{
	struct vireo_vm_state st = real_mode();
	st.rflags = 0; /* bit 1 is fixed to 1 */
	cr_expect_eq(vcpu_check_state(&st, &limits), VM_INVALID_RFLAGS);
	st.rflags = 0x2 | (1ull << 3);
	cr_expect_eq(vcpu_check_state(&st, &limits), VM_INVALID_RFLAGS);
}

Test(kcore_vcpu, debug_registers_upper_half_is_invalid_dr)
{
	struct vireo_vm_state st = real_mode();
	st.dr7 |= 1ull << 32;
	cr_expect_eq(vcpu_check_state(&st, &limits), VM_INVALID_DR);
}

Test(kcore_vcpu, injecting_an_nmi_with_a_wrong_vector_is_invalid_event)
{
	struct vireo_vm_state st = long_mode();
	st.inject = VEVENT_VALID | VEVENT_TYPE_NMI | 3;
	cr_expect_eq(vcpu_check_state(&st, &limits), VM_INVALID_EVENT);
	st.inject = VEVENT_VALID | VEVENT_TYPE_NMI | 2;
	cr_expect_eq(vcpu_check_state(&st, &limits), 0);
}

Test(kcore_vcpu, error_code_only_for_exceptions_that_have_one)
{
	struct vireo_vm_state st = long_mode();
	st.inject = VEVENT_VALID | VEVENT_TYPE_EXC | VEVENT_ERR_VALID | 13; /* #GP has one */
	cr_expect_eq(vcpu_check_state(&st, &limits), 0);
	st.inject = VEVENT_VALID | VEVENT_TYPE_EXC | VEVENT_ERR_VALID | 6; /* #UD has none */
	cr_expect_eq(vcpu_check_state(&st, &limits), VM_INVALID_EVENT);
}

/* ------------------------------------------------------------------ pure group checks */

Test(kcore_vcpu, group_copy_moves_only_the_groups_named)
{
	struct vireo_vm_state a = long_mode(), b;
	memset(&b, 0x5a, sizeof(b));
	vcpu_mtd_copy(&b, &a, VMTD_GPR | VMTD_CS_SS);
	cr_expect_eq(memcmp(b.gpr, a.gpr, sizeof(a.gpr)), 0);
	cr_expect_eq(memcmp(&b.cs, &a.cs, sizeof(a.cs)), 0);
	cr_expect_eq(memcmp(&b.ss, &a.ss, sizeof(a.ss)), 0);
	cr_expect_eq(b.rip, 0x5a5a5a5a5a5a5a5aull, "RIP moved without VMTD_RIP");
	cr_expect_eq(b.cr0, 0x5a5a5a5a5a5a5a5aull, "CR0 moved without VMTD_CR");
	cr_expect_eq(b.ds.base, 0x5a5a5a5a5a5a5a5aull, "DS moved without VMTD_DS_ES");
	cr_expect_eq(b.mtd_in, 0x5a5a5a5au, "a control word moved");
}

Test(kcore_vcpu, checks_of_a_group_read_only_that_group_and_its_partners)
{
	struct vireo_vm_state st = long_mode();
	st.rflags = 0; /* invalid, but not in the mask */
	cr_expect_eq(vcpu_check_groups(&st, VMTD_GPR | VMTD_CR, &limits), 0);
	cr_expect_eq(vcpu_check_groups(&st, VMTD_RIP, &limits), VM_INVALID_RFLAGS);
	st = long_mode();
	st.cs.attr |= VSEG_ATTR_DB; /* L and D/B together */
	cr_expect_eq(vcpu_check_groups(&st, VMTD_CR, &limits), VM_INVALID_SEGMENT,
		     "a CR0 change must be checked against CS");
	cr_expect_eq(vcpu_check_deps(VMTD_CS_SS) & VMTD_CR, VMTD_CR);
	cr_expect_eq(vcpu_check_deps(VMTD_GPR | VMTD_RIP), 0, "a CPUID exit needs nothing more");
}

Test(kcore_vcpu, intercept_control_allows_only_the_listed_msrs_and_options)
{
	struct vireo_vm_ctrl c = { .msr_pass = VMSR_PASS_ALL,
				   .intercept = VINT_ALL,
				   .exc_bitmap = 1u << 14,
				   .cr4_mask = 1 << 3 };
	cr_expect_eq(vcpu_check_ctrl(&c), 0);
	c.msr_pass = VMSR_PASS_ALL + 1;
	cr_expect_eq(vcpu_check_ctrl(&c), VM_INVALID_CTRL, "an MSR beyond the list passed");
	c.msr_pass = 0;
	c.intercept = VINT_ALL + 1;
	cr_expect_eq(vcpu_check_ctrl(&c), VM_INVALID_CTRL, "an unknown intercept option");
	c.intercept = 0;
	c.exc_bitmap = 1u << 2;
	cr_expect_eq(vcpu_check_ctrl(&c), VM_INVALID_CTRL, "NMI is no exception to intercept");
	c.exc_bitmap = 0;
	c.reserved = 1;
	cr_expect_eq(vcpu_check_ctrl(&c), VM_INVALID_CTRL);
	c.reserved = 0;
	c.cr0_mask = 1ull << 32;
	cr_expect_eq(vcpu_check_ctrl(&c), VM_INVALID_CTRL, "CR0 has 32 bits");
}
