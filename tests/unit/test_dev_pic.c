/* SPDX-License-Identifier: MIT */
/* 8259A pair at register level: priority, EOI rules, ELCR, auto-EOI, spurious IRQs, cascade. */
#include <criterion/criterion.h>

#include "devices/pic8259.h"

static struct pic pic;
static unsigned intr_changes;
static bool intr_level;

static void on_intr(void *arg, bool level)
{
	intr_changes++;
	intr_level = level;
}

static void out(uint16_t port, uint8_t v)
{
	pic_io_write(&pic, port, v);
}

static uint8_t in(uint16_t port)
{
	return pic_io_read(&pic, port);
}

/* What Linux's init_8259A does: vectors 0x20 and 0x28, cascade on IR2, 8086 mode. */
static void init_pair(uint8_t icw4)
{
	out(0x20, 0x11);
	out(0x21, 0x20);
	out(0x21, 0x04);
	out(0x21, icw4);
	out(0xa0, 0x11);
	out(0xa1, 0x28);
	out(0xa1, 0x02);
	out(0xa1, icw4);
	out(0x21, 0x00);
	out(0xa1, 0x00);
}

static void setup(void)
{
	intr_changes = 0;
	intr_level = false;
	pic_init(&pic, on_intr, NULL);
	init_pair(0x01);
}

static void pulse(unsigned irq)
{
	pic_set_irq(&pic, irq, true);
	pic_set_irq(&pic, irq, false);
}

static uint8_t isr(uint16_t port)
{
	out(port, 0x0b); /* OCW3: read ISR */
	uint8_t v = in(port);
	out(port, 0x0a); /* back to IRR */
	return v;
}

static uint8_t pending_vector(void)
{
	uint8_t v = 0;
	cr_assert(pic_pending(&pic, &v), "an interrupt should be pending");
	return v;
}

TestSuite(pic8259, .init = setup);

Test(pic8259, power_on_state_masks_everything)
{
	pic_init(&pic, NULL, NULL);
	pic_set_irq(&pic, 1, true);
	cr_assert_eq(in(0x21), 0xff);
	cr_assert_not(pic_pending(&pic, NULL));
}

Test(pic8259, icw2_sets_the_vector_base_of_each_chip)
{
	pulse(1);
	cr_assert_eq(pic_inta(&pic), 0x21);
	pulse(12);
	out(0x20, 0x20);
	cr_assert_eq(pic_inta(&pic), 0x2c);
}

Test(pic8259, lowest_numbered_line_has_highest_priority)
{
	pulse(5);
	pulse(3);
	cr_assert_eq(pending_vector(), 0x23);
	cr_assert_eq(pic_inta(&pic), 0x23);
	cr_assert_not(pic_pending(&pic, NULL), "IRQ 5 must wait while IRQ 3 is in service");
	out(0x20, 0x20);
	cr_assert_eq(pic_inta(&pic), 0x25);
}

Test(pic8259, higher_priority_request_nests_over_one_in_service)
{
	pulse(5);
	cr_assert_eq(pic_inta(&pic), 0x25);
	pulse(1);
	cr_assert_eq(pic_inta(&pic), 0x21);
	cr_assert_eq(isr(0x20), 0x22);
}

Test(pic8259, nonspecific_eoi_clears_the_highest_priority_level_in_service)
{
	pulse(5);
	pic_inta(&pic);
	pulse(1);
	pic_inta(&pic);
	out(0x20, 0x20);
	cr_assert_eq(isr(0x20), 0x20);
	out(0x20, 0x20);
	cr_assert_eq(isr(0x20), 0x00);
}

Test(pic8259, specific_eoi_clears_only_the_named_level)
{
	pulse(5);
	pic_inta(&pic);
	pulse(1);
	pic_inta(&pic);
	out(0x20, 0x65);
	cr_assert_eq(isr(0x20), 0x02);
}

Test(pic8259, irr_and_isr_are_read_through_ocw3)
{
	pulse(4);
	pulse(6);
	cr_assert_eq(in(0x20), 0x50, "IRR is the default read");
	pic_inta(&pic);
	cr_assert_eq(in(0x20), 0x40);
	cr_assert_eq(isr(0x20), 0x10);
}

Test(pic8259, masked_request_stays_in_irr_but_is_not_delivered)
{
	out(0x21, 0x10);
	pulse(4);
	cr_assert_eq(in(0x20), 0x10);
	cr_assert_not(pic_pending(&pic, NULL));
	out(0x21, 0x00);
	cr_assert_eq(pending_vector(), 0x24);
	cr_assert_eq(in(0x21), 0x00, "OCW1 reads back as IMR");
}

Test(pic8259, edge_triggered_request_is_latched_until_acknowledged)
{
	pulse(4);
	cr_assert_eq(pending_vector(), 0x24, "the request outlives the input pulse");
	pic_inta(&pic);
	cr_assert_eq(in(0x20) & 0x10, 0, "INTA consumes the edge");
}

Test(pic8259, edge_triggered_line_held_high_needs_a_new_rising_edge)
{
	pic_set_irq(&pic, 4, true);
	pic_inta(&pic);
	out(0x20, 0x20);
	cr_assert_not(pic_pending(&pic, NULL));
	pic_set_irq(&pic, 4, false);
	pic_set_irq(&pic, 4, true);
	cr_assert_eq(pending_vector(), 0x24);
}

Test(pic8259, level_triggered_line_requests_exactly_while_high)
{
	out(0x4d0, 0x08);
	pic_set_irq(&pic, 3, true);
	cr_assert_eq(in(0x20), 0x08);
	pic_set_irq(&pic, 3, false);
	cr_assert_eq(in(0x20), 0x00, "the level request goes away with the input");
	cr_assert_not(pic_pending(&pic, NULL));
	pic_set_irq(&pic, 3, true);
	pic_inta(&pic);
	out(0x20, 0x20);
	cr_assert_eq(pending_vector(), 0x23, "a line still high requests again after EOI");
}

Test(pic8259, elcr_bits_of_irq_0_1_2_8_13_do_not_exist)
{
	out(0x4d0, 0xff);
	out(0x4d1, 0xff);
	cr_assert_eq(in(0x4d0), 0xf8);
	cr_assert_eq(in(0x4d1), 0xde);
}

Test(pic8259, slave_level_line_through_elcr)
{
	out(0x4d1, 0x08); /* IRQ 11 */
	pic_set_irq(&pic, 11, true);
	cr_assert_eq(pic_inta(&pic), 0x2b);
	out(0xa0, 0x20);
	out(0x20, 0x20);
	cr_assert_eq(pending_vector(), 0x2b);
	pic_set_irq(&pic, 11, false);
	cr_assert_eq(in(0xa0), 0x00, "the slave forgets the level request");
	cr_assert_eq(pic_inta(&pic), 0x2f, "the master latched the cascade edge: spurious 15");
}

Test(pic8259, auto_eoi_leaves_nothing_in_service)
{
	init_pair(0x03);
	pulse(5);
	cr_assert_eq(pic_inta(&pic), 0x25);
	cr_assert_eq(isr(0x20), 0x00);
	pulse(6);
	cr_assert_eq(pic_inta(&pic), 0x26, "no EOI is needed for the next one");
}

Test(pic8259, request_withdrawn_before_inta_gives_spurious_irq7)
{
	out(0x4d0, 0x08);
	pic_set_irq(&pic, 3, true);
	cr_assert(intr_level);
	pic_set_irq(&pic, 3, false);
	cr_assert_eq(pic_inta(&pic), 0x27);
	cr_assert_eq(isr(0x20), 0x00, "a spurious IRQ 7 is not put in service");
}

Test(pic8259, slave_request_withdrawn_gives_spurious_irq15_with_master_is2_set)
{
	out(0x4d1, 0x08);
	pic_set_irq(&pic, 11, true);
	pic_set_irq(&pic, 11, false);
	cr_assert_eq(pic_inta(&pic), 0x2f);
	cr_assert_eq(isr(0xa0), 0x00);
	cr_assert_eq(isr(0x20), 0x04, "the master did take the cascade: it needs its EOI");
}

Test(pic8259, cascade_delivers_the_slave_vector_through_master_ir2)
{
	pulse(10);
	cr_assert_eq(in(0x20), 0x04, "the slave's INT drives master IR2");
	cr_assert_eq(pending_vector(), 0x2a);
	cr_assert_eq(pic_inta(&pic), 0x2a);
	cr_assert_eq(isr(0x20), 0x04);
	cr_assert_eq(isr(0xa0), 0x04);
}

Test(pic8259, slave_masked_by_master_ir2)
{
	out(0x21, 0x04);
	pulse(9);
	cr_assert_not(pic_pending(&pic, NULL));
}

Test(pic8259, second_slave_request_after_auto_eoi_reaches_the_master)
{
	init_pair(0x03);
	pulse(9);
	pulse(12);
	cr_assert_eq(pic_inta(&pic), 0x29);
	cr_assert_eq(pic_inta(&pic), 0x2c);
}

Test(pic8259, special_mask_mode_lets_lower_levels_past_a_masked_one_in_service)
{
	pulse(3);
	pic_inta(&pic);
	pulse(5);
	cr_assert_not(pic_pending(&pic, NULL));
	out(0x21, 0x08); /* mask IRQ 3, still in service */
	cr_assert_not(pic_pending(&pic, NULL), "normal mode: in-service IRQ 3 blocks IRQ 5");
	out(0x20, 0x68); /* OCW3: set special mask */
	cr_assert_eq(pending_vector(), 0x25);
	out(0x20, 0x48); /* reset special mask */
	cr_assert_not(pic_pending(&pic, NULL));
}

Test(pic8259, rotate_on_nonspecific_eoi_makes_the_served_level_lowest)
{
	pulse(1);
	pic_inta(&pic);
	out(0x20, 0xa0); /* rotate on non-specific EOI */
	cr_assert_eq(isr(0x20), 0x00);
	pulse(0);
	pulse(3);
	cr_assert_eq(pic_inta(&pic), 0x23, "after rotation IR2 is highest, IR1 lowest");
}

Test(pic8259, set_priority_command_names_the_lowest_level)
{
	out(0x20, 0xc4); /* IR4 lowest, IR5 highest */
	pulse(1);
	pulse(6);
	cr_assert_eq(pic_inta(&pic), 0x26);
}

Test(pic8259, rotate_in_auto_eoi_mode)
{
	init_pair(0x03);
	out(0x20, 0x80); /* set rotate in AEOI */
	pulse(1);
	cr_assert_eq(pic_inta(&pic), 0x21);
	pulse(0);
	pulse(4);
	cr_assert_eq(pic_inta(&pic), 0x24, "IR1 became lowest, so IR2.. come first");
}

Test(pic8259, poll_command_reads_the_highest_request_and_acknowledges_it)
{
	pulse(6);
	out(0x20, 0x0c); /* OCW3: poll */
	cr_assert_eq(in(0x20), 0x86);
	cr_assert_eq(isr(0x20), 0x40);
	out(0x20, 0x0c);
	cr_assert_eq(in(0x20), 0x00, "no request: bit 7 clear");
}

Test(pic8259, icw1_clears_imr_isr_and_special_mask)
{
	out(0x21, 0xf0);
	pulse(1);
	pic_inta(&pic);
	out(0x20, 0x68);
	out(0x20, 0x11);
	cr_assert_eq(in(0x21), 0x00);
	out(0x21, 0x20);
	out(0x21, 0x04);
	out(0x21, 0x01);
	cr_assert_eq(isr(0x20), 0x00);
	cr_assert_eq(pic.chip[0].special_mask, false);
}

Test(pic8259, single_mode_skips_icw3)
{
	out(0x20, 0x13); /* ICW1: single, IC4 */
	out(0x21, 0x40);
	out(0x21, 0x01); /* ICW4, not ICW3 */
	out(0x21, 0xfe); /* OCW1 */
	cr_assert_eq(in(0x21), 0xfe);
	pulse(0);
	cr_assert_eq(pic_inta(&pic), 0x40);
}

Test(pic8259, int_output_callback_follows_requests)
{
	cr_assert_not(intr_level);
	pulse(4);
	cr_assert(intr_level);
	pic_inta(&pic);
	cr_assert_not(intr_level, "the in-service level blocks INT until EOI");
	out(0x20, 0x20);
	cr_assert_not(intr_level);
	cr_assert_eq(intr_changes, 2);
}

Test(pic8259, irqchip_interface_drives_the_pair)
{
	const struct irqchip *c = &pic.irqchip;
	irqchip_pulse(c, 8);
	uint8_t v = 0;
	cr_assert(irqchip_pending(c, &v));
	cr_assert_eq(v, 0x28);
	cr_assert_eq(irqchip_accept(c), 0x28);
}

Test(pic8259, fully_nested_master_blocks_a_second_slave_request_while_ir2_is_in_service)
{
	pulse(12);
	cr_assert_eq(pic_inta(&pic), 0x2c);
	pulse(9);
	cr_assert_not(pic_pending(&pic, NULL));
}

Test(pic8259, special_fully_nested_mode_passes_higher_slave_requests_through_ir2)
{
	out(0x20, 0x11);
	out(0x21, 0x20);
	out(0x21, 0x04);
	out(0x21, 0x11); /* ICW4: SFNM, 8086 */
	out(0x21, 0x00);
	pulse(12);
	cr_assert_eq(pic_inta(&pic), 0x2c);
	pulse(9);
	cr_assert_eq(pending_vector(), 0x29);
	pulse(13);
	cr_assert_eq(pic_inta(&pic), 0x29);
	cr_assert_not(pic_pending(&pic, NULL), "IRQ 13 is below the slave's in-service IRQ 9");
}

Test(pic8259, ocw3_without_rr_keeps_the_read_register_selection)
{
	pulse(3);
	pic_inta(&pic);
	out(0x20, 0x0b);
	out(0x20, 0x08); /* OCW3 with RR = 0 */
	cr_assert_eq(in(0x20), 0x08, "still ISR");
}
