/* SPDX-License-Identifier: MIT */
/*
 * Differential fuzzing of the 8254's counter arithmetic: channel 2 in modes 0, 1, 2, 4 and 5
 * (binary, LOHI, gate from port 0x61) against a reference that steps the counting element one CLK at a
 * time as the datasheet describes it. Both load a count at once (the model's documented
 * simplification); everything after that must agree clock for clock.
 */
#include "devices/pit8254.h"
#include "fuzz.h"

struct ref {
	unsigned mode;
	uint32_t n, ce; /* initial count (1 .. 0x10000) and counting element */
	bool loaded, gate, out, fired, triggered;
};

static void ref_load(struct ref *r, uint16_t count)
{
	r->n = count ? count : 0x10000;
	r->ce = r->n;
	r->loaded = true;
	r->fired = false;
	r->triggered = false;
	r->out = r->mode == 2 ? r->ce != 1 : r->mode != 0;
}

static bool hardware_triggered(const struct ref *r)
{
	return r->mode == 1 || r->mode == 5;
}

static void ref_tick(struct ref *r)
{
	if (!r->loaded || (hardware_triggered(r) ? !r->triggered : !r->gate)) {
		return; /* 1 and 5 count once triggered, whatever the gate; the others need it high */
	}
	switch (r->mode) {
	case 1: /* one-shot: OUT low from the trigger until terminal count */
		r->ce = (r->ce - 1) & 0xffff;
		if (r->ce == 0) {
			r->out = true;
		}
		break;
	case 0: /* OUT goes high at terminal count and stays; the counter wraps on */
		r->ce = (r->ce - 1) & 0xffff;
		if (r->ce == 0) {
			r->out = true;
		}
		break;
	case 2: /* count 1 is the low clock; then reload */
		r->ce = r->ce == 1 ? r->n : r->ce - 1;
		r->out = r->ce != 1;
		break;
	default: /* 4, 5: one low clock the first time the count reaches 0 */
		r->ce = (r->ce - 1) & 0xffff;
		r->out = !(r->ce == 0 && !r->fired);
		if (r->ce == 0) {
			r->fired = true;
		}
		break;
	}
}

static void ref_gate(struct ref *r, bool gate)
{
	if (gate && !r->gate && r->loaded && r->mode == 2) {
		r->ce = r->n; /* mode 2: a rising gate reloads */
		r->out = r->ce != 1;
	}
	if (gate && !r->gate && r->loaded && hardware_triggered(r)) {
		r->ce = r->n; /* modes 1 and 5: a rising gate (re)triggers */
		r->triggered = true;
		r->fired = false;
		r->out = r->mode == 5;
	}
	r->gate = gate;
}

static bool ref_out(const struct ref *r)
{
	/* Mode 2: a low gate forces OUT high. */
	return r->mode == 2 && !r->gate ? true : r->out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct pit p;
	struct fuzz_clock clk = { 0 };
	struct ref r = { .mode = 3, .out = true };
	uint64_t ticks = 0;
	struct fuzz_op op;
	pit_init(&p, fuzz_clock_ns, &clk, NULL);
	while (fuzz_next(&data, &len, &op)) {
		for (unsigned i = 0; i < op.value >> 24; i++) {
			ticks++;
			ref_tick(&r);
		}
		clk.ns = pit_ticks_to_ns(ticks);
		switch (op.sel & 3) {
		case 0: { /* control word: channel 2, LOHI, binary, mode 0, 1, 2, 4 or 5 */
			static const unsigned modes[5] = { 0, 1, 2, 4, 5 };
			r.mode = modes[(op.sel >> 2) % 5];
			r.loaded = false;
			r.out = r.mode != 0;
			pit_io_write(&p, 0x43, (uint8_t)(0xb0 | r.mode << 1));
			break;
		}
		case 1: /* both count bytes */
			if (r.mode == 3) {
				break; /* not yet programmed by this harness */
			}
			pit_io_write(&p, 0x42, (uint8_t)op.value);
			pit_io_write(&p, 0x42, (uint8_t)(op.value >> 8));
			ref_load(&r, (uint16_t)op.value);
			break;
		case 2:
			pit_io_write(&p, 0x61, op.value & 1);
			ref_gate(&r, op.value & 1);
			break;
		default:
			break;
		}
		if (r.mode == 3) {
			continue;
		}
		FUZZ_CHECK(pit_out(&p, 2) == ref_out(&r));
		FUZZ_CHECK(!!(pit_io_read(&p, 0x61) & 0x20) == ref_out(&r));
		if (r.loaded) {
			FUZZ_CHECK(pit_counter(&p, 2) == (r.ce & 0xffff));
		}
	}
	return 0;
}
