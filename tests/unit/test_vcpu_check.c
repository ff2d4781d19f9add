/* SPDX-License-Identifier: MIT */
/* Specification of the guest-state entry checks: CR4 from CPUID, XCR0, inject and pending. */
#include <criterion/criterion.h>
#include <string.h>

#include "vcpu_check.h"
#include "x86/cpu.h"

static struct vireo_vm_state st;
/* A host like QEMU's qemu64 with +xsave: no leaf-7 features. */
static struct vcpu_limits lim;

/* A valid real-mode state (as the VMM's reset state). */
static void setup(void)
{
	memset(&st, 0, sizeof(st));
	st.cr0 = 0x10;
	st.rflags = 0x2;
	st.cs.attr = VSEG_ATTR_P | VSEG_ATTR_S | 0xb;
	st.dr6 = 0xffff0ff0;
	st.dr7 = 0x400;
	st.xcr0 = XCR0_X87;
	struct vcpu_cpuid c = { .l1_ecx = 1u << 26 };
	lim = (struct vcpu_limits){ .cr4_allowed = vcpu_cr4_allowed(&c),
				    .host_xcr0 = XCR0_X87 | XCR0_SSE };
}

TestSuite(vcpu_check, .init = setup);

Test(vcpu_check, reset_state_is_accepted)
{
	cr_expect_eq(vcpu_check_state(&st, &lim), 0);
}

/* ------------------------------------------------------------------ CR4 */

Test(vcpu_check, cr4_mask_follows_cpuid_bits)
{
	struct vcpu_cpuid none = { 0 };
	uint64_t base = vcpu_cr4_allowed(&none);
	cr_expect_eq(base, 0x7ffull, "VME..OSXMMEXCPT only on a CPU without extensions");
	struct {
		struct vcpu_cpuid c;
		uint64_t bit;
	} one[] = {
		{ { .l1_ecx = 1u << 17 }, CR4_PCIDE },	 { { .l1_ecx = 1u << 26 }, CR4_OSXSAVE },
		{ { .l7_ebx = 1u << 0 }, CR4_FSGSBASE }, { { .l7_ebx = 1u << 7 }, CR4_SMEP },
		{ { .l7_ebx = 1u << 20 }, CR4_SMAP },	 { { .l7_ecx = 1u << 2 }, CR4_UMIP },
		{ { .l7_ecx = 1u << 3 }, CR4_PKE },	 { { .l7_ecx = 1u << 7 }, CR4_CET },
		{ { .l7_ecx = 1u << 16 }, CR4_LA57 },	 { { .l7_ecx = 1u << 31 }, CR4_PKS },
	};
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
		cr_expect_eq(vcpu_cr4_allowed(&one[i].c), base | one[i].bit, "feature %zu", i);
	}
}

Test(vcpu_check, guest_owned_cr4_bits_are_accepted_when_the_cpu_has_them)
{
	struct vcpu_cpuid all = { .l1_ecx = (1u << 17) | (1u << 26),
				  .l7_ebx = 1u | (1u << 7) | (1u << 20),
				  .l7_ecx = (1u << 2) | (1u << 3) | (1u << 16) };
	lim.cr4_allowed = vcpu_cr4_allowed(&all);
	uint64_t owned[] = { CR4_UMIP, CR4_LA57, CR4_PKE,      CR4_OSXSAVE,
			     CR4_SMEP, CR4_SMAP, CR4_FSGSBASE, CR4_PGE };
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
		st.cr4 = owned[i];
		cr_expect_eq(vcpu_check_state(&st, &lim), 0, "CR4 %#lx refused",
			     (unsigned long)owned[i]);
	}
}

Test(vcpu_check, cr4_bits_the_cpu_lacks_are_refused)
{
	uint64_t absent[] = {
		CR4_UMIP,   CR4_LA57,	CR4_PKE,   1ull << 13 /* VMXE */, 1ull << 14 /* SMXE */,
		1ull << 15, 1ull << 25, 1ull << 32
	};
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
		st.cr4 = absent[i];
		cr_expect_eq(vcpu_check_state(&st, &lim), VM_INVALID_CR4, "CR4 %#lx",
			     (unsigned long)absent[i]);
	}
}

/* ------------------------------------------------------------------ XCR0 */

Test(vcpu_check, xcr0_needs_the_x87_bit)
{
	st.xcr0 = 0;
	cr_expect_eq(vcpu_check_state(&st, &lim), VM_INVALID_XCR0);
	st.xcr0 = XCR0_SSE;
	cr_expect_eq(vcpu_check_state(&st, &lim), VM_INVALID_XCR0);
	st.xcr0 = XCR0_X87 | XCR0_SSE;
	cr_expect_eq(vcpu_check_state(&st, &lim), 0);
}

Test(vcpu_check, xcr0_is_bounded_by_the_hosts)
{
	st.xcr0 = XCR0_X87 | XCR0_SSE | XCR0_AVX;
	cr_expect_eq(vcpu_check_state(&st, &lim), VM_INVALID_XCR0, "AVX the host lacks");
	lim.host_xcr0 |= XCR0_AVX;
	cr_expect_eq(vcpu_check_state(&st, &lim), 0);
	st.xcr0 = XCR0_X87 | XCR0_AVX;
	cr_expect_eq(vcpu_check_state(&st, &lim), VM_INVALID_XCR0, "AVX without SSE");
	st.xcr0 = XCR0_X87 | (1ull << 9);
	cr_expect_eq(vcpu_check_state(&st, &lim), VM_INVALID_XCR0, "PKRU the host lacks");
}

Test(vcpu_check, without_xsave_only_the_reset_xcr0)
{
	lim.host_xcr0 = 0;
	cr_expect(vcpu_xcr0_ok(XCR0_X87, 0));
	cr_expect_not(vcpu_xcr0_ok(XCR0_X87 | XCR0_SSE, 0));
	cr_expect_not(vcpu_xcr0_ok(0, 0));
}

/* ------------------------------------------------------------------ events */

Test(vcpu_check, pending_is_checked_like_inject)
{
	uint32_t bad[] = {
		VEVENT_VALID | VEVENT_TYPE_EXC | 32, /* exception vector >= 32 */
		VEVENT_VALID | VEVENT_TYPE_EXC | 2,  /* NMI as an exception */
		VEVENT_VALID | VEVENT_TYPE_NMI | 3,  /* NMI with vector 3 */
		VEVENT_VALID | VEVENT_TYPE_INTR | VEVENT_ERR_VALID | 32, /* error code */
		VEVENT_VALID | VEVENT_TYPE_EXC | VEVENT_ERR_VALID | 6,	 /* #UD has none */
		VEVENT_VALID | (1u << 8) | 32,				 /* reserved type 1 */
		VEVENT_VALID | (5u << 8) | 32,				 /* reserved type 5 */
		VEVENT_VALID | 0x1000 | 32,				 /* reserved bits */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setup();
		st.pending = bad[i];
		cr_expect_eq(vcpu_check_state(&st, &lim), VM_INVALID_EVENT, "pending %#x", bad[i]);
		setup();
		st.inject = bad[i];
		cr_expect_eq(vcpu_check_state(&st, &lim), VM_INVALID_EVENT, "inject %#x", bad[i]);
	}
	st.inject = 0;
	st.pending = VEVENT_VALID | VEVENT_TYPE_EXC | VEVENT_ERR_VALID | 14;
	cr_expect_eq(vcpu_check_state(&st, &lim), 0, "#PF with its error code");
}

Test(vcpu_check, instruction_lengths_only_for_software_interrupts)
{
	st.inject = VEVENT_VALID | VEVENT_TYPE_SOFT | 0x80;
	st.inject_len = 2;
	cr_expect_eq(vcpu_check_state(&st, &lim), 0);
	st.inject_len = 0;
	cr_expect_eq(vcpu_check_state(&st, &lim), VM_INVALID_EVENT, "an injected INT n needs it");
	st.inject_len = 16;
	cr_expect_eq(vcpu_check_state(&st, &lim), VM_INVALID_EVENT, "longer than 15 bytes");
	st.inject = VEVENT_VALID | VEVENT_TYPE_INTR | 0x20;
	st.inject_len = 2;
	cr_expect_eq(vcpu_check_state(&st, &lim), VM_INVALID_EVENT, "an IRQ has no length");
	st.inject = 0;
	st.inject_len = 0;
	st.pending = VEVENT_VALID | VEVENT_TYPE_SOFT | 3;
	st.pending_len = 0;
	cr_expect_eq(vcpu_check_state(&st, &lim), 0, "a pending INT3 of unknown length");
	st.pending_len = 1;
	cr_expect_eq(vcpu_check_state(&st, &lim), 0);
	st.pending = 0;
	cr_expect_eq(vcpu_check_state(&st, &lim), VM_INVALID_EVENT, "a length with no event");
}
