/* SPDX-License-Identifier: MIT */
/* Per-CPU GDT, TSS and GS base (Intel SDM vol. 3A 3.4.5 descriptors, 8.2.3 the 64-bit TSS). */
#include "assert.h"
#include "kstring.h"
#include "x86/cpu.h"
#include "x86/memlayout.h"
#include "x86/percpu.h"

struct percpu percpu_area[MAX_CPUS];
unsigned cpus_online;
unsigned cpus_present = 1;

/* Stacks for #DF, NMI and #MC: they must work even when the kernel stack is broken. */
#define IST_STACK_SIZE 4096
#define IST_COUNT 3
static unsigned char ist_stacks[MAX_CPUS][IST_COUNT][IST_STACK_SIZE] __aligned(16);

static uint64_t seg_desc(uint32_t flags)
{
	return (uint64_t)flags << 32 | 0xffff;
}

static void set_tss_desc(uint64_t *slot, const struct percpu *p)
{
	uint64_t base = (uint64_t)&p->tss;
	uint64_t limit = sizeof(p->tss) + sizeof(p->io_bitmap) - 1;
	slot[0] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ull << 40 |
		  ((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
	slot[1] = base >> 32;
}

void percpu_init(unsigned id, uint32_t apic_id, uint64_t stack_top)
{
	CHECK(id < MAX_CPUS);
	struct percpu *p = &percpu_area[id];
	p->self = p;
	p->id = id;
	p->apic_id = apic_id;
	p->kstack_top = stack_top;
	p->regs_top = 0;

	p->gdt[0] = 0;
	p->gdt[1] = seg_desc(0x00af9a00); /* 0x08 kernel code, L=1 */
	p->gdt[2] = seg_desc(0x00cf9200); /* 0x10 kernel data */
	p->gdt[3] = seg_desc(0x00cff200); /* 0x18 user data, DPL 3 */
	p->gdt[4] = seg_desc(0x00affa00); /* 0x20 user code, L=1, DPL 3 */
	set_tss_desc(&p->gdt[5], p);

	memset(&p->tss, 0, sizeof(p->tss));
	p->tss.rsp[0] = stack_top;
	for (int i = 0; i < IST_COUNT; i++) {
		unsigned char *top = &ist_stacks[id][i][IST_STACK_SIZE - IST_PERCPU_SLOT];
		*(struct percpu **)top = p;
		p->tss.ist[i] = (uint64_t)top;
	}
	/* The I/O permission bitmap follows the TSS (Intel SDM vol. 1 19.5.2); all ports denied. */
	_Static_assert(__builtin_offsetof(struct percpu, io_bitmap) ==
			       __builtin_offsetof(struct percpu, tss) + sizeof(struct tss),
		       "the I/O bitmap must follow the TSS");
	p->tss.iopb_offset = sizeof(struct tss);
	memset(p->io_bitmap, 0xff, sizeof(p->io_bitmap));
	p->io_owner = NULL;

	struct __packed {
		uint16_t limit;
		uint64_t base;
	} gdtr = { sizeof(p->gdt) - 1, (uint64_t)p->gdt };
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "lea 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "mov %2, %%ds\n\t"
			 "mov %2, %%es\n\t"
			 "mov %2, %%ss\n\t"
			 "ltr %w3"
			 :
			 : "m"(gdtr), "i"(SEL_KCODE), "r"(SEL_KDATA), "r"(SEL_TSS)
			 : "rax", "memory");
	/* Null FS/GS selectors; the bases are MSRs. Kernel GS base = this CPU's data. */
	__asm__ volatile("mov %0, %%fs; mov %0, %%gs" ::"r"(0));
	wrmsr(MSR_GS_BASE, (uint64_t)p);
	wrmsr(MSR_KERNEL_GS_BASE, 0);
}
