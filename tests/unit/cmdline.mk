UNIT_KSRCS += kernel/cmdline.c
