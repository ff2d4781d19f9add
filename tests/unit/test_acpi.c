/* SPDX-License-Identifier: MIT */
/* Specification of ACPI table discovery: tables built in fake RAM, checksummed, then broken. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "acpi.h"
#include "arch.h"
#include "fake_arch.h"

#define RAM_SIZE 0x20000ull
#define RSDP_OFF 0x40
#define RSDT_OFF 0x1000
#define XSDT_OFF 0x2000
#define MADT_OFF 0x3000
#define FADT_OFF 0x4000
#define DSDT_OFF 0x5000
#define SPARE_OFF 0x8000
#define HDR 36

static struct acpi_info info;

static uint8_t *ram(uint64_t off)
{
	return phys_to_virt(pa_init(FAKE_PHYS_BASE + off));
}

static uint64_t pa_of(uint64_t off)
{
	return FAKE_PHYS_BASE + off;
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}
static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}
static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* Set the byte at p[at] so that p[0, len) sums to zero. */
static void fix_sum(uint8_t *p, size_t len, size_t at)
{
	uint8_t s = 0;
	p[at] = 0;
	for (size_t i = 0; i < len; i++) {
		s = (uint8_t)(s + p[i]);
	}
	p[at] = (uint8_t)-s;
}

static void fix_table(uint64_t off)
{
	uint32_t len;
	memcpy(&len, ram(off) + 4, 4);
	fix_sum(ram(off), len, 9);
}

static void make_header(uint64_t off, const char *sig, uint32_t len)
{
	uint8_t *t = ram(off);
	memset(t, 0, HDR);
	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = 1;
	memcpy(t + 10, "VIREO ", 6);
}

static void make_rsdp(uint64_t off, uint8_t rev, uint64_t rsdt, uint64_t xsdt)
{
	uint8_t *r = ram(off);
	memset(r, 0, 36);
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, "VIREO ", 6);
	r[15] = rev;
	put32(r + 16, (uint32_t)rsdt);
	if (rev >= 2) {
		put32(r + 20, 36);
		put64(r + 24, xsdt);
	}
	/* the extended checksum covers the first one too, so it comes last */
	fix_sum(r, 20, 8);
	if (rev >= 2) {
		fix_sum(r, 36, 32);
	}
}

static void make_root(uint64_t off, const char *sig, const uint64_t *entries, size_t n)
{
	size_t esz = sig[0] == 'X' ? 8 : 4;
	make_header(off, sig, (uint32_t)(HDR + n * esz));
	for (size_t i = 0; i < n; i++) {
		if (esz == 8) {
			put64(ram(off) + HDR + i * 8, entries[i]);
		} else {
			put32(ram(off) + HDR + i * 4, (uint32_t)entries[i]);
		}
	}
	fix_table(off);
}

/* ---------------------------------------------------------------- MADT builder */

static uint64_t madt_off;
static size_t madt_len;

static void madt_begin(uint64_t off, uint32_t lapic, uint32_t flags)
{
	madt_off = off;
	madt_len = 44;
	make_header(off, "APIC", 44);
	put32(ram(off) + 36, lapic);
	put32(ram(off) + 40, flags);
}

static uint8_t *madt_add(uint8_t type, uint8_t len)
{
	uint8_t *e = ram(madt_off) + madt_len;
	memset(e, 0, len);
	e[0] = type;
	e[1] = len;
	madt_len += len;
	return e;
}

static void madt_lapic(uint8_t uid, uint8_t id, uint32_t flags)
{
	uint8_t *e = madt_add(0, 8);
	e[2] = uid;
	e[3] = id;
	put32(e + 4, flags);
}

static void madt_ioapic(uint8_t id, uint32_t addr, uint32_t gsi)
{
	uint8_t *e = madt_add(1, 12);
	e[2] = id;
	put32(e + 4, addr);
	put32(e + 8, gsi);
}

static void madt_iso(uint8_t bus, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	uint8_t *e = madt_add(2, 10);
	e[2] = bus;
	e[3] = irq;
	put32(e + 4, gsi);
	put16(e + 8, flags);
}

static void madt_x2apic(uint32_t id, uint32_t uid, uint32_t flags)
{
	uint8_t *e = madt_add(9, 16);
	put32(e + 4, id);
	put32(e + 8, flags);
	put32(e + 12, uid);
}

static void madt_end(void)
{
	put32(ram(madt_off) + 4, (uint32_t)madt_len);
	fix_table(madt_off);
}

/* ---------------------------------------------------------------- FADT and DSDT builders */

static void make_fadt(uint64_t off, uint32_t len, uint64_t dsdt, uint64_t x_dsdt)
{
	uint8_t *f = ram(off);
	make_header(off, "FACP", len);
	memset(f + HDR, 0, len - HDR);
	put32(f + 40, (uint32_t)dsdt);
	put32(f + 64, 0x604); /* PM1a_CNT_BLK */
	if (len >= 129) {
		put32(f + 112, 1u << 10); /* RESET_REG_SUP */
		f[116] = 1;		  /* system I/O */
		f[117] = 8;
		put64(f + 120, 0xcf9);
		f[128] = 0x06;
	}
	if (len >= 148) {
		put64(f + 140, x_dsdt);
	}
	fix_table(off);
}

static void make_dsdt(uint64_t off, const uint8_t *aml, size_t n)
{
	make_header(off, "DSDT", (uint32_t)(HDR + n));
	if (n > 0) {
		memcpy(ram(off) + HDR, aml, n);
	}
	fix_table(off);
}

/* Name(\_S5, Package(4) { 5, 5, 0, 0 }) after some unrelated AML, as Bochs's BIOS writes it. */
static const uint8_t aml_s5_bytes[] = {
	0x10, 0x05, '_', 'S', 'B', '_', 0x08, /* noise */
	0x08, '\\', '_', 'S', '5', '_', 0x12, 0x0a, 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00,
};

/* A machine like QEMU's: RSDP v2 -> XSDT (and RSDT) -> MADT, FADT -> DSDT. */
static void make_machine(void)
{
	uint64_t entries[] = { pa_of(FADT_OFF), pa_of(SPARE_OFF), pa_of(MADT_OFF) };

	madt_begin(MADT_OFF, 0xfee00000, 1);
	madt_lapic(0, 0, 1);
	madt_lapic(1, 1, 1);
	madt_lapic(2, 2, 0); /* not present */
	madt_ioapic(0, 0xfec00000, 0);
	madt_iso(0, 0, 2, 0);
	madt_iso(0, 9, 9, 0xd);
	madt_add(4, 6); /* local APIC NMI: ignored */
	madt_end();
	make_dsdt(DSDT_OFF, aml_s5_bytes, sizeof(aml_s5_bytes));
	make_fadt(FADT_OFF, 244, pa_of(DSDT_OFF), 0);
	make_header(SPARE_OFF, "HPET", 56);
	fix_table(SPARE_OFF);
	make_root(XSDT_OFF, "XSDT", entries, 3);
	make_root(RSDT_OFF, "RSDT", entries, 3);
	make_rsdp(RSDP_OFF, 2, pa_of(RSDT_OFF), pa_of(XSDT_OFF));
}

static status_t parse(void)
{
	return acpi_parse(pa_init(pa_of(RSDP_OFF)), &info);
}

static void setup(void)
{
	fake_phys_init(RAM_SIZE);
	memset(&info, 0xee, sizeof(info));
	make_machine();
}

static void teardown(void)
{
	fake_phys_fini();
}

TestSuite(acpi, .init = setup, .fini = teardown);

/* ---------------------------------------------------------------- whole machine */

Test(acpi, parses_a_complete_machine)
{
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(info.lapic_addr, 0xfee00000);
	cr_assert(info.pcat_compat);
	cr_assert_eq(info.ncpus, 2);
	cr_assert_eq(info.cpus[0].apic_id, 0);
	cr_assert_eq(info.cpus[1].apic_id, 1);
	cr_assert_eq(info.cpus[1].uid, 1);
	cr_assert(info.cpus[0].enabled && info.cpus[1].enabled);
	cr_assert_eq(info.nioapics, 1);
	cr_assert_eq(info.ioapics[0].id, 0);
	cr_assert_eq(info.ioapics[0].addr, 0xfec00000);
	cr_assert_eq(info.ioapics[0].gsi_base, 0);
	cr_assert_eq(info.nisos, 2);
	cr_assert_eq(info.isos[0].irq, 0);
	cr_assert_eq(info.isos[0].gsi, 2);
	cr_assert_eq(info.isos[1].irq, 9);
	cr_assert_eq(info.isos[1].flags, ACPI_ISO_POLARITY_HIGH | ACPI_ISO_TRIGGER_LEVEL);
	cr_assert_eq(info.pm1a_cnt, 0x604);
	cr_assert_eq(info.pm1b_cnt, 0);
	cr_assert(info.s5_valid);
	cr_assert_eq(info.slp_typa_s5, 5);
	cr_assert_eq(info.slp_typb_s5, 5);
	cr_assert(info.reset_valid);
	cr_assert_eq(info.reset_space, ACPI_SPACE_IO);
	cr_assert_eq(info.reset_addr, 0xcf9);
	cr_assert_eq(info.reset_value, 6);
}

Test(acpi, uses_the_xsdt_when_the_rsdp_has_one)
{
	/* an RSDT that lists nothing: only the XSDT can produce the CPUs */
	make_root(RSDT_OFF, "RSDT", NULL, 0);
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(info.ncpus, 2);
}

Test(acpi, uses_the_rsdt_for_a_revision_0_rsdp)
{
	make_root(XSDT_OFF, "XSDT", NULL, 0);
	make_rsdp(RSDP_OFF, 0, pa_of(RSDT_OFF), 0);
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(info.ncpus, 2);
	cr_assert(info.s5_valid);
}

Test(acpi, falls_back_to_the_rsdt_when_the_xsdt_is_corrupt)
{
	ram(XSDT_OFF)[HDR] ^= 1;
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(info.ncpus, 2);
}

Test(acpi, falls_back_to_the_rsdt_when_the_extended_checksum_is_bad)
{
	make_root(XSDT_OFF, "XSDT", NULL, 0);
	ram(RSDP_OFF)[32] ^= 1;
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(info.ncpus, 2);
}

Test(acpi, skips_null_and_unknown_root_entries)
{
	uint64_t entries[] = { 0, pa_of(SPARE_OFF), pa_of(MADT_OFF), 0 };
	make_root(XSDT_OFF, "XSDT", entries, 4);
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(info.ncpus, 2);
	cr_assert_not(info.s5_valid);
	cr_assert_eq(info.pm1a_cnt, 0);
}

Test(acpi, root_entries_out_of_64_bit_range_are_skipped)
{
	uint64_t entries[] = { UINT64_MAX - 3, pa_of(MADT_OFF) };
	make_root(XSDT_OFF, "XSDT", entries, 2);
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(info.ncpus, 2);
}

Test(acpi, only_the_first_valid_madt_counts)
{
	uint64_t entries[] = { pa_of(MADT_OFF), pa_of(SPARE_OFF) };
	madt_begin(SPARE_OFF, 0xfee00000, 0);
	madt_lapic(7, 7, 1);
	madt_end();
	make_root(XSDT_OFF, "XSDT", entries, 2);
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(info.ncpus, 2);
}

Test(acpi, a_later_madt_is_used_when_the_first_is_broken)
{
	uint64_t entries[] = { pa_of(MADT_OFF), pa_of(SPARE_OFF) };
	madt_begin(SPARE_OFF, 0xfee00000, 0);
	madt_lapic(7, 7, 1);
	madt_end();
	ram(MADT_OFF)[50] ^= 0x40;
	make_root(XSDT_OFF, "XSDT", entries, 2);
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(info.ncpus, 1);
	cr_assert_eq(info.cpus[0].apic_id, 7);
}

/* ---------------------------------------------------------------- RSDP and root tables */

Test(acpi, rejects_rsdp_with_bad_signature)
{
	ram(RSDP_OFF)[3] = 'X';
	fix_sum(ram(RSDP_OFF), 20, 8);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
}

Test(acpi, rejects_rsdp_with_bad_checksum)
{
	ram(RSDP_OFF)[8] ^= 1;
	cr_assert_eq(parse(), VIREO_BAD_PAR);
	cr_assert_eq(info.ncpus, 0);
}

Test(acpi, rejects_invalid_rsdp_address)
{
	cr_assert_eq(acpi_parse(PADDR_INVALID, &info), VIREO_BAD_PAR);
	cr_assert_eq(acpi_parse(pa_init(0), &info), VIREO_BAD_PAR);
}

Test(acpi, rejects_when_no_root_table_is_valid)
{
	ram(XSDT_OFF)[HDR] ^= 1;
	ram(RSDT_OFF)[HDR] ^= 1;
	cr_assert_eq(parse(), VIREO_BAD_PAR);
}

Test(acpi, rejects_root_table_with_wrong_signature)
{
	make_rsdp(RSDP_OFF, 0, pa_of(MADT_OFF), 0);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
}

Test(acpi, rejects_root_table_shorter_than_its_header)
{
	put32(ram(RSDT_OFF) + 4, HDR - 1);
	fix_sum(ram(RSDT_OFF), HDR - 1, 9);
	make_rsdp(RSDP_OFF, 0, pa_of(RSDT_OFF), 0);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
}

Test(acpi, rejects_root_table_with_zero_address)
{
	make_rsdp(RSDP_OFF, 0, 0, 0);
	cr_assert_eq(parse(), VIREO_BAD_PAR);
}

Test(acpi, root_table_entries_past_its_length_are_not_read)
{
	/* the last entry is cut in half by the length: only the first counts */
	uint64_t entries[] = { pa_of(MADT_OFF), pa_of(FADT_OFF) };
	make_root(XSDT_OFF, "XSDT", entries, 2);
	put32(ram(XSDT_OFF) + 4, HDR + 12);
	fix_table(XSDT_OFF);
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(info.ncpus, 2);
	cr_assert_eq(info.pm1a_cnt, 0);
}

/* A table whose length reaches past the end of RAM would be read past it if it were believed. */
Test(acpi, table_longer_than_1_mib_is_skipped_unread)
{
	uint64_t off = RAM_SIZE - 0x100;
	uint64_t entries[] = { pa_of(off), pa_of(FADT_OFF) };

	madt_begin(off, 0xfee00000, 0);
	madt_lapic(0, 0, 1);
	madt_end();
	put32(ram(off) + 4, (1u << 20) + 1);
	make_root(XSDT_OFF, "XSDT", entries, 2);
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(info.ncpus, 0);
	cr_assert_eq(info.lapic_addr, 0);
	cr_assert(info.s5_valid);
}

Test(acpi, table_shorter_than_its_header_is_skipped)
{
	put32(ram(MADT_OFF) + 4, 20);
	fix_sum(ram(MADT_OFF), 20, 9);
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(info.ncpus, 0);
	cr_assert(info.s5_valid);
}

Test(acpi, madt_with_bad_checksum_is_skipped)
{
	ram(MADT_OFF)[9] ^= 1;
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(info.ncpus, 0);
	cr_assert_eq(info.nioapics, 0);
	cr_assert_eq(info.pm1a_cnt, 0x604);
}

Test(acpi, fadt_with_bad_checksum_is_skipped)
{
	ram(FADT_OFF)[70] ^= 1;
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(info.pm1a_cnt, 0);
	cr_assert_not(info.s5_valid);
	cr_assert_not(info.reset_valid);
	cr_assert_eq(info.ncpus, 2);
}

/* ---------------------------------------------------------------- RSDP copies (multiboot2) */

Test(acpi, parses_a_copy_of_a_version_2_rsdp)
{
	uint8_t copy[36];
	memcpy(copy, ram(RSDP_OFF), sizeof(copy));
	memset(ram(RSDP_OFF), 0, 36);
	cr_assert_eq(acpi_parse_rsdp_copy(copy, sizeof(copy), &info), VIREO_OK);
	cr_assert_eq(info.ncpus, 2);
}

Test(acpi, parses_a_copy_of_a_version_1_rsdp)
{
	uint8_t copy[20];
	make_rsdp(RSDP_OFF, 0, pa_of(RSDT_OFF), 0);
	memcpy(copy, ram(RSDP_OFF), sizeof(copy));
	cr_assert_eq(acpi_parse_rsdp_copy(copy, sizeof(copy), &info), VIREO_OK);
	cr_assert_eq(info.ncpus, 2);
}

Test(acpi, short_copy_of_a_version_2_rsdp_uses_the_rsdt)
{
	uint8_t copy[20];
	make_root(XSDT_OFF, "XSDT", NULL, 0);
	memcpy(copy, ram(RSDP_OFF), sizeof(copy));
	cr_assert_eq(acpi_parse_rsdp_copy(copy, sizeof(copy), &info), VIREO_OK);
	cr_assert_eq(info.ncpus, 2);
}

Test(acpi, rejects_a_copy_too_short_for_an_rsdp)
{
	uint8_t copy[19];
	memcpy(copy, ram(RSDP_OFF), sizeof(copy));
	cr_assert_eq(acpi_parse_rsdp_copy(copy, sizeof(copy), &info), VIREO_BAD_PAR);
	cr_assert_eq(acpi_parse_rsdp_copy(NULL, 36, &info), VIREO_BAD_PAR);
}

Test(acpi, rejects_a_corrupt_copy)
{
	uint8_t copy[36];
	memcpy(copy, ram(RSDP_OFF), sizeof(copy));
	copy[16] ^= 1;
	cr_assert_eq(acpi_parse_rsdp_copy(copy, sizeof(copy), &info), VIREO_BAD_PAR);
}

/* ---------------------------------------------------------------- RSDP scan */

Test(acpi, scan_finds_rsdp_on_a_16_byte_boundary)
{
	cr_assert_eq(pa_addr(acpi_scan_rsdp(pa_init(pa_of(0)), 0x1000)), pa_of(RSDP_OFF));
}

Test(acpi, scan_ignores_signature_off_the_16_byte_grid)
{
	memmove(ram(0x108), ram(RSDP_OFF), 36);
	memset(ram(RSDP_OFF), 0, 36);
	cr_assert_not(pa_valid(acpi_scan_rsdp(pa_init(pa_of(0)), 0x1000)));
}

Test(acpi, scan_skips_signature_with_bad_checksum)
{
	memcpy(ram(0x10), "RSD PTR ", 8);
	cr_assert_eq(pa_addr(acpi_scan_rsdp(pa_init(pa_of(0)), 0x1000)), pa_of(RSDP_OFF));
}

Test(acpi, scan_returns_invalid_when_absent)
{
	memset(ram(RSDP_OFF), 0, 36);
	cr_assert_not(pa_valid(acpi_scan_rsdp(pa_init(pa_of(0)), 0x1000)));
	cr_assert_not(pa_valid(acpi_scan_rsdp(pa_init(pa_of(0)), 0)));
}

Test(acpi, scan_rounds_an_unaligned_start_up)
{
	cr_assert_eq(pa_addr(acpi_scan_rsdp(pa_init(pa_of(0x31)), 0x100)), pa_of(RSDP_OFF));
	cr_assert_not(pa_valid(acpi_scan_rsdp(pa_init(pa_of(0x41)), 0x100)));
}

Test(acpi, scan_does_not_read_past_the_range)
{
	/* an RSDP at the very end of RAM is found; a range that cuts it short is not read past */
	memmove(ram(RAM_SIZE - 32), ram(RSDP_OFF), 20);
	cr_assert_eq(pa_addr(acpi_scan_rsdp(pa_init(pa_of(RAM_SIZE - 0x100)), 0x100)),
		     pa_of(RAM_SIZE - 32));
	memset(ram(RSDP_OFF), 0, 36);
	cr_assert_not(pa_valid(acpi_scan_rsdp(pa_init(pa_of(RAM_SIZE - 0x100)), 0x100 - 13)));
}

Test(acpi, scan_rejects_a_wrapping_range)
{
	cr_assert_not(pa_valid(acpi_scan_rsdp(pa_init(UINT64_MAX - 8), 64)));
}

/* ---------------------------------------------------------------- MADT entries */

Test(acpi, disabled_cpus_that_cannot_come_online_are_ignored)
{
	cr_assert_eq(parse(), VIREO_OK);
	for (size_t i = 0; i < info.ncpus; i++) {
		cr_assert_neq(info.cpus[i].apic_id, 2);
	}
}

Test(acpi, online_capable_cpus_are_listed_as_not_enabled)
{
	madt_begin(MADT_OFF, 0xfee00000, 0);
	madt_lapic(0, 0, 1);
	madt_lapic(1, 4, 2);
	madt_end();
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(info.ncpus, 2);
	cr_assert(info.cpus[0].enabled);
	cr_assert_eq(info.cpus[1].apic_id, 4);
	cr_assert_not(info.cpus[1].enabled);
	cr_assert_not(info.pcat_compat);
}

Test(acpi, x2apic_entries_are_cpus)
{
	madt_begin(MADT_OFF, 0xfee00000, 0);
	madt_lapic(0, 0, 1);
	madt_x2apic(0x100, 0x1000, 1);
	madt_x2apic(0x101, 0x1001, 0);
	madt_end();
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(info.ncpus, 2);
	cr_assert_eq(info.cpus[1].apic_id, 0x100);
	cr_assert_eq(info.cpus[1].uid, 0x1000);
	cr_assert(info.cpus[1].enabled);
}

Test(acpi, a_cpu_listed_twice_counts_once)
{
	madt_begin(MADT_OFF, 0xfee00000, 0);
	madt_lapic(0, 3, 1);
	madt_x2apic(3, 0, 1);
	madt_end();
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(info.ncpus, 1);
}

Test(acpi, cpus_beyond_the_limit_are_dropped)
{
	madt_begin(MADT_OFF, 0xfee00000, 0);
	for (unsigned i = 0; i < ACPI_MAX_CPUS + 10; i++) {
		madt_x2apic(i, i, 1);
	}
	madt_end();
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(info.ncpus, ACPI_MAX_CPUS);
	cr_assert_eq(info.cpus[ACPI_MAX_CPUS - 1].apic_id, ACPI_MAX_CPUS - 1);
}

Test(acpi, ioapics_and_overrides_beyond_the_limits_are_dropped)
{
	madt_begin(MADT_OFF, 0xfee00000, 0);
	for (unsigned i = 0; i < ACPI_MAX_IOAPICS + 2; i++) {
		madt_ioapic((uint8_t)i, 0xfec00000 + i * 0x1000, i * 24);
	}
	for (unsigned i = 0; i < ACPI_MAX_ISOS + 3; i++) {
		madt_iso(0, (uint8_t)i, i, 0);
	}
	madt_end();
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(info.nioapics, ACPI_MAX_IOAPICS);
	cr_assert_eq(info.ioapics[7].gsi_base, 7 * 24);
	cr_assert_eq(info.nisos, ACPI_MAX_ISOS);
}

Test(acpi, overrides_on_buses_other_than_isa_are_ignored)
{
	madt_begin(MADT_OFF, 0xfee00000, 0);
	madt_iso(1, 5, 20, 0);
	madt_iso(0, 5, 21, 0);
	madt_end();
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(info.nisos, 1);
	cr_assert_eq(info.isos[0].gsi, 21);
}

Test(acpi, local_apic_address_override_wins)
{
	uint8_t *e;
	madt_begin(MADT_OFF, 0xfee00000, 0);
	e = madt_add(5, 12);
	put64(e + 4, 0x123456789000ull);
	madt_end();
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(info.lapic_addr, 0x123456789000ull);
}

Test(acpi, madt_entry_of_length_zero_ends_the_walk)
{
	madt_begin(MADT_OFF, 0xfee00000, 0);
	madt_lapic(0, 0, 1);
	madt_add(0, 8)[1] = 0;
	madt_lapic(1, 1, 1);
	madt_end();
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(info.ncpus, 1);
}

Test(acpi, madt_entry_running_past_the_table_is_not_read)
{
	uint64_t off = RAM_SIZE - 44 - 8 - 2;
	uint64_t entries[] = { pa_of(off) };
	uint8_t *e;

	madt_begin(off, 0xfee00000, 0);
	madt_lapic(0, 0, 1);
	e = madt_add(1, 2);
	e[1] = 12; /* an IOAPIC entry claiming 12 bytes where 2 are left */
	madt_end();
	make_root(XSDT_OFF, "XSDT", entries, 1);
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(info.ncpus, 1);
	cr_assert_eq(info.nioapics, 0);
}

Test(acpi, madt_entry_too_short_for_its_type_is_skipped)
{
	madt_begin(MADT_OFF, 0xfee00000, 0);
	madt_add(1, 8);	 /* IOAPIC needs 12 */
	madt_add(9, 12); /* x2APIC needs 16 */
	madt_lapic(0, 0, 1);
	madt_end();
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(info.nioapics, 0);
	cr_assert_eq(info.ncpus, 1);
}

Test(acpi, unknown_madt_entries_are_skipped_by_length)
{
	madt_begin(MADT_OFF, 0xfee00000, 0);
	madt_add(0x7f, 20);
	madt_add(0xff, 3);
	madt_add(4, 6);
	madt_lapic(0, 9, 1);
	madt_end();
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(info.ncpus, 1);
	cr_assert_eq(info.cpus[0].apic_id, 9);
}

Test(acpi, madt_too_short_for_its_fixed_fields_is_skipped)
{
	make_header(MADT_OFF, "APIC", 40);
	fix_table(MADT_OFF);
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(info.lapic_addr, 0);
	cr_assert_eq(info.ncpus, 0);
}

/* Random bytes in the MADT body, placed at the end of RAM, checksum fixed: never a stray read. */
Test(acpi, random_madt_contents_never_read_out_of_bounds)
{
	uint64_t rng = 12345;

	/* the warnings about broken entries are expected; each test runs in its own process */
	cr_assert(freopen("/dev/null", "w", stderr));
	for (int iter = 0; iter < 3000; iter++) {
		size_t len = 44 + iter % 200;
		uint64_t off = RAM_SIZE - len;
		uint64_t entries[] = { pa_of(off), pa_of(FADT_OFF) };
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		make_header(off, "APIC", (uint32_t)len);
		for (size_t i = HDR; i < len; i++) {
			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			/* small values make plausible entry types and lengths */
			ram(off)[i] = (uint8_t)((rng >> 40) % ((iter & 1) ? 20 : 256));
		}
		fix_table(off);
		make_root(XSDT_OFF, "XSDT", entries, 2);
		cr_assert_eq(parse(), VIREO_OK);
		cr_assert_leq(info.ncpus, ACPI_MAX_CPUS);
		cr_assert_leq(info.nioapics, ACPI_MAX_IOAPICS);
		cr_assert_leq(info.nisos, ACPI_MAX_ISOS);
	}
}

/* ---------------------------------------------------------------- FADT */

Test(acpi, acpi_1_fadt_gives_pm1_and_dsdt_but_no_reset)
{
	make_fadt(FADT_OFF, 116, pa_of(DSDT_OFF), 0);
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(info.pm1a_cnt, 0x604);
	cr_assert(info.s5_valid);
	cr_assert_not(info.reset_valid);
}

Test(acpi, fadt_fields_past_its_length_are_not_read)
{
	/* a FADT at the end of RAM, cut before PM1a_CNT_BLK */
	uint64_t off = RAM_SIZE - 60;
	uint64_t entries[] = { pa_of(off) };
	make_header(off, "FACP", 60);
	memset(ram(off) + HDR, 0xff, 60 - HDR);
	put32(ram(off) + 40, (uint32_t)pa_of(DSDT_OFF));
	fix_table(off);
	make_root(XSDT_OFF, "XSDT", entries, 1);
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(info.pm1a_cnt, 0);
	cr_assert_not(info.reset_valid);
	cr_assert(info.s5_valid);
}

Test(acpi, x_dsdt_overrides_dsdt)
{
	make_dsdt(SPARE_OFF,
		  (const uint8_t[]){ 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x02, 0x0a, 0x07, 0x01 },
		  11);
	make_fadt(FADT_OFF, 244, pa_of(DSDT_OFF), pa_of(SPARE_OFF));
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert(info.s5_valid);
	cr_assert_eq(info.slp_typa_s5, 7);
	cr_assert_eq(info.slp_typb_s5, 1);
}

Test(acpi, reset_register_needs_the_support_flag)
{
	put32(ram(FADT_OFF) + 112, 0);
	fix_table(FADT_OFF);
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_not(info.reset_valid);
}

Test(acpi, reset_register_in_an_unknown_space_is_not_valid)
{
	ram(FADT_OFF)[116] = 0x7f;
	fix_table(FADT_OFF);
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_not(info.reset_valid);
}

Test(acpi, pm1_control_comes_from_the_extended_block_when_the_port_is_zero)
{
	uint8_t *f = ram(FADT_OFF);
	put32(f + 64, 0);
	f[172] = ACPI_SPACE_IO;
	put64(f + 176, 0xb004);
	f[184] = ACPI_SPACE_MEM; /* not a port: ignored */
	put64(f + 188, 0xfed00000);
	fix_table(FADT_OFF);
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_eq(info.pm1a_cnt, 0xb004);
	cr_assert_eq(info.pm1b_cnt, 0);
}

Test(acpi, missing_dsdt_leaves_s5_invalid)
{
	make_fadt(FADT_OFF, 244, 0, 0);
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_not(info.s5_valid);
	cr_assert_eq(info.pm1a_cnt, 0x604);
}

Test(acpi, dsdt_with_bad_checksum_leaves_s5_invalid)
{
	ram(DSDT_OFF)[HDR + 3] ^= 1;
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_not(info.s5_valid);
}

Test(acpi, dsdt_with_wrong_signature_leaves_s5_invalid)
{
	memcpy(ram(DSDT_OFF), "SSDT", 4);
	fix_table(DSDT_OFF);
	cr_assert_eq(parse(), VIREO_OK);
	cr_assert_not(info.s5_valid);
}

/* ---------------------------------------------------------------- \_S5 in AML */

static void s5_from(const uint8_t *aml, size_t n)
{
	make_dsdt(DSDT_OFF, aml, n);
	cr_assert_eq(parse(), VIREO_OK);
}

Test(acpi, s5_with_zero_and_one_ops)
{
	static const uint8_t aml[] = { 0x08, '_',  'S',	 '5',  '_',  0x12,
				       0x06, 0x04, 0x00, 0x01, 0x00, 0x00 };
	s5_from(aml, sizeof(aml));
	cr_assert(info.s5_valid);
	cr_assert_eq(info.slp_typa_s5, 0);
	cr_assert_eq(info.slp_typb_s5, 1);
}

Test(acpi, s5_with_word_and_dword_prefixes)
{
	static const uint8_t aml[] = { 0x08, '_',  'S',	 '5',  '_',  0x12, 0x0b, 0x02,
				       0x0b, 0x03, 0x00, 0x0c, 0x04, 0x00, 0x00, 0x00 };
	s5_from(aml, sizeof(aml));
	cr_assert(info.s5_valid);
	cr_assert_eq(info.slp_typa_s5, 3);
	cr_assert_eq(info.slp_typb_s5, 4);
}

Test(acpi, s5_with_a_multi_byte_package_length)
{
	static const uint8_t aml[] = { 0x08, '_',  'S',	 '5',  '_',  0x12, 0x46,
				       0x00, 0x02, 0x0a, 0x05, 0x0a, 0x06 };
	s5_from(aml, sizeof(aml));
	cr_assert(info.s5_valid);
	cr_assert_eq(info.slp_typa_s5, 5);
	cr_assert_eq(info.slp_typb_s5, 6);
}

Test(acpi, s5_name_not_in_a_name_op_is_skipped)
{
	/* a reference to \_S5_ inside a method first, then the real definition */
	static const uint8_t aml[] = { 0x70, '_',  'S',	 '5',  '_',  0x12, 0x04, 0x02,
				       0x0a, 0x01, 0x0a, 0x01, 0x08, '_',  'S',	 '5',
				       '_',  0x12, 0x06, 0x02, 0x0a, 0x03, 0x0a, 0x02 };
	s5_from(aml, sizeof(aml));
	cr_assert(info.s5_valid);
	cr_assert_eq(info.slp_typa_s5, 3);
	cr_assert_eq(info.slp_typb_s5, 2);
}

Test(acpi, s5_not_followed_by_a_package_is_ignored)
{
	static const uint8_t aml[] = { 0x08, '_', 'S', '5', '_', 0x0a, 0x05 };
	s5_from(aml, sizeof(aml));
	cr_assert_not(info.s5_valid);
}

Test(acpi, s5_package_with_one_element_is_ignored)
{
	static const uint8_t aml[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x01, 0x0a, 0x05 };
	s5_from(aml, sizeof(aml));
	cr_assert_not(info.s5_valid);
}

Test(acpi, s5_with_values_too_big_for_slp_typ_is_ignored)
{
	static const uint8_t aml[] = { 0x08, '_',  'S',	 '5',  '_',  0x12,
				       0x06, 0x02, 0x0a, 0x08, 0x0a, 0x00 };
	s5_from(aml, sizeof(aml));
	cr_assert_not(info.s5_valid);
}

Test(acpi, s5_with_non_constant_elements_is_ignored)
{
	static const uint8_t aml[] = { 0x08, '_',  'S',	 '5',  '_',  0x12,
				       0x06, 0x02, 0x0a, 0x05, 0x70, 0x00 };
	s5_from(aml, sizeof(aml));
	cr_assert_not(info.s5_valid);
}

/* Each prefix of a valid \_S5 at the end of RAM: a cut-off package is never read past. */
Test(acpi, truncated_s5_at_the_end_of_the_table_is_not_read_past)
{
	static const uint8_t aml[] = { 0x08, '\\', '_',	 'S',  '5',  '_',  0x12, 0x4c, 0x00,
				       0x02, 0x0c, 0x01, 0x00, 0x00, 0x00, 0x0b, 0x02, 0x00 };
	for (size_t n = 1; n <= sizeof(aml); n++) {
		uint64_t off = RAM_SIZE - HDR - n;
		make_dsdt(off, aml, n);
		make_fadt(FADT_OFF, 244, pa_of(off), 0);
		memset(&info, 0, sizeof(info));
		cr_assert_eq(parse(), VIREO_OK);
		cr_assert_eq(info.s5_valid, n == sizeof(aml), "n=%zu", n);
	}
	cr_assert_eq(info.slp_typa_s5, 1);
	cr_assert_eq(info.slp_typb_s5, 2);
}

Test(acpi, empty_dsdt_has_no_s5)
{
	s5_from(NULL, 0);
	cr_assert_not(info.s5_valid);
}
