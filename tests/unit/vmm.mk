# SPDX-License-Identifier: MIT
# The VMM's exit handlers, machine wiring, guest-memory walker, reset and Linux entry state, test
# device, devices and loader are plain C with no system calls (vmm/main.c, which makes them, stays
# out): the tests link them unchanged.
VMM_UNIT_SRCS := vmm/exits.c vmm/machine.c vmm/linux.c vmm/memory.c vmm/state.c vmm/cpuid.c vmm/msr.c
UNIT_KSRCS += $(VMM_UNIT_SRCS) kernel/vcpu_check.c vmm/devices/testdev.c vmm/decode.c vmm/bzimage.c vmm/iobus.c \
	vmm/devices/pic8259.c vmm/devices/pit8254.c vmm/devices/uart16550.c vmm/devices/rtc.c \
	vmm/devices/pci.c vmm/devices/i8042.c vmm/devices/sysport.c vmm/portpass.c common/cmdline.c
UNIT_CFLAGS += -Ivmm -Iuser/lib
# vmm.h includes user/lib/vireo.h, which declares the task's `int main(uintptr_t)`; clang refuses
# that in a hosted translation unit, so the units that include vmm.h are compiled freestanding.
$(patsubst %,$(B)/host/%.o,$(VMM_UNIT_SRCS) $(wildcard tests/unit/test_vmm*.c)): \
	UNIT_CFLAGS += -ffreestanding
