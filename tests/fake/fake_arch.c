/* SPDX-License-Identifier: MIT */
/* Fake architecture layer: phys_to_virt over a host buffer, panic as abort(), printk to stderr. */
#include "fake_arch.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "assert.h"
#include "printk.h"

static unsigned char *fake_ram;
static uint64_t fake_ram_size;

void fake_phys_init(uint64_t bytes)
{
	fake_phys_fini();
	fake_ram_size = ALIGN_UP(bytes, PAGE_SIZE);
	fake_ram = aligned_alloc(PAGE_SIZE, fake_ram_size);
	if (!fake_ram) {
		abort();
	}
	memset(fake_ram, 0, fake_ram_size);
}

void fake_phys_fini(void)
{
	free(fake_ram);
	fake_ram = NULL;
	fake_ram_size = 0;
}

uint64_t fake_phys_size(void)
{
	return fake_ram_size;
}

void *phys_to_virt(paddr_t pa)
{
	uint64_t a = pa_addr(pa);
	if (a < FAKE_PHYS_BASE || a - FAKE_PHYS_BASE >= fake_ram_size) {
		fprintf(stderr, "fake_arch: phys_to_virt(%#llx) outside fake RAM\n",
			(unsigned long long)a);
		abort();
	}
	return fake_ram + (a - FAKE_PHYS_BASE);
}

paddr_t virt_to_phys(const void *va)
{
	const unsigned char *p = va;
	if (p < fake_ram || p >= fake_ram + fake_ram_size) {
		fprintf(stderr, "fake_arch: virt_to_phys(%p) outside fake RAM\n", va);
		abort();
	}
	return pa_init(FAKE_PHYS_BASE + (uint64_t)(p - fake_ram));
}

void panic_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "PANIC at %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

void vprintk(enum log_level lvl, const char *fmt, va_list ap)
{
	if (getenv("VIREO_TEST_VERBOSE") || lvl <= LOG_WARN) {
		vfprintf(stderr, fmt, ap);
	}
}

void printk(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintk(lvl, fmt, ap);
	va_end(ap);
}

void console_write(const char *s, size_t len)
{
	fwrite(s, 1, len, stderr);
}
