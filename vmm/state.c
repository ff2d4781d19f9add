/* SPDX-License-Identifier: MIT */
/* The state a boot-sector guest starts in: real mode at 0000:7c00, as after a BIOS boot. */
#include "vmm.h"

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
