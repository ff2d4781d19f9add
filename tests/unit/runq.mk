# SPDX-License-Identifier: MIT
UNIT_KSRCS += kernel/runq.c
