/* SPDX-License-Identifier: MIT */
/* panic_at for the code in common/ (CHECK in common/check.h): report and end the EC. */
#include <stdarg.h>

#include "check.h"
#include "fmt.h"
#include "vireo.h"

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
