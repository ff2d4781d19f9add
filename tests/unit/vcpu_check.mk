# SPDX-License-Identifier: MIT
# The entry checks of a VMM-written guest state (pure: the state and the host's limits).
UNIT_KSRCS += kernel/vcpu_check.c
