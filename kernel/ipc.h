/* SPDX-License-Identifier: MIT */
/* Synchronous IPC through portals, and exceptions delivered as IPC (seed 000, 002). */
#ifndef KERNEL_IPC_H
#define KERNEL_IPC_H

#include "types.h"

struct ec;
struct portal;

/* SYS_CALL: the caller donates its SC to the portal's handler and waits for the reply. */
__noreturn void ipc_call(struct ec *caller, struct portal *pt);
/* SYS_REPLY_WAIT: answer the current call (if any) and wait for the next one. */
__noreturn void ipc_reply_wait(struct ec *handler);
/* Send `ec`'s exception to its event portal; returns only if there is none (the EC dies then). */
void ipc_exception(struct ec *ec);
/* `ec` dies: whoever waits for it (its caller, queued callers) gets VIREO_ABORTED. */
void ipc_abort_ec(struct ec *ec);

#endif
