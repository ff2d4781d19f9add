/* SPDX-License-Identifier: MIT */
/*
 * The roottask's pager: page faults of the tasks arrive as exception IPC at a portal per task
 * (docs/architecture.md#exception-ipc). A fault in the task's demand region is answered with a fresh zeroed page (a memory
 * typed item in the reply maps it); any other fault is reported and the faulting EC stays blocked.
 */
#include "roottask.h"

#define PAGER_UTCB 0x00007fffc0100000ull
#define MAX_TASKS 16

struct pager_task {
	uint64_t demand_size;
	uint64_t pd;
	bool used;
};

static struct pager_task tasks[MAX_TASKS];
static uint64_t pager_ec;
static uint64_t pager_stack[1024] __attribute__((aligned(16)));

static bool resolvable(const struct pager_task *t, uint64_t addr)
{
	return t->used && addr >= TASK_DEMAND_VA && addr - TASK_DEMAND_VA < t->demand_size;
}

static __attribute__((noreturn)) void pager_entry(uint64_t id)
{
	struct vireo_utcb *u = (struct vireo_utcb *)PAGER_UTCB;
	uint64_t addr = u->exc.fault_addr;
	if (!(u->mtd & MTD_QUAL)) {
		/* An ordinary call through the portal, not a fault: nothing to do, and no trust. */
		u->untyped = u->typed = 0;
		sys_reply_wait();
	}
	u->untyped = 0;
	u->typed = 0;
	u->mtd = 0;
	uint64_t page = id < MAX_TASKS && resolvable(&tasks[id], addr) ? mem_alloc(0) : 0;
	if (page) {
		u->mr[VIREO_UTCB_WORDS - 2] = vireo_crd(CRD_MEM, page >> 12, 0, MEM_R | MEM_W);
		u->mr[VIREO_UTCB_WORDS - 1] = (addr >> 12) << 12;
		u->typed = 1;
		sys_reply_wait();
	}
	printf("roottask: pager: task %lu: unresolvable page fault at %#lx (rip %#lx, error %#lx); "
	       "ending the task\n",
	       (unsigned long)id, (unsigned long)addr, (unsigned long)u->exc.rip,
	       (unsigned long)u->exc.error);
	if (id < MAX_TASKS && tasks[id].used) {
		/* task.c keeps PD, EC and SC at consecutive selectors. Revoking the faulting EC ends this
		 * call too: the kernel does not return here, and the next fault starts us afresh. */
		tasks[id].used = false;
		sys_revoke(vireo_crd(CRD_OBJ, tasks[id].pd + 2, 0, 0), VIREO_REVOKE_SELF);
		sys_revoke(vireo_crd(CRD_OBJ, tasks[id].pd + 1, 0, 0), VIREO_REVOKE_SELF);
		sys_revoke(vireo_crd(CRD_OBJ, tasks[id].pd, 0, 0), VIREO_REVOKE_SELF);
	}
	sys_reply_wait();
}

int pager_init(const struct vireo_bootinfo *bi)
{
	(void)bi;
	pager_ec = sel_alloc(1);
	struct vireo_ec_create a = { .sp = (uintptr_t)&pager_stack[1024] - 8,
				     .utcb = PAGER_UTCB,
				     .cpu = 0,
				     .flags = VIREO_EC_LOCAL };
	enum vireo_status st = sys_create_ec(pager_ec, SEL_SELF_PD, &a);
	if (st != VIREO_OK) {
		printf("roottask: cannot create the pager (%d)\n", st);
		return -1;
	}
	return 0;
}

int pager_portal(unsigned task_id, uint64_t pd_sel, uint64_t size, uint64_t *pt_sel)
{
	if (task_id >= MAX_TASKS) {
		return -1;
	}
	uint64_t pt = sel_alloc(1);
	uint64_t mtd = MTD_QUAL | MTD_RIP;
	if (sys_create_pt(pt, SEL_SELF_PD, pager_ec, (uintptr_t)pager_entry, mtd) != VIREO_OK ||
	    sys_pt_ctrl(pt, task_id) != VIREO_OK) {
		return -1;
	}
	tasks[task_id] = (struct pager_task){ .demand_size = size, .pd = pd_sel, .used = true };
	*pt_sel = pt;
	return 0;
}
