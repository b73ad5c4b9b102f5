/* The SQL scanner on arbitrary text in both dialects: never crashes or loops, and every name
 * it reports lies in its scratch space. */
#include <stdint.h>
#include <stdlib.h>

#include "dgaudit/sql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char scratch[512];
	struct dg_sql sql;

	if (size < 1 || size > 1 << 16)
		return 0;
	dg_sql_scan(data[0] & 1 ? DG_SQL_MARIADB : DG_SQL_POSTGRESQL, (const char *)data + 1,
	            size - 1, "db", 2, scratch, sizeof scratch, &sql);
	if (sql.ntables > DG_SQL_MAX_TABLES || sql.scratch_used > sizeof scratch)
		abort();
	for (size_t i = 0; i < sql.ntables; i++)
		if (sql.tables[i].p < scratch ||
		    sql.tables[i].p + sql.tables[i].len > scratch + sizeof scratch)
			abort();
	return 0;
}
