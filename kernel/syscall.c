/* SPDX-License-Identifier: MIT */
/* System call dispatch: a table of small handlers indexed by the number in RAX (docs/ABI.md). */
#include <vireo/syscall.h>

#include "ec.h"
#include "pd.h"
#include "printk.h"
#include "sched.h"
#include "x86/idt.h"
#include "x86/percpu.h"

typedef status_t (*syscall_fn)(struct ec *ec, struct regs *r);

static status_t sys_debug_write(struct ec *ec, struct regs *r)
{
	static char buf[MAX_CPUS][VIREO_DEBUG_WRITE_MAX];
	uint64_t len = r->rsi;
	if (len > VIREO_DEBUG_WRITE_MAX) {
		return VIREO_BAD_PAR;
	}
	char *kbuf = buf[this_cpu()->id];
	status_t st = pd_copy_from_user(ec->pd, kbuf, r->rdi, len);
	if (st == VIREO_OK) {
		console_write(kbuf, len);
	}
	return st;
}

static status_t sys_ec_exit(struct ec *ec, struct regs *r)
{
	(void)r;
	pr_debug("vireo: %s exited\n", ec->name);
	ec_kill(ec);
	if (ec_count() == 0) {
		pr_info("vireo: no user tasks left; CPUs idle\n");
	}
	return VIREO_OK;
}

static const syscall_fn syscall_table[SYS_COUNT] = {
	[SYS_DEBUG_WRITE] = sys_debug_write,
	[SYS_EC_EXIT] = sys_ec_exit,
};

void syscall_dispatch(struct regs *r)
{
	struct ec *ec = this_cpu()->current;
	uint64_t nr = r->rax;
	status_t st = VIREO_BAD_SYS;
	if (nr < SYS_COUNT && syscall_table[nr]) {
		st = syscall_table[nr](ec, r);
	}
	/* The handler may have ended the EC; its frame is gone then. */
	if (this_cpu()->current == ec) {
		r->rax = st;
	}
	sched_return_to_user();
}
