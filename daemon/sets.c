#include "dgaudit/sets.h"

#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/hash.h"
#include "dgaudit/xmalloc.h"

static unsigned char fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static uint64_t hash_folded(const char *p, size_t len, bool ignore_case)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (ignore_case ? fold((unsigned char)p[i]) : (unsigned char)p[i])) *
		    1099511628211ULL;
	return h;
}

static bool equal_folded(const char *a, const char *b, size_t len, bool ignore_case)
{
	if (!ignore_case)
		return memcmp(a, b, len) == 0;
	for (size_t i = 0; i < len; i++)
		if (fold((unsigned char)a[i]) != fold((unsigned char)b[i]))
			return false;
	return true;
}

/* ---- exact strings: open addressing ------------------------------------------------------- */

struct dg_strset {
	char **items;
	size_t *lens;
	uint64_t *hashes;
	uint32_t *table; /* item index + 1; 0 = empty */
	size_t mask, n;
	bool ignore_case;
};

struct dg_strset *dg_sets_str_new(char *const *items, size_t n, bool ignore_case)
{
	struct dg_strset *s = dg_xcalloc(1, sizeof *s);
	size_t size = 8;

	while (size < n * 2)
		size *= 2;
	s->items = dg_xcalloc(n ? n : 1, sizeof *s->items);
	s->lens = dg_xcalloc(n ? n : 1, sizeof *s->lens);
	s->hashes = dg_xcalloc(n ? n : 1, sizeof *s->hashes);
	s->table = dg_xcalloc(size, sizeof *s->table);
	s->mask = size - 1;
	s->ignore_case = ignore_case;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(items[i]);
		uint64_t h = hash_folded(items[i], len, ignore_case);
		size_t slot = h & s->mask;

		if (dg_sets_str_has(s, items[i], len))
			continue; /* a repeat */
		while (s->table[slot] != 0)
			slot = (slot + 1) & s->mask;
		s->items[s->n] = dg_xstrndup(items[i], len);
		s->lens[s->n] = len;
		s->hashes[s->n] = h;
		s->table[slot] = (uint32_t)++s->n;
	}
	return s;
}

void dg_sets_str_free(struct dg_strset *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->items[i]);
	free(s->items);
	free(s->lens);
	free(s->hashes);
	free(s->table);
	free(s);
}

bool dg_sets_str_has(const struct dg_strset *s, const char *p, size_t len)
{
	uint64_t h = hash_folded(p, len, s->ignore_case);

	for (size_t slot = h & s->mask; s->table[slot] != 0; slot = (slot + 1) & s->mask) {
		size_t i = s->table[slot] - 1;

		if (s->hashes[i] == h && s->lens[i] == len &&
		    equal_folded(s->items[i], p, len, s->ignore_case))
			return true;
	}
	return false;
}

/* ---- prefixes, suffixes, substrings: a trie, with failure links for substrings ------------ */

struct node {
	uint32_t first, count; /* its edges: edges[first .. first + count), sorted by byte */
	uint32_t fail;         /* substrings: the longest proper suffix that is also in the trie */
	bool end;              /* a needle ends here (or, with failure links, some suffix does) */
};

struct edge {
	unsigned char byte;
	uint32_t child;
};

struct dg_affix {
	enum dg_affix_kind kind;
	bool ignore_case;
	struct node *nodes;
	size_t nnodes;
	struct edge *edges;
	size_t nedges;
};

/* While building, each node's children are kept in a linked list; packed afterwards. */
struct bnode {
	int32_t child, sibling;
	unsigned char byte;
	bool end;
};

static int32_t bchild(struct bnode **b, size_t *n, int32_t parent, unsigned char c, bool create)
{
	int32_t *link = &(*b)[parent].child;

	while (*link >= 0 && (*b)[*link].byte < c)
		link = &(*b)[*link].sibling;
	if (*link >= 0 && (*b)[*link].byte == c)
		return *link;
	if (!create)
		return -1;
	{
		ptrdiff_t off = (char *)link - (char *)*b; /* *b moves when it grows */
		int32_t next = *link, id = (int32_t)*n;

		*b = dg_xreallocarray(*b, *n + 1, sizeof **b);
		link = (int32_t *)((char *)*b + off);
		(*b)[id] = (struct bnode){-1, next, c, false};
		*link = id;
		(*n)++;
		return id;
	}
}

static uint32_t edge_find(const struct dg_affix *a, uint32_t node, unsigned char c)
{
	const struct node *n = &a->nodes[node];
	size_t lo = n->first, hi = n->first + n->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (a->edges[mid].byte == c)
			return a->edges[mid].child;
		if (a->edges[mid].byte < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return UINT32_MAX;
}

struct dg_affix *dg_sets_affix_new(enum dg_affix_kind kind, char *const *items, size_t n,
                                   bool ignore_case)
{
	struct dg_affix *a = dg_xcalloc(1, sizeof *a);
	struct bnode *b = dg_xcalloc(1, sizeof *b);
	size_t nb = 1;
	uint32_t *queue;

	b[0] = (struct bnode){-1, -1, 0, false};
	a->kind = kind;
	a->ignore_case = ignore_case;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(items[i]);
		int32_t at = 0;

		for (size_t k = 0; k < len; k++) {
			unsigned char c =
			    (unsigned char)items[i][kind == DG_AFFIX_SUFFIX ? len - 1 - k : k];

			at = bchild(&b, &nb, at, ignore_case ? fold(c) : c, true);
		}
		b[at].end = true;
	}
	/* Pack breadth-first, so a node's children have consecutive edges and ids. */
	a->nodes = dg_xcalloc(nb, sizeof *a->nodes);
	a->edges = dg_xcalloc(nb, sizeof *a->edges);
	queue = dg_xcalloc(nb, sizeof *queue);
	{
		int32_t *id = dg_xcalloc(nb, sizeof *id); /* build id -> packed id */
		size_t head = 0, tail = 1;

		queue[0] = 0;
		id[0] = 0;
		a->nnodes = 1;
		while (head < tail) {
			uint32_t bi = queue[head], pi = (uint32_t)id[bi];

			head++;
			a->nodes[pi].end = b[bi].end;
			a->nodes[pi].first = (uint32_t)a->nedges;
			for (int32_t c = b[bi].child; c >= 0; c = b[c].sibling) {
				id[c] = (int32_t)a->nnodes++;
				a->edges[a->nedges++] = (struct edge){b[c].byte, (uint32_t)id[c]};
				queue[tail++] = (uint32_t)c;
			}
			a->nodes[pi].count = (uint32_t)a->nedges - a->nodes[pi].first;
		}
		free(id);
	}
	free(b);
	if (kind == DG_AFFIX_SUBSTRING) {
		/* Failure links, breadth-first: packed ids are already in breadth-first order. */
		for (uint32_t v = 0; v < a->nnodes; v++) {
			const struct node *nv = &a->nodes[v];

			for (uint32_t e = nv->first; e < nv->first + nv->count; e++) {
				uint32_t child = a->edges[e].child, f = nv->fail, to;

				if (v == 0) {
					a->nodes[child].fail = 0;
					continue;
				}
				for (;;) {
					to = edge_find(a, f, a->edges[e].byte);
					if (to != UINT32_MAX || f == 0)
						break;
					f = a->nodes[f].fail;
				}
				a->nodes[child].fail = to != UINT32_MAX && to != child ? to : 0;
				if (a->nodes[a->nodes[child].fail].end)
					a->nodes[child].end = true;
			}
		}
	}
	free(queue);
	return a;
}

void dg_sets_affix_free(struct dg_affix *a)
{
	if (a == NULL)
		return;
	free(a->nodes);
	free(a->edges);
	free(a);
}

bool dg_sets_affix_match(const struct dg_affix *a, const char *p, size_t len)
{
	uint32_t at = 0;

	if (a->nodes[0].end)
		return true; /* an empty needle */
	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)p[a->kind == DG_AFFIX_SUFFIX ? len - 1 - k : k];
		uint32_t to;

		if (a->ignore_case)
			c = fold(c);
		to = edge_find(a, at, c);
		if (a->kind != DG_AFFIX_SUBSTRING) {
			if (to == UINT32_MAX)
				return false;
			at = to;
		} else {
			while (to == UINT32_MAX && at != 0) {
				at = a->nodes[at].fail;
				to = edge_find(a, at, c);
			}
			at = to == UINT32_MAX ? 0 : to;
		}
		if (a->nodes[at].end)
			return true;
	}
	return false;
}

/* ---- CIDR blocks: a hash of masked addresses per prefix length ---------------------------- */

struct level {
	unsigned bits;
	uint8_t (*keys)[16]; /* open addressing over masked addresses */
	bool *used;
	size_t mask;
};

struct dg_cidrset {
	struct level *levels; /* longest prefix first */
	size_t nlevels;
};

/* The first bits of addr, the rest zero; a 64-bit word at a time. */
static void masked(const uint8_t addr[16], unsigned bits, uint8_t out[16])
{
	uint64_t w[2];

	memcpy(w, addr, 16);
	for (unsigned i = 0; i < 2; i++) {
		unsigned have = bits > i * 64 ? bits - i * 64 : 0;
		uint64_t keep = have >= 64 ? UINT64_MAX : have == 0 ? 0 : ~(UINT64_MAX >> have);

		w[i] &= htobe64(keep); /* addresses are in network byte order */
	}
	memcpy(out, w, 16);
}

static size_t level_find(const struct level *l, const uint8_t key[16])
{
	size_t i = dg_hash_fnv(key, 16) & l->mask;

	while (l->used[i] && memcmp(l->keys[i], key, 16) != 0)
		i = (i + 1) & l->mask;
	return i;
}

struct dg_cidrset *dg_sets_cidr_new(const struct dg_ip_cidr *blocks, size_t n)
{
	struct dg_cidrset *s = dg_xcalloc(1, sizeof *s);

	for (unsigned bits = 129; bits-- > 0;) {
		size_t count = 0, size = 8;
		struct level *l;

		for (size_t i = 0; i < n; i++)
			count += blocks[i].bits == bits;
		if (count == 0)
			continue;
		while (size < count * 2)
			size *= 2;
		s->levels = dg_xreallocarray(s->levels, s->nlevels + 1, sizeof *s->levels);
		l = &s->levels[s->nlevels++];
		l->bits = bits;
		l->keys = dg_xcalloc(size, sizeof *l->keys);
		l->used = dg_xcalloc(size, sizeof *l->used);
		l->mask = size - 1;
		for (size_t i = 0; i < n; i++) {
			uint8_t key[16];
			size_t slot;

			if (blocks[i].bits != bits)
				continue;
			masked(blocks[i].addr, bits, key);
			slot = level_find(l, key);
			memcpy(l->keys[slot], key, 16);
			l->used[slot] = true;
		}
	}
	return s;
}

void dg_sets_cidr_free(struct dg_cidrset *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nlevels; i++) {
		free(s->levels[i].keys);
		free(s->levels[i].used);
	}
	free(s->levels);
	free(s);
}

bool dg_sets_cidr_has(const struct dg_cidrset *s, const uint8_t addr[16])
{
	for (size_t i = 0; i < s->nlevels; i++) {
		uint8_t key[16];

		masked(addr, s->levels[i].bits, key);
		if (s->levels[i].used[level_find(&s->levels[i], key)])
			return true;
	}
	return false;
}

/* ---- dates --------------------------------------------------------------------------------- */

struct dg_dateset {
	int64_t *days; /* sorted, unique */
	size_t n;
};

static int day_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

struct dg_dateset *dg_sets_date_new(const int64_t *days, size_t n)
{
	struct dg_dateset *s = dg_xcalloc(1, sizeof *s);

	s->days = dg_xcalloc(n ? n : 1, sizeof *s->days);
	memcpy(s->days, days, n * sizeof *days);
	qsort(s->days, n, sizeof *s->days, day_cmp);
	for (size_t i = 0; i < n; i++)
		if (s->n == 0 || s->days[s->n - 1] != s->days[i])
			s->days[s->n++] = s->days[i];
	return s;
}

void dg_sets_date_free(struct dg_dateset *s)
{
	if (s == NULL)
		return;
	free(s->days);
	free(s);
}

bool dg_sets_date_has(const struct dg_dateset *s, int64_t day)
{
	return s != NULL && bsearch(&day, s->days, s->n, sizeof day, day_cmp) != NULL;
}

size_t dg_sets_date_count(const struct dg_dateset *s)
{
	return s ? s->n : 0;
}
