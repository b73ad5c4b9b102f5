#include "dgaudit/catalog.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/cfgutil.h"
#include "dgaudit/xmalloc.h"

struct table {
	struct dg_catalog_entry *entries;
	size_t n;
};

struct search_path {
	char *database; /* NULL: the default */
	char **schemas;
};

struct dg_catalog {
	struct table assets, users;
	struct search_path *paths;
	size_t npaths;
	char **levels;
	char listed[256];
};

static const char *const default_levels[] = {"C1", "C2", "C3", NULL};
static const char *const default_path[] = {"$user", "public", NULL};

struct dg_catalog *dg_catalog_new(void)
{
	return dg_xcalloc(1, sizeof(struct dg_catalog));
}

void dg_catalog_set_search_path(struct dg_catalog *c, const char *database, char **schemas)
{
	for (size_t i = 0; i < c->npaths; i++)
		if ((database == NULL) == (c->paths[i].database == NULL) &&
		    (database == NULL || strcmp(database, c->paths[i].database) == 0)) {
			dg_cfgutil_strings_free(c->paths[i].schemas);
			c->paths[i].schemas = schemas;
			return;
		}
	c->paths = dg_xreallocarray(c->paths, c->npaths + 1, sizeof *c->paths);
	c->paths[c->npaths].database = database ? dg_xstrdup(database) : NULL;
	c->paths[c->npaths++].schemas = schemas;
}

static const char *const *levels_of(const struct dg_catalog *c)
{
	return c->levels ? (const char *const *)c->levels : default_levels;
}

const char *dg_catalog_levels(struct dg_catalog *c)
{
	const char *const *levels = levels_of(c);

	c->listed[0] = '\0';
	for (size_t i = 0; levels[i] != NULL; i++)
		snprintf(c->listed + strlen(c->listed), sizeof c->listed - strlen(c->listed),
		         "%s%s", i ? ", " : "", levels[i]);
	return c->listed;
}

void dg_catalog_set_levels(struct dg_catalog *c, char **levels)
{
	dg_cfgutil_strings_free(c->levels);
	c->levels = levels;
}

int dg_catalog_level(const struct dg_catalog *c, const char *cls)
{
	const char *const *levels = levels_of(c);

	for (int i = 0; levels[i] != NULL; i++)
		if (strcmp(levels[i], cls) == 0)
			return i;
	return -1;
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->entries[i].object);
		free(t->entries[i].classification);
		dg_cfgutil_strings_free(t->entries[i].categories);
		dg_cfgutil_strings_free(t->entries[i].paths);
	}
	free(t->entries);
}

void dg_catalog_free(struct dg_catalog *c)
{
	if (c == NULL)
		return;
	table_free(&c->assets);
	table_free(&c->users);
	for (size_t i = 0; i < c->npaths; i++) {
		free(c->paths[i].database);
		dg_cfgutil_strings_free(c->paths[i].schemas);
	}
	free(c->paths);
	dg_cfgutil_strings_free(c->levels);
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

/* A table entry: "schema.table", no pattern. */
static bool table_entry(const char *o)
{
	const char *dot = strchr(o, '.');

	return dot != NULL && strchr(dot + 1, '.') == NULL && strchr(o, '*') == NULL;
}

size_t dg_catalog_resolve(const struct dg_catalog *c, const struct dg_str *name,
                          const struct dg_str *database, const struct dg_str *user, char *out,
                          size_t cap)
{
	const char *const *path = default_path;
	const struct dg_catalog_entry *only = NULL;
	size_t matches = 0;

	if (name->len >= cap)
		return 0;
	memcpy(out, name->p, name->len);
	if (name->len > 0 && name->p[0] == '/') {
		/* a file: the asset it holds ('*' matches across '/') */
		out[name->len] = '\0';
		for (size_t i = 0; i < c->assets.n; i++)
			for (char **pat = c->assets.entries[i].paths; pat && *pat; pat++)
				if (fnmatch(*pat, out, 0) == 0 &&
				    strlen(c->assets.entries[i].object) < cap) {
					strcpy(out, c->assets.entries[i].object);
					return strlen(out);
				}
		return name->len;
	}
	if (memchr(name->p, '.', name->len) != NULL || c->assets.n == 0)
		return name->len;
	for (size_t i = 0; i < c->npaths; i++)
		if (c->paths[i].database == NULL ||
		    (database != NULL && dg_str_is(database, c->paths[i].database))) {
			path = (const char *const *)c->paths[i].schemas;
			if (c->paths[i].database != NULL)
				break;
		}
	for (size_t i = 0; path[i] != NULL; i++) {
		struct dg_str schema = {path[i], strlen(path[i])};

		if (strcmp(path[i], "$user") == 0) {
			if (user == NULL)
				continue;
			schema = *user;
		}
		if (schema.len + 1 + name->len >= cap)
			continue;
		memcpy(out, schema.p, schema.len);
		out[schema.len] = '.';
		memcpy(out + schema.len + 1, name->p, name->len);
		if (dg_catalog_lookup(c, out, schema.len + 1 + name->len) != NULL)
			return schema.len + 1 + name->len;
	}
	for (size_t i = 0; i < c->assets.n; i++) {
		const char *o = c->assets.entries[i].object, *dot = strchr(o, '.');

		if (table_entry(o) && c->assets.entries[i].paths == NULL &&
		    strlen(dot + 1) == name->len && memcmp(dot + 1, name->p, name->len) == 0 &&
		    matches++ == 0)
			only = &c->assets.entries[i];
	}
	if (matches == 1 && strlen(only->object) < cap) {
		memcpy(out, only->object, strlen(only->object));
		return strlen(only->object);
	}
	memcpy(out, name->p, name->len);
	return name->len;
}

size_t dg_catalog_each(const struct dg_catalog *c, const struct dg_str *pattern,
                       void (*fn)(const char *object, void *arg), void *arg)
{
	size_t n = 0, schema;

	if (pattern->len < 2 || memcmp(pattern->p + pattern->len - 2, ".*", 2) != 0)
		return 0;
	schema = pattern->len - 2;
	for (size_t i = 0; i < c->assets.n; i++) {
		const char *o = c->assets.entries[i].object;

		if (!table_entry(o) || c->assets.entries[i].paths != NULL) /* files are no tables */
			continue;
		if (!(schema == 1 && pattern->p[0] == '*') &&
		    (strncmp(o, pattern->p, schema) != 0 || o[schema] != '.'))
			continue;
		fn(o, arg);
		n++;
	}
	return n;
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

struct highest {
	const struct dg_catalog *c;
	const struct dg_catalog_entry *e;
};

/* The highest classified of the column entries, the first of equals. */
static bool highest_entry(const struct dg_catalog_entry *e, void *arg)
{
	struct highest *h = arg;

	if (h->e == NULL || dg_catalog_level(h->c, e->classification) >
	                        dg_catalog_level(h->c, h->e->classification))
		h->e = e;
	return false;
}

/* Whether the statement reads every column. */
static bool all_columns(const struct dg_evt *evt)
{
	const struct dg_val *v = &evt->v[DG_F_DB_COLUMNS];

	if (!dg_evt_has(evt, DG_F_DB_COLUMNS) || v->kind != DG_K_ARRAY)
		return false;
	for (unsigned i = 0; i < v->nitems; i++)
		if (evt->items[v->first + i].len == 1 && evt->items[v->first + i].p[0] == '*')
			return true;
	return false;
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
	/* A column entry the statement names outranks its table's: the highest of them gives the
	 * classification, every one adds its categories. Reading every column ("*", COPY of the
	 * table) takes the highest of the columns' and the table's own. */
	{
		struct highest h = {c, NULL};

		column_entries(c, obj, evt, highest_entry, &h);
		col = h.e;
	}
	e = dg_catalog_lookup(c, obj->p, obj->len);
	if (e == NULL && col == NULL)
		return;
	if (e != NULL && col != NULL && all_columns(evt) &&
	    dg_catalog_level(c, e->classification) >= dg_catalog_level(c, col->classification))
		col = NULL;
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
