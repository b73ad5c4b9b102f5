/* The bundle verifier on arbitrary bundles: the input is the bundle's five files, each after a
 * line "--- NAME" (the newline before the next such line is the separator's), written to a
 * private directory and verified. Verify never crashes or hangs. With DG_FUZZ_VALID set (to
 * check a seed), the bundle must verify. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dgaudit/buf.h"
#include "dgaudit/bundle.h"
#include "dgaudit/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {"report.json", "report.json.sig", "signer.pub.pem",
                                    "SHA256SUMS", "VERIFY.txt"};

static char dir[64];

static void put(const char *name, const char *p, size_t n)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		abort();
	fwrite(p, 1, n, f);
	fclose(f);
}

static void clean(void)
{
	char path[128];

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *end = s + size;
	struct dg_buf problems = {0};

	if (dir[0] == '\0') {
		snprintf(dir, sizeof dir, "/tmp/dg-fuzz-bundle.XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
		atexit(clean);
	}
	clean();
	if (mkdir(dir, 0700) != 0)
		abort();
	/* "--- NAME\n" starts a file, which runs to the next such line */
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s)), *next;

		if (nl == NULL || nl - s < 5 || memcmp(s, "--- ", 4) != 0)
			break;
		next = nl + 1;
		while (next < end && !(next + 4 <= end && memcmp(next, "--- ", 4) == 0 &&
		                       (next == (const char *)data || next[-1] == '\n')))
			next++;
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
			if ((size_t)(nl - s - 4) == strlen(names[i]) &&
			    memcmp(s + 4, names[i], strlen(names[i])) == 0)
				put(names[i], nl + 1,
				    (size_t)(next - nl - 1) - (next < end && next[-1] == '\n'));
		s = next;
	}
	if (dg_verify_bundle(dir, NULL, 0, &problems, NULL) != 0 && getenv("DG_FUZZ_VALID") != NULL)
		abort();
	dg_buf_release(&problems);
	return 0;
}
