/* SPDX-License-Identifier: MIT */
/* PCI configuration mechanism 1 (PCI Local Bus Specification 3.0, 3.2.2.3.2), i440FX host
 * bridge, PIIX reset control register. */
#include "pci.h"

#include "../iobus.h"

static uint32_t ones(unsigned size)
{
	return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

static void put(uint8_t *b, unsigned at, unsigned size, uint32_t v)
{
	for (unsigned i = 0; i < size; i++) {
		b[at + i] = (uint8_t)(v >> (8 * i));
	}
}

void pci_function_init(struct pci_function *f, uint16_t vendor, uint16_t device, uint32_t class,
		       uint8_t revision)
{
	*f = (struct pci_function){ 0 };
	put(f->cfg, PCI_VENDOR_ID, 2, vendor);
	put(f->cfg, PCI_DEVICE_ID, 2, device);
	put(f->cfg, PCI_REVISION, 1, revision);
	put(f->cfg, PCI_CLASS_PROG, 3, class);
	/* Command: I/O, memory, bus master, parity, SERR, interrupt disable may be set. */
	put(f->wmask, PCI_COMMAND, 2, 0x0547);
	f->wmask[0x0c] = 0xff; /* cache line size */
	f->wmask[0x0d] = 0xff; /* latency timer */
	f->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

void pci_function_bar(struct pci_function *f, unsigned index, uint32_t size, bool io)
{
	if (index >= 6 || size == 0 || (size & (size - 1))) {
		return;
	}
	unsigned at = PCI_BAR0 + 4 * index;
	put(f->cfg, at, 4, io ? 1 : 0);
	/* The size is what sizing software learns from the bits that do not stick. */
	uint32_t low = io ? 3 : 15;
	put(f->wmask, at, 4, ~(size - 1) & ~low);
}

static struct pci_function *function_at(struct pci *p, unsigned dev, unsigned fn)
{
	return dev < PCI_DEVICES && fn < PCI_FUNCTIONS ? p->fn[dev][fn] : NULL;
}

bool pci_plug(struct pci *p, unsigned dev, unsigned fn, struct pci_function *f)
{
	if (!f || dev >= PCI_DEVICES || fn >= PCI_FUNCTIONS || p->fn[dev][fn]) {
		return false;
	}
	p->fn[dev][fn] = f;
	return true;
}

uint32_t pci_config_read(struct pci *p, unsigned dev, unsigned fn, unsigned offset, unsigned size)
{
	struct pci_function *f = function_at(p, dev, fn);
	if (!f || size == 0 || size > 4 || offset >= 256 || size > 256 - offset) {
		return ones(size); /* no device: the master abort reads all-ones */
	}
	uint32_t v = 0;
	for (unsigned i = 0; i < size; i++) {
		v |= (uint32_t)f->cfg[offset + i] << (8 * i);
	}
	return v;
}

void pci_config_write(struct pci *p, unsigned dev, unsigned fn, unsigned offset, unsigned size,
		      uint32_t value)
{
	struct pci_function *f = function_at(p, dev, fn);
	if (!f || size == 0 || size > 4 || offset >= 256 || size > 256 - offset) {
		return;
	}
	for (unsigned i = 0; i < size; i++) {
		uint8_t m = f->wmask[offset + i], b = (uint8_t)(value >> (8 * i));
		f->cfg[offset + i] = (uint8_t)((f->cfg[offset + i] & ~m) | (b & m));
	}
	if (f->written) {
		f->written(f, offset, size);
	}
}

/* The function CONFIG_ADDRESS selects, if enabled and on bus 0 (no bridges behind it). */
static bool decode(const struct pci *p, unsigned *dev, unsigned *fn)
{
	if (!(p->address & PCI_ENABLE) || (p->address >> 16 & 0xff) != 0) {
		return false;
	}
	*dev = p->address >> 11 & 31;
	*fn = p->address >> 8 & 7;
	return true;
}

static void write_rcr(struct pci *p, uint8_t v)
{
	bool request = (v & PCI_RCR_RST_CPU) && !(p->rcr & PCI_RCR_RST_CPU);
	p->rcr = v & (PCI_RCR_SYS_RST | 0x08); /* RST_CPU does not stick once the reset is done */
	if (request && p->reset) {
		p->reset(p->arg, v & PCI_RCR_SYS_RST);
	}
}

uint32_t pci_io_read(struct pci *p, uint16_t port, unsigned size)
{
	unsigned dev, fn;
	if (port >= PCI_CONFIG_DATA && port < PCI_CONFIG_DATA + 4) {
		unsigned off = port - PCI_CONFIG_DATA;
		if (size > 4 - off || !decode(p, &dev, &fn)) {
			return ones(size);
		}
		return pci_config_read(p, dev, fn, (p->address & 0xfc) + off, size);
	}
	/* CONFIG_ADDRESS answers dword accesses only; narrower ones are other registers. */
	if (port == PCI_CONFIG_ADDRESS && size == 4) {
		return p->address;
	}
	if (port == PCI_RESET_CONTROL && size == 1) {
		return p->rcr;
	}
	return ones(size);
}

void pci_io_write(struct pci *p, uint16_t port, unsigned size, uint32_t value)
{
	unsigned dev, fn;
	if (port >= PCI_CONFIG_DATA && port < PCI_CONFIG_DATA + 4) {
		unsigned off = port - PCI_CONFIG_DATA;
		if (size <= 4 - off && decode(p, &dev, &fn)) {
			pci_config_write(p, dev, fn, (p->address & 0xfc) + off, size, value);
		}
	} else if (port == PCI_CONFIG_ADDRESS && size == 4) {
		p->address = value & 0x80fffffcu; /* reserved bits 30-24 and 1-0 read as 0 */
	} else if (port == PCI_RESET_CONTROL && size == 1) {
		write_rcr(p, (uint8_t)value);
	}
}

void pci_init(struct pci *p, void (*reset)(void *arg, bool hard), void *arg)
{
	*p = (struct pci){ .reset = reset, .arg = arg };
	struct pci_function *hb = &p->host_bridge;
	/* Intel 82441FX PMC: host bridge, class 06 00 00, revision 02. */
	pci_function_init(hb, 0x8086, 0x1237, 0x060000, 0x02);
	put(hb->cfg, PCI_COMMAND, 2, 0x0006);
	put(hb->cfg, PCI_STATUS, 2, 0x0280); /* fast back-to-back, medium DEVSEL timing */
	/* Device-specific registers (PAM, SMRAM, DRB...) hold what the firmware writes. */
	for (unsigned i = 0x40; i < 256; i++) {
		hb->wmask[i] = 0xff;
	}
	p->fn[0][0] = hb;
}

static uint64_t pci_bus_read(void *dev, uint64_t off, unsigned size)
{
	return pci_io_read(dev, (uint16_t)(PCI_CONFIG_ADDRESS + off), size);
}

static void pci_bus_write(void *dev, uint64_t off, unsigned size, uint64_t v)
{
	pci_io_write(dev, (uint16_t)(PCI_CONFIG_ADDRESS + off), size, (uint32_t)v);
}

static const struct iobus_ops pci_ops = { .read = pci_bus_read, .write = pci_bus_write };

bool pci_attach(struct pci *p, struct iobus *bus)
{
	return iobus_register(bus, IOBUS_PIO, PCI_CONFIG_ADDRESS, 8, &pci_ops, p) == IOBUS_OK;
}
