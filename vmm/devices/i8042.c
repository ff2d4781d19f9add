/* SPDX-License-Identifier: MIT */
/* A minimal 8042 keyboard controller (IBM PC/AT Technical Reference, keyboard controller). */
#include "i8042.h"

#include "../iobus.h"

#define OUTPORT_RESET 0x01 /* active low: 0 holds the CPU in reset */
#define OUTPORT_A20 0x02

static void update_irq(struct i8042 *k)
{
	bool level = k->count && (k->ctr & I8042_CTR_KBDINT);
	if (level != k->irq_level) {
		k->irq_level = level;
		if (k->irq) {
			irqchip_set(k->irq, I8042_IRQ, level);
		}
	}
}

static void push(struct i8042 *k, uint8_t v)
{
	if (k->count < I8042_QUEUE) {
		k->queue[(k->head + k->count) % I8042_QUEUE] = v;
		k->count++;
	}
}

static uint8_t pop(struct i8042 *k)
{
	if (k->count) {
		k->last = k->queue[k->head];
		k->head = (uint8_t)((k->head + 1) % I8042_QUEUE);
		k->count--;
		/* Each byte is its own interrupt: drop the line so the next one is a new edge. */
		if (k->irq_level && k->irq) {
			irqchip_deassert(k->irq, I8042_IRQ);
		}
		k->irq_level = false;
	}
	return k->last;
}

static void write_outport(struct i8042 *k, uint8_t v)
{
	uint8_t old = k->outport;
	k->outport = v;
	if ((old ^ v) & OUTPORT_A20 && k->a20) {
		k->a20(k->arg, v & OUTPORT_A20);
	}
	if (!(v & OUTPORT_RESET) && k->reset) {
		k->reset(k->arg);
	}
	k->outport |= OUTPORT_RESET; /* the reset pulse is over */
}

/* A keyboard that is there and answers, but has nothing to type. */
static void keyboard_write(struct i8042 *k, uint8_t v)
{
	switch (v) {
	case 0xff: /* reset: ACK, then basic assurance test passed */
		push(k, 0xfa);
		push(k, 0xaa);
		break;
	case 0xf2: /* identify: ACK, MF2 keyboard */
		push(k, 0xfa);
		push(k, 0xab);
		push(k, 0x83);
		break;
	case 0xee: /* echo */
		push(k, 0xee);
		break;
	default: /* commands and their parameters are acknowledged */
		push(k, 0xfa);
		break;
	}
}

static void data_write(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending;
	k->pending = 0;
	switch (cmd) {
	case 0x60: /* write command byte */
		k->ctr = v;
		break;
	case 0xd1: /* write output port */
		write_outport(k, v);
		break;
	case 0xd2: /* write keyboard output buffer: the byte comes back as if typed */
		push(k, v);
		break;
	case 0xd3: /* write auxiliary output buffer */
	case 0xd4: /* write to the auxiliary device: there is none */
		break;
	default:
		keyboard_write(k, v);
		break;
	}
}

static void command(struct i8042 *k, uint8_t v)
{
	switch (v) {
	case 0x20: /* read command byte */
		push(k, k->ctr);
		break;
	case 0x60:
	case 0xd1:
	case 0xd2:
	case 0xd3:
	case 0xd4:
		k->pending = v;
		break;
	case 0xa7: /* disable auxiliary interface */
		k->ctr |= I8042_CTR_AUXDIS;
		break;
	case 0xa8: /* enable auxiliary interface */
		k->ctr &= (uint8_t)~I8042_CTR_AUXDIS;
		break;
	case 0xa9: /* auxiliary interface test: clock line stuck low (no mouse) */
		push(k, 0x01);
		break;
	case 0xaa: /* controller self-test: passed, and the system flag is set */
		k->ctr |= I8042_CTR_SYS;
		push(k, 0x55);
		break;
	case 0xab: /* keyboard interface test: no error */
		push(k, 0x00);
		break;
	case 0xad: /* disable keyboard */
		k->ctr |= I8042_CTR_KBDDIS;
		break;
	case 0xae: /* enable keyboard */
		k->ctr &= (uint8_t)~I8042_CTR_KBDDIS;
		break;
	case 0xc0: /* read input port */
		push(k, 0x00);
		break;
	case 0xd0: /* read output port */
		push(k, k->outport);
		break;
	default:
		/* 0xf0-0xff pulse the output port lines whose bits are 0: bit 0 is CPU reset. */
		if (v >= 0xf0 && !(v & 1)) {
			write_outport(k, k->outport & (uint8_t)~OUTPORT_RESET);
		}
		break;
	}
}

uint8_t i8042_io_read(struct i8042 *k, uint16_t port)
{
	uint8_t v = 0xff;
	if (port == I8042_DATA_PORT) {
		v = pop(k);
	} else if (port == I8042_STATUS_PORT) {
		v = (uint8_t)((k->count ? I8042_STR_OBF : 0) |
			      (k->ctr & I8042_CTR_SYS ? I8042_STR_SYS : 0) |
			      (k->last_was_cmd ? I8042_STR_CMD : 0) | I8042_STR_UNLOCKED);
	}
	update_irq(k);
	return v;
}

void i8042_io_write(struct i8042 *k, uint16_t port, uint8_t value)
{
	if (port == I8042_DATA_PORT) {
		k->last_was_cmd = false;
		data_write(k, value);
	} else if (port == I8042_STATUS_PORT) {
		k->last_was_cmd = true;
		command(k, value);
	}
	update_irq(k);
}

void i8042_init(struct i8042 *k, const struct irqchip *irq, void (*reset)(void *arg),
		void (*a20)(void *arg, bool on), void *arg)
{
	/* As a PC BIOS leaves it: translation, system flag, keyboard interrupt; A20 on. */
	*k = (struct i8042){ .irq = irq,
			     .reset = reset,
			     .a20 = a20,
			     .arg = arg,
			     .ctr = 0x45,
			     .outport = OUTPORT_RESET | OUTPORT_A20 };
}

static uint64_t data_read(void *dev, uint64_t off, unsigned size)
{
	return i8042_io_read(dev, I8042_DATA_PORT);
}

static void data_write_op(void *dev, uint64_t off, unsigned size, uint64_t v)
{
	i8042_io_write(dev, I8042_DATA_PORT, (uint8_t)v);
}

static uint64_t status_read(void *dev, uint64_t off, unsigned size)
{
	return i8042_io_read(dev, I8042_STATUS_PORT);
}

static void command_write(void *dev, uint64_t off, unsigned size, uint64_t v)
{
	i8042_io_write(dev, I8042_STATUS_PORT, (uint8_t)v);
}

static const struct iobus_ops data_ops = { .read = data_read, .write = data_write_op };
static const struct iobus_ops status_ops = { .read = status_read, .write = command_write };

bool i8042_attach(struct i8042 *k, struct iobus *bus)
{
	return iobus_register(bus, IOBUS_PIO, I8042_DATA_PORT, 1, &data_ops, k) == IOBUS_OK &&
	       iobus_register(bus, IOBUS_PIO, I8042_STATUS_PORT, 1, &status_ops, k) == IOBUS_OK;
}
