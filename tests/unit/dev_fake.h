/* SPDX-License-Identifier: MIT */
/* Test doubles for the device-model tests: an interrupt controller that records its input
 * lines, and a clock the test moves by hand. */
#ifndef TESTS_UNIT_DEV_FAKE_H
#define TESTS_UNIT_DEV_FAKE_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/irqchip.h"

struct fake_irq {
	bool level[16];
	unsigned rises[16], falls[16];
	struct irqchip chip;
};

static inline void fake_irq_assert(void *chip, unsigned irq)
{
	struct fake_irq *f = chip;
	if (!f->level[irq & 15]) {
		f->rises[irq & 15]++;
	}
	f->level[irq & 15] = true;
}

static inline void fake_irq_deassert(void *chip, unsigned irq)
{
	struct fake_irq *f = chip;
	if (f->level[irq & 15]) {
		f->falls[irq & 15]++;
	}
	f->level[irq & 15] = false;
}

static inline bool fake_irq_pending(void *chip, uint8_t *vector)
{
	return false;
}

static inline uint8_t fake_irq_accept(void *chip)
{
	return 0;
}

static const struct irqchip_ops fake_irq_ops = {
	.assert_irq = fake_irq_assert,
	.deassert_irq = fake_irq_deassert,
	.pending = fake_irq_pending,
	.accept = fake_irq_accept,
};

static inline void fake_irq_init(struct fake_irq *f)
{
	*f = (struct fake_irq){ .chip = { .ops = &fake_irq_ops, .chip = f } };
}

struct fake_clock {
	uint64_t ns;
};

static inline uint64_t fake_clock_ns(void *arg)
{
	return ((struct fake_clock *)arg)->ns;
}

#endif
