/* The rule language: every operator, condition expressions, lists and settings, and errors that
 * name file and line. Rules are compiled from text and run on JSON events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/jsonl.h"
#include "dgaudit/rules.h"

#define EVT(...) "{\"@timestamp\":\"2026-11-02T00:00:00Z\"," __VA_ARGS__ "}"

struct compiled {
	struct dg_schema *schema;
	struct dg_ruleset *rs;
	struct dg_jsonl *p;
	struct dg_evt evt;
};

/* Compiles one rule pack with a select block "s" per case and condition text. */
static struct dg_ruleset *load(struct dg_schema *schema, const char *text, char **cause)
{
	struct dg_rules_text pack = {"test.conf", text};

	*cause = NULL;
	return dg_rules_load(&pack, 1, NULL, NULL, schema, cause);
}

static bool matches(const char *select, const char *condition, const char *event)
{
	char text[4096];
	struct compiled c = {0};
	char *cause = NULL;
	const char *why;
	bool hit;

	snprintf(
	    text, sizeof text,
	    "lists = { roles = [\"dba\", \"admin\"]; nets = [\"10.0.0.0/8\"]; pre = [\"audit.\", "
	    "\"sys.\"]; };\n"
	    "settings = { big = 1000; name = \"alice\"; };\n"
	    "rules = ( { id = \"T\"; title = \"t\"; severity = \"low\";\n"
	    "compliance = ( (\"X\", \"1\") );\n"
	    "select = { %s };\n"
	    "condition = \"%s\"; } );\n",
	    select, condition);
	c.schema = dg_schema_new();
	c.rs = load(c.schema, text, &cause);
	if (c.rs == NULL)
		fail_msg("%s", cause);
	c.p = dg_jsonl_new(c.schema, 4096);
	if (dg_jsonl_parse(c.p, event, strlen(event), &c.evt, &why) != 0)
		fail_msg("bad test event: %s", why);
	hit = dg_rules_match(dg_rules_get(c.rs, 0), &c.evt);
	dg_jsonl_free(c.p);
	dg_rules_free(c.rs);
	dg_schema_free(c.schema);
	return hit;
}

static const struct {
	const char *select, *event;
	int hit;
} ops[] = {
    {"s = { field = \"user.name\"; eq = \"alice\"; };", EVT("\"user.name\":\"alice\""), 1},
    {"s = { field = \"user.name\"; eq = \"alice\"; };", EVT("\"user.name\":\"Alice\""), 0},
    {"s = { field = \"user.name\"; eq = \"alice\"; };", EVT("\"host.name\":\"h\""), 0},
    {"s = { field = \"user.name\"; eq = \"$name\"; };", EVT("\"user.name\":\"alice\""), 1},
    {"s = { field = \"user.name\"; eq = \"$$name\"; };", EVT("\"user.name\":\"$name\""), 1},
    {"s = { field = \"dg.records\"; eq = 7; };", EVT("\"dg.records\":7"), 1},
    {"s = { field = \"dg.records\"; eq = 7; };", EVT("\"dg.records\":\"7\""), 1},
    {"s = { field = \"event.action\"; in = [\"read\", \"export\"]; };",
     EVT("\"event.action\":\"export\""), 1},
    {"s = { field = \"event.action\"; in = [\"read\", \"export\"]; };",
     EVT("\"event.action\":\"write\""), 0},
    {"s = { field = \"user.roles\"; in_list = \"roles\"; };", EVT("\"user.roles\":[\"x\",\"dba\"]"),
     1},
    {"s = { field = \"user.roles\"; in_list = \"roles\"; };", EVT("\"user.roles\":[\"x\",\"y\"]"),
     0},
    {"s = { field = \"user.roles\"; in = \"$roles\"; };", EVT("\"user.roles\":\"admin\""), 1},
    {"s = { field = \"message\"; contains = \"secret\"; };", EVT("\"message\":\"a secret b\""), 1},
    {"s = { field = \"message\"; contains = \"secret\"; };", EVT("\"message\":\"a Secret b\""), 0},
    {"s = { field = \"dg.object\"; startswith = \"$pre\"; };", EVT("\"dg.object\":\"sys.users\""),
     1},
    {"s = { field = \"dg.object\"; startswith = \"$pre\"; };", EVT("\"dg.object\":\"core.sys\""),
     0},
    {"s = { field = \"dg.object\"; endswith = [\".log\", \".bak\"]; };",
     EVT("\"dg.object\":\"x.bak\""), 1},
    {"s = { field = \"db.query.text\"; re = \"(?i)^select\\\\s+\\\\*\"; };",
     EVT("\"db.query.text\":\"SELECT  * FROM t\""), 1},
    {"s = { field = \"db.query.text\"; re = \"(?i)^select\\\\s+\\\\*\"; };",
     EVT("\"db.query.text\":\"SELECT a FROM t\""), 0},
    {"s = { field = \"source.ip\"; cidr = \"$nets\"; };", EVT("\"source.ip\":\"10.1.2.3\""), 1},
    {"s = { field = \"source.ip\"; cidr = [\"192.168.0.0/16\", \"::1\"]; };",
     EVT("\"source.ip\":\"::1\""), 1},
    {"s = { field = \"source.ip\"; cidr = \"$nets\"; };", EVT("\"source.ip\":\"8.8.8.8\""), 0},
    {"s = { field = \"dg.records\"; lt = 10; };", EVT("\"dg.records\":9"), 1},
    {"s = { field = \"dg.records\"; lt = 10; };", EVT("\"dg.records\":10"), 0},
    {"s = { field = \"dg.records\"; lte = 10; };", EVT("\"dg.records\":10"), 1},
    {"s = { field = \"dg.records\"; gt = 10; };", EVT("\"dg.records\":10"), 0},
    {"s = { field = \"dg.records\"; gte = \"$big\"; };", EVT("\"dg.records\":1000"), 1},
    {"s = { field = \"dg.records\"; gte = \"$big\"; };", EVT("\"dg.records\":999"), 0},
    {"s = { field = \"labels.n\"; gt = -5; };", EVT("\"labels\":{\"n\":\"-4\"}"), 1},
    {"s = { field = \"labels.n\"; gt = 1; };", EVT("\"labels\":{\"n\":\"many\"}"), 0},
    {"s = { field = \"dg.consent_id\"; exists = true; };", EVT("\"dg.consent_id\":\"c\""), 1},
    {"s = { field = \"dg.consent_id\"; exists = true; };", EVT("\"dg.consent_id\":null"), 0},
    {"s = { field = \"dg.consent_id\"; exists = false; };", EVT("\"user.name\":\"a\""), 1},
    {"s = { field = \"message\"; detect = \"cn_resident_id\"; };",
     EVT("\"message\":\"id 11010519491231002X\""), 1},
    {"s = { field = \"message\"; detect = \"cn_resident_id\"; };",
     EVT("\"message\":\"id 110105194912310021\""), 0},
    {"s = { field = \"message\"; detect = [\"email\", \"bank_card\"]; };",
     EVT("\"message\":\"pan 4111111111111111\""), 1},
    /* A select block is a conjunction. */
    {"s = ( { field = \"user.name\"; eq = \"a\"; }, { field = \"dg.records\"; gt = 5; } );",
     EVT("\"user.name\":\"a\",\"dg.records\":6"), 1},
    {"s = ( { field = \"user.name\"; eq = \"a\"; }, { field = \"dg.records\"; gt = 5; } );",
     EVT("\"user.name\":\"a\",\"dg.records\":5"), 0},
};

static void test_operators(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (matches(ops[i].select, "s", ops[i].event) != (bool)ops[i].hit)
			fail_msg("case %zu: %s on %s: want %s", i, ops[i].select, ops[i].event,
			         ops[i].hit ? "match" : "no match");
}

static void test_expressions(void **state)
{
	const char *sel = "a = { field = \"user.name\"; eq = \"a\"; };"
	                  "b = { field = \"host.name\"; eq = \"b\"; };"
	                  "c = { field = \"message\"; eq = \"c\"; };";
	static const struct {
		const char *cond, *event;
		int hit;
	} cases[] = {
	    {"a and b", EVT("\"user.name\":\"a\",\"host.name\":\"b\""), 1},
	    {"a and b", EVT("\"user.name\":\"a\""), 0},
	    {"a or b", EVT("\"host.name\":\"b\""), 1},
	    {"not a", EVT("\"host.name\":\"b\""), 1},
	    {"not not a", EVT("\"user.name\":\"a\""), 1},
	    {"a or b and c", EVT("\"user.name\":\"a\""), 1}, /* and binds tighter */
	    {"(a or b) and c", EVT("\"user.name\":\"a\""), 0},
	    {"a and not (b or c)", EVT("\"user.name\":\"a\",\"message\":\"c\""), 0},
	    {"a and not (b or c)", EVT("\"user.name\":\"a\""), 1},
	    {"  a\tand\n b  ", EVT("\"user.name\":\"a\",\"host.name\":\"b\""), 1},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (matches(sel, cases[i].cond, cases[i].event) != (bool)cases[i].hit)
			fail_msg("\"%s\" on %s", cases[i].cond, cases[i].event);
}

static const struct {
	const char *text, *error;
} errors[] = {
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") );\n select = { s = { field = \"m\"; eq = 1; }; };\n"
     "condition = \"s and t\"; } );",
     "test.conf:4: condition: no select block named 't'"},
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") );\n select = { s = { field = \"m\"; eq = 1; }; };\n"
     "condition = \"s and (\"; } );",
     "test.conf:4: condition: expected a select block name at \"\""},
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") );\n select = { s = { field = \"m\"; eq = 1; }; };\n"
     "condition = \"(s or s\"; } );",
     "test.conf:4: condition: missing ')' before \"\""},
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"urgent\";\n"
     "compliance = ( (\"X\", \"1\") ); select = { s = { field = \"m\"; eq = 1; }; }; } );",
     "test.conf:1: rule A needs severity = info, low, medium, high or critical"},
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") );\n select = { s = { field = \"m\"; like = \"x\"; }; }; } );",
     "test.conf:3: unknown operator 'like' (eq, in, in_list, contains, startswith, endswith, re, "
     "cidr, lt, lte, gt, gte, exists, detect)"},
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") );\n select = { s = { field = \"m\"; re = \"(\"; }; }; } );",
     "test.conf:3: regular expression /(/: missing closing parenthesis at offset 1"},
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") );\n select = { s = { field = \"m\"; in_list = \"nope\"; }; "
     "}; } );",
     "test.conf:3: unknown list 'nope'"},
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") );\n select = { s = { field = \"m\"; gte = \"$nope\"; }; }; "
     "} );",
     "test.conf:3: unknown setting 'nope'"},
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") );\n select = { s = { field = \"m\"; cidr = \"10.0.0.0/40\"; "
     "}; }; } );",
     "test.conf:3: '10.0.0.0/40' is not an address or CIDR block"},
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") );\n select = { s = { field = \"m\"; eq = 1; };\n};\n"
     "threshold = { count = true; window = \"1w\"; gte = 3; }; } );",
     "test.conf:5: '1w' is not a duration (use e.g. \"90s\", \"10m\", \"1h\", \"1d\")"},
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") ); select = { s = { field = \"m\"; eq = 1; }; }; },\n"
     "{ id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") ); select = { s = { field = \"m\"; eq = 1; }; }; } );",
     "test.conf:3: rule id A is already used at test.conf:1"},
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "select = { s = { field = \"m\"; eq = 1; }; }; } );",
     "test.conf:1: rule A needs its compliance references"},
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"low\"; colour = \"red\";\n } );",
     "test.conf:1: unknown setting 'colour'"},
    {"rules = ( { id = ; } );", "test.conf:1: syntax error"},
    /* A setting out of range for its use is reported where it is defined. */
    {"settings = { n = 0; };\nrules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") ); select = { s = { field = \"m\"; eq = 1; }; };\n"
     "threshold = { count = true; window = \"1h\"; gte = \"$n\"; }; } );",
     "test.conf:1: setting 'n': gte must be at least 1 (used at test.conf:4)"},
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") ); select = { s = { field = \"m\"; eq = 1; }; };\n"
     "threshold = { count = true; window = \"1h\"; gte = 0; }; } );",
     "test.conf:3: gte must be at least 1"},
    {"lists = { nets = [\"10.0.0.0/8\",\n \"10.0.0.0/40\"]; };\n"
     "rules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") ); select = { s = { field = \"m\"; cidr = \"$nets\"; "
     "}; }; } );",
     "test.conf:1: list 'nets': '10.0.0.0/40' is not an address or CIDR block (used at "
     "test.conf:4)"},
    {"lists = { a = [\"x\"]; }; settings = { a = 1; b = 2.5; };",
     "test.conf:1: setting 'b' must be an integer or a string"},
};

static void test_errors_name_file_and_line(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
		struct dg_schema *schema = dg_schema_new();
		char *cause = NULL;
		struct dg_ruleset *rs = load(schema, errors[i].text, &cause);

		if (rs != NULL)
			fail_msg("case %zu: loaded, want error %s", i, errors[i].error);
		if (strcmp(cause, errors[i].error) != 0)
			fail_msg("case %zu: got \"%s\"\nwant \"%s\"", i, cause, errors[i].error);
		free(cause);
		dg_schema_free(schema);
	}
}

static void test_site_overrides_pack_defaults(void **state)
{
	const char *text = "lists = { ok = [\"a\"]; }; settings = { n = 5; };\n"
	                   "rules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
	                   "compliance = ( (\"X\", \"1\") ); select = {\n"
	                   "s = ( { field = \"user.name\"; in_list = \"ok\"; },\n"
	                   "      { field = \"dg.records\"; gte = \"$n\"; } ); }; } );";
	struct dg_rules_text pack = {"p.conf", text};
	char *items[] = {"b", NULL};
	struct dg_list list = {"ok", items, 1, "site.conf:3"};
	struct dg_setting setting = {"n", true, 50, NULL, "site.conf:4"};
	struct dg_site site = {&list, 1, &setting, 1};
	struct dg_schema *schema = dg_schema_new();
	char *cause = NULL, *off[] = {"nothing", NULL};
	struct dg_ruleset *rs = dg_rules_load(&pack, 1, &site, off, schema, &cause);
	struct dg_jsonl *p = dg_jsonl_new(schema, 1024);
	struct dg_evt evt;
	const char *why, *e1 = EVT("\"user.name\":\"b\",\"dg.records\":50"),
	                 *e2 = EVT("\"user.name\":\"a\",\"dg.records\":50"),
	                 *e3 = EVT("\"user.name\":\"b\",\"dg.records\":49");

	(void)state;
	assert_non_null(rs);
	assert_int_equal(dg_jsonl_parse(p, e1, strlen(e1), &evt, &why), 0);
	assert_true(dg_rules_match(dg_rules_get(rs, 0), &evt));
	assert_int_equal(dg_jsonl_parse(p, e2, strlen(e2), &evt, &why), 0);
	assert_false(dg_rules_match(dg_rules_get(rs, 0), &evt));
	assert_int_equal(dg_jsonl_parse(p, e3, strlen(e3), &evt, &why), 0);
	assert_false(dg_rules_match(dg_rules_get(rs, 0), &evt));
	dg_rules_free(rs);
	/* A disabled rule is left out. */
	off[0] = "A";
	rs = dg_rules_load(&pack, 1, &site, off, schema, &cause);
	assert_int_equal(dg_rules_count(rs), 0);
	dg_rules_free(rs);
	dg_jsonl_free(p);
	dg_schema_free(schema);
}

static void test_threshold_spec(void **state)
{
	const char *text =
	    "settings = { w = \"10m\"; };\n"
	    "rules = ( { id = \"B\"; title = \"t\"; severity = \"high\";\n"
	    "compliance = ( (\"PCI DSS\", \"8.3.4\", \"10.2.1.4\") );\n"
	    "select = { f = { field = \"event.outcome\"; eq = \"failure\"; };\n"
	    "           s = { field = \"event.outcome\"; eq = \"success\"; }; };\n"
	    "condition = \"f\";\n"
	    "threshold = { count = true; group_by = [\"user.name\", \"source.ip\"];\n"
	    "  window = \"$w\"; gte = 5; then = \"s\"; evidence = 3; };\n"
	    "message = \"{user.name} after {threshold.value} failures\"; } );";
	struct dg_schema *schema = dg_schema_new();
	char *cause = NULL;
	struct dg_ruleset *rs = load(schema, text, &cause);
	const struct dg_rule *r;

	(void)state;
	assert_non_null(rs);
	r = dg_rules_get(rs, 0);
	assert_true(r->has_threshold);
	assert_int_equal(r->threshold.agg, DG_AGG_COUNT);
	assert_int_equal(r->threshold.window_ms, 600000);
	assert_int_equal(r->threshold.limit, 5);
	assert_int_equal(r->threshold.ngroup_by, 2);
	assert_int_equal(r->threshold.group_by[1], DG_F_SOURCE_IP);
	assert_int_equal(r->threshold.then, 1);
	assert_int_equal(r->threshold.evidence_max, 3);
	assert_int_equal(r->ncompliance, 1);
	assert_int_equal(r->compliance[0].nrefs, 2);
	assert_string_equal(r->compliance[0].refs[1], "10.2.1.4");
	assert_string_equal(r->where, "test.conf:2");
	dg_rules_free(rs);
	dg_schema_free(schema);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_operators),
	    cmocka_unit_test(test_expressions),
	    cmocka_unit_test(test_errors_name_file_and_line),
	    cmocka_unit_test(test_site_overrides_pack_defaults),
	    cmocka_unit_test(test_threshold_spec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
