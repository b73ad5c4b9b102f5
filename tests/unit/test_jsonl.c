/* JSON lines to events: nested and dotted keys, only wanted fields, and every defect that makes
 * a record malformed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/jsonl.h"

#include "evt_assert.h"

struct fixture {
	struct dg_schema *schema;
	struct dg_jsonl *p;
	struct dg_evt evt;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	char *cause = NULL;

	f->schema = dg_schema_new();
	assert_int_equal(dg_schema_alias(f->schema, "actor", DG_F_USER_NAME, &cause), 0);
	assert_true(dg_schema_add(f->schema, "labels.team", DG_TYPE_STRING, &cause) >= DG_F_NMODEL);
	f->p = dg_jsonl_new(f->schema, 4096, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	dg_jsonl_free(f->p);
	dg_schema_free(f->schema);
	free(f);
	return 0;
}

static int parse(struct fixture *f, const char *line, const char **why)
{
	*why = NULL;
	return dg_jsonl_parse(f->p, line, strlen(line), &f->evt, why);
}

static void assert_field(struct fixture *f, int field, const char *want)
{
	assert_non_null(want);
	assert_evt_field(&f->evt, field, want);
}

static void test_nested_and_dotted_agree(void **state)
{
	struct fixture *f = *state;
	const char *why;
	static const char *const lines[] = {
	    ("{\"@timestamp\":\"2026-11-02T00:00:01Z\",\"user\":{\"name\":\"ann\",\"roles\":["
	     "\"dba\",\"x\"]},\"dg\":{\"object\":\"core.customers\",\"records\":12}}"),
	    ("{\"@timestamp\":\"2026-11-02T00:00:01Z\",\"user.name\":\"ann\",\"user.roles\":["
	     "\"dba\",\"x\"],\"dg.object\":\"core.customers\",\"dg.records\":12}"),
	    ("{\"dg\":{\"records\":12,\"object\":\"core.customers\"},\"user\":{\"roles\":["
	     "\"dba\",\"x\"]},\"user.name\":\"ann\",\"@timestamp\":\"2026-11-02T08:00:01+08:00\"}"),
	};

	for (size_t i = 0; i < 3; i++) {
		int64_t n;

		assert_int_equal(parse(f, lines[i], &why), 0);
		assert_int_equal(f->evt.ts_ms, 1793577601000);
		assert_field(f, DG_F_USER_NAME, "ann");
		assert_field(f, DG_F_OBJECT, "core.customers");
		assert_true(dg_evt_int(&f->evt, DG_F_RECORDS, &n) && n == 12);
		assert_int_equal(f->evt.v[DG_F_USER_ROLES].kind, DG_K_ARRAY);
		assert_int_equal(f->evt.v[DG_F_USER_ROLES].nitems, 2);
		assert_false(dg_evt_has(&f->evt, DG_F_CLASSIFICATION));
	}
}

static void test_escapes_aliases_extras(void **state)
{
	struct fixture *f = *state;
	const char *why;

	assert_int_equal(parse(f,
	                       "{\"@timestamp\":\"2026-11-02T00:00:00Z\",\"actor\":\"b\\u00f6b\","
	                       "\"labels\":{\"team\":\"ops\",\"other\":{\"deep\":[1,{\"x\":2}]}},"
	                       "\"message\":\"a\\nb\",\"ignored\":{\"user\":{\"name\":\"no\"}}}",
	                       &why),
	                 0);
	assert_field(f, DG_F_USER_NAME,
	             "b\xc3\xb6"
	             "b");
	assert_field(f, DG_F_MESSAGE, "a\nb");
	assert_field(f, DG_F_NMODEL, "ops");
}

static void test_null_is_absent(void **state)
{
	struct fixture *f = *state;
	const char *why;

	assert_int_equal(parse(f,
	                       "{\"@timestamp\":\"2026-11-02T00:00:00Z\",\"dg.consent_id\":null,"
	                       "\"dg.categories\":[null,\"phone\"]}",
	                       &why),
	                 0);
	assert_false(dg_evt_has(&f->evt, DG_F_CONSENT_ID));
	assert_int_equal(f->evt.v[DG_F_CATEGORIES].nitems, 1);
}

static void test_malformed(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *line, *why;
	} cases[] = {
	    {"{\"user.name\":\"x\"}", "missing @timestamp"},
	    {"{\"@timestamp\":\"yesterday\"}", "@timestamp is not an RFC 3339 time"},
	    {"{\"@timestamp\":1700000000}", "@timestamp is not an RFC 3339 time"},
	    {"{\"@timestamp\":\"2026-11-02T00:00:00Z\"", "truncated JSON"},
	    {"[\"@timestamp\"]", "not a JSON object"},
	    {"\"just a string\"", "not a JSON object"},
	    {"{\"@timestamp\":\"2026-11-02T00:00:00Z\",\"user.name\":\"a\",\"user\":{\"name\":"
	     "\"b\"}}",
	     "duplicate field user.name"},
	    {"{\"@timestamp\":\"2026-11-02T00:00:00Z\",\"dg.records\":-5}",
	     "dg.records is not a non-negative integer"},
	    {"{\"@timestamp\":\"2026-11-02T00:00:00Z\",\"dg.records\":1.5}",
	     "dg.records is not a non-negative integer"},
	    {"{\"@timestamp\":\"2026-11-02T00:00:00Z\",\"user\":{\"name\":{\"first\":\"a\"}}}",
	     "field user.name: object where a value was expected"},
	    {"{\"@timestamp\":\"2026-11-02T00:00:00Z\",\"message\":\"caf\xe9\"}", "invalid UTF-8"},
	    {"{\"@timestamp\":\"2026-11-02T00:00:00Z\",\"message\":\"tab\x01\"}",
	     "control character"},
	    {"", "empty record"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *why = NULL;

		if (parse(f, cases[i].line, &why) != -1 || why == NULL ||
		    strcmp(why, cases[i].why) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].line, why ? why : "(ok)",
			         cases[i].why);
	}
}

static void test_nul_byte_is_malformed(void **state)
{
	struct fixture *f = *state;
	const char line[] = "{\"@timestamp\":\"2026-11-02T00:00:00Z\",\"message\":\"a\0b\"}";
	const char *why = NULL;

	assert_int_equal(dg_jsonl_parse(f->p, line, sizeof line - 1, &f->evt, &why), -1);
	assert_string_equal(why, "NUL byte");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_nested_and_dotted_agree, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_escapes_aliases_extras, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_null_is_absent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nul_byte_is_malformed, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
