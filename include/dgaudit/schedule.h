/* Schedules: when something is expected to happen, such as office hours. A schedule has a time
 * zone, weekdays, hour ranges (a range whose end is before its start crosses midnight and
 * belongs to the day it starts on), days taken out (public holidays) and days added (working
 * weekends). Whether an instant is inside is judged in the schedule's own zone, whatever
 * offset a log wrote. Pure once built. */
#ifndef DGAUDIT_SCHEDULE_H
#define DGAUDIT_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

#include "dgaudit/cfgutil.h"
#include "dgaudit/sets.h"
#include "dgaudit/tz.h"

struct dg_schedule;

/* A schedule from its definition; takes ownership of tz and of the date sets (either may be
 * NULL). */
struct dg_schedule *dg_schedule_new(const struct dg_schedule_def *def, struct dg_tz *tz,
                                    struct dg_dateset *holidays, struct dg_dateset *workdays);
void dg_schedule_free(struct dg_schedule *s);
const char *dg_schedule_name(const struct dg_schedule *s);
/* True if the instant (milliseconds since the epoch, UTC) is inside the schedule. */
bool dg_schedule_inside(const struct dg_schedule *s, int64_t utc_ms);
/* True if the local calendar day (days since 1970-01-01) is a working day of the schedule. */
bool dg_schedule_working_day(const struct dg_schedule *s, int64_t day);
/* Describes why an instant is or is not inside ("Sat 2026-03-07 10:15 Asia/Shanghai: not a
 * working day"), for explanations. */
void dg_schedule_describe(const struct dg_schedule *s, int64_t utc_ms, char *buf, size_t len);

#endif
