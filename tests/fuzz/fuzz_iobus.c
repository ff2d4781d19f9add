/* SPDX-License-Identifier: MIT */
/* Fuzz the I/O bus against a shadow map of who owns each address: registration, removal and
 * dispatch must agree with it. */
#include "fuzz.h"
#include "iobus.h"

#define SPAN 512 /* addresses 0 .. SPAN-1 of each space are modelled */

struct shadow_range {
	uint64_t base, len;
	bool used;
};

static struct shadow_range shadow[IOBUS_NSPACES][IOBUS_MAX_RANGES];
static int owner[IOBUS_NSPACES][SPAN + 64]; /* index into shadow + 1, or 0 */
static int last_dev = -1;
static uint64_t last_off;
static unsigned last_size;
static unsigned unknown_calls;

struct dev {
	int id;
};
static struct dev devs[IOBUS_MAX_RANGES];

static uint64_t dev_read(void *d, uint64_t off, unsigned size)
{
	last_dev = ((struct dev *)d)->id;
	last_off = off;
	last_size = size;
	return ~0ull;
}

static void dev_write(void *d, uint64_t off, unsigned size, uint64_t v)
{
	last_dev = ((struct dev *)d)->id;
	last_off = off;
	last_size = size;
	FUZZ_CHECK(v <= (size >= 8 ? ~0ull : (1ull << (8 * size)) - 1));
}

static const struct iobus_ops ops = { .read = dev_read, .write = dev_write };

static void on_unknown(void *arg, enum iobus_space s, uint64_t addr, unsigned size, bool w)
{
	unknown_calls++;
}

static int free_slot(unsigned sp)
{
	for (int i = 0; i < IOBUS_MAX_RANGES; i++) {
		if (!shadow[sp][i].used) {
			return i;
		}
	}
	return -1;
}

static void do_register(struct iobus *bus, unsigned sp, uint64_t base, uint64_t len)
{
	bool overlap = false;
	for (uint64_t a = base; a < base + len; a++) {
		overlap |= owner[sp][a] != 0;
	}
	int slot = free_slot(sp);
	struct dev *d = slot >= 0 ? &devs[slot] : &devs[0];
	enum iobus_status st = iobus_register(bus, sp, base, len, &ops, d);
	if (len == 0) {
		FUZZ_CHECK(st == IOBUS_BAD_RANGE);
	} else if (overlap) {
		FUZZ_CHECK(st == IOBUS_OVERLAP);
	} else if (slot < 0) {
		FUZZ_CHECK(st == IOBUS_FULL);
	} else {
		FUZZ_CHECK(st == IOBUS_OK);
		d->id = slot;
		shadow[sp][slot] = (struct shadow_range){ base, len, true };
		for (uint64_t a = base; a < base + len; a++) {
			owner[sp][a] = slot + 1;
		}
	}
}

static void do_unregister(struct iobus *bus, unsigned sp, uint64_t base)
{
	int o = owner[sp][base];
	bool starts = o && shadow[sp][o - 1].base == base;
	enum iobus_status st = iobus_unregister(bus, sp, base);
	FUZZ_CHECK((st == IOBUS_OK) == starts);
	if (starts) {
		struct shadow_range *r = &shadow[sp][o - 1];
		for (uint64_t a = r->base; a < r->base + r->len; a++) {
			owner[sp][a] = 0;
		}
		r->used = false;
	}
}

static void do_access(struct iobus *bus, unsigned sp, uint64_t addr, unsigned size, bool write)
{
	int o = owner[sp][addr];
	bool inside = o && addr + size <= shadow[sp][o - 1].base + shadow[sp][o - 1].len;
	uint64_t before = bus->unknown_accesses;
	last_dev = -1;
	if (write) {
		iobus_write(bus, sp, addr, size, ~0ull);
	} else {
		uint64_t v = iobus_read(bus, sp, addr, size);
		FUZZ_CHECK(v == (size >= 8 ? ~0ull : (1ull << (8 * size)) - 1));
	}
	if (inside) {
		FUZZ_CHECK(last_dev == o - 1);
		FUZZ_CHECK(last_off == addr - shadow[sp][o - 1].base && last_size == size);
		FUZZ_CHECK(bus->unknown_accesses == before);
	} else {
		FUZZ_CHECK(last_dev == -1);
		FUZZ_CHECK(bus->unknown_accesses == before + 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct iobus bus;
	struct fuzz_op op;
	iobus_init(&bus, on_unknown, NULL);
	for (unsigned s = 0; s < IOBUS_NSPACES; s++) {
		for (unsigned i = 0; i < IOBUS_MAX_RANGES; i++) {
			shadow[s][i].used = false;
		}
		for (unsigned a = 0; a < SPAN + 64; a++) {
			owner[s][a] = 0;
		}
	}
	unknown_calls = 0;
	while (fuzz_next(&data, &len, &op)) {
		unsigned sp = op.value >> 31;
		uint64_t addr = op.value % SPAN;
		switch (op.sel & 3) {
		case 0:
			do_register(&bus, sp, addr, op.value >> 16 & 0x3f);
			break;
		case 1:
			do_unregister(&bus, sp, addr);
			break;
		default:
			do_access(&bus, sp, addr, sp == IOBUS_MMIO && (op.sel & 4) ? 8 : op.size,
				  op.write);
			break;
		}
		unsigned n = bus.nranges[sp];
		FUZZ_CHECK(n <= IOBUS_MAX_RANGES);
		for (unsigned i = 1; i < n; i++) {
			const struct iobus_range *a = &bus.ranges[sp][i - 1],
						 *b = &bus.ranges[sp][i];
			FUZZ_CHECK(a->base + a->len <= b->base); /* sorted and disjoint */
		}
		FUZZ_CHECK(unknown_calls <= bus.unknown_accesses);
	}
	return 0;
}
