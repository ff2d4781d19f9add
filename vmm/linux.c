/* SPDX-License-Identifier: MIT */
/*
 * A Linux guest: the bzImage, its command line and initrd laid out by the boot-protocol loader
 * (bzimage.c) in the VM's RAM with a PC's e820 map, and the vCPU at the 64-bit entry point.
 */
#include "bzimage.h"
#include "vmm.h"

const char *vm_load_linux(struct vm *vm, const void *img, size_t size, const char *cmdline,
			  const void *initrd, size_t initrd_size)
{
	struct bzimage_info info;
	struct bzimage_layout lay;
	struct e820_entry map[8];
	const char *why = bzimage_parse(img, size, &info);
	if (!why) {
		why = bzimage_plan(&info, vm->ram_size, strlen(cmdline), initrd ? initrd_size : 0,
				   &lay);
	}
	if (why) {
		return why;
	}
	unsigned n = bzimage_pc_e820(vm->ram_size, map, sizeof(map) / sizeof(map[0]));
	why = bzimage_load(vm->ram, vm->ram_size, img, size, &info, &lay, cmdline, initrd, map, n);
	if (why) {
		return why;
	}
	vm_linux_state(vm->st, lay.entry, lay.zero_page, lay.pml4, lay.gdt, BZ_BOOT_CS, BZ_BOOT_DS);
	return NULL;
}
