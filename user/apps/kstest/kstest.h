/* SPDX-License-Identifier: MIT */
/* kstest: the in-system kernel test suite's framework, test environments and shared helpers. */
#ifndef KSTEST_H
#define KSTEST_H

#include "kstest_asm.h"
#include "taskinfo.h"
#include "vireo.h"

/* ---------------------------------------------------------------- framework */

enum kt_result { KT_PASS, KT_FAIL, KT_SKIP };

struct kt_test {
	const char *name;
	int (*fn)(void);
};

/* The test groups, each ended by { NULL, NULL }, run in this order by main.c. */
extern const struct kt_test kt_basic_tests[];
extern const struct kt_test kt_cap_tests[];
extern const struct kt_test kt_ipc_tests[];
extern const struct kt_test kt_sm_tests[];
extern const struct kt_test kt_exc_tests[];
extern const struct kt_test kt_mem_tests[];
extern const struct kt_test kt_io_tests[];
extern const struct kt_test kt_late_tests[];
extern const struct kt_test kt_final_tests[];

/* Record why the running test failed or is skipped; return the result to hand back. */
__attribute__((format(printf, 3, 4))) int kt_fail(const char *file, int line, const char *fmt, ...);
#ifdef __FILE_NAME__
#define KT_FILE __FILE_NAME__
#else
#define KT_FILE __FILE__
#endif
/* Fail the running test with a message (file and line are appended). */
#define FAIL(...) kt_fail(KT_FILE, __LINE__, __VA_ARGS__)
__attribute__((format(printf, 1, 2))) int kt_skip(const char *fmt, ...);
/* Name of a status code ("OK", "BAD_CAP", ...). */
const char *kt_st(long st);

#define EXPECT_ST(expr, want)                                                                      \
	do {                                                                                       \
		long kt_s_ = (long)(expr), kt_w_ = (long)(want);                                   \
		if (kt_s_ != kt_w_) {                                                              \
			return FAIL("%s returned %s, expected %s", #expr, kt_st(kt_s_),            \
				    kt_st(kt_w_));                                                 \
		}                                                                                  \
	} while (0)
#define EXPECT_OK(expr) EXPECT_ST(expr, VIREO_OK)
#define EXPECT_EQ(actual, expected)                                                                \
	do {                                                                                       \
		uint64_t kt_a_ = (uint64_t)(actual), kt_e_ = (uint64_t)(expected);                 \
		if (kt_a_ != kt_e_) {                                                              \
			return FAIL("%s is 0x%lx, expected 0x%lx (%s)", #actual,                   \
				    (unsigned long)kt_a_, (unsigned long)kt_e_, #expected);        \
		}                                                                                  \
	} while (0)
#define EXPECT(cond, ...)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			return FAIL(__VA_ARGS__);                                                  \
		}                                                                                  \
	} while (0)

/* ---------------------------------------------------------------- the task */

extern const struct vireo_taskinfo *kt_ti; /* valid or NULL */
extern unsigned kt_cpus;		   /* CPUs online (1 if unknown) */
extern uint64_t kt_heap_size, kt_demand_size, kt_quota;
extern bool kt_own_mode;      /* "ownpd" on the command line: test ECs live in kstest's own PD */
extern unsigned kt_mdb_extra; /* MDB nodes left on purpose (demand-paged pages); tests add to it */
extern unsigned kt_sm_extra;  /* semaphores gone on purpose (unsigned: -1 is one fewer) */
#define KT_UTCB ((struct vireo_utcb *)TASK_UTCB_VA)

/* Selectors in kstest's object space. */
#define KT_SEL_SLEEP 40 /* a semaphore nobody ups: sleeping is a down with a timeout */
#define KT_SEL_SPARE 41 /* free: tests that need a known-empty selector */
/* Everything a test creates lives in the test block; the runner revokes it after each test. */
#define KT_BLOCK_BASE 512
#define KT_BLOCK_ORDER 9
#define KT_OBJ_END 704	    /* objects from kt_sel(): 512 .. 703 */
#define KT_WIN_BASE 704	    /* 704 .. 767: receive windows and delegation targets */
#define KT_OWN_EVT_BASE 768 /* own mode: event-portal blocks 768, 832, 896, 960 */
#define KT_NONE UINT64_MAX

/* Addresses in kstest's address space (and in sandbox PDs). */
#define KT_UTCB_AREA (TASK_FREE_VA + 0x01000000ull)  /* UTCBs, one page each, never reused */
#define KT_MAP_AREA (TASK_FREE_VA + 0x10000000ull)   /* delegation targets */
#define KT_FAULT_AREA (TASK_FREE_VA + 0x20000000ull) /* addresses tests fault on */

/* A fresh selector in the test block (KT_SEL_SPARE-like empty selector when exhausted). */
uint64_t kt_sel(void);
/* A fresh selector in the test block with `n` (a power of two) free, aligned selectors. */
uint64_t kt_sel_aligned(unsigned n);
/* A page-aligned address for a new UTCB. */
uint64_t kt_utcb_va(void);
/* A fresh stack; returns its top minus 8 (the SP a new EC gets), also kept in kt_last_stack. */
uint64_t kt_stack(void);
extern uint64_t kt_last_stack;
/* Heap page `i` of the task (tests own distinct pages), or 0 if the heap is smaller. */
uint64_t kt_heap_page(unsigned i);

/* Sleep `ms` milliseconds (a semaphore down that times out). */
void kt_sleep(unsigned ms);
/* Down `sm` with a timeout in milliseconds. */
enum vireo_status kt_wait(uint64_t sm, unsigned ms);
/* A semaphore in kstest's PD with `count` at a fresh selector. */
enum vireo_status kt_new_sm(uint64_t *sel, uint64_t count);
/* A copy of capability `sel` at a fresh selector with only `rights`. */
enum vireo_status kt_copy(uint64_t sel, unsigned rights, uint64_t *copy);
/* Capability lookup helpers: the CRD covering `sel` (0 if none) and its object type. */
uint64_t kt_lookup_obj(uint64_t sel, unsigned *type);
uint64_t kt_lookup_mem(uint64_t va);

static inline uint64_t kt_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* Initial APIC ID of the CPU this runs on (CPUID leaf 1). */
static inline unsigned kt_apic_id(void)
{
	uint32_t a = 1, b, c = 0, d;
	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	return b >> 24;
}

static inline void kt_outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t kt_inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* ---------------------------------------------------------------- environments */

/*
 * Where a test's ECs live. By default a sandbox: a fresh child PD that sees kstest's whole program
 * image (text, data, bss: the same physical pages at the same addresses, so globals are shared)
 * and nothing else; its object space gets exactly the capabilities the test delegates into it.
 * With "ownpd" on the command line (or ENV_OWN) the ECs live in kstest's own PD instead.
 */
enum env_kind { ENV_DEFAULT, ENV_SANDBOX, ENV_OWN };

struct env {
	uint64_t pd;   /* selector of the PD in kstest's space */
	bool own;      /* pd is SEL_SELF_PD */
	unsigned nevt; /* event blocks handed out */
};

#define KT_ENV_QUOTA (256 * 1024)
#define KT_PRIO 1
#define KT_QUANTUM_US 10000

enum vireo_status env_open(struct env *e, enum env_kind kind);
/* A local EC (portal handler) on `cpu`; its UTCB address in *utcb. */
enum vireo_status env_local_ec(struct env *e, unsigned cpu, uint64_t evt_base, uint64_t *sel,
			       uint64_t *utcb);
/* A global EC starting at `ip` with RDI = arg, without an SC (it does not run yet). */
enum vireo_status env_global_ec(struct env *e, uintptr_t ip, uint64_t arg, unsigned cpu,
				uint64_t evt_base, uint64_t *sel, uint64_t *utcb);
/* Bind an SC (KT_PRIO) to a global EC: it starts. */
enum vireo_status env_sc(struct env *e, uint64_t ec, uint64_t *sc);
/* env_global_ec + env_sc. */
enum vireo_status env_thread(struct env *e, uintptr_t ip, uint64_t arg, unsigned cpu,
			     uint64_t evt_base, uint64_t *ec, uint64_t *sc);
/* A portal to local EC `ec` at `ip` with `mtd`; id set with PT_CTRL unless 0. */
enum vireo_status env_portal(struct env *e, uint64_t ec, uintptr_t ip, uint64_t mtd, uint64_t id,
			     uint64_t *pt);
/* Put a copy of kstest's capability `sel` (all its rights) at `dst` in the environment's space. */
enum vireo_status env_install(struct env *e, uint64_t sel, uint64_t dst);
/* Make `sel` usable under the same number by the environment's ECs. */
enum vireo_status env_share(struct env *e, uint64_t sel);
/* Make kstest's page at `va` visible at the same address to the environment (sandbox only). */
enum vireo_status env_share_mem(struct env *e, uint64_t va, unsigned rights);
/* A fresh event base (33 selectors) in the environment's space. */
uint64_t env_evt_block(struct env *e);

/* ---------------------------------------------------------------- exception handling */

/* What kt_exc_handler saw: portal id, MTD and state of each exception IPC. */
struct kt_exc_rec {
	uint64_t id;
	uint64_t mtd;
	struct vireo_exc_state st;
};
#define KT_EXC_MAX 8
typedef void (*kt_exc_action_fn)(struct vireo_utcb *u, uint64_t id, unsigned n);

extern volatile unsigned kt_exc_count;
extern struct kt_exc_rec kt_exc_rec[KT_EXC_MAX];
extern kt_exc_action_fn volatile kt_exc_action; /* custom reply, NULL: none */
extern volatile uint64_t kt_exc_resume;		/* nonzero: reply with RIP = this */
extern volatile uint64_t kt_exc_done; /* semaphore to up after each exception, or KT_NONE */
/* The bodies' results (asm.S) and their "done" semaphore. */
extern struct vireo_exc_state kt_exc_out;
extern volatile uint64_t kt_done_sel;

/*
 * A local EC on `cpu` running kt_exc_handler: records each exception in kt_exc_rec, replies with
 * kt_exc_resume / kt_exc_action, ups kt_exc_done. Resets the records.
 */
enum vireo_status env_exc_handler(struct env *e, unsigned cpu, uint64_t *ec);
/*
 * The usual set-up of an exception test: a default environment, a "done" semaphore shared with it
 * (also in kt_done_sel, which kt_signal_exit ups), an exception handler EC on `handler_cpu` and a
 * fresh event block for the EC under test. Returns KT_PASS or the failure.
 */
int kt_exc_env(struct env *e, unsigned handler_cpu, uint64_t *evt, uint64_t *done, uint64_t *hec);
/* A portal to handler `ec` for `vector` with `mtd` (id = vector) installed at evt + vector. */
enum vireo_status env_exc_portal(struct env *e, uint64_t ec, uint64_t evt, unsigned vector,
				 uint64_t mtd);
/* The same, with the portal's selector (in kstest's space) in *pt. */
enum vireo_status env_exc_portal_sel(struct env *e, uint64_t ec, uint64_t evt, unsigned vector,
				     uint64_t mtd, uint64_t *pt);

/* The shared block of kt_spin_body / kt_read_body. */
struct kt_loop {
	volatile uint64_t addr, count, last, stop;
};

/* Set by the runner before it cleans up: looping test ECs end. */
extern volatile uint64_t kt_stop;

/* Assembly bodies (asm.S). */
extern char kt_exit_stub[], kt_signal_exit[];
extern char kt_gprs_body[], kt_gprs_insn[], kt_gprs_resume[];
extern char kt_int3_body[], kt_int3_after[];
extern char kt_ud2_ret_insn[], kt_ud2_ret_after[];
void kt_ud2_ret(void);
extern char kt_cli_body[], kt_cli_insn[], kt_cli_after[];
extern char kt_div0_body[], kt_div0_insn[], kt_div0_after[];
extern char kt_load_body[], kt_load_insn[], kt_load_after[];
extern char kt_store_body[], kt_store_insn[], kt_store_after[];
extern char kt_spin_body[], kt_spin_end[];
extern char kt_read_body[], kt_read_insn[];
extern char kt_inb_body[], kt_inb_insn[];
extern char kt_in_loop_body[], kt_in_loop_insn[];
extern char kt_inw_body[], kt_inw_insn[];

/* Runner internals (env.c). */
void kt_env_init(void);
void kt_cleanup(void);
/* Checks whether the program image could be enumerated for sandboxes (0: ok). */
int kt_image_pages(void);

#endif
