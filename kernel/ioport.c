/* SPDX-License-Identifier: MIT */
/* The I/O ports the kernel drives itself, so that no delegation passes them through to a VM. */
#include "ioport.h"

#include "assert.h"

struct claim {
	uint32_t base, count;
	const char *what;
};

static struct claim claims[IOPORT_KERNEL_MAX];
static unsigned nclaims;

void ioport_kernel_claim(uint32_t base, uint32_t count, const char *what)
{
	CHECK(nclaims < IOPORT_KERNEL_MAX && count > 0 && base + count <= 0x10000);
	claims[nclaims++] = (struct claim){ base, count, what };
}

const char *ioport_kernel_user(uint64_t base, uint64_t count)
{
	for (unsigned i = 0; i < nclaims; i++) {
		if (base < claims[i].base + claims[i].count && claims[i].base < base + count) {
			return claims[i].what;
		}
	}
	return NULL;
}

void ioport_kernel_reset(void)
{
	nclaims = 0;
}
