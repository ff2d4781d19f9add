/* SPDX-License-Identifier: MIT */
/* MC146818A at register level: time in BCD/binary/12 h, SET, UIP, periodic/alarm/update flags,
 * CMOS memory-size bytes, NMI mask. */
#include <criterion/criterion.h>
#include <time.h>

#include "dev_fake.h"
#include "devices/rtc.h"

#define S 1000000000ull
#define T0 (1709214330ull * S) /* Thursday 2024-02-29 13:45:30 UTC */

static struct rtc rtc;
static struct fake_clock clk;
static struct fake_irq irq;

static uint8_t rd(uint8_t reg)
{
	rtc_io_write(&rtc, 0, reg);
	return rtc_io_read(&rtc, 1);
}

static void wr(uint8_t reg, uint8_t v)
{
	rtc_io_write(&rtc, 0, reg);
	rtc_io_write(&rtc, 1, v);
}

static void setup(void)
{
	clk.ns = T0;
	fake_irq_init(&irq);
	rtc_init(&rtc, &irq.chip, fake_clock_ns, &clk);
}

TestSuite(rtc, .init = setup);

Test(rtc, calendar_conversion_handles_leap_years)
{
	cr_assert_eq(rtc_days_from_civil(1970, 1, 1), 0);
	cr_assert_eq(rtc_days_from_civil(2000, 3, 1) - rtc_days_from_civil(2000, 2, 28), 2);
	cr_assert_eq(rtc_days_from_civil(2100, 3, 1) - rtc_days_from_civil(2100, 2, 28), 1);
	for (uint64_t d = 0; d < 200000; d += 997) {
		unsigned y, m, dd;
		rtc_civil_from_days(d, &y, &m, &dd);
		cr_assert_eq(rtc_days_from_civil(y, m, dd), d);
	}
}

Test(rtc, time_and_date_read_in_bcd_24_hour_by_default)
{
	cr_assert_eq(rd(RTC_SECONDS), 0x30);
	cr_assert_eq(rd(RTC_MINUTES), 0x45);
	cr_assert_eq(rd(RTC_HOURS), 0x13);
	cr_assert_eq(rd(RTC_DAY_OF_WEEK), 5, "Sunday is 1");
	cr_assert_eq(rd(RTC_DAY_OF_MONTH), 0x29);
	cr_assert_eq(rd(RTC_MONTH), 0x02);
	cr_assert_eq(rd(RTC_YEAR), 0x24);
	cr_assert_eq(rd(RTC_CENTURY), 0x20);
}

Test(rtc, binary_mode_reads_plain_numbers)
{
	wr(RTC_REG_B, RTC_B_24H | RTC_B_DM_BINARY);
	cr_assert_eq(rd(RTC_SECONDS), 30);
	cr_assert_eq(rd(RTC_HOURS), 13);
	cr_assert_eq(rd(RTC_DAY_OF_MONTH), 29);
	cr_assert_eq(rd(RTC_YEAR), 24);
}

Test(rtc, twelve_hour_mode_sets_bit_7_for_pm)
{
	wr(RTC_REG_B, 0);
	cr_assert_eq(rd(RTC_HOURS), 0x81, "1 PM");
	clk.ns = T0 - 13 * 3600 * S - 45 * 60 * S; /* 00:00:30 */
	cr_assert_eq(rd(RTC_HOURS), 0x12, "midnight is 12 AM");
	clk.ns += 12 * 3600 * S;
	cr_assert_eq(rd(RTC_HOURS), 0x92, "noon is 12 PM");
	wr(RTC_REG_B, RTC_B_DM_BINARY);
	cr_assert_eq(rd(RTC_HOURS), 0x8c);
}

Test(rtc, time_follows_the_clock_across_midnight_and_month_end)
{
	clk.ns = T0 + (10 * 3600 + 14 * 60 + 30) * S; /* 2024-03-01 00:00:00 */
	cr_assert_eq(rd(RTC_SECONDS), 0x00);
	cr_assert_eq(rd(RTC_HOURS), 0x00);
	cr_assert_eq(rd(RTC_DAY_OF_MONTH), 0x01);
	cr_assert_eq(rd(RTC_MONTH), 0x03);
	cr_assert_eq(rd(RTC_DAY_OF_WEEK), 6);
}

Test(rtc, set_bit_freezes_the_time_and_clearing_it_starts_the_new_time)
{
	wr(RTC_REG_B, RTC_B_24H | RTC_B_SET);
	clk.ns += 5 * S;
	cr_assert_eq(rd(RTC_SECONDS), 0x30, "no updates while SET");
	wr(RTC_HOURS, 0x08);
	wr(RTC_MINUTES, 0x00);
	wr(RTC_SECONDS, 0x00);
	wr(RTC_YEAR, 0x99);
	wr(RTC_CENTURY, 0x19);
	wr(RTC_REG_B, RTC_B_24H);
	cr_assert_eq(rd(RTC_HOURS), 0x08);
	cr_assert_eq(rd(RTC_YEAR), 0x99);
	cr_assert_eq(rd(RTC_CENTURY), 0x19);
	clk.ns += 3600 * S;
	cr_assert_eq(rd(RTC_HOURS), 0x09);
}

Test(rtc, setting_set_clears_uie)
{
	wr(RTC_REG_B, RTC_B_24H | RTC_B_UIE);
	wr(RTC_REG_B, RTC_B_24H | RTC_B_UIE | RTC_B_SET);
	cr_assert_eq(rd(RTC_REG_B), RTC_B_24H | RTC_B_SET);
}

Test(rtc, uip_is_set_in_the_244us_before_an_update)
{
	clk.ns = T0 + S - 244001;
	cr_assert_eq(rd(RTC_REG_A) & RTC_A_UIP, 0);
	clk.ns = T0 + S - 244000;
	cr_assert_eq(rd(RTC_REG_A) & RTC_A_UIP, RTC_A_UIP);
	clk.ns = T0 + S;
	cr_assert_eq(rd(RTC_REG_A) & RTC_A_UIP, 0);
	cr_assert_eq(rd(RTC_REG_A), 0x26, "divider and rate as the BIOS leaves them");
}

Test(rtc, update_ended_flag_is_set_each_second_and_cleared_by_reading_c)
{
	rd(RTC_REG_C);
	clk.ns += S / 2;
	cr_assert_eq(rd(RTC_REG_C) & RTC_C_UF, 0);
	clk.ns += S / 2;
	cr_assert_eq(rd(RTC_REG_C) & RTC_C_UF, RTC_C_UF);
	cr_assert_eq(rd(RTC_REG_C), 0x00);
}

Test(rtc, update_interrupt_raises_irq8_when_enabled)
{
	wr(RTC_REG_A, 0x20); /* no periodic rate */
	wr(RTC_REG_B, RTC_B_24H | RTC_B_UIE);
	cr_assert_eq(rtc_next_event_ns(&rtc), T0 + S);
	clk.ns = T0 + S;
	rtc_update(&rtc);
	cr_assert(irq.level[8]);
	cr_assert_eq(rd(RTC_REG_C), RTC_C_IRQF | RTC_C_UF);
	cr_assert_not(irq.level[8], "reading C drops the interrupt");
}

Test(rtc, periodic_flag_at_the_programmed_rate)
{
	wr(RTC_REG_A, 0x2f); /* rate 15: 2 Hz */
	rd(RTC_REG_C);
	clk.ns = T0 + S / 2 - 1;
	cr_assert_eq(rd(RTC_REG_C) & RTC_C_PF, 0);
	clk.ns = T0 + S / 2;
	cr_assert_eq(rd(RTC_REG_C) & RTC_C_PF, RTC_C_PF);
}

Test(rtc, periodic_flag_without_pie_raises_no_interrupt)
{
	rd(RTC_REG_C);
	clk.ns += 1000000;
	rtc_update(&rtc);
	cr_assert_not(irq.level[8]);
	cr_assert_eq(rd(RTC_REG_C), RTC_C_PF, "PF without IRQF");
}

Test(rtc, periodic_interrupt_at_1024_hz_when_pie_set)
{
	wr(RTC_REG_B, RTC_B_24H | RTC_B_PIE);
	rd(RTC_REG_C);
	uint64_t next = rtc_next_event_ns(&rtc);
	cr_assert_gt(next, clk.ns);
	cr_assert_leq(next - clk.ns, 976563);
	clk.ns = next;
	rtc_update(&rtc);
	cr_assert(irq.level[8]);
	cr_assert_eq(rd(RTC_REG_C), RTC_C_IRQF | RTC_C_PF);
}

Test(rtc, alarm_flag_when_the_time_matches_the_alarm)
{
	wr(RTC_REG_A, 0x20);
	wr(RTC_SECONDS_ALARM, 0x35);
	wr(RTC_MINUTES_ALARM, 0x45);
	wr(RTC_HOURS_ALARM, 0x13);
	wr(RTC_REG_B, RTC_B_24H | RTC_B_AIE);
	rd(RTC_REG_C);
	clk.ns = T0 + 4 * S;
	rtc_update(&rtc);
	cr_assert_not(irq.level[8]);
	clk.ns = T0 + 5 * S;
	rtc_update(&rtc);
	cr_assert(irq.level[8]);
	cr_assert_eq(rd(RTC_REG_C) & (RTC_C_IRQF | RTC_C_AF), RTC_C_IRQF | RTC_C_AF);
}

Test(rtc, alarm_dont_care_bytes_match_every_value)
{
	wr(RTC_SECONDS_ALARM, 0x00);
	wr(RTC_MINUTES_ALARM, 0xc0);
	wr(RTC_HOURS_ALARM, 0xff);
	rd(RTC_REG_C);
	clk.ns = T0 + 29 * S;
	cr_assert_eq(rd(RTC_REG_C) & RTC_C_AF, 0);
	clk.ns = T0 + 30 * S; /* 13:46:00 */
	cr_assert_eq(rd(RTC_REG_C) & RTC_C_AF, RTC_C_AF);
}

Test(rtc, register_d_reports_valid_ram_and_time)
{
	cr_assert_eq(rd(RTC_REG_D), RTC_D_VRT);
	wr(RTC_REG_D, 0);
	cr_assert_eq(rd(RTC_REG_D), RTC_D_VRT);
}

Test(rtc, divider_in_reset_stops_updates)
{
	wr(RTC_REG_A, 0x70);
	rd(RTC_REG_C);
	clk.ns += 3 * S;
	cr_assert_eq(rd(RTC_REG_C), 0);
	cr_assert_eq(rtc_next_event_ns(&rtc), RTC_NEVER);
}

Test(rtc, memory_size_bytes_follow_the_ram_size)
{
	rtc_set_memory(&rtc, 256ull << 20, 1ull << 30);
	cr_assert_eq(rd(0x15) | rd(0x16) << 8, 640);
	cr_assert_eq(rd(0x17) | rd(0x18) << 8, 0xffff, "capped at 64 MiB");
	cr_assert_eq(rd(0x30) | rd(0x31) << 8, 0xffff);
	cr_assert_eq(rd(0x34) | rd(0x35) << 8, (256 - 16) * 16, "64 KiB units above 16 MiB");
	cr_assert_eq(rd(0x5b) | rd(0x5c) << 8 | rd(0x5d) << 16, 16384, "64 KiB units above 4 GiB");
	rtc_set_memory(&rtc, 32ull << 20, 0);
	cr_assert_eq(rd(0x17) | rd(0x18) << 8, 31 * 1024);
	cr_assert_eq(rd(0x34) | rd(0x35) << 8, 16 * 16);
}

Test(rtc, index_bit_7_masks_nmi)
{
	rtc_io_write(&rtc, 0, 0x80 | RTC_REG_D);
	cr_assert(rtc.nmi_masked);
	cr_assert_eq(rtc_io_read(&rtc, 1), RTC_D_VRT, "the index is the low 7 bits");
	rtc_io_write(&rtc, 0, RTC_REG_D);
	cr_assert_not(rtc.nmi_masked);
}

Test(rtc, cmos_ram_is_plain_memory)
{
	for (unsigned i = 0x0e; i < 0x80; i++) {
		if (i != RTC_CENTURY) {
			wr((uint8_t)i, (uint8_t)(i ^ 0xa5));
		}
	}
	for (unsigned i = 0x0e; i < 0x80; i++) {
		if (i != RTC_CENTURY) {
			cr_assert_eq(rd((uint8_t)i), (uint8_t)(i ^ 0xa5));
		}
	}
}

Test(rtc, alarm_hours_compare_in_the_12_hour_format)
{
	wr(RTC_REG_B, RTC_B_AIE); /* BCD, 12 hours */
	wr(RTC_SECONDS_ALARM, 0x31);
	wr(RTC_MINUTES_ALARM, 0x45);
	wr(RTC_HOURS_ALARM, 0x81); /* 1 PM */
	rd(RTC_REG_C);
	clk.ns = T0 + S;
	cr_assert_eq(rd(RTC_REG_C) & RTC_C_AF, RTC_C_AF);
}

Test(rtc, date_registers_agree_with_the_c_library_calendar)
{
	wr(RTC_REG_B, RTC_B_24H | RTC_B_DM_BINARY);
	/* Every ~3.2 days from 1970 to 2199: leap years, century rules, all weekdays. */
	for (uint64_t t = 0; t < 7258118400ull; t += 276481) {
		clk.ns = t * S;
		time_t tt = (time_t)t;
		struct tm tm;
		cr_assert_not_null(gmtime_r(&tt, &tm));
		cr_assert_eq(rd(RTC_SECONDS), tm.tm_sec, "t=%llu", (unsigned long long)t);
		cr_assert_eq(rd(RTC_MINUTES), tm.tm_min);
		cr_assert_eq(rd(RTC_HOURS), tm.tm_hour);
		cr_assert_eq(rd(RTC_DAY_OF_WEEK), tm.tm_wday + 1);
		cr_assert_eq(rd(RTC_DAY_OF_MONTH), tm.tm_mday);
		cr_assert_eq(rd(RTC_MONTH), tm.tm_mon + 1);
		cr_assert_eq(rd(RTC_YEAR), (tm.tm_year + 1900) % 100);
		cr_assert_eq(rd(RTC_CENTURY), (tm.tm_year + 1900) / 100);
	}
}

Test(rtc, time_written_by_the_guest_reads_back_after_any_date)
{
	/* Set 2100-02-28 23:59:59 (no leap day in 2100) in BCD and watch it roll over. */
	wr(RTC_REG_B, RTC_B_24H | RTC_B_SET);
	wr(RTC_CENTURY, 0x21);
	wr(RTC_YEAR, 0x00);
	wr(RTC_MONTH, 0x02);
	wr(RTC_DAY_OF_MONTH, 0x28);
	wr(RTC_HOURS, 0x23);
	wr(RTC_MINUTES, 0x59);
	wr(RTC_SECONDS, 0x59);
	wr(RTC_REG_B, RTC_B_24H);
	clk.ns += S;
	cr_assert_eq(rd(RTC_MONTH), 0x03);
	cr_assert_eq(rd(RTC_DAY_OF_MONTH), 0x01);
	cr_assert_eq(rd(RTC_HOURS), 0x00);
	cr_assert_eq(rd(RTC_CENTURY), 0x21);
}

Test(rtc, stopping_the_divider_stops_the_clock_until_it_restarts)
{
	wr(RTC_REG_A, 0x66); /* divider chain in reset */
	clk.ns += 10 * S;
	cr_assert_eq(rd(RTC_SECONDS), 0x30);
	wr(RTC_REG_A, 0x26);
	cr_assert_eq(rd(RTC_SECONDS), 0x30, "resumes from the time held");
	clk.ns += S;
	cr_assert_eq(rd(RTC_SECONDS), 0x31);
}
