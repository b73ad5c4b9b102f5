/* libconfig helpers shared by the configuration and rule loaders: reading a file or text with
 * errors as "file:line: what is wrong", a list that collects every such error so one `check`
 * reports them all, typed lookups that name the offending line and suggest the name meant, and
 * the named lists, settings, schedules and fields both kinds of file may declare. */
#ifndef DGAUDIT_CFGUTIL_H
#define DGAUDIT_CFGUTIL_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dgaudit/evt.h"

/* Every mistake found while loading, in the order found, each "file:line: what is wrong". */
struct dg_diag {
	char **msgs;
	size_t n;
	size_t dropped; /* beyond DG_DIAG_MAX, counted only */
};

#define DG_DIAG_MAX 200

void dg_diag_add(struct dg_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Adds "name:line: message" for setting s (line 0 without one). Always returns -1. */
int dg_diag_fail(struct dg_diag *d, const char *name, const config_setting_t *s, const char *fmt,
                 ...) __attribute__((format(printf, 4, 5)));
/* The messages, one a line (no final newline), or NULL if there are none; caller frees. */
char *dg_diag_text(const struct dg_diag *d);
void dg_diag_clear(struct dg_diag *d);

/* The candidate closest to name by edit distance, if close enough to be a likely typo;
 * NULL otherwise. */
const char *dg_cfgutil_suggest(const char *name, const char *const *candidates, size_t n);
/* " (did you mean 'x'?)" for the suggestion, or "": a static buffer, valid until next call. */
const char *dg_cfgutil_did_you_mean(const char *name, const char *const *candidates, size_t n);

/* Reads another file a configuration or rule pack names (a list file), relative to the file
 * that names it; NULL with *cause. Returns text the caller frees. */
typedef char *dg_cfgutil_reader(void *arg, const char *from, const char *path, size_t *len,
                                char **cause);

/* Parses text (named name in messages) into cfg, which the caller has initialised. Returns 0,
 * or -1 with "name:line: error" in d, explained where libconfig says only "syntax error".
 * @include is refused. */
int dg_cfgutil_read(config_t *cfg, const char *name, const char *text, struct dg_diag *d);
/* "file:line" for a setting; name is the file name used when the text was read. */
char *dg_cfgutil_where(const char *name, const config_setting_t *s);
/* Fails unless every member of group s is one of the NULL-terminated names: catches typos,
 * suggesting the name meant. */
int dg_cfgutil_known(const char *name, const config_setting_t *s, const char *const *known,
                     struct dg_diag *d);
/* A string member; NULL if absent, and -1 in *err (with a message) if present but not a
 * string. */
const char *dg_cfgutil_string(const char *name, const config_setting_t *group, const char *key,
                              int *err, struct dg_diag *d);
/* Reads a string or an array/list of strings into a new NULL-terminated vector (*n items). */
int dg_cfgutil_strings(const char *name, const config_setting_t *s, char ***out, size_t *n,
                       struct dg_diag *d);
void dg_cfgutil_strings_free(char **v);
/* A duration ("90s", "10m", "1h", "1d", or an integer of seconds) between min_ms and max_ms;
 * absent leaves *out as it is. */
int dg_cfgutil_duration(const char *name, const config_setting_t *g, const char *key,
                        int64_t min_ms, int64_t max_ms, int64_t *out, struct dg_diag *d);
/* Formats a duration in the largest unit that divides it: "90s", "10m", "1h". */
void dg_cfgutil_format_duration(int64_t ms, char *buf, size_t len);

/* ---- named values: lists, settings, schedules, fields --------------------------------------- */

enum dg_list_type { DG_LIST_STRING, DG_LIST_CIDR, DG_LIST_DATE };

/* A named list of strings (recipients, countries, CIDR blocks, dates...). */
struct dg_list {
	char *name;
	char **items; /* NULL-terminated; dates are "YYYY-MM-DD", blocks are checked */
	size_t nitems;
	enum dg_list_type type;
	bool ignore_case; /* string lists: matched without regard to ASCII case */
	char *file;       /* the file the items came from, or NULL */
	char *where;      /* "file:line" of its definition */
};

/* A named scalar: an integer or a string (durations are strings like "1h"). */
struct dg_setting {
	char *name;
	bool is_int;
	int64_t num;
	char *str;
	char *where;
};

#define DG_SCHEDULE_MAX_RANGES 8

/* A named schedule as written: compiled (zone loaded, lists resolved) by the rule loader. */
struct dg_schedule_def {
	char *name;
	char *timezone;
	unsigned days; /* bit 0 = Monday ... bit 6 = Sunday */
	int from[DG_SCHEDULE_MAX_RANGES], to[DG_SCHEDULE_MAX_RANGES]; /* minutes of the day */
	size_t nranges;
	char *holidays, *workdays; /* date lists taken out, added; NULL for none */
	char *where;
};

/* A field beyond the event model that a log carries and rules may test. */
struct dg_field_def {
	char *name;
	enum dg_field_type type;
	char *where;
};

struct dg_site {
	struct dg_list *lists;
	size_t nlists;
	struct dg_setting *settings;
	size_t nsettings;
	struct dg_schedule_def *schedules;
	size_t nschedules;
	struct dg_field_def *fields;
	size_t nfields;
};

/* What a file may declare, each group NULL when absent; name is the file for messages and for
 * resolving list files through read. */
struct dg_site_groups {
	const config_setting_t *lists, *settings, *schedules, *fields;
};

/* Adds the declarations of a file to site; a name already present is replaced when override is
 * true and is an error otherwise. Errors go to d; what is valid is added. */
int dg_cfgutil_site_read(struct dg_site *site, const char *name, const struct dg_site_groups *g,
                         bool override, dg_cfgutil_reader *read, void *read_arg, struct dg_diag *d);
/* Appends the entries of a list file to *items (NULL-terminated, *n of them): one a line, '#'
 * starts a comment, blanks around an entry are dropped. */
void dg_cfgutil_list_items(const char *text, char ***items, size_t *n);
/* Copies every declaration of src into dst, replacing those of the same name. */
void dg_cfgutil_site_merge(struct dg_site *dst, const struct dg_site *src);
const struct dg_list *dg_cfgutil_site_list(const struct dg_site *site, const char *name);
const struct dg_setting *dg_cfgutil_site_setting(const struct dg_site *site, const char *name);
const struct dg_schedule_def *dg_cfgutil_site_schedule(const struct dg_site *site,
                                                       const char *name);
void dg_cfgutil_site_clear(struct dg_site *site);
/* Names of field types, for messages: "string", "strings", "number", "ip", "time", "bool". */
const char *dg_cfgutil_type_name(enum dg_field_type t);

#endif
