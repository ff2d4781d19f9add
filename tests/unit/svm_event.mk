# SPDX-License-Identifier: MIT
# SVM event injection and re-delivery against a fake VMCB (a plain struct vmcb in host memory).
UNIT_KSRCS += kernel/svm/svm_event.c
