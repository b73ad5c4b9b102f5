#include "dgaudit/seq.h"

#include <stdlib.h>
#include <string.h>

#include "dgaudit/keyset.h"
#include "dgaudit/xmalloc.h"

/* Events are ordered by time, then by arrival, so that equal times still have an order. */
struct sentry {
	int64_t t;
	uint64_t seq;
	int64_t v;
	struct dg_ref ref;
};

struct list {
	struct sentry *e;
	size_t n, cap;
};

struct group {
	struct dg_keyed k;
	struct list steps[DG_MAX_STEPS];
};

struct dg_seq {
	struct dg_threshold th;
	int64_t lateness;
	uint64_t arrivals;
	struct dg_keyset groups;
	struct dg_ref *refs; /* evidence handed out by a fire */
	uint64_t evicted_groups, evicted_records;
};

static bool before(int64_t t1, uint64_t s1, int64_t t2, uint64_t s2)
{
	return t1 < t2 || (t1 == t2 && s1 < s2);
}

struct dg_seq *dg_seq_new(const struct dg_threshold *th, int64_t lateness_ms)
{
	struct dg_seq *s = dg_xcalloc(1, sizeof *s);

	s->th = *th;
	if (s->th.max_keys == 0)
		s->th.max_keys = SIZE_MAX;
	s->lateness = lateness_ms;
	s->refs = dg_xcalloc(th->evidence_max ? th->evidence_max : 1, sizeof *s->refs);
	dg_keyset_init(&s->groups);
	return s;
}

static void group_free(struct dg_keyed *k)
{
	struct group *g = (struct group *)k;

	for (size_t i = 0; i < DG_MAX_STEPS; i++)
		free(g->steps[i].e);
	free(g);
}

void dg_seq_free(struct dg_seq *s)
{
	if (s == NULL)
		return;
	dg_keyset_clear(&s->groups, group_free);
	free(s->refs);
	free(s);
}

static size_t group_entries(const struct dg_seq *s, const struct group *g)
{
	size_t n = 0;

	for (size_t i = 0; i < s->th.nsteps; i++)
		n += g->steps[i].n;
	return n;
}

static void drop_group(struct dg_seq *s, struct group *g)
{
	dg_keyset_remove(&s->groups, &g->k);
	group_free(&g->k);
}

static struct group *lookup(struct dg_seq *s, const char *key, size_t len)
{
	struct group *g = (struct group *)dg_keyset_find(&s->groups, key, len);

	if (g != NULL) {
		dg_keyset_touch(&s->groups, &g->k);
		return g;
	}
	while (s->groups.n >= s->th.max_keys && s->groups.oldest != NULL) {
		struct group *old = (struct group *)s->groups.oldest;

		s->evicted_groups++;
		s->evicted_records += group_entries(s, old);
		drop_group(s, old);
	}
	g = dg_xcalloc(1, sizeof *g);
	dg_keyset_insert(&s->groups, &g->k, key, len);
	return g;
}

static void list_insert(struct list *l, const struct sentry *e)
{
	size_t pos;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->e = dg_xreallocarray(l->e, l->cap, sizeof *l->e);
	}
	for (pos = l->n; pos > 0 && before(e->t, e->seq, l->e[pos - 1].t, l->e[pos - 1].seq); pos--)
		;
	memmove(l->e + pos + 1, l->e + pos, (l->n - pos) * sizeof *l->e);
	l->e[pos] = *e;
	l->n++;
}

/* A step's running aggregate over entries added one at a time. */
struct acc {
	const struct dg_step *st;
	int64_t agg;
	struct dg_u64map seen; /* distinct values so far */
};

static void acc_add(struct acc *a, const struct sentry *e)
{
	if (a->st->agg == DG_AGG_COUNT)
		a->agg++;
	else if (a->st->agg == DG_AGG_SUM)
		a->agg += e->v > 0 ? e->v : 0;
	else
		a->agg += dg_u64map_put(&a->seen, e->v ? (uint64_t)e->v : 1, 0);
}

/* The aggregate of a step over l->e[lo..hi). */
static int64_t aggregate(const struct dg_step *st, const struct list *l, size_t lo, size_t hi)
{
	struct acc a = {st, 0, {0}};

	for (size_t i = lo; i < hi; i++)
		acc_add(&a, &l->e[i]);
	dg_u64map_clear(&a.seen);
	return a.agg;
}

/* Index of the first entry not before (t, seq). */
static size_t lower(const struct list *l, int64_t t, uint64_t seq)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (before(l->e[mid].t, l->e[mid].seq, t, seq))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Going back from the completing event, the latest events of each step that reach its limit:
 * chosen[i] = [lo, hi) within step i's list. */
static bool complete(struct dg_seq *s, struct group *g, int64_t t, uint64_t seq, size_t *lo,
                     size_t *hi)
{
	int64_t bt = t;
	uint64_t bs = seq + 1; /* the completing event itself belongs to the last step */

	for (size_t i = 0; i + 1 < s->th.nsteps; i++)
		if (g->steps[i].n == 0)
			return false; /* most of the time: no earlier step has happened */
	for (size_t i = s->th.nsteps; i-- > 0;) {
		const struct dg_step *st = &s->th.steps[i];
		const struct list *l = &g->steps[i];
		size_t end = lower(l, bt, bs), start = end;
		struct acc a = {st, 0, {0}};

		while (start > 0 && a.agg < st->limit)
			acc_add(&a, &l->e[--start]);
		dg_u64map_clear(&a.seen);
		if (a.agg < st->limit || l->e[start].t <= t - s->th.window_ms)
			return false;
		lo[i] = start;
		hi[i] = end;
		bt = l->e[start].t;
		bs = l->e[start].seq;
	}
	return true;
}

static int ref_cmp(const void *a, const void *b)
{
	const struct sentry *x = a, *y = b;

	return before(x->t, x->seq, y->t, y->seq) ? -1 : before(y->t, y->seq, x->t, x->seq);
}

void dg_seq_add(struct dg_seq *s, const char *key, size_t keylen, int64_t t_ms, uint32_t mask,
                const int64_t *values, const struct dg_ref *ref, dg_seq_cb *cb, void *arg)
{
	struct group *g = lookup(s, key, keylen);
	uint64_t seq = s->arrivals++;
	size_t last = s->th.nsteps - 1, lo[DG_MAX_STEPS], hi[DG_MAX_STEPS];
	struct dg_seq_fire f = {0};
	struct sentry *members = NULL;
	size_t nmembers = 0;

	for (size_t i = 0; i < s->th.nsteps; i++)
		if ((mask >> i) & 1) {
			struct sentry e = {t_ms, seq, values ? values[i] : 0, *ref};

			list_insert(&g->steps[i], &e);
		}
	if (!((mask >> last) & 1) || !complete(s, g, t_ms, seq, lo, hi))
		return;
	/* Each step counts its events between the steps around it: the first from the start of
	 * the window, the last up to the completing event. */
	for (size_t i = 0; i < s->th.nsteps; i++) {
		struct list *l = &g->steps[i];
		size_t a = lo[i], b = hi[i];

		/* Back to the step before (or the window's start), but not past an event of the
		 * next step: the events before that belong to an earlier round. */
		int64_t bt = t_ms - s->th.window_ms;
		uint64_t bs = UINT64_MAX;

		if (i > 0) {
			const struct sentry *prev = &g->steps[i - 1].e[hi[i - 1] - 1];

			bt = prev->t;
			bs = prev->seq;
		}
		if (i + 1 < s->th.nsteps) {
			const struct list *nl = &g->steps[i + 1];
			size_t k = lower(nl, l->e[a].t, l->e[a].seq);

			if (k > 0 && before(bt, bs, nl->e[k - 1].t, nl->e[k - 1].seq)) {
				bt = nl->e[k - 1].t;
				bs = nl->e[k - 1].seq;
			}
		}
		while (a > 0 && (bs == UINT64_MAX ? l->e[a - 1].t > bt
		                                  : before(bt, bs, l->e[a - 1].t, l->e[a - 1].seq)))
			a--;
		if (i + 1 < s->th.nsteps) {
			const struct sentry *next = &g->steps[i + 1].e[lo[i + 1]];

			while (b < l->n && before(l->e[b].t, l->e[b].seq, next->t, next->seq))
				b++;
		}
		f.steps[i].aggregate = aggregate(&s->th.steps[i], l, a, b);
		f.steps[i].events = b - a;
		f.steps[i].first_ms = l->e[a].t;
		f.steps[i].last_ms = l->e[b - 1].t;
		f.events += b - a;
		if (b == a)
			continue; /* cannot happen: complete() chose at least one */
		members = dg_xreallocarray(members, nmembers + (b - a) + 1, sizeof *members);
		memcpy(members + nmembers, l->e + a, (b - a) * sizeof *members);
		nmembers += b - a;
		/* Consumed. */
		memmove(l->e + a, l->e + b, (l->n - b) * sizeof *l->e);
		l->n -= b - a;
	}
	qsort(members, nmembers, sizeof *members, ref_cmp);
	f.nsteps = s->th.nsteps;
	f.first_ms = members[0].t;
	f.last_ms = members[nmembers - 1].t;
	f.nrefs = nmembers < s->th.evidence_max ? nmembers : s->th.evidence_max;
	for (size_t i = 0; i < f.nrefs; i++)
		s->refs[i] = members[i].ref;
	f.refs = s->refs;
	free(members);
	cb(arg, &f);
}

void dg_seq_expire(struct dg_seq *s, int64_t now_ms)
{
	int64_t cutoff = now_ms - s->th.window_ms - s->lateness;
	struct group *g = (struct group *)s->groups.oldest, *next;

	for (; g != NULL; g = next) {
		next = (struct group *)g->k.lru_next;
		for (size_t i = 0; i < s->th.nsteps; i++) {
			struct list *l = &g->steps[i];
			size_t drop = 0;

			while (drop < l->n && l->e[drop].t <= cutoff)
				drop++;
			if (drop == 0)
				continue;
			memmove(l->e, l->e + drop, (l->n - drop) * sizeof *l->e);
			l->n -= drop;
		}
		if (group_entries(s, g) == 0)
			drop_group(s, g);
	}
}

void dg_seq_inputs(const struct dg_seq *s, void (*fn)(void *arg, uint32_t input), void *arg)
{
	for (const struct dg_keyed *k = s->groups.oldest; k != NULL; k = k->lru_next) {
		const struct group *g = (const struct group *)k;

		for (size_t i = 0; i < s->th.nsteps; i++)
			for (size_t j = 0; j < g->steps[i].n; j++)
				fn(arg, g->steps[i].e[j].ref.input);
	}
}

void dg_seq_evictions(const struct dg_seq *s, uint64_t *groups, uint64_t *records)
{
	*groups = s->evicted_groups;
	*records = s->evicted_records;
}

void dg_seq_stats(const struct dg_seq *s, struct dg_seq_stats *st)
{
	memset(st, 0, sizeof *st);
	st->groups = s->groups.n;
	st->evicted_groups = s->evicted_groups;
	st->evicted_records = s->evicted_records;
	for (const struct dg_keyed *k = s->groups.oldest; k != NULL; k = k->lru_next)
		st->entries += group_entries(s, (const struct group *)k);
}

/* A group is [key, [[step, time, value, input, line, offset], ...]], least recently active
 * first; arrival order is kept by the order within a step. */
void dg_seq_save(const struct dg_seq *s, struct dg_cjson *arr, const uint32_t *remap)
{
	for (const struct dg_keyed *k = s->groups.oldest; k != NULL; k = k->lru_next) {
		const struct group *g = (const struct group *)k;
		struct dg_cjson *o = dg_cjson_push(arr, dg_cjson_array()), *es;

		dg_cjson_push(o, dg_cjson_strn(k->key, k->keylen));
		es = dg_cjson_push(o, dg_cjson_array());
		for (size_t i = 0; i < s->th.nsteps; i++)
			for (size_t j = 0; j < g->steps[i].n; j++) {
				const struct sentry *e = &g->steps[i].e[j];
				struct dg_cjson *x = dg_cjson_push(es, dg_cjson_array());

				dg_cjson_push(x, dg_cjson_int((int64_t)i));
				dg_cjson_push(x, dg_cjson_int(e->t));
				dg_cjson_push(x, dg_cjson_int(e->v));
				dg_cjson_push(x, dg_cjson_int((e->ref.input == DG_REF_SELF
				                                   ? DG_REF_SELF
				                                   : remap[e->ref.input])));
				dg_cjson_push(x, dg_cjson_int((int64_t)e->ref.line));
				dg_cjson_push(x, dg_cjson_int((int64_t)e->ref.offset));
			}
	}
}

int dg_seq_load(struct dg_seq *s, const struct dg_cjson *arr)
{
	for (size_t k = 0; k < dg_cjson_len(arr); k++) {
		const struct dg_cjson *o = dg_cjson_at(arr, k), *es = dg_cjson_at(o, 1);
		const char *key = dg_cjson_string(dg_cjson_at(o, 0));
		struct group *g;

		if (key == NULL || dg_cjson_type(es) != DG_CJSON_ARRAY)
			return -1;
		g = lookup(s, key, strlen(key));
		for (size_t i = 0; i < dg_cjson_len(es); i++) {
			const struct dg_cjson *x = dg_cjson_at(es, i);
			int64_t f[6];
			struct sentry e;

			for (size_t j = 0; j < 6; j++)
				if (!dg_cjson_intval(dg_cjson_at(x, j), &f[j]) ||
				    ((j == 0 || j >= 3) && f[j] < 0))
					return -1;
			if ((size_t)f[0] >= s->th.nsteps)
				return -1;
			e = (struct sentry){f[1],
			                    s->arrivals++,
			                    f[2],
			                    {(uint32_t)f[3], (uint64_t)f[4], (uint64_t)f[5]}};
			list_insert(&g->steps[f[0]], &e);
		}
	}
	return 0;
}
