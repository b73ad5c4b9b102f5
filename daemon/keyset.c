#include "dgaudit/keyset.h"

#include <stdlib.h>
#include <string.h>

#include "dgaudit/hash.h"
#include "dgaudit/xmalloc.h"

void dg_keyset_init(struct dg_keyset *s)
{
	memset(s, 0, sizeof *s);
	s->nbuckets = 64;
	s->buckets = dg_xcalloc(s->nbuckets, sizeof *s->buckets);
}

void dg_keyset_clear(struct dg_keyset *s, void (*release)(struct dg_keyed *k))
{
	struct dg_keyed *k = s->oldest, *next;

	for (; k != NULL; k = next) {
		next = k->lru_next;
		free(k->key);
		release(k);
	}
	free(s->buckets);
	memset(s, 0, sizeof *s);
}

struct dg_keyed *dg_keyset_find(const struct dg_keyset *s, const char *key, size_t len)
{
	uint64_t h = dg_hash_fnv(key, len);

	for (struct dg_keyed *k = s->buckets[h & (s->nbuckets - 1)]; k != NULL; k = k->next)
		if (k->hash == h && k->keylen == len && memcmp(k->key, key, len) == 0)
			return k;
	return NULL;
}

static void lru_unlink(struct dg_keyset *s, struct dg_keyed *k)
{
	if (k->lru_prev)
		k->lru_prev->lru_next = k->lru_next;
	else
		s->oldest = k->lru_next;
	if (k->lru_next)
		k->lru_next->lru_prev = k->lru_prev;
	else
		s->newest = k->lru_prev;
	k->lru_prev = k->lru_next = NULL;
}

static void lru_append(struct dg_keyset *s, struct dg_keyed *k)
{
	k->lru_prev = s->newest;
	k->lru_next = NULL;
	if (s->newest)
		s->newest->lru_next = k;
	else
		s->oldest = k;
	s->newest = k;
}

void dg_keyset_touch(struct dg_keyset *s, struct dg_keyed *k)
{
	if (s->newest == k)
		return;
	lru_unlink(s, k);
	lru_append(s, k);
}

void dg_keyset_insert(struct dg_keyset *s, struct dg_keyed *k, const char *key, size_t len)
{
	if (s->n >= s->nbuckets) {
		size_t n = s->nbuckets * 2;
		struct dg_keyed **b = dg_xcalloc(n, sizeof *b);

		for (size_t i = 0; i < s->nbuckets; i++) {
			struct dg_keyed *x = s->buckets[i], *next;

			for (; x != NULL; x = next) {
				next = x->next;
				x->next = b[x->hash & (n - 1)];
				b[x->hash & (n - 1)] = x;
			}
		}
		free(s->buckets);
		s->buckets = b;
		s->nbuckets = n;
	}
	k->hash = dg_hash_fnv(key, len);
	k->key = dg_xstrndup(key, len);
	k->keylen = len;
	k->next = s->buckets[k->hash & (s->nbuckets - 1)];
	s->buckets[k->hash & (s->nbuckets - 1)] = k;
	s->n++;
	lru_append(s, k);
}

void dg_keyset_remove(struct dg_keyset *s, struct dg_keyed *k)
{
	struct dg_keyed **p = &s->buckets[k->hash & (s->nbuckets - 1)];

	while (*p != k)
		p = &(*p)->next;
	*p = k->next;
	lru_unlink(s, k);
	s->n--;
	free(k->key);
	k->key = NULL;
}

static size_t home(const struct dg_u64map *m, uint64_t k)
{
	return (size_t)((k * 0x9e3779b97f4a7c15ULL) >> 17) & (m->cap - 1);
}

static size_t slot(const struct dg_u64map *m, uint64_t k)
{
	size_t i = home(m, k);

	while (m->keys[i] != 0 && m->keys[i] != k)
		i = (i + 1) & (m->cap - 1);
	return i;
}

/* Sets k to v; true if k was new. */
bool dg_u64map_put(struct dg_u64map *m, uint64_t k, size_t v)
{
	size_t i;

	if ((m->used + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct dg_u64map big = {dg_xcalloc(cap, sizeof(uint64_t)),
		                        dg_xcalloc(cap, sizeof(size_t)), cap, 0};

		for (size_t j = 0; j < m->cap; j++)
			if (m->keys[j] != 0) {
				size_t s = slot(&big, m->keys[j]);

				big.keys[s] = m->keys[j];
				big.vals[s] = m->vals[j];
				big.used++;
			}
		free(m->keys);
		free(m->vals);
		*m = big;
	}
	i = slot(m, k);
	m->vals[i] = v;
	if (m->keys[i] != 0)
		return false;
	m->keys[i] = k;
	m->used++;
	return true;
}

bool dg_u64map_get(const struct dg_u64map *m, uint64_t k, size_t *v)
{
	size_t i;

	if (m->cap == 0)
		return false;
	i = slot(m, k);
	if (m->keys[i] == 0)
		return false;
	*v = m->vals[i];
	return true;
}

void dg_u64map_del(struct dg_u64map *m, uint64_t k)
{
	size_t i, j;

	if (m->cap == 0 || m->keys[i = slot(m, k)] == 0)
		return;
	m->keys[i] = 0;
	m->used--;
	for (j = (i + 1) & (m->cap - 1); m->keys[j] != 0; j = (j + 1) & (m->cap - 1)) {
		size_t h = home(m, m->keys[j]);

		/* Moves back an entry whose probe chain ran through the emptied slot. */
		if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			m->keys[j] = 0;
			i = j;
		}
	}
}

void dg_u64map_clear(struct dg_u64map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof *m);
}
