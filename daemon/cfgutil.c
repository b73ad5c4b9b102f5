#include "dgaudit/cfgutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/buf.h"
#include "dgaudit/ip.h"
#include "dgaudit/ts.h"
#include "dgaudit/xmalloc.h"

/* ---- collected errors ---------------------------------------------------------------------- */

/* One mistake, one line: control characters the message quotes from a file are escaped. */
static char *one_line(char *msg)
{
	struct dg_buf b = {0};
	const char *q = msg;

	while (*q != '\0' && (unsigned char)*q >= 0x20)
		q++;
	if (*q == '\0')
		return msg;
	for (const char *p = msg; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20)
			dg_buf_printf(&b, "\\x%02x", (unsigned char)*p);
		else
			dg_buf_addc(&b, *p);
	}
	free(msg);
	return dg_buf_steal(&b);
}

static void diag_put(struct dg_diag *d, char *msg)
{
	msg = one_line(msg);
	if (d->n >= DG_DIAG_MAX) {
		d->dropped++;
		free(msg);
		return;
	}
	d->msgs = dg_xreallocarray(d->msgs, d->n + 1, sizeof *d->msgs);
	d->msgs[d->n++] = msg;
}

void dg_diag_add(struct dg_diag *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_put(d, dg_xvasprintf(fmt, ap));
	va_end(ap);
}

int dg_diag_fail(struct dg_diag *d, const char *name, const config_setting_t *s, const char *fmt,
                 ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = dg_xvasprintf(fmt, ap);
	va_end(ap);
	diag_put(d, dg_xasprintf("%s:%u: %s", name, s ? config_setting_source_line(s) : 0, msg));
	free(msg);
	return -1;
}

char *dg_diag_text(const struct dg_diag *d)
{
	struct dg_buf b = {0};

	if (d->n == 0)
		return NULL;
	for (size_t i = 0; i < d->n; i++)
		dg_buf_printf(&b, "%s%s", i ? "\n" : "", d->msgs[i]);
	if (d->dropped > 0)
		dg_buf_printf(&b, "\n... and %zu more errors", d->dropped);
	return dg_buf_steal(&b);
}

void dg_diag_clear(struct dg_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->msgs[i]);
	free(d->msgs);
	memset(d, 0, sizeof *d);
}

/* ---- suggestions --------------------------------------------------------------------------- */

/* Optimal string alignment distance (a transposition counts as one edit), for short names. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t prev2[65], prev[65], cur[65];

	if (la > 64 || lb > 64)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t v = prev[j - 1] + cost;

			if (prev[j] + 1 < v)
				v = prev[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    prev2[j - 2] + 1 < v)
				v = prev2[j - 2] + 1;
			cur[j] = v;
		}
		memcpy(prev2, prev, sizeof prev);
		memcpy(prev, cur, sizeof cur);
	}
	return prev[lb];
}

const char *dg_cfgutil_suggest(const char *name, const char *const *candidates, size_t n)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1, len = strlen(name);
	/* A third of the name, at least one and at most three edits: a typo, not another word. */
	size_t limit = len / 3 < 1 ? 1 : len / 3 > 3 ? 3 : len / 3;

	for (size_t i = 0; i < n; i++) {
		size_t dist;

		if (candidates[i] == NULL || strcmp(candidates[i], name) == 0)
			continue;
		dist = edit_distance(name, candidates[i]);
		if (dist < best_d) {
			best_d = dist;
			best = candidates[i];
		}
	}
	return best_d <= limit ? best : NULL;
}

const char *dg_cfgutil_did_you_mean(const char *name, const char *const *candidates, size_t n)
{
	static char buf[160];
	const char *s = dg_cfgutil_suggest(name, candidates, n);

	if (s == NULL)
		return "";
	snprintf(buf, sizeof buf, " (did you mean '%s'?)", s);
	return buf;
}

/* ---- reading ------------------------------------------------------------------------------- */

/* The text of line n (1-based) of text, and its length. */
static const char *line_of(const char *text, int n, size_t *len)
{
	const char *p = text, *nl;

	for (int i = 1; i < n && p != NULL; i++) {
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	if (p == NULL || *p == '\0')
		return NULL;
	nl = strchr(p, '\n');
	*len = nl ? (size_t)(nl - p) : strlen(p);
	return p;
}

/* The last character before p that is not space or part of a comment, or 0. Skips '#' and
 * '//' comments of earlier lines in a simple way: enough to find a dangling ','. */
static char prev_significant(const char *text, const char *p)
{
	while (p > text) {
		const char *bol = p, *hash;

		while (bol > text && bol[-1] != '\n')
			bol--;
		hash = memchr(bol, '#', (size_t)(p - bol));
		if (hash == NULL) {
			const char *sl = bol;

			while ((sl = memchr(sl, '/', (size_t)(p - sl))) != NULL && sl + 1 < p &&
			       sl[1] != '/')
				sl++;
			if (sl != NULL && sl + 1 < p)
				hash = sl;
		}
		if (hash != NULL)
			p = hash;
		while (p > bol && (p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\r'))
			p--;
		if (p > bol)
			return p[-1];
		p = bol > text ? bol - 1 : text; /* the newline before this line */
	}
	return 0;
}

static bool word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* What libconfig's "syntax error" at line n most likely means. */
static const char *explain_syntax(const char *text, int n)
{
	size_t len = 0;
	const char *line = line_of(text, n, &len);
	size_t quotes = 0;

	if (line == NULL)
		return "the file ends inside a group, list or array: a '}', ')' or ']' is missing";
	for (size_t i = 0; i < len; i++) {
		if (line[i] == '\\') {
			i++;
			continue;
		}
		if (line[i] == '#')
			break;
		quotes += line[i] == '"';
	}
	if (quotes % 2 == 1)
		return "a string is not closed: '\"' is missing";
	for (size_t i = 0; i < len; i++) {
		if ((line[i] == ')' || line[i] == ']') && prev_significant(text, line + i) == ',')
			return "a ',' before a closing ')' or ']': lists and arrays take no "
			       "trailing "
			       "comma";
		if (line[i] == '"' || line[i] == '#')
			break;
	}
	for (size_t i = 0; i < len; i++) {
		if (line[i] == '=' || line[i] == ':') {
			size_t a = i + 1, b;

			while (a < len && (line[a] == ' ' || line[a] == '\t'))
				a++;
			for (b = a; b < len && word_char(line[b]); b++)
				;
			if (b > a && !(line[a] >= '0' && line[a] <= '9') && line[a] != '-' &&
			    strncasecmp(line + a, "true", b - a) != 0 &&
			    strncasecmp(line + a, "false", b - a) != 0)
				return "a string value must be quoted, e.g. severity = \"high\";";
			continue;
		}
		if (line[i] == '.' && i > 0 && word_char(line[i - 1]))
			return "a setting name may hold letters, digits, '-' and '_', not '.'; "
			       "field "
			       "names go in quotes, e.g. field = \"user.name\";";
		if (line[i] == '#')
			break;
		if (line[i] == '"') { /* past the string */
			for (i++; i < len && line[i] != '"'; i++)
				if (line[i] == '\\')
					i++;
		}
	}
	if (n > 1 && prev_significant(text, line) != ';' && prev_significant(text, line) != ',' &&
	    prev_significant(text, line) != '{' && prev_significant(text, line) != '(' &&
	    prev_significant(text, line) != '[')
		return "the previous line may lack its ';' or ','";
	return NULL;
}

int dg_cfgutil_read(config_t *cfg, const char *name, const char *text, struct dg_diag *d)
{
	unsigned line = 1;
	const char *why;

	/* libconfig 1.5 exits the whole process on some @include errors (libconfig#292), so a
	 * file must never get there; rules.directories does what @include would. */
	for (const char *p = text; *p != '\0'; line++) {
		p += strspn(p, " \t");
		if (strncmp(p, "@include", 8) == 0) {
			dg_diag_add(d,
			            "%s:%u: @include is not supported; list rule files in "
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
	why = strcmp(config_error_text(cfg), "syntax error") == 0
	          ? explain_syntax(text, config_error_line(cfg))
	          : NULL;
	dg_diag_add(d, "%s:%d: %s%s%s", name, config_error_line(cfg), config_error_text(cfg),
	            why ? ": " : "", why ? why : "");
	return -1;
}

char *dg_cfgutil_where(const char *name, const config_setting_t *s)
{
	return dg_xasprintf("%s:%u", name, s ? config_setting_source_line(s) : 0);
}

int dg_cfgutil_known(const char *name, const config_setting_t *s, const char *const *known,
                     struct dg_diag *d)
{
	int n = config_setting_length(s), rc = 0;
	size_t nknown = 0;

	while (known[nknown] != NULL)
		nknown++;
	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
		const char *key = config_setting_name(m);
		bool ok = false;

		for (size_t k = 0; k < nknown && key != NULL; k++)
			ok |= strcmp(known[k], key) == 0;
		if (!ok)
			rc = dg_diag_fail(d, name, m, "unknown setting '%s'%s", key ? key : "?",
			                  key ? dg_cfgutil_did_you_mean(key, known, nknown) : "");
	}
	return rc;
}

const char *dg_cfgutil_string(const char *name, const config_setting_t *group, const char *key,
                              int *err, struct dg_diag *d)
{
	const config_setting_t *s = config_setting_get_member(group, key);

	if (s == NULL)
		return NULL;
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		*err = dg_diag_fail(d, name, s, "'%s' must be a string", key);
		return NULL;
	}
	return config_setting_get_string(s);
}

int dg_cfgutil_strings(const char *name, const config_setting_t *s, char ***out, size_t *n,
                       struct dg_diag *d)
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
		return dg_diag_fail(d, name, s, "'%s' must be a string or a list of strings",
		                    config_setting_name(s) ? config_setting_name(s) : "value");
	len = config_setting_length(s);
	v = dg_xcalloc((size_t)len + 1, sizeof *v);
	for (int i = 0; i < len; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			dg_cfgutil_strings_free(v);
			return dg_diag_fail(d, name, e, "list elements must be strings");
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

void dg_cfgutil_format_duration(int64_t ms, char *buf, size_t len)
{
	static const struct {
		int64_t ms;
		const char *unit;
	} units[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}};

	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (ms != 0 && ms % units[i].ms == 0) {
			snprintf(buf, len, "%lld%s", (long long)(ms / units[i].ms), units[i].unit);
			return;
		}
	snprintf(buf, len, "0s");
}

int dg_cfgutil_duration(const char *name, const config_setting_t *g, const char *key,
                        int64_t min_ms, int64_t max_ms, int64_t *out, struct dg_diag *d)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	char lo[32], hi[32];
	int64_t v;

	if (s == NULL)
		return 0;
	if (config_setting_type(s) == CONFIG_TYPE_INT ||
	    config_setting_type(s) == CONFIG_TYPE_INT64)
		v = config_setting_get_int64(s) * 1000;
	else if (config_setting_type(s) != CONFIG_TYPE_STRING ||
	         !dg_ts_duration(config_setting_get_string(s), &v))
		return dg_diag_fail(d, name, s, "%s needs a duration such as \"10m\"", key);
	dg_cfgutil_format_duration(min_ms, lo, sizeof lo);
	dg_cfgutil_format_duration(max_ms, hi, sizeof hi);
	if (v < min_ms || v > max_ms)
		return dg_diag_fail(d, name, s, "%s must be between %s and %s", key,
		                    min_ms == 0 ? "0s" : lo, hi);
	*out = v;
	return 0;
}

/* ---- named values -------------------------------------------------------------------------- */

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

const struct dg_schedule_def *dg_cfgutil_site_schedule(const struct dg_site *site, const char *name)
{
	for (size_t i = 0; i < site->nschedules; i++)
		if (strcmp(site->schedules[i].name, name) == 0)
			return &site->schedules[i];
	return NULL;
}

static const struct dg_field_def *site_field(const struct dg_site *site, const char *name)
{
	for (size_t i = 0; i < site->nfields; i++)
		if (strcmp(site->fields[i].name, name) == 0)
			return &site->fields[i];
	return NULL;
}

static void list_clear(struct dg_list *l)
{
	free(l->name);
	dg_cfgutil_strings_free(l->items);
	free(l->file);
	free(l->where);
}

static void setting_clear(struct dg_setting *s)
{
	free(s->name);
	free(s->str);
	free(s->where);
}

static void schedule_clear(struct dg_schedule_def *s)
{
	free(s->name);
	free(s->timezone);
	free(s->holidays);
	free(s->workdays);
	free(s->where);
}

static void field_clear(struct dg_field_def *f)
{
	free(f->name);
	free(f->where);
}

/* Each put replaces an entry of the same name, taking ownership of the new one's contents. */
#define PUT(site, arr, n, v, find, clear)                                                          \
	do {                                                                                       \
		__typeof__(&(site)->arr[0]) old_ = (__typeof__(old_))find((site), (v).name);       \
		if (old_ != NULL) {                                                                \
			clear(old_);                                                               \
			*old_ = (v);                                                               \
		} else {                                                                           \
			(site)->arr =                                                              \
			    dg_xreallocarray((site)->arr, (site)->n + 1, sizeof *(site)->arr);     \
			(site)->arr[(site)->n++] = (v);                                            \
		}                                                                                  \
	} while (0)

static char **strings_copy(char *const *v, size_t n)
{
	char **c = dg_xcalloc(n + 1, sizeof *c);

	for (size_t i = 0; i < n; i++)
		c[i] = dg_xstrdup(v[i]);
	return c;
}

static char *strdup_or_null(const char *s)
{
	return s ? dg_xstrdup(s) : NULL;
}

void dg_cfgutil_site_merge(struct dg_site *dst, const struct dg_site *src)
{
	for (size_t i = 0; i < src->nlists; i++) {
		const struct dg_list *l = &src->lists[i];
		struct dg_list c = {dg_xstrdup(l->name), strings_copy(l->items, l->nitems),
		                    l->nitems,           l->type,
		                    l->ignore_case,      strdup_or_null(l->file),
		                    dg_xstrdup(l->where)};

		PUT(dst, lists, nlists, c, dg_cfgutil_site_list, list_clear);
	}
	for (size_t i = 0; i < src->nsettings; i++) {
		const struct dg_setting *v = &src->settings[i];
		struct dg_setting c = {dg_xstrdup(v->name), v->is_int, v->num,
		                       strdup_or_null(v->str), dg_xstrdup(v->where)};

		PUT(dst, settings, nsettings, c, dg_cfgutil_site_setting, setting_clear);
	}
	for (size_t i = 0; i < src->nschedules; i++) {
		struct dg_schedule_def c = src->schedules[i];

		c.name = dg_xstrdup(c.name);
		c.timezone = dg_xstrdup(c.timezone);
		c.holidays = strdup_or_null(c.holidays);
		c.workdays = strdup_or_null(c.workdays);
		c.where = dg_xstrdup(c.where);
		PUT(dst, schedules, nschedules, c, dg_cfgutil_site_schedule, schedule_clear);
	}
	for (size_t i = 0; i < src->nfields; i++) {
		struct dg_field_def c = {dg_xstrdup(src->fields[i].name), src->fields[i].type,
		                         dg_xstrdup(src->fields[i].where)};

		PUT(dst, fields, nfields, c, site_field, field_clear);
	}
}

static const char *const list_types[] = {"string", "cidr", "date", NULL};

/* Checks the items of a typed list where they are defined. */
static int check_items(const char *name, const config_setting_t *s, const struct dg_list *l,
                       struct dg_diag *d)
{
	int rc = 0;

	for (size_t i = 0; i < l->nitems; i++) {
		const char *it = l->items[i];
		struct dg_ip_cidr c;
		int64_t from, to;

		if (l->type == DG_LIST_CIDR && !dg_ip_cidr_parse(it, &c))
			rc = dg_diag_fail(d, name, s,
			                  "list '%s': '%s' is not an address or CIDR block",
			                  l->name, it);
		if (l->type == DG_LIST_DATE && !dg_ts_date_range(it, &from, &to))
			rc =
			    dg_diag_fail(d, name, s,
			                 "list '%s': '%s' is not a date (YYYY-MM-DD) or a range of "
			                 "dates (YYYY-MM-DD..YYYY-MM-DD, at most a year)",
			                 l->name, it);
	}
	return rc;
}

void dg_cfgutil_list_items(const char *text, char ***items, size_t *n)
{
	const char *p = text;

	while (*p != '\0') {
		const char *eol = strchr(p, '\n'), *end, *hash;

		if (eol == NULL)
			eol = p + strlen(p);
		hash = memchr(p, '#', (size_t)(eol - p));
		end = hash ? hash : eol;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			end--;
		if (end > p) {
			*items = dg_xreallocarray(*items, *n + 2, sizeof **items);
			(*items)[(*n)++] = dg_xstrndup(p, (size_t)(end - p));
			(*items)[*n] = NULL;
		}
		p = *eol ? eol + 1 : eol;
	}
}

static int add_list(struct dg_site *site, const char *name, const config_setting_t *s,
                    bool override, dg_cfgutil_reader *read, void *read_arg, struct dg_diag *d)
{
	static const char *const known[] = {"type", "items", "file", "ignore_case", NULL};
	struct dg_list l = {0};
	const struct dg_list *old = dg_cfgutil_site_list(site, config_setting_name(s));
	const config_setting_t *m;
	int err = 0;

	if (old != NULL && !override)
		return dg_diag_fail(d, name, s, "list '%s' is already defined at %s",
		                    config_setting_name(s), old->where);
	l.name = dg_xstrdup(config_setting_name(s));
	l.where = dg_cfgutil_where(name, s);
	if (!config_setting_is_group(s)) {
		if (dg_cfgutil_strings(name, s, &l.items, &l.nitems, d) != 0)
			goto fail;
		if (old != NULL) { /* an override keeps what the declaration said the items are */
			l.type = old->type;
			l.ignore_case = old->ignore_case;
		}
	} else {
		const char *type, *file;

		if (dg_cfgutil_known(name, s, known, d) != 0)
			goto fail;
		type = dg_cfgutil_string(name, s, "type", &err, d);
		file = dg_cfgutil_string(name, s, "file", &err, d);
		if (err)
			goto fail;
		l.type = old ? old->type : DG_LIST_STRING;
		if (type != NULL) {
			size_t t = 0;

			while (list_types[t] != NULL && strcmp(list_types[t], type) != 0)
				t++;
			if (list_types[t] == NULL) {
				dg_diag_fail(d, name, config_setting_get_member(s, "type"),
				             "list '%s': type must be string, cidr or date",
				             l.name);
				goto fail;
			}
			l.type = (enum dg_list_type)t;
		}
		if ((m = config_setting_get_member(s, "ignore_case")) != NULL) {
			if (config_setting_type(m) != CONFIG_TYPE_BOOL) {
				dg_diag_fail(d, name, m, "ignore_case is true or false");
				goto fail;
			}
			l.ignore_case = config_setting_get_bool(m);
		} else if (old != NULL) {
			l.ignore_case = old->ignore_case;
		}
		if ((m = config_setting_get_member(s, "items")) != NULL &&
		    dg_cfgutil_strings(name, m, &l.items, &l.nitems, d) != 0)
			goto fail;
		if (l.items == NULL)
			l.items = dg_xcalloc(1, sizeof *l.items);
		if (file != NULL) {
			char *why = NULL, *text;
			size_t len;

			if (read == NULL ||
			    (text = read(read_arg, name, file, &len, &why)) == NULL) {
				dg_diag_fail(d, name, config_setting_get_member(s, "file"),
				             "list '%s': %s", l.name,
				             why ? why : "cannot read files");
				free(why);
				goto fail;
			}
			dg_cfgutil_list_items(text, &l.items, &l.nitems);
			l.file = dg_xstrdup(file);
			free(text);
		}
	}
	if (check_items(name, s, &l, d) != 0)
		goto fail;
	PUT(site, lists, nlists, l, dg_cfgutil_site_list, list_clear);
	return 0;
fail:
	list_clear(&l);
	return -1;
}

static int add_setting(struct dg_site *site, const char *name, const config_setting_t *s,
                       bool override, struct dg_diag *d)
{
	struct dg_setting v = {0};
	const struct dg_setting *old = dg_cfgutil_site_setting(site, config_setting_name(s));

	if (old != NULL && !override)
		return dg_diag_fail(d, name, s, "setting '%s' is already defined at %s",
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
		return dg_diag_fail(d, name, s, "setting '%s' must be an integer or a string",
		                    config_setting_name(s));
	}
	v.name = dg_xstrdup(config_setting_name(s));
	v.where = dg_cfgutil_where(name, s);
	PUT(site, settings, nsettings, v, dg_cfgutil_site_setting, setting_clear);
	return 0;
}

static const char *const day_names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun", NULL};

static int day_index(const char *s, size_t len)
{
	for (int i = 0; day_names[i] != NULL; i++)
		if (len == 3 && strncasecmp(s, day_names[i], 3) == 0)
			return i;
	return -1;
}

/* "mon", "mon-fri" (a range may wrap: "fri-mon"), or "weekdays" / "weekend". */
static bool parse_days(const char *s, unsigned *mask)
{
	const char *dash = strchr(s, '-');
	int a, b;

	if (strcmp(s, "weekdays") == 0) {
		*mask |= 0x1f;
		return true;
	}
	if (strcmp(s, "weekend") == 0) {
		*mask |= 0x60;
		return true;
	}
	if (dash == NULL) {
		a = day_index(s, strlen(s));
		if (a < 0)
			return false;
		*mask |= 1u << a;
		return true;
	}
	a = day_index(s, (size_t)(dash - s));
	b = day_index(dash + 1, strlen(dash + 1));
	if (a < 0 || b < 0)
		return false;
	for (int i = a;; i = (i + 1) % 7) {
		*mask |= 1u << i;
		if (i == b)
			break;
	}
	return true;
}

static bool parse_clock(const char *s, size_t len, int *minutes)
{
	unsigned h, m;

	if (len != 5 || s[2] != ':' || sscanf(s, "%2u:%2u", &h, &m) != 2 || m > 59 || h > 24 ||
	    (h == 24 && m != 0))
		return false;
	*minutes = (int)(h * 60 + m);
	return true;
}

/* "09:00-18:00"; a range that ends before it starts crosses midnight ("22:00-06:00"). */
static bool parse_range(const char *s, int *from, int *to)
{
	const char *dash = strchr(s, '-');

	return dash != NULL && parse_clock(s, (size_t)(dash - s), from) &&
	       parse_clock(dash + 1, strlen(dash + 1), to) && *from != *to;
}

static int add_schedule(struct dg_site *site, const char *name, const config_setting_t *s,
                        bool override, struct dg_diag *d)
{
	static const char *const known[] = {"timezone", "days",     "hours",
	                                    "holidays", "workdays", NULL};
	const struct dg_schedule_def *old = dg_cfgutil_site_schedule(site, config_setting_name(s));
	struct dg_schedule_def sc = {0};
	const config_setting_t *m;
	const char *tz, *hol, *work;
	char **v = NULL;
	size_t n = 0;
	int err = 0, rc = 0;

	if (old != NULL && !override)
		return dg_diag_fail(d, name, s, "schedule '%s' is already defined at %s",
		                    config_setting_name(s), old->where);
	if (!config_setting_is_group(s))
		return dg_diag_fail(
		    d, name, s,
		    "schedule '%s' is a group { timezone = \"Asia/Shanghai\"; days = "
		    "[\"mon-fri\"]; hours = [\"09:00-18:00\"]; }",
		    config_setting_name(s));
	if (dg_cfgutil_known(name, s, known, d) != 0)
		return -1;
	tz = dg_cfgutil_string(name, s, "timezone", &err, d);
	hol = dg_cfgutil_string(name, s, "holidays", &err, d);
	work = dg_cfgutil_string(name, s, "workdays", &err, d);
	if (err)
		return -1;
	sc.name = dg_xstrdup(config_setting_name(s));
	sc.where = dg_cfgutil_where(name, s);
	sc.timezone = dg_xstrdup(tz ? tz : "UTC");
	/* "$name" or a bare list name. */
	sc.holidays = hol ? dg_xstrdup(hol[0] == '$' ? hol + 1 : hol) : NULL;
	sc.workdays = work ? dg_xstrdup(work[0] == '$' ? work + 1 : work) : NULL;
	if ((m = config_setting_get_member(s, "days")) == NULL) {
		sc.days = 0x7f;
	} else if (dg_cfgutil_strings(name, m, &v, &n, d) == 0) {
		for (size_t i = 0; i < n; i++)
			if (!parse_days(v[i], &sc.days))
				rc = dg_diag_fail(
				    d, name, m,
				    "schedule '%s': '%s' is not a day or range of days "
				    "(mon, tue, ... sun, mon-fri, weekdays, weekend)",
				    sc.name, v[i]);
		dg_cfgutil_strings_free(v);
		v = NULL;
	} else {
		rc = -1;
	}
	if ((m = config_setting_get_member(s, "hours")) == NULL) {
		sc.from[0] = 0;
		sc.to[0] = 24 * 60;
		sc.nranges = 1;
	} else if (dg_cfgutil_strings(name, m, &v, &n, d) == 0) {
		if (n == 0 || n > DG_SCHEDULE_MAX_RANGES)
			rc = dg_diag_fail(d, name, m, "schedule '%s': between 1 and %d hour ranges",
			                  sc.name, DG_SCHEDULE_MAX_RANGES);
		for (size_t i = 0; i < n && i < DG_SCHEDULE_MAX_RANGES; i++) {
			if (!parse_range(v[i], &sc.from[i], &sc.to[i]))
				rc = dg_diag_fail(
				    d, name, m,
				    "schedule '%s': '%s' is not a range of hours such as "
				    "\"09:00-18:00\" or \"22:00-06:00\"",
				    sc.name, v[i]);
			sc.nranges++;
		}
		dg_cfgutil_strings_free(v);
	} else {
		rc = -1;
	}
	if (rc != 0) {
		schedule_clear(&sc);
		return -1;
	}
	PUT(site, schedules, nschedules, sc, dg_cfgutil_site_schedule, schedule_clear);
	return 0;
}

static const char *const type_names[] = {
    [DG_TYPE_STRING] = "string", [DG_TYPE_STRINGS] = "strings", [DG_TYPE_NUMBER] = "number",
    [DG_TYPE_IP] = "ip",         [DG_TYPE_TIME] = "time",       [DG_TYPE_BOOL] = "bool",
};

const char *dg_cfgutil_type_name(enum dg_field_type t)
{
	return t >= DG_TYPE_STRING && t <= DG_TYPE_BOOL ? type_names[t] : "?";
}

/* fields = ( { name = "labels.n"; type = "number"; }, "http.request.method" ); */
static int add_field(struct dg_site *site, const char *name, const config_setting_t *s,
                     struct dg_diag *d)
{
	static const char *const known[] = {"name", "type", NULL};
	struct dg_field_def f = {.type = DG_TYPE_STRING};
	const char *fname, *type = NULL;
	int err = 0;

	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		fname = config_setting_get_string(s);
	} else if (config_setting_is_group(s)) {
		if (dg_cfgutil_known(name, s, known, d) != 0)
			return -1;
		fname = dg_cfgutil_string(name, s, "name", &err, d);
		type = dg_cfgutil_string(name, s, "type", &err, d);
		if (err)
			return -1;
		if (fname == NULL)
			return dg_diag_fail(d, name, s, "a field needs a name");
	} else {
		return dg_diag_fail(
		    d, name, s, "each field is \"name\" or { name = \"...\"; type = \"number\"; }");
	}
	if (type != NULL) {
		int t = DG_TYPE_STRING;

		while (t <= DG_TYPE_BOOL && strcmp(type_names[t], type) != 0)
			t++;
		if (t > DG_TYPE_BOOL)
			return dg_diag_fail(d, name, s,
			                    "field '%s': type must be string, strings, number, ip, "
			                    "time or bool",
			                    fname);
		f.type = (enum dg_field_type)t;
	}
	f.name = dg_xstrdup(fname);
	f.where = dg_cfgutil_where(name, s);
	PUT(site, fields, nfields, f, site_field, field_clear);
	return 0;
}

int dg_cfgutil_site_read(struct dg_site *site, const char *name, const struct dg_site_groups *g,
                         bool override, dg_cfgutil_reader *read, void *read_arg, struct dg_diag *d)
{
	int rc = 0;

	if (g->lists != NULL && !config_setting_is_group(g->lists))
		rc = dg_diag_fail(d, name, g->lists, "'lists' must be a group");
	else
		for (int i = 0; g->lists != NULL && i < config_setting_length(g->lists); i++)
			rc |= add_list(site, name, config_setting_get_elem(g->lists, (unsigned)i),
			               override, read, read_arg, d);
	if (g->settings != NULL && !config_setting_is_group(g->settings))
		rc = dg_diag_fail(d, name, g->settings, "'settings' must be a group");
	else
		for (int i = 0; g->settings != NULL && i < config_setting_length(g->settings); i++)
			rc |= add_setting(site, name,
			                  config_setting_get_elem(g->settings, (unsigned)i),
			                  override, d);
	if (g->schedules != NULL && !config_setting_is_group(g->schedules))
		rc = dg_diag_fail(d, name, g->schedules, "'schedules' must be a group");
	else
		for (int i = 0; g->schedules != NULL && i < config_setting_length(g->schedules);
		     i++)
			rc |= add_schedule(site, name,
			                   config_setting_get_elem(g->schedules, (unsigned)i),
			                   override, d);
	if (g->fields != NULL && !config_setting_is_list(g->fields) &&
	    !config_setting_is_array(g->fields))
		rc = dg_diag_fail(
		    d, name, g->fields,
		    "'fields' is a list: ( { name = \"labels.n\"; type = \"number\"; } )");
	else
		for (int i = 0; g->fields != NULL && i < config_setting_length(g->fields); i++)
			rc |= add_field(site, name, config_setting_get_elem(g->fields, (unsigned)i),
			                d);
	return rc ? -1 : 0;
}

void dg_cfgutil_site_clear(struct dg_site *site)
{
	for (size_t i = 0; i < site->nlists; i++)
		list_clear(&site->lists[i]);
	for (size_t i = 0; i < site->nsettings; i++)
		setting_clear(&site->settings[i]);
	for (size_t i = 0; i < site->nschedules; i++)
		schedule_clear(&site->schedules[i]);
	for (size_t i = 0; i < site->nfields; i++)
		field_clear(&site->fields[i]);
	free(site->lists);
	free(site->settings);
	free(site->schedules);
	free(site->fields);
	memset(site, 0, sizeof *site);
}
