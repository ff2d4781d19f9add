/* SPDX-License-Identifier: MIT */
/* The user-level VMM: one VM, its RAM, one vCPU, exits dispatched to small handlers. */
#ifndef VMM_H
#define VMM_H

#include <vireo/vcpu.h>

#include "decode.h"
#include "devices/i8042.h"
#include "devices/pci.h"
#include "devices/pic8259.h"
#include "devices/pit8254.h"
#include "devices/rtc.h"
#include "devices/sysport.h"
#include "devices/testdev.h"
#include "devices/uart16550.h"
#include "iobus.h"
#include "taskinfo.h"
#include "vireo.h"

/* RAM of a boot-sector guest; a bzImage guest gets mem=MiB (default VMM_LINUX_RAM_MIB). */
#define GUEST_RAM_SIZE (2ull << 20)
#define VMM_LINUX_RAM_MIB 256
#define VMM_TIME_NEVER UINT64_MAX
/* Console input bytes waiting for the guest's UART (a power of two). */
#define VMM_INPUT_RING 256
/* Arrival times of the bytes in COM1's receiver (more than its FIFO holds; a power of two). */
#define VMM_INPUT_UART_RING 32
/* Ports whose I/O exits the statistics count one by one: the ISA range. */
#define VMM_PORT_STATS 0x400
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

/* The PC the guest sees: devices on one I/O bus behind the 8259A pair (docs/devices.md). */
struct vm_machine {
	struct iobus bus;
	struct pic pic;
	struct pit pit;
	struct uart com1;
	struct rtc rtc;
	struct pci pci;
	struct i8042 kbc;
	struct sysport sys;
};

struct vm {
	const char *name;
	uint8_t *ram; /* guest-physical 0 .. ram_size, in the VMM's address space */
	uint64_t ram_size;
	struct vireo_vm_state *st; /* the vCPU state page */
	struct testdev dev;
	enum vm_status status;
	uint64_t exits_by_reason[VM_EXIT_COUNT];
	char line[256];	 /* guest console line being assembled */
	bool trace;	 /* print every exit (module command line word "trace") */
	bool show_exits; /* console lines show the vCPU's VM exits so far (word "exits") */
	/* Demand paging: gives the VM the RAM page at gpa on its first access (an NPF exit); false
	 * if gpa is no such page. NULL: all RAM is given at the start (unit tests). */
	bool (*map_lazy)(struct vm *vm, uint64_t gpa);
	unsigned line_len;
	bool restart;			      /* a stopped guest boots again (word "restart") */
	uint64_t restarts;		      /* times it did */
	uint32_t msr_logged[VMM_MSR_LOG_MAX]; /* unknown MSRs already reported */
	unsigned msr_nlogged;		      /* VMM_MSR_LOG_MAX + 1 once the list is full */
	struct vm_machine m;
	bool console_open;		  /* a partial console line was printed: continue it bare */
	uint64_t exit_tsc[VM_EXIT_COUNT]; /* TSC cycles the VMM spent per exit reason */
	/* Fetch the groups in st->mtd_req in mid-exit (SYS_VCPU_RESUME with VMTD_FETCH); NULL: the
	 * page is the whole state (unit tests). */
	void (*fetch)(struct vm *vm);
	uint64_t fetches; /* groups a handler needed that its exit did not bring */
	/* Intercept control (docs/ABI.md): the FS_BASE etc. MSRs the guest writes without exits
	 * (module word "msrpass"), CR4 bits the VMM owns (word "cr4mask=", test guests). */
	uint32_t msr_pass;
	uint64_t cr4_mask, cr4_shadow; /* the VMM keeps its bits set; the guest reads the shadow */
	uint64_t cr_exits_owned;       /* CR4 writes that changed only guest-owned bits */
	uint64_t cr_exits_vmm;	       /* CR4 writes that changed a bit the VMM owns */
	uint32_t port_exits[VMM_PORT_STATS]; /* I/O exits per port (ports below 0x400) */
	uint64_t rtc_epoch_ns;		     /* wall clock at guest time 0 (ns since 1970) */
	/* Guest time in ns (monotonic); NULL: time stands still at 0. */
	uint64_t (*clock_ns)(struct vm *vm);
	/*
	 * While one exit is handled, guest time stands at the moment the VMM took it (now_ns,
	 * now_valid): every device sees the same instant and the clock is read once per exit,
	 * not once per device. Cleared after the exit and around a sleep.
	 */
	uint64_t now_ns;
	bool now_valid;
	uint64_t next_event_ns; /* set by vm_handle_exit: vm_next_event_ns at the exit's end */
	/*
	 * HLT with interrupts open and nothing pending: sleep until guest time `until_ns`
	 * (VMM_TIME_NEVER: until console input). NULL: the VMM cannot sleep, so such a HLT ends
	 * the guest unless a device event is already due.
	 */
	void (*idle)(struct vm *vm, uint64_t until_ns);
	/* Console input, written by another thread, drained into COM1 by the vCPU's thread. */
	volatile uint8_t input[VMM_INPUT_RING];
	volatile unsigned input_head, input_tail;
	bool input_wired; /* somebody feeds `input`: a HLT with no timer still has a waker */
	/*
	 * Keystroke-to-guest latency: guest time each queued byte arrived (vm_input_push), the same
	 * for the bytes handed to COM1's receiver, and from there to the guest's read of each
	 * (the n-th byte handed over is the n-th read; bytes the guest dropped, e.g. with a FIFO
	 * clear, are not counted). input_how says how bytes arrive ("host IRQ", "polled").
	 */
	uint64_t input_ns[VMM_INPUT_RING];
	uint64_t in_uart_ns[VMM_INPUT_UART_RING];
	uint64_t input_given, input_taken, uart_reads_seen;
	uint64_t input_lat_n, input_lat_sum_ns, input_lat_max_ns;
	const char *input_how;
	/* Ports passed through to the guest (word ioport=LO-HI, vmm/portpass.h), and the I/O exits
	 * at them: none while they are the guest's, every access once the VMM revoked them. */
	bool iopass;
	uint32_t iopass_lo, iopass_hi;
	uint64_t iopass_exits;
};

/*
 * State groups (docs/ABI.md "State groups"). vm_state: the page holds `groups` (VMTD_*) on
 * return (fetched from the kernel if the exit did not bring them). vm_state_mod: the same, and
 * they are marked changed, so the next resume loads them: call it before writing a group.
 */
struct vireo_vm_state *vm_state(struct vm *vm, uint32_t groups);
struct vireo_vm_state *vm_state_mod(struct vm *vm, uint32_t groups);
/* The groups each exit reason brings (mtd_exit[]), what its handler touches. */
void vm_state_defaults(struct vireo_vm_state *st);
/* Put the VMM's intercept choices (msr_pass, cr4_mask) into the page for the next resume. */
void vm_apply_ctrl(struct vm *vm);

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

/* Put the PC's devices on the bus (and the test device for the small test guests). */
void vm_machine_init(struct vm *vm, bool testdev);
/* Guest time now (ns) as the vCPU's thread sees it: the held instant while an exit is handled
 * (vm_hold_time). Only that thread may use it. */
uint64_t vm_now_ns(struct vm *vm);
/* Hold guest time at the present instant (true) or let it run again (false). */
void vm_hold_time(struct vm *vm, bool hold);
/* Guest time now (ns) for every other thread: the running clock, never the held instant. */
uint64_t vm_clock_ns(struct vm *vm);

/*
 * The waker's timing (docs/architecture.md#vmm): it runs beside the vCPU's thread and reads the
 * running clock (vm_clock_ns). Were it to read the instant the vCPU's thread holds while it
 * handles an exit, time would stand still for it as long as it keeps that thread off the CPU:
 * its deadline never comes, it sleeps a microsecond at a time, and at a higher priority on the
 * same CPU it starves the very thread whose exit holds the time.
 */
struct vm_waker {
	struct vm *vm;
	uint64_t poll_ns; /* period of the polls (console input, "revoke"); 0: none */
	uint64_t poll_at; /* guest time of the next poll, or VMM_TIME_NEVER */
	uint64_t now;	  /* the clock at the waker's last look */
};
void vm_waker_init(struct vm_waker *w, struct vm *vm, uint64_t poll_ns);
/*
 * Look at the clock; the sleep until the next poll or, while the vCPU is in the guest, its next
 * device event (next_event_ns), whichever comes first: in microseconds, at least 1, or
 * VIREO_TIMEOUT_NEVER. *until gets that deadline in guest time.
 */
uint64_t vm_waker_timeout_us(struct vm_waker *w, bool in_guest, uint64_t next_event_ns,
			     uint64_t *until);
/* After the sleep: look at the clock; true when the poll is due (the next is a period later). */
bool vm_waker_poll_due(struct vm_waker *w);
/* Whether a device event at next_event_ns was due at the waker's last look. */
bool vm_waker_event_due(const struct vm_waker *w, uint64_t next_event_ns);
/* Bring the devices' interrupt lines up to date with the clock and feed console input. */
void vm_update_devices(struct vm *vm);
/* Guest time of the next device event that can raise an interrupt, or VMM_TIME_NEVER. */
uint64_t vm_next_event_ns(struct vm *vm);
/*
 * Before each entry: inject the interrupt the controller (or the test device) has pending if
 * the guest can take it now, else ask for an interrupt window. True if one was injected.
 */
bool vm_deliver_irq(struct vm *vm);
/* A byte the guest sent to its console; lines go to the system console as "guest: ...". */
void vm_console_putc(struct vm *vm, char c);
/* Print the partial line (the shell's prompt) before the VMM sleeps. */
void vm_console_flush(struct vm *vm);
/* Queue a console byte for the guest (any thread); false if the ring is full. */
bool vm_input_push(struct vm *vm, uint8_t byte);
/* The per-reason exit table, like `perf kvm stat`; tsc_khz 0 prints cycles only. */
void vm_print_exit_stats(const struct vm *vm, uint32_t tsc_khz);

/* Exit handling: returns false when the VM must stop. */
bool vm_handle_exit(struct vm *vm);
/* Initial state of a boot-sector guest: real mode at 0000:7c00. */
void vm_reset_state(struct vireo_vm_state *st);
/*
 * The Linux 64-bit boot protocol's entry state: long mode with paging (CR3 = pml4), flat code at
 * selector cs (L bit) and data at ds from the boot GDT at gdt, RSI = the zero page, RIP = entry,
 * interrupts off.
 */
void vm_linux_state(struct vireo_vm_state *st, uint64_t entry, uint64_t zero_page, uint64_t pml4,
		    uint64_t gdt, uint16_t cs, uint16_t ds);
/*
 * Load a bzImage, its command line and initrd (may be NULL) into the VM's RAM and set the
 * vCPU's entry state. NULL on success, else the reason.
 */
const char *vm_load_linux(struct vm *vm, const void *img, size_t size, const char *cmdline,
			  const void *initrd, size_t initrd_size);
void vm_stop(struct vm *vm, enum vm_status status, const char *why);

#endif
