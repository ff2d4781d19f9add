/* SPDX-License-Identifier: MIT */
/* Start the roottask: the first user program, an ELF image from a boot module (untrusted input). */
#include "roottask.h"

#include <vireo/bootinfo.h>

#include "arch.h"
#include "assert.h"
#include "ec.h"
#include "elf.h"
#include "frame.h"
#include "kstring.h"
#include "pd.h"
#include "printk.h"
#include "x86/memlayout.h"
#include "x86/percpu.h"

/* Fixed places in the roottask's address space (docs/ABI.md "Roottask start"). */
#define ROOT_STACK_TOP 0x00007ffff0000000ull
#define ROOT_STACK_SIZE 0x10000ull
#define ROOT_BOOTINFO 0x00007fffe0000000ull

static status_t load_segment(struct pd *pd, const void *img, const struct elf_segment *s)
{
	uint64_t start = ALIGN_DOWN(s->vaddr, PAGE_SIZE);
	uint64_t end = ALIGN_UP(s->vaddr + s->memsz, PAGE_SIZE);
	status_t st = pd_map_anon(pd, start, end - start, s->attr);
	for (uint64_t va = start; st == VIREO_OK && va < end; va += PAGE_SIZE) {
		paddr_t pa;
		CHECK(pt_lookup(&pd->pt, va, &pa, NULL, NULL));
		elf_copy_page(img, s, va, phys_to_virt(pa));
	}
	return st;
}

static status_t map_bootinfo(struct pd *pd, const struct vireo_bootinfo *bi)
{
	status_t st = pd_map_anon(pd, ROOT_BOOTINFO, PAGE_SIZE, MAP_R);
	if (st == VIREO_OK) {
		paddr_t pa;
		CHECK(pt_lookup(&pd->pt, ROOT_BOOTINFO, &pa, NULL, NULL));
		memcpy(phys_to_virt(pa), bi, sizeof(*bi));
	}
	return st;
}

status_t roottask_start(const void *img, size_t len, const char *name,
			const struct vireo_bootinfo *bi)
{
	_Static_assert(sizeof(struct vireo_bootinfo) <= PAGE_SIZE, "boot info fits one page");
	struct elf_image elf;
	status_t st = elf_parse(img, len, USER_END, &elf);
	if (st != VIREO_OK) {
		pr_warn("roottask: %s is not a loadable ELF64 x86-64 executable (status %d)\n",
			name, st);
		return st;
	}
	struct pd *pd = pd_create(name);
	if (!pd) {
		return VIREO_NO_MEM;
	}
	pd->refs++; /* held while loading */
	for (size_t i = 0; st == VIREO_OK && i < elf.nseg; i++) {
		st = load_segment(pd, img, &elf.seg[i]);
	}
	if (st == VIREO_OK) {
		st = pd_map_anon(pd, ROOT_STACK_TOP - ROOT_STACK_SIZE, ROOT_STACK_SIZE,
				 MAP_R | MAP_W);
	}
	if (st == VIREO_OK) {
		st = map_bootinfo(pd, bi);
	}
	if (st == VIREO_OK &&
	    !ec_create(pd, name, elf.entry, ROOT_STACK_TOP - 8, ROOT_BOOTINFO, 0)) {
		st = VIREO_NO_MEM;
	}
	if (st != VIREO_OK) {
		pr_warn("roottask: cannot start %s (status %d)\n", name, st);
	} else {
		pr_info("roottask: %s loaded, entry %#lx, %zu segments\n", name, elf.entry,
			elf.nseg);
	}
	pd_put(pd);
	return st;
}
