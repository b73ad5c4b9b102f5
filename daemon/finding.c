#include "dgaudit/finding.h"

#include <string.h>

#include "dgaudit/cfgutil.h"
#include "dgaudit/detect.h"
#include "dgaudit/hash.h"
#include "dgaudit/ts.h"

void dg_finding_protect(const struct dg_finding_env *env, int field, const char *value, size_t len,
                        struct dg_buf *out)
{
	uint8_t mac[DG_HASH_LEN];
	char hex[DG_HASH_HEXLEN];

	switch (field) {
	case DG_F_SUBJECT_ID:
		/* Stable per site, so findings about one customer can be correlated. */
		dg_hash_hmac(env->pseudonym_key, env->pseudonym_keylen, value, len, mac);
		dg_buf_adds(out, "psn:");
		dg_buf_add(out, dg_hash_hex(mac, 12, hex), 24);
		break;
	case DG_F_USER_NAME:
	case DG_F_USER_EFFECTIVE:
	case DG_F_HOST_NAME:
	case DG_F_SERVICE_NAME:
	case DG_F_SOURCE_IP:
	case DG_F_TIMESTAMP:
		dg_buf_add(out, value, len);
		break;
	default:
		dg_detect_mask(value, len, out);
	}
}

static struct dg_cjson *protected_str(const struct dg_finding_env *env, int field,
                                      const struct dg_str *s, struct dg_buf *tmp)
{
	dg_buf_reset(tmp);
	dg_finding_protect(env, field, s->p, s->len, tmp);
	return dg_cjson_strn(tmp->data, tmp->len);
}

static struct dg_cjson *field_value(const struct dg_finding_env *env, const struct dg_evt *evt,
                                    int f, struct dg_buf *tmp)
{
	const struct dg_val *v = &evt->v[f];
	struct dg_cjson *a;

	switch (v->kind) {
	case DG_K_NUM:
		return v->is_int ? dg_cjson_int(v->num) : dg_cjson_strn(v->text.p, v->text.len);
	case DG_K_BOOL:
		return dg_cjson_bool(v->text.p[0] == 't');
	case DG_K_ARRAY:
		a = dg_cjson_array();
		for (unsigned i = 0; i < v->nitems; i++)
			dg_cjson_push(a, protected_str(env, f, &evt->items[v->first + i], tmp));
		return a;
	default:
		return protected_str(env, f, &v->text, tmp);
	}
}

static struct dg_cjson *ref_json(const struct dg_finding_env *env, const struct dg_ref *ref)
{
	struct dg_cjson *o = dg_cjson_object();

	dg_cjson_set(o, "input", dg_cjson_str(env->input_name(env->input_arg, ref->input)));
	dg_cjson_set(o, "line", dg_cjson_int((int64_t)ref->line));
	dg_cjson_set(o, "offset", dg_cjson_int((int64_t)ref->offset));
	return o;
}

/* The value of the i-th group_by field from the joined group key. */
static struct dg_str group_part(const struct dg_match *m, size_t i)
{
	const char *p = m->group, *end = m->group + m->grouplen;

	for (; i > 0 && p < end; i--) {
		const char *sep = memchr(p, '\x1f', (size_t)(end - p));

		p = sep ? sep + 1 : end;
	}
	const char *sep = memchr(p, '\x1f', (size_t)(end - p));

	return (struct dg_str){p, sep ? (size_t)(sep - p) : (size_t)(end - p)};
}

/* The first field of "a|b|c" that evt has, or -1. */
static int first_present(const struct dg_finding_env *env, const struct dg_evt *evt,
                         const char *names, size_t len)
{
	const char *end = names + len;

	while (names < end) {
		const char *bar = memchr(names, '|', (size_t)(end - names));
		size_t n = bar ? (size_t)(bar - names) : (size_t)(end - names);
		int f = dg_schema_lookup(env->schema, names, n);

		if (f >= 0 && dg_evt_has(evt, f))
			return f;
		names += n + 1;
	}
	return -1;
}

/* The aggregate a message's {threshold.value} means: a threshold's, or a sequence's first
 * step's; and its limit. */
static int64_t shown_value(const struct dg_match *m)
{
	return m->fire ? m->fire->aggregate : m->seq ? m->seq->steps[0].aggregate : 0;
}

static int64_t shown_limit(const struct dg_match *m)
{
	return m->seq ? m->rule->threshold.steps[0].limit : m->rule->threshold.limit;
}

static uint64_t shown_events(const struct dg_match *m)
{
	return m->fire ? m->fire->events : m->seq ? m->seq->events : 1;
}

static void render_message(const struct dg_finding_env *env, const struct dg_match *m,
                           struct dg_buf *out, struct dg_buf *tmp)
{
	const char *p = m->rule->message;
	char num[32];

	while (*p != '\0') {
		const char *open = strchr(p, '{'), *close;
		size_t nlen;
		int f;

		if (open == NULL || (close = strchr(open, '}')) == NULL) {
			dg_buf_adds(out, p);
			return;
		}
		dg_buf_add(out, p, (size_t)(open - p));
		nlen = (size_t)(close - open - 1);
		p = close + 1;
		if (nlen > 10 && strncmp(open + 1, "threshold.", 10) == 0) {
			const char *what = open + 11;
			int64_t v =
			    strncmp(what, "value", 5) == 0    ? shown_value(m)
			    : strncmp(what, "limit", 5) == 0  ? shown_limit(m)
			    : strncmp(what, "part", 4) == 0   ? (m->fire ? m->fire->part : 0)
			    : strncmp(what, "total", 5) == 0  ? (m->fire ? m->fire->total : 0)
			    : strncmp(what, "events", 6) == 0 ? (int64_t)shown_events(m)
			                                      : m->rule->threshold.window_ms;

			if (strncmp(what, "window", 6) == 0)
				dg_cfgutil_format_duration(v, num, sizeof num);
			else
				snprintf(num, sizeof num, "%lld", (long long)v);
			dg_buf_adds(out, num);
			continue;
		}
		f = first_present(env, m->evt, open + 1, nlen);
		if (f >= 0) {
			struct dg_cjson *v = field_value(env, m->evt, f, tmp);

			if (dg_cjson_type(v) == DG_CJSON_STRING) {
				dg_buf_adds(out, dg_cjson_string(v));
			} else {
				struct dg_buf text = {0};

				dg_cjson_write(v, &text);
				dg_buf_add(out, text.data, text.len);
				dg_buf_release(&text);
			}
			dg_cjson_free(v);
		} else {
			dg_buf_adds(out, "-");
		}
	}
}

/* The record that identifies a finding: the first that contributed to it. */
static const struct dg_ref *first_ref(const struct dg_match *m)
{
	if (m->fire != NULL && m->fire->nrefs > 0)
		return &m->fire->refs[0];
	if (m->seq != NULL && m->seq->nrefs > 0)
		return &m->seq->refs[0];
	return m->ref;
}

void dg_finding_id(const struct dg_finding_env *env, const struct dg_match *m, char *out)
{
	const struct dg_ref *ref = first_ref(m);
	struct dg_buf b = {0};
	uint8_t d[DG_HASH_LEN];

	dg_buf_printf(&b, "%s%c%s%c%llu", m->rule->id, 0,
	              env->input_name(env->input_arg, ref->input), 0,
	              (unsigned long long)ref->offset);
	if (env->input_key != NULL && *env->input_key(env->input_arg, ref->input) != '\0')
		dg_buf_printf(&b, "%c%s", 0, env->input_key(env->input_arg, ref->input));
	dg_hash_sha256(b.data, b.len, d);
	dg_hash_hex(d, 16, out);
	dg_buf_release(&b);
}

static void protect_cb(void *arg, int field, const char *p, size_t len, struct dg_buf *out)
{
	dg_finding_protect(arg, field, p, len, out);
}

/* Why it fired: the rule's blocks on the event, and each exception of the rule considered. */
static struct dg_cjson *explain(const struct dg_finding_env *env, const struct dg_match *m)
{
	struct dg_cjson *o = dg_rules_explain(m->rule, m->evt, protect_cb, (void *)env);
	struct dg_cjson *xs = dg_cjson_set(o, "exceptions", dg_cjson_array());
	char ts[DG_TS_BUFSZ];

	for (size_t i = 0; i < m->rule->nexceptions; i++) {
		const struct dg_exception *x = m->rule->exceptions[i];
		struct dg_cjson *e = dg_cjson_push(xs, dg_cjson_object());
		bool holds = dg_rules_exception_match(x, m->evt);
		bool expired = m->evt->ts_ms >= x->expires_ms;

		dg_cjson_set(e, "id", dg_cjson_str(x->id));
		dg_cjson_set(e, "ticket", dg_cjson_str(x->ticket));
		dg_cjson_set(e, "applies", dg_cjson_bool(holds && !expired));
		dg_cjson_set(e, "why",
		             dg_cjson_str(!holds    ? "its conditions do not hold"
		                          : expired ? "it had expired"
		                                    : "it covers this event"));
		dg_cjson_set(e, "expires", dg_cjson_str(dg_ts_format(x->expires_ms, ts)));
		dg_rules_explain_exception(env->rules, x, m->evt, protect_cb, (void *)env,
		                           dg_cjson_set(e, "conditions", dg_cjson_array()));
	}
	return o;
}

static void render_threshold(const struct dg_finding_env *env, const struct dg_match *m,
                             struct dg_cjson *o, struct dg_buf *tmp)
{
	const struct dg_threshold *th = &m->rule->threshold;
	struct dg_cjson *t = dg_cjson_set(o, m->seq ? "sequence" : "threshold", dg_cjson_object());
	struct dg_cjson *g = dg_cjson_set(t, "group", dg_cjson_object());
	char ts[DG_TS_BUFSZ];

	for (size_t i = 0; i < th->ngroup_by; i++) {
		struct dg_str part = group_part(m, i);

		dg_cjson_set(g, dg_schema_name(env->schema, th->group_by[i]),
		             protected_str(env, th->group_by[i], &part, tmp));
	}
	if (m->rule->kind == DG_RULE_CONCENTRATION) {
		dg_cjson_set(t, "value", dg_cjson_int(m->fire->aggregate)); /* percent */
		dg_cjson_set(t, "limit", dg_cjson_int(th->limit));
		dg_cjson_set(t, "part", dg_cjson_int(m->fire->part));
		dg_cjson_set(t, "period_total", dg_cjson_int(m->fire->total));
		dg_cjson_set(t, "events", dg_cjson_int((int64_t)m->fire->events));
		dg_cjson_set(t, "first", dg_cjson_str(dg_ts_format(m->fire->first_ms, ts)));
		dg_cjson_set(t, "last", dg_cjson_str(dg_ts_format(m->fire->last_ms, ts)));
		return;
	}
	dg_cjson_set(t, "window_seconds", dg_cjson_int(th->window_ms / 1000));
	if (m->fire != NULL) {
		dg_cjson_set(t, "value", dg_cjson_int(m->fire->aggregate));
		dg_cjson_set(t, "limit", dg_cjson_int(th->limit));
		dg_cjson_set(t, "events", dg_cjson_int((int64_t)m->fire->events));
		dg_cjson_set(t, "first", dg_cjson_str(dg_ts_format(m->fire->first_ms, ts)));
		dg_cjson_set(t, "last", dg_cjson_str(dg_ts_format(m->fire->last_ms, ts)));
		/* open: the burst goes on (an alert, or the end of a report period came first) */
		dg_cjson_set(t, "state",
		             dg_cjson_str(m->kind == DG_MATCH_CLOSE ? "closed" : "open"));
		if (m->fire->evicted)
			dg_cjson_set(t, "evicted", dg_cjson_bool(true));
		return;
	}
	{
		struct dg_cjson *steps = dg_cjson_set(t, "steps", dg_cjson_array());

		dg_cjson_set(t, "value", dg_cjson_int(m->seq->steps[0].aggregate));
		dg_cjson_set(t, "events", dg_cjson_int((int64_t)m->seq->events));
		dg_cjson_set(t, "first", dg_cjson_str(dg_ts_format(m->seq->first_ms, ts)));
		dg_cjson_set(t, "last", dg_cjson_str(dg_ts_format(m->seq->last_ms, ts)));
		for (size_t i = 0; i < m->seq->nsteps; i++) {
			struct dg_cjson *s = dg_cjson_push(steps, dg_cjson_object());
			const struct dg_seq_step_fire *f = &m->seq->steps[i];

			dg_cjson_set(
			    s, "select",
			    dg_cjson_str(dg_rules_select_name(m->rule, th->steps[i].select)));
			dg_cjson_set(s, "value", dg_cjson_int(f->aggregate));
			dg_cjson_set(s, "limit", dg_cjson_int(th->steps[i].limit));
			dg_cjson_set(s, "events", dg_cjson_int((int64_t)f->events));
			dg_cjson_set(s, "first", dg_cjson_str(dg_ts_format(f->first_ms, ts)));
			dg_cjson_set(s, "last", dg_cjson_str(dg_ts_format(f->last_ms, ts)));
		}
	}
}

struct dg_cjson *dg_finding_render(const struct dg_finding_env *env, const struct dg_match *m)
{
	const struct dg_rule *r = m->rule;
	struct dg_cjson *o = dg_cjson_object(), *comp, *fields, *ev;
	struct dg_buf tmp = {0}, msg = {0};
	char ts[DG_TS_BUFSZ], id[33];
	const struct dg_ref *refs = NULL;
	size_t nrefs = 0;

	dg_finding_id(env, m, id);
	dg_cjson_set(o, "id", dg_cjson_str(id));
	dg_cjson_set(o, "rule", dg_cjson_str(r->id));
	dg_cjson_set(o, "title", dg_cjson_str(r->title));
	dg_cjson_set(o, "severity", dg_cjson_str(dg_rules_severity_name(r->severity)));
	dg_cjson_set(o, "time", dg_cjson_str(dg_ts_format(m->evt->ts_ms, ts)));
	comp = dg_cjson_set(o, "compliance", dg_cjson_array());
	for (size_t i = 0; i < r->ncompliance; i++) {
		struct dg_cjson *c = dg_cjson_push(comp, dg_cjson_object());
		struct dg_cjson *crefs = dg_cjson_set(c, "refs", dg_cjson_array());

		dg_cjson_set(c, "framework", dg_cjson_str(r->compliance[i].framework));
		for (size_t k = 0; k < r->compliance[i].nrefs; k++)
			dg_cjson_push(crefs, dg_cjson_str(r->compliance[i].refs[k]));
	}
	fields = dg_cjson_set(o, "fields", dg_cjson_object());
	for (int f = 0; f < dg_schema_count(env->schema); f++)
		if (((r->shown_fields >> f) & 1) && dg_evt_has(m->evt, f))
			dg_cjson_set(fields, dg_schema_name(env->schema, f),
			             field_value(env, m->evt, f, &tmp));
	render_message(env, m, &msg, &tmp);
	dg_cjson_set(o, "message", dg_cjson_strn(msg.data ? msg.data : "", msg.len));
	dg_cjson_set(o, "record", ref_json(env, m->ref));
	ev = dg_cjson_set(o, "evidence", dg_cjson_array());
	if (m->fire != NULL) {
		refs = m->fire->refs;
		nrefs = m->fire->nrefs;
	} else if (m->seq != NULL) {
		refs = m->seq->refs;
		nrefs = m->seq->nrefs;
	} else {
		refs = m->ref;
		nrefs = 1;
	}
	for (size_t i = 0; i < nrefs; i++)
		dg_cjson_push(ev, ref_json(env, &refs[i]));
	dg_cjson_set(o, "evidence_count", dg_cjson_int((int64_t)shown_events(m)));
	if (m->fire != NULL || m->seq != NULL)
		render_threshold(env, m, o, &tmp);
	if (m->repeats > 0)
		dg_cjson_set(o, "repeats_suppressed", dg_cjson_int((int64_t)m->repeats));
	if (m->nexpired > 0) {
		struct dg_cjson *x = dg_cjson_set(o, "expired_exceptions", dg_cjson_array());

		for (size_t i = 0; i < m->nexpired; i++) {
			struct dg_cjson *e = dg_cjson_push(x, dg_cjson_object());

			dg_cjson_set(e, "id", dg_cjson_str(m->expired[i]->id));
			dg_cjson_set(e, "ticket", dg_cjson_str(m->expired[i]->ticket));
			dg_cjson_set(e, "expires",
			             dg_cjson_str(dg_ts_format(m->expired[i]->expires_ms, ts)));
		}
	}
	if (env->explain)
		dg_cjson_set(o, "explain", explain(env, m));
	dg_buf_release(&tmp);
	dg_buf_release(&msg);
	return o;
}
