# SPDX-License-Identifier: MIT
UNIT_KSRCS += kernel/mdb.c kernel/slab.c kernel/frame.c
