/* Strict JSON (RFC 8259) tokenised in one pass: separators, literals, number grammar, string
 * escapes and nesting depth are checked as the tokens are found, in time linear in the text
 * whatever its shape. Gives a flat token view with subtree skips. Pure and allocation-free once
 * warmed up. */
#ifndef DGAUDIT_JSON_H
#define DGAUDIT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DG_JSON_MAX_DEPTH 64 /* the default nesting limit: containers, the outermost included */

enum dg_json_type {
	DG_JSON_OBJECT,
	DG_JSON_ARRAY,
	DG_JSON_STRING,
	DG_JSON_NUMBER,
	DG_JSON_TRUE,
	DG_JSON_FALSE,
	DG_JSON_NULL
};

struct dg_json_tok {
	enum dg_json_type type;
	uint32_t start, end; /* strings: between the quotes, escapes not decoded */
	uint32_t size;       /* objects: members; arrays: elements */
	uint32_t next;       /* index of the first token after this one's subtree */
};

struct dg_json;

/* max_depth: the deepest nesting accepted (0: DG_JSON_MAX_DEPTH). */
struct dg_json *dg_json_new(unsigned max_depth);
void dg_json_free(struct dg_json *j);
/* Tokenises text, which must be exactly one JSON object (surrounding whitespace allowed).
 * Returns the token count (token 0 is the object) or -1 with *why set to a static reason. */
int dg_json_parse(struct dg_json *j, const char *text, size_t len, const char **why);
const struct dg_json_tok *dg_json_tokens(const struct dg_json *j);

/* Checks that text is valid UTF-8 without NUL or control characters other than tab, CR and LF.
 * On failure sets *why and the byte offset of the first bad byte. */
bool dg_json_check_text(const char *text, size_t len, const char **why, size_t *at);
/* Length of the valid UTF-8 sequence at s[0..len), or 0 if it is not one. */
size_t dg_json_utf8_seq(const unsigned char *s, size_t len);
/* Decodes the escapes of a string token's contents into out (at least len bytes) and returns
 * the decoded length. Lone surrogates become U+FFFD. */
size_t dg_json_unescape(const char *s, size_t len, char *out);
/* Parses an integral number literal (no fraction or exponent) that fits in int64_t. */
bool dg_json_int(const char *s, size_t len, int64_t *out);

#endif
