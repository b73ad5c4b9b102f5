/* Threshold state for one rule: per group (e.g. per user), the events of an event-time sliding
 * window and their aggregate (count, sum or distinct count). Fires when some window of the
 * configured length holds an aggregate at or above the limit; events may arrive out of order.
 * The events that made a finding are consumed, so each record counts toward one finding at most.
 * Pure: time is the events' own. */
#ifndef DGAUDIT_WINDOW_H
#define DGAUDIT_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dgaudit/cjson.h"
#include "dgaudit/evt.h"
#include "dgaudit/rules.h"

struct dg_window_fire {
	int64_t aggregate;
	uint64_t events; /* records that contributed */
	int64_t first_ms, last_ms;
	const struct dg_ref *refs; /* the first nrefs contributing records, in time order; valid
	                              until the next call */
	size_t nrefs;
};

struct dg_window;

/* State for threshold th. Events older than the newest seen minus window minus lateness_ms are
 * forgotten when dg_window_expire runs. */
struct dg_window *dg_window_new(const struct dg_threshold *th, int64_t lateness_ms);
void dg_window_free(struct dg_window *w);
/* Adds an event of group key at time t_ms; value is the addend for sums and a hash of the value
 * for distinct counts (ignored for counts). Returns true and fills *fire if a window containing
 * the event reached the limit (never for sequences, which fire in dg_window_complete). */
bool dg_window_add(struct dg_window *w, const char *key, size_t keylen, int64_t t_ms, int64_t value,
                   const struct dg_ref *ref, struct dg_window_fire *fire);
/* For sequences: true if the group's window ending at t_ms reached the limit. */
bool dg_window_complete(struct dg_window *w, const char *key, size_t keylen, int64_t t_ms,
                        struct dg_window_fire *fire);
/* Forgets what can no longer matter once event time has reached now_ms. */
void dg_window_expire(struct dg_window *w, int64_t now_ms);
/* Calls fn for the input of every record the windows hold. */
void dg_window_inputs(const struct dg_window *w, void (*fn)(void *arg, uint32_t input), void *arg);
/* Saves every group and its records into arr, input numbers passed through remap; and loads
 * what was saved (into an empty window). Returns -1 on a malformed state. */
void dg_window_save(const struct dg_window *w, struct dg_cjson *arr, const uint32_t *remap);
int dg_window_load(struct dg_window *w, const struct dg_cjson *arr);
size_t dg_window_groups(const struct dg_window *w);
size_t dg_window_entries(const struct dg_window *w);

#endif
