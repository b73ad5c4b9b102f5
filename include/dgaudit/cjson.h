/* JSON values written canonically (RFC 8785 for integers-only documents): object keys sorted by
 * UTF-16 code units, no whitespace, the RFC's string escaping, integers only. Also parses JSON
 * back into values so a reader can check that a document is canonical. Not for the hot path:
 * findings and reports only. */
#ifndef DGAUDIT_CJSON_H
#define DGAUDIT_CJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dgaudit/buf.h"

enum dg_cjson_type {
	DG_CJSON_NULL,
	DG_CJSON_BOOL,
	DG_CJSON_INT,
	DG_CJSON_STRING,
	DG_CJSON_ARRAY,
	DG_CJSON_OBJECT,
	DG_CJSON_RAW, /* already canonical text, written as is */
	DG_CJSON_NONE /* no value at all: the type of NULL, as a lookup that found nothing gives */
};

struct dg_cjson;

/* Constructors; the caller owns the result until it is added to a container. */
struct dg_cjson *dg_cjson_object(void);
struct dg_cjson *dg_cjson_array(void);
struct dg_cjson *dg_cjson_null(void);
struct dg_cjson *dg_cjson_bool(bool b);
struct dg_cjson *dg_cjson_int(int64_t n);
/* Bytes that are not valid UTF-8 are replaced by U+FFFD, so output is always valid. */
struct dg_cjson *dg_cjson_str(const char *s);
struct dg_cjson *dg_cjson_strn(const char *s, size_t len);
/* Text that is already canonical JSON (e.g. a finding written earlier), copied. */
struct dg_cjson *dg_cjson_raw(const char *text, size_t len);
void dg_cjson_free(struct dg_cjson *v);
/* A deep copy of v; NULL for NULL. */
struct dg_cjson *dg_cjson_clone(const struct dg_cjson *v);

/* Adds or replaces obj[key], taking ownership of val; returns val. */
struct dg_cjson *dg_cjson_set(struct dg_cjson *obj, const char *key, struct dg_cjson *val);
/* Appends val to arr, taking ownership; returns val. */
struct dg_cjson *dg_cjson_push(struct dg_cjson *arr, struct dg_cjson *val);

enum dg_cjson_type dg_cjson_type(const struct dg_cjson *v);
/* obj[key], or NULL if obj is not an object or has no such key. */
const struct dg_cjson *dg_cjson_get(const struct dg_cjson *obj, const char *key);
size_t dg_cjson_len(const struct dg_cjson *v); /* array elements or object members */
const struct dg_cjson *dg_cjson_at(const struct dg_cjson *arr, size_t i);
/* The member key and value at i of an object, in sorted order. */
const char *dg_cjson_key_at(const struct dg_cjson *obj, size_t i);
const char *dg_cjson_string(const struct dg_cjson *v); /* NULL unless a string */
bool dg_cjson_intval(const struct dg_cjson *v, int64_t *out);
bool dg_cjson_boolval(const struct dg_cjson *v, bool *out);

/* Appends the canonical form of v to out. */
void dg_cjson_write(const struct dg_cjson *v, struct dg_buf *out);
/* Appends s as a canonical JSON string literal. */
void dg_cjson_write_string(struct dg_buf *out, const char *s, size_t len);
/* Parses a JSON document whose numbers are all integers; NULL with *why on failure. */
struct dg_cjson *dg_cjson_parse(const char *text, size_t len, const char **why);

#endif
