#include "dgaudit/report.h"

#include <stdlib.h>
#include <string.h>

#include "dgaudit/ts.h"
#include "dgaudit/xmalloc.h"

struct dg_report {
	FILE *out;
	size_t max_malformed;
	struct dg_buf scratch;
	size_t nfindings;
	uint64_t bytes;             /* of report.json written so far */
	struct dg_cjson *malformed; /* listed ones */
	uint64_t nmalformed;
	struct dg_cjson *inputs;
	struct dg_cjson *integrity;
};

struct dg_report *dg_report_new(FILE *out, size_t max_malformed)
{
	struct dg_report *r = dg_xcalloc(1, sizeof *r);

	r->out = out;
	r->max_malformed = max_malformed;
	/* "findings" sorts before every other member, so the document can start right away. */
	fputs("{\"findings\":[", out);
	r->bytes = strlen("{\"findings\":[");
	r->malformed = dg_cjson_array();
	r->inputs = dg_cjson_array();
	r->integrity = dg_cjson_array();
	return r;
}

void dg_report_free(struct dg_report *r)
{
	if (r == NULL)
		return;
	dg_buf_release(&r->scratch);
	dg_cjson_free(r->malformed);
	dg_cjson_free(r->inputs);
	dg_cjson_free(r->integrity);
	free(r);
}

struct dg_cjson *dg_report_save(const struct dg_report *r)
{
	struct dg_cjson *o = dg_cjson_object();

	dg_cjson_set(o, "findings", dg_cjson_int((int64_t)r->nfindings));
	dg_cjson_set(o, "bytes", dg_cjson_int((int64_t)r->bytes));
	dg_cjson_set(o, "malformed_count", dg_cjson_int((int64_t)r->nmalformed));
	dg_cjson_set(o, "malformed", dg_cjson_clone(r->malformed));
	dg_cjson_set(o, "inputs", dg_cjson_clone(r->inputs));
	dg_cjson_set(o, "integrity", dg_cjson_clone(r->integrity));
	return o;
}

struct dg_report *dg_report_resume(FILE *out, size_t max_malformed, const struct dg_cjson *state)
{
	const struct dg_cjson *m = dg_cjson_get(state, "malformed");
	const struct dg_cjson *in = dg_cjson_get(state, "inputs");
	const struct dg_cjson *ie = dg_cjson_get(state, "integrity");
	int64_t nf, nm, bytes = 0;
	struct dg_report *r;

	if (!dg_cjson_intval(dg_cjson_get(state, "findings"), &nf) ||
	    !dg_cjson_intval(dg_cjson_get(state, "malformed_count"), &nm) || nf < 0 || nm < 0 ||
	    m == NULL || dg_cjson_type(m) != DG_CJSON_ARRAY || in == NULL ||
	    dg_cjson_type(in) != DG_CJSON_ARRAY || ie == NULL ||
	    dg_cjson_type(ie) != DG_CJSON_ARRAY)
		return NULL;
	r = dg_xcalloc(1, sizeof *r);
	r->out = out;
	r->max_malformed = max_malformed;
	r->nfindings = (size_t)nf;
	r->nmalformed = (uint64_t)nm;
	/* absent from checkpoints written before it was kept: the report then counts from here */
	if (dg_cjson_intval(dg_cjson_get(state, "bytes"), &bytes) && bytes > 0)
		r->bytes = (uint64_t)bytes;
	r->malformed = dg_cjson_clone(m);
	r->inputs = dg_cjson_clone(in);
	r->integrity = dg_cjson_clone(ie);
	return r;
}

void dg_report_finding(struct dg_report *r, const char *json, size_t len)
{
	if (r->nfindings++ > 0) {
		fputc(',', r->out);
		r->bytes++;
	}
	fwrite(json, 1, len, r->out);
	r->bytes += len;
}

size_t dg_report_findings(const struct dg_report *r)
{
	return r->nfindings;
}

uint64_t dg_report_bytes(const struct dg_report *r)
{
	return r->bytes;
}

void dg_report_malformed(struct dg_report *r, const char *input, const struct dg_record *rec,
                         const char *why)
{
	struct dg_cjson *m;

	if (r->nmalformed++ >= r->max_malformed)
		return;
	m = dg_cjson_push(r->malformed, dg_cjson_object());
	dg_cjson_set(m, "input", dg_cjson_str(input));
	dg_cjson_set(m, "line", dg_cjson_int((int64_t)rec->line));
	dg_cjson_set(m, "offset", dg_cjson_int((int64_t)rec->offset));
	dg_cjson_set(m, "length", dg_cjson_int((int64_t)rec->real_len));
	dg_cjson_set(m, "reason", dg_cjson_str(why));
}

void dg_report_input(struct dg_report *r, const struct dg_report_input *in)
{
	struct dg_cjson *o = dg_cjson_push(r->inputs, dg_cjson_object());
	struct dg_cjson *range;

	dg_cjson_set(o, "path", dg_cjson_str(in->path));
	dg_cjson_set(o, "format", dg_cjson_str(in->format));
	if (in->id != NULL) {
		struct dg_cjson *id = dg_cjson_set(o, "identity", dg_cjson_object());

		dg_cjson_set(id, "dev", dg_cjson_int((int64_t)in->id->dev));
		dg_cjson_set(id, "ino", dg_cjson_int((int64_t)in->id->ino));
		dg_cjson_set(id, "size", dg_cjson_int((int64_t)in->id->size));
		dg_cjson_set(id, "fingerprint_sha256", dg_cjson_str(in->id->fingerprint));
	}
	dg_cjson_set(o, "compressed", dg_cjson_bool(in->compressed));
	range = dg_cjson_set(o, "byte_range", dg_cjson_array());
	dg_cjson_push(range, dg_cjson_int((int64_t)in->start));
	dg_cjson_push(range, dg_cjson_int((int64_t)in->end));
	dg_cjson_set(o, "records", dg_cjson_int((int64_t)in->records));
	dg_cjson_set(o, "malformed", dg_cjson_int((int64_t)in->malformed));
	dg_cjson_set(o, "sha256", dg_cjson_str(in->sha256));
	if (in->file_sha256 != NULL)
		dg_cjson_set(o, "file_sha256", dg_cjson_str(in->file_sha256));
	dg_cjson_set(o, "gaps", dg_cjson_array());
	if (in->error != NULL)
		dg_cjson_set(o, "error", dg_cjson_str(in->error));
}

void dg_report_integrity(struct dg_report *r, const struct dg_integrity *ev)
{
	struct dg_cjson *o = dg_cjson_push(r->integrity, dg_cjson_object());
	char ts[DG_TS_BUFSZ];

	dg_cjson_set(o, "time", dg_cjson_str(dg_ts_format(ev->time_ms, ts)));
	dg_cjson_set(o, "type", dg_cjson_str(ev->type));
	if (ev->input != NULL)
		dg_cjson_set(o, "input", dg_cjson_str(ev->input));
	if (ev->bytes >= 0) /* a number to add up, not only words */
		dg_cjson_set(o, "bytes", dg_cjson_int(ev->bytes));
	dg_cjson_set(o, "detail", dg_cjson_str(ev->detail));
}

bool dg_report_has_integrity(const struct dg_report *r, const char *type)
{
	for (size_t i = 0; i < dg_cjson_len(r->integrity); i++) {
		const char *t = dg_cjson_string(dg_cjson_get(dg_cjson_at(r->integrity, i), "type"));

		if (t != NULL && strcmp(t, type) == 0)
			return true;
	}
	return false;
}

/* What each rule cost and did in the period: a site sees which rules are noisy or costly. */
static void add_rule_stats(struct dg_cjson *o, const struct dg_pipeline_totals *t,
                           const struct dg_ruleset *rs)
{
	struct dg_cjson *all = dg_cjson_set(o, "stats", dg_cjson_object());

	for (size_t i = 0; i < dg_rules_count(rs); i++) {
		const struct dg_rule *rule = dg_rules_get(rs, i);
		const struct dg_rule_stats *st = &t->rule_stats[i];
		struct dg_cjson *x = dg_cjson_set(all, rule->id, dg_cjson_object());

		dg_cjson_set(x, "pack", dg_cjson_str(rule->pack));
		dg_cjson_set(x, "kind", dg_cjson_str(dg_rules_kind_name(rule->kind)));
		dg_cjson_set(x, "evaluations", dg_cjson_int((int64_t)st->evaluations));
		dg_cjson_set(x, "matches", dg_cjson_int((int64_t)st->matches));
		dg_cjson_set(x, "exempted", dg_cjson_int((int64_t)st->exempted));
		dg_cjson_set(x, "findings", dg_cjson_int((int64_t)st->findings));
		dg_cjson_set(x, "suppressed", dg_cjson_int((int64_t)st->suppressed));
		dg_cjson_set(x, "cpu_us", dg_cjson_int((int64_t)(st->cpu_ns / 1000)));
		if (rule->kind == DG_RULE_THRESHOLD || rule->kind == DG_RULE_SEQUENCE) {
			dg_cjson_set(x, "evicted_groups",
			             dg_cjson_int((int64_t)st->evicted_groups));
			dg_cjson_set(x, "evicted_records",
			             dg_cjson_int((int64_t)st->evicted_records));
		}
	}
}

/* Every exception in force, with its provenance and what it exempted. */
static void add_exceptions(struct dg_cjson *o, const struct dg_pipeline_totals *t,
                           const struct dg_ruleset *rs)
{
	struct dg_cjson *all = dg_cjson_set(o, "exceptions", dg_cjson_array());
	char ts[DG_TS_BUFSZ];

	for (size_t i = 0; i < dg_rules_exception_count(rs); i++) {
		const struct dg_exception *x = dg_rules_exception(rs, i);
		struct dg_cjson *e = dg_cjson_push(all, dg_cjson_object()), *rules;

		dg_cjson_set(e, "id", dg_cjson_str(x->id));
		rules = dg_cjson_set(e, "rules", dg_cjson_array());
		for (size_t k = 0; k < x->nrules; k++)
			dg_cjson_push(rules, dg_cjson_str(x->rules[k]));
		dg_cjson_set(e, "ticket", dg_cjson_str(x->ticket));
		dg_cjson_set(e, "approved_by", dg_cjson_str(x->approved_by));
		dg_cjson_set(e, "expires", dg_cjson_str(dg_ts_format(x->expires_ms, ts)));
		if (x->reason != NULL)
			dg_cjson_set(e, "reason", dg_cjson_str(x->reason));
		dg_cjson_set(e, "where", dg_cjson_str(x->where));
		dg_cjson_set(e, "state", dg_cjson_str(x->expired ? "expired" : "active"));
		dg_cjson_set(e, "exempted", dg_cjson_int((int64_t)t->exception_stats[i].exempted));
		dg_cjson_set(e, "expired_matches",
		             dg_cjson_int((int64_t)t->exception_stats[i].expired));
	}
}

int dg_report_finish(struct dg_report *r, const struct dg_report_info *info,
                     const struct dg_pipeline_totals *totals, const struct dg_ruleset *rs)
{
	struct dg_cjson *o = dg_cjson_object(), *x, *y;
	char ts[DG_TS_BUFSZ];

	dg_cjson_set(o, "schema", dg_cjson_str(DG_REPORT_SCHEMA));
	dg_cjson_set(o, "report_id", dg_cjson_str(info->report_id));
	dg_cjson_set(o, "report_seq", dg_cjson_int((int64_t)info->seq));
	dg_cjson_set(o, "prev_report_sha256",
	             info->prev_sha256 ? dg_cjson_str(info->prev_sha256) : dg_cjson_null());
	dg_cjson_set(o, "generated", dg_cjson_str(dg_ts_format(info->generated_ms, ts)));
	x = dg_cjson_set(o, "period", dg_cjson_object());
	dg_cjson_set(x, "start",
	             totals->have_time ? dg_cjson_str(dg_ts_format(totals->first_ms, ts))
	                               : dg_cjson_null());
	dg_cjson_set(x, "end",
	             totals->have_time ? dg_cjson_str(dg_ts_format(totals->last_ms, ts))
	                               : dg_cjson_null());
	x = dg_cjson_set(o, "producer", dg_cjson_object());
	dg_cjson_set(x, "host", dg_cjson_str(info->host));
	dg_cjson_set(x, "version", dg_cjson_str(info->version));
	dg_cjson_set(x, "mode", dg_cjson_str(info->mode));
	dg_cjson_set(x, "config_sha256", dg_cjson_str(info->config_sha256));
	dg_cjson_set(x, "rules_sha256", dg_cjson_str(info->rules_sha256));
	dg_cjson_set(x, "rules", dg_cjson_int((int64_t)dg_rules_count(rs)));
	if (info->files != NULL) {
		struct dg_cjson *files = dg_cjson_set(x, "files", dg_cjson_array());

		for (size_t i = 0; i < info->nfiles; i++) {
			struct dg_cjson *f = dg_cjson_push(files, dg_cjson_object());

			dg_cjson_set(f, "path", dg_cjson_str(info->files[i].path));
			dg_cjson_set(f, "sha256", dg_cjson_str(info->files[i].sha256));
		}
	}
	dg_cjson_set(o, "inputs", r->inputs); /* finishing hands the lists over */
	r->inputs = NULL;

	x = dg_cjson_set(o, "summary", dg_cjson_object());
	dg_cjson_set(x, "records", dg_cjson_int((int64_t)totals->records));
	dg_cjson_set(x, "malformed", dg_cjson_int((int64_t)totals->malformed));
	dg_cjson_set(x, "findings", dg_cjson_int((int64_t)r->nfindings));
	y = dg_cjson_set(x, "by_severity", dg_cjson_object());
	for (int s = 0; s < DG_SEV_COUNT; s++)
		dg_cjson_set(y, dg_rules_severity_name(s),
		             dg_cjson_int((int64_t)totals->by_severity[s]));
	y = dg_cjson_set(x, "by_rule", dg_cjson_object());
	for (size_t i = 0; i < dg_rules_count(rs); i++)
		dg_cjson_set(y, dg_rules_get(rs, i)->id, dg_cjson_int((int64_t)totals->by_rule[i]));

	/* "rules" sorts after "findings", as the stream needs (see the header). */
	x = dg_cjson_set(o, "rules", dg_cjson_object());
	add_rule_stats(x, totals, rs);
	add_exceptions(x, totals, rs);

	dg_cjson_set(o, "sharing_register", dg_register_report(totals->sharing));
	x = dg_cjson_set(o, "malformed", dg_cjson_object());
	dg_cjson_set(x, "count", dg_cjson_int((int64_t)r->nmalformed));
	dg_cjson_set(x, "listed", r->malformed);
	dg_cjson_set(o, "integrity_events", r->integrity);
	r->malformed = r->integrity = NULL;
	/* Every other member sorts after "findings": close the array and continue the object
	 * with this one's members, dropping its opening brace. */
	dg_buf_reset(&r->scratch);
	dg_cjson_write(o, &r->scratch);
	dg_cjson_free(o);
	fputs("],", r->out);
	fwrite(r->scratch.data + 1, 1, r->scratch.len - 1, r->out);
	return fflush(r->out) == 0 && !ferror(r->out) ? 0 : -1;
}
