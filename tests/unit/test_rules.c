/* The rule language: every operator, field types, condition expressions, lists and settings,
 * schedules, exceptions, sequences, fixtures, and errors that name file and line: all of them
 * in one load, with the name meant when it looks like a typo. Rules are compiled from text and
 * run on JSON events. */
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

/* Compiles packs (NULL-terminated texts named test.conf, test2.conf...) with an optional site
 * and a site.conf text holding exceptions and rule_tests; the errors, if any, in *cause. */
static struct dg_ruleset *load_with(struct dg_schema *schema, const char *const *texts,
                                    const struct dg_site *site, char *const *disabled,
                                    const char *exceptions, char **cause)
{
	static const char *const names[] = {"test.conf", "test2.conf", "test3.conf"};
	struct dg_rules_text packs[3];
	struct dg_rules_exceptions x = {"site.conf", NULL};
	struct dg_rules_input in = {.packs = packs,
	                            .site = site,
	                            .disabled = disabled,
	                            .site_name = "site.conf",
	                            .now_ms = 1798761600000LL};
	struct dg_diag d = {0};
	struct dg_ruleset *rs;
	config_t c;

	config_init(&c);
	while (texts[in.npacks] != NULL) {
		packs[in.npacks].name = names[in.npacks];
		packs[in.npacks].text = texts[in.npacks];
		packs[in.npacks].named = true;
		in.npacks++;
	}
	if (exceptions != NULL) {
		if (dg_cfgutil_read(&c, "site.conf", exceptions, &d) != 0)
			fail_msg("bad exceptions text");
		x.list = config_setting_get_member(config_root_setting(&c), "exceptions");
		in.exceptions = &x;
		in.nexceptions = x.list != NULL;
		in.rule_tests = config_setting_get_member(config_root_setting(&c), "rule_tests");
	}
	rs = dg_rules_load(&in, schema, &d);
	*cause = dg_diag_text(&d);
	dg_diag_clear(&d);
	config_destroy(&c);
	return rs;
}

static struct dg_ruleset *load(struct dg_schema *schema, const char *text, char **cause)
{
	const char *texts[] = {text, NULL};

	return load_with(schema, texts, NULL, NULL, NULL, cause);
}

#define PACK_HEAD                                                                                  \
	"fields = ( { name = \"labels.n\"; type = \"number\"; }, \"labels.team\",\n"               \
	"           { name = \"event.created\"; type = \"time\"; } );\n"                           \
	"lists = { roles = [\"dba\", \"admin\"]; nets = [\"10.0.0.0/8\", \"fd00::/8\"]; pre = "    \
	"[\"audit.\", \"sys.\"];\n"                                                                \
	"          many = [\"alpha\", \"beta\", \"gamma\"];\n"                                     \
	"          svc = { items = [\"SVC_Batch\"]; ignore_case = true; };\n"                      \
	"          holidays = { type = \"date\"; items = [\"2026-10-01..2026-10-07\"]; };\n"       \
	"          workdays = { type = \"date\"; items = [\"2026-10-10\"]; }; };\n"                \
	"settings = { big = 1000; name = \"alice\"; };\n"                                          \
	"schedules = { office = { timezone = \"Asia/Shanghai\"; days = [\"mon-fri\"];\n"           \
	"  hours = [\"09:00-18:00\"]; holidays = \"$holidays\"; workdays = \"$workdays\"; };\n"    \
	"  night = { timezone = \"UTC\"; hours = [\"22:00-06:00\"]; }; };\n"

struct compiled {
	struct dg_schema *schema;
	struct dg_ruleset *rs;
	struct dg_jsonl *p;
	struct dg_evt evt;
};

static bool matches(const char *select, const char *condition, const char *event)
{
	char text[8192];
	struct compiled c = {0};
	char *cause = NULL;
	const char *why;
	bool hit;

	snprintf(text, sizeof text,
	         PACK_HEAD "rules = ( { id = \"T\"; title = \"t\"; severity = \"low\";\n"
	                   "compliance = ( (\"X\", \"1\") );\n"
	                   "select = { %s };\n"
	                   "condition = \"%s\"; } );\n",
	         select, condition);
	c.schema = dg_schema_new();
	c.rs = load(c.schema, text, &cause);
	if (c.rs == NULL)
		fail_msg("%s", cause);
	c.p = dg_jsonl_new(c.schema, 4096, 0);
	if (dg_jsonl_parse(c.p, event, strlen(event), &c.evt, &why) != 0)
		fail_msg("bad test event: %s", why);
	hit = dg_rules_match(dg_rules_get(c.rs, 0), &c.evt);
	dg_jsonl_free(c.p);
	dg_rules_free(c.rs);
	dg_schema_free(c.schema);
	return hit;
}

#define AT(t, ...) "{\"@timestamp\":\"" t "\"," __VA_ARGS__ "}"

static const struct {
	const char *select, *event;
	int hit;
} ops[] = {
    {"s = { field = \"user.name\"; eq = \"alice\"; };", EVT("\"user.name\":\"alice\""), 1},
    {"s = { field = \"user.name\"; eq = \"alice\"; };", EVT("\"user.name\":\"Alice\""), 0},
    {"s = { field = \"user.name\"; eq = \"alice\"; ignore_case = true; };",
     EVT("\"user.name\":\"Alice\""), 1},
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
    {"s = { field = \"user.name\"; in_list = \"svc\"; };", EVT("\"user.name\":\"svc_batch\""), 1},
    {"s = { field = \"user.name\"; in_list = \"svc\"; };", EVT("\"user.name\":\"svc_batch2\""), 0},
    {"s = { field = \"message\"; contains = \"secret\"; };", EVT("\"message\":\"a secret b\""), 1},
    {"s = { field = \"message\"; contains = \"secret\"; };", EVT("\"message\":\"a Secret b\""), 0},
    {"s = { field = \"message\"; contains = \"secret\"; ignore_case = true; };",
     EVT("\"message\":\"a SECRET b\""), 1},
    {"s = { field = \"message\"; contains = \"$many\"; };", EVT("\"message\":\"xxgammaxx\""), 1},
    {"s = { field = \"message\"; contains = \"$many\"; };", EVT("\"message\":\"alphbetgamm\""), 0},
    {"s = { field = \"dg.object\"; startswith = \"$pre\"; };", EVT("\"dg.object\":\"sys.users\""),
     1},
    {"s = { field = \"dg.object\"; startswith = \"$pre\"; };", EVT("\"dg.object\":\"core.sys\""),
     0},
    {"s = { field = \"dg.object\"; endswith = [\".log\", \".bak\"]; };",
     EVT("\"dg.object\":\"x.bak\""), 1},
    {"s = { field = \"dg.object\"; endswith = [\".log\", \".bak\"]; };",
     EVT("\"dg.object\":\"x.bakup\""), 0},
    {"s = { field = \"db.query.text\"; re = \"(?i)^select\\\\s+\\\\*\"; };",
     EVT("\"db.query.text\":\"SELECT  * FROM t\""), 1},
    {"s = { field = \"db.query.text\"; re = \"(?i)^select\\\\s+\\\\*\"; };",
     EVT("\"db.query.text\":\"SELECT a FROM t\""), 0},
    {"s = { field = \"source.ip\"; cidr = \"$nets\"; };", EVT("\"source.ip\":\"10.1.2.3\""), 1},
    {"s = { field = \"source.ip\"; cidr = \"$nets\"; };", EVT("\"source.ip\":\"fd00::1:2\""), 1},
    {"s = { field = \"source.ip\"; cidr = [\"192.168.0.0/16\", \"::1\"]; };",
     EVT("\"source.ip\":\"::1\""), 1},
    {"s = { field = \"source.ip\"; cidr = \"$nets\"; };", EVT("\"source.ip\":\"8.8.8.8\""), 0},
    {"s = { field = \"source.ip\"; cidr = \"$nets\"; };", EVT("\"source.ip\":\"not-an-ip\""), 0},
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
    /* Office hours in Shanghai, whatever offset the log wrote: noon there is 04:00Z. */
    {"s = { field = \"@timestamp\"; outside = \"office\"; };",
     AT("2026-11-02T12:00:00+08:00", "\"user.name\":\"a\""), 0},
    {"s = { field = \"@timestamp\"; outside = \"office\"; };",
     AT("2026-11-02T04:00:00Z", "\"user.name\":\"a\""), 0},
    {"s = { field = \"@timestamp\"; outside = \"office\"; };",
     AT("2026-11-02T03:00:00+08:00", "\"user.name\":\"a\""), 1},
    {"s = { field = \"@timestamp\"; outside = \"office\"; };",
     AT("2026-11-01T19:00:00-08:00", "\"user.name\":\"a\""), 0}, /* Monday 11:00 there */
    {"s = { field = \"@timestamp\"; outside = \"office\"; };",
     AT("2026-10-05T10:00:00+08:00", "\"user.name\":\"a\""), 1}, /* National Day */
    {"s = { field = \"@timestamp\"; inside = \"office\"; };",
     AT("2026-10-10T10:00:00+08:00", "\"user.name\":\"a\""), 1}, /* a working Saturday */
    {"s = { field = \"@timestamp\"; inside = \"office\"; };",
     AT("2026-11-07T10:00:00+08:00", "\"user.name\":\"a\""), 0}, /* a Saturday */
    {"s = { field = \"@timestamp\"; inside = \"night\"; };",
     AT("2026-11-02T23:30:00Z", "\"user.name\":\"a\""), 1},
    {"s = { field = \"@timestamp\"; inside = \"night\"; };",
     AT("2026-11-03T05:59:00Z", "\"user.name\":\"a\""), 1}, /* after midnight */
    {"s = { field = \"@timestamp\"; inside = \"night\"; };",
     AT("2026-11-03T06:00:00Z", "\"user.name\":\"a\""), 0},
    /* Times against another time field or a fixed time. */
    {"s = { field = \"@timestamp\"; after = \"2026-11-01\"; };", EVT("\"user.name\":\"a\""), 1},
    {"s = { field = \"@timestamp\"; before = \"2026-11-01T23:00:00+08:00\"; };",
     EVT("\"user.name\":\"a\""), 0},
    {"s = { field = \"event.created\"; before = \"@timestamp\"; };",
     EVT("\"event.created\":\"2026-11-01T23:59:59Z\""), 1},
    {"s = { field = \"@timestamp\"; apart_from = [\"event.created\", \"5m\"]; };",
     EVT("\"event.created\":\"2026-11-02T00:06:00Z\""), 1},
    {"s = { field = \"@timestamp\"; apart_from = [\"event.created\", \"5m\"]; };",
     EVT("\"event.created\":\"2026-11-01T23:56:00Z\""), 0},
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
	static const char *const blocks[] = {"a = { field = \"user.name\"; eq = \"a\"; };",
	                                     "b = { field = \"host.name\"; eq = \"b\"; };",
	                                     "c = { field = \"message\"; eq = \"c\"; };"};
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
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char sel[512] = "";

		/* Only the blocks the condition uses: an unused block is an error. */
		for (size_t b = 0; b < 3; b++)
			if (strchr(cases[i].cond, 'a' + (int)b) != NULL)
				strcat(sel, blocks[b]);
		if (matches(sel, cases[i].cond, cases[i].event) != (bool)cases[i].hit)
			fail_msg("\"%s\" on %s", cases[i].cond, cases[i].event);
	}
}

#define RULE(sel)                                                                                  \
	"rules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"                             \
	"compliance = ( (\"X\", \"1\") );\n select = { " sel " }; } );"

static const struct {
	const char *text, *error;
} errors[] = {
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") );\n select = { s = { field = \"message\"; eq = \"x\"; }; };\n"
     "condition = \"s and t\"; } );",
     "test.conf:4: condition: no select block named 't' (did you mean 's'?)"},
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") );\n select = { s = { field = \"message\"; eq = \"x\"; }; };\n"
     "condition = \"s and (\"; } );",
     "test.conf:4: condition: expected a select block name at \"\""},
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") );\n select = { s = { field = \"message\"; eq = \"x\"; }; };\n"
     "condition = \"(s or s\"; } );",
     "test.conf:4: condition: missing ')' before \"\""},
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"urgent\";\n"
     "compliance = ( (\"X\", \"1\") ); select = { s = { field = \"message\"; eq = \"x\"; }; }; } "
     ");",
     "test.conf:1: rule A needs severity = info, low, medium, high or critical"},
    {RULE("s = { field = \"message\"; like = \"x\"; };"),
     "test.conf:3: unknown operator 'like' (eq, in, in_list, contains, startswith, endswith, re, "
     "cidr, lt, lte, gt, gte, exists, detect, outside, inside, before, after, apart_from)"},
    {RULE("s = { field = \"message\"; conatins = \"x\"; };"),
     "test.conf:3: unknown operator 'conatins' (did you mean 'contains'?) (eq, in, in_list, "
     "contains, startswith, endswith, re, cidr, lt, lte, gt, gte, exists, detect, outside, "
     "inside, before, after, apart_from)"},
    {RULE("s = { field = \"message\"; re = \"(\"; };"),
     "test.conf:3: regular expression /(/: missing closing parenthesis at offset 1"},
    {RULE("s = { field = \"message\"; in_list = \"nope\"; };"), "test.conf:3: unknown list 'nope'"},
    {"lists = { approved_recipients = []; };\n" RULE(
         "s = { field = \"dg.recipient\"; in_list = \"aproved_recipients\"; };"),
     "test.conf:4: unknown list 'aproved_recipients' (did you mean 'approved_recipients'?)"},
    {RULE("s = { field = \"dg.records\"; gte = \"$nope\"; };"),
     "test.conf:3: unknown setting 'nope'"},
    {RULE("s = { field = \"source.ip\"; cidr = \"10.0.0.0/40\"; };"),
     "test.conf:3: '10.0.0.0/40' is not an address or CIDR block"},
    /* Fields: unknown ones, with the name meant, and operators that do not fit the type. */
    {RULE("s = { field = \"event.acton\"; eq = \"read\"; };"),
     "test.conf:3: unknown field 'event.acton' (did you mean 'event.action'?); fields beyond the "
     "event model are declared in fields = ( { name = \"event.acton\"; type = \"string\"; } ) "
     "or named by a map"},
    {RULE("s = { field = \"user.name\"; lt = 5; };"),
     "test.conf:3: lt does not apply to user.name, which is a string field"},
    {RULE("s = { field = \"dg.object\"; cidr = \"10.0.0.0/8\"; };"),
     "test.conf:3: cidr does not apply to dg.object, which is a string field"},
    {RULE("s = { field = \"user.name\"; eq = 5; };"),
     "test.conf:3: user.name is a string: eq needs a string"},
    {RULE("s = { field = \"event.action\"; in = [\"read\", \"reed\"]; };"),
     "test.conf:3: event.action is never 'reed' (it is one of read, write, delete, export, "
     "share, login, grant, ddl, admin, set_role) (did you mean 'read'?)"},
    {RULE("s = { field = \"@timestamp\"; outside = \"office_hour\"; };"),
     "test.conf:3: unknown schedule 'office_hour'"},
    {RULE("s = { field = \"user.name\"; outside = \"x\"; };"),
     "test.conf:3: outside does not apply to user.name, which is a string field"},
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") );\n select = { s = { field = \"message\"; eq = \"x\"; };\n};\n"
     "threshold = { count = true; gte = 3; }; } );",
     "test.conf:5: a threshold needs a window, e.g. window = \"1h\""},
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") );\n select = { s = { field = \"message\"; eq = \"x\"; };\n};\n"
     "threshold = { count = true; window = \"1w\"; gte = 3; }; } );",
     "test.conf:5: '1w' is not a duration (use e.g. \"90s\", \"10m\", \"1h\", \"1d\")"},
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") ); select = { s = { field = \"message\"; eq = \"x\"; }; }; "
     "},\n{ id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") ); select = { s = { field = \"message\"; eq = \"x\"; }; }; } "
     ");",
     "test.conf:3: rule id A is already used at test.conf:1"},
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "select = { s = { field = \"message\"; eq = \"x\"; }; }; } );",
     "test.conf:1: rule A needs its compliance references"},
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"low\"; colour = \"red\";\n"
     "compliance = ( (\"X\", \"1\") ); select = { s = { field = \"message\"; eq = \"x\"; }; }; } "
     ");",
     "test.conf:1: unknown setting 'colour'"},
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"low\"; condtion = \"s\";\n"
     "compliance = ( (\"X\", \"1\") ); select = { s = { field = \"message\"; eq = \"x\"; }; }; } "
     ");",
     "test.conf:1: unknown setting 'condtion' (did you mean 'condition'?)"},
    {"rules = ( { id = ; } );", "test.conf:1: syntax error"},
    {"rules = ( { id = \"A\"; },\n);",
     "test.conf:2: syntax error: a ',' before a closing ')' or ']': lists and arrays take no "
     "trailing comma"},
    {"rules = ( { id = \"A\"; severity = high; } );",
     "test.conf:1: syntax error: a string value must be quoted, e.g. severity = \"high\";"},
    /* A setting out of range for its use is reported where it is defined. */
    {"settings = { n = 0; };\nrules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") ); select = { s = { field = \"message\"; eq = \"x\"; }; };\n"
     "threshold = { count = true; window = \"1h\"; gte = \"$n\"; }; } );",
     "test.conf:1: setting 'n': gte must be between 1 and 4611686018427387903 (used at "
     "test.conf:4)"},
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") ); select = { s = { field = \"message\"; eq = \"x\"; }; };\n"
     "threshold = { count = true; window = \"1h\"; gte = 0; }; } );",
     "test.conf:3: gte must be between 1 and 4611686018427387903"},
    {"lists = { nets = [\"10.0.0.0/8\",\n \"10.0.0.0/40\"]; };\n"
     "rules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") ); select = { s = { field = \"source.ip\"; cidr = \"$nets\"; "
     "}; }; } );",
     "test.conf:1: list 'nets': '10.0.0.0/40' is not an address or CIDR block (used at "
     "test.conf:4)"},
    {"lists = { a = [\"x\"]; }; settings = { a = 1; b = 2.5; };",
     "test.conf:1: setting 'b' must be an integer or a string"},
    {"lists = { d = { type = \"date\"; items = [\"2026-02-30\"]; }; };",
     "test.conf:1: list 'd': '2026-02-30' is not a date (YYYY-MM-DD) or a range of dates "
     "(YYYY-MM-DD..YYYY-MM-DD, at most a year)"},
    {"schedules = { s = { timezone = \"Mars/Olympus\"; }; };",
     "test.conf:1: schedule 's': time zone 'Mars/Olympus' is unknown "
     "(/usr/share/zoneinfo/Mars/Olympus: No such file or directory); is tzdata installed?"},
    {"schedules = { s = { days = [\"mon-fry\"]; hours = [\"9-17\"]; }; };",
     "test.conf:1: schedule 's': 'mon-fry' is not a day or range of days (mon, tue, ... sun, "
     "mon-fri, weekdays, weekend)\n"
     "test.conf:1: schedule 's': '9-17' is not a range of hours such as \"09:00-18:00\" or "
     "\"22:00-06:00\""},
    {RULE("s = { field = \"message\"; eq = \"x\"; }; t = { field = \"message\"; eq = \"y\"; };"),
     "test.conf:1: rule A has several select blocks and needs a condition"},
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") ); select = { s = { field = \"message\"; eq = \"x\"; };\n"
     "  t = { field = \"message\"; eq = \"y\"; }; }; condition = \"s\"; } );",
     "test.conf:3: rule A: select block 't' is used by neither its condition nor a step"},
    /* Every mistake at once: each rule, each condition. */
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") ); select = {\n"
     "  s = ( { field = \"user.nam\"; eq = \"x\"; },\n"
     "        { field = \"dg.records\"; gte = \"many\"; } ); }; },\n"
     "{ id = \"B\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") ); select = { s = { field = \"message\"; lik = \"x\"; }; }; "
     "} );",
     "test.conf:3: unknown field 'user.nam' (did you mean 'user.name'?); fields beyond the event "
     "model are declared in fields = ( { name = \"user.nam\"; type = \"string\"; } ) or named by "
     "a map\n"
     "test.conf:4: 'gte' needs an integer or a \"$setting\"\n"
     "test.conf:6: unknown operator 'lik' (eq, in, in_list, contains, "
     "startswith, endswith, re, cidr, lt, lte, gt, gte, exists, detect, outside, inside, before, "
     "after, apart_from)"},
    /* Sequences. */
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") ); select = { s = { field = \"message\"; eq = \"x\"; }; };\n"
     "sequence = { window = \"1h\"; steps = ( { select = \"s\"; }, { select = \"z\"; } ); }; "
     "} );",
     "test.conf:3: step: no select block named 'z' (did you mean 's'?)"},
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") ); select = { s = { field = \"message\"; eq = \"x\"; }; };\n"
     "condition = \"s\";\n"
     "threshold = { count = true; window = \"1h\"; gte = 3; then = \"s\"; }; } );",
     "test.conf:4: 'then' is replaced by sequence = { steps = ( { select = \"...\"; count = N; "
     "}, { select = \"...\"; } ); ... }"},
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") ); select = { s = { field = \"message\"; eq = \"x\"; }; };\n"
     "threshold = { sum = \"user.name\"; window = \"1h\"; gte = 3; }; } );",
     "test.conf:3: sum needs a number field; user.name is a string"},
    /* Fixtures. */
    {"rules = ( { id = \"A\"; title = \"t\"; severity = \"low\";\n"
     "compliance = ( (\"X\", \"1\") ); select = { s = { field = \"message\"; eq = \"x\"; }; };\n"
     "tests = ( { expect = 1; events = ( { set = (\"dg.records\", \"ten\"); } ); } ); } );",
     "test.conf:3: the first event needs a time: at = \"2026-03-02T10:00:00+08:00\"\n"
     "test.conf:3: set: dg.records is a number"},
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
	const char *texts[] = {text, NULL};
	char *items[] = {"b", NULL};
	struct dg_list list = {.name = "ok", .items = items, .nitems = 1, .where = "site.conf:3"};
	struct dg_setting setting = {"n", true, 50, NULL, "site.conf:4"};
	struct dg_site site = {.lists = &list, .nlists = 1, .settings = &setting, .nsettings = 1};
	struct dg_schema *schema = dg_schema_new();
	char *cause = NULL, *off[] = {"A", NULL}, *bad[] = {"AA", NULL};
	struct dg_ruleset *rs = load_with(schema, texts, &site, NULL, NULL, &cause);
	struct dg_jsonl *p = dg_jsonl_new(schema, 1024, 0);
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
	/* A disabled rule is left out; one that does not exist is a mistake. */
	rs = load_with(schema, texts, &site, off, NULL, &cause);
	assert_int_equal(dg_rules_count(rs), 0);
	dg_rules_free(rs);
	rs = load_with(schema, texts, &site, bad, NULL, &cause);
	assert_null(rs);
	assert_string_equal(cause, "site.conf:0: disable_rules: no rule 'AA' (did you mean 'A'?)");
	free(cause);
	/* A site value no pack declares and no rule uses is a typo, reported at its definition. */
	list.name = "okk";
	setting.name = "nn";
	rs = load_with(schema, texts, &site, NULL, NULL, &cause);
	assert_null(rs);
	assert_string_equal(cause,
	                    "site.conf:3: list 'okk' is declared by no rule pack and used by no "
	                    "rule (did you mean 'ok'?)\n"
	                    "site.conf:4: setting 'nn' is declared by no rule pack and used "
	                    "by no rule (did you mean 'n'?)");
	free(cause);
	dg_jsonl_free(p);
	dg_schema_free(schema);
}

static void test_threshold_and_sequence_spec(void **state)
{
	const char *text =
	    "settings = { w = \"10m\"; n = 5; };\n"
	    "rules = ( { id = \"B\"; title = \"t\"; severity = \"high\";\n"
	    "compliance = ( (\"PCI DSS\", \"8.3.4\", \"10.2.1.4\") );\n"
	    "select = { f = { field = \"event.outcome\"; eq = \"failure\"; };\n"
	    "           s = { field = \"event.outcome\"; eq = \"success\"; };\n"
	    "           r = { field = \"event.action\"; eq = \"read\"; }; };\n"
	    "sequence = { group_by = [\"user.name\", \"source.ip\"]; window = \"$w\"; evidence = "
	    "3;\n"
	    "  max_keys = 1000;\n"
	    "  steps = ( { select = \"f\"; count = \"$n\"; }, { select = \"s\"; },\n"
	    "            { select = \"r\"; sum = \"dg.records\"; gte = 500; } ); };\n"
	    "suppress = { group_by = [\"user.name\"]; period = \"1d\"; };\n"
	    "message = \"{user.name} after {threshold.value} failures\"; },\n"
	    "{ id = \"C\"; title = \"t\"; severity = \"low\"; compliance = ( (\"X\", \"1\") );\n"
	    "  select = { s = { field = \"event.action\"; in = [\"read\", \"export\"]; }; };\n"
	    "  threshold = { distinct = \"dg.subject_id\"; window = \"1h\"; gte = 200; }; } );";
	struct dg_schema *schema = dg_schema_new();
	char *cause = NULL;
	struct dg_ruleset *rs = load(schema, text, &cause);
	const struct dg_rule *r;

	(void)state;
	if (rs == NULL)
		fail_msg("%s", cause);
	r = dg_rules_get(rs, 0);
	assert_int_equal(r->kind, DG_RULE_SEQUENCE);
	assert_int_equal(r->threshold.window_ms, 600000);
	assert_int_equal(r->threshold.ngroup_by, 2);
	assert_int_equal(r->threshold.group_by[1], DG_F_SOURCE_IP);
	assert_int_equal(r->threshold.nsteps, 3);
	assert_int_equal(r->threshold.steps[0].limit, 5);
	assert_int_equal(r->threshold.steps[1].limit, 1);
	assert_int_equal(r->threshold.steps[2].agg, DG_AGG_SUM);
	assert_int_equal(r->threshold.steps[2].field, DG_F_RECORDS);
	assert_int_equal(r->threshold.steps[2].limit, 500);
	assert_int_equal(r->threshold.evidence_max, 3);
	assert_int_equal(r->threshold.max_keys, 1000);
	assert_true(r->has_suppress);
	assert_int_equal(r->suppress.period_ms, 86400000);
	assert_int_equal(r->ncompliance, 1);
	assert_int_equal(r->compliance[0].nrefs, 2);
	assert_string_equal(r->compliance[0].refs[1], "10.2.1.4");
	assert_string_equal(r->where, "test.conf:2");
	/* The index: a sequence's events may be of any step; a threshold's only reads or exports.
	 */
	assert_int_equal(r->actions, UINT32_MAX);
	r = dg_rules_get(rs, 1);
	assert_int_equal(r->kind, DG_RULE_THRESHOLD);
	assert_int_equal(r->threshold.agg, DG_AGG_DISTINCT);
	assert_int_equal(r->actions, 1u << 0 | 1u << 3);
	assert_true(r->required_fields & 1ULL << DG_F_EVENT_ACTION);
	dg_rules_free(rs);
	dg_schema_free(schema);
}

static void test_exceptions(void **state)
{
	const char *pack = PACK_HEAD
	    "rules = ( { id = \"PIPL-X\"; title = \"t\"; severity = \"low\"; compliance = ( "
	    "(\"X\", "
	    "\"1\") );\n select = { s = { field = \"event.action\"; eq = \"read\"; }; }; },\n"
	    "{ id = \"PIPL-Y\"; title = \"t\"; severity = \"low\"; compliance = ( (\"X\", \"1\") "
	    ");\n"
	    " select = { s = { field = \"event.action\"; eq = \"read\"; }; }; } );";
	const char *texts[] = {pack, NULL};
	const char *ok =
	    "exceptions = ( { id = \"EXC-1\"; rules = [\"PIPL-*\"]; ticket = \"CHG-1\";\n"
	    "  approved_by = \"DPO\"; expires = \"2026-12-31\"; reason = \"batch\";\n"
	    "  match = ( { field = \"user.name\"; in_list = \"svc\"; } ); },\n"
	    "{ id = \"EXC-2\"; rules = [\"PIPL-Y\"]; ticket = \"CHG-2\";\n"
	    "  approved_by = \"DPO\"; expires = \"2027-01-31T00:00:00+08:00\";\n"
	    "  match = { field = \"host.name\"; eq = \"h\"; }; } );";
	const char *bad =
	    "exceptions = ( { id = \"EXC-1\"; rules = [\"PIPL-Z\"]; ticket = \"CHG-1\";\n"
	    "  expires = \"2026-13-01\";\n"
	    "  match = ( { field = \"user.name\"; in_list = \"svcs\"; } ); } );";
	struct dg_schema *schema = dg_schema_new();
	char *cause = NULL;
	struct dg_ruleset *rs = load_with(schema, texts, NULL, NULL, ok, &cause);
	const struct dg_exception *x;
	struct dg_jsonl *p;
	struct dg_evt evt;
	const char *why, *e = EVT("\"user.name\":\"SVC_batch\",\"event.action\":\"read\"");

	(void)state;
	if (rs == NULL)
		fail_msg("%s", cause);
	assert_int_equal(dg_rules_exception_count(rs), 2);
	x = dg_rules_exception(rs, 0);
	assert_string_equal(x->ticket, "CHG-1");
	assert_string_equal(x->approved_by, "DPO");
	assert_int_equal(x->expires_ms, 1798761600000LL); /* the end of 2026-12-31, UTC */
	assert_true(x->expired);                          /* the test's clock says 2027-01-01 */
	assert_false(dg_rules_exception(rs, 1)->expired);
	assert_int_equal(dg_rules_get(rs, 0)->nexceptions, 1);
	assert_int_equal(dg_rules_get(rs, 1)->nexceptions, 2);
	p = dg_jsonl_new(schema, 1024, 0);
	assert_int_equal(dg_jsonl_parse(p, e, strlen(e), &evt, &why), 0);
	assert_true(dg_rules_exception_match(x, &evt));
	assert_false(dg_rules_exception_match(dg_rules_exception(rs, 1), &evt));
	dg_jsonl_free(p);
	dg_rules_free(rs);
	rs = load_with(schema, texts, NULL, NULL, bad, &cause);
	assert_null(rs);
	assert_string_equal(
	    cause, "site.conf:1: an exception needs approved_by: who approved which exemption, "
	           "under what ticket and until when is the evidence\n"
	           "site.conf:2: expires: '2026-13-01' is not a date (YYYY-MM-DD) or an RFC "
	           "3339 time\n"
	           "site.conf:3: unknown list 'svcs' (did you mean 'svc'?)");
	free(cause);
	bad = "exceptions = ( { id = \"EXC-1\"; rules = [\"PIPL-Z\"]; ticket = \"CHG-1\";\n"
	      "  approved_by = \"DPO\"; expires = \"2026-12-31\";\n"
	      "  match = { field = \"user.name\"; eq = \"x\"; }; } );";
	rs = load_with(schema, texts, NULL, NULL, bad, &cause);
	assert_null(rs);
	assert_string_equal(cause,
	                    "site.conf:1: exception EXC-1: no rule matches 'PIPL-Z' (did you "
	                    "mean 'PIPL-X'?)");
	free(cause);
	dg_schema_free(schema);
}

static void test_fixture_spec(void **state)
{
	const char *text =
	    "rules = ( { id = \"A\"; title = \"t\"; severity = \"low\"; compliance = ( (\"X\", "
	    "\"1\") );\n"
	    " select = { s = { field = \"event.action\"; eq = \"export\"; }; };\n"
	    " tests = ( { name = \"split\"; expect = 1; value = 12;\n"
	    "   events = ( { at = \"2026-03-02T10:00:00+08:00\"; set = ( \"user.name\", \"u{n}\",\n"
	    "                \"dg.records\", 3, \"user.roles\", [\"dba\"] ); },\n"
	    "              { at = \"+5m\"; repeat = 4; every = \"1m\"; } ); } ); } );";
	struct dg_schema *schema = dg_schema_new();
	char *cause = NULL;
	struct dg_ruleset *rs = load(schema, text, &cause);
	const struct dg_fixture *f;

	(void)state;
	if (rs == NULL)
		fail_msg("%s", cause);
	assert_int_equal(dg_rules_get(rs, 0)->nfixtures, 1);
	f = &dg_rules_get(rs, 0)->fixtures[0];
	assert_string_equal(f->name, "split");
	assert_int_equal(f->expect, 1);
	assert_true(f->has_value);
	assert_int_equal(f->nevents, 2);
	assert_int_equal(f->events[0].at_ms, 1772416800000LL);
	assert_int_equal(f->events[0].nset, 3);
	assert_int_equal(f->events[0].set[1].kind, DG_K_NUM);
	assert_int_equal(f->events[0].set[2].nitems, 1);
	assert_true(f->events[1].relative);
	assert_int_equal(f->events[1].at_ms, 300000);
	assert_int_equal(f->events[1].repeat, 4);
	assert_int_equal(f->events[1].every_ms, 60000);
	dg_rules_free(rs);
	dg_schema_free(schema);
}

/* The site's tests of a rule replace the pack's; an entry for no loaded rule is refused. */
static void test_site_tests(void **state)
{
	const char *texts[] = {
	    "rules = ( { id = \"A\"; title = \"t\"; severity = \"low\"; compliance = ( (\"X\", "
	    "\"1\") );\n"
	    " select = { s = { field = \"event.action\"; eq = \"export\"; }; };\n"
	    " tests = ( { expect = 1; events = ( { at = \"2026-03-02T10:00:00Z\";\n"
	    "   set = ( \"event.action\", \"export\" ); } ); } ); } );",
	    NULL};
	const char *site =
	    "rule_tests = ( { rule = \"A\"; reason = \"r\"; tests = (\n"
	    "  { name = \"s1\"; expect = 0; events = ( { at = \"2026-03-02T10:00:00Z\"; "
	    "} ); },\n"
	    "  { name = \"s2\"; expect = 1; events = ( { at = \"2026-03-02T10:00:00Z\"; "
	    "} ); } ); } );";
	struct dg_schema *schema = dg_schema_new();
	char *cause = NULL;
	struct dg_ruleset *rs = load_with(schema, texts, NULL, NULL, site, &cause);
	const struct dg_rule *r;

	(void)state;
	if (rs == NULL)
		fail_msg("%s", cause);
	free(cause);
	r = dg_rules_get(rs, 0);
	assert_true(r->site_tests);
	assert_int_equal(r->nfixtures, 2);
	assert_string_equal(r->fixtures[1].name, "s2");
	assert_string_equal(r->fixtures[1].where, "site.conf:3");
	dg_rules_free(rs);
	rs = load_with(schema, texts, NULL, NULL,
	               "rule_tests = ( { rule = \"B\"; tests = ( ); },\n"
	               "  { rule = \"A\"; tests = ( { events = ( { at = \"x\"; } ); } ); } );",
	               &cause);
	assert_null(rs);
	assert_string_equal(cause,
	                    "site.conf:2: a test says how many findings it expects: expect = N\n"
	                    "site.conf:2: at: 'x' is not an RFC 3339 time with a zone\n"
	                    "site.conf:1: rule_tests: no rule 'B' is loaded");
	free(cause);
	dg_schema_free(schema);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_operators),
	    cmocka_unit_test(test_expressions),
	    cmocka_unit_test(test_errors_name_file_and_line),
	    cmocka_unit_test(test_site_overrides_pack_defaults),
	    cmocka_unit_test(test_threshold_and_sequence_spec),
	    cmocka_unit_test(test_exceptions),
	    cmocka_unit_test(test_fixture_spec),
	    cmocka_unit_test(test_site_tests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
