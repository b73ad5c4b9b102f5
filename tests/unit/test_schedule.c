/* Schedules: working days and hours in the schedule's own zone (daylight saving included),
 * ranges across midnight, public holidays and working weekends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/schedule.h"
#include "dgaudit/ts.h"

static int64_t at(const char *rfc3339)
{
	int64_t ms;

	assert_true(dg_ts_parse(rfc3339, strlen(rfc3339), &ms));
	return ms;
}

static struct dg_schedule *make(const char *zone, unsigned days, int from, int to,
                                const char *holiday, const char *workday)
{
	struct dg_schedule_def def = {.name = "s", .days = days, .nranges = 1};
	char *cause = NULL;
	struct dg_tz *tz = dg_tz_load(zone, &cause);
	struct dg_dateset *hol = NULL, *work = NULL;
	int64_t d;

	if (tz == NULL)
		fail_msg("%s", cause);
	def.from[0] = from;
	def.to[0] = to;
	if (holiday != NULL) {
		assert_true(dg_ts_parse_date(holiday, strlen(holiday), &d));
		hol = dg_sets_date_new(&d, 1);
	}
	if (workday != NULL) {
		assert_true(dg_ts_parse_date(workday, strlen(workday), &d));
		work = dg_sets_date_new(&d, 1);
	}
	return dg_schedule_new(&def, tz, hol, work);
}

#define MON_FRI 0x1f

/* Berlin switches to summer time on 2026-03-29: 09:00 local is 08:00Z before, 07:00Z after. */
static void test_daylight_saving(void **state)
{
	struct dg_schedule *s = make("Europe/Berlin", MON_FRI, 9 * 60, 17 * 60, NULL, NULL);

	(void)state;
	assert_false(dg_schedule_inside(s, at("2026-03-27T07:30:00Z"))); /* 08:30 CET */
	assert_true(dg_schedule_inside(s, at("2026-03-27T08:30:00Z")));  /* 09:30 CET */
	assert_true(dg_schedule_inside(s, at("2026-03-30T07:30:00Z")));  /* 09:30 CEST */
	assert_false(dg_schedule_inside(s, at("2026-03-30T15:30:00Z"))); /* 17:30 CEST */
	assert_true(dg_schedule_inside(s, at("2026-03-30T09:30:00+02:00")));
	assert_false(dg_schedule_inside(s, at("2026-03-28T10:00:00+01:00"))); /* a Saturday */
	dg_schedule_free(s);
}

/* A night shift Monday to Friday, 22:00-06:00: the hours after midnight belong to the day the
 * shift began. */
static void test_across_midnight(void **state)
{
	struct dg_schedule *s = make("UTC", MON_FRI, 22 * 60, 6 * 60, NULL, NULL);

	(void)state;
	assert_true(dg_schedule_inside(s, at("2026-03-06T23:00:00Z")));  /* Friday night */
	assert_true(dg_schedule_inside(s, at("2026-03-07T03:00:00Z")));  /* still Friday's */
	assert_false(dg_schedule_inside(s, at("2026-03-07T23:00:00Z"))); /* Saturday's */
	assert_false(dg_schedule_inside(s, at("2026-03-09T03:00:00Z"))); /* Sunday's */
	assert_true(dg_schedule_inside(s, at("2026-03-10T05:59:59Z")));
	assert_false(dg_schedule_inside(s, at("2026-03-10T06:00:00Z")));
	assert_false(dg_schedule_inside(s, at("2026-03-10T12:00:00Z")));
	dg_schedule_free(s);
}

/* Office hours in Shanghai with a holiday and a working Saturday. */
static void test_holidays_and_working_weekends(void **state)
{
	struct dg_schedule *s =
	    make("Asia/Shanghai", MON_FRI, 9 * 60, 18 * 60, "2026-10-05", "2026-10-10");
	char buf[128];

	(void)state;
	assert_true(dg_schedule_inside(s, at("2026-10-09T10:00:00+08:00")));
	assert_false(dg_schedule_inside(s, at("2026-10-05T10:00:00+08:00"))); /* Monday off */
	assert_true(dg_schedule_inside(s, at("2026-10-10T10:00:00+08:00")));  /* Saturday on */
	assert_false(dg_schedule_inside(s, at("2026-10-11T10:00:00+08:00")));
	assert_true(dg_schedule_inside(s, at("2026-10-09T02:00:00Z")));  /* 10:00 there */
	assert_false(dg_schedule_inside(s, at("2026-10-09T10:00:00Z"))); /* 18:00 there */
	dg_schedule_describe(s, at("2026-10-05T10:00:00+08:00"), buf, sizeof buf);
	assert_string_equal(buf, "Mon 2026-10-05 10:00 Asia/Shanghai: a holiday");
	dg_schedule_describe(s, at("2026-10-09T19:30:00+08:00"), buf, sizeof buf);
	assert_string_equal(buf, "Fri 2026-10-09 19:30 Asia/Shanghai: outside the hours");
	dg_schedule_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_daylight_saving),
	    cmocka_unit_test(test_across_midnight),
	    cmocka_unit_test(test_holidays_and_working_weekends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
