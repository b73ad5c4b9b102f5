#include "dgaudit/run.h"

#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dgaudit/clock.h"
#include "dgaudit/config.h"
#include "dgaudit/dirlock.h"
#include "dgaudit/keystore.h"
#include "dgaudit/log.h"
#include "dgaudit/period.h"
#include "dgaudit/pglog.h"
#include "dgaudit/pipeline.h"
#include "dgaudit/sink_findings.h"
#include "dgaudit/sink_report.h"
#include "dgaudit/sink_syslog.h"
#include "dgaudit/source.h"
#include "dgaudit/ts.h"
#include "dgaudit/xmalloc.h"

#define READ_CHUNK (1024 * 1024)

struct run {
	struct dg_config *cfg;
	struct dg_pipeline *pipe;
	struct dg_period *period;
	const char *format; /* NULL: the matching source's, else auto */
	const char *prefix; /* --log-line-prefix */
	struct dg_tz *tz;   /* --timezone */
	enum dg_severity fail_on;
	bool explain;
	bool unreadable;
	bool unforwarded; /* the syslog collector did not acknowledge every finding */
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: dgaudit run [-c CONF] [-o DIR] [--format F] [--fail-on SEV] [--explain]\n"
	        "                   [--log-line-prefix P] [--timezone TZ] [--findings FILE] "
	        "FILE...\n"
	        "  F is one of " DG_FORMAT_NAMES " (default: the\n"
	        "  format of the config source the file matches, else recognised from its first\n"
	        "  line). P is the PostgreSQL server's log_line_prefix for stderr logs; TZ\n"
	        "  (UTC, +08:00) the zone of times written without one (MariaDB).\n"
	        "  FILE may be a glob, a .gz archive, or - for standard input; files are audited\n"
	        "  oldest first (by modification time), standard input last.\n"
	        "  Findings go to standard output as JSON lines, a signed report bundle to DIR\n"
	        "  (default ./dgaudit-reports), a summary to standard error.\n"
	        "  Exit: 0 no finding at/above SEV (default high), 1 there are, 2 usage or\n"
	        "  configuration error, 3 an input could not be read (or the syslog\n"
	        "  collector configured did not acknowledge the findings).\n"
	        "  --explain adds to each finding why it fired: the blocks and conditions with\n"
	        "  the values they saw, the exceptions considered and why each did not apply.\n");
}

static const char *input_name(const struct run *r, uint32_t input)
{
	return input < dg_pipeline_ninputs(r->pipe) ? dg_pipeline_input(r->pipe, input)->name
	                                            : "dgaudit";
}

static void on_finding(void *arg, const struct dg_match *m, struct dg_cjson *json)
{
	struct run *r = arg;

	dg_period_finding(r->period, m, json, input_name(r, m->ref->input));
	dg_cjson_free(json);
	/* a collector behind by syslog.queue messages: the audit waits for it (as the daemon's
	 * reading does), for syslog.timeout at a time; one that does not catch up fails the run */
	if (!r->unforwarded && dg_period_busy(r->period)) {
		int64_t until = dg_clock_mono_ms() + r->cfg->syslog->timeout_ms;

		while (dg_period_busy(r->period) && dg_clock_mono_ms() < until)
			usleep(1000);
		if (dg_period_busy(r->period)) {
			dg_log_errx("syslog: the collector at %s:%s fell behind by syslog.queue "
			            "messages for syslog.timeout: the run goes on without waiting",
			            r->cfg->syslog->host, r->cfg->syslog->port);
			r->unforwarded = true;
		}
	}
}

static void on_malformed(void *arg, uint32_t input, const struct dg_record *rec, const char *why)
{
	struct run *r = arg;

	dg_period_malformed(r->period, input_name(r, input), rec, why);
}

static void on_integrity(void *arg, uint32_t input, const char *type, const char *detail)
{
	struct run *r = arg;

	dg_period_event(r->period, dg_clock_wall_ms(), type, input_name(r, input), -1, detail);
}

/* An input that could not be read (to its end): said, and in the report. */
static void unreadable(struct run *r, const char *input, const char *why)
{
	dg_log_warnx("%s", why);
	dg_period_event(r->period, dg_clock_wall_ms(), "input_unreadable", input, -1, why);
	r->unreadable = true;
}

/* Audits one input to its end and records it in the report. */
static void audit_input(struct run *r, const char *path, char *buf)
{
	char *cause = NULL;
	struct dg_source *src = dg_source_open(path, &cause);
	const char *name = strcmp(path, "-") == 0 ? "(stdin)" : path;
	char file_sha[DG_HASH_HEXLEN];
	uint32_t in;
	ssize_t n;

	if (src == NULL) {
		unreadable(r, name, cause);
		free(cause);
		return;
	}
	{
		const struct dg_source_cfg *sc = NULL;
		const char *format = r->format;

		/* A file under a configured source is read with that source's settings. */
		for (size_t i = 0; i < r->cfg->nsources && sc == NULL; i++)
			if (fnmatch(r->cfg->sources[i].path, path, 0) == 0)
				sc = &r->cfg->sources[i];
		if (format == NULL)
			format = sc ? sc->format : "auto";
		in = dg_pipeline_add_input(r->pipe, name, dg_pipeline_format_parse(format), 0, 1);
		dg_pipeline_input_options(r->pipe, in,
		                          r->prefix ? r->prefix
		                          : sc      ? sc->prefix
		                                    : NULL,
		                          r->tz ? r->tz
		                          : sc  ? sc->tz
		                                : NULL);
	}
	while ((n = dg_source_read(src, buf, READ_CHUNK, &cause)) > 0)
		if (dg_pipeline_feed(r->pipe, in, buf, (size_t)n, &cause) != 0)
			break;
	if (cause != NULL)
		unreadable(r, name, cause);
	dg_pipeline_end_input(r->pipe, in);
	{
		const struct dg_input_stats *st = dg_pipeline_input(r->pipe, in);
		struct dg_report_input ri = {
		    .path = name,
		    .format = dg_pipeline_format_name(st->format),
		    .id = strcmp(path, "-") == 0 ? NULL : dg_source_identity(src),
		    .compressed = dg_source_compressed(src),
		    .start = st->start_offset,
		    .end = st->end_offset,
		    .records = st->records,
		    .malformed = st->malformed,
		    .sha256 = st->sha256,
		    .error = cause,
		};

		if (ri.compressed) {
			dg_source_raw_sha256(src, file_sha);
			ri.file_sha256 = file_sha;
		}
		dg_period_input(r->period, &ri);
	}
	free(cause);
	dg_source_free(src);
}

/* Every output flushed; a syslog collector is given syslog.timeout to acknowledge the findings
 * (then the report is written all the same, and the exit status says they were not all sent). */
static int commit_wait(struct run *r, char **cause)
{
	int64_t until = dg_clock_mono_ms() + (r->cfg->syslog ? r->cfg->syslog->timeout_ms : 0);
	int rc;

	while ((rc = dg_period_commit(r->period, NULL, NULL, cause)) == DG_SINK_WAITING) {
		if (dg_clock_mono_ms() >= until) {
			dg_log_errx(
			    "syslog: the collector at %s:%s did not acknowledge every finding "
			    "within syslog.timeout",
			    r->cfg->syslog->host, r->cfg->syslog->port);
			r->unforwarded = true;
			return 0;
		}
		usleep(10000);
	}
	return rc;
}

/* Expands the arguments' globs; a pattern that matches nothing is an unreadable input. */
static char **expand(struct run *r, char **args, int nargs, size_t *n)
{
	char **paths = NULL;

	*n = 0;
	for (int i = 0; i < nargs; i++) {
		glob_t g;
		int rc;

		if (strcmp(args[i], "-") == 0 || strpbrk(args[i], "*?[") == NULL) {
			paths = dg_xreallocarray(paths, *n + 1, sizeof *paths);
			paths[(*n)++] = dg_xstrdup(args[i]);
			continue;
		}
		rc = glob(args[i], 0, NULL, &g);
		if (rc != 0) {
			char *msg = dg_xasprintf("%s: no file matches", args[i]);

			unreadable(r, args[i], msg);
			free(msg);
			continue;
		}
		paths = dg_xreallocarray(paths, *n + g.gl_pathc, sizeof *paths);
		for (size_t k = 0; k < g.gl_pathc; k++)
			paths[(*n)++] = dg_xstrdup(g.gl_pathv[k]);
		globfree(&g);
	}
	return paths;
}

struct dated {
	char *path;
	struct timespec mtime;
	size_t pos;
};

/* How many rotations old a name says it is: "app.log.2.gz" 2, "app.log.1" 1, "app.log" 0. */
static long rotation(const char *path)
{
	const char *end = path + strlen(path), *p;

	if (end - path > 3 && strcmp(end - 3, ".gz") == 0)
		end -= 3;
	for (p = end; p > path && p[-1] >= '0' && p[-1] <= '9'; p--)
		;
	if (p == end || p == path || p[-1] != '.' || end - p > 6)
		return 0;
	return strtol(p, NULL, 10);
}

static int oldest_first(const void *a, const void *b)
{
	const struct dated *x = a, *y = b;
	long rx, ry;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	/* Equal times (a fresh checkout, a copy): rotated generations are the older. */
	rx = rotation(x->path);
	ry = rotation(y->path);
	if (rx != ry)
		return rx > ry ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Orders inputs oldest first by modification time (then by rotation number), so that rotated
 * archives (app.log.2.gz, app.log.1, app.log) are audited in the order they were written and
 * threshold windows see time run forward. Standard input, having no date, goes last. */
static void chronological(char **paths, size_t n)
{
	struct dated *d = dg_xcalloc(n ? n : 1, sizeof *d);
	struct stat st;

	for (size_t i = 0; i < n; i++) {
		d[i].path = paths[i];
		d[i].pos = i;
		if (strcmp(paths[i], "-") == 0 || stat(paths[i], &st) != 0)
			d[i].mtime.tv_sec = INT64_MAX; /* unreadable ones are reported in turn */
		else
			d[i].mtime = st.st_mtim;
	}
	qsort(d, n, sizeof *d, oldest_first);
	for (size_t i = 0; i < n; i++)
		paths[i] = d[i].path;
	free(d);
}

static void summary(struct run *r, const char *bundle, double elapsed)
{
	const struct dg_pipeline_totals *t = dg_pipeline_totals(r->pipe);
	const struct dg_ruleset *rs = r->cfg->rules;
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	dg_log_info("%u input(s), %llu records, %llu malformed, in %.2f s (%.0f records/s, "
	            "peak RSS %ld MiB)",
	            dg_pipeline_ninputs(r->pipe), (unsigned long long)t->records,
	            (unsigned long long)t->malformed, elapsed,
	            elapsed > 0 ? (double)t->records / elapsed : 0.0, ru.ru_maxrss / 1024);
	dg_log_info("%llu findings: critical %llu, high %llu, medium %llu, low %llu, "
	            "info %llu",
	            (unsigned long long)t->findings,
	            (unsigned long long)t->by_severity[DG_SEV_CRITICAL],
	            (unsigned long long)t->by_severity[DG_SEV_HIGH],
	            (unsigned long long)t->by_severity[DG_SEV_MEDIUM],
	            (unsigned long long)t->by_severity[DG_SEV_LOW],
	            (unsigned long long)t->by_severity[DG_SEV_INFO]);
	for (size_t i = 0; i < dg_rules_count(rs); i++) {
		const struct dg_rule *rule = dg_rules_get(rs, i);

		if (t->by_rule[i] > 0)
			dg_log_info("  %6llu  %-8s %-28s %s", (unsigned long long)t->by_rule[i],
			            dg_rules_severity_name(rule->severity), rule->id, rule->title);
	}
	if (bundle != NULL)
		dg_log_info("signed report %s (check it: dgaudit verify %s)", bundle, bundle);
}

static bool worst_at_least(const struct dg_pipeline_totals *t, enum dg_severity sev)
{
	for (int s = sev; s < DG_SEV_COUNT; s++)
		if (t->by_severity[s] > 0)
			return true;
	return false;
}

int dg_run_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"output", required_argument, NULL, 'o'},
	    {"format", required_argument, NULL, 'f'},
	    {"fail-on", required_argument, NULL, 'F'},
	    {"findings", required_argument, NULL, 'x'},
	    {"log-line-prefix", required_argument, NULL, 'P'},
	    {"timezone", required_argument, NULL, 'z'},
	    {"explain", no_argument, NULL, 'e'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct run r = {.format = NULL, .fail_on = DG_SEV_HIGH};
	const char *conf = NULL, *outdir = NULL, *findings = NULL, *tzspec = NULL;
	uint8_t pkey[DG_PSEUDONYM_KEY_LEN];
	struct dg_pipeline_hooks hooks = {on_finding, on_malformed, &r, on_integrity};
	struct dg_signer *signer = NULL;
	struct dg_dirlock *lock = NULL, *chain_lock = NULL;
	const char *reports;
	FILE *out = stdout;
	char *cause = NULL, *bundle_path = NULL;
	char **paths = NULL, *buf = NULL;
	size_t npaths = 0;
	int64_t t0;
	int c, rc = DG_EXIT_USAGE;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			conf = optarg;
			break;
		case 'o':
			outdir = optarg;
			break;
		case 'f':
			if (dg_pipeline_format_parse(optarg) < 0) {
				dg_log_errx("unknown format '%s' (%s)", optarg, DG_FORMAT_NAMES);
				return DG_EXIT_USAGE;
			}
			r.format = optarg;
			break;
		case 'P': {
			char *why = NULL;
			struct dg_pglog *pg =
			    dg_pglog_new(DG_PGLOG_STDERR, optarg, NULL, 256, &why);

			if (pg == NULL) {
				dg_log_errx("--log-line-prefix: %s", why);
				free(why);
				return DG_EXIT_USAGE;
			}
			dg_pglog_free(pg);
			r.prefix = optarg;
			break;
		}
		case 'z':
			tzspec = optarg;
			break;
		case 'F':
			if (!dg_rules_severity_parse(optarg, &r.fail_on)) {
				dg_log_errx("--fail-on takes info, low, medium, "
				            "high or critical");
				return DG_EXIT_USAGE;
			}
			break;
		case 'x':
			findings = optarg;
			break;
		case 'e':
			r.explain = true;
			break;
		case 'h':
			usage(stdout);
			return DG_EXIT_OK;
		default:
			usage(stderr);
			return DG_EXIT_USAGE;
		}
	}
	r.cfg = dg_config_load(conf, dg_clock_wall_ms(), &cause);
	if (r.cfg == NULL) {
		dg_log_diagnostics(cause);
		free(cause);
		return DG_EXIT_USAGE;
	}
	if (optind == argc && r.cfg->nsources == 0) {
		usage(stderr);
		goto out;
	}
	if (tzspec != NULL && (r.tz = dg_tz_load(tzspec, &cause)) == NULL) {
		dg_log_errx("--timezone: %s", cause);
		goto out;
	}
	if (findings != NULL && (out = fopen(findings, "we")) == NULL) {
		dg_log_err("%s", findings);
		goto out;
	}
	/* Keys created in the state directory: its owner only. */
	if (r.cfg->key_path == NULL || r.cfg->pseudonym_key_path == NULL) {
		char *dir = dg_config_state_dir(r.cfg, false);

		lock = dg_dirlock_new(dir, 0700, &cause);
		free(dir);
		if (lock == NULL) {
			dg_log_errx("%s", cause);
			goto out;
		}
	}
	signer = dg_keystore_signer(r.cfg, false, NULL, &cause);
	if (signer == NULL || dg_keystore_pseudonym(r.cfg, false, pkey, NULL, &cause) != 0) {
		dg_log_errx("%s", cause);
		goto out;
	}
	/* The report is written as the audit goes: start its bundle first. */
	t0 = dg_clock_mono_ms();
	reports = outdir ? outdir : r.cfg->report_dir ? r.cfg->report_dir : "dgaudit-reports";
	/* one writer per chain: a daemon, or another run, adding to it would break it */
	if ((chain_lock = dg_dirlock_new(reports, 0755, &cause)) == NULL) {
		dg_log_errx("%s", cause);
		goto out;
	}
	r.period = dg_period_new("run");
	dg_period_add_sink(
	    r.period, dg_sink_report_new(reports, signer, r.cfg->max_malformed_listed, 0, false));
	dg_period_add_sink(r.period, dg_sink_findings_stream(out, out != stdout));
	out = stdout; /* the sink's now */
	if (r.cfg->syslog != NULL)
		dg_period_add_sink(r.period, dg_sink_syslog_new(r.cfg->syslog, false, NULL, NULL));
	/* a run continues the chain of its report directory: verify DIR checks them all */
	if (dg_period_continue_chain(r.period, reports, &cause) < 0) {
		dg_log_errx("%s: a new chain starts at report 1", cause);
		free(cause);
		cause = NULL;
	}
	if (dg_period_begin(r.period, dg_clock_wall_ms(), &cause) != 0) {
		dg_log_errx("writing the report: %s", cause);
		goto out;
	}
	dg_period_event(r.period, dg_period_id(r.period)->started_ms, "start", NULL, -1,
	                "one-off audit (dgaudit run)");
	if (optind < argc) {
		paths = expand(&r, argv + optind, argc - optind, &npaths);
	} else {
		char **srcs = dg_xcalloc(r.cfg->nsources, sizeof *srcs);

		for (size_t i = 0; i < r.cfg->nsources; i++)
			srcs[i] = r.cfg->sources[i].path;
		paths = expand(&r, srcs, (int)r.cfg->nsources, &npaths);
		free(srcs);
	}
	chronological(paths, npaths);
	r.pipe = dg_pipeline_new(r.cfg, pkey, sizeof pkey, &hooks);
	dg_pipeline_explain(r.pipe, r.explain);
	buf = dg_xmalloc(READ_CHUNK);
	for (size_t i = 0; i < npaths; i++)
		audit_input(&r, paths[i], buf);
	dg_pipeline_finish(r.pipe); /* bursts still open are complete now */
	/* An input mostly malformed was not audited: the wrong log_line_prefix or format. */
	for (uint32_t i = 0; i < dg_pipeline_ninputs(r.pipe); i++) {
		char why[512];

		if (!dg_pipeline_health(r.pipe, i, r.cfg->max_malformed_ratio, why, sizeof why)) {
			dg_log_errx("%s", why);
			dg_period_event(r.period, dg_clock_wall_ms(), "malformed_ratio",
			                input_name(&r, i), -1, why);
			r.unreadable = true;
		}
	}
	if (commit_wait(&r, &cause) < 0 ||
	    dg_period_close(r.period, dg_clock_wall_ms(), r.cfg, dg_pipeline_totals(r.pipe),
	                    &bundle_path, &cause) != 0) {
		dg_log_errx("%s", cause);
		goto out; /* the report is removed below */
	}
	summary(&r, bundle_path, (double)(dg_clock_mono_ms() - t0) / 1e3);
	rc = r.unreadable || r.unforwarded                           ? DG_EXIT_UNREADABLE
	     : worst_at_least(dg_pipeline_totals(r.pipe), r.fail_on) ? DG_EXIT_FINDINGS
	                                                             : DG_EXIT_OK;
out:
	dg_hash_cleanse(pkey, sizeof pkey);
	if (out != stdout)
		fclose(out);
	for (size_t i = 0; i < npaths; i++)
		free(paths[i]);
	free(paths);
	free(buf);
	free(bundle_path);
	free(cause);
	dg_period_free(r.period); /* before the signer it holds */
	dg_sign_free(signer);
	dg_pipeline_free(r.pipe);
	dg_config_free(r.cfg);
	dg_tz_free(r.tz);
	dg_dirlock_free(chain_lock);
	dg_dirlock_free(lock);
	return rc;
}
