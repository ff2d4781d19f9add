UNIT_KSRCS += common/cmdline.c
