# SPDX-License-Identifier: MIT
# The kernel core (objects, capabilities, IPC, scheduler, system calls, vCPU checks, the SVM and VMX state
# translation) linked unchanged over the fake arch layer, with the harness in tests/fake/core/.
UNIT_KSRCS += kernel/ipc.c kernel/fastpath.c kernel/pd.c kernel/sched.c kernel/syscall.c kernel/vcpu.c \
	kernel/ec.c kernel/sc.c kernel/sm.c kernel/portal.c kernel/obj.c kernel/runq.c \
	kernel/mdb.c kernel/quota.c kernel/slab.c kernel/frame.c kernel/pt.c kernel/svm/svm.c kernel/svm/svm_event.c \
	kernel/asid.c \
	kernel/vcpu_check.c kernel/vmx/vmx.c kernel/vmx/vmx_ctl.c kernel/vmx/vmx_exit.c kernel/vmx/vmx_io.c \
	kernel/ioport.c \
	kernel/irq.c kernel/timer.c kernel/x86/trap.c \
	$(wildcard tests/fake/core/*.c)
UNIT_CFLAGS += -Itests/fake/core
