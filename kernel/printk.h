/* SPDX-License-Identifier: MIT */
/* Kernel console output with log levels. "error" is for kernel bugs, never for guest or task misbehaviour. */
#ifndef KERNEL_PRINTK_H
#define KERNEL_PRINTK_H

#include "types.h"
#include <stdarg.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

__attribute__((format(printf, 2, 3))) void printk(enum log_level lvl, const char *fmt, ...);
void vprintk(enum log_level lvl, const char *fmt, va_list ap);
/* Raw bytes to the console, no prefix (used by the debug-write syscall). */
void console_write(const char *s, size_t len);
void console_set_level(enum log_level lvl);
/* Stop the other CPUs after a panic (x86: NMI IPI); a no-op before SMP is up. */
void panic_halt_others(void);

#define pr_err(...) printk(LOG_ERROR, __VA_ARGS__)
#define pr_warn(...) printk(LOG_WARN, __VA_ARGS__)
#define pr_info(...) printk(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) printk(LOG_DEBUG, __VA_ARGS__)

#endif
