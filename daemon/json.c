#include "dgaudit/json.h"

#include <stdlib.h>
#include <string.h>

#include "dgaudit/xmalloc.h"

#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS /* keeps ',' and '}' O(1) instead of a scan back over all tokens */
#include <jsmn.h>

struct dg_json {
	jsmntok_t *raw;
	struct dg_json_tok *tok;
	unsigned cap;
};

struct dg_json *dg_json_new(void)
{
	struct dg_json *j = dg_xcalloc(1, sizeof *j);

	j->cap = 256;
	j->raw = dg_xreallocarray(NULL, j->cap, sizeof *j->raw);
	j->tok = dg_xreallocarray(NULL, j->cap, sizeof *j->tok);
	return j;
}

void dg_json_free(struct dg_json *j)
{
	if (j == NULL)
		return;
	free(j->raw);
	free(j->tok);
	free(j);
}

const struct dg_json_tok *dg_json_tokens(const struct dg_json *j)
{
	return j->tok;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The bytes between two tokens must be whitespace around exactly the expected separator
 * (or nothing but whitespace when sep is 0). */
static bool gap_ok(const char *s, size_t from, size_t to, char sep)
{
	bool seen = sep == 0;

	/* Compact JSON, the common case: exactly the separator, or nothing. */
	if (to - from == (sep != 0))
		return sep == 0 || s[from] == sep;

	for (size_t i = from; i < to; i++) {
		if (is_ws(s[i]))
			continue;
		if (s[i] != sep || seen)
			return false;
		seen = true;
	}
	return seen;
}

static bool number_ok(const char *s, size_t len)
{
	size_t i = 0;

	if (i < len && s[i] == '-')
		i++;
	if (i == len)
		return false;
	if (s[i] == '0') {
		i++;
	} else if (s[i] >= '1' && s[i] <= '9') {
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	} else {
		return false;
	}
	if (i < len && s[i] == '.') {
		size_t d = ++i;

		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d)
			return false;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t d;

		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		d = i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d)
			return false;
	}
	return i == len;
}

static bool literal_is(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

/* Byte offset where a token's text begins and ends, quotes included. */
static size_t outer_start(const jsmntok_t *t)
{
	return (size_t)t->start - (t->type == JSMN_STRING);
}

static size_t outer_end(const jsmntok_t *t)
{
	return (size_t)t->end + (t->type == JSMN_STRING);
}

/* Walks jsmn's tokens in document order, checking what jsmn does not: separators between
 * tokens, that every key has exactly one value, literals, numbers and depth. Fills j->tok. */
static int validate(struct dg_json *j, const char *s, size_t len, int n, const char **why)
{
	struct frame {
		int tok;       /* container token */
		uint32_t left; /* children (keys and values, or elements) still to come */
		bool object;
		bool want_key;
	} stack[DG_JSON_MAX_DEPTH];
	int depth = 0;
	size_t cursor = 0; /* end of the previous token (or just past an opening bracket) */

	if (n < 1 || j->raw[0].type != JSMN_OBJECT) {
		*why = "not a JSON object";
		return -1;
	}
	for (int i = 0; i < n; i++) {
		const jsmntok_t *t = &j->raw[i];
		struct dg_json_tok *out = &j->tok[i];
		char sep = 0;

		if (t->start < 0 || t->end < 0) {
			*why = "truncated JSON";
			return -1;
		}
		if (depth > 0) {
			struct frame *f = &stack[depth - 1];
			bool first = cursor == (size_t)j->raw[f->tok].start + 1;

			if (f->object && f->want_key) {
				if (t->type != JSMN_STRING || t->size != 1) {
					*why = "object member without a value";
					return -1;
				}
				sep = first ? 0 : ',';
			} else if (f->object) {
				sep = ':';
			} else {
				sep = first ? 0 : ',';
			}
			f->want_key = f->object && !f->want_key;
			f->left--;
		}
		if (!gap_ok(s, cursor, outer_start(t), sep)) {
			*why = "missing or extra separator";
			return -1;
		}
		out->start = (uint32_t)t->start;
		out->end = (uint32_t)t->end;
		out->size = (uint32_t)t->size;
		switch (t->type) {
		case JSMN_OBJECT:
		case JSMN_ARRAY:
			if (depth == DG_JSON_MAX_DEPTH) {
				*why = "JSON nested too deeply";
				return -1;
			}
			out->type = t->type == JSMN_OBJECT ? DG_JSON_OBJECT : DG_JSON_ARRAY;
			stack[depth].tok = i;
			stack[depth].object = t->type == JSMN_OBJECT;
			stack[depth].left = (uint32_t)t->size * (t->type == JSMN_OBJECT ? 2 : 1);
			stack[depth].want_key = true;
			depth++;
			cursor = (size_t)t->start + 1;
			break;
		case JSMN_STRING:
			out->type = DG_JSON_STRING;
			cursor = outer_end(t);
			break;
		default: {
			const char *p = s + t->start;
			size_t plen = (size_t)(t->end - t->start);

			if (literal_is(p, plen, "true"))
				out->type = DG_JSON_TRUE;
			else if (literal_is(p, plen, "false"))
				out->type = DG_JSON_FALSE;
			else if (literal_is(p, plen, "null"))
				out->type = DG_JSON_NULL;
			else if (number_ok(p, plen))
				out->type = DG_JSON_NUMBER;
			else {
				*why = "invalid literal or number";
				return -1;
			}
			cursor = (size_t)t->end;
			break;
		}
		}
		out->next = (uint32_t)i + 1;
		/* Close every container whose children are all seen. */
		while (depth > 0 && stack[depth - 1].left == 0) {
			const jsmntok_t *c = &j->raw[stack[depth - 1].tok];

			if (!gap_ok(s, cursor, (size_t)c->end - 1, 0)) {
				*why = "missing or extra separator";
				return -1;
			}
			cursor = (size_t)c->end;
			j->tok[stack[depth - 1].tok].next = (uint32_t)i + 1;
			depth--;
		}
		if (depth == 0 && i + 1 < n) {
			*why = "more than one JSON value";
			return -1;
		}
	}
	if (depth != 0 || !gap_ok(s, cursor, len, 0)) {
		*why = depth != 0 ? "truncated JSON" : "more than one JSON value";
		return -1;
	}
	return n;
}

int dg_json_parse(struct dg_json *j, const char *text, size_t len, const char **why)
{
	jsmn_parser p;
	int n;

	if (len > INT32_MAX) {
		*why = "JSON text too long";
		return -1;
	}
	jsmn_init(&p);
	for (;;) {
		n = jsmn_parse(&p, text, len, j->raw, j->cap);
		if (n != JSMN_ERROR_NOMEM)
			break;
		/* jsmn resumes where it stopped once given a larger token array. */
		j->cap *= 2;
		j->raw = dg_xreallocarray(j->raw, j->cap, sizeof *j->raw);
		j->tok = dg_xreallocarray(j->tok, j->cap, sizeof *j->tok);
	}
	if (n == JSMN_ERROR_PART) {
		*why = "truncated JSON";
		return -1;
	}
	if (n < 0) {
		*why = "invalid JSON";
		return -1;
	}
	if (n == 0) {
		*why = "empty record";
		return -1;
	}
	return validate(j, text, len, n, why);
}

/* True if none of the 8 bytes has its high bit set or is below 0x20. */
static bool plain_ascii8(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;

	return ((w | (w - ones * 0x20)) & highs) == 0;
}

bool dg_json_check_text(const char *text, size_t len, const char **why, size_t *at)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0;

	while (i < len) {
		uint32_t cp;
		unsigned need;
		unsigned char c;

		if (i + 8 <= len) {
			uint64_t w;

			memcpy(&w, s + i, 8);
			if (plain_ascii8(w)) {
				i += 8;
				continue;
			}
		}
		c = s[i];
		if (c < 0x80) {
			if (c < 0x20 && c != '\t' && c != '\r' && c != '\n') {
				*why = c == 0 ? "NUL byte" : "control character";
				*at = i;
				return false;
			}
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else {
			goto bad;
		}
		if (i + need >= len)
			goto bad;
		for (unsigned k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		/* Overlong forms, surrogates and code points past U+10FFFF. */
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			goto bad;
		i += need + 1;
	}
	return true;
bad:
	*why = "invalid UTF-8";
	*at = i;
	return false;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool read_u16(const char *s, size_t len, size_t i, uint32_t *out)
{
	uint32_t v = 0;

	if (i + 4 > len)
		return false;
	for (int k = 0; k < 4; k++) {
		int h = hexval(s[i + k]);

		if (h < 0)
			return false;
		v = (v << 4) | (uint32_t)h;
	}
	*out = v;
	return true;
}

static size_t put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

size_t dg_json_unescape(const char *s, size_t len, char *out)
{
	size_t i = 0, o = 0;

	while (i < len) {
		uint32_t cp, lo;

		if (s[i] != '\\' || i + 1 >= len) {
			out[o++] = s[i++];
			continue;
		}
		switch (s[i + 1]) {
		case 'b':
			out[o++] = '\b';
			break;
		case 'f':
			out[o++] = '\f';
			break;
		case 'n':
			out[o++] = '\n';
			break;
		case 'r':
			out[o++] = '\r';
			break;
		case 't':
			out[o++] = '\t';
			break;
		case 'u':
			if (!read_u16(s, len, i + 2, &cp)) {
				out[o++] = s[i + 1];
				break;
			}
			i += 4;
			if (cp >= 0xd800 && cp <= 0xdbff && i + 2 + 6 <= len && s[i + 2] == '\\' &&
			    s[i + 3] == 'u' && read_u16(s, len, i + 4, &lo) && lo >= 0xdc00 &&
			    lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				i += 6;
			} else if (cp >= 0xd800 && cp <= 0xdfff) {
				cp = 0xfffd;
			}
			o += put_utf8(out + o, cp);
			break;
		default: /* '"', '\\', '/' */
			out[o++] = s[i + 1];
			break;
		}
		i += 2;
	}
	return o;
}

bool dg_json_int(const char *s, size_t len, int64_t *out)
{
	size_t i = 0;
	bool neg = false;
	uint64_t v = 0, limit;

	if (len > 0 && s[0] == '-') {
		neg = true;
		i = 1;
	}
	if (i == len || (s[i] == '0' && len - i > 1))
		return false;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < len; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9 || v > (limit - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}
