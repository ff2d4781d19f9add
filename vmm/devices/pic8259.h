/* SPDX-License-Identifier: MIT */
/*
 * The PC's 8259A programmable interrupt controller pair: master at 0x20/0x21, slave at
 * 0xa0/0xa1 cascaded on master IR2, edge/level control registers (ELCR) at 0x4d0/0x4d1.
 * Implements the irqchip interface for IRQ 0-15; the master's INT output is reported through a
 * callback so the VMM can kick its vCPU.
 */
#ifndef VMM_DEVICES_PIC8259_H
#define VMM_DEVICES_PIC8259_H

#include <stdbool.h>
#include <stdint.h>

#include "irqchip.h"

struct iobus;

#define PIC_MASTER_PORT 0x20
#define PIC_SLAVE_PORT 0xa0
#define PIC_ELCR_PORT 0x4d0
#define PIC_CASCADE_IRQ 2

/* One 8259A. */
struct pic_chip {
	uint8_t irr, isr, imr;
	uint8_t pins;	     /* input line levels */
	uint8_t edge;	     /* edge-sense latch: lines seen high since their last rising edge */
	uint8_t elcr;	     /* 1 = level-triggered line (PC ELCR) */
	uint8_t elcr_mask;   /* ELCR bits that exist */
	uint8_t vector_base; /* ICW2 bits 7-3 */
	uint8_t lowest;	     /* IR line of lowest priority (rotation); highest is lowest + 1 */
	uint8_t icw3;
	uint8_t init_step; /* 0: operational; 2, 3, 4: next write to the odd port is ICWn */
	bool icw4_expected, single, ltim;
	bool auto_eoi, rotate_on_aeoi, sfnm;
	bool special_mask;
	bool read_isr; /* OCW3 RR/RIS: even-port reads return ISR instead of IRR */
	bool poll;     /* OCW3 P: the next read is a poll command */
};

struct pic {
	struct pic_chip chip[2]; /* 0 master, 1 slave */
	bool intr;		 /* master INT output */
	void (*intr_changed)(void *arg, bool level);
	void *arg;
	struct irqchip irqchip; /* this pair as the devices' interrupt controller */
};

/* `intr_changed` (may be NULL) is called whenever the INT output to the CPU changes. */
void pic_init(struct pic *p, void (*intr_changed)(void *arg, bool level), void *arg);
/* Register 0x20-0x21, 0xa0-0xa1 and 0x4d0-0x4d1; returns false if a port is taken. */
bool pic_attach(struct pic *p, struct iobus *bus);

/* Port access at an absolute port (0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1). */
uint8_t pic_io_read(struct pic *p, uint16_t port);
void pic_io_write(struct pic *p, uint16_t port, uint8_t value);

/* Input lines 0-15 (8-15 are the slave's). */
void pic_set_irq(struct pic *p, unsigned irq, bool level);
/* Whether INT is asserted, and the vector an INTA cycle now would return. */
bool pic_pending(struct pic *p, uint8_t *vector);
/*
 * The INTA cycle: the highest-priority request goes in service and its vector is returned; with
 * nothing left to deliver, the spurious vector of IR7 (of the slave if the cascade was taken).
 */
uint8_t pic_inta(struct pic *p);

#endif
