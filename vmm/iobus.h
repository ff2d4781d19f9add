/* SPDX-License-Identifier: MIT */
/*
 * The VMM's I/O bus: devices register port ranges and MMIO ranges with read/write handlers and
 * an opaque pointer (kvmtool's ioport__register idea); exit handlers look an address up and call
 * the handler without knowing the device. Accesses nobody claims read all-ones (an ISA bus with
 * nothing driving it floats high), writes vanish, and each such address is reported once.
 */
#ifndef VMM_IOBUS_H
#define VMM_IOBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum iobus_space { IOBUS_PIO, IOBUS_MMIO, IOBUS_NSPACES };

enum iobus_status {
	IOBUS_OK,
	IOBUS_OVERLAP,	 /* the range intersects one already registered */
	IOBUS_FULL,	 /* no slot left in that space */
	IOBUS_BAD_RANGE, /* empty, wrapping, or beyond 64 Ki ports */
	IOBUS_NOT_FOUND, /* unregister: no range starts there */
};

/* Handlers get the offset from the range's base and a size of 1, 2, 4 (or 8 for MMIO). */
struct iobus_ops {
	uint64_t (*read)(void *dev, uint64_t offset, unsigned size);
	void (*write)(void *dev, uint64_t offset, unsigned size, uint64_t value);
};

struct iobus_range {
	uint64_t base, len;
	const struct iobus_ops *ops;
	void *dev;
};

#define IOBUS_MAX_RANGES 64
#define IOBUS_PORTS 0x10000u
#define IOBUS_MMIO_SEEN 128

struct iobus {
	/* Sorted by base, disjoint. */
	struct iobus_range ranges[IOBUS_NSPACES][IOBUS_MAX_RANGES];
	unsigned nranges[IOBUS_NSPACES];
	/* Called once per unclaimed address (port, or MMIO address while the table has room). */
	void (*unknown)(void *arg, enum iobus_space space, uint64_t addr, unsigned size,
			bool write);
	void *arg;
	uint64_t unknown_accesses; /* every unclaimed access, reported or not */
	uint8_t port_seen[IOBUS_PORTS / 8];
	uint64_t mmio_seen[IOBUS_MMIO_SEEN];
	unsigned mmio_nseen;
};

/* `unknown` may be NULL (then only the counter records unclaimed accesses). */
void iobus_init(struct iobus *bus,
		void (*unknown)(void *, enum iobus_space, uint64_t, unsigned, bool), void *arg);
enum iobus_status iobus_register(struct iobus *bus, enum iobus_space space, uint64_t base,
				 uint64_t len, const struct iobus_ops *ops, void *dev);
enum iobus_status iobus_unregister(struct iobus *bus, enum iobus_space space, uint64_t base);
/* The range holding the whole access [addr, addr + size), or NULL. */
const struct iobus_range *iobus_lookup(const struct iobus *bus, enum iobus_space space,
				       uint64_t addr, unsigned size);
/* Dispatch one access; values are truncated to `size` bytes both ways. */
uint64_t iobus_read(struct iobus *bus, enum iobus_space space, uint64_t addr, unsigned size);
void iobus_write(struct iobus *bus, enum iobus_space space, uint64_t addr, unsigned size,
		 uint64_t value);
/* The all-ones value of an access of `size` bytes. */
uint64_t iobus_ones(unsigned size);

#endif
