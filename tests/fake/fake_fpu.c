/* SPDX-License-Identifier: MIT */
/* Fake FPU for host unit tests: states come from a fixed pool, "loading" one records the owner. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "ec.h"
#include "fake_cpu.h"
#include "fpu.h"
#include "pd.h"
#include "quota.h"

#define FAKE_FPU_STATE 512
#define FAKE_FPU_STATES 512

/* A pool, not the heap: a test that leaves ECs alive at its end is no leak to the sanitizer. */
static unsigned char pool[FAKE_FPU_STATES][FAKE_FPU_STATE] __aligned(64);
static bool in_use[FAKE_FPU_STATES];

static uint64_t switches;
static int fail_after = -1;

void fake_fpu_fail_after(int n)
{
	fail_after = n;
}

void fpu_init(enum fpu_mode mode)
{
	(void)mode;
}

void fpu_cpu_init(void)
{
}

/* Charged like the real one: FAKE_FPU_STATE bytes to q. */
void *fpu_state_alloc(struct quota *q)
{
	if (fail_after == 0) {
		return NULL;
	}
	if (fail_after > 0) {
		fail_after--;
	}
	if (quota_charge(q, FAKE_FPU_STATE) != VIREO_OK) {
		return NULL;
	}
	for (unsigned i = 0; i < FAKE_FPU_STATES; i++) {
		if (!in_use[i]) {
			in_use[i] = true;
			memset(pool[i], 0, FAKE_FPU_STATE);
			return pool[i];
		}
	}
	quota_refund(q, FAKE_FPU_STATE);
	return NULL;
}

void fpu_area_free(struct quota *q, void *area)
{
	for (unsigned c = 0; c < MAX_CPUS; c++) {
		if (percpu_area[c].fpu_owner == area) {
			percpu_area[c].fpu_owner = NULL;
		}
	}
	unsigned char *p = area;
	size_t i = (size_t)(p - &pool[0][0]) / FAKE_FPU_STATE;
	if (p < &pool[0][0] || i >= FAKE_FPU_STATES || p != pool[i] || !in_use[i]) {
		fprintf(stderr, "fake_fpu: bad free of %p\n", area);
		abort();
	}
	in_use[i] = false;
	quota_refund(q, FAKE_FPU_STATE);
}

void fpu_state_free(struct ec *ec)
{
	if (ec->fpu) {
		fpu_area_free(pd_quota(ec->pd), ec->fpu);
		ec->fpu = NULL;
	}
}

static void take(const void *area)
{
	if (this_cpu()->fpu_owner != area) {
		this_cpu()->fpu_owner = area;
		switches++;
	}
}

void fpu_load_area(void *area)
{
	take(area);
}

void fpu_switch(struct ec *ec)
{
	take(ec->fpu);
}

/* The kernel's claim that `loaded` is in the registers is checked here, lean or not. */
void fpu_switch_from(void *ec_fpu, const void *loaded, bool lean)
{
	(void)lean;
	if (this_cpu()->fpu_owner != loaded) {
		fprintf(stderr, "fake_fpu: fpu_switch_from(%p) with %p loaded\n", loaded,
			this_cpu()->fpu_owner);
		abort();
	}
	take(ec_fpu);
}

bool fpu_nm(struct ec *ec)
{
	(void)ec;
	return false;
}

enum fpu_mode fpu_mode(void)
{
	return FPU_EAGER;
}

size_t fpu_state_size(void)
{
	return FAKE_FPU_STATE;
}

uint64_t fpu_switches(void)
{
	return switches;
}

/* The fake host enables x87 and SSE state, as an FXSAVE-only CPU would report. */
uint64_t fpu_xcr0(void)
{
	return 3;
}
