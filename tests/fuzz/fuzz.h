/* SPDX-License-Identifier: MIT */
/*
 * Shared by the device-model fuzz harnesses: the input is a sequence of 8-byte operations
 *   byte 0  bit 0 write, bits 1-2 size (1, 2, 4, 1), bits 3-7 time-advance shift
 *   byte 1  register selector (the harness maps it to a port or offset)
 *   2-5     value (little-endian)
 *   6-7     time advance: this 16-bit number shifted left by the shift, in ns
 * and each harness checks its device's invariants after every operation.
 */
#ifndef TESTS_FUZZ_FUZZ_H
#define TESTS_FUZZ_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "devices/irqchip.h"

struct fuzz_op {
	bool write;
	unsigned size;
	uint8_t sel;
	uint32_t value;
	uint64_t advance_ns;
};

static inline bool fuzz_next(const uint8_t **data, size_t *len, struct fuzz_op *op)
{
	if (*len < 8) {
		return false;
	}
	const uint8_t *d = *data;
	static const unsigned sizes[4] = { 1, 2, 4, 1 };
	unsigned shift = d[0] >> 3;
	op->write = d[0] & 1;
	op->size = sizes[d[0] >> 1 & 3];
	op->sel = d[1];
	op->value =
		(uint32_t)d[2] | (uint32_t)d[3] << 8 | (uint32_t)d[4] << 16 | (uint32_t)d[5] << 24;
	op->advance_ns = (uint64_t)(d[6] | d[7] << 8) << (shift > 24 ? 24 : shift);
	*data += 8;
	*len -= 8;
	return true;
}

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__,     \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* A clock the input moves forward. */
struct fuzz_clock {
	uint64_t ns;
};

static inline uint64_t fuzz_clock_ns(void *arg)
{
	return ((struct fuzz_clock *)arg)->ns;
}

/* An interrupt controller that records its lines and checks they are driven sensibly. */
struct fuzz_irq {
	bool level[16];
	unsigned changes;
	struct irqchip chip;
};

static inline void fuzz_irq_assert(void *c, unsigned irq)
{
	struct fuzz_irq *f = c;
	FUZZ_CHECK(irq < 16);
	f->level[irq] = true;
	f->changes++;
}

static inline void fuzz_irq_deassert(void *c, unsigned irq)
{
	struct fuzz_irq *f = c;
	FUZZ_CHECK(irq < 16);
	f->level[irq] = false;
	f->changes++;
}

static inline bool fuzz_irq_pending(void *c, uint8_t *v)
{
	return false;
}

static inline uint8_t fuzz_irq_accept(void *c)
{
	return 0;
}

static const struct irqchip_ops fuzz_irq_ops = {
	.assert_irq = fuzz_irq_assert,
	.deassert_irq = fuzz_irq_deassert,
	.pending = fuzz_irq_pending,
	.accept = fuzz_irq_accept,
};

static inline void fuzz_irq_init(struct fuzz_irq *f)
{
	*f = (struct fuzz_irq){ .chip = { .ops = &fuzz_irq_ops, .chip = f } };
}

static inline uint32_t fuzz_mask(unsigned size)
{
	return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

#endif
