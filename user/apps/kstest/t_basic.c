/* SPDX-License-Identifier: MIT */
/* kstest: system call numbers, user pointers and argument checks that need no second EC. */
#include "kstest.h"

#define KERNEL_PTR 0xffffffff80200000ull
#define PHYSMAP_PTR 0xffff800000000000ull
#define NONCANONICAL_PTR 0x0000800000000000ull
#define NEVER_MAPPED (TASK_FREE_VA + 0x30000000ull)

static int t_unknown_syscall_is_bad_sys(void)
{
	EXPECT_ST(vireo_sys(200, 0, 0, 0, 0, 0), VIREO_BAD_SYS);
	EXPECT_ST(vireo_sys(SYS_COUNT, 0, 0, 0, 0, 0), VIREO_BAD_SYS);
	EXPECT_ST(vireo_sys(-1, 0, 0, 0, 0, 0), VIREO_BAD_SYS);
	/* The number is not truncated to 32 bits: this is not SYS_KSTAT. */
	struct vireo_kstat k;
	EXPECT_ST(vireo_sys((long)(0x100000000ull + SYS_KSTAT), (uintptr_t)&k, 0, 0, 0, 0),
		  VIREO_BAD_SYS);
	EXPECT_OK(sys_kstat(&k));
	return KT_PASS;
}

static int t_debug_write_empty_is_ok(void)
{
	EXPECT_OK(sys_debug_write("", 0));
	return KT_PASS;
}

static int t_debug_write_over_4096_bytes_is_bad_par(void)
{
	static char buf[VIREO_DEBUG_WRITE_MAX + 1];
	EXPECT_ST(sys_debug_write(buf, VIREO_DEBUG_WRITE_MAX + 1), VIREO_BAD_PAR);
	EXPECT_ST(sys_debug_write(buf, UINT64_MAX), VIREO_BAD_PAR);
	return KT_PASS;
}

static int t_debug_write_kernel_pointer_is_bad_par(void)
{
	EXPECT_ST(sys_debug_write((const char *)KERNEL_PTR, 16), VIREO_BAD_PAR);
	EXPECT_ST(sys_debug_write((const char *)PHYSMAP_PTR, 16), VIREO_BAD_PAR);
	EXPECT_ST(sys_debug_write((const char *)0xfffffffffffff000ull, 16), VIREO_BAD_PAR);
	struct vireo_kstat k;
	EXPECT_OK(sys_kstat(&k)); /* still alive */
	return KT_PASS;
}

static int t_debug_write_unmapped_pointer_is_bad_par(void)
{
	EXPECT_ST(sys_debug_write((const char *)NEVER_MAPPED, 16), VIREO_BAD_PAR);
	EXPECT_ST(sys_debug_write(NULL, 16), VIREO_BAD_PAR);
	EXPECT_ST(sys_debug_write((const char *)NONCANONICAL_PTR, 16), VIREO_BAD_PAR);
	EXPECT_ST(sys_debug_write((const char *)(NONCANONICAL_PTR - 8), 16), VIREO_BAD_PAR);
	return KT_PASS;
}

static int t_debug_write_buffer_running_into_unmapped_page_is_bad_par(void)
{
	/* The last 8 bytes of the stack are mapped, the page above it is not. */
	EXPECT_ST(sys_debug_write((const char *)(TASK_STACK_TOP - 8), 16), VIREO_BAD_PAR);
	/* Wrap-around of pointer + length. */
	EXPECT_ST(sys_debug_write((const char *)0xffffffffffffff00ull, 0x200), VIREO_BAD_PAR);
	return KT_PASS;
}

static int t_create_ec_bad_argument_pointer_is_bad_par(void)
{
	uint64_t dst = kt_sel();
	EXPECT_ST(sys_create_ec(dst, SEL_SELF_PD, (const struct vireo_ec_create *)KERNEL_PTR),
		  VIREO_BAD_PAR);
	EXPECT_ST(sys_create_ec(dst, SEL_SELF_PD, (const struct vireo_ec_create *)NEVER_MAPPED),
		  VIREO_BAD_PAR);
	EXPECT_ST(sys_create_ec(dst, SEL_SELF_PD, NULL), VIREO_BAD_PAR);
	/* The block starts on a mapped page and runs into an unmapped one. */
	EXPECT_ST(sys_create_ec(dst, SEL_SELF_PD,
				(const struct vireo_ec_create *)(TASK_STACK_TOP - 16)),
		  VIREO_BAD_PAR);
	EXPECT_EQ(kt_lookup_obj(dst, NULL), 0);
	return KT_PASS;
}

static int t_kstat_bad_pointer_is_bad_par(void)
{
	EXPECT_ST(sys_kstat((struct vireo_kstat *)KERNEL_PTR), VIREO_BAD_PAR);
	EXPECT_ST(sys_kstat((struct vireo_kstat *)NEVER_MAPPED), VIREO_BAD_PAR);
	EXPECT_ST(sys_kstat((struct vireo_kstat *)(TASK_STACK_TOP - 8)), VIREO_BAD_PAR);
	return KT_PASS;
}

static int t_kstat_to_read_only_page_is_bad_par(void)
{
	if (!kt_ti) {
		return kt_skip("no task-info page (the read-only page this test writes to)");
	}
	uint64_t before = *(const volatile uint64_t *)TASK_INFO_VA;
	EXPECT_ST(sys_kstat((struct vireo_kstat *)TASK_INFO_VA), VIREO_BAD_PAR);
	EXPECT_EQ(*(const volatile uint64_t *)TASK_INFO_VA, before);
	return KT_PASS;
}

static int t_kstat_reports_plausible_counts(void)
{
	struct vireo_kstat k;
	memset(&k, 0xff, sizeof(k));
	EXPECT_OK(sys_kstat(&k));
	EXPECT(k.pds >= 2, "pds = %u, expected at least the roottask's and kstest's", k.pds);
	EXPECT(k.ecs >= 2, "ecs = %u, expected at least 2", k.ecs);
	EXPECT(k.scs >= 2, "scs = %u, expected at least 2", k.scs);
	EXPECT(k.sms >= 1, "sms = %u, expected at least kstest's sleep semaphore", k.sms);
	EXPECT(k.mdb_nodes >= 3, "mdb_nodes = %u", k.mdb_nodes);
	EXPECT(k.free_pages > 0 && k.free_pages != UINT64_MAX, "free_pages = %lu",
	       (unsigned long)k.free_pages);
	uint64_t sm;
	EXPECT_OK(kt_new_sm(&sm, 0));
	struct vireo_kstat k2;
	EXPECT_OK(sys_kstat(&k2));
	EXPECT_EQ(k2.sms, k.sms + 1);
	return KT_PASS;
}

static int t_syscall_works_with_direction_flag_set(void)
{
	struct vireo_kstat k, ref;
	memset(&k, 0, sizeof(k));
	long rax = SYS_KSTAT;
	register uint64_t rdi __asm__("rdi") = (uintptr_t)&k;
	/* The kernel copies with string instructions: it must clear DF on entry. */
	__asm__ volatile("std\n\tsyscall\n\tcld"
			 : "+a"(rax), "+r"(rdi)
			 :
			 : "rcx", "r11", "rsi", "rdx", "r8", "r9", "r10", "memory");
	EXPECT_ST(rax, VIREO_OK);
	EXPECT_OK(sys_kstat(&ref));
	EXPECT_EQ(k.pds, ref.pds);
	EXPECT_EQ(k.sms, ref.sms);
	EXPECT_EQ(k.mdb_nodes, ref.mdb_nodes);
	return KT_PASS;
}

static int t_reply_wait_from_global_ec_is_bad_cap(void)
{
	/* A global EC has nobody to reply to: the call must come back, not block or kill us. */
	EXPECT_ST(vireo_sys(SYS_REPLY_WAIT, 0, 0, 0, 0, 0), VIREO_BAD_CAP);
	return KT_PASS;
}

static int t_create_ec_bad_flags_is_bad_par(void)
{
	struct vireo_ec_create a = {
		.ip = (uintptr_t)kt_exit_stub,
		.sp = kt_stack(),
		.utcb = kt_utcb_va(),
		.evt_base = 0,
		.cpu = 0,
		.flags = 0x4, /* the first undefined flag */
	};
	uint64_t dst = kt_sel();
	EXPECT_ST(sys_create_ec(dst, SEL_SELF_PD, &a), VIREO_BAD_PAR);
	/* A vCPU cannot also be a local EC, whether or not the machine can run VMs. */
	a.flags = VIREO_EC_VCPU | VIREO_EC_LOCAL;
	EXPECT_ST(sys_create_ec(dst, SEL_SELF_PD, &a), VIREO_BAD_PAR);
	a.flags = 0x80000000u | VIREO_EC_LOCAL;
	EXPECT_ST(sys_create_ec(dst, SEL_SELF_PD, &a), VIREO_BAD_PAR);
	EXPECT_EQ(kt_lookup_obj(dst, NULL), 0);
	return KT_PASS;
}

static int t_create_ec_offline_cpu_is_bad_cpu(void)
{
	struct vireo_ec_create a = {
		.sp = kt_stack(),
		.utcb = kt_utcb_va(),
		.cpu = kt_cpus,
		.flags = VIREO_EC_LOCAL,
	};
	uint64_t dst = kt_sel();
	EXPECT_ST(sys_create_ec(dst, SEL_SELF_PD, &a), VIREO_BAD_CPU);
	a.cpu = 255;
	EXPECT_ST(sys_create_ec(dst, SEL_SELF_PD, &a), VIREO_BAD_CPU);
	a.cpu = UINT32_MAX;
	EXPECT_ST(sys_create_ec(dst, SEL_SELF_PD, &a), VIREO_BAD_CPU);
	EXPECT_EQ(kt_lookup_obj(dst, NULL), 0);
	return KT_PASS;
}

/* IRETQ to a RIP outside the lower canonical half faults in ring 0: refused at creation. */
static const uint64_t bad_ips[] = { NONCANONICAL_PTR, KERNEL_PTR, 0x8000000000000000ull,
				    0x00007ffffffff000ull, UINT64_MAX };
static const uint64_t bad_sps[] = { NONCANONICAL_PTR + 8, KERNEL_PTR, 0x8000000000000000ull,
				    UINT64_MAX };

static int t_create_ec_with_ip_or_sp_outside_user_space_is_bad_par(void)
{
	struct vireo_ec_create a = { .ip = (uintptr_t)kt_exit_stub,
				     .utcb = kt_utcb_va(),
				     .cpu = 0 };
	uint64_t dst = kt_sel();
	a.sp = kt_stack();
	for (unsigned i = 0; i < sizeof(bad_ips) / sizeof(bad_ips[0]); i++) {
		a.ip = bad_ips[i];
		enum vireo_status st = sys_create_ec(dst, SEL_SELF_PD, &a);
		EXPECT(st == VIREO_BAD_PAR, "a global EC with ip 0x%lx: %s, expected BAD_PAR",
		       (unsigned long)bad_ips[i], kt_st(st));
	}
	a.ip = (uintptr_t)kt_exit_stub;
	for (unsigned i = 0; i < sizeof(bad_sps) / sizeof(bad_sps[0]); i++) {
		a.sp = bad_sps[i];
		a.flags = 0;
		enum vireo_status st = sys_create_ec(dst, SEL_SELF_PD, &a);
		EXPECT(st == VIREO_BAD_PAR, "a global EC with sp 0x%lx: %s, expected BAD_PAR",
		       (unsigned long)bad_sps[i], kt_st(st));
		a.flags = VIREO_EC_LOCAL;
		st = sys_create_ec(dst, SEL_SELF_PD, &a);
		EXPECT(st == VIREO_BAD_PAR, "a local EC with sp 0x%lx: %s, expected BAD_PAR",
		       (unsigned long)bad_sps[i], kt_st(st));
	}
	EXPECT_EQ(kt_lookup_obj(dst, NULL), 0);
	/* The top of user space is a valid stack top; a local EC's ip is not used. */
	a.sp = 0x00007ffffffff000ull;
	a.ip = NONCANONICAL_PTR;
	a.flags = VIREO_EC_LOCAL;
	EXPECT_OK(sys_create_ec(dst, SEL_SELF_PD, &a));
	return KT_PASS;
}

static void h_unused(uint64_t id)
{
	(void)id;
	sys_reply_wait();
}

static int t_create_pt_with_ip_outside_user_space_is_bad_par(void)
{
	struct vireo_ec_create a = { .sp = kt_stack(),
				     .utcb = kt_utcb_va(),
				     .flags = VIREO_EC_LOCAL };
	uint64_t ec = kt_sel(), pt = kt_sel();
	EXPECT_OK(sys_create_ec(ec, SEL_SELF_PD, &a));
	for (unsigned i = 0; i < sizeof(bad_ips) / sizeof(bad_ips[0]); i++) {
		enum vireo_status st = sys_create_pt(pt, SEL_SELF_PD, ec, bad_ips[i], 0);
		EXPECT(st == VIREO_BAD_PAR, "a portal with ip 0x%lx: %s, expected BAD_PAR",
		       (unsigned long)bad_ips[i], kt_st(st));
	}
	EXPECT_EQ(kt_lookup_obj(pt, NULL), 0);
	EXPECT_OK(sys_create_pt(pt, SEL_SELF_PD, ec, (uintptr_t)h_unused, 0));
	return KT_PASS;
}

/* A vCPU resumes a task with a valid user state but the entry point (or stack) given here. */
static struct vireo_vcpu_pv *volatile pv_state;
static volatile uint64_t pv_task, pv_ip, pv_sp;
static volatile long pv_status;

static void w_pv_resume(uint64_t arg)
{
	struct vireo_vcpu_pv *p = pv_state;
	(void)arg;
	p->entry_ip = pv_ip;
	p->entry_sp = pv_sp;
	p->user = (struct vireo_exc_state){ .rip = 0x400000, .rsp = 0x500000, .rflags = 0x202 };
	pv_status = sys_vcpu_resume(pv_task);
	sys_sm_up(kt_done_sel);
	sys_ec_exit();
}

static int t_vcpu_resume_with_entry_point_outside_user_space_is_bad_par(void)
{
	struct env e;
	uint64_t task = kt_sel(), done;
	static const struct {
		uint64_t ip, sp;
	} bad[] = {
		{ NONCANONICAL_PTR, 0 },      { KERNEL_PTR, 0 },
		{ 0x00007ffffffff000ull, 0 }, { 0, NONCANONICAL_PTR + 8 },
		{ 0, 0x8000000000000000ull },
	};
	EXPECT_OK(env_open(&e, ENV_OWN));
	EXPECT_OK(kt_new_sm(&done, 0));
	kt_done_sel = done;
	EXPECT_OK(sys_create_pd(task, SEL_SELF_PD, 64 * 1024));
	pv_task = task;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t ec = kt_sel(), sc, state = kt_utcb_va();
		struct vireo_ec_create a = { .ip = (uintptr_t)w_pv_resume,
					     .sp = kt_stack(),
					     .utcb = kt_utcb_va(),
					     .evt_base = env_evt_block(&e),
					     .flags = VIREO_EC_VCPU,
					     .vcpu_state = state };
		EXPECT_OK(sys_create_ec(ec, SEL_SELF_PD, &a));
		pv_state = (struct vireo_vcpu_pv *)(state + VIREO_VCPU_PV_OFFSET);
		pv_ip = bad[i].ip ? bad[i].ip : (uintptr_t)kt_exit_stub;
		pv_sp = bad[i].sp ? bad[i].sp : kt_stack();
		pv_status = -1;
		EXPECT_OK(env_sc(&e, ec, &sc));
		enum vireo_status st = kt_wait(done, 2000);
		EXPECT(st == VIREO_OK && pv_status == VIREO_BAD_PAR,
		       "a resume with entry_ip 0x%lx entry_sp 0x%lx: %s (the vCPU %s), expected "
		       "BAD_PAR",
		       (unsigned long)pv_ip, (unsigned long)pv_sp,
		       pv_status == -1 ? "never returned" : kt_st(pv_status),
		       st == VIREO_OK ? "went on" : "did not come back");
	}
	return KT_PASS;
}

static int t_create_ec_bad_utcb_address_is_bad_par(void)
{
	struct vireo_ec_create a = { .sp = kt_stack(), .cpu = 0, .flags = VIREO_EC_LOCAL };
	uint64_t dst = kt_sel();
	static const uint64_t bad[] = { 0, KERNEL_PTR, NONCANONICAL_PTR,
					TASK_FREE_VA + 0x30000800ull, 0x00007ffffffff000ull };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		a.utcb = bad[i];
		enum vireo_status st = sys_create_ec(dst, SEL_SELF_PD, &a);
		EXPECT(st == VIREO_BAD_PAR,
		       "sys_create_ec with utcb 0x%lx returned %s, expected BAD_PAR",
		       (unsigned long)bad[i], kt_st(st));
	}
	EXPECT_EQ(kt_lookup_obj(dst, NULL), 0);
	return KT_PASS;
}

/* Is the byte at `va` readable by the kernel on our behalf? (Prints it: make it a '\r'.) */
static bool probe_readable(const char *va)
{
	return sys_debug_write(va, 1) == VIREO_OK;
}

static int t_create_ec_utcb_over_mapped_page_is_busy(void)
{
	struct vireo_ec_create a = { .sp = kt_stack(), .cpu = 0, .flags = VIREO_EC_LOCAL };
	uint64_t dst = kt_sel();
	/* A page we can spare (the last heap page): a failed create must leave it alone. */
	uint64_t h = kt_heap_page((unsigned)(kt_heap_size / 0x1000) - 1);
	if (!h) {
		return kt_skip("no heap");
	}
	*(volatile char *)h = '\r';
	a.utcb = h;
	EXPECT_ST(sys_create_ec(dst, SEL_SELF_PD, &a), VIREO_BUSY);
	EXPECT_EQ(kt_lookup_obj(dst, NULL), 0);
	EXPECT(probe_readable((const char *)h),
	       "sys_create_ec returned BUSY for a UTCB over our mapped heap page 0x%lx, but "
	       "unmapped that page",
	       (unsigned long)h);
	EXPECT_EQ(*(volatile char *)h, '\r');
	return KT_PASS;
}

static int t_create_pd_over_parent_quota_is_no_mem(void)
{
	uint64_t dst = kt_sel();
	EXPECT_ST(sys_create_pd(dst, SEL_SELF_PD, 1ull << 60), VIREO_NO_MEM);
	EXPECT_ST(sys_create_pd(dst, SEL_SELF_PD, UINT64_MAX), VIREO_NO_MEM);
	if (kt_quota) {
		EXPECT_ST(sys_create_pd(dst, SEL_SELF_PD, kt_quota + 4096), VIREO_NO_MEM);
	}
	/* Too small to hold the PD itself. */
	EXPECT_ST(sys_create_pd(dst, SEL_SELF_PD, 64), VIREO_NO_MEM);
	EXPECT_EQ(kt_lookup_obj(dst, NULL), 0);
	return KT_PASS;
}

static int t_sm_ctrl_unknown_op_is_bad_par(void)
{
	uint64_t sm;
	EXPECT_OK(kt_new_sm(&sm, 0));
	EXPECT_ST(vireo_sys(SYS_SM_CTRL, sm, 2, 0, 0, 0), VIREO_BAD_PAR);
	EXPECT_ST(vireo_sys(SYS_SM_CTRL, sm, UINT64_MAX, 0, 0, 0), VIREO_BAD_PAR);
	/* Not truncated to 32 bits: 1 << 32 is not "up". */
	EXPECT_ST(vireo_sys(SYS_SM_CTRL, sm, 1ull << 32, 0, 0, 0), VIREO_BAD_PAR);
	EXPECT_ST(sys_sm_down(sm, 0), VIREO_TIMEOUT); /* nothing was counted up */
	return KT_PASS;
}

static int t_delegate_malformed_crd_or_flags_is_bad_par(void)
{
	uint64_t sm, dst = KT_WIN_BASE + 8;
	EXPECT_OK(kt_new_sm(&sm, 0));
	/* No space. */
	EXPECT_ST(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_NULL, sm, 0, RIGHTS_ALL), dst, 0),
		  VIREO_BAD_PAR);
	/* Unknown flags. */
	EXPECT_ST(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_OBJ, sm, 0, RIGHTS_ALL), dst, 2),
		  VIREO_BAD_PAR);
	EXPECT_ST(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_OBJ, sm, 0, RIGHTS_ALL), dst, 1u << 31),
		  VIREO_BAD_PAR);
	/* Destination not aligned to the order, or outside the object space. */
	uint64_t pair = kt_sel_aligned(2);
	EXPECT_OK(sys_create_sm(pair, SEL_SELF_PD, 0));
	EXPECT_OK(sys_create_sm(pair + 1, SEL_SELF_PD, 0));
	EXPECT_ST(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_OBJ, pair, 1, RIGHTS_ALL), dst + 1, 0),
		  VIREO_BAD_PAR);
	EXPECT_ST(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_OBJ, sm, 0, RIGHTS_ALL),
			       VIREO_CAP_SPACE_SIZE, 0),
		  VIREO_BAD_PAR);
	EXPECT_ST(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_OBJ, sm, 0, RIGHTS_ALL), 1ull << 40, 0),
		  VIREO_BAD_PAR);
	/* Source range reaching past the object space. */
	EXPECT_ST(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_OBJ, 0, 13, RIGHTS_ALL), 0, 0),
		  VIREO_BAD_PAR);
	EXPECT_EQ(kt_lookup_obj(dst, NULL), 0);
	EXPECT_EQ(kt_lookup_obj(dst + 1, NULL), 0);
	return KT_PASS;
}

static int t_delegate_memory_bad_range_is_bad_par(void)
{
	uint64_t h = kt_heap_page(0);
	if (!h) {
		return kt_skip("no heap");
	}
	uint64_t pg = h >> 12;
	/* Destination page 0, above the user half, misaligned for the order. */
	EXPECT_ST(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_MEM, pg, 0, MEM_R), 0, 0), VIREO_BAD_PAR);
	EXPECT_ST(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_MEM, pg, 0, MEM_R), 0x800000000ull, 0),
		  VIREO_BAD_PAR);
	EXPECT_ST(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_MEM, pg, 0, MEM_R), KERNEL_PTR >> 12, 0),
		  VIREO_BAD_PAR);
	if (kt_heap_page(1)) {
		EXPECT_ST(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_MEM, pg, 1, MEM_R),
				       (KT_MAP_AREA >> 12) + 1, 0),
			  VIREO_BAD_PAR);
	}
	/* Source base not aligned to its order. */
	EXPECT_ST(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_MEM, pg + 1, 1, MEM_R), KT_MAP_AREA >> 12,
			       0),
		  VIREO_BAD_PAR);
	/* Order so large the range covers the whole address space. */
	EXPECT_ST(sys_delegate(SEL_SELF_PD, vireo_crd(CRD_MEM, 0, 31, MEM_R), 0, 0), VIREO_BAD_PAR);
	EXPECT_EQ(kt_lookup_mem(KT_MAP_AREA), 0);
	return KT_PASS;
}

static int t_revoke_malformed_crd_or_flags_is_bad_par(void)
{
	uint64_t sm;
	EXPECT_OK(kt_new_sm(&sm, 0));
	EXPECT_ST(sys_revoke(vireo_crd(CRD_NULL, sm, 0, RIGHTS_ALL), VIREO_REVOKE_SELF),
		  VIREO_BAD_PAR);
	EXPECT_ST(sys_revoke(vireo_crd(CRD_OBJ, sm, 0, RIGHTS_ALL), 2), VIREO_BAD_PAR);
	EXPECT_ST(vireo_sys(SYS_REVOKE, vireo_crd(CRD_OBJ, sm, 0, RIGHTS_ALL),
			    1ull << 32 | VIREO_REVOKE_SELF, 0, 0, 0),
		  VIREO_BAD_PAR);
	unsigned type;
	EXPECT(kt_lookup_obj(sm, &type) != 0 && type == OBJ_SM,
	       "a rejected revoke removed the semaphore");
	/* Revoking an empty range is fine and does nothing. */
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, KT_SEL_SPARE, 0, RIGHTS_ALL), VIREO_REVOKE_SELF));
	return KT_PASS;
}

static int t_lookup_null_crd_is_bad_par(void)
{
	uint64_t found = 123;
	EXPECT_ST(sys_lookup(vireo_crd(CRD_NULL, SEL_SELF_PD, 0, 0), &found, NULL), VIREO_BAD_PAR);
	return KT_PASS;
}

static int t_assign_gsi_outside_roottask_is_bad_cap(void)
{
	uint64_t sm;
	EXPECT_OK(kt_new_sm(&sm, 0));
	EXPECT_ST(sys_assign_gsi(sm, 4, 0), VIREO_BAD_CAP);
	EXPECT_ST(sys_assign_gsi(sm, 1, 0), VIREO_BAD_CAP);
	return KT_PASS;
}

const struct kt_test kt_basic_tests[] = {
	{ "unknown_syscall_is_bad_sys", t_unknown_syscall_is_bad_sys },
	{ "debug_write_empty_is_ok", t_debug_write_empty_is_ok },
	{ "debug_write_over_4096_bytes_is_bad_par", t_debug_write_over_4096_bytes_is_bad_par },
	{ "debug_write_kernel_pointer_is_bad_par", t_debug_write_kernel_pointer_is_bad_par },
	{ "debug_write_unmapped_pointer_is_bad_par", t_debug_write_unmapped_pointer_is_bad_par },
	{ "debug_write_buffer_running_into_unmapped_page_is_bad_par",
	  t_debug_write_buffer_running_into_unmapped_page_is_bad_par },
	{ "create_ec_bad_argument_pointer_is_bad_par",
	  t_create_ec_bad_argument_pointer_is_bad_par },
	{ "kstat_bad_pointer_is_bad_par", t_kstat_bad_pointer_is_bad_par },
	{ "kstat_to_read_only_page_is_bad_par", t_kstat_to_read_only_page_is_bad_par },
	{ "kstat_reports_plausible_counts", t_kstat_reports_plausible_counts },
	{ "syscall_works_with_direction_flag_set", t_syscall_works_with_direction_flag_set },
	{ "reply_wait_from_global_ec_is_bad_cap", t_reply_wait_from_global_ec_is_bad_cap },
	{ "create_ec_bad_flags_is_bad_par", t_create_ec_bad_flags_is_bad_par },
	{ "create_ec_offline_cpu_is_bad_cpu", t_create_ec_offline_cpu_is_bad_cpu },
	{ "create_ec_bad_utcb_address_is_bad_par", t_create_ec_bad_utcb_address_is_bad_par },
	{ "create_ec_with_ip_or_sp_outside_user_space_is_bad_par",
	  t_create_ec_with_ip_or_sp_outside_user_space_is_bad_par },
	{ "create_pt_with_ip_outside_user_space_is_bad_par",
	  t_create_pt_with_ip_outside_user_space_is_bad_par },
	{ "vcpu_resume_with_entry_point_outside_user_space_is_bad_par",
	  t_vcpu_resume_with_entry_point_outside_user_space_is_bad_par },
	{ "create_ec_utcb_over_mapped_page_is_busy", t_create_ec_utcb_over_mapped_page_is_busy },
	{ "create_pd_over_parent_quota_is_no_mem", t_create_pd_over_parent_quota_is_no_mem },
	{ "sm_ctrl_unknown_op_is_bad_par", t_sm_ctrl_unknown_op_is_bad_par },
	{ "delegate_malformed_crd_or_flags_is_bad_par",
	  t_delegate_malformed_crd_or_flags_is_bad_par },
	{ "delegate_memory_bad_range_is_bad_par", t_delegate_memory_bad_range_is_bad_par },
	{ "revoke_malformed_crd_or_flags_is_bad_par", t_revoke_malformed_crd_or_flags_is_bad_par },
	{ "lookup_null_crd_is_bad_par", t_lookup_null_crd_is_bad_par },
	{ "assign_gsi_outside_roottask_is_bad_cap", t_assign_gsi_outside_roottask_is_bad_cap },
	{ NULL, NULL },
};
