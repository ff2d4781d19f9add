# SPDX-License-Identifier: MIT
UNIT_KSRCS += kernel/acpi.c
