#include "dgaudit/catalog.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/cfgutil.h"
#include "dgaudit/xmalloc.h"

struct table {
	struct dg_catalog_entry *entries;
	size_t n;
};

struct dg_catalog {
	struct table assets, users;
};

struct dg_catalog *dg_catalog_new(void)
{
	return dg_xcalloc(1, sizeof(struct dg_catalog));
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->entries[i].object);
		free(t->entries[i].classification);
		dg_cfgutil_strings_free(t->entries[i].categories);
	}
	free(t->entries);
}

void dg_catalog_free(struct dg_catalog *c)
{
	if (c == NULL)
		return;
	table_free(&c->assets);
	table_free(&c->users);
	free(c);
}

static void table_add(struct table *t, struct dg_catalog_entry *entry)
{
	t->entries = dg_xreallocarray(t->entries, t->n + 1, sizeof *t->entries);
	t->entries[t->n++] = *entry;
}

void dg_catalog_add(struct dg_catalog *c, struct dg_catalog_entry *entry)
{
	table_add(&c->assets, entry);
}

void dg_catalog_add_user(struct dg_catalog *c, struct dg_catalog_entry *entry)
{
	table_add(&c->users, entry);
}

size_t dg_catalog_count(const struct dg_catalog *c)
{
	return c->assets.n;
}

static const struct dg_catalog_entry *find(const struct table *t, const char *object, size_t len)
{
	char name[256];

	if (len >= sizeof name)
		return NULL;
	memcpy(name, object, len);
	name[len] = '\0';
	for (size_t i = 0; i < t->n; i++) {
		const struct dg_catalog_entry *e = &t->entries[i];

		if (strchr(e->object, '*') != NULL ? fnmatch(e->object, name, 0) == 0
		                                   : strcmp(e->object, name) == 0)
			return e;
	}
	return NULL;
}

const struct dg_catalog_entry *dg_catalog_lookup(const struct dg_catalog *c, const char *object,
                                                 size_t len)
{
	return find(&c->assets, object, len);
}

static void push_all(struct dg_evt *evt, int field, const struct dg_catalog_entry *e)
{
	if (evt->nitems + e->ncategories > DG_MAX_ITEMS)
		return;
	for (size_t i = 0; i < e->ncategories; i++)
		dg_evt_push(evt, field, e->categories[i], strlen(e->categories[i]));
}

/* Catalogue entries for the columns a statement names: "schema.table.column", and for "*"
 * every column entry of the table. Calls fn on each; stops when it returns true. */
static void column_entries(const struct dg_catalog *c, const struct dg_str *obj,
                           const struct dg_evt *evt,
                           bool (*fn)(const struct dg_catalog_entry *, void *), void *arg)
{
	const struct dg_val *v = &evt->v[DG_F_DB_COLUMNS];
	char name[256];

	if (!dg_evt_has(evt, DG_F_DB_COLUMNS) || v->kind != DG_K_ARRAY ||
	    obj->len + 2 >= sizeof name)
		return;
	memcpy(name, obj->p, obj->len);
	name[obj->len] = '.';
	for (unsigned i = 0; i < v->nitems; i++) {
		const struct dg_str *col = &evt->items[v->first + i];

		if (col->len == 1 && col->p[0] == '*') {
			for (size_t j = 0; j < c->assets.n; j++) {
				const char *o = c->assets.entries[j].object;

				if (strncmp(o, name, obj->len + 1) == 0 &&
				    o[obj->len + 1] != '\0' &&
				    strchr(o + obj->len + 1, '.') == NULL &&
				    fn(&c->assets.entries[j], arg))
					return;
			}
		} else if (obj->len + 1 + col->len < sizeof name) {
			const struct dg_catalog_entry *e;

			memcpy(name + obj->len + 1, col->p, col->len);
			e = find(&c->assets, name, obj->len + 1 + col->len);
			if (e != NULL && fn(e, arg))
				return;
		}
	}
}

static bool first_entry(const struct dg_catalog_entry *e, void *arg)
{
	*(const struct dg_catalog_entry **)arg = e;
	return true;
}

static bool add_categories(const struct dg_catalog_entry *e, void *arg)
{
	push_all(arg, DG_F_CATEGORIES, e);
	return false;
}

void dg_catalog_enrich(const struct dg_catalog *c, struct dg_evt *evt)
{
	const struct dg_str *obj, *user;
	const struct dg_catalog_entry *e, *col = NULL;

	if (c->users.n > 0 && !dg_evt_has(evt, DG_F_USER_ROLES) &&
	    (user = dg_evt_str(evt, DG_F_USER_NAME)) != NULL &&
	    (e = find(&c->users, user->p, user->len)) != NULL)
		push_all(evt, DG_F_USER_ROLES, e);
	if (c->assets.n == 0 || (obj = dg_evt_str(evt, DG_F_OBJECT)) == NULL)
		return;
	if (dg_evt_has(evt, DG_F_CLASSIFICATION) && dg_evt_has(evt, DG_F_CATEGORIES))
		return;
	/* A column entry the statement names outranks its table's: the first one in catalogue
	 * order gives the classification, every one adds its categories. */
	column_entries(c, obj, evt, first_entry, &col);
	e = dg_catalog_lookup(c, obj->p, obj->len);
	if (e == NULL && col == NULL)
		return;
	if (!dg_evt_has(evt, DG_F_CLASSIFICATION)) {
		const char *cls = col ? col->classification : e->classification;

		dg_evt_set(evt, DG_F_CLASSIFICATION, cls, strlen(cls));
	}
	if (!dg_evt_has(evt, DG_F_CATEGORIES)) {
		if (e != NULL)
			push_all(evt, DG_F_CATEGORIES, e);
		column_entries(c, obj, evt, add_categories, evt);
	}
}
