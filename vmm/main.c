/* SPDX-License-Identifier: MIT */
/*
 * The VMM task: builds a VM PD, gives it RAM from the VMM's heap, loads the guest image from its
 * data module as a boot sector (or flat binary) at 0x7c00, and runs one vCPU EC whose loop is
 * "resume, handle the exit". The main EC waits for the vCPU to finish and reports.
 */
#include "vmm.h"

#include "cmdline.h"

#define VCPU_UTCB_VA (TASK_FREE_VA + 0x10000)
#define VCPU_STATE_VA (TASK_FREE_VA + 0x20000)
#define VM_QUOTA (1ull << 20)

static struct vm vm;
static uint64_t vcpu_stack[2048] __attribute__((aligned(16)));

static void console_out(void *arg, char c)
{
	struct vm *v = arg;
	if (c == '\n' || v->line_len == sizeof(v->line) - 1) {
		v->line[v->line_len] = 0;
		if (v->show_exits) {
			printf("guest: %s (vm exits %lu)\n", v->line, (unsigned long)v->st->exits);
		} else {
			printf("guest: %s\n", v->line);
		}
		v->line_len = 0;
	} else if (c != '\r') {
		v->line[v->line_len++] = c;
	}
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
					     [TESTDEV_BENCH_LOOP] = "vm_loop_overhead" };
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint32_t value;
		if (testdev_bench(&v->dev, i, &value)) {
			printf("bench: %s %u insns\n", names[i], value);
		}
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
	vm.line_len = 0;
	vm.status = VM_RUNNING;
	if (++vm.restarts % 100 == 0) {
		printf("vmm: guest %s restarted %lu times\n", vm.name, (unsigned long)vm.restarts);
	}
	return true;
}

static __attribute__((noreturn)) void vcpu_main(uint64_t arg)
{
	(void)arg;
	do {
		while (vm.status == VM_RUNNING) {
			enum vireo_status st = sys_vcpu_resume(SEL_VM);
			if (st != VIREO_OK) {
				printf("vmm: vcpu_resume failed with status %d\n", st);
				vm_stop(&vm, VM_FAILED, NULL);
				break;
			}
			vm_handle_exit(&vm);
		}
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

/* Guest RAM: the first heap pages, delegated one by one to guest-physical 0. */
static int give_ram(const struct vireo_taskinfo *ti)
{
	if (ti->heap_size < GUEST_RAM_SIZE) {
		printf("vmm: the heap is smaller than the guest's %lu bytes of RAM\n",
		       (unsigned long)GUEST_RAM_SIZE);
		return -1;
	}
	vm.ram = (uint8_t *)TASK_HEAP_VA;
	vm.ram_size = GUEST_RAM_SIZE;
	memset(vm.ram, 0, vm.ram_size);
	for (uint64_t p = 0; p < GUEST_LAZY_BASE / 4096; p++) {
		if (!give_page(p)) {
			return -1;
		}
	}
	vm.map_lazy = map_lazy;
	return 0;
}

static int load_image(const struct vireo_taskinfo *ti)
{
	const uint8_t *img = (const uint8_t *)ti->modules[0].va;
	uint64_t size = ti->modules[0].size;
	if (size < 512 || size > GUEST_IMAGE_MAX || img[510] != 0x55 || img[511] != 0xaa) {
		printf("vmm: %s is not a boot sector or flat binary (512 B .. 64 KiB ending its "
		       "first sector "
		       "in 0x55AA); size %lu\n",
		       vm.name, (unsigned long)size);
		return -1;
	}
	memcpy(vm.ram + GUEST_LOAD_ADDR, img, size);
	image = img;
	image_size = size;
	return 0;
}

static int start_vcpu(unsigned cpu)
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
	vm_reset_state(vm.st);
	return sys_create_sc(SEL_VCPU_SC, SEL_SELF_PD, SEL_VCPU_EC, 4, 10000) == VIREO_OK ? 0 : -1;
}

/*
 * Wait for the vCPU to end; with "revoke", meanwhile take the last guest page away from the VM
 * and give it back every 10 ms: each revocation is a TLB shoot-down that must reach the vCPU's
 * CPU while it runs the guest (the kernel lock is held until that CPU answers).
 */
static void wait_for_vcpu(bool revoke)
{
	uint64_t page = GUEST_RAM_SIZE / 4096 - 1;
	uint64_t crd = vireo_crd(CRD_MEM, (TASK_HEAP_VA >> 12) + page, 0, MEM_R | MEM_W | MEM_X);
	for (unsigned long n = 1; revoke; n++) {
		if (sys_sm_down(SEL_DONE_SM, 10000) == VIREO_OK) {
			return;
		}
		if (sys_revoke(crd, 0) != VIREO_OK ||
		    sys_delegate(SEL_VM, crd, page, 0) != VIREO_OK) {
			printf("vmm: revoking guest page %#lx failed\n", (unsigned long)page);
			revoke = false;
		} else if (n % 1000 == 0) {
			printf("vmm: %lu guest-page revocations while the guest ran\n", n);
		}
	}
	sys_sm_down(SEL_DONE_SM, VIREO_TIMEOUT_NEVER);
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
	testdev_init(&vm.dev, console_out, result_out, &vm);
	vm.dev.recall = recall_vcpu;
	enum vireo_status st = sys_create_vm(SEL_VM, SEL_SELF_PD, VM_QUOTA);
	if (st == VIREO_BAD_FTR) {
		printf("vmm: SKIP: this CPU offers no hardware virtualization the kernel can "
		       "use\n");
		return 0;
	}
	if (st != VIREO_OK || sys_create_sm(SEL_DONE_SM, SEL_SELF_PD, 0) != VIREO_OK ||
	    give_ram(ti) || load_image(ti) || start_vcpu(cpu)) {
		printf("vmm: cannot set up the VM for %s\n", vm.name);
		return 1;
	}
	printf("vmm: running %s (%lu bytes) with %lu KiB of RAM\n", vm.name,
	       (unsigned long)ti->modules[0].size, (unsigned long)(vm.ram_size >> 10));
	wait_for_vcpu(revoke);
	print_bench(&vm);
	printf("vmm: guest %s %s after %lu VM exits (io %lu, mmio %lu, cpuid %lu, hlt %lu, "
	       "invd/wbinvd %lu)\n",
	       vm.name, summary(&vm), (unsigned long)vm.st->exits,
	       (unsigned long)vm.exits_by_reason[VM_EXIT_IO],
	       (unsigned long)vm.exits_by_reason[VM_EXIT_MMIO],
	       (unsigned long)vm.exits_by_reason[VM_EXIT_CPUID],
	       (unsigned long)vm.exits_by_reason[VM_EXIT_HLT],
	       (unsigned long)vm.exits_by_reason[VM_EXIT_CACHE]);
	return 0;
}
