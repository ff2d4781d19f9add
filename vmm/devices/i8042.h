/* SPDX-License-Identifier: MIT */
/*
 * A minimal 8042 keyboard controller at 0x60 (data) and 0x64 (status/command): the command
 * byte, self-tests, output port (reset line and A20), pulse-reset command 0xFE, and a keyboard
 * that acknowledges what it is sent but never types. No auxiliary (mouse) device.
 */
#ifndef VMM_DEVICES_I8042_H
#define VMM_DEVICES_I8042_H

#include <stdbool.h>
#include <stdint.h>

#include "irqchip.h"

struct iobus;

#define I8042_DATA_PORT 0x60
#define I8042_STATUS_PORT 0x64
#define I8042_IRQ 1
#define I8042_QUEUE 16

#define I8042_STR_OBF 0x01
#define I8042_STR_SYS 0x04
#define I8042_STR_CMD 0x08 /* the last write went to the command port */
#define I8042_STR_UNLOCKED 0x10
#define I8042_CTR_KBDINT 0x01
#define I8042_CTR_SYS 0x04
#define I8042_CTR_KBDDIS 0x10
#define I8042_CTR_AUXDIS 0x20

struct i8042 {
	uint8_t queue[I8042_QUEUE]; /* output buffer and the bytes waiting behind it */
	uint8_t head, count;
	uint8_t last; /* what a read of an empty output buffer returns */
	uint8_t ctr;  /* command byte */
	uint8_t outport;
	uint8_t pending; /* command waiting for its data byte, 0 if none */
	bool last_was_cmd;
	bool irq_level;
	const struct irqchip *irq;
	void (*reset)(void *arg);	 /* the CPU reset line was pulsed */
	void (*a20)(void *arg, bool on); /* output port bit 1 changed (may be NULL) */
	void *arg;
};

void i8042_init(struct i8042 *k, const struct irqchip *irq, void (*reset)(void *arg),
		void (*a20)(void *arg, bool on), void *arg);
bool i8042_attach(struct i8042 *k, struct iobus *bus);
/* Port access at 0x60 or 0x64. */
uint8_t i8042_io_read(struct i8042 *k, uint16_t port);
void i8042_io_write(struct i8042 *k, uint16_t port, uint8_t value);

#endif
