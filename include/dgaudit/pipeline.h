/* The one pipeline both modes share: bytes of each input are framed into records, parsed into
 * events, enriched from the asset catalogue and evaluated by the rule engine; findings and
 * malformed records go to the caller's hooks. `dgaudit run` feeds it in a loop to the end of its
 * inputs; the daemon feeds it from event-loop callbacks. No I/O of its own. */
#ifndef DGAUDIT_PIPELINE_H
#define DGAUDIT_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dgaudit/cjson.h"
#include "dgaudit/config.h"
#include "dgaudit/engine.h"
#include "dgaudit/framer.h"
#include "dgaudit/register.h"

struct dg_pipeline_hooks {
	/* A finding, rendered; the hook takes ownership of json. m->kind says what it is: a
	 * finding for every output, an alert (DG_MATCH_OPEN) for live ones only, a burst carried
	 * past the end of a period for the report only. */
	void (*finding)(void *arg, const struct dg_match *m, struct dg_cjson *json);
	/* A record that could not be audited, and why. */
	void (*malformed)(void *arg, uint32_t input, const struct dg_record *rec, const char *why);
	void *arg;
	/* Something the log says about the audit trail itself (a gap in it); may be NULL. */
	void (*integrity)(void *arg, uint32_t input, const char *type, const char *detail);
};

enum dg_format {
	DG_FORMAT_AUTO,
	DG_FORMAT_JSON,        /* JSON lines in the event model (or mapped) */
	DG_FORMAT_PG_STDERR,   /* PostgreSQL stderr log under a log_line_prefix, pgaudit */
	DG_FORMAT_PG_CSV,      /* PostgreSQL csvlog, pgaudit */
	DG_FORMAT_PG_JSON,     /* PostgreSQL 15 jsonlog, pgaudit */
	DG_FORMAT_MARIADB,     /* MariaDB server_audit */
	DG_FORMAT_LINUX_AUDIT, /* auditd's audit.log, RAW or ENRICHED */
	DG_FORMAT_COUNT
};

struct dg_input_stats {
	char *name;
	enum dg_format format;
	uint64_t start_offset; /* where auditing began in the (decompressed) stream */
	uint64_t end_offset;   /* just past the last complete record audited */
	uint64_t records;      /* records seen (a record may span lines), blank lines excluded */
	uint64_t malformed;
	uint64_t blank;
	char sha256[DG_HASH_HEXLEN]; /* of the bytes [start_offset, end_offset), once ended or
	                                closed */
};

struct dg_pipeline_totals {
	uint64_t records, malformed, findings;
	uint64_t by_severity[DG_SEV_COUNT];
	uint64_t *by_rule;                          /* indexed like the ruleset */
	struct dg_rule_stats *rule_stats;           /* the engine's, indexed like the ruleset */
	struct dg_register *sharing;                /* the period's data-sharing register */
	struct dg_exception_stats *exception_stats; /* indexed like its exceptions */
	int64_t first_ms, last_ms;                  /* event-time span of audited records */
	bool have_time;
};

struct dg_pipeline;

/* A pipeline for cfg (which must outlive it); pseudonym_key keys the HMAC of subject ids. */
struct dg_pipeline *dg_pipeline_new(const struct dg_config *cfg, const uint8_t *pseudonym_key,
                                    size_t keylen, const struct dg_pipeline_hooks *hooks);
/* Findings explain why they fired (dgaudit run --explain). */
void dg_pipeline_explain(struct dg_pipeline *p, bool on);
/* All input has ended: threshold bursts still open are complete, and reported. */
void dg_pipeline_finish(struct dg_pipeline *p);
/* A report period ends while input goes on: open bursts are reported as carried. */
void dg_pipeline_carry(struct dg_pipeline *p);
void dg_pipeline_free(struct dg_pipeline *p);
/* Starts an input named name (used in evidence) at a stream position; returns its number. */
uint32_t dg_pipeline_add_input(struct dg_pipeline *p, const char *name, enum dg_format format,
                               uint64_t offset, uint64_t line);
/* An ended input nothing refers to any more (reported, cited by no threshold window): its
 * memory is freed and its number goes to the next input added, so that a daemon's memory does
 * not grow with rotations. */
void dg_pipeline_release_input(struct dg_pipeline *p, uint32_t input);
bool dg_pipeline_released(const struct dg_pipeline *p, uint32_t input);
/* What tells the input from another of the same name, for finding ids: the daemon gives a
 * file's device and inode, as its live name is every generation's. Read from offset 0, the
 * input's key gets "/" and a hash of its first line appended before its first finding, which
 * tells a reused inode or a truncated generation apart too; a key with a "/" is one
 * dg_pipeline_key returned (restored from a checkpoint) and is kept as it is. */
#define DG_PIPELINE_KEY_MAX 64
void dg_pipeline_input_key(struct dg_pipeline *p, uint32_t input, const char *key);
const char *dg_pipeline_key(const struct dg_pipeline *p, uint32_t input);
/* Options of database log formats for an input: the server's log_line_prefix and the time
 * zone of times written without one (NULL: the config's; tz must outlive the pipeline). */
void dg_pipeline_input_options(struct dg_pipeline *p, uint32_t input, const char *prefix,
                               const struct dg_tz *tz);
/* Audits the next bytes of input; returns -1 with *cause if the input's format is unknown. */
int dg_pipeline_feed(struct dg_pipeline *p, uint32_t input, const char *buf, size_t len,
                     char **cause);
/* The input has been quiet for a while: a record whose end is only known when the next one
 * starts (a PostgreSQL stderr message, which may have continuation lines) is audited now. */
void dg_pipeline_flush(struct dg_pipeline *p, uint32_t input);
/* The input has ended: audits a last line without newline, and finishes its digest. */
void dg_pipeline_end_input(struct dg_pipeline *p, uint32_t input);
/* Ends a report period for an input that goes on (the daemon): *out gets the period's stats,
 * its digest covering exactly [start_offset, end_offset); the next period starts at
 * end_offset. A line still being read is dropped and must be fed again from end_offset. */
void dg_pipeline_close_period(struct dg_pipeline *p, uint32_t input, struct dg_input_stats *out);
/* Audits what parsers hold back to see what follows (a PostgreSQL login whose backend may fail
 * at once): before a checkpoint, so that nothing held is lost to a restart. */
void dg_pipeline_settle(struct dg_pipeline *p);
/* An event about dgaudit itself (dg.integrity = type, message = detail: its state lost, its
 * keys replaced), audited like any other, so a rule makes it a finding. */
void dg_pipeline_integrity(struct dg_pipeline *p, int64_t now_ms, const char *type,
                           const char *detail);
/* Whether the input's period so far is an audit: false, with why in out (cap bytes), when
 * more than max_ratio of its records are malformed, naming the reason given most (for a
 * PostgreSQL log, the log_line_prefix expected) and the first malformed line. */
bool dg_pipeline_health(const struct dg_pipeline *p, uint32_t input, double max_ratio, char *out,
                        size_t cap);
/* Where reading must resume after a restart (start of the first line not complete), and the
 * line number it will have. */
uint64_t dg_pipeline_resume(const struct dg_pipeline *p, uint32_t input, uint64_t *line);
/* The period digest's state (caller frees), and restoring it with the period's counters. */
char *dg_pipeline_save_digest(const struct dg_pipeline *p, uint32_t input);
int dg_pipeline_restore(struct dg_pipeline *p, uint32_t input, const struct dg_input_stats *st,
                        const char *digest_state);
/* Starts the totals of a new report period. */
void dg_pipeline_reset_totals(struct dg_pipeline *p);
struct dg_pipeline_totals *dg_pipeline_totals_mut(struct dg_pipeline *p);
/* The engine, whose threshold windows a checkpoint saves. */
struct dg_engine *dg_pipeline_engine(struct dg_pipeline *p);
const struct dg_input_stats *dg_pipeline_input(const struct dg_pipeline *p, uint32_t input);
uint32_t dg_pipeline_ninputs(const struct dg_pipeline *p);
const struct dg_pipeline_totals *dg_pipeline_totals(const struct dg_pipeline *p);
/* "auto", "json", "postgresql", "postgresql-csv", "postgresql-json", "mariadb"; -1 if unknown. */
int dg_pipeline_format_parse(const char *name);
const char *dg_pipeline_format_name(enum dg_format format);
/* The names, for usage and error messages. */
#define DG_FORMAT_KNOWN "json, postgresql, postgresql-csv, postgresql-json, mariadb, linux-audit"
#define DG_FORMAT_NAMES "auto, " DG_FORMAT_KNOWN

#endif
