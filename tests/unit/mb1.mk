# SPDX-License-Identifier: MIT
# The multiboot (version 1) boot information parser.
UNIT_KSRCS += kernel/x86/multiboot1.c
