/* SPDX-License-Identifier: MIT */
/* The VMM's I/O bus: registration rules, dispatch by offset, all-ones for unclaimed addresses. */
#include <criterion/criterion.h>

#include "iobus.h"

struct dev {
	uint64_t last_off, last_val;
	unsigned last_size, reads, writes;
};

static uint64_t dev_read(void *d, uint64_t off, unsigned size)
{
	struct dev *x = d;
	x->last_off = off;
	x->last_size = size;
	x->reads++;
	return 0x1122334455667788ull;
}

static void dev_write(void *d, uint64_t off, unsigned size, uint64_t v)
{
	struct dev *x = d;
	x->last_off = off;
	x->last_size = size;
	x->last_val = v;
	x->writes++;
}

static const struct iobus_ops ops = { .read = dev_read, .write = dev_write };

struct unknowns {
	unsigned calls;
	uint64_t addr;
	bool write;
};

static void on_unknown(void *arg, enum iobus_space space, uint64_t addr, unsigned size, bool write)
{
	struct unknowns *u = arg;
	u->calls++;
	u->addr = addr;
	u->write = write;
}

static struct iobus bus;
static struct dev a, b;
static struct unknowns unk;

static void setup(void)
{
	a = (struct dev){ 0 };
	b = (struct dev){ 0 };
	unk = (struct unknowns){ 0 };
	iobus_init(&bus, on_unknown, &unk);
}

TestSuite(iobus, .init = setup);

Test(iobus, handlers_get_offset_from_range_base_and_size)
{
	cr_assert_eq(iobus_register(&bus, IOBUS_PIO, 0x3f8, 8, &ops, &a), IOBUS_OK);
	cr_assert_eq(iobus_read(&bus, IOBUS_PIO, 0x3fd, 1), 0x88);
	cr_assert_eq(a.last_off, 5);
	cr_assert_eq(a.last_size, 1);
	iobus_write(&bus, IOBUS_PIO, 0x3f8, 2, 0xabcdef);
	cr_assert_eq(a.last_off, 0);
	cr_assert_eq(a.last_val, 0xcdef, "write values are truncated to the access size");
}

Test(iobus, overlapping_registration_is_refused)
{
	cr_assert_eq(iobus_register(&bus, IOBUS_PIO, 0x40, 4, &ops, &a), IOBUS_OK);
	cr_assert_eq(iobus_register(&bus, IOBUS_PIO, 0x40, 4, &ops, &b), IOBUS_OVERLAP);
	cr_assert_eq(iobus_register(&bus, IOBUS_PIO, 0x3f, 2, &ops, &b), IOBUS_OVERLAP);
	cr_assert_eq(iobus_register(&bus, IOBUS_PIO, 0x43, 1, &ops, &b), IOBUS_OVERLAP);
	cr_assert_eq(iobus_register(&bus, IOBUS_PIO, 0x30, 0x40, &ops, &b), IOBUS_OVERLAP);
	cr_assert_eq(bus.nranges[IOBUS_PIO], 1);
	iobus_read(&bus, IOBUS_PIO, 0x41, 1);
	cr_assert_eq(a.reads, 1, "the first owner keeps the range");
}

Test(iobus, adjacent_ranges_are_both_accepted)
{
	cr_assert_eq(iobus_register(&bus, IOBUS_PIO, 0x40, 4, &ops, &a), IOBUS_OK);
	cr_assert_eq(iobus_register(&bus, IOBUS_PIO, 0x44, 4, &ops, &b), IOBUS_OK);
	cr_assert_eq(iobus_register(&bus, IOBUS_PIO, 0x3c, 4, &ops, &b), IOBUS_OK);
	iobus_read(&bus, IOBUS_PIO, 0x43, 1);
	iobus_read(&bus, IOBUS_PIO, 0x44, 1);
	cr_assert_eq(a.reads, 1);
	cr_assert_eq(b.reads, 1);
	cr_assert_eq(b.last_off, 0);
}

Test(iobus, unclaimed_port_reads_all_ones_of_the_access_size)
{
	cr_assert_eq(iobus_read(&bus, IOBUS_PIO, 0x2f8, 1), 0xff);
	cr_assert_eq(iobus_read(&bus, IOBUS_PIO, 0x2f8, 2), 0xffff);
	cr_assert_eq(iobus_read(&bus, IOBUS_PIO, 0x2f8, 4), 0xffffffffull);
	cr_assert_eq(iobus_read(&bus, IOBUS_MMIO, 0xfee00000, 8), ~0ull);
}

Test(iobus, unclaimed_address_is_reported_once_but_always_counted)
{
	iobus_read(&bus, IOBUS_PIO, 0x2f8, 1);
	iobus_write(&bus, IOBUS_PIO, 0x2f8, 1, 0);
	iobus_read(&bus, IOBUS_PIO, 0x2f8, 1);
	cr_assert_eq(unk.calls, 1);
	cr_assert_eq(unk.addr, 0x2f8);
	iobus_write(&bus, IOBUS_PIO, 0x2f9, 1, 0);
	cr_assert_eq(unk.calls, 2);
	cr_assert(unk.write);
	iobus_read(&bus, IOBUS_MMIO, 0x2f8, 4);
	cr_assert_eq(unk.calls, 3, "MMIO addresses are tracked apart from ports");
	cr_assert_eq(bus.unknown_accesses, 5);
}

Test(iobus, access_straddling_the_range_end_is_unclaimed)
{
	cr_assert_eq(iobus_register(&bus, IOBUS_PIO, 0x70, 2, &ops, &a), IOBUS_OK);
	cr_assert_eq(iobus_read(&bus, IOBUS_PIO, 0x71, 2), 0xffff);
	cr_assert_eq(a.reads, 0);
	cr_assert_eq(iobus_read(&bus, IOBUS_PIO, 0x70, 2), 0x7788);
}

Test(iobus, unregister_frees_the_range)
{
	cr_assert_eq(iobus_register(&bus, IOBUS_MMIO, 0xfeb00000, 0x1000, &ops, &a), IOBUS_OK);
	cr_assert_eq(iobus_unregister(&bus, IOBUS_MMIO, 0xfeb00001), IOBUS_NOT_FOUND);
	cr_assert_eq(iobus_unregister(&bus, IOBUS_MMIO, 0xfeb00000), IOBUS_OK);
	cr_assert_null(iobus_lookup(&bus, IOBUS_MMIO, 0xfeb00000, 4));
	cr_assert_eq(iobus_register(&bus, IOBUS_MMIO, 0xfeb00800, 0x1000, &ops, &b), IOBUS_OK);
}

Test(iobus, empty_wrapping_and_out_of_port_space_ranges_are_refused)
{
	cr_assert_eq(iobus_register(&bus, IOBUS_PIO, 0x10, 0, &ops, &a), IOBUS_BAD_RANGE);
	cr_assert_eq(iobus_register(&bus, IOBUS_PIO, 0xfffe, 4, &ops, &a), IOBUS_BAD_RANGE);
	cr_assert_eq(iobus_register(&bus, IOBUS_MMIO, ~0ull - 1, 4, &ops, &a), IOBUS_BAD_RANGE);
	cr_assert_eq(iobus_register(&bus, IOBUS_PIO, 0xfffc, 4, &ops, &a), IOBUS_OK);
}

Test(iobus, a_full_space_refuses_more_ranges)
{
	for (unsigned i = 0; i < IOBUS_MAX_RANGES; i++) {
		cr_assert_eq(iobus_register(&bus, IOBUS_MMIO, 0x1000ull * (IOBUS_MAX_RANGES - i),
					    16, &ops, &a),
			     IOBUS_OK);
	}
	cr_assert_eq(iobus_register(&bus, IOBUS_MMIO, 0x100000, 16, &ops, &a), IOBUS_FULL);
	for (unsigned i = 1; i < IOBUS_MAX_RANGES; i++) {
		cr_assert_lt(bus.ranges[IOBUS_MMIO][i - 1].base, bus.ranges[IOBUS_MMIO][i].base,
			     "ranges stay sorted");
	}
	cr_assert_not_null(iobus_lookup(&bus, IOBUS_MMIO, 0x1000 * 7 + 15, 1));
	cr_assert_null(iobus_lookup(&bus, IOBUS_MMIO, 0x1000 * 7 + 16, 1));
}
