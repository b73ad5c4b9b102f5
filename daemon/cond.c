#include "dgaudit/cond.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/detect.h"
#include "dgaudit/ip.h"
#include "dgaudit/sets.h"
#include "dgaudit/ts.h"
#include "dgaudit/xmalloc.h"

/* Conditions run cheapest first within a select block; the order here is the cost order. */
enum op {
	OP_EXISTS,
	OP_EQ,
	OP_EQ_NUM,
	OP_EQ_BOOL,
	OP_IN,
	OP_STARTSWITH,
	OP_ENDSWITH,
	OP_CONTAINS,
	OP_LT,
	OP_LTE,
	OP_GT,
	OP_GTE,
	OP_CIDR,
	OP_OUTSIDE,
	OP_INSIDE,
	OP_BEFORE,
	OP_AFTER,
	OP_APART,
	OP_RE,
	OP_DETECT,
};

#define T(x)   (1u << DG_TYPE_##x)
#define T_TEXT (T(STRING) | T(STRINGS))
#define T_ANY  (T_TEXT | T(NUMBER) | T(IP) | T(TIME) | T(BOOL))

static const struct {
	const char *name;
	enum op op;
	unsigned types; /* field types it applies to */
} ops[] = {
    {"exists", OP_EXISTS, T_ANY},
    {"eq", OP_EQ, T_TEXT | T(IP) | T(NUMBER) | T(BOOL)},
    {"in", OP_IN, T_TEXT | T(IP)},
    {"in_list", OP_IN, T_TEXT | T(IP)},
    {"startswith", OP_STARTSWITH, T_TEXT},
    {"endswith", OP_ENDSWITH, T_TEXT},
    {"contains", OP_CONTAINS, T_TEXT},
    {"lt", OP_LT, T(NUMBER)},
    {"lte", OP_LTE, T(NUMBER)},
    {"gt", OP_GT, T(NUMBER)},
    {"gte", OP_GTE, T(NUMBER)},
    {"cidr", OP_CIDR, T(IP)},
    {"outside", OP_OUTSIDE, T(TIME)},
    {"inside", OP_INSIDE, T(TIME)},
    {"before", OP_BEFORE, T(TIME)},
    {"after", OP_AFTER, T(TIME)},
    {"apart_from", OP_APART, T(TIME)},
    {"re", OP_RE, T_TEXT | T(IP)},
    {"detect", OP_DETECT, T_TEXT},
};

#define NOPS (sizeof ops / sizeof ops[0])

struct cond {
	int field;
	enum op op;
	const char *opname;
	char *operand; /* as written, for explanations */
	bool flag;     /* exists: wanted presence; eq on a bool: the value */
	bool ignore_case;
	struct dg_str text; /* eq; a single needle for startswith, endswith, contains */
	int64_t num;        /* eq on a number, lt..gte; before/after a fixed time; apart_from */
	int other;          /* before/after/apart_from another time field, or -1 */
	struct dg_strset *set;
	struct dg_affix *affix; /* several needles, or any needle without regard to case */
	struct dg_cidrset *cidrs;
	pcre2_code *re;
	pcre2_match_data *md; /* scratch: a compiled rule set is used by one thread */
	unsigned detect;
	const struct dg_schedule *sched;
};

struct dg_select {
	char *name;
	struct cond *conds;
	size_t n;
};

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

bool dg_cond_parse_time(const char *s, size_t len, int64_t *ms)
{
	int64_t day;

	if (dg_ts_parse(s, len, ms))
		return true;
	if (!dg_ts_parse_date(s, len, &day))
		return false;
	*ms = day * 86400000;
	return true;
}

/* The time a time field holds, from @timestamp's parsed value or the field's text. */
static bool time_of(const struct dg_evt *evt, int field, int64_t *ms)
{
	const struct dg_str *s;

	if (field == DG_F_TIMESTAMP) {
		*ms = evt->ts_ms;
		return true;
	}
	s = dg_evt_str(evt, field);
	return s != NULL && dg_cond_parse_time(s->p, s->len, ms);
}

static bool match_text(struct cond *c, const struct dg_str *s)
{
	int64_t n;
	uint8_t addr[16];

	switch (c->op) {
	case OP_EQ:
		return s->len == c->text.len &&
		       (c->ignore_case ? strncasecmp(s->p, c->text.p, s->len) == 0
		                       : memcmp(s->p, c->text.p, s->len) == 0);
	case OP_EQ_NUM:
		return text_int(s, &n) && n == c->num;
	case OP_EQ_BOOL:
		return s->len == (c->flag ? 4u : 5u) &&
		       memcmp(s->p, c->flag ? "true" : "false", s->len) == 0;
	case OP_IN:
		return dg_sets_str_has(c->set, s->p, s->len);
	case OP_STARTSWITH:
		return c->affix
		           ? dg_sets_affix_match(c->affix, s->p, s->len)
		           : s->len >= c->text.len && memcmp(s->p, c->text.p, c->text.len) == 0;
	case OP_ENDSWITH:
		return c->affix ? dg_sets_affix_match(c->affix, s->p, s->len)
		                : s->len >= c->text.len && memcmp(s->p + s->len - c->text.len,
		                                                  c->text.p, c->text.len) == 0;
	case OP_CONTAINS:
		return c->affix ? dg_sets_affix_match(c->affix, s->p, s->len)
		                : memmem(s->p, s->len, c->text.p, c->text.len) != NULL;
	case OP_LT:
		return text_int(s, &n) && n < c->num;
	case OP_LTE:
		return text_int(s, &n) && n <= c->num;
	case OP_GT:
		return text_int(s, &n) && n > c->num;
	case OP_GTE:
		return text_int(s, &n) && n >= c->num;
	case OP_CIDR:
		return dg_ip_parse(s->p, s->len, addr) && dg_sets_cidr_has(c->cidrs, addr);
	case OP_RE:
		return pcre2_match(c->re, (PCRE2_SPTR)s->p, s->len, 0, 0, c->md, NULL) >= 0;
	case OP_DETECT: {
		struct dg_detect_hit hit;

		return dg_detect_scan(s->p, s->len, c->detect, &hit, 1) > 0;
	}
	default:
		return false;
	}
}

static bool match_time(const struct cond *c, const struct dg_evt *evt)
{
	int64_t t, other = c->num;

	if (!time_of(evt, c->field, &t))
		return false;
	switch (c->op) {
	case OP_OUTSIDE:
		return !dg_schedule_inside(c->sched, t);
	case OP_INSIDE:
		return dg_schedule_inside(c->sched, t);
	default:
		break;
	}
	if (c->other >= 0 && !time_of(evt, c->other, &other))
		return false;
	switch (c->op) {
	case OP_BEFORE:
		return t < other;
	case OP_AFTER:
		return t > other;
	default: /* apart_from: further apart than c->num */
		return (t > other ? t - other : other - t) > c->num;
	}
}

static bool match_cond(struct cond *c, const struct dg_evt *evt)
{
	const struct dg_val *v = &evt->v[c->field];

	if (c->op == OP_EXISTS)
		return dg_evt_has(evt, c->field) == c->flag;
	if (!dg_evt_has(evt, c->field))
		return false;
	if (c->op >= OP_OUTSIDE && c->op <= OP_APART)
		return match_time(c, evt);
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

bool dg_cond_match(const struct dg_select *sel, const struct dg_evt *evt)
{
	for (size_t i = 0; i < sel->n; i++)
		if (!match_cond(&sel->conds[i], evt))
			return false;
	return true;
}

const char *dg_cond_name(const struct dg_select *sel)
{
	return sel->name;
}

void dg_cond_requires(const struct dg_select *sel, uint64_t *present, uint32_t *actions)
{
	*present = 0;
	*actions = UINT32_MAX;
	for (size_t i = 0; i < sel->n; i++) {
		const struct cond *c = &sel->conds[i];
		const char *const *values = dg_schema_values(DG_F_EVENT_ACTION);
		uint32_t mask = 0;

		if (c->op == OP_EXISTS && !c->flag)
			continue;
		*present |= 1ULL << c->field;
		if (c->field != DG_F_EVENT_ACTION || (c->op != OP_EQ && c->op != OP_IN) ||
		    c->ignore_case)
			continue;
		for (uint32_t k = 0; values[k] != NULL; k++) {
			struct dg_str s = {values[k], strlen(values[k])};

			if (match_text((struct cond *)c, &s))
				mask |= 1u << k;
		}
		*actions &= mask;
	}
}

/* ---- explanations -------------------------------------------------------------------------- */

static struct dg_cjson *shown(const struct dg_str *s, int field, dg_cond_protect *protect,
                              void *arg, struct dg_buf *tmp)
{
	dg_buf_reset(tmp);
	protect(arg, field, s->p, s->len, tmp);
	return dg_cjson_strn(tmp->data ? tmp->data : "", tmp->len);
}

void dg_cond_explain(const struct dg_select *sel, const struct dg_evt *evt,
                     const struct dg_schema *schema, dg_cond_protect *protect, void *arg,
                     struct dg_cjson *arr)
{
	struct dg_buf tmp = {0};

	for (size_t i = 0; i < sel->n; i++) {
		struct cond *c = &sel->conds[i];
		struct dg_cjson *o = dg_cjson_push(arr, dg_cjson_object());
		const struct dg_val *v = &evt->v[c->field];
		char buf[160];

		dg_cjson_set(o, "field", dg_cjson_str(dg_schema_name(schema, c->field)));
		dg_cjson_set(o, "op", dg_cjson_str(c->opname));
		dg_cjson_set(o, "operand", dg_cjson_str(c->operand));
		if (!dg_evt_has(evt, c->field)) {
			dg_cjson_set(o, "value", dg_cjson_null());
		} else if (v->kind == DG_K_ARRAY) {
			struct dg_cjson *a = dg_cjson_set(o, "value", dg_cjson_array());

			for (unsigned k = 0; k < v->nitems; k++)
				dg_cjson_push(a, shown(&evt->items[v->first + k], c->field, protect,
				                       arg, &tmp));
		} else if (v->kind == DG_K_NUM && v->is_int) {
			dg_cjson_set(o, "value", dg_cjson_int(v->num));
		} else {
			dg_cjson_set(o, "value", shown(&v->text, c->field, protect, arg, &tmp));
		}
		if ((c->op == OP_OUTSIDE || c->op == OP_INSIDE) && dg_evt_has(evt, c->field)) {
			int64_t t;

			if (time_of(evt, c->field, &t)) {
				dg_schedule_describe(c->sched, t, buf, sizeof buf);
				dg_cjson_set(o, "detail", dg_cjson_str(buf));
			}
		}
		dg_cjson_set(o, "holds", dg_cjson_bool(match_cond(c, evt)));
	}
	dg_buf_release(&tmp);
}

/* ---- compiling ----------------------------------------------------------------------------- */

#define FAIL(env, s, ...) dg_diag_fail((env)->diag, (env)->name, (s), __VA_ARGS__)

static void set_from(struct dg_cond_env *env, const char *kind, const char *name, const char *where)
{
	env->from_kind = kind;
	env->from_name = name;
	env->from_where = where;
}

int dg_cond_fail_value(struct dg_cond_env *env, const config_setting_t *use, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = dg_xvasprintf(fmt, ap);
	va_end(ap);
	if (env->from_where != NULL)
		dg_diag_add(env->diag, "%s: %s '%s': %s (used at %s:%u)", env->from_where,
		            env->from_kind, env->from_name, msg, env->name,
		            config_setting_source_line(use));
	else
		FAIL(env, use, "%s", msg);
	free(msg);
	return -1;
}

/* A setting's value is wrong for where it is used: reported at its definition. */
static int fail_setting(struct dg_cond_env *env, const config_setting_t *use,
                        const struct dg_setting *set, const char *what)
{
	dg_diag_add(env->diag, "%s: setting '%s' %s (used at %s:%u)", set->where, set->name, what,
	            env->name, config_setting_source_line(use));
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

/* Names of one kind of named value, for suggestions. */
static const char **names_of(const struct dg_site *site, int kind, size_t *n)
{
	size_t count = kind == 0 ? site->nlists : kind == 1 ? site->nsettings : site->nschedules;
	const char **v = dg_xcalloc(count + 1, sizeof *v);

	for (size_t i = 0; i < count; i++)
		v[i] = kind == 0   ? site->lists[i].name
		       : kind == 1 ? site->settings[i].name
		                   : site->schedules[i].name;
	*n = count;
	return v;
}

static int fail_unknown(struct dg_cond_env *env, const config_setting_t *s, int kind,
                        const char *name)
{
	static const char *const kinds[] = {"list", "setting", "schedule"};
	size_t n;
	const char **v = names_of(env->site, kind, &n);

	FAIL(env, s, "unknown %s '%s'%s", kinds[kind], name, dg_cfgutil_did_you_mean(name, v, n));
	free(v);
	return -1;
}

static const struct dg_setting *setting(struct dg_cond_env *env, const config_setting_t *s,
                                        const char *name)
{
	const struct dg_setting *set = dg_cfgutil_site_setting(env->site, name);

	if (set == NULL) {
		fail_unknown(env, s, 1, name);
		return NULL;
	}
	if (env->setting_used != NULL)
		env->setting_used[set - env->site->settings] = true;
	return set;
}

const struct dg_list *dg_cond_list(struct dg_cond_env *env, const config_setting_t *use,
                                   const char *name)
{
	const struct dg_list *l = dg_cfgutil_site_list(env->site, name);

	if (l == NULL) {
		fail_unknown(env, use, 0, name);
		return NULL;
	}
	if (env->list_used != NULL)
		env->list_used[l - env->site->lists] = true;
	return l;
}

static int resolve_string(struct dg_cond_env *env, const config_setting_t *s, const char **out)
{
	const char *v, *ref;
	const struct dg_setting *set;

	set_from(env, NULL, NULL, NULL);
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return FAIL(env, s, "'%s' needs a string", config_setting_name(s));
	v = config_setting_get_string(s);
	ref = ref_name(v);
	if (ref == NULL) {
		*out = literal(v);
		return 0;
	}
	if ((set = setting(env, s, ref)) == NULL)
		return -1;
	if (set->is_int)
		return fail_setting(env, s, set, "is an integer where a string is needed");
	set_from(env, "setting", set->name, set->where);
	*out = set->str;
	return 0;
}

int dg_cond_int(struct dg_cond_env *env, const config_setting_t *s, int64_t *out)
{
	const char *ref;
	const struct dg_setting *set;

	set_from(env, NULL, NULL, NULL);
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		*out = config_setting_get_int64(s);
		return 0;
	case CONFIG_TYPE_STRING:
		ref = ref_name(config_setting_get_string(s));
		if (ref == NULL)
			break;
		if ((set = setting(env, s, ref)) == NULL)
			return -1;
		if (!set->is_int)
			return fail_setting(env, s, set, "must be an integer");
		set_from(env, "setting", set->name, set->where);
		*out = set->num;
		return 0;
	}
	return FAIL(env, s, "'%s' needs an integer or a \"$setting\"", config_setting_name(s));
}

/* Durations are "90s", "10m", "1h", "1d", an integer of seconds, or a "$setting" of either. */
int dg_cond_duration(struct dg_cond_env *env, const config_setting_t *s, int64_t *out)
{
	const char *v, *ref;
	const struct dg_setting *set;

	set_from(env, NULL, NULL, NULL);
	if (config_setting_type(s) == CONFIG_TYPE_INT ||
	    config_setting_type(s) == CONFIG_TYPE_INT64) {
		*out = config_setting_get_int64(s) * 1000;
		return *out > 0 ? 0 : FAIL(env, s, "a duration must be positive");
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return FAIL(env, s, "'%s' needs a duration such as \"1h\"", config_setting_name(s));
	v = config_setting_get_string(s);
	ref = ref_name(v);
	if (ref != NULL) {
		if ((set = setting(env, s, ref)) == NULL)
			return -1;
		*out = set->num * 1000;
		if (set->is_int ? *out <= 0 : !dg_ts_duration(set->str, out) || *out <= 0)
			return fail_setting(env, s, set,
			                    "is not a duration (use e.g. \"90s\", \"10m\", \"1h\", "
			                    "\"1d\", or seconds)");
		set_from(env, "setting", set->name, set->where);
		return 0;
	}
	if (!dg_ts_duration(v, out) || *out <= 0)
		return FAIL(env, s,
		            "'%s' is not a duration (use e.g. \"90s\", \"10m\", \"1h\", \"1d\")",
		            v);
	return 0;
}

/* A list operand: an array or list of strings, a single string, or "$list" (for in_list, the
 * list's bare name). The vector is borrowed when it names a list and owned otherwise. */
static int resolve_list(struct dg_cond_env *env, const config_setting_t *s, bool by_name,
                        char *const **out, size_t *n, char ***owned, bool *ignore_case)
{
	const char *ref = NULL;
	const struct dg_list *l;

	*owned = NULL;
	set_from(env, NULL, NULL, NULL);
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		const char *v = config_setting_get_string(s);

		ref = by_name && v[0] != '$' ? v : ref_name(v);
	}
	if (ref == NULL) {
		if (by_name)
			return FAIL(env, s, "in_list needs the name of a list");
		if (dg_cfgutil_strings(env->name, s, owned, n, env->diag) != 0)
			return -1;
		*out = *owned;
		return 0;
	}
	l = dg_cfgutil_site_list(env->site, ref);
	if (l == NULL) {
		const struct dg_setting *set = dg_cfgutil_site_setting(env->site, ref);

		if (by_name || set == NULL || set->is_int)
			return fail_unknown(env, s, 0, ref);
		setting(env, s, ref);
		*owned = dg_xcalloc(2, sizeof **owned); /* a string setting: a list of one */
		(*owned)[0] = dg_xstrdup(set->str);
		*out = *owned;
		*n = 1;
		set_from(env, "setting", set->name, set->where);
		return 0;
	}
	dg_cond_list(env, s, ref);
	set_from(env, "list", l->name, l->where);
	*out = l->items;
	*n = l->nitems;
	*ignore_case |= l->ignore_case;
	return 0;
}

int dg_cond_field(struct dg_cond_env *env, const config_setting_t *s, const char *name, int *field)
{
	int n = dg_schema_count(env->schema);
	const char **names;

	*field = dg_schema_lookup(env->schema, name, strlen(name));
	if (*field >= 0)
		return 0;
	names = dg_xcalloc((size_t)n + 1, sizeof *names);
	for (int i = 0; i < n; i++)
		names[i] = dg_schema_name(env->schema, i);
	FAIL(env, s,
	     "unknown field '%s'%s; fields beyond the event model are declared in fields = "
	     "( { name = \"%s\"; type = \"string\"; } ) or named by a map",
	     name, dg_cfgutil_did_you_mean(name, names, (size_t)n), name);
	free(names);
	return -1;
}

static void cond_clear(struct cond *c)
{
	free(c->operand);
	free((char *)c->text.p);
	dg_sets_str_free(c->set);
	dg_sets_affix_free(c->affix);
	dg_sets_cidr_free(c->cidrs);
	pcre2_match_data_free(c->md);
	pcre2_code_free(c->re);
	memset(c, 0, sizeof *c);
}

/* Values of an enumerated field (event.action, event.outcome) must be among its values. */
static int check_enum(struct dg_cond_env *env, const config_setting_t *use, int field,
                      char *const *items, size_t n)
{
	const char *const *values = dg_schema_values(field);
	size_t nv = 0;
	int rc = 0;

	if (values == NULL)
		return 0;
	while (values[nv] != NULL)
		nv++;
	for (size_t i = 0; i < n; i++) {
		bool ok = false;

		for (size_t k = 0; k < nv; k++)
			ok |= strcmp(values[k], items[i]) == 0;
		if (!ok) {
			char all[160] = "";

			for (size_t k = 0; k < nv; k++)
				snprintf(all + strlen(all), sizeof all - strlen(all), "%s%s",
				         k ? ", " : "", values[k]);
			rc = dg_cond_fail_value(env, use, "%s is never '%s' (it is one of %s)%s",
			                        dg_schema_name(env->schema, field), items[i], all,
			                        dg_cfgutil_did_you_mean(items[i], values, nv));
		}
	}
	return rc;
}

static char *operand_text(const config_setting_t *arg)
{
	struct dg_buf b = {0};

	switch (config_setting_type(arg)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		dg_buf_printf(&b, "%lld", (long long)config_setting_get_int64(arg));
		break;
	case CONFIG_TYPE_BOOL:
		dg_buf_adds(&b, config_setting_get_bool(arg) ? "true" : "false");
		break;
	case CONFIG_TYPE_STRING:
		dg_buf_adds(&b, config_setting_get_string(arg));
		break;
	default:
		for (int i = 0; i < config_setting_length(arg); i++) {
			const config_setting_t *e = config_setting_get_elem(arg, (unsigned)i);

			dg_buf_printf(&b, "%s%s", i ? ", " : "[",
			              config_setting_type(e) == CONFIG_TYPE_STRING
			                  ? config_setting_get_string(e)
			                  : "?");
		}
		dg_buf_adds(&b, b.len ? "]" : "[]");
	}
	return dg_buf_steal(&b);
}

static const struct dg_schedule *schedule(struct dg_cond_env *env, const config_setting_t *s,
                                          const char *name)
{
	const struct dg_schedule_def *def = dg_cfgutil_site_schedule(env->site, name);
	size_t i;

	if (def == NULL) {
		fail_unknown(env, s, 2, name);
		return NULL;
	}
	i = (size_t)(def - env->site->schedules);
	if (env->schedule_used != NULL)
		env->schedule_used[i] = true;
	if (env->schedules == NULL || env->schedules[i] == NULL) {
		FAIL(env, s, "schedule '%s' (%s) could not be built", name, def->where);
		return NULL;
	}
	return env->schedules[i];
}

/* before/after: another time field, or a fixed time. */
static int compile_when(struct dg_cond_env *env, struct cond *c, const config_setting_t *arg)
{
	const char *text;

	c->other = -1;
	if (resolve_string(env, arg, &text) != 0)
		return -1;
	if (dg_cond_parse_time(text, strlen(text), &c->num))
		return 0;
	if (dg_schema_lookup(env->schema, text, strlen(text)) < 0)
		return dg_cond_fail_value(
		    env, arg,
		    "%s needs a time (RFC 3339 or YYYY-MM-DD) or a time field, "
		    "not '%s'",
		    c->opname, text);
	if (dg_cond_field(env, arg, text, &c->other) != 0)
		return -1;
	if (dg_schema_type(env->schema, c->other) != DG_TYPE_TIME)
		return FAIL(env, arg, "%s: '%s' is not a time field", c->opname, text);
	return 0;
}

static int compile_needles(struct dg_cond_env *env, struct cond *c, const config_setting_t *arg,
                           char *const *items, size_t n)
{
	static const enum dg_affix_kind kinds[] = {
	    [OP_STARTSWITH] = DG_AFFIX_PREFIX,
	    [OP_ENDSWITH] = DG_AFFIX_SUFFIX,
	    [OP_CONTAINS] = DG_AFFIX_SUBSTRING,
	};

	if (n == 0)
		return dg_cond_fail_value(env, arg, "%s needs at least one string", c->opname);
	if (n == 1 && !c->ignore_case) {
		c->text.p = dg_xstrdup(items[0]);
		c->text.len = strlen(items[0]);
	} else {
		c->affix = dg_sets_affix_new(kinds[c->op], items, n, c->ignore_case);
	}
	return 0;
}

static int compile_operand(struct dg_cond_env *env, struct cond *c, const config_setting_t *arg)
{
	char *const *items = NULL;
	char **owned = NULL;
	const char *text;
	size_t n = 0;
	int rc = -1;
	enum dg_field_type type = dg_schema_type(env->schema, c->field);

	switch (c->op) {
	case OP_EXISTS:
		if (config_setting_type(arg) != CONFIG_TYPE_BOOL)
			return FAIL(env, arg, "exists needs true or false");
		c->flag = config_setting_get_bool(arg);
		return 0;
	case OP_EQ:
		if (type == DG_TYPE_BOOL) {
			if (config_setting_type(arg) != CONFIG_TYPE_BOOL)
				return FAIL(env, arg, "%s is true or false: eq needs true or false",
				            dg_schema_name(env->schema, c->field));
			c->op = OP_EQ_BOOL;
			c->flag = config_setting_get_bool(arg);
			return 0;
		}
		if (type == DG_TYPE_NUMBER) {
			c->op = OP_EQ_NUM;
			return dg_cond_int(env, arg, &c->num);
		}
		if (config_setting_type(arg) != CONFIG_TYPE_STRING)
			return FAIL(env, arg, "%s is a %s: eq needs a string",
			            dg_schema_name(env->schema, c->field),
			            dg_cfgutil_type_name(type));
		if (resolve_string(env, arg, &text) != 0 ||
		    check_enum(env, arg, c->field, (char *const *)&text, 1) != 0)
			return -1;
		c->text.p = dg_xstrdup(text);
		c->text.len = strlen(text);
		return 0;
	case OP_LT:
	case OP_LTE:
	case OP_GT:
	case OP_GTE:
		return dg_cond_int(env, arg, &c->num);
	case OP_RE: {
		int err;
		PCRE2_SIZE off;

		if (resolve_string(env, arg, &text) != 0)
			return -1;
		c->re = pcre2_compile((PCRE2_SPTR)text, PCRE2_ZERO_TERMINATED,
		                      PCRE2_UTF | (c->ignore_case ? PCRE2_CASELESS : 0), &err, &off,
		                      NULL);
		if (c->re == NULL) {
			PCRE2_UCHAR msg[256];

			pcre2_get_error_message(err, msg, sizeof msg);
			return dg_cond_fail_value(env, arg,
			                          "regular expression /%s/: %s at offset %zu", text,
			                          (char *)msg, (size_t)off);
		}
		(void)pcre2_jit_compile(c->re, PCRE2_JIT_COMPLETE); /* interpreter if no JIT */
		c->md = pcre2_match_data_create_from_pattern(c->re, NULL);
		return 0;
	}
	case OP_OUTSIDE:
	case OP_INSIDE:
		if (config_setting_type(arg) != CONFIG_TYPE_STRING)
			return FAIL(env, arg, "%s names a schedule", c->opname);
		text = config_setting_get_string(arg);
		c->sched = schedule(env, arg, text[0] == '$' ? text + 1 : text);
		return c->sched ? 0 : -1;
	case OP_BEFORE:
	case OP_AFTER:
		return compile_when(env, c, arg);
	case OP_APART: {
		const config_setting_t *a = config_setting_get_elem(arg, 0),
		                       *b = config_setting_get_elem(arg, 1);

		c->other = -1;
		if (config_setting_is_group(arg) || !config_setting_is_aggregate(arg) ||
		    config_setting_length(arg) != 2 || config_setting_type(a) != CONFIG_TYPE_STRING)
			return FAIL(env, arg,
			            "apart_from is [\"other time field\", \"duration\"], e.g. "
			            "[\"event.created\", \"5m\"]");
		if (dg_cond_field(env, a, config_setting_get_string(a), &c->other) != 0)
			return -1;
		if (dg_schema_type(env->schema, c->other) != DG_TYPE_TIME)
			return FAIL(env, a, "apart_from: '%s' is not a time field",
			            config_setting_get_string(a));
		return dg_cond_duration(env, b, &c->num);
	}
	case OP_IN:
	case OP_STARTSWITH:
	case OP_ENDSWITH:
	case OP_CONTAINS:
	case OP_CIDR:
	case OP_DETECT:
		break;
	case OP_EQ_NUM:
	case OP_EQ_BOOL:
		return 0;
	}
	if (resolve_list(env, arg, strcmp(c->opname, "in_list") == 0, &items, &n, &owned,
	                 &c->ignore_case) != 0)
		return -1;
	switch (c->op) {
	case OP_STARTSWITH:
	case OP_ENDSWITH:
	case OP_CONTAINS:
		rc = compile_needles(env, c, arg, items, n);
		break;
	case OP_IN:
		rc = check_enum(env, arg, c->field, items, n);
		c->set = dg_sets_str_new(items, n, c->ignore_case);
		break;
	case OP_CIDR: {
		struct dg_ip_cidr *blocks = dg_xcalloc(n ? n : 1, sizeof *blocks);

		rc = 0;
		for (size_t i = 0; i < n; i++)
			if (!dg_ip_cidr_parse(items[i], &blocks[i]))
				rc = dg_cond_fail_value(
				    env, arg, "'%s' is not an address or CIDR block", items[i]);
		c->cidrs = dg_sets_cidr_new(blocks, n);
		free(blocks);
		break;
	}
	default: /* detect */
		rc = 0;
		for (size_t i = 0; i < n; i++) {
			unsigned k = dg_detect_kind_parse(items[i]);

			if (k == 0)
				rc = dg_cond_fail_value(env, arg,
				                        "unknown detector '%s' (cn_resident_id, "
				                        "bank_card, cn_mobile, email)",
				                        items[i]);
			c->detect |= k;
		}
		if (rc == 0 && c->detect == 0)
			rc = dg_cond_fail_value(env, arg, "detect needs at least one detector");
	}
	dg_cfgutil_strings_free(owned);
	return rc;
}

static const char *op_list(void)
{
	return "eq, in, in_list, contains, startswith, endswith, re, cidr, lt, lte, gt, gte, "
	       "exists, detect, outside, inside, before, after, apart_from";
}

static int compile_cond(struct dg_cond_env *env, const config_setting_t *g, struct cond *c)
{
	const config_setting_t *f = config_setting_get_member(g, "field");
	const config_setting_t *arg = NULL, *ic;
	const char *names[NOPS + 2];
	enum dg_field_type type;
	size_t k;
	int rc = 0;

	memset(c, 0, sizeof *c);
	c->other = -1;
	if (!config_setting_is_group(g))
		return FAIL(env, g,
		            "a condition is a group like { field = \"...\"; eq = \"...\"; }");
	if (f == NULL || config_setting_type(f) != CONFIG_TYPE_STRING)
		return FAIL(env, g, "condition needs field = \"name\"");
	for (k = 0; k < NOPS; k++)
		names[k] = ops[k].name;
	names[NOPS] = "ignore_case";
	names[NOPS + 1] = "field";
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		const char *key = config_setting_name(m);

		if (strcmp(key, "field") == 0 || strcmp(key, "ignore_case") == 0)
			continue;
		for (k = 0; k < NOPS && strcmp(ops[k].name, key) != 0; k++)
			;
		if (k == NOPS) {
			rc = FAIL(env, m, "unknown operator '%s'%s (%s)", key,
			          dg_cfgutil_did_you_mean(key, names, NOPS + 2), op_list());
			continue;
		}
		if (arg != NULL) {
			rc = FAIL(env, m, "one operator per condition ('%s' and '%s')", c->opname,
			          key);
			continue;
		}
		arg = m;
		c->op = ops[k].op;
		c->opname = ops[k].name;
	}
	if ((ic = config_setting_get_member(g, "ignore_case")) != NULL) {
		if (config_setting_type(ic) != CONFIG_TYPE_BOOL)
			rc = FAIL(env, ic, "ignore_case is true or false");
		else
			c->ignore_case = config_setting_get_bool(ic);
	}
	if (dg_cond_field(env, f, config_setting_get_string(f), &c->field) != 0)
		rc = -1;
	if (rc != 0)
		return -1;
	if (arg == NULL)
		return FAIL(env, g, "condition on '%s' has no operator (%s)",
		            config_setting_get_string(f), op_list());
	for (k = 0; k < NOPS && strcmp(ops[k].name, c->opname) != 0; k++)
		;
	type = dg_schema_type(env->schema, c->field);
	if (!((ops[k].types >> type) & 1))
		return FAIL(env, arg, "%s does not apply to %s, which is a %s field", c->opname,
		            config_setting_get_string(f), dg_cfgutil_type_name(type));
	c->operand = operand_text(arg);
	if (compile_operand(env, c, arg) != 0) {
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

struct dg_select *dg_cond_compile(struct dg_cond_env *env, const config_setting_t *s,
                                  uint64_t *fields)
{
	struct dg_select *sel;
	int n = config_setting_is_group(s) ? 1 : config_setting_length(s), rc = 0;
	const char *name = config_setting_name(s);

	if (!config_setting_is_group(s) && !config_setting_is_list(s)) {
		FAIL(env, s, "select block '%s' must be a condition group or a list of them",
		     name ? name : "?");
		return NULL;
	}
	if (n == 0) {
		FAIL(env, s, "select block '%s' is empty", name ? name : "?");
		return NULL;
	}
	sel = dg_xcalloc(1, sizeof *sel);
	sel->name = dg_xstrdup(name ? name : "");
	sel->conds = dg_xcalloc((size_t)n, sizeof *sel->conds);
	for (int i = 0; i < n; i++) {
		const config_setting_t *g =
		    config_setting_is_group(s) ? s : config_setting_get_elem(s, (unsigned)i);

		if (compile_cond(env, g, &sel->conds[sel->n]) != 0) {
			rc = -1;
			continue;
		}
		if (fields != NULL)
			*fields |= 1ULL << sel->conds[sel->n].field;
		sel->n++;
	}
	if (rc != 0) {
		dg_cond_free(sel);
		return NULL;
	}
	/* Cheap tests first: a select block is a conjunction, so order does not change results. */
	qsort(sel->conds, sel->n, sizeof *sel->conds, cond_cost);
	return sel;
}

void dg_cond_free(struct dg_select *sel)
{
	if (sel == NULL)
		return;
	for (size_t i = 0; i < sel->n; i++)
		cond_clear(&sel->conds[i]);
	free(sel->conds);
	free(sel->name);
	free(sel);
}
