/* Framing: every record keeps its offset and line number whatever the chunking, long lines are
 * cut and flagged without disturbing the next line, CRLF and a missing final newline work. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/framer.h"

struct rec {
	char text[64];
	uint64_t offset, line, real_len;
	int truncated, unterminated;
};

static void keep(const struct dg_record *r, struct rec *out)
{
	snprintf(out->text, sizeof out->text, "%.*s", (int)r->len, r->data);
	out->offset = r->offset;
	out->line = r->line;
	out->real_len = r->real_len;
	out->truncated = r->truncated;
	out->unterminated = r->unterminated;
}

/* Frames input pushed in chunks of chunk bytes (0: all at once) and collects the records. */
static size_t frame(const char *input, size_t len, size_t cap, size_t chunk, int finish,
                    struct rec *out, size_t max)
{
	struct dg_framer *fr = dg_framer_new(cap);
	struct dg_record r;
	size_t n = 0;

	if (chunk == 0)
		chunk = len ? len : 1;
	for (size_t at = 0; at < len; at += chunk) {
		dg_framer_push(fr, input + at, len - at < chunk ? len - at : chunk);
		while (dg_framer_next(fr, &r)) {
			assert_true(n < max);
			keep(&r, &out[n++]);
		}
	}
	if (finish && dg_framer_finish(fr, &r)) {
		assert_true(n < max);
		keep(&r, &out[n++]);
	}
	dg_framer_free(fr);
	return n;
}

static void test_chunking_does_not_matter(void **state)
{
	const char *in = "alpha\nbeta\r\n\ngamma-is-longer\nlast";
	struct rec whole[8], piece[8];
	size_t n = frame(in, strlen(in), 1024, 0, 1, whole, 8);

	(void)state;
	assert_int_equal(n, 5);
	assert_string_equal(whole[0].text, "alpha");
	assert_string_equal(whole[1].text, "beta"); /* CR stripped */
	assert_int_equal(whole[1].offset, 6);
	assert_int_equal(whole[1].real_len, 4);
	assert_string_equal(whole[2].text, "");
	assert_int_equal(whole[3].offset, 13);
	assert_int_equal(whole[3].line, 4);
	assert_string_equal(whole[4].text, "last");
	assert_true(whole[4].unterminated);
	assert_int_equal(whole[4].offset, 29);
	for (size_t chunk = 1; chunk <= 7; chunk++) {
		size_t m = frame(in, strlen(in), 1024, chunk, 1, piece, 8);

		assert_int_equal(m, n);
		for (size_t i = 0; i < n; i++) {
			assert_string_equal(piece[i].text, whole[i].text);
			assert_int_equal(piece[i].offset, whole[i].offset);
			assert_int_equal(piece[i].line, whole[i].line);
			assert_int_equal(piece[i].real_len, whole[i].real_len);
		}
	}
}

static void test_long_line_is_cut_and_next_is_intact(void **state)
{
	char in[200];
	struct rec out[4];

	(void)state;
	memset(in, 'x', 100);
	memcpy(in + 100, "\nnext\n", 7);
	for (size_t chunk = 0; chunk <= 9; chunk += 3) {
		size_t n = frame(in, strlen(in), 10, chunk, 1, out, 4);

		assert_int_equal(n, 2);
		assert_true(out[0].truncated);
		assert_int_equal(out[0].real_len, 100);
		assert_string_equal(out[0].text, "xxxxxxxxxx");
		assert_false(out[1].truncated);
		assert_string_equal(out[1].text, "next");
		assert_int_equal(out[1].offset, 101);
		assert_int_equal(out[1].line, 2);
	}
}

static void test_cap_counts_without_cr(void **state)
{
	/* A line of exactly the cap plus its CR is not too long. */
	const char *in = "0123456789\r\n";
	struct rec out[2];
	size_t n = frame(in, strlen(in), 10, 1, 1, out, 2);

	(void)state;
	assert_int_equal(n, 1);
	assert_false(out[0].truncated);
	assert_string_equal(out[0].text, "0123456789");
}

static void test_partial_line_waits(void **state)
{
	struct dg_framer *fr = dg_framer_new(64);
	struct dg_record r;

	(void)state;
	dg_framer_push(fr, "one\ntw", 6);
	assert_true(dg_framer_next(fr, &r));
	assert_false(dg_framer_next(fr, &r));
	/* Resume point is the start of the partial line, which is held, not emitted. */
	assert_int_equal(dg_framer_resume_offset(fr), 4);
	assert_int_equal(dg_framer_pending(fr), 2);
	dg_framer_push(fr, "o\n", 2);
	assert_true(dg_framer_next(fr, &r));
	assert_int_equal(r.len, 3);
	assert_memory_equal(r.data, "two", 3);
	assert_int_equal(r.offset, 4);
	assert_int_equal(dg_framer_resume_offset(fr), 8);
	assert_false(dg_framer_finish(fr, &r));
	dg_framer_free(fr);
}

static void test_seek_resumes_numbering(void **state)
{
	struct dg_framer *fr = dg_framer_new(64);
	struct dg_record r;

	(void)state;
	dg_framer_seek(fr, 1000, 42);
	dg_framer_push(fr, "a\nb\n", 4);
	assert_true(dg_framer_next(fr, &r));
	assert_int_equal(r.offset, 1000);
	assert_int_equal(r.line, 42);
	assert_true(dg_framer_next(fr, &r));
	assert_int_equal(r.offset, 1002);
	assert_int_equal(r.line, 43);
	dg_framer_free(fr);
}

static void test_nul_bytes_pass_through(void **state)
{
	const char in[] = {'a', 0, 'b', '\n', 'c', '\n'};
	struct dg_framer *fr = dg_framer_new(64);
	struct dg_record r;

	(void)state;
	dg_framer_push(fr, in, sizeof in);
	assert_true(dg_framer_next(fr, &r));
	assert_int_equal(r.len, 3); /* the parser, not the framer, judges content */
	assert_true(dg_framer_next(fr, &r));
	assert_int_equal(r.offset, 4);
	dg_framer_free(fr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_chunking_does_not_matter),
	    cmocka_unit_test(test_long_line_is_cut_and_next_is_intact),
	    cmocka_unit_test(test_cap_counts_without_cr),
	    cmocka_unit_test(test_partial_line_waits),
	    cmocka_unit_test(test_seek_resumes_numbering),
	    cmocka_unit_test(test_nul_bytes_pass_through),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
