/* MariaDB server_audit logs: "time,serverhost,user,host,connection,query id,operation,
 * database,object,return code". CONNECT and FAILED_CONNECT become logins; a QUERY becomes an
 * access event from its statement (single-quoted, backslash-escaped, possibly cut at the
 * plugin's length limit) and its return code (1142/1143: denied); the table records
 * (READ/WRITE/CREATE/...) that precede a QUERY with the same connection and query id name the
 * objects it touched, and give one event per object, as pgaudit does. Times are the server's
 * local time, which the source's time zone setting turns into UTC. No allocation per record. */
#ifndef DGAUDIT_MARIADB_H
#define DGAUDIT_MARIADB_H

#include <stdbool.h>
#include <stddef.h>

#include "dgaudit/evt.h"
#include "dgaudit/tz.h"

struct dg_mariadb;

/* A parser whose times are local time in tz, which must outlive it. */
struct dg_mariadb *dg_mariadb_new(const struct dg_tz *tz, size_t max_record);
void dg_mariadb_free(struct dg_mariadb *p);
/* Parses one record. Returns 1 with the event in evt (its objects in evt->objects), 0 for table
 * records, which only name the objects of their QUERY, and for disconnects; -1 with *why if it
 * is malformed. */
int dg_mariadb_parse(struct dg_mariadb *p, const char *rec, size_t len, struct dg_evt *evt,
                     const char **why);
/* Whether line looks like a server_audit record: for format detection. */
bool dg_mariadb_looks(const char *line, size_t len);

#endif
