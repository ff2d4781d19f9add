/* SPDX-License-Identifier: MIT */
/*
 * The MC146818A real-time clock and CMOS RAM at 0x70 (index, bit 7 masks NMI) and 0x71 (data):
 * time and date from a caller-given wall clock in BCD or binary and 12 or 24 hours, status
 * registers A-D with the update-in-progress bit, periodic, alarm and update-ended interrupts on
 * IRQ 8, and the memory-size bytes a BIOS would leave. No timer inside: flags follow the clock
 * whenever the device is touched, and rtc_update() at rtc_next_event_ns() raises the interrupt.
 */
#ifndef VMM_DEVICES_RTC_H
#define VMM_DEVICES_RTC_H

#include <stdbool.h>
#include <stdint.h>

#include "irqchip.h"

struct iobus;

#define RTC_PORT 0x70
#define RTC_IRQ 8
#define RTC_NEVER UINT64_MAX

enum {
	RTC_SECONDS = 0x00,
	RTC_SECONDS_ALARM = 0x01,
	RTC_MINUTES = 0x02,
	RTC_MINUTES_ALARM = 0x03,
	RTC_HOURS = 0x04,
	RTC_HOURS_ALARM = 0x05,
	RTC_DAY_OF_WEEK = 0x06,
	RTC_DAY_OF_MONTH = 0x07,
	RTC_MONTH = 0x08,
	RTC_YEAR = 0x09,
	RTC_REG_A = 0x0a,
	RTC_REG_B = 0x0b,
	RTC_REG_C = 0x0c,
	RTC_REG_D = 0x0d,
	RTC_CENTURY = 0x32,
};

#define RTC_A_UIP 0x80
#define RTC_B_SET 0x80
#define RTC_B_PIE 0x40
#define RTC_B_AIE 0x20
#define RTC_B_UIE 0x10
#define RTC_B_DM_BINARY 0x04
#define RTC_B_24H 0x02
#define RTC_C_IRQF 0x80
#define RTC_C_PF 0x40
#define RTC_C_AF 0x20
#define RTC_C_UF 0x10
#define RTC_D_VRT 0x80

struct rtc {
	uint8_t cmos[128]; /* registers 0x00-0x0d and the CMOS RAM; time bytes are a snapshot */
	uint8_t index;
	bool nmi_masked;
	bool irq_level;
	uint64_t offset; /* RTC time (ns since 1970) minus the clock, modulo 2^64 */
	uint64_t last;	 /* RTC time at which the flags were last brought up to date */
	const struct irqchip *irq;
	uint64_t (*clock_ns)(void *arg); /* wall clock: ns since 1970-01-01 00:00 UTC */
	void *arg;
};

void rtc_init(struct rtc *r, const struct irqchip *irq, uint64_t (*clock_ns)(void *arg), void *arg);
/* The BIOS memory-size bytes: RAM below 4 GiB (including the first MiB) and above it. */
void rtc_set_memory(struct rtc *r, uint64_t below_4g, uint64_t above_4g);
/* Register 0x70-0x71; false if taken. */
bool rtc_attach(struct rtc *r, struct iobus *bus);
/* Offset 0 (index port) or 1 (data port). */
uint8_t rtc_io_read(struct rtc *r, unsigned offset);
void rtc_io_write(struct rtc *r, unsigned offset, uint8_t value);
/* Bring the flags and IRQ 8 up to date with the clock. */
void rtc_update(struct rtc *r);
/* Clock time (ns) of the next enabled interrupt event, or RTC_NEVER. */
uint64_t rtc_next_event_ns(struct rtc *r);

/* Calendar helpers (proleptic Gregorian, UTC), exported for the tests. */
uint64_t rtc_days_from_civil(unsigned year, unsigned month, unsigned day);
void rtc_civil_from_days(uint64_t days, unsigned *year, unsigned *month, unsigned *day);

#endif
