/* PostgreSQL server logs with pgaudit, in the three layouts PostgreSQL writes: the stderr text
 * log under any log_line_prefix (compiled from PostgreSQL's own escapes), csvlog and jsonlog.
 * pgaudit's AUDIT records become access events (SQL verb to event.action, the audited object to
 * dg.object, rows to dg.records); the server's own messages become events where they carry that
 * meaning: "connection authorized" a successful login, authentication failures a failed one, a
 * permission denial a failed access built from its STATEMENT. Other server chatter (checkpoints,
 * startup) is recognised and carries no event. Pure; no allocation per record. */
#ifndef DGAUDIT_PGLOG_H
#define DGAUDIT_PGLOG_H

#include <stdbool.h>
#include <stddef.h>

#include "dgaudit/evt.h"
#include "dgaudit/tz.h"

enum dg_pglog_layout { DG_PGLOG_STDERR, DG_PGLOG_CSV, DG_PGLOG_JSON };

/* Debian's default log_line_prefix, assumed when the config names none. */
#define DG_PGLOG_DEFAULT_PREFIX "%m [%p] %q%u@%d "

struct dg_pglog;

/* A parser for records of at most max_record bytes. prefix (stderr only) is the server's
 * log_line_prefix; tz (which must outlive the parser) is the zone of times whose zone is
 * absent or ambiguous. NULL with
 * *cause if the prefix cannot be parsed (e.g. it holds no time escape). */
struct dg_pglog *dg_pglog_new(enum dg_pglog_layout layout, const char *prefix,
                              const struct dg_tz *tz, size_t max_record, char **cause);
void dg_pglog_free(struct dg_pglog *p);
/* stderr: whether line belongs to the record before it (a TAB-indented continuation, or a
 * DETAIL, HINT, CONTEXT, QUERY, LOCATION or STATEMENT line of the same message). */
bool dg_pglog_continues(struct dg_pglog *p, const char *line, size_t len);
/* stderr: whether line starts with the prefix and a severity, i.e. opens a message. */
bool dg_pglog_opens(struct dg_pglog *p, const char *line, size_t len);
/* Parses one record. Returns 1 with evt filled (valid until the next call), 0 for a well-formed
 * record that carries no event, -1 with *why if it is malformed.
 *
 * PostgreSQL writes "connection authorized" before it checks that the database (and, with
 * trust authentication, the role) exists: the record is held, and the backend's FATAL right
 * after makes it a failed login (the FATAL's event). Any other record of the backend, or one
 * written a second later, lets it stand: dg_pglog_released then gives it, before the event
 * of the record parsed. */
int dg_pglog_parse(struct dg_pglog *p, const char *rec, size_t len, struct dg_evt *evt,
                   const char **why);
/* Where the next record parsed is, for the logins held back: they keep their own. */
void dg_pglog_where(struct dg_pglog *p, const struct dg_ref *ref);
/* The next login let stand by the last parse or settle, into evt with its record's place; false
 * when there is none. Valid until the next parse. */
bool dg_pglog_released(struct dg_pglog *p, struct dg_evt *evt, struct dg_ref *ref);
/* Lets every held login stand: at the end of an input, and before a checkpoint. */
void dg_pglog_settle(struct dg_pglog *p);

#endif
