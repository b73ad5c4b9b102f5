/* The asset catalogue: table entries, column entries that outrank them when a statement names
 * the column (or selects *), patterns, and database roles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/catalog.h"
#include "dgaudit/xmalloc.h"

static struct dg_catalog *cat;

static void add(const char *object, const char *cls, const char *category, bool user)
{
	struct dg_catalog_entry e = {0};

	e.object = dg_xstrdup(object);
	e.classification = cls ? dg_xstrdup(cls) : NULL;
	e.categories = dg_xcalloc(2, sizeof *e.categories);
	e.categories[0] = dg_xstrdup(category);
	e.ncategories = 1;
	if (user)
		dg_catalog_add_user(cat, &e);
	else
		dg_catalog_add(cat, &e);
}

static int setup(void **state)
{
	(void)state;
	cat = dg_catalog_new();
	add("core.customers.id_number", "C3", "id_card", false);
	add("core.customers.phone", "C3", "phone", false);
	add("core.customers", "C2", "name", false);
	add("marketing.*", "C1", "preference", false);
	add("etl_*", NULL, "batch", true);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dg_catalog_free(cat);
	return 0;
}

/* Enriches an event on object naming columns; returns "class:cat,cat". */
static const char *enrich(const char *object, const char *const *columns, const char *user)
{
	static char out[128];
	struct dg_evt evt = {0};
	const struct dg_val *v;

	dg_evt_set(&evt, DG_F_OBJECT, object, strlen(object));
	dg_evt_set(&evt, DG_F_USER_NAME, user, strlen(user));
	for (size_t i = 0; columns != NULL && columns[i] != NULL; i++)
		dg_evt_push(&evt, DG_F_DB_COLUMNS, columns[i], strlen(columns[i]));
	dg_catalog_enrich(cat, &evt);
	v = &evt.v[DG_F_CLASSIFICATION];
	snprintf(out, sizeof out,
	         "%.*s:", dg_evt_has(&evt, DG_F_CLASSIFICATION) ? (int)v->text.len : 0,
	         v->text.p ? v->text.p : "");
	v = &evt.v[DG_F_CATEGORIES];
	for (unsigned i = 0; dg_evt_has(&evt, DG_F_CATEGORIES) && i < v->nitems; i++)
		snprintf(out + strlen(out), sizeof out - strlen(out), "%s%.*s", i ? "," : "",
		         (int)evt.items[v->first + i].len, evt.items[v->first + i].p);
	v = &evt.v[DG_F_USER_ROLES];
	if (dg_evt_has(&evt, DG_F_USER_ROLES))
		snprintf(out + strlen(out), sizeof out - strlen(out), " roles=%.*s",
		         (int)evt.items[v->first].len, evt.items[v->first].p);
	return out;
}

static void test_columns_outrank_tables(void **state)
{
	static const char *const name[] = {"name", NULL};
	static const char *const id[] = {"name", "id_number", NULL};
	static const char *const star[] = {"*", NULL};

	(void)state;
	assert_string_equal(enrich("core.customers", NULL, "a"), "C2:name");
	assert_string_equal(enrich("core.customers", name, "a"), "C2:name");
	assert_string_equal(enrich("core.customers", id, "a"), "C3:name,id_card");
	assert_string_equal(enrich("core.customers", star, "a"), "C3:name,id_card,phone");
	assert_string_equal(enrich("marketing.leads", star, "a"), "C1:preference");
	assert_string_equal(enrich("core.branches", star, "a"), ":");
}

/* Reading every column takes the highest class of the table's columns and its own, whatever
 * order the catalogue lists them in. */
static void test_every_column_takes_the_highest(void **state)
{
	static const char *const star[] = {"*", NULL};
	static const char *const two[] = {"name", "id_number", NULL};

	(void)state;
	add("core.accounts.branch", "C1", "branch", false);
	add("core.accounts.card_no", "C3", "bank_card", false);
	add("core.accounts.balance", "C2", "balance", false);
	add("core.accounts", "C2", "account", false);
	add("core.branches.city", "C1", "city", false);
	add("core.branches", "C2", "site", false);
	assert_string_equal(enrich("core.accounts", star, "a"),
	                    "C3:account,branch,bank_card,balance");
	/* the table's own class when it is the highest */
	assert_string_equal(enrich("core.branches", star, "a"), "C2:site,city");
	/* named columns: the highest of them */
	assert_string_equal(enrich("core.customers", two, "a"), "C3:name,id_card");
}

static void collect(const char *object, void *arg)
{
	snprintf((char *)arg + strlen(arg), 256 - strlen(arg), " %s", object);
}

/* Unqualified names through the database's search path, then a unique catalogued table of that
 * name; "schema.*" covers the schema's catalogued tables. */
static void test_resolve_and_cover(void **state)
{
	char out[64];
	struct dg_str bank = {"bank", 4}, dw = {"dw", 2}, ana = {"ana", 3};
	char **path = dg_xcalloc(3, sizeof *path);
	size_t n;
	char got[256] = "";

	(void)state;
	(void)n;
#define RESOLVE(name, db, want)                                                                    \
	do {                                                                                       \
		struct dg_str nm = {name, strlen(name)};                                           \
		n = dg_catalog_resolve(cat, &nm, db, &ana, out, sizeof out);                       \
		assert_int_equal(n, strlen(want));                                                 \
		assert_memory_equal(out, want, n);                                                 \
	} while (0)
	add("dw.facts", "C1", "x", false);
	add("public.facts", "C2", "x", false);
	add("ana.scratch", "C1", "x", false);
	/* the default path: "$user", public */
	RESOLVE("facts", &bank, "public.facts");
	RESOLVE("scratch", &bank, "ana.scratch");
	/* no match on the path: the one table of that name */
	RESOLVE("customers", &bank, "core.customers");
	/* two tables of that name, neither on the path: unresolved */
	path[0] = dg_xstrdup("core");
	dg_catalog_set_search_path(cat, "dw", path);
	RESOLVE("facts", &dw, "facts");
	RESOLVE("facts", &bank, "public.facts");
	RESOLVE("core.customers", &dw, "core.customers");
	RESOLVE("nothing", &bank, "nothing");
	{
		/* a file: the asset whose paths hold it */
		struct dg_catalog_entry e = {0};

		e.object = dg_xstrdup("files.customers");
		e.classification = dg_xstrdup("C3");
		e.paths = dg_xcalloc(2, sizeof *e.paths);
		e.paths[0] = dg_xstrdup("/srv/exports/*customers*");
		dg_catalog_add(cat, &e);
	}
	RESOLVE("/srv/exports/2026/customers.csv", &bank, "files.customers");
	RESOLVE("/srv/exports/accounts.csv", &bank, "/srv/exports/accounts.csv");

	{
		struct dg_str core = {"core.*", 6}, all = {"*.*", 3}, none = {"hr.*", 4};

		assert_int_equal(dg_catalog_each(cat, &core, collect, got), 3);
		assert_string_equal(got, " core.customers core.accounts core.branches");
		got[0] = '\0';
		assert_int_equal(dg_catalog_each(cat, &none, collect, got), 0);
		assert_int_equal(dg_catalog_each(cat, &all, collect, got), 6);
	}
#undef RESOLVE
}

static void test_roles(void **state)
{
	(void)state;
	assert_string_equal(enrich("core.branches", NULL, "etl_nightly"), ": roles=batch");
	assert_string_equal(enrich("core.branches", NULL, "teller"), ":");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_columns_outrank_tables),
	    cmocka_unit_test(test_roles),
	    cmocka_unit_test(test_every_column_takes_the_highest),
	    cmocka_unit_test(test_resolve_and_cover),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
