/* SPDX-License-Identifier: MIT */
/* Per-CPU data, reached through the GS base in the kernel. */
#ifndef KERNEL_X86_PERCPU_H
#define KERNEL_X86_PERCPU_H

#define MAX_CPUS 16

/* Offsets used by the entry code. */
#define PERCPU_SELF 0
#define PERCPU_KSTACK_TOP 8
#define PERCPU_USER_RSP 16
#define PERCPU_REGS_TOP 24
/* Each IST stack starts this far below its top; the CPU's struct percpu * is stored at the start,
 * above the interrupt frame, so a paranoid entry finds the kernel's GS base without GS. */
#define IST_PERCPU_SLOT 16

#ifndef __ASSEMBLY__
#include "asid.h"
#include "types.h"

struct ec;

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iopb_offset;
} __packed;
_Static_assert(sizeof(struct tss) == 104, "TSS layout: Intel SDM vol. 3A 8.7");

struct percpu {
	struct percpu *self; /* 0x00 */
	uint64_t kstack_top; /* 0x08: this CPU's kernel stack */
	uint64_t user_rsp;   /* 0x10: scratch for the syscall entry */
	uint64_t regs_top;   /* 0x18: end of the current EC's register frame */
	struct ec *current;
	struct ec *zombie;     /* destroyed in its own system call, freed by the scheduler */
	const void *fpu_owner; /* the FPU state area the registers hold */
	uint64_t vm_root;      /* guest-physical tables of the VM running here, 0 if none */
	unsigned id;	       /* dense CPU number, 0 = bootstrap processor */
	uint32_t apic_id;
	bool online;
	volatile uint64_t ticks; /* local timer interrupts taken */
	uint64_t cr3;		 /* memory space loaded: TLB shoot-downs go where it matters */
	uint64_t gdt[7] __aligned(16);
	struct tss tss __aligned(16);
	uint8_t io_bitmap[8192 +
			  1]; /* right after the TSS: 0 = port allowed; the last byte stays 0xff */
	const uint8_t *io_owner; /* PD bitmap currently copied in (NULL: all denied) */
	unsigned char *ist_stacks;
	volatile uint64_t nmis;	     /* NMIs handled (each returns; only a panic halts) */
	volatile uint64_t nmi_exits; /* of them, NMIs that ended a guest run (SVM NMI exit) */
	struct ec *cont_ec;	     /* the EC whose continuation runs once the stack is reset */
	/* A fused round's guest runs here with the kernel lock held: a CPU waiting for the lock
	 * kicks this one out (klock.c, docs/architecture.md#resume-fast-path). */
	volatile bool lock_in_guest;
	struct asid_cpu asid; /* this CPU's guest ASIDs (the SVM backend's, kernel/asid.h) */
};
_Static_assert(__builtin_offsetof(struct percpu, kstack_top) == PERCPU_KSTACK_TOP, "entry code");
_Static_assert(__builtin_offsetof(struct percpu, user_rsp) == PERCPU_USER_RSP, "entry code");
_Static_assert(__builtin_offsetof(struct percpu, regs_top) == PERCPU_REGS_TOP, "entry code");

extern struct percpu percpu_area[MAX_CPUS];
extern unsigned cpus_online;
extern unsigned cpus_present;

#ifdef HOST_TEST
/* Host unit tests: the CPU the fake arch layer (tests/fake/) currently runs kernel code on. */
struct percpu *this_cpu(void);
#define this_cpu_field(f) (this_cpu()->f)
#else
static inline struct percpu *this_cpu(void)
{
	struct percpu *p;
	__asm__ volatile("mov %%gs:0, %0" : "=r"(p));
	return p;
}
/* One field of this CPU's block as an lvalue, reached in one instruction through the GS base
 * (which is the block's address) instead of loading the block's address first: for the paths
 * that count instructions (docs/architecture.md#resume-fast-path). */
#define this_cpu_field(f) (((__seg_gs struct percpu *)0)->f)
#endif

/* Bytes of this CPU's kernel stack in use down to the caller's frame; more than KSTACK_SIZE
 * (or a wrapped-around value) means the caller is not on that stack at all. */
static inline uint64_t kstack_depth(void)
{
	return this_cpu()->kstack_top - (uint64_t)__builtin_frame_address(0);
}

/* Load this CPU's GDT, TSS and GS base; `stack_top` is its kernel stack. */
void percpu_init(unsigned id, uint32_t apic_id, uint64_t stack_top);
#endif

#endif
