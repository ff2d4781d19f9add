/* SPDX-License-Identifier: MIT */
/*
 * Lookups in a command line of whitespace-separated "key=value" and flag words: the kernel's and
 * every boot module's (the roottask, the VMM and the native tasks use the same rules).
 */
#ifndef COMMON_CMDLINE_H
#define COMMON_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Finds the word "key=value" in cmdline and copies value, NUL-terminated, into val. Words are
 * separated by spaces or tabs; there is no quoting. Only whole words match: key "fp" does not
 * match "fpu=lazy", and a bare flag word "key" (no '=') is not a key=value word. When the key
 * appears several times the last one wins, so a later argument overrides an earlier one.
 *
 * Returns false, with val set to "" when vallen > 0, if cmdline or key is NULL, key is empty or
 * holds '=' or whitespace, the key is absent, or the value does not fit in vallen bytes with its
 * NUL (a cut-off value could be misread, e.g. a number missing digits). "key=" gives "" and true.
 */
bool cmdline_get(const char *cmdline, const char *key, char *val, size_t vallen);

/*
 * True if cmdline holds word as a whole word ("quiet" matches "a quiet b", not "quieter" nor
 * "quiet=1"). False for a NULL cmdline or word, an empty word or one holding whitespace.
 */
bool cmdline_has(const char *cmdline, const char *word);

/*
 * Parses an unsigned number at the start of s: decimal, or hexadecimal after "0x" (lower-case
 * digits a-f only, as the module command lines in docs/ABI.md write them). Returns how many
 * characters it took, with the number in *val; 0, with *val untouched, when s does not start with
 * a digit, when "0x" has no hex digit after it, or when the number does not fit in 64 bits. What
 * follows the number is the caller's ("0x3f8:8" gives 0x3f8 and leaves ":8").
 */
size_t cmdline_parse_u64(const char *s, uint64_t *val);

/*
 * The value of "key=value" (cmdline_get's rules: whole words, the last one wins) as a number of
 * cmdline_parse_u64's form, and nothing else after it. True with the number in *val; false, with
 * *val untouched, when the key is absent, its value is empty, too long, holds anything but the
 * number ("12k", "x1", "1 2" is two words anyway) or overflows 64 bits.
 */
bool cmdline_get_u64(const char *cmdline, const char *key, uint64_t *val);

#endif
