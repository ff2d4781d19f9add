/* SPDX-License-Identifier: MIT */
/*
 * FPU state switching (Intel SDM vol. 1 13.4-13.8 XSAVE, vol. 3A 13.4 / 2.5 CR0.TS, CR4.OSXSAVE;
 * AMD APM vol. 2 11.5). Each CPU remembers whose state its registers hold (the owner); ECs never
 * change CPU, so an owner is always local.
 */
#include "fpu.h"

#include "assert.h"
#include "ec.h"
#include "kstring.h"
#include "pd.h"
#include "printk.h"
#include "quota.h"
#include "slab.h"
#include "x86/cpu.h"
#include "x86/percpu.h"

#define MXCSR_DEFAULT 0x1f80

enum fpu_mode fpu_mode_now;
static bool use_xsave;
static uint64_t xcr0;
static size_t state_size = 512;
static struct slab_cache fpu_cache;
static uint8_t init_state[4096] __aligned(64);
static uint64_t switch_count;

static void save(void *area)
{
	if (use_xsave) {
		__asm__ volatile("xsave64 (%0)" ::"r"(area), "a"((uint32_t)xcr0),
				 "d"((uint32_t)(xcr0 >> 32))
				 : "memory");
	} else {
		__asm__ volatile("fxsave64 (%0)" ::"r"(area) : "memory");
	}
}

static void restore(const void *area)
{
	if (use_xsave) {
		__asm__ volatile("xrstor64 (%0)" ::"r"(area), "a"((uint32_t)xcr0),
				 "d"((uint32_t)(xcr0 >> 32))
				 : "memory");
	} else {
		__asm__ volatile("fxrstor64 (%0)" ::"r"(area) : "memory");
	}
}

void fpu_cpu_init(void)
{
	write_cr0((read_cr0() & ~(CR0_EM | CR0_TS)) | CR0_MP | CR0_NE);
	write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT | (use_xsave ? CR4_OSXSAVE : 0));
	if (use_xsave) {
		write_xcr0(xcr0);
	}
	this_cpu()->fpu_owner = NULL;
}

void fpu_init(enum fpu_mode m)
{
	fpu_mode_now = m;
	struct cpuid_regs r = cpuid(1, 0);
	use_xsave = r.ecx & (1u << 26);
	if (use_xsave) {
		struct cpuid_regs d = cpuid(0xd, 0);
		xcr0 = ((uint64_t)d.edx << 32 | d.eax) & (XCR0_X87 | XCR0_SSE | XCR0_AVX);
	}
	fpu_cpu_init();
	if (use_xsave) {
		state_size = cpuid(0xd, 0).ebx; /* for the features enabled in XCR0 */
	}
	CHECK(state_size <= sizeof(init_state));
	/* The state every EC starts from: after FNINIT, with the default MXCSR. */
	uint32_t mxcsr = MXCSR_DEFAULT;
	__asm__ volatile("fninit; ldmxcsr %0" ::"m"(mxcsr));
	memset(init_state, 0, sizeof(init_state));
	save(init_state);
	slab_cache_init(&fpu_cache, "fpu", state_size, 64);
	pr_info("fpu: %s switching with %s, %zu-byte states\n",
		fpu_mode_now == FPU_LAZY ? "lazy" : "eager", use_xsave ? "XSAVE" : "FXSAVE",
		state_size);
}

void *fpu_state_alloc(struct quota *q)
{
	void *s = quota_alloc(q, &fpu_cache);
	if (s) {
		memcpy(s, init_state, state_size);
	}
	return s;
}

void fpu_area_free(struct quota *q, void *area)
{
	for (unsigned c = 0; c < MAX_CPUS; c++) {
		if (percpu_area[c].fpu_owner == area) {
			percpu_area[c].fpu_owner = NULL;
		}
	}
	quota_free(q, &fpu_cache, area);
}

void fpu_state_free(struct ec *ec)
{
	if (ec->fpu) {
		fpu_area_free(pd_quota(ec->pd), ec->fpu);
		ec->fpu = NULL;
	}
}

/* Make this CPU's registers hold the state in `area` (CR0.TS must be clear). */
static void take(void *area)
{
	struct percpu *cpu = this_cpu();
	if (cpu->fpu_owner == area) {
		return;
	}
	if (cpu->fpu_owner) {
		save((void *)cpu->fpu_owner);
	}
	restore(area);
	cpu->fpu_owner = area;
	switch_count++;
}

void fpu_load_area_take(void *area)
{
	take(area);
}

void fpu_switch(struct ec *ec)
{
	if (fpu_mode_now == FPU_EAGER) {
		take(ec->fpu);
		return;
	}
	/* Lazy: trap the first FPU instruction of anyone but the owner. */
	uint64_t cr0 = read_cr0();
	bool want_ts = this_cpu()->fpu_owner != ec->fpu;
	if (want_ts != !!(cr0 & CR0_TS)) {
		write_cr0(want_ts ? cr0 | CR0_TS : cr0 & ~CR0_TS);
	}
}

void fpu_switch_from_take(void *ec_fpu)
{
	take(ec_fpu);
}

bool fpu_nm(struct ec *ec)
{
	if (fpu_mode_now != FPU_LAZY || !(read_cr0() & CR0_TS)) {
		return false;
	}
	__asm__ volatile("clts");
	take(ec->fpu);
	return true;
}

enum fpu_mode fpu_mode(void)
{
	return fpu_mode_now;
}

uint64_t fpu_xcr0(void)
{
	return use_xsave ? xcr0 : 0;
}

size_t fpu_state_size(void)
{
	return state_size;
}

uint64_t fpu_switches(void)
{
	return switch_count;
}
