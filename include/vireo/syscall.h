/* SPDX-License-Identifier: MIT */
/* System call numbers and the register convention of the SYSCALL entry (docs/ABI.md). */
#ifndef VIREO_SYSCALL_H
#define VIREO_SYSCALL_H

#include <stdint.h>

/*
 * Convention: RAX = syscall number on entry and status on return,
 * arguments in RDI, RSI, RDX, R10, R8, R9 (R10 instead of RCX, which
 * SYSCALL overwrites). Extra results come back in RDI, RSI, RDX.
 * RCX and R11 are clobbered; all other registers are preserved.
 */
enum vireo_syscall {
	SYS_DEBUG_WRITE = 0, /* (buf, len): print to the kernel console */
	SYS_EC_EXIT = 1,     /* (): end the calling EC; never returns */
	SYS_CALL =
		2, /* (pt): call a portal with the UTCB message; the reply comes back in the UTCB */
	SYS_REPLY_WAIT = 3,   /* (): reply with the UTCB message, then wait for the next call */
	SYS_CREATE_PD = 4,    /* (dst, pd, quota_bytes, flags) */
	SYS_CREATE_EC = 5,    /* (dst, pd, const struct vireo_ec_create *) */
	SYS_CREATE_SC = 6,    /* (dst, pd, ec, prio, quantum_us) */
	SYS_CREATE_PT = 7,    /* (dst, pd, ec, ip, mtd) */
	SYS_CREATE_SM = 8,    /* (dst, pd, count) */
	SYS_PT_CTRL = 9,      /* (pt, id) */
	SYS_SM_CTRL = 10,     /* (sm, op, timeout_us) */
	SYS_DELEGATE = 11,    /* (dst_pd, src_crd, dst_base, flags) */
	SYS_REVOKE = 12,      /* (crd, flags) */
	SYS_LOOKUP = 13,      /* (crd) -> RDI = the capability range found, or 0 */
	SYS_ASSIGN_GSI = 14,  /* (sm, gsi, cpu) */
	SYS_EC_CTRL = 15,     /* (ec, op) */
	SYS_SC_CTRL = 16,     /* (sc) -> RDI = consumed time in microseconds */
	SYS_KSTAT = 17,	      /* (struct vireo_kstat *, pd) */
	SYS_VCPU_RESUME = 18, /* (vm): run the VM on the calling vCPU until an exit for the VMM */
	SYS_VCPU_IRQ =
		19, /* (ec): raise a virtual IRQ at a vCPU (delivered while its vif is open) */
	SYS_VCPU_POST = 20, /* (ec, vector): post an external interrupt to a vCPU in its VM */
	SYS_COUNT
};

/* Largest buffer SYS_DEBUG_WRITE accepts in one call. */
#define VIREO_DEBUG_WRITE_MAX 4096

/*
 * The end of user space: every address the kernel enters user mode at (EC and portal IPs, vCPU
 * entry points, exception-reply RIPs) lies below it, every stack pointer at most at it.
 */
#define VIREO_USER_END 0x00007ffffffff000ull

/* SYS_CREATE_EC argument block, read from the caller's memory. */
struct vireo_ec_create {
	uint64_t ip;   /* global EC: first instruction, below VIREO_USER_END; local EC: ignored */
	uint64_t sp;   /* initial stack pointer, at most VIREO_USER_END */
	uint64_t utcb; /* page-aligned address of the UTCB in the target PD (the kernel maps it) */
	uint64_t evt_base;   /* selector base of its event portals (exceptions, page faults) */
	uint64_t arg;	     /* initial RDI */
	uint32_t cpu;	     /* CPU it runs on */
	uint32_t flags;	     /* VIREO_EC_LOCAL for a portal handler, VIREO_EC_VCPU for a vCPU */
	uint64_t vcpu_state; /* VIREO_EC_VCPU: page-aligned address of its vCPU state page */
};
#define VIREO_EC_LOCAL 0x1
#define VIREO_EC_VCPU 0x2

/* SYS_CREATE_PD flags (R10). */
/* VIREO_PD_VM: ports delegated to a VM's I/O space are passed through to its guest. */
#define VIREO_PD_VM 0x1 /* a VM: its memory space is guest-physical (NPT/EPT); no ECs run in it */
/* R8 = the new PD's maximum SC priority (at most the parent's; without the flag: the parent's). */
#define VIREO_PD_MAX_PRIO 0x2

/* SYS_SM_CTRL operations and timeouts. */
#define VIREO_SM_UP 0
#define VIREO_SM_DOWN 1
#define VIREO_TIMEOUT_NEVER UINT64_MAX

/* SYS_DELEGATE flags. */
#define VIREO_DELEGATE_GRANT 0x1 /* move instead of map: the source loses it */

/* SYS_REVOKE flags. */
/* SYS_VCPU_RESUME flags (RSI) for virtual user mode: first deliver the typed items of the
 * caller's UTCB into the task, as a pager's reply does (docs/ABI.md "Virtual user mode"). */
#define VIREO_RESUME_ITEMS 0x1

#define VIREO_REVOKE_SELF                                                                          \
	0x1 /* also remove the caller's own capability, not only what derives from it */

/* SYS_EC_CTRL operations. */
#define VIREO_EC_RECALL                                                                            \
	0 /* force the EC into its recall event (vector EVT_RECALL) at the next kernel exit */

/* SYS_VCPU_POST: vectors 0-255; each is a bit (posts of one vector before it went in are one). */
#define VIREO_VCPU_POST_VECTORS 256

/* SYS_KSTAT result: counts for leak checks. */
struct vireo_kstat {
	uint64_t free_pages;
	uint32_t pds, ecs, scs, pts, sms, mdb_nodes;
	uint64_t fpu_switches; /* FPU state save/restore pairs so far (all CPUs) */
	uint64_t quota_limit;  /* kernel-memory quota of the PD RSI names (0: not a PD), bytes */
	uint64_t quota_used;   /* of that quota: charged now */
	uint64_t ipc_fastpath; /* calls and replies the IPC fast path took so far (all CPUs) */
	uint64_t
		ipc_fastpath_on; /* 1: the fast path is on (no `nofastpath` on the kernel command line) */
};

#endif
