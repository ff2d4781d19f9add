/* SPDX-License-Identifier: MIT */
/*
 * FPU/SSE/AVX state of ECs (docs/architecture.md#fpu): lazy switching saves a state only when
 * another EC touches the FPU (CR0.TS and #NM), eager switching on every change of EC; XSAVE where
 * the CPU has it, FXSAVE otherwise. The mode comes from the kernel command line (fpu=lazy|eager).
 */
#ifndef KERNEL_FPU_H
#define KERNEL_FPU_H

#include "assert.h"
#include "types.h"
#include "x86/cpu.h"
#include "x86/percpu.h"

struct ec;
struct quota;

enum fpu_mode { FPU_LAZY, FPU_EAGER };

/* Bootstrap CPU: pick XSAVE or FXSAVE, the mode, the size of a state; and the initial state. */
void fpu_init(enum fpu_mode mode);
/* Every CPU: enable the FPU, SSE and (with XSAVE) the supported XCR0 features. */
void fpu_cpu_init(void);
/* A fresh, initialised state charged to q, or NULL when out of memory or over quota. */
void *fpu_state_alloc(struct quota *q);
/* Free an EC's state (charged to its PD) / any area charged to q. */
void fpu_state_free(struct ec *ec);
void fpu_area_free(struct quota *q, void *area);
/* Load a state area (a guest's) into the registers now, saving the previous owner's. */
#ifdef HOST_TEST
void fpu_load_area(void *area);
#else
/* fpu_load_area for an area the registers do not hold yet. */
void fpu_load_area_take(void *area);
/* In line: the resume fast path loads the guest's state, nearly always still there, per entry. */
static inline __attribute__((always_inline)) void fpu_load_area(void *area)
{
	__asm__ volatile("clts");
	if (this_cpu_field(fpu_owner) != area) {
		fpu_load_area_take(area);
	}
}
#endif
/* On the way to user mode in `ec`. */
void fpu_switch(struct ec *ec);
/* The same, for an EC whose state is `ec_fpu`, when this CPU's registers are known to hold
 * `loaded`, put there by fpu_load_area(loaded) (so CR0.TS is clear) with no switch since: nothing
 * to ask the CPU. In line in the kernel: the resume fast path's return passes it. `lean`:
 * DEBUG_CHECK_UNLESS's. */
#ifdef HOST_TEST
void fpu_switch_from(void *ec_fpu, const void *loaded, bool lean);
#else
extern enum fpu_mode fpu_mode_now; /* fpu_init's */
void fpu_switch_from_take(void *ec_fpu);
static inline __attribute__((always_inline)) void fpu_switch_from(void *ec_fpu, const void *loaded,
								  bool lean)
{
	DEBUG_CHECK_UNLESS(lean, this_cpu_field(fpu_owner) == loaded && !(read_cr0() & CR0_TS));
	if (fpu_mode_now == FPU_EAGER) {
		fpu_switch_from_take(ec_fpu);
	} else if (loaded != ec_fpu) {
		write_cr0(read_cr0() | CR0_TS); /* lazy: the EC's first FPU instruction traps */
	}
}
#endif
/* #NM in user mode: returns true when lazy switching handled it. */
bool fpu_nm(struct ec *ec);
enum fpu_mode fpu_mode(void);
size_t fpu_state_size(void);
/* The XCR0 the kernel runs with (its XSAVE features); 0 without XSAVE. */
uint64_t fpu_xcr0(void);
/* Number of state saves + restores so far (for the benchmark). */
uint64_t fpu_switches(void);

#endif
