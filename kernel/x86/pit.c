/* SPDX-License-Identifier: MIT */
/* 8254 channel 2 as a one-shot reference: mode 0, output visible in port 0x61 bit 5. */
#include "x86/pit.h"

#include "ioport.h"
#include "x86/cpu.h"

#define PIT_CH2 0x42
#define PIT_CMD 0x43
#define PORT_B 0x61

void pit_oneshot_start(uint32_t us)
{
	static bool claimed;
	if (!claimed) {
		ioport_kernel_claim(0x40, 4, "8254");
		ioport_kernel_claim(PORT_B, 1, "8254 gate (port B)");
		claimed = true;
	}
	uint32_t count = (uint32_t)((uint64_t)PIT_HZ * us / 1000000);
	if (count > 0xffff) {
		count = 0xffff;
	}
	/* Gate high, speaker data off. */
	outb(PORT_B, (inb(PORT_B) & ~0x02) | 0x01);
	outb(PIT_CMD, 0xb0); /* channel 2, lobyte/hibyte, mode 0, binary */
	outb(PIT_CH2, count & 0xff);
	outb(PIT_CH2, count >> 8);
}

bool pit_oneshot_done(void)
{
	return inb(PORT_B) & 0x20;
}
