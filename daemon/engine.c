#include "dgaudit/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/hash.h"
#include "dgaudit/keyset.h"
#include "dgaudit/xmalloc.h"

#define GROUP_KEY_MAX 1024
#define SAMPLE_EVERY  64     /* rules are timed on one event in this many */
#define SUPPRESS_KEYS 100000 /* keys a rule's repeat suppression remembers at most */

/* A key whose findings are being held back. */
struct held {
	struct dg_keyed k;
	int64_t until; /* findings before this event time are repeats */
	uint64_t count;
};

/* A group's part of a concentration rule's period total. */
struct share {
	struct dg_keyed k;
	int64_t sum, first, last;
	uint64_t events;
	struct dg_ref opener, *refs;
	size_t nrefs;
	struct dg_buf snap; /* its first event */
};

struct rule_state {
	struct dg_window *w;     /* threshold rules */
	struct dg_keyset shares; /* concentration rules */
	int64_t share_total;
	struct dg_seq *seq;                       /* sequence rules */
	int64_t expired_at;                       /* event time of the last expiry */
	uint64_t evicted_groups, evicted_records; /* the state's eviction totals, last seen */
	struct dg_keyset held;
	struct dg_keyset quiet; /* threshold: groups whose open burst was suppressed */
};

#define NACTIONS 16 /* event.action values of the model, and one for none or another */

struct dg_engine {
	const struct dg_ruleset *rs;
	const struct dg_rule *rules; /* the rule set's, in order */
	size_t nrules;
	/* The index: for each event.action, the rules that can match an event with it. */
	uint32_t *candidates[NACTIONS];
	size_t ncandidates[NACTIONS];
	int64_t next_expiry; /* the event time at which some rule's state is next looked at */
	struct rule_state *st;
	struct dg_rule_stats *stats;
	struct dg_exception_stats *xstats;
	int64_t lateness;
	int64_t newest;
	bool seen;
	int64_t (*now_ns)(void);
	bool no_exceptions;
	uint64_t events;
	/* For the callbacks of windows and sequences: what they report about. */
	size_t cur_rule;
	const struct dg_evt *cur_evt;
	const struct dg_ref *cur_ref;
	struct dg_match *cur_match;
	dg_engine_cb *cb;
	void *cb_arg;
	size_t found;
	struct dg_evt snap; /* a burst's opening event, rebuilt */
	char key[GROUP_KEY_MAX], skey[GROUP_KEY_MAX];
};

struct dg_engine *dg_engine_new(const struct dg_ruleset *rs, int64_t lateness_ms)
{
	struct dg_engine *e = dg_xcalloc(1, sizeof *e);

	e->rs = rs;
	e->rules = dg_rules_get(rs, 0);
	e->nrules = dg_rules_count(rs);
	for (int a = 0; a < NACTIONS; a++) {
		e->candidates[a] = dg_xcalloc(e->nrules + 1, sizeof *e->candidates[a]);
		for (size_t i = 0; i < e->nrules; i++) {
			uint32_t acts = e->rules[i].actions;

			/* the last slot is for events with no action, or one outside the model */
			if (acts == UINT32_MAX || (a < NACTIONS - 1 && ((acts >> a) & 1)))
				e->candidates[a][e->ncandidates[a]++] = (uint32_t)i;
		}
	}
	e->lateness = lateness_ms;
	e->st = dg_xcalloc(e->nrules + 1, sizeof *e->st);
	e->stats = dg_xcalloc(e->nrules + 1, sizeof *e->stats);
	e->xstats = dg_xcalloc(dg_rules_exception_count(rs) + 1, sizeof *e->xstats);
	for (size_t i = 0; i < e->nrules; i++) {
		const struct dg_rule *r = dg_rules_get(rs, i);

		if (r->kind == DG_RULE_THRESHOLD)
			e->st[i].w = dg_window_new(&r->threshold, lateness_ms);
		else if (r->kind == DG_RULE_SEQUENCE)
			e->st[i].seq = dg_seq_new(&r->threshold, lateness_ms);
		dg_keyset_init(&e->st[i].held);
		dg_keyset_init(&e->st[i].quiet);
		dg_keyset_init(&e->st[i].shares);
	}
	return e;
}

static void free_keyed(struct dg_keyed *k)
{
	free(k);
}

static void free_share(struct dg_keyed *k)
{
	struct share *x = (struct share *)k;

	free(x->refs);
	dg_buf_release(&x->snap);
	free(x);
}

void dg_engine_free(struct dg_engine *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < e->nrules; i++) {
		dg_window_free(e->st[i].w);
		dg_seq_free(e->st[i].seq);
		dg_keyset_clear(&e->st[i].held, free_keyed);
		dg_keyset_clear(&e->st[i].quiet, free_keyed);
		dg_keyset_clear(&e->st[i].shares, free_share);
	}
	for (int a = 0; a < NACTIONS; a++)
		free(e->candidates[a]);
	free(e->st);
	free(e->stats);
	free(e->xstats);
	free(e);
}

void dg_engine_ignore_exceptions(struct dg_engine *e)
{
	e->no_exceptions = true;
}

void dg_engine_set_clock(struct dg_engine *e, int64_t (*now_ns)(void))
{
	e->now_ns = now_ns;
}

struct dg_rule_stats *dg_engine_rule_stats(struct dg_engine *e)
{
	return e->stats;
}

struct dg_exception_stats *dg_engine_exception_stats(struct dg_engine *e)
{
	return e->xstats;
}

/* group_by values joined by 0x1f into buf. */
static size_t group_key(char *buf, const int *fields, size_t n, const struct dg_evt *evt)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		const struct dg_str *s = dg_evt_str(evt, fields[i]);
		size_t l = s ? s->len : 0;

		if (i > 0 && len < GROUP_KEY_MAX)
			buf[len++] = '\x1f';
		if (l > GROUP_KEY_MAX - len)
			l = GROUP_KEY_MAX - len;
		if (l > 0)
			memcpy(buf + len, s->p, l);
		len += l;
	}
	return len;
}

/* The addend of a sum, or a hash of the value for a distinct count. */
static int64_t value_of(enum dg_agg agg, int field, const struct dg_evt *evt)
{
	const struct dg_str *s;
	int64_t v = 0;

	switch (agg) {
	case DG_AGG_COUNT:
		return 1;
	case DG_AGG_SUM:
		return dg_evt_int(evt, field, &v) ? v : 0;
	case DG_AGG_DISTINCT:
		s = dg_evt_str(evt, field);
		return s ? (int64_t)dg_hash_fnv(s->p, s->len) : 0;
	}
	return 0;
}

/* True if an unexpired exception covers the rule's match; expired ones that would have are
 * noted in m. */
static bool exempt(struct dg_engine *e, const struct dg_rule *r, const struct dg_evt *evt,
                   struct dg_match *m)
{
	for (size_t i = 0; !e->no_exceptions && i < r->nexceptions; i++) {
		const struct dg_exception *x = r->exceptions[i];

		if (!dg_rules_exception_match(x, evt))
			continue;
		if (evt->ts_ms < x->expires_ms) {
			e->xstats[x->index].exempted++;
			return true;
		}
		e->xstats[x->index].expired++;
		if (m->nexpired < sizeof m->expired / sizeof m->expired[0])
			m->expired[m->nexpired++] = x;
	}
	return false;
}

/* Repeat suppression: true if a finding of rule i at time t for the key of evt is a repeat to
 * hold back; otherwise m->repeats gets the count held back since the last one. */
static bool suppressed(struct dg_engine *e, size_t i, const struct dg_evt *evt, int64_t t,
                       struct dg_match *m)
{
	const struct dg_rule *r = &e->rules[i];
	struct rule_state *st = &e->st[i];
	size_t len;
	struct held *h;

	if (!r->has_suppress)
		return false;
	len = group_key(e->skey, r->suppress.group_by, r->suppress.ngroup_by, evt);
	h = (struct held *)dg_keyset_find(&st->held, e->skey, len);
	if (h != NULL && t < h->until) {
		h->count++;
		e->stats[i].suppressed++;
		dg_keyset_touch(&st->held, &h->k);
		return true;
	}
	if (h == NULL) {
		while (st->held.n >= SUPPRESS_KEYS) {
			struct dg_keyed *old = st->held.oldest;

			dg_keyset_remove(&st->held, old);
			free(old);
		}
		h = dg_xcalloc(1, sizeof *h);
		dg_keyset_insert(&st->held, &h->k, e->skey, len);
	} else {
		dg_keyset_touch(&st->held, &h->k);
	}
	m->repeats = h->count;
	h->count = 0;
	h->until = t + r->suppress.period_ms;
	return false;
}

static void emit(struct dg_engine *e, struct dg_match *m)
{
	if (m->kind != DG_MATCH_OPEN) {
		e->stats[m->rule - e->rules].findings++;
		e->found++;
	}
	e->cb(m, e->cb_arg);
}

/* A threshold window opened, closed or carried a burst. */
static void on_window(void *arg, const struct dg_window_fire *f)
{
	struct dg_engine *e = arg;
	const struct dg_rule *r = &e->rules[e->cur_rule];
	struct rule_state *st = &e->st[e->cur_rule];
	struct dg_match m = {0};
	struct dg_keyed *q;

	if (e->cur_match != NULL) /* exceptions found while matching this event */
		m = *e->cur_match;
	m.rule = r;
	m.fire = f;
	m.group = f->key;
	m.grouplen = f->keylen;
	m.seq = NULL;
	q = dg_keyset_find(&st->quiet, f->key, f->keylen);
	switch (f->what) {
	case DG_WINDOW_OPEN:
		m.kind = DG_MATCH_OPEN;
		m.evt = e->cur_evt;
		m.ref = &f->opener;
		if (suppressed(e, e->cur_rule, e->cur_evt, e->cur_evt->ts_ms, &m)) {
			if (q == NULL) { /* the burst goes on unseen: its close is a repeat too */
				q = dg_xcalloc(1, sizeof *q);
				dg_keyset_insert(&st->quiet, q, f->key, f->keylen);
			}
			return;
		}
		break;
	case DG_WINDOW_CLOSE:
	case DG_WINDOW_CARRIED:
		if (q != NULL) {
			if (f->what == DG_WINDOW_CLOSE) {
				dg_keyset_remove(&st->quiet, q);
				free(q);
			}
			return;
		}
		m.kind = f->what == DG_WINDOW_CLOSE ? DG_MATCH_CLOSE : DG_MATCH_CARRIED;
		if (!dg_evt_restore(&e->snap, f->snapshot, f->snaplen))
			return; /* cannot happen: the snapshot is our own */
		m.evt = &e->snap;
		m.ref = &f->opener;
		m.nexpired = 0;
		break;
	}
	emit(e, &m);
}

static void on_seq(void *arg, const struct dg_seq_fire *f)
{
	struct dg_engine *e = arg;
	struct dg_match m = *e->cur_match;

	m.kind = DG_MATCH_FINDING;
	m.seq = f;
	if (suppressed(e, e->cur_rule, e->cur_evt, e->cur_evt->ts_ms, &m))
		return;
	emit(e, &m);
}

/* Concentration: the event's records count toward its group's part of the period. */
static void add_share(struct dg_engine *e, size_t i, const struct dg_evt *evt,
                      const struct dg_ref *ref)
{
	const struct dg_rule *r = &e->rules[i];
	struct rule_state *st = &e->st[i];
	size_t len = group_key(e->key, r->threshold.group_by, r->threshold.ngroup_by, evt);
	struct share *x = (struct share *)dg_keyset_find(&st->shares, e->key, len);
	int64_t v = value_of(r->threshold.agg, r->threshold.field, evt);

	if (v <= 0)
		return;
	if (x == NULL) {
		if (st->shares.n >= r->threshold.max_keys && r->threshold.max_keys > 0)
			return; /* counted in the total only: a share too small to matter */
		x = dg_xcalloc(1, sizeof *x);
		x->refs = dg_xcalloc(r->threshold.evidence_max, sizeof *x->refs);
		x->first = x->last = evt->ts_ms;
		x->opener = *ref;
		dg_evt_snapshot(evt, r->shown_fields, &x->snap);
		dg_keyset_insert(&st->shares, &x->k, e->key, len);
	}
	x->sum += v;
	x->events++;
	if (x->nrefs < r->threshold.evidence_max)
		x->refs[x->nrefs++] = *ref;
	if (evt->ts_ms < x->first)
		x->first = evt->ts_ms;
	if (evt->ts_ms > x->last)
		x->last = evt->ts_ms;
	st->share_total += v;
}

/* A report period ends: groups whose part of the period's total is above the rule's share are
 * findings; the period's shares start over. */
static void end_shares(struct dg_engine *e)
{
	for (size_t i = 0; i < e->nrules; i++) {
		const struct dg_rule *r = &e->rules[i];
		struct rule_state *st = &e->st[i];

		if (r->kind != DG_RULE_CONCENTRATION)
			continue;
		for (struct dg_keyed *k = st->shares.oldest;
		     st->share_total >= r->threshold.min_total && k != NULL; k = k->lru_next) {
			struct share *x = (struct share *)k;
			struct dg_window_fire f = {
			    .what = DG_WINDOW_CLOSE,
			    .aggregate = x->sum * 100 / st->share_total,
			    .events = x->events,
			    .first_ms = x->first,
			    .last_ms = x->last,
			    .refs = x->refs,
			    .nrefs = x->nrefs,
			    .key = k->key,
			    .keylen = k->keylen,
			    .opener = x->opener,
			    .part = x->sum,
			    .total = st->share_total,
			};
			struct dg_match m = {.kind = DG_MATCH_FINDING,
			                     .rule = r,
			                     .fire = &f,
			                     .group = k->key,
			                     .grouplen = k->keylen,
			                     .ref = &x->opener};

			if (x->sum * 100 <= r->threshold.limit * st->share_total)
				continue;
			if (!dg_evt_restore(&e->snap, x->snap.data, x->snap.len))
				continue;
			m.evt = &e->snap;
			emit(e, &m);
		}
		dg_keyset_clear(&st->shares, free_share);
		dg_keyset_init(&st->shares);
		st->share_total = 0;
	}
}

/* An event.action as an index into the model's values, or -1. */
static int action_index(const struct dg_evt *evt)
{
	const char *const *values = dg_schema_values(DG_F_EVENT_ACTION);
	const struct dg_str *a = dg_evt_str(evt, DG_F_EVENT_ACTION);

	if (a == NULL)
		return -1;
	for (int i = 0; values[i] != NULL; i++)
		if (a->len == strlen(values[i]) && memcmp(a->p, values[i], a->len) == 0)
			return i;
	return -1;
}

/* What the state of rule i evicted since last looked at goes into the period's counters. */
static void count_evictions(struct dg_engine *e, size_t i)
{
	struct rule_state *st = &e->st[i];
	uint64_t g, r;

	if (st->w != NULL)
		dg_window_evictions(st->w, &g, &r);
	else
		dg_seq_evictions(st->seq, &g, &r);
	e->stats[i].evicted_groups += g - st->evicted_groups;
	e->stats[i].evicted_records += r - st->evicted_records;
	st->evicted_groups = g;
	st->evicted_records = r;
}

static void eval_rule(struct dg_engine *e, size_t i, const struct dg_evt *evt,
                      const struct dg_ref *ref)
{
	const struct dg_rule *r = &e->rules[i];
	struct rule_state *st = &e->st[i];
	struct dg_match m = {.rule = r, .evt = evt, .ref = ref};
	uint32_t mask = 0;
	int64_t values[DG_MAX_STEPS];

	e->stats[i].evaluations++;
	if (r->kind == DG_RULE_SEQUENCE) {
		for (size_t s = 0; s < r->threshold.nsteps; s++)
			if (dg_rules_match_step(r, s, evt)) {
				const struct dg_step *step = &r->threshold.steps[s];

				if (step->agg == DG_AGG_DISTINCT && !dg_evt_has(evt, step->field))
					continue; /* nothing to count distinctly */
				mask |= 1u << s;
				values[s] = value_of(step->agg, step->field, evt);
			}
		if (mask == 0)
			return;
	} else if (!dg_rules_match(r, evt) ||
	           (r->kind == DG_RULE_THRESHOLD && r->threshold.agg == DG_AGG_DISTINCT &&
	            !dg_evt_has(evt, r->threshold.field))) {
		return; /* a distinct count has nothing to count without its field */
	}
	if (exempt(e, r, evt, &m)) {
		e->stats[i].matches++;
		e->stats[i].exempted++;
		return;
	}
	e->stats[i].matches++;
	e->cur_rule = i;
	e->cur_evt = evt;
	e->cur_ref = ref;
	e->cur_match = &m;
	switch (r->kind) {
	case DG_RULE_SINGLE:
		m.kind = DG_MATCH_FINDING;
		if (!suppressed(e, i, evt, evt->ts_ms, &m))
			emit(e, &m);
		break;
	case DG_RULE_THRESHOLD:
		m.grouplen = group_key(e->key, r->threshold.group_by, r->threshold.ngroup_by, evt);
		dg_window_add(st->w, e->key, m.grouplen, evt->ts_ms,
		              value_of(r->threshold.agg, r->threshold.field, evt), ref, evt,
		              r->shown_fields, on_window, e);
		count_evictions(e, i);
		break;
	case DG_RULE_SEQUENCE:
		m.grouplen = group_key(e->key, r->threshold.group_by, r->threshold.ngroup_by, evt);
		m.group = e->key;
		dg_seq_add(st->seq, e->key, m.grouplen, evt->ts_ms, mask, values, ref, on_seq, e);
		count_evictions(e, i);
		break;
	case DG_RULE_CONCENTRATION:
		add_share(e, i, evt, ref);
		break;
	}
	e->cur_match = NULL;
}

/* Forgets old state (and closes bursts no event can join any more) every quarter window of
 * event time. */
static void expire(struct dg_engine *e)
{
	if (e->newest < e->next_expiry)
		return;
	e->next_expiry = INT64_MAX;
	for (size_t i = 0; i < e->nrules; i++) {
		const struct dg_rule *r = &e->rules[i];
		struct rule_state *st = &e->st[i];
		int64_t span =
		    r->kind == DG_RULE_SINGLE ? r->suppress.period_ms : r->threshold.window_ms;

		if (!r->has_suppress && r->kind == DG_RULE_SINGLE)
			continue;
		if (e->newest - st->expired_at < span / 4) {
			if (st->expired_at + span / 4 < e->next_expiry)
				e->next_expiry = st->expired_at + span / 4;
			continue;
		}
		st->expired_at = e->newest;
		if (e->newest + span / 4 < e->next_expiry)
			e->next_expiry = e->newest + span / 4;
		e->cur_rule = i;
		e->cur_match = NULL;
		if (st->w != NULL)
			dg_window_expire(st->w, e->newest, on_window, e);
		if (st->seq != NULL)
			dg_seq_expire(st->seq, e->newest);
		/* Keys past their period are done with, unless repeats wait to be told with the
		 * next finding (the table's bound, SUPPRESS_KEYS, still applies to those). */
		for (struct dg_keyed *k = st->held.oldest, *next; k != NULL; k = next) {
			const struct held *h = (const struct held *)k;

			next = k->lru_next;
			if (h->count == 0 && h->until + e->lateness < e->newest) {
				dg_keyset_remove(&st->held, k);
				free(k);
			}
		}
	}
}

size_t dg_engine_eval(struct dg_engine *e, const struct dg_evt *evt, const struct dg_ref *ref,
                      dg_engine_cb *cb, void *arg)
{
	int action = action_index(evt);
	bool sample = e->now_ns != NULL && e->events++ % SAMPLE_EVERY == 0;
	const uint32_t *cand =
	    e->candidates[action >= 0 && action < NACTIONS - 1 ? action : NACTIONS - 1];
	size_t ncand = e->ncandidates[action >= 0 && action < NACTIONS - 1 ? action : NACTIONS - 1];

	e->cb = cb;
	e->cb_arg = arg;
	e->found = 0;
	if (!e->seen || evt->ts_ms > e->newest) {
		e->newest = evt->ts_ms;
		e->seen = true;
	}
	expire(e);
	for (size_t c = 0; c < ncand; c++) {
		size_t i = cand[c];
		int64_t t0 = 0;

		/* Only rules whose every matching event has the fields this one has. */
		if ((evt->present & e->rules[i].required_fields) != e->rules[i].required_fields)
			continue;
		if (sample)
			t0 = e->now_ns();
		eval_rule(e, i, evt, ref);
		if (sample)
			e->stats[i].cpu_ns += (uint64_t)(e->now_ns() - t0) * SAMPLE_EVERY;
	}
	return e->found;
}

static void each_window(struct dg_engine *e, bool close, dg_engine_cb *cb, void *arg)
{
	e->cb = cb;
	e->cb_arg = arg;
	e->cur_match = NULL;
	for (size_t i = 0; i < e->nrules; i++) {
		if (e->st[i].w == NULL)
			continue;
		e->cur_rule = i;
		if (close)
			dg_window_flush(e->st[i].w, on_window, e);
		else
			dg_window_carry(e->st[i].w, on_window, e);
	}
}

void dg_engine_flush(struct dg_engine *e, dg_engine_cb *cb, void *arg)
{
	each_window(e, true, cb, arg);
	end_shares(e);
}

void dg_engine_carry(struct dg_engine *e, dg_engine_cb *cb, void *arg)
{
	each_window(e, false, cb, arg);
	end_shares(e);
}

void dg_engine_state(const struct dg_engine *e, size_t rule, uint64_t *groups, uint64_t *entries,
                     uint64_t *evicted_groups, uint64_t *evicted_records)
{
	*groups = *entries = *evicted_groups = *evicted_records = 0;
	if (e->st[rule].w != NULL) {
		struct dg_window_stats ws;

		dg_window_stats(e->st[rule].w, &ws);
		*groups = ws.groups;
		*entries = ws.entries;
		*evicted_groups = ws.evicted_groups;
		*evicted_records = ws.evicted_records;
	} else if (e->st[rule].seq != NULL) {
		struct dg_seq_stats ss;

		dg_seq_stats(e->st[rule].seq, &ss);
		*groups = ss.groups;
		*entries = ss.entries;
		*evicted_groups = ss.evicted_groups;
		*evicted_records = ss.evicted_records;
	}
}

size_t dg_engine_held(const struct dg_engine *e)
{
	size_t n = 0;

	for (size_t i = 0; i < e->nrules; i++) {
		uint64_t g, en, eg, er;

		dg_engine_state(e, i, &g, &en, &eg, &er);
		n += en;
	}
	return n;
}

void dg_engine_inputs(const struct dg_engine *e, void (*fn)(void *arg, uint32_t input), void *arg)
{
	for (size_t i = 0; i < e->nrules; i++) {
		if (e->st[i].w != NULL)
			dg_window_inputs(e->st[i].w, fn, arg);
		if (e->st[i].seq != NULL)
			dg_seq_inputs(e->st[i].seq, fn, arg);
		for (const struct dg_keyed *k = e->st[i].shares.oldest; k != NULL;
		     k = k->lru_next) {
			const struct share *x = (const struct share *)k;

			fn(arg, x->opener.input);
			for (size_t j = 0; j < x->nrefs; j++)
				fn(arg, x->refs[j].input);
		}
	}
}

/* Identifies a rule's definition and resolved threshold (a site setting may change it): its
 * state only carries over to the same. */
static void state_key(const struct dg_rule *r, char *buf, size_t len)
{
	const struct dg_threshold *th = &r->threshold;
	int64_t limits = th->limit;

	for (size_t i = 0; i < th->nsteps; i++)
		limits = limits * 31 + th->steps[i].limit;
	snprintf(buf, len, "%s/%lld/%lld", r->digest, (long long)th->window_ms, (long long)limits);
}

static void save_keys(const struct dg_keyset *ks, struct dg_cjson *arr, bool with_until)
{
	for (const struct dg_keyed *k = ks->oldest; k != NULL; k = k->lru_next) {
		struct dg_cjson *x = dg_cjson_push(arr, dg_cjson_array());

		dg_cjson_push(x, dg_cjson_strn(k->key, k->keylen));
		if (with_until) {
			dg_cjson_push(x, dg_cjson_int(((const struct held *)k)->until));
			dg_cjson_push(x, dg_cjson_int((int64_t)((const struct held *)k)->count));
		}
	}
}

static int load_keys(struct dg_keyset *ks, const struct dg_cjson *arr, bool with_until)
{
	for (size_t i = 0; i < dg_cjson_len(arr); i++) {
		const struct dg_cjson *x = dg_cjson_at(arr, i);
		const char *key = dg_cjson_string(dg_cjson_at(x, 0));
		int64_t until = 0, count = 0;
		struct held *h;

		if (key == NULL ||
		    (with_until && (!dg_cjson_intval(dg_cjson_at(x, 1), &until) ||
		                    !dg_cjson_intval(dg_cjson_at(x, 2), &count) || count < 0)))
			return -1;
		h = dg_xcalloc(1, with_until ? sizeof *h : sizeof(struct dg_keyed));
		dg_keyset_insert(ks, &h->k, key, strlen(key));
		if (with_until) {
			h->until = until;
			h->count = (uint64_t)count;
		}
	}
	return 0;
}

/* A share is [key, sum, events, first, last, opener, snapshot as hex, [refs]]. */
static void save_shares(const struct rule_state *st, struct dg_cjson *arr, const uint32_t *remap)
{
	for (const struct dg_keyed *k = st->shares.oldest; k != NULL; k = k->lru_next) {
		const struct share *x = (const struct share *)k;
		struct dg_cjson *o = dg_cjson_push(arr, dg_cjson_array()), *refs;
		char *hex = dg_xcalloc(x->snap.len * 2 + 1, 1);

		dg_cjson_push(o, dg_cjson_strn(k->key, k->keylen));
		dg_cjson_push(o, dg_cjson_int(x->sum));
		dg_cjson_push(o, dg_cjson_int((int64_t)x->events));
		dg_cjson_push(o, dg_cjson_int(x->first));
		dg_cjson_push(o, dg_cjson_int(x->last));
		dg_cjson_push(o, dg_window_ref_save(&x->opener, remap));
		dg_hash_hex((const uint8_t *)x->snap.data, x->snap.len, hex);
		dg_cjson_push(o, dg_cjson_str(hex));
		free(hex);
		refs = dg_cjson_push(o, dg_cjson_array());
		for (size_t i = 0; i < x->nrefs; i++)
			dg_cjson_push(refs, dg_window_ref_save(&x->refs[i], remap));
	}
}

static int load_shares(struct rule_state *st, const struct dg_rule *r, const struct dg_cjson *arr)
{
	for (size_t i = 0; i < dg_cjson_len(arr); i++) {
		const struct dg_cjson *o = dg_cjson_at(arr, i), *refs = dg_cjson_at(o, 7);
		const char *key = dg_cjson_string(dg_cjson_at(o, 0)),
		           *hex = dg_cjson_string(dg_cjson_at(o, 6));
		struct share *x;
		int64_t events;
		size_t hexlen;

		if (key == NULL || hex == NULL || (hexlen = strlen(hex)) % 2 != 0 ||
		    dg_cjson_type(refs) != DG_CJSON_ARRAY)
			return -1;
		x = dg_xcalloc(1, sizeof *x);
		x->refs = dg_xcalloc(r->threshold.evidence_max, sizeof *x->refs);
		dg_keyset_insert(&st->shares, &x->k, key, strlen(key));
		if (!dg_cjson_intval(dg_cjson_at(o, 1), &x->sum) ||
		    !dg_cjson_intval(dg_cjson_at(o, 2), &events) || events < 0 ||
		    !dg_cjson_intval(dg_cjson_at(o, 3), &x->first) ||
		    !dg_cjson_intval(dg_cjson_at(o, 4), &x->last) ||
		    !dg_window_ref_load(dg_cjson_at(o, 5), &x->opener))
			return -1;
		x->events = (uint64_t)events;
		dg_buf_reserve(&x->snap, hexlen / 2 + 1);
		if (dg_hash_unhex(hex, (uint8_t *)x->snap.data, hexlen / 2) != 0)
			return -1;
		x->snap.len = hexlen / 2;
		for (size_t k = 0; k < dg_cjson_len(refs) && x->nrefs < r->threshold.evidence_max;
		     k++)
			if (!dg_window_ref_load(dg_cjson_at(refs, k), &x->refs[x->nrefs++]))
				return -1;
		st->share_total += x->sum;
	}
	return 0;
}

struct dg_cjson *dg_engine_save(const struct dg_engine *e, const uint32_t *remap)
{
	struct dg_cjson *o = dg_cjson_object();
	char key[128];

	for (size_t i = 0; i < e->nrules; i++) {
		const struct dg_rule *r = &e->rules[i];
		const struct rule_state *st = &e->st[i];
		struct dg_cjson *w;

		if (st->w == NULL && st->seq == NULL && st->held.n == 0 && st->shares.n == 0)
			continue;
		w = dg_cjson_set(o, r->id, dg_cjson_object());
		state_key(r, key, sizeof key);
		dg_cjson_set(w, "threshold", dg_cjson_str(key));
		if (st->w != NULL)
			dg_window_save(st->w, dg_cjson_set(w, "groups", dg_cjson_array()), remap);
		if (st->seq != NULL)
			dg_seq_save(st->seq, dg_cjson_set(w, "groups", dg_cjson_array()), remap);
		save_keys(&st->held, dg_cjson_set(w, "held", dg_cjson_array()), true);
		save_keys(&st->quiet, dg_cjson_set(w, "quiet", dg_cjson_array()), false);
		if (r->kind == DG_RULE_CONCENTRATION) {
			save_shares(st, dg_cjson_set(w, "shares", dg_cjson_array()), remap);
			dg_cjson_set(w, "share_total", dg_cjson_int(st->share_total));
		}
	}
	return o;
}

int dg_engine_load(struct dg_engine *e, const struct dg_cjson *state)
{
	char key[128];

	for (size_t i = 0; i < e->nrules; i++) {
		const struct dg_rule *r = &e->rules[i];
		struct rule_state *st = &e->st[i];
		const struct dg_cjson *w = dg_cjson_get(state, r->id);
		const char *saved = dg_cjson_string(dg_cjson_get(w, "threshold"));
		const struct dg_cjson *groups = dg_cjson_get(w, "groups");

		if (w == NULL)
			continue;
		state_key(r, key, sizeof key);
		if (saved == NULL || strcmp(saved, key) != 0)
			continue; /* redefined: its state starts empty */
		if (groups != NULL && dg_cjson_type(groups) != DG_CJSON_ARRAY)
			return -1;
		if (groups != NULL && st->w != NULL && dg_window_load(st->w, groups) != 0)
			return -1;
		if (groups != NULL && st->seq != NULL && dg_seq_load(st->seq, groups) != 0)
			return -1;
		if (load_keys(&st->held, dg_cjson_get(w, "held"), true) != 0 ||
		    load_keys(&st->quiet, dg_cjson_get(w, "quiet"), false) != 0 ||
		    (r->kind == DG_RULE_CONCENTRATION &&
		     (load_shares(st, r, dg_cjson_get(w, "shares")) != 0 ||
		      !dg_cjson_intval(dg_cjson_get(w, "share_total"), &st->share_total))))
			return -1;
	}
	return 0;
}
