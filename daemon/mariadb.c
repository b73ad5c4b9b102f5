#include "dgaudit/mariadb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dgaudit/ip.h"
#include "dgaudit/sql.h"
#include "dgaudit/ts.h"
#include "dgaudit/xmalloc.h"

#define SLOTS      64  /* connections whose table records are waiting for their QUERY */
#define SLOT_NAMES 8   /* objects kept per query */
#define NAME_MAX_  128 /* "database.table" */

/* The objects table records named for one query of one connection. */
struct slot {
	bool used;
	uint64_t conn, qid;
	unsigned n;
	uint8_t len[SLOT_NAMES];
	char op[SLOT_NAMES]; /* 'R'ead, 'W'rite, or a 'D'DL of the table */
	char name[SLOT_NAMES][NAME_MAX_];
};

/* The role a connection took with SET ROLE: its later statements act with its privileges. */
struct role {
	uint64_t conn;
	uint8_t len; /* 0: the slot is free */
	char name[NAME_MAX_];
};

struct dg_mariadb {
	const struct dg_tz *tz;
	char *scratch;
	size_t cap;
	struct slot slots[SLOTS];
	unsigned victim;
	struct role roles[SLOTS];
	unsigned role_victim, nroles; /* nroles: slots in use, so most queries look at none */
	char why[128];
	/* Query ids are the server's, one counter for every connection. While auditing is
	 * lowered (logging off, users excluded), the ids the log skips are statements that ran
	 * unaudited: counted from the lowering to the raising. */
	bool lowered;
	uint64_t lowered_qid, logged_qids, last_counted;
	char gap[256], gap_n[24];
};

struct dg_mariadb *dg_mariadb_new(const struct dg_tz *tz, size_t max_record)
{
	struct dg_mariadb *p = dg_xcalloc(1, sizeof *p);

	p->tz = tz;
	p->cap = max_record + SLOT_NAMES * NAME_MAX_ + 1024;
	p->scratch = dg_xmalloc(p->cap);
	return p;
}

void dg_mariadb_free(struct dg_mariadb *p)
{
	if (p == NULL)
		return;
	free(p->scratch);
	free(p);
}

/* "YYYYMMDD hh:mm:ss", the server's local time. */
static bool timestamp(const char *s, size_t n, const struct dg_tz *tz, int64_t *ms)
{
	uint64_t y, mo, d, h, mi, sec;

	if (n != 17 || s[8] != ' ' || s[11] != ':' || s[14] != ':' || !dg_ts_uint(s, 4, &y) ||
	    !dg_ts_uint(s + 4, 2, &mo) || !dg_ts_uint(s + 6, 2, &d) || !dg_ts_uint(s + 9, 2, &h) ||
	    !dg_ts_uint(s + 12, 2, &mi) || !dg_ts_uint(s + 15, 2, &sec))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return false;
	*ms = (dg_ts_days_from_civil((int64_t)y, (unsigned)mo, (unsigned)d) * 86400 +
	       (int64_t)(h * 3600 + mi * 60 + sec)) *
	      1000;
	if (tz != NULL)
		*ms = dg_tz_to_utc(tz, *ms);
	return true;
}

bool dg_mariadb_looks(const char *line, size_t len)
{
	int64_t ms;
	size_t commas = 0;

	for (size_t i = 0; i < len && commas < 9; i++)
		commas += line[i] == ',';
	return len > 18 && line[17] == ',' && timestamp(line, 17, NULL, &ms) && commas == 9;
}

static struct slot *find_slot(struct dg_mariadb *p, uint64_t conn)
{
	for (unsigned i = 0; i < SLOTS; i++)
		if (p->slots[i].used && p->slots[i].conn == conn)
			return &p->slots[i];
	return NULL;
}

static struct role *find_role(struct dg_mariadb *p, uint64_t conn)
{
	for (unsigned i = 0; i < SLOTS && p->nroles > 0; i++)
		if (p->roles[i].len > 0 && p->roles[i].conn == conn)
			return &p->roles[i];
	return NULL;
}

/* SET ROLE r (len > 0) or SET ROLE NONE, a new login or a disconnect (len 0). More
 * connections acting as roles at once than slots: the oldest-ish loses its role. */
static void set_role(struct dg_mariadb *p, uint64_t conn, const char *name, size_t len)
{
	struct role *r = find_role(p, conn);

	if (len == 0 || len >= NAME_MAX_) {
		if (r != NULL) {
			r->len = 0;
			p->nroles--;
		}
		return;
	}
	for (unsigned i = 0; i < SLOTS && r == NULL; i++)
		if (p->roles[i].len == 0) {
			r = &p->roles[i];
			p->nroles++;
		}
	if (r == NULL)
		r = &p->roles[p->role_victim++ % SLOTS];
	r->conn = conn;
	memcpy(r->name, name, len);
	r->len = (uint8_t)len;
}

/* A table record: remember the object for the QUERY that follows. */
static void note_table(struct dg_mariadb *p, uint64_t conn, uint64_t qid, char op, struct dg_str db,
                       struct dg_str table)
{
	struct slot *s = find_slot(p, conn);

	if (s == NULL) {
		for (unsigned i = 0; i < SLOTS && s == NULL; i++)
			if (!p->slots[i].used)
				s = &p->slots[i];
		if (s == NULL) /* more connections interleaved than slots: reuse the oldest-ish */
			s = &p->slots[p->victim++ % SLOTS];
		s->used = true;
		s->conn = conn;
		s->qid = qid;
		s->n = 0;
	}
	if (s->qid != qid) {
		s->qid = qid;
		s->n = 0;
	}
	if (s->n == SLOT_NAMES || db.len + 1 + table.len >= NAME_MAX_)
		return;
	for (unsigned i = 0; i < s->n; i++)
		if (s->len[i] == db.len + 1 + table.len &&
		    memcmp(s->name[i] + db.len + 1, table.p, table.len) == 0 &&
		    memcmp(s->name[i], db.p, db.len) == 0)
			return; /* the same table opened twice (a self-join) */
	memcpy(s->name[s->n], db.p, db.len);
	s->name[s->n][db.len] = '.';
	memcpy(s->name[s->n] + db.len + 1, table.p, table.len);
	s->op[s->n] = op;
	s->len[s->n++] = (uint8_t)(db.len + 1 + table.len);
}

/* Decodes the plugin's escapes (\' \\ \n \r \t) into out; a trailing lone backslash, left by
 * the length cut, is kept. */
static size_t unescape(const char *s, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n) {
			char c = s[++i];

			out[o++] = c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : c;
		} else {
			out[o++] = s[i];
		}
	}
	return o;
}

static void set_object(struct dg_evt *evt, struct dg_str obj);

/* Whether the statement names the table "db.table" (only_read: as a table it only reads). */
static bool names(const struct dg_sql *sql, const char *name, size_t len, bool only_read)
{
	for (size_t i = 0; i < sql->ntables; i++)
		if ((!only_read || sql->table_read[i]) && sql->tables[i].len == len &&
		    memcmp(sql->tables[i].p, name, len) == 0)
			return true;
	return false;
}

/* The server's own tables (the optimizer reads mysql.table_stats for many statements). */
static bool system_table(const char *name, size_t len)
{
	static const struct {
		const char *name;
		size_t len;
	} schemas[] = {
	    {"mysql.", 6}, {"information_schema.", 19}, {"performance_schema.", 19}, {"sys.", 4}};

	for (size_t i = 0; i < sizeof schemas / sizeof schemas[0]; i++)
		if (len > schemas[i].len && strncasecmp(name, schemas[i].name, schemas[i].len) == 0)
			return true;
	return false;
}

/* Whether the statement's action is what: its first letter refuses most. */
static bool action_is(const char *action, const char *what)
{
	return action != NULL && action[0] == what[0] && strcmp(action, what) == 0;
}

/* The action on a table the server opened: reading it is a read (an export when the
 * statement exports), writing it the statement's write or delete, creating or dropping it
 * DDL. */
static const char *table_action(char op, const struct dg_sql *sql, const char *name, size_t len)
{
	const char *a = sql->action;

	/* privilege and server statements write the server's own tables to do what they do */
	if (action_is(a, "grant") || action_is(a, "admin") || action_is(a, "set_role"))
		return a;
	if (sql->locks)
		return NULL; /* LOCK TABLES opens the tables, it reads no row */
	if (op == 'R' && action_is(a, "ddl") && !names(sql, name, len, true))
		return "ddl"; /* CREATE VIEW opens what it selects from, and reads no row */
	if (op == 'R')
		return action_is(a, "export") ? "export" : "read";
	if (op == 'W')
		return action_is(a, "delete") ? "delete" : "write";
	return "ddl";
}

/* The settings that decide which statements server_audit writes at all. */
static bool gating(const struct dg_str *setting)
{
	static const char *const names[] = {"server_audit_logging", "server_audit_excl_users",
	                                    "server_audit_incl_users", "server_audit_events", NULL};

	for (size_t i = 0; names[i] != NULL; i++)
		if (dg_str_is(setting, names[i]))
			return true;
	return false;
}

/* A lowering of auditing opens a window, the next raising closes it: the query ids between
 * that no record carries (a logged disconnect's quit took one) ran unaudited, or were commands
 * the plugin never logs (a ping, an unlogged client's quit), and the raising's event says how
 * many at most (dg.audit_gap). */
static void audit_window(struct dg_mariadb *p, const struct dg_sql *sql, uint64_t qid,
                         struct dg_evt *evt)
{
	if (!gating(&sql->setting))
		return;
	if (sql->audit == DG_SQL_AUDIT_REDUCE && !p->lowered) {
		p->lowered = true;
		p->lowered_qid = p->last_counted = qid;
		p->logged_qids = 0;
	} else if (sql->audit == DG_SQL_AUDIT_INCREASE && p->lowered && qid > p->lowered_qid) {
		uint64_t between = qid - p->lowered_qid - 1;
		uint64_t logged = p->logged_qids - (p->last_counted == qid); /* not this one */
		uint64_t unaudited = between > logged ? between - logged : 0;
		int n;

		p->lowered = false;
		if (unaudited == 0)
			return;
		n = snprintf(
		    p->gap, sizeof p->gap,
		    "server_audit logged nothing for %llu of the %llu query ids between %llu "
		    "and %llu, while auditing was lowered: statements that ran then are not in "
		    "the audit trail",
		    (unsigned long long)unaudited, (unsigned long long)between,
		    (unsigned long long)p->lowered_qid, (unsigned long long)qid);
		dg_evt_set_int(evt, DG_F_AUDIT_GAP, (int64_t)unaudited, p->gap_n,
		               (size_t)snprintf(p->gap_n, sizeof p->gap_n, "%llu",
		                                (unsigned long long)unaudited));
		dg_evt_set(evt, DG_F_MESSAGE, p->gap, (size_t)n);
	}
}

static void query(struct dg_mariadb *p, struct dg_str f[], uint64_t conn, uint64_t qid, uint64_t rc,
                  struct dg_evt *evt)
{
	struct dg_str stmt = f[8];
	struct slot *s = find_slot(p, conn);
	struct dg_sql sql;
	size_t used;

	if (stmt.len >= 2 && stmt.p[0] == '\'' && stmt.p[stmt.len - 1] == '\'') {
		stmt.p++;
		stmt.len -= 2;
	} else if (stmt.len >= 1 && stmt.p[0] == '\'') {
		stmt.p++, stmt.len--;
	}
	used = unescape(stmt.p, stmt.len, p->scratch);
	stmt.p = p->scratch;
	stmt.len = used;
	dg_evt_set(evt, DG_F_DB_QUERY, stmt.p, stmt.len);
	dg_evt_set(evt, DG_F_EVENT_OUTCOME, rc == 0 ? "success" : "failure", 7);
	dg_sql_scan(DG_SQL_MARIADB, stmt.p, stmt.len, f[7].p, f[7].len, p->scratch + used,
	            p->cap - used, &sql);
	used += sql.scratch_used;
	if (sql.verb.len > 0)
		dg_evt_set(evt, DG_F_DB_OPERATION, sql.verb.p, sql.verb.len);
	if (sql.action != NULL)
		dg_evt_set(evt, DG_F_EVENT_ACTION, sql.action, strlen(sql.action));
	if (sql.audit != DG_SQL_AUDIT_NONE)
		dg_evt_set(evt, DG_F_AUDIT_CHANGE, dg_sql_audit_name(sql.audit),
		           strlen(dg_sql_audit_name(sql.audit)));
	if (rc == 0)
		audit_window(p, &sql, qid, evt);
	if (action_is(sql.action, "set_role")) {
		if (rc == 0)
			set_role(p, conn, sql.role.p, sql.role.len);
		dg_evt_set(evt, DG_F_USER_EFFECTIVE, sql.role.len ? sql.role.p : f[2].p,
		           sql.role.len ? sql.role.len : f[2].len);
	} else {
		const struct role *r = find_role(p, conn);

		if (r != NULL)
			dg_evt_set(evt, DG_F_USER_EFFECTIVE, r->name, r->len);
	}
	for (size_t i = 0; i < sql.ncolumns; i++)
		dg_evt_push(evt, DG_F_DB_COLUMNS, sql.columns[i].p, sql.columns[i].len);
	if (sql.setting.len > 0) {
		set_object(evt, sql.setting);
	} else if (s != NULL && s->qid == qid && s->n > 0 &&
	           !(sql.action != NULL && strcmp(sql.action, "grant") == 0 && sql.ntables > 0)) {
		/* the server's own list of what the statement opened (for a GRANT, that is the
		 * privilege tables: the statement names the table concerned). A table the
		 * statement does not name, opened with one it names that the server did not
		 * list, is read through that view. */
		const struct dg_str *view = NULL;
		bool unnamed = false;

		for (unsigned j = 0; j < s->n && !unnamed; j++)
			unnamed = !system_table(s->name[j], s->len[j]) &&
			          !names(&sql, s->name[j], s->len[j], false);
		for (size_t i = 0; unnamed && i < sql.ntables && view == NULL; i++) {
			bool listed = false;

			for (unsigned j = 0; j < s->n && !listed; j++)
				listed = s->len[j] == sql.tables[i].len &&
				         memcmp(s->name[j], sql.tables[i].p, s->len[j]) == 0;
			if (!listed)
				view = &sql.tables[i];
		}
		if (view != NULL)
			dg_evt_add_object(evt, view->p, view->len,
			                  table_action('R', &sql, view->p, view->len), 0);
		for (unsigned i = 0; i < s->n && used + s->len[i] <= p->cap; i++) {
			char *name = p->scratch + used;
			bool indirect = view != NULL && !names(&sql, s->name[i], s->len[i], false);

			memcpy(name, s->name[i], s->len[i]);
			used += s->len[i];
			if (dg_evt_add_object(evt, name, s->len[i],
			                      table_action(s->op[i], &sql, s->name[i], s->len[i]),
			                      indirect ? DG_OBJ_INDIRECT : 0) &&
			    indirect)
				evt->objects[evt->nobjects - 1].via = *view;
		}
	} else {
		for (size_t i = 0; i < sql.ntables; i++)
			dg_evt_add_object(evt, sql.tables[i].p, sql.tables[i].len,
			                  dg_sql_table_action(&sql, i), 0);
	}
	if (evt->nobjects > 0)
		set_object(evt, evt->objects[0].name);
	if (s != NULL)
		s->used = false;
	if (rc != 0) {
		int n = snprintf(p->why, sizeof p->why, "error %llu", (unsigned long long)rc);

		dg_evt_set(evt, DG_F_MESSAGE, p->why, (size_t)n);
	}
}

static void set_object(struct dg_evt *evt, struct dg_str obj)
{
	const char *dot = memchr(obj.p, '.', obj.len);

	dg_evt_set(evt, DG_F_OBJECT, obj.p, obj.len);
	if (dot != NULL)
		dg_evt_set(evt, DG_F_DB_COLLECTION, dot + 1, obj.len - (size_t)(dot + 1 - obj.p));
}

int dg_mariadb_parse(struct dg_mariadb *p, const char *rec, size_t len, struct dg_evt *evt,
                     const char **why)
{
	struct dg_str f[10];
	const char *s = rec, *end = rec + len, *last;
	uint64_t conn, qid, rc = 0;
	uint8_t ip[16];

	for (int i = 0; i < 8; i++) {
		const char *c = memchr(s, ',', (size_t)(end - s));

		if (c == NULL) {
			*why = "server_audit: fewer than ten fields";
			return -1;
		}
		f[i].p = s;
		f[i].len = (size_t)(c - s);
		s = c + 1;
	}
	/* The object field may hold a statement full of commas: the return code is after the
	 * last one. */
	for (last = end; last > s && last[-1] != ','; last--)
		;
	if (last == s) {
		*why = "server_audit: fewer than ten fields";
		return -1;
	}
	f[8].p = s;
	f[8].len = (size_t)(last - 1 - s);
	f[9].p = last;
	f[9].len = (size_t)(end - last);
	dg_evt_clear(evt);
	if (!timestamp(f[0].p, f[0].len, p->tz, &evt->ts_ms)) {
		*why = "server_audit: the time is not YYYYMMDD hh:mm:ss";
		return -1;
	}
	if (!dg_ts_uint(f[4].p, f[4].len, &conn) || !dg_ts_uint(f[5].p, f[5].len, &qid) ||
	    (f[9].len > 0 && !dg_ts_uint(f[9].p, f[9].len, &rc))) {
		*why = "server_audit: connection id, query id or return code is not a number";
		return -1;
	}
	if (p->lowered && qid > p->lowered_qid && qid != p->last_counted) {
		p->logged_qids++; /* a query the log does carry (its table records share its id) */
		p->last_counted = qid;
	}
	dg_evt_set(evt, DG_F_TIMESTAMP, f[0].p, f[0].len);
	dg_evt_set(evt, DG_F_DB_SYSTEM, "mariadb", 7);
	dg_evt_set(evt, DG_F_SERVICE_NAME, "mariadb", 7);
	dg_evt_set(evt, DG_F_HOST_NAME, f[1].p, f[1].len);
	dg_evt_set(evt, DG_F_USER_NAME, f[2].p, f[2].len);
	if (dg_ip_parse(f[3].p, f[3].len, ip))
		dg_evt_set(evt, DG_F_SOURCE_IP, f[3].p, f[3].len);
	dg_evt_set(evt, DG_F_DB_NAMESPACE, f[7].p, f[7].len);
	if (dg_str_is(&f[6], "CONNECT") || dg_str_is(&f[6], "FAILED_CONNECT") ||
	    dg_str_is(&f[6], "CHANGEUSER")) {
		set_role(p, conn, NULL, 0); /* a new session (or user) starts with no role taken */
		dg_evt_set(evt, DG_F_EVENT_ACTION, "login", 5);
		dg_evt_set(evt, DG_F_EVENT_OUTCOME,
		           rc == 0 && !dg_str_is(&f[6], "FAILED_CONNECT") ? "success" : "failure",
		           7);
	} else if (dg_str_is(&f[6], "QUERY") || dg_str_is(&f[6], "QUERY_DDL") ||
	           dg_str_is(&f[6], "QUERY_DML") || dg_str_is(&f[6], "QUERY_DCL") ||
	           dg_str_is(&f[6], "QUERY_DML_NO_SELECT")) {
		query(p, f, conn, qid, rc, evt);
	} else if (dg_str_is(&f[6], "READ") || dg_str_is(&f[6], "WRITE") ||
	           dg_str_is(&f[6], "CREATE") || dg_str_is(&f[6], "DROP") ||
	           dg_str_is(&f[6], "ALTER") || dg_str_is(&f[6], "RENAME")) {
		note_table(p, conn, qid,
		           dg_str_is(&f[6], "READ")    ? 'R'
		           : dg_str_is(&f[6], "WRITE") ? 'W'
		                                       : 'D',
		           f[7], f[8]);
		return 0;
	} else if (dg_str_is(&f[6], "DISCONNECT")) {
		if (p->lowered)
			p->logged_qids++; /* the client's quit took a query id of its own */
		set_role(p, conn, NULL, 0);
		return 0;
	} else {
		snprintf(p->why, sizeof p->why, "server_audit: unknown operation '%.*s'",
		         (int)(f[6].len < 32 ? f[6].len : 32), f[6].p);
		*why = p->why;
		return -1;
	}
	return 1;
}
