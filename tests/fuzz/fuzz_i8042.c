/* SPDX-License-Identifier: MIT */
/* Fuzz the 8042 controller and the port 0x92 / 0x80 system ports. */
#include "devices/i8042.h"
#include "devices/sysport.h"
#include "fuzz.h"

static void on_reset(void *arg)
{
	++*(unsigned *)arg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct i8042 k;
	struct sysport s;
	struct fuzz_irq irq;
	unsigned resets = 0;
	struct fuzz_op op;
	fuzz_irq_init(&irq);
	i8042_init(&k, &irq.chip, on_reset, NULL, &resets);
	sysport_init(&s, on_reset, NULL, &resets);
	static const uint16_t ports[] = { 0x60, 0x64, 0x92, 0x80 };
	while (fuzz_next(&data, &len, &op)) {
		uint16_t port = ports[op.sel & 3];
		bool kbc = port == 0x60 || port == 0x64;
		if (op.write) {
			if (kbc) {
				i8042_io_write(&k, port, (uint8_t)op.value);
			} else {
				sysport_io_write(&s, port, (uint8_t)op.value);
			}
		} else if (kbc) {
			uint8_t st = i8042_io_read(&k, 0x64);
			FUZZ_CHECK(!!(st & I8042_STR_OBF) == !!k.count);
			(void)i8042_io_read(&k, port);
		} else {
			(void)sysport_io_read(&s, port);
		}
		FUZZ_CHECK(k.count <= I8042_QUEUE && k.head < I8042_QUEUE);
		FUZZ_CHECK(k.irq_level == (k.count && (k.ctr & I8042_CTR_KBDINT)));
		FUZZ_CHECK(irq.level[I8042_IRQ] == k.irq_level);
		FUZZ_CHECK(k.outport & 1); /* the reset line is only ever pulsed */
		FUZZ_CHECK(!(s.port_a & SYSPORT_A_RESET));
	}
	return 0;
}
