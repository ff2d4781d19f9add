# SPDX-License-Identifier: MIT
# The kernel lock: a waiter's kick (kernel/klock_kick.h) and a releaser's hand-over
# (kernel/klock_hand_over.h); headers only, no kernel sources.
