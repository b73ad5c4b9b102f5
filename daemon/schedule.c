#include "dgaudit/schedule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/ts.h"
#include "dgaudit/xmalloc.h"

#define DAY_MS (86400LL * 1000)

struct dg_schedule {
	char *name;
	struct dg_tz *tz;
	unsigned days; /* bit 0 = Monday */
	int from[DG_SCHEDULE_MAX_RANGES], to[DG_SCHEDULE_MAX_RANGES];
	size_t nranges;
	struct dg_dateset *holidays, *workdays;
};

struct dg_schedule *dg_schedule_new(const struct dg_schedule_def *def, struct dg_tz *tz,
                                    struct dg_dateset *holidays, struct dg_dateset *workdays)
{
	struct dg_schedule *s = dg_xcalloc(1, sizeof *s);

	s->name = dg_xstrdup(def->name);
	s->tz = tz;
	s->days = def->days;
	memcpy(s->from, def->from, sizeof s->from);
	memcpy(s->to, def->to, sizeof s->to);
	s->nranges = def->nranges;
	s->holidays = holidays;
	s->workdays = workdays;
	return s;
}

void dg_schedule_free(struct dg_schedule *s)
{
	if (s == NULL)
		return;
	free(s->name);
	dg_tz_free(s->tz);
	dg_sets_date_free(s->holidays);
	dg_sets_date_free(s->workdays);
	free(s);
}

const char *dg_schedule_name(const struct dg_schedule *s)
{
	return s->name;
}

/* 1970-01-01 was a Thursday: Monday is 0. */
static unsigned weekday(int64_t day)
{
	int64_t w = (day + 3) % 7;

	return (unsigned)(w < 0 ? w + 7 : w);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

bool dg_schedule_working_day(const struct dg_schedule *s, int64_t day)
{
	if (dg_sets_date_has(s->workdays, day))
		return true;
	return ((s->days >> weekday(day)) & 1) && !dg_sets_date_has(s->holidays, day);
}

bool dg_schedule_inside(const struct dg_schedule *s, int64_t utc_ms)
{
	int64_t local = dg_tz_to_local(s->tz, utc_ms);
	int64_t day = floor_div(local, DAY_MS);
	int minute = (int)((local - day * DAY_MS) / 60000);

	for (size_t i = 0; i < s->nranges; i++) {
		if (s->from[i] < s->to[i]) {
			if (minute >= s->from[i] && minute < s->to[i] &&
			    dg_schedule_working_day(s, day))
				return true;
		} else if ((minute >= s->from[i] && dg_schedule_working_day(s, day)) ||
		           (minute < s->to[i] && dg_schedule_working_day(s, day - 1))) {
			return true; /* the part after midnight belongs to the day before */
		}
	}
	return false;
}

void dg_schedule_describe(const struct dg_schedule *s, int64_t utc_ms, char *buf, size_t len)
{
	static const char *const names[7] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
	int64_t local = dg_tz_to_local(s->tz, utc_ms), day = floor_div(local, DAY_MS), y;
	int minute = (int)((local - day * DAY_MS) / 60000);
	unsigned m, d;
	const char *why;

	dg_ts_civil_from_days(day, &y, &m, &d);
	if (dg_schedule_inside(s, utc_ms))
		why = "inside";
	else if (dg_sets_date_has(s->holidays, day))
		why = "a holiday";
	else if (!dg_schedule_working_day(s, day))
		why = "not a working day";
	else
		why = "outside the hours";
	snprintf(buf, len, "%s %04lld-%02u-%02u %02d:%02d %s: %s", names[weekday(day)],
	         (long long)y, m, d, minute / 60, minute % 60, dg_tz_name(s->tz), why);
}
