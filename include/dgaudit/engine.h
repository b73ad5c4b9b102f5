/* Evaluates a compiled ruleset on events and reports what it finds through a callback. An
 * event meets only the rules that can match it (indexed by event.action and by the fields
 * they need). A match that an unexpired exception covers is exempt and counted for that
 * exception; one an expired exception would have covered is reported, saying so. Threshold
 * rules keep windows and bursts (window.h), sequence rules their steps (seq.h); repeats of a
 * finding for the same key within a rule's suppress period are counted, and the count goes
 * with the next finding. Per-rule and per-exception counters are kept for the report. Pure:
 * time is the events' own, and the clock that samples the cost of rules is passed in. */
#ifndef DGAUDIT_ENGINE_H
#define DGAUDIT_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dgaudit/cjson.h"
#include "dgaudit/evt.h"
#include "dgaudit/rules.h"
#include "dgaudit/seq.h"
#include "dgaudit/window.h"

enum dg_match_kind {
	DG_MATCH_FINDING, /* complete: a single event, or a sequence */
	DG_MATCH_OPEN,    /* a threshold reached, the burst goes on: an alert for live outputs */
	DG_MATCH_CLOSE,   /* a threshold's burst is over: its finding, with the true aggregate */
	DG_MATCH_CARRIED, /* a burst still going on when a report period ends */
};

struct dg_match {
	enum dg_match_kind kind;
	const struct dg_rule *rule;
	const struct dg_evt *evt; /* the event that made the finding (for a burst, opened it) */
	const struct dg_ref *ref; /* its record */
	const struct dg_window_fire *fire; /* threshold rules */
	const struct dg_seq_fire *seq;     /* sequence rules */
	const char *group;                 /* group_by values joined by 0x1f */
	size_t grouplen;
	uint64_t repeats; /* findings of this rule and key suppressed since the last one shown */
	const struct dg_exception *expired[4]; /* exceptions that matched but had expired */
	size_t nexpired;
};

typedef void dg_engine_cb(const struct dg_match *m, void *arg);

/* Counters per rule, for the report and metrics. */
struct dg_rule_stats {
	uint64_t evaluations;     /* events the rule was evaluated on (after the index) */
	uint64_t matches;         /* of those, events that matched (a step, for sequences) */
	uint64_t exempted;        /* matches an exception covered */
	uint64_t findings;        /* findings made (not counting alerts) */
	uint64_t suppressed;      /* findings held back as repeats */
	uint64_t cpu_ns;          /* time spent evaluating it, estimated from a sample of events */
	uint64_t evicted_groups;  /* groups dropped at max_keys, least recently seen first */
	uint64_t evicted_records; /* records those groups held */
};

struct dg_exception_stats {
	uint64_t exempted; /* matches it covered */
	uint64_t expired;  /* matches it would have covered had it not expired */
};

struct dg_engine;

/* An engine over rs, which must outlive it. Window entries older than the newest event minus
 * window minus lateness_ms are dropped. */
struct dg_engine *dg_engine_new(const struct dg_ruleset *rs, int64_t lateness_ms);
void dg_engine_free(struct dg_engine *e);
/* Evaluates rules as written, without the site's exceptions (rule fixtures). */
void dg_engine_ignore_exceptions(struct dg_engine *e);
/* A clock in nanoseconds to sample the cost of rules with; without one it is not measured. */
void dg_engine_set_clock(struct dg_engine *e, int64_t (*now_ns)(void));
/* Runs the rules on evt and calls cb for what they find; returns how many findings (alerts
 * not counted). */
size_t dg_engine_eval(struct dg_engine *e, const struct dg_evt *evt, const struct dg_ref *ref,
                      dg_engine_cb *cb, void *arg);
/* End of input: every open burst closes. */
void dg_engine_flush(struct dg_engine *e, dg_engine_cb *cb, void *arg);
/* End of a report period: every open burst is reported as carried, and goes on. */
void dg_engine_carry(struct dg_engine *e, dg_engine_cb *cb, void *arg);
/* Counters, indexed like the rule set and its exceptions; writable so a period can reset or
 * restore them. */
struct dg_rule_stats *dg_engine_rule_stats(struct dg_engine *e);
struct dg_exception_stats *dg_engine_exception_stats(struct dg_engine *e);
/* Window and sequence state held for a rule, and what eviction cost it. */
void dg_engine_state(const struct dg_engine *e, size_t rule, uint64_t *groups, uint64_t *entries,
                     uint64_t *evicted_groups, uint64_t *evicted_records);
/* Events held in threshold and sequence state, over all rules. */
size_t dg_engine_held(const struct dg_engine *e);
/* Calls fn for the input of every record held in a window. */
void dg_engine_inputs(const struct dg_engine *e, void (*fn)(void *arg, uint32_t input), void *arg);
/* The windows' state, by rule id and threshold (so a changed threshold starts afresh): saved
 * as an object, with input numbers mapped through remap; loading skips rules that are gone or
 * changed. Returns -1 on a malformed state. */
struct dg_cjson *dg_engine_save(const struct dg_engine *e, const uint32_t *remap);
int dg_engine_load(struct dg_engine *e, const struct dg_cjson *state);

#endif
