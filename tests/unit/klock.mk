# SPDX-License-Identifier: MIT
# The kernel lock's kick decision (kernel/klock_kick.h): header only, no kernel sources.
