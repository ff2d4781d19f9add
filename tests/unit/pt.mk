# SPDX-License-Identifier: MIT
UNIT_KSRCS += kernel/pt.c
