/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the bzImage loader (vmm/bzimage.c): any byte string is parsed; whatever
 * parses is planned into a RAM size and command-line/initrd sizes taken from the input's tail and
 * loaded into a RAM buffer of that size. The sanitizers catch any read or write outside the image
 * or RAM; the checks below catch a layout that breaks the loader's own promises.
 */
#include <stdlib.h>
#include <string.h>

#include "bzimage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bzimage_info in;
	guest_image_format(data, size);
	if (size < 8 || bzimage_parse(data, size - 8, &in)) {
		return 0;
	}
	const uint8_t *t = data + size - 8;
	/* 2..66 MiB of RAM, so that a run stays fast; the sizes below can exceed it on purpose. */
	uint64_t ram_size = (2ull << 20) + ((uint64_t)(t[0] | t[1] << 8) << 10);
	size_t cl = (size_t)(t[2] | (t[3] & 0x0f) << 8);
	size_t initrd_size = (size_t)(t[4] | t[5] << 8 | (t[6] & 0x3f) << 16) << 4;
	struct bzimage_layout l;
	if (bzimage_plan(&in, ram_size, cl, initrd_size, &l)) {
		return 0;
	}
	if (l.kernel + in.init_size > ram_size || l.initrd + l.initrd_size > ram_size ||
	    (l.initrd_size && l.initrd < l.kernel + in.init_size)) {
		abort(); /* the plan promised a layout that does not fit */
	}
	uint8_t *ram = calloc(1, ram_size);
	char *cmd = malloc(cl + 1);
	uint8_t *initrd = malloc(initrd_size + 1);
	if (ram && cmd && initrd) {
		memset(cmd, 'x', cl);
		cmd[cl] = 0;
		struct e820_entry map[8];
		unsigned n = bzimage_pc_e820(ram_size, map, 8);
		if (bzimage_load(ram, ram_size, data, size - 8, &in, &l, cmd, initrd, map, n)) {
			abort(); /* a planned layout must load */
		}
	}
	free(ram);
	free(cmd);
	free(initrd);
	return 0;
}
