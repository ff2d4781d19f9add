# SPDX-License-Identifier: MIT
UNIT_KSRCS += kernel/mdb.c kernel/quota.c kernel/slab.c kernel/frame.c
