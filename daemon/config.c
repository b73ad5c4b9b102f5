#include "dgaudit/config.h"

#include <dirent.h>
#include <errno.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/buf.h"
#include "dgaudit/builtin.h"
#include "dgaudit/fileio.h"
#include "dgaudit/json.h"
#include "dgaudit/pglog.h"
#include "dgaudit/pipeline.h"
#include "dgaudit/session.h"
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
                        struct dg_diag *d)
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
	dg_diag_fail(d, name, s, "%s", why);
	free(why);
	return -1;
}

static struct dg_tz *load_tz(const char *name, const config_setting_t *s, const char *spec,
                             struct dg_diag *d)
{
	char *why = NULL;
	struct dg_tz *tz = dg_tz_load(spec, &why);

	if (tz == NULL) {
		dg_diag_fail(d, name, s, "%s", why);
		free(why);
	}
	return tz;
}

/* A non-empty list of strings (NULL-terminated, the caller's), or NULL with what it should be
 * said at its line. */
static char **string_list(const char *name, const config_setting_t *s, const char *what,
                          struct dg_diag *d)
{
	char **v = NULL;
	size_t n = 0;

	if (!config_setting_is_array(s) || dg_cfgutil_strings(name, s, &v, &n, d) != 0 || n == 0) {
		dg_cfgutil_strings_free(v);
		dg_diag_fail(d, name, s, "%s", what);
		return NULL;
	}
	return v;
}

/* The schemas unqualified PostgreSQL names are found in, as the server's search_path. */
static int read_search_path(struct dg_config *cfg, const char *name, const char *database,
                            const config_setting_t *s, struct dg_diag *d)
{
	char **schemas =
	    string_list(name, s, "a search path is a list of schemas: [\"$user\", \"public\"]", d);

	if (schemas == NULL)
		return -1;
	dg_catalog_set_search_path(cfg->catalog, database, schemas);
	return 0;
}

static int read_databases(struct dg_config *cfg, const char *name, const config_setting_t *s,
                          struct dg_diag *d)
{
	static const char *const known[] = {
	    "log_line_prefix", "timezone",     "tags", "applications",
	    "search_path",     "search_paths", NULL};
	const config_setting_t *sp;
	const char *prefix, *tz;
	int err = 0;

	if (!config_setting_is_group(s))
		return dg_diag_fail(d, name, s, "databases is a group");
	err |= dg_cfgutil_known(name, s, known, d);
	/* search_path = [...] for every database, search_paths = { db = [...]; } for one */
	if ((sp = config_setting_get_member(s, "search_path")) != NULL)
		err |= read_search_path(cfg, name, NULL, sp, d);
	if ((sp = config_setting_get_member(s, "search_paths")) != NULL) {
		if (!config_setting_is_group(sp))
			err |= dg_diag_fail(
			    d, name, sp,
			    "search_paths is a group: { bank = [\"core\", \"public\"]; }");
		else
			for (int i = 0; i < config_setting_length(sp); i++) {
				const config_setting_t *e =
				    config_setting_get_elem(sp, (unsigned)i);

				err |= read_search_path(cfg, name, config_setting_name(e), e, d);
			}
	}
	err |= dg_session_read(cfg->session, name, config_setting_get_member(s, "tags"),
	                       config_setting_get_member(s, "applications"), cfg->schema, d);
	prefix = dg_cfgutil_string(name, s, "log_line_prefix", &err, d);
	tz = dg_cfgutil_string(name, s, "timezone", &err, d);
	if (check_prefix(name, config_setting_get_member(s, "log_line_prefix"), prefix, d) != 0)
		err = -1;
	else if (prefix != NULL) {
		free(cfg->pg_prefix);
		cfg->pg_prefix = dg_xstrdup(prefix);
	}
	if (tz != NULL) {
		struct dg_tz *z = load_tz(name, config_setting_get_member(s, "timezone"), tz, d);

		if (z == NULL)
			return -1;
		dg_tz_free(cfg->tz);
		cfg->tz = z;
	}
	return err;
}

/* Database roles: which roles a database user holds, for user.roles. */
static int read_roles(struct dg_config *cfg, const char *name, const config_setting_t *s,
                      struct dg_diag *d)
{
	static const char *const known[] = {"user", "roles", NULL};
	int rc = 0;

	if (!config_setting_is_list(s))
		return dg_diag_fail(d, name, s,
		                    "roles is a list: ( { user = \"dba\"; roles = [\"dba\"]; } )");
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i), *r;
		struct dg_catalog_entry entry = {0};
		const char *user;
		int err = 0;

		if (!config_setting_is_group(e)) {
			rc = dg_diag_fail(d, name, e, "each role entry is a group");
			continue;
		}
		err |= dg_cfgutil_known(name, e, known, d);
		user = dg_cfgutil_string(name, e, "user", &err, d);
		r = config_setting_get_member(e, "roles");
		if (err || user == NULL || r == NULL) {
			rc = err ? -1 : dg_diag_fail(d, name, e, "role entry needs user and roles");
			continue;
		}
		if (dg_cfgutil_strings(name, r, &entry.categories, &entry.ncategories, d) != 0) {
			rc = -1;
			continue;
		}
		entry.object = dg_xstrdup(user);
		dg_catalog_add_user(cfg->catalog, &entry);
	}
	return rc;
}

static int read_sources(struct dg_config *cfg, const char *name, const config_setting_t *s,
                        struct dg_diag *d)
{
	static const char *const known[] = {"path", "format", "log_line_prefix", "timezone", NULL};
	int n, rc = 0;

	if (!config_setting_is_list(s))
		return dg_diag_fail(
		    d, name, s, "sources is a list: ( { path = \"...\"; format = \"json\"; } )");
	n = config_setting_length(s);
	cfg->sources = dg_xcalloc((size_t)n + 1, sizeof *cfg->sources);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *path, *format, *prefix, *tz;
		struct dg_source_cfg *sc = &cfg->sources[cfg->nsources];
		int err = 0;

		if (!config_setting_is_group(e)) {
			rc = dg_diag_fail(d, name, e, "each source is a group");
			continue;
		}
		err |= dg_cfgutil_known(name, e, known, d);
		path = dg_cfgutil_string(name, e, "path", &err, d);
		format = dg_cfgutil_string(name, e, "format", &err, d);
		prefix = dg_cfgutil_string(name, e, "log_line_prefix", &err, d);
		tz = dg_cfgutil_string(name, e, "timezone", &err, d);
		if (path == NULL && !err)
			err = dg_diag_fail(d, name, e, "source needs a path");
		if (format != NULL && dg_pipeline_format_parse(format) < 0) {
			const char *names[DG_FORMAT_COUNT + 1];

			for (int k = 0; k < DG_FORMAT_COUNT; k++)
				names[k] = dg_pipeline_format_name((enum dg_format)k);
			err = dg_diag_fail(d, name, config_setting_get_member(e, "format"),
			                   "unknown format '%s'%s (%s)", format,
			                   dg_cfgutil_did_you_mean(format, names, DG_FORMAT_COUNT),
			                   DG_FORMAT_NAMES);
		}
		err |= check_prefix(name, e, prefix, d);
		if (tz != NULL && (sc->tz = load_tz(name, config_setting_get_member(e, "timezone"),
		                                    tz, d)) == NULL)
			err = -1;
		if (err) {
			dg_tz_free(sc->tz);
			sc->tz = NULL;
			rc = -1;
			continue;
		}
		sc->prefix = prefix ? dg_xstrdup(prefix) : NULL;
		sc->path = resolve(name, path);
		sc->format = dg_xstrdup(format ? format : "auto");
		cfg->nsources++;
	}
	return rc;
}

/* classification_levels = ["C1", "C2", "C3"]: lowest first; assets must use one of them. */
static int read_levels(struct dg_config *cfg, const char *name, const config_setting_t *s,
                       struct dg_diag *d)
{
	char **levels = string_list(
	    name, s, "classification_levels is a list, lowest first: [\"C1\", \"C2\", \"C3\"]", d);

	if (levels == NULL)
		return -1;
	dg_catalog_set_levels(cfg->catalog, levels);
	return 0;
}

static int read_assets(struct dg_config *cfg, const char *name, const config_setting_t *s,
                       struct dg_diag *d)
{
	static const char *const known[] = {"object", "classification", "categories", "paths",
	                                    NULL};
	const config_setting_t *lv =
	    config_setting_get_member(config_root_setting(s->config), "classification_levels");
	int rc = 0;

	if (lv != NULL && read_levels(cfg, name, lv, d) != 0)
		rc = -1;

	if (!config_setting_is_list(s))
		return dg_diag_fail(d, name, s,
		                    "assets is a list: ( { object = \"core.customers\"; "
		                    "classification = \"C3\"; categories = [...]; } )");
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const config_setting_t *cats;
		struct dg_catalog_entry entry = {0};
		const char *obj, *cls;
		int err = 0;

		if (!config_setting_is_group(e)) {
			rc = dg_diag_fail(d, name, e, "each asset is a group");
			continue;
		}
		err |= dg_cfgutil_known(name, e, known, d);
		obj = dg_cfgutil_string(name, e, "object", &err, d);
		cls = dg_cfgutil_string(name, e, "classification", &err, d);
		if (!err && (obj == NULL || cls == NULL))
			err = dg_diag_fail(d, name, e, "asset needs object and classification");
		else if (!err && dg_catalog_level(cfg->catalog, cls) < 0)
			err =
			    dg_diag_fail(d, name, config_setting_get_member(e, "classification"),
			                 "classification '%s' is not one of classification_levels "
			                 "(%s)",
			                 cls, dg_catalog_levels(cfg->catalog));
		cats = config_setting_get_member(e, "categories");
		if (!err && cats != NULL &&
		    dg_cfgutil_strings(name, cats, &entry.categories, &entry.ncategories, d) != 0)
			err = -1;
		if (!err && (cats = config_setting_get_member(e, "paths")) != NULL) {
			size_t np = 0;

			if (dg_cfgutil_strings(name, cats, &entry.paths, &np, d) != 0)
				err = -1;
			for (size_t j = 0; !err && j < np; j++)
				if (entry.paths[j][0] != '/')
					err = dg_diag_fail(d, name, cats,
					                   "asset paths are absolute: '%s' is not",
					                   entry.paths[j]);
		}
		if (err) {
			dg_cfgutil_strings_free(entry.categories);
			dg_cfgutil_strings_free(entry.paths);
			entry.categories = entry.paths = NULL;
		}
		if (err) {
			rc = -1;
			continue;
		}
		entry.object = dg_xstrdup(obj);
		entry.classification = dg_xstrdup(cls);
		dg_catalog_add(cfg->catalog, &entry);
	}
	return rc;
}

/* A map's target is a field of the event model, a declared field, or a new string field. */
static int read_map(struct dg_config *cfg, const char *name, const config_setting_t *s,
                    struct dg_diag *d)
{
	static const char *const known[] = {"from", "to", NULL};
	int rc = 0;

	if (!config_setting_is_list(s))
		return dg_diag_fail(d, name, s,
		                    "map is a list: ( { from = \"actor\"; to = \"user.name\"; } )");
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		enum dg_field_type type = DG_TYPE_STRING;
		const char *from, *to;
		char *why = NULL;
		int err = 0, f;

		if (!config_setting_is_group(e)) {
			rc = dg_diag_fail(d, name, e, "each map entry is a group { from; to; }");
			continue;
		}
		err |= dg_cfgutil_known(name, e, known, d);
		from = dg_cfgutil_string(name, e, "from", &err, d);
		to = dg_cfgutil_string(name, e, "to", &err, d);
		if (!err && (from == NULL || to == NULL))
			err = dg_diag_fail(d, name, e, "map entry needs from and to");
		if (err) {
			rc = -1;
			continue;
		}
		for (size_t k = 0; k < cfg->site.nfields; k++)
			if (strcmp(cfg->site.fields[k].name, to) == 0)
				type = cfg->site.fields[k].type;
		f = dg_schema_lookup(cfg->schema, to, strlen(to));
		if (f < 0)
			f = dg_schema_add(cfg->schema, to, type, &why);
		if (f < 0 || dg_schema_alias(cfg->schema, from, f, &why) != 0) {
			rc = dg_diag_fail(d, name, e, "%s", why);
			free(why);
		}
	}
	return rc;
}

/* A share between 0 and 1: 0.1, or 0 / 1. */
static void get_ratio(const char *name, const config_setting_t *g, const char *key, double *out,
                      struct dg_diag *d)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	double v;

	if (s == NULL)
		return;
	if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
		v = config_setting_get_float(s);
	else if (config_setting_type(s) == CONFIG_TYPE_INT)
		v = config_setting_get_int(s);
	else
		v = -1;
	if (v < 0 || v > 1) {
		dg_diag_fail(d, name, s, "%s is a share from 0 to 1, e.g. 0.1 for 10%%", key);
		return;
	}
	*out = v;
}

static int get_size(const char *name, const config_setting_t *g, const char *key, size_t min,
                    size_t max, size_t *out, struct dg_diag *d)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	long long v;

	if (s == NULL)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64)
		return dg_diag_fail(d, name, s, "%s needs an integer", key);
	v = config_setting_get_int64(s);
	if (v < (long long)min || v > (long long)max)
		return dg_diag_fail(d, name, s, "%s must be between %zu and %zu", key, min, max);
	*out = (size_t)v;
	return 0;
}

static int get_path(const char *name, const config_setting_t *g, const char *key, char **out,
                    struct dg_diag *d)
{
	int err = 0;
	const char *v = dg_cfgutil_string(name, g, key, &err, d);

	if (err)
		return -1;
	if (v != NULL) {
		free(*out);
		*out = resolve(name, v);
	}
	return 0;
}

#define SEC  1000LL
#define MIN  (60 * SEC)
#define HOUR (60 * MIN)
#define DAY  (24 * HOUR)

/* A group member that must be a group, checked for unknown keys; NULL if absent or wrong. */
/* "a.b.c.d:port", "[v6]:port": an address and a port the metrics endpoint can bind (numeric:
 * it is bound as given, before any resolver could be asked). */
static bool listen_address(const char *m)
{
	struct sockaddr_storage ss;
	int len = sizeof ss;
	const char *colon = strrchr(m, ':');

	return colon != NULL && colon[1] != '\0' && (m[0] != '[' || colon[-1] == ']') &&
	       evutil_parse_sockaddr_port(m, (struct sockaddr *)&ss, &len) == 0 &&
	       ((struct sockaddr_in *)&ss)->sin_port != 0;
}

static const config_setting_t *group(const char *name, const config_setting_t *root,
                                     const char *key, const char *const *known, struct dg_diag *d)
{
	const config_setting_t *s = config_setting_get_member(root, key);

	if (s == NULL)
		return NULL;
	if (!config_setting_is_group(s)) {
		dg_diag_fail(d, name, s, "%s is a group: %s = { ... };", key, key);
		return NULL;
	}
	dg_cfgutil_known(name, s, known, d);
	return s;
}

/* syslog = { transport = "relp"; address = "collector:2514"; ... }: where findings go. */
static void read_syslog(struct dg_config *cfg, const char *name, const config_setting_t *s,
                        struct dg_diag *d)
{
	static const char *const transports[] = {"udp", "tcp", "tls", "relp", NULL};
	static const char *const facilities[] = {"kern",     "user",   "mail",   "daemon", "auth",
	                                         "syslog",   "lpr",    "news",   "uucp",   "cron",
	                                         "authpriv", "ftp",    "ntp",    "audit",  "alert",
	                                         "clock",    "local0", "local1", "local2", "local3",
	                                         "local4",   "local5", "local6", "local7", NULL};
	struct dg_syslog_cfg *sc = dg_xcalloc(1, sizeof *sc);
	const char *t, *a, *f;
	int err = 0, tls = -1, verify = -1;

	sc->transport = DG_SYSLOG_RELP;
	sc->facility = 13; /* log audit */
	sc->queue = 10000;
	sc->timeout_ms = 10 * SEC;
	sc->verify = true;
	t = dg_cfgutil_string(name, s, "transport", &err, d);
	a = dg_cfgutil_string(name, s, "address", &err, d);
	f = dg_cfgutil_string(name, s, "facility", &err, d);
	if (t != NULL) {
		size_t i;

		for (i = 0; transports[i] != NULL && strcmp(transports[i], t) != 0; i++)
			;
		if (transports[i] == NULL)
			dg_diag_fail(d, name, config_setting_get_member(s, "transport"),
			             "transport '%s' is not one of udp, tcp, tls, relp", t);
		else
			sc->transport = (enum dg_syslog_transport)i;
	}
	if (f != NULL) {
		size_t i;

		for (i = 0; facilities[i] != NULL && strcmp(facilities[i], f) != 0; i++)
			;
		if (facilities[i] == NULL)
			dg_diag_fail(d, name, config_setting_get_member(s, "facility"),
			             "facility '%s' is not a syslog facility (audit, auth, "
			             "authpriv, local0 ... local7, ...)",
			             f);
		else
			sc->facility = (int)i;
	}
	if (a == NULL && !err) {
		dg_diag_fail(d, name, s, "syslog needs address = \"host:port\";");
	} else if (a != NULL) {
		const char *colon = strrchr(a, ':');
		bool v6 = a[0] == '[';
		long port = colon ? strtol(colon + 1, NULL, 10) : 0;

		if (colon == NULL || colon == a || (v6 && colon[-1] != ']') || port < 1 ||
		    port > 65535 || strspn(colon + 1, "0123456789") != strlen(colon + 1))
			dg_diag_fail(d, name, config_setting_get_member(s, "address"),
			             "address '%s' is not host:port ([v6]:port for IPv6; a port "
			             "from 1 to 65535)",
			             a);
		else {
			sc->host = v6 ? dg_xstrndup(a + 1, (size_t)(colon - a - 2))
			              : dg_xstrndup(a, (size_t)(colon - a));
			sc->port = dg_xstrdup(colon + 1);
		}
	}
	get_size(name, s, "queue", 1, 1000000, &sc->queue, d);
	dg_cfgutil_duration(name, s, "timeout", 100, HOUR, &sc->timeout_ms, d);
	if (config_setting_get_member(s, "tls") != NULL &&
	    !config_setting_lookup_bool(s, "tls", &tls))
		dg_diag_fail(d, name, config_setting_get_member(s, "tls"), "tls is true or false");
	if (config_setting_get_member(s, "verify") != NULL &&
	    !config_setting_lookup_bool(s, "verify", &verify))
		dg_diag_fail(d, name, config_setting_get_member(s, "verify"),
		             "verify is true or false");
	if (verify == 0)
		sc->verify = false;
	sc->tls = sc->transport == DG_SYSLOG_TLS || tls == 1;
	if (tls == 1 && sc->transport != DG_SYSLOG_RELP && sc->transport != DG_SYSLOG_TLS)
		dg_diag_fail(d, name, config_setting_get_member(s, "tls"),
		             "tls = true is for transport \"relp\"; for TCP it is transport "
		             "\"tls\"");
	get_path(name, s, "ca", &sc->ca, d);
	get_path(name, s, "cert", &sc->cert, d);
	get_path(name, s, "key", &sc->key, d);
	if ((t = dg_cfgutil_string(name, s, "peer_name", &err, d)) != NULL)
		sc->peer_name = dg_xstrdup(t);
	if ((sc->cert == NULL) != (sc->key == NULL))
		dg_diag_fail(d, name, s, "syslog: cert and key go together");
	if (!sc->tls && (sc->ca || sc->cert || sc->peer_name))
		dg_diag_fail(d, name, s,
		             "syslog: ca, cert, key and peer_name are for TLS (transport \"tls\", "
		             "or \"relp\" with tls = true)");
	dg_config_syslog_free(cfg->syslog);
	cfg->syslog = sc;
}

struct reader {
	struct dg_config *cfg;
};

/* A file named by the configuration or a pack: a bundled file for bundled packs, else relative
 * to the naming file. Its digest goes into the report's producer. */
static char *read_aux(void *arg, const char *from, const char *path, size_t *len, char **cause)
{
	struct dg_config *cfg = arg;
	char *full, *text;
	uint8_t d[DG_HASH_LEN];

	if (strncmp(from, "builtin:", 8) == 0) {
		for (size_t i = 0; dg_builtin_packs[i].name != NULL; i++)
			if (strcmp(dg_builtin_packs[i].name, path) == 0) {
				*len = dg_builtin_packs[i].len;
				return dg_xstrdup(dg_builtin_packs[i].text);
			}
		*cause = dg_xasprintf("no bundled file %s", path);
		return NULL;
	}
	full = resolve(from, path);
	text = dg_fileio_read(full, MAX_CONFIG_BYTES, len, cause);
	if (text != NULL) {
		struct dg_config_file *f;

		cfg->files = dg_xreallocarray(cfg->files, cfg->nfiles + 1, sizeof *cfg->files);
		f = &cfg->files[cfg->nfiles++];
		f->path = dg_xstrdup(full);
		dg_hash_sha256(text, *len, d);
		dg_hash_hex(d, DG_HASH_LEN, f->sha256);
	}
	free(full);
	return text;
}

static void read_groups(struct dg_config *cfg, const char *name, config_t *c, struct dg_diag *d)
{
	static const char *const top[] = {"sources",
	                                  "state_directory",
	                                  "report",
	                                  "limits",
	                                  "rules",
	                                  "assets",
	                                  "map",
	                                  "lists",
	                                  "settings",
	                                  "schedules",
	                                  "fields",
	                                  "exceptions",
	                                  "daemon",
	                                  "databases",
	                                  "roles",
	                                  "rule_tests",
	                                  "classification_levels",
	                                  "syslog",
	                                  NULL};
	static const char *const report_keys[] = {
	    "directory", "key", "pseudonym_key", "interval", "max_malformed", "max_size", NULL};
	static const char *const limit_keys[] = {"max_line", "lateness", "max_malformed_ratio",
	                                         "max_depth", NULL};
	static const char *const rule_keys[] = {"directories", "packs", "disable_rules", NULL};
	static const char *const daemon_keys[] = {
	    "metrics", "poll", "findings", "max_held", "rotated_idle", "max_open", NULL};
	static const char *const syslog_keys[] = {"transport", "address", "facility",  "queue",
	                                          "timeout",   "tls",     "verify",    "ca",
	                                          "cert",      "key",     "peer_name", NULL};
	config_setting_t *root = config_root_setting(c);
	const config_setting_t *s;
	struct dg_site_groups g = {config_setting_get_member(root, "lists"),
	                           config_setting_get_member(root, "settings"),
	                           config_setting_get_member(root, "schedules"),
	                           config_setting_get_member(root, "fields")};

	dg_cfgutil_known(name, root, top, d);
	dg_cfgutil_site_read(&cfg->site, name, &g, false, read_aux, cfg, d);
	/* before sources, whose settings default to these */
	if ((s = config_setting_get_member(root, "databases")) != NULL)
		read_databases(cfg, name, s, d);
	if ((s = config_setting_get_member(root, "sources")) != NULL)
		read_sources(cfg, name, s, d);
	if ((s = config_setting_get_member(root, "roles")) != NULL)
		read_roles(cfg, name, s, d);
	get_path(name, root, "state_directory", &cfg->state_dir, d);
	if ((s = group(name, root, "report", report_keys, d)) != NULL) {
		get_path(name, s, "directory", &cfg->report_dir, d);
		get_path(name, s, "key", &cfg->key_path, d);
		get_path(name, s, "pseudonym_key", &cfg->pseudonym_key_path, d);
		dg_cfgutil_duration(name, s, "interval", SEC, 31 * DAY, &cfg->report_interval_ms,
		                    d);
		get_size(name, s, "max_malformed", 0, 1000000, &cfg->max_malformed_listed, d);
		/* below verify's limit on report.json, with room for what a read adds past it */
		get_size(name, s, "max_size", 1 << 20, 512 << 20, &cfg->report_max_size, d);
	}
	if ((s = group(name, root, "limits", limit_keys, d)) != NULL) {
		get_size(name, s, "max_line", 256, 256 * 1024 * 1024, &cfg->max_line, d);
		get_size(name, s, "max_depth", 2, 1024, &cfg->max_depth, d);
		dg_cfgutil_duration(name, s, "lateness", 0, 7 * DAY, &cfg->lateness_ms, d);
		get_ratio(name, s, "max_malformed_ratio", &cfg->max_malformed_ratio, d);
	}
	if ((s = group(name, root, "daemon", daemon_keys, d)) != NULL) {
		int err = 0;
		const char *m = dg_cfgutil_string(name, s, "metrics", &err, d);

		dg_cfgutil_duration(name, s, "poll", 10, HOUR, &cfg->poll_ms, d);
		if (!err && m != NULL && *m != '\0' && !listen_address(m))
			dg_diag_fail(
			    d, name, config_setting_get_member(s, "metrics"),
			    "metrics '%s' is not address:port (a numeric address, a port from 1 "
			    "to 65535; \"\" for none)",
			    m);
		else if (!err && config_setting_get_member(s, "metrics") != NULL) {
			free(cfg->metrics_listen);
			cfg->metrics_listen = m && *m ? dg_xstrdup(m) : NULL;
		}
		get_path(name, s, "findings", &cfg->findings_path, d);
		get_size(name, s, "max_held", 1, 4096, &cfg->max_held, d);
		get_size(name, s, "max_open", 1, 1 << 24, &cfg->max_open, d);
		dg_cfgutil_duration(name, s, "rotated_idle", 0, DAY, &cfg->rotated_idle_ms, d);
	}
	if ((s = group(name, root, "syslog", syslog_keys, d)) != NULL)
		read_syslog(cfg, name, s, d);
	if ((s = group(name, root, "rules", rule_keys, d)) != NULL) {
		const config_setting_t *m;
		size_t n;

		if ((m = config_setting_get_member(s, "directories")) != NULL &&
		    dg_cfgutil_strings(name, m, &cfg->rule_dirs, &n, d) == 0) {
			for (size_t i = 0; i < n; i++) {
				char *abs = resolve(name, cfg->rule_dirs[i]);

				free(cfg->rule_dirs[i]);
				cfg->rule_dirs[i] = abs;
			}
		}
		if ((m = config_setting_get_member(s, "packs")) != NULL)
			dg_cfgutil_strings(name, m, &cfg->pack_filter, &n, d);
		if ((m = config_setting_get_member(s, "disable_rules")) != NULL)
			dg_cfgutil_strings(name, m, &cfg->disabled_rules, &n, d);
	}
	if ((s = config_setting_get_member(root, "assets")) != NULL)
		read_assets(cfg, name, s, d);
	if ((s = config_setting_get_member(root, "map")) != NULL)
		read_map(cfg, name, s, d);
}

char *dg_config_pack_name(const char *file)
{
	const char *p = file, *dot;

	while (*p >= '0' && *p <= '9')
		p++;
	if (p == file || *p != '-')
		p = file; /* no "NN-" */
	else
		p++;
	dot = strrchr(p, '.');
	return dg_xstrndup(p, dot ? (size_t)(dot - p) : strlen(p));
}

static int pack_cmp(const void *a, const void *b)
{
	const struct dg_config_pack *x = a, *y = b;
	const char *bx = strrchr(x->name, x->builtin ? ':' : '/'),
	           *by = strrchr(y->name, y->builtin ? ':' : '/');

	return strcmp(bx ? bx + 1 : x->name, by ? by + 1 : y->name);
}

static const char *pack_file(const struct dg_config_pack *p)
{
	const char *b = strrchr(p->name, p->builtin ? ':' : '/');

	return b ? b + 1 : p->name;
}

static void add_pack(struct dg_config *cfg, char *name, char *text, bool builtin, bool named)
{
	cfg->packs = dg_xreallocarray(cfg->packs, cfg->npacks + 1, sizeof *cfg->packs);
	cfg->packs[cfg->npacks++] = (struct dg_config_pack){name, text, builtin, named};
}

static bool is_pack_file(const char *name)
{
	size_t len = strlen(name);

	return len > 5 && name[0] != '.' && strcmp(name + len - 5, ".conf") == 0;
}

/* A site pack: it replaces a bundled pack of the same file name. */
static void add_site_pack(struct dg_config *cfg, const char *path, struct dg_diag *d)
{
	const char *base = strrchr(path, '/');
	char *cause = NULL, *text;
	size_t len;
	uint8_t dig[DG_HASH_LEN];
	struct dg_config_file *f;

	base = base ? base + 1 : path;
	text = dg_fileio_read(path, MAX_CONFIG_BYTES, &len, &cause);
	if (text == NULL) {
		dg_diag_add(d, "%s", cause);
		free(cause);
		return;
	}
	for (size_t i = 0; i < cfg->npacks; i++) {
		if (cfg->packs[i].builtin && strcmp(pack_file(&cfg->packs[i]), base) == 0) {
			free(cfg->packs[i].name);
			free(cfg->packs[i].text);
			cfg->packs[i] = cfg->packs[--cfg->npacks];
			break;
		}
	}
	add_pack(cfg, dg_xstrdup(path), text, false, true);
	cfg->files = dg_xreallocarray(cfg->files, cfg->nfiles + 1, sizeof *cfg->files);
	f = &cfg->files[cfg->nfiles++];
	f->path = dg_xstrdup(path);
	dg_hash_sha256(text, len, dig);
	dg_hash_hex(dig, DG_HASH_LEN, f->sha256);
}

/* The bundled packs (all, or those rules.packs names), then the site's directories and extra
 * files: a site file with a bundled pack's file name replaces it. In file name order. */
static void load_packs(struct dg_config *cfg, char *const *extra, const config_setting_t *where,
                       struct dg_diag *d)
{
	const char *site = cfg->path ? cfg->path : "built-in defaults";
	size_t nbuiltin = 0;
	const char **names;

	for (size_t i = 0; dg_builtin_packs[i].name != NULL; i++)
		nbuiltin += is_pack_file(dg_builtin_packs[i].name);
	names = dg_xcalloc(nbuiltin + 1, sizeof *names);
	nbuiltin = 0;
	for (size_t i = 0; dg_builtin_packs[i].name != NULL; i++) {
		char *short_name;
		bool on = cfg->pack_filter == NULL, named = false;

		if (!is_pack_file(dg_builtin_packs[i].name))
			continue;
		short_name = dg_config_pack_name(dg_builtin_packs[i].name);
		names[nbuiltin++] = dg_builtin_packs[i].name;
		on |= strcmp(short_name, "common") == 0; /* what the others share */
		for (size_t k = 0; cfg->pack_filter != NULL && cfg->pack_filter[k] != NULL; k++)
			named |= strcmp(cfg->pack_filter[k], short_name) == 0;
		on |= named;
		free(short_name);
		if (on)
			add_pack(cfg, dg_xasprintf("builtin:%s", dg_builtin_packs[i].name),
			         dg_xstrdup(dg_builtin_packs[i].text), true, named);
	}
	for (size_t k = 0; cfg->pack_filter != NULL && cfg->pack_filter[k] != NULL; k++) {
		bool known = false;
		const char **shorts = dg_xcalloc(nbuiltin + 1, sizeof *shorts);

		for (size_t i = 0; i < nbuiltin; i++) {
			shorts[i] = dg_config_pack_name(names[i]);
			known |= strcmp(shorts[i], cfg->pack_filter[k]) == 0;
		}
		if (!known)
			dg_diag_fail(
			    d, site, where, "rules.packs: no bundled pack '%s'%s",
			    cfg->pack_filter[k],
			    dg_cfgutil_did_you_mean(cfg->pack_filter[k], shorts, nbuiltin));
		for (size_t i = 0; i < nbuiltin; i++)
			free((char *)shorts[i]);
		free(shorts);
	}
	free(names);
	for (size_t dir = 0; cfg->rule_dirs != NULL && cfg->rule_dirs[dir] != NULL; dir++) {
		DIR *dp = opendir(cfg->rule_dirs[dir]);
		struct dirent *de;

		if (dp == NULL) {
			dg_diag_fail(d, site, where, "rule directory %s: %s", cfg->rule_dirs[dir],
			             strerror(errno));
			continue;
		}
		while ((de = readdir(dp)) != NULL) {
			char *path;

			if (!is_pack_file(de->d_name))
				continue;
			path = dg_xasprintf("%s/%s", cfg->rule_dirs[dir], de->d_name);
			add_site_pack(cfg, path, d);
			free(path);
		}
		closedir(dp);
	}
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
		add_site_pack(cfg, extra[i], d);
	qsort(cfg->packs, cfg->npacks, sizeof *cfg->packs, pack_cmp);
}

/* exceptions = ( ... ) inline, or exceptions = "file" holding exceptions = ( ... ). */
static int read_exceptions(struct dg_config *cfg, const char *name, const config_setting_t *s,
                           config_t *file_cfg, struct dg_rules_exceptions *out, char **file_name,
                           struct dg_diag *d)
{
	static const char *const known[] = {"exceptions", NULL};
	const config_setting_t *l;
	char *text, *cause = NULL;
	size_t len;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		out->name = name;
		out->list = s;
		return 1;
	}
	text = read_aux(cfg, name, config_setting_get_string(s), &len, &cause);
	if (text == NULL) {
		dg_diag_fail(d, name, s, "exceptions: %s", cause);
		free(cause);
		return 0;
	}
	*file_name = resolve(name, config_setting_get_string(s));
	if (dg_cfgutil_read(file_cfg, *file_name, text, d) != 0) {
		free(text);
		return 0;
	}
	free(text);
	dg_cfgutil_known(*file_name, config_root_setting(file_cfg), known, d);
	l = config_setting_get_member(config_root_setting(file_cfg), "exceptions");
	if (l == NULL) {
		dg_diag_add(d, "%s:1: an exceptions file holds exceptions = ( { ... } );",
		            *file_name);
		return 0;
	}
	out->name = *file_name;
	out->list = l;
	return 1;
}

struct dg_config *dg_config_load(const char *path, int64_t now_ms, char **cause)
{
	return dg_config_load_extra(path, NULL, now_ms, cause);
}

struct dg_config *dg_config_load_extra(const char *path, char *const *extra, int64_t now_ms,
                                       char **cause)
{
	struct dg_config *cfg = dg_xcalloc(1, sizeof *cfg);
	struct dg_rules_text *packs = NULL;
	struct dg_rules_exceptions exc = {0};
	struct dg_rules_input in = {0};
	struct dg_diag d = {0};
	config_t c, xc;
	char *text = NULL, *exc_name = NULL;
	size_t len = 0, nexc = 0;
	uint8_t dig[DG_HASH_LEN];
	bool parsed = false;

	*cause = NULL;
	config_init(&c);
	config_init(&xc);
	cfg->max_line = DEFAULT_MAX_LINE;
	cfg->max_depth = DG_JSON_MAX_DEPTH;
	cfg->lateness_ms = 10 * 60 * 1000;
	cfg->report_interval_ms = 3600 * 1000;
	cfg->max_malformed_listed = 1000;
	cfg->report_max_size = 64 << 20;
	cfg->max_malformed_ratio = 0.1;
	cfg->poll_ms = 1000;
	cfg->max_held = 16;
	cfg->rotated_idle_ms = 10 * 1000;
	cfg->metrics_listen = dg_xstrdup("127.0.0.1:9464");
	cfg->catalog = dg_catalog_new();
	cfg->pg_prefix = dg_xstrdup(DG_PGLOG_DEFAULT_PREFIX);
	cfg->tz = dg_tz_fixed(0);
	cfg->schema = dg_schema_new();
	cfg->session = dg_session_new();
	if (path != NULL) {
		cfg->path = dg_xstrdup(path);
		text = dg_fileio_read(path, MAX_CONFIG_BYTES, &len, cause);
		if (text == NULL)
			goto out;
		if (dg_cfgutil_read(&c, path, text, &d) != 0)
			goto out;
		parsed = true;
		read_groups(cfg, path, &c, &d);
	}
	dg_hash_sha256(text ? text : "", len, dig);
	dg_hash_hex(dig, DG_HASH_LEN, cfg->digest);
	load_packs(cfg, extra,
	           parsed ? config_setting_get_member(config_root_setting(&c), "rules") : NULL, &d);
	packs = dg_xcalloc(cfg->npacks + 1, sizeof *packs);
	for (size_t i = 0; i < cfg->npacks; i++) {
		packs[i].name = cfg->packs[i].name;
		packs[i].text = cfg->packs[i].text;
		packs[i].named = cfg->packs[i].named;
	}
	if (parsed) {
		const config_setting_t *x =
		    config_setting_get_member(config_root_setting(&c), "exceptions");
		const config_setting_t *r =
		    config_setting_get_member(config_root_setting(&c), "rules");

		if (x != NULL)
			nexc = (size_t)read_exceptions(cfg, path, x, &xc, &exc, &exc_name, &d);
		in.disabled_at = r ? config_setting_get_member(r, "disable_rules") : NULL;
		in.rule_tests = config_setting_get_member(config_root_setting(&c), "rule_tests");
	}
	in.packs = packs;
	in.npacks = cfg->npacks;
	in.site = &cfg->site;
	in.site_name = path ? path : "built-in defaults";
	in.disabled = cfg->disabled_rules;
	in.exceptions = &exc;
	in.nexceptions = nexc;
	in.now_ms = now_ms;
	in.read = read_aux;
	in.read_arg = cfg;
	cfg->rules = dg_rules_load(&in, cfg->schema, &d);
out:
	free(packs);
	free(text);
	free(exc_name);
	config_destroy(&c);
	config_destroy(&xc);
	if (d.n > 0) {
		*cause = dg_diag_text(&d);
		dg_rules_free(cfg->rules);
		cfg->rules = NULL;
	}
	dg_diag_clear(&d);
	if (cfg->rules == NULL) {
		if (*cause == NULL)
			*cause = dg_xstrdup("configuration could not be loaded");
		dg_config_free(cfg);
		return NULL;
	}
	return cfg;
}

void dg_config_syslog_free(struct dg_syslog_cfg *sc)
{
	if (sc == NULL)
		return;
	free(sc->host);
	free(sc->port);
	free(sc->ca);
	free(sc->cert);
	free(sc->key);
	free(sc->peer_name);
	free(sc);
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
	dg_config_syslog_free(cfg->syslog);
	dg_catalog_free(cfg->catalog);
	dg_session_free(cfg->session);
	free(cfg->pg_prefix);
	dg_tz_free(cfg->tz);
	dg_cfgutil_site_clear(&cfg->site);
	dg_cfgutil_strings_free(cfg->rule_dirs);
	dg_cfgutil_strings_free(cfg->pack_filter);
	dg_cfgutil_strings_free(cfg->disabled_rules);
	for (size_t i = 0; i < cfg->npacks; i++) {
		free(cfg->packs[i].name);
		free(cfg->packs[i].text);
	}
	free(cfg->packs);
	for (size_t i = 0; i < cfg->nfiles; i++)
		free(cfg->files[i].path);
	free(cfg->files);
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
