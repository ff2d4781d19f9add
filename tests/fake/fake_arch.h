/* SPDX-License-Identifier: MIT */
/* The fake architecture layer for host unit tests: "physical memory" is a host buffer. */
#ifndef TESTS_FAKE_ARCH_H
#define TESTS_FAKE_ARCH_H

#include "types.h"

/* Physical address of the first byte of fake RAM; deliberately not 0 so a null pa is caught. */
#define FAKE_PHYS_BASE 0x100000ull

/* (Re)create fake RAM of `bytes` bytes (rounded up to pages), zero-filled. Frees any previous one. */
void fake_phys_init(uint64_t bytes);
/* Release fake RAM (call from a Criterion fini). */
void fake_phys_fini(void);
/* Size of fake RAM in bytes. */
uint64_t fake_phys_size(void);

#endif
