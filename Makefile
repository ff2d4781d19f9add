# SPDX-License-Identifier: MIT
# Vireo: one top-level Makefile, everything built out of tree in $(B).
#
#   make            kernel, user programs and the bootable ISO
#   make run        boot the ISO in QEMU (serial on stdio) with the Linux guest; GUEST=... picks
#                   another guest, GUEST=none none
#   make test       host unit tests + emulated-machine tests, ends with "N passed, N failed"
#   make unit       host unit tests only (Criterion, ASan+UBSan)
#   make fuzz-devices  libFuzzer runs of the VMM device models (FUZZ_TIME seconds each)
#   make vmtest     emulated-machine tests only (QEMU TCG and Bochs)
#   make vmdeps     build everything the emulated tests boot (then tests/run-all -k NAME runs one)
#   make test-long  the hostile-guest tests: each guest runs a minute beside a native task
#   make test-slow  the Linux boot under Bochs (VMX)
#   make selftest   the test harness checked against fixture kernels
#   make bench      micro-benchmarks (IPC round trip, FPU switching) under QEMU -icount
#   make fuzz       SEED=n CALLS=n: one fuzzer run in QEMU, calls/s, "no leaks" or the leak
#   make deps       install every Debian package the project needs (idempotent)
#   make compdb     compile_commands.json for the whole tree
#   make format / check-format, make clang (build everything with clang into build-clang/)

B ?= build
CC ?= gcc
ifeq ($(origin CC),default)
CC := gcc
endif
HOSTCC ?= gcc
LD := ld
OBJCOPY := objcopy
Q := @
ifeq ($(V),1)
Q :=
endif

WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wmissing-prototypes -Wstrict-prototypes
COMMON_CFLAGS := -std=gnu11 -g -O2 $(WARN) -ffreestanding -fno-stack-protector -fno-pic \
	-fno-omit-frame-pointer -fno-strict-aliasing -fno-common -Iinclude -Icommon -MMD -MP

KCFLAGS := $(COMMON_CFLAGS) -Ikernel -mno-red-zone -mcmodel=kernel -mgeneral-regs-only \
	-mno-sse -mno-mmx -mno-80387 -fno-asynchronous-unwind-tables -D__KERNEL__
UCFLAGS := $(COMMON_CFLAGS) -Iuser/lib -mgeneral-regs-only -fno-asynchronous-unwind-tables

# ---------------------------------------------------------------- kernel
KSRCS := $(wildcard kernel/*.c kernel/x86/*.c kernel/svm/*.c kernel/vmx/*.c common/*.c) \
	$(wildcard kernel/x86/*.S kernel/svm/*.S kernel/vmx/*.S)
KOBJS := $(patsubst %,$(B)/k/%.o,$(KSRCS))
KERNEL := $(B)/vireo.elf

$(B)/k/%.c.o: %.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(KCFLAGS) -c $< -o $@

$(B)/k/%.S.o: %.S
	@mkdir -p $(@D)
	@echo "  AS      $<"
	$(Q)$(CC) $(KCFLAGS) -D__ASSEMBLY__ -c $< -o $@

$(KERNEL): $(KOBJS) kernel/x86/kernel.ld
	@echo "  LD      $@"
	$(Q)$(LD) -n -nostdlib -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments -T kernel/x86/kernel.ld -o $@ $(KOBJS)

# ---------------------------------------------------------------- user
ULIB_SRCS := $(wildcard user/lib/*.c user/lib/*.S common/*.c)
ULIB_OBJS := $(patsubst %,$(B)/u/%.o,$(ULIB_SRCS))
ULIB := $(B)/u/libvireo.a

$(B)/u/%.c.o: %.c
	@mkdir -p $(@D)
	@echo "  CC [U]  $<"
	$(Q)$(CC) $(UCFLAGS) -c $< -o $@

$(B)/u/%.S.o: %.S
	@mkdir -p $(@D)
	@echo "  AS [U]  $<"
	$(Q)$(CC) $(UCFLAGS) -D__ASSEMBLY__ -c $< -o $@

$(ULIB): $(ULIB_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

# Each directory user/roottask, user/apps/<name>, vmm becomes one program $(B)/<name>.elf.
define user_prog
$(1)_SRCS := $$(wildcard $(2)/*.c $(2)/*.S $(3))
$(1)_OBJS := $$(patsubst %,$(B)/u/%.o,$$($(1)_SRCS))
$(B)/$(1).elf: $$($(1)_OBJS) $(ULIB) user/lib/user.ld
	@echo "  LD [U]  $$@"
	$(Q)$(LD) -nostdlib -static -z max-page-size=0x1000 -z noexecstack -T user/lib/user.ld -o $$@ $$($(1)_OBJS) $(ULIB)
USER_PROGS += $(B)/$(1).elf
endef

APPS := $(notdir $(patsubst %/,%,$(dir $(wildcard user/apps/*/))))
$(eval $(call user_prog,roottask,user/roottask))
$(foreach a,$(APPS),$(eval $(call user_prog,$(a),user/apps/$(a))))
ifneq ($(wildcard vmm/*.c),)
$(eval $(call user_prog,vmm,vmm,$(wildcard vmm/devices/*.c)))
endif

# ---------------------------------------------------------------- ISO
ISO := $(B)/vireo.iso
KERNEL_CMDLINE ?=
ROOTTASK_ARGS ?=

# GUEST=<image> adds the VMM and that guest (a boot sector, flat binary or Linux bzImage) to the
# ISO, with a native task that keeps printing beside it. For a bzImage: GUEST_INITRD=<file> (its
# initrd), GUEST_APPEND="<kernel command line>" (else the VMM's default) and GUEST_MEM=<MiB> of
# guest RAM (default 256; the roottask gives the VMM a heap that large). The VMM gets COM1's ports
# and its interrupt (GSI 4) so that console input reaches the guest as it is typed.
# `make run` boots the Linux guest (guests/linux/linux.mk: fetched and built once, then cached)
# unless GUEST names another image; GUEST=none boots without a guest (and without the VMM). Other
# goals (make, make iso, the tests) have no guest unless GUEST is given.
LINUX_GUEST_BZIMAGE := $(B)/guests/linux/bzImage
LINUX_GUEST_INITRD := $(B)/guests/linux/initramfs.gz
ifneq ($(filter run,$(MAKECMDGOALS)),)
ifeq ($(origin GUEST),undefined)
GUEST := $(LINUX_GUEST_BZIMAGE)
ifeq ($(origin GUEST_INITRD),undefined)
GUEST_INITRD := $(LINUX_GUEST_INITRD)
endif
endif
endif
ifeq ($(GUEST),none)
override GUEST :=
endif
GUEST ?=
GUEST_INITRD ?=
GUEST_APPEND ?=
GUEST_MEM ?= 256
GUEST_IS_BZIMAGE = $(shell test -f "$(GUEST)" && od -An -j514 -N4 -c "$(GUEST)" | tr -d ' ' | grep -qx HdrS && echo y)
VMM_ARGS = $(if $(GUEST_IS_BZIMAGE),mem=$(GUEST_MEM) heap=$(GUEST_MEM) ports=0x3f8:8 irq=4)
# The guest's name in the VMM's messages: its file name, "linux" for the Linux guest's bzImage.
GUEST_NAME = $(if $(filter $(LINUX_GUEST_BZIMAGE),$(GUEST)),linux,$(notdir $(basename $(GUEST))))
ISO_GUEST = $(if $(GUEST),-m "$(B)/vmm.elf vmm $(VMM_ARGS)" \
	-m "$(GUEST) $(GUEST_NAME) $(GUEST_APPEND)" \
	$(if $(GUEST_INITRD),-m "$(GUEST_INITRD) initrd") -m "$(B)/ticker.elf ticker$(if $(GUEST_IS_BZIMAGE), period_ms=1000)")

# The variables that decide what the ISO holds besides its files, one per line in a stamp that is
# rewritten only when its content changes: `make run GUEST=a` then `make run GUEST=b` boots b.
ISO_CONFIG := $(B)/iso-config
shell_quote = '$(subst ','\'',$(1))'
$(ISO_CONFIG): FORCE
	@mkdir -p $(@D)
	@printf '%s\n' $(call shell_quote,KERNEL_CMDLINE=$(KERNEL_CMDLINE)) \
		$(call shell_quote,ROOTTASK_ARGS=$(ROOTTASK_ARGS)) \
		$(call shell_quote,GUEST=$(GUEST)) $(call shell_quote,GUEST_INITRD=$(GUEST_INITRD)) \
		$(call shell_quote,GUEST_APPEND=$(GUEST_APPEND)) \
		$(call shell_quote,GUEST_MEM=$(GUEST_MEM)) > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi

FORCE:

$(ISO): $(KERNEL) $(USER_PROGS) run/mkiso $(GUEST) $(GUEST_INITRD) $(ISO_CONFIG)
	@echo "  ISO     $@"
	$(Q)run/mkiso -o $@ -k $(KERNEL) -c "$(KERNEL_CMDLINE)" \
		-m "$(B)/roottask.elf roottask $(ROOTTASK_ARGS)" $(ISO_GUEST)

include guests/guests.mk

# A missing guest image is a usage error, not a missing rule: say so in one line (only for the
# goals that build the ISO). The test guests' images are built on demand.
ISO_GOALS := all iso run run-bochs test vmtest bench $(ISO)
ifneq ($(GUEST),)
ifeq ($(wildcard $(GUEST))$(filter $(GUEST),$(GUEST_IMAGES) $(BENCH_IMAGES) $(LINUX_BZIMAGE)),)
ifneq ($(filter $(ISO_GOALS),$(or $(MAKECMDGOALS),all)),)
$(error GUEST=$(GUEST): no such file)
endif
endif
endif

.DEFAULT_GOAL := all
.PHONY: all kernel user iso run run-bochs test test-long test-slow unit vmtest vmdeps selftest bench fuzz deps compdb \
	format check-format clean clang fuzz-devices
all: $(ISO)
kernel: $(KERNEL)
user: $(USER_PROGS)
iso: $(ISO)

run: $(ISO)
	run/qemu $(ISO)

run-bochs: $(ISO)
	run/bochs $(ISO)

# ---------------------------------------------------------------- host unit tests
# Each tests/unit/<module>.mk adds the kernel sources its tests need to UNIT_KSRCS.
# A module <m> is tests/unit/<m>.mk plus its tests tests/unit/test_<m>*.c; UNIT_MODS="a b" builds
# only those (handy while another module is half-written).
UNIT_MODS ?= $(patsubst tests/unit/%.mk,%,$(wildcard tests/unit/*.mk))
UNIT_CFLAGS := -std=gnu11 -g -O1 $(WARN) -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -Iinclude -Icommon -Ikernel -Itests/fake -DHOST_TEST -MMD -MP
UNIT_KSRCS :=
# A module's .mk may add sources and include paths (UNIT_CFLAGS += -Ivmm ...).
-include $(patsubst %,tests/unit/%.mk,$(UNIT_MODS))
UNIT_SRCS := $(foreach m,$(UNIT_MODS),$(wildcard tests/unit/test_$(m)*.c)) \
	$(wildcard tests/fake/*.c) $(sort $(UNIT_KSRCS))
UNIT_OBJS := $(patsubst %,$(B)/host/%.o,$(UNIT_SRCS))
UNIT_BIN := $(B)/host/unit-tests

$(B)/host/%.c.o: %.c
	@mkdir -p $(@D)
	@echo "  HOSTCC  $<"
	$(Q)$(HOSTCC) $(UNIT_CFLAGS) -c $< -o $@

$(UNIT_BIN): $(UNIT_OBJS)
	@echo "  HOSTLD  $@"
	$(Q)$(HOSTCC) -fsanitize=address,undefined -o $@ $^ -lcriterion

unit: $(UNIT_BIN)
	tests/run-all --unit-only $(UNIT_BIN)

# ---------------------------------------------------------------- device fuzzers
# libFuzzer harnesses for the VMM's I/O bus, device models and bzImage loader (tests/fuzz/fuzz_<x>.c), built
# with clang into $(B)/fuzz/. `make fuzz-devices` runs each for FUZZ_TIME seconds; `make test`
# runs each briefly (FUZZ_SMOKE_TIME) through tests/run-all, one test per harness.
FUZZ_CC ?= clang
FUZZ_TIME ?= 20
FUZZ_SMOKE_TIME ?= 3
DEVFUZZ_CFLAGS := -std=gnu11 -g -O1 $(WARN) -fsanitize=address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer -Ivmm -Itests/fuzz -MMD -MP
DEVFUZZ_SRCS := vmm/iobus.c vmm/bzimage.c $(addprefix vmm/devices/,pic8259.c pit8254.c uart16550.c rtc.c pci.c \
	i8042.c sysport.c)
DEVFUZZ_NAMES := iobus pic pit pitref uart rtc pci i8042 machine bzimage
DEVFUZZ_OBJS := $(patsubst %,$(B)/fuzz/obj/%.o,$(DEVFUZZ_SRCS))
DEVFUZZ_MAIN_OBJS := $(patsubst %,$(B)/fuzz/obj/tests/fuzz/fuzz_%.c.o,$(DEVFUZZ_NAMES))
FUZZ_DEVICES := $(addprefix $(B)/fuzz/fuzz_,$(DEVFUZZ_NAMES))

$(DEVFUZZ_OBJS) $(DEVFUZZ_MAIN_OBJS): $(B)/fuzz/obj/%.c.o: %.c
	@mkdir -p $(@D)
	@echo "  FUZZCC  $<"
	$(Q)$(FUZZ_CC) $(DEVFUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_DEVICES): $(B)/fuzz/%: $(B)/fuzz/obj/tests/fuzz/%.c.o $(DEVFUZZ_OBJS)
	@echo "  FUZZLD  $@"
	$(Q)$(FUZZ_CC) $(DEVFUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^

fuzz-devices: $(FUZZ_DEVICES)
	tests/fuzz/run -t $(FUZZ_TIME) $(FUZZ_DEVICES)

# Boot modules the emulated tests feed the kernel as bad input.
TESTDATA := $(B)/testdata/truncated.elf $(B)/testdata/not-an-elf.bin \
	$(B)/testdata/hello2.elf $(B)/testdata/fputest2.elf
# A second copy of a program, to boot it twice (GRUB modules need distinct file names).
$(B)/testdata/%2.elf: $(B)/%.elf
	@mkdir -p $(@D)
	cp $< $@
$(B)/testdata/truncated.elf: $(B)/roottask.elf
	@mkdir -p $(@D)
	head -c 300 $< > $@
$(B)/testdata/not-an-elf.bin:
	@mkdir -p $(@D)
	printf 'this boot module is plain text, not an ELF image\n' > $@

# The group `long` (hostile guests, a minute each) is `make test-long`, not part of `make test`.
vmtest: vmdeps
	tests/run-all --vm-only --build $(B) -x long -x slow

# Everything the emulated tests boot, built but not run (for `tests/run-all -k NAME`).
vmdeps: $(ISO) $(TESTDATA) $(GUEST_IMAGES) $(LINUX_BZIMAGE) $(LINUX_INITRD)

test: $(ISO) $(TESTDATA) $(GUEST_IMAGES) $(LINUX_BZIMAGE) $(LINUX_INITRD) $(UNIT_BIN) $(FUZZ_DEVICES)
	tests/run-all --build $(B) -x long -x slow --fuzz "tests/fuzz/run -t $(FUZZ_SMOKE_TIME) $(FUZZ_DEVICES)" $(UNIT_BIN)

test-long: $(ISO) $(GUEST_IMAGES)
	tests/run-all --vm-only --build $(B) -g long

# The group `slow` (the Linux boot under Bochs, VMX) is `make test-slow`, not part of `make test`.
test-slow: $(ISO) $(LINUX_BZIMAGE) $(LINUX_INITRD)
	tests/run-all --vm-only --build $(B) -g slow

# Micro-benchmarks under QEMU -icount (deterministic instruction counts), lazy vs eager FPU.
bench: $(ISO) $(LINUX_BZIMAGE) $(LINUX_INITRD)
	tests/bench --build $(B)

# One fuzzer run of any length (user/apps/fuzz): its own ISO with seed= and calls= on the fuzz
# module's command line, QEMU until the machine powers off; fails on a panic or a leak.
SEED ?= 1
CALLS ?= 100000
FUZZ_ARGS ?=
fuzz: $(KERNEL) $(USER_PROGS) run/mkiso
	tests/fuzz-run --build $(B) --seed $(SEED) --calls $(CALLS) --args "$(FUZZ_ARGS)"

# The harness's own tests (fixture kernels, no Vireo needed).
selftest:
	tests/harness/selftest

# ---------------------------------------------------------------- housekeeping
deps:
	run/install-deps

compdb:
	$(MAKE) clean
	bear --output compile_commands.json -- $(MAKE) all $(UNIT_BIN)

FORMAT_FILES = $(shell git ls-files '*.c' '*.h')
format:
	clang-format -i $(FORMAT_FILES)

check-format:
	clang-format --dry-run -Werror $(FORMAT_FILES)

# A second, complete build with clang: the tree must compile cleanly with both compilers.
clang:
	$(MAKE) B=build-clang CC=clang HOSTCC=clang all build-clang/host/unit-tests

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
