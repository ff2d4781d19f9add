/* SPDX-License-Identifier: MIT */
/*
 * CHECK(): an always-on assertion for code shared by the kernel and user programs. panic_at is
 * the kernel's panic (kernel/printk.c) in the kernel and user/lib/panic.c in a task.
 */
#ifndef COMMON_CHECK_H
#define COMMON_CHECK_H

__attribute__((noreturn, format(printf, 3, 4))) void panic_at(const char *file, int line,
							      const char *fmt, ...);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (__builtin_expect(!(cond), 0)) {                                                \
			panic_at(__FILE__, __LINE__, "CHECK failed: %s", #cond);                   \
		}                                                                                  \
	} while (0)

#endif
