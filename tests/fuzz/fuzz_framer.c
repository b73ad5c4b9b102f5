/* The framer: whatever the chunking (chosen by the first input byte), the same records come out,
 * offsets and lengths add up to the input, and nothing is lost. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/framer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct summary {
	uint64_t records, bytes, hash;
};

static void run(const char *in, size_t len, size_t chunk, size_t cap, struct summary *s)
{
	struct dg_framer *fr = dg_framer_new(cap);
	struct dg_record r;
	uint64_t expect_offset = 0;

	memset(s, 0, sizeof *s);
	for (size_t at = 0; at < len; at += chunk) {
		dg_framer_push(fr, in + at, len - at < chunk ? len - at : chunk);
		while (dg_framer_next(fr, &r)) {
			if (r.offset != expect_offset || r.len > cap || r.len > r.real_len)
				abort();
			expect_offset = r.offset + r.real_len + 1;
			if (r.real_len + 1 <= len - r.offset && in[r.offset + r.real_len] == '\r')
				expect_offset++;
			s->records++;
			s->bytes += r.len;
			for (size_t i = 0; i < r.len; i++)
				s->hash = s->hash * 31 + (unsigned char)r.data[i];
		}
	}
	if (dg_framer_finish(fr, &r)) {
		if (r.offset != expect_offset)
			abort();
		s->records++;
		s->bytes += r.len;
		for (size_t i = 0; i < r.len; i++)
			s->hash = s->hash * 31 + (unsigned char)r.data[i];
	}
	if (dg_framer_resume_offset(fr) != len)
		abort();
	dg_framer_free(fr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct summary whole, pieces;
	size_t cap, chunk;

	if (size < 2)
		return 0;
	cap = 1 + data[0] % 64;
	chunk = 1 + data[1] % 17;
	run((const char *)data + 2, size - 2, size, cap, &whole);
	run((const char *)data + 2, size - 2, chunk, cap, &pieces);
	if (memcmp(&whole, &pieces, sizeof whole) != 0)
		abort();
	return 0;
}
