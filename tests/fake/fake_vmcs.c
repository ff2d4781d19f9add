/* SPDX-License-Identifier: MIT */
/* The fake VMCS and VMX instructions (tests/fake/fake_vmcs.h). */
#include "fake_vmcs.h"
#include "fake_cpu.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELDS 0x8000
#define REGIONS 64
#define NONE (~0ull)

static uint64_t fields[FIELDS];
struct fake_vmx_log fake_vmx_log;
int fake_vmx_enter_result;
void (*fake_vmclear_hook)(uint64_t pa, unsigned cpu);

/* The active regions and where; the current VMCS of each CPU. */
static struct {
	uint64_t pa;
	unsigned cpu;
} active[REGIONS];
static unsigned n_active;
static uint64_t current[MAX_CPUS];

static int find_active(uint64_t pa)
{
	for (unsigned i = 0; i < n_active; i++) {
		if (active[i].pa == pa) {
			return (int)i;
		}
	}
	return -1;
}

int fake_vmcs_active_cpu(uint64_t pa)
{
	int i = find_active(pa);
	return i < 0 ? -1 : (int)active[i].cpu;
}

uint64_t fake_vmcs_current(unsigned cpu)
{
	if (cpu >= MAX_CPUS) {
		fprintf(stderr, "fake_vmcs: no CPU %u\n", cpu);
		abort();
	}
	return current[cpu];
}

static unsigned executing_cpu(void)
{
	unsigned cpu = fake_cpu_id();
	if (cpu >= MAX_CPUS) {
		fprintf(stderr, "fake_vmcs: CPU %u out of range\n", cpu);
		abort();
	}
	return cpu;
}

static uint64_t width_mask(uint32_t enc)
{
	switch ((enc >> 13) & 3) {
	case 0:
		return 0xffff;
	case 2:
		return 0xffffffff;
	default:
		return ~0ull;
	}
}

static uint64_t *slot(uint32_t enc)
{
	if (enc >= FIELDS || (enc & 1)) {
		fprintf(stderr, "fake_vmcs: no field %#x\n", enc);
		abort();
	}
	return &fields[enc];
}

void fake_vmcs_reset(void)
{
	memset(fields, 0, sizeof(fields));
	memset(&fake_vmx_log, 0, sizeof(fake_vmx_log));
	fake_vmx_enter_result = 0;
	fake_vmclear_hook = NULL;
	n_active = 0;
	for (unsigned c = 0; c < MAX_CPUS; c++) {
		current[c] = NONE;
	}
}

uint64_t fake_vmcs_get(uint32_t enc)
{
	return *slot(enc);
}

void fake_vmcs_set(uint32_t enc, uint64_t v)
{
	*slot(enc) = v & width_mask(enc);
}

uint64_t vmcs_raw_read(uint32_t enc);
void vmcs_raw_write(uint32_t enc, uint64_t v);
bool vmx_vmxon(uint64_t pa);
bool vmx_vmclear(uint64_t pa);
bool vmx_vmptrld(uint64_t pa);
bool vmx_invept(uint64_t type, uint64_t eptp);
int vmx_enter(uint64_t gpr[16], int launched);
void vmx_exit_host(void);

uint64_t vmcs_raw_read(uint32_t enc)
{
	return fake_vmcs_get(enc);
}

void vmcs_raw_write(uint32_t enc, uint64_t v)
{
	fake_vmcs_set(enc, v);
}

bool vmx_vmxon(uint64_t pa)
{
	(void)pa;
	fake_vmx_log.vmxon++;
	return true;
}

bool vmx_vmclear(uint64_t pa)
{
	unsigned cpu = executing_cpu();
	if (fake_vmclear_hook) {
		fake_vmclear_hook(pa, cpu);
	}
	fake_vmx_log.last_vmclear = pa;
	fake_vmx_log.last_vmclear_cpu = cpu;
	fake_vmx_log.vmclear++;
	if (current[cpu] == pa) {
		current[cpu] = NONE;
	}
	int i = find_active(pa);
	if (i >= 0 && active[i].cpu != cpu) {
		fake_vmx_log.vmclear_elsewhere++; /* that CPU keeps its copy */
	} else if (i >= 0) {
		active[i] = active[--n_active];
	}
	return true;
}

bool vmx_vmptrld(uint64_t pa)
{
	unsigned cpu = executing_cpu();
	fake_vmx_log.vmptrld++;
	fake_vmx_log.last_vmptrld = pa;
	int i = find_active(pa);
	if (i < 0) {
		if (n_active == REGIONS) {
			fprintf(stderr, "fake_vmcs: more than %u active regions\n", REGIONS);
			abort();
		}
		i = (int)n_active++;
	} else if (active[i].cpu != cpu) {
		fake_vmx_log.vmptrld_elsewhere++;
	}
	active[i].pa = pa;
	active[i].cpu = cpu;
	current[cpu] = pa;
	return true;
}

bool vmx_invept(uint64_t type, uint64_t eptp)
{
	fake_vmx_log.invept++;
	fake_vmx_log.last_invept_type = type;
	fake_vmx_log.last_invept_eptp = eptp;
	return true;
}

int vmx_enter(uint64_t gpr[16], int launched)
{
	(void)gpr;
	fake_vmx_log.enters++;
	fake_vmx_log.launches += !launched;
	return fake_vmx_enter_result;
}

void vmx_exit_host(void)
{
	abort(); /* never jumped to on the fake machine */
}
