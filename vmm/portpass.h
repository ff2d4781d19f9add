/* SPDX-License-Identifier: MIT */
/*
 * I/O port pass-through (the VMM word ioport=LO-HI): ports of the VMM's own I/O space delegated to
 * its VM, where the guest's IN/OUT reach them without an exit until the VMM revokes them
 * (docs/architecture.md#vm-io-space). Parsing and splitting are plain C for the host tests; the
 * system calls are in vmm/main.c.
 */
#ifndef VMM_PORTPASS_H
#define VMM_PORTPASS_H

#include <stdbool.h>
#include <stdint.h>

/* "LO-HI", both numbers (decimal or 0x hex), LO <= HI <= 0xffff: the inclusive range. */
bool portpass_parse(const char *s, uint32_t *lo, uint32_t *hi);
/* The order of the largest naturally aligned block of ports that starts at `port` and ends at or
 * before `hi` (a flexpage: delegation takes aligned powers of two). */
unsigned portpass_block(uint32_t port, uint32_t hi);
/* Calls give(arg, port, order) for each block of [lo, hi] in order; stops at the first false.
 * Returns the number of blocks given. */
unsigned portpass_each_block(uint32_t lo, uint32_t hi, bool (*give)(void *, uint32_t, unsigned),
			     void *arg, bool *ok);

#endif
