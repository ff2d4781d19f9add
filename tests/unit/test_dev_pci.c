/* SPDX-License-Identifier: MIT */
/* PCI configuration mechanism 1: the host bridge, absent devices, access sizes, reset control. */
#include <criterion/criterion.h>

#include "devices/pci.h"

static struct pci pci;
static unsigned resets;
static bool last_hard;

static void on_reset(void *arg, bool hard)
{
	resets++;
	last_hard = hard;
}

static uint32_t cfg_read(unsigned dev, unsigned fn, unsigned reg, unsigned size)
{
	pci_io_write(&pci, 0xcf8, 4, PCI_ENABLE | dev << 11 | fn << 8 | (reg & 0xfc));
	return pci_io_read(&pci, (uint16_t)(0xcfc + (reg & 3)), size);
}

static void cfg_write(unsigned dev, unsigned fn, unsigned reg, unsigned size, uint32_t v)
{
	pci_io_write(&pci, 0xcf8, 4, PCI_ENABLE | dev << 11 | fn << 8 | (reg & 0xfc));
	pci_io_write(&pci, (uint16_t)(0xcfc + (reg & 3)), size, v);
}

static void setup(void)
{
	resets = 0;
	pci_init(&pci, on_reset, NULL);
}

TestSuite(pci, .init = setup);

Test(pci, host_bridge_is_an_i440fx_at_00_00_0)
{
	cr_assert_eq(cfg_read(0, 0, 0x00, 4), 0x12378086);
	cr_assert_eq(cfg_read(0, 0, 0x08, 4), 0x06000002, "class 06 00 00, revision 02");
	cr_assert_eq(cfg_read(0, 0, 0x0e, 1), 0x00, "single-function type-0 header");
}

Test(pci, data_port_serves_every_access_size_and_byte_lane)
{
	cr_assert_eq(cfg_read(0, 0, 0x00, 2), 0x8086);
	cr_assert_eq(cfg_read(0, 0, 0x02, 2), 0x1237);
	cr_assert_eq(cfg_read(0, 0, 0x01, 1), 0x80);
	cr_assert_eq(cfg_read(0, 0, 0x03, 1), 0x12);
}

Test(pci, absent_device_reads_all_ones)
{
	cr_assert_eq(cfg_read(1, 0, 0, 4), 0xffffffff);
	cr_assert_eq(cfg_read(31, 7, 0, 2), 0xffff);
	cr_assert_eq(cfg_read(0, 1, 0, 1), 0xff, "function 1 of the host bridge is absent");
	pci_io_write(&pci, 0xcf8, 4, PCI_ENABLE | 1u << 16);
	cr_assert_eq(pci_io_read(&pci, 0xcfc, 4), 0xffffffff, "nothing behind bus 0");
}

Test(pci, disabled_config_address_reads_all_ones)
{
	pci_io_write(&pci, 0xcf8, 4, 0);
	cr_assert_eq(pci_io_read(&pci, 0xcfc, 4), 0xffffffff);
}

Test(pci, config_address_keeps_only_defined_bits)
{
	pci_io_write(&pci, 0xcf8, 4, 0xffffffff);
	cr_assert_eq(pci_io_read(&pci, 0xcf8, 4), 0x80fffffc);
}

Test(pci, narrow_accesses_to_0xcf8_do_not_touch_config_address)
{
	pci_io_write(&pci, 0xcf8, 4, PCI_ENABLE);
	pci_io_write(&pci, 0xcf8, 1, 0x55);
	pci_io_write(&pci, 0xcfa, 2, 0x5555);
	cr_assert_eq(pci_io_read(&pci, 0xcf8, 4), PCI_ENABLE);
	cr_assert_eq(pci_io_read(&pci, 0xcf8, 2), 0xffff);
}

Test(pci, read_only_identity_ignores_writes)
{
	cfg_write(0, 0, 0x00, 4, 0);
	cr_assert_eq(cfg_read(0, 0, 0x00, 4), 0x12378086);
	cfg_write(0, 0, 0x59, 1, 0x30); /* PAM0: firmware state is kept */
	cr_assert_eq(cfg_read(0, 0, 0x59, 1), 0x30);
}

static unsigned hook_calls;
static void hook(struct pci_function *f, unsigned off, unsigned size)
{
	hook_calls++;
}

Test(pci, plugged_function_answers_and_its_bar_sizes)
{
	static struct pci_function f;
	pci_function_init(&f, 0x1af4, 0x1001, 0x010000, 0);
	pci_function_bar(&f, 0, 0x1000, false);
	pci_function_bar(&f, 1, 0x40, true);
	f.written = hook;
	cr_assert(pci_plug(&pci, 3, 0, &f));
	cr_assert_not(pci_plug(&pci, 3, 0, &f), "a taken slot is refused");
	cr_assert_not(pci_plug(&pci, 32, 0, &f));
	cr_assert_eq(cfg_read(3, 0, 0, 4), 0x10011af4);
	cfg_write(3, 0, 0x10, 4, 0xffffffff);
	cr_assert_eq(cfg_read(3, 0, 0x10, 4), 0xfffff000, "4 KiB memory BAR");
	cfg_write(3, 0, 0x14, 4, 0xffffffff);
	cr_assert_eq(cfg_read(3, 0, 0x14, 4), 0xffffffc1, "64-byte I/O BAR keeps its I/O bit");
	cr_assert_eq(hook_calls, 2);
}

Test(pci, reset_control_requests_a_reset_on_rst_cpu)
{
	pci_io_write(&pci, 0xcf9, 1, 0x02);
	cr_assert_eq(resets, 0, "SYS_RST alone only selects the kind of reset");
	cr_assert_eq(pci_io_read(&pci, 0xcf9, 1), 0x02);
	pci_io_write(&pci, 0xcf9, 1, 0x06);
	cr_assert_eq(resets, 1);
	cr_assert(last_hard);
	pci_io_write(&pci, 0xcf9, 1, 0x04);
	cr_assert_eq(resets, 2);
	cr_assert_not(last_hard);
}
