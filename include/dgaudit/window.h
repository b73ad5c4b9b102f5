/* Threshold state for one rule, per group (e.g. per user), in event time.
 *
 * Count and sum: the events of a sliding window and their running total. Distinct count: each
 * value's last sighting, so repeats cost nothing and nothing is rescanned. When some window of
 * the configured length reaches the limit (events may arrive out of order, within lateness),
 * a burst opens with the events of that window: that is the alert. Further events of the group
 * less than a window after the burst's last one join it, so a burst is never cut into pieces
 * each claiming the threshold; it closes once a window has passed without one (judged against
 * the newest event time seen, less lateness), at the end of the input, or when its group is
 * evicted, and its finding states the true aggregate, every contributing record counted and
 * the first ones cited. Each record counts toward one burst at most. At most max_keys groups
 * are held; the least recently active is evicted first, and evictions are counted. Pure: time
 * is the events' own. */
#ifndef DGAUDIT_WINDOW_H
#define DGAUDIT_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dgaudit/cjson.h"
#include "dgaudit/evt.h"
#include "dgaudit/rules.h"

enum dg_window_event {
	DG_WINDOW_OPEN,    /* a window reached the limit: the burst begins (the alert) */
	DG_WINDOW_CLOSE,   /* the burst is over: its final aggregate */
	DG_WINDOW_CARRIED, /* the burst goes on past the end of a report period */
};

struct dg_window_fire {
	enum dg_window_event what;
	int64_t aggregate;
	uint64_t events; /* records that contributed */
	int64_t first_ms, last_ms;
	const struct dg_ref *refs; /* the first nrefs contributing records; valid during the call */
	size_t nrefs;
	const char *key; /* the group */
	size_t keylen;
	struct dg_ref opener; /* the record that opened the burst, */
	const char *snapshot; /* and its event (dg_evt_snapshot) */
	size_t snaplen;
	bool evicted;        /* closed because its group was evicted */
	int64_t part, total; /* concentration: the group's records and the period's */
};

typedef void dg_window_cb(void *arg, const struct dg_window_fire *fire);

struct dg_window_stats {
	uint64_t groups, entries, open_bursts;
	uint64_t evicted_groups, evicted_records; /* since creation */
};

struct dg_window;

/* State for threshold th. Events older than the newest seen minus window minus lateness_ms are
 * forgotten when dg_window_expire runs. */
struct dg_window *dg_window_new(const struct dg_threshold *th, int64_t lateness_ms);
void dg_window_free(struct dg_window *w);
/* Adds an event of group key at time t_ms. value is the addend for sums and a hash of the value
 * for distinct counts (ignored for counts). evt and shown (a field mask) are snapshotted if the
 * event opens a burst. cb hears of bursts opening and closing. */
void dg_window_add(struct dg_window *w, const char *key, size_t keylen, int64_t t_ms, int64_t value,
                   const struct dg_ref *ref, const struct dg_evt *evt, uint64_t shown,
                   dg_window_cb *cb, void *arg);
/* Event time has reached now_ms: closes the bursts no event can join any more, forgets what
 * can no longer matter. */
void dg_window_expire(struct dg_window *w, int64_t now_ms, dg_window_cb *cb, void *arg);
/* Reports each open burst as carried (it stays open), or closes them all (end of input). */
void dg_window_carry(struct dg_window *w, dg_window_cb *cb, void *arg);
void dg_window_flush(struct dg_window *w, dg_window_cb *cb, void *arg);
/* Calls fn for the input of every record the windows hold. */
void dg_window_inputs(const struct dg_window *w, void (*fn)(void *arg, uint32_t input), void *arg);
/* Saves every group into arr, input numbers passed through remap; and loads what was saved
 * (into an empty window). Returns -1 on a malformed state. */
void dg_window_save(const struct dg_window *w, struct dg_cjson *arr, const uint32_t *remap);
int dg_window_load(struct dg_window *w, const struct dg_cjson *arr);
/* A record reference in a checkpoint: [input (remapped), line, offset]. */
struct dg_cjson *dg_window_ref_save(const struct dg_ref *r, const uint32_t *remap);
bool dg_window_ref_load(const struct dg_cjson *x, struct dg_ref *r);
/* Groups evicted at max_keys since creation, and the records they held: cheap, per event. */
void dg_window_evictions(const struct dg_window *w, uint64_t *groups, uint64_t *records);
void dg_window_stats(const struct dg_window *w, struct dg_window_stats *st);

#endif
