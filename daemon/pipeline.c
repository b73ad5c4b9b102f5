#include "dgaudit/pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/clock.h"
#include "dgaudit/finding.h"
#include "dgaudit/hash.h"
#include "dgaudit/jsonl.h"
#include "dgaudit/linuxaudit.h"
#include "dgaudit/mariadb.h"
#include "dgaudit/pglog.h"
#include "dgaudit/ts.h"
#include "dgaudit/xmalloc.h"

#define MAX_REASONS 8
#define HEAD_MAX    64 /* bytes of an input's first line in its key */

struct input {
	struct dg_input_stats st;
	struct dg_framer *fr;
	/* The digest of the period's complete records, and of those plus the line still being
	 * read: only bytes of complete records count, whatever the reads' boundaries. */
	struct dg_hash *done, *partial;
	bool has_partial;
	uint64_t fed; /* stream offset just past the last byte fed */
	bool ended;
	bool released; /* its slot is free for the next input (dg_pipeline_release_input) */
	/* dg_pipeline_input_key, and once read from offset 0, "/" and a hash of the first line
	 * (HEAD_MAX bytes at most): generations of one inode, truncated, differ in it */
	char key[DG_PIPELINE_KEY_MAX];
	uint64_t head; /* FNV-1a of the first line so far */
	uint32_t headlen;
	bool head_done;
	/* Database formats: a parser of the input's own (they keep per-input state), and a
	 * record of several lines being assembled: a PostgreSQL message with its continuation
	 * and STATEMENT lines, or a csvlog row with newlines inside quotes. */
	char *prefix;
	const struct dg_tz *tz;
	struct dg_pglog *pg;
	struct dg_mariadb *my;
	struct dg_linuxaudit *la;
	struct dg_buf held;
	struct dg_buf first; /* bytes before the first line is whole, when its format is unknown */
	bool holding, in_quotes;
	struct dg_record hrec; /* where the held record starts; truncated if it outgrew the cap */
	/* the period's malformed records: the reasons given most, and the first record's start */
	struct {
		char text[96];
		uint64_t count;
	} reasons[MAX_REASONS];
	uint64_t other_reasons;
	char first_bad[96];
	uint64_t first_bad_line;
};

struct dg_pipeline {
	const struct dg_config *cfg;
	struct dg_pipeline_hooks hooks;
	struct dg_jsonl *jsonl;
	struct dg_engine *engine;
	struct dg_finding_env env;
	struct dg_evt evt;
	struct dg_evt login; /* a PostgreSQL login held back, let stand */
	/* the fields a database record's parse gave, before an object's event adds to them */
	uint64_t base_present;
	unsigned base_nitems;
	const struct dg_ref *ref;
	bool emitted;
	struct input *inputs;
	uint32_t ninputs, cap;
	uint32_t *free_slots; /* released inputs' numbers, reused first */
	uint32_t nfree;
	struct dg_pipeline_totals totals;
	char why[128];
	char self_ts[DG_TS_BUFSZ]; /* the time of an event about dgaudit itself */
};

static const char *input_key(void *arg, uint32_t input)
{
	struct dg_pipeline *p = arg;

	return input < p->ninputs && !p->inputs[input].released ? p->inputs[input].key : "";
}

static const char *input_name(void *arg, uint32_t input)
{
	struct dg_pipeline *p = arg;

	return input < p->ninputs && !p->inputs[input].released ? p->inputs[input].st.name
	       : input == DG_REF_SELF                           ? "dgaudit"
	                                                        : "?";
}

struct dg_pipeline *dg_pipeline_new(const struct dg_config *cfg, const uint8_t *pseudonym_key,
                                    size_t keylen, const struct dg_pipeline_hooks *hooks)
{
	struct dg_pipeline *p = dg_xcalloc(1, sizeof *p);
	const struct dg_list *approved;

	p->cfg = cfg;
	p->hooks = *hooks;
	p->jsonl = dg_jsonl_new(cfg->schema, cfg->max_line, (unsigned)cfg->max_depth);
	p->engine = dg_engine_new(cfg->rules, cfg->lateness_ms);
	p->env.schema = cfg->schema;
	p->env.input_name = input_name;
	p->env.input_key = input_key;
	p->env.input_arg = p;
	p->env.pseudonym_key = pseudonym_key;
	p->env.pseudonym_keylen = keylen;
	p->env.rules = cfg->rules;
	dg_engine_set_clock(p->engine, dg_clock_mono_ns);
	p->totals.by_rule = dg_xcalloc(dg_rules_count(cfg->rules) + 1, sizeof *p->totals.by_rule);
	p->totals.rule_stats = dg_engine_rule_stats(p->engine);
	approved = dg_cfgutil_site_list(dg_rules_site(cfg->rules), "approved_recipients");
	p->totals.sharing = dg_register_new(approved ? approved->items : NULL);
	p->totals.exception_stats = dg_engine_exception_stats(p->engine);
	return p;
}

void dg_pipeline_explain(struct dg_pipeline *p, bool on)
{
	p->env.explain = on;
}

static void input_free(struct input *in)
{
	free(in->st.name);
	free(in->prefix);
	dg_pglog_free(in->pg);
	dg_mariadb_free(in->my);
	dg_linuxaudit_free(in->la);
	dg_buf_release(&in->held);
	dg_buf_release(&in->first);
	dg_framer_free(in->fr);
	dg_hash_free(in->done);
	dg_hash_free(in->partial);
}

void dg_pipeline_free(struct dg_pipeline *p)
{
	if (p == NULL)
		return;
	for (uint32_t i = 0; i < p->ninputs; i++)
		input_free(&p->inputs[i]);
	free(p->inputs);
	free(p->free_slots);
	free(p->totals.by_rule);
	dg_register_free(p->totals.sharing);
	dg_engine_free(p->engine);
	dg_jsonl_free(p->jsonl);
	free(p);
}

static const char *const format_names[DG_FORMAT_COUNT] = {
    "auto", "json", "postgresql", "postgresql-csv", "postgresql-json", "mariadb", "linux-audit"};

int dg_pipeline_format_parse(const char *name)
{
	for (int i = 0; i < DG_FORMAT_COUNT; i++)
		if (strcmp(name, format_names[i]) == 0)
			return i;
	return -1;
}

const char *dg_pipeline_format_name(enum dg_format format)
{
	return (unsigned)format < DG_FORMAT_COUNT ? format_names[format] : "unknown";
}

uint32_t dg_pipeline_add_input(struct dg_pipeline *p, const char *name, enum dg_format format,
                               uint64_t offset, uint64_t line)
{
	struct input *in;
	uint32_t input;

	if (p->nfree > 0) {
		input = p->free_slots[--p->nfree];
	} else {
		if (p->ninputs == p->cap) {
			p->cap = p->cap ? p->cap * 2 : 8;
			p->inputs = dg_xreallocarray(p->inputs, p->cap, sizeof *p->inputs);
			p->free_slots =
			    dg_xreallocarray(p->free_slots, p->cap, sizeof *p->free_slots);
		}
		input = p->ninputs++;
	}
	in = &p->inputs[input];
	memset(in, 0, sizeof *in);
	in->st.name = dg_xstrdup(name);
	in->st.format = format;
	in->st.start_offset = in->st.end_offset = offset;
	in->fr = dg_framer_new(p->cfg->max_line);
	dg_framer_seek(in->fr, offset, line);
	in->fed = offset;
	in->head = 0xcbf29ce484222325ULL;
	in->head_done = offset > 0;
	in->done = dg_hash_new();
	in->partial = dg_hash_new();
	in->tz = p->cfg->tz;
	return input;
}

void dg_pipeline_release_input(struct dg_pipeline *p, uint32_t input)
{
	struct input *in = &p->inputs[input];

	if (in->released)
		return;
	input_free(in);
	memset(in, 0, sizeof *in);
	in->ended = in->released = true;
	p->free_slots[p->nfree++] = input;
}

bool dg_pipeline_released(const struct dg_pipeline *p, uint32_t input)
{
	return p->inputs[input].released;
}

void dg_pipeline_input_options(struct dg_pipeline *p, uint32_t input, const char *prefix,
                               const struct dg_tz *tz)
{
	struct input *in = &p->inputs[input];

	free(in->prefix);
	in->prefix = prefix ? dg_xstrdup(prefix) : NULL;
	in->tz = tz ? tz : p->cfg->tz;
}

void dg_pipeline_input_key(struct dg_pipeline *p, uint32_t input, const char *key)
{
	struct input *in = &p->inputs[input];

	snprintf(in->key, sizeof in->key, "%s", key);
	if (strchr(in->key, '/') != NULL) /* a key this pipeline completed, restored */
		in->head_done = true;
}

const char *dg_pipeline_key(const struct dg_pipeline *p, uint32_t input)
{
	return p->inputs[input].key;
}

/* The first line's hash goes into the key before any finding of the input is made. */
static void take_head(struct input *in, const char *buf, size_t len)
{
	size_t i = 0;
	size_t n;

	while (i < len && in->headlen < HEAD_MAX && buf[i] != '\n') {
		in->head = (in->head ^ (uint8_t)buf[i++]) * 0x100000001b3ULL;
		in->headlen++;
	}
	if (i == len && in->headlen < HEAD_MAX)
		return;
	in->head_done = true;
	n = strlen(in->key);
	if (n > 0)
		snprintf(in->key + n, sizeof in->key - n, "/%016llx", (unsigned long long)in->head);
}

static void on_match(const struct dg_match *m, void *arg)
{
	struct dg_pipeline *p = arg;
	size_t rule = (size_t)(m->rule - dg_rules_get(p->cfg->rules, 0));

	if (m->kind != DG_MATCH_OPEN) { /* an alert is not yet the finding */
		p->totals.findings++;
		p->totals.by_severity[m->rule->severity]++;
		p->totals.by_rule[rule]++;
	}
	p->hooks.finding(p->hooks.arg, m, dg_finding_render(&p->env, m));
}

/* Counts a malformed record's reason, for the verdict on an input that is mostly malformed. */
static void tally(struct input *in, const struct dg_record *rec, const char *why)
{
	size_t i;

	if (in->st.malformed == 0) {
		size_t n =
		    rec->len < sizeof in->first_bad - 1 ? rec->len : sizeof in->first_bad - 1;
		const char *nl = memchr(rec->data, '\n', n);

		if (nl != NULL)
			n = (size_t)(nl - rec->data);
		memcpy(in->first_bad, rec->data, n);
		in->first_bad[n] = '\0';
		in->first_bad_line = rec->line;
	}
	for (i = 0; i < MAX_REASONS && in->reasons[i].count > 0; i++)
		if (strncmp(in->reasons[i].text, why, sizeof in->reasons[i].text - 1) == 0) {
			in->reasons[i].count++;
			return;
		}
	if (i == MAX_REASONS) {
		in->other_reasons++;
		return;
	}
	snprintf(in->reasons[i].text, sizeof in->reasons[i].text, "%s", why);
	in->reasons[i].count = 1;
}

static void malformed(struct dg_pipeline *p, uint32_t input, const struct dg_record *rec,
                      const char *why)
{
	tally(&p->inputs[input], rec, why);
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

static void evaluate_evt(struct dg_pipeline *p, struct dg_evt *evt, const struct dg_ref *ref)
{
	dg_session_apply(p->cfg->session, evt);
	dg_catalog_enrich(p->cfg->catalog, evt);
	dg_register_add(p->totals.sharing, evt);
	dg_engine_eval(p->engine, evt, ref, on_match, p);
}

static void evaluate(struct dg_pipeline *p, const struct dg_ref *ref)
{
	evaluate_evt(p, &p->evt, ref);
}

static void event_time(struct dg_pipeline *p, const struct dg_evt *evt)
{
	if (!p->totals.have_time || evt->ts_ms < p->totals.first_ms)
		p->totals.first_ms = evt->ts_ms;
	if (!p->totals.have_time || evt->ts_ms > p->totals.last_ms)
		p->totals.last_ms = evt->ts_ms;
	p->totals.have_time = true;
}

void dg_pipeline_integrity(struct dg_pipeline *p, int64_t now_ms, const char *type,
                           const char *detail)
{
	struct dg_evt *evt = &p->evt;
	struct dg_ref ref = {DG_REF_SELF, 0, 0};

	dg_ts_format(now_ms, p->self_ts);
	dg_evt_clear(evt);
	evt->ts_ms = now_ms;
	dg_evt_set(evt, DG_F_TIMESTAMP, p->self_ts, strlen(p->self_ts));
	dg_evt_set(evt, DG_F_SERVICE_NAME, "dgaudit", 7);
	dg_evt_set(evt, DG_F_INTEGRITY, type, strlen(type));
	dg_evt_set(evt, DG_F_MESSAGE, detail, strlen(detail));
	evaluate_evt(p, evt, &ref);
}

/* The logins a PostgreSQL parser held back and now lets stand, before what comes after them. */
static void released_logins(struct dg_pipeline *p, struct input *in)
{
	struct dg_ref ref;

	while (dg_pglog_released(in->pg, &p->login, &ref)) {
		event_time(p, &p->login);
		evaluate_evt(p, &p->login, &ref);
	}
}

/* The event of one object of a database record: the record's own fields, that object and the
 * action on it. */
static void object_event(struct dg_pipeline *p, const char *name, size_t len, const char *action)
{
	struct dg_evt *evt = &p->evt;
	const char *dot = memchr(name, '.', len);

	evt->present = p->base_present;
	evt->nitems = p->base_nitems;
	dg_evt_set(evt, DG_F_OBJECT, name, len);
	dg_evt_set(evt, DG_F_DB_COLLECTION, dot ? dot + 1 : name,
	           dot ? len - (size_t)(dot + 1 - name) : len);
	if (action != NULL)
		dg_evt_set(evt, DG_F_EVENT_ACTION, action, strlen(action));
	evaluate(p, p->ref);
	p->emitted = true;
}

struct covered {
	struct dg_pipeline *p;
	const char *action;
};

static void covered_event(const char *object, void *arg)
{
	struct covered *c = arg;

	object_event(c->p, object, strlen(object), c->action);
}

static bool privileged(const char *action)
{
	return action != NULL && (strcmp(action, "grant") == 0 || strcmp(action, "admin") == 0 ||
	                          strcmp(action, "set_role") == 0);
}

/* One event per catalogued object a database record names, each under the catalogue's name
 * for it (an unqualified name resolved, "schema.*" every table it covers); objects the
 * catalogue does not know (a sequence, the server's statistics tables) would only repeat an
 * event, so the first of them stands for the rest when none is catalogued; a grant or a
 * change of settings among them (CREATE SCHEMA ... GRANT) has its own, as the rules on those
 * need no catalogue. A table read through a catalogued view is the view's access, not one of its
 * own; through a view the catalogue does not know, it stays the table's, so nothing the view
 * may expose goes unseen. */
static void objects(struct dg_pipeline *p, const struct dg_ref *ref)
{
	struct dg_evt *evt = &p->evt;
	const struct dg_catalog *cat = p->cfg->catalog;
	const struct dg_str *db = dg_evt_str(evt, DG_F_DB_NAMESPACE);
	const struct dg_str *user = dg_evt_str(evt, DG_F_USER_NAME);
	struct {
		const char *action;
		bool emitted;
		char name[256];
		size_t len;
	} by_action[DG_MAX_OBJECTS];
	unsigned nactions = 0;
	char name[256];
	bool any = false;

	if (evt->nobjects == 0) {
		evaluate(p, ref);
		return;
	}
	p->base_present = evt->present;
	p->base_nitems = evt->nitems;
	p->ref = ref;
	for (unsigned i = 0; i < evt->nobjects; i++) {
		const struct dg_evt_object *o = &evt->objects[i];
		size_t len = dg_catalog_resolve(cat, &o->name, db, user, name, sizeof name);
		unsigned a = 0;

		if (len == 0)
			continue;
		while (a < nactions && !(by_action[a].action == o->action ||
		                         (by_action[a].action && o->action &&
		                          strcmp(by_action[a].action, o->action) == 0)))
			a++;
		if (a == nactions) {
			by_action[a].action = o->action;
			by_action[a].emitted = false;
			by_action[a].len = 0;
			nactions++;
		}
		p->emitted = false;
		if (len >= 2 && memcmp(name + len - 2, ".*", 2) == 0) {
			struct covered c = {p, o->action};
			struct dg_str pattern = {name, len};

			dg_catalog_each(cat, &pattern, covered_event, &c);
		} else if ((o->flags & DG_OBJ_INDIRECT) &&
		           dg_catalog_lookup(cat, o->via.p, o->via.len) != NULL) {
			continue;
		} else if (evt->nobjects == 1 || dg_catalog_lookup(cat, name, len) != NULL) {
			object_event(p, name, len, o->action);
		}
		by_action[a].emitted |= p->emitted;
		any |= p->emitted;
		if (!p->emitted && by_action[a].len == 0) {
			memcpy(by_action[a].name, name, len);
			by_action[a].len = len;
		}
	}
	for (unsigned a = 0; a < nactions; a++)
		if (!by_action[a].emitted && by_action[a].len > 0 &&
		    (!any || privileged(by_action[a].action))) {
			object_event(p, by_action[a].name, by_action[a].len, by_action[a].action);
			any = true;
		}
}

/* The events a Linux audit parser completed: each when a record of the next one came. */
static void released_audit(struct dg_pipeline *p, struct input *in)
{
	struct dg_ref ref;

	while (dg_linuxaudit_released(in->la, &p->evt, &ref)) {
		event_time(p, &p->evt);
		objects(p, &ref);
	}
}

static void audit(struct dg_pipeline *p, uint32_t input, const struct dg_record *rec)
{
	struct input *in = &p->inputs[input];
	struct dg_ref ref = {input, rec->line, rec->offset};
	const char *why;
	int n;

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
	switch (in->st.format) {
	case DG_FORMAT_PG_STDERR:
	case DG_FORMAT_PG_CSV:
	case DG_FORMAT_PG_JSON:
		dg_pglog_where(in->pg, &ref);
		n = dg_pglog_parse(in->pg, rec->data, rec->len, &p->evt, &why);
		released_logins(p, in);
		break;
	case DG_FORMAT_MARIADB:
		n = dg_mariadb_parse(in->my, rec->data, rec->len, &p->evt, &why);
		break;
	case DG_FORMAT_LINUX_AUDIT:
		dg_linuxaudit_where(in->la, &ref);
		n = dg_linuxaudit_parse(in->la, rec->data, rec->len, &why);
		released_audit(p, in);
		break;
	default:
		n = dg_jsonl_parse(p->jsonl, rec->data, rec->len, &p->evt, &why) == 0 ? 1 : -1;
		break;
	}
	if (n < 0) {
		malformed(p, input, rec, why);
		return;
	}
	if (n > 0)
		event_time(p, &p->evt);
	if (n > 0 && dg_evt_has(&p->evt, DG_F_AUDIT_GAP) && p->hooks.integrity != NULL) {
		const struct dg_str *m = dg_evt_str(&p->evt, DG_F_MESSAGE);
		char *detail =
		    dg_xasprintf("%s line %llu: %.*s", in->st.name, (unsigned long long)rec->line,
		                 m ? (int)m->len : 0, m ? m->p : "");

		p->hooks.integrity(p->hooks.arg, input, "audit_gap", detail);
		free(detail);
	}
	if (n > 0)
		objects(p, &ref);
}

/* "YYYY-MM-DD hh:mm:ss[.fff] ZONE," opens a csvlog row; the zone is one word. */
static bool csvlog_row(const char *s, size_t len)
{
	int64_t ms;
	size_t i = 19;
	bool zoned;
	int minutes;

	if (len < 21 || !dg_ts_parse_local(s, 19, &ms, &zoned, &minutes))
		return false;
	if (s[i] == '.')
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
	if (i >= len || s[i] != ' ')
		return false;
	for (i++; i < len && s[i] != ',' && s[i] != ' '; i++)
		;
	return i < len && s[i] == ',';
}

/* Creates the parser a database format needs. */
static int open_parser(struct dg_pipeline *p, struct input *in, char **cause)
{
	char *why = NULL;
	enum dg_pglog_layout layout = in->st.format == DG_FORMAT_PG_CSV    ? DG_PGLOG_CSV
	                              : in->st.format == DG_FORMAT_PG_JSON ? DG_PGLOG_JSON
	                                                                   : DG_PGLOG_STDERR;

	if (in->st.format == DG_FORMAT_MARIADB && in->my == NULL)
		in->my = dg_mariadb_new(in->tz, p->cfg->max_line);
	if (in->st.format == DG_FORMAT_LINUX_AUDIT && in->la == NULL)
		in->la = dg_linuxaudit_new();
	if (in->st.format >= DG_FORMAT_PG_STDERR && in->st.format <= DG_FORMAT_PG_JSON &&
	    in->pg == NULL) {
		in->pg = dg_pglog_new(layout, in->prefix ? in->prefix : p->cfg->pg_prefix, in->tz,
		                      p->cfg->max_line, &why);
		if (in->pg == NULL) {
			*cause = dg_xasprintf("%s: %s", in->st.name, why);
			free(why);
			return -1;
		}
	}
	return 0;
}

/* Decides an input's format from its first line. */
static int detect(struct dg_pipeline *p, struct input *in, const char *buf, size_t len,
                  char **cause)
{
	size_t i = 0, n;
	const char *nl;
	int64_t ms;
	bool zoned;
	int minutes;

	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		i = 3; /* a UTF-8 byte order mark */
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	if (i == len)
		return 0; /* nothing to go on yet */
	buf += i;
	len -= i;
	nl = memchr(buf, '\n', len);
	n = nl ? (size_t)(nl - buf) : len;
	if (buf[0] == '{') {
		in->st.format = memmem(buf, n, "\"error_severity\":", 17) != NULL
		                    ? DG_FORMAT_PG_JSON
		                    : DG_FORMAT_JSON;
	} else if (dg_mariadb_looks(buf, n)) {
		in->st.format = DG_FORMAT_MARIADB;
	} else if (dg_linuxaudit_looks(buf, n)) {
		in->st.format = DG_FORMAT_LINUX_AUDIT;
	} else if (csvlog_row(buf, n)) {
		in->st.format = DG_FORMAT_PG_CSV;
	} else {
		struct dg_pglog *pg;
		char *why = NULL;
		bool opens;

		pg = dg_pglog_new(DG_PGLOG_STDERR, in->prefix ? in->prefix : p->cfg->pg_prefix,
		                  in->tz, p->cfg->max_line, &why);
		if (pg == NULL) {
			*cause = dg_xasprintf("%s: %s", in->st.name, why);
			free(why);
			return -1;
		}
		opens = dg_pglog_opens(pg, buf, n);
		dg_pglog_free(pg);
		if (opens) {
			in->st.format = DG_FORMAT_PG_STDERR;
		} else if (n >= 19 && dg_ts_parse_local(buf, 19, &ms, &zoned, &minutes)) {
			*cause = dg_xasprintf(
			    "%s: looks like a PostgreSQL log, but its first line does not match "
			    "log_line_prefix '%s'; set the server's prefix in the config "
			    "(databases.log_line_prefix) or with --log-line-prefix",
			    in->st.name, in->prefix ? in->prefix : p->cfg->pg_prefix);
			return -1;
		} else {
			*cause = dg_xasprintf("%s: unknown log format (the first record is none "
			                      "of: %s); use --format "
			                      "to name it",
			                      in->st.name, DG_FORMAT_KNOWN);
			return -1;
		}
	}
	return open_parser(p, in, cause);
}

/* Where a restart must resume: the start of a record being assembled, else just past the
 * last complete line. */
static uint64_t resume_at(const struct input *in, uint64_t *line)
{
	if (line != NULL)
		*line = in->holding ? in->hrec.line : dg_framer_next_line(in->fr);
	return in->holding ? in->hrec.offset : dg_framer_resume_offset(in->fr);
}

/* Hashes the chunk at stream offset base: the bytes up to the resume offset complete records;
 * the rest belong to a record still being read, which counts only once it completes. */
static void digest(struct input *in, const char *buf, size_t len, uint64_t base)
{
	uint64_t resume = resume_at(in, NULL);

	if (in->has_partial && resume >= base) {
		struct dg_hash *t = in->done;

		dg_hash_update(in->partial, buf, resume - base);
		in->done = in->partial;
		in->partial = t;
		in->has_partial = false;
	} else if (resume > base) {
		dg_hash_update(in->done, buf, resume - base);
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

static void release(struct dg_pipeline *p, uint32_t input)
{
	struct input *in = &p->inputs[input];

	if (!in->holding)
		return;
	in->holding = false;
	in->hrec.data = in->held.data;
	in->hrec.len = in->held.len;
	audit(p, input, &in->hrec);
}

/* Whether a csvlog line leaves a quoted field open, given the state before it. */
static bool quotes_open(const char *s, size_t len, bool open)
{
	for (const char *q = memchr(s, '"', len); q != NULL;
	     q = memchr(q + 1, '"', len - (size_t)(q + 1 - s)))
		open = !open;
	return open;
}

static void hold(struct input *in, const struct dg_record *rec)
{
	in->holding = true;
	in->hrec = *rec;
	dg_buf_reset(&in->held);
	dg_buf_add(&in->held, rec->data, rec->len);
}

/* Adds a continuation line to the held record, up to the cap. */
static void extend(struct dg_pipeline *p, struct input *in, const struct dg_record *rec)
{
	in->hrec.real_len += 1 + rec->real_len;
	if (in->hrec.truncated || rec->truncated ||
	    in->held.len + 1 + rec->len > p->cfg->max_line) {
		in->hrec.truncated = true;
		return;
	}
	dg_buf_addc(&in->held, '\n');
	dg_buf_add(&in->held, rec->data, rec->len);
}

/* One framed line: a record of its own, or part of one that spans lines. */
static void line(struct dg_pipeline *p, uint32_t input, const struct dg_record *rec)
{
	struct input *in = &p->inputs[input];

	switch (in->st.format) {
	case DG_FORMAT_PG_STDERR:
		if (in->holding && dg_pglog_continues(in->pg, rec->data, rec->len)) {
			extend(p, in, rec);
			return;
		}
		release(p, input);
		if (!rec->truncated && blank(rec))
			audit(p, input, rec);
		else
			hold(in, rec); /* its end shows only when the next message starts */
		return;
	case DG_FORMAT_PG_CSV:
		if (in->holding) {
			extend(p, in, rec);
			in->in_quotes = quotes_open(rec->data, rec->len, in->in_quotes);
			/* an overlong row is given up, and reading resynchronises on the next line
			 */
			if (!in->in_quotes || in->hrec.truncated)
				release(p, input);
			return;
		}
		in->in_quotes = quotes_open(rec->data, rec->len, false);
		if (in->in_quotes && !rec->truncated)
			hold(in, rec);
		else
			audit(p, input, rec);
		return;
	default:
		audit(p, input, rec);
		return;
	}
}

/* Audits bytes of an input whose format is decided. */
static int feed_bytes(struct dg_pipeline *p, uint32_t input, const char *buf, size_t len,
                      char **cause)
{
	struct input *in = &p->inputs[input];
	struct dg_record rec;

	if (in->st.format != DG_FORMAT_AUTO && open_parser(p, in, cause) != 0)
		return -1;
	if (!in->head_done)
		take_head(in, buf, len);
	dg_framer_push(in->fr, buf, len);
	while (dg_framer_next(in->fr, &rec))
		line(p, input, &rec);
	digest(in, buf, len, in->fed);
	in->fed += len;
	in->st.end_offset = resume_at(in, NULL);
	return 0;
}

/* Decides the format from the bytes kept so far, then audits them. */
static int feed_first(struct dg_pipeline *p, uint32_t input, char **cause)
{
	struct input *in = &p->inputs[input];
	struct dg_buf b = in->first;
	int rc;

	in->first = (struct dg_buf){0};
	rc = detect(p, in, b.data, b.len, cause);
	if (rc == 0)
		rc = feed_bytes(p, input, b.data, b.len, cause);
	dg_buf_release(&b);
	return rc;
}

int dg_pipeline_feed(struct dg_pipeline *p, uint32_t input, const char *buf, size_t len,
                     char **cause)
{
	struct input *in = &p->inputs[input];

	if (in->st.format == DG_FORMAT_AUTO && (in->first.len > 0 || !memchr(buf, '\n', len))) {
		/* The format shows in the first whole line: keep bytes until it is there. */
		dg_buf_add(&in->first, buf, len);
		if (!memchr(in->first.data, '\n', in->first.len) &&
		    in->first.len < p->cfg->max_line)
			return 0;
		return feed_first(p, input, cause);
	}
	if (in->st.format == DG_FORMAT_AUTO && detect(p, in, buf, len, cause) != 0)
		return -1;
	return feed_bytes(p, input, buf, len, cause);
}

static void settle(struct dg_pipeline *p, struct input *in)
{
	if (in->la != NULL) {
		dg_linuxaudit_settle(in->la);
		released_audit(p, in);
	}
	if (in->pg == NULL)
		return;
	dg_pglog_settle(in->pg);
	released_logins(p, in);
}

void dg_pipeline_settle(struct dg_pipeline *p)
{
	for (uint32_t i = 0; i < p->ninputs; i++)
		settle(p, &p->inputs[i]);
}

void dg_pipeline_flush(struct dg_pipeline *p, uint32_t input)
{
	struct input *in = &p->inputs[input];

	/* Only whole lines: a message still being written has a partial line. */
	if (!in->holding || in->ended || dg_framer_pending(in->fr) > 0 ||
	    in->st.format != DG_FORMAT_PG_STDERR)
		return;
	release(p, input);
	digest(in, NULL, 0, in->fed);
	in->st.end_offset = resume_at(in, NULL);
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
	if (in->first.len > 0) {
		/* a single line without newline, its format still unknown */
		struct dg_record r = {in->first.data, in->first.len, in->fed, 1,
		                      in->first.len,  false,         true};
		char *cause = NULL;

		if (in->st.format == DG_FORMAT_AUTO && detect(p, in, r.data, r.len, &cause) != 0) {
			in->st.records++;
			p->totals.records++;
			malformed(p, input, &r, cause);
			free(cause);
			dg_buf_reset(&in->first);
		} else {
			feed_first(p, input, &cause);
			free(cause);
		}
	}
	if (dg_framer_finish(in->fr, &rec))
		line(p, input, &rec);
	release(p, input);
	settle(p, in);
	/* Everything held was audited: its bytes are now part of the digest. */
	if (in->has_partial) {
		dg_hash_copy(in->done, in->partial);
		in->has_partial = false;
	}
	in->st.end_offset = dg_framer_resume_offset(in->fr);
	finish_digest(in);
	in->ended = true;
}

void dg_pipeline_close_period(struct dg_pipeline *p, uint32_t input, struct dg_input_stats *out)
{
	struct input *in = &p->inputs[input];
	uint64_t line;
	uint64_t resume = resume_at(in, &line);

	finish_digest(in);
	*out = in->st;
	/* The next period starts at the first byte not yet audited; a record still held is
	 * dropped here and read again, so that each period's digest covers exactly its range. */
	in->st.start_offset = in->st.end_offset = resume;
	in->st.records = in->st.malformed = in->st.blank = 0;
	memset(in->reasons, 0, sizeof in->reasons);
	in->other_reasons = 0;
	dg_hash_reset(in->done);
	in->has_partial = false;
	in->holding = false;
	in->in_quotes = false;
	dg_framer_seek(in->fr, resume, line);
	in->fed = resume;
}

bool dg_pipeline_health(const struct dg_pipeline *p, uint32_t input, double max_ratio, char *out,
                        size_t cap)
{
	const struct input *in = &p->inputs[input];
	const uint64_t bad = in->st.malformed, all = in->st.records;
	size_t top = 0;

	if (bad == 0 || (double)bad <= max_ratio * (double)all)
		return true;
	for (size_t i = 1; i < MAX_REASONS; i++)
		if (in->reasons[i].count > in->reasons[top].count)
			top = i;
	snprintf(out, cap,
	         "%s: %llu of %llu records malformed (%.1f%%, more than limits.max_malformed_ratio "
	         "%.1f%%): the audit of this input cannot be relied on. Most often (%llu): %s. "
	         "First, line %llu: "
	         "%s",
	         in->st.name, (unsigned long long)bad, (unsigned long long)all,
	         100.0 * (double)bad / (double)all, 100.0 * max_ratio,
	         (unsigned long long)in->reasons[top].count, in->reasons[top].text,
	         (unsigned long long)in->first_bad_line, in->first_bad);
	return false;
}

uint64_t dg_pipeline_resume(const struct dg_pipeline *p, uint32_t input, uint64_t *line)
{
	return resume_at(&p->inputs[input], line);
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

void dg_pipeline_finish(struct dg_pipeline *p)
{
	dg_engine_flush(p->engine, on_match, p);
}

void dg_pipeline_carry(struct dg_pipeline *p)
{
	dg_engine_carry(p->engine, on_match, p);
}

void dg_pipeline_reset_totals(struct dg_pipeline *p)
{
	struct dg_pipeline_totals t = {.by_rule = p->totals.by_rule,
	                               .rule_stats = p->totals.rule_stats,
	                               .sharing = p->totals.sharing,
	                               .exception_stats = p->totals.exception_stats};

	dg_register_reset(t.sharing);

	memset(t.by_rule, 0, dg_rules_count(p->cfg->rules) * sizeof *t.by_rule);
	memset(t.rule_stats, 0, dg_rules_count(p->cfg->rules) * sizeof *t.rule_stats);
	memset(t.exception_stats, 0,
	       dg_rules_exception_count(p->cfg->rules) * sizeof *t.exception_stats);
	p->totals = t;
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
