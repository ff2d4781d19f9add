/* SPDX-License-Identifier: MIT */
/* ACPI table discovery: CPUs, IOAPICs and IRQ overrides from the MADT; S5 and reset from FADT. */
#ifndef KERNEL_ACPI_H
#define KERNEL_ACPI_H

#include "types.h"

#define ACPI_MAX_CPUS 64
#define ACPI_MAX_IOAPICS 8
#define ACPI_MAX_ISOS 24

/* Generic Address Structure address spaces (ACPI 6.x §5.2.3.2), for reset_space. */
#define ACPI_SPACE_MEM 0
#define ACPI_SPACE_IO 1
#define ACPI_SPACE_PCI 2

/* Interrupt source override flags (ACPI 6.x §5.2.12.5, MPS INTI flags). */
#define ACPI_ISO_POLARITY_MASK 0x3
#define ACPI_ISO_POLARITY_HIGH 0x1
#define ACPI_ISO_POLARITY_LOW 0x3
#define ACPI_ISO_TRIGGER_MASK 0xc
#define ACPI_ISO_TRIGGER_EDGE 0x4
#define ACPI_ISO_TRIGGER_LEVEL 0xc

struct acpi_cpu {
	uint32_t apic_id; /* xAPIC or x2APIC id */
	uint32_t uid;	  /* ACPI processor UID */
	bool enabled;	  /* false: off, but may be brought online later ("online capable") */
};

struct acpi_ioapic {
	uint8_t id;
	uint32_t addr;	   /* physical MMIO base */
	uint32_t gsi_base; /* first global system interrupt it serves */
};

/* An ISA IRQ that arrives at another GSI or with other polarity/trigger than the default. */
struct acpi_iso {
	uint8_t irq;
	uint32_t gsi;
	uint16_t flags; /* ACPI_ISO_* */
};

struct acpi_info {
	uint64_t lapic_addr; /* 0 when there was no usable MADT */
	struct acpi_cpu cpus[ACPI_MAX_CPUS];
	size_t ncpus;
	struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
	size_t nioapics;
	struct acpi_iso isos[ACPI_MAX_ISOS];
	size_t nisos;
	bool pcat_compat;  /* dual 8259s present: mask them before using the IOAPIC */
	uint32_t pm1a_cnt; /* I/O ports of the PM1 control blocks (0: none) */
	uint32_t pm1b_cnt;
	uint16_t slp_typa_s5, slp_typb_s5; /* SLP_TYP values for soft-off, from the DSDT's \_S5 */
	bool s5_valid;
	uint8_t reset_space; /* ACPI_SPACE_* of the reset register */
	uint64_t reset_addr;
	uint8_t reset_value;
	bool reset_valid;
};

/*
 * Read the tables reachable from the RSDP at physical address rsdp (through phys_to_virt). Every
 * table's length and checksum is checked; a bad or missing MADT, FADT or DSDT is skipped with a
 * warning and leaves its fields zero. VIREO_BAD_PAR if the RSDP or both RSDT and XSDT are unusable.
 */
status_t acpi_parse(paddr_t rsdp, struct acpi_info *out);

/* The same from a copy of the RSDP of len bytes (multiboot2 tags 14 and 15). */
status_t acpi_parse_rsdp_copy(const void *rsdp, size_t len, struct acpi_info *out);

/* Search the BIOS areas for the RSDP (ACPI 6.x §5.2.5.1); PADDR_INVALID if there is none. */
paddr_t acpi_find_rsdp_legacy(void);

/* Search [start, start + len) on 16-byte boundaries for an RSDP with a valid checksum. */
paddr_t acpi_scan_rsdp(paddr_t start, size_t len);

#endif
