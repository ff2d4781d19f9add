/* SPDX-License-Identifier: MIT */
/* Devices wired as in the PC, on one bus behind the 8259A pair: interrupts from the timer, the
 * UART and the RTC arrive as the vectors the guest programmed. */
#include <criterion/criterion.h>

#include "dev_fake.h"
#include "devices/i8042.h"
#include "devices/pci.h"
#include "devices/pic8259.h"
#include "devices/pit8254.h"
#include "devices/rtc.h"
#include "devices/sysport.h"
#include "devices/uart16550.h"
#include "iobus.h"

static struct fake_clock clk;
static struct iobus bus;
static struct pic pic;
static struct pit pit;
static struct uart com1;
static struct rtc rtc;

static void out(uint16_t port, uint8_t v)
{
	iobus_write(&bus, IOBUS_PIO, port, 1, v);
}

static uint8_t in(uint16_t port)
{
	return (uint8_t)iobus_read(&bus, IOBUS_PIO, port, 1);
}

static void discard(void *arg, uint8_t b)
{
}

static void setup(void)
{
	clk.ns = 1700000000ull * 1000000000ull;
	iobus_init(&bus, NULL, NULL);
	pic_init(&pic, NULL, NULL);
	pit_init(&pit, fake_clock_ns, &clk, &pic.irqchip);
	uart_init(&com1, &pic.irqchip, UART_COM1_IRQ, discard, fake_clock_ns, &clk);
	rtc_init(&rtc, &pic.irqchip, fake_clock_ns, &clk);
	cr_assert(pic_attach(&pic, &bus));
	cr_assert(pit_attach(&pit, &bus));
	cr_assert(uart_attach(&com1, &bus, UART_COM1_PORT));
	cr_assert(rtc_attach(&rtc, &bus));
	/* Linux's init_8259A, all lines unmasked. */
	static const uint8_t icw[2][4] = { { 0x11, 0x30, 0x04, 0x01 }, { 0x11, 0x38, 0x02, 0x01 } };
	for (unsigned c = 0; c < 2; c++) {
		uint16_t base = c ? 0xa0 : 0x20;
		out(base, icw[c][0]);
		for (unsigned i = 1; i < 4; i++) {
			out((uint16_t)(base + 1), icw[c][i]);
		}
		out((uint16_t)(base + 1), 0);
	}
}

TestSuite(wiring, .init = setup);

Test(wiring, periodic_timer_ticks_reach_the_cpu_once_per_period_with_eoi)
{
	out(0x43, 0x34);
	out(0x40, 0x9c); /* 11932: 100 Hz */
	out(0x40, 0x2e);
	uint64_t start = clk.ns;
	for (unsigned tick = 1; tick <= 5; tick++) {
		clk.ns = pit_next_irq_ns(&pit);
		pit_update(&pit);
		uint8_t v = 0;
		cr_assert(pic_pending(&pic, &v), "tick %u", tick);
		cr_assert_eq(pic_inta(&pic), 0x30);
		cr_assert_not(pic_pending(&pic, NULL), "no second tick before EOI");
		out(0x20, 0x20);
	}
	cr_assert_eq((clk.ns - start + 500000) / 1000000, 50, "five ticks in 50 ms");
}

Test(wiring, received_byte_interrupts_on_irq4)
{
	out(0x3f9, UART_IER_RDI);
	out(0x3fc, UART_MCR_OUT2 | UART_MCR_DTR | UART_MCR_RTS);
	uart_receive(&com1, 'a');
	cr_assert_eq(pic_inta(&pic), 0x34);
	cr_assert_eq(in(0x3fa), 0x04);
	cr_assert_eq(in(0x3f8), 'a');
	out(0x20, 0x20);
	cr_assert_not(pic_pending(&pic, NULL));
}

Test(wiring, rtc_periodic_interrupt_arrives_through_the_slave)
{
	out(0x70, RTC_REG_B);
	out(0x71, RTC_B_24H | RTC_B_PIE);
	clk.ns = rtc_next_event_ns(&rtc);
	rtc_update(&rtc);
	cr_assert_eq(pic_inta(&pic), 0x38);
	out(0x70, RTC_REG_C);
	cr_assert_eq(in(0x71) & RTC_C_PF, RTC_C_PF);
	out(0xa0, 0x20);
	out(0x20, 0x20);
	clk.ns = rtc_next_event_ns(&rtc);
	rtc_update(&rtc);
	cr_assert_eq(pic_inta(&pic), 0x38, "reading C re-armed the edge");
}

Test(wiring, every_device_attaches_once_and_com2_to_com4_stay_absent)
{
	static struct pci pci;
	static struct i8042 kbc;
	static struct sysport sys;
	pci_init(&pci, NULL, NULL);
	i8042_init(&kbc, &pic.irqchip, NULL, NULL, NULL);
	sysport_init(&sys, NULL, NULL, NULL);
	cr_assert(pci_attach(&pci, &bus));
	cr_assert(i8042_attach(&kbc, &bus));
	cr_assert(sysport_attach(&sys, &bus));
	cr_assert_not(pic_attach(&pic, &bus), "the ports are taken");
	cr_assert_not(pit_attach(&pit, &bus));
	cr_assert_not(uart_attach(&com1, &bus, 0x3fc), "overlaps COM1");
	cr_assert_not(rtc_attach(&rtc, &bus));
	cr_assert_not(pci_attach(&pci, &bus));
	static const uint16_t absent[] = { 0x2f8, 0x2fd, 0x3e8, 0x3ed, 0x2e8, 0x2ed };
	for (unsigned i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
		cr_assert_eq(in(absent[i]), 0xff, "port %#x", absent[i]);
	}
	iobus_write(&bus, IOBUS_PIO, 0xcf8, 4, 0x80000000u);
	cr_assert_eq(iobus_read(&bus, IOBUS_PIO, 0xcfc, 4), 0x12378086u);
	cr_assert_eq(iobus_read(&bus, IOBUS_PIO, 0xcfe, 2), 0x1237u);
}

Test(wiring, wide_accesses_to_the_pic_split_into_byte_ports)
{
	iobus_write(&bus, IOBUS_PIO, 0x20, 2, 0xa50b); /* 0x20 <- OCW3 read ISR, 0x21 <- IMR */
	cr_assert_eq(in(0x21), 0xa5);
	cr_assert_eq(iobus_read(&bus, IOBUS_PIO, 0x20, 2), 0xa500);
}

Test(wiring, word_write_to_0x70_sets_index_and_data_together)
{
	iobus_write(&bus, IOBUS_PIO, 0x70, 2, 0x5a40); /* CMOS[0x40] = 0x5a */
	out(0x70, 0x40);
	cr_assert_eq(in(0x71), 0x5a);
	cr_assert_eq(iobus_read(&bus, IOBUS_PIO, 0x70, 2) >> 8, 0x5a);
}
