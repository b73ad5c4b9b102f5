/* The engine: exceptions exempt what they cover until they expire, and are counted; repeats of
 * a finding within a suppress period are held back and their count goes with the next one;
 * the index spares rules events they cannot match without changing what is found; groups
 * evicted at max_keys are counted with the records they held; alerts,
 * closes and carries of bursts; a concentration at the end of a period; state that survives a
 * checkpoint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/engine.h"
#include "dgaudit/jsonl.h"

struct fixture {
	struct dg_schema *schema;
	struct dg_ruleset *rs;
	struct dg_jsonl *p;
	struct dg_engine *e;
	config_t xc;
};

struct seen {
	int n, alerts, carried;
	char rule[64][40];
	uint64_t repeats[64];
	size_t nexpired[64];
	int64_t value[64];
};

static void on_match(const struct dg_match *m, void *arg)
{
	struct seen *s = arg;

	if (m->kind == DG_MATCH_OPEN) {
		s->alerts++;
		return;
	}
	if (m->kind == DG_MATCH_CARRIED)
		s->carried++;
	snprintf(s->rule[s->n % 64], 40, "%s", m->rule->id);
	s->repeats[s->n % 64] = m->repeats;
	s->nexpired[s->n % 64] = m->nexpired;
	s->value[s->n % 64] = m->fire ? m->fire->aggregate : 0;
	s->n++;
}

/* Rules A (single, suppressing repeats per user for an hour), B (single, reads only), C (a
 * count of 3 per user in an hour) and D (a concentration of over 60% per recipient); an
 * exception for user svc on A, and an expired one for user old on A and B. */
static const char pack[] =
    "rules = (\n"
    "{ id = \"A\"; title = \"t\"; severity = \"low\"; compliance = ( (\"X\", \"1\") );\n"
    "  select = { s = { field = \"dg.classification\"; eq = \"C3\"; }; };\n"
    "  suppress = { group_by = [\"user.name\"]; period = \"1h\"; }; },\n"
    "{ id = \"B\"; title = \"t\"; severity = \"low\"; compliance = ( (\"X\", \"1\") );\n"
    "  select = { s = { field = \"event.action\"; eq = \"read\"; }; }; },\n"
    "{ id = \"C\"; title = \"t\"; severity = \"low\"; compliance = ( (\"X\", \"1\") );\n"
    "  select = { s = { field = \"event.action\"; eq = \"export\"; }; };\n"
    "  threshold = { count = true; group_by = [\"user.name\"]; window = \"1h\"; gte = 3; }; },\n"
    "{ id = \"D\"; title = \"t\"; severity = \"low\"; compliance = ( (\"X\", \"1\") );\n"
    "  select = { s = { field = \"event.action\"; eq = \"share\"; }; };\n"
    "  concentration = { by = \"dg.recipient\"; sum = \"dg.records\"; max_share = 60;\n"
    "                    min_total = 100; }; },\n"
    "{ id = \"E\"; title = \"t\"; severity = \"low\"; compliance = ( (\"X\", \"1\") );\n"
    "  select = { s = { field = \"event.action\"; eq = \"delete\"; }; };\n"
    "  threshold = { count = true; group_by = [\"user.name\"]; window = \"1h\"; gte = 5;\n"
    "                max_keys = 2; }; } );\n";

static const char exceptions[] =
    "exceptions = (\n"
    "{ id = \"X1\"; rules = [\"A\"]; ticket = \"T1\"; approved_by = \"DPO\";\n"
    "  expires = \"2030-01-01\"; match = { field = \"user.name\"; eq = \"svc\"; }; },\n"
    "{ id = \"X2\"; rules = [\"A\", \"B\"]; ticket = \"T2\"; approved_by = \"DPO\";\n"
    "  expires = \"2026-06-01\"; match = { field = \"user.name\"; eq = \"old\"; }; } );\n";

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct dg_rules_text text = {"p.conf", pack, true};
	struct dg_rules_exceptions x = {"site.conf", NULL};
	struct dg_rules_input in = {
	    .packs = &text, .npacks = 1, .exceptions = &x, .nexceptions = 1};
	struct dg_diag d = {0};

	config_init(&f->xc);
	if (dg_cfgutil_read(&f->xc, "site.conf", exceptions, &d) != 0)
		return -1;
	x.list = config_setting_get_member(config_root_setting(&f->xc), "exceptions");
	f->schema = dg_schema_new();
	f->rs = dg_rules_load(&in, f->schema, &d);
	if (f->rs == NULL) {
		char *t = dg_diag_text(&d);

		fprintf(stderr, "%s\n", t);
		free(t);
		return -1;
	}
	f->p = dg_jsonl_new(f->schema, 4096, 0);
	f->e = dg_engine_new(f->rs, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	dg_engine_free(f->e);
	dg_jsonl_free(f->p);
	dg_rules_free(f->rs);
	dg_schema_free(f->schema);
	config_destroy(&f->xc);
	free(f);
	return 0;
}

static void feed(struct fixture *f, struct dg_engine *e, const char *line, uint64_t n,
                 struct seen *s)
{
	struct dg_evt evt;
	struct dg_ref ref = {0, n, n * 10};
	const char *why;

	if (dg_jsonl_parse(f->p, line, strlen(line), &evt, &why) != 0)
		fail_msg("%s: %s", line, why);
	dg_engine_eval(e, &evt, &ref, on_match, s);
}

#define EV(t, ...) "{\"@timestamp\":\"2026-11-02T" t "Z\"," __VA_ARGS__ "}"

static size_t rule_index(const struct dg_ruleset *rs, const char *id)
{
	for (size_t i = 0; i < dg_rules_count(rs); i++)
		if (strcmp(dg_rules_get(rs, i)->id, id) == 0)
			return i;
	fail_msg("no rule %s", id);
	return 0;
}

static void test_exceptions(void **state)
{
	struct fixture *f = *state;
	struct seen s = {0};
	struct dg_exception_stats *xs = dg_engine_exception_stats(f->e);
	struct dg_rule_stats *rst = dg_engine_rule_stats(f->e);

	feed(f, f->e, EV("01:00:00", "\"user.name\":\"svc\",\"dg.classification\":\"C3\""), 1, &s);
	feed(f, f->e, EV("01:00:01", "\"user.name\":\"svc\",\"dg.classification\":\"C3\""), 2, &s);
	assert_int_equal(s.n, 0);
	feed(f, f->e,
	     EV("01:00:02", "\"user.name\":\"old\",\"dg.classification\":\"C3\","
	                    "\"event.action\":\"read\""),
	     3, &s);
	assert_int_equal(s.n, 2); /* A and B: X2 had expired */
	assert_int_equal(s.nexpired[0], 1);
	assert_int_equal(s.nexpired[1], 1);
	assert_int_equal(xs[0].exempted, 2);
	assert_int_equal(xs[1].exempted, 0);
	assert_int_equal(xs[1].expired, 2);
	assert_int_equal(rst[rule_index(f->rs, "A")].exempted, 2);
	assert_int_equal(rst[rule_index(f->rs, "A")].matches, 3);
}

/* Five matches of A by one user within the hour: one finding; the next, after the period,
 * carries the four held back. */
static void test_suppress_repeats(void **state)
{
	struct fixture *f = *state;
	struct seen s = {0};
	size_t a = rule_index(f->rs, "A");

	for (int i = 0; i < 5; i++) {
		char line[160];

		snprintf(line, sizeof line,
		         EV("02:%02d:00", "\"user.name\":\"u\",\"dg.classification\":\"C3\""),
		         i * 10);
		feed(f, f->e, line, (uint64_t)i + 10, &s);
	}
	assert_int_equal(s.n, 1);
	assert_int_equal(s.repeats[0], 0);
	assert_int_equal(dg_engine_rule_stats(f->e)[a].suppressed, 4);
	feed(f, f->e, EV("03:05:00", "\"user.name\":\"v\",\"dg.classification\":\"C3\""), 20, &s);
	feed(f, f->e, EV("03:05:00", "\"user.name\":\"u\",\"dg.classification\":\"C3\""), 21, &s);
	assert_int_equal(s.n, 3); /* v is another key; u's period is over */
	assert_int_equal(s.repeats[1], 0);
	assert_int_equal(s.repeats[2], 4);
}

/* B matches reads only: the index skips it for other events, and it finds the same. */
static void test_index(void **state)
{
	struct fixture *f = *state;
	struct seen s = {0};
	size_t b = rule_index(f->rs, "B");
	uint64_t before = dg_engine_rule_stats(f->e)[b].evaluations;

	assert_int_equal(dg_rules_get(f->rs, b)->actions, 1u << 0);
	feed(f, f->e, EV("04:00:00", "\"event.action\":\"write\""), 30, &s);
	feed(f, f->e, EV("04:00:01", "\"user.name\":\"z\""), 31, &s);
	assert_int_equal(dg_engine_rule_stats(f->e)[b].evaluations, before);
	feed(f, f->e, EV("04:00:02", "\"event.action\":\"read\""), 32, &s);
	assert_int_equal(dg_engine_rule_stats(f->e)[b].evaluations, before + 1);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.rule[0], "B");
}

/* E keeps two users: a third evicts the least recently seen, and the counters say so. */
static void test_evictions(void **state)
{
	struct fixture *f = *state;
	struct seen s = {0};
	const struct dg_rule_stats *st = &dg_engine_rule_stats(f->e)[rule_index(f->rs, "E")];

	feed(f, f->e, EV("05:00:00", "\"user.name\":\"u1\",\"event.action\":\"delete\""), 40, &s);
	feed(f, f->e, EV("05:00:01", "\"user.name\":\"u1\",\"event.action\":\"delete\""), 41, &s);
	feed(f, f->e, EV("05:00:02", "\"user.name\":\"u2\",\"event.action\":\"delete\""), 42, &s);
	feed(f, f->e, EV("05:00:03", "\"user.name\":\"u2\",\"event.action\":\"delete\""), 43, &s);
	assert_int_equal(st->evicted_groups, 0);
	feed(f, f->e, EV("05:00:04", "\"user.name\":\"u3\",\"event.action\":\"delete\""), 44, &s);
	assert_int_equal(st->evicted_groups, 1);
	assert_int_equal(st->evicted_records, 2); /* u1's two */
	feed(f, f->e, EV("05:00:05", "\"user.name\":\"u2\",\"event.action\":\"delete\""), 45, &s);
	assert_int_equal(st->evicted_groups, 1); /* u2 is still held */
	assert_int_equal(s.n, 0);
}

/* A threshold alerts when reached, is carried at a period's end, and is complete at the end. */
static void test_burst_kinds(void **state)
{
	struct fixture *f = *state;
	struct dg_engine *e = dg_engine_new(f->rs, 0);
	struct seen s = {0};

	for (int i = 0; i < 4; i++) {
		char line[160];

		snprintf(line, sizeof line,
		         EV("05:0%d:00", "\"user.name\":\"x\",\"event.action\":\"export\""), i);
		feed(f, e, line, (uint64_t)i + 40, &s);
	}
	assert_int_equal(s.alerts, 1);
	assert_int_equal(s.n, 0);
	dg_engine_carry(e, on_match, &s);
	assert_int_equal(s.carried, 1);
	assert_int_equal(s.value[0], 4);
	dg_engine_flush(e, on_match, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.value[1], 4);
	assert_int_equal(dg_engine_rule_stats(e)[rule_index(f->rs, "C")].findings, 2);
	dg_engine_free(e);
}

/* A recipient with over 60% of the period's shared records is a finding when the period ends;
 * the next period starts over. */
static void test_concentration(void **state)
{
	struct fixture *f = *state;
	struct dg_engine *e = dg_engine_new(f->rs, 0);
	struct seen s = {0};

	feed(f, e,
	     EV("06:00:00", "\"event.action\":\"share\",\"dg.recipient\":\"A\",\"dg.records\":70"),
	     50, &s);
	feed(f, e,
	     EV("06:00:01", "\"event.action\":\"share\",\"dg.recipient\":\"B\",\"dg.records\":30"),
	     51, &s);
	assert_int_equal(s.n, 0);
	dg_engine_carry(e, on_match, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.rule[0], "D");
	assert_int_equal(s.value[0], 70);
	feed(f, e,
	     EV("07:00:00", "\"event.action\":\"share\",\"dg.recipient\":\"A\",\"dg.records\":60"),
	     52, &s);
	feed(f, e,
	     EV("07:00:01", "\"event.action\":\"share\",\"dg.recipient\":\"B\",\"dg.records\":40"),
	     53, &s);
	dg_engine_flush(e, on_match, &s);
	assert_int_equal(s.n, 1); /* 60% is not over 60% */
	dg_engine_free(e);
}

/* Suppression, a burst and a period's shares survive a checkpoint. */
static void test_save_load(void **state)
{
	struct fixture *f = *state;
	struct dg_engine *e = dg_engine_new(f->rs, 0), *e2 = dg_engine_new(f->rs, 0);
	struct seen s = {0};
	uint32_t remap[1] = {0};
	struct dg_cjson *saved;

	feed(f, e, EV("08:00:00", "\"user.name\":\"u\",\"dg.classification\":\"C3\""), 60, &s);
	for (int i = 0; i < 3; i++)
		feed(f, e, EV("08:00:01", "\"user.name\":\"x\",\"event.action\":\"export\""),
		     (uint64_t)i + 61, &s);
	feed(f, e,
	     EV("08:00:02", "\"event.action\":\"share\",\"dg.recipient\":\"A\",\"dg.records\":100"),
	     64, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.alerts, 1);
	saved = dg_engine_save(e, remap);
	assert_int_equal(dg_engine_load(e2, saved), 0);
	feed(f, e2, EV("08:10:00", "\"user.name\":\"u\",\"dg.classification\":\"C3\""), 65, &s);
	assert_int_equal(s.n, 1); /* still held back */
	feed(f, e2, EV("08:10:00", "\"user.name\":\"x\",\"event.action\":\"export\""), 66, &s);
	dg_engine_flush(e2, on_match, &s);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.rule[1], "C");
	assert_int_equal(s.value[1], 4); /* the burst went on across the checkpoint */
	assert_string_equal(s.rule[2], "D");
	dg_cjson_free(saved);
	dg_engine_free(e);
	dg_engine_free(e2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exceptions),  cmocka_unit_test(test_suppress_repeats),
	    cmocka_unit_test(test_index),       cmocka_unit_test(test_evictions),
	    cmocka_unit_test(test_burst_kinds), cmocka_unit_test(test_concentration),
	    cmocka_unit_test(test_save_load),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
