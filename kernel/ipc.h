/* SPDX-License-Identifier: MIT */
/* Synchronous IPC through portals, and exceptions delivered as IPC (docs/architecture.md#portal-ipc, #exception-ipc). */
#ifndef KERNEL_IPC_H
#define KERNEL_IPC_H

#include <vireo/utcb.h>

#include "arch.h"
#include "types.h"

struct ec;
struct portal;

/* SYS_CALL: the caller donates its SC to the portal's handler and waits for the reply. */
__noreturn void ipc_call(struct ec *caller, struct portal *pt);
/* SYS_REPLY_WAIT: answer the current call (if any) and wait for the next one. */
__noreturn void ipc_reply_wait(struct ec *handler);
/* Send `ec`'s exception to its event portal; returns only if there is none (the EC dies then). */
void ipc_exception(struct ec *ec);
/* Copy the register groups `mtd` selects between a saved frame and an exception state; the way
 * back keeps what user mode may not set (RFLAGS: IF on, IOPL 0, no VM). */
void ipc_regs_to_exc(const struct regs *r, struct vireo_exc_state *x, uint64_t mtd, uint64_t cr2);
void ipc_exc_to_regs(const struct vireo_exc_state *x, struct regs *r, uint64_t mtd);
/* May the groups `mtd` selects from `x` be written into a user frame (RIP and RSP in user
 * space)? Checked before ipc_exc_to_regs: IRETQ to a non-canonical RIP faults in ring 0. */
bool ipc_exc_state_valid(const struct vireo_exc_state *x, uint64_t mtd);
/* `ec` dies: whoever waits for it (its caller, queued callers) gets VIREO_ABORTED. */
void ipc_abort_ec(struct ec *ec);
/*
 * On kernel entry from user mode: a local EC whose caller died while it ran (ipc_abort_ec) goes
 * back to waiting for its next call, and serves its line. True if `ec` was such an orphan: its
 * entry (system call, exception or interrupt) belongs to abandoned work and is not carried out.
 */
bool ipc_retire_orphan(struct ec *ec);
/*
 * Calls to a vCPU EC (docs/ABI.md "Calls to a vCPU"). Take the oldest queued call for delivery
 * as a vCPU event: its words into the vCPU's UTCB, the caller served from now on; returns it.
 */
struct ec *ipc_vcpu_take_call(struct ec *vcpu);
/* SYS_REPLY_WAIT of a vCPU: reply to the call it was delivered and return. BAD_CAP if none was,
 * ABORTED if the caller died meanwhile. */
status_t ipc_vcpu_reply(struct ec *vcpu);

#endif
