/* The small text parsers: timestamps (parse then format round-trips), durations, addresses and
 * CIDR blocks, and the personal-data detectors and masking (no detected number survives it). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/detect.h"
#include "dgaudit/ip.h"
#include "dgaudit/ts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	char *z = malloc(size + 1), buf[DG_TS_BUFSZ];
	struct dg_detect_hit hits[16];
	struct dg_ip_cidr cidr;
	struct dg_buf masked = {0};
	uint8_t addr[16];
	int64_t ms, back;
	size_t n;

	memcpy(z, data, size);
	z[size] = '\0';
	if (dg_ts_parse(s, size, &ms) && ms > -62135596800000LL && ms < 253402300800000LL) {
		dg_ts_format(ms, buf);
		if (!dg_ts_parse(buf, strlen(buf), &back) || back != ms)
			abort();
	}
	dg_ts_duration(z, &ms);
	if (dg_ip_cidr_parse(z, &cidr) && dg_ip_parse(s, strcspn(z, "/"), addr) &&
	    !dg_ip_cidr_match(&cidr, addr))
		abort(); /* a block contains its own address */
	n = dg_detect_scan(s, size, DG_DETECT_ALL, hits, 16);
	dg_detect_mask(s, size, &masked);
	/* Hits never overlap, and each identity or card number is masked in place. Masking keeps
	 * the length of numbers, so offsets agree up to the first e-mail address (whose masking
	 * shortens it). */
	for (size_t i = 0; i < n && i < 16; i++) {
		if (i > 0 && hits[i].start < hits[i - 1].start + hits[i - 1].len)
			abort();
		if (hits[i].kind == DG_DETECT_EMAIL)
			break;
		if (masked.len < hits[i].start + hits[i].len ||
		    memcmp(masked.data + hits[i].start, s + hits[i].start, hits[i].len) == 0)
			abort();
	}
	dg_buf_release(&masked);
	free(z);
	return 0;
}
