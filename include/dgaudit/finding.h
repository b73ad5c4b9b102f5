/* Turns an engine match into a finding: a JSON object with the rule, severity, time, compliance
 * references, the fields that made it fire and references to every record that contributed.
 * Personal data never leaves in clear: dg.subject_id is pseudonymised with HMAC-SHA-256 under
 * the site key, and identity, card and mobile numbers and e-mail addresses in any other text
 * field are masked. The actor (user.name), host, service and source address stay readable. */
#ifndef DGAUDIT_FINDING_H
#define DGAUDIT_FINDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dgaudit/cjson.h"
#include "dgaudit/engine.h"

struct dg_finding_env {
	const struct dg_schema *schema;
	/* Name of an input (file path) for record references. */
	const char *(*input_name)(void *arg, uint32_t input);
	/* What tells an input from another of the same name (a rotated generation of a log
	 * read under its live name), "" if nothing. */
	const char *(*input_key)(void *arg, uint32_t input);
	void *input_arg;
	const uint8_t *pseudonym_key;
	size_t pseudonym_keylen;
	const struct dg_ruleset *rules;
	bool explain; /* add why it fired: blocks, conditions, exceptions considered */
};

/* A new finding object for m; the caller frees it. Its "id" is stable: the rule and the input
 * (name and key) and offset of its first record, so an alert and the finding that completes it,
 * or a finding made again after a crash, share it, and the generations of a log do not. */
struct dg_cjson *dg_finding_render(const struct dg_finding_env *env, const struct dg_match *m);
/* Renders the finding id into out (33 bytes). */
void dg_finding_id(const struct dg_finding_env *env, const struct dg_match *m, char *out);
/* Appends the masked or pseudonymised form of value, as shown in findings, to out. */
void dg_finding_protect(const struct dg_finding_env *env, int field, const char *value, size_t len,
                        struct dg_buf *out);

#endif
