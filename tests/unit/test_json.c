/* Strict JSON: what a lax tokeniser accepts but JSON does not is refused; depth is capped in
 * linear time; text checks; escapes; integers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "dgaudit/json.h"

static const struct {
	const char *text;
	int ok;
} docs[] = {
    {"{}", 1},
    {"  {\"a\":1}  ", 1},
    {"{\"a\":[1,2,{\"b\":null}],\"c\":\"x\"}", 1},
    {"{\"a\":-0.5e+10,\"b\":true,\"c\":false}", 1},
    {"{\"a\":\"\\u00e9\\n\\\"\"}", 1},
    {"{\"a\":1,}", 0},         /* trailing comma */
    {"{,\"a\":1}", 0},         /* leading comma */
    {"{\"a\":1,,\"b\":2}", 0}, /* doubled comma */
    {"{\"a\":1 \"b\":2}", 0},  /* missing comma */
    {"{\"a\" 1}", 0},          /* missing colon */
    {"{\"a\"}", 0},            /* key without value */
    {"{\"a\":[1,2,]}", 0},
    {"{\"a\":[1 2]}", 0},
    {"{\"a\":tru}", 0},
    {"{\"a\":nul}", 0},
    {"{\"a\":01}", 0}, /* leading zero */
    {"{\"a\":1.}", 0},
    {"{\"a\":.5}", 0},
    {"{\"a\":1e}", 0},
    {"{\"a\":\"\\x\"}", 0}, /* bad escape */
    {"{\"a\":\"\\u12\"}", 0},
    {"{\"a\":1", 0}, /* truncated */
    {"{\"a\":\"abc", 0},
    {"[1,2]", 0}, /* not an object */
    {"\"x\"", 0},
    {"{} {}", 0}, /* two values */
    {"{}x", 0},
    {"", 0},
    {"{1:2}", 0},
    {"{\"a\":1x}", 0}, /* a number runs into a letter */
    {"{\"a\":truex}", 0},
    {"{\"a\":\"tab\there\"}", 0}, /* an unescaped control character */
    {"{\"a\":\"\\", 0},           /* an escape cut off */
    {"{\"a\":[]}", 1},
    {"{\"a\":{}}", 1},
    {" \t{ \"a\" : [ 1 , { } ] }\r\n", 1},
    {"{\"a\":1]", 0}, /* the wrong closing bracket */
    {"{\"a\":[1}", 0},
    {"{}}", 0},
};

static void test_documents(void **state)
{
	struct dg_json *j = dg_json_new(0);

	(void)state;
	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		const char *why = NULL;
		int n = dg_json_parse(j, docs[i].text, strlen(docs[i].text), &why);

		if (docs[i].ok != (n > 0))
			fail_msg("%s: expected %s, got %d (%s)", docs[i].text,
			         docs[i].ok ? "valid" : "invalid", n, why ? why : "");
	}
	dg_json_free(j);
}

static void test_depth_limit(void **state)
{
	char deep[2 * (DG_JSON_MAX_DEPTH + 2) + 16];
	struct dg_json *j = dg_json_new(0);
	const char *why;
	size_t n = 0;

	(void)state;
	deep[n++] = '{';
	memcpy(deep + n, "\"a\":", 4);
	n += 4;
	for (int i = 0; i < DG_JSON_MAX_DEPTH; i++)
		deep[n++] = '[';
	for (int i = 0; i < DG_JSON_MAX_DEPTH; i++)
		deep[n++] = ']';
	deep[n++] = '}';
	assert_int_equal(dg_json_parse(j, deep, n, &why), -1);
	assert_string_equal(why, "JSON nested too deeply");
	dg_json_free(j);
}

/* Linear whatever the shape: a 1 MiB record of brackets is refused at the limit, not scanned
 * back and forth (a minutes-long stall with the old tokeniser); the limit is the caller's. */
static void test_deep_input_and_own_limit(void **state)
{
	static char big[1 << 20];
	size_t half = (sizeof big - 6) / 2, n = 0;
	struct dg_json *j = dg_json_new(0), *shallow = dg_json_new(3);
	const char *why = NULL;

	(void)state;
	memcpy(big, "{\"a\":", 5);
	n = 5;
	memset(big + n, '[', half);
	memset(big + n + half, ']', half);
	n += 2 * half;
	big[n++] = '}';
	assert_int_equal(dg_json_parse(j, big, n, &why), -1);
	assert_string_equal(why, "JSON nested too deeply");
	assert_int_equal(dg_json_parse(shallow, "{\"a\":{\"b\":[1]}}", 15, &why), 6);
	assert_int_equal(dg_json_parse(shallow, "{\"a\":{\"b\":[[1]]}}", 17, &why), -1);
	assert_string_equal(why, "JSON nested too deeply");
	dg_json_free(j);
	dg_json_free(shallow);
}

static void test_tokens_and_skips(void **state)
{
	const char *s = "{\"a\":{\"b\":[1,2]},\"c\":\"d\"}";
	struct dg_json *j = dg_json_new(0);
	const char *why;
	const struct dg_json_tok *t;

	(void)state;
	/* { "a" { "b" [ 1 2 ] } "c" "d" }: tokens 0..8 */
	assert_int_equal(dg_json_parse(j, s, strlen(s), &why), 9);
	t = dg_json_tokens(j);
	assert_int_equal(t[0].type, DG_JSON_OBJECT);
	assert_int_equal(t[0].size, 2);
	assert_int_equal(t[0].next, 9);
	assert_int_equal(t[2].next, 7); /* a's value spans tokens 2..6 */
	assert_int_equal(t[4].type, DG_JSON_ARRAY);
	assert_int_equal(t[4].size, 2);
	assert_int_equal(t[7].type, DG_JSON_STRING);
	assert_memory_equal(s + t[7].start, "c", 1);
	dg_json_free(j);
}

static void test_many_tokens_grow(void **state)
{
	static char big[40000];
	struct dg_json *j = dg_json_new(0);
	const char *why;
	size_t n = 0;

	(void)state;
	n += (size_t)sprintf(big, "{\"a\":[");
	for (int i = 0; i < 5000; i++)
		n += (size_t)sprintf(big + n, "%s%d", i ? "," : "", i);
	n += (size_t)sprintf(big + n, "]}");
	assert_int_equal(dg_json_parse(j, big, n, &why), 5003);
	dg_json_free(j);
}

static const struct {
	const char *text;
	size_t len;
	const char *why;
	size_t at;
} texts[] = {
    {"plain ascii text, long enough for the fast path", 0, NULL, 0},
    {"caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80", 0, NULL, 0},
    {"tab\tand\r\nnewline", 0, NULL, 0},
    {"nul\0byte", 8, "NUL byte", 3},
    {"bell\x07", 0, "control character", 4},
    {"bad \xc3", 0, "invalid UTF-8", 4},             /* cut sequence */
    {"over \xc0\xaf", 0, "invalid UTF-8", 5},        /* overlong */
    {"long \xe0\x80\xaf", 0, "invalid UTF-8", 5},    /* overlong 3-byte */
    {"surr \xed\xa0\x80", 0, "invalid UTF-8", 5},    /* UTF-16 surrogate */
    {"big \xf4\x90\x80\x80", 0, "invalid UTF-8", 4}, /* beyond U+10FFFF */
    {"cont \x80", 0, "invalid UTF-8", 5},
    {"0123456789abcdef\xff", 0, "invalid UTF-8", 16}, /* after a fast-path block */
};

static void test_text_checks(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		const char *why = NULL;
		size_t at = 999, len = texts[i].len ? texts[i].len : strlen(texts[i].text);
		bool ok = dg_json_check_text(texts[i].text, len, &why, &at);

		if (texts[i].why == NULL) {
			assert_true(ok);
		} else {
			assert_false(ok);
			assert_string_equal(why, texts[i].why);
			assert_int_equal(at, texts[i].at);
		}
	}
}

static void test_unescape(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"plain", "plain"},
	    {"a\\\"b\\\\c\\/d", "a\"b\\c/d"},
	    {"\\b\\f\\n\\r\\t", "\b\f\n\r\t"},
	    {"\\u00e9", "\xc3\xa9"},
	    {"\\u4e2d", "\xe4\xb8\xad"},
	    {"\\ud83d\\ude00", "\xf0\x9f\x98\x80"}, /* surrogate pair */
	    {"\\ud83d", "\xef\xbf\xbd"},            /* lone high surrogate */
	    {"\\ude00x", "\xef\xbf\xbdx"},          /* lone low surrogate */
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = dg_json_unescape(cases[i].in, strlen(cases[i].in), out);

		assert_int_equal(n, strlen(cases[i].out));
		assert_memory_equal(out, cases[i].out, n);
	}
}

static void test_integers(void **state)
{
	int64_t v;

	(void)state;
	assert_true(dg_json_int("0", 1, &v) && v == 0);
	assert_true(dg_json_int("-42", 3, &v) && v == -42);
	assert_true(dg_json_int("9223372036854775807", 19, &v) && v == INT64_MAX);
	assert_true(dg_json_int("-9223372036854775808", 20, &v) && v == INT64_MIN);
	assert_false(dg_json_int("9223372036854775808", 19, &v));
	assert_false(dg_json_int("1.0", 3, &v));
	assert_false(dg_json_int("1e3", 3, &v));
	assert_false(dg_json_int("01", 2, &v));
	assert_false(dg_json_int("-", 1, &v));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_documents),
	    cmocka_unit_test(test_depth_limit),
	    cmocka_unit_test(test_deep_input_and_own_limit),
	    cmocka_unit_test(test_tokens_and_skips),
	    cmocka_unit_test(test_many_tokens_grow),
	    cmocka_unit_test(test_text_checks),
	    cmocka_unit_test(test_unescape),
	    cmocka_unit_test(test_integers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
