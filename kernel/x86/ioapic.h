/* SPDX-License-Identifier: MIT */
/* I/O APICs found in the ACPI MADT (82093AA datasheet; Intel SDM vol. 3A 11.1). */
#ifndef KERNEL_X86_IOAPIC_H
#define KERNEL_X86_IOAPIC_H

#include "types.h"

struct acpi_info;

/* Register an IOAPIC and mask all its redirection entries; returns its number of inputs. */
unsigned ioapic_add(uint8_t id, uint64_t phys, uint32_t gsi_base);
/* Total GSIs covered by all registered IOAPICs. */
unsigned ioapic_gsi_count(void);
void ioapic_mask(unsigned gsi, bool masked);
/* Deliver `gsi` as `vector` to the CPU with `apic_id` (unmasked). */
void ioapic_route(unsigned gsi, uint8_t vector, uint32_t apic_id, bool level, bool active_low);
/* Interrupt source overrides from the MADT decide trigger mode and polarity. */
void ioapic_set_overrides(const struct acpi_info *acpi);
void ioapic_gsi_polarity(unsigned gsi, bool *level, bool *active_low);

#endif
