/* List lookups: exact strings with and without case, prefixes, suffixes and substrings (held
 * to a brute-force search on random needles and texts), CIDR blocks of every length, dates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dgaudit/sets.h"

static void test_strings(void **state)
{
	char *items[] = {"UnionPay", "Ping-An", "UnionPay", ""};
	struct dg_strset *s = dg_sets_str_new(items, 4, false);
	struct dg_strset *ci = dg_sets_str_new(items, 4, true);

	(void)state;
	assert_true(dg_sets_str_has(s, "UnionPay", 8));
	assert_false(dg_sets_str_has(s, "unionpay", 8));
	assert_true(dg_sets_str_has(ci, "UNIONPAY", 8));
	assert_true(dg_sets_str_has(s, "", 0));
	assert_false(dg_sets_str_has(s, "Union", 5));
	assert_false(dg_sets_str_has(ci, "Ping-An-Insurance", 17));
	dg_sets_str_free(s);
	dg_sets_str_free(ci);
}

static uint64_t rng = 88172645463325252ULL;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static void random_text(char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = "abcAB."[rnd(6)]; /* a small alphabet: many partial matches */
	buf[len] = '\0';
}

static bool brute(enum dg_affix_kind kind, char **needles, size_t n, const char *s, bool ic)
{
	size_t len = strlen(s);

	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(needles[i]);
		int (*cmp)(const char *, const char *, size_t) = ic ? strncasecmp : strncmp;

		if (nl > len)
			continue;
		if (kind == DG_AFFIX_PREFIX && cmp(s, needles[i], nl) == 0)
			return true;
		if (kind == DG_AFFIX_SUFFIX && cmp(s + len - nl, needles[i], nl) == 0)
			return true;
		for (size_t k = 0; kind == DG_AFFIX_SUBSTRING && k + nl <= len; k++)
			if (cmp(s + k, needles[i], nl) == 0)
				return true;
	}
	return false;
}

/* Tries and the automaton agree with a brute-force search, case folded or not. */
static void test_affixes_agree_with_brute_force(void **state)
{
	(void)state;
	for (int round = 0; round < 300; round++) {
		char store[8][8], *needles[8], text[40];
		size_t n = 1 + rnd(8);
		bool ic = round % 2;

		for (size_t i = 0; i < n; i++) {
			random_text(store[i], 1 + rnd(5));
			needles[i] = store[i];
		}
		for (int kind = DG_AFFIX_PREFIX; kind <= DG_AFFIX_SUBSTRING; kind++) {
			struct dg_affix *a =
			    dg_sets_affix_new((enum dg_affix_kind)kind, needles, n, ic);

			for (int t = 0; t < 30; t++) {
				random_text(text, rnd(30));
				if (dg_sets_affix_match(a, text, strlen(text)) !=
				    brute((enum dg_affix_kind)kind, needles, n, text, ic))
					fail_msg("kind %d, round %d: \"%s\" (first needle \"%s\")",
					         kind, round, text, needles[0]);
			}
			dg_sets_affix_free(a);
		}
	}
}

static void test_affix_examples(void **state)
{
	char *pre[] = {"audit.", "pgaudit", "server_audit"};
	char *sub[] = {"he", "she", "his", "hers"};
	struct dg_affix *p = dg_sets_affix_new(DG_AFFIX_PREFIX, pre, 3, false);
	struct dg_affix *s = dg_sets_affix_new(DG_AFFIX_SUBSTRING, sub, 4, false);

	(void)state;
	assert_true(dg_sets_affix_match(p, "pgaudit.log", 11));
	assert_true(dg_sets_affix_match(p, "audit.access_log", 16));
	assert_false(dg_sets_affix_match(p, "core.audit.x", 12));
	assert_true(dg_sets_affix_match(s, "ushers", 6));
	assert_true(dg_sets_affix_match(s, "xhisx", 5));
	assert_false(dg_sets_affix_match(s, "hxsxe", 5));
	dg_sets_affix_free(p);
	dg_sets_affix_free(s);
}

static struct dg_cidrset *cidrs(const char *const *blocks, size_t n)
{
	struct dg_ip_cidr c[16];

	for (size_t i = 0; i < n; i++)
		assert_true(dg_ip_cidr_parse(blocks[i], &c[i]));
	return dg_sets_cidr_new(c, n);
}

static bool in(const struct dg_cidrset *s, const char *addr)
{
	uint8_t a[16];

	assert_true(dg_ip_parse(addr, strlen(addr), a));
	return dg_sets_cidr_has(s, a);
}

static void test_cidr(void **state)
{
	static const char *const blocks[] = {"10.0.0.0/8",  "192.168.1.0/24", "172.16.0.0/12",
	                                     "203.0.113.7", "fd00::/8",       "2001:db8:1::/48"};
	static const char *const all[] = {"0.0.0.0/0"};
	struct dg_cidrset *s = cidrs(blocks, 6), *any = cidrs(all, 1);

	(void)state;
	assert_true(in(s, "10.255.255.255"));
	assert_true(in(s, "192.168.1.200"));
	assert_false(in(s, "192.168.2.1"));
	assert_true(in(s, "172.31.0.1"));
	assert_false(in(s, "172.32.0.1"));
	assert_true(in(s, "203.0.113.7"));
	assert_false(in(s, "203.0.113.8"));
	assert_true(in(s, "fdab::1"));
	assert_true(in(s, "2001:db8:1:ffff::1"));
	assert_false(in(s, "2001:db8:2::1"));
	assert_true(in(any, "8.8.8.8"));
	dg_sets_cidr_free(s);
	dg_sets_cidr_free(any);
}

static void test_dates(void **state)
{
	int64_t days[] = {20454, 20450, 20454, 20460};
	struct dg_dateset *s = dg_sets_date_new(days, 4);

	(void)state;
	assert_int_equal(dg_sets_date_count(s), 3);
	assert_true(dg_sets_date_has(s, 20450));
	assert_true(dg_sets_date_has(s, 20460));
	assert_false(dg_sets_date_has(s, 20451));
	assert_false(dg_sets_date_has(NULL, 20450));
	dg_sets_date_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_affixes_agree_with_brute_force),
	    cmocka_unit_test(test_affix_examples),
	    cmocka_unit_test(test_cidr),
	    cmocka_unit_test(test_dates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
