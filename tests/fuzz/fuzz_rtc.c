/* SPDX-License-Identifier: MIT */
/* Fuzz the MC146818A: index/data accesses and a wall clock that moves forward. */
#include <time.h>

#include "devices/rtc.h"
#include "fuzz.h"

static bool bcd_ok(uint8_t v, unsigned max)
{
	return (v & 15) <= 9 && (v >> 4) <= 9 && (v >> 4) * 10u + (v & 15) <= max;
}

static void check(struct rtc *r, struct fuzz_clock *clk, struct fuzz_irq *irq)
{
	FUZZ_CHECK(r->index < 128);
	uint8_t b = r->cmos[RTC_REG_B], c = r->cmos[RTC_REG_C];
	FUZZ_CHECK(!!(c & RTC_C_IRQF) == !!(c & b & 0x70));
	FUZZ_CHECK(r->irq_level == !!(c & RTC_C_IRQF));
	FUZZ_CHECK(irq->level[RTC_IRQ] == r->irq_level);
	uint64_t next = rtc_next_event_ns(r);
	FUZZ_CHECK(next == RTC_NEVER || next > clk->ns);
	if (!(b & RTC_B_SET) && !(b & RTC_B_DM_BINARY) && (b & RTC_B_24H) &&
	    (r->cmos[RTC_REG_A] & 0x70) == 0x20) {
		/* The running time, read as the guest would, is valid BCD. */
		uint8_t save = r->index;
		r->index = RTC_SECONDS;
		FUZZ_CHECK(bcd_ok(rtc_io_read(r, 1), 59));
		r->index = RTC_HOURS;
		FUZZ_CHECK(bcd_ok(rtc_io_read(r, 1), 23));
		r->index = RTC_MONTH;
		uint8_t m = rtc_io_read(r, 1);
		FUZZ_CHECK(bcd_ok(m, 12) && m != 0);
		r->index = save;
	}
	if (!(b & RTC_B_SET) && (b & RTC_B_DM_BINARY) && (b & RTC_B_24H) &&
	    (r->cmos[RTC_REG_A] & 0x70) == 0x20) {
		/* The registers show the RTC's own time (clock plus the guest's offset) as the C
		 * library's calendar does. */
		time_t t = (time_t)((clk->ns + r->offset) / 1000000000ull);
		struct tm tm;
		FUZZ_CHECK(gmtime_r(&t, &tm));
		uint8_t save = r->index;
		static const uint8_t regs[] = { RTC_SECONDS,	  RTC_MINUTES, RTC_HOURS,
						RTC_DAY_OF_MONTH, RTC_MONTH,   RTC_YEAR };
		int want[] = { tm.tm_sec,  tm.tm_min,	  tm.tm_hour,
			       tm.tm_mday, tm.tm_mon + 1, (tm.tm_year + 1900) % 100 };
		for (unsigned i = 0; i < sizeof(regs); i++) {
			r->index = regs[i];
			FUZZ_CHECK(rtc_io_read(r, 1) == want[i]);
		}
		r->index = save;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct rtc r;
	struct fuzz_clock clk = { .ns = 1709214330ull * 1000000000ull };
	struct fuzz_irq irq;
	struct fuzz_op op;
	fuzz_irq_init(&irq);
	rtc_init(&r, &irq.chip, fuzz_clock_ns, &clk);
	rtc_set_memory(&r, 256u << 20, 0);
	while (fuzz_next(&data, &len, &op)) {
		clk.ns += op.advance_ns;
		if (op.sel & 0x80) {
			rtc_update(&r);
		} else if (op.write) {
			rtc_io_write(&r, op.sel & 1, (uint8_t)op.value);
		} else {
			(void)rtc_io_read(&r, op.sel & 1);
		}
		check(&r, &clk, &irq);
	}
	return 0;
}
