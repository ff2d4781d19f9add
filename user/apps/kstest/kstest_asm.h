/* SPDX-License-Identifier: MIT */
/* Constants kstest's C code and its assembly bodies (asm.S) both need. */
#ifndef KSTEST_ASM_H
#define KSTEST_ASM_H

/* System call numbers the assembly uses (checked against <vireo/syscall.h> in env.c). */
#define KT_SYS_EC_EXIT 1
#define KT_SYS_SM_CTRL 10

/* Values kt_gprs_body loads into the general-purpose registers before its ud2. */
#define KT_GPR_RAX 0x6b73740000000a0a
#define KT_GPR_RBX 0x6b73740000000b0b
#define KT_GPR_RCX 0x6b73740000000c0c
#define KT_GPR_RDX 0x6b73740000000d0d
#define KT_GPR_RBP 0x6b7374000000b0b0
#define KT_GPR_RSI 0x6b7374000000515e
#define KT_GPR_RDI 0x6b737400000000d1
#define KT_GPR_R8 0x6b73740000000008
#define KT_GPR_R9 0x6b73740000000009
#define KT_GPR_R10 0x6b73740000000010
#define KT_GPR_R11 0x6b73740000000011
#define KT_GPR_R12 0x6b73740000000012
#define KT_GPR_R13 0x6b73740000000013
#define KT_GPR_R14 0x6b73740000000014
#define KT_GPR_R15 0x6b73740000000015

/* What kt_store_body stores. */
#define KT_STORE_VAL 0x0000000057023e11

/* RAX before the int3 of kt_int3_body. */
#define KT_INT3_RAX 0x0000000000b9b9b9

/* Offsets in struct vireo_exc_state (checked in env.c). */
#define KT_X_RAX 0
#define KT_X_RBX 8
#define KT_X_RCX 16
#define KT_X_RDX 24
#define KT_X_RBP 32
#define KT_X_RSI 40
#define KT_X_RDI 48
#define KT_X_R8 56
#define KT_X_R9 64
#define KT_X_R10 72
#define KT_X_R11 80
#define KT_X_R12 88
#define KT_X_R13 96
#define KT_X_R14 104
#define KT_X_R15 112
#define KT_X_RSP 120
#define KT_X_RIP 128
#define KT_X_RFLAGS 136

/* Offsets in struct kt_loop (kstest.h): the shared block of the looping bodies. */
#define KT_LOOP_ADDR 0
#define KT_LOOP_COUNT 8
#define KT_LOOP_LAST 16
#define KT_LOOP_STOP 24

#endif
