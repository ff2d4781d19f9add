/* SPDX-License-Identifier: MIT */
/* The IDT: 256 interrupt gates into entry64.S stubs (Intel SDM vol. 3A 6.14.1). */
#include "x86/idt.h"

#include "x86/memlayout.h"

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t reserved;
} __packed;

static struct idt_gate idt[256] __aligned(16);
extern char isr_table_start[];
#define ISR_STUB_SIZE 16

static unsigned gate_ist(unsigned vec)
{
	switch (vec) {
	case 8:
		return 1; /* #DF */
	case 2:
		return 2; /* NMI */
	case 18:
		return 3; /* #MC */
	default:
		return 0;
	}
}

void idt_init(void)
{
	for (unsigned v = 0; v < 256; v++) {
		uint64_t off = (uint64_t)isr_table_start + v * ISR_STUB_SIZE;
		idt[v] = (struct idt_gate){
			.off_lo = off & 0xffff,
			.sel = SEL_KCODE,
			.ist = gate_ist(v),
			/* Interrupt gates (IF cleared on entry); only #BP and #OF may be raised from user mode by INT3/INTO. */
			.type = (v == 3 || v == 4) ? 0xee : 0x8e,
			.off_mid = (off >> 16) & 0xffff,
			.off_hi = off >> 32,
		};
	}
}

void idt_load(void)
{
	struct __packed {
		uint16_t limit;
		uint64_t base;
	} idtr = { sizeof(idt) - 1, (uint64_t)idt };
	__asm__ volatile("lidt %0" ::"m"(idtr));
}
