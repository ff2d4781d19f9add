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

status_t sc_create(struct ec *ec, unsigned prio, uint64_t quantum_us, struct sc **out)
{
	if (!sc_cache.name) {
		slab_cache_init(&sc_cache, "sc", sizeof(struct sc), 64);
	}
	if (prio >= SC_PRIOS || quantum_us == 0 || ec->local || ec->sc || ec->state == EC_DEAD) {
		return prio >= SC_PRIOS || quantum_us == 0 ? VIREO_BAD_PAR : VIREO_BUSY;
	}
	if (pd_charge(ec->pd, sizeof(struct sc)) != VIREO_OK) {
		return VIREO_NO_MEM;
	}
	struct sc *sc = slab_alloc(&sc_cache);
	if (!sc) {
		pd_refund(ec->pd, sizeof(struct sc));
		return VIREO_NO_MEM;
	}
	sc->obj.type = OBJ_SC;
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
	sched_dequeue(sc);
	if (sc->ec) {
		struct ec *ec = sc->ec;
		ec->sc = NULL;
		sc->ec = NULL;
		pd_refund(ec->pd, sizeof(struct sc));
		obj_put(&ec->obj);
	}
	obj_live[OBJ_SC]--;
	slab_free(&sc_cache, sc);
}
