/* SPDX-License-Identifier: MIT */
/*
 * Specification of the VMM's exit handlers (vmm/exits.c): a VM with 2 MiB of RAM and the test
 * device of guests/tests/README.md, the exit fields set as the kernel sets them, the guest's
 * instruction bytes in RAM at CS.base + RIP, then vm_handle_exit.
 */
#include <cpuid.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm.h"
#include "x86defs.h"

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8 };

#define MMIO TESTDEV_MMIO_BASE
#define INTR(v) (VEVENT_VALID | VEVENT_TYPE_INTR | (v))

static struct vm vm;
static struct vireo_vm_state st;
static char console[256];
static unsigned console_len;
static uint32_t results[8];
static unsigned nresults;

static void record_console(void *arg, char c)
{
	if (console_len < sizeof(console) - 1) {
		console[console_len++] = c;
	}
}

/* What vmm/main.c's result callback does (main.c makes system calls and is not linked). */
static void record_result(void *arg, uint32_t code)
{
	if (nresults < 8) {
		results[nresults++] = code;
	}
	vm_stop(arg, code == 0 ? VM_PASSED : VM_FAILED, NULL);
}

static void setup(void)
{
	memset(console, 0, sizeof(console));
	console_len = nresults = 0;
	vm = (struct vm){ .name = "unit",
			  .ram = calloc(1, GUEST_RAM_SIZE),
			  .ram_size = GUEST_RAM_SIZE,
			  .st = &st,
			  .status = VM_RUNNING };
	cr_assert_not_null(vm.ram);
	vm_reset_state(&st);
	testdev_init(&vm.dev, record_console, record_result, &vm);
	vm_machine_init(&vm, true);
}

static void teardown(void)
{
	free(vm.ram);
}

TestSuite(vmm_exits, .init = setup, .fini = teardown);

/* 32-bit protected mode, flat segments, no paging. */
static void mode32(void)
{
	st.cr0 = CR0_PE | CR0_ET;
	st.cs.attr |= VSEG_ATTR_DB;
	st.ds.attr |= VSEG_ATTR_DB;
	st.es.attr |= VSEG_ATTR_DB;
	st.ss.attr |= VSEG_ATTR_DB;
}

/* 64-bit mode with the longmode guest's tables: PML4 0x1000, PDPT 0x2000, PD 0x3000, one 2 MiB
 * identity page, so guest-linear addresses below 2 MiB are guest-physical. */
static void mode64(void)
{
	uint64_t e[3] = { 0x2000 | 3, 0x3000 | 3, 0x83 };
	memcpy(vm.ram + 0x1000, &e[0], 8);
	memcpy(vm.ram + 0x2000, &e[1], 8);
	memcpy(vm.ram + 0x3000, &e[2], 8);
	st.cr3 = 0x1000;
	st.cr4 = CR4_PAE;
	st.efer = EFER_LME | EFER_LMA;
	st.cr0 = CR0_PE | CR0_ET | CR0_PG;
	st.cs.attr = VSEG_ATTR_P | VSEG_ATTR_S | 0xb | VSEG_ATTR_L;
}

/* The instruction bytes at CS.base + RIP (paging, where on, is the identity). */
static void put_code(const uint8_t *bytes, size_t n)
{
	memcpy(vm.ram + st.cs.base + st.rip, bytes, n);
}
#define CODE(...)                                                                                  \
	put_code((const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }))

/* The fields the kernel writes at every exit, before the reason-specific ones. */
static void kernel_exit(uint32_t reason)
{
	st.exit = reason;
	st.qual = st.gpa = st.next_rip = 0;
	st.insn_len = 0;
	st.pending = st.pending_err = 0;
	st.inject = 0;
	st.exits++;
}

static bool exit_of(uint32_t reason)
{
	kernel_exit(reason);
	return vm_handle_exit(&vm);
}

static bool io(uint16_t port, unsigned size, bool in)
{
	kernel_exit(VM_EXIT_IO);
	st.io = (struct vireo_vm_io){ .port = port, .size = (uint8_t)size, .in = in };
	return vm_handle_exit(&vm);
}

static bool io_str(uint16_t port, unsigned size, bool in, bool rep)
{
	kernel_exit(VM_EXIT_IO);
	st.io = (struct vireo_vm_io){
		.port = port, .size = (uint8_t)size, .in = in, .string = 1, .rep = rep
	};
	return vm_handle_exit(&vm);
}

static bool mmio(uint64_t gpa)
{
	kernel_exit(VM_EXIT_MMIO);
	st.gpa = gpa;
	return vm_handle_exit(&vm);
}

static void expect_stopped(bool go_on, enum vm_status status)
{
	cr_expect_not(go_on);
	cr_expect_eq(vm.status, status, "status %d, expected %d", vm.status, status);
}

/* ---------------------------------------------------------------- dispatch */

/* For each reason: the guest's instruction, whether the VM goes on and how far RIP moves. */
static const struct {
	uint32_t reason;
	uint8_t code[4];
	bool go_on;
	enum vm_status status;
	unsigned rip_delta;
} dispatch_cases[] = {
	{ VM_EXIT_NONE, { 0x90 }, false, VM_FAILED, 0 },
	{ VM_EXIT_IO, { 0xe6, 0xf8 }, true, VM_RUNNING, 2 },   /* out 0xf8, al */
	{ VM_EXIT_MMIO, { 0x8b, 0x07 }, true, VM_RUNNING, 2 }, /* mov ax, [bx] */
	{ VM_EXIT_CPUID, { 0x0f, 0xa2 }, true, VM_RUNNING, 2 },
	{ VM_EXIT_RDMSR, { 0x0f, 0x32 }, true, VM_RUNNING, 2 },
	{ VM_EXIT_WRMSR, { 0x0f, 0x30 }, true, VM_RUNNING, 2 },
	{ VM_EXIT_HLT, { 0xf4 }, false, VM_STOPPED, 1 },	       /* nothing armed */
	{ VM_EXIT_VMCALL, { 0x0f, 0x01, 0xd9 }, true, VM_RUNNING, 3 }, /* vmmcall */
	{ VM_EXIT_SHUTDOWN, { 0x90 }, false, VM_STOPPED, 0 },
	{ VM_EXIT_INTR_WINDOW, { 0x90 }, true, VM_RUNNING, 0 },
	{ VM_EXIT_EXCEPTION, { 0x90 }, false, VM_FAILED, 0 },
	{ VM_EXIT_INVALID, { 0x90 }, false, VM_FAILED, 0 },
	{ VM_EXIT_RECALL, { 0x90 }, true, VM_RUNNING, 0 },
	{ VM_EXIT_CACHE, { 0x0f, 0x08 }, true, VM_RUNNING, 2 }, /* invd: skipped */
	{ VM_EXIT_OTHER, { 0x90 }, false, VM_FAILED, 0 },
};

Test(vmm_exits, dispatch_sends_every_exit_reason_to_its_handler)
{
	cr_assert_eq(sizeof(dispatch_cases) / sizeof(dispatch_cases[0]), VM_EXIT_OTHER + 1);
	for (unsigned i = 0; i < VM_EXIT_OTHER + 1; i++) {
		teardown();
		setup();
		uint32_t reason = dispatch_cases[i].reason;
		put_code(dispatch_cases[i].code, sizeof(dispatch_cases[i].code));
		kernel_exit(reason);
		st.gpr[RCX] = MSR_STAR; /* an MSR the VMM emulates, for RDMSR and WRMSR */
		st.gpa = MMIO;
		st.io = (struct vireo_vm_io){ .port = TESTDEV_PORT_ECHO, .size = 1 };
		bool go_on = vm_handle_exit(&vm);
		cr_expect_eq(go_on, dispatch_cases[i].go_on, "reason %u", reason);
		cr_expect_eq(vm.status, dispatch_cases[i].status, "reason %u: status %d", reason,
			     vm.status);
		cr_expect_eq(st.rip, GUEST_LOAD_ADDR + dispatch_cases[i].rip_delta,
			     "reason %u: rip %#lx", reason, (unsigned long)st.rip);
		cr_expect_eq(vm.exits_by_reason[reason], 1, "reason %u not counted", reason);
	}
}

Test(vmm_exits, dispatch_of_an_unknown_reason_stops_the_vm_as_failed)
{
	static const uint32_t bad[] = { VM_EXIT_OTHER + 1, 100, 0x80000000u, 0xffffffffu };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vm.status = VM_RUNNING;
		expect_stopped(exit_of(bad[i]), VM_FAILED);
		cr_expect_eq(st.rip, GUEST_LOAD_ADDR);
	}
	for (unsigned r = 0; r <= VM_EXIT_OTHER; r++) {
		cr_expect_eq(vm.exits_by_reason[r], 0, "reason %u counted", r);
	}
}

Test(vmm_exits, dispatch_counts_exits_by_reason)
{
	for (int i = 0; i < 3; i++) {
		CODE(0x0f, 0xa2);
		cr_assert(exit_of(VM_EXIT_CPUID));
	}
	CODE(0xe6, 0xe9); /* out 0xe9, al */
	cr_assert(io(TESTDEV_PORT_CONSOLE, 1, false));
	cr_assert(exit_of(VM_EXIT_RECALL));
	cr_assert(exit_of(VM_EXIT_RECALL));
	cr_expect_eq(vm.exits_by_reason[VM_EXIT_CPUID], 3);
	cr_expect_eq(vm.exits_by_reason[VM_EXIT_IO], 1);
	cr_expect_eq(vm.exits_by_reason[VM_EXIT_RECALL], 2);
	cr_expect_eq(vm.exits_by_reason[VM_EXIT_HLT], 0);
	cr_expect_eq(vm.exits_by_reason[VM_EXIT_NONE], 0);
}

Test(vmm_exits, dispatch_keeps_a_stopped_vm_stopped)
{
	vm_stop(&vm, VM_PASSED, NULL);
	cr_expect_not(exit_of(VM_EXIT_RECALL));
	cr_expect_eq(vm.status, VM_PASSED);
}

Test(vmm_exits, dispatch_with_tracing_handles_the_exit_the_same)
{
	vm.trace = true;
	CODE(0x0f, 0xa2);
	cr_expect(exit_of(VM_EXIT_CPUID));
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 2);
}

/* ---------------------------------------------------------------- port I/O */

Test(vmm_exits, io_echo_in_returns_the_complement_of_the_out_at_each_size)
{
	/* out dx, al / in al, dx */
	st.gpr[RAX] = 0x11223344556677b3;
	CODE(0xee);
	cr_assert(io(TESTDEV_PORT_ECHO, 1, false));
	CODE(0xec);
	st.gpr[RAX] = 0x1122334455667700;
	cr_assert(io(TESTDEV_PORT_ECHO, 1, true));
	cr_expect_eq(st.gpr[RAX], 0x112233445566774c);
	/* out dx, ax / in ax, dx */
	st.gpr[RAX] = 0x112233445566b3c4;
	CODE(0xef);
	cr_assert(io(TESTDEV_PORT_ECHO, 2, false));
	CODE(0xed);
	cr_assert(io(TESTDEV_PORT_ECHO, 2, true));
	cr_expect_eq(st.gpr[RAX], 0x1122334455664c3b);
	/* out dx, eax / in eax, dx */
	st.gpr[RAX] = 0x1122334412345678;
	CODE(0x66, 0xef);
	cr_assert(io(TESTDEV_PORT_ECHO, 4, false));
	CODE(0x66, 0xed);
	cr_assert(io(TESTDEV_PORT_ECHO, 4, true));
	cr_expect_eq(st.gpr[RAX], 0xedcba987);
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 1 + 1 + 1 + 1 + 2 + 2);
}

Test(vmm_exits, io_in_from_the_magic_port_returns_the_low_bytes_of_vire)
{
	static const struct {
		unsigned size;
		uint8_t code[2];
		uint64_t rax;
	} c[] = {
		{ 1, { 0xe4, 0xf4 }, 0xa5a5a5a5a5a5a545 }, /* in al, 0xf4 */
		{ 2, { 0xe5, 0xf4 }, 0xa5a5a5a5a5a55245 }, /* in ax, 0xf4 */
		{ 4, { 0x66, 0xed }, 0x0000000056495245 }, /* in eax, dx */
	};
	for (unsigned i = 0; i < 3; i++) {
		st.gpr[RAX] = 0xa5a5a5a5a5a5a5a5;
		put_code(c[i].code, 2);
		cr_assert(io(TESTDEV_PORT_MAGIC, c[i].size, true));
		cr_expect_eq(st.gpr[RAX], c[i].rax, "size %u: rax %#lx", c[i].size,
			     (unsigned long)st.gpr[RAX]);
	}
}

Test(vmm_exits, io_narrow_in_merges_into_rax_and_32bit_in_zero_extends)
{
	st.gpr[RAX] = 0xfedcba9876543210;
	CODE(0xec);
	cr_assert(io(TESTDEV_PORT_MAGIC, 1, true));
	cr_expect_eq(st.gpr[RAX], 0xfedcba9876543245);
	CODE(0xed);
	cr_assert(io(TESTDEV_PORT_MAGIC, 2, true));
	cr_expect_eq(st.gpr[RAX], 0xfedcba9876545245);
	CODE(0x66, 0xed);
	cr_assert(io(TESTDEV_PORT_MAGIC, 4, true));
	cr_expect_eq(st.gpr[RAX], 0x56495245);
	cr_expect_eq(st.gpr[RDX], 0x80, "other registers untouched");
}

Test(vmm_exits, io_in_from_an_unknown_port_reads_all_ones_of_its_size)
{
	static const struct {
		unsigned size;
		uint8_t code[2];
		uint64_t rax;
	} c[] = {
		{ 1, { 0xe4, 0x84 }, 0x11223344556677ff },
		{ 2, { 0xe5, 0x84 }, 0x112233445566ffff },
		{ 4, { 0x66, 0xed }, 0x00000000ffffffff },
	};
	for (unsigned i = 0; i < 3; i++) {
		st.gpr[RAX] = 0x1122334455667788;
		put_code(c[i].code, 2);
		cr_assert(io(0x84, c[i].size, true));
		cr_expect_eq(st.gpr[RAX], c[i].rax, "size %u: rax %#lx", c[i].size,
			     (unsigned long)st.gpr[RAX]);
	}
}

Test(vmm_exits, io_out_to_an_unknown_port_is_ignored)
{
	st.gpr[RAX] = 0x1234;
	CODE(0xe6, 0x84);
	cr_expect(io(0x84, 1, false));
	cr_expect_eq(vm.status, VM_RUNNING);
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 2);
	cr_expect_eq(console_len, 0);
	cr_expect_eq(nresults, 0);
}

Test(vmm_exits, io_uses_next_rip_when_the_hardware_gives_it)
{
	CODE(0x0f, 0x04); /* not even an instruction: the VMM must not decode it */
	kernel_exit(VM_EXIT_IO);
	st.io = (struct vireo_vm_io){ .port = TESTDEV_PORT_ECHO, .size = 4 };
	st.next_rip = 0x7c05;
	cr_expect(vm_handle_exit(&vm));
	cr_expect_eq(st.rip, 0x7c05);
}

Test(vmm_exits, io_without_next_rip_advances_by_the_decoded_length)
{
	CODE(0x66, 0xe7, 0xf8); /* out 0xf8, eax */
	cr_assert(io(TESTDEV_PORT_ECHO, 4, false));
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 3);
	CODE(0xee); /* out dx, al */
	cr_assert(io(TESTDEV_PORT_ECHO, 1, false));
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 4);
}

Test(vmm_exits, io_prefers_the_hardware_instruction_length)
{
	CODE(0x0f, 0x04);
	kernel_exit(VM_EXIT_IO);
	st.io = (struct vireo_vm_io){ .port = TESTDEV_PORT_ECHO, .size = 1 };
	st.insn_len = 2;
	cr_expect(vm_handle_exit(&vm));
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 2);
}

Test(vmm_exits, io_rip_wraps_at_64k_in_16bit_code)
{
	st.cs.sel = 0x1000;
	st.cs.base = 0x10000;
	st.rip = 0xffff;
	CODE(0xee);
	cr_assert(io(TESTDEV_PORT_ECHO, 1, false));
	cr_expect_eq(st.rip, 0);
}

Test(vmm_exits, io_with_an_undecodable_instruction_stops_the_vm_as_failed)
{
	CODE(0x0f, 0x04);
	expect_stopped(io(TESTDEV_PORT_ECHO, 1, false), VM_FAILED);
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR);
}

Test(vmm_exits, io_console_port_passes_bytes_to_the_console)
{
	const char *s = "ok\n";
	for (const char *p = s; *p; p++) {
		st.gpr[RAX] = 0x4100 | (uint8_t)*p;
		CODE(0xe6, 0xe9);
		cr_assert(io(TESTDEV_PORT_CONSOLE, 1, false));
	}
	cr_expect_str_eq(console, "ok\n");
}

Test(vmm_exits, io_result_port_zero_passes_the_guest)
{
	st.gpr[RAX] = 0xffffffff00000000; /* only EAX is written */
	CODE(0x66, 0xe7, 0xf0);		  /* out 0xf0, eax */
	expect_stopped(io(TESTDEV_PORT_RESULT, 4, false), VM_PASSED);
	cr_assert_eq(nresults, 1);
	cr_expect_eq(results[0], 0);
}

Test(vmm_exits, io_result_port_non_zero_fails_the_guest_with_that_code)
{
	st.gpr[RAX] = 17;
	CODE(0x66, 0xe7, 0xf0);
	expect_stopped(io(TESTDEV_PORT_RESULT, 4, false), VM_FAILED);
	cr_assert_eq(nresults, 1);
	cr_expect_eq(results[0], 17);
}

/* ---------------------------------------------------------------- string I/O */

Test(vmm_exits, io_rep_outsb_reads_ds_si_through_the_segment_base_in_real_mode)
{
	st.ds = (struct vireo_seg){
		.sel = 0x2000, .attr = st.ds.attr, .limit = 0xffff, .base = 0x20000
	};
	memcpy(vm.ram + 0x20100, "hello", 5);
	memcpy(vm.ram + 0x100, "WRONG", 5);
	st.gpr[RSI] = 0xaaaa000000000100;
	st.gpr[RCX] = 0xbbbb000000000005;
	CODE(0xf3, 0x6e); /* rep outsb */
	cr_assert(io_str(TESTDEV_PORT_CONSOLE, 1, false, true));
	cr_expect_str_eq(console, "hello");
	cr_expect_eq(st.gpr[RSI], 0xaaaa000000000105);
	cr_expect_eq(st.gpr[RCX], 0xbbbb000000000000);
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 2);
}

Test(vmm_exits, io_rep_insd_with_df_set_fills_es_di_downwards)
{
	st.es = (struct vireo_seg){
		.sel = 0x3000, .attr = st.es.attr, .limit = 0xffff, .base = 0x30000
	};
	st.ds.base = 0x40000; /* INS writes through ES, never DS */
	st.rflags |= RFLAGS_DF;
	st.gpr[RDI] = 0x20;
	st.gpr[RCX] = 3;
	memset(vm.ram + 0x30000, 0xcc, 0x40);
	CODE(0xf3, 0x66, 0x6d); /* rep insd */
	cr_assert(io_str(TESTDEV_PORT_MAGIC, 4, true, true));
	for (uint64_t a = 0x30018; a <= 0x30020; a += 4) {
		uint32_t v;
		memcpy(&v, vm.ram + a, 4);
		cr_expect_eq(v, TESTDEV_MAGIC, "at %#lx: %#x", (unsigned long)a, v);
	}
	cr_expect_eq(vm.ram[0x30024], 0xcc, "above the first element");
	cr_expect_eq(vm.ram[0x30017], 0xcc, "below the last element");
	cr_expect_eq(vm.ram[0x40020], 0);
	cr_expect_eq(st.gpr[RDI], 0x14);
	cr_expect_eq(st.gpr[RCX], 0);
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 3);
}

Test(vmm_exits, io_addr32_prefix_in_16bit_code_uses_esi_and_ecx)
{
	memcpy(vm.ram + 0x12340, "ab", 2);
	st.gpr[RSI] = 0x7777777700012340;
	st.gpr[RCX] = 0x8888888800000002;
	CODE(0x67, 0xf3, 0x6e); /* addr32 rep outsb */
	cr_assert(io_str(TESTDEV_PORT_CONSOLE, 1, false, true));
	cr_expect_str_eq(console, "ab");
	cr_expect_eq(st.gpr[RSI], 0x7777777700012342);
	cr_expect_eq(st.gpr[RCX], 0x8888888800000000);
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 3);
}

/* Exits of one REP string instruction until the guest gets past it (at most `limit`). */
static unsigned rep_exits(uint16_t port, unsigned size, bool in, unsigned limit)
{
	uint64_t start = st.rip;
	unsigned n = 0;
	while (st.rip == start && n < limit) {
		cr_assert(io_str(port, size, in, true), "exit %u", n);
		n++;
	}
	return n;
}

Test(vmm_exits, io_addr32_rep_count_goes_beyond_64k)
{
	st.gpr[RSI] = 0x10000;
	st.gpr[RCX] = 0x10002;
	CODE(0x67, 0xf3, 0x6e); /* addr32 rep outsb, to a port nobody decodes */
	rep_exits(0x84, 1, false, 0x10002);
	cr_expect_eq(st.gpr[RSI], 0x20002);
	cr_expect_eq(st.gpr[RCX], 0);
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 3);
}

Test(vmm_exits, io_rep_string_moves_at_most_vmm_rep_max_elements_per_exit)
{
	st.gpr[RSI] = 0x10000;
	st.gpr[RCX] = 2 * VMM_REP_MAX + 5;
	CODE(0x67, 0xf3, 0x6e); /* addr32 rep outsb */
	cr_assert(io_str(0x84, 1, false, true));
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR, "RIP stays at the REP instruction: it runs again");
	cr_expect_eq(st.gpr[RCX], VMM_REP_MAX + 5, "ECX counts the elements still to move");
	cr_expect_eq(st.gpr[RSI], 0x10000 + VMM_REP_MAX);
	cr_expect_eq(st.inject, 0, "an interruptible REP is no fault");
	cr_expect_eq(rep_exits(0x84, 1, false, 10), 2, "the rest takes two more exits");
	cr_expect_eq(st.gpr[RCX], 0);
	cr_expect_eq(st.gpr[RSI], 0x10000 + 2 * VMM_REP_MAX + 5);
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 3);
}

Test(vmm_exits, io_rep_string_with_a_huge_count_returns_after_one_bounded_exit, .timeout = 20)
{
	mode64();
	st.gpr[RDI] = 0x100000;
	st.gpr[RCX] =
		~0ull; /* 2^64 - 1 elements: without a bound, the VMM's thread never returns */
	st.rflags |= RFLAGS_DF;
	CODE(0xf3, 0x6c); /* rep insb, downwards: one element for each exit's bound fits below */
	cr_assert(io_str(0x84, 1, true, true));
	cr_expect_eq(st.gpr[RCX], ~0ull - VMM_REP_MAX);
	cr_expect_eq(st.gpr[RDI], 0x100000 - VMM_REP_MAX);
	cr_expect_eq(vm.ram[0x100000], 0xff, "a floating port reads all ones");
	cr_expect_eq(vm.ram[0x100000 - VMM_REP_MAX], 0, "below the last element of this exit");
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR);
}

Test(vmm_exits, io_rep_string_lets_an_armed_irq_in_between_two_parts)
{
	vm.dev.irq_armed = 0x30;
	st.guest_if = 1;
	st.gpr[RSI] = 0x1000;
	st.gpr[RCX] = VMM_REP_MAX + 1;
	CODE(0xf3, 0x6e);
	cr_assert(io_str(0x84, 1, false, true));
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR);
	cr_expect_eq(st.inject, INTR(0x30), "the interrupt comes before the rest of the REP");
	cr_expect_eq(st.gpr[RCX], 1);
}

Test(vmm_exits, io_16bit_string_address_wraps_si_within_the_segment)
{
	st.ds.base = 0x20000;
	vm.ram[0x2ffff] = 'x';
	vm.ram[0x20000] = 'y';
	st.gpr[RSI] = 0x5ffff; /* bits above SI are not part of the address */
	st.gpr[RCX] = 2;
	CODE(0xf3, 0x6e);
	cr_assert(io_str(TESTDEV_PORT_CONSOLE, 1, false, true));
	cr_expect_str_eq(console, "xy");
	cr_expect_eq(st.gpr[RSI], 0x50001);
}

Test(vmm_exits, io_string_without_rep_moves_one_element_and_keeps_cx)
{
	st.gpr[RDI] = 0x500;
	st.gpr[RCX] = 7;
	CODE(0x6c); /* insb */
	cr_assert(io_str(TESTDEV_PORT_MAGIC, 1, true, false));
	cr_expect_eq(vm.ram[0x500], 0x45);
	cr_expect_eq(vm.ram[0x501], 0);
	cr_expect_eq(st.gpr[RDI], 0x501);
	cr_expect_eq(st.gpr[RCX], 7);
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 1);
}

Test(vmm_exits, io_rep_string_with_cx_zero_moves_nothing)
{
	st.gpr[RSI] = 0x600;
	vm.ram[0x600] = 'z';
	st.gpr[RCX] = 0;
	CODE(0xf3, 0x6e);
	cr_assert(io_str(TESTDEV_PORT_CONSOLE, 1, false, true));
	cr_expect_eq(console_len, 0);
	cr_expect_eq(st.gpr[RSI], 0x600);
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 2);
}

Test(vmm_exits, io_rep_outsw_writes_each_word_to_the_port)
{
	uint16_t words[2] = { 0x1111, 0xabcd };
	memcpy(vm.ram + 0x700, words, sizeof(words));
	st.gpr[RSI] = 0x700;
	st.gpr[RCX] = 2;
	CODE(0xf3, 0x6f); /* rep outsw */
	cr_assert(io_str(TESTDEV_PORT_ECHO, 2, false, true));
	cr_expect_eq(vm.dev.echo, 0xabcd);
	cr_expect_eq(st.gpr[RSI], 0x704);
}

Test(vmm_exits, io_outs_honours_a_segment_override)
{
	st.ds.base = 0x20000;
	st.fs = (struct vireo_seg){
		.sel = 0x3000, .attr = st.ds.attr, .limit = 0xffff, .base = 0x30000
	};
	memcpy(vm.ram + 0x20010, "ds", 2);
	memcpy(vm.ram + 0x30010, "fs", 2);
	st.gpr[RSI] = 0x10;
	st.gpr[RCX] = 2;
	CODE(0x64, 0xf3, 0x6e); /* rep outsb fs:[si] */
	cr_assert(io_str(TESTDEV_PORT_CONSOLE, 1, false, true));
	cr_expect_str_eq(console, "fs");
}

Test(vmm_exits, io_ins_writes_es_whatever_the_segment_prefix)
{
	st.es.base = 0x20000;
	st.fs.base = 0x30000;
	st.gpr[RDI] = 0x10;
	CODE(0x64, 0x6c); /* fs insb: the destination cannot be overridden */
	cr_assert(io_str(TESTDEV_PORT_MAGIC, 1, true, false));
	cr_expect_eq(vm.ram[0x20010], 0x45);
	cr_expect_eq(vm.ram[0x30010], 0);
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 2);
}

Test(vmm_exits, io_string_to_memory_outside_ram_stops_the_vm_as_failed)
{
	mode32();
	st.es.base = GUEST_RAM_SIZE - 2;
	st.gpr[RDI] = 0;
	st.gpr[RCX] = 1;
	CODE(0xf3, 0x6d); /* rep insd: 4 bytes, only 2 of them RAM */
	expect_stopped(io_str(TESTDEV_PORT_MAGIC, 4, true, true), VM_FAILED);
}

Test(vmm_exits, io_string_in_64bit_mode_uses_rsi_rcx_whole_and_no_ds_base)
{
	mode64();
	st.ds.base = 0x10000; /* a stale base: 64-bit mode ignores it */
	memcpy(vm.ram + 0x1800, "64", 2);
	st.gpr[RSI] = 0x1800;
	st.gpr[RCX] = 2;
	CODE(0xf3, 0x6e);
	cr_assert(io_str(TESTDEV_PORT_CONSOLE, 1, false, true));
	cr_expect_str_eq(console, "64");
	cr_expect_eq(st.gpr[RSI], 0x1802);
	cr_expect_eq(st.gpr[RCX], 0);
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 2);
}

/* ---------------------------------------------------------------- MMIO */

static uint64_t mmio_reg(void)
{
	return vm.dev.mmio_reg;
}

Test(vmm_exits, mmio_32bit_load_of_offset_0_reads_the_device_id)
{
	mode32();
	st.gpr[RAX] = 0xffffffffffffffff;
	CODE(0x8b, 0x03); /* mov eax, [ebx] */
	cr_assert(mmio(MMIO));
	cr_expect_eq(st.gpr[RAX], TESTDEV_MMIO_ID);
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 2);
}

Test(vmm_exits, mmio_loads_and_stores_with_each_32bit_addressing_form)
{
	mode32();
	static const struct {
		uint8_t code[8];
		unsigned len;
		bool store;
		unsigned reg;
	} c[] = {
		{ { 0xa3, 0x04, 0x00, 0xb0, 0xfe }, 5, true, RAX },  /* mov [moffs], eax */
		{ { 0xa1, 0x04, 0x00, 0xb0, 0xfe }, 5, false, RAX }, /* mov eax, [moffs] */
		{ { 0x89, 0x4b, 0x04 }, 3, true, RCX },		     /* mov [ebx+4], ecx */
		{ { 0x8b, 0x53, 0x04 }, 3, false, RDX },	     /* mov edx, [ebx+4] */
		{ { 0x89, 0xb3, 0x04, 0, 0, 0 }, 6, true, RSI },     /* mov [ebx+disp32], esi */
		{ { 0x8b, 0xbb, 0x04, 0, 0, 0 }, 6, false, RDI },    /* mov edi, [ebx+disp32] */
		{ { 0x89, 0x6c, 0x8b, 0x04 }, 4, true, RBP },	     /* mov [ebx+ecx*4+4], ebp */
		{ { 0x8b, 0x04, 0x8d, 0x04, 0, 0xb0, 0xfe }, 7, false, RAX }, /* [ecx*4+d32] */
	};
	for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		uint64_t v = 0x1000 * (i + 1) + 0x5a;
		if (c[i].store) {
			st.gpr[c[i].reg] = 0xdead000000000000 | v;
		} else {
			st.gpr[c[i].reg] = 0xdeadbeefdeadbeef;
		}
		uint64_t rip = st.rip;
		put_code(c[i].code, c[i].len);
		cr_assert(mmio(MMIO + 4), "case %u", i);
		cr_expect_eq(st.rip, rip + c[i].len, "case %u: rip %#lx", i, (unsigned long)st.rip);
		if (c[i].store) {
			cr_expect_eq(mmio_reg(), v, "case %u: stored %#lx", i,
				     (unsigned long)mmio_reg());
		} else {
			cr_expect_eq(st.gpr[c[i].reg], 0x1000 * i + 0x5a, "case %u: loaded %#lx", i,
				     (unsigned long)st.gpr[c[i].reg]);
		}
	}
}

Test(vmm_exits, mmio_byte_and_word_accesses_touch_only_their_width)
{
	mode32();
	st.gpr[RCX] = 0x1122334455667788;
	CODE(0x66, 0x89, 0x0b); /* mov [ebx], cx */
	cr_assert(mmio(MMIO + 4));
	cr_expect_eq(mmio_reg(), 0x7788);
	CODE(0x66, 0x8b, 0x13); /* mov dx, [ebx] */
	st.gpr[RDX] = 0xaaaaaaaaaaaaaaaa;
	cr_assert(mmio(MMIO + 4));
	cr_expect_eq(st.gpr[RDX], 0xaaaaaaaaaaaa7788);
	CODE(0x88, 0x0b); /* mov [ebx], cl */
	cr_assert(mmio(MMIO + 4));
	cr_expect_eq(mmio_reg(), 0x88);
	CODE(0x8a, 0x13); /* mov dl, [ebx] */
	cr_assert(mmio(MMIO + 4));
	cr_expect_eq(st.gpr[RDX], 0xaaaaaaaaaaaa7788);
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 3 + 3 + 2 + 2);
}

Test(vmm_exits, mmio_ah_is_the_second_byte_of_rax)
{
	mode32();
	st.gpr[RAX] = 0x1234;
	CODE(0x88, 0x63, 0x04); /* mov [ebx+4], ah */
	cr_assert(mmio(MMIO + 4));
	cr_expect_eq(mmio_reg(), 0x12);
	vm.dev.mmio_reg = 0x9a;
	CODE(0x8a, 0x7b, 0x04); /* mov bh, [ebx+4] */
	st.gpr[RBX] = 0xffff;
	cr_assert(mmio(MMIO + 4));
	cr_expect_eq(st.gpr[RBX], 0x9aff);
	cr_expect_eq(st.gpr[RDI], 0, "not rdi");
}

Test(vmm_exits, mmio_movzx_and_movsx_extend_what_they_read)
{
	mode32();
	vm.dev.mmio_reg = 0x8081;
	st.gpr[RAX] = ~0ull;
	CODE(0x0f, 0xb6, 0x43, 0x04); /* movzx eax, byte [ebx+4] */
	cr_assert(mmio(MMIO + 4));
	cr_expect_eq(st.gpr[RAX], 0x81);
	CODE(0x0f, 0xbe, 0x43, 0x04); /* movsx eax, byte [ebx+4] */
	cr_assert(mmio(MMIO + 4));
	cr_expect_eq(st.gpr[RAX], 0xffffff81);
	CODE(0x0f, 0xb7, 0x4b, 0x04); /* movzx ecx, word [ebx+4] */
	cr_assert(mmio(MMIO + 4));
	cr_expect_eq(st.gpr[RCX], 0x8081);
	CODE(0x0f, 0xbf, 0x53, 0x04); /* movsx edx, word [ebx+4] */
	cr_assert(mmio(MMIO + 4));
	cr_expect_eq(st.gpr[RDX], 0xffff8081);
	st.gpr[RSI] = 0x5555555555555555;
	CODE(0x66, 0x0f, 0xbe, 0x73, 0x04); /* movsx si, byte [ebx+4] */
	cr_assert(mmio(MMIO + 4));
	cr_expect_eq(st.gpr[RSI], 0x555555555555ff81);
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 4 * 4 + 5);
}

Test(vmm_exits, mmio_stores_immediates_of_each_size)
{
	mode32();
	CODE(0xc7, 0x43, 0x04, 0x78, 0x56, 0x34, 0x12); /* mov dword [ebx+4], 0x12345678 */
	cr_assert(mmio(MMIO + 4));
	cr_expect_eq(mmio_reg(), 0x12345678);
	CODE(0x66, 0xc7, 0x43, 0x04, 0xcd, 0xab); /* mov word [ebx+4], 0xabcd */
	cr_assert(mmio(MMIO + 4));
	cr_expect_eq(mmio_reg(), 0xabcd);
	CODE(0xc6, 0x05, 0x04, 0x00, 0xb0, 0xfe, 0xef); /* mov byte [0xfeb00004], 0xef */
	cr_assert(mmio(MMIO + 4));
	cr_expect_eq(mmio_reg(), 0xef);
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 7 + 6 + 7);
}

Test(vmm_exits, mmio_in_16bit_code_uses_16bit_operands_and_addressing)
{
	st.gpr[RAX] = 0xffffffffffffffff;
	CODE(0x8b, 0x07); /* mov ax, [bx] */
	cr_assert(mmio(MMIO));
	cr_expect_eq(st.gpr[RAX], 0xffffffffffff494f);
	st.gpr[RDX] = 0x0102030405060708;
	CODE(0x66, 0x89, 0x57, 0x04); /* mov [bx+4], edx */
	cr_assert(mmio(MMIO + 4));
	cr_expect_eq(mmio_reg(), 0x05060708);
	CODE(0x67, 0x66, 0x8b, 0x0b); /* mov ecx, [ebx] */
	cr_assert(mmio(MMIO));
	cr_expect_eq(st.gpr[RCX], TESTDEV_MMIO_ID);
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 2 + 4 + 4);
}

Test(vmm_exits, mmio_in_64bit_code_handles_rex_and_8byte_accesses)
{
	mode64();
	st.gpr[RAX] = 0x0123456789abcdef;
	CODE(0x48, 0x89, 0x43, 0x04); /* mov [rbx+4], rax */
	cr_assert(mmio(MMIO + 4));
	cr_expect_eq(mmio_reg(), 0x0123456789abcdef);
	CODE(0x4c, 0x8b, 0x43, 0x04); /* mov r8, [rbx+4] */
	cr_assert(mmio(MMIO + 4));
	cr_expect_eq(st.gpr[R8], 0x0123456789abcdef);
	st.gpr[R8] = 0xffffffff00000000;
	CODE(0x44, 0x8b, 0x03); /* mov r8d, [rbx] */
	cr_assert(mmio(MMIO));
	cr_expect_eq(st.gpr[R8], TESTDEV_MMIO_ID);
	CODE(0x8b, 0x04, 0x25, 0x04, 0x00, 0xb0, 0xfe); /* mov eax, [0xfeb00004] */
	cr_assert(mmio(MMIO + 4));
	cr_expect_eq(st.gpr[RAX], 0x89abcdef);
	CODE(0x8b, 0x0d, 0x00, 0x10, 0x00, 0x00); /* mov ecx, [rip + 0x1000] */
	cr_assert(mmio(MMIO));
	cr_expect_eq(st.gpr[RCX], TESTDEV_MMIO_ID);
	CODE(0x48, 0xc7, 0x43, 0x04, 0xfe, 0xff, 0xff, 0xff); /* mov qword [rbx+4], -2 */
	cr_assert(mmio(MMIO + 4));
	cr_expect_eq(mmio_reg(), 0xfffffffffffffffe);
	CODE(0x48, 0x63, 0x53, 0x04); /* movsxd rdx, dword [rbx+4] */
	cr_assert(mmio(MMIO + 4));
	cr_expect_eq(st.gpr[RDX], 0xfffffffffffffffe);
	st.gpr[RSP] = 0x77;
	CODE(0x40, 0x88, 0x63, 0x04); /* mov [rbx+4], spl (with REX, not AH) */
	cr_assert(mmio(MMIO + 4));
	cr_expect_eq(mmio_reg(), 0x77);
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 4 + 4 + 3 + 7 + 6 + 8 + 4 + 4);
}

Test(vmm_exits, mmio_reads_of_other_offsets_return_zero)
{
	mode32();
	vm.dev.mmio_reg = 0x1234;
	st.gpr[RAX] = ~0ull;
	CODE(0x8b, 0x43, 0x08); /* mov eax, [ebx+8] */
	cr_assert(mmio(MMIO + 8));
	cr_expect_eq(st.gpr[RAX], 0);
}

Test(vmm_exits, mmio_by_an_alu_instruction_stops_the_vm_as_failed)
{
	mode32();
	CODE(0x01, 0x03); /* add [ebx], eax */
	expect_stopped(mmio(MMIO + 4), VM_FAILED);
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR);
	cr_expect_eq(mmio_reg(), 0);
}

Test(vmm_exits, mmio_by_other_instructions_it_cannot_emulate_stops_the_vm_as_failed)
{
	static const uint8_t c[][4] = {
		{ 0x85, 0x03 }, /* test [ebx], eax */
		{ 0xff, 0x03 }, /* inc dword [ebx] */
		{ 0x87, 0x03 }, /* xchg [ebx], eax */
		{ 0x0f, 0x04 }, /* undecodable */
		{ 0xf3, 0xab }, /* rep stosd */
	};
	for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		teardown();
		setup();
		mode32();
		put_code(c[i], 4);
		expect_stopped(mmio(MMIO + 4), VM_FAILED);
		cr_expect_eq(st.rip, GUEST_LOAD_ADDR, "case %u", i);
	}
}

/* Nothing on the bus there (or an access straddling the window's end): a floating bus. */
Test(vmm_exits, mmio_outside_the_window_reads_all_ones_and_the_guest_goes_on)
{
	static const uint64_t gpa[] = { MMIO - 4, MMIO + TESTDEV_MMIO_SIZE, MMIO + 0xffe,
					0xfee00000 };
	for (unsigned i = 0; i < sizeof(gpa) / sizeof(gpa[0]); i++) {
		teardown();
		setup();
		mode32();
		st.gpr[RAX] = 0;
		CODE(0x8b, 0x03); /* mov eax, [ebx]: 2 bytes */
		cr_expect(mmio(gpa[i]), "case %u", i);
		cr_expect_eq(st.gpr[RAX], 0xffffffffu, "case %u", i);
		cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 2, "case %u", i);
	}
}

Test(vmm_exits, mmio_at_the_last_bytes_of_the_window_is_emulated)
{
	mode32();
	CODE(0x8b, 0x03);
	cr_expect(mmio(MMIO + TESTDEV_MMIO_SIZE - 4));
	cr_expect_eq(st.gpr[RAX], 0);
}

/* ---------------------------------------------------------------- fetching the instruction */

Test(vmm_exits, fetch_near_the_end_of_ram_decodes_the_bytes_that_are_there)
{
	mode32();
	st.rip = GUEST_RAM_SIZE - 2;
	CODE(0x0f, 0xa2); /* cpuid, the last two bytes of RAM */
	st.gpr[RAX] = 0;
	cr_expect(exit_of(VM_EXIT_CPUID));
	cr_expect_eq(st.rip, GUEST_RAM_SIZE);
}

Test(vmm_exits, fetch_of_an_instruction_cut_by_the_end_of_ram_fails)
{
	mode32();
	st.rip = GUEST_RAM_SIZE - 2;
	CODE(0x0f, 0x01); /* vmmcall needs a third byte */
	expect_stopped(exit_of(VM_EXIT_VMCALL), VM_FAILED);
	cr_expect_eq(st.rip, GUEST_RAM_SIZE - 2);
}

Test(vmm_exits, fetch_outside_ram_fails)
{
	mode32();
	st.rip = GUEST_RAM_SIZE + 0x100;
	expect_stopped(exit_of(VM_EXIT_CPUID), VM_FAILED);
}

Test(vmm_exits, fetch_goes_through_the_guest_page_tables)
{
	mode64();
	/* Linear 0x200000 .. 0x3fffff maps to guest-physical 0 .. 0x1fffff: PD entry 1. */
	uint64_t pde = 0x83;
	memcpy(vm.ram + 0x3008, &pde, 8);
	st.rip = 0x200100;
	memcpy(vm.ram + 0x100, (const uint8_t[]){ 0x0f, 0x01, 0xd9 }, 3);
	st.gpr[RAX] = 2;
	cr_expect(exit_of(VM_EXIT_VMCALL));
	cr_expect_eq(st.rip, 0x200103);
	cr_expect_eq(st.gpr[RAX], 0x10000);
}

/* ---------------------------------------------------------------- CPUID */

static void host_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
}

static void guest_cpuid(uint32_t leaf, uint32_t sub)
{
	st.gpr[RAX] = leaf;
	st.gpr[RCX] = sub;
	CODE(0x0f, 0xa2);
	cr_assert(exit_of(VM_EXIT_CPUID));
}

/* What the guest must see in place of the host's bits `hidden` of a register. */
static void expect_host_minus(uint64_t got, uint32_t host, uint32_t hidden, const char *what)
{
	cr_expect_eq(got, host & ~hidden, "%s: %#lx, host %#x", what, (unsigned long)got, host);
}

Test(vmm_exits, cpuid_leaf_0_reports_the_host_vendor_and_highest_leaf)
{
	uint32_t h[4];
	host_cpuid(0, 0, h);
	st.gpr[RBX] = st.gpr[RCX] = st.gpr[RDX] = ~0ull;
	guest_cpuid(0, 0);
	cr_expect_eq(st.gpr[RAX], h[0], "the highest leaf is the host's");
	cr_expect_eq(st.gpr[RBX], h[1]);
	cr_expect_eq(st.gpr[RDX], h[3]);
	cr_expect_eq(st.gpr[RCX], h[2]);
	char vendor[13] = { 0 }, host[13] = { 0 };
	memcpy(vendor, &st.gpr[RBX], 4);
	memcpy(vendor + 4, &st.gpr[RDX], 4);
	memcpy(vendor + 8, &st.gpr[RCX], 4);
	memcpy(host, &h[1], 4);
	memcpy(host + 4, &h[3], 4);
	memcpy(host + 8, &h[2], 4);
	cr_expect_str_eq(vendor, host);
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 2);
}

Test(vmm_exits, cpuid_takes_the_leaf_from_eax_only)
{
	st.gpr[RBX] = 0;
	st.gpr[RAX] = 0xffffffff40000000;
	st.gpr[RCX] = 0;
	CODE(0x0f, 0xa2);
	cr_assert(exit_of(VM_EXIT_CPUID));
	cr_expect_eq(st.gpr[RBX], 0x65726956);
}

Test(vmm_exits, cpuid_hypervisor_leaf_names_vireo)
{
	guest_cpuid(0x40000000, 0);
	cr_expect_eq(st.gpr[RAX], 0x40000001);
	cr_expect_eq(st.gpr[RBX], 0x65726956);
	cr_expect_eq(st.gpr[RCX], 0x4d4d566f);
	cr_expect_eq(st.gpr[RDX], 0);
}

Test(vmm_exits, cpuid_hypervisor_leaves_past_the_signature_are_zero)
{
	/* Under a host hypervisor these leaves hold its features, not this VMM's. */
	static const uint32_t leaves[] = { 0x40000001, 0x40000010, 0x40000100, 0x4fffffff };
	for (unsigned i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
		st.gpr[RBX] = st.gpr[RDX] = ~0ull;
		guest_cpuid(leaves[i], 0);
		cr_expect_eq(st.gpr[RAX] | st.gpr[RBX] | st.gpr[RCX] | st.gpr[RDX], 0, "leaf %#x",
			     leaves[i]);
	}
}

/* Leaf 1 bits the VMM cannot back: VMX, SMX, x2APIC, TSC deadline, MONITOR; the local APIC,
 * machine checks and MTRRs (no model of them, their MSRs raise #GP). */
#define LEAF1_ECX_HIDDEN                                                                           \
	(CPUID_1_ECX_VMX | CPUID_1_ECX_SMX | CPUID_1_ECX_X2APIC | CPUID_1_ECX_TSC_DEADLINE |       \
	 CPUID_1_ECX_MONITOR | CPUID_1_ECX_PDCM)
#define LEAF1_EDX_HIDDEN (CPUID_1_EDX_APIC | CPUID_1_EDX_MCE | CPUID_1_EDX_MCA | CPUID_1_EDX_MTRR)

Test(vmm_exits, cpuid_leaf_1_is_the_hosts_minus_what_the_vmm_does_not_emulate)
{
	uint32_t h[4];
	host_cpuid(1, 0, h);
	guest_cpuid(1, 0);
	cr_expect(st.gpr[RCX] & CPUID_1_ECX_HYPERVISOR, "hypervisor present");
	cr_expect_not(st.gpr[RCX] & CPUID_1_ECX_VMX, "no VMX");
	cr_expect_not(st.gpr[RCX] & CPUID_1_ECX_X2APIC, "no x2APIC");
	cr_expect_not(st.gpr[RDX] & CPUID_1_EDX_APIC, "no local APIC");
	uint32_t own = CPUID_1_ECX_HYPERVISOR | CPUID_1_ECX_OSXSAVE;
	expect_host_minus(st.gpr[RCX] & ~own, h[2] & ~own, LEAF1_ECX_HIDDEN, "ECX");
	expect_host_minus(st.gpr[RDX], h[3],
			  LEAF1_EDX_HIDDEN | X86_BIT(21) | X86_BIT(22) | X86_BIT(29) | X86_BIT(31),
			  "EDX");
	cr_expect_eq(st.gpr[RAX], h[0], "family, model and stepping are the host's");
	cr_expect_eq(st.gpr[RBX] & 0xffffff, h[1] & 0xffffff, "EBX below the APIC ID");
	cr_expect_eq(st.gpr[RBX] >> 24, 0, "the one vCPU has APIC ID 0");
}

Test(vmm_exits, cpuid_leaf_1_osxsave_mirrors_the_guest_cr4)
{
	uint32_t h[4];
	host_cpuid(1, 0, h);
	st.cr4 = 0;
	guest_cpuid(1, 0);
	cr_expect_not(st.gpr[RCX] & CPUID_1_ECX_OSXSAVE, "the guest has not set CR4.OSXSAVE");
	st.cr4 = CR4_OSXSAVE;
	st.rip = GUEST_LOAD_ADDR;
	guest_cpuid(1, 0);
	cr_expect_eq(!!(st.gpr[RCX] & CPUID_1_ECX_OSXSAVE), !!(h[2] & CPUID_1_ECX_XSAVE),
		     "set with CR4.OSXSAVE where the CPU has XSAVE");
}

Test(vmm_exits, cpuid_leaf_7_hides_the_cr4_features_a_guest_cannot_enable)
{
	uint32_t h[4];
	host_cpuid(0, 0, h);
	cr_assert_geq(h[0], 7);
	host_cpuid(7, 0, h);
	guest_cpuid(7, 0);
	/* ECX: UMIP 2, PKU 3, OSPKE 4, CET_SS 7, LA57 16, PKS 31 */
	uint32_t ecx =
		X86_BIT(2) | X86_BIT(3) | X86_BIT(4) | X86_BIT(7) | X86_BIT(16) | X86_BIT(31);
	expect_host_minus(st.gpr[RCX], h[2], ecx, "leaf 7 ECX");
	cr_expect_eq(st.gpr[RAX], h[0]);
}

Test(vmm_exits, cpuid_leaf_80000001_hides_svm)
{
	uint32_t h[4];
	host_cpuid(0x80000000, 0, h);
	cr_assert_geq(h[0], 0x80000001);
	host_cpuid(0x80000001, 0, h);
	guest_cpuid(0x80000001, 0);
	cr_expect_not(st.gpr[RCX] & CPUID_80000001_ECX_SVM, "no SVM");
	/* ECX: SVM, ExtApicSpace, IBS, SKINIT, WDT, the perf-counter extensions, MWAITX */
	uint32_t ecx = CPUID_80000001_ECX_SVM | X86_BIT(3) | X86_BIT(10) | X86_BIT(12) |
		       X86_BIT(13) | X86_BIT(23) | X86_BIT(24) | X86_BIT(28) | X86_BIT(29);
	expect_host_minus(st.gpr[RCX], h[2], ecx, "ECX");
	/* EDX: MCE, MTRR, MCA, RDTSCP */
	uint32_t edx = X86_BIT(7) | X86_BIT(12) | X86_BIT(14) | X86_BIT(27);
	expect_host_minus(st.gpr[RDX], h[3], edx, "EDX");
}

Test(vmm_exits, cpuid_passes_other_leaves_and_subleaves_through)
{
	uint32_t h[4];
	host_cpuid(7, 1, h);
	st.gpr[RAX] = st.gpr[RBX] = st.gpr[RDX] = ~0ull;
	guest_cpuid(7, 1);
	cr_expect_eq(st.gpr[RBX], h[1]);
	cr_expect_eq(st.gpr[RDX], h[3]);
	cr_expect_eq(st.gpr[RAX], h[0], "upper halves cleared");
	host_cpuid(0x80000002, 0, h);
	guest_cpuid(0x80000002, 0);
	cr_expect_eq(st.gpr[RAX], h[0], "the brand string is the host's");
	cr_expect_eq(st.gpr[RBX], h[1]);
}

/* The filter on its own, over a CPU that claims every feature. */
static void filtered(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	r[0] = r[1] = r[2] = r[3] = ~0u;
	cpuid_filter(&st, leaf, sub, r);
}

Test(vmm_exits, cpuid_filter_hides_virtualization_and_the_missing_devices)
{
	uint32_t r[4];
	filtered(1, 0, r);
	cr_expect_eq(r[2] & LEAF1_ECX_HIDDEN, 0, "ECX %#x", r[2]);
	cr_expect_eq(r[3] & LEAF1_EDX_HIDDEN, 0, "EDX %#x", r[3]);
	cr_expect(r[2] & CPUID_1_ECX_XSAVE, "features it does not touch stay");
	filtered(0x80000001, 0, r);
	cr_expect_not(r[2] & CPUID_80000001_ECX_SVM);
	filtered(0x8000000a, 0, r);
	cr_expect_eq(r[0] | r[1] | r[2] | r[3], 0, "no SVM leaf");
	filtered(0xa, 0, r);
	cr_expect_eq(r[0] | r[1] | r[2] | r[3], 0, "no performance-monitoring leaf");
	filtered(0, 0, r);
	cr_expect_eq(r[1] & r[2] & r[3], ~0u, "leaf 0 (vendor) is untouched");
}

Test(vmm_exits, cpuid_filter_gives_the_one_vcpu_apic_id_0_in_every_topology_leaf)
{
	static const uint32_t leaves[] = { 0xb, 0x1f };
	uint32_t r[4];
	for (unsigned i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
		filtered(leaves[i], 0, r);
		cr_expect_eq(r[3], 0, "leaf %#x EDX (x2APIC ID) %#x", leaves[i], r[3]);
		cr_expect_eq(r[0] & r[1] & r[2], ~0u, "the rest of leaf %#x is the host's",
			     leaves[i]);
	}
	filtered(0x8000001e, 0, r);
	cr_expect_eq(r[0], 0, "extended APIC ID");
	filtered(1, 0, r);
	cr_expect_eq(r[1] >> 24, 0, "initial APIC ID");
}

Test(vmm_exits, cpuid_filter_hides_leaf_7_bits_in_subleaf_0_only)
{
	uint32_t r[4];
	filtered(7, 0, r);
	cr_expect_not(r[2] & X86_BIT(16), "no LA57");
	filtered(7, 1, r);
	cr_expect_eq(r[2], ~0u);
}

/* ---------------------------------------------------------------- MSRs */

static bool wrmsr(uint32_t msr, uint64_t v)
{
	st.gpr[RCX] = msr;
	st.gpr[RAX] = (uint32_t)v;
	st.gpr[RDX] = v >> 32;
	CODE(0x0f, 0x30);
	return exit_of(VM_EXIT_WRMSR);
}

static bool rdmsr(uint32_t msr)
{
	st.gpr[RCX] = msr;
	CODE(0x0f, 0x32);
	return exit_of(VM_EXIT_RDMSR);
}

static uint64_t edx_eax(void)
{
	return st.gpr[RDX] << 32 | (uint32_t)st.gpr[RAX];
}

/* The guest gets #GP at the MSR instruction, with error code 0 in protected mode. */
static void expect_gp(bool go_on, bool error_code)
{
	cr_expect(go_on, "a #GP is the guest's business, the VM goes on");
	cr_expect_eq(vm.status, VM_RUNNING);
	uint32_t gp = VEVENT_VALID | VEVENT_TYPE_EXC | EXC_GP;
	cr_expect_eq(st.inject, gp | (error_code ? VEVENT_ERR_VALID : 0), "inject %#x", st.inject);
	cr_expect_eq(st.inject_err, 0);
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR, "RIP stays at the faulting instruction");
}

Test(vmm_exits, msr_efer_lme_without_paging_leaves_lma_clear)
{
	cr_assert(wrmsr(MSR_EFER, EFER_LME));
	cr_expect_eq(st.efer, EFER_LME);
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 2);
}

Test(vmm_exits, msr_efer_lme_cannot_change_while_paging_is_on)
{
	mode32();
	/* PAE paging (a PDPT at 0x2000, a PD at 0x3000, one 2 MiB identity page) on, not yet
	 * long mode: the WRMSR itself is fetched through these tables. */
	uint64_t e[2] = { 0x3000 | 1, 0x83 };
	memcpy(vm.ram + 0x2000, &e[0], 8);
	memcpy(vm.ram + 0x3000, &e[1], 8);
	st.cr3 = 0x2000;
	st.cr4 = CR4_PAE;
	st.cr0 |= CR0_PG;
	expect_gp(wrmsr(MSR_EFER, EFER_LME), true);
	cr_expect_eq(st.efer, 0);
	st.inject = 0;
	cr_assert(wrmsr(MSR_EFER, EFER_NXE), "other bits may change");
	cr_expect_eq(st.efer, EFER_NXE);
}

Test(vmm_exits, msr_efer_ignores_a_written_lma)
{
	cr_assert(wrmsr(MSR_EFER, EFER_LMA | EFER_SCE | EFER_NXE));
	cr_expect_eq(st.efer, EFER_SCE | EFER_NXE, "SCE and NXE only: %#lx",
		     (unsigned long)st.efer);
	cr_expect_eq(st.inject, 0);
}

Test(vmm_exits, msr_efer_reserved_bits_raise_gp)
{
	st.efer = EFER_SCE;
	static const uint64_t bad[] = { EFER_SVME, 1ull << 1, 1ull << 13, 1ull << 63 };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		st.inject = 0;
		expect_gp(wrmsr(MSR_EFER, bad[i] | EFER_SCE), false);
		cr_expect_eq(st.efer, EFER_SCE, "EFER unchanged after %#lx", (unsigned long)bad[i]);
	}
}

Test(vmm_exits, msr_efer_reads_back_in_edx_eax)
{
	st.efer = EFER_LME | EFER_LMA | 1;
	st.gpr[RAX] = st.gpr[RDX] = ~0ull;
	cr_assert(rdmsr(MSR_EFER));
	cr_expect_eq(st.gpr[RAX], EFER_LME | EFER_LMA | 1);
	cr_expect_eq(st.gpr[RDX], 0);
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 2);
}

/* The MSRs the vCPU state page holds: what a guest writes, it reads back, and the state has it. */
Test(vmm_exits, msr_state_msrs_read_back_what_the_guest_wrote)
{
	const struct {
		uint32_t msr;
		uint64_t *field;
		uint64_t value;
	} c[] = {
		{ MSR_STAR, &st.star, 0x0023001000000000 },
		{ MSR_LSTAR, &st.lstar, 0xffffffff81000000 },
		{ MSR_CSTAR, &st.cstar, 0xffffffff81000100 },
		{ MSR_SFMASK, &st.sfmask, 0x47700 },
		{ MSR_KERNEL_GS_BASE, &st.kernel_gs_base, 0xffff888000001000 },
		{ MSR_FS_BASE, &st.fs.base, 0x00007f0000001000 },
		{ MSR_GS_BASE, &st.gs.base, 0x1234 },
		{ MSR_SYSENTER_CS, &st.sysenter_cs, 0x10 },
		{ MSR_SYSENTER_ESP, &st.sysenter_esp, 0xc0001000 },
		{ MSR_SYSENTER_EIP, &st.sysenter_eip, 0xc0002000 },
		{ MSR_PAT, &st.pat, 0x0007010600070406 },
	};
	for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		st.rip = GUEST_LOAD_ADDR;
		cr_assert(wrmsr(c[i].msr, c[i].value));
		cr_expect_eq(st.inject, 0, "MSR %#x: no #GP", c[i].msr);
		cr_expect_eq(*c[i].field, c[i].value, "MSR %#x in the state", c[i].msr);
		st.gpr[RAX] = st.gpr[RDX] = 0;
		st.rip = GUEST_LOAD_ADDR;
		cr_assert(rdmsr(c[i].msr));
		cr_expect_eq(edx_eax(), c[i].value, "MSR %#x read back", c[i].msr);
		cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 2);
	}
}

Test(vmm_exits, msr_non_canonical_bases_raise_gp)
{
	static const uint32_t msrs[] = { MSR_LSTAR,	  MSR_CSTAR,	      MSR_FS_BASE,
					 MSR_GS_BASE,	  MSR_KERNEL_GS_BASE, MSR_SYSENTER_EIP,
					 MSR_SYSENTER_ESP };
	for (unsigned i = 0; i < sizeof(msrs) / sizeof(msrs[0]); i++) {
		st.inject = 0;
		expect_gp(wrmsr(msrs[i], 0x0000800000000000), false);
	}
	cr_expect_eq(st.lstar | st.fs.base | st.kernel_gs_base, 0);
}

Test(vmm_exits, msr_pat_with_an_undefined_memory_type_raises_gp)
{
	uint64_t pat = st.pat;
	expect_gp(wrmsr(MSR_PAT, 0x0007040600070402), false); /* type 2 is reserved */
	st.inject = 0;
	expect_gp(wrmsr(MSR_PAT, 0x0807040600070406), false); /* type 8 does not exist */
	cr_expect_eq(st.pat, pat);
}

Test(vmm_exits, msr_sfmask_upper_half_is_reserved)
{
	expect_gp(wrmsr(MSR_SFMASK, 1ull << 32), false);
}

Test(vmm_exits, msr_tsc_reads_the_tsc_the_guest_runs_on)
{
	uint64_t before = __builtin_ia32_rdtsc();
	cr_assert(rdmsr(MSR_TSC));
	uint64_t after = __builtin_ia32_rdtsc();
	cr_expect(edx_eax() >= before && edx_eax() <= after, "TSC %#lx not in [%#lx, %#lx]",
		  (unsigned long)edx_eax(), (unsigned long)before, (unsigned long)after);
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 2);
}

Test(vmm_exits, msr_unknown_read_raises_gp_and_leaves_edx_eax)
{
	st.gpr[RAX] = st.gpr[RDX] = 0x5a5a;
	expect_gp(rdmsr(MSR_APIC_BASE), false);
	cr_expect_eq(st.gpr[RAX], 0x5a5a);
	cr_expect_eq(st.gpr[RDX], 0x5a5a);
}

Test(vmm_exits, msr_unknown_write_raises_gp)
{
	st.efer = 1;
	expect_gp(wrmsr(0x10000, 0x123456789), false);
	cr_expect_eq(st.efer, 1);
}

Test(vmm_exits, msr_gp_in_protected_mode_has_error_code_zero)
{
	mode32();
	expect_gp(rdmsr(0x3a), true); /* IA32_FEATURE_CONTROL */
}

Test(vmm_exits, msr_the_tsc_cannot_be_written)
{
	expect_gp(wrmsr(MSR_TSC, 0), false);
}

/* stdout of the code under test, in memory. */
static char *captured;
static size_t captured_len;
static FILE *saved_stdout;

static void capture_stdout(void)
{
	fflush(stdout);
	saved_stdout = stdout;
	stdout = open_memstream(&captured, &captured_len);
	cr_assert_not_null(stdout);
}

static unsigned count_in_captured(const char *needle)
{
	fflush(stdout);
	unsigned n = 0;
	for (const char *p = captured; p && (p = strstr(p, needle)); p++) {
		n++;
	}
	return n;
}

static void release_stdout(void)
{
	fclose(stdout);
	stdout = saved_stdout;
	free(captured);
	captured = NULL;
}

Test(vmm_exits, msr_unknown_msrs_are_logged_once_each)
{
	capture_stdout();
	for (int i = 0; i < 3; i++) {
		st.inject = 0;
		expect_gp(rdmsr(0x1234), false);
		st.inject = 0;
		expect_gp(wrmsr(0x1234, 1), false);
	}
	st.inject = 0;
	expect_gp(rdmsr(0x4321), false);
	unsigned a = count_in_captured("MSR 0x1234"), b = count_in_captured("MSR 0x4321");
	unsigned all = count_in_captured("not emulated");
	release_stdout();
	cr_expect_eq(a, 1, "MSR 0x1234 logged %u times", a);
	cr_expect_eq(b, 1, "MSR 0x4321 logged %u times", b);
	cr_expect_eq(all, 2);
}

Test(vmm_exits, msr_logging_stops_after_many_distinct_msrs)
{
	capture_stdout();
	for (uint32_t m = 0; m < 1000; m++) {
		st.inject = 0;
		expect_gp(rdmsr(0x40000000 + m), false);
	}
	unsigned lines = count_in_captured("\n");
	release_stdout();
	cr_expect_leq(lines, 100, "%u lines for 1000 MSRs", lines);
	cr_expect_geq(lines, 2);
}

Test(vmm_exits, msr_number_is_ecx_only)
{
	cr_assert(wrmsr(MSR_EFER, 1));
	st.gpr[RCX] = 0xffffffff00000000 | MSR_EFER;
	CODE(0x0f, 0x32);
	cr_assert(exit_of(VM_EXIT_RDMSR));
	cr_expect_eq(st.gpr[RAX], 1);
}

/* ---------------------------------------------------------------- HLT and interrupts */

/* out 0xfc, al: the guest arms the one-shot interrupt. */
static bool arm_irq(uint8_t vector)
{
	st.gpr[RAX] = vector;
	CODE(0xe6, 0xfc);
	return io(TESTDEV_PORT_IRQ, 1, false);
}

static bool hlt(void)
{
	CODE(0xf4);
	return exit_of(VM_EXIT_HLT);
}

Test(vmm_exits, hlt_with_an_armed_irq_and_if_set_injects_it_and_steps_over)
{
	cr_assert(arm_irq(0x20));
	st.guest_if = 1;
	uint64_t rip = st.rip;
	cr_expect(hlt());
	cr_expect_eq(st.inject, INTR(0x20), "inject %#x", st.inject);
	cr_expect_eq(st.rip, rip + 1);
	cr_expect_eq(st.intr_window, 0);
	cr_expect_eq(vm.status, VM_RUNNING);
}

Test(vmm_exits, hlt_irq_is_a_one_shot)
{
	cr_assert(arm_irq(0x20));
	st.guest_if = 1;
	cr_assert(hlt());
	expect_stopped(hlt(), VM_STOPPED);
	cr_expect_eq(st.inject, 0);
}

Test(vmm_exits, hlt_with_interrupts_disabled_stops_the_vm)
{
	cr_assert(arm_irq(0x20));
	st.guest_if = 0;
	expect_stopped(hlt(), VM_STOPPED);
	cr_expect_eq(st.inject, 0);
}

Test(vmm_exits, hlt_with_nothing_armed_stops_the_vm)
{
	st.guest_if = 1;
	expect_stopped(hlt(), VM_STOPPED);
	cr_expect_eq(st.inject, 0);
}

Test(vmm_exits, irq_armed_with_if_clear_requests_the_interrupt_window)
{
	st.guest_if = 0;
	cr_assert(arm_irq(0x21));
	cr_expect_eq(st.intr_window, 1);
	cr_expect_eq(st.inject, 0);
	cr_expect_eq(vm.dev.irq_armed, 0x21, "still armed");
}

Test(vmm_exits, interrupt_window_exit_injects_the_armed_irq)
{
	st.guest_if = 0;
	cr_assert(arm_irq(0x21));
	uint64_t rip = st.rip;
	st.guest_if = 1;
	st.intr_window = 0; /* the kernel clears it at the exit */
	cr_expect(exit_of(VM_EXIT_INTR_WINDOW));
	cr_expect_eq(st.inject, INTR(0x21), "inject %#x", st.inject);
	cr_expect_eq(st.intr_window, 0);
	cr_expect_eq(st.rip, rip, "no instruction to step over");
	cr_expect_eq(vm.dev.irq_armed, -1);
}

Test(vmm_exits, interrupt_window_exit_with_nothing_armed_injects_nothing)
{
	st.guest_if = 1;
	cr_expect(exit_of(VM_EXIT_INTR_WINDOW));
	cr_expect_eq(st.inject, 0);
	cr_expect_eq(st.intr_window, 0);
}

Test(vmm_exits, irq_armed_with_if_set_is_injected_at_once)
{
	st.guest_if = 1;
	cr_assert(arm_irq(0x22));
	cr_expect_eq(st.inject, INTR(0x22));
	cr_expect_eq(st.intr_window, 0);
}

Test(vmm_exits, irq_waits_out_an_interrupt_shadow)
{
	st.guest_if = 1;
	st.intr_shadow = 1;
	cr_assert(arm_irq(0x22));
	cr_expect_eq(st.inject, 0);
	cr_expect_eq(st.intr_window, 1);
}

Test(vmm_exits, irq_waits_while_another_event_is_being_delivered)
{
	st.guest_if = 1;
	st.gpr[RAX] = 0x22;
	CODE(0xe6, 0xfc);
	kernel_exit(VM_EXIT_IO);
	st.io = (struct vireo_vm_io){ .port = TESTDEV_PORT_IRQ, .size = 1 };
	st.pending = VEVENT_VALID | VEVENT_TYPE_EXC | 14;
	cr_assert(vm_handle_exit(&vm));
	cr_expect_eq(st.inject, 0, "the pending event is re-delivered by the kernel");
	cr_expect_eq(st.intr_window, 1);
}

Test(vmm_exits, recall_lets_an_armed_irq_in)
{
	vm.dev.irq_armed = 0x30;
	st.guest_if = 1;
	cr_expect(exit_of(VM_EXIT_RECALL));
	cr_expect_eq(st.inject, INTR(0x30));
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR);
}

/* ---------------------------------------------------------------- VMMCALL */

static bool vmmcall(uint64_t fn, uint64_t b, uint64_t c, uint64_t d)
{
	st.gpr[RAX] = fn;
	st.gpr[RBX] = b;
	st.gpr[RCX] = c;
	st.gpr[RDX] = d;
	CODE(0x0f, 0x01, 0xd9);
	return exit_of(VM_EXIT_VMCALL);
}

Test(vmm_exits, vmmcall_1_adds_rbx_rcx_and_rdx)
{
	st.gpr[RSI] = 0x5151;
	cr_assert(vmmcall(1, 100, 20, 3));
	cr_expect_eq(st.gpr[RAX], 123);
	cr_expect_eq(st.gpr[RBX], 100);
	cr_expect_eq(st.gpr[RCX], 20);
	cr_expect_eq(st.gpr[RDX], 3);
	cr_expect_eq(st.gpr[RSI], 0x5151);
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 3);
	cr_assert(vmmcall(1, 0xffffffff, 2, 0));
	cr_expect_eq((uint32_t)st.gpr[RAX], 1, "wraps in EAX");
}

Test(vmm_exits, vmmcall_2_returns_the_version)
{
	cr_assert(vmmcall(2, 0, 0, 0));
	cr_expect_eq(st.gpr[RAX], 0x10000);
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 3);
}

Test(vmm_exits, vmmcall_of_an_unknown_function_returns_all_ones)
{
	cr_assert(vmmcall(0xdead, 1, 2, 3));
	cr_expect_eq(st.gpr[RAX], ~0ull);
	cr_assert(vmmcall(0, 1, 2, 3));
	cr_expect_eq(st.gpr[RAX], ~0ull);
	cr_expect_eq(st.gpr[RBX], 1);
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 6);
}

/* ---------------------------------------------------------------- the end of a guest */

Test(vmm_exits, shutdown_stops_the_vm)
{
	expect_stopped(exit_of(VM_EXIT_SHUTDOWN), VM_STOPPED);
}

Test(vmm_exits, invalid_state_stops_the_vm_as_failed)
{
	kernel_exit(VM_EXIT_INVALID);
	st.qual = VM_INVALID_CR0;
	expect_stopped(vm_handle_exit(&vm), VM_FAILED);
}

Test(vmm_exits, an_intercepted_exception_stops_the_vm_as_failed)
{
	kernel_exit(VM_EXIT_EXCEPTION);
	st.qual = 13;
	expect_stopped(vm_handle_exit(&vm), VM_FAILED);
}

Test(vmm_exits, a_stopped_vm_gets_no_interrupt)
{
	vm.dev.irq_armed = 0x20;
	st.guest_if = 1;
	expect_stopped(exit_of(VM_EXIT_SHUTDOWN), VM_STOPPED);
	cr_expect_eq(st.inject, 0);
	cr_expect_eq(st.intr_window, 0);
}

/* ---------------------------------------------------------------- events and recall test ports */

static bool io_with_pending(uint16_t port, uint32_t pending)
{
	kernel_exit(VM_EXIT_IO);
	st.pending = pending;
	st.io = (struct vireo_vm_io){ .port = port, .size = 1, .in = 0 };
	return vm_handle_exit(&vm);
}

Test(vmm_exits, port_0xfd_injects_beside_a_pending_event_and_keeps_pending)
{
	st.gpr[RAX] = 0x21;
	CODE(0xe6, 0xfd);
	cr_assert(io(TESTDEV_PORT_IRQ2, 1, false));
	cr_expect_eq(st.inject, 0, "nothing pending yet: nothing injected");
	CODE(0xe6, 0xf8);
	cr_assert(io_with_pending(TESTDEV_PORT_ECHO, INTR(0x20)));
	cr_expect_eq(st.inject, INTR(0x21), "inject %#x", st.inject);
	cr_expect_eq(st.pending, INTR(0x20), "the VMM leaves the cut-off event for the kernel");
	CODE(0xe6, 0xf8);
	cr_assert(io_with_pending(TESTDEV_PORT_ECHO, INTR(0x20)));
	cr_expect_eq(st.inject, 0, "a one-shot");
}

static uint64_t lazy_gpa;
static bool fake_map_lazy(struct vm *v, uint64_t gpa)
{
	(void)v;
	lazy_gpa = gpa;
	return gpa >= GUEST_LAZY_BASE && gpa < GUEST_RAM_SIZE;
}

Test(vmm_exits, npf_on_demand_paged_ram_maps_it_and_resumes_without_decoding)
{
	vm.map_lazy = fake_map_lazy;
	CODE(0xcd, 0x80); /* int 0x80, whose stack push faulted: not an MMIO instruction */
	uint64_t rip = st.rip;
	cr_expect(mmio(GUEST_LAZY_BASE + 0xffc));
	cr_expect_eq(lazy_gpa, GUEST_LAZY_BASE + 0xffc);
	cr_expect_eq(vm.status, VM_RUNNING);
	cr_expect_eq(st.rip, rip, "nothing emulated, nothing skipped");
	expect_stopped(mmio(TESTDEV_MMIO_BASE + 0x10), VM_FAILED); /* not RAM: decoded, refused */
}

static unsigned recalls_asked;
static void fake_recall(void *arg)
{
	(void)arg;
	recalls_asked++;
}

Test(vmm_exits, port_0xfe_recalls_and_counts_recall_exits)
{
	vm.dev.recall = fake_recall;
	recalls_asked = 0;
	CODE(0xe6, 0xfe);
	cr_assert(io(TESTDEV_PORT_RECALL, 1, false));
	cr_expect_eq(recalls_asked, 1);
	cr_assert(exit_of(VM_EXIT_RECALL));
	CODE(0xe5, 0xfe); /* in eax, 0xfe */
	cr_assert(io(TESTDEV_PORT_RECALL, 4, true));
	cr_expect_eq(st.gpr[RAX], 1);
}
