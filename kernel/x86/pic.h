/* SPDX-License-Identifier: MIT */
/* Legacy 8259A PIC pair. */
#ifndef KERNEL_X86_PIC_H
#define KERNEL_X86_PIC_H

void pic_disable(void);

#endif
