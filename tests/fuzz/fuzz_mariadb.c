/* The MariaDB server_audit parser on arbitrary bytes, one record per line of the input so that
 * table records and the QUERY after them meet: never crashes, refusals say why, every event it
 * yields (one per object) is well formed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/mariadb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dg_mariadb *p;
	const char *s = (const char *)data, *end = s + size;

	if (p == NULL)
		p = dg_mariadb_new(dg_tz_fixed(480), 1 << 16);
	if (size > 1 << 16)
		return 0;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s)), *why = NULL;
		size_t len = (size_t)((nl ? nl : end) - s);
		struct dg_evt evt;
		int n = dg_mariadb_parse(p, s, len, &evt, &why);

		if (n < 0 && why == NULL)
			abort();
		/* an event's objects: a malformed record leaves the event as it was */
		if (n > 1 ||
		    (n == 1 && (evt.nobjects > DG_MAX_OBJECTS ||
		                (evt.nobjects > 0 && dg_evt_str(&evt, DG_F_OBJECT) == NULL))))
			abort();
		for (unsigned i = 0; n == 1 && i < evt.nobjects; i++)
			if (evt.objects[i].name.len == 0) /* its action may be the event's: NULL */
				abort();
		s = nl ? nl + 1 : end;
	}
	return 0;
}
