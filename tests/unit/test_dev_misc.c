/* SPDX-License-Identifier: MIT */
/* The 8042 keyboard controller, port 0x92 and the POST port. */
#include <criterion/criterion.h>

#include "dev_fake.h"
#include "devices/i8042.h"
#include "devices/sysport.h"

static struct i8042 kbc;
static struct sysport sp;
static struct fake_irq irq;
static unsigned resets, a20_calls;
static bool a20;

static void on_reset(void *arg)
{
	resets++;
}

static void on_a20(void *arg, bool on)
{
	a20_calls++;
	a20 = on;
}

static void setup(void)
{
	resets = a20_calls = 0;
	fake_irq_init(&irq);
	i8042_init(&kbc, &irq.chip, on_reset, on_a20, NULL);
	sysport_init(&sp, on_reset, on_a20, NULL);
}

TestSuite(i8042, .init = setup);
TestSuite(sysport, .init = setup);

Test(i8042, self_test_answers_0x55_through_the_output_buffer)
{
	cr_assert_eq(i8042_io_read(&kbc, 0x64) & I8042_STR_OBF, 0);
	i8042_io_write(&kbc, 0x64, 0xaa);
	cr_assert_eq(i8042_io_read(&kbc, 0x64) & I8042_STR_OBF, I8042_STR_OBF);
	cr_assert_eq(i8042_io_read(&kbc, 0x60), 0x55);
	cr_assert_eq(i8042_io_read(&kbc, 0x64) & (I8042_STR_OBF | I8042_STR_SYS), I8042_STR_SYS);
}

Test(i8042, command_byte_reads_and_writes)
{
	i8042_io_write(&kbc, 0x64, 0x60);
	i8042_io_write(&kbc, 0x60, 0x44);
	i8042_io_write(&kbc, 0x64, 0x20);
	cr_assert_eq(i8042_io_read(&kbc, 0x60), 0x44);
}

Test(i8042, command_0xfe_pulses_reset)
{
	i8042_io_write(&kbc, 0x64, 0xfe);
	cr_assert_eq(resets, 1);
	i8042_io_write(&kbc, 0x64, 0xff);
	cr_assert_eq(resets, 1, "0xff pulses no line");
}

Test(i8042, output_port_bit0_low_resets_and_bit1_is_a20)
{
	i8042_io_write(&kbc, 0x64, 0xd1);
	i8042_io_write(&kbc, 0x60, 0x01);
	cr_assert_eq(a20_calls, 1);
	cr_assert_not(a20);
	cr_assert_eq(resets, 0);
	i8042_io_write(&kbc, 0x64, 0xd1);
	i8042_io_write(&kbc, 0x60, 0x00);
	cr_assert_eq(resets, 1);
}

Test(i8042, keyboard_acknowledges_and_interrupts_on_irq1)
{
	i8042_io_write(&kbc, 0x60, 0xff);
	cr_assert(irq.level[1]);
	cr_assert_eq(i8042_io_read(&kbc, 0x60), 0xfa);
	cr_assert(irq.level[1], "the self-test result follows");
	cr_assert_eq(irq.rises[1], 2, "each byte is a new edge");
	cr_assert_eq(i8042_io_read(&kbc, 0x60), 0xaa);
	cr_assert_not(irq.level[1]);
}

Test(i8042, no_interrupt_with_the_keyboard_interrupt_disabled)
{
	i8042_io_write(&kbc, 0x64, 0x60);
	i8042_io_write(&kbc, 0x60, 0x00);
	i8042_io_write(&kbc, 0x64, 0xaa);
	cr_assert_not(irq.level[1]);
}

Test(sysport, port92_bit0_requests_reset_and_reads_back_zero)
{
	sysport_io_write(&sp, 0x92, 0x03);
	cr_assert_eq(resets, 1);
	cr_assert_eq(sysport_io_read(&sp, 0x92), 0x02);
}

Test(sysport, port92_bit1_is_fast_a20)
{
	sysport_io_write(&sp, 0x92, 0x00);
	cr_assert_eq(a20_calls, 1);
	cr_assert_not(a20);
	cr_assert_eq(sysport_io_read(&sp, 0x92), 0x00);
	cr_assert_eq(resets, 0);
}

Test(sysport, port80_keeps_the_last_post_code)
{
	sysport_io_write(&sp, 0x80, 0x42);
	sysport_io_write(&sp, 0x80, 0x43);
	cr_assert_eq(sysport_io_read(&sp, 0x80), 0x43);
	cr_assert_eq(sp.post_writes, 2);
}
