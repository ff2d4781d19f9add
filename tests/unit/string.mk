# SPDX-License-Identifier: MIT
# common/string.c is compiled into its test under other names (test_string.c includes it), so the
# host's libc and the sanitizers keep their own memcpy.
