/* SPDX-License-Identifier: MIT */
/* The 8254 programmable interval timer (Intel 8254 datasheet, 231164) and PC port 0x61. */
#include "pit8254.h"

#include "../iobus.h"

#define NS_PER_S 1000000000ull
#define REFRESH_NS 15085ull /* port 0x61 bit 4 toggles with each DRAM refresh request */

/* Split at whole seconds so that no product exceeds 64 bits (no 128-bit division here). */
uint64_t pit_ns_to_ticks(uint64_t ns)
{
	return ns / NS_PER_S * PIT_HZ + ns % NS_PER_S * PIT_HZ / NS_PER_S;
}

uint64_t pit_ticks_to_ns(uint64_t ticks)
{
	uint64_t r = ticks % PIT_HZ;
	return ticks / PIT_HZ * NS_PER_S + (r * NS_PER_S + PIT_HZ - 1) / PIT_HZ;
}

static uint64_t now_ticks(struct pit *p)
{
	return pit_ns_to_ticks(p->clock_ns(p->arg));
}

/* The counter's modulus: a binary counter wraps at 2^16, a BCD one at 10^4. */
static uint32_t modulus(const struct pit_channel *c)
{
	return c->bcd ? 10000 : 0x10000;
}

static uint16_t to_bcd(uint32_t v)
{
	return (uint16_t)((v / 1000 % 10) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 |
			  v % 10);
}

static uint32_t from_bcd(uint16_t v)
{
	return (v >> 12 & 15) * 1000u + (v >> 8 & 15) * 100u + (v >> 4 & 15) * 10u + (v & 15);
}

/* Clocks counted since the count was loaded (or the gate retriggered it). */
static uint64_t counted(const struct pit_channel *c, uint64_t now)
{
	return c->elapsed + (c->running && now > c->start ? now - c->start : 0);
}

static bool waits_for_trigger(const struct pit_channel *c)
{
	return c->mode == 1 || c->mode == 5;
}

/* The counting element's value (binary, before BCD encoding). */
static uint32_t value_at(const struct pit_channel *c, uint64_t t)
{
	uint32_t n = c->count, m = modulus(c);
	switch (c->mode) {
	case 2: /* rate generator: N, N-1, ..., 1, reload */
		return (uint32_t)(n - t % n) % m;
	case 3: { /* square wave: decrements by two, reloads at each half period */
		uint64_t p = t % n, half = (n + 1) / 2;
		uint64_t q = p < half ? p : p - half;
		return (uint32_t)((n - 2 * q) & ~1ull) % m;
	}
	default: /* 0, 1, 4, 5: one pass down from N, then the counter wraps and goes on */
		return (uint32_t)((n + m - t % m) % m);
	}
}

static bool out_at(const struct pit_channel *c, uint64_t t)
{
	if (!c->loaded) {
		return c->mode != 0; /* the control word sets OUT low in mode 0, high otherwise */
	}
	uint64_t n = c->count;
	bool triggered = c->running || c->elapsed;
	switch (c->mode) {
	case 0: /* interrupt on terminal count: low until the count expires */
		return t >= n;
	case 1: /* one-shot: low from the trigger until terminal count */
		return !triggered || t >= n;
	case 2: /* low for the one clock in which the count is 1; a low gate forces it high */
		return !c->gate || t % n != n - 1;
	case 3: /* high for the first (N+1)/2 clocks of each period */
		return !c->gate || t % n < (n + 1) / 2;
	default: /* 4, 5: strobe: low for the one clock at terminal count */
		return !triggered || t != n;
	}
}

/* OUT rising edges after `t` clocks: what IRQ 0 (edge-triggered) sees. */
static uint64_t edges_at(const struct pit_channel *c, uint64_t t)
{
	if (!c->loaded) {
		return 0;
	}
	uint64_t n = c->count;
	switch (c->mode) {
	case 0:
	case 1:
		return t >= n;
	case 2:
	case 3:
		return t / n;
	default:
		return t > n;
	}
}

static uint16_t read_value(struct pit_channel *c, uint64_t now)
{
	if (!c->loaded) {
		return c->frozen;
	}
	uint32_t v = value_at(c, counted(c, now));
	return c->bcd ? to_bcd(v) : (uint16_t)v;
}

static void drive_irq(struct pit *p, bool level)
{
	if (p->irq && level != p->irq_level) {
		irqchip_set(p->irq, PIT_IRQ, level);
	}
	p->irq_level = level;
}

void pit_update(struct pit *p)
{
	struct pit_channel *c = &p->ch[0];
	uint64_t t = counted(c, now_ticks(p));
	uint64_t edges = edges_at(c, t);
	bool out = out_at(c, t);
	if (edges > c->edges_seen) {
		/* At least one rising edge since the last look: make sure the PIC sees one. */
		p->coalesced += edges - c->edges_seen - 1;
		c->edges_seen = edges;
		drive_irq(p, false);
		drive_irq(p, true);
	}
	drive_irq(p, out);
}

uint64_t pit_next_irq_ns(struct pit *p)
{
	struct pit_channel *c = &p->ch[0];
	if (!c->loaded || !c->running) {
		return PIT_NEVER;
	}
	uint64_t now = now_ticks(p), t = counted(c, now), n = c->count, next;
	if (edges_at(c, t) > c->edges_seen) {
		return p->clock_ns(p->arg);
	}
	switch (c->mode) {
	case 0:
	case 1:
		if (t >= n) {
			return PIT_NEVER;
		}
		next = n;
		break;
	case 2:
	case 3:
		next = (t / n + 1) * n;
		break;
	default:
		if (t > n) {
			return PIT_NEVER;
		}
		next = n + 1;
		break;
	}
	return pit_ticks_to_ns(now + (next - t));
}

static void start_counting(struct pit_channel *c, uint64_t now)
{
	c->elapsed = 0;
	c->edges_seen = 0;
	c->start = now;
	c->running = c->gate && !waits_for_trigger(c);
}

/* The count register is complete: transfer it to the counting element (the datasheet does so
 * on the next CLK pulse; here at once). Modes 2 and 3 reload at once as well, not at the end of
 * the current period. */
static void load_count(struct pit_channel *c, uint16_t raw, uint64_t now)
{
	uint32_t m = modulus(c);
	uint32_t n = (c->bcd ? from_bcd(raw) : raw) % m;
	c->count = n ? n : m; /* a count of 0 is the largest: 2^16 or 10^4 */
	c->loaded = true;
	c->null_count = false;
	start_counting(c, now);
}

static void set_gate(struct pit_channel *c, bool gate, uint64_t now)
{
	if (gate == c->gate) {
		return;
	}
	if (c->running) {
		c->elapsed = counted(c, now);
		c->start = now;
	}
	c->gate = gate;
	if (!c->loaded) {
		return;
	}
	if (!gate) {
		/* Modes 0, 2, 3, 4 suspend counting while the gate is low; 1 and 5 ignore the level. */
		if (!waits_for_trigger(c)) {
			c->running = false;
		}
		return;
	}
	switch (c->mode) {
	case 0:
	case 4: /* resume where it stopped */
		c->start = now;
		c->running = true;
		break;
	default: /* 1, 5: rising gate (re)triggers; 2, 3: it reloads the initial count */
		start_counting(c, now);
		c->running = true;
		break;
	}
}

static uint8_t status_byte(const struct pit_channel *c, uint64_t now)
{
	return (uint8_t)((out_at(c, counted(c, now)) ? 0x80 : 0) | (c->null_count ? 0x40 : 0) |
			 c->rw << 4 | c->mode << 1 | c->bcd);
}

static void latch_count(struct pit_channel *c, uint64_t now)
{
	/* A second latch before the first is read is ignored (datasheet: "Counter Latch"). */
	if (!c->count_latched) {
		c->latch = read_value(c, now);
		c->count_latched = true;
		c->latch_msb_next = c->rw == PIT_RW_MSB;
	}
}

static void read_back(struct pit *p, uint8_t v, uint64_t now)
{
	for (unsigned i = 0; i < 3; i++) {
		struct pit_channel *c = &p->ch[i];
		if (!(v & (2u << i))) {
			continue;
		}
		if (!(v & 0x20)) {
			latch_count(c, now);
		}
		if (!(v & 0x10) && !c->status_latched) {
			c->status = status_byte(c, now);
			c->status_latched = true;
		}
	}
}

static void control_word(struct pit *p, uint8_t v, uint64_t now)
{
	unsigned sc = v >> 6, rw = v >> 4 & 3;
	if (sc == 3) {
		read_back(p, v, now);
		return;
	}
	struct pit_channel *c = &p->ch[sc];
	if (rw == PIT_RW_LATCH) {
		latch_count(c, now);
		return;
	}
	c->frozen = read_value(c, now);
	c->rw = (uint8_t)rw;
	c->mode = v >> 1 & 7;
	if (c->mode > 5) {
		c->mode -= 4; /* 6 and 7 are aliases of 2 and 3 */
	}
	c->bcd = v & 1;
	c->loaded = c->running = false;
	c->elapsed = 0;
	c->edges_seen = 0;
	c->null_count = true;
	c->write_msb_next = c->read_msb_next = false;
	c->count_latched = c->status_latched = false;
}

static void write_counter(struct pit_channel *c, uint8_t v, uint64_t now)
{
	switch (c->rw) {
	case PIT_RW_LSB:
		load_count(c, v, now);
		break;
	case PIT_RW_MSB:
		load_count(c, (uint16_t)(v << 8), now);
		break;
	default:
		if (!c->write_msb_next) {
			c->lsb_written = v;
			c->write_msb_next = true;
			if (c->mode == 0 && c->loaded) {
				/* Mode 0: writing the first byte stops the count and sets OUT low. */
				c->frozen = read_value(c, now);
				c->loaded = c->running = false;
				c->null_count = true;
			}
		} else {
			c->write_msb_next = false;
			load_count(c, (uint16_t)(c->lsb_written | v << 8), now);
		}
		break;
	}
}

static uint8_t read_counter(struct pit_channel *c, uint64_t now)
{
	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	if (c->count_latched) {
		bool msb = c->latch_msb_next;
		if (c->rw == PIT_RW_LOHI && !msb) {
			c->latch_msb_next = true;
		} else {
			c->count_latched = false;
		}
		return (uint8_t)(msb ? c->latch >> 8 : c->latch);
	}
	uint16_t v = read_value(c, now);
	bool msb = c->rw == PIT_RW_MSB || (c->rw == PIT_RW_LOHI && c->read_msb_next);
	if (c->rw == PIT_RW_LOHI) {
		c->read_msb_next = !c->read_msb_next;
	}
	return (uint8_t)(msb ? v >> 8 : v);
}

uint8_t pit_io_read(struct pit *p, uint16_t port)
{
	uint64_t now = now_ticks(p);
	uint8_t v = 0xff;
	if (port >= PIT_PORT && port < PIT_PORT + 3) {
		v = read_counter(&p->ch[port - PIT_PORT], now);
	} else if (port == PIT_PORT_B) {
		bool refresh = p->clock_ns(p->arg) / REFRESH_NS & 1;
		v = (uint8_t)((p->port_b & 0x0f) | (refresh ? 0x10 : 0) |
			      (out_at(&p->ch[2], counted(&p->ch[2], now)) ? 0x20 : 0));
	} /* 0x43 reads nothing: the 8254 does not drive the bus for it */
	pit_update(p);
	return v;
}

void pit_io_write(struct pit *p, uint16_t port, uint8_t value)
{
	uint64_t now = now_ticks(p);
	if (port >= PIT_PORT && port < PIT_PORT + 3) {
		write_counter(&p->ch[port - PIT_PORT], value, now);
	} else if (port == PIT_PORT + 3) {
		control_word(p, value, now);
	} else if (port == PIT_PORT_B) {
		/* Bit 0 gates channel 2, bit 1 enables the speaker, bits 2-3 mask NMI sources. */
		p->port_b = value & 0x0f;
		set_gate(&p->ch[2], value & 1, now);
	}
	pit_update(p);
}

uint16_t pit_counter(struct pit *p, unsigned i)
{
	return read_value(&p->ch[i % 3], now_ticks(p));
}

bool pit_out(struct pit *p, unsigned i)
{
	struct pit_channel *c = &p->ch[i % 3];
	return out_at(c, counted(c, now_ticks(p)));
}

void pit_init(struct pit *p, uint64_t (*clock_ns)(void *arg), void *arg, const struct irqchip *irq)
{
	/* OUT of an unprogrammed channel is high; so is the line, as far as this side knows: the
	 * first access must not look like a rising edge to the PIC. */
	*p = (struct pit){ .clock_ns = clock_ns, .arg = arg, .irq = irq, .irq_level = true };
	for (unsigned i = 0; i < 3; i++) {
		/* Channels 0 and 1 have their gates tied high on the PC; channel 2's is port 0x61. */
		p->ch[i] = (struct pit_channel){
			.rw = PIT_RW_LOHI, .mode = 3, .gate = i != 2, .null_count = true
		};
	}
}

static uint64_t pit_bus_read(void *dev, uint64_t off, unsigned size)
{
	return pit_io_read(dev, (uint16_t)(PIT_PORT + off));
}

static void pit_bus_write(void *dev, uint64_t off, unsigned size, uint64_t v)
{
	pit_io_write(dev, (uint16_t)(PIT_PORT + off), (uint8_t)v);
}

static uint64_t port_b_read(void *dev, uint64_t off, unsigned size)
{
	return pit_io_read(dev, PIT_PORT_B);
}

static void port_b_write(void *dev, uint64_t off, unsigned size, uint64_t v)
{
	pit_io_write(dev, PIT_PORT_B, (uint8_t)v);
}

static const struct iobus_ops pit_ops = { .read = pit_bus_read, .write = pit_bus_write };
static const struct iobus_ops port_b_ops = { .read = port_b_read, .write = port_b_write };

bool pit_attach(struct pit *p, struct iobus *bus)
{
	return iobus_register(bus, IOBUS_PIO, PIT_PORT, 4, &pit_ops, p) == IOBUS_OK &&
	       iobus_register(bus, IOBUS_PIO, PIT_PORT_B, 1, &port_b_ops, p) == IOBUS_OK;
}
