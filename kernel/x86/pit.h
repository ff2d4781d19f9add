/* SPDX-License-Identifier: MIT */
/* The 8254 PIT, used once at boot as the reference clock to calibrate the LAPIC timer and TSC. */
#ifndef KERNEL_X86_PIT_H
#define KERNEL_X86_PIT_H

#include "types.h"

#define PIT_HZ 1193182

/* Start channel 2 counting down `us` microseconds (gate on, speaker off). */
void pit_oneshot_start(uint32_t us);
/* Has the channel-2 one-shot reached zero? */
bool pit_oneshot_done(void);

#endif
