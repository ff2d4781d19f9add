/* SPDX-License-Identifier: MIT */
/* Fuzz all device models together on one bus behind the real 8259A pair, as the VMM will wire
 * them: port accesses anywhere, time passing, device updates and INTA cycles. */
#include "devices/i8042.h"
#include "devices/pci.h"
#include "devices/pic8259.h"
#include "devices/pit8254.h"
#include "devices/rtc.h"
#include "devices/sysport.h"
#include "devices/uart16550.h"
#include "fuzz.h"
#include "iobus.h"

struct machine {
	struct fuzz_clock clk;
	struct iobus bus;
	struct pic pic;
	struct pit pit;
	struct uart com1;
	struct rtc rtc;
	struct pci pci;
	struct i8042 kbc;
	struct sysport sys;
	unsigned resets;
};

static const uint16_t ports[] = {
	0x20,  0x21,  0xa0,  0xa1,  0x4d0, 0x4d1, 0x40,	 0x41, 0x42,  0x43,  0x61,  0x3f8,
	0x3f9, 0x3fa, 0x3fb, 0x3fc, 0x3fd, 0x3fe, 0x3ff, 0x70, 0x71,  0xcf8, 0xcf9, 0xcfa,
	0xcfc, 0xcfd, 0xcfe, 0xcff, 0x60,  0x64,  0x92,	 0x80, 0x2f8, 0xe9,
};

static uint64_t wall(void *arg)
{
	return 1700000000ull * 1000000000ull + ((struct machine *)arg)->clk.ns;
}

static uint64_t guest(void *arg)
{
	return ((struct machine *)arg)->clk.ns;
}

static void reset_req(void *arg)
{
	((struct machine *)arg)->resets++;
}

static void reset_hard(void *arg, bool hard)
{
	((struct machine *)arg)->resets++;
}

static void output(void *arg, uint8_t b)
{
}

static void build(struct machine *m)
{
	*m = (struct machine){ 0 };
	iobus_init(&m->bus, NULL, NULL);
	pic_init(&m->pic, NULL, NULL);
	const struct irqchip *irq = &m->pic.irqchip;
	pit_init(&m->pit, guest, m, irq);
	uart_init(&m->com1, irq, UART_COM1_IRQ, output, guest, m);
	rtc_init(&m->rtc, irq, wall, m);
	rtc_set_memory(&m->rtc, 256u << 20, 0);
	pci_init(&m->pci, reset_hard, m);
	i8042_init(&m->kbc, irq, reset_req, NULL, m);
	sysport_init(&m->sys, reset_req, NULL, m);
	FUZZ_CHECK(pic_attach(&m->pic, &m->bus));
	FUZZ_CHECK(pit_attach(&m->pit, &m->bus));
	FUZZ_CHECK(uart_attach(&m->com1, &m->bus, UART_COM1_PORT));
	FUZZ_CHECK(rtc_attach(&m->rtc, &m->bus));
	FUZZ_CHECK(pci_attach(&m->pci, &m->bus));
	FUZZ_CHECK(i8042_attach(&m->kbc, &m->bus));
	FUZZ_CHECK(sysport_attach(&m->sys, &m->bus));
	FUZZ_CHECK(!uart_attach(&m->com1, &m->bus, 0x3fc)); /* overlap refused */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct machine m;
	struct fuzz_op op;
	build(&m);
	while (fuzz_next(&data, &len, &op)) {
		m.clk.ns += op.advance_ns;
		uint16_t port = ports[op.sel % (sizeof(ports) / sizeof(ports[0]))];
		switch (op.sel >> 6) {
		case 0:
			pit_update(&m.pit);
			uart_update(&m.com1);
			rtc_update(&m.rtc);
			break;
		case 1:
			if (m.pic.intr) {
				uint8_t v = pic_inta(&m.pic);
				FUZZ_CHECK((v & 0xf8) == m.pic.chip[0].vector_base ||
					   (v & 0xf8) == m.pic.chip[1].vector_base);
			} else {
				uart_receive(&m.com1, (uint8_t)op.value);
			}
			break;
		default:
			if (op.write) {
				iobus_write(&m.bus, IOBUS_PIO, port, op.size, op.value);
			} else {
				uint64_t v = iobus_read(&m.bus, IOBUS_PIO, port, op.size);
				FUZZ_CHECK((v & ~(uint64_t)fuzz_mask(op.size)) == 0);
			}
			break;
		}
		FUZZ_CHECK(m.pic.intr == pic_pending(&m.pic, NULL));
		FUZZ_CHECK(m.com1.rx_count <= UART_FIFO_SIZE);
	}
	return 0;
}
