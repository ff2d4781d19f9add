/* SPDX-License-Identifier: MIT */
/* The one status code every Vireo system call returns (see docs/ABI.md). */
#ifndef VIREO_STATUS_H
#define VIREO_STATUS_H

enum vireo_status {
	VIREO_OK = 0,	   /* success */
	VIREO_TIMEOUT = 1, /* a blocking operation ran out of time */
	VIREO_ABORTED = 2, /* the partner or object went away while waiting */
	VIREO_BAD_SYS = 3, /* unknown system call number */
	VIREO_BAD_CAP = 4, /* selector empty, wrong object type or missing right */
	VIREO_BAD_PAR = 5, /* malformed argument: pointer, length, range, flags */
	VIREO_BAD_FTR = 6, /* feature not present on this machine or build */
	VIREO_BAD_CPU = 7, /* CPU number out of range or offline */
	VIREO_BAD_DEV = 8, /* device or interrupt not usable (a port the kernel drives, for a VM) */
	VIREO_NO_MEM = 9,  /* out of kernel memory or over the PD's quota */
	VIREO_BUSY = 10,   /* object in a state that forbids the operation */
	VIREO_STATUS_COUNT
};

#endif
