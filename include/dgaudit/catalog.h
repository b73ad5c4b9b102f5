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
	char **paths; /* files that hold it ("/srv/data/customers*"), NULL-terminated, or NULL */
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
/* The schemas an unqualified PostgreSQL name is looked up in, for one database (NULL: every
 * database without its own), taking ownership of the NULL-terminated list; "$user" stands for
 * the session user. Without one: "$user", public, as PostgreSQL's default search_path. */
void dg_catalog_set_search_path(struct dg_catalog *c, const char *database, char **schemas);
/* The classifications from lowest to highest (NULL-terminated, owned): a statement reading
 * every column of a table takes the highest of its columns' and its own. Default C1, C2, C3
 * (JR/T 0171). */
void dg_catalog_set_levels(struct dg_catalog *c, char **levels);
/* The rank of a classification among the levels, lowest 0; -1 if it is none of them. */
int dg_catalog_level(const struct dg_catalog *c, const char *classification);
/* The levels as "C1, C2, C3", for messages. */
const char *dg_catalog_levels(struct dg_catalog *c);
/* The catalogue's name for an object as a log names it: a file path as the asset whose paths
 * hold it; an unqualified name through the database's search path, then as the one catalogued
 * table of that name. Writes it to out
 * (cap bytes) and returns its length: the name unchanged when nothing matches or it does not
 * fit. */
size_t dg_catalog_resolve(const struct dg_catalog *c, const struct dg_str *name,
                          const struct dg_str *database, const struct dg_str *user, char *out,
                          size_t cap);
/* Calls fn for each catalogued table "schema.*" covers ("*.*": every table), in catalogue
 * order; returns how many. Column entries and patterns are not tables. */
size_t dg_catalog_each(const struct dg_catalog *c, const struct dg_str *pattern,
                       void (*fn)(const char *object, void *arg), void *arg);
/* Fills dg.classification and dg.categories of evt from its dg.object, and user.roles from
 * user.name, where absent. */
void dg_catalog_enrich(const struct dg_catalog *c, struct dg_evt *evt);

#endif
