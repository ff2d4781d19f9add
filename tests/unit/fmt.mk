UNIT_KSRCS += common/fmt.c
