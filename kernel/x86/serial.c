/* SPDX-License-Identifier: MIT */
/* Polled output on the COM1 16550 UART: 115200 baud, 8 data bits, no parity, 1 stop bit. */
#include "x86/serial.h"

#include "ioport.h"
#include "x86/cpu.h"

enum {
	UART_THR = 0, /* transmit holding (DLAB=0) */
	UART_DLL = 0, /* divisor latch low (DLAB=1) */
	UART_IER = 1,
	UART_DLM = 1,
	UART_FCR = 2,
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
};
#define LCR_8N1 0x03
#define LCR_DLAB 0x80
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

void serial_init(void)
{
	ioport_kernel_claim(COM1_PORT, 8, "serial console");
	outb(COM1_PORT + UART_IER, 0);
	outb(COM1_PORT + UART_LCR, LCR_DLAB);
	outb(COM1_PORT + UART_DLL, 1); /* 115200 / 1 */
	outb(COM1_PORT + UART_DLM, 0);
	/* 8 data bits: Bochs masks characters with its reset value of 5 (docs/platforms.md#bochs). */
	outb(COM1_PORT + UART_LCR, LCR_8N1);
	outb(COM1_PORT + UART_FCR, 0x07); /* enable and clear FIFOs */
	outb(COM1_PORT + UART_MCR, 0x03); /* DTR, RTS */
}

void serial_putc(char c)
{
	/* Bounded wait: a missing UART must not hang the kernel. */
	for (int i = 0; i < 100000 && !(inb(COM1_PORT + UART_LSR) & LSR_THRE); i++) {
		__asm__ volatile("pause");
	}
	outb(COM1_PORT + UART_THR, (uint8_t)c);
}

void serial_drain(void)
{
	for (int i = 0; i < 1000000 && !(inb(COM1_PORT + UART_LSR) & LSR_TEMT); i++) {
		__asm__ volatile("pause");
	}
}
