/* SPDX-License-Identifier: MIT */
/*
 * minios system-call ABI, shared by the core and its processes: SYSCALL with the number in RAX,
 * arguments in RDI, RSI, RDX, the result in RAX (negative: an error). RCX and R11 are clobbered.
 */
#ifndef MINIOS_ABI_H
#define MINIOS_ABI_H

enum minios_sys {
	MSYS_GETPID = 0, /* -> pid (the null call) */
	MSYS_WRITE = 1,	 /* RDI = buffer, RSI = length (<= MINIOS_WRITE_MAX) -> length */
	MSYS_YIELD = 2,	 /* -> 0 */
	MSYS_EXIT = 3,	 /* RDI = status; does not return */
	MSYS_MMAP = 4,	 /* RSI = length: anonymous memory, filled on first touch -> address */
	MSYS_MUNMAP = 5, /* RDI = address, RSI = length -> 0 */
	MSYS_SPAWN = 6,	 /* RDI = image, RSI = argument -> pid */
	MSYS_WAIT = 7,	 /* RDI = pid: blocks until it exited -> its status */
	MSYS_TICKS = 8,	 /* -> timer interrupts delivered to processes so far */
	MSYS_ENTRIES =
		9, /* -> entries into the layer below (Vireo kernel or VMM) so far, 0 if unknown */
	MSYS_COUNT
};

#define MINIOS_EBADSYS (-1)
#define MINIOS_EINVAL (-2)
#define MINIOS_ENOMEM (-3)
#define MINIOS_ESRCH (-4)

#define MINIOS_WRITE_MAX 256

/* The process address space (the same on both platforms). */
#define MINIOS_IMAGE_VA 0x40000000ull /* the image, copied at spawn */
#define MINIOS_IMAGE_MAX (64ull << 10)
#define MINIOS_ANON_VA 0x50000000ull /* anonymous memory, MSYS_MMAP */
#define MINIOS_ANON_SIZE (16ull << 20)
#define MINIOS_STACK_VA 0x60000000ull /* the stack: MINIOS_STACK_PAGES pages below the top */
#define MINIOS_STACK_PAGES 2
#define MINIOS_STACK_TOP (MINIOS_STACK_VA + MINIOS_STACK_PAGES * 4096ull)

/* Images: one user binary, started with RDI = workload (enum minios_work), RSI = argument. */
enum minios_work {
	WORK_NULL,    /* null system call */
	WORK_FAULT,   /* page fault of a fresh anonymous page */
	WORK_SWITCH,  /* process switch: two processes yielding to each other (RSI = 0 or 1) */
	WORK_SPAWN,   /* spawn-and-exit of a child touching SPAWN_PAGES pages */
	WORK_TIMER,   /* timer-interrupt delivery */
	WORK_COMPUTE, /* a compute loop with no traps */
	WORK_CHILD,   /* the child of WORK_SPAWN: touches RSI pages and exits */
	WORK_COUNT
};

#endif
