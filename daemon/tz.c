#include "dgaudit/tz.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/fileio.h"
#include "dgaudit/ts.h"
#include "dgaudit/xmalloc.h"

#define MAX_TZIF   (1 << 20)
#define MAX_COUNT  100000
#define WINDOW_SEC (26 * 3600) /* wider than any offset: transitions near a local time */

struct dg_tz {
	char *name;
	size_t n;       /* transitions */
	int64_t *at;    /* transition times, UTC seconds, ascending */
	int32_t *after; /* UTC offset in seconds from each transition on */
	int32_t first;  /* offset before the first transition (or the fixed offset) */
};

struct dg_tz *dg_tz_fixed(int minutes)
{
	struct dg_tz *tz = dg_xcalloc(1, sizeof *tz);
	int m = minutes < 0 ? -minutes : minutes;

	tz->first = minutes * 60;
	tz->name = minutes == 0
	               ? dg_xstrdup("UTC")
	               : dg_xasprintf("%c%02d:%02d", minutes < 0 ? '-' : '+', m / 60, m % 60);
	return tz;
}

void dg_tz_free(struct dg_tz *tz)
{
	if (tz == NULL)
		return;
	free(tz->name);
	free(tz->at);
	free(tz->after);
	free(tz);
}

const char *dg_tz_name(const struct dg_tz *tz)
{
	return tz->name;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct counts {
	uint32_t isut, isstd, leap, time, type, chars;
};

/* The header at buf+off; false if it is not one or its counts are absurd. */
static bool header(const uint8_t *buf, size_t len, size_t off, struct counts *c)
{
	if (len < off + 44 || memcmp(buf + off, "TZif", 4) != 0)
		return false;
	c->isut = be32(buf + off + 20);
	c->isstd = be32(buf + off + 24);
	c->leap = be32(buf + off + 28);
	c->time = be32(buf + off + 32);
	c->type = be32(buf + off + 36);
	c->chars = be32(buf + off + 40);
	return c->type >= 1 && c->type <= 256 && c->time <= MAX_COUNT && c->leap <= MAX_COUNT &&
	       c->chars <= MAX_COUNT && c->isut <= c->type && c->isstd <= c->type;
}

static size_t block_size(const struct counts *c, size_t timesz)
{
	return (size_t)c->time * timesz + c->time + (size_t)c->type * 6 + c->chars +
	       (size_t)c->leap * (timesz + 4) + c->isstd + c->isut;
}

struct dg_tz *dg_tz_parse(const char *name, const uint8_t *buf, size_t len, char **cause)
{
	struct counts c;
	size_t off = 0, timesz = 4;
	const uint8_t *times, *idx, *types;
	struct dg_tz *tz;

	if (!header(buf, len, 0, &c))
		goto bad;
	if (buf[4] >= '2') {
		/* version 2+: skip the 32-bit block to the 64-bit one */
		off = 44 + block_size(&c, 4);
		timesz = 8;
		if (!header(buf, len, off, &c))
			goto bad;
	}
	if (len - off - 44 < block_size(&c, timesz))
		goto bad;
	times = buf + off + 44;
	idx = times + (size_t)c.time * timesz;
	types = idx + c.time;
	tz = dg_xcalloc(1, sizeof *tz);
	tz->name = dg_xstrdup(name);
	tz->n = c.time;
	tz->at = dg_xcalloc(c.time + 1, sizeof *tz->at);
	tz->after = dg_xcalloc(c.time + 1, sizeof *tz->after);
	tz->first = (int32_t)be32(types);
	for (size_t i = 0; i < c.time; i++) {
		tz->at[i] = timesz == 8 ? be64(times + i * 8) : (int32_t)be32(times + i * 4);
		if (idx[i] >= c.type || (i > 0 && tz->at[i] <= tz->at[i - 1])) {
			dg_tz_free(tz);
			goto bad;
		}
		tz->after[i] = (int32_t)be32(types + (size_t)idx[i] * 6);
	}
	for (size_t i = 0; i < c.type; i++) {
		int32_t o = (int32_t)be32(types + i * 6);

		if (o < -26 * 3600 || o > 26 * 3600) {
			dg_tz_free(tz);
			goto bad;
		}
	}
	return tz;
bad:
	*cause = dg_xasprintf("time zone %s: not a valid TZif file", name);
	return NULL;
}

/* The offset in effect at UTC second t. */
static int32_t offset_at(const struct dg_tz *tz, int64_t t)
{
	size_t lo = 0, hi = tz->n;

	if (tz->n == 0 || t < tz->at[0])
		return tz->first;
	while (hi - lo > 1) { /* the last transition at or before t */
		size_t mid = lo + (hi - lo) / 2;

		if (tz->at[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return tz->after[lo];
}

int64_t dg_tz_to_local(const struct dg_tz *tz, int64_t utc_ms)
{
	int64_t t = utc_ms >= 0 ? utc_ms / 1000 : -((-utc_ms + 999) / 1000);

	return tz == NULL ? utc_ms : utc_ms + (int64_t)offset_at(tz, t) * 1000;
}

int64_t dg_tz_to_utc(const struct dg_tz *tz, int64_t local_ms)
{
	int64_t l = local_ms >= 0 ? local_ms / 1000 : -((-local_ms + 999) / 1000);
	int32_t before, after, off;
	bool b_ok, a_ok;

	if (tz == NULL)
		return local_ms;
	before = offset_at(tz, l - WINDOW_SEC);
	after = offset_at(tz, l + WINDOW_SEC);
	b_ok = offset_at(tz, l - before) == before;
	a_ok = offset_at(tz, l - after) == after;

	if (b_ok && a_ok) /* an overlap: the earlier instant */
		off = before > after ? before : after;
	else if (a_ok)
		off = after;
	else
		off = before; /* consistent, or a gap: the offset before it */
	return local_ms - (int64_t)off * 1000;
}

static bool safe_name(const char *s)
{
	if (*s == '\0' || *s == '/' || strstr(s, "..") != NULL)
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '/' || *s == '_' || *s == '-' || *s == '+'))
			return false;
	return true;
}

struct dg_tz *dg_tz_load(const char *spec, char **cause)
{
	const char *dir = getenv("TZDIR");
	struct dg_tz *tz;
	char *path, *why = NULL;
	uint8_t *buf;
	size_t len;
	int minutes;

	if (dg_ts_offset_parse(spec, strlen(spec), &minutes))
		return dg_tz_fixed(minutes);
	if (!safe_name(spec)) {
		*cause = dg_xasprintf("time zone '%s' is not UTC, an offset like +08:00 or a zone "
		                      "name like Asia/Shanghai",
		                      spec);
		return NULL;
	}
	path = dg_xasprintf("%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", spec);
	buf = (uint8_t *)dg_fileio_read(path, MAX_TZIF, &len, &why);
	if (buf == NULL) {
		*cause =
		    dg_xasprintf("time zone '%s' is unknown (%s); is tzdata installed?", spec, why);
		free(why);
		free(path);
		return NULL;
	}
	tz = dg_tz_parse(spec, buf, len, cause);
	free(buf);
	free(path);
	return tz;
}
