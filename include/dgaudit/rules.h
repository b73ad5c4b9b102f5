/* Compliance rules: loaded from libconfig rule packs, validated, and compiled once into
 * matchers over the event model. A rule names select blocks (field conditions, all of which must
 * hold) and either combines them in a condition (and/or/not/parentheses), optionally counted by
 * a threshold (count, sum or distinct count per group over an event-time window), or orders
 * them in a sequence of steps for the same group within a window. Rules may suppress repeats;
 * the site's exceptions, each with a ticket, an approver and an expiry, exempt matching
 * events. Rules may carry fixtures: events and the findings they must give. Site values are
 * named lists, settings and schedules referenced as "$name". Every mistake is reported, each as
 * "file:line: what is wrong". */
#ifndef DGAUDIT_RULES_H
#define DGAUDIT_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dgaudit/cfgutil.h"
#include "dgaudit/cond.h"
#include "dgaudit/evt.h"

enum dg_severity { DG_SEV_INFO, DG_SEV_LOW, DG_SEV_MEDIUM, DG_SEV_HIGH, DG_SEV_CRITICAL };
#define DG_SEV_COUNT 5

enum dg_agg { DG_AGG_COUNT, DG_AGG_SUM, DG_AGG_DISTINCT };

enum dg_rule_kind {
	DG_RULE_SINGLE,        /* each matching event is a finding */
	DG_RULE_THRESHOLD,     /* an aggregate over a window reaches a limit */
	DG_RULE_SEQUENCE,      /* steps happen in order within a window */
	DG_RULE_CONCENTRATION, /* one group takes too large a share of a report period's total */
};

#define DG_MAX_GROUP_BY 4
#define DG_MAX_STEPS    8

struct dg_compliance {
	char *framework; /* e.g. "PIPL", "PCI DSS 4.0" */
	char **refs;     /* article or control ids, NULL-terminated */
	size_t nrefs;
};

/* One step of a sequence: events of a select block until an aggregate reaches a limit. */
struct dg_step {
	int select; /* the block */
	enum dg_agg agg;
	int field;     /* summed or distinct field; -1 when counting */
	int64_t limit; /* events, sum or distinct values needed; 1 for a single event */
};

/* Threshold and sequence rules. */
struct dg_threshold {
	enum dg_agg agg;                    /* threshold: the aggregate */
	int field;                          /* summed or distinct field; -1 when counting */
	int64_t limit;                      /* fires when the aggregate reaches it */
	struct dg_step steps[DG_MAX_STEPS]; /* sequence */
	size_t nsteps;
	int group_by[DG_MAX_GROUP_BY];
	size_t ngroup_by;
	int64_t window_ms;
	size_t evidence_max; /* record references kept per finding */
	size_t max_keys;     /* groups held at most; the least recently active is evicted */
	int64_t min_total;   /* concentration: the period's total below which it says nothing */
};

/* Repeats of a rule's findings for the same key within a period are counted, not reported. */
struct dg_suppress {
	int group_by[DG_MAX_GROUP_BY];
	size_t ngroup_by;
	int64_t period_ms;
};

/* An exception: events it matches are exempt from the rules it names, until it expires. */
struct dg_exception {
	char *id;
	char **rules; /* rule ids or patterns ("PIPL-*"), as written */
	size_t nrules;
	char *ticket, *approved_by, *reason; /* reason may be NULL */
	char *expires;                       /* as written */
	int64_t expires_ms;                  /* events from this time on are no longer exempt */
	bool expired;                        /* already so when loaded */
	char *where;
	struct dg_select *sel;
	size_t index; /* in the rule set */
};

/* A rule fixture: events, and how many findings the rule must make of them. */
struct dg_fixture_value {
	int field;
	enum dg_kind kind; /* string (may contain {n}: the repetition), number, bool or array */
	char *text;
	int64_t num;
	char **items; /* arrays: NULL-terminated */
	size_t nitems;
};

struct dg_fixture_event {
	int64_t at_ms; /* absolute, or after the previous event when relative */
	bool relative;
	int64_t repeat;               /* how many such events */
	int64_t every_ms;             /* between repetitions */
	struct dg_fixture_value *set; /* fields set; the others carry over from the event before */
	size_t nset;
};

struct dg_fixture {
	char *name;
	char *where;
	struct dg_fixture_event *events;
	size_t nevents;
	int64_t expect; /* findings */
	bool has_value;
	int64_t value; /* the aggregate of the first finding of a threshold or sequence rule */
	struct dg_ruleset *rs; /* the rule compiled with the test's own lists, or NULL */
};

struct dg_rule_impl;

struct dg_rule {
	char *id;
	char *title;
	char *message; /* template with {field} and {threshold.*} placeholders */
	char *pack;    /* the file it comes from */
	enum dg_severity severity;
	struct dg_compliance *compliance;
	size_t ncompliance;
	enum dg_rule_kind kind;
	struct dg_threshold threshold;
	bool has_suppress;
	struct dg_suppress suppress;
	const struct dg_exception **exceptions; /* those that name it */
	size_t nexceptions;
	struct dg_fixture *fixtures;
	size_t nfixtures;
	bool site_tests;          /* the fixtures are the site's (rule_tests), not the pack's */
	uint64_t shown_fields;    /* fields a finding shows: those the rule tests, plus context */
	uint64_t required_fields; /* present in every event that can match (or join a step) */
	uint32_t actions;         /* event.action values that can match: mask over the model's */
	char *where;              /* "file:line" of the definition */
	char digest[65];          /* SHA-256 of the definition: equal digests, same rule */
	struct dg_rule_impl *impl;
};

/* One rule pack: its name for messages and its text. A pack that says enabled = false is
 * loaded only when named (rules.packs), as for a jurisdiction that may not apply. */
struct dg_rules_text {
	const char *name;
	const char *text;
	bool named;
};

/* An exceptions list, in the site configuration or a file of its own. */
struct dg_rules_exceptions {
	const char *name;
	const config_setting_t *list;
};

struct dg_rules_input {
	const struct dg_rules_text *packs;
	size_t npacks;
	const struct dg_site *site; /* the site's values, overriding the packs' defaults; or NULL */
	char *const *disabled;      /* rule ids left out, NULL-terminated; or NULL */
	const config_setting_t *disabled_at; /* where disabled is written, for messages */
	const char *site_name;
	const struct dg_rules_exceptions *exceptions;
	size_t nexceptions;
	/* The site's rule_tests = ( { rule = "ID"; reason = "..."; tests = ( ... ); } ): for a
	 * rule it has tuned on purpose, tests of what the rule now does, in place of the pack's.
	 * In the site configuration (site_name); or NULL. */
	const config_setting_t *rule_tests;
	int64_t now_ms;          /* to report exceptions that have already expired */
	dg_cfgutil_reader *read; /* list files named by packs */
	void *read_arg;
};

struct dg_ruleset;

/* Loads and compiles the packs in order, with the site's values and exceptions. Fields the
 * packs and site declare are added to schema. NULL with every mistake in diag, each as
 * "file:line: what is wrong": a site list, setting or schedule that no pack declares and no
 * rule uses is one (a misspelt name would leave the default in force). */
struct dg_ruleset *dg_rules_load(const struct dg_rules_input *in, struct dg_schema *schema,
                                 struct dg_diag *diag);
void dg_rules_free(struct dg_ruleset *rs);
size_t dg_rules_count(const struct dg_ruleset *rs);
const struct dg_rule *dg_rules_get(const struct dg_ruleset *rs, size_t i);
size_t dg_rules_exception_count(const struct dg_ruleset *rs);
const struct dg_exception *dg_rules_exception(const struct dg_ruleset *rs, size_t i);
/* The lists, settings and schedules in force: the packs' defaults under the site's values. */
const struct dg_site *dg_rules_site(const struct dg_ruleset *rs);
/* Rules left out by the site's disable_rules, for `check`. */
char *const *dg_rules_disabled(const struct dg_ruleset *rs, size_t *n);
/* Whether pack i of those given was loaded (a pack may be off unless named). */
bool dg_rules_pack_loaded(const struct dg_ruleset *rs, size_t i);
/* SHA-256 (hex) over "<sha256 of pack>  <name>\n" for each pack loaded, as sha256sum prints
 * them. */
const char *dg_rules_digest(const struct dg_ruleset *rs);
/* The schema the rules were compiled against. */
const struct dg_schema *dg_rules_schema(const struct dg_ruleset *rs);

/* True if evt satisfies the rule's condition (single and threshold rules). */
bool dg_rules_match(const struct dg_rule *rule, const struct dg_evt *evt);
/* True if evt satisfies the select block of step i of a sequence rule. */
bool dg_rules_match_step(const struct dg_rule *rule, size_t step, const struct dg_evt *evt);
/* The name of a rule's select block. */
const char *dg_rules_select_name(const struct dg_rule *rule, int select);
/* True if the exception's conditions hold for evt (whatever its expiry). */
bool dg_rules_exception_match(const struct dg_exception *x, const struct dg_evt *evt);
/* Explains evt against the rule: {"blocks": {name: {"holds": bool, "conditions": [...]}},
 * "condition": text}. Values are shown through protect. */
struct dg_cjson *dg_rules_explain(const struct dg_rule *rule, const struct dg_evt *evt,
                                  dg_cond_protect *protect, void *arg);
/* Explains an exception's conditions on evt into arr (see dg_cond_explain). */
void dg_rules_explain_exception(const struct dg_ruleset *rs, const struct dg_exception *x,
                                const struct dg_evt *evt, dg_cond_protect *protect, void *arg,
                                struct dg_cjson *arr);
/* The condition as written, or NULL for a sequence. */
const char *dg_rules_condition_text(const struct dg_rule *rule);

const char *dg_rules_severity_name(enum dg_severity sev);
bool dg_rules_severity_parse(const char *name, enum dg_severity *out);
const char *dg_rules_kind_name(enum dg_rule_kind kind);

#endif
