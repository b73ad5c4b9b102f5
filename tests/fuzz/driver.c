/* A stand-in for libFuzzer when the compiler has none (gcc): replays the seed corpus given as
 * files or directories, then feeds deterministic mutations of it for DG_FUZZ_RUNS iterations
 * (default 20000). With sanitizers this finds the shallow bugs on every test run; CI also runs
 * the same targets under real libFuzzer. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seed {
	uint8_t *data;
	size_t len;
};

static struct seed *seeds;
static size_t nseeds;

static void load(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct seed s = {0};
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
		perror(path);
		exit(2);
	}
	rewind(f);
	s.len = (size_t)n;
	s.data = malloc(s.len + 1);
	if (s.data == NULL || fread(s.data, 1, s.len, f) != s.len)
		exit(2);
	fclose(f);
	seeds = realloc(seeds, (nseeds + 1) * sizeof *seeds);
	seeds[nseeds++] = s;
}

static void load_path(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;

	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		load(path);
		return;
	}
	d = opendir(path);
	while (d != NULL && (e = readdir(d)) != NULL) {
		char sub[4096];

		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
		load(sub);
	}
	if (d != NULL)
		closedir(d);
}

static uint64_t state = 0x2545f4914f6cdd1dULL;
static const char interesting[] = "\0\n\r\"\\{}[]:,\xff\xc3\x80 0-9e$";

static uint64_t next(void)
{
	state ^= state >> 12;
	state ^= state << 25;
	state ^= state >> 27;
	return state * 2685821657736338717ULL;
}

int main(int argc, char **argv)
{
	const char *env = getenv("DG_FUZZ_RUNS");
	long runs = env ? atol(env) : 20000;
	uint8_t *buf = malloc(1 << 16), *slice = malloc(1 << 15);

	for (int i = 1; i < argc; i++)
		load_path(argv[i]);
	for (size_t i = 0; i < nseeds; i++)
		LLVMFuzzerTestOneInput(seeds[i].data, seeds[i].len);
	for (long r = 0; r < runs && nseeds > 0; r++) {
		const struct seed *s = &seeds[next() % nseeds];
		size_t len = s->len < (1 << 16) ? s->len : (1 << 16);
		int edits = 1 + (int)(next() % 8);

		memcpy(buf, s->data, len);
		for (int k = 0; k < edits; k++) {
			size_t at = len ? next() % len : 0;

			switch (next() % 4) {
			case 0: /* flip a bit */
				if (len)
					buf[at] ^= (uint8_t)(1u << (next() % 8));
				break;
			case 1: /* set a byte to something interesting */
				if (len)
					buf[at] =
					    (uint8_t)interesting[next() % (sizeof interesting - 1)];
				break;
			case 2: /* cut */
				len = at;
				break;
			default: /* insert a copy of a slice */
				if (len && len < (1 << 15)) {
					size_t from = next() % len, n = next() % (len - from + 1);

					memcpy(slice, buf + from, n);
					memmove(buf + at + n, buf + at, len - at);
					memcpy(buf + at, slice, n);
					len += n;
				}
			}
		}
		LLVMFuzzerTestOneInput(buf, len);
	}
	printf("%zu seeds, %ld mutated runs: no crash\n", nseeds, runs);
	free(buf);
	free(slice);
	for (size_t i = 0; i < nseeds; i++)
		free(seeds[i].data);
	free(seeds);
	return 0;
}
