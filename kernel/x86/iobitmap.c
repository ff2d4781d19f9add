/* SPDX-License-Identifier: MIT */
/* Copy a PD's I/O bitmap into this CPU's TSS when the PD changes; most PDs have none, so it is rare. */
#include "x86/iobitmap.h"

#include "kstring.h"
#include "x86/percpu.h"

#define IO_BITMAP_BYTES 8192

void iobitmap_copy_in(const uint8_t *bitmap)
{
	struct percpu *cpu = this_cpu();
	if (bitmap) {
		memcpy(cpu->io_bitmap, bitmap, IO_BITMAP_BYTES);
	} else {
		memset(cpu->io_bitmap, 0xff, IO_BITMAP_BYTES);
	}
	cpu->io_owner = bitmap;
}

void iobitmap_invalidate(const uint8_t *bitmap)
{
	for (unsigned c = 0; c < MAX_CPUS; c++) {
		if (percpu_area[c].io_owner == bitmap) {
			percpu_area[c].io_owner = NULL;
		}
	}
}
