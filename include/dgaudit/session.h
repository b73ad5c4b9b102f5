/* What a database session says about why it accesses data: purpose, ticket, consent and legal
 * basis from SQL comments in the sqlcommenter convention (a block comment holding
 * purpose='kyc-review',ticket='CHG-1234', URL-encoded, as OpenTelemetry instrumentations write
 * them), and from the application name (PostgreSQL application_name) where the site maps it. So a
 * database read can carry a lawful basis. A field the event already has is never overwritten. Pure
 * once configured; values live in the session's scratch until the next event. */
#ifndef DGAUDIT_SESSION_H
#define DGAUDIT_SESSION_H

#include "dgaudit/cfgutil.h"
#include "dgaudit/evt.h"

struct dg_session;

/* With the default tags: purpose, ticket, consent_id (or consent) and basis. */
struct dg_session *dg_session_new(void);
void dg_session_free(struct dg_session *s);
/* Reads databases.tags = { key = "field"; ... } and databases.applications = ( { name =
 * "pattern*"; purpose = "..."; ticket = "..."; consent_id = "..."; basis = "..."; } ); either
 * may be NULL. Errors go to d. */
int dg_session_read(struct dg_session *s, const char *name, const config_setting_t *tags,
                    const config_setting_t *apps, const struct dg_schema *schema,
                    struct dg_diag *d);
/* Fills the event's fields from its statement's comment and its application name. */
void dg_session_apply(struct dg_session *s, struct dg_evt *evt);
/* The key=value tags of a sqlcommenter comment in text, decoded, into out (cap pairs);
 * returns how many. Texts point into buf (bufcap bytes). */
size_t dg_session_tags(const char *text, size_t len, struct dg_str (*out)[2], size_t cap, char *buf,
                       size_t bufcap);

#endif
