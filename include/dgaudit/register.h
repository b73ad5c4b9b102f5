/* The data-sharing register of a report period: for each third party personal data was shared
 * with or exported to (events whose action is share or export, that name dg.recipient and did
 * not fail), how many records and events, which classes and categories of data, to which
 * countries, and whether the recipient is approved. Regulators ask banks to show their
 * dependence on third parties; this is the evidence. Bounded: beyond DG_REGISTER_MAX
 * recipients the rest are counted together. Pure. */
#ifndef DGAUDIT_REGISTER_H
#define DGAUDIT_REGISTER_H

#include <stddef.h>

#include "dgaudit/cjson.h"
#include "dgaudit/evt.h"

#define DG_REGISTER_MAX 10000

struct dg_register;

/* approved (NULL-terminated, may be NULL): the approved recipients. */
struct dg_register *dg_register_new(char *const *approved);
void dg_register_free(struct dg_register *r);
void dg_register_add(struct dg_register *r, const struct dg_evt *evt);
/* The register as report JSON: {"recipients": [...], "records": n, "personal_records": n},
 * recipients in name order, each with its share of the period's personal records shared. */
struct dg_cjson *dg_register_report(const struct dg_register *r);
/* Starts a new period. */
void dg_register_reset(struct dg_register *r);
/* For a checkpoint: the state, and back (into a reset register); -1 if malformed. */
struct dg_cjson *dg_register_save(const struct dg_register *r);
int dg_register_load(struct dg_register *r, const struct dg_cjson *state);

#endif
