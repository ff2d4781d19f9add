/* SPDX-License-Identifier: MIT */
/* Fuzz the 8254 and port 0x61 against a clock the input moves forward. */
#include "devices/pit8254.h"
#include "fuzz.h"

static const uint16_t ports[] = { 0x40, 0x41, 0x42, 0x43, 0x61 };

static bool valid_bcd(uint16_t v)
{
	for (unsigned i = 0; i < 4; i++) {
		if ((v >> (4 * i) & 15) > 9) {
			return false;
		}
	}
	return true;
}

static void check(struct pit *p, struct fuzz_clock *clk, struct fuzz_irq *irq)
{
	for (unsigned i = 0; i < 3; i++) {
		const struct pit_channel *c = &p->ch[i];
		FUZZ_CHECK(c->mode <= 5);
		FUZZ_CHECK(c->rw >= PIT_RW_LSB && c->rw <= PIT_RW_LOHI);
		if (c->loaded) {
			FUZZ_CHECK(c->count >= 1 && c->count <= (c->bcd ? 10000u : 0x10000u));
			uint16_t v = pit_counter(p, i);
			FUZZ_CHECK(!c->bcd || valid_bcd(v));
			if (!c->bcd && c->mode == 2) {
				/* N, N-1, ..., 1: never 0 unless N is 2^16 */
				FUZZ_CHECK((v >= 1 && v <= c->count) ||
					   (v == 0 && c->count == 0x10000));
			}
			if (!c->bcd && c->mode == 3) {
				FUZZ_CHECK((v & 1) == 0 && (v <= c->count || c->count == 0x10000));
			}
		}
	}
	pit_update(p);
	FUZZ_CHECK(irq->level[PIT_IRQ] == p->irq_level);
	FUZZ_CHECK(p->irq_level == pit_out(p, 0));
	uint64_t next = pit_next_irq_ns(p);
	FUZZ_CHECK(next == PIT_NEVER || next > clk->ns); /* nothing overdue right after an update */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct pit p;
	struct fuzz_clock clk = { 0 };
	struct fuzz_irq irq;
	struct fuzz_op op;
	fuzz_irq_init(&irq);
	pit_init(&p, fuzz_clock_ns, &clk, &irq.chip);
	irq.level[PIT_IRQ] = p.irq_level; /* the PIT starts out believing the line is high */
	while (fuzz_next(&data, &len, &op)) {
		clk.ns += op.advance_ns;
		uint16_t port = ports[op.sel % 5];
		if (op.write) {
			pit_io_write(&p, port, (uint8_t)op.value);
		} else {
			(void)pit_io_read(&p, port);
		}
		check(&p, &clk, &irq);
	}
	return 0;
}
