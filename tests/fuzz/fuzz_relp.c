/* The RELP reader: any bytes, in any chunking (chosen by the first input byte), give the same
 * frames, never read past the input, and each frame's data fits what its header said. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/relp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t run(const char *in, size_t len, size_t chunk)
{
	struct dg_relp_reader r;
	uint64_t h = 0;

	memset(&r, 0, sizeof r);
	for (size_t at = 0; at < len; at += chunk) {
		size_t n = len - at < chunk ? len - at : chunk, pos = 0;

		while (pos < n) {
			enum dg_relp_event ev = dg_relp_read(&r, in + at, n, &pos);

			if (pos > n)
				abort();
			if (ev == DG_RELP_ERROR)
				return h * 31 + 1;
			if (ev == DG_RELP_FRAME) {
				if (r.got != r.datalen || strlen(r.command) == 0 ||
				    strlen(r.data) >= sizeof r.data)
					abort();
				h = h * 31 + r.txnr + r.datalen;
				memset(&r, 0, sizeof r);
			}
		}
	}
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t chunk;

	if (size < 1)
		return 0;
	chunk = data[0] % 16 + 1;
	if (run((const char *)data + 1, size - 1, size) !=
	    run((const char *)data + 1, size - 1, chunk))
		abort();
	return 0;
}
