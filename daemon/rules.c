#include "dgaudit/rules.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/buf.h"
#include "dgaudit/hash.h"
#include "dgaudit/schedule.h"
#include "dgaudit/ts.h"
#include "dgaudit/xmalloc.h"

enum node_type { N_SELECT, N_AND, N_OR, N_NOT };

struct node {
	enum node_type type;
	int select;
	struct node *a, *b;
};

struct dg_rule_impl {
	struct dg_select **selects;
	size_t nselects;
	struct node *cond; /* NULL for a sequence */
	char *cond_text;
	const struct dg_schema *schema;
};

struct dg_ruleset {
	struct dg_rule *rules;
	size_t nrules;
	struct dg_exception *exceptions;
	size_t nexceptions;
	struct dg_schedule **schedules;
	size_t nschedules;
	char **disabled;
	size_t ndisabled;
	struct dg_site site;
	bool *loaded; /* per pack given: some are off unless named */
	size_t npacks;
	const struct dg_schema *schema;
	char digest[DG_HASH_HEXLEN];
};

static const char *const sev_names[DG_SEV_COUNT] = {"info", "low", "medium", "high", "critical"};

const char *dg_rules_severity_name(enum dg_severity sev)
{
	return sev_names[sev];
}

bool dg_rules_severity_parse(const char *name, enum dg_severity *out)
{
	for (int i = 0; i < DG_SEV_COUNT; i++) {
		if (strcmp(sev_names[i], name) == 0) {
			*out = (enum dg_severity)i;
			return true;
		}
	}
	return false;
}

const char *dg_rules_kind_name(enum dg_rule_kind kind)
{
	return kind == DG_RULE_THRESHOLD       ? "threshold"
	       : kind == DG_RULE_SEQUENCE      ? "sequence"
	       : kind == DG_RULE_CONCENTRATION ? "concentration"
	                                       : "single";
}

/* ---- matching ------------------------------------------------------------------------------ */

static bool eval(const struct node *n, const struct dg_rule_impl *impl, const struct dg_evt *evt)
{
	switch (n->type) {
	case N_SELECT:
		return dg_cond_match(impl->selects[n->select], evt);
	case N_AND:
		return eval(n->a, impl, evt) && eval(n->b, impl, evt);
	case N_OR:
		return eval(n->a, impl, evt) || eval(n->b, impl, evt);
	case N_NOT:
		return !eval(n->a, impl, evt);
	}
	return false;
}

bool dg_rules_match(const struct dg_rule *rule, const struct dg_evt *evt)
{
	return rule->impl->cond != NULL && eval(rule->impl->cond, rule->impl, evt);
}

bool dg_rules_match_step(const struct dg_rule *rule, size_t step, const struct dg_evt *evt)
{
	return step < rule->threshold.nsteps &&
	       dg_cond_match(rule->impl->selects[rule->threshold.steps[step].select], evt);
}

const char *dg_rules_select_name(const struct dg_rule *rule, int select)
{
	return select >= 0 && (size_t)select < rule->impl->nselects
	           ? dg_cond_name(rule->impl->selects[select])
	           : "?";
}

const char *dg_rules_condition_text(const struct dg_rule *rule)
{
	return rule->impl->cond_text;
}

bool dg_rules_exception_match(const struct dg_exception *x, const struct dg_evt *evt)
{
	return dg_cond_match(x->sel, evt);
}

struct dg_cjson *dg_rules_explain(const struct dg_rule *rule, const struct dg_evt *evt,
                                  dg_cond_protect *protect, void *arg)
{
	struct dg_cjson *o = dg_cjson_object(),
	                *blocks = dg_cjson_set(o, "blocks", dg_cjson_object());

	if (rule->impl->cond_text != NULL)
		dg_cjson_set(o, "condition", dg_cjson_str(rule->impl->cond_text));
	for (size_t i = 0; i < rule->impl->nselects; i++) {
		const struct dg_select *sel = rule->impl->selects[i];
		struct dg_cjson *b = dg_cjson_set(blocks, dg_cond_name(sel), dg_cjson_object());

		dg_cjson_set(b, "holds", dg_cjson_bool(dg_cond_match(sel, evt)));
		dg_cond_explain(sel, evt, rule->impl->schema, protect, arg,
		                dg_cjson_set(b, "conditions", dg_cjson_array()));
	}
	return o;
}

/* ---- loading ------------------------------------------------------------------------------- */

struct loader {
	struct dg_cond_env env;
	struct dg_diag *diag;
	struct dg_site site; /* the packs' declarations, then the site's over them */
	struct dg_schema *schema;
	dg_cfgutil_reader *read;
	void *read_arg;
	bool no_tests;                      /* compiling a rule again for a test's own lists */
	const config_setting_t *site_tests; /* rule_tests, checked */
	bool *site_tests_used;
	const char *site_name;
	char **absent; /* ids of rules that failed to compile or are disabled */
	size_t nabsent;
};

#define FAIL(ld, s, ...) dg_diag_fail((ld)->diag, (ld)->env.name, (s), __VA_ARGS__)

/* ---- condition expressions: or > and > not > ( ) ------------------------------------------- */

struct expr {
	struct loader *ld;
	const config_setting_t *where;
	const struct dg_rule_impl *impl;
	const char *p;
	bool *used; /* per select block */
};

static void node_free(struct node *n)
{
	if (n == NULL)
		return;
	node_free(n->a);
	node_free(n->b);
	free(n);
}

static struct node *node_new(enum node_type type, struct node *a, struct node *b)
{
	struct node *n = dg_xcalloc(1, sizeof *n);

	n->type = type;
	n->a = a;
	n->b = b;
	return n;
}

static void skip_space(struct expr *x)
{
	while (*x->p == ' ' || *x->p == '\t' || *x->p == '\n')
		x->p++;
}

static bool is_word(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* Consumes keyword kw if it is the next word. */
static bool keyword(struct expr *x, const char *kw)
{
	size_t n = strlen(kw);

	skip_space(x);
	if (strncmp(x->p, kw, n) != 0 || is_word(x->p[n]))
		return false;
	x->p += n;
	return true;
}

static int select_index(const struct dg_rule_impl *impl, const char *name, size_t len)
{
	for (size_t i = 0; i < impl->nselects; i++) {
		const char *s = dg_cond_name(impl->selects[i]);

		if (strlen(s) == len && strncmp(s, name, len) == 0)
			return (int)i;
	}
	return -1;
}

static const char **select_names(const struct dg_rule_impl *impl)
{
	const char **v = dg_xcalloc(impl->nselects + 1, sizeof *v);

	for (size_t i = 0; i < impl->nselects; i++)
		v[i] = dg_cond_name(impl->selects[i]);
	return v;
}

static int fail_no_block(struct loader *ld, const config_setting_t *where,
                         const struct dg_rule_impl *impl, const char *what, const char *name,
                         size_t len)
{
	char *n = dg_xstrndup(name, len);
	const char **v = select_names(impl);

	FAIL(ld, where, "%s: no select block named '%s'%s", what, n,
	     dg_cfgutil_did_you_mean(n, v, impl->nselects));
	free(v);
	free(n);
	return -1;
}

static struct node *parse_or(struct expr *x);

static struct node *parse_unary(struct expr *x)
{
	const char *start;
	struct node *n;
	int i;

	if (keyword(x, "not")) {
		n = parse_unary(x);
		return n ? node_new(N_NOT, n, NULL) : NULL;
	}
	skip_space(x);
	if (*x->p == '(') {
		x->p++;
		n = parse_or(x);
		if (n == NULL)
			return NULL;
		skip_space(x);
		if (*x->p != ')') {
			FAIL(x->ld, x->where, "condition: missing ')' before \"%s\"", x->p);
			node_free(n);
			return NULL;
		}
		x->p++;
		return n;
	}
	start = x->p;
	while (is_word(*x->p))
		x->p++;
	if (x->p == start) {
		FAIL(x->ld, x->where, "condition: expected a select block name at \"%s\"", start);
		return NULL;
	}
	i = select_index(x->impl, start, (size_t)(x->p - start));
	if (i < 0) {
		fail_no_block(x->ld, x->where, x->impl, "condition", start, (size_t)(x->p - start));
		return NULL;
	}
	x->used[i] = true;
	n = node_new(N_SELECT, NULL, NULL);
	n->select = i;
	return n;
}

static struct node *parse_and(struct expr *x)
{
	struct node *n = parse_unary(x);

	while (n != NULL && keyword(x, "and")) {
		struct node *b = parse_unary(x);

		if (b == NULL) {
			node_free(n);
			return NULL;
		}
		n = node_new(N_AND, n, b);
	}
	return n;
}

static struct node *parse_or(struct expr *x)
{
	struct node *n = parse_and(x);

	while (n != NULL && keyword(x, "or")) {
		struct node *b = parse_and(x);

		if (b == NULL) {
			node_free(n);
			return NULL;
		}
		n = node_new(N_OR, n, b);
	}
	return n;
}

static struct node *compile_expr(struct loader *ld, const config_setting_t *where,
                                 const struct dg_rule_impl *impl, const char *text, bool *used)
{
	struct expr x = {ld, where, impl, text, used};
	struct node *n = parse_or(&x);

	if (n == NULL)
		return NULL;
	skip_space(&x);
	if (*x.p != '\0') {
		FAIL(ld, where, "condition: unexpected \"%s\"", x.p);
		node_free(n);
		return NULL;
	}
	return n;
}

/* What any event matching the expression has (see dg_cond_requires). */
static void requires(const struct node *n, const struct dg_rule_impl *impl, uint64_t *present,
                     uint32_t *actions)
{
	uint64_t p2;
	uint32_t a2;

	switch (n->type) {
	case N_SELECT:
		dg_cond_requires(impl->selects[n->select], present, actions);
		return;
	case N_AND:
		requires(n->a, impl, present, actions)
		;
		requires(n->b, impl, &p2, &a2);
		*present |= p2;
		*actions &= a2;
		return;
	case N_OR:
		requires(n->a, impl, present, actions)
		;
		requires(n->b, impl, &p2, &a2);
		*present &= p2;
		*actions |= a2;
		return;
	case N_NOT:
		*present = 0;
		*actions = UINT32_MAX;
		return;
	}
}

/* ---- parts of a rule ----------------------------------------------------------------------- */

static int compile_group_by(struct loader *ld, const config_setting_t *s, int *fields, size_t *n,
                            uint64_t *shown)
{
	char **names = NULL;
	size_t count = 0;
	int rc = 0;

	*n = 0;
	if (s == NULL)
		return 0;
	if (dg_cfgutil_strings(ld->env.name, s, &names, &count, ld->diag) != 0)
		return -1;
	if (count > DG_MAX_GROUP_BY) {
		dg_cfgutil_strings_free(names);
		return FAIL(ld, s, "at most %d group_by fields", DG_MAX_GROUP_BY);
	}
	for (size_t i = 0; i < count; i++) {
		if (dg_cond_field(&ld->env, s, names[i], &fields[*n]) != 0) {
			rc = -1;
			continue;
		}
		*shown |= 1ULL << fields[*n];
		(*n)++;
	}
	dg_cfgutil_strings_free(names);
	return rc;
}

static int compile_limit(struct loader *ld, const config_setting_t *s, const char *what,
                         int64_t min, int64_t max, int64_t *out)
{
	if (dg_cond_int(&ld->env, s, out) != 0)
		return -1;
	if (*out < min || *out > max)
		return dg_cond_fail_value(&ld->env, s, "%s must be between %lld and %lld", what,
		                          (long long)min, (long long)max);
	return 0;
}

/* An aggregate. A threshold has count = true, sum = "field" or distinct = "field", and gte = N;
 * a step has count = N (default 1), or sum or distinct with gte = N. */
static int compile_agg(struct loader *ld, const config_setting_t *g, bool step, enum dg_agg *agg,
                       int *field, int64_t *limit, uint64_t *shown)
{
	static const char *const aggs[] = {"count", "sum", "distinct"};
	const config_setting_t *s, *count = NULL, *gte = config_setting_get_member(g, "gte");
	int naggs = 0, rc = 0;

	*field = -1;
	*agg = DG_AGG_COUNT;
	*limit = 1;
	for (int i = 0; i < 3; i++) {
		if ((s = config_setting_get_member(g, aggs[i])) == NULL)
			continue;
		naggs++;
		*agg = (enum dg_agg)i;
		if (i == DG_AGG_COUNT) {
			count = s;
			continue;
		}
		if (config_setting_type(s) != CONFIG_TYPE_STRING) {
			rc = FAIL(ld, s, "%s needs a field name", aggs[i]);
			continue;
		}
		if (dg_cond_field(&ld->env, s, config_setting_get_string(s), field) != 0) {
			rc = -1;
			continue;
		}
		*shown |= 1ULL << *field;
		if (i == DG_AGG_SUM && dg_schema_type(ld->schema, *field) != DG_TYPE_NUMBER)
			rc = FAIL(ld, s, "sum needs a number field; %s is a %s",
			          config_setting_get_string(s),
			          dg_cfgutil_type_name(dg_schema_type(ld->schema, *field)));
	}
	if (naggs > 1)
		return FAIL(ld, g, "one of count, sum or distinct");
	if (step && *agg == DG_AGG_COUNT) {
		if (gte != NULL)
			rc = FAIL(ld, gte, "a step counts events with count = N, not gte");
		if (count != NULL)
			rc |= compile_limit(ld, count, "count", 1, 1000000000, limit);
		return rc;
	}
	if (naggs == 0)
		return FAIL(ld, g,
		            "a threshold needs one of count = true, sum = \"field\" or "
		            "distinct = \"field\"");
	if (count != NULL &&
	    (config_setting_type(count) != CONFIG_TYPE_BOOL || !config_setting_get_bool(count)))
		rc = FAIL(ld, count, "count = true; counts events (the limit is gte = N)");
	if (gte == NULL)
		return FAIL(ld, g, "%s needs gte = N (the value at which it fires)",
		            step ? "a step with sum or distinct" : "a threshold");
	return rc | compile_limit(ld, gte, "gte", 1, INT64_MAX / 2, limit);
}

static int compile_window(struct loader *ld, const config_setting_t *g, struct dg_threshold *th,
                          struct dg_rule *r)
{
	const config_setting_t *s;
	int rc = 0;
	int64_t v;

	th->evidence_max = 20;
	th->max_keys = 100000;
	rc |= compile_group_by(ld, config_setting_get_member(g, "group_by"), th->group_by,
	                       &th->ngroup_by, &r->shown_fields);
	if ((s = config_setting_get_member(g, "window")) == NULL)
		rc = FAIL(ld, g, "%s needs a window, e.g. window = \"1h\"",
		          r->kind == DG_RULE_SEQUENCE ? "a sequence" : "a threshold");
	else if (dg_cond_duration(&ld->env, s, &th->window_ms) != 0)
		rc = -1;
	else if (th->window_ms > 31LL * 86400 * 1000)
		rc = dg_cond_fail_value(&ld->env, s, "a window is at most 31 days");
	if ((s = config_setting_get_member(g, "evidence")) != NULL) {
		if (compile_limit(ld, s, "evidence", 1, 10000, &v) == 0)
			th->evidence_max = (size_t)v;
		else
			rc = -1;
	}
	if ((s = config_setting_get_member(g, "max_keys")) != NULL) {
		if (compile_limit(ld, s, "max_keys", 1, 10000000, &v) == 0)
			th->max_keys = (size_t)v;
		else
			rc = -1;
	}
	return rc;
}

static int compile_threshold(struct loader *ld, const config_setting_t *t, struct dg_rule *r)
{
	static const char *const known[] = {"count", "sum",      "distinct", "group_by", "window",
	                                    "gte",   "evidence", "max_keys", NULL};
	struct dg_threshold *th = &r->threshold;
	int rc;

	if (!config_setting_is_group(t))
		return FAIL(ld, t, "threshold must be a group");
	if (config_setting_get_member(t, "then") != NULL)
		return FAIL(ld, config_setting_get_member(t, "then"),
		            "'then' is replaced by sequence = { steps = ( { select = \"...\"; "
		            "count = N; }, { select = \"...\"; } ); ... }");
	rc = dg_cfgutil_known(ld->env.name, t, known, ld->diag);
	rc |= compile_agg(ld, t, false, &th->agg, &th->field, &th->limit, &r->shown_fields);
	rc |= compile_window(ld, t, th, r);
	return rc;
}

static int compile_sequence(struct loader *ld, const config_setting_t *q, struct dg_rule *r,
                            bool *used)
{
	static const char *const known[] = {"steps",    "group_by", "window",
	                                    "evidence", "max_keys", NULL};
	static const char *const step_known[] = {"select", "count", "sum", "distinct", "gte", NULL};
	struct dg_threshold *th = &r->threshold;
	const config_setting_t *steps;
	int rc;

	if (!config_setting_is_group(q))
		return FAIL(ld, q, "sequence must be a group");
	rc = dg_cfgutil_known(ld->env.name, q, known, ld->diag);
	rc |= compile_window(ld, q, th, r);
	steps = config_setting_get_member(q, "steps");
	if (steps == NULL || !config_setting_is_list(steps) || config_setting_length(steps) < 2 ||
	    config_setting_length(steps) > DG_MAX_STEPS)
		return FAIL(
		    ld, steps ? steps : q,
		    "a sequence has 2 to %d steps: steps = ( { select = \"a\"; count = 5; }, "
		    "{ select = \"b\"; } )",
		    DG_MAX_STEPS);
	for (int i = 0; i < config_setting_length(steps); i++) {
		const config_setting_t *g = config_setting_get_elem(steps, (unsigned)i);
		struct dg_step *st = &th->steps[th->nsteps];
		const char *name;
		int err = 0;

		if (!config_setting_is_group(g) ||
		    dg_cfgutil_known(ld->env.name, g, step_known, ld->diag) != 0) {
			rc = config_setting_is_group(g)
			         ? -1
			         : FAIL(ld, g, "each step is a group { select = \"name\"; ... }");
			continue;
		}
		name = dg_cfgutil_string(ld->env.name, g, "select", &err, ld->diag);
		if (err || name == NULL) {
			rc = err ? -1
			         : FAIL(ld, g, "a step names its select block: select = \"...\"");
			continue;
		}
		st->select = select_index(r->impl, name, strlen(name));
		if (st->select < 0) {
			rc = fail_no_block(ld, config_setting_get_member(g, "select"), r->impl,
			                   "step", name, strlen(name));
			continue;
		}
		used[st->select] = true;
		if (compile_agg(ld, g, true, &st->agg, &st->field, &st->limit, &r->shown_fields) !=
		    0) {
			rc = -1;
			continue;
		}
		th->nsteps++;
	}
	return rc;
}

/* concentration = { by = "dg.recipient"; sum = "dg.records"; max_share = 50; min_total = N; } */
static int compile_concentration(struct loader *ld, const config_setting_t *c, struct dg_rule *r)
{
	static const char *const known[] = {"by",        "sum",      "max_share",
	                                    "min_total", "evidence", NULL};
	struct dg_threshold *th = &r->threshold;
	const config_setting_t *s;
	const char *by, *sum;
	int err = 0, rc;
	int64_t v;

	if (!config_setting_is_group(c))
		return FAIL(ld, c,
		            "concentration is a group { by = \"dg.recipient\"; max_share = 50; }");
	rc = dg_cfgutil_known(ld->env.name, c, known, ld->diag);
	by = dg_cfgutil_string(ld->env.name, c, "by", &err, ld->diag);
	sum = dg_cfgutil_string(ld->env.name, c, "sum", &err, ld->diag);
	th->evidence_max = 20;
	th->agg = DG_AGG_COUNT;
	th->field = -1;
	th->min_total = 1;
	if (err)
		return -1;
	if (by == NULL)
		rc = FAIL(ld, c, "concentration needs by = \"field\": whose share is measured");
	else if (dg_cond_field(&ld->env, config_setting_get_member(c, "by"), by,
	                       &th->group_by[0]) != 0)
		rc = -1;
	else {
		th->ngroup_by = 1;
		r->shown_fields |= 1ULL << th->group_by[0];
	}
	if (sum != NULL) {
		if (dg_cond_field(&ld->env, config_setting_get_member(c, "sum"), sum, &th->field) !=
		    0)
			rc = -1;
		else if (dg_schema_type(ld->schema, th->field) != DG_TYPE_NUMBER)
			rc = FAIL(ld, config_setting_get_member(c, "sum"),
			          "sum needs a number field");
		else {
			th->agg = DG_AGG_SUM;
			r->shown_fields |= 1ULL << th->field;
		}
	}
	if ((s = config_setting_get_member(c, "max_share")) == NULL)
		rc = FAIL(ld, c,
		          "concentration needs max_share = N (percent of the period's total)");
	else
		rc |= compile_limit(ld, s, "max_share", 1, 99, &th->limit);
	if ((s = config_setting_get_member(c, "min_total")) != NULL)
		rc |= compile_limit(ld, s, "min_total", 1, INT64_MAX / 200, &th->min_total);
	if ((s = config_setting_get_member(c, "evidence")) != NULL) {
		if (compile_limit(ld, s, "evidence", 1, 10000, &v) == 0)
			th->evidence_max = (size_t)v;
		else
			rc = -1;
	}
	return rc;
}

static int compile_suppress(struct loader *ld, const config_setting_t *s, struct dg_rule *r)
{
	static const char *const known[] = {"group_by", "period", NULL};
	const config_setting_t *p;
	int rc;

	if (!config_setting_is_group(s))
		return FAIL(ld, s, "suppress is a group { group_by = [...]; period = \"1h\"; }");
	rc = dg_cfgutil_known(ld->env.name, s, known, ld->diag);
	rc |= compile_group_by(ld, config_setting_get_member(s, "group_by"), r->suppress.group_by,
	                       &r->suppress.ngroup_by, &r->shown_fields);
	if ((p = config_setting_get_member(s, "period")) == NULL)
		rc = FAIL(ld, s, "suppress needs a period, e.g. period = \"1h\"");
	else if (dg_cond_duration(&ld->env, p, &r->suppress.period_ms) != 0)
		rc = -1;
	r->has_suppress = true;
	return rc;
}

static int compile_compliance(struct loader *ld, const config_setting_t *c, struct dg_rule *r)
{
	int n, rc = 0;

	if (!config_setting_is_list(c) || (n = config_setting_length(c)) == 0)
		return FAIL(
		    ld, c,
		    "compliance is a list like ( (\"PIPL\", \"Art. 28\"), (\"PCI DSS 4.0\", "
		    "\"10.2.1\") )");
	r->compliance = dg_xcalloc((size_t)n, sizeof *r->compliance);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(c, (unsigned)i);
		struct dg_compliance *cr = &r->compliance[r->ncompliance];
		char **v;
		size_t nv;

		if (config_setting_is_group(e) || !config_setting_is_aggregate(e) ||
		    config_setting_length(e) < 2) {
			rc = FAIL(ld, e, "each compliance entry is (\"framework\", \"ref\", ...)");
			continue;
		}
		if (dg_cfgutil_strings(ld->env.name, e, &v, &nv, ld->diag) != 0) {
			rc = -1;
			continue;
		}
		cr->framework = v[0];
		cr->refs = dg_xcalloc(nv, sizeof *cr->refs);
		memcpy(cr->refs, v + 1, (nv - 1) * sizeof *v);
		cr->nrefs = nv - 1;
		free(v);
		r->ncompliance++;
	}
	return rc;
}

/* Checks the {placeholders} of a message template: fields, alternatives such as
 * {db.query.text|message} (the first present one), or threshold values. */
static int check_message(struct loader *ld, const config_setting_t *s, struct dg_rule *r)
{
	static const char *const special[] = {"threshold.value",
	                                      "threshold.limit",
	                                      "threshold.window",
	                                      "threshold.events",
	                                      "threshold.part",
	                                      "threshold.total",
	                                      NULL};
	const char *p = r->message;
	int rc = 0;

	while ((p = strchr(p, '{')) != NULL) {
		const char *end = strchr(p, '}');
		char *names, *name, *save = NULL;

		if (end == NULL)
			return FAIL(ld, s, "message: '{' without '}'");
		names = dg_xstrndup(p + 1, (size_t)(end - p - 1));
		for (name = strtok_r(names, "|", &save); name != NULL;
		     name = strtok_r(NULL, "|", &save)) {
			bool is_special = false;
			int f;

			for (size_t i = 0; special[i] != NULL; i++)
				is_special |= strcmp(special[i], name) == 0;
			if (is_special && r->kind == DG_RULE_SINGLE)
				rc = FAIL(ld, s, "message: {%s} needs a threshold or sequence",
				          name);
			if (!is_special) {
				if (strncmp(name, "threshold.", 10) == 0)
					rc = FAIL(ld, s,
					          "message: {%s}: threshold gives value, limit, "
					          "window and "
					          "events",
					          name);
				else if (dg_cond_field(&ld->env, s, name, &f) != 0)
					rc = -1;
				else
					r->shown_fields |= 1ULL << f;
			}
		}
		free(names);
		p = end + 1;
	}
	return rc;
}

/* Appends a canonical text of a setting tree: names, types and values, so that two rules that
 * differ in anything but layout and comments differ here. */
static void describe(const config_setting_t *s, struct dg_buf *out)
{
	const char *name = config_setting_name(s);

	dg_buf_printf(out, "%s:%d=", name ? name : "", config_setting_type(s));
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		dg_buf_printf(out, "%lld", (long long)config_setting_get_int64(s));
		break;
	case CONFIG_TYPE_FLOAT:
		dg_buf_printf(out, "%.17g", config_setting_get_float(s));
		break;
	case CONFIG_TYPE_BOOL:
		dg_buf_addc(out, config_setting_get_bool(s) ? 't' : 'f');
		break;
	case CONFIG_TYPE_STRING:
		dg_buf_printf(out, "%zu:%s", strlen(config_setting_get_string(s)),
		              config_setting_get_string(s));
		break;
	default:
		dg_buf_addc(out, '(');
		for (int i = 0; i < config_setting_length(s); i++)
			describe(config_setting_get_elem(s, (unsigned)i), out);
		dg_buf_addc(out, ')');
	}
	dg_buf_addc(out, ';');
}

static bool valid_id(const char *id)
{
	if (*id == '\0')
		return false;
	for (; *id != '\0'; id++)
		if (!is_word(*id) && *id != '.')
			return false;
	return true;
}

/* ---- fixtures ------------------------------------------------------------------------------ */

static void rule_clear(struct dg_rule *r);

static void fixture_clear(struct dg_fixture *f)
{
	dg_rules_free(f->rs);
	for (size_t i = 0; i < f->nevents; i++) {
		for (size_t k = 0; k < f->events[i].nset; k++) {
			free(f->events[i].set[k].text);
			dg_cfgutil_strings_free(f->events[i].set[k].items);
		}
		free(f->events[i].set);
	}
	free(f->events);
	free(f->name);
	free(f->where);
}

/* set = ( "field", value, "field", value, ... ) */
static int compile_fixture_set(struct loader *ld, const config_setting_t *s,
                               struct dg_fixture_event *ev)
{
	int n, rc = 0;

	if (config_setting_is_group(s) || !config_setting_is_aggregate(s) ||
	    (n = config_setting_length(s)) % 2 != 0)
		return FAIL(ld, s,
		            "set is a list of field names and values: ( \"user.name\", "
		            "\"alice\", \"dg.records\", 10 )");
	ev->set = dg_xcalloc((size_t)n / 2 + 1, sizeof *ev->set);
	for (int i = 0; i + 1 < n; i += 2) {
		const config_setting_t *k = config_setting_get_elem(s, (unsigned)i);
		const config_setting_t *v = config_setting_get_elem(s, (unsigned)i + 1);
		struct dg_fixture_value *fv = &ev->set[ev->nset];
		enum dg_field_type type;
		int64_t t;

		if (config_setting_type(k) != CONFIG_TYPE_STRING) {
			rc = FAIL(ld, k, "set: expected a field name");
			continue;
		}
		if (dg_cond_field(&ld->env, k, config_setting_get_string(k), &fv->field) != 0) {
			rc = -1;
			continue;
		}
		type = dg_schema_type(ld->schema, fv->field);
		switch (config_setting_type(v)) {
		case CONFIG_TYPE_STRING:
			fv->kind = DG_K_STR;
			fv->text = dg_xstrdup(config_setting_get_string(v));
			if (*fv->text == '\0')
				break; /* "" unsets a field carried over */
			if (type == DG_TYPE_TIME &&
			    !dg_cond_parse_time(fv->text, strlen(fv->text), &t))
				rc = FAIL(
				    ld, v,
				    "set: %s needs a time such as \"2026-03-02T10:00:00+08:00\"",
				    config_setting_get_string(k));
			if (type == DG_TYPE_NUMBER || type == DG_TYPE_BOOL)
				rc = FAIL(ld, v, "set: %s is a %s", config_setting_get_string(k),
				          dg_cfgutil_type_name(type));
			break;
		case CONFIG_TYPE_INT:
		case CONFIG_TYPE_INT64:
			fv->kind = DG_K_NUM;
			fv->num = config_setting_get_int64(v);
			if (type != DG_TYPE_NUMBER)
				rc = FAIL(ld, v, "set: %s is a %s, not a number",
				          config_setting_get_string(k), dg_cfgutil_type_name(type));
			break;
		case CONFIG_TYPE_BOOL:
			fv->kind = DG_K_BOOL;
			fv->num = config_setting_get_bool(v);
			if (type != DG_TYPE_BOOL)
				rc = FAIL(ld, v, "set: %s is a %s, not true or false",
				          config_setting_get_string(k), dg_cfgutil_type_name(type));
			break;
		default:
			fv->kind = DG_K_ARRAY;
			if (dg_cfgutil_strings(ld->env.name, v, &fv->items, &fv->nitems,
			                       ld->diag) != 0)
				rc = -1;
			else if (type != DG_TYPE_STRINGS)
				rc = FAIL(ld, v, "set: %s is a %s, not a list",
				          config_setting_get_string(k), dg_cfgutil_type_name(type));
		}
		ev->nset++;
	}
	return rc;
}

static int compile_fixture(struct loader *ld, const config_setting_t *g, struct dg_fixture *f)
{
	static const char *const known[] = {"name", "events", "expect", "value", "lists", NULL};
	static const char *const ev_known[] = {"at", "repeat", "every", "set", NULL};
	const config_setting_t *events, *s;
	const char *name;
	int err = 0, rc;
	bool timed = false;

	memset(f, 0, sizeof *f);
	f->where = dg_cfgutil_where(ld->env.name, g);
	if (!config_setting_is_group(g))
		return FAIL(ld, g, "each test is a group { expect = N; events = ( ... ); }");
	rc = dg_cfgutil_known(ld->env.name, g, known, ld->diag);
	name = dg_cfgutil_string(ld->env.name, g, "name", &err, ld->diag);
	f->name = dg_xstrdup(name ? name : f->where);
	if ((s = config_setting_get_member(g, "expect")) == NULL)
		rc = FAIL(ld, g, "a test says how many findings it expects: expect = N");
	else if (compile_limit(ld, s, "expect", 0, 1000000, &f->expect) != 0)
		rc = -1;
	if ((s = config_setting_get_member(g, "value")) != NULL) {
		f->has_value = true;
		rc |= compile_limit(ld, s, "value", INT64_MIN / 2, INT64_MAX / 2, &f->value);
	}
	events = config_setting_get_member(g, "events");
	if (events == NULL || !config_setting_is_list(events) || config_setting_length(events) == 0)
		return FAIL(ld, events ? events : g,
		            "a test has events = ( { at = \"2026-03-02T10:00:00+08:00\"; set = ( "
		            "\"user.name\", \"alice\" ); }, ... )");
	f->events = dg_xcalloc((size_t)config_setting_length(events), sizeof *f->events);
	for (int i = 0; i < config_setting_length(events); i++) {
		const config_setting_t *e = config_setting_get_elem(events, (unsigned)i);
		struct dg_fixture_event *ev = &f->events[f->nevents++];
		const char *at;

		ev->repeat = 1;
		if (!config_setting_is_group(e) ||
		    dg_cfgutil_known(ld->env.name, e, ev_known, ld->diag) != 0) {
			rc = config_setting_is_group(e) ? -1 : FAIL(ld, e, "each event is a group");
			continue;
		}
		at = dg_cfgutil_string(ld->env.name, e, "at", &err, ld->diag);
		if (at == NULL) {
			ev->relative = true; /* right after the one before */
			if (!timed)
				rc = FAIL(ld, e,
				          "the first event needs a time: at = "
				          "\"2026-03-02T10:00:00+08:00\"");
		} else if (at[0] == '+') {
			ev->relative = true;
			if (!dg_ts_duration(at + 1, &ev->at_ms))
				rc = FAIL(ld, config_setting_get_member(e, "at"),
				          "at: '%s' is neither a time nor +duration", at);
			if (!timed)
				rc = FAIL(ld, e, "the first event needs an absolute time");
		} else if (!dg_ts_parse(at, strlen(at), &ev->at_ms)) {
			rc = FAIL(ld, config_setting_get_member(e, "at"),
			          "at: '%s' is not an RFC 3339 time with a zone", at);
		}
		timed = true;
		if ((s = config_setting_get_member(e, "repeat")) != NULL &&
		    compile_limit(ld, s, "repeat", 1, 100000, &ev->repeat) != 0)
			rc = -1;
		if ((s = config_setting_get_member(e, "every")) != NULL &&
		    dg_cond_duration(&ld->env, s, &ev->every_ms) != 0)
			rc = -1;
		if ((s = config_setting_get_member(e, "set")) != NULL &&
		    compile_fixture_set(ld, s, ev) != 0)
			rc = -1;
	}
	return rc | err;
}

/* ---- rules --------------------------------------------------------------------------------- */

static void rule_clear(struct dg_rule *r)
{
	free(r->id);
	free(r->title);
	free(r->message);
	free(r->pack);
	free(r->where);
	for (size_t i = 0; i < r->ncompliance; i++) {
		free(r->compliance[i].framework);
		dg_cfgutil_strings_free(r->compliance[i].refs);
	}
	free(r->compliance);
	free(r->exceptions);
	for (size_t i = 0; i < r->nfixtures; i++)
		fixture_clear(&r->fixtures[i]);
	free(r->fixtures);
	if (r->impl != NULL) {
		for (size_t i = 0; i < r->impl->nselects; i++)
			dg_cond_free(r->impl->selects[i]);
		free(r->impl->selects);
		node_free(r->impl->cond);
		free(r->impl->cond_text);
		free(r->impl);
	}
	memset(r, 0, sizeof *r);
}

static void index_rule(struct dg_rule *r)
{
	uint64_t present = 0, p;
	uint32_t actions = 0, a;

	if (r->kind != DG_RULE_SEQUENCE) {
		requires(r->impl->cond, r->impl, &present, &actions);
	} else {
		/* An event may be any step's: what every step's events have in common. */
		present = UINT64_MAX;
		for (size_t i = 0; i < r->threshold.nsteps; i++) {
			dg_cond_requires(r->impl->selects[r->threshold.steps[i].select], &p, &a);
			present &= p;
			actions |= a;
		}
	}
	r->required_fields = present;
	r->actions = actions;
}

static int compile_rule(struct loader *ld, const config_setting_t *g, struct dg_rule *r,
                        const char *pack);

/* The rule g compiled again with a test's own list values over the site's. */
static struct dg_ruleset *test_ruleset(struct loader *ld, const config_setting_t *g,
                                       const config_setting_t *lists, const char *lists_name)
{
	struct dg_ruleset *rs = dg_xcalloc(1, sizeof *rs);
	struct loader t = *ld;
	struct dg_site_groups groups = {.lists = lists};
	size_t errors = ld->diag->n;

	memset(&t.site, 0, sizeof t.site);
	dg_cfgutil_site_merge(&t.site, &ld->site);
	dg_cfgutil_site_read(&t.site, lists_name, &groups, true, ld->read, ld->read_arg, ld->diag);
	t.env.site = &t.site;
	t.env.list_used = dg_xcalloc(t.site.nlists + 1, sizeof(bool));
	t.env.setting_used = dg_xcalloc(t.site.nsettings + 1, sizeof(bool));
	t.env.schedule_used = dg_xcalloc(t.site.nschedules + 1, sizeof(bool));
	t.no_tests = true;
	rs->schema = ld->schema;
	rs->rules = dg_xcalloc(1, sizeof *rs->rules);
	if (ld->diag->n == errors && compile_rule(&t, g, &rs->rules[0], ld->env.name) == 0)
		rs->nrules = 1;
	else
		rule_clear(&rs->rules[0]);
	free(t.env.list_used);
	free(t.env.setting_used);
	free(t.env.schedule_used);
	dg_cfgutil_site_clear(&t.site);
	if (rs->nrules == 0) {
		dg_rules_free(rs);
		return NULL;
	}
	return rs;
}

/* The site's tests for rule id, or NULL. */
static const config_setting_t *site_tests_for(struct loader *ld, const char *id)
{
	for (int i = 0; ld->site_tests != NULL && i < config_setting_length(ld->site_tests); i++) {
		const config_setting_t *e = config_setting_get_elem(ld->site_tests, (unsigned)i);
		const char *rule = NULL;

		if (config_setting_lookup_string(e, "rule", &rule) && strcmp(rule, id) == 0) {
			ld->site_tests_used[i] = true;
			return config_setting_get_member(e, "tests");
		}
	}
	return NULL;
}

/* rule_tests = ( { rule = "ID"; reason = "..."; tests = ( ... ); } ): the shape, before the
 * rules are compiled. Every mistake is reported, and then the load fails. */
static void check_site_tests(struct loader *ld, const config_setting_t *l)
{
	static const char *const known[] = {"rule", "reason", "tests", NULL};
	const char *name = ld->env.name;

	ld->env.name = ld->site_name;
	if (!config_setting_is_list(l)) {
		FAIL(ld, l,
		     "rule_tests is a list: ( { rule = \"ID\"; reason = \"...\"; tests = ( ... ); "
		     "} )");
		ld->env.name = name;
		return;
	}
	ld->site_tests = l;
	ld->site_tests_used = dg_xcalloc((size_t)config_setting_length(l) + 1, sizeof(bool));
	for (int i = 0; i < config_setting_length(l); i++) {
		const config_setting_t *e = config_setting_get_elem(l, (unsigned)i);
		const config_setting_t *t = config_setting_get_member(e, "tests");
		const char *rule = NULL;
		int err = 0;

		if (!config_setting_is_group(e)) {
			FAIL(ld, e, "each entry of rule_tests is a group { rule = \"ID\"; ... }");
			continue;
		}
		dg_cfgutil_known(ld->site_name, e, known, ld->diag);
		rule = dg_cfgutil_string(ld->site_name, e, "rule", &err, ld->diag);
		dg_cfgutil_string(ld->site_name, e, "reason", &err, ld->diag);
		if (!err && rule == NULL)
			FAIL(ld, e, "rule_tests: name the rule: rule = \"ID\"");
		if (t == NULL)
			FAIL(ld, e, "rule_tests: %s has no tests = ( ... )", rule ? rule : "entry");
		for (int k = 0; rule != NULL && k < i; k++) {
			const char *other = NULL;

			if (config_setting_lookup_string(config_setting_get_elem(l, (unsigned)k),
			                                 "rule", &other) &&
			    strcmp(other, rule) == 0) {
				ld->site_tests_used[i] = true; /* said once */
				FAIL(ld, e, "rule_tests: %s has tests already at line %d", rule,
				     config_setting_source_line(
				         config_setting_get_elem(l, (unsigned)k)));
			}
		}
	}
	ld->env.name = name;
}

/* Every entry of rule_tests names a rule that was loaded. */
static void check_site_tests_used(struct loader *ld, const struct dg_ruleset *rs)
{
	const char **ids = dg_xcalloc(rs->nrules + 1, sizeof *ids);

	for (size_t i = 0; i < rs->nrules; i++)
		ids[i] = rs->rules[i].id;
	for (int i = 0; ld->site_tests != NULL && i < config_setting_length(ld->site_tests); i++) {
		const config_setting_t *e = config_setting_get_elem(ld->site_tests, (unsigned)i);
		const char *rule = NULL;

		if (ld->site_tests_used[i] || !config_setting_lookup_string(e, "rule", &rule))
			continue;
		dg_diag_fail(ld->diag, ld->site_name, e, "rule_tests: no rule '%s' is loaded%s",
		             rule, dg_cfgutil_did_you_mean(rule, ids, rs->nrules));
	}
	free(ids);
}

static int compile_rule(struct loader *ld, const config_setting_t *g, struct dg_rule *r,
                        const char *pack)
{
	static const char *const known[] = {
	    "id",          "title",     "severity",      "compliance", "select",
	    "condition",   "threshold", "sequence",      "suppress",   "message",
	    "description", "tests",     "concentration", NULL};
	const config_setting_t *s, *sel, *cond, *th, *seq, *conc, *tests;
	const char *v, *tests_name = ld->env.name;
	int err = 0, n, rc = 0;
	bool *used = NULL;

	memset(r, 0, sizeof *r);
	r->where = dg_cfgutil_where(ld->env.name, g);
	r->pack = dg_xstrdup(pack);
	r->impl = dg_xcalloc(1, sizeof *r->impl);
	r->impl->schema = ld->schema;
	{
		struct dg_buf text = {0};
		uint8_t d[DG_HASH_LEN];

		describe(g, &text);
		dg_hash_sha256(text.data, text.len, d);
		dg_hash_hex(d, DG_HASH_LEN, r->digest);
		dg_buf_release(&text);
	}
	if (!config_setting_is_group(g))
		return FAIL(ld, g, "each rule is a group { id = ...; ... }");
	rc |= dg_cfgutil_known(ld->env.name, g, known, ld->diag);
	v = dg_cfgutil_string(ld->env.name, g, "id", &err, ld->diag);
	if (err || v == NULL || !valid_id(v))
		return err ? -1 : FAIL(ld, g, "rule needs an id of letters, digits, '.', '-', '_'");
	r->id = dg_xstrdup(v);
	v = dg_cfgutil_string(ld->env.name, g, "title", &err, ld->diag);
	if (err || v == NULL)
		rc = err ? -1 : FAIL(ld, g, "rule %s needs a title", r->id);
	r->title = dg_xstrdup(v ? v : r->id);
	s = config_setting_get_member(g, "severity");
	if (s == NULL || config_setting_type(s) != CONFIG_TYPE_STRING ||
	    !dg_rules_severity_parse(config_setting_get_string(s), &r->severity))
		rc = FAIL(ld, s ? s : g,
		          "rule %s needs severity = info, low, medium, high or critical", r->id);
	if ((s = config_setting_get_member(g, "compliance")) == NULL)
		rc = FAIL(ld, g, "rule %s needs its compliance references", r->id);
	else
		rc |= compile_compliance(ld, s, r);
	sel = config_setting_get_member(g, "select");
	if (sel == NULL || !config_setting_is_group(sel) || config_setting_length(sel) == 0)
		return FAIL(ld, sel ? sel : g, "rule %s needs select = { name = (...); }", r->id);
	n = config_setting_length(sel);
	r->impl->selects = dg_xcalloc((size_t)n, sizeof *r->impl->selects);
	used = dg_xcalloc((size_t)n, sizeof *used);
	for (int i = 0; i < n; i++) {
		struct dg_select *b = dg_cond_compile(
		    &ld->env, config_setting_get_elem(sel, (unsigned)i), &r->shown_fields);

		if (b == NULL) {
			rc = -1;
			continue;
		}
		r->impl->selects[r->impl->nselects++] = b;
	}
	if (rc != 0)
		goto out; /* blocks are missing: what names them would only add noise */
	cond = config_setting_get_member(g, "condition");
	th = config_setting_get_member(g, "threshold");
	seq = config_setting_get_member(g, "sequence");
	conc = config_setting_get_member(g, "concentration");
	r->kind = seq    ? DG_RULE_SEQUENCE
	          : th   ? DG_RULE_THRESHOLD
	          : conc ? DG_RULE_CONCENTRATION
	                 : DG_RULE_SINGLE;
	if (conc != NULL && (th != NULL || seq != NULL))
		rc = FAIL(ld, conc,
		          "rule %s: a concentration is neither a threshold nor a sequence", r->id);
	if (seq != NULL) {
		if (th != NULL)
			rc =
			    FAIL(ld, th, "rule %s has a sequence and a threshold: one or the other",
			         r->id);
		if (cond != NULL)
			rc = FAIL(ld, cond,
			          "rule %s is a sequence: its steps name its select blocks, "
			          "and it has no condition",
			          r->id);
		rc |= compile_sequence(ld, seq, r, used);
	} else {
		if (cond == NULL && n != 1)
			rc = FAIL(ld, g, "rule %s has several select blocks and needs a condition",
			          r->id);
		else if (cond != NULL && config_setting_type(cond) != CONFIG_TYPE_STRING)
			rc = FAIL(ld, cond, "condition must be a string such as \"a and not b\"");
		else {
			r->impl->cond_text = dg_xstrdup(cond ? config_setting_get_string(cond)
			                                     : dg_cond_name(r->impl->selects[0]));
			r->impl->cond =
			    compile_expr(ld, cond ? cond : g, r->impl, r->impl->cond_text, used);
			if (r->impl->cond == NULL)
				rc = -1;
		}
		if (th != NULL)
			rc |= compile_threshold(ld, th, r);
		else if (conc != NULL)
			rc |= compile_concentration(ld, conc, r);
	}
	for (int i = 0; rc == 0 && i < n; i++)
		if (!used[i])
			rc = FAIL(
			    ld, config_setting_get_elem(sel, (unsigned)i),
			    "rule %s: select block '%s' is used by neither its condition nor a "
			    "step",
			    r->id, dg_cond_name(r->impl->selects[i]));
	if ((s = config_setting_get_member(g, "suppress")) != NULL)
		rc |= compile_suppress(ld, s, r);
	v = dg_cfgutil_string(ld->env.name, g, "message", &err, ld->diag);
	if (err)
		rc = -1;
	r->message = dg_xstrdup(v ? v : r->title);
	s = config_setting_get_member(g, "message");
	rc |= check_message(ld, s ? s : g, r);
	tests = ld->no_tests ? NULL : site_tests_for(ld, r->id);
	if (tests != NULL) {
		r->site_tests = true;
		tests_name = ld->site_name;
	} else if (!ld->no_tests) {
		tests = config_setting_get_member(g, "tests");
	}
	if (tests != NULL) {
		const char *pack_name = ld->env.name;

		ld->env.name = tests_name;
		if (!config_setting_is_list(tests)) {
			rc = FAIL(ld, tests,
			          "tests is a list: ( { expect = 1; events = ( ... ); } )");
			tests = NULL;
		} else {
			r->fixtures = dg_xcalloc((size_t)config_setting_length(tests) + 1,
			                         sizeof *r->fixtures);
			for (int i = 0; i < config_setting_length(tests); i++)
				rc |=
				    compile_fixture(ld, config_setting_get_elem(tests, (unsigned)i),
				                    &r->fixtures[r->nfixtures++]);
		}
		ld->env.name = pack_name;
	}
	/* Who did what to which data of whom, whatever the rule tests; with which role's
	 * privileges after SET ROLE. */
	r->shown_fields |= 1ULL << DG_F_USER_NAME | 1ULL << DG_F_USER_EFFECTIVE |
	                   1ULL << DG_F_EVENT_ACTION | 1ULL << DG_F_OBJECT |
	                   1ULL << DG_F_CLASSIFICATION | 1ULL << DG_F_SUBJECT_ID |
	                   1ULL << DG_F_SERVICE_NAME | 1ULL << DG_F_SOURCE_IP;
	if (rc == 0)
		index_rule(r);
	for (size_t i = 0; rc == 0 && i < r->nfixtures; i++) {
		const config_setting_t *t = config_setting_get_elem(tests, (unsigned)i);
		const config_setting_t *lists = config_setting_get_member(t, "lists");

		if (lists != NULL &&
		    (r->fixtures[i].rs = test_ruleset(ld, g, lists, tests_name)) == NULL)
			rc = -1;
	}
out:
	free(used);
	return rc ? -1 : 0;
}

/* ---- exceptions ---------------------------------------------------------------------------- */

static void exception_clear(struct dg_exception *x)
{
	free(x->id);
	dg_cfgutil_strings_free(x->rules);
	free(x->ticket);
	free(x->approved_by);
	free(x->reason);
	free(x->expires);
	free(x->where);
	dg_cond_free(x->sel);
}

/* "2026-12-31" lasts to the end of that day (UTC); a time is exact. */
static bool parse_expiry(const char *s, int64_t *ms)
{
	int64_t day;

	if (dg_ts_parse_date(s, strlen(s), &day)) {
		*ms = (day + 1) * 86400000;
		return true;
	}
	return dg_ts_parse(s, strlen(s), ms);
}

static int compile_exception(struct loader *ld, const config_setting_t *g, struct dg_exception *x,
                             int64_t now_ms)
{
	static const char *const known[] = {"id",          "rules",   "match",  "ticket",
	                                    "approved_by", "expires", "reason", NULL};
	static const char *const required[] = {"id", "ticket", "approved_by", "expires", NULL};
	const config_setting_t *s;
	const char *v[4];
	int err = 0, rc;

	memset(x, 0, sizeof *x);
	x->where = dg_cfgutil_where(ld->env.name, g);
	if (!config_setting_is_group(g))
		return FAIL(ld, g,
		            "each exception is a group { id = ...; rules = [...]; match = "
		            "( ... ); ticket = ...; approved_by = ...; expires = ...; }");
	rc = dg_cfgutil_known(ld->env.name, g, known, ld->diag);
	for (int i = 0; required[i] != NULL; i++) {
		v[i] = dg_cfgutil_string(ld->env.name, g, required[i], &err, ld->diag);
		if (v[i] == NULL && !err)
			rc = FAIL(ld, g,
			          "an exception needs %s: who approved which exemption, under what "
			          "ticket and until when is the evidence",
			          required[i]);
	}
	x->id = dg_xstrdup(v[0] ? v[0] : "?");
	x->ticket = dg_xstrdup(v[1] ? v[1] : "");
	x->approved_by = dg_xstrdup(v[2] ? v[2] : "");
	x->expires = dg_xstrdup(v[3] ? v[3] : "");
	x->expires_ms = INT64_MAX;
	if (v[3] != NULL) {
		if (!parse_expiry(v[3], &x->expires_ms))
			rc = FAIL(ld, config_setting_get_member(g, "expires"),
			          "expires: '%s' is not a date (YYYY-MM-DD) or an RFC 3339 time",
			          v[3]);
		x->expired = x->expires_ms <= now_ms;
	}
	{
		const char *reason = dg_cfgutil_string(ld->env.name, g, "reason", &err, ld->diag);

		x->reason = reason ? dg_xstrdup(reason) : NULL;
	}
	if ((s = config_setting_get_member(g, "rules")) == NULL)
		rc = FAIL(ld, g,
		          "an exception names the rules it exempts: rules = [\"RULE-ID\", "
		          "\"PIPL-*\"]");
	else if (dg_cfgutil_strings(ld->env.name, s, &x->rules, &x->nrules, ld->diag) != 0)
		rc = -1;
	if ((s = config_setting_get_member(g, "match")) == NULL)
		rc = FAIL(ld, g,
		          "an exception says which events it exempts: match = ( { field = "
		          "\"user.name\"; eq = \"svc\"; } )");
	else if ((x->sel = dg_cond_compile(&ld->env, s, NULL)) == NULL)
		rc = -1;
	return rc | err;
}

static void note_absent(struct loader *ld, const char *id)
{
	ld->absent = dg_xreallocarray(ld->absent, ld->nabsent + 1, sizeof *ld->absent);
	ld->absent[ld->nabsent++] = dg_xstrdup(id);
}

/* Attaches each exception to the rules it names; a name that matches no rule is a mistake
 * (rules that failed to compile, or are disabled, count as named). */
static int attach_exceptions(struct loader *ld, struct dg_ruleset *rs)
{
	int rc = 0;
	const char **ids = dg_xcalloc(rs->nrules + 1, sizeof *ids);

	for (size_t i = 0; i < rs->nrules; i++)
		ids[i] = rs->rules[i].id;
	for (size_t e = 0; e < rs->nexceptions; e++) {
		struct dg_exception *x = &rs->exceptions[e];

		for (size_t k = 0; k < x->nrules; k++) {
			bool any = false;

			for (size_t i = 0; i < rs->nrules; i++) {
				struct dg_rule *r = &rs->rules[i];

				if (fnmatch(x->rules[k], r->id, 0) != 0)
					continue;
				any = true;
				if (r->nexceptions > 0 && r->exceptions[r->nexceptions - 1] == x)
					continue;
				r->exceptions = dg_xreallocarray(r->exceptions, r->nexceptions + 1,
				                                 sizeof *r->exceptions);
				r->exceptions[r->nexceptions++] = x;
			}
			for (size_t i = 0; i < ld->nabsent && !any; i++)
				any = fnmatch(x->rules[k], ld->absent[i], 0) == 0;
			if (!any) {
				dg_diag_add(ld->diag, "%s: exception %s: no rule matches '%s'%s",
				            x->where, x->id, x->rules[k],
				            dg_cfgutil_did_you_mean(x->rules[k], ids, rs->nrules));
				rc = -1;
			}
		}
	}
	free(ids);
	return rc;
}

/* ---- the rule set -------------------------------------------------------------------------- */

void dg_rules_free(struct dg_ruleset *rs)
{
	if (rs == NULL)
		return;
	for (size_t i = 0; i < rs->nrules; i++)
		rule_clear(&rs->rules[i]);
	free(rs->rules);
	for (size_t i = 0; i < rs->nexceptions; i++)
		exception_clear(&rs->exceptions[i]);
	free(rs->exceptions);
	for (size_t i = 0; i < rs->nschedules; i++)
		dg_schedule_free(rs->schedules[i]);
	free(rs->schedules);
	dg_cfgutil_strings_free(rs->disabled);
	dg_cfgutil_site_clear(&rs->site);
	free(rs->loaded);
	free(rs);
}

static void digest_packs(struct dg_ruleset *rs, const struct dg_rules_text *packs, size_t n,
                         const bool *loaded)
{
	struct dg_hash *all = dg_hash_new();
	uint8_t d[DG_HASH_LEN];
	char hex[DG_HASH_HEXLEN];

	for (size_t i = 0; i < n; i++) {
		const char *base = strrchr(packs[i].name, '/');

		if (!loaded[i])
			continue;
		if (base == NULL)
			base = strrchr(packs[i].name, ':'); /* "builtin:10-pipl.conf" */

		dg_hash_sha256(packs[i].text, strlen(packs[i].text), d);
		dg_hash_hex(d, DG_HASH_LEN, hex);
		dg_hash_update(all, hex, strlen(hex));
		dg_hash_update(all, "  ", 2);
		base = base ? base + 1 : packs[i].name;
		dg_hash_update(all, base, strlen(base));
		dg_hash_update(all, "\n", 1);
	}
	dg_hash_final(all, d);
	dg_hash_hex(d, DG_HASH_LEN, rs->digest);
	dg_hash_free(all);
}

/* The days of a date list (ranges expanded), or NULL after an error at its definition. */
static struct dg_dateset *date_list(struct loader *ld, const struct dg_schedule_def *def,
                                    const char *name)
{
	const struct dg_list *l = dg_cfgutil_site_list(&ld->site, name);
	struct dg_dateset *set;
	int64_t *days = NULL, from, to;
	size_t n = 0;

	if (l == NULL) {
		const char **v = dg_xcalloc(ld->site.nlists + 1, sizeof *v);

		for (size_t i = 0; i < ld->site.nlists; i++)
			v[i] = ld->site.lists[i].name;
		dg_diag_add(ld->diag, "%s: schedule '%s': unknown list '%s'%s", def->where,
		            def->name, name, dg_cfgutil_did_you_mean(name, v, ld->site.nlists));
		free(v);
		return NULL;
	}
	ld->env.list_used[l - ld->site.lists] = true;
	for (size_t i = 0; i < l->nitems; i++) {
		if (!dg_ts_date_range(l->items[i], &from, &to)) {
			dg_diag_add(
			    ld->diag,
			    "%s: list '%s': '%s' is not a date or a range of dates (used by "
			    "schedule '%s' at %s)",
			    l->where, l->name, l->items[i], def->name, def->where);
			free(days);
			return NULL;
		}
		for (int64_t d = from; d <= to; d++) {
			days = dg_xreallocarray(days, n + 1, sizeof *days);
			days[n++] = d;
		}
	}
	set = dg_sets_date_new(days, n);
	free(days);
	return set;
}

static int compile_schedules(struct loader *ld, struct dg_ruleset *rs)
{
	int rc = 0;

	rs->schedules = dg_xcalloc(ld->site.nschedules + 1, sizeof *rs->schedules);
	rs->nschedules = ld->site.nschedules;
	for (size_t i = 0; i < ld->site.nschedules; i++) {
		const struct dg_schedule_def *def = &ld->site.schedules[i];
		struct dg_dateset *hol = NULL, *work = NULL;
		char *why = NULL;
		struct dg_tz *tz = dg_tz_load(def->timezone, &why);

		if (tz == NULL) {
			dg_diag_add(ld->diag, "%s: schedule '%s': %s", def->where, def->name, why);
			free(why);
			rc = -1;
			continue;
		}
		if ((def->holidays != NULL && (hol = date_list(ld, def, def->holidays)) == NULL) ||
		    (def->workdays != NULL && (work = date_list(ld, def, def->workdays)) == NULL)) {
			dg_tz_free(tz);
			dg_sets_date_free(hol);
			rc = -1;
			continue;
		}
		rs->schedules[i] = dg_schedule_new(def, tz, hol, work);
	}
	ld->env.schedules = rs->schedules;
	return rc;
}

/* Declares the fields packs and site name, with their types. */
static int declare_fields(struct loader *ld)
{
	int rc = 0;

	for (size_t i = 0; i < ld->site.nfields; i++) {
		const struct dg_field_def *f = &ld->site.fields[i];
		int slot = dg_schema_lookup(ld->schema, f->name, strlen(f->name));
		char *why = NULL;

		if (slot >= 0) {
			if (dg_schema_type(ld->schema, slot) != f->type)
				rc = (dg_diag_add(
				          ld->diag, "%s: field '%s' is a %s field, not %s",
				          f->where, f->name,
				          dg_cfgutil_type_name(dg_schema_type(ld->schema, slot)),
				          dg_cfgutil_type_name(f->type)),
				      -1);
			continue;
		}
		if (dg_schema_add(ld->schema, f->name, f->type, &why) < 0) {
			dg_diag_add(ld->diag, "%s: %s", f->where, why);
			free(why);
			rc = -1;
		}
	}
	return rc;
}

/* A value the site defines that no pack declares and nothing uses is most likely a misspelt
 * name, which would leave the default in force. */
static int check_site_names(struct loader *ld, const struct dg_site *site,
                            const struct dg_site *packs)
{
	int rc = 0;

	if (site == NULL)
		return 0;
	for (int kind = 0; kind < 3; kind++) {
		size_t n = kind == 0   ? site->nlists
		           : kind == 1 ? site->nsettings
		                       : site->nschedules;
		size_t np = kind == 0   ? packs->nlists
		            : kind == 1 ? packs->nsettings
		                        : packs->nschedules;
		const char **declared = dg_xcalloc(np + 1, sizeof *declared);

		for (size_t i = 0; i < np; i++)
			declared[i] = kind == 0   ? packs->lists[i].name
			              : kind == 1 ? packs->settings[i].name
			                          : packs->schedules[i].name;
		for (size_t i = 0; i < n; i++) {
			const char *name = kind == 0   ? site->lists[i].name
			                   : kind == 1 ? site->settings[i].name
			                               : site->schedules[i].name;
			const char *where = kind == 0   ? site->lists[i].where
			                    : kind == 1 ? site->settings[i].where
			                                : site->schedules[i].where;
			bool used = false, decl = false;

			for (size_t k = 0; k < np && !decl; k++)
				decl = strcmp(declared[k], name) == 0;
			if (decl)
				continue;
			if (kind == 0)
				used = ld->env.list_used[dg_cfgutil_site_list(&ld->site, name) -
				                         ld->site.lists];
			else if (kind == 1)
				used =
				    ld->env.setting_used[dg_cfgutil_site_setting(&ld->site, name) -
				                         ld->site.settings];
			else
				used =
				    ld->env
				        .schedule_used[dg_cfgutil_site_schedule(&ld->site, name) -
				                       ld->site.schedules];
			if (!used) {
				dg_diag_add(ld->diag,
				            "%s: %s '%s' is declared by no rule pack and used by "
				            "no rule%s",
				            where,
				            kind == 0   ? "list"
				            : kind == 1 ? "setting"
				                        : "schedule",
				            name, dg_cfgutil_did_you_mean(name, declared, np));
				rc = -1;
			}
		}
		free(declared);
	}
	return rc;
}

static const char *base_name(const char *name)
{
	const char *b = strrchr(name, '/');

	if (b == NULL)
		b = strrchr(name, ':');
	return b ? b + 1 : name;
}

struct dg_ruleset *dg_rules_load(const struct dg_rules_input *in, struct dg_schema *schema,
                                 struct dg_diag *diag)
{
	struct dg_ruleset *rs = dg_xcalloc(1, sizeof *rs);
	struct loader ld = {.diag = diag,
	                    .schema = schema,
	                    .read = in->read,
	                    .read_arg = in->read_arg,
	                    .site_name = in->site_name ? in->site_name : "?"};
	struct dg_site packs_site = {0};
	config_t *cfgs = dg_xcalloc(in->npacks ? in->npacks : 1, sizeof *cfgs);
	bool *parsed = dg_xcalloc(in->npacks ? in->npacks : 1, sizeof *parsed);
	size_t errors = diag->n;

	rs->schema = schema;
	ld.env.diag = diag;
	ld.env.schema = schema;
	ld.env.site = &ld.site;
	/* Pass 1: parse every pack and collect what it declares. */
	for (size_t p = 0; p < in->npacks; p++) {
		static const char *const known[] = {"lists", "settings", "schedules", "fields",
		                                    "rules", "enabled",  NULL};
		const config_setting_t *on;
		config_setting_t *root;
		struct dg_site_groups g;

		config_init(&cfgs[p]);
		if (dg_cfgutil_read(&cfgs[p], in->packs[p].name, in->packs[p].text, diag) != 0)
			continue;
		root = config_root_setting(&cfgs[p]);
		if ((on = config_setting_get_member(root, "enabled")) != NULL &&
		    config_setting_type(on) != CONFIG_TYPE_BOOL) {
			dg_diag_fail(diag, in->packs[p].name, on, "enabled is true or false");
			continue;
		}
		if (on != NULL && !config_setting_get_bool(on) && !in->packs[p].named)
			continue; /* off unless the site names it */
		parsed[p] = true;
		dg_cfgutil_known(in->packs[p].name, root, known, diag);
		g.lists = config_setting_get_member(root, "lists");
		g.settings = config_setting_get_member(root, "settings");
		g.schedules = config_setting_get_member(root, "schedules");
		g.fields = config_setting_get_member(root, "fields");
		dg_cfgutil_site_read(&packs_site, in->packs[p].name, &g, false, in->read,
		                     in->read_arg, diag);
	}
	/* The site's own values win over the packs' defaults. */
	dg_cfgutil_site_merge(&ld.site, &packs_site);
	if (in->site != NULL)
		dg_cfgutil_site_merge(&ld.site, in->site);
	ld.env.list_used = dg_xcalloc(ld.site.nlists + 1, sizeof(bool));
	ld.env.setting_used = dg_xcalloc(ld.site.nsettings + 1, sizeof(bool));
	ld.env.schedule_used = dg_xcalloc(ld.site.nschedules + 1, sizeof(bool));
	declare_fields(&ld);
	compile_schedules(&ld, rs);
	if (in->rule_tests != NULL)
		check_site_tests(&ld, in->rule_tests);
	/* Pass 2: the rules. */
	for (size_t p = 0; p < in->npacks; p++) {
		const config_setting_t *rules;
		int n;

		if (!parsed[p])
			continue;
		rules = config_setting_get_member(config_root_setting(&cfgs[p]), "rules");
		ld.env.name = in->packs[p].name;
		if (rules == NULL)
			continue;
		if (!config_setting_is_list(rules)) {
			FAIL(&ld, rules, "rules must be a list: rules = ( { ... }, { ... } );");
			continue;
		}
		n = config_setting_length(rules);
		for (int i = 0; i < n; i++) {
			const config_setting_t *g = config_setting_get_elem(rules, (unsigned)i);
			struct dg_rule r;
			bool dup = false;

			if (compile_rule(&ld, g, &r, base_name(in->packs[p].name)) != 0) {
				if (r.id != NULL)
					note_absent(&ld, r.id);
				rule_clear(&r);
				continue;
			}
			for (size_t k = 0; k < rs->nrules && !dup; k++) {
				if (strcmp(rs->rules[k].id, r.id) == 0) {
					FAIL(&ld, g, "rule id %s is already used at %s", r.id,
					     rs->rules[k].where);
					dup = true;
				}
			}
			if (dup) {
				rule_clear(&r);
				continue;
			}
			rs->rules = dg_xreallocarray(rs->rules, rs->nrules + 1, sizeof *rs->rules);
			rs->rules[rs->nrules++] = r;
		}
	}
	/* Rules the site disables: each must exist, and goes. */
	for (size_t d = 0; in->disabled != NULL && in->disabled[d] != NULL; d++) {
		const char *id = in->disabled[d];
		size_t k;

		for (k = 0; k < rs->nrules && strcmp(rs->rules[k].id, id) != 0; k++)
			;
		if (k == rs->nrules) {
			const char **ids = dg_xcalloc(rs->nrules + 1, sizeof *ids);

			for (size_t i = 0; i < rs->nrules; i++)
				ids[i] = rs->rules[i].id;
			dg_diag_fail(diag, in->site_name ? in->site_name : "?", in->disabled_at,
			             "disable_rules: no rule '%s'%s", id,
			             dg_cfgutil_did_you_mean(id, ids, rs->nrules));
			free(ids);
			continue;
		}
		rs->disabled =
		    dg_xreallocarray(rs->disabled, rs->ndisabled + 2, sizeof *rs->disabled);
		rs->disabled[rs->ndisabled++] = dg_xstrdup(id);
		rs->disabled[rs->ndisabled] = NULL;
		note_absent(&ld, id);
		rule_clear(&rs->rules[k]);
		memmove(&rs->rules[k], &rs->rules[k + 1], (rs->nrules - k - 1) * sizeof *rs->rules);
		rs->nrules--;
	}
	/* The site's exceptions. */
	for (size_t e = 0; e < in->nexceptions; e++) {
		const config_setting_t *l = in->exceptions[e].list;

		ld.env.name = in->exceptions[e].name;
		if (!config_setting_is_list(l)) {
			FAIL(&ld, l,
			     "exceptions is a list: ( { id = ...; ... } ), or the name of a file "
			     "holding one");
			continue;
		}
		for (int i = 0; i < config_setting_length(l); i++) {
			struct dg_exception x;

			if (compile_exception(&ld, config_setting_get_elem(l, (unsigned)i), &x,
			                      in->now_ms) != 0) {
				exception_clear(&x);
				continue;
			}
			for (size_t k = 0; k < rs->nexceptions; k++)
				if (strcmp(rs->exceptions[k].id, x.id) == 0)
					FAIL(&ld, config_setting_get_elem(l, (unsigned)i),
					     "exception id %s is already used at %s", x.id,
					     rs->exceptions[k].where);
			x.index = rs->nexceptions;
			rs->exceptions = dg_xreallocarray(rs->exceptions, rs->nexceptions + 1,
			                                  sizeof *rs->exceptions);
			rs->exceptions[rs->nexceptions++] = x;
		}
	}
	attach_exceptions(&ld, rs); /* pointers into rs->exceptions are stable from here */
	check_site_tests_used(&ld, rs);
	free(ld.site_tests_used);
	check_site_names(&ld, in->site, &packs_site);
	digest_packs(rs, in->packs, in->npacks, parsed);
	rs->loaded = parsed;
	rs->npacks = in->npacks;
	parsed = NULL;
	for (size_t p = 0; p < in->npacks; p++)
		config_destroy(&cfgs[p]);
	free(cfgs);
	free(parsed);
	free(ld.env.list_used);
	free(ld.env.setting_used);
	free(ld.env.schedule_used);
	for (size_t i = 0; i < ld.nabsent; i++)
		free(ld.absent[i]);
	free(ld.absent);
	rs->site = ld.site; /* the values in force stay with the rules */
	dg_cfgutil_site_clear(&packs_site);
	if (diag->n != errors) {
		dg_rules_free(rs);
		return NULL;
	}
	return rs;
}

size_t dg_rules_count(const struct dg_ruleset *rs)
{
	return rs->nrules;
}

const struct dg_rule *dg_rules_get(const struct dg_ruleset *rs, size_t i)
{
	return i < rs->nrules ? &rs->rules[i] : NULL;
}

size_t dg_rules_exception_count(const struct dg_ruleset *rs)
{
	return rs->nexceptions;
}

const struct dg_exception *dg_rules_exception(const struct dg_ruleset *rs, size_t i)
{
	return i < rs->nexceptions ? &rs->exceptions[i] : NULL;
}

char *const *dg_rules_disabled(const struct dg_ruleset *rs, size_t *n)
{
	*n = rs->ndisabled;
	return rs->disabled;
}

bool dg_rules_pack_loaded(const struct dg_ruleset *rs, size_t i)
{
	return i < rs->npacks && rs->loaded[i];
}

const char *dg_rules_digest(const struct dg_ruleset *rs)
{
	return rs->digest;
}

const struct dg_site *dg_rules_site(const struct dg_ruleset *rs)
{
	return &rs->site;
}

const struct dg_schema *dg_rules_schema(const struct dg_ruleset *rs)
{
	return rs->schema;
}

void dg_rules_explain_exception(const struct dg_ruleset *rs, const struct dg_exception *x,
                                const struct dg_evt *evt, dg_cond_protect *protect, void *arg,
                                struct dg_cjson *arr)
{
	dg_cond_explain(x->sel, evt, rs->schema, protect, arg, arr);
}
