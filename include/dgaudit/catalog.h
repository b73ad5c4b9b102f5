/* The asset catalogue: which data assets hold what. Maps an object name (exact, or a pattern
 * with '*') to its classification and categories, and fills those fields into events that name
 * the object but do not carry them (database logs never do). */
#ifndef DGAUDIT_CATALOG_H
#define DGAUDIT_CATALOG_H

#include <stddef.h>

#include "dgaudit/evt.h"

struct dg_catalog_entry {
	char *object; /* "core.customers" or "core.customer_*" */
	char *classification;
	char **categories; /* NULL-terminated */
	size_t ncategories;
};

struct dg_catalog;

struct dg_catalog *dg_catalog_new(void);
void dg_catalog_free(struct dg_catalog *c);
/* Adds an entry, taking ownership of its strings. Earlier entries win over later ones. */
void dg_catalog_add(struct dg_catalog *c, struct dg_catalog_entry *entry);
/* Adds a database user (exact, or a pattern with '*') and its roles (held in categories). */
void dg_catalog_add_user(struct dg_catalog *c, struct dg_catalog_entry *entry);
size_t dg_catalog_count(const struct dg_catalog *c);
/* The entry for an object, or NULL. */
const struct dg_catalog_entry *dg_catalog_lookup(const struct dg_catalog *c, const char *object,
                                                 size_t len);
/* Fills dg.classification and dg.categories of evt from its dg.object, and user.roles from
 * user.name, where absent. */
void dg_catalog_enrich(const struct dg_catalog *c, struct dg_evt *evt);

#endif
