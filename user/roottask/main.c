/* SPDX-License-Identifier: MIT */
/*
 * The roottask: the first user program. It owns all RAM and I/O ports the kernel hands out, starts
 * every other boot module as a task, and pages their demand regions.
 */
#include "roottask.h"

#include "cmdline.h"

static const char *own_cmdline(const struct vireo_bootinfo *bi)
{
	if (bi->magic != VIREO_BOOTINFO_MAGIC || bi->self_module >= bi->nmodules) {
		return "";
	}
	return bi->modules[bi->self_module].cmdline;
}

static unsigned current_cpl(void)
{
	uint16_t cs;
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	return cs & 3;
}

/*
 * The boot-info page is kernel-owned memory of this PD: mapping a RAM page over it must be refused
 * and must leave the page as it was (docs/ABI.md, SYS_DELEGATE).
 */
static void check_kernel_page_kept(const struct vireo_bootinfo *bi)
{
	uint64_t ram = bi->nmem ? bi->mem[0].va >> 12 : 0;
	enum vireo_status st = sys_delegate(SEL_SELF_PD, vireo_crd(CRD_MEM, ram, 0, MEM_R | MEM_W),
					    (uintptr_t)bi >> 12, 0);
	bool kept = bi->magic == VIREO_BOOTINFO_MAGIC;
	printf("roottask: delegation onto the boot-info page -> status %d (%s)\n", st,
	       st == VIREO_BUSY && kept ? "refused" : "UNEXPECTED");
}

static void self_checks(const struct vireo_bootinfo *bi, const char *cmd)
{
	printf("roottask: hello from ring %u\n", current_cpl());
	printf("roottask: %u CPUs online, %lu MiB free, %u boot modules, command line \"%s\"\n",
	       bi->cpus_online, (unsigned long)(bi->mem_free_bytes >> 20), bi->nmodules, cmd);
	/* A bad pointer must come back as an error, not crash anything. */
	enum vireo_status st = sys_debug_write((const char *)0xffffffff80200000ull, 16);
	printf("roottask: debug_write from a kernel address -> status %d (%s)\n", st,
	       st == VIREO_BAD_PAR ? "rejected" : "UNEXPECTED");
	smoke_ipc((struct vireo_utcb *)bi->utcb);
	check_kernel_page_kept(bi);
	if (cmdline_has(cmd, "--fault")) {
		printf("roottask: writing to address 0 on purpose\n");
		*(volatile int *)0 = 42;
		printf("roottask: UNEXPECTED: survived a write to address 0\n");
	}
}

int main(uintptr_t arg)
{
	const struct vireo_bootinfo *bi = (const struct vireo_bootinfo *)arg;
	const char *cmd = own_cmdline(bi);
	self_checks(bi, cmd);
	mem_init(bi);
	printf("roottask: %lu MiB of RAM to hand out\n", (unsigned long)(mem_free_bytes() >> 20));
	if (pager_init(bi) == 0) {
		for (unsigned i = 0; i < bi->nmodules; i++) {
			if (i == bi->self_module) {
				continue;
			}
			if (module_is_elf(bi, i)) {
				task_start(bi, i, i);
			}
		}
	}
	printf("roottask: done\n");
	/* The main EC ends; the pager goes on serving portal calls on the tasks' time. */
	return 0;
}
