/* Timestamps: RFC 3339 text <-> milliseconds since the epoch (UTC), and durations like "1h".
 * Pure: no clock, no time zone database. */
#ifndef DGAUDIT_TS_H
#define DGAUDIT_TS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DG_TS_BUFSZ 64 /* any int64 ms, year of 20 characters included */

/* Parses "YYYY-MM-DDThh:mm:ss[.fraction](Z|+hh:mm|-hh:mm)"; 't', 'z' and a space for 'T' are
 * accepted as RFC 3339 allows. Fractions beyond milliseconds are truncated. */
bool dg_ts_parse(const char *s, size_t len, int64_t *ms);
/* A zone offset: "UTC", "GMT", "Z", "+hh", "+hhmm" or "+hh:mm" (and '-'), in minutes east. */
bool dg_ts_offset_parse(const char *s, size_t len, int *minutes);
/* Parses "YYYY-MM-DD hh:mm:ss[.fraction][ ZONE]" as database servers write it: *local_ms is
 * the wall-clock time as if it were UTC; *zoned tells whether ZONE is one dg_ts_offset_parse
 * accepts, whose offset is then in *minutes. Absent, or an abbreviation such as CST that means
 * several zones, it is not: the source's time zone must apply. */
bool dg_ts_parse_local(const char *s, size_t len, int64_t *local_ms, bool *zoned, int *minutes);
/* Writes ms as "YYYY-MM-DDThh:mm:ss[.mmm]Z" into buf (DG_TS_BUFSZ bytes); returns buf. */
char *dg_ts_format(int64_t ms, char *buf);
/* Parses a duration: an integer of seconds, or digits followed by ms, s, m, h or d. */
bool dg_ts_duration(const char *s, int64_t *ms);
/* "YYYY-MM-DD" as days since 1970-01-01. */
bool dg_ts_parse_date(const char *s, size_t len, int64_t *day);
/* "YYYY-MM-DD" or "YYYY-MM-DD..YYYY-MM-DD" (inclusive, at most 367 days): the first and last
 * day. */
bool dg_ts_date_range(const char *s, int64_t *from, int64_t *to);
/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t dg_ts_days_from_civil(int64_t y, unsigned m, unsigned d);
/* A decimal of 1 to 19 digits, as logs write times, ids and counts. Inline: parsers call it
 * for every field of every record. */
static inline bool dg_ts_uint(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 19)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}
void dg_ts_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

#endif
