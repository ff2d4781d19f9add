# SPDX-License-Identifier: MIT
UNIT_KSRCS += kernel/msg.c
