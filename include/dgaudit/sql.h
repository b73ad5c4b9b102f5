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

struct dg_sql {
	/* "read" "write" "delete" "export" "grant" "admin" "ddl", or NULL when the statement
	 * touches no data (BEGIN, SHOW, EXPLAIN, a session SET). */
	const char *action;
	struct dg_str verb; /* the statement's verb as written ("select"), PREPARE ... AS skipped */
	bool select_star;   /* SELECT * or SELECT t.* at the top level */
	struct dg_str setting; /* the setting or plugin an admin statement changes, lowercased */
	size_t ntables;        /* tables named, lowercased and qualified with the default schema */
	struct dg_str tables[DG_SQL_MAX_TABLES];
	/* columns the select list names, also inside functions (count(id_number)), lowercased;
	 * "*" for SELECT * */
	size_t ncolumns;
	struct dg_str columns[DG_SQL_MAX_COLUMNS];
	size_t scratch_used; /* bytes of scratch the names take */
};

/* Scans text. Table and setting names are written to scratch (cap bytes); names that do not
 * fit are left out. default_schema qualifies unqualified table names (may be empty). */
void dg_sql_scan(enum dg_sql_dialect dialect, const char *text, size_t len,
                 const char *default_schema, size_t schema_len, char *scratch, size_t cap,
                 struct dg_sql *out);

#endif
