#include "dgaudit/metrics.h"

#include <stddef.h>
#include <string.h>

#include "dgaudit/json.h"

/* quote: a label value (\" escaped too); else HELP text (only \\ and \n). */
static void escaped(struct dg_buf *b, const char *text, int quote)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t n = strlen(text);

	for (size_t i = 0; i < n;) {
		size_t len = dg_json_utf8_seq(s + i, n - i);

		if (len == 0) {
			dg_buf_adds(b, "\xef\xbf\xbd"); /* U+FFFD for a byte that is not UTF-8 */
			i++;
			continue;
		}
		if (s[i] == '\\')
			dg_buf_adds(b, "\\\\");
		else if (s[i] == '\n')
			dg_buf_adds(b, "\\n");
		else if (s[i] == '"' && quote)
			dg_buf_adds(b, "\\\"");
		else
			dg_buf_add(b, s + i, len);
		i += len;
	}
}

void dg_metrics_family(struct dg_buf *b, const char *name, enum dg_metrics_type type,
                       const char *help)
{
	dg_buf_printf(b, "# HELP %s ", name);
	escaped(b, help, 0);
	dg_buf_printf(b, "\n# TYPE %s %s\n", name,
	              type == DG_METRICS_COUNTER ? "counter" : "gauge");
}

static void series(struct dg_buf *b, const char *name, const char *label, const char *value)
{
	dg_buf_adds(b, name);
	if (label != NULL) {
		dg_buf_printf(b, "{%s=\"", label);
		escaped(b, value, 1);
		dg_buf_adds(b, "\"}");
	}
}

void dg_metrics_u64(struct dg_buf *b, const char *name, const char *label, const char *value,
                    uint64_t v)
{
	series(b, name, label, value);
	dg_buf_printf(b, " %llu\n", (unsigned long long)v);
}

void dg_metrics_f64(struct dg_buf *b, const char *name, const char *label, const char *value,
                    double v)
{
	series(b, name, label, value);
	dg_buf_printf(b, " %.6f\n", v);
}

void dg_metrics_one(struct dg_buf *b, const char *name, enum dg_metrics_type type, const char *help,
                    uint64_t v)
{
	dg_metrics_family(b, name, type, help);
	dg_metrics_u64(b, name, NULL, NULL, v);
}
