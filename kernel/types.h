/* SPDX-License-Identifier: MIT */
/* Basic kernel types: distinct wrappers for host-physical, guest-physical and virtual addresses. */
#ifndef KERNEL_TYPES_H
#define KERNEL_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vireo/status.h>

typedef enum vireo_status status_t;

/* Host-physical address. A struct so it cannot be mixed with a pointer or a guest address. */
typedef struct {
	uint64_t pa;
} paddr_t;

/* Guest-physical address (what an NPT/EPT translates). */
typedef struct {
	uint64_t gpa;
} gpaddr_t;

/* Virtual address in some address space, as a number (not dereferenceable by itself). */
typedef struct {
	uint64_t va;
} vaddr_t;

static inline paddr_t pa_init(uint64_t a)
{
	return (paddr_t){ a };
}
static inline uint64_t pa_addr(paddr_t p)
{
	return p.pa;
}
static inline paddr_t pa_add(paddr_t p, uint64_t off)
{
	return (paddr_t){ p.pa + off };
}
static inline gpaddr_t gpa_init(uint64_t a)
{
	return (gpaddr_t){ a };
}
static inline uint64_t gpa_addr(gpaddr_t p)
{
	return p.gpa;
}
static inline vaddr_t va_init(uint64_t a)
{
	return (vaddr_t){ a };
}
static inline uint64_t va_addr(vaddr_t v)
{
	return v.va;
}

/* The physical address no allocation ever returns. */
#define PADDR_INVALID ((paddr_t){ UINT64_MAX })
static inline bool pa_valid(paddr_t p)
{
	return p.pa != UINT64_MAX;
}

#define PAGE_SHIFT 12
#define PAGE_SIZE (UINT64_C(1) << PAGE_SHIFT)
#define PAGE_MASK (PAGE_SIZE - 1)
#define LARGE_PAGE_SIZE (UINT64_C(1) << 21)
#define HUGE_PAGE_SIZE (UINT64_C(1) << 30)

#define ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a)-1))
#define ALIGN_UP(x, a) ALIGN_DOWN((x) + (uint64_t)(a)-1, (a))
#define IS_ALIGNED(x, a) (((x) & ((uint64_t)(a)-1)) == 0)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(p, type, member) ((type *)((char *)(p) - __builtin_offsetof(type, member)))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define __packed __attribute__((packed))
#define __noreturn __attribute__((noreturn))
#define __aligned(n) __attribute__((aligned(n)))
#define __unused __attribute__((unused))

#endif
