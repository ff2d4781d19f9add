/* SPDX-License-Identifier: MIT */
/* 16550A at register level: LSR/IIR transitions, FIFO trigger levels, timeout, loopback, DLAB. */
#include <criterion/criterion.h>

#include "dev_fake.h"
#include "devices/uart16550.h"

struct env {
	struct fake_clock clk; /* first: the clock callback reads it through the shared arg */
	uint8_t sent[64];
	unsigned nsent;
};

static struct uart u;
static struct env env;
static struct fake_irq irq;

static uint64_t env_clock(void *arg)
{
	return ((struct env *)arg)->clk.ns;
}

static void env_output(void *arg, uint8_t byte)
{
	struct env *e = arg;
	if (e->nsent < sizeof(e->sent)) {
		e->sent[e->nsent++] = byte;
	}
}

static void out(unsigned off, uint8_t v)
{
	uart_io_write(&u, off, v);
}

static uint8_t in(unsigned off)
{
	return uart_io_read(&u, off);
}

static void setup(void)
{
	env = (struct env){ 0 };
	fake_irq_init(&irq);
	uart_init(&u, &irq.chip, UART_COM1_IRQ, env_output, env_clock, &env);
}

TestSuite(uart16550, .init = setup);

Test(uart16550, reset_state_has_transmitter_empty_and_no_interrupt)
{
	cr_assert_eq(in(UART_LSR), 0x60);
	cr_assert_eq(in(UART_IIR), 0x01);
	cr_assert_eq(in(UART_IER), 0x00);
	cr_assert_eq(in(UART_MSR)&0xf0, 0xb0, "CTS, DSR and DCD of an attached console");
	cr_assert_not(irq.level[4]);
}

Test(uart16550, dlab_maps_the_divisor_latch_over_rbr_and_ier)
{
	out(UART_LCR, 0x83);
	out(0, 0x01);
	out(1, 0x02);
	cr_assert_eq(in(0), 0x01);
	cr_assert_eq(in(1), 0x02);
	out(UART_LCR, 0x03);
	cr_assert_eq(in(UART_IER), 0x00, "IER was not touched by the divisor writes");
	cr_assert_eq(env.nsent, 0, "DLL writes are not transmitted");
	out(UART_LCR, 0x83);
	cr_assert_eq(in(0), 0x01);
}

Test(uart16550, ier_upper_bits_read_as_zero)
{
	out(UART_IER, 0xff);
	cr_assert_eq(in(UART_IER), 0x0f);
}

Test(uart16550, thr_write_goes_to_the_output_callback)
{
	out(0, 'h');
	out(0, 'i');
	cr_assert_eq(env.nsent, 2);
	cr_assert_eq(env.sent[0], 'h');
	cr_assert_eq(env.sent[1], 'i');
	cr_assert_eq(in(UART_LSR)&0x60, 0x60);
}

Test(uart16550, enabling_etbei_with_thr_empty_raises_thre_at_once)
{
	out(UART_IER, UART_IER_THRI);
	cr_assert(irq.level[4]);
	cr_assert_eq(in(UART_IIR), 0x02);
	cr_assert_eq(in(UART_IIR), 0x01, "reading IIR with THRE as the source clears it");
	cr_assert_not(irq.level[4]);
}

Test(uart16550, thre_interrupt_returns_after_each_transmitted_byte)
{
	out(UART_IER, UART_IER_THRI);
	in(UART_IIR);
	out(0, 'x');
	cr_assert_eq(in(UART_IIR), 0x02);
	cr_assert_eq(irq.rises[4], 2);
}

Test(uart16550, received_byte_sets_dr_and_data_available_interrupt)
{
	out(UART_IER, UART_IER_RDI);
	cr_assert(uart_receive(&u, 'k'));
	cr_assert_eq(in(UART_LSR)&UART_LSR_DR, UART_LSR_DR);
	cr_assert_eq(in(UART_IIR), 0x04);
	cr_assert(irq.level[4]);
	cr_assert_eq(in(UART_RBR), 'k');
	cr_assert_eq(in(UART_LSR)&UART_LSR_DR, 0);
	cr_assert_eq(in(UART_IIR), 0x01);
	cr_assert_not(irq.level[4]);
}

Test(uart16550, fifo_enable_shows_in_iir_bits_7_6)
{
	out(UART_IIR, 0x01);
	cr_assert_eq(in(UART_IIR), 0xc1);
	out(UART_IIR, 0x00);
	cr_assert_eq(in(UART_IIR), 0x01);
}

Test(uart16550, fifo_interrupts_only_at_the_trigger_level)
{
	static const struct {
		uint8_t fcr;
		unsigned level;
	} t[] = { { 0x01, 1 }, { 0x41, 4 }, { 0x81, 8 }, { 0xc1, 14 } };
	for (unsigned i = 0; i < 4; i++) {
		setup();
		out(UART_IIR, t[i].fcr);
		out(UART_IER, UART_IER_RDI);
		for (unsigned n = 1; n < t[i].level; n++) {
			uart_receive(&u, (uint8_t)n);
		}
		cr_assert_eq(in(UART_IIR), 0xc1, "below trigger level %u", t[i].level);
		uart_receive(&u, 0);
		cr_assert_eq(in(UART_IIR), 0xc4, "at trigger level %u", t[i].level);
	}
}

Test(uart16550, fifo_holds_sixteen_bytes_in_order)
{
	out(UART_IIR, 0x01);
	for (unsigned i = 0; i < 16; i++) {
		cr_assert(uart_receive(&u, (uint8_t)('a' + i)));
	}
	cr_assert_eq(uart_rx_room(&u), 0);
	for (unsigned i = 0; i < 16; i++) {
		cr_assert_eq(in(UART_RBR), 'a' + i);
	}
	cr_assert_eq(in(UART_LSR)&UART_LSR_DR, 0);
	cr_assert_eq(uart_rx_room(&u), 16);
}

Test(uart16550, data_below_trigger_times_out_after_four_character_times)
{
	out(UART_LCR, 0x83);
	out(0, 1); /* 115200 baud, 8N1: 10 bits, 4 characters = 347 µs */
	out(UART_LCR, 0x03);
	out(UART_IIR, 0xc1);
	out(UART_IER, UART_IER_RDI);
	uart_receive(&u, 'q');
	cr_assert_eq(uart_next_event_ns(&u), 347222);
	env.clk.ns = 347221;
	uart_update(&u);
	cr_assert_not(irq.level[4]);
	env.clk.ns = 347222;
	uart_update(&u);
	cr_assert(irq.level[4]);
	cr_assert_eq(in(UART_IIR), 0xcc);
	cr_assert_eq(in(UART_RBR), 'q');
	cr_assert_eq(in(UART_IIR), 0xc1, "reading the data clears the timeout");
}

Test(uart16550, fifo_overrun_sets_oe_and_drops_the_new_byte)
{
	out(UART_IIR, 0x01);
	for (unsigned i = 0; i < 16; i++) {
		uart_receive(&u, (uint8_t)i);
	}
	cr_assert_not(uart_receive(&u, 0xee));
	cr_assert_eq(in(UART_LSR)&UART_LSR_OE, UART_LSR_OE);
	cr_assert_eq(in(UART_LSR)&UART_LSR_OE, 0, "LSR read clears OE");
	cr_assert_eq(in(UART_RBR), 0);
	cr_assert_eq(u.overruns, 1);
}

Test(uart16550, overrun_without_fifo_replaces_the_unread_byte)
{
	uart_receive(&u, 'a');
	cr_assert_not(uart_receive(&u, 'b'));
	cr_assert_eq(in(UART_LSR)&0x03, 0x03);
	cr_assert_eq(in(UART_RBR), 'b');
}

Test(uart16550, line_status_interrupt_outranks_data_available)
{
	out(UART_IER, UART_IER_RDI | UART_IER_RLSI | UART_IER_THRI);
	uart_receive(&u, 'a');
	uart_receive(&u, 'b');
	cr_assert_eq(in(UART_IIR), 0x06);
	in(UART_LSR);
	cr_assert_eq(in(UART_IIR), 0x04, "then received data");
	in(UART_RBR);
	cr_assert_eq(in(UART_IIR), 0x02, "then THRE");
	cr_assert_eq(in(UART_IIR), 0x01);
}

Test(uart16550, fcr_clear_rx_empties_the_fifo)
{
	out(UART_IIR, 0x01);
	uart_receive(&u, 1);
	uart_receive(&u, 2);
	out(UART_IIR, 0x03);
	cr_assert_eq(in(UART_LSR)&UART_LSR_DR, 0);
	cr_assert_eq(uart_rx_room(&u), 16);
}

Test(uart16550, loopback_feeds_the_transmitter_into_the_receiver)
{
	out(UART_MCR, UART_MCR_LOOP);
	out(0, 'z');
	cr_assert_eq(env.nsent, 0, "nothing leaves the chip in loopback");
	cr_assert_eq(in(UART_LSR)&UART_LSR_DR, UART_LSR_DR);
	cr_assert_eq(in(UART_RBR), 'z');
	cr_assert_not(uart_receive(&u, 'x'), "the serial input is disconnected");
}

Test(uart16550, loopback_connects_modem_outputs_to_modem_inputs)
{
	out(UART_MCR, UART_MCR_LOOP | UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2);
	cr_assert_eq(in(UART_MSR), 0xb0, "DTR->DSR, RTS->CTS, OUT2->DCD: no change, no delta");
	out(UART_MCR, UART_MCR_LOOP);
	cr_assert_eq(in(UART_MSR), 0x0b, "deltas of CTS, DSR and DCD");
	cr_assert_eq(in(UART_MSR), 0x00, "MSR read clears the deltas");
	out(UART_MCR, UART_MCR_LOOP | UART_MCR_OUT1);
	cr_assert_eq(in(UART_MSR), 0x40, "OUT1->RI; the leading edge of RI is no delta");
	out(UART_MCR, UART_MCR_LOOP);
	cr_assert_eq(in(UART_MSR), 0x04, "TERI on the trailing edge");
}

Test(uart16550, modem_status_interrupt_has_lowest_priority)
{
	out(UART_IER, UART_IER_MSI | UART_IER_THRI);
	out(UART_MCR, UART_MCR_LOOP);
	cr_assert_eq(in(UART_IIR), 0x02);
	cr_assert_eq(in(UART_IIR), 0x00, "modem status change");
	cr_assert(irq.level[4]);
	in(UART_MSR);
	cr_assert_eq(in(UART_IIR), 0x01);
	cr_assert_not(irq.level[4]);
}

Test(uart16550, scratch_register_keeps_its_value)
{
	out(UART_SCR, 0x5a);
	cr_assert_eq(in(UART_SCR), 0x5a);
	out(UART_LCR, 0x80);
	cr_assert_eq(in(UART_SCR), 0x5a);
}

Test(uart16550, lcr_and_mcr_read_back)
{
	out(UART_LCR, 0x1b);
	out(UART_MCR, 0xff);
	cr_assert_eq(in(UART_LCR), 0x1b);
	cr_assert_eq(in(UART_MCR), 0x1f);
}
