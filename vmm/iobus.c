/* SPDX-License-Identifier: MIT */
/* The VMM's I/O bus: sorted, disjoint port and MMIO ranges dispatched to device handlers. */
#include "iobus.h"

uint64_t iobus_ones(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

void iobus_init(struct iobus *bus,
		void (*unknown)(void *, enum iobus_space, uint64_t, unsigned, bool), void *arg)
{
	*bus = (struct iobus){ .unknown = unknown, .arg = arg };
}

static bool range_ok(enum iobus_space space, uint64_t base, uint64_t len)
{
	if (len == 0 || base + len < base) {
		return false;
	}
	return space == IOBUS_MMIO || base + len <= IOBUS_PORTS;
}

/* Index of the first range whose base is >= `base`. */
static unsigned first_at_or_after(const struct iobus *bus, enum iobus_space space, uint64_t base)
{
	unsigned lo = 0, hi = bus->nranges[space];
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (bus->ranges[space][mid].base < base) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo;
}

enum iobus_status iobus_register(struct iobus *bus, enum iobus_space space, uint64_t base,
				 uint64_t len, const struct iobus_ops *ops, void *dev)
{
	if (space >= IOBUS_NSPACES || !ops || !range_ok(space, base, len)) {
		return IOBUS_BAD_RANGE;
	}
	struct iobus_range *r = bus->ranges[space];
	unsigned n = bus->nranges[space];
	unsigned i = first_at_or_after(bus, space, base);
	/* Disjoint and sorted: only the neighbours can intersect. */
	if (i > 0 && r[i - 1].base + r[i - 1].len > base) {
		return IOBUS_OVERLAP;
	}
	if (i < n && r[i].base < base + len) {
		return IOBUS_OVERLAP;
	}
	if (n == IOBUS_MAX_RANGES) {
		return IOBUS_FULL;
	}
	for (unsigned j = n; j > i; j--) {
		r[j] = r[j - 1];
	}
	r[i] = (struct iobus_range){ .base = base, .len = len, .ops = ops, .dev = dev };
	bus->nranges[space] = n + 1;
	return IOBUS_OK;
}

enum iobus_status iobus_unregister(struct iobus *bus, enum iobus_space space, uint64_t base)
{
	if (space >= IOBUS_NSPACES) {
		return IOBUS_BAD_RANGE;
	}
	struct iobus_range *r = bus->ranges[space];
	unsigned n = bus->nranges[space];
	unsigned i = first_at_or_after(bus, space, base);
	if (i == n || r[i].base != base) {
		return IOBUS_NOT_FOUND;
	}
	for (unsigned j = i; j + 1 < n; j++) {
		r[j] = r[j + 1];
	}
	bus->nranges[space] = n - 1;
	return IOBUS_OK;
}

const struct iobus_range *iobus_lookup(const struct iobus *bus, enum iobus_space space,
				       uint64_t addr, unsigned size)
{
	if (space >= IOBUS_NSPACES || size == 0) {
		return NULL;
	}
	unsigned i = first_at_or_after(bus, space, addr + 1);
	if (i == 0) {
		return NULL;
	}
	const struct iobus_range *r = &bus->ranges[space][i - 1];
	uint64_t off = addr - r->base;
	/* The whole access must lie inside: a straddling access belongs to no single device. */
	if (off >= r->len || size > r->len - off) {
		return NULL;
	}
	return r;
}

static bool seen_before(struct iobus *bus, enum iobus_space space, uint64_t addr)
{
	if (space == IOBUS_PIO) {
		uint16_t port = (uint16_t)addr;
		uint8_t bit = (uint8_t)(1u << (port & 7));
		bool seen = bus->port_seen[port >> 3] & bit;
		bus->port_seen[port >> 3] |= bit;
		return seen;
	}
	for (unsigned i = 0; i < bus->mmio_nseen; i++) {
		if (bus->mmio_seen[i] == addr) {
			return true;
		}
	}
	if (bus->mmio_nseen == IOBUS_MMIO_SEEN) {
		return true; /* table full: stay quiet rather than flood the log */
	}
	bus->mmio_seen[bus->mmio_nseen++] = addr;
	return false;
}

static void unclaimed(struct iobus *bus, enum iobus_space space, uint64_t addr, unsigned size,
		      bool write)
{
	bus->unknown_accesses++;
	if (!seen_before(bus, space, addr) && bus->unknown) {
		bus->unknown(bus->arg, space, addr, size, write);
	}
}

uint64_t iobus_read(struct iobus *bus, enum iobus_space space, uint64_t addr, unsigned size)
{
	const struct iobus_range *r = iobus_lookup(bus, space, addr, size);
	if (!r || !r->ops->read) {
		unclaimed(bus, space, addr, size, false);
		return iobus_ones(size);
	}
	return r->ops->read(r->dev, addr - r->base, size) & iobus_ones(size);
}

void iobus_write(struct iobus *bus, enum iobus_space space, uint64_t addr, unsigned size,
		 uint64_t value)
{
	const struct iobus_range *r = iobus_lookup(bus, space, addr, size);
	if (!r || !r->ops->write) {
		unclaimed(bus, space, addr, size, true);
		return;
	}
	r->ops->write(r->dev, addr - r->base, size, value & iobus_ones(size));
}
