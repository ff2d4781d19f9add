/* SPDX-License-Identifier: MIT */
/* The user-level VMM: one VM, its RAM, one vCPU, exits dispatched to small handlers. */
#ifndef VMM_H
#define VMM_H

#include <vireo/vcpu.h>

#include "decode.h"
#include "devices/testdev.h"
#include "taskinfo.h"
#include "vireo.h"

#define GUEST_RAM_SIZE (2ull << 20)
#define GUEST_LOAD_ADDR 0x7c00ull
#define GUEST_IMAGE_MAX (64ull << 10)
/* Elements one exit moves of a REP INS/OUTS; the guest re-executes the rest (an interruptible
 * REP, as hardware does at an interrupt), so a huge count cannot hold the VMM's thread. */
#define VMM_REP_MAX 1024
/* Distinct unknown MSRs the VMM reports (once each). */
#define VMM_MSR_LOG_MAX 32
/* The top of RAM is given to the VM page by page at first access (guests/tests/README.md). */
#define GUEST_LAZY_BASE (GUEST_RAM_SIZE - (64ull << 10))

/* Selectors the VMM uses in its own object space. */
#define SEL_VM 40
#define SEL_VCPU_EC 41
#define SEL_VCPU_SC 42
#define SEL_DONE_SM 43

enum vm_status { VM_RUNNING, VM_PASSED, VM_FAILED, VM_STOPPED };

struct vm {
	const char *name;
	uint8_t *ram; /* guest-physical 0 .. ram_size, in the VMM's address space */
	uint64_t ram_size;
	struct vireo_vm_state *st; /* the vCPU state page */
	struct testdev dev;
	enum vm_status status;
	uint64_t exits_by_reason[VM_EXIT_OTHER + 1];
	char line[120];	 /* guest console line being assembled */
	bool trace;	 /* print every exit (module command line word "trace") */
	bool show_exits; /* console lines show the vCPU's VM exits so far (word "exits") */
	/* Demand paging: gives the VM the RAM page at gpa on its first access (an NPF exit); false
	 * if gpa is no such page. NULL: all RAM is given at the start (unit tests). */
	bool (*map_lazy)(struct vm *vm, uint64_t gpa);
	unsigned line_len;
	bool restart;	   /* a stopped guest boots again (word "restart") */
	uint64_t restarts; /* times it did */
	uint32_t msr_logged[VMM_MSR_LOG_MAX]; /* unknown MSRs already reported */
	unsigned msr_nlogged;		      /* VMM_MSR_LOG_MAX + 1 once the list is full */
};

/* Guest memory: host pointer for [gpa, gpa + len) in RAM, or NULL. */
void *vm_gpa(struct vm *vm, uint64_t gpa, uint64_t len);
/* Translate a guest-linear address with the guest's paging mode; false if not mapped. */
bool vm_gva_to_gpa(struct vm *vm, uint64_t gva, uint64_t *gpa);
/* Copy guest-linear memory (instruction fetch, string I/O); false on a fault. */
bool vm_read_gva(struct vm *vm, uint64_t gva, void *dst, size_t len);
bool vm_write_gva(struct vm *vm, uint64_t gva, const void *src, size_t len);
enum decode_mode vm_code_mode(const struct vireo_vm_state *st);

/*
 * The guest's CPUID: r holds the host's answer to leaf/sub and becomes what the guest sees (the
 * host's processor minus what the VMM does not virtualize, and the hypervisor leaf).
 */
void cpuid_filter(const struct vireo_vm_state *st, uint32_t leaf, uint32_t sub, uint32_t r[4]);
/* RDMSR / WRMSR of the guest: false means the guest gets #GP (unknown MSR or refused value). */
bool msr_read(struct vm *vm, uint32_t msr, uint64_t *value);
bool msr_write(struct vm *vm, uint32_t msr, uint64_t value);

/* Exit handling: returns false when the VM must stop. */
bool vm_handle_exit(struct vm *vm);
/* Initial state of a boot-sector guest: real mode at 0000:7c00. */
void vm_reset_state(struct vireo_vm_state *st);
void vm_stop(struct vm *vm, enum vm_status status, const char *why);

#endif
