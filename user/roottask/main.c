/* SPDX-License-Identifier: MIT */
/* The roottask: the first user program. For now it proves ring 3 works and exercises the fault path. */
#include <vireo/bootinfo.h>

#include "vireo.h"

static const char *own_cmdline(const struct vireo_bootinfo *bi)
{
	if (bi->magic != VIREO_BOOTINFO_MAGIC || bi->self_module >= bi->nmodules) {
		return "";
	}
	return bi->modules[bi->self_module].cmdline;
}

static int has_word(const char *s, const char *w)
{
	size_t wl = strlen(w);
	for (const char *p = s; *p;) {
		while (*p == ' ') {
			p++;
		}
		const char *e = p;
		while (*e && *e != ' ') {
			e++;
		}
		if ((size_t)(e - p) == wl && !strncmp(p, w, wl)) {
			return 1;
		}
		p = e;
	}
	return 0;
}

static unsigned current_cpl(void)
{
	uint16_t cs;
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	return cs & 3;
}

int main(uintptr_t arg)
{
	const struct vireo_bootinfo *bi = (const struct vireo_bootinfo *)arg;
	const char *cmd = own_cmdline(bi);
	printf("roottask: hello from ring %u\n", current_cpl());
	printf("roottask: %u CPUs online, %lu MiB free, %u boot modules, command line \"%s\"\n",
	       bi->cpus_online, (unsigned long)(bi->mem_free_bytes >> 20), bi->nmodules, cmd);

	/* A bad pointer must come back as an error, not crash anything. */
	enum vireo_status st = sys_debug_write((const char *)0xffffffff80200000ull, 16);
	printf("roottask: debug_write from a kernel address -> status %d (%s)\n", st,
	       st == VIREO_BAD_PAR ? "rejected" : "UNEXPECTED");

	if (has_word(cmd, "--fault")) {
		printf("roottask: writing to address 0 on purpose\n");
		*(volatile int *)0 = 42;
		printf("roottask: UNEXPECTED: survived a write to address 0\n");
	}
	printf("roottask: done\n");
	return 0;
}
