/* The SQL scanner: the verb's action, the tables named (qualified, lower-cased, once each),
 * SELECT *, and the setting an admin statement changes, in both dialects, past comments and
 * literals that look like SQL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "dgaudit/sql.h"

struct want {
	enum dg_sql_dialect d;
	const char *text;
	const char *action; /* NULL: none */
	const char *tables; /* space-separated, in order */
	bool star;
	const char *setting;
};

static const struct want cases[] = {
    {DG_SQL_POSTGRESQL, "SELECT name FROM core.customers WHERE id = 7", "read", "core.customers",
     false, NULL},
    {DG_SQL_POSTGRESQL, "select * from Core.Customers c join core.branches b on b.id = c.b", "read",
     "core.customers core.branches", true, NULL},
    {DG_SQL_POSTGRESQL, "SELECT c.* FROM core.customers c", "read", "core.customers", true, NULL},
    {DG_SQL_POSTGRESQL, "SELECT count(*) FROM core.customers", "read", "core.customers", false,
     NULL},
    {DG_SQL_POSTGRESQL, "SELECT a, b FROM t1, s.t2 AS x, t3 y WHERE 1=1", "read", "t1 s.t2 t3",
     false, NULL},
    {DG_SQL_POSTGRESQL, "SELECT \"Name\" FROM \"Core\".\"Mixed Case\"", "read", "Core.Mixed Case",
     false, NULL},
    {DG_SQL_POSTGRESQL, "SELECT 'FROM secret.t' FROM core.a -- FROM core.b\n", "read", "core.a",
     false, NULL},
    {DG_SQL_POSTGRESQL, "/* DELETE FROM x */ SELECT $q$ FROM y $q$ FROM z", "read", "z", false,
     NULL},
    {DG_SQL_POSTGRESQL, "SELECT * FROM (SELECT id FROM core.customers) s", "read", "core.customers",
     true, NULL},
    {DG_SQL_POSTGRESQL, "SELECT * FROM generate_series(1, 3)", "read", "", true, NULL},
    {DG_SQL_POSTGRESQL, "COPY core.customers TO STDOUT", "export", "core.customers", false, NULL},
    {DG_SQL_POSTGRESQL, "COPY core.customers (id, name) TO '/tmp/c.csv' WITH (FORMAT csv)",
     "export", "core.customers", false, NULL},
    {DG_SQL_POSTGRESQL, "COPY (SELECT * FROM core.customers) TO STDOUT", "export", "core.customers",
     false, NULL},
    {DG_SQL_POSTGRESQL, "COPY core.customers FROM STDIN", "write", "core.customers", false, NULL},
    {DG_SQL_MARIADB, "SELECT * FROM core.customers INTO OUTFILE '/tmp/o'", "export",
     "core.customers", true, NULL},
    {DG_SQL_MARIADB, "SELECT id INTO @v FROM customers", "read", "bank.customers", false, NULL},
    {DG_SQL_POSTGRESQL, "INSERT INTO audit.log SELECT * FROM core.customers", "write",
     "audit.log core.customers", false, NULL},
    {DG_SQL_POSTGRESQL, "UPDATE ONLY core.customers SET phone = '1' WHERE id = 3", "write",
     "core.customers", false, NULL},
    {DG_SQL_POSTGRESQL, "DELETE FROM core.branches WHERE id = 2", "delete", "core.branches", false,
     NULL},
    {DG_SQL_POSTGRESQL, "TRUNCATE TABLE core.a, core.b", "delete", "core.a core.b", false, NULL},
    {DG_SQL_POSTGRESQL, "WITH x AS (SELECT id FROM core.a) DELETE FROM core.b USING x", "delete",
     "core.a core.b", false, NULL},
    {DG_SQL_POSTGRESQL, "PREPARE one(int) AS SELECT name FROM core.customers WHERE id = $1", "read",
     "core.customers", false, NULL},
    {DG_SQL_POSTGRESQL, "GRANT SELECT ON core.customers TO teller, analyst", "grant",
     "core.customers", false, NULL},
    {DG_SQL_POSTGRESQL, "GRANT SELECT ON TABLE core.a, core.b TO x", "grant", "core.a core.b",
     false, NULL},
    {DG_SQL_POSTGRESQL, "GRANT USAGE ON SCHEMA core TO teller", "grant", "", false, NULL},
    {DG_SQL_MARIADB, "GRANT ALL ON *.* TO dba@'%' WITH GRANT OPTION", "grant", "", false, NULL},
    {DG_SQL_POSTGRESQL, "REVOKE SELECT ON core.customers FROM intern", "grant", "core.customers",
     false, NULL},
    {DG_SQL_POSTGRESQL, "ALTER ROLE teller WITH SUPERUSER", "grant", "", false, NULL},
    {DG_SQL_POSTGRESQL, "CREATE USER x PASSWORD 'y'", "grant", "", false, NULL},
    {DG_SQL_POSTGRESQL, "ALTER SYSTEM SET pgaudit.log = 'none'", "admin", "", false, "pgaudit.log"},
    {DG_SQL_POSTGRESQL, "SET pgaudit.log = 'none'", "admin", "", false, "pgaudit.log"},
    {DG_SQL_POSTGRESQL, "SET search_path = core", NULL, "", false, NULL},
    {DG_SQL_POSTGRESQL, "ALTER DATABASE bank SET pgaudit.log TO 'none'", "admin", "", false,
     "pgaudit.log"},
    {DG_SQL_POSTGRESQL, "DROP EXTENSION IF EXISTS pgaudit", "admin", "", false, "pgaudit"},
    {DG_SQL_MARIADB, "SET GLOBAL server_audit_logging = OFF", "admin", "", false,
     "server_audit_logging"},
    {DG_SQL_MARIADB, "UNINSTALL SONAME 'server_audit'", "admin", "", false, "server_audit"},
    {DG_SQL_MARIADB, "UNINSTALL PLUGIN server_audit", "admin", "", false, "server_audit"},
    {DG_SQL_MARIADB, "SET NAMES utf8mb4", NULL, "", false, NULL},
    {DG_SQL_POSTGRESQL, "CREATE TABLE IF NOT EXISTS core.t (id int)", "ddl", "core.t", false, NULL},
    {DG_SQL_POSTGRESQL, "DROP TABLE core.a, core.b", "ddl", "core.a core.b", false, NULL},
    {DG_SQL_MARIADB, "UPDATE `core`.`customers` SET name = 'O\\'Brien' WHERE id = 1", "write",
     "core.customers", false, NULL},
    {DG_SQL_POSTGRESQL, "BEGIN", NULL, "", false, NULL},
    {DG_SQL_POSTGRESQL, "EXPLAIN SELECT * FROM core.customers", NULL, "", false, NULL},
    {DG_SQL_POSTGRESQL, "", NULL, "", false, NULL},
    {DG_SQL_POSTGRESQL, "SELECT 'unterminated FROM x", "read", "", false, NULL},
};

static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct want *w = &cases[i];
		char scratch[256], tables[256] = "";
		struct dg_sql sql;

		dg_sql_scan(w->d, w->text, strlen(w->text), w->d == DG_SQL_MARIADB ? "bank" : "",
		            w->d == DG_SQL_MARIADB ? 4 : 0, scratch, sizeof scratch, &sql);
		for (size_t t = 0; t < sql.ntables; t++)
			snprintf(tables + strlen(tables), sizeof tables - strlen(tables), "%s%.*s",
			         t ? " " : "", (int)sql.tables[t].len, sql.tables[t].p);
		print_message("%s\n", w->text);
		if (w->action == NULL)
			assert_null(sql.action);
		else
			assert_string_equal(sql.action ? sql.action : "(none)", w->action);
		assert_string_equal(tables, w->tables);
		assert_int_equal(sql.select_star, w->star);
		if (w->setting == NULL) {
			assert_int_equal(sql.setting.len, 0);
		} else {
			assert_int_equal(sql.setting.len, strlen(w->setting));
			assert_memory_equal(sql.setting.p, w->setting, sql.setting.len);
		}
	}
}

/* The columns a select list names, for column-level classification. */
static void test_columns(void **state)
{
	static const struct {
		const char *text, *columns;
	} col_cases[] = {
	    {"SELECT name, phone FROM core.customers", "name phone"},
	    {"SELECT c.Name, upper(c.id_number) AS idn, count(*) FROM core.customers c",
	     "name id_number"},
	    {"SELECT * FROM core.customers", "*"},
	    {"SELECT DISTINCT t.*, b.city FROM t JOIN b ON true", "* city"},
	    {"SELECT CASE WHEN a IS NULL THEN b ELSE c END x FROM t", "a b c"},
	    {"SELECT name nm FROM t WHERE id_number = '1'", "name"},
	    {"DELETE FROM t WHERE a = 1", ""},
	};

	(void)state;
	for (size_t i = 0; i < sizeof col_cases / sizeof col_cases[0]; i++) {
		char scratch[256], cols[256] = "";
		struct dg_sql sql;

		dg_sql_scan(DG_SQL_POSTGRESQL, col_cases[i].text, strlen(col_cases[i].text), "", 0,
		            scratch, sizeof scratch, &sql);
		for (size_t c = 0; c < sql.ncolumns; c++)
			snprintf(cols + strlen(cols), sizeof cols - strlen(cols), "%s%.*s",
			         c ? " " : "", (int)sql.columns[c].len, sql.columns[c].p);
		print_message("%s\n", col_cases[i].text);
		assert_string_equal(cols, col_cases[i].columns);
	}
}

/* Names that do not fit the scratch space are left out, never cut. */
static void test_scratch_limit(void **state)
{
	const char *text = "SELECT * FROM a_long_schema.a_long_table JOIN s.t ON true";
	char scratch[12];
	struct dg_sql sql;

	(void)state;
	dg_sql_scan(DG_SQL_POSTGRESQL, text, strlen(text), "", 0, scratch, sizeof scratch, &sql);
	assert_int_equal(sql.ntables, 1);
	assert_int_equal(sql.tables[0].len, 3);
	assert_memory_equal(sql.tables[0].p, "s.t", 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_columns),
	    cmocka_unit_test(test_scratch_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
