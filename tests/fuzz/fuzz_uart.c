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

/* What the receiver must hand out, in order: bytes that arrived and were not lost. */
struct shadow {
	uint8_t q[UART_FIFO_SIZE];
	unsigned n;
	uint8_t last;
};

static void shadow_arrive(struct shadow *sh, const struct uart *u, uint8_t b, bool had_room)
{
	if (had_room) {
		sh->q[sh->n++] = b;
	} else if (!(u->fcr & UART_FCR_ENABLE)) {
		sh->q[0] = b; /* 16450 overrun: the new byte replaces the unread one */
	}
}

static void shadow_read(struct shadow *sh, uint8_t got)
{
	if (sh->n) {
		FUZZ_CHECK(got == sh->q[0]);
		sh->last = sh->q[0];
		for (unsigned i = 1; i < sh->n; i++) {
			sh->q[i - 1] = sh->q[i];
		}
		sh->n--;
	} else {
		FUZZ_CHECK(got == sh->last); /* an empty receiver repeats its last byte */
	}
}

static void access(struct uart *u, struct shadow *sh, const struct fuzz_op *op)
{
	unsigned off = op->sel & 7;
	bool dlab = u->lcr & UART_LCR_DLAB;
	uint8_t v = (uint8_t)op->value;
	if (!op->write) {
		uint8_t got = uart_io_read(u, off);
		if (off == UART_RBR && !dlab) {
			shadow_read(sh, got);
		}
		return;
	}
	bool room = uart_rx_room(u) > 0;
	if (off == UART_IIR && (((v ^ u->fcr) & UART_FCR_ENABLE) || (v & UART_FCR_CLEAR_RX))) {
		sh->n = 0; /* the FIFO is cleared */
	}
	uart_io_write(u, off, v);
	if (off == UART_RBR && !dlab && (u->mcr & UART_MCR_LOOP)) {
		shadow_arrive(sh, u, v, room);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct uart u;
	struct fuzz_irq irq;
	struct fuzz_op op;
	struct shadow sh = { .n = 0 };
	clk.ns = 0;
	fuzz_irq_init(&irq);
	uart_init(&u, &irq.chip, UART_COM1_IRQ, output, fuzz_clock_ns, &clk);
	while (fuzz_next(&data, &len, &op)) {
		clk.ns += op.advance_ns;
		if (op.sel & 0x80) {
			bool room = uart_rx_room(&u) > 0;
			bool loop = u.mcr & UART_MCR_LOOP;
			bool stored = uart_receive(&u, (uint8_t)op.value);
			FUZZ_CHECK(!stored || room);
			if (!loop) {
				shadow_arrive(&sh, &u, (uint8_t)op.value, room);
			}
		} else if (op.sel & 0x40) {
			uart_update(&u);
		} else {
			access(&u, &sh, &op);
		}
		check(&u, &irq);
		FUZZ_CHECK(sh.n == u.rx_count);
	}
	return 0;
}
