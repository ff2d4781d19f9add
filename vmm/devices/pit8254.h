/* SPDX-License-Identifier: MIT */
/*
 * The PC's 8254 programmable interval timer at 0x40-0x43 (channel 0 drives IRQ 0, channel 2 the
 * speaker) and system control port B at 0x61 (channel 2 gate in bit 0, its OUT in bit 5).
 * Counters are computed from a guest clock the caller supplies, never from a host timer: the VMM
 * calls pit_update() when time has passed (at pit_next_irq_ns() at the latest) to deliver IRQ 0.
 */
#ifndef VMM_DEVICES_PIT8254_H
#define VMM_DEVICES_PIT8254_H

#include <stdbool.h>
#include <stdint.h>

#include "irqchip.h"

struct iobus;

#define PIT_HZ 1193182ull
#define PIT_PORT 0x40
#define PIT_PORT_B 0x61
#define PIT_IRQ 0
#define PIT_NEVER UINT64_MAX

enum pit_rw { PIT_RW_LATCH, PIT_RW_LSB, PIT_RW_MSB, PIT_RW_LOHI };

struct pit_channel {
	uint32_t count; /* initial count in clocks: 1 .. 0x10000 (binary) or 1 .. 10000 (BCD) */
	uint8_t mode;	/* 0-5 */
	uint8_t rw;	/* enum pit_rw, never PIT_RW_LATCH */
	bool bcd;
	bool gate;
	bool loaded;	     /* a count was written after the control word */
	bool running;	     /* the counting element is being clocked */
	bool null_count;     /* status bit 6: a count written but not yet in the counting element */
	uint64_t start;	     /* tick at which the current run began */
	uint64_t elapsed;    /* clocks counted before it (counting suspended by the gate) */
	uint64_t edges_seen; /* OUT rising edges already delivered (channel 0) */
	uint8_t lsb_written; /* LOHI write: first byte stored, waiting for the second */
	bool write_msb_next, read_msb_next;
	bool count_latched, latch_msb_next, status_latched;
	uint16_t latch;
	uint8_t status;
	uint16_t frozen; /* value read back while no count is loaded */
};

struct pit {
	struct pit_channel ch[3];
	uint64_t (*clock_ns)(void *arg); /* guest time in ns, monotonic */
	void *arg;
	const struct irqchip *irq;
	bool irq_level;	    /* level we drive on IRQ 0 (channel 0's OUT) */
	uint8_t port_b;	    /* port 0x61 bits 0-3 */
	uint64_t coalesced; /* IRQ 0 edges merged because pit_update() came late */
};

void pit_init(struct pit *p, uint64_t (*clock_ns)(void *arg), void *arg, const struct irqchip *irq);
/* Register 0x40-0x43 and 0x61; false if a port is taken. */
bool pit_attach(struct pit *p, struct iobus *bus);
/* Port access at an absolute port (0x40-0x43, 0x61). */
uint8_t pit_io_read(struct pit *p, uint16_t port);
void pit_io_write(struct pit *p, uint16_t port, uint8_t value);
/* Bring IRQ 0 up to date with the clock. */
void pit_update(struct pit *p);
/* Guest time (ns) of the next IRQ 0 edge, the current time if one is overdue, or PIT_NEVER. */
uint64_t pit_next_irq_ns(struct pit *p);
/* Channel `i`'s current count and OUT level (tests, the fuzzer, port 0x61). */
uint16_t pit_counter(struct pit *p, unsigned i);
bool pit_out(struct pit *p, unsigned i);

/* Clock conversion at PIT_HZ; ns to ticks rounds down, ticks to ns up. */
uint64_t pit_ns_to_ticks(uint64_t ns);
uint64_t pit_ticks_to_ns(uint64_t ticks);

#endif
