/* SPDX-License-Identifier: MIT */
/* Lookups in a command line of whitespace-separated "key=value" and flag words. */
#include "cmdline.h"

#include "kstring.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Length of the word starting at s. */
static size_t word_len(const char *s)
{
	size_t n = 0;
	while (s[n] && !is_space(s[n])) {
		n++;
	}
	return n;
}

/* A key or flag that could match a word at all: non-empty, no whitespace, no '=' when no_eq. */
static bool valid_name(const char *name, bool no_eq)
{
	if (!name || !*name) {
		return false;
	}
	for (const char *p = name; *p; p++) {
		if (is_space(*p) || (no_eq && *p == '=')) {
			return false;
		}
	}
	return true;
}

typedef bool (*word_fn)(const char *w, size_t len, void *arg);

/*
 * Calls fn for every word until it returns true; returns whether it did. One scanner so both
 * lookups agree on what a word is.
 */
static bool for_each_word(const char *cmdline, word_fn fn, void *arg)
{
	const char *p = cmdline;
	for (;;) {
		while (is_space(*p)) {
			p++;
		}
		if (!*p) {
			return false;
		}
		size_t len = word_len(p);
		if (fn(p, len, arg)) {
			return true;
		}
		p += len;
	}
}

struct get_state {
	const char *key;
	size_t keylen;
	const char *val; /* last match, NULL when none yet */
	size_t vallen;
};

static bool match_key(const char *w, size_t len, void *arg)
{
	struct get_state *st = arg;
	if (len > st->keylen && w[st->keylen] == '=' && !memcmp(w, st->key, st->keylen)) {
		st->val = w + st->keylen + 1;
		st->vallen = len - st->keylen - 1;
	}
	return false; /* keep going: the last occurrence wins */
}

bool cmdline_get(const char *cmdline, const char *key, char *val, size_t vallen)
{
	struct get_state st = { key, 0, NULL, 0 };

	if (val && vallen) {
		val[0] = '\0';
	}
	if (!cmdline || !valid_name(key, true) || !val) {
		return false;
	}
	st.keylen = strlen(key);
	for_each_word(cmdline, match_key, &st);
	if (!st.val || st.vallen >= vallen) {
		return false;
	}
	memcpy(val, st.val, st.vallen);
	val[st.vallen] = '\0';
	return true;
}

struct has_state {
	const char *word;
	size_t len;
};

static bool match_word(const char *w, size_t len, void *arg)
{
	const struct has_state *st = arg;
	return len == st->len && !memcmp(w, st->word, len);
}

bool cmdline_has(const char *cmdline, const char *word)
{
	if (!cmdline || !valid_name(word, false)) {
		return false;
	}
	struct has_state st = { word, strlen(word) };
	return for_each_word(cmdline, match_word, &st);
}
