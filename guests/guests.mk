# SPDX-License-Identifier: MIT
# guests/guests.mk - the small test guests, included by the top-level Makefile:
#
#   include guests/guests.mk
#
# Every guests/tests/<name>.S becomes $(B)/guests/<name>.bin: a flat image loaded at guest-physical
# 0x7c00 and started in real mode at 0000:7c00, boot signature 0x55,0xAA at offset 510 (see
# guests/tests/README.md). Built with the C preprocessor (for common/x86defs.h), GNU as, ld and
# objcopy only; $(B)/guests/<name>.elf keeps the
# symbols for `objdump -d` (the code is mixed 16/32/64-bit: see the README for disassembly commands).
#
# Every guests/bench/<name>.S (benchmark guests, same format, reporting on the bench ports as well)
# becomes $(B)/guests/<name>.bin too; they are BENCH_IMAGES, not GUEST_IMAGES, and `make bench` builds
# them.
#
# guests/minios/minios.mk builds the guest kernel minios for both of its layers (docs/benchmarks.md).
#
# Defines GUEST_NAMES, GUEST_IMAGES, BENCH_NAMES, BENCH_IMAGES, and the targets `guests` (build all
# test images), `bench-guests` (build the benchmark images) and `guests-check` (run
# guests/check-images on the test and benchmark images). The fragment leaves the default goal alone
# wherever it is included.

_guests_saved_goal := $(.DEFAULT_GOAL)

GUEST_AS ?= as
GUEST_CPP ?= $(CC) -E -x assembler-with-cpp -D__ASSEMBLY__ -Icommon
GUEST_LD ?= ld
GUEST_OBJCOPY ?= objcopy

GUEST_NAMES := $(sort $(basename $(notdir $(wildcard guests/tests/*.S))))
GUEST_IMAGES := $(patsubst %,$(B)/guests/%.bin,$(GUEST_NAMES))
GUEST_INC := guests/tests/guest.inc
BENCH_NAMES := $(sort $(basename $(notdir $(wildcard guests/bench/*.S))))
BENCH_IMAGES := $(patsubst %,$(B)/guests/%.bin,$(BENCH_NAMES))

# One pattern rule per source directory: cpp (for common/x86defs.h), as, ld at 0x7c00.
define guest_elf_rule
$$(B)/guests/%.elf: $(1)/%.S $$(GUEST_INC) common/x86defs.h guests/guests.mk
	@mkdir -p $$(@D)
	@echo "  AS [G]  $$<"
	$$(Q)$$(GUEST_CPP) $$< -o $$(@:.elf=.s)
	$$(Q)$$(GUEST_AS) --64 -I guests/tests -o $$(@:.elf=.o) $$(@:.elf=.s)
	$$(Q)$$(GUEST_LD) -m elf_x86_64 -nostdlib -static -N -e _start -Ttext=0x7c00 \
		-z noexecstack --no-warn-rwx-segments -o $$@ $$(@:.elf=.o)
endef
$(foreach d,guests/tests guests/bench,$(eval $(call guest_elf_rule,$(d))))

$(B)/guests/%.bin: $(B)/guests/%.elf
	@echo "  IMG     $@"
	$(Q)$(GUEST_OBJCOPY) -O binary -j .text $< $@

.PRECIOUS: $(B)/guests/%.elf

.PHONY: guests bench-guests guests-check
guests: $(GUEST_IMAGES)
bench-guests: $(BENCH_IMAGES)

# `make bench` boots the benchmark guests too (a prerequisite added to the Makefile's bench target).
bench: $(BENCH_IMAGES) $(B)/guests/posted.bin $(B)/guests/pit_hlt.bin

guests-check: $(GUEST_IMAGES) $(BENCH_IMAGES)
	$(Q)python3 guests/check-images $(GUEST_IMAGES) $(BENCH_IMAGES)

include guests/linux/linux.mk
include guests/minios/minios.mk

.DEFAULT_GOAL := $(_guests_saved_goal)
