/* SPDX-License-Identifier: MIT */
/* The AMD SVM backend's ops table (kernel/svm/svm.c); generic code reaches it through svm_probe. */
#ifndef KERNEL_SVM_SVM_H
#define KERNEL_SVM_SVM_H

#include "virt.h"

/*
 * Visible so that host unit tests can call its load and store on a plain in-memory VMCB
 * (struct vcpu with `hw` pointing at it): the state <-> VMCB translation needs no hardware.
 */
extern const struct virt_ops svm_ops;

#endif
