/* Outputs. Every output of an audit (the signed report bundle, the findings log or standard
 * output, the daemon's journal, a syslog collector) is a sink behind this one interface, driven
 * by the period (period.h) in one order for `run` and `daemon` alike:
 *
 *   begin ─► finding | malformed | integrity | input ... ─► sync ─► save ─► (checkpoint) ─►
 *   publish ─► ... ─► close ─► begin ...
 *
 * sync makes what a sink was given durable (or acknowledged) before the checkpoint that passes
 * over it is written; save puts what a restart needs into the checkpoint; publish lets it be
 * seen once the checkpoint holds; restore, at a restart, cuts back or resumes to what the
 * checkpoint says. A new output is one module that fills in a dg_sink_ops and one line where
 * the period is configured. Every operation may be NULL. */
#ifndef DGAUDIT_SINK_H
#define DGAUDIT_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dgaudit/cjson.h"
#include "dgaudit/engine.h"
#include "dgaudit/framer.h"
#include "dgaudit/pipeline.h"
#include "dgaudit/report.h"
#include "dgaudit/rules.h"

/* A finding as every sink gets it: rendered once, serialised once. */
struct dg_sink_finding {
	const struct dg_match *match; /* rule, kind (finding, alert, carried), first record */
	const struct dg_cjson *json;  /* the finding object */
	const char *line;             /* the same as one line of compact JSON, no newline */
	size_t len;
	const char *id;    /* its stable id */
	const char *input; /* the name of its first record's input, "dgaudit" for its own */
};

/* Which report period a sink is in. */
struct dg_period_id {
	uint64_t seq;
	const char *report_id;
	const char *name;        /* the bundle's directory name */
	const char *prev_sha256; /* of the previous report.json, NULL for the first */
	int64_t started_ms;
};

/* A period closing: what its report says; the sink that signs it gives back the digest that
 * links the next report, and where it put it. */
struct dg_period_end {
	const struct dg_report_info *info;
	const struct dg_pipeline_totals *totals;
	const struct dg_ruleset *rules;
	char sha256[65]; /* out: report.json's digest */
	char *path;      /* out: the bundle's path (the period frees it) */
	size_t findings; /* out: findings the report holds */
};

/* What sync says besides 0 and -1: the sink waits for a collector to acknowledge what it was
 * given, and the checkpoint must not pass over it yet; the commit is tried again. */
#define DG_SINK_WAITING 1

/* What a restore found. */
enum dg_sink_restored {
	DG_SINK_RESUMED,   /* the period goes on where the checkpoint left it */
	DG_SINK_PUBLISHED, /* its report was put in place before the crash: the next one begins */
	DG_SINK_LOST,      /* what the period had written is gone: it begins again */
};

struct dg_sink_ops {
	const char *name;
	int (*begin)(void *self, const struct dg_period_id *id, char **cause);
	void (*finding)(void *self, const struct dg_sink_finding *f);
	void (*malformed)(void *self, const char *input, const struct dg_record *rec,
	                  const char *why);
	void (*integrity)(void *self, const struct dg_integrity *ev);
	/* An input's part in the period: listed at its end, or at the period's. */
	void (*input)(void *self, const struct dg_report_input *in);
	/* The sink wants the period closed now (a report at report.max_size). */
	bool (*full)(void *self);
	/* Reading should wait: what the sink holds unacknowledged reached its bound. */
	bool (*busy)(void *self);
	/* 0, DG_SINK_WAITING, or -1 with *cause. */
	int (*sync)(void *self, char **cause);
	/* Into the checkpoint's period object: keys of its own. */
	void (*save)(void *self, struct dg_cjson *state);
	/* From it, at a restart; -1 with *cause, else an enum dg_sink_restored (sha256 filled in
	 * for DG_SINK_PUBLISHED). */
	int (*restore)(void *self, const struct dg_cjson *state, const struct dg_period_id *id,
	               char sha256[65], char **cause);
	/* The checkpoint holds what was synced; end: the period is closing. */
	void (*publish)(void *self, bool end);
	int (*close)(void *self, struct dg_period_end *end, char **cause);
	/* rotated: its files were rotated away (SIGUSR1), open them again by name; otherwise put
	 * back what went missing (the state directory deleted). 1 if something was made again. */
	int (*reopen)(void *self, bool rotated, char **cause);
	/* Its families for /metrics (metrics.h). */
	void (*metrics)(void *self, struct dg_buf *b);
	/* -1, and why in why (cap bytes), when a monitor should look (a collector unreachable). */
	int (*health)(void *self, char *why, size_t cap);
	void (*free)(void *self);
};

struct dg_sink;

/* A sink of ops over self, which dg_sink_free frees with ops->free. */
struct dg_sink *dg_sink_new(const struct dg_sink_ops *ops, void *self);
void dg_sink_free(struct dg_sink *s);
const char *dg_sink_name(const struct dg_sink *s);

/* The operations, each a no-op (0, false) where the sink has none. */
int dg_sink_begin(struct dg_sink *s, const struct dg_period_id *id, char **cause);
void dg_sink_finding(struct dg_sink *s, const struct dg_sink_finding *f);
void dg_sink_malformed(struct dg_sink *s, const char *input, const struct dg_record *rec,
                       const char *why);
void dg_sink_integrity(struct dg_sink *s, const struct dg_integrity *ev);
void dg_sink_input(struct dg_sink *s, const struct dg_report_input *in);
bool dg_sink_full(struct dg_sink *s);
bool dg_sink_busy(struct dg_sink *s);
int dg_sink_sync(struct dg_sink *s, char **cause);
void dg_sink_save(struct dg_sink *s, struct dg_cjson *state);
int dg_sink_restore(struct dg_sink *s, const struct dg_cjson *state, const struct dg_period_id *id,
                    char sha256[65], char **cause);
void dg_sink_publish(struct dg_sink *s, bool end);
int dg_sink_close(struct dg_sink *s, struct dg_period_end *end, char **cause);
int dg_sink_reopen(struct dg_sink *s, bool rotated, char **cause);
void dg_sink_metrics(struct dg_sink *s, struct dg_buf *b);
int dg_sink_health(struct dg_sink *s, char *why, size_t cap);

#endif
