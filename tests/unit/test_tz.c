/* Time zones: fixed offsets, and IANA zones from the system's TZif files with their
 * daylight-saving transitions, gaps and overlaps; bad files and names are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dgaudit/ts.h"
#include "dgaudit/tz.h"

/* local "YYYY-MM-DD hh:mm:ss" in zone spec, as RFC 3339 UTC */
static const char *utc(const char *spec, const char *local)
{
	static char out[DG_TS_BUFSZ];
	char *cause = NULL;
	struct dg_tz *tz = dg_tz_load(spec, &cause);
	int64_t ms;
	bool zoned;
	int minutes;

	assert_non_null(tz);
	assert_true(dg_ts_parse_local(local, strlen(local), &ms, &zoned, &minutes));
	assert_false(zoned);
	dg_ts_format(dg_tz_to_utc(tz, ms), out);
	dg_tz_free(tz);
	return out;
}

static void test_fixed(void **state)
{
	(void)state;
	assert_string_equal(utc("UTC", "2026-11-27 15:20:24"), "2026-11-27T15:20:24Z");
	assert_string_equal(utc("+08:00", "2026-11-27 15:20:24"), "2026-11-27T07:20:24Z");
	assert_string_equal(utc("-0530", "2026-11-27 15:20:24"), "2026-11-27T20:50:24Z");
}

static void test_iana(void **state)
{
	(void)state;
	if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) != 0) {
		print_message("tzdata is not installed\n");
		skip();
	}
	assert_string_equal(utc("Asia/Shanghai", "2026-11-27 15:20:24"), "2026-11-27T07:20:24Z");
	/* Berlin: CET (+1) in winter, CEST (+2) in summer */
	assert_string_equal(utc("Europe/Berlin", "2026-01-15 12:00:00"), "2026-01-15T11:00:00Z");
	assert_string_equal(utc("Europe/Berlin", "2026-07-01 12:00:00"), "2026-07-01T10:00:00Z");
	/* 2026-03-29 02:30 does not exist: the offset before the gap applies */
	assert_string_equal(utc("Europe/Berlin", "2026-03-29 02:30:00"), "2026-03-29T01:30:00Z");
	assert_string_equal(utc("Europe/Berlin", "2026-03-29 03:30:00"), "2026-03-29T01:30:00Z");
	/* 2026-10-25 02:30 happens twice: the earlier, summer-time instant */
	assert_string_equal(utc("Europe/Berlin", "2026-10-25 02:30:00"), "2026-10-25T00:30:00Z");
	assert_string_equal(utc("Europe/Berlin", "2026-10-25 03:30:00"), "2026-10-25T02:30:00Z");
	/* New York, west of UTC */
	assert_string_equal(utc("America/New_York", "2026-07-04 09:00:00"), "2026-07-04T13:00:00Z");
}

static void test_refused(void **state)
{
	static const char *const bad[] = {"Mars/Olympus", "../../etc/passwd", "/etc/passwd", "",
	                                  "Asia/Shang hai"};
	static const uint8_t junk[] = "TZif2 not really a zone file at all, much too short";
	char *cause = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_null(dg_tz_load(bad[i], &cause));
		assert_non_null(strstr(cause, "time zone"));
		free(cause);
	}
	assert_null(dg_tz_parse("junk", junk, sizeof junk, &cause));
	assert_string_equal(cause, "time zone junk: not a valid TZif file");
	free(cause);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fixed),
	    cmocka_unit_test(test_iana),
	    cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
