#include "dgaudit/window.h"

#include <stdlib.h>
#include <string.h>

#include "dgaudit/hash.h"
#include "dgaudit/keyset.h"
#include "dgaudit/xmalloc.h"

/* An event of a count or sum window; for distinct counts, a value's last sighting (v is the
 * value's hash, n how often it was seen while in the window). */
struct entry {
	int64_t t;
	int64_t v;
	uint32_t n;
	bool stale; /* distinct: superseded by a later sighting of its value */
	bool used;  /* counted by a burst: it cannot open another */
	struct dg_ref ref;
};

struct burst {
	int64_t first, last, agg;
	uint64_t events;
	struct dg_ref *refs; /* the first evidence_max, in the order they joined */
	size_t nrefs;
	struct dg_ref opener;
	struct dg_buf snap;
	struct dg_u64map seen; /* distinct: the values counted */
};

struct group {
	struct dg_keyed k; /* first: the key, and its place in the table */
	struct entry *e;   /* in time order */
	size_t n, cap;
	size_t head; /* e[head..n) lie in the window ending at max_t */
	int64_t max_t;
	int64_t agg;          /* the window's aggregate, burst events included */
	int64_t free;         /* the same over events no burst counted */
	uint64_t events;      /* distinct: sightings in the window */
	struct dg_u64map pos; /* distinct: value -> position of its live entry */
	struct burst *b;
};

struct dg_window {
	struct dg_threshold th;
	int64_t lateness;
	struct dg_keyset groups;
	uint64_t evicted_groups, evicted_records;
};

static uint64_t vkey(int64_t v)
{
	return v ? (uint64_t)v : 1;
}

struct dg_window *dg_window_new(const struct dg_threshold *th, int64_t lateness_ms)
{
	struct dg_window *w = dg_xcalloc(1, sizeof *w);

	w->th = *th;
	if (w->th.max_keys == 0)
		w->th.max_keys = SIZE_MAX;
	w->lateness = lateness_ms;
	dg_keyset_init(&w->groups);
	return w;
}

static void burst_free(struct burst *b)
{
	if (b == NULL)
		return;
	free(b->refs);
	dg_buf_release(&b->snap);
	dg_u64map_clear(&b->seen);
	free(b);
}

static void group_free(struct group *g)
{
	free(g->e);
	dg_u64map_clear(&g->pos);
	burst_free(g->b);
	free(g);
}

static void release(struct dg_keyed *k)
{
	group_free((struct group *)k);
}

void dg_window_free(struct dg_window *w)
{
	if (w == NULL)
		return;
	dg_keyset_clear(&w->groups, release);
	free(w);
}

/* Every group, least recently active first; the current one may be removed. */
#define EACH_GROUP(w, g, next)                                                                     \
	for (struct group *g = (struct group *)(w)->groups.oldest, *next;                          \
	     g != NULL && ((next = (struct group *)g->k.lru_next), 1); g = next)

static bool distinct(const struct dg_window *w)
{
	return w->th.agg == DG_AGG_DISTINCT;
}

/* What an entry adds to the aggregate. */
static int64_t contrib(const struct dg_window *w, const struct entry *e)
{
	return distinct(w) ? 1 : e->v;
}

static void fire_burst(struct group *g, enum dg_window_event what, bool evicted, dg_window_cb *cb,
                       void *arg)
{
	struct dg_window_fire f = {
	    .what = what,
	    .aggregate = g->b->agg,
	    .events = g->b->events,
	    .first_ms = g->b->first,
	    .last_ms = g->b->last,
	    .refs = g->b->refs,
	    .nrefs = g->b->nrefs,
	    .key = g->k.key,
	    .keylen = g->k.keylen,
	    .opener = g->b->opener,
	    .snapshot = g->b->snap.data,
	    .snaplen = g->b->snap.len,
	    .evicted = evicted,
	};

	cb(arg, &f);
}

static void close_burst(struct group *g, bool evicted, dg_window_cb *cb, void *arg)
{
	fire_burst(g, DG_WINDOW_CLOSE, evicted, cb, arg);
	burst_free(g->b);
	g->b = NULL;
}

static void unlink_group(struct dg_window *w, struct group *g)
{
	dg_keyset_remove(&w->groups, &g->k);
	group_free(g);
}

static struct group *lookup(struct dg_window *w, const char *key, size_t keylen, dg_window_cb *cb,
                            void *arg)
{
	struct group *g = (struct group *)dg_keyset_find(&w->groups, key, keylen);

	if (g != NULL) {
		dg_keyset_touch(&w->groups, &g->k);
		return g;
	}
	/* Full: the group active least recently goes, its burst closed, its records counted. */
	while (w->groups.n >= w->th.max_keys && w->groups.oldest != NULL) {
		struct group *old = (struct group *)w->groups.oldest;

		w->evicted_groups++;
		for (size_t i = old->head; i < old->n; i++)
			if (!old->e[i].stale && !old->e[i].used)
				w->evicted_records += old->e[i].n;
		if (old->b != NULL && cb != NULL)
			close_burst(old, true, cb, arg);
		unlink_group(w, old);
	}
	g = dg_xcalloc(1, sizeof *g);
	dg_keyset_insert(&w->groups, &g->k, key, keylen);
	return g;
}

/* Recomputes head and the aggregates of the window ending at max_t. */
static void recount(struct dg_window *w, struct group *g)
{
	g->agg = g->free = 0;
	g->events = 0;
	g->head = g->n;
	while (g->head > 0 && g->e[g->head - 1].t > g->max_t - w->th.window_ms)
		g->head--;
	for (size_t i = g->head; i < g->n; i++) {
		if (g->e[i].stale)
			continue;
		g->agg += contrib(w, &g->e[i]);
		g->free += g->e[i].used ? 0 : contrib(w, &g->e[i]);
		g->events += g->e[i].n;
	}
}

static void remove_entries(struct group *g, size_t lo, size_t hi)
{
	memmove(g->e + lo, g->e + hi, (g->n - hi) * sizeof *g->e);
	g->n -= hi - lo;
}

/* The burst counts entry e, which no other burst may count. */
static void absorb(struct dg_window *w, struct group *g, struct entry *e)
{
	struct burst *b = g->b;

	if (b->nrefs < w->th.evidence_max)
		b->refs[b->nrefs++] = e->ref;
	b->events += e->n;
	if (distinct(w))
		b->agg += dg_u64map_put(&b->seen, vkey(e->v), 0);
	else
		b->agg += e->v;
	if (e->t < b->first)
		b->first = e->t;
	if (e->t > b->last)
		b->last = e->t;
	if (!e->used && !e->stale && e->t > g->max_t - w->th.window_ms)
		g->free -= contrib(w, e);
	e->used = true;
}

/* The unused entries of e[lo..hi) reached the limit: a burst opens with them. */
static void open_burst(struct dg_window *w, struct group *g, size_t lo, size_t hi,
                       const struct entry *opener, const struct dg_evt *evt, uint64_t shown,
                       dg_window_cb *cb, void *arg)
{
	struct burst *b = dg_xcalloc(1, sizeof *b);

	b->refs = dg_xcalloc(w->th.evidence_max ? w->th.evidence_max : 1, sizeof *b->refs);
	b->opener = opener->ref;
	b->first = INT64_MAX;
	b->last = INT64_MIN;
	g->b = b;
	for (size_t i = lo; i < hi; i++)
		if (!g->e[i].used && !g->e[i].stale)
			absorb(w, g, &g->e[i]);
	dg_evt_snapshot(evt, shown, &b->snap);
	fire_burst(g, DG_WINDOW_OPEN, false, cb, arg);
}

/* The event at e[i] has just been counted in the window ending at max_t: it extends the open
 * burst if it comes less than a window after the burst's last event and its window still
 * holds the limit; otherwise the burst is over. Unused events reaching the limit open one. */
static void decide(struct dg_window *w, struct group *g, size_t i, const struct dg_evt *evt,
                   uint64_t shown, dg_window_cb *cb, void *arg)
{
	if (g->b != NULL) {
		if (g->e[i].t < g->b->last + w->th.window_ms && g->agg >= w->th.limit) {
			absorb(w, g, &g->e[i]);
			return;
		}
		close_burst(g, false, cb, arg);
	}
	if (g->free >= w->th.limit)
		open_burst(w, g, g->head, g->n, &g->e[i], evt, shown, cb, arg);
}

static void grow(struct group *g)
{
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 8;
		g->e = dg_xreallocarray(g->e, g->cap, sizeof *g->e);
	}
}

/* Inserts e in time order, at or after from; returns its position. */
static size_t insert(struct group *g, size_t from, const struct entry *e)
{
	size_t pos;

	grow(g);
	for (pos = g->n; pos > from && g->e[pos - 1].t > e->t; pos--)
		;
	memmove(g->e + pos + 1, g->e + pos, (g->n - pos) * sizeof *g->e);
	g->e[pos] = *e;
	g->n++;
	return pos;
}

/* Count and sum: after an event arrived out of order, the first window among those ending at
 * an entry in e[from..] no later than until whose unused events reach the limit. */
static bool scan(struct dg_window *w, struct group *g, size_t from, int64_t until, size_t *lo,
                 size_t *hi)
{
	size_t a = 0;
	int64_t sum = 0;

	for (size_t j = 0; j < g->n && g->e[j].t <= until; j++) {
		sum += g->e[j].used ? 0 : g->e[j].v;
		while (g->e[a].t <= g->e[j].t - w->th.window_ms)
			sum -= g->e[a].used ? 0 : g->e[a].v, a++;
		if (j >= from && sum >= w->th.limit) {
			*lo = a;
			*hi = j + 1;
			return true;
		}
	}
	return false;
}

static void add_count_sum(struct dg_window *w, struct group *g, const struct entry *e,
                          const struct dg_evt *evt, uint64_t shown, dg_window_cb *cb, void *arg)
{
	size_t pos, lo, hi;

	if (g->n == 0 || e->t >= g->max_t) {
		/* In order: slide the window forward, then extend, close or open a burst. */
		grow(g);
		g->e[g->n++] = *e;
		g->max_t = e->t;
		g->agg += e->v;
		g->free += e->v;
		while (g->e[g->head].t <= g->max_t - w->th.window_ms) {
			g->agg -= g->e[g->head].v;
			g->free -= g->e[g->head].used ? 0 : g->e[g->head].v;
			g->head++;
		}
		decide(w, g, g->n - 1, evt, shown, cb, arg);
		return;
	}
	/* Out of order: within an open burst's span it joins it; otherwise it is placed in time
	 * and every window containing it is looked at. */
	pos = insert(g, 0, e);
	if (g->b != NULL && e->t > g->b->first - w->th.window_ms &&
	    e->t < g->b->last + w->th.window_ms) {
		recount(w, g);
		absorb(w, g, &g->e[pos]);
		return;
	}
	if (g->b != NULL)
		close_burst(g, false, cb, arg);
	recount(w, g);
	if (scan(w, g, pos, e->t + w->th.window_ms - 1, &lo, &hi))
		open_burst(w, g, lo, hi, &g->e[pos], evt, shown, cb, arg);
}

/* Distinct: drops from the front what is stale or no later than bound; compacts once most of
 * the array is dead, so memory follows the distinct values, not the sightings. */
static void slide_distinct(struct dg_window *w, struct group *g, int64_t bound)
{
	while (g->head < g->n && (g->e[g->head].stale || g->e[g->head].t <= bound)) {
		const struct entry *e = &g->e[g->head++];

		if (e->stale)
			continue;
		dg_u64map_del(&g->pos, vkey(e->v));
		g->agg--;
		g->free -= e->used ? 0 : 1;
		g->events -= e->n;
	}
	if (g->head > 16 && g->head * 2 > g->n) {
		size_t j = 0;

		for (size_t i = g->head; i < g->n; i++) {
			if (g->e[i].stale)
				continue;
			g->e[j] = g->e[i];
			dg_u64map_put(&g->pos, vkey(g->e[j].v), j);
			j++;
		}
		g->n = j;
		g->head = 0;
	}
	(void)w;
}

static void add_distinct(struct dg_window *w, struct group *g, const struct entry *e,
                         const struct dg_evt *evt, uint64_t shown, dg_window_cb *cb, void *arg)
{
	struct entry x = *e;
	size_t at, p;

	if (g->n > g->head && e->t <= g->max_t - w->th.window_ms) {
		/* A window or more older than the newest (inputs out of time order): a distinct
		 * count follows time forward, so the group starts over at this event's time. */
		if (g->b != NULL)
			close_burst(g, false, cb, arg);
		g->n = g->head = 0;
		g->agg = g->free = 0;
		g->events = 0;
		dg_u64map_clear(&g->pos);
	}
	bool burst_value = false;

	if (dg_u64map_get(&g->pos, vkey(e->v), &at)) {
		struct entry *cur = &g->e[at];

		if (e->t <= cur->t) {
			/* A late repeat changes nothing but the count. */
			cur->n++;
			g->events++;
			if (g->b != NULL && cur->used)
				g->b->events++;
			return;
		}
		/* The latest sighting decides when the value falls out: it moves. */
		cur->stale = true;
		x.n = cur->n + 1;
		burst_value = cur->used && g->b != NULL;
		g->agg--;
		g->free -= cur->used ? 0 : 1;
		g->events -= cur->n;
	}
	p = insert(g, g->head, &x);
	for (size_t i = p + 1; i < g->n; i++)
		if (!g->e[i].stale)
			dg_u64map_put(&g->pos, vkey(g->e[i].v), i);
	dg_u64map_put(&g->pos, vkey(x.v), p);
	g->agg++;
	g->free++;
	g->events += x.n;
	if (x.t > g->max_t || g->agg == 1)
		g->max_t = x.t;
	slide_distinct(w, g, g->max_t - w->th.window_ms);
	if (!dg_u64map_get(&g->pos, vkey(x.v), &p))
		return; /* it fell out at once */
	if (burst_value) {
		/* The open burst counted this value: a sighting that extends it adds one event; one
		 * that does not ends it, and the value is free to count anew. */
		if (x.t < g->b->last + w->th.window_ms && g->agg >= w->th.limit) {
			g->e[p].used = true;
			g->free--;
			g->b->events++;
			if (x.t > g->b->last)
				g->b->last = x.t;
			return;
		}
		close_burst(g, false, cb, arg);
	}
	decide(w, g, p, evt, shown, cb, arg);
}

void dg_window_add(struct dg_window *w, const char *key, size_t keylen, int64_t t_ms, int64_t value,
                   const struct dg_ref *ref, const struct dg_evt *evt, uint64_t shown,
                   dg_window_cb *cb, void *arg)
{
	struct entry e = {t_ms, w->th.agg == DG_AGG_COUNT ? 1 : value, 1, false, false, *ref};
	struct group *g;

	if (w->th.agg == DG_AGG_SUM && value <= 0)
		return; /* adds nothing: do not hold it */
	g = lookup(w, key, keylen, cb, arg);
	/* A window or more before an open burst's first event (inputs out of time order), the
	 * event belongs to another burst. */
	if (g->b != NULL && t_ms <= g->b->first - w->th.window_ms)
		close_burst(g, false, cb, arg);
	if (distinct(w))
		add_distinct(w, g, &e, evt, shown, cb, arg);
	else
		add_count_sum(w, g, &e, evt, shown, cb, arg);
}

void dg_window_expire(struct dg_window *w, int64_t now_ms, dg_window_cb *cb, void *arg)
{
	int64_t cutoff = now_ms - w->th.window_ms - w->lateness;

	EACH_GROUP(w, g, next)
	{
		size_t drop = 0;

		/* No event can extend it now: a later one would come a window after its last. */
		if (g->b != NULL && g->b->last <= cutoff)
			close_burst(g, false, cb, arg);
		if (distinct(w)) {
			slide_distinct(w, g, cutoff);
			if (g->agg == 0 && g->b == NULL)
				unlink_group(w, g);
			continue;
		}
		while (drop < g->n && g->e[drop].t <= cutoff)
			drop++;
		if (drop == g->n && g->b == NULL) {
			unlink_group(w, g);
			continue;
		}
		if (drop == 0)
			continue;
		remove_entries(g, 0, drop);
		recount(w, g);
	}
}

static void each_burst(struct dg_window *w, bool close, dg_window_cb *cb, void *arg)
{
	EACH_GROUP(w, g, next)
	{
		if (g->b == NULL)
			continue;
		if (close)
			close_burst(g, false, cb, arg);
		else
			fire_burst(g, DG_WINDOW_CARRIED, false, cb, arg);
	}
}

void dg_window_carry(struct dg_window *w, dg_window_cb *cb, void *arg)
{
	each_burst(w, false, cb, arg);
}

void dg_window_flush(struct dg_window *w, dg_window_cb *cb, void *arg)
{
	each_burst(w, true, cb, arg);
}

void dg_window_evictions(const struct dg_window *w, uint64_t *groups, uint64_t *records)
{
	*groups = w->evicted_groups;
	*records = w->evicted_records;
}

void dg_window_stats(const struct dg_window *w, struct dg_window_stats *st)
{
	memset(st, 0, sizeof *st);
	st->groups = w->groups.n;
	st->evicted_groups = w->evicted_groups;
	st->evicted_records = w->evicted_records;
	EACH_GROUP(w, g, next)
	{
		for (size_t i = g->head; i < g->n; i++)
			st->entries += !g->e[i].stale;
		st->open_bursts += g->b != NULL;
	}
}

void dg_window_inputs(const struct dg_window *w, void (*fn)(void *arg, uint32_t input), void *arg)
{
	EACH_GROUP(w, g, next)
	{
		for (size_t i = g->head; i < g->n; i++)
			if (!g->e[i].stale)
				fn(arg, g->e[i].ref.input);
		for (size_t i = 0; g->b != NULL && i < g->b->nrefs; i++)
			fn(arg, g->b->refs[i].input);
	}
}

/* ---- checkpoint ---------------------------------------------------------------------------- */

struct dg_cjson *dg_window_ref_save(const struct dg_ref *r, const uint32_t *remap)
{
	struct dg_cjson *x = dg_cjson_array();

	dg_cjson_push(x, dg_cjson_int((r->input == DG_REF_SELF ? DG_REF_SELF : remap[r->input])));
	dg_cjson_push(x, dg_cjson_int((int64_t)r->line));
	dg_cjson_push(x, dg_cjson_int((int64_t)r->offset));
	return x;
}

bool dg_window_ref_load(const struct dg_cjson *x, struct dg_ref *r)
{
	int64_t f[3];

	for (size_t j = 0; j < 3; j++)
		if (!dg_cjson_intval(dg_cjson_at(x, j), &f[j]) || f[j] < 0)
			return false;
	*r = (struct dg_ref){(uint32_t)f[0], (uint64_t)f[1], (uint64_t)f[2]};
	return true;
}

/* A group is [key, newest time, [[time, value, sightings, used, input, line, offset], ...],
 * burst],
 * a burst [first, last, aggregate, events, [refs], snapshot as hex, opener, [distinct values]]
 * or null. */
void dg_window_save(const struct dg_window *w, struct dg_cjson *arr, const uint32_t *remap)
{
	/* Least recently active first, so loading restores the eviction order. */
	EACH_GROUP(w, g, next)
	{
		struct dg_cjson *o = dg_cjson_push(arr, dg_cjson_array()), *es;

		dg_cjson_push(o, dg_cjson_strn(g->k.key, g->k.keylen));
		dg_cjson_push(o, dg_cjson_int(g->max_t));
		es = dg_cjson_push(o, dg_cjson_array());
		for (size_t i = distinct(w) ? g->head : 0; i < g->n; i++) {
			const struct entry *e = &g->e[i];
			struct dg_cjson *x, *r;

			if (e->stale)
				continue;
			x = dg_cjson_push(es, dg_cjson_array());
			r = dg_window_ref_save(&e->ref, remap);

			dg_cjson_push(x, dg_cjson_int(e->t));
			dg_cjson_push(x, dg_cjson_int(e->v));
			dg_cjson_push(x, dg_cjson_int(e->n));
			dg_cjson_push(x, dg_cjson_bool(e->used));
			for (size_t k = 0; k < 3; k++)
				dg_cjson_push(x, dg_cjson_clone(dg_cjson_at(r, k)));
			dg_cjson_free(r);
		}
		if (g->b == NULL) {
			dg_cjson_push(o, dg_cjson_null());
		} else {
			struct dg_cjson *b = dg_cjson_push(o, dg_cjson_array()), *refs, *seen;
			char *hex = dg_xcalloc(g->b->snap.len * 2 + 1, 1);

			dg_cjson_push(b, dg_cjson_int(g->b->first));
			dg_cjson_push(b, dg_cjson_int(g->b->last));
			dg_cjson_push(b, dg_cjson_int(g->b->agg));
			dg_cjson_push(b, dg_cjson_int((int64_t)g->b->events));
			refs = dg_cjson_push(b, dg_cjson_array());
			for (size_t i = 0; i < g->b->nrefs; i++)
				dg_cjson_push(refs, dg_window_ref_save(&g->b->refs[i], remap));
			dg_hash_hex((const uint8_t *)g->b->snap.data, g->b->snap.len, hex);
			dg_cjson_push(b, dg_cjson_str(hex));
			free(hex);
			dg_cjson_push(b, dg_window_ref_save(&g->b->opener, remap));
			seen = dg_cjson_push(b, dg_cjson_array());
			for (size_t i = 0; i < g->b->seen.cap; i++)
				if (g->b->seen.keys[i] != 0)
					dg_cjson_push(seen,
					              dg_cjson_int((int64_t)g->b->seen.keys[i]));
		}
	}
}

static int load_burst(struct dg_window *w, struct group *g, const struct dg_cjson *b)
{
	struct burst *x = dg_xcalloc(1, sizeof *x);
	const struct dg_cjson *refs = dg_cjson_at(b, 4), *seen = dg_cjson_at(b, 7);
	const char *hex = dg_cjson_string(dg_cjson_at(b, 5));
	int64_t ev;
	size_t hexlen;

	g->b = x;
	x->refs = dg_xcalloc(w->th.evidence_max ? w->th.evidence_max : 1, sizeof *x->refs);
	if (!dg_cjson_intval(dg_cjson_at(b, 0), &x->first) ||
	    !dg_cjson_intval(dg_cjson_at(b, 1), &x->last) ||
	    !dg_cjson_intval(dg_cjson_at(b, 2), &x->agg) ||
	    !dg_cjson_intval(dg_cjson_at(b, 3), &ev) || ev < 0 || hex == NULL ||
	    dg_cjson_type(refs) != DG_CJSON_ARRAY || dg_cjson_type(seen) != DG_CJSON_ARRAY ||
	    (hexlen = strlen(hex)) % 2 != 0 || !dg_window_ref_load(dg_cjson_at(b, 6), &x->opener))
		return -1;
	x->events = (uint64_t)ev;
	for (size_t i = 0; i < dg_cjson_len(refs) && x->nrefs < w->th.evidence_max; i++)
		if (!dg_window_ref_load(dg_cjson_at(refs, i), &x->refs[x->nrefs++]))
			return -1;
	dg_buf_reserve(&x->snap, hexlen / 2 + 1);
	if (dg_hash_unhex(hex, (uint8_t *)x->snap.data, hexlen / 2) != 0)
		return -1;
	x->snap.len = hexlen / 2;
	for (size_t i = 0; i < dg_cjson_len(seen); i++) {
		int64_t v;

		if (!dg_cjson_intval(dg_cjson_at(seen, i), &v) || v == 0)
			return -1;
		dg_u64map_put(&x->seen, (uint64_t)v, 0);
	}
	return 0;
}

int dg_window_load(struct dg_window *w, const struct dg_cjson *arr)
{
	for (size_t k = 0; k < dg_cjson_len(arr); k++) {
		const struct dg_cjson *o = dg_cjson_at(arr, k), *es = dg_cjson_at(o, 2),
		                      *b = dg_cjson_at(o, 3);
		const char *key = dg_cjson_string(dg_cjson_at(o, 0));
		struct group *g;
		int64_t max_t;

		if (key == NULL || !dg_cjson_intval(dg_cjson_at(o, 1), &max_t) ||
		    dg_cjson_type(es) != DG_CJSON_ARRAY || b == NULL)
			return -1;
		g = lookup(w, key, strlen(key), NULL, NULL);
		g->max_t = max_t;
		for (size_t i = 0; i < dg_cjson_len(es); i++) {
			const struct dg_cjson *x = dg_cjson_at(es, i);
			int64_t f[3];
			struct entry e;
			struct dg_cjson *r = dg_cjson_array();
			bool ok = true;

			for (size_t j = 0; j < 3; j++)
				ok &= dg_cjson_intval(dg_cjson_at(x, j), &f[j]);
			ok &= dg_cjson_boolval(dg_cjson_at(x, 3), &e.used);
			for (size_t j = 4; j < 7; j++)
				dg_cjson_push(r, dg_cjson_clone(dg_cjson_at(x, j)));
			ok = ok && f[2] > 0 && f[2] <= UINT32_MAX &&
			     dg_window_ref_load(r, &e.ref) &&
			     (i == 0 || f[0] >= g->e[g->n - 1].t); /* saved in time order */
			dg_cjson_free(r);
			if (!ok)
				return -1;
			e.t = f[0];
			e.v = f[1];
			e.n = (uint32_t)f[2];
			e.stale = false;
			if (distinct(w) && !dg_u64map_put(&g->pos, vkey(e.v), g->n))
				return -1; /* one entry per value */
			grow(g);
			g->e[g->n++] = e;
		}
		recount(w, g);
		if (dg_cjson_type(b) == DG_CJSON_ARRAY && load_burst(w, g, b) != 0)
			return -1;
	}
	return 0;
}
