/* SPDX-License-Identifier: MIT */
/*
 * The interrupt-controller interface between device models and interrupt injection (bhyve's
 * vatpic idea): devices drive numbered input lines, the VMM asks whether an interrupt is pending
 * and tells the controller when the CPU accepted it. The controller behind it (pic8259.c, later an
 * I/O APIC) is chosen by whoever builds the machine; devices know only this struct.
 */
#ifndef VMM_DEVICES_IRQCHIP_H
#define VMM_DEVICES_IRQCHIP_H

#include <stdbool.h>
#include <stdint.h>

struct irqchip_ops {
	/* Input line `irq` goes high (assert) or low (deassert). Edge or level is the chip's business. */
	void (*assert_irq)(void *chip, unsigned irq);
	void (*deassert_irq)(void *chip, unsigned irq);
	/* Whether the chip requests an interrupt from the CPU, and the vector it would deliver. */
	bool (*pending)(void *chip, uint8_t *vector);
	/* The CPU took the interrupt (the INTA cycle): returns the vector actually delivered. */
	uint8_t (*accept)(void *chip);
};

struct irqchip {
	const struct irqchip_ops *ops;
	void *chip;
};

static inline void irqchip_assert(const struct irqchip *c, unsigned irq)
{
	c->ops->assert_irq(c->chip, irq);
}

static inline void irqchip_deassert(const struct irqchip *c, unsigned irq)
{
	c->ops->deassert_irq(c->chip, irq);
}

/* A rising then falling edge: what an edge-triggered ISA device does for one event. */
static inline void irqchip_pulse(const struct irqchip *c, unsigned irq)
{
	c->ops->assert_irq(c->chip, irq);
	c->ops->deassert_irq(c->chip, irq);
}

static inline void irqchip_set(const struct irqchip *c, unsigned irq, bool level)
{
	if (level) {
		irqchip_assert(c, irq);
	} else {
		irqchip_deassert(c, irq);
	}
}

static inline bool irqchip_pending(const struct irqchip *c, uint8_t *vector)
{
	return c->ops->pending(c->chip, vector);
}

static inline uint8_t irqchip_accept(const struct irqchip *c)
{
	return c->ops->accept(c->chip);
}

#endif
