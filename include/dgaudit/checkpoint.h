/* The daemon's checkpoint (the durable state a restart continues from): its seal, and the
 * parts of it that are not the daemon's own tables: file identities, a period's totals and the
 * audit counters since the state directory began, each rule's and exception's by id, so that a
 * checkpoint read under another rule set (a reload, an upgrade) gives each rule its own and
 * drops those gone. Pure: values in, values out.
 *
 * The seal is an HMAC-SHA-256 under the daemon's state key, kept as the last member of the
 * checkpoint's canonical JSON object ("~mac" sorts after every other key, so the text stays
 * canonical and is parsed as it is). An edited checkpoint, or one written with another key, is
 * caught before anything in it is believed. */
#ifndef DGAUDIT_CHECKPOINT_H
#define DGAUDIT_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "dgaudit/buf.h"
#include "dgaudit/cjson.h"
#include "dgaudit/pipeline.h"
#include "dgaudit/rules.h"
#include "dgaudit/tail.h"

#define DG_CHECKPOINT_KEY_LEN 32

enum dg_checkpoint_seal {
	DG_CHECKPOINT_SEALED,   /* the MAC verifies */
	DG_CHECKPOINT_UNSEALED, /* no MAC: written before checkpoints carried one */
	DG_CHECKPOINT_BROKEN,   /* a MAC that does not verify: edited, or another key */
};

/* Seals text, the canonical JSON of an object (ending in '}'), in place. */
void dg_checkpoint_seal(const uint8_t key[DG_CHECKPOINT_KEY_LEN], struct dg_buf *text);
/* Checks the seal of the text read back. SEALED and UNSEALED leave in *body_len the length of
 * the object without the seal (text is changed in place to end there). */
enum dg_checkpoint_seal dg_checkpoint_open(const uint8_t key[DG_CHECKPOINT_KEY_LEN], char *text,
                                           size_t len, size_t *body_len);

/* A file's identity (device, inode, fingerprint). load: false if a member is missing or out of
 * range. */
void dg_checkpoint_save_id(struct dg_cjson *o, const struct dg_tail_id *id);
bool dg_checkpoint_load_id(const struct dg_cjson *o, struct dg_tail_id *id);

/* A period's totals so far; loading keeps what is absent or malformed as it is. */
struct dg_cjson *dg_checkpoint_save_totals(const struct dg_pipeline_totals *t,
                                           const struct dg_ruleset *rs);
void dg_checkpoint_load_totals(struct dg_pipeline_totals *t, const struct dg_ruleset *rs,
                               const struct dg_cjson *o);

/* What /metrics counts for the periods already reported, since the state directory began;
 * rules and exceptions indexed like the rule set in force. */
struct dg_checkpoint_counters {
	uint64_t records, malformed, by_severity[DG_SEV_COUNT];
	uint64_t gaps, gap_bytes, reports;
	struct dg_rule_stats *rules;
	struct dg_exception_stats *exceptions;
};
/* Zero, for rule set rs. */
void dg_checkpoint_counters_reset(struct dg_checkpoint_counters *k, const struct dg_ruleset *rs);
/* A reported period's totals join them. */
void dg_checkpoint_counters_add(struct dg_checkpoint_counters *k,
                                const struct dg_pipeline_totals *t, const struct dg_ruleset *rs);
/* A reload from prev to next: each rule and exception that stays (by id) keeps its sums. */
void dg_checkpoint_counters_carry(struct dg_checkpoint_counters *k, const struct dg_ruleset *prev,
                                  const struct dg_ruleset *next);
void dg_checkpoint_counters_release(struct dg_checkpoint_counters *k);
struct dg_cjson *dg_checkpoint_save_counters(const struct dg_checkpoint_counters *k,
                                             const struct dg_ruleset *rs);
/* o NULL (a checkpoint older than counters): they start from zero. */
void dg_checkpoint_load_counters(struct dg_checkpoint_counters *k, const struct dg_ruleset *rs,
                                 const struct dg_cjson *o);

#endif
