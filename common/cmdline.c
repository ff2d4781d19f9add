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

static int digit_value(char c, unsigned base)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (base == 16 && c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	return -1;
}

size_t cmdline_parse_u64(const char *s, uint64_t *val)
{
	if (!s || !val) {
		return 0;
	}
	unsigned base = 10;
	size_t i = 0;
	if (s[0] == '0' && s[1] == 'x') {
		base = 16;
		i = 2;
	}
	size_t first = i;
	uint64_t v = 0;
	for (int d; (d = digit_value(s[i], base)) >= 0; i++) {
		if (v > (UINT64_MAX - (uint64_t)d) / base) {
			return 0; /* does not fit: no prefix of it is the number meant */
		}
		v = v * base + (uint64_t)d;
	}
	if (i == first) {
		return 0; /* no digit, or "0x" with no hex digit after it */
	}
	*val = v;
	return i;
}

bool cmdline_get_u64(const char *cmdline, const char *key, uint64_t *val)
{
	char buf[24]; /* "0x" and 16 hex digits, or 20 decimal ones, with the NUL */
	uint64_t v;
	if (!val || !cmdline_get(cmdline, key, buf, sizeof(buf))) {
		return false;
	}
	size_t n = cmdline_parse_u64(buf, &v);
	if (n == 0 || buf[n]) {
		return false;
	}
	*val = v;
	return true;
}
