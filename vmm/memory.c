/* SPDX-License-Identifier: MIT */
/*
 * Guest memory from the VMM's side: guest-physical RAM is mapped in the VMM, guest-linear
 * addresses go through the guest's own page tables (Intel SDM vol. 3A 4.3-4.5: 32-bit, PAE and
 * 4-level paging), segments through their bases.
 */
#include "vmm.h"

#include "x86defs.h"

#define PTE_P 0x1ull
#define PTE_PS 0x80ull

void *vm_gpa(struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (gpa >= vm->ram_size || len > vm->ram_size - gpa) {
		return NULL;
	}
	return vm->ram + gpa;
}

static bool read_entry(struct vm *vm, uint64_t gpa, unsigned size, uint64_t *e)
{
	const void *p = vm_gpa(vm, gpa, size);
	if (!p) {
		return false;
	}
	*e = 0;
	memcpy(e, p, size);
	return (*e & PTE_P) != 0;
}

/*
 * One walk for all three formats: levels, bits per level, entry size, and whether PS makes large
 * pages (at levels 2 and 3; 32-bit paging only with CR4.PSE, SDM vol. 3A 4.3).
 */
static bool walk(struct vm *vm, uint64_t root, uint64_t gva, unsigned levels, unsigned bits,
		 unsigned esize, bool large, uint64_t *gpa)
{
	uint64_t table = root;
	for (unsigned lvl = levels; lvl > 0; lvl--) {
		unsigned shift = 12 + bits * (lvl - 1);
		uint64_t idx = (gva >> shift) & ((1ull << bits) - 1);
		uint64_t e;
		if (!read_entry(vm, table + idx * esize, esize, &e)) {
			return false;
		}
		uint64_t addr_mask = esize == 4 ? 0xfffff000ull : 0x000ffffffffff000ull;
		if (large && lvl > 1 && lvl < 4 && (e & PTE_PS)) {
			uint64_t page = 1ull << shift;
			*gpa = ((e & addr_mask) & ~(page - 1)) | (gva & (page - 1));
			return true;
		}
		table = e & addr_mask;
	}
	*gpa = table | (gva & 0xfff);
	return true;
}

bool vm_gva_to_gpa(struct vm *vm, uint64_t gva, uint64_t *gpa)
{
	const struct vireo_vm_state *st = vm->st;
	if (!(st->cr0 & CR0_PG)) {
		*gpa = st->cr0 & CR0_PE ? gva & 0xffffffffull : gva & 0xfffffull;
		return true;
	}
	if (st->efer & EFER_LMA) {
		return walk(vm, st->cr3 & ~0xfffull, gva, 4, 9, 8, true, gpa);
	}
	if (st->cr4 & CR4_PAE) {
		/* PAE: 4 PDPTEs at CR3, then two 9-bit levels. */
		uint64_t pdpte;
		if (!read_entry(vm, (st->cr3 & ~0x1full) + ((gva >> 30) & 3) * 8, 8, &pdpte)) {
			return false;
		}
		return walk(vm, pdpte & 0x000ffffffffff000ull, gva & 0x3fffffff, 2, 9, 8, true,
			    gpa);
	}
	return walk(vm, st->cr3 & ~0xfffull, gva & 0xffffffffull, 2, 10, 4, st->cr4 & CR4_PSE, gpa);
}

static bool copy_gva(struct vm *vm, uint64_t gva, void *buf, size_t len, bool write)
{
	uint8_t *b = buf;
	while (len) {
		uint64_t gpa;
		size_t chunk = 4096 - (gva & 0xfff);
		chunk = chunk < len ? chunk : len;
		void *p = vm_gva_to_gpa(vm, gva, &gpa) ? vm_gpa(vm, gpa, chunk) : NULL;
		if (!p) {
			return false;
		}
		if (write) {
			memcpy(p, b, chunk);
		} else {
			memcpy(b, p, chunk);
		}
		gva += chunk;
		b += chunk;
		len -= chunk;
	}
	return true;
}

bool vm_read_gva(struct vm *vm, uint64_t gva, void *dst, size_t len)
{
	return copy_gva(vm, gva, dst, len, false);
}

bool vm_write_gva(struct vm *vm, uint64_t gva, const void *src, size_t len)
{
	return copy_gva(vm, gva, (void *)src, len, true);
}

enum decode_mode vm_code_mode(const struct vireo_vm_state *st)
{
	if ((st->efer & EFER_LMA) && (st->cs.attr & VSEG_ATTR_L)) {
		return DECODE_64;
	}
	if ((st->cr0 & CR0_PE) && (st->cs.attr & VSEG_ATTR_DB)) {
		return DECODE_32;
	}
	return DECODE_16;
}
