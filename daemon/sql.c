#include "dgaudit/sql.h"

#include <string.h>
#include <strings.h>

enum tk { T_END, T_WORD, T_QIDENT, T_STR, T_NUM, T_PUNCT };

struct tok {
	enum tk t;
	const char *p;
	size_t len;
	int depth; /* parenthesis depth before the token */
};

struct lex {
	const char *s, *end;
	enum dg_sql_dialect dialect;
	int depth;
};

struct scan {
	struct lex lx;
	struct dg_sql *out;
	const char *schema;
	size_t schema_len;
	char *scratch;
	size_t cap, used;
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
	struct tok t = {T_END, NULL, 0, 0};

	for (;;) {
		while (s < lx->end && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
			s++;
		if (s + 1 < lx->end && s[0] == '-' && s[1] == '-') {
			while (s < lx->end && *s != '\n')
				s++;
		} else if (s + 1 < lx->end && s[0] == '/' && s[1] == '*') {
			const char *e = s + 2;

			while (e + 1 < lx->end && !(e[0] == '*' && e[1] == '/'))
				e++;
			s = e + 1 < lx->end ? e + 2 : lx->end;
		} else if (s < lx->end && *s == '#' && lx->dialect == DG_SQL_MARIADB) {
			while (s < lx->end && *s != '\n')
				s++;
		} else {
			break;
		}
	}
	t.depth = lx->depth;
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

static bool is(struct tok t, const char *kw)
{
	return t.t == T_WORD && t.len == strlen(kw) && strncasecmp(t.p, kw, t.len) == 0;
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
	if (n == 1 && sc->schema_len > 0) {
		if (!put(sc, sc->schema, sc->schema_len) || !put(sc, ".", 1))
			goto full;
	}
	for (size_t i = n >= 2 ? n - 2 : 0; i < n; i++)
		if ((i > (n >= 2 ? n - 2 : 0) && !put(sc, ".", 1)) || !put_ident(sc, parts[i]))
			goto full;
	for (size_t i = 0; i < out->ntables; i++)
		if (out->tables[i].len == sc->used - mark &&
		    memcmp(out->tables[i].p, sc->scratch + mark, sc->used - mark) == 0) {
			sc->used = mark; /* named twice: once is enough */
			return;
		}
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
		if (is(t, clause_words[i]))
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
	       (s->len >= 12 && memcmp(s->p, "server_audit", 12) == 0);
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
		if (is(t, non_columns[i]))
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
 * any depth, '*' in the top-level select list, INTO OUTFILE. */
static void query_body(struct scan *sc, struct tok prev, int top, bool select_list)
{
	const bool select = select_list; /* only a SELECT writes INTO OUTFILE */
	struct tok t;

	while ((t = next(&sc->lx)).t != T_END) {
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
		if (is(t, "from") || is(t, "join")) {
			from_list(sc, t.depth);
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

static void ddl(struct scan *sc, struct tok verb)
{
	struct tok t;

	sc->out->action = "ddl";
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
			return;
		}
		if (is(t, "role") || is(t, "user") || is(t, "group")) {
			sc->out->action = "grant";
			return;
		}
		if (is(t, "extension") || is(t, "plugin")) {
			skip_if_exists(sc);
			setting(sc, next(&sc->lx));
			sc->out->action = "admin";
			return;
		}
		if (is(t, "set") || is(t, "reset")) {
			/* ALTER DATABASE d SET x = ..., ALTER ROLE r SET x = ... */
			setting(sc, next(&sc->lx));
			if (audit_setting(&sc->out->setting))
				sc->out->action = "admin";
			return;
		}
		if (is(t, "as") || is(t, "select") || t.depth > 0)
			return;
	}
}

static void grant(struct scan *sc)
{
	struct tok t;

	sc->out->action = "grant";
	while ((t = next(&sc->lx)).t != T_END) {
		if (is(t, "on") && t.depth == 0) {
			t = next(&sc->lx);
			if (is(t, "table"))
				t = next(&sc->lx);
			if (is(t, "schema") || is(t, "database") || is(t, "all") ||
			    is(t, "function") || is(t, "sequence") || is(t, "procedure") ||
			    !is_ident(t))
				return;
			table(sc, t);
			while (is_punct(peek(&sc->lx), ',')) {
				next(&sc->lx);
				table(sc, next(&sc->lx));
			}
			return;
		}
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
	} else if (is(t, "role") || is(t, "names") || is(t, "password") || is(t, "transaction")) {
		return;
	}
	if (t.t == T_PUNCT && t.p[0] == '@') /* SET @@global.x */
		return;
	setting(sc, t);
	if (global || audit_setting(&sc->out->setting))
		sc->out->action = "admin";
	else
		sc->out->setting = (struct dg_str){NULL, 0}; /* a session setting */
}

static void scan(struct scan *sc);

void dg_sql_scan(enum dg_sql_dialect dialect, const char *text, size_t len,
                 const char *default_schema, size_t schema_len, char *scratch, size_t cap,
                 struct dg_sql *out)
{
	struct scan sc = {
	    {text, text + len, dialect, 0}, out, default_schema, schema_len, scratch, cap, 0};

	memset(out, 0, sizeof *out);
	scan(&sc);
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
		while (t.t != T_END &&
		       !(t.depth == 0 && (is(t, "select") || is(t, "insert") || is(t, "update") ||
		                          is(t, "delete") || is(t, "merge")))) {
			if (is(t, "from") || is(t, "join"))
				from_list(sc, t.depth);
			t = next(&sc->lx);
		}
	}
	if (t.t != T_WORD)
		return;
	out->verb.p = t.p;
	out->verb.len = t.len;
	if (is(t, "select") || is(t, "table") || is(t, "values")) {
		out->action = "read";
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
		query_body(sc, t, t.depth, false);
	} else if (is(t, "update")) {
		out->action = "write";
		if (is(peek(&sc->lx), "only"))
			next(&sc->lx);
		table(sc, next(&sc->lx));
		query_body(sc, t, t.depth, false);
	} else if (is(t, "delete")) {
		out->action = "delete";
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
			query_body(sc, u, u.depth + 1, true); /* COPY (query) TO ... */
			out->select_star = false;
			out->action = "export";
			return;
		}
		table(sc, u);
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
	} else if (is(t, "grant") || is(t, "revoke")) {
		grant(sc);
	} else if (is(t, "alter") && is(peek(&sc->lx), "system")) {
		next(&sc->lx);
		t = next(&sc->lx); /* SET or RESET */
		setting(sc, next(&sc->lx));
		out->action = "admin";
	} else if (is(t, "set")) {
		set(sc);
	} else if (is(t, "install") || is(t, "uninstall")) {
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
	} else if (is(t, "create") || is(t, "alter") || is(t, "drop") || is(t, "rename") ||
	           is(t, "comment")) {
		ddl(sc, t);
	}
}
