#include "dgaudit/session.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/xmalloc.h"

#define MAX_TAGS   16
#define SCRATCH    4096
#define APP_FIELDS 4

struct tag {
	char *key;
	int field;
};

struct app {
	char *pattern;
	int field[APP_FIELDS];
	char *value[APP_FIELDS];
	size_t n;
};

struct dg_session {
	struct tag tags[MAX_TAGS];
	size_t ntags;
	struct app *apps;
	size_t napps;
	char scratch[SCRATCH];
};

static const struct {
	const char *key;
	int field;
} defaults[] = {
    {"purpose", DG_F_PURPOSE},    {"ticket", DG_F_TICKET}, {"consent_id", DG_F_CONSENT_ID},
    {"consent", DG_F_CONSENT_ID}, {"basis", DG_F_BASIS},
};

struct dg_session *dg_session_new(void)
{
	struct dg_session *s = dg_xcalloc(1, sizeof *s);

	for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
		s->tags[i].key = dg_xstrdup(defaults[i].key);
		s->tags[i].field = defaults[i].field;
	}
	s->ntags = sizeof defaults / sizeof defaults[0];
	return s;
}

static void clear_tags(struct dg_session *s)
{
	for (size_t i = 0; i < s->ntags; i++)
		free(s->tags[i].key);
	s->ntags = 0;
}

void dg_session_free(struct dg_session *s)
{
	if (s == NULL)
		return;
	clear_tags(s);
	for (size_t i = 0; i < s->napps; i++) {
		free(s->apps[i].pattern);
		for (size_t k = 0; k < s->apps[i].n; k++)
			free(s->apps[i].value[k]);
	}
	free(s->apps);
	free(s);
}

static int field_named(const char *name, const config_setting_t *at, const char *field,
                       const struct dg_schema *schema, struct dg_diag *d)
{
	int f = dg_schema_lookup(schema, field, strlen(field));

	if (f < 0)
		return dg_diag_fail(d, name, at, "unknown field '%s'", field);
	if (dg_schema_type(schema, f) != DG_TYPE_STRING)
		return dg_diag_fail(d, name, at, "'%s' is not a string field", field);
	return f;
}

int dg_session_read(struct dg_session *s, const char *name, const config_setting_t *tags,
                    const config_setting_t *apps, const struct dg_schema *schema, struct dg_diag *d)
{
	static const char *const app_keys[] = {"name",       "purpose", "ticket",
	                                       "consent_id", "basis",   NULL};
	static const int app_fields[] = {-1, DG_F_PURPOSE, DG_F_TICKET, DG_F_CONSENT_ID,
	                                 DG_F_BASIS};
	int rc = 0;

	if (tags != NULL && !config_setting_is_group(tags))
		rc = dg_diag_fail(d, name, tags,
		                  "tags is a group: tags = { purpose = \"dg.purpose\"; };");
	else if (tags != NULL) {
		clear_tags(s);
		for (int i = 0; i < config_setting_length(tags) && s->ntags < MAX_TAGS; i++) {
			const config_setting_t *t = config_setting_get_elem(tags, (unsigned)i);
			int f;

			if (config_setting_type(t) != CONFIG_TYPE_STRING) {
				rc =
				    dg_diag_fail(d, name, t, "tag %s names a field: \"dg.purpose\"",
				                 config_setting_name(t));
				continue;
			}
			if ((f = field_named(name, t, config_setting_get_string(t), schema, d)) <
			    0) {
				rc = -1;
				continue;
			}
			s->tags[s->ntags].key = dg_xstrdup(config_setting_name(t));
			s->tags[s->ntags++].field = f;
		}
	}
	if (apps != NULL && !config_setting_is_list(apps))
		return dg_diag_fail(d, name, apps,
		                    "applications is a list: ( { name = \"kyc-portal*\"; purpose = "
		                    "\"kyc\"; } )");
	for (int i = 0; apps != NULL && i < config_setting_length(apps); i++) {
		const config_setting_t *a = config_setting_get_elem(apps, (unsigned)i);
		struct app x = {0};
		const char *pattern;
		int err = 0;

		if (!config_setting_is_group(a) || dg_cfgutil_known(name, a, app_keys, d) != 0) {
			rc = config_setting_is_group(a)
			         ? -1
			         : dg_diag_fail(d, name, a, "each application is a group");
			continue;
		}
		pattern = dg_cfgutil_string(name, a, "name", &err, d);
		if (err || pattern == NULL) {
			rc = err ? -1
			         : dg_diag_fail(d, name, a,
			                        "an application needs its name (a pattern)");
			continue;
		}
		x.pattern = dg_xstrdup(pattern);
		for (size_t k = 1; app_keys[k] != NULL; k++) {
			const char *v = dg_cfgutil_string(name, a, app_keys[k], &err, d);

			if (v == NULL)
				continue;
			x.field[x.n] = app_fields[k];
			x.value[x.n++] = dg_xstrdup(v);
		}
		if (err)
			rc = -1;
		s->apps = dg_xreallocarray(s->apps, s->napps + 1, sizeof *s->apps);
		s->apps[s->napps++] = x;
	}
	return rc;
}

static int hex(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
	                              : -1;
}

/* Decodes %XX and \' from p[0..len) into buf; NULL if it does not fit. */
static char *decode(const char *p, size_t len, char *buf, size_t *used, size_t cap, size_t *outlen)
{
	char *start = buf + *used, *o = start;

	for (size_t i = 0; i < len; i++) {
		if ((size_t)(o - buf) >= cap)
			return NULL;
		if (p[i] == '%' && i + 2 < len && hex(p[i + 1]) >= 0 && hex(p[i + 2]) >= 0) {
			*o++ = (char)(hex(p[i + 1]) << 4 | hex(p[i + 2]));
			i += 2;
		} else if (p[i] == '\\' && i + 1 < len) {
			*o++ = p[++i];
		} else {
			*o++ = p[i];
		}
	}
	*outlen = (size_t)(o - start);
	*used = (size_t)(o - buf);
	return start;
}

/* Parses key='value'(,key='value')* between p and end; 0 if it is not that shape. */
static size_t parse_pairs(const char *p, const char *end, struct dg_str (*out)[2], size_t cap,
                          char *buf, size_t *used, size_t bufcap)
{
	size_t n = 0;

	while (p < end) {
		const char *k = p, *eq, *v, *q;

		while (k < end && *k == ' ')
			k++;
		for (eq = k; eq < end && *eq != '=' && *eq != ','; eq++)
			;
		if (eq == k || eq + 1 >= end || *eq != '=' || eq[1] != '\'')
			return 0;
		v = eq + 2;
		for (q = v; q < end && *q != '\''; q++)
			if (*q == '\\')
				q++;
		if (q >= end)
			return 0;
		if (n < cap) {
			size_t kl, vl;
			char *kd = decode(k, (size_t)(eq - k), buf, used, bufcap, &kl);
			char *vd = kd ? decode(v, (size_t)(q - v), buf, used, bufcap, &vl) : NULL;

			if (vd != NULL) {
				out[n][0] = (struct dg_str){kd, kl};
				out[n][1] = (struct dg_str){vd, vl};
				n++;
			}
		}
		p = q + 1;
		while (p < end && *p == ' ')
			p++;
		if (p < end && *p != ',')
			return 0;
		p++;
	}
	return n;
}

size_t dg_session_tags(const char *text, size_t len, struct dg_str (*out)[2], size_t cap, char *buf,
                       size_t bufcap)
{
	const char *p = text, *end = text + len;
	size_t used = 0;

	/* The convention puts it last; any comment of that shape is taken, the last one winning
	 * for a key (it is read last). */
	while ((p = memmem(p, (size_t)(end - p), "/*", 2)) != NULL) {
		const char *close = memmem(p + 2, (size_t)(end - p - 2), "*/", 2);
		size_t n;

		if (close == NULL)
			break;
		n = parse_pairs(p + 2, close, out, cap, buf, &used, bufcap);
		if (n > 0)
			return n;
		p = close + 2;
	}
	return 0;
}

void dg_session_apply(struct dg_session *s, struct dg_evt *evt)
{
	const struct dg_str *q = dg_evt_str(evt, DG_F_DB_QUERY),
	                    *app = dg_evt_str(evt, DG_F_DB_APPLICATION);
	struct dg_str tags[MAX_TAGS][2];
	size_t n = 0;

	if (q != NULL && memmem(q->p, q->len, "/*", 2) != NULL)
		n = dg_session_tags(q->p, q->len, tags, MAX_TAGS, s->scratch, SCRATCH / 2);
	/* An application name may carry the same tags, in a block comment after the name. */
	if (n == 0 && app != NULL && memmem(app->p, app->len, "/*", 2) != NULL)
		n = dg_session_tags(app->p, app->len, tags, MAX_TAGS, s->scratch, SCRATCH / 2);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < s->ntags; k++)
			if (tags[i][0].len == strlen(s->tags[k].key) &&
			    memcmp(tags[i][0].p, s->tags[k].key, tags[i][0].len) == 0 &&
			    !dg_evt_has(evt, s->tags[k].field))
				dg_evt_set(evt, s->tags[k].field, tags[i][1].p, tags[i][1].len);
	if (app == NULL || s->napps == 0)
		return;
	{
		char name[256];
		size_t len = app->len < sizeof name - 1 ? app->len : sizeof name - 1;

		memcpy(name, app->p, len);
		name[len] = '\0';
		for (size_t i = 0; i < s->napps; i++) {
			if (fnmatch(s->apps[i].pattern, name, 0) != 0)
				continue;
			for (size_t k = 0; k < s->apps[i].n; k++)
				if (!dg_evt_has(evt, s->apps[i].field[k]))
					dg_evt_set(evt, s->apps[i].field[k], s->apps[i].value[k],
					           strlen(s->apps[i].value[k]));
			break; /* the first that matches */
		}
	}
}
