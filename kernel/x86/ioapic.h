/* SPDX-License-Identifier: MIT */
/* I/O APICs found in the ACPI MADT (82093AA datasheet; Intel SDM vol. 3A 11.1). */
#ifndef KERNEL_X86_IOAPIC_H
#define KERNEL_X86_IOAPIC_H

#include "types.h"

/* Register an IOAPIC and mask all its redirection entries; returns its number of inputs. */
unsigned ioapic_add(uint8_t id, uint64_t phys, uint32_t gsi_base);
/* Total GSIs covered by all registered IOAPICs. */
unsigned ioapic_gsi_count(void);

#endif
