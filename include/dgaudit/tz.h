/* Time zones for logs written in local time (MariaDB server_audit; PostgreSQL under an
 * ambiguous zone abbreviation): a fixed offset ("UTC", "+08:00") or an IANA zone
 * ("Asia/Shanghai", "Europe/Berlin", with its daylight-saving transitions) read from the
 * system's TZif files. Loading does the I/O; conversion is pure. */
#ifndef DGAUDIT_TZ_H
#define DGAUDIT_TZ_H

#include <stddef.h>
#include <stdint.h>

struct dg_tz;

/* "UTC", "GMT", "Z", "+08", "+0800", "+08:00" (or '-'), or an IANA name looked up under
 * $TZDIR or /usr/share/zoneinfo. NULL with *cause if it is none of these. */
struct dg_tz *dg_tz_load(const char *spec, char **cause);
/* A zone from the bytes of a TZif file (RFC 8536, version 2 or later). */
struct dg_tz *dg_tz_parse(const char *name, const uint8_t *buf, size_t len, char **cause);
struct dg_tz *dg_tz_fixed(int minutes);
void dg_tz_free(struct dg_tz *tz);
const char *dg_tz_name(const struct dg_tz *tz);
/* The UTC time of a local wall-clock time (milliseconds since the epoch as if local were UTC).
 * In a daylight-saving gap the offset before the gap applies; in an overlap, the earlier
 * (daylight) instant. Times past the zone's last transition keep its last offset. A NULL zone
 * is UTC. */
int64_t dg_tz_to_utc(const struct dg_tz *tz, int64_t local_ms);
/* The wall-clock time (as if it were UTC) of an instant: the inverse, exact everywhere. */
int64_t dg_tz_to_local(const struct dg_tz *tz, int64_t utc_ms);

#endif
