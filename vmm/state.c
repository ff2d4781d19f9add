/* SPDX-License-Identifier: MIT */
/* The states a guest starts in: a boot sector in real mode at 0000:7c00, as after a BIOS boot, or
 * a Linux kernel at its 64-bit entry point. */
#include "vmm.h"

#include "x86defs.h"

static struct vireo_seg real_seg(uint16_t attr)
{
	return (struct vireo_seg){ .sel = 0, .attr = attr, .limit = 0xffff, .base = 0 };
}

void vm_reset_state(struct vireo_vm_state *st)
{
	memset(st, 0, sizeof(*st));
	/* Present, accessed, read/write data or execute/read code segments (APM vol. 2 15.5.1). */
	st->cs = real_seg(VSEG_ATTR_P | VSEG_ATTR_S | 0xb);
	st->ds = st->es = st->fs = st->gs = st->ss = real_seg(VSEG_ATTR_P | VSEG_ATTR_S | 0x3);
	st->ldtr = (struct vireo_seg){ .attr = VSEG_ATTR_P | 0x2, .limit = 0xffff };
	st->tr = (struct vireo_seg){ .attr = VSEG_ATTR_P | 0xb, .limit = 0xffff };
	st->gdtr = (struct vireo_seg){ .limit = 0xffff };
	st->idtr = (struct vireo_seg){ .limit = 0x3ff };
	st->cr0 = 0x10; /* ET */
	st->dr6 = 0xffff0ff0;
	st->dr7 = 0x400;
	st->xcr0 = 1; /* x87 only, the reset value */
	st->rflags = 0x2;
	st->rip = GUEST_LOAD_ADDR;
	st->gpr[2] = 0x80; /* DL: the boot drive */
	st->pat = 0x0007040600070406ull;
}

/* Flat 4 GiB segment of the boot GDT with the given type and attributes (APM vol. 2 4.8). */
static struct vireo_seg flat_seg(uint16_t sel, uint16_t attr)
{
	return (struct vireo_seg){ .sel = sel,
				   .attr = attr | VSEG_ATTR_P | VSEG_ATTR_S | VSEG_ATTR_G,
				   .limit = 0xffffffff,
				   .base = 0 };
}

/* Linux Documentation/arch/x86/boot.rst, "64-bit Boot Protocol". */
void vm_linux_state(struct vireo_vm_state *st, uint64_t entry, uint64_t zero_page, uint64_t pml4,
		    uint64_t gdt, uint16_t cs, uint16_t ds)
{
	vm_reset_state(st);
	st->cs = flat_seg(cs, 0xb | VSEG_ATTR_L);
	st->ds = st->es = st->ss = flat_seg(ds, 0x3 | VSEG_ATTR_DB);
	st->fs = st->gs = st->ds;
	/* A 64-bit busy TSS and an LDT, as long mode needs them to be described. */
	st->tr = (struct vireo_seg){ .attr = VSEG_ATTR_P | 0xb, .limit = 0x67 };
	st->gdtr = (struct vireo_seg){ .base = gdt, .limit = 0x1f };
	st->idtr = (struct vireo_seg){ .limit = 0 };
	st->cr0 = CR0_PE | CR0_ET | CR0_PG;
	st->cr3 = pml4;
	st->cr4 = CR4_PAE;
	st->efer = EFER_LME | EFER_LMA;
	st->rflags = 0x2; /* IF clear */
	st->rip = entry;
	st->gpr[2] = 0;
	st->gpr[6] = zero_page; /* RSI */
}
