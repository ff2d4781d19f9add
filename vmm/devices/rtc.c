/* SPDX-License-Identifier: MIT */
/* The MC146818A real-time clock and CMOS RAM (Motorola MC146818A datasheet). */
#include "rtc.h"

#include "../iobus.h"

#define NS_PER_S 1000000000ull
#define UIP_NS 244000ull /* UIP rises 244 µs before each update (datasheet: tBUC) */
#define ALARM_SCAN 3600u /* seconds scanned for an alarm match when the clock jumped */
#define DIVIDER_MASK 0x70
#define DIVIDER_32K 0x20 /* 32.768 kHz time base, divider chain running */

/* ---- calendar */

uint64_t rtc_days_from_civil(unsigned year, unsigned month, unsigned day)
{
	/* Count from 1 March so that the leap day ends the year. */
	uint64_t y = year - (month <= 2);
	uint64_t era = y / 400, yoe = y % 400;
	uint64_t mp = (month + 9) % 12;
	uint64_t doy = (153 * mp + 2) / 5 + day - 1;
	uint64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468; /* 719468: days from 0000-03-01 to 1970-01-01 */
}

void rtc_civil_from_days(uint64_t days, unsigned *year, unsigned *month, unsigned *day)
{
	uint64_t z = days + 719468;
	uint64_t era = z / 146097, doe = z % 146097;
	uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	uint64_t mp = (5 * doy + 2) / 153;
	*day = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*year = (unsigned)(yoe + era * 400 + (*month <= 2));
}

/* ---- register formats (register B: DM selects binary or BCD, 24/12 the hour format) */

static bool binary(const struct rtc *r)
{
	return r->cmos[RTC_REG_B] & RTC_B_DM_BINARY;
}

static uint8_t enc(const struct rtc *r, unsigned v)
{
	return (uint8_t)(binary(r) ? v : (v / 10 % 10) << 4 | v % 10);
}

static unsigned dec(const struct rtc *r, uint8_t v)
{
	return binary(r) ? v : (v >> 4) * 10u + (v & 15);
}

static uint8_t enc_hour(const struct rtc *r, unsigned h)
{
	if (r->cmos[RTC_REG_B] & RTC_B_24H) {
		return enc(r, h);
	}
	/* 12-hour mode: 1-12, bit 7 set for PM. */
	return (uint8_t)(enc(r, h % 12 ? h % 12 : 12) | (h >= 12 ? 0x80 : 0));
}

static unsigned dec_hour(const struct rtc *r, uint8_t v)
{
	if (r->cmos[RTC_REG_B] & RTC_B_24H) {
		return dec(r, v) % 24;
	}
	return dec(r, v & 0x7f) % 12 + (v & 0x80 ? 12 : 0);
}

/* ---- time */

static uint64_t rtc_ns(const struct rtc *r)
{
	return r->clock_ns(r->arg) + r->offset;
}

static bool updating(const struct rtc *r)
{
	return (r->cmos[RTC_REG_A] & DIVIDER_MASK) == DIVIDER_32K &&
	       !(r->cmos[RTC_REG_B] & RTC_B_SET);
}

struct tm_regs {
	unsigned sec, min, hour, wday, mday, mon, year;
};

static struct tm_regs breakdown(uint64_t secs)
{
	struct tm_regs t;
	uint64_t days = secs / 86400, s = secs % 86400;
	t.sec = (unsigned)(s % 60);
	t.min = (unsigned)(s / 60 % 60);
	t.hour = (unsigned)(s / 3600);
	t.wday = (unsigned)((days + 4) % 7 + 1); /* 1970-01-01 was a Thursday; Sunday is 1 */
	rtc_civil_from_days(days, &t.year, &t.mon, &t.mday);
	return t;
}

/* Time registers from the clock (the snapshot a read returns). */
static void latch_time(struct rtc *r)
{
	struct tm_regs t = breakdown(rtc_ns(r) / NS_PER_S);
	r->cmos[RTC_SECONDS] = enc(r, t.sec);
	r->cmos[RTC_MINUTES] = enc(r, t.min);
	r->cmos[RTC_HOURS] = enc_hour(r, t.hour);
	r->cmos[RTC_DAY_OF_WEEK] = enc(r, t.wday);
	r->cmos[RTC_DAY_OF_MONTH] = enc(r, t.mday);
	r->cmos[RTC_MONTH] = enc(r, t.mon);
	r->cmos[RTC_YEAR] = enc(r, t.year % 100);
	r->cmos[RTC_CENTURY] = enc(r, t.year / 100 % 100);
}

static unsigned clamp(unsigned v, unsigned lo, unsigned hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* The guest wrote the time: it runs on from these registers, the next update one second on. */
static void commit_time(struct rtc *r)
{
	const uint8_t *c = r->cmos;
	unsigned century = dec(r, c[RTC_CENTURY]);
	unsigned year = dec(r, c[RTC_YEAR]) % 100;
	year += (century >= 19 && century <= 99 ? century : year < 70 ? 20 : 19) * 100;
	year = clamp(year, 1970, 9999);
	uint64_t days = rtc_days_from_civil(year, clamp(dec(r, c[RTC_MONTH]), 1, 12),
					    clamp(dec(r, c[RTC_DAY_OF_MONTH]), 1, 31));
	uint64_t secs = days * 86400 + dec_hour(r, c[RTC_HOURS]) * 3600ull +
			dec(r, c[RTC_MINUTES]) % 60 * 60ull + dec(r, c[RTC_SECONDS]) % 60;
	r->offset = secs * NS_PER_S - r->clock_ns(r->arg);
	r->last = secs * NS_PER_S;
}

/* Alarm bytes match a time when equal, or when their two high bits are set ("don't care"). */
static bool alarm_field(uint8_t alarm, uint8_t now)
{
	return (alarm & 0xc0) == 0xc0 || alarm == now;
}

static bool alarm_at(const struct rtc *r, uint64_t secs)
{
	struct tm_regs t = breakdown(secs);
	return alarm_field(r->cmos[RTC_SECONDS_ALARM], enc(r, t.sec)) &&
	       alarm_field(r->cmos[RTC_MINUTES_ALARM], enc(r, t.min)) &&
	       alarm_field(r->cmos[RTC_HOURS_ALARM], enc_hour(r, t.hour));
}

/* Periodic interrupt period for rate bits RS3-RS0 at 32.768 kHz; 0 when off. */
static uint64_t period_ns(const struct rtc *r)
{
	unsigned rs = r->cmos[RTC_REG_A] & 15;
	if (rs == 0) {
		return 0;
	}
	if (rs < 3) {
		rs += 7; /* rates 1 and 2 repeat 8 and 9 (256 and 128 Hz) */
	}
	return (NS_PER_S << (rs - 1)) >> 15;
}

static void update_irq(struct rtc *r)
{
	uint8_t *c = &r->cmos[RTC_REG_C];
	/* IRQF = PF·PIE + AF·AIE + UF·UIE: flags and enables share bit positions. */
	bool irqf = *c & r->cmos[RTC_REG_B] & (RTC_C_PF | RTC_C_AF | RTC_C_UF);
	*c = (uint8_t)((*c & ~RTC_C_IRQF) | (irqf ? RTC_C_IRQF : 0));
	if (irqf != r->irq_level) {
		r->irq_level = irqf;
		if (r->irq) {
			irqchip_set(r->irq, RTC_IRQ, irqf);
		}
	}
}

/* Set the flags for what happened between r->last and now. */
static void advance(struct rtc *r)
{
	uint64_t t = rtc_ns(r), last = r->last;
	if (t <= last) {
		return;
	}
	r->last = t;
	if ((r->cmos[RTC_REG_A] & DIVIDER_MASK) != DIVIDER_32K) {
		return; /* divider chain held in reset: no updates, no periodic interrupts */
	}
	uint64_t p = period_ns(r);
	if (p && t / p != last / p) {
		r->cmos[RTC_REG_C] |= RTC_C_PF;
	}
	if (r->cmos[RTC_REG_B] & RTC_B_SET) {
		return;
	}
	uint64_t s0 = last / NS_PER_S, s1 = t / NS_PER_S;
	if (s1 == s0) {
		return;
	}
	r->cmos[RTC_REG_C] |= RTC_C_UF; /* an update cycle ended */
	uint64_t s = s1 - s0 > ALARM_SCAN ? s1 - ALARM_SCAN + 1 : s0 + 1;
	for (; s <= s1; s++) {
		if (alarm_at(r, s)) {
			r->cmos[RTC_REG_C] |= RTC_C_AF;
			break;
		}
	}
}

void rtc_update(struct rtc *r)
{
	advance(r);
	update_irq(r);
}

uint64_t rtc_next_event_ns(struct rtc *r)
{
	if ((r->cmos[RTC_REG_A] & DIVIDER_MASK) != DIVIDER_32K) {
		return RTC_NEVER;
	}
	uint64_t t = rtc_ns(r), next = RTC_NEVER, p = period_ns(r);
	uint8_t b = r->cmos[RTC_REG_B];
	if ((b & RTC_B_PIE) && p) {
		next = (t / p + 1) * p;
	}
	if ((b & (RTC_B_UIE | RTC_B_AIE)) && !(b & RTC_B_SET)) {
		uint64_t sec = (t / NS_PER_S + 1) * NS_PER_S;
		next = sec < next ? sec : next;
	}
	return next == RTC_NEVER ? next : next - r->offset;
}

static uint8_t read_reg(struct rtc *r, uint8_t i)
{
	switch (i) {
	case RTC_SECONDS:
	case RTC_MINUTES:
	case RTC_HOURS:
	case RTC_DAY_OF_WEEK:
	case RTC_DAY_OF_MONTH:
	case RTC_MONTH:
	case RTC_YEAR:
	case RTC_CENTURY:
		if (updating(r)) {
			latch_time(r);
		}
		return r->cmos[i];
	case RTC_REG_A: {
		bool uip = updating(r) && rtc_ns(r) % NS_PER_S >= NS_PER_S - UIP_NS;
		return (uint8_t)((r->cmos[i] & 0x7f) | (uip ? RTC_A_UIP : 0));
	}
	case RTC_REG_C: {
		uint8_t v = r->cmos[i];
		r->cmos[i] = 0; /* reading C clears all flags and IRQF */
		return v;
	}
	case RTC_REG_D:
		return RTC_D_VRT; /* the battery is fine */
	default:
		return r->cmos[i];
	}
}

static void write_reg_b(struct rtc *r, uint8_t v)
{
	bool was_set = r->cmos[RTC_REG_B] & RTC_B_SET, set = v & RTC_B_SET;
	if (set && !was_set) {
		latch_time(r); /* SET freezes the time registers for the guest to rewrite */
		v &= (uint8_t)~RTC_B_UIE; /* and clears UIE (datasheet) */
	}
	bool divider_on = (r->cmos[RTC_REG_A] & DIVIDER_MASK) == DIVIDER_32K;
	if (was_set && !set && divider_on) {
		commit_time(r); /* in the format the registers were written in */
	}
	r->cmos[RTC_REG_B] = v;
}

static void write_reg_a(struct rtc *r, uint8_t v)
{
	bool was = updating(r);
	r->cmos[RTC_REG_A] = v & 0x7f; /* UIP is read-only */
	/* Stopping the divider chain stops the clock; restarting it resumes from the time held. */
	if (was && !updating(r)) {
		latch_time(r);
	} else if (!was && updating(r)) {
		commit_time(r);
	}
}

static void write_reg(struct rtc *r, uint8_t i, uint8_t v)
{
	switch (i) {
	case RTC_SECONDS:
	case RTC_MINUTES:
	case RTC_HOURS:
	case RTC_DAY_OF_WEEK:
	case RTC_DAY_OF_MONTH:
	case RTC_MONTH:
	case RTC_YEAR:
	case RTC_CENTURY:
		if (updating(r)) {
			latch_time(r); /* the other fields keep the running time */
			r->cmos[i] = v;
			commit_time(r);
		} else {
			r->cmos[i] = v;
		}
		break;
	case RTC_REG_A:
		write_reg_a(r, v);
		break;
	case RTC_REG_B:
		write_reg_b(r, v);
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		break; /* read-only */
	default:
		r->cmos[i] = v;
		break;
	}
}

uint8_t rtc_io_read(struct rtc *r, unsigned offset)
{
	if (offset != 1) {
		return 0xff; /* the index port is write-only */
	}
	advance(r);
	uint8_t v = read_reg(r, r->index);
	update_irq(r);
	return v;
}

void rtc_io_write(struct rtc *r, unsigned offset, uint8_t value)
{
	if (offset == 0) {
		r->index = value & 0x7f;
		r->nmi_masked = value & 0x80;
		return;
	}
	if (offset != 1) {
		return;
	}
	advance(r);
	write_reg(r, r->index, value);
	update_irq(r);
}

static void put16(struct rtc *r, uint8_t at, uint64_t v)
{
	v = v > 0xffff ? 0xffff : v;
	r->cmos[at] = (uint8_t)v;
	r->cmos[at + 1] = (uint8_t)(v >> 8);
}

void rtc_set_memory(struct rtc *r, uint64_t below_4g, uint64_t above_4g)
{
	const uint64_t mib = 1ull << 20, kib = 1ull << 10, k64 = 64ull << 10;
	put16(r, 0x15, 640);					     /* base memory, KiB */
	put16(r, 0x17, below_4g > mib ? (below_4g - mib) / kib : 0); /* above 1 MiB, KiB */
	put16(r, 0x30, below_4g > mib ? (below_4g - mib) / kib : 0);
	put16(r, 0x34, below_4g > 16 * mib ? (below_4g - 16 * mib) / k64 : 0); /* above 16 MiB */
	uint64_t high = above_4g / k64;					       /* above 4 GiB */
	high = high > 0xffffff ? 0xffffff : high;
	r->cmos[0x5b] = (uint8_t)high;
	r->cmos[0x5c] = (uint8_t)(high >> 8);
	r->cmos[0x5d] = (uint8_t)(high >> 16);
	/* The standard CMOS checksum: the sum of 0x10-0x2d, big-endian at 0x2e. */
	unsigned sum = 0;
	for (unsigned i = 0x10; i <= 0x2d; i++) {
		sum += r->cmos[i];
	}
	r->cmos[0x2e] = (uint8_t)(sum >> 8);
	r->cmos[0x2f] = (uint8_t)sum;
}

void rtc_init(struct rtc *r, const struct irqchip *irq, uint64_t (*clock_ns)(void *arg), void *arg)
{
	*r = (struct rtc){ .irq = irq, .clock_ns = clock_ns, .arg = arg };
	/* What a PC BIOS leaves: 32.768 kHz divider at 1024 Hz, BCD, 24-hour mode. */
	r->cmos[RTC_REG_A] = DIVIDER_32K | 6;
	r->cmos[RTC_REG_B] = RTC_B_24H;
	r->last = rtc_ns(r);
	latch_time(r);
}

/* A word access to 0x70 is index and data in one go: split it into byte accesses. */
static uint64_t rtc_bus_read(void *dev, uint64_t off, unsigned size)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < size; i++) {
		v |= (uint64_t)rtc_io_read(dev, (unsigned)off + i) << (8 * i);
	}
	return v;
}

static void rtc_bus_write(void *dev, uint64_t off, unsigned size, uint64_t v)
{
	for (unsigned i = 0; i < size; i++) {
		rtc_io_write(dev, (unsigned)off + i, (uint8_t)(v >> (8 * i)));
	}
}

static const struct iobus_ops rtc_ops = { .read = rtc_bus_read, .write = rtc_bus_write };

bool rtc_attach(struct rtc *r, struct iobus *bus)
{
	return iobus_register(bus, IOBUS_PIO, RTC_PORT, 2, &rtc_ops, r) == IOBUS_OK;
}
