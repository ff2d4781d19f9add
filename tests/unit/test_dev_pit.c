/* SPDX-License-Identifier: MIT */
/* 8254 at register level against a hand-moved clock: modes, access modes, latches, BCD, gate. */
#include <criterion/criterion.h>

#include "dev_fake.h"
#include "devices/pit8254.h"

static struct pit pit;
static struct fake_clock clk;
static struct fake_irq irq;

static void at(uint64_t ticks)
{
	clk.ns = pit_ticks_to_ns(ticks);
}

static void out(uint16_t port, uint8_t v)
{
	pit_io_write(&pit, port, v);
}

static uint8_t in(uint16_t port)
{
	return pit_io_read(&pit, port);
}

static uint16_t read16(uint16_t port)
{
	uint8_t lo = in(port);
	return (uint16_t)(lo | in(port) << 8);
}

/* Counter latch command, then the two bytes (LOHI channels). */
static uint16_t latched(unsigned ch)
{
	out(0x43, (uint8_t)(ch << 6));
	return read16((uint16_t)(0x40 + ch));
}

static void load(unsigned ch, uint16_t count)
{
	out((uint16_t)(0x40 + ch), (uint8_t)count);
	out((uint16_t)(0x40 + ch), (uint8_t)(count >> 8));
}

static bool out2(void)
{
	return in(0x61) & 0x20;
}

static void setup(void)
{
	clk.ns = 0;
	fake_irq_init(&irq);
	pit_init(&pit, fake_clock_ns, &clk, &irq.chip);
}

TestSuite(pit8254, .init = setup);

Test(pit8254, tick_conversion_round_trips_at_1193182_hz)
{
	cr_assert_eq(pit_ns_to_ticks(1000000000ull), PIT_HZ);
	cr_assert_eq(pit_ns_to_ticks(838), 0);
	cr_assert_eq(pit_ns_to_ticks(839), 1);
	for (uint64_t t = 1; t < 3000000; t += 999983) {
		cr_assert_eq(pit_ns_to_ticks(pit_ticks_to_ns(t)), t);
		cr_assert_lt(pit_ns_to_ticks(pit_ticks_to_ns(t) - 1), t,
			     "the earliest ns of tick t");
	}
}

Test(pit8254, mode2_counts_down_from_n_to_1_and_reloads)
{
	out(0x43, 0x34);
	load(0, 100);
	cr_assert_eq(latched(0), 100);
	at(1);
	cr_assert_eq(latched(0), 99);
	at(99);
	cr_assert_eq(latched(0), 1);
	at(100);
	cr_assert_eq(latched(0), 100, "reload at the end of the period");
	at(150);
	cr_assert_eq(latched(0), 50);
}

Test(pit8254, mode2_raises_irq0_once_per_period)
{
	out(0x43, 0x34);
	load(0, 1000);
	pit_update(&pit);
	cr_assert_eq(irq.rises[0], 0, "OUT was high and stays high: no edge yet");
	at(999);
	pit_update(&pit);
	cr_assert_eq(irq.rises[0], 0);
	at(1000);
	pit_update(&pit);
	cr_assert_eq(irq.rises[0], 1);
	at(2500);
	pit_update(&pit);
	cr_assert_eq(irq.rises[0], 2);
	at(5500);
	pit_update(&pit);
	cr_assert_eq(irq.rises[0], 3, "late updates deliver one edge");
	cr_assert_eq(pit.coalesced, 2);
}

Test(pit8254, next_irq_is_due_at_the_end_of_the_period)
{
	cr_assert_eq(pit_next_irq_ns(&pit), PIT_NEVER, "no count loaded");
	at(10);
	out(0x43, 0x34);
	load(0, 1000);
	cr_assert_eq(pit_next_irq_ns(&pit), pit_ticks_to_ns(1010));
	at(1500);
	pit_update(&pit);
	cr_assert_eq(pit_next_irq_ns(&pit), pit_ticks_to_ns(2010));
}

Test(pit8254, mode0_out_is_low_until_terminal_count_then_stays_high)
{
	out(0x61, 0x01);
	out(0x43, 0xb0);
	cr_assert_not(out2(), "the mode 0 control word sets OUT low");
	load(2, 1000);
	at(999);
	cr_assert_not(out2());
	at(1000);
	cr_assert(out2());
	at(70000);
	cr_assert(out2(), "no reload in mode 0");
}

Test(pit8254, mode0_counter_wraps_after_terminal_count)
{
	out(0x43, 0x30);
	load(0, 10);
	at(10);
	cr_assert_eq(latched(0), 0);
	at(11);
	cr_assert_eq(latched(0), 0xffff);
}

Test(pit8254, mode0_channel0_interrupts_once_at_terminal_count)
{
	out(0x43, 0x30);
	load(0, 500);
	cr_assert_eq(pit_next_irq_ns(&pit), pit_ticks_to_ns(500));
	at(500);
	pit_update(&pit);
	cr_assert_eq(irq.rises[0], 1);
	cr_assert_eq(pit_next_irq_ns(&pit), PIT_NEVER);
	out(0x43, 0x30);
	pit_update(&pit);
	cr_assert_not(irq.level[0], "a new mode 0 control word drops OUT");
}

Test(pit8254, mode0_writing_the_first_byte_stops_the_count)
{
	out(0x43, 0x30);
	load(0, 500);
	at(100);
	out(0x40, 0x10);
	at(900);
	cr_assert_not(pit_out(&pit, 0));
	out(0x40, 0x00);
	at(900 + 0x10);
	cr_assert(pit_out(&pit, 0));
}

Test(pit8254, gate_low_suspends_counting_in_mode0)
{
	out(0x61, 0x01);
	out(0x43, 0xb0);
	load(2, 1000);
	at(200);
	out(0x61, 0x00);
	at(5000);
	cr_assert_eq(latched(2), 800);
	cr_assert_not(out2());
	out(0x61, 0x01);
	at(5799);
	cr_assert_not(out2());
	at(5800);
	cr_assert(out2());
}

Test(pit8254, counter_latch_holds_the_value_until_both_bytes_are_read)
{
	out(0x43, 0x34);
	load(0, 100);
	at(10);
	out(0x43, 0x00);
	at(50);
	out(0x43, 0x00); /* a second latch before reading is ignored */
	cr_assert_eq(in(0x40), 90);
	at(60);
	cr_assert_eq(in(0x40), 0);
	cr_assert_eq(read16(0x40), 40, "after the latch is read, reads follow the counter");
}

Test(pit8254, read_back_latches_status_then_count)
{
	out(0x43, 0x34);
	load(0, 100);
	at(30);
	out(0x43, 0xc2); /* read-back: count and status of channel 0 */
	at(60);
	cr_assert_eq(in(0x40), 0xb4, "OUT high, LOHI, mode 2, binary");
	cr_assert_eq(read16(0x40), 70);
}

Test(pit8254, read_back_status_shows_null_count_until_a_count_is_loaded)
{
	out(0x43, 0xb2);
	out(0x43, 0xe8); /* read-back: status only, channel 2 */
	cr_assert_eq(in(0x42), 0x40 | 0x80 | 0x32, "null count, OUT high, LOHI, mode 1");
	load(2, 5);
	out(0x43, 0xe8);
	cr_assert_eq(in(0x42) & 0x40, 0);
}

Test(pit8254, read_back_can_latch_several_channels)
{
	out(0x43, 0x34);
	load(0, 100);
	out(0x43, 0x74);
	load(1, 200);
	at(5);
	out(0x43, 0xd6); /* count only, channels 0 and 1 */
	at(50);
	cr_assert_eq(read16(0x40), 95);
	cr_assert_eq(read16(0x41), 195);
}

Test(pit8254, lsb_only_access_loads_with_one_byte)
{
	out(0x43, 0x14);
	out(0x40, 50);
	at(20);
	out(0x43, 0x00);
	cr_assert_eq(in(0x40), 30);
	cr_assert_eq(in(0x40), 30, "LSB-only reads never switch to the MSB");
}

Test(pit8254, msb_only_access_loads_the_high_byte)
{
	out(0x43, 0x24);
	out(0x40, 0x02);
	cr_assert_eq(pit.ch[0].count, 0x200);
	at(0x100);
	cr_assert_eq(in(0x40), 0x01);
}

Test(pit8254, count_of_zero_means_65536)
{
	out(0x43, 0x34);
	load(0, 0);
	at(1);
	cr_assert_eq(latched(0), 0xffff);
	cr_assert_eq(pit_next_irq_ns(&pit), pit_ticks_to_ns(0x10000));
}

Test(pit8254, bcd_counter_counts_in_decimal)
{
	out(0x43, 0x35); /* mode 2, BCD */
	load(0, 0x1000);
	at(1);
	cr_assert_eq(latched(0), 0x0999);
	at(1000);
	cr_assert_eq(latched(0), 0x1000);
	cr_assert_eq(pit_next_irq_ns(&pit), pit_ticks_to_ns(2000));
}

Test(pit8254, bcd_count_of_zero_means_10000)
{
	out(0x43, 0x31); /* mode 0, BCD */
	load(0, 0);
	at(1);
	cr_assert_eq(latched(0), 0x9999);
	at(10000);
	cr_assert(pit_out(&pit, 0));
}

Test(pit8254, mode3_square_wave_is_high_for_the_first_half)
{
	out(0x61, 0x01);
	out(0x43, 0xb6);
	load(2, 100);
	at(49);
	cr_assert(out2());
	at(50);
	cr_assert_not(out2());
	at(99);
	cr_assert_not(out2());
	at(100);
	cr_assert(out2());
	at(10);
	cr_assert_eq(latched(2), 80, "mode 3 counts down by two");
}

Test(pit8254, mode1_one_shot_starts_on_the_gate_rising_edge)
{
	out(0x43, 0xb2);
	load(2, 10);
	at(100);
	cr_assert(out2(), "OUT stays high until triggered");
	out(0x61, 0x01);
	at(101);
	cr_assert_not(out2());
	at(110);
	cr_assert(out2());
	out(0x61, 0x00);
	out(0x61, 0x01); /* retrigger */
	cr_assert_not(out2());
}

Test(pit8254, mode4_strobe_goes_low_for_one_clock_at_terminal_count)
{
	out(0x61, 0x01);
	out(0x43, 0xb8);
	load(2, 10);
	at(9);
	cr_assert(out2());
	at(10);
	cr_assert_not(out2());
	at(11);
	cr_assert(out2());
}

Test(pit8254, mode2_gate_low_forces_out_high_and_rising_gate_reloads)
{
	out(0x61, 0x01);
	out(0x43, 0xb4);
	load(2, 10);
	at(9);
	cr_assert_not(out2());
	out(0x61, 0x00);
	cr_assert(out2());
	at(50);
	out(0x61, 0x01);
	cr_assert_eq(latched(2), 10);
	at(55);
	cr_assert_eq(latched(2), 5);
}

Test(pit8254, port61_reads_back_gate_and_speaker_bits)
{
	out(0x61, 0x03);
	cr_assert_eq(in(0x61) & 0x0f, 0x03);
	out(0x61, 0xf0);
	cr_assert_eq(in(0x61) & 0x0f, 0x00);
}

Test(pit8254, port61_refresh_bit_toggles_with_time)
{
	clk.ns = 0;
	uint8_t a = in(0x61) & 0x10;
	clk.ns = 15085;
	uint8_t b = in(0x61) & 0x10;
	cr_assert_neq(a, b);
}

Test(pit8254, linux_pit_calibration_sequence_sees_out2_rise)
{
	/* arch/x86 pit_calibrate_tsc: gate on, speaker off, mode 0 on channel 2, poll bit 5. */
	out(0x61, (uint8_t)((in(0x61) & ~0x02) | 0x01));
	out(0x43, 0xb0);
	load(2, 11931); /* 10 ms */
	unsigned polls = 0;
	while (!(in(0x61) & 0x20) && polls < 100000) {
		clk.ns += 1000;
		polls++;
	}
	cr_assert_eq(polls, 10000);
}

Test(pit8254, mode0_after_mode0_rearms_with_a_new_edge)
{
	out(0x43, 0x30);
	load(0, 10);
	at(10);
	pit_update(&pit);
	cr_assert_eq(irq.rises[0], 1, "OUT low from the control word, high at terminal count");
	out(0x43, 0x30);
	load(0, 10);
	at(20);
	pit_update(&pit);
	cr_assert_eq(irq.rises[0], 2);
}

Test(pit8254, lohi_reads_alternate_lsb_and_msb)
{
	out(0x43, 0x34);
	load(0, 0x1234);
	cr_assert_eq(in(0x40), 0x34);
	at(0x100);
	cr_assert_eq(in(0x40), 0x11, "the MSB of the counter as it is now");
	cr_assert_eq(in(0x40), 0x34);
}

Test(pit8254, mode3_odd_count_is_high_one_clock_longer)
{
	out(0x61, 0x01);
	out(0x43, 0xb6);
	load(2, 5);
	at(2);
	cr_assert(out2());
	at(3);
	cr_assert_not(out2(), "high for (N+1)/2 = 3 clocks, low for (N-1)/2 = 2");
	at(5);
	cr_assert(out2());
}

Test(pit8254, control_word_for_another_channel_leaves_channel0_counting)
{
	out(0x43, 0x34);
	load(0, 100);
	out(0x43, 0xb0);
	load(2, 7);
	at(30);
	cr_assert_eq(latched(0), 70);
}

Test(pit8254, read_back_status_latch_is_kept_until_read)
{
	out(0x43, 0x30);
	load(0, 100);
	out(0x43, 0xe2); /* status of channel 0: OUT still low */
	at(200);
	out(0x43, 0xe2); /* ignored: the first status is still latched */
	cr_assert_eq(in(0x40), 0x30);
	out(0x43, 0xe2);
	cr_assert_eq(in(0x40), 0xb0, "a new latch after the read sees OUT high");
}

Test(pit8254, reprogramming_discards_a_latched_count)
{
	out(0x43, 0x34);
	load(0, 100);
	at(10);
	out(0x43, 0x00);
	out(0x43, 0x34); /* the datasheet: held until read or the counter is reprogrammed */
	load(0, 50);
	cr_assert_eq(read16(0x40), 50);
}
