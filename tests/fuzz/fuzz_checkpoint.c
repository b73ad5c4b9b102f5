/* The checkpoint loader on arbitrary bytes: the seal check never crashes and accepts only
 * what the seal was made over; what it lets through parses or not, and its window and digest
 * states load or are refused, never crash. A sealed copy of every parsable input opens. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/checkpoint.h"
#include "dgaudit/cjson.h"
#include "dgaudit/engine.h"
#include "dgaudit/hash.h"
#include "dgaudit/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The rule kinds whose state a checkpoint carries: a threshold window and a sequence. */
static const char pack[] =
    "rules = ( { id = \"THIRD-DELETE\"; title = \"t\"; severity = \"high\";\n"
    "  compliance = ( (\"t\", \"1\") );\n"
    "  select = { d = { field = \"event.action\"; eq = \"delete\"; }; };\n"
    "  threshold = { count = true; group_by = [\"user.name\"]; window = \"1h\"; gte = 3; }; },\n"
    "  { id = \"FAIL-THEN-LOGIN\"; title = \"t\"; severity = \"high\";\n"
    "  compliance = ( (\"t\", \"1\") );\n"
    "  select = { failure = { field = \"event.outcome\"; eq = \"failure\"; };\n"
    "             success = { field = \"event.outcome\"; eq = \"success\"; }; };\n"
    "  sequence = { group_by = [\"user.name\"]; window = \"10m\";\n"
    "               steps = ( { select = \"failure\"; count = 2; }, { select = \"success\"; } ); "
    "}; } );\n";

static struct dg_engine *engine(void)
{
	static struct dg_engine *e;

	if (e == NULL) {
		struct dg_schema *schema = dg_schema_new();
		struct dg_rules_text t = {"fuzz.conf", pack, true};
		struct dg_rules_input in = {.packs = &t, .npacks = 1};
		struct dg_diag d = {0};
		struct dg_ruleset *rs = dg_rules_load(&in, schema, &d);

		if (rs == NULL)
			abort(); /* the pack above is valid */
		e = dg_engine_new(rs, 3600 * 1000);
	}
	return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[DG_CHECKPOINT_KEY_LEN] = {7};
	char *text = malloc(size + 1);
	size_t body;
	const char *why;
	struct dg_cjson *c;
	enum dg_checkpoint_seal seal;

	memcpy(text, data, size);
	text[size] = '\0';
	seal = dg_checkpoint_open(key, text, size, &body);
	if (seal != DG_CHECKPOINT_BROKEN && body > size)
		abort();
	c = seal == DG_CHECKPOINT_BROKEN ? NULL : dg_cjson_parse(text, body, &why);
	if (c != NULL) {
		const struct dg_cjson *ins = dg_cjson_get(c, "inputs");
		struct dg_buf b = {0};
		size_t len;

		dg_engine_load(engine(), dg_cjson_get(c, "windows"));
		for (size_t i = 0; i < dg_cjson_len(ins); i++) {
			const char *digest =
			    dg_cjson_string(dg_cjson_get(dg_cjson_at(ins, i), "digest"));
			struct dg_hash *h = dg_hash_new();

			if (digest != NULL)
				dg_hash_load(h, digest);
			dg_hash_free(h);
		}
		/* what dgaudit seals, it opens */
		dg_cjson_write(c, &b);
		if (b.len > 0 && b.data[0] == '{') {
			dg_checkpoint_seal(key, &b);
			if (dg_checkpoint_open(key, b.data, b.len, &len) != DG_CHECKPOINT_SEALED)
				abort();
		}
		dg_buf_release(&b);
		dg_cjson_free(c);
	}
	free(text);
	return 0;
}
