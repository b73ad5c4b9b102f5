/* The normalised event every parser produces (DESIGN.md, "Event model"), and the schema that
 * maps field paths to slots. The schema holds the model's fields plus any extra field a rule or
 * the config's map names; parsers extract only fields the schema holds. An event points into the
 * record it was parsed from and into its own scratch space: it is valid until the next parse. */
#ifndef DGAUDIT_EVT_H
#define DGAUDIT_EVT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dgaudit/buf.h"

enum dg_field {
	DG_F_TIMESTAMP,
	DG_F_HOST_NAME,
	DG_F_SERVICE_NAME,
	DG_F_USER_NAME,
	DG_F_USER_ROLES,
	DG_F_SOURCE_IP,
	DG_F_EVENT_ACTION,
	DG_F_EVENT_OUTCOME,
	DG_F_DB_SYSTEM,
	DG_F_DB_NAMESPACE,
	DG_F_DB_COLLECTION,
	DG_F_DB_OPERATION,
	DG_F_DB_QUERY,
	DG_F_OBJECT,
	DG_F_CLASSIFICATION,
	DG_F_CATEGORIES,
	DG_F_RECORDS,
	DG_F_SUBJECT_ID,
	DG_F_PURPOSE,
	DG_F_CONSENT_ID,
	DG_F_TICKET,
	DG_F_RECIPIENT,
	DG_F_RECIPIENT_COUNTRY,
	DG_F_MESSAGE,
	DG_F_DB_COLUMNS, /* columns a statement names ("*" for all), for column-level catalogue */
	DG_F_EVENT_CREATED, /* when the source wrote the record (clock skew) */
	DG_F_BASIS,         /* the legal basis declared: consent, contract, legal_obligation... */
	DG_F_TRANSFER_MECHANISM, /* for transfers abroad: standard_contract, scc, bcr... */
	DG_F_RECIPIENT_ROLE,     /* processor (entrusted) or controller (provided to) */
	DG_F_SUBJECT_AGE,        /* age of the data subject, when the application knows it */
	DG_F_GUARDIAN_CONSENT,   /* consent of a minor's guardian */
	DG_F_MASKED,             /* whether what was shown was masked */
	DG_F_RETENTION_UNTIL,    /* when the data should have been deleted */
	DG_F_DB_APPLICATION,     /* the client's application name (PostgreSQL application_name) */
	DG_F_USER_EFFECTIVE,     /* the role a session acts as after SET ROLE */
	DG_F_AUDIT_CHANGE,       /* a change to audit settings: reduce, increase or change */
	DG_F_AUDIT_CLASS,  /* the server's audit class of the record (pgaudit: READ, WRITE...) */
	DG_F_EVENT_REASON, /* why it failed, as the server says: unknown_account... */
	DG_F_AUDIT_GAP,    /* statements that ran unaudited while auditing was lowered */
	DG_F_FILE_PATH,    /* the file an operating-system event touched */
	DG_F_AUDIT_KEY,    /* the key of the audit rule that logged it (auditd -k) */
	DG_F_INTEGRITY,    /* dgaudit's own integrity event: state_lost, keys_replaced, ... */
	DG_F_NMODEL
};

/* What a field holds: rules check that their operators fit it. */
enum dg_field_type {
	DG_TYPE_STRING = 1,
	DG_TYPE_STRINGS, /* an array of strings */
	DG_TYPE_NUMBER,
	DG_TYPE_IP,
	DG_TYPE_TIME,
	DG_TYPE_BOOL,
};

#define DG_MAX_FIELDS 64  /* model fields plus extra fields named by rules or the map */
#define DG_MAX_ITEMS  256 /* array elements kept per event, over all array fields */

enum dg_kind { DG_K_STR = 1, DG_K_NUM, DG_K_BOOL, DG_K_ARRAY };

struct dg_str {
	const char *p;
	size_t len;
};

struct dg_val {
	enum dg_kind kind;
	struct dg_str text; /* strings, and the literal of numbers and booleans */
	int64_t num;        /* numbers, when is_int */
	bool is_int;
	uint16_t first, nitems; /* arrays: their elements in dg_evt.items */
};

/* Where a record came from: input number, line and byte offset; findings cite these. */
#define DG_REF_SELF UINT32_MAX /* dg_ref.input of an event dgaudit makes about itself */

struct dg_ref {
	uint32_t input;
	uint64_t line;
	uint64_t offset;
};

#define DG_MAX_OBJECTS 8 /* objects one database record names */

enum { DG_OBJ_INDIRECT = 1 }; /* read through a view the statement names, not by name */

/* An object a database record concerns, before the catalogue resolves it: the pipeline turns
 * each into an event of its own (dg.object and event.action set from it). */
struct dg_evt_object {
	struct dg_str name; /* as the log names it: maybe unqualified, or "schema.*" for all */
	const char *action; /* on this object; NULL: the event's */
	struct dg_str via;  /* DG_OBJ_INDIRECT: the view */
	unsigned flags;
};

struct dg_evt {
	uint64_t present; /* bit f set: field f has a value (null counts as absent) */
	int64_t ts_ms;    /* @timestamp as milliseconds since the epoch */
	struct dg_val v[DG_MAX_FIELDS];
	struct dg_str items[DG_MAX_ITEMS];
	unsigned nitems;
	/* database parsers: the objects the record names (none: dg.object is as set) */
	struct dg_evt_object objects[DG_MAX_OBJECTS];
	unsigned nobjects;
};

/* Empties an event for the next record. */
static inline void dg_evt_clear(struct dg_evt *evt)
{
	evt->present = 0;
	evt->nitems = 0;
	evt->nobjects = 0;
}

/* Adds an object to a database event; false when the event holds DG_MAX_OBJECTS. */
bool dg_evt_add_object(struct dg_evt *evt, const char *p, size_t len, const char *action,
                       unsigned flags);

static inline bool dg_evt_has(const struct dg_evt *evt, int field)
{
	return (evt->present >> field) & 1;
}

/* Whether s is exactly lit, or starts with it (inline, so a literal's length is known when
 * compiling: parsers compare every record's fields so). */
static inline __attribute__((always_inline)) bool dg_str_is(const struct dg_str *s, const char *lit)
{
	size_t n = strlen(lit);

	return s->len == n && memcmp(s->p, lit, n) == 0;
}

static inline __attribute__((always_inline)) bool dg_str_starts(const struct dg_str *s,
                                                                const char *lit)
{
	size_t n = strlen(lit);

	return s->len >= n && memcmp(s->p, lit, n) == 0;
}

/* The text of a string-like field (the first element of an array), or NULL if absent. */
const struct dg_str *dg_evt_str(const struct dg_evt *evt, int field);
/* The integer value of a field, also from a string of digits; false if absent or not integral. */
bool dg_evt_int(const struct dg_evt *evt, int field, int64_t *out);
/* Setters for parsers that build events field by field (database logs): the text must stay
 * valid as long as the event. An empty text leaves the field absent. */
void dg_evt_set(struct dg_evt *evt, int field, const char *p, size_t len);
void dg_evt_set_int(struct dg_evt *evt, int field, int64_t n, const char *text, size_t len);
/* Appends an element to an array field, which must be the last array field set; false if the
 * event's items are used up. */
bool dg_evt_push(struct dg_evt *evt, int field, const char *p, size_t len);

/* Copies the fields of evt in mask (and its time) into out, so an event can be shown after its
 * record is gone (a threshold burst closing later). */
void dg_evt_snapshot(const struct dg_evt *evt, uint64_t mask, struct dg_buf *out);
/* Rebuilds an event from a snapshot; it points into buf, which must outlive it. False if buf is
 * not a snapshot. */
bool dg_evt_restore(struct dg_evt *evt, const char *buf, size_t len);

struct dg_schema;

/* A schema holding the model's fields. */
struct dg_schema *dg_schema_new(void);
void dg_schema_free(struct dg_schema *s);
/* The slot for name, adding it as a field of the given type if new; -1 with *cause set when
 * the schema is full. */
int dg_schema_add(struct dg_schema *s, const char *name, enum dg_field_type type, char **cause);
/* Makes alias (a path in some log layout) fill the slot of field; -1 with *cause on a clash. */
int dg_schema_alias(struct dg_schema *s, const char *alias, int field, char **cause);
/* The slot for the dotted path, or -1. */
int dg_schema_lookup(const struct dg_schema *s, const char *path, size_t len);
/* True if some field path starts with path followed by a dot: worth descending into. */
bool dg_schema_is_prefix(const struct dg_schema *s, const char *path, size_t len);
/* The type of a slot. */
enum dg_field_type dg_schema_type(const struct dg_schema *s, int field);
/* The values a model field takes (event.action, event.outcome), NULL-terminated; NULL for a
 * field with open values. */
const char *const *dg_schema_values(int field);
/* Canonical name of a slot. */
const char *dg_schema_name(const struct dg_schema *s, int field);
int dg_schema_count(const struct dg_schema *s);

#endif
