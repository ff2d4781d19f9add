/* SPDX-License-Identifier: MIT */
/* C start-up: run main and end the EC with its result. */
#include "vireo.h"

void vireo_main_entry(uintptr_t arg);

void exit(int code)
{
	(void)code;
	sys_ec_exit();
}

void vireo_main_entry(uintptr_t arg)
{
	exit(main(arg));
}
