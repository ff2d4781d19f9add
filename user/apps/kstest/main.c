/* SPDX-License-Identifier: MIT */
/* kstest: runs every test group in order, one result line per test, then a leak check and a summary. */
#include "cmdline.h"
#include "fmt.h"
#include "kstest.h"

const struct vireo_taskinfo *kt_ti;
unsigned kt_cpus = 1;
uint64_t kt_heap_size, kt_demand_size, kt_quota;
bool kt_own_mode;
/* Mapping-database nodes tests may leave on purpose (pages the roottask's pager mapped for us). */
unsigned kt_mdb_extra;
unsigned kt_sm_extra;

static char kt_msg[640];
static struct vireo_kstat kt_baseline;

static void out_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One console line in one system call, so that nothing can land in the middle of it. */
static void out_line(const char *fmt, ...)
{
	static char line[1024];
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	size_t n = strlen(line);
	line[n++] = '\n';
	sys_debug_write(line, n);
}

int kt_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = fmt_vsnprintf(kt_msg, sizeof(kt_msg), fmt, ap);
	va_end(ap);
	if (file && n >= 0 && (size_t)n < sizeof(kt_msg)) {
		fmt_snprintf(kt_msg + n, sizeof(kt_msg) - (size_t)n, " (%s:%d)", file, line);
	}
	return KT_FAIL;
}

int kt_skip(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(kt_msg, sizeof(kt_msg), fmt, ap);
	va_end(ap);
	return KT_SKIP;
}

const char *kt_st(long st)
{
	static const char *const names[] = {
		[VIREO_OK] = "OK",	     [VIREO_TIMEOUT] = "TIMEOUT",
		[VIREO_ABORTED] = "ABORTED", [VIREO_BAD_SYS] = "BAD_SYS",
		[VIREO_BAD_CAP] = "BAD_CAP", [VIREO_BAD_PAR] = "BAD_PAR",
		[VIREO_BAD_FTR] = "BAD_FTR", [VIREO_BAD_CPU] = "BAD_CPU",
		[VIREO_BAD_DEV] = "BAD_DEV", [VIREO_NO_MEM] = "NO_MEM",
		[VIREO_BUSY] = "BUSY",
	};
	static char other[4][24];
	static unsigned next;
	if (st >= 0 && st < (long)(sizeof(names) / sizeof(names[0])) && names[st]) {
		return names[st];
	}
	char *b = other[next++ % 4];
	fmt_snprintf(b, sizeof(other[0]), "status %ld", st);
	return b;
}

/* Describe how two kernel statistics differ in objects and MDB nodes; 0 if they do not. */
static int kstat_diff(const struct vireo_kstat *a, const struct vireo_kstat *b, unsigned mdb_extra,
		      unsigned sm_extra, char *buf, size_t size)
{
	size_t len = 0;
	int diff = 0;
	const struct {
		const char *name;
		uint32_t before, after, extra;
	} f[] = {
		{ "pds", a->pds, b->pds, 0 },
		{ "ecs", a->ecs, b->ecs, 0 },
		{ "scs", a->scs, b->scs, 0 },
		{ "pts", a->pts, b->pts, 0 },
		{ "sms", a->sms, b->sms, sm_extra },
		{ "mdb_nodes", a->mdb_nodes, b->mdb_nodes, mdb_extra },
	};
	buf[0] = 0;
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (f[i].before + f[i].extra != f[i].after) {
			int n = fmt_snprintf(buf + len, size - len, "%s%s %u -> %u (expected %u)",
					     diff ? ", " : "", f[i].name, f[i].before, f[i].after,
					     f[i].before + f[i].extra);
			if (n > 0 && (size_t)n < size - len) {
				len += (size_t)n;
			}
			diff = 1;
		}
	}
	return diff;
}

/* ---------------------------------------------------------------- tests kept here */

static int t_taskinfo_is_valid(void)
{
	EXPECT(kt_ti, "no valid task-info page at main's argument (magic mismatch)");
	EXPECT_EQ(kt_ti->magic, TASKINFO_MAGIC);
	EXPECT(kt_ti->cpus_online >= 1 && kt_ti->cpus_online <= 256, "cpus_online = %u",
	       kt_ti->cpus_online);
	EXPECT((kt_ti->heap_size & 0xfff) == 0, "heap_size 0x%lx is not page-aligned",
	       (unsigned long)kt_ti->heap_size);
	EXPECT(kt_ti->quota > 0, "the task has no kernel-memory quota");
	return KT_PASS;
}

static int t_suite_leaves_no_kernel_objects_behind(void)
{
	struct vireo_kstat now;
	char buf[400];
	EXPECT_OK(sys_revoke(vireo_crd(CRD_OBJ, KT_BLOCK_BASE, KT_BLOCK_ORDER, RIGHTS_ALL),
			     VIREO_REVOKE_SELF));
	EXPECT_OK(sys_kstat(&now));
	EXPECT(!kstat_diff(&kt_baseline, &now, kt_mdb_extra, kt_sm_extra, buf, sizeof(buf)),
	       "kernel objects differ from the start of the suite: %s", buf);
	return KT_PASS;
}

static const struct kt_test kt_first_tests[] = {
	{ "taskinfo_is_valid", t_taskinfo_is_valid },
	{ NULL, NULL },
};

static const struct kt_test kt_last_tests[] = {
	{ "suite_leaves_no_kernel_objects_behind", t_suite_leaves_no_kernel_objects_behind },
	{ NULL, NULL },
};

static const struct kt_test *const kt_groups[] = {
	kt_first_tests, kt_basic_tests, kt_cap_tests,  kt_ipc_tests,  kt_sm_tests,    kt_exc_tests,
	kt_mem_tests,	kt_io_tests,	kt_late_tests, kt_last_tests, kt_final_tests,
};

/* ---------------------------------------------------------------- runner */

/* Command-line filters: "only=TEXT" (run tests whose name contains TEXT) and "skip=TEXT". */
#define MAX_FILTERS 8
static char filters[2][MAX_FILTERS][48];
static unsigned nfilters[2];

static bool contains(const char *s, const char *w)
{
	size_t n = strlen(w);
	for (; *s; s++) {
		if (!strncmp(s, w, n)) {
			return true;
		}
	}
	return n == 0;
}

static void parse_filters(const char *cmd)
{
	static const char *const keys[2] = { "only=", "skip=" };
	for (const char *p = cmd; *p;) {
		while (*p == ' ') {
			p++;
		}
		const char *e = p;
		while (*e && *e != ' ') {
			e++;
		}
		for (unsigned k = 0; k < 2; k++) {
			size_t kl = strlen(keys[k]);
			if ((size_t)(e - p) > kl && !strncmp(p, keys[k], kl) &&
			    nfilters[k] < MAX_FILTERS) {
				size_t n = (size_t)(e - p) - kl;
				n = n < sizeof(filters[k][0]) - 1 ? n : sizeof(filters[k][0]) - 1;
				memcpy(filters[k][nfilters[k]], p + kl, n);
				filters[k][nfilters[k]++][n] = 0;
			}
		}
		p = e;
	}
}

static bool selected(const char *name)
{
	bool in = nfilters[0] == 0;
	for (unsigned i = 0; i < nfilters[0]; i++) {
		in = in || contains(name, filters[0][i]);
	}
	for (unsigned i = 0; i < nfilters[1]; i++) {
		in = in && !contains(name, filters[1][i]);
	}
	return in;
}

static void setup(uintptr_t arg)
{
	const struct vireo_taskinfo *ti = (const struct vireo_taskinfo *)arg;
	if (ti && arg >= 0x1000 && arg < 0x00007ffffffff000ull && ti->magic == TASKINFO_MAGIC) {
		kt_ti = ti;
		kt_cpus = ti->cpus_online ? ti->cpus_online : 1;
		kt_heap_size = ti->heap_size;
		kt_demand_size = ti->demand_size;
		kt_quota = ti->quota;
		char cmd[sizeof(ti->cmdline) + 1];
		memcpy(cmd, ti->cmdline, sizeof(ti->cmdline));
		cmd[sizeof(ti->cmdline)] = 0;
		kt_own_mode = cmdline_has(cmd, "ownpd");
		parse_filters(cmd);
	}
	sys_create_sm(KT_SEL_SLEEP, SEL_SELF_PD, 0);
	kt_env_init();
	out_line("kstest: info: %u CPUs, heap %lu KiB, demand %lu KiB, quota %lu KiB, ports "
		 "0x%x+%u, "
		 "irq gsi %d, image %d pages, test ECs in %s",
		 kt_cpus, (unsigned long)(kt_heap_size >> 10),
		 (unsigned long)(kt_demand_size >> 10), (unsigned long)(kt_quota >> 10),
		 kt_ti ? kt_ti->io_port_base : 0, kt_ti ? kt_ti->io_port_count : 0,
		 kt_ti ? kt_ti->irq_gsi : -1, kt_image_pages(),
		 kt_own_mode ? "kstest's own PD" : "sandbox PDs");
	sys_kstat(&kt_baseline);
}

/* Every test in the tables, run or not: the count the final line reports beside the results. */
static unsigned registered_tests(void)
{
	unsigned n = 0;
	for (size_t g = 0; g < sizeof(kt_groups) / sizeof(kt_groups[0]); g++) {
		for (const struct kt_test *t = kt_groups[g]; t->name; t++) {
			n++;
		}
	}
	return n;
}

int main(uintptr_t arg)
{
	unsigned passed = 0, failed = 0, skipped = 0, registered = registered_tests();
	setup(arg);
	out_line("kstest: info: %u tests registered", registered);
	for (size_t g = 0; g < sizeof(kt_groups) / sizeof(kt_groups[0]); g++) {
		for (const struct kt_test *t = kt_groups[g]; t->name; t++) {
			struct vireo_kstat before, after;
			unsigned extra = kt_mdb_extra, sm_extra = kt_sm_extra;
			if (!selected(t->name)) {
				skipped++;
				out_line("kstest: SKIP %s: not selected (only=/skip= on the "
					 "command line)",
					 t->name);
				continue;
			}
			int have = sys_kstat(&before) == VIREO_OK;
			kt_msg[0] = 0;
			int r = t->fn();
			kt_cleanup();
			if (r == KT_PASS && have && sys_kstat(&after) == VIREO_OK) {
				char buf[400];
				if (kstat_diff(&before, &after, kt_mdb_extra - extra,
					       kt_sm_extra - sm_extra, buf, sizeof(buf))) {
					r = kt_fail(NULL, 0,
						    "leaked kernel objects after cleanup: %s", buf);
				}
			}
			switch (r) {
			case KT_PASS:
				passed++;
				out_line("kstest: PASS %s", t->name);
				break;
			case KT_SKIP:
				skipped++;
				out_line("kstest: SKIP %s: %s", t->name, kt_msg);
				break;
			default:
				failed++;
				out_line("kstest: FAIL %s: %s", t->name,
					 kt_msg[0] ? kt_msg : "(no message)");
				break;
			}
		}
	}
	if (skipped) {
		out_line("kstest: info: %u skipped", skipped);
	}
	/* Each registered test is counted once, so passed + failed + skipped = registered. */
	out_line("kstest: %u passed, %u failed, %u skipped, %u registered", passed, failed, skipped,
		 registered);
	out_line("kstest: done");
	return 0;
}
