/* SPDX-License-Identifier: MIT */
/* Kernel console: formatted output to the serial port, one lock so lines from different CPUs do not mix. */
#include "printk.h"

#include "assert.h"
#include "fmt.h"
#include "spinlock.h"
#include "x86/cpu.h"
#include "x86/serial.h"

static spinlock_t console_lock = SPINLOCK_INIT;
static enum log_level console_level = LOG_INFO;
bool kernel_debug;

static void out_char(char c, void *arg)
{
	(void)arg;
	if (c == '\n') {
		serial_putc('\r');
	}
	serial_putc(c);
}

/* Interrupts stay off while the lock is held, so an IRQ handler that prints cannot deadlock. */
static uint64_t console_acquire(void)
{
	uint64_t flags = read_rflags();
	irq_disable();
	spin_lock(&console_lock);
	return flags;
}

static void console_release(uint64_t flags)
{
	spin_unlock(&console_lock);
	if (flags & RFLAGS_IF) {
		irq_enable();
	}
}

void console_set_level(enum log_level lvl)
{
	console_level = lvl;
}

void vprintk(enum log_level lvl, const char *fmt, va_list ap)
{
	static const char *const prefix[] = { "ERROR: ", "warning: ", "", "" };
	if (lvl > console_level) {
		return;
	}
	uint64_t flags = console_acquire();
	for (const char *p = prefix[lvl]; *p; p++) {
		out_char(*p, NULL);
	}
	fmt_vformat(out_char, NULL, fmt, ap);
	console_release(flags);
}

void printk(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintk(lvl, fmt, ap);
	va_end(ap);
}

void console_write(const char *s, size_t len)
{
	uint64_t flags = console_acquire();
	for (size_t i = 0; i < len; i++) {
		out_char(s[i], NULL);
	}
	console_release(flags);
}

/* Return addresses along the frame-pointer chain (the kernel keeps frame pointers); addr2line -e
 * build/vireo.elf turns them into lines. Frames must stay inside kernel memory. */
static void backtrace(void)
{
	char buf[48];
	const uint64_t *fp = __builtin_frame_address(0);
	for (int i = 0;
	     i < 16 && fp && (uint64_t)fp >= 0xffff800000000000ull && !((uint64_t)fp & 7); i++) {
		uint64_t ret = fp[1];
		if (ret < 0xffffffff80000000ull) {
			break;
		}
		int n = fmt_snprintf(buf, sizeof(buf), "  at %#lx\n", ret);
		for (int j = 0; j < n && j < (int)sizeof(buf) - 1; j++) {
			out_char(buf[j], NULL);
		}
		fp = (const uint64_t *)fp[0];
	}
}

/* Panic takes the console without its lock: the CPU that panics may hold it already. */
void panic_at(const char *file, int line, const char *fmt, ...)
{
	irq_disable();
	va_list ap;
	const char *hdr = "\nPANIC at ";
	for (const char *p = hdr; *p; p++) {
		out_char(*p, NULL);
	}
	char buf[160];
	int n = fmt_snprintf(buf, sizeof(buf), "%s:%d: ", file, line);
	for (int i = 0; i < n && i < (int)sizeof(buf) - 1; i++) {
		out_char(buf[i], NULL);
	}
	va_start(ap, fmt);
	fmt_vformat(out_char, NULL, fmt, ap);
	va_end(ap);
	out_char('\n', NULL);
	backtrace();
	panic_halt_others();
	for (;;) {
		cpu_halt();
	}
}
