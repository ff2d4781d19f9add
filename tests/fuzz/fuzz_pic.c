/* SPDX-License-Identifier: MIT */
/* Fuzz the 8259A pair: port writes and reads, input line changes and INTA cycles. */
#include "devices/pic8259.h"
#include "fuzz.h"

static const uint16_t ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1 };

static bool intr_seen;

static void on_intr(void *arg, bool level)
{
	FUZZ_CHECK(level != intr_seen); /* called on changes only */
	intr_seen = level;
}

static void check(struct pic *p)
{
	for (unsigned i = 0; i < 2; i++) {
		const struct pic_chip *c = &p->chip[i];
		FUZZ_CHECK(c->init_step == 0 || (c->init_step >= 2 && c->init_step <= 4));
		FUZZ_CHECK(c->lowest < 8);
		FUZZ_CHECK((c->elcr & ~c->elcr_mask) == 0);
		FUZZ_CHECK((c->vector_base & 7) == 0);
	}
	uint8_t v = 0;
	bool pending = pic_pending(p, &v);
	FUZZ_CHECK(pending == p->intr);
	FUZZ_CHECK(p->intr == intr_seen);
	if (pending) {
		FUZZ_CHECK((v & 0xf8) == p->chip[0].vector_base ||
			   (v & 0xf8) == p->chip[1].vector_base);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct pic p;
	struct fuzz_op op;
	intr_seen = false;
	pic_init(&p, on_intr, NULL);
	while (fuzz_next(&data, &len, &op)) {
		unsigned kind = op.sel >> 6;
		if (kind == 0) {
			/* An input line: IRQ in the value's low nibble, level in bit 4. */
			pic_set_irq(&p, op.value & 15, op.value & 16);
		} else if (kind == 1) {
			uint8_t expect = 0;
			bool pending = pic_pending(&p, &expect);
			uint8_t isr_before = p.chip[0].isr;
			uint8_t got = pic_inta(&p);
			if (pending && !p.chip[0].auto_eoi &&
			    p.chip[0].vector_base != p.chip[1].vector_base) {
				/* The master line taken (the cascade for slave vectors) is in service. */
				unsigned line =
					(got & 0xf8) == p.chip[0].vector_base ? got & 7u : 2u;
				FUZZ_CHECK((p.chip[0].isr & (1u << line)) ||
					   (isr_before & (1u << line)));
			}
			FUZZ_CHECK((got & 0xf8) == p.chip[0].vector_base ||
				   (got & 0xf8) == p.chip[1].vector_base);
			FUZZ_CHECK(!pending || got == expect);
		} else {
			uint16_t port = ports[op.sel % 6];
			if (op.write) {
				pic_io_write(&p, port, (uint8_t)op.value);
			} else {
				(void)pic_io_read(&p, port);
			}
		}
		check(&p);
	}
	return 0;
}
