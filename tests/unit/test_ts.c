/* RFC 3339 timestamps and durations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "dgaudit/ts.h"

static void test_parse(void **state)
{
	static const struct {
		const char *text;
		int ok;
		int64_t ms;
	} cases[] = {
	    {"1970-01-01T00:00:00Z", 1, 0},
	    {"2026-11-27T10:00:00Z", 1, 1795773600000},
	    {"2026-11-27T18:00:00+08:00", 1, 1795773600000},
	    {"2026-11-27t10:00:00.5z", 1, 1795773600500},
	    {"2026-11-27 10:00:00.123456Z", 1, 1795773600123},
	    {"2026-11-27T05:30:00-04:30", 1, 1795773600000},
	    {"2024-02-29T00:00:00Z", 1, 1709164800000},
	    {"2023-02-29T00:00:00Z", 0, 0},
	    {"2026-13-01T00:00:00Z", 0, 0},
	    {"2026-11-27T24:00:00Z", 0, 0},
	    {"2026-11-27T10:00:00", 0, 0}, /* no zone */
	    {"2026-11-27T10:00Z", 0, 0},
	    {"2026-11-27T10:00:00.Z", 0, 0},
	    {"2026-11-27T10:00:00+0800", 0, 0},
	    {"not a time at all!!", 0, 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t ms = -1;
		bool ok = dg_ts_parse(cases[i].text, strlen(cases[i].text), &ms);

		if (ok != (bool)cases[i].ok || (ok && ms != cases[i].ms))
			fail_msg("%s: ok=%d ms=%lld", cases[i].text, ok, (long long)ms);
	}
}

static void test_format_round_trip(void **state)
{
	char buf[DG_TS_BUFSZ];
	int64_t ms;

	(void)state;
	assert_string_equal(dg_ts_format(0, buf), "1970-01-01T00:00:00Z");
	assert_string_equal(dg_ts_format(1795773600123, buf), "2026-11-27T10:00:00.123Z");
	assert_string_equal(dg_ts_format(-1, buf), "1969-12-31T23:59:59.999Z");
	/* the ends of int64 (a value no log holds, but a window or a sum can): neither overflows
	 * nor is cut (the release build's -Wformat-truncation was right to ask) */
	assert_string_equal(dg_ts_format(INT64_MAX, buf), "292278994-08-17T07:12:55.807Z");
	assert_string_equal(dg_ts_format(INT64_MIN, buf), "-292275055-05-16T16:47:04.192Z");
	for (int64_t t = -86400000LL * 800; t < 86400000LL * 20000; t += 86400000LL * 37 + 12345) {
		dg_ts_format(t, buf);
		assert_true(dg_ts_parse(buf, strlen(buf), &ms));
		assert_int_equal(ms, t);
	}
}

static void test_durations(void **state)
{
	int64_t ms;

	(void)state;
	assert_true(dg_ts_duration("90", &ms) && ms == 90000);
	assert_true(dg_ts_duration("90s", &ms) && ms == 90000);
	assert_true(dg_ts_duration("250ms", &ms) && ms == 250);
	assert_false(dg_ts_duration("ms", &ms));
	assert_true(dg_ts_duration("10m", &ms) && ms == 600000);
	assert_true(dg_ts_duration("1h", &ms) && ms == 3600000);
	assert_true(dg_ts_duration("2d", &ms) && ms == 172800000);
	assert_false(dg_ts_duration("", &ms));
	assert_false(dg_ts_duration("h", &ms));
	assert_false(dg_ts_duration("1.5h", &ms));
	assert_false(dg_ts_duration("1w", &ms));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_format_round_trip),
	    cmocka_unit_test(test_durations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
