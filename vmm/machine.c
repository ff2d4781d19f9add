/* SPDX-License-Identifier: MIT */
/*
 * The PC the VMM builds around its vCPU (docs/devices.md "Wiring", "Time and interrupts"): the
 * devices on one I/O bus behind the 8259A pair, guest time for their clocks, interrupt delivery
 * through the interrupt window, the guest's console, and the exit statistics. Plain C with no
 * system calls: main.c supplies the clock and the sleep, the unit tests their own.
 */
#include "vmm.h"

static uint64_t dev_clock(void *arg)
{
	return vm_now_ns(arg);
}

static uint64_t wall_clock(void *arg)
{
	struct vm *vm = arg;
	return vm->rtc_epoch_ns + vm_now_ns(vm);
}

static void unknown_access(void *arg, enum iobus_space space, uint64_t addr, unsigned size,
			   bool write)
{
	struct vm *vm = arg;
	printf("vmm: %s: %s of %u bytes at unclaimed %s %#lx (reads all-ones; reported once)\n",
	       vm->name, write ? "write" : "read", size, space == IOBUS_PIO ? "port" : "address",
	       (unsigned long)addr);
}

static void reset(void *arg)
{
	vm_stop(arg, VM_STOPPED, "the guest reset the machine: this VM ends here");
}

static void pci_reset(void *arg, bool hard)
{
	(void)hard;
	reset(arg);
}

static void uart_out(void *arg, uint8_t byte)
{
	vm_console_putc(arg, (char)byte);
}

/* ---------------------------------------------------------------- the test device on the bus */

static uint64_t testdev_read(void *dev, uint64_t offset, unsigned size)
{
	uint32_t v;
	if (!testdev_io_read(dev, (uint16_t)(TESTDEV_PORT_BENCH_EXIT + offset), size, &v)) {
		v = 0xffffffffu;
	}
	return v;
}

static void testdev_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	testdev_io_write(dev, (uint16_t)(TESTDEV_PORT_BENCH_EXIT + offset), size, (uint32_t)value);
}

static uint64_t testdev_mread(void *dev, uint64_t offset, unsigned size)
{
	uint64_t v = 0;
	testdev_mmio_read(dev, TESTDEV_MMIO_BASE + offset, size, &v);
	return v;
}

static void testdev_mwrite(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	testdev_mmio_write(dev, TESTDEV_MMIO_BASE + offset, size, value);
}

static const struct iobus_ops testdev_pio = { testdev_read, testdev_write };
static const struct iobus_ops testdev_mmio = { testdev_mread, testdev_mwrite };

void vm_machine_init(struct vm *vm, bool testdev)
{
	struct vm_machine *m = &vm->m;
	const struct irqchip *irq = &m->pic.irqchip;
	iobus_init(&m->bus, unknown_access, vm);
	pic_init(&m->pic, NULL, vm);
	pit_init(&m->pit, dev_clock, vm, irq);
	uart_init(&m->com1, irq, UART_COM1_IRQ, uart_out, dev_clock, vm);
	rtc_init(&m->rtc, irq, wall_clock, vm);
	rtc_set_memory(&m->rtc, vm->ram_size, 0);
	pci_init(&m->pci, pci_reset, vm);
	i8042_init(&m->kbc, irq, reset, NULL, vm);
	sysport_init(&m->sys, reset, NULL, vm);
	bool ok = pic_attach(&m->pic, &m->bus) && pit_attach(&m->pit, &m->bus) &&
		  uart_attach(&m->com1, &m->bus, UART_COM1_PORT) && rtc_attach(&m->rtc, &m->bus) &&
		  pci_attach(&m->pci, &m->bus) && i8042_attach(&m->kbc, &m->bus) &&
		  sysport_attach(&m->sys, &m->bus);
	if (ok && testdev) {
		/* Ports 0xe0-0xff and 0x104-0x10b (guests/tests/README.md) and the MMIO window; the
		 * range runs to 0x10b so that a 4-byte IN from 0xfe or 0xfd (recall count, IRQ2)
		 * stays inside it. */
		ok = iobus_register(&m->bus, IOBUS_PIO, TESTDEV_PORT_BENCH_EXIT, 0x2c, &testdev_pio,
				    &vm->dev) == IOBUS_OK &&
		     iobus_register(&m->bus, IOBUS_MMIO, TESTDEV_MMIO_BASE, TESTDEV_MMIO_SIZE,
				    &testdev_mmio, &vm->dev) == IOBUS_OK;
	}
	if (!ok) {
		vm_stop(vm, VM_FAILED, "the devices' ports overlap: the machine cannot be built");
	}
}

uint64_t vm_clock_ns(struct vm *vm)
{
	return vm->clock_ns ? vm->clock_ns(vm) : 0;
}

uint64_t vm_now_ns(struct vm *vm)
{
	return vm->now_valid ? vm->now_ns : vm_clock_ns(vm);
}

void vm_hold_time(struct vm *vm, bool hold)
{
	vm->now_valid = false;
	if (hold) {
		vm->now_ns = vm_now_ns(vm);
		vm->now_valid = true;
	}
}

/* ---------------------------------------------------------------- the waker */

void vm_waker_init(struct vm_waker *w, struct vm *vm, uint64_t poll_ns)
{
	*w = (struct vm_waker){ .vm = vm, .poll_ns = poll_ns, .now = vm_clock_ns(vm) };
	w->poll_at = poll_ns ? w->now + poll_ns : VMM_TIME_NEVER;
}

uint64_t vm_waker_timeout_us(struct vm_waker *w, bool in_guest, uint64_t next_event_ns,
			     uint64_t *until)
{
	w->now = vm_clock_ns(w->vm);
	uint64_t u = w->poll_at;
	if (in_guest && next_event_ns > w->now && next_event_ns < u) {
		u = next_event_ns;
	}
	*until = u;
	if (u == VMM_TIME_NEVER) {
		return VIREO_TIMEOUT_NEVER;
	}
	return u > w->now ? (u - w->now + 999) / 1000 : 1;
}

bool vm_waker_poll_due(struct vm_waker *w)
{
	w->now = vm_clock_ns(w->vm);
	if (!w->poll_ns || w->now < w->poll_at) {
		return false;
	}
	w->poll_at = w->now + w->poll_ns;
	return true;
}

bool vm_waker_event_due(const struct vm_waker *w, uint64_t next_event_ns)
{
	return w->now >= next_event_ns;
}

/* ---------------------------------------------------------------- time and interrupts */

/*
 * The guest's reads from COM1's receiver since the last look: each of the bytes the VMM handed
 * over, oldest first, took from its arrival to now. Reads of bytes the VMM did not hand over
 * (loopback) are not counted, nor bytes the guest threw away unread.
 */
static void account_input_reads(struct vm *vm)
{
	const struct uart *u = &vm->m.com1;
	uint64_t reads = u->rx_reads - vm->uart_reads_seen;
	vm->uart_reads_seen = u->rx_reads;
	uint64_t now = reads && vm->input_taken < vm->input_given ? vm_now_ns(vm) : 0;
	for (; reads && vm->input_taken < vm->input_given; reads--) {
		uint64_t t = vm->in_uart_ns[vm->input_taken++ % VMM_INPUT_UART_RING];
		uint64_t lat = now > t ? now - t : 0;
		vm->input_lat_n++;
		vm->input_lat_sum_ns += lat;
		vm->input_lat_max_ns = lat > vm->input_lat_max_ns ? lat : vm->input_lat_max_ns;
	}
	if (vm->input_given - vm->input_taken > u->rx_count) {
		vm->input_taken = vm->input_given - u->rx_count; /* dropped unread */
	}
}

static void drain_input(struct vm *vm)
{
	account_input_reads(vm);
	while (vm->input_head != vm->input_tail && uart_rx_room(&vm->m.com1)) {
		unsigned h = vm->input_head;
		uart_receive(&vm->m.com1, vm->input[h % VMM_INPUT_RING]);
		vm->in_uart_ns[vm->input_given++ % VMM_INPUT_UART_RING] =
			vm->input_ns[h % VMM_INPUT_RING];
		__asm__ volatile("" ::: "memory"); /* the byte is read before the slot is freed */
		vm->input_head = h + 1;
	}
}

bool vm_input_push(struct vm *vm, uint8_t byte)
{
	unsigned t = vm->input_tail;
	if (t - vm->input_head >= VMM_INPUT_RING) {
		return false;
	}
	vm->input[t % VMM_INPUT_RING] = byte;
	/* Another thread's view of time: the clock itself, not the vCPU thread's held instant. */
	vm->input_ns[t % VMM_INPUT_RING] = vm_clock_ns(vm);
	__asm__ volatile("" ::: "memory"); /* the byte is in its slot before the tail moves */
	vm->input_tail = t + 1;
	return true;
}

void vm_update_devices(struct vm *vm)
{
	drain_input(vm);
	pit_update(&vm->m.pit);
	uart_update(&vm->m.com1);
	rtc_update(&vm->m.rtc);
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

uint64_t vm_next_event_ns(struct vm *vm)
{
	uint64_t t = pit_next_irq_ns(&vm->m.pit);
	t = min64(t, uart_next_event_ns(&vm->m.com1));
	return min64(t, rtc_next_event_ns(&vm->m.rtc));
}

static void inject_intr(struct vireo_vm_state *st, uint8_t vector)
{
	st->inject = VEVENT_VALID | VEVENT_TYPE_INTR | vector;
	st->intr_window = 0;
}

bool vm_deliver_irq(struct vm *vm)
{
	struct vireo_vm_state *st = vm->st;
	uint8_t vector;
	bool testdev = vm->dev.irq_armed >= 0;
	if (!testdev && !irqchip_pending(&vm->m.pic.irqchip, &vector)) {
		/* A window asked for earlier is no longer needed (if the page does not know, it
		 * costs one window exit at most). */
		if ((st->mtd_out & VMTD_EVENTS) && st->intr_window) {
			vm_state_mod(vm, VMTD_EVENTS)->intr_window = 0;
		}
		return false;
	}
	vm_state(vm, VMTD_EVENTS);
	if ((st->inject & VEVENT_VALID) || (st->pending & VEVENT_VALID) || !st->guest_if ||
	    st->intr_shadow) {
		/* An event goes in first, or the guest cannot take one yet: exit when it can. */
		if (!st->intr_window) {
			vm_state_mod(vm, VMTD_EVENTS)->intr_window = 1;
		}
		return false;
	}
	/* The INTA cycle happens now: the event is delivered at the coming entry. */
	vm_state_mod(vm, VMTD_EVENTS);
	inject_intr(st, testdev ? (uint8_t)testdev_take_irq(&vm->dev)
				: irqchip_accept(&vm->m.pic.irqchip));
	return true;
}

/* ---------------------------------------------------------------- console */

void vm_console_putc(struct vm *vm, char c)
{
	if (c == '\n') {
		vm->line[vm->line_len] = 0;
		if (vm->show_exits) { /* word "exits": how many VM exits the line took to come out */
			printf(vm->console_open ? "%s (vm exits %lu)\n"
						: "guest: %s (vm exits %lu)\n",
			       vm->line, (unsigned long)vm->st->exits);
		} else {
			printf(vm->console_open ? "%s\n" : "guest: %s\n", vm->line);
		}
		vm->line_len = 0;
		vm->console_open = false;
		return;
	}
	if (vm->line_len == sizeof(vm->line) - 1) {
		vm_console_flush(vm); /* a long line goes out in parts, the prefix only once */
	}
	if (c != '\r') {
		vm->line[vm->line_len++] = c;
	}
}

void vm_console_flush(struct vm *vm)
{
	if (vm->line_len) {
		vm->line[vm->line_len] = 0;
		printf(vm->console_open ? "%s" : "guest: %s", vm->line);
		vm->line_len = 0;
		vm->console_open = true;
	}
}

/* ---------------------------------------------------------------- statistics */

static const char *const exit_names[VM_EXIT_COUNT] = {
	[VM_EXIT_NONE] = "none",
	[VM_EXIT_IO] = "io",
	[VM_EXIT_MMIO] = "mmio",
	[VM_EXIT_CPUID] = "cpuid",
	[VM_EXIT_RDMSR] = "rdmsr",
	[VM_EXIT_WRMSR] = "wrmsr",
	[VM_EXIT_HLT] = "hlt",
	[VM_EXIT_VMCALL] = "vmcall",
	[VM_EXIT_SHUTDOWN] = "shutdown",
	[VM_EXIT_INTR_WINDOW] = "intr_window",
	[VM_EXIT_EXCEPTION] = "exception",
	[VM_EXIT_INVALID] = "invalid",
	[VM_EXIT_RECALL] = "recall",
	[VM_EXIT_OTHER] = "other",
	[VM_EXIT_CR_ACCESS] = "cr_access",
	[VM_EXIT_DR_ACCESS] = "dr_access",
	[VM_EXIT_XSETBV] = "xsetbv",
	[VM_EXIT_INVLPG] = "invlpg",
	[VM_EXIT_TASK_SWITCH] = "task_switch",
	[VM_EXIT_NMI_WINDOW] = "nmi_window",
	[VM_EXIT_INIT] = "init",
	[VM_EXIT_SIPI] = "sipi",
	[VM_EXIT_RDTSC] = "rdtsc",
	[VM_EXIT_PAUSE] = "pause",
	[VM_EXIT_MWAIT] = "mwait",
};

/* The ports with the most I/O exits (which device costs the guest its exits). */
static void print_top_ports(const struct vm *vm, uint64_t total)
{
	uint32_t shown = UINT32_MAX;
	unsigned last = 0;
	printf("vmm:   top I/O ports:");
	for (int k = 0; k < 6; k++) {
		int best = -1;
		for (unsigned p = 0; p < VMM_PORT_STATS; p++) {
			uint32_t n = vm->port_exits[p];
			bool after = n < shown || (n == shown && p > last);
			if (n && after && (best < 0 || n > vm->port_exits[best])) {
				best = (int)p;
			}
		}
		if (best < 0) {
			break;
		}
		shown = vm->port_exits[best];
		last = (unsigned)best;
		printf(" %#x %u (%u%%)", best, shown,
		       total ? (unsigned)(shown * 100ull / total) : 0);
	}
	printf("\n");
}

void vm_print_exit_stats(const struct vm *vm, uint32_t tsc_khz)
{
	uint64_t total = 0;
	bool done[VM_EXIT_COUNT] = { false };
	for (unsigned r = 0; r < VM_EXIT_COUNT; r++) {
		total += vm->exits_by_reason[r];
	}
	printf("vmm: exit statistics of %s: %lu exits (VMM time per reason%s)\n", vm->name,
	       (unsigned long)total, tsc_khz ? " in us" : " in TSC cycles");
	printf("vmm:   %-12s %10s %7s %14s %10s\n", "reason", "count", "share", "time", "avg");
	/* By count, largest first: the table is short, so a selection is plenty. */
	for (;;) {
		int best = -1;
		for (unsigned r = 0; r < VM_EXIT_COUNT; r++) {
			if (!done[r] && vm->exits_by_reason[r] &&
			    (best < 0 || vm->exits_by_reason[r] > vm->exits_by_reason[best])) {
				best = (int)r;
			}
		}
		if (best < 0) {
			break;
		}
		done[best] = true;
		uint64_t n = vm->exits_by_reason[best], t = vm->exit_tsc[best];
		if (tsc_khz) {
			t = t * 1000 / tsc_khz; /* cycles to us */
		}
		unsigned permille = (unsigned)(n * 1000 / total);
		printf("vmm:   %-12s %10lu %3u.%u%% %14lu %10lu\n", exit_names[best],
		       (unsigned long)n, permille / 10, permille % 10, (unsigned long)t,
		       (unsigned long)(t / n));
	}
	print_top_ports(vm, total);
	if (vm->input_lat_n) {
		printf("vmm:   console input: %lu bytes read by the guest, arrival to guest read "
		       "avg "
		       "%lu us, max %lu us (%s)\n",
		       (unsigned long)vm->input_lat_n,
		       (unsigned long)(vm->input_lat_sum_ns / vm->input_lat_n / 1000),
		       (unsigned long)(vm->input_lat_max_ns / 1000),
		       vm->input_how ? vm->input_how : "fed by the VMM");
	}
}
