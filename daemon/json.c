#include "dgaudit/json.h"

#include <stdlib.h>
#include <string.h>

#include "dgaudit/xmalloc.h"

struct dg_json {
	struct dg_json_tok *tok;
	uint32_t n, cap;
	unsigned max_depth;
	uint32_t *open; /* the tokens of the containers open now, outermost first */
};

struct dg_json *dg_json_new(unsigned max_depth)
{
	struct dg_json *j = dg_xcalloc(1, sizeof *j);

	j->max_depth = max_depth ? max_depth : DG_JSON_MAX_DEPTH;
	j->cap = 256;
	j->tok = dg_xreallocarray(NULL, j->cap, sizeof *j->tok);
	j->open = dg_xreallocarray(NULL, j->max_depth, sizeof *j->open);
	return j;
}

void dg_json_free(struct dg_json *j)
{
	if (j == NULL)
		return;
	free(j->tok);
	free(j->open);
	free(j);
}

const struct dg_json_tok *dg_json_tokens(const struct dg_json *j)
{
	return j->tok;
}

/* Bytes a string's scan stops at: the closing quote, an escape, a control character (which
 * JSON does not allow unescaped). */
static const uint8_t string_stop[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,         1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, ['"'] = 1, ['\\'] = 1,
};

static size_t skip_ws(const unsigned char *s, size_t i, size_t len)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

static bool is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static uint32_t add(struct dg_json *j, enum dg_json_type type, size_t start, size_t end)
{
	struct dg_json_tok *t;

	if (j->n == j->cap) {
		j->cap *= 2;
		j->tok = dg_xreallocarray(j->tok, j->cap, sizeof *j->tok);
	}
	t = &j->tok[j->n];
	t->type = type;
	t->start = (uint32_t)start;
	t->end = (uint32_t)end;
	t->size = 0;
	t->next = j->n + 1;
	return j->n++;
}

/* The string whose opening quote is at s[i]; returns the index past its closing quote, or 0. */
static size_t string(struct dg_json *j, const unsigned char *s, size_t i, size_t len,
                     const char **why)
{
	size_t start = ++i;

	for (;;) {
		while (i < len && !string_stop[s[i]])
			i++;
		if (i >= len) {
			*why = "truncated JSON";
			return 0;
		}
		if (s[i] == '"')
			break;
		if (s[i] != '\\') {
			*why = "control character in a string";
			return 0;
		}
		if (i + 1 >= len) {
			*why = "truncated JSON";
			return 0;
		}
		switch (s[i + 1]) {
		case '"':
		case '\\':
		case '/':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			i += 2;
			break;
		case 'u':
			if (i + 6 > len || !is_hex(s[i + 2]) || !is_hex(s[i + 3]) ||
			    !is_hex(s[i + 4]) || !is_hex(s[i + 5])) {
				*why = "invalid JSON";
				return 0;
			}
			i += 6;
			break;
		default:
			*why = "invalid JSON";
			return 0;
		}
	}
	add(j, DG_JSON_STRING, start, i);
	return i + 1;
}

/* A number (RFC 8259 grammar) or literal at s[i]; returns the index past it, or 0. */
static size_t scalar(struct dg_json *j, const unsigned char *s, size_t i, size_t len,
                     const char **why)
{
	size_t start = i;
	enum dg_json_type type = DG_JSON_NUMBER;

	if (s[i] == 't' || s[i] == 'f' || s[i] == 'n') {
		static const char *const lit[] = {"true", "false", "null"};
		static const enum dg_json_type types[] = {DG_JSON_TRUE, DG_JSON_FALSE,
		                                          DG_JSON_NULL};
		int k = s[i] == 't' ? 0 : s[i] == 'f' ? 1 : 2;
		size_t n = strlen(lit[k]);

		if (len - i < n || memcmp(s + i, lit[k], n) != 0) {
			*why = "invalid literal or number";
			return 0;
		}
		type = types[k];
		i += n;
	} else {
		if (s[i] == '-')
			i++;
		if (i < len && s[i] == '0')
			i++;
		else if (i < len && s[i] >= '1' && s[i] <= '9')
			while (i < len && is_digit(s[i]))
				i++;
		else
			goto bad;
		if (i < len && s[i] == '.') {
			size_t d = ++i;

			while (i < len && is_digit(s[i]))
				i++;
			if (i == d)
				goto bad;
		}
		if (i < len && (s[i] == 'e' || s[i] == 'E')) {
			size_t d;

			i++;
			if (i < len && (s[i] == '+' || s[i] == '-'))
				i++;
			d = i;
			while (i < len && is_digit(s[i]))
				i++;
			if (i == d)
				goto bad;
		}
	}
	/* a scalar ends at a separator, a closing bracket or white space */
	if (i < len && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\t' &&
	    s[i] != '\n' && s[i] != '\r')
		goto bad;
	add(j, type, start, i);
	return i;
bad:
	*why = "invalid literal or number";
	return 0;
}

/* One pass over the text with an explicit stack of open containers: linear in the text
 * whatever its shape, and refused past max_depth before any work is spent on deeper levels
 * (a tokeniser that searches back for the container a bracket closes is quadratic on deep
 * nesting: a 1 MiB line of brackets took minutes). */
int dg_json_parse(struct dg_json *j, const char *text, size_t len, const char **why)
{
	const unsigned char *s = (const unsigned char *)text;
	unsigned depth = 0;
	size_t i;

	if (len > INT32_MAX) {
		*why = "JSON text too long";
		return -1;
	}
	j->n = 0;
	i = skip_ws(s, 0, len);
	if (i == len) {
		*why = "empty record";
		return -1;
	}
	if (s[i] != '{') {
		*why = "not a JSON object";
		return -1;
	}
	for (;;) {
		struct dg_json_tok *top;
		bool object;

		/* a value starts at s[i] */
		if (s[i] == '{' || s[i] == '[') {
			if (depth == j->max_depth) {
				*why = "JSON nested too deeply";
				return -1;
			}
			object = s[i] == '{';
			j->open[depth++] = add(j, object ? DG_JSON_OBJECT : DG_JSON_ARRAY, i, 0);
			i = skip_ws(s, i + 1, len);
			if (i < len && s[i] == (object ? '}' : ']')) {
				top = &j->tok[j->open[--depth]];
				top->end = (uint32_t)++i;
				top->next = j->n;
				goto after;
			}
			if (!object)
				goto value;
			goto key;
		}
		if (s[i] == '"')
			i = string(j, s, i, len, why);
		else if (s[i] == '-' || is_digit(s[i]) || s[i] == 't' || s[i] == 'f' || s[i] == 'n')
			i = scalar(j, s, i, len, why);
		else
			goto unexpected;
		if (i == 0)
			return -1;
	after:
		/* a value ended before s[i]: a separator or a closing bracket follows */
		if (depth == 0) {
			if (skip_ws(s, i, len) != len) {
				*why = "more than one JSON value";
				return -1;
			}
			return (int)j->n;
		}
		i = skip_ws(s, i, len);
		if (i == len)
			goto truncated;
		top = &j->tok[j->open[depth - 1]];
		object = top->type == DG_JSON_OBJECT;
		top->size++;
		if (s[i] == ',') {
			i = skip_ws(s, i + 1, len);
			if (object)
				goto key;
			goto value;
		}
		if (s[i] != (object ? '}' : ']')) {
			*why = "missing or extra separator";
			return -1;
		}
		top->end = (uint32_t)++i;
		top->next = j->n;
		depth--;
		goto after;
	key:
		if (i == len)
			goto truncated;
		if (s[i] != '"') {
			*why = s[i] == '}' || s[i] == ',' ? "missing or extra separator"
			                                  : "object member without a value";
			return -1;
		}
		if ((i = string(j, s, i, len, why)) == 0)
			return -1;
		i = skip_ws(s, i, len);
		if (i == len)
			goto truncated;
		if (s[i] != ':') {
			*why = "object member without a value";
			return -1;
		}
		i = skip_ws(s, i + 1, len);
	value:
		if (i == len)
			goto truncated;
	}
truncated:
	*why = "truncated JSON";
	return -1;
unexpected:
	*why = s[i] == ',' || s[i] == ']' || s[i] == '}' ? "missing or extra separator"
	                                                 : "invalid JSON";
	return -1;
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

size_t dg_json_utf8_seq(const unsigned char *s, size_t len)
{
	const char *why;
	size_t at, n;

	if (s[0] < 0x80)
		return 1;
	n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	if (n > len || !dg_json_check_text((const char *)s, n, &why, &at))
		return 0;
	return n;
}
