#include "dgaudit/daemon.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dgaudit/checkpoint.h"
#include "dgaudit/clock.h"
#include "dgaudit/config.h"
#include "dgaudit/dirlock.h"
#include "dgaudit/fileio.h"
#include "dgaudit/httpd.h"
#include "dgaudit/keystore.h"
#include "dgaudit/log.h"
#include "dgaudit/metrics.h"
#include "dgaudit/notify.h"
#include "dgaudit/period.h"
#include "dgaudit/pipeline.h"
#include "dgaudit/run.h"
#include "dgaudit/sink_findings.h"
#include "dgaudit/sink_journal.h"
#include "dgaudit/sink_report.h"
#include "dgaudit/sink_syslog.h"
#include "dgaudit/tail.h"
#include "dgaudit/ts.h"
#include "dgaudit/xmalloc.h"

#define TICK_MS           50        /* how often the commit timer looks */
#define FINDING_COMMIT_MS 10        /* a finding is durable and visible this soon, */
#define COMMIT_MS         250       /* other progress this often, */
#define COMMIT_SHARE      10        /* but commits take at most 1/COMMIT_SHARE of the time */
#define PUMP_BUDGET       (8 << 20) /* bytes read per turn of the loop, so timers still run */
#define HOLD_MS           250       /* a PostgreSQL message quiet this long has no more lines */
#define CHECKPOINT_VERSION                                                                         \
	3 /* 2: sealed with a MAC under state.key; 3: the report's state in                        \
	      the period's, each sink's part in it */
#define MAX_CHECKPOINT (256u << 20) /* window state can be large; refuse absurd files */

/* What the daemon knows of each pipeline input beyond the pipeline itself. */
struct din {
	char *path;   /* the file's name when opened: what evidence cites */
	char *source; /* the source path the glob matched: where a restart looks for it */
	char *format;
	struct dg_tail_id id;
	bool active;          /* followed by the tailer */
	bool ended;           /* its file is done; listed in the next report */
	bool unflushed;       /* fed since the last flush */
	int64_t last_data_ms; /* when bytes last came */
};

struct daemon {
	const char *conf_path;
	struct dg_config *cfg;
	char *state_dir, *reports_dir, *ckpt_path;
	struct dg_dirlock *lock, *chain_lock; /* the state directory, the report chain */
	uint64_t state_dev, state_ino;        /* the state directory locked at the start */
	struct dg_signer *signer;
	uint8_t pkey[DG_PSEUDONYM_KEY_LEN];
	uint8_t skey[DG_KEY_LEN];            /* the checkpoint's MAC key */
	bool new_signer, new_pkey, new_skey; /* keys this start created */
	bool unsealed;                       /* resumed from a checkpoint of version 1 */
	struct event_base *base;
	struct event *ev_inotify, *ev_poll, *ev_commit, *ev_pump, *ev_watchdog;
	struct event *ev_sig[4];
	struct dg_httpd *http;
	struct dg_tail *tail;
	struct dg_pipeline *pipe;
	struct din *ins;
	size_t nins, cap;
	/* The report period being written, and its outputs. */
	struct dg_period *period;
	bool dirty, stopping;
	bool awaiting; /* a commit waits for a collector's acknowledgement */
	int wake_fd;   /* the forwarding thread's word that one came */
	struct event *ev_wake;
	int64_t last_commit_ms, last_report_ms; /* monotonic; wall */
	int64_t period_mono_ms;                 /* the period's start, on the monotonic clock */
	int64_t commit_cost_ms;                 /* how long the last commit took */
	bool backlog;                           /* the last read left more waiting */
	/* For /metrics, since the state directory began (kept in the checkpoint): the periods
	 * already reported (the one in progress is in the pipeline's totals), gaps and reports. */
	struct dg_checkpoint_counters cum;
	char *reload_refused; /* why the last reload was refused, NULL if it was not */
	int exit_code;
};

/* ---- pipeline and tailer hooks ------------------------------------------------------------- */

static const char *input_name(const struct daemon *d, uint32_t input)
{
	return input < d->nins && d->ins[input].path ? d->ins[input].path : "dgaudit";
}

/* A sink full (the report at report.max_size) closes the period before more is read: reading
 * stops after the chunk in progress. Each time: a read outside the pump (the held-file
 * limit's) may come before the close. */
static void full_check(struct daemon *d)
{
	if (dg_period_full(d->period) && d->tail != NULL)
		dg_tail_yield(d->tail);
}

static void on_finding(void *arg, const struct dg_match *m, struct dg_cjson *json)
{
	struct daemon *d = arg;

	dg_period_finding(d->period, m, json, input_name(d, m->ref->input));
	if (m->kind != DG_MATCH_OPEN && m->kind != DG_MATCH_CARRIED) /* carried: at the close */
		full_check(d);
	if (d->tail != NULL && dg_period_busy(d->period))
		dg_tail_hold(d->tail, true); /* the collector's backlog at its bound: wait for it */
	dg_cjson_free(json);
}

static void on_malformed(void *arg, uint32_t input, const struct dg_record *rec, const char *why)
{
	struct daemon *d = arg;

	dg_period_malformed(d->period, input_name(d, input), rec, why);
}

static void on_integrity(void *arg, uint32_t input, const char *type, const char *detail)
{
	struct daemon *d = arg;

	dg_log_warnx("%s", detail);
	dg_period_event(d->period, dg_clock_wall_ms(), type,
	                input < d->nins ? input_name(d, input) : NULL, -1, detail);
}

static const struct dg_source_cfg *source_of(const struct dg_config *cfg, const char *path)
{
	for (size_t i = 0; i < cfg->nsources; i++)
		if (fnmatch(cfg->sources[i].path, path, 0) == 0)
			return &cfg->sources[i];
	return NULL;
}

static const char *format_of(const struct dg_config *cfg, const char *path)
{
	const struct dg_source_cfg *sc = source_of(cfg, path);

	return sc ? sc->format : "auto";
}

/* The source's log_line_prefix and time zone for an input, from cfg: the configuration the
 * pipeline runs with (during a reload, the new one). */
static void input_options(struct daemon *d, const struct dg_config *cfg, uint32_t input,
                          const char *source)
{
	const struct dg_source_cfg *sc = source_of(cfg, source);

	dg_pipeline_input_options(d->pipe, input, sc ? sc->prefix : NULL, sc ? sc->tz : NULL);
}

/* Finding ids tell the generations of a log apart by inode: each is read under the live name. */
static void input_key(struct daemon *d, uint32_t input)
{
	char key[48];

	snprintf(key, sizeof key, "%llx:%llx", (unsigned long long)d->ins[input].id.dev,
	         (unsigned long long)d->ins[input].id.ino);
	dg_pipeline_input_key(d->pipe, input, key);
}

static uint32_t add_input(struct daemon *d, const char *source, const char *path,
                          const char *format, const struct dg_tail_id *id, uint64_t offset,
                          uint64_t line)
{
	uint32_t input =
	    dg_pipeline_add_input(d->pipe, path, dg_pipeline_format_parse(format), offset, line);

	if (input >= d->cap) {
		d->cap = d->cap ? d->cap * 2 : 16;
		d->ins = dg_xreallocarray(d->ins, d->cap, sizeof *d->ins);
	}
	d->ins[input] = (struct din){
	    dg_xstrdup(path), dg_xstrdup(source), dg_xstrdup(format), *id, true, false, false, 0};
	if (input >= d->nins)
		d->nins = input + 1;
	input_options(d, d->cfg, input, source);
	input_key(d, input);
	return input;
}

static uint32_t tail_open(void *arg, const char *source, const char *name,
                          const struct dg_tail_id *id, uint64_t offset, uint64_t line)
{
	struct daemon *d = arg;

	dg_log_info("following %s from byte %llu", name, (unsigned long long)offset);
	return add_input(d, source, name, format_of(d->cfg, source), id, offset, line);
}

static void tail_data(void *arg, uint32_t input, const char *buf, size_t len, uint64_t offset)
{
	struct daemon *d = arg;
	struct din *in = &d->ins[input];
	char *cause = NULL;

	(void)offset;
	if (in->ended)
		return;
	in->unflushed = true;
	in->last_data_ms = dg_clock_mono_ms();
	if (dg_pipeline_feed(d->pipe, input, buf, len, &cause) != 0) {
		/* An unknown format: refuse the file rather than audit garbage. */
		dg_log_warnx("%s", cause);
		dg_period_event(d->period, dg_clock_wall_ms(), "input_refused", in->path, -1,
		                cause);
		dg_pipeline_end_input(d->pipe, input);
		in->ended = true;
		free(cause);
	}
	d->dirty = true;
}

static void tail_close(void *arg, uint32_t input, const char *why)
{
	struct daemon *d = arg;
	struct din *in = &d->ins[input];

	if (!in->ended)
		dg_pipeline_end_input(d->pipe, input);
	in->ended = true;
	in->active = false;
	dg_log_info("done with %s: %s", in->path, why);
	d->dirty = true;
}

static void tail_event(void *arg, uint32_t input, const char *type, uint64_t bytes,
                       const char *detail)
{
	struct daemon *d = arg;

	bool gap = strcmp(type, "gap") == 0;

	if (gap) {
		d->cum.gaps++;
		d->cum.gap_bytes += bytes;
		dg_log_warnx("%s", detail);
	} else if (strcmp(type, "descriptors_exhausted") == 0) {
		dg_log_warnx("%s", detail);
	} else {
		dg_log_info("%s", detail);
	}
	dg_period_event(d->period, dg_clock_wall_ms(), type,
	                input < d->nins ? input_name(d, input) : NULL,
	                gap || bytes > 0 ? (int64_t)bytes : -1, detail);
	d->dirty = true;
}

static uint64_t tail_resume(void *arg, uint32_t input, uint64_t *line)
{
	struct daemon *d = arg;

	return dg_pipeline_resume(d->pipe, input, line);
}

/* ---- checkpoint ---------------------------------------------------------------------------- */

struct used {
	bool *used;
	uint32_t n;
};

static void mark_used(void *arg, uint32_t input)
{
	struct used *u = arg;

	if (input < u->n) /* not DG_REF_SELF */
		u->used[input] = true;
}

static void save_remembered(void *arg, const struct dg_tail_id *id, uint64_t offset, uint64_t line)
{
	struct dg_cjson *o = dg_cjson_push(arg, dg_cjson_object());

	dg_checkpoint_save_id(o, id);
	dg_cjson_set(o, "offset", dg_cjson_int((int64_t)offset));
	dg_cjson_set(o, "line", dg_cjson_int((int64_t)line));
}

/* Inputs a checkpoint keeps: followed ones, ended ones not yet in a report, and any a
 * threshold window still cites; remap gives their numbers in the checkpoint. */
static struct dg_cjson *save_inputs(struct daemon *d, uint32_t *remap)
{
	struct dg_cjson *arr = dg_cjson_array();
	bool *used = dg_xcalloc(d->nins + 1, sizeof *used);
	struct used u = {used, (uint32_t)d->nins};
	uint32_t next = 0;

	dg_engine_inputs(dg_pipeline_engine(d->pipe), mark_used, &u);
	for (uint32_t i = 0; i < d->nins; i++) {
		struct din *in = &d->ins[i];
		const struct dg_input_stats *st = dg_pipeline_input(d->pipe, i);
		struct dg_cjson *o;
		uint64_t line, resume;
		char *digest;

		remap[i] = UINT32_MAX;
		if (!in->active && !in->ended && !used[i])
			continue;
		remap[i] = next++;
		o = dg_cjson_push(arr, dg_cjson_object());
		resume = dg_pipeline_resume(d->pipe, i, &line);
		/* the fingerprint as it is now: a file found empty has one only once written */
		if (in->active)
			dg_tail_id_of(d->tail, i, &in->id);
		dg_cjson_set(o, "path", dg_cjson_str(in->path));
		dg_cjson_set(o, "source", dg_cjson_str(in->source));
		dg_cjson_set(o, "format", dg_cjson_str(in->format));
		dg_cjson_set(o, "key", dg_cjson_str(dg_pipeline_key(d->pipe, i)));
		dg_checkpoint_save_id(o, &in->id);
		dg_cjson_set(o, "state",
		             dg_cjson_str(in->active  ? "active"
		                          : in->ended ? "ended"
		                                      : "cited"));
		dg_cjson_set(o, "resume", dg_cjson_int((int64_t)resume));
		dg_cjson_set(o, "line", dg_cjson_int((int64_t)line));
		dg_cjson_set(o, "start", dg_cjson_int((int64_t)st->start_offset));
		dg_cjson_set(o, "records", dg_cjson_int((int64_t)st->records));
		dg_cjson_set(o, "malformed", dg_cjson_int((int64_t)st->malformed));
		dg_cjson_set(o, "blank", dg_cjson_int((int64_t)st->blank));
		digest = dg_pipeline_save_digest(d->pipe, i);
		dg_cjson_set(o, "digest", dg_cjson_str(digest));
		free(digest);
	}
	free(used);
	return arr;
}

static bool dir_is(const char *dir, uint64_t dev, uint64_t ino);
static void state_dir_check(struct daemon *d);

/* Writes the checkpoint: everything needed to continue from exactly here; period is the
 * period's and its sinks' part. */
static int write_checkpoint(void *arg, struct dg_cjson *period, char **why)
{
	struct daemon *d = arg;
	struct dg_cjson *c = dg_cjson_object(), *rem;
	uint32_t *remap = dg_xcalloc(d->nins + 1, sizeof *remap);
	struct dg_buf text = {0};
	char *cause = NULL;

	(void)why; /* nothing can be promised when it fails: fatal */
	dg_cjson_set(c, "version", dg_cjson_int(CHECKPOINT_VERSION));
	dg_cjson_set(c, "period", period);
	dg_cjson_set(c, "inputs", save_inputs(d, remap));
	dg_cjson_set(c, "totals",
	             dg_checkpoint_save_totals(dg_pipeline_totals(d->pipe), d->cfg->rules));
	dg_cjson_set(c, "counters", dg_checkpoint_save_counters(&d->cum, d->cfg->rules));
	dg_cjson_set(c, "windows", dg_engine_save(dg_pipeline_engine(d->pipe), remap));
	rem = dg_cjson_set(c, "remembered", dg_cjson_array());
	dg_tail_each_remembered(d->tail, save_remembered, rem);
	dg_cjson_write(c, &text);
	dg_checkpoint_seal(d->skey, &text);
	if (dg_fileio_write_atomic(d->ckpt_path, text.data, text.len, 0600, &cause) != 0 &&
	    !dir_is(d->state_dir, d->state_dev, d->state_ino)) {
		/* deleted between the commit's look and this write (rm -rf takes a while) */
		free(cause);
		cause = NULL;
		state_dir_check(d);
		if (dg_fileio_write_atomic(d->ckpt_path, text.data, text.len, 0600, &cause) == 0)
			goto written;
	}
	if (cause != NULL)
		dg_log_fatalx("writing the checkpoint: %s",
		              cause); /* nothing can be promised now */
written:
	dg_buf_release(&text);
	dg_cjson_free(c);
	free(remap);
	return 0;
}

static void self_integrity(struct daemon *d, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool dir_is(const char *dir, uint64_t dev, uint64_t ino)
{
	struct stat st;

	return stat(dir, &st) == 0 && (uint64_t)st.st_dev == dev && (uint64_t)st.st_ino == ino;
}

static void note_state_dir(struct daemon *d)
{
	struct stat st;

	if (stat(d->state_dir, &st) == 0) {
		d->state_dev = (uint64_t)st.st_dev;
		d->state_ino = (uint64_t)st.st_ino;
	}
}

/* The state directory deleted (or replaced) under the running daemon: a restart would find no
 * checkpoint and new keys, read every file again from its start and sign with another key. It
 * is made again from what the daemon holds: its lock, the keys, the report in progress, and the
 * checkpoint the commit goes on to write; the report says so. */
static bool state_dir_intact(const struct daemon *d)
{
	char *lock;
	bool whole;

	if (d->state_ino == 0) /* not noted: nothing to compare with */
		return true;
	if (!dir_is(d->state_dir, d->state_dev, d->state_ino))
		return false;
	lock = dg_xasprintf("%s/.lock", d->state_dir);
	whole = access(lock, F_OK) == 0; /* rm -rf racing a commit may leave the directory */
	free(lock);
	return whole;
}

static void state_dir_check(struct daemon *d)
{
	char *cause = NULL;
	int keys = 0, outputs;

	if (state_dir_intact(d))
		return;
	dg_log_warnx("the state directory %s was deleted or replaced while dgaudit ran: making it "
	             "again from memory",
	             d->state_dir);
	dg_dirlock_free(d->lock);
	if ((d->lock = dg_dirlock_new(d->state_dir, 0700, &cause)) == NULL)
		dg_log_fatalx("%s", cause);
	if (d->chain_lock != NULL && access(d->reports_dir, F_OK) != 0) {
		dg_dirlock_free(d->chain_lock);
		if ((d->chain_lock = dg_dirlock_new(d->reports_dir, 0755, &cause)) == NULL)
			dg_log_fatalx("%s", cause);
	}
	note_state_dir(d);
	/* the report in progress and the findings log, where they went with it */
	if (dg_keystore_restore(d->cfg, true, d->signer, d->pkey, d->skey, &keys, &cause) != 0 ||
	    (outputs = dg_period_reopen(d->period, false, &cause)) < 0)
		dg_log_fatalx("%s", cause);
	self_integrity(d, "state_restored",
	               "%s was deleted or replaced while dgaudit ran: made again from memory "
	               "(%d key file%s written again, the same keys; %d output%s made again: the "
	               "report so far, a findings log starting again; the checkpoint); reports and "
	               "findings written before it went with it",
	               d->state_dir, keys, keys == 1 ? "" : "s", outputs, outputs == 1 ? "" : "s");
}

/* Makes everything audited so far durable, then lets it be seen: every sink synced (report
 * stream, findings log), the checkpoint that points past them, then what they publish. False
 * while a sink waits for its collector's acknowledgement: nothing more is read meanwhile (so
 * the wait is short), and the commit is tried again when the acknowledgement comes. */
static bool commit(struct daemon *d)
{
	int64_t t0 = dg_clock_mono_ms();
	char *cause = NULL;
	int rc;

	state_dir_check(d);
	dg_pipeline_settle(d->pipe); /* what a checkpoint passes over is audited */
	rc = dg_period_commit(d->period, write_checkpoint, d, &cause);
	if (rc < 0)
		dg_log_fatalx("%s", cause); /* nothing can be promised now */
	d->awaiting = rc == DG_SINK_WAITING;
	if (d->tail != NULL) /* nothing more is read while a collector keeps the commit waiting */
		dg_tail_hold(d->tail, d->awaiting || dg_period_busy(d->period));
	if (d->awaiting)
		return false;
	d->dirty = false;
	d->last_commit_ms = dg_clock_mono_ms(); /* intervals: a clock step must not stall them */
	d->commit_cost_ms = dg_clock_mono_ms() - t0;
	return true;
}

/* Commits, waiting as long as the collector may take (a stop, a reload): false if it did not
 * acknowledge in that time. */
static bool commit_wait(struct daemon *d)
{
	int64_t until = dg_clock_mono_ms() + (d->cfg->syslog ? d->cfg->syslog->timeout_ms : 0);

	while (!commit(d)) {
		if (dg_clock_mono_ms() >= until)
			return false;
		usleep(10000);
	}
	return true;
}

/* ---- report periods ------------------------------------------------------------------------ */

static void begin_period(struct daemon *d)
{
	char *cause = NULL;

	d->period_mono_ms = dg_clock_mono_ms();
	if (dg_period_begin(d->period, dg_clock_wall_ms(), &cause) != 0)
		dg_log_fatalx("%s", cause);
	dg_pipeline_reset_totals(d->pipe);
}

static uint64_t findings_before(const struct daemon *d)
{
	uint64_t n = 0;

	for (int s = 0; s < DG_SEV_COUNT; s++)
		n += d->cum.by_severity[s];
	return n;
}

/* Inputs whose file is done, that a report has listed and no threshold window cites, are
 * released: memory does not grow with rotations, and their numbers serve the next files. */
static void release_inputs(struct daemon *d)
{
	bool *used = dg_xcalloc(d->nins + 1, sizeof *used);
	struct used u = {used, (uint32_t)d->nins};

	dg_engine_inputs(dg_pipeline_engine(d->pipe), mark_used, &u);
	for (uint32_t i = 0; i < d->nins; i++) {
		struct din *in = &d->ins[i];

		if (in->active || in->ended || used[i] || in->path == NULL)
			continue;
		dg_pipeline_release_input(d->pipe, i);
		free(in->path);
		free(in->source);
		free(in->format);
		memset(in, 0, sizeof *in);
	}
	free(used);
}

/* Closes the period: its report lists every input's byte range and digest, is signed and
 * put in place. Unless final, the next period begins. */
static void close_period(struct daemon *d, bool final)
{
	uint64_t seq = dg_period_id(d->period)->seq;
	char *path = NULL, *cause = NULL;

	/* The checkpoint must say exactly where this period ends before its report is put in
	 * place: else a restart would audit its end again into the next. */
	if (!(final ? commit_wait(d) : commit(d))) {
		if (final)
			dg_log_warnx(
			    "stopping without the final report: the syslog collector did not "
			    "acknowledge every finding; the restart sends them again");
		return; /* tried again with the next commit */
	}
	dg_pipeline_carry(d->pipe); /* bursts going on are in this report as they stand */
	commit(d);                  /* nothing waits now: nothing was read since */
	for (uint32_t i = 0; i < d->nins; i++) {
		struct din *in = &d->ins[i];
		struct dg_input_stats st;
		struct dg_report_input ri = {0};
		struct dg_source_id sid = {0};
		char why[512];

		if ((in->active || in->ended) &&
		    !dg_pipeline_health(d->pipe, i, d->cfg->max_malformed_ratio, why, sizeof why)) {
			dg_log_warnx("%s", why);
			dg_period_event(d->period, dg_clock_wall_ms(), "malformed_ratio", in->path,
			                -1, why);
		}
		if (in->active) {
			dg_pipeline_close_period(d->pipe, i, &st);
			dg_tail_rewind(d->tail, i, st.end_offset);
		} else if (in->ended) {
			st = *dg_pipeline_input(d->pipe, i);
			in->ended = false; /* listed now; only windows may still cite it */
		} else {
			continue;
		}
		sid.dev = in->id.dev;
		sid.ino = in->id.ino;
		memcpy(sid.fingerprint, in->id.fp, sizeof sid.fingerprint);
		ri.path = in->path;
		ri.format = dg_pipeline_format_name(st.format);
		ri.id = &sid;
		ri.start = st.start_offset;
		ri.end = st.end_offset;
		ri.records = st.records;
		ri.malformed = st.malformed;
		ri.sha256 = st.sha256;
		dg_period_input(d->period, &ri);
	}
	if (dg_period_close(d->period, dg_clock_wall_ms(), d->cfg, dg_pipeline_totals(d->pipe),
	                    &path, &cause) != 0)
		dg_log_fatalx("writing report %llu: %s", (unsigned long long)seq, cause);
	dg_log_info("signed report %s (seq %llu, %zu findings)", path, (unsigned long long)seq,
	            dg_period_closed_findings(d->period));
	free(path);
	dg_checkpoint_counters_add(&d->cum, dg_pipeline_totals(d->pipe), d->cfg->rules);
	d->last_report_ms = dg_clock_wall_ms();
	if (final)
		return;
	release_inputs(d);
	begin_period(d);
	commit(d);
}

/* ---- recovery ------------------------------------------------------------------------------ */

/* Without a checkpoint, the chain continues from the newest bundle in the reports directory. */
static void continue_chain(struct daemon *d)
{
	char *cause = NULL;

	if (dg_period_continue_chain(d->period, d->reports_dir, &cause) < 0) {
		dg_log_warnx("%s: a new chain starts at report 1", cause);
		free(cause);
	}
}

static bool get_u64(const struct dg_cjson *o, const char *key, uint64_t *out)
{
	int64_t v;

	if (!dg_cjson_intval(dg_cjson_get(o, key), &v) || v < 0)
		return false;
	*out = (uint64_t)v;
	return true;
}

/* Restores from the checkpoint; false if there is none (a first start). */
static bool recover(struct daemon *d)
{
	size_t len;
	char *cause = NULL, *text;
	struct dg_cjson *c, *period = NULL;
	const struct dg_cjson *p, *ins, *rem;
	const char *why;
	struct dg_tail_resume *resume;
	size_t nresume = 0;
	int restored;
	bool closed;
	int64_t version = 0;

	if (access(d->ckpt_path, F_OK) != 0 && errno == ENOENT)
		return false; /* a first start */
	text = dg_fileio_read(d->ckpt_path, MAX_CHECKPOINT, &len, &cause);
	if (text == NULL)
		dg_log_fatalx("%s", cause);
	/* Nothing in a checkpoint is believed before its seal is: an edited offset would skip or
	 * repeat records unseen. */
	switch (dg_checkpoint_open(d->skey, text, len, &len)) {
	case DG_CHECKPOINT_SEALED:
		break;
	case DG_CHECKPOINT_UNSEALED:
		d->unsealed = true;
		break;
	case DG_CHECKPOINT_BROKEN:
		free(text); /* else a leak checker at the exit may count it */
		dg_log_fatalx("%s was changed since dgaudit wrote it, or written under another "
		              "state key (its MAC does not verify%s): refusing to resume from it. "
		              "Move it away to start anew; the next report records that the state "
		              "was lost",
		              d->ckpt_path, d->new_skey ? ", and state.key was just created" : "");
	}
	c = dg_cjson_parse(text, len, &why);
	free(text);
	p = dg_cjson_get(c, "period");
	if (c != NULL && (!dg_cjson_intval(dg_cjson_get(c, "version"), &version) || version < 1 ||
	                  version > CHECKPOINT_VERSION))
		dg_log_fatalx("%s: checkpoint version %lld is not one this dgaudit reads (1 to %d)",
		              d->ckpt_path, (long long)version, CHECKPOINT_VERSION);
	if (d->unsealed && version >= 2)
		dg_log_fatalx(
		    "%s: its MAC was removed: refusing to resume from it. Move it away to "
		    "start anew; the next report records that the state was lost",
		    d->ckpt_path);
	if (c == NULL || p == NULL)
		dg_log_fatalx("%s: not a dgaudit checkpoint (%s); move it away to start afresh",
		              d->ckpt_path, c ? "no period" : why);
	if (version < 3) { /* the report's state was beside the period's */
		period = dg_cjson_clone(p);
		dg_cjson_set(period, "report", dg_cjson_clone(dg_cjson_get(c, "report")));
		p = period;
	}
	/* The period and its outputs: the report in progress cut back to the checkpoint (or the
	 * next begun, if it was put in place before the crash), the findings log too if it is
	 * still the file the checkpoint describes. */
	restored = dg_period_restore(d->period, p, dg_clock_wall_ms(), &cause);
	if (restored < 0)
		dg_log_fatalx("%s: %s; move it away to start afresh", d->ckpt_path, cause);
	dg_cjson_free(period);
	closed = restored == DG_SINK_PUBLISHED;
	{ /* the period went on for this long before the restart, as far as the wall clock says */
		int64_t ran = dg_clock_wall_ms() - dg_period_id(d->period)->started_ms;

		d->period_mono_ms = dg_clock_mono_ms() - (ran > 0 ? ran : 0);
	}
	/* Inputs, in checkpoint order: window entries cite them by that number. */
	ins = dg_cjson_get(c, "inputs");
	resume = dg_xcalloc(dg_cjson_len(ins) + 1, sizeof *resume);
	for (size_t i = 0; i < dg_cjson_len(ins); i++) {
		const struct dg_cjson *o = dg_cjson_at(ins, i);
		const char *path = dg_cjson_string(dg_cjson_get(o, "path"));
		const char *source = dg_cjson_string(dg_cjson_get(o, "source"));
		const char *format = dg_cjson_string(dg_cjson_get(o, "format"));
		const char *state = dg_cjson_string(dg_cjson_get(o, "state"));
		const char *digest = dg_cjson_string(dg_cjson_get(o, "digest"));
		struct dg_input_stats stats = {0};
		struct dg_tail_id id;
		uint64_t off, line;
		uint32_t input;

		if (path == NULL || source == NULL || format == NULL || state == NULL ||
		    digest == NULL || !dg_checkpoint_load_id(o, &id) ||
		    !get_u64(o, "resume", &off) || !get_u64(o, "line", &line) ||
		    !get_u64(o, "start", &stats.start_offset) ||
		    !get_u64(o, "records", &stats.records) ||
		    !get_u64(o, "malformed", &stats.malformed) ||
		    !get_u64(o, "blank", &stats.blank))
			dg_log_fatalx("%s: input %zu is malformed", d->ckpt_path, i);
		input = add_input(d, source, path, format, &id, off, line);
		/* what its findings' ids are made with (an older checkpoint has none) */
		if (dg_cjson_string(dg_cjson_get(o, "key")) != NULL)
			dg_pipeline_input_key(d->pipe, input,
			                      dg_cjson_string(dg_cjson_get(o, "key")));
		d->ins[input].active = false;
		if (!closed && dg_pipeline_restore(d->pipe, input, &stats, digest) != 0)
			dg_log_fatalx("%s: input %zu has a bad digest state", d->ckpt_path, i);
		if (strcmp(state, "active") == 0) {
			resume[nresume++] =
			    (struct dg_tail_resume){d->ins[input].source, id, off, line, input};
			d->ins[input].active = true;
		} else if (strcmp(state, "ended") == 0 && !closed) {
			dg_pipeline_end_input(d->pipe, input);
			d->ins[input].ended = true;
		} else {
			dg_pipeline_end_input(d->pipe, input);
		}
	}
	if (dg_engine_load(dg_pipeline_engine(d->pipe), dg_cjson_get(c, "windows")) != 0)
		dg_log_fatalx("%s: threshold window state is malformed", d->ckpt_path);
	dg_checkpoint_load_counters(&d->cum, d->cfg->rules, dg_cjson_get(c, "counters"));
	if (restored != DG_SINK_LOST) /* the period's totals: reported, or going on */
		dg_checkpoint_load_totals(dg_pipeline_totals_mut(d->pipe), d->cfg->rules,
		                          dg_cjson_get(c, "totals"));
	if (closed) { /* reported after the checkpoint: a new period has begun */
		dg_checkpoint_counters_add(&d->cum, dg_pipeline_totals(d->pipe), d->cfg->rules);
		dg_pipeline_reset_totals(d->pipe);
	}
	rem = dg_cjson_get(c, "remembered");
	for (size_t i = 0; i < dg_cjson_len(rem); i++) {
		const struct dg_cjson *o = dg_cjson_at(rem, i);
		struct dg_tail_id id;
		uint64_t off, line;

		if (dg_checkpoint_load_id(o, &id) && get_u64(o, "offset", &off) &&
		    get_u64(o, "line", &line))
			dg_tail_remember(d->tail, &id, off, line);
	}
	dg_tail_restore(d->tail, resume, nresume);
	free(resume);
	dg_cjson_free(c);
	return true;
}

/* ---- event loop ---------------------------------------------------------------------------- */

/* When caught up, findings are committed quickly so they are seen quickly, spending up to half
 * the time on it when commits are slow. Otherwise (other progress, or a backlog being read)
 * commits come less often, and at most a tenth of the time goes to them. */
static bool commit_due(const struct daemon *d, int64_t now)
{
	int64_t since = now - d->last_commit_ms;

	bool findings = dg_period_pending(d->period) > 0;

	if (findings && !d->backlog)
		return since >= FINDING_COMMIT_MS && since >= d->commit_cost_ms;
	return (d->dirty || findings) && since >= COMMIT_MS &&
	       since >= d->commit_cost_ms * (COMMIT_SHARE - 1);
}

static void status(struct daemon *d)
{
	struct dg_tail_stats ts;
	char msg[256];

	dg_tail_stats(d->tail, &ts);
	snprintf(msg, sizeof msg,
	         "STATUS=%llu records, %llu findings, %llu files followed, %llu bytes behind",
	         (unsigned long long)(d->cum.records + dg_pipeline_totals(d->pipe)->records),
	         (unsigned long long)(findings_before(d) + dg_pipeline_totals(d->pipe)->findings),
	         (unsigned long long)ts.files, (unsigned long long)ts.behind);
	dg_notify(msg);
}

static void on_pump(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	(void)fd, (void)what;
	if (d->stopping)
		return;
	if (d->awaiting || dg_period_busy(d->period)) { /* the ack (on_wake) goes on */
		if (d->awaiting)
			commit(d);
		return;
	}
	if (!dg_period_full(d->period))
		d->backlog = dg_tail_pump(d->tail, PUMP_BUDGET);
	if (dg_period_full(d->period)) {
		close_period(d, false); /* before anything more is read */
		d->backlog = true;
	}
	if (d->backlog)
		event_active(d->ev_pump, EV_TIMEOUT, 0); /* more waiting: after other events */
	if (commit_due(d, dg_clock_mono_ms()))
		commit(d); /* findings just made: durable and visible now */
}

static void on_inotify(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	(void)fd, (void)what;
	if (dg_period_full(d->period))
		close_period(d, false); /* a look may read (held files past daemon.max_held) */
	dg_tail_events(d->tail);
	event_active(d->ev_pump, EV_TIMEOUT, 0);
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	(void)fd, (void)what;
	if (dg_period_full(d->period))
		close_period(d, false);
	dg_tail_scan(d->tail);
	event_active(d->ev_pump, EV_TIMEOUT, 0);
}

static bool close_due(struct daemon *d, int64_t now)
{
	return dg_period_full(d->period) || now - d->period_mono_ms >= d->cfg->report_interval_ms;
}

static void on_commit(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	int64_t now = dg_clock_mono_ms();

	(void)fd, (void)what;
	if (d->stopping)
		return;
	if (!d->dirty && !state_dir_intact(d))
		commit(
		    d); /* an idle daemon too: its state made again at once (commit looks first) */
	/* A record whose end shows only when the next one starts is audited once its file has
	 * been quiet for a while. */
	for (uint32_t i = 0; i < d->nins; i++) {
		struct din *in = &d->ins[i];

		if (in->unflushed && in->active &&
		    dg_clock_mono_ms() - in->last_data_ms >= HOLD_MS) {
			dg_pipeline_flush(d->pipe, i);
			in->unflushed = false;
		}
	}
	if (close_due(d, now))
		close_period(d, false);
	else if (d->awaiting || commit_due(d, now))
		commit(d);
}

/* The forwarding thread's word: the collector acknowledged what a commit waits for. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	uint64_t n;

	(void)what;
	if (read(fd, &n, sizeof n) < 0 && errno != EAGAIN)
		dg_log_warn("reading the forwarder's eventfd");
	if (d->stopping || !d->awaiting)
		return;
	if (close_due(d, dg_clock_mono_ms()))
		close_period(d, false);
	else if (commit(d))
		event_active(d->ev_pump, EV_TIMEOUT, 0); /* reading goes on */
}

/* Called by the forwarding thread: a write to an eventfd is safe from any thread. */
static void wake(void *arg)
{
	struct daemon *d = arg;
	uint64_t one = 1;

	if (write(d->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
		return; /* the tick tries again within TICK_MS */
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	(void)fd, (void)what;
	dg_notify("WATCHDOG=1");
	status(d);
}

static void stop(struct daemon *d, const char *why)
{
	if (d->stopping)
		return;
	d->stopping = true;
	dg_notify("STOPPING=1");
	dg_log_info("stopping (%s): writing the final report", why);
	dg_period_event(d->period, dg_clock_wall_ms(), "stop", NULL, -1, why);
	close_period(d, true);
	event_base_loopbreak(d->base);
}

static void reload(struct daemon *d);
static struct dg_httpd *metrics_server(struct daemon *d, const char *listen, char **cause);

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	char *cause = NULL;

	(void)what;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		stop(d, sig == SIGTERM ? "SIGTERM" : "SIGINT");
		break;
	case SIGHUP:
		reload(d);
		break;
	case SIGUSR1:
		commit(d); /* what the old file should hold is written first */
		if (dg_period_reopen(d->period, true, &cause) < 0)
			dg_log_fatalx("%s", cause);
		commit(d); /* and the checkpoint names the new file before anything goes in it */
		dg_log_info("reopened output files");
		break;
	}
}

/* SIGHUP: a valid new configuration replaces the running one at a report boundary (a report
 * covers one configuration); windows of rules that did not change carry over. An invalid one
 * is refused and the old one keeps running. */
static bool same_text(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool same_syslog(const struct dg_syslog_cfg *a, const struct dg_syslog_cfg *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return a->transport == b->transport && a->facility == b->facility && a->queue == b->queue &&
	       a->timeout_ms == b->timeout_ms && a->tls == b->tls && a->verify == b->verify &&
	       same_text(a->host, b->host) && same_text(a->port, b->port) &&
	       same_text(a->ca, b->ca) && same_text(a->cert, b->cert) &&
	       same_text(a->key, b->key) && same_text(a->peer_name, b->peer_name);
}

/* What a reload cannot change under a running daemon (its locks, its chain, its checkpointed
 * findings log and files): named, so the reload is refused rather than half applied. */
static char *needs_restart(const struct daemon *d, const struct dg_config *cfg)
{
	struct dg_buf what = {0};
	char *state = dg_config_state_dir(cfg, true);
	bool same_sources = cfg->nsources == d->cfg->nsources;

	for (size_t i = 0; same_sources && i < cfg->nsources; i++)
		same_sources = strcmp(cfg->sources[i].path, d->cfg->sources[i].path) == 0;
	if (strcmp(state, d->state_dir) != 0)
		dg_buf_printf(&what, ", state_directory (%s, running with %s)", state,
		              d->state_dir);
	if (!same_text(cfg->report_dir, d->cfg->report_dir))
		dg_buf_printf(&what, ", report.directory");
	if (!same_text(cfg->findings_path, d->cfg->findings_path))
		dg_buf_printf(&what, ", daemon.findings");
	if (!same_sources)
		dg_buf_printf(&what, ", the sources' paths");
	if (cfg->max_held != d->cfg->max_held || cfg->rotated_idle_ms != d->cfg->rotated_idle_ms)
		dg_buf_printf(&what, ", daemon.max_held or daemon.rotated_idle");
	if (!same_syslog(cfg->syslog, d->cfg->syslog))
		dg_buf_printf(&what, ", syslog");
	free(state);
	if (what.len == 0)
		return NULL;
	dg_buf_addc(&what, '\0');
	state = dg_xasprintf("%s: %s changed, which takes a restart",
	                     d->conf_path ? d->conf_path : "the configuration", what.data + 2);
	dg_buf_release(&what);
	return state;
}

static void reload(struct daemon *d)
{
	char *cause = NULL;
	struct dg_config *cfg = dg_config_load(d->conf_path, dg_clock_wall_ms(), &cause);
	struct dg_pipeline_hooks hooks = {on_finding, on_malformed, d, on_integrity};
	struct dg_pipeline *old = d->pipe;
	struct dg_cjson *windows;
	uint32_t *identity;
	struct dg_httpd *http = NULL;

	if (cfg != NULL && (cause = needs_restart(d, cfg)) == NULL &&
	    !same_text(cfg->metrics_listen, d->cfg->metrics_listen) &&
	    cfg->metrics_listen != NULL &&
	    (http = metrics_server(d, cfg->metrics_listen, &cause)) == NULL) {
		char *why = dg_xasprintf("daemon.metrics: %s", cause);

		free(cause);
		cause = why;
	}
	if (cfg != NULL && cause != NULL) {
		dg_config_free(cfg);
		cfg = NULL;
	}
	if (cfg == NULL) {
		dg_log_warnx("reload refused, the running configuration stays: %s", cause);
		dg_period_event(d->period, dg_clock_wall_ms(), "reload_refused", NULL, -1, cause);
		free(d->reload_refused);
		d->reload_refused = cause; /* /healthz says so until a reload succeeds */
		return;
	}
	if (!commit_wait(d)) { /* a report covers one configuration: this one's must close */
		cause = dg_xstrdup("the syslog collector has not acknowledged every finding yet: "
		                   "the reload waits for it (send SIGHUP again)");
		dg_log_warnx("reload refused, the running configuration stays: %s", cause);
		dg_period_event(d->period, dg_clock_wall_ms(), "reload_refused", NULL, -1, cause);
		free(d->reload_refused);
		d->reload_refused = cause;
		dg_config_free(cfg);
		dg_httpd_free(http);
		return;
	}
	if (!same_text(cfg->metrics_listen, d->cfg->metrics_listen)) {
		dg_httpd_free(d->http); /* the new one is bound already: nothing is left unserved */
		d->http = http;
		if (http != NULL)
			dg_log_info("metrics on http://%s/metrics", cfg->metrics_listen);
	}
	if (cfg->poll_ms != d->cfg->poll_ms) {
		struct timeval tv = {cfg->poll_ms / 1000, (cfg->poll_ms % 1000) * 1000};

		event_add(d->ev_poll, &tv); /* a pending timer is rescheduled */
	}
	dg_tail_limit_open(d->tail, cfg->max_open);
	close_period(d, false);
	identity = dg_xcalloc(d->nins + 1, sizeof *identity);
	for (uint32_t i = 0; i < d->nins; i++)
		identity[i] = i;
	windows = dg_engine_save(dg_pipeline_engine(old), identity);
	free(identity);
	/* The new pipeline gets the same inputs, at the same places, under the same numbers. */
	d->pipe = dg_pipeline_new(cfg, d->pkey, sizeof d->pkey, &hooks);
	for (uint32_t i = 0; i < d->nins; i++) {
		uint64_t line = 1, off = 0;
		const struct dg_input_stats *st = dg_pipeline_input(old, i);

		if (dg_pipeline_released(old, i)) { /* a place kept, released below */
			dg_pipeline_add_input(d->pipe, "", DG_FORMAT_AUTO, 0, 1);
			continue;
		}
		off = dg_pipeline_resume(old, i, &line);
		dg_pipeline_add_input(d->pipe, st->name, st->format, off, line);
		input_options(d, cfg, i, d->ins[i].source);
		dg_pipeline_input_key(d->pipe, i, dg_pipeline_key(old, i));
		if (!d->ins[i].active)
			dg_pipeline_end_input(d->pipe, i);
	}
	for (uint32_t i = 0; i < d->nins; i++)
		if (dg_pipeline_released(old, i))
			dg_pipeline_release_input(d->pipe, i);
	if (dg_engine_load(dg_pipeline_engine(d->pipe), windows) != 0)
		dg_log_warnx("reload: threshold windows could not be carried over");
	dg_cjson_free(windows);
	dg_pipeline_free(old);
	dg_checkpoint_counters_carry(&d->cum, d->cfg->rules, cfg->rules);
	dg_config_free(d->cfg);
	d->cfg = cfg;
	free(d->reload_refused);
	d->reload_refused = NULL;
	dg_pipeline_reset_totals(d->pipe);
	dg_period_event(d->period, dg_clock_wall_ms(), "reload", NULL, -1,
	                d->conf_path ? d->conf_path : "built-in defaults");
	dg_log_info("configuration reloaded: %zu rules", dg_rules_count(cfg->rules));
	commit(d);
}

/* ---- metrics ------------------------------------------------------------------------------- */

struct behind_ctx {
	struct dg_buf *b;
	struct daemon *d;
};

static void behind_of(void *arg, uint32_t input, const char *path, const struct dg_tail_id *id)
{
	struct behind_ctx *c = arg;
	struct stat st;
	uint64_t off = dg_pipeline_resume(c->d->pipe, input, NULL);

	if (stat(path, &st) == 0 && (uint64_t)st.st_ino == id->ino)
		dg_metrics_u64(c->b, "dgaudit_bytes_behind", "path", path,
		               (uint64_t)st.st_size > off ? (uint64_t)st.st_size - off : 0);
}

/* What each rule and exception did: the reported periods' sums (kept in the checkpoint and,
 * by rule id, across reloads) plus the period in progress. */
static void rule_metrics(struct daemon *d, struct dg_buf *b)
{
	static const char *const names[] = {"evaluations",    "matches",    "exempted",
	                                    "findings",       "suppressed", "evicted_groups",
	                                    "evicted_records"};
	static const char *const helps[] = {
	    "Events each rule was evaluated on.",
	    "Events that met each rule's selection.",
	    "Matches an exception exempted.",
	    "Findings each rule raised.",
	    "Findings held back by a rule's suppression.",
	    "Groups a rule's window evicted to keep its memory bound.",
	    "Records a rule's window evicted to keep its memory bound."};
	const struct dg_pipeline_totals *t = dg_pipeline_totals(d->pipe);
	const struct dg_ruleset *rs = d->cfg->rules;
	char name[64];

	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		snprintf(name, sizeof name, "dgaudit_rule_%s_total", names[k]);
		dg_metrics_family(b, name, DG_METRICS_COUNTER, helps[k]);
		for (size_t i = 0; i < dg_rules_count(rs); i++) {
			const struct dg_rule_stats *c = &d->cum.rules[i], *p = &t->rule_stats[i];
			const uint64_t v[] = {c->evaluations + p->evaluations,
			                      c->matches + p->matches,
			                      c->exempted + p->exempted,
			                      c->findings + p->findings,
			                      c->suppressed + p->suppressed,
			                      c->evicted_groups + p->evicted_groups,
			                      c->evicted_records + p->evicted_records};

			dg_metrics_u64(b, name, "rule", dg_rules_get(rs, i)->id, v[k]);
		}
	}
	dg_metrics_family(b, "dgaudit_rule_cpu_seconds_total", DG_METRICS_COUNTER,
	                  "CPU time spent evaluating each rule.");
	for (size_t i = 0; i < dg_rules_count(rs); i++)
		dg_metrics_f64(b, "dgaudit_rule_cpu_seconds_total", "rule", dg_rules_get(rs, i)->id,
		               (double)(d->cum.rules[i].cpu_ns + t->rule_stats[i].cpu_ns) / 1e9);
	dg_metrics_family(b, "dgaudit_exception_exempted_total", DG_METRICS_COUNTER,
	                  "Matches each exception exempted.");
	for (size_t i = 0; i < dg_rules_exception_count(rs); i++)
		dg_metrics_u64(b, "dgaudit_exception_exempted_total", "exception",
		               dg_rules_exception(rs, i)->id,
		               d->cum.exceptions[i].exempted + t->exception_stats[i].exempted);
	dg_metrics_family(b, "dgaudit_exception_expired_matches_total", DG_METRICS_COUNTER,
	                  "Matches an exception would have exempted had it not expired.");
	for (size_t i = 0; i < dg_rules_exception_count(rs); i++)
		dg_metrics_u64(b, "dgaudit_exception_expired_matches_total", "exception",
		               dg_rules_exception(rs, i)->id,
		               d->cum.exceptions[i].expired + t->exception_stats[i].expired);
	dg_metrics_family(b, "dgaudit_exception_expired", DG_METRICS_GAUGE,
	                  "1 if the exception has expired.");
	for (size_t i = 0; i < dg_rules_exception_count(rs); i++)
		dg_metrics_u64(b, "dgaudit_exception_expired", "exception",
		               dg_rules_exception(rs, i)->id,
		               dg_rules_exception(rs, i)->expires_ms <= dg_clock_wall_ms());
}

static int on_metrics(void *arg, struct evbuffer *out, const char **type)
{
	static const struct {
		const char *why, *name;
	} refusals[] = {{"connections", "connections past the limit"},
	                {"timeout", "read or idle timeout"},
	                {"too_large", "request head too large"},
	                {"bad_request", "not a GET or HEAD of a known path"}};
	struct daemon *d = arg;
	const struct dg_pipeline_totals *t = dg_pipeline_totals(d->pipe);
	struct dg_tail_stats ts;
	struct dg_httpd_stats hs;
	struct dg_buf b = {0};
	struct behind_ctx bc = {&b, d};
	uint64_t refused[4];

	dg_tail_stats(d->tail, &ts);
	dg_httpd_stats(d->http, &hs);
	/* Audit counters count committed work since the state directory began: kept in the
	 * checkpoint, so they neither drop at a restart or reload nor count a record twice. */
	dg_metrics_one(&b, "dgaudit_records_total", DG_METRICS_COUNTER, "Records audited.",
	               d->cum.records + t->records);
	dg_metrics_one(&b, "dgaudit_malformed_total", DG_METRICS_COUNTER,
	               "Malformed records (counted and reported, not audited).",
	               d->cum.malformed + t->malformed);
	dg_metrics_family(&b, "dgaudit_findings_total", DG_METRICS_COUNTER,
	                  "Findings, by severity.");
	for (int s = 0; s < DG_SEV_COUNT; s++)
		dg_metrics_u64(&b, "dgaudit_findings_total", "severity", dg_rules_severity_name(s),
		               d->cum.by_severity[s] + t->by_severity[s]);
	dg_metrics_one(&b, "dgaudit_gaps_total", DG_METRICS_COUNTER,
	               "Gaps declared (data lost before it could be read).", d->cum.gaps);
	dg_metrics_one(&b, "dgaudit_gap_bytes_total", DG_METRICS_COUNTER,
	               "Bytes the declared gaps lost.", d->cum.gap_bytes);
	dg_metrics_one(&b, "dgaudit_reports_total", DG_METRICS_COUNTER, "Signed reports written.",
	               d->cum.reports);
	rule_metrics(d, &b);
	/* Process counters: since this process started. */
	dg_metrics_one(&b, "dgaudit_bytes_read_total", DG_METRICS_COUNTER,
	               "Bytes read from the followed files by this process.", ts.bytes_read);
	dg_metrics_one(&b, "dgaudit_inotify_watch_failures_total", DG_METRICS_COUNTER,
	               "inotify watches that could not be added (polling covers them).",
	               ts.watch_failures);
	dg_metrics_one(&b, "dgaudit_file_parks_total", DG_METRICS_COUNTER,
	               "Times an idle file gave back its descriptor.", ts.parks);
	dg_metrics_one(&b, "dgaudit_metrics_requests_total", DG_METRICS_COUNTER,
	               "Requests this endpoint served.", hs.served);
	dg_metrics_family(&b, "dgaudit_metrics_refused_total", DG_METRICS_COUNTER,
	                  "Requests this endpoint refused, by reason.");
	refused[0] = hs.refused, refused[1] = hs.timed_out, refused[2] = hs.too_large,
	refused[3] = hs.bad;
	for (size_t i = 0; i < 4; i++)
		dg_metrics_u64(&b, "dgaudit_metrics_refused_total", "why", refusals[i].why,
		               refused[i]);
	/* Gauges. */
	dg_metrics_family(&b, "dgaudit_bytes_behind", DG_METRICS_GAUGE,
	                  "Bytes of each followed file not yet read.");
	dg_tail_each(d->tail, behind_of, &bc);
	dg_metrics_one(&b, "dgaudit_files_followed", DG_METRICS_GAUGE, "Files followed.", ts.files);
	dg_metrics_one(&b, "dgaudit_rotated_files_held", DG_METRICS_GAUGE,
	               "Rotated files held open until read to their end.", ts.held);
	dg_metrics_one(&b, "dgaudit_files_unopened", DG_METRICS_GAUGE,
	               "Files waiting for a descriptor.", ts.unopened);
	dg_metrics_one(&b, "dgaudit_files_parked", DG_METRICS_GAUGE,
	               "Files read to their end that hold no descriptor.", ts.parked);
	dg_metrics_one(&b, "dgaudit_last_report_timestamp_seconds", DG_METRICS_GAUGE,
	               "When the last signed report was written (Unix time).",
	               (uint64_t)(d->last_report_ms > 0 ? d->last_report_ms / 1000 : 0));
	dg_metrics_family(&b, "dgaudit_checkpoint_age_seconds", DG_METRICS_GAUGE,
	                  "Seconds since the last checkpoint.");
	dg_metrics_f64(&b, "dgaudit_checkpoint_age_seconds", NULL, NULL,
	               (double)(dg_clock_mono_ms() - d->last_commit_ms) / 1000.0);
	dg_metrics_one(&b, "dgaudit_reload_refused", DG_METRICS_GAUGE,
	               "1 if the last reload was refused (the running configuration stays).",
	               d->reload_refused != NULL);
	dg_metrics_one(&b, "dgaudit_checkpoint_waiting", DG_METRICS_GAUGE,
	               "1 while the checkpoint waits for the syslog collector's acknowledgement.",
	               d->awaiting);
	dg_period_metrics(d->period, &b);
	evbuffer_add(out, b.data, b.len);
	dg_buf_release(&b);
	*type = "text/plain; version=0.0.4; charset=utf-8";
	return 200;
}

/* 503 with the reason when a monitor should look: no checkpoint for a while (auditing is
 * stuck), stopping, or a refused reload (the configuration on disk would not start). */
static int on_health(void *arg, struct evbuffer *b, const char **type)
{
	struct daemon *d = arg;
	int64_t age = dg_clock_mono_ms() - d->last_commit_ms;
	char why[400];

	(void)type;
	if (d->stopping)
		evbuffer_add_printf(b, "stopping\n");
	else if (dg_period_health(d->period, why, sizeof why) != 0)
		evbuffer_add_printf(b, "%s\n", why);
	else if (age >= 10 * COMMIT_MS + 5000)
		evbuffer_add_printf(b, "stalled: no checkpoint for %.1f s\n", (double)age / 1e3);
	else if (d->reload_refused != NULL)
		evbuffer_add_printf(b, "reload refused (the running configuration stays): %s\n",
		                    d->reload_refused);
	else {
		evbuffer_add_printf(b, "ok\n");
		return 200;
	}
	return 503;
}

/* The metrics endpoint on "host:port" or "[v6]:port". */
static struct dg_httpd *metrics_server(struct daemon *d, const char *listen, char **cause)
{
	static const struct dg_httpd_route routes[] = {{"/metrics", on_metrics},
	                                               {"/healthz", on_health}};

	return dg_httpd_new(d->base, listen, routes, sizeof routes / sizeof routes[0], d, NULL,
	                    cause);
}

/* ---- setup and teardown -------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f, "usage: dgaudit daemon [-c CONF]\n"
	           "  Follows the configured sources, audits every record exactly once, writes\n"
	           "  signed reports every report.interval and at stop. Runs in the foreground\n"
	           "  (systemd Type=notify). SIGHUP reloads, SIGUSR1 reopens output files.\n");
}

/* Rotated files newer than this were not seen yet: the last checkpoint's time, or now. */
static int64_t checkpoint_time(struct daemon *d)
{
	struct stat st;

	return stat(d->ckpt_path, &st) == 0 ? (int64_t)st.st_mtime - 1 : (int64_t)time(NULL) - 1;
}

/* What went wrong with dgaudit's own state: warned, an integrity event of the report, and an
 * event the rules see (PCI-AUDIT-STATE-LOST makes it a critical finding). */
static void self_integrity(struct daemon *d, const char *type, const char *fmt, ...)
{
	va_list ap;
	char *detail;
	int64_t now = dg_clock_wall_ms();

	va_start(ap, fmt);
	detail = dg_xvasprintf(fmt, ap);
	va_end(ap);
	dg_log_warnx("%s", detail);
	dg_period_event(d->period, now, type, NULL, -1, detail);
	dg_pipeline_integrity(d->pipe, now, type, detail);
	free(detail);
}

/* A start that finds less state than it should: said, never a quiet start from zero. */
static void check_state(struct daemon *d, bool resumed)
{
	const struct dg_period_id *id = dg_period_id(d->period);

	if (!resumed && id->prev_sha256 != NULL)
		self_integrity(
		    d, "state_lost",
		    "%s holds no checkpoint, yet report %llu is in %s: the daemon's state "
		    "was lost or reset; inputs are read again from their start, so what "
		    "earlier reports covered is audited again",
		    d->state_dir, (unsigned long long)(id->seq - 1), d->reports_dir);
	if ((resumed || id->prev_sha256 != NULL) && (d->new_signer || d->new_pkey))
		self_integrity(d, "keys_replaced", "a new %s was created beside existing state: %s",
		               d->new_signer ? "signing key" : "pseudonymisation key",
		               d->new_signer ? "reports from now on are signed by another key"
		                             : "subject pseudonyms from now on differ from earlier "
		                               "reports'");
	if (d->unsealed)
		self_integrity(d, "checkpoint_unsealed",
		               "%s carried no MAC (written by an older dgaudit): resumed from it "
		               "unverified; it is sealed from now on",
		               d->ckpt_path);
}

/* Whether a and b name one directory (a report directory configured as the state directory
 * needs only one lock: a second flock of the same file would refuse the process itself). */
static bool same_dir(const char *a, const char *b)
{
	struct stat x, y;

	return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

/* A descriptor per followed file: the soft limit (1024 in most shells and units) goes up to the
 * hard one (systemd's default is 524288; the unit asks for it, and its seccomp filter refuses
 * setrlimit). */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	rlim_t was;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	was = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
		dg_log_debug("descriptors: soft limit raised from %llu to %llu",
		             (unsigned long long)was, (unsigned long long)rl.rlim_cur);
}

static int setup(struct daemon *d)
{
	char *cause = NULL, **globs;
	struct dg_pipeline_hooks hooks = {on_finding, on_malformed, d, on_integrity};
	struct dg_tail_hooks th = {tail_open, tail_data, tail_close, tail_event, tail_resume, d};
	static const int sigs[4] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
	struct timeval commit_tv = {0, TICK_MS * 1000};
	struct timeval poll_tv = {d->cfg->poll_ms / 1000, (d->cfg->poll_ms % 1000) * 1000};
	int64_t wd_ms = dg_notify_watchdog_ms();
	bool resumed;

	dg_checkpoint_counters_reset(&d->cum, d->cfg->rules);
	if (d->cfg->nsources == 0) {
		dg_log_errx("no sources configured (sources = ( { path = ... } "
		            ") in the configuration)");
		return DG_EXIT_USAGE;
	}
	d->state_dir = dg_config_state_dir(d->cfg, true);
	d->reports_dir = d->cfg->report_dir ? dg_xstrdup(d->cfg->report_dir)
	                                    : dg_xasprintf("%s/reports", d->state_dir);
	d->ckpt_path = dg_xasprintf("%s/checkpoint.json", d->state_dir);
	if ((d->lock = dg_dirlock_new(d->state_dir, 0700, &cause)) == NULL ||
	    (!same_dir(d->reports_dir, d->state_dir) &&
	     (d->chain_lock = dg_dirlock_new(d->reports_dir, 0755, &cause)) == NULL) ||
	    (d->signer = dg_keystore_signer(d->cfg, true, &d->new_signer, &cause)) == NULL ||
	    dg_keystore_pseudonym(d->cfg, true, d->pkey, &d->new_pkey, &cause) != 0 ||
	    dg_keystore_state(d->cfg, true, d->skey, &d->new_skey, &cause) != 0) {
		dg_log_errx("%s", cause);
		free(cause);
		return DG_EXIT_USAGE;
	}
	note_state_dir(d);
	d->period = dg_period_new("daemon");
	dg_period_add_sink(d->period, dg_sink_report_new(d->reports_dir, d->signer,
	                                                 d->cfg->max_malformed_listed,
	                                                 d->cfg->report_max_size, true));
	if (d->cfg->findings_path != NULL) {
		struct dg_sink *s = dg_sink_findings_log(d->cfg->findings_path, &cause);

		if (s == NULL)
			dg_log_fatalx("%s", cause);
		dg_period_add_sink(d->period, s);
	}
	dg_period_add_sink(d->period, dg_sink_journal_new());
	if (d->cfg->syslog != NULL) {
		d->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (d->wake_fd < 0)
			dg_log_fatal("eventfd");
		dg_period_add_sink(d->period, dg_sink_syslog_new(d->cfg->syslog, true, wake, d));
	}
	raise_fd_limit();
	d->pipe = dg_pipeline_new(d->cfg, d->pkey, sizeof d->pkey, &hooks);
	globs = dg_xcalloc(d->cfg->nsources, sizeof *globs);
	for (size_t i = 0; i < d->cfg->nsources; i++)
		globs[i] = d->cfg->sources[i].path;
	d->tail = dg_tail_new(globs, d->cfg->nsources, d->cfg->max_held, d->cfg->rotated_idle_ms,
	                      checkpoint_time(d), &th);
	dg_tail_limit_open(d->tail, d->cfg->max_open);
	free(globs);
	resumed = recover(d);
	if (!resumed) {
		continue_chain(d);
		begin_period(d);
	}
	check_state(d, resumed);
	dg_period_event(d->period, dg_clock_wall_ms(), "start", NULL, -1,
	                resumed ? "daemon started, resuming from its checkpoint"
	                        : "daemon started without a checkpoint");
	dg_tail_scan(d->tail);

	{
		/* The pump activates itself while a backlog lasts. libevent runs an active queue
		 * until it is empty before it looks at descriptors, signals and timers again: so
		 * under a backlog that never ends (a writer faster than the audit), SIGTERM,
		 * /metrics and the watchdog would wait for ever. It looks after each callback. */
		struct event_config *ec = event_config_new();

		if (ec == NULL || event_config_set_max_dispatch_interval(ec, NULL, 1, 0) != 0 ||
		    (d->base = event_base_new_with_config(ec)) == NULL)
			dg_log_fatalx("cannot create the event loop");
		event_config_free(ec);
	}
	d->ev_pump = event_new(d->base, -1, 0, on_pump, d);
	if (dg_tail_fd(d->tail) >= 0) {
		d->ev_inotify =
		    event_new(d->base, dg_tail_fd(d->tail), EV_READ | EV_PERSIST, on_inotify, d);
		event_add(d->ev_inotify, NULL);
	}
	d->ev_poll = event_new(d->base, -1, EV_PERSIST, on_poll, d);
	event_add(d->ev_poll, &poll_tv);
	d->ev_commit = event_new(d->base, -1, EV_PERSIST, on_commit, d);
	event_add(d->ev_commit, &commit_tv);
	if (d->wake_fd >= 0) {
		d->ev_wake = event_new(d->base, d->wake_fd, EV_READ | EV_PERSIST, on_wake, d);
		event_add(d->ev_wake, NULL);
	}
	for (int i = 0; i < 4; i++) {
		d->ev_sig[i] = evsignal_new(d->base, sigs[i], on_signal, d);
		event_add(d->ev_sig[i], NULL);
	}
	if (wd_ms > 0) {
		struct timeval tv = {wd_ms / 2000, (wd_ms / 2 % 1000) * 1000};

		d->ev_watchdog = event_new(d->base, -1, EV_PERSIST, on_watchdog, d);
		event_add(d->ev_watchdog, &tv);
	}
	if (d->cfg->metrics_listen != NULL) {
		if ((d->http = metrics_server(d, d->cfg->metrics_listen, &cause)) == NULL) {
			dg_log_warnx("no metrics: %s", cause);
			free(cause);
		} else {
			dg_log_info("metrics on http://%s/metrics", d->cfg->metrics_listen);
		}
	}
	event_active(d->ev_pump, EV_TIMEOUT, 0);
	commit(d);
	dg_notify("READY=1");
	status(d);
	dg_log_info("following %zu source(s); reports every %llds in %s", d->cfg->nsources,
	            (long long)(d->cfg->report_interval_ms / 1000), d->reports_dir);
	return DG_EXIT_OK;
}

static void teardown(struct daemon *d)
{
	dg_checkpoint_counters_release(&d->cum);
	free(d->reload_refused);
	for (int i = 0; i < 4; i++)
		if (d->ev_sig[i] != NULL)
			event_free(d->ev_sig[i]);
	if (d->ev_watchdog != NULL)
		event_free(d->ev_watchdog);
	if (d->ev_commit != NULL)
		event_free(d->ev_commit);
	if (d->ev_wake != NULL)
		event_free(d->ev_wake);
	if (d->ev_poll != NULL)
		event_free(d->ev_poll);
	if (d->ev_inotify != NULL)
		event_free(d->ev_inotify);
	if (d->ev_pump != NULL)
		event_free(d->ev_pump);
	dg_httpd_free(d->http);
	if (d->base != NULL)
		event_base_free(d->base);
	dg_period_free(d->period); /* its forwarding thread stopped first: it may wake */
	if (d->wake_fd >= 0)
		close(d->wake_fd);
	dg_tail_free(d->tail);
	dg_pipeline_free(d->pipe);
	for (size_t i = 0; i < d->nins; i++) {
		free(d->ins[i].path);
		free(d->ins[i].source);
		free(d->ins[i].format);
	}
	free(d->ins);
	dg_hash_cleanse(d->pkey, sizeof d->pkey);
	dg_hash_cleanse(d->skey, sizeof d->skey);
	dg_sign_free(d->signer);
	dg_dirlock_free(d->chain_lock);
	dg_dirlock_free(d->lock);
	free(d->state_dir);
	free(d->reports_dir);
	free(d->ckpt_path);
	dg_config_free(d->cfg);
}

int dg_daemon_main(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	struct daemon d = {.wake_fd = -1};
	char *cause = NULL;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (c == 'c') {
			d.conf_path = optarg;
			continue;
		}
		usage(c == 'h' ? stdout : stderr);
		return c == 'h' ? DG_EXIT_OK : DG_EXIT_USAGE;
	}
	if (optind != argc) {
		usage(stderr);
		return DG_EXIT_USAGE;
	}
	d.cfg = dg_config_load(d.conf_path, dg_clock_wall_ms(), &cause);
	if (d.cfg == NULL) {
		dg_log_diagnostics(cause);
		free(cause);
		return DG_EXIT_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	rc = setup(&d);
	if (rc == DG_EXIT_OK)
		event_base_dispatch(d.base);
	teardown(&d);
	return rc;
}
