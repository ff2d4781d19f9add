/* SPDX-License-Identifier: MIT */
/* I/O APIC discovery: every input masked until a driver binds it (82093AA datasheet, 3.2). */
#include "x86/ioapic.h"

#include "acpi.h"
#include "arch.h"
#include "printk.h"

#define MAX_IOAPICS 8
#define IOREGSEL 0x00
#define IOWIN 0x10
#define REG_VER 0x01
#define REG_REDTBL 0x10
#define RTE_MASKED (1u << 16)
#define RTE_LEVEL (1u << 15)
#define RTE_ACTIVE_LOW (1u << 13)

struct ioapic {
	volatile uint32_t *base;
	uint32_t gsi_base;
	unsigned inputs;
};

static struct ioapic ioapics[MAX_IOAPICS];
static unsigned nioapics;
static const struct acpi_info *overrides;

static uint32_t ioapic_read(struct ioapic *io, uint32_t reg)
{
	io->base[IOREGSEL / 4] = reg;
	return io->base[IOWIN / 4];
}

static void ioapic_write(struct ioapic *io, uint32_t reg, uint32_t v)
{
	io->base[IOREGSEL / 4] = reg;
	io->base[IOWIN / 4] = v;
}

unsigned ioapic_add(uint8_t id, uint64_t phys, uint32_t gsi_base)
{
	if (nioapics == MAX_IOAPICS) {
		pr_warn("ioapic: more than %d IOAPICs, ignoring id %u\n", MAX_IOAPICS, id);
		return 0;
	}
	struct ioapic *io = &ioapics[nioapics++];
	io->base = phys_to_virt(pa_init(phys));
	io->gsi_base = gsi_base;
	io->inputs = ((ioapic_read(io, REG_VER) >> 16) & 0xff) + 1;
	for (unsigned i = 0; i < io->inputs; i++) {
		ioapic_write(io, REG_REDTBL + 2 * i, RTE_MASKED);
		ioapic_write(io, REG_REDTBL + 2 * i + 1, 0);
	}
	pr_info("ioapic: id %u at %#lx, GSIs %u-%u, all masked\n", id, phys, gsi_base,
		gsi_base + io->inputs - 1);
	return io->inputs;
}

unsigned ioapic_gsi_count(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < nioapics; i++) {
		n += ioapics[i].inputs;
	}
	return n;
}

static struct ioapic *find(unsigned gsi, unsigned *pin)
{
	for (unsigned i = 0; i < nioapics; i++) {
		if (gsi >= ioapics[i].gsi_base && gsi < ioapics[i].gsi_base + ioapics[i].inputs) {
			*pin = gsi - ioapics[i].gsi_base;
			return &ioapics[i];
		}
	}
	return NULL;
}

void ioapic_mask(unsigned gsi, bool masked)
{
	unsigned pin;
	struct ioapic *io = find(gsi, &pin);
	if (!io) {
		return;
	}
	uint32_t lo = ioapic_read(io, REG_REDTBL + 2 * pin);
	ioapic_write(io, REG_REDTBL + 2 * pin, masked ? lo | RTE_MASKED : lo & ~RTE_MASKED);
}

void ioapic_route(unsigned gsi, uint8_t vector, uint32_t apic_id, bool level, bool active_low)
{
	unsigned pin;
	struct ioapic *io = find(gsi, &pin);
	if (!io) {
		return;
	}
	/* Fixed delivery, physical destination (82093AA 3.2.4). */
	uint32_t lo = vector | (active_low ? RTE_ACTIVE_LOW : 0) | (level ? RTE_LEVEL : 0);
	ioapic_write(io, REG_REDTBL + 2 * pin + 1, apic_id << 24);
	ioapic_write(io, REG_REDTBL + 2 * pin, lo);
}

void ioapic_set_overrides(const struct acpi_info *acpi)
{
	overrides = acpi;
}

void ioapic_gsi_polarity(unsigned gsi, bool *level, bool *active_low)
{
	/* ISA interrupts are edge-triggered, active high unless the MADT overrides them (ACPI 5.2.12.5). */
	*level = gsi >= 16;
	*active_low = gsi >= 16;
	for (size_t i = 0; overrides && i < overrides->nisos; i++) {
		const struct acpi_iso *iso = &overrides->isos[i];
		if (iso->gsi != gsi) {
			continue;
		}
		unsigned pol = iso->flags & 3, trig = (iso->flags >> 2) & 3;
		if (pol) {
			*active_low = pol == 3;
		}
		if (trig) {
			*level = trig == 3;
		}
	}
}
