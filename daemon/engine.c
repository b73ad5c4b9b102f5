#include "dgaudit/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/xmalloc.h"

#define GROUP_KEY_MAX 1024

struct dg_engine {
	const struct dg_ruleset *rs;
	struct dg_window **windows; /* per rule, NULL without threshold */
	int64_t *expired_at;        /* event time of each window's last expiry */
	int64_t newest;
	bool seen;
	char key[GROUP_KEY_MAX];
};

struct dg_engine *dg_engine_new(const struct dg_ruleset *rs, int64_t lateness_ms)
{
	struct dg_engine *e = dg_xcalloc(1, sizeof *e);
	size_t n = dg_rules_count(rs);

	e->rs = rs;
	e->windows = dg_xcalloc(n ? n : 1, sizeof *e->windows);
	e->expired_at = dg_xcalloc(n ? n : 1, sizeof *e->expired_at);
	for (size_t i = 0; i < n; i++) {
		const struct dg_rule *r = dg_rules_get(rs, i);

		if (r->has_threshold)
			e->windows[i] = dg_window_new(&r->threshold, lateness_ms);
	}
	return e;
}

void dg_engine_free(struct dg_engine *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < dg_rules_count(e->rs); i++)
		dg_window_free(e->windows[i]);
	free(e->windows);
	free(e->expired_at);
	free(e);
}

static size_t group_key(struct dg_engine *e, const struct dg_threshold *th,
                        const struct dg_evt *evt)
{
	size_t n = 0;

	for (size_t i = 0; i < th->ngroup_by; i++) {
		const struct dg_str *s = dg_evt_str(evt, th->group_by[i]);
		size_t len = s ? s->len : 0;

		if (i > 0 && n < GROUP_KEY_MAX)
			e->key[n++] = '\x1f';
		if (len > GROUP_KEY_MAX - n)
			len = GROUP_KEY_MAX - n;
		if (len > 0)
			memcpy(e->key + n, s->p, len);
		n += len;
	}
	return n;
}

static int64_t value_of(const struct dg_threshold *th, const struct dg_evt *evt)
{
	const struct dg_str *s;
	int64_t v = 0;
	uint64_t h = 1469598103934665603ULL;

	switch (th->agg) {
	case DG_AGG_COUNT:
		return 1;
	case DG_AGG_SUM:
		return dg_evt_int(evt, th->field, &v) ? v : 0;
	case DG_AGG_DISTINCT:
		s = dg_evt_str(evt, th->field);
		if (s == NULL)
			return 0;
		for (size_t i = 0; i < s->len; i++)
			h = (h ^ (unsigned char)s->p[i]) * 1099511628211ULL;
		return (int64_t)h;
	}
	return 0;
}

size_t dg_engine_eval(struct dg_engine *e, const struct dg_evt *evt, const struct dg_ref *ref,
                      dg_engine_cb *cb, void *arg)
{
	size_t n = dg_rules_count(e->rs), found = 0;

	if (!e->seen || evt->ts_ms > e->newest) {
		e->newest = evt->ts_ms;
		e->seen = true;
	}
	for (size_t i = 0; i < n; i++) {
		const struct dg_rule *r = dg_rules_get(e->rs, i);
		struct dg_match m = {.rule = r, .evt = evt, .ref = ref};
		struct dg_window *w = e->windows[i];
		bool hit = dg_rules_match(r, evt);

		if (w == NULL) {
			if (hit) {
				cb(&m, arg);
				found++;
			}
			continue;
		}
		if (!hit && r->threshold.then < 0)
			continue;
		if (r->threshold.agg == DG_AGG_DISTINCT && hit &&
		    !dg_evt_has(evt, r->threshold.field))
			hit = false; /* nothing to count distinctly */
		m.windowed = true;
		m.grouplen = group_key(e, &r->threshold, evt);
		m.group = e->key;
		if (hit ? dg_window_add(w, e->key, m.grouplen, evt->ts_ms,
		                        value_of(&r->threshold, evt), ref, &m.fire)
		        : dg_rules_match_then(r, evt) &&
		              dg_window_complete(w, e->key, m.grouplen, evt->ts_ms, &m.fire)) {
			cb(&m, arg);
			found++;
		}
		/* Forget old window state every quarter window of event time. */
		if (e->newest - e->expired_at[i] >= r->threshold.window_ms / 4) {
			dg_window_expire(w, e->newest);
			e->expired_at[i] = e->newest;
		}
	}
	return found;
}

size_t dg_engine_held(const struct dg_engine *e)
{
	size_t n = 0;

	for (size_t i = 0; i < dg_rules_count(e->rs); i++)
		if (e->windows[i] != NULL)
			n += dg_window_entries(e->windows[i]);
	return n;
}

void dg_engine_inputs(const struct dg_engine *e, void (*fn)(void *arg, uint32_t input), void *arg)
{
	for (size_t i = 0; i < dg_rules_count(e->rs); i++)
		if (e->windows[i] != NULL)
			dg_window_inputs(e->windows[i], fn, arg);
}

/* Identifies a rule's definition and resolved threshold (a site setting may change it): its
 * windows only carry over to the same. */
static void threshold_key(const struct dg_rule *r, char *buf, size_t len)
{
	const struct dg_threshold *th = &r->threshold;

	snprintf(buf, len, "%s/%lld/%lld", r->digest, (long long)th->window_ms,
	         (long long)th->limit);
}

struct dg_cjson *dg_engine_save(const struct dg_engine *e, const uint32_t *remap)
{
	struct dg_cjson *o = dg_cjson_object();
	char key[128];

	for (size_t i = 0; i < dg_rules_count(e->rs); i++) {
		const struct dg_rule *r = dg_rules_get(e->rs, i);
		struct dg_cjson *w;

		if (e->windows[i] == NULL || dg_window_groups(e->windows[i]) == 0)
			continue;
		w = dg_cjson_set(o, r->id, dg_cjson_object());
		threshold_key(r, key, sizeof key);
		dg_cjson_set(w, "threshold", dg_cjson_str(key));
		dg_window_save(e->windows[i], dg_cjson_set(w, "groups", dg_cjson_array()), remap);
	}
	return o;
}

int dg_engine_load(struct dg_engine *e, const struct dg_cjson *state)
{
	char key[128];

	for (size_t i = 0; i < dg_rules_count(e->rs); i++) {
		const struct dg_rule *r = dg_rules_get(e->rs, i);
		const struct dg_cjson *w = dg_cjson_get(state, r->id);
		const char *saved = dg_cjson_string(dg_cjson_get(w, "threshold"));

		if (e->windows[i] == NULL || w == NULL)
			continue;
		threshold_key(r, key, sizeof key);
		if (saved == NULL || strcmp(saved, key) != 0)
			continue; /* redefined: its windows start empty */
		if (dg_window_load(e->windows[i], dg_cjson_get(w, "groups")) != 0)
			return -1;
	}
	return 0;
}
