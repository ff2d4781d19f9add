/* SPDX-License-Identifier: MIT */
/*
 * VM exit handling: a table of small handlers indexed by the vendor-neutral exit reason. QEMU's
 * SVM has no NRIP-save or decode assist (insn_len 0, docs/ABI.md "vCPUs"), so instruction lengths
 * and MMIO operands come from the VMM's own decoder (decode.c).
 */
#include "vmm.h"

#include "x86defs.h"

#define GPR_RAX 0
#define GPR_RCX 1
#define GPR_RDX 2
#define GPR_RBX 3
#define GPR_RSI 6
#define GPR_RDI 7

typedef bool (*exit_handler)(struct vm *vm);

void vm_stop(struct vm *vm, enum vm_status status, const char *why)
{
	vm->status = status;
	if (why) {
		printf("vmm: guest %s: %s\n", vm->name, why);
	}
}

/* Decode the instruction at CS:RIP (the code mode and the guest's paging: CS, CR0/3/4, EFER). */
static bool fetch(struct vm *vm, struct decode_insn *in)
{
	struct vireo_vm_state *st = vm_state(vm, VMTD_RIP | VMTD_CS_SS | VMTD_CR);
	uint8_t bytes[15];
	size_t n = sizeof(bytes);
	uint64_t at = st->cs.base + st->rip;
	while (n && !vm_read_gva(vm, at, bytes, n)) {
		n--; /* near the end of RAM: fewer bytes may still hold the instruction */
	}
	return n && decode_insn(bytes, n, vm_code_mode(st), in) > 0;
}

static uint64_t rip_mask(const struct vireo_vm_state *st)
{
	enum decode_mode m = vm_code_mode(st);
	return m == DECODE_64 ? ~0ull : m == DECODE_32 ? 0xffffffffull : 0xffffull;
}

/* Step over the exiting instruction (its length from the hardware when given, else decoded). */
static bool skip(struct vm *vm)
{
	struct vireo_vm_state *st = vm_state_mod(vm, VMTD_RIP);
	vm_state(vm, VMTD_CS_SS | VMTD_CR); /* the code mode, for the wrap of RIP */
	unsigned len = st->insn_len;
	struct decode_insn in;
	if (!len) {
		if (!fetch(vm, &in)) {
			vm_stop(vm, VM_FAILED, "cannot decode the instruction at the exit");
			return false;
		}
		len = in.len;
	}
	st->rip = (st->rip + len) & rip_mask(st);
	return true;
}

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

/* ---------------------------------------------------------------- port I/O */

/* Port I/O goes to whatever device the bus has at that port; nothing there reads all-ones. */
static uint32_t io_in(struct vm *vm, uint16_t port, unsigned size)
{
	return (uint32_t)iobus_read(&vm->m.bus, IOBUS_PIO, port, size);
}

static void io_out(struct vm *vm, uint16_t port, unsigned size, uint32_t v)
{
	iobus_write(&vm->m.bus, IOBUS_PIO, port, size, v & (uint32_t)size_mask(size));
}

/* Base of segment `seg` (enum decode_seg); 64-bit mode treats ES, CS, SS and DS as based at 0. */
static uint64_t seg_base(const struct vireo_vm_state *st, enum decode_mode mode, int seg)
{
	const struct vireo_seg *s[] = { &st->es, &st->cs, &st->ss, &st->ds, &st->fs, &st->gs };
	return mode == DECODE_64 && seg < DECODE_SEG_FS ? 0 : s[seg]->base;
}

/* INS/OUTS: the memory side through the guest's segments and paging, DF and address size. */
static bool io_string(struct vm *vm)
{
	struct vireo_vm_state *st =
		vm_state_mod(vm, VMTD_GPR | VMTD_RIP | VMTD_SEG | VMTD_CR) /* + segment bases */;
	struct decode_insn in;
	if (!fetch(vm, &in)) {
		vm_stop(vm, VM_FAILED, "cannot decode a string I/O instruction");
		return false;
	}
	uint64_t amask = size_mask(in.addrsize);
	unsigned size = st->io.size;
	uint64_t count = in.rep ? st->gpr[GPR_RCX] & amask : 1;
	bool more = count > VMM_REP_MAX; /* the rest after the guest re-executes the instruction */
	if (more) {
		count = VMM_REP_MAX;
	}
	int64_t step = st->rflags & RFLAGS_DF ? -(int64_t)size : (int64_t)size;
	/* INS writes ES:rDI; OUTS reads rSI in DS or an override's segment (SDM vol. 2, OUTS). */
	uint64_t base = seg_base(st, in.mode, st->io.in ? DECODE_SEG_ES : decode_mem_seg(&in));
	for (; count; count--) {
		uint32_t v = 0;
		uint64_t addr = decode_str_addr(&in, st->gpr, base, !st->io.in);
		bool ok = st->io.in ? (v = io_in(vm, st->io.port, size),
				       vm_write_gva(vm, addr, &v, size))
				    : vm_read_gva(vm, addr, &v, size);
		if (!ok) {
			vm_stop(vm, VM_FAILED, "string I/O to unmapped guest memory");
			return false;
		}
		if (!st->io.in) {
			io_out(vm, st->io.port, size, v);
		}
		unsigned idx = st->io.in ? GPR_RDI : GPR_RSI;
		st->gpr[idx] = (st->gpr[idx] & ~amask) | ((st->gpr[idx] + (uint64_t)step) & amask);
		if (in.rep) {
			uint64_t rcx = st->gpr[GPR_RCX];
			st->gpr[GPR_RCX] = (rcx & ~amask) | ((rcx - 1) & amask);
		}
	}
	if (!more) {
		st->rip = (st->rip + in.len) & rip_mask(st);
	}
	return true;
}

static bool exit_io(struct vm *vm)
{
	struct vireo_vm_state *st = vm->st; /* the exit information: io, next_rip */
	if (st->io.port < VMM_PORT_STATS) {
		vm->port_exits[st->io.port]++;
	}
	if (vm->iopass && st->io.port >= vm->iopass_lo && st->io.port <= vm->iopass_hi) {
		vm->iopass_exits++;
	}
	if (st->io.string) {
		return io_string(vm);
	}
	unsigned size = st->io.size;
	if (st->io.in) {
		vm_state_mod(vm, VMTD_GPR_ACDB);
		uint64_t m = size == 4 ? ~0ull : size_mask(size); /* 32-bit writes zero-extend */
		uint64_t v = io_in(vm, st->io.port, size);
		st->gpr[GPR_RAX] = size == 4 ? v : (st->gpr[GPR_RAX] & ~m) | v;
	} else {
		io_out(vm, st->io.port, size, (uint32_t)vm_state(vm, VMTD_GPR_ACDB)->gpr[GPR_RAX]);
	}
	if (st->next_rip) {
		vm_state_mod(vm, VMTD_RIP);
		st->rip = st->next_rip;
		return true;
	}
	return skip(vm);
}

/* ---------------------------------------------------------------- MMIO */

static bool exit_mmio(struct vm *vm)
{
	struct vireo_vm_state *st = vm->st;
	struct decode_insn in;
	if (vm->map_lazy && vm->map_lazy(vm, st->gpa)) {
		return true; /* RAM given now: the access (or the cut-off event in pending) goes on */
	}
	vm_state_mod(vm, VMTD_GPR | VMTD_RIP);
	if (!fetch(vm, &in)) {
		vm_stop(vm, VM_FAILED, "cannot decode the instruction of an MMIO access");
		return false;
	}
	uint64_t value = 0;
	unsigned size = in.mem_size;
	bool done = false;
	if (in.kind == DK_MOV_STORE && decode_store_value(&in, st->gpr, &value)) {
		iobus_write(&vm->m.bus, IOBUS_MMIO, st->gpa, size, value);
		done = true;
	} else if (in.kind == DK_MOV_LOAD || in.kind == DK_MOVZX || in.kind == DK_MOVSX) {
		value = iobus_read(&vm->m.bus, IOBUS_MMIO, st->gpa, size);
		done = decode_load_apply(&in, st->gpr, value);
	}
	if (!done) {
		printf("vmm: guest %s: MMIO at %#lx by an instruction it cannot emulate (kind "
		       "%d)\n",
		       vm->name, (unsigned long)st->gpa, in.kind);
		vm_stop(vm, VM_FAILED, NULL);
		return false;
	}
	st->rip = (st->rip + in.len) & rip_mask(st);
	return true;
}

/* ---------------------------------------------------------------- CPUID and MSRs */

static void host_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

static bool exit_cpuid(struct vm *vm)
{
	struct vireo_vm_state *st = vm_state_mod(vm, VMTD_GPR_ACDB);
	uint32_t leaf = (uint32_t)st->gpr[GPR_RAX], sub = (uint32_t)st->gpr[GPR_RCX], r[4];
	host_cpuid(leaf, sub, r);
	if (leaf == 1) {
		vm_state(vm, VMTD_CR); /* OSXSAVE follows the guest's CR4 */
	}
	cpuid_filter(st, leaf, sub, r);
	for (int i = 0; i < 4; i++) {
		static const unsigned reg[4] = { GPR_RAX, GPR_RBX, GPR_RCX, GPR_RDX };
		st->gpr[reg[i]] = r[i];
	}
	return skip(vm);
}

/* #GP(0) at the faulting instruction; real mode pushes no error codes (Intel SDM vol. 3A,
 * "Real-Address Mode Operation", interrupt and exception handling). */
static void inject_gp(struct vm *vm)
{
	struct vireo_vm_state *st = vm_state_mod(vm, VMTD_EVENTS);
	vm_state(vm, VMTD_CR);
	bool err = st->cr0 & CR0_PE;
	st->inject = VEVENT_VALID | VEVENT_TYPE_EXC | (err ? VEVENT_ERR_VALID : 0) | EXC_GP;
	st->inject_err = 0;
}

static bool exit_rdmsr(struct vm *vm)
{
	struct vireo_vm_state *st = vm_state_mod(vm, VMTD_GPR_ACDB);
	uint64_t v;
	if (!msr_read(vm, (uint32_t)st->gpr[GPR_RCX], &v)) {
		inject_gp(vm);
		return true;
	}
	st->gpr[GPR_RAX] = (uint32_t)v;
	st->gpr[GPR_RDX] = v >> 32;
	return skip(vm);
}

static bool exit_wrmsr(struct vm *vm)
{
	struct vireo_vm_state *st = vm_state(vm, VMTD_GPR_ACDB);
	uint64_t v = (st->gpr[GPR_RDX] << 32) | (uint32_t)st->gpr[GPR_RAX];
	if (!msr_write(vm, (uint32_t)st->gpr[GPR_RCX], v)) {
		inject_gp(vm);
		return true;
	}
	return skip(vm);
}

/* ---------------------------------------------------------------- control registers, XCR0 */

/*
 * MOV to or from CR4 (or CR0) with a guest/host mask (docs/architecture.md#vcpu): the guest
 * reads its bits from the register and the VMM's bits from the shadow; a write of its own bits
 * goes to the register, a write of a VMM bit goes to the shadow (the register keeps the VMM's
 * value). On SVM every access exits; on VMX only the writes that change a VMM bit would.
 */
static bool exit_cr_access(struct vm *vm)
{
	struct vireo_vm_state *st = vm_state_mod(vm, VMTD_GPR | VMTD_RIP | VMTD_CR);
	struct decode_insn in;
	if (!fetch(vm, &in) || !in.two_byte || (in.opcode2 != 0x20 && in.opcode2 != 0x22) ||
	    (in.reg != 0 && in.reg != 4)) {
		vm_stop(vm, VM_FAILED, "a control-register access the VMM does not emulate");
		return false;
	}
	uint64_t wmask = in.mode == DECODE_64 ? ~0ull : 0xffffffffull;
	uint64_t *cr = in.reg == 4 ? &st->cr4 : &st->cr0;
	uint64_t mask = in.reg == 4 ? vm->cr4_mask : 0;
	uint64_t *shadow = &vm->cr4_shadow;
	if (in.opcode2 == 0x20) {
		st->gpr[in.rm] = ((*cr & ~mask) | (*shadow & mask)) & wmask;
		return skip(vm);
	}
	uint64_t v = st->gpr[in.rm] & wmask;
	if ((v ^ *shadow) & mask) {
		vm->cr_exits_vmm++;
		*shadow = (*shadow & ~mask) | (v & mask);
		vm_apply_ctrl(vm); /* the new shadow (VMX reads it there) */
	} else {
		vm->cr_exits_owned++;
	}
	*cr = (*cr & mask) | (v & ~mask);
	return skip(vm);
}

/* XSETBV: XCR0 only, x87 always on, AVX only with SSE, and only state the host CPU has (CPUID
 * leaf 0xD); anything else is #GP as on hardware (SDM vol. 2, XSETBV). The kernel checks it
 * against its own XCR0 again at the resume. */
static bool exit_xsetbv(struct vm *vm)
{
	struct vireo_vm_state *st = vm_state(vm, VMTD_GPR_ACDB);
	uint64_t v = (st->gpr[GPR_RDX] << 32) | (uint32_t)st->gpr[GPR_RAX];
	uint32_t r[4];
	host_cpuid(0xd, 0, r);
	uint64_t host = ((uint64_t)r[3] << 32) | r[0];
	if ((uint32_t)st->gpr[GPR_RCX] != 0 || !(v & 1) || ((v & 4) && !(v & 2)) || (v & ~host)) {
		inject_gp(vm);
		return true;
	}
	vm_state_mod(vm, VMTD_XCR0)->xcr0 = v;
	return skip(vm);
}

/* ---------------------------------------------------------------- HLT, interrupts, hypercalls */

/*
 * HLT waits for an interrupt: one due now is injected at once; otherwise the VMM sleeps until the
 * next device event (or console input) and looks again. With nothing that could ever wake it, or
 * with interrupts off, the guest is done.
 */
static bool exit_hlt(struct vm *vm)
{
	struct vireo_vm_state *st = vm_state_mod(vm, VMTD_EVENTS);
	if (!skip(vm)) {
		return false;
	}
	st->intr_shadow = 0; /* an STI's shadow covered the HLT itself, which is done */
	while (vm->status == VM_RUNNING) {
		vm_update_devices(vm);
		if (vm_deliver_irq(vm)) {
			return true;
		}
		if (!st->guest_if) {
			vm_stop(vm, VM_STOPPED, "halted with interrupts disabled");
			return false;
		}
		uint64_t until = vm_next_event_ns(vm);
		if (!vm->idle || (until == VMM_TIME_NEVER && !vm->input_wired)) {
			vm_stop(vm, VM_STOPPED, "halted with nothing to wake it");
			return false;
		}
		vm_console_flush(vm);
		vm_hold_time(vm, false);
		vm->idle(vm, until);
		vm_hold_time(vm, true); /* the instant the sleep ended */
	}
	return false;
}

/* The guest can take an interrupt now: vm_deliver_irq after every exit does the rest. */
static bool exit_intr_window(struct vm *vm)
{
	(void)vm;
	return true;
}

static bool exit_vmcall(struct vm *vm)
{
	struct vireo_vm_state *st = vm_state_mod(vm, VMTD_GPR_ACDB);
	uint64_t *g = st->gpr;
	switch (g[GPR_RAX]) {
	case 1:
		g[GPR_RAX] = g[GPR_RBX] + g[GPR_RCX] + g[GPR_RDX];
		break;
	case 2:
		g[GPR_RAX] = 0x00010000;
		break;
	default:
		g[GPR_RAX] = ~0ull;
		break;
	}
	return skip(vm);
}

/* INVD or WBINVD: the kernel intercepts both (INVD would drop dirty lines of host memory, WBINVD
 * stalls the machine). Guest memory is ordinary write-back RAM, so skipping either is correct. */
static bool exit_cache(struct vm *vm)
{
	return skip(vm);
}

/* ---------------------------------------------------------------- the end of a guest */

static bool exit_shutdown(struct vm *vm)
{
	vm_stop(vm, VM_STOPPED, "triple fault (shutdown): this VM is stopped, nothing else is");
	return false;
}

static bool exit_invalid(struct vm *vm)
{
	printf("vmm: guest %s: the kernel refused the guest state (reason %lu)\n", vm->name,
	       (unsigned long)vm->st->qual);
	vm_stop(vm, VM_FAILED, NULL);
	return false;
}

static bool exit_unexpected(struct vm *vm)
{
	vm_state(vm, VMTD_RIP);
	printf("vmm: guest %s: unexpected exit %u (qualification %#lx) at rip %#lx\n", vm->name,
	       vm->st->exit, (unsigned long)vm->st->qual, (unsigned long)vm->st->rip);
	vm_stop(vm, VM_FAILED, NULL);
	return false;
}

static bool exit_recall(struct vm *vm)
{
	vm->dev.recalls++;
	return true;
}

static const exit_handler handlers[VM_EXIT_COUNT] = {
	[VM_EXIT_IO] = exit_io,
	[VM_EXIT_MMIO] = exit_mmio,
	[VM_EXIT_CPUID] = exit_cpuid,
	[VM_EXIT_RDMSR] = exit_rdmsr,
	[VM_EXIT_WRMSR] = exit_wrmsr,
	[VM_EXIT_HLT] = exit_hlt,
	[VM_EXIT_VMCALL] = exit_vmcall,
	[VM_EXIT_SHUTDOWN] = exit_shutdown,
	[VM_EXIT_INTR_WINDOW] = exit_intr_window,
	[VM_EXIT_EXCEPTION] = exit_unexpected,
	[VM_EXIT_INVALID] = exit_invalid,
	[VM_EXIT_RECALL] = exit_recall,
	[VM_EXIT_CACHE] = exit_cache,
	[VM_EXIT_OTHER] = exit_unexpected,
	[VM_EXIT_CR_ACCESS] = exit_cr_access,
	[VM_EXIT_XSETBV] = exit_xsetbv,
};

static void trace_exit(struct vm *vm)
{
	const struct vireo_vm_state *st = vm_state(vm, VMTD_STATE);
	printf("vmm: exit %u at %04lx:%lx qual %#lx gpa %#lx io %#x/%u%s rax %#lx\n", st->exit,
	       (unsigned long)st->cs.sel, (unsigned long)st->rip, (unsigned long)st->qual,
	       (unsigned long)st->gpa, st->io.port, st->io.size, st->io.in ? " in" : "",
	       (unsigned long)st->gpr[0]);
}

bool vm_handle_exit(struct vm *vm)
{
	unsigned reason = vm->st->exit;
	if (vm->trace) {
		trace_exit(vm);
	}
	exit_handler h = reason < VM_EXIT_COUNT ? handlers[reason] : NULL;
	if (reason < VM_EXIT_COUNT) {
		vm->exits_by_reason[reason]++;
	}
	vm_hold_time(vm, true);
	bool go_on = h ? h(vm) : exit_unexpected(vm);
	if (go_on && vm->status == VM_RUNNING) {
		/* Test port 0xfd: inject beside a pending event; the kernel must deliver both. */
		struct vireo_vm_state *st = vm->st;
		if (vm->dev.irq2_armed >= 0 &&
		    (vm_state(vm, VMTD_EVENTS)->pending & VEVENT_VALID) &&
		    !(st->inject & VEVENT_VALID)) {
			vm_state_mod(vm, VMTD_EVENTS);
			st->inject = VEVENT_VALID | VEVENT_TYPE_INTR |
				     (uint32_t)testdev_take_irq2(&vm->dev);
			st->intr_window = 0;
		}
		vm_update_devices(vm);
		vm_deliver_irq(vm);
	}
	vm->next_event_ns = vm_next_event_ns(vm);
	vm_hold_time(vm, false);
	return go_on && vm->status == VM_RUNNING;
}
