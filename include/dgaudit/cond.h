/* Select blocks: a conjunction of field conditions, compiled once from libconfig and evaluated
 * on events. Operators: exists, eq, in, in_list, startswith, endswith, contains, re, cidr, lt,
 * lte, gt, gte, detect, outside and inside a schedule, before and after a time or another time
 * field, and apart_from (two times further apart than a duration). Each condition is checked
 * against the type of its field; operands may be "$name" references to the site's lists and
 * settings, and errors in a referenced value are reported where it is defined. Used by rules,
 * exceptions and rule fixtures alike. */
#ifndef DGAUDIT_COND_H
#define DGAUDIT_COND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dgaudit/buf.h"
#include "dgaudit/cfgutil.h"
#include "dgaudit/cjson.h"
#include "dgaudit/evt.h"
#include "dgaudit/schedule.h"

/* What compiling needs: where the text comes from, the named values, the fields, and where
 * mistakes go. Also records which named values were used, so unused site values (typos) can
 * be reported. */
struct dg_cond_env {
	const char *name; /* the file being compiled, for messages */
	const struct dg_site *site;
	struct dg_schema *schema;
	struct dg_schedule *const *schedules; /* compiled, one per site->schedules entry */
	struct dg_diag *diag;
	bool *list_used, *setting_used, *schedule_used; /* parallel to the site's arrays */
	/* Where the operand last resolved came from: a list or setting, or NULL for a literal. */
	const char *from_kind, *from_name, *from_where;
};

/* Masks or pseudonymises a value for display (the finding module's rules). */
typedef void dg_cond_protect(void *arg, int field, const char *p, size_t len, struct dg_buf *out);

struct dg_select;

/* Compiles a select block: one condition group or a list of them. Fields tested are added to
 * *fields. NULL, with every error in env->diag, if anything is wrong. */
struct dg_select *dg_cond_compile(struct dg_cond_env *env, const config_setting_t *s,
                                  uint64_t *fields);
void dg_cond_free(struct dg_select *sel);
const char *dg_cond_name(const struct dg_select *sel);
/* True if evt satisfies every condition of the block. */
bool dg_cond_match(const struct dg_select *sel, const struct dg_evt *evt);
/* Appends to arr one object per condition: field, operator, operand as written, the event's
 * value (protected) and whether it held. */
void dg_cond_explain(const struct dg_select *sel, const struct dg_evt *evt,
                     const struct dg_schema *schema, dg_cond_protect *protect, void *arg,
                     struct dg_cjson *arr);
/* What every matching event has: fields present (a mask), and the event.action values it may
 * have (a mask over dg_schema_values(DG_F_EVENT_ACTION); all bits when any). */
void dg_cond_requires(const struct dg_select *sel, uint64_t *present, uint32_t *actions);

/* Operand resolution, shared with the rest of a rule: a field that must exist in the schema
 * (with a suggestion when it does not), an integer or "$setting", a duration or "$setting". */
int dg_cond_field(struct dg_cond_env *env, const config_setting_t *s, const char *name, int *field);
int dg_cond_int(struct dg_cond_env *env, const config_setting_t *s, int64_t *out);
int dg_cond_duration(struct dg_cond_env *env, const config_setting_t *s, int64_t *out);
/* Reports that the operand just resolved is invalid for its use: at the list or setting it came
 * from (naming the use), or at the use for a literal. Always returns -1. */
int dg_cond_fail_value(struct dg_cond_env *env, const config_setting_t *use, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A list by name, marked used; NULL (and an error with a suggestion) if there is none. */
const struct dg_list *dg_cond_list(struct dg_cond_env *env, const config_setting_t *use,
                                   const char *name);
/* A time value: an RFC 3339 time, or a date (midnight UTC). */
bool dg_cond_parse_time(const char *s, size_t len, int64_t *ms);

#endif
