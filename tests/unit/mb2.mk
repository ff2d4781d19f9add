UNIT_KSRCS += kernel/x86/multiboot2.c
