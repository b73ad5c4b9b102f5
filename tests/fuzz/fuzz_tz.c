/* The TZif parser on arbitrary bytes: never crashes or reads past the buffer, and a zone it
 * accepts converts any local time without overflow. */
#include <stdint.h>
#include <stdlib.h>

#include "dgaudit/tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *cause = NULL;
	struct dg_tz *tz = dg_tz_parse("fuzz", data, size, &cause);

	if (tz == NULL) {
		if (cause == NULL)
			abort();
		free(cause);
		return 0;
	}
	for (int64_t t = -2000000000000LL; t < 4000000000000LL; t += 123456789012LL)
		(void)dg_tz_to_utc(tz, t);
	dg_tz_free(tz);
	return 0;
}
