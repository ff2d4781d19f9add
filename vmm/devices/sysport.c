/* SPDX-License-Identifier: MIT */
/* System Control Port A (0x92, PS/2 "fast A20 and reset") and the POST-code port 0x80. */
#include "sysport.h"

#include "../iobus.h"

uint8_t sysport_io_read(struct sysport *s, uint16_t port)
{
	if (port == SYSPORT_A) {
		return s->port_a;
	}
	if (port == SYSPORT_POST) {
		return s->post_code;
	}
	return 0xff;
}

void sysport_io_write(struct sysport *s, uint16_t port, uint8_t value)
{
	if (port == SYSPORT_POST) {
		s->post_code = value;
		s->post_writes++;
		return;
	}
	if (port != SYSPORT_A) {
		return;
	}
	uint8_t old = s->port_a;
	/* Bit 0 pulses reset and reads back 0 afterwards; bit 3 (CMOS lock) and the rest stick. */
	s->port_a = value & (uint8_t)~SYSPORT_A_RESET;
	if ((old ^ value) & SYSPORT_A_A20 && s->a20) {
		s->a20(s->arg, value & SYSPORT_A_A20);
	}
	if ((value & SYSPORT_A_RESET) && s->reset) {
		s->reset(s->arg);
	}
}

void sysport_init(struct sysport *s, void (*reset)(void *arg), void (*a20)(void *arg, bool on),
		  void *arg)
{
	*s = (struct sysport){ .reset = reset, .a20 = a20, .arg = arg, .port_a = SYSPORT_A_A20 };
}

static uint64_t port_a_read(void *dev, uint64_t off, unsigned size)
{
	return sysport_io_read(dev, SYSPORT_A);
}

static void port_a_write(void *dev, uint64_t off, unsigned size, uint64_t v)
{
	sysport_io_write(dev, SYSPORT_A, (uint8_t)v);
}

static uint64_t post_read(void *dev, uint64_t off, unsigned size)
{
	return sysport_io_read(dev, SYSPORT_POST);
}

static void post_write(void *dev, uint64_t off, unsigned size, uint64_t v)
{
	sysport_io_write(dev, SYSPORT_POST, (uint8_t)v);
}

static const struct iobus_ops port_a_ops = { .read = port_a_read, .write = port_a_write };
static const struct iobus_ops post_ops = { .read = post_read, .write = post_write };

bool sysport_attach(struct sysport *s, struct iobus *bus)
{
	return iobus_register(bus, IOBUS_PIO, SYSPORT_A, 1, &port_a_ops, s) == IOBUS_OK &&
	       iobus_register(bus, IOBUS_PIO, SYSPORT_POST, 1, &post_ops, s) == IOBUS_OK;
}
