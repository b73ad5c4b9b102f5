/* Rule fixtures: runs the events a rule's tests describe through an engine and compares the
 * findings with what the test expects (how many, and the aggregate of the first). Events are
 * built field by field, a field carrying over from the event before unless set again; "{n}" in
 * a string is the event's number within the test. The site's values (lists, settings) apply,
 * its exceptions do not: a test is of the rule. Pure: time is the fixture's. */
#ifndef DGAUDIT_RULETEST_H
#define DGAUDIT_RULETEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dgaudit/rules.h"

struct dg_ruletest_result {
	bool pass;
	int64_t findings; /* made by the rule under test */
	bool has_value;
	int64_t value; /* the first finding's aggregate */
	uint64_t events;
	char why[256]; /* what differs, when it failed */
};

/* Runs fixture i of rule r (which belongs to rs). */
void dg_ruletest_run(const struct dg_ruleset *rs, const struct dg_rule *r, size_t i,
                     int64_t lateness_ms, struct dg_ruletest_result *out);

#endif
