/* SPDX-License-Identifier: MIT */
/*
 * PCI configuration mechanism 1 (CONFIG_ADDRESS at 0xcf8, CONFIG_DATA at 0xcfc-0xcff, any access
 * size) on bus 0 with an i440FX-like host bridge at 00:00.0, plus the PIIX reset control register
 * at 0xcf9. Later devices plug in a struct pci_function: a 256-byte configuration space with a
 * mask of writable bits and an optional hook that sees every write (BAR moves, enables).
 */
#ifndef VMM_DEVICES_PCI_H
#define VMM_DEVICES_PCI_H

#include <stdbool.h>
#include <stdint.h>

struct iobus;

#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_RESET_CONTROL 0xcf9
#define PCI_CONFIG_DATA 0xcfc
#define PCI_DEVICES 32
#define PCI_FUNCTIONS 8
#define PCI_ENABLE 0x80000000u

#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0 0x10
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d

#define PCI_RCR_SYS_RST 0x02 /* hard reset (with RST_CPU) */
#define PCI_RCR_RST_CPU 0x04 /* 0 -> 1 requests the reset */

struct pci_function {
	uint8_t cfg[256];
	uint8_t wmask[256]; /* 1 = the guest may change this bit */
	/* Called after a guest write changed the space (may be NULL). */
	void (*written)(struct pci_function *f, unsigned offset, unsigned size);
	void *opaque;
};

struct pci {
	uint32_t address; /* CONFIG_ADDRESS */
	uint8_t rcr;	  /* reset control register */
	struct pci_function *fn[PCI_DEVICES][PCI_FUNCTIONS];
	struct pci_function host_bridge;
	void (*reset)(void *arg, bool hard);
	void *arg;
};

/* `reset` (may be NULL) is called when the guest requests a reset through 0xcf9. */
void pci_init(struct pci *p, void (*reset)(void *arg, bool hard), void *arg);
/* Register 0xcf8-0xcff; false if taken. */
bool pci_attach(struct pci *p, struct iobus *bus);
/* Port access at an absolute port 0xcf8-0xcff; `size` 1, 2 or 4. */
uint32_t pci_io_read(struct pci *p, uint16_t port, unsigned size);
void pci_io_write(struct pci *p, uint16_t port, unsigned size, uint32_t value);

/* A type-0 header: identity and class (24 bits: class, subclass, programming interface). */
void pci_function_init(struct pci_function *f, uint16_t vendor, uint16_t device, uint32_t class,
		       uint8_t revision);
/* A memory or I/O BAR of `size` bytes (a power of two): its low bits read back as 0 on sizing. */
void pci_function_bar(struct pci_function *f, unsigned index, uint32_t size, bool io);
/* Plug `f` at 00:dev.fn; false if the slot is taken or out of range. */
bool pci_plug(struct pci *p, unsigned dev, unsigned fn, struct pci_function *f);
/* Configuration access to bus 0 as the data port does it (all-ones where nothing answers). */
uint32_t pci_config_read(struct pci *p, unsigned dev, unsigned fn, unsigned offset, unsigned size);
void pci_config_write(struct pci *p, unsigned dev, unsigned fn, unsigned offset, unsigned size,
		      uint32_t value);

#endif
