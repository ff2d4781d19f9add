/* SPDX-License-Identifier: MIT */
/* The fuzzer's shared pieces: the random source, the selectors of its "world", the actions. */
#ifndef FUZZ_H
#define FUZZ_H

#include "taskinfo.h"
#include "vireo.h"

/* xorshift64*: every choice comes from here, so a run is reproducible from its seed. Code that
 * runs in other ECs (portal and exception handlers) draws from it too, but only while the main
 * EC waits for them, so the order of draws stays the same. */
uint64_t fz_rnd(void);
uint64_t fz_pick(uint64_t n);
extern uint64_t fz_rng;
extern bool fz_verbose;

#define FZ_SEL_LO 128 /* random system calls play with 128..191 */
#define FZ_SEL_SPAN 64
#define FZ_LOW_PAGES 1024 /* pages 1..1023: below the program image at 4 MiB */

/* The world: objects the IPC, exception and vCPU actions use, in the fuzzer's space. */
#define W_PD 200   /* child PD that sees the fuzzer's program image */
#define W_DONE 201 /* semaphore: a round ended */
#define W_GO 202   /* semaphore: the vCPU thread starts a round */
#define W_VM 203   /* VM PD */
#define W_Q 204	   /* vCPU EC */
#define W_QSC 205
#define W_F 206 /* the faulting EC of the current exception round */
#define W_FSC 207
#define W_H 208	  /* handler ECs 208..215 (even: in the child PD, odd: in the fuzzer's) */
#define W_PT 216  /* portals to them 216..223 */
#define W_XPT 256 /* exception portals 256..288 (copies go to the child's event block) */
#define W_NH 8

/* In the child PD's space. */
#define C_EVT 2048  /* event block of the faulting ECs */
#define C_DONE 2100 /* W_DONE */

/* Random system calls of every kind (main.c). */
void fz_syscall(void);
uint64_t fz_rnd_sel(void);
uint64_t fz_rnd_crd(void);

/* The world (world.c): set up once, then random portal calls and exception rounds. */
void world_init(void);
void world_call(void);
void world_exception(void);
/* Random UTCB contents: counts in and out of range, items, receive windows. */
void world_random_utcb(struct vireo_utcb *u, bool child);

/* vCPU resumes with random guest state (vm.c); false if there is no hardware virtualization. */
bool vm_init(void);
extern bool fz_vm_tame; /* "tamevm": no guest state that starts a #DB/#AC loop */
void vm_round(void);
/* Wait for W_DONE (200 ms), then recall `ec` up to `recalls` times; false if it never came. */
bool world_wait_done(uint64_t ec, unsigned recalls);
void world_set_cpus(unsigned n);
extern unsigned fz_waits; /* rounds that needed a timeout */

/* Assembly bodies (asm.S). */
extern char fz_fault_ud2[], fz_fault_int3[], fz_fault_load[], fz_fault_hlt[], fz_fault_div[];
extern char fz_fault_exit[]; /* world.c: signal the round's end, exit */

#endif
