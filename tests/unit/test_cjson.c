/* Canonical JSON as RFC 8785 defines it for integer-only documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/cjson.h"

static char *canon(const struct dg_cjson *v)
{
	struct dg_buf b = {0};

	dg_cjson_write(v, &b);
	return dg_buf_steal(&b);
}

static void test_string_escaping(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *out;
	} cases[] = {
	    {"plain", 0, "\"plain\""},
	    {"q\"b\\", 0, "\"q\\\"b\\\\\""},
	    {"\b\t\n\f\r", 0, "\"\\b\\t\\n\\f\\r\""},
	    {"\x01\x1f", 0, "\"\\u0001\\u001f\""},
	    {"\x7f/", 0, "\"\x7f/\""}, /* DEL and slash stay */
	    {"\xe2\x82\xac\xf0\x9f\x98\x80", 0, "\"\xe2\x82\xac\xf0\x9f\x98\x80\""},
	    {"a\0b", 3, "\"a\\u0000b\""},
	    {"bad\xff", 0, "\"bad\xef\xbf\xbd\""}, /* invalid UTF-8 replaced */
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
		struct dg_cjson *v = dg_cjson_strn(cases[i].in, len);
		char *s = canon(v);

		assert_string_equal(s, cases[i].out);
		free(s);
		dg_cjson_free(v);
	}
}

static void test_key_order(void **state)
{
	struct dg_cjson *o = dg_cjson_object();
	char *s;

	(void)state;
	/* RFC 8785 3.2.3: UTF-16 code unit order, so U+1F600 (D83D DE00) sorts before U+FB33. */
	dg_cjson_set(o, "\xef\xac\xb3", dg_cjson_int(1));
	dg_cjson_set(o, "\xf0\x9f\x98\x80", dg_cjson_int(2));
	dg_cjson_set(o, "b", dg_cjson_int(3));
	dg_cjson_set(o, "a", dg_cjson_int(4));
	dg_cjson_set(o, "aa", dg_cjson_int(5));
	dg_cjson_set(o, "A", dg_cjson_int(6));
	dg_cjson_set(o, "a", dg_cjson_int(7)); /* replaces */
	s = canon(o);
	assert_string_equal(s, "{\"A\":6,\"a\":7,\"aa\":5,\"b\":3,\"\xf0\x9f\x98\x80\":2,"
	                       "\"\xef\xac\xb3\":1}");
	free(s);
	dg_cjson_free(o);
}

static void test_values(void **state)
{
	struct dg_cjson *o = dg_cjson_object(), *a;
	char *s;

	(void)state;
	a = dg_cjson_set(o, "list", dg_cjson_array());
	dg_cjson_push(a, dg_cjson_int(-9007199254740991));
	dg_cjson_push(a, dg_cjson_bool(true));
	dg_cjson_push(a, dg_cjson_null());
	dg_cjson_push(a, dg_cjson_raw("{\"x\":1}", 7));
	s = canon(o);
	assert_string_equal(s, "{\"list\":[-9007199254740991,true,null,{\"x\":1}]}");
	free(s);
	dg_cjson_free(o);
}

static void test_parse_round_trip(void **state)
{
	const char *in = " { \"b\" : [ 1 , \"\\u00e9\\u0001\" ] , \"a\" : { \"z\" : null , \"y\" : "
	                 "false } } ";
	const char *want = "{\"a\":{\"y\":false,\"z\":null},\"b\":[1,\"\xc3\xa9\\u0001\"]}";
	const char *why = NULL;
	struct dg_cjson *v = dg_cjson_parse(in, strlen(in), &why);
	char *s;
	int64_t n;

	(void)state;
	assert_non_null(v);
	s = canon(v);
	assert_string_equal(s, want);
	assert_true(dg_cjson_intval(dg_cjson_at(dg_cjson_get(v, "b"), 0), &n) && n == 1);
	assert_null(dg_cjson_get(v, "missing"));
	free(s);
	dg_cjson_free(v);
	assert_null(dg_cjson_parse("{\"a\":1.5}", 9, &why));
	assert_string_equal(why, "number is not an integer");
	assert_null(dg_cjson_parse("{\"a\":1,\"a\":2}", 13, &why));
	assert_string_equal(why, "duplicate key");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_string_escaping),
	    cmocka_unit_test(test_key_order),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_parse_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
