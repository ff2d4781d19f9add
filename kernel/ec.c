/* SPDX-License-Identifier: MIT */
/* Execution contexts: creation, the way back to user mode, death and the user exception path. */
#include "ec.h"
#include "fpu.h"

#include "arch.h"
#include "assert.h"
#include "ipc.h"
#include "klock.h"
#include "kstring.h"
#include "obj.h"
#include "pd.h"
#include "printk.h"
#include "sc.h"
#include "sched.h"
#include "slab.h"
#include "sm.h"
#include "timer.h"
#include "vcpu.h"

static struct slab_cache ec_cache;
static unsigned live_global_ecs;

static void ec_cache_init(void)
{
	if (!ec_cache.name) {
		slab_cache_init(&ec_cache, "ec", sizeof(struct ec), 64);
	}
}

static status_t map_utcb(struct ec *ec, uint64_t utcb_va)
{
	void *k;
	status_t st = pd_map_page(ec->pd, utcb_va, MAP_R | MAP_W, &k);
	if (st == VIREO_OK) {
		ec->utcb = k;
		ec->utcb_va = utcb_va;
	}
	return st;
}

status_t ec_create(struct pd *pd, const char *name, uint64_t ip, uint64_t sp, uint64_t utcb_va,
		   uint64_t evt_base, uint64_t arg, unsigned cpu, bool local, struct ec **out)
{
	ec_cache_init();
	if (cpu >= MAX_CPUS || !percpu_area[cpu].online) {
		return VIREO_BAD_CPU;
	}
	struct ec *ec = pd_alloc(pd, &ec_cache);
	if (!ec) {
		return VIREO_NO_MEM;
	}
	ec->obj.type = OBJ_EC;
	ec->pd = pd;
	ec->fpu = fpu_state_alloc(pd_quota(pd));
	status_t st = ec->fpu ? map_utcb(ec, utcb_va) : VIREO_NO_MEM;
	if (st != VIREO_OK) {
		fpu_state_free(ec);
		pd_free(pd, &ec_cache, ec);
		return st;
	}
	obj_get(&pd->obj);
	memcpy(ec->name, name, strnlen(name, sizeof(ec->name) - 1));
	ec->regs = (struct regs){ .rip = ip,
				  .rsp = sp,
				  .rdi = arg,
				  .cs = SEL_UCODE,
				  .ss = SEL_UDATA,
				  .rflags = 0x202 /* IF and the reserved bit 1 */ };
	ec->initial_sp = sp;
	ec->evt_base = evt_base;
	ec->cpu = cpu;
	ec->local = local;
	ec->state = local ? EC_WAITING : EC_READY;
	ec->cont = ec_ret_iret;
	if (!local) {
		pd->live_ecs++;
		live_global_ecs++;
	}
	obj_live[OBJ_EC]++;
	*out = ec;
	return VIREO_OK;
}

unsigned ec_count(void)
{
	return live_global_ecs;
}

/*
 * Whether to log the next kill. A task that makes its children die by the thousand (the fuzzer
 * does) must not turn the console into the bottleneck: the first 64 kills are logged, then every
 * 1024th with the running count; the `debug` command-line word logs all of them.
 */
static bool kill_logged(void)
{
	static uint64_t kills;
	kills++;
	if (kernel_debug || kills <= 64) {
		return true;
	}
	if (kills % 1024 == 0) {
		pr_info("vireo: %lu ECs killed so far (each logged with `debug`)\n",
			(unsigned long)kills);
	}
	return false;
}

void ec_kill(struct ec *ec, const char *why)
{
	CHECK(klock_held());
	if (ec->state == EC_DEAD) {
		return;
	}
	if (why && kill_logged()) {
		pr_info("vireo: %s killed: %s\n", ec->name, why);
	}
	timer_cancel(ec);
	sm_forget(ec); /* with or without a timeout, no semaphore may keep it in its queue */
	ipc_abort_ec(ec);
	ec->state = EC_DEAD;
	if (ec->sc) {
		sched_dequeue(ec->sc);
	}
	if (!ec->local) {
		ec->pd->live_ecs--;
		if (--live_global_ecs == 0) {
			pr_info("vireo: no user tasks left; CPUs idle\n");
		}
	}
}

/*
 * The last step, once no CPU runs it any more (in user mode or in a guest): what is left is
 * refunded, and only then may its PD (and the task of virtual user mode) go: until then a CPU may
 * still use their page tables.
 */
static void ec_free(struct ec *ec)
{
	struct pd *pd = ec->pd, *task = ec->pv_task;
	if (ec->vcpu) {
		vcpu_free(ec->vcpu);
		ec->vcpu = NULL;
	}
	pd_free(pd, &ec_cache, ec);
	if (task) {
		obj_put(&task->obj);
	}
	obj_put(&pd->obj);
}

void ec_destroy(struct ec *ec)
{
	/* An SC holds a reference on its EC, so none points here any more. */
	CHECK(!ec->sc);
	ec_kill(ec, NULL);
	if (ec->vcpu) {
		vcpu_pv_fpu_restore(ec); /* ec->fpu may be its task's state */
	}
	fpu_state_free(ec);
	pd_unmap_page(ec->pd, ec->utcb_va);
	if (ec->vcpu) {
		vcpu_release_page(ec);
	}
	obj_live[OBJ_EC]--;
	if (ec->running) {
		/* Another CPU is still in user mode on it: it frees the EC when it enters the kernel. */
		ec->obj.type = OBJ_NULL;
		arch_kick(ec->cpu);
	} else if (this_cpu()->current == ec) {
		/* We are in a system call of this very EC: free it once the scheduler has left it. */
		ec->obj.type = OBJ_NULL;
		this_cpu()->zombie = ec;
	} else {
		ec_free(ec);
	}
}

void ec_reap(void)
{
	struct percpu *cpu = this_cpu();
	if (cpu->zombie) {
		if (cpu->current == cpu->zombie) {
			cpu->current = NULL;
		}
		ec_free(cpu->zombie);
		cpu->zombie = NULL;
	}
}

struct ec *ec_enter_destroyed(struct ec *ec)
{
	ec_free(ec);
	this_cpu()->current = NULL;
	return NULL;
}

/* A handler whose caller died while it ran (ipc_retire_orphan): the work it was doing is void. */
struct ec *ec_enter_orphan(struct ec *ec)
{
	if (ipc_retire_orphan(ec)) {
		this_cpu()->current = NULL;
		return NULL;
	}
	return ec;
}

/* A recalled EC enters its recall event before it may run on (docs/architecture.md#vcpu). */
static inline __attribute__((always_inline)) void check_recall(struct ec *ec)
{
	/* A vCPU EC in its own code (its VMM) keeps a recall for its next SYS_VCPU_RESUME, which
	 * returns VM_EXIT_RECALL: it has no recall portal to lose it to (docs/ABI.md). */
	if (ec->recall && !(ec->vcpu && !ec->pv_task)) {
		ec->recall = false;
		ec->regs.vector = EVT_RECALL;
		ec->regs.error = 0;
		ec->cont = ec_ret_iret;
		ipc_exception(
			ec); /* returns only if there is no recall portal: then just continue */
	}
}

/* Inlined into both ways out: they are the hot end of every system call and IPC. */
static inline __attribute__((always_inline)) void prepare_space(struct ec *ec)
{
	struct percpu *cpu = this_cpu();
	/* In virtual user mode the EC runs in its task's memory and I/O space. */
	struct pd *space = ec->pv_task ? ec->pv_task : ec->pd;
	cpu->current = ec;
	arch_set_entry_frame(&ec->regs);
	ec->running = true;
	ec->cont = ec_ret_iret;
	pd_activate(space);
	iobitmap_load(space->io_bitmap);
}

static inline __attribute__((always_inline)) void prepare_exit(struct ec *ec)
{
	prepare_space(ec);
	fpu_switch(ec);
	klock_release();
}

void ec_ret_syscall(struct ec *ec)
{
	if (ec->vcpu) {
		vcpu_pv_check(ec);
	}
	check_recall(ec);
	prepare_exit(ec);
	/* SYSRET is only safe with a canonical RIP (Intel raises #GP in ring 0 otherwise). */
	if (ec->regs.rip < USER_END) {
		ret_user_sysret(&ec->regs);
	}
	ret_user_iret(&ec->regs);
}

void ec_ret_iret(struct ec *ec)
{
	if (ec->vcpu) {
		vcpu_pv_check(ec);
	}
	check_recall(ec);
	prepare_exit(ec);
	ret_user_iret(&ec->regs);
}

void ec_user_exception(struct ec *ec)
{
	ec->cont = ec_ret_iret;
	ipc_exception(ec); /* returns only when no handler takes it */
	if (kill_logged()) {
		pr_info("vireo: %s killed: %s in user mode\n", ec->name,
			trap_name(ec->regs.vector));
		trap_dump(LOG_INFO, &ec->regs);
	}
	ec_kill(ec, NULL);
	sched_schedule();
}
