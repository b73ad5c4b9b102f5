#include "dgaudit/sql.h"

#include <string.h>
#include <strings.h>

enum tk { T_END, T_WORD, T_QIDENT, T_STR, T_NUM, T_PUNCT };

struct tok {
	enum tk t;
	const char *p;
	size_t len;
	int depth; /* parenthesis depth before the token */
	bool exec; /* inside a MariaDB executable comment */
};

struct lex {
	const char *s, *end;
	enum dg_sql_dialect dialect;
	int depth;
	int exec; /* MariaDB executable comments open: their text is code */
};

struct scan {
	struct lex lx;
	struct dg_sql *out;
	const char *schema;
	size_t schema_len;
	char *scratch;
	size_t cap, used;
	bool reading;        /* tables met now are read, not the statement's target */
	struct dg_str value; /* of the setting a SET changes */
	bool granting;       /* tables met now are granted on (CREATE SCHEMA ... GRANT) */
	struct tok ctes[8];  /* names the WITH clause defines: not tables */
	size_t nctes;
};

static bool word_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '$' || c >= 0x80;
}

/* Skips a quoted run opened by q at s; returns the position after the closing quote. A doubled
 * quote stands for itself; in MariaDB text a backslash escapes the next byte. */
static const char *skip_quoted(const struct lex *lx, const char *s, char q)
{
	for (s++; s < lx->end; s++) {
		if (*s == '\\' && lx->dialect == DG_SQL_MARIADB && q != '`' && s + 1 < lx->end) {
			s++;
		} else if (*s == q) {
			if (s + 1 < lx->end && s[1] == q)
				s++;
			else
				return s + 1;
		}
	}
	return lx->end;
}

/* $tag$ ... $tag$ (PostgreSQL); returns NULL if s does not open one. */
static const char *skip_dollar(const struct lex *lx, const char *s)
{
	const char *t = s + 1;
	size_t taglen;

	while (t < lx->end && *t != '$' && word_char((unsigned char)*t) && *t != '$')
		t++;
	if (t >= lx->end || *t != '$')
		return NULL;
	taglen = (size_t)(t - s) + 1;
	for (const char *u = t + 1; u + taglen <= lx->end; u++)
		if (*u == '$' && memcmp(u, s, taglen) == 0)
			return u + taglen;
	return lx->end;
}

static struct tok next(struct lex *lx)
{
	const char *s = lx->s;
	struct tok t = {T_END, NULL, 0, 0, false};

	for (;;) {
		while (s < lx->end && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
			s++;
		/* one byte decides which of these it may be: most tokens are none */
		if (s + 1 >= lx->end || (*s != '-' && *s != '/' && *s != '*' && *s != '#'))
			break;
		if (s[0] == '-' && s[1] == '-') {
			while (s < lx->end && *s != '\n')
				s++;
		} else if (s[0] == '/' && s[1] == '*' && lx->dialect == DG_SQL_MARIADB &&
		           lx->end - s >= 3 &&
		           (s[2] == '!' || (s[2] == 'M' && lx->end - s >= 4 && s[3] == '!'))) {
			/* slash-star-bang NNNNN ... star-slash is code the server runs (mysqldump
			 * writes its SQL_NO_CACHE so) */
			s += s[2] == '!' ? 3 : 4;
			while (s < lx->end && *s >= '0' && *s <= '9')
				s++;
			lx->exec++;
		} else if (s[0] == '*' && s[1] == '/' && lx->exec > 0) {
			s += 2;
			lx->exec--;
		} else if (s[0] == '/' && s[1] == '*') {
			const char *e = s + 2;

			while (e + 1 < lx->end && !(e[0] == '*' && e[1] == '/'))
				e++;
			s = e + 1 < lx->end ? e + 2 : lx->end;
		} else if (*s == '#' && lx->dialect == DG_SQL_MARIADB) {
			while (s < lx->end && *s != '\n')
				s++;
		} else {
			break;
		}
	}
	t.depth = lx->depth;
	t.exec = lx->exec > 0;
	if (s >= lx->end) {
		lx->s = s;
		return t;
	}
	t.p = s;
	if (*s == '\'') {
		t.t = T_STR;
		s = skip_quoted(lx, s, '\'');
	} else if (*s == '"' || *s == '`') {
		t.t = lx->dialect == DG_SQL_MARIADB && *s == '"' ? T_STR : T_QIDENT;
		s = skip_quoted(lx, s, *s);
	} else if (*s == '$' && lx->dialect == DG_SQL_POSTGRESQL && skip_dollar(lx, s) != NULL) {
		t.t = T_STR;
		s = skip_dollar(lx, s);
	} else if (*s >= '0' && *s <= '9') {
		t.t = T_NUM;
		while (s < lx->end && (word_char((unsigned char)*s) || *s == '.'))
			s++;
	} else if (word_char((unsigned char)*s)) {
		t.t = T_WORD;
		while (s < lx->end && word_char((unsigned char)*s))
			s++;
	} else {
		t.t = T_PUNCT;
		if (*s == '(')
			lx->depth++;
		else if (*s == ')' && lx->depth > 0)
			lx->depth--;
		s++;
	}
	t.len = (size_t)(s - t.p);
	lx->s = s;
	return t;
}

static struct tok peek(const struct lex *lx)
{
	struct lex copy = *lx;

	return next(&copy);
}

static bool is_n(struct tok t, const char *kw, size_t n)
{
	return t.t == T_WORD && t.len == n && strncasecmp(t.p, kw, n) == 0;
}

/* A keyword, always a literal: its length is known when compiling (most tokens differ in
 * length from the keyword asked about, and are refused on that alone). */
#define is(t, kw) is_n((t), "" kw "", sizeof(kw) - 1)

/* A keyword from a table (lower case): the first letter refuses most words before strlen. */
static bool is_s(struct tok t, const char *kw)
{
	return t.t == T_WORD && t.len > 0 && (t.p[0] | 0x20) == kw[0] && is_n(t, kw, strlen(kw));
}

static bool is_punct(struct tok t, char c)
{
	return t.t == T_PUNCT && t.p[0] == c;
}

static bool is_ident(struct tok t)
{
	return t.t == T_WORD || t.t == T_QIDENT;
}

/* Appends an identifier to scratch: unquoted ones fold to lower case, as both servers name
 * them in their audit records. */
static bool put_ident(struct scan *sc, struct tok t)
{
	const char *p = t.p;
	size_t len = t.len;

	if (t.t == T_QIDENT) {
		p++;
		len = len >= 2 ? len - 2 : 0;
	}
	if (sc->used + len > sc->cap)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];

		if (t.t == T_WORD && c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		sc->scratch[sc->used++] = c;
	}
	return true;
}

static bool put(struct scan *sc, const char *p, size_t len)
{
	if (sc->used + len > sc->cap)
		return false;
	memcpy(sc->scratch + sc->used, p, len);
	sc->used += len;
	return true;
}

/* Reads a possibly qualified name starting at first (an identifier): up to three parts, of
 * which the last two are kept (database.schema.table names schema.table). Returns the parts. */
static size_t read_name(struct scan *sc, struct tok first, struct tok parts[3])
{
	size_t n = 0;

	parts[n++] = first;
	while (n < 3 && is_punct(peek(&sc->lx), '.')) {
		struct lex save = sc->lx;
		struct tok t;

		next(&sc->lx);
		t = next(&sc->lx);
		if (!is_ident(t)) {
			sc->lx = save;
			break;
		}
		parts[n++] = t;
	}
	return n;
}

/* A table name at first. After FROM and JOIN a name followed by '(' is a function; after
 * INSERT INTO or COPY the parenthesis lists columns. */
static void table_or_call(struct scan *sc, struct tok first, bool maybe_call)
{
	struct tok parts[3];
	size_t n, mark = sc->used;
	struct dg_sql *out = sc->out;

	if (!is_ident(first))
		return;
	n = read_name(sc, first, parts);
	if ((maybe_call && is_punct(peek(&sc->lx), '(')) || out->ntables == DG_SQL_MAX_TABLES)
		return;
	for (size_t i = 0; n == 1 && i < sc->nctes; i++)
		if (sc->ctes[i].len == first.len &&
		    strncasecmp(sc->ctes[i].p, first.p, first.len) == 0)
			return;
	if (n == 1 && sc->schema_len > 0) {
		if (!put(sc, sc->schema, sc->schema_len) || !put(sc, ".", 1))
			goto full;
	}
	for (size_t i = n >= 2 ? n - 2 : 0; i < n; i++)
		if ((i > (n >= 2 ? n - 2 : 0) && !put(sc, ".", 1)) || !put_ident(sc, parts[i]))
			goto full;
	for (size_t i = 0; i < out->ntables; i++)
		if (out->table_granted[i] == sc->granting &&
		    out->tables[i].len == sc->used - mark &&
		    memcmp(out->tables[i].p, sc->scratch + mark, sc->used - mark) == 0) {
			sc->used = mark; /* named twice: once is enough, and the target wins */
			out->table_read[i] &= sc->reading;
			return;
		}
	out->table_read[out->ntables] = sc->reading;
	out->table_granted[out->ntables] = sc->granting;
	out->tables[out->ntables].p = sc->scratch + mark;
	out->tables[out->ntables++].len = sc->used - mark;
	return;
full:
	sc->used = mark;
}

static void table(struct scan *sc, struct tok first)
{
	table_or_call(sc, first, false);
}

static const char *const clause_words[] = {
    "where", "group",  "order",     "limit",  "having", "on",      "using", "join",
    "inner", "left",   "right",     "full",   "cross",  "natural", "union", "into",
    "set",   "values", "returning", "window", "offset", "fetch",   "for",   "lateral",
    "to",    "from",   "with",      "as",     NULL};

static bool clause_word(struct tok t)
{
	for (size_t i = 0; clause_words[i] != NULL; i++)
		if (is_s(t, clause_words[i]))
			return true;
	return false;
}

/* After FROM: a comma-separated list of tables, each with an optional alias. */
static void from_list(struct scan *sc, int depth)
{
	for (;;) {
		struct tok t = next(&sc->lx);

		if (is(t, "only") || is(t, "lateral"))
			t = next(&sc->lx);
		table_or_call(sc, t, true);
		t = peek(&sc->lx);
		if (is(t, "as")) {
			next(&sc->lx);
			t = peek(&sc->lx);
		}
		if (is_ident(t) && !clause_word(t)) {
			next(&sc->lx);
			t = peek(&sc->lx);
		}
		if (!is_punct(t, ',') || t.depth != depth)
			return;
		next(&sc->lx);
	}
}

/* A setting name after SET / RESET: ident(.ident)*, lowercased. */
static void setting(struct scan *sc, struct tok t)
{
	struct tok parts[3];
	size_t n, mark = sc->used;

	if (!is_ident(t))
		return;
	n = read_name(sc, t, parts);
	for (size_t i = 0; i < n; i++)
		if ((i > 0 && !put(sc, ".", 1)) || !put_ident(sc, parts[i])) {
			sc->used = mark;
			return;
		}
	sc->out->setting.p = sc->scratch + mark;
	sc->out->setting.len = sc->used - mark;
}

static bool audit_setting(const struct dg_str *s)
{
	return (s->len >= 8 && memcmp(s->p, "pgaudit.", 8) == 0) ||
	       (s->len == 7 && memcmp(s->p, "pgaudit", 7) == 0) ||
	       (s->len >= 12 && memcmp(s->p, "server_audit", 12) == 0);
}

/* The value after "=" or TO: a word, number or string (its quotes dropped), or "default". */
static struct dg_str *value(struct scan *sc)
{
	static struct dg_str none = {"", 0};
	struct tok t = next(&sc->lx);
	struct dg_str *v = &sc->value;

	if (is_punct(t, '=') || is(t, "to"))
		t = next(&sc->lx);
	if (t.t == T_END || t.t == T_PUNCT)
		return &none;
	*v = (struct dg_str){t.p, t.len};
	if (t.t == T_STR && t.len >= 2 && (t.p[0] == '\'' || t.p[0] == '"'))
		*v = (struct dg_str){t.p + 1, t.len - 2};
	return v;
}

/* Whether the comma-separated list holds item (any case, blanks around items ignored). */
static bool has_item(const struct dg_str *list, const char *item)
{
	const char *s = list->p, *end = list->p + list->len;
	size_t n = strlen(item);

	while (s < end) {
		const char *e = memchr(s, ',', (size_t)(end - s));
		const char *a = s, *b = e ? e : end;

		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if ((size_t)(b - a) == n && strncasecmp(a, item, n) == 0)
			return true;
		s = e ? e + 1 : end;
	}
	return false;
}

static bool has_exclusion(const struct dg_str *list)
{
	for (size_t i = 0; i < list->len; i++)
		if (list->p[i] == '-')
			return true;
	return false;
}

static bool falsy(const struct dg_str *v)
{
	return has_item(v, "off") || has_item(v, "0") || has_item(v, "false") ||
	       has_item(v, "no") || v->len == 0;
}

/* What setting an audit setting to v (NULL: back to its default) does to the trail. Only a
 * change that lowers auditing is tampering; the rest is configuration worth recording. */
static enum dg_sql_audit audit_change(const struct dg_str *setting, const struct dg_str *v)
{
	static const char *const pg_switches[] = {"pgaudit.log_relation", "pgaudit.log_rows",
	                                          "pgaudit.log_parameter", "pgaudit.log_statement",
	                                          NULL};

	if (v != NULL && v->len == 7 && strncasecmp(v->p, "default", 7) == 0)
		v = NULL;
	if (dg_str_is(setting, "pgaudit.log")) {
		/* the default is none; PCI DSS 10.2 wants reads, writes, privileges and DDL */
		if (v == NULL || has_exclusion(v))
			return DG_SQL_AUDIT_REDUCE;
		if (has_item(v, "all") || (has_item(v, "read") && has_item(v, "write") &&
		                           has_item(v, "role") && has_item(v, "ddl")))
			return DG_SQL_AUDIT_INCREASE;
		return DG_SQL_AUDIT_REDUCE;
	}
	for (size_t i = 0; pg_switches[i] != NULL; i++)
		if (dg_str_is(setting, pg_switches[i]))
			return v != NULL && !falsy(v) ? DG_SQL_AUDIT_INCREASE : DG_SQL_AUDIT_REDUCE;
	if (dg_str_is(setting, "pgaudit.role") || dg_str_is(setting, "server_audit_logging"))
		return v != NULL && !falsy(v) ? DG_SQL_AUDIT_INCREASE : DG_SQL_AUDIT_REDUCE;
	if (dg_str_is(setting, "server_audit_events")) {
		/* empty (the default) logs every event */
		if (v == NULL || v->len == 0 ||
		    (has_item(v, "connect") &&
		     (has_item(v, "query") ||
		      (has_item(v, "query_dml") && has_item(v, "query_ddl") &&
		       has_item(v, "query_dcl")))))
			return DG_SQL_AUDIT_INCREASE;
		return DG_SQL_AUDIT_REDUCE;
	}
	if (dg_str_is(setting, "server_audit_excl_users") ||
	    dg_str_is(setting, "server_audit_incl_users"))
		return v == NULL || v->len == 0 ? DG_SQL_AUDIT_INCREASE : DG_SQL_AUDIT_REDUCE;
	if (dg_str_is(setting, "server_audit_file_path") ||
	    dg_str_is(setting, "server_audit_output_type"))
		return DG_SQL_AUDIT_REDUCE; /* the trail goes where its collector does not look */
	return DG_SQL_AUDIT_CHANGE;
}

static const char *const non_columns[] = {"distinct",
                                          "all",
                                          "as",
                                          "case",
                                          "when",
                                          "then",
                                          "else",
                                          "end",
                                          "and",
                                          "or",
                                          "not",
                                          "null",
                                          "true",
                                          "false",
                                          "is",
                                          "in",
                                          "like",
                                          "ilike",
                                          "between",
                                          "over",
                                          "partition",
                                          "by",
                                          "filter",
                                          "where",
                                          "interval",
                                          "cast",
                                          "extract",
                                          "current_date",
                                          "current_timestamp",
                                          "now",
                                          NULL};

static bool keyword(struct tok t)
{
	for (size_t i = 0; t.t == T_WORD && non_columns[i] != NULL; i++)
		if (is_s(t, non_columns[i]))
			return true;
	return is(t, "select");
}

/* An identifier in a select list: a column unless it calls a function, qualifies a name, is
 * an alias or a keyword. */
static void column(struct scan *sc, struct tok prev, struct tok t)
{
	struct dg_sql *out = sc->out;
	struct tok nx = peek(&sc->lx);
	size_t mark = sc->used;

	if (!is_ident(t) || is_punct(nx, '(') || is_punct(nx, '.') || is(prev, "as") ||
	    out->ncolumns == DG_SQL_MAX_COLUMNS)
		return;
	if (keyword(t))
		return;
	/* "SELECT a b" and "CASE ... END b": b names what comes before */
	if (((is_ident(prev) && !keyword(prev)) || is(prev, "end")) && prev.depth == t.depth)
		return;
	if (!put_ident(sc, t))
		return;
	for (size_t i = 0; i < out->ncolumns; i++)
		if (out->columns[i].len == sc->used - mark &&
		    memcmp(out->columns[i].p, sc->scratch + mark, sc->used - mark) == 0) {
			sc->used = mark;
			return;
		}
	out->columns[out->ncolumns].p = sc->scratch + mark;
	out->columns[out->ncolumns++].len = sc->used - mark;
}

static void star(struct scan *sc)
{
	struct dg_sql *out = sc->out;

	out->select_star = true;
	if (out->ncolumns < DG_SQL_MAX_COLUMNS) {
		out->columns[out->ncolumns].p = "*";
		out->columns[out->ncolumns++].len = 1;
	}
}

/* The rest of a SELECT (or the query part of another statement): tables after FROM and JOIN at
 * any depth, '*' in the top-level select list, INTO OUTFILE. In another statement, the SELECT
 * at its top level (INSERT ... SELECT) has its select list read too. */
static void query_body(struct scan *sc, struct tok prev, int top, bool select_list)
{
	const bool select = select_list; /* only a SELECT writes INTO OUTFILE */
	bool listed = select_list;
	struct tok t;

	while ((t = next(&sc->lx)).t != T_END) {
		if (t.exec && is(t, "sql_no_cache"))
			sc->out->dump = true;
		if (!listed && is(t, "select") && t.depth == top) {
			listed = select_list = true;
			prev = t;
			continue;
		}
		if (select_list && t.depth == top) {
			if (is(t, "from") || is(t, "into"))
				select_list = false;
			else if (is_punct(t, '*') &&
			         (is(prev, "select") || is(prev, "distinct") || is(prev, "all") ||
			          is_punct(prev, ',') || is_punct(prev, '.')))
				star(sc);
		}
		if (select_list && t.depth >= top)
			column(sc, prev, t);
		if (is(t, "from") || is(t, "join") ||
		    (is(t, "using") && t.depth == top && !is_punct(peek(&sc->lx), '('))) {
			from_list(sc, t.depth); /* USING: DELETE's other tables */
		} else if (is(t, "into") && t.depth == top) {
			struct tok u = peek(&sc->lx);

			if (select && (is(u, "outfile") || is(u, "dumpfile")))
				sc->out->action = "export";
		} else if (is(t, "select") && t.depth > top) {
			prev = t;
			continue;
		}
		prev = t;
	}
}

static void skip_if_exists(struct scan *sc)
{
	struct tok t = peek(&sc->lx);

	if (is(t, "if")) {
		next(&sc->lx);
		if (is(peek(&sc->lx), "not"))
			next(&sc->lx);
		next(&sc->lx); /* EXISTS */
	}
}

/* CREATE TABLE t [(...)] AS query (MariaDB: the AS may go): the query's tables are read. */
static void create_as(struct scan *sc)
{
	struct tok t;

	while ((t = next(&sc->lx)).t != T_END) {
		if (t.depth != 0)
			continue;
		if (is(t, "as"))
			t = next(&sc->lx);
		if (is(t, "with") || is(t, "table") || is(t, "values") || is(t, "select")) {
			sc->reading = true;
			if (is(t, "table"))
				table(sc, next(&sc->lx));
			query_body(sc, t, t.depth, is(t, "select"));
			return;
		}
	}
}

static void grant(struct scan *sc);

/* CREATE SCHEMA s [AUTHORIZATION r] elements: the tables it creates, and those its GRANT
 * elements grant on (unqualified names are the new schema's). */
static void create_schema(struct scan *sc)
{
	struct dg_sql *out = sc->out;
	struct tok t = next(&sc->lx), name = t;
	char schema[64];
	size_t n = 0;

	if (is(t, "if")) {
		sc->lx.s = t.p; /* IF NOT EXISTS */
		skip_if_exists(sc);
		name = t = next(&sc->lx);
	}
	if (!is_ident(name) || name.len >= sizeof schema)
		return;
	for (size_t i = 0; i < name.len; i++) /* folded as put_ident folds */
		schema[n++] = name.t == T_WORD && name.p[i] >= 'A' && name.p[i] <= 'Z'
		                  ? (char)(name.p[i] - 'A' + 'a')
		                  : name.p[i];
	if (name.t == T_QIDENT) {
		if (n < 2)
			return; /* a quote cut off at the end of the text */
		memmove(schema, schema + 1, n - 2);
		n -= 2;
	}
	sc->schema = schema;
	sc->schema_len = n;
	while ((t = next(&sc->lx)).t != T_END) {
		if (t.depth != 0)
			continue;
		if (is(t, "table")) {
			table(sc, next(&sc->lx));
		} else if (is(t, "grant")) {
			sc->granting = true;
			grant(sc);
			sc->granting = false;
		}
	}
	out->action = "ddl";
	sc->schema = NULL;
	sc->schema_len = 0;
}

static void ddl(struct scan *sc, struct tok verb)
{
	struct tok t;

	sc->out->action = "ddl";
	if (is(verb, "create") && is(peek(&sc->lx), "schema")) {
		next(&sc->lx);
		create_schema(sc);
		return;
	}
	while ((t = next(&sc->lx)).t != T_END) {
		if (is(t, "table") && t.depth == 0) {
			skip_if_exists(sc);
			if (is(peek(&sc->lx), "only"))
				next(&sc->lx);
			table(sc, next(&sc->lx));
			/* DROP TABLE a, b */
			while (is(verb, "drop") && is_punct(peek(&sc->lx), ',')) {
				next(&sc->lx);
				table(sc, next(&sc->lx));
			}
			if (is(verb, "create"))
				create_as(sc);
			return;
		}
		if (is(t, "role") || is(t, "user") || is(t, "group")) {
			sc->out->action = "grant";
			/* ALTER ROLE r SET pgaudit.log = 'none' changes auditing, not privileges */
			while (is(verb, "alter") && (t = next(&sc->lx)).t != T_END)
				if (t.depth == 0 && (is(t, "set") || is(t, "reset"))) {
					bool reset = is(t, "reset");

					setting(sc, next(&sc->lx));
					if (!audit_setting(&sc->out->setting)) {
						sc->out->setting = (struct dg_str){NULL, 0};
						return;
					}
					sc->out->action = "admin";
					sc->out->audit = audit_change(&sc->out->setting,
					                              reset ? NULL : value(sc));
					return;
				}
			return;
		}
		if (is(t, "extension") || is(t, "plugin")) {
			skip_if_exists(sc);
			setting(sc, next(&sc->lx));
			sc->out->action = "admin";
			if (audit_setting(&sc->out->setting))
				sc->out->audit =
				    is(verb, "drop") ? DG_SQL_AUDIT_REDUCE : DG_SQL_AUDIT_INCREASE;
			return;
		}
		if (is(t, "set") || is(t, "reset")) {
			/* ALTER DATABASE d SET x = ..., ALTER ROLE r SET x = ... */
			setting(sc, next(&sc->lx));
			if (audit_setting(&sc->out->setting)) {
				sc->out->action = "admin";
				sc->out->audit = audit_change(&sc->out->setting,
				                              is(t, "reset") ? NULL : value(sc));
			}
			return;
		}
		if (is(t, "as") || is(t, "select") || t.depth > 0)
			return;
	}
}

/* "name.*" (every table of a schema or database) into the tables; "*.*" for every one. */
static void all_tables(struct scan *sc, const struct tok *schema)
{
	struct dg_sql *out = sc->out;
	size_t mark = sc->used;

	if (out->ntables == DG_SQL_MAX_TABLES)
		return;
	if (schema == NULL       ? !put(sc, "*", 1)
	    : schema->t == T_END ? !put(sc, sc->schema, sc->schema_len)
	                         : !put_ident(sc, *schema)) {
		sc->used = mark;
		return;
	}
	if (sc->used == mark || !put(sc, ".*", 2)) {
		sc->used = mark;
		return;
	}
	out->table_read[out->ntables] = false;
	out->table_granted[out->ntables] = sc->granting;
	out->tables[out->ntables].p = sc->scratch + mark;
	out->tables[out->ntables++].len = sc->used - mark;
}

/* GRANT/REVOKE privileges ON objects: tables, ALL TABLES IN SCHEMA s (PostgreSQL), db.* and
 * *.* (MariaDB). */
static void grant(struct scan *sc)
{
	struct tok t;
	bool data = false; /* a privilege on rows, not FILE or PROCESS on the server */

	sc->out->action = "grant";
	while ((t = next(&sc->lx)).t != T_END) {
		if (is(t, "select") || is(t, "insert") || is(t, "update") || is(t, "delete") ||
		    is(t, "all") || is(t, "truncate"))
			data = true;
		if (!is(t, "on") || t.depth != 0)
			continue;
		t = next(&sc->lx);
		if (is(t, "all") && is(peek(&sc->lx), "tables")) {
			next(&sc->lx);
			if (!is(next(&sc->lx), "in") || !is(next(&sc->lx), "schema"))
				return;
			do {
				t = next(&sc->lx);
				if (is_ident(t))
					all_tables(sc, &t);
			} while (is_punct(peek(&sc->lx), ',') && next(&sc->lx).t != T_END);
			return;
		}
		if (is_punct(t, '*')) { /* MariaDB: *.* or * (the current database) */
			struct tok none = {T_END, NULL, 0, 0, false};

			if (!data)
				return;
			if (is_punct(peek(&sc->lx), '.')) {
				next(&sc->lx);
				next(&sc->lx);
				all_tables(sc, NULL);
			} else if (sc->schema_len > 0) {
				all_tables(sc, &none);
			}
			return;
		}
		if (is(t, "table"))
			t = next(&sc->lx);
		if (is(t, "schema") || is(t, "database") || is(t, "all") || is(t, "function") ||
		    is(t, "sequence") || is(t, "procedure") || !is_ident(t))
			return;
		do {
			struct lex save = sc->lx;

			/* db.* */
			if (is_punct(peek(&sc->lx), '.')) {
				next(&sc->lx);
				if (is_punct(next(&sc->lx), '*')) {
					if (data)
						all_tables(sc, &t);
					continue;
				}
				sc->lx = save;
			}
			table(sc, t);
		} while (is_punct(peek(&sc->lx), ',') && next(&sc->lx).t != T_END &&
		         is_ident(t = next(&sc->lx)));
		return;
	}
}

/* SET ROLE r, SET SESSION AUTHORIZATION u (and their way back: NONE, DEFAULT, RESET): acting
 * with another role's privileges. t is the token after ROLE or AUTHORIZATION. */
static void set_role(struct scan *sc, struct tok t)
{
	struct dg_sql *out = sc->out;
	size_t mark = sc->used;

	out->action = "set_role";
	if (t.t == T_STR && t.len >= 2) {
		if (put(sc, t.p + 1, t.len - 2))
			out->role = (struct dg_str){sc->scratch + mark, t.len - 2};
	} else if (is_ident(t) && !is(t, "none") && !is(t, "default") && put_ident(sc, t)) {
		out->role = (struct dg_str){sc->scratch + mark, sc->used - mark};
	}
}

static void set(struct scan *sc)
{
	struct tok t = next(&sc->lx);
	bool global = false;

	if (is(t, "global") || is(t, "persist") || is(t, "persist_only")) {
		global = true;
		t = next(&sc->lx);
	} else if (is(t, "session") || is(t, "local")) {
		t = next(&sc->lx);
		if (is(t, "authorization") || is(t, "role")) {
			set_role(sc, next(&sc->lx));
			return;
		}
	} else if (is(t, "role")) {
		set_role(sc, next(&sc->lx));
		return;
	} else if (is(t, "names") || is(t, "password") || is(t, "transaction")) {
		return;
	}
	if (t.t == T_PUNCT && t.p[0] == '@') { /* SET @@global.x */
		struct tok u = next(&sc->lx);

		if (!is_punct(u, '@'))
			return;
		u = next(&sc->lx);
		if (is(u, "global") && is_punct(peek(&sc->lx), '.')) {
			next(&sc->lx);
			global = true;
			t = next(&sc->lx);
		} else {
			return;
		}
	}
	setting(sc, t);
	if (global || audit_setting(&sc->out->setting)) {
		sc->out->action = "admin";
		if (audit_setting(&sc->out->setting))
			sc->out->audit = audit_change(&sc->out->setting, value(sc));
	} else {
		sc->out->setting = (struct dg_str){NULL, 0}; /* a session setting */
	}
}

static void scan(struct scan *sc);

void dg_sql_scan(enum dg_sql_dialect dialect, const char *text, size_t len,
                 const char *default_schema, size_t schema_len, char *scratch, size_t cap,
                 struct dg_sql *out)
{
	struct scan sc;

	/* Field by field: the arrays are read only up to their counts, and zeroing them all
	 * would cost more than scanning a short statement. */
	sc.lx.s = text;
	sc.lx.end = text + len;
	sc.lx.dialect = dialect;
	sc.lx.depth = sc.lx.exec = 0;
	sc.out = out;
	sc.schema = default_schema;
	sc.schema_len = schema_len;
	sc.scratch = scratch;
	sc.cap = cap;
	sc.used = 0;
	sc.reading = sc.granting = false;
	sc.value = (struct dg_str){NULL, 0};
	sc.nctes = 0;
	out->action = NULL;
	out->verb = out->setting = out->role = (struct dg_str){NULL, 0};
	out->select_star = out->dump = out->locks = false;
	out->ntables = out->ncolumns = 0;
	out->audit = DG_SQL_AUDIT_NONE;
	scan(&sc);
	if (out->dump && out->action != NULL && strcmp(out->action, "read") == 0)
		out->action = "export";
	out->scratch_used = sc.used;
}

static void scan(struct scan *sc)
{
	struct dg_sql *out = sc->out;
	struct tok t;

	t = next(&sc->lx);
	while (is_punct(t, '('))
		t = next(&sc->lx);
	if (is(t, "prepare")) {
		/* PREPARE name [(types)] AS statement */
		while (t.t != T_END && !(is(t, "as") && t.depth == 0) && !is(t, "from"))
			t = next(&sc->lx);
		t = next(&sc->lx);
		if (t.t == T_STR) /* MariaDB: PREPARE s FROM 'text' */
			return;
	}
	if (is(t, "with")) {
		/* the common table expressions read tables too */
		sc->reading = true;
		t = next(&sc->lx);
		if (is(t, "recursive"))
			t = next(&sc->lx);
		while (t.t != T_END &&
		       !(t.depth == 0 && (is(t, "select") || is(t, "insert") || is(t, "update") ||
		                          is(t, "delete") || is(t, "merge")))) {
			if (is(t, "from") || is(t, "join"))
				from_list(sc, t.depth);
			else if (t.depth == 0 && is_ident(t) && sc->nctes < 8 && !is(t, "as") &&
			         !is(t, "materialized") && !is(t, "not") &&
			         (is(peek(&sc->lx), "as") || is_punct(peek(&sc->lx), '(')))
				sc->ctes[sc->nctes++] =
				    t; /* name AS (...) or name (cols) AS (...) */
			t = next(&sc->lx);
		}
	}
	sc->reading = false;
	if (t.t != T_WORD)
		return;
	out->verb.p = t.p;
	out->verb.len = t.len;
	if (is(t, "select") || is(t, "table") || is(t, "values")) {
		out->action = "read";
		sc->reading = true;
		if (is(t, "table"))
			table(sc, next(&sc->lx));
		query_body(sc, t, t.depth, is(t, "select"));
	} else if (is(t, "insert") || is(t, "replace") || is(t, "merge")) {
		out->action = "write";
		if (is(peek(&sc->lx), "ignore"))
			next(&sc->lx);
		if (is(peek(&sc->lx), "into"))
			next(&sc->lx);
		table(sc, next(&sc->lx));
		sc->reading = true; /* INSERT ... SELECT reads its source */
		query_body(sc, t, t.depth, false);
	} else if (is(t, "update")) {
		out->action = "write";
		if (is(peek(&sc->lx), "only"))
			next(&sc->lx);
		table(sc, next(&sc->lx));
		sc->reading = true; /* FROM, sub-selects */
		query_body(sc, t, t.depth, false);
	} else if (is(t, "declare")) {
		/* DECLARE c [BINARY ...] CURSOR [WITH HOLD] FOR query: what pg_dump --inserts reads
		 * with */
		while ((t = next(&sc->lx)).t != T_END && !(is(t, "for") && t.depth == 0))
			;
		t = next(&sc->lx);
		if (!is(t, "select") && !is(t, "with") && !is(t, "table"))
			return;
		out->action = "read";
		sc->reading = true;
		if (is(t, "table"))
			table(sc, next(&sc->lx));
		query_body(sc, t, t.depth, is(t, "select"));
	} else if (is(t, "reset")) {
		t = next(&sc->lx);
		if (is(t, "role") || (is(t, "session") && is(peek(&sc->lx), "authorization"))) {
			out->action = "set_role";
		} else {
			setting(sc, t);
			if (audit_setting(&out->setting)) {
				out->action = "admin";
				out->audit = audit_change(&out->setting, NULL);
			} else {
				out->setting = (struct dg_str){NULL, 0};
			}
		}
	} else if (is(t, "delete")) {
		out->action = "delete";
		if (is(peek(&sc->lx), "from")) {
			next(&sc->lx);
			if (is(peek(&sc->lx), "only"))
				next(&sc->lx);
			table(sc, next(&sc->lx));
		}
		sc->reading = true; /* USING, sub-selects */
		query_body(sc, t, t.depth, false);
	} else if (is(t, "truncate")) {
		out->action = "delete";
		if (is(peek(&sc->lx), "table"))
			next(&sc->lx);
		do {
			if (is(peek(&sc->lx), "only"))
				next(&sc->lx);
			table(sc, next(&sc->lx));
		} while (is_punct(peek(&sc->lx), ',') && next(&sc->lx).t != T_END);
	} else if (is(t, "copy")) {
		struct tok u = next(&sc->lx);

		out->action = "write";
		if (is_punct(u, '(')) {
			sc->reading = true;
			query_body(sc, u, u.depth + 1, true); /* COPY (query) TO ... */
			out->select_star = false;
			out->action = "export";
			return;
		}
		table(sc, u);
		/* COPY t (a, b): those columns; COPY t: every one */
		if (is_punct(peek(&sc->lx), '(')) {
			next(&sc->lx);
			while ((u = next(&sc->lx)).t != T_END && !is_punct(u, ')'))
				if (is_ident(u) && out->ncolumns < DG_SQL_MAX_COLUMNS) {
					size_t mark = sc->used;

					if (put_ident(sc, u))
						out->columns[out->ncolumns++] = (struct dg_str){
						    sc->scratch + mark, sc->used - mark};
				}
		} else if (out->ntables > 0) {
			star(sc);
			out->select_star = false; /* not a SELECT */
		}
		while ((u = next(&sc->lx)).t != T_END)
			if (u.depth == 0 && is(u, "to")) {
				out->action = "export";
				break;
			} else if (u.depth == 0 && is(u, "from")) {
				break;
			}
	} else if (is(t, "load")) {
		out->action = "write";
		while ((t = next(&sc->lx)).t != T_END)
			if (is(t, "table")) {
				table(sc, next(&sc->lx));
				break;
			}
	} else if (is(t, "lock") || is(t, "unlock")) {
		out->locks = true;
	} else if (is(t, "grant") || is(t, "revoke")) {
		grant(sc);
	} else if (is(t, "alter") && is(peek(&sc->lx), "system")) {
		next(&sc->lx);
		t = next(&sc->lx); /* SET or RESET */
		setting(sc, next(&sc->lx));
		out->action = "admin";
		if (audit_setting(&out->setting))
			out->audit = audit_change(&out->setting, is(t, "reset") ? NULL : value(sc));
	} else if (is(t, "set")) {
		set(sc);
	} else if (is(t, "install") || is(t, "uninstall")) {
		bool install = is(t, "install");

		out->action = "admin";
		t = next(&sc->lx); /* PLUGIN or SONAME */
		t = next(&sc->lx);
		if (is_ident(t))
			setting(sc, t);
		else if (t.t == T_STR && t.len > 2) {
			/* SONAME 'server_audit' or 'server_audit.so' */
			const char *p = t.p + 1;
			size_t n = t.len - 2, mark = sc->used;
			const char *dot = memchr(p, '.', n);

			if (dot != NULL)
				n = (size_t)(dot - p);
			if (put(sc, p, n)) {
				out->setting.p = sc->scratch + mark;
				out->setting.len = n;
			}
		}
		if (audit_setting(&out->setting))
			out->audit = install ? DG_SQL_AUDIT_INCREASE : DG_SQL_AUDIT_REDUCE;
	} else if (is(t, "create") || is(t, "alter") || is(t, "drop") || is(t, "rename") ||
	           is(t, "comment")) {
		ddl(sc, t);
	}
}

const char *dg_sql_table_action(const struct dg_sql *sql, size_t i)
{
	if (i < sql->ntables && sql->table_granted[i])
		return "grant";
	if (i >= sql->ntables || !sql->table_read[i])
		return sql->dump ? "export" : sql->action;
	if (sql->dump || (sql->action != NULL && strcmp(sql->action, "export") == 0))
		return "export";
	return "read";
}

const char *dg_sql_audit_name(enum dg_sql_audit audit)
{
	static const char *const names[] = {NULL, "reduce", "increase", "change"};

	return (unsigned)audit < sizeof names / sizeof names[0] ? names[audit] : NULL;
}
