# SPDX-License-Identifier: MIT
UNIT_KSRCS += kernel/elf.c
