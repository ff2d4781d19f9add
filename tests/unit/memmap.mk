UNIT_KSRCS += kernel/memmap.c
