UNIT_KSRCS += kernel/slab.c kernel/frame.c
