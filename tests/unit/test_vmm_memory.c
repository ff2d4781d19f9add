/* SPDX-License-Identifier: MIT */
/*
 * Specification of guest memory from the VMM's side (vmm/memory.c): guest-physical bounds, the
 * guest-linear walk in every paging mode (Intel SDM vol. 3A 4.3-4.5), copies across pages, the
 * code mode; and of the reset state (vmm/state.c).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "vcpu_check.h"
#include "vmm.h"
#include "x86defs.h"

#define P 0x1ull
#define RW 0x2ull
#define PS 0x80ull
#define NX (1ull << 63)

static struct vm vm;
static struct vireo_vm_state st;

static void setup(void)
{
	vm = (struct vm){ .name = "unit",
			  .ram = calloc(1, GUEST_RAM_SIZE),
			  .ram_size = GUEST_RAM_SIZE,
			  .st = &st };
	cr_assert_not_null(vm.ram);
	vm_reset_state(&st);
}

static void teardown(void)
{
	free(vm.ram);
}

TestSuite(vmm_memory, .init = setup, .fini = teardown);

static void put32(uint64_t gpa, uint32_t v)
{
	memcpy(vm.ram + gpa, &v, 4);
}

static void put64(uint64_t gpa, uint64_t v)
{
	memcpy(vm.ram + gpa, &v, 8);
}

/* The translation of gva, or ~0 if it has none. */
static uint64_t xlate(uint64_t gva)
{
	uint64_t gpa = 0;
	return vm_gva_to_gpa(&vm, gva, &gpa) ? gpa : ~0ull;
}

#define expect_xlate(gva, gpa)                                                                     \
	cr_expect_eq(xlate(gva), (gpa), "%#llx -> %#llx, expected %#llx",                          \
		     (unsigned long long)(gva), (unsigned long long)xlate(gva),                    \
		     (unsigned long long)(gpa))
#define expect_no_xlate(gva) expect_xlate(gva, ~0ull)

static void paging32(uint64_t cr4)
{
	st.cr0 = CR0_PE | CR0_ET | CR0_PG;
	st.cr3 = 0x10000;
	st.cr4 = cr4;
}

static void paging64(void)
{
	st.cr0 = CR0_PE | CR0_ET | CR0_PG;
	st.cr3 = 0x10000;
	st.cr4 = CR4_PAE;
	st.efer = EFER_LME | EFER_LMA;
}

/* ---------------------------------------------------------------- guest-physical */

Test(vmm_memory, gpa_covers_exactly_the_ram)
{
	cr_expect_eq(vm_gpa(&vm, 0, GUEST_RAM_SIZE), vm.ram);
	cr_expect_eq(vm_gpa(&vm, GUEST_RAM_SIZE - 1, 1), vm.ram + GUEST_RAM_SIZE - 1);
	cr_expect_eq(vm_gpa(&vm, 0x7c00, 0), vm.ram + 0x7c00);
	cr_expect_null(vm_gpa(&vm, GUEST_RAM_SIZE - 1, 2));
	cr_expect_null(vm_gpa(&vm, 0, GUEST_RAM_SIZE + 1));
	cr_expect_null(vm_gpa(&vm, GUEST_RAM_SIZE, 0));
	cr_expect_null(vm_gpa(&vm, GUEST_RAM_SIZE, 1));
	cr_expect_null(vm_gpa(&vm, TESTDEV_MMIO_BASE, 4));
}

Test(vmm_memory, gpa_rejects_ranges_that_wrap_around)
{
	cr_expect_null(vm_gpa(&vm, ~0ull, 2));
	cr_expect_null(vm_gpa(&vm, ~0ull - 1, 4));
	cr_expect_null(vm_gpa(&vm, 1, ~0ull));
	cr_expect_null(vm_gpa(&vm, 0x1000, ~0ull - 0xfff));
}

/* ---------------------------------------------------------------- no paging */

Test(vmm_memory, gva_in_real_mode_wraps_at_1mib)
{
	expect_xlate(0x12345, 0x12345);
	expect_xlate(0xfffff, 0xfffff);
	expect_xlate(0xffff0 + 0x20, 0x10); /* FFFF:0020 without A20 */
	expect_xlate(0x10fff0, 0xfff0);
}

Test(vmm_memory, gva_in_protected_mode_without_paging_is_32bit)
{
	st.cr0 = CR0_PE | CR0_ET;
	expect_xlate(0x123456, 0x123456);
	expect_xlate(0xfeb00000, 0xfeb00000);
	expect_xlate(0x100001000ull, 0x1000);
}

/* ---------------------------------------------------------------- 32-bit paging */

Test(vmm_memory, gva_32bit_paging_with_4kib_pages)
{
	paging32(0);
	put32(0x10000 + 0 * 4, 0x11000 | P | RW);
	put32(0x11000 + 7 * 4, 0x5000 | P);
	put32(0x10000 + 0x3ff * 4, 0x12000 | P);
	put32(0x12000 + 0x3ff * 4, 0x6000 | P | RW);
	expect_xlate(0x7abc, 0x5abc);
	expect_xlate(0xffffffff, 0x6fff);
	expect_xlate(0x1ffffffffull, 0x6fff); /* linear addresses are 32-bit */
}

Test(vmm_memory, gva_32bit_paging_with_a_4mib_page)
{
	paging32(CR4_PSE);
	put32(0x10000 + 1 * 4, 0x00000000 | P | PS);
	put32(0x10000 + 2 * 4, 0x00400000 | P | PS | RW);
	expect_xlate(0x00412345, 0x12345);
	expect_xlate(0x007fffff, 0x3fffff);
	expect_xlate(0x00801234, 0x401234);
}

Test(vmm_memory, gva_32bit_paging_ignores_ps_without_cr4_pse)
{
	/* SDM vol. 3A 4.3: with CR4.PSE = 0 a PDE always references a page table. */
	paging32(0);
	put32(0x10000, 0x11000 | P | PS);
	put32(0x11000 + 7 * 4, 0x5000 | P);
	expect_xlate(0x7abc, 0x5abc);
}

Test(vmm_memory, gva_32bit_paging_fails_on_not_present_entries)
{
	paging32(CR4_PSE);
	put32(0x10000 + 0 * 4, 0x11000 | P);
	put32(0x11000 + 1 * 4, 0x5000 | RW);	 /* PTE not present */
	put32(0x10000 + 2 * 4, 0x00400000 | PS); /* 4 MiB PDE not present */
	expect_no_xlate(0x1000);
	expect_no_xlate(0x00801234);
	expect_no_xlate(0x00c00000); /* PDE 3 empty */
}

/* ---------------------------------------------------------------- PAE paging */

Test(vmm_memory, gva_pae_paging_with_a_2mib_page)
{
	paging32(CR4_PAE);
	put64(0x10000 + 1 * 8, 0x11000 | P);
	put64(0x11000 + 1 * 8, 0x000000 | P | PS | RW);
	expect_xlate(0x40212345, 0x12345);
	expect_xlate(0x403fffff, 0x1fffff);
}

Test(vmm_memory, gva_pae_paging_with_4kib_pages)
{
	paging32(CR4_PAE);
	put64(0x10000 + 3 * 8, 0x11000 | P);
	put64(0x11000 + 0x1ff * 8, 0x12000 | P | RW);
	put64(0x12000 + 0x1ff * 8, 0x7000 | P | RW | NX);
	expect_xlate(0xffffffff, 0x7fff);
	expect_xlate(0xfffff123, 0x7123);
}

Test(vmm_memory, gva_pae_pdpt_is_32_byte_aligned)
{
	paging32(CR4_PAE);
	st.cr3 = 0x10020;
	put64(0x10020, 0x11000 | P);
	put64(0x11000, 0x000000 | P | PS);
	expect_xlate(0x1234, 0x1234);
}

Test(vmm_memory, gva_pae_paging_fails_on_not_present_entries)
{
	paging32(CR4_PAE);
	put64(0x10000 + 0 * 8, 0x11000 | P);
	put64(0x11000 + 0 * 8, 0x12000 | P);
	put64(0x12000 + 0 * 8, 0x5000);	       /* PTE not present */
	put64(0x11000 + 1 * 8, 0x200000 | PS); /* 2 MiB PDE not present */
	expect_no_xlate(0x1000);
	expect_no_xlate(0x200000);
	expect_no_xlate(0x400000);   /* PDE 2 empty */
	expect_no_xlate(0x40000000); /* PDPTE 1 empty */
}

/* ---------------------------------------------------------------- 4-level paging */

Test(vmm_memory, gva_4level_paging_with_1gib_2mib_and_4kib_pages)
{
	paging64();
	put64(0x10000 + 0x100 * 8, 0x11000 | P | RW);	/* 0xffff800000000000 */
	put64(0x11000 + 0 * 8, 0x00000000 | P | PS);	/* 1 GiB at 0 */
	put64(0x11000 + 1 * 8, 0x12000 | P | RW);	/* PD */
	put64(0x12000 + 2 * 8, 0x200000 | P | PS | NX); /* 2 MiB at 2 MiB */
	put64(0x12000 + 3 * 8, 0x13000 | P | RW);	/* PT */
	put64(0x13000 + 4 * 8, 0x8000 | P | NX);	/* 4 KiB at 0x8000 */
	expect_xlate(0xffff800000012345ull, 0x12345);
	expect_xlate(0xffff80003fffffffull, 0x3fffffff);
	expect_xlate(0xffff800040412345ull, 0x212345);
	expect_xlate(0xffff800040604abcull, 0x8abc);
}

Test(vmm_memory, gva_4level_paging_fails_on_not_present_entries)
{
	paging64();
	put64(0x10000, 0x11000 | P);
	put64(0x11000 + 0 * 8, 0x12000 | P);
	put64(0x12000 + 0 * 8, 0x13000 | P);
	put64(0x13000 + 0 * 8, 0x5000 | RW);	 /* PTE not present */
	put64(0x12000 + 1 * 8, 0x200000 | PS);	 /* 2 MiB PDE not present */
	put64(0x11000 + 1 * 8, 0x40000000 | PS); /* 1 GiB PDPTE not present */
	expect_no_xlate(0x0);
	expect_no_xlate(0x200000);
	expect_no_xlate(0x40000000);
	expect_no_xlate(0x400000);		/* PDE 2 empty */
	expect_no_xlate(0x80000000);		/* PDPTE 2 empty */
	expect_no_xlate(0x8000000000ull);	/* PML4E 1 empty */
	expect_no_xlate(0xffff800000000000ull); /* PML4E 256 empty */
}

Test(vmm_memory, gva_4level_paging_has_no_512gib_pages)
{
	paging64();
	put64(0x10000, 0x11000 | P | PS); /* PS is reserved in a PML4E: never a page */
	put64(0x11000, 0x40000000 | P | PS);
	cr_expect_neq(xlate(0x12345), 0x12345);
}

Test(vmm_memory, gva_walk_fails_when_a_table_is_outside_ram)
{
	paging64();
	st.cr3 = GUEST_RAM_SIZE;
	expect_no_xlate(0x1000);
	st.cr3 = 0x10000;
	put64(0x10000, (GUEST_RAM_SIZE + 0x1000) | P);
	expect_no_xlate(0x1000);
}

/* ---------------------------------------------------------------- copies */

/* 4-level paging where linear 0x400000 is guest-physical 0x5000 and 0x401000 is 0x9000. */
static void split_pages(void)
{
	paging64();
	put64(0x10000, 0x11000 | P);
	put64(0x11000, 0x12000 | P);
	put64(0x12000 + 2 * 8, 0x13000 | P);
	put64(0x13000 + 0 * 8, 0x5000 | P | RW);
	put64(0x13000 + 1 * 8, 0x9000 | P | RW);
}

Test(vmm_memory, read_gva_crosses_into_a_discontiguous_page)
{
	split_pages();
	memcpy(vm.ram + 0x5ffc, "abcd", 4);
	memcpy(vm.ram + 0x9000, "efgh", 4);
	memcpy(vm.ram + 0x6000, "XXXX", 4);
	char buf[9] = { 0 };
	cr_assert(vm_read_gva(&vm, 0x400ffc, buf, 8));
	cr_expect_str_eq(buf, "abcdefgh");
}

Test(vmm_memory, write_gva_crosses_into_a_discontiguous_page)
{
	split_pages();
	cr_assert(vm_write_gva(&vm, 0x400ffe, "wxyz", 4));
	cr_expect_eq(memcmp(vm.ram + 0x5ffe, "wx", 2), 0);
	cr_expect_eq(memcmp(vm.ram + 0x9000, "yz", 2), 0);
	cr_expect_eq(vm.ram[0x6000], 0);
}

Test(vmm_memory, copy_fails_when_a_later_page_is_not_mapped)
{
	split_pages();
	char buf[8];
	cr_expect(vm_read_gva(&vm, 0x401ff8, buf, 8));
	cr_expect_not(vm_read_gva(&vm, 0x401ffc, buf, 8));
	cr_expect_not(vm_write_gva(&vm, 0x401ffc, buf, 8));
}

Test(vmm_memory, copy_fails_past_the_end_of_ram)
{
	st.cr0 = CR0_PE | CR0_ET;
	char buf[4];
	cr_expect(vm_read_gva(&vm, GUEST_RAM_SIZE - 4, buf, 4));
	cr_expect_not(vm_read_gva(&vm, GUEST_RAM_SIZE - 2, buf, 4));
	cr_expect_not(vm_write_gva(&vm, GUEST_RAM_SIZE, buf, 1));
}

Test(vmm_memory, read_gva_in_real_mode_wraps_at_1mib)
{
	vm.ram[0xffffe] = 'a';
	vm.ram[0xfffff] = 'b';
	vm.ram[0] = 'c';
	vm.ram[1] = 'd';
	char buf[5] = { 0 };
	cr_assert(vm_read_gva(&vm, 0xffffe, buf, 4));
	cr_expect_str_eq(buf, "abcd");
}

/* ---------------------------------------------------------------- code mode */

Test(vmm_memory, code_mode_follows_cr0_efer_and_cs)
{
	cr_expect_eq(vm_code_mode(&st), DECODE_16, "real mode");
	st.cs.attr |= VSEG_ATTR_DB;
	cr_expect_eq(vm_code_mode(&st), DECODE_16, "real mode ignores CS.D");
	st.cr0 |= CR0_PE;
	cr_expect_eq(vm_code_mode(&st), DECODE_32, "CS.D = 1");
	st.cs.attr &= ~VSEG_ATTR_DB;
	cr_expect_eq(vm_code_mode(&st), DECODE_16, "16-bit protected mode");
	st.efer = EFER_LME | EFER_LMA;
	st.cr0 |= CR0_PG;
	st.cs.attr |= VSEG_ATTR_DB;
	cr_expect_eq(vm_code_mode(&st), DECODE_32, "compatibility mode");
	st.cs.attr = (st.cs.attr & ~VSEG_ATTR_DB) | VSEG_ATTR_L;
	cr_expect_eq(vm_code_mode(&st), DECODE_64, "64-bit mode");
	st.efer = EFER_LME;
	cr_expect_eq(vm_code_mode(&st), DECODE_16, "CS.L without LMA");
}

/* ---------------------------------------------------------------- reset state */

Test(vmm_memory, reset_state_is_real_mode_at_0000_7c00_with_dl_0x80)
{
	memset(&st, 0xff, sizeof(st));
	vm_reset_state(&st);
	cr_expect_eq(st.cs.sel, 0);
	cr_expect_eq(st.cs.base, 0);
	cr_expect_eq(st.rip, 0x7c00);
	cr_expect_eq(st.gpr[2], 0x80);
	for (int i = 0; i < 16; i++) {
		if (i != 2) {
			cr_expect_eq(st.gpr[i], 0, "gpr %d", i);
		}
	}
	cr_expect_eq(st.cr0, 0x10);
	cr_expect_eq(st.rflags, 0x2, "IF clear, the fixed bit set");
	cr_expect_eq(st.efer, 0);
	cr_expect_eq(st.cr4, 0);
	cr_expect_eq(vm_code_mode(&st), DECODE_16);
}

Test(vmm_memory, reset_state_has_present_real_mode_segments)
{
	vm_reset_state(&st);
	cr_expect_eq(st.cs.attr, VSEG_ATTR_P | VSEG_ATTR_S | 0xb, "present execute/read code");
	cr_expect_not(st.cs.attr & (VSEG_ATTR_L | VSEG_ATTR_DB | VSEG_ATTR_G));
	cr_expect_eq(st.cs.limit, 0xffff);
	const struct vireo_seg *data[] = { &st.ds, &st.es, &st.fs, &st.gs, &st.ss };
	for (unsigned i = 0; i < 5; i++) {
		cr_expect_eq(data[i]->attr, VSEG_ATTR_P | VSEG_ATTR_S | 0x3, "data segment %u", i);
		cr_expect_eq(data[i]->base, 0);
		cr_expect_eq(data[i]->limit, 0xffff);
		cr_expect_eq(data[i]->sel, 0);
	}
	cr_expect_eq(st.ldtr.attr, VSEG_ATTR_P | 0x2, "LDT");
	cr_expect_eq(st.tr.attr, VSEG_ATTR_P | 0xb, "busy TSS");
	cr_expect_eq(st.idtr.base, 0);
	cr_expect_eq(st.idtr.limit, 0x3ff, "the real-mode IVT");
}

/* The kernel's own entry checks (kernel/vcpu_check.c), then field by field. */
Test(vmm_memory, reset_state_passes_the_kernels_entry_checks)
{
	memset(&st, 0xff, sizeof(st));
	vm_reset_state(&st);
	struct vcpu_cpuid none = { 0 };
	struct vcpu_limits lim = { .cr4_allowed = vcpu_cr4_allowed(&none), .host_xcr0 = 0 };
	cr_expect_eq(vcpu_check_state(&st, &lim), 0, "refused with reason %u",
		     vcpu_check_state(&st, &lim));
	cr_expect_eq(st.xcr0, 1, "XCR0 at reset: x87 only");
	cr_expect_eq(st.cr0 >> 32, 0);
	cr_expect_not((st.cr0 & CR0_PG) && !(st.cr0 & CR0_PE));
	cr_expect_not((st.cr0 & (1ull << 29)) && !(st.cr0 & (1ull << 30)), "NW without CD");
	cr_expect_eq(st.cr4 & ~0x3707ffull, 0, "only CR4 bits the kernel allows");
	cr_expect_eq(st.efer & ~0xd01ull, 0, "only EFER bits the kernel allows");
	cr_expect_eq(!!(st.efer & EFER_LMA), (st.efer & EFER_LME) && (st.cr0 & CR0_PG));
	cr_expect(st.rflags & 0x2);
	cr_expect_eq(st.rflags & ~0x3f7fd7ull, 0, "no reserved RFLAGS bits");
	cr_expect(st.cs.attr & VSEG_ATTR_P);
	cr_expect_not((st.cs.attr & VSEG_ATTR_L) && (st.cs.attr & VSEG_ATTR_DB));
	cr_expect_eq(st.dr6 >> 32, 0);
	cr_expect_eq(st.dr7 >> 32, 0);
	cr_expect_eq(st.dr6, 0xffff0ff0);
	cr_expect_eq(st.dr7, 0x400);
	cr_expect_eq(st.inject, 0);
	cr_expect_eq(st.intr_window, 0);
	cr_expect_eq(st.pat, 0x0007040600070406ull);
}
