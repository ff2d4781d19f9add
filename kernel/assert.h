/* SPDX-License-Identifier: MIT */
/* panic(), CHECK() (always on) and assert() (debug builds): kernel bugs only, never guest or user errors. */
#ifndef KERNEL_ASSERT_H
#define KERNEL_ASSERT_H

#include "check.h"
#include "types.h"

#define panic(...) panic_at(__FILE__, __LINE__, __VA_ARGS__)

/* Set by the kernel command line word `debug`: turns on the checks below that cost time. */
extern bool kernel_debug;

/* A CHECK that runs only with `debug` on the command line. */
#define DEBUG_CHECK(cond) DEBUG_CHECK_UNLESS(false, cond)

/*
 * The same in a path the boot picks in two builds (the lean resume entry, syscall_resume_for):
 * `lean`, a constant there, is true in the build it picks only without `debug`, which then has
 * no test of kernel_debug at all.
 */
#define DEBUG_CHECK_UNLESS(lean, cond)                                                             \
	do {                                                                                       \
		if (!(lean) && kernel_debug) {                                                     \
			CHECK(cond);                                                               \
		}                                                                                  \
	} while (0)

#ifdef NDEBUG
#define assert(cond) ((void)0)
#else
#define assert(cond) CHECK(cond)
#endif

#endif
