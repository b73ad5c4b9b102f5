#include "dgaudit/ts.h"

#include <stdio.h>
#include <string.h>

/* Howard Hinnant's days_from_civil, valid for the whole int64 range we use. */
int64_t dg_ts_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void dg_ts_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool digits(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		if (d > 9)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static unsigned month_days(unsigned y, unsigned m)
{
	static const unsigned days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

/* "YYYY-MM-DD?hh:mm:ss[.fraction]" at s: the local time in *ms and the length read. */
static size_t parse_civil(const char *s, size_t len, int64_t *ms)
{
	unsigned y, mo, d, h, mi, sec, frac = 0;
	size_t i = 19;

	if (len < 19 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':')
		return 0;
	if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
		return 0;
	if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
	    !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &sec))
		return 0;
	if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h > 23 || mi > 59 || sec > 60)
		return 0;
	if (i < len && s[i] == '.') {
		unsigned scale = 100, n = 0;

		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, n++) {
			frac += (unsigned)(s[i] - '0') * scale;
			scale /= 10;
		}
		if (n == 0)
			return 0;
	}
	if (sec == 60) /* a leap second is folded onto the next second */
		sec = 59, frac = 999;
	*ms =
	    ((dg_ts_days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + mi * 60 + sec) * 1000) +
	    frac;
	return i;
}

/* A numeric offset "+hh", "+hhmm" or "+hh:mm" filling s exactly, in minutes. */
static bool numeric_offset(const char *s, size_t len, int *minutes)
{
	unsigned oh, om = 0;

	if (len < 3 || (s[0] != '+' && s[0] != '-') || !digits(s + 1, 2, &oh) || oh > 23)
		return false;
	if (len == 6 && s[3] == ':' ? !digits(s + 4, 2, &om)
	    : len == 5              ? !digits(s + 3, 2, &om)
	                            : len != 3)
		return false;
	if (om > 59)
		return false;
	*minutes = (int)(oh * 60 + om) * (s[0] == '-' ? -1 : 1);
	return true;
}

bool dg_ts_parse(const char *s, size_t len, int64_t *ms)
{
	int64_t local;
	size_t i = parse_civil(s, len, &local);
	int off;

	if (i == 0 || i == len)
		return false;
	if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z'))
		off = 0;
	else if (!(len - i == 6 && s[i + 3] == ':' && numeric_offset(s + i, len - i, &off)))
		return false;
	*ms = local - (int64_t)off * 60000;
	return true;
}

bool dg_ts_offset_parse(const char *s, size_t len, int *minutes)
{
	if ((len == 3 && (memcmp(s, "UTC", 3) == 0 || memcmp(s, "GMT", 3) == 0)) ||
	    (len == 1 && s[0] == 'Z')) {
		*minutes = 0;
		return true;
	}
	return numeric_offset(s, len, minutes);
}

bool dg_ts_parse_local(const char *s, size_t len, int64_t *local_ms, bool *zoned, int *minutes)
{
	size_t i = parse_civil(s, len, local_ms);

	if (i == 0)
		return false;
	*zoned = false;
	if (i < len) {
		if (s[i] == ' ')
			i++;
		*zoned = dg_ts_offset_parse(s + i, len - i, minutes);
	}
	return true;
}

char *dg_ts_format(int64_t ms, char *buf)
{
	int64_t days = ms / 86400000, rem = ms % 86400000, y; /* no negation: INT64_MIN too */
	unsigned m, d, msec, hh, mi, ss;

	if (rem < 0) {
		days--;
		rem += 86400000;
	}
	msec = (unsigned)(rem % 1000);
	hh = (unsigned)(rem / 3600000) % 24; /* the bounds spelt out: what the compiler can see */
	mi = (unsigned)(rem / 60000 % 60);
	ss = (unsigned)(rem / 1000 % 60);
	dg_ts_civil_from_days(days, &y, &m, &d);
	if (msec != 0)
		snprintf(buf, DG_TS_BUFSZ, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ", (long long)y, m,
		         d, hh, mi, ss, msec % 1000);
	else
		snprintf(buf, DG_TS_BUFSZ, "%04lld-%02u-%02uT%02u:%02u:%02uZ", (long long)y, m, d,
		         hh, mi, ss);
	return buf;
}

bool dg_ts_duration(const char *s, int64_t *ms)
{
	size_t len = strlen(s);
	int64_t v = 0, unit = 1000;
	size_t n = len;

	if (len == 0)
		return false;
	if (len > 2 && s[len - 2] == 'm' && s[len - 1] == 's') {
		unit = 1;
		n -= 2;
	} else
		switch (s[len - 1]) {
		case 's':
			n--;
			break;
		case 'm':
			unit = 60 * 1000;
			n--;
			break;
		case 'h':
			unit = 3600 * 1000;
			n--;
			break;
		case 'd':
			unit = 86400 * 1000;
			n--;
			break;
		}
	if (n == 0 || n > 9)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*ms = v * unit;
	return true;
}

bool dg_ts_parse_date(const char *s, size_t len, int64_t *day)
{
	unsigned y, m, d;

	if (len != 10 || s[4] != '-' || s[7] != '-' || !digits(s, 4, &y) || !digits(s + 5, 2, &m) ||
	    !digits(s + 8, 2, &d) || m < 1 || m > 12 || d < 1 || d > month_days(y, m))
		return false;
	*day = dg_ts_days_from_civil(y, m, d);
	return true;
}

bool dg_ts_date_range(const char *s, int64_t *from, int64_t *to)
{
	const char *dots = strstr(s, "..");

	if (dots == NULL) {
		if (!dg_ts_parse_date(s, strlen(s), from))
			return false;
		*to = *from;
		return true;
	}
	return dg_ts_parse_date(s, (size_t)(dots - s), from) &&
	       dg_ts_parse_date(dots + 2, strlen(dots + 2), to) && *from <= *to &&
	       *to - *from <= 366;
}
