#include "dgaudit/sink_journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/buf.h"
#include "dgaudit/clock.h"
#include "dgaudit/log.h"
#include "dgaudit/xmalloc.h"

#define JOURNAL_MS      10000 /* at most one line of findings this often */
#define MALFORMED_BURST 10    /* malformed records logged a minute */

struct journal_sink {
	struct dg_buf first; /* the first finding of each severity since the last line */
	uint64_t count[DG_SEV_COUNT];
	int64_t last_ms; /* when the last line went out (monotonic) */
	struct dg_log_limit malformed;
};

static void js_finding(void *self, const struct dg_sink_finding *f)
{
	struct journal_sink *s = self;
	const struct dg_rule *rule = f->match->rule;

	if (f->match->kind == DG_MATCH_CARRIED)
		return;
	if (s->count[rule->severity]++ == 0 && s->first.len < 4096)
		dg_buf_printf(&s->first, "%s%s (%s) at %s:%llu", s->first.len ? ", " : "", rule->id,
		              dg_rules_severity_name(rule->severity), f->input,
		              (unsigned long long)f->match->ref->line);
}

static void js_malformed(void *self, const char *input, const struct dg_record *rec,
                         const char *why)
{
	struct journal_sink *s = self;

	/* a log gone bad must not flood the journal */
	if (dg_log_limit_allow(&s->malformed, dg_clock_mono_ms(), MALFORMED_BURST, 60000)) {
		uint64_t held = dg_log_limit_held(&s->malformed);
		char more[96] = "";

		if (held > 0)
			snprintf(more, sizeof more,
			         " (and %llu before it not logged: see the report)",
			         (unsigned long long)held);
		dg_log_warnx("%s:%llu (offset %llu): malformed record: %s%s", input,
		             (unsigned long long)rec->line, (unsigned long long)rec->offset, why,
		             more);
	}
}

/* One line for what commits made, the first at once, so that a flood of findings does not
 * flood the journal; at a period's end whatever is left. */
static void js_publish(void *self, bool end)
{
	struct journal_sink *s = self;
	const uint64_t *n = s->count;
	int64_t now = dg_clock_mono_ms();

	if (s->first.len == 0 || (!end && s->last_ms != 0 && now - s->last_ms < JOURNAL_MS))
		return;
	dg_log_info("%llu findings (critical %llu, high %llu, medium %llu, low %llu, info %llu); "
	            "first of each severity: %s",
	            (unsigned long long)(n[0] + n[1] + n[2] + n[3] + n[4]),
	            (unsigned long long)n[DG_SEV_CRITICAL], (unsigned long long)n[DG_SEV_HIGH],
	            (unsigned long long)n[DG_SEV_MEDIUM], (unsigned long long)n[DG_SEV_LOW],
	            (unsigned long long)n[DG_SEV_INFO], s->first.data);
	dg_buf_reset(&s->first);
	memset(s->count, 0, sizeof s->count);
	s->last_ms = now;
}

static void js_free(void *self)
{
	struct journal_sink *s = self;

	dg_buf_release(&s->first);
	free(s);
}

static const struct dg_sink_ops ops = {
    .name = "journal",
    .finding = js_finding,
    .malformed = js_malformed,
    .publish = js_publish,
    .free = js_free,
};

struct dg_sink *dg_sink_journal_new(void)
{
	return dg_sink_new(&ops, dg_xcalloc(1, sizeof(struct journal_sink)));
}
