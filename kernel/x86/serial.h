/* SPDX-License-Identifier: MIT */
/* The kernel console on the first 16550 UART (COM1). */
#ifndef KERNEL_X86_SERIAL_H
#define KERNEL_X86_SERIAL_H

#include "types.h"

#define COM1_PORT 0x3f8
#define COM1_IRQ 4

void serial_init(void);
void serial_putc(char c);
/* Wait until the transmitter is empty, so nothing is lost when the machine powers off. */
void serial_drain(void);

#endif
