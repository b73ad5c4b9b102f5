#include "dgaudit/jsonl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/json.h"
#include "dgaudit/ts.h"
#include "dgaudit/xmalloc.h"

#define PATH_MAX_LEN 256
#define CACHE_TOKENS 128 /* key positions remembered */
#define CACHE_PATH   48  /* longest path remembered */

/* What the path of the key at one token position resolved to last time. Lines from one source
 * repeat the same layout, so a byte comparison with last time's path usually replaces hashing
 * and probing the schema. */
struct key_cache {
	uint8_t len; /* 0: empty */
	bool prefix;
	int8_t slot;
	char path[CACHE_PATH];
};

struct dg_jsonl {
	const struct dg_schema *schema;
	struct dg_json *json;
	/* Decoded strings of the current record; never more bytes than the record itself. */
	char *scratch;
	size_t scratch_cap, scratch_len;
	char why[PATH_MAX_LEN + 64];
	struct key_cache cache[CACHE_TOKENS];
};

struct walk {
	struct dg_jsonl *p;
	const char *line;
	const struct dg_json_tok *tok;
	struct dg_evt *evt;
	const char **why;
	char path[PATH_MAX_LEN];
};

struct dg_jsonl *dg_jsonl_new(const struct dg_schema *schema, size_t max_line, unsigned max_depth)
{
	struct dg_jsonl *p = dg_xcalloc(1, sizeof *p);

	p->schema = schema;
	p->json = dg_json_new(max_depth);
	p->scratch_cap = max_line + 1;
	p->scratch = dg_xmalloc(p->scratch_cap);
	return p;
}

void dg_jsonl_free(struct dg_jsonl *p)
{
	if (p == NULL)
		return;
	dg_json_free(p->json);
	free(p->scratch);
	free(p);
}

/* The contents of a string token, decoded only if it holds an escape. */
static struct dg_str token_text(struct walk *w, const struct dg_json_tok *t)
{
	const char *s = w->line + t->start;
	size_t len = t->end - t->start;
	struct dg_str out = {s, len};

	if (memchr(s, '\\', len) != NULL && w->p->scratch_len + len <= w->p->scratch_cap) {
		out.p = w->p->scratch + w->p->scratch_len;
		out.len = dg_json_unescape(s, len, w->p->scratch + w->p->scratch_len);
		w->p->scratch_len += out.len;
	}
	return out;
}

static int fail(struct walk *w, const char *fmt, const char *field)
{
	snprintf(w->p->why, sizeof w->p->why, fmt, field);
	*w->why = w->p->why;
	return -1;
}

/* Stores the value at token vi into slot f. */
static int store(struct walk *w, int f, unsigned vi)
{
	const struct dg_json_tok *t = &w->tok[vi];
	struct dg_val *v = &w->evt->v[f];
	const char *name = dg_schema_name(w->p->schema, f);

	if (dg_evt_has(w->evt, f))
		return fail(w, "duplicate field %s", name);
	switch (t->type) {
	case DG_JSON_NULL:
		return 0;
	case DG_JSON_STRING:
		v->kind = DG_K_STR;
		v->text = token_text(w, t);
		break;
	case DG_JSON_NUMBER:
		v->kind = DG_K_NUM;
		v->text.p = w->line + t->start;
		v->text.len = t->end - t->start;
		v->is_int = dg_json_int(v->text.p, v->text.len, &v->num);
		break;
	case DG_JSON_TRUE:
	case DG_JSON_FALSE:
		v->kind = DG_K_BOOL;
		v->text.p = w->line + t->start;
		v->text.len = t->end - t->start;
		break;
	case DG_JSON_ARRAY:
		v->kind = DG_K_ARRAY;
		v->first = (uint16_t)w->evt->nitems;
		v->nitems = 0;
		for (unsigned i = vi + 1; i < t->next; i = w->tok[i].next) {
			const struct dg_json_tok *e = &w->tok[i];

			if (e->type == DG_JSON_OBJECT || e->type == DG_JSON_ARRAY)
				return fail(w, "field %s: nested value in array", name);
			if (e->type == DG_JSON_NULL)
				continue;
			if (w->evt->nitems == DG_MAX_ITEMS)
				return fail(w, "field %s: too many array elements", name);
			if (e->type == DG_JSON_STRING) {
				w->evt->items[w->evt->nitems++] = token_text(w, e);
			} else {
				w->evt->items[w->evt->nitems].p = w->line + e->start;
				w->evt->items[w->evt->nitems++].len = e->end - e->start;
			}
			v->nitems++;
		}
		break;
	case DG_JSON_OBJECT:
		return fail(w, "field %s: object where a value was expected", name);
	}
	w->evt->present |= 1ULL << f;
	return 0;
}

/* Resolves w->path[0..len), the path of the key at token i: its slot (or -1), and whether
 * some field lies below it. */
static int resolve(struct walk *w, unsigned i, size_t len, bool *prefix)
{
	struct key_cache *c = i < CACHE_TOKENS ? &w->p->cache[i] : NULL;
	int f;

	if (c != NULL && c->len == len && memcmp(c->path, w->path, len) == 0) {
		*prefix = c->prefix;
		return c->slot;
	}
	f = dg_schema_lookup(w->p->schema, w->path, len);
	*prefix = f < 0 && dg_schema_is_prefix(w->p->schema, w->path, len);
	if (c != NULL && len < CACHE_PATH) {
		memcpy(c->path, w->path, len);
		c->len = (uint8_t)len;
		c->slot = (int8_t)f;
		c->prefix = *prefix;
	}
	return f;
}

/* Walks the members of the object at token oi whose path is w->path[0..plen). */
static int walk_object(struct walk *w, unsigned oi, size_t plen)
{
	const struct dg_json_tok *obj = &w->tok[oi];
	unsigned i = oi + 1;

	while (i < obj->next) {
		const struct dg_json_tok *key = &w->tok[i];
		unsigned vi = i + 1;
		struct dg_str k = token_text(w, key);
		size_t len = plen + (plen > 0) + k.len;
		unsigned ki = i;
		bool prefix;
		int f;

		i = w->tok[vi].next;
		if (len >= PATH_MAX_LEN)
			continue; /* longer than any field we know */
		if (plen > 0)
			w->path[plen] = '.';
		memcpy(w->path + plen + (plen > 0), k.p, k.len);
		f = resolve(w, ki, len, &prefix);
		if (f >= 0) {
			if (store(w, f, vi) != 0)
				return -1;
		} else if (prefix && w->tok[vi].type == DG_JSON_OBJECT) {
			if (walk_object(w, vi, len) != 0)
				return -1;
		}
	}
	return 0;
}

int dg_jsonl_parse(struct dg_jsonl *p, const char *line, size_t len, struct dg_evt *evt,
                   const char **why)
{
	struct walk w = {.p = p, .line = line, .evt = evt, .why = why};
	const struct dg_str *ts;
	size_t at;

	dg_evt_clear(evt);
	p->scratch_len = 0;
	if (!dg_json_check_text(line, len, why, &at))
		return -1;
	if (dg_json_parse(p->json, line, len, why) < 0)
		return -1;
	w.tok = dg_json_tokens(p->json);
	if (walk_object(&w, 0, 0) != 0)
		return -1;
	ts = dg_evt_str(evt, DG_F_TIMESTAMP);
	if (ts == NULL) {
		*why = "missing @timestamp";
		return -1;
	}
	if (evt->v[DG_F_TIMESTAMP].kind != DG_K_STR || !dg_ts_parse(ts->p, ts->len, &evt->ts_ms)) {
		*why = "@timestamp is not an RFC 3339 time";
		return -1;
	}
	if (dg_evt_has(evt, DG_F_RECORDS)) {
		int64_t n;

		if (!dg_evt_int(evt, DG_F_RECORDS, &n) || n < 0) {
			*why = "dg.records is not a non-negative integer";
			return -1;
		}
	}
	return 0;
}
