/* Sequence state for one rule: per group, the recent events of each step. A sequence completes
 * when an event of the last step arrives and, going back from it, each earlier step's events
 * reach that step's aggregate strictly before the next step began, the whole within the
 * window: failed logins, then a success, then a bulk read. Choosing the latest events of each
 * step first is optimal: if any choice fits in the window, that one does. The finding counts,
 * per step, every event between the steps around it (the true number of failures, not just the
 * five required), and those events are consumed: each record counts toward one finding of a
 * rule at most. At most max_keys groups are held, the least recently active evicted first.
 * Pure: time is the events' own. */
#ifndef DGAUDIT_SEQ_H
#define DGAUDIT_SEQ_H

#include <stddef.h>
#include <stdint.h>

#include "dgaudit/cjson.h"
#include "dgaudit/evt.h"
#include "dgaudit/rules.h"

struct dg_seq_step_fire {
	int64_t aggregate;
	uint64_t events;
	int64_t first_ms, last_ms;
};

struct dg_seq_fire {
	uint64_t events;
	int64_t first_ms, last_ms;
	const struct dg_ref
	    *refs; /* the first nrefs records, in time order; valid during the call */
	size_t nrefs;
	struct dg_seq_step_fire steps[DG_MAX_STEPS];
	size_t nsteps;
};

typedef void dg_seq_cb(void *arg, const struct dg_seq_fire *fire);

struct dg_seq_stats {
	uint64_t groups, entries, evicted_groups, evicted_records;
};

struct dg_seq;

struct dg_seq *dg_seq_new(const struct dg_threshold *th, int64_t lateness_ms);
void dg_seq_free(struct dg_seq *s);
/* Adds an event of group key at t_ms that matched the steps in mask (bit i: step i), with
 * values[i] the addend or value hash for step i's aggregate. Calls cb if it completes the
 * sequence. */
void dg_seq_add(struct dg_seq *s, const char *key, size_t keylen, int64_t t_ms, uint32_t mask,
                const int64_t *values, const struct dg_ref *ref, dg_seq_cb *cb, void *arg);
/* Forgets what can no longer matter once event time has reached now_ms. */
void dg_seq_expire(struct dg_seq *s, int64_t now_ms);
void dg_seq_inputs(const struct dg_seq *s, void (*fn)(void *arg, uint32_t input), void *arg);
void dg_seq_save(const struct dg_seq *s, struct dg_cjson *arr, const uint32_t *remap);
int dg_seq_load(struct dg_seq *s, const struct dg_cjson *arr);
/* Groups evicted at max_keys since creation, and the entries they held: cheap, per event. */
void dg_seq_evictions(const struct dg_seq *s, uint64_t *groups, uint64_t *records);
void dg_seq_stats(const struct dg_seq *s, struct dg_seq_stats *st);

#endif
