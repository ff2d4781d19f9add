/* SPDX-License-Identifier: MIT */
/* kmain: bring up the bootstrap CPU, memory, interrupts and the other CPUs, then start the roottask. */
#include <vireo/bootinfo.h>

#include "acpi.h"
#include "arch.h"
#include "assert.h"
#include "cmdline.h"
#include "fastpath.h"
#include "fpu.h"
#include "frame.h"
#include "irq.h"
#include "klock.h"
#include "kstring.h"
#include "mdb.h"
#include "memmap.h"
#include "pd.h"
#include "printk.h"
#include "roottask.h"
#include "sched.h"
#include "vcpu.h"
#include "x86/cpu.h"
#include "x86/idt.h"
#include "x86/ioapic.h"
#include "x86/lapic.h"
#include "x86/memlayout.h"
#include "x86/multiboot1.h"
#include "x86/multiboot2.h"
#include "x86/percpu.h"
#include "x86/pic.h"
#include "x86/power.h"
#include "x86/serial.h"
#include "x86/smp.h"

void kmain(uint32_t magic, uint32_t info_pa);
void syscall_msr_init(void);

extern char _kernel_end[];
extern uint64_t boot_pml4[];
extern char boot_stack_top[];

/* Frames are handed out only below this: the boot tables map 0-3 GiB write-back. */
#define FRAME_LIMIT (3ull << 30)

static struct mb2_info mbi;

/* Physical memory for the multiboot 1 parser: what the boot tables map (all below FRAME_LIMIT). */
static const void *boot_phys(uint64_t pa, size_t len, void *ctx)
{
	(void)ctx;
	return pa < FRAME_LIMIT && len <= FRAME_LIMIT - pa ? phys_to_virt(pa_init(pa)) : NULL;
}
static struct acpi_info acpi;
static struct vireo_bootinfo bootinfo;

static void cpu_features_init(void)
{
	/* Caches on: some firmware (Bochs) hands over with CR0.CD and NW set. */
	write_cr0(read_cr0() & ~(CR0_CD | CR0_NW));
}

static void memory_init(paddr_t info_pa)
{
	if (mbi.ndropped_reserved) {
		panic("memory: firmware map has more than %d reserved ranges; cannot tell RAM from "
		      "holes",
		      MB2_MAX_RANGES);
	}
	struct mem_range resv[MB2_MAX_RANGES + MB2_MAX_MODULES + 2];
	size_t nresv = 0;
	for (size_t i = 0; i < mbi.nreserved; i++) {
		resv[nresv++] = mbi.reserved[i];
	}
	resv[nresv++] = (struct mem_range){ KERNEL_PBASE,
					    (uint64_t)_kernel_end - KERNEL_VBASE - KERNEL_PBASE };
	resv[nresv++] = (struct mem_range){ pa_addr(info_pa), mbi.total_size };
	for (size_t i = 0; i < mbi.nmodules; i++) {
		resv[nresv++] = (struct mem_range){ mbi.modules[i].start,
						    mbi.modules[i].end - mbi.modules[i].start };
	}
	/* Everything above FRAME_LIMIT counts as reserved for now. */
	struct mem_range avail[MB2_MAX_RANGES];
	size_t navail = 0;
	for (size_t i = 0; i < mbi.navail; i++) {
		uint64_t b = mbi.avail[i].base, e = b + mbi.avail[i].size;
		if (b < FRAME_LIMIT) {
			avail[navail++] = (struct mem_range){ b, MIN(e, FRAME_LIMIT) - b };
		}
	}
	struct mem_range usable[MB2_MAX_RANGES];
	size_t n =
		memmap_usable(avail, navail, resv, nresv, usable, ARRAY_SIZE(usable), 1ull << 20);
	if (n > ARRAY_SIZE(usable)) {
		pr_warn("memory: %zu usable ranges, using the lowest %zu\n", n, ARRAY_SIZE(usable));
		n = ARRAY_SIZE(usable);
	}
	frame_init();
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++) {
		frame_add_range(pa_init(usable[i].base), usable[i].size);
		total += usable[i].size;
		pr_debug("memory: usable %#lx-%#lx\n", usable[i].base,
			 usable[i].base + usable[i].size - 1);
	}
	pr_info("memory: %lu MiB usable in %zu ranges, %lu MiB free\n", total >> 20, n,
		(frame_free_pages() * PAGE_SIZE) >> 20);
	/* The boot tables live in the identity-linked .boot section: their address is physical. */
	pd_init_kernel(pa_init((uint64_t)boot_pml4));
	mdb_init();
}

static void acpi_init(void)
{
	status_t st = VIREO_BAD_DEV;
	if (mbi.rsdp) {
		st = acpi_parse_rsdp_copy(mbi.rsdp, mbi.rsdp_len, &acpi);
	} else {
		paddr_t rsdp = acpi_find_rsdp_legacy();
		if (pa_valid(rsdp)) {
			st = acpi_parse(rsdp, &acpi);
		}
	}
	if (st != VIREO_OK || acpi.ncpus == 0) {
		pr_warn("acpi: no usable MADT (status %d); running on the bootstrap CPU only\n",
			st);
		acpi.ncpus = 0;
		acpi.lapic_addr = rdmsr(MSR_APIC_BASE) & ~0xfffull;
		acpi.nioapics = 0;
	}
	pr_info("acpi: %zu CPUs, %zu IOAPICs, LAPIC at %#lx\n", acpi.ncpus, acpi.nioapics,
		acpi.lapic_addr);
}

static void interrupts_init(void)
{
	pic_disable();
	lapic_init(acpi.lapic_addr);
	ioapic_set_overrides(&acpi);
	for (size_t i = 0; i < acpi.nioapics; i++) {
		ioapic_add(acpi.ioapics[i].id, acpi.ioapics[i].addr, acpi.ioapics[i].gsi_base);
	}
}

/* Per-CPU set-up shared by the bootstrap and application processors. */
void cpu_local_init(unsigned id, uint64_t stack_top)
{
	cpu_features_init();
	percpu_init(id, lapic_id(), stack_top);
	if (id) {
		fpu_cpu_init();
	}
	idt_load();
	syscall_msr_init();
	virt_cpu_init();
	lapic_cpu_init();
	percpu_area[id].online = true;
	__atomic_add_fetch(&cpus_online, 1, __ATOMIC_SEQ_CST);
}

static void fill_bootinfo(void)
{
	bootinfo.magic = VIREO_BOOTINFO_MAGIC;
	bootinfo.version = 3;
	bootinfo.cpus_online = cpus_online;
	bootinfo.mem_free_bytes = frame_free_pages() * PAGE_SIZE;
	bootinfo.tsc_khz = lapic_tsc_khz();
	for (size_t i = 0; i < mbi.nmodules && i < VIREO_BOOTINFO_MAX_MODULES; i++) {
		struct vireo_module *m = &bootinfo.modules[i];
		m->phys = mbi.modules[i].start;
		m->size = mbi.modules[i].end - mbi.modules[i].start;
		size_t l = strnlen(mbi.modules[i].cmdline, sizeof(m->cmdline) - 1);
		memcpy(m->cmdline, mbi.modules[i].cmdline, l);
		bootinfo.nmodules++;
	}
}

static void start_roottask(void)
{
	if (mbi.nmodules == 0) {
		pr_warn("vireo: no boot modules, so no roottask: nothing to run\n");
		return;
	}
	/* The first module is the roottask; its command line starts with its name. */
	const struct mb2_module *m = &mbi.modules[0];
	char name[16] = "roottask";
	size_t l = 0;
	while (m->cmdline[l] && m->cmdline[l] != ' ' && l < sizeof(name) - 1) {
		name[l] = m->cmdline[l];
		l++;
	}
	if (l) {
		name[l] = 0;
	}
	bootinfo.self_module = 0;
	roottask_start(phys_to_virt(pa_init(m->start)), m->end - m->start, name, &bootinfo);
}

void kmain(uint32_t magic, uint32_t info_pa)
{
	serial_init();
	percpu_init(0, 0, (uint64_t)boot_stack_top);
	idt_init();
	idt_load();
	printk(LOG_INFO, "\nVireo x86_64 microkernel\n");

	status_t st = VIREO_BAD_PAR;
	if (magic == MB2_BOOTLOADER_MAGIC) {
		const uint32_t *hdr = phys_to_virt(pa_init(info_pa));
		st = mb2_parse(hdr, hdr[0], &mbi);
	} else if (magic == MB1_BOOTLOADER_MAGIC) {
		st = mb1_parse(info_pa, boot_phys, NULL, &mbi);
	}
	if (st != VIREO_OK) {
		panic("boot: multiboot information missing or malformed");
	}
	if (cmdline_has(mbi.cmdline, "debug")) {
		console_set_level(LOG_DEBUG);
		kernel_debug = true;
	}
	pr_info("boot: loader \"%s\", command line \"%s\", %zu modules\n",
		mbi.loader_name ? mbi.loader_name : "?", mbi.cmdline ? mbi.cmdline : "",
		mbi.nmodules);

	memory_init(pa_init(info_pa));
	fpu_init(cmdline_has(mbi.cmdline, "fpu=eager") ? FPU_EAGER : FPU_LAZY);
	/* Opt-in for now: fuzz-seed1 hangs with it on (docs/architecture.md#ipc-fast-path). */
	fastpath_enable(!cmdline_has(mbi.cmdline, "nofastpath"));
	virt_init();
	acpi_init();
	power_init(&acpi, cmdline_has(mbi.cmdline, "poweroff"));
	irq_nmi_test(cmdline_has(mbi.cmdline, "nmitest"));
	interrupts_init();
	cpu_local_init(0, (uint64_t)boot_stack_top);
	klock_acquire();
	smp_boot(&acpi);
	pr_info("smp: %u of %u CPUs online\n", cpus_online, cpus_present);
	if (cmdline_has(mbi.cmdline, "nmitest")) {
		irq_nmi_selftest();
	}

	fill_bootinfo();
	start_roottask();
	sched_idle();
}
