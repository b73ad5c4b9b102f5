#include "dgaudit/window.h"

#include <stdlib.h>
#include <string.h>

#include "dgaudit/xmalloc.h"

struct entry {
	int64_t t;
	int64_t v; /* addend, or value hash for distinct counts */
	struct dg_ref ref;
};

/* Occurrences of each distinct value hash; linear probing with backward-shift deletion. */
struct dmap {
	uint64_t *keys; /* 0 = empty; value hashes are never 0 (see dkey) */
	uint32_t *counts;
	size_t cap, used;
};

struct group {
	struct group *next;
	uint64_t hash;
	char *key;
	size_t keylen;
	struct entry *e; /* sorted by time */
	size_t n, cap;
	size_t head; /* e[head..n) lie in the window ending at max_t */
	int64_t max_t;
	int64_t agg; /* count or sum over e[head..n) */
	struct dmap dm;
};

struct dg_window {
	struct dg_threshold th;
	int64_t lateness;
	bool sequence;
	struct group **buckets;
	size_t nbuckets, ngroups;
	struct dmap scratch;     /* distinct values of a window being rescanned */
	struct dg_ref *evidence; /* th.evidence_max refs handed out by a fire */
};

static uint64_t dkey(int64_t v)
{
	return v ? (uint64_t)v : 1;
}

static void dmap_grow(struct dmap *m);

static size_t dmap_find(const struct dmap *m, uint64_t k)
{
	size_t i = k & (m->cap - 1);

	while (m->keys[i] != 0 && m->keys[i] != k)
		i = (i + 1) & (m->cap - 1);
	return i;
}

/* Adds one occurrence; true if the value is new. */
static bool dmap_inc(struct dmap *m, uint64_t k)
{
	size_t i;

	if ((m->used + 1) * 2 > m->cap)
		dmap_grow(m);
	i = dmap_find(m, k);
	if (m->keys[i] != 0) {
		m->counts[i]++;
		return false;
	}
	m->keys[i] = k;
	m->counts[i] = 1;
	m->used++;
	return true;
}

/* Removes one occurrence; true if it was the last. */
static bool dmap_dec(struct dmap *m, uint64_t k)
{
	size_t i, j;

	if (m->cap == 0)
		return false;
	i = dmap_find(m, k);
	if (m->keys[i] == 0 || --m->counts[i] > 0)
		return false;
	/* Backward-shift deletion keeps probe chains intact without tombstones. */
	m->keys[i] = 0;
	m->used--;
	for (j = (i + 1) & (m->cap - 1); m->keys[j] != 0; j = (j + 1) & (m->cap - 1)) {
		size_t home = m->keys[j] & (m->cap - 1);

		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			m->keys[i] = m->keys[j];
			m->counts[i] = m->counts[j];
			m->keys[j] = 0;
			i = j;
		}
	}
	return true;
}

static void dmap_grow(struct dmap *m)
{
	struct dmap bigger = {0};

	bigger.cap = m->cap ? m->cap * 2 : 16;
	bigger.keys = dg_xcalloc(bigger.cap, sizeof *bigger.keys);
	bigger.counts = dg_xcalloc(bigger.cap, sizeof *bigger.counts);
	for (size_t i = 0; i < m->cap; i++) {
		if (m->keys[i] != 0) {
			size_t j = dmap_find(&bigger, m->keys[i]);

			bigger.keys[j] = m->keys[i];
			bigger.counts[j] = m->counts[i];
			bigger.used++;
		}
	}
	free(m->keys);
	free(m->counts);
	*m = bigger;
}

static void dmap_clear(struct dmap *m)
{
	if (m->cap > 0) {
		memset(m->keys, 0, m->cap * sizeof *m->keys);
		m->used = 0;
	}
}

static void dmap_free(struct dmap *m)
{
	free(m->keys);
	free(m->counts);
}

struct dg_window *dg_window_new(const struct dg_threshold *th, int64_t lateness_ms)
{
	struct dg_window *w = dg_xcalloc(1, sizeof *w);

	w->th = *th;
	w->lateness = lateness_ms;
	w->sequence = th->then >= 0;
	w->nbuckets = 64;
	w->buckets = dg_xcalloc(w->nbuckets, sizeof *w->buckets);
	w->evidence = dg_xcalloc(th->evidence_max, sizeof *w->evidence);
	return w;
}

static void group_free(struct group *g)
{
	free(g->key);
	free(g->e);
	dmap_free(&g->dm);
	free(g);
}

void dg_window_free(struct dg_window *w)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < w->nbuckets; i++) {
		struct group *g = w->buckets[i], *next;

		for (; g != NULL; g = next) {
			next = g->next;
			group_free(g);
		}
	}
	free(w->buckets);
	dmap_free(&w->scratch);
	free(w->evidence);
	free(w);
}

static uint64_t key_hash(const char *p, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	return h;
}

static struct group *lookup(struct dg_window *w, const char *key, size_t keylen, bool create)
{
	uint64_t h = key_hash(key, keylen);
	struct group **slot = &w->buckets[h & (w->nbuckets - 1)], *g;

	for (g = *slot; g != NULL; g = g->next)
		if (g->hash == h && g->keylen == keylen && memcmp(g->key, key, keylen) == 0)
			return g;
	if (!create)
		return NULL;
	if (w->ngroups >= w->nbuckets) {
		size_t n = w->nbuckets * 2;
		struct group **b = dg_xcalloc(n, sizeof *b);

		for (size_t i = 0; i < w->nbuckets; i++) {
			struct group *next;

			for (g = w->buckets[i]; g != NULL; g = next) {
				next = g->next;
				g->next = b[g->hash & (n - 1)];
				b[g->hash & (n - 1)] = g;
			}
		}
		free(w->buckets);
		w->buckets = b;
		w->nbuckets = n;
		slot = &w->buckets[h & (w->nbuckets - 1)];
	}
	g = dg_xcalloc(1, sizeof *g);
	g->hash = h;
	g->key = dg_xstrndup(key, keylen);
	g->keylen = keylen;
	g->next = *slot;
	*slot = g;
	w->ngroups++;
	return g;
}

static void unlink_group(struct dg_window *w, struct group *g)
{
	struct group **p = &w->buckets[g->hash & (w->nbuckets - 1)];

	while (*p != g)
		p = &(*p)->next;
	*p = g->next;
	w->ngroups--;
	group_free(g);
}

static void account(struct dg_window *w, struct group *g, const struct entry *e, bool in)
{
	if (w->th.agg == DG_AGG_DISTINCT) {
		if (in)
			g->agg += dmap_inc(&g->dm, dkey(e->v));
		else
			g->agg -= dmap_dec(&g->dm, dkey(e->v));
	} else {
		g->agg += in ? e->v : -e->v;
	}
}

/* Recomputes head and the aggregate of the window ending at max_t from scratch. */
static void recount(struct dg_window *w, struct group *g)
{
	g->agg = 0;
	dmap_clear(&g->dm);
	g->head = g->n;
	while (g->head > 0 && g->e[g->head - 1].t > g->max_t - w->th.window_ms)
		g->head--;
	for (size_t i = g->head; i < g->n; i++)
		account(w, g, &g->e[i], true);
}

/* Hands out e[lo..hi) as a finding's evidence and removes them from the group. */
static void fire(struct dg_window *w, struct group *g, size_t lo, size_t hi, int64_t aggregate,
                 struct dg_window_fire *out)
{
	size_t n = hi - lo;

	out->aggregate = aggregate;
	out->events = n;
	out->first_ms = g->e[lo].t;
	out->last_ms = g->e[hi - 1].t;
	out->nrefs = n < w->th.evidence_max ? n : w->th.evidence_max;
	for (size_t i = 0; i < out->nrefs; i++)
		w->evidence[i] = g->e[lo + i].ref;
	out->refs = w->evidence;
	memmove(g->e + lo, g->e + hi, (g->n - hi) * sizeof *g->e);
	g->n -= n;
	recount(w, g);
}

/* Finds the first window, among those ending at an entry in e[from..] no later than until,
 * whose aggregate reaches the limit; sets [*lo, *hi) and *agg. Used after out-of-order inserts
 * and for sequences, where the incremental window does not apply. */
static bool scan(struct dg_window *w, struct group *g, size_t from, int64_t until, size_t *lo,
                 size_t *hi, int64_t *agg)
{
	size_t a = 0;
	int64_t sum = 0;

	dmap_clear(&w->scratch);
	for (size_t j = 0; j < g->n && g->e[j].t <= until; j++) {
		const struct entry *e = &g->e[j];

		if (w->th.agg == DG_AGG_DISTINCT)
			sum += dmap_inc(&w->scratch, dkey(e->v));
		else
			sum += e->v;
		while (g->e[a].t <= e->t - w->th.window_ms) {
			if (w->th.agg == DG_AGG_DISTINCT)
				sum -= dmap_dec(&w->scratch, dkey(g->e[a].v));
			else
				sum -= g->e[a].v;
			a++;
		}
		if (j >= from && sum >= w->th.limit) {
			*lo = a;
			*hi = j + 1;
			*agg = sum;
			return true;
		}
	}
	return false;
}

bool dg_window_add(struct dg_window *w, const char *key, size_t keylen, int64_t t_ms, int64_t value,
                   const struct dg_ref *ref, struct dg_window_fire *out)
{
	struct group *g;
	struct entry e = {t_ms, w->th.agg == DG_AGG_COUNT ? 1 : value, *ref};
	size_t pos, lo, hi;
	int64_t agg;

	if (w->th.agg == DG_AGG_SUM && value <= 0)
		return false; /* adds nothing: do not hold it */
	g = lookup(w, key, keylen, true);
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 8;
		g->e = dg_xreallocarray(g->e, g->cap, sizeof *g->e);
	}
	if (g->n == 0 || t_ms >= g->max_t) {
		/* In order: slide the window forward and fire on its running aggregate. */
		g->e[g->n++] = e;
		g->max_t = t_ms;
		while (g->e[g->head].t <= t_ms - w->th.window_ms) {
			account(w, g, &g->e[g->head], false);
			g->head++;
		}
		account(w, g, &e, true);
		if (w->sequence || g->agg < w->th.limit)
			return false;
		fire(w, g, g->head, g->n, g->agg, out);
		return true;
	}
	/* Out of order: insert in time order, then look at every window containing t_ms. */
	for (pos = g->n; pos > 0 && g->e[pos - 1].t > t_ms; pos--)
		;
	memmove(g->e + pos + 1, g->e + pos, (g->n - pos) * sizeof *g->e);
	g->e[pos] = e;
	g->n++;
	if (t_ms > g->max_t - w->th.window_ms)
		account(w, g, &e, true); /* inside the window ending at max_t: pos >= head */
	else
		g->head++; /* before it: everything from head on is later, so pos <= head */
	if (w->sequence || !scan(w, g, pos, t_ms + w->th.window_ms - 1, &lo, &hi, &agg))
		return false;
	fire(w, g, lo, hi, agg, out);
	return true;
}

bool dg_window_complete(struct dg_window *w, const char *key, size_t keylen, int64_t t_ms,
                        struct dg_window_fire *out)
{
	struct group *g = lookup(w, key, keylen, false);
	size_t lo, hi;
	int64_t agg = 0;

	if (g == NULL)
		return false;
	/* The window that ends with the completing event. */
	for (hi = g->n; hi > 0 && g->e[hi - 1].t > t_ms; hi--)
		;
	for (lo = hi; lo > 0 && g->e[lo - 1].t > t_ms - w->th.window_ms; lo--)
		;
	if (w->th.agg == DG_AGG_DISTINCT) {
		dmap_clear(&w->scratch);
		for (size_t i = lo; i < hi; i++)
			agg += dmap_inc(&w->scratch, dkey(g->e[i].v));
	} else {
		for (size_t i = lo; i < hi; i++)
			agg += g->e[i].v;
	}
	if (hi == lo || agg < w->th.limit)
		return false;
	fire(w, g, lo, hi, agg, out);
	return true;
}

void dg_window_expire(struct dg_window *w, int64_t now_ms)
{
	int64_t cutoff = now_ms - w->th.window_ms - w->lateness;

	for (size_t b = 0; b < w->nbuckets; b++) {
		struct group *g = w->buckets[b], *next;

		for (; g != NULL; g = next) {
			size_t drop = 0;

			next = g->next;
			while (drop < g->n && g->e[drop].t <= cutoff)
				drop++;
			if (drop == g->n) {
				unlink_group(w, g);
				continue;
			}
			if (drop == 0)
				continue;
			memmove(g->e, g->e + drop, (g->n - drop) * sizeof *g->e);
			g->n -= drop;
			if (drop <= g->head) {
				g->head -= drop;
			} else {
				recount(w, g);
			}
		}
	}
}

size_t dg_window_groups(const struct dg_window *w)
{
	return w->ngroups;
}

size_t dg_window_entries(const struct dg_window *w)
{
	size_t n = 0;

	for (size_t b = 0; b < w->nbuckets; b++)
		for (const struct group *g = w->buckets[b]; g != NULL; g = g->next)
			n += g->n;
	return n;
}

void dg_window_inputs(const struct dg_window *w, void (*fn)(void *arg, uint32_t input), void *arg)
{
	for (size_t b = 0; b < w->nbuckets; b++)
		for (const struct group *g = w->buckets[b]; g != NULL; g = g->next)
			for (size_t i = 0; i < g->n; i++)
				fn(arg, g->e[i].ref.input);
}

/* A group is [key, newest time, [[time, value, input, line, offset], ...]]. */
void dg_window_save(const struct dg_window *w, struct dg_cjson *arr, const uint32_t *remap)
{
	for (size_t b = 0; b < w->nbuckets; b++) {
		for (const struct group *g = w->buckets[b]; g != NULL; g = g->next) {
			struct dg_cjson *o = dg_cjson_push(arr, dg_cjson_array());
			struct dg_cjson *es;

			dg_cjson_push(o, dg_cjson_strn(g->key, g->keylen));
			dg_cjson_push(o, dg_cjson_int(g->max_t));
			es = dg_cjson_push(o, dg_cjson_array());
			for (size_t i = 0; i < g->n; i++) {
				const struct entry *e = &g->e[i];
				struct dg_cjson *x = dg_cjson_push(es, dg_cjson_array());

				dg_cjson_push(x, dg_cjson_int(e->t));
				dg_cjson_push(x, dg_cjson_int(e->v));
				dg_cjson_push(x, dg_cjson_int(remap[e->ref.input]));
				dg_cjson_push(x, dg_cjson_int((int64_t)e->ref.line));
				dg_cjson_push(x, dg_cjson_int((int64_t)e->ref.offset));
			}
		}
	}
}

int dg_window_load(struct dg_window *w, const struct dg_cjson *arr)
{
	for (size_t k = 0; k < dg_cjson_len(arr); k++) {
		const struct dg_cjson *o = dg_cjson_at(arr, k), *es = dg_cjson_at(o, 2);
		const char *key = dg_cjson_string(dg_cjson_at(o, 0));
		struct group *g;
		int64_t max_t;

		if (key == NULL || !dg_cjson_intval(dg_cjson_at(o, 1), &max_t) ||
		    dg_cjson_type(es) != DG_CJSON_ARRAY)
			return -1;
		g = lookup(w, key, strlen(key), true);
		g->max_t = max_t;
		for (size_t i = 0; i < dg_cjson_len(es); i++) {
			const struct dg_cjson *x = dg_cjson_at(es, i);
			int64_t f[5];
			struct entry e;

			for (size_t j = 0; j < 5; j++)
				if (!dg_cjson_intval(dg_cjson_at(x, j), &f[j]) ||
				    (j >= 2 && f[j] < 0))
					return -1;
			if (i > 0 && f[0] < g->e[g->n - 1].t)
				return -1; /* entries are saved in time order */
			e = (struct entry){
			    f[0], f[1], {(uint32_t)f[2], (uint64_t)f[3], (uint64_t)f[4]}};
			if (g->n == g->cap) {
				g->cap = g->cap ? g->cap * 2 : 8;
				g->e = dg_xreallocarray(g->e, g->cap, sizeof *g->e);
			}
			g->e[g->n++] = e;
		}
		recount(w, g);
	}
	return 0;
}
