# SPDX-License-Identifier: MIT
# The VMM's exit handlers, guest-memory walker, reset state and test device are plain C with no
# system calls (vmm/main.c, which makes them, stays out): the tests link them unchanged.
UNIT_KSRCS += vmm/exits.c vmm/memory.c vmm/state.c vmm/devices/testdev.c vmm/decode.c vmm/cpuid.c \
	vmm/msr.c kernel/vcpu_check.c
UNIT_CFLAGS += -Ivmm -Iuser/lib
# vmm.h includes user/lib/vireo.h, which declares the task's `int main(uintptr_t)`; clang refuses
# that in a hosted translation unit, so the units that include vmm.h are compiled freestanding.
$(patsubst %,$(B)/host/%.o,vmm/exits.c vmm/memory.c vmm/state.c vmm/cpuid.c vmm/msr.c $(wildcard tests/unit/test_vmm*.c)): \
	UNIT_CFLAGS += -ffreestanding
