/* SPDX-License-Identifier: MIT */
/* The user library: system call bindings and a tiny libc for Vireo tasks. */
#ifndef USER_VIREO_H
#define USER_VIREO_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <vireo/status.h>
#include <vireo/syscall.h>

#include "kstring.h"

/* Raw SYSCALL with up to five arguments (register convention in include/vireo/syscall.h). */
static inline long vireo_syscall5(long nr, long a0, long a1, long a2, long a3, long a4)
{
	long ret;
	register long r10 __asm__("r10") = a3;
	register long r8 __asm__("r8") = a4;
	__asm__ volatile("syscall"
			 : "=a"(ret), "+D"(a0), "+S"(a1), "+d"(a2), "+r"(r10), "+r"(r8)
			 : "a"(nr)
			 : "rcx", "r11", "r9", "memory");
	return ret;
}

static inline enum vireo_status sys_debug_write(const char *buf, size_t len)
{
	return (enum vireo_status)vireo_syscall5(SYS_DEBUG_WRITE, (long)buf, (long)len, 0, 0, 0);
}

__attribute__((noreturn)) static inline void sys_ec_exit(void)
{
	vireo_syscall5(SYS_EC_EXIT, 0, 0, 0, 0, 0);
	__builtin_unreachable();
}

/* The program's main; `arg` is what the kernel or the starter passed in RDI. */
int main(uintptr_t arg);

__attribute__((format(printf, 1, 2))) int printf(const char *fmt, ...);
int vprintf(const char *fmt, va_list ap);
int puts(const char *s);
__attribute__((noreturn)) void exit(int code);

#endif
