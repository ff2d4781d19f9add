/* SPDX-License-Identifier: MIT */
/*
 * Start a boot module as a task: its own PD with the ELF image, stack, heap and a task-info page
 * in memory delegated from the roottask, one EC with an SC, capabilities to itself, a page-fault
 * portal to the roottask's pager, and the ports and interrupt its command line asks for.
 */
#include "cmdline.h"
#include "elf.h"
#include "roottask.h"

#define TASK_QUOTA (2ull << 20)
#define TASK_HEAP_SIZE (8ull << 20)
#define TASK_DEMAND_SIZE (4ull << 20)
#define TASK_STACK_SIZE (64ull << 10)
#define TASK_PRIO 8
#define TASK_QUANTUM_US 10000

struct task {
	uint64_t pd, ec, sc; /* selectors in the roottask's space */
	unsigned id;
	const char *name;
	struct vireo_taskinfo *info; /* the roottask's view of its task-info page */
};

/* Map `count` fresh pages from the roottask's RAM at `va` in the task, with `rights`. */
static int give_pages(struct task *t, uint64_t va, uint64_t count, unsigned rights, uint64_t *first)
{
	for (uint64_t i = 0; i < count; i++) {
		uint64_t page = mem_alloc(0);
		if (!page) {
			printf("roottask: %s: out of memory\n", t->name);
			return -1;
		}
		if (i == 0 && first) {
			*first = page;
		}
		enum vireo_status st = sys_delegate(
			t->pd, vireo_crd(CRD_MEM, page >> 12, 0, rights), (va >> 12) + i, 0);
		if (st != VIREO_OK) {
			printf("roottask: %s: delegating a page to %#lx failed (%d)\n", t->name,
			       (unsigned long)(va + i * PAGE), st);
			return -1;
		}
	}
	return 0;
}

/*
 * A large heap (heap=MiB on the module command line, e.g. a VMM's guest RAM) in the largest
 * naturally aligned blocks the roottask's RAM has (up to 1 GiB, at least 4 MiB), each one
 * capability at a heap offset of the same alignment: the task can then delegate it on in large
 * flexpages (1 GiB of guest RAM in one call), and it takes a handful of system calls. Returns the
 * heap size given, or 0.
 */
static uint64_t give_large_heap(struct task *t, uint64_t mib)
{
	const unsigned min_order = 10, max_order = 18;
	uint64_t min_block = PAGE << min_order;
	uint64_t size = (((uint64_t)mib << 20) + min_block - 1) & ~(min_block - 1);
	unsigned calls = 0;
	for (uint64_t off = 0; off < size;) {
		unsigned order = max_order;
		/* TASK_HEAP_VA is aligned to far more than max_order: the offset decides. */
		while (order > min_order &&
		       ((off & ((PAGE << order) - 1)) || size - off < (PAGE << order))) {
			order--;
		}
		uint64_t pa = mem_alloc(order);
		while (!pa && order > min_order) {
			pa = mem_alloc(--order);
		}
		calls++;
		if (!pa ||
		    sys_delegate(t->pd, vireo_crd(CRD_MEM, pa >> 12, order, MEM_R | MEM_W | MEM_X),
				 (TASK_HEAP_VA + off) >> 12, 0) != VIREO_OK) {
			printf("roottask: %s: cannot give it a heap of %lu MiB\n", t->name,
			       (unsigned long)mib);
			return 0;
		}
		off += PAGE << order;
	}
	if (size >= (1ull << 30)) {
		printf("roottask: %s: %ld MiB heap in %u capabilities\n", t->name, mib, calls);
	}
	return size;
}

/* Pages delegated one by one are not contiguous in the roottask: copy through each page. */
static int load_segment(struct task *t, const void *img, const struct elf_segment *s)
{
	uint64_t start = s->vaddr & ~(PAGE - 1);
	uint64_t end = (s->vaddr + s->memsz + PAGE - 1) & ~(PAGE - 1);
	unsigned rights =
		MEM_R | (s->attr & ELF_SEG_W ? MEM_W : 0) | (s->attr & ELF_SEG_X ? MEM_X : 0);
	for (uint64_t va = start; va < end; va += PAGE) {
		uint64_t page = mem_alloc(0);
		if (!page) {
			return -1;
		}
		elf_copy_page(img, s, va, (void *)page);
		if (sys_delegate(t->pd, vireo_crd(CRD_MEM, page >> 12, 0, rights), va >> 12, 0) !=
		    VIREO_OK) {
			printf("roottask: %s: cannot map segment page %#lx\n", t->name,
			       (unsigned long)va);
			return -1;
		}
	}
	return 0;
}

/*
 * "key=N" or "key=N<sep>M" from a module command line, N and M numbers as cmdline_parse_u64 reads
 * them (decimal or 0x hex): how many numbers it holds, in num[0] and num[1]; 0 when the key is
 * absent, -1 when its value is anything else (a clear error beats a guess at what was meant).
 */
static int arg_pair(const char *cmd, const char *key, char sep, uint64_t num[2])
{
	char val[sizeof(((struct vireo_taskinfo *)0)->cmdline)]; /* any value fits */
	if (!cmdline_get(cmd, key, val, sizeof(val))) {
		return 0;
	}
	size_t n = cmdline_parse_u64(val, &num[0]);
	if (n && !val[n]) {
		return 1;
	}
	size_t m = n && val[n] == sep ? cmdline_parse_u64(val + n + 1, &num[1]) : 0;
	return m && !val[n + 1 + m] ? 2 : -1;
}

static int give_io(struct task *t, const char *cmd, struct vireo_taskinfo *info)
{
	uint64_t ports[2], irq[2];
	int nports = arg_pair(cmd, "ports", ':', ports), nirq = arg_pair(cmd, "irq", ',', irq);
	info->irq_gsi = -1;
	info->irq_gsi2 = -1;
	if (nports == -1 || nports == 1 || nirq == -1) {
		printf("roottask: %s: write ports=BASE:COUNT and irq=N or irq=N,M (numbers, 0x for "
		       "hex)\n",
		       t->name);
		return -1;
	}
	if (nports == 2) {
		uint64_t base = ports[0], count = ports[1];
		unsigned order = 0;
		while (order < 16 && (1ull << order) < count) {
			order++;
		}
		count = 1ull << order;
		if (base > 0xffff || base + count > 0x10000 || (base & (count - 1)) ||
		    sys_delegate(t->pd, vireo_crd(CRD_IO, base, order, IO_RW), base, 0)) {
			printf("roottask: %s: cannot give ports %#lx:%lu\n", t->name,
			       (unsigned long)base, (unsigned long)count);
			return -1;
		}
		info->io_port_base = (uint32_t)base;
		info->io_port_count = (uint32_t)count;
	}
	if (nirq > 0) {
		unsigned gsi = irq[0] < 256 ? (unsigned)irq[0] : 256;
		unsigned gsi2 = nirq == 2 ? (irq[1] < 256 ? (unsigned)irq[1] : 256) : 0;
		/* Granted, not mapped: the task holds the only capability and may destroy it. */
		uint64_t sm = sel_alloc(1);
		if (sys_create_sm(sm, SEL_SELF_PD, 0) || sys_assign_gsi(sm, gsi, 0) ||
		    (nirq == 2 && sys_assign_gsi(sm, gsi2, 0)) ||
		    sys_delegate(t->pd, vireo_crd(CRD_OBJ, sm, 0, RIGHT_SM_DOWN | RIGHT_SM_UP),
				 SEL_TASK_IRQ_SM, VIREO_DELEGATE_GRANT)) {
			printf("roottask: %s: cannot give interrupt %u\n", t->name, gsi);
			return -1;
		}
		info->irq_gsi = (int32_t)gsi;
		info->irq_gsi2 = nirq == 2 ? (int32_t)gsi2 : -1;
	}
	return 0;
}

/* The task's capabilities to itself, derived from the roottask's (so revoking those ends it). */
static int give_cap(struct task *t, uint64_t sel, uint64_t dst)
{
	return sys_delegate(t->pd, vireo_crd(CRD_OBJ, sel, 0, RIGHTS_ALL), dst, 0) == VIREO_OK ? 0
											       : -1;
}

/* The heap: heap=MiB on the command line asks for more than the default (in large blocks). */
static int give_heap(struct task *t, const char *cmd, uint64_t *size)
{
	uint64_t mib = 0;
	if (cmdline_get_u64(cmd, "heap", &mib) && mib > 0) {
		if (mib > (1u << 20)) {
			printf("roottask: %s: heap=%lu MiB is more than any machine here has\n",
			       t->name, (unsigned long)mib);
			return -1;
		}
		*size = give_large_heap(t, mib);
		return *size ? 0 : -1;
	}
	*size = TASK_HEAP_SIZE;
	return give_pages(t, TASK_HEAP_VA, TASK_HEAP_SIZE / PAGE, MEM_R | MEM_W | MEM_X, NULL);
}

static int build(struct task *t, const struct vireo_bootinfo *bi, const void *img, uint64_t len,
		 const char *cmd)
{
	struct elf_image elf;
	uint64_t info_page, pt, heap_size;
	if (elf_parse(img, len, 0x00007ffffffff000ull, &elf) != VIREO_OK) {
		printf("roottask: %s is not a loadable ELF64 x86-64 executable\n", t->name);
		return -1;
	}
	/* A task may not schedule anything above the priority it runs at (nor above us). */
	if (sys_create_pd_prio(t->pd, SEL_SELF_PD, TASK_QUOTA, TASK_PRIO) != VIREO_OK) {
		return -1;
	}
	for (size_t i = 0; i < elf.nseg; i++) {
		if (load_segment(t, img, &elf.seg[i])) {
			return -1;
		}
	}
	if (give_pages(t, TASK_STACK_TOP - TASK_STACK_SIZE, TASK_STACK_SIZE / PAGE, MEM_R | MEM_W,
		       NULL) ||
	    give_heap(t, cmd, &heap_size) || give_pages(t, TASK_INFO_VA, 1, MEM_R, &info_page)) {
		return -1;
	}
	struct vireo_taskinfo *info = (struct vireo_taskinfo *)info_page;
	t->info = info;
	*info = (struct vireo_taskinfo){ .magic = TASKINFO_MAGIC,
					 .cpus_online = bi->cpus_online,
					 .task_id = t->id,
					 .heap_size = heap_size,
					 .tsc_khz = (uint32_t)bi->tsc_khz,
					 .demand_size = TASK_DEMAND_SIZE,
					 .quota = TASK_QUOTA };
	memcpy(info->cmdline, cmd, strnlen(cmd, sizeof(info->cmdline) - 1));
	if (give_io(t, cmd, info) || pager_portal(t->id, t->pd, TASK_DEMAND_SIZE, &pt) ||
	    sys_delegate(t->pd, vireo_crd(CRD_OBJ, pt, 0, RIGHT_PT_CALL),
			 TASK_EVT_BASE + EVT_PAGE_FAULT, 0)) {
		return -1;
	}
	struct vireo_ec_create a = { .ip = elf.entry,
				     .sp = TASK_STACK_TOP - 8,
				     .utcb = TASK_UTCB_VA,
				     .evt_base = TASK_EVT_BASE,
				     .arg = TASK_INFO_VA,
				     .cpu = 0 };
	if (sys_create_ec(t->ec, t->pd, &a) != VIREO_OK || give_cap(t, t->pd, SEL_SELF_PD) ||
	    give_cap(t, t->ec, SEL_SELF_EC)) {
		return -1;
	}
	return 0;
}

static int give_module(struct task *t, const struct vireo_bootinfo *bi, unsigned index);

int task_start(const struct vireo_bootinfo *bi, unsigned index, unsigned task_id)
{
	const struct vireo_module *m = &bi->modules[index];
	static char names[VIREO_BOOTINFO_MAX_MODULES][16];
	char *name = names[index];
	size_t n = 0;
	while (m->cmdline[n] && m->cmdline[n] != ' ' && n < 15) {
		name[n] = m->cmdline[n];
		n++;
	}
	struct task t = { .pd = sel_alloc(3), .id = task_id, .name = name };
	t.ec = t.pd + 1;
	t.sc = t.pd + 2;
	const void *img = (const void *)(VIREO_ROOT_PHYS_WINDOW + m->phys);
	if (build(&t, bi, img, m->size, m->cmdline)) {
		printf("roottask: could not start %s\n", name);
		sys_revoke(vireo_crd(CRD_OBJ, t.pd, 0, 0), VIREO_REVOKE_SELF);
		return -1;
	}
	/* Data modules that follow the program in the boot list are its own (a VMM's guest image). */
	for (unsigned j = index + 1; j < bi->nmodules && !module_is_elf(bi, j); j++) {
		if (give_module(&t, bi, j)) {
			printf("roottask: could not give %s its data module %u\n", name, j);
		}
	}
	/* The task runs below the roottask's priority, so its SC capability arrives before it runs. */
	if (sys_create_sc(t.sc, SEL_SELF_PD, t.ec, TASK_PRIO, TASK_QUANTUM_US) != VIREO_OK ||
	    give_cap(&t, t.sc, SEL_SELF_SC)) {
		printf("roottask: no scheduling context for %s\n", name);
		return -1;
	}
	printf("roottask: started %s as task %u\n", name, task_id);
	return 0;
}

bool module_is_elf(const struct vireo_bootinfo *bi, unsigned index)
{
	const unsigned char *p =
		(const unsigned char *)(VIREO_ROOT_PHYS_WINDOW + bi->modules[index].phys);
	return bi->modules[index].size >= 4 && p[0] == 0x7f && p[1] == 'E' && p[2] == 'L' &&
	       p[3] == 'F';
}

/* Where a delegated module goes: the next free address with the same offset in a 2 MiB page as
 * its physical address, so that it can be passed on in 2 MiB flexpages. */
#define MODULE_ALIGN (2ull << 20)

/* The largest flexpage order that starts at both page numbers and fits in `left` pages. */
static unsigned flex_order(uint64_t src, uint64_t dst, uint64_t left)
{
	unsigned order = 0;
	while (order < 30 && !(src & ((2ull << order) - 1)) && !(dst & ((2ull << order) - 1)) &&
	       (2ull << order) <= left) {
		order++;
	}
	return order;
}

/* A module the kernel holds as read-only capabilities, mapped in the task without a copy. */
static int delegate_module(struct task *t, const struct vireo_module *m, uint64_t va,
			   unsigned *calls)
{
	uint64_t src = (VIREO_ROOT_PHYS_WINDOW + m->phys) >> 12, dst = va >> 12;
	uint64_t pages = (m->size + PAGE - 1) / PAGE;
	for (uint64_t off = 0; off < pages; (*calls)++) {
		unsigned order = flex_order(src + off, dst + off, pages - off);
		if (sys_delegate(t->pd, vireo_crd(CRD_MEM, src + off, order, MEM_R), dst + off,
				 0)) {
			return -1;
		}
		off += 1ull << order;
	}
	return 0;
}

/* A module that shares a page with another one: copied page by page. */
static int copy_module(struct task *t, const struct vireo_module *m, uint64_t va)
{
	const uint8_t *src = (const uint8_t *)(VIREO_ROOT_PHYS_WINDOW + m->phys);
	for (uint64_t off = 0; off < m->size; off += PAGE) {
		uint64_t page = mem_alloc(0);
		if (!page) {
			return -1;
		}
		memcpy((void *)page, src + off, m->size - off < PAGE ? m->size - off : PAGE);
		if (sys_delegate(t->pd, vireo_crd(CRD_MEM, page >> 12, 0, MEM_R), (va + off) >> 12,
				 0)) {
			return -1;
		}
	}
	return 0;
}

static int give_module(struct task *t, const struct vireo_bootinfo *bi, unsigned index)
{
	const struct vireo_module *m = &bi->modules[index];
	struct vireo_taskinfo *info = t->info;
	if (info->nmodules == TASK_MAX_MODULES) {
		printf("roottask: data module \"%s\" has no task to go to\n", m->cmdline);
		return -1;
	}
	uint64_t va = TASK_MODULE_VA;
	for (unsigned i = 0; i < info->nmodules; i++) {
		va = info->modules[i].va + ((info->modules[i].size + PAGE - 1) & ~(PAGE - 1)) +
		     PAGE;
	}
	unsigned calls = 0;
	bool caps = bi->version >= 3 && (bi->module_caps >> index & 1);
	if (caps) {
		uint64_t phase = m->phys & (MODULE_ALIGN - 1);
		va = ((va - phase + MODULE_ALIGN - 1) & ~(MODULE_ALIGN - 1)) + phase;
	}
	if (caps ? delegate_module(t, m, va, &calls) : copy_module(t, m, va)) {
		return -1;
	}
	unsigned n = info->nmodules;
	info->modules[n].va = va;
	info->modules[n].size = m->size;
	memcpy(info->modules[n].cmdline, m->cmdline,
	       strnlen(m->cmdline, sizeof(info->modules[n].cmdline) - 1));
	info->nmodules = n + 1;
	if (caps) {
		printf("roottask: gave %s the data module \"%s\" (%lu bytes, mapped in %u "
		       "delegations)\n",
		       t->name, m->cmdline, (unsigned long)m->size, calls);
	} else {
		printf("roottask: gave %s the data module \"%s\" (%lu bytes, copied)\n", t->name,
		       m->cmdline, (unsigned long)m->size);
	}
	return 0;
}
