#include "dgaudit/pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/finding.h"
#include "dgaudit/hash.h"
#include "dgaudit/jsonl.h"
#include "dgaudit/xmalloc.h"

struct input {
	struct dg_input_stats st;
	struct dg_framer *fr;
	/* The digest of the period's complete records, and of those plus the line still being
	 * read: only bytes of complete records count, whatever the reads' boundaries. */
	struct dg_hash *done, *partial;
	bool has_partial;
	uint64_t fed; /* stream offset just past the last byte fed */
	bool ended;
};

struct dg_pipeline {
	const struct dg_config *cfg;
	struct dg_pipeline_hooks hooks;
	struct dg_jsonl *jsonl;
	struct dg_engine *engine;
	struct dg_finding_env env;
	struct dg_evt evt;
	struct input *inputs;
	uint32_t ninputs, cap;
	struct dg_pipeline_totals totals;
	char why[128];
};

static const char *input_name(void *arg, uint32_t input)
{
	struct dg_pipeline *p = arg;

	return input < p->ninputs ? p->inputs[input].st.name : "?";
}

struct dg_pipeline *dg_pipeline_new(const struct dg_config *cfg, const uint8_t *pseudonym_key,
                                    size_t keylen, const struct dg_pipeline_hooks *hooks)
{
	struct dg_pipeline *p = dg_xcalloc(1, sizeof *p);

	p->cfg = cfg;
	p->hooks = *hooks;
	p->jsonl = dg_jsonl_new(cfg->schema, cfg->max_line);
	p->engine = dg_engine_new(cfg->rules, cfg->lateness_ms);
	p->env.schema = cfg->schema;
	p->env.input_name = input_name;
	p->env.input_arg = p;
	p->env.pseudonym_key = pseudonym_key;
	p->env.pseudonym_keylen = keylen;
	p->totals.by_rule = dg_xcalloc(dg_rules_count(cfg->rules) + 1, sizeof *p->totals.by_rule);
	return p;
}

void dg_pipeline_free(struct dg_pipeline *p)
{
	if (p == NULL)
		return;
	for (uint32_t i = 0; i < p->ninputs; i++) {
		free(p->inputs[i].st.name);
		dg_framer_free(p->inputs[i].fr);
		dg_hash_free(p->inputs[i].done);
		dg_hash_free(p->inputs[i].partial);
	}
	free(p->inputs);
	free(p->totals.by_rule);
	dg_engine_free(p->engine);
	dg_jsonl_free(p->jsonl);
	free(p);
}

enum dg_format dg_pipeline_format_parse(const char *name)
{
	return strcmp(name, "json") == 0 ? DG_FORMAT_JSON : DG_FORMAT_AUTO;
}

uint32_t dg_pipeline_add_input(struct dg_pipeline *p, const char *name, enum dg_format format,
                               uint64_t offset, uint64_t line)
{
	struct input *in;

	if (p->ninputs == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 8;
		p->inputs = dg_xreallocarray(p->inputs, p->cap, sizeof *p->inputs);
	}
	in = &p->inputs[p->ninputs];
	memset(in, 0, sizeof *in);
	in->st.name = dg_xstrdup(name);
	in->st.format = format;
	in->st.start_offset = in->st.end_offset = offset;
	in->fr = dg_framer_new(p->cfg->max_line);
	dg_framer_seek(in->fr, offset, line);
	in->fed = offset;
	in->done = dg_hash_new();
	in->partial = dg_hash_new();
	return p->ninputs++;
}

static void on_match(const struct dg_match *m, void *arg)
{
	struct dg_pipeline *p = arg;
	size_t rule = (size_t)(m->rule - dg_rules_get(p->cfg->rules, 0));

	p->totals.findings++;
	p->totals.by_severity[m->rule->severity]++;
	p->totals.by_rule[rule]++;
	p->hooks.finding(p->hooks.arg, m, dg_finding_render(&p->env, m));
}

static void malformed(struct dg_pipeline *p, uint32_t input, const struct dg_record *rec,
                      const char *why)
{
	p->inputs[input].st.malformed++;
	p->totals.malformed++;
	p->hooks.malformed(p->hooks.arg, input, rec, why);
}

static bool blank(const struct dg_record *rec)
{
	for (size_t i = 0; i < rec->len; i++)
		if (rec->data[i] != ' ' && rec->data[i] != '\t')
			return false;
	return true;
}

static void audit(struct dg_pipeline *p, uint32_t input, const struct dg_record *rec)
{
	struct input *in = &p->inputs[input];
	struct dg_ref ref = {input, rec->line, rec->offset};
	const char *why;

	if (!rec->truncated && blank(rec)) {
		in->st.blank++;
		return;
	}
	in->st.records++;
	p->totals.records++;
	if (rec->truncated) {
		snprintf(p->why, sizeof p->why,
		         "line of %llu bytes is longer than the %zu-byte cap",
		         (unsigned long long)rec->real_len, p->cfg->max_line);
		malformed(p, input, rec, p->why);
		return;
	}
	if (dg_jsonl_parse(p->jsonl, rec->data, rec->len, &p->evt, &why) != 0) {
		malformed(p, input, rec, why);
		return;
	}
	dg_catalog_enrich(p->cfg->catalog, &p->evt);
	if (!p->totals.have_time || p->evt.ts_ms < p->totals.first_ms)
		p->totals.first_ms = p->evt.ts_ms;
	if (!p->totals.have_time || p->evt.ts_ms > p->totals.last_ms)
		p->totals.last_ms = p->evt.ts_ms;
	p->totals.have_time = true;
	dg_engine_eval(p->engine, &p->evt, &ref, on_match, p);
}

/* Decides an input's format from its first bytes: JSON lines start with '{'. */
static int detect(struct input *in, const char *buf, size_t len, char **cause)
{
	size_t i = 0;

	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		i = 3; /* a UTF-8 byte order mark */
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	if (i == len)
		return 0; /* nothing to go on yet */
	if (buf[i] == '{') {
		in->st.format = DG_FORMAT_JSON;
		return 0;
	}
	*cause = dg_xasprintf("%s: unknown log format (the first record is not JSON); use --format "
	                      "to name it",
	                      in->st.name);
	return -1;
}

/* Hashes the chunk at stream offset base: the bytes up to the resume offset complete records;
 * the rest belong to a line still held, which counts only once it completes. */
static void digest(struct input *in, const char *buf, size_t len, uint64_t base)
{
	uint64_t resume = dg_framer_resume_offset(in->fr);

	if (resume > base) {
		dg_hash_update(in->has_partial ? in->partial : in->done, buf, resume - base);
		if (in->has_partial) {
			struct dg_hash *t = in->done;

			in->done = in->partial;
			in->partial = t;
			in->has_partial = false;
		}
	}
	if (resume < base + len) {
		size_t from = resume > base ? (size_t)(resume - base) : 0;

		if (!in->has_partial) {
			dg_hash_copy(in->partial, in->done);
			in->has_partial = true;
		}
		dg_hash_update(in->partial, buf + from, len - from);
	}
}

int dg_pipeline_feed(struct dg_pipeline *p, uint32_t input, const char *buf, size_t len,
                     char **cause)
{
	struct input *in = &p->inputs[input];
	struct dg_record rec;

	if (in->st.format == DG_FORMAT_AUTO && detect(in, buf, len, cause) != 0)
		return -1;
	dg_framer_push(in->fr, buf, len);
	while (dg_framer_next(in->fr, &rec))
		audit(p, input, &rec);
	digest(in, buf, len, in->fed);
	in->fed += len;
	in->st.end_offset = dg_framer_resume_offset(in->fr);
	return 0;
}

static void finish_digest(struct input *in)
{
	uint8_t d[DG_HASH_LEN];

	dg_hash_peek(in->done, d);
	dg_hash_hex(d, DG_HASH_LEN, in->st.sha256);
}

void dg_pipeline_end_input(struct dg_pipeline *p, uint32_t input)
{
	struct input *in = &p->inputs[input];
	struct dg_record rec;

	if (in->ended)
		return;
	if (dg_framer_finish(in->fr, &rec)) {
		audit(p, input, &rec);
		/* The held line was audited: its bytes are now part of the digest. */
		if (in->has_partial) {
			dg_hash_copy(in->done, in->partial);
			in->has_partial = false;
		}
	}
	in->st.end_offset = dg_framer_resume_offset(in->fr);
	finish_digest(in);
	in->ended = true;
}

void dg_pipeline_close_period(struct dg_pipeline *p, uint32_t input, struct dg_input_stats *out)
{
	struct input *in = &p->inputs[input];
	uint64_t resume = dg_framer_resume_offset(in->fr);

	finish_digest(in);
	*out = in->st;
	/* The next period starts at the first byte not yet audited; a line still held is
	 * dropped here and read again, so that each period's digest covers exactly its range. */
	in->st.start_offset = in->st.end_offset = resume;
	in->st.records = in->st.malformed = in->st.blank = 0;
	dg_hash_reset(in->done);
	in->has_partial = false;
	dg_framer_seek(in->fr, resume, dg_framer_next_line(in->fr));
	in->fed = resume;
}

uint64_t dg_pipeline_resume(const struct dg_pipeline *p, uint32_t input, uint64_t *line)
{
	const struct input *in = &p->inputs[input];

	if (line != NULL)
		*line = dg_framer_next_line(in->fr);
	return dg_framer_resume_offset(in->fr);
}

char *dg_pipeline_save_digest(const struct dg_pipeline *p, uint32_t input)
{
	return dg_hash_save(p->inputs[input].done);
}

int dg_pipeline_restore(struct dg_pipeline *p, uint32_t input, const struct dg_input_stats *st,
                        const char *digest_state)
{
	struct input *in = &p->inputs[input];

	if (dg_hash_load(in->done, digest_state) != 0)
		return -1;
	in->st.start_offset = st->start_offset;
	in->st.records = st->records;
	in->st.malformed = st->malformed;
	in->st.blank = st->blank;
	return 0;
}

void dg_pipeline_reset_totals(struct dg_pipeline *p)
{
	uint64_t *by_rule = p->totals.by_rule;

	memset(by_rule, 0, dg_rules_count(p->cfg->rules) * sizeof *by_rule);
	memset(&p->totals, 0, sizeof p->totals);
	p->totals.by_rule = by_rule;
}

struct dg_pipeline_totals *dg_pipeline_totals_mut(struct dg_pipeline *p)
{
	return &p->totals;
}

struct dg_engine *dg_pipeline_engine(struct dg_pipeline *p)
{
	return p->engine;
}

const struct dg_input_stats *dg_pipeline_input(const struct dg_pipeline *p, uint32_t input)
{
	return &p->inputs[input].st;
}

uint32_t dg_pipeline_ninputs(const struct dg_pipeline *p)
{
	return p->ninputs;
}

const struct dg_pipeline_totals *dg_pipeline_totals(const struct dg_pipeline *p)
{
	return &p->totals;
}
