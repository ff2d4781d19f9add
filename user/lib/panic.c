/* SPDX-License-Identifier: MIT */
/* panic_at for kernel code shared with user programs (kernel/elf.c): report and end the EC. */
#include <stdarg.h>

#include "fmt.h"
#include "vireo.h"

__attribute__((noreturn, format(printf, 3, 4))) void panic_at(const char *file, int line,
							      const char *fmt, ...);

void panic_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	printf("PANIC (user) at %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	sys_ec_exit();
}
