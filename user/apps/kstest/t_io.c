/* SPDX-License-Identifier: MIT */
/* kstest: interrupts delivered to a user driver's semaphore, and the I/O-port space. */
#include "kstest.h"

/* 16550 UART registers (offsets from the base port). */
#define UART_IER 1
#define UART_IIR 2
#define UART_MCR 4
#define UART_SCR 7
#define UART_IER_THRE 0x02
#define UART_MCR_DTR_RTS_OUT2 0x0b

static int need_ports(unsigned count)
{
	if (!kt_ti || kt_ti->io_port_count < count) {
		return kt_skip("needs %u I/O ports delegated (ports=0x3f8:8), have %u", count,
			       kt_ti ? kt_ti->io_port_count : 0);
	}
	return KT_PASS;
}

#define NEED_PORTS(n)                                                                              \
	do {                                                                                       \
		int r_ = need_ports(n);                                                            \
		if (r_ != KT_PASS) {                                                               \
			return r_;                                                                 \
		}                                                                                  \
	} while (0)

static int t_irq_delivered_to_user_semaphore(void)
{
	NEED_PORTS(8);
	if (kt_ti->irq_gsi < 0) {
		return kt_skip("no interrupt bound (irq=N on the command line)");
	}
	unsigned type = 0;
	EXPECT(kt_lookup_obj(SEL_TASK_IRQ_SM, &type) && type == OBJ_SM,
	       "irq_gsi is %d but selector %u holds no semaphore (type %u)", kt_ti->irq_gsi,
	       SEL_TASK_IRQ_SM, type);
	uint16_t base = (uint16_t)kt_ti->io_port_base;
	uint8_t ier = kt_inb(base + UART_IER), mcr = kt_inb(base + UART_MCR);
	for (int round = 0; round < 3; round++) {
		/* Nothing pending: with THRE interrupts off the line stays quiet. */
		kt_outb(base + UART_IER, 0);
		kt_inb(base + UART_IIR);
		for (int i = 0; i < 1000 && sys_sm_down(SEL_TASK_IRQ_SM, 0) == VIREO_OK; i++) {
		}
		enum vireo_status quiet = sys_sm_down(SEL_TASK_IRQ_SM, 0);
		/* The PC routes the UART's interrupt through OUT2; THR empty raises it at once. */
		kt_outb(base + UART_MCR, UART_MCR_DTR_RTS_OUT2);
		kt_outb(base + UART_IER, UART_IER_THRE);
		enum vireo_status st = sys_sm_down(SEL_TASK_IRQ_SM, 1000000);
		kt_outb(base + UART_IER, ier);
		kt_inb(base + UART_IIR);
		kt_outb(base + UART_MCR, mcr);
		EXPECT(quiet == VIREO_TIMEOUT,
		       "round %d: the interrupt semaphore was up before we enabled the interrupt",
		       round);
		EXPECT(st == VIREO_OK,
		       "round %d: no interrupt within 1 s of enabling the UART's THRE interrupt "
		       "(%s)",
		       round, kt_st(st));
	}
	for (int i = 0; i < 1000 && sys_sm_down(SEL_TASK_IRQ_SM, 0) == VIREO_OK; i++) {
	}
	return KT_PASS;
}

static int t_undelegated_port_faults_with_gp(void)
{
	struct env e;
	uint64_t evt, done, hec, ec;
	static const uint16_t ports[] = { 0x80, 0x60, 0xcf8 };
	int r = kt_exc_env(&e, 0, &evt, &done, &hec);
	if (r != KT_PASS) {
		return r;
	}
	EXPECT_OK(env_exc_portal(&e, hec, evt, 13, MTD_ALL));
	kt_exc_resume = (uintptr_t)kt_signal_exit;
	for (unsigned i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		EXPECT_OK(env_thread(&e, (uintptr_t)kt_inb_body, ports[i],
				     i & 1 && kt_cpus > 1 ? 1 : 0, evt, &ec, NULL));
		enum vireo_status st = kt_wait(done, 2000);
		EXPECT(st == VIREO_OK, "port 0x%x: the EC did not come back (%s)", ports[i],
		       kt_st(st));
		EXPECT(kt_exc_count == i + 1,
		       "inb from port 0x%x did not fault (%u exceptions so far)", ports[i],
		       kt_exc_count);
		EXPECT_EQ(kt_exc_rec[i].st.vector, 13);
		EXPECT_EQ(kt_exc_rec[i].st.rip, (uintptr_t)kt_inb_insn);
	}
	return KT_PASS;
}

/* The capability covering `port` in our I/O space (0 if none). */
static uint64_t lookup_port(unsigned port)
{
	uint64_t found = 0;
	sys_lookup(vireo_crd(CRD_IO, port, 0, 0), &found, NULL);
	return found;
}

static int t_port_access_crossing_delegated_range_faults(void)
{
	struct env e;
	uint64_t evt, done, hec, ec;
	NEED_PORTS(1);
	unsigned last = kt_ti->io_port_base + kt_ti->io_port_count - 1;
	uint64_t cap = lookup_port(last);
	EXPECT(cap, "no capability for our port 0x%x", last);
	if (lookup_port(last + 1)) {
		return kt_skip("port 0x%x after our range is delegated to us too", last + 1);
	}
	int r = kt_exc_env(&e, 0, &evt, &done, &hec);
	if (r != KT_PASS) {
		return r;
	}
	if (!e.own) {
		EXPECT_OK(sys_delegate(e.pd, cap, vireo_crd_base(cap), 0));
	}
	EXPECT_OK(env_exc_portal(&e, hec, evt, 13, MTD_ALL));
	kt_exc_resume = (uintptr_t)kt_signal_exit;
	/* One byte at the last port of the range is fine... */
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_inb_body, last, 0, evt, &ec, NULL));
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT(kt_exc_count == 0, "inb from delegated port 0x%x faulted (vector %lu)", last,
	       (unsigned long)kt_exc_rec[0].st.vector);
	/* ...two bytes from there reach the next port, which is not ours. */
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_inw_body, last, 0, evt, &ec, NULL));
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT(kt_exc_count == 1,
	       "inw from port 0x%x (the next port is not delegated) did not fault", last);
	EXPECT_EQ(kt_exc_rec[0].st.vector, 13);
	EXPECT_EQ(kt_exc_rec[0].st.rip, (uintptr_t)kt_inw_insn);
	return KT_PASS;
}

static struct kt_loop io_loop;
static volatile uint64_t io_count_at_fault;

static void act_note_io_count(struct vireo_utcb *u, uint64_t id, unsigned n)
{
	(void)u;
	(void)id;
	(void)n;
	io_count_at_fault = io_loop.count;
}

static int t_delegated_port_works_until_revoked(void)
{
	struct env e;
	uint64_t evt, done, hec, ec;
	NEED_PORTS(8);
	unsigned port = kt_ti->io_port_base + UART_SCR;
	if (!lookup_port(port)) {
		return kt_skip("port 0x%x not delegated to us", port);
	}
	int r = kt_exc_env(&e, 0, &evt, &done, &hec);
	if (r != KT_PASS) {
		return r;
	}
	if (e.own) {
		return kt_skip("with ownpd the test ECs share our ports: nothing to take away");
	}
	/* The scratch register reads back what we write. */
	kt_outb((uint16_t)port, 0x5c);
	EXPECT_OK(sys_delegate(e.pd, vireo_crd(CRD_IO, port, 0, IO_RW), port, 0));
	EXPECT_OK(env_exc_portal(&e, hec, evt, 13, MTD_ALL));
	kt_exc_resume = (uintptr_t)kt_signal_exit;
	kt_exc_action = act_note_io_count;
	memset((void *)&io_loop, 0, sizeof(io_loop));
	io_loop.addr = port;
	EXPECT_OK(env_thread(&e, (uintptr_t)kt_in_loop_body, (uintptr_t)&io_loop,
			     kt_cpus > 1 ? 1 : 0, evt, &ec, NULL));
	for (int i = 0; i < 200 && io_loop.count < 100; i++) {
		kt_sleep(10);
	}
	EXPECT(io_loop.count >= 100, "the EC reading port 0x%x made only %lu reads (%u exceptions)",
	       port, (unsigned long)io_loop.count, kt_exc_count);
	EXPECT_EQ(io_loop.last & 0xff, 0x5c);
	EXPECT_OK(sys_revoke(vireo_crd(CRD_IO, port, 0, IO_RW), 0));
	uint64_t after_revoke = io_loop.count;
	EXPECT_OK(kt_wait(done, 2000));
	EXPECT_EQ(kt_exc_count, 1);
	EXPECT_EQ(kt_exc_rec[0].st.vector, 13);
	EXPECT_EQ(kt_exc_rec[0].st.rip, (uintptr_t)kt_in_loop_insn);
	EXPECT(io_count_at_fault <= after_revoke + 1,
	       "the EC read the port %lu more times after revoke returned: a stale I/O bitmap "
	       "survived",
	       (unsigned long)(io_count_at_fault - after_revoke));
	EXPECT(lookup_port(port), "revoke without SELF took our own port");
	EXPECT_EQ(kt_inb((uint16_t)port), 0x5c);
	return KT_PASS;
}

/*
 * One semaphore bound to two lines (irq=N,M: N then M), then destroyed: neither line may still
 * point at it. A new semaphore takes its place in kernel memory; an interrupt on the first line
 * must not up it (nor touch freed memory).
 */
static int t_sm_on_two_gsis_destroyed_leaves_no_line_pointing_at_it(void)
{
	NEED_PORTS(8);
	if (kt_ti->irq_gsi < 0 || kt_ti->irq_gsi2 < 0) {
		return kt_skip(
			"needs one semaphore on two interrupts (irq=N,M on the command line)");
	}
	EXPECT_OK(
		sys_revoke(vireo_crd(CRD_OBJ, SEL_TASK_IRQ_SM, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
	kt_sm_extra--; /* it was the only capability: the semaphore is gone for good */
	kt_mdb_extra--;
	unsigned type = 0;
	EXPECT(!kt_lookup_obj(SEL_TASK_IRQ_SM, &type), "the interrupt semaphore is still there");
	uint64_t sms[8];
	for (unsigned i = 0; i < 8; i++) {
		EXPECT_OK(kt_new_sm(&sms[i], 0));
	}
	uint16_t base = (uint16_t)kt_ti->io_port_base;
	uint8_t ier = kt_inb(base + UART_IER), mcr = kt_inb(base + UART_MCR);
	for (int round = 0; round < 3; round++) {
		kt_outb(base + UART_MCR, UART_MCR_DTR_RTS_OUT2);
		kt_outb(base + UART_IER, UART_IER_THRE);
		kt_sleep(30);
		kt_outb(base + UART_IER, 0);
		kt_inb(base + UART_IIR);
	}
	kt_outb(base + UART_IER, ier);
	kt_outb(base + UART_MCR, mcr);
	for (unsigned i = 0; i < 8; i++) {
		EXPECT(sys_sm_down(sms[i], 0) == VIREO_TIMEOUT,
		       "semaphore %u, created after the interrupt semaphore died, was upped by "
		       "GSI %d",
		       i, kt_ti->irq_gsi);
	}
	return KT_PASS;
}

const struct kt_test kt_io_tests[] = {
	{ "undelegated_port_faults_with_gp", t_undelegated_port_faults_with_gp },
	{ "port_access_crossing_delegated_range_faults",
	  t_port_access_crossing_delegated_range_faults },
	{ "delegated_port_works_until_revoked", t_delegated_port_works_until_revoked },
	{ "irq_delivered_to_user_semaphore", t_irq_delivered_to_user_semaphore },
	/* Destroys the interrupt semaphore: last. */
	{ "sm_on_two_gsis_destroyed_leaves_no_line_pointing_at_it",
	  t_sm_on_two_gsis_destroyed_leaves_no_line_pointing_at_it },
	{ NULL, NULL },
};
