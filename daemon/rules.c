#include "dgaudit/rules.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/buf.h"
#include "dgaudit/detect.h"
#include "dgaudit/hash.h"
#include "dgaudit/ip.h"
#include "dgaudit/ts.h"
#include "dgaudit/xmalloc.h"

/* ---- string sets for in / in_list ---------------------------------------------------------- */

struct strset {
	struct dg_str *items;
	uint64_t *hashes;
	size_t n;
	uint32_t *table; /* open addressing: index + 1, 0 = empty */
	size_t mask;
};

static uint64_t str_hash(const char *p, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	return h;
}

static void strset_init(struct strset *set, char *const *items, size_t n)
{
	size_t size = 8;

	while (size < n * 2)
		size *= 2;
	set->items = dg_xcalloc(n ? n : 1, sizeof *set->items);
	set->hashes = dg_xcalloc(n ? n : 1, sizeof *set->hashes);
	set->table = dg_xcalloc(size, sizeof *set->table);
	set->mask = size - 1;
	set->n = 0;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(items[i]);
		uint64_t h = str_hash(items[i], len);
		size_t slot = h & set->mask;

		while (set->table[slot] != 0)
			slot = (slot + 1) & set->mask;
		set->items[set->n].p = dg_xstrndup(items[i], len);
		set->items[set->n].len = len;
		set->hashes[set->n] = h;
		set->table[slot] = (uint32_t)++set->n;
	}
}

static bool strset_has(const struct strset *set, const char *p, size_t len)
{
	uint64_t h = str_hash(p, len);

	for (size_t slot = h & set->mask; set->table[slot] != 0; slot = (slot + 1) & set->mask) {
		size_t i = set->table[slot] - 1;

		if (set->hashes[i] == h && set->items[i].len == len &&
		    memcmp(set->items[i].p, p, len) == 0)
			return true;
	}
	return false;
}

static void strset_clear(struct strset *set)
{
	for (size_t i = 0; i < set->n; i++)
		free((char *)set->items[i].p);
	free(set->items);
	free(set->hashes);
	free(set->table);
}

/* ---- compiled conditions ------------------------------------------------------------------- */

enum op {
	OP_EXISTS,
	OP_EQ,
	OP_EQ_NUM,
	OP_IN,
	OP_STARTSWITH,
	OP_ENDSWITH,
	OP_CONTAINS,
	OP_LT,
	OP_LTE,
	OP_GT,
	OP_GTE,
	OP_CIDR,
	OP_RE,
	OP_DETECT,
};

/* Conditions run cheapest first within a select block; the order above is the cost order. */
static const struct {
	const char *name;
	enum op op;
} op_names[] = {
    {"exists", OP_EXISTS},
    {"eq", OP_EQ},
    {"in", OP_IN},
    {"in_list", OP_IN},
    {"startswith", OP_STARTSWITH},
    {"endswith", OP_ENDSWITH},
    {"contains", OP_CONTAINS},
    {"lt", OP_LT},
    {"lte", OP_LTE},
    {"gt", OP_GT},
    {"gte", OP_GTE},
    {"cidr", OP_CIDR},
    {"re", OP_RE},
    {"detect", OP_DETECT},
};

struct cond {
	int field;
	enum op op;
	bool flag;            /* exists: wanted presence */
	struct dg_str *texts; /* eq (one), startswith, endswith, contains (any of them) */
	size_t ntexts;
	int64_t num;       /* eq on a number, lt..gte */
	struct strset set; /* in */
	struct dg_ip_cidr *cidrs;
	size_t ncidrs;
	pcre2_code *re;
	pcre2_match_data *md; /* scratch for matching: rulesets are used by one thread */
	unsigned detect;
};

struct select {
	char *name;
	struct cond *conds;
	size_t nconds;
};

enum node_type { N_SELECT, N_AND, N_OR, N_NOT };

struct node {
	enum node_type type;
	int select;
	struct node *a, *b;
};

struct dg_rule_impl {
	struct select *selects;
	size_t nselects;
	struct node *cond;
};

struct dg_ruleset {
	struct dg_rule *rules;
	size_t nrules;
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

/* ---- matching ------------------------------------------------------------------------------ */

static bool text_int(const struct dg_str *s, int64_t *out)
{
	int64_t n = 0;
	size_t i = 0;
	bool neg = false;

	if (s->len > 0 && s->p[0] == '-')
		neg = true, i = 1;
	if (i == s->len || s->len - i > 18)
		return false;
	for (; i < s->len; i++) {
		unsigned d = (unsigned char)s->p[i] - '0';

		if (d > 9)
			return false;
		n = n * 10 + d;
	}
	*out = neg ? -n : n;
	return true;
}

/* startswith, endswith and contains: true if any of the needles is found. */
static bool match_needles(const struct cond *c, const struct dg_str *s)
{
	for (size_t i = 0; i < c->ntexts; i++) {
		const struct dg_str *t = &c->texts[i];

		if (t->len > s->len)
			continue;
		if ((c->op == OP_STARTSWITH && memcmp(s->p, t->p, t->len) == 0) ||
		    (c->op == OP_ENDSWITH && memcmp(s->p + s->len - t->len, t->p, t->len) == 0) ||
		    (c->op == OP_CONTAINS && memmem(s->p, s->len, t->p, t->len) != NULL))
			return true;
	}
	return false;
}

static bool match_text(struct cond *c, const struct dg_str *s)
{
	int64_t n;
	uint8_t addr[16];

	switch (c->op) {
	case OP_EXISTS:
		return true;
	case OP_EQ:
		return s->len == c->texts[0].len && memcmp(s->p, c->texts[0].p, s->len) == 0;
	case OP_EQ_NUM:
		return text_int(s, &n) && n == c->num;
	case OP_IN:
		return strset_has(&c->set, s->p, s->len);
	case OP_STARTSWITH:
	case OP_ENDSWITH:
	case OP_CONTAINS:
		return match_needles(c, s);
	case OP_LT:
		return text_int(s, &n) && n < c->num;
	case OP_LTE:
		return text_int(s, &n) && n <= c->num;
	case OP_GT:
		return text_int(s, &n) && n > c->num;
	case OP_GTE:
		return text_int(s, &n) && n >= c->num;
	case OP_CIDR:
		if (!dg_ip_parse(s->p, s->len, addr))
			return false;
		for (size_t i = 0; i < c->ncidrs; i++)
			if (dg_ip_cidr_match(&c->cidrs[i], addr))
				return true;
		return false;
	case OP_RE:
		return pcre2_match(c->re, (PCRE2_SPTR)s->p, s->len, 0, 0, c->md, NULL) >= 0;
	case OP_DETECT: {
		struct dg_detect_hit hit;

		return dg_detect_scan(s->p, s->len, c->detect, &hit, 1) > 0;
	}
	}
	return false;
}

static bool match_cond(struct cond *c, const struct dg_evt *evt)
{
	const struct dg_val *v = &evt->v[c->field];

	if (c->op == OP_EXISTS)
		return dg_evt_has(evt, c->field) == c->flag;
	if (!dg_evt_has(evt, c->field))
		return false;
	if (v->kind == DG_K_NUM && v->is_int && c->op >= OP_LT && c->op <= OP_GTE) {
		switch (c->op) {
		case OP_LT:
			return v->num < c->num;
		case OP_LTE:
			return v->num <= c->num;
		case OP_GT:
			return v->num > c->num;
		default:
			return v->num >= c->num;
		}
	}
	if (v->kind != DG_K_ARRAY)
		return match_text(c, &v->text);
	/* An array field matches when any of its elements does. */
	for (unsigned i = 0; i < v->nitems; i++)
		if (match_text(c, &evt->items[v->first + i]))
			return true;
	return false;
}

static bool match_select(const struct select *s, const struct dg_evt *evt)
{
	for (size_t i = 0; i < s->nconds; i++)
		if (!match_cond(&s->conds[i], evt))
			return false;
	return true;
}

static bool eval(const struct node *n, const struct dg_rule_impl *impl, const struct dg_evt *evt)
{
	switch (n->type) {
	case N_SELECT:
		return match_select(&impl->selects[n->select], evt);
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
	return eval(rule->impl->cond, rule->impl, evt);
}

bool dg_rules_match_then(const struct dg_rule *rule, const struct dg_evt *evt)
{
	return rule->threshold.then >= 0 &&
	       match_select(&rule->impl->selects[rule->threshold.then], evt);
}

/* ---- loading and compiling ----------------------------------------------------------------- */

struct loader {
	const char *name; /* pack being compiled, for messages */
	struct dg_site site;
	struct dg_schema *schema;
	char **cause;
	/* Where the operand last resolved came from: a site list or setting, or NULL for a
	 * literal in the pack. */
	const char *from_kind, *from_name, *from_where;
};

#define FAIL(ld, s, ...) dg_cfgutil_fail((ld)->cause, (ld)->name, (s), __VA_ARGS__)

static void set_from(struct loader *ld, const char *kind, const char *name, const char *where)
{
	ld->from_kind = kind;
	ld->from_name = name;
	ld->from_where = where;
}

/* The operand just resolved is invalid for its use. When it came from a list or setting the
 * error is at that definition, since that is what must change, and names the use; otherwise
 * at the use. Always returns -1. */
static int __attribute__((format(printf, 3, 4)))
fail_value(struct loader *ld, const config_setting_t *use, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = dg_xvasprintf(fmt, ap);
	va_end(ap);
	if (ld->from_where != NULL)
		*ld->cause =
		    dg_xasprintf("%s: %s '%s': %s (used at %s:%u)", ld->from_where, ld->from_kind,
		                 ld->from_name, msg, ld->name, config_setting_source_line(use));
	else
		FAIL(ld, use, "%s", msg);
	free(msg);
	return -1;
}

/* A setting's value is wrong for where it is used: the error is at its definition, since that
 * is what must change, and names the use. Always returns -1. */
static int fail_setting(struct loader *ld, const config_setting_t *use,
                        const struct dg_setting *set, const char *what)
{
	*ld->cause = dg_xasprintf("%s: setting '%s' %s (used at %s:%u)", set->where, set->name,
	                          what, ld->name, config_setting_source_line(use));
	return -1;
}

/* "$name" refers to a setting or list; "$$x" is the literal "$x". */
static const char *ref_name(const char *s)
{
	return s[0] == '$' && s[1] != '$' ? s + 1 : NULL;
}

static const char *literal(const char *s)
{
	return s[0] == '$' && s[1] == '$' ? s + 1 : s;
}

static int resolve_string(struct loader *ld, const config_setting_t *s, const char **out)
{
	const char *v, *ref;
	const struct dg_setting *set;

	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return FAIL(ld, s, "'%s' needs a string", config_setting_name(s));
	v = config_setting_get_string(s);
	ref = ref_name(v);
	set_from(ld, NULL, NULL, NULL);
	if (ref == NULL) {
		*out = literal(v);
		return 0;
	}
	set = dg_cfgutil_site_setting(&ld->site, ref);
	if (set == NULL)
		return FAIL(ld, s, "unknown setting '%s'", ref);
	if (set->is_int)
		return fail_setting(ld, s, set, "is an integer where a string is needed");
	set_from(ld, "setting", set->name, set->where);
	*out = set->str;
	return 0;
}

static int resolve_int(struct loader *ld, const config_setting_t *s, int64_t *out)
{
	const char *ref;
	const struct dg_setting *set;

	set_from(ld, NULL, NULL, NULL);
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		*out = config_setting_get_int64(s);
		return 0;
	case CONFIG_TYPE_STRING:
		ref = ref_name(config_setting_get_string(s));
		if (ref == NULL)
			break;
		set = dg_cfgutil_site_setting(&ld->site, ref);
		if (set == NULL)
			return FAIL(ld, s, "unknown setting '%s'", ref);
		if (!set->is_int)
			return fail_setting(ld, s, set, "must be an integer");
		set_from(ld, "setting", set->name, set->where);
		*out = set->num;
		return 0;
	}
	return FAIL(ld, s, "'%s' needs an integer or a \"$setting\"", config_setting_name(s));
}

/* Durations are "90s", "10m", "1h", "1d", an integer of seconds, or a "$setting" of either. */
static int resolve_duration(struct loader *ld, const config_setting_t *s, int64_t *out)
{
	const char *v = NULL, *ref;
	const struct dg_setting *set;

	if (config_setting_type(s) == CONFIG_TYPE_INT ||
	    config_setting_type(s) == CONFIG_TYPE_INT64) {
		*out = config_setting_get_int64(s) * 1000;
		return *out > 0 ? 0 : FAIL(ld, s, "a duration must be positive");
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return FAIL(ld, s, "'%s' needs a duration such as \"1h\"", config_setting_name(s));
	v = config_setting_get_string(s);
	ref = ref_name(v);
	if (ref != NULL) {
		set = dg_cfgutil_site_setting(&ld->site, ref);
		if (set == NULL)
			return FAIL(ld, s, "unknown setting '%s'", ref);
		*out = set->num * 1000;
		if (set->is_int ? *out <= 0 : !dg_ts_duration(set->str, out) || *out <= 0)
			return fail_setting(ld, s, set,
			                    "is not a duration (use e.g. \"90s\", \"10m\", \"1h\", "
			                    "\"1d\", or seconds)");
		return 0;
	}
	if (!dg_ts_duration(v, out) || *out <= 0)
		return FAIL(
		    ld, s, "'%s' is not a duration (use e.g. \"90s\", \"10m\", \"1h\", \"1d\")", v);
	return 0;
}

/* A list operand: an array or list of strings, a single string, or "$list". The returned
 * vector is borrowed when it names a list and owned (*owned set) otherwise. */
static int resolve_list(struct loader *ld, const config_setting_t *s, bool by_name,
                        char *const **out, size_t *n, char ***owned)
{
	const char *ref = NULL;
	const struct dg_list *l;

	*owned = NULL;
	set_from(ld, NULL, NULL, NULL);
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		const char *v = config_setting_get_string(s);

		ref = by_name && v[0] != '$' ? v : ref_name(v);
	}
	if (ref == NULL) {
		if (by_name)
			return FAIL(ld, s, "in_list needs the name of a list");
		if (dg_cfgutil_strings(ld->name, s, owned, n, ld->cause) != 0)
			return -1;
		*out = *owned;
		return 0;
	}
	l = dg_cfgutil_site_list(&ld->site, ref);
	if (l == NULL) {
		const struct dg_setting *set = dg_cfgutil_site_setting(&ld->site, ref);

		if (by_name || set == NULL || set->is_int)
			return FAIL(ld, s, "unknown list '%s'", ref);
		*owned = dg_xcalloc(2, sizeof **owned); /* a string setting: a list of one */
		(*owned)[0] = dg_xstrdup(set->str);
		*out = *owned;
		*n = 1;
		set_from(ld, "setting", set->name, set->where);
		return 0;
	}
	set_from(ld, "list", l->name, l->where);
	*out = l->items;
	*n = l->nitems;
	return 0;
}

static int field_of(struct loader *ld, const config_setting_t *s, const char *name, int *field)
{
	char *why = NULL;

	*field = dg_schema_add(ld->schema, name, &why);
	if (*field < 0) {
		FAIL(ld, s, "%s", why);
		free(why);
		return -1;
	}
	return 0;
}

static void cond_clear(struct cond *c)
{
	strset_clear(&c->set);
	for (size_t i = 0; i < c->ntexts; i++)
		free((char *)c->texts[i].p);
	free(c->texts);
	free(c->cidrs);
	pcre2_match_data_free(c->md);
	pcre2_code_free(c->re);
}

static int compile_operand(struct loader *ld, struct cond *c, const config_setting_t *arg,
                           const char *opname)
{
	char *const *items = NULL;
	char **owned = NULL;
	const char *text;
	size_t n = 0;
	int rc = -1;

	switch (c->op) {
	case OP_EXISTS:
		if (config_setting_type(arg) != CONFIG_TYPE_BOOL)
			return FAIL(ld, arg, "exists needs true or false");
		c->flag = config_setting_get_bool(arg);
		return 0;
	case OP_EQ:
		if (config_setting_type(arg) == CONFIG_TYPE_INT ||
		    config_setting_type(arg) == CONFIG_TYPE_INT64) {
			c->op = OP_EQ_NUM;
			return resolve_int(ld, arg, &c->num);
		}
		if (resolve_string(ld, arg, &text) != 0)
			return -1;
		c->texts = dg_xcalloc(1, sizeof *c->texts);
		c->texts[0].p = dg_xstrdup(text);
		c->texts[0].len = strlen(text);
		c->ntexts = 1;
		return 0;
	case OP_STARTSWITH:
	case OP_ENDSWITH:
	case OP_CONTAINS:
		break;
	case OP_LT:
	case OP_LTE:
	case OP_GT:
	case OP_GTE:
		return resolve_int(ld, arg, &c->num);
	case OP_RE: {
		int err;
		PCRE2_SIZE off;

		if (resolve_string(ld, arg, &text) != 0)
			return -1;
		c->re = pcre2_compile((PCRE2_SPTR)text, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err,
		                      &off, NULL);
		if (c->re == NULL) {
			PCRE2_UCHAR msg[256];

			pcre2_get_error_message(err, msg, sizeof msg);
			return fail_value(ld, arg, "regular expression /%s/: %s at offset %zu",
			                  text, (char *)msg, (size_t)off);
		}
		(void)pcre2_jit_compile(c->re, PCRE2_JIT_COMPLETE); /* interpreter if no JIT */
		c->md = pcre2_match_data_create_from_pattern(c->re, NULL);
		return 0;
	}
	case OP_IN:
	case OP_CIDR:
	case OP_DETECT:
		break;
	case OP_EQ_NUM:
		return 0;
	}
	if (resolve_list(ld, arg, strcmp(opname, "in_list") == 0, &items, &n, &owned) != 0)
		return -1;
	if (c->op == OP_STARTSWITH || c->op == OP_ENDSWITH || c->op == OP_CONTAINS) {
		if (n == 0) {
			fail_value(ld, arg, "%s needs at least one string", opname);
			goto out;
		}
		c->texts = dg_xcalloc(n, sizeof *c->texts);
		for (c->ntexts = 0; c->ntexts < n; c->ntexts++) {
			c->texts[c->ntexts].p = dg_xstrdup(items[c->ntexts]);
			c->texts[c->ntexts].len = strlen(items[c->ntexts]);
		}
	} else if (c->op == OP_IN) {
		strset_init(&c->set, items, n);
	} else if (c->op == OP_CIDR) {
		c->cidrs = dg_xcalloc(n ? n : 1, sizeof *c->cidrs);
		for (c->ncidrs = 0; c->ncidrs < n; c->ncidrs++)
			if (!dg_ip_cidr_parse(items[c->ncidrs], &c->cidrs[c->ncidrs])) {
				fail_value(ld, arg, "'%s' is not an address or CIDR block",
				           items[c->ncidrs]);
				goto out;
			}
	} else {
		for (size_t i = 0; i < n; i++) {
			unsigned k = dg_detect_kind_parse(items[i]);

			if (k == 0) {
				fail_value(
				    ld, arg,
				    "unknown detector '%s' (cn_resident_id, bank_card, cn_mobile, "
				    "email)",
				    items[i]);
				goto out;
			}
			c->detect |= k;
		}
		if (c->detect == 0) {
			fail_value(ld, arg, "detect needs at least one detector");
			goto out;
		}
	}
	rc = 0;
out:
	dg_cfgutil_strings_free(owned);
	return rc;
}

static int compile_cond(struct loader *ld, const config_setting_t *g, struct cond *c)
{
	const config_setting_t *f = config_setting_get_member(g, "field");
	const config_setting_t *arg = NULL;
	const char *opname = NULL;

	memset(c, 0, sizeof *c);
	if (!config_setting_is_group(g))
		return FAIL(ld, g,
		            "a condition is a group like { field = \"...\"; eq = \"...\"; }");
	if (f == NULL || config_setting_type(f) != CONFIG_TYPE_STRING)
		return FAIL(ld, g, "condition needs field = \"name\"");
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		const char *key = config_setting_name(m);
		bool known = false;

		if (strcmp(key, "field") == 0)
			continue;
		for (size_t k = 0; k < sizeof op_names / sizeof op_names[0]; k++) {
			if (strcmp(op_names[k].name, key) == 0) {
				known = true;
				c->op = op_names[k].op;
			}
		}
		if (!known)
			return FAIL(ld, m,
			            "unknown operator '%s' (eq, in, in_list, contains, startswith, "
			            "endswith, re, cidr, lt, lte, gt, gte, exists, detect)",
			            key);
		if (arg != NULL)
			return FAIL(ld, m, "one operator per condition ('%s' and '%s')", opname,
			            key);
		arg = m;
		opname = key;
	}
	if (arg == NULL)
		return FAIL(ld, g, "condition on '%s' has no operator",
		            config_setting_get_string(f));
	if (field_of(ld, f, config_setting_get_string(f), &c->field) != 0)
		return -1;
	if (compile_operand(ld, c, arg, opname) != 0) {
		cond_clear(c);
		return -1;
	}
	return 0;
}

static int cond_cost(const void *a, const void *b)
{
	const struct cond *x = a, *y = b;

	return (int)x->op - (int)y->op;
}

static int compile_select(struct loader *ld, const config_setting_t *s, struct select *sel,
                          uint64_t *fields)
{
	int n = config_setting_is_group(s) ? 1 : config_setting_length(s);

	sel->name = dg_xstrdup(config_setting_name(s));
	if (!config_setting_is_group(s) && !config_setting_is_list(s))
		return FAIL(ld, s, "select block '%s' must be a condition group or a list of them",
		            sel->name);
	if (n == 0)
		return FAIL(ld, s, "select block '%s' is empty", sel->name);
	sel->conds = dg_xcalloc((size_t)n, sizeof *sel->conds);
	for (int i = 0; i < n; i++) {
		const config_setting_t *g =
		    config_setting_is_group(s) ? s : config_setting_get_elem(s, (unsigned)i);

		if (compile_cond(ld, g, &sel->conds[i]) != 0)
			return -1;
		sel->nconds++;
		*fields |= 1ULL << sel->conds[i].field;
	}
	/* Cheap tests first: a select block is a conjunction, so order does not change results. */
	qsort(sel->conds, sel->nconds, sizeof *sel->conds, cond_cost);
	return 0;
}

/* ---- condition expressions: or > and > not > ( ) ------------------------------------------- */

struct expr {
	struct loader *ld;
	const config_setting_t *where;
	const struct dg_rule_impl *impl;
	const char *p;
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

static struct node *parse_or(struct expr *x);

static struct node *parse_unary(struct expr *x)
{
	const char *start;
	struct node *n;

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
	for (size_t i = 0; i < x->impl->nselects; i++) {
		const char *name = x->impl->selects[i].name;

		if (strlen(name) == (size_t)(x->p - start) &&
		    strncmp(name, start, strlen(name)) == 0) {
			n = node_new(N_SELECT, NULL, NULL);
			n->select = (int)i;
			return n;
		}
	}
	FAIL(x->ld, x->where, "condition: no select block named '%.*s'", (int)(x->p - start),
	     start);
	return NULL;
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
                                 const struct dg_rule_impl *impl, const char *text)
{
	struct expr x = {ld, where, impl, text};
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

/* ---- rules --------------------------------------------------------------------------------- */

static int select_index(const struct dg_rule_impl *impl, const char *name)
{
	for (size_t i = 0; i < impl->nselects; i++)
		if (strcmp(impl->selects[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int compile_threshold(struct loader *ld, const config_setting_t *t, struct dg_rule *r)
{
	static const char *const known[] = {"count", "sum",  "distinct", "group_by", "window",
	                                    "gte",   "then", "evidence", NULL};
	struct dg_threshold *th = &r->threshold;
	const config_setting_t *s;
	const char *aggs[] = {"count", "sum", "distinct"};
	int naggs = 0;
	char **names = NULL;
	size_t n = 0;

	if (!config_setting_is_group(t))
		return FAIL(ld, t, "threshold must be a group");
	if (dg_cfgutil_known(ld->name, t, known, ld->cause) != 0)
		return -1;
	th->field = -1;
	th->then = -1;
	th->evidence_max = 20;
	for (int i = 0; i < 3; i++) {
		s = config_setting_get_member(t, aggs[i]);
		if (s == NULL)
			continue;
		naggs++;
		th->agg = (enum dg_agg)i;
		if (i == DG_AGG_COUNT) {
			if (config_setting_type(s) != CONFIG_TYPE_BOOL ||
			    !config_setting_get_bool(s))
				return FAIL(ld, s, "count = true; counts events");
		} else {
			if (config_setting_type(s) != CONFIG_TYPE_STRING)
				return FAIL(ld, s, "%s needs a field name", aggs[i]);
			if (field_of(ld, s, config_setting_get_string(s), &th->field) != 0)
				return -1;
			r->shown_fields |= 1ULL << th->field;
		}
	}
	if (naggs != 1)
		return FAIL(ld, t, "threshold needs exactly one of count, sum or distinct");
	if ((s = config_setting_get_member(t, "group_by")) != NULL) {
		if (dg_cfgutil_strings(ld->name, s, &names, &n, ld->cause) != 0)
			return -1;
		if (n > DG_MAX_GROUP_BY) {
			dg_cfgutil_strings_free(names);
			return FAIL(ld, s, "at most %d group_by fields", DG_MAX_GROUP_BY);
		}
		for (size_t i = 0; i < n; i++) {
			if (field_of(ld, s, names[i], &th->group_by[i]) != 0) {
				dg_cfgutil_strings_free(names);
				return -1;
			}
			r->shown_fields |= 1ULL << th->group_by[i];
		}
		th->ngroup_by = n;
		dg_cfgutil_strings_free(names);
	}
	if ((s = config_setting_get_member(t, "window")) == NULL)
		return FAIL(ld, t, "threshold needs a window, e.g. window = \"1h\"");
	if (resolve_duration(ld, s, &th->window_ms) != 0)
		return -1;
	if ((s = config_setting_get_member(t, "gte")) == NULL)
		return FAIL(ld, t, "threshold needs gte = N (the value at which it fires)");
	if (resolve_int(ld, s, &th->limit) != 0)
		return -1;
	if (th->limit < 1)
		return fail_value(ld, s, "gte must be at least 1");
	if ((s = config_setting_get_member(t, "then")) != NULL) {
		if (config_setting_type(s) != CONFIG_TYPE_STRING)
			return FAIL(ld, s, "then names a select block");
		th->then = select_index(r->impl, config_setting_get_string(s));
		if (th->then < 0)
			return FAIL(ld, s, "then: no select block named '%s'",
			            config_setting_get_string(s));
	}
	if ((s = config_setting_get_member(t, "evidence")) != NULL) {
		int64_t e;

		if (resolve_int(ld, s, &e) != 0)
			return -1;
		if (e < 1 || e > 10000)
			return fail_value(ld, s, "evidence must be between 1 and 10000");
		th->evidence_max = (size_t)e;
	}
	r->has_threshold = true;
	return 0;
}

static int compile_compliance(struct loader *ld, const config_setting_t *c, struct dg_rule *r)
{
	int n;

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
		    config_setting_length(e) < 2)
			return FAIL(ld, e,
			            "each compliance entry is (\"framework\", \"ref\", ...)");
		if (dg_cfgutil_strings(ld->name, e, &v, &nv, ld->cause) != 0)
			return -1;
		cr->framework = v[0];
		cr->refs = dg_xcalloc(nv, sizeof *cr->refs);
		memcpy(cr->refs, v + 1, (nv - 1) * sizeof *v);
		cr->nrefs = nv - 1;
		free(v);
		r->ncompliance++;
	}
	return 0;
}

/* Checks the {placeholders} of a message template: fields, alternatives such as
 * {db.query.text|message} (the first present one), or threshold values. */
static int check_message(struct loader *ld, const config_setting_t *s, struct dg_rule *r)
{
	static const char *const special[] = {"threshold.value", "threshold.limit",
	                                      "threshold.window", "threshold.events", NULL};
	const char *p = r->message;

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
			if (is_special && !r->has_threshold) {
				FAIL(ld, s, "message: {%s} needs a threshold", name);
				free(names);
				return -1;
			}
			if (!is_special) {
				if (field_of(ld, s, name, &f) != 0) {
					free(names);
					return -1;
				}
				r->shown_fields |= 1ULL << f;
			}
		}
		free(names);
		p = end + 1;
	}
	return 0;
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

static void rule_clear(struct dg_rule *r)
{
	free(r->id);
	free(r->title);
	free(r->message);
	free(r->where);
	for (size_t i = 0; i < r->ncompliance; i++) {
		free(r->compliance[i].framework);
		dg_cfgutil_strings_free(r->compliance[i].refs);
	}
	free(r->compliance);
	if (r->impl != NULL) {
		for (size_t i = 0; i < r->impl->nselects; i++) {
			for (size_t k = 0; k < r->impl->selects[i].nconds; k++)
				cond_clear(&r->impl->selects[i].conds[k]);
			free(r->impl->selects[i].conds);
			free(r->impl->selects[i].name);
		}
		free(r->impl->selects);
		node_free(r->impl->cond);
		free(r->impl);
	}
	memset(r, 0, sizeof *r);
}

static int compile_rule(struct loader *ld, const config_setting_t *g, struct dg_rule *r)
{
	static const char *const known[] = {"id",          "title",     "severity",  "compliance",
	                                    "select",      "condition", "threshold", "message",
	                                    "description", NULL};
	const config_setting_t *s, *sel;
	const char *v;
	int err = 0, n;

	memset(r, 0, sizeof *r);
	r->where = dg_cfgutil_where(ld->name, g);
	r->impl = dg_xcalloc(1, sizeof *r->impl);
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
	if (dg_cfgutil_known(ld->name, g, known, ld->cause) != 0)
		return -1;
	v = dg_cfgutil_string(ld->name, g, "id", &err, ld->cause);
	if (err || v == NULL || !valid_id(v))
		return err ? -1 : FAIL(ld, g, "rule needs an id of letters, digits, '.', '-', '_'");
	r->id = dg_xstrdup(v);
	v = dg_cfgutil_string(ld->name, g, "title", &err, ld->cause);
	if (err || v == NULL)
		return err ? -1 : FAIL(ld, g, "rule %s needs a title", r->id);
	r->title = dg_xstrdup(v);
	s = config_setting_get_member(g, "severity");
	if (s == NULL || config_setting_type(s) != CONFIG_TYPE_STRING ||
	    !dg_rules_severity_parse(config_setting_get_string(s), &r->severity))
		return FAIL(ld, s ? s : g,
		            "rule %s needs severity = info, low, medium, high or critical", r->id);
	if ((s = config_setting_get_member(g, "compliance")) == NULL)
		return FAIL(ld, g, "rule %s needs its compliance references", r->id);
	if (compile_compliance(ld, s, r) != 0)
		return -1;
	sel = config_setting_get_member(g, "select");
	if (sel == NULL || !config_setting_is_group(sel) || config_setting_length(sel) == 0)
		return FAIL(ld, sel ? sel : g, "rule %s needs select = { name = (...); }", r->id);
	n = config_setting_length(sel);
	r->impl->selects = dg_xcalloc((size_t)n, sizeof *r->impl->selects);
	for (int i = 0; i < n; i++) {
		if (compile_select(ld, config_setting_get_elem(sel, (unsigned)i),
		                   &r->impl->selects[i], &r->shown_fields) != 0) {
			r->impl->nselects = (size_t)i + 1;
			return -1;
		}
		r->impl->nselects++;
	}
	s = config_setting_get_member(g, "condition");
	if (s == NULL && n != 1)
		return FAIL(ld, g, "rule %s has several select blocks and needs a condition",
		            r->id);
	if (s != NULL && config_setting_type(s) != CONFIG_TYPE_STRING)
		return FAIL(ld, s, "condition must be a string such as \"a and not b\"");
	r->impl->cond = compile_expr(ld, s ? s : g, r->impl,
	                             s ? config_setting_get_string(s) : r->impl->selects[0].name);
	if (r->impl->cond == NULL)
		return -1;
	if ((s = config_setting_get_member(g, "threshold")) != NULL &&
	    compile_threshold(ld, s, r) != 0)
		return -1;
	v = dg_cfgutil_string(ld->name, g, "message", &err, ld->cause);
	if (err)
		return -1;
	r->message = dg_xstrdup(v ? v : r->title);
	s = config_setting_get_member(g, "message");
	if (check_message(ld, s ? s : g, r) != 0)
		return -1;
	/* Who did what to which data of whom, whatever the rule tests. */
	r->shown_fields |= 1ULL << DG_F_USER_NAME | 1ULL << DG_F_EVENT_ACTION |
	                   1ULL << DG_F_OBJECT | 1ULL << DG_F_CLASSIFICATION |
	                   1ULL << DG_F_SUBJECT_ID | 1ULL << DG_F_SERVICE_NAME |
	                   1ULL << DG_F_SOURCE_IP;
	return 0;
}

static bool is_disabled(char *const *disabled, const char *id)
{
	for (size_t i = 0; disabled != NULL && disabled[i] != NULL; i++)
		if (strcmp(disabled[i], id) == 0)
			return true;
	return false;
}

void dg_rules_free(struct dg_ruleset *rs)
{
	if (rs == NULL)
		return;
	for (size_t i = 0; i < rs->nrules; i++)
		rule_clear(&rs->rules[i]);
	free(rs->rules);
	free(rs);
}

static void digest_packs(struct dg_ruleset *rs, const struct dg_rules_text *packs, size_t n)
{
	struct dg_hash *all = dg_hash_new();
	uint8_t d[DG_HASH_LEN];
	char hex[DG_HASH_HEXLEN];

	for (size_t i = 0; i < n; i++) {
		const char *base = strrchr(packs[i].name, '/');

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

struct dg_ruleset *dg_rules_load(const struct dg_rules_text *packs, size_t npacks,
                                 const struct dg_site *site, char *const *disabled,
                                 struct dg_schema *schema, char **cause)
{
	struct dg_ruleset *rs = dg_xcalloc(1, sizeof *rs);
	struct loader ld = {.schema = schema, .cause = cause};
	config_t *cfgs = dg_xcalloc(npacks ? npacks : 1, sizeof *cfgs);
	size_t ncfg = 0;
	bool ok = false;

	/* Pass 1: parse every pack and collect the lists and settings they declare. */
	for (; ncfg < npacks; ncfg++) {
		static const char *const known[] = {"lists", "settings", "rules", NULL};
		config_setting_t *root;

		config_init(&cfgs[ncfg]);
		ld.name = packs[ncfg].name;
		if (dg_cfgutil_read(&cfgs[ncfg], ld.name, packs[ncfg].text, cause) != 0) {
			ncfg++;
			goto out;
		}
		root = config_root_setting(&cfgs[ncfg]);
		if (dg_cfgutil_known(ld.name, root, known, cause) != 0 ||
		    dg_cfgutil_site_read(
		        &ld.site, ld.name, config_setting_get_member(root, "lists"),
		        config_setting_get_member(root, "settings"), false, cause) != 0) {
			ncfg++;
			goto out;
		}
	}
	/* The site's own values win over the packs' defaults. */
	if (site != NULL)
		dg_cfgutil_site_merge(&ld.site, site);
	/* Pass 2: compile the rules. */
	for (size_t p = 0; p < npacks; p++) {
		const config_setting_t *rules =
		    config_setting_get_member(config_root_setting(&cfgs[p]), "rules");
		int n;

		ld.name = packs[p].name;
		if (rules == NULL)
			continue;
		if (!config_setting_is_list(rules)) {
			FAIL(&ld, rules, "rules must be a list: rules = ( { ... }, { ... } );");
			goto out;
		}
		n = config_setting_length(rules);
		for (int i = 0; i < n; i++) {
			const config_setting_t *g = config_setting_get_elem(rules, (unsigned)i);
			struct dg_rule r;

			if (compile_rule(&ld, g, &r) != 0) {
				rule_clear(&r);
				goto out;
			}
			for (size_t k = 0; k < rs->nrules; k++) {
				if (strcmp(rs->rules[k].id, r.id) == 0) {
					FAIL(&ld, g, "rule id %s is already used at %s", r.id,
					     rs->rules[k].where);
					rule_clear(&r);
					goto out;
				}
			}
			if (is_disabled(disabled, r.id)) {
				rule_clear(&r);
				continue;
			}
			rs->rules = dg_xreallocarray(rs->rules, rs->nrules + 1, sizeof *rs->rules);
			rs->rules[rs->nrules++] = r;
		}
	}
	digest_packs(rs, packs, npacks);
	ok = true;
out:
	for (size_t i = 0; i < ncfg; i++)
		config_destroy(&cfgs[i]);
	free(cfgs);
	dg_cfgutil_site_clear(&ld.site);
	if (!ok) {
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

const char *dg_rules_digest(const struct dg_ruleset *rs)
{
	return rs->digest;
}
