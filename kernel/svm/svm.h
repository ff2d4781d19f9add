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

/*
 * The two halves of svm_ops.run around VMRUN, so that host tests run them around a scripted
 * guest: before entry (nested root, TLB control, the next event into EVENTINJ), and after the
 * exit (the cut-off event back into pending; #AC and #DB reflected into the guest; true when the
 * kernel handled the exit and the guest goes on, false when the VMM must see it).
 */
void svm_run_enter(struct vcpu *v, paddr_t gpt_root);
bool svm_run_exit(struct vcpu *v);

#endif
