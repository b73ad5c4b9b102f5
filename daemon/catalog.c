#include "dgaudit/catalog.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/cfgutil.h"
#include "dgaudit/xmalloc.h"

struct dg_catalog {
	struct dg_catalog_entry *entries;
	size_t n;
};

struct dg_catalog *dg_catalog_new(void)
{
	return dg_xcalloc(1, sizeof(struct dg_catalog));
}

void dg_catalog_free(struct dg_catalog *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->entries[i].object);
		free(c->entries[i].classification);
		dg_cfgutil_strings_free(c->entries[i].categories);
	}
	free(c->entries);
	free(c);
}

void dg_catalog_add(struct dg_catalog *c, struct dg_catalog_entry *entry)
{
	c->entries = dg_xreallocarray(c->entries, c->n + 1, sizeof *c->entries);
	c->entries[c->n++] = *entry;
}

size_t dg_catalog_count(const struct dg_catalog *c)
{
	return c->n;
}

const struct dg_catalog_entry *dg_catalog_lookup(const struct dg_catalog *c, const char *object,
                                                 size_t len)
{
	char name[256];

	if (len >= sizeof name)
		return NULL;
	memcpy(name, object, len);
	name[len] = '\0';
	for (size_t i = 0; i < c->n; i++) {
		const struct dg_catalog_entry *e = &c->entries[i];

		if (strchr(e->object, '*') != NULL ? fnmatch(e->object, name, 0) == 0
		                                   : strcmp(e->object, name) == 0)
			return e;
	}
	return NULL;
}

void dg_catalog_enrich(const struct dg_catalog *c, struct dg_evt *evt)
{
	const struct dg_str *obj;
	const struct dg_catalog_entry *e;

	if (c->n == 0 || (obj = dg_evt_str(evt, DG_F_OBJECT)) == NULL)
		return;
	if (dg_evt_has(evt, DG_F_CLASSIFICATION) && dg_evt_has(evt, DG_F_CATEGORIES))
		return;
	e = dg_catalog_lookup(c, obj->p, obj->len);
	if (e == NULL)
		return;
	if (!dg_evt_has(evt, DG_F_CLASSIFICATION)) {
		struct dg_val *v = &evt->v[DG_F_CLASSIFICATION];

		v->kind = DG_K_STR;
		v->text.p = e->classification;
		v->text.len = strlen(e->classification);
		evt->present |= 1ULL << DG_F_CLASSIFICATION;
	}
	if (!dg_evt_has(evt, DG_F_CATEGORIES) && e->ncategories > 0 &&
	    evt->nitems + e->ncategories <= DG_MAX_ITEMS) {
		struct dg_val *v = &evt->v[DG_F_CATEGORIES];

		v->kind = DG_K_ARRAY;
		v->first = (uint16_t)evt->nitems;
		v->nitems = (uint16_t)e->ncategories;
		for (size_t i = 0; i < e->ncategories; i++) {
			evt->items[evt->nitems].p = e->categories[i];
			evt->items[evt->nitems++].len = strlen(e->categories[i]);
		}
		evt->present |= 1ULL << DG_F_CATEGORIES;
	}
}
