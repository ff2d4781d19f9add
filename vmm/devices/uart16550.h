/* SPDX-License-Identifier: MIT */
/*
 * A 16550A UART at a base port with one IRQ: all registers, 16-byte receive FIFO with trigger
 * levels and character timeout, the four interrupt sources with IIR priority, loopback. Bytes the
 * guest transmits go to an output callback at once (the transmitter is never busy); bytes for the
 * guest are pushed with uart_receive(). Time (for the FIFO timeout) comes from a caller's clock.
 */
#ifndef VMM_DEVICES_UART16550_H
#define VMM_DEVICES_UART16550_H

#include <stdbool.h>
#include <stdint.h>

#include "irqchip.h"

struct iobus;

#define UART_FIFO_SIZE 16
#define UART_NEVER UINT64_MAX
#define UART_COM1_PORT 0x3f8
#define UART_COM1_IRQ 4

/* Register offsets (DLAB selects the divisor latch at 0 and 1). */
enum {
	UART_RBR = 0, /* read: receiver buffer; write: THR */
	UART_IER = 1,
	UART_IIR = 2, /* read: interrupt identification; write: FCR */
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
	UART_MSR = 6,
	UART_SCR = 7,
};

#define UART_IER_RDI 0x01  /* received data available (and FIFO timeout) */
#define UART_IER_THRI 0x02 /* transmitter holding register empty */
#define UART_IER_RLSI 0x04 /* receiver line status */
#define UART_IER_MSI 0x08  /* modem status */
#define UART_IIR_NONE 0x01
#define UART_IIR_MSI 0x00
#define UART_IIR_THRI 0x02
#define UART_IIR_RDI 0x04
#define UART_IIR_RLSI 0x06
#define UART_IIR_TIMEOUT 0x0c
#define UART_IIR_FIFO 0xc0
#define UART_FCR_ENABLE 0x01
#define UART_FCR_CLEAR_RX 0x02
#define UART_FCR_CLEAR_TX 0x04
#define UART_LCR_DLAB 0x80
#define UART_MCR_DTR 0x01
#define UART_MCR_RTS 0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08
#define UART_MCR_LOOP 0x10
#define UART_LSR_DR 0x01
#define UART_LSR_OE 0x02
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_MSR_DCTS 0x01
#define UART_MSR_DDSR 0x02
#define UART_MSR_TERI 0x04
#define UART_MSR_DDCD 0x08
#define UART_MSR_CTS 0x10
#define UART_MSR_DSR 0x20
#define UART_MSR_RI 0x40
#define UART_MSR_DCD 0x80

struct uart {
	uint8_t rx[UART_FIFO_SIZE];
	uint8_t rx_head, rx_count;
	uint8_t rbr; /* last byte read: what an empty receiver buffer returns */
	uint8_t dll, dlm, ier, fcr, lcr, mcr, lsr, msr, scr;
	bool thre_pending; /* THRE interrupt: set when THR empties, cleared by IIR read or THR write */
	bool timeout_pending; /* FIFO character timeout indication */
	uint64_t rx_deadline; /* ns at which data below the trigger level times out */
	bool irq_level;
	uint64_t overruns;
	uint64_t rx_reads; /* bytes the guest took from the receiver (RBR reads that popped one) */
	const struct irqchip *irq;
	unsigned irq_line;
	void (*output)(void *arg, uint8_t byte);
	uint64_t (*clock_ns)(void *arg);
	void *arg;
};

void uart_init(struct uart *u, const struct irqchip *irq, unsigned irq_line,
	       void (*output)(void *arg, uint8_t byte), uint64_t (*clock_ns)(void *arg), void *arg);
/* Register the 8 ports at `base`; false if one is taken. */
bool uart_attach(struct uart *u, struct iobus *bus, uint16_t base);
/* Register access by offset 0-7 from the base port. */
uint8_t uart_io_read(struct uart *u, unsigned offset);
void uart_io_write(struct uart *u, unsigned offset, uint8_t value);
/* A byte arrives on the serial line; false if it was lost (overrun, or loopback mode). */
bool uart_receive(struct uart *u, uint8_t byte);
/* Bytes the receiver can take now without an overrun (input flow control for the VMM). */
unsigned uart_rx_room(const struct uart *u);
/* Evaluate the FIFO timeout against the clock and update the IRQ line. */
void uart_update(struct uart *u);
/* Guest time (ns) at which uart_update() has something to do, or UART_NEVER. */
uint64_t uart_next_event_ns(const struct uart *u);
/* The IIR value a read would return now, without the side effects of the read. */
uint8_t uart_iir(const struct uart *u);

#endif
