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
	unsigned line_len;
	bool restart;	   /* a stopped guest boots again (word "restart") */
	uint64_t restarts; /* times it did */
};

/* Guest memory: host pointer for [gpa, gpa + len) in RAM, or NULL. */
void *vm_gpa(struct vm *vm, uint64_t gpa, uint64_t len);
/* Translate a guest-linear address with the guest's paging mode; false if not mapped. */
bool vm_gva_to_gpa(struct vm *vm, uint64_t gva, uint64_t *gpa);
/* Copy guest-linear memory (instruction fetch, string I/O); false on a fault. */
bool vm_read_gva(struct vm *vm, uint64_t gva, void *dst, size_t len);
bool vm_write_gva(struct vm *vm, uint64_t gva, const void *src, size_t len);
enum decode_mode vm_code_mode(const struct vireo_vm_state *st);

/* Exit handling: returns false when the VM must stop. */
bool vm_handle_exit(struct vm *vm);
/* Initial state of a boot-sector guest: real mode at 0000:7c00. */
void vm_reset_state(struct vireo_vm_state *st);
void vm_stop(struct vm *vm, enum vm_status status, const char *why);

#endif
