/* The audit report (DESIGN.md, "Report bundle"): report.json as canonical JSON, written as a
 * stream. Canonical key order puts "findings" first, so findings go to the output as they are
 * found and the rest of the report follows when it ends: memory does not grow with findings.
 * Pure apart from writing to the stream it is given; time, id and chain position are passed in. */
#ifndef DGAUDIT_REPORT_H
#define DGAUDIT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dgaudit/buf.h"
#include "dgaudit/cjson.h"
#include "dgaudit/config.h"
#include "dgaudit/framer.h"
#include "dgaudit/pipeline.h"
#include "dgaudit/rules.h"
#include "dgaudit/source.h"

#define DG_REPORT_SCHEMA "dgaudit.report/1"

struct dg_report_info {
	const char *report_id;
	uint64_t seq;
	const char *prev_sha256; /* hex of the previous report.json, NULL for the first */
	int64_t generated_ms;
	const char *host, *version, *mode;
	const char *config_sha256, *rules_sha256;
	const struct dg_config_file *files; /* list, exception and site rule files read */
	size_t nfiles;
};

struct dg_report_input {
	const char *path;
	const char *format;
	const struct dg_source_id *id; /* NULL for standard input */
	bool compressed;
	uint64_t start, end; /* byte range audited, in the decompressed stream */
	uint64_t records, malformed;
	const char *sha256;      /* of the audited bytes */
	const char *file_sha256; /* of the file as stored, when that differs (compressed) */
	const char *error;       /* why it could not be read to its end, or NULL */
};

/* An event about the audit itself: start, stop, reload, read error, gap, truncation. */
struct dg_integrity {
	int64_t time_ms;
	const char *type;
	const char *input;  /* the input it concerns, NULL if none */
	int64_t bytes;      /* the bytes it concerns (a gap's lost), -1 if none */
	const char *detail; /* what happened, for people */
};

struct dg_report;

/* A report written to out (not closed by the report), itemising at most max_malformed
 * malformed records (all are counted). */
struct dg_report *dg_report_new(FILE *out, size_t max_malformed);
void dg_report_free(struct dg_report *r);
/* Writes a finding, len bytes of compact JSON, into the report. */
void dg_report_finding(struct dg_report *r, const char *json, size_t len);
void dg_report_malformed(struct dg_report *r, const char *input, const struct dg_record *rec,
                         const char *why);
void dg_report_input(struct dg_report *r, const struct dg_report_input *in);
void dg_report_integrity(struct dg_report *r, const struct dg_integrity *ev);
size_t dg_report_findings(const struct dg_report *r);
/* Whether an integrity event of this type was recorded. */
bool dg_report_has_integrity(const struct dg_report *r, const char *type);
/* The length of report.json written so far (findings are written as they come; the rest,
 * held in memory, is written at the end). */
uint64_t dg_report_bytes(const struct dg_report *r);
/* The report's own state (lists and counts, not the findings already written), for a
 * checkpoint; and a report continuing one: out already holds the document up to where the
 * saved state was taken. NULL if state is malformed. */
struct dg_cjson *dg_report_save(const struct dg_report *r);
struct dg_report *dg_report_resume(FILE *out, size_t max_malformed, const struct dg_cjson *state);
/* Writes the rest of report.json, once; afterwards only dg_report_free may be called.
 * Returns 0, or -1 if the stream failed at any point. */
int dg_report_finish(struct dg_report *r, const struct dg_report_info *info,
                     const struct dg_pipeline_totals *totals, const struct dg_ruleset *rs);

#endif
