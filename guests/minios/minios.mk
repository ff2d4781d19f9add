# SPDX-License-Identifier: MIT
# guests/minios/minios.mk - minios, one small guest kernel built for two platform layers
# (docs/benchmarks.md), included by guests/guests.mk:
#
#   $(B)/guests/minios-user.bin  the process image (user/), linked at MINIOS_IMAGE_VA
#   $(B)/guests/minios.bin       core + hw/: a flat guest image for the VMM (boot sector at 0x7c00)
#   $(B)/minios.elf              core + pv/: a Vireo task whose vCPU EC is the guest kernel
#
# Both layers embed the same process image (image.S); `make` builds both.

MINIOS_DIR := guests/minios
MINIOS_OUT := $(B)/guests/minios
MINIOS_USER_BIN := $(B)/guests/minios-user.bin
MINIOS_HW_BIN := $(B)/guests/minios.bin
MINIOS_CFLAGS := -std=gnu11 -g -O2 $(WARN) -ffreestanding -fno-builtin -fno-stack-protector \
	-fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only -fno-asynchronous-unwind-tables \
	-fno-common -MMD -MP
MINIOS_LDFLAGS := -m elf_x86_64 -nostdlib -static -z noexecstack --no-warn-rwx-segments

MINIOS_USER_OBJS := $(MINIOS_OUT)/user/start.o $(MINIOS_OUT)/user/work.o
MINIOS_HW_OBJS := $(MINIOS_OUT)/hw/boot.o $(MINIOS_OUT)/hw/entry.o $(MINIOS_OUT)/hw/hw.o \
	$(MINIOS_OUT)/hw/lib.o $(MINIOS_OUT)/hw/core.o $(MINIOS_OUT)/hw/image.o

$(MINIOS_OUT)/user/%.o: $(MINIOS_DIR)/user/%.c
	@mkdir -p $(@D)
	@echo "  CC [M]  $<"
	$(Q)$(CC) $(MINIOS_CFLAGS) -c $< -o $@
$(MINIOS_OUT)/user/%.o: $(MINIOS_DIR)/user/%.S
	@mkdir -p $(@D)
	@echo "  AS [M]  $<"
	$(Q)$(CC) $(MINIOS_CFLAGS) -c $< -o $@
$(MINIOS_OUT)/user.elf: $(MINIOS_USER_OBJS) $(MINIOS_DIR)/user/user.ld
	@echo "  LD [M]  $@"
	$(Q)$(LD) $(MINIOS_LDFLAGS) -T $(MINIOS_DIR)/user/user.ld -o $@ $(MINIOS_USER_OBJS)
$(MINIOS_USER_BIN): $(MINIOS_OUT)/user.elf
	@echo "  IMG     $@"
	$(Q)$(OBJCOPY) -O binary $< $@

$(MINIOS_OUT)/hw/%.o: $(MINIOS_DIR)/hw/%.c
	@mkdir -p $(@D)
	@echo "  CC [M]  $<"
	$(Q)$(CC) $(MINIOS_CFLAGS) -c $< -o $@
$(MINIOS_OUT)/hw/%.o: $(MINIOS_DIR)/hw/%.S
	@mkdir -p $(@D)
	@echo "  AS [M]  $<"
	$(Q)$(CC) $(MINIOS_CFLAGS) -c $< -o $@
$(MINIOS_OUT)/hw/core.o: $(MINIOS_DIR)/core.c
	@mkdir -p $(@D)
	@echo "  CC [M]  $<"
	$(Q)$(CC) $(MINIOS_CFLAGS) -c $< -o $@
$(MINIOS_OUT)/hw/image.o: $(MINIOS_DIR)/image.S $(MINIOS_USER_BIN)
	@mkdir -p $(@D)
	@echo "  AS [M]  $<"
	$(Q)$(CC) $(MINIOS_CFLAGS) -DMINIOS_USER_BIN='"$(MINIOS_USER_BIN)"' -c $< -o $@
$(MINIOS_OUT)/hw.elf: $(MINIOS_HW_OBJS) $(MINIOS_DIR)/hw/hw.ld
	@echo "  LD [M]  $@"
	$(Q)$(LD) $(MINIOS_LDFLAGS) -T $(MINIOS_DIR)/hw/hw.ld -o $@ $(MINIOS_HW_OBJS)
# The VMM loads flat images of at most 64 KiB (guests/tests/README.md).
$(MINIOS_HW_BIN): $(MINIOS_OUT)/hw.elf
	@echo "  IMG     $@"
	$(Q)$(OBJCOPY) -O binary -R .bss $< $@
	$(Q)test $$(stat -c %s $@) -le 65536 || { echo "$@: larger than 64 KiB"; rm -f $@; exit 1; }

# The para-virtual layer: an ordinary user program (the Makefile's user_prog) with the core.
ifneq ($(wildcard $(MINIOS_DIR)/pv/*.c),)
$(eval $(call user_prog,minios,$(MINIOS_DIR)/pv,$(MINIOS_DIR)/core.c $(MINIOS_DIR)/image.S))
$(B)/u/$(MINIOS_DIR)/image.S.o: UCFLAGS += -DMINIOS_USER_BIN='"$(MINIOS_USER_BIN)"'
$(B)/u/$(MINIOS_DIR)/image.S.o: $(MINIOS_USER_BIN)
endif

.PHONY: minios
minios: $(MINIOS_HW_BIN) $(if $(wildcard $(MINIOS_DIR)/pv/*.c),$(B)/minios.elf)
# The tests boot both layers: `make test` (and vmdeps) straight after `make run`, which builds only
# the ISO, must build them too.
all: minios
bench: minios
test vmdeps: minios
