UNIT_KSRCS += kernel/frame.c
