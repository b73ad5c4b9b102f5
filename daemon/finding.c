#include "dgaudit/finding.h"

#include <string.h>

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
			int64_t v = strncmp(what, "value", 5) == 0   ? m->fire.aggregate
			            : strncmp(what, "limit", 5) == 0 ? m->rule->threshold.limit
			            : strncmp(what, "events", 6) == 0
			                ? (int64_t)m->fire.events
			                : m->rule->threshold.window_ms / 1000;

			snprintf(num, sizeof num, "%lld%s", (long long)v,
			         strncmp(what, "window", 6) == 0 ? "s" : "");
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

struct dg_cjson *dg_finding_render(const struct dg_finding_env *env, const struct dg_match *m)
{
	const struct dg_rule *r = m->rule;
	struct dg_cjson *o = dg_cjson_object(), *comp, *fields, *ev;
	struct dg_buf tmp = {0}, msg = {0};
	char ts[DG_TS_BUFSZ];

	dg_cjson_set(o, "rule", dg_cjson_str(r->id));
	dg_cjson_set(o, "title", dg_cjson_str(r->title));
	dg_cjson_set(o, "severity", dg_cjson_str(dg_rules_severity_name(r->severity)));
	dg_cjson_set(o, "time", dg_cjson_str(dg_ts_format(m->evt->ts_ms, ts)));
	comp = dg_cjson_set(o, "compliance", dg_cjson_array());
	for (size_t i = 0; i < r->ncompliance; i++) {
		struct dg_cjson *c = dg_cjson_push(comp, dg_cjson_object());
		struct dg_cjson *refs = dg_cjson_set(c, "refs", dg_cjson_array());

		dg_cjson_set(c, "framework", dg_cjson_str(r->compliance[i].framework));
		for (size_t k = 0; k < r->compliance[i].nrefs; k++)
			dg_cjson_push(refs, dg_cjson_str(r->compliance[i].refs[k]));
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
	if (!m->windowed) {
		dg_cjson_push(ev, ref_json(env, m->ref));
		dg_cjson_set(o, "evidence_count", dg_cjson_int(1));
	} else {
		const struct dg_threshold *th = &r->threshold;
		struct dg_cjson *t = dg_cjson_set(o, "threshold", dg_cjson_object());
		struct dg_cjson *g = dg_cjson_set(t, "group", dg_cjson_object());
		bool sequence = th->then >= 0;

		for (size_t i = 0; i < m->fire.nrefs; i++)
			dg_cjson_push(ev, ref_json(env, &m->fire.refs[i]));
		if (sequence) /* the completing record is evidence too */
			dg_cjson_push(ev, ref_json(env, m->ref));
		dg_cjson_set(o, "evidence_count",
		             dg_cjson_int((int64_t)m->fire.events + (sequence ? 1 : 0)));
		dg_cjson_set(t, "value", dg_cjson_int(m->fire.aggregate));
		dg_cjson_set(t, "limit", dg_cjson_int(th->limit));
		dg_cjson_set(t, "window_seconds", dg_cjson_int(th->window_ms / 1000));
		dg_cjson_set(t, "first", dg_cjson_str(dg_ts_format(m->fire.first_ms, ts)));
		dg_cjson_set(t, "last", dg_cjson_str(dg_ts_format(m->fire.last_ms, ts)));
		for (size_t i = 0; i < th->ngroup_by; i++) {
			struct dg_str part = group_part(m, i);

			dg_cjson_set(g, dg_schema_name(env->schema, th->group_by[i]),
			             protected_str(env, th->group_by[i], &part, &tmp));
		}
	}
	dg_buf_release(&tmp);
	dg_buf_release(&msg);
	return o;
}
