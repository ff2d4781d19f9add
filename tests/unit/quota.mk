# SPDX-License-Identifier: MIT
UNIT_KSRCS += kernel/quota.c kernel/slab.c kernel/frame.c
