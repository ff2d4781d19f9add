/* SPDX-License-Identifier: MIT */
/*
 * The VMM task: builds a VM PD, gives it RAM from the VMM's heap, loads the guest from its data
 * modules — a Linux bzImage (with an initrd as the second module) by the boot protocol, or a boot
 * sector / flat binary at 0x7c00 — and runs one vCPU EC whose loop is "resume, handle the exit".
 * The main EC is the vCPU's waker: it sleeps until the next device event is due (a kernel timeout
 * to the microsecond, docs/ABI.md "Timeouts") and recalls the vCPU out of the guest then (the guest
 * may spin with no exits); with polled console input or "revoke" it also wakes every 10 ms.
 * Console input is interrupt-driven when the roottask gave the VMM COM1's ports and its interrupt
 * (ports=0x3f8:8 irq=4): an input EC sleeps on the interrupt's semaphore, reads the bytes the host
 * UART has and wakes the vCPU. With the ports but no interrupt the waker polls COM1 instead (the
 * fallback).
 *
 * With "post=R" the main EC first posts interrupts to the running guest from its own CPU
 * (SYS_VCPU_POST; the test guest guests/tests/posted.S counts them); "post_slowest=T" makes a
 * single post slower than T TSC ticks from post to guest handler an error.
 *
 * With "ioport=LO-HI" the VMM delegates those ports of its own I/O space (the roottask gives them:
 * ports=BASE:COUNT) to the VM, whose guest then reaches them without exits; the test port 0xea
 * makes the VMM revoke them again (docs/architecture.md#vm-io-space), with "ioport_async" from the
 * main EC, on its own CPU, while the guest runs.
 *
 * Module command lines: "vmm [mem=MiB] [trace] [post=R [post_slowest=T]] [ioport=LO-HI]", then
 * "<name> [kernel command line]" for the guest image and "<name>" for an initrd. Ctrl-] on the
 * console prints the exit statistics.
 */
#include "vmm.h"

#include "bzimage.h"
#include "cmdline.h"
#include "fmt.h"
#include "portpass.h"

#define VCPU_UTCB_VA (TASK_FREE_VA + 0x10000)
#define VCPU_STATE_VA (TASK_FREE_VA + 0x20000)
#define VM_QUOTA (1ull << 20)
#define SEL_WAKE_SM 44	/* the vCPU's thread sleeps on it in HLT */
#define SEL_INPUT_EC 45 /* console input: waits for COM1's interrupt */
#define SEL_INPUT_SC 46
#define INPUT_UTCB_VA (TASK_FREE_VA + 0x40000)
#define INPUT_PRIO 8 /* the task's own priority: the input EC preempts the vCPU's thread */
#define INPUT_QUANTUM_US 1000
/* With vcpus=2: a second vCPU of the same VM (docs/ABI.md "vCPUs"), its SC, its end. */
#define SEL_AP_EC 47
#define SEL_AP_SC 48
#define SEL_AP_DONE_SM 49
#define AP_UTCB_VA (TASK_FREE_VA + 0x30000)
#define AP_STATE_VA (TASK_FREE_VA + 0x50000)
#define AP_ENTRY 0x8000 /* real mode 0000:8000, as a SIPI with vector 8 would start it */
#define SEL_POST_SM 50	/* "post=R": the poster sleeps on it between its looks at the guest */
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
/* When the waker wakes next (it is told when a device event comes due earlier), and whether the
 * vCPU's thread has ended (it then ups SEL_DONE_SM, the semaphore the waker sleeps on). */
static volatile uint64_t waker_until = VMM_TIME_NEVER;
static volatile bool vcpu_done;
#define WAKER_POLL_NS 10000000ull
/* "ioport_async": the guest asked for its passed-through ports to be revoked; the waker does it. */
static volatile bool iopass_async_pending;
static void iopass_revoke_now(struct vm *v);
/* HLT sleeps that ended by their timeout, and how late after the device event they woke. */
static uint64_t hlt_timed, hlt_late_sum_ns, hlt_late_max_ns;

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/*
 * sys_vcpu_resume(pd) between two reads of the TSC, as close to the SYSCALL as the instructions
 * allow: the VMM's share of an exit (exit_tsc, the benchmark's split) is the time outside them, so
 * only the six that store the first reading, load the call number, SYSCALL and keep the status
 * count as the kernel's. RDX, which RDTSC overwrites, is an argument SYS_VCPU_RESUME of a VM does not read.
 */
static enum vireo_status vcpu_resume_timed(uint64_t pd, uint64_t *before, uint64_t *after)
{
	uint64_t rdi = pd, rsi = 0, lo, hi;
	long status;
	register uint64_t r10 __asm__("r10") = 0;
	register uint64_t r8 __asm__("r8") = 0;
	__asm__ volatile("rdtsc\n\t"
			 "shl $32, %%rdx\n\t"
			 "or %%rdx, %%rax\n\t"
			 "mov %%rax, %[before]\n\t"
			 "mov %[nr], %%eax\n\t"
			 "syscall\n\t"
			 "mov %%rax, %[status]\n\t"
			 "rdtsc"
			 : "=a"(lo), "=d"(hi), [status] "=&r"(status), [before] "=m"(*before),
			   "+D"(rdi), "+S"(rsi), "+r"(r10), "+r"(r8)
			 : [nr] "i"(SYS_VCPU_RESUME)
			 : "rcx", "r11", "r9", "memory");
	*after = hi << 32 | (uint32_t)lo;
	return (enum vireo_status)status;
}

/* Guest time follows the TSC at the rate the kernel measured; the guest reads the same TSC from
 * 0 at the VMM's start: its tsc_offset is -tsc0 (docs/ABI.md "TSC offset"). */
static void reset_state(struct vireo_vm_state *st)
{
	vm_reset_state(st);
	st->tsc_offset = 0 - tsc0;
}

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
	if ((v->input_head == v->input_tail || !uart_rx_room(&v->m.com1)) &&
	    sys_sm_down(SEL_WAKE_SM, timeout) == VIREO_TIMEOUT && until_ns != VMM_TIME_NEVER) {
		uint64_t now = vm_now_ns(v), late = now > until_ns ? now - until_ns : 0;
		hlt_timed++;
		hlt_late_sum_ns += late;
		if (late > hlt_late_max_ns) {
			hlt_late_max_ns = late;
		}
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
					     [TESTDEV_BENCH_IO] = "vm_pio_roundtrip",
					     [TESTDEV_BENCH_HLT] = "hlt_wakeup_latency",
					     [TESTDEV_BENCH_POST] = "vm_posted_irq_latency" };
	static const char *const units[] = { [TESTDEV_BENCH_EXIT] = "insns",
					     [TESTDEV_BENCH_LOOP] = "insns",
					     [TESTDEV_BENCH_IO] = "insns",
					     [TESTDEV_BENCH_HLT] = "us",
					     [TESTDEV_BENCH_POST] = "insns" };
	bool any = false;
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint32_t value;
		if (testdev_bench(&v->dev, i, &value)) {
			printf("bench: %s %u %s\n", names[i], value, units[i]);
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
	reset_state(vm.st);
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
		vm.next_event_ns = vm_next_event_ns(&vm);
		while (vm.status == VM_RUNNING) {
			next_event_ns = vm.next_event_ns; /* vm_handle_exit keeps it current */
			in_guest = true;
			__sync_synchronize(); /* the waker sees in_guest, or this its deadline */
			if (next_event_ns < waker_until) {
				sys_sm_up(SEL_DONE_SM); /* due before the waker wakes: tell it */
			}
			uint64_t called, back;
			enum vireo_status st = vcpu_resume_timed(SEL_VM, &called, &back);
			in_guest = false;
			if (reason < VM_EXIT_COUNT) {
				/* the whole VMM path of the exit, from the kernel's return to its next call */
				vm.exit_tsc[reason] += called - t0;
			}
			t0 = back;
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
	vcpu_done = true;
	sys_sm_up(SEL_DONE_SM);
	sys_ec_exit();
}

/*
 * The second vCPU's thread (vcpus=2): the same VM, another CPU, its own state page. Test guests
 * run plain code on it (guests/tests/smp2.S): it stops at its first exit, which must be HLT;
 * main() reports how it ended once the first vCPU is done.
 */
static uint64_t ap_stack[1024] __attribute__((aligned(16)));
static volatile uint32_t ap_exit = VM_EXIT_OTHER + 1; /* none yet */

static __attribute__((noreturn)) void ap_main(uint64_t arg)
{
	(void)arg;
	struct vireo_vm_state *st = (struct vireo_vm_state *)AP_STATE_VA;
	/* It starts as an AP after INIT: waiting for SIPI, which the kernel must not enter. */
	enum vireo_status res = sys_vcpu_resume(SEL_VM);
	if (res != VIREO_OK || st->exit != VM_EXIT_HLT || st->qual != VM_ACTIVITY_WAIT_SIPI ||
	    st->exits != 0) {
		printf("vmm: vCPU 1 waiting for SIPI was entered (exit %u)\n", st->exit);
		res = VIREO_BAD_PAR;
	}
	/* The start-up IPI with vector 8: real mode at 0000:8000 (the reset state has CS 0). */
	st->rip = AP_ENTRY;
	st->activity = VM_ACTIVITY_RUNNING;
	st->mtd_in |= VMTD_RIP | VMTD_EVENTS; /* docs/ABI.md "State groups" */
	while (res == VIREO_OK) {
		res = sys_vcpu_resume(SEL_VM);
		if (st->exit != VM_EXIT_RECALL) {
			break;
		}
	}
	ap_exit = res == VIREO_OK ? st->exit : VM_EXIT_INVALID;
	sys_sm_up(SEL_AP_DONE_SM);
	sys_ec_exit();
}

static int start_ap(unsigned cpu)
{
	struct vireo_ec_create a = { .ip = (uintptr_t)ap_main,
				     .sp = (uintptr_t)&ap_stack[1024] - 8,
				     .utcb = AP_UTCB_VA,
				     .evt_base = TASK_EVT_BASE,
				     .cpu = cpu,
				     .flags = VIREO_EC_VCPU,
				     .vcpu_state = AP_STATE_VA };
	if (sys_create_sm(SEL_AP_DONE_SM, SEL_SELF_PD, 0) != VIREO_OK ||
	    sys_create_ec(SEL_AP_EC, SEL_SELF_PD, &a) != VIREO_OK) {
		printf("vmm: cannot create the second vCPU\n");
		return -1;
	}
	struct vireo_vm_state *st = (struct vireo_vm_state *)AP_STATE_VA;
	vm_reset_state(st);
	st->activity = VM_ACTIVITY_WAIT_SIPI;
	if (sys_create_sc(SEL_AP_SC, SEL_SELF_PD, SEL_AP_EC, VCPU_PRIO, VCPU_QUANTUM_US) !=
	    VIREO_OK) {
		printf("vmm: cannot start the second vCPU\n");
		return -1;
	}
	return 0;
}

static void ap_report(unsigned cpu)
{
	sys_sm_down(SEL_AP_DONE_SM, VIREO_TIMEOUT_NEVER);
	const struct vireo_vm_state *st = (const struct vireo_vm_state *)AP_STATE_VA;
	unsigned e = ap_exit;
	printf("vmm: vCPU 1 on CPU %u %s after %lu VM exits (last exit %u)\n", cpu,
	       e == VM_EXIT_HLT ? "halted" : "failed", (unsigned long)st->exits, e);
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
 * The largest flexpage that starts at heap page p: aligned there and inside [p, pages). Guest
 * page p is heap page p, so the alignment holds on both sides.
 */
static unsigned ram_order(uint64_t p, uint64_t pages)
{
	unsigned order = 0;
	while (order < 30 && (p & ((2ull << order) - 1)) == 0 && p + (2ull << order) <= pages) {
		order++;
	}
	return order;
}

/*
 * Guest RAM: the first heap pages, delegated to guest-physical 0 in the largest flexpages the heap
 * allows: the heap came in capabilities as large as 1 GiB (heap=MiB, user/roottask/task.c), or
 * page by page without heap=, and a flexpage must lie inside one of them (BAD_CAP otherwise: then
 * the next smaller one is tried).
 * 1 GiB of guest RAM is then one call and one mapping-database node. A small test guest's top
 * 64 KiB go over only at first access (map_lazy).
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
	uint64_t t0 = rdtsc(), calls = 0, flexpages = 0, pages = eager / 4096;
	struct vireo_kstat k0, k1;
	bool counted = sys_kstat(&k0) == VIREO_OK;
	/* The heap's capabilities do not grow along it (user/roottask/task.c): once one was
	 * smaller than a flexpage, later flexpages start at that size. */
	unsigned hint = 63;
	char max_arg[4];
	if (cmdline_get(ti->cmdline, "flexpage_max", max_arg, sizeof(max_arg)) &&
	    max_arg[0] >= '0' && max_arg[0] <= '9') {
		/* For comparisons (make bench): flexpages of at most 2^N pages. */
		hint = (unsigned)(max_arg[0] - '0');
		if (max_arg[1] >= '0' && max_arg[1] <= '9') {
			hint = hint * 10 + (unsigned)(max_arg[1] - '0');
		}
	}
	for (uint64_t p = 0; p < pages;) {
		enum vireo_status st;
		unsigned order = ram_order(p, pages);
		order = order < hint ? order : hint;
		for (;;) {
			uint64_t crd = vireo_crd(CRD_MEM, (TASK_HEAP_VA >> 12) + p, order,
						 MEM_R | MEM_W | MEM_X);
			st = sys_delegate(SEL_VM, crd, p, 0);
			calls++;
			if (st != VIREO_BAD_CAP || order == 0) {
				break;
			}
			hint = --order; /* the heap's capability there is smaller */
		}
		if (st != VIREO_OK) {
			printf("vmm: delegating guest RAM at %#lx failed (status %d)\n",
			       (unsigned long)(p << 12), st);
			return -1;
		}
		p += 1ull << order;
		flexpages++;
	}
	if (eager < size) {
		vm.map_lazy = map_lazy;
	}
	uint64_t ticks = rdtsc() - t0, us = tsc_khz ? ticks * 1000 / tsc_khz : 0;
	counted = counted && sys_kstat(&k1) == VIREO_OK;
	/* Under QEMU -icount the TSC counts instructions: make bench reads the ticks from here. */
	printf("vmm: %lu MiB of guest RAM in %lu flexpages, %lu system calls, %ld mapping-database "
	       "nodes, %lu TSC ticks (%lu us)\n",
	       (unsigned long)(size >> 20), (unsigned long)flexpages, (unsigned long)calls,
	       counted ? (long)(k1.mdb_nodes - k0.mdb_nodes) : -1L, (unsigned long)ticks,
	       (unsigned long)us);
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
	reset_state(vm.st);
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
	vm.st->tsc_offset = 0 - tsc0; /* vm_linux_state reset the state */
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
	reset_state(vm.st);
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

static void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port));
}

/* Ctrl-] on the console asks for the exit statistics (the counters are read while they move). */
#define STATS_KEY 0x1d

/* The bytes the host UART holds, at most `max` (the receiver's LSR.DR bit, 16550 datasheet). */
static bool read_input(int max)
{
	bool got = false;
	for (int i = 0; i < max && (inb(COM1 + 5) & 1); i++) {
		uint8_t c = inb(COM1);
		if (c == STATS_KEY) {
			vm_print_exit_stats(&vm, tsc_khz);
		} else {
			got |= vm_input_push(&vm, c);
		}
	}
	return got;
}

static bool poll_input(void)
{
	return read_input(64);
}

/* New input for the guest: a halted vCPU wakes, a running one leaves the guest to take it. */
static void wake_for_input(bool got)
{
	__sync_synchronize(); /* pairs with the one in idle() */
	if (halted && got) {
		sys_sm_up(SEL_WAKE_SM);
	} else if (in_guest && got) {
		sys_ec_recall(SEL_VCPU_EC);
	}
}

static uint64_t input_stack[1024] __attribute__((aligned(16)));

/*
 * The input EC: each interrupt of the host's COM1 (received data available) is an up on the
 * semaphore the roottask bound to its GSI. The UART holds its interrupt line up while data is
 * there, and an ISA line interrupts on its rising edge, so all of it is read before the next wait
 * (the next byte then raises the line again).
 */
static __attribute__((noreturn)) void input_main(uint64_t arg)
{
	(void)arg;
	/* Only this EC reads the host UART (the input ring has one producer); it starts with what
	 * came before the interrupt was on. */
	do {
		wake_for_input(read_input(4096));
	} while (sys_sm_down(SEL_TASK_IRQ_SM, VIREO_TIMEOUT_NEVER) == VIREO_OK);
	printf("vmm: waiting for COM1's interrupt failed: console input stops\n");
	sys_ec_exit();
}

/*
 * Interrupt-driven input: the host UART interrupts on received data (IER bit 0, with OUT2, which
 * gates the interrupt onto the ISA line on PCs), and an input EC waits for it. False, with
 * nothing changed, when the roottask bound no interrupt or the EC cannot be made.
 */
static bool start_input_irq(const struct vireo_taskinfo *ti)
{
	if (ti->irq_gsi < 0) {
		return false;
	}
	struct vireo_ec_create a = { .ip = (uintptr_t)input_main,
				     .sp = (uintptr_t)&input_stack[1024] - 8,
				     .utcb = INPUT_UTCB_VA,
				     .evt_base = TASK_EVT_BASE,
				     .cpu = 0 };
	if (sys_create_ec(SEL_INPUT_EC, SEL_SELF_PD, &a) != VIREO_OK) {
		return false;
	}
	if (sys_create_sc(SEL_INPUT_SC, SEL_SELF_PD, SEL_INPUT_EC, INPUT_PRIO, INPUT_QUANTUM_US) !=
	    VIREO_OK) {
		sys_revoke(vireo_crd(CRD_OBJ, SEL_INPUT_EC, 0, 0), VIREO_REVOKE_SELF);
		return false;
	}
	/* With data already waiting, enabling the interrupt raises it at once (16550 datasheet). */
	outb(COM1 + 4, inb(COM1 + 4) | 0x08); /* MCR.OUT2 */
	outb(COM1 + 1, inb(COM1 + 1) | 0x01); /* IER: received data available */
	return true;
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

/* The waker: overdue device events and console input get the vCPU's attention (and with "revoke",
 * a guest page is revoked and given back every 10 ms). Its clock is the running one, never the
 * instant the vCPU's thread holds in mid-exit (struct vm_waker). */
static void wake_loop(bool input, bool revoke)
{
	bool poll = input || revoke;
	struct vm_waker w;
	vm_waker_init(&w, &vm, poll ? WAKER_POLL_NS : 0);
	while (!vcpu_done) {
		uint64_t until;
		vm_waker_timeout_us(&w, in_guest, next_event_ns, &until);
		waker_until = until;
		__sync_synchronize(); /* the vCPU's thread sees the deadline, or this its event */
		uint64_t timeout = vm_waker_timeout_us(&w, in_guest, next_event_ns, &until);
		sys_sm_down(SEL_DONE_SM, timeout);
		if (iopass_async_pending) {
			iopass_async_pending = false;
			iopass_revoke_now(&vm);
		}
		bool got = false;
		if (vm_waker_poll_due(&w)) {
			if (revoke) {
				revoke = revoke_page();
			}
			got = input && poll_input();
		}
		__sync_synchronize(); /* pairs with the one in idle() */
		if (halted && got) {
			sys_sm_up(SEL_WAKE_SM);
		} else if (in_guest && (got || vm_waker_event_due(&w, next_event_ns))) {
			sys_ec_recall(SEL_VCPU_EC);
		}
	}
}

/*
 * "post=R": R rounds of posting vectors 0x47 .. 0x40 at once from this thread while the vCPU runs
 * its guest on another CPU, each round once the guest counted the one before; then single posts
 * of 0x47 whose latency, post to handler (the guest's TSC less its tsc_offset is the host's), is the
 * bench value vm_posted_irq_latency (instructions under -icount). Protocol: guests/tests/posted.S.
 */
#define POST_LAT_ROUNDS 20
#define POST_READY 0x21594452u /* "RDY!" */
#define POST_DONE 0x454e4f44u  /* "DONE" */

static bool post_rounds_done;

static bool post_wait(volatile uint32_t *word, uint32_t at_least)
{
	uint64_t t0 = rdtsc(), limit = 5000ull * tsc_khz; /* 5 s */
	while (*word < at_least || (at_least == POST_READY && *word != POST_READY)) {
		if (vm.status != VM_RUNNING || rdtsc() - t0 > limit) {
			return false;
		}
		sys_sm_down(SEL_POST_SM, 20);
	}
	return true;
}

static void post_loop(unsigned rounds, uint64_t slowest_limit)
{
	volatile uint32_t *w = (volatile uint32_t *)(vm.ram + 0x500);
	volatile uint64_t *tsc_in = (volatile uint64_t *)(vm.ram + 0x508);
	if (!post_wait(&w[1], POST_READY)) {
		printf("vmm: post: the guest never said it was ready\n");
		return;
	}
	uint32_t posted = 0;
	uint64_t lat[POST_LAT_ROUNDS];
	unsigned nlat = 0;
	for (unsigned r = 0; r < rounds + POST_LAT_ROUNDS; r++) {
		bool single = r >= rounds;
		uint64_t t = rdtsc();
		for (unsigned vec = 0x47; vec >= (single ? 0x47u : 0x40u); vec--) {
			enum vireo_status st = sys_vcpu_post(SEL_VCPU_EC, vec);
			if (st != VIREO_OK) {
				printf("vmm: post: SYS_VCPU_POST refused (status %d)\n", st);
				return;
			}
			posted++;
		}
		if (!post_wait(&w[0], posted)) {
			printf("vmm: post: the guest counted %u of %u posted interrupts\n", w[0],
			       posted);
			return;
		}
		/* A single post's handler ran once its TSC word is past the post (QEMU may deliver an
		 * injected interrupt twice under -icount, so the count alone could be ahead). */
		while (single && *tsc_in - vm.st->tsc_offset < t && vm.status == VM_RUNNING) {
			sys_sm_down(SEL_POST_SM, 20);
		}
		if (single) {
			/* The handler's TSC is the guest's: less its offset, it is the host's. Kept in
			 * order: the median is the bench figure, the slowest its own line. */
			uint64_t d = *tsc_in - vm.st->tsc_offset - t;
			unsigned i = nlat++;
			for (; i > 0 && lat[i - 1] > d; i--) {
				lat[i] = lat[i - 1];
			}
			lat[i] = d;
		}
	}
	w[4] = posted; /* 0x510: the total, 0x514/0x518: per vector */
	w[5] = rounds;
	w[6] = rounds + POST_LAT_ROUNDS;
	/* The latency and this line before the guest is told: once it sees POST_DONE it checks,
	 * reports and reads the bench figure on its own CPU, racing anything done after. */
	_Static_assert(POST_LAT_ROUNDS % 2 == 0, "the median of an even count");
	uint64_t median = (lat[POST_LAT_ROUNDS / 2 - 1] + lat[POST_LAT_ROUNDS / 2]) / 2;
	vm.dev.bench[TESTDEV_BENCH_POST] = (uint32_t)median;
	vm.dev.bench_set |= 1u << TESTDEV_BENCH_POST;
	uint64_t slowest = lat[POST_LAT_ROUNDS - 1];
	printf("bench: vm_posted_irq_latency_max %lu insns\n", (unsigned long)slowest);
	if (slowest_limit && slowest > slowest_limit) {
		printf("vmm: post: the slowest single post took %lu TSC ticks, more than "
		       "post_slowest=%lu\n",
		       (unsigned long)slowest, (unsigned long)slowest_limit);
		return;
	}
	printf("vmm: single posts' latency, post to handler: fastest %lu, median %lu, slowest "
	       "%lu\n",
	       (unsigned long)lat[0], (unsigned long)median, (unsigned long)slowest);
	printf("vmm: posted %u interrupts to the running guest from another thread, "
	       "%u rounds of 8 vectors and %u single\n",
	       posted, rounds, POST_LAT_ROUNDS);
	post_rounds_done = true;
	__sync_synchronize();
	w[1] = POST_DONE;
}

/*
 * "post=R [post_slowest=T]": the post loop, once both are numbers (R at most 100000). A value that
 * is not is an error on the console (the tests fail on "vmm: post: "), and nothing is posted.
 */
static void post_start(const char *cmdline)
{
	char arg[24];
	uint64_t rounds, slowest = 0;
	if (!cmdline_get(cmdline, "post", arg, sizeof(arg))) {
		return;
	}
	/* cmdline_get_u64: the whole value a number ("12ab" is not 12) */
	if (!cmdline_get_u64(cmdline, "post", &rounds) || rounds > 100000) {
		printf("vmm: post: post=%s is not a number of rounds up to 100000\n", arg);
		return;
	}
	if (cmdline_get(cmdline, "post_slowest", arg, sizeof(arg)) &&
	    !cmdline_get_u64(cmdline, "post_slowest", &slowest)) {
		printf("vmm: post: post_slowest=%s is not a number of TSC ticks\n", arg);
		return;
	}
	if (sys_create_sm(SEL_POST_SM, SEL_SELF_PD, 0) != VIREO_OK) {
		printf("vmm: post: no semaphore for the poster\n");
		return;
	}
	post_loop((unsigned)rounds, slowest);
}

/* key=MiB in bytes; `dflt` when absent, not a number or too large to be a size in bytes. */
/* key=N (decimal, or hex with 0x) as a bit mask; 0 when absent or malformed. */
static uint64_t arg_mask(const char *cmdline, const char *key)
{
	uint64_t v;
	return cmdline_get_u64(cmdline, key, &v) ? v : 0;
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
	case TESTDEV_COUNT_IOPASS:
		return (uint32_t)v->iopass_exits;
	default:
		return 0xffffffffu;
	}
}

static uint64_t arg_mib(const char *cmdline, const char *key, uint64_t dflt)
{
	uint64_t mib;
	if (!cmdline_get_u64(cmdline, key, &mib) || mib > (UINT64_MAX >> 20)) {
		return dflt;
	}
	return mib << 20;
}

/* ---------------------------------------------------------------- ioport=LO-HI */

static uint64_t iopass_exits_at_revoke; /* I/O exits at the range while it was the guest's */

static bool iopass_give(void *arg, uint32_t port, unsigned order)
{
	(void)arg;
	enum vireo_status st = sys_delegate(SEL_VM, vireo_crd(CRD_IO, port, order, IO_RW), port, 0);
	if (st != VIREO_OK) {
		printf("vmm: ioport: delegating ports %#x-%#x to the VM failed (status %d%s)\n",
		       port, port + (1u << order) - 1, st,
		       st == VIREO_BAD_DEV   ? ": the kernel drives one of them"
		       : st == VIREO_BAD_CAP ? ": the VMM does not hold them"
		       : st == VIREO_BAD_FTR ? ": this CPU cannot pass ports through"
					     : "");
	}
	return st == VIREO_OK;
}

static bool iopass_take(void *arg, uint32_t port, unsigned order)
{
	(void)arg;
	/* Without SELF: what derives from the VMM's ports goes (the VM's), the VMM keeps them. */
	return sys_revoke(vireo_crd(CRD_IO, port, order, IO_RW), 0) == VIREO_OK;
}

/* With ioport_async the VMM's main thread revokes (on its own CPU, while the guest runs). */
static bool iopass_async;

/* Test port 0xea: the guest's ports go back to being emulated (every access exits again). */
static void iopass_revoke_now(struct vm *v)
{
	bool ok;
	iopass_exits_at_revoke = v->iopass_exits;
	unsigned n = portpass_each_block(v->iopass_lo, v->iopass_hi, iopass_take, v, &ok);
	printf("vmm: ports %#x-%#x revoked from the guest (%u flexpages)%s\n", v->iopass_lo,
	       v->iopass_hi, n, ok ? "" : ": a revoke failed");
	if (!ok) {
		vm_stop(v, VM_FAILED, "revoking the passed-through ports failed");
	}
	__sync_synchronize(); /* the guest that sees the count sees the ports gone */
	v->dev.io_revokes++;
}

static void iopass_revoke(void *arg)
{
	struct vm *v = arg;
	if (!v->iopass) {
		return;
	}
	if (!iopass_async) {
		iopass_revoke_now(v);
		return;
	}
	iopass_async_pending = true;
	__sync_synchronize();
	sys_sm_up(SEL_DONE_SM); /* the waker (wake_loop) does it */
}

/* ioport=LO-HI: ports of the VMM's own I/O space the guest gets. -1 on a bad word or failure. */
static int iopass_setup(const struct vireo_taskinfo *ti)
{
	char val[32];
	if (!cmdline_get(ti->cmdline, "ioport", val, sizeof(val))) {
		return 0;
	}
	uint32_t lo, hi;
	if (!portpass_parse(val, &lo, &hi)) {
		printf("vmm: write ioport=LO-HI (two port numbers, 0x for hex, LO <= HI)\n");
		return -1;
	}
	uint64_t base = ti->io_port_base, end = base + ti->io_port_count;
	if (lo < base || hi >= end) {
		printf("vmm: ioport=%#x-%#x: the VMM holds %s%#lx-%#lx (the roottask gives ports "
		       "with "
		       "ports=BASE:COUNT)\n",
		       lo, hi, ti->io_port_count ? "only " : "no ports, not even ",
		       (unsigned long)base, (unsigned long)(end ? end - 1 : 0));
		return -1;
	}
	bool ok;
	unsigned n = portpass_each_block(lo, hi, iopass_give, &vm, &ok);
	if (!ok) {
		return -1;
	}
	vm.iopass = true;
	vm.iopass_lo = lo;
	vm.iopass_hi = hi;
	vm.dev.io_revoke = iopass_revoke;
	iopass_async = cmdline_has(ti->cmdline, "ioport_async");
	printf("vmm: ports %#x-%#x passed through to the guest (%u flexpages)\n", lo, hi, n);
	return 0;
}

static void iopass_report(void)
{
	if (!vm.iopass) {
		return;
	}
	uint64_t before = vm.dev.io_revokes ? iopass_exits_at_revoke : vm.iopass_exits;
	printf("vmm: ports %#x-%#x: %lu I/O exits while passed through, %lu after %u revokes\n",
	       vm.iopass_lo, vm.iopass_hi, (unsigned long)before,
	       (unsigned long)(vm.iopass_exits - before), vm.dev.io_revokes);
	/* guests/tests/iopass.S leaves its poll count where the revoke took effect (20000000 - n)
	 * and the TSC ticks of its 1000 passed-through and 50 exiting OUT/IN pairs (instructions
	 * under QEMU -icount shift=0). */
	const volatile uint32_t *g = (const volatile uint32_t *)(vm.ram + 0x504);
	if (vm.status == VM_PASSED && g[1] && g[2]) {
		printf("vmm: the guest's OUT/IN pairs took %u TSC ticks each passed through, %u "
		       "exiting\n",
		       g[1] / 1000, g[2] / 50);
	}
	uint32_t left = g[0];
	if (vm.dev.io_revokes && left && left <= 20000000u) {
		printf("vmm: the guest's accesses passed through %u more times before the revoke "
		       "took effect%s\n",
		       20000000u - left, iopass_async ? " (revoked from another thread)" : "");
	}
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
	    create_vcpu(cpu) || iopass_setup(ti)) {
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
	 * FS/GS/KERNEL_GS base, the SYSCALL and SYSENTER MSRs without exits; "cr4own=MASK" (0x for hex) makes
	 * the VMM own those CR4 bits (set in the register, the guest sees a shadow). */
	vm.msr_pass = cmdline_has(ti->cmdline, "msrpass") ? VMSR_PASS_ALL : 0;
	vm.cr4_mask = arg_mask(ti->cmdline, "cr4own");
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
	char vcpus[4] = "1";
	cmdline_get(ti->cmdline, "vcpus", vcpus, sizeof(vcpus));
	bool two = vcpus[0] == '2' && !vcpus[1] && fmt == GUEST_BOOT_SECTOR;
	unsigned ap_cpu = ti->cpus_online > 1 ? (cpu + 1) % ti->cpus_online : cpu;
	if (st != VIREO_OK || setup(ti, fmt, cpu) || start_vcpu() || (two && start_ap(ap_cpu))) {
		printf("vmm: cannot set up the VM for %s\n", vm.name);
		return 1;
	}
	bool input_irq = input && start_input_irq(ti);
	vm.input_how = !input ? NULL : input_irq ? "host IRQ" : "polled";
	printf("vmm: running %s (%lu bytes) with %lu KiB of RAM%s\n", vm.name,
	       (unsigned long)ti->modules[0].size, (unsigned long)(vm.ram_size >> 10),
	       !input	   ? ""
	       : input_irq ? ", console input from COM1 (its interrupt)"
			   : ", console input from COM1 (polled every tick: no interrupt given)");
	uint64_t t0 = rdtsc();
	post_start(ti->cmdline);
	wake_loop(input && !input_irq, revoke);
	if (post_rounds_done) {
		volatile uint16_t *vc = (volatile uint16_t *)(vm.ram + 0x520);
		printf("vmm: the guest took vectors 0x40-0x47 %u %u %u %u %u %u %u %u times\n",
		       vc[0], vc[1], vc[2], vc[3], vc[4], vc[5], vc[6], vc[7]);
	}
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
	if (hlt_timed) {
		printf("vmm: %lu HLT sleeps ended by their timeout, woke late by %lu us "
		       "on average, %lu us at most\n",
		       (unsigned long)hlt_timed,
		       (unsigned long)(hlt_late_sum_ns / hlt_timed / 1000),
		       (unsigned long)(hlt_late_max_ns / 1000));
	}
	iopass_report();
	vm_print_exit_stats(&vm, tsc_khz);
	if (two) {
		ap_report(ap_cpu);
	}
	return 0;
}
