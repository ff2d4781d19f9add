/* SPDX-License-Identifier: MIT */
/*
 * The x86 instructions of kernel/x86/cpu.h on a fake machine for host unit tests: MSRs and CPUID
 * leaves are tables the test fills, control registers are per-CPU variables (CR2 and CR3 are the
 * ones arch.h's fakes report), port writes are logged, halting is a test bug.
 */
#include "fake_x86.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_cpu.h"
#include "x86/cpu.h"

#define FAKE_MSRS 64
#define FAKE_CPUID_LEAVES 32

static struct {
	uint32_t msr;
	uint64_t v;
	bool used;
} msrs[MAX_CPUS][FAKE_MSRS];

static struct {
	uint32_t leaf, sub;
	struct cpuid_regs r;
	bool used;
} leaves[FAKE_CPUID_LEAVES];

static uint64_t cr0[MAX_CPUS], cr4[MAX_CPUS];
static bool irq_on[MAX_CPUS];
struct fake_port_log fake_port_log;

void fake_x86_reset(void)
{
	memset(msrs, 0, sizeof(msrs));
	memset(leaves, 0, sizeof(leaves));
	memset(cr0, 0, sizeof(cr0));
	memset(cr4, 0, sizeof(cr4));
	memset(irq_on, 0, sizeof(irq_on));
	memset(&fake_port_log, 0, sizeof(fake_port_log));
}

static unsigned me(void)
{
	return this_cpu()->id;
}

/* ---------------------------------------------------------------- CPUID */

void fake_cpuid_set(uint32_t leaf, uint32_t sub, struct cpuid_regs r)
{
	for (unsigned i = 0; i < FAKE_CPUID_LEAVES; i++) {
		if (!leaves[i].used || (leaves[i].leaf == leaf && leaves[i].sub == sub)) {
			leaves[i].used = true;
			leaves[i].leaf = leaf;
			leaves[i].sub = sub;
			leaves[i].r = r;
			return;
		}
	}
	fprintf(stderr, "fake_x86: more than %u CPUID leaves\n", FAKE_CPUID_LEAVES);
	abort();
}

void fake_cpuid_amd_svm(void)
{
	fake_cpuid_set(0x80000000, 0, (struct cpuid_regs){ .eax = 0x8000000a });
	fake_cpuid_set(0x80000001, 0, (struct cpuid_regs){ .ecx = 1u << 2 }); /* SVM */
	fake_cpuid_set(0x8000000a, 0, (struct cpuid_regs){ .eax = 1, .ebx = 8, .edx = 1 }); /* NP */
}

struct cpuid_regs cpuid(uint32_t leaf, uint32_t sub)
{
	for (unsigned i = 0; i < FAKE_CPUID_LEAVES && leaves[i].used; i++) {
		if (leaves[i].leaf == leaf && leaves[i].sub == sub) {
			return leaves[i].r;
		}
	}
	for (unsigned i = 0; i < FAKE_CPUID_LEAVES && leaves[i].used; i++) {
		if (leaves[i].leaf == leaf && leaves[i].sub == 0) {
			return leaves[i].r;
		}
	}
	return (struct cpuid_regs){ 0 }; /* an unknown leaf reads as zeros: no feature */
}

/* ---------------------------------------------------------------- MSRs */

uint64_t rdmsr(uint32_t msr)
{
	for (unsigned i = 0; i < FAKE_MSRS; i++) {
		if (msrs[me()][i].used && msrs[me()][i].msr == msr) {
			return msrs[me()][i].v;
		}
	}
	return 0;
}

void wrmsr(uint32_t msr, uint64_t v)
{
	for (unsigned i = 0; i < FAKE_MSRS; i++) {
		if (!msrs[me()][i].used || msrs[me()][i].msr == msr) {
			msrs[me()][i].used = true;
			msrs[me()][i].msr = msr;
			msrs[me()][i].v = v;
			return;
		}
	}
	fprintf(stderr, "fake_x86: more than %u MSRs written\n", FAKE_MSRS);
	abort();
}

/* ---------------------------------------------------------------- control registers */

uint64_t read_cr0(void)
{
	return cr0[me()];
}

void write_cr0(uint64_t v)
{
	cr0[me()] = v;
}

uint64_t read_cr2(void)
{
	return fake_cpu_log.fault_addr[me()];
}

void write_cr2(uint64_t v)
{
	fake_cpu_log.fault_addr[me()] = v;
}

uint64_t read_cr3(void)
{
	return fake_cpu_log.space_root[me()];
}

void write_cr3(uint64_t v)
{
	fake_cpu_log.space_root[me()] = v;
	fake_cpu_log.space_loads++;
}

uint64_t read_cr4(void)
{
	return cr4[me()];
}

void write_cr4(uint64_t v)
{
	cr4[me()] = v;
}

/* XSETBV: the fake machine keeps no extended state; the value a test could check is the VMCB's. */
void write_xcr0(uint64_t v)
{
	(void)v;
}

/* ---------------------------------------------------------------- the rest */

uint64_t rdtsc(void)
{
	static uint64_t tsc;
	return tsc += 1000;
}

void cpu_halt(void)
{
	fprintf(stderr, "fake_x86: HLT in a host test (the kernel would stop here)\n");
	abort();
}

void irq_enable(void)
{
	irq_on[me()] = true;
}

void irq_disable(void)
{
	irq_on[me()] = false;
}

uint64_t read_rflags(void)
{
	return 0x2 | (irq_on[me()] ? 1ull << 9 : 0);
}

void invlpg(uint64_t va)
{
	(void)va;
}

static void port_out(uint16_t port, uint32_t v)
{
	unsigned n = fake_port_log.n++ % FAKE_PORT_LOG;
	fake_port_log.port[n] = port;
	fake_port_log.value[n] = v;
}

void outb(uint16_t port, uint8_t v)
{
	port_out(port, v);
}

void outw(uint16_t port, uint16_t v)
{
	port_out(port, v);
}

void outl(uint16_t port, uint32_t v)
{
	port_out(port, v);
}

uint8_t inb(uint16_t port)
{
	(void)port;
	return 0xff;
}

uint16_t inw(uint16_t port)
{
	(void)port;
	return 0xffff;
}

uint32_t inl(uint16_t port)
{
	(void)port;
	return 0xffffffff;
}
