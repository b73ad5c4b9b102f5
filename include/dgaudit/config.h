/* The configuration: read from a libconfig file (or built-in defaults), validated, and frozen
 * together with the rules it selects, compiled. A reload builds a new one beside the old. */
#ifndef DGAUDIT_CONFIG_H
#define DGAUDIT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dgaudit/catalog.h"
#include "dgaudit/cfgutil.h"
#include "dgaudit/evt.h"
#include "dgaudit/hash.h"
#include "dgaudit/rules.h"
#include "dgaudit/session.h"
#include "dgaudit/tz.h"

struct dg_source_cfg {
	char *path;       /* a file or a glob */
	char *format;     /* "auto", "json", "postgresql", ... (DG_FORMAT_NAMES) */
	char *prefix;     /* the server's log_line_prefix, or NULL for the config's */
	struct dg_tz *tz; /* zone of times written without one (MariaDB), or NULL: the config's */
};

/* A file the configuration read besides itself (a list or exceptions file, a site rule pack),
 * with its digest, so a report names everything its findings depend on. */
struct dg_config_file {
	char *path;
	char sha256[DG_HASH_HEXLEN];
};

/* A rule pack in use: bundled, or the site's (which replaces a bundled one of its name). */
struct dg_config_pack {
	char *name; /* "builtin:10-pipl.conf" or the file's path */
	char *text;
	bool builtin;
	bool named; /* by rules.packs, or the site's own */
};

/* Forwarding findings to a syslog collector (syslog = { ... }). */
enum dg_syslog_transport { DG_SYSLOG_UDP, DG_SYSLOG_TCP, DG_SYSLOG_TLS, DG_SYSLOG_RELP };

struct dg_syslog_cfg {
	enum dg_syslog_transport transport;
	char *host, *port;
	int facility;       /* 0..23; 13 (log audit) by default */
	size_t queue;       /* messages not yet acknowledged before reading waits */
	int64_t timeout_ms; /* a connection or an acknowledgement taking longer is broken */
	bool tls;           /* TLS (tls, or relp with tls = true) */
	char *ca;           /* TLS: the CA certificates the collector's is checked against */
	char *cert, *key;   /* TLS: dgaudit's own, when the collector asks for one */
	char *peer_name;    /* TLS: the name the collector's certificate must carry (host) */
	bool verify;        /* TLS: the collector's certificate is checked (default) */
};

struct dg_config {
	char *path;                  /* the file, or NULL for the built-in defaults */
	char digest[DG_HASH_HEXLEN]; /* SHA-256 of the file's bytes ("" hashed for defaults) */
	struct dg_source_cfg *sources;
	size_t nsources;
	char *state_dir;          /* NULL: chosen by the command (see dg_config_state_dir) */
	char *report_dir;         /* NULL: ./dgaudit-reports for runs, <state>/reports */
	char *key_path;           /* NULL: <state>/signing.key, created on first use */
	char *pseudonym_key_path; /* NULL: <state>/pseudonym.key, created on first use */
	int64_t report_interval_ms;
	size_t max_malformed_listed; /* malformed records itemised in a report */
	size_t report_max_size;      /* a daemon's report closes early once this long */
	double max_malformed_ratio;  /* an input with more malformed records is no audit */
	size_t max_line;
	size_t max_depth; /* JSON nesting accepted in a log record */
	int64_t lateness_ms;
	char *metrics_listen; /* "127.0.0.1:9464", or NULL for none */
	int64_t poll_ms;
	char *findings_path;          /* the daemon\'s findings, as JSON lines, or NULL */
	size_t max_held;              /* rotated files kept open while they are drained */
	size_t max_open;              /* followed files open at once; 0: as descriptors allow */
	int64_t rotated_idle_ms;      /* a drained rotated file is let go after this */
	struct dg_syslog_cfg *syslog; /* NULL: findings are not forwarded */
	struct dg_catalog *catalog;
	struct dg_session *session; /* purpose, ticket, consent from SQL comments and app names */
	char *pg_prefix;            /* databases.log_line_prefix: PostgreSQL stderr logs */
	struct dg_tz *tz;           /* databases.timezone (UTC by default) */
	struct dg_site site;
	char **rule_dirs;      /* site rule packs, in addition to the bundled ones */
	char **pack_filter;    /* bundled packs enabled by name ("pipl"); NULL: all */
	char **disabled_rules; /* rule ids */
	struct dg_config_pack *packs;
	size_t npacks;
	struct dg_config_file *files;
	size_t nfiles;
	struct dg_schema *schema;
	struct dg_ruleset *rules;
};

/* Loads path (NULL for the built-in defaults) and compiles its rules. NULL with *cause holding
 * every mistake found, one a line, each "file:line: what is wrong". now_ms tells which
 * exceptions have expired. */
struct dg_config *dg_config_load(const char *path, int64_t now_ms, char **cause);
/* The same, with extra rule pack files (as if in a rules directory). */
struct dg_config *dg_config_load_extra(const char *path, char *const *extra, int64_t now_ms,
                                       char **cause);
/* The bundled pack's short name: "10-pipl.conf" is "pipl". Caller frees. */
char *dg_config_pack_name(const char *file);
void dg_config_free(struct dg_config *cfg);
void dg_config_syslog_free(struct dg_syslog_cfg *sc);
/* The state directory: the configured one, else $STATE_DIRECTORY (systemd), else for the
 * service /var/lib/dgaudit, else $XDG_STATE_HOME/dgaudit or ~/.local/state/dgaudit. Caller
 * frees. */
char *dg_config_state_dir(const struct dg_config *cfg, bool service);

#endif
