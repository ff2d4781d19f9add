/* SPDX-License-Identifier: MIT */
/* Starting the application processors listed in the ACPI MADT. */
#ifndef KERNEL_X86_SMP_H
#define KERNEL_X86_SMP_H

#include "types.h"

struct acpi_info;

void smp_boot(const struct acpi_info *acpi);
/* Per-CPU set-up shared by all CPUs (boot.c). */
void cpu_local_init(unsigned id, uint64_t stack_top);

#endif
