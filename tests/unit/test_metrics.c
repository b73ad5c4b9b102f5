#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "dgaudit/metrics.h"

static void test_family_and_samples(void **state)
{
	struct dg_buf b = {0};

	(void)state;
	dg_metrics_family(&b, "dgaudit_x_total", DG_METRICS_COUNTER, "What x counts.");
	dg_metrics_u64(&b, "dgaudit_x_total", "rule", "R-1", 18446744073709551615ULL);
	dg_metrics_one(&b, "dgaudit_y", DG_METRICS_GAUGE, "A gauge\nof two lines \\ here.", 3);
	dg_metrics_f64(&b, "dgaudit_z_seconds", NULL, NULL, 1.5);
	dg_buf_addc(&b, '\0');
	assert_string_equal(b.data, "# HELP dgaudit_x_total What x counts.\n"
	                            "# TYPE dgaudit_x_total counter\n"
	                            "dgaudit_x_total{rule=\"R-1\"} 18446744073709551615\n"
	                            "# HELP dgaudit_y A gauge\\nof two lines \\\\ here.\n"
	                            "# TYPE dgaudit_y gauge\n"
	                            "dgaudit_y 3\n"
	                            "dgaudit_z_seconds 1.500000\n");
	dg_buf_release(&b);
}

/* A file name is any bytes: quotes, backslashes, newlines and bytes that are not UTF-8 would
 * each make the exposition unparseable. */
static void test_label_values_escaped(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"a\"b", "a\\\"b"},
	    {"a\\b", "a\\\\b"},
	    {"a\nb", "a\\nb"},
	    {"caf\xc3\xa9 \xe4\xb8\xad", "caf\xc3\xa9 \xe4\xb8\xad"}, /* UTF-8 kept */
	    {"x\xffy", "x\xef\xbf\xbdy"},                             /* not UTF-8 */
	    {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},                 /* overlong '/' */
	    {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* a surrogate */
	    {"\xe4\xb8", "\xef\xbf\xbd\xef\xbf\xbd"},                 /* cut short */
	    {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* > 10FFFF */
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct dg_buf b = {0}, want = {0};

		dg_metrics_u64(&b, "m", "path", cases[i].in, 0);
		dg_buf_printf(&want, "m{path=\"%s\"} 0\n", cases[i].out);
		assert_int_equal(b.len, want.len);
		assert_memory_equal(b.data, want.data, b.len);
		dg_buf_release(&b);
		dg_buf_release(&want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_family_and_samples),
	    cmocka_unit_test(test_label_values_escaped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
