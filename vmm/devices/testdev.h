/* SPDX-License-Identifier: MIT */
/*
 * The test device of guests/tests/README.md: console port, result port, constant and echo ports,
 * an MMIO window and a one-shot interrupt. Plain C, no system calls: the VMM passes callbacks.
 */
#ifndef VMM_DEVICES_TESTDEV_H
#define VMM_DEVICES_TESTDEV_H

#include <stdbool.h>
#include <stdint.h>

#define TESTDEV_PORT_CONSOLE 0xe9
#define TESTDEV_PORT_RESULT 0xf0
#define TESTDEV_PORT_MAGIC 0xf4
#define TESTDEV_PORT_ECHO 0xf8
#define TESTDEV_PORT_IRQ 0xfc
#define TESTDEV_MAGIC 0x56495245u
#define TESTDEV_MMIO_BASE 0xfeb00000ull
#define TESTDEV_MMIO_SIZE 0x1000ull
#define TESTDEV_MMIO_ID 0x4d4d494full

struct testdev {
	void (*console)(void *arg, char c);
	void (*result)(void *arg, uint32_t code);
	void *arg;
	uint32_t echo;
	uint64_t mmio_reg;
	int irq_armed; /* vector of the armed one-shot, -1 if none */
};

void testdev_init(struct testdev *d, void (*console)(void *, char),
		  void (*result)(void *, uint32_t), void *arg);
/* Port access of `size` bytes; returns false if the port is not the device's. */
bool testdev_io_read(struct testdev *d, uint16_t port, unsigned size, uint32_t *value);
bool testdev_io_write(struct testdev *d, uint16_t port, unsigned size, uint32_t value);
/* MMIO access at guest-physical `gpa`; returns false outside the window. */
bool testdev_mmio_read(struct testdev *d, uint64_t gpa, unsigned size, uint64_t *value);
bool testdev_mmio_write(struct testdev *d, uint64_t gpa, unsigned size, uint64_t value);
/* The armed one-shot interrupt, taken (returns -1 if none). */
int testdev_take_irq(struct testdev *d);

#endif
