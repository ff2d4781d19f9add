/* SPDX-License-Identifier: MIT */
/* System call numbers and the register convention of the SYSCALL entry (docs/ABI.md). */
#ifndef VIREO_SYSCALL_H
#define VIREO_SYSCALL_H

/*
 * Convention: RAX = syscall number on entry and status on return,
 * arguments in RDI, RSI, RDX, R10, R8, R9 (R10 instead of RCX, which
 * SYSCALL overwrites). Extra results come back in RDI, RSI, RDX.
 * RCX and R11 are clobbered; all other registers are preserved.
 */
enum vireo_syscall {
	SYS_DEBUG_WRITE = 0, /* (const char *buf, size_t len): print to the kernel console */
	SYS_EC_EXIT = 1,     /* (): end the calling EC; never returns */
	SYS_COUNT
};

/* Largest buffer SYS_DEBUG_WRITE accepts in one call. */
#define VIREO_DEBUG_WRITE_MAX 4096

#endif
