/* A report period: what one signed report covers, and the output side both commands share.
 * It owns the report's identity and place in the chain (seq, id, previous digest, start), takes
 * findings, malformed records, integrity events and inputs' byte ranges from the pipeline and
 * its driver and hands each to every sink (sink.h), and keeps the durable order: sync every
 * sink, write the checkpoint, publish. `run` is one period; the daemon a chain of them, closed
 * on a schedule or when a sink is full. Time is passed in. */
#ifndef DGAUDIT_PERIOD_H
#define DGAUDIT_PERIOD_H

#include <stdbool.h>
#include <stdint.h>

#include "dgaudit/config.h"
#include "dgaudit/sink.h"

struct dg_period;

/* A period for mode ("run", "daemon"), at report 1 of a new chain, with no sinks yet. */
struct dg_period *dg_period_new(const char *mode);
void dg_period_free(struct dg_period *p);
/* Adds a sink, which the period owns from here; sinks are driven in the order added. */
void dg_period_add_sink(struct dg_period *p, struct dg_sink *s);
/* Continues the chain of the reports in dir (report_seq after its newest report's, linked to
 * its digest): 1 if there was one, 0 if dir holds none, -1 with *cause if its end cannot be
 * read (the chain then starts at 1). */
int dg_period_continue_chain(struct dg_period *p, const char *dir, char **cause);

/* A new report, identified now, in every sink. */
int dg_period_begin(struct dg_period *p, int64_t now_ms, char **cause);
/* A finding (see dg_pipeline_hooks for kinds), serialised once for every sink; input names
 * its first record's input. */
void dg_period_finding(struct dg_period *p, const struct dg_match *m, const struct dg_cjson *json,
                       const char *input);
void dg_period_malformed(struct dg_period *p, const char *input, const struct dg_record *rec,
                         const char *why);
void dg_period_integrity(struct dg_period *p, const struct dg_integrity *ev);
/* The same, from its parts; bytes -1 if none, input NULL if none. */
void dg_period_event(struct dg_period *p, int64_t now_ms, const char *type, const char *input,
                     int64_t bytes, const char *detail);
void dg_period_input(struct dg_period *p, const struct dg_report_input *in);
/* A sink wants the period closed (its report reached report.max_size). */
bool dg_period_full(struct dg_period *p);
/* A sink asks reading to wait (its backlog unacknowledged is at its bound). */
bool dg_period_busy(struct dg_period *p);
/* 0, or -1 with the first sink's trouble in why (cap bytes). */
int dg_period_health(struct dg_period *p, char *why, size_t cap);
/* Every sink's families for /metrics. */
void dg_period_metrics(struct dg_period *p, struct dg_buf *b);
/* Findings given since the last commit. */
uint64_t dg_period_pending(const struct dg_period *p);

/* The commit: every sink made durable, then checkpoint(arg, state, cause) writes the checkpoint
 * with state (the period's and its sinks' part, which it takes), then every sink publishes.
 * -1 with *cause if a sink could not sync or the checkpoint could not be written (then nothing
 * was published); DG_SINK_WAITING if a sink awaits an acknowledgement: nothing was written and
 * the commit is to be tried again. */
typedef int (*dg_period_checkpoint_fn)(void *arg, struct dg_cjson *state, char **cause);
int dg_period_commit(struct dg_period *p, dg_period_checkpoint_fn checkpoint, void *arg,
                     char **cause);
/* Closes the report: its metadata from cfg, totals and now; every sink closes (the bundle is
 * signed and put in place, its path in *path if not NULL, caller frees). The next period,
 * begun with dg_period_begin, follows it in the chain. -1 with *cause. */
int dg_period_close(struct dg_period *p, int64_t now_ms, const struct dg_config *cfg,
                    const struct dg_pipeline_totals *totals, char **path, char **cause);
/* At a restart: the period and its sinks from a checkpoint's state. Returns the enum
 * dg_sink_restored that holds for the period (PUBLISHED: the next one has begun; LOST: begun
 * again, and an integrity event says so), or -1 with *cause. */
int dg_period_restore(struct dg_period *p, const struct dg_cjson *state, int64_t now_ms,
                      char **cause);
/* Every sink reopens its files (dg_sink_ops.reopen); how many made something again, or -1. */
int dg_period_reopen(struct dg_period *p, bool rotated, char **cause);

const struct dg_period_id *dg_period_id(const struct dg_period *p);
/* Findings the last closed report held. */
size_t dg_period_closed_findings(const struct dg_period *p);

#endif
