/* SPDX-License-Identifier: MIT */
/* Power-off through ACPI PM1 control, and the post-mortem liveness report. */
#include "x86/power.h"

#include "acpi.h"
#include "ioport.h"
#include "printk.h"
#include "x86/cpu.h"
#include "x86/lapic.h"
#include "x86/serial.h"

#define SLP_EN (1u << 13)
#define SLP_TYP_SHIFT 10
/* Ticks without any task before the kernel reports that it is still alive. */
#define ALIVE_REPORT_TICKS 20

static struct {
	uint32_t pm1a_cnt, pm1b_cnt;
	uint16_t typa, typb;
	bool valid;
	bool when_done;
} power;

static unsigned idle_ticks;

void power_init(const struct acpi_info *acpi, bool poweroff_when_done)
{
	power.pm1a_cnt = acpi->pm1a_cnt;
	power.pm1b_cnt = acpi->pm1b_cnt;
	power.typa = acpi->slp_typa_s5;
	power.typb = acpi->slp_typb_s5;
	power.valid = acpi->s5_valid && acpi->pm1a_cnt && acpi->pm1a_cnt <= 0xffff;
	power.when_done = poweroff_when_done;
	if (power.valid) {
		ioport_kernel_claim(power.pm1a_cnt, power.pm1a_cnt < 0xffff ? 2 : 1,
				    "ACPI PM1a control");
		if (power.pm1b_cnt && power.pm1b_cnt <= 0xfffe) {
			ioport_kernel_claim(power.pm1b_cnt, 2, "ACPI PM1b control");
		}
	}
}

void power_off(void)
{
	irq_disable();
	if (power.valid) {
		pr_info("vireo: powering off (ACPI S5)\n");
		serial_drain();
		outw((uint16_t)power.pm1a_cnt, (uint16_t)(power.typa << SLP_TYP_SHIFT | SLP_EN));
		if (power.pm1b_cnt && power.pm1b_cnt <= 0xffff) {
			outw((uint16_t)power.pm1b_cnt,
			     (uint16_t)(power.typb << SLP_TYP_SHIFT | SLP_EN));
		}
		lapic_udelay(100000);
	}
	pr_info("vireo: cannot power off (no ACPI S5); halted\n");
	for (;;) {
		cpu_halt();
	}
}

/* Reported once per stretch without tasks: after the last one ended, or when none could start. */
void power_idle_tick(unsigned live_ecs)
{
	if (live_ecs) {
		idle_ticks = 0;
		return;
	}
	if (++idle_ticks != ALIVE_REPORT_TICKS) {
		return;
	}
	pr_info("vireo: kernel alive, %u timer ticks without a user task\n", idle_ticks);
	if (power.when_done) {
		power_off();
	}
}
