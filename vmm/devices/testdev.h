/* SPDX-License-Identifier: MIT */
/*
 * The test device of guests/tests/README.md: console port, result port, constant and echo ports,
 * an MMIO window, a one-shot interrupt and the benchmark ports. Plain C, no system calls: the VMM
 * passes callbacks, and reads the benchmark values from the struct when the guest is done.
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
#define TESTDEV_PORT_IRQ2 0xfd	      /* out: a one-shot injected beside the next pending event */
#define TESTDEV_PORT_RECALL 0xfe      /* out: the VMM recalls its own vCPU; in: recall exits seen */
#define TESTDEV_PORT_BENCH_EXIT 0xe0  /* out: average instructions per exiting (CPUID) iteration */
#define TESTDEV_PORT_BENCH_LOOP 0xe4  /* out: average instructions per non-exiting iteration */
#define TESTDEV_PORT_BENCH_IO 0xe8    /* out: average instructions per port-I/O iteration */
#define TESTDEV_PORT_COUNTER 0xec     /* out: select a VMM counter; in (32-bit): read it */
#define TESTDEV_PORT_IOREVOKE 0xea    /* out: the VMM revokes its ioport= ports; in: revokes */
#define TESTDEV_PORT_BENCH_HLT 0x104  /* out: mean HLT wake-up latency after a PIT edge, us */
#define TESTDEV_PORT_BENCH_POST 0x108 /* out: posted interrupt to its handler, instructions */
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
	int irq_armed;	/* vector of the armed one-shot, -1 if none */
	int irq2_armed; /* vector to inject at the next exit with an event pending, -1 if none */
	void (*recall)(void *arg); /* port 0xfe: recall the vCPU (NULL: nothing happens) */
	uint32_t recalls;	   /* VM_EXIT_RECALL exits the VMM has handled */
	/* Port 0xea: the VMM takes its passed-through ports back, at once or from another thread
	 * (NULL: nothing happens); io_revokes counts the revokes done, the VMM adds them. */
	void (*io_revoke)(void *arg);
	volatile uint32_t io_revokes;
	/* Port 0xec: the VMM's counter `which` (TESTDEV_COUNT_*); NULL: reads all-ones. */
	uint32_t (*counter)(void *arg, unsigned which);
	unsigned counter_sel;
	/* Benchmark values: bench[TESTDEV_BENCH_*], valid when bit (1 << index) of bench_set is set. */
	uint32_t bench[5];
	unsigned bench_set;
};

enum {
	TESTDEV_BENCH_EXIT,
	TESTDEV_BENCH_LOOP,
	TESTDEV_BENCH_IO,
	TESTDEV_BENCH_HLT,
	TESTDEV_BENCH_POST
};
/* Counters of port 0xec (guests/tests/README.md). */
enum {
	TESTDEV_COUNT_RDMSR,	/* RDMSR exits */
	TESTDEV_COUNT_WRMSR,	/* WRMSR exits */
	TESTDEV_COUNT_CR_OWNED, /* CR4 writes that changed only guest-owned bits */
	TESTDEV_COUNT_CR_VMM,	/* CR4 writes that changed a VMM-owned bit */
	TESTDEV_COUNT_CR4_REAL, /* the guest's real CR4 (low half) */
	TESTDEV_COUNT_CR_EXITS, /* CR access exits */
	TESTDEV_COUNT_IOPASS,	/* I/O exits at the ports of the VMM's ioport= range */
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
/* The one-shot of port 0xfd, taken (returns -1 if none). */
int testdev_take_irq2(struct testdev *d);
/* Benchmark value `which` (TESTDEV_BENCH_*) into *value; false if the guest did not report it. */
bool testdev_bench(const struct testdev *d, unsigned which, uint32_t *value);

#endif
