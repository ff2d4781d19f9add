/* SPDX-License-Identifier: MIT */
/* Fuzz the 16550A: register accesses, received bytes and time for the FIFO timeout. */
#include "devices/uart16550.h"
#include "fuzz.h"

static struct fuzz_clock clk;
static unsigned sent;

static void output(void *arg, uint8_t b)
{
	sent++;
}

static void check(struct uart *u, struct fuzz_irq *irq)
{
	FUZZ_CHECK(u->rx_count <= UART_FIFO_SIZE);
	FUZZ_CHECK(u->rx_count + uart_rx_room(u) == ((u->fcr & UART_FCR_ENABLE) ? 16u : 1u));
	FUZZ_CHECK(u->rx_head < UART_FIFO_SIZE);
	FUZZ_CHECK(!(u->lsr & UART_LSR_DR) == !u->rx_count);
	FUZZ_CHECK(u->lsr & UART_LSR_THRE);
	FUZZ_CHECK((u->ier & 0xf0) == 0);
	FUZZ_CHECK((u->mcr & 0xe0) == 0);
	uint8_t iir = uart_iir(u);
	unsigned id = iir & 0x0f;
	FUZZ_CHECK(id == 0x01 || id == 0x00 || id == 0x02 || id == 0x04 || id == 0x06 ||
		   id == 0x0c);
	FUZZ_CHECK(((iir & 0xc0) == 0xc0) == !!(u->fcr & UART_FCR_ENABLE));
	FUZZ_CHECK(u->irq_level == !(iir & 1));
	FUZZ_CHECK(irq->level[UART_COM1_IRQ] == u->irq_level);
	uint64_t next = uart_next_event_ns(u);
	FUZZ_CHECK(next == UART_NEVER || u->rx_count);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct uart u;
	struct fuzz_irq irq;
	struct fuzz_op op;
	clk.ns = 0;
	fuzz_irq_init(&irq);
	uart_init(&u, &irq.chip, UART_COM1_IRQ, output, fuzz_clock_ns, &clk);
	while (fuzz_next(&data, &len, &op)) {
		clk.ns += op.advance_ns;
		if (op.sel & 0x80) {
			bool room = uart_rx_room(&u) > 0;
			bool stored = uart_receive(&u, (uint8_t)op.value);
			FUZZ_CHECK(!stored || room);
		} else if (op.sel & 0x40) {
			uart_update(&u);
		} else if (op.write) {
			uart_io_write(&u, op.sel & 7, (uint8_t)op.value);
		} else {
			(void)uart_io_read(&u, op.sel & 7);
		}
		check(&u, &irq);
	}
	return 0;
}
