/* SPDX-License-Identifier: MIT */
/*
 * ACPI table discovery (ACPI 6.x §5.2): RSDP (§5.2.5), RSDT/XSDT (§5.2.7, §5.2.8), FADT (§5.2.9),
 * DSDT (§5.2.11.1) and MADT (§5.2.12). Firmware tables are input we check, not trust: every field
 * is read only after the table's length shows it is there.
 */
#include "acpi.h"

#include "arch.h"
#include "kstring.h"
#include "printk.h"

#define HDR_LEN 36		 /* System Description Table Header, §5.2.6 */
#define MAX_TABLE_LEN (1u << 20) /* far above any real MADT/FADT/DSDT */
#define RSDP_V1_LEN 20		 /* the part the first checksum covers */
#define RSDP_V2_LEN 36		 /* the part the extended checksum covers */
#define RSDP_ALIGN 16

#define BDA_EBDA_SEG 0x40e /* BIOS data area: real-mode segment of the EBDA */
#define EBDA_SCAN_LEN 1024
#define BIOS_ROM_START 0xe0000
#define BIOS_ROM_LEN 0x20000
#define LOW_MEM_END 0xa0000

/* Little-endian reads at any alignment (firmware does not align the 64-bit XSDT entries). */
static uint16_t rd16(const uint8_t *p, size_t off)
{
	uint16_t v;
	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint32_t rd32(const uint8_t *p, size_t off)
{
	uint32_t v;
	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint64_t rd64(const uint8_t *p, size_t off)
{
	uint64_t v;
	memcpy(&v, p + off, sizeof(v));
	return v;
}

/* Does a table of len bytes hold the n-byte field at off? Old FADTs are shorter than new ones. */
static bool has(uint32_t len, size_t off, size_t n)
{
	return off + n <= len;
}

/* The bytes of every ACPI checksummed structure sum to zero. */
static bool sum_ok(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < n; i++) {
		sum = (uint8_t)(sum + p[i]);
	}
	return sum == 0;
}

/* ---------------------------------------------------------------- tables */

static const uint8_t *table_header(paddr_t pa)
{
	if (pa_addr(pa) == 0 || pa_addr(pa) > UINT64_MAX - MAX_TABLE_LEN) {
		return NULL;
	}
	return phys_to_virt(pa);
}

/* The table at pa if its signature is sig and its length and checksum are sane, else NULL. */
static const uint8_t *map_table(paddr_t pa, const char *sig, uint32_t *len)
{
	const uint8_t *t = table_header(pa);
	uint32_t n;

	if (!t || memcmp(t, sig, 4) != 0) {
		pr_warn("acpi: no %s table at %#llx\n", sig, (unsigned long long)pa_addr(pa));
		return NULL;
	}
	n = rd32(t, 4);
	if (n < HDR_LEN || n > MAX_TABLE_LEN) {
		pr_warn("acpi: %s has bad length %u\n", sig, n);
		return NULL;
	}
	if (!sum_ok(t, n)) {
		pr_warn("acpi: %s has a bad checksum\n", sig);
		return NULL;
	}
	*len = n;
	return t;
}

/* ---------------------------------------------------------------- MADT, §5.2.12 */

#define MADT_FLAGS_PCAT_COMPAT 0x1
#define MADT_LAPIC_ENABLED 0x1
#define MADT_LAPIC_ONLINE_CAPABLE 0x2
#define MADT_ENTRIES 44

static void add_cpu(struct acpi_info *out, uint32_t apic_id, uint32_t uid, uint32_t flags)
{
	/* Neither enabled nor online capable: a placeholder for a CPU that is not there. */
	if (!(flags & (MADT_LAPIC_ENABLED | MADT_LAPIC_ONLINE_CAPABLE))) {
		return;
	}
	/* Firmware may list a CPU both as local APIC and as x2APIC. */
	for (size_t i = 0; i < out->ncpus; i++) {
		if (out->cpus[i].apic_id == apic_id) {
			return;
		}
	}
	if (out->ncpus == ACPI_MAX_CPUS) {
		pr_warn("acpi: more than %d CPUs, ignoring APIC id %u\n", ACPI_MAX_CPUS, apic_id);
		return;
	}
	out->cpus[out->ncpus++] =
		(struct acpi_cpu){ apic_id, uid, (flags & MADT_LAPIC_ENABLED) != 0 };
}

/* Type 0, §5.2.12.2 */
static void madt_lapic(const uint8_t *e, struct acpi_info *out)
{
	add_cpu(out, e[3], e[2], rd32(e, 4));
}

/* Type 9, §5.2.12.12 */
static void madt_x2apic(const uint8_t *e, struct acpi_info *out)
{
	add_cpu(out, rd32(e, 4), rd32(e, 12), rd32(e, 8));
}

/* Type 1, §5.2.12.3 */
static void madt_ioapic(const uint8_t *e, struct acpi_info *out)
{
	if (out->nioapics == ACPI_MAX_IOAPICS) {
		pr_warn("acpi: more than %d IOAPICs, ignoring id %u\n", ACPI_MAX_IOAPICS, e[2]);
		return;
	}
	out->ioapics[out->nioapics++] = (struct acpi_ioapic){ e[2], rd32(e, 4), rd32(e, 8) };
}

/* Type 2, §5.2.12.5 */
static void madt_iso(const uint8_t *e, struct acpi_info *out)
{
	/* Bus 0 is ISA, the only bus the specification defines. */
	if (e[2] != 0) {
		return;
	}
	if (out->nisos == ACPI_MAX_ISOS) {
		pr_warn("acpi: more than %d interrupt overrides, ignoring IRQ %u\n", ACPI_MAX_ISOS,
			e[3]);
		return;
	}
	out->isos[out->nisos++] = (struct acpi_iso){ e[3], rd32(e, 4), rd16(e, 8) };
}

/* Type 5, §5.2.12.8: a 64-bit local APIC address replaces the 32-bit one in the MADT header. */
static void madt_lapic_override(const uint8_t *e, struct acpi_info *out)
{
	out->lapic_addr = rd64(e, 4);
}

struct madt_handler {
	uint8_t min_len;
	void (*fn)(const uint8_t *e, struct acpi_info *out);
};

static const struct madt_handler madt_handlers[] = {
	[0] = { 8, madt_lapic },	   [1] = { 12, madt_ioapic }, [2] = { 10, madt_iso },
	[5] = { 12, madt_lapic_override }, [9] = { 16, madt_x2apic },
};

static void madt_entry(const uint8_t *e, uint8_t len, struct acpi_info *out)
{
	const struct madt_handler *h;

	/* Unknown types (and NMI sources, type 4) are not needed: skip them by their length. */
	if (e[0] >= ARRAY_SIZE(madt_handlers) || !madt_handlers[e[0]].fn) {
		return;
	}
	h = &madt_handlers[e[0]];
	if (len < h->min_len) {
		pr_warn("acpi: MADT entry type %u too short (%u bytes)\n", e[0], len);
		return;
	}
	h->fn(e, out);
}

static void parse_madt(const uint8_t *t, uint32_t len, struct acpi_info *out)
{
	if (!has(len, MADT_ENTRIES, 0)) {
		pr_warn("acpi: MADT too short\n");
		return;
	}
	out->lapic_addr = rd32(t, 36);
	out->pcat_compat = (rd32(t, 40) & MADT_FLAGS_PCAT_COMPAT) != 0;
	for (uint32_t off = MADT_ENTRIES; off + 2 <= len;) {
		uint8_t elen = t[off + 1];
		if (elen < 2 || elen > len - off) {
			pr_warn("acpi: MADT entry at offset %u has bad length %u\n", off, elen);
			return;
		}
		madt_entry(t + off, elen, out);
		off += elen;
	}
}

/* -------------------------------------------------------- DSDT \_S5, §7.4.2 and §20 (AML) */

#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_PACKAGE_OP 0x12
#define AML_ROOT_CHAR '\\'
#define SLP_TYP_MAX 7 /* a 3-bit field of PM1 control, §4.8.3.2.1 */

/* One integer constant at aml[*pos] (§20.2.3 ComputationalData), advancing *pos past it. */
static bool aml_integer(const uint8_t *aml, size_t n, size_t *pos, uint32_t *val)
{
	static const uint8_t size[] = {
		[AML_BYTE_PREFIX] = 1,
		[AML_WORD_PREFIX] = 2,
		[AML_DWORD_PREFIX] = 4,
	};
	uint8_t op, sz;

	if (*pos >= n) {
		return false;
	}
	op = aml[*pos];
	if (op == AML_ZERO_OP || op == AML_ONE_OP) {
		*val = op;
		*pos += 1;
		return true;
	}
	sz = op < ARRAY_SIZE(size) ? size[op] : 0;
	if (sz == 0 || n - *pos < 1u + sz) {
		return false;
	}
	*val = 0;
	memcpy(val, aml + *pos + 1, sz);
	*pos += 1u + sz;
	return true;
}

/* Is the "_S5_" at aml[i] the name in Name(_S5, Package() {...}) or Name(\_S5, ...)? */
static bool aml_is_s5_name(const uint8_t *aml, size_t i)
{
	if (i >= 1 && aml[i - 1] == AML_NAME_OP) {
		return true;
	}
	return i >= 2 && aml[i - 1] == AML_ROOT_CHAR && aml[i - 2] == AML_NAME_OP;
}

/* Read the package after the "_S5_" at aml[i]: its first two elements are SLP_TYPa and SLP_TYPb. */
static bool aml_read_s5(const uint8_t *aml, size_t n, size_t i, struct acpi_info *out)
{
	size_t pos = i + 4;
	uint32_t a, b;

	if (!aml_is_s5_name(aml, i) || pos >= n || aml[pos] != AML_PACKAGE_OP) {
		return false;
	}
	pos++;
	/* PkgLength (§20.2.4): bits 7-6 of the lead byte count the bytes that follow it. */
	if (pos >= n) {
		return false;
	}
	pos += 1u + (aml[pos] >> 6);
	/* NumElements, then the elements. */
	if (pos >= n || aml[pos] < 2) {
		return false;
	}
	pos++;
	if (!aml_integer(aml, n, &pos, &a) || !aml_integer(aml, n, &pos, &b)) {
		return false;
	}
	if (a > SLP_TYP_MAX || b > SLP_TYP_MAX) {
		return false;
	}
	out->slp_typa_s5 = (uint16_t)a;
	out->slp_typb_s5 = (uint16_t)b;
	out->s5_valid = true;
	return true;
}

/* Not an AML interpreter: a scan for the one encoding QEMU's and Bochs's DSDTs use. */
static void parse_dsdt(const uint8_t *t, uint32_t len, struct acpi_info *out)
{
	const uint8_t *aml = t + HDR_LEN;
	size_t n = len - HDR_LEN;

	for (size_t i = 0; i + 4 <= n; i++) {
		if (memcmp(aml + i, "_S5_", 4) == 0 && aml_read_s5(aml, n, i, out)) {
			return;
		}
	}
	pr_warn("acpi: no usable \\_S5 in the DSDT\n");
}

/* ---------------------------------------------------------------- FADT, §5.2.9 */

#define FADT_DSDT 40
#define FADT_PM1A_CNT 64
#define FADT_PM1B_CNT 68
#define FADT_FLAGS 112
#define FADT_RESET_REG 116
#define FADT_RESET_VALUE 128
#define FADT_X_DSDT 140
#define FADT_X_PM1A_CNT 172
#define FADT_X_PM1B_CNT 184
#define FADT_FLAG_RESET_REG_SUP (1u << 10)
#define GAS_LEN 12 /* Generic Address Structure, §5.2.3.2: space, width, offset, access, address */
#define GAS_ADDR 4

/* A PM1 control block: the 32-bit port, or the extended address if it is an I/O port. */
static uint32_t fadt_pm1_port(const uint8_t *t, uint32_t len, size_t off, size_t x_off)
{
	uint32_t port = has(len, off, 4) ? rd32(t, off) : 0;

	if (port == 0 && has(len, x_off, GAS_LEN) && t[x_off] == ACPI_SPACE_IO) {
		port = (uint32_t)rd64(t, x_off + GAS_ADDR);
	}
	return port;
}

static void fadt_reset(const uint8_t *t, uint32_t len, struct acpi_info *out)
{
	if (!has(len, FADT_RESET_VALUE, 1) || !(rd32(t, FADT_FLAGS) & FADT_FLAG_RESET_REG_SUP)) {
		return;
	}
	out->reset_space = t[FADT_RESET_REG];
	out->reset_addr = rd64(t, FADT_RESET_REG + GAS_ADDR);
	out->reset_value = t[FADT_RESET_VALUE];
	out->reset_valid = out->reset_space <= ACPI_SPACE_PCI && out->reset_addr != 0;
}

/* X_DSDT, when present and non-zero, overrides DSDT (§5.2.9, Table "FADT Format"). */
static paddr_t fadt_dsdt(const uint8_t *t, uint32_t len)
{
	uint64_t x = has(len, FADT_X_DSDT, 8) ? rd64(t, FADT_X_DSDT) : 0;

	if (x != 0) {
		return pa_init(x);
	}
	return pa_init(has(len, FADT_DSDT, 4) ? rd32(t, FADT_DSDT) : 0);
}

static void parse_fadt(const uint8_t *t, uint32_t len, struct acpi_info *out)
{
	const uint8_t *dsdt;
	uint32_t dsdt_len;

	out->pm1a_cnt = fadt_pm1_port(t, len, FADT_PM1A_CNT, FADT_X_PM1A_CNT);
	out->pm1b_cnt = fadt_pm1_port(t, len, FADT_PM1B_CNT, FADT_X_PM1B_CNT);
	fadt_reset(t, len, out);
	dsdt = map_table(fadt_dsdt(t, len), "DSDT", &dsdt_len);
	if (dsdt) {
		parse_dsdt(dsdt, dsdt_len, out);
	}
}

/* ---------------------------------------------------------------- RSDT / XSDT */

struct root_state {
	bool have_madt, have_fadt;
};

/* Only the first valid MADT and FADT count; other tables are not needed by the kernel. */
static void parse_entry(paddr_t pa, struct root_state *st, struct acpi_info *out)
{
	const uint8_t *t = table_header(pa);
	uint32_t len;

	if (!t) {
		return;
	}
	if (!st->have_madt && memcmp(t, "APIC", 4) == 0) {
		t = map_table(pa, "APIC", &len);
		if (t) {
			parse_madt(t, len, out);
			st->have_madt = true;
		}
	} else if (!st->have_fadt && memcmp(t, "FACP", 4) == 0) {
		t = map_table(pa, "FACP", &len);
		if (t) {
			parse_fadt(t, len, out);
			st->have_fadt = true;
		}
	}
}

/* entry_size 4: RSDT (§5.2.7); entry_size 8: XSDT (§5.2.8). */
static status_t parse_root(paddr_t pa, size_t entry_size, struct acpi_info *out)
{
	const char *sig = entry_size == 8 ? "XSDT" : "RSDT";
	struct root_state st = { false, false };
	const uint8_t *t;
	uint32_t len;

	t = map_table(pa, sig, &len);
	if (!t) {
		return VIREO_BAD_PAR;
	}
	for (size_t off = HDR_LEN; off + entry_size <= len; off += entry_size) {
		uint64_t entry = entry_size == 8 ? rd64(t, off) : rd32(t, off);
		parse_entry(pa_init(entry), &st, out);
	}
	if (!st.have_madt) {
		pr_warn("acpi: no valid MADT\n");
	}
	if (!st.have_fadt) {
		pr_warn("acpi: no valid FADT\n");
	}
	return VIREO_OK;
}

/* ---------------------------------------------------------------- RSDP, §5.2.5.3 */

#define RSDP_REVISION 15
#define RSDP_RSDT 16
#define RSDP_XSDT 24

static bool rsdp_v1_ok(const uint8_t *r, size_t len)
{
	return len >= RSDP_V1_LEN && memcmp(r, "RSD PTR ", 8) == 0 && sum_ok(r, RSDP_V1_LEN);
}

/* Revision 2 and later add the XSDT address, covered by the extended checksum. */
static bool rsdp_has_xsdt(const uint8_t *r, size_t len)
{
	return r[RSDP_REVISION] >= 2 && len >= RSDP_V2_LEN && sum_ok(r, RSDP_V2_LEN) &&
	       rd64(r, RSDP_XSDT) != 0;
}

/* Prefer the XSDT; fall back to the RSDT if the XSDT is broken. */
static status_t parse_rsdp(const uint8_t *r, size_t len, struct acpi_info *out)
{
	if (!rsdp_v1_ok(r, len)) {
		pr_warn("acpi: bad RSDP\n");
		return VIREO_BAD_PAR;
	}
	if (rsdp_has_xsdt(r, len)) {
		if (parse_root(pa_init(rd64(r, RSDP_XSDT)), 8, out) == VIREO_OK) {
			return VIREO_OK;
		}
		memset(out, 0, sizeof(*out));
	}
	return parse_root(pa_init(rd32(r, RSDP_RSDT)), 4, out);
}

status_t acpi_parse(paddr_t rsdp, struct acpi_info *out)
{
	const uint8_t *r;

	memset(out, 0, sizeof(*out));
	if (!pa_valid(rsdp) || pa_addr(rsdp) == 0) {
		return VIREO_BAD_PAR;
	}
	r = phys_to_virt(rsdp);
	/* Read the revision-2 fields only after the revision-1 part proved to be an RSDP. */
	if (!rsdp_v1_ok(r, RSDP_V1_LEN)) {
		pr_warn("acpi: bad RSDP at %#llx\n", (unsigned long long)pa_addr(rsdp));
		return VIREO_BAD_PAR;
	}
	return parse_rsdp(r, r[RSDP_REVISION] >= 2 ? RSDP_V2_LEN : RSDP_V1_LEN, out);
}

status_t acpi_parse_rsdp_copy(const void *rsdp, size_t len, struct acpi_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!rsdp) {
		return VIREO_BAD_PAR;
	}
	return parse_rsdp(rsdp, len, out);
}

paddr_t acpi_scan_rsdp(paddr_t start, size_t len)
{
	uint64_t a = ALIGN_UP(pa_addr(start), RSDP_ALIGN);
	uint64_t end = pa_addr(start) + len;

	if (end < pa_addr(start)) {
		return PADDR_INVALID;
	}
	for (; a < end && end - a >= RSDP_V1_LEN; a += RSDP_ALIGN) {
		if (rsdp_v1_ok(phys_to_virt(pa_init(a)), RSDP_V1_LEN)) {
			return pa_init(a);
		}
	}
	return PADDR_INVALID;
}

/* §5.2.5.1: the first KiB of the EBDA, then the BIOS read-only area 0xE0000-0xFFFFF. */
paddr_t acpi_find_rsdp_legacy(void)
{
	uint64_t ebda = (uint64_t)rd16(phys_to_virt(pa_init(BDA_EBDA_SEG)), 0) << 4;
	paddr_t r = PADDR_INVALID;

	/* A plausible EBDA sits in conventional memory, below the VGA hole. */
	if (ebda > 0x400 && ebda < LOW_MEM_END) {
		r = acpi_scan_rsdp(pa_init(ebda), MIN(EBDA_SCAN_LEN, LOW_MEM_END - ebda));
	}
	if (!pa_valid(r)) {
		r = acpi_scan_rsdp(pa_init(BIOS_ROM_START), BIOS_ROM_LEN);
	}
	return r;
}
