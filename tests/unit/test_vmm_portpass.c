/* SPDX-License-Identifier: MIT */
/* The VMM's ioport=LO-HI word (vmm/portpass.c) and the test port 0xea that makes it revoke them. */
#include <criterion/criterion.h>

#include "devices/testdev.h"
#include "portpass.h"

Test(vmm_portpass, parses_an_inclusive_range_in_hex_or_decimal)
{
	uint32_t lo = 1, hi = 1;
	cr_assert(portpass_parse("0x80-0x87", &lo, &hi));
	cr_expect_eq(lo, 0x80);
	cr_expect_eq(hi, 0x87);
	cr_assert(portpass_parse("128-128", &lo, &hi));
	cr_expect_eq(lo, 128);
	cr_expect_eq(hi, 128);
	cr_assert(portpass_parse("0-0xffff", &lo, &hi));
	cr_expect_eq(hi, 0xffff);
}

Test(vmm_portpass, refuses_anything_else)
{
	uint32_t lo = 7, hi = 7;
	const char *bad[] = { "",	   "0x80",	 "0x80-",      "-0x87", "0x87-0x80",
			      "0-0x10000", "0x80-0x87x", "0x80--0x87", "x-y",	"0x80:8" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect(!portpass_parse(bad[i], &lo, &hi), "accepted \"%s\"", bad[i]);
	}
	cr_expect_eq(lo, 7, "a refused word changed the range");
	cr_expect_eq(hi, 7);
}

Test(vmm_portpass, blocks_are_the_largest_aligned_flexpages_inside_the_range)
{
	cr_expect_eq(portpass_block(0x80, 0x87), 3);
	cr_expect_eq(portpass_block(0x80, 0x86), 2, "0x80-0x83, then smaller");
	cr_expect_eq(portpass_block(0x81, 0xff), 0, "an odd port is a block of one");
	cr_expect_eq(portpass_block(0x84, 0xff), 2);
	cr_expect_eq(portpass_block(0, 0xffff), 16, "the whole I/O space");
	cr_expect_eq(portpass_block(0xfffe, 0xffff), 1);
}

struct given {
	uint32_t port[20];
	unsigned order[20], n, fail_at;
};

static bool give(void *arg, uint32_t port, unsigned order)
{
	struct given *g = arg;
	if (g->n == g->fail_at) {
		return false;
	}
	g->port[g->n] = port;
	g->order[g->n++] = order;
	return true;
}

Test(vmm_portpass, a_range_is_covered_exactly_once_in_order)
{
	struct given g = { .fail_at = 99 };
	bool ok;
	cr_assert_eq(portpass_each_block(0x7f, 0x88, give, &g, &ok), 3);
	cr_expect(ok);
	cr_expect_eq(g.port[0], 0x7f);
	cr_expect_eq(g.order[0], 0);
	cr_expect_eq(g.port[1], 0x80);
	cr_expect_eq(g.order[1], 3);
	cr_expect_eq(g.port[2], 0x88);
	cr_expect_eq(g.order[2], 0);
}

Test(vmm_portpass, the_first_refused_block_stops_the_rest)
{
	struct given g = { .fail_at = 1 };
	bool ok;
	cr_expect_eq(portpass_each_block(0x7f, 0x88, give, &g, &ok), 1);
	cr_expect(!ok);
	cr_expect_eq(g.n, 1);
}

static unsigned revokes;
static void count_revoke(void *arg)
{
	struct testdev *d = arg;
	revokes++;
	d->io_revokes++; /* as the VMM does once the ports are back */
}

static void no_console(void *arg, char c)
{
	(void)arg, (void)c;
}

static void no_result(void *arg, uint32_t code)
{
	(void)arg, (void)code;
}

Test(vmm_portpass, port_0xea_makes_the_vmm_revoke_and_reads_how_often_it_did)
{
	struct testdev d;
	uint32_t v = 99;
	testdev_init(&d, no_console, no_result, &d);
	cr_expect(testdev_io_write(&d, TESTDEV_PORT_IOREVOKE, 1, 0));
	cr_expect_eq(revokes, 0, "no VMM callback: nothing happens");
	cr_expect(testdev_io_read(&d, TESTDEV_PORT_IOREVOKE, 1, &v));
	cr_expect_eq(v, 0);
	d.io_revoke = count_revoke;
	cr_expect(testdev_io_write(&d, TESTDEV_PORT_IOREVOKE, 1, 0));
	cr_expect(testdev_io_write(&d, TESTDEV_PORT_IOREVOKE, 1, 0));
	cr_expect_eq(revokes, 2);
	cr_expect(testdev_io_read(&d, TESTDEV_PORT_IOREVOKE, 4, &v));
	cr_expect_eq(v, 2);
}
