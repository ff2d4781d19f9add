/* SPDX-License-Identifier: MIT */
/*
 * Start the roottask: the first user program, an ELF image from a boot module (untrusted input).
 * It receives the capabilities to itself, most of RAM (mapped at a window in its address space and
 * delegatable), all I/O ports, and a kernel-memory quota for the objects it creates.
 */
#include "roottask.h"

#include <vireo/bootinfo.h>

#include "arch.h"
#include "assert.h"
#include "ec.h"
#include "elf.h"
#include "frame.h"
#include "kstring.h"
#include "memmap.h"
#include "obj.h"
#include "pd.h"
#include "printk.h"
#include "sc.h"

/* Fixed places in the roottask's address space (docs/ABI.md "Roottask start"). */
#define ROOT_STACK_TOP 0x00007ffff0000000ull
#define ROOT_STACK_SIZE 0x10000ull
#define ROOT_BOOTINFO 0x00007fffe0000000ull
#define ROOT_PRIO 16
#define ROOT_QUANTUM_US 10000
/* RAM the kernel keeps for its own objects: a quarter, at least 32 MiB. */
#define KERNEL_RESERVE_MIN (32ull << 20)
#define USER_BLOCK_ORDER FRAME_MAX_ORDER

/* A segment's rights as user-mode page attributes. */
static unsigned segment_map_attr(const struct elf_segment *s)
{
	return MAP_U | MAP_R | (s->attr & ELF_SEG_W ? MAP_W : 0) |
	       (s->attr & ELF_SEG_X ? MAP_X : 0);
}

static status_t load_segment(struct pd *pd, const void *img, const struct elf_segment *s)
{
	uint64_t start = ALIGN_DOWN(s->vaddr, PAGE_SIZE);
	uint64_t end = ALIGN_UP(s->vaddr + s->memsz, PAGE_SIZE);
	status_t st = pd_map_anon(pd, start, end - start, segment_map_attr(s));
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

/* Record a block in `bi`, merged with the region it extends; false when there is no slot left. */
static bool record_block(struct vireo_bootinfo *bi, paddr_t pa, uint64_t block)
{
	uint64_t va = VIREO_ROOT_PHYS_WINDOW + pa_addr(pa);
	struct vireo_mem_region *last = bi->nmem ? &bi->mem[bi->nmem - 1] : NULL;
	if (last && last->phys + last->size == pa_addr(pa)) {
		last->size += block;
	} else if (last && pa_addr(pa) + block == last->phys) {
		/* The allocator tends to hand out blocks from the top down. */
		last->phys = pa_addr(pa);
		last->va = va;
		last->size += block;
	} else if (bi->nmem < VIREO_BOOTINFO_MAX_MEM) {
		bi->mem[bi->nmem++] = (struct vireo_mem_region){ pa_addr(pa), va, block };
	} else {
		return false;
	}
	return true;
}

/*
 * [phys, phys + size) as capabilities with `rights`: the largest naturally aligned pieces that fit
 * (the window keeps physical alignment, VIREO_ROOT_PHYS_WINDOW being aligned far beyond any piece),
 * so that the roottask can hand on 1 GiB of RAM as one capability and the VMM delegate it to a VM
 * in one call (docs/architecture.md#mapping-database).
 */
static status_t grant_pieces(struct pd *pd, uint64_t va, uint64_t phys, uint64_t size,
			     unsigned rights)
{
	for (uint64_t off = 0; off < size;) {
		uint64_t pfn = (phys + off) >> PAGE_SHIFT, left = (size - off) >> PAGE_SHIFT;
		unsigned order = 0;
		while (order < 40 && IS_ALIGNED(pfn, 2ull << order) && (2ull << order) <= left) {
			order++;
		}
		status_t st = pd_grant_memory(pd, va + off, pa_init(phys + off), order, rights);
		if (st != VIREO_OK) {
			return st;
		}
		off += PAGE_SIZE << order;
	}
	return VIREO_OK;
}

static status_t grant_region(struct pd *pd, const struct vireo_mem_region *r)
{
	return grant_pieces(pd, r->va, r->phys, r->size, MEM_R | MEM_W | MEM_X);
}

/* Hand RAM above the kernel's reserve to the roottask, recorded in `bi`: taken from the frame
 * allocator in 4 MiB blocks, given as capabilities in the largest aligned pieces of each region. */
static status_t give_memory(struct pd *pd, struct vireo_bootinfo *bi)
{
	uint64_t block = PAGE_SIZE << USER_BLOCK_ORDER;
	uint64_t reserve = MAX(KERNEL_RESERVE_MIN, frame_free_pages() * PAGE_SIZE / 4);
	while (frame_free_pages() * PAGE_SIZE >= reserve + block) {
		paddr_t pa = frame_alloc(USER_BLOCK_ORDER);
		if (!pa_valid(pa)) {
			break;
		}
		if (!record_block(bi, pa, block)) {
			/* Out of boot-info slots: the kernel keeps the rest. */
			frame_free(pa, USER_BLOCK_ORDER);
			pr_warn("roottask: more than %d memory regions, the rest of RAM stays the "
				"kernel's\n",
				VIREO_BOOTINFO_MAX_MEM);
			break;
		}
	}
	for (uint32_t i = 0; i < bi->nmem; i++) {
		status_t st = grant_region(pd, &bi->mem[i]);
		if (st != VIREO_OK) {
			return st;
		}
	}
	return VIREO_OK;
}

static uint64_t roottask_ram(const struct vireo_bootinfo *bi)
{
	uint64_t sum = 0;
	for (uint32_t i = 0; i < bi->nmem; i++) {
		sum += bi->mem[i].size;
	}
	return sum;
}

static status_t give_caps(struct pd *pd, struct ec *ec, struct sc *sc)
{
	status_t st = pd_install_obj(pd, SEL_SELF_PD, &pd->obj, RIGHTS_ALL);
	if (st == VIREO_OK) {
		st = pd_install_obj(pd, SEL_SELF_EC, &ec->obj, RIGHTS_ALL);
	}
	if (st == VIREO_OK) {
		st = pd_install_obj(pd, SEL_SELF_SC, &sc->obj, RIGHTS_ALL);
	}
	if (st == VIREO_OK) {
		st = pd_grant_ports(pd, 0, 16);
	}
	return st;
}

/*
 * Boot modules appear read-only in the window too. A module that owns its pages (page-aligned, no
 * page shared with another module: GRUB's layout) is held as read-only capabilities, so the
 * roottask can hand it to a task by delegation instead of a copy; bit i of bi->module_caps says
 * which. The bytes after its end in its last page come with it: the kernel never allocates from
 * a partial page (memmap_usable), so they are padding or boot information, never kernel data.
 */
static status_t map_modules(struct pd *pd, struct vireo_bootinfo *bi)
{
	struct mem_range r[VIREO_BOOTINFO_MAX_MODULES];
	for (uint32_t i = 0; i < bi->nmodules; i++) {
		r[i] = (struct mem_range){ bi->modules[i].phys, bi->modules[i].size };
	}
	bi->module_caps = 0;
	for (uint32_t i = 0; i < bi->nmodules; i++) {
		uint64_t start = ALIGN_DOWN(bi->modules[i].phys, PAGE_SIZE);
		uint64_t end = ALIGN_UP(bi->modules[i].phys + bi->modules[i].size, PAGE_SIZE);
		status_t st = VIREO_OK;
		if (end == start) {
			continue;
		}
		if (memmap_owns_pages(r, bi->nmodules, i)) {
			st = grant_pieces(pd, VIREO_ROOT_PHYS_WINDOW + start, start, end - start,
					  MEM_R);
			bi->module_caps |= 1u << i;
		} else {
			st = pt_map(&pd->pt, VIREO_ROOT_PHYS_WINDOW + start, pa_init(start),
				    end - start, MAP_R | MAP_U, 0);
		}
		if (st != VIREO_OK) {
			return st;
		}
	}
	return VIREO_OK;
}

static status_t build(struct pd *pd, const void *img, const struct elf_image *elf,
		      struct vireo_bootinfo *bi)
{
	status_t st = VIREO_OK;
	for (size_t i = 0; st == VIREO_OK && i < elf->nseg; i++) {
		st = load_segment(pd, img, &elf->seg[i]);
	}
	if (st == VIREO_OK) {
		st = pd_map_anon(pd, ROOT_STACK_TOP - ROOT_STACK_SIZE, ROOT_STACK_SIZE,
				 MAP_R | MAP_W);
	}
	if (st == VIREO_OK) {
		st = give_memory(pd, bi);
	}
	if (st == VIREO_OK) {
		st = map_modules(pd, bi);
	}
	return st;
}

status_t roottask_start(const void *img, size_t len, const char *name, struct vireo_bootinfo *bi)
{
	_Static_assert(sizeof(struct vireo_bootinfo) <= PAGE_SIZE, "boot info fits one page");
	struct elf_image elf;
	struct pd *pd;
	struct ec *ec;
	struct sc *sc;
	status_t st = elf_parse(img, len, USER_END, &elf);
	if (st != VIREO_OK) {
		pr_warn("roottask: %s is not a loadable ELF64 x86-64 executable (status %d)\n",
			name, st);
		return st;
	}
	/* Everything the kernel keeps after handing out RAM is the roottask's to spend. */
	st = pd_create(NULL, UINT64_MAX / 2, PD_PRIO_INHERIT, name, &pd);
	if (st != VIREO_OK) {
		return st;
	}
	obj_get(&pd->obj); /* held while building */
	st = build(pd, img, &elf, bi);
	bi->kernel_quota = frame_free_pages() * PAGE_SIZE;
	bi->utcb = VIREO_ROOT_UTCB;
	if (st == VIREO_OK) {
		st = map_bootinfo(pd, bi);
	}
	if (st == VIREO_OK) {
		st = ec_create(pd, name, elf.entry, ROOT_STACK_TOP - 8, VIREO_ROOT_UTCB,
			       VIREO_ROOT_EVT_BASE, ROOT_BOOTINFO, 0, false, &ec);
	}
	if (st == VIREO_OK) {
		obj_get(&ec->obj);
		st = sc_create(pd, ec, ROOT_PRIO, ROOT_QUANTUM_US, &sc);
		if (st == VIREO_OK) {
			st = give_caps(pd, ec, sc);
		}
		obj_put(&ec->obj);
	}
	if (st != VIREO_OK) {
		pr_warn("roottask: cannot start %s (status %d)\n", name, st);
	} else {
		pr_info("roottask: %s loaded, entry %#lx, %zu segments, %u MiB of RAM in %u "
			"regions\n",
			name, elf.entry, elf.nseg, (unsigned)(roottask_ram(bi) >> 20), bi->nmem);
	}
	obj_put(&pd->obj);
	return st;
}
