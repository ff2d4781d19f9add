/* SPDX-License-Identifier: MIT */
/* The minios process image inside the layer's binary (MINIOS_USER_BIN: set by the build). */
	.section .rodata
	.balign 4096
	.globl minios_user_image, minios_user_image_end
minios_user_image:
	.incbin MINIOS_USER_BIN
minios_user_image_end:
