/* SPDX-License-Identifier: MIT */
/*
 * The resume fast path's tests (test_kcore_vcpu_fast.c) over vcpu.c's generic round: the SVM
 * backend without its own resume_fast, as a backend without one (VT-x today) runs.
 */
#define KCORE_FAST_SUITE kcore_fast_generic
#define KCORE_FAST_GENERIC 1
#include "test_kcore_vcpu_fast.c"
