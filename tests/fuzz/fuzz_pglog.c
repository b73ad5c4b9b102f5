/* The PostgreSQL log parsers on arbitrary bytes. The first byte picks the layout (stderr under
 * a prefix with a space-bearing application name, csvlog, jsonlog); the rest is one record.
 * Never crashes, never reads outside the record; a parsed event's strings lie in the record or
 * in static text, and a refusal always says why. Also drives the stderr continuation test and
 * the logins held back. */
#include <stdint.h>
#include <stdlib.h>

#include "dgaudit/pglog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dg_pglog *p[3];
	struct dg_evt evt;
	const char *why = NULL, *rec = (const char *)data + 1;
	size_t len = size - 1;
	int rc;

	if (p[0] == NULL) {
		char *cause = NULL;

		p[0] = dg_pglog_new(DG_PGLOG_STDERR, "%m [%p] %q%u@%d %r %a ", dg_tz_fixed(480),
		                    1 << 16, &cause);
		p[1] = dg_pglog_new(DG_PGLOG_CSV, NULL, NULL, 1 << 16, &cause);
		p[2] = dg_pglog_new(DG_PGLOG_JSON, NULL, NULL, 1 << 16, &cause);
		if (p[0] == NULL || p[1] == NULL || p[2] == NULL)
			abort();
	}
	if (size < 1 || size > 1 << 16)
		return 0;
	if (data[0] % 3 == 0)
		(void)dg_pglog_continues(p[0], rec, len);
	rc = dg_pglog_parse(p[data[0] % 3], rec, len, &evt, &why);
	if (rc < 0 && why == NULL)
		abort();
	if (rc > 0)
		for (int f = 0; f < DG_F_NMODEL; f++) {
			const struct dg_str *s = dg_evt_str(&evt, f);

			if (s != NULL && s->len > 2 * len + 64)
				abort();
		}
	/* logins held back come out whole, now or when settled */
	{
		struct dg_evt login;
		struct dg_ref ref;

		if (data[0] & 8)
			dg_pglog_settle(p[data[0] % 3]);
		while (dg_pglog_released(p[data[0] % 3], &login, &ref))
			if (!dg_evt_has(&login, DG_F_EVENT_ACTION))
				abort();
	}
	return 0;
}
