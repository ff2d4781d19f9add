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
#define DEBUG_CHECK(cond)                                                                          \
	do {                                                                                       \
		if (kernel_debug) {                                                                \
			CHECK(cond);                                                               \
		}                                                                                  \
	} while (0)

#ifdef NDEBUG
#define assert(cond) ((void)0)
#else
#define assert(cond) CHECK(cond)
#endif

#endif
