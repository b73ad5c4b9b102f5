/* What a SQL statement does, as far as governance cares: its verb mapped to an event action,
 * the tables it names, whether it selects every column, and the server setting it changes.
 * A scanner, not a parser: it tokenises PostgreSQL and MariaDB text (comments, quoted
 * identifiers, string and dollar-quoted literals) and reads the clauses that name tables. It
 * never fails; text it does not understand yields no action. Pure; no allocation. */
#ifndef DGAUDIT_SQL_H
#define DGAUDIT_SQL_H

#include <stdbool.h>
#include <stddef.h>

#include "dgaudit/evt.h"

#define DG_SQL_MAX_TABLES  8
#define DG_SQL_MAX_COLUMNS 16

enum dg_sql_dialect { DG_SQL_POSTGRESQL, DG_SQL_MARIADB };

/* What a change to the server's audit settings does to the audit trail. */
enum dg_sql_audit {
	DG_SQL_AUDIT_NONE,
	/* turns auditing off or below what PCI DSS 10.2 asks (reads, writes, privileges and DDL
	 * of every user), excludes users, moves or drops the trail: tampering */
	DG_SQL_AUDIT_REDUCE,
	DG_SQL_AUDIT_INCREASE, /* turns auditing on or keeps it at least at that level */
	DG_SQL_AUDIT_CHANGE,   /* another audit setting (log level, rotation) */
};

struct dg_sql {
	/* "read" "write" "delete" "export" "grant" "admin" "ddl" "set_role", or NULL when the
	 * statement touches no data (BEGIN, SHOW, EXPLAIN, a session SET). */
	const char *action;
	struct dg_str verb; /* the statement's verb as written ("select"), PREPARE ... AS skipped */
	bool select_star;   /* SELECT * or SELECT t.* at the top level */
	struct dg_str setting; /* the setting or plugin an admin statement changes, lowercased */
	/* tables named, lowercased and qualified with the default schema; "s.*" for every table
	 * of a schema or database (GRANT ... ON ALL TABLES IN SCHEMA s, ON s.*), "*.*" for all */
	size_t ntables;
	struct dg_str tables[DG_SQL_MAX_TABLES];
	/* the table is only read, as the source of CREATE TABLE AS, INSERT ... SELECT, a CTE or
	 * a sub-select, not the statement's target */
	bool table_read[DG_SQL_MAX_TABLES];
	/* the statement grants on the table, inside another (CREATE SCHEMA ... GRANT) */
	bool table_granted[DG_SQL_MAX_TABLES];
	bool dump;          /* a dump tool's read (mysqldump's SELECT SQL_NO_CACHE): an export */
	bool locks;         /* LOCK TABLES: the tables it names are opened, not read */
	struct dg_str role; /* SET ROLE, SET SESSION AUTHORIZATION: the role taken on; empty
	                     * when the statement returns to the session user */
	enum dg_sql_audit audit; /* for an audit setting or plugin */
	/* columns the select list names, also inside functions (count(id_number)), lowercased;
	 * "*" for SELECT * */
	size_t ncolumns;
	struct dg_str columns[DG_SQL_MAX_COLUMNS];
	size_t scratch_used; /* bytes of scratch the names take */
};

/* "reduce", "increase" or "change" (dg.audit_change), NULL for DG_SQL_AUDIT_NONE. */
const char *dg_sql_audit_name(enum dg_sql_audit audit);

/* The action a statement takes on its i-th table: a read table is read (exported when the
 * statement exports), the target takes the statement's action. */
const char *dg_sql_table_action(const struct dg_sql *sql, size_t i);

/* Scans text. Table and setting names are written to scratch (cap bytes); names that do not
 * fit are left out. default_schema qualifies unqualified table names (may be empty). */
void dg_sql_scan(enum dg_sql_dialect dialect, const char *text, size_t len,
                 const char *default_schema, size_t schema_len, char *scratch, size_t cap,
                 struct dg_sql *out);

#endif
