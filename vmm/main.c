/* SPDX-License-Identifier: MIT */
/*
 * The VMM task: builds a VM PD, gives it RAM from the VMM's heap, loads the guest from its data
 * modules — a Linux bzImage (with an initrd as the second module) by the boot protocol, or a boot
 * sector / flat binary at 0x7c00 — and runs one vCPU EC whose loop is "resume, handle the exit".
 * The main EC is the vCPU's waker: once per kernel tick it polls the console for input and
 * recalls the vCPU out of the guest when a device event is due (the guest may spin with no exits).
 *
 * Module command lines: "vmm [mem=MiB] [trace]", then "<name> [kernel command line]" for the
 * guest image and "<name>" for an initrd. Ctrl-] on the console prints the exit statistics.
 */
#include "vmm.h"

#include "bzimage.h"
#include "cmdline.h"
#include "fmt.h"

#define VCPU_UTCB_VA (TASK_FREE_VA + 0x10000)
#define VCPU_STATE_VA (TASK_FREE_VA + 0x20000)
#define VM_QUOTA (1ull << 20)
#define SEL_WAKE_SM 44 /* the vCPU's thread sleeps on it in HLT */
#define VCPU_PRIO 4
#define VCPU_QUANTUM_US 10000
#define COM1 0x3f8
/*
 * The PC has no local APIC, I/O APIC or ACPI tables, and its 8042 no auxiliary (mouse) port, so
 * the kernel is told so (probing for the port costs it a 0.5 s timeout, as on an AT controller).
 * The TSC's rate is appended (the kernel cannot calibrate it against a PIT whose every read is a
 * VM exit, and without it keeps time in timer ticks, which a VMM delivers late), and the TSC is
 * the vCPU's own and never stops, so it is reliable.
 */
#define LINUX_DEFAULT_CMDLINE "console=ttyS0 noapic nolapic acpi=off i8042.noaux panic=-1"
/* Guest time 0 on the guest's RTC: 2026-01-01 00:00 UTC (the VMM has no wall clock to read). */
#define RTC_EPOCH_NS (1767225600ull * 1000000000ull)

static struct vm vm;
static uint64_t vcpu_stack[2048] __attribute__((aligned(16)));
static uint32_t tsc_khz;
static uint64_t tsc0;
/* Shared with the waker: where the vCPU's thread is, and when the next device event is due. */
static volatile bool in_guest, halted;
static volatile uint64_t next_event_ns = VMM_TIME_NEVER;

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* Guest time follows the TSC at the rate the kernel measured (the guest reads the same TSC). */
static uint64_t tsc_clock(struct vm *v)
{
	(void)v;
	uint64_t d = rdtsc() - tsc0;
	return d / tsc_khz * 1000000ull + d % tsc_khz * 1000000ull / tsc_khz;
}

static void idle(struct vm *v, uint64_t until_ns)
{
	uint64_t timeout = VIREO_TIMEOUT_NEVER;
	if (until_ns != VMM_TIME_NEVER) {
		uint64_t now = vm_now_ns(v);
		timeout = until_ns > now ? (until_ns - now) / 1000 + 1 : 1;
	}
	halted = true;
	__sync_synchronize(); /* the waker sees `halted`, or this thread sees its input */
	/* Input that the UART can take now is a reason not to sleep; input it cannot take is not. */
	if (v->input_head == v->input_tail || !uart_rx_room(&v->m.com1)) {
		sys_sm_down(SEL_WAKE_SM, timeout);
	}
	halted = false;
}

static void console_out(void *arg, char c)
{
	vm_console_putc(arg, c);
}

static void result_out(void *arg, uint32_t code)
{
	struct vm *v = arg;
	if (code == 0) {
		printf("guest %s: PASS\n", v->name);
		vm_stop(v, VM_PASSED, NULL);
	} else {
		printf("guest %s: FAIL code %u\n", v->name, code);
		vm_stop(v, VM_FAILED, NULL);
	}
}

static const char *summary(const struct vm *v)
{
	static const char *const names[] = { "running", "passed", "failed", "stopped" };
	return names[v->status];
}

/* Benchmark guests (guests/bench/) report on the bench ports: "bench: <name> <value> insns" lines
 * for tests/bench (under -icount the guest's TSC counts instructions). Nothing for other guests. */
static void print_bench(const struct vm *v)
{
	static const char *const names[] = { [TESTDEV_BENCH_EXIT] = "vm_cpuid_roundtrip",
					     [TESTDEV_BENCH_LOOP] = "vm_loop_overhead",
					     [TESTDEV_BENCH_IO] = "vm_pio_roundtrip" };
	bool any = false;
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint32_t value;
		if (testdev_bench(&v->dev, i, &value)) {
			printf("bench: %s %u insns\n", names[i], value);
			any = true;
		}
	}
	/* The VMM's share of an exit: TSC (instructions under -icount) from the return of
	 * SYS_VCPU_RESUME to the next call, per reason. */
	static const unsigned reasons[][2] = { { VM_EXIT_CPUID, 0 }, { VM_EXIT_IO, 1 } };
	for (unsigned i = 0; any && i < 2; i++) {
		uint64_t n = v->exits_by_reason[reasons[i][0]];
		if (n) {
			printf("bench: %s %lu insns\n",
			       reasons[i][1] ? "vm_pio_vmm" : "vm_cpuid_vmm",
			       (unsigned long)(v->exit_tsc[reasons[i][0]] / n));
		}
	}
	if (any) {
		printf("bench: vm_state_fetches %lu count\n", (unsigned long)v->fetches);
	}
}

static const uint8_t *image;
static uint64_t image_size;

/* With "restart": a guest that stopped (triple fault, HLT with interrupts off) boots again from
 * a fresh copy of its image, as a machine that resets. Failures still end the VM. */
static bool restart_guest(void)
{
	if (!vm.restart || vm.status != VM_STOPPED) {
		return false;
	}
	memset(vm.ram, 0, vm.ram_size);
	memcpy(vm.ram + GUEST_LOAD_ADDR, image, image_size);
	vm_reset_state(vm.st);
	vm.cr4_shadow = 0;
	vm_apply_ctrl(&vm);
	vm.line_len = 0;
	vm.status = VM_RUNNING;
	if (++vm.restarts % 100 == 0) {
		printf("vmm: guest %s restarted %lu times\n", vm.name, (unsigned long)vm.restarts);
	}
	return true;
}

/* More state groups in mid-exit (vm_state): the kernel writes st->mtd_req without running. */
static void fetch_state(struct vm *v)
{
	uint32_t want = v->st->mtd_req;
	v->st->mtd_in |= VMTD_FETCH;
	enum vireo_status st = sys_vcpu_resume(SEL_VM);
	if (st != VIREO_OK || (want & ~v->st->mtd_out)) {
		vm_stop(v, VM_FAILED, "the kernel did not give the state groups the VMM asked for");
		v->st->mtd_out |= want; /* the handler finishes on stale values; the VM ends */
	}
}

static __attribute__((noreturn)) void vcpu_main(uint64_t arg)
{
	(void)arg;
	do {
		unsigned reason = VM_EXIT_COUNT;
		uint64_t t0 = 0;
		while (vm.status == VM_RUNNING) {
			next_event_ns = vm_next_event_ns(&vm);
			if (reason < VM_EXIT_COUNT) {
				vm.exit_tsc[reason] +=
					rdtsc() - t0; /* the whole VMM path of the exit */
			}
			in_guest = true;
			enum vireo_status st = sys_vcpu_resume(SEL_VM);
			in_guest = false;
			t0 = rdtsc();
			if (st != VIREO_OK) {
				printf("vmm: vcpu_resume failed with status %d\n", st);
				vm_stop(&vm, VM_FAILED, NULL);
				break;
			}
			reason = vm.st->exit;
			vm_handle_exit(&vm);
		}
		vm_console_flush(&vm);
	} while (restart_guest());
	sys_sm_up(SEL_DONE_SM);
	sys_ec_exit();
}

/* Test port 0xfe: called by the vCPU EC while it handles an exit, i.e. while it is not in the
 * guest: the kernel must keep the recall for the next resume. */
static void recall_vcpu(void *arg)
{
	(void)arg;
	sys_ec_recall(SEL_VCPU_EC);
}

static bool give_page(uint64_t p)
{
	uint64_t crd = vireo_crd(CRD_MEM, (TASK_HEAP_VA >> 12) + p, 0, MEM_R | MEM_W | MEM_X);
	return sys_delegate(SEL_VM, crd, p, 0) == VIREO_OK;
}

/* The top 64 KiB of RAM go to the VM at first access: an NPF there is not MMIO. */
static bool map_lazy(struct vm *v, uint64_t gpa)
{
	static uint16_t given; /* bit i: page GUEST_LAZY_BASE / 4096 + i */
	if (gpa < GUEST_LAZY_BASE || gpa >= v->ram_size) {
		return false;
	}
	unsigned i = (unsigned)((gpa - GUEST_LAZY_BASE) >> 12);
	if (given & (1u << i)) {
		return false;
	}
	given |= (uint16_t)(1u << i);
	return give_page(gpa >> 12);
}

/*
 * Guest RAM: the first heap pages, delegated to guest-physical 0 in 2 MiB flexpages where the
 * heap came in blocks that large (heap=MiB, user/roottask/task.c), else page by page. A small
 * test guest's top 64 KiB go over only at first access (map_lazy).
 */
static int give_ram(const struct vireo_taskinfo *ti, uint64_t size)
{
	if (ti->heap_size < size) {
		printf("vmm: the heap (%lu KiB) is smaller than the guest's %lu KiB of RAM: give "
		       "the "
		       "VMM heap=MiB\n",
		       (unsigned long)(ti->heap_size >> 10), (unsigned long)(size >> 10));
		return -1;
	}
	vm.ram = (uint8_t *)TASK_HEAP_VA;
	vm.ram_size = size;
	if (size <= GUEST_RAM_SIZE) {
		memset(vm.ram, 0, size); /* larger heaps come zeroed from the roottask */
	}
	uint64_t eager = size == GUEST_RAM_SIZE ? GUEST_LAZY_BASE : size;
	uint64_t t0 = rdtsc(), calls = 0, pages = eager / 4096;
	for (uint64_t p = 0; p < pages;) {
		unsigned order = (p % 512 == 0 && pages - p >= 512) ? 9 : 0;
		uint64_t crd =
			vireo_crd(CRD_MEM, (TASK_HEAP_VA >> 12) + p, order, MEM_R | MEM_W | MEM_X);
		enum vireo_status st = sys_delegate(SEL_VM, crd, p, 0);
		calls++;
		if (st == VIREO_BAD_CAP && order) {
			order = 0; /* the heap is in 4 KiB capabilities here */
			crd = vireo_crd(CRD_MEM, (TASK_HEAP_VA >> 12) + p, 0,
					MEM_R | MEM_W | MEM_X);
			st = sys_delegate(SEL_VM, crd, p, 0);
			calls++;
		}
		if (st != VIREO_OK) {
			printf("vmm: delegating guest RAM at %#lx failed (status %d)\n",
			       (unsigned long)(p << 12), st);
			return -1;
		}
		p += 1ull << order;
	}
	if (eager < size) {
		vm.map_lazy = map_lazy;
	}
	uint64_t us = tsc_khz ? (rdtsc() - t0) * 1000 / tsc_khz : 0;
	printf("vmm: %lu MiB of guest RAM in %lu delegations (%lu us)\n",
	       (unsigned long)(size >> 20), (unsigned long)calls, (unsigned long)us);
	return 0;
}

static int load_boot_sector(const void *img, uint64_t size)
{
	if (size > GUEST_IMAGE_MAX) {
		printf("vmm: %s is not a boot sector or flat binary (512 B .. 64 KiB ending its "
		       "first sector in 0x55AA); size %lu\n",
		       vm.name, (unsigned long)size);
		return -1;
	}
	memcpy(vm.ram + GUEST_LOAD_ADDR, img, size);
	image = img;
	image_size = size;
	vm_reset_state(vm.st);
	return 0;
}

static int load_bzimage(const struct vireo_taskinfo *ti)
{
	const char *cmdline = ti->modules[0].cmdline;
	while (*cmdline > ' ') {
		cmdline++; /* the first word names the guest */
	}
	while (*cmdline == ' ') {
		cmdline++;
	}
	static char dflt[160];
	if (!*cmdline) {
		fmt_snprintf(dflt, sizeof(dflt), "%s", LINUX_DEFAULT_CMDLINE);
		if (ti->tsc_khz) {
			fmt_snprintf(dflt, sizeof(dflt), "%s tsc_early_khz=%u tsc=reliable",
				     LINUX_DEFAULT_CMDLINE, ti->tsc_khz);
		}
		cmdline = dflt;
	}
	const void *initrd = ti->nmodules > 1 ? (const void *)ti->modules[1].va : NULL;
	uint64_t initrd_size = ti->nmodules > 1 ? ti->modules[1].size : 0;
	const char *why = vm_load_linux(&vm, (const void *)ti->modules[0].va, ti->modules[0].size,
					cmdline, initrd, initrd_size);
	if (why) {
		printf("vmm: %s: cannot boot this bzImage: %s\n", vm.name, why);
		return -1;
	}
	printf("vmm: %s: Linux bzImage, initrd %lu bytes, command line \"%s\"\n", vm.name,
	       (unsigned long)initrd_size, cmdline);
	return 0;
}

static int create_vcpu(unsigned cpu)
{
	struct vireo_ec_create a = { .ip = (uintptr_t)vcpu_main,
				     .sp = (uintptr_t)&vcpu_stack[2048] - 8,
				     .utcb = VCPU_UTCB_VA,
				     .evt_base = TASK_EVT_BASE,
				     .cpu = cpu,
				     .flags = VIREO_EC_VCPU,
				     .vcpu_state = VCPU_STATE_VA };
	enum vireo_status st = sys_create_ec(SEL_VCPU_EC, SEL_SELF_PD, &a);
	if (st != VIREO_OK) {
		printf("vmm: cannot create the vCPU (status %d)\n", st);
		return -1;
	}
	vm.st = (struct vireo_vm_state *)VCPU_STATE_VA;
	vm.fetch = fetch_state;
	vm_reset_state(vm.st);
	return 0;
}

static int start_vcpu(void)
{
	return sys_create_sc(SEL_VCPU_SC, SEL_SELF_PD, SEL_VCPU_EC, VCPU_PRIO, VCPU_QUANTUM_US) ==
			       VIREO_OK
		       ? 0
		       : -1;
}

/* Console input from COM1 when the roottask gave the VMM its ports (ports=0x3f8:8). */
static bool have_com1(const struct vireo_taskinfo *ti)
{
	return ti->io_port_count >= 8 && ti->io_port_base <= COM1 &&
	       ti->io_port_base + ti->io_port_count >= COM1 + 8;
}

static uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* Ctrl-] on the console asks for the exit statistics (the counters are read while they move). */
#define STATS_KEY 0x1d

static bool poll_input(void)
{
	bool got = false;
	for (int i = 0; i < 64 && (inb(COM1 + 5) & 1); i++) {
		uint8_t c = inb(COM1);
		if (c == STATS_KEY) {
			vm_print_exit_stats(&vm, tsc_khz);
		} else {
			got |= vm_input_push(&vm, c);
		}
	}
	return got;
}

/*
 * With "revoke": take the last guest page away from the VM and give it back. Each revocation is a
 * TLB shoot-down that must reach the vCPU's CPU while it runs the guest (the kernel lock is held
 * until that CPU answers). False once it failed.
 */
static bool revoke_page(void)
{
	static unsigned long n;
	uint64_t page = vm.ram_size / 4096 - 1;
	uint64_t crd = vireo_crd(CRD_MEM, (TASK_HEAP_VA >> 12) + page, 0, MEM_R | MEM_W | MEM_X);
	if (sys_revoke(crd, 0) != VIREO_OK || sys_delegate(SEL_VM, crd, page, 0) != VIREO_OK) {
		printf("vmm: revoking guest page %#lx failed\n", (unsigned long)page);
		return false;
	}
	if (++n % 1000 == 0) {
		printf("vmm: %lu guest-page revocations while the guest ran\n", n);
	}
	return true;
}

/* The waker: every kernel tick, input and overdue device events get the vCPU's attention (and
 * with "revoke", a guest page is revoked and given back). */
static void wake_loop(bool input, bool revoke)
{
	while (sys_sm_down(SEL_DONE_SM, 1) == VIREO_TIMEOUT) {
		if (revoke) {
			revoke = revoke_page();
		}
		bool got = input && poll_input();
		__sync_synchronize(); /* pairs with the one in idle() */
		if (halted && got) {
			sys_sm_up(SEL_WAKE_SM);
		} else if (in_guest && (got || vm_now_ns(&vm) >= next_event_ns)) {
			sys_ec_recall(SEL_VCPU_EC);
		}
	}
}

static uint64_t arg_hex(const char *cmdline, const char *key)
{
	char val[20];
	uint64_t v = 0;
	if (!cmdline_get(cmdline, key, val, sizeof(val))) {
		return 0;
	}
	for (const char *p = val[0] == '0' && val[1] == 'x' ? val + 2 : val; *p; p++) {
		unsigned d = *p >= '0' && *p <= '9'   ? (unsigned)(*p - '0')
			     : *p >= 'a' && *p <= 'f' ? (unsigned)(*p - 'a' + 10)
						      : 16;
		if (d == 16) {
			break;
		}
		v = v << 4 | d;
	}
	return v;
}

/* Test port 0xec: the VMM's counters a test guest checks (guests/tests/README.md). */
static uint32_t counter(void *arg, unsigned which)
{
	struct vm *v = arg;
	switch (which) {
	case TESTDEV_COUNT_RDMSR:
		return (uint32_t)v->exits_by_reason[VM_EXIT_RDMSR];
	case TESTDEV_COUNT_WRMSR:
		return (uint32_t)v->exits_by_reason[VM_EXIT_WRMSR];
	case TESTDEV_COUNT_CR_OWNED:
		return (uint32_t)v->cr_exits_owned;
	case TESTDEV_COUNT_CR_VMM:
		return (uint32_t)v->cr_exits_vmm;
	case TESTDEV_COUNT_CR4_REAL:
		return (uint32_t)vm_state(v, VMTD_CR)->cr4;
	case TESTDEV_COUNT_CR_EXITS:
		return (uint32_t)v->exits_by_reason[VM_EXIT_CR_ACCESS];
	default:
		return 0xffffffffu;
	}
}

static uint64_t arg_mib(const char *cmdline, const char *key, uint64_t dflt)
{
	char val[16];
	uint64_t v = 0;
	if (!cmdline_get(cmdline, key, val, sizeof(val))) {
		return dflt;
	}
	for (const char *p = val; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
	}
	return v << 20;
}

static int setup(const struct vireo_taskinfo *ti, enum guest_format fmt, unsigned cpu)
{
	const void *img = (const void *)ti->modules[0].va;
	uint64_t size = ti->modules[0].size;
	bool is_linux = fmt == GUEST_BZIMAGE;
	uint64_t ram = arg_mib(ti->cmdline, "mem",
			       is_linux ? (uint64_t)VMM_LINUX_RAM_MIB << 20 : GUEST_RAM_SIZE);
	if (sys_create_sm(SEL_DONE_SM, SEL_SELF_PD, 0) != VIREO_OK ||
	    sys_create_sm(SEL_WAKE_SM, SEL_SELF_PD, 0) != VIREO_OK || give_ram(ti, ram) ||
	    create_vcpu(cpu)) {
		return -1;
	}
	vm_machine_init(&vm, !is_linux);
	if (vm.status != VM_RUNNING) {
		return -1;
	}
	int r = is_linux ? load_bzimage(ti) : load_boot_sector(img, size);
	if (!r) {
		vm_apply_ctrl(&vm);
	}
	return r;
}

int main(uintptr_t arg)
{
	const struct vireo_taskinfo *ti = (const struct vireo_taskinfo *)arg;
	if (ti->nmodules == 0) {
		printf("vmm: no guest image: boot a data module after vmm.elf\n");
		return 1;
	}
	static char name[64];
	for (unsigned i = 0; i < sizeof(name) - 1 && ti->modules[0].cmdline[i] > ' '; i++) {
		name[i] = ti->modules[0].cmdline[i];
	}
	vm.name = name;
	vm.status = VM_RUNNING;
	vm.trace = cmdline_has(ti->cmdline, "trace");
	vm.restart = cmdline_has(ti->cmdline, "restart");
	vm.show_exits = cmdline_has(ti->cmdline, "exits");
	bool revoke = cmdline_has(ti->cmdline, "revoke");
	unsigned cpu = 0;
	char cpu_arg[4];
	if (cmdline_get(ti->cmdline, "cpu", cpu_arg, sizeof(cpu_arg)) && cpu_arg[0] >= '0' &&
	    cpu_arg[0] <= '9' && !cpu_arg[1]) {
		cpu = (unsigned)(cpu_arg[0] - '0'); /* the vCPU's CPU (one digit) */
	}
	tsc_khz = ti->tsc_khz ? ti->tsc_khz : 1000000; /* unknown: assume 1 GHz */
	tsc0 = rdtsc();
	vm.clock_ns = tsc_clock;
	vm.idle = idle;
	vm.rtc_epoch_ns = RTC_EPOCH_NS;
	bool input = have_com1(ti);
	vm.input_wired = input;
	testdev_init(&vm.dev, console_out, result_out, &vm);
	vm.dev.recall = recall_vcpu;
	vm.dev.counter = counter;
	/* Intercept choices (docs/ABI.md "Intercept control"): "msrpass" lets the guest switch
	 * FS/GS/KERNEL_GS base, the SYSCALL and SYSENTER MSRs without exits; "cr4own=HEX" makes
	 * the VMM own those CR4 bits (set in the register, the guest sees a shadow). */
	vm.msr_pass = cmdline_has(ti->cmdline, "msrpass") ? VMSR_PASS_ALL : 0;
	vm.cr4_mask = arg_hex(ti->cmdline, "cr4own");
	enum guest_format fmt =
		guest_image_format((const void *)ti->modules[0].va, ti->modules[0].size);
	if (fmt == GUEST_UNKNOWN) {
		printf("vmm: %s is not a boot sector or flat binary (512 B .. 64 KiB ending its "
		       "first "
		       "sector in 0x55AA) nor a bzImage; size %lu\n",
		       vm.name, (unsigned long)ti->modules[0].size);
		return 1;
	}
	enum vireo_status st = sys_create_vm(SEL_VM, SEL_SELF_PD, VM_QUOTA);
	if (st == VIREO_BAD_FTR) {
		printf("vmm: SKIP: this CPU offers no hardware virtualization the kernel can "
		       "use\n");
		return 0;
	}
	if (st != VIREO_OK || setup(ti, fmt, cpu) || start_vcpu()) {
		printf("vmm: cannot set up the VM for %s\n", vm.name);
		return 1;
	}
	printf("vmm: running %s (%lu bytes) with %lu KiB of RAM%s\n", vm.name,
	       (unsigned long)ti->modules[0].size, (unsigned long)(vm.ram_size >> 10),
	       input ? ", console input from COM1" : "");
	uint64_t t0 = rdtsc();
	wake_loop(input, revoke);
	uint64_t ms = (rdtsc() - t0) / tsc_khz;
	print_bench(&vm);
	printf("vmm: guest %s %s after %lu VM exits in %lu ms (io %lu, mmio %lu, cpuid %lu, hlt "
	       "%lu, invd/wbinvd %lu)\n",
	       vm.name, summary(&vm), (unsigned long)vm.st->exits, (unsigned long)ms,
	       (unsigned long)vm.exits_by_reason[VM_EXIT_IO],
	       (unsigned long)vm.exits_by_reason[VM_EXIT_MMIO],
	       (unsigned long)vm.exits_by_reason[VM_EXIT_CPUID],
	       (unsigned long)vm.exits_by_reason[VM_EXIT_HLT],
	       (unsigned long)vm.exits_by_reason[VM_EXIT_CACHE]);
	vm_print_exit_stats(&vm, tsc_khz);
	return 0;
}
