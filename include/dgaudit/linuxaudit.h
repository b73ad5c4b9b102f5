/* Linux audit logs (/var/log/audit/audit.log as auditd writes them, RAW or ENRICHED): the
 * records of one event (same msg=audit(time:serial)) assembled into one event. SYSCALL with
 * its PATH, CWD and PROCTITLE records is a file access: who (the login user auid, or uid;
 * ENRICHED names them), what (the path: dg.object and file.path; the catalogue's asset paths
 * name the data it holds), the action from the syscall and its open flags, the outcome from
 * success, the rule's key. CONFIG_CHANGE and the daemon's start and end are audit
 * configuration changes (dg.audit_change), USER_AUTH and USER_LOGIN logins, account and group
 * management grants. Other records carry no event. No allocation per record.
 *
 * An event is whole only when a record of the next one arrives: dg_linuxaudit_parse holds
 * records, and dg_linuxaudit_released gives the event they made, with its first record's
 * place. */
#ifndef DGAUDIT_LINUXAUDIT_H
#define DGAUDIT_LINUXAUDIT_H

#include <stdbool.h>
#include <stddef.h>

#include "dgaudit/evt.h"

struct dg_linuxaudit;

struct dg_linuxaudit *dg_linuxaudit_new(void);
void dg_linuxaudit_free(struct dg_linuxaudit *p);
/* Where the next record parsed is. */
void dg_linuxaudit_where(struct dg_linuxaudit *p, const struct dg_ref *ref);
/* Takes one record: 0, or -1 with *why if it is malformed. */
int dg_linuxaudit_parse(struct dg_linuxaudit *p, const char *rec, size_t len, const char **why);
/* The event the records so far completed, into evt with its first record's place; false when
 * there is none. Valid until the next parse. */
bool dg_linuxaudit_released(struct dg_linuxaudit *p, struct dg_evt *evt, struct dg_ref *ref);
/* Completes the event being assembled: at the end of an input, and before a checkpoint. */
void dg_linuxaudit_settle(struct dg_linuxaudit *p);
/* Whether line looks like an audit record: for format detection. */
bool dg_linuxaudit_looks(const char *line, size_t len);

#endif
