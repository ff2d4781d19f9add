/* SPDX-License-Identifier: MIT */
/* Machine power-off and the watch that proves the kernel outlives its tasks. */
#ifndef KERNEL_X86_POWER_H
#define KERNEL_X86_POWER_H

#include "types.h"

struct acpi_info;

/* Remember how to power off; `poweroff_when_done` comes from the kernel command line. */
void power_init(const struct acpi_info *acpi, bool poweroff_when_done);
/* ACPI S5 soft-off (ACPI 6.x 7.4.2 \_S5, 4.8.3.2.1 PM1 control); halts if that fails. */
__noreturn void power_off(void);
/* Timer tick on the bootstrap CPU: reports (and powers off if asked) when no task has run for a while. */
void power_idle_tick(unsigned live_ecs);

#endif
