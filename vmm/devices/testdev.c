/* SPDX-License-Identifier: MIT */
/* The guest test device (guests/tests/README.md, "Test port protocol"). */
#include "testdev.h"

static uint64_t mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

void testdev_init(struct testdev *d, void (*console)(void *, char),
		  void (*result)(void *, uint32_t), void *arg)
{
	*d = (struct testdev){
		.console = console, .result = result, .arg = arg, .irq_armed = -1, .irq2_armed = -1
	};
}

bool testdev_io_read(struct testdev *d, uint16_t port, unsigned size, uint32_t *value)
{
	switch (port) {
	case TESTDEV_PORT_MAGIC:
		*value = (uint32_t)(TESTDEV_MAGIC & mask(size));
		return true;
	case TESTDEV_PORT_ECHO:
		*value = (uint32_t)(~d->echo & mask(size));
		return true;
	case TESTDEV_PORT_RECALL:
		*value = (uint32_t)(d->recalls & mask(size));
		return true;
	case TESTDEV_PORT_IOREVOKE:
		*value = (uint32_t)(d->io_revokes & mask(size));
		return true;
	case TESTDEV_PORT_COUNTER:
		*value = d->counter ? d->counter(d->arg, d->counter_sel) : 0xffffffffu;
		*value &= (uint32_t)mask(size);
		return true;
	default:
		return false;
	}
}

bool testdev_io_write(struct testdev *d, uint16_t port, unsigned size, uint32_t value)
{
	switch (port) {
	case TESTDEV_PORT_CONSOLE:
		d->console(d->arg, (char)value);
		return true;
	case TESTDEV_PORT_RESULT:
		d->result(d->arg, value);
		return true;
	case TESTDEV_PORT_ECHO:
		d->echo = (uint32_t)(value & mask(size));
		return true;
	case TESTDEV_PORT_RECALL:
		if (d->recall) {
			d->recall(d->arg);
		}
		return true;
	case TESTDEV_PORT_IOREVOKE:
		if (d->io_revoke) {
			d->io_revoke(d->arg); /* it counts io_revokes once the ports are back */
		}
		return true;
	case TESTDEV_PORT_IRQ2:
		d->irq2_armed = value & 0xff;
		return true;
	case TESTDEV_PORT_COUNTER:
		d->counter_sel = value & 0xff;
		return true;
	case TESTDEV_PORT_IRQ:
		d->irq_armed = value & 0xff;
		return true;
	case TESTDEV_PORT_BENCH_EXIT:
	case TESTDEV_PORT_BENCH_LOOP:
	case TESTDEV_PORT_BENCH_IO:
	case TESTDEV_PORT_BENCH_HLT:
	case TESTDEV_PORT_BENCH_POST: {
		unsigned i = port == TESTDEV_PORT_BENCH_EXIT   ? TESTDEV_BENCH_EXIT
			     : port == TESTDEV_PORT_BENCH_LOOP ? TESTDEV_BENCH_LOOP
			     : port == TESTDEV_PORT_BENCH_IO   ? TESTDEV_BENCH_IO
			     : port == TESTDEV_PORT_BENCH_HLT  ? TESTDEV_BENCH_HLT
							       : TESTDEV_BENCH_POST;
		d->bench[i] = (uint32_t)(value & mask(size));
		d->bench_set |= 1u << i;
		return true;
	}
	default:
		return false;
	}
}

static bool in_window(uint64_t gpa, unsigned size)
{
	return gpa >= TESTDEV_MMIO_BASE && gpa + size <= TESTDEV_MMIO_BASE + TESTDEV_MMIO_SIZE;
}

bool testdev_mmio_read(struct testdev *d, uint64_t gpa, unsigned size, uint64_t *value)
{
	if (!in_window(gpa, size)) {
		return false;
	}
	uint64_t off = gpa - TESTDEV_MMIO_BASE;
	*value = off == 0 ? TESTDEV_MMIO_ID & mask(size) : off == 4 ? d->mmio_reg & mask(size) : 0;
	return true;
}

bool testdev_mmio_write(struct testdev *d, uint64_t gpa, unsigned size, uint64_t value)
{
	if (!in_window(gpa, size)) {
		return false;
	}
	if (gpa - TESTDEV_MMIO_BASE == 4) {
		d->mmio_reg = value & mask(size);
	}
	return true;
}

int testdev_take_irq2(struct testdev *d)
{
	int v = d->irq2_armed;
	d->irq2_armed = -1;
	return v;
}

int testdev_take_irq(struct testdev *d)
{
	int v = d->irq_armed;
	d->irq_armed = -1;
	return v;
}

bool testdev_bench(const struct testdev *d, unsigned which, uint32_t *value)
{
	if (which >= sizeof(d->bench) / sizeof(d->bench[0]) || !(d->bench_set & (1u << which))) {
		return false;
	}
	*value = d->bench[which];
	return true;
}
