/* SPDX-License-Identifier: MIT */
/*
 * The platform interface of minios: everything the portable core (core.c) needs from the layer
 * it runs on. Two layers implement it: hw/ (a bare x86_64 kernel in a hardware VM under the VMM)
 * and pv/ (a Vireo vCPU EC whose processes are Vireo tasks in virtual user mode,
 * docs/architecture.md#virtual-user-mode). The core never knows which.
 */
#ifndef MINIOS_PLAT_H
#define MINIOS_PLAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A process's user registers, saved at every event and loaded at every run. */
struct uctx {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rsp, rflags;
};

enum plat_event_kind {
	PEV_SYSCALL,   /* SYSCALL: rip is after it */
	PEV_PAGEFAULT, /* addr = fault address, error = #PF error code */
	PEV_TIMER,     /* the periodic timer */
	PEV_FAULT,     /* any other exception: vector, error */
};

struct plat_event {
	enum plat_event_kind kind;
	unsigned vector;
	uint64_t error, addr;
};

/* A process's address space; the layer defines it. */
struct plat_as;

/* Physical memory: frames are small handles (0 = none); plat_frame_ptr gives the core access. */
uint64_t plat_frame_alloc(void);
void plat_frame_free(uint64_t frame);
void *plat_frame_ptr(uint64_t frame);

struct plat_as *plat_as_create(void);
void plat_as_destroy(struct plat_as *as);
/* Maps one 4 KiB frame at a user address; false when out of memory. */
bool plat_map(struct plat_as *as, uint64_t va, uint64_t frame, bool writable);
void plat_unmap(struct plat_as *as, uint64_t va, uint64_t frame);

/* Runs ctx in as (user mode, interrupts on) until the next event; ctx is then the saved state. */
void plat_run(struct plat_as *as, struct uctx *ctx, struct plat_event *ev);

void plat_putc(char c);
/* Entries into the layer below so far (Vireo kernel entries / VM exits), 0 if it cannot tell. */
uint64_t plat_entries(void);
const char *plat_name(void);
__attribute__((noreturn)) void plat_halt(bool passed);

/* The process image, linked into the layer's binary (minios-user.bin). */
extern const uint8_t minios_user_image[], minios_user_image_end[];

/* The core: the layer calls it once, after its own set-up. */
__attribute__((noreturn)) void core_main(void);

#endif
