#include "dgaudit/sink_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dgaudit/bundle.h"
#include "dgaudit/clock.h"
#include "dgaudit/log.h"
#include "dgaudit/xmalloc.h"

struct report_sink {
	char *dir;
	const struct dg_signer *signer;
	size_t max_malformed;
	uint64_t max_size;
	bool keep;
	struct dg_bundle *bundle;
	struct dg_report *report;
	uint64_t synced; /* report.json's length at the last sync */
	bool full;
};

static int rs_begin(void *self, const struct dg_period_id *id, char **cause)
{
	struct report_sink *s = self;

	s->full = false;
	s->synced = 0;
	if ((s->bundle = dg_bundle_begin(s->dir, id->name, cause)) == NULL)
		return -1;
	s->report = dg_report_new(dg_bundle_report(s->bundle), s->max_malformed);
	return 0;
}

static void rs_finding(void *self, const struct dg_sink_finding *f)
{
	struct report_sink *s = self;

	if (f->match->kind != DG_MATCH_OPEN) /* an alert is for the live outputs */
		dg_report_finding(s->report, f->line, f->len);
}

static void rs_malformed(void *self, const char *input, const struct dg_record *rec,
                         const char *why)
{
	struct report_sink *s = self;

	dg_report_malformed(s->report, input, rec, why);
}

static void rs_integrity(void *self, const struct dg_integrity *ev)
{
	struct report_sink *s = self;

	dg_report_integrity(s->report, ev);
}

static void rs_input(void *self, const struct dg_report_input *in)
{
	struct report_sink *s = self;

	dg_report_input(s->report, in);
}

/* A report closes early once it is report.max_size long: closing it hashes and signs all of it,
 * and a crash loses that work, so an unbounded report could never close under a daemon killed
 * often enough; verify, too, reads a report whole. The report says so once, resumed or not. */
static bool rs_full(void *self)
{
	struct report_sink *s = self;
	char why[160];

	if (s->full)
		return true;
	if (s->max_size == 0 || s->report == NULL || dg_report_bytes(s->report) < s->max_size)
		return false;
	s->full = true;
	if (dg_report_has_integrity(s->report, "report_full"))
		return true;
	snprintf(why, sizeof why,
	         "report.json reached report.max_size (%llu bytes): closed early, the period goes "
	         "on in the next report",
	         (unsigned long long)s->max_size);
	dg_log_info("%s", why);
	dg_report_integrity(
	    s->report, &(struct dg_integrity){dg_clock_wall_ms(), "report_full", NULL, -1, why});
	return true;
}

static int rs_sync(void *self, char **cause)
{
	struct report_sink *s = self;

	return dg_bundle_sync(s->bundle, &s->synced, cause);
}

static void rs_save(void *self, struct dg_cjson *state)
{
	struct report_sink *s = self;

	dg_cjson_set(state, "report_length", dg_cjson_int((int64_t)s->synced));
	dg_cjson_set(state, "report", dg_report_save(s->report));
}

static int rs_restore(void *self, const struct dg_cjson *state, const struct dg_period_id *id,
                      char sha256[65], char **cause)
{
	struct report_sink *s = self;
	char *committed = dg_xasprintf("%s/%s", s->dir, id->name), *why = NULL;
	struct stat st;
	int64_t len;
	bool closed = stat(committed, &st) == 0;

	if (closed) { /* put in place before the crash: its digest links the next */
		int rc = dg_bundle_report_digest(committed, sha256, NULL);

		if (rc != 0)
			*cause = dg_xasprintf("%s: report is unreadable", committed);
		free(committed);
		return rc != 0 ? -1 : DG_SINK_PUBLISHED;
	}
	free(committed);
	if (!dg_cjson_intval(dg_cjson_get(state, "report_length"), &len) || len < 0) {
		*cause = dg_xstrdup("the report's length is missing");
		return -1;
	}
	s->bundle = dg_bundle_resume(s->dir, id->name, (uint64_t)len, &why);
	if (s->bundle == NULL) {
		dg_log_warnx("the report in progress is gone (%s): beginning a new one", why);
		free(why);
		return DG_SINK_LOST;
	}
	s->synced = (uint64_t)len;
	s->report = dg_report_resume(dg_bundle_report(s->bundle), s->max_malformed,
	                             dg_cjson_get(state, "report"));
	if (s->report == NULL) {
		*cause = dg_xstrdup("the report's state is malformed");
		return -1;
	}
	rs_full(s); /* full when a crash cut its close short */
	return DG_SINK_RESUMED;
}

static int rs_close(void *self, struct dg_period_end *end, char **cause)
{
	struct report_sink *s = self;
	char *path = NULL;

	end->findings = dg_report_findings(s->report);
	if (dg_report_finish(s->report, end->info, end->totals, end->rules) != 0) {
		*cause = dg_xstrdup("writing report.json failed");
		return -1;
	}
	if (dg_bundle_commit(s->bundle, s->signer, &path, end->sha256, cause) != 0)
		return -1;
	end->path = path;
	s->bundle = NULL;
	dg_report_free(s->report);
	s->report = NULL;
	return 0;
}

static int rs_reopen(void *self, bool rotated, char **cause)
{
	struct report_sink *s = self;

	/* a report in progress whose directory was deleted is put back (rotation leaves it) */
	return rotated || s->bundle == NULL ? 0 : dg_bundle_rehome(s->bundle, cause);
}

static void rs_free(void *self)
{
	struct report_sink *s = self;

	if (s->keep)
		dg_bundle_leave(s->bundle); /* the checkpoint names it: a restart resumes it */
	else
		dg_bundle_abort(s->bundle); /* a report never closed is not a report */
	dg_report_free(s->report);
	free(s->dir);
	free(s);
}

static const struct dg_sink_ops ops = {
    .name = "report",
    .begin = rs_begin,
    .finding = rs_finding,
    .malformed = rs_malformed,
    .integrity = rs_integrity,
    .input = rs_input,
    .full = rs_full,
    .sync = rs_sync,
    .save = rs_save,
    .restore = rs_restore,
    .close = rs_close,
    .reopen = rs_reopen,
    .free = rs_free,
};

struct dg_sink *dg_sink_report_new(const char *dir, const struct dg_signer *signer,
                                   size_t max_malformed, uint64_t max_size, bool keep)
{
	struct report_sink *s = dg_xcalloc(1, sizeof *s);

	s->dir = dg_xstrdup(dir);
	s->signer = signer;
	s->max_malformed = max_malformed;
	s->max_size = max_size;
	s->keep = keep;
	return dg_sink_new(&ops, s);
}
