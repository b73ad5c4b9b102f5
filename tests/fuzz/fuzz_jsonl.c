/* The JSON-lines parser on arbitrary bytes: never crashes, and a parsed event's strings lie in
 * the record or the parser's scratch space. */
#include <stdint.h>
#include <stdlib.h>

#include "dgaudit/jsonl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dg_schema *schema;
	static struct dg_jsonl *p;
	struct dg_evt evt;
	const char *why;

	if (schema == NULL) {
		char *cause = NULL;

		schema = dg_schema_new();
		dg_schema_add(schema, "labels.team", DG_TYPE_STRING, &cause);
		dg_schema_alias(schema, "actor", DG_F_USER_NAME, &cause);
		p = dg_jsonl_new(schema, 1 << 16, 0);
	}
	if (size > 1 << 16)
		return 0;
	if (dg_jsonl_parse(p, (const char *)data, size, &evt, &why) == 0) {
		for (int f = 0; f < dg_schema_count(schema); f++) {
			const struct dg_str *s = dg_evt_str(&evt, f);

			if (s != NULL && s->len > size)
				abort();
		}
	} else if (why == NULL) {
		abort();
	}
	return 0;
}
