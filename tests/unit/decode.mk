# SPDX-License-Identifier: MIT
# The VMM's instruction decoder is pure C with no syscalls: its tests link it unchanged.
UNIT_KSRCS += vmm/decode.c
