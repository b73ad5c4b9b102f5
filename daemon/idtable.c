#include "dgaudit/idtable.h"

#include <stdlib.h>

#include "dgaudit/hash.h"
#include "dgaudit/xmalloc.h"

struct dg_idtable {
	struct dg_idrec *rec;
	size_t n, cap;
	uint32_t *slot; /* open addressing by inode: index + 1, 0 for empty */
	size_t nslots;  /* a power of two, at least twice n */
};

struct dg_idtable *dg_idtable_new(void)
{
	return dg_xcalloc(1, sizeof(struct dg_idtable));
}

void dg_idtable_free(struct dg_idtable *t)
{
	if (t == NULL)
		return;
	free(t->rec);
	free(t->slot);
	free(t);
}

static size_t home(const struct dg_idtable *t, uint64_t dev, uint64_t ino)
{
	uint64_t k[2] = {dev, ino};

	return (size_t)dg_hash_fnv(k, sizeof k) & (t->nslots - 1);
}

/* The slot holding (dev, ino), or the empty slot where it would go. */
static size_t find(const struct dg_idtable *t, uint64_t dev, uint64_t ino)
{
	size_t i = home(t, dev, ino);

	while (t->slot[i] != 0) {
		const struct dg_idrec *r = &t->rec[t->slot[i] - 1];

		if (r->id.dev == dev && r->id.ino == ino)
			break;
		i = (i + 1) & (t->nslots - 1);
	}
	return i;
}

static void reindex(struct dg_idtable *t, size_t nslots)
{
	free(t->slot);
	t->nslots = nslots;
	t->slot = dg_xcalloc(nslots, sizeof *t->slot);
	for (size_t i = 0; i < t->n; i++)
		t->slot[find(t, t->rec[i].id.dev, t->rec[i].id.ino)] = (uint32_t)i + 1;
}

void dg_idtable_put(struct dg_idtable *t, const struct dg_tail_id *id, uint64_t offset,
                    uint64_t line)
{
	size_t s;

	if (t->nslots < 2 * (t->n + 1))
		reindex(t, t->nslots ? 2 * t->nslots : 64);
	s = find(t, id->dev, id->ino);
	if (t->slot[s] != 0) { /* the inode again: the same file read further, or reused */
		t->rec[t->slot[s] - 1] = (struct dg_idrec){*id, offset, line};
		return;
	}
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->rec = dg_xreallocarray(t->rec, t->cap, sizeof *t->rec);
	}
	t->rec[t->n] = (struct dg_idrec){*id, offset, line};
	t->slot[s] = (uint32_t)++t->n;
}

const struct dg_idrec *dg_idtable_by_inode(const struct dg_idtable *t, uint64_t dev, uint64_t ino)
{
	size_t s;

	if (t->n == 0)
		return NULL;
	s = find(t, dev, ino);
	return t->slot[s] ? &t->rec[t->slot[s] - 1] : NULL;
}

size_t dg_idtable_count(const struct dg_idtable *t)
{
	return t->n;
}

const struct dg_idrec *dg_idtable_at(const struct dg_idtable *t, size_t i)
{
	return i < t->n ? &t->rec[i] : NULL;
}

size_t dg_idtable_prune(struct dg_idtable *t, bool (*keep)(void *arg, const struct dg_idrec *r),
                        void *arg)
{
	size_t kept = 0, dropped;

	for (size_t i = 0; i < t->n; i++)
		if (keep(arg, &t->rec[i]))
			t->rec[kept++] = t->rec[i];
	dropped = t->n - kept;
	t->n = kept;
	if (dropped > 0)
		reindex(t, t->nslots);
	return dropped;
}
