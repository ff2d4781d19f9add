/* SPDX-License-Identifier: MIT */
/* A first portal round trip inside the roottask: proves call, reply and message transfer. */
#include "roottask.h"

#define SMOKE_UTCB 0x00007fffc0000000ull
#define SEL_SMOKE_EC 40
#define SEL_SMOKE_PT 41

static uint64_t handler_stack[512] __attribute__((aligned(16)));

static void smoke_handler(uint64_t id)
{
	struct vireo_utcb *u = (struct vireo_utcb *)SMOKE_UTCB;
	u->mr[0] = u->mr[0] + id;
	u->untyped = 1;
	sys_reply_wait();
}

int smoke_ipc(struct vireo_utcb *self)
{
	struct vireo_ec_create a = {
		.sp = (uintptr_t)&handler_stack[512] - 8,
		.utcb = SMOKE_UTCB,
		.cpu = 0,
		.flags = VIREO_EC_LOCAL,
	};
	enum vireo_status st = sys_create_ec(SEL_SMOKE_EC, SEL_SELF_PD, &a);
	if (st == VIREO_OK) {
		st = sys_create_pt(SEL_SMOKE_PT, SEL_SELF_PD, SEL_SMOKE_EC,
				   (uintptr_t)smoke_handler, 0);
	}
	if (st == VIREO_OK) {
		st = sys_pt_ctrl(SEL_SMOKE_PT, 1);
	}
	self->mr[0] = 41;
	self->untyped = 1;
	if (st == VIREO_OK) {
		st = sys_call(SEL_SMOKE_PT);
	}
	printf("roottask: portal call -> status %d, reply %lu (%s)\n", st,
	       (unsigned long)self->mr[0],
	       st == VIREO_OK && self->mr[0] == 42 ? "ok" : "UNEXPECTED");
	return st == VIREO_OK && self->mr[0] == 42 ? 0 : -1;
}
