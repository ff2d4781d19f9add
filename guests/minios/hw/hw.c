/* SPDX-License-Identifier: MIT */
/*
 * minios on bare x86_64 (the hardware-VM layer of plat.h): its own 4-level page tables (Intel SDM
 * vol. 3A 4.5), an IDT with the exception and PIC vectors (SDM 6.14), SYSCALL/SYSRET through
 * STAR/LSTAR/SFMASK (AMD APM vol. 2 6.1.1), the 8259A pair remapped to 0x20 and the 8254 at
 * 100 Hz, the console on the test port 0xe9 and the result on port 0xf0 (guests/tests/README.md).
 * The kernel runs with interrupts off; processes run with them on, so every interrupt is an
 * event of the process it interrupted. Guest RAM is the VMM's 2 MiB, identity-mapped.
 */
#include "../plat.h"

#define VEC_SYSCALL 0x100
#define VEC_TIMER 0x20
#define PIC_SPURIOUS 0x27
#define PAGE 4096ull
#define RAM_END (2ull << 20)
#define PTE_P 0x1ull
#define PTE_W 0x2ull
#define PTE_U 0x4ull
#define PTE_ADDR 0x000ffffffffff000ull
#define MSR_EFER 0xc0000080u
#define MSR_STAR 0xc0000081u
#define MSR_LSTAR 0xc0000082u
#define MSR_SFMASK 0xc0000084u
#define SEL_KCODE 0x08
#define SEL_TSS 0x38
#define PIT_HZ 1193182u
#define TIMER_HZ 100u

struct trapframe {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error, rip, cs, rflags, rsp, ss;
};

struct plat_as {
	uint64_t pml4, pdpt, pd; /* physical; the PD covers 1 .. 2 GiB, the process's half */
};

struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
};

struct tss {
	uint32_t reserved0;
	uint64_t rsp0, rsp1, rsp2, reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3, iomap;
} __attribute__((packed));

extern char hw_vectors[], hw_syscall_entry[], _end[];
extern uint64_t boot_pml4[], hw_kernel_pd[], hw_gdt_tss[2];
extern const struct {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed)) hw_gdt_desc64;

void hw_main(void);
void hw_trap(struct trapframe *f);
void hw_enter(struct uctx *ctx, int sysret);

uint64_t hw_kernel_rsp, hw_user_rsp;

static struct idt_gate idt[48];
static struct tss tss;
static uint64_t free_frames; /* a stack of free frames, linked through their first word */
static uint64_t cur_cr3;
static struct uctx *cur_ctx;
static struct plat_event *cur_ev;

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port));
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline void write_cr3(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr3" ::"r"(v) : "memory");
}

static inline uint64_t read_cr2(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

/* ---------------------------------------------------------------- console and the end */

void plat_putc(char c)
{
	outb(0xe9, (uint8_t)c);
}

const char *plat_name(void)
{
	return "hardware VM";
}

uint64_t plat_entries(void)
{
	return 0; /* a guest cannot count its VM exits; the VMM's "exits" option does */
}

void plat_halt(bool passed)
{
	outl(0xf0, passed ? 0 : 1);
	for (;;) {
		__asm__ volatile("cli; hlt");
	}
}

static void hw_puts(const char *s)
{
	while (*s) {
		plat_putc(*s++);
	}
}

static void hw_putx(uint64_t v)
{
	for (int s = 60; s >= 0; s -= 4) {
		plat_putc("0123456789abcdef"[(v >> s) & 15]);
	}
}

/* ---------------------------------------------------------------- memory */

uint64_t plat_frame_alloc(void)
{
	uint64_t f = free_frames;
	if (f) {
		free_frames = *(uint64_t *)f;
		*(uint64_t *)f = 0;
	}
	return f;
}

void plat_frame_free(uint64_t frame)
{
	*(uint64_t *)frame = free_frames;
	free_frames = frame;
}

void *plat_frame_ptr(uint64_t frame)
{
	return (void *)frame; /* RAM is identity-mapped */
}

static uint64_t table_alloc(void)
{
	uint64_t f = plat_frame_alloc();
	if (f) {
		uint64_t *t = (uint64_t *)f;
		for (int i = 0; i < 512; i++) {
			t[i] = 0;
		}
	}
	return f;
}

static struct plat_as as_pool[16];

struct plat_as *plat_as_create(void)
{
	struct plat_as *as = NULL;
	for (unsigned i = 0; i < 16 && !as; i++) {
		as = as_pool[i].pml4 ? NULL : &as_pool[i];
	}
	if (!as) {
		return NULL;
	}
	as->pml4 = table_alloc();
	as->pdpt = table_alloc();
	as->pd = table_alloc();
	if (!as->pml4 || !as->pdpt || !as->pd) {
		plat_as_destroy(as);
		return NULL;
	}
	/* Kernel half: the shared supervisor-only PD at 0; user half: the process's PD at 1 GiB. */
	((uint64_t *)as->pml4)[0] = as->pdpt | PTE_P | PTE_W | PTE_U;
	((uint64_t *)as->pdpt)[0] = (uint64_t)hw_kernel_pd | PTE_P | PTE_W;
	((uint64_t *)as->pdpt)[1] = as->pd | PTE_P | PTE_W | PTE_U;
	return as;
}

void plat_as_destroy(struct plat_as *as)
{
	if (as->pml4 && as->pml4 == cur_cr3) {
		write_cr3((uint64_t)boot_pml4); /* its tables are about to be reused */
		cur_cr3 = (uint64_t)boot_pml4;
	}
	if (as->pd) {
		uint64_t *pd = (uint64_t *)as->pd;
		for (int i = 0; i < 512; i++) {
			if (pd[i] & PTE_P) {
				plat_frame_free(pd[i] & PTE_ADDR);
			}
		}
		plat_frame_free(as->pd);
	}
	if (as->pdpt) {
		plat_frame_free(as->pdpt);
	}
	if (as->pml4) {
		plat_frame_free(as->pml4);
	}
	*as = (struct plat_as){ 0, 0, 0 };
}

/* The PTE of a user address in 1 .. 2 GiB, with its page table made on demand. */
static uint64_t *pte_of(struct plat_as *as, uint64_t va, bool make)
{
	if (va >> 30 != 1) {
		return NULL;
	}
	uint64_t *pd = (uint64_t *)as->pd;
	unsigned i = (va >> 21) & 511;
	if (!(pd[i] & PTE_P)) {
		uint64_t pt = make ? table_alloc() : 0;
		if (!pt) {
			return NULL;
		}
		pd[i] = pt | PTE_P | PTE_W | PTE_U;
	}
	return (uint64_t *)(pd[i] & PTE_ADDR) + ((va >> 12) & 511);
}

bool plat_map(struct plat_as *as, uint64_t va, uint64_t frame, bool writable)
{
	uint64_t *pte = pte_of(as, va, true);
	if (!pte) {
		return false;
	}
	*pte = frame | PTE_P | PTE_U | (writable ? PTE_W : 0);
	return true;
}

void plat_unmap(struct plat_as *as, uint64_t va, uint64_t frame)
{
	(void)frame;
	uint64_t *pte = pte_of(as, va, false);
	if (pte) {
		*pte = 0;
		if (as->pml4 == cur_cr3) {
			__asm__ volatile("invlpg (%0)" ::"r"(va) : "memory");
		}
	}
}

/* ---------------------------------------------------------------- running a process */

void plat_run(struct plat_as *as, struct uctx *ctx, struct plat_event *ev)
{
	if (as->pml4 != cur_cr3) {
		write_cr3(as->pml4);
		cur_cr3 = as->pml4;
	}
	cur_ctx = ctx;
	cur_ev = ev;
	ev->kind = PEV_FAULT;
	ctx->rflags = (ctx->rflags & 0xcd5) | 0x202; /* status flags only; IF on, IOPL 0 */
	do {
		/* SYSRETQ loads RIP from RCX and RFLAGS from R11: right after a SYSCALL they hold
		 * exactly that; an interrupted process goes back with IRETQ. */
		hw_enter(ctx, ctx->rcx == ctx->rip && ctx->r11 == ctx->rflags);
	} while (ev->vector == PIC_SPURIOUS);
}

static __attribute__((noreturn)) void panic(struct trapframe *f)
{
	hw_puts("minios: kernel exception ");
	hw_putx(f->vector);
	hw_puts(" at rip ");
	hw_putx(f->rip);
	hw_puts(" cr2 ");
	hw_putx(read_cr2());
	hw_puts("\n");
	plat_halt(false);
}

void hw_trap(struct trapframe *f)
{
	if (!(f->cs & 3)) {
		panic(f);
	}
	struct uctx *c = cur_ctx;
	*c = (struct uctx){ .rax = f->rax,
			    .rbx = f->rbx,
			    .rcx = f->rcx,
			    .rdx = f->rdx,
			    .rsi = f->rsi,
			    .rdi = f->rdi,
			    .rbp = f->rbp,
			    .r8 = f->r8,
			    .r9 = f->r9,
			    .r10 = f->r10,
			    .r11 = f->r11,
			    .r12 = f->r12,
			    .r13 = f->r13,
			    .r14 = f->r14,
			    .r15 = f->r15,
			    .rip = f->rip,
			    .rsp = f->rsp,
			    .rflags = f->rflags };
	struct plat_event *ev = cur_ev;
	ev->vector = (unsigned)f->vector;
	ev->error = f->error;
	ev->addr = 0;
	if (f->vector == VEC_SYSCALL) {
		ev->kind = PEV_SYSCALL;
	} else if (f->vector == 14) {
		ev->kind = PEV_PAGEFAULT;
		ev->addr = read_cr2();
	} else if (f->vector == VEC_TIMER) {
		ev->kind = PEV_TIMER;
		outb(0x20, 0x20); /* non-specific EOI */
	} else if (f->vector == PIC_SPURIOUS) {
		ev->kind = PEV_TIMER; /* not delivered: plat_run resumes the process */
	} else {
		ev->kind = PEV_FAULT;
	}
}

/* ---------------------------------------------------------------- set-up */

static void idt_init(void)
{
	for (unsigned v = 0; v < 48; v++) {
		uint64_t a = (uint64_t)hw_vectors + 16 * v;
		idt[v] = (struct idt_gate){ .off_lo = (uint16_t)a,
					    .sel = SEL_KCODE,
					    .type = 0x8e, /* present, DPL 0, interrupt gate */
					    .off_mid = (uint16_t)(a >> 16),
					    .off_hi = (uint32_t)(a >> 32) };
	}
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) d = { sizeof(idt) - 1, (uint64_t)idt };
	__asm__ volatile("lidt %0" ::"m"(d));
}

static void tss_init(void)
{
	extern char hw_trap_stack_top[];
	tss.rsp0 = (uint64_t)hw_trap_stack_top;
	tss.iomap = sizeof(tss);
	uint64_t b = (uint64_t)&tss, l = sizeof(tss) - 1;
	hw_gdt_tss[0] =
		(l & 0xffff) | (b & 0xffffff) << 16 | 0x89ull << 40 | (b >> 24 & 0xff) << 56;
	hw_gdt_tss[1] = b >> 32;
	__asm__ volatile("lgdt %0; ltr %w1" ::"m"(hw_gdt_desc64), "r"(SEL_TSS));
}

static void pic_pit_init(void)
{
	outb(0x20, 0x11); /* ICW1: edge, cascade, ICW4 */
	outb(0xa0, 0x11);
	outb(0x21, 0x20); /* ICW2: vectors 0x20 and 0x28 */
	outb(0xa1, 0x28);
	outb(0x21, 0x04); /* ICW3: slave on IRQ2 */
	outb(0xa1, 0x02);
	outb(0x21, 0x01); /* ICW4: 8086 mode */
	outb(0xa1, 0x01);
	outb(0x21, 0xfe); /* only IRQ0, the PIT */
	outb(0xa1, 0xff);
	unsigned div = (PIT_HZ + TIMER_HZ / 2) / TIMER_HZ;
	outb(0x43, 0x34); /* channel 0, lobyte/hibyte, rate generator */
	outb(0x40, (uint8_t)div);
	outb(0x40, (uint8_t)(div >> 8));
}

void hw_main(void)
{
	idt_init();
	tss_init();
	wrmsr(MSR_STAR, (uint64_t)0x18 << 48 | (uint64_t)SEL_KCODE << 32);
	wrmsr(MSR_LSTAR, (uint64_t)hw_syscall_entry);
	wrmsr(MSR_SFMASK, 0x47700); /* IF, TF, DF, AC, NT off in the kernel */
	cur_cr3 = (uint64_t)boot_pml4;
	for (uint64_t f = ((uint64_t)_end + PAGE - 1) & ~(PAGE - 1); f < RAM_END; f += PAGE) {
		plat_frame_free(f);
	}
	pic_pit_init();
	core_main();
}
