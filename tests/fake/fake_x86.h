/* SPDX-License-Identifier: MIT */
/* The fake machine behind kernel/x86/cpu.h in host unit tests: CPUID, MSRs, ports. */
#ifndef TESTS_FAKE_X86_H
#define TESTS_FAKE_X86_H

#include "x86/cpu.h"

#define FAKE_PORT_LOG 64

/* The last FAKE_PORT_LOG port writes (n counts all of them). */
struct fake_port_log {
	unsigned n;
	uint16_t port[FAKE_PORT_LOG];
	uint32_t value[FAKE_PORT_LOG];
};
extern struct fake_port_log fake_port_log;

/* Forget every MSR, CPUID leaf, control register and port write (fake_cpu_init calls it). */
void fake_x86_reset(void);
/* CPUID(leaf, sub) returns `r` from now on (sub 0 also answers any subleaf not set). */
void fake_cpuid_set(uint32_t leaf, uint32_t sub, struct cpuid_regs r);
/* An AMD CPU with SVM and nested paging, as svm_probe wants to see it. */
void fake_cpuid_amd_svm(void);

#endif
