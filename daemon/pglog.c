#include "dgaudit/pglog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/json.h"
#include "dgaudit/sql.h"
#include "dgaudit/ts.h"
#include "dgaudit/xmalloc.h"

#define MAX_ITEMS    48
#define MATCH_BUDGET 4096 /* candidate splits tried per line before giving up */
#define CSV_FIELDS   26   /* PostgreSQL 15's csvlog columns */
#define STMT_SLOTS   256  /* statements remembered for pgaudit.log_statement_once */
#define STMT_KEY     64
#define BACKENDS     512 /* backends whose current statement and role are remembered */
#define SEEN         16  /* objects remembered per statement, to merge pgaudit's records */
#define NAME_CAP     128
#define PENDING      16   /* logins waiting to see whether their backend fails at once */
#define PENDING_CAP  2048 /* a longer "connection authorized" record is not held */
#define PENDING_MS   1000 /* a FATAL comes milliseconds after; after this, the login stood */

/* One piece of a compiled log_line_prefix: literal text, or an escape. */
struct item {
	char esc; /* 0 for a literal */
	const char *lit;
	size_t len;
};

/* The parts of a server message the mapping reads. */
struct msg {
	struct dg_str ts, user, db, host, sev, state, text, statement, pid, app;
	bool epoch; /* ts is %n: seconds since the epoch */
	struct dg_str detail;
};

/* The text of one statement of one backend, for the records that say <previously logged>. */
struct stmt {
	char key[STMT_KEY]; /* "pid/statement/substatement" */
	char *text;
	size_t len, cap;
};

/* What one backend's records so far say: its current statement, the objects already given an
 * event for it, the view it reads through, the role it acts as. */
struct backend {
	uint64_t pid, stmt;
	bool used;
	unsigned nseen;
	uint64_t seen[SEEN];     /* hash of (substatement, object) */
	uint64_t seen_any[SEEN]; /* hash of (action, object) */
	char view[NAME_CAP];     /* a VIEW record of this statement */
	size_t view_len;
	char role[NAME_CAP]; /* SET ROLE */
	size_t role_len;
};

/* A "connection authorized" record held back: PostgreSQL writes it before it checks that the
 * database (with trust authentication, the role) exists, so a FATAL of the same backend next
 * makes it a failed login. */
struct pending {
	bool used;
	uint64_t pid;
	int64_t ts_ms;
	struct dg_ref ref;
	size_t len;
	char rec[PENDING_CAP];
};

struct prefix_cache {
	bool valid, epoch;
	size_t len, rest;
	size_t off[7], flen[7];
	char line[1024];
};

struct dg_pglog {
	struct prefix_cache pcache[2];
	unsigned pnext;
	struct stmt stmts[STMT_SLOTS];
	struct pending pending[PENDING];
	unsigned released[PENDING]; /* indexes of pending logins given back by the last parse */
	unsigned nreleased, next_released, npending;
	struct dg_ref where;     /* of the record being parsed */
	struct dg_pglog *shadow; /* parses a released login without disturbing the current */
	struct backend backends[BACKENDS];
	size_t max_record;
	enum dg_pglog_layout layout;
	const struct dg_tz *tz;
	char *prefix;
	struct item items[MAX_ITEMS];
	size_t nitems;
	struct dg_json *json;
	char *scratch; /* decoded text of the current record */
	size_t cap, used;
	char why[160];
	bool failed_login; /* the FATAL being parsed ends a held login */
	bool no_defer;     /* the shadow: gives logins at once */
};

static const char *const severities[] = {"LOG",    "ERROR",  "FATAL",  "PANIC",  "WARNING",
                                         "NOTICE", "INFO",   "DEBUG1", "DEBUG2", "DEBUG3",
                                         "DEBUG4", "DEBUG5", NULL};
static const char *const secondaries[] = {"DETAIL",    "HINT",     "CONTEXT", "QUERY",
                                          "STATEMENT", "LOCATION", NULL};

static int compile(struct dg_pglog *p, char **cause)
{
	const char *s = p->prefix;
	bool have_time = false;

	while (*s != '\0') {
		struct item *it;

		if (p->nitems == MAX_ITEMS) {
			*cause = dg_xasprintf("log_line_prefix '%s' has too many parts", p->prefix);
			return -1;
		}
		it = &p->items[p->nitems];
		if (*s != '%' || s[1] == '%') {
			const char *e = s;

			if (*e == '%') /* "%%" is a literal '%': keep the second one */
				e = ++s;
			for (e++; *e != '\0' && *e != '%'; e++)
				;
			if (p->nitems > 0 && p->items[p->nitems - 1].esc == 0 &&
			    p->items[p->nitems - 1].lit + p->items[p->nitems - 1].len == s) {
				p->items[p->nitems - 1].len += (size_t)(e - s);
			} else {
				it->lit = s;
				it->len = (size_t)(e - s);
				p->nitems++;
			}
			s = e;
			continue;
		}
		s++;
		while (*s == '-' || (*s >= '0' && *s <= '9')) /* padding: %-10u */
			s++;
		if (*s == '\0' || strchr("audbhHrLpPtmnieclsvxqQ", *s) == NULL) {
			*cause = dg_xasprintf("log_line_prefix '%s': unknown escape '%%%c'",
			                      p->prefix, *s ? *s : ' ');
			return -1;
		}
		have_time |= *s == 'm' || *s == 't' || *s == 'n';
		it->esc = *s++;
		p->nitems++;
	}
	if (!have_time) {
		*cause = dg_xasprintf("log_line_prefix '%s' has no time (%%m, %%t or %%n): records "
		                      "could not be dated",
		                      p->prefix);
		return -1;
	}
	return 0;
}

struct dg_pglog *dg_pglog_new(enum dg_pglog_layout layout, const char *prefix,
                              const struct dg_tz *tz, size_t max_record, char **cause)
{
	struct dg_pglog *p = dg_xcalloc(1, sizeof *p);

	p->layout = layout;
	p->tz = tz;
	p->prefix = dg_xstrdup(prefix ? prefix : DG_PGLOG_DEFAULT_PREFIX);
	if (layout == DG_PGLOG_STDERR && compile(p, cause) != 0) {
		dg_pglog_free(p);
		return NULL;
	}
	if (layout == DG_PGLOG_JSON)
		p->json = dg_json_new(0);
	p->max_record = max_record;
	p->cap = 2 * max_record + 1024;
	p->scratch = dg_xmalloc(p->cap);
	return p;
}

void dg_pglog_free(struct dg_pglog *p)
{
	if (p == NULL)
		return;
	dg_json_free(p->json);
	dg_pglog_free(p->shadow);
	for (size_t i = 0; i < STMT_SLOTS; i++)
		free(p->stmts[i].text);
	free(p->scratch);
	free(p->prefix);
	free(p);
}

/* A severity word followed by ":  " at s; its length with the separator, or 0. */
static size_t marker(const char *s, const char *end, const char *const *words, struct dg_str *sev)
{
	for (size_t i = 0; words[i] != NULL; i++) {
		size_t n = strlen(words[i]);

		if ((size_t)(end - s) >= n + 3 && memcmp(s, words[i], n) == 0 &&
		    memcmp(s + n, ":  ", 3) == 0) {
			if (sev != NULL) {
				sev->p = s;
				sev->len = n;
			}
			return n + 3;
		}
	}
	return 0;
}

static const char *prefix_as(struct dg_pglog *p, const char *line, size_t len, struct msg *m,
                             bool keep);

/* Lines the framer asks about are kept for the parse that follows; others are not. */
static const char *prefix(struct dg_pglog *p, const char *line, size_t len, struct msg *m)
{
	return prefix_as(p, line, len, m, false);
}

static bool any_marker(const char *s, const char *end, struct dg_str *sev)
{
	return marker(s, end, severities, sev) || marker(s, end, secondaries, sev);
}

static void capture(struct msg *m, char esc, const char *s, size_t len)
{
	struct dg_str v = {s, len};

	while (v.len > 0 && v.p[v.len - 1] == ' ') /* padded escapes */
		v.len--;
	while (v.len > 0 && v.p[0] == ' ')
		v.p++, v.len--;
	switch (esc) {
	case 'm':
	case 't':
	case 'n':
		m->ts = v;
		m->epoch = esc == 'n';
		break;
	case 'u':
		m->user = v;
		break;
	case 'd':
		m->db = v;
		break;
	case 'h':
	case 'r':
		m->host = v;
		break;
	case 'e':
		m->state = v;
		break;
	case 'p':
		m->pid = v;
		break;
	case 'a':
		m->app = v;
		break;
	default:
		break;
	}
}

/* The length of a time escape's value at s: "YYYY-MM-DD hh:mm:ss[.mmm] ZONE" or (%n)
 * "seconds.mmm". 0 if s does not hold one. */
static size_t time_len(char esc, const char *s, const char *end)
{
	const char *e = s;

	if (esc == 'n') {
		while (e < end && ((*e >= '0' && *e <= '9') || *e == '.'))
			e++;
		return (size_t)(e - s);
	}
	if (end - s < 19 || s[4] != '-' || s[10] != ' ' || s[13] != ':')
		return 0;
	e = s + 19;
	if (e < end && *e == '.')
		for (e++; e < end && *e >= '0' && *e <= '9'; e++)
			;
	if (e < end && *e == ' ') /* the zone: one word */
		for (e++; e < end && *e != ' ' && *e != '\t'; e++)
			;
	return (size_t)(e - s);
}

static bool digits_only(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Matches items[i..] at s; on success *rest is where the severity word starts. Escapes whose
 * values may hold anything (an application name with spaces) try each place the text after
 * them could start, within a budget, so a hostile line cannot make this slow. */
static bool match(const struct dg_pglog *p, size_t i, const char *s, const char *end, struct msg *m,
                  unsigned *budget, const char **rest)
{
	const struct item *it;

	if (*budget == 0)
		return false;
	--*budget;
	if (i == p->nitems) {
		if (!any_marker(s, end, NULL))
			return false;
		*rest = s;
		return true;
	}
	it = &p->items[i];
	if (it->esc == 0)
		return (size_t)(end - s) >= it->len && memcmp(s, it->lit, it->len) == 0 &&
		       match(p, i + 1, s + it->len, end, m, budget, rest);
	if (it->esc == 'q') /* the rest is written only by session processes */
		return (any_marker(s, end, NULL) && (*rest = s, true)) ||
		       match(p, i + 1, s, end, m, budget, rest);
	if (it->esc == 'm' || it->esc == 't' || it->esc == 'n') {
		size_t n = time_len(it->esc, s, end);

		if (n == 0)
			return false;
		capture(m, it->esc, s, n);
		return match(p, i + 1, s + n, end, m, budget, rest);
	}
	for (const char *e = s; e <= end; e++) {
		const struct item *nx = i + 1 < p->nitems ? &p->items[i + 1] : NULL;

		/* Only the application name, command tag and backend type hold spaces; a user or
		 * database that seemed to would mean the prefix is not the server's. */
		if (e > s && e[-1] == ' ' && strchr("aib", it->esc) == NULL)
			return false;
		if (nx != NULL && nx->esc == 0 &&
		    (end - e < (ptrdiff_t)nx->len || *e != nx->lit[0]))
			continue;
		if (strchr("pPlxQ", it->esc) != NULL && !digits_only(s, (size_t)(e - s)))
			return false;
		if (match(p, i + 1, e, end, m, budget, rest)) {
			capture(m, it->esc, s, (size_t)(e - s));
			return true;
		}
		if (*budget == 0)
			return false;
	}
	return false;
}

/* Parses the prefix of a stderr line; returns where the severity word starts, or NULL. */
static const char *prefix_match(const struct dg_pglog *p, const char *line, size_t len,
                                struct msg *m)
{
	unsigned budget = MATCH_BUDGET;
	const char *rest = NULL;

	if (!match(p, 0, line, line + len, m, &budget, &rest))
		return NULL;
	return rest;
}

/* The fields of struct msg a prefix match captures. */
static const size_t captured[] = {offsetof(struct msg, ts),    offsetof(struct msg, user),
                                  offsetof(struct msg, db),    offsetof(struct msg, host),
                                  offsetof(struct msg, state), offsetof(struct msg, pid),
                                  offsetof(struct msg, app)};

/* The prefix of a line, matched once: the framer asks whether a line continues the message
 * before it, and the parser reads the line again as the start of its message once the next
 * line has been asked about. The last two lines' matches are kept, with their bytes, which
 * must be the same. */
static const char *prefix_as(struct dg_pglog *p, const char *line, size_t len, struct msg *m,
                             bool keep)
{
	struct prefix_cache *c = &p->pcache[0];
	const char *rest;

	if (!(c->valid && c->len == len && memcmp(c->line, line, len) == 0))
		c = &p->pcache[1];
	if (c->valid && c->len == len && memcmp(c->line, line, len) == 0) {
		for (size_t i = 0; i < sizeof captured / sizeof captured[0]; i++) {
			struct dg_str *f = (struct dg_str *)((char *)m + captured[i]);

			*f = c->off[i] == SIZE_MAX ? (struct dg_str){NULL, 0}
			                           : (struct dg_str){line + c->off[i], c->flen[i]};
		}
		m->epoch = c->epoch;
		return c->rest == SIZE_MAX ? NULL : line + c->rest;
	}
	rest = prefix_match(p, line, len, m);
	c = &p->pcache[p->pnext];
	if (keep && len <= sizeof c->line) {
		p->pnext ^= 1;
		memcpy(c->line, line, len);
		c->len = len;
		c->valid = true;
		c->rest = rest ? (size_t)(rest - line) : SIZE_MAX;
		c->epoch = m->epoch;
		for (size_t i = 0; i < sizeof captured / sizeof captured[0]; i++) {
			const struct dg_str *f =
			    (const struct dg_str *)((const char *)m + captured[i]);

			c->off[i] = f->p != NULL && f->p >= line && f->p <= line + len
			                ? (size_t)(f->p - line)
			                : SIZE_MAX;
			c->flen[i] = f->len;
		}
	}
	return rest;
}

bool dg_pglog_continues(struct dg_pglog *p, const char *line, size_t len)
{
	struct msg m = {0};
	const char *rest;

	if (len > 0 && line[0] == '\t')
		return true;
	rest = prefix_as(p, line, len, &m, true);
	return rest != NULL && marker(rest, line + len, secondaries, NULL) != 0;
}

bool dg_pglog_opens(struct dg_pglog *p, const char *line, size_t len)
{
	struct msg m = {0};
	const char *rest = prefix(p, line, len, &m);

	return rest != NULL && marker(rest, line + len, severities, NULL) != 0;
}

static char *reserve(struct dg_pglog *p, size_t n)
{
	char *s;

	if (p->cap - p->used < n)
		return NULL;
	s = p->scratch + p->used;
	p->used += n;
	return s;
}

/* Text of a stderr message part running from s over TAB-indented continuation lines; returns
 * the end of the part (the start of the next prefixed line, or end). */
static const char *part(struct dg_pglog *p, const char *s, const char *end, struct dg_str *out)
{
	const char *nl = memchr(s, '\n', (size_t)(end - s));
	char *d;

	if (nl == NULL || nl + 1 >= end || nl[1] != '\t') {
		out->p = s;
		out->len = (size_t)((nl ? nl : end) - s);
		return nl ? nl + 1 : end;
	}
	d = p->scratch + p->used;
	out->p = d;
	for (;;) {
		size_t n = (size_t)((nl ? nl : end) - s);

		if (p->cap - p->used < n + 1)
			break;
		memcpy(d, s, n);
		d += n;
		p->used += n;
		if (nl == NULL || nl + 1 >= end || nl[1] != '\t')
			break;
		*d++ = '\n';
		p->used++;
		s = nl + 2; /* the inserted TAB is not part of the text */
		nl = memchr(s, '\n', (size_t)(end - s));
	}
	out->len = (size_t)(d - out->p);
	if (nl == NULL)
		return end;
	return nl + 1;
}

static int parse_stderr(struct dg_pglog *p, const char *rec, size_t len, struct msg *m,
                        const char **why)
{
	const char *end = rec + len, *s, *rest, *nl;
	size_t n;

	nl = memchr(rec, '\n', len);
	rest = prefix(p, rec, (size_t)((nl ? nl : end) - rec), m);
	if (rest == NULL) {
		snprintf(p->why, sizeof p->why,
		         "line does not start with log_line_prefix '%s' and a severity", p->prefix);
		*why = p->why;
		return -1;
	}
	n = marker(rest, end, severities, &m->sev);
	if (n == 0) {
		*why = "a DETAIL, HINT or STATEMENT line without the message it belongs to";
		return -1;
	}
	s = part(p, rest + n, end, &m->text);
	while (s < end) {
		struct msg sub = {0};
		struct dg_str kind, text;
		nl = memchr(s, '\n', (size_t)(end - s));
		rest = prefix(p, s, (size_t)((nl ? nl : end) - s), &sub);
		if (rest == NULL || (n = marker(rest, end, secondaries, &kind)) == 0) {
			*why = "a line inside a message is neither indented nor a DETAIL, HINT or "
			       "STATEMENT line";
			return -1;
		}
		s = part(p, rest + n, end, &text);
		if (kind.len == 9 && memcmp(kind.p, "STATEMENT", 9) == 0)
			m->statement = text;
		else if (kind.len == 6 && memcmp(kind.p, "DETAIL", 6) == 0)
			m->detail = text;
	}
	return 0;
}

/* Reads one double-quoted CSV field at *s ("" inside quotes stands for one quote); quoted
 * contents with doubled quotes are decoded into scratch. False if the field is malformed. */
static bool csv_field(struct dg_pglog *p, const char **s, const char *end, struct dg_str *out)
{
	const char *q = *s;

	if (q < end && *q == '"') {
		const char *start = ++q;
		bool doubled = false;

		for (; q < end; q++) {
			if (*q != '"')
				continue;
			if (q + 1 < end && q[1] == '"') {
				doubled = true;
				q++;
				continue;
			}
			break;
		}
		if (q >= end)
			return false;
		out->p = start;
		out->len = (size_t)(q - start);
		if (doubled) {
			char *d = reserve(p, out->len);

			if (d == NULL)
				return false;
			out->len = 0;
			for (const char *c = start; c < q; c++) {
				d[out->len++] = *c;
				if (*c == '"')
					c++;
			}
			out->p = d;
		}
		q++;
	} else {
		out->p = q;
		while (q < end && *q != ',')
			q++;
		out->len = (size_t)(q - out->p);
	}
	if (q < end && *q != ',')
		return false;
	*s = q < end ? q + 1 : q;
	return true;
}

static int parse_csv(struct dg_pglog *p, const char *rec, size_t len, struct msg *m,
                     const char **why)
{
	const char *s = rec, *end = rec + len;
	struct dg_str f[CSV_FIELDS] = {{0}};
	size_t n = 0;

	while (n < CSV_FIELDS) {
		if (!csv_field(p, &s, end, &f[n])) {
			snprintf(p->why, sizeof p->why, "csvlog: column %zu is badly quoted",
			         n + 1);
			*why = p->why;
			return -1;
		}
		n++;
		if (s >= end && (s == rec || s[-1] != ','))
			break;
	}
	if (n < 23 || s < end) {
		snprintf(p->why, sizeof p->why, "csvlog: %s columns (PostgreSQL writes 23 to 26)",
		         s < end ? "too many" : "too few");
		*why = p->why;
		return -1;
	}
	m->ts = f[0];
	m->pid = f[3];
	m->user = f[1];
	m->db = f[2];
	m->host = f[4];
	m->sev = f[11];
	m->state = f[12];
	m->text = f[13];
	m->statement = f[19];
	m->detail = f[14];
	m->app = f[22];
	return 0;
}

static int parse_json(struct dg_pglog *p, const char *rec, size_t len, struct msg *m,
                      const char **why)
{
	int n = dg_json_parse(p->json, rec, len, why);
	const struct dg_json_tok *t = dg_json_tokens(p->json);
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {{"timestamp", offsetof(struct msg, ts)},
	            {"user", offsetof(struct msg, user)},
	            {"dbname", offsetof(struct msg, db)},
	            {"remote_host", offsetof(struct msg, host)},
	            {"error_severity", offsetof(struct msg, sev)},
	            {"state_code", offsetof(struct msg, state)},
	            {"message", offsetof(struct msg, text)},
	            {"statement", offsetof(struct msg, statement)},
	            {"detail", offsetof(struct msg, detail)},
	            {"application_name", offsetof(struct msg, app)}};

	if (n < 0)
		return -1;
	for (unsigned i = 1; i < (unsigned)n; i = t[i + 1].next) {
		const char *k = rec + t[i].start;
		size_t klen = t[i].end - t[i].start;

		for (size_t j = 0; j < sizeof keys / sizeof keys[0]; j++) {
			struct dg_str *v = (struct dg_str *)((char *)m + keys[j].off);
			const char *s = rec + t[i + 1].start;
			size_t vlen = t[i + 1].end - t[i + 1].start;

			if (klen == 3 && memcmp(k, "pid", 3) == 0 &&
			    t[i + 1].type == DG_JSON_NUMBER) {
				m->pid.p = s;
				m->pid.len = vlen;
				break;
			}
			if (strlen(keys[j].key) != klen || memcmp(keys[j].key, k, klen) != 0 ||
			    t[i + 1].type != DG_JSON_STRING)
				continue;
			if (memchr(s, '\\', vlen) != NULL) {
				char *d = reserve(p, vlen);

				if (d == NULL)
					break;
				vlen = dg_json_unescape(s, vlen, d);
				s = d;
			}
			v->p = s;
			v->len = vlen;
			break;
		}
	}
	if (m->ts.len == 0 || m->sev.len == 0) {
		*why = "jsonlog: a record without timestamp or error_severity";
		return -1;
	}
	return 0;
}

/* Searches text for needle; returns the position after it, or NULL. */
static const char *find(const struct dg_str *text, const char *needle)
{
	size_t n = strlen(needle);
	const char *at = text->len ? memmem(text->p, text->len, needle, n) : NULL;

	return at ? at + n : NULL;
}

/* The user a connection message names: user=NAME or user "NAME". */
static struct dg_str message_user(const struct dg_str *text)
{
	struct dg_str u = {NULL, 0};
	const char *s, *end;

	if (text->p == NULL)
		return u;
	end = text->p + text->len;

	if ((s = find(text, "user \"")) != NULL) {
		const char *q = memchr(s, '"', (size_t)(end - s));

		if (q != NULL)
			u.p = s, u.len = (size_t)(q - s);
	} else if ((s = find(text, "user=")) != NULL) {
		const char *e = s;

		while (e < end && *e != ' ')
			e++;
		u.p = s, u.len = (size_t)(e - s);
	}
	return u;
}

static void set_common(struct dg_evt *evt, const struct msg *m)
{
	struct dg_str host = m->host;
	const char *paren;

	dg_evt_set(evt, DG_F_TIMESTAMP, m->ts.p, m->ts.len);
	dg_evt_set(evt, DG_F_DB_SYSTEM, "postgresql", 10);
	dg_evt_set(evt, DG_F_SERVICE_NAME, "postgresql", 10);
	if (!dg_str_is(&m->user, "[unknown]"))
		dg_evt_set(evt, DG_F_USER_NAME, m->user.p, m->user.len);
	if (!dg_str_is(&m->db, "[unknown]"))
		dg_evt_set(evt, DG_F_DB_NAMESPACE, m->db.p, m->db.len);
	/* %r is "host(port)", csvlog's connection_from "host:port"; [local] is a socket */
	if ((paren = memchr(host.p ? host.p : "", '(', host.len)) != NULL)
		host.len = (size_t)(paren - host.p);
	else if (host.len > 0 && memchr(host.p, '.', host.len) != NULL &&
	         (paren = memchr(host.p, ':', host.len)) != NULL)
		host.len = (size_t)(paren - host.p);
	if (host.len > 0 && host.p[0] != '[')
		dg_evt_set(evt, DG_F_SOURCE_IP, host.p, host.len);
	if (m->app.len > 0 && !dg_str_is(&m->app, "[unknown]"))
		dg_evt_set(evt, DG_F_DB_APPLICATION, m->app.p, m->app.len);
}

static bool timestamp(const struct dg_pglog *p, const struct msg *m, int64_t *ms_out)
{
	if (m->epoch) {
		int64_t sec = 0, ms = 0;
		size_t i = 0, frac = 0;

		if (m->ts.len == 0 || m->ts.len > 16 || m->ts.p[0] == '.')
			return false;
		for (; i < m->ts.len && m->ts.p[i] != '.'; i++)
			sec = sec * 10 + (m->ts.p[i] - '0');
		if (i > 12) /* beyond the year 33658: not a time */
			return false;
		for (i++; i < m->ts.len && frac < 3 && m->ts.p[i] != '.'; i++, frac++)
			ms = ms * 10 + (m->ts.p[i] - '0');
		for (; frac < 3; frac++)
			ms *= 10;
		*ms_out = sec * 1000 + ms;
		return true;
	}
	{
		int64_t local;
		bool zoned;
		int minutes;

		if (!dg_ts_parse_local(m->ts.p, m->ts.len, &local, &zoned, &minutes))
			return false;
		*ms_out = zoned ? local - (int64_t)minutes * 60000 : dg_tz_to_utc(p->tz, local);
		return true;
	}
}

/* Scans a statement into sql (names in the parser's scratch); fills the event's verb,
 * columns and, for a statement alone, its action. */
static void scan_statement(struct dg_pglog *p, struct dg_evt *evt, const struct dg_str *stmt,
                           struct dg_sql *sql)
{
	dg_sql_scan(DG_SQL_POSTGRESQL, stmt->p, stmt->len, "", 0, p->scratch + p->used,
	            p->cap - p->used, sql);
	p->used += sql->scratch_used;
	if (sql->verb.len > 0)
		dg_evt_set(evt, DG_F_DB_OPERATION, sql->verb.p, sql->verb.len);
	if (sql->audit != DG_SQL_AUDIT_NONE)
		dg_evt_set(evt, DG_F_AUDIT_CHANGE, dg_sql_audit_name(sql->audit),
		           strlen(dg_sql_audit_name(sql->audit)));
}

static void set_columns(struct dg_evt *evt, const struct dg_sql *sql)
{
	for (size_t i = 0; i < sql->ncolumns; i++)
		dg_evt_push(evt, DG_F_DB_COLUMNS, sql->columns[i].p, sql->columns[i].len);
}

/* A denied statement, which pgaudit never logs: its objects from its text. */
static void from_statement(struct dg_pglog *p, struct dg_evt *evt, const struct dg_str *stmt)
{
	struct dg_sql sql;

	scan_statement(p, evt, stmt, &sql);
	set_columns(evt, &sql);
	if (sql.action != NULL)
		dg_evt_set(evt, DG_F_EVENT_ACTION, sql.action, strlen(sql.action));
	if (sql.setting.len > 0)
		dg_evt_set(evt, DG_F_OBJECT, sql.setting.p, sql.setting.len);
	for (size_t i = 0; sql.setting.len == 0 && i < sql.ntables; i++) {
		if (i == 0)
			dg_evt_set(evt, DG_F_OBJECT, sql.tables[0].p, sql.tables[0].len);
		dg_evt_add_object(evt, sql.tables[i].p, sql.tables[i].len,
		                  dg_sql_table_action(&sql, i), 0);
	}
}

static void set_collection(struct dg_evt *evt)
{
	const struct dg_str *obj = dg_evt_str(evt, DG_F_OBJECT);
	const char *dot;

	if (obj == NULL)
		return;
	dot = memchr(obj->p, '.', obj->len);
	if (dot != NULL)
		dg_evt_set(evt, DG_F_DB_COLLECTION, dot + 1, obj->len - (size_t)(dot + 1 - obj->p));
	else
		dg_evt_set(evt, DG_F_DB_COLLECTION, obj->p, obj->len);
}

/* Appends at most 20 bytes of part and a separator to the key at *n. */
static void key_part(char key[STMT_KEY], size_t *n, const struct dg_str *part, char sep)
{
	size_t len = part->len < 20 ? part->len : 20;

	if (len > 0)
		memcpy(key + *n, part->p, len);
	*n += len;
	key[(*n)++] = sep;
}

/* The slot of a statement of a backend; *key gets its key, "pid/statement/substatement" (built
 * by hand: snprintf cost more than the rest of a record's parse). */
static struct stmt *stmt_slot(struct dg_pglog *p, const struct dg_str *pid, const struct dg_str *id,
                              const struct dg_str *sub, char key[STMT_KEY])
{
	uint64_t h = 14695981039346656037ULL;
	size_t n = 0;

	key_part(key, &n, pid, '/');
	key_part(key, &n, id, '/');
	key_part(key, &n, sub, '\0');
	for (size_t i = 0; i + 1 < n; i++)
		h = (h ^ (unsigned char)key[i]) * 1099511628211ULL;
	memset(key + n, 0, STMT_KEY - n);
	return &p->stmts[h % STMT_SLOTS];
}

/* With pgaudit.log_statement_once, only a statement's first record carries its text: remember
 * it per backend, and give it to the records that say <previously logged>. Lost across a
 * restart, when such records keep their action and object but no text. */
static void statement_once(struct dg_pglog *p, const struct msg *m, struct dg_str f[])
{
	char key[STMT_KEY];
	struct stmt *st;

	if (m->pid.len == 0)
		return;
	st = stmt_slot(p, &m->pid, &f[1], &f[2], key);
	if (dg_str_is(&f[7], "<previously logged>")) {
		if (strcmp(st->key, key) == 0) {
			f[7].p = st->text;
			f[7].len = st->len;
		}
		return;
	}
	if (dg_str_is(&f[7], "<not logged>") || f[7].len > p->max_record || f[7].len == 0)
		return;
	if (st->cap < f[7].len) {
		st->cap = f[7].len < 256 ? 256 : f[7].len;
		st->text = dg_xreallocarray(st->text, st->cap, 1);
	}
	memcpy(st->text, f[7].p, f[7].len);
	st->len = f[7].len;
	memcpy(st->key, key, sizeof key);
}

static uint64_t name_hash(const struct dg_str *sub, const char *p, size_t len)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; sub != NULL && i < sub->len; i++)
		h = (h ^ (unsigned char)sub->p[i]) * 1099511628211ULL;
	h = (h ^ '/') * 1099511628211ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	return h;
}

static bool parse_u64(const struct dg_str *s, uint64_t *out)
{
	return dg_ts_uint(s->p, s->len, out);
}

/* The state of the backend that wrote m, moved on to statement id; NULL when the record does
 * not say which backend (a log_line_prefix without %p). */
static struct backend *backend(struct dg_pglog *p, const struct msg *m, const struct dg_str *id)
{
	struct backend *be;
	uint64_t pid, stmt = 0;

	if (!parse_u64(&m->pid, &pid))
		return NULL;
	be = &p->backends[pid % BACKENDS];
	if (!be->used || be->pid != pid) {
		memset(be, 0, sizeof *be);
		be->used = true;
		be->pid = pid;
	}
	if (id != NULL && parse_u64(id, &stmt) && stmt != be->stmt) {
		be->stmt = stmt;
		be->nseen = 0;
		be->view_len = 0;
	}
	return be;
}

/* Whether the statement already gave an event for the object: pgaudit writes an OBJECT and a
 * SESSION record for the same access when both are on, and the same action on a name read
 * from the statement text (sub NULL) repeats what the records of its other substatements
 * named. Remembers it. */
static bool seen(struct backend *be, const struct dg_str *sub, const char *name, size_t len,
                 const char *action)
{
	struct dg_str a = {action ? action : "", action ? strlen(action) : 0};
	uint64_t h = name_hash(sub, name, len), any = name_hash(&a, name, len);

	if (be == NULL)
		return false;
	for (unsigned i = 0; i < be->nseen; i++)
		if (sub != NULL ? be->seen[i] == h : be->seen_any[i] == any)
			return true;
	if (be->nseen < SEEN) {
		be->seen[be->nseen] = h;
		be->seen_any[be->nseen++] = any;
	}
	return false;
}

/* Whether the statement names the object ("core.customers" or unqualified "customers"). */
static bool names(const struct dg_sql *sql, const struct dg_str *obj)
{
	const char *dot = memchr(obj->p, '.', obj->len);
	size_t tail = dot ? obj->len - (size_t)(dot + 1 - obj->p) : obj->len;

	for (size_t i = 0; i < sql->ntables; i++) {
		const struct dg_str *t = &sql->tables[i];

		if ((t->len == obj->len && memcmp(t->p, obj->p, t->len) == 0) ||
		    (dot != NULL && memchr(t->p, '.', t->len) == NULL && t->len == tail &&
		     memcmp(t->p, dot + 1, tail) == 0))
			return true;
	}
	return false;
}

/* The queries PostgreSQL runs itself to check foreign keys: not accesses by the user. */
static bool referential_check(const struct dg_str *text)
{
	return (dg_str_starts(text, "SELECT 1 FROM ONLY ") &&
	        (find(text, " FOR KEY SHARE OF ") || find(text, " FOR SHARE OF "))) ||
	       (dg_str_starts(text, "SELECT fk.") && find(text, " LEFT OUTER JOIN ONLY ") != NULL);
}

/* pgaudit's class and command decide the action on the object a record names; the statement
 * text refines a read into an export (COPY ... TO, a dump) and a change of settings into
 * admin, and decides alone for the classes that say nothing of data (MISC, FUNCTION). */
static const char *class_action(const struct dg_str *cls, const struct dg_str *cmd,
                                const char *text, bool dump)
{
	bool admin = text != NULL && strcmp(text, "admin") == 0;
	const char *a;

	if (dg_str_is(cls, "READ"))
		a = dg_str_is(cmd, "COPY") || (text != NULL && strcmp(text, "export") == 0)
		        ? "export"
		        : "read";
	else if (dg_str_is(cls, "WRITE"))
		a = dg_str_is(cmd, "DELETE") || dg_str_is(cmd, "TRUNCATE") ? "delete" : "write";
	else if (dg_str_is(cls, "ROLE"))
		a = admin ? "admin" : "grant";
	else if (dg_str_is(cls, "DDL"))
		a = admin ? "admin" : "ddl";
	else
		a = text;
	if (dump && a != NULL && strcmp(a, "read") == 0)
		a = "export";
	return a;
}

/* "AUDIT: SESSION,1,1,READ,SELECT,TABLE,public.t,statement,parameters[,rows]" */
static int audit(struct dg_pglog *p, const struct msg *m, struct dg_evt *evt, const char **why)
{
	const struct dg_str *text = &m->text;
	const char *s = text->p + 7, *end = text->p + text->len;
	struct dg_str f[10] = {{0}};
	struct dg_sql sql;
	struct backend *be;
	const char *action;
	size_t n = 0;
	bool dump = dg_str_starts(&m->app, "pg_dump");

	while (n < 10 && s < end) {
		if (!csv_field(p, &s, end, &f[n])) {
			snprintf(p->why, sizeof p->why, "pgaudit: field %zu is badly quoted",
			         n + 1);
			*why = p->why;
			return -1;
		}
		n++;
	}
	if (n < 9 || s < end || !(dg_str_is(&f[0], "SESSION") || dg_str_is(&f[0], "OBJECT"))) {
		*why = "pgaudit: an AUDIT record without its nine or ten fields";
		return -1;
	}
	if (n == 10 && (f[9].len == 0 || f[9].len > 18 || !digits_only(f[9].p, f[9].len))) {
		*why = "pgaudit: the row count is not a number";
		return -1;
	}
	be = backend(p, m, &f[1]);
	dg_evt_set(evt, DG_F_EVENT_OUTCOME, "success", 7);
	dg_evt_set(evt, DG_F_AUDIT_CLASS, f[3].p, f[3].len);
	statement_once(p, m, f);
	if (!dg_str_is(&f[7], "<previously logged>") && !dg_str_is(&f[7], "<not logged>")) {
		if (referential_check(&f[7]))
			return 0;
		dg_evt_set(evt, DG_F_DB_QUERY, f[7].p, f[7].len);
	}
	if (dg_str_is(&f[4], "PREPARE") || dg_str_is(&f[4], "DEALLOCATE") ||
	    dg_str_is(&f[4], "EXPLAIN")) {
		/* preparing touches no data; pgaudit logs the execution on its own */
		memset(&sql, 0, sizeof sql);
	} else {
		/* the text, or the command alone ("SELECT", "GRANT") */
		scan_statement(p, evt, dg_evt_has(evt, DG_F_DB_QUERY) ? &f[7] : &f[4], &sql);
	}
	dg_evt_set(evt, DG_F_DB_OPERATION, f[4].p, f[4].len);
	action = dg_str_is(&f[4], "PREPARE") ? NULL : class_action(&f[3], &f[4], sql.action, dump);
	if (action != NULL)
		dg_evt_set(evt, DG_F_EVENT_ACTION, action, strlen(action));
	if (f[6].len > 0) {
		/* pgaudit names the object: the statement's text decides nothing about it */
		if (seen(be, &f[2], f[6].p, f[6].len, action))
			return 0;
		if (be != NULL && dg_str_is(&f[5], "VIEW") && f[6].len < NAME_CAP) {
			memcpy(be->view, f[6].p, f[6].len);
			be->view_len = f[6].len;
		}
		dg_evt_set(evt, DG_F_OBJECT, f[6].p, f[6].len);
		set_columns(evt, &sql);
		if (be != NULL && be->view_len > 0 && !dg_str_is(&f[5], "VIEW") &&
		    !names(&sql, &f[6])) {
			/* a table the statement reads only through a view it names */
			dg_evt_add_object(evt, f[6].p, f[6].len, action, DG_OBJ_INDIRECT);
			evt->objects[0].via = (struct dg_str){be->view, be->view_len};
		}
	} else {
		size_t added = 0;

		set_columns(evt, &sql);
		if (sql.setting.len > 0)
			dg_evt_set(evt, DG_F_OBJECT, sql.setting.p, sql.setting.len);
		for (size_t i = 0; sql.setting.len == 0 && i < sql.ntables; i++) {
			const char *a =
			    sql.table_granted[i] ? "grant"
			    : sql.table_read[i]
			        ? class_action(&(struct dg_str){"READ", 4}, &f[4], sql.action, dump)
			        : action;

			if (seen(be, NULL, sql.tables[i].p, sql.tables[i].len, a))
				continue;
			if (added++ == 0)
				dg_evt_set(evt, DG_F_OBJECT, sql.tables[i].p, sql.tables[i].len);
			dg_evt_add_object(evt, sql.tables[i].p, sql.tables[i].len, a, 0);
		}
		if (sql.ntables > 0 && added == 0)
			return 0; /* every table it names has its event from another record */
	}
	if (action != NULL && strcmp(action, "set_role") == 0) {
		const struct dg_str *who = sql.role.len > 0 ? &sql.role : &m->user;

		if (be != NULL) {
			be->role_len = sql.role.len < NAME_CAP ? sql.role.len : 0;
			memcpy(be->role, sql.role.p ? sql.role.p : "", be->role_len);
		}
		dg_evt_set(evt, DG_F_USER_EFFECTIVE, who->p, who->len);
	} else if (be != NULL && be->role_len > 0) {
		dg_evt_set(evt, DG_F_USER_EFFECTIVE, be->role, be->role_len);
	}
	set_collection(evt);
	if (n == 10) {
		int64_t rows = 0;

		for (size_t i = 0; i < f[9].len; i++)
			rows = rows * 10 + (f[9].p[i] - '0');
		dg_evt_set_int(evt, DG_F_RECORDS, rows, f[9].p, f[9].len);
	}
	return 1;
}

static int to_event(struct dg_pglog *p, struct msg *m, struct dg_evt *evt, const char **why)
{
	dg_evt_clear(evt);
	if (!timestamp(p, m, &evt->ts_ms)) {
		*why = "a record whose time cannot be read";
		return -1;
	}
	set_common(evt, m);
	if (dg_str_is(&m->sev, "LOG") && dg_str_starts(&m->text, "AUDIT: "))
		return audit(p, m, evt, why);
	if (dg_str_is(&m->sev, "LOG") && dg_str_starts(&m->text, "connection authorized: ")) {
		dg_evt_set(evt, DG_F_EVENT_ACTION, "login", 5);
		dg_evt_set(evt, DG_F_EVENT_OUTCOME, "success", 7);
	} else if (dg_str_is(&m->sev, "FATAL") &&
	           (p->failed_login || dg_str_is(&m->state, "28P01") ||
	            dg_str_is(&m->state, "28000") ||
	            find(&m->text, "authentication failed for user") != NULL ||
	            dg_str_starts(&m->text, "no pg_hba.conf entry for") ||
	            (dg_str_starts(&m->text, "role \"") && find(&m->text, "\" does not exist")))) {
		dg_evt_set(evt, DG_F_EVENT_ACTION, "login", 5);
		dg_evt_set(evt, DG_F_EVENT_OUTCOME, "failure", 7);
		dg_evt_set(evt, DG_F_MESSAGE, m->text.p, m->text.len);
		/* a scanner trying names: the server says the role is not there (with a password
		 * method, in the DETAIL line, which the client never sees) */
		if ((dg_str_starts(&m->text, "role \"") && find(&m->text, "\" does not exist")) ||
		    (dg_str_starts(&m->detail, "Role \"") && find(&m->detail, "\" does not exist")))
			dg_evt_set(evt, DG_F_EVENT_REASON, "unknown_account", 15);
		else if (dg_str_is(&m->state, "3D000") || (dg_str_starts(&m->text, "database \"") &&
		                                           find(&m->text, "\" does not exist")))
			dg_evt_set(evt, DG_F_EVENT_REASON, "unknown_database", 16);
	} else if (dg_str_is(&m->sev, "ERROR") && (dg_str_is(&m->state, "42501") ||
	                                           dg_str_starts(&m->text, "permission denied"))) {
		/* pgaudit writes nothing for a denied statement: this is the only trace */
		dg_evt_set(evt, DG_F_EVENT_OUTCOME, "failure", 7);
		dg_evt_set(evt, DG_F_MESSAGE, m->text.p, m->text.len);
		if (m->statement.len > 0) {
			dg_evt_set(evt, DG_F_DB_QUERY, m->statement.p, m->statement.len);
			from_statement(p, evt, &m->statement);
			set_collection(evt);
		}
	} else {
		return 0;
	}
	if (!dg_evt_has(evt, DG_F_USER_NAME)) {
		struct dg_str u = message_user(&m->text);

		dg_evt_set(evt, DG_F_USER_NAME, u.p, u.len);
	}
	return 1;
}

static void count_pending(struct dg_pglog *p)
{
	p->npending = 0;
	for (unsigned i = 0; i < PENDING; i++)
		p->npending += p->pending[i].used;
}

static void release(struct dg_pglog *p, unsigned i)
{
	if (p->nreleased < PENDING)
		p->released[p->nreleased++] = i;
}

/* Held logins: a FATAL of their backend makes one a failed login (the FATAL's event); any
 * other record of it, or a record written more than PENDING_MS later, lets it stand. Returns
 * true when this record is the authorized message itself, now held. */
static bool hold_login(struct dg_pglog *p, const struct msg *m, const char *rec, size_t len)
{
	uint64_t pid = 0;
	bool have_pid = parse_u64(&m->pid, &pid);
	int64_t when;
	unsigned free_slot = PENDING, oldest = PENDING;
	bool authorized =
	    dg_str_is(&m->sev, "LOG") && dg_str_starts(&m->text, "connection authorized: ");

	if (p->no_defer || (p->npending == 0 && !authorized) || !timestamp(p, m, &when))
		return false;
	for (unsigned i = 0; i < PENDING; i++) {
		struct pending *pe = &p->pending[i];

		if (!pe->used) {
			free_slot = i;
			continue;
		}
		if (have_pid && pe->pid == pid && dg_str_is(&m->sev, "FATAL")) {
			pe->used = false; /* the FATAL is the login's outcome */
			p->failed_login = true;
			free_slot = i;
		} else if ((have_pid && pe->pid == pid) || when - pe->ts_ms > PENDING_MS) {
			pe->used = false;
			release(p, i);
		} else if (oldest == PENDING || pe->ts_ms < p->pending[oldest].ts_ms) {
			oldest = i;
		}
	}
	if (!have_pid || !authorized || len > PENDING_CAP) {
		count_pending(p);
		return false;
	}
	if (free_slot == PENDING) { /* more logins at once than slots: the oldest stands */
		free_slot = oldest;
		p->pending[oldest].used = false;
		release(p, oldest);
	}
	/* a slot released by this parse keeps its text until the caller has taken it */
	for (unsigned i = 0; i < p->nreleased; i++)
		if (p->released[i] == free_slot)
			return false;
	p->pending[free_slot].used = true;
	p->pending[free_slot].pid = pid;
	p->pending[free_slot].ts_ms = when;
	p->pending[free_slot].ref = p->where;
	p->pending[free_slot].len = len;
	memcpy(p->pending[free_slot].rec, rec, len);
	count_pending(p);
	return true;
}

int dg_pglog_parse(struct dg_pglog *p, const char *rec, size_t len, struct dg_evt *evt,
                   const char **why)
{
	struct msg m = {0};
	int rc;

	p->used = 0;
	p->nreleased = p->next_released = 0;
	p->failed_login = false;
	switch (p->layout) {
	case DG_PGLOG_STDERR:
		rc = parse_stderr(p, rec, len, &m, why);
		break;
	case DG_PGLOG_CSV:
		rc = parse_csv(p, rec, len, &m, why);
		break;
	default:
		rc = parse_json(p, rec, len, &m, why);
		break;
	}
	if (rc < 0)
		return -1;
	if (hold_login(p, &m, rec, len))
		return 0;
	return to_event(p, &m, evt, why);
}

void dg_pglog_where(struct dg_pglog *p, const struct dg_ref *ref)
{
	p->where = *ref;
}

void dg_pglog_settle(struct dg_pglog *p)
{
	p->nreleased = p->next_released = 0;
	for (unsigned i = 0; i < PENDING; i++)
		if (p->pending[i].used) {
			p->pending[i].used = false;
			release(p, i);
		}
	p->npending = 0;
}

bool dg_pglog_released(struct dg_pglog *p, struct dg_evt *evt, struct dg_ref *ref)
{
	const char *why;
	char *cause = NULL;

	while (p->next_released < p->nreleased) {
		const struct pending *pe = &p->pending[p->released[p->next_released++]];

		if (p->shadow == NULL) {
			p->shadow = dg_pglog_new(p->layout, p->prefix, p->tz, PENDING_CAP, &cause);
			free(cause);
			if (p->shadow == NULL)
				return false;
			p->shadow->no_defer = true;
		}
		if (dg_pglog_parse(p->shadow, pe->rec, pe->len, evt, &why) == 1) {
			*ref = pe->ref;
			return true;
		}
	}
	return false;
}
