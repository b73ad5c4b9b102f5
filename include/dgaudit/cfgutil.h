/* libconfig helpers shared by the configuration and rule loaders: reading a file or text with
 * errors as "file:line: what is wrong", typed lookups that name the offending line, and the
 * named lists and settings both kinds of file may hold. */
#ifndef DGAUDIT_CFGUTIL_H
#define DGAUDIT_CFGUTIL_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A named list of strings (recipients, countries, CIDRs, roles...). */
struct dg_list {
	char *name;
	char **items;
	size_t nitems;
	char *where; /* "file:line" of its definition */
};

/* A named scalar: an integer or a string (durations are strings like "1h"). */
struct dg_setting {
	char *name;
	bool is_int;
	int64_t num;
	char *str;
	char *where;
};

struct dg_site {
	struct dg_list *lists;
	size_t nlists;
	struct dg_setting *settings;
	size_t nsettings;
};

/* Parses text (named name in messages) into cfg, which the caller has initialised. Returns 0,
 * or -1 with *cause "name:line: error". @include is refused. */
int dg_cfgutil_read(config_t *cfg, const char *name, const char *text, char **cause);
/* "file:line" for a setting; name is the file name used when the text was read. */
char *dg_cfgutil_where(const char *name, const config_setting_t *s);
/* Formats *cause as "file:line: message". Always returns -1. */
int dg_cfgutil_fail(char **cause, const char *name, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Fails unless every member of group s is one of the NULL-terminated names: catches typos. */
int dg_cfgutil_known(const char *name, const config_setting_t *s, const char *const *known,
                     char **cause);
/* A string member; NULL if absent, -1 (with cause) in *err if present but not a string. */
const char *dg_cfgutil_string(const char *name, const config_setting_t *group, const char *key,
                              int *err, char **cause);
/* Reads a string or an array/list of strings into a new NULL-terminated vector (*n items). */
int dg_cfgutil_strings(const char *name, const config_setting_t *s, char ***out, size_t *n,
                       char **cause);
void dg_cfgutil_strings_free(char **v);

/* Adds the lists and settings groups of a file to site; a name already present is replaced
 * when override is true and is an error otherwise. */
int dg_cfgutil_site_read(struct dg_site *site, const char *name, const config_setting_t *lists,
                         const config_setting_t *settings, bool override, char **cause);
/* Copies every list and setting of src into dst, replacing those of the same name. */
void dg_cfgutil_site_merge(struct dg_site *dst, const struct dg_site *src);
const struct dg_list *dg_cfgutil_site_list(const struct dg_site *site, const char *name);
const struct dg_setting *dg_cfgutil_site_setting(const struct dg_site *site, const char *name);
void dg_cfgutil_site_clear(struct dg_site *site);

#endif
