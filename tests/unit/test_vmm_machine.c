/* SPDX-License-Identifier: MIT */
/*
 * Specification of the VMM's machine (vmm/machine.c, vmm/linux.c, vmm/state.c): port I/O exits
 * reach the devices through the bus, interrupts from the 8259A go in through the interrupt
 * window, HLT sleeps until the next device event on a fake clock, the guest's resets end it, and
 * a bzImage starts at its 64-bit entry point in long mode.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bzimage.h"
#include "vmm.h"
#include "x86defs.h"

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI };

#define RAM (32ull << 20)
#define INTR(v) (VEVENT_VALID | VEVENT_TYPE_INTR | (v))

static struct vm vm;
static struct vireo_vm_state st;
static uint64_t now_ns;
static unsigned idles;
static uint64_t idle_until[8];

static uint64_t fake_clock(struct vm *v)
{
	(void)v;
	return now_ns;
}

/* Sleeping moves the fake clock to the deadline; a sleep "forever" ends the VM instead. */
static void fake_idle(struct vm *v, uint64_t until)
{
	if (idles < 8) {
		idle_until[idles] = until;
	}
	idles++;
	if (until == VMM_TIME_NEVER) {
		vm_stop(v, VM_STOPPED, NULL);
	} else {
		now_ns = until > now_ns ? until : now_ns;
	}
}

static void nop_console(void *arg, char c)
{
	(void)arg;
	(void)c;
}

static void nop_result(void *arg, uint32_t code)
{
	(void)arg;
	(void)code;
}

static void setup(void)
{
	now_ns = 0;
	idles = 0;
	vm = (struct vm){ .name = "unit",
			  .ram = calloc(1, RAM),
			  .ram_size = RAM,
			  .st = &st,
			  .status = VM_RUNNING,
			  .clock_ns = fake_clock,
			  .idle = fake_idle };
	cr_assert_not_null(vm.ram);
	vm_reset_state(&st);
	testdev_init(&vm.dev, nop_console, nop_result, &vm);
	vm_machine_init(&vm, false);
	cr_assert_eq(vm.status, VM_RUNNING);
}

static void teardown(void)
{
	free(vm.ram);
}

TestSuite(vmm_machine, .init = setup, .fini = teardown);

static void kernel_exit(uint32_t reason)
{
	st.exit = reason;
	st.qual = st.gpa = st.next_rip = 0;
	st.pending = st.pending_err = 0;
	st.inject = 0;
	st.exits++;
}

/* OUT dx, al / IN al, dx in real mode at 0000:7c00 (one byte each). */
static bool out8(uint16_t port, uint8_t v)
{
	st.rip = GUEST_LOAD_ADDR;
	vm.ram[GUEST_LOAD_ADDR] = 0xee;
	kernel_exit(VM_EXIT_IO);
	st.io = (struct vireo_vm_io){ .port = port, .size = 1, .in = 0 };
	st.gpr[RAX] = v;
	return vm_handle_exit(&vm);
}

static uint8_t in8(uint16_t port)
{
	st.rip = GUEST_LOAD_ADDR;
	vm.ram[GUEST_LOAD_ADDR] = 0xec;
	kernel_exit(VM_EXIT_IO);
	st.io = (struct vireo_vm_io){ .port = port, .size = 1, .in = 1 };
	cr_assert(vm_handle_exit(&vm));
	return (uint8_t)st.gpr[RAX];
}

/* What Linux's init_8259A does: vectors 0x20 (master) and 0x28 (slave), cascade on IR2. */
static void pic_program(uint8_t master_mask)
{
	static const uint8_t icw[][2] = { { 0x20, 0x11 }, { 0x21, 0x20 }, { 0x21, 0x04 },
					  { 0x21, 0x01 }, { 0xa0, 0x11 }, { 0xa1, 0x28 },
					  { 0xa1, 0x02 }, { 0xa1, 0x01 } };
	for (unsigned i = 0; i < sizeof(icw) / sizeof(icw[0]); i++) {
		cr_assert(out8(icw[i][0], icw[i][1]));
	}
	cr_assert(out8(0x21, master_mask));
	cr_assert(out8(0xa1, 0xff));
}

/* ---------------------------------------------------------------- the bus */

Test(vmm_machine, port_io_exits_reach_com1_through_the_bus)
{
	cr_expect(out8(0x3ff, 0x5a)); /* the scratch register */
	cr_expect_eq(in8(0x3ff), 0x5a);
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 1, "the IN was stepped over");
}

Test(vmm_machine, absent_com2_reads_all_ones_and_the_guest_goes_on)
{
	cr_expect_eq(in8(0x2fd), 0xff);
	cr_expect_eq(vm.status, VM_RUNNING);
	cr_expect_eq(vm.m.bus.unknown_accesses, 1);
}

Test(vmm_machine, the_rtc_reports_the_guest_ram_size_in_cmos)
{
	cr_expect(out8(0x70, 0x35)); /* memory above 16 MiB in 64 KiB units, high byte */
	cr_expect_eq(in8(0x71), (uint8_t)(((RAM - (16ull << 20)) >> 16) >> 8));
	cr_expect(out8(0x70, 0x18)); /* memory above 1 MiB in KiB, high byte */
	cr_expect_eq(in8(0x71), (uint8_t)((((RAM >> 10) - 1024)) >> 8));
}

Test(vmm_machine, console_input_reaches_the_uart_receiver)
{
	cr_assert(vm_input_push(&vm, 'x'));
	vm_update_devices(&vm);
	cr_expect(in8(0x3fd) & UART_LSR_DR, "data ready");
	cr_expect_eq(in8(0x3f8), 'x');
	cr_expect_not(in8(0x3fd) & UART_LSR_DR);
}

Test(vmm_machine, input_latency_runs_from_arrival_to_the_guests_read)
{
	now_ns = 1000;
	cr_assert(vm_input_push(&vm, 'a'));
	now_ns = 3000;
	cr_assert(vm_input_push(&vm, 'b'));
	vm_update_devices(&vm); /* both in the receiver now */
	cr_expect_eq(vm.input_lat_n, 0, "nothing read yet");
	now_ns = 51000;
	cr_expect_eq(in8(0x3f8), 'a');
	cr_expect_eq(vm.input_lat_n, 1);
	cr_expect_eq(vm.input_lat_sum_ns, 50000);
	now_ns = 103000;
	cr_expect_eq(in8(0x3f8), 'b');
	cr_expect_eq(vm.input_lat_n, 2);
	cr_expect_eq(vm.input_lat_sum_ns, 150000);
	cr_expect_eq(vm.input_lat_max_ns, 100000);
	/* An RBR read with nothing received counts nothing. */
	in8(0x3f8);
	cr_expect_eq(vm.input_lat_n, 2);
}

Test(vmm_machine, input_latency_skips_bytes_the_guest_threw_away)
{
	out8(0x3fa, UART_FCR_ENABLE);
	now_ns = 1000;
	cr_assert(vm_input_push(&vm, 'a'));
	vm_update_devices(&vm);
	out8(0x3fa, UART_FCR_ENABLE | UART_FCR_CLEAR_RX); /* 'a' is gone unread */
	now_ns = 9000;
	cr_assert(vm_input_push(&vm, 'b'));
	vm_update_devices(&vm);
	now_ns = 10000;
	cr_expect_eq(in8(0x3f8), 'b');
	cr_expect_eq(vm.input_lat_n, 1, "only 'b' was read");
	cr_expect_eq(vm.input_lat_sum_ns, 1000, "and its own arrival time is used");
}

Test(vmm_machine, the_input_ring_refuses_bytes_once_full)
{
	unsigned n = 0;
	while (vm_input_push(&vm, (uint8_t)n) && n < 10 * VMM_INPUT_RING) {
		n++;
	}
	cr_expect_eq(n, VMM_INPUT_RING);
}

/* ---------------------------------------------------------------- the guest's resets */

Test(vmm_machine, reset_through_0xcf9_ends_the_guest)
{
	cr_expect_not(out8(0xcf9, 0x06));
	cr_expect_eq(vm.status, VM_STOPPED);
}

Test(vmm_machine, reset_through_the_8042_ends_the_guest)
{
	cr_expect_not(out8(0x64, 0xfe));
	cr_expect_eq(vm.status, VM_STOPPED);
}

Test(vmm_machine, fast_reset_through_port_0x92_ends_the_guest)
{
	cr_expect_not(out8(0x92, 0x01));
	cr_expect_eq(vm.status, VM_STOPPED);
}

Test(vmm_machine, a_triple_fault_ends_the_guest)
{
	kernel_exit(VM_EXIT_SHUTDOWN);
	cr_expect_not(vm_handle_exit(&vm));
	cr_expect_eq(vm.status, VM_STOPPED);
}

/* ---------------------------------------------------------------- interrupt injection */

Test(vmm_machine, a_pic_interrupt_is_injected_when_the_guest_can_take_it)
{
	pic_program(0x00);
	irqchip_pulse(&vm.m.pic.irqchip, 3);
	st.guest_if = 1;
	cr_expect(vm_deliver_irq(&vm));
	cr_expect_eq(st.inject, INTR(0x23));
	cr_expect_eq(st.intr_window, 0);
	cr_expect_eq(vm.m.pic.chip[0].isr, 1u << 3, "the INTA put IR3 in service");
}

Test(vmm_machine, with_interrupts_off_the_vmm_asks_for_the_window_and_injects_there)
{
	pic_program(0x00);
	irqchip_pulse(&vm.m.pic.irqchip, 5);
	st.guest_if = 0;
	cr_expect_not(vm_deliver_irq(&vm));
	cr_expect_eq(st.inject, 0);
	cr_expect_eq(st.intr_window, 1);
	cr_expect_eq(vm.m.pic.chip[0].isr, 0, "not accepted yet");
	kernel_exit(VM_EXIT_INTR_WINDOW);
	st.intr_window = 0; /* the kernel clears it at the window exit */
	st.guest_if = 1;
	cr_expect(vm_handle_exit(&vm));
	cr_expect_eq(st.inject, INTR(0x25));
}

Test(vmm_machine, an_interrupt_shadow_or_an_event_in_flight_defers_injection)
{
	pic_program(0x00);
	irqchip_pulse(&vm.m.pic.irqchip, 1);
	st.guest_if = 1;
	st.intr_shadow = 1;
	cr_expect_not(vm_deliver_irq(&vm));
	cr_expect_eq(st.intr_window, 1);
	st.intr_shadow = 0;
	st.pending = VEVENT_VALID | VEVENT_TYPE_EXC | 14;
	cr_expect_not(vm_deliver_irq(&vm));
	cr_expect_eq(st.intr_window, 1);
	cr_expect_eq(st.inject, 0);
	st.pending = 0;
	cr_expect(vm_deliver_irq(&vm));
	cr_expect_eq(st.inject, INTR(0x21));
}

Test(vmm_machine, a_masked_interrupt_is_not_delivered_and_no_window_is_asked)
{
	pic_program(0xff);
	irqchip_pulse(&vm.m.pic.irqchip, 3);
	st.guest_if = 1;
	st.intr_window = 1;
	cr_expect_not(vm_deliver_irq(&vm));
	cr_expect_eq(st.inject, 0);
	cr_expect_eq(st.intr_window, 0);
}

/* ---------------------------------------------------------------- HLT and time */

/* Channel 0 in mode 2 with a count of 1193: IRQ 0 every 1193 / 1.193182 MHz, about 1 ms. */
static void pit_program(void)
{
	cr_assert(out8(0x43, 0x34));
	cr_assert(out8(0x40, 1193 & 0xff));
	cr_assert(out8(0x40, 1193 >> 8));
}

Test(vmm_machine, hlt_sleeps_until_the_pit_interrupt_and_injects_it)
{
	pic_program(0xfe);
	pit_program();
	st.guest_if = 1;
	st.rip = GUEST_LOAD_ADDR;
	vm.ram[GUEST_LOAD_ADDR] = 0xf4;
	kernel_exit(VM_EXIT_HLT);
	cr_expect(vm_handle_exit(&vm));
	cr_expect_eq(st.rip, GUEST_LOAD_ADDR + 1);
	cr_expect_eq(idles, 1, "one sleep");
	cr_expect(idle_until[0] > 990000 && idle_until[0] < 1010000, "until %lu ns",
		  (unsigned long)idle_until[0]);
	cr_expect_eq(st.inject, INTR(0x20));
}

Test(vmm_machine, hlt_with_an_interrupt_due_does_not_sleep)
{
	pic_program(0xfe);
	pit_program();
	now_ns = 5000000;
	st.guest_if = 1;
	vm.ram[GUEST_LOAD_ADDR] = 0xf4;
	kernel_exit(VM_EXIT_HLT);
	cr_expect(vm_handle_exit(&vm));
	cr_expect_eq(idles, 0);
	cr_expect_eq(st.inject, INTR(0x20));
}

Test(vmm_machine, hlt_right_after_sti_takes_the_interrupt)
{
	pic_program(0xfe);
	pit_program();
	now_ns = 5000000;
	st.guest_if = 1;
	st.intr_shadow = 1; /* sti; hlt: the shadow covered the HLT */
	vm.ram[GUEST_LOAD_ADDR] = 0xf4;
	kernel_exit(VM_EXIT_HLT);
	cr_expect(vm_handle_exit(&vm));
	cr_expect_eq(st.inject, INTR(0x20));
}

Test(vmm_machine, hlt_with_interrupts_off_ends_the_guest)
{
	pit_program();
	st.guest_if = 0;
	vm.ram[GUEST_LOAD_ADDR] = 0xf4;
	kernel_exit(VM_EXIT_HLT);
	cr_expect_not(vm_handle_exit(&vm));
	cr_expect_eq(vm.status, VM_STOPPED);
	cr_expect_eq(idles, 0);
}

Test(vmm_machine, hlt_with_no_timer_and_no_input_ends_the_guest)
{
	st.guest_if = 1;
	vm.ram[GUEST_LOAD_ADDR] = 0xf4;
	kernel_exit(VM_EXIT_HLT);
	cr_expect_not(vm_handle_exit(&vm));
	cr_expect_eq(vm.status, VM_STOPPED);
	cr_expect_eq(idles, 0);
}

Test(vmm_machine, hlt_with_console_input_wired_sleeps_until_input)
{
	vm.input_wired = true;
	st.guest_if = 1;
	vm.ram[GUEST_LOAD_ADDR] = 0xf4;
	kernel_exit(VM_EXIT_HLT);
	vm_handle_exit(&vm);
	cr_expect_eq(idles, 1);
	cr_expect_eq(idle_until[0], VMM_TIME_NEVER);
}

Test(vmm_machine, guest_time_drives_the_pit_counter)
{
	pit_program();
	uint16_t c0 = vm.m.pit.ch[0].count;
	now_ns = 500000;	     /* half a period */
	cr_expect(out8(0x43, 0x00)); /* latch channel 0 */
	uint16_t lo = in8(0x40), hi = in8(0x40);
	uint16_t c = (uint16_t)(hi << 8 | lo);
	cr_expect(c > 580 && c < 610, "count %u of %u after 0.5 ms", c, c0);
}

/* ---------------------------------------------------------------- Linux entry */

Test(vmm_machine, linux_entry_state_is_flat_long_mode_with_rsi_at_the_zero_page)
{
	vm_linux_state(&st, 0x1000200, 0x8000, 0x2000, 0x1000, 0x10, 0x18);
	cr_expect_eq(st.rip, 0x1000200);
	cr_expect_eq(st.gpr[RSI], 0x8000);
	cr_expect_eq(st.cr3, 0x2000);
	cr_expect_eq(st.cr0 & (CR0_PE | CR0_PG), CR0_PE | CR0_PG);
	cr_expect(st.cr4 & CR4_PAE);
	cr_expect_eq(st.efer & (EFER_LME | EFER_LMA), EFER_LME | EFER_LMA);
	cr_expect_not(st.rflags & RFLAGS_IF, "interrupts off");
	cr_expect_eq(st.cs.sel, 0x10);
	cr_expect(st.cs.attr & VSEG_ATTR_L);
	cr_expect_not(st.cs.attr & VSEG_ATTR_DB, "L and D together are invalid");
	cr_expect(st.cs.attr & VSEG_ATTR_P);
	cr_expect_eq(st.ds.sel, 0x18);
	cr_expect_eq(st.es.sel, 0x18);
	cr_expect_eq(st.ss.sel, 0x18);
	cr_expect_eq(st.gdtr.base, 0x1000);
	cr_expect_geq(st.gdtr.limit, 0x1f, "the GDT covers selector 0x18");
	cr_expect_eq(vm_code_mode(&st), DECODE_64);
}

/* A minimal protocol-2.15 bzImage: one setup sector, then the "kernel". */
static uint8_t img[3 * 512 + 4096];

static void put32(size_t o, uint32_t v)
{
	memcpy(img + o, &v, 4);
}

static void make_bzimage(void)
{
	memset(img, 0, sizeof(img));
	img[BZ_SETUP_SECTS] = 2;
	put32(0x1f4, 4096 / 16);
	img[BZ_BOOT_FLAG] = 0x55;
	img[BZ_BOOT_FLAG + 1] = 0xaa;
	img[BZ_JUMP] = 0xeb;
	img[BZ_JUMP + 1] = 0x6a;
	put32(BZ_HEADER, BZ_MAGIC);
	img[BZ_VERSION] = 0x0f;
	img[BZ_VERSION + 1] = 0x02;
	img[BZ_LOADFLAGS] = BZ_LOADED_HIGH;
	put32(BZ_INITRD_ADDR_MAX, 0x7fffffff);
	put32(BZ_KERNEL_ALIGNMENT, 0x200000);
	img[BZ_RELOCATABLE] = 1;
	img[BZ_XLOADFLAGS] = BZ_XLF_KERNEL_64;
	put32(BZ_CMDLINE_SIZE, 2047);
	put32(BZ_PREF_ADDRESS, 0x1000000);
	put32(BZ_INIT_SIZE, 0x10000);
	memset(img + 3 * 512, 0xc3, 4096);
}

Test(vmm_machine, a_bzimage_is_loaded_with_its_initrd_and_entered_at_64bit_entry)
{
	static const char initrd[] = "initrd!";
	make_bzimage();
	const char *why =
		vm_load_linux(&vm, img, sizeof(img), "console=ttyS0", initrd, sizeof(initrd));
	cr_assert_null(why, "%s", why);
	cr_expect_eq(st.rip, 0x1000000 + 0x200);
	cr_expect_eq(vm.ram[0x1000000], 0xc3, "the kernel at pref_address");
	cr_expect_eq(st.gpr[RSI], BZ_ZERO_PAGE_ADDR);
	const uint8_t *zp = vm.ram + BZ_ZERO_PAGE_ADDR;
	uint32_t rd, rd_size, cl;
	memcpy(&rd, zp + BZ_RAMDISK_IMAGE, 4);
	memcpy(&rd_size, zp + BZ_RAMDISK_SIZE, 4);
	memcpy(&cl, zp + BZ_CMD_LINE_PTR, 4);
	cr_expect_eq(rd_size, sizeof(initrd));
	cr_expect_str_eq((const char *)vm.ram + rd, "initrd!");
	cr_expect_str_eq((const char *)vm.ram + cl, "console=ttyS0");
	cr_expect_eq(st.cr3, BZ_PML4_ADDR);
}

Test(vmm_machine, a_truncated_bzimage_is_refused_with_a_reason)
{
	make_bzimage();
	cr_expect_not_null(vm_load_linux(&vm, img, 3 * 512 + 100, "", NULL, 0));
}

Test(vmm_machine, exit_statistics_count_by_reason)
{
	cr_assert(out8(0x80, 1));
	cr_assert(out8(0x80, 2));
	kernel_exit(VM_EXIT_RECALL);
	cr_assert(vm_handle_exit(&vm));
	cr_expect_eq(vm.exits_by_reason[VM_EXIT_IO], 2);
	cr_expect_eq(vm.exits_by_reason[VM_EXIT_RECALL], 1);
	vm_print_exit_stats(&vm, 1000);
}

/* Linux reads it unconditionally on the AMD models of erratum 400 (QEMU's qemu64 is one). */
Test(vmm_machine, the_amd_c1e_msr_reads_zero_instead_of_raising_gp)
{
	uint64_t v = 1;
	cr_expect(msr_read(&vm, 0xc0010055u, &v));
	cr_expect_eq(v, 0, "C1E is off");
	cr_expect_not(msr_write(&vm, 0xc0010055u, 1), "writes stay refused");
}

/* COM1's output goes to the system console a line at a time, prefixed, without the CRs; a
 * partial line (a prompt) goes out when the VMM is about to sleep and is continued bare. */
Test(vmm_machine, com1_output_reaches_the_console_as_prefixed_lines)
{
	cr_redirect_stdout();
	const char *out = "hi\r\nguest# ";
	for (const char *c = out; *c; c++) {
		cr_assert(out8(0x3f8, (uint8_t)*c));
	}
	vm_console_flush(&vm);
	cr_assert(out8(0x3f8, 'x'));
	cr_assert(out8(0x3f8, '\n'));
	fflush(stdout);
	cr_expect_stdout_eq_str("guest: hi\nguest: guest# x\n");
}

/*
 * The waker beside a vCPU thread that is in mid-exit (guest time held): its clock runs on. With
 * the held instant instead, the poll due 10 ms after its start never came: every look saw the
 * same time, the waker slept 1 us at a time and starved the vCPU's thread under Bochs
 * (linux-boot-bochs).
 */
Test(vmm_machine, the_waker_polls_on_the_running_clock_while_an_exit_holds_guest_time)
{
	const uint64_t poll = 10000000; /* 10 ms */
	now_ns = 5000000;
	vm_hold_time(&vm, true); /* the vCPU's thread took an exit and was preempted */
	struct vm_waker w;
	vm_waker_init(&w, &vm, poll);
	uint64_t until, sleeps = 0;
	for (int look = 0; look < 3; look++) {
		bool due = false;
		while (!due && sleeps < 100) {
			uint64_t us = vm_waker_timeout_us(&w, false, VMM_TIME_NEVER, &until);
			cr_assert_eq(until, 5000000 + (look + 1) * poll, "look %d: deadline %lu",
				     look, (unsigned long)until);
			now_ns += us * 1000; /* the sleep */
			sleeps++;
			due = vm_waker_poll_due(&w);
		}
		cr_assert(due, "look %d: the poll never came due (%lu sleeps)", look,
			  (unsigned long)sleeps);
	}
	cr_assert_eq(sleeps, 3, "one sleep per poll, not %lu", (unsigned long)sleeps);
	cr_assert_eq(vm_now_ns(&vm), 5000000, "the vCPU's thread still sees its held instant");
	cr_assert_eq(vm_clock_ns(&vm), now_ns);
}

/* A device event due while the vCPU is in the guest ends the waker's sleep, held time or not. */
Test(vmm_machine, the_waker_sleeps_until_the_next_device_event_of_a_running_guest)
{
	now_ns = 1000000;
	vm_hold_time(&vm, true); /* left over from the last exit: must not matter */
	now_ns = 3000000;
	struct vm_waker w;
	vm_waker_init(&w, &vm, 10000000);
	uint64_t until, ev = 3500000;
	cr_assert_eq(vm_waker_timeout_us(&w, true, ev, &until), 500);
	cr_assert_eq(until, ev);
	cr_assert_not(vm_waker_event_due(&w, ev));
	now_ns = ev;
	cr_assert_not(vm_waker_poll_due(&w));
	cr_assert(vm_waker_event_due(&w, ev), "the event is due: the vCPU is recalled");
	/* Outside the guest the event is the vCPU's own business: the waker waits for its poll. */
	cr_assert_eq(vm_waker_timeout_us(&w, false, ev + 1000, &until), 9500);
	cr_assert_eq(until, 13000000);
}

/* Without console polling or "revoke" the waker sleeps until the vCPU tells it otherwise. */
Test(vmm_machine, the_waker_without_polls_sleeps_until_told)
{
	struct vm_waker w;
	vm_waker_init(&w, &vm, 0);
	uint64_t until;
	cr_assert_eq(vm_waker_timeout_us(&w, false, 1000, &until), VIREO_TIMEOUT_NEVER);
	cr_assert_eq(until, VMM_TIME_NEVER);
	now_ns = 1ull << 40;
	cr_assert_not(vm_waker_poll_due(&w));
}
