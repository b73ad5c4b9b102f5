/* The Linux audit parser on arbitrary bytes, one record per line so that the records of an
 * event meet: never crashes, refusals say why, every event it completes is well formed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/linuxaudit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(struct dg_linuxaudit *p)
{
	struct dg_evt evt;
	struct dg_ref ref;

	while (dg_linuxaudit_released(p, &evt, &ref))
		if (!dg_evt_has(&evt, DG_F_EVENT_ACTION) || evt.nobjects > DG_MAX_OBJECTS ||
		    (evt.nobjects > 0 && evt.objects[0].name.len == 0))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dg_linuxaudit *p;
	const char *s = (const char *)data, *end = s + size;

	if (p == NULL)
		p = dg_linuxaudit_new();
	if (size > 1 << 16)
		return 0;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s)), *why = NULL;
		size_t len = (size_t)((nl ? nl : end) - s);

		if (dg_linuxaudit_parse(p, s, len, &why) < 0 && why == NULL)
			abort();
		check(p);
		s = nl ? nl + 1 : end;
	}
	dg_linuxaudit_settle(p);
	check(p);
	return 0;
}
