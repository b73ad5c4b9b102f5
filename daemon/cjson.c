#include "dgaudit/cjson.h"

#include <stdlib.h>
#include <string.h>

#include "dgaudit/json.h"
#include "dgaudit/xmalloc.h"

struct member {
	char *key;
	struct dg_cjson *val;
};

struct dg_cjson {
	enum dg_cjson_type type;
	bool b;
	int64_t n;
	char *s; /* strings and raw text */
	size_t slen;
	/* Arrays hold items; objects hold members kept sorted by key. */
	struct dg_cjson **items;
	struct member *members;
	size_t len, cap;
};

static struct dg_cjson *node(enum dg_cjson_type type)
{
	struct dg_cjson *v = dg_xcalloc(1, sizeof *v);

	v->type = type;
	return v;
}

struct dg_cjson *dg_cjson_object(void)
{
	return node(DG_CJSON_OBJECT);
}

struct dg_cjson *dg_cjson_array(void)
{
	return node(DG_CJSON_ARRAY);
}

struct dg_cjson *dg_cjson_null(void)
{
	return node(DG_CJSON_NULL);
}

struct dg_cjson *dg_cjson_bool(bool b)
{
	struct dg_cjson *v = node(DG_CJSON_BOOL);

	v->b = b;
	return v;
}

struct dg_cjson *dg_cjson_int(int64_t n)
{
	struct dg_cjson *v = node(DG_CJSON_INT);

	v->n = n;
	return v;
}

struct dg_cjson *dg_cjson_strn(const char *s, size_t len)
{
	struct dg_cjson *v = node(DG_CJSON_STRING);
	struct dg_buf b = {0};
	const unsigned char *u = (const unsigned char *)s;
	size_t ok = 0, k;

	/* Valid UTF-8, nearly always: one exact copy, not a buffer grown by doubling (a parsed
	 * checkpoint of 50,000 files is mostly strings). */
	while (ok < len && (k = dg_json_utf8_seq(u + ok, len - ok)) > 0)
		ok += k;
	if (ok == len) {
		v->slen = len;
		v->s = dg_xmalloc(len + 1); /* may hold a NUL (\u0000): not strndup */
		memcpy(v->s, s, len);
		v->s[len] = '\0';
		return v;
	}
	for (size_t i = 0; i < len;) {
		size_t n = dg_json_utf8_seq(u + i, len - i);

		if (n == 0) {
			dg_buf_add(&b, "\xef\xbf\xbd", 3);
			i++;
		} else {
			dg_buf_add(&b, u + i, n);
			i += n;
		}
	}
	v->slen = b.len;
	v->s = dg_buf_steal(&b);
	return v;
}

struct dg_cjson *dg_cjson_str(const char *s)
{
	return dg_cjson_strn(s, strlen(s));
}

struct dg_cjson *dg_cjson_raw(const char *text, size_t len)
{
	struct dg_cjson *v = node(DG_CJSON_RAW);

	v->s = dg_xstrndup(text, len);
	v->slen = len;
	return v;
}

void dg_cjson_free(struct dg_cjson *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; v->type == DG_CJSON_ARRAY && i < v->len; i++)
		dg_cjson_free(v->items[i]);
	for (size_t i = 0; v->type == DG_CJSON_OBJECT && i < v->len; i++) {
		free(v->members[i].key);
		dg_cjson_free(v->members[i].val);
	}
	free(v->items);
	free(v->members);
	free(v->s);
	free(v);
}

struct dg_cjson *dg_cjson_clone(const struct dg_cjson *v)
{
	struct dg_cjson *c;

	if (v == NULL)
		return NULL;
	c = node(v->type);
	c->b = v->b;
	c->n = v->n;
	if (v->s != NULL) {
		c->s = dg_xstrndup(v->s, v->slen);
		c->slen = v->slen;
	}
	for (size_t i = 0; v->type == DG_CJSON_ARRAY && i < v->len; i++)
		dg_cjson_push(c, dg_cjson_clone(v->items[i]));
	for (size_t i = 0; v->type == DG_CJSON_OBJECT && i < v->len; i++)
		dg_cjson_set(c, v->members[i].key, dg_cjson_clone(v->members[i].val));
	return c;
}

/* Next code point of a valid UTF-8 string, advancing *i. */
static uint32_t next_cp(const unsigned char *s, size_t *i)
{
	uint32_t c = s[*i];

	if (c < 0x80) {
		*i += 1;
		return c;
	}
	if (c < 0xe0) {
		c = ((c & 0x1f) << 6) | (s[*i + 1] & 0x3f);
		*i += 2;
	} else if (c < 0xf0) {
		c = ((c & 0x0f) << 12) | ((s[*i + 1] & 0x3fu) << 6) | (s[*i + 2] & 0x3f);
		*i += 3;
	} else {
		c = ((c & 0x07) << 18) | ((s[*i + 1] & 0x3fu) << 12) | ((s[*i + 2] & 0x3fu) << 6) |
		    (s[*i + 3] & 0x3f);
		*i += 4;
	}
	return c;
}

/* RFC 8785 orders keys by their UTF-16 code units; that differs from UTF-8 byte order only
 * between supplementary characters and U+E000..U+FFFF. */
static int utf16_cmp(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
	size_t i = 0, j = 0;

	while (x[i] != '\0' && y[j] != '\0') {
		uint32_t ca = next_cp(x, &i), cb = next_cp(y, &j);
		uint32_t ua, ub;

		if (ca == cb)
			continue;
		ua = ca >= 0x10000 ? 0xd800 + ((ca - 0x10000) >> 10) : ca;
		ub = cb >= 0x10000 ? 0xd800 + ((cb - 0x10000) >> 10) : cb;
		if (ua != ub)
			return ua < ub ? -1 : 1;
		ua = 0xdc00 + ((ca - 0x10000) & 0x3ff);
		ub = 0xdc00 + ((cb - 0x10000) & 0x3ff);
		return ua < ub ? -1 : 1;
	}
	return (x[i] != '\0') - (y[j] != '\0');
}

/* Index of key in obj, or the insertion point as -(index + 1). */
static long find_member(const struct dg_cjson *obj, const char *key)
{
	size_t lo = 0, hi = obj->len;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = utf16_cmp(obj->members[mid].key, key);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

struct dg_cjson *dg_cjson_set(struct dg_cjson *obj, const char *key, struct dg_cjson *val)
{
	struct dg_cjson *k = dg_cjson_str(key); /* keys too must be valid UTF-8 */
	long at = find_member(obj, k->s);
	size_t pos;

	if (at >= 0) {
		dg_cjson_free(obj->members[at].val);
		obj->members[at].val = val;
		dg_cjson_free(k);
		return val;
	}
	pos = (size_t)(-at - 1);
	if (obj->len == obj->cap) {
		obj->cap = obj->cap ? obj->cap * 2 : 8;
		obj->members = dg_xreallocarray(obj->members, obj->cap, sizeof *obj->members);
	}
	memmove(obj->members + pos + 1, obj->members + pos,
	        (obj->len - pos) * sizeof *obj->members);
	obj->members[pos].key = k->s;
	obj->members[pos].val = val;
	obj->len++;
	k->s = NULL;
	dg_cjson_free(k);
	return val;
}

struct dg_cjson *dg_cjson_push(struct dg_cjson *arr, struct dg_cjson *val)
{
	if (arr->len == arr->cap) {
		arr->cap = arr->cap ? arr->cap * 2 : 8;
		arr->items = dg_xreallocarray(arr->items, arr->cap, sizeof *arr->items);
	}
	arr->items[arr->len++] = val;
	return val;
}

enum dg_cjson_type dg_cjson_type(const struct dg_cjson *v)
{
	return v != NULL ? v->type : DG_CJSON_NONE; /* so a chain of lookups needs no NULL check */
}

const struct dg_cjson *dg_cjson_get(const struct dg_cjson *obj, const char *key)
{
	long at;

	if (obj == NULL || obj->type != DG_CJSON_OBJECT)
		return NULL;
	at = find_member(obj, key);
	return at >= 0 ? obj->members[at].val : NULL;
}

size_t dg_cjson_len(const struct dg_cjson *v)
{
	return v != NULL && (v->type == DG_CJSON_ARRAY || v->type == DG_CJSON_OBJECT) ? v->len : 0;
}

const struct dg_cjson *dg_cjson_at(const struct dg_cjson *arr, size_t i)
{
	if (arr == NULL || i >= dg_cjson_len(arr))
		return NULL;
	return arr->type == DG_CJSON_ARRAY ? arr->items[i] : arr->members[i].val;
}

const char *dg_cjson_key_at(const struct dg_cjson *obj, size_t i)
{
	if (obj == NULL || obj->type != DG_CJSON_OBJECT || i >= obj->len)
		return NULL;
	return obj->members[i].key;
}

const char *dg_cjson_string(const struct dg_cjson *v)
{
	return v != NULL && v->type == DG_CJSON_STRING ? v->s : NULL;
}

bool dg_cjson_intval(const struct dg_cjson *v, int64_t *out)
{
	if (v == NULL || v->type != DG_CJSON_INT)
		return false;
	*out = v->n;
	return true;
}

bool dg_cjson_boolval(const struct dg_cjson *v, bool *out)
{
	if (v == NULL || v->type != DG_CJSON_BOOL)
		return false;
	*out = v->b;
	return true;
}

void dg_cjson_write_string(struct dg_buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	dg_buf_reserve(out, len + 2);
	dg_buf_addc(out, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7];
		size_t n = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		dg_buf_add(out, s + run, i - run);
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\t':
			esc[1] = 't';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			n = 6;
		}
		dg_buf_add(out, esc, n);
	}
	dg_buf_add(out, s + run, len - run);
	dg_buf_addc(out, '"');
}

void dg_cjson_write(const struct dg_cjson *v, struct dg_buf *out)
{
	switch (v->type) {
	case DG_CJSON_NULL:
	case DG_CJSON_NONE: /* no value is stored with this type */
		dg_buf_adds(out, "null");
		break;
	case DG_CJSON_BOOL:
		dg_buf_adds(out, v->b ? "true" : "false");
		break;
	case DG_CJSON_INT:
		dg_buf_printf(out, "%lld", (long long)v->n);
		break;
	case DG_CJSON_STRING:
		dg_cjson_write_string(out, v->s, v->slen);
		break;
	case DG_CJSON_RAW:
		dg_buf_add(out, v->s, v->slen);
		break;
	case DG_CJSON_ARRAY:
		dg_buf_addc(out, '[');
		for (size_t i = 0; i < v->len; i++) {
			if (i > 0)
				dg_buf_addc(out, ',');
			dg_cjson_write(v->items[i], out);
		}
		dg_buf_addc(out, ']');
		break;
	case DG_CJSON_OBJECT:
		dg_buf_addc(out, '{');
		for (size_t i = 0; i < v->len; i++) {
			if (i > 0)
				dg_buf_addc(out, ',');
			dg_cjson_write_string(out, v->members[i].key, strlen(v->members[i].key));
			dg_buf_addc(out, ':');
			dg_cjson_write(v->members[i].val, out);
		}
		dg_buf_addc(out, '}');
		break;
	}
}

struct parse {
	const char *text;
	const struct dg_json_tok *tok;
	char *scratch;
	const char **why;
};

static struct dg_cjson *build(struct parse *p, unsigned i)
{
	const struct dg_json_tok *t = &p->tok[i];
	const char *s = p->text + t->start;
	size_t len = t->end - t->start;
	struct dg_cjson *v = NULL;
	int64_t n;

	switch (t->type) {
	case DG_JSON_NULL:
		return dg_cjson_null();
	case DG_JSON_TRUE:
	case DG_JSON_FALSE:
		return dg_cjson_bool(t->type == DG_JSON_TRUE);
	case DG_JSON_NUMBER:
		if (!dg_json_int(s, len, &n)) {
			*p->why = "number is not an integer";
			return NULL;
		}
		return dg_cjson_int(n);
	case DG_JSON_STRING:
		return dg_cjson_strn(p->scratch, dg_json_unescape(s, len, p->scratch));
	case DG_JSON_ARRAY:
		v = dg_cjson_array();
		for (unsigned k = i + 1; k < t->next; k = p->tok[k].next) {
			struct dg_cjson *e = build(p, k);

			if (e == NULL)
				goto fail;
			dg_cjson_push(v, e);
		}
		return v;
	case DG_JSON_OBJECT:
		v = dg_cjson_object();
		for (unsigned k = i + 1; k < t->next; k = p->tok[k + 1].next) {
			const struct dg_json_tok *kt = &p->tok[k];
			size_t klen =
			    dg_json_unescape(p->text + kt->start, kt->end - kt->start, p->scratch);
			char *key = dg_xstrndup(p->scratch, klen);
			struct dg_cjson *e;

			if (dg_cjson_get(v, key) != NULL) {
				*p->why = "duplicate key";
				free(key);
				goto fail;
			}
			e = build(p, k + 1);
			if (e == NULL) {
				free(key);
				goto fail;
			}
			dg_cjson_set(v, key, e);
			free(key);
		}
		return v;
	}
fail:
	dg_cjson_free(v);
	return NULL;
}

struct dg_cjson *dg_cjson_parse(const char *text, size_t len, const char **why)
{
	struct dg_json *j = dg_json_new(0);
	struct parse p = {.text = text, .why = why};
	struct dg_cjson *v = NULL;
	size_t at;

	if (!dg_json_check_text(text, len, why, &at) || dg_json_parse(j, text, len, why) < 0)
		goto out;
	p.tok = dg_json_tokens(j);
	p.scratch = dg_xmalloc(len + 1);
	v = build(&p, 0);
	free(p.scratch);
out:
	dg_json_free(j);
	return v;
}
