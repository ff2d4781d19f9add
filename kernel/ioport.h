/* SPDX-License-Identifier: MIT */
/*
 * The I/O ports the kernel drives itself (its serial console, the 8259A it masks, the 8254
 * channel it calibrates with, the ACPI PM1 control ports it powers off through): a VM never gets
 * them passed through (docs/architecture.md#vm-io-space). Each driver claims its ports where it
 * starts using them.
 */
#ifndef KERNEL_IOPORT_H
#define KERNEL_IOPORT_H

#include "types.h"

/* Claims the table holds; a claim beyond them is a kernel bug (CHECK). */
#define IOPORT_KERNEL_MAX 16

/* The kernel uses ports [base, base + count) itself; `what` names the driver for the log. */
void ioport_kernel_claim(uint32_t base, uint32_t count, const char *what);
/* The driver that claimed a port of [base, base + count), or NULL when none did. */
const char *ioport_kernel_user(uint64_t base, uint64_t count);
/* Forget every claim (host tests start each case from an empty table). */
void ioport_kernel_reset(void);

#endif
