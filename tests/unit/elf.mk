# SPDX-License-Identifier: MIT
UNIT_KSRCS += common/elf.c
