/* The list file reader on arbitrary text: entries one a line with comments, each then read as
 * a date or range of dates and as an address or CIDR block, as typed lists do. Never crashes,
 * every entry is trimmed text without a newline. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/cfgutil.h"
#include "dgaudit/ip.h"
#include "dgaudit/ts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), **items = NULL;
	size_t n = 0;

	memcpy(text, data, size);
	text[size] = '\0';
	dg_cfgutil_list_items(text, &items, &n);
	for (size_t i = 0; i < n; i++) {
		struct dg_ip_cidr c;
		int64_t from, to;
		size_t len = strlen(items[i]);

		if (len == 0 || strchr(items[i], '\n') != NULL || items[i][0] == ' ' ||
		    items[i][len - 1] == ' ' || strchr(items[i], '#') != NULL)
			abort();
		if (dg_ts_date_range(items[i], &from, &to) && (to < from || to - from > 366))
			abort();
		(void)dg_ip_cidr_parse(items[i], &c);
	}
	dg_cfgutil_strings_free(items);
	free(text);
	return 0;
}
