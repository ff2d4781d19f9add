# SPDX-License-Identifier: MIT
# Per-CPU ASID/VPID allocation with generations (kernel/asid.c): pure logic, no hardware.
UNIT_KSRCS += kernel/asid.c
