/* A table of per-key state (a threshold's or sequence's groups, suppressed keys) with the keys
 * kept in order of last activity, so the least recently active can be evicted first. The
 * caller embeds struct dg_keyed as the first member of its own struct and allocates it; the
 * table links it and owns its key. Pure. */
#ifndef DGAUDIT_KEYSET_H
#define DGAUDIT_KEYSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dg_keyed {
	struct dg_keyed *next;                /* hash chain */
	struct dg_keyed *lru_prev, *lru_next; /* least recently active first */
	uint64_t hash;
	char *key;
	size_t keylen;
};

struct dg_keyset {
	struct dg_keyed **buckets;
	size_t nbuckets, n;
	struct dg_keyed *oldest, *newest;
};

void dg_keyset_init(struct dg_keyset *s);
/* Frees the table, calling release (which frees the caller's struct) for each entry. */
void dg_keyset_clear(struct dg_keyset *s, void (*release)(struct dg_keyed *k));
struct dg_keyed *dg_keyset_find(const struct dg_keyset *s, const char *key, size_t len);
/* Links node under a copy of key, as the most recently active. */
void dg_keyset_insert(struct dg_keyset *s, struct dg_keyed *node, const char *key, size_t len);
/* Unlinks node and frees its key; the caller frees node. */
void dg_keyset_remove(struct dg_keyset *s, struct dg_keyed *node);
/* Marks node the most recently active. */
void dg_keyset_touch(struct dg_keyset *s, struct dg_keyed *node);

/* 64-bit keys (never 0) to positions or counts: open addressing with backward-shift deletion.
 * A plain value: zero it to start, dg_u64map_clear to free it. */
struct dg_u64map {
	uint64_t *keys;
	size_t *vals;
	size_t cap, used;
};

/* Sets key to val; true if key was new. */
bool dg_u64map_put(struct dg_u64map *m, uint64_t key, size_t val);
bool dg_u64map_get(const struct dg_u64map *m, uint64_t key, size_t *val);
void dg_u64map_del(struct dg_u64map *m, uint64_t key);
void dg_u64map_clear(struct dg_u64map *m);

#endif
