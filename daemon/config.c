#include "dgaudit/config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/buf.h"
#include "dgaudit/builtin.h"
#include "dgaudit/fileio.h"
#include "dgaudit/pglog.h"
#include "dgaudit/pipeline.h"
#include "dgaudit/ts.h"
#include "dgaudit/xmalloc.h"

#define DEFAULT_MAX_LINE (1024 * 1024)

#define MAX_CONFIG_BYTES (16 * 1024 * 1024)

/* Relative paths in a file are relative to the file's directory. */
static char *resolve(const char *base_file, const char *p)
{
	const char *slash;

	if (p[0] == '/' || base_file == NULL || (slash = strrchr(base_file, '/')) == NULL)
		return dg_xstrdup(p);
	return dg_xasprintf("%.*s/%s", (int)(slash - base_file), base_file, p);
}

/* A log_line_prefix is refused here, with its place, rather than when a log is read. */
static int check_prefix(const char *name, const config_setting_t *s, const char *prefix,
                        char **cause)
{
	struct dg_pglog *pg;
	char *why = NULL;

	if (prefix == NULL)
		return 0;
	pg = dg_pglog_new(DG_PGLOG_STDERR, prefix, NULL, 256, &why);
	if (pg != NULL) {
		dg_pglog_free(pg);
		return 0;
	}
	dg_cfgutil_fail(cause, name, s, "%s", why);
	free(why);
	return -1;
}

static struct dg_tz *load_tz(const char *name, const config_setting_t *s, const char *spec,
                             char **cause)
{
	char *why = NULL;
	struct dg_tz *tz = dg_tz_load(spec, &why);

	if (tz == NULL) {
		dg_cfgutil_fail(cause, name, s, "%s", why);
		free(why);
	}
	return tz;
}

static int read_databases(struct dg_config *cfg, const char *name, const config_setting_t *s,
                          char **cause)
{
	static const char *const known[] = {"log_line_prefix", "timezone", NULL};
	const char *prefix, *tz;
	int err = 0;

	if (!config_setting_is_group(s))
		return dg_cfgutil_fail(cause, name, s, "databases is a group");
	if (dg_cfgutil_known(name, s, known, cause) != 0)
		return -1;
	prefix = dg_cfgutil_string(name, s, "log_line_prefix", &err, cause);
	tz = dg_cfgutil_string(name, s, "timezone", &err, cause);
	if (err ||
	    check_prefix(name, config_setting_get_member(s, "log_line_prefix"), prefix, cause) != 0)
		return -1;
	if (prefix != NULL) {
		free(cfg->pg_prefix);
		cfg->pg_prefix = dg_xstrdup(prefix);
	}
	if (tz != NULL) {
		struct dg_tz *z =
		    load_tz(name, config_setting_get_member(s, "timezone"), tz, cause);

		if (z == NULL)
			return -1;
		dg_tz_free(cfg->tz);
		cfg->tz = z;
	}
	return 0;
}

/* Database roles: which roles a database user holds, for user.roles. */
static int read_roles(struct dg_config *cfg, const char *name, const config_setting_t *s,
                      char **cause)
{
	static const char *const known[] = {"user", "roles", NULL};

	if (!config_setting_is_list(s))
		return dg_cfgutil_fail(
		    cause, name, s, "roles is a list: ( { user = \"dba\"; roles = [\"dba\"]; } )");
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i), *r;
		struct dg_catalog_entry entry = {0};
		const char *user;
		int err = 0;

		if (!config_setting_is_group(e))
			return dg_cfgutil_fail(cause, name, e, "each role entry is a group");
		if (dg_cfgutil_known(name, e, known, cause) != 0)
			return -1;
		user = dg_cfgutil_string(name, e, "user", &err, cause);
		if (err)
			return -1;
		r = config_setting_get_member(e, "roles");
		if (user == NULL || r == NULL)
			return dg_cfgutil_fail(cause, name, e, "role entry needs user and roles");
		if (dg_cfgutil_strings(name, r, &entry.categories, &entry.ncategories, cause) != 0)
			return -1;
		entry.object = dg_xstrdup(user);
		dg_catalog_add_user(cfg->catalog, &entry);
	}
	return 0;
}

static int read_sources(struct dg_config *cfg, const char *name, const config_setting_t *s,
                        char **cause)
{
	static const char *const known[] = {"path", "format", "log_line_prefix", "timezone", NULL};
	int n;

	if (!config_setting_is_list(s))
		return dg_cfgutil_fail(
		    cause, name, s,
		    "sources is a list: ( { path = \"...\"; format = \"json\"; } )");
	n = config_setting_length(s);
	cfg->sources = dg_xcalloc((size_t)n + 1, sizeof *cfg->sources);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *path, *format, *prefix, *tz;
		int err = 0;

		if (!config_setting_is_group(e) || dg_cfgutil_known(name, e, known, cause) != 0)
			return config_setting_is_group(e)
			           ? -1
			           : dg_cfgutil_fail(cause, name, e, "each source is a group");
		path = dg_cfgutil_string(name, e, "path", &err, cause);
		format = dg_cfgutil_string(name, e, "format", &err, cause);
		prefix = dg_cfgutil_string(name, e, "log_line_prefix", &err, cause);
		tz = dg_cfgutil_string(name, e, "timezone", &err, cause);
		if (err)
			return -1;
		if (path == NULL)
			return dg_cfgutil_fail(cause, name, e, "source needs a path");
		if (format != NULL && dg_pipeline_format_parse(format) < 0)
			return dg_cfgutil_fail(cause, name, e, "unknown format '%s' (%s)", format,
			                       DG_FORMAT_NAMES);
		if (check_prefix(name, e, prefix, cause) != 0)
			return -1;
		if (tz != NULL &&
		    (cfg->sources[i].tz = load_tz(name, config_setting_get_member(e, "timezone"),
		                                  tz, cause)) == NULL)
			return -1;
		cfg->sources[i].prefix = prefix ? dg_xstrdup(prefix) : NULL;
		cfg->sources[i].path = resolve(name, path);
		cfg->sources[i].format = dg_xstrdup(format ? format : "auto");
		cfg->nsources++;
	}
	return 0;
}

static int read_assets(struct dg_config *cfg, const char *name, const config_setting_t *s,
                       char **cause)
{
	static const char *const known[] = {"object", "classification", "categories", NULL};

	if (!config_setting_is_list(s))
		return dg_cfgutil_fail(cause, name, s,
		                       "assets is a list: ( { object = \"core.customers\"; "
		                       "classification = \"C3\"; categories = [...]; } )");
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const config_setting_t *cats;
		struct dg_catalog_entry entry = {0};
		const char *obj, *cls;
		int err = 0;

		if (!config_setting_is_group(e))
			return dg_cfgutil_fail(cause, name, e, "each asset is a group");
		if (dg_cfgutil_known(name, e, known, cause) != 0)
			return -1;
		obj = dg_cfgutil_string(name, e, "object", &err, cause);
		cls = dg_cfgutil_string(name, e, "classification", &err, cause);
		if (err)
			return -1;
		if (obj == NULL || cls == NULL)
			return dg_cfgutil_fail(cause, name, e,
			                       "asset needs object and classification");
		cats = config_setting_get_member(e, "categories");
		if (cats != NULL && dg_cfgutil_strings(name, cats, &entry.categories,
		                                       &entry.ncategories, cause) != 0)
			return -1;
		entry.object = dg_xstrdup(obj);
		entry.classification = dg_xstrdup(cls);
		dg_catalog_add(cfg->catalog, &entry);
	}
	return 0;
}

static int read_map(struct dg_config *cfg, const char *name, const config_setting_t *s,
                    char **cause)
{
	if (!config_setting_is_list(s))
		return dg_cfgutil_fail(
		    cause, name, s, "map is a list: ( { from = \"actor\"; to = \"user.name\"; } )");
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *from, *to;
		char *why = NULL;
		int err = 0, f;

		from = dg_cfgutil_string(name, e, "from", &err, cause);
		to = dg_cfgutil_string(name, e, "to", &err, cause);
		if (err)
			return -1;
		if (from == NULL || to == NULL)
			return dg_cfgutil_fail(cause, name, e, "map entry needs from and to");
		f = dg_schema_add(cfg->schema, to, &why);
		if (f < 0 || dg_schema_alias(cfg->schema, from, f, &why) != 0) {
			dg_cfgutil_fail(cause, name, e, "%s", why);
			free(why);
			return -1;
		}
	}
	return 0;
}

static int get_duration(const char *name, const config_setting_t *g, const char *key, int64_t *out,
                        char **cause)
{
	const config_setting_t *s = config_setting_get_member(g, key);

	if (s == NULL)
		return 0;
	if (config_setting_type(s) == CONFIG_TYPE_INT) {
		*out = (int64_t)config_setting_get_int(s) * 1000;
	} else if (config_setting_type(s) != CONFIG_TYPE_STRING ||
	           !dg_ts_duration(config_setting_get_string(s), out)) {
		return dg_cfgutil_fail(cause, name, s, "%s needs a duration such as \"10m\"", key);
	}
	return 0;
}

static int get_size(const char *name, const config_setting_t *g, const char *key, size_t min,
                    size_t max, size_t *out, char **cause)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	long long v;

	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64)
		return dg_cfgutil_fail(cause, name, s, "%s needs an integer", key);
	v = config_setting_get_int64(s);
	if (v < (long long)min || v > (long long)max)
		return dg_cfgutil_fail(cause, name, s, "%s must be between %zu and %zu", key, min,
		                       max);
	*out = (size_t)v;
	return 0;
}

static int get_path(const char *name, const config_setting_t *g, const char *key, char **out,
                    char **cause)
{
	int err = 0;
	const char *v = dg_cfgutil_string(name, g, key, &err, cause);

	if (err)
		return -1;
	if (v != NULL)
		*out = resolve(name, v);
	return 0;
}

static int read_groups(struct dg_config *cfg, const char *name, config_t *c, char **cause)
{
	static const char *const top[] = {
	    "sources", "state_directory", "report", "limits",    "rules", "assets", "map",
	    "lists",   "settings",        "daemon", "databases", "roles", NULL};
	static const char *const report_keys[] = {"directory", "key",           "pseudonym_key",
	                                          "interval",  "max_malformed", NULL};
	static const char *const limit_keys[] = {"max_line", "lateness", NULL};
	static const char *const rule_keys[] = {"directories", "disable", NULL};
	static const char *const daemon_keys[] = {"metrics",  "poll",         "findings",
	                                          "max_held", "rotated_idle", NULL};
	config_setting_t *root = config_root_setting(c), *s;

	if (dg_cfgutil_known(name, root, top, cause) != 0)
		return -1;
	/* before sources, whose settings default to these */
	if ((s = config_setting_get_member(root, "databases")) &&
	    read_databases(cfg, name, s, cause))
		return -1;
	if ((s = config_setting_get_member(root, "sources")) && read_sources(cfg, name, s, cause))
		return -1;
	if ((s = config_setting_get_member(root, "roles")) && read_roles(cfg, name, s, cause))
		return -1;
	if (get_path(name, root, "state_directory", &cfg->state_dir, cause) != 0)
		return -1;
	if ((s = config_setting_get_member(root, "report")) != NULL) {
		if (!config_setting_is_group(s) ||
		    dg_cfgutil_known(name, s, report_keys, cause) != 0 ||
		    get_path(name, s, "directory", &cfg->report_dir, cause) != 0 ||
		    get_path(name, s, "key", &cfg->key_path, cause) != 0 ||
		    get_path(name, s, "pseudonym_key", &cfg->pseudonym_key_path, cause) != 0 ||
		    get_duration(name, s, "interval", &cfg->report_interval_ms, cause) != 0 ||
		    get_size(name, s, "max_malformed", 0, 1000000, &cfg->max_malformed_listed,
		             cause) != 0)
			return *cause ? -1 : dg_cfgutil_fail(cause, name, s, "report is a group");
	}
	if ((s = config_setting_get_member(root, "limits")) != NULL) {
		if (!config_setting_is_group(s) ||
		    dg_cfgutil_known(name, s, limit_keys, cause) != 0 ||
		    get_size(name, s, "max_line", 256, 256 * 1024 * 1024, &cfg->max_line, cause) ||
		    get_duration(name, s, "lateness", &cfg->lateness_ms, cause) != 0)
			return *cause ? -1 : dg_cfgutil_fail(cause, name, s, "limits is a group");
	}
	if ((s = config_setting_get_member(root, "daemon")) != NULL) {
		int err = 0;
		const char *m;

		if (!config_setting_is_group(s) ||
		    dg_cfgutil_known(name, s, daemon_keys, cause) != 0 ||
		    get_duration(name, s, "poll", &cfg->poll_ms, cause) != 0)
			return *cause ? -1 : dg_cfgutil_fail(cause, name, s, "daemon is a group");
		m = dg_cfgutil_string(name, s, "metrics", &err, cause);
		if (err)
			return -1;
		if (config_setting_get_member(s, "metrics") != NULL) {
			free(cfg->metrics_listen);
			cfg->metrics_listen = m && *m ? dg_xstrdup(m) : NULL;
		}
		if (get_path(name, s, "findings", &cfg->findings_path, cause) != 0 ||
		    get_size(name, s, "max_held", 1, 4096, &cfg->max_held, cause) != 0 ||
		    get_duration(name, s, "rotated_idle", &cfg->rotated_idle_ms, cause) != 0)
			return -1;
	}
	if ((s = config_setting_get_member(root, "rules")) != NULL) {
		const config_setting_t *d;
		size_t n;

		if (!config_setting_is_group(s) || dg_cfgutil_known(name, s, rule_keys, cause) != 0)
			return *cause ? -1 : dg_cfgutil_fail(cause, name, s, "rules is a group");
		if ((d = config_setting_get_member(s, "directories")) != NULL) {
			if (dg_cfgutil_strings(name, d, &cfg->rule_dirs, &n, cause) != 0)
				return -1;
			for (size_t i = 0; i < n; i++) {
				char *abs = resolve(name, cfg->rule_dirs[i]);

				free(cfg->rule_dirs[i]);
				cfg->rule_dirs[i] = abs;
			}
		}
		if ((d = config_setting_get_member(s, "disable")) != NULL &&
		    dg_cfgutil_strings(name, d, &cfg->disabled_rules, &n, cause) != 0)
			return -1;
	}
	if ((s = config_setting_get_member(root, "assets")) && read_assets(cfg, name, s, cause))
		return -1;
	if ((s = config_setting_get_member(root, "map")) && read_map(cfg, name, s, cause))
		return -1;
	return dg_cfgutil_site_read(&cfg->site, name, config_setting_get_member(root, "lists"),
	                            config_setting_get_member(root, "settings"), false, cause);
}

static int pack_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collects the *.conf files of the rule directories, in name order within each. */
static int load_packs(struct dg_config *cfg, struct dg_rules_text **packs, char **cause)
{
	size_t n = 0;

	if (cfg->rule_dirs == NULL) {
		for (; dg_builtin_packs[n].name != NULL; n++)
			;
		*packs = dg_xcalloc(n + 1, sizeof **packs);
		cfg->pack_names = dg_xcalloc(n + 1, sizeof *cfg->pack_names);
		for (size_t i = 0; i < n; i++) {
			cfg->pack_names[i] = dg_xasprintf("builtin:%s", dg_builtin_packs[i].name);
			(*packs)[i].name = cfg->pack_names[i];
			(*packs)[i].text = dg_builtin_packs[i].text;
		}
		cfg->npacks = n;
		return 0;
	}
	*packs = NULL;
	for (size_t d = 0; cfg->rule_dirs[d] != NULL; d++) {
		DIR *dir = opendir(cfg->rule_dirs[d]);
		struct dirent *de;
		char **names = NULL;
		size_t nn = 0;

		if (dir == NULL) {
			*cause = dg_xasprintf("%s: rule directory %s: %s", cfg->path,
			                      cfg->rule_dirs[d], strerror(errno));
			return -1;
		}
		while ((de = readdir(dir)) != NULL) {
			size_t len = strlen(de->d_name);

			if (len > 5 && de->d_name[0] != '.' &&
			    strcmp(de->d_name + len - 5, ".conf") == 0) {
				names = dg_xreallocarray(names, nn + 1, sizeof *names);
				names[nn++] = dg_xasprintf("%s/%s", cfg->rule_dirs[d], de->d_name);
			}
		}
		closedir(dir);
		qsort(names, nn, sizeof *names, pack_cmp);
		cfg->pack_names =
		    dg_xreallocarray(cfg->pack_names, n + nn + 1, sizeof *cfg->pack_names);
		memcpy(cfg->pack_names + n, names, nn * sizeof *names);
		free(names);
		n += nn;
		cfg->pack_names[n] = NULL;
		cfg->npacks = n;
	}
	*packs = dg_xcalloc(n + 1, sizeof **packs);
	for (size_t i = 0; i < n; i++) {
		size_t len;

		(*packs)[i].name = cfg->pack_names[i];
		(*packs)[i].text =
		    dg_fileio_read(cfg->pack_names[i], MAX_CONFIG_BYTES, &len, cause);
		if ((*packs)[i].text == NULL)
			return -1;
	}
	return 0;
}

struct dg_config *dg_config_load(const char *path, char **cause)
{
	struct dg_config *cfg = dg_xcalloc(1, sizeof *cfg);
	struct dg_rules_text *packs = NULL;
	config_t c;
	char *text = NULL;
	size_t len = 0;
	uint8_t d[DG_HASH_LEN];
	bool ok = false;

	*cause = NULL;
	config_init(&c);
	cfg->max_line = DEFAULT_MAX_LINE;
	cfg->lateness_ms = 10 * 60 * 1000;
	cfg->report_interval_ms = 3600 * 1000;
	cfg->max_malformed_listed = 1000;
	cfg->poll_ms = 1000;
	cfg->max_held = 16;
	cfg->rotated_idle_ms = 10 * 1000;
	cfg->metrics_listen = dg_xstrdup("127.0.0.1:9464");
	cfg->catalog = dg_catalog_new();
	cfg->pg_prefix = dg_xstrdup(DG_PGLOG_DEFAULT_PREFIX);
	cfg->tz = dg_tz_fixed(0);
	cfg->schema = dg_schema_new();
	if (path != NULL) {
		cfg->path = dg_xstrdup(path);
		text = dg_fileio_read(path, MAX_CONFIG_BYTES, &len, cause);
		if (text == NULL)
			goto out;
		if (dg_cfgutil_read(&c, path, text, cause) != 0 ||
		    read_groups(cfg, path, &c, cause) != 0)
			goto out;
	}
	dg_hash_sha256(text ? text : "", len, d);
	dg_hash_hex(d, DG_HASH_LEN, cfg->digest);
	if (load_packs(cfg, &packs, cause) != 0)
		goto out;
	cfg->rules =
	    dg_rules_load(packs, cfg->npacks, &cfg->site, cfg->disabled_rules, cfg->schema, cause);
	ok = cfg->rules != NULL;
out:
	if (packs != NULL && cfg->rule_dirs != NULL)
		for (size_t i = 0; i < cfg->npacks; i++)
			free((char *)packs[i].text);
	free(packs);
	free(text);
	config_destroy(&c);
	if (!ok) {
		dg_config_free(cfg);
		return NULL;
	}
	return cfg;
}

void dg_config_free(struct dg_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->nsources; i++) {
		free(cfg->sources[i].path);
		free(cfg->sources[i].format);
		free(cfg->sources[i].prefix);
		dg_tz_free(cfg->sources[i].tz);
	}
	free(cfg->sources);
	free(cfg->path);
	free(cfg->state_dir);
	free(cfg->report_dir);
	free(cfg->key_path);
	free(cfg->pseudonym_key_path);
	free(cfg->metrics_listen);
	free(cfg->findings_path);
	dg_catalog_free(cfg->catalog);
	free(cfg->pg_prefix);
	dg_tz_free(cfg->tz);
	dg_cfgutil_site_clear(&cfg->site);
	dg_cfgutil_strings_free(cfg->rule_dirs);
	dg_cfgutil_strings_free(cfg->disabled_rules);
	dg_cfgutil_strings_free(cfg->pack_names);
	dg_rules_free(cfg->rules);
	dg_schema_free(cfg->schema);
	free(cfg);
}

char *dg_config_state_dir(const struct dg_config *cfg, bool service)
{
	const char *env;

	if (cfg != NULL && cfg->state_dir != NULL)
		return dg_xstrdup(cfg->state_dir);
	if ((env = getenv("STATE_DIRECTORY")) != NULL && *env != '\0') {
		const char *colon = strchr(env, ':'); /* systemd lists several with ':' */

		return colon ? dg_xstrndup(env, (size_t)(colon - env)) : dg_xstrdup(env);
	}
	if (service)
		return dg_xstrdup(DG_STATEDIR);
	if ((env = getenv("XDG_STATE_HOME")) != NULL && *env == '/')
		return dg_xasprintf("%s/dgaudit", env);
	if ((env = getenv("HOME")) != NULL && *env == '/')
		return dg_xasprintf("%s/.local/state/dgaudit", env);
	return dg_xstrdup(DG_STATEDIR);
}
