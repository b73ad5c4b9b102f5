#include "dgaudit/cfgutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/xmalloc.h"

int dg_cfgutil_read(config_t *cfg, const char *name, const char *text, char **cause)
{
	unsigned line = 1;

	/* libconfig 1.5 exits the whole process on some @include errors (libconfig#292), so a
	 * file must never get there; rules.directories does what @include would. */
	for (const char *p = text; *p != '\0'; line++) {
		p += strspn(p, " \t");
		if (strncmp(p, "@include", 8) == 0) {
			*cause =
			    dg_xasprintf("%s:%u: @include is not supported; list rule files in "
			                 "rules.directories instead",
			                 name, line);
			return -1;
		}
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		p++;
	}
	if (config_read_string(cfg, text) == CONFIG_TRUE)
		return 0;
	*cause = dg_xasprintf("%s:%d: %s", name, config_error_line(cfg), config_error_text(cfg));
	return -1;
}

char *dg_cfgutil_where(const char *name, const config_setting_t *s)
{
	return dg_xasprintf("%s:%u", name, s ? config_setting_source_line(s) : 0);
}

int dg_cfgutil_fail(char **cause, const char *name, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = dg_xvasprintf(fmt, ap);
	va_end(ap);
	*cause = dg_xasprintf("%s:%u: %s", name, s ? config_setting_source_line(s) : 0, msg);
	free(msg);
	return -1;
}

int dg_cfgutil_known(const char *name, const config_setting_t *s, const char *const *known,
                     char **cause)
{
	int n = config_setting_length(s);

	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
		const char *key = config_setting_name(m);
		bool ok = false;

		for (size_t k = 0; known[k] != NULL && key != NULL; k++)
			ok |= strcmp(known[k], key) == 0;
		if (!ok)
			return dg_cfgutil_fail(cause, name, m, "unknown setting '%s'",
			                       key ? key : "?");
	}
	return 0;
}

const char *dg_cfgutil_string(const char *name, const config_setting_t *group, const char *key,
                              int *err, char **cause)
{
	const config_setting_t *s = config_setting_get_member(group, key);

	if (s == NULL)
		return NULL;
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		*err = dg_cfgutil_fail(cause, name, s, "'%s' must be a string", key);
		return NULL;
	}
	return config_setting_get_string(s);
}

int dg_cfgutil_strings(const char *name, const config_setting_t *s, char ***out, size_t *n,
                       char **cause)
{
	char **v;
	int len;

	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		v = dg_xcalloc(2, sizeof *v);
		v[0] = dg_xstrdup(config_setting_get_string(s));
		*out = v;
		*n = 1;
		return 0;
	}
	if (!config_setting_is_aggregate(s) || config_setting_is_group(s))
		return dg_cfgutil_fail(cause, name, s, "'%s' must be a string or a list of strings",
		                       config_setting_name(s) ? config_setting_name(s) : "value");
	len = config_setting_length(s);
	v = dg_xcalloc((size_t)len + 1, sizeof *v);
	for (int i = 0; i < len; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			dg_cfgutil_strings_free(v);
			return dg_cfgutil_fail(cause, name, e, "list elements must be strings");
		}
		v[i] = dg_xstrdup(config_setting_get_string(e));
	}
	*out = v;
	*n = (size_t)len;
	return 0;
}

void dg_cfgutil_strings_free(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

const struct dg_list *dg_cfgutil_site_list(const struct dg_site *site, const char *name)
{
	for (size_t i = 0; i < site->nlists; i++)
		if (strcmp(site->lists[i].name, name) == 0)
			return &site->lists[i];
	return NULL;
}

const struct dg_setting *dg_cfgutil_site_setting(const struct dg_site *site, const char *name)
{
	for (size_t i = 0; i < site->nsettings; i++)
		if (strcmp(site->settings[i].name, name) == 0)
			return &site->settings[i];
	return NULL;
}

static void list_clear(struct dg_list *l)
{
	free(l->name);
	dg_cfgutil_strings_free(l->items);
	free(l->where);
}

static void setting_clear(struct dg_setting *s)
{
	free(s->name);
	free(s->str);
	free(s->where);
}

/* Puts l into site, replacing a list of the same name; takes ownership of l's contents. */
static void put_list(struct dg_site *site, struct dg_list l)
{
	struct dg_list *old = (struct dg_list *)dg_cfgutil_site_list(site, l.name);

	if (old != NULL) {
		list_clear(old);
		*old = l;
		return;
	}
	site->lists = dg_xreallocarray(site->lists, site->nlists + 1, sizeof *site->lists);
	site->lists[site->nlists++] = l;
}

static void put_setting(struct dg_site *site, struct dg_setting v)
{
	struct dg_setting *old = (struct dg_setting *)dg_cfgutil_site_setting(site, v.name);

	if (old != NULL) {
		setting_clear(old);
		*old = v;
		return;
	}
	site->settings =
	    dg_xreallocarray(site->settings, site->nsettings + 1, sizeof *site->settings);
	site->settings[site->nsettings++] = v;
}

void dg_cfgutil_site_merge(struct dg_site *dst, const struct dg_site *src)
{
	for (size_t i = 0; i < src->nlists; i++) {
		const struct dg_list *l = &src->lists[i];
		struct dg_list copy = {dg_xstrdup(l->name), NULL, l->nitems, dg_xstrdup(l->where)};

		copy.items = dg_xcalloc(l->nitems + 1, sizeof *copy.items);
		for (size_t k = 0; k < l->nitems; k++)
			copy.items[k] = dg_xstrdup(l->items[k]);
		put_list(dst, copy);
	}
	for (size_t i = 0; i < src->nsettings; i++) {
		const struct dg_setting *v = &src->settings[i];

		put_setting(dst, (struct dg_setting){dg_xstrdup(v->name), v->is_int, v->num,
		                                     v->str ? dg_xstrdup(v->str) : NULL,
		                                     dg_xstrdup(v->where)});
	}
}

static int add_list(struct dg_site *site, const char *name, const config_setting_t *s,
                    bool override, char **cause)
{
	struct dg_list l = {0};
	struct dg_list *old = (struct dg_list *)dg_cfgutil_site_list(site, config_setting_name(s));

	if (old != NULL && !override)
		return dg_cfgutil_fail(cause, name, s, "list '%s' is already defined at %s",
		                       config_setting_name(s), old->where);
	if (dg_cfgutil_strings(name, s, &l.items, &l.nitems, cause) != 0)
		return -1;
	l.name = dg_xstrdup(config_setting_name(s));
	l.where = dg_cfgutil_where(name, s);
	put_list(site, l);
	return 0;
}

static int add_setting(struct dg_site *site, const char *name, const config_setting_t *s,
                       bool override, char **cause)
{
	struct dg_setting v = {0};
	struct dg_setting *old =
	    (struct dg_setting *)dg_cfgutil_site_setting(site, config_setting_name(s));

	if (old != NULL && !override)
		return dg_cfgutil_fail(cause, name, s, "setting '%s' is already defined at %s",
		                       config_setting_name(s), old->where);
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		v.is_int = true;
		v.num = config_setting_get_int64(s);
		break;
	case CONFIG_TYPE_STRING:
		v.str = dg_xstrdup(config_setting_get_string(s));
		break;
	default:
		return dg_cfgutil_fail(cause, name, s,
		                       "setting '%s' must be an integer or a string",
		                       config_setting_name(s));
	}
	v.name = dg_xstrdup(config_setting_name(s));
	v.where = dg_cfgutil_where(name, s);
	put_setting(site, v);
	return 0;
}

int dg_cfgutil_site_read(struct dg_site *site, const char *name, const config_setting_t *lists,
                         const config_setting_t *settings, bool override, char **cause)
{
	if (lists != NULL && !config_setting_is_group(lists))
		return dg_cfgutil_fail(cause, name, lists, "'lists' must be a group");
	if (settings != NULL && !config_setting_is_group(settings))
		return dg_cfgutil_fail(cause, name, settings, "'settings' must be a group");
	for (int i = 0; lists != NULL && i < config_setting_length(lists); i++)
		if (add_list(site, name, config_setting_get_elem(lists, (unsigned)i), override,
		             cause) != 0)
			return -1;
	for (int i = 0; settings != NULL && i < config_setting_length(settings); i++)
		if (add_setting(site, name, config_setting_get_elem(settings, (unsigned)i),
		                override, cause) != 0)
			return -1;
	return 0;
}

void dg_cfgutil_site_clear(struct dg_site *site)
{
	for (size_t i = 0; i < site->nlists; i++)
		list_clear(&site->lists[i]);
	for (size_t i = 0; i < site->nsettings; i++)
		setting_clear(&site->settings[i]);
	free(site->lists);
	free(site->settings);
	memset(site, 0, sizeof *site);
}
