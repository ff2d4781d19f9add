# SPDX-License-Identifier: MIT
# The Linux boot-protocol loader is pure C over a host view of guest RAM.
UNIT_KSRCS += vmm/bzimage.c
UNIT_CFLAGS += -Ivmm
