/* SPDX-License-Identifier: MIT */
/* I/O APIC discovery: every input masked until a driver binds it (82093AA datasheet, 3.2). */
#include "x86/ioapic.h"

#include "arch.h"
#include "printk.h"

#define MAX_IOAPICS 8
#define IOREGSEL 0x00
#define IOWIN 0x10
#define REG_VER 0x01
#define REG_REDTBL 0x10
#define RTE_MASKED (1u << 16)

struct ioapic {
	volatile uint32_t *base;
	uint32_t gsi_base;
	unsigned inputs;
};

static struct ioapic ioapics[MAX_IOAPICS];
static unsigned nioapics;

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
