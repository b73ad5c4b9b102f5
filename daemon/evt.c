#include "dgaudit/evt.h"

#include <stdlib.h>
#include <string.h>

#include "dgaudit/xmalloc.h"

static const char *const model_names[DG_F_NMODEL] = {
    [DG_F_TIMESTAMP] = "@timestamp",
    [DG_F_HOST_NAME] = "host.name",
    [DG_F_SERVICE_NAME] = "service.name",
    [DG_F_USER_NAME] = "user.name",
    [DG_F_USER_ROLES] = "user.roles",
    [DG_F_SOURCE_IP] = "source.ip",
    [DG_F_EVENT_ACTION] = "event.action",
    [DG_F_EVENT_OUTCOME] = "event.outcome",
    [DG_F_DB_SYSTEM] = "db.system",
    [DG_F_DB_NAMESPACE] = "db.namespace",
    [DG_F_DB_COLLECTION] = "db.collection.name",
    [DG_F_DB_OPERATION] = "db.operation.name",
    [DG_F_DB_QUERY] = "db.query.text",
    [DG_F_OBJECT] = "dg.object",
    [DG_F_CLASSIFICATION] = "dg.classification",
    [DG_F_CATEGORIES] = "dg.categories",
    [DG_F_RECORDS] = "dg.records",
    [DG_F_SUBJECT_ID] = "dg.subject_id",
    [DG_F_PURPOSE] = "dg.purpose",
    [DG_F_CONSENT_ID] = "dg.consent_id",
    [DG_F_TICKET] = "dg.ticket",
    [DG_F_RECIPIENT] = "dg.recipient",
    [DG_F_RECIPIENT_COUNTRY] = "dg.recipient_country",
    [DG_F_MESSAGE] = "message",
    [DG_F_DB_COLUMNS] = "db.columns",
    [DG_F_EVENT_CREATED] = "event.created",
    [DG_F_BASIS] = "dg.basis",
    [DG_F_TRANSFER_MECHANISM] = "dg.transfer_mechanism",
    [DG_F_RECIPIENT_ROLE] = "dg.recipient_role",
    [DG_F_SUBJECT_AGE] = "dg.subject_age",
    [DG_F_GUARDIAN_CONSENT] = "dg.guardian_consent_id",
    [DG_F_MASKED] = "dg.masked",
    [DG_F_RETENTION_UNTIL] = "dg.retention_until",
    [DG_F_DB_APPLICATION] = "db.application_name",
    [DG_F_USER_EFFECTIVE] = "user.effective.name",
    [DG_F_AUDIT_CHANGE] = "dg.audit_change",
    [DG_F_AUDIT_CLASS] = "db.audit.class",
    [DG_F_EVENT_REASON] = "event.reason",
    [DG_F_AUDIT_GAP] = "dg.audit_gap",
    [DG_F_FILE_PATH] = "file.path",
    [DG_F_AUDIT_KEY] = "audit.key",
    [DG_F_INTEGRITY] = "dg.integrity",
};

static const enum dg_field_type model_types[DG_F_NMODEL] = {
    [DG_F_TIMESTAMP] = DG_TYPE_TIME,
    [DG_F_HOST_NAME] = DG_TYPE_STRING,
    [DG_F_SERVICE_NAME] = DG_TYPE_STRING,
    [DG_F_USER_NAME] = DG_TYPE_STRING,
    [DG_F_USER_ROLES] = DG_TYPE_STRINGS,
    [DG_F_SOURCE_IP] = DG_TYPE_IP,
    [DG_F_EVENT_ACTION] = DG_TYPE_STRING,
    [DG_F_EVENT_OUTCOME] = DG_TYPE_STRING,
    [DG_F_DB_SYSTEM] = DG_TYPE_STRING,
    [DG_F_DB_NAMESPACE] = DG_TYPE_STRING,
    [DG_F_DB_COLLECTION] = DG_TYPE_STRING,
    [DG_F_DB_OPERATION] = DG_TYPE_STRING,
    [DG_F_DB_QUERY] = DG_TYPE_STRING,
    [DG_F_OBJECT] = DG_TYPE_STRING,
    [DG_F_CLASSIFICATION] = DG_TYPE_STRING,
    [DG_F_CATEGORIES] = DG_TYPE_STRINGS,
    [DG_F_RECORDS] = DG_TYPE_NUMBER,
    [DG_F_SUBJECT_ID] = DG_TYPE_STRING,
    [DG_F_PURPOSE] = DG_TYPE_STRING,
    [DG_F_CONSENT_ID] = DG_TYPE_STRING,
    [DG_F_TICKET] = DG_TYPE_STRING,
    [DG_F_RECIPIENT] = DG_TYPE_STRING,
    [DG_F_RECIPIENT_COUNTRY] = DG_TYPE_STRING,
    [DG_F_MESSAGE] = DG_TYPE_STRING,
    [DG_F_DB_COLUMNS] = DG_TYPE_STRINGS,
    [DG_F_EVENT_CREATED] = DG_TYPE_TIME,
    [DG_F_BASIS] = DG_TYPE_STRING,
    [DG_F_TRANSFER_MECHANISM] = DG_TYPE_STRING,
    [DG_F_RECIPIENT_ROLE] = DG_TYPE_STRING,
    [DG_F_SUBJECT_AGE] = DG_TYPE_NUMBER,
    [DG_F_GUARDIAN_CONSENT] = DG_TYPE_STRING,
    [DG_F_MASKED] = DG_TYPE_BOOL,
    [DG_F_RETENTION_UNTIL] = DG_TYPE_TIME,
    [DG_F_DB_APPLICATION] = DG_TYPE_STRING,
    [DG_F_USER_EFFECTIVE] = DG_TYPE_STRING,
    [DG_F_AUDIT_CHANGE] = DG_TYPE_STRING,
    [DG_F_AUDIT_CLASS] = DG_TYPE_STRING,
    [DG_F_EVENT_REASON] = DG_TYPE_STRING,
    [DG_F_AUDIT_GAP] = DG_TYPE_NUMBER,
    [DG_F_FILE_PATH] = DG_TYPE_STRING,
    [DG_F_AUDIT_KEY] = DG_TYPE_STRING,
    [DG_F_INTEGRITY] = DG_TYPE_STRING,
};

static const char *const actions[] = {"read",  "write", "delete", "export",   "share", "login",
                                      "grant", "ddl",   "admin",  "set_role", NULL};
static const char *const outcomes[] = {"success", "failure", NULL};
static const char *const audit_changes[] = {"reduce", "increase", "change", NULL};

const char *const *dg_schema_values(int field)
{
	switch (field) {
	case DG_F_EVENT_ACTION:
		return actions;
	case DG_F_EVENT_OUTCOME:
		return outcomes;
	case DG_F_AUDIT_CHANGE:
		return audit_changes;
	default:
		return NULL;
	}
}

bool dg_evt_add_object(struct dg_evt *evt, const char *p, size_t len, const char *action,
                       unsigned flags)
{
	struct dg_evt_object *o;

	if (evt->nobjects == DG_MAX_OBJECTS || len == 0)
		return false;
	o = &evt->objects[evt->nobjects++];
	o->name = (struct dg_str){p, len};
	o->action = action;
	o->via = (struct dg_str){NULL, 0};
	o->flags = flags;
	return true;
}

/* Open addressing over path names; entries are full paths (slot >= 0) or prefixes (-1). */
#define SCHEMA_BUCKETS 512

struct schema_entry {
	char *path;
	size_t len;
	uint64_t hash;
	int slot; /* -1 for a prefix */
};

struct dg_schema {
	char *names[DG_MAX_FIELDS];
	enum dg_field_type types[DG_MAX_FIELDS];
	int nfields;
	struct schema_entry table[SCHEMA_BUCKETS];
	int nentries;
};

static uint64_t path_hash(const char *p, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	return h;
}

static struct schema_entry *find(const struct dg_schema *s, const char *p, size_t len, uint64_t h)
{
	size_t i = h & (SCHEMA_BUCKETS - 1);

	for (;;) {
		const struct schema_entry *e = &s->table[i];

		if (e->path == NULL)
			return (struct schema_entry *)e;
		if (e->hash == h && e->len == len && memcmp(e->path, p, len) == 0)
			return (struct schema_entry *)e;
		i = (i + 1) & (SCHEMA_BUCKETS - 1);
	}
}

/* Records path[0..len) -> slot; slot -1 records a prefix only. */
static int insert(struct dg_schema *s, const char *path, size_t len, int slot, char **cause)
{
	uint64_t h = path_hash(path, len);
	struct schema_entry *e = find(s, path, len, h);

	if (e->path != NULL) {
		if (slot == -1 || e->slot == slot)
			return 0;
		if (e->slot == -1) {
			e->slot = slot; /* "a.b" was a prefix and now is a field too */
			return 0;
		}
		*cause =
		    dg_xasprintf("%.*s already names field %s", (int)len, path, s->names[e->slot]);
		return -1;
	}
	if (s->nentries + 1 >= SCHEMA_BUCKETS * 3 / 4) {
		*cause = dg_xasprintf("too many field names (at most %d)", SCHEMA_BUCKETS * 3 / 4);
		return -1;
	}
	e->path = dg_xstrndup(path, len);
	e->len = len;
	e->hash = h;
	e->slot = slot;
	s->nentries++;
	return 0;
}

/* Adds path and each of its dotted prefixes, so nested JSON objects are descended into. */
static int insert_path(struct dg_schema *s, const char *path, int slot, char **cause)
{
	size_t len = strlen(path);

	if (len == 0) {
		*cause = dg_xstrdup("empty field name");
		return -1;
	}
	for (size_t i = 1; i < len; i++)
		if (path[i] == '.' && insert(s, path, i, -1, cause) != 0)
			return -1;
	return insert(s, path, len, slot, cause);
}

struct dg_schema *dg_schema_new(void)
{
	struct dg_schema *s = dg_xcalloc(1, sizeof *s);
	char *cause = NULL;

	for (int f = 0; f < DG_F_NMODEL; f++)
		(void)dg_schema_add(s, model_names[f], model_types[f], &cause); /* fixed names */
	return s;
}

void dg_schema_free(struct dg_schema *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < SCHEMA_BUCKETS; i++)
		free(s->table[i].path);
	for (int f = 0; f < s->nfields; f++)
		free(s->names[f]);
	free(s);
}

int dg_schema_add(struct dg_schema *s, const char *name, enum dg_field_type type, char **cause)
{
	int f = dg_schema_lookup(s, name, strlen(name));

	if (f >= 0)
		return f;
	if (s->nfields == DG_MAX_FIELDS) {
		*cause =
		    dg_xasprintf("%s: too many distinct fields (at most %d)", name, DG_MAX_FIELDS);
		return -1;
	}
	if (insert_path(s, name, s->nfields, cause) != 0)
		return -1;
	s->names[s->nfields] = dg_xstrdup(name);
	s->types[s->nfields] = type;
	return s->nfields++;
}

int dg_schema_alias(struct dg_schema *s, const char *alias, int field, char **cause)
{
	return insert_path(s, alias, field, cause);
}

int dg_schema_lookup(const struct dg_schema *s, const char *path, size_t len)
{
	const struct schema_entry *e = find(s, path, len, path_hash(path, len));

	return e->path != NULL ? e->slot : -1;
}

bool dg_schema_is_prefix(const struct dg_schema *s, const char *path, size_t len)
{
	return find(s, path, len, path_hash(path, len))->path != NULL;
}

enum dg_field_type dg_schema_type(const struct dg_schema *s, int field)
{
	return field >= 0 && field < s->nfields ? s->types[field] : DG_TYPE_STRING;
}

const char *dg_schema_name(const struct dg_schema *s, int field)
{
	return field >= 0 && field < s->nfields ? s->names[field] : NULL;
}

int dg_schema_count(const struct dg_schema *s)
{
	return s->nfields;
}

const struct dg_str *dg_evt_str(const struct dg_evt *evt, int field)
{
	const struct dg_val *v = &evt->v[field];

	if (!dg_evt_has(evt, field))
		return NULL;
	if (v->kind == DG_K_ARRAY)
		return v->nitems ? &evt->items[v->first] : NULL;
	return &v->text;
}

bool dg_evt_int(const struct dg_evt *evt, int field, int64_t *out)
{
	const struct dg_val *v = &evt->v[field];
	int64_t n = 0;

	if (!dg_evt_has(evt, field))
		return false;
	if (v->kind == DG_K_NUM) {
		*out = v->num;
		return v->is_int;
	}
	if (v->kind != DG_K_STR || v->text.len == 0 || v->text.len > 18)
		return false;
	for (size_t i = 0; i < v->text.len; i++) {
		unsigned d = (unsigned char)v->text.p[i] - '0';

		if (d > 9)
			return false;
		n = n * 10 + d;
	}
	*out = n;
	return true;
}

void dg_evt_set(struct dg_evt *evt, int field, const char *p, size_t len)
{
	if (len == 0)
		return;
	evt->v[field].kind = DG_K_STR;
	evt->v[field].text.p = p;
	evt->v[field].text.len = len;
	evt->present |= 1ULL << field;
}

void dg_evt_set_int(struct dg_evt *evt, int field, int64_t n, const char *text, size_t len)
{
	struct dg_val *v = &evt->v[field];

	v->kind = DG_K_NUM;
	v->text.p = text;
	v->text.len = len;
	v->num = n;
	v->is_int = true;
	evt->present |= 1ULL << field;
}

bool dg_evt_push(struct dg_evt *evt, int field, const char *p, size_t len)
{
	struct dg_val *v = &evt->v[field];

	if (evt->nitems == DG_MAX_ITEMS)
		return false;
	if (!dg_evt_has(evt, field)) {
		v->kind = DG_K_ARRAY;
		v->first = (uint16_t)evt->nitems;
		v->nitems = 0;
		evt->present |= 1ULL << field;
	}
	evt->items[evt->nitems].p = p;
	evt->items[evt->nitems++].len = len;
	v->nitems++;
	return true;
}

/* A snapshot: the time (8 bytes), then per field: slot, kind, is_int, item count (2 bytes),
 * the number (8 bytes) and each text as a 4-byte length and its bytes. Host byte order: a
 * snapshot never leaves the process but in the checkpoint, written and read by one host. */
static void put(struct dg_buf *out, const void *p, size_t n)
{
	dg_buf_add(out, p, n);
}

static void put_text(struct dg_buf *out, const struct dg_str *s)
{
	uint32_t n = (uint32_t)s->len;

	put(out, &n, sizeof n);
	put(out, s->p, s->len);
}

void dg_evt_snapshot(const struct dg_evt *evt, uint64_t mask, struct dg_buf *out)
{
	put(out, &evt->ts_ms, sizeof evt->ts_ms);
	for (int f = 0; f < DG_MAX_FIELDS; f++) {
		const struct dg_val *v = &evt->v[f];
		uint8_t head[3];
		uint16_t items;

		if (!((mask >> f) & 1) || !dg_evt_has(evt, f))
			continue;
		head[0] = (uint8_t)f;
		head[1] = (uint8_t)v->kind;
		head[2] = v->kind == DG_K_NUM && v->is_int; /* meaningful for numbers only */
		items = v->kind == DG_K_ARRAY ? v->nitems : 0;
		put(out, head, sizeof head);
		put(out, &items, sizeof items);
		put(out, head[2] ? &v->num : &(int64_t){0}, sizeof v->num);
		if (v->kind == DG_K_ARRAY)
			for (unsigned i = 0; i < v->nitems; i++)
				put_text(out, &evt->items[v->first + i]);
		else
			put_text(out, &v->text);
	}
}

static bool take(const char **p, const char *end, void *out, size_t n)
{
	if ((size_t)(end - *p) < n)
		return false;
	memcpy(out, *p, n);
	*p += n;
	return true;
}

static bool take_text(const char **p, const char *end, struct dg_str *s)
{
	uint32_t n;

	if (!take(p, end, &n, sizeof n) || (size_t)(end - *p) < n)
		return false;
	s->p = *p;
	s->len = n;
	*p += n;
	return true;
}

bool dg_evt_restore(struct dg_evt *evt, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;

	dg_evt_clear(evt);
	if (!take(&p, end, &evt->ts_ms, sizeof evt->ts_ms))
		return false;
	while (p < end) {
		uint8_t head[3];
		uint16_t items;
		struct dg_val *v;

		if (!take(&p, end, head, sizeof head) || !take(&p, end, &items, sizeof items) ||
		    head[0] >= DG_MAX_FIELDS || head[1] < DG_K_STR || head[1] > DG_K_ARRAY)
			return false;
		v = &evt->v[head[0]];
		memset(v, 0, sizeof *v);
		v->kind = head[1];
		v->is_int = head[2] != 0;
		if (!take(&p, end, &v->num, sizeof v->num))
			return false;
		if (v->kind == DG_K_ARRAY) {
			if (evt->nitems + items > DG_MAX_ITEMS)
				return false;
			v->first = (uint16_t)evt->nitems;
			v->nitems = items;
			for (unsigned i = 0; i < items; i++)
				if (!take_text(&p, end, &evt->items[evt->nitems++]))
					return false;
		} else if (!take_text(&p, end, &v->text)) {
			return false;
		}
		evt->present |= 1ULL << head[0];
	}
	return true;
}
