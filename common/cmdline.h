/* SPDX-License-Identifier: MIT */
/*
 * Lookups in a command line of whitespace-separated "key=value" and flag words: the kernel's and
 * every boot module's (the roottask, the VMM and the native tasks use the same rules).
 */
#ifndef COMMON_CMDLINE_H
#define COMMON_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

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

#endif
