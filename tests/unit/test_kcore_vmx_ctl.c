/* SPDX-License-Identifier: MIT */
/* VMX control fields computed from capability-MSR values (kernel/vmx/vmx_ctl.c). */
#include <criterion/criterion.h>
#include <string.h>
#include <vireo/vcpu.h>

#include "vmx/vmx_ctl.h"

/* An MSR from its allowed-0 settings (bits that must be 1) and allowed-1 settings (may be 1). */
static uint64_t cap(uint32_t must1, uint32_t may1)
{
	return (uint64_t)may1 << 32 | must1;
}

/* A Haswell-like CPU as Bochs models it: TRUE_* MSRs, EPT with WB and INVEPT, VPID, unrestricted
 * guest (secondary allowed-1 0x00047fff; EPT: 4-level walks, WB, INVEPT; docs/platforms.md#bochs). */
static struct vmx_cap_msrs haswell(void)
{
	return (struct vmx_cap_msrs){
		.basic = VMX_BASIC_TRUE_CTLS | (1ull << 48) | 0x10,
		.pin = cap(0x16, 0x7f),
		.proc = cap(0x0401e172, 0xfff9fffe),
		.exit = cap(0x00036dff, 0x003fffff),
		.entry = cap(0x000011ff, 0x0000ffff),
		.true_pin = cap(0x16, 0x7f),
		.true_proc = cap(0x04006172, 0xfff9fffe),
		.true_exit = cap(0x00036dfb, 0x003fffff),
		.true_entry = cap(0x000011fb, 0x0000ffff),
		.proc2 = cap(0, 0x00047fff),
		.ept_vpid = 0x00000f0106334141ull,
		.cr0_fixed0 = 0x80000021,
		.cr0_fixed1 = 0xffffffff,
		.cr4_fixed0 = 0x2000,
		.cr4_fixed1 = 0x003727ff,
	};
}

Test(kcore_vmx_ctl, adjust_sets_needed_and_forced_bits_and_allowed_wanted_ones)
{
	uint32_t out = 0, bits = 0;
	enum vmx_ctl_error e = vmx_ctl_adjust(cap(0x16, 0x3f), 0x1, 0x20 | 0x40, 0, &out, &bits);
	cr_assert_eq(e, VMX_CTL_OK);
	cr_expect_eq(out, 0x16 | 0x1 | 0x20,
		     "needed 0x1, forced 0x16, wanted 0x20 (0x40 not allowed)");
	cr_expect_eq(bits, 0);
}

Test(kcore_vmx_ctl, adjust_refuses_a_needed_bit_the_cpu_forbids)
{
	uint32_t out = 0xdead, bits = 0;
	enum vmx_ctl_error e = vmx_ctl_adjust(cap(0, 0x0f), 0x11, 0, 0, &out, &bits);
	cr_expect_eq(e, VMX_CTL_FORBIDDEN);
	cr_expect_eq(bits, 0x10);
	cr_expect_eq(out, 0xdead, "nothing written on error");
}

Test(kcore_vmx_ctl, adjust_refuses_a_forced_bit_the_backend_cannot_run_with)
{
	uint32_t out = 0, bits = 0;
	cr_expect_eq(vmx_ctl_adjust(cap(0x8000, 0xffff), 0, 0, 0x8000, &out, &bits),
		     VMX_CTL_FORCED);
	cr_expect_eq(bits, 0x8000);
}

Test(kcore_vmx_ctl, a_haswell_gives_ept_vpid_unrestricted_guest_and_the_needed_exits)
{
	struct vmx_cap_msrs m = haswell();
	struct vmx_ctls c;
	struct vmx_ctl_result r = vmx_ctls_compute(&m, &c);
	cr_assert_eq(r.error, VMX_CTL_OK, "%s %#x", r.field, r.bits);
	cr_expect_eq(c.pin & (PIN_EXT_INTR | PIN_NMI | PIN_VIRTUAL_NMI),
		     PIN_EXT_INTR | PIN_NMI | PIN_VIRTUAL_NMI);
	cr_expect(c.nmi_window);
	cr_expect_eq(c.proc & (PROC_HLT | PROC_UNCOND_IO | PROC_SECONDARY),
		     PROC_HLT | PROC_UNCOND_IO | PROC_SECONDARY);
	cr_expect_eq(c.proc & (PROC_INTR_WINDOW | PROC_NMI_WINDOW), 0, "windows only per entry");
	cr_expect_eq(c.proc & (PROC_CR3_LOAD | PROC_CR3_STORE), 0, "TRUE_PROCBASED lets them go");
	cr_expect_eq(c.proc2, PROC2_EPT | PROC2_VPID | PROC2_UNRESTRICTED | PROC2_WBINVD |
				      PROC2_RDTSCP | PROC2_INVPCID);
	cr_expect(c.exit & EXIT_HOST_64);
	cr_expect_eq(c.exit & EXIT_ACK_INTR, 0, "the host takes interrupts through its IDT");
	cr_expect_eq(c.exit & (EXIT_LOAD_EFER | EXIT_SAVE_EFER), EXIT_LOAD_EFER | EXIT_SAVE_EFER);
	cr_expect_eq(c.entry & ENTRY_IA32E, 0, "set per entry from EFER.LMA");
	cr_expect(c.entry & ENTRY_LOAD_EFER);
	cr_expect_eq(c.exit & 0x4, 0, "TRUE_EXIT allows bit 2 to be 0");
	cr_expect_eq(c.revision, 0x10);
	cr_expect_eq(c.cr0_fixed0, 0x80000021);
}

Test(kcore_vmx_ctl, without_basic_bit_55_the_true_msrs_are_not_read)
{
	struct vmx_cap_msrs m = haswell();
	m.basic &= ~VMX_BASIC_TRUE_CTLS;
	m.true_proc = 0; /* garbage: must not matter */
	m.true_exit = 0;
	struct vmx_ctls c;
	cr_assert_eq(vmx_ctls_compute(&m, &c).error, VMX_CTL_OK);
	cr_expect_eq(c.proc & (PROC_CR3_LOAD | PROC_CR3_STORE), PROC_CR3_LOAD | PROC_CR3_STORE,
		     "default-1 controls stay 1 without the TRUE MSRs");
	cr_expect_eq(c.exit & 0x4, 0x4);
}

Test(kcore_vmx_ctl, no_unrestricted_guest_is_a_clear_error_naming_the_field)
{
	struct vmx_cap_msrs m = haswell();
	m.proc2 = cap(0, 0x00047fff & ~PROC2_UNRESTRICTED);
	struct vmx_ctls c;
	struct vmx_ctl_result r = vmx_ctls_compute(&m, &c);
	cr_expect_eq(r.error, VMX_CTL_FORBIDDEN);
	cr_expect_str_eq(r.field, "proc2");
	cr_expect_eq(r.bits, PROC2_UNRESTRICTED);
	cr_expect_str_eq(vmx_ctl_error_name(r.error), "controls needed but not allowed");
}

Test(kcore_vmx_ctl, no_secondary_controls_means_no_ept)
{
	struct vmx_cap_msrs m = haswell();
	m.true_proc = cap(0x04006172, 0x7ff9fffe);
	struct vmx_ctls c;
	struct vmx_ctl_result r = vmx_ctls_compute(&m, &c);
	cr_expect_eq(r.error, VMX_CTL_FORBIDDEN);
	cr_expect_str_eq(r.field, "proc");
	cr_expect_eq(r.bits, PROC_SECONDARY);
}

Test(kcore_vmx_ctl, no_nmi_exiting_is_refused)
{
	struct vmx_cap_msrs m = haswell();
	m.true_pin = cap(0x16, 0x77);
	struct vmx_ctls c;
	struct vmx_ctl_result r = vmx_ctls_compute(&m, &c);
	cr_expect_eq(r.error, VMX_CTL_FORBIDDEN);
	cr_expect_str_eq(r.field, "pin");
	cr_expect_eq(r.bits, PIN_NMI);
}

Test(kcore_vmx_ctl, forced_acknowledge_interrupt_on_exit_is_refused)
{
	struct vmx_cap_msrs m = haswell();
	m.true_exit = cap(0x00036dfb | EXIT_ACK_INTR, 0x003fffff);
	struct vmx_ctls c;
	struct vmx_ctl_result r = vmx_ctls_compute(&m, &c);
	cr_expect_eq(r.error, VMX_CTL_FORCED);
	cr_expect_str_eq(r.field, "exit");
	cr_expect_eq(r.bits, EXIT_ACK_INTR);
}

Test(kcore_vmx_ctl, no_efer_switching_on_entry_is_refused)
{
	struct vmx_cap_msrs m = haswell();
	m.true_entry = cap(0x000011fb, 0x00007fff);
	struct vmx_ctls c;
	struct vmx_ctl_result r = vmx_ctls_compute(&m, &c);
	cr_expect_eq(r.error, VMX_CTL_FORBIDDEN);
	cr_expect_str_eq(r.field, "entry");
	cr_expect_eq(r.bits, ENTRY_LOAD_EFER);
}

Test(kcore_vmx_ctl, without_virtual_nmis_there_is_no_nmi_window)
{
	struct vmx_cap_msrs m = haswell();
	m.true_pin = cap(0x16, 0x5f);
	struct vmx_ctls c;
	cr_assert_eq(vmx_ctls_compute(&m, &c).error, VMX_CTL_OK);
	cr_expect_not(c.nmi_window);
	cr_expect_eq(c.pin & PIN_VIRTUAL_NMI, 0);
}

Test(kcore_vmx_ctl, ept_without_write_back_tables_is_refused)
{
	struct vmx_cap_msrs m = haswell();
	m.ept_vpid &= ~EPT_CAP_WB;
	struct vmx_ctls c;
	cr_expect_eq(vmx_ctls_compute(&m, &c).error, VMX_CTL_NO_EPT);
}

Test(kcore_vmx_ctl, ept_without_invept_is_refused)
{
	struct vmx_cap_msrs m = haswell();
	m.ept_vpid &= ~(EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL);
	struct vmx_ctls c;
	cr_expect_eq(vmx_ctls_compute(&m, &c).error, VMX_CTL_NO_INVEPT);
}

Test(kcore_vmx_ctl, a_haswell_intercepts_cr8_and_records_what_the_vmm_options_may_use)
{
	struct vmx_cap_msrs m = haswell();
	struct vmx_ctls c;
	cr_assert_eq(vmx_ctls_compute(&m, &c).error, VMX_CTL_OK);
	cr_expect_eq(c.proc & (PROC_CR8_LOAD | PROC_CR8_STORE), PROC_CR8_LOAD | PROC_CR8_STORE,
		     "a guest's MOV to CR8 would reach the host's task priority");
	cr_expect_eq(c.proc & PROC_MSR_BITMAPS, 0, "set per vCPU once it has a bitmap");
	cr_expect(c.msr_bitmaps);
	cr_expect_eq(c.proc_must1, 0x04006172u, "TRUE_PROCBASED's allowed-0 settings");
	cr_expect_eq(c.proc_may1, 0xfff9fffeu);
	cr_expect_eq(c.proc & (PROC_RDTSC | PROC_PAUSE | PROC_INVLPG | PROC_MOV_DR | PROC_MWAIT |
			       PROC_MONITOR),
		     0, "an optional intercept nobody asked for");
}

Test(kcore_vmx_ctl, no_cr8_exiting_is_refused)
{
	struct vmx_cap_msrs m = haswell();
	m.true_proc &= ~((uint64_t)PROC_CR8_LOAD << 32);
	struct vmx_ctls c;
	struct vmx_ctl_result r = vmx_ctls_compute(&m, &c);
	cr_expect_eq(r.error, VMX_CTL_FORBIDDEN);
	cr_expect_str_eq(r.field, "proc");
	cr_expect_eq(r.bits, PROC_CR8_LOAD);
}

Test(kcore_vmx_ctl, without_msr_bitmaps_the_cpu_is_used_and_msrs_always_exit)
{
	struct vmx_cap_msrs m = haswell();
	m.true_proc &= ~((uint64_t)PROC_MSR_BITMAPS << 32);
	struct vmx_ctls c;
	cr_assert_eq(vmx_ctls_compute(&m, &c).error, VMX_CTL_OK);
	cr_expect_not(c.msr_bitmaps);
}

Test(kcore_vmx_ctl, forced_msr_bitmaps_are_refused)
{
	struct vmx_cap_msrs m = haswell();
	m.true_proc |= PROC_MSR_BITMAPS;
	struct vmx_ctls c;
	struct vmx_ctl_result r = vmx_ctls_compute(&m, &c);
	cr_expect_eq(r.error, VMX_CTL_FORCED);
	cr_expect_eq(r.bits, PROC_MSR_BITMAPS);
}

/* Each VINT_* option as the exit controls that give it (SDM vol. 3C table 24-6). */
Test(kcore_vmx_ctl, every_option_maps_to_its_controls_on_a_haswell)
{
	struct vmx_cap_msrs m = haswell();
	struct vmx_ctls c;
	cr_assert_eq(vmx_ctls_compute(&m, &c).error, VMX_CTL_OK);
	static const struct {
		uint32_t vint, set, clear;
	} map[] = {
		{ VINT_RDTSC, PROC_RDTSC, 0 },
		{ VINT_PAUSE, PROC_PAUSE, 0 },
		{ VINT_INVLPG, PROC_INVLPG, 0 },
		{ VINT_DR, PROC_MOV_DR, 0 },
		{ VINT_CR3, PROC_CR3_LOAD | PROC_CR3_STORE, 0 },
		{ VINT_CR8, 0, 0 }, /* always intercepted: who handles it is the option */
		{ VINT_MWAIT, PROC_MWAIT | PROC_MONITOR, 0 },
		{ VINT_HLT_PASS, 0, PROC_HLT },
		{ VINT_XSETBV_PASS, 0, 0 }, /* the kernel handles XSETBV itself on VMX */
	};
	uint32_t all_set = 0, all_clear = 0;
	for (unsigned i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		uint32_t set, clear, bad;
		cr_expect(vmx_ctrl_proc(&c, map[i].vint, &set, &clear, &bad), "VINT %#x",
			  map[i].vint);
		cr_expect_eq(set, map[i].set, "VINT %#x", map[i].vint);
		cr_expect_eq(clear, map[i].clear, "VINT %#x", map[i].vint);
		all_set |= map[i].set;
		all_clear |= map[i].clear;
	}
	uint32_t set, clear, bad;
	cr_expect(vmx_ctrl_proc(&c, VINT_ALL, &set, &clear, &bad));
	cr_expect_eq(set, all_set, "the options together are their union");
	cr_expect_eq(clear, all_clear);
}

Test(kcore_vmx_ctl, without_true_msrs_hlt_pass_is_still_possible_but_not_on_a_cpu_forcing_hlt)
{
	struct vmx_cap_msrs m = haswell();
	m.basic &= ~VMX_BASIC_TRUE_CTLS;
	struct vmx_ctls c;
	cr_assert_eq(vmx_ctls_compute(&m, &c).error, VMX_CTL_OK);
	uint32_t set, clear, bad;
	cr_expect(vmx_ctrl_proc(&c, VINT_HLT_PASS, &set, &clear, &bad));
	m.proc |= PROC_HLT; /* allowed-0 bit 7 set: HLT exiting cannot be 0 */
	cr_assert_eq(vmx_ctls_compute(&m, &c).error, VMX_CTL_OK);
	cr_expect_not(vmx_ctrl_proc(&c, VINT_HLT_PASS | VINT_RDTSC, &set, &clear, &bad));
	cr_expect_eq(bad, VINT_HLT_PASS);
}
