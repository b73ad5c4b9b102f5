/* Compliance rules: loaded from libconfig rule packs, validated, and compiled once into
 * matchers over the event model. A rule names select blocks (field conditions, all of which must
 * hold), combines them in a condition (and/or/not/parentheses), and may carry a threshold
 * (count, sum or distinct count per group over an event-time window, optionally completed by a
 * later event). Site-specific values are named lists and settings referenced as "$name". */
#ifndef DGAUDIT_RULES_H
#define DGAUDIT_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dgaudit/cfgutil.h"
#include "dgaudit/evt.h"

enum dg_severity { DG_SEV_INFO, DG_SEV_LOW, DG_SEV_MEDIUM, DG_SEV_HIGH, DG_SEV_CRITICAL };
#define DG_SEV_COUNT 5

enum dg_agg { DG_AGG_COUNT, DG_AGG_SUM, DG_AGG_DISTINCT };

#define DG_MAX_GROUP_BY 4

struct dg_compliance {
	char *framework; /* e.g. "PIPL", "PCI DSS 4.0" */
	char **refs;     /* article or control ids, NULL-terminated */
	size_t nrefs;
};

struct dg_threshold {
	enum dg_agg agg;
	int field; /* summed or distinct field; -1 when counting */
	int group_by[DG_MAX_GROUP_BY];
	size_t ngroup_by;
	int64_t window_ms;
	int64_t limit;       /* fires when the aggregate reaches it */
	int then;            /* select block completing a sequence, or -1 */
	size_t evidence_max; /* record references kept per finding */
};

struct dg_rule_impl;

struct dg_rule {
	char *id;
	char *title;
	char *message; /* template with {field} and {threshold.*} placeholders */
	enum dg_severity severity;
	struct dg_compliance *compliance;
	size_t ncompliance;
	bool has_threshold;
	struct dg_threshold threshold;
	uint64_t shown_fields; /* fields a finding shows: those the rule tests, plus context */
	char *where;           /* "file:line" of the definition */
	char digest[65];       /* SHA-256 of the definition: equal digests, same rule */
	struct dg_rule_impl *impl;
};

/* One rule pack: its name for messages and its text. */
struct dg_rules_text {
	const char *name;
	const char *text;
};

struct dg_ruleset;

/* Loads and compiles the packs in order. Lists and settings declared in packs are defaults that
 * site (the configuration's values, may be NULL) overrides. Fields the rules test are added to
 * schema. Rules whose id is in disabled (NULL-terminated, may be NULL) are left out. Returns
 * NULL with *cause as "file:line: what is wrong". */
struct dg_ruleset *dg_rules_load(const struct dg_rules_text *packs, size_t npacks,
                                 const struct dg_site *site, char *const *disabled,
                                 struct dg_schema *schema, char **cause);
void dg_rules_free(struct dg_ruleset *rs);
size_t dg_rules_count(const struct dg_ruleset *rs);
const struct dg_rule *dg_rules_get(const struct dg_ruleset *rs, size_t i);
/* SHA-256 (hex) over "<sha256 of pack>  <name>\n" for each pack, as sha256sum prints them. */
const char *dg_rules_digest(const struct dg_ruleset *rs);

/* True if evt satisfies the rule's condition. */
bool dg_rules_match(const struct dg_rule *rule, const struct dg_evt *evt);
/* True if evt satisfies the select block that completes the rule's sequence. */
bool dg_rules_match_then(const struct dg_rule *rule, const struct dg_evt *evt);

const char *dg_rules_severity_name(enum dg_severity sev);
bool dg_rules_severity_parse(const char *name, enum dg_severity *out);

#endif
