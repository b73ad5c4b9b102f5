#include "dgaudit/period.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dgaudit/bundle.h"
#include "dgaudit/hash.h"
#include "dgaudit/xmalloc.h"

struct dg_period {
	const char *mode;
	struct dg_sink **sinks;
	size_t nsinks;
	/* the report in progress */
	uint64_t seq;
	char report_id[33], name[DG_BUNDLE_NAME_MAX];
	char prev[DG_HASH_HEXLEN];
	bool has_prev;
	int64_t started_ms;
	struct dg_period_id id; /* a view of the above, for sinks */
	struct dg_buf line;     /* a finding serialised, for every sink */
	uint64_t pending;
	size_t closed_findings;
};

static void update_id(struct dg_period *p)
{
	p->id = (struct dg_period_id){p->seq, p->report_id, p->name, p->has_prev ? p->prev : NULL,
	                              p->started_ms};
}

struct dg_period *dg_period_new(const char *mode)
{
	struct dg_period *p = dg_xcalloc(1, sizeof *p);

	p->mode = mode;
	p->seq = 1;
	update_id(p);
	return p;
}

void dg_period_free(struct dg_period *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nsinks; i++)
		dg_sink_free(p->sinks[i]);
	free(p->sinks);
	dg_buf_release(&p->line);
	free(p);
}

void dg_period_add_sink(struct dg_period *p, struct dg_sink *s)
{
	p->sinks = dg_xreallocarray(p->sinks, p->nsinks + 1, sizeof *p->sinks);
	p->sinks[p->nsinks++] = s;
}

int dg_period_continue_chain(struct dg_period *p, const char *dir, char **cause)
{
	int64_t seq;
	int rc = dg_bundle_chain_end(dir, &seq, p->prev, cause);

	p->seq = rc == 1 ? (uint64_t)seq + 1 : 1;
	p->has_prev = rc == 1;
	update_id(p);
	return rc;
}

int dg_period_begin(struct dg_period *p, int64_t now_ms, char **cause)
{
	p->started_ms = now_ms;
	dg_bundle_identify(now_ms, p->seq, p->report_id, p->name);
	update_id(p);
	for (size_t i = 0; i < p->nsinks; i++)
		if (dg_sink_begin(p->sinks[i], &p->id, cause) != 0)
			return -1;
	return 0;
}

void dg_period_finding(struct dg_period *p, const struct dg_match *m, const struct dg_cjson *json,
                       const char *input)
{
	struct dg_sink_finding f = {m,    json, NULL, 0, dg_cjson_string(dg_cjson_get(json, "id")),
	                            input};

	dg_buf_reset(&p->line);
	dg_cjson_write(json, &p->line);
	f.line = p->line.data;
	f.len = p->line.len;
	if (f.id == NULL)
		f.id = "";
	for (size_t i = 0; i < p->nsinks; i++)
		dg_sink_finding(p->sinks[i], &f);
	p->pending++;
}

void dg_period_malformed(struct dg_period *p, const char *input, const struct dg_record *rec,
                         const char *why)
{
	for (size_t i = 0; i < p->nsinks; i++)
		dg_sink_malformed(p->sinks[i], input, rec, why);
}

void dg_period_integrity(struct dg_period *p, const struct dg_integrity *ev)
{
	for (size_t i = 0; i < p->nsinks; i++)
		dg_sink_integrity(p->sinks[i], ev);
}

void dg_period_event(struct dg_period *p, int64_t now_ms, const char *type, const char *input,
                     int64_t bytes, const char *detail)
{
	struct dg_integrity ev = {now_ms, type, input, bytes, detail};

	dg_period_integrity(p, &ev);
}

void dg_period_input(struct dg_period *p, const struct dg_report_input *in)
{
	for (size_t i = 0; i < p->nsinks; i++)
		dg_sink_input(p->sinks[i], in);
}

bool dg_period_full(struct dg_period *p)
{
	bool full = false;

	for (size_t i = 0; i < p->nsinks; i++)
		full |= dg_sink_full(p->sinks[i]); /* each: a sink says so once, when it fills */
	return full;
}

bool dg_period_busy(struct dg_period *p)
{
	for (size_t i = 0; i < p->nsinks; i++)
		if (dg_sink_busy(p->sinks[i]))
			return true;
	return false;
}

int dg_period_health(struct dg_period *p, char *why, size_t cap)
{
	for (size_t i = 0; i < p->nsinks; i++)
		if (dg_sink_health(p->sinks[i], why, cap) != 0)
			return -1;
	return 0;
}

void dg_period_metrics(struct dg_period *p, struct dg_buf *b)
{
	for (size_t i = 0; i < p->nsinks; i++)
		dg_sink_metrics(p->sinks[i], b);
}

uint64_t dg_period_pending(const struct dg_period *p)
{
	return p->pending;
}

static struct dg_cjson *save(const struct dg_period *p)
{
	struct dg_cjson *o = dg_cjson_object();

	dg_cjson_set(o, "seq", dg_cjson_int((int64_t)p->seq));
	dg_cjson_set(o, "report_id", dg_cjson_str(p->report_id));
	dg_cjson_set(o, "name", dg_cjson_str(p->name));
	dg_cjson_set(o, "prev_sha256", p->has_prev ? dg_cjson_str(p->prev) : dg_cjson_null());
	dg_cjson_set(o, "started", dg_cjson_int(p->started_ms));
	for (size_t i = 0; i < p->nsinks; i++)
		dg_sink_save(p->sinks[i], o);
	return o;
}

int dg_period_commit(struct dg_period *p, dg_period_checkpoint_fn checkpoint, void *arg,
                     char **cause)
{
	int waiting = 0;

	for (size_t i = 0; i < p->nsinks; i++) {
		int rc = dg_sink_sync(p->sinks[i], cause);

		if (rc < 0)
			return -1;
		waiting |= rc == DG_SINK_WAITING; /* the others are synced all the same */
	}
	if (waiting)
		return DG_SINK_WAITING;
	if (checkpoint != NULL && checkpoint(arg, save(p), cause) != 0)
		return -1;
	for (size_t i = 0; i < p->nsinks; i++)
		dg_sink_publish(p->sinks[i], false);
	p->pending = 0;
	return 0;
}

int dg_period_close(struct dg_period *p, int64_t now_ms, const struct dg_config *cfg,
                    const struct dg_pipeline_totals *totals, char **path, char **cause)
{
	char host[256] = "unknown";
	struct dg_report_info info = {
	    .report_id = p->report_id,
	    .seq = p->seq,
	    .prev_sha256 = p->has_prev ? p->prev : NULL,
	    .generated_ms = now_ms,
	    .host = host,
	    .version = DG_VERSION,
	    .mode = p->mode,
	    .config_sha256 = cfg->digest,
	    .rules_sha256 = dg_rules_digest(cfg->rules),
	    .files = cfg->files,
	    .nfiles = cfg->nfiles,
	};
	struct dg_period_end end = {.info = &info, .totals = totals, .rules = cfg->rules};
	int rc = 0;

	gethostname(host, sizeof host - 1);
	for (size_t i = 0; i < p->nsinks && rc == 0; i++) {
		dg_sink_publish(p->sinks[i], true);
		rc = dg_sink_close(p->sinks[i], &end, cause);
	}
	if (rc == 0 && end.sha256[0] != '\0') {
		memcpy(p->prev, end.sha256, sizeof p->prev);
		p->has_prev = true;
		p->seq++;
		p->closed_findings = end.findings;
		update_id(p);
	}
	if (rc == 0 && path != NULL)
		*path = end.path;
	else
		free(end.path);
	return rc;
}

static bool get_u64(const struct dg_cjson *o, const char *key, uint64_t *out)
{
	int64_t v;

	if (!dg_cjson_intval(dg_cjson_get(o, key), &v) || v < 0)
		return false;
	*out = (uint64_t)v;
	return true;
}

int dg_period_restore(struct dg_period *p, const struct dg_cjson *state, int64_t now_ms,
                      char **cause)
{
	const char *name = dg_cjson_string(dg_cjson_get(state, "name"));
	const char *id = dg_cjson_string(dg_cjson_get(state, "report_id"));
	const char *prev = dg_cjson_string(dg_cjson_get(state, "prev_sha256"));
	enum dg_sink_restored how = DG_SINK_RESUMED;
	char sha[DG_HASH_HEXLEN] = "";

	if (!get_u64(state, "seq", &p->seq) || name == NULL || strlen(name) >= sizeof p->name ||
	    !dg_cjson_intval(dg_cjson_get(state, "started"), &p->started_ms) ||
	    (prev != NULL && strlen(prev) != DG_HASH_HEXLEN - 1)) {
		*cause = dg_xstrdup("the report period is malformed");
		return -1;
	}
	snprintf(p->name, sizeof p->name, "%s", name);
	snprintf(p->report_id, sizeof p->report_id, "%s", id ? id : "");
	p->has_prev = prev != NULL;
	if (prev != NULL)
		memcpy(p->prev, prev, sizeof p->prev);
	update_id(p);
	for (size_t i = 0; i < p->nsinks; i++) {
		int rc = dg_sink_restore(p->sinks[i], state, &p->id, sha, cause);

		if (rc < 0)
			return -1;
		if (rc == DG_SINK_PUBLISHED || (rc == DG_SINK_LOST && how == DG_SINK_RESUMED))
			how = rc;
	}
	if (how == DG_SINK_PUBLISHED) { /* its report links the next */
		memcpy(p->prev, sha, sizeof p->prev);
		p->has_prev = true;
		p->seq++;
	}
	if (how != DG_SINK_RESUMED && dg_period_begin(p, now_ms, cause) != 0)
		return -1;
	if (how == DG_SINK_LOST)
		dg_period_event(p, now_ms, "report_lost", NULL, -1,
		                "the report in progress at the last checkpoint was gone");
	return how;
}

int dg_period_reopen(struct dg_period *p, bool rotated, char **cause)
{
	int made = 0;

	for (size_t i = 0; i < p->nsinks; i++) {
		int rc = dg_sink_reopen(p->sinks[i], rotated, cause);

		if (rc < 0)
			return -1;
		made += rc;
	}
	return made;
}

const struct dg_period_id *dg_period_id(const struct dg_period *p)
{
	return &p->id;
}

size_t dg_period_closed_findings(const struct dg_period *p)
{
	return p->closed_findings;
}
