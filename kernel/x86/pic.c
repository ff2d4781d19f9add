/* SPDX-License-Identifier: MIT */
/* Legacy 8259A PICs: remapped away from the exception vectors and fully masked; the IOAPIC is used instead. */
#include "x86/pic.h"

#include "ioport.h"
#include "x86/cpu.h"

#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xa0
#define PIC2_DATA 0xa1

void pic_disable(void)
{
	/* Masked for good: a VM that reached them could unmask lines the IOAPIC also delivers. */
	ioport_kernel_claim(PIC1_CMD, 2, "8259A master");
	ioport_kernel_claim(PIC2_CMD, 2, "8259A slave");
	/* ICW1-ICW4 (8259A datasheet): edge triggered, cascade, 8086 mode. */
	outb(PIC1_CMD, 0x11);
	outb(PIC2_CMD, 0x11);
	outb(PIC1_DATA, 0x20); /* vectors 0x20-0x27: a spurious IRQ never looks like an exception */
	outb(PIC2_DATA, 0x28);
	outb(PIC1_DATA, 0x04);
	outb(PIC2_DATA, 0x02);
	outb(PIC1_DATA, 0x01);
	outb(PIC2_DATA, 0x01);
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
}
