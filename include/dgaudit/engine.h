/* Evaluates a compiled ruleset on events, keeping the threshold windows, and reports each match
 * through a callback. Pure: time is the events' own. */
#ifndef DGAUDIT_ENGINE_H
#define DGAUDIT_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dgaudit/cjson.h"
#include "dgaudit/evt.h"
#include "dgaudit/rules.h"
#include "dgaudit/window.h"

struct dg_match {
	const struct dg_rule *rule;
	const struct dg_evt *evt; /* the event that made or completed the finding */
	const struct dg_ref *ref; /* its record */
	bool windowed;            /* a threshold rule: fire holds the window */
	struct dg_window_fire fire;
	const char *group; /* group_by values joined by 0x1f */
	size_t grouplen;
};

typedef void dg_engine_cb(const struct dg_match *m, void *arg);

struct dg_engine;

/* An engine over rs, which must outlive it. Window entries older than the newest event minus
 * window minus lateness_ms are dropped. */
struct dg_engine *dg_engine_new(const struct dg_ruleset *rs, int64_t lateness_ms);
void dg_engine_free(struct dg_engine *e);
/* Runs every rule on evt and calls cb for each finding; returns how many there were. */
size_t dg_engine_eval(struct dg_engine *e, const struct dg_evt *evt, const struct dg_ref *ref,
                      dg_engine_cb *cb, void *arg);
/* Events held in threshold windows, over all rules. */
size_t dg_engine_held(const struct dg_engine *e);
/* Calls fn for the input of every record held in a window. */
void dg_engine_inputs(const struct dg_engine *e, void (*fn)(void *arg, uint32_t input), void *arg);
/* The windows' state, by rule id and threshold (so a changed threshold starts afresh): saved
 * as an object, with input numbers mapped through remap; loading skips rules that are gone or
 * changed. Returns -1 on a malformed state. */
struct dg_cjson *dg_engine_save(const struct dg_engine *e, const uint32_t *remap);
int dg_engine_load(struct dg_engine *e, const struct dg_cjson *state);

#endif
