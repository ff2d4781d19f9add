/* SPDX-License-Identifier: MIT */
/* Specification of the run queue: highest priority first, FIFO within a priority, round robin. */
#include <criterion/criterion.h>
#include <string.h>

#include "runq.h"
#include "sc.h"

#define MAX_PRIO (SC_PRIOS - 1)

static struct runq q;

static void setup(void)
{
	memset(&q, 0, sizeof(q));
}

TestSuite(runq, .init = setup);

/* ------------------------------------------------------------------ helpers */

static void sc_init(struct sc *sc, unsigned prio, unsigned quantum)
{
	memset(sc, 0, sizeof(*sc));
	sc->prio = prio;
	sc->quantum = quantum;
}

/* Priority `prio` holds exactly `want[0..n)`, in that order, with consistent links and flags. */
static void expect_prio(unsigned prio, struct sc *const *want, size_t n)
{
	struct sc *sc = q.head[prio];
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(sc, want[i], "prio %u position %zu", prio, i);
		cr_assert(sc->queued, "prio %u position %zu not marked queued", prio, i);
		cr_assert_eq(sc->prio, prio);
		if (i + 1 == n) {
			cr_assert_eq(q.tail[prio], sc, "prio %u tail is not the last SC", prio);
		}
		sc = sc->next;
	}
	cr_assert_null(sc, "prio %u holds more than %zu SCs", prio, n);
	if (n == 0) {
		cr_assert_null(q.tail[prio], "empty prio %u has a tail", prio);
	}
}

#define EXPECT_PRIO(prio, ...)                                                                     \
	do {                                                                                       \
		struct sc *want_[] = { __VA_ARGS__ };                                              \
		expect_prio(prio, want_, ARRAY_SIZE(want_));                                       \
	} while (0)

/* ------------------------------------------------------------------ rules */

Test(runq, pick_returns_highest_priority_head)
{
	struct sc low, mid, high, high2;
	sc_init(&low, 1, 5);
	sc_init(&mid, 7, 5);
	sc_init(&high, 20, 5);
	sc_init(&high2, 20, 5);
	cr_assert(runq_enqueue(&q, &low));
	cr_assert_eq(runq_pick(&q), &low);
	cr_assert(runq_enqueue(&q, &high));
	cr_assert(runq_enqueue(&q, &mid));
	cr_assert(runq_enqueue(&q, &high2));
	cr_assert_eq(runq_pick(&q), &high);
	/* Picking does not consume: the same head comes back until the queue changes. */
	cr_assert_eq(runq_pick(&q), &high);
	runq_dequeue(&q, &high);
	cr_assert_eq(runq_pick(&q), &high2);
	runq_dequeue(&q, &high2);
	cr_assert_eq(runq_pick(&q), &mid);
	runq_dequeue(&q, &mid);
	cr_assert_eq(runq_pick(&q), &low);
	cr_assert_not(runq_empty(&q));
}

Test(runq, same_priority_is_fifo)
{
	struct sc a, b, c;
	sc_init(&a, 3, 1);
	sc_init(&b, 3, 1);
	sc_init(&c, 3, 1);
	runq_enqueue(&q, &a);
	runq_enqueue(&q, &b);
	runq_enqueue(&q, &c);
	EXPECT_PRIO(3, &a, &b, &c);
	cr_assert_eq(runq_pick(&q), &a);
	runq_dequeue(&q, &a);
	cr_assert_eq(runq_pick(&q), &b);
	runq_enqueue(&q, &a);
	EXPECT_PRIO(3, &b, &c, &a);
}

Test(runq, rotate_moves_head_to_back_and_refreshes_quantum)
{
	struct sc a, b, c, other;
	sc_init(&a, 4, 10);
	sc_init(&b, 4, 20);
	sc_init(&c, 4, 30);
	sc_init(&other, 2, 7);
	runq_enqueue(&q, &a);
	runq_enqueue(&q, &b);
	runq_enqueue(&q, &c);
	runq_enqueue(&q, &other);
	a.left = 0;
	runq_rotate(&q, &a);
	EXPECT_PRIO(4, &b, &c, &a);
	EXPECT_PRIO(2, &other);
	cr_assert_eq(a.left, 10);
	cr_assert_eq(runq_pick(&q), &b);
	/* A full round brings the order back. */
	runq_rotate(&q, &b);
	runq_rotate(&q, &c);
	EXPECT_PRIO(4, &a, &b, &c);
}

Test(runq, rotate_of_a_non_head_only_refreshes)
{
	struct sc a, b, c;
	sc_init(&a, 4, 10);
	sc_init(&b, 4, 20);
	sc_init(&c, 4, 30);
	runq_enqueue(&q, &a);
	runq_enqueue(&q, &b);
	runq_enqueue(&q, &c);
	b.left = 3;
	runq_rotate(&q, &b);
	EXPECT_PRIO(4, &a, &b, &c);
	cr_assert_eq(b.left, 20);
	c.left = 0;
	runq_rotate(&q, &c);
	EXPECT_PRIO(4, &a, &b, &c);
	cr_assert_eq(c.left, 30);
}

Test(runq, rotate_of_a_lone_sc_keeps_it_and_refreshes)
{
	struct sc a, unqueued;
	sc_init(&a, 9, 12);
	sc_init(&unqueued, 9, 8);
	runq_enqueue(&q, &a);
	a.left = 0;
	runq_rotate(&q, &a);
	EXPECT_PRIO(9, &a);
	cr_assert_eq(a.left, 12);
	cr_assert_eq(runq_pick(&q), &a);
	/* An SC that is not queued stays out of the queue, but still gets its quantum back. */
	runq_rotate(&q, &unqueued);
	cr_assert_eq(unqueued.left, 8);
	cr_assert_not(unqueued.queued);
	EXPECT_PRIO(9, &a);
}

Test(runq, dequeue_from_middle_keeps_order)
{
	struct sc a, b, c, d;
	sc_init(&a, 6, 1);
	sc_init(&b, 6, 1);
	sc_init(&c, 6, 1);
	sc_init(&d, 6, 1);
	runq_enqueue(&q, &a);
	runq_enqueue(&q, &b);
	runq_enqueue(&q, &c);
	runq_enqueue(&q, &d);
	cr_assert(runq_dequeue(&q, &b));
	EXPECT_PRIO(6, &a, &c, &d);
	cr_assert_not(b.queued);
	cr_assert_null(b.next);
	cr_assert(runq_dequeue(&q, &c));
	EXPECT_PRIO(6, &a, &d);
	cr_assert(runq_dequeue(&q, &a));
	EXPECT_PRIO(6, &d);
	cr_assert(runq_dequeue(&q, &d));
	EXPECT_PRIO(6);
	cr_assert(runq_empty(&q));
}

Test(runq, dequeue_tail_updates_tail_so_later_enqueue_appends)
{
	struct sc a, b, c, d;
	sc_init(&a, 5, 1);
	sc_init(&b, 5, 1);
	sc_init(&c, 5, 1);
	sc_init(&d, 5, 1);
	runq_enqueue(&q, &a);
	runq_enqueue(&q, &b);
	runq_enqueue(&q, &c);
	runq_dequeue(&q, &c);
	cr_assert_eq(q.tail[5], &b);
	runq_enqueue(&q, &d);
	EXPECT_PRIO(5, &a, &b, &d);
	/* Emptying a priority through its tail leaves no stale tail behind either. */
	runq_dequeue(&q, &d);
	runq_dequeue(&q, &b);
	runq_dequeue(&q, &a);
	EXPECT_PRIO(5);
	runq_enqueue(&q, &c);
	EXPECT_PRIO(5, &c);
}

Test(runq, enqueue_twice_is_noop)
{
	struct sc a, b;
	sc_init(&a, 8, 1);
	sc_init(&b, 8, 1);
	cr_assert(runq_enqueue(&q, &a));
	cr_assert(runq_enqueue(&q, &b));
	cr_assert_not(runq_enqueue(&q, &a));
	EXPECT_PRIO(8, &a, &b);
	cr_assert_not(runq_enqueue(&q, &b));
	EXPECT_PRIO(8, &a, &b);
}

Test(runq, dequeue_unqueued_is_noop)
{
	struct sc a, b;
	sc_init(&a, 8, 1);
	sc_init(&b, 8, 1);
	cr_assert_not(runq_dequeue(&q, &b));
	runq_enqueue(&q, &a);
	cr_assert_not(runq_dequeue(&q, &b));
	EXPECT_PRIO(8, &a);
	cr_assert(runq_dequeue(&q, &a));
	cr_assert_not(runq_dequeue(&q, &a));
	EXPECT_PRIO(8);
}

Test(runq, empty_queue_picks_nothing)
{
	struct sc a;
	sc_init(&a, 0, 1);
	cr_assert(runq_empty(&q));
	cr_assert_null(runq_pick(&q));
	runq_enqueue(&q, &a);
	cr_assert_not(runq_empty(&q));
	runq_dequeue(&q, &a);
	cr_assert(runq_empty(&q));
	cr_assert_null(runq_pick(&q));
}

Test(runq, priorities_0_and_max_both_work)
{
	struct sc low, low2, high, high2;
	sc_init(&low, 0, 3);
	sc_init(&low2, 0, 3);
	sc_init(&high, MAX_PRIO, 4);
	sc_init(&high2, MAX_PRIO, 4);
	runq_enqueue(&q, &low);
	runq_enqueue(&q, &low2);
	cr_assert_eq(runq_pick(&q), &low);
	runq_enqueue(&q, &high);
	runq_enqueue(&q, &high2);
	cr_assert_eq(runq_pick(&q), &high);
	runq_rotate(&q, &high);
	EXPECT_PRIO(MAX_PRIO, &high2, &high);
	runq_rotate(&q, &low);
	EXPECT_PRIO(0, &low2, &low);
	runq_dequeue(&q, &high2);
	runq_dequeue(&q, &high);
	EXPECT_PRIO(MAX_PRIO);
	cr_assert_eq(runq_pick(&q), &low2);
}

/* ------------------------------------------------------------------ randomized, against a model */

#define NSC 48
#define NOPS 20000

/* The model: per priority, the SCs' indexes in queue order. */
static unsigned model[SC_PRIOS][NSC];
static size_t model_len[SC_PRIOS];
static struct sc scs[NSC];
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static unsigned rnd(unsigned n)
{
	/* xorshift64: a fixed seed gives the same run every time, on every host. */
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static long model_find(unsigned i)
{
	unsigned p = scs[i].prio;
	for (size_t k = 0; k < model_len[p]; k++) {
		if (model[p][k] == i) {
			return (long)k;
		}
	}
	return -1;
}

static void model_remove_at(unsigned p, size_t k)
{
	memmove(&model[p][k], &model[p][k + 1], (model_len[p] - k - 1) * sizeof(model[p][0]));
	model_len[p]--;
}

static struct sc *model_pick(void)
{
	for (int p = SC_PRIOS - 1; p >= 0; p--) {
		if (model_len[p]) {
			return &scs[model[p][0]];
		}
	}
	return NULL;
}

static void check_against_model(unsigned step)
{
	bool in_model[NSC] = { false };
	for (unsigned p = 0; p < SC_PRIOS; p++) {
		struct sc *want[NSC];
		for (size_t k = 0; k < model_len[p]; k++) {
			want[k] = &scs[model[p][k]];
			in_model[model[p][k]] = true;
		}
		expect_prio(p, want, model_len[p]);
	}
	for (unsigned i = 0; i < NSC; i++) {
		cr_assert_eq(scs[i].queued, in_model[i], "step %u: SC %u queued flag wrong", step,
			     i);
	}
	cr_assert_eq(runq_pick(&q), model_pick(), "step %u: pick differs", step);
	cr_assert_eq(runq_empty(&q), model_pick() == NULL, "step %u: empty differs", step);
}

Test(runq, random_operations_match_a_shadow_model)
{
	/* Crowd a few priorities, including both ends, so queues get long and rotate often moves. */
	static const unsigned prios[] = { 0, 0, 1, 5, 5, 5, 16, MAX_PRIO, MAX_PRIO };
	for (unsigned i = 0; i < NSC; i++) {
		unsigned prio = i % 4 == 3 ? rnd(SC_PRIOS) : prios[rnd(ARRAY_SIZE(prios))];
		sc_init(&scs[i], prio, 1 + rnd(100));
		scs[i].left = rnd(scs[i].quantum + 1);
	}
	memset(model_len, 0, sizeof(model_len));
	unsigned moved = 0, enq = 0, deq = 0;

	for (unsigned step = 0; step < NOPS; step++) {
		unsigned i = rnd(NSC);
		struct sc *sc = &scs[i];
		unsigned p = sc->prio;
		long k = model_find(i);
		switch (rnd(5)) {
		case 0:
		case 1:
			cr_assert_eq(runq_enqueue(&q, sc), k < 0, "step %u", step);
			if (k < 0) {
				model[p][model_len[p]++] = i;
				enq++;
			}
			break;
		case 2:
			cr_assert_eq(runq_dequeue(&q, sc), k >= 0, "step %u", step);
			if (k >= 0) {
				model_remove_at(p, (size_t)k);
				deq++;
			}
			break;
		case 3:
			/* Usually rotate what would run, as the scheduler does; sometimes any SC. */
			if (rnd(4) && model_pick()) {
				sc = model_pick();
				i = (unsigned)(sc - scs);
				p = sc->prio;
				k = model_find(i);
			}
			sc->left = rnd(sc->quantum + 1);
			runq_rotate(&q, sc);
			cr_assert_eq(sc->left, sc->quantum, "step %u: quantum not refreshed", step);
			if (k == 0 && model_len[p] > 1) {
				model_remove_at(p, 0);
				model[p][model_len[p]++] = i;
				moved++;
			}
			break;
		default:
			cr_assert_eq(runq_pick(&q), model_pick(), "step %u", step);
			break;
		}
		check_against_model(step);
	}
	/* The run must actually have exercised every path, not idled on an empty queue. */
	cr_assert_gt(moved, 100);
	cr_assert_gt(enq, 1000);
	cr_assert_gt(deq, 1000);
}
