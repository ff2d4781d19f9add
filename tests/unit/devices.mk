# SPDX-License-Identifier: MIT
# The VMM's I/O bus and device models are plain C without system calls: the tests link them as
# the VMM does. The tests are tests/unit/test_dev_*.c (one file per device).
UNIT_KSRCS += vmm/iobus.c vmm/devices/pic8259.c vmm/devices/pit8254.c vmm/devices/uart16550.c \
	vmm/devices/rtc.c vmm/devices/pci.c vmm/devices/i8042.c vmm/devices/sysport.c \
	$(wildcard tests/unit/test_dev_*.c)
UNIT_CFLAGS += -Ivmm
