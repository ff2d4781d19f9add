/* SPDX-License-Identifier: MIT */
/* Execution contexts: creation, the user-mode exception path and termination. */
#include "ec.h"

#include "assert.h"
#include "kstring.h"
#include "pd.h"
#include "printk.h"
#include "sched.h"
#include "slab.h"
#include "x86/memlayout.h"
#include "x86/percpu.h"
#include "x86/trap.h"

static struct slab_cache ec_cache;
static bool ec_cache_ready;
static unsigned live_ecs;

struct ec *ec_create(struct pd *pd, const char *name, uint64_t ip, uint64_t sp, uint64_t arg,
		     unsigned cpu)
{
	if (!ec_cache_ready) {
		slab_cache_init(&ec_cache, "ec", sizeof(struct ec), 64);
		ec_cache_ready = true;
	}
	if (cpu >= cpus_online) {
		return NULL;
	}
	struct ec *ec = slab_alloc(&ec_cache);
	if (!ec) {
		return NULL;
	}
	ec->pd = pd;
	pd->refs++;
	memcpy(ec->name, name, strnlen(name, sizeof(ec->name) - 1));
	ec->regs.rip = ip;
	ec->regs.rsp = sp;
	ec->regs.rdi = arg;
	ec->regs.cs = SEL_UCODE;
	ec->regs.ss = SEL_UDATA;
	ec->regs.rflags = 0x202; /* IF, reserved bit 1 */
	ec->cpu = cpu;
	ec->state = EC_READY;
	__atomic_add_fetch(&live_ecs, 1, __ATOMIC_RELAXED);
	sched_enqueue(ec);
	return ec;
}

void ec_kill(struct ec *ec)
{
	if (ec->state == EC_READY) {
		sched_dequeue(ec);
	}
	ec->state = EC_DEAD;
	struct pd *pd = ec->pd;
	/* Only the CPU running it kills it for now, so it is safe to free once we leave its frame. */
	if (this_cpu()->current == ec) {
		this_cpu()->current = NULL;
	}
	slab_free(&ec_cache, ec);
	__atomic_sub_fetch(&live_ecs, 1, __ATOMIC_RELAXED);
	pd_put(pd);
}

void ec_user_exception(struct ec *ec)
{
	/* User misbehaviour is not a kernel error: report at info level and end the task. */
	pr_info("vireo: %s killed: %s in user mode\n", ec->name, trap_name(ec->regs.vector));
	trap_dump(LOG_INFO, &ec->regs);
	ec_kill(ec);
	if (ec_count() == 0) {
		pr_info("vireo: no user tasks left; CPUs idle\n");
	}
}

unsigned ec_count(void)
{
	return __atomic_load_n(&live_ecs, __ATOMIC_RELAXED);
}
