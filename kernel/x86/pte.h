/* SPDX-License-Identifier: MIT */
/* Bit masks of the page-table entry formats kernel/pt.c writes: x86 long mode and Intel EPT. */
#ifndef KERNEL_X86_PTE_H
#define KERNEL_X86_PTE_H

/*
 * x86 4-level paging entries: Intel SDM Vol. 3A §4.5 "4-Level Paging and 5-Level Paging"
 * (Tables 4-15 to 4-20) and AMD APM Vol. 2 §5.3 "Long-Mode Page Translation". AMD nested page
 * tables use the same format (APM Vol. 2 §15.25.5 "Nested Table Walk"); their walks count as
 * user accesses, so every NPT entry needs PTE_US.
 */
#define PTE_P (1ull << 0)   /* present */
#define PTE_RW (1ull << 1)  /* writable */
#define PTE_US (1ull << 2)  /* user accessible */
#define PTE_PWT (1ull << 3) /* page-level write-through */
#define PTE_PCD (1ull << 4) /* page-level cache disable */
#define PTE_A (1ull << 5)   /* accessed (set by the CPU) */
#define PTE_D (1ull << 6)   /* dirty, leaves only (set by the CPU) */
#define PTE_PS (1ull << 7)  /* PDPTE/PDE: maps a 1 GiB / 2 MiB page instead of a table */
#define PTE_PAT (1ull << 7) /* 4 KiB PTE: PAT index bit 2 (same bit as PS one level up) */
#define PTE_G (1ull << 8)   /* global: survives a CR3 write when CR4.PGE is set */
/* Software: bits 9-11 are ignored by the CPU at every level (Intel: "Ignored", AMD: "AVL"). */
#define PTE_SW_SHARED (1ull << 11) /* pt_share_top: the subtree belongs to another table */
#define PTE_PAT_LARGE (1ull << 12) /* 2 MiB / 1 GiB leaves: PAT index bit 2 */
#define PTE_NX (1ull << 63)	   /* execute disable (needs EFER.NXE) */

/* Physical address fields: bits 12-51 (MAXPHYADDR is at most 52). */
#define PTE_ADDR_MASK 0x000ffffffffff000ull
#define PTE_ADDR_MASK_2M 0x000fffffffe00000ull
#define PTE_ADDR_MASK_1G 0x000fffffc0000000ull

/*
 * Intel EPT entries: Intel SDM Vol. 3C §28.2.2 "EPT Translation Mechanism" (§29.3.2 in the 2023
 * and later editions), Tables "Format of an EPT PML4 Entry" to "Format of an EPT Page-Table Entry".
 * There is no present bit: an entry with bits 0-2 all clear is not present.
 */
#define EPT_R (1ull << 0) /* read */
#define EPT_W (1ull << 1) /* write (W without R is a misconfiguration) */
#define EPT_X (1ull << 2) /* execute (supervisor execute with mode-based execute control) */
#define EPT_RWX (EPT_R | EPT_W | EPT_X)
#define EPT_MT_SHIFT 3 /* leaves only: memory type, SDM "EPT and Memory Typing" */
#define EPT_MT_MASK (7ull << EPT_MT_SHIFT)
#define EPT_MT_UC 0ull
#define EPT_MT_WC 1ull
#define EPT_MT_WT 4ull
#define EPT_MT_WP 5ull
#define EPT_MT_WB 6ull
#define EPT_IPAT (1ull << 6)  /* leaves only: ignore the guest PAT */
#define EPT_LARGE (1ull << 7) /* PDPTE/PDE: maps a 1 GiB / 2 MiB page */
#define EPT_A (1ull << 8)     /* accessed (when enabled in the EPTP) */
#define EPT_D (1ull << 9)     /* dirty, leaves only (when enabled in the EPTP) */
#define EPT_XU (1ull << 10)   /* user execute, only with mode-based execute control */
/* Software: bit 11 is ignored at every level of the EPT format. */
#define EPT_SW_SHARED (1ull << 11)
#define EPT_SVE (1ull << 63) /* leaves only: suppress #VE */

#define EPT_ADDR_MASK PTE_ADDR_MASK

/* Both formats: 512 eight-byte entries per 4 KiB table, 9 address bits per level. */
#define PTE_PER_TABLE 512
#define PTE_INDEX_BITS 9

#endif
