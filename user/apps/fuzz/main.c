/* SPDX-License-Identifier: MIT */
/*
 * Random system calls from a fixed seed: numbers (including invalid ones), selectors, CRDs and
 * pointers (kernel addresses, unmapped, misaligned, valid); portal calls and replies with random
 * UTCB contents between its own PDs; exception replies with bad registers; vCPU resumes with
 * random guest state (world.c, vm.c). The kernel must neither panic nor leak: after revoking
 * everything it created, the object and mapping-database counts must be back.
 * Its own code, stack and capabilities to itself are kept out of reach (those would only kill the
 * fuzzer, which proves nothing about the kernel).
 *
 * Command line: seed=N (default 12345), calls=N (default 20000), novm (no vCPU resumes), tamevm
 * (no guest state that starts a #DB or #AC delivery loop), verbose (one line per action).
 */
#include "fuzz.h"

#define SEL_LO FZ_SEL_LO /* clear of the event selectors 64..96 (its pager portal is at 78) */
#define SEL_SPAN FZ_SEL_SPAN
#define FUZZ_UTCB_VA 0x0000300000000000ull
#define LOW_PAGES FZ_LOW_PAGES
#define W_SLEEP 199 /* a semaphore nobody ups: the clock for calls/s */

uint64_t fz_rng;
bool fz_verbose;
static bool has_novm;
#define verbose fz_verbose

uint64_t fz_rnd(void)
{
	fz_rng ^= fz_rng >> 12;
	fz_rng ^= fz_rng << 25;
	fz_rng ^= fz_rng >> 27;
	return fz_rng * 0x2545f4914f6cdd1dull;
}

uint64_t fz_pick(uint64_t n)
{
	return fz_rnd() % n;
}

#define rnd fz_rnd
#define pick fz_pick

static uint64_t heap_pages;

uint64_t fz_rnd_sel(void)
{
	static const uint64_t odd[] = { 0, 1, 2, 4095, 4096, 1ull << 40, ~0ull };
	switch (pick(16)) {
	case 0:
		return odd[pick(7)];
	case 1:
		return W_PD + pick(W_PT + W_NH - W_PD); /* the world's objects */
	default:
		return SEL_LO + pick(SEL_SPAN);
	}
}
#define rnd_sel fz_rnd_sel

static uint64_t rnd_ptr(void)
{
	static const uint64_t odd[] = { 0,
					1,
					0xffffffff80200000ull,
					0xffff800000000000ull,
					0x00007ffffffff000ull,
					0x0000800000000000ull,
					TASK_INFO_VA,
					TASK_HEAP_VA - 8,
					~0ull };
	return pick(3) ? TASK_HEAP_VA + pick(heap_pages * 4096) : odd[pick(9)];
}

/* CRDs in the object range the fuzzer plays with, or in its heap; sometimes plain garbage. */
uint64_t fz_rnd_crd(void)
{
	switch (pick(4)) {
	case 0:
		return vireo_crd(CRD_OBJ, SEL_LO + pick(SEL_SPAN), (unsigned)pick(3),
				 (unsigned)pick(32));
	case 1: {
		unsigned order = (unsigned)pick(4);
		uint64_t base = (TASK_HEAP_VA >> 12) + (pick(heap_pages) & ~((1ull << order) - 1));
		return vireo_crd(CRD_MEM, base, order, (unsigned)pick(8));
	}
	case 2:
		return vireo_crd(CRD_IO, pick(65536), (unsigned)pick(17), 1);
	default:
		return rnd() & ~0x3ull; /* space 0: rejected */
	}
}

#define rnd_crd fz_rnd_crd

static __attribute__((noreturn)) void local_stub(uint64_t id)
{
	(void)id;
	sys_reply_wait();
}

static __attribute__((noreturn)) void global_stub(uint64_t arg)
{
	(void)arg;
	sys_ec_exit();
}

static uint64_t stacks[8][512] __attribute__((aligned(16)));

static void fuzz_create_ec(void)
{
	static unsigned next;
	struct vireo_ec_create a = {
		.ip = (uintptr_t)global_stub,
		.sp = (uintptr_t)&stacks[next % 8][512] - 8,
		.utcb = pick(4) ? FUZZ_UTCB_VA + 4096 * pick(256) : rnd_ptr(),
		.evt_base = rnd_sel(),
		.cpu = (uint32_t)pick(4),
		.flags = (uint32_t)pick(3),
	};
	next++;
	const struct vireo_ec_create *p = pick(8) ? &a : (const struct vireo_ec_create *)rnd_ptr();
	sys_create_ec(rnd_sel(), pick(2) ? SEL_SELF_PD : rnd_sel(), p);
}

void fz_syscall(void)
{
	unsigned nr = (unsigned)pick(SYS_COUNT + 3);
	switch (nr) {
	case SYS_EC_EXIT:
	case SYS_REPLY_WAIT:
		break; /* would end the fuzzer: not a kernel test */
	case SYS_DEBUG_WRITE:
		/* Length 0 or over the limit: the pointer checks run, nothing random reaches the console. */
		sys_debug_write((const char *)rnd_ptr(),
				pick(2) ? 0 : VIREO_DEBUG_WRITE_MAX + 1 + pick(1 << 20));
		break;
	case SYS_CALL:
		sys_call(rnd_sel());
		break;
	case SYS_CREATE_PD:
		sys_create_pd(rnd_sel(), pick(2) ? SEL_SELF_PD : rnd_sel(),
			      pick(3) ? pick(1 << 20) : rnd());
		break;
	case SYS_CREATE_EC:
		fuzz_create_ec();
		break;
	case SYS_CREATE_SC:
		sys_create_sc(rnd_sel(), SEL_SELF_PD, rnd_sel(), (unsigned)pick(40),
			      pick(4) ? 1 + pick(20000) : rnd());
		break;
	case SYS_CREATE_PT:
		sys_create_pt(rnd_sel(), SEL_SELF_PD, rnd_sel(), (uintptr_t)local_stub, rnd());
		break;
	case SYS_CREATE_SM:
		sys_create_sm(rnd_sel(), pick(2) ? SEL_SELF_PD : rnd_sel(), rnd());
		break;
	case SYS_PT_CTRL:
		sys_pt_ctrl(rnd_sel(), rnd());
		break;
	case SYS_SM_CTRL:
		/* Never wait long: a down with no up must time out quickly. */
		vireo_sys(SYS_SM_CTRL, rnd_sel(), pick(3), pick(2) ? 0 : 1 + pick(20000), 0, 0);
		break;
	case SYS_DELEGATE:
		/* Destinations stay below 4 MiB (under its own image), where the clean-up looks. */
		sys_delegate(pick(4) ? rnd_sel() : SEL_SELF_PD, rnd_crd(), pick(LOW_PAGES),
			     (unsigned)pick(3));
		break;
	case SYS_REVOKE:
		sys_revoke(rnd_crd(), (unsigned)pick(3));
		break;
	case SYS_LOOKUP:
		sys_lookup(rnd_crd(), NULL, NULL);
		break;
	case SYS_EC_CTRL:
		vireo_sys(SYS_EC_CTRL, rnd_sel(), pick(3), 0, 0, 0);
		break;
	default:
		vireo_sys(nr, rnd(), rnd(), rnd(), rnd(), rnd());
		break;
	}
}

static uint64_t count_caps(uint64_t first_page, uint64_t pages)
{
	uint64_t n = 0, last = ~0ull;
	for (uint64_t p = first_page; p < first_page + pages; p++) {
		uint64_t found = 0;
		sys_lookup(vireo_crd(CRD_MEM, p, 0, 0), &found, NULL);
		if (found && found != last) {
			n++;
			last = found;
		}
	}
	return n;
}

/* Memory capabilities of the fuzzer in its heap and in the low pages it may delegate to itself:
 * grants and self-revokes legitimately use some up, splits make more. */
static uint64_t own_mem_caps(void)
{
	return count_caps(TASK_HEAP_VA >> 12, heap_pages) + count_caps(1, LOW_PAGES - 1);
}

/* Revoke [first, end) of a space, self included, as naturally aligned power-of-two pieces. */
static void revoke_range(unsigned space, uint64_t first, uint64_t end)
{
	while (first < end) {
		unsigned order = 0;
		while (!((first >> order) & 1) && first + (2ull << order) <= end && order < 20) {
			order++;
		}
		sys_revoke(vireo_crd(space, first, order, 0), VIREO_REVOKE_SELF);
		first += 1ull << order;
	}
}

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* TSC ticks per millisecond, measured against a 200 ms semaphore timeout (10 ms ticks). */
static uint64_t tsc_rate(void)
{
	sys_create_sm(W_SLEEP, SEL_SELF_PD, 0);
	sys_sm_down(W_SLEEP, 10000); /* start on a tick */
	uint64_t t0 = rdtsc();
	sys_sm_down(W_SLEEP, 200000);
	uint64_t r = (rdtsc() - t0) / 200;
	return r ? r : 1;
}

static bool same(const struct vireo_kstat *a, const struct vireo_kstat *b, int64_t mem_lost)
{
	return a->pds == b->pds && a->ecs == b->ecs && a->scs == b->scs && a->pts == b->pts &&
	       a->sms == b->sms && (int64_t)a->mdb_nodes == (int64_t)b->mdb_nodes + mem_lost;
}

static void show(const char *when, const struct vireo_kstat *k)
{
	printf("fuzz: %s: %u PDs, %u ECs, %u SCs, %u portals, %u SMs, %u MDB nodes\n", when, k->pds,
	       k->ecs, k->scs, k->pts, k->sms, k->mdb_nodes);
}

int main(uintptr_t arg)
{
	const struct vireo_taskinfo *ti = (const struct vireo_taskinfo *)arg;
	const char *s = ti->cmdline;
	uint64_t seed = 12345, count = 20000;

	for (const char *p = s; *p; p++) {
		if (!strncmp(p, "seed=", 5)) {
			seed = 0;
			for (p += 5; *p >= '0' && *p <= '9'; p++) {
				seed = seed * 10 + (uint64_t)(*p - '0');
			}
			p--;
		} else if (!strncmp(p, "tamevm", 6)) {
			fz_vm_tame = true;
		} else if (!strncmp(p, "novm", 4)) {
			has_novm = true;
		} else if (!strncmp(p, "verbose", 7)) {
			verbose = true;
		} else if (!strncmp(p, "calls=", 6)) {
			count = 0;
			for (p += 6; *p >= '0' && *p <= '9'; p++) {
				count = count * 10 + (uint64_t)(*p - '0');
			}
			p--;
		}
	}
	fz_rng = seed ? seed : 1;
	heap_pages = ti->heap_size / 4096;
	struct vireo_kstat before, after;
	uint64_t mem_before = own_mem_caps();
	sys_kstat(&before);
	show("before", &before);
	uint64_t tsc_per_ms = tsc_rate();
	world_set_cpus(ti->cpus_online);
	world_init();
	bool vm = !has_novm && vm_init();
	printf("fuzz: seed %lu, %lu calls, %s\n", (unsigned long)seed, (unsigned long)count,
	       vm	  ? "with vCPU resumes"
	       : has_novm ? "no vCPU resumes (novm)"
			  : "no hardware virtualization: no vCPU resumes");
	uint64_t t0 = rdtsc(), n[4] = { 0 };
	for (uint64_t i = 0; i < count; i++) {
		if (i && i % 10000 == 0) {
			printf("fuzz: %lu calls\n", (unsigned long)i);
		}
		unsigned what = (unsigned)pick(100);
		if (verbose) {
			printf("fuzz: %lu: %u\n", (unsigned long)i, what);
		}
		if (what < 60) {
			fz_syscall();
			n[0]++;
		} else if (what < 85) {
			world_call();
			n[1]++;
		} else if (what < 95 || !vm) {
			world_exception();
			n[2]++;
		} else {
			vm_round();
			n[3]++;
		}
	}
	uint64_t ms = (rdtsc() - t0) / tsc_per_ms;
	printf("fuzz: %lu system calls, %lu portal calls, %lu exception rounds, %lu vCPU rounds in "
	       "%lu ms: %lu calls/s (%u waits)\n",
	       (unsigned long)n[0], (unsigned long)n[1], (unsigned long)n[2], (unsigned long)n[3],
	       (unsigned long)ms, (unsigned long)(ms ? count * 1000 / ms : 0), fz_waits);
	/* Take back everything it made: all it derived from its capabilities, every selector but the
	 * ones it was given, everything in the low pages; its heap itself stays. */
	sys_revoke(vireo_crd(CRD_OBJ, 0, 12, 0), 0);
	revoke_range(CRD_OBJ, 3,
		     TASK_EVT_BASE + EVT_PAGE_FAULT); /* keep the roottask's pager portal */
	revoke_range(CRD_OBJ, TASK_EVT_BASE + EVT_PAGE_FAULT + 1, 4096);
	sys_revoke(vireo_crd(CRD_MEM, TASK_HEAP_VA >> 12, 11, 0), 0);
	uint64_t mem_mid = own_mem_caps();
	revoke_range(CRD_MEM, 1, LOW_PAGES);
	sys_kstat(&after);
	uint64_t low_removed = mem_mid - own_mem_caps();
	int64_t heap_lost = (int64_t)mem_before - (int64_t)mem_mid + (int64_t)low_removed;
	show("after", &after);
	printf("fuzz: %ld own memory capabilities granted, revoked or split away\n",
	       (long)heap_lost);
	if (!same(&before, &after, heap_lost)) {
		for (uint64_t sel = 0; sel < 4096; sel++) {
			uint64_t found = 0;
			unsigned type = 0;
			sys_lookup(vireo_crd(CRD_OBJ, sel, 0, 0), &found, &type);
			if (found) {
				printf("fuzz: left: selector %lu holds an object of type %u\n",
				       (unsigned long)sel, type);
			}
		}
	}
	printf("fuzz: %lu random calls from seed %lu: %s\n", (unsigned long)count,
	       (unsigned long)seed, same(&before, &after, heap_lost) ? "no leaks" : "LEAK");
	return 0;
}
