/* SPDX-License-Identifier: MIT */
/* Fuzz PCI configuration mechanism 1: any port in 0xcf8-0xcff, any size, a plugged device. */
#include "devices/pci.h"
#include "fuzz.h"

static void on_reset(void *arg, bool hard)
{
	++*(unsigned *)arg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct pci p;
	static struct pci_function f;
	unsigned resets = 0;
	struct fuzz_op op;
	pci_init(&p, on_reset, &resets);
	pci_function_init(&f, 0x1af4, 0x1000, 0x020000, 0);
	pci_function_bar(&f, 0, 0x20, true);
	pci_function_bar(&f, 1, 0x1000, false);
	FUZZ_CHECK(pci_plug(&p, 1, 0, &f));
	while (fuzz_next(&data, &len, &op)) {
		uint16_t port = (uint16_t)(0xcf8 + (op.sel & 7));
		if (op.write) {
			pci_io_write(&p, port, op.size, op.value);
		} else {
			uint32_t v = pci_io_read(&p, port, op.size);
			FUZZ_CHECK((v & ~fuzz_mask(op.size)) == 0);
		}
		FUZZ_CHECK((p.address & 0x7f000003u) == 0);
		FUZZ_CHECK(pci_config_read(&p, 0, 0, 0, 4) == 0x12378086u);
		FUZZ_CHECK(pci_config_read(&p, 1, 0, 0, 4) == 0x10001af4u);
		FUZZ_CHECK(pci_config_read(&p, 2, 0, 0, 4) == 0xffffffffu);
		FUZZ_CHECK((pci_config_read(&p, 1, 0, PCI_BAR0 + 4, 4) & 0xfffu) == 0);
	}
	return 0;
}
