/* SPDX-License-Identifier: MIT */
/* Scheduling contexts: binding one to a global EC makes it runnable. */
#include "sc.h"

#include "arch.h"
#include "ec.h"
#include "obj.h"
#include "pd.h"
#include "sched.h"
#include "slab.h"

static struct slab_cache sc_cache;

status_t sc_create(struct pd *pd, struct ec *ec, unsigned prio, uint64_t quantum_us,
		   struct sc **out)
{
	if (!sc_cache.name) {
		slab_cache_init(&sc_cache, "sc", sizeof(struct sc), 64);
	}
	/* No PD hands out more priority than it was given (docs/ABI.md, SYS_CREATE_SC). */
	if (prio >= SC_PRIOS || prio > pd->max_prio || quantum_us == 0) {
		return VIREO_BAD_PAR;
	}
	if (ec->local || ec->sc || ec->state == EC_DEAD) {
		return VIREO_BUSY;
	}
	struct sc *sc = pd_alloc(pd, &sc_cache);
	if (!sc) {
		return VIREO_NO_MEM;
	}
	sc->obj.type = OBJ_SC;
	sc->charged = pd;
	obj_get(&pd->obj); /* the refund goes there */
	sc->ec = ec;
	sc->prio = prio;
	uint64_t ticks = (quantum_us * TIMER_HZ + 999999) / 1000000;
	sc->quantum = (unsigned)MIN(MAX(ticks, 1ull), 1000ull);
	sc->left = sc->quantum;
	sc->cpu = ec->cpu;
	/* The SC keeps its EC alive; the EC only points back (the SC's capabilities decide its life). */
	ec->sc = sc;
	obj_get(&ec->obj);
	obj_live[OBJ_SC]++;
	sched_wake(ec);
	*out = sc;
	return VIREO_OK;
}

void sc_destroy(struct sc *sc)
{
	struct pd *pd = sc->charged;
	sched_dequeue(sc);
	if (sc->ec) {
		struct ec *ec = sc->ec;
		ec->sc = NULL;
		sc->ec = NULL;
		obj_put(&ec->obj);
	}
	obj_live[OBJ_SC]--;
	pd_free(pd, &sc_cache, sc);
	obj_put(&pd->obj);
}
