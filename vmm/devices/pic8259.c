/* SPDX-License-Identifier: MIT */
/* The 8259A interrupt controller pair of the PC (Intel 8259A datasheet, 231468). */
#include "pic8259.h"

#include "../iobus.h"

enum { MASTER, SLAVE };

/* Priority level (0 = highest) to IR line: after rotation the line after `lowest` is highest. */
static unsigned line_of(const struct pic_chip *c, unsigned level)
{
	return (c->lowest + 1 + level) & 7;
}

/* Priority level of the highest-priority line set in `bits`, 8 when none is. */
static unsigned highest(const struct pic_chip *c, uint8_t bits)
{
	for (unsigned level = 0; level < 8; level++) {
		if (bits & (1u << line_of(c, level))) {
			return level;
		}
	}
	return 8;
}

/* Level-sensitive lines: the ELCR, or all of them with ICW1 LTIM. */
static uint8_t level_lines(const struct pic_chip *c)
{
	return c->ltim ? 0xff : c->elcr;
}

static void set_pin(struct pic_chip *c, unsigned line, bool level)
{
	uint8_t bit = (uint8_t)(1u << line);
	bool was = c->pins & bit;
	if (level) {
		c->pins |= bit;
		/* Edge mode latches the request on the rising edge only (datasheet: "Edge Triggered"). */
		if (!was || (level_lines(c) & bit)) {
			c->irr |= bit;
		}
	} else {
		c->pins &= (uint8_t)~bit;
		/* In level mode the request is not latched: it goes away with the input. */
		if (level_lines(c) & bit) {
			c->irr &= (uint8_t)~bit;
		}
	}
}

/* The IR line this chip would interrupt for, or -1 (priority resolver against ISR). */
static int chip_request(const struct pic_chip *c, unsigned which)
{
	unsigned req = highest(c, c->irr & (uint8_t)~c->imr);
	if (req == 8) {
		return -1;
	}
	uint8_t blocking = c->isr;
	if (c->special_mask) {
		/* Special mask mode: a masked level in service does not inhibit the others. */
		blocking &= (uint8_t)~c->imr;
	}
	unsigned cur = highest(c, blocking);
	unsigned line = line_of(c, req);
	if (req < cur) {
		return (int)line;
	}
	/* Special fully nested mode: the cascade in service still passes higher slave requests. */
	if (which == MASTER && c->sfnm && req == cur && line == PIC_CASCADE_IRQ) {
		return (int)line;
	}
	return -1;
}

static void update(struct pic *p)
{
	int s = chip_request(&p->chip[SLAVE], SLAVE);
	set_pin(&p->chip[MASTER], PIC_CASCADE_IRQ, s >= 0);
	bool intr = chip_request(&p->chip[MASTER], MASTER) >= 0;
	if (intr != p->intr) {
		p->intr = intr;
		if (p->intr_changed) {
			p->intr_changed(p->arg, intr);
		}
	}
}

/* The INTA pulses for `line`: in service (unless auto-EOI), edge request consumed. */
static void chip_ack(struct pic_chip *c, unsigned line)
{
	uint8_t bit = (uint8_t)(1u << line);
	if (!(level_lines(c) & bit)) {
		c->irr &= (uint8_t)~bit;
	}
	if (!c->auto_eoi) {
		c->isr |= bit;
	} else if (c->rotate_on_aeoi) {
		c->lowest = (uint8_t)line;
	}
}

static void chip_reset(struct pic_chip *c, uint8_t vector_base, uint8_t elcr_mask)
{
	*c = (struct pic_chip){
		.vector_base = vector_base, .elcr_mask = elcr_mask, .lowest = 7, .imr = 0xff
	};
}

void pic_set_irq(struct pic *p, unsigned irq, bool level)
{
	irq &= 15;
	if (irq == PIC_CASCADE_IRQ) {
		return; /* the master's IR2 is wired to the slave's INT, no device drives it */
	}
	set_pin(&p->chip[irq >> 3], irq & 7, level);
	update(p);
}

bool pic_pending(struct pic *p, uint8_t *vector)
{
	int m = chip_request(&p->chip[MASTER], MASTER);
	if (m < 0) {
		return false;
	}
	if (vector) {
		const struct pic_chip *c = &p->chip[m == PIC_CASCADE_IRQ ? SLAVE : MASTER];
		int line = m == PIC_CASCADE_IRQ ? chip_request(c, SLAVE) : m;
		*vector = (uint8_t)(c->vector_base | (line < 0 ? 7 : line));
	}
	return true;
}

uint8_t pic_inta(struct pic *p)
{
	struct pic_chip *m = &p->chip[MASTER], *s = &p->chip[SLAVE];
	int line = chip_request(m, MASTER);
	uint8_t vector;
	if (line < 0) {
		/* The request went away before INTA: the datasheet's default IR7, ISR untouched. */
		vector = m->vector_base | 7;
	} else {
		chip_ack(m, (unsigned)line);
		if (line == PIC_CASCADE_IRQ) {
			int sl = chip_request(s, SLAVE);
			if (sl < 0) {
				vector = s->vector_base |
					 7; /* spurious IRQ 15; master IS2 stays set */
			} else {
				chip_ack(s, (unsigned)sl);
				vector = (uint8_t)(s->vector_base | sl);
			}
			/* The slave drops INT during its INTA pulses: a request still pending
			 * behind this one (auto-EOI) gives the master's edge-triggered IR2 a new
			 * rising edge in update(). */
			set_pin(m, PIC_CASCADE_IRQ, false);
		} else {
			vector = (uint8_t)(m->vector_base | line);
		}
	}
	update(p);
	return vector;
}

static void write_icw1(struct pic_chip *c, uint8_t v)
{
	/* ICW1 resets the edge sense, clears IMR, makes IR7 lowest, ends special mask and poll,
	 * selects IRR for reads and (without IC4) zeroes the ICW4 functions. */
	c->imr = 0;
	c->isr = 0;
	c->ltim = v & 0x08;
	c->irr = c->pins & level_lines(c);
	c->single = v & 0x02;
	c->icw4_expected = v & 0x01;
	c->lowest = 7;
	c->special_mask = c->poll = c->read_isr = false;
	c->rotate_on_aeoi = false;
	if (!c->icw4_expected) {
		c->auto_eoi = c->sfnm = false;
	}
	c->init_step = 2;
}

static void write_ocw2(struct pic_chip *c, uint8_t v)
{
	unsigned line = v & 7;
	uint8_t in_service = c->isr;
	if (c->special_mask) {
		/* A non-specific EOI leaves masked levels in service in special mask mode. */
		in_service &= (uint8_t)~c->imr;
	}
	unsigned level = highest(c, in_service);
	switch (v >> 5) {
	case 0: /* clear rotate in automatic EOI mode */
		c->rotate_on_aeoi = false;
		break;
	case 4: /* set rotate in automatic EOI mode */
		c->rotate_on_aeoi = true;
		break;
	case 1: /* non-specific EOI: the highest level in service */
	case 5: /* rotate on non-specific EOI: that level becomes lowest */
		if (level < 8) {
			line = line_of(c, level);
			c->isr &= (uint8_t) ~(1u << line);
			if (v >> 5 == 5) {
				c->lowest = (uint8_t)line;
			}
		}
		break;
	case 3: /* specific EOI */
		c->isr &= (uint8_t) ~(1u << line);
		break;
	case 7: /* rotate on specific EOI */
		c->isr &= (uint8_t) ~(1u << line);
		c->lowest = (uint8_t)line;
		break;
	case 6: /* set priority: `line` becomes lowest */
		c->lowest = (uint8_t)line;
		break;
	default: /* 2: no operation */
		break;
	}
}

static void write_ocw3(struct pic_chip *c, uint8_t v)
{
	if (v & 0x40) {
		c->special_mask = v & 0x20;
	}
	if (v & 0x02) {
		c->read_isr = v & 0x01;
	}
	c->poll = v & 0x04;
}

static void write_even(struct pic_chip *c, uint8_t v)
{
	if (v & 0x10) {
		write_icw1(c, v);
	} else if (v & 0x08) {
		write_ocw3(c, v);
	} else {
		write_ocw2(c, v);
	}
}

static void write_odd(struct pic_chip *c, uint8_t v)
{
	switch (c->init_step) {
	case 2:
		c->vector_base = v & 0xf8;
		c->init_step = c->single ? (c->icw4_expected ? 4 : 0) : 3;
		break;
	case 3:
		c->icw3 = v;
		c->init_step = c->icw4_expected ? 4 : 0;
		break;
	case 4:
		/* ICW4: bit 1 AEOI, bit 4 SFNM; µPM (8086 mode) and buffering change nothing here. */
		c->auto_eoi = v & 0x02;
		c->sfnm = v & 0x10;
		c->init_step = 0;
		break;
	default:
		c->imr = v; /* OCW1 */
		break;
	}
}

/* Poll command: the read acts as INTA and returns bit 7 = request, bits 2-0 = its line. */
static uint8_t poll_read(struct pic_chip *c, unsigned which)
{
	c->poll = false;
	int line = chip_request(c, which);
	if (line < 0) {
		return 0;
	}
	chip_ack(c, (unsigned)line);
	return (uint8_t)(0x80 | line);
}

static void write_elcr(struct pic_chip *c, uint8_t v)
{
	c->elcr = v & c->elcr_mask;
	/* Lines that became level-sensitive request exactly while their input is high. */
	uint8_t lv = level_lines(c);
	c->irr = (uint8_t)((c->irr & ~lv) | (c->pins & lv));
}

uint8_t pic_io_read(struct pic *p, uint16_t port)
{
	uint8_t v = 0xff;
	switch (port) {
	case PIC_MASTER_PORT:
	case PIC_MASTER_PORT + 1:
	case PIC_SLAVE_PORT:
	case PIC_SLAVE_PORT + 1: {
		unsigned which = port >= PIC_SLAVE_PORT ? SLAVE : MASTER;
		struct pic_chip *c = &p->chip[which];
		if (c->poll) {
			v = poll_read(c, which);
		} else if (port & 1) {
			v = c->imr;
		} else {
			v = c->read_isr ? c->isr : c->irr;
		}
		break;
	}
	case PIC_ELCR_PORT:
	case PIC_ELCR_PORT + 1:
		v = p->chip[port - PIC_ELCR_PORT].elcr;
		break;
	default:
		break;
	}
	update(p);
	return v;
}

void pic_io_write(struct pic *p, uint16_t port, uint8_t value)
{
	switch (port) {
	case PIC_MASTER_PORT:
	case PIC_SLAVE_PORT:
		write_even(&p->chip[port == PIC_SLAVE_PORT ? SLAVE : MASTER], value);
		break;
	case PIC_MASTER_PORT + 1:
	case PIC_SLAVE_PORT + 1:
		write_odd(&p->chip[port == PIC_SLAVE_PORT + 1 ? SLAVE : MASTER], value);
		break;
	case PIC_ELCR_PORT:
	case PIC_ELCR_PORT + 1:
		write_elcr(&p->chip[port - PIC_ELCR_PORT], value);
		break;
	default:
		break;
	}
	update(p);
}

/* ---- glue: irqchip interface and bus registration */

static void chip_assert(void *chip, unsigned irq)
{
	pic_set_irq(chip, irq, true);
}

static void chip_deassert(void *chip, unsigned irq)
{
	pic_set_irq(chip, irq, false);
}

static bool chip_pending(void *chip, uint8_t *vector)
{
	return pic_pending(chip, vector);
}

static uint8_t chip_accept(void *chip)
{
	return pic_inta(chip);
}

static const struct irqchip_ops pic_irqchip_ops = {
	.assert_irq = chip_assert,
	.deassert_irq = chip_deassert,
	.pending = chip_pending,
	.accept = chip_accept,
};

void pic_init(struct pic *p, void (*intr_changed)(void *arg, bool level), void *arg)
{
	*p = (struct pic){ .intr_changed = intr_changed, .arg = arg };
	/* Power-on: everything masked, the vector bases a PC BIOS programs; ELCR IRQ 0-2, 8, 13
	 * are always edge (PIIX ELCR). */
	chip_reset(&p->chip[MASTER], 0x08, 0xf8);
	chip_reset(&p->chip[SLAVE], 0x70, 0xde);
	p->irqchip = (struct irqchip){ .ops = &pic_irqchip_ops, .chip = p };
}

/* Wider accesses are split into byte accesses to consecutive ports. */
static uint64_t read_bytes(struct pic *p, uint16_t port, unsigned size)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++) {
		v |= (uint64_t)pic_io_read(p, (uint16_t)(port + i)) << (8 * i);
	}
	return v;
}

static void write_bytes(struct pic *p, uint16_t port, unsigned size, uint64_t v)
{
	for (unsigned i = 0; i < size; i++) {
		pic_io_write(p, (uint16_t)(port + i), (uint8_t)(v >> (8 * i)));
	}
}

#define PIC_RANGE_OPS(name, base)                                                                  \
	static uint64_t name##_read(void *dev, uint64_t off, unsigned size)                        \
	{                                                                                          \
		return read_bytes(dev, (uint16_t)((base) + off), size);                            \
	}                                                                                          \
	static void name##_write(void *dev, uint64_t off, unsigned size, uint64_t v)               \
	{                                                                                          \
		write_bytes(dev, (uint16_t)((base) + off), size, v);                               \
	}                                                                                          \
	static const struct iobus_ops name##_ops = { .read = name##_read, .write = name##_write };

PIC_RANGE_OPS(master, PIC_MASTER_PORT)
PIC_RANGE_OPS(slave, PIC_SLAVE_PORT)
PIC_RANGE_OPS(elcr, PIC_ELCR_PORT)

bool pic_attach(struct pic *p, struct iobus *bus)
{
	return iobus_register(bus, IOBUS_PIO, PIC_MASTER_PORT, 2, &master_ops, p) == IOBUS_OK &&
	       iobus_register(bus, IOBUS_PIO, PIC_SLAVE_PORT, 2, &slave_ops, p) == IOBUS_OK &&
	       iobus_register(bus, IOBUS_PIO, PIC_ELCR_PORT, 2, &elcr_ops, p) == IOBUS_OK;
}
