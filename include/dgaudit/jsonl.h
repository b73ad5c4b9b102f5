/* JSON lines in the event model, nested ({"user":{"name":..}}) or dotted ({"user.name":..}) or
 * any mix. Only fields the schema holds are extracted; subtrees that lead to none are skipped
 * without decoding. No allocation per record. */
#ifndef DGAUDIT_JSONL_H
#define DGAUDIT_JSONL_H

#include <stddef.h>

#include "dgaudit/evt.h"

struct dg_jsonl;

/* A parser for records of at most max_line bytes, nested at most max_depth deep (0: the
 * default); schema must outlive it. */
struct dg_jsonl *dg_jsonl_new(const struct dg_schema *schema, size_t max_line, unsigned max_depth);
void dg_jsonl_free(struct dg_jsonl *p);
/* Parses one record into evt, which then points into line and into the parser: valid until the
 * next call. Returns 0, or -1 with *why describing the defect (valid until the next call). */
int dg_jsonl_parse(struct dg_jsonl *p, const char *line, size_t len, struct dg_evt *evt,
                   const char **why);

#endif
