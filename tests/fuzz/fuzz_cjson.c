/* Canonical JSON: whatever parses, when written canonically and parsed again, is written
 * identically (idempotence), and the writer's output is valid UTF-8. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/cjson.h"
#include "dgaudit/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why;
	struct dg_cjson *v = dg_cjson_parse((const char *)data, size, &why), *w;
	struct dg_buf a = {0}, b = {0};
	size_t at;

	if (v == NULL)
		return 0;
	dg_cjson_write(v, &a);
	if (!dg_json_check_text(a.data, a.len, &why, &at) && strcmp(why, "invalid UTF-8") == 0)
		abort();
	w = dg_cjson_parse(a.data, a.len, &why);
	if (w == NULL)
		abort();
	dg_cjson_write(w, &b);
	if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
		abort();
	dg_buf_release(&a);
	dg_buf_release(&b);
	dg_cjson_free(v);
	dg_cjson_free(w);
	return 0;
}
