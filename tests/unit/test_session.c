/* Purpose, ticket and consent from the database session: sqlcommenter comments (URL-encoded,
 * escaped quotes, anywhere in the statement, malformed ones ignored) and application names the
 * site maps; what the event already says wins. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/session.h"

static void test_tags(void **state)
{
	struct dg_str tags[8][2];
	char buf[256];
	const char *q = "SELECT * FROM core.customers WHERE id = $1 "
	                "/*purpose='kyc-review',ticket='CHG%2D1234',route='%2Fapi%2Fv1',"
	                "note='it\\'s'*/";
	size_t n = dg_session_tags(q, strlen(q), tags, 8, buf, sizeof buf);

	(void)state;
	assert_int_equal(n, 4);
	assert_memory_equal(tags[0][0].p, "purpose", 7);
	assert_int_equal(tags[0][1].len, 10);
	assert_memory_equal(tags[0][1].p, "kyc-review", 10);
	assert_int_equal(tags[1][1].len, 8);
	assert_memory_equal(tags[1][1].p, "CHG-1234", 8);
	assert_memory_equal(tags[2][1].p, "/api/v1", 7);
	assert_memory_equal(tags[3][1].p, "it's", 4);
	/* Ordinary comments are not tags; the first comment of the right shape is. */
	q = "/* a note */ SELECT 1 /* purpose = kyc */ /*ticket='T-9'*/";
	assert_int_equal(dg_session_tags(q, strlen(q), tags, 8, buf, sizeof buf), 1);
	assert_memory_equal(tags[0][1].p, "T-9", 3);
	q = "SELECT 1 /*purpose='unterminated*/";
	assert_int_equal(dg_session_tags(q, strlen(q), tags, 8, buf, sizeof buf), 0);
	q = "SELECT 1 /*purpose='x'";
	assert_int_equal(dg_session_tags(q, strlen(q), tags, 8, buf, sizeof buf), 0);
}

static void set(struct dg_evt *e, int f, const char *v)
{
	dg_evt_set(e, f, v, strlen(v));
}

static void test_apply(void **state)
{
	struct dg_session *s = dg_session_new();
	struct dg_schema *schema = dg_schema_new();
	struct dg_diag d = {0};
	config_t c;
	struct dg_evt e = {0};
	const struct dg_str *v;

	(void)state;
	config_init(&c);
	assert_int_equal(
	    dg_cfgutil_read(&c, "t.conf",
	                    "applications = ( { name = \"kyc-portal*\"; purpose = \"kyc\";"
	                    " consent_id = \"app-consent\"; },\n"
	                    "  { name = \"*\"; basis = \"contract\"; } );",
	                    &d),
	    0);
	assert_int_equal(
	    dg_session_read(s, "t.conf", NULL,
	                    config_setting_get_member(config_root_setting(&c), "applications"),
	                    schema, &d),
	    0);
	set(&e, DG_F_DB_QUERY, "SELECT name FROM c /*ticket='CHG-7',purpose='audit'*/");
	set(&e, DG_F_DB_APPLICATION, "kyc-portal 2.1");
	set(&e, DG_F_CONSENT_ID, "own");
	dg_session_apply(s, &e);
	v = dg_evt_str(&e, DG_F_TICKET);
	assert_non_null(v);
	assert_memory_equal(v->p, "CHG-7", 5);
	v = dg_evt_str(&e, DG_F_PURPOSE); /* the comment's, before the application's */
	assert_memory_equal(v->p, "audit", 5);
	v = dg_evt_str(&e, DG_F_CONSENT_ID); /* the event's own wins */
	assert_memory_equal(v->p, "own", 3);
	assert_false(dg_evt_has(&e, DG_F_BASIS)); /* the first application that matches */
	memset(&e, 0, sizeof e);
	set(&e, DG_F_DB_APPLICATION, "batch");
	dg_session_apply(s, &e);
	assert_memory_equal(dg_evt_str(&e, DG_F_BASIS)->p, "contract", 8);
	assert_false(dg_evt_has(&e, DG_F_PURPOSE));
	config_destroy(&c);
	dg_diag_clear(&d);
	dg_schema_free(schema);
	dg_session_free(s);
}

static void test_config_errors(void **state)
{
	struct dg_session *s = dg_session_new();
	struct dg_schema *schema = dg_schema_new();
	struct dg_diag d = {0};
	config_t c;
	char *text;

	(void)state;
	config_init(&c);
	assert_int_equal(
	    dg_cfgutil_read(&c, "t.conf",
	                    "tags = { purpose = \"dg.purpos\"; n = \"dg.records\"; };\n"
	                    "applications = ( { name = \"x\"; purpse = \"y\"; } );",
	                    &d),
	    0);
	assert_int_equal(
	    dg_session_read(s, "t.conf", config_setting_get_member(config_root_setting(&c), "tags"),
	                    config_setting_get_member(config_root_setting(&c), "applications"),
	                    schema, &d),
	    -1);
	text = dg_diag_text(&d);
	assert_string_equal(text, "t.conf:1: unknown field 'dg.purpos'\n"
	                          "t.conf:1: 'dg.records' is not a string field\n"
	                          "t.conf:2: unknown setting 'purpse' (did you mean 'purpose'?)");
	free(text);
	config_destroy(&c);
	dg_diag_clear(&d);
	dg_schema_free(schema);
	dg_session_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tags),
	    cmocka_unit_test(test_apply),
	    cmocka_unit_test(test_config_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
