/* The rule loader on arbitrary text: it loads or gives a "file:line: reason", never crashes;
 * loaded rules evaluate on an event without trouble. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/jsonl.h"
#include "dgaudit/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char line[] =
	    "{\"@timestamp\":\"2026-11-02T00:00:00Z\",\"user\":{\"name\":\"a\","
	    "\"roles\":[\"dba\"]},\"dg.records\":5,\"message\":\"x 4111111111111111\"}";
	char *text = malloc(size + 1), *cause;
	struct dg_schema *schema = dg_schema_new();
	struct dg_rules_text pack = {"fuzz.conf", text, true};
	struct dg_rules_input in = {.packs = &pack, .npacks = 1};
	struct dg_diag d = {0};
	struct dg_ruleset *rs;

	memcpy(text, data, size);
	text[size] = '\0';
	rs = dg_rules_load(&in, schema, &d);
	cause = dg_diag_text(&d);
	if (rs == NULL) {
		/* Every message names the file and a line. */
		for (size_t i = 0; i < d.n; i++)
			if (strncmp(d.msgs[i], "fuzz.conf:", 10) != 0)
				abort();
		if (d.n == 0)
			abort();
	} else {
		struct dg_jsonl *p = dg_jsonl_new(schema, 4096, 0);
		struct dg_evt evt;
		const char *why;

		if (dg_jsonl_parse(p, line, strlen(line), &evt, &why) == 0)
			for (size_t i = 0; i < dg_rules_count(rs); i++) {
				const struct dg_rule *r = dg_rules_get(rs, i);

				dg_rules_match(r, &evt);
				for (size_t s = 0; s < r->threshold.nsteps; s++)
					dg_rules_match_step(r, s, &evt);
			}
		dg_jsonl_free(p);
	}
	free(cause);
	dg_diag_clear(&d);
	dg_rules_free(rs);
	dg_schema_free(schema);
	free(text);
	return 0;
}
